//! Sending: signs each transaction locally, journals the intent before any broadcast, broadcasts
//! in nonce order within the window, and acts on a refused broadcast by its class — accepted,
//! nonce taken, funds short, fee bumped within the cap, retried after a backoff, or refused.
//!
//! Owns: signing, the intent journal entries and broadcasting. Must not touch: the fee policy's
//! numbers (`fees`), the classification of node errors (`classify`), receipts (`watch`).

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::eips::eip7825::MAX_TX_GAS_LIMIT_OSAKA;
use alloy::network::TxSignerSync;
use alloy::primitives::{B256, Bytes, TxKind, U256};
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::classify::{SendError, classify_send, refusal_text};
use super::fees::{Bump, bumped};
use super::{Engine, EngineError, Status, Tx};
use crate::chain::calls::Call;
use crate::engine::event::{Failure, StepState};
use crate::engine::rpc::ChainRpc;
use crate::journal::{Entry, Outcome};

/// What a transaction is signed with besides its call, nonce and gas limit.
#[derive(Clone, Copy, Debug)]
pub struct Signing {
    pub chain_id: u64,
    /// Before London: a legacy transaction whose gas price is `max_fee`.
    pub legacy: bool,
    pub max_fee: u128,
    pub priority: u128,
}

/// Signs `call` locally (EIP-1559, or legacy), returning its hash and raw bytes: the one signing
/// routine of the deployment engine, also used by the job driver (`usecase::job`).
pub fn sign_call(
    signer: &alloy::signers::local::PrivateKeySigner,
    fees: &Signing,
    call: &Call,
    nonce: u64,
    gas_limit: u64,
) -> Result<(B256, Bytes), String> {
    let sign_err = |e: alloy::signers::Error| e.to_string();
    let envelope: TxEnvelope = if fees.legacy {
        let mut tx = TxLegacy {
            chain_id: Some(fees.chain_id),
            nonce,
            gas_price: fees.max_fee,
            gas_limit,
            to: TxKind::Call(call.to),
            value: call.value,
            input: call.data.clone(),
        };
        let sig = signer.sign_transaction_sync(&mut tx).map_err(sign_err)?;
        tx.into_signed(sig).into()
    } else {
        let mut tx = TxEip1559 {
            chain_id: fees.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: fees.max_fee,
            max_priority_fee_per_gas: fees.priority.min(fees.max_fee),
            to: TxKind::Call(call.to),
            value: call.value,
            access_list: Default::default(),
            input: call.data.clone(),
        };
        let sig = signer.sign_transaction_sync(&mut tx).map_err(sign_err)?;
        tx.into_signed(sig).into()
    };
    let hash = *envelope.tx_hash();
    Ok((hash, envelope.encoded_2718().into()))
}

impl<R: ChainRpc> Engine<R> {
    pub(super) fn sign(
        &self,
        call: &Call,
        nonce: u64,
        gas_limit: u64,
        max_fee: u128,
        priority: u128,
    ) -> Result<(B256, Bytes), EngineError> {
        let fees = Signing {
            chain_id: self.plan.chain_id,
            legacy: self.fees.legacy(),
            max_fee,
            priority,
        };
        sign_call(&self.signer, &fees, call, nonce, gas_limit).map_err(EngineError::Sign)
    }

    /// Signs `run` at `nonce` with the given fees and journals the intent (before any broadcast).
    pub(super) fn sign_and_journal(
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

    /// Broadcasts the live transaction of `i`. Returns false when sending must stop for now.
    pub(super) async fn broadcast(&mut self, i: usize) -> Result<bool, EngineError> {
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
                        tx.nonce, self.runs[i].step, self.next_nonce
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
                    let step = self.runs[i].step.to_string();
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
                        self.runs[i].step
                    ));
                    return Ok(false);
                }
                SendError::RateLimited => return Ok(self.auto_retry(i, Failure::RateLimited)),
                SendError::Transport => {
                    let message = e.message();
                    return Ok(self.auto_retry(i, Failure::Rpc { message }));
                }
                class @ (SendError::GasCap | SendError::BlockGasLimit) => {
                    let step = self.runs[i].step.to_string();
                    let block = class == SendError::BlockGasLimit;
                    let failure = Failure::GasCap {
                        gas_limit: self.runs[i].gas_limit,
                        cap: if block {
                            self.plan.limits.block_gas_limit
                        } else {
                            MAX_TX_GAS_LIMIT_OSAKA
                        },
                        block,
                        node: refusal_text(&e),
                    };
                    let message = failure.to_string();
                    self.fail(i, failure);
                    self.block(format!("{step}: {message}"));
                    return Ok(false);
                }
                SendError::NonceTooHigh | SendError::IntrinsicGas | SendError::Other => {
                    let message = refusal_text(&e);
                    self.fail(
                        i,
                        Failure::Rpc {
                            message: message.clone(),
                        },
                    );
                    self.block(format!(
                        "{}: the node refused the transaction: {message}",
                        self.runs[i].step
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
    pub(super) fn auto_retry(&mut self, i: usize, failure: Failure) -> bool {
        let run = &mut self.runs[i];
        run.attempts += 1;
        if run.attempts > self.opts.max_auto_attempts {
            let step = run.step.to_string();
            self.fail(i, failure.clone());
            self.block(format!(
                "{step}: gave up after {} attempts: {failure}",
                self.opts.max_auto_attempts
            ));
            return false;
        }
        let backoff = Duration::from_millis(200 * u64::from(run.attempts.min(10)));
        if let Some(t) = run.txs.last_mut() {
            t.broadcast = false;
            t.retry_at = Instant::now() + backoff;
        }
        let step = run.step.to_string();
        self.note(format!(
            "{step}: {} — sending again in {} ms",
            match &failure {
                Failure::RateLimited => "rate limited".to_string(),
                Failure::Rpc { message } => message.clone(),
                other => other.to_string(),
            },
            backoff.as_millis()
        ));
        false
    }

    /// Re-signs the live transaction of `i` at the same nonce with fees ≥ 12.5 % higher (and
    /// at least what the current base fee needs), within the cap. False when the cap is reached.
    ///
    /// Boxed, with `Send` spelled out: broadcasting may bump again, and a recursive future's
    /// auto traits cannot be inferred from themselves.
    pub(super) fn bump(
        &mut self,
        i: usize,
    ) -> Pin<Box<dyn Future<Output = Result<bool, EngineError>> + Send + '_>> {
        Box::pin(async move {
            let Some(tx) = self.runs[i].live().cloned() else {
                return Ok(false);
            };
            if let Ok((Some(base), _)) = self.rpc.latest_fees().await {
                self.fees.base_fee = Some(base);
            }
            let (max_fee, priority) =
                match bumped(tx.max_fee, tx.priority, self.fees.base_fee, self.fees.cap) {
                    Bump::To { max_fee, priority } => (max_fee, priority),
                    Bump::CapReached { cap } => {
                        self.note(format!(
                            "{}: cannot raise the fee above the cap of {cap} wei per gas",
                            self.runs[i].step,
                        ));
                        return Ok(false);
                    }
                };
            self.note(format!(
                "{}: raising the fee from {} to {max_fee} wei per gas (same nonce {})",
                self.runs[i].step, tx.max_fee, tx.nonce
            ));
            self.fees.max_fee = self.fees.max_fee.max(max_fee);
            self.fees.priority_fee = self.fees.priority_fee.max(priority);
            self.sign_and_journal(i, tx.nonce, max_fee, priority)?;
            self.broadcast(i).await
        })
    }

    /// Sends what is due: re-broadcasts first (in nonce order), then new steps while the window
    /// has room.
    pub(super) async fn send_due(&mut self) -> Result<(), EngineError> {
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
}

#[cfg(test)]
mod tests {
    use super::super::Options;
    use super::super::fake::{self, Chain, GWEI, notes};
    use super::*;
    use crate::engine::event::Step;
    use crate::engine::rpc::RpcFailure;

    fn refusal(message: &str) -> RpcFailure {
        RpcFailure::Node {
            code: -32000,
            message: message.into(),
            data: None,
        }
    }

    /// A chain at base fee 1 gwei that answers the first broadcasts with `refusals`.
    fn refusing(refusals: &[RpcFailure]) -> Chain {
        Chain {
            base_fee: Some(GWEI),
            refusals: refusals.iter().cloned().collect(),
            ..Chain::default()
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_underpriced_transaction_is_re_signed_at_the_same_nonce_with_a_higher_fee() {
        let plan = fake::plan(&[Step::Factory], fake::fees(None));
        let chain = refusing(&[refusal("replacement transaction underpriced")]);
        let (mut e, mut events, _dir) = fake::engine(plan, chain, Options::default());
        e.send_due().await.unwrap();
        let txs = &e.runs[0].txs;
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].nonce, txs[1].nonce);
        assert!(txs[1].max_fee * 8 >= txs[0].max_fee * 9, "{txs:?}");
        assert!(txs[1].broadcast);
        assert_eq!(e.chain().sent, vec![txs[0].raw.clone(), txs[1].raw.clone()]);
        // Both versions were journaled before they went out.
        let intents = e
            .journaled()
            .iter()
            .filter(|x| matches!(x, Entry::Intent { .. }))
            .count();
        assert_eq!(intents, 2);
        assert!(
            notes(&mut events)
                .iter()
                .any(|n| n.contains("raising the fee from 3000000000 to"))
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn at_the_fee_cap_an_underpriced_step_fails_and_waits_for_the_operator() {
        let cap = 3 * GWEI;
        let plan = fake::plan(&[Step::Factory], fake::fees(Some(cap)));
        let chain = refusing(&[refusal("transaction underpriced")]);
        let (mut e, mut events, _dir) = fake::engine(plan, chain, Options::default());
        e.send_due().await.unwrap();
        assert_eq!(e.runs[0].status, Status::Failed);
        assert_eq!(e.runs[0].failure, Some(Failure::Underpriced));
        assert_eq!(e.runs[0].txs.len(), 1, "re-signed above the cap");
        assert!(
            e.paused_for
                .as_deref()
                .is_some_and(|r| r.contains("the fee cap is reached")),
            "{:?}",
            e.paused_for
        );
        assert!(notes(&mut events).iter().any(|n| n.contains(&format!(
            "cannot raise the fee above the cap of {cap} wei per gas"
        ))));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_stuck_bump_never_signs_above_the_cap() {
        let cap = 4 * GWEI;
        let plan = fake::plan(&[Step::Factory], fake::fees(Some(cap)));
        let (mut e, _events, _dir) = fake::engine(plan, refusing(&[]), Options::default());
        e.send_due().await.unwrap();
        e.chain().base_fee = Some(1000 * GWEI);
        assert!(e.bump(0).await.unwrap());
        assert_eq!(e.runs[0].live().map(|t| t.max_fee), Some(cap));
        assert!(!e.bump(0).await.unwrap(), "bumped past the cap");
        assert!(e.runs[0].txs.iter().all(|t| t.max_fee <= cap));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_gas_limit_above_the_eip_7825_cap_fails_the_step_and_says_so() {
        let plan = fake::plan(&[Step::Factory], fake::fees(None));
        let chain = refusing(&[refusal(
            "transaction gas limit too high (cap: 16777216, tx: 30000000)",
        )]);
        let (mut e, _events, _dir) = fake::engine(plan, chain, Options::default());
        e.send_due().await.unwrap();
        assert_eq!(e.runs[0].status, Status::Failed);
        let Some(failure @ Failure::GasCap { .. }) = &e.runs[0].failure else {
            panic!("{:?}", e.runs[0].failure);
        };
        let message = failure.to_string();
        assert!(
            message.contains("the gas limit of 100,000 exceeds the chain's per-transaction gas cap (EIP-7825 allows 16,777,216 gas per transaction)"),
            "{message}"
        );
        assert!(message.contains("the node said: transaction gas limit too high"));
        assert!(e.paused_for.is_some());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_rate_limited_broadcast_is_retried_after_a_backoff_as_signed() {
        let plan = fake::plan(&[Step::Factory, Step::Model], fake::fees(None));
        let alchemy = RpcFailure::Node {
            code: 429,
            message: "Your app has exceeded its compute units per second capacity.".into(),
            data: None,
        };
        let (mut e, mut events, _dir) =
            fake::engine(plan, refusing(&[alchemy]), Options::default());
        e.send_due().await.unwrap();
        let run = &e.runs[0];
        assert_eq!(run.status, Status::InFlight);
        assert_eq!(run.attempts, 2);
        let tx = run.live().unwrap();
        assert!(!tx.broadcast && tx.retry_at > Instant::now());
        // Sending stopped for now: the next step waits behind the retry.
        assert_eq!(e.runs[1].status, Status::Queued);
        assert!(
            notes(&mut events)
                .iter()
                .any(|n| n.contains("rate limited — sending again in 400 ms"))
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn already_known_counts_as_sent_and_other_refusals_wait_for_the_operator() {
        let plan = fake::plan(&[Step::Factory, Step::Model], fake::fees(None));
        let chain = refusing(&[refusal("already known"), refusal("intrinsic gas too low")]);
        let (mut e, _events, _dir) = fake::engine(plan, chain, Options::default());
        e.send_due().await.unwrap();
        assert!(e.runs[0].live().is_some_and(|t| t.broadcast));
        assert_eq!(e.runs[1].status, Status::Failed);
        assert_eq!(
            e.runs[1].failure,
            Some(Failure::Rpc {
                message: "intrinsic gas too low".into()
            })
        );
        assert_eq!(
            e.paused_for.as_deref(),
            Some("the model clone: the node refused the transaction: intrinsic gas too low")
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_nonce_taken_meanwhile_sends_the_step_again_at_a_later_nonce() {
        let plan = fake::plan(&[Step::Factory], fake::fees(None));
        let mut chain = refusing(&[refusal("nonce too low: next nonce 1, tx nonce 0")]);
        chain.pending = 1;
        let (mut e, _events, _dir) = fake::engine(plan, chain, Options::default());
        e.send_due().await.unwrap();
        // Re-queued and, the window having room, signed again at the next free nonce.
        let run = &e.runs[0];
        assert_eq!(run.status, Status::InFlight);
        assert_eq!(run.txs.len(), 1);
        assert_eq!(run.live().map(|t| (t.nonce, t.broadcast)), Some((1, true)));
        assert_eq!(e.next_nonce, 2);
        assert!(e.journaled().iter().any(|x| matches!(
            x,
            Entry::Outcome {
                outcome: Outcome::Replaced { .. },
                ..
            }
        )));
    }
}
