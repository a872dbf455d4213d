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

    pub(super) fn after_retry(&mut self) {
        if self.failed() == 0 && self.paused_for.take().is_some() {
            self.emit(DeployEvent::Resumed);
        }
        self.progress_dirty = true;
    }
}
