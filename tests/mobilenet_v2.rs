//! `keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None)` with
//! seeded weights (generated/apps/, kept out of the folders the on-chain suites deploy): inspect
//! equals Keras's shapes and parameters, the bundle exports, the offline reference equals Keras's
//! predictions (≤ 1e-3 relative, same argmax), and the chained-call plan under 2^24 gas per call
//! reaches the last layer (calls and gas, from the planner's model fed the reference's tensors):
//! the big elementwise layers and paddings go in row slices.
//!
//! On chain: the same architecture at Keras's smallest input, 32×32
//! (generated/apps/mobilenet_v2_32.keras, same 423,018 parameters), deployed on anvil with the
//! per-transaction cap enforced, predicts by address through chained calls — activations packed
//! (`chain::packed`, `PackedValues.sol`), every call accepted by the node with 2^24 gas — bit
//! for bit the offline reference, and within 1e-3 of Keras. `ETERNALIZE_MNV2_MEASURE=1` confirms
//! every call with `eth_estimateGas` and prints them (BENCHMARKS.md, "MobileNetV2 on chain").

use crate::common::*;
use eternalize::bundle::Bundle;
use eternalize::chain::ModelSpec;
use eternalize::infer::plan::{Calibration, GasModel, LayerOp, Op, Planner, Segment};
use eternalize::infer::{Graph, Tensor, WeightFormat, fixed, input};
use eternalize::keras;
use std::collections::BTreeMap;

const FILE: &str = "generated/apps/mobilenet_v2.keras";
const SMALL: &str = "generated/apps/mobilenet_v2_32.keras";

#[test]
fn mobilenet_v2_inspects_exports_and_predicts_like_keras() {
    let path = fixtures().join(FILE);
    let truth = read_json(&sidecar(&path, ".truth.json"));
    let model = keras::load(&path).unwrap();
    assert_eq!(
        model.total_params() as u64,
        truth["total_params"].as_u64().unwrap()
    );
    let layers = truth["layers"].as_array().unwrap();
    for t in layers {
        let name = t["name"].as_str().unwrap();
        let l = model.layers.iter().find(|l| l.name == name).unwrap();
        assert_eq!(
            keras::model::shape_to_json(&l.output_shape),
            t["output_shape"],
            "{name}"
        );
        assert_eq!(
            l.params() as u64,
            t["param_count"].as_u64().unwrap(),
            "{name}"
        );
    }
    let bundle = Bundle::from_model(&model).unwrap();
    let spec = ModelSpec::from_model(&model, &bundle).unwrap();

    let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
    let pred = &truth["predict"];
    let samples = input::samples(&array(&pred["inputs"][0]), &graph.input_shapes()[0]).unwrap();
    let want = array(&pred["outputs"][0]);
    // One sample (the reference runs 24M MACs in i128; the others add time, not coverage).
    let all = graph.run_all(std::slice::from_ref(&samples[0])).unwrap();
    let got = &all[graph.outputs[0]];
    let w = &want.values[..got.data.len()];
    let g: Vec<f64> = got.data.iter().map(|&x| fixed::to_f64(x)).collect();
    let mut worst = 0.0f64;
    for (g, w) in g.iter().zip(w) {
        let err = (g - w).abs() / w.abs().max(1.0);
        worst = worst.max(err);
        assert!(err <= 1e-3, "reference {g} vs Keras {w}");
    }
    let am = |v: &[f64]| {
        v.iter()
            .enumerate()
            .fold(0, |m, (i, x)| if *x > v[m] { i } else { m })
    };
    assert_eq!(am(&g), am(w), "argmax");
    eprintln!("MobileNetV2: worst relative error {worst:e}");

    // The chained-call plan, segment by segment, fed the reference's tensors.
    let ops: Vec<LayerOp> = spec
        .layers
        .iter()
        .map(|l| LayerOp {
            kind: l.kind,
            inputs: l.inputs.iter().map(|&i| usize::from(i)).collect(),
            op: Op::decode(l.kind, &l.config).unwrap(),
        })
        .collect();
    let planner = Planner {
        layers: &ops,
        outputs: &graph.outputs,
        budget: eternalize::infer::plan::DEFAULT_CALL_GAS,
        model: GasModel::default(),
    };
    let mut known: BTreeMap<usize, Tensor> =
        BTreeMap::from([(graph.inputs[0], samples[0].clone())]);
    // From layer 0: the InputLayer (≈ 18.6M gas alone on 27,648 values, its frames' memory)
    // runs in row slices.
    let (mut next, mut calls, mut gas, mut largest) = (0, 0u64, 0u64, 0u64);
    let budget = eternalize::infer::plan::DEFAULT_CALL_GAS;
    let mut stop = None;
    'plan: while next < ops.len() {
        let steps = match planner.next(next, &known, &Calibration::default()) {
            Ok(s) => s,
            Err(e) => {
                stop = Some(e.to_string());
                break;
            }
        };
        for s in &steps {
            if s.estimate > budget {
                // A probe the planner would let the chain price: over the budget by the model.
                stop = Some(format!("layer {next} needs about {} gas alone", s.estimate));
                break 'plan;
            }
            calls += 1;
            gas += s.estimate;
            largest = largest.max(s.estimate);
        }
        next = match &steps.last().unwrap().segment {
            Segment::Range { to, .. } => *to,
            Segment::Slice { layer, .. } => layer + 1,
        };
        for (i, t) in all.iter().enumerate().take(next) {
            known.insert(i, t.clone());
        }
    }
    // Packed, the 96×96×3 input fits a call (as int256 words its calldata alone was ≈ 14M
    // gas): Conv1 runs in row slices, and so do the elementwise layers on big tensors (bn_Conv1
    // on 48×48×16 = 36,864 values: ≈ 37M gas by the model whole, mostly its frames' quadratic
    // memory) and the ZeroPadding2D before each stride-2 depthwise convolution: the plan
    // reaches the last layer (BENCHMARKS.md, "Row slices").
    eprintln!("MobileNetV2 96×96 chained plan: {calls} calls to layer {next}, stops: {stop:?}");
    assert_eq!((next, stop), (ops.len(), None), "the plan reaches the end");
    assert!(largest <= budget);
    // What the layers' own work needs, whatever the calls (the gas model, layer by layer).
    let shapes: Vec<Vec<usize>> = all.iter().map(|t| t.shape.clone()).collect();
    let work: u64 = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let ins: Vec<&[usize]> = op.inputs.iter().map(|&j| shapes[j].as_slice()).collect();
            GasModel::default().work(op, &ins, &shapes[i], None).gas
        })
        .sum();
    eprintln!(
        "MobileNetV2: layers' work ≈ {work} gas; chained plan from layer 0: {calls} calls, {gas} gas, largest {largest}"
    );
}

#[test]
fn mobilenet_v2_deploys_and_predicts_on_chain_through_chained_calls() {
    use crate::deploy_support::{anvil, done_line, eternalize, fixture_str, runtime, text};
    use eternalize::chain::Rpc;
    use eternalize::infer::plan::DEFAULT_CALL_GAS;
    use eternalize::tools::ANVIL_DEV_KEYS;
    use eternalize::usecase::chained::{ChainModel, Runner};

    let path = fixtures().join(SMALL);
    let truth = read_json(&sidecar(&path, ".truth.json"));
    let (_, graph, samples) = crate::chain_predict::with_truth_samples(&path);
    let x = samples[0].clone();
    let want = graph.run(std::slice::from_ref(&x)).unwrap();

    let node = anvil(&[]);
    let url = node.url();
    let data = tempfile::tempdir().unwrap();
    let o = eternalize(
        data.path(),
        &[
            "deploy",
            &fixture_str(SMALL),
            "--rpc-url",
            &url,
            "--yes",
            "--json",
        ],
        &[("ETERNALIZE_PRIVATE_KEY", ANVIL_DEV_KEYS[0])],
    );
    assert!(o.status.success(), "{}", text(&o));
    let done = done_line(&o);
    eprintln!("MobileNetV2 32×32 deployed: {done}");
    let address: alloy::primitives::Address =
        done["model_address"].as_str().unwrap().parse().unwrap();

    let rpc = Rpc::connect(&url).unwrap();
    runtime().block_on(async {
        let state = rpc.model_state(address).await.unwrap();
        let chain = ChainModel::read(&rpc, address, &state).await.unwrap();
        let measure = std::env::var_os("ETERNALIZE_MNV2_MEASURE").is_some();
        if measure {
            per_layer_gas(&rpc, &chain, &graph, &x).await;
        }
        let mut runner = Runner::new(&rpc, &chain, graph.outputs.clone(), DEFAULT_CALL_GAS);
        runner.measure_all = measure;
        let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
        assert_eq!(got, want, "on chain against the reference");
        eprintln!("MobileNetV2 32×32 on chain: {}", runner.stats());
        for c in &runner.calls {
            eprintln!(
                "  {:<48} estimate {:>10}  measured {:>10}",
                c.what,
                c.estimate,
                c.measured.map_or("-".into(), |m| m.to_string())
            );
            // Sent with the budget as its gas and accepted; confirmed calls stay under it too.
            assert!(c.measured.unwrap_or(0) <= DEFAULT_CALL_GAS, "{c:?}");
        }
        assert!(runner.calls.len() > 1, "{:?}", runner.calls);
    });

    // And the reference is Keras's prediction, within 1e-3.
    let keras_out = array(&truth["predict"]["outputs"][0]);
    for (g, w) in want[0].data.iter().zip(&keras_out.values) {
        let g = fixed::to_f64(*g);
        assert!((g - w).abs() / w.abs().max(1.0) <= 1e-3, "{g} vs Keras {w}");
    }
}

/// Multiply-accumulates of a layer (convolutions, depthwise, Dense), from its output shape.
fn macs(op: &Op, out: &[usize]) -> u64 {
    use eternalize::infer::plan::ConvShape;
    let n: usize = out.iter().product();
    (match op {
        Op::Conv { kernel, cin, .. } => n * kernel[0] * kernel[1] * cin,
        Op::ConvExtra {
            shape: ConvShape::Grouped { groups },
            kernel,
            cin,
            ..
        } => n * kernel[0] * kernel[1] * cin / groups.max(&1),
        Op::Dense { input_units, .. } => n * input_units,
        _ => 0,
    }) as u64
}

/// BENCHMARKS.md's per-layer table: `eth_estimateGas` of every layer alone (`forwardPacked`
/// on the reference's tensors, 21,000 and calldata included), summed per kind with its MACs.
async fn per_layer_gas(
    rpc: &eternalize::chain::Rpc,
    chain: &eternalize::usecase::chained::ChainModel,
    graph: &Graph,
    x: &Tensor,
) {
    use alloy::primitives::{Address, U256};
    use alloy::sol_types::SolCall;
    use eternalize::chain::{EternalModel, packed};
    let all = graph.run_all(std::slice::from_ref(x)).unwrap();
    let mut kinds: BTreeMap<&str, (u64, u64, u64, u64)> = BTreeMap::new();
    for (i, l) in chain.layers.iter().enumerate() {
        let ins: Vec<&Tensor> = if l.inputs.is_empty() {
            vec![x]
        } else {
            l.inputs.iter().map(|&j| &all[j]).collect()
        };
        let call = EternalModel::forwardPackedCall {
            layer: U256::from(i),
            inputs: packed::pack(&ins.iter().flat_map(|t| t.data.clone()).collect::<Vec<_>>())
                .into(),
            shapes: ins
                .iter()
                .flat_map(|t| t.shape.iter().map(|&d| U256::from(d)))
                .collect(),
            ranks: ins.iter().map(|t| U256::from(t.shape.len())).collect(),
        };
        let data = call.abi_encode().into();
        let gas = rpc
            .estimate_gas(Address::ZERO, chain.address, &data)
            .await
            .map_or_else(
                |e| format!("{e:?}").chars().take(60).collect(),
                |g| g.to_string(),
            );
        let m = macs(&l.op, &all[i].shape);
        eprintln!(
            "layer {i:>3} {:<22} out {:<14} MACs {m:>8} gas {gas}",
            l.kind.class_name(),
            format!("{:?}", all[i].shape)
        );
        if let Ok(g) = gas.parse::<u64>() {
            let e = kinds.entry(l.kind.class_name()).or_default();
            *e = (e.0 + 1, e.1 + g, e.2 + m, e.3 + all[i].data.len() as u64);
        }
    }
    // The packed path against the int256 one, on the same work: Conv2D block_1_expand (layer
    // 9) rows 4–7 as a slice, and BatchNormalization (layer 10) whole.
    let words = |t: &[i128]| -> Vec<alloy::primitives::I256> {
        t.iter()
            .map(|&v| alloy::primitives::I256::try_from(v).unwrap())
            .collect()
    };
    let dims = |t: &Tensor| -> Vec<U256> { t.shape.iter().map(|&d| U256::from(d)).collect() };
    let estimate = |to: Address, data: alloy::primitives::Bytes| async move {
        rpc.estimate_gas(Address::ZERO, to, &data).await.unwrap()
    };
    let (c, b) = (&all[8], &all[9]);
    let rank = vec![U256::from(3)];
    let direct = estimate(
        chain.clones[9],
        eternalize::chain::bindings::IForwardLayer::forwardSliceCall {
            inputs: words(&c.data[4 * 16 * 8..8 * 16 * 8]),
            shapes: dims(c),
            ranks: rank.clone(),
            from: U256::from(4),
            count: U256::from(4),
        }
        .abi_encode()
        .into(),
    )
    .await;
    let packed_slice = estimate(
        chain.address,
        EternalModel::forwardSlicePackedCall {
            layer: U256::from(9),
            inputs: packed::pack(&c.data[4 * 16 * 8..8 * 16 * 8]).into(),
            shapes: dims(c),
            ranks: rank.clone(),
            from: U256::from(4),
            count: U256::from(4),
        }
        .abi_encode()
        .into(),
    )
    .await;
    let direct_bn = estimate(
        chain.clones[10],
        eternalize::chain::bindings::IForwardLayer::forwardCall {
            inputs: words(&b.data),
            shapes: dims(b),
            ranks: rank.clone(),
        }
        .abi_encode()
        .into(),
    )
    .await;
    let packed_bn = estimate(
        chain.address,
        EternalModel::forwardPackedCall {
            layer: U256::from(10),
            inputs: packed::pack(&b.data).into(),
            shapes: dims(b),
            ranks: rank,
        }
        .abi_encode()
        .into(),
    )
    .await;
    eprintln!(
        "A/B layer 9 rows 4–7: clone int256 {direct}, model packed {packed_slice}; layer 10 whole: clone int256 {direct_bn}, model packed {packed_bn}"
    );
    for (k, (n, g, m, outs)) in kinds {
        eprintln!(
            "kind {k:<22} layers {n:>3} gas {g:>11} MACs {m:>9} gas/MAC {:>7.1} outputs {outs:>7} gas/output {:>6.0}",
            g as f64 / m.max(1) as f64,
            g as f64 / outs.max(1) as f64
        );
    }
}
