//! Conv2D output-channel blocks in on-chain jobs, and jobs whose input is too big for one
//! transaction, on a real anvil enforcing the EIP-7825 cap (2^24 gas a transaction):
//! - generated/rowslice_small_fn.keras (Input 20×20×8 → … → Conv2D(8, 3) → …) as a job held to
//!   transactions of 850k gas and 20,000 calldata bytes: one output row of its Conv2D does not
//!   fit a step, so each row runs in blocks of its output channels (`stepSlice` with the
//!   channels in the high bits of `from`/`count`), the row so far carried as the state's
//!   channel-block entry; and its input (25.6 KB packed) does not fit the start, so the job
//!   starts from the input's row hashes (`startJobState`) and the InputLayer's slices carry the
//!   rows. Every state and the result are the reference's bit for bit; a block step with a forged
//!   channel block, without it, or out of order is refused.
//! - (ignored benchmark) generated/cnn_500k.keras as a job under 2^24: its conv3 row needs
//!   ≈ 17.7M gas, so it runs in channel blocks (BENCHMARKS.md, "Channel blocks in jobs").

use crate::chain_jobs::{calls, deploy};
use alloy::primitives::{Bytes, U256};
use alloy::sol_types::SolCall;
use eternalize::chain::jobs::{self, jobs_address};
use eternalize::chain::{EternalJobs, signer_from_hex};
use eternalize::engine::plan::current_fees;
use eternalize::infer::Tensor;
use eternalize::usecase::job::{self, DEFAULT_MAX_TX_BYTES, JobPlan, TX_GAS_CAP, TxBudget};
use std::time::{Duration, Instant};

fn image(shape: [usize; 3], seed: u64) -> Tensor {
    let n = (shape[0] * shape[1] * shape[2]) as u64;
    let data = (0..n)
        .map(|i| ((((i * 7919 + seed * 104_729) % 2000) as i128) - 1000) << 32 >> 10)
        .collect();
    Tensor {
        shape: shape.to_vec(),
        data,
    }
}

fn describe(plan: &JobPlan) {
    for s in &plan.steps {
        eprintln!(
            "  step {:>3} layer {} {:<18} estimate {:>9} limit {:>9} bytes {:>6}",
            s.index,
            s.cursor,
            match (s.slice, s.channels) {
                (None, _) => format!("+{}", s.count),
                (Some((f, c)), None) => format!("{f}..{}", f + c),
                (Some((f, _)), Some(ch)) => format!("{f} ch {}..{}", ch.first, ch.first + ch.count),
            },
            s.estimate,
            s.gas_limit,
            s.tx_bytes()
        );
    }
}

#[tokio::test]
async fn conv2d_rows_run_in_channel_blocks_in_jobs_started_from_row_hashes() {
    let started = Instant::now();
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let (model, graph) = crate::common::load_fixture("generated/rowslice_small_fn.keras");
    let address = deploy(&chain, &model, 1).await;
    let x = image([20, 20, 8], 4);
    let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
    // With main's convolution kernels one output row of the Conv2D (#3) is ≈ 597k gas and one of
    // the layer before it ≈ 544k: 770k a transaction leaves ≈ 590k for the layers' work.
    let budget = TxBudget {
        gas: 850_000,
        bytes: 20_000,
    };
    let plan = job::plan(&rpc, chain.sender(), address, &[&x], budget)
        .await
        .unwrap();
    describe(&plan);
    // The start sends the input by its row hashes: 20 rows, 32 bytes each.
    let (start, start_gas) = plan.start.clone().unwrap();
    assert!(start.data.len() < 2_000, "{}", start.data.len());
    assert!(start_gas <= budget.gas);
    let blocks: Vec<_> = plan.steps.iter().filter(|s| s.channels.is_some()).collect();
    assert!(blocks.len() >= 2 * 18, "{} channel blocks", blocks.len());
    assert!(blocks.iter().all(|s| s.cursor == 3), "only the Conv2D");
    for s in &plan.steps {
        assert!(s.gas_limit <= budget.gas, "step {}", s.index);
        assert!(s.tx_bytes() <= budget.bytes, "step {}", s.index);
        if s.slice.is_none_or(|(from, _)| from == 0) && s.channels.is_none_or(|c| c.first == 0) {
            assert_eq!(
                s.state.as_ref(),
                want[s.cursor].as_slice(),
                "the state before layer #{}",
                s.cursor
            );
        }
    }
    let sender = crate::chain_jobs::JobSender::new(&rpc, Duration::from_secs(120)).await;
    let send = |c| sender.send(c);
    let all = calls(&plan);
    // Up to the second block of the Conv2D's second row: its state carries the row's first
    // block as the channel-block entry.
    let k = plan
        .steps
        .iter()
        .position(|s| {
            s.slice.is_some_and(|(f, _)| f == 1) && s.channels.is_some_and(|c| c.first > 0)
        })
        .unwrap();
    let mut sent = send(all[..=k].to_vec()).await.unwrap();
    let s = &plan.steps[k];
    let (from, count) = s.slice.unwrap();
    let ch = s.channels.unwrap();
    let refused = |state: Bytes, ch: job::Channels, what: &'static str| {
        let (from, count) = job::slice_words(from, count, Some(ch));
        let call = eternalize::chain::calls::Call {
            to: plan.jobs,
            data: EternalJobs::stepSliceCall {
                jobId: plan.job_id,
                stepIndex: U256::from(s.index),
                state,
                from,
                count,
            }
            .abi_encode()
            .into(),
            value: U256::ZERO,
        };
        let send = &send;
        async move {
            send(vec![(what.into(), call, s.gas_limit)])
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
    let forge = |change: &dyn Fn(&mut Vec<jobs::Entry>)| {
        let mut e = jobs::decode(&s.state).unwrap();
        change(&mut e);
        Bytes::from(jobs::carry(&jobs::encode(&e).unwrap(), as_sent).unwrap())
    };
    let block_tag = jobs::PARTIAL_TAG | jobs::BLOCK_TAG | 3;
    // One value of the row's first block changed: the commitment says no.
    let e = refused(
        forge(&|e| {
            let last = e.last_mut().unwrap();
            assert_eq!(last.tag, block_tag);
            last.values[0] += 1;
        }),
        ch,
        "forged channel block",
    )
    .await;
    assert!(e.contains("StateMismatch"), "{e}");
    // The block left out (the row restarted from channel 0): refused.
    let e = refused(
        forge(&|e| {
            e.pop();
        }),
        job::Channels { first: 0, ..ch },
        "channel block dropped",
    )
    .await;
    assert!(e.contains("StateMismatch"), "{e}");
    // The right state, the row's first channels again: out of order.
    let e = refused(
        s.carried.clone(),
        job::Channels { first: 0, ..ch },
        "channels out of order",
    )
    .await;
    assert!(e.contains("SliceOutOfOrder"), "{e}");
    sent.each
        .extend(send(all[k + 1..].to_vec()).await.unwrap().each);
    assert!(
        sent.each.iter().all(|&g| g <= budget.gas),
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
    assert_eq!(got[0].1, reference[0].data, "the job's outputs");
    eprintln!(
        "rowslice_small_fn job in channel blocks: {} transactions ({} channel blocks), start {} bytes {start_gas} gas limit, largest {} gas, total {} gas; after {:?}",
        sent.each.len(),
        blocks.len(),
        start.data.len(),
        sent.each.iter().max().unwrap(),
        sent.each.iter().sum::<u64>(),
        started.elapsed()
    );
}

/// `fixture` on `shape` as a job held to transactions of `gas`: each layer of `sliced` runs in at
/// least two row slices; every state before a layer and the result are the reference's.
async fn sliced_job(fixture: &str, shape: [usize; 3], gas: u64, sliced: &[usize]) {
    let started = Instant::now();
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let (model, graph) = crate::common::load_fixture(fixture);
    let address = deploy(&chain, &model, 1).await;
    let x = image(shape, 2);
    let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
    let budget = TxBudget {
        gas,
        ..TxBudget::DEFAULT
    };
    let plan = job::plan(&rpc, chain.sender(), address, &[&x], budget)
        .await
        .unwrap();
    describe(&plan);
    for &layer in sliced {
        let slices = plan
            .steps
            .iter()
            .filter(|s| s.cursor == layer && s.slice.is_some())
            .count();
        assert!(slices >= 2, "{fixture}: layer {layer}: {slices} slices");
    }
    for s in &plan.steps {
        assert!(s.gas_limit <= budget.gas, "step {}", s.index);
        if s.slice.is_none_or(|(from, _)| from == 0) {
            assert_eq!(
                s.state.as_ref(),
                want[s.cursor].as_slice(),
                "{fixture}: layer #{}",
                s.cursor
            );
        }
    }
    let sent = job::send_pipelined(
        &rpc,
        &signer_from_hex(crate::deploy_support::KEY0).unwrap(),
        rpc.chain_id().await.unwrap(),
        &current_fees(&rpc, None).await.unwrap().0,
        &calls(&plan),
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    let got = job::read_result(&rpc, plan.jobs, plan.job_id)
        .await
        .unwrap();
    let reference = graph.run(std::slice::from_ref(&x)).unwrap();
    assert_eq!(got[0].1, reference[0].data, "{fixture}: the job's outputs");
    eprintln!(
        "{fixture} job: {} transactions, largest {} gas, total {} gas; after {:?}",
        sent.transactions,
        sent.largest,
        sent.gas_used,
        started.elapsed()
    );
}

/// generated/depthwise_separable_seq.keras (DepthwiseConv2D, SeparableConv2D ×2,
/// DepthwiseConv2D on 9×9×3) as a job held to transactions of 500k gas: the DepthwiseConv2D and
/// the first SeparableConv2D, which chained calls already cut by output rows, run in row slices
/// in a job too (their `sliceInput`), the result bit for bit the reference's.
#[tokio::test]
async fn depthwise_and_separable_layers_run_in_row_slices_in_jobs() {
    sliced_job(
        "generated/depthwise_separable_seq.keras",
        [9, 9, 3],
        500_000,
        &[1, 2],
    )
    .await;
}

/// generated/transpose_grouped_fn.keras (grouped Conv2D, Conv2DTranspose ×3 on 5×5×4) as a job
/// held to transactions of 600k gas: its grouped Conv2Ds and strided Conv2DTransposes run in row
/// slices (`Conv2DTransposeLayer.sliceInput`: the input rows `_transposeRows` names).
#[tokio::test]
async fn transposed_and_grouped_convolutions_run_in_row_slices_in_jobs() {
    sliced_job(
        "generated/transpose_grouped_fn.keras",
        [5, 5, 4],
        600_000,
        &[1, 2, 3, 4],
    )
    .await;
}

/// generated/rowslice_fn.keras's 64×64×8 input (32,768 values: 262 KB packed, 1 MB as
/// `startJob`'s int256 words) starts a job by its row hashes (`startJobState`, ~2 KB); the
/// InputLayer's first slice carries its first rows and is accepted, a slice with one forged
/// input value is refused.
#[tokio::test]
async fn a_64x64x8_input_starts_a_job_by_its_row_hashes() {
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let (model, _) = crate::common::load_fixture("generated/rowslice_fn.keras");
    let address = deploy(&chain, &model, 1).await;
    let x = image([64, 64, 8], 3);
    let links = eternalize::chain::EternalModel::new(address, chain.provider().clone())
        .layers()
        .call()
        .await
        .unwrap();
    let initial = job::initial_state(&links, &[&x]).unwrap();
    assert!(initial.len() > 262_000);
    let jobs_at = jobs_address().unwrap();
    let salt = job::salt_for(address, &initial);
    let job_id = jobs::job_id(chain.sender(), salt);
    let hashed = jobs::carry(&initial, |_| None).unwrap();
    let start = EternalJobs::startJobStateCall {
        model: address,
        salt,
        state: hashed.into(),
    }
    .abi_encode();
    assert!(start.len() < 2_500, "{}", start.len());
    let tx = |what: &str, data: Vec<u8>, gas: u64| {
        (
            what.to_string(),
            eternalize::chain::calls::Call {
                to: jobs_at,
                data: data.into(),
                value: U256::ZERO,
            },
            gas,
        )
    };
    let sender = crate::chain_jobs::JobSender::new(&rpc, Duration::from_secs(120)).await;
    let send = |c| sender.send(c);
    let started = send(vec![tx("start", start, 2_000_000)]).await.unwrap();
    let contract = EternalJobs::new(jobs_at, chain.provider().clone());
    let info = contract.job(job_id).call().await.unwrap();
    assert_eq!(info.stateHash, jobs::commitment(&initial).unwrap());
    // The InputLayer's rows 0..8, carried open.
    let rows = |state: &[u8]| {
        Bytes::from(jobs::carry(state, |t| (t == jobs::INPUT_TAG).then_some((0, 8))).unwrap())
    };
    let slice = |state: Bytes| {
        EternalJobs::stepSliceCall {
            jobId: job_id,
            stepIndex: U256::ZERO,
            state,
            from: U256::ZERO,
            count: U256::from(8),
        }
        .abi_encode()
    };
    let mut forged = jobs::decode(&initial).unwrap();
    forged[0].values[5] += 1;
    let forged = jobs::encode(&forged).unwrap();
    let e = send(vec![tx(
        "forged input row",
        slice(rows(&forged)),
        8_000_000,
    )])
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("StateMismatch"), "{e}");
    let sent = send(vec![tx(
        "input rows 0..8",
        slice(rows(&initial)),
        8_000_000,
    )])
    .await
    .unwrap();
    let info = contract.job(job_id).call().await.unwrap();
    assert_eq!(info.steps, U256::from(1));
    // The partial output: the input's first 8 rows (InputLayer is the identity).
    let mut want = jobs::decode(&initial).unwrap();
    want.push(jobs::Entry {
        tag: jobs::PARTIAL_TAG,
        shape: vec![8, 64, 8],
        values: want[0].values[..8 * 64 * 8].to_vec(),
    });
    assert_eq!(
        info.stateHash,
        jobs::commitment(&jobs::encode(&want).unwrap()).unwrap()
    );
    eprintln!(
        "64×64×8 input: startJobState {} gas; the InputLayer's rows 0..8 {} gas",
        started.gas_used, sent.gas_used
    );
}

/// The job transactions (to the job contract) mined so far: (calldata bytes, gas used), in order.
async fn job_transactions(chain: &eternalize::chain::Chain) -> Vec<(usize, u64)> {
    use alloy::consensus::Transaction;
    use alloy::network::TransactionResponse;
    use alloy::providers::Provider;
    let provider = chain.provider();
    let head = provider.get_block_number().await.unwrap();
    let jobs = jobs_address().unwrap();
    let mut out = Vec::new();
    for n in 0..=head {
        let block = provider
            .get_block_by_number(n.into())
            .full()
            .await
            .unwrap()
            .unwrap();
        for tx in block.transactions.txns() {
            if tx.to() != Some(jobs) {
                continue;
            }
            let receipt = provider
                .get_transaction_receipt(tx.tx_hash())
                .await
                .unwrap()
                .unwrap();
            assert!(receipt.status(), "a job transaction reverted");
            out.push((tx.input().len(), receipt.gas_used));
        }
    }
    out
}

/// Benchmark (BENCHMARKS.md, "Channel blocks in jobs"): generated/cnn_500k.keras, whose conv3
/// needs ≈ 17.7M gas for one output row, runs as a job through `predict ADDRESS --input FILE
/// --send` on anvil with the per-transaction cap: every transaction ≤ 2^24 gas and ≤ 120,000
/// calldata bytes, the result bit for bit the reference's. Run with
/// `cargo test --test all chain_blocks::cnn_500k -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn cnn_500k_runs_as_a_job_under_the_cap() {
    let started = Instant::now();
    let node = crate::chain_support::anvil();
    let chain = crate::chain_support::connect(&node, 0);
    let (model, graph) = crate::common::load_fixture("generated/cnn_500k.keras");
    let address = deploy(&chain, &model, 1).await;
    eprintln!("cnn_500k deployed after {:?}", started.elapsed());
    let before = job_transactions(&chain).await.len();
    let x = image([32, 32, 3], 5);
    let data = tempfile::tempdir().unwrap();
    let nested: Vec<Vec<Vec<f64>>> = (0..32)
        .map(|r| {
            (0..32)
                .map(|c| {
                    (0..3)
                        .map(|k| eternalize::infer::fixed::to_f64(x.data[(r * 32 + c) * 3 + k]))
                        .collect()
                })
                .collect()
        })
        .collect();
    let input = data.path().join("input.json");
    std::fs::write(&input, serde_json::to_string(&[nested]).unwrap()).unwrap();
    let (address, url, input) = (
        format!("{address:#x}"),
        node.url(),
        input.display().to_string(),
    );
    let out = crate::deploy_support::eternalize(
        data.path(),
        &[
            "predict",
            &address,
            "--input",
            &input,
            "--send",
            "--rpc-url",
            &url,
            "--private-key",
            crate::deploy_support::KEY0,
            "--yes",
            "--json",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let reference = graph.run(std::slice::from_ref(&x)).unwrap();
    let want: Vec<f64> = reference[0]
        .data
        .iter()
        .map(|&v| eternalize::infer::fixed::to_f64(v))
        .collect();
    let want: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&want).unwrap()).unwrap();
    assert_eq!(report["values"], want, "cnn_500k as a job");
    let txs = job_transactions(&chain).await;
    let txs = &txs[before..];
    let largest_gas = txs.iter().map(|t| t.1).max().unwrap();
    let largest_bytes = txs.iter().map(|t| t.0).max().unwrap();
    assert!(largest_gas <= TX_GAS_CAP, "{largest_gas}");
    assert!(largest_bytes <= DEFAULT_MAX_TX_BYTES, "{largest_bytes}");
    eprintln!(
        "cnn_500k job: {} transactions (start {} bytes, {} gas), largest {largest_gas} gas, largest {largest_bytes} bytes, total {} gas, total {} bytes; report {} transactions {} gas; after {:?}",
        txs.len(),
        txs[0].0,
        txs[0].1,
        txs.iter().map(|t| t.1).sum::<u64>(),
        txs.iter().map(|t| t.0).sum::<usize>(),
        report["transactions"],
        report["gas_used"],
        started.elapsed()
    );
}
