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
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
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

/// The truth's first sample of the model at `path`, else a deterministic one of its input's
/// shape.
fn sample_of(path: &std::path::Path, graph: &Graph) -> Tensor {
    match std::fs::read_to_string(path.with_extension("keras.truth.json")) {
        Ok(t) => {
            let truth: serde_json::Value = serde_json::from_str(&t).unwrap();
            crate::common::truth_inputs(&truth, graph)[0][0].clone()
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
    }
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
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
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
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
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
        let x = sample_of(&path, &graph);
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

/// Gas per job transaction: both LSTMs and the GRU of rnn_steps_fn are over it whole (a step
/// may use ≈ 441k of it; one time step of the LSTM(6) ≈ 363k); the SimpleRNN(4) fits (≈ 322k).
const JOB_GAS: u64 = 600_000;

/// rnn_steps_fn as a job under `JOB_GAS` a transaction: the LSTM and the backward GRU returning
/// their sequences and the LSTM returning its last h run as several `stepRows` parts of consecutive time steps, the carry (h, and an LSTM's cell state) carried
/// as calldata against the job's commitment; every state before a layer is the reference's and
/// the result is the reference's bit for bit, in the compact and the int8 format; the SimpleRNN,
/// whole under the budget, in two parts by hand too. A forged carry and a skipped part are
/// refused, and so is a row part of a kind that takes none.
#[tokio::test]
async fn recurrent_layers_run_in_time_step_parts_in_jobs() {
    use alloy::primitives::{Bytes, I256, U256};
    use alloy::sol_types::SolCall;
    use eternalize::chain::EternalJobs;
    use eternalize::usecase::job::{self, TxBudget};
    use std::time::Duration;

    let started = Instant::now();
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    chain.deploy_factory().await.unwrap();
    chain.deploy_jobs().await.unwrap();
    let (model, _) = crate::common::load_fixture("generated/rnn_steps_fn.keras");
    let x = sequence();
    let sender = crate::chain_jobs::JobSender::new(&rpc, Duration::from_secs(120)).await;
    let send = |c| sender.send(c);
    for (salt, format) in [WeightFormat::Compact, WeightFormat::Int8]
        .into_iter()
        .enumerate()
    {
        let graph = Graph::from_model(&model, format).unwrap();
        let (address, _, _) =
            crate::chain_support::deploy_model_in(&chain, &model, 20 + salt as u64, format).await;
        let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
        let limits = TxBudget {
            gas: JOB_GAS,
            ..TxBudget::DEFAULT
        };
        let plan = job::plan(&rpc, chain.sender(), address, &[&x], limits)
            .await
            .unwrap();
        for name in ["lstm_seq", "gru_back_seq", "lstm_last"] {
            let layer = graph.nodes.iter().position(|n| n.name == name).unwrap();
            let parts = plan
                .steps
                .iter()
                .filter(|s| s.cursor == layer && s.rows.is_some())
                .count();
            assert!(parts >= 2, "{format}: {name}: {parts} time-step parts");
        }
        for s in &plan.steps {
            assert!(s.gas_limit <= JOB_GAS, "step {}", s.index);
            assert_eq!(job::step_call(&plan, s).data.len(), s.tx_bytes());
            if s.rows.is_none_or(|(first, _)| first == 0) {
                assert_eq!(
                    s.state.as_ref(),
                    want[s.cursor].as_slice(),
                    "{format}: before #{}",
                    s.cursor
                );
            }
        }
        if salt == 0 {
            let rnn = graph
                .nodes
                .iter()
                .position(|n| n.name == "rnn_seq")
                .unwrap();
            simple_rnn_in_two_parts(&rpc, address, rnn, &want).await;
        }
        let all = crate::chain_jobs::calls(&plan);
        // Up to the first part given a carry (calls[0] is startJob).
        let k = plan
            .steps
            .iter()
            .position(|s| s.rows.is_some_and(|(first, _)| first > 0))
            .unwrap();
        let mut sent = send(all[..1].to_vec()).await.unwrap();
        if salt == 0 {
            // stepRows on the InputLayer (a kind that takes no row parts): refused.
            let s = &plan.steps[0];
            let (from, count) = job::part_words((0, 12), (0, 12));
            let data = EternalJobs::stepRowsCall {
                jobId: plan.job_id,
                stepIndex: U256::from(s.index),
                state: s.carried.clone(),
                carried: Vec::new(),
                from,
                count,
            }
            .abi_encode();
            let call = eternalize::chain::calls::Call {
                to: plan.jobs,
                data: Bytes::from(data),
                value: U256::ZERO,
            };
            let e = send(vec![("row part of an InputLayer".into(), call, JOB_GAS)])
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains("NotSliceable"), "{e}");
        }
        sent.each
            .extend(send(all[1..k + 1].to_vec()).await.unwrap().each);
        if salt == 0 {
            let s = &plan.steps[k];
            let (from, count) = job::part_words(s.slice.unwrap(), s.rows.unwrap());
            let mut forged = job::int_words(&s.sums);
            forged[0] += I256::ONE;
            let forged = EternalJobs::stepRowsCall {
                jobId: plan.job_id,
                stepIndex: U256::from(s.index),
                state: s.carried.clone(),
                carried: forged,
                from,
                count,
            };
            // The part after it, sent in its place: its state and carry are not the job's yet.
            let after = &plan.steps[k + 1];
            let (from, count) = job::part_words(after.slice.unwrap(), after.rows.unwrap());
            let skipped = EternalJobs::stepRowsCall {
                jobId: plan.job_id,
                stepIndex: U256::from(s.index),
                state: after.carried.clone(),
                carried: job::int_words(&after.sums),
                from,
                count,
            };
            for (what, data) in [
                ("forged carry", forged.abi_encode()),
                ("skipped part", skipped.abi_encode()),
            ] {
                let call = eternalize::chain::calls::Call {
                    to: plan.jobs,
                    data: Bytes::from(data),
                    value: U256::ZERO,
                };
                let e = send(vec![(what.into(), call, s.gas_limit)])
                    .await
                    .unwrap_err()
                    .to_string();
                assert!(e.contains("StateMismatch"), "{what}: {e}");
            }
        }
        let rest = send(all[k + 1..].to_vec()).await.unwrap();
        sent.each.extend(rest.each);
        let largest = sent.each.iter().copied().max().unwrap();
        assert!(largest <= JOB_GAS, "{format}: {largest}");
        let jobs = EternalJobs::new(
            eternalize::chain::jobs::jobs_address().unwrap(),
            chain.provider().clone(),
        );
        let stored = jobs.resultState(plan.job_id).call().await.unwrap();
        assert_eq!(stored.as_ref(), want.last().unwrap().as_slice(), "{format}");
        eprintln!(
            "rnn_steps_fn job ({format}): {} transactions ({} steps), largest {largest} gas, total {} gas",
            sent.each.len(),
            plan.steps.len(),
            sent.each.iter().sum::<u64>(),
        );
    }
    eprintln!(
        "rnn_steps_fn jobs: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Benchmarks (BENCHMARKS.md, "Recurrent layers in jobs, Bidirectional in chained calls"), not
/// run by `cargo test`: the recurrent fixtures as jobs under falling step budgets —
/// transactions, largest, total (every result equal to the reference), or the planner's refusal. `cargo test --test all
/// chain_rnn_steps::bench_recurrent_jobs -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn bench_recurrent_jobs() {
    use eternalize::usecase::job::{self, TxBudget};
    use std::time::Duration;

    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    chain.deploy_factory().await.unwrap();
    chain.deploy_jobs().await.unwrap();
    let sender = crate::chain_jobs::JobSender::new(&rpc, Duration::from_secs(300)).await;
    let fixtures = crate::common::fixtures();
    let cases = [
        (
            fixtures.join("keras3_4/embedding_lstm.keras"),
            vec![16_777_216, 2_000_000, 1_000_000, 700_000, 500_000],
        ),
        (
            fixtures.join("generated/rnn_steps_fn.keras"),
            vec![16_777_216, 2_000_000, 1_000_000, 700_000, 500_000],
        ),
        (
            fixtures.join("generated/keras3_15/audio_cnn_fn.keras"),
            vec![16_777_216, 2_000_000, 1_000_000],
        ),
        (
            fixtures.join("generated/keras3_15/seq_wrappers_fn.keras"),
            vec![16_777_216, 2_000_000, 1_000_000],
        ),
    ];
    for (salt, (path, budgets)) in cases.into_iter().enumerate() {
        let model = eternalize::keras::load(&path).unwrap();
        let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
        let x = if path.ends_with("rnn_steps_fn.keras") {
            sequence()
        } else {
            sample_of(&path, &graph)
        };
        let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
        eprintln!("{}", path.display());
        for (i, budget) in budgets.into_iter().enumerate() {
            let limits = TxBudget {
                gas: budget,
                ..TxBudget::DEFAULT
            };
            // A job is named by its sender, model and input: one model a budget.
            let (address, _, _) = crate::chain_support::deploy_model_in(
                &chain,
                &model,
                200 + 10 * salt as u64 + i as u64,
                WeightFormat::Compact,
            )
            .await;
            let plan = match job::plan(&rpc, chain.sender(), address, &[&x], limits).await {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("  budget {budget:>10}: refused: {e}");
                    continue;
                }
            };
            let sent = sender.send(crate::chain_jobs::calls(&plan)).await.unwrap();
            let jobs = eternalize::chain::EternalJobs::new(
                eternalize::chain::jobs::jobs_address().unwrap(),
                chain.provider().clone(),
            );
            let info = jobs.job(plan.job_id).call().await.unwrap();
            assert!(info.done, "budget {budget}");
            assert_eq!(
                eternalize::chain::jobs::commitment(want.last().unwrap()).unwrap(),
                info.stateHash,
                "budget {budget}"
            );
            let parts = plan.steps.iter().filter(|s| s.rows.is_some()).count();
            eprintln!(
                "  budget {budget:>10}: {} transactions ({} steps, {parts} time-step parts), largest {}, total {}",
                sent.each.len(),
                plan.steps.len(),
                sent.each.iter().max().unwrap_or(&0),
                sent.each.iter().sum::<u64>()
            );
        }
    }
}

/// The SimpleRNN(4) of rnn_steps_fn (whole under `JOB_GAS`) as two time-step parts by hand,
/// through the job contract's `advanceRows` on the reference state before it: the first part's
/// carry and commitment, then the state after the second, are the reference's.
async fn simple_rnn_in_two_parts(
    rpc: &Rpc,
    model: alloy::primitives::Address,
    rnn: usize,
    want: &[Vec<u8>],
) {
    use alloy::primitives::{Bytes, U256};
    use eternalize::chain::jobs::{self, jobs_address};
    use eternalize::chain::{EternalJobs, EternalModel};
    use eternalize::usecase::job;

    let links: Vec<Vec<usize>> = rpc
        .sol_call(model, &EternalModel::layersCall {}, None, || {
            "layers".into()
        })
        .await
        .unwrap()
        .iter()
        .map(|l| l.inputs.iter().map(|&i| usize::from(i)).collect())
        .collect();
    let call = |state: &[u8], carry: &[i128], first: usize, steps: usize| {
        let (from, count) = job::part_words((first, steps), (first, steps));
        EternalJobs::advanceRowsCall {
            model,
            cursor: U256::from(rnn),
            state: Bytes::copy_from_slice(state),
            carried: job::int_words(carry),
            from,
            count,
        }
    };
    let jobs = jobs_address().unwrap();
    let before = &want[rnn];
    let a = rpc
        .sol_call(jobs, &call(before, &[], 0, 5), None, || "part 1".into())
        .await
        .unwrap();
    let carry: Vec<i128> = a.sums.iter().map(|v| i128::try_from(*v).unwrap()).collect();
    assert_eq!(carry.len(), 4, "SimpleRNN(4): h");
    let mid = job::next_slice_state(&links, rnn, before, &a.part, false, false).unwrap();
    assert_eq!(
        job::rows_hash(jobs::commitment(&mid).unwrap(), &carry, 5, 5),
        a.nextHash
    );
    let b = rpc
        .sol_call(jobs, &call(&mid, &carry, 5, 7), None, || "part 2".into())
        .await
        .unwrap();
    assert!(b.sums.is_empty());
    let after = job::next_slice_state(&links, rnn, &mid, &b.part, true, false).unwrap();
    assert_eq!(after, want[rnn + 1], "SimpleRNN in two parts");
    assert_eq!(jobs::commitment(&after).unwrap(), b.nextHash);
}

/// `eternalize predict --send` of rnn_steps_fn under a block gas limit of `JOB_GAS` (set after
/// the deployment), killed (kill -9) in the middle of the first LSTM's time-step parts: a
/// second run resumes from the job's commitment (a part's, with its carry) and finishes without
/// sending any step twice; the result is the reference's.
#[tokio::test]
async fn predict_send_killed_between_time_step_parts_resumes() {
    use crate::deploy_support::{KEY0, eternalize};
    use alloy::providers::Provider;
    use eternalize::chain::EternalJobs;
    use eternalize::chain::jobs::jobs_address;

    let node = crate::chain_support::anvil();
    let chain = crate::chain_support::connect(&node, 0);
    chain.deploy_factory().await.unwrap();
    chain.deploy_jobs().await.unwrap();
    let (model, graph) = crate::common::load_fixture("generated/rnn_steps_fn.keras");
    let (address, _, _) =
        crate::chain_support::deploy_model_in(&chain, &model, 30, WeightFormat::Compact).await;
    let provider = chain.provider();
    let _: bool = provider
        .raw_request("evm_setBlockGasLimit".into(), (format!("{JOB_GAS:#x}"),))
        .await
        .unwrap();
    // A block under the new limit: what the CLI reads the step budget from.
    let _: String = provider.raw_request("evm_mine".into(), ()).await.unwrap();
    let x = sequence();
    let data = tempfile::tempdir().unwrap();
    let input = data.path().join("x.json");
    let rows: Vec<Vec<f64>> = x
        .data
        .chunks(5)
        .map(|r| {
            r.iter()
                .map(|&v| eternalize::infer::fixed::to_f64(v))
                .collect()
        })
        .collect();
    std::fs::write(&input, serde_json::to_string(&vec![rows]).unwrap()).unwrap();
    let (url, address) = (node.url(), format!("{address:#x}"));
    let input = input.display().to_string();
    let args = [
        "predict",
        address.as_str(),
        "--input",
        input.as_str(),
        "--send",
        "--rpc-url",
        url.as_str(),
        "--private-key",
        KEY0,
        "--yes",
        "--json",
    ];
    // startJob, the InputLayer, two parts of the LSTM(6): killed before its third.
    let first = eternalize(data.path(), &args, &[("ETERNALIZE_TEST_CRASH_AFTER", "4")]);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        first.status.signal(),
        Some(9),
        "the first run was not killed: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = eternalize(data.path(), &args, &[]);
    let out = String::from_utf8_lossy(&second.stdout).to_string();
    assert!(
        second.status.success(),
        "{}\n{out}",
        String::from_utf8_lossy(&second.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let reference = graph.run(std::slice::from_ref(&x)).unwrap();
    let want: Vec<f64> = reference[0]
        .data
        .iter()
        .map(|&v| eternalize::infer::fixed::to_f64(v))
        .collect();
    let want: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&want).unwrap()).unwrap();
    assert_eq!(report["values"], want);
    // Every job transaction succeeded (none repeated), each within the block's gas.
    let head = provider.get_block_number().await.unwrap();
    let mut sent = 0;
    for n in 0..=head {
        for r in provider
            .get_block_receipts(n.into())
            .await
            .unwrap()
            .unwrap_or_default()
        {
            if r.to == Some(jobs_address().unwrap()) {
                assert!(
                    r.status(),
                    "a job transaction reverted: {:?}",
                    r.transaction_hash
                );
                assert!(r.gas_used <= JOB_GAS, "{}", r.gas_used);
                sent += 1;
            }
        }
    }
    let id: alloy::primitives::U256 = report["job"].as_str().unwrap().parse().unwrap();
    let info = EternalJobs::new(jobs_address().unwrap(), provider.clone())
        .job(id)
        .call()
        .await
        .unwrap();
    assert!(info.done);
    // More steps than layers: some ran in parts.
    assert!(
        info.steps.to::<usize>() > graph.nodes.len(),
        "{}",
        info.steps
    );
    assert_eq!(sent, info.steps.to::<usize>() + 1, "start + each step once");
}

/// Bidirectional layers cut by direction and time steps in chained calls: each direction runs
/// its steps in slices from its own carry, then one call merges the two
/// (`BidirectionalLayer._forwardSlice`). keras3_15/audio_cnn_fn (LSTM concat returning
/// sequences, GRU sum returning the last h) and bidir_steps_fn (SimpleRNN mul returning
/// sequences, LSTM ave returning the last h) under 400,000 gas a call, in every weight format: every layer's output
/// the reference's bit for bit, every Bidirectional in several calls.
#[tokio::test]
async fn bidirectional_layers_run_by_direction_and_time_steps_in_chained_calls() {
    let started = Instant::now();
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    chain.deploy_factory().await.unwrap();
    let formats = [
        WeightFormat::Compact,
        WeightFormat::Exact,
        WeightFormat::Int16,
        WeightFormat::Int8,
    ];
    let fixtures = [
        ("generated/keras3_15/audio_cnn_fn.keras", 400_000),
        ("generated/bidir_steps_fn.keras", 400_000),
    ];
    for (m, (name, budget)) in fixtures.into_iter().enumerate() {
        let path = crate::common::fixtures().join(name);
        let model = eternalize::keras::load(&path).unwrap();
        for (salt, format) in formats.into_iter().enumerate() {
            let graph = Graph::from_model(&model, format).unwrap();
            let x = sample_of(&path, &graph);
            let (address, _, _) = crate::chain_support::deploy_model_in(
                &chain,
                &model,
                40 + 10 * m as u64 + salt as u64,
                format,
            )
            .await;
            let state = rpc.model_state(address).await.unwrap();
            let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
            let all: Vec<usize> = (0..graph.nodes.len()).collect();
            let mut runner = Runner::new(&rpc, &chained, all, budget);
            let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
            let want = graph.run_all(std::slice::from_ref(&x)).unwrap();
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "{name} {format}: layer {i}");
            }
            for c in &runner.calls {
                assert!(c.measured.unwrap_or(0) <= budget, "{c:?}");
            }
            for (i, n) in graph.nodes.iter().enumerate() {
                if n.class_name != "Bidirectional" {
                    continue;
                }
                let calls: Vec<&str> = runner
                    .calls
                    .iter()
                    .map(|c| c.what.as_str())
                    .filter(|w| w.starts_with(&format!("layer {i} (")))
                    .collect();
                assert!(calls.len() >= 3, "{name} {format}: layer {i}: {calls:?}");
            }
            eprintln!("{name} {format}: {}", runner.stats());
        }
    }
    eprintln!(
        "bidirectional chained: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Bidirectional layers in jobs: each direction's steps in `stepRows` parts, the carry and the
/// directions' outputs carried as calldata against the job's commitment, the last part merging
/// (`BidirectionalLayer._jobPart`). audio_cnn_fn under 1,000,000 gas a step and bidir_steps_fn
/// under 600,000, in the compact and int8 formats: every Bidirectional in several parts, every
/// state before a layer and the result the reference's bit for bit.
#[tokio::test]
async fn bidirectional_layers_run_in_time_step_parts_in_jobs() {
    use eternalize::chain::EternalJobs;
    use eternalize::usecase::job::{self, TxBudget};
    use std::time::Duration;

    let started = Instant::now();
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    chain.deploy_factory().await.unwrap();
    chain.deploy_jobs().await.unwrap();
    let sender = crate::chain_jobs::JobSender::new(&rpc, Duration::from_secs(120)).await;
    let fixtures = [
        ("generated/keras3_15/audio_cnn_fn.keras", 1_000_000),
        ("generated/bidir_steps_fn.keras", 600_000),
    ];
    for (m, (name, budget)) in fixtures.into_iter().enumerate() {
        let path = crate::common::fixtures().join(name);
        let model = eternalize::keras::load(&path).unwrap();
        for (salt, format) in [WeightFormat::Compact, WeightFormat::Int8]
            .into_iter()
            .enumerate()
        {
            let graph = Graph::from_model(&model, format).unwrap();
            let x = sample_of(&path, &graph);
            let (address, _, _) = crate::chain_support::deploy_model_in(
                &chain,
                &model,
                60 + 10 * m as u64 + salt as u64,
                format,
            )
            .await;
            let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
            let limits = TxBudget {
                gas: budget,
                ..TxBudget::DEFAULT
            };
            let plan = job::plan(&rpc, chain.sender(), address, &[&x], limits)
                .await
                .unwrap();
            for (i, n) in graph.nodes.iter().enumerate() {
                if n.class_name == "Bidirectional" {
                    let parts = plan.steps.iter().filter(|s| s.cursor == i).count();
                    assert!(parts >= 2, "{name} {format}: layer {i}: {parts} parts");
                }
            }
            for s in &plan.steps {
                assert!(s.gas_limit <= budget, "step {}", s.index);
                if s.rows.is_none_or(|(first, _)| first == 0) {
                    assert_eq!(
                        s.state.as_ref(),
                        want[s.cursor].as_slice(),
                        "{name} {format}"
                    );
                }
            }
            let sent = sender.send(crate::chain_jobs::calls(&plan)).await.unwrap();
            let largest = sent.each.iter().copied().max().unwrap();
            assert!(largest <= budget, "{name} {format}: {largest}");
            let jobs = EternalJobs::new(
                eternalize::chain::jobs::jobs_address().unwrap(),
                chain.provider().clone(),
            );
            let stored = jobs.resultState(plan.job_id).call().await.unwrap();
            assert_eq!(
                stored.as_ref(),
                want.last().unwrap().as_slice(),
                "{name} {format}"
            );
            eprintln!(
                "{name} job ({format}): {} transactions ({} steps), largest {largest} gas, total {} gas",
                sent.each.len(),
                plan.steps.len(),
                sent.each.iter().sum::<u64>(),
            );
        }
    }
    eprintln!(
        "bidirectional jobs: {:.1} s",
        started.elapsed().as_secs_f64()
    );
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
