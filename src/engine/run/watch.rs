//! Receipt watching: new blocks' receipts for what is in flight (per block where the node has
//! `eth_getBlockReceipts`, per transaction otherwise), transactions that waited long without
//! one looked up (pending or dropped), stuck ones handed to the fee bump, and what a receipt
//! means for its step (mined, out of gas, reverted with its decoded reason).
//!
//! Owns: receipts and their outcomes. Must not touch: signing and fees (`send`), the journal's
//! past (`reconcile`).

use alloy::primitives::{B256, Bytes, U256};
use std::time::Instant;

use super::{Engine, EngineError, Status};
use crate::chain::Revert;
use crate::engine::event::{Failure, StepState};
use crate::engine::rpc::{ChainRpc, Receipt, RpcFailure};
use crate::journal::{Entry, Outcome, Purpose};

const REPLAY_SUCCEEDS: &str = "reverted (the same call succeeds now with more gas)";

impl<R: ChainRpc> Engine<R> {
    /// Looks at new blocks for receipts of what is in flight; looks up transactions that have
    /// waited long without one (pending or dropped) and bumps stuck ones.
    pub(super) async fn watch(&mut self) -> Result<(), EngineError> {
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
                    let step = self.runs[i].step.to_string();
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

    pub(super) async fn on_receipt(&mut self, i: usize, r: Receipt) -> Result<(), EngineError> {
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
                let step = self.runs[i].step.to_string();
                // Its nonce is used: a retry is a new transaction.
                self.runs[i].txs.clear();
                self.fail(i, f.clone());
                self.block(format!("{step} failed on chain: {f}"));
            }
        }
        Ok(())
    }

    pub(super) async fn revert_reason(&self, i: usize) -> String {
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

    pub(super) async fn outcome_of(&self, r: &Receipt, _purpose: &Purpose) -> Outcome {
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
}
