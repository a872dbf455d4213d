//! Reconciliation on start: brings the deployment's journal and the chain into one picture —
//! which journaled transactions were mined, which are pending, which must be re-broadcast as
//! they were signed, which lost their nonce to another transaction — and stops, sending nothing,
//! when someone else's transactions hold the account's nonces.
//!
//! Owns: reading the journal's intents against the chain and the first nonce. Must not touch:
//! sending (`send`), what happens after start (`watch`, `main_loop`).

use alloy::primitives::{B256, Bytes};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::{Engine, EngineError, Status, Tx, deployment_key, unix_now};
use crate::engine::event::StepState;
use crate::engine::plan::describe;
use crate::engine::rpc::ChainRpc;
use crate::journal::{Entry, Outcome, Purpose};

impl<R: ChainRpc> Engine<R> {
    /// Brings the journal and the chain into one picture: which journaled transactions were
    /// mined, which are still pending, which must be re-broadcast as they were, and the next
    /// nonce. Steps the chain already has were marked skipped by the plan.
    pub(super) async fn reconcile(&mut self, previous: &[Entry]) -> Result<(), EngineError> {
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
}
