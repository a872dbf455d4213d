//! Issue 15's smooth activations on chain: the "MLP using every activation" fixtures (Keras 3.4
//! .keras and .h5, tf.keras 2.15 .h5) deployed to a real anvil predict exactly what the reference
//! computes; and every elementwise-function layer of them (Activation(f), ELU, PReLU), called
//! directly on a wide grid of inputs, returns the reference's `activate` bit for bit. Prints gas
//! per value of each function (for BENCHMARKS.md), measured over a Rescaling layer of the same
//! model on the same input. The in-place functions also at the edges of their domain.
use crate::common::*;
use alloy::primitives::{I256, U256};
use eternalize::chain::{EternalModel, Shared};
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

/// `layer.forward` of one input, `values` of shape `shape`, on chain.
async fn forward_on_chain<P: alloy::providers::Provider>(
    layer: &IForwardLayer::IForwardLayerInstance<P>,
    values: &[i128],
    shape: &[usize],
) -> Vec<i128> {
    let out = layer
        .forward(words(values), dims(shape), vec![U256::from(shape.len())])
        .call()
        .await
        .unwrap();
    out.output
        .iter()
        .map(|x| i128::try_from(*x).unwrap())
        .collect()
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

/// The elementwise functions `Fixed.activate` runs in place (tanh, sigmoid, relu) and ReLULayer's
/// own (relu6, leaky_relu: graph class ReLU), each as an Activation layer called directly, at the
/// edges of their domain: around 0, at e^x's cut-off (a = 64 in expNeg, which the loop no longer
/// clamps), and out to |x| near 2^126 (tanh's 2x still fits the reference's i128). Every value the
/// reference computes must come back bit for bit; a value it refuses (overflow) is left out.
#[tokio::test]
async fn elementwise_activations_at_the_edges_of_their_domain_equal_the_reference() {
    let (_anvil, chain) =
        crate::chain_support::anvil_with_model(&["--gas-limit", "500000000"]).await;
    let one: i128 = 1 << 32;
    let mut edges: Vec<i128> = vec![0, 1, one, 6 * one, 6 * one + 1, 22 * one, 32 * one - 1];
    edges.extend([
        32 * one,
        32 * one + 1,
        64 * one - 1,
        64 * one,
        64 * one + 1,
        65 * one,
    ]);
    edges.extend([
        1 << 40,
        1 << 64,
        1 << 100,
        (1 << 125) + 12_345,
        (1 << 126) - 1,
    ]);
    let values: Vec<i128> = edges.iter().flat_map(|&v| [v, -v]).collect();
    let mut seen = Vec::new();
    for (salt, name) in ["tanh_reshape_multiply.keras", "relu_functions_fn.keras"]
        .into_iter()
        .enumerate()
    {
        let model = keras::load(&fixtures().join("generated").join(name)).unwrap();
        let (_, image) = crate::chain_support::deploy_model(&chain, &model, salt as u64 + 1).await;
        let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
        for (i, node) in graph.nodes.iter().enumerate() {
            let f = node.class_name.as_str();
            if !matches!(f, "ReLU" | "Sigmoid" | "Tanh" | "LeakyReLU") {
                continue;
            }
            let mut at_one = node.clone();
            at_one.output_shape = vec![None, Some(1)];
            // One value at a time through the reference: keep those it computes.
            let kept: Vec<(i128, i128)> = values
                .iter()
                .filter_map(|&v| {
                    let t = Tensor {
                        shape: vec![1],
                        data: vec![v],
                    };
                    forward::forward(&at_one, &[&t])
                        .ok()
                        .map(|y| (v, y.data[0]))
                })
                .collect();
            assert!(
                kept.len() >= 20,
                "{name} {f}: the reference computed {}",
                kept.len()
            );
            let layer = IForwardLayer::new(image.layers[i].address, chain.provider().clone());
            let xs: Vec<i128> = kept.iter().map(|&(v, _)| v).collect();
            let got = forward_on_chain(&layer, &xs, &[xs.len()]).await;
            let want: Vec<i128> = kept.iter().map(|&(_, y)| y).collect();
            assert_eq!(got, want, "{name} {f} at {xs:?}");
            seen.push(f.to_string());
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["ReLU", "Sigmoid", "Tanh"]);
}

/// The activations a 2×2 max pooling applies inside its loop (`Pooling2DBase._pool2x2`: linear,
/// relu, sigmoid, tanh, each on the window's maximum before its one store) against the
/// reference's pooling, bit for bit: fashion_mnist with its convolutions' tanh/tanh and with
/// them set to sigmoid/relu and linear/linear (the planner moves each onto its pooling), every
/// MaxPooling2D called directly on windows whose maximum is each edge value of the test above
/// (the three other pixels far below it, the maximum's place and channel varying) and on random
/// windows over [−16, 16), with 3, 4, 6 and 16 channels (tanh's one-, two-, six- and
/// sixteen-channel loops, and its two-pixel loop of 6 channels on rows of an even number).
#[tokio::test]
async fn fused_pooling_activations_at_the_edges_equal_the_reference() {
    let (_anvil, chain) =
        crate::chain_support::anvil_with_model(&["--gas-limit", "500000000"]).await;
    let one: i128 = 1 << 32;
    let mut edges: Vec<i128> = vec![0, 1, one, 6 * one, 11 * one, 12 * one, 22 * one, 32 * one];
    edges.extend([64 * one, 65 * one, 1 << 64, 1 << 100, (1 << 124) - 1]);
    let mut maxima: Vec<i128> = edges.iter().flat_map(|&v| [v, -v]).collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        ((seed >> 11) as i128 % (32 * one)) - 16 * one
    };
    maxima.extend((0..40).map(|_| next()));
    // [2, 2·ow, ch]: output pixel x, channel c is window (x, c); the maximum at one of its four
    // pixels, the others at the floor, below every edge (the reference also sums each window:
    // four values of 2^124 still fit its i128). 3, 4, 6 and 16 channels: tanh takes 16, 6 or 2
    // channels an iteration when they divide the count, else one (`tanhOf16`, `tanhOf6`,
    // `tanhOf2`, `tanhOf`), and two pixels of 6 channels when the row has an even number (the
    // edge rows: 11 pixels of 6; the random ones 8). Then random windows: every pixel random.
    let floor: i128 = -(1 << 124);
    let mut inputs = Vec::new();
    for ch in [3, 4, 6, 16] {
        let ow = maxima.len().div_ceil(ch);
        let (h, w) = (2, 2 * ow);
        let mut data = vec![floor; h * w * ch];
        for (i, &m) in maxima.iter().enumerate() {
            let (x, c) = (i / ch, i % ch);
            let (dy, dx) = ((i / 2) % 2, i % 2);
            data[(dy * w + 2 * x + dx) * ch + c] = m;
        }
        inputs.push(Tensor {
            shape: vec![h, w, ch],
            data,
        });
        inputs.push(Tensor {
            shape: vec![h, 16, ch],
            data: (0..h * 16 * ch).map(|_| next()).collect(),
        });
    }
    let mut seen = Vec::new();
    let variants = [["tanh", "tanh"], ["sigmoid", "relu"], ["linear", "linear"]];
    for (salt, acts) in variants.into_iter().enumerate() {
        let mut model = keras::load(&fixtures().join("eai_example/fashion_mnist.keras")).unwrap();
        let convs = model.layers.iter_mut().filter(|l| l.class_name == "Conv2D");
        for (layer, act) in convs.zip(acts) {
            layer
                .config
                .insert("activation".into(), serde_json::Value::from(act));
        }
        let (_, image) = crate::chain_support::deploy_model(&chain, &model, salt as u64 + 1).await;
        let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
        for (i, node) in graph.nodes.iter().enumerate() {
            if node.class_name != "MaxPooling2D" {
                continue;
            }
            // Absent for linear/linear (nothing to move): the config without the word.
            let act = forward::activation_of(node, "activation").to_string();
            let layer = IForwardLayer::new(image.layers[i].address, chain.provider().clone());
            for t in &inputs {
                let mut at = node.clone();
                at.output_shape = vec![None, Some(1), Some(t.shape[1] / 2), Some(t.shape[2])];
                let want = forward::forward(&at, &[t]).unwrap();
                let got = forward_on_chain(&layer, &t.data, &t.shape).await;
                assert_eq!(got, want.data, "MaxPooling2D + {act} on {:?}", t.shape);
            }
            seen.push(act);
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["linear", "linear", "relu", "sigmoid", "tanh", "tanh"]
    );
}

/// `eternalize predict --json` of `input` (the input file's JSON) on the model at `address`.
fn predict_cli(
    data: &std::path::Path,
    url: &str,
    address: &str,
    input: &serde_json::Value,
) -> std::process::Output {
    let input_file = data.join("input.json");
    std::fs::write(&input_file, input.to_string()).unwrap();
    let input = input_file.display().to_string();
    crate::deploy_support::eternalize(
        data,
        &[
            "predict",
            address,
            "--input",
            &input,
            "--rpc-url",
            url,
            "--json",
        ],
        &[],
    )
}

/// The rare activations live in one contract (`EternalActivations`), which `eternalize deploy`
/// places on a fresh chain (its own step) before the layers that call it, as it places every
/// shared contract (the convolution kernel too): a model of every such function then predicts
/// what the reference computes.
#[test]
fn a_fresh_deploy_places_the_shared_contracts_and_predicts_the_reference() {
    use crate::deploy_support::{KEY0, anvil, deploy_json, done_line, text};
    let node = anvil(&[]);
    let data = tempfile::tempdir().unwrap();
    let url = node.url();
    let name = "generated/activations_mlp.keras";
    let o = deploy_json(
        data.path(),
        name,
        &url,
        8192,
        &[("ETERNALIZE_PRIVATE_KEY", KEY0)],
    );
    assert!(o.status.success(), "{}", text(&o));
    let planned = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "planned")
        .unwrap();
    let address = done_line(&o)["model_address"].as_str().unwrap().to_string();
    let rpc = eternalize::chain::Rpc::connect(&url).unwrap();
    for shared in Shared::ALL {
        let step = serde_json::to_value(shared.step()).unwrap();
        assert!(
            planned["steps"].to_string().contains(&step.to_string()),
            "{step} not in {planned}"
        );
        let code = crate::deploy_support::runtime()
            .block_on(rpc.code_at(shared.address()))
            .unwrap();
        assert_eq!(&code, shared.deployed_bytecode(), "{shared:?}");
    }

    let model = keras::load(&fixtures().join(name)).unwrap();
    let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
    let truth = read_json(&sidecar(&fixtures().join(name), ".truth.json"));
    let samples = input::samples(
        &array(&truth["predict"]["inputs"][0]),
        &graph.input_shapes()[0],
    )
    .unwrap();
    let s = &samples[0];
    let moved = graph.nodes.iter().filter(|n| {
        matches!(
            forward::activation_of(n, "activation"),
            "elu"
                | "selu"
                | "gelu"
                | "silu"
                | "swish"
                | "softplus"
                | "softsign"
                | "mish"
                | "exponential"
                | "log_softmax"
                | "hard_silu"
                | "hard_sigmoid"
        )
    });
    assert!(moved.count() >= 5, "the fixture uses the moved codes");
    let want = &graph.run(std::slice::from_ref(s)).unwrap()[0].data;
    let sample: Vec<f64> = s
        .data
        .iter()
        .map(|&v| eternalize::infer::fixed::to_f64(v))
        .collect();
    let o = predict_cli(data.path(), &url, &address, &serde_json::json!([sample]));
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Back to Q32.32 (exact: every output is far below 2^21), bit for bit.
    let got: Vec<i128> = report["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v.as_f64().unwrap() * 4294967296.0).round() as i128)
        .collect();
    assert_eq!(&got, want, "{report}");
}

/// Without a shared contract on chain (its code removed), a layer that needs it fails with a
/// message naming the contract and its address, and `verify` names it too: the activations
/// contract under activations_mlp.keras, the convolution kernel under lane_bound_poly5.keras
/// in int8 (a 2×5 Conv2D, which ConvBase hosts there). Each is put back before the next.
#[tokio::test]
async fn a_missing_shared_contract_is_named_by_predict_and_verify() {
    use eternalize::chain::WeightFormat as Format;
    let (node, chain) = crate::chain_support::anvil_with_model(&[]).await;
    let rpc = eternalize::chain::Rpc::connect(&node.url()).unwrap();
    let set_code = async |at, code: &[u8]| {
        let code = alloy::primitives::hex::encode_prefixed(code);
        let _: serde_json::Value = rpc
            .request("anvil_setCode", serde_json::json!([at, code]))
            .await
            .unwrap();
    };
    let data = tempfile::tempdir().unwrap();
    for (salt, (shared, name, format)) in [
        (
            Shared::Activations,
            "generated/activations_mlp.keras",
            Format::Compact,
        ),
        (
            Shared::ConvKernel,
            "generated/lane_bound_poly5.keras",
            Format::Int8,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let path = fixtures().join(name);
        let model = keras::load(&path).unwrap();
        let (address, _, _) =
            crate::chain_support::deploy_model_in(&chain, &model, salt as u64 + 1, format).await;
        let at = shared.address();
        set_code(at, &[]).await;
        let truth = read_json(&sidecar(&path, ".truth.json"));
        let first = serde_json::json!([truth["predict"]["inputs"][0]["data"][0]]);
        let address = format!("{address:#x}");
        let o = predict_cli(data.path(), &node.url(), &address, &first);
        let err = crate::deploy_support::text(&o);
        assert!(!o.status.success(), "{err}");
        let named = format!("needs {} ({}", shared.description(), shared.contract_name());
        assert!(
            err.contains(&named)
                && err.contains(&at.to_string())
                && err.contains("has no code on this chain"),
            "{named:?} not in {err}"
        );
        let o = crate::deploy_support::eternalize(
            data.path(),
            &[
                "verify",
                &address,
                &path.display().to_string(),
                "--rpc-url",
                &node.url(),
                "--json",
                "--format",
                format.flag(),
            ],
            &[],
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", crate::deploy_support::text(&o)));
        assert_eq!(v["graph"]["ok"], false, "{v}");
        assert!(
            v["graph"].to_string().contains(shared.contract_name()),
            "{v}"
        );
        set_code(at, shared.deployed_bytecode()).await;
    }
}

/// Gas of every rare-activation layer of activations_mlp.keras (an Activation(f) / ELU layer
/// called directly) on 1,000 values over [−12, 12): the implementation's frame under the clone
/// (`debug_traceCall`, call tracer: the DELEGATECALL's gasUsed, so neither the calldata pricing
/// nor EIP-7623's calldata floor, which a 32 KB direct call hits, hides the work), as deployed
/// (the STATICCALL to EternalActivations included), and — when `OLD_ELU_ARTIFACT` names an
/// ELULayer artifact of an earlier build (`git show db737cb:artifacts/ELULayer.json > old.json`)
/// — the same clone delegating to that implementation instead (placed with anvil_setCode), on
/// the same chain and input: the before → after of BENCHMARKS.md "rareacts". Outputs must agree.
#[tokio::test]
#[ignore = "gas harness: cargo test --test all -- chain_activations::rare_activation_gas --ignored --nocapture"]
async fn rare_activation_gas_on_1000_values() {
    use alloy::primitives::{Address, Bytes};
    use alloy::sol_types::SolCall;
    let (node, chain) = crate::chain_support::anvil_with_model(&["--gas-limit", "500000000"]).await;
    let rpc = eternalize::chain::Rpc::connect(&node.url()).unwrap();
    let set_code = |at: Address, code: String| {
        let rpc = &rpc;
        async move {
            let _: serde_json::Value = rpc
                .request("anvil_setCode", serde_json::json!([at, code]))
                .await
                .unwrap();
        }
    };
    let name = "generated/activations_mlp.keras";
    let model = keras::load(&fixtures().join(name)).unwrap();
    let (_, image) = crate::chain_support::deploy_model(&chain, &model, 1).await;
    let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
    // The earlier implementation, at an address of its own.
    let old = match std::env::var("OLD_ELU_ARTIFACT") {
        Ok(path) => {
            let a: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let imp = Address::repeat_byte(0xe1);
            set_code(imp, a["deployedBytecode"].as_str().unwrap().to_string()).await;
            Some(imp)
        }
        Err(_) => None,
    };
    let values: Vec<i128> = (0..1000)
        .map(|i| ((i - 500) as i128) * (3 << 26) / 2)
        .collect();
    let shape = vec![1000usize];
    let calldata: Bytes = IForwardLayer::forwardCall {
        inputs: words(&values),
        shapes: dims(&shape),
        ranks: vec![U256::from(1)],
    }
    .abi_encode()
    .into();
    // The implementation's frame of a call to the clone at `to`, and the output.
    let measure = |to: Address| {
        let calldata = calldata.clone();
        let provider = chain.provider().clone();
        let (values, shape) = (values.clone(), shape.clone());
        async move {
            let trace = crate::chain_support::trace_call(&provider, to, &calldata).await;
            let gas = crate::chain_support::traced_gas(&trace["calls"][0]["gasUsed"]);
            let layer = IForwardLayer::new(to, provider);
            (gas, forward_on_chain(&layer, &values, &shape).await)
        }
    };
    eprintln!("| layer (1,000 values) | before (inline) | after (STATICCALL) |");
    eprintln!("|---|---:|---:|");
    for (i, node) in graph.nodes.iter().enumerate() {
        if node.class_name != "Activation" && node.class_name != "ELU" {
            continue;
        }
        let f = match node.class_name.as_str() {
            "ELU" => "ELU(alpha) layer".to_string(),
            _ => forward::activation_of(node, "activation").to_string(),
        };
        let at = image.layers[i].address;
        let (after, got) = measure(at).await;
        let before = match old {
            Some(imp) => {
                let mut twin_code = rpc.code_at(at).await.unwrap().to_vec();
                twin_code[10..30].copy_from_slice(imp.as_slice());
                let twin = Address::repeat_byte(0xe2);
                set_code(twin, alloy::primitives::hex::encode_prefixed(&twin_code)).await;
                let (gas, out) = measure(twin).await;
                assert_eq!(out, got, "{f}");
                gas.to_string()
            }
            None => "–".into(),
        };
        eprintln!("| {f} | {before} | {after} |");
    }
}
