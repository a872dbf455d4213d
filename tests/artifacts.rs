//! The committed `artifacts/` are exactly what `contracts/` compiles to with the pinned solc-js
//! (installed by the test itself when missing). The script reuses outputs from its compile cache
//! when the compiler, the settings and every source are unchanged (docs/development.md); a cold
//! cache compiles every contract.

use eternalize::tools::{Tools, node};
use std::path::Path;
use std::process::Command;

#[test]
fn artifacts_match_the_sources() {
    let tools = Tools::in_repo();
    tools.solc().unwrap_or_else(|e| panic!("{e}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let node = node().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(node)
        .arg(root.join("scripts/build-contracts.mjs"))
        .arg("--check")
        .current_dir(root)
        .output()
        .expect("run node scripts/build-contracts.mjs --check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(
        out.status.success(),
        "artifacts/ differ from what contracts/ compiles to; run `node scripts/build-contracts.mjs` and commit:\n{text}"
    );
}

/// Every committed contract deploys on a chain with mainnet's limits: runtime code within
/// EIP-170 (24,576 bytes) and creation code within EIP-3860 (49,152). The kernels grow with
/// every speed-up and via-IR moves code between contracts that share libraries, so a contract
/// nobody edited can cross the limit; this names it and its size before anvil refuses it.
#[test]
fn every_contract_fits_mainnet_code_limits() {
    const MAX_INITCODE_BYTES: usize = 49_152;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let bytes = |field: &str| {
            let hex = json[field].as_str().unwrap_or("");
            hex.trim_start_matches("0x").len() / 2
        };
        let name = json["contractName"].as_str().unwrap().to_string();
        sizes.push((bytes("deployedBytecode"), bytes("bytecode"), name));
    }
    sizes.sort();
    assert!(
        sizes.len() > 30,
        "only {} artifacts in {}",
        sizes.len(),
        dir.display()
    );
    for (runtime, _, name) in sizes.iter().rev().take(5) {
        println!(
            "{name}: {runtime} bytes of runtime code, {} left",
            eternalize::chain::weights::MAX_RUNTIME_BYTES.saturating_sub(*runtime)
        );
    }
    let over: Vec<String> = sizes
        .iter()
        .filter(|(runtime, initcode, _)| {
            *runtime > eternalize::chain::weights::MAX_RUNTIME_BYTES
                || *initcode > MAX_INITCODE_BYTES
        })
        .map(|(runtime, initcode, name)| format!("{name} ({runtime} runtime, {initcode} creation)"))
        .collect();
    assert!(
        over.is_empty(),
        "over EIP-170/EIP-3860: {}",
        over.join(", ")
    );
}

/// The unrolled MaxPooling2D + tanh loops in contracts/layers/Pooling2DBase.sol are what
/// scripts/gen-pool-tanh.py writes between its markers: an edit by hand, or to the generator
/// without rewriting, would compile and pass every shape the tests happen to use.
#[test]
fn generated_pooling_loops_match_their_generator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(root.join("scripts/gen-pool-tanh.py"))
        .arg("--check")
        .current_dir(root)
        .output()
        .expect("run python3 scripts/gen-pool-tanh.py --check");
    assert!(
        out.status.success(),
        "contracts/layers/Pooling2DBase.sol's POOL_TANH section differs from what scripts/gen-pool-tanh.py writes; run it and rebuild the artifacts:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
