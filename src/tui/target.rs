//! Where and as whom the model will be deployed: the networks and signers the operator can
//! cycle through on Preview, the one chosen, the probe of that choice (connecting, its report,
//! or why it failed) tagged with a generation so that late answers are ignored, and the masked
//! password prompt of a Foundry keystore.
//!
//! Owns: the choice and the probe's bookkeeping, as plain data changed only by `update`.
//! Must not touch: the network, files, keys. The only secret here is the password being typed,
//! a [`Password`] that never prints and is wiped when dropped; the decrypted key never reaches
//! the state (the chain keeper holds it).

use super::action::{Effect, ProbeRequest};
use crate::chain::WeightFormat;
use crate::engine::network::LOCAL;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A network the operator can pick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkOption {
    pub name: String,
    /// The anvil eternalize runs (anvil's dev account signs there).
    pub local: bool,
}

/// A signer the operator can pick. Names where the key is, never the key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignerOption {
    /// `ETERNALIZE_PRIVATE_KEY`.
    EnvKey,
    /// anvil's funded dev account, on the local chain only.
    DevAccount,
    /// A Foundry keystore; needs its password once per run.
    Keystore { name: String, path: PathBuf },
}

impl SignerOption {
    pub fn label(&self) -> String {
        match self {
            SignerOption::EnvKey => crate::engine::signer::KEY_ENV.to_string(),
            SignerOption::DevAccount => "anvil dev account".into(),
            SignerOption::Keystore { name, .. } => format!("keystore {name}"),
        }
    }

    pub fn usable_on(&self, network: &NetworkOption) -> bool {
        network.local || *self != SignerOption::DevAccount
    }

    fn keystore(&self) -> Option<&Path> {
        match self {
            SignerOption::Keystore { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// What can be chosen, found by the runtime at start (config file, environment, keystores).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choices {
    /// The default first.
    pub networks: Vec<NetworkOption>,
    pub signers: Vec<SignerOption>,
}

impl Default for Choices {
    /// The local chain with anvil's dev account: what a machine without a config file has.
    fn default() -> Choices {
        Choices {
            networks: vec![NetworkOption {
                name: LOCAL.into(),
                local: true,
            }],
            signers: vec![SignerOption::DevAccount],
        }
    }
}

/// A keystore password as it is typed. Prints as `Password(hidden)` (the state's `Debug`
/// output, logs and test failures never show it) and is overwritten with zeros when dropped.
/// Its buffer is allocated once, [`Password::CAPACITY`] bytes, and never grows: a growing
/// `String` would leave copies of the first characters in freed, unwiped memory.
#[derive(PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Default for Password {
    fn default() -> Password {
        Password(Zeroizing::new(String::with_capacity(Password::CAPACITY)))
    }
}

impl Clone for Password {
    /// A copy with the same fixed room (a `String`'s clone would hold only what is typed).
    fn clone(&self) -> Password {
        let mut copy = Password::default();
        copy.0.push_str(&self.0);
        copy
    }
}

impl Password {
    /// Bytes a password may have; characters typed beyond it are not taken.
    pub const CAPACITY: usize = 1024;

    pub fn push(&mut self, c: char) {
        if self.0.len() + c.len_utf8() <= self.0.capacity() {
            self.0.push(c);
        }
    }

    pub fn pop(&mut self) {
        self.0.pop();
    }

    /// Characters typed, for the `•` shown per character.
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The password itself: for decrypting the keystore, nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(hidden)")
    }
}

/// What the probe found: the chain, the deployer and what the deployment will cost. Amounts in
/// wei are decimal strings (they can exceed 64 bits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeReport {
    pub network: String,
    pub chain_id: u64,
    /// The RPC URL with secrets redacted (`https://host/…`).
    pub rpc: String,
    /// The deployer's checksummed address.
    pub deployer: String,
    pub balance_wei: String,
    /// Gas of the transactions still to send, and how many there are.
    pub gas: u64,
    pub transactions: usize,
    /// Steps the chain already has (a deployment seen before).
    pub already_deployed: usize,
    /// What a unit of gas is expected to cost now, and the most it is signed for.
    pub fee_per_gas: u128,
    pub max_fee_per_gas: u128,
    pub cost_wei: String,
    /// Every gas limit at the maximum fee: what the node requires the balance to cover.
    pub worst_case_wei: String,
    pub sufficient: bool,
}

/// Why a probe failed: one line, no secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeFailure {
    pub message: String,
    /// The keystore's password was wrong: the prompt opens again.
    pub wrong_password: bool,
}

/// Where the probe of the current choice stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    Connecting,
    Ready(Box<ProbeReport>),
    Failed(String),
    /// The keystore chosen needs its password.
    Locked,
}

/// The masked password input of a keystore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPrompt {
    pub keystore: String,
    pub typed: Password,
    /// The last attempt's failure.
    pub error: Option<String>,
    /// The signer to go back to on Esc.
    previous: Option<usize>,
}

/// The deployment's target and its probe.
#[derive(Clone, Debug)]
pub struct Target {
    pub choices: Choices,
    pub network: usize,
    /// Index into `choices.signers`; `None` when no signer works on the network.
    pub signer: Option<usize>,
    /// Bumped by every probe asked for; an answer carrying another number is stale.
    pub generation: u64,
    pub probe: Probe,
    /// Keystores unlocked in this run (the keeper holds their keys).
    pub unlocked: BTreeSet<PathBuf>,
    pub password: Option<PasswordPrompt>,
    /// The weight format the model would be deployed in (`f` on Preview); the probe's gas and
    /// cost are for it.
    pub format: WeightFormat,
}

impl Target {
    pub fn new(choices: Choices) -> Target {
        let mut t = Target {
            choices,
            network: 0,
            signer: None,
            generation: 0,
            probe: Probe::Connecting,
            unlocked: BTreeSet::new(),
            password: None,
            format: WeightFormat::Compact,
        };
        t.signer = t.usable().first().copied();
        t
    }

    pub fn network(&self) -> Option<&NetworkOption> {
        self.choices.networks.get(self.network)
    }

    pub fn signer(&self) -> Option<&SignerOption> {
        self.signer.and_then(|i| self.choices.signers.get(i))
    }

    /// Indexes of the signers that work on the chosen network.
    fn usable(&self) -> Vec<usize> {
        let network = self.network();
        self.choices
            .signers
            .iter()
            .enumerate()
            .filter(|(_, s)| network.is_some_and(|n| s.usable_on(n)))
            .map(|(i, _)| i)
            .collect()
    }

    /// The next network; the signer stays if it works there.
    pub fn next_network(&mut self) {
        let n = self.choices.networks.len().max(1);
        self.network = (self.network + 1) % n;
        let usable = self.usable();
        if !self.signer.is_some_and(|i| usable.contains(&i)) {
            self.signer = usable.first().copied();
        }
    }

    /// The next signer that works on the chosen network.
    pub fn next_signer(&mut self) {
        let usable = self.usable();
        self.signer = match self
            .signer
            .and_then(|i| usable.iter().position(|&u| u == i))
        {
            Some(at) => usable.get((at + 1) % usable.len()).copied(),
            None => usable.first().copied(),
        };
    }

    /// Asks for a probe of the current choice for the model at `path`: the effect, or `None`
    /// when there is nothing to probe yet (no signer, or a keystore waiting for its password).
    pub fn request_probe(&mut self, path: &Path) -> Option<Effect> {
        self.generation += 1;
        self.password = None;
        let network = self.network()?.name.clone();
        let Some(signer) = self.signer().cloned() else {
            self.probe = Probe::Failed(format!(
                "no signer for network `{network}`: set {} or add a Foundry keystore to ~/.foundry/keystores",
                crate::engine::signer::KEY_ENV
            ));
            return None;
        };
        if let Some(keystore) = signer.keystore()
            && !self.unlocked.contains(keystore)
        {
            self.probe = Probe::Locked;
            self.password = Some(PasswordPrompt {
                keystore: signer.label(),
                typed: Password::default(),
                error: None,
                previous: None,
            });
            return None;
        }
        self.probe = Probe::Connecting;
        Some(Effect::Probe(ProbeRequest {
            generation: self.generation,
            path: path.to_path_buf(),
            network,
            signer,
            password: None,
            format: self.format,
        }))
    }

    /// Cycles to the next signer; a keystore not yet unlocked opens the password prompt, and
    /// Esc there comes back to the signer chosen before.
    pub fn cycle_signer(&mut self, path: &Path) -> Option<Effect> {
        let before = self.signer;
        self.next_signer();
        let effect = self.request_probe(path);
        if let Some(p) = self.password.as_mut() {
            p.previous = before;
        }
        effect
    }

    /// Enter in the password prompt: the probe unlocks the keystore with what was typed (the
    /// prompt, and the password with it, leaves the state).
    pub fn submit_password(&mut self, path: &Path) -> Option<Effect> {
        let prompt = self.password.take()?;
        let network = self.network()?.name.clone();
        let signer = self.signer()?.clone();
        self.generation += 1;
        self.probe = Probe::Connecting;
        Some(Effect::Probe(ProbeRequest {
            generation: self.generation,
            path: path.to_path_buf(),
            network,
            signer,
            password: Some(prompt.typed),
            format: self.format,
        }))
    }

    /// Esc in the password prompt: back to the signer chosen before, probed again.
    pub fn cancel_password(&mut self, path: &Path) -> Option<Effect> {
        let previous = self.password.take()?.previous;
        self.signer = previous.or_else(|| {
            // Opened without a signer to go back to: the first that needs no password.
            self.usable()
                .into_iter()
                .find(|&i| self.choices.signers[i].keystore().is_none())
        });
        if self.signer().is_some_and(|s| s.keystore().is_some()) {
            // Nothing else works here: stay locked without asking again.
            self.probe = Probe::Locked;
            return None;
        }
        self.request_probe(path)
    }

    /// A probe's answer; `false` when it was stale and ignored.
    pub fn probed(
        &mut self,
        generation: u64,
        result: Result<Box<ProbeReport>, ProbeFailure>,
    ) -> bool {
        if generation != self.generation {
            return false;
        }
        match result {
            Ok(report) => {
                if let Some(k) = self.signer().and_then(SignerOption::keystore) {
                    self.unlocked.insert(k.to_path_buf());
                }
                self.probe = Probe::Ready(report);
            }
            Err(f) => {
                if f.wrong_password
                    && let Some(s) = self.signer().filter(|s| s.keystore().is_some())
                {
                    self.password = Some(PasswordPrompt {
                        keystore: s.label(),
                        typed: Password::default(),
                        error: Some(format!("wrong password for {}; try again", s.label())),
                        previous: None,
                    });
                    self.probe = Probe::Locked;
                } else {
                    self.probe = Probe::Failed(f.message);
                }
            }
        }
        true
    }

    /// Whether the probe is on its way (the spinner turns).
    pub fn connecting(&self) -> bool {
        self.probe == Probe::Connecting
    }

    pub fn report(&self) -> Option<&ProbeReport> {
        match &self.probe {
            Probe::Ready(r) => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices() -> Choices {
        Choices {
            networks: vec![
                NetworkOption {
                    name: "local".into(),
                    local: true,
                },
                NetworkOption {
                    name: "sepolia".into(),
                    local: false,
                },
            ],
            signers: vec![
                SignerOption::DevAccount,
                SignerOption::Keystore {
                    name: "deployer".into(),
                    path: "/k/deployer".into(),
                },
            ],
        }
    }

    #[test]
    fn the_dev_account_is_for_the_local_chain_only() {
        let mut t = Target::new(choices());
        assert_eq!(t.signer(), Some(&SignerOption::DevAccount));
        t.next_network();
        assert!(matches!(t.signer(), Some(SignerOption::Keystore { .. })));
        t.next_signer();
        assert!(
            matches!(t.signer(), Some(SignerOption::Keystore { .. })),
            "the only one there"
        );
        t.next_network();
        t.next_signer();
        assert_eq!(t.signer(), Some(&SignerOption::DevAccount));
    }

    #[test]
    fn a_password_never_prints() {
        let mut p = Password::default();
        for c in "hunter2".chars() {
            p.push(c);
        }
        let prompt = PasswordPrompt {
            keystore: "keystore k".into(),
            typed: p,
            error: None,
            previous: None,
        };
        let shown = format!("{prompt:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(prompt.typed.len(), 7);
    }
}
