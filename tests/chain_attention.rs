//! MultiHeadAttention cut by query rows on a real anvil enforcing the EIP-7825 cap:
//! generated/keras3_15/attention_norm_fn.keras — self-attention on x [6, 8] (query = value)
//! and cross-attention of [6, 8] over ctx [4, 8] with a key [4, 5] —
//! - predicts through chained calls under a budget below either attention layer whole, so that
//!   both run as `forwardSlice`s of query rows (each given the whole value and key), in every
//!   weight format, every layer's output bit for bit the unsplit reference's;
//! - runs as a job whose steps are held under the same kind of budget, both attention layers in
//!   `stepSlice`s (`sliceInput`'s `WHOLE_REST`: the query's rows open, the value and key
//!   whole), in every weight format, every state and the result the reference's; a slice step
//!   with one forged value row is refused (`StateMismatch`), and one that carries the value by
//!   its row hashes only is refused (`RowsNotCarried`).

use crate::chain_jobs::{JobSender, calls, deploy};
use alloy::primitives::{Bytes, U256};
use alloy::sol_types::SolCall;
use eternalize::chain::jobs;
use eternalize::chain::{EternalJobs, Rpc, WeightFormat};
use eternalize::infer::plan::Op;
use eternalize::infer::{Graph, Tensor};
use eternalize::usecase::chained::{ChainModel, Runner};
use eternalize::usecase::job::{self, DEFAULT_MAX_TX_BYTES, TxBudget};
use std::time::{Duration, Instant};

const FIXTURE: &str = "generated/keras3_15/attention_norm_fn.keras";

/// Under both attention layers whole (≈ 0.50M and 0.42M gas a call), over a slice of one
/// query row.
const BUDGET: u64 = 500_000;

/// A step also carries and checks the state: each transaction of the job is held to this
/// (between one query row and the whole layer in a step); int16 and int8 decode their weights
/// on top (one row of the self-attention ≈ 590k in a step). 700k since session 12: with the
/// weights decoded in one loop (`LayerBase._valuesFrom`) and no proxy frame, the cross-attention
/// with the two layers after it fits a 760k step whole (≈ 572k estimated).
fn step_budget(format: WeightFormat) -> u64 {
    let base = std::env::var("ETERNALIZE_MHA_STEP_BUDGET")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(700_000);
    match format {
        WeightFormat::Int16 | WeightFormat::Int8 => base + 40_000,
        _ => base,
    }
}

/// A deterministic tensor for each model input, signed values in (−1, 1).
fn inputs(graph: &Graph, seed: u64) -> Vec<Tensor> {
    graph
        .input_shapes()
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let shape: Vec<usize> = s[1..].iter().map(|d| d.unwrap()).collect();
            let n = shape.iter().product::<usize>() as u64;
            let data = (0..n)
                .map(|i| ((((i * 7919 + (seed + k as u64) * 104_729) % 2000) as i128) - 1000) << 22)
                .collect();
            Tensor { shape, data }
        })
        .collect()
}

/// The attention layers of a model read from the chain.
fn attention_layers(chained: &ChainModel) -> Vec<usize> {
    (0..chained.layers.len())
        .filter(|&i| matches!(chained.layers[i].op, Op::Attention { .. }))
        .collect()
}

#[tokio::test]
async fn attention_runs_in_query_row_slices_in_chained_calls_in_every_format() {
    let started = Instant::now();
    let budget: u64 = std::env::var("ETERNALIZE_MHA_BUDGET")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(BUDGET);
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    chain.deploy_factory().await.unwrap();
    let (model, _) = crate::common::load_fixture(FIXTURE);
    let formats = [
        WeightFormat::Compact,
        WeightFormat::Exact,
        WeightFormat::Int16,
        WeightFormat::Int8,
    ];
    for (salt, format) in formats.into_iter().enumerate() {
        let graph = Graph::from_model(&model, format).unwrap();
        let x = inputs(&graph, salt as u64);
        let (address, _, _) =
            crate::chain_support::deploy_model_in(&chain, &model, salt as u64 + 1, format).await;
        let state = rpc.model_state(address).await.unwrap();
        let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
        let all: Vec<usize> = (0..graph.nodes.len()).collect();
        let mut runner = Runner::new(&rpc, &chained, all, budget);
        let got = runner.run(&x).await.unwrap();
        let want = graph.run_all(&x).unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{format}: layer {i} through chained calls");
        }
        for c in &runner.calls {
            eprintln!(
                "  {format:<8} {:<44} estimate {:>9}  measured {:>9?}",
                c.what, c.estimate, c.measured
            );
            assert!(c.measured.unwrap_or(0) <= budget, "{c:?}");
        }
        for i in attention_layers(&chained) {
            let slices = runner
                .calls
                .iter()
                .filter(|c| {
                    c.what.starts_with(&format!("layer {i} (")) && c.what.contains(" rows ")
                })
                .count();
            assert!(
                slices >= 2,
                "{format}: layer {i}: {slices} query-row slices"
            );
        }
        eprintln!("  {format}: {}", runner.stats());
    }
    eprintln!(
        "chain_attention chained: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The job of `graph` (deployed at `address`) on `x` under `budget` a step, planned: every
/// step within the budget, every state before a layer the reference's, both attention layers
/// (returned) in two or more slice steps.
async fn job_plan(
    rpc: &Rpc,
    chain: &eternalize::chain::Chain,
    address: alloy::primitives::Address,
    graph: &Graph,
    x: &[Tensor],
    budget: u64,
) -> (job::JobPlan, Vec<usize>) {
    let state = rpc.model_state(address).await.unwrap();
    let chained = ChainModel::read(rpc, address, &state).await.unwrap();
    let want = job::reference_states(graph, x).unwrap();
    let limits = TxBudget {
        gas: budget,
        bytes: DEFAULT_MAX_TX_BYTES,
    };
    let refs: Vec<&Tensor> = x.iter().collect();
    let plan = job::plan(rpc, chain.sender(), address, &refs, limits)
        .await
        .unwrap();
    crate::chain_jobs::check_steps(&plan, budget, &want);
    let attention = attention_layers(&chained);
    assert_eq!(attention.len(), 2);
    for &i in &attention {
        let slices = plan
            .steps
            .iter()
            .filter(|s| s.cursor == i && s.slice.is_some())
            .count();
        assert!(slices >= 2, "layer {i}: {slices} slice steps");
    }
    (plan, attention)
}

#[tokio::test]
async fn attention_runs_in_query_row_slices_in_a_job_in_every_format() {
    let started = Instant::now();
    let budget = step_budget(WeightFormat::Compact);
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let (model, graph) = crate::common::load_fixture(FIXTURE);
    let address = deploy(&chain, &model, 1).await;
    let x = inputs(&graph, 7);
    let (plan, attention) = job_plan(&rpc, &chain, address, &graph, &x, budget).await;
    let all = calls(&plan);
    let sender = JobSender::new(&rpc, Duration::from_secs(120)).await;
    // Up to the cross-attention's second slice: its value (ctx) and key rows are carried open.
    let cross = attention[1];
    let k = plan
        .steps
        .iter()
        .position(|s| s.cursor == cross && s.slice.is_some_and(|(from, _)| from > 0))
        .unwrap();
    let mut sent = sender.send(all[..=k].to_vec()).await.unwrap();
    let s = &plan.steps[k];
    let (from, count) = s.slice.unwrap();
    let refused = |state: Bytes, what: &'static str| {
        let call = eternalize::chain::calls::Call {
            to: plan.jobs,
            data: EternalJobs::stepSliceCall {
                jobId: plan.job_id,
                stepIndex: U256::from(s.index),
                state,
                from: U256::from(from),
                count: U256::from(count),
            }
            .abi_encode()
            .into(),
            value: U256::ZERO,
        };
        let sender = &sender;
        async move {
            sender
                .send(vec![(what.into(), call, s.gas_limit)])
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let windows = jobs::carried_entries(&s.carried).unwrap();
    let as_sent = |tag: u32| {
        windows
            .iter()
            .find(|(t, _, _)| *t == tag)
            .map(|(_, _, w)| w.unwrap_or((0, usize::MAX)))
    };
    // The value: every row open, none of them the query's.
    let links = eternalize::chain::EternalModel::new(address, chain.provider().clone())
        .layers()
        .call()
        .await
        .unwrap();
    let value = links[cross].inputs[1] as u32;
    assert_eq!(as_sent(value), Some((0, usize::MAX)), "{windows:?}");
    // Its last row, one value changed: the commitment says no.
    let mut forged = jobs::decode(&s.state).unwrap();
    let e = forged.iter_mut().find(|e| e.tag == value).unwrap();
    let n = e.values.len();
    e.values[n - 1] += 1;
    let forged = jobs::carry(&jobs::encode(&forged).unwrap(), as_sent).unwrap();
    let e = refused(forged.into(), "forged value row").await;
    assert!(e.contains("StateMismatch"), "{e}");
    // The value carried by its row hashes only (as a slice of a kind without `WHOLE_REST`
    // would send it): the slice needs its rows.
    let hashed = jobs::carry(&s.state, |t| if t == value { None } else { as_sent(t) }).unwrap();
    let e = refused(hashed.into(), "value rows as hashes").await;
    assert!(e.contains("RowsNotCarried"), "{e}");
    // The rest as planned.
    let rest = sender.send(all[k + 1..].to_vec()).await.unwrap();
    sent.each.extend(rest.each);
    let mut jobs_sent = vec![(WeightFormat::Compact, plan, sent)];
    // The other formats, as planned.
    for (salt, format) in [WeightFormat::Exact, WeightFormat::Int16, WeightFormat::Int8]
        .into_iter()
        .enumerate()
    {
        let graph = Graph::from_model(&model, format).unwrap();
        let (address, _, _) =
            crate::chain_support::deploy_model_in(&chain, &model, salt as u64 + 2, format).await;
        let (plan, _) = job_plan(&rpc, &chain, address, &graph, &x, step_budget(format)).await;
        let sent = sender.send(calls(&plan)).await.unwrap();
        jobs_sent.push((format, plan, sent));
    }
    for (format, plan, sent) in jobs_sent {
        let budget = step_budget(format);
        assert!(sent.each.iter().all(|&g| g <= budget), "{:?}", sent.each);
        let got = job::read_result(&rpc, plan.jobs, plan.job_id)
            .await
            .unwrap();
        let reference = Graph::from_model(&model, format).unwrap().run(&x).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, reference[0].data, "{format}: the job's outputs");
        eprintln!(
            "attention_norm_fn job in {format} at {budget}: {} transactions, largest {} gas, total {} gas",
            sent.each.len(),
            sent.each.iter().max().unwrap(),
            sent.each.iter().sum::<u64>(),
        );
    }
    eprintln!("chain_attention job: {:?}", started.elapsed());
}

/// Benchmarks (BENCHMARKS.md, "mharows"), not run by `cargo test`: for generated/
/// attention_rows_fn.keras (self-attention over 64 tokens: over 2^24 whole), keras3_15/
/// attention_norm_fn.keras and transformer_encoder.keras, each attention layer whole
/// (`eth_estimateGas` of `forwardPacked` on an anvil without the cap, 300M block gas) and the
/// model through chained calls under each budget (every call measured) and as a job under 2^24
/// a transaction, each bit for bit the reference.
/// `cargo test --test all chain_attention::bench -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn bench_attention_query_row_slices() {
    use eternalize::infer::plan::Calibration;
    use std::collections::BTreeMap;
    let path = eternalize::tools::Tools::in_repo().anvil().unwrap();
    let uncapped =
        eternalize::tools::AnvilProcess::spawn(&path, &["--gas-limit", "300000000"]).unwrap();
    let node = crate::chain_support::anvil();
    let mut cases: Vec<(String, Vec<u64>)> = vec![
        (
            "generated/attention_rows_fn.keras".into(),
            vec![16_777_216, 8_000_000, 6_000_000],
        ),
        (
            "generated/keras3_15/attention_norm_fn.keras".into(),
            vec![500_000],
        ),
        (
            "generated/transformer_encoder.keras".into(),
            vec![1_600_000],
        ),
    ];
    // attention_long_fn (`generate.py --only attention_long_fn --out DIR`), by its path.
    if let Some(p) = std::env::var_os("ETERNALIZE_MHA_LONG") {
        cases.push((p.to_string_lossy().into_owned(), vec![16_777_216]));
    }
    for (salt, (file, budgets)) in cases.into_iter().enumerate() {
        let (model, graph) = crate::common::load_fixture(&file);
        let x = inputs(&graph, 3);
        let all = graph.run_all(&x).unwrap();
        let want = graph.run(&x).unwrap();
        eprintln!("{file}");
        // Each attention layer whole, where no cap holds it.
        {
            let chain = crate::chain_support::connect(&uncapped, 0);
            let rpc = Rpc::connect(&uncapped.url()).unwrap();
            let address = deploy(&chain, &model, 50 + salt as u64).await;
            let state = rpc.model_state(address).await.unwrap();
            let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
            let runner = Runner::new(&rpc, &chained, graph.outputs.clone(), 300_000_000);
            let mut known: BTreeMap<usize, Tensor> = all.iter().cloned().enumerate().collect();
            known.extend(graph.inputs.iter().copied().zip(x.iter().cloned()));
            for i in attention_layers(&chained) {
                let step = runner
                    .planner()
                    .range(i, i + 1, &known, &Calibration::default())
                    .unwrap();
                let (to, data) = runner.encode(&step, &known);
                let gas = rpc
                    .estimate_gas(alloy::primitives::Address::ZERO, to, &data)
                    .await
                    .unwrap();
                eprintln!("  layer {i} whole: {gas} gas (planned {})", step.estimate);
            }
        }
        let chain = crate::chain_support::connect(&node, 0);
        let rpc = Rpc::connect(&node.url()).unwrap();
        let address = deploy(&chain, &model, 60 + salt as u64).await;
        let state = rpc.model_state(address).await.unwrap();
        let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
        for budget in budgets {
            let mut runner = Runner::new(&rpc, &chained, graph.outputs.clone(), budget);
            runner.measure_all = true;
            let got = runner.run(&x).await.unwrap();
            assert_eq!(got, want, "budget {budget}");
            eprintln!("  chained at {budget}: {}", runner.stats());
            for c in &runner.calls {
                eprintln!(
                    "      {:<48} estimate {:>10}  measured {:>10?}",
                    c.what, c.estimate, c.measured
                );
            }
        }
        let refs: Vec<&Tensor> = x.iter().collect();
        let limits = TxBudget {
            gas: 16_777_216,
            bytes: DEFAULT_MAX_TX_BYTES,
        };
        let plan = job::plan(&rpc, chain.sender(), address, &refs, limits)
            .await
            .unwrap();
        let sender = JobSender::new(&rpc, Duration::from_secs(300)).await;
        let sent = sender.send(calls(&plan)).await.unwrap();
        let got = job::read_result(&rpc, plan.jobs, plan.job_id)
            .await
            .unwrap();
        assert_eq!(got[0].1, want[0].data, "the job's outputs");
        let slices = plan.steps.iter().filter(|s| s.slice.is_some()).count();
        eprintln!(
            "  job at 2^24: {} transactions ({slices} slice steps), largest {}, total {}",
            sent.each.len(),
            sent.each.iter().max().unwrap(),
            sent.each.iter().sum::<u64>()
        );
    }
}
