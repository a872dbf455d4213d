//! The operator's commands: pause, resume, abort, retry one failed step or all of them.
//!
//! Owns: what a command changes in the engine's state. Must not touch: the chain (commands only
//! schedule; `send` and `main_loop` act).

use std::time::Instant;

use super::{Engine, Status};
use crate::engine::event::{Command, DeployEvent, Failure, StepState};
use crate::engine::rpc::ChainRpc;

impl<R: ChainRpc> Engine<R> {
    pub(super) fn command(&mut self, c: Command) {
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

    pub(super) fn retry(&mut self, i: usize) {
        let run = &mut self.runs[i];
        if run.status != Status::Failed {
            return;
        }
        let failure = run.failure.take();
        run.attempts = 0;
        if let Some(Failure::OutOfGas { gas_limit }) = failure {
            // More gas, but never more than one transaction may use on this chain.
            let budget = self.plan.limits.tx_budget().0;
            run.gas_limit = (gas_limit + gas_limit / 2).min(budget.max(gas_limit));
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

    pub(super) fn after_retry(&mut self) {
        if self.failed() == 0 && self.paused_for.take().is_some() {
            self.emit(DeployEvent::Resumed);
        }
        self.progress_dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::super::Options;
    use super::super::fake::{self, Chain};
    use super::*;
    use crate::engine::event::Step;

    fn events_of(rx: &mut tokio::sync::mpsc::UnboundedReceiver<DeployEvent>) -> Vec<DeployEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn retrying_a_step_that_ran_out_of_gas_queues_it_with_half_again_the_gas() {
        let plan = fake::plan(&[Step::Factory, Step::Model], fake::fees(None));
        let (mut e, mut rx, _dir) = fake::engine(plan, Chain::default(), Options::default());
        e.fail(0, Failure::OutOfGas { gas_limit: 100_000 });
        e.block("out of gas".into());
        events_of(&mut rx);
        e.command(Command::Retry(Step::Factory));
        assert_eq!(e.runs[0].status, Status::Queued);
        assert_eq!(e.runs[0].gas_limit, 150_000);
        assert_eq!(e.runs[0].attempts, 0);
        assert!(e.paused_for.is_none());
        let ev = events_of(&mut rx);
        assert!(ev.contains(&DeployEvent::Resumed), "{ev:?}");
    }

    #[test]
    fn retrying_a_step_the_node_never_accepted_sends_the_same_signed_transaction() {
        let plan = fake::plan(&[Step::Factory], fake::fees(None));
        let (mut e, _rx, _dir) = fake::engine(plan, Chain::default(), Options::default());
        e.sign_and_journal(0, 0, e.fees.max_fee, e.fees.priority_fee)
            .unwrap();
        let hash = e.runs[0].live().map(|t| t.hash);
        e.fail(0, Failure::Underpriced);
        e.command(Command::RetryAllFailed);
        let run = &e.runs[0];
        assert_eq!(run.status, Status::InFlight);
        assert_eq!(
            run.live().map(|t| (t.hash, t.broadcast)),
            hash.map(|h| (h, false))
        );
    }

    #[test]
    fn only_failed_steps_are_retried_and_resume_waits_for_every_one() {
        let plan = fake::plan(&[Step::Factory, Step::Model], fake::fees(None));
        let (mut e, mut rx, _dir) = fake::engine(plan, Chain::default(), Options::default());
        e.fail(0, Failure::RateLimited);
        e.fail(1, Failure::RateLimited);
        e.block("rate limited".into());
        e.command(Command::Retry(Step::Factory));
        assert!(e.paused_for.is_some(), "resumed with a step still failed");
        e.command(Command::Retry(Step::Factory));
        assert_eq!(e.runs[0].status, Status::Queued);
        e.command(Command::RetryAllFailed);
        assert!(e.paused_for.is_none());
        let resumed = events_of(&mut rx)
            .iter()
            .filter(|x| **x == DeployEvent::Resumed)
            .count();
        assert_eq!(resumed, 1);
    }

    #[test]
    fn pause_resume_and_abort_are_each_reported_once() {
        let plan = fake::plan(&[Step::Factory], fake::fees(None));
        let (mut e, mut rx, _dir) = fake::engine(plan, Chain::default(), Options::default());
        for c in [
            Command::Pause,
            Command::Pause,
            Command::Resume,
            Command::Resume,
            Command::Abort,
            Command::Abort,
        ] {
            e.command(c);
        }
        let ev = events_of(&mut rx);
        let paused = ev
            .iter()
            .filter(|x| matches!(x, DeployEvent::Paused { .. }))
            .count();
        let aborting = ev
            .iter()
            .filter(
                |x| matches!(x, DeployEvent::Note { message } if message.starts_with("aborting")),
            )
            .count();
        assert_eq!(paused, 1);
        assert_eq!(ev.iter().filter(|x| **x == DeployEvent::Resumed).count(), 1);
        assert_eq!(aborting, 1);
        assert!(!e.paused && e.aborting.is_some());
    }
}
