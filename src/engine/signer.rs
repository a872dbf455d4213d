//! Who signs: `--private-key` (accepted with a warning), a Foundry keystore (`--keystore PATH` or
//! `--account NAME` from `~/.foundry/keystores`, password from `--password-file` or a hidden
//! prompt), `ETERNALIZE_PRIVATE_KEY`, or — on the local chain only — anvil's funded dev account.
//!
//! No key or password ever reaches a message: errors name the source, never its contents, and
//! `Debug` prints `<redacted>` in their place. A key or password is held in `Zeroizing` from the
//! moment it is read (flag, environment, password file, hidden prompt), so its memory is wiped
//! when dropped; once a key is loaded the process writes no core dump (Linux).

use alloy::signers::local::PrivateKeySigner;
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The environment variable CI passes a key in.
pub const KEY_ENV: &str = "ETERNALIZE_PRIVATE_KEY";

#[derive(Clone, Default)]
pub struct SignerChoice {
    pub private_key: Option<Zeroizing<String>>,
    pub keystore: Option<PathBuf>,
    pub account: Option<String>,
    pub password_file: Option<PathBuf>,
}

/// Prints `<redacted>`: what `Debug` shows in place of a secret that is present.
pub struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Debug for SignerChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerChoice")
            .field("private_key", &self.private_key.as_ref().map(|_| Redacted))
            .field("keystore", &self.keystore)
            .field("account", &self.account)
            .field("password_file", &self.password_file)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("{source_name} is not a 32-byte hex private key (the value is not shown)")]
    BadKey { source_name: String },
    #[error("keystore {}: cannot read it: {why}", path.display())]
    KeystoreRead { path: PathBuf, why: String },
    #[error(
        "keystore {}: cannot decrypt it — wrong password, or not an Ethereum keystore",
        path.display()
    )]
    KeystoreDecrypt { path: PathBuf },
    #[error("password file {}: cannot read it: {why}", path.display())]
    PasswordFile { path: PathBuf, why: String },
    #[error(
        "keystore {} needs a password: pass --password-file FILE (no terminal to prompt on)",
        path.display()
    )]
    NoPassword { path: PathBuf },
    #[error("no Foundry keystore named `{name}` in {}", dir.display())]
    NoAccount { name: String, dir: PathBuf },
    #[error(
        "no signer for network `{network}`: pass --keystore PATH or --account NAME (Foundry keystores), or set {KEY_ENV}"
    )]
    None { network: String },
}

fn parse_key(text: &str, source_name: &str) -> Result<PrivateKeySigner, SignerError> {
    let signer = text
        .trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| SignerError::BadKey {
            source_name: source_name.into(),
        })?;
    keep_out_of_core_dumps();
    Ok(signer)
}

/// Once a key is in memory this process writes no core file, and other processes of the same
/// user can no longer read its memory (`PR_SET_DUMPABLE` 0 also closes ptrace and
/// `/proc/PID/mem` to them). It stays so until the process exits: a signer, once handed out, is
/// not tracked. Linux only; elsewhere nothing is done.
fn keep_out_of_core_dumps() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE) and get/setrlimit(RLIMIT_CORE) take plain values and a
    // pointer to a local; they change only this process's settings.
    unsafe {
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
            log::warn!(
                "could not turn core dumps off: {}",
                std::io::Error::last_os_error()
            );
        }
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 && limit.rlim_cur != 0 {
            limit.rlim_cur = 0;
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
        }
    }
}

/// `~/.foundry/keystores`.
pub fn foundry_keystores() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().join(".foundry").join("keystores"))
}

/// Reads a password on the terminal (`/dev/tty`, so it works with stdin piped) without echoing
/// it; `None` when there is no terminal to ask on.
fn prompt_hidden(prompt: &str) -> Option<Zeroizing<String>> {
    rpassword::prompt_password(prompt).ok().map(Zeroizing::new)
}

fn decrypt(path: &Path, password_file: Option<&Path>) -> Result<PrivateKeySigner, SignerError> {
    if !path.is_file() {
        return Err(SignerError::KeystoreRead {
            path: path.into(),
            why: "no such file".into(),
        });
    }
    let password = match password_file {
        Some(f) => {
            let text = Zeroizing::new(std::fs::read_to_string(f).map_err(|e| {
                SignerError::PasswordFile {
                    path: f.into(),
                    why: e.kind().to_string(),
                }
            })?);
            Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_string())
        }
        None => prompt_hidden(&format!("password for {}: ", path.display()))
            .ok_or_else(|| SignerError::NoPassword { path: path.into() })?,
    };
    unlock(path, &password)
}

/// Decrypts the keystore at `path` with `password` (given by a front end that asked for it).
pub fn unlock(path: &Path, password: &str) -> Result<PrivateKeySigner, SignerError> {
    let signer = PrivateKeySigner::decrypt_keystore(path, password)
        .map_err(|_| SignerError::KeystoreDecrypt { path: path.into() })?;
    keep_out_of_core_dumps();
    Ok(signer)
}

/// `ETERNALIZE_PRIVATE_KEY`, held so that this copy is wiped when dropped (the process's own
/// environment block keeps the original: changing it is unsound once threads run).
fn env_key() -> Option<Zeroizing<String>> {
    std::env::var(KEY_ENV)
        .ok()
        .map(Zeroizing::new)
        .filter(|k| !k.trim().is_empty())
}

/// The signer in `ETERNALIZE_PRIVATE_KEY`, when it is set.
pub fn from_env() -> Option<Result<PrivateKeySigner, SignerError>> {
    env_key().map(|k| parse_key(&k, KEY_ENV))
}

/// anvil's first funded dev account (public knowledge; for the local chain only).
pub fn dev_account() -> Result<PrivateKeySigner, SignerError> {
    parse_key(crate::tools::ANVIL_DEV_KEYS[0], "anvil's dev account")
}

/// The signer the flags, the environment and the network call for. `warn` receives warnings
/// (never secrets).
pub fn resolve(
    choice: &SignerChoice,
    network: &str,
    local: bool,
    warn: &mut dyn FnMut(&str),
) -> Result<PrivateKeySigner, SignerError> {
    if let Some(k) = &choice.private_key {
        warn(
            "a private key on the command line is visible to other users (ps, shell history); prefer a keystore (--keystore/--account) or ETERNALIZE_PRIVATE_KEY",
        );
        return parse_key(k, "--private-key");
    }
    if let Some(path) = &choice.keystore {
        return decrypt(path, choice.password_file.as_deref());
    }
    if let Some(name) = &choice.account {
        let dir = foundry_keystores().unwrap_or_else(|| PathBuf::from(".foundry/keystores"));
        let path = dir.join(name);
        if !path.is_file() {
            return Err(SignerError::NoAccount {
                name: name.clone(),
                dir,
            });
        }
        return decrypt(&path, choice.password_file.as_deref());
    }
    if let Some(k) = env_key() {
        return parse_key(&k, KEY_ENV);
    }
    if local {
        return parse_key(crate::tools::ANVIL_DEV_KEYS[0], "anvil's dev account");
    }
    Err(SignerError::None {
        network: network.into(),
    })
}
