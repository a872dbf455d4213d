//! Chained calls on a real anvil that enforces the per-transaction cap (`--enable-tx-gas-limit`,
//! default gas limits): the 554k-parameter, 15.6M-MAC CNN (generated/cnn_15m.keras), whose
//! `predict` needs far more than 2^24 gas in one call, predicts by address through chained
//! calls — every call under 2^24 by the plan's estimate, by `eth_estimateGas` and by the node
//! accepting it with that gas — bit for bit the offline reference; a lower `--call-gas` takes
//! more calls for the same values; single layers split across calls (`forwardSlice`) equal the
//! unsplit reference; and `verify` on the intact deployment passes.

use crate::deploy_support::*;
use alloy::primitives::{Address, Bytes, I256, U256};
use alloy::sol_types::SolCall;
use eternalize::chain::Rpc;
use eternalize::chain::bindings::IForwardLayer;
use eternalize::infer::plan::DEFAULT_CALL_GAS;
use eternalize::infer::{Graph, Tensor, WeightFormat};
use eternalize::tools::{ANVIL_DEV_KEYS, AnvilProcess};
use eternalize::usecase::chained::{ChainModel, Runner};
use serde_json::Value;

const CNN: &str = "generated/cnn_15m.keras";

struct Node {
    anvil: AnvilProcess,
    data: tempfile::TempDir,
}

impl Node {
    fn run(&self, args: &[&str]) -> std::process::Output {
        eternalize(
            self.data.path(),
            args,
            &[("ETERNALIZE_PRIVATE_KEY", ANVIL_DEV_KEYS[0])],
        )
    }
}

fn graph() -> Graph {
    let model = eternalize::keras::load(&fixture(CNN)).unwrap();
    Graph::from_model(&model, WeightFormat::Compact).unwrap()
}

/// A deterministic 32×32×3 image in [0, 1).
fn image(seed: u64) -> Tensor {
    let data = (0..32 * 32 * 3u64)
        .map(|i| (((i * 7919 + seed * 104_729) % 1000) as i128) << 32 >> 10)
        .collect();
    Tensor {
        shape: vec![32, 32, 3],
        data,
    }
}

fn flat(t: &[&Tensor]) -> (Vec<I256>, Vec<U256>, Vec<U256>) {
    (
        t.iter()
            .flat_map(|t| t.data.iter().map(|&v| I256::try_from(v).unwrap()))
            .collect(),
        t.iter()
            .flat_map(|t| t.shape.iter().map(|&d| U256::from(d)))
            .collect(),
        t.iter().map(|t| U256::from(t.shape.len())).collect(),
    )
}

/// `forwardSlice` on a layer clone, given the input rows `rows` (or all of it).
async fn slice_on_chain(
    rpc: &Rpc,
    clone: Address,
    input: &Tensor,
    rows: Option<(usize, usize)>,
    from: usize,
    count: usize,
) -> Tensor {
    let (mut values, shapes, ranks) = flat(&[input]);
    if let Some((a, b)) = rows {
        let row: usize = input.shape[1..].iter().product();
        values = values[a * row..b * row].to_vec();
    }
    let call = IForwardLayer::forwardSliceCall {
        inputs: values,
        shapes,
        ranks,
        from: U256::from(from),
        count: U256::from(count),
    };
    let data = Bytes::from(call.abi_encode());
    let answer = rpc
        .call_with_gas(clone, &data, DEFAULT_CALL_GAS)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "forwardSlice of {count} from {from} on {clone} (input {:?}, rows {rows:?}): {e:?}",
                input.shape
            )
        });
    let r = IForwardLayer::forwardSliceCall::abi_decode_returns(&answer).unwrap();
    Tensor {
        shape: r.outputShape.iter().map(|d| d.to::<usize>()).collect(),
        data: r
            .output
            .iter()
            .map(|v| i128::try_from(*v).unwrap())
            .collect(),
    }
}

/// Rows [from, from + count) of `t` along its first axis.
fn rows_of(t: &Tensor, from: usize, count: usize) -> Tensor {
    let row: usize = t.shape[1..].iter().product();
    let mut shape = t.shape.clone();
    shape[0] = count;
    Tensor {
        shape,
        data: t.data[from * row..(from + count) * row].to_vec(),
    }
}

#[test]
fn the_big_cnn_predicts_by_address_through_chained_calls() {
    let node = Node {
        anvil: anvil(&[]),
        data: tempfile::tempdir().unwrap(),
    };
    let url = node.anvil.url();
    let o = node.run(&[
        "deploy",
        &fixture_str(CNN),
        "--rpc-url",
        &url,
        "--yes",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let address: Address = done_line(&o)["model_address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let graph = graph();
    let rt = runtime();
    let rpc = Rpc::connect(&url).unwrap();

    rt.block_on(async {
        let state = rpc.model_state(address).await.unwrap();
        let model = ChainModel::read(&rpc, address, &state).await.unwrap();

        // Layers split across calls equal the unsplit reference: conv2 rows 5–6 (sent only the
        // input rows 4–7 they read), the first pool's rows 3–4, fc1's units 40–71.
        let x = image(1);
        let all = graph.run_all(std::slice::from_ref(&x)).unwrap();
        for (layer, from, count) in [(2usize, 5usize, 2usize), (1, 0, 3), (3, 3, 2), (4, 15, 1)] {
            let input = &all[model.layers[layer].inputs[0]];
            let rows = model.layers[layer].slice_rows(&input.shape, from, count);
            assert!(rows.is_some(), "layer {layer} slices by rows");
            let got = slice_on_chain(&rpc, model.clones[layer], input, rows, from, count).await;
            assert_eq!(got, rows_of(&all[layer], from, count), "layer {layer}");
        }
        let fc1 = 7;
        // Gas of fc1 slices by width (ETERNALIZE_PROFILE_SLICES=1; BENCHMARKS.md).
        if std::env::var_os("ETERNALIZE_PROFILE_SLICES").is_some() {
            for count in [1usize, 8, 32, 128] {
                let (inputs, shapes, ranks) = flat(&[&all[6]]);
                let call = IForwardLayer::forwardSliceCall {
                    inputs,
                    shapes,
                    ranks,
                    from: U256::ZERO,
                    count: U256::from(count),
                };
                let data = Bytes::from(call.abi_encode());
                let g = rpc
                    .estimate_gas(Address::ZERO, model.clones[fc1], &data)
                    .await;
                eprintln!("fc1 slice of {count} units: {g:?}");
                let trace: Result<Value, _> = rpc
                    .request(
                        "debug_traceCall",
                        serde_json::json!([
                            {"to": model.clones[fc1], "data": data, "gas": "0x1000000"},
                            "latest",
                            {"tracer": "callTracer"}
                        ]),
                    )
                    .await;
                match trace {
                    Ok(t) => {
                        let inner = &t["calls"][0]["calls"];
                        let n = inner.as_array().map_or(0, Vec::len);
                        eprintln!("  {n} calls to the model (weight layout, chunk addresses)");
                    }
                    Err(e) => eprintln!("  trace: {e}"),
                }
            }
        }
        let got = slice_on_chain(&rpc, model.clones[fc1], &all[6], None, 40, 32).await;
        let want: Vec<i128> = all[fc1].data[40..72].to_vec();
        assert_eq!(got.shape, vec![32]);
        assert_eq!(got.data, want, "fc1 units 40–71");

        // The whole model: chained calls, each confirmed by eth_estimateGas and accepted by
        // the node with 2^24 gas, bit for bit the reference. (A lower budget, 12M, runs below
        // through the command line: every call is sent with the budget as its gas, so the node
        // itself refuses one over it — no need to pay anvil for an estimate of each.)
        for (budget, seed) in [(DEFAULT_CALL_GAS, 2u64)] {
            let mut runner = Runner::new(&rpc, &model, graph.outputs.clone(), budget);
            runner.measure_all = true;
            let x = image(seed);
            let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
            assert_eq!(got, graph.run(&[x]).unwrap(), "budget {budget}");
            eprintln!("budget {budget}: {}", runner.stats());
            for c in &runner.calls {
                eprintln!(
                    "  {:<40} estimate {:>10}  measured {:>10}",
                    c.what,
                    c.estimate,
                    c.measured.unwrap()
                );
                assert!(c.measured.unwrap() <= budget, "{c:?}");
                assert!(c.estimate <= budget, "{c:?}");
            }
            assert!(runner.calls.len() > 5, "{:?}", runner.calls);
        }
    });

    // The command line: `predict ADDRESS` equals the offline predict, and says its calls.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("image.json");
    let x = image(3);
    let nested: Vec<Vec<Vec<f64>>> = (0..32)
        .map(|r| {
            (0..32)
                .map(|c| {
                    (0..3)
                        .map(|k| x.data[(r * 32 + c) * 3 + k] as f64 / 2f64.powi(32))
                        .collect()
                })
                .collect()
        })
        .collect();
    std::fs::write(&input, serde_json::to_string(&[nested]).unwrap()).unwrap();
    let input = input.display().to_string();
    let predict = |extra: &[&str]| -> Value {
        let mut args = vec!["predict", "", "--input", &input, "--json"];
        let addr = address.to_string();
        args[1] = &addr;
        args.extend(["--rpc-url", &url]);
        args.extend(extra);
        let o = node.run(&args);
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let o = node.run(&["predict", &fixture_str(CNN), "--input", &input, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let offline: Value = serde_json::from_slice(&o.stdout).unwrap();
    let chained = predict(&[]);
    let low = predict(&["--call-gas", "12000000"]);
    for (v, budget) in [(&chained, DEFAULT_CALL_GAS), (&low, 12_000_000)] {
        assert_eq!(v["values"], offline["values"], "{v}");
        assert_eq!(v["shape"], offline["shape"]);
        assert_eq!(v["call_gas"], budget);
        let largest = v["gas"]["largest"].as_u64().unwrap();
        assert!(largest <= budget && largest > 0, "{v}");
        assert!(v["gas"]["sum"].as_u64().unwrap() > budget, "{v}");
    }
    let calls = |v: &Value| v["calls"].as_u64().unwrap();
    assert!(calls(&chained) > 5, "{chained}");
    assert!(calls(&low) > calls(&chained), "{low} vs {chained}");
    // The plain output says the calls too.
    let addr = address.to_string();
    let o = node.run(&["predict", &addr, "--input", &input, "--rpc-url", &url]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!(
            "on chain: {} calls of at most 16,777,216 gas each",
            calls(&chained)
        )),
        "{out}"
    );

    // A budget no slice of conv2 fits: it could not run, says why with the numbers.
    let o = node.run(&[
        "predict",
        &addr,
        "--input",
        &input,
        "--rpc-url",
        &url,
        "--call-gas",
        "1000000",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("could not run layer ")
            && err.contains("over the budget of 1,000,000 gas per call")
            && err.contains("budget 1,000,000 gas per call, --call-gas"),
        "{err}"
    );
    // verify under that budget: nothing differs, the prediction could not run — never
    // "differs" (issue 13's false alarm).
    let o = node.run(&[
        "verify",
        &addr,
        &fixture_str(CNN),
        "--rpc-url",
        &url,
        "--json",
        "--call-gas",
        "1000000",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    for part in ["hash", "graph", "weights"] {
        assert_eq!(v[part]["ok"], true, "{v}");
    }
    assert_eq!(v["predict"]["ok"], false, "{v}");
    let why = v["predict"]["not_run"].as_str().unwrap();
    assert!(why.contains("1,000,000"), "{why}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("could not be proved equal") && !err.contains("does not equal"),
        "{err}"
    );
    let o = node.run(&[
        "verify",
        &addr,
        &fixture_str(CNN),
        "--rpc-url",
        &url,
        "--call-gas",
        "1000000",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("predict  NOT RUN") && !out.contains("DIFFERS"),
        "{out}"
    );

    // verify on the intact deployment passes, its predict part through the same planner.
    let o = node.run(&[
        "verify",
        &addr,
        &fixture_str(CNN),
        "--rpc-url",
        &url,
        "--json",
    ]);
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert!(o.status.success(), "{v}\n{}", text(&o));
    assert_eq!(v["predict"]["ok"], true, "{v}");
    assert_eq!(v["predict"]["max_abs_diff"], 0.0, "{v}");
    assert!(v["predict"]["calls"]["calls"].as_u64().unwrap() > 5, "{v}");
}
