//! Recurrent layers cut into time-step slices on a real anvil: generated/rnn_steps_fn.keras
//! (LSTM(6) and GRU(5, go_backwards) returning their sequences, SimpleRNN(4), LSTM(4) returning
//! its last state; 12 steps) predicts through chained calls under a budget of 400,000 gas a call,
//! so that both LSTMs and the GRU run as several `forwardSlice`s, each from the state the last
//! one returned — in every weight format, every layer's output bit for bit the unsplit
//! reference's. And an LSTM(128), whose steps fit a call only since its kernels are read in
//! their stored form (generated/lstm128_fn.keras, under the 2^24 cap).

use eternalize::chain::{Rpc, WeightFormat};
use eternalize::infer::{Graph, Tensor};
use eternalize::usecase::chained::{ChainModel, Runner};
use std::time::Instant;

/// The budget: the recurrent layers (≈ 0.5M gas by the planner's model) do not fit whole.
const BUDGET: u64 = 400_000;

/// A deterministic [12, 5] sequence of signed values in (−1, 1).
fn sequence() -> Tensor {
    let data = (0..60u64)
        .map(|i| ((((i * 7919) % 2000) as i128) - 1000) << 32 >> 10)
        .collect();
    Tensor {
        shape: vec![12, 5],
        data,
    }
}

#[tokio::test]
async fn recurrent_layers_run_in_time_step_slices_in_chained_calls_in_every_format() {
    let started = Instant::now();
    let node = crate::chain_support::anvil();
    let chain = crate::chain_support::connect(&node, 0);
    let rpc = Rpc::connect(&node.url()).unwrap();
    chain.deploy_factory().await.unwrap();
    let (model, _) = crate::common::load_fixture("generated/rnn_steps_fn.keras");
    let x = sequence();
    let formats = [
        WeightFormat::Compact,
        WeightFormat::Exact,
        WeightFormat::Int16,
        WeightFormat::Int8,
    ];
    for (salt, format) in formats.into_iter().enumerate() {
        let graph = Graph::from_model(&model, format).unwrap();
        let (address, _, _) =
            crate::chain_support::deploy_model_in(&chain, &model, salt as u64 + 1, format).await;
        let state = rpc.model_state(address).await.unwrap();
        let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
        let all: Vec<usize> = (0..graph.nodes.len()).collect();
        let mut runner = Runner::new(&rpc, &chained, all, BUDGET);
        let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
        let want = graph.run_all(std::slice::from_ref(&x)).unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{format}: layer {i} through chained calls");
        }
        for c in &runner.calls {
            eprintln!(
                "  {format:<8} {:<40} estimate {:>9}  measured {:>9?}",
                c.what, c.estimate, c.measured
            );
            assert!(c.measured.unwrap_or(0) <= BUDGET, "{c:?}");
        }
        // Both LSTMs (the second returns only its last state) and the backward GRU were cut.
        for i in [1, 2, 4] {
            let slices = runner
                .calls
                .iter()
                .filter(|c| {
                    c.what.starts_with(&format!("layer {i} (")) && c.what.contains(" steps ")
                })
                .count();
            assert!(slices >= 2, "{format}: layer {i}: {slices} step slices");
        }
    }
    eprintln!("chain_rnn_steps: {:.1} s", started.elapsed().as_secs_f64());
}

/// A recurrent layer of real size: generated/lstm128_fn.keras (LSTM(128) over 6 steps of 8
/// features, 69,632 kernel values, beside a GRU(16) without reset_after, then Dense(3))
/// predicts through chained calls under the 2^24 cap in every format, every layer bit for bit
/// the reference's. With its kernels widened to a
/// word each in memory, one step of this LSTM cost more than 2^24 gas and it could not run in
/// any plan; read in their stored form, its steps fit a call.
#[tokio::test]
async fn an_lstm_of_128_units_runs_under_the_cap_in_every_format() {
    const CAP: u64 = 16_777_216;
    let started = Instant::now();
    let node = crate::chain_support::anvil();
    let chain = crate::chain_support::connect(&node, 0);
    let rpc = Rpc::connect(&node.url()).unwrap();
    chain.deploy_factory().await.unwrap();
    let (model, _) = crate::common::load_fixture("generated/lstm128_fn.keras");
    let x = Tensor {
        shape: vec![6, 8],
        data: (0..48u64)
            .map(|i| ((((i * 7919) % 2000) as i128) - 1000) << 32 >> 10)
            .collect(),
    };
    for (salt, format) in WeightFormat::ALL.into_iter().enumerate() {
        let graph = Graph::from_model(&model, format).unwrap();
        let (address, _, _) =
            crate::chain_support::deploy_model_in(&chain, &model, salt as u64 + 1, format).await;
        let state = rpc.model_state(address).await.unwrap();
        let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
        let all: Vec<usize> = (0..graph.nodes.len()).collect();
        let mut runner = Runner::new(&rpc, &chained, all, CAP);
        runner.measure_all = true;
        let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
        let want = graph.run_all(std::slice::from_ref(&x)).unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{format}: layer {i} through chained calls");
        }
        for c in &runner.calls {
            eprintln!("  {format:<8} {:<40} measured {:>9?}", c.what, c.measured);
            assert!(c.measured.is_some_and(|g| g <= CAP), "{format}: {c:?}");
        }
    }
    eprintln!(
        "chain_rnn_steps lstm128: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Benchmarks (BENCHMARKS.md, "Recurrent layers in time-step slices"), not run by `cargo test`:
/// keras3_4/embedding_lstm.keras under decreasing budgets, and `lstm_long_fn` (LSTM(128) over
/// 200 steps of 32 features; `generate.py --only lstm_long_fn --out DIR`, the file named by
/// `ETERNALIZE_LSTM_LONG`, several joined like PATH; also lstm_long64_fn) under 2^24 and 4M, each bit for bit the reference; every call measured.
#[tokio::test]
#[ignore]
async fn bench_recurrent_time_step_slices() {
    let node = crate::chain_support::anvil();
    let chain = crate::chain_support::connect(&node, 0);
    let rpc = Rpc::connect(&node.url()).unwrap();
    chain.deploy_factory().await.unwrap();
    let mut cases: Vec<(std::path::PathBuf, Vec<u64>)> = vec![(
        crate::common::fixtures().join("keras3_4/embedding_lstm.keras"),
        vec![16_777_216, 1_000_000, 500_000, 300_000, 250_000, 200_000],
    )];
    if let Some(p) = std::env::var_os("ETERNALIZE_LSTM_LONG") {
        for p in std::env::split_paths(&p) {
            cases.push((p, vec![16_777_216, 4_000_000]));
        }
    }
    for (salt, (path, budgets)) in cases.into_iter().enumerate() {
        let model = eternalize::keras::load(&path).unwrap();
        let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
        let (address, _, deploy_gas) = crate::chain_support::deploy_model_in(
            &chain,
            &model,
            100 + salt as u64,
            WeightFormat::Compact,
        )
        .await;
        let state = rpc.model_state(address).await.unwrap();
        let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
        // The truth's first sample, else a deterministic one of the input's shape.
        let x = match std::fs::read_to_string(path.with_extension("keras.truth.json")) {
            Ok(t) => {
                let truth: serde_json::Value = serde_json::from_str(&t).unwrap();
                crate::common::truth_inputs(&truth, &graph)[0][0].clone()
            }
            Err(_) => {
                let shape: Vec<usize> = graph.input_shapes()[0][1..]
                    .iter()
                    .map(|d| d.unwrap())
                    .collect();
                let n: usize = shape.iter().product();
                let data = (0..n as u64)
                    .map(|i| ((((i * 7919) % 2000) as i128) - 1000) << 32 >> 10)
                    .collect();
                Tensor { shape, data }
            }
        };
        let want = graph.run(std::slice::from_ref(&x)).unwrap();
        eprintln!("{} (deploy {deploy_gas} gas)", path.display());
        for budget in budgets {
            let mut runner = Runner::new(&rpc, &chained, graph.outputs.clone(), budget);
            runner.measure_all = true;
            match runner.run(std::slice::from_ref(&x)).await {
                Ok(got) => {
                    assert_eq!(got, want, "budget {budget}");
                    let gas: Vec<u64> = runner
                        .calls
                        .iter()
                        .map(|c| c.measured.unwrap_or(0))
                        .collect();
                    eprintln!(
                        "  budget {budget:>10}: {} calls, largest {}, total {}",
                        gas.len(),
                        gas.iter().max().unwrap_or(&0),
                        gas.iter().sum::<u64>()
                    );
                    for c in &runner.calls {
                        eprintln!("      {:<44} measured {:>9?}", c.what, c.measured);
                    }
                }
                Err(e) => eprintln!("  budget {budget:>10}: {e}"),
            }
        }
    }
}

/// The recurrent kernels' own gas (BENCHMARKS.md, branch `rnnpacked`), not run by `cargo test`:
/// every SimpleRNN, LSTM and GRU of the models named by `ETERNALIZE_RNN_BENCH` (several joined
/// like PATH; `generate.py --only rnn_bench32_fn rnn_bench64_fn --out DIR`: each kind at units
/// 32/64/128 on 4 steps of 32 or 64 features) in every format, called directly on its clone:
/// `forwardSlice` of one step and of two from zeros (their difference is a step's own cost,
/// the rest what a call pays before its first step) and `forward` of the whole layer, by
/// `eth_estimateGas` on an anvil without the 2^24 cap; the whole layer's output checked bit
/// for bit against the reference.
#[tokio::test]
#[ignore = "a measurement for BENCHMARKS.md, not a check"]
async fn bench_recurrent_kernel_gas() {
    use alloy::primitives::{Address, Bytes, I256, U256};
    use alloy::sol_types::SolCall;
    use eternalize::chain::bindings::IForwardLayer;
    let Some(paths) = std::env::var_os("ETERNALIZE_RNN_BENCH") else {
        eprintln!("ETERNALIZE_RNN_BENCH names no model: nothing measured");
        return;
    };
    let anvil = crate::deploy_support::anvil_path();
    let node =
        eternalize::tools::AnvilProcess::spawn(&anvil, &["--gas-limit", "1000000000"]).unwrap();
    let chain = crate::chain_support::connect(&node, 0);
    let rpc = Rpc::connect(&node.url()).unwrap();
    chain.deploy_factory().await.unwrap();
    let words =
        |t: &[i128]| -> Vec<I256> { t.iter().map(|&v| I256::try_from(v).unwrap()).collect() };
    let mut salt = 200u64;
    for path in std::env::split_paths(&paths) {
        let model = eternalize::keras::load(&path).unwrap();
        for format in WeightFormat::ALL {
            salt += 1;
            let graph = Graph::from_model(&model, format).unwrap();
            let (address, _, _) =
                crate::chain_support::deploy_model_in(&chain, &model, salt, format).await;
            let state = rpc.model_state(address).await.unwrap();
            let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
            let [steps, features] = graph.input_shapes()[0][1..] else {
                panic!("a [steps, features] input")
            };
            let (steps, features) = (steps.unwrap(), features.unwrap());
            let x = Tensor {
                shape: vec![steps, features],
                data: (0..(steps * features) as u64)
                    .map(|i| ((((i * 7919) % 2000) as i128) - 1000) << 32 >> 10)
                    .collect(),
            };
            let want = graph.run_all(std::slice::from_ref(&x)).unwrap();
            let shapes = vec![U256::from(steps), U256::from(features)];
            let ranks = vec![U256::from(2)];
            for (i, n) in graph.nodes.iter().enumerate() {
                if !matches!(n.class_name.as_str(), "SimpleRNN" | "LSTM" | "GRU") {
                    continue;
                }
                let units = want[i].data.len();
                let carry = if n.class_name == "LSTM" {
                    2 * units
                } else {
                    units
                };
                let clone = chained.clones[i];
                let gas = |data: Vec<u8>| {
                    let rpc = &rpc;
                    async move {
                        rpc.estimate_gas(Address::ZERO, clone, &Bytes::from(data))
                            .await
                            .unwrap()
                    }
                };
                let slice = |count: usize| {
                    let mut inputs = vec![0i128; carry];
                    inputs.extend_from_slice(&x.data[..count * features]);
                    IForwardLayer::forwardSliceCall {
                        inputs: words(&inputs),
                        shapes: shapes.clone(),
                        ranks: ranks.clone(),
                        from: U256::ZERO,
                        count: U256::from(count),
                    }
                    .abi_encode()
                };
                let whole = IForwardLayer::forwardCall {
                    inputs: words(&x.data),
                    shapes: shapes.clone(),
                    ranks: ranks.clone(),
                }
                .abi_encode();
                let answer = rpc
                    .call_with_gas(clone, &Bytes::from(whole.clone()), 1_000_000_000)
                    .await
                    .unwrap();
                let r = IForwardLayer::forwardCall::abi_decode_returns(&answer).unwrap();
                let got: Vec<i128> = r
                    .output
                    .iter()
                    .map(|v| i128::try_from(*v).unwrap())
                    .collect();
                assert_eq!(got, want[i].data, "{format}: {}", n.name);
                let (one, two, all) = (gas(slice(1)).await, gas(slice(2)).await, gas(whole).await);
                eprintln!(
                    "| {} | {features} | {format} | {one} | {} | {} | {all} |",
                    n.name,
                    two - one,
                    2 * one - two,
                );
            }
        }
    }
}
