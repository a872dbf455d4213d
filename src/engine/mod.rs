//! The deployment engine: plans a deployment against a chain, executes it and reports what
//! happens as a stream of [`DeployEvent`]s, taking [`Command`]s back. Knows nothing of the
//! screen: the TUI, the plain reporter and `--json` all consume the same events.
//!
//! Owns: planning (`plan`), execution with nonces, signing, the journal and retries (`run`),
//! networks and signers (`network`, `signer`). Must not touch: ratatui, terminal output, the
//! contracts' encodings and the JSON-RPC client (`chain`'s; `rpc` re-exports it).

pub mod capabilities;
pub mod event;
pub mod network;
pub mod plan;
pub mod rpc;
pub mod run;
pub mod session;
pub mod signer;

pub use event::{Command, DeployEvent, DeploymentSummary, Failure, Progress, Step, StepState};
pub use plan::{Plan, PlanError, PlanOptions, Source, plan};
pub use rpc::Rpc;
pub use run::{End, EngineError, Options};
pub use session::{ResumeTarget, Session, SessionError};

use alloy::signers::local::PrivateKeySigner;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// A deployment running on a tokio task: its events, a way to send it commands, and its end.
pub struct Running {
    pub events: mpsc::UnboundedReceiver<DeployEvent>,
    pub commands: mpsc::UnboundedSender<Command>,
    pub done: tokio::task::JoinHandle<Result<End, EngineError>>,
}

/// Starts executing `plan` on the current tokio runtime.
pub fn spawn(
    plan: Plan,
    rpc: Rpc,
    signer: PrivateKeySigner,
    data_dir: PathBuf,
    opts: Options,
) -> Running {
    let (event_tx, events) = mpsc::unbounded_channel();
    let (commands, command_rx) = mpsc::unbounded_channel();
    let done = tokio::spawn(async move {
        run::run(plan, rpc, signer, &data_dir, opts, event_tx, command_rx).await
    });
    Running {
        events,
        commands,
        done,
    }
}
