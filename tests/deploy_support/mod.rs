//! Shared by the deployment tests: anvils with chosen mining modes, running the binary, reading a
//! deployment back, counting the deployer's transactions, a flaky JSON-RPC proxy, and the scan
//! for secrets.
#![allow(dead_code)]

use eternalize::chain::calls::model_salt_for;
use eternalize::chain::{Chain, ModelImage, WeightFormat, model_address, signer_from_hex};
use eternalize::engine::{Rpc, Source};
use eternalize::tools::{ANVIL_DEV_KEYS, AnvilProcess, Tools};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

pub const KEY0: &str = ANVIL_DEV_KEYS[0];
pub const KEY1: &str = ANVIL_DEV_KEYS[1];

pub fn anvil_path() -> PathBuf {
    Tools::in_repo().anvil().unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh anvil with `extra` arguments (automine when empty), enforcing the Osaka
/// per-transaction gas cap.
pub fn anvil(extra: &[&str]) -> AnvilProcess {
    let mut args = vec!["--enable-tx-gas-limit"];
    args.extend_from_slice(extra);
    AnvilProcess::spawn(&anvil_path(), &args).unwrap_or_else(|e| panic!("{e}"))
}

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// A fixture's path as a command-line argument.
pub fn fixture_str(relative: &str) -> String {
    fixture(relative).display().to_string()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs the binary with `args`, a data dir and extra environment.
pub fn eternalize(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_eternalize"));
    c.args(args)
        .env("ETERNALIZE_DATA_DIR", data)
        .env_remove("ETERNALIZE_PRIVATE_KEY")
        .env_remove("ETH_RPC_URL")
        .env_remove("ETERNALIZE_TEST_CRASH_AFTER")
        .env("ETERNALIZE_ANVIL", anvil_path())
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// `eternalize deploy MODEL --rpc-url URL --yes --json --chunk-bytes CHUNK` (MODEL relative to
/// tests/fixtures), with a data dir and extra environment.
pub fn deploy_json(
    data: &Path,
    model: &str,
    url: &str,
    chunk: usize,
    env: &[(&str, &str)],
) -> Output {
    let chunk = chunk.to_string();
    let args = [
        "deploy",
        &fixture_str(model),
        "--rpc-url",
        url,
        "--yes",
        "--json",
        "--chunk-bytes",
        &chunk,
    ];
    eternalize(data, &args, env)
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The `{"type": "done"}` line of a `--json` run.
pub fn done_line(o: &Output) -> Value {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "done")
        .unwrap_or_else(|| panic!("no done line:\n{}", text(o)))
}

/// The image a deployment of `path` by `key` in `format` with `chunk_bytes` puts on chain.
pub fn image_of(
    path: &Path,
    key: &str,
    format: WeightFormat,
    chunk_bytes: usize,
) -> (Source, ModelImage) {
    let source = Source::load(path).unwrap();
    let sender = signer_from_hex(key).unwrap().address();
    let model = model_address(sender, model_salt_for(&source.spec, format)).unwrap();
    let image = ModelImage::new(&source.spec, format, chunk_bytes, model).unwrap();
    (source, image)
}

/// Reads the deployment back: ready, every weight equal to the bundle.
pub fn assert_deployed(
    node_url: &str,
    path: &Path,
    key: &str,
    format: WeightFormat,
    chunk_bytes: usize,
) {
    let (source, image) = image_of(path, key, format, chunk_bytes);
    let chain = Chain::connect(node_url, signer_from_hex(key).unwrap()).unwrap();
    runtime().block_on(async {
        assert!(chain.is_ready(image.model).await.unwrap(), "not ready");
        crate::chain_support::assert_on_chain(&chain, &source.spec, &image).await;
    });
}

/// Every transaction `from` sent, in order, as the node returns it (`eth_getBlockByNumber`).
pub fn sent_by(node_url: &str, from: &str) -> Vec<Value> {
    let rpc = Rpc::connect(node_url).unwrap();
    let from = from.to_ascii_lowercase();
    runtime().block_on(async {
        let head = rpc.block_number().await.unwrap();
        let mut out = Vec::new();
        for b in 0..=head {
            let block: Value = rpc
                .request("eth_getBlockByNumber", json!([format!("0x{b:x}"), true]))
                .await
                .unwrap();
            out.extend(
                block["transactions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|tx| {
                        tx["from"].as_str().map(str::to_ascii_lowercase) == Some(from.clone())
                    }),
            );
        }
        out
    })
}

/// Every transaction `from` sent, in order: (to, input, success).
pub fn transactions_from(node_url: &str, from: &str) -> Vec<(String, String, bool)> {
    let rpc = Rpc::connect(node_url).unwrap();
    sent_by(node_url, from)
        .into_iter()
        .map(|tx| {
            let hash = tx["hash"].as_str().unwrap().to_string();
            let receipt: Value = runtime()
                .block_on(rpc.request("eth_getTransactionReceipt", json!([hash])))
                .unwrap();
            (
                tx["to"].as_str().unwrap_or("").to_string(),
                tx["input"].as_str().unwrap_or("").to_string(),
                receipt["status"] == "0x1",
            )
        })
        .collect()
}

/// No transaction sent twice, none failed, exactly `steps` of them.
pub fn assert_no_duplicates(node_url: &str, from: &str, steps: usize) {
    let txs = transactions_from(node_url, from);
    let mut inputs: Vec<&str> = txs.iter().map(|t| t.1.as_str()).collect();
    inputs.sort();
    let before = inputs.len();
    inputs.dedup();
    assert_eq!(before, inputs.len(), "a step was sent twice");
    assert!(txs.iter().all(|t| t.2), "a transaction failed");
    assert_eq!(txs.len(), steps, "transactions of the deployer");
}

/// Asserts none of `secrets` occurs in `text` (nor their 0x-less hex, any case).
pub fn assert_no_secret(text: &str, secrets: &[&str]) {
    let low = text.to_ascii_lowercase();
    for s in secrets {
        let bare = s.trim_start_matches("0x").to_ascii_lowercase();
        assert!(!low.contains(&bare), "a secret leaked into:\n{text}");
    }
}

/// Everything under `dir` (journals, logs, state), as text.
pub fn all_files(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push_str(&String::from_utf8_lossy(&b));
            }
        }
    }
    out
}

/// A JSON-RPC proxy in front of `upstream` that misbehaves on a share of requests: HTTP 429,
/// HTTP 502, connections closed before forwarding, forwarded but the answer lost, and delays.
/// Deterministic (a fixed-seed generator). One request per connection.
pub struct FlakyProxy {
    pub port: u16,
    pub requests: Arc<AtomicU64>,
    pub faults: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl FlakyProxy {
    pub fn start(upstream: u16, seed: u64) -> FlakyProxy {
        FlakyProxy::spawn(upstream, Some(seed))
    }

    /// A proxy that forwards every request, whatever its path, query or user info: a node
    /// behind a provider-style URL that carries an API key.
    pub fn faithful(upstream: u16) -> FlakyProxy {
        FlakyProxy::spawn(upstream, None)
    }

    fn spawn(upstream: u16, seed: Option<u64>) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicU64::new(0));
        let faults = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, f, s) = (requests.clone(), faults.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut state = seed.unwrap_or(0);
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // 99 forwards without fault.
                let roll = if seed.is_some() {
                    (state >> 33) % 100
                } else {
                    99
                };
                let (r, f) = (r.clone(), f.clone());
                std::thread::spawn(move || serve(conn, upstream, roll, &r, &f));
            }
        });
        FlakyProxy {
            port,
            requests,
            faults,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn read_request(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = conn.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf[end + 4..end + 4 + len].to_vec());
        }
    }
}

fn respond(conn: &mut TcpStream, status: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body);
    let _ = conn.flush();
}

fn forward(upstream: u16, body: &[u8]) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    let head = format!(
        "POST / HTTP/1.1\r\nhost: 127.0.0.1:{upstream}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    up.write_all(head.as_bytes()).ok()?;
    up.write_all(body).ok()?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).ok()?;
    let end = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some(resp[end + 4..].to_vec())
}

fn serve(mut conn: TcpStream, upstream: u16, roll: u64, requests: &AtomicU64, faults: &AtomicU64) {
    let Some(body) = read_request(&mut conn) else {
        return;
    };
    requests.fetch_add(1, Ordering::Relaxed);
    match roll {
        0..=7 => {
            faults.fetch_add(1, Ordering::Relaxed);
            respond(
                &mut conn,
                "429 Too Many Requests",
                b"{\"error\":\"slow down\"}",
            );
        }
        8..=13 => {
            faults.fetch_add(1, Ordering::Relaxed);
            respond(&mut conn, "502 Bad Gateway", b"upstream hiccup");
        }
        14..=19 => {
            // Reset before anything reaches the node.
            faults.fetch_add(1, Ordering::Relaxed);
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
        20..=25 => {
            // The node gets it; the answer is lost.
            faults.fetch_add(1, Ordering::Relaxed);
            let _ = forward(upstream, &body);
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
        26..=37 => {
            std::thread::sleep(Duration::from_millis(50 + roll * 5));
            if let Some(answer) = forward(upstream, &body) {
                respond(&mut conn, "200 OK", &answer);
            }
        }
        _ => {
            if let Some(answer) = forward(upstream, &body) {
                respond(&mut conn, "200 OK", &answer);
            }
        }
    }
}
