//! Deploy: one preparation of a deployment for every front end. [`prepare`] checks a resumed
//! deployment's model file and chain, plans (which probes what the chain can do), checks the balance and settles the engine's options; the front
//! end may then ask its operator (the CLI on non-local networks; the TUI already did) and calls
//! [`Prepared::spawn`]; when the engine's task ends, [`outcome`] says how, as one [`Outcome`]
//! whose finished form is the one [`DeploymentSummary`].
//!
//! Owns: the order of the steps before the first transaction and the reading of the engine's
//! end. Must not touch: the terminal, the event loop (each front end drains events its way).

use crate::chain::{MAX_CHUNK_BYTES, WeightFormat};
use crate::engine::network::{Config, Network};
use crate::engine::plan::{Plan, PlanError, PlanOptions, Source};
use crate::engine::session::{ResumeError, ResumeTarget, resume_command};
use crate::engine::{self, DeploymentSummary, End, EngineError, Rpc};
use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use std::path::PathBuf;
use std::time::Duration;

/// What to deploy and how; `None` means the config's value, then the default.
#[derive(Clone, Debug)]
pub struct Request {
    pub source: Source,
    pub format: WeightFormat,
    /// Bytes per weight chunk (a resumed deployment keeps its journal's).
    pub chunk_bytes: Option<usize>,
    /// Transactions in flight at most.
    pub window: Option<usize>,
    /// How long a transaction goes without a receipt before it is looked up.
    pub pending_check: Option<Duration>,
    /// An operator is there to retry: the engine waits for commands instead of stopping.
    pub interactive: bool,
    /// The network was a one-off `--rpc-url` (the resume command must say so).
    pub one_off_url: bool,
    /// `--chain-id`: the chain the node must be (over the network's configured `chain_id`).
    pub chain_id: Option<u64>,
}

/// The plan options for `format` on `network`: chunk size from the request, the config or the
/// default; the network's chain id pin and fee cap.
pub fn plan_options(
    network: &Network,
    format: WeightFormat,
    chunk_bytes: Option<usize>,
    config: &Config,
) -> PlanOptions {
    PlanOptions {
        format,
        chunk_bytes: chunk_bytes
            .or(config.deploy.chunk_bytes)
            .unwrap_or(MAX_CHUNK_BYTES),
        expected_chain_id: network.chain_id,
        chain_id_from_flag: false,
        max_fee_cap: network.max_fee_cap,
    }
}

/// Why a deployment did not start; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// A resumed deployment on a chain that is not its journal's (its message says that
    /// nothing was sent).
    #[error(transparent)]
    Resume(#[from] ResumeError),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// A deployment planned and checked, ready to send.
pub struct Prepared {
    pub plan: Plan,
    /// The journal's id (`eternalize resume ID`).
    pub id: String,
    /// What to run to finish it if it stops.
    pub resume_command: String,
    options: engine::Options,
}

/// Everything before the first transaction: the resumed deployment's chain id, the plan, the
/// balance against the worst case, the engine's options.
pub async fn prepare(
    rpc: &Rpc,
    network: &Network,
    sender: Address,
    described: String,
    config: &Config,
    request: Request,
    resuming: Option<&ResumeTarget>,
) -> Result<Prepared, PrepareError> {
    if let Some(target) = resuming {
        target.check_chain(rpc, network).await?;
        target.check_source(&request.source)?;
    }
    let opts = plan_options(network, request.format, request.chunk_bytes, config)
        .pin_chain_id(request.chain_id);
    let plan = engine::plan(rpc, request.source, sender, described, &opts).await?;
    plan.check_balance()?;
    let id = engine::run::deployment_key(&plan).id();
    let resume_command = resume_command(&id, network, request.one_off_url);
    let mut options = engine::Options {
        interactive: request.interactive,
        resume_command: Some(resume_command.clone()),
        ..engine::Options::default()
    };
    if let Some(w) = request.window.or(config.deploy.window) {
        options.window = w.max(1);
    }
    if let Some(d) = request.pending_check {
        options.pending_check = d;
    }
    Ok(Prepared {
        plan,
        id,
        resume_command,
        options,
    })
}

impl Prepared {
    /// Starts the engine on the current tokio runtime; its events and commands are the
    /// caller's to drain and send, its end goes to [`outcome`].
    pub fn spawn(self, rpc: Rpc, signer: PrivateKeySigner, data_dir: PathBuf) -> engine::Running {
        engine::spawn(self.plan, rpc, signer, data_dir, self.options)
    }
}

/// How a deployment ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Finished(DeploymentSummary),
    /// Stopped before the end; `resumable`: `resume_command` finishes it. `announced`: the
    /// engine's own `stopped` event already said so (otherwise the engine failed).
    Stopped {
        reason: String,
        resumable: bool,
        resume_command: String,
        announced: bool,
    },
}

/// Reads the engine task's end: a finished deployment, or why it stopped. An engine error or
/// a failed task leaves the journal as it was, so the deployment stays resumable.
pub fn outcome(
    done: Result<Result<End, EngineError>, tokio::task::JoinError>,
    resume_command: &str,
) -> Outcome {
    let stopped = |reason: String, resumable: bool, announced: bool| Outcome::Stopped {
        reason,
        resumable,
        resume_command: resume_command.to_string(),
        announced,
    };
    match done {
        Ok(Ok(End::Finished(summary))) => Outcome::Finished(summary),
        Ok(Ok(End::Stopped { reason, resumable })) => stopped(reason, resumable, true),
        Ok(Err(e)) => stopped(e.to_string(), true, false),
        Err(e) => stopped(format!("the engine task failed: {e}"), true, false),
    }
}
