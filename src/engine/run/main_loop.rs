//! The main loop: takes commands, sends what is due, watches receipts, reports progress, and
//! decides the end — finished (the model reports ready), stopped by the operator, or stopped
//! and resumable while blocked without an operator.
//!
//! Owns: pacing, progress events and the end of a run. Must not touch: how a transaction is
//! sent or watched (`send`, `watch`).

use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

use super::{End, Engine, EngineError, Run, Status, deployment_key, unix_now};
use crate::engine::event::DeploymentSummary;
use crate::engine::event::{Command, DeployEvent, Progress, Step};
use crate::engine::rpc::ChainRpc;
use crate::journal::Entry;

impl<R: ChainRpc> Engine<R> {
    pub(super) fn progress(&mut self, force: bool) {
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

    pub(super) async fn finish(&mut self) -> Result<End, EngineError> {
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
        let summary = DeploymentSummary {
            model_address: self.plan.model().to_checksum(None),
            chain_id: self.plan.chain_id,
            transactions: self.mined,
            gas_used: self.gas_used,
            cost_wei: self.cost.to_string(),
            seconds: self.started.elapsed().as_secs_f64(),
            rpc_requests: self.rpc.requests(),
            blocks: self.blocks,
            journal: self.journal.path().display().to_string(),
            id: deployment_key(&self.plan).id(),
        };
        self.emit(DeployEvent::Finished(summary.clone()));
        Ok(End::Finished(summary))
    }

    pub(super) fn stop(&mut self, reason: String) -> End {
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

    pub(super) async fn main_loop(
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
