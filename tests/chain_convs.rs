//! DepthwiseConv2D, SeparableConv2D, Conv2DTranspose and grouped Conv2D (kinds 41–43) on a real
//! anvil: the whole model's `predictLayers` equals the reference bit for bit on every Keras
//! sample; each such layer called alone (`forward`) and by output rows (`forwardSlice`, fed the
//! input rows the planner's `slice_rows` names) equals the reference's tensor; and the gas of
//! each such layer per multiply-accumulate is printed (BENCHMARKS.md, "Convolutions of kinds
//! 41–43"): called alone, and inside `predictLayers` (traced: the layer's work without the
//! calldata floor a direct call pays for its int256 inputs).

use crate::chain_predict::{check, deploy, predict_on_chain};
use crate::common::*;
use alloy::primitives::{I256, U256};
use eternalize::chain::LayerKind;
use eternalize::infer::plan::{GasModel, LayerOp, Op};
use eternalize::infer::{Graph, Tensor};

alloy::sol!(
    #[sol(rpc)]
    IForwardLayer,
    "artifacts/IForwardLayer.json"
);

const FILES: [&str; 4] = [
    "generated/mobilenet_block_fn.keras",
    "generated/depthwise_separable_seq.h5",
    "generated/transpose_grouped_fn.keras",
    "generated/keras2_15/convs_seq.h5",
];

/// Gas used inside each layer call of `predictLayers` on `input` (`debug_traceCall`, call
/// tracer): what the layer's work costs, without the calldata pricing of a direct call.
async fn layer_gas(d: &crate::chain_predict::Deployed, graph: &Graph, input: &Tensor) -> Vec<u64> {
    let call = d.model.predictLayers(
        words(&input.data),
        dims(&input.shape),
        vec![U256::from(input.shape.len())],
        vec![U256::from(graph.nodes.len() - 1)],
    );
    crate::chain_support::trace_layer_gas(
        d.model.provider(),
        *d.model.address(),
        &call.calldata()[..],
    )
    .await
    .1
}

fn words(v: &[i128]) -> Vec<I256> {
    v.iter().map(|&x| I256::try_from(x).unwrap()).collect()
}

fn dims(v: &[usize]) -> Vec<U256> {
    v.iter().map(|&x| U256::from(x)).collect()
}

fn values(v: &[I256]) -> Vec<i128> {
    v.iter().map(|x| i128::try_from(*x).unwrap()).collect()
}

/// Multiply-accumulates of one layer, counted as the layer's own arithmetic (a transposed
/// convolution: every input value meets every kernel value once).
fn layer_macs(kind: LayerKind, input: &[usize], out: &[usize], op: &Op) -> u64 {
    let Op::ConvExtra {
        shape,
        filters,
        cin,
        kernel,
        ..
    } = op
    else {
        return 0;
    };
    use eternalize::infer::plan::ConvShape;
    let k = (kernel[0] * kernel[1]) as u64;
    let (f, cin) = (*filters as u64, *cin as u64);
    let positions = (out[0] * out[1]) as u64;
    match (kind, shape) {
        (_, ConvShape::Grouped { groups }) => positions * k * cin / *groups as u64 * f,
        (_, ConvShape::Separable { multiplier }) => {
            let mid = cin * *multiplier as u64;
            positions * (k * mid + mid * f)
        }
        _ => (input[0] * input[1]) as u64 * k * cin * f,
    }
}

#[tokio::test]
async fn grouped_separable_and_transposed_convolutions_on_chain() {
    let (anvil, chain) = crate::chain_support::anvil_with_model(&[]).await;
    let rpc = eternalize::chain::Rpc::connect(&anvil.url()).unwrap();
    let mut table = Vec::new();
    let mut sliced = 0;
    for (salt, file) in FILES.into_iter().enumerate() {
        let path = fixtures().join(file);
        let (model, graph, samples) = crate::chain_predict::with_truth_samples(&path);
        let d = deploy(&chain, &model, 4100 + salt as u64).await;
        for (b, s) in samples.iter().enumerate() {
            let want = graph.run(std::slice::from_ref(s)).unwrap();
            let (got, gas) = predict_on_chain(&d, &graph, std::slice::from_ref(s), b == 0).await;
            check(&path, b, &want, &got);
            if let Some(gas) = gas {
                eprintln!("{file}: predict {gas} gas");
            }
        }
        // Layer by layer, on sample 0's tensors.
        let all = graph.run_all(std::slice::from_ref(&samples[0])).unwrap();
        let inside = layer_gas(&d, &graph, &samples[0]).await;
        assert_eq!(
            inside.len(),
            graph.nodes.len(),
            "{file}: one call per layer"
        );
        if std::env::var_os("ETERNALIZE_PROFILE_LAYERS").is_some() {
            for (n, g) in graph.nodes.iter().zip(&inside) {
                eprintln!("  {} ({}): {g} gas inside predict", n.name, n.class_name);
            }
        }
        let state = rpc.model_state(*d.model.address()).await.unwrap();
        let chain_model =
            eternalize::usecase::chained::ChainModel::read(&rpc, *d.model.address(), &state)
                .await
                .unwrap();
        for (i, op) in chain_model.layers.iter().enumerate() {
            let LayerOp {
                kind,
                inputs,
                op: inner,
            } = op;
            if !matches!(
                kind,
                LayerKind::DepthwiseConv2D
                    | LayerKind::SeparableConv2D
                    | LayerKind::Conv2DTranspose
            ) {
                continue;
            }
            let x = &all[inputs[0]];
            let y = &all[i];
            let layer = IForwardLayer::new(chain_model.clones[i], chain.provider().clone());
            let shape = dims(&x.shape);
            let ranks = vec![U256::from(x.shape.len())];
            let call = layer.forward(words(&x.data), shape.clone(), ranks.clone());
            let gas = call.estimate_gas().await.unwrap();
            let r = call.call().await.unwrap();
            assert_eq!(values(&r.output), y.data, "{file} layer {i}: forward");
            if std::env::var_os("ETERNALIZE_OPCODES").is_some() {
                use alloy::providers::Provider;
                let tx = serde_json::json!({
                    "to": chain_model.clones[i],
                    "data": alloy::primitives::hex::encode_prefixed(call.calldata()),
                    "gas": "0x3b9aca00",
                });
                let trace: serde_json::Value = chain
                    .provider()
                    .raw_request(
                        "debug_traceCall".into(),
                        (
                            tx,
                            "latest",
                            serde_json::json!({"disableStack": true, "disableMemory": true}),
                        ),
                    )
                    .await
                    .unwrap();
                let mut by: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
                let mut by_pc: std::collections::BTreeMap<u64, u64> = Default::default();
                for l in trace["structLogs"].as_array().unwrap() {
                    let e = by.entry(l["op"].as_str().unwrap().to_string()).or_default();
                    e.0 += 1;
                    e.1 += l["gasCost"].as_u64().unwrap();
                    *by_pc.entry(l["pc"].as_u64().unwrap()).or_default() +=
                        l["gasCost"].as_u64().unwrap();
                }
                let mut v: Vec<_> = by.into_iter().collect();
                v.sort_by_key(|(_, (_, g))| std::cmp::Reverse(*g));
                eprintln!(
                    "{} opcodes: {:?}",
                    graph.nodes[i].name,
                    &v[..12.min(v.len())]
                );
            }
            let macs = layer_macs(*kind, &x.shape, &y.shape, inner);
            let estimate_inside = GasModel::default()
                .work(op, &[x.shape.as_slice()], &y.shape, None)
                .gas;
            table.push((
                format!("{file} {} ({kind:?})", graph.nodes[i].name),
                gas,
                macs,
                inside[i],
                estimate_inside,
            ));
            // Every output row alone, and the first two rows together.
            let row = y.data.len() / y.shape[0];
            let row_in = x.data.len() / x.shape[0];
            let mut slices: Vec<(usize, usize)> = (0..y.shape[0]).map(|r| (r, 1)).collect();
            if y.shape[0] > 2 {
                slices.push((0, 2));
            }
            for (from, count) in slices {
                let (a, b) = op.slice_rows(&x.shape, from, count).unwrap();
                let r = layer
                    .forwardSlice(
                        words(&x.data[a * row_in..b * row_in]),
                        shape.clone(),
                        ranks.clone(),
                        U256::from(from),
                        U256::from(count),
                    )
                    .call()
                    .await
                    .unwrap_or_else(|e| panic!("{file} layer {i} rows {from}+{count}: {e}"));
                assert_eq!(
                    values(&r.output),
                    y.data[from * row..(from + count) * row],
                    "{file} layer {i}: rows {from}+{count}"
                );
                sliced += 1;
            }
        }
    }
    eprintln!(
        "| layer | MACs | forward call gas | inside predict | inside gas/MAC | planner's estimate |"
    );
    eprintln!("|---|---:|---:|---:|---:|---:|");
    for (name, gas, macs, inside, estimate) in &table {
        eprintln!(
            "| {name} | {macs} | {gas} | {inside} | {:.1} | {estimate} |",
            *inside as f64 / (*macs).max(1) as f64
        );
    }
    assert!(
        table.len() >= 10 && sliced >= 40,
        "{} layers, {sliced} slices",
        table.len()
    );
}
