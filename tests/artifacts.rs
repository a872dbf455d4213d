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
