//! The one JSON-RPC client every command uses (deploy, plan, resume, verify, predict, the TUI's
//! probes): every request has its own timeout, transient failures (connection resets, timeouts,
//! HTTP 5xx, 429 and JSON-RPC rate-limit errors) are retried with backoff, and every request is
//! counted. No error leaves with a URL in it: reqwest's errors are stripped of theirs at the
//! source, and any URL left in a node's text is redacted by parsing it ([`redact_url`]).
//!
//! Owns: talking HTTP JSON-RPC. Must not touch: what the requests mean (the engine's, and the
//! typed reads of `chain::read`).

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::transports::RpcError;
use alloy::transports::TransportErrorKind;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a request failed after retries.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RpcFailure {
    /// The node could not be reached or kept failing at the transport level.
    #[error("{0}")]
    Transport(String),
    /// The node kept rate-limiting.
    #[error("rate limited by the node: {0}")]
    RateLimited(String),
    /// The node answered with a JSON-RPC error.
    #[error("{message} (code {code})")]
    Node {
        code: i64,
        message: String,
        /// Revert data or other details, hex or JSON text.
        data: Option<String>,
    },
    /// The answer was not what the method returns.
    #[error("unexpected answer to {method}: {why}")]
    Decode { method: String, why: String },
}

impl RpcFailure {
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// Keeps scheme, host and port; drops user info, path, query and fragment, where providers put
/// API keys. Parsed, not matched: `HTTP://H:1?apikey=K`, `http://h:1/?apikey=K` and
/// `https://user:K@h/` all lose the key, and text that is no URL at all is not echoed.
pub fn redact_url(url: &str) -> String {
    let url = url.trim();
    let shown = |u: &url::Url, scheme: bool| {
        let mut out = if scheme {
            format!("{}://", u.scheme())
        } else {
            String::new()
        };
        out.push_str(u.host_str().unwrap_or_default());
        if let Some(port) = u.port() {
            out.push_str(&format!(":{port}"));
        }
        let tail =
            !u.path().trim_matches('/').is_empty() || u.query().is_some() || u.fragment().is_some();
        if tail {
            out.push_str("/…");
        }
        out
    };
    if let Ok(u) = url::Url::parse(url)
        && u.has_host()
    {
        return shown(&u, true);
    }
    // `host:port/KEY` without a scheme.
    if let Ok(u) = url::Url::parse(&format!("http://{url}"))
        && u.has_host()
    {
        return shown(&u, false);
    }
    "(a URL that does not parse)".into()
}

/// `text` with every URL in it (`scheme://…` up to a space, a quote or a closing bracket)
/// redacted by [`redact_url`], and reqwest's `for url (…)` dropped: the last line of defence for
/// text a node or a library wrote.
pub fn redact_urls_in(text: &str) -> String {
    let text = text.replace(" for url (", " (");
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let sep = from + found;
        let start = text[..sep]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let end = text[sep..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '>' | '"' | '\'' | '`'))
            .map_or(text.len(), |i| sep + i);
        if start < sep && start >= done {
            out.push_str(&text[done..start]);
            out.push_str(&redact_url(&text[start..end]));
            done = end;
        }
        from = end.max(sep + 3);
        if from >= bytes.len() {
            break;
        }
    }
    out.push_str(&text[done..]);
    out
}

/// An error and the chain of errors under it (`error sending request: client error (Connect):
/// tcp connect error: Connection refused`): reqwest's top line alone does not say whether the
/// port was closed, the name did not resolve or the TLS handshake failed.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// A connection to one node.
#[derive(Clone)]
pub struct Rpc {
    provider: DynProvider,
    url: String,
    requests: Arc<AtomicU64>,
    timeout: Duration,
    attempts: u32,
}

/// Shows the URL redacted: a `{:?}` of a connection (or of anything holding one) must not print
/// its API key.
impl std::fmt::Debug for Rpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rpc")
            .field("url", &self.display_url())
            .field("requests", &self.requests())
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl Rpc {
    pub fn connect(url: &str) -> Result<Rpc, RpcFailure> {
        let parsed = url.parse().map_err(|_| {
            RpcFailure::Transport(format!(
                "`{}` is not a valid RPC URL (expected e.g. http://127.0.0.1:8545)",
                redact_url(url)
            ))
        })?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(parsed)
            .erased();
        Ok(Rpc {
            provider,
            url: url.to_string(),
            requests: Arc::new(AtomicU64::new(0)),
            timeout: Duration::from_secs(15),
            attempts: 8,
        })
    }

    /// How many attempts a request gets against transient failures (≥ 1).
    pub fn with_attempts(mut self, attempts: u32) -> Rpc {
        self.attempts = attempts.max(1);
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Rpc {
        self.timeout = timeout;
        self
    }

    /// The URL with secrets redacted, for messages and the journal.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn scrub(&self, text: String) -> String {
        redact_urls_in(&text)
    }

    fn classify(&self, e: RpcError<TransportErrorKind>) -> (RpcFailure, bool) {
        match e {
            RpcError::ErrorResp(p) => {
                let message = self.scrub(p.message.to_string());
                let data = p.data.as_ref().map(|d| {
                    let s = d.get().to_string();
                    s.trim_matches('"').to_string()
                });
                let low = message.to_ascii_lowercase();
                if p.code == -32005
                    || low.contains("rate limit")
                    || low.contains("too many requests")
                {
                    (RpcFailure::RateLimited(message), true)
                } else {
                    (
                        RpcFailure::Node {
                            code: p.code,
                            message,
                            data,
                        },
                        false,
                    )
                }
            }
            RpcError::Transport(TransportErrorKind::HttpError(h)) => {
                if h.status == 429 {
                    (RpcFailure::RateLimited(format!("HTTP {}", h.status)), true)
                } else {
                    let body: String = h.body.chars().take(200).collect();
                    (
                        RpcFailure::Transport(self.scrub(format!("HTTP {}: {body}", h.status))),
                        h.status >= 500 || h.status == 408,
                    )
                }
            }
            RpcError::Transport(TransportErrorKind::Custom(e)) => {
                // reqwest prints the URL it was sending to, API key and all; drop it here, where
                // the error is still reqwest's.
                let text = match e.downcast::<reqwest::Error>() {
                    Ok(e) => with_causes(&e.without_url()),
                    Err(e) => with_causes(e.as_ref()),
                };
                (RpcFailure::Transport(self.scrub(text)), true)
            }
            RpcError::Transport(kind) => {
                let retry = !matches!(kind, TransportErrorKind::PubsubUnavailable);
                (RpcFailure::Transport(self.scrub(with_causes(&kind))), retry)
            }
            RpcError::DeserError { err, text } => {
                let text: String = text.chars().take(200).collect();
                (
                    RpcFailure::Transport(
                        self.scrub(format!("the node's answer is not JSON-RPC ({err}): {text}")),
                    ),
                    true,
                )
            }
            other => (RpcFailure::Transport(self.scrub(other.to_string())), true),
        }
    }

    /// One JSON-RPC request, retried on transient failures.
    pub async fn request<R: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Value,
    ) -> Result<R, RpcFailure> {
        let mut delay = Duration::from_millis(50);
        let mut last = RpcFailure::Transport("no attempt made".into());
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let call = self
                .provider
                .raw_request::<Value, Value>(method.into(), params.clone());
            let result = match tokio::time::timeout(self.timeout, call).await {
                Ok(r) => r,
                Err(_) => {
                    last = RpcFailure::Transport(format!(
                        "{method}: no answer from {} within {} s",
                        self.display_url(),
                        self.timeout.as_secs()
                    ));
                    continue;
                }
            };
            match result {
                Ok(v) => {
                    return serde_json::from_value(v).map_err(|e| RpcFailure::Decode {
                        method: method.into(),
                        why: e.to_string(),
                    });
                }
                Err(e) => {
                    let (failure, retry) = self.classify(e);
                    if !retry {
                        return Err(failure);
                    }
                    last = failure;
                }
            }
        }
        Err(last)
    }

    pub async fn chain_id(&self) -> Result<u64, RpcFailure> {
        let v: U256 = self.request("eth_chainId", json!([])).await?;
        Ok(v.saturating_to())
    }

    pub async fn block_number(&self) -> Result<u64, RpcFailure> {
        let v: U256 = self.request("eth_blockNumber", json!([])).await?;
        Ok(v.saturating_to())
    }

    pub async fn balance(&self, who: Address) -> Result<U256, RpcFailure> {
        self.request("eth_getBalance", json!([who, "latest"])).await
    }

    /// Transaction count at `tag` (`latest` or `pending`).
    pub async fn nonce(&self, who: Address, tag: &str) -> Result<u64, RpcFailure> {
        let v: U256 = self
            .request("eth_getTransactionCount", json!([who, tag]))
            .await?;
        Ok(v.saturating_to())
    }

    pub async fn code(&self, at: Address) -> Result<Bytes, RpcFailure> {
        self.request("eth_getCode", json!([at, "latest"])).await
    }

    pub async fn call(&self, to: Address, data: &Bytes) -> Result<Bytes, RpcFailure> {
        self.request("eth_call", json!([{"to": to, "data": data}, "latest"]))
            .await
    }

    /// `eth_call` given `gas` (inference needs more than some nodes' default).
    pub async fn call_with_gas(
        &self,
        to: Address,
        data: &Bytes,
        gas: u64,
    ) -> Result<Bytes, RpcFailure> {
        self.request(
            "eth_call",
            json!([{"to": to, "data": data, "gas": format!("{gas:#x}")}, "latest"]),
        )
        .await
    }

    /// `eth_call` as `from` (replays a transaction to read its revert).
    pub async fn call_from(
        &self,
        from: Address,
        to: Address,
        data: &Bytes,
    ) -> Result<Bytes, RpcFailure> {
        self.request(
            "eth_call",
            json!([{"from": from, "to": to, "data": data}, "latest"]),
        )
        .await
    }

    pub async fn estimate_gas(
        &self,
        from: Address,
        to: Address,
        data: &Bytes,
    ) -> Result<u64, RpcFailure> {
        let v: U256 = self
            .request(
                "eth_estimateGas",
                // Against mined state: some nodes (anvil) default to `pending`, where this
                // deployment's own pending transactions already created what the step creates.
                json!([{"from": from, "to": to, "data": data}, "latest"]),
            )
            .await?;
        Ok(v.saturating_to())
    }

    /// `(base fee of the latest block, or None before London; block gas limit)`.
    pub async fn latest_fees(&self) -> Result<(Option<u128>, u64), RpcFailure> {
        let block: Value = self
            .request("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        let num = |k: &str| {
            block
                .get(k)
                .and_then(Value::as_str)
                .and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        };
        Ok((
            num("baseFeePerGas"),
            num("gasLimit").map_or(30_000_000, |g| g as u64),
        ))
    }

    pub async fn max_priority_fee(&self) -> Result<u128, RpcFailure> {
        let v: U256 = self.request("eth_maxPriorityFeePerGas", json!([])).await?;
        Ok(v.saturating_to())
    }

    pub async fn gas_price(&self) -> Result<u128, RpcFailure> {
        let v: U256 = self.request("eth_gasPrice", json!([])).await?;
        Ok(v.saturating_to())
    }

    /// Broadcasts a signed transaction.
    pub async fn send_raw(&self, raw: &Bytes) -> Result<B256, RpcFailure> {
        self.request("eth_sendRawTransaction", json!([raw])).await
    }

    /// The receipt of `tx`, `None` while it is not mined.
    pub async fn receipt(&self, tx: B256) -> Result<Option<Receipt>, RpcFailure> {
        let v: Option<Value> = self
            .request("eth_getTransactionReceipt", json!([tx]))
            .await?;
        Ok(v.as_ref().and_then(Receipt::from_json))
    }

    /// Every receipt of block `number` (`None` when the node does not know the method).
    pub async fn block_receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>, RpcFailure> {
        match self
            .request::<Option<Vec<Value>>>("eth_getBlockReceipts", json!([format!("0x{number:x}")]))
            .await
        {
            Ok(list) => Ok(Some(
                list.unwrap_or_default()
                    .iter()
                    .filter_map(Receipt::from_json)
                    .collect(),
            )),
            Err(RpcFailure::Node { code: -32601, .. }) => Ok(None),
            Err(RpcFailure::Node { message, .. })
                if message.to_ascii_lowercase().contains("not found")
                    || message.to_ascii_lowercase().contains("not supported") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the node knows `tx` (in its pool or mined).
    pub async fn knows_transaction(&self, tx: B256) -> Result<bool, RpcFailure> {
        let v: Option<Value> = self
            .request("eth_getTransactionByHash", json!([tx]))
            .await?;
        Ok(v.is_some_and(|v| !v.is_null()))
    }
}

/// What the deployment engine asks of a node, and nothing more: the seam that lets the engine's
/// reconciliation, fee policy and send-error handling run against a fake chain in unit tests.
/// [`Rpc`] is the implementation that talks to a real node.
pub trait ChainRpc: Send + Sync {
    /// The node's URL with secrets redacted, for messages.
    fn display_url(&self) -> String;
    /// Requests sent so far (retries included).
    fn requests(&self) -> u64;
    fn block_number(&self) -> impl Future<Output = Result<u64, RpcFailure>> + Send;
    /// Transaction count of `who` at `tag` (`latest` or `pending`).
    fn nonce(
        &self,
        who: Address,
        tag: &str,
    ) -> impl Future<Output = Result<u64, RpcFailure>> + Send;
    fn balance(&self, who: Address) -> impl Future<Output = Result<U256, RpcFailure>> + Send;
    fn call(
        &self,
        to: Address,
        data: &Bytes,
    ) -> impl Future<Output = Result<Bytes, RpcFailure>> + Send;
    /// `eth_call` as `from` (replays a transaction to read its revert).
    fn call_from(
        &self,
        from: Address,
        to: Address,
        data: &Bytes,
    ) -> impl Future<Output = Result<Bytes, RpcFailure>> + Send;
    /// `(base fee of the latest block, or None before London; block gas limit)`.
    fn latest_fees(&self) -> impl Future<Output = Result<(Option<u128>, u64), RpcFailure>> + Send;
    /// Broadcasts a signed transaction.
    fn send_raw(&self, raw: &Bytes) -> impl Future<Output = Result<B256, RpcFailure>> + Send;
    /// The receipt of `tx`, `None` while it is not mined.
    fn receipt(&self, tx: B256)
    -> impl Future<Output = Result<Option<Receipt>, RpcFailure>> + Send;
    /// Every receipt of block `number` (`None` when the node does not know the method).
    fn block_receipts(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<Vec<Receipt>>, RpcFailure>> + Send;
    /// Whether the node knows `tx` (in its pool or mined).
    fn knows_transaction(&self, tx: B256) -> impl Future<Output = Result<bool, RpcFailure>> + Send;
}

impl ChainRpc for Rpc {
    fn display_url(&self) -> String {
        Rpc::display_url(self)
    }
    fn requests(&self) -> u64 {
        Rpc::requests(self)
    }
    fn block_number(&self) -> impl Future<Output = Result<u64, RpcFailure>> + Send {
        Rpc::block_number(self)
    }
    fn nonce(
        &self,
        who: Address,
        tag: &str,
    ) -> impl Future<Output = Result<u64, RpcFailure>> + Send {
        Rpc::nonce(self, who, tag)
    }
    fn balance(&self, who: Address) -> impl Future<Output = Result<U256, RpcFailure>> + Send {
        Rpc::balance(self, who)
    }
    fn call(
        &self,
        to: Address,
        data: &Bytes,
    ) -> impl Future<Output = Result<Bytes, RpcFailure>> + Send {
        Rpc::call(self, to, data)
    }
    fn call_from(
        &self,
        from: Address,
        to: Address,
        data: &Bytes,
    ) -> impl Future<Output = Result<Bytes, RpcFailure>> + Send {
        Rpc::call_from(self, from, to, data)
    }
    fn latest_fees(&self) -> impl Future<Output = Result<(Option<u128>, u64), RpcFailure>> + Send {
        Rpc::latest_fees(self)
    }
    fn send_raw(&self, raw: &Bytes) -> impl Future<Output = Result<B256, RpcFailure>> + Send {
        Rpc::send_raw(self, raw)
    }
    fn receipt(
        &self,
        tx: B256,
    ) -> impl Future<Output = Result<Option<Receipt>, RpcFailure>> + Send {
        Rpc::receipt(self, tx)
    }
    fn block_receipts(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<Vec<Receipt>>, RpcFailure>> + Send {
        Rpc::block_receipts(self, number)
    }
    fn knows_transaction(&self, tx: B256) -> impl Future<Output = Result<bool, RpcFailure>> + Send {
        Rpc::knows_transaction(self, tx)
    }
}

/// The part of a receipt the engine uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub tx_hash: B256,
    pub block: u64,
    pub gas_used: u64,
    pub effective_gas_price: u128,
    pub success: bool,
}

impl Receipt {
    fn from_json(v: &Value) -> Option<Receipt> {
        let hex = |k: &str| -> Option<u128> {
            let s = v.get(k)?.as_str()?;
            u128::from_str_radix(s.trim_start_matches("0x"), 16).ok()
        };
        Some(Receipt {
            tx_hash: v.get("transactionHash")?.as_str()?.parse().ok()?,
            block: hex("blockNumber")? as u64,
            gas_used: hex("gasUsed")? as u64,
            effective_gas_price: hex("effectiveGasPrice").unwrap_or(0),
            success: hex("status").is_none_or(|s| s == 1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key in the path, the query, the user info, behind an upper-case scheme, and where
    /// reqwest's normalisation adds a `/` before the query.
    const LEAKY: [&str; 6] = [
        "http://127.0.0.1:1/v2/SECRET",
        "http://127.0.0.1:1?apikey=SECRET",
        "http://127.0.0.1:1/?apikey=SECRET",
        "http://user:SECRET@127.0.0.1:1",
        "HTTP://user:SECRET@127.0.0.1:1/?apikey=SECRET",
        "HTTPS://127.0.0.1:1/SECRET/x?a=SECRET#SECRET",
    ];

    #[test]
    fn urls_lose_their_secrets() {
        assert_eq!(
            redact_url("https://user:pw@rpc.example.com/v1/SECRETKEY?x=1"),
            "https://rpc.example.com/…"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(
            redact_url("http://127.0.0.1:8545/"),
            "http://127.0.0.1:8545"
        );
        let want = [
            "http://127.0.0.1:1/…",
            "http://127.0.0.1:1/…",
            "http://127.0.0.1:1/…",
            "http://127.0.0.1:1",
            "http://127.0.0.1:1/…",
            "https://127.0.0.1:1/…",
        ];
        for (url, want) in LEAKY.iter().zip(want) {
            assert_eq!(redact_url(url), want, "{url}");
        }
        // Without a scheme, and not a URL at all.
        assert_eq!(redact_url("rpc.example:8545/SECRET"), "rpc.example:8545/…");
        assert!(!redact_url("SECRET stuff ::").contains("SECRET"));
    }

    #[test]
    fn urls_in_text_lose_their_secrets() {
        for url in LEAKY {
            let text = format!(
                "error sending request for url ({}): refused; again at {url} and \"{url}\"",
                url.to_ascii_lowercase()
            );
            let out = redact_urls_in(&text);
            assert!(!out.to_ascii_lowercase().contains("secret"), "{out}");
            assert!(out.starts_with("error sending request (http"), "{out}");
        }
        assert_eq!(redact_urls_in("://x"), "://x");
    }

    /// A real request to a closed port: reqwest's error names the URL; ours must not.
    #[test]
    fn failed_requests_name_no_secret() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for url in LEAKY {
            let rpc = Rpc::connect(url).unwrap().with_attempts(1);
            let e = rt.block_on(rpc.chain_id()).unwrap_err();
            let text = format!("{e} {e:?} {} {rpc:?}", rpc.display_url());
            assert!(matches!(e, RpcFailure::Transport(_)), "{url}: {e:?}");
            assert!(!text.contains("SECRET"), "{url}: {text}");
            assert!(text.contains("error sending request"), "{url}: {text}");
        }
    }
}
