//! Issue 15's smooth activations on chain: the "MLP using every activation" fixtures (Keras 3.4
//! .keras and .h5, tf.keras 2.15 .h5) deployed to a real anvil predict exactly what the reference
//! computes; and every elementwise-function layer of them (Activation(f), ELU, PReLU), called
//! directly on a wide grid of inputs, returns the reference's `activate` bit for bit. Prints gas
//! per value of each function (for BENCHMARKS.md), measured over a Rescaling layer of the same
//! model on the same input.
use crate::common::*;
use alloy::primitives::{I256, U256};
use eternalize::chain::EternalModel;
use eternalize::infer::{Graph, Tensor, WeightFormat, forward, input};
use eternalize::keras;

alloy::sol!(
    #[sol(rpc)]
    IForwardLayer,
    "artifacts/IForwardLayer.json"
);

fn words(v: &[i128]) -> Vec<I256> {
    v.iter().map(|&x| I256::try_from(x).unwrap()).collect()
}

fn dims(s: &[usize]) -> Vec<U256> {
    s.iter().map(|&d| U256::from(d)).collect()
}

#[tokio::test]
async fn every_activation_on_chain_equals_the_reference_bit_for_bit() {
    let (_anvil, chain) =
        crate::chain_support::anvil_with_model(&["--gas-limit", "500000000"]).await;
    // 256 values over [−12, 12) (both sides of every bend, the tails of exp and erfc).
    let grid: Vec<i128> = (0..256).map(|i| ((i - 128) as i128) * (3 << 27)).collect();
    let mut gas_rows = Vec::new();
    for (salt, name) in [
        "activations_mlp.keras",
        "activations_mlp.h5",
        "activations_keras2.h5",
    ]
    .into_iter()
    .enumerate()
    {
        let path = fixtures().join("generated").join(name);
        let model = keras::load(&path).unwrap();
        let (address, image) =
            crate::chain_support::deploy_model(&chain, &model, salt as u64 + 1).await;
        let m = EternalModel::new(address, chain.provider().clone());
        let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
        let truth = read_json(&sidecar(&path, ".truth.json"));
        let samples = input::samples(
            &array(&truth["predict"]["inputs"][0]),
            &graph.input_shapes()[0],
        )
        .unwrap();
        for (b, s) in samples.iter().enumerate() {
            let want = graph.run(std::slice::from_ref(s)).unwrap();
            let call = m.predictLayers(
                words(&s.data),
                dims(&s.shape),
                vec![U256::from(s.shape.len())],
                vec![U256::from(graph.outputs[0])],
            );
            let gas = call.estimate_gas().await.unwrap();
            let r = call.call().await.unwrap();
            let got: Vec<i128> = r
                .outputs
                .iter()
                .map(|x| i128::try_from(*x).unwrap())
                .collect();
            assert_eq!(got, want[0].data, "{name} sample {b}");
            if b == 0 {
                eprintln!("{name}: predict {gas} gas");
            }
        }
        if name != "activations_mlp.keras" && name != "activations_keras2.h5" {
            continue;
        }
        // Each elementwise layer on the grid, against the reference's own function.
        let layer_gas = |i: usize, shape: Vec<usize>, values: Vec<i128>| {
            let layer = IForwardLayer::new(image.layers[i].address, chain.provider().clone());
            async move {
                let call =
                    layer.forward(words(&values), dims(&shape), vec![U256::from(shape.len())]);
                let gas = call.estimate_gas().await.unwrap();
                let out = call.call().await.unwrap();
                let got: Vec<i128> = out
                    .output
                    .iter()
                    .map(|x| i128::try_from(*x).unwrap())
                    .collect();
                (got, gas)
            }
        };
        let quarter: Vec<i128> = grid.iter().copied().step_by(4).collect();
        for (i, node) in graph.nodes.iter().enumerate() {
            let (shape, values) = match node.class_name.as_str() {
                "Activation" | "ELU" | "Rescaling" => (vec![256], grid.clone()),
                // PReLU's alpha fixes its input shape: one sample's worth.
                "PReLU" => {
                    let s: Vec<usize> = node.output_shape[1..].iter().map(|d| d.unwrap()).collect();
                    let n: usize = s.iter().product();
                    (s, grid[128 - n / 2..128 + n / 2].to_vec())
                }
                _ => continue,
            };
            let n = values.len();
            let (got, gas) = layer_gas(i, shape.clone(), values.clone()).await;
            let mut at_grid = node.clone();
            at_grid.output_shape = std::iter::once(None)
                .chain(shape.iter().map(|&d| Some(d)))
                .collect();
            let want = forward::forward(
                &at_grid,
                &[&Tensor {
                    shape,
                    data: values,
                }],
            )
            .unwrap();
            assert_eq!(got, want.data, "{name} layer {}", node.name);
            let f = node
                .config
                .get("activation")
                .and_then(|v| v.as_str())
                .unwrap_or(&node.class_name)
                .to_string();
            // Marginal gas per value: the same layer on 64 of the 256 values, so the call, the
            // config decode and the exp table cancel out (ABI copy in and out included).
            let per = if n == 256 {
                let (_, g64) = layer_gas(i, vec![64], quarter.clone()).await;
                format!("{:.0}", (gas - g64) as f64 / 192.0)
            } else {
                format!("– ({n} values)")
            };
            if node.class_name == "Rescaling" && gas_rows.iter().any(|(f, _, _)| f == "Rescaling") {
                continue;
            }
            let label = if node.class_name == "Rescaling" {
                f.clone()
            } else {
                format!("{f} ({})", node.name)
            };
            gas_rows.push((label, gas, per));
        }
    }
    eprintln!("| layer | gas (256 values) | gas per value (marginal) |");
    eprintln!("|---|---:|---:|");
    for (f, gas, per) in &gas_rows {
        eprintln!("| {f} | {gas} | {per} |");
    }
    assert!(gas_rows.len() >= 14, "{}", gas_rows.len());
}
