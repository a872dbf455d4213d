//! The engine's two channels: the [`DeployEvent`]s it emits and the [`Command`]s it accepts.
//! The TUI dashboard, the plain line-per-event reporter and `--json` (NDJSON) are three
//! consumers of the same events; none of them is known to the engine.
//!
//! Every event is plain data (serialisable, no handles), so `--json` prints it as it is and a
//! test can synthesise any sequence.

use serde::{Deserialize, Serialize};

pub use crate::chain::Step;

/// Why a transaction failed, classified so the engine (and the operator) know what helps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Failure {
    /// Left the pool without a receipt; re-sent with the same nonce.
    Dropped,
    /// Mined and reverted; `reason` is the decoded custom error or revert string.
    Reverted {
        reason: String,
    },
    /// The node refused the fee; bumped and re-sent within the configured cap.
    Underpriced,
    OutOfGas {
        gas_limit: u64,
    },
    /// Balance below what the transaction can cost, both in wei (decimal strings: u256).
    InsufficientFunds {
        balance: String,
        need: String,
    },
    /// The node rate-limited us (HTTP 429 or equivalent); retried after a pause.
    RateLimited,
    /// The node refused the gas limit: above what one transaction may use on this chain
    /// (`block`: the block's gas limit, else EIP-7825's per-transaction cap of `cap`). The plan
    /// sizes every transaction to fit, so the chain's limits changed since it was made.
    GasCap {
        gas_limit: u64,
        cap: u64,
        block: bool,
        /// The node's words.
        node: String,
    },
    /// Any other JSON-RPC or transport error.
    Rpc {
        message: String,
    },
}

impl Failure {
    /// Whether retrying without the operator doing anything can help.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Failure::Dropped | Failure::Underpriced | Failure::RateLimited | Failure::Rpc { .. }
        )
    }
}

/// What went wrong, with the numbers, in words an operator can act on (amounts in ETH).
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::units::{eth_str, thousands};
        match self {
            Failure::Dropped => f.write_str("dropped from the node's pool without a receipt"),
            Failure::Reverted { reason } => write!(f, "reverted: {reason}"),
            Failure::Underpriced => f.write_str("fee too low for the node (underpriced)"),
            Failure::OutOfGas { gas_limit } => {
                write!(f, "out of gas at the limit of {}", thousands(*gas_limit))
            }
            Failure::InsufficientFunds { balance, need } => {
                let short = match (
                    alloy::primitives::U256::from_str_radix(balance, 10),
                    alloy::primitives::U256::from_str_radix(need, 10),
                ) {
                    (Ok(b), Ok(n)) if n > b => format!(", short by {}", crate::units::eth(n - b)),
                    _ => String::new(),
                };
                write!(
                    f,
                    "insufficient funds: balance {}, needs {}{short}; top up the deployer",
                    eth_str(balance),
                    eth_str(need)
                )
            }
            Failure::RateLimited => f.write_str("rate-limited by the node"),
            Failure::GasCap {
                gas_limit,
                cap,
                block,
                node,
            } => {
                let what = if *block {
                    format!("the block gas limit of {}", thousands(*cap))
                } else {
                    format!(
                        "the chain's per-transaction gas cap (EIP-7825 allows {} gas per transaction)",
                        thousands(*cap)
                    )
                };
                write!(
                    f,
                    "the gas limit of {} exceeds {what}; run `plan` again to size the transactions to the chain's limits; the node said: {node}",
                    thousands(*gas_limit)
                )
            }
            Failure::Rpc { message } => write!(f, "RPC error: {message}"),
        }
    }
}

/// Where a step stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    Queued,
    /// Signed, written to the journal, being broadcast.
    Sending {
        nonce: u64,
        tx_hash: String,
    },
    /// In the node's pool.
    Pending {
        nonce: u64,
        tx_hash: String,
    },
    Mined {
        tx_hash: String,
        block: u64,
        gas_used: u64,
        address: Option<String>,
    },
    /// Already on chain before this run (found by resume or by its code being present).
    Skipped {
        address: Option<String>,
    },
    Failed {
        failure: Failure,
        attempts: u32,
    },
}

/// A deployment's totals so far (the `progress` event; the dashboard keeps the last one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub transactions_mined: usize,
    pub transactions_total: usize,
    pub chunks_stored: usize,
    pub chunks_total: usize,
    pub gas_used: u64,
    /// Wei spent so far (decimal string).
    pub cost_wei: String,
    pub in_flight: usize,
    pub elapsed_ms: u64,
}

/// Everything the engine reports. One deployment emits `Planned` first and `Finished` or
/// `Stopped` last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeployEvent {
    /// What will be sent, before anything is.
    Planned {
        model_address: String,
        chain_id: u64,
        steps: Vec<Step>,
        layer_names: Vec<String>,
        chunks: usize,
        /// The weight format the model is deployed in.
        format: crate::chain::WeightFormat,
        /// Estimated total gas and cost at the current fees (cost in wei, decimal string).
        gas_estimate: u64,
        cost_estimate: String,
        journal: String,
    },
    /// A step changed state.
    Step {
        step: Step,
        state: StepState,
    },
    /// Totals so far, at least once a second while anything is in flight.
    Progress(Progress),
    /// Sending is paused (by command or because the balance ran out) or resumed.
    Paused {
        reason: String,
    },
    Resumed,
    /// A line worth showing in an event log (fee bumps, re-sends, reconciliation findings).
    Note {
        message: String,
    },
    /// The model is ready on chain.
    Finished(DeploymentSummary),
    /// Stopped before the end; `resumable` tells whether `eternalize resume <id>` can finish it.
    Stopped {
        reason: String,
        resumable: bool,
        resume_command: Option<String>,
    },
}

/// A finished deployment: what the engine's `finished` event carries, what `deploy --json`
/// prints last (as `{"type": "done", …}`, [`DeploymentSummary::done_json`]), what the TUI's
/// Done screen shows and prints on exit. The one shape of a finished deployment.
///
/// The `finished` event leaves out `rpc_requests`, `blocks` and `id` (as it always has); the
/// `done` line has every field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentSummary {
    pub model_address: String,
    pub chain_id: u64,
    /// Transactions this run sent and saw mined.
    pub transactions: usize,
    pub gas_used: u64,
    /// Wei spent by this run (decimal string: u256).
    pub cost_wei: String,
    pub seconds: f64,
    /// JSON-RPC requests this run made.
    #[serde(skip_serializing, default)]
    pub rpc_requests: u64,
    /// Blocks that held this run's transactions (first, last), when any were sent.
    #[serde(skip_serializing, default)]
    pub blocks: Option<(u64, u64)>,
    pub journal: String,
    /// The deployment's id (`eternalize resume ID`).
    #[serde(skip_serializing, default)]
    pub id: String,
}

impl DeploymentSummary {
    /// `deploy --json`'s last line: `{"type": "done", …}` with every field.
    pub fn done_json(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "done",
            "model_address": self.model_address,
            "chain_id": self.chain_id,
            "transactions": self.transactions,
            "gas_used": self.gas_used,
            "cost_wei": self.cost_wei,
            "seconds": self.seconds,
            "rpc_requests": self.rpc_requests,
            "blocks": self.blocks,
            "journal": self.journal,
            "id": self.id,
        })
    }

    /// `(label, value)` rows, the same on the Done screen and on stdout.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        use crate::units::{eth_str, seconds, thousands};
        vec![
            ("model", self.model_address.clone()),
            ("chain id", self.chain_id.to_string()),
            ("transactions", thousands(self.transactions)),
            ("gas used", thousands(self.gas_used)),
            (
                "cost",
                format!("{} ({} wei)", eth_str(&self.cost_wei), self.cost_wei),
            ),
            ("time", seconds(self.seconds)),
            ("journal", self.journal.clone()),
        ]
    }
}

/// `Eternal deployed.` and one indented row per figure.
impl std::fmt::Display for DeploymentSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Eternal deployed.")?;
        for (label, value) in self.rows() {
            writeln!(f, "  {label:<13} {value}")?;
        }
        Ok(())
    }
}

/// What a consumer can ask of a running deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Retry one failed step (a chunk, a layer batch, …).
    Retry(Step),
    /// Retry every failed step.
    RetryAllFailed,
    /// Stop sending new transactions; those in flight still complete.
    Pause,
    Resume,
    /// Stop after the transactions in flight; the deployment stays resumable.
    Abort,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insufficient_funds_names_both_numbers_and_the_gap() {
        let f = Failure::InsufficientFunds {
            balance: "1000000000000000".into(),
            need: "3500000000000000".into(),
        };
        assert_eq!(
            f.to_string(),
            "insufficient funds: balance 0.001000 ETH, needs 0.003500 ETH, short by 0.002500 ETH; top up the deployer"
        );
    }

    #[test]
    fn events_serialise_as_tagged_ndjson() {
        let e = DeployEvent::Step {
            step: Step::Chunk { index: 3 },
            state: StepState::Failed {
                failure: Failure::InsufficientFunds {
                    balance: "1".into(),
                    need: "2".into(),
                },
                attempts: 1,
            },
        };
        let s = serde_json::to_string(&e).unwrap();
        assert_eq!(
            s,
            r#"{"type":"step","step":{"kind":"chunk","index":3},"state":{"state":"failed","failure":{"class":"insufficient_funds","balance":"1","need":"2"},"attempts":1}}"#
        );
        assert_eq!(serde_json::from_str::<DeployEvent>(&s).unwrap(), e);
        assert!(
            !Failure::Reverted {
                reason: "ChunkContentMismatch".into()
            }
            .retryable()
        );
        assert!(Failure::Dropped.retryable());
    }
}
