//! Layers too big for one transaction or one call, on a real anvil enforcing the EIP-7825 cap
//! (2^24 gas a transaction): the 554k-parameter, 15.6M-MAC CNN (generated/cnn_15m.keras) runs
//! as an on-chain job whose big layers go in slices (`stepSlice`), every transaction under the
//! cap and under the default calldata budget (120,000 bytes: tensors of rank ≥ 2 travel by
//! row hashes but for the rows a step reads), the result bit for bit the reference's; a slice
//! step with a forged partial output (a row hash), a forged input row, an input row missing,
//! or sent out of order is refused. generated/cnn_500k.keras, whose conv3 needs ≈ 17.7M
//! gas for one output row, predicts through chained calls, that row cut into blocks of output
//! channels, bit for bit the reference (as a job too: tests/chain_blocks.rs, ignored benchmark).

use crate::chain_jobs::{calls, deploy};
use alloy::primitives::{Bytes, U256};
use alloy::sol_types::SolCall;
use eternalize::chain::EternalJobs;
use eternalize::chain::jobs::{self, jobs_address};
use eternalize::infer::Tensor;
use eternalize::infer::plan::DEFAULT_CALL_GAS;
use eternalize::usecase::chained::{ChainModel, Runner};
use eternalize::usecase::job::{self, DEFAULT_MAX_TX_BYTES, TX_GAS_CAP, TxBudget};
use std::time::{Duration, Instant};

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

#[tokio::test]
async fn layers_over_the_cap_run_in_slices_in_jobs_and_by_channel_in_chained_calls() {
    let started = Instant::now();
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();

    // ---- cnn_15m as a job.
    let (model, graph) = crate::common::load_fixture("generated/cnn_15m.keras");
    let address = deploy(&chain, &model, 1).await;
    eprintln!("cnn_15m deployed after {:?}", started.elapsed());
    let x = image(2);
    let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
    let plan = job::plan(&rpc, chain.sender(), address, &[&x], TxBudget::DEFAULT)
        .await
        .unwrap();
    eprintln!("cnn_15m planned after {:?}", started.elapsed());
    let slices = plan.steps.iter().filter(|s| s.slice.is_some()).count();
    assert!(slices > 10, "{slices} slice steps");
    let bytes: Vec<usize> = plan.steps.iter().map(|s| s.tx_bytes()).collect();
    let start_bytes = plan.start.as_ref().map_or(0, |(c, _)| c.data.len());
    // The same steps with every tensor open (no row hashes), for comparison.
    let open: Vec<usize> = plan
        .steps
        .iter()
        .map(|s| job::tx_bytes(s.state.len(), s.slice.is_some()))
        .collect();
    eprintln!(
        "cnn_15m job calldata: start {start_bytes} bytes; steps largest {} bytes, total {} bytes (all open: largest {}, total {})",
        bytes.iter().max().unwrap(),
        bytes.iter().sum::<usize>() + start_bytes,
        open.iter().max().unwrap(),
        open.iter().sum::<usize>() + start_bytes
    );
    assert!(start_bytes <= DEFAULT_MAX_TX_BYTES, "{start_bytes}");
    for s in &plan.steps {
        assert!(s.gas_limit <= TX_GAS_CAP, "step {}", s.index);
        let sent = job::step_call(&plan, s).data.len();
        assert_eq!(sent, s.tx_bytes());
        assert!(
            sent <= DEFAULT_MAX_TX_BYTES,
            "step {}: {sent} bytes",
            s.index
        );
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
    let sender = crate::chain_jobs::JobSender::new(&rpc, Duration::from_secs(120)).await;
    let send = |c| sender.send(c);
    // Up to a slice that carries a partial output (calls[0] is startJob).
    let k = plan
        .steps
        .iter()
        .position(|s| s.slice.is_some_and(|(from, _)| from > 0))
        .unwrap();
    let mut sent = send(all[..k + 1].to_vec()).await.unwrap();
    let s = &plan.steps[k];
    let (from, count) = s.slice.unwrap();
    let slice_call = |state: Bytes, from: usize| eternalize::chain::calls::Call {
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
    // Forged states, each sent as the step sends its state (rank ≥ 2 by row hashes but for
    // the input rows the slice reads), each refused.
    let windows = jobs::carried_entries(&s.carried).unwrap();
    let (input_tag, rows) = windows
        .iter()
        .find_map(|(t, _, w)| match w {
            Some((a, b)) if a < b && t & jobs::PARTIAL_TAG == 0 => Some((*t, (*a, *b))),
            _ => None,
        })
        .unwrap();
    let as_sent = |tag: u32| {
        windows
            .iter()
            .find(|(t, _, _)| *t == tag)
            .map(|(_, _, w)| w.unwrap_or((0, usize::MAX)))
    };
    let forge = |change: &dyn Fn(&mut Vec<jobs::Entry>),
                 open: &dyn Fn(u32) -> Option<(usize, usize)>| {
        let mut e = jobs::decode(&s.state).unwrap();
        change(&mut e);
        Bytes::from(jobs::carry(&jobs::encode(&e).unwrap(), open).unwrap())
    };
    let refused = |state: Bytes, from: usize, what: &'static str| {
        let call = slice_call(state, from);
        let send = &send;
        async move {
            send(vec![(what.into(), call, s.gas_limit)])
                .await
                .unwrap_err()
                .to_string()
        }
    };
    // One value of the partial output plus one ulp: it travels as its row's hash, which moves.
    let partial = |e: &mut Vec<jobs::Entry>| {
        let last = e.len() - 1;
        assert_eq!(e[last].tag, jobs::PARTIAL_TAG | s.cursor as u32);
        e[last].values[0] += 1;
    };
    let e = refused(forge(&partial, &as_sent), from, "forged partial row").await;
    assert!(e.contains("StateMismatch"), "{e}");
    // One value of an input row the slice reads (sent open) plus one ulp.
    let input_row = |e: &mut Vec<jobs::Entry>| {
        let t = e.iter_mut().find(|t| t.tag == input_tag).unwrap();
        let per = t.values.len() / t.shape[0];
        t.values[rows.0 * per] += 1;
    };
    let e = refused(forge(&input_row, &as_sent), from, "forged input row").await;
    assert!(e.contains("StateMismatch"), "{e}");
    // The honest state, but a row the slice reads sent only as its hash.
    let short = |tag: u32| {
        if tag == input_tag {
            Some((rows.0 + 1, rows.1))
        } else {
            as_sent(tag)
        }
    };
    let e = refused(forge(&|_| {}, &short), from, "input row missing").await;
    assert!(e.contains("RowsNotCarried"), "{e}");
    // The honest state, but the slice after the one due: refused.
    let e = refused(s.carried.clone(), from + count, "out of order").await;
    assert!(e.contains("SliceOutOfOrder"), "{e}");
    // The rest, as planned: the result is the reference's, bit for bit.
    let rest = send(all[k + 1..].to_vec()).await.unwrap();
    sent.each.extend(rest.each);
    let largest = sent.each.iter().copied().max().unwrap();
    let total: u64 = sent.each.iter().sum();
    assert!(largest <= TX_GAS_CAP, "{largest}");
    let jobs_contract = EternalJobs::new(jobs_address().unwrap(), chain.provider().clone());
    let stored = jobs_contract.resultState(plan.job_id).call().await.unwrap();
    assert_eq!(stored.as_ref(), want.last().unwrap().as_slice());
    let got = job::read_result(&rpc, plan.jobs, plan.job_id)
        .await
        .unwrap();
    let reference = graph.run(std::slice::from_ref(&x)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, reference[0].shape);
    assert_eq!(got[0].1, reference[0].data, "the job's outputs");
    eprintln!(
        "cnn_15m job: {} transactions ({} steps, {slices} slices), largest {largest} gas, total {total} gas; after {:?}",
        sent.each.len(),
        plan.steps.len(),
        started.elapsed()
    );

    // ---- cnn_500k through chained calls, conv3's rows in channel blocks.
    let (model, graph) = crate::common::load_fixture("generated/cnn_500k.keras");
    let address = deploy(&chain, &model, 2).await;
    let state = rpc.model_state(address).await.unwrap();
    let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
    let mut runner = Runner::new(&rpc, &chained, graph.outputs.clone(), DEFAULT_CALL_GAS);
    let x = image(5);
    let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
    assert_eq!(got, graph.run(&[x]).unwrap(), "cnn_500k chained");
    for c in &runner.calls {
        eprintln!(
            "  {:<50} estimate {:>10}  measured {:>10?}",
            c.what, c.estimate, c.measured
        );
        // Sent with the budget as its gas and accepted; measured when first of its kind.
        assert!(c.measured.unwrap_or(0) <= DEFAULT_CALL_GAS, "{c:?}");
    }
    assert!(
        runner.calls.iter().any(|c| c.what.contains(" channels ")),
        "{:?}",
        runner.calls
    );
    eprintln!(
        "cnn_500k chained: {}; after {:?}",
        runner.stats(),
        started.elapsed()
    );
}
