//! The local chain as eternalize starts it (`engine::network`'s code path, not a test's own
//! anvil): it answers no cross-origin request (a web page the operator visits must not be able to
//! rewrite it), it binds a port of its own choosing instead of one probed free and released, it
//! is installed only with consent (`verify`/`predict ADDRESS` refuse without a terminal or
//! `--yes`), and `deploy --yes` from an empty data dir installs the pinned `@foundry-rs/anvil`
//! with this platform's binary and deploys on it.

use crate::deploy_support::{anvil_path, done_line, fixture_str, text};
use eternalize::engine::network::{self, Config, Connected, InstallAnswer, Network, NetworkConfig};
use eternalize::tools::{ANVIL_PACKAGE, pinned_version};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const MLP: &str = "keras3_4/mlp_basic.keras";

/// `local` resolved and connected the way the commands do it, with the repository's anvil as the
/// config's `anvil` path (so nothing is installed into `data`).
fn start_local(data: &Path) -> (Network, Connected) {
    let mut config = Config::default();
    config.networks.insert(
        network::LOCAL.into(),
        NetworkConfig {
            anvil: Some(anvil_path()),
            ..NetworkConfig::default()
        },
    );
    let net = network::resolve(&config, Some(network::LOCAL), None).unwrap();
    assert!(net.is_local());
    let connected = network::connect_with_consent(&net, data, &mut |_| InstallAnswer::CannotAsk)
        .unwrap_or_else(|e| panic!("{e}"));
    (net, connected)
}

/// One HTTP/1.1 exchange over a plain socket: `head` is the request line and headers (each
/// ending in CRLF) without Host, Content-Length and Connection; the whole answer comes back.
fn http(url: &str, head: &str, body: &str) -> String {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{head}Host: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_local_chain_answers_no_cross_origin_request() {
    let data = tempfile::tempdir().unwrap();
    let (_net, connected) = start_local(data.path());
    let preflight = http(
        &connected.url,
        "OPTIONS / HTTP/1.1\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n",
        "",
    );
    assert!(preflight.starts_with("HTTP/1.1 "), "{preflight}");
    assert!(
        !preflight
            .to_lowercase()
            .contains("access-control-allow-origin"),
        "a page of another origin may call the local chain:\n{preflight}"
    );
    let post = http(
        &connected.url,
        "POST / HTTP/1.1\r\nOrigin: https://evil.example\r\nContent-Type: application/json\r\n",
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#,
    );
    // Still the chain eternalize talks to (no Origin matters to it)…
    assert!(post.contains("\"0x7a69\""), "{post}");
    // …but a browser would not hand the answer to another origin.
    assert!(
        !post.to_lowercase().contains("access-control-allow-origin"),
        "{post}"
    );
    // A page may still send a "simple" request without preflight (text/plain, answer unread):
    // it must not reach a method that writes.
    let blind = http(
        &connected.url,
        "POST / HTTP/1.1\r\nOrigin: https://evil.example\r\nContent-Type: text/plain\r\n",
        r#"{"jsonrpc":"2.0","id":1,"method":"anvil_setCode","params":["0x0000000000000000000000000000000000000bad","0x6001"]}"#,
    );
    assert!(!blind.contains("\"result\""), "{blind}");
    let code = http(
        &connected.url,
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\n",
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":["0x0000000000000000000000000000000000000bad","latest"]}"#,
    );
    assert!(code.contains(r#""result":"0x""#), "{code}");
}

/// The pids whose command line mentions `needle`, with their arguments.
fn processes_mentioning(needle: &str) -> Vec<(u32, Vec<String>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let args: Vec<String> = cmd
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args.iter().any(|a| a.contains(needle)) {
                out.push((pid, args));
            }
        }
    }
    out
}

#[test]
fn the_local_chain_binds_a_port_of_its_own_while_other_listeners_hold_ports() {
    // Other programs hold many loopback ports; the chain still starts, on none of them.
    let held: Vec<TcpListener> = (0..64)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let data = tempfile::tempdir().unwrap();
    let (_net, connected) = start_local(data.path());
    let port: u16 = connected
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {}", connected.url));
    assert!(
        !held.iter().any(|l| l.local_addr().unwrap().port() == port),
        "{port}"
    );
    let answer = http(
        &connected.url,
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\n",
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#,
    );
    assert!(answer.contains("\"0x7a69\""), "{answer}");
    // anvil bound the port itself (`--port 0`) and reported it: no port was probed free,
    // released, and handed over for another local user to take in between.
    let state = data.path().join("local-chain/anvil-state.json");
    let anvils = processes_mentioning(&state.display().to_string());
    assert_eq!(anvils.len(), 1, "{anvils:?}");
    let args = &anvils[0].1;
    let at = args.iter().position(|a| a == "--port").expect("--port");
    assert_eq!(args[at + 1], "0", "{args:?}");
    assert!(args.iter().any(|a| a == "--no-cors"), "{args:?}");
}

/// A folder holding only `node` and `npm` (links to the real ones): no anvil on PATH.
fn npm_only_path(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["node", "npm"] {
        let real = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{tool} is needed (Node.js with npm)"));
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    bin
}

/// The binary with an empty data dir of its own, PATH = `bin`, no anvil given, no chain, no
/// terminal. `HOME` stays: npm keeps its download cache there.
fn without_anvil(home: &Path, data: &Path, bin: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eternalize"))
        .args(args)
        .env("PATH", bin)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("ETERNALIZE_DATA_DIR", data)
        .env_remove("ETERNALIZE_ANVIL")
        .env_remove("ETERNALIZE_PRIVATE_KEY")
        .env_remove("ETH_RPC_URL")
        .env_remove("ETERNALIZE_TEST_CRASH_AFTER")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn verify_and_predict_by_address_install_nothing_without_yes() {
    let home = tempfile::tempdir().unwrap();
    let bin = npm_only_path(home.path());
    let data = home.path().join("data");
    let input = home.path().join("input.json");
    std::fs::write(&input, "[[0.5, 0.5]]").unwrap();
    let input = input.display().to_string();
    let address = "0x2ECc737f84439EC6CA0516DDAAe4e850a93B25e6";
    let model = fixture_str(MLP);
    let want = format!(
        "error: anvil is not installed and there is no terminal to ask on: pass --yes to install {ANVIL_PACKAGE}@{} from npm into {}, or put Foundry's anvil on PATH / set ETERNALIZE_ANVIL to an anvil binary\n",
        pinned_version(ANVIL_PACKAGE).unwrap(),
        data.join("tools").display()
    );
    for args in [
        vec!["verify", address, &model],
        vec!["predict", address, "--input", &input],
        vec!["verify", address, &model, "--json"],
    ] {
        let o = without_anvil(home.path(), &data, &bin, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stderr), want, "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(
            !data.join("tools/node_modules").exists(),
            "{args:?}: npm ran"
        );
        assert!(!data.join("local-chain").exists(), "{args:?}");
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn deploy_yes_installs_the_pinned_anvil_with_this_platforms_binary_and_deploys() {
    let home = tempfile::tempdir().unwrap();
    let bin = npm_only_path(home.path());
    let data = home.path().join("data");
    let o = without_anvil(
        home.path(),
        &data,
        &bin,
        &["deploy", &fixture_str(MLP), "--yes", "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let version = pinned_version(ANVIL_PACKAGE).unwrap();
    assert!(
        err.contains(&format!("installing @foundry-rs/anvil@{version}")),
        "{err}"
    );
    let done = done_line(&o);
    assert_eq!(done["chain_id"], 31337, "{done}");
    let modules = data.join("tools/node_modules/@foundry-rs");
    // The wrapper package is pinned; npm picked this platform's binary from its optional
    // dependencies, and no other platform's.
    let wrapper: Value =
        serde_json::from_slice(&std::fs::read(modules.join("anvil/package.json")).unwrap())
            .unwrap();
    assert_eq!(wrapper["version"], version.as_str());
    assert!(modules.join("anvil-linux-amd64/bin/anvil").is_file());
    assert!(!modules.join("anvil-darwin-arm64").exists());
    // --ignore-scripts: the wrapper's postinstall (which downloads a binary of its own when
    // the platform package is missing) did not run.
    assert!(!modules.join("anvil/anvil").exists());
}
