//! End to end: the real binary in a real pseudo-terminal (tmux), driven by keys as a person
//! would: open the Pick screen on the fixtures, filter to lenet, preview it, quit with `q`,
//! and check the terminal came back (alternate screen left, cooked mode, the shell works).
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
        let t = Tmux {
            socket: format!("eternalize-e2e-{}", std::process::id()),
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
