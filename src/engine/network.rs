//! Networks: the config file's `[networks.NAME]` tables, `--rpc-url`/`ETH_RPC_URL` one-offs, and
//! `local` — an anvil eternalize starts itself on loopback (on a port anvil binds and reports,
//! with CORS off), with its state in the data dir (local deployments survive restarts), stopped
//! when the command ends. A missing anvil is installed from npm only with the operator's consent.
//!
//! Owns: reading the networks part of the config and running the local chain. Must not touch:
//! keys (src/engine/signer.rs), the screen.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::rpc::redact_url;
use crate::tools::{ANVIL_ENV, ANVIL_PACKAGE, AnvilProcess, SOLC_PACKAGE, ToolError, Tools};

/// The name of the embedded network.
pub const LOCAL: &str = "local";
/// anvil's chain id.
pub const LOCAL_CHAIN_ID: u64 = 31337;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct NetworkConfig {
    pub rpc_url: Option<String>,
    pub chain_id: Option<u64>,
    /// Cap on the fee per gas, in gwei.
    pub max_fee_gwei: Option<f64>,
    /// anvil binary for `local` (else PATH, else installed into the data dir).
    pub anvil: Option<PathBuf>,
    /// Calldata bytes one job transaction (`predict --send`) may carry: the network's pool
    /// size limit less the envelope (default 120,000, under geth's 128 KiB `txMaxSize`).
    pub max_tx_bytes: Option<usize>,
}

/// The parts of the config file the engine reads; other tables are other readers'.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Config {
    pub default_network: Option<String>,
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkConfig>,
    /// `[deploy]`: engine tuning (chunk size, window); flags override it.
    #[serde(default)]
    pub deploy: super::session::DeployTuning,
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("config file {}: {why}", path.display())]
    Config { path: PathBuf, why: String },
    #[error(
        "no network named `{name}` in {where_}; known: {known}. Add a [networks.{name}] table or pass --rpc-url"
    )]
    Unknown {
        name: String,
        where_: String,
        known: String,
    },
    #[error("network `{name}`: rpc_url uses ${{{var}}}, which is not set in the environment")]
    MissingVar { name: String, var: String },
    #[error("network `{name}` has no rpc_url")]
    NoUrl { name: String },
    #[error("the local chain: {0}")]
    Tool(#[from] ToolError),
    #[error(
        "npm is not on PATH; install Node.js/npm (https://nodejs.org), or put Foundry's anvil on PATH / set {ANVIL_ENV} to an anvil binary"
    )]
    NpmMissing,
    #[error(
        "anvil is not installed and there is no terminal to ask on: pass --yes to install {} from npm into {}, or put Foundry's anvil on PATH / set {ANVIL_ENV} to an anvil binary", offer.package_at_version(), offer.dir.display()
    )]
    InstallNeedsYes { offer: AnvilInstall },
    #[error(
        "anvil was not installed (declined); put Foundry's anvil on PATH or set {ANVIL_ENV} to an anvil binary, or answer y to install {} into {}", offer.package_at_version(), offer.dir.display()
    )]
    InstallDeclined { offer: AnvilInstall },
    #[error("the local chain: cannot create {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `~/.config/eternalize/config.toml` on Linux.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "eternalize").map(|d| d.config_dir().join("config.toml"))
}

impl Config {
    /// The given file (which must exist) or the default one (which may be absent).
    pub fn load(explicit: Option<&Path>) -> Result<Config, NetworkError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_config_path() {
                Some(p) if p.exists() => p,
                _ => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| NetworkError::Config {
            path: path.clone(),
            why: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| NetworkError::Config {
            path,
            why: e.to_string(),
        })
    }
}

/// Where the chain is.
#[derive(Clone, Debug, PartialEq)]
pub enum Endpoint {
    /// The anvil eternalize runs.
    Local {
        anvil: Option<PathBuf>,
    },
    Remote {
        url: String,
    },
}

/// A resolved network.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub name: String,
    pub endpoint: Endpoint,
    pub chain_id: Option<u64>,
    /// Fee cap in wei per gas.
    pub max_fee_cap: Option<u128>,
    /// Calldata bytes a job transaction may carry (`[networks.NAME] max_tx_bytes`).
    pub max_tx_bytes: Option<usize>,
}

impl Network {
    pub fn is_local(&self) -> bool {
        matches!(self.endpoint, Endpoint::Local { .. })
    }
}

/// Replaces `${VAR}` with the environment's value.
fn expand(name: &str, url: &str) -> Result<String, NetworkError> {
    let mut out = String::new();
    let mut rest = url;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let var = &after[..end];
        let value = std::env::var(var).map_err(|_| NetworkError::MissingVar {
            name: name.into(),
            var: var.into(),
        })?;
        crate::tools::keep_from_children(var);
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Picks the network: `--rpc-url`, else `--network`, else `ETH_RPC_URL`, else the config's
/// default network, else `local`.
pub fn resolve(
    config: &Config,
    network: Option<&str>,
    rpc_url: Option<&str>,
) -> Result<Network, NetworkError> {
    if let Some(url) = rpc_url {
        return Ok(Network {
            name: "rpc-url".into(),
            endpoint: Endpoint::Remote { url: url.into() },
            chain_id: None,
            max_fee_cap: None,
            max_tx_bytes: None,
        });
    }
    if network.is_none()
        && let Ok(url) = std::env::var("ETH_RPC_URL")
        && !url.is_empty()
    {
        return Ok(Network {
            name: "ETH_RPC_URL".into(),
            endpoint: Endpoint::Remote { url },
            chain_id: None,
            max_fee_cap: None,
            max_tx_bytes: None,
        });
    }
    let name = network
        .map(str::to_string)
        .or_else(|| config.default_network.clone())
        .unwrap_or_else(|| LOCAL.into());
    let entry = match config.networks.get(&name) {
        Some(e) => e.clone(),
        None if name == LOCAL => NetworkConfig::default(),
        None => {
            let mut known: Vec<&str> = config.networks.keys().map(String::as_str).collect();
            if !known.contains(&LOCAL) {
                known.push(LOCAL);
            }
            return Err(NetworkError::Unknown {
                name,
                where_: default_config_path()
                    .map_or("the config".into(), |p| p.display().to_string()),
                known: known.join(", "),
            });
        }
    };
    let max_fee_cap = entry.max_fee_gwei.map(|g| (g * 1e9) as u128);
    let endpoint = match (&entry.rpc_url, name == LOCAL) {
        (Some(url), _) => Endpoint::Remote {
            url: expand(&name, url)?,
        },
        (None, true) => Endpoint::Local {
            anvil: entry.anvil.clone(),
        },
        (None, false) => return Err(NetworkError::NoUrl { name }),
    };
    let chain_id = entry
        .chain_id
        .or(if name == LOCAL && entry.rpc_url.is_none() {
            Some(LOCAL_CHAIN_ID)
        } else {
            None
        });
    Ok(Network {
        name,
        endpoint,
        chain_id,
        max_fee_cap,
        max_tx_bytes: entry.max_tx_bytes,
    })
}

/// A network ready to talk to: its URL, and the local anvil kept alive while this lives (and
/// stopped gracefully, writing its state, when this is dropped).
pub struct Connected {
    pub url: String,
    pub local: Option<AnvilProcess>,
}

impl Drop for Connected {
    fn drop(&mut self) {
        if let Some(node) = self.local.take() {
            node.stop(std::time::Duration::from_secs(5));
        }
    }
}

impl Connected {
    /// `name url` with secrets redacted, as the journal records it.
    pub fn describe(&self, network: &Network) -> String {
        format!("{} {}", network.name, redact_url(&self.url))
    }
}

/// Installing anvil into the data dir, as the operator is asked to agree to it.
#[derive(Clone, Debug, PartialEq)]
pub struct AnvilInstall {
    pub package: &'static str,
    pub version: String,
    /// solc-js comes with it: `npm ci` installs the whole pinned lock file.
    pub also: String,
    pub dir: PathBuf,
}

impl AnvilInstall {
    pub fn package_at_version(&self) -> String {
        format!("{}@{}", self.package, self.version)
    }
}

/// The operator's answer to an [`AnvilInstall`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallAnswer {
    Install,
    Declined,
    /// Nobody to ask (no terminal, no `--yes`).
    CannotAsk,
}

/// The anvil binary for `local`: `ETERNALIZE_ANVIL`, the config's path, PATH, or the pinned npm
/// package in the data dir — installed there when missing if `consent` agrees (and npm exists).
pub fn local_anvil(
    configured: Option<&Path>,
    data_dir: &Path,
    consent: &mut dyn FnMut(&AnvilInstall) -> InstallAnswer,
) -> Result<PathBuf, NetworkError> {
    if std::env::var_os(ANVIL_ENV).is_some_and(|v| !v.is_empty()) {
        return Ok(Tools::in_repo().anvil()?);
    }
    if let Some(p) = configured {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = crate::tools::on_path("anvil") {
        return Ok(p);
    }
    let tools = Tools::at(&data_dir.join("tools"))?;
    if let Some(p) = tools.installed_anvil()? {
        return Ok(p);
    }
    // Asking first would be pointless: the answer could not be acted on.
    if crate::tools::on_path("npm").is_none() {
        return Err(NetworkError::NpmMissing);
    }
    let offer = AnvilInstall {
        package: ANVIL_PACKAGE,
        version: crate::tools::pinned_version(ANVIL_PACKAGE)?,
        also: format!(
            "{SOLC_PACKAGE} {}",
            crate::tools::pinned_version(SOLC_PACKAGE)?
        ),
        dir: tools.dir().to_path_buf(),
    };
    match consent(&offer) {
        InstallAnswer::Install => Ok(tools.anvil()?),
        InstallAnswer::Declined => Err(NetworkError::InstallDeclined { offer }),
        InstallAnswer::CannotAsk => Err(NetworkError::InstallNeedsYes { offer }),
    }
}

/// Connects to `network`, starting the local anvil when it is `local` and installing it into
/// the data dir without asking when it is missing (the TUI's deploy is an explicit request;
/// the CLI asks first, see [`connect_with_consent`]).
pub fn connect(network: &Network, data_dir: &Path) -> Result<Connected, NetworkError> {
    connect_with_consent(network, data_dir, &mut |_| InstallAnswer::Install)
}

/// Connects to `network`, starting the local anvil when it is `local`; a missing anvil is
/// installed into the data dir only if `consent` agrees.
pub fn connect_with_consent(
    network: &Network,
    data_dir: &Path,
    consent: &mut dyn FnMut(&AnvilInstall) -> InstallAnswer,
) -> Result<Connected, NetworkError> {
    match &network.endpoint {
        Endpoint::Remote { url } => Ok(Connected {
            url: url.clone(),
            local: None,
        }),
        Endpoint::Local { anvil } => {
            let bin = local_anvil(anvil.as_deref(), data_dir, consent)?;
            // The chain's state is the operator's only: its folder is 0700 and anvil runs with
            // umask 077, so the file it writes itself is 0600 (one an older eternalize left
            // 0644 is closed here).
            let dir = data_dir.join("local-chain");
            let io = |source| NetworkError::Io {
                path: dir.clone(),
                source,
            };
            crate::atomic::private_dir(&dir).map_err(io)?;
            let state = dir.join("anvil-state.json");
            if state.exists() {
                #[cfg(unix)]
                std::fs::set_permissions(
                    &state,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )
                .map_err(io)?;
            }
            let state_arg = state.display().to_string();
            let node = AnvilProcess::spawn(
                &bin,
                &[
                    "--chain-id",
                    &LOCAL_CHAIN_ID.to_string(),
                    "--state",
                    &state_arg,
                    "--state-interval",
                    "2",
                ],
            )?;
            Ok(Connected {
                url: node.url(),
                local: Some(node),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_resolve_from_flags_and_config() {
        let config: Config = toml::from_str(
            r#"
default_network = "local"
[networks.local]
chain_id = 31337
[networks.sepolia]
rpc_url = "https://rpc.example/v1/${ETERNALIZE_TEST_NO_SUCH_VAR}"
chain_id = 11155111
max_fee_gwei = 50
"#,
        )
        .unwrap();
        let local = resolve(&config, Some("local"), None).unwrap();
        assert!(local.is_local());
        assert_eq!(local.chain_id, Some(31337));
        let e = resolve(&config, Some("sepolia"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ETERNALIZE_TEST_NO_SUCH_VAR"), "{e}");
        let e = resolve(&config, Some("mainnet"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("known: local, sepolia"), "{e}");
        let one_off = resolve(&config, Some("sepolia"), Some("http://127.0.0.1:1")).unwrap();
        assert_eq!(
            one_off.endpoint,
            Endpoint::Remote {
                url: "http://127.0.0.1:1".into()
            }
        );
    }
}
