//! Plan: what deploying a model would send, before anything is — [`PlanReport`] wraps the
//! engine's [`Plan`]: its `Serialize` is `plan --json`, its `Display` the table.
//!
//! Owns: the two renderings of a plan. Must not touch: the terminal, the chain.

use crate::engine::Plan;
use crate::units;
use serde::Serialize;
use serde_json::json;

/// A plan as `plan` reports it.
pub struct PlanReport<'a>(pub &'a Plan);

impl PlanReport<'_> {
    fn json(&self) -> serde_json::Value {
        let plan = self.0;
        json!({
            "model_address": plan.model().to_checksum(None),
            "hashed_model": plan.source.hashed_model,
            "chain_id": plan.chain_id,
            "network": plan.network,
            "deployer": plan.sender.to_checksum(None),
            "format": plan.format.name(),
            "chunk_bytes": plan.image.chunks.chunk_bytes,
            "chunks": plan.image.chunks.count(),
            "steps": plan.steps.iter().map(|s| json!({
                "step": s.step,
                "to": s.call.to.to_checksum(None),
                "calldata_bytes": s.call.data.len(),
                "gas_limit": s.gas_limit,
                "gas_source": if s.estimated { "eth_estimateGas" } else { "bound" },
                "done": s.done,
                "address": s.address.map(|a| a.to_checksum(None)),
            })).collect::<Vec<_>>(),
            "transactions": plan.transactions_to_send(),
            "gas_total": plan.gas_to_send(),
            "base_fee_wei": plan.fees.base_fee.map(|b| b.to_string()),
            "max_fee_wei": plan.fees.max_fee.to_string(),
            "priority_fee_wei": plan.fees.priority_fee.to_string(),
            "cost_estimate_wei": plan.cost_estimate().to_string(),
            "worst_case_wei": plan.worst_case().to_string(),
            "balance_wei": plan.balance.to_string(),
            "balance_sufficient": plan.balance >= plan.worst_case(),
            "block_gas_limit": plan.block_gas_limit,
            "tx_gas_budget": plan.limits.tx_budget().0,
            "call_gas": plan.limits.call_gas,
            "code_size_limit": plan.limits.code_size,
            "notes": plan.notes,
        })
    }
}

/// The `--json` object: model, chain, deployer, chunk layout, every step, fees and balance.
impl Serialize for PlanReport<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(ser)
    }
}

/// The table: one line per step, then the totals, the fees and the balance.
impl std::fmt::Display for PlanReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plan = self.0;
        writeln!(
            f,
            "model {} → {} on chain {} ({}) as {}",
            &plan.source.hashed_model[..16],
            plan.model(),
            plan.chain_id,
            plan.network,
            plan.sender
        )?;
        writeln!(
            f,
            "weights: {} format, {} chunks of ≤ {} bytes",
            plan.format.name(),
            plan.image.chunks.count(),
            plan.image.chunks.chunk_bytes
        )?;
        for note in &plan.notes {
            writeln!(f, "note: {note}")?;
        }
        writeln!(
            f,
            "chain allows: {} gas per transaction ({}), contracts up to {} bytes",
            units::thousands(plan.limits.tx_budget().0),
            plan.limits.describe_budget(),
            units::thousands(plan.limits.code_size as u64)
        )?;
        writeln!(f, "{:<40} {:>12}  {:<8} state", "step", "gas", "source")?;
        for s in &plan.steps {
            writeln!(
                f,
                "{:<40} {:>12}  {:<8} {}",
                s.step,
                s.gas_limit,
                if s.estimated { "estimate" } else { "bound" },
                if s.done { "on chain" } else { "to send" }
            )?;
        }
        writeln!(
            f,
            "{} transactions, {} gas; at {} base fee (+{} tip): ≈ {} ({} wei); up to {} wei at the max fee of {}",
            plan.transactions_to_send(),
            plan.gas_to_send(),
            plan.fees.base_fee.map_or("legacy".into(), units::gwei),
            units::gwei(plan.fees.priority_fee),
            units::eth(plan.cost_estimate()),
            plan.cost_estimate(),
            plan.worst_case(),
            units::gwei(plan.fees.max_fee),
        )?;
        writeln!(
            f,
            "balance {} wei ({}): {}",
            plan.balance,
            units::eth(plan.balance),
            if plan.balance >= plan.worst_case() {
                "enough"
            } else {
                "NOT enough"
            }
        )
    }
}
