//! The JSON-RPC client lives in `chain::rpc` (one client for every command); these re-exports
//! keep the engine's paths.

pub use crate::chain::rpc::{ChainRpc, Receipt, Rpc, RpcFailure, redact_url};
