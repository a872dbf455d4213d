//! Headless `deploy`/`resume` as an operator meets them, against real anvil processes: progress
//! bars on a terminal (tmux) and plain lines without one; asking before installing anvil (and
//! refusing without a terminal or without npm, exactly); a kill -9 of a local deploy takes its
//! anvil along and `resume` finishes it; `resume` on a chain other than the journal's refuses;
//! `https://` RPC URLs go through TLS.
//!
//! tmux and openssl are required, not optional: `.ci/run` installs them.

mod chain_support;
mod deploy_support;

use deploy_support::*;
use serde_json::Value;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MLP: &str = "keras3_4/mlp_basic.keras";

fn mlp() -> String {
    fixture(MLP).display().to_string()
}

/// Whether the pane shows `marker=N` (a command's exit status echoed), not just the typed
/// `marker=$?`.
fn ended(screen: &str, marker: &str) -> bool {
    let tag = format!("{marker}=");
    screen
        .match_indices(&tag)
        .any(|(i, _)| screen[i + tag.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// A tmux server of our own with one 120×30 pane running bash, killed on drop.
struct Pane {
    socket: String,
}

impl Pane {
    fn start(env: &[(&str, String)]) -> Pane {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pane = Pane {
            socket: format!("eternalize-headless-{}-{n}", std::process::id()),
        };
        let mut args: Vec<String> = [
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "30",
            "env",
            "-u",
            "ETH_RPC_URL",
            "-u",
            "NO_COLOR",
            "-u",
            "ETERNALIZE_TEST_CRASH_AFTER",
        ]
        .map(String::from)
        .to_vec();
        args.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        // bash by its full path: the pane's PATH may be the test's own.
        let bash = which("bash").expect("bash");
        args.extend(["PS1=e2e$ ".into(), "TERM=xterm-256color".into()]);
        args.extend([
            bash.display().to_string(),
            "--norc".into(),
            "--noprofile".into(),
        ]);
        let o = pane.tmux(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            o.status.success(),
            "tmux is needed (apt-get install tmux; .ci/run does this): {}",
            String::from_utf8_lossy(&o.stderr)
        );
        pane.wait_for("the prompt", Duration::from_secs(10), |s| {
            s.contains("e2e$")
        });
        pane
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is needed (apt-get install tmux; .ci/run does this)")
    }

    /// The pane's text; with `escapes`, its colours as escape sequences too.
    fn screen(&self, escapes: bool) -> String {
        let args: &[&str] = if escapes {
            &["capture-pane", "-p", "-e", "-J"]
        } else {
            &["capture-pane", "-p", "-J"]
        };
        String::from_utf8_lossy(&self.tmux(args).stdout).into_owned()
    }

    fn run(&self, line: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", "0", "-l", line])
                .status
                .success()
        );
        assert!(
            self.tmux(&["send-keys", "-t", "0", "Enter"])
                .status
                .success()
        );
    }

    fn wait_for(&self, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen(false);
            if ok(&s) {
                return s;
            }
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; the pane shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(40));
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn a_terminal_gets_progress_bars_then_the_summary_and_a_pipe_gets_plain_lines() {
    // 1-second blocks and two transactions in flight: the bars are on screen for seconds.
    let node = anvil(&["--block-time", "1"]);
    let data = tempfile::tempdir().unwrap();
    let pane = Pane::start(&[
        ("ETERNALIZE_DATA_DIR", data.path().display().to_string()),
        ("ETERNALIZE_ANVIL", anvil_path().display().to_string()),
        ("ETERNALIZE_PRIVATE_KEY", KEY0.to_string()),
    ]);
    let bin = env!("CARGO_BIN_EXE_eternalize");
    pane.run(&format!(
        "clear; '{bin}' deploy '{}' --rpc-url {} --yes --chunk-bytes 256 --window 2; echo end1=$?",
        mlp(),
        node.url()
    ));
    let bars = pane.wait_for("the bars", Duration::from_secs(30), |s| {
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
    pane.wait_for("a bar with progress", Duration::from_secs(30), |s| {
        s.contains("contracts [#")
    });
    let coloured = pane.screen(true);
    assert!(
        coloured.contains("\x1b[36m") || coloured.contains("\x1b[32m"),
        "colour without NO_COLOR:\n{coloured:?}"
    );
    let mid = pane.wait_for("bytes, a rate and an ETA", Duration::from_secs(60), |s| {
        s.lines()
            .any(|l| l.starts_with("chunks    [") && l.contains(" B/s") && l.contains("ETA"))
            || ended(s, "end1")
    });
    let end = pane.wait_for("the summary", Duration::from_secs(90), |s| ended(s, "end1"));
    assert!(end.contains("end1=0"), "{end}");
    assert!(
        end.contains("done: model 0x1b26e2E2e722efdc13A8CcB01e24F54610a932F4 is ready on chain 31337: 21 transactions"),
        "{end}"
    );
    assert!(
        !end.lines()
            .any(|l| l.starts_with("chunks    [") || l.starts_with("contracts [")),
        "the bars are erased at the end:\n{end}"
    );
    // The rate line may be skipped only if the run ended between two looks.
    assert!(mid.contains("ETA") || mid.contains("end1=0"), "{mid}");

    // NO_COLOR: the same bars without colour; TERM=dumb: plain lines.
    // Each run on a fresh chain gets a fresh data dir (a journal belongs to one chain).
    let (data2, data3) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let node2 = anvil(&["--block-time", "1"]);
    pane.run(&format!(
        "clear; ETERNALIZE_DATA_DIR='{}' NO_COLOR=1 '{bin}' deploy '{}' --rpc-url {} --yes --chunk-bytes 256 --window 2; echo end2=$?",
        data2.path().display(),
        mlp(),
        node2.url()
    ));
    pane.wait_for("the bars", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.starts_with("chunks    ["))
    });
    let plain = pane.screen(true);
    let bar_lines: Vec<&str> = plain
        .lines()
        .filter(|l| l.contains("chunks    [") || l.contains("contracts ["))
        .collect();
    assert!(!bar_lines.is_empty(), "{plain}");
    assert!(
        bar_lines
            .iter()
            .all(|l| !l.contains("\x1b[32m") && !l.contains("\x1b[36m")),
        "NO_COLOR still coloured: {bar_lines:?}"
    );
    pane.wait_for("the end", Duration::from_secs(90), |s| ended(s, "end2"));
    let node3 = anvil(&[]);
    pane.run(&format!(
        "clear; ETERNALIZE_DATA_DIR='{}' TERM=dumb '{bin}' deploy '{}' --rpc-url {} --yes --chunk-bytes 512; echo end3=$?",
        data3.path().display(),
        mlp(),
        node3.url()
    ));
    let dumb = pane.wait_for("the end", Duration::from_secs(60), |s| ended(s, "end3"));
    assert!(dumb.contains("end3=0"), "{dumb}");
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
            "error: anvil is not installed and there is no terminal to ask on: pass --yes to install @foundry-rs/anvil-linux-amd64@{version} from npm into {}, or put Foundry's anvil on PATH / set ETERNALIZE_ANVIL to an anvil binary\n",
            data.join("tools").display()
        );
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stderr), want, "{args:?}");
    }
    assert!(!data.join("tools/node_modules").exists(), "npm ran");
    assert!(!data.join("deployments").exists());

    // On a terminal it asks, default yes; `n` declines and nothing is installed.
    let pane = Pane::start(&[
        ("ETERNALIZE_DATA_DIR", data.display().to_string()),
        ("HOME", home.path().display().to_string()),
        (
            "XDG_CONFIG_HOME",
            home.path().join("config").display().to_string(),
        ),
        ("PATH", bin.display().to_string()),
    ]);
    pane.run(&format!(
        "'{}' deploy '{}'; echo exit=$?",
        env!("CARGO_BIN_EXE_eternalize"),
        mlp()
    ));
    let asked = pane.wait_for("the question", Duration::from_secs(20), |s| {
        s.contains("[Y/n]")
    });
    assert!(
        asked.contains(&format!(
            "anvil is not installed. Install @foundry-rs/anvil-linux-amd64@{version} from npm into {}? [Y/n]",
            data.join("tools").display()
        )),
        "{asked}"
    );
    pane.run("n");
    let declined = pane.wait_for("the refusal", Duration::from_secs(10), |s| ended(s, "exit"));
    assert!(declined.contains("exit=1"), "{declined}");
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
    // A real TLS server (openssl s_server, a self-signed leaf certificate): the handshake runs
    // and the certificate is refused as unknown — TLS works, and it verifies.
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed (apt-get install openssl; .ci/run does this)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "openssl s_server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("https://127.0.0.1:{port}");
    let o = eternalize(data.path(), &["plan", &mlp(), "--rpc-url", &url], &env);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invalid peer certificate: UnknownIssuer"),
        "{err}"
    );
}
