//! An API key in the RPC URL reaches no output, no journal and no log, whichever way the URL
//! carries it — in the path, in the query, in the user info, behind an upper-case scheme (which
//! reqwest lower-cases, defeating an exact-string redaction) — and whichever command used it:
//! `plan`, `deploy` (killed mid-way, then again once done), `resume` (against a dead port, then the
//! node), `deployments`, `verify` and `predict ADDRESS`, plain and `--json`, against a real anvil
//! behind a proxy that answers on any path, and against a closed port. The TUI's probe of a
//! configured network with such a URL shows neither on screen nor in its log file.

use crate::deploy_support::*;
use crate::terminal_support::Terminal;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const KEY: &str = "SECRETKEY";
const MLP: &str = "keras3_4/mlp_basic.keras";

/// `http://127.0.0.1:PORT` with the key placed as providers place it.
fn keyed_urls(port: u16) -> [(&'static str, String); 4] {
    [
        ("path", format!("http://127.0.0.1:{port}/v2/{KEY}")),
        ("query", format!("http://127.0.0.1:{port}?apikey={KEY}")),
        ("user info", format!("http://user:{KEY}@127.0.0.1:{port}/")),
        (
            "upper-case scheme",
            format!("HTTP://127.0.0.1:{port}/v3/{KEY}?apikey={KEY}"),
        ),
    ]
}

/// Every run's output, labelled, to be searched for the key at the end.
#[derive(Default)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn add(&mut self, what: String, o: &Output) -> String {
        let all = text(o);
        self.0.push((what, all.clone()));
        all
    }

    fn assert_no_key(&self) {
        for (what, out) in &self.0 {
            assert!(
                !out.to_ascii_lowercase().contains(&KEY.to_ascii_lowercase()),
                "{what} printed the key:\n{out}"
            );
        }
    }
}

fn with_key(data: &Path, args: &[&str]) -> Output {
    eternalize(data, args, &[("ETERNALIZE_PRIVATE_KEY", KEY0)])
}

#[test]
fn an_api_key_in_the_rpc_url_reaches_no_output_journal_or_log() {
    // One thread per placement of the key: each has its own anvil, proxy and data dir, and most
    // of the time goes to runs retrying a dead port.
    let runs: Vec<_> = (0..keyed_urls(0).len())
        .map(|k| std::thread::spawn(move || one_placement(k)))
        .collect();
    for run in runs {
        run.join().unwrap().assert_no_key();
    }
}

/// Every command against the `k`-th placement of the key in the URL.
fn one_placement(k: usize) -> Seen {
    let home = tempfile::tempdir().unwrap();
    let input = home.path().join("input.json");
    std::fs::write(&input, format!("[[{}]]", vec!["0.25"; 16].join(", "))).unwrap();
    let input = input.display().to_string();
    let model = fixture_str(MLP);
    let mut seen = Seen::default();
    let how = keyed_urls(0)[k].0;
    {
        let node = anvil(&[]);
        let proxy = FlakyProxy::faithful(node.port());
        let url = keyed_urls(proxy.port)[k].1.clone();
        let dead = keyed_urls(1)[k].1.clone();
        let data = home.path().join(format!("data-{k}"));
        let label = |args: &[&str]| format!("[{how}] {}", args.join(" "));

        for json in [false, true] {
            let mut args = vec!["plan", &model, "--rpc-url", &url];
            if json {
                args.push("--json");
            }
            let o = with_key(&data, &args);
            let out = seen.add(label(&args), &o);
            assert!(o.status.success(), "{}: {out}", label(&args));
        }

        // A deployment killed after its 9th journal write, then resumed: first against a dead
        // port (the error names the endpoint), then against the node.
        let args = [
            "deploy",
            &model,
            "--rpc-url",
            &url,
            "--yes",
            "--json",
            "--chunk-bytes",
            "256",
            "--window",
            "1",
        ];
        let o = eternalize(
            &data,
            &args,
            &[
                ("ETERNALIZE_PRIVATE_KEY", KEY0),
                ("ETERNALIZE_TEST_CRASH_AFTER", "9"),
            ],
        );
        seen.add(label(&args), &o);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(o.status.signal(), Some(9), "{}", text(&o));
        let args = ["resume", "--rpc-url", &dead, "--yes"];
        let o = with_key(&data, &args);
        let out = seen.add(label(&args), &o);
        assert_eq!(o.status.code(), Some(1), "{}: {out}", label(&args));
        let args = ["resume", "--rpc-url", &url, "--yes"];
        let o = with_key(&data, &args);
        let out = seen.add(label(&args), &o);
        assert!(o.status.success(), "{}: {out}", label(&args));
        let args = ["resume", "--rpc-url", &url, "--yes", "--json"];
        seen.add(label(&args), &with_key(&data, &args));

        // Deploying again finds it done; its address for verify and predict.
        let args = ["deploy", &model, "--rpc-url", &url, "--yes"];
        let o = with_key(&data, &args);
        let out = seen.add(label(&args), &o);
        assert!(o.status.success(), "{}: {out}", label(&args));
        let args = ["deploy", &model, "--rpc-url", &url, "--yes", "--json"];
        let o = with_key(&data, &args);
        seen.add(label(&args), &o);
        let address = done_line(&o)["model_address"].as_str().unwrap().to_string();
        for args in [vec!["deployments"], vec!["deployments", "--json"]] {
            let o = with_key(&data, &args);
            seen.add(label(&args), &o);
            assert!(o.status.success(), "{}", text(&o));
        }

        for json in [false, true] {
            let reach = [
                vec!["verify", &address, &model, "--rpc-url", &url],
                vec!["predict", &address, "--input", &input, "--rpc-url", &url],
            ];
            let fail = [
                vec!["verify", &address, &model, "--rpc-url", &dead],
                vec!["predict", &address, "--input", &input, "--rpc-url", &dead],
                vec!["plan", &model, "--rpc-url", &dead],
                vec!["deploy", &model, "--rpc-url", &dead, "--yes"],
            ];
            for (ok, mut args) in reach
                .into_iter()
                .map(|a| (true, a))
                .chain(fail.into_iter().map(|a| (false, a)))
            {
                if json {
                    args.push("--json");
                }
                let o = with_key(&data, &args);
                let out = seen.add(label(&args), &o);
                assert_eq!(o.status.success(), ok, "{}: {out}", label(&args));
            }
        }

        // The journals (and anything else the runs wrote) hold no key.
        let files = all_files(&data);
        assert!(
            files.contains("\"kind\":\"started\""),
            "no journal written under {data:?}"
        );
        assert!(!files.contains(KEY), "[{how}] the data dir holds the key");
        assert!(proxy.requests.load(std::sync::atomic::Ordering::Relaxed) > 0);
    }
    seen
}

/// The TUI previews a model with the configured default network at a keyed URL: the probe
/// reaches the node (chain id and balance on screen) and the screen shows the endpoint without
/// its key; the log file under the data dir holds no key either. Then the same with the node
/// gone: the probe's error names the endpoint, still without the key.
#[test]
fn the_tui_probe_shows_and_logs_no_api_key() {
    for (how, _) in keyed_urls(0) {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("data");
        let config = home.path().join("config");
        let node = anvil(&[]);
        let proxy = FlakyProxy::faithful(node.port());
        let url = keyed_urls(proxy.port)
            .into_iter()
            .find(|(h, _)| *h == how)
            .unwrap()
            .1;
        std::fs::create_dir_all(config.join("eternalize")).unwrap();
        std::fs::write(
            config.join("eternalize/config.toml"),
            format!(
                "default_network = \"keyed\"\n\n[networks.keyed]\nrpc_url = \"{url}\"\n\n[networks.gone]\nrpc_url = \"{}\"\n",
                keyed_urls(1).into_iter().find(|(h, _)| *h == how).unwrap().1
            ),
        )
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_eternalize"));
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["tui", "tests/fixtures/keras3_4"])
            .env_remove("ETH_RPC_URL")
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", &data)
            .env("XDG_CONFIG_HOME", &config)
            .env("ETERNALIZE_ANVIL", anvil_path())
            .env("ETERNALIZE_LOG", "debug")
            .env("ETERNALIZE_PRIVATE_KEY", KEY0)
            .stdin(Stdio::null());
        let t = Terminal::start(120, 40, command);
        t.wait_for("the Pick screen", |s| s.contains("mlp_basic.keras"));
        t.text("mlp_basic.keras");
        t.wait_for("the filtered list", |s| s.contains("2 of 28 model files"));
        t.keys(&["Enter"]);
        let s = t.wait_up_to(Duration::from_secs(30), "the probe of keyed", |s| {
            s.contains("keyed · chain 31337") && s.contains("ETH ✓")
        });
        assert!(
            s.contains("127.0.0.1"),
            "[{how}] the endpoint on screen:\n{s}"
        );
        assert!(!s.contains(KEY), "[{how}] the key on screen:\n{s}");
        drop(proxy);
        drop(node);
        // `n` cycles the networks: the default, local, then the configured `gone` at a closed
        // port.
        t.keys(&["n"]);
        t.wait_up_to(Duration::from_secs(30), "the probe of local", |s| {
            s.contains("local · chain 31337")
        });
        t.keys(&["n"]);
        let s = t.wait_up_to(Duration::from_secs(60), "the probe of gone", |s| {
            s.contains("network      gone") && s.contains("✗ could not read the chain id at")
        });
        assert!(!s.contains(KEY), "[{how}] the key on screen:\n{s}");
        t.keys(&["q"]);
        t.wait_exit(Duration::from_secs(10));
        let log = all_files(&data);
        assert!(log.contains("tui start"), "[{how}] no log under {data:?}");
        assert!(!log.contains(KEY), "[{how}] the key in the log:\n{log}");
    }
}
