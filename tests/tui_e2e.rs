//! End to end: the real binary in a real pseudo-terminal (tmux), driven by keys as a person
//! would: open the Pick screen on the fixtures, filter to lenet, preview it, quit with `q`,
//! and check the terminal came back (alternate screen left, cooked mode, the shell works).
//! A second run goes from an unfinished journal on Pick and from a confirmed hash to the
//! deploy dashboard, which (no engine linked in this build) says so.
//!
//! tmux is required, not optional: `.ci/run` installs it; on a machine without it this test
//! fails and says how to install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed when the test ends, pass or fail.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(width: u16, height: u16, env: &[(&str, &Path)]) -> Tmux {
        if Command::new("tmux").arg("-V").output().is_err() {
            panic!(
                "tmux is needed for the end-to-end TUI test and was not found: install it with `apt-get install tmux` (.ci/run does this)"
            );
        }
        // One server per test: tests run on parallel threads of one process.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Tmux {
            socket: format!("eternalize-e2e-{}-{n}", std::process::id()),
        };
        let mut cmd = vec![
            "new-session".to_string(),
            "-d".into(),
            "-x".into(),
            width.to_string(),
            "-y".into(),
            height.to_string(),
            "env".into(),
        ];
        for (k, v) in env {
            cmd.push(format!("{k}={}", v.display()));
        }
        cmd.extend([
            "PS1=e2e$ ".into(),
            "bash".into(),
            "--norc".into(),
            "--noprofile".into(),
        ]);
        let o = t.tmux(&cmd.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            o.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        t.wait_for("the shell prompt", |s| s.contains("e2e$"));
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p"]).stdout).into_owned()
    }

    /// Sends keys by tmux name (`Enter`, `Down`) or as literal text with `literal`.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    fn text(&self, text: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", "0", "-l", text])
                .status
                .success()
        );
    }

    /// Polls the screen until `ok` holds (10 s at most); returns that screen.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("timed out waiting for {what}; the screen is:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alternate_screen_on(&self) -> bool {
        let o = self.tmux(&["display-message", "-p", "-t", "0", "#{alternate_on}"]);
        String::from_utf8_lossy(&o.stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn pick_filter_preview_quit_in_a_real_terminal() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = home.path().join("data");
    let config: PathBuf = home.path().join("config");
    let t = Tmux::start(
        120,
        40,
        &[
            ("HOME", home.path()),
            ("XDG_DATA_HOME", &data),
            ("XDG_CONFIG_HOME", &config),
        ],
    );
    let bin = env!("CARGO_BIN_EXE_eternalize");
    t.text(&format!(
        "cd '{}' && '{bin}' tui tests/fixtures/keras3_4; echo \"exit=$?\"",
        root.display()
    ));
    t.keys(&["Enter"]);

    let s = t.wait_for("the Pick screen", |s| {
        s.contains("Pick │ tests/fixtures/keras3_4") && s.contains("28 model files")
    });
    assert!(s.contains("lenet_cnn.keras"), "{s}");
    assert!(s.contains("^C quit"), "the hint bar: {s}");
    assert!(
        t.alternate_screen_on(),
        "the TUI runs in the alternate screen"
    );

    t.text("lenet_cnn.keras");
    let s = t.wait_for("the filtered list and its sniff", |s| {
        s.contains("2 of 28 model files") && s.contains("1,738 params")
    });
    assert!(s.contains("filter lenet_cnn.keras"), "{s}");
    assert!(
        s.contains("Keras 3 archive · Keras 3.4.1 · Sequential · 10 layers"),
        "{s}"
    );

    t.keys(&["Enter"]);
    let s = t.wait_for("the Preview screen", |s| {
        s.contains("Preview │ tests/fixtures/keras3_4/lenet_cnn.keras") && s.contains("Layers 1/10")
    });
    for expect in [
        "conv_valid",
        "MaxPooling2D",
        "(None, 24, 24, 4)",
        "not connected",
        "d deploy",
    ] {
        assert!(s.contains(expect), "{expect:?} missing from:\n{s}");
    }
    t.keys(&["Down", "Down"]);
    t.wait_for("the detail of layer 2", |s| {
        s.contains("Layers 3/10") && s.contains("Weights of conv_valid")
    });

    t.keys(&["q"]);
    let s = t.wait_for("the shell after quitting", |s| s.contains("exit=0"));
    assert!(!t.alternate_screen_on(), "alternate screen left");
    assert!(!s.contains("Layers 3/10"), "the TUI's screen is gone: {s}");

    // The terminal is back in cooked mode and the shell runs commands.
    // (The answers are computed, so the typed command line cannot match them.)
    t.text("stty -a | grep -q -- ' icanon' && echo mode=cooked$((1+1)) || echo mode=raw$((1+1))");
    t.keys(&["Enter"]);
    let s = t.wait_for("stty's answer", |s| {
        s.contains("mode=cooked2") || s.contains("mode=raw2")
    });
    assert!(s.contains("mode=cooked2"), "raw mode left on: {s}");

    // Logs went to the data dir, not the screen.
    let log = data.join("eternalize/logs/tui.log");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(
        text.contains("tui start") && text.contains("tui quit"),
        "{text}"
    );
}

#[test]
fn confirm_and_resume_reach_the_dashboard_which_says_no_engine_is_linked() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = home.path().join("data");
    let config: PathBuf = home.path().join("config");
    // An unfinished deployment in the data dir, as a killed run would leave it.
    let lenet = root.join("tests/fixtures/keras3_4/lenet_cnn.keras");
    let key = eternalize::journal::DeploymentKey {
        model_hash: "8e".repeat(64),
        chain_id: 31337,
        deployer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
    };
    let mut j =
        eternalize::journal::Journal::open(&data.join("eternalize"), &key).expect("journal");
    j.append(&eternalize::journal::Entry::Started {
        key,
        source: lenet.display().to_string(),
        network: "local".into(),
        format: "compact".into(),
        model_address: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
        unix_time: 1,
        chunk_bytes: None,
    })
    .expect("append");
    let bytes = std::fs::read(&lenet).expect("fixture");
    let hashed_model = eternalize::tui::model_view::load(&bytes, &lenet)
        .expect("lenet")
        .hashes
        .hashed_model();

    let t = Tmux::start(
        120,
        40,
        &[
            ("HOME", home.path()),
            ("XDG_DATA_HOME", &data),
            ("XDG_CONFIG_HOME", &config),
            ("ETERNALIZE_DATA_DIR", &data.join("eternalize")),
        ],
    );
    let bin = env!("CARGO_BIN_EXE_eternalize");
    t.text(&format!(
        "cd '{}' && '{bin}' tui tests/fixtures/keras3_4; echo \"exit=$?\"",
        root.display()
    ));
    t.keys(&["Enter"]);
    t.wait_for("the unfinished deployment on Pick", |s| {
        s.contains("unfinished deployments (1)")
            && s.contains("↻ tests/fixtures/keras3_4/lenet_cnn.keras")
    });
    t.keys(&["Home", "Enter"]);
    t.wait_for("the dashboard of the resumed deployment", |s| {
        s.contains("Deploy │ tests/fixtures/keras3_4/lenet_cnn.keras")
            && s.contains("stopped: deployment engine not linked in this build")
    });
    t.keys(&["Escape"]);
    t.wait_for("Pick again", |s| {
        s.contains("Pick │ tests/fixtures/keras3_4")
    });

    t.text("lenet_cnn.keras");
    t.wait_for("the filtered list", |s| s.contains("2 of 28 model files"));
    t.keys(&["Enter"]);
    t.wait_for("the Preview screen", |s| s.contains("Layers 1/10"));
    t.keys(&["d"]);
    t.wait_for("the Confirm screen", |s| {
        s.contains("Type the first 4 characters")
    });
    t.text(&hashed_model[..4]);
    t.wait_for("the hash confirmed", |s| s.contains("confirmed"));
    t.keys(&["Enter"]);
    let s = t.wait_for("the dashboard", |s| {
        s.contains("stopped: deployment engine not linked in this build")
    });
    assert!(s.contains("nothing was sent"), "{s}");
    t.keys(&["q"]);
    let s = t.wait_for("the shell after quitting", |s| s.contains("exit=0"));
    assert!(!s.contains("Eternal deployed"), "nothing was deployed: {s}");
}
