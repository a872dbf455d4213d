//! End to end: the real binary in a real pseudo-terminal (`terminal_support`), driven by keys
//! as a person would: open the Pick screen on the fixtures, filter to lenet, preview it (the
//! probe starts the local anvil and shows its chain, the dev account and its balance), quit with
//! `q`, and check the terminal came back (alternate screen left, cooked mode, exit status 0) and
//! the local anvil was stopped.
//! Two runs resume an unfinished journal from Pick: one whose network the config does not
//! know, one whose network is now a node of another chain id; the dashboard says so, exactly,
//! and nothing is sent. A third deploys lenet to a real
//! anvil the test runs: preview, confirm the hash, deploy; mid-upload the deployer's balance is
//! drained so chunks fail with the numbers on screen (Confirm showed the chain id, the deployer
//! and its balance first); after a top-up `r` and `R` retry them,
//! the Done screen shows the model address, and the model is read back from the chain.
//!
//! The terminal is the test's own (a pty and a VT100 parser): nothing to install.

use crate::deploy_support::{
    KEY0, KEY1, anvil, anvil_path, assert_deployed, fixture, image_of, runtime,
};
use crate::terminal_support::Terminal;
use eternalize::chain::WeightFormat;
use eternalize::engine::Rpc;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The TUI (`eternalize` with `args`, from the repo root) in a 120×40 terminal. `env` and
/// `secrets` reach its environment only, never a command line; the chain and the signer are the
/// test's alone.
fn tui(args: &[&str], env: &[(&str, &Path)], secrets: &[(&str, &str)]) -> Terminal {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eternalize"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env_remove("ETH_RPC_URL")
        .env_remove("ETERNALIZE_PRIVATE_KEY")
        .envs(env.iter().copied())
        .envs(secrets.iter().copied());
    Terminal::start(120, 40, command)
}

#[test]
fn pick_filter_preview_quit_in_a_real_terminal() {
    let home = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = home.path().join("data");
    let config: PathBuf = home.path().join("config");
    let anvil = anvil_path();
    // A Foundry keystore of the second dev account, offered as a signer after the dev account.
    let password = "correct horse battery staple";
    let keystores = home.path().join(".foundry/keystores");
    std::fs::create_dir_all(&keystores).expect("keystores dir");
    alloy::signers::local::PrivateKeySigner::encrypt_keystore(
        &keystores,
        &mut rand::thread_rng(),
        eternalize::chain::signer_from_hex(KEY1).unwrap().to_bytes(),
        password,
        Some("deployer"),
    )
    .expect("keystore");
    let t = tui(
        &["tui", "tests/fixtures/keras3_4"],
        &[
            ("HOME", home.path()),
            ("XDG_DATA_HOME", &data),
            ("XDG_CONFIG_HOME", &config),
            ("ETERNALIZE_ANVIL", &anvil),
        ],
        &[],
    );

    let s = t.wait_for("the Pick screen", |s| {
        // Wait for the whole frame: the screen may be read with one half-drawn.
        s.contains("Pick │ tests/fixtures/keras3_4")
            && s.contains("28 model files")
            && s.contains("lenet_cnn.keras")
            && s.contains("^C quit")
    });
    assert!(s.contains("lenet_cnn.keras"), "{s}");
    assert!(s.contains("^C quit"), "the hint bar: {s}");
    assert!(
        t.alternate_screen_on(),
        "the TUI runs in the alternate screen"
    );
    assert!(!t.cooked_mode(), "the TUI runs in raw mode");

    t.text("lenet_cnn.keras");
    let s = t.wait_for("the filtered list and its sniff", |s| {
        s.contains("2 of 28 model files") && s.contains("1,738 params")
    });
    assert!(s.contains("filter lenet_cnn.keras"), "{s}");
    assert!(
        s.contains("Keras 3 archive · Keras 3.4.1 · Sequential · 10 layers"),
        "{s}"
    );

    let entered = Instant::now();
    t.keys(&["Enter"]);
    let s = t.wait_for("the Preview screen", |s| {
        s.contains("Preview │ tests/fixtures/keras3_4/lenet_cnn.keras") && s.contains("Layers 1/10")
    });
    for expect in [
        "conv_valid",
        "MaxPooling2D",
        "(None, 24, 24, 4)",
        "d deploy",
        "n network",
        "s signer",
    ] {
        assert!(s.contains(expect), "{expect:?} missing from:\n{s}");
    }
    // The probe runs beside the UI: the local anvil it started answers with its chain, the
    // dev account and its 10,000 ETH.
    let s = t.wait_up_to(
        Duration::from_secs(30),
        "the probe of the local chain",
        |s| s.contains("balance      10,000.000000 ETH ✓ enough"),
    );
    eprintln!(
        "tui e2e probe of local (anvil started): {:.2} s",
        entered.elapsed().as_secs_f64()
    );
    for expect in [
        "local · chain 31337",
        "anvil dev account",
        "0xf39Fd6e5…fFb92266",
    ] {
        assert!(s.contains(expect), "{expect:?} missing from:\n{s}");
    }
    let port: u16 = s
        .lines()
        .find_map(|l| l.split("http://127.0.0.1:").nth(1))
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("the local anvil's RPC URL on screen:\n{s}"));

    // `s`: the keystore, which asks for its password in a masked box; a wrong one says so and
    // asks again, the right one unlocks it and the probe shows its account on the same chain.
    t.keys(&["s"]);
    t.wait_for("the password box", |s| {
        s.contains("Unlock keystore deployer") && s.contains("type the password")
    });
    t.text("hunter2");
    let s = t.wait_for("seven bullets", |s| s.contains("password •••••••▏"));
    assert!(!s.contains("hunter2"), "{s}");
    t.keys(&["Enter"]);
    t.wait_up_to(Duration::from_secs(20), "the wrong password refused", |s| {
        s.contains("✗ wrong password for keystore deployer; try again")
    });
    t.text(password);
    t.keys(&["Enter"]);
    let s = t.wait_up_to(Duration::from_secs(20), "the keystore's account", |s| {
        s.contains("signer       keystore deployer") && s.contains("0x70997970…17dc79C8")
    });
    assert!(
        s.contains(&format!("http://127.0.0.1:{port}")),
        "the same anvil: {s}"
    );
    assert!(!s.contains(password), "{s}");
    t.keys(&["Down", "Down"]);
    t.wait_for("the detail of layer 2", |s| {
        s.contains("Layers 3/10") && s.contains("Weights of conv_valid")
    });

    t.keys(&["q"]);
    let status = t.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    let s = t.screen();
    assert!(!t.alternate_screen_on(), "alternate screen left");
    assert!(!s.contains("Layers 3/10"), "the TUI's screen is gone: {s}");
    // Quitting stopped the local anvil gracefully: it wrote its state and listens no more.
    assert!(
        data.join("eternalize/local-chain/anvil-state.json")
            .is_file(),
        "the local chain's state was written"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the local anvil on port {port} was stopped"
    );
    // The terminal is back in cooked mode, as the shell that started it needs it.
    assert!(t.cooked_mode(), "raw mode left on: {s}");

    // Logs went to the data dir, not the screen.
    let log = data.join("eternalize/logs/tui.log");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(
        text.contains("tui start") && text.contains("tui quit"),
        "{text}"
    );
    assert!(
        !text.contains(password) && !text.contains("hunter2"),
        "no password in the log"
    );
}

/// Pick lists the one unfinished deployment — lenet on chain 31337 by the first dev account,
/// journaled on the network `network` (`name url`) — and Enter resumes it; returns the
/// dashboard once it shows `stopped`. `config` is the config file's text.
fn resume_from_pick(network: &str, config_text: &str, key: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = home.path().join("data");
    let config: PathBuf = home.path().join("config");
    std::fs::create_dir_all(config.join("eternalize")).expect("config dir");
    std::fs::write(config.join("eternalize/config.toml"), config_text).expect("config");
    // An unfinished deployment in the data dir, as a killed run would leave it.
    let lenet = root.join("tests/fixtures/keras3_4/lenet_cnn.keras");
    let journal_key = eternalize::journal::DeploymentKey {
        model_hash: "8e".repeat(64),
        chain_id: 31337,
        deployer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
    };
    let mut j = eternalize::journal::Journal::open(&data.join("eternalize"), &journal_key)
        .expect("journal");
    j.append(&eternalize::journal::Entry::Started {
        key: journal_key,
        source: lenet.display().to_string(),
        network: network.into(),
        format: eternalize::chain::WeightFormat::Compact,
        model_address: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
        unix_time: 1,
        chunk_bytes: None,
    })
    .expect("append");

    let t = tui(
        &["tui", "tests/fixtures/keras3_4"],
        &[
            ("HOME", home.path()),
            ("XDG_DATA_HOME", &data),
            ("XDG_CONFIG_HOME", &config),
            ("ETERNALIZE_DATA_DIR", &data.join("eternalize")),
        ],
        &[("ETERNALIZE_PRIVATE_KEY", key)],
    );
    t.wait_for("the unfinished deployment on Pick", |s| {
        s.contains("unfinished deployments (1)")
            && s.contains("↻ tests/fixtures/keras3_4/lenet_cnn.keras")
    });
    t.keys(&["Home", "Enter"]);
    let s = t.wait_for("the dashboard of the resumed deployment, stopped", |s| {
        s.contains("Deploy │ tests/fixtures/keras3_4/lenet_cnn.keras") && s.contains("stopped: ")
    });
    t.keys(&["Escape"]);
    t.wait_for("Pick again", |s| {
        s.contains("Pick │ tests/fixtures/keras3_4")
    });
    t.keys(&["C-c"]);
    let status = t.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    s
}

#[test]
fn resuming_a_deployment_on_an_unknown_network_says_so_and_sends_nothing() {
    let s = resume_from_pick("elsewhere http://127.0.0.1:9", "", KEY0);
    assert!(
        s.contains("stopped: no network named `elsewhere` in "),
        "{s}"
    );
    assert!(s.contains("nothing was sent"), "{s}");
}

#[test]
fn resuming_a_deployment_on_a_node_of_another_chain_says_so_and_sends_nothing() {
    // The journal's network name now points at a node of chain 1337.
    let node = anvil(&["--chain-id", "1337"]);
    let config = format!("[networks.moved]\nrpc_url = \"{}\"\n", node.url());
    let s = resume_from_pick(&format!("moved {}", node.url()), &config, KEY0);
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("stopped: this deployment ran on chain 31337, but network `moved`"),
        "{s}"
    );
    assert!(flat.contains("is chain 1337"), "{s}");
    assert!(flat.contains("nothing was sent"), "{s}");
    assert!(!flat.contains("sent; nothing was sent"), "said twice: {s}");
    let rpc = Rpc::connect(&node.url()).unwrap();
    let sent = runtime().block_on(rpc.block_number()).unwrap();
    assert_eq!(sent, 0, "a block was mined: something was sent");
}

#[test]
fn resuming_a_deployment_whose_model_file_changed_says_so_and_sends_nothing() {
    // The journal's model hash (8e…) is not what lenet_cnn.keras hashes to now.
    let node = anvil(&[]);
    let config = format!("[networks.here]\nrpc_url = \"{}\"\n", node.url());
    let s = resume_from_pick(&format!("here {}", node.url()), &config, KEY0);
    let flat = s.split_whitespace().collect::<Vec<_>>().join("");
    assert!(
        flat.contains("stopped:themodelfilechangedsincethisdeploymentstarted"),
        "{s}"
    );
    assert!(flat.contains("8e8e8e8e"), "{s}");
    assert!(flat.contains("nothingwassent"), "{s}");
    let rpc = Rpc::connect(&node.url()).unwrap();
    let sent = runtime().block_on(rpc.block_number()).unwrap();
    assert_eq!(sent, 0, "a block was mined: something was sent");
}

/// The number after `label` on the screen (`"✗ "` → the failed count of "✗ 2 failed").
fn count_after(screen: &str, label: &str, word: &str) -> Option<usize> {
    screen.lines().find_map(|l| {
        let at = l.find(label)? + label.len();
        let rest = &l[at..];
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        rest[n.len()..]
            .trim_start()
            .starts_with(word)
            .then(|| n.parse().ok())
            .flatten()
    })
}

#[test]
fn deploys_lenet_retrying_chunks_that_failed_for_lack_of_funds() {
    let started = Instant::now();
    // One-second blocks and two transactions in flight: the upload takes many blocks, so
    // there is a "mid-upload" to drain the balance in.
    let node = anvil(&["--block-time", "1"]);
    let url = node.url();
    let home = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = home.path().join("data");
    let config_dir: PathBuf = home.path().join("config");
    let config = home.path().join("eternalize.toml");
    std::fs::write(
        &config,
        format!(
            "default_network = \"e2e\"\n[networks.e2e]\nrpc_url = \"{url}\"\nchain_id = 31337\n[deploy]\nchunk_bytes = 256\nwindow = 2\n"
        ),
    )
    .expect("config");
    let lenet = fixture("keras3_4/lenet_cnn.keras");
    let (source, image) = image_of(&lenet, KEY1, WeightFormat::Compact, 256);
    let hashed_model = source.hashed_model.clone();
    let deployer = eternalize::chain::signer_from_hex(KEY1).unwrap().address();
    let rpc = Rpc::connect(&url).expect("rpc");
    let set_balance = |wei: &str| {
        runtime().block_on(async {
            let _: Value = rpc
                .request("anvil_setBalance", json!([deployer, wei]))
                .await
                .expect("anvil_setBalance");
        })
    };

    let t = tui(
        &[
            "--config",
            config.to_str().expect("a UTF-8 temp dir"),
            "tui",
            "tests/fixtures/keras3_4",
        ],
        &[
            ("HOME", home.path()),
            ("XDG_DATA_HOME", &data),
            ("XDG_CONFIG_HOME", &config_dir),
            ("ETERNALIZE_DATA_DIR", &data.join("eternalize")),
        ],
        &[("ETERNALIZE_PRIVATE_KEY", KEY1)],
    );
    t.wait_for("the Pick screen", |s| s.contains("28 model files"));
    t.text("lenet_cnn.keras");
    t.wait_for("the filtered list", |s| s.contains("2 of 28 model files"));
    t.keys(&["Enter"]);
    let s = t.wait_for("the Preview screen", |s| s.contains("Layers 1/10"));
    assert!(
        s.contains(&hashed_model[..16]),
        "hashed_model on Preview: {s}"
    );
    t.keys(&["d"]);
    // Confirm names where and as whom: chain id, the deployer and its balance, from the probe.
    let s = t.wait_for("the Confirm screen with the probe's answer", |s| {
        s.contains("Type the first 4 characters") && s.contains("✓ covers the worst case")
    });
    for expect in [
        "e2e · chain id 31337 · http://127.0.0.1:".to_string(),
        format!("deployer      {deployer}"),
        "signer        ETERNALIZE_PRIVATE_KEY".into(),
        "balance       10,000.000000 ETH".into(),
    ] {
        assert!(s.contains(&expect), "{expect:?} missing from:\n{s}");
    }
    t.text(&hashed_model[..4]);
    t.wait_for("the hash confirmed", |s| s.contains("✓ confirmed"));
    t.keys(&["Enter"]);
    let chunks = image.chunks.count();
    let s = t.wait_for("the dashboard", |s| {
        s.contains("Deploying · chain 31337") && s.contains(&format!("Chunks 0/{chunks}"))
    });
    assert!(s.contains("Contracts "), "{s}");

    // Mid-upload: with chunks waiting in the pool for the next block, the deployer is left
    // with 0.00001 ETH; the node drops them when the block comes, and re-sending them fails.
    t.wait_up_to(Duration::from_secs(60), "chunks in the pool", |s| {
        count_after(s, "○ ", "pending").is_some_and(|n| n >= 2)
    });
    set_balance("0x9184e72a000");
    let s = t.wait_up_to(
        Duration::from_secs(30),
        "chunks failed for lack of funds",
        |s| s.contains("⏸ paused") && count_after(s, "✗ ", "failed").is_some_and(|n| n >= 1),
    );
    let failed = count_after(&s, "✗ ", "failed").unwrap();
    assert!(
        failed >= 2,
        "{failed} failed chunk(s): one for `r`, the rest for `R`: {s}"
    );
    assert!(
        s.contains("insufficient funds: balance 0.000010 ETH, needs 0.000"),
        "the numbers of the failure: {s}"
    );
    assert!(
        s.contains(&format!("the balance of {deployer} is 10000000000000 wei")),
        "the paused reason with the balance in wei: {s}"
    );
    assert!(s.contains("✗"), "a failed cell in the chunk grid: {s}");

    // Top up, select a failed chunk in the grid, retry it with `r`, then the rest with `R`.
    set_balance("0x21e19e0c9bab2400000");
    t.keys(&["Tab"]);
    let mut selected = String::new();
    for _ in 0..=chunks {
        let s = t.screen();
        if s.lines()
            .any(|l| l.starts_with(" chunk ") && l.contains("✗ insufficient funds"))
        {
            selected = s;
            break;
        }
        t.keys(&["Right"]);
        std::thread::sleep(Duration::from_millis(60));
    }
    assert!(!selected.is_empty(), "no failed chunk could be selected");
    t.keys(&["r"]);
    t.wait_for("the retry asked for", |s| {
        s.contains("retry of chunk ") && s.contains("asked for")
    });
    t.keys(&["R"]);
    let s = t.wait_up_to(Duration::from_secs(90), "the Done screen", |s| {
        s.contains("Done │ tests/fixtures/keras3_4/lenet_cnn.keras")
    });
    let model = image.model.to_checksum(None);
    assert!(
        s.contains("The Eternal is deployed: its model contract is ready."),
        "{s}"
    );
    assert!(s.contains(&format!("model         {model}")), "{s}");
    assert!(s.contains("chain id      31337"), "{s}");
    assert!(
        !s.contains(KEY1.trim_start_matches("0x")),
        "no key on screen"
    );

    // The chain agrees: the model is ready and every weight reads back.
    assert_deployed(&url, &lenet, KEY1, WeightFormat::Compact, 256);

    // `v` runs verify from the Done screen against the same chain.
    t.keys(&["v"]);
    let s = t.wait_up_to(Duration::from_secs(60), "the verify verdict", |s| {
        s.contains("verified: the chain holds exactly this file") || s.contains("✗ verify")
    });
    assert!(
        s.contains("✓ verified: the chain holds exactly this file"),
        "{s}"
    );
    for part in ["hash     ok", "graph    ok", "weights  ok", "predict  ok"] {
        assert!(s.contains(part), "{part:?} missing from:\n{s}");
    }

    t.keys(&["q"]);
    let status = t.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    let s = t.screen();
    assert!(
        s.contains("Eternal deployed."),
        "the summary on stdout: {s}"
    );
    let log = data.join("eternalize/logs/tui.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !text.contains(KEY1.trim_start_matches("0x")),
        "no key in the log"
    );
    eprintln!(
        "tui e2e deploy: {failed} chunk(s) failed for lack of funds, retried; {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
