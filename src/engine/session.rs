//! What every front end does before the engine starts: pick the network, the signer and the
//! chain connection (a [`Session`]), find what a journal says to resume ([`ResumeTarget`]), and
//! word the command that resumes a stopped deployment. Shared by `deploy`/`resume` and the TUI,
//! so that they cannot drift apart.
//!
//! Owns: the order of those steps (signer before chain, so a bad key starts nothing). Must not
//! touch: the screen, prompts (a signer needing a password is the signer module's business,
//! and only the CLI lets it ask).

use alloy::signers::local::PrivateKeySigner;
use std::path::{Path, PathBuf};

use super::network::{self, AnvilInstall, Config, InstallAnswer, Network, NetworkError};
use super::plan::Source;
use super::rpc::{Rpc, RpcFailure};
use super::signer::{self, SignerChoice, SignerError};
use crate::chain::WeightFormat;
use crate::journal::{self, Entry, JournalError};

/// Engine tuning from the config file's `[deploy]` table; flags override it.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct DeployTuning {
    /// Bytes per weight chunk.
    pub chunk_bytes: Option<usize>,
    /// Transactions in flight at most.
    pub window: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error("cannot reach the node: {0}")]
    Rpc(String),
}

impl From<RpcFailure> for SessionError {
    fn from(e: RpcFailure) -> Self {
        SessionError::Rpc(e.to_string())
    }
}

/// Everything a deployment needs to talk to the chain; the local anvil lives as long as this
/// (and is stopped gracefully, writing its state, when this is dropped).
pub struct Session {
    pub network: Network,
    pub connected: network::Connected,
    pub rpc: Rpc,
    pub signer: PrivateKeySigner,
}

impl Session {
    /// Resolves the network and the signer (before anything starts: a bad key must not start
    /// a chain or send anything), then connects, starting the local anvil for `local`.
    /// A missing local anvil is installed without asking (see [`Session::open_with_consent`]).
    pub fn open(
        config: &Config,
        network_name: Option<&str>,
        rpc_url: Option<&str>,
        choice: &SignerChoice,
        data_dir: &Path,
        warn: &mut dyn FnMut(&str),
    ) -> Result<Session, SessionError> {
        Session::open_with_consent(
            config,
            network_name,
            rpc_url,
            choice,
            data_dir,
            warn,
            &mut |_| InstallAnswer::Install,
        )
    }

    /// As [`Session::open`]; a missing local anvil is installed only if `consent` agrees.
    pub fn open_with_consent(
        config: &Config,
        network_name: Option<&str>,
        rpc_url: Option<&str>,
        choice: &SignerChoice,
        data_dir: &Path,
        warn: &mut dyn FnMut(&str),
        consent: &mut dyn FnMut(&AnvilInstall) -> InstallAnswer,
    ) -> Result<Session, SessionError> {
        let network = network::resolve(config, network_name, rpc_url)?;
        let signer = signer::resolve(choice, &network.name, network.is_local(), warn)?;
        let connected = network::connect_with_consent(&network, data_dir, consent)?;
        let rpc = Rpc::connect(&connected.url)?;
        Ok(Session {
            network,
            connected,
            rpc,
            signer,
        })
    }

    /// `name url` with secrets redacted, as the journal records it.
    pub fn describe(&self) -> String {
        self.connected.describe(&self.network)
    }
}

/// A network connected, without a signer: what the TUI keeps open across previews and the
/// deployment that follows, so that one local anvil serves them all. The local anvil lives as
/// long as this (and is stopped gracefully, writing its state, when this is dropped).
pub struct Connection {
    pub network: Network,
    pub connected: network::Connected,
}

impl Connection {
    /// Connects to `network`, starting the local anvil for `local`.
    pub fn open(network: Network, data_dir: &Path) -> Result<Connection, SessionError> {
        let connected = network::connect(&network, data_dir)?;
        Ok(Connection { network, connected })
    }

    /// A client for the calling thread's tokio runtime. A `Connection` is shared between threads
    /// with runtimes of their own, and an HTTP client's pooled connections belong to the
    /// runtime that opened them (they stall when used from another), so each user makes its own.
    pub fn rpc(&self) -> Result<Rpc, SessionError> {
        Ok(Rpc::connect(&self.connected.url)?)
    }

    /// `name url` with secrets redacted, as the journal records it.
    pub fn describe(&self) -> String {
        self.connected.describe(&self.network)
    }
}

/// The command that finishes a stopped deployment `id` on `network` (`one_off_url`: the run
/// was given its URL with `--rpc-url`).
pub fn resume_command(id: &str, network: &Network, one_off_url: bool) -> String {
    let mut c = format!("eternalize resume {id}");
    if one_off_url || network.name == "ETH_RPC_URL" {
        c.push_str(" --rpc-url URL");
    } else if network.name != network::LOCAL {
        c.push_str(&format!(" --network {}", network.name));
    }
    c
}

#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("no deployment `{id}` in {}; see `eternalize deployments`", dir.display())]
    NoSuchDeployment { id: String, dir: PathBuf },
    #[error("no unfinished deployment to resume; see `eternalize deployments`")]
    NothingUnfinished,
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{}: the journal has no start entry", path.display())]
    NoStart { path: PathBuf },
    #[error("this deployment ran on a one-off RPC URL ({network}); pass it again with --rpc-url")]
    NeedsRpcUrl { network: String },
    #[error(
        "this deployment was signed by {journal}, but the signer given is {given}; pass that account's keystore"
    )]
    OtherSigner { journal: String, given: String },
    #[error("could not read the chain id at {url}: {why}; nothing was sent")]
    ChainId { url: String, why: String },
    /// Hashes are shown by their first 16 hex digits (as deployment ids are), so that the
    /// TUI's one status line shows them.
    #[error(
        "the model file changed since this deployment started: the journal's hashed_model is {}…, {} now has {}…; put the original back there (or deploy the new model with `eternalize deploy`); nothing was sent",
        short(journal),
        path.display(),
        short(file)
    )]
    ModelChanged {
        path: PathBuf,
        journal: String,
        file: String,
    },
    #[error(
        "this deployment ran on chain {journal}, but {network} is chain {given}; resume it on chain {journal} (pass that network with --network or --rpc-url); nothing was sent"
    )]
    OtherChain {
        journal: u64,
        given: u64,
        network: String,
    },
}

/// The first 16 hex digits of a `hashed_model`.
fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

/// What a journal says a deployment was: enough to run it again and reach the same addresses.
#[derive(Clone, Debug)]
pub struct ResumeTarget {
    pub id: String,
    pub source: PathBuf,
    /// The journal's network by name; `None` when it was a one-off URL (given again by
    /// `--rpc-url` or `ETH_RPC_URL`).
    pub network: Option<String>,
    /// The network as the journal describes it (`name url`, secrets redacted).
    pub described: String,
    pub format: WeightFormat,
    pub chunk_bytes: Option<usize>,
    pub deployer: String,
    /// The chain the journal's transactions went to.
    pub chain_id: u64,
    /// The `hashed_model` the deployment was started with.
    pub model_hash: String,
}

impl ResumeTarget {
    /// The deployment `id` (or an id prefix), or the newest unfinished one when `None`.
    pub fn find(data_dir: &Path, id: Option<&str>) -> Result<ResumeTarget, ResumeError> {
        let list = journal::list(data_dir)?;
        let summary = match id {
            Some(id) => list
                .iter()
                .find(|s| s.id == id || s.id.starts_with(id))
                .ok_or_else(|| ResumeError::NoSuchDeployment {
                    id: id.into(),
                    dir: journal::deployments_dir(data_dir),
                })?,
            None => list
                .iter()
                .find(|s| !s.finished)
                .ok_or(ResumeError::NothingUnfinished)?,
        };
        let entries = journal::read(&summary.path)?;
        let started = entries
            .iter()
            .rev()
            .find_map(|e| match e {
                Entry::Started {
                    key,
                    source,
                    network,
                    format,
                    chunk_bytes,
                    ..
                } => Some(ResumeTarget {
                    id: summary.id.clone(),
                    source: PathBuf::from(source),
                    network: None,
                    described: network.clone(),
                    format: *format,
                    chunk_bytes: *chunk_bytes,
                    deployer: key.deployer.clone(),
                    chain_id: key.chain_id,
                    model_hash: key.model_hash.clone(),
                }),
                _ => None,
            })
            .ok_or_else(|| ResumeError::NoStart {
                path: summary.path.clone(),
            })?;
        let name = started
            .described
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        let network = if name == "rpc-url" || name == "ETH_RPC_URL" {
            None
        } else {
            Some(name)
        };
        Ok(ResumeTarget { network, ..started })
    }

    /// The network to resume on when none is given: the journal's, or `ETH_RPC_URL` for a
    /// one-off URL (an error when that is not set either).
    pub fn network_or_env(&self) -> Result<Option<String>, ResumeError> {
        match &self.network {
            Some(n) => Ok(Some(n.clone())),
            None if std::env::var("ETH_RPC_URL").is_ok_and(|v| !v.is_empty()) => Ok(None),
            None => Err(ResumeError::NeedsRpcUrl {
                network: self.described.clone(),
            }),
        }
    }

    /// Refuses a node (`rpc` of `network`) whose chain is not the journal's: there the
    /// deployment would start over under a new journal instead of finishing.
    pub async fn check_chain(&self, rpc: &Rpc, network: &Network) -> Result<(), ResumeError> {
        let chain_id = rpc.chain_id().await.map_err(|e| ResumeError::ChainId {
            url: rpc.display_url(),
            why: e.to_string(),
        })?;
        if chain_id == self.chain_id {
            return Ok(());
        }
        let node = match network.name.as_str() {
            "rpc-url" | "ETH_RPC_URL" => format!("the node at {}", rpc.display_url()),
            name => format!("network `{name}` ({})", rpc.display_url()),
        };
        Err(ResumeError::OtherChain {
            journal: self.chain_id,
            given: chain_id,
            network: node,
        })
    }

    /// Refuses a model file whose contents are not the journal's model any more (replaced or
    /// edited since): resuming would deploy another model, at another address, and pay for it.
    pub fn check_source(&self, source: &Source) -> Result<(), ResumeError> {
        if source.hashed_model.eq_ignore_ascii_case(&self.model_hash) {
            return Ok(());
        }
        Err(ResumeError::ModelChanged {
            path: source.path.clone(),
            journal: self.model_hash.clone(),
            file: source.hashed_model.clone(),
        })
    }

    /// Refuses a signer other than the journal's (a different deployer means other addresses).
    pub fn check_signer(&self, signer: &PrivateKeySigner) -> Result<(), ResumeError> {
        if signer
            .address()
            .to_checksum(None)
            .eq_ignore_ascii_case(&self.deployer)
        {
            Ok(())
        } else {
            Err(ResumeError::OtherSigner {
                journal: self.deployer.clone(),
                given: signer.address().to_string(),
            })
        }
    }
}
