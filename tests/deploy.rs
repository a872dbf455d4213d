//! The deployment engine against real anvil processes: end-to-end deploys read back weight by
//! weight, kill -9 at many points then resume, a flaky JSON-RPC proxy, a dropped transaction, a
//! balance that runs out mid-upload, refusals before anything is sent, the local chain — and no
//! private key or password in any output or file of these runs.

use crate::deploy_support::*;
use alloy::primitives::U256;
use eternalize::chain::{MAX_CHUNK_BYTES, WeightFormat, signer_from_hex};
use eternalize::engine::{
    self, Command, DeployEvent, End, Failure, Options, PlanOptions, Rpc, Source, Step, StepState,
};
use serde_json::{Value, json};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

const MLP: &str = "keras3_4/mlp_basic.keras";
const FASHION: &str = "eai_example/fashion_mnist.keras";

fn address_of(key: &str) -> String {
    signer_from_hex(key).unwrap().address().to_checksum(None)
}

fn planned_steps(o: &std::process::Output) -> usize {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "planned")
        .and_then(|v| v["steps"].as_array().map(Vec::len))
        .unwrap_or_else(|| panic!("no planned line:\n{}", text(o)))
}

#[test]
fn deploys_fixtures_on_automine_and_reads_every_weight_back() {
    let node = anvil(&[]);
    let data = tempfile::tempdir().unwrap();
    let url = node.url();
    let env = [("ETERNALIZE_PRIVATE_KEY", KEY0)];
    let mut outputs = String::new();
    let mut sent = 0;
    // mlp_basic in small chunks (many chunk transactions), both formats; fashion_mnist as is.
    for (name, format, chunk) in [
        (MLP, "compact", 512usize),
        (MLP, "exact", 1024),
        (FASHION, "compact", MAX_CHUNK_BYTES),
    ] {
        let chunk_arg = chunk.to_string();
        let o = eternalize(
            data.path(),
            &[
                "deploy",
                fixture_str(name).as_str(),
                "--rpc-url",
                &url,
                "--yes",
                "--json",
                "--format",
                format,
                "--chunk-bytes",
                &chunk_arg,
            ],
            &env,
        );
        assert!(o.status.success(), "{name}:\n{}", text(&o));
        let done = done_line(&o);
        assert_eq!(done["chain_id"], 31337);
        sent += done["transactions"].as_u64().unwrap() as usize;
        let wf = if format == "exact" {
            WeightFormat::Exact
        } else {
            WeightFormat::Compact
        };
        assert_deployed(&url, &fixture(name), KEY0, wf, chunk);
        outputs.push_str(&text(&o));
    }
    assert_no_duplicates(&url, &address_of(KEY0), sent);
    // Deploying again finds everything on chain and sends nothing.
    let o = deploy_json(data.path(), MLP, &url, 512, &env);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(done_line(&o)["transactions"], 0);
    outputs.push_str(&text(&o));
    let list = eternalize(data.path(), &["deployments", "--json"], &[]);
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|d| d["finished"] == true)
    );
    assert_no_secret(&outputs, &[KEY0]);
    assert_no_secret(&all_files(data.path()), &[KEY0]);
}

#[test]
fn deploys_on_interval_mining_in_few_blocks() {
    let node = anvil(&["--block-time", "1"]);
    let data = tempfile::tempdir().unwrap();
    let url = node.url();
    let o = deploy_json(
        data.path(),
        MLP,
        &url,
        1024,
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    );
    assert!(o.status.success(), "{}", text(&o));
    let done = done_line(&o);
    let blocks = done["blocks"].as_array().unwrap();
    let span = blocks[1].as_u64().unwrap() - blocks[0].as_u64().unwrap() + 1;
    // Every transaction goes out at once; a block boundary may split them in two.
    assert!(span <= 2, "used {span} blocks: {done}");
    assert_deployed(&url, &fixture(MLP), KEY0, WeightFormat::Compact, 1024);
    assert_no_duplicates(&url, &address_of(KEY0), planned_steps(&o));
    assert_no_secret(&text(&o), &[KEY0]);
}

/// Kills the deploying process (SIGKILL, via the journal's test hook) right after its `n`-th
/// journal write, then resumes; the model must complete with every step sent exactly once.
fn crash_then_resume(n: u64, mining: &[&str]) {
    let node = anvil(mining);
    let data = tempfile::tempdir().unwrap();
    let url = node.url();
    let crash = n.to_string();
    let o = deploy_json(
        data.path(),
        MLP,
        &url,
        512,
        &[
            ("ETERNALIZE_PRIVATE_KEY", KEY0),
            ("ETERNALIZE_TEST_CRASH_AFTER", &crash),
        ],
    );
    assert_eq!(
        o.status.signal(),
        Some(9),
        "crash point {n} was not reached:\n{}",
        text(&o)
    );
    let (source, image) = image_of(&fixture(MLP), KEY0, WeightFormat::Compact, 512);
    let steps = eternalize::chain::calls::all_steps(&source.spec, &image).len();
    let r = eternalize(
        data.path(),
        &["resume", "--rpc-url", &url, "--yes", "--json"],
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    );
    assert!(r.status.success(), "resume after crash {n}:\n{}", text(&r));
    assert_no_duplicates(&url, &address_of(KEY0), steps);
    assert_deployed(&url, &fixture(MLP), KEY0, WeightFormat::Compact, 512);
    assert_no_secret(&format!("{}{}", text(&o), text(&r)), &[KEY0]);
    assert_no_secret(&all_files(data.path()), &[KEY0]);
}

#[test]
fn kill_9_at_many_points_then_resume_completes_without_duplicates() {
    // Journal writes: 1 start, then intent/outcome pairs. Odd n > 1 stop right after an
    // intent, before its broadcast; even n right after an outcome. On automine every
    // transaction is mined before the next is signed.
    for n in [1, 2, 3, 4, 5, 7, 8, 10, 11, 12, 13, 15, 16, 18, 19] {
        crash_then_resume(n, &[]);
    }
}

#[test]
fn kill_9_with_transactions_pending_then_resume_completes() {
    // With 1-second blocks several transactions are in the pool when the process dies.
    for n in [6, 11, 16] {
        crash_then_resume(n, &["--block-time", "1"]);
    }
}

#[test]
fn deploy_completes_through_a_flaky_rpc() {
    let node = anvil(&[]);
    let proxy = FlakyProxy::start(node.port(), 7);
    let data = tempfile::tempdir().unwrap();
    let o = deploy_json(
        data.path(),
        MLP,
        &proxy.url(),
        512,
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    );
    assert!(o.status.success(), "{}", text(&o));
    let faults = proxy.faults.load(std::sync::atomic::Ordering::Relaxed);
    assert!(faults >= 5, "only {faults} faults injected");
    assert_no_duplicates(&node.url(), &address_of(KEY0), planned_steps(&o));
    assert_deployed(&node.url(), &fixture(MLP), KEY0, WeightFormat::Compact, 512);
    assert_no_secret(&text(&o), &[KEY0]);
}

#[test]
fn a_dropped_chunk_transaction_is_detected_and_sent_again() {
    let node = anvil(&["--no-mining"]);
    let data = tempfile::tempdir().unwrap();
    let rpc = Rpc::connect(&node.url()).unwrap();
    let signer = signer_from_hex(KEY0).unwrap();
    let source = Source::load(&fixture(MLP)).unwrap();
    let (dropped, resent_note, failed_dropped, end) = runtime().block_on(async {
        let opts = PlanOptions {
            chunk_bytes: 512,
            ..PlanOptions::default()
        };
        let plan = engine::plan(&rpc, source, signer.address(), "test".into(), &opts)
            .await
            .unwrap();
        let mut running = engine::spawn(
            plan,
            rpc.clone(),
            signer,
            data.path().to_path_buf(),
            Options {
                pending_check: Duration::from_millis(300),
                ..Options::default()
            },
        );
        let (mut dropped, mut note, mut failed) = (None, false, false);
        while let Some(e) = running.events.recv().await {
            match &e {
                DeployEvent::Step {
                    step: Step::Chunk { index: 1 },
                    state: StepState::Pending { tx_hash, .. },
                } if dropped.is_none() => {
                    let r: Value = rpc
                        .request("anvil_dropTransaction", json!([tx_hash]))
                        .await
                        .unwrap();
                    assert!(!r.is_null(), "anvil did not have {tx_hash}");
                    dropped = Some(tx_hash.clone());
                }
                DeployEvent::Step {
                    step: Step::Chunk { index: 1 },
                    state:
                        StepState::Failed {
                            failure: Failure::Dropped,
                            ..
                        },
                } => failed = true,
                DeployEvent::Note { message } if message.contains("left the node's pool") => {
                    note = true;
                    let _: Value = rpc
                        .request("evm_setIntervalMining", json!([1]))
                        .await
                        .unwrap();
                }
                _ => {}
            }
        }
        let end = running.done.await.unwrap().unwrap();
        (dropped, note, failed, end)
    });
    assert!(dropped.is_some());
    assert!(resent_note && failed_dropped);
    assert!(matches!(end, End::Finished(_)), "{end:?}");
    assert_deployed(&node.url(), &fixture(MLP), KEY0, WeightFormat::Compact, 512);
}

#[test]
fn balance_running_out_mid_upload_is_reported_with_numbers_and_retried_after_top_up() {
    let node = anvil(&[]);
    let data = tempfile::tempdir().unwrap();
    let rpc = Rpc::connect(&node.url()).unwrap();
    let signer = signer_from_hex(KEY1).unwrap();
    let who = signer.address();
    let source = Source::load(&fixture(MLP)).unwrap();
    let (failures, end) = runtime().block_on(async {
        let opts = PlanOptions {
            chunk_bytes: 256,
            ..PlanOptions::default()
        };
        let plan = engine::plan(&rpc, source, who, "test".into(), &opts)
            .await
            .unwrap();
        assert!(plan.image.chunks.count() >= 6);
        let mut running = engine::spawn(
            plan,
            rpc.clone(),
            signer,
            data.path().to_path_buf(),
            Options {
                window: 1,
                interactive: true,
                ..Options::default()
            },
        );
        let mut drained = false;
        let mut failures = Vec::new();
        while let Some(e) = running.events.recv().await {
            match &e {
                DeployEvent::Step {
                    step: Step::Chunk { .. },
                    state: StepState::Mined { .. },
                } if !drained => {
                    drained = true;
                    let _: Value = rpc
                        .request("anvil_setBalance", json!([who, "0x9184e72a000"]))
                        .await
                        .unwrap();
                }
                DeployEvent::Step {
                    step,
                    state:
                        StepState::Failed {
                            failure: Failure::InsufficientFunds { balance, need },
                            ..
                        },
                } => failures.push((step.clone(), balance.clone(), need.clone())),
                DeployEvent::Paused { reason } if !failures.is_empty() => {
                    assert!(reason.contains("wei"), "{reason}");
                    let _: Value = rpc
                        .request("anvil_setBalance", json!([who, "0x21e19e0c9bab2400000"]))
                        .await
                        .unwrap();
                    running.commands.send(Command::RetryAllFailed).unwrap();
                }
                _ => {}
            }
        }
        (failures, running.done.await.unwrap().unwrap())
    });
    assert!(!failures.is_empty(), "no chunk failed for lack of funds");
    for (step, balance, need) in &failures {
        assert!(matches!(step, Step::Chunk { .. }));
        let (b, n): (U256, U256) = (balance.parse().unwrap(), need.parse().unwrap());
        assert_eq!(b, U256::from(10_000_000_000_000u64));
        assert!(n > b, "need {n} ≤ balance {b}");
    }
    assert!(matches!(end, End::Finished(_)), "{end:?}");
    assert_deployed(&node.url(), &fixture(MLP), KEY1, WeightFormat::Compact, 256);
}

#[test]
fn refusals_before_anything_is_sent_say_one_clear_thing() {
    let node = anvil(&[]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let mlp = fixture_str(MLP);
    let mut outputs = String::new();
    let poor = "0x1111111111111111111111111111111111111111111111111111111111111111";
    let nonce = |who: &str| {
        runtime().block_on(async {
            Rpc::connect(&url)
                .unwrap()
                .nonce(who.parse().unwrap(), "latest")
                .await
                .unwrap()
        })
    };
    let check = |o: &std::process::Output, code: i32, wants: &[&str]| {
        let t = text(o);
        assert_eq!(o.status.code(), Some(code), "{t}");
        for w in wants {
            assert!(t.contains(w), "missing `{w}` in:\n{t}");
        }
        assert_eq!(
            t.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{t}"
        );
        t
    };
    // Insufficient funds before start: the numbers and what to do.
    let o = eternalize(
        data.path(),
        &["deploy", &mlp, "--rpc-url", &url, "--yes"],
        &[("ETERNALIZE_PRIVATE_KEY", poor)],
    );
    outputs += &check(&o, 1, &["holds 0 wei", "can cost up to", "top up at least"]);
    assert_eq!(nonce(&address_of(poor)), 0);
    // Wrong chain id.
    let config = data.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[networks.elsewhere]\nrpc_url = \"{url}\"\nchain_id = 1\n"),
    )
    .unwrap();
    let cfg = config.display().to_string();
    let o = eternalize(
        data.path(),
        &[
            "--config",
            &cfg,
            "deploy",
            &mlp,
            "--network",
            "elsewhere",
            "--yes",
        ],
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    );
    outputs += &check(&o, 1, &["is chain 31337", "configured as chain 1"]);
    // Unreachable RPC.
    let o = eternalize(
        data.path(),
        &["deploy", &mlp, "--rpc-url", "http://127.0.0.1:9", "--yes"],
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    );
    outputs += &check(
        &o,
        1,
        &["could not read the chain id at http://127.0.0.1:9"],
    );
    // A hash that does not match.
    let o = eternalize(
        data.path(),
        &[
            "deploy",
            &mlp,
            "--rpc-url",
            &url,
            "--yes",
            "--confirm-hash",
            "ffff",
        ],
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    );
    outputs += &check(&o, 1, &["--confirm-hash ffff does not match"]);
    // Non-local without --yes and without a terminal: a usage error.
    let o = eternalize(
        data.path(),
        &["deploy", &mlp, "--rpc-url", &url],
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    );
    outputs += &check(&o, 2, &["pass --yes"]);
    // A keystore with the wrong password, then the right one.
    let keys = tempfile::tempdir().unwrap();
    let password = "correct horse battery staple";
    let secret = signer_from_hex(KEY0).unwrap().to_bytes();
    alloy::signers::local::PrivateKeySigner::encrypt_keystore(
        keys.path(),
        &mut rand::thread_rng(),
        secret,
        password,
        Some("deployer"),
    )
    .unwrap();
    let keystore = keys.path().join("deployer").display().to_string();
    let wrong = keys.path().join("wrong.txt");
    std::fs::write(&wrong, "not the password\n").unwrap();
    let right = keys.path().join("right.txt");
    std::fs::write(&right, format!("{password}\n")).unwrap();
    let o = eternalize(
        data.path(),
        &[
            "deploy",
            &mlp,
            "--rpc-url",
            &url,
            "--yes",
            "--keystore",
            &keystore,
            "--password-file",
            &wrong.display().to_string(),
        ],
        &[],
    );
    outputs += &check(&o, 1, &["cannot decrypt it", "wrong password"]);
    assert_eq!(nonce(&address_of(KEY0)), 0, "a refusal sent a transaction");
    let o = eternalize(
        data.path(),
        &[
            "deploy",
            &mlp,
            "--rpc-url",
            &url,
            "--yes",
            "--keystore",
            &keystore,
            "--password-file",
            &right.display().to_string(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    outputs += &text(&o);
    // A key on the command line works, with a warning.
    let o = eternalize(
        data.path(),
        &["plan", &mlp, "--rpc-url", &url, "--private-key", KEY0],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("warning: a private key on the command line"));
    outputs += &text(&o);
    assert_no_secret(&outputs, &[KEY0, poor, password]);
    assert_no_secret(&all_files(data.path()), &[KEY0, poor, password]);
}

#[test]
fn the_local_chain_starts_by_itself_and_keeps_its_state() {
    let data = tempfile::tempdir().unwrap();
    let mlp = fixture_str(MLP);
    let o = eternalize(data.path(), &["deploy", &mlp, "--json"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(done_line(&o)["transactions"].as_u64().unwrap() > 0);
    assert!(data.path().join("local-chain/anvil-state.json").is_file());
    // A new anvil, loaded from the state the first one wrote: nothing left to send.
    let o = eternalize(data.path(), &["deploy", &mlp, "--json"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(done_line(&o)["transactions"], 0);
    let plan = eternalize(data.path(), &["plan", &mlp, "--json"], &[]);
    assert!(plan.status.success(), "{}", text(&plan));
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["transactions"], 0);
}
