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
use crate::engine::rpc::ChainRpc;
use crate::journal::{Entry, Outcome, Purpose};

impl<R: ChainRpc> Engine<R> {
    /// Brings the journal and the chain into one picture: which journaled transactions were
    /// mined, which are still pending, which must be re-broadcast as they were, and the next
    /// nonce. Steps the chain already has were marked skipped by the plan.
    pub(super) async fn reconcile(&mut self, previous: &[Entry]) -> Result<(), EngineError> {
        let model = self.plan.model().to_checksum(None);
        let format = self.plan.format;
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
                self.runs[i].step
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
                purpose
            ));
        }
        // Our nonces — live, or settled by a receipt read just now (a block may have been mined
        // since `latest` and `pending` were read) — must run without gaps from the account's
        // nonce; anything else pending on the account is someone else's.
        let mut expect = latest;
        while live.contains_key(&expect) || settled(expect, &finals) {
            expect += 1;
        }
        if live.range(expect..).next().is_some() {
            return Err(EngineError::NonceGap {
                nonce: expect,
                chain: latest,
            });
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
                step,
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

#[cfg(test)]
mod tests {
    use super::super::Options;
    use super::super::fake::{self, Chain, mined, mined_outcome, notes};
    use super::*;
    use crate::engine::event::Step;

    fn two_steps() -> crate::engine::plan::Plan {
        fake::plan(&[Step::Factory, Step::Model], fake::fees(None))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_mined_journaled_transaction_is_recognised_and_not_sent_again() {
        let (mut e, mut events, _dir) =
            fake::engine(two_steps(), Chain::default(), Options::default());
        let (intent, h0, _) = e.intent(0, 0);
        {
            let mut c = e.chain();
            c.latest = 1;
            c.pending = 1;
            c.receipts.insert(h0, mined(h0, 5));
        }
        let previous = vec![e.started(), intent];
        e.reconcile(&previous).await.unwrap();
        assert_eq!(e.runs[0].status, Status::Skipped);
        assert_eq!(e.runs[1].status, Status::Queued);
        assert_eq!(e.next_nonce, 1);
        assert!(e.journaled().contains(&Entry::Outcome {
            tx_hash: format!("{h0:#x}"),
            outcome: Outcome::Mined {
                block: 5,
                gas_used: 50_000
            },
        }));
        assert!(notes(&mut events)[0].contains("resuming: 1 journaled transactions"));
        // Only the step the chain lacks goes out, at the next nonce.
        e.send_due().await.unwrap();
        let (_, _, model_raw) = e.intent(1, 1);
        assert_eq!(e.chain().sent, vec![model_raw]);
    }

    /// A block mined between reading the account's nonces and reading the receipts: the
    /// journaled transactions it holds are ours, not someone else's pending ones (seen under load
    /// in `deploy::kill_9_with_transactions_pending_then_resume_completes`).
    #[tokio::test(flavor = "current_thread")]
    async fn transactions_mined_while_reconciling_are_ours_not_foreign() {
        let (mut e, _events, _dir) =
            fake::engine(two_steps(), Chain::default(), Options::default());
        let (i0, h0, _) = e.intent(0, 0);
        let (i1, h1, _) = e.intent(1, 1);
        {
            // The nonces as read first (both pending); the receipts as read a moment later.
            let mut c = e.chain();
            c.latest = 0;
            c.pending = 2;
            c.receipts.insert(h0, mined(h0, 5));
            c.receipts.insert(h1, mined(h1, 5));
        }
        e.reconcile(&[e.started(), i0, i1]).await.unwrap();
        assert_eq!(e.next_nonce, 2);
        e.send_due().await.unwrap();
        assert!(e.chain().sent.is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_journaled_transaction_the_node_never_got_is_sent_once_as_signed() {
        let opts = Options {
            window: 1,
            ..Options::default()
        };
        let (mut e, mut events, _dir) = fake::engine(two_steps(), Chain::default(), opts);
        let (intent, h0, raw0) = e.intent(0, 0);
        e.reconcile(&[e.started(), intent]).await.unwrap();
        assert_eq!(e.runs[0].status, Status::InFlight);
        assert_eq!(
            e.runs[0].live().map(|t| (t.hash, t.broadcast)),
            Some((h0, false))
        );
        assert_eq!(e.next_nonce, 1);
        assert!(
            notes(&mut events).iter().any(
                |n| n.contains("was journaled but is not on the node; re-sending it as signed")
            )
        );
        e.send_due().await.unwrap();
        e.send_due().await.unwrap();
        assert_eq!(e.chain().sent, vec![raw0], "sent twice, or re-signed");
        // Nothing new was journaled for it: the intent it was sent under is the old one.
        assert!(
            !e.journaled()
                .iter()
                .any(|x| matches!(x, Entry::Intent { .. }))
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_journaled_transaction_still_pending_is_waited_for() {
        let (mut e, _events, _dir) =
            fake::engine(two_steps(), Chain::default(), Options::default());
        let (intent, h0, _) = e.intent(0, 0);
        {
            let mut c = e.chain();
            c.pending = 1;
            c.known.insert(h0);
        }
        e.reconcile(&[e.started(), intent]).await.unwrap();
        assert_eq!(e.runs[0].live().map(|t| t.broadcast), Some(true));
        assert_eq!(e.next_nonce, 1);
        // The window has room: only the next step is sent.
        e.send_due().await.unwrap();
        assert_eq!(e.chain().sent.len(), 1);
        assert_eq!(e.runs[1].live().map(|t| t.nonce), Some(1));
    }

    /// Mirrors `deploy_nonces::resume_stops_when_another_transaction_took_a_journaled_nonce_then_finishes`.
    #[tokio::test(flavor = "current_thread")]
    async fn a_nonce_taken_by_a_foreign_transaction_stops_the_run_then_its_step_goes_out_again() {
        // Intent 1 (nonce 0) reached the node; intent 2 (nonce 1) was journaled, never sent; a
        // foreign transfer took nonce 1.
        let (mut e, _events, _dir) =
            fake::engine(two_steps(), Chain::default(), Options::default());
        let (i0, h0, _) = e.intent(0, 0);
        let (i1, h1, _) = e.intent(1, 1);
        {
            let mut c = e.chain();
            c.pending = 2;
            c.known.insert(h0);
        }
        let previous = vec![e.started(), i0, i1];
        let err = e.reconcile(&previous).await.unwrap_err();
        assert!(
            matches!(err, EngineError::ForeignPending { from: 1, to: 1, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(
                "has pending transactions (at nonce 1) that this deployment did not send"
            ),
            "{err}"
        );
        assert!(e.chain().sent.is_empty(), "sent something");

        // The foreign transaction is mined: nonce 1 is dead, its step is sent again, once, at 2.
        let (mut e, mut events, _dir) =
            fake::engine(two_steps(), Chain::default(), Options::default());
        {
            let mut c = e.chain();
            c.latest = 2;
            c.pending = 2;
            c.receipts.insert(h0, mined(h0, 3));
        }
        e.reconcile(&previous).await.unwrap();
        assert!(
            notes(&mut events)
                .iter()
                .any(|n| n.contains("its nonce is used by another transaction"))
        );
        assert!(e.journaled().contains(&Entry::Outcome {
            tx_hash: format!("{h1:#x}"),
            outcome: Outcome::Replaced {
                by: "another transaction with the same nonce".into()
            },
        }));
        assert_eq!(e.runs[0].status, Status::Skipped);
        assert_eq!(e.runs[1].status, Status::Queued);
        e.send_due().await.unwrap();
        assert_eq!(e.chain().sent.len(), 1);
        assert_eq!(e.runs[1].live().map(|t| t.nonce), Some(2));
    }

    /// Mirrors `deploy_nonces::a_deploy_does_not_start_behind_another_senders_pending_transaction`.
    #[tokio::test(flavor = "current_thread")]
    async fn a_fresh_deploy_does_not_start_behind_a_foreign_pending_transaction() {
        let chain = Chain {
            pending: 1,
            ..Chain::default()
        };
        let (mut e, _events, _dir) = fake::engine(two_steps(), chain, Options::default());
        let err = e.reconcile(&[]).await.unwrap_err();
        assert!(
            err.to_string().contains(
                "has pending transactions (at nonce 0) that this deployment did not send"
            ),
            "{err}"
        );
        // It started its journal, and sent nothing.
        assert!(matches!(e.journaled()[..], [Entry::Started { .. }]));
        assert!(e.chain().sent.is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn journaled_nonces_that_leave_a_gap_stop_the_run() {
        let (mut e, _events, _dir) =
            fake::engine(two_steps(), Chain::default(), Options::default());
        let (i1, _, _) = e.intent(1, 1);
        let err = e.reconcile(&[e.started(), i1]).await.unwrap_err();
        assert!(
            matches!(err, EngineError::NonceGap { nonce: 0, chain: 0 }),
            "{err:?}"
        );
    }

    /// Mirrors `deploy_nonces::a_resume_on_a_chain_reset_under_the_same_chain_id_sends_everything_it_lacks_again`.
    #[tokio::test(flavor = "current_thread")]
    async fn a_chain_reset_voids_the_journal_and_everything_is_sent_again() {
        let (mut e, mut events, _dir) =
            fake::engine(two_steps(), Chain::default(), Options::default());
        let (i0, h0, _) = e.intent(0, 0);
        let previous = vec![e.started(), i0, mined_outcome(h0)];
        e.reconcile(&previous).await.unwrap();
        assert!(
            notes(&mut events)
                .iter()
                .any(|n| n.contains("the chain was reset")),
        );
        assert_eq!(e.runs[0].status, Status::Queued);
        assert_eq!(e.next_nonce, 0);
        e.send_due().await.unwrap();
        assert_eq!(e.chain().sent.len(), 2);
        assert_eq!(e.runs[0].live().map(|t| t.nonce), Some(0));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_step_mined_on_this_chain_stays_done_even_when_the_plan_read_a_lagging_node() {
        // The journal says mined; this chain has the receipt and the account's nonce is past it.
        let (mut e, _events, _dir) =
            fake::engine(two_steps(), Chain::default(), Options::default());
        let (i0, h0, _) = e.intent(0, 0);
        {
            let mut c = e.chain();
            c.latest = 1;
            c.pending = 1;
            c.receipts.insert(h0, mined(h0, 2));
        }
        e.reconcile(&[e.started(), i0, mined_outcome(h0)])
            .await
            .unwrap();
        assert_eq!(e.runs[0].status, Status::Skipped);
        assert_eq!(e.next_nonce, 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn another_models_journal_segment_is_ignored() {
        // An earlier segment of the journal deployed another model at this key's file.
        let (mut e, _events, _dir) =
            fake::engine(two_steps(), Chain::default(), Options::default());
        let (i0, _, _) = e.intent(0, 0);
        let other = match e.started() {
            Entry::Started {
                key,
                source,
                network,
                format,
                unix_time,
                chunk_bytes,
                ..
            } => Entry::Started {
                key,
                source,
                network,
                format,
                model_address: format!("{:#x}", alloy::primitives::Address::repeat_byte(0x55)),
                unix_time,
                chunk_bytes,
            },
            _ => unreachable!(),
        };
        e.reconcile(&[other, i0]).await.unwrap();
        assert_eq!(e.runs[0].status, Status::Queued);
        assert_eq!(e.next_nonce, 0);
        // A new segment was started for this model.
        assert!(matches!(e.journaled()[..], [Entry::Started { .. }]));
    }
}
