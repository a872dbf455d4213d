//! On-chain jobs (`contracts/EternalJobs.sol`, `usecase::job`) on a real anvil enforcing the
//! EIP-7825 cap: fashion_mnist (one `predict` of ~17M gas, over the cap) and a branching model
//! run as jobs whose every transaction is ≤ 2^24 gas; every state the chain commits to equals
//! the Rust reference's, and the result equals the reference bit for bit. A step with forged
//! activations and a step sent twice are refused on chain; the example consumer contract
//! starts a job and reads its result; `predict --send` killed mid-job (kill -9) finishes on a
//! second run without sending any step twice.

use crate::common::*;
use crate::deploy_support::{KEY0, eternalize};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use eternalize::chain::jobs::{self, jobs_address};
use eternalize::chain::{Chain, EternalJobs, Rpc, signer_from_hex};
use eternalize::engine::plan::current_fees;
use eternalize::infer::{Graph, Tensor, WeightFormat, input};
use eternalize::keras;
use eternalize::usecase::job::{self, JobPlan, TX_GAS_CAP, TxBudget};
use std::time::Duration;

alloy::sol!(
    #[sol(rpc)]
    JobConsumer,
    "artifacts/JobConsumer.json"
);

/// Deploys `model` (every implementation it needs, the job contract too) and returns its address.
pub(crate) async fn deploy(chain: &Chain, model: &keras::model::Model, salt: u64) -> Address {
    chain.deploy_factory().await.unwrap();
    chain.deploy_jobs().await.unwrap();
    crate::chain_support::deploy_model(chain, model, salt)
        .await
        .0
}

pub(crate) fn fashion_mnist() -> (keras::model::Model, Graph, Vec<Tensor>) {
    let path = fixtures().join("eai_example/fashion_mnist.keras");
    let model = keras::load(&path).unwrap();
    let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
    let arr = input::read(&fixtures().join("eai_example/fashion_mnist_input.npy")).unwrap();
    let samples = input::samples(&arr[0].1, &graph.input_shapes()[0]).unwrap();
    (model, graph, samples)
}

/// Prints `plan`'s steps and checks each: its gas limit within `budget`, and the state before a
/// layer's first step (a whole layer's, or its first slice's) the reference's `want[layer]`.
pub(crate) fn check_steps(plan: &JobPlan, budget: u64, want: &[Vec<u8>]) {
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
        assert!(s.gas_limit <= budget, "step {}", s.index);
        if s.slice.is_none_or(|(from, _)| from == 0) {
            assert_eq!(
                s.state.as_ref(),
                want[s.cursor].as_slice(),
                "the state before layer #{}",
                s.cursor
            );
        }
    }
}

/// Sends job transactions pipelined from the first dev account (one place for the fees, chain
/// id and signer every job test needs).
pub(crate) struct JobSender<'a> {
    rpc: &'a Rpc,
    signer: alloy::signers::local::PrivateKeySigner,
    chain_id: u64,
    fees: eternalize::engine::plan::Fees,
    timeout: Duration,
}

impl<'a> JobSender<'a> {
    pub(crate) async fn new(rpc: &'a Rpc, timeout: Duration) -> Self {
        let (fees, _) = current_fees(rpc, None).await.unwrap();
        JobSender {
            rpc,
            signer: signer_from_hex(KEY0).unwrap(),
            chain_id: rpc.chain_id().await.unwrap(),
            fees,
            timeout,
        }
    }

    pub(crate) async fn send(
        &self,
        calls: Vec<(String, eternalize::chain::calls::Call, u64)>,
    ) -> anyhow::Result<job::Sent> {
        job::send_pipelined(
            self.rpc,
            &self.signer,
            self.chain_id,
            &self.fees,
            &calls,
            self.timeout,
        )
        .await
    }
}

/// All of a plan's transactions, as `send_pipelined` takes them.
pub(crate) fn calls(plan: &JobPlan) -> Vec<(String, eternalize::chain::calls::Call, u64)> {
    let mut out = Vec::new();
    if let Some((call, gas)) = &plan.start {
        out.push(("start".to_string(), call.clone(), *gas));
    }
    for s in &plan.steps {
        out.push((
            format!("step {}", s.index),
            job::step_call(plan, s),
            s.gas_limit,
        ));
    }
    out
}

/// A step budget under fashion_mnist's one-call predict gas (~13.6M), so its job takes several
/// steps.
const JOB_SPLIT_GAS: u64 = 10_000_000;

/// Plans the job of `sample`, checks every state against the reference, sends it pipelined and
/// checks the result and the gas of every transaction. Returns (transactions, largest, total).
async fn run_job(
    rpc: &Rpc,
    chain: &Chain,
    model: Address,
    graph: &Graph,
    sample: &[Tensor],
    name: &str,
    budget: u64,
) -> (usize, u64, u64) {
    let want = job::reference_states(graph, sample).unwrap();
    // The contract takes the inputs in layer order of their InputLayers.
    let mut ordered: Vec<(usize, &Tensor)> = graph.inputs.iter().copied().zip(sample).collect();
    ordered.sort_by_key(|(i, _)| *i);
    let ordered: Vec<&Tensor> = ordered.into_iter().map(|(_, t)| t).collect();
    let limits = TxBudget {
        gas: budget,
        ..TxBudget::DEFAULT
    };
    let plan = job::plan(rpc, chain.sender(), model, &ordered, limits)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(plan.layer_count, graph.nodes.len());
    for s in &plan.steps {
        // A slice after a layer's first carries that layer's partial output: the chain checked
        // it against its own hash while planning, and the result below is checked whole.
        if s.slice.is_none_or(|(from, _)| from == 0) {
            assert_eq!(
                s.state.as_ref(),
                want[s.cursor].as_slice(),
                "{name}: the chain's state before layer #{} differs from the reference's",
                s.cursor
            );
        }
        assert!(s.gas_limit <= TX_GAS_CAP, "{name}: step {}", s.index);
        let bytes = job::step_call(&plan, s).data.len();
        assert_eq!(bytes, s.tx_bytes());
        assert!(
            bytes <= limits.bytes,
            "{name}: step {}: {bytes} bytes",
            s.index
        );
        eprintln!(
            "{name}: step {} layers #{}..#{}: sends {bytes} bytes ({} calldata gas), estimate {}, limit {}",
            s.index,
            s.cursor,
            s.cursor + s.count - 1,
            eternalize::chain::calls::calldata_gas(&s.carried),
            s.estimate,
            s.gas_limit
        );
    }
    let start_bytes = plan.start.as_ref().map_or(0, |(c, _)| c.data.len());
    assert!(
        start_bytes <= limits.bytes,
        "{name}: startJob {start_bytes} bytes"
    );
    eprintln!("{name}: startJob sends {start_bytes} bytes");
    let (fees, _) = current_fees(rpc, None).await.unwrap();
    let chain_id = rpc.chain_id().await.unwrap();
    let signer = signer_from_hex(KEY0).unwrap();
    let sent = job::send_pipelined(
        rpc,
        &signer,
        chain_id,
        &fees,
        &calls(&plan),
        Duration::from_secs(120),
    )
    .await
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(sent.largest <= TX_GAS_CAP, "{name}: {}", sent.largest);
    let jobs_contract = EternalJobs::new(jobs_address().unwrap(), chain.provider().clone());
    let stored = jobs_contract.resultState(plan.job_id).call().await.unwrap();
    let last = want.last().unwrap();
    assert_eq!(
        stored.as_ref(),
        last.as_slice(),
        "{name}: result differs from the reference"
    );
    // The result is the sink layers' outputs in layer order (as `predict`): each one that is
    // a Keras output must equal what `Graph::run` gives for it.
    let got = job::read_result(rpc, plan.jobs, plan.job_id).await.unwrap();
    let sinks = jobs::decode(last).unwrap();
    assert_eq!(got.len(), sinks.len());
    let reference = graph.run(sample).unwrap();
    let mut matched = 0;
    for ((shape, values), sink) in got.iter().zip(&sinks) {
        let widened: Vec<i128> = sink.values.iter().map(|&v| i128::from(v)).collect();
        assert_eq!(values, &widened, "{name}");
        if let Some(k) = graph.outputs.iter().position(|&o| o == sink.tag as usize) {
            assert_eq!(shape, &reference[k].shape, "{name}");
            assert_eq!(
                values, &reference[k].data,
                "{name}: outputs differ from the reference"
            );
            matched += 1;
        }
    }
    assert!(
        matched >= 1,
        "{name}: no Keras output among the job's outputs"
    );
    eprintln!(
        "{name}: {} layers in {} steps (+ start), {} transactions, largest {} gas, total {} gas, each {:?}",
        plan.layer_count,
        plan.steps.len(),
        sent.transactions,
        sent.largest,
        sent.gas_used,
        sent.each,
    );
    (sent.transactions, sent.largest, sent.gas_used)
}

#[tokio::test]
async fn jobs_equal_the_reference_bit_for_bit_with_every_transaction_under_the_cap() {
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();

    let (model, graph, samples) = fashion_mnist();
    let fm = deploy(&chain, &model, 1).await;
    let (txs, largest, total) = run_job(
        &rpc,
        &chain,
        fm,
        &graph,
        &samples[..1],
        "fashion_mnist",
        JOB_SPLIT_GAS,
    )
    .await;
    // Its predict needs ~13.6M gas in one call: under a 10M step budget the job splits its
    // layers over steps.
    assert!(txs >= 3, "fashion_mnist ran in {txs} transactions");
    assert!(largest <= TX_GAS_CAP);
    assert!(total > largest, "{total} gas in {txs} transactions");

    // A graph with branches and two outputs, under a small budget so that it takes several
    // steps: tensors stay live across steps until their last reader, and the result holds both
    // outputs.
    let path = fixtures().join("generated/functional_multi_out_merge.keras");
    let truth = read_json(&sidecar(&path, ".truth.json"));
    let model = keras::load(&path).unwrap();
    let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
    let first: Vec<Tensor> = truth_inputs(&truth, &graph)
        .into_iter()
        .map(|mut s| s.remove(0))
        .collect();
    let branchy = deploy(&chain, &model, 2).await;
    let (txs, _, _) = run_job(
        &rpc,
        &chain,
        branchy,
        &graph,
        &first,
        "functional_multi_out_merge",
        450_000,
    )
    .await;
    assert!(
        txs >= 4,
        "functional_multi_out_merge ran in {txs} transactions"
    );
}

#[tokio::test]
async fn forged_activations_and_a_step_sent_twice_are_refused_on_chain() {
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let (model, graph, samples) = fashion_mnist();
    let fm = deploy(&chain, &model, 1).await;
    let split = TxBudget {
        gas: JOB_SPLIT_GAS,
        ..TxBudget::DEFAULT
    };
    let plan = job::plan(&rpc, chain.sender(), fm, &[&samples[0]], split)
        .await
        .unwrap();
    assert!(plan.steps.len() >= 2);
    // A budget under one output row of a layer's gas (layers over it run in slices): refused
    // before anything is sent, with the numbers.
    let small = TxBudget {
        gas: 300_000,
        ..TxBudget::DEFAULT
    };
    let small = job::plan(&rpc, chain.sender(), fm, &[&samples[0]], small)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        small.starts_with("layer #")
            && small.contains(&format!(" of {fm} cannot run as a job: "))
            && small.contains(" gas in one step, over the "),
        "{small}"
    );
    // A calldata budget under the input's 6,468 bytes: the InputLayer goes in row slices, but
    // the Flatten (layer 5), whose step would carry as much, is never cut: refused before
    // anything is sent, naming the layer and the numbers.
    let narrow = TxBudget {
        bytes: 5_000,
        ..TxBudget::DEFAULT
    };
    let narrow = job::plan(&rpc, chain.sender(), fm, &[&samples[0]], narrow)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        narrow.starts_with(&format!(
            "layer #5 of {fm} would carry 6,468 bytes of calldata in one step, over the 5,000 a transaction may; "
        )) && narrow.ends_with("a layer of its kind is never cut into slices"),
        "{narrow}"
    );
    let all = calls(&plan);
    let sender = crate::chain_jobs::JobSender::new(&rpc, Duration::from_secs(60)).await;
    let send = |c| sender.send(c);
    // Start, then step 0 twice in a row (both signed up front, pipelined): the second is refused.
    send(all[..2].to_vec()).await.unwrap();
    let again = send(vec![all[1].clone()]).await.unwrap_err().to_string();
    assert!(again.contains("StepOutOfOrder"), "{again}");
    let jobs_contract = EternalJobs::new(plan.jobs, chain.provider().clone());
    let info = jobs_contract.job(plan.job_id).call().await.unwrap();
    assert_eq!(info.steps, U256::from(1));
    assert_eq!(info.cursor, U256::from(plan.steps[0].count));

    // Step 1 with one activation changed (a value the reference computed, plus one ulp), sent
    // as the step sends its state.
    let s1 = &plan.steps[1];
    let mut forged = jobs::decode(&s1.state).unwrap();
    let last = forged.len() - 1;
    forged[last].values[0] += 1;
    let windows = jobs::carried_entries(&s1.carried).unwrap();
    let open = |tag: u32| {
        windows
            .iter()
            .find(|(t, _, _)| *t == tag)
            .map(|(_, _, w)| w.unwrap_or((0, usize::MAX)))
    };
    let forged_state = Bytes::from(jobs::carry(&jobs::encode(&forged).unwrap(), open).unwrap());
    assert_ne!(forged_state, s1.carried);
    let call = eternalize::chain::calls::Call {
        to: plan.jobs,
        data: EternalJobs::stepCall {
            jobId: plan.job_id,
            stepIndex: U256::from(1),
            state: forged_state,
            count: U256::from(s1.count),
        }
        .abi_encode()
        .into(),
        value: U256::ZERO,
    };
    let forged_err = send(vec![("forged step 1".into(), call, s1.gas_limit)])
        .await
        .unwrap_err()
        .to_string();
    assert!(forged_err.contains("StateMismatch"), "{forged_err}");
    // The honest steps still finish the job, and its result is the reference's.
    send(all[2..].to_vec()).await.unwrap();
    let want = job::reference_states(&graph, std::slice::from_ref(&samples[0])).unwrap();
    let stored = jobs_contract.resultState(plan.job_id).call().await.unwrap();
    assert_eq!(stored.as_ref(), want.last().unwrap().as_slice());
}

#[tokio::test]
async fn the_example_consumer_starts_a_job_and_reads_its_result_on_chain() {
    let (_node, chain, rpc) = crate::chain_support::anvil_connected();
    let (model, graph, samples) = fashion_mnist();
    let fm = deploy(&chain, &model, 1).await;
    let jobs_at = jobs_address().unwrap();
    let consumer = JobConsumer::deploy(chain.provider().clone(), jobs_at, fm)
        .await
        .unwrap();
    let sample = &samples[0];
    let values: Vec<alloy::primitives::I256> = sample
        .data
        .iter()
        .map(|&v| alloy::primitives::I256::try_from(v).unwrap())
        .collect();
    let shape: Vec<U256> = sample.shape.iter().map(|&d| U256::from(d)).collect();
    let r = consumer
        .ask(values, shape)
        .gas(TX_GAS_CAP)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status());
    let job_id = consumer.jobId().call().await.unwrap();
    assert_eq!(
        job_id,
        jobs::job_id(*consumer.address(), B256::from(U256::from(1)))
    );
    // Not done yet: the consumer cannot decide.
    assert!(consumer.decide().call().await.is_err());

    // Anyone (here the deployer's planner) advances the consumer's job: same steps, its id.
    let mut plan = job::plan(&rpc, chain.sender(), fm, &[sample], TxBudget::DEFAULT)
        .await
        .unwrap();
    plan.job_id = job_id;
    plan.start = None;
    // Signed with a fee under the base fee: the node refuses the first step as underpriced,
    // and the driver re-signs it (and those after it) with the deployment engine's bump.
    let (mut fees, _) = current_fees(&rpc, None).await.unwrap();
    let base = fees.base_fee.unwrap();
    assert!(base > 2, "base fee {base}");
    fees.max_fee = 1;
    fees.priority_fee = 1;
    let chain_id = rpc.chain_id().await.unwrap();
    let signer = signer_from_hex(crate::deploy_support::KEY1).unwrap();
    let sent = job::send_pipelined(
        &rpc,
        &signer,
        chain_id,
        &fees,
        &calls(&plan),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(sent.bumps >= 1, "no fee bump: {sent:?}");
    let r = consumer
        .decide()
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status());
    let reference = graph.run(std::slice::from_ref(sample)).unwrap();
    let out = &reference[0].data;
    let argmax = (0..out.len()).fold(0, |m, i| if out[i] > out[m] { i } else { m });
    assert_eq!(
        consumer.decision().call().await.unwrap(),
        U256::from(argmax)
    );
    assert!(consumer.decided().call().await.unwrap());
}

/// `predict ADDRESS --send` killed (SIGKILL) right after its second transaction is broadcast,
/// then run again: the second run finds the same job on chain, sends only the steps after its
/// cursor, and prints the reference's result; no step is ever sent twice (no reverted
/// transaction from the sender in any block).
#[tokio::test]
async fn predict_send_killed_mid_job_finishes_on_a_second_run_without_repeating_a_step() {
    // A block gas limit of JOB_SPLIT_GAS caps the job's steps (fashion_mnist's ~13.6M predict
    // would otherwise fit one step, and there would be no "mid-job").
    let path = eternalize::tools::Tools::in_repo()
        .anvil()
        .unwrap_or_else(|e| panic!("{e}"));
    let limit = JOB_SPLIT_GAS.to_string();
    let node = eternalize::tools::AnvilProcess::spawn(
        &path,
        &["--enable-tx-gas-limit", "--gas-limit", limit.as_str()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let chain = crate::chain_support::connect(&node, 0);
    let (model, graph, samples) = fashion_mnist();
    let fm = deploy(&chain, &model, 1).await;
    let sent_before = chain
        .provider()
        .get_transaction_count(chain.sender())
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let url = node.url();
    let address = format!("{fm:#x}");
    let input = fixtures().join("eai_example/fashion_mnist_input.npy");
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
    // A non-local network without --yes and without a terminal: refused, nothing sent.
    let unconfirmed: Vec<&str> = args.iter().copied().filter(|a| *a != "--yes").collect();
    let refused = eternalize(data.path(), &unconfirmed, &[]);
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("needs confirmation: pass --yes (no terminal to ask on); nothing was sent"),
        "{said}"
    );
    assert_eq!(
        chain
            .provider()
            .get_transaction_count(chain.sender())
            .await
            .unwrap(),
        sent_before,
    );

    let first = eternalize(data.path(), &args, &[("ETERNALIZE_TEST_CRASH_AFTER", "2")]);
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
    let reference = graph.run(std::slice::from_ref(&samples[0])).unwrap();
    let want: Vec<f64> = reference[0]
        .data
        .iter()
        .map(|&v| eternalize::infer::fixed::to_f64(v))
        .collect();
    // Compared through the same JSON text (serde_json's float parsing is not round-trip exact).
    let want: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&want).unwrap()).unwrap();
    assert_eq!(report["values"], want);
    assert!(report["job"].is_string());
    assert!(report["gas_used"].as_u64().unwrap() > 0);
    // Every job transaction from the sender succeeded: none was a repeated (refused) step.
    let provider = chain.provider();
    let head = provider.get_block_number().await.unwrap();
    let mut steps = 0;
    for n in 0..=head {
        let receipts = provider
            .get_block_receipts(n.into())
            .await
            .unwrap()
            .unwrap_or_default();
        for r in receipts {
            if r.to == Some(jobs_address().unwrap()) {
                assert!(
                    r.status(),
                    "a job transaction reverted: {:?}",
                    r.transaction_hash
                );
                steps += 1;
            }
        }
    }
    let id: U256 = report["job"].as_str().unwrap().parse().unwrap();
    let info = EternalJobs::new(jobs_address().unwrap(), provider.clone())
        .job(id)
        .call()
        .await
        .unwrap();
    assert!(info.done);
    assert_eq!(
        steps,
        info.steps.to::<usize>() + 1,
        "start + each step once"
    );
}
