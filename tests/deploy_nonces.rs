//! The engine and its account's fees and nonces against real anvil processes: a transaction
//! stuck below the base fee gets its fee raised (and never above the configured cap), and a
//! resume stops with an explanation — sending nothing — when another sender's transactions
//! hold the account's nonces, then finishes once they are mined.

use crate::deploy_support::*;
use eternalize::chain::{WeightFormat, signer_from_hex};
use eternalize::engine::{
    self, Command, DeployEvent, End, Options, PlanOptions, Rpc, Source, Step, StepState,
};
use serde_json::{Value, json};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

const MLP: &str = "keras3_4/mlp_basic.keras";

fn hex_u128(v: &Value) -> u128 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("not a hex quantity: {v}"));
    u128::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// "… raising the fee from X to Y wei per gas …" → (X, Y).
fn bump_numbers(note: &str) -> Option<(u128, u128)> {
    let rest = note.split("raising the fee from ").nth(1)?;
    let mut words = rest.split_whitespace();
    let from = words.next()?.parse().ok()?;
    words.next().filter(|w| *w == "to")?;
    let to = words.next()?.parse().ok()?;
    Some((from, to))
}

/// The engine's view of one run on a node without automatic mining: every event, and how it
/// ended. `on_event` may act on the chain (it gets the RPC client) and returns a command for
/// the engine.
fn run_engine(
    node_url: &str,
    data: &std::path::Path,
    plan_opts: PlanOptions,
    opts: Options,
    mut on_event: impl AsyncFnMut(&Rpc, &DeployEvent) -> Option<Command>,
) -> (Vec<DeployEvent>, End) {
    let rpc = Rpc::connect(node_url).unwrap();
    let signer = signer_from_hex(KEY0).unwrap();
    let source = Source::load(&fixture(MLP)).unwrap();
    runtime().block_on(async {
        let plan = engine::plan(&rpc, source, signer.address(), "test".into(), &plan_opts)
            .await
            .unwrap();
        let mut running = engine::spawn(plan, rpc.clone(), signer, data.to_path_buf(), opts);
        let mut events = Vec::new();
        while let Some(e) = running.events.recv().await {
            if std::env::var("DEBUG_EVENTS").is_ok() {
                eprintln!("{e:?}");
            }
            if let Some(c) = on_event(&rpc, &e).await {
                running.commands.send(c).unwrap();
            }
            events.push(e);
        }
        (events, running.done.await.unwrap().unwrap())
    })
}

async fn call(rpc: &Rpc, method: &'static str, params: Value) -> Value {
    rpc.request(method, params).await.unwrap()
}

/// The base fee every later block starts from after `set_base_fee`: far above what the plan
/// offers (anvil starts at 1 gwei; plans offer twice the base fee plus the tip).
const HIGH_BASE: u128 = 1_000_000_000_000;

/// Mines one block with base fee `wei`: transactions offering less stay out of it.
async fn set_base_fee(rpc: &Rpc, wei: u128) {
    call(
        rpc,
        "anvil_setNextBlockBaseFeePerGas",
        json!([format!("{wei:#x}")]),
    )
    .await;
    call(rpc, "evm_mine", json!([])).await;
}

/// The engine as the fee tests run it: it looks at what it sent often and soon calls it stuck.
fn impatient(window: usize, interactive: bool) -> Options {
    Options {
        window,
        interactive,
        pending_check: Duration::from_millis(200),
        stuck_after: Duration::from_millis(500),
        ..Options::default()
    }
}

fn notes(events: &[DeployEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            DeployEvent::Note { message } => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_transaction_stuck_below_the_base_fee_is_re_signed_with_a_higher_fee_and_mined() {
    let node = anvil(&["--no-mining"]);
    let data = tempfile::tempdir().unwrap();
    let url = node.url();
    let plan_opts = PlanOptions {
        chunk_bytes: 512,
        ..PlanOptions::default()
    };
    let opts = impatient(4, false);
    let mut raised = false;
    let mut mining = false;
    let (events, end) = run_engine(&url, data.path(), plan_opts, opts, async |rpc, e| {
        match e {
            // The factory's transaction waits in the pool with the others; the next block's
            // base fee jumps far above what they offer, so the block mined leaves them out.
            DeployEvent::Step {
                step: Step::Factory,
                state: StepState::Pending { .. },
            } if !raised => {
                raised = true;
                set_base_fee(rpc, HIGH_BASE).await;
                let block = call(rpc, "eth_getBlockByNumber", json!(["latest", false])).await;
                assert_eq!(block["transactions"].as_array().map(Vec::len), Some(0));
            }
            // Blocks again once a fee has been raised above that base fee.
            DeployEvent::Note { message }
                if !mining && bump_numbers(message).is_some_and(|(_, to)| to >= HIGH_BASE) =>
            {
                mining = true;
                call(rpc, "evm_setIntervalMining", json!([1])).await;
            }
            _ => {}
        }
        None
    });
    assert!(
        matches!(end, End::Finished(_)),
        "{end:?}\n{:#?}",
        notes(&events)
    );
    assert!(
        mining,
        "no fee raised above the base fee: {:#?}",
        notes(&events)
    );
    for (from, to) in notes(&events).iter().filter_map(|n| bump_numbers(n)) {
        // Replacements need at least 10 % more.
        assert!(to * 10 >= from * 11, "bumped {from} → {to}");
    }
    // The factory's first transaction was stuck; what was mined for it is a re-signed one
    // offering at least the base fee that stuck it.
    let hashes = |want: fn(&StepState) -> Option<&String>| -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                DeployEvent::Step {
                    step: Step::Factory,
                    state,
                } => want(state).cloned(),
                _ => None,
            })
            .collect()
    };
    let first = hashes(|s| match s {
        StepState::Pending { tx_hash, .. } => Some(tx_hash),
        _ => None,
    })[0]
        .clone();
    let mined = hashes(|s| match s {
        StepState::Mined { tx_hash, .. } => Some(tx_hash),
        _ => None,
    });
    assert_eq!(mined.len(), 1);
    assert_ne!(first, mined[0], "the stuck transaction itself was mined");
    let rpc = Rpc::connect(&url).unwrap();
    let tx = runtime().block_on(call(&rpc, "eth_getTransactionByHash", json!([mined[0]])));
    assert!(hex_u128(&tx["maxFeePerGas"]) >= HIGH_BASE, "{tx}");
    assert_eq!(tx["nonce"], "0x0");
    let from = signer_from_hex(KEY0).unwrap().address().to_checksum(None);
    let txs = transactions_from(&url, &from);
    let (source, image) = image_of(&fixture(MLP), KEY0, WeightFormat::Compact, 512);
    let steps = eternalize::chain::calls::all_steps(&source.spec, &image).len();
    assert_eq!(txs.len(), steps, "a step was sent twice or not at all");
    assert_no_duplicates(&url, &from, steps);
    assert_deployed(&url, &fixture(MLP), KEY0, WeightFormat::Compact, 512);
}

#[test]
fn fee_bumps_stop_at_the_configured_cap_and_the_deployment_waits_for_lower_fees() {
    let node = anvil(&["--no-mining"]);
    let data = tempfile::tempdir().unwrap();
    let url = node.url();
    // Anvil starts at a 1 gwei base fee; plans offer twice the base fee plus the tip. A cap of
    // 4 gwei leaves room for one bump, far below the 1000 gwei base fee set below.
    let cap: u128 = 4_000_000_000;
    let plan_opts = PlanOptions {
        chunk_bytes: 512,
        max_fee_cap: Some(cap),
        ..PlanOptions::default()
    };
    // With an operator, a step the node refuses at the cap waits for a retry; a transaction
    // stuck in the pool at the cap waits for the base fee to fall.
    let opts = impatient(1, true);
    let mut raised = false;
    let mut lowered = false;
    let (events, end) = run_engine(&url, data.path(), plan_opts, opts, async |rpc, e| {
        match e {
            DeployEvent::Step {
                step: Step::Factory,
                state: StepState::Pending { .. },
            } if !raised => {
                raised = true;
                set_base_fee(rpc, HIGH_BASE).await;
            }
            // Once the cap is reached fees fall again.
            DeployEvent::Note { message } if message.contains("cannot raise") && !lowered => {
                lowered = true;
                set_base_fee(rpc, 1_000_000_000).await;
                call(rpc, "evm_setAutomine", json!([true])).await;
            }
            DeployEvent::Paused { reason } if lowered => {
                assert!(reason.contains("fee cap is reached"), "{reason}");
                return Some(Command::RetryAllFailed);
            }
            _ => {}
        }
        None
    });
    assert!(
        matches!(end, End::Finished(_)),
        "{end:?}\n{:#?}",
        notes(&events)
    );
    assert!(lowered, "the cap was never reached: {:#?}", notes(&events));
    let capped: Vec<&str> = notes(&events)
        .into_iter()
        .filter(|n| n.contains("cannot raise"))
        .collect();
    assert!(
        capped[0].contains(&format!("cap of {cap} wei per gas")),
        "{capped:?}"
    );
    for (_, to) in notes(&events).iter().filter_map(|n| bump_numbers(n)) {
        assert!(to <= cap, "bumped to {to} above the cap {cap}");
    }
    // No transaction of the deployer ever offered more than the cap.
    let from = signer_from_hex(KEY0).unwrap().address().to_checksum(None);
    let rpc = Rpc::connect(&url).unwrap();
    let head = runtime().block_on(rpc.block_number()).unwrap();
    runtime().block_on(async {
        for b in 0..=head {
            let block = call(
                &rpc,
                "eth_getBlockByNumber",
                json!([format!("0x{b:x}"), true]),
            )
            .await;
            for tx in block["transactions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                assert!(hex_u128(&tx["maxFeePerGas"]) <= cap, "{tx}");
            }
        }
    });
    let (source, image) = image_of(&fixture(MLP), KEY0, WeightFormat::Compact, 512);
    let steps = eternalize::chain::calls::all_steps(&source.spec, &image).len();
    assert_no_duplicates(&url, &from, steps);
    assert_deployed(&url, &fixture(MLP), KEY0, WeightFormat::Compact, 512);
}

/// `eternalize deploy` of the MLP on `url` with 512-byte chunks, killed (SIGKILL, by the
/// journal's test hook) right after its `n`-th journal write. On a node that does not mine,
/// the writes are the start and one intent per transaction, each written before its
/// broadcast: after `n` writes, intents 1..n-1 exist and 1..n-2 reached the node.
fn deploy_killed_after(data: &std::path::Path, url: &str, n: u64) -> String {
    let o = deploy_json(
        data,
        MLP,
        url,
        512,
        &[
            ("ETERNALIZE_PRIVATE_KEY", KEY0),
            ("ETERNALIZE_TEST_CRASH_AFTER", &n.to_string()),
        ],
    );
    assert_eq!(o.status.signal(), Some(9), "not killed:\n{}", text(&o));
    text(&o)
}

fn resume(data: &std::path::Path, url: &str) -> std::process::Output {
    eternalize(
        data,
        &["resume", "--rpc-url", url, "--yes"],
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    )
}

/// A plain transfer from the deployer's account sent by "someone else" (anvil signs for its
/// dev accounts); returns its nonce.
fn foreign_transfer(url: &str) -> u64 {
    let rpc = Rpc::connect(url).unwrap();
    let from = signer_from_hex(KEY0).unwrap().address();
    runtime().block_on(async {
        let hash = call(
            &rpc,
            "eth_sendTransaction",
            json!([{"from": from, "to": "0x000000000000000000000000000000000000dEaD", "value": "0x1"}]),
        )
        .await;
        let tx = call(&rpc, "eth_getTransactionByHash", json!([hash])).await;
        hex_u128(&tx["nonce"]) as u64
    })
}

/// (pending nonce, transactions in the pool).
fn pool(url: &str) -> (u64, usize) {
    let rpc = Rpc::connect(url).unwrap();
    let from = signer_from_hex(KEY0).unwrap().address();
    runtime().block_on(async {
        let pending = rpc.nonce(from, "pending").await.unwrap();
        let content = call(&rpc, "txpool_content", json!([])).await;
        let count = ["pending", "queued"]
            .iter()
            .filter_map(|k| content[*k].as_object())
            .flat_map(|by_sender| by_sender.values())
            .filter_map(Value::as_object)
            .map(|by_nonce| by_nonce.len())
            .sum();
        (pending, count)
    })
}

fn mine_everything(url: &str) {
    let rpc = Rpc::connect(url).unwrap();
    runtime().block_on(async {
        call(&rpc, "evm_mine", json!([])).await;
        call(&rpc, "evm_setAutomine", json!([true])).await;
    });
}

/// The deployer's contract creations and calls (the foreign transfers have no input) sent
/// exactly once each, none failed, and the model complete.
fn assert_finished_once(url: &str, foreign: usize) {
    let from = signer_from_hex(KEY0).unwrap().address().to_checksum(None);
    let txs = transactions_from(url, &from);
    let transfers = txs.iter().filter(|t| t.1 == "0x").count();
    assert_eq!(transfers, foreign, "foreign transfers mined");
    let (source, image) = image_of(&fixture(MLP), KEY0, WeightFormat::Compact, 512);
    let steps = eternalize::chain::calls::all_steps(&source.spec, &image).len();
    assert_no_duplicates(url, &from, steps + foreign);
    assert_deployed(url, &fixture(MLP), KEY0, WeightFormat::Compact, 512);
}

#[test]
fn resume_stops_when_another_transaction_took_a_journaled_nonce_then_finishes() {
    let node = anvil(&["--no-mining"]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    // Intent 1 (nonce 0) reached the node; intent 2 (nonce 1) was journaled, never sent.
    let first = deploy_killed_after(data.path(), &url, 3);
    assert_eq!(pool(&url), (1, 1));
    assert_eq!(foreign_transfer(&url), 1);
    let before = pool(&url);
    let r = resume(data.path(), &url);
    let out = text(&r);
    assert_eq!(r.status.code(), Some(3), "{out}");
    assert!(
        out.contains("has pending transactions (at nonce 1) that this deployment did not send"),
        "{out}"
    );
    assert!(out.contains("resume with: eternalize resume"), "{out}");
    assert_eq!(pool(&url), before, "resume sent something:\n{out}");
    // Once the other transaction is mined, the journaled nonce 1 is dead: its step goes out
    // again with a new nonce, once.
    mine_everything(&url);
    let r = resume(data.path(), &url);
    assert!(r.status.success(), "{}", text(&r));
    assert!(
        text(&r).contains("its nonce is used by another transaction"),
        "{}",
        text(&r)
    );
    assert_finished_once(&url, 1);
    assert_no_secret(&format!("{first}{out}{}", text(&r)), &[KEY0]);
    assert_no_secret(&all_files(data.path()), &[KEY0]);
}

#[test]
fn a_deploy_does_not_start_behind_another_senders_pending_transaction() {
    let node = anvil(&["--no-mining"]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    // Someone else's transaction waits at nonce 0: ours would queue behind it, stuck as long
    // as it is, so the deployment says so before it sends anything.
    assert_eq!(foreign_transfer(&url), 0);
    let args = [
        "deploy",
        &fixture_str(MLP),
        "--rpc-url",
        &url,
        "--yes",
        "--chunk-bytes",
        "512",
    ];
    let env = [("ETERNALIZE_PRIVATE_KEY", KEY0)];
    let o = eternalize(data.path(), &args, &env);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(
        out.contains("has pending transactions (at nonce 0) that this deployment did not send"),
        "{out}"
    );
    assert_eq!(pool(&url), (1, 1), "the deploy sent something:\n{out}");
    mine_everything(&url);
    let o = eternalize(data.path(), &args, &env);
    assert!(o.status.success(), "{}", text(&o));
    assert_finished_once(&url, 1);
    assert_no_secret(&format!("{out}{}", text(&o)), &[KEY0]);
}

#[test]
fn a_resume_on_a_chain_reset_under_the_same_chain_id_sends_everything_it_lacks_again() {
    let data = tempfile::tempdir().unwrap();
    let first = {
        let node = anvil(&[]);
        // Killed after 24 of its 29 journal writes: several steps mined and journaled so.
        let out = deploy_killed_after(data.path(), &node.url(), 24);
        let from = signer_from_hex(KEY0).unwrap().address().to_checksum(None);
        let mined = transactions_from(&node.url(), &from).len();
        assert!(mined >= 1, "{mined} mined");
        out
    };
    // The same chain id (31337), none of its state.
    let node = anvil(&[]);
    let url = node.url();
    let r = resume(data.path(), &url);
    let out = text(&r);
    assert!(r.status.success(), "{out}");
    assert!(out.contains("the chain was reset"), "{out}");
    assert_finished_once(&url, 0);
    assert_no_secret(&format!("{first}{out}"), &[KEY0]);
}
