//! Headless `deploy`/`resume` as an operator meets them, against real anvil processes: progress
//! bars on a terminal (a pty of the test's own, `terminal_support`) and plain lines without one;
//! asking before installing anvil (and refusing without a terminal or without npm, exactly); a
//! kill -9 of a local deploy takes its anvil along and `resume` finishes it; `resume` on a chain
//! other than the journal's refuses; `https://` RPC URLs go through TLS.
//!
//! Nothing beyond Rust and Node/npm is needed: the terminal is a pty read through a VT100 parser,
//! and the TLS server is rustls in the test with a certificate rcgen makes.

use crate::deploy_support::*;
use crate::terminal_support::Terminal;
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde_json::Value;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vt100::Color;

const MLP: &str = "keras3_4/mlp_basic.keras";

fn mlp() -> String {
    fixture(MLP).display().to_string()
}

/// `eternalize` with `args` in a 120×30 terminal, with `env` on top of the test's environment
/// less the chain, `NO_COLOR` and the crash hook.
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> Terminal {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eternalize"));
    command
        .args(args)
        .env_remove("ETH_RPC_URL")
        .env_remove("NO_COLOR")
        .env_remove("ETERNALIZE_TEST_CRASH_AFTER")
        .envs(env.iter().copied());
    Terminal::start(120, 30, command)
}

/// Whether a progress bar's row on the screen is drawn in cyan or green (SGR 36 or 32).
fn a_bar_coloured(t: &Terminal) -> bool {
    t.foreground_colours().iter().any(|(row, colours)| {
        (row.contains("chunks    [") || row.contains("contracts ["))
            && colours
                .iter()
                .any(|c| [Color::Idx(6), Color::Idx(2)].contains(c))
    })
}

#[test]
fn a_terminal_gets_progress_bars_then_the_summary_and_a_pipe_gets_plain_lines() {
    // 1-second blocks and two transactions in flight: the bars are on screen for seconds.
    let node = anvil(&["--block-time", "1"]);
    let data = tempfile::tempdir().unwrap();
    let (data_dir, anvil_bin) = (
        data.path().display().to_string(),
        anvil_path().display().to_string(),
    );
    let env = [
        ("ETERNALIZE_DATA_DIR", data_dir.as_str()),
        ("ETERNALIZE_ANVIL", anvil_bin.as_str()),
        ("ETERNALIZE_PRIVATE_KEY", KEY0),
    ];
    let (model, url) = (mlp(), node.url());
    let t = on_a_terminal(
        &[
            "deploy",
            &model,
            "--rpc-url",
            &url,
            "--yes",
            "--chunk-bytes",
            "256",
            "--window",
            "2",
        ],
        &env,
    );
    let bars = t.wait_up_to(Duration::from_secs(30), "the bars", |s| {
        s.lines()
            .any(|l| l.starts_with("chunks    [") && l.contains('%'))
            && s.lines().any(|l| l.starts_with("contracts ["))
            && s.lines()
                .any(|l| l.starts_with("gas ") && l.contains("in flight"))
    });
    assert!(bars.contains("plan: model"), "{bars}");
    assert!(
        !bars.contains("mined   "),
        "per-transaction lines are the bars' business on a terminal:\n{bars}"
    );
    t.wait_up_to(Duration::from_secs(30), "a bar with progress", |s| {
        s.contains("contracts [#")
    });
    assert!(
        a_bar_coloured(&t),
        "colour without NO_COLOR:\n{:?}",
        t.foreground_colours()
    );
    let mid = t.wait_up_to(Duration::from_secs(60), "bytes, a rate and an ETA", |s| {
        s.lines()
            .any(|l| l.starts_with("chunks    [") && l.contains(" B/s") && l.contains("ETA"))
            || t.exited().is_some()
    });
    let status = t.wait_exit(Duration::from_secs(90));
    let end = t.screen();
    assert!(status.success(), "{status}: {end}");
    // The model's address follows from the key, the file and the contracts' code (CREATE2).
    let (_, image) = image_of(
        &fixture(MLP),
        KEY0,
        eternalize::chain::WeightFormat::Compact,
        256,
    );
    let done = format!(
        "done: model {} is ready on chain 31337: 23 transactions",
        image.model.to_checksum(None)
    );
    assert!(end.contains(&done), "{done:?} missing from:\n{end}");
    assert!(
        !end.lines()
            .any(|l| l.starts_with("chunks    [") || l.starts_with("contracts [")),
        "the bars are erased at the end:\n{end}"
    );
    // The rate line may be skipped only if the run ended between two looks.
    assert!(mid.contains("ETA") || t.exited().is_some(), "{mid}");
    drop(t);

    // NO_COLOR: the same bars without colour; TERM=dumb: plain lines.
    // Each run on a fresh chain gets a fresh data dir (a journal belongs to one chain).
    let (data2, data3) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (data2_dir, data3_dir) = (
        data2.path().display().to_string(),
        data3.path().display().to_string(),
    );
    let node2 = anvil(&["--block-time", "1"]);
    let url = node2.url();
    let mut env2 = env.to_vec();
    env2.extend([
        ("ETERNALIZE_DATA_DIR", data2_dir.as_str()),
        ("NO_COLOR", "1"),
    ]);
    let t = on_a_terminal(
        &[
            "deploy",
            &model,
            "--rpc-url",
            &url,
            "--yes",
            "--chunk-bytes",
            "256",
            "--window",
            "2",
        ],
        &env2,
    );
    let plain = t.wait_up_to(Duration::from_secs(30), "the bars", |s| {
        s.lines().any(|l| l.starts_with("chunks    ["))
    });
    assert!(
        plain
            .lines()
            .any(|l| l.contains("chunks    [") || l.contains("contracts [")),
        "{plain}"
    );
    assert!(
        !a_bar_coloured(&t),
        "NO_COLOR still coloured: {:?}",
        t.foreground_colours()
    );
    let status = t.wait_exit(Duration::from_secs(90));
    assert!(status.success(), "{status}: {}", t.screen());
    drop(t);
    let node3 = anvil(&[]);
    let url = node3.url();
    let mut env3 = env.to_vec();
    env3.extend([
        ("ETERNALIZE_DATA_DIR", data3_dir.as_str()),
        ("TERM", "dumb"),
    ]);
    let t = on_a_terminal(
        &[
            "deploy",
            &model,
            "--rpc-url",
            &url,
            "--yes",
            "--chunk-bytes",
            "512",
        ],
        &env3,
    );
    let status = t.wait_exit(Duration::from_secs(60));
    let dumb = t.screen();
    assert!(status.success(), "{status}: {dumb}");
    assert!(
        dumb.contains("mined   "),
        "TERM=dumb gets plain lines:\n{dumb}"
    );
    assert!(!dumb.contains("chunks    ["), "{dumb}");

    // Without a terminal: plain lines, no escape sequence.
    let node4 = anvil(&[]);
    let data4 = tempfile::tempdir().unwrap();
    let o = eternalize(
        data4.path(),
        &["deploy", &mlp(), "--rpc-url", &node4.url(), "--yes"],
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    );
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("mined   ") && err.contains("done: model"),
        "{err}"
    );
    assert!(!err.contains('\x1b'), "{err}");
    assert!(o.stdout.is_empty());
}

/// The binary with a data dir, a config dir and a PATH of our choosing, and no anvil given.
fn without_anvil(data: &Path, path: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eternalize"))
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", data)
        .env("XDG_CONFIG_HOME", data.join("config"))
        .env("ETERNALIZE_DATA_DIR", data)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A folder holding only `node` and `npm` (links to the real ones).
fn npm_only_path(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["node", "npm"] {
        let real = which(tool).unwrap_or_else(|| panic!("{tool} is needed (Node.js with npm)"));
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    bin
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|p| p.join(name))
        .find(|p| p.is_file())
}

#[test]
fn a_missing_anvil_is_installed_only_with_consent_and_never_without_npm() {
    let version = eternalize::tools::pinned_version(eternalize::tools::ANVIL_PACKAGE).unwrap();
    // No npm on PATH (and no anvil, no ETERNALIZE_ANVIL): one exact message, exit 1.
    let home = tempfile::tempdir().unwrap();
    let empty = home.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let data = home.path().join("data");
    let o = without_anvil(&data, &empty, &["deploy", &mlp(), "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: npm is not on PATH; install Node.js/npm (https://nodejs.org), or put Foundry's anvil on PATH / set ETERNALIZE_ANVIL to an anvil binary\n"
    );
    assert!(o.stdout.is_empty());
    assert!(!data.join("deployments").exists(), "nothing was started");
    assert!(!data.join("tools/node_modules").exists());

    // npm there, but no terminal to ask on and no --yes: a usage error saying what to do.
    let bin = npm_only_path(home.path());
    let model = mlp();
    for args in [["deploy", &model], ["plan", &model]] {
        let o = without_anvil(&data, &bin, &args);
        let want = format!(
            "error: anvil is not installed and there is no terminal to ask on: pass --yes to install @foundry-rs/anvil@{version} from npm into {}, or put Foundry's anvil on PATH / set ETERNALIZE_ANVIL to an anvil binary\n",
            data.join("tools").display()
        );
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stderr), want, "{args:?}");
    }
    assert!(!data.join("tools/node_modules").exists(), "npm ran");
    assert!(!data.join("deployments").exists());

    // On a terminal it asks, default yes; `n` declines and nothing is installed.
    let (data_dir, home_dir, config_dir, path) = (
        data.display().to_string(),
        home.path().display().to_string(),
        home.path().join("config").display().to_string(),
        bin.display().to_string(),
    );
    let t = on_a_terminal(
        &["deploy", &mlp()],
        &[
            ("ETERNALIZE_DATA_DIR", &data_dir),
            ("HOME", &home_dir),
            ("XDG_CONFIG_HOME", &config_dir),
            ("PATH", &path),
        ],
    );
    let asked = t.wait_up_to(Duration::from_secs(20), "the question", |s| {
        s.contains("[Y/n]")
    });
    assert!(
        asked.contains(&format!(
            "anvil is not installed. Install @foundry-rs/anvil@{version} from npm into {}? [Y/n]",
            data.join("tools").display()
        )),
        "{asked}"
    );
    t.text("n");
    t.keys(&["Enter"]);
    let status = t.wait_exit(Duration::from_secs(10));
    let declined = t.screen();
    assert_eq!(status.code(), Some(1), "{declined}");
    assert!(
        declined.contains("error: anvil was not installed (declined)"),
        "{declined}"
    );
    assert!(!data.join("tools/node_modules").exists(), "npm ran");
}

/// Processes whose command line mentions `needle` (the local anvil names its state file, which
/// lives in the test's data dir).
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(needle)
        {
            out.push(pid);
        }
    }
    out
}

#[test]
fn kill_9_of_a_local_deploy_takes_its_anvil_along_and_resume_finishes() {
    let data = tempfile::tempdir().unwrap();
    let state = data.path().join("local-chain/anvil-state.json");
    let needle = state.display().to_string();
    // Start a local deploy and watch for its anvil; SIGKILL the deploy once the anvil is up
    // and the journal has transactions.
    let mut child = Command::new(env!("CARGO_BIN_EXE_eternalize"))
        .args([
            "deploy",
            &mlp(),
            "--json",
            "--chunk-bytes",
            "256",
            "--window",
            "1",
        ])
        .env("ETERNALIZE_DATA_DIR", data.path())
        .env("ETERNALIZE_ANVIL", anvil_path())
        .env_remove("ETERNALIZE_PRIVATE_KEY")
        .env_remove("ETH_RPC_URL")
        // The journal's test hook stops it dead (SIGKILL) after its 9th write.
        .env("ETERNALIZE_TEST_CRASH_AFTER", "9")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut anvils = Vec::new();
    let start = Instant::now();
    let status = loop {
        if anvils.is_empty() {
            anvils = processes_mentioning(&needle);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the deploy hangs"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(status.signal(), Some(9), "the crash point was not reached");
    assert!(!anvils.is_empty(), "never saw the local anvil running");
    let gone = Instant::now();
    while !processes_mentioning(&needle).is_empty() {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "the local anvil {anvils:?} outlived its eternalize by 5 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // It got SIGTERM, so it wrote its state: a new anvil has every block the journal saw mined.
    let dumped: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(
        dumped["best_block_number"].as_u64().unwrap_or(0) >= 4,
        "{}",
        dumped["best_block_number"]
    );
    let r = eternalize(data.path(), &["resume", "--json", "--window", "1"], &[]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(done_line(&r)["transactions"].as_u64().unwrap() > 0);
    let p = eternalize(
        data.path(),
        &["plan", &mlp(), "--json", "--chunk-bytes", "256"],
        &[],
    );
    assert!(p.status.success(), "{}", text(&p));
    let p: Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(p["transactions"], 0, "the model is complete: {p}");
    assert!(
        processes_mentioning(&needle).is_empty(),
        "an anvil was left running"
    );
}

#[test]
fn resume_on_a_chain_other_than_the_journals_refuses_and_sends_nothing() {
    let a = anvil(&[]);
    let b = anvil(&["--chain-id", "1337"]);
    let data = tempfile::tempdir().unwrap();
    let env = [("ETERNALIZE_PRIVATE_KEY", KEY0)];
    let o = eternalize(
        data.path(),
        &["deploy", &mlp(), "--rpc-url", &a.url(), "--yes", "--json"],
        &[
            ("ETERNALIZE_PRIVATE_KEY", KEY0),
            ("ETERNALIZE_TEST_CRASH_AFTER", "5"),
        ],
    );
    assert_eq!(o.status.signal(), Some(9), "{}", text(&o));
    let r = eternalize(
        data.path(),
        &["resume", "--rpc-url", &b.url(), "--yes"],
        &env,
    );
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert_eq!(
        String::from_utf8_lossy(&r.stderr),
        format!(
            "error: this deployment ran on chain 31337, but the node at {} is chain 1337; resume it on chain 31337 (pass that network with --network or --rpc-url); nothing was sent\n",
            b.url()
        )
    );
    let nonce_b = runtime().block_on(async {
        eternalize::engine::Rpc::connect(&b.url())
            .unwrap()
            .nonce(KEY0_ADDRESS.parse().unwrap(), "latest")
            .await
            .unwrap()
    });
    assert_eq!(nonce_b, 0, "a transaction went to the other chain");
    // On its own chain it finishes.
    let r = eternalize(
        data.path(),
        &["resume", "--rpc-url", &a.url(), "--yes", "--json"],
        &env,
    );
    assert!(r.status.success(), "{}", text(&r));
}

const KEY0_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

#[test]
fn https_rpc_urls_go_through_tls() {
    let data = tempfile::tempdir().unwrap();
    let env = [("ETERNALIZE_PRIVATE_KEY", KEY0)];
    // A closed port: the connection is refused (the scheme itself is fine).
    let o = eternalize(
        data.path(),
        &["plan", &mlp(), "--rpc-url", "https://127.0.0.1:9"],
        &env,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Connection refused"), "{err}");
    assert!(
        !err.contains("scheme") && !err.contains("invalid URL"),
        "{err}"
    );
    // A real TLS server with a self-signed leaf certificate: the handshake runs and the
    // certificate is refused as unknown — TLS works, and it verifies.
    let port = tls_server_with_a_self_signed_certificate();
    let url = format!("https://127.0.0.1:{port}");
    let o = eternalize(data.path(), &["plan", &mlp(), "--rpc-url", &url], &env);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invalid peer certificate: UnknownIssuer"),
        "{err}"
    );
}

/// The port of a TLS server (rustls, on a thread of the test) for 127.0.0.1 whose certificate is
/// self-signed and marked as no CA, so a verifying client refuses it as `UnknownIssuer` (not as a
/// CA used as an end entity). It serves until the test process ends.
fn tls_server_with_a_self_signed_certificate() -> u16 {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut tcp in listener.incoming().flatten() {
            if let Ok(mut tls) = rustls::ServerConnection::new(Arc::clone(&config)) {
                // Runs the handshake until the client's alert (or its hang-up) ends it.
                let _ = tls.complete_io(&mut tcp);
            }
        }
    });
    port
}
