//! Row slices of the row-local layers (`RowSliceBase`: InputLayer, BatchNormalization, the
//! activation layers, PReLU, Rescaling, Dropout and the same-shape merges) on a real anvil
//! enforcing the EIP-7825 cap (2^24 gas a transaction):
//! - generated/rowslice_fn.keras, six layers on 64×64×8 tensors (32,768 values, more than one
//!   call can take whole: the InputLayer, BatchNormalization, PReLU with alpha per row, Add and
//!   Maximum as well as the Conv2D), predicts through chained calls under 2^24 gas each, every
//!   layer's output bit for bit the unsplit reference's;
//! - generated/rowslice_small_fn.keras (the same at 20×20×8) runs as a job whose steps are
//!   held to 1.2M gas (its start to 3M), so that the same layers go in `stepSlice`s — the merges given the
//!   same rows of both inputs, the InputLayer the rows of the model input — every state and the
//!   result bit for bit the reference's; a merge's slice missing the rows of one input is refused.

use crate::chain_jobs::{calls, deploy};
use alloy::primitives::{Bytes, U256};
use alloy::sol_types::SolCall;
use eternalize::chain::jobs::{self, jobs_address};
use eternalize::chain::{EternalJobs, Rpc, signer_from_hex};
use eternalize::engine::plan::current_fees;
use eternalize::infer::plan::DEFAULT_CALL_GAS;
use eternalize::infer::{Tensor, WeightFormat};
use eternalize::usecase::chained::{ChainModel, Runner};
use eternalize::usecase::job::{self, DEFAULT_MAX_TX_BYTES, TxBudget};
use std::time::{Duration, Instant};

/// A deterministic side×side×8 tensor of signed values in (−1, 1) (the BatchNormalization and
/// PReLU see both signs).
fn image(side: usize, seed: u64) -> Tensor {
    let n = (side * side * 8) as u64;
    let data = (0..n)
        .map(|i| ((((i * 7919 + seed * 104_729) % 2000) as i128) - 1000) << 32 >> 10)
        .collect();
    Tensor {
        shape: vec![side, side, 8],
        data,
    }
}

/// The row-local layers of both fixtures: InputLayer, BatchNormalization, PReLU, Add, Maximum.
const ROW_LOCAL: [usize; 5] = [0, 1, 2, 4, 5];

/// Every layer of `graph` (deployed as `chained`) run on `x` through chained calls under
/// `budget`: each equals the reference, every call is sent with the budget as its gas and
/// accepted, and each layer of `sliced` runs in two or more row slices. What the calls added up to.
/// `ETERNALIZE_ROWS_MEASURE=1`: every call confirmed by eth_estimateGas (BENCHMARKS.md).
async fn in_row_slices(
    rpc: &Rpc,
    chained: &ChainModel,
    graph: &eternalize::infer::Graph,
    x: &Tensor,
    budget: u64,
    sliced: &[usize],
) -> eternalize::usecase::chained::CallStats {
    let all: Vec<usize> = (0..graph.nodes.len()).collect();
    let mut runner = Runner::new(rpc, chained, all, budget);
    runner.measure_all = std::env::var_os("ETERNALIZE_ROWS_MEASURE").is_some();
    let got = runner.run(std::slice::from_ref(x)).await.unwrap();
    let want = graph.run_all(std::slice::from_ref(x)).unwrap();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "layer {i} through chained calls");
    }
    for c in &runner.calls {
        eprintln!(
            "  {:<50} estimate {:>10}  measured {:>10?}",
            c.what, c.estimate, c.measured
        );
        assert!(c.measured.unwrap_or(0) <= budget, "{c:?}");
    }
    for i in sliced {
        let slices = runner
            .calls
            .iter()
            .filter(|c| c.what.starts_with(&format!("layer {i} (")) && c.what.contains(" rows "))
            .count();
        assert!(slices >= 2, "layer {i}: {slices} row slices");
    }
    runner.stats()
}

#[tokio::test]
async fn row_local_layers_run_in_row_slices_in_chained_calls_and_jobs() {
    let started = Instant::now();
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();

    // ---- rowslice_fn through chained calls, every layer's output wanted.
    let (model, graph) = crate::common::load_fixture("generated/rowslice_fn.keras");
    let address = deploy(&chain, &model, 1).await;
    let state = rpc.model_state(address).await.unwrap();
    let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
    let stats = in_row_slices(
        &rpc,
        &chained,
        &graph,
        &image(64, 3),
        DEFAULT_CALL_GAS,
        &ROW_LOCAL,
    )
    .await;
    eprintln!(
        "rowslice_fn chained: {stats}; after {:?}",
        started.elapsed()
    );

    // ---- rowslice_small_fn as a job: started under 3M gas (startJob carried the input as int256
    // words, 2.57M gas; startJobState packs it, 25.6 KB), then driven in transactions of at most
    // 1.2M gas, so that the InputLayer (1.55M whole) goes in slices too.
    let (model, graph) = crate::common::load_fixture("generated/rowslice_small_fn.keras");
    let address = deploy(&chain, &model, 2).await;
    let x = image(20, 4);
    let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
    let sender = crate::chain_jobs::JobSender::new(&rpc, Duration::from_secs(120)).await;
    let send = |c| sender.send(c);
    let start = TxBudget {
        gas: 3_000_000,
        bytes: DEFAULT_MAX_TX_BYTES,
    };
    let plan = job::plan(&rpc, chain.sender(), address, &[&x], start)
        .await
        .unwrap();
    let mut sent = send(calls(&plan)[..1].to_vec()).await.unwrap();
    let budget = TxBudget {
        gas: 1_200_000,
        bytes: DEFAULT_MAX_TX_BYTES,
    };
    let plan = job::plan(&rpc, chain.sender(), address, &[&x], budget)
        .await
        .unwrap();
    assert!(plan.start.is_none(), "the job was started");
    for s in &plan.steps {
        eprintln!(
            "  step {:>3} layer {} {:<12} estimate {:>9} limit {:>9} bytes {:>6}",
            s.index,
            s.cursor,
            s.slice
                .map_or(format!("+{}", s.count), |(f, c)| format!("{f}..{}", f + c)),
            s.estimate,
            s.gas_limit,
            s.tx_bytes()
        );
    }
    for i in ROW_LOCAL {
        let slices = plan
            .steps
            .iter()
            .filter(|s| s.cursor == i && s.slice.is_some())
            .count();
        assert!(slices >= 2, "layer {i}: {slices} slice steps");
    }
    for s in &plan.steps {
        assert!(s.gas_limit <= budget.gas, "step {}", s.index);
        assert!(s.tx_bytes() <= budget.bytes, "step {}", s.index);
        if s.slice.is_none_or(|(from, _)| from == 0) {
            assert_eq!(
                s.state.as_ref(),
                want[s.cursor].as_slice(),
                "the state before layer #{}",
                s.cursor
            );
        }
    }
    let all = calls(&plan);
    // Up to the Maximum's second slice.
    let k = plan
        .steps
        .iter()
        .position(|s| s.cursor == 5 && s.slice.is_some_and(|(from, _)| from > 0))
        .unwrap();
    sent.each
        .extend(send(all[..k].to_vec()).await.unwrap().each);
    // That slice with the rows of its second input (the BatchNormalization's, layer 1) sent as
    // their hashes only: refused.
    let s = &plan.steps[k];
    let windows = jobs::carried_entries(&s.carried).unwrap();
    let open = |tag: u32| {
        if tag == 1 {
            return None;
        }
        windows
            .iter()
            .find(|(t, _, _)| *t == tag)
            .map(|(_, _, w)| w.unwrap_or((0, usize::MAX)))
    };
    let (from, count) = s.slice.unwrap();
    let forged = eternalize::chain::calls::Call {
        to: plan.jobs,
        data: EternalJobs::stepSliceCall {
            jobId: plan.job_id,
            stepIndex: U256::from(s.index),
            state: Bytes::from(jobs::carry(&s.state, open).unwrap()),
            from: U256::from(from),
            count: U256::from(count),
        }
        .abi_encode()
        .into(),
        value: U256::ZERO,
    };
    let e = send(vec![(
        "rows of one input missing".into(),
        forged,
        s.gas_limit,
    )])
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("RowsNotCarried"), "{e}");
    let rest = send(all[k..].to_vec()).await.unwrap();
    sent.each.extend(rest.each);
    let largest = sent.each.iter().copied().max().unwrap();
    let total: u64 = sent.each.iter().sum();
    assert!(largest <= start.gas, "{largest}");
    assert!(
        sent.each[1..].iter().all(|&g| g <= budget.gas),
        "{:?}",
        sent.each
    );
    let jobs_contract = EternalJobs::new(jobs_address().unwrap(), chain.provider().clone());
    let stored = jobs_contract.resultState(plan.job_id).call().await.unwrap();
    assert_eq!(stored.as_ref(), want.last().unwrap().as_slice());
    let got = job::read_result(&rpc, plan.jobs, plan.job_id)
        .await
        .unwrap();
    let reference = graph.run(std::slice::from_ref(&x)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, reference[0].data, "the job's outputs");
    let slices = plan.steps.iter().filter(|s| s.slice.is_some()).count();
    eprintln!(
        "rowslice_small_fn job: {} transactions ({} steps, {slices} slices), largest {largest} gas, total {total} gas; after {:?}",
        sent.each.len(),
        plan.steps.len(),
        started.elapsed()
    );
}

/// Benchmark (BENCHMARKS.md, "Row slices"): `keras.applications.MobileNetV2(alpha=0.35)` at
/// 96×96 (generated/apps/mobilenet_v2.keras), deployed on anvil with the per-transaction cap,
/// predicts by address through chained calls of at most 2^24 gas each, bit for bit the offline
/// reference. Its BatchNormalization on 48×48×16 (≈ 33M gas whole) and its InputLayer (≈ 18.6M)
/// run in row slices. Every call confirmed by `eth_estimateGas`. Run with
/// `cargo test --test all chain_rows::mobilenet_v2_96 -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn mobilenet_v2_96_predicts_through_chained_calls() {
    let started = Instant::now();
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let path = crate::common::fixtures().join("generated/apps/mobilenet_v2.keras");
    let (model, graph, samples) = crate::chain_predict::with_truth_samples(&path);
    chain.deploy_factory().await.unwrap();
    let (_, _, deploy_gas) =
        crate::chain_support::deploy_model_in(&chain, &model, 1, WeightFormat::Compact).await;
    let address = eternalize::chain::model_address(
        chain.sender(),
        alloy::primitives::B256::from(U256::from(1u64)),
    )
    .unwrap();
    eprintln!(
        "MobileNetV2 96×96 deployed ({deploy_gas} gas) after {:?}",
        started.elapsed()
    );
    let state = rpc.model_state(address).await.unwrap();
    let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
    let mut runner = Runner::new(&rpc, &chained, graph.outputs.clone(), DEFAULT_CALL_GAS);
    runner.measure_all = true;
    let x = samples[0].clone();
    let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
    assert_eq!(got, graph.run(&[x]).unwrap(), "MobileNetV2 96×96 chained");
    for c in &runner.calls {
        eprintln!(
            "  {:<56} estimate {:>10}  measured {:>10?}",
            c.what, c.estimate, c.measured
        );
        assert!(c.measured.unwrap_or(0) <= DEFAULT_CALL_GAS, "{c:?}");
    }
    eprintln!(
        "MobileNetV2 96×96 chained: {}; after {:?}",
        runner.stats(),
        started.elapsed()
    );
}

/// A deterministic 24×16×8 tensor in (−1, 1) whose rows and channels differ in mean and spread
/// (so every normalisation's statistics differ from group to group).
fn norm_input(seed: u64) -> Tensor {
    let data = (0..24 * 16 * 8u64)
        .map(|i| {
            let (row, ch) = (i / 128, i % 8);
            let v = ((i * 7919 + seed * 104_729) % 2000) as i128 - 1000;
            (v * (1 + (ch as i128 % 3)) + 40 * row as i128) << 32 >> 12
        })
        .collect();
    Tensor {
        shape: vec![24, 16, 8],
        data,
    }
}

/// The normalisations of generated/normrows_fn.keras: LayerNormalization over the last axis
/// (1), GroupNormalization (2), LayerNormalization over axes [2, 3] (3) and over axis 1 (4), and
/// over the last axis of the reshaped [24, 128] (6).
const NORMS: [usize; 5] = [1, 2, 3, 4, 6];

/// LayerNormalization and GroupNormalization in row slices: generated/normrows_fn.keras (five
/// normalisations of 3,072 values each) through chained calls held to 1.6M gas, so that each
/// normalisation is cut — the row-local ones (axis −1, axes [2, 3]) given their rows, the
/// others (axis 1, GroupNormalization) the whole input for their statistics — every layer's
/// output bit for bit the unsplit reference's; then as a job whose steps are held to 1.6M gas,
/// every state and the result the reference's.
#[tokio::test]
async fn normalizations_run_in_row_slices_in_chained_calls_and_jobs() {
    let started = Instant::now();
    let budget: u64 = std::env::var("ETERNALIZE_NORM_BUDGET")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_000_000);
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let (model, graph) = crate::common::load_fixture("generated/normrows_fn.keras");
    let address = deploy(&chain, &model, 1).await;
    let state = rpc.model_state(address).await.unwrap();
    let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
    let stats = in_row_slices(&rpc, &chained, &graph, &norm_input(5), budget, &NORMS).await;
    eprintln!(
        "normrows_fn chained at {budget}: {stats}; after {:?}",
        started.elapsed()
    );

    // ---- The same as a job, every transaction (its start too) held to 3.5M gas: a step
    // carries and checks the state on top of the slice (ln_1's row with the whole input:
    // 2.64M in a step).
    let budget = 3_500_000;
    let address = deploy(&chain, &model, 2).await;
    let x = norm_input(6);
    let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
    let (fees, _) = current_fees(&rpc, None).await.unwrap();
    let chain_id = rpc.chain_id().await.unwrap();
    let signer = signer_from_hex(crate::deploy_support::KEY0).unwrap();
    let limits = TxBudget {
        gas: budget,
        bytes: DEFAULT_MAX_TX_BYTES,
    };
    let plan = job::plan(&rpc, chain.sender(), address, &[&x], limits)
        .await
        .unwrap();
    crate::chain_jobs::check_steps(&plan, budget, &want);
    for i in NORMS {
        let slices = plan
            .steps
            .iter()
            .filter(|s| s.cursor == i && s.slice.is_some())
            .count();
        assert!(slices >= 2, "layer {i}: {slices} slice steps");
    }
    let sent = job::send_pipelined(
        &rpc,
        &signer,
        chain_id,
        &fees,
        &calls(&plan),
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert!(sent.each.iter().all(|&g| g <= budget), "{:?}", sent.each);
    let got = job::read_result(&rpc, plan.jobs, plan.job_id)
        .await
        .unwrap();
    let reference = graph.run(std::slice::from_ref(&x)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, reference[0].data, "the job's outputs");
    eprintln!(
        "normrows_fn job at {budget}: {} transactions, largest {} gas, total {} gas; after {:?}",
        sent.each.len(),
        sent.each.iter().max().unwrap(),
        sent.each.iter().sum::<u64>(),
        started.elapsed()
    );
}

/// Measurement (BENCHMARKS.md, "Gas model of slices"): the planner's uncalibrated estimate of
/// every call of the chained inference of the fixtures of chain_rows, chain_slices and
/// chain_chained (rowslice_fn, normrows_fn, cnn_500k, cnn_15m) against `eth_estimateGas`,
/// printed per call and as the ratio measured / planned per call kind. Each step is planned
/// on the reference's tensors with no calibration, as the runner's first call of each kind is.
/// Run with `cargo test --test all chain_rows::gas_model_of_slices -- --ignored --nocapture`
/// (`ETERNALIZE_GAS_FIXTURES=a,b` for some of them).
#[tokio::test]
#[ignore]
async fn gas_model_of_slices_against_estimate_gas() {
    use eternalize::infer::plan::{Calibration, Segment, Step};
    use std::collections::BTreeMap;
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let only = std::env::var("ETERNALIZE_GAS_FIXTURES").ok();
    let mut kinds: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (salt, name) in [
        "rowslice_fn",
        "normrows_fn",
        "cnn_500k",
        "cnn_15m",
        "attention_rows_fn",
        "keras3_15/attention_norm_fn",
    ]
    .into_iter()
    .enumerate()
    {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|n| n == name))
        {
            continue;
        }
        let (model, graph) = crate::common::load_fixture(&format!("generated/{name}.keras"));
        let address = deploy(&chain, &model, salt as u64 + 10).await;
        let state = rpc.model_state(address).await.unwrap();
        let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
        let xs: Vec<Tensor> = graph
            .input_shapes()
            .iter()
            .map(|s| {
                let shape: Vec<usize> = s[1..].iter().map(|d| d.unwrap()).collect();
                let n: usize = shape.iter().product();
                Tensor {
                    data: (0..n as i128)
                        .map(|i| ((i * 7919 % 2000) - 1000) << 22)
                        .collect(),
                    shape,
                }
            })
            .collect();
        let all = graph.run_all(&xs).unwrap();
        let mut known: BTreeMap<usize, Tensor> = all.iter().cloned().enumerate().collect();
        known.extend(graph.inputs.iter().copied().zip(xs.iter().cloned()));
        // `ETERNALIZE_GAS_BUDGET`: plan under a lower budget (more, smaller slices).
        let budget = std::env::var("ETERNALIZE_GAS_BUDGET")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_CALL_GAS);
        let runner = Runner::new(&rpc, &chained, graph.outputs.clone(), budget);
        let planner = runner.planner();
        let cal = Calibration::default();
        let mut next = 0;
        while next < chained.layers.len() {
            let mut given: BTreeMap<usize, Tensor> = known
                .iter()
                .filter(|(i, _)| **i < next)
                .map(|(i, t)| (*i, t.clone()))
                .collect();
            for &i in &graph.inputs {
                given.insert(i, known[&i].clone());
            }
            let mut steps = planner.next(next, &given, &cal).unwrap();
            // A quarter of the first slice too: how the error grows with the slice's size.
            if let Some(Step {
                segment:
                    Segment::Slice {
                        layer,
                        from,
                        count,
                        channels: None,
                        ..
                    },
                ..
            }) = steps.first()
                && *count >= 4
                && let Some(s) = planner.slice(*layer, *from, count / 4, &given, &cal)
            {
                steps.insert(0, s);
            }
            for step in &steps {
                let (to, data) = runner.encode(step, &known);
                let measured = rpc
                    .estimate_gas(alloy::primitives::Address::ZERO, to, &data)
                    .await
                    .ok();
                let class = chained.layers[step.key.layer].kind.class_name();
                let kind = match &step.segment {
                    Segment::Range { from, to, .. } if to - from == 1 => format!("whole {class}"),
                    Segment::Range { .. } => format!("range, heaviest {class}"),
                    Segment::Slice {
                        channels: Some(_), ..
                    } => format!("slice {class} channels"),
                    Segment::Slice { direct, .. } => {
                        format!("slice {class}{}", if *direct { " direct" } else { "" })
                    }
                };
                let ratio = measured.map(|m| m as f64 / step.estimate as f64);
                eprintln!(
                    "  {name:<12} {:<52} planned {:>10}  measured {:>10?}  ratio {}",
                    step.describe(&chained.layers),
                    step.estimate,
                    measured,
                    ratio.map_or("-".into(), |r| format!("{r:.3}"))
                );
                if let Some(r) = ratio {
                    kinds.entry(kind).or_default().push(r);
                }
            }
            next = match &steps.last().unwrap().segment {
                Segment::Range { to, .. } => *to,
                Segment::Slice { layer, .. } => layer + 1,
            };
        }
    }
    eprintln!("measured / planned per call kind (calls, min, mean, max):");
    for (kind, rs) in &kinds {
        let mean = rs.iter().sum::<f64>() / rs.len() as f64;
        let min = rs.iter().copied().fold(f64::MAX, f64::min);
        let max = rs.iter().copied().fold(0f64, f64::max);
        eprintln!(
            "  {kind:<44} {:>4}  {min:.3}  {mean:.3}  {max:.3}",
            rs.len()
        );
    }
}
