//! Execution of a [`Plan`]: owns the account's nonces, signs every transaction locally (its hash
//! is known before it is sent), journals each intent before broadcasting it, keeps a bounded
//! window of transactions in flight, watches receipts with its own timeouts, tells *pending*
//! from *dropped*, re-sends dropped transactions as they were, bumps the fee of stuck ones
//! within the cap, classifies every failure and retries only what retrying can fix.
//!
//! On start it reconciles the deployment's journal with the chain, so a deployment killed at any
//! instant continues where it stopped and never sends a step twice.
//!
//! One module per concern, all methods of one [`Engine`] over any [`ChainRpc`]:
//! `classify` (what a refused broadcast means), `fees` (the fee bump policy), `send` (signing,
//! journaling, broadcasting, fee bumps), `reconcile` (journal against chain on start), `watch`
//! (receipts, pending or dropped), `command` (the operator's commands), `main_loop` (pacing,
//! progress and the end). This file holds the public API and the engine's state.
//!
//! Owns: the run of one deployment. Must not touch: the screen, the contracts' encodings
//! (`chain`'s), the transport (`rpc`'s).

pub(crate) mod classify;
mod command;
pub(crate) mod fees;
mod main_loop;
mod reconcile;
pub mod send;
mod watch;

#[cfg(test)]
mod fake;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::event::{Command, DeployEvent, Failure, Step, StepState};
use super::plan::Plan;
use super::rpc::{ChainRpc, RpcFailure};
use crate::chain::calls::Call;
use crate::journal::{self, DeploymentKey, Journal};

/// How the engine paces itself.
#[derive(Clone, Debug)]
pub struct Options {
    /// Transactions broadcast and not yet mined, at most.
    pub window: usize,
    /// Between looks at the chain head.
    pub poll: Duration,
    /// A transaction without a receipt for this long is looked up: pending or dropped?
    pub pending_check: Duration,
    /// A pending transaction this old whose fee is below the base fee gets a fee bump.
    pub stuck_after: Duration,
    /// Automatic attempts for failures that retrying can fix (rate limits, transport errors,
    /// drops) before the step is reported failed.
    pub max_auto_attempts: u32,
    /// With an operator: wait for commands when blocked. Without: stop, resumable.
    pub interactive: bool,
    /// What to tell the operator to run to finish a stopped deployment.
    pub resume_command: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            window: 64,
            poll: Duration::from_millis(50),
            pending_check: Duration::from_secs(4),
            stuck_after: Duration::from_secs(60),
            max_auto_attempts: 12,
            interactive: false,
            resume_command: None,
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum End {
    Finished(super::event::DeploymentSummary),
    Stopped { reason: String, resumable: bool },
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    #[error("could not {action} at {url}: {failure}")]
    Rpc {
        action: String,
        url: String,
        failure: RpcFailure,
    },
    #[error(
        "the account {account} has pending transactions (at {}) that this deployment did not send; wait until they are mined (or replace them), then resume",
        nonces(*from, *to)
    )]
    ForeignPending {
        account: Address,
        from: u64,
        to: u64,
    },
    #[error(
        "the journal's transactions leave nonce {nonce} unaccounted for (the account's next nonce is {chain}); another sender is using this account — stop it, then resume"
    )]
    NonceGap { nonce: u64, chain: u64 },
    #[error("could not sign a transaction (the key is not shown): {0}")]
    Sign(String),
    #[error("the journal belongs to {journal_model}, the plan deploys {plan_model}")]
    OtherModel {
        journal_model: String,
        plan_model: String,
    },
}

/// `nonce 4` or `nonces 4..=6`.
fn nonces(from: u64, to: u64) -> String {
    if from == to {
        format!("nonce {from}")
    } else {
        format!("nonces {from}..={to}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Queued,
    Skipped,
    InFlight,
    Mined,
    Failed,
}

#[derive(Clone, Debug)]
struct Tx {
    nonce: u64,
    hash: B256,
    raw: Bytes,
    max_fee: u128,
    priority: u128,
    broadcast: bool,
    /// Not before this instant (backoff of automatic retries).
    retry_at: Instant,
    sent_at: Instant,
    checked_at: Instant,
}

#[derive(Clone, Debug)]
struct Run {
    step: Step,
    call: Call,
    gas_limit: u64,
    address: Option<Address>,
    status: Status,
    /// Every signed version at the current nonce (fee bumps add one); the last is the live one.
    txs: Vec<Tx>,
    attempts: u32,
    failure: Option<Failure>,
}

impl Run {
    fn live(&self) -> Option<&Tx> {
        self.txs.last()
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The journal key of a plan.
pub fn deployment_key(plan: &Plan) -> DeploymentKey {
    DeploymentKey {
        model_hash: plan.source.hashed_model.clone(),
        chain_id: plan.chain_id,
        deployer: plan.sender.to_checksum(None),
    }
}

struct Engine<R> {
    plan: Plan,
    rpc: R,
    signer: PrivateKeySigner,
    journal: Journal,
    opts: Options,
    events: UnboundedSender<DeployEvent>,
    runs: Vec<Run>,
    by_hash: HashMap<B256, usize>,
    next_nonce: u64,
    fees: super::plan::Fees,
    paused: bool,
    aborting: Option<Instant>,
    paused_for: Option<String>,
    last_head: u64,
    started: Instant,
    mined: usize,
    gas_used: u64,
    cost: U256,
    blocks: Option<(u64, u64)>,
    last_progress: Instant,
    progress_dirty: bool,
    block_receipts_supported: bool,
}

/// Runs `plan` to the end (finished, or stopped and resumable), reporting on `events` and taking
/// `commands`. Reconciles with the deployment's journal under `data_dir` first.
pub async fn run<R: ChainRpc>(
    plan: Plan,
    rpc: R,
    signer: PrivateKeySigner,
    data_dir: &Path,
    opts: Options,
    events: UnboundedSender<DeployEvent>,
    mut commands: UnboundedReceiver<Command>,
) -> Result<End, EngineError> {
    let key = deployment_key(&plan);
    let journal = Journal::open(data_dir, &key)?;
    let previous = journal::read(journal.path())?;
    let mut engine = Engine::new(plan, rpc, signer, journal, opts, events);
    engine.emit_planned();
    engine.reconcile(&previous).await?;
    engine.main_loop(&mut commands).await
}

impl<R: ChainRpc> Engine<R> {
    /// An engine about to run `plan`, journaling into `journal`, before it has looked at the chain.
    fn new(
        plan: Plan,
        rpc: R,
        signer: PrivateKeySigner,
        journal: Journal,
        opts: Options,
        events: UnboundedSender<DeployEvent>,
    ) -> Engine<R> {
        let fees = plan.fees;
        let runs = plan
            .steps
            .iter()
            .map(|s| Run {
                step: s.step.clone(),
                call: s.call.clone(),
                gas_limit: s.gas_limit,
                address: s.address,
                status: if s.done {
                    Status::Skipped
                } else {
                    Status::Queued
                },
                txs: Vec::new(),
                attempts: 0,
                failure: None,
            })
            .collect();
        Engine {
            plan,
            rpc,
            signer,
            journal,
            opts,
            events,
            runs,
            by_hash: HashMap::new(),
            next_nonce: 0,
            fees,
            paused: false,
            aborting: None,
            paused_for: None,
            last_head: 0,
            started: Instant::now(),
            mined: 0,
            gas_used: 0,
            cost: U256::ZERO,
            blocks: None,
            last_progress: Instant::now(),
            progress_dirty: true,
            block_receipts_supported: true,
        }
    }

    fn emit(&self, e: DeployEvent) {
        let _ = self.events.send(e);
    }

    fn rpc_err(&self, action: &str) -> impl FnOnce(RpcFailure) -> EngineError + '_ {
        let action = action.to_string();
        move |failure| EngineError::Rpc {
            action,
            url: self.rpc.display_url(),
            failure,
        }
    }

    fn emit_planned(&self) {
        self.emit(DeployEvent::Planned {
            model_address: self.plan.model().to_checksum(None),
            chain_id: self.plan.chain_id,
            steps: self.runs.iter().map(|r| r.step.clone()).collect(),
            layer_names: self.plan.layer_names(),
            chunks: self.plan.image.chunks.count(),
            format: self.plan.format,
            gas_estimate: self.plan.gas_to_send(),
            cost_estimate: self.plan.cost_estimate().to_string(),
            journal: self.journal.path().display().to_string(),
        });
    }

    fn state(&self, i: usize, state: StepState) {
        self.emit(DeployEvent::Step {
            step: self.runs[i].step.clone(),
            state,
        });
    }

    fn note(&self, message: impl Into<String>) {
        self.emit(DeployEvent::Note {
            message: message.into(),
        });
    }

    fn in_flight(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.status == Status::InFlight)
            .count()
    }

    fn failed(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.status == Status::Failed)
            .count()
    }

    fn fail(&mut self, i: usize, failure: Failure) {
        let run = &mut self.runs[i];
        run.status = Status::Failed;
        run.failure = Some(failure.clone());
        let attempts = run.attempts;
        self.state(i, StepState::Failed { failure, attempts });
        self.progress_dirty = true;
    }

    fn block(&mut self, reason: String) {
        if self.paused_for.is_none() {
            self.emit(DeployEvent::Paused {
                reason: reason.clone(),
            });
        }
        self.paused_for = Some(reason);
    }
}
