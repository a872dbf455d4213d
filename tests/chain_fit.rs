//! What the chain can do and which chain it is, checked before anything is sent (issue #12):
//! chains without the opcodes our contracts use are refused with the deployer's nonce still 0;
//! small blocks get smaller chunks and the deployment finishes on its own; `resume` refuses a
//! model file replaced since the journal was written; `--chain-id` pins the chain; a model
//! already on chain keeps its chunk layout when deployed again with another chunk size.
//! All against real anvil processes.

use crate::deploy_support::*;
use alloy::primitives::Address;
use eternalize::chain::{Chain, WeightFormat, signer_from_hex};
use eternalize::engine::Rpc;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

const MLP: &str = "keras3_4/mlp_basic.keras";
const LENET: &str = "keras3_4/lenet_cnn.keras";
const FASHION: &str = "eai_example/fashion_mnist.keras";

fn deployer() -> Address {
    signer_from_hex(KEY0).unwrap().address()
}

fn nonce(url: &str, who: Address) -> u64 {
    let rpc = Rpc::connect(url).unwrap();
    runtime().block_on(rpc.nonce(who, "latest")).unwrap()
}

/// The gas limit of every transaction `from` sent.
fn gas_limits_from(url: &str, from: Address) -> Vec<u64> {
    sent_by(url, &from.to_string())
        .iter()
        .map(|tx| {
            let gas = tx["gas"].as_str().unwrap().trim_start_matches("0x");
            u64::from_str_radix(gas, 16).unwrap()
        })
        .collect()
}

/// The chunk size the model at `model` was constructed with.
fn chain_chunk_bytes(url: &str, model: Address) -> usize {
    let chain = Chain::connect(url, signer_from_hex(KEY0).unwrap()).unwrap();
    runtime()
        .block_on(chain.model_state(model))
        .unwrap()
        .layout
        .chunkBytes as usize
}

fn model_address_of(o: &std::process::Output) -> Address {
    done_line(o)["model_address"]
        .as_str()
        .unwrap_or_else(|| panic!("no model address:\n{}", text(o)))
        .parse()
        .unwrap()
}

fn env0() -> [(&'static str, &'static str); 1] {
    [("ETERNALIZE_PRIVATE_KEY", KEY0)]
}

fn run(data: &Path, args: &[&str]) -> std::process::Output {
    eternalize(data, args, &env0())
}

// ---- D: what the chain can do ----

#[test]
fn chains_before_cancun_are_refused_before_any_transaction() {
    for (fork, missing) in [
        ("shanghai", vec!["MCOPY (Cancun)"]),
        ("paris", vec!["PUSH0 (Shanghai)", "MCOPY (Cancun)"]),
    ] {
        let node = anvil(&["--hardfork", fork]);
        let url = node.url();
        let data = tempfile::tempdir().unwrap();
        let model = fixture_str(MLP);
        for command in ["plan", "deploy"] {
            let mut args = vec![command, model.as_str(), "--rpc-url", &url];
            if command == "deploy" {
                args.push("--yes");
            }
            let o = run(data.path(), &args);
            let out = text(&o);
            assert_eq!(o.status.code(), Some(1), "{fork} {command}:\n{out}");
            for m in &missing {
                assert!(
                    out.contains(&format!("this chain has no {m}"))
                        || out.contains(&format!("no {m}")),
                    "{fork} {command} does not name {m}:\n{out}"
                );
            }
            assert!(out.contains("nothing was sent"), "{fork} {command}:\n{out}");
            assert!(!out.contains("{ "), "debug notation in:\n{out}");
        }
        assert_eq!(nonce(&url, deployer()), 0, "{fork}: a transaction was sent");
    }
}

#[test]
fn small_blocks_get_smaller_chunks_and_the_deployment_finishes() {
    // Blocks too small for a full chunk (≈5.4M gas) but large enough for the biggest
    // implementation fashion_mnist needs (Conv2D, ≈4.9M: 22.3 KB of code at 200 gas a byte).
    let limit: u64 = 5_600_000;
    let node = anvil(&["--gas-limit", "5600000"]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let model = fixture_str(FASHION);
    let o = run(
        data.path(),
        &["deploy", &model, "--rpc-url", &url, "--yes", "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let gas = gas_limits_from(&url, deployer());
    assert!(!gas.is_empty());
    let most = gas.iter().max().copied().unwrap_or(0);
    assert!(
        most <= limit,
        "a transaction asked for {most} gas, above the block's {limit}"
    );
    let model_at = model_address_of(&o);
    let chunk = chain_chunk_bytes(&url, model_at);
    eprintln!(
        "5.6M-gas blocks: {} transactions, largest gas limit {most}, chunks of {chunk} bytes",
        gas.len()
    );
    assert!(chunk < eternalize::chain::MAX_CHUNK_BYTES, "chunk {chunk}");
    assert_deployed(&url, &fixture(FASHION), KEY0, WeightFormat::Compact, chunk);
}

#[test]
fn every_transaction_stays_under_the_eip_7825_cap() {
    // Blocks far above the cap: only EIP-7825 bounds a transaction (anvil enforces it here).
    let node = anvil(&["--gas-limit", "60000000"]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let o = run(
        data.path(),
        &[
            "deploy",
            &fixture_str(LENET),
            "--rpc-url",
            &url,
            "--yes",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let gas = gas_limits_from(&url, deployer());
    assert!(gas.iter().all(|g| *g <= 16_777_216), "{gas:?}");
}

// ---- A: resume re-hashes the file ----

#[test]
fn resume_refuses_a_model_file_replaced_since_the_journal() {
    let node = anvil(&[]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("model.keras");
    std::fs::copy(fixture(MLP), &path).unwrap();
    let o = eternalize(
        data.path(),
        &[
            "deploy",
            &path.display().to_string(),
            "--rpc-url",
            &url,
            "--yes",
            "--json",
            "--chunk-bytes",
            "512",
        ],
        &[
            ("ETERNALIZE_PRIVATE_KEY", KEY0),
            ("ETERNALIZE_TEST_CRASH_AFTER", "6"),
        ],
    );
    assert_eq!(o.status.signal(), Some(9), "{}", text(&o));
    let before = nonce(&url, deployer());
    std::fs::copy(fixture(LENET), &path).unwrap();
    let r = run(
        data.path(),
        &["resume", "--rpc-url", &url, "--yes", "--json"],
    );
    let out = text(&r);
    assert_eq!(r.status.code(), Some(1), "{out}");
    let old = eternalize::engine::Source::load(&fixture(MLP))
        .unwrap()
        .hashed_model;
    let new = eternalize::engine::Source::load(&fixture(LENET))
        .unwrap()
        .hashed_model;
    assert!(
        out.contains(&old[..16]),
        "the journal's hash is not named:\n{out}"
    );
    assert!(
        out.contains(&new[..16]),
        "the file's hash is not named:\n{out}"
    );
    assert!(out.contains("model.keras"), "the file is not named:\n{out}");
    assert!(out.contains("nothing was sent"), "{out}");
    assert_eq!(nonce(&url, deployer()), before, "resume sent a transaction");
    // The original file back: resume finishes.
    std::fs::copy(fixture(MLP), &path).unwrap();
    let r = run(
        data.path(),
        &["resume", "--rpc-url", &url, "--yes", "--json"],
    );
    assert!(r.status.success(), "{}", text(&r));
}

// ---- C: --chain-id ----

#[test]
fn chain_id_pins_the_chain_before_signing() {
    let node = anvil(&["--chain-id", "1337"]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let model = fixture_str(MLP);
    for command in ["plan", "deploy"] {
        let mut args = vec![
            command,
            model.as_str(),
            "--rpc-url",
            &url,
            "--chain-id",
            "1",
        ];
        if command == "deploy" {
            args.push("--yes");
        }
        let o = run(data.path(), &args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{command}:\n{out}");
        assert!(
            out.contains("is chain 1337, --chain-id says 1; nothing was sent"),
            "{command}:\n{out}"
        );
    }
    assert_eq!(nonce(&url, deployer()), 0);
    // The right pin deploys; no pin under --yes on a non-local URL warns with the chain id.
    let o = run(
        data.path(),
        &[
            "deploy",
            &model,
            "--rpc-url",
            &url,
            "--yes",
            "--json",
            "--chain-id",
            "1337",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("no --chain-id"));
    let o = run(
        data.path(),
        &["deploy", &model, "--rpc-url", &url, "--yes", "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("chain 1337") && err.contains("no --chain-id"),
        "no warning:\n{err}"
    );
}

#[test]
fn resume_honours_chain_id() {
    let node = anvil(&["--chain-id", "1337"]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let o = eternalize(
        data.path(),
        &[
            "deploy",
            &fixture_str(MLP),
            "--rpc-url",
            &url,
            "--yes",
            "--json",
            "--chunk-bytes",
            "512",
        ],
        &[
            ("ETERNALIZE_PRIVATE_KEY", KEY0),
            ("ETERNALIZE_TEST_CRASH_AFTER", "4"),
        ],
    );
    assert_eq!(o.status.signal(), Some(9), "{}", text(&o));
    let before = nonce(&url, deployer());
    let r = run(
        data.path(),
        &["resume", "--rpc-url", &url, "--yes", "--chain-id", "5"],
    );
    let out = text(&r);
    assert_eq!(r.status.code(), Some(1), "{out}");
    assert!(out.contains("--chain-id says 5; nothing was sent"), "{out}");
    assert_eq!(nonce(&url, deployer()), before);
}

// ---- B: a model on chain keeps its layout ----

#[test]
fn deploying_again_with_another_chunk_size_reuses_the_chains_layout() {
    let node = anvil(&[]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let model = fixture_str(FASHION);
    // Stop after some chunks so the second run has chunks left to send.
    let o = eternalize(
        data.path(),
        &[
            "deploy",
            &model,
            "--rpc-url",
            &url,
            "--yes",
            "--json",
            "--chunk-bytes",
            "4096",
        ],
        &[
            ("ETERNALIZE_PRIVATE_KEY", KEY0),
            ("ETERNALIZE_TEST_CRASH_AFTER", "40"),
        ],
    );
    assert_eq!(o.status.signal(), Some(9), "{}", text(&o));
    let o = run(
        data.path(),
        &["deploy", &model, "--rpc-url", &url, "--yes", "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let at = model_address_of(&o);
    assert_eq!(chain_chunk_bytes(&url, at), 4096);
    assert_deployed(&url, &fixture(FASHION), KEY0, WeightFormat::Compact, 4096);
    let v = run(
        data.path(),
        &[
            "verify",
            &at.to_string(),
            &model,
            "--rpc-url",
            &url,
            "--json",
        ],
    );
    assert!(v.status.success(), "{}", text(&v));
    // Nothing failed on chain: no chunk was sent in the wrong layout.
    let txs = transactions_from(&url, &deployer().to_string());
    assert!(txs.iter().all(|t| t.2), "a transaction reverted");
}

/// The largest implementation `model` needs, by creation code (what the deployment checks
/// against the chain's limit), and its contract's name: which one it is moves with the kernels.
fn largest_implementation(model: &str) -> (usize, String) {
    crate::chain_support::spec(model)
        .implementations()
        .into_iter()
        .map(|i| (i.bytecode().unwrap().len(), i.contract_name().to_string()))
        .max()
        .unwrap()
}

#[test]
fn a_smaller_contract_size_limit_gets_smaller_chunks() {
    // Below 24,576 but above the largest implementation fashion_mnist needs: only the chunks
    // have to shrink.
    let (largest, name) = largest_implementation(FASHION);
    let limit = largest + 300;
    assert!(
        limit < 24_576,
        "{name} ({largest} bytes) leaves no room below 24,576"
    );
    let node = anvil(&["--code-size-limit", &limit.to_string()]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let model = fixture_str(FASHION);
    let o = run(
        data.path(),
        &["deploy", &model, "--rpc-url", &url, "--yes", "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let chunk = chain_chunk_bytes(&url, model_address_of(&o));
    // A chunk is a data contract of one byte more, cut in whole words.
    assert_eq!(chunk, (limit - 1) / 32 * 32);
    assert_deployed(&url, &fixture(FASHION), KEY0, WeightFormat::Compact, chunk);
}

#[test]
fn a_chain_too_small_for_an_implementation_is_refused_before_any_transaction() {
    let node = anvil(&["--code-size-limit", "4096"]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let o = run(
        data.path(),
        &["deploy", &fixture_str(LENET), "--rpc-url", &url, "--yes"],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let (_, name) = largest_implementation(LENET);
    assert!(
        out.contains(&format!(
            "this chain accepts contracts of at most 4,096 bytes; eternalize's {name} is"
        )),
        "{out}"
    );
    assert!(out.contains("nothing was sent"), "{out}");
    assert_eq!(nonce(&url, deployer()), 0);
}
