//! Pure calldata of every deployment step: `(to, data, value)` per [`Step`], a conservative gas
//! bound for steps that cannot be estimated before earlier ones land, and the chain reads that
//! tell whether a step is already done. Nothing here talks to a node, so the engine can sign a
//! whole deployment up front (every address is a CREATE2 address known in advance).

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol_types::{SolCall, SolValue};

use super::ChainError;
use super::Step;
use super::bindings::{
    CREATE2_DEPLOYER, EternalFactory, EternalModel, Implementation, Shared, factory_address,
};
use super::image::{ModelImage, ModelSpec};

/// Layer clones per `createLayers` transaction (same as the one-at-a-time client).
pub use super::client::LAYERS_PER_TX;

/// One transaction's destination, input and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub to: Address,
    pub data: Bytes,
    pub value: U256,
}

/// The model's CREATE2 salt: one Eternal per model hash and on-chain weight format, so the same
/// deployer deploying the same bundle again lands on the same address (and finds it done).
pub fn model_salt_for(spec: &ModelSpec, format: super::WeightFormat) -> B256 {
    model_salt_of(spec.graph_hash, spec.weights_hash, format.code())
}

/// [`model_salt_for`] from the hashes and format code a model reports on chain (a verifier
/// recomputes where the factory must have put it).
pub fn model_salt_of(graph_hash: B256, weights_hash: B256, format_code: u8) -> B256 {
    keccak256((graph_hash, weights_hash, U256::from(format_code)).abi_encode_params())
}

/// Every step of deploying `spec` as `image`, in nonce order: factory, shared contracts
/// (activations, convolution kernel), implementations, model, layer batches, construct, chunks.
pub fn all_steps(spec: &ModelSpec, image: &ModelImage) -> Vec<Step> {
    let mut steps = vec![Step::Factory];
    steps.extend(Shared::ALL.map(Shared::step));
    for i in spec.implementations() {
        steps.push(Step::Implementation {
            contract: i.contract_name().to_string(),
        });
    }
    steps.push(Step::Model);
    let n = image.layers.len();
    let mut first = 0;
    while first < n {
        let count = (n - first).min(LAYERS_PER_TX);
        steps.push(Step::Layers { first, count });
        first += count;
    }
    steps.push(Step::Construct);
    steps.extend((0..image.chunks.count()).map(|index| Step::Chunk { index }));
    steps
}

/// The implementation a step named `contract` deploys.
pub fn implementation_named(
    spec: &ModelSpec,
    contract: &str,
) -> Result<Implementation, ChainError> {
    spec.implementations()
        .into_iter()
        .find(|i| i.contract_name() == contract)
        .ok_or_else(|| ChainError::Bundle(format!("this model uses no implementation {contract}")))
}

/// The transaction of `step`. `salt` is the model's ([`model_salt_for`]).
pub fn call_for(
    step: &Step,
    spec: &ModelSpec,
    image: &ModelImage,
    salt: B256,
) -> Result<Call, ChainError> {
    let factory = factory_address();
    let (to, data) = match step {
        Step::Factory => create2_placement(&EternalFactory::BYTECODE),
        Step::Activations => create2_placement(Shared::Activations.bytecode()),
        Step::ConvKernel => create2_placement(Shared::ConvKernel.bytecode()),
        Step::Implementation { contract } => {
            let imp = implementation_named(spec, contract)?;
            let call = EternalFactory::deployImplementationCall {
                initcode: imp.bytecode()?.clone(),
            };
            (factory, call.abi_encode())
        }
        Step::Model => {
            let call = EternalFactory::createModelCall {
                implementation: Implementation::Model.address()?,
                salt,
            };
            (factory, call.abi_encode())
        }
        Step::Layers { first, count } => {
            let clones = image.clones();
            let batch = clones.get(*first..first + count).ok_or_else(|| {
                ChainError::Bundle(format!(
                    "layers {first}..{} are beyond the model's {} layers",
                    first + count,
                    clones.len()
                ))
            })?;
            let call = EternalFactory::createLayersCall {
                layers: batch.to_vec(),
            };
            (factory, call.abi_encode())
        }
        Step::Construct => {
            let call = EternalModel::constructModelCall {
                graphHash: image.graph_hash,
                weightsHash: image.weights_hash,
                layerLinks: image.links(),
                layout: image.layout(),
            };
            (image.model, call.abi_encode())
        }
        Step::Chunk { index } => {
            if *index >= image.chunks.count() {
                return Err(ChainError::Bundle(format!(
                    "chunk {index} is beyond the model's {} chunks",
                    image.chunks.count()
                )));
            }
            let call = EternalModel::storeChunkCall {
                index: U256::from(*index),
                data: Bytes::copy_from_slice(image.chunk(*index)),
                proof: image.chunks.proof(*index),
            };
            (image.model, call.abi_encode())
        }
    };
    Ok(Call {
        to,
        data: data.into(),
        value: U256::ZERO,
    })
}

/// The deterministic CREATE2 deployer's input placing `initcode` at salt 0 (the factory, the
/// shared contracts, the job contract).
pub fn create2_placement(initcode: &[u8]) -> (Address, Vec<u8>) {
    let mut data = vec![0u8; 32];
    data.extend_from_slice(initcode);
    (CREATE2_DEPLOYER, data)
}

/// Gas of the calldata as charged before execution (EIP-2028: 16 per non-zero byte, 4 per zero).
pub fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}

/// A gas limit that the step cannot exceed, for steps whose `eth_estimateGas` needs contracts
/// that earlier transactions of the same deployment create. Calibrated on the receipts of the
/// issue-3 gas report (chunk 24,544 bytes: 5.42M; 8 clones: 1.0M; construct with 8 layers:
/// 449k; model clone: 92k; EternalModel implementation: 1.30M) with ≥ 5 % headroom: code
/// deposit is 200 gas per byte, CREATE 32,000, a new storage slot 22,100.
pub fn gas_bound(step: &Step, call: &Call, spec: &ModelSpec, image: &ModelImage) -> u64 {
    let base = 21_000 + calldata_gas(&call.data);
    let words = |n: usize| n.div_ceil(32) as u64;
    match step {
        // initcode hashing and copying (≈ 15 per word), deposit of the runtime (≤ initcode).
        Step::Factory | Step::Activations | Step::ConvKernel => {
            base + 32_000 + 215 * (call.data.len() as u64) + 80_000
        }
        Step::Implementation { .. } => {
            let n = call.data.len();
            base + 32_000 + 204 * n as u64 + 16 * words(n) + 80_000
        }
        Step::Model => base + 32_000 + 200 * 64 + 60_000,
        Step::Layers { first, count } => {
            let per: u64 = image.layers[*first..first + count]
                .iter()
                .map(|l| 32_000 + 30_000 + 212 * (l.args.len() as u64 + 64))
                .sum();
            base + 20_000 + per
        }
        Step::Construct => {
            let links: u64 = image
                .layers
                .iter()
                .map(|l| 2 * 22_100 + 22_100 * (l.inputs.len() as u64).div_ceil(16))
                .sum();
            base + 6 * 22_100 + links + 60_000 + 5 * spec.layers.len() as u64 * 800
        }
        Step::Chunk { index } => {
            let n = image.chunks.range(*index).len();
            // Creating the data contract: deposit, copying (calldata → memory → initcode),
            // quadratic memory — and only 63/64 of the gas left reaches a CREATE (EIP-150).
            // Then the proof hashing and the bookkeeping slots. Measured need for a full
            // 24,544-byte chunk: 5,550,640 (eth_estimateGas); this gives 5.66M.
            let mem = 3 * words(n + 64) + words(n + 64).pow(2) / 512;
            let create = 32_000 + 203 * n as u64 + 12 * words(n) + 2 * mem;
            base + create + create / 63 + 130_000
        }
    }
}

/// The `isConstructed()` call data, for checking the construct step.
pub fn is_constructed_call() -> Bytes {
    EternalModel::isConstructedCall {}.abi_encode().into()
}

/// Decodes the return of `isConstructed()`.
pub fn decode_bool(ret: &[u8]) -> Option<bool> {
    bool::abi_decode(ret).ok()
}

/// The `chunkAddresses()` call data: every chunk's data contract (zero while missing).
pub fn chunk_addresses_call() -> Bytes {
    EternalModel::chunkAddressesCall {}.abi_encode().into()
}

/// Decodes the return of `chunkAddresses()`.
pub fn decode_addresses(ret: &[u8]) -> Option<Vec<Address>> {
    <Vec<Address>>::abi_decode(ret).ok()
}

/// The address whose code proves a step done (none for construct and chunks, which the model
/// answers for).
pub fn step_address(step: &Step, spec: &ModelSpec, image: &ModelImage) -> Option<Vec<Address>> {
    match step {
        Step::Factory => Some(vec![factory_address()]),
        Step::Activations => Some(vec![Shared::Activations.address()]),
        Step::ConvKernel => Some(vec![Shared::ConvKernel.address()]),
        Step::Implementation { contract } => implementation_named(spec, contract)
            .and_then(|i| i.address())
            .ok()
            .map(|a| vec![a]),
        Step::Model => Some(vec![image.model]),
        Step::Layers { first, count } => Some(
            image.layers[*first..first + count]
                .iter()
                .map(|l| l.address)
                .collect(),
        ),
        Step::Construct | Step::Chunk { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calldata_gas_counts_zero_and_nonzero_bytes() {
        assert_eq!(calldata_gas(&[0, 1, 0, 255]), 4 + 16 + 4 + 16);
    }
}
