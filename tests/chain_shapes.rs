//! The pooling, reshaping and merging kinds 26–40 on chain: the shapes_ fixtures of the writer
//! suite (tf.keras 2.15 `.h5`, Keras 3.4 and 3.15 `.keras`) deployed to one anvil, every Keras
//! sample run by `predictLayers` and by chained calls under a small budget (so the planner's
//! shape rules and gas model for these kinds are used), each output equal to the reference bit
//! for bit. The gas of each layer inside `predict` (`debug_traceCall`) is printed per class:
//! BENCHMARKS.md's table of these kinds.

use crate::common::*;
use alloy::primitives::{I256, U256};
use eternalize::chain::{Chain, EternalModel, signer_from_hex};
use eternalize::infer::{Graph, Tensor, WeightFormat, input};
use eternalize::keras;
use eternalize::tools::{ANVIL_DEV_KEYS, AnvilProcess, Tools};
use std::collections::BTreeMap;

const FILES: [&str; 6] = [
    "generated/keras2_15/shapes_1d_seq.h5",
    "generated/keras2_15/shapes_2d_fn.h5",
    "generated/keras3_4/shapes_1d_seq.keras",
    "generated/keras3_4/shapes_2d_fn.keras",
    "generated/keras3_15/shapes_1d_seq.keras",
    "generated/keras3_15/shapes_2d_fn.keras",
];

/// A budget under which no shapes_ model runs in one call: several ranges each.
const SMALL_BUDGET: u64 = 700_000;

#[tokio::test]
async fn shapes_kinds_on_chain_equal_the_reference_bit_for_bit() {
    let anvil = AnvilProcess::spawn(&Tools::in_repo().anvil().unwrap(), &[]).unwrap();
    let chain = Chain::connect(&anvil.url(), signer_from_hex(ANVIL_DEV_KEYS[0]).unwrap()).unwrap();
    chain.deploy_factory().await.unwrap();
    let rpc = eternalize::chain::Rpc::connect(&anvil.url()).unwrap();
    // class -> (calls, gas, output values) over every profiled layer.
    let mut per_class: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for (salt, file) in FILES.iter().enumerate() {
        let path = fixtures().join(file);
        let truth = read_json(&sidecar(&path, ".truth.json"));
        let model = keras::load(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
        let (address, _) =
            crate::chain_support::deploy_model(&chain, &model, salt as u64 + 1).await;
        let deployed = EternalModel::new(address, chain.provider().clone());
        let pred = &truth["predict"];
        let samples = input::samples(&array(&pred["inputs"][0]), &graph.input_shapes()[0])
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let state = rpc.model_state(address).await.unwrap();
        let chain_model = eternalize::usecase::chained::ChainModel::read(&rpc, address, &state)
            .await
            .unwrap();
        let keras_out = array(&pred["outputs"][0]);
        let mut worst = 0.0f64;
        for (b, s) in samples.iter().enumerate() {
            let want = graph.run(std::slice::from_ref(s)).unwrap();
            // The reference against Keras: ≤ 1e-3 relative (the worst is printed).
            let per = want[0].data.len();
            for (g, w) in want[0]
                .data
                .iter()
                .zip(&keras_out.values[b * per..(b + 1) * per])
            {
                let err = (eternalize::infer::fixed::to_f64(*g) - w).abs() / w.abs().max(1.0);
                assert!(err <= 1e-3, "{file} sample {b}: reference vs Keras {err}");
                worst = worst.max(err);
            }
            let last = U256::from(graph.nodes.len() - 1);
            let call = deployed.predictLayers(
                s.data.iter().map(|&v| I256::try_from(v).unwrap()).collect(),
                s.shape.iter().map(|&d| U256::from(d)).collect(),
                vec![U256::from(s.shape.len())],
                vec![last],
            );
            let r = call.call().await.unwrap_or_else(|e| panic!("{file}: {e}"));
            let got: Vec<i128> = r
                .outputs
                .iter()
                .map(|x| i128::try_from(*x).unwrap())
                .collect();
            let shape: Vec<usize> = r.outputShapes.iter().map(|d| d.to::<usize>()).collect();
            assert_eq!(shape, want[0].shape, "{file} sample {b}: shape");
            assert_eq!(
                got, want[0].data,
                "{file} sample {b}: on chain vs reference"
            );

            if b == 0 {
                eprintln!("{file}: predict {} gas", call.estimate_gas().await.unwrap());
                profile(&deployed, &graph, s, &mut per_class).await;
            }
            let mut runner = eternalize::usecase::chained::Runner::new(
                &rpc,
                &chain_model,
                graph.outputs.clone(),
                SMALL_BUDGET,
            );
            let chained = runner
                .run(std::slice::from_ref(s))
                .await
                .unwrap_or_else(|e| panic!("{file}: chained: {e}"));
            assert_eq!(chained, want, "{file} sample {b}: chained calls");
            let stats = runner.stats();
            assert!(stats.calls > 1, "{file}: {} call(s)", stats.calls);
            assert!(stats.gas.largest <= SMALL_BUDGET, "{file}: {stats:?}");
            if b == 0 {
                eprintln!(
                    "{file}: chained under {SMALL_BUDGET}: {} calls, largest {}",
                    stats.calls, stats.gas.largest
                );
            }
        }
        eprintln!("{file}: reference vs Keras, worst relative {worst:.2e}");
    }
    eprintln!("| class | layers | gas per call | gas per output value |");
    eprintln!("|---|---:|---:|---:|");
    for (class, (n, gas, values)) in &per_class {
        eprintln!(
            "| {class} | {n} | {} | {:.0} |",
            gas / n,
            *gas as f64 / (*values).max(1) as f64
        );
    }
}

/// Adds the gas of each layer call inside `predictLayers` (the call tracer's view) to `per_class`.
async fn profile(
    d: &EternalModel::EternalModelInstance<alloy::providers::DynProvider>,
    graph: &Graph,
    input: &Tensor,
    per_class: &mut BTreeMap<String, (u64, u64, u64)>,
) {
    let call = d.predictLayers(
        input
            .data
            .iter()
            .map(|&v| I256::try_from(v).unwrap())
            .collect(),
        input.shape.iter().map(|&x| U256::from(x)).collect(),
        vec![U256::from(input.shape.len())],
        vec![U256::from(graph.nodes.len() - 1)],
    );
    let (_, calls) =
        crate::chain_support::trace_layer_gas(d.provider(), *d.address(), &call.calldata()[..])
            .await;
    assert_eq!(calls.len(), graph.nodes.len(), "one call per layer");
    for (node, &used) in graph.nodes.iter().zip(&calls) {
        let values: u64 = node.output_shape[1..]
            .iter()
            .map(|d| d.unwrap_or(1) as u64)
            .product();
        let e = per_class.entry(node.class_name.clone()).or_default();
        e.0 += 1;
        e.1 += used;
        e.2 += values;
        eprintln!("  {} {}: {used} gas", node.name, node.class_name);
    }
}
