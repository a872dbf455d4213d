//! The chains the TUI has open and the keystore signers unlocked in this run, kept on one
//! thread of their own. Probes (connect, resolve the signer, plan without sending) and the
//! deployment's request for its chain and signer are served there one at a time, so that the
//! local anvil is started once, shared by the probe and the deployment that follows, and never
//! twice on one state directory. Probes answer as `Action::Probed`; a pile of them is served
//! newest only. A probe never installs anvil: a missing one is reported with the key that
//! installs it, deploying (`d`, then confirming the hash), the operator's explicit request.
//!
//! Owns: the open chains ([`Connection`]s: the local anvil process), unlocked keys, the choices found
//! at start. Must not touch: the state or the screen; no key, password or secret URL ever goes
//! into a message or the log.

use super::action::{Action, ProbeRequest};
use super::link::join_within;
use super::target::{Choices, NetworkOption, ProbeFailure, ProbeReport, SignerOption};
use crate::engine::network::{self, AnvilInstall, Config, InstallAnswer, LOCAL, Network};
use crate::engine::plan::Source;
use crate::engine::session::Connection;
use crate::engine::signer::{self, KEY_ENV, SignerError};
use crate::usecase::deploy::plan_options;
use alloy::signers::local::PrivateKeySigner;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The name the network list gives a one-off `ETH_RPC_URL`.
pub const ENV_NETWORK: &str = "ETH_RPC_URL";

/// How long quitting waits for the keeper (a probe in progress, then the local anvil's 5 s to
/// write its state).
const WIND_DOWN: Duration = Duration::from_secs(30);

/// The networks and signers the operator can cycle through: `ETH_RPC_URL` when set (the
/// command line's default), the config's default network, `local`, the config's others; the
/// environment's key, anvil's dev account, the keystores of `~/.foundry/keystores` and of the
/// `[tui] keystores` list.
pub fn discover(config: &Config, keystores: &[PathBuf]) -> Choices {
    let mut networks: Vec<NetworkOption> = Vec::new();
    let mut add = |name: &str, local: bool| {
        if !networks.iter().any(|n| n.name == name) {
            networks.push(NetworkOption {
                name: name.into(),
                local,
            });
        }
    };
    if std::env::var("ETH_RPC_URL").is_ok_and(|v| !v.is_empty()) {
        add(ENV_NETWORK, false);
    }
    let is_local = |name: &str| {
        config
            .networks
            .get(name)
            .map_or(name == LOCAL, |n| name == LOCAL && n.rpc_url.is_none())
    };
    let default = config.default_network.as_deref().unwrap_or(LOCAL);
    add(default, is_local(default));
    add(LOCAL, is_local(LOCAL));
    for name in config.networks.keys() {
        add(name, is_local(name));
    }
    let mut signers = Vec::new();
    // Whether it is set; the copy the check needs is wiped when dropped.
    let env_key =
        std::env::var_os(KEY_ENV).map(|k| zeroize::Zeroizing::new(k.into_encoded_bytes()));
    if env_key.is_some_and(|k| !k.trim_ascii().is_empty()) {
        signers.push(SignerOption::EnvKey);
    }
    signers.push(SignerOption::DevAccount);
    let mut found: Vec<SignerOption> = Vec::new();
    if let Some(dir) = signer::foundry_keystores()
        && let Ok(read) = std::fs::read_dir(&dir)
    {
        for e in read.flatten() {
            let path = e.path();
            if path.is_file() {
                found.push(SignerOption::Keystore {
                    name: e.file_name().to_string_lossy().into_owned(),
                    path,
                });
            }
        }
    }
    for path in keystores {
        found.push(SignerOption::Keystore {
            name: path.display().to_string(),
            path: path.clone(),
        });
    }
    found.sort();
    found.dedup();
    signers.extend(found);
    Choices { networks, signers }
}

/// A chain and a signer handed to a deployment.
pub struct Lease {
    pub chain: Arc<Connection>,
    pub signer: Option<PrivateKeySigner>,
}

/// Which signer a lease asks for.
pub enum SignerPick {
    /// None: reading the chain only.
    Nothing,
    Chosen(SignerOption),
    /// The signer of address `0`: a keystore unlocked in this run, else what the command line
    /// would pick without flags (the environment's key, or anvil's dev account on the local
    /// chain). A deployment resumes only as the account that started it.
    Deployer(String),
}

enum Request {
    Probe(ProbeRequest),
    Lease {
        /// `None`: the default network (`ETH_RPC_URL`, else the config's default).
        network: Option<String>,
        signer: SignerPick,
        reply: Sender<Result<Lease, String>>,
    },
}

/// The runtime's handle on the keeper thread.
pub struct ChainKeeper {
    requests: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

/// A handle that deployment threads use to ask for their chain.
#[derive(Clone)]
pub struct Leaser(Sender<Request>);

impl Leaser {
    /// The chain of `network` and the signer asked for; waits for probes before it.
    pub fn lease(&self, network: Option<String>, signer: SignerPick) -> Result<Lease, String> {
        let (reply, answer) = mpsc::channel();
        self.0
            .send(Request::Lease {
                network,
                signer,
                reply,
            })
            .map_err(|_| "the chain keeper has stopped".to_string())?;
        answer
            .recv()
            .map_err(|_| "the chain keeper has stopped".to_string())?
    }
}

impl ChainKeeper {
    pub fn spawn(config: Option<PathBuf>, actions: Sender<Action>) -> std::io::Result<ChainKeeper> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("chain-keeper".into())
            .spawn(move || {
                Keeper {
                    config,
                    data_dir: crate::journal::data_dir(),
                    current: None,
                    seen: HashMap::new(),
                    unlocked: HashMap::new(),
                    source: None,
                }
                .serve(rx, &actions)
            })?;
        Ok(ChainKeeper {
            requests: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn probe(&self, request: ProbeRequest) {
        if let Some(tx) = &self.requests
            && tx.send(Request::Probe(request)).is_err()
        {
            log::error!("the chain keeper has stopped; the probe is dropped");
        }
    }

    pub fn leaser(&self) -> Option<Leaser> {
        self.requests.clone().map(Leaser)
    }

    /// Closes the keeper and waits (boundedly) for it to drop its chains: the local anvil is
    /// stopped and writes its state, unless a deployment still holds it.
    pub fn wind_down(&mut self) {
        self.requests = None;
        let Some(thread) = self.thread.take() else {
            return;
        };
        join_within(thread, WIND_DOWN, "the chain keeper");
    }
}

/// The keeper thread's own state.
struct Keeper {
    config: Option<PathBuf>,
    data_dir: PathBuf,
    /// The chain of the network chosen last.
    current: Option<Arc<Connection>>,
    /// Every chain opened, while someone (a deployment) still holds it: reused rather than
    /// opened again, so a local anvil is never started twice.
    seen: HashMap<String, Weak<Connection>>,
    unlocked: HashMap<PathBuf, PrivateKeySigner>,
    /// The model file read last, with its length and modification time: choosing another
    /// network or signer probes again without reading a large model again.
    source: Option<(PathBuf, u64, Option<std::time::SystemTime>, Source)>,
}

impl Keeper {
    /// `path` read as a deployment source, from the cache while the file is unchanged.
    fn source(&mut self, path: &Path) -> Result<Source, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (len, modified) = (meta.len(), meta.modified().ok());
        if let Some((p, l, m, s)) = &self.source
            && p == path
            && *l == len
            && *m == modified
            && modified.is_some()
        {
            return Ok(s.clone());
        }
        let source = Source::load(path).map_err(|e| one_line(&e.to_string()))?;
        self.source = Some((path.to_path_buf(), len, modified, source.clone()));
        Ok(source)
    }

    fn serve(mut self, rx: Receiver<Request>, actions: &Sender<Action>) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                log::error!("chain keeper: cannot start the async runtime: {e}");
                return;
            }
        };
        while let Ok(first) = rx.recv() {
            let mut batch: Vec<Request> = std::iter::once(first).chain(rx.try_iter()).collect();
            // Only the newest probe matters; every lease is answered.
            let last_probe = batch.iter().rposition(|r| matches!(r, Request::Probe(_)));
            for (i, request) in batch.drain(..).enumerate() {
                match request {
                    Request::Probe(p) if Some(i) == last_probe => {
                        let generation = p.generation;
                        let started = Instant::now();
                        let result = self.probe(&rt, p).map(Box::new);
                        match &result {
                            Ok(r) => log::info!(
                                "probe {generation}: {} chain {} as {} in {:.2} s",
                                r.network,
                                r.chain_id,
                                r.deployer,
                                started.elapsed().as_secs_f64()
                            ),
                            Err(f) => log::warn!("probe {generation}: {}", f.message),
                        }
                        if actions.send(Action::Probed { generation, result }).is_err() {
                            return;
                        }
                    }
                    Request::Probe(_) => {}
                    Request::Lease {
                        network,
                        signer,
                        reply,
                    } => {
                        let _ = reply.send(self.lease(network.as_deref(), signer));
                    }
                }
            }
        }
    }

    fn config(&self) -> Result<Config, String> {
        Config::load(self.config.as_deref()).map_err(|e| e.to_string())
    }

    /// The chain of `name` (`None` or `ETH_RPC_URL`: the default resolution), opened if needed;
    /// a missing local anvil is installed only when `install`.
    fn chain(
        &mut self,
        config: &Config,
        name: Option<&str>,
        install: bool,
    ) -> Result<Arc<Connection>, String> {
        let name = name.filter(|n| *n != ENV_NETWORK);
        let network = network::resolve(config, name, None).map_err(|e| one_line(&e.to_string()))?;
        if let Some(c) = &self.current
            && c.network == network
        {
            return Ok(c.clone());
        }
        // Our hold on the previous network ends here (its local anvil stops unless a
        // deployment still runs on it).
        self.current = None;
        let reusable = self
            .seen
            .get(&network.name)
            .and_then(Weak::upgrade)
            .filter(|c| c.network == network || (c.network.is_local() && network.is_local()));
        let chain = match reusable {
            Some(c) => c,
            None => {
                let c = Arc::new(open(network, &self.data_dir, install)?);
                self.seen.insert(c.network.name.clone(), Arc::downgrade(&c));
                c
            }
        };
        self.seen.retain(|_, w| w.strong_count() > 0);
        self.current = Some(chain.clone());
        Ok(chain)
    }

    fn signer(
        &mut self,
        pick: &SignerOption,
        network: &Network,
        password: Option<&str>,
    ) -> Result<PrivateKeySigner, ProbeFailure> {
        let fail = |e: SignerError| ProbeFailure {
            wrong_password: matches!(e, SignerError::KeystoreDecrypt { .. }),
            message: one_line(&e.to_string()),
        };
        match pick {
            SignerOption::EnvKey => match signer::from_env() {
                Some(r) => r.map_err(fail),
                None => Err(failure(format!("{KEY_ENV} is no longer set"))),
            },
            SignerOption::DevAccount if network.is_local() => signer::dev_account().map_err(fail),
            SignerOption::DevAccount => Err(failure(format!(
                "anvil's dev account signs on the local chain only, not on `{}`",
                network.name
            ))),
            SignerOption::Keystore { name, path } => {
                if let Some(password) = password {
                    let s = signer::unlock(path, password).map_err(fail)?;
                    self.unlocked.insert(path.clone(), s);
                }
                self.unlocked.get(path).cloned().ok_or_else(|| {
                    failure(format!(
                        "keystore {name} is locked: choose it with s and type its password"
                    ))
                })
            }
        }
    }

    fn probe(
        &mut self,
        rt: &tokio::runtime::Runtime,
        request: ProbeRequest,
    ) -> Result<ProbeReport, ProbeFailure> {
        let config = self.config().map_err(failure)?;
        let chain = self
            .chain(&config, Some(&request.network), false)
            .map_err(failure)?;
        let password = request.password.as_ref().map(|p| p.expose());
        let signer = self.signer(&request.signer, &chain.network, password)?;
        drop(request.password);
        let source = self.source(&request.path).map_err(failure)?;
        let opts = plan_options(&chain.network, request.format, None, &config);
        // A preview: a node that does not answer is reported in seconds, not retried for
        // minutes (quitting waits for the probe in progress).
        let rpc = chain
            .rpc()
            .map_err(|e| failure(one_line(&e.to_string())))?
            .with_attempts(2)
            .with_timeout(Duration::from_secs(10));
        let plan = rt
            .block_on(crate::engine::plan(
                &rpc,
                source,
                signer.address(),
                chain.describe(),
                &opts,
            ))
            .map_err(|e| failure(one_line(&e.to_string())))?;
        Ok(ProbeReport {
            network: chain.network.name.clone(),
            chain_id: plan.chain_id,
            rpc: rpc.display_url(),
            deployer: plan.sender.to_checksum(None),
            balance_wei: plan.balance.to_string(),
            gas: plan.gas_to_send(),
            transactions: plan.transactions_to_send(),
            already_deployed: plan.steps.iter().filter(|s| s.done).count(),
            fee_per_gas: plan.fees.expected_price(),
            max_fee_per_gas: plan.fees.max_fee,
            cost_wei: plan.cost_estimate().to_string(),
            worst_case_wei: plan.worst_case().to_string(),
            sufficient: plan.check_balance().is_ok(),
        })
    }

    fn lease(&mut self, network: Option<&str>, pick: SignerPick) -> Result<Lease, String> {
        let config = self.config()?;
        let chain = self.chain(&config, network, true)?;
        let unlocked_as = |address: &str| {
            self.unlocked
                .values()
                .find(|k| k.address().to_checksum(None).eq_ignore_ascii_case(address))
                .cloned()
        };
        let signer = match pick {
            SignerPick::Nothing => None,
            SignerPick::Deployer(address) if unlocked_as(&address).is_some() => {
                unlocked_as(&address)
            }
            SignerPick::Deployer(_) => Some(
                signer::resolve(
                    &signer::SignerChoice::default(),
                    &chain.network.name,
                    chain.network.is_local(),
                    &mut |w| log::warn!("{w}"),
                )
                .map_err(|e| e.to_string())?,
            ),
            SignerPick::Chosen(s) => Some(
                self.signer(&s, &chain.network, None)
                    .map_err(|f| f.message)?,
            ),
        };
        Ok(Lease { chain, signer })
    }
}

/// Opens `network`; a missing local anvil is installed when `install` (a deployment asked for
/// the chain), and otherwise named with the key that installs it.
fn open(network: Network, data_dir: &Path, install: bool) -> Result<Connection, String> {
    let name = network.name.clone();
    let mut offered: Option<AnvilInstall> = None;
    let connected = network::connect_with_consent(&network, data_dir, &mut |offer| {
        if install {
            log::info!(
                "installing {} (and {}) from npm into {}",
                offer.package_at_version(),
                offer.also,
                offer.dir.display()
            );
            InstallAnswer::Install
        } else {
            offered = Some(offer.clone());
            InstallAnswer::Declined
        }
    });
    match (connected, offered) {
        (Ok(connected), _) => Ok(Connection { network, connected }),
        (Err(_), Some(offer)) => Err(not_installed(&offer)),
        (Err(e), None) => Err(one_line(&format!("network `{name}`: {e}"))),
    }
}

/// What Preview says when the local chain's anvil is missing.
fn not_installed(offer: &AnvilInstall) -> String {
    format!(
        "anvil is not installed: d (deploy) installs {} from npm into {} first; or put Foundry's anvil on PATH / set {}",
        offer.package_at_version(),
        offer.dir.display(),
        crate::tools::ANVIL_ENV
    )
}

fn failure(message: String) -> ProbeFailure {
    ProbeFailure {
        message,
        wrong_password: false,
    }
}

/// Messages are shown on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::WeightFormat;

    #[test]
    fn the_default_network_comes_first_then_local_then_the_others() {
        let config: Config = toml::from_str(
            r#"
default_network = "sepolia"
[networks.local]
chain_id = 31337
[networks.mainnet]
rpc_url = "https://mainnet.example/${KEY}"
[networks.sepolia]
rpc_url = "https://sepolia.example/${KEY}"
"#,
        )
        .unwrap();
        let keystore = PathBuf::from("/keys/deployer.json");
        let choices = discover(&config, std::slice::from_ref(&keystore));
        let networks: Vec<(&str, bool)> = choices
            .networks
            .iter()
            .filter(|n| n.name != ENV_NETWORK)
            .map(|n| (n.name.as_str(), n.local))
            .collect();
        assert_eq!(
            networks,
            [("sepolia", false), ("local", true), ("mainnet", false)]
        );
        assert!(choices.signers.contains(&SignerOption::DevAccount));
        assert!(choices.signers.contains(&SignerOption::Keystore {
            name: keystore.display().to_string(),
            path: keystore,
        }));
    }

    /// Preview's probe of `local` installs nothing: with no anvil anywhere it says which key
    /// installs it (deploying is the explicit request) and npm does not run.
    #[test]
    fn the_probe_of_a_missing_local_anvil_installs_nothing_and_names_the_key() {
        if std::env::var_os(crate::tools::ANVIL_ENV).is_some()
            || crate::tools::on_path("anvil").is_some()
            || crate::tools::on_path("npm").is_none()
        {
            eprintln!("skipped: an anvil is on PATH or in ETERNALIZE_ANVIL, or npm is missing");
            return;
        }
        let data = tempfile::tempdir().unwrap();
        let mut keeper = Keeper {
            config: None,
            data_dir: data.path().to_path_buf(),
            current: None,
            seen: HashMap::new(),
            unlocked: HashMap::new(),
            source: None,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let model =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras3_4/mlp_basic.keras");
        let failure = keeper
            .probe(
                &rt,
                ProbeRequest {
                    generation: 1,
                    path: model,
                    network: LOCAL.into(),
                    signer: SignerOption::DevAccount,
                    password: None,
                    format: WeightFormat::Compact,
                },
            )
            .map(|r| r.network)
            .unwrap_err();
        assert!(
            failure
                .message
                .starts_with("anvil is not installed: d (deploy) installs @foundry-rs/anvil@"),
            "{}",
            failure.message
        );
        assert!(!data.path().join("tools/node_modules").exists(), "npm ran");
        assert!(!data.path().join("local-chain").exists());
    }

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
    }
}
