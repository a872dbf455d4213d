//! Shared by the tests that run against a real anvil: start one (installing it when missing),
//! connect as anvil's dev accounts, and turn fixture models into specs with the real exporter.
#![allow(dead_code)]

use eternalize::bundle::Bundle;
use eternalize::chain::{Chain, ModelImage, ModelSpec, signer_from_hex};
use eternalize::tools::{ANVIL_DEV_KEYS, AnvilProcess, Tools};
use std::path::Path;

/// A fresh anvil that enforces the Osaka per-transaction gas cap (16,777,216), killed on drop.
pub fn anvil() -> AnvilProcess {
    let path = Tools::in_repo().anvil().unwrap_or_else(|e| panic!("{e}"));
    AnvilProcess::spawn(&path, &["--enable-tx-gas-limit"]).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh `anvil()`, a connection as dev account 0 (it deploys) and a read-only RPC to it.
pub fn anvil_connected() -> (AnvilProcess, Chain, eternalize::chain::Rpc) {
    let node = anvil();
    let chain = connect(&node, 0);
    let rpc = eternalize::chain::Rpc::connect(&node.url()).unwrap();
    (node, chain, rpc)
}

/// A fresh anvil started with `args`, with the factory and the model implementation deployed
/// by dev account 0 (the layer implementations come with each model that needs them).
pub async fn anvil_with_model(args: &[&str]) -> (AnvilProcess, Chain) {
    let path = Tools::in_repo().anvil().unwrap_or_else(|e| panic!("{e}"));
    let node = AnvilProcess::spawn(&path, args).unwrap_or_else(|e| panic!("{e}"));
    let chain = connect(&node, 0);
    chain.deploy_factory().await.unwrap();
    chain
        .deploy_implementation(eternalize::chain::Implementation::Model)
        .await
        .unwrap();
    (node, chain)
}

/// A connection as anvil dev account `account` (0 deploys, 1 is a stranger).
pub fn connect(node: &AnvilProcess, account: usize) -> Chain {
    Chain::connect(
        &node.url(),
        signer_from_hex(ANVIL_DEV_KEYS[account]).unwrap(),
    )
    .unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Exports a fixture model with the real exporter and builds its chain spec.
pub fn spec(relative: &str) -> ModelSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative);
    let model = eternalize::keras::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let bundle = Bundle::from_model(&model).unwrap_or_else(|e| panic!("{e}"));
    ModelSpec::from_bundle(&bundle, Some(&model)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Checks everything a verifier would: hashes, links, layer configs and tensors, the raw blob,
/// and every weight value read back through the layer contracts — exactly the bundle's in
/// Q32_32, exactly the deterministic int32 decoding in INT32_SHIFTED, exactly the per-channel
/// reference's values (q·scale, and Q32.32 biases) in INT16/INT8.
pub async fn assert_on_chain(chain: &Chain, spec: &ModelSpec, image: &ModelImage) {
    let state = chain.model_state(image.model).await.unwrap();
    assert!(state.ready && state.constructed);
    assert_eq!(state.owner, chain.sender());
    assert_eq!(
        (state.graph_hash, state.weights_hash),
        (spec.graph_hash, spec.weights_hash)
    );
    assert_eq!(state.chunks_received, image.chunks.count() as u64);
    assert_eq!(state.layout, image.layout());
    assert_eq!(state.layers, image.links());
    for i in 0..image.chunks.count() {
        assert_eq!(
            chain.chunk_address(image.model, i).await.unwrap(),
            image.chunk_address(i),
            "chunk {i}"
        );
    }
    let total = image.blob.bytes.len();
    let mut at = 0;
    while at < total {
        let n = (total - at).min(64 * 1024);
        let got = chain.weight_bytes(image.model, at, n).await.unwrap();
        assert_eq!(
            got.as_ref(),
            &image.blob.bytes[at..at + n],
            "blob bytes {at}..{}",
            at + n
        );
        at += n;
    }
    for (layer, l) in image.layers.iter().zip(&spec.layers) {
        assert!(
            chain.check_layer_config(layer.address).await.unwrap(),
            "{}",
            l.name
        );
        assert_eq!(
            chain.layer_config(layer.address).await.unwrap().as_ref(),
            l.config.as_slice(),
            "{}",
            l.name
        );
        assert_eq!(
            chain.layer_tensors(layer.address).await.unwrap(),
            layer.tensors,
            "{}",
            l.name
        );
        for (t, tensor) in layer.tensors.iter().enumerate() {
            let mut start = 0;
            while start < tensor.length {
                let count = (tensor.length - start).min(4096);
                let got = chain
                    .layer_weights(layer.address, t, start, count)
                    .await
                    .unwrap();
                let record = if image.format().per_channel() {
                    image
                        .blob
                        .record(tensor.offset, tensor.length, tensor.shift)
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                let span = l.tensors[t];
                let reference = match image.format() {
                    f @ (eternalize::chain::WeightFormat::Int16
                    | eternalize::chain::WeightFormat::Int8) => {
                        let values: Vec<i64> = (span.offset..span.offset + span.length)
                            .map(|j| eternalize::chain::weights::slot(&spec.words, j))
                            .collect();
                        let shape: Vec<usize> = if span.channels == 0 {
                            vec![values.len()]
                        } else {
                            vec![
                                values.len() / span.channels as usize,
                                span.channels as usize,
                            ]
                        };
                        eternalize::chain::quant::apply(&values, &shape, f).unwrap()
                    }
                    _ => Vec::new(),
                };
                assert_eq!(record, reference, "layer {} tensor {t}: the blob", l.name);
                for (k, value) in got.iter().enumerate() {
                    let slot = span.offset + start + k as u64;
                    let exact = eternalize::chain::weights::slot(&spec.words, slot);
                    let expected = match image.format() {
                        eternalize::chain::WeightFormat::Exact => exact,
                        eternalize::chain::WeightFormat::Compact => {
                            let s = tensor.shift;
                            let q = eternalize::chain::weights::encode_int32(exact, s);
                            let back = eternalize::chain::weights::decode_int32(q, s);
                            // Floor rounding: a - 2^(32-s) < a' <= a.
                            assert!(back <= exact && exact - back < (1i64 << (32 - s)));
                            back
                        }
                        eternalize::chain::WeightFormat::Int16
                        | eternalize::chain::WeightFormat::Int8 => {
                            i64::try_from(record[(start as usize) + k]).unwrap()
                        }
                    };
                    assert_eq!(
                        i128::from(*value),
                        i128::from(expected),
                        "layer {} tensor {t} value {}",
                        l.name,
                        start + k as u64
                    );
                }
                start += count;
            }
        }
    }
}

/// Deploys `model` through `chain` at `salt` step by step (the shared contracts — activations,
/// convolution kernel — and the implementations it needs, clone, layers, construct, every chunk)
/// and returns the model's address and image, ready.
pub async fn deploy_model(
    chain: &Chain,
    model: &eternalize::keras::model::Model,
    salt: u64,
) -> (alloy::primitives::Address, ModelImage) {
    let (address, image, _) =
        deploy_model_in(chain, model, salt, eternalize::chain::WeightFormat::Compact).await;
    (address, image)
}

/// [`deploy_model`] with the weights in `format`; also returns the gas of the model's own
/// transactions (clone, layers, construct, chunks — not the factory or implementations).
pub async fn deploy_model_in(
    chain: &Chain,
    model: &eternalize::keras::model::Model,
    salt: u64,
    format: eternalize::chain::WeightFormat,
) -> (alloy::primitives::Address, ModelImage, u64) {
    use alloy::primitives::{B256, U256};
    let bundle = Bundle::from_model(model).unwrap();
    let spec = ModelSpec::from_model(model, &bundle).unwrap();
    for shared in eternalize::chain::Shared::ALL {
        chain.deploy_shared(shared).await.unwrap();
    }
    for implementation in spec.implementations() {
        chain.deploy_implementation(implementation).await.unwrap();
    }
    let salt = B256::from(U256::from(salt));
    let address = eternalize::chain::model_address(chain.sender(), salt).unwrap();
    let image =
        ModelImage::new(&spec, format, eternalize::chain::MAX_CHUNK_BYTES, address).unwrap();
    let mut gas = 0;
    gas += chain
        .create_model(salt)
        .await
        .unwrap()
        .sent
        .map_or(0, |s| s.gas_used);
    gas += chain
        .create_layers(&image)
        .await
        .unwrap()
        .iter()
        .map(|s| s.gas_used)
        .sum::<u64>();
    gas += chain.construct_model(&image).await.unwrap().gas_used;
    for i in 0..image.chunks.count() {
        gas += chain.store_chunk(&image, i).await.unwrap().gas_used;
    }
    assert!(chain.is_ready(address).await.unwrap());
    (address, image, gas)
}

/// The call tracer's tree of a call to `to` with `calldata` (`debug_traceCall`, 1e9 gas).
pub async fn trace_call<P: alloy::providers::Provider>(
    provider: &P,
    to: alloy::primitives::Address,
    calldata: &[u8],
) -> serde_json::Value {
    let tx = serde_json::json!({
        "to": to,
        "data": alloy::primitives::hex::encode_prefixed(calldata),
        "gas": "0x3b9aca00",
    });
    provider
        .raw_request(
            "debug_traceCall".into(),
            (tx, "latest", serde_json::json!({"tracer": "callTracer"})),
        )
        .await
        .unwrap()
}

/// A call tracer's hex `gasUsed` (or any hex quantity) as a number.
pub fn traced_gas(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Gas of a model call by `debug_traceCall` (call tracer, 1e9 gas): what the whole call used,
/// and what each layer call inside it used (`calls[0].calls`: the model's `predictLayers`
/// calling each layer) — a layer's work without the calldata pricing of a direct call.
pub async fn trace_layer_gas<P: alloy::providers::Provider>(
    provider: &P,
    to: alloy::primitives::Address,
    calldata: &[u8],
) -> (u64, Vec<u64>) {
    let trace = trace_call(provider, to, calldata).await;
    let layers = trace["calls"][0]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| traced_gas(&c["gasUsed"]))
        .collect();
    (traced_gas(&trace["gasUsed"]), layers)
}
