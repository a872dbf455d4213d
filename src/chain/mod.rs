//! The chain side of an Eternal: bindings to the contracts (from `artifacts/`), the pure
//! computation of what goes on chain (weight blob, chunks, Merkle commitment, layer configs,
//! CREATE2 addresses), the JSON-RPC client every command uses (`rpc`), typed reads through it
//! (`read`), and typed wrappers that send each step (`client`, for tests).
//!
//! Owns: the byte-exact encodings of contracts/README.md and the RPC calls, with their transport
//! retries and URL redaction. Must not touch: the screen, the journal, the retrying and
//! pipelining of transactions (the engine's), and never a key or an RPC URL's secret in a
//! message.

pub mod bindings;
pub mod calls;
pub mod client;
pub mod config;
pub mod config_shapes;
pub mod from_bundle;
pub mod from_model;
pub mod image;
pub mod jobs;
pub mod kind;
pub mod packed;
pub mod quant;
pub mod read;
pub mod rpc;
pub mod step;
pub mod weights;

pub use bindings::{
    ActivationsMissing, CREATE2_DEPLOYER, ConvKernelMissing, EternalActivations, EternalConvKernel,
    EternalFactory, EternalJobs, EternalModel, ILayer, Implementation, Shared, activations_address,
    conv_kernel_address, factory_address,
};
pub use client::{Chain, Deployed, ModelState, Sent, signer_from_hex};
pub use config::{LayerSource, Shape, encode_config};
pub use image::{LayerEntry, LayerImage, LayerSpec, ModelImage, ModelSpec, model_address};
pub use kind::LayerKind;
pub use rpc::{Rpc, RpcFailure, redact_url};
pub use step::Step;
pub use weights::{Chunks, MAX_CHUNK_BYTES, TensorSpan, WeightBlob, WeightFormat};

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolInterface;

/// A revert, decoded against every contract's custom errors.
#[derive(Debug, PartialEq, Eq)]
pub enum Revert {
    Model(EternalModel::EternalModelErrors),
    Jobs(EternalJobs::EternalJobsErrors),
    Factory(EternalFactory::EternalFactoryErrors),
    Layer(ILayer::ILayerErrors),
    /// A layer (`layer`, its index, when the model or a job step called it) needs a shared
    /// contract (the rare activations', the convolution kernel), which has no code at `at` on
    /// this chain.
    SharedMissing {
        layer: Option<U256>,
        contract: Shared,
        at: Address,
    },
    /// Revert data no contract of ours produces (or none at all).
    Other(Bytes),
}

impl Revert {
    pub fn decode(data: &[u8]) -> Revert {
        if let Some(r) = Revert::shared_missing(data) {
            return r;
        }
        if let Ok(e) = EternalModel::EternalModelErrors::abi_decode(data) {
            return Revert::Model(e);
        }
        if let Ok(e) = EternalJobs::EternalJobsErrors::abi_decode(data) {
            return Revert::Jobs(e);
        }
        if let Ok(e) = EternalFactory::EternalFactoryErrors::abi_decode(data) {
            return Revert::Factory(e);
        }
        if let Ok(e) = ILayer::ILayerErrors::abi_decode(data) {
            return Revert::Layer(e);
        }
        Revert::Other(Bytes::copy_from_slice(data))
    }
}

impl Revert {
    /// `ActivationsMissing` or `ConvKernelMissing` from a layer called directly, or wrapped in
    /// the model's or a job step's `LayerFailed` (then with the layer's index).
    fn shared_missing(data: &[u8]) -> Option<Revert> {
        let (layer, reason) = match EternalModel::EternalModelErrors::abi_decode(data) {
            Ok(EternalModel::EternalModelErrors::LayerFailed(f)) => (Some(f.index), f.reason),
            _ => match EternalJobs::EternalJobsErrors::abi_decode(data) {
                Ok(EternalJobs::EternalJobsErrors::LayerFailed(f)) => (Some(f.index), f.reason),
                _ => (None, Bytes::copy_from_slice(data)),
            },
        };
        let (contract, at) = Shared::missing_in(&reason)?;
        Some(Revert::SharedMissing {
            layer,
            contract,
            at,
        })
    }
}

impl std::fmt::Display for Revert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Revert::Model(e) => write!(f, "{e:?}"),
            Revert::Factory(e) => write!(f, "{e:?}"),
            Revert::Jobs(e) => write!(f, "{e:?}"),
            Revert::Layer(e) => write!(f, "{e:?}"),
            Revert::SharedMissing {
                layer,
                contract,
                at,
            } => {
                match layer {
                    Some(i) => write!(f, "layer #{i} ")?,
                    None => f.write_str("the layer ")?,
                }
                write!(
                    f,
                    "needs {} ({}, {}) at {at}, which has no code on this chain; `eternalize deploy` places it",
                    contract.description(),
                    contract.contract_name(),
                    contract.role()
                )
            }
            Revert::Other(data) if data.is_empty() => write!(f, "a revert without data"),
            Revert::Other(data) => write!(f, "unknown revert data {data}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("weight layout: {0}")]
    Layout(String),
    #[error("layer '{layer}' ({class}): {why}")]
    LayerConfig {
        layer: String,
        class: String,
        why: String,
    },
    #[error("bundle: {0}")]
    Bundle(String),
    #[error("artifact {name}: {why}; rebuild with `node scripts/build-contracts.mjs`")]
    Artifact { name: String, why: String },
    #[error("the private key is not 32 bytes of hex (the key itself is not shown)")]
    Key,
    #[error("`{0}` is not a valid RPC URL (expected e.g. http://127.0.0.1:8545)")]
    Url(String),
    #[error(
        "this chain has no CREATE2 deployer at {CREATE2_DEPLOYER}; deploy it first (https://github.com/Arachnid/deterministic-deployment-proxy) — the factory's address depends on it"
    )]
    NoCreate2Deployer,
    #[error("could not {action}: RPC error: {source}")]
    Rpc {
        action: String,
        source: Box<alloy::transports::TransportError>,
    },
    #[error("could not {action}: RPC error: {failure}")]
    Read {
        action: String,
        failure: rpc::RpcFailure,
    },
    #[error("could not {action}: {source}")]
    Call {
        action: String,
        source: Box<alloy::contract::Error>,
    },
    #[error("could not {action}: the contract reverted with {revert}")]
    Reverted { action: String, revert: Box<Revert> },
    #[error("could not {action}: transaction {tx} reverted after using {gas_used} gas")]
    Failed {
        action: String,
        tx: B256,
        gas_used: u64,
    },
    #[error("could not {action}: no receipt for transaction {tx}: {source}")]
    Pending {
        action: String,
        tx: B256,
        source: Box<alloy::providers::PendingTransactionError>,
    },
    #[error("{0}")]
    Mismatch(String),
}

impl ChainError {
    /// The decoded revert, if this is one.
    pub fn revert(&self) -> Option<&Revert> {
        match self {
            ChainError::Reverted { revert, .. } => Some(revert.as_ref()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;
    use alloy::sol_types::SolError;

    /// A layer's `ActivationsMissing` and `ConvKernelMissing` are named alone, inside the
    /// model's `LayerFailed` and inside a job step's.
    #[test]
    fn a_missing_shared_contract_is_decoded_wherever_it_is_wrapped() {
        let at = address!("5a84831a4cc794bbee5d96a4e00dd9c6c72316fe");
        for (contract, reason, starts) in [
            (
                Shared::Activations,
                ActivationsMissing { activations: at }.abi_encode(),
                "layer #9 needs the activations contract (EternalActivations",
            ),
            (
                Shared::ConvKernel,
                ConvKernelMissing { kernel: at }.abi_encode(),
                "layer #9 needs the convolution kernel contract (EternalConvKernel",
            ),
        ] {
            let reason = Bytes::from(reason);
            let index = U256::from(9);
            let model = EternalModel::LayerFailed {
                index,
                reason: reason.clone(),
            }
            .abi_encode();
            let job = EternalJobs::LayerFailed {
                index,
                reason: reason.clone(),
            }
            .abi_encode();
            for (data, layer) in [
                (&model, Some(index)),
                (&job, Some(index)),
                (&reason.to_vec(), None),
            ] {
                let r = Revert::decode(data);
                assert_eq!(
                    r,
                    Revert::SharedMissing {
                        layer,
                        contract,
                        at
                    }
                );
                assert!(r.to_string().contains(contract.contract_name()), "{r}");
            }
            let named = Revert::decode(&model).to_string();
            assert!(named.starts_with(starts), "{named}");
        }
    }
}
