//! What a chain can do, asked before anything is sent: the opcodes our contracts use (each
//! tried in a simulated creation, `eth_call` without `to`), the largest contract it accepts,
//! its block gas limit and the gas its node lets a simulation use. From these, the gas one
//! transaction may ask for ([`Limits::tx_budget`]), which the plan sizes its chunks to and
//! checks every step against.
//!
//! Owns: the probes and the words for what a chain lacks. Must not touch: signing, sending,
//! the journal — probing never spends anything.

use alloy::eips::eip7825::MAX_TX_GAS_LIMIT_OSAKA;
use alloy::primitives::{Bytes, U256};
use serde_json::json;

use super::rpc::{Rpc, RpcFailure};
use crate::units::thousands;

/// An opcode our contracts need that not every EVM chain has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opcode {
    pub name: &'static str,
    pub byte: u8,
    /// The upgrade that brought it.
    pub fork: &'static str,
    /// Initcode that executes the opcode and returns nothing (it uses no other post-London
    /// opcode, so each probe answers for its own opcode only).
    probe: &'static [u8],
}

/// Every post-Paris opcode the artifacts use (a test below keeps this list true): solc 0.8.30
/// for Cancun emits PUSH0 everywhere and MCOPY for memory copies; no transient storage.
pub const NEEDED: &[Opcode] = &[
    Opcode {
        name: "PUSH0",
        byte: 0x5f,
        fork: "Shanghai",
        // PUSH0 STOP
        probe: &[0x5f, 0x00],
    },
    Opcode {
        name: "MCOPY",
        byte: 0x5e,
        fork: "Cancun",
        // PUSH1 0 PUSH1 0 PUSH1 0 MCOPY STOP
        probe: &[0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x5e, 0x00],
    },
];

/// Initcode returning the gas left when it starts: GAS PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN.
const GAS_PROBE: &[u8] = &[0x5a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3];

/// What a simulated creation costs before its first opcode runs: the transaction, the
/// creation, the calldata and the initcode words (EIP-3860), and the probed opcode (GAS, 2).
fn creation_overhead(initcode: &[u8]) -> u64 {
    let data = crate::chain::calls::calldata_gas(initcode);
    21_000 + 32_000 + data + 2 * (initcode.len() as u64).div_ceil(32) + 2
}

/// Initcode returning `n` zero bytes as the contract's code: PUSH2 n PUSH1 0 RETURN.
fn code_of_size(n: u16) -> Vec<u8> {
    let [hi, lo] = n.to_be_bytes();
    vec![0x61, hi, lo, 0x60, 0x00, 0xf3]
}

/// The largest code EIP-170 allows, which our chunks are cut for.
const EIP_170: usize = crate::chain::weights::MAX_RUNTIME_BYTES;

/// What the chain allows, as probed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub block_gas_limit: u64,
    /// The gas the node lets `eth_call` (and so `eth_estimateGas`) use, when it could be
    /// measured.
    pub call_gas: Option<u64>,
    /// The largest contract code the chain accepts (EIP-170's 24,576 unless it says less).
    pub code_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            block_gas_limit: 30_000_000,
            call_gas: None,
            code_size: EIP_170,
        }
    }
}

/// Which limit bounds a transaction's gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Block,
    Eip7825,
    Call,
}

impl Limits {
    /// The gas one transaction may ask for, and which limit says so: it must fit in a block,
    /// under EIP-7825's per-transaction cap (2^24; enforced since Osaka, and eternalize holds
    /// every chain to it so that one plan fits them all), and within what the node simulates
    /// (or its estimates fail).
    pub fn tx_budget(&self) -> (u64, Bound) {
        let mut out = (self.block_gas_limit, Bound::Block);
        if MAX_TX_GAS_LIMIT_OSAKA < out.0 {
            out = (MAX_TX_GAS_LIMIT_OSAKA, Bound::Eip7825);
        }
        if let Some(c) = self.call_gas
            && c < out.0
        {
            out = (c, Bound::Call);
        }
        out
    }

    /// The budget's limit in words: "the block gas limit of 5,000,000".
    pub fn describe_budget(&self) -> String {
        let (gas, bound) = self.tx_budget();
        let gas = thousands(gas);
        match bound {
            Bound::Block => format!("the block gas limit of {gas}"),
            Bound::Eip7825 => format!("the per-transaction cap of {gas} (EIP-7825)"),
            Bound::Call => format!("the node's eth_call gas cap of {gas}"),
        }
    }

    /// The gas a chunk transaction is sized for: the budget less a tenth, so a chunk fits
    /// beside the variation between the calibrated bound and what a block has left.
    pub fn chunk_target(&self) -> u64 {
        let (gas, _) = self.tx_budget();
        gas - gas / 10
    }
}

/// Opcodes the chain does not have, with what its node said of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub opcodes: Vec<(Opcode, String)>,
    pub url: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .opcodes
            .iter()
            .map(|(o, _)| format!("{} ({})", o.name, o.fork))
            .collect();
        let them = if names.len() == 1 { "it" } else { "them" };
        write!(
            f,
            "this chain has no {}; eternalize's contracts need {them}; nothing was sent",
            names.join(" and no ")
        )?;
        let said: Vec<String> = self
            .opcodes
            .iter()
            .map(|(o, why)| format!("{}: {why}", o.name))
            .collect();
        write!(
            f,
            " (the node at {} refused a test creation using {})",
            self.url,
            said.join("; ")
        )
    }
}

/// Why the chain cannot take our contracts.
#[derive(Debug, thiserror::Error)]
pub enum CapabilityError {
    #[error("{0}")]
    Missing(Missing),
    #[error(
        "this chain accepts contracts of at most {} bytes; eternalize's {what} is {} bytes; nothing was sent",
        thousands(*limit as u64),
        thousands(*need as u64)
    )]
    CodeSize {
        limit: usize,
        need: usize,
        what: String,
    },
    #[error("could not {action} at {url}: {failure}")]
    Rpc {
        action: &'static str,
        url: String,
        failure: RpcFailure,
    },
}

/// Simulates creating a contract from `initcode` with up to `gas`.
async fn simulate(rpc: &Rpc, initcode: &[u8], gas: Option<u64>) -> Result<Bytes, RpcFailure> {
    let data = Bytes::copy_from_slice(initcode);
    let call = match gas {
        Some(g) => json!({ "data": data, "gas": format!("0x{g:x}") }),
        None => json!({ "data": data }),
    };
    rpc.request("eth_call", json!([call, "latest"])).await
}

/// Asks the chain what it can do. `largest_code`: the largest contract code the deployment
/// needs besides its chunks, and what it is (its chunks shrink to fit a smaller limit; that
/// code cannot).
pub async fn probe(rpc: &Rpc, largest_code: (usize, &str)) -> Result<Limits, CapabilityError> {
    let url = rpc.display_url();
    let rpc_err = |action| {
        let url = url.clone();
        move |failure| CapabilityError::Rpc {
            action,
            url,
            failure,
        }
    };
    let mut missing = Vec::new();
    for op in NEEDED {
        match simulate(rpc, op.probe, Some(100_000)).await {
            Ok(_) => {}
            Err(RpcFailure::Node { message, .. }) => missing.push((*op, message)),
            Err(e) => return Err(rpc_err("try the opcodes our contracts use")(e)),
        }
    }
    if !missing.is_empty() {
        return Err(CapabilityError::Missing(Missing {
            opcodes: missing,
            url,
        }));
    }
    let (_, block_gas_limit) = rpc
        .latest_fees()
        .await
        .map_err(rpc_err("read the latest block"))?;
    let call_gas = call_gas_cap(rpc)
        .await
        .map_err(rpc_err("measure the node's eth_call gas"))?;
    let mut limits = Limits {
        block_gas_limit,
        call_gas,
        code_size: EIP_170,
    };
    limits.code_size = code_size_limit(rpc, &limits)
        .await
        .map_err(rpc_err("measure the contract size limit"))?;
    let (need, what) = largest_code;
    if limits.code_size < need {
        return Err(CapabilityError::CodeSize {
            limit: limits.code_size,
            need,
            what: what.to_string(),
        });
    }
    Ok(limits)
}

/// The gas the node lets one `eth_call` use, up to 2^24 (what it grants when asked for 2^24,
/// or by default when it refuses that), or `None` when it will not say.
pub async fn call_gas_cap(rpc: &Rpc) -> Result<Option<u64>, RpcFailure> {
    match simulate(rpc, GAS_PROBE, Some(MAX_TX_GAS_LIMIT_OSAKA)).await {
        Ok(left) => Ok(Some(gas_seen(&left))),
        // A node that refuses the gas asked for, rather than capping it: ask with its default.
        Err(RpcFailure::Node { .. }) => match simulate(rpc, GAS_PROBE, None).await {
            Ok(left) => Ok(Some(gas_seen(&left))),
            Err(RpcFailure::Node { .. }) => Ok(None),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// The gas a simulation could use: what the GAS probe saw, plus what was spent before it.
fn gas_seen(ret: &[u8]) -> u64 {
    let left: u64 = U256::try_from_be_slice(ret)
        .unwrap_or_default()
        .saturating_to();
    left + creation_overhead(GAS_PROBE)
}

/// The largest code the chain accepts, up to EIP-170's: one simulated creation of that size,
/// and a binary search below it when refused. When the node cannot simulate the deposit (its
/// gas cap is too low), EIP-170's limit is assumed.
async fn code_size_limit(rpc: &Rpc, limits: &Limits) -> Result<usize, RpcFailure> {
    let gas = MAX_TX_GAS_LIMIT_OSAKA.min(limits.call_gas.unwrap_or(MAX_TX_GAS_LIMIT_OSAKA));
    let fits = |n: usize| {
        let code = code_of_size(n as u16);
        async move {
            match simulate(rpc, &code, Some(gas)).await {
                Ok(_) => Ok(true),
                Err(RpcFailure::Node { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        }
    };
    if 200 * EIP_170 as u64 + 100_000 > gas || fits(EIP_170).await? {
        return Ok(EIP_170);
    }
    let (mut ok, mut no) = (0usize, EIP_170);
    while no - ok > 1 {
        let mid = (ok + no) / 2;
        if fits(mid).await? {
            ok = mid;
        } else {
            no = mid;
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opcodes after Paris that a chain may lack, by byte.
    const RECENT: &[(u8, &str)] = &[
        (0x1e, "CLZ"),
        (0x49, "BLOBHASH"),
        (0x4a, "BLOBBASEFEE"),
        (0x5c, "TLOAD"),
        (0x5d, "TSTORE"),
        (0x5e, "MCOPY"),
        (0x5f, "PUSH0"),
    ];

    /// The opcodes of `code`, skipping PUSH data.
    fn opcodes(code: &[u8]) -> std::collections::BTreeSet<u8> {
        let mut out = std::collections::BTreeSet::new();
        let mut i = 0;
        while i < code.len() {
            let op = code[i];
            out.insert(op);
            if (0x60..=0x7f).contains(&op) {
                i += usize::from(op - 0x5f);
            }
            i += 1;
        }
        out
    }

    #[test]
    fn every_recent_opcode_the_artifacts_use_is_probed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
        let mut used = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            for key in ["bytecode", "deployedBytecode"] {
                let hex = v[key].as_str().unwrap_or("").trim_start_matches("0x");
                let code = alloy::hex::decode(hex).unwrap();
                used.extend(opcodes(&code));
            }
        }
        for (byte, name) in RECENT {
            if used.contains(byte) {
                assert!(
                    NEEDED.iter().any(|o| o.byte == *byte),
                    "the artifacts use {name}, which the capability probe does not try"
                );
            }
        }
        // And the probes each use their own opcode.
        for o in NEEDED {
            assert!(opcodes(o.probe).contains(&o.byte), "{}", o.name);
        }
        assert!(used.contains(&0x5e) && used.contains(&0x5f));
    }

    #[test]
    fn the_budget_is_the_smallest_of_block_cap_and_node() {
        let l = Limits {
            block_gas_limit: 5_000_000,
            ..Limits::default()
        };
        assert_eq!(l.tx_budget(), (5_000_000, Bound::Block));
        assert_eq!(l.chunk_target(), 4_500_000);
        let l = Limits {
            block_gas_limit: 60_000_000,
            ..Limits::default()
        };
        assert_eq!(l.tx_budget(), (16_777_216, Bound::Eip7825));
        assert_eq!(
            l.describe_budget(),
            "the per-transaction cap of 16,777,216 (EIP-7825)"
        );
        let l = Limits {
            block_gas_limit: 60_000_000,
            call_gas: Some(10_000_000),
            ..Limits::default()
        };
        assert_eq!(l.tx_budget(), (10_000_000, Bound::Call));
    }

    #[test]
    fn missing_opcodes_are_named_with_their_fork() {
        let m = Missing {
            opcodes: vec![
                (NEEDED[0], "EVM error NotActivated".into()),
                (NEEDED[1], "EVM error NotActivated".into()),
            ],
            url: "http://127.0.0.1:1".into(),
        };
        let s = m.to_string();
        assert!(
            s.starts_with("this chain has no PUSH0 (Shanghai) and no MCOPY (Cancun); eternalize's contracts need them; nothing was sent"),
            "{s}"
        );
        let one = Missing {
            opcodes: vec![(NEEDED[1], "invalid opcode: MCOPY".into())],
            url: "u".into(),
        };
        assert!(one.to_string().starts_with(
            "this chain has no MCOPY (Cancun); eternalize's contracts need it; nothing was sent"
        ));
    }

    #[test]
    fn the_gas_probe_overhead_matches_anvil() {
        // Measured on anvil: 16,777,216 asked, 16,724,092 seen by GAS.
        assert_eq!(16_724_092 + creation_overhead(GAS_PROBE), 16_777_216);
    }
}
