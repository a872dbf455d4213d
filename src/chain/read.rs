//! Reads of what landed on chain, through the one JSON-RPC client ([`Rpc`]): code, the latest
//! block's gas limit, and typed `eth_call`s encoded and decoded with the `sol!` bindings (the
//! model's state, chunk addresses, layer configs and tensors, `predict`). A revert comes back
//! decoded against our contracts' errors.
//!
//! Owns: what each read asks and how its answer decodes. Must not touch: sending, the screen.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use serde_json::{Value, json};

use super::bindings::{EternalModel, ILayer};
use super::client::ModelState;
use super::rpc::{Rpc, RpcFailure};
use super::{ChainError, Revert};

/// A failed read in the chain's words: a revert decoded, anything else with what was being done.
pub fn read_error(action: String, failure: RpcFailure) -> ChainError {
    match revert_data(&failure) {
        Some(data) => ChainError::Reverted {
            action,
            revert: Box::new(Revert::decode(&data)),
        },
        None => ChainError::Read { action, failure },
    }
}

/// The revert data of a node's error, as alloy finds it: a message saying "revert" and hex data,
/// bare or somewhere inside a JSON object.
fn revert_data(failure: &RpcFailure) -> Option<Bytes> {
    fn spelunk(v: &Value) -> Option<Bytes> {
        match v {
            Value::String(s) => s.parse().ok(),
            Value::Object(o) => o.values().find_map(spelunk),
            _ => None,
        }
    }
    let RpcFailure::Node {
        message,
        data: Some(data),
        ..
    } = failure
    else {
        return None;
    };
    if !message.contains("revert") {
        return None;
    }
    data.parse()
        .ok()
        .or_else(|| spelunk(&serde_json::from_str(data).ok()?))
}

impl Rpc {
    /// `eth_call` of `call` on `to` (given `gas`, or the node's default), its answer decoded.
    pub async fn sol_call<C: SolCall>(
        &self,
        to: Address,
        call: &C,
        gas: Option<u64>,
        action: impl Fn() -> String,
    ) -> Result<C::Return, ChainError> {
        let data = Bytes::from(call.abi_encode());
        let answer = match gas {
            Some(gas) => self.call_with_gas(to, &data, gas).await,
            None => self.call(to, &data).await,
        }
        .map_err(|f| read_error(action(), f))?;
        C::abi_decode_returns(&answer).map_err(|e| {
            ChainError::Mismatch(format!(
                "could not {}: the answer of {to} ({} bytes) does not decode: {e}",
                action(),
                answer.len()
            ))
        })
    }

    /// The runtime code at `address` (empty when there is none).
    pub async fn code_at(&self, address: Address) -> Result<Bytes, ChainError> {
        self.code(address)
            .await
            .map_err(|f| read_error(format!("read the code at {address}"), f))
    }

    pub async fn has_code(&self, address: Address) -> Result<bool, ChainError> {
        Ok(!self.code_at(address).await?.is_empty())
    }

    /// The gas limit of the latest block: the gas `eth_call`s for inference are given.
    pub async fn block_gas_limit(&self) -> Result<u64, ChainError> {
        let block: Option<Value> = self
            .request("eth_getBlockByNumber", json!(["latest", false]))
            .await
            .map_err(|f| read_error("read the latest block".into(), f))?;
        let block = block
            .ok_or_else(|| ChainError::Mismatch("the node returned no latest block".into()))?;
        block
            .get("gasLimit")
            .and_then(Value::as_str)
            .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| {
                ChainError::Mismatch("the node's latest block has no readable gasLimit".into())
            })
    }

    /// Everything the model contract says about itself.
    pub async fn model_state(&self, model: Address) -> Result<ModelState, ChainError> {
        use EternalModel as M;
        let action = || "read the model state".to_string();
        let hashes = self
            .sol_call(model, &M::hashedModelCall {}, None, action)
            .await?;
        Ok(ModelState {
            owner: self.sol_call(model, &M::ownerCall {}, None, action).await?,
            constructed: self
                .sol_call(model, &M::isConstructedCall {}, None, action)
                .await?,
            ready: self
                .sol_call(model, &M::isReadyCall {}, None, action)
                .await?,
            chunks_received: u64::try_from(
                self.sol_call(model, &M::chunksReceivedCall {}, None, action)
                    .await?,
            )
            .unwrap_or(u64::MAX),
            layout: self
                .sol_call(model, &M::weightLayoutCall {}, None, action)
                .await?,
            graph_hash: hashes.graphHash,
            weights_hash: hashes.weightsHash,
            layers: self
                .sol_call(model, &M::layersCall {}, None, action)
                .await?,
        })
    }

    pub async fn is_ready(&self, model: Address) -> Result<bool, ChainError> {
        self.sol_call(model, &EternalModel::isReadyCall {}, None, || {
            "read isReady".into()
        })
        .await
    }

    pub async fn chunks_received(&self, model: Address) -> Result<u64, ChainError> {
        let n = self
            .sol_call(model, &EternalModel::chunksReceivedCall {}, None, || {
                "read chunksReceived".into()
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    /// Data contract of chunk `index` (zero while missing).
    pub async fn chunk_address(&self, model: Address, index: usize) -> Result<Address, ChainError> {
        let call = EternalModel::chunkAddressCall {
            index: U256::from(index),
        };
        self.sol_call(model, &call, None, || "read a chunk address".into())
            .await
    }

    /// Raw bytes `[start, start + length)` of the stored weight blob.
    pub async fn weight_bytes(
        &self,
        model: Address,
        start: usize,
        length: usize,
    ) -> Result<Bytes, ChainError> {
        let call = EternalModel::weightBytesCall {
            start: U256::from(start),
            length: U256::from(length),
        };
        self.sol_call(model, &call, None, || "read weight bytes".into())
            .await
    }

    /// A layer's tensor list as deployed.
    pub async fn layer_tensors(
        &self,
        layer: Address,
    ) -> Result<Vec<ILayer::WeightTensor>, ChainError> {
        self.sol_call(layer, &ILayer::tensorsCall {}, None, || {
            "read layer tensors".into()
        })
        .await
    }

    /// A layer's ABI-encoded config as deployed.
    pub async fn layer_config(&self, layer: Address) -> Result<Bytes, ChainError> {
        self.sol_call(layer, &ILayer::configDataCall {}, None, || {
            "read a layer config".into()
        })
        .await
    }

    /// Asks the layer to decode and range-check its own config.
    pub async fn check_layer_config(&self, layer: Address) -> Result<bool, ChainError> {
        self.sol_call(layer, &ILayer::checkConfigCall {}, None, || {
            "check a layer config".into()
        })
        .await
    }

    /// Values `[start, start + count)` of tensor `tensor` of `layer`, decoded to Q32.32 by the
    /// layer contract.
    pub async fn layer_weights(
        &self,
        layer: Address,
        tensor: usize,
        start: u64,
        count: u64,
    ) -> Result<Vec<i64>, ChainError> {
        let call = ILayer::weightSliceCall {
            index: U256::from(tensor),
            start: U256::from(start),
            count: U256::from(count),
        };
        let values = self
            .sol_call(layer, &call, None, || "read layer weights".into())
            .await?;
        values
            .into_iter()
            .map(|v| {
                i64::try_from(v).map_err(|_| {
                    ChainError::Mismatch(format!(
                        "layer {layer} returned a weight outside int64: {v}"
                    ))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(message: &str, data: Option<&str>) -> RpcFailure {
        RpcFailure::Node {
            code: 3,
            message: message.into(),
            data: data.map(str::to_string),
        }
    }

    #[test]
    fn reverts_are_found_where_alloy_finds_them() {
        let e = read_error("x".into(), node("execution reverted", Some("0x1234")));
        assert_eq!(
            e.revert(),
            Some(&Revert::Other(Bytes::from_static(&[0x12, 0x34])))
        );
        let e = read_error(
            "x".into(),
            node("execution reverted", Some(r#"{"data":"0x"}"#)),
        );
        assert_eq!(e.revert(), Some(&Revert::Other(Bytes::new())));
        let e = read_error("read it".into(), node("out of gas", Some("0x")));
        assert!(e.revert().is_none());
        assert_eq!(
            e.to_string(),
            "could not read it: RPC error: out of gas (code 3)"
        );
    }
}
