//! Dense layers too wide for one call or transaction even one unit at a time (issue 13): each
//! unit reads every kernel row, so a unit slice costs about 2k gas per input row whatever its
//! width. generated/wide_dense_fn.keras has two Dense layers of 1,536 inputs (one a softmax);
//! under a small budget they run in parts of their input rows carrying the units' partial sums
//! — in chained calls in every weight format and in a job — bit for bit the reference; a block
//! of units over two row parts by hand equals those units of the layer; a job step with forged
//! partial sums is refused.

use crate::chain_jobs::{calls, deploy};
use alloy::primitives::{Address, Bytes, I256, U256};
use alloy::sol_types::SolCall;
use eternalize::chain::jobs::jobs_address;
use eternalize::chain::{EternalJobs, EternalModel, Rpc, WeightFormat, packed};
use eternalize::infer::{Graph, Tensor};
use eternalize::usecase::chained::{ChainModel, Runner};
use eternalize::usecase::job::{self, TX_GAS_CAP, TxBudget};
use std::time::{Duration, Instant};

/// Gas per chained call: the whole wide Dense layers do not fit, nor does one unit of them.
const CALL_GAS: u64 = 600_000;
/// Gas per job transaction, for the same.
const TX_GAS: u64 = 1_500_000;

/// A deterministic 8×8×24 input in [-1, 1).
fn sample(seed: u64) -> Tensor {
    let data = (0..8 * 8 * 24u64)
        .map(|i| ((((i * 7919 + seed * 104_729) % 2000) as i128) - 1000) << 32 >> 10)
        .collect();
    Tensor {
        shape: vec![8, 8, 24],
        data,
    }
}

/// `forwardSlicePacked` of units [from, from + count) of `layer` over input rows
/// [first, first + rows), given `carried` sums: the values it returns.
async fn row_part(
    rpc: &Rpc,
    model: Address,
    layer: usize,
    x: &[i128],
    carried: &[i128],
    (from, count): (usize, usize),
    (first, rows): (usize, usize),
) -> Vec<i128> {
    let mut values = x[first..first + rows].to_vec();
    values.extend_from_slice(carried);
    let call = EternalModel::forwardSlicePackedCall {
        layer: U256::from(layer),
        inputs: packed::pack(&values).into(),
        shapes: vec![U256::from(x.len())],
        ranks: vec![U256::from(1)],
        from: U256::from(from) | (U256::from(first) << 128),
        count: U256::from(count) | (U256::from(rows) << 128),
    };
    let r = rpc
        .sol_call(model, &call, None, || "row part".into())
        .await
        .unwrap();
    // A part before the last completes no unit: its answer is the sums only.
    let done = if first + rows == x.len() { count } else { 0 };
    assert_eq!(r.outputShape, vec![U256::from(done)]);
    r.output
        .iter()
        .map(|v| i128::try_from(*v).unwrap())
        .collect()
}

#[tokio::test]
async fn wide_dense_runs_in_input_row_parts_in_chained_calls_and_jobs() {
    let started = Instant::now();
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let (model, graph) = crate::common::load_fixture("generated/wide_dense_fn.keras");
    let job_model = deploy(&chain, &model, 1).await;
    let wide = graph.nodes.iter().position(|n| n.name == "wide").unwrap();

    // ---- Chained calls in every format, bit for bit the reference of that format.
    for (salt, format) in WeightFormat::ALL.into_iter().enumerate() {
        let address = if format == WeightFormat::Compact {
            job_model
        } else {
            crate::chain_support::deploy_model_in(&chain, &model, 10 + salt as u64, format)
                .await
                .0
        };
        let graph = Graph::from_model(&model, format).unwrap();
        let state = rpc.model_state(address).await.unwrap();
        let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
        let mut runner = Runner::new(&rpc, &chained, graph.outputs.clone(), CALL_GAS);
        let x = sample(salt as u64);
        let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
        let all = graph.run_all(std::slice::from_ref(&x)).unwrap();
        assert_eq!(
            got,
            graph
                .outputs
                .iter()
                .map(|&o| all[o].clone())
                .collect::<Vec<_>>(),
            "{format:?}"
        );
        for c in &runner.calls {
            assert!(c.measured.unwrap_or(0) <= CALL_GAS, "{format:?}: {c:?}");
        }
        // Both wide layers (the softmax too) went in row parts.
        for name in ["(Dense) units 0–15 of 16", "(Dense) units 0–9 of 10"] {
            assert!(
                runner
                    .calls
                    .iter()
                    .any(|c| c.what.contains(name) && c.what.contains(" input rows ")),
                "{format:?} {name}: {:#?}",
                runner.calls
            );
        }
        eprintln!("{format:?} chained: {}", runner.stats());
        // A block of units over two row parts (the per-row kernel read): units 5–7.
        let input = &all[graph.nodes[wide].inputs[0]].data;
        let sums = row_part(&rpc, address, wide, input, &[], (5, 3), (0, 700)).await;
        let last = row_part(&rpc, address, wide, input, &sums, (5, 3), (700, 836)).await;
        assert_eq!(last, all[wide].data[5..8], "{format:?} units 5–7");
    }
    eprintln!("chained calls done after {:?}", started.elapsed());

    // ---- A job: the wide layers in row parts, every transaction within TX_GAS.
    let x = sample(7);
    let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
    let limits = TxBudget {
        gas: TX_GAS,
        ..TxBudget::DEFAULT
    };
    let plan = job::plan(&rpc, chain.sender(), job_model, &[&x], limits)
        .await
        .unwrap();
    let parts = plan.steps.iter().filter(|s| s.rows.is_some()).count();
    // Both wide layers, each in two parts at least.
    for name in ["wide", "wide_softmax"] {
        let layer = graph.nodes.iter().position(|n| n.name == name).unwrap();
        let n = plan
            .steps
            .iter()
            .filter(|s| s.cursor == layer && s.rows.is_some())
            .count();
        assert!(n >= 2, "{name}: {n} row parts");
    }
    for s in &plan.steps {
        assert!(s.gas_limit <= TX_GAS, "step {}", s.index);
        assert_eq!(job::step_call(&plan, s).data.len(), s.tx_bytes());
        if s.slice.is_none_or(|(from, _)| from == 0) {
            assert_eq!(
                s.state.as_ref(),
                want[s.cursor].as_slice(),
                "before #{}",
                s.cursor
            );
        }
    }
    let all = calls(&plan);
    let sender = crate::chain_jobs::JobSender::new(&rpc, Duration::from_secs(120)).await;
    let send = |c| sender.send(c);
    // Up to the first part that is given partial sums (calls[0] is startJob).
    let k = plan
        .steps
        .iter()
        .position(|s| s.rows.is_some_and(|(first, _)| first > 0))
        .unwrap();
    let mut sent = send(all[..k + 1].to_vec()).await.unwrap();
    // The same step with one partial sum one higher: refused.
    let s = &plan.steps[k];
    let (from, count) = s.slice.unwrap();
    let (first, rows) = s.rows.unwrap();
    let mut forged: Vec<I256> = s.sums.iter().map(|&v| I256::try_from(v).unwrap()).collect();
    forged[0] += I256::ONE;
    let call = eternalize::chain::calls::Call {
        to: plan.jobs,
        data: Bytes::from(
            EternalJobs::stepRowsCall {
                jobId: plan.job_id,
                stepIndex: U256::from(s.index),
                state: s.carried.clone(),
                carried: forged,
                from: U256::from(from) | (U256::from(first) << 128),
                count: U256::from(count) | (U256::from(rows) << 128),
            }
            .abi_encode(),
        ),
        value: U256::ZERO,
    };
    let e = send(vec![("forged sums".into(), call, s.gas_limit)])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("StateMismatch"), "{e}");
    // Without its sums, whether through stepRows or as a stepSlice whose high bits (a Conv2D's
    // channel block there) name the rows: refused too.
    let words = (
        U256::from(from) | (U256::from(first) << 128),
        U256::from(count) | (U256::from(rows) << 128),
    );
    let bare = [
        EternalJobs::stepRowsCall {
            jobId: plan.job_id,
            stepIndex: U256::from(s.index),
            state: s.carried.clone(),
            carried: Vec::new(),
            from: words.0,
            count: words.1,
        }
        .abi_encode(),
        EternalJobs::stepSliceCall {
            jobId: plan.job_id,
            stepIndex: U256::from(s.index),
            state: s.carried.clone(),
            from: words.0,
            count: words.1,
        }
        .abi_encode(),
    ];
    for data in bare {
        let call = eternalize::chain::calls::Call {
            to: plan.jobs,
            data: Bytes::from(data),
            value: U256::ZERO,
        };
        let e = send(vec![("no sums".into(), call, s.gas_limit)])
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("StateMismatch") || e.contains("NotSliceable"),
            "{e}"
        );
    }
    // The rest, as planned: the result is the reference's, bit for bit.
    let rest = send(all[k + 1..].to_vec()).await.unwrap();
    sent.each.extend(rest.each);
    let largest = sent.each.iter().copied().max().unwrap();
    assert!(largest <= TX_GAS.min(TX_GAS_CAP), "{largest}");
    let jobs_contract = EternalJobs::new(jobs_address().unwrap(), chain.provider().clone());
    let stored = jobs_contract.resultState(plan.job_id).call().await.unwrap();
    assert_eq!(stored.as_ref(), want.last().unwrap().as_slice());
    eprintln!(
        "wide_dense_fn job: {} transactions ({} steps, {parts} row parts), largest {largest} gas, total {} gas; after {:?}",
        sent.each.len(),
        plan.steps.len(),
        sent.each.iter().sum::<u64>(),
        started.elapsed()
    );
}

/// The numbers of BENCHMARKS.md "Dense layers cut by their input rows": the smallest budgets
/// fashion_mnist runs under in chained calls, and the gas of cnn_15m's fc1 whole, as one unit,
/// and in row parts. `cargo test --test all chain_densesplit::dense_row_parts_gas --
/// --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn dense_row_parts_gas() {
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let (model, graph, samples) = crate::chain_jobs::fashion_mnist();
    let address = deploy(&chain, &model, 1).await;
    let state = rpc.model_state(address).await.unwrap();
    let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
    let want = graph.run(&samples[..1]).unwrap();
    for budget in [
        1_900_000, 1_000_000, 700_000, 500_000, 400_000, 300_000, 250_000,
    ] {
        let mut runner = Runner::new(&rpc, &chained, graph.outputs.clone(), budget);
        match runner.run(&samples[..1]).await {
            Ok(got) => {
                assert_eq!(got, want, "fashion_mnist under {budget}");
                let parts = runner
                    .calls
                    .iter()
                    .filter(|c| c.what.contains(" input rows "))
                    .count();
                eprintln!(
                    "fashion_mnist under {budget}: {}, {parts} row parts",
                    runner.stats()
                );
            }
            Err(e) => eprintln!("fashion_mnist under {budget}: {e}"),
        }
    }

    let (model, graph) = crate::common::load_fixture("generated/cnn_15m.keras");
    let address = deploy(&chain, &model, 2).await;
    let x = Tensor {
        shape: vec![32, 32, 3],
        data: (0..32 * 32 * 3u64)
            .map(|i| (((i * 7919) % 1000) as i128) << 32 >> 10)
            .collect(),
    };
    let all = graph.run_all(&[x]).unwrap();
    let fc1 = graph.nodes.iter().position(|n| n.name == "fc1").unwrap();
    let input = &all[graph.nodes[fc1].inputs[0]].data;
    let n = input.len();
    let gas = |values: Vec<i128>, (from, count): (usize, usize), rows: Option<(usize, usize)>| {
        let (f, c) = rows.unwrap_or((0, 0));
        let data = if rows.is_none() && count == 0 {
            EternalModel::forwardPackedCall {
                layer: U256::from(fc1),
                inputs: packed::pack(&values).into(),
                shapes: vec![U256::from(n)],
                ranks: vec![U256::from(1)],
            }
            .abi_encode()
        } else {
            EternalModel::forwardSlicePackedCall {
                layer: U256::from(fc1),
                inputs: packed::pack(&values).into(),
                shapes: vec![U256::from(n)],
                ranks: vec![U256::from(1)],
                from: U256::from(from) | (U256::from(f) << 128),
                count: U256::from(count) | (U256::from(c) << 128),
            }
            .abi_encode()
        };
        let rpc = &rpc;
        async move {
            rpc.estimate_gas(Address::ZERO, address, &Bytes::from(data))
                .await
                .unwrap()
        }
    };
    eprintln!(
        "fc1 ({n} → 128) whole: {} gas",
        gas(input.clone(), (0, 0), None).await
    );
    eprintln!(
        "fc1 one unit: {} gas",
        gas(input.clone(), (0, 1), None).await
    );
    let carried = vec![1i128 << 90; 128];
    for rows in [1usize, 64, 512, 1024, 2048] {
        let first = gas(input[..rows].to_vec(), (0, 128), Some((0, rows))).await;
        let mut later = input[n - rows..].to_vec();
        later.extend_from_slice(&carried);
        let last = gas(later, (0, 128), Some((n - rows, rows))).await;
        let mut middle = input[1..1 + rows].to_vec();
        middle.extend_from_slice(&carried);
        let middle = gas(middle, (0, 128), Some((1, rows))).await;
        let mut block = input[..rows].to_vec();
        block.truncate(rows);
        let one = gas(block, (0, 8), Some((0, rows))).await;
        eprintln!(
            "fc1 {rows} rows: all 128 units {first} gas (first part), {middle} (a middle part, sums carried), {last} gas (last part, sums carried); 8 units {one} gas"
        );
    }
    // The planner under small budgets: fc1 alone, in row parts.
    let state = rpc.model_state(address).await.unwrap();
    let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
    let known: std::collections::BTreeMap<usize, Tensor> =
        all.iter().cloned().enumerate().collect();
    for budget in [8_000_000u64, 2_000_000, 1_000_000, 500_000, 300_000] {
        let planner = eternalize::infer::plan::Planner {
            layers: &chained.layers,
            outputs: &graph.outputs,
            budget,
            model: eternalize::infer::plan::GasModel::default(),
        };
        let cal = eternalize::infer::plan::Calibration::default();
        match planner.row_parts(fc1, 0, &known, &cal) {
            Some(steps) => eprintln!(
                "fc1 under {budget}: {} row parts, largest estimate {}",
                steps.len(),
                steps.iter().map(|s| s.estimate).max().unwrap_or(0)
            ),
            None => eprintln!("fc1 under {budget}: no row parts fit"),
        }
    }
}
