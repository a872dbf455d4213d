//! Layers too big for one transaction or one call, on a real anvil enforcing the EIP-7825 cap
//! (2^24 gas a transaction): the 554k-parameter, 15.6M-MAC CNN (generated/cnn_15m.keras) runs
//! as an on-chain job whose big layers go in slices (`stepSlice`), every transaction under the
//! cap and the result bit for bit the reference's; a slice step with a forged partial output
//! and one sent out of order are refused. generated/cnn_500k.keras, whose conv3 needs ≈ 17.7M
//! gas for one output row, predicts through chained calls, that row cut into blocks of output
//! channels, bit for bit the reference.

use crate::chain_jobs::{calls, deploy};
use alloy::primitives::{Bytes, U256};
use alloy::sol_types::SolCall;
use eternalize::chain::jobs::{self, jobs_address};
use eternalize::chain::{EternalJobs, Rpc, signer_from_hex};
use eternalize::engine::plan::current_fees;
use eternalize::infer::plan::DEFAULT_CALL_GAS;
use eternalize::infer::{Graph, Tensor, WeightFormat};
use eternalize::keras;
use eternalize::usecase::chained::{ChainModel, Runner};
use eternalize::usecase::job::{self, TX_GAS_CAP};
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

fn load(rel: &str) -> (keras::model::Model, Graph) {
    let model = keras::load(&crate::common::fixtures().join(rel)).unwrap();
    let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
    (model, graph)
}

#[tokio::test]
async fn layers_over_the_cap_run_in_slices_in_jobs_and_by_channel_in_chained_calls() {
    let started = Instant::now();
    let node = crate::chain_support::anvil();
    let chain = crate::chain_support::connect(&node, 0);
    let rpc = Rpc::connect(&node.url()).unwrap();

    // ---- cnn_15m as a job.
    let (model, graph) = load("generated/cnn_15m.keras");
    let address = deploy(&chain, &model, 1).await;
    eprintln!("cnn_15m deployed after {:?}", started.elapsed());
    let x = image(2);
    let want = job::reference_states(&graph, std::slice::from_ref(&x)).unwrap();
    let plan = job::plan(&rpc, chain.sender(), address, &[&x], TX_GAS_CAP)
        .await
        .unwrap();
    eprintln!("cnn_15m planned after {:?}", started.elapsed());
    let slices = plan.steps.iter().filter(|s| s.slice.is_some()).count();
    assert!(slices > 10, "{slices} slice steps");
    for s in &plan.steps {
        assert!(s.gas_limit <= TX_GAS_CAP, "step {}", s.index);
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
    let (fees, _) = current_fees(&rpc, None).await.unwrap();
    let chain_id = rpc.chain_id().await.unwrap();
    let signer = signer_from_hex(crate::deploy_support::KEY0).unwrap();
    let send = |c: Vec<(String, eternalize::chain::calls::Call, u64)>| {
        let (rpc, signer, fees) = (&rpc, &signer, &fees);
        async move {
            job::send_pipelined(rpc, signer, chain_id, fees, &c, Duration::from_secs(120)).await
        }
    };
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
    // One value of the partial output plus one ulp: refused.
    let mut forged = jobs::decode(&s.state).unwrap();
    let last = forged.len() - 1;
    assert_eq!(forged[last].tag, jobs::PARTIAL_TAG | s.cursor as u32);
    forged[last].values[0] += 1;
    let forged = Bytes::from(jobs::encode(&forged).unwrap());
    let e = send(vec![(
        "forged".into(),
        slice_call(forged, from),
        s.gas_limit,
    )])
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("StateMismatch"), "{e}");
    // The honest state, but the slice after the one due: refused.
    let e = send(vec![(
        "out of order".into(),
        slice_call(s.state.clone(), from + count),
        s.gas_limit,
    )])
    .await
    .unwrap_err()
    .to_string();
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
    let (model, graph) = load("generated/cnn_500k.keras");
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
