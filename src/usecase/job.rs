//! On-chain jobs (`predict ADDRESS --send`): an inference of any size run as transactions on
//! the chain's `EternalJobs` contract — `startJobState` with the input (packed, or by its row
//! hashes when it does not fit a transaction), then `step`s of whole layers and, for a layer too
//! big for one transaction, `stepSlice`s of its output rows (or units; a Conv2D row too big for
//! one transaction in blocks of its output channels), each transaction under the EIP-7825 cap
//! (2^24 gas), then `result` read on chain.
//!
//! Every state a step carries is known before anything is sent: the job contract's `advance`
//! view computes it (`eth_call`), the same code `step` runs, so the start and every step are
//! signed up front with consecutive nonces and sent pipelined. [`reference_states`] computes
//! the same states with the Rust reference (tests hold the chain to it, bit for bit).
//!
//! Resuming needs no journal of its own: the job id is a function of the sender, the model and
//! the input (`salt = keccak(model, keccak(initial state))`), and the job contract's cursor and
//! step counter are the record of what ran. Running the same command again (after a kill -9,
//! say) waits for this account's transactions still pending, reads the job on chain and sends
//! only the steps after its cursor; a step sent twice is refused by the contract
//! (`StepOutOfOrder`) anyway.
//!
//! Owns: planning, sending and reading back a job. Must not touch: the terminal (questions come
//! in as a callback), the deployment engine's state.

use alloy::primitives::{Address, B256, Bytes, I256, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolValue};
use serde::Serialize;
use std::time::{Duration, Instant};

use super::predict::{Output, Prediction};
use super::verify::{Reader, split_outputs};
use crate::chain::bindings::EternalJobs;
use crate::chain::calls::{Call, create2_placement};
use crate::chain::jobs::{self, Entry, INPUT_TAG, still_live};
use crate::chain::{ChainError, Revert, Rpc};
use crate::engine::plan::{Fees, current_fees};
use crate::engine::run::send::{Signing, sign_call};
use crate::infer::{Graph, Tensor, fixed, forward};

/// EIP-7825: no transaction may ask for more gas.
pub const TX_GAS_CAP: u64 = 1 << 24;
/// What a `step` costs beyond the `advance` it runs: the job's two slots (read, written), the
/// state's hash, the event — measured ~45k on anvil; with room.
const STEP_OVERHEAD: u64 = 80_000;
/// Storing the result: one fresh storage word per 32 bytes, plus its length word.
const RESULT_WORD_GAS: u64 = 22_200;
/// Gas limits are the estimate plus this share (nodes estimate to the gas unit).
const MARGIN_PERCENT: u64 = 15;
/// The default calldata budget of one job transaction, in bytes. geth's pool refuses a signed
/// transaction over 128 KiB (`txMaxSize` = 131,072 bytes, the whole RLP envelope: nonce, fees,
/// gas, to, value, access list, signature — about 120 bytes besides the calldata); Nethermind,
/// Besu, Erigon and Reth keep the same 128 KiB default. 120,000 leaves 11 KiB for the envelope
/// and a node configured a little tighter.
pub const DEFAULT_MAX_TX_BYTES: usize = 120_000;

alloy::sol! {
    /// What a job asks a sliceable layer before a slice (`contracts/interfaces/ISliceableLayer.sol`).
    interface ISliceableLayer {
        function sliceInput(uint256[] shapes, uint256[] ranks, uint256 from, uint256 count)
            external view returns (uint256 length, uint256 first, uint256 last);
    }

    /// A Conv2D clone's config (`contracts/layers/Conv2DLayer.sol`): its output channels.
    interface IConv2DFilters {
        function config() external view returns (
            uint8 activation,
            uint256 inputFilters,
            uint256 filters,
            uint256[2] kernelSize,
            uint256[2] strides,
            uint8 padding,
            bool useBias
        );
    }
}

/// `LayerKind.CONV_2D` (contracts/lib/Types.sol): the kind whose rows a job cuts into blocks
/// of output channels.
const CONV_2D: u16 = 6;

/// What each job transaction may use: gas (EIP-7825: 2^24 at most) and calldata bytes (the
/// transaction pools' size limit, [`DEFAULT_MAX_TX_BYTES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxBudget {
    pub gas: u64,
    pub bytes: usize,
}

impl TxBudget {
    /// The cap's gas and the default byte budget.
    pub const DEFAULT: TxBudget = TxBudget {
        gas: TX_GAS_CAP,
        bytes: DEFAULT_MAX_TX_BYTES,
    };
}

fn fail(message: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::msg(message.to_string())
}

/// Why layer `c` of `model` cannot run as a job (`what`).
fn cannot_run(c: usize, model: Address, what: String) -> anyhow::Error {
    fail(format!("layer #{c} of {model} cannot run as a job: {what}"))
}

/// `what` (e.g. "time steps 3..", with its verb) did not run in an `eth_call` given only the
/// gas a step may use (`limit`), failing with `e`.
fn over_step(what: String, limit: u64, e: &impl std::fmt::Display) -> String {
    format!(
        "{what} within the {} gas a step may use: {e}",
        crate::units::thousands(limit)
    )
}

// ------------------------------------------------------------------ the reference

/// The state before each cursor `0..=n` of a job of `graph` on one sample (`inputs` in the
/// model's input order), computed by the Rust reference: what the job contract must commit to
/// after each layer. The last one is the job's result.
pub fn reference_states(graph: &Graph, inputs: &[Tensor]) -> anyhow::Result<Vec<Vec<u8>>> {
    let n = graph.nodes.len();
    let links: Vec<Vec<usize>> = graph.nodes.iter().map(|n| n.inputs.clone()).collect();
    let mut initial: Vec<(usize, &Tensor)> = graph.inputs.iter().copied().zip(inputs).collect();
    initial.sort_by_key(|(i, _)| *i);
    let initial: Vec<Entry> = initial
        .iter()
        .map(|(i, t)| jobs::entry(INPUT_TAG | *i as u32, &t.shape, &t.data))
        .collect::<Result<_, _>>()?;
    let mut outputs: Vec<Option<Entry>> = vec![None; n];
    let mut values: Vec<Option<Tensor>> = vec![None; n];
    let state_at = |c: usize, outputs: &[Option<Entry>]| -> anyhow::Result<Vec<u8>> {
        let live: Vec<Entry> = initial
            .iter()
            .chain(outputs[..c].iter().flatten())
            .filter(|e| still_live(&links, e.tag, c))
            .cloned()
            .collect();
        Ok(jobs::encode(&live)?)
    };
    let mut states = vec![state_at(0, &outputs)?];
    for (i, node) in graph.nodes.iter().enumerate() {
        let ins: Vec<Tensor> = if node.inputs.is_empty() {
            let e = initial
                .iter()
                .find(|e| e.tag == INPUT_TAG | i as u32)
                .ok_or_else(|| fail(format!("layer '{}' has no model input", node.name)))?;
            vec![Tensor {
                shape: e.shape.clone(),
                data: e.values.iter().map(|&v| i128::from(v)).collect(),
            }]
        } else {
            node.inputs
                .iter()
                .map(|&j| values[j].clone())
                .collect::<Option<_>>()
                .ok_or_else(|| fail(format!("layer '{}' reads a later layer", node.name)))?
        };
        let refs: Vec<&Tensor> = ins.iter().collect();
        let out = forward::forward(node, &refs)
            .map_err(|reason| fail(format!("layer '{}': {reason}", node.name)))?;
        outputs[i] = Some(jobs::entry(i as u32, &out.shape, &out.data)?);
        values[i] = Some(out);
        states.push(state_at(i + 1, &outputs)?);
    }
    Ok(states)
}

// ------------------------------------------------------------------ planning

/// The initial state of a job on `sample` (input k feeds the k-th InputLayer of `links`, in
/// layer order): what `EternalJobs.startJob` packs and `startJobState` takes, open.
pub fn initial_state(
    links: &[crate::chain::EternalModel::LayerLink],
    sample: &[&Tensor],
) -> anyhow::Result<Vec<u8>> {
    let input_layers: Vec<usize> = (0..links.len())
        .filter(|&i| links[i].inputs.is_empty())
        .collect();
    if input_layers.len() != sample.len() {
        anyhow::bail!(
            "the model takes {} input(s); {} were given",
            input_layers.len(),
            sample.len()
        );
    }
    let entries = input_layers
        .iter()
        .zip(sample)
        .map(|(&i, t)| jobs::entry(INPUT_TAG | i as u32, &t.shape, &t.data))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(jobs::encode(&entries)?)
}

/// One step: layers `[cursor, cursor + count)`, carrying `state`.
#[derive(Clone, Debug)]
pub struct StepPlan {
    pub index: usize,
    pub cursor: usize,
    /// Layers of a whole-layer step; 1 for a slice.
    pub count: usize,
    /// A slice of layer `cursor`: output positions `[from, from + count)` of its first axis.
    pub slice: Option<(usize, usize)>,
    /// A Conv2D slice of one row: only its output channels `[first, first + count)` of `of`.
    pub channels: Option<Channels>,
    /// A Dense's row part (`stepRows`): input rows `[first, first + count)` of the units in
    /// `slice`, given `sums` (the units' partial sums from the parts before).
    pub rows: Option<(usize, usize)>,
    pub sums: Vec<i128>,
    /// `eth_estimateGas` of the same computation (`advance`).
    pub estimate: u64,
    pub gas_limit: u64,
    /// The state before the step, open (every value): what the job commits to.
    pub state: Bytes,
    /// What the step sends: `state` with every tensor of rank ≥ 2 carried by its row hashes
    /// but for the rows the step reads (`jobs::carry`).
    pub carried: Bytes,
}

impl StepPlan {
    /// The step transaction's calldata length in bytes.
    pub fn tx_bytes(&self) -> usize {
        match self.rows {
            // stepRows: two more head words (the sums' offset), their length and words.
            Some(_) => tx_bytes(self.carried.len(), true) + 64 + 32 * self.sums.len(),
            None => tx_bytes(self.carried.len(), self.slice.is_some()),
        }
    }

    /// The commitment the job holds before this step: the state's, or, after a row part's
    /// first (a Dense's, a recurrent layer's), the state's with the carried sums' or carry's
    /// (`EternalJobs._rows`).
    pub fn expected_hash(&self) -> Result<B256, jobs::StateError> {
        let state = jobs::commitment(&self.state)?;
        match (self.slice, self.rows) {
            (Some((from, _)), Some((first, _))) if first > 0 => {
                Ok(rows_hash(state, &self.sums, from, first))
            }
            _ => Ok(state),
        }
    }
}

/// The job's commitment between row parts (a Dense's, a recurrent layer's):
/// keccak256(abi.encode(state commitment, keccak256 of the sums or carry as int256 words,
/// positions done | rows done << 128)). The sums' length binds the units' count.
pub fn rows_hash(state: B256, sums: &[i128], from: usize, rows_done: usize) -> B256 {
    let words: Vec<u8> = int_words(sums)
        .iter()
        .flat_map(|v| v.to_be_bytes::<32>())
        .collect();
    let (at, _) = part_words((from, 0), (rows_done, 0));
    keccak256((state, keccak256(&words), at).abi_encode())
}

/// Calldata bytes of a `step` (or `stepSlice`) carrying `state_len` bytes of state: selector,
/// the head words, the bytes' length word, the bytes padded to words.
pub fn tx_bytes(state_len: usize, slice: bool) -> usize {
    4 + 32 * if slice { 5 } else { 4 } + 32 + state_len.div_ceil(32) * 32
}

/// Output channels `[first, first + count)` of `of`: a block of one Conv2D output row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channels {
    pub first: usize,
    pub count: usize,
    pub of: usize,
}

impl Channels {
    /// Whether this block completes its row.
    pub fn last(&self) -> bool {
        self.first + self.count == self.of
    }
}

/// A slice's `from` and `count` as `stepSlice` takes them: a channel block carries its first
/// channel and its channel count in the high 128 bits.
pub fn slice_words(from: usize, count: usize, channels: Option<Channels>) -> (U256, U256) {
    let (first, of) = channels.map_or((0, 0), |c| (c.first, c.count));
    part_words((from, count), (first, of))
}

/// `from` and `count` as `forwardSlice`, `stepSlice` and `stepRows` take them: the positions
/// in the low 128 bits, a second range (a Conv2D's channel block, a Dense's input rows) in the
/// high 128 bits.
pub fn part_words((from, count): (usize, usize), (first, n): (usize, usize)) -> (U256, U256) {
    let word = |low: usize, high: usize| U256::from(low) | (U256::from(high) << 128);
    (word(from, first), word(count, n))
}

/// The int256 words a row part carries on (sums, or a recurrent carry) as the i128 values the
/// next part is given: the inverse of [`int_words`], failing on a word beyond int128.
fn carried_values(words: &[I256]) -> Result<Vec<i128>, alloy::primitives::BigIntConversionError> {
    words.iter().map(|v| i128::try_from(*v)).collect()
}

/// Values as the int256 words a contract takes (an i128 always fits).
pub fn int_words(values: &[i128]) -> Vec<I256> {
    values
        .iter()
        .map(|&v| I256::try_from(v).unwrap_or_default())
        .collect()
}

/// Everything a job of one sample will send, before anything is sent.
#[derive(Clone, Debug)]
pub struct JobPlan {
    pub jobs: Address,
    pub model: Address,
    pub job_id: U256,
    /// `startJobState`, with its gas limit; `None` when the job is already on chain.
    pub start: Option<(Call, u64)>,
    /// The steps still to send (from the job's cursor on chain).
    pub steps: Vec<StepPlan>,
    pub layer_count: usize,
    /// Steps already on chain (a resumed job).
    pub steps_done: usize,
    /// The sample of the batch whose job this is too (the same input twice).
    pub same_as: Option<usize>,
}

impl JobPlan {
    pub fn transactions(&self) -> usize {
        self.steps.len() + usize::from(self.start.is_some())
    }

    pub fn gas_limits(&self) -> u64 {
        self.steps.iter().map(|s| s.gas_limit).sum::<u64>()
            + self.start.as_ref().map_or(0, |(_, g)| *g)
    }
}

fn with_margin(gas: u64) -> u64 {
    gas + gas * MARGIN_PERCENT / 100
}

fn rpc_fail(action: &str) -> impl FnOnce(ChainError) -> anyhow::Error + '_ {
    move |e| fail(format!("could not {action}: {e}"))
}

/// Places the job contract through the deterministic CREATE2 deployer (salt 0), as the factory
/// itself is placed: once per chain, anyone may, the address is the same for everyone.
pub fn placement_call() -> Result<Call, ChainError> {
    let (to, data) = create2_placement(&EternalJobs::BYTECODE);
    Ok(Call {
        to,
        data: data.into(),
        value: U256::ZERO,
    })
}

/// Plans the job of `model` on one sample, as `from` will send it, each step under `limits`
/// (gas and calldata bytes).
pub async fn plan(
    rpc: &Rpc,
    from: Address,
    model: Address,
    sample: &[&Tensor],
    limits: TxBudget,
) -> anyhow::Result<JobPlan> {
    let budget = limits.gas;
    let jobs = jobs::jobs_address()?;
    if !rpc.has_code(jobs).await? {
        anyhow::bail!("the job contract is not on this chain yet (it would be at {jobs})");
    }
    let model_links = rpc
        .sol_call(
            model,
            &crate::chain::EternalModel::layersCall {},
            None,
            || format!("read the layers of {model}"),
        )
        .await
        .map_err(rpc_fail("read the model's layers"))?;
    let initial = Bytes::from(initial_state(&model_links, sample)?);
    let salt = salt_for(model, &initial);
    let job_id = jobs::job_id(from, salt);
    let existing = match rpc
        .sol_call(jobs, &EternalJobs::jobCall { jobId: job_id }, None, || {
            format!("read job {job_id:#x}")
        })
        .await
    {
        Ok(info) => Some(info),
        Err(e) if matches!(e.revert(), Some(Revert::Jobs(_))) => None,
        Err(e) => return Err(rpc_fail("read the job")(e)),
    };
    let layer_count = rpc
        .sol_call(
            model,
            &crate::chain::EternalModel::layerCountCall {},
            None,
            || format!("read the layer count of {model}"),
        )
        .await
        .map_err(rpc_fail("read the model"))?
        .to::<usize>();
    let (cursor0, steps_done) = match &existing {
        Some(info) => (info.cursor.to::<usize>(), info.steps.to::<usize>()),
        None => (0, 0),
    };

    // Every state, by the chain's own `advance`, one layer at a time; and each layer's gas.
    // A layer that does not fit one step runs in slices (`stepSlice`), planned here too.
    let advance = |cursor: usize, state: &Bytes, count: usize| EternalJobs::advanceCall {
        model,
        cursor: U256::from(cursor),
        state: state.clone(),
        count: U256::from(count),
    };
    let estimate = |data: Bytes| async move { rpc.estimate_gas(from, jobs, &data).await.ok() };
    let links = model_links;
    let addresses: Vec<Address> = links.iter().map(|l| l.layer).collect();
    let kinds: Vec<u16> = links.iter().map(|l| l.kind).collect();
    let links: Vec<Vec<usize>> = links
        .iter()
        .map(|l| l.inputs.iter().map(|&i| usize::from(i)).collect())
        .collect();
    // What layers [c, c + count) send: the tensors they read open, everything else of rank ≥ 2
    // by its row hashes.
    let carried = |state: &Bytes, c: usize, count: usize| -> anyhow::Result<Bytes> {
        let reads: Vec<u32> = (c..c + count)
            .flat_map(|i| match links[i].as_slice() {
                [] => vec![INPUT_TAG | i as u32],
                ins => ins.iter().map(|&j| j as u32).collect(),
            })
            .collect();
        let open = |tag: u32| reads.contains(&tag).then_some((0, usize::MAX));
        Ok(Bytes::from(jobs::carry(state, open)?))
    };
    let mut states: Vec<Bytes> = vec![initial.clone()];
    // Per layer: its gas alone when it fits a step, else its slices.
    let mut alone: Vec<Option<u64>> = Vec::with_capacity(layer_count);
    let mut sliced: Vec<Vec<StepPlan>> = Vec::with_capacity(layer_count);
    // What a step may use before its own overhead: the budget less the margin.
    let room = |end: usize, final_len: usize| {
        let result_gas = if end == layer_count {
            (final_len as u64).div_ceil(32) * RESULT_WORD_GAS + RESULT_WORD_GAS + 5_000
        } else {
            0
        };
        (budget * 100 / (100 + MARGIN_PERCENT)).saturating_sub(STEP_OVERHEAD + result_gas)
    };
    for c in 0..layer_count {
        // A layer whose step would carry more bytes than a transaction may goes in slices
        // straight away; else its gas alone, estimated on what the step sends (a layer over the
        // budget fails here, once), decides.
        let sent = carried(&states[c], c, 1)?;
        let fits_bytes = tx_bytes(sent.len(), false) <= limits.bytes;
        let need = if fits_bytes {
            estimate(Bytes::from(advance(c, &sent, 1).abi_encode())).await
        } else {
            None
        };
        // The estimate ran it; the state after it is one more run, capped at the budget. The
        // last layer's room depends on the result it stores, known from that state.
        let whole = match need {
            Some(g) if g <= room(c + 1, states[c].len()) || c + 1 == layer_count => {
                match rpc
                    .sol_call(jobs, &advance(c, &states[c], 1), Some(budget), || {
                        format!("compute layer #{c} of {model}")
                    })
                    .await
                {
                    Ok(next) if g <= room(c + 1, next.len()) => Some((next, g)),
                    _ => None,
                }
            }
            _ => None,
        };
        match whole {
            Some((next, g)) => {
                states.push(next);
                alone.push(Some(g));
                sliced.push(Vec::new());
            }
            None => {
                let why = match need {
                    Some(g) => format!(
                        "layer #{c} of {model} needs {} gas in one step, over the {} a step may use here; ",
                        crate::units::thousands(g),
                        crate::units::thousands(room(c + 1, states[c].len()))
                    ),
                    None if !fits_bytes => format!(
                        "layer #{c} of {model} would carry {} bytes of calldata in one step, over the {} a transaction may; ",
                        crate::units::thousands(tx_bytes(sent.len(), false) as u64),
                        crate::units::thousands(limits.bytes as u64)
                    ),
                    None => String::new(),
                };
                let layer = Slicing {
                    rpc,
                    from,
                    jobs,
                    model,
                    links: &links,
                    layer: addresses[c],
                    kind: kinds[c],
                    c,
                    limits,
                };
                let planned = if is_recurrent(kinds[c]) {
                    plan_steps(&layer, &states[c], &room).await
                } else {
                    plan_slices(&layer, &states[c], &room).await
                };
                let (next, steps) = match planned {
                    Ok(done) => done,
                    // A Dense too wide even one unit a step: parts of its input rows.
                    Err(e) if kinds[c] == crate::chain::LayerKind::Dense as u16 => {
                        plan_rows(&layer, &states[c], &room).await.map_err(|r| {
                            fail(format!("{why}{e}; in parts of its input rows: {r}"))
                        })?
                    }
                    Err(e) => return Err(fail(format!("{why}{e}"))),
                };
                states.push(next);
                alone.push(None);
                sliced.push(steps);
            }
        }
    }
    let result_len = states[layer_count].len();
    let fits = |gas: u64, end: usize| gas <= room(end, result_len);

    // Whole layers, as many per step as fit (each grouping confirmed by eth_estimateGas); a
    // sliced layer is its slices. A job stopped part-way through a layer's slices resumes at
    // the slice whose state the chain committed to.
    let mut steps = Vec::new();
    let mut c = cursor0;
    let committed = existing.as_ref().map(|i| i.stateHash);
    while c < layer_count {
        let Some(one) = alone[c] else {
            let mut slices = sliced[c].clone();
            if c == cursor0
                && let Some(h) = committed
                && let Some(k) = slices
                    .iter()
                    .position(|s| s.expected_hash().is_ok_and(|x| x == h))
            {
                slices.drain(..k);
            }
            for mut s in slices {
                s.index = steps_done + steps.len();
                steps.push(s);
            }
            c += 1;
            continue;
        };
        let (mut count, mut gas) = (1, one);
        let mut sent = carried(&states[c], c, 1)?;
        while c + count < layer_count && alone[c + count].is_some() {
            let more = carried(&states[c], c, count + 1)?;
            if tx_bytes(more.len(), false) > limits.bytes {
                break;
            }
            match estimate(Bytes::from(advance(c, &more, count + 1).abi_encode())).await {
                Some(g) if fits(g, c + count + 1) => {
                    count += 1;
                    gas = g;
                    sent = more;
                }
                _ => break,
            }
        }
        steps.push(StepPlan {
            index: steps_done + steps.len(),
            cursor: c,
            count,
            slice: None,
            channels: None,
            rows: None,
            sums: Vec::new(),
            estimate: gas,
            gas_limit: with_margin(
                gas + STEP_OVERHEAD + result_gas_at(c + count, layer_count, result_len),
            )
            .min(budget),
            state: states[c].clone(),
            carried: sent,
        });
        c += count;
    }
    let start = if existing.is_none() {
        // The input packed (8 bytes a value) when it fits the transaction, else every entry of
        // rank ≥ 2 by its row hashes (32 bytes a row): the steps that read it carry its rows.
        let start_call = |state: Vec<u8>| {
            Bytes::from(
                EternalJobs::startJobStateCall {
                    model,
                    salt,
                    state: state.into(),
                }
                .abi_encode(),
            )
        };
        let mut data = start_call(initial.to_vec());
        let mut form = "the input packed";
        if data.len() > limits.bytes {
            data = start_call(jobs::carry(&initial, |_| None)?);
            form = "the input by its row hashes";
        }
        if data.len() > limits.bytes {
            anyhow::bail!(
                "startJob on {model} would carry {} bytes of calldata ({form}), over the {} a transaction may (--max-tx-bytes)",
                crate::units::thousands(data.len() as u64),
                crate::units::thousands(limits.bytes as u64)
            );
        }
        let gas = rpc
            .estimate_gas(from, jobs, &data)
            .await
            .map_err(|e| fail(format!("startJob on {model} would fail: {}", e.message())))?;
        if gas > budget {
            anyhow::bail!(
                "startJob on {model} needs {} gas ({form}), over the {} a transaction may",
                crate::units::thousands(gas),
                crate::units::thousands(budget)
            );
        }
        Some((
            Call {
                to: jobs,
                data,
                value: U256::ZERO,
            },
            with_margin(gas).min(budget),
        ))
    } else {
        None
    };
    Ok(JobPlan {
        jobs,
        model,
        job_id,
        start,
        steps,
        layer_count,
        steps_done,
        same_as: None,
    })
}

/// The `step` (or `stepSlice`) transaction of a planned step.
pub fn step_call(plan: &JobPlan, s: &StepPlan) -> Call {
    let data = match (s.slice, s.rows) {
        (Some(units), Some(rows)) => {
            let (from, count) = part_words(units, rows);
            EternalJobs::stepRowsCall {
                jobId: plan.job_id,
                stepIndex: U256::from(s.index),
                state: s.carried.clone(),
                carried: int_words(&s.sums),
                from,
                count,
            }
            .abi_encode()
        }
        (None, _) => EternalJobs::stepCall {
            jobId: plan.job_id,
            stepIndex: U256::from(s.index),
            state: s.carried.clone(),
            count: U256::from(s.count),
        }
        .abi_encode(),
        (Some((from, count)), None) => {
            let (from, count) = slice_words(from, count, s.channels);
            EternalJobs::stepSliceCall {
                jobId: plan.job_id,
                stepIndex: U256::from(s.index),
                state: s.carried.clone(),
                from,
                count,
            }
            .abi_encode()
        }
    };
    Call {
        to: plan.jobs,
        data: data.into(),
        value: U256::ZERO,
    }
}

/// Gas of storing the result when a step ends at layer `end` (the last one).
fn result_gas_at(end: usize, layer_count: usize, result_len: usize) -> u64 {
    if end == layer_count {
        (result_len as u64).div_ceil(32) * RESULT_WORD_GAS + RESULT_WORD_GAS + 5_000
    } else {
        0
    }
}

/// One layer to plan in slices: where it is and what each transaction may use.
struct Slicing<'a> {
    rpc: &'a Rpc,
    from: Address,
    jobs: Address,
    model: Address,
    links: &'a [Vec<usize>],
    /// The layer's clone (its `sliceInput`).
    layer: Address,
    /// Its `LayerKind` code.
    kind: u16,
    c: usize,
    limits: TxBudget,
}

impl Slicing<'_> {
    /// The layer's `configData()`.
    async fn config(&self) -> Result<Bytes, ChainError> {
        let c = self.c;
        self.rpc
            .sol_call(
                self.layer,
                &crate::chain::bindings::ILayer::configDataCall {},
                None,
                || format!("read the config of layer #{c}"),
            )
            .await
    }
}

/// The slices of layer `c` on `state`, each step's gas within `room(end, result bytes)` and its
/// calldata within the byte budget, and the state after the last. Each slice sends its input's
/// rows the layer's `sliceInput` names, every other tensor of rank ≥ 2 (the partial output
/// too) by its row hashes. Sizes: `eth_estimateGas` of one and two positions gives the gas of
/// the first and of each one more; each slice is as large as that and the bytes allow,
/// confirmed by an `eth_call` given only the gas a step may use (fewer positions until it runs:
/// one execution, where an estimate costs several). Each next state is rebuilt here from the
/// slice the chain returns (`advanceSlice`) and checked against the commitment the chain
/// computed.
async fn plan_slices(
    l: &Slicing<'_>,
    state: &Bytes,
    room: &impl Fn(usize, usize) -> u64,
) -> anyhow::Result<(Bytes, Vec<StepPlan>)> {
    let (rpc, c, model, budget) = (l.rpc, l.c, l.model, l.limits.gas);
    let too_big = |what: String| cannot_run(c, model, what);
    let call = |state: &Bytes, at: usize, count: usize| EternalJobs::advanceSliceCall {
        model,
        cursor: U256::from(c),
        state: state.clone(),
        from: U256::from(at),
        count: U256::from(count),
    };
    let gas_of = |state: &Bytes, at: usize, count: usize| {
        let data = Bytes::from(call(state, at, count).abi_encode());
        async move { rpc.estimate_gas(l.from, l.jobs, &data).await }
    };
    // The tensors the layer reads (an InputLayer: the model input it takes); a slice reads the
    // same rows of each (several only for the row-local merges).
    let input_tags: Vec<u32> = match l.links[c].as_slice() {
        [] => vec![jobs::INPUT_TAG | c as u32],
        ins => ins.iter().map(|&j| j as u32).collect(),
    };
    let entries = jobs::decode(state)?;
    let (mut shapes, mut ranks) = (Vec::new(), Vec::new());
    for &tag in &input_tags {
        let input = entries
            .iter()
            .find(|e| e.tag == tag)
            .ok_or_else(|| too_big(format!("its input (tensor {tag}) is not in the state")))?;
        shapes.extend(input.shape.iter().map(|&d| U256::from(d)));
        ranks.push(U256::from(input.shape.len()));
    }
    // The layer's own answer for positions [at, at + count): the axis length and the input
    // rows they read, `last`'s high bits `WHOLE_REST` (MultiHeadAttention: the rows are the
    // query's, the value and key are read whole).
    let ask = |at: usize, count: usize| {
        let q = ISliceableLayer::sliceInputCall {
            shapes: shapes.clone(),
            ranks: ranks.clone(),
            from: U256::from(at),
            count: U256::from(count),
        };
        async move {
            rpc.sol_call(l.layer, &q, None, || {
                format!("ask layer #{c} which rows a slice reads")
            })
            .await
            .map_err(|e| match e.revert() {
                // No `sliceInput` at all: a kind never cut (Flatten, the recurrent layers…).
                Some(Revert::Other(data)) if data.is_empty() => {
                    too_big("a layer of its kind is never cut into slices".into())
                }
                _ => too_big(e.to_string()),
            })
        }
    };
    let rows = |r: &ISliceableLayer::sliceInputReturn| {
        let last = r.last & U256::from(u128::MAX);
        (
            r.length.to::<usize>(),
            r.first.to::<usize>(),
            last.to::<usize>(),
        )
    };
    let rows_read = |at: usize, count: usize| {
        let answer = ask(at, count);
        async move { answer.await.map(|r| rows(&r)) }
    };
    let first = ask(0, 1).await?;
    let whole_rest = first.last >> 128 != U256::ZERO;
    let (length, f1, l1) = rows(&first);
    // The inputs' rows [first, last) open (with `whole_rest`, the first input's, the others
    // whole: a self-attention's one tensor whole), a Conv2D row's channel block (if any) whole.
    let carry = |state: &Bytes, first: usize, last: usize| -> anyhow::Result<Bytes> {
        let open = |tag: u32| {
            if tag & jobs::BLOCK_TAG != 0 || (whole_rest && input_tags[1..].contains(&tag)) {
                return Some((0, usize::MAX));
            }
            input_tags.contains(&tag).then_some((first, last))
        };
        Ok(Bytes::from(jobs::carry(state, open)?))
    };
    let mut state = state.clone();
    let mut steps = Vec::new();
    let mut at = 0usize;
    // The gas of the layer's first position and of each one more (from the first slices).
    let (mut one, mut per) = (0u64, 1u64);
    loop {
        // The final state is not known yet: price the result (if this is the last layer) at
        // the state's length now, which the rest of the layer only grows a little.
        let limit = room(c + 1, state.len());
        if at == 0 {
            let sent = carry(&state, f1, l1)?;
            let bytes = tx_bytes(sent.len(), true);
            if bytes > l.limits.bytes {
                return Err(too_big(format!(
                    "one position of its first axis carries {} bytes of calldata (input rows {f1}..{l1}), over the {} a transaction may",
                    crate::units::thousands(bytes as u64),
                    crate::units::thousands(l.limits.bytes as u64)
                )));
            }
            let row = gas_of(&sent, 0, 1).await;
            if l.kind == CONV_2D && !matches!(row, Ok(g) if g <= limit) {
                // One output row is too much: every row in blocks of its output channels.
                let row = row.ok();
                return plan_blocks(l, state, 0, limit, length, row, &rows_read, &carry).await;
            }
            one = row.map_err(|e| too_big(format!("it cannot run in slices ({})", e.message())))?;
            if one > limit {
                return Err(too_big(format!(
                    "one position of its first axis needs {} gas in one step, over the {} a step may use",
                    crate::units::thousands(one),
                    crate::units::thousands(limit)
                )));
            }
            if length > 1 {
                let (_, f2, l2) = rows_read(0, 2).await?;
                let two = gas_of(&carry(&state, f2, l2)?, 0, 2)
                    .await
                    .unwrap_or(u64::MAX);
                per = two.saturating_sub(one).max(1);
            }
        }
        let mut count = match limit.checked_sub(one) {
            Some(spare) => (spare / per) as usize + 1,
            None => 1,
        }
        .min(length - at);
        // Within the bytes: fewer positions until the rows they read fit.
        let mut sent = loop {
            let (_, first, last) = rows_read(at, count).await?;
            let sent = carry(&state, first, last)?;
            let bytes = tx_bytes(sent.len(), true);
            if bytes <= l.limits.bytes {
                break sent;
            }
            if count == 1 {
                return Err(too_big(format!(
                    "position {at} of its first axis carries {} bytes of calldata (input rows {first}..{last}), over the {} a transaction may",
                    crate::units::thousands(bytes as u64),
                    crate::units::thousands(l.limits.bytes as u64)
                )));
            }
            count -= (count / 8).max(1);
        };
        // Confirmed by the chain: an eth_call with the gas a step may use runs the slice (else
        // fewer positions), so the step itself, with its storage, fits the gas limit below.
        let answer = loop {
            match rpc
                .sol_call(l.jobs, &call(&sent, at, count), Some(limit), || {
                    format!("compute a slice of layer #{c}")
                })
                .await
            {
                Ok(a) => break a,
                Err(_) if count > 1 => {
                    count -= (count / 8).max(1);
                    let (_, first, last) = rows_read(at, count).await?;
                    sent = carry(&state, first, last)?;
                }
                Err(_) if l.kind == CONV_2D => {
                    // This row alone is too much (rows differ: the input rows they read, the
                    // partial output before them): it and the rest in channel blocks.
                    let (next, more) =
                        plan_blocks(l, state, at, limit, length, None, &rows_read, &carry).await?;
                    steps.extend(more);
                    return Ok((next, steps));
                }
                Err(e) => {
                    return Err(too_big(over_step(
                        format!("position {at} does not run"),
                        limit,
                        &e,
                    )));
                }
            }
        };
        let gas = (one + per * (count as u64 - 1)).min(limit);
        let complete = at + count == length;
        let next = next_slice_state(l.links, c, &state, &answer.part, complete, false)
            .map_err(|e| fail(format!("layer #{c}: {e}")))?;
        if jobs::commitment(&next)? != answer.nextHash {
            anyhow::bail!(
                "layer #{c} of {model}: the state rebuilt after positions {at}..{} differs from the chain's",
                at + count
            );
        }
        steps.push(StepPlan {
            index: 0,
            cursor: c,
            count: 1,
            slice: Some((at, count)),
            channels: None,
            rows: None,
            sums: Vec::new(),
            estimate: gas,
            gas_limit: with_margin(limit + STEP_OVERHEAD).min(budget),
            state: state.clone(),
            carried: sent,
        });
        state = Bytes::from(next);
        at += count;
        if complete {
            return Ok((state, steps));
        }
    }
}

/// The slices of Conv2D layer `c` from output row `at0` on (one output row over the gas a step
/// may use) in blocks of its output channels: per row, blocks of `⌈filters / b⌉` channels for the fewest `b` whose
/// first block `eth_estimateGas` puts within `limit`, each block confirmed by an `eth_call` given
/// `limit` gas and its next state rebuilt from the chain's answer and checked against the
/// commitment the chain computed (as `plan_slices`).
#[allow(clippy::too_many_arguments)]
async fn plan_blocks<R, RF, K>(
    l: &Slicing<'_>,
    state: Bytes,
    at0: usize,
    limit: u64,
    length: usize,
    row_gas: Option<u64>,
    rows_read: &R,
    carry: &K,
) -> anyhow::Result<(Bytes, Vec<StepPlan>)>
where
    R: Fn(usize, usize) -> RF,
    RF: std::future::Future<Output = anyhow::Result<(usize, usize, usize)>>,
    K: Fn(&Bytes, usize, usize) -> anyhow::Result<Bytes>,
{
    let (rpc, c, model, budget) = (l.rpc, l.c, l.model, l.limits.gas);
    let too_big = |what: String| cannot_run(c, model, what);
    let of = rpc
        .sol_call(l.layer, &IConv2DFilters::configCall {}, None, || {
            format!("read the filters of layer #{c}")
        })
        .await
        .map_err(|e| too_big(e.to_string()))?
        .filters
        .to::<usize>();
    let call = |state: &Bytes, at: usize, ch: Channels| {
        let (from, count) = slice_words(at, 1, Some(ch));
        EternalJobs::advanceSliceCall {
            model,
            cursor: U256::from(c),
            state: state.clone(),
            from,
            count,
        }
    };
    let bytes_ok = |sent: &Bytes, at: usize| {
        let bytes = tx_bytes(sent.len(), true);
        if bytes > l.limits.bytes {
            return Err(too_big(format!(
                "a channel block of output row {at} carries {} bytes of calldata, over the {} a transaction may",
                crate::units::thousands(bytes as u64),
                crate::units::thousands(l.limits.bytes as u64)
            )));
        }
        Ok(())
    };
    // The fewest blocks a row whose first block fits (a tenth of room for the other rows).
    let (_, f1, l1) = rows_read(at0, 1).await?;
    let sent = carry(&state, f1, l1)?;
    bytes_ok(&sent, at0)?;
    let target = limit - limit / 10;
    let mut blocks = row_gas
        .map_or(2, |g| g.div_ceil(target).max(2) as usize)
        .min(of);
    let block_gas = loop {
        let ch = Channels {
            first: 0,
            count: of.div_ceil(blocks),
            of,
        };
        let data = Bytes::from(call(&sent, at0, ch).abi_encode());
        match rpc.estimate_gas(l.from, l.jobs, &data).await {
            Ok(g) if g <= target => break g,
            _ if blocks < of => blocks = (blocks + 1).max(blocks * 5 / 4).min(of),
            Ok(g) => {
                return Err(too_big(format!(
                    "one output channel of one row needs {} gas in one step, over the {} a step may use",
                    crate::units::thousands(g),
                    crate::units::thousands(limit)
                )));
            }
            Err(e) => {
                return Err(too_big(format!(
                    "one output channel of one row does not run: {}",
                    e.message()
                )));
            }
        }
    };
    let k = of.div_ceil(blocks);
    let mut state = state;
    let mut steps = Vec::new();
    for at in at0..length {
        let (_, first, last) = rows_read(at, 1).await?;
        let mut f0 = 0;
        while f0 < of {
            let sent = carry(&state, first, last)?;
            bytes_ok(&sent, at)?;
            // Confirmed by an eth_call given the gas a step may use; fewer channels until it
            // runs (rows differ: the input rows they read, the partial output before them).
            let mut count = k.min(of - f0);
            let (answer, ch) = loop {
                let ch = Channels {
                    first: f0,
                    count,
                    of,
                };
                match rpc
                    .sol_call(l.jobs, &call(&sent, at, ch), Some(limit), || {
                        format!("compute a channel block of layer #{c}")
                    })
                    .await
                {
                    Ok(a) => break (a, ch),
                    Err(_) if count > 1 => count -= (count / 4).max(1),
                    Err(e) => {
                        return Err(too_big(over_step(
                            format!("output row {at}, channel {f0}, does not run"),
                            limit,
                            &e,
                        )));
                    }
                }
            };
            let complete = ch.last() && at + 1 == length;
            let next = next_slice_state(l.links, c, &state, &answer.part, complete, !ch.last())
                .map_err(|e| fail(format!("layer #{c}: {e}")))?;
            if jobs::commitment(&next)? != answer.nextHash {
                anyhow::bail!(
                    "layer #{c} of {model}: the state rebuilt after row {at}, channels {}..{}, differs from the chain's",
                    ch.first,
                    ch.first + ch.count
                );
            }
            steps.push(StepPlan {
                index: 0,
                cursor: c,
                count: 1,
                slice: Some((at, 1)),
                channels: Some(ch),
                rows: None,
                sums: Vec::new(),
                estimate: block_gas,
                gas_limit: with_margin(limit + STEP_OVERHEAD).min(budget),
                state: state.clone(),
                carried: sent,
            });
            state = Bytes::from(next);
            f0 += ch.count;
        }
    }
    Ok((state, steps))
}

/// The row parts of Dense layer `c` on `state` (`EternalJobs.stepRows`), for a Dense whose
/// every unit reads more kernel rows than a step can: blocks of units (all of them when one
/// input row of all fits a step, else halved until it does; all under softmax), each over parts
/// of the input rows carrying the units' partial sums; each part as many rows as the gas of one
/// and two rows (`eth_estimateGas` of `advanceRows`) leaves room for, confirmed by an `eth_call`
/// given only the gas a step may use (fewer rows until it runs). Each part's commitment is
/// recomputed here and checked against the chain's, and the last part's units are appended as a
/// slice's are (`next_slice_state`). Returns the state after the layer and the steps.
async fn plan_rows(
    l: &Slicing<'_>,
    state: &Bytes,
    room: &impl Fn(usize, usize) -> u64,
) -> anyhow::Result<(Bytes, Vec<StepPlan>)> {
    let (rpc, c, model, budget) = (l.rpc, l.c, l.model, l.limits.gas);
    let too_big = |what: String| cannot_run(c, model, what);
    let config = l.config().await.map_err(|e| too_big(e.to_string()))?;
    let (activation, units, inputs, _) = <(U256, U256, U256, bool)>::abi_decode(&config)
        .map_err(|e| too_big(format!("its Dense config does not decode: {e}")))?;
    let activation = activation.saturating_to::<u8>();
    let (units, n) = (
        units.saturating_to::<usize>(),
        inputs.saturating_to::<usize>(),
    );
    let softmax = activation == crate::infer::plan::activation::SOFTMAX
        || activation == crate::infer::plan::activation::LOG_SOFTMAX;
    let input = match l.links[c].as_slice() {
        [j] => *j as u32,
        _ => return Err(too_big("a Dense reads one input".into())),
    };
    let entries = jobs::decode(state)?;
    match entries.iter().find(|e| e.tag == input) {
        Some(e) if e.shape == [n] => {}
        _ => {
            return Err(too_big(format!(
                "its input (tensor {input}) is not a vector of {n} values in the state"
            )));
        }
    }
    if n < 2 {
        return Err(too_big("one input row cannot be cut".into()));
    }
    // Rank-1 tensors travel open; the rest of rank ≥ 2 by their row hashes.
    let sent =
        |state: &Bytes| -> anyhow::Result<Bytes> { Ok(Bytes::from(jobs::carry(state, |_| None)?)) };
    let call =
        |state: &Bytes, sums: &[i128], from: usize, count: usize, first: usize, rows: usize| {
            let (from, count) = part_words((from, count), (first, rows));
            EternalJobs::advanceRowsCall {
                model,
                cursor: U256::from(c),
                state: state.clone(),
                carried: int_words(sums),
                from,
                count,
            }
        };
    let gas_of = |state: &Bytes, count: usize, rows: usize| {
        let data = Bytes::from(call(state, &[], 0, count, 0, rows).abi_encode());
        async move { rpc.estimate_gas(l.from, l.jobs, &data).await }
    };
    // The state after the layer, whose length prices the result when the layer is the last:
    // what stays live, and the layer's output.
    let after = {
        let mut live: Vec<Entry> = entries
            .iter()
            .filter(|e| still_live(l.links, e.tag, c + 1))
            .cloned()
            .collect();
        live.push(jobs::entry(c as u32, &[units], &vec![0; units])?);
        jobs::encode(&live)?.len()
    };
    let limit = room(c + 1, after);
    let mut state = state.clone();
    // The widest block whose one row fits; its gas per more row.
    let mut cc = units;
    let (one, per) = loop {
        let s = sent(&state)?;
        match gas_of(&s, cc, 1).await {
            Ok(one) if one <= limit => {
                let two = gas_of(&s, cc, 2).await.unwrap_or(u64::MAX);
                break (one, two.saturating_sub(one).max(1));
            }
            r if softmax || cc == 1 => {
                let why = match r {
                    Ok(g) => format!("{} gas", crate::units::thousands(g)),
                    Err(e) => e.message(),
                };
                return Err(too_big(format!(
                    "one input row of {cc} unit(s) does not fit the {} gas a step may use ({why})",
                    crate::units::thousands(limit)
                )));
            }
            _ => cc = cc.div_ceil(2),
        }
    };
    let mut steps = Vec::new();
    let mut from = 0;
    while from < units {
        let count = cc.min(units - from);
        let (mut first, mut sums) = (0usize, Vec::<i128>::new());
        loop {
            // The carried sums cost calldata and their addition: a part after the first is
            // priced a little higher.
            let spare = limit.saturating_sub(one + 40 * sums.len() as u64);
            let mut rows = ((spare / per) as usize + 1).min(n - first);
            let s = sent(&state)?;
            let answer = loop {
                match rpc
                    .sol_call(
                        l.jobs,
                        &call(&s, &sums, from, count, first, rows),
                        Some(limit),
                        || format!("compute a row part of layer #{c}"),
                    )
                    .await
                {
                    Ok(a) => break a,
                    Err(_) if rows > 1 => rows -= (rows / 8).max(1),
                    Err(e) => {
                        return Err(too_big(over_step(
                            format!("units {from}.. rows {first}.. do not run"),
                            limit,
                            &e,
                        )));
                    }
                }
            };
            let commit = jobs::commitment(&state)?;
            let expected = if first == 0 {
                commit
            } else {
                rows_hash(commit, &sums, from, first)
            };
            let step = StepPlan {
                index: 0,
                cursor: c,
                count: 1,
                slice: Some((from, count)),
                channels: None,
                rows: Some((first, rows)),
                sums: sums.clone(),
                estimate: (one + per * (rows as u64 - 1)).min(limit),
                gas_limit: with_margin(limit + STEP_OVERHEAD).min(budget),
                state: state.clone(),
                carried: s,
            };
            if step.expected_hash()? != expected {
                anyhow::bail!("layer #{c}: a row part's commitment was not rebuilt");
            }
            steps.push(step);
            first += rows;
            if first < n {
                sums = carried_values(&answer.sums)
                    .map_err(|_| too_big("a partial sum is beyond int128".into()))?;
                if rows_hash(commit, &sums, from, first) != answer.nextHash {
                    anyhow::bail!(
                        "layer #{c} of {model}: the commitment after input rows ..{first} of units {from}..{} differs from the chain's",
                        from + count
                    );
                }
                continue;
            }
            let complete = from + count == units;
            let next = next_slice_state(l.links, c, &state, &answer.part, complete, false)
                .map_err(|e| fail(format!("layer #{c}: {e}")))?;
            if jobs::commitment(&next)? != answer.nextHash {
                anyhow::bail!(
                    "layer #{c} of {model}: the state rebuilt after units {from}..{} differs from the chain's",
                    from + count
                );
            }
            state = Bytes::from(next);
            break;
        }
        from += count;
    }
    Ok((state, steps))
}

/// Whether layer kind `kind` is SimpleRNN, LSTM, GRU or Bidirectional: cut by time steps
/// (`plan_steps`).
fn is_recurrent(kind: u16) -> bool {
    use crate::chain::LayerKind;
    matches!(
        LayerKind::from_code(kind),
        Some(LayerKind::SimpleRnn | LayerKind::Lstm | LayerKind::Gru | LayerKind::Bidirectional)
    )
}

/// The time-step parts of recurrent layer `c` (SimpleRNN, LSTM, GRU; forwards or backwards)
/// on `state` (`EternalJobs.stepRows`): consecutive steps in reading order, each part given the
/// carry the one before returned (h, and an LSTM's cell state) as a Dense's row part is given
/// its sums; a layer returning its sequence appends each part's steps as a slice does, one
/// returning its last h appends it at the last part. A Bidirectional's parts run the forward
/// direction's steps, then the backward's (never both in one part), carrying the directions'
/// outputs too, and its last part appends the merged output
/// (`BidirectionalLayer._jobPart`). Each part is as many steps as the gas of
/// one and two steps (`eth_estimateGas` of `advanceRows`) leaves room for, confirmed by an
/// `eth_call` given only the gas a step may use (fewer steps until it runs); each commitment is
/// rebuilt here and checked against the chain's. Returns the state after the layer and the
/// steps.
async fn plan_steps(
    l: &Slicing<'_>,
    state: &Bytes,
    room: &impl Fn(usize, usize) -> u64,
) -> anyhow::Result<(Bytes, Vec<StepPlan>)> {
    use crate::chain::LayerKind;
    let (rpc, c, model, budget) = (l.rpc, l.c, l.model, l.limits.gas);
    let too_big = |what: String| cannot_run(c, model, what);
    let config = l.config().await.map_err(|e| too_big(e.to_string()))?;
    // A Bidirectional: (uint16 kind, uint8 mergeMode, bytes forward, bytes backward).
    let bidirectional = l.kind == LayerKind::Bidirectional as u16;
    let (kind, merge, config) = if bidirectional {
        let (kind, merge, forward, _) = <(U256, U256, Bytes, Bytes)>::abi_decode_params(&config)
            .map_err(|e| too_big(format!("its Bidirectional config does not decode: {e}")))?;
        (kind.saturating_to::<u16>(), merge, forward)
    } else {
        (l.kind, U256::ZERO, config)
    };
    // RecurrentBase.Cell's encodings: units and returnSequences by kind, one more word when
    // go_backwards.
    let (units_at, sequences_at) = match LayerKind::from_code(kind) {
        Some(LayerKind::SimpleRnn) => (1, 3),
        Some(LayerKind::Lstm) => (2, 4),
        _ => (2, 5),
    };
    let word = |i: usize| {
        config
            .get(32 * i..32 * i + 32)
            .map(|w| U256::from_be_slice(w).saturating_to::<usize>())
            .ok_or_else(|| too_big(format!("its config has {} bytes", config.len())))
    };
    let (units, sequences) = (word(units_at)?, word(sequences_at)? == 1);
    let backwards = !bidirectional && config.len() == 32 * (sequences_at + 2);
    let input = match l.links[c].as_slice() {
        [j] => *j as u32,
        _ => return Err(too_big("a recurrent layer reads one input".into())),
    };
    let entries = jobs::decode(state)?;
    let n = match entries.iter().find(|e| e.tag == input) {
        Some(e) if e.shape.len() == 2 => e.shape[0],
        _ => {
            return Err(too_big(format!(
                "its input (tensor {input}) is not a [steps, features] sequence in the state"
            )));
        }
    };
    // A Bidirectional's width, and its positions: both directions' steps.
    let width = if bidirectional && merge.is_zero() {
        2 * units
    } else {
        units
    };
    let total = if bidirectional { 2 * n } else { n };
    // The output positions a part names (`RecurrentBase._partSteps`): its steps, or every unit
    // of the last h; a Bidirectional's, the whole output (`BidirectionalLayer._part`).
    let positions = |first: usize, steps: usize| match (bidirectional, sequences) {
        (false, true) => (first, steps),
        (false, false) => (0, units),
        (true, true) => (0, n),
        (true, false) => (0, width),
    };
    // The input rows the steps read open, everything else of rank ≥ 2 by its row hashes.
    let sent = |state: &Bytes, first: usize, steps: usize| -> anyhow::Result<Bytes> {
        let rows = if backwards || first >= n {
            let s = first % n;
            (n - s - steps, n - s)
        } else {
            (first, first + steps)
        };
        Ok(Bytes::from(jobs::carry(state, |t| {
            (t == input).then_some(rows)
        })?))
    };
    let call = |state: &Bytes, carry: &[i128], first: usize, steps: usize| {
        let (from, count) = part_words(positions(first, steps), (first, steps));
        EternalJobs::advanceRowsCall {
            model,
            cursor: U256::from(c),
            state: state.clone(),
            carried: int_words(carry),
            from,
            count,
        }
    };
    let gas_of = |state: &Bytes, steps: usize| {
        let data = Bytes::from(call(&sent(state, 0, steps)?, &[], 0, steps).abi_encode());
        anyhow::Ok(async move { rpc.estimate_gas(l.from, l.jobs, &data).await })
    };
    // The state after the layer, whose length prices the result when the layer is the last.
    let after = {
        let mut live: Vec<Entry> = entries
            .iter()
            .filter(|e| still_live(l.links, e.tag, c + 1))
            .cloned()
            .collect();
        let shape = if sequences {
            vec![n, width]
        } else {
            vec![width]
        };
        live.push(jobs::entry(
            c as u32,
            &shape,
            &vec![0; shape.iter().product()],
        )?);
        jobs::encode(&live)?.len()
    };
    let limit = room(c + 1, after);
    let one = match gas_of(state, 1)?.await {
        Ok(g) if g <= limit => g,
        r => {
            let why = match r {
                Ok(g) => format!("{} gas", crate::units::thousands(g)),
                Err(e) => e.message(),
            };
            return Err(too_big(format!(
                "one time step does not fit the {} gas a step may use ({why})",
                crate::units::thousands(limit)
            )));
        }
    };
    let per = match n {
        1 => 1,
        _ => gas_of(state, 2)?
            .await
            .unwrap_or(u64::MAX)
            .saturating_sub(one)
            .max(1),
    };
    let mut state = state.clone();
    let (mut first, mut carry) = (0usize, Vec::<i128>::new());
    let mut steps = Vec::new();
    while first < total {
        // The carry costs calldata: a part after the first is priced a little higher. A
        // Bidirectional's part stays within its direction.
        let spare = limit.saturating_sub(one + 40 * carry.len() as u64);
        let boundary = if first < n { n } else { total };
        let mut count = ((spare / per) as usize + 1).min(boundary - first);
        let answer = loop {
            let s = sent(&state, first, count)?;
            match rpc
                .sol_call(l.jobs, &call(&s, &carry, first, count), Some(limit), || {
                    format!("compute time steps of layer #{c}")
                })
                .await
            {
                Ok(a) => break (a, s),
                Err(_) if count > 1 => count -= (count / 8).max(1),
                Err(e) => {
                    return Err(too_big(over_step(
                        format!("time steps {first}.. do not run"),
                        limit,
                        &e,
                    )));
                }
            }
        };
        let (answer, s) = answer;
        let step = StepPlan {
            index: 0,
            cursor: c,
            count: 1,
            slice: Some(positions(first, count)),
            channels: None,
            rows: Some((first, count)),
            sums: carry.clone(),
            estimate: (one + per * (count as u64 - 1)).min(limit),
            gas_limit: with_margin(limit + STEP_OVERHEAD).min(budget),
            state: state.clone(),
            carried: s,
        };
        steps.push(step);
        let end = first + count;
        let next = if answer.part.is_empty() {
            state.to_vec()
        } else {
            next_slice_state(l.links, c, &state, &answer.part, end == total, false)
                .map_err(|e| fail(format!("layer #{c}: {e}")))?
        };
        let commit = jobs::commitment(&next)?;
        let expected = if end < total {
            carry = carried_values(&answer.sums)
                .map_err(|_| too_big("a carried value is beyond int128".into()))?;
            if carry.is_empty() {
                return Err(too_big(format!(
                    "time steps {first}..{end} carried nothing on"
                )));
            }
            let done = if sequences && !bidirectional { end } else { 0 };
            rows_hash(commit, &carry, done, end)
        } else {
            commit
        };
        if expected != answer.nextHash {
            anyhow::bail!(
                "layer #{c} of {model}: the commitment after time steps ..{end} differs from the chain's"
            );
        }
        state = Bytes::from(next);
        first = end;
    }
    Ok((state, steps))
}

/// The state after a slice of layer `c`: `part` (one entry, the slice's positions) appended to
/// the partial entry at the end of `state` (or a new one, tagged `PARTIAL_TAG | c`); when the
/// layer is `complete`, the entry becomes its output and what no later layer reads is dropped
/// — as `EternalJobs.stepSlice` does. A Conv2D channel block: `part` is its row so far (the
/// channels before it and its own, `[1, ow, channels]`); when it does not complete the row
/// (`block`), it replaces the state's channel-block entry (`PARTIAL_TAG | BLOCK_TAG | c`), else
/// it is the whole row and the channel-block entry goes.
pub fn next_slice_state(
    links: &[Vec<usize>],
    c: usize,
    state: &[u8],
    part: &[u8],
    complete: bool,
    block: bool,
) -> Result<Vec<u8>, jobs::StateError> {
    let mut entries = jobs::decode(state)?;
    let mut part = jobs::decode(part)?
        .pop()
        .ok_or(jobs::StateError::Malformed(0))?;
    if entries.last().is_some_and(|e| e.tag & jobs::BLOCK_TAG != 0) {
        entries.pop();
    }
    if block {
        part.tag = jobs::PARTIAL_TAG | jobs::BLOCK_TAG | c as u32;
        entries.push(part);
        return jobs::encode(&entries);
    }
    let partial = jobs::PARTIAL_TAG | c as u32;
    match entries.last_mut() {
        Some(last) if last.tag == partial => {
            let first = part.shape.first().copied().unwrap_or(0);
            if let Some(d) = last.shape.first_mut() {
                *d += first;
            }
            last.values.append(&mut part.values);
        }
        _ => {
            part.tag = partial;
            entries.push(part);
        }
    }
    if complete {
        if let Some(last) = entries.last_mut() {
            last.tag = c as u32;
        }
        entries.retain(|e| still_live(links, e.tag, c + 1));
    }
    jobs::encode(&entries)
}

// ------------------------------------------------------------------ sending

/// What a job run sent and what it cost.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub transactions: usize,
    pub gas_used: u64,
    pub largest: u64,
    /// Each transaction's gas, in the order sent.
    pub each: Vec<u64>,
    /// Fee bumps: transactions re-signed at their nonce with higher fees.
    pub bumps: usize,
}

/// How often a step still unmined is broadcast again (a node that dropped it takes it back;
/// one that still holds it answers "already known").
const RESEND_AFTER: Duration = Duration::from_secs(30);

/// One job transaction being sent: its nonce, gas limit and every version signed so far (a fee
/// bump re-signs it at the same nonce; any version may be the one mined).
struct InFlight {
    nonce: u64,
    gas: u64,
    versions: Vec<B256>,
    raw: Bytes,
}

/// Signs `call` at `nonce` and broadcasts it; when the node finds the fees too low (or the
/// base fee rose past them), re-signs it at the same nonce with the deployment engine's bump
/// (`engine::run::fees::bumped`: +12.5 % and at least twice the base fee plus the tip, never
/// above the network's `max_fee_gwei`), and keeps the raised fees for the transactions after it.
async fn sign_and_send(
    rpc: &Rpc,
    signer: &PrivateKeySigner,
    signing: &mut Signing,
    cap: Option<u128>,
    call: &Call,
    tx: &mut InFlight,
    what: &str,
) -> anyhow::Result<usize> {
    let mut bumps = 0;
    use crate::engine::run::fees::{Bump, bumped};
    loop {
        let (hash, raw) = sign_call(signer, signing, call, tx.nonce, tx.gas).map_err(fail)?;
        match broadcast(rpc, &raw, what).await? {
            Broadcast::Sent => {
                tx.versions.push(hash);
                tx.raw = raw;
                return Ok(bumps);
            }
            Broadcast::Underpriced(reason) => {
                let base = rpc.latest_fees().await.ok().and_then(|(b, _)| b);
                match bumped(signing.max_fee, signing.priority, base, cap) {
                    Bump::To { max_fee, priority } => {
                        signing.max_fee = max_fee;
                        signing.priority = priority;
                        bumps += 1;
                    }
                    Bump::CapReached { cap } => anyhow::bail!(
                        "the node refused {what} as underpriced ({reason}) and the fee is at the network's cap of {cap} wei per gas (max_fee_gwei); run the same command again to continue the job"
                    ),
                }
            }
        }
    }
}

/// Sends `calls` (call, gas limit) pipelined: signed up front at consecutive nonces from the
/// account's pending nonce, broadcast in order, then every receipt awaited. A transaction the
/// node refuses as underpriced is re-signed with higher fees at the same nonce; one still
/// unmined is broadcast again every [`RESEND_AFTER`] (a node that dropped it takes it back),
/// and bumped when the node then finds it underpriced. A reverted or missing transaction is an
/// error naming it (and, for a revert, the contract's reason).
pub async fn send_pipelined(
    rpc: &Rpc,
    signer: &PrivateKeySigner,
    chain_id: u64,
    fees: &Fees,
    calls: &[(String, Call, u64)],
    timeout: Duration,
) -> anyhow::Result<Sent> {
    let from = signer.address();
    let mut nonce = rpc
        .nonce(from, "pending")
        .await
        .map_err(|e| fail(e.message()))?;
    let mut signing = Signing {
        chain_id,
        legacy: fees.legacy(),
        max_fee: fees.max_fee,
        priority: fees.priority_fee,
    };
    let mut sent_txs: Vec<InFlight> = Vec::with_capacity(calls.len());
    let mut bumps = 0;
    for (what, call, gas) in calls {
        let mut tx = InFlight {
            nonce,
            gas: *gas,
            versions: Vec::new(),
            raw: Bytes::new(),
        };
        bumps += sign_and_send(rpc, signer, &mut signing, fees.cap, call, &mut tx, what).await?;
        sent_txs.push(tx);
        nonce += 1;
        crash_hook(sent_txs.len());
    }
    let mut sent = Sent {
        bumps,
        ..Sent::default()
    };
    let deadline = Instant::now() + timeout;
    for ((what, call, _), tx) in calls.iter().zip(sent_txs.iter_mut()) {
        let mut resend_at = Instant::now() + RESEND_AFTER;
        let receipt = 'wait: loop {
            for hash in &tx.versions {
                if let Some(r) = rpc.receipt(*hash).await.map_err(|e| fail(e.message()))? {
                    break 'wait r;
                }
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "{what} ({:#x}) is not mined after {}s; run the same command again to continue",
                    tx.versions.last().copied().unwrap_or_default(),
                    timeout.as_secs()
                );
            }
            if Instant::now() > resend_at {
                resend_at = Instant::now() + RESEND_AFTER;
                if let Broadcast::Underpriced(_) = broadcast(rpc, &tx.raw, what).await? {
                    sent.bumps +=
                        sign_and_send(rpc, signer, &mut signing, fees.cap, call, tx, what).await?;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let hash = receipt.tx_hash;
        if !receipt.success {
            let why = match rpc.call_from(from, call.to, &call.data).await {
                Err(crate::chain::RpcFailure::Node { data: Some(d), .. }) => {
                    match alloy::primitives::hex::decode(d.trim_matches('"')) {
                        Ok(bytes) => Revert::decode(&bytes).to_string(),
                        Err(_) => d,
                    }
                }
                Err(e) => e.message(),
                Ok(_) => "no reason (out of gas?)".into(),
            };
            anyhow::bail!("{what} ({hash:#x}) reverted: {why}");
        }
        sent.transactions += 1;
        sent.gas_used += receipt.gas_used;
        sent.largest = sent.largest.max(receipt.gas_used);
        sent.each.push(receipt.gas_used);
    }
    Ok(sent)
}

/// What broadcasting one signed transaction came to.
enum Broadcast {
    Sent,
    /// The node finds the fees too low (its words): bump and re-sign.
    Underpriced(String),
}

/// Broadcasts one signed transaction, reading a refusal as the deployment engine does
/// (`engine::run::classify`): "already known" is as good as sent; an underpriced refusal is
/// returned for a fee bump; rate limits and transport failures are retried a few times after a
/// backoff; anything else stops the run, in the node's words (running the same command again
/// continues the job).
async fn broadcast(rpc: &Rpc, raw: &Bytes, what: &str) -> anyhow::Result<Broadcast> {
    use crate::engine::run::classify::{SendError, classify_send, refusal_text};
    let mut attempt = 0u32;
    loop {
        let e = match rpc.send_raw(raw).await {
            Ok(_) => return Ok(Broadcast::Sent),
            Err(e) => e,
        };
        match classify_send(&e) {
            SendError::AlreadyKnown => return Ok(Broadcast::Sent),
            SendError::Underpriced => return Ok(Broadcast::Underpriced(refusal_text(&e))),
            SendError::RateLimited | SendError::Transport if attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
            class => anyhow::bail!(
                "the node refused {what} ({class:?}): {}; run the same command again to continue the job",
                refusal_text(&e)
            ),
        }
    }
}

/// Waits (up to `timeout`) until no transaction of `who` is pending, so the job read next is
/// what every transaction already sent left it.
pub async fn settle(rpc: &Rpc, who: Address, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let pending = rpc
            .nonce(who, "pending")
            .await
            .map_err(|e| fail(e.message()))?;
        let latest = rpc
            .nonce(who, "latest")
            .await
            .map_err(|e| fail(e.message()))?;
        if pending <= latest {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "{} transaction(s) of {who} are still pending after {}s; wait, then run again",
                pending - latest,
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The finished job's outputs, read on chain.
pub async fn read_result(
    rpc: &Rpc,
    jobs: Address,
    job_id: U256,
) -> anyhow::Result<Vec<(Vec<usize>, Vec<i128>)>> {
    let r = rpc
        .sol_call(
            jobs,
            &EternalJobs::resultCall { jobId: job_id },
            None,
            || format!("read the result of job {job_id:#x}"),
        )
        .await
        .map_err(rpc_fail("read the job's result"))?;
    split_outputs(&r.outputs, &r.outputShapes, &r.outputRanks).map_err(fail)
}

// ------------------------------------------------------------------ the use case

/// What `predict ADDRESS --send` did: the prediction (as the call form prints it) and the jobs.
#[derive(Clone, Debug, Serialize)]
pub struct JobReport {
    #[serde(flatten)]
    pub prediction: PredictionJson,
    /// The job id (hex), one per sample.
    pub job: serde_json::Value,
    pub transactions: usize,
    pub gas_used: u64,
    /// The largest transaction's gas.
    pub largest_gas_used: u64,
}

/// The prediction's own JSON (`{"shape", "values"}` or `{"outputs"}`), kept as a value so the
/// report can carry it flattened.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct PredictionJson(pub serde_json::Map<String, serde_json::Value>);

impl std::fmt::Display for JobReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = match &self.job {
            serde_json::Value::Array(ids) => ids.iter().filter_map(|v| v.as_str()).collect(),
            v => v.as_str().into_iter().collect(),
        };
        writeln!(
            f,
            "{} {}: {} transaction(s), {} gas used (largest {})",
            if ids.len() == 1 { "job" } else { "jobs" },
            ids.join(", "),
            self.transactions,
            crate::units::thousands(self.gas_used),
            crate::units::thousands(self.largest_gas_used)
        )
    }
}

/// A planned run of every sample's job, shown before anything is sent.
pub struct Planned {
    pub plans: Vec<JobPlan>,
    pub fees: Fees,
    pub chain_id: u64,
    pub batch: usize,
    /// The job contract must be placed first (once per chain).
    pub place: Option<(Call, u64)>,
}

impl Planned {
    pub fn transactions(&self) -> usize {
        self.plans.iter().map(JobPlan::transactions).sum::<usize>()
            + usize::from(self.place.is_some())
    }

    pub fn gas_limits(&self) -> u64 {
        self.plans.iter().map(JobPlan::gas_limits).sum::<u64>()
            + self.place.as_ref().map_or(0, |(_, g)| *g)
    }

    pub fn largest(&self) -> u64 {
        self.plans
            .iter()
            .flat_map(|p| {
                p.steps
                    .iter()
                    .map(|s| s.gas_limit)
                    .chain(p.start.as_ref().map(|(_, g)| *g))
            })
            .chain(self.place.as_ref().map(|(_, g)| *g))
            .max()
            .unwrap_or(0)
    }
}

/// The plan in words: transactions, gas, cost, and the steps of each job.
impl std::fmt::Display for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.transactions() == 0 {
            let ids: Vec<String> = self
                .plans
                .iter()
                .map(|p| format!("{:#x}", p.job_id))
                .collect();
            return writeln!(
                f,
                "nothing to send: job {} is done on chain {}; reading its result",
                ids.join(", "),
                self.chain_id
            );
        }
        let cost = U256::from(self.gas_limits()) * U256::from(self.fees.expected_price());
        writeln!(
            f,
            "on-chain job(s) on chain {}: {} transaction(s), up to {} gas (largest {}), about {} at {}",
            self.chain_id,
            self.transactions(),
            crate::units::thousands(self.gas_limits()),
            crate::units::thousands(self.largest()),
            crate::units::eth(cost),
            crate::units::gwei(self.fees.expected_price()),
        )?;
        if self.place.is_some() {
            writeln!(f, "  the job contract is placed first (once per chain)")?;
        }
        for (b, p) in self.plans.iter().enumerate() {
            let layers: Vec<String> = p
                .steps
                .iter()
                .map(|s| match (s.slice, s.rows, s.channels) {
                    (None, _, _) => format!("#{}..#{}", s.cursor, s.cursor + s.count - 1),
                    (Some((at, n)), None, None) => format!("#{}[{}..{}]", s.cursor, at, at + n),
                    (Some((at, _)), None, Some(ch)) => format!(
                        "#{}[{at}][ch {}..{}]",
                        s.cursor,
                        ch.first,
                        ch.first + ch.count
                    ),
                    (Some((at, n)), Some((r, k)), _) => {
                        format!("#{}[{}..{} rows {}..{}]", s.cursor, at, at + n, r, r + k)
                    }
                })
                .collect();
            let resumed = if let Some(earlier) = p.same_as {
                format!(" (the same input as sample {earlier})")
            } else if p.start.is_some() {
                String::new()
            } else if p.steps.is_empty() {
                " (done)".into()
            } else {
                format!(" (resumed: {} step(s) already on chain)", p.steps_done)
            };
            writeln!(
                f,
                "  sample {b}: job {:#x}{resumed}, {} step(s) [{}]",
                p.job_id,
                p.steps.len(),
                layers.join(" ")
            )?;
        }
        Ok(())
    }
}

/// Plans the job of every sample of `input_path` on the model at `address`, as `from` sends it.
pub fn plan_all(
    reader: &Reader,
    address: Address,
    input_path: &std::path::Path,
    from: Address,
    max_tx_bytes: usize,
) -> anyhow::Result<Planned> {
    runtime()?.block_on(async {
        let rpc = reader.rpc();
        let chain_id = reader.check(address).await?;
        settle(rpc, from, Duration::from_secs(120)).await?;
        let (fees, block_gas_limit) = current_fees(rpc, None).await.map_err(fail)?;
        let budget = TX_GAS_CAP.min(block_gas_limit);
        let jobs = jobs::jobs_address()?;
        if !rpc.has_code(jobs).await? {
            let call = placement_call()?;
            let gas = rpc
                .estimate_gas(from, call.to, &call.data)
                .await
                .map_err(|e| {
                    fail(format!(
                        "placing the job contract would fail: {}",
                        e.message()
                    ))
                })?;
            return Ok(Planned {
                plans: Vec::new(),
                fees,
                chain_id,
                batch: 0,
                place: Some((call, with_margin(gas).min(budget))),
            });
        }
        let (batch, per_input) = super::verify::samples_for(reader, address, input_path).await?;
        let mut plans = Vec::new();
        for b in 0..batch {
            let sample: Vec<&Tensor> = per_input.iter().map(|s| &s[b]).collect();
            let limits = TxBudget {
                gas: budget,
                bytes: max_tx_bytes,
            };
            let p = plan(rpc, from, address, &sample, limits).await?;
            // The same sample twice is the same job: run once, read twice.
            let p = match plans.iter().position(|q: &JobPlan| q.job_id == p.job_id) {
                Some(earlier) => JobPlan {
                    start: None,
                    steps: Vec::new(),
                    same_as: Some(earlier),
                    ..p
                },
                None => p,
            };
            plans.push(p);
        }
        Ok(Planned {
            plans,
            fees,
            chain_id,
            batch,
            place: None,
        })
    })
}

/// Sends what `planned` holds (the placement, or every job pipelined: starts and steps at
/// consecutive nonces), then reads each job's result on chain.
pub fn send_all(
    reader: &Reader,
    planned: &Planned,
    signer: &PrivateKeySigner,
) -> anyhow::Result<(Sent, Option<JobDone>)> {
    runtime()?.block_on(async {
        let rpc = reader.rpc();
        let mut calls = Vec::new();
        if let Some((call, gas)) = &planned.place {
            calls.push(("placing the job contract".to_string(), call.clone(), *gas));
        }
        for (b, p) in planned.plans.iter().enumerate() {
            if let Some((call, gas)) = &p.start {
                calls.push((format!("startJob (sample {b})"), call.clone(), *gas));
            }
            for s in &p.steps {
                calls.push((
                    format!(
                        "step {} of job {:#x} (layers #{}..)",
                        s.index, p.job_id, s.cursor
                    ),
                    step_call(p, s),
                    s.gas_limit,
                ));
            }
        }
        let sent = send_pipelined(
            rpc,
            signer,
            planned.chain_id,
            &planned.fees,
            &calls,
            Duration::from_secs(600),
        )
        .await?;
        if planned.place.is_some() {
            return Ok((sent, None));
        }
        let mut outputs: Vec<Output> = Vec::new();
        for p in &planned.plans {
            let got = read_result(rpc, p.jobs, p.job_id).await?;
            if outputs.is_empty() {
                outputs = got
                    .iter()
                    .map(|(s, _)| Output {
                        name: None,
                        shape: s.clone(),
                        values: Vec::new(),
                    })
                    .collect();
            }
            for (o, (_, v)) in outputs.iter_mut().zip(&got) {
                o.values.extend(v.iter().map(|&x| fixed::to_f64(x)));
            }
        }
        let prediction = Prediction {
            outputs,
            batch: planned.batch,
            // A job is transactions, reported as such below, not eth_calls.
            calls: None,
        };
        let map = match serde_json::to_value(&prediction)? {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        let ids: Vec<String> = planned
            .plans
            .iter()
            .map(|p| format!("{:#x}", p.job_id))
            .collect();
        let job = match ids.as_slice() {
            [one] => serde_json::Value::String(one.clone()),
            _ => serde_json::json!(ids),
        };
        let report = JobReport {
            prediction: PredictionJson(map),
            job,
            transactions: sent.transactions,
            gas_used: sent.gas_used,
            largest_gas_used: sent.largest,
        };
        Ok((sent, Some(JobDone { report, prediction })))
    })
}

/// A finished run: the report (`--json`) and the prediction (the text form).
pub struct JobDone {
    pub report: JobReport,
    pub prediction: Prediction,
}

/// Test hook: with the `test-hooks` feature, `ETERNALIZE_TEST_CRASH_AFTER=N` kills the process
/// with SIGKILL right after its N-th job transaction is broadcast (exactly `kill -9`: the
/// resumption test stops a job mid-way with it). A release binary has no such hook.
#[cfg(feature = "test-hooks")]
fn crash_hook(broadcast: usize) {
    let limit = std::env::var("ETERNALIZE_TEST_CRASH_AFTER")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if limit == Some(broadcast) {
        // SAFETY: getpid and kill have no preconditions; SIGKILL does not return.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

#[cfg(not(feature = "test-hooks"))]
fn crash_hook(_broadcast: usize) {}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The salt the driver uses for a job of `model` on the initial state `initial`: the same
/// sender, model and input always name the same job, which is what makes a rerun a resume.
pub fn salt_for(model: Address, initial: &[u8]) -> B256 {
    keccak256((model, keccak256(initial)).abi_encode_params())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::jobs::{BLOCK_TAG, PARTIAL_TAG};

    fn entry(tag: u32, shape: &[usize], values: Vec<i64>) -> Entry {
        Entry {
            tag,
            shape: shape.to_vec(),
            values,
        }
    }

    #[test]
    fn channel_blocks_build_the_row_then_fold_it_into_the_partial_output() {
        // Layer 1 reads the input (tag 0); it is the last layer. Its output is [2, 2, 3]: two
        // rows of two pixels of three channels. Row 0 is done; row 1 runs in blocks of 2 + 1.
        let links = vec![vec![], vec![0]];
        let input = entry(0, &[2, 2], vec![1, 2, 3, 4]);
        let row0 = vec![10, 11, 12, 13, 14, 15];
        let partial = entry(PARTIAL_TAG | 1, &[1, 2, 3], row0.clone());
        let state = jobs::encode(&[input.clone(), partial.clone()]).unwrap();
        // The first block: channels 0..2 of row 1 — the row so far, as `advanceSlice` returns it.
        let part = jobs::encode(&[entry(1, &[1, 2, 2], vec![20, 21, 23, 24])]).unwrap();
        let next = next_slice_state(&links, 1, &state, &part, false, true).unwrap();
        let block = entry(
            PARTIAL_TAG | BLOCK_TAG | 1,
            &[1, 2, 2],
            vec![20, 21, 23, 24],
        );
        assert_eq!(
            jobs::decode(&next).unwrap(),
            vec![input.clone(), partial.clone(), block]
        );
        // The last block: the whole row, channel by channel; the block entry goes and the layer
        // is done: its output alone (the input is read by no later layer).
        let part = jobs::encode(&[entry(1, &[1, 2, 3], vec![20, 21, 22, 23, 24, 25])]).unwrap();
        let done = next_slice_state(&links, 1, &next, &part, true, false).unwrap();
        let mut values = row0;
        values.extend([20, 21, 22, 23, 24, 25]);
        assert_eq!(
            jobs::decode(&done).unwrap(),
            vec![entry(1, &[2, 2, 3], values)]
        );
    }

    #[test]
    fn a_channel_block_carries_its_channels_in_the_high_bits() {
        let ch = Channels {
            first: 64,
            count: 64,
            of: 128,
        };
        assert!(ch.last());
        let (from, count) = slice_words(3, 1, Some(ch));
        assert_eq!(from, U256::from(3) | (U256::from(64) << 128));
        assert_eq!(count, U256::from(1) | (U256::from(64) << 128));
        assert_eq!(slice_words(3, 2, None), (U256::from(3), U256::from(2)));
    }
}
