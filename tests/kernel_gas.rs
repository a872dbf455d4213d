//! A model's predict gas per layer in every weight format (BENCHMARKS.md, "Padded columns
//! skipped"): deployed in each format on anvil, the first sample's `predictLayers` checked bit
//! for bit against `Graph::from_model(.., format)`, then `debug_traceCall` (call tracer) gives
//! the gas of each layer call and `eth_estimateGas` the whole `predict` (and the CLI's
//! `predictRangePacked` of the same sample):
//! `cargo test --test all kernel_gas:: -- --ignored --nocapture`. fashion_mnist on its sample
//! by default; `KERNEL_GAS_MODEL=generated/cnn_500k.keras` (a fixture with a truth file) on its
//! first Keras sample; `KERNEL_GAS_FORMATS=compact,int8` to pick formats. For a profile of one
//! layer's opcodes (`scripts/profile-layer.py`): `KERNEL_GAS_DUMP=DIR` writes DIR/FORMAT.json
//! (the node's URL, the model, the `predictLayers` calldata) and keeps anvil up for
//! `KERNEL_GAS_HOLD` seconds (default 600) once every format is measured.

use crate::chain_support::deploy_model_in;
use crate::common::{array, fixtures, read_json, sidecar};
use crate::deploy_support::anvil_path;
use alloy::primitives::{I256, U256};
use eternalize::chain::{Chain, EternalModel, Implementation, packed, signer_from_hex};
use eternalize::infer::{Graph, WeightFormat, input};
use eternalize::keras;
use eternalize::tools::{ANVIL_DEV_KEYS, AnvilProcess};

#[tokio::test]
#[ignore = "a measurement for BENCHMARKS.md, not a check"]
async fn fashion_mnist_layer_gas_per_format() {
    let anvil = AnvilProcess::spawn(&anvil_path(), &["--gas-limit", "500000000"]).unwrap();
    let chain = Chain::connect(&anvil.url(), signer_from_hex(ANVIL_DEV_KEYS[0]).unwrap()).unwrap();
    chain.deploy_factory().await.unwrap();
    chain
        .deploy_implementation(Implementation::Model)
        .await
        .unwrap();
    let name = std::env::var("KERNEL_GAS_MODEL")
        .unwrap_or_else(|_| "eai_example/fashion_mnist.keras".to_string());
    let path = fixtures().join(&name);
    let model = keras::load(&path).unwrap();
    let arr = if name.starts_with("eai_example/fashion_mnist") {
        input::read(&fixtures().join("eai_example/fashion_mnist_input.npy")).unwrap()[0]
            .1
            .clone()
    } else {
        array(&read_json(&sidecar(&path, ".truth.json"))["predict"]["inputs"][0])
    };
    let formats: Vec<WeightFormat> = match std::env::var("KERNEL_GAS_FORMATS") {
        Ok(v) => WeightFormat::ALL
            .into_iter()
            .filter(|f| v.split(',').any(|n| n == f.flag()))
            .collect(),
        Err(_) => WeightFormat::ALL.to_vec(),
    };
    let dump = std::env::var("KERNEL_GAS_DUMP")
        .ok()
        .map(std::path::PathBuf::from);
    for (salt, format) in formats.into_iter().enumerate() {
        let graph = Graph::from_model(&model, format).unwrap();
        let sample = input::samples(&arr, &graph.input_shapes()[0]).unwrap()[0].clone();
        let (address, _, _) = deploy_model_in(&chain, &model, salt as u64 + 1, format).await;
        let m = EternalModel::new(address, chain.provider().clone());
        let values: Vec<I256> = sample
            .data
            .iter()
            .map(|&v| I256::try_from(v).unwrap())
            .collect();
        let shapes: Vec<U256> = sample.shape.iter().map(|&d| U256::from(d)).collect();
        let ranks = vec![U256::from(sample.shape.len())];
        let outputs = vec![U256::from(graph.outputs[0])];
        let r = m
            .predictLayers(
                values.clone(),
                shapes.clone(),
                ranks.clone(),
                outputs.clone(),
            )
            .call()
            .await
            .unwrap();
        let got: Vec<i128> = r
            .outputs
            .iter()
            .map(|x| i128::try_from(*x).unwrap())
            .collect();
        let want = graph.run(std::slice::from_ref(&sample)).unwrap();
        assert_eq!(
            got, want[0].data,
            "{format}: chain differs from the reference"
        );
        let predict_gas = m
            .predict(values.clone(), shapes.clone(), ranks.clone())
            .estimate_gas()
            .await
            .unwrap();
        // The CLI's call: the same predict with the input packed (`PackedValues`).
        let packed_gas = m
            .predictRangePacked(
                U256::ZERO,
                U256::from(graph.nodes.len()),
                vec![U256::ZERO],
                packed::pack(&sample.data).into(),
                shapes.clone(),
                ranks.clone(),
                outputs.clone(),
            )
            .estimate_gas()
            .await
            .unwrap();
        let call = m.predictLayers(values, shapes, ranks, outputs);
        if let Some(dir) = &dump {
            let call = serde_json::json!({
                "url": anvil.url(),
                "to": address,
                "data": alloy::primitives::hex::encode_prefixed(&call.calldata()[..]),
            });
            std::fs::write(dir.join(format!("{format}.json")), call.to_string()).unwrap();
        }
        let (_, used) =
            crate::chain_support::trace_layer_gas(chain.provider(), address, &call.calldata()[..])
                .await;
        let layers: Vec<String> = used
            .iter()
            .zip(&graph.nodes)
            .map(|(g, n)| format!("{} {g}", n.class_name))
            .collect();
        eprintln!(
            "{name} {format}: predict {predict_gas} gas, packed {packed_gas}; {}",
            layers.join(", ")
        );
    }
    if let Some(dir) = dump {
        let hold = std::env::var("KERNEL_GAS_HOLD").map_or(600, |s| s.parse().unwrap());
        eprintln!("calls in {}; anvil up for {hold} s", dir.display());
        tokio::time::sleep(std::time::Duration::from_secs(hold)).await;
    }
}
