//! Execution of a [`Plan`]: owns the account's nonces, signs every transaction locally (its hash
//! is known before it is sent), journals each intent before broadcasting it, keeps a bounded
//! window of transactions in flight, watches receipts with its own timeouts, tells *pending*
//! from *dropped*, re-sends dropped transactions as they were, bumps the fee of stuck ones
//! within the cap, classifies every failure and retries only what retrying can fix.
//!
//! On start it reconciles the deployment's journal with the chain, so a deployment killed at any
//! instant continues where it stopped and never sends a step twice.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::event::{Command, DeployEvent, Failure, Progress, Step, StepState};
use super::plan::{Plan, describe};
use super::rpc::{Receipt, Rpc, RpcFailure};
use crate::chain::Revert;
use crate::chain::calls::Call;
use crate::journal::{self, DeploymentKey, Entry, Journal, Outcome, Purpose};

const REPLAY_SUCCEEDS: &str = "reverted (the same call succeeds now with more gas)";

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
    Finished(Summary),
    Stopped { reason: String, resumable: bool },
}

/// Totals of a finished deployment (this run's transactions).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub model_address: Address,
    pub chain_id: u64,
    pub transactions: usize,
    pub gas_used: u64,
    pub cost_wei: U256,
    pub seconds: f64,
    pub journal: PathBuf,
    pub rpc_requests: u64,
    /// Blocks that held this run's transactions (first..=last), when any were sent.
    pub blocks: Option<(u64, u64)>,
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

/// What a failed `eth_sendRawTransaction` means.
#[derive(Debug, PartialEq, Eq)]
enum SendError {
    AlreadyKnown,
    NonceTooLow,
    InsufficientFunds,
    Underpriced,
    RateLimited,
    Transport(String),
    Other(String),
}

fn classify_send(e: &RpcFailure) -> SendError {
    match e {
        RpcFailure::RateLimited(_) => SendError::RateLimited,
        RpcFailure::Transport(m) => SendError::Transport(m.clone()),
        RpcFailure::Decode { .. } => SendError::Transport(e.to_string()),
        RpcFailure::Node { message, .. } => {
            let m = message.to_ascii_lowercase();
            if m.contains("already known")
                || m.contains("known transaction")
                || m.contains("already imported")
                || m.contains("alreadyknown")
                || m.contains("already exists")
            {
                SendError::AlreadyKnown
            } else if m.contains("nonce too low") || m.contains("nonce is too low") {
                SendError::NonceTooLow
            } else if m.contains("insufficient funds") || m.contains("insufficient balance") {
                SendError::InsufficientFunds
            } else if m.contains("underpriced")
                || m.contains("fee too low")
                || m.contains("less than block base fee")
                || m.contains("max fee per gas less than")
                || m.contains("fee cap less than")
            {
                SendError::Underpriced
            } else {
                SendError::Other(message.clone())
            }
        }
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

struct Engine {
    plan: Plan,
    rpc: Rpc,
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
pub async fn run(
    plan: Plan,
    rpc: Rpc,
    signer: PrivateKeySigner,
    data_dir: &Path,
    opts: Options,
    events: UnboundedSender<DeployEvent>,
    mut commands: UnboundedReceiver<Command>,
) -> Result<End, EngineError> {
    let key = deployment_key(&plan);
    let journal = Journal::open(data_dir, &key)?;
    let previous = journal::read(journal.path())?;
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
    let mut engine = Engine {
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
    };
    engine.emit_planned();
    engine.reconcile(&previous).await?;
    engine.main_loop(&mut commands).await
}

impl Engine {
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

    /// Brings the journal and the chain into one picture: which journaled transactions were
    /// mined, which are still pending, which must be re-broadcast as they were, and the next
    /// nonce. Steps the chain already has were marked skipped by the plan.
    async fn reconcile(&mut self, previous: &[Entry]) -> Result<(), EngineError> {
        let model = self.plan.model().to_checksum(None);
        let format = self.plan.format.name().to_string();
        let started = previous.iter().rev().find_map(|e| match e {
            Entry::Started { model_address, .. } => Some(model_address.clone()),
            _ => None,
        });
        if started.as_deref().map(str::to_ascii_lowercase) != Some(model.to_ascii_lowercase()) {
            self.journal.append(&Entry::Started {
                key: deployment_key(&self.plan),
                source: self.plan.source.path.display().to_string(),
                network: self.plan.network.clone(),
                format,
                model_address: model.clone(),
                unix_time: unix_now(),
                chunk_bytes: Some(self.plan.image.chunks.chunk_bytes),
            })?;
        }
        // Intents of this model's segments of the journal, and their final outcomes.
        let mut intents: Vec<(Purpose, u64, B256, Bytes)> = Vec::new();
        let mut finals: HashMap<B256, Outcome> = HashMap::new();
        let mut current = false;
        for e in previous {
            match e {
                Entry::Started { model_address, .. } => {
                    current = model_address.eq_ignore_ascii_case(&model);
                }
                Entry::Intent {
                    purpose,
                    nonce,
                    tx_hash,
                    raw,
                } if current => {
                    if let (Ok(h), Ok(r)) = (tx_hash.parse::<B256>(), raw.parse::<Bytes>()) {
                        intents.push((purpose.clone(), *nonce, h, r));
                    }
                }
                Entry::Outcome { tx_hash, outcome } => {
                    if let Ok(h) = tx_hash.parse::<B256>()
                        && !matches!(outcome, Outcome::Dropped)
                    {
                        finals.insert(h, outcome.clone());
                    }
                }
                _ => {}
            }
        }
        let sender = self.plan.sender;
        let latest = self
            .rpc
            .nonce(sender, "latest")
            .await
            .map_err(self.rpc_err("read the account nonce"))?;
        let pending = self
            .rpc
            .nonce(sender, "pending")
            .await
            .map_err(self.rpc_err("read the account's pending nonce"))?;
        self.last_head = self
            .rpc
            .block_number()
            .await
            .map_err(self.rpc_err("read the block number"))?;
        if !intents.is_empty() {
            self.note(format!(
                "resuming: {} journaled transactions, account nonce {latest} (pending {pending})",
                intents.len()
            ));
        }
        // First every unresolved intent's receipt, then what the rest are: a nonce that went
        // to another version of the same step (a fee bump) is settled by that version.
        for (purpose, _, hash, _) in &intents {
            if finals.contains_key(hash) {
                continue;
            }
            if let Some(r) = self
                .rpc
                .receipt(*hash)
                .await
                .map_err(self.rpc_err("read a journaled transaction's receipt"))?
            {
                let outcome = self.outcome_of(&r, purpose).await;
                self.journal.append(&Entry::Outcome {
                    tx_hash: format!("{hash:#x}"),
                    outcome: outcome.clone(),
                })?;
                finals.insert(*hash, outcome);
            }
        }
        // A step whose journaled transaction succeeded is done, whatever the plan read a moment
        // before (a node behind a load balancer may lag) — if the chain still has it. A chain
        // that has neither its receipt nor the transaction, and whose account nonce has not
        // reached it, is not the chain the journal ran on (a dev chain restarted without its
        // state, under the same chain id): the journal's transactions are void there and every
        // step the plan finds missing is sent again.
        let disputed: Vec<(usize, u64, B256)> = intents
            .iter()
            .filter(|(_, _, hash, _)| matches!(finals.get(hash), Some(Outcome::Mined { .. })))
            .filter_map(|(purpose, nonce, hash, _)| {
                self.runs
                    .iter()
                    .position(|r| r.step == *purpose && r.status == Status::Queued)
                    .map(|i| (i, *nonce, *hash))
            })
            .collect();
        let mut reset = None;
        for &(i, _, hash) in disputed.iter().filter(|(_, n, _)| *n >= latest) {
            let receipt = self
                .rpc
                .receipt(hash)
                .await
                .map_err(self.rpc_err("read a journaled transaction's receipt"))?;
            if receipt.is_none()
                && !self
                    .rpc
                    .knows_transaction(hash)
                    .await
                    .map_err(self.rpc_err("look up a journaled transaction"))?
            {
                reset = Some((i, hash));
                break;
            }
        }
        if let Some((i, hash)) = reset {
            self.note(format!(
                "the journal says {} was mined in {hash:#x}, but this chain has no such transaction and the account's nonce is {latest}: the chain was reset; sending what it lacks again",
                describe(&self.runs[i].step)
            ));
            intents.clear();
        } else {
            for (i, _, _) in disputed {
                self.runs[i].status = Status::Skipped;
            }
        }
        let settled = |nonce: u64, finals: &HashMap<B256, Outcome>| {
            intents
                .iter()
                .any(|(_, n, h, _)| *n == nonce && finals.contains_key(h))
        };
        // Live candidates: unresolved intents at nonces not yet used; the last one per nonce.
        let mut live: BTreeMap<u64, (Purpose, B256, Bytes)> = BTreeMap::new();
        let mut dead = Vec::new();
        for (purpose, nonce, hash, raw) in &intents {
            if finals.contains_key(hash) || settled(*nonce, &finals) {
                continue;
            }
            if *nonce < latest {
                // Its nonce went to a foreign transaction; it can never be mined.
                dead.push((purpose.clone(), *nonce, *hash));
            } else {
                live.insert(*nonce, (purpose.clone(), *hash, raw.clone()));
            }
        }
        for (purpose, nonce, hash) in dead {
            self.journal.append(&Entry::Outcome {
                tx_hash: format!("{hash:#x}"),
                outcome: Outcome::Replaced {
                    by: "another transaction with the same nonce".into(),
                },
            })?;
            self.note(format!(
                "{} (nonce {nonce}) was never mined and its nonce is used by another transaction",
                describe(&purpose)
            ));
        }
        // Our live nonces must run without gaps from the account's nonce; anything else pending
        // on the account is someone else's.
        let mut expect = latest;
        for &n in live.keys() {
            if n != expect {
                return Err(EngineError::NonceGap {
                    nonce: expect,
                    chain: latest,
                });
            }
            expect += 1;
        }
        if pending > expect {
            return Err(EngineError::ForeignPending {
                account: sender,
                from: expect,
                to: pending - 1,
            });
        }
        let mut known = BTreeMap::new();
        for (&nonce, (_, hash, _)) in &live {
            let k = self
                .rpc
                .knows_transaction(*hash)
                .await
                .map_err(self.rpc_err("look up a journaled transaction"))?;
            known.insert(nonce, k);
        }
        // A nonce of ours the node does not know, below the account's pending nonce, with none
        // of our later transactions in the pool to explain that count: another transaction
        // holds it. Re-sending ours would fail or, with a higher fee, evict it.
        if let Some(&held) = known.iter().find_map(|(n, k)| {
            let ours_after = known.range(n + 1..).any(|(_, k)| *k);
            (!k && *n < pending && !ours_after).then_some(n)
        }) {
            return Err(EngineError::ForeignPending {
                account: sender,
                from: held,
                to: pending - 1,
            });
        }
        self.next_nonce = expect.max(pending);
        let now = Instant::now();
        for (nonce, (purpose, hash, raw)) in live {
            let step = purpose.clone();
            let Some(i) = self.runs.iter().position(|r| r.step == step) else {
                continue;
            };
            let known = known.get(&nonce).copied().unwrap_or(false);
            let run = &mut self.runs[i];
            run.status = Status::InFlight;
            run.attempts = 1;
            run.txs = vec![Tx {
                nonce,
                hash,
                raw,
                max_fee: self.fees.max_fee,
                priority: self.fees.priority_fee,
                broadcast: known,
                retry_at: now,
                sent_at: now,
                checked_at: now,
            }];
            self.by_hash.insert(hash, i);
            self.note(format!(
                "{} (nonce {nonce}) {}",
                describe(&step),
                if known {
                    "is pending; waiting for it"
                } else {
                    "was journaled but is not on the node; re-sending it as signed"
                }
            ));
        }
        for i in 0..self.runs.len() {
            let r = &self.runs[i];
            match r.status {
                Status::Skipped => self.state(
                    i,
                    StepState::Skipped {
                        address: r.address.map(|a| a.to_checksum(None)),
                    },
                ),
                Status::InFlight => {
                    if let Some(tx) = r.live() {
                        self.state(
                            i,
                            StepState::Pending {
                                nonce: tx.nonce,
                                tx_hash: format!("{:#x}", tx.hash),
                            },
                        );
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn outcome_of(&self, r: &Receipt, _purpose: &Purpose) -> Outcome {
        if r.success {
            Outcome::Mined {
                block: r.block,
                gas_used: r.gas_used,
            }
        } else {
            Outcome::Reverted {
                block: r.block,
                gas_used: r.gas_used,
                reason: "reverted".into(),
            }
        }
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

    fn sign(
        &self,
        call: &Call,
        nonce: u64,
        gas_limit: u64,
        max_fee: u128,
        priority: u128,
    ) -> Result<(B256, Bytes), EngineError> {
        let sign_err = |e: alloy::signers::Error| EngineError::Sign(e.to_string());
        let envelope: TxEnvelope = if self.fees.legacy() {
            let mut tx = TxLegacy {
                chain_id: Some(self.plan.chain_id),
                nonce,
                gas_price: max_fee,
                gas_limit,
                to: TxKind::Call(call.to),
                value: call.value,
                input: call.data.clone(),
            };
            let sig = self
                .signer
                .sign_transaction_sync(&mut tx)
                .map_err(sign_err)?;
            tx.into_signed(sig).into()
        } else {
            let mut tx = TxEip1559 {
                chain_id: self.plan.chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: priority.min(max_fee),
                to: TxKind::Call(call.to),
                value: call.value,
                access_list: Default::default(),
                input: call.data.clone(),
            };
            let sig = self
                .signer
                .sign_transaction_sync(&mut tx)
                .map_err(sign_err)?;
            tx.into_signed(sig).into()
        };
        let hash = *envelope.tx_hash();
        Ok((hash, envelope.encoded_2718().into()))
    }

    /// Signs `run` at `nonce` with the given fees and journals the intent (before any broadcast).
    fn sign_and_journal(
        &mut self,
        i: usize,
        nonce: u64,
        max_fee: u128,
        priority: u128,
    ) -> Result<(), EngineError> {
        let (hash, raw) = {
            let r = &self.runs[i];
            self.sign(&r.call, nonce, r.gas_limit, max_fee, priority)?
        };
        self.journal.append(&Entry::Intent {
            purpose: self.runs[i].step.clone(),
            nonce,
            tx_hash: format!("{hash:#x}"),
            raw: format!("{raw}"),
        })?;
        let now = Instant::now();
        let run = &mut self.runs[i];
        run.txs.push(Tx {
            nonce,
            hash,
            raw,
            max_fee,
            priority,
            broadcast: false,
            retry_at: now,
            sent_at: now,
            checked_at: now,
        });
        run.status = Status::InFlight;
        run.attempts += 1;
        self.by_hash.insert(hash, i);
        self.state(
            i,
            StepState::Sending {
                nonce,
                tx_hash: format!("{hash:#x}"),
            },
        );
        Ok(())
    }

    fn fail(&mut self, i: usize, failure: Failure) {
        let run = &mut self.runs[i];
        run.status = Status::Failed;
        run.failure = Some(failure.clone());
        let attempts = run.attempts;
        self.state(i, StepState::Failed { failure, attempts });
        self.progress_dirty = true;
    }

    /// Broadcasts the live transaction of `i`. Returns false when sending must stop for now.
    async fn broadcast(&mut self, i: usize) -> Result<bool, EngineError> {
        let Some(tx) = self.runs[i].live().cloned() else {
            return Ok(true);
        };
        let result = self.rpc.send_raw(&tx.raw).await;
        let accepted = match result {
            Ok(_) => true,
            Err(e) => match classify_send(&e) {
                SendError::AlreadyKnown => true,
                SendError::NonceTooLow => {
                    // Ours was mined already (a lost answer to an earlier send), or the nonce
                    // went to another transaction.
                    if let Ok(Some(r)) = self.rpc.receipt(tx.hash).await {
                        self.on_receipt(i, r).await?;
                        return Ok(true);
                    }
                    self.journal.append(&Entry::Outcome {
                        tx_hash: format!("{:#x}", tx.hash),
                        outcome: Outcome::Replaced {
                            by: "another transaction with the same nonce".into(),
                        },
                    })?;
                    let chain = self
                        .rpc
                        .nonce(self.plan.sender, "pending")
                        .await
                        .unwrap_or(0);
                    self.next_nonce = self.next_nonce.max(chain);
                    self.note(format!(
                        "nonce {} of {} was used by another transaction; it gets nonce {} or later",
                        tx.nonce,
                        describe(&self.runs[i].step),
                        self.next_nonce
                    ));
                    let run = &mut self.runs[i];
                    run.txs.clear();
                    run.status = Status::Queued;
                    return Ok(true);
                }
                SendError::InsufficientFunds => {
                    let balance = self.rpc.balance(self.plan.sender).await.unwrap_or_default();
                    let need = U256::from(self.runs[i].gas_limit) * U256::from(tx.max_fee)
                        + self.runs[i].call.value;
                    let step = describe(&self.runs[i].step);
                    self.fail(
                        i,
                        Failure::InsufficientFunds {
                            balance: balance.to_string(),
                            need: need.to_string(),
                        },
                    );
                    self.block(format!(
                        "{step}: the balance of {} is {balance} wei, the transaction needs up to {need} wei; top up, then retry the failed steps",
                        self.plan.sender
                    ));
                    return Ok(false);
                }
                SendError::Underpriced => {
                    if self.bump(i).await? {
                        return Ok(true);
                    }
                    self.fail(i, Failure::Underpriced);
                    self.block(format!(
                        "{}: the node refuses the fee and the fee cap is reached",
                        describe(&self.runs[i].step)
                    ));
                    return Ok(false);
                }
                SendError::RateLimited | SendError::Transport(_) => {
                    let limited = classify_send(&e) == SendError::RateLimited;
                    return Ok(self.auto_retry(
                        i,
                        if limited {
                            Failure::RateLimited
                        } else {
                            Failure::Rpc {
                                message: e.message(),
                            }
                        },
                    ));
                }
                SendError::Other(message) => {
                    self.fail(
                        i,
                        Failure::Rpc {
                            message: message.clone(),
                        },
                    );
                    self.block(format!(
                        "{}: the node refused the transaction: {message}",
                        describe(&self.runs[i].step)
                    ));
                    return Ok(false);
                }
            },
        };
        if accepted {
            let now = Instant::now();
            if let Some(t) = self.runs[i].txs.last_mut() {
                t.broadcast = true;
                t.sent_at = now;
                t.checked_at = now;
            }
            self.state(
                i,
                StepState::Pending {
                    nonce: tx.nonce,
                    tx_hash: format!("{:#x}", tx.hash),
                },
            );
            self.progress_dirty = true;
        }
        Ok(true)
    }

    /// Schedules another broadcast of the same signed transaction after a backoff, or reports
    /// the step failed once the attempts are used up. Returns false (stop sending for now).
    fn auto_retry(&mut self, i: usize, failure: Failure) -> bool {
        let run = &mut self.runs[i];
        run.attempts += 1;
        if run.attempts > self.opts.max_auto_attempts {
            let step = describe(&run.step);
            self.fail(i, failure.clone());
            self.block(format!(
                "{step}: gave up after {} attempts: {failure:?}",
                self.opts.max_auto_attempts
            ));
            return false;
        }
        let backoff = Duration::from_millis(200 * u64::from(run.attempts.min(10)));
        if let Some(t) = run.txs.last_mut() {
            t.broadcast = false;
            t.retry_at = Instant::now() + backoff;
        }
        let step = describe(&run.step);
        self.note(format!(
            "{step}: {} — sending again in {} ms",
            match &failure {
                Failure::RateLimited => "rate limited".to_string(),
                Failure::Rpc { message } => message.clone(),
                other => format!("{other:?}"),
            },
            backoff.as_millis()
        ));
        false
    }

    fn block(&mut self, reason: String) {
        if self.paused_for.is_none() {
            self.emit(DeployEvent::Paused {
                reason: reason.clone(),
            });
        }
        self.paused_for = Some(reason);
    }

    /// Re-signs the live transaction of `i` at the same nonce with fees ≥ 12.5 % higher (and
    /// at least what the current base fee needs), within the cap. False when the cap is reached.
    async fn bump(&mut self, i: usize) -> Result<bool, EngineError> {
        let Some(tx) = self.runs[i].live().cloned() else {
            return Ok(false);
        };
        if let Ok((Some(base), _)) = self.rpc.latest_fees().await {
            self.fees.base_fee = Some(base);
        }
        let mut max_fee = tx.max_fee + tx.max_fee / 8 + 1;
        let mut priority = tx.priority + tx.priority / 8 + 1;
        if let Some(base) = self.fees.base_fee {
            max_fee = max_fee.max(2 * base + priority);
        }
        if let Some(cap) = self.fees.cap {
            max_fee = max_fee.min(cap);
        }
        priority = priority.min(max_fee);
        if max_fee <= tx.max_fee {
            self.note(format!(
                "{}: cannot raise the fee above the cap of {} wei per gas",
                describe(&self.runs[i].step),
                max_fee
            ));
            return Ok(false);
        }
        self.note(format!(
            "{}: raising the fee from {} to {max_fee} wei per gas (same nonce {})",
            describe(&self.runs[i].step),
            tx.max_fee,
            tx.nonce
        ));
        self.fees.max_fee = self.fees.max_fee.max(max_fee);
        self.fees.priority_fee = self.fees.priority_fee.max(priority);
        self.sign_and_journal(i, tx.nonce, max_fee, priority)?;
        Box::pin(self.broadcast(i)).await
    }

    /// Sends what is due: re-broadcasts first (in nonce order), then new steps while the window
    /// has room.
    async fn send_due(&mut self) -> Result<(), EngineError> {
        let now = Instant::now();
        let mut due: Vec<(u64, usize)> = self
            .runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.status == Status::InFlight)
            .filter_map(|(i, r)| {
                r.live()
                    .filter(|t| !t.broadcast && t.retry_at <= now)
                    .map(|t| (t.nonce, i))
            })
            .collect();
        due.sort();
        for (_, i) in due {
            if !self.broadcast(i).await? {
                return Ok(());
            }
        }
        let unsent = self
            .runs
            .iter()
            .any(|r| r.status == Status::InFlight && r.live().is_some_and(|t| !t.broadcast));
        if unsent || self.paused || self.aborting.is_some() || self.paused_for.is_some() {
            return Ok(());
        }
        while self.in_flight() < self.opts.window {
            let Some(i) = self.runs.iter().position(|r| r.status == Status::Queued) else {
                break;
            };
            let nonce = self.next_nonce;
            self.sign_and_journal(i, nonce, self.fees.max_fee, self.fees.priority_fee)?;
            self.next_nonce += 1;
            if !self.broadcast(i).await? {
                break;
            }
        }
        Ok(())
    }

    async fn on_receipt(&mut self, i: usize, r: Receipt) -> Result<(), EngineError> {
        if self.runs[i].status != Status::InFlight {
            return Ok(());
        }
        let purpose = self.runs[i].step.clone();
        let mut outcome = self.outcome_of(&r, &purpose).await;
        let gas_limit = self.runs[i].gas_limit;
        let failure = if r.success {
            None
        } else if r.gas_used >= gas_limit - gas_limit / 64 {
            Some(Failure::OutOfGas { gas_limit })
        } else {
            let reason = self.revert_reason(i).await;
            if let Outcome::Reverted {
                reason: ref mut rr, ..
            } = outcome
            {
                *rr = reason.clone();
            }
            if reason == REPLAY_SUCCEEDS {
                // It reverted with this gas limit and succeeds with the block's: a CREATE
                // inside ran short (only 63/64 of the gas reaches it), which is out of gas.
                Some(Failure::OutOfGas { gas_limit })
            } else {
                Some(Failure::Reverted { reason })
            }
        };
        self.journal.append(&Entry::Outcome {
            tx_hash: format!("{:#x}", r.tx_hash),
            outcome,
        })?;
        self.mined += 1;
        self.gas_used += r.gas_used;
        self.cost += U256::from(r.gas_used) * U256::from(r.effective_gas_price);
        self.blocks = Some(match self.blocks {
            None => (r.block, r.block),
            Some((a, b)) => (a.min(r.block), b.max(r.block)),
        });
        self.progress_dirty = true;
        match failure {
            None => {
                self.runs[i].status = Status::Mined;
                let address = self.runs[i].address.map(|a| a.to_checksum(None));
                self.state(
                    i,
                    StepState::Mined {
                        tx_hash: format!("{:#x}", r.tx_hash),
                        block: r.block,
                        gas_used: r.gas_used,
                        address,
                    },
                );
            }
            Some(f) => {
                let step = describe(&self.runs[i].step);
                // Its nonce is used: a retry is a new transaction.
                self.runs[i].txs.clear();
                self.fail(i, f.clone());
                self.block(format!("{step} failed on chain: {f:?}"));
            }
        }
        Ok(())
    }

    async fn revert_reason(&self, i: usize) -> String {
        let call = &self.runs[i].call;
        match self
            .rpc
            .call_from(self.plan.sender, call.to, &call.data)
            .await
        {
            Err(RpcFailure::Node {
                data: Some(d),
                message,
                ..
            }) => d
                .parse::<Bytes>()
                .map(|b| Revert::decode(&b).to_string())
                .unwrap_or(message),
            Err(RpcFailure::Node { message, .. }) => message,
            _ => REPLAY_SUCCEEDS.into(),
        }
    }

    /// Looks at new blocks for receipts of what is in flight; looks up transactions that have
    /// waited long without one (pending or dropped) and bumps stuck ones.
    async fn watch(&mut self) -> Result<(), EngineError> {
        let waiting: Vec<B256> = self
            .runs
            .iter()
            .filter(|r| r.status == Status::InFlight)
            .flat_map(|r| r.txs.iter().filter(|t| t.broadcast).map(|t| t.hash))
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        let head = match self.rpc.block_number().await {
            Ok(h) => h,
            Err(e) => {
                self.note(format!("could not read the block number: {e}"));
                return Ok(());
            }
        };
        if head > self.last_head {
            let new_blocks = head - self.last_head;
            let mut receipts = Vec::new();
            let mut per_block = self.block_receipts_supported && new_blocks <= 4;
            if per_block {
                for b in self.last_head + 1..=head {
                    match self.rpc.block_receipts(b).await {
                        Ok(Some(list)) => receipts.extend(list),
                        Ok(None) => {
                            self.block_receipts_supported = false;
                            per_block = false;
                            break;
                        }
                        Err(_) => {
                            per_block = false;
                            break;
                        }
                    }
                }
            }
            if !per_block {
                receipts.clear();
                for h in &waiting {
                    if let Ok(Some(r)) = self.rpc.receipt(*h).await {
                        receipts.push(r);
                    }
                }
            }
            self.last_head = head;
            for r in receipts {
                if let Some(&i) = self.by_hash.get(&r.tx_hash) {
                    self.on_receipt(i, r).await?;
                }
            }
        }
        // Transactions that have waited a while: pending, dropped, or stuck?
        let now = Instant::now();
        let check: Vec<usize> = self
            .runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.status == Status::InFlight)
            .filter(|(_, r)| {
                r.live().is_some_and(|t| {
                    t.broadcast && now.duration_since(t.checked_at) >= self.opts.pending_check
                })
            })
            .map(|(i, _)| i)
            .collect();
        for i in check {
            let hashes: Vec<B256> = self.runs[i].txs.iter().map(|t| t.hash).collect();
            let mut found = None;
            for h in &hashes {
                if let Ok(Some(r)) = self.rpc.receipt(*h).await {
                    found = Some(r);
                    break;
                }
            }
            if let Some(r) = found {
                self.on_receipt(i, r).await?;
                continue;
            }
            let Some(tx) = self.runs[i].live().cloned() else {
                continue;
            };
            if let Some(t) = self.runs[i].txs.last_mut() {
                t.checked_at = now;
            }
            match self.rpc.knows_transaction(tx.hash).await {
                Ok(false) => {
                    self.journal.append(&Entry::Outcome {
                        tx_hash: format!("{:#x}", tx.hash),
                        outcome: Outcome::Dropped,
                    })?;
                    let step = describe(&self.runs[i].step);
                    self.note(format!(
                        "{step}: transaction {:#x} (nonce {}) left the node's pool without a receipt; re-sending it as signed",
                        tx.hash, tx.nonce
                    ));
                    let run = &mut self.runs[i];
                    run.attempts += 1;
                    let attempts = run.attempts;
                    if let Some(t) = run.txs.last_mut() {
                        t.broadcast = false;
                        t.retry_at = now;
                    }
                    self.state(
                        i,
                        StepState::Failed {
                            failure: Failure::Dropped,
                            attempts,
                        },
                    );
                }
                Ok(true) => {
                    if now.duration_since(tx.sent_at) >= self.opts.stuck_after
                        && let Ok((Some(base), _)) = self.rpc.latest_fees().await
                        && base >= tx.max_fee
                    {
                        self.fees.base_fee = Some(base);
                        self.bump(i).await?;
                    }
                }
                Err(e) => self.note(format!("could not look up a transaction: {e}")),
            }
        }
        Ok(())
    }

    fn progress(&mut self, force: bool) {
        let now = Instant::now();
        let due = self.progress_dirty
            && now.duration_since(self.last_progress) >= Duration::from_millis(200);
        if !(force || due) && now.duration_since(self.last_progress) < Duration::from_secs(1) {
            return;
        }
        self.last_progress = now;
        self.progress_dirty = false;
        let chunk = |r: &&Run| matches!(r.step, Step::Chunk { .. });
        self.emit(DeployEvent::Progress(Progress {
            transactions_mined: self
                .runs
                .iter()
                .filter(|r| r.status == Status::Mined)
                .count(),
            transactions_total: self
                .runs
                .iter()
                .filter(|r| r.status != Status::Skipped)
                .count(),
            chunks_stored: self
                .runs
                .iter()
                .filter(chunk)
                .filter(|r| matches!(r.status, Status::Mined | Status::Skipped))
                .count(),
            chunks_total: self.runs.iter().filter(chunk).count(),
            gas_used: self.gas_used,
            cost_wei: self.cost.to_string(),
            in_flight: self.in_flight(),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
        }));
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Pause => {
                if !self.paused {
                    self.paused = true;
                    self.emit(DeployEvent::Paused {
                        reason: "paused by the operator".into(),
                    });
                }
            }
            Command::Resume => {
                if self.paused {
                    self.paused = false;
                    self.emit(DeployEvent::Resumed);
                }
            }
            Command::Abort => {
                if self.aborting.is_none() {
                    self.aborting = Some(Instant::now());
                    self.note(
                        "aborting: nothing new is sent; waiting for the transactions in flight",
                    );
                }
            }
            Command::Retry(step) => {
                if let Some(i) = self.runs.iter().position(|r| r.step == step) {
                    self.retry(i);
                }
                self.after_retry();
            }
            Command::RetryAllFailed => {
                for i in 0..self.runs.len() {
                    if self.runs[i].status == Status::Failed {
                        self.retry(i);
                    }
                }
                self.after_retry();
            }
        }
    }

    fn retry(&mut self, i: usize) {
        let run = &mut self.runs[i];
        if run.status != Status::Failed {
            return;
        }
        let failure = run.failure.take();
        run.attempts = 0;
        if let Some(Failure::OutOfGas { gas_limit }) = failure {
            run.gas_limit = gas_limit + gas_limit / 2;
        }
        if run.txs.is_empty() {
            // Mined and failed: its nonce is spent; a new transaction is signed.
            run.status = Status::Queued;
            self.state(i, StepState::Queued);
        } else {
            // Never accepted by the node: the same signed transaction goes again.
            run.status = Status::InFlight;
            if let Some(t) = run.txs.last_mut() {
                t.broadcast = false;
                t.retry_at = Instant::now();
            }
        }
    }

    fn after_retry(&mut self) {
        if self.failed() == 0 && self.paused_for.take().is_some() {
            self.emit(DeployEvent::Resumed);
        }
        self.progress_dirty = true;
    }

    async fn finish(&mut self) -> Result<End, EngineError> {
        let ready = self
            .rpc
            .call(
                self.plan.model(),
                &alloy::sol_types::SolCall::abi_encode(&crate::chain::EternalModel::isReadyCall {})
                    .into(),
            )
            .await
            .ok()
            .and_then(|b| crate::chain::calls::decode_bool(&b))
            .unwrap_or(false);
        if !ready {
            let reason = format!(
                "every step is on chain but the model {} does not report ready; check it with a verifier",
                self.plan.model()
            );
            self.emit(DeployEvent::Stopped {
                reason: reason.clone(),
                resumable: false,
                resume_command: None,
            });
            return Ok(End::Stopped {
                reason,
                resumable: false,
            });
        }
        self.journal.append(&Entry::Finished {
            model_address: self.plan.model().to_checksum(None),
            unix_time: unix_now(),
        })?;
        self.progress(true);
        let summary = Summary {
            model_address: self.plan.model(),
            chain_id: self.plan.chain_id,
            transactions: self.mined,
            gas_used: self.gas_used,
            cost_wei: self.cost,
            seconds: self.started.elapsed().as_secs_f64(),
            journal: self.journal.path().to_path_buf(),
            rpc_requests: self.rpc.requests(),
            blocks: self.blocks,
        };
        self.emit(DeployEvent::Finished {
            model_address: summary.model_address.to_checksum(None),
            chain_id: summary.chain_id,
            transactions: summary.transactions,
            gas_used: summary.gas_used,
            cost_wei: summary.cost_wei.to_string(),
            seconds: summary.seconds,
            journal: summary.journal.display().to_string(),
        });
        Ok(End::Finished(summary))
    }

    fn stop(&mut self, reason: String) -> End {
        self.progress(true);
        self.emit(DeployEvent::Stopped {
            reason: reason.clone(),
            resumable: true,
            resume_command: self.opts.resume_command.clone(),
        });
        End::Stopped {
            reason,
            resumable: true,
        }
    }

    async fn main_loop(
        &mut self,
        commands: &mut UnboundedReceiver<Command>,
    ) -> Result<End, EngineError> {
        let mut commands_open = true;
        loop {
            while commands_open {
                match commands.try_recv() {
                    Ok(c) => self.command(c),
                    Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                    Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                        commands_open = false;
                    }
                }
            }
            self.send_due().await?;
            self.watch().await?;
            self.progress(false);
            if self
                .runs
                .iter()
                .all(|r| matches!(r.status, Status::Mined | Status::Skipped))
            {
                return self.finish().await;
            }
            let in_flight = self.in_flight();
            if let Some(since) = self.aborting
                && (in_flight == 0 || since.elapsed() > Duration::from_secs(30))
            {
                return Ok(self.stop("aborted by the operator".into()));
            }
            let waiting_for_operator = in_flight == 0
                && (self.paused_for.is_some() || self.paused)
                && self.aborting.is_none();
            if waiting_for_operator {
                if !self.opts.interactive || !commands_open {
                    let reason = self.paused_for.clone().unwrap_or_else(|| "paused".into());
                    return Ok(self.stop(reason));
                }
                self.progress(true);
                match commands.recv().await {
                    Some(c) => self.command(c),
                    None => commands_open = false,
                }
                continue;
            }
            if commands_open {
                tokio::select! {
                    _ = tokio::time::sleep(self.opts.poll) => {}
                    c = commands.recv() => match c {
                        Some(c) => self.command(c),
                        None => commands_open = false,
                    },
                }
            } else {
                tokio::time::sleep(self.opts.poll).await;
            }
        }
    }
}
