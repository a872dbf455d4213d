//! Chained calls: a deployed model's inference run as a sequence of `eth_call`s, each under a
//! gas budget, planned by [`crate::infer::plan`] from the chain's own layer configs. Activations
//! travel between calls here, off-chain. `predict ADDRESS` and `verify`'s predict part both run
//! through [`Runner`].
//!
//! Owns: reading the layer ops from the chain, the call budget, sending each segment and
//! stitching slices back together, the distinction between "could not run" (gas, node cap,
//! RPC) and a revert. Must not touch: the terminal.

use alloy::primitives::{Address, Bytes, I256, U256};
use alloy::sol_types::SolCall;
use serde::Serialize;
use std::collections::BTreeMap;

use crate::chain::bindings::IForwardLayer;
use crate::chain::packed;
use crate::chain::read::read_error;
use crate::chain::weights::{clone_args, clone_implementation};
use crate::chain::{ChainError, EternalModel, LayerKind, ModelState, Revert, Rpc, RpcFailure};
use crate::infer::plan::{
    Calibration, DEFAULT_CALL_GAS, GasModel, LayerOp, Op, PlanError, Planner, Segment, Step,
    slice_parts, still_needed,
};
use crate::infer::{Tensor, WeightFormat};
use crate::units::thousands;

/// A deployed model as the planner sees it: each layer's op and clone.
#[derive(Clone, Debug)]
pub struct ChainModel {
    pub address: Address,
    pub layers: Vec<LayerOp>,
    pub clones: Vec<Address>,
    /// Each clone's implementation (from its code): a direct slice calls it with the clone's
    /// address appended, as the model calls layers (contracts/README.md, "Direct layer calls"),
    /// so no proxy frame copies the slice's input and answer.
    pub implementations: Vec<Address>,
    /// The weights' format on chain (`weightLayout().format`), for the gas model; compact when
    /// the code is unknown.
    pub format: WeightFormat,
    pub chunk_bytes: u64,
}

impl ChainModel {
    /// Reads every layer's config and implementation from its clone's code (one `eth_getCode`
    /// each: the config is the clone's immutable argument `configData()` would return).
    pub async fn read(rpc: &Rpc, address: Address, state: &ModelState) -> Result<Self, String> {
        let mut layers = Vec::with_capacity(state.layers.len());
        let mut clones = Vec::with_capacity(state.layers.len());
        let mut implementations = Vec::with_capacity(state.layers.len());
        for (i, link) in state.layers.iter().enumerate() {
            let kind = LayerKind::from_code(link.kind)
                .ok_or_else(|| format!("layer #{i} has kind code {}, unknown", link.kind))?;
            let code = rpc
                .code(link.layer)
                .await
                .map_err(|e| format!("layer #{i}: {e}"))?;
            let not_a_clone = || {
                format!(
                    "layer #{i} ({}) at {}: not an EIP-1167 clone with layer arguments ({} bytes of code)",
                    kind.class_name(),
                    link.layer,
                    code.len()
                )
            };
            let implementation = clone_implementation(&code).ok_or_else(not_a_clone)?;
            let (_, cfg, _) = clone_args(&code).ok_or_else(not_a_clone)?;
            let op = Op::decode(kind, &cfg).map_err(|e| {
                format!("layer #{i} ({}) at {}: {e}", kind.class_name(), link.layer)
            })?;
            layers.push(LayerOp {
                kind,
                inputs: link.inputs.iter().map(|&j| usize::from(j)).collect(),
                op,
            });
            clones.push(link.layer);
            implementations.push(implementation);
        }
        Ok(ChainModel {
            address,
            layers,
            clones,
            implementations,
            format: WeightFormat::from_code(state.layout.format).unwrap_or_default(),
            chunk_bytes: u64::from(state.layout.chunkBytes).max(32),
        })
    }

    /// The InputLayers, in layer order (input k of `predict` feeds the k-th; the rule is
    /// [`ModelState::input_layers`](crate::chain::client::ModelState::input_layers)'s).
    pub fn input_layers(&self) -> Vec<usize> {
        crate::chain::client::input_layers(self.layers.iter().map(|l| l.inputs.len()))
    }

    /// The layers no other layer reads: what `predict` returns.
    pub fn sinks(&self) -> Vec<usize> {
        (0..self.layers.len())
            .filter(|&j| !self.layers.iter().any(|l| l.inputs.contains(&j)))
            .collect()
    }
}

/// The gas one call may use, and which limit set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub gas: u64,
    /// "EIP-7825's per-transaction cap", "the node's eth_call cap", "--call-gas".
    #[serde(skip)]
    pub why: String,
}

/// The budget: `asked` (`--call-gas`) if given, else 2^24; lower when the node's `eth_call`
/// gas cap is lower (measured as the deployment's capability probe measures it).
pub async fn budget(rpc: &Rpc, asked: Option<u64>) -> Result<Budget, String> {
    let cap = crate::engine::capabilities::call_gas_cap(rpc)
        .await
        .map_err(|e| format!("could not measure the node's eth_call gas cap: {e}"))?;
    let (gas, why) = match asked {
        Some(g) => (g, "--call-gas".to_string()),
        None => (
            DEFAULT_CALL_GAS,
            "EIP-7825's per-transaction cap".to_string(),
        ),
    };
    match cap {
        Some(c) if c < gas && asked.is_some() => Err(format!(
            "--call-gas {} is above the node's eth_call gas cap of {}: ask for {} or less",
            thousands(gas),
            thousands(c),
            thousands(c)
        )),
        Some(c) if c < gas => Ok(Budget {
            gas: c,
            why: "the node's eth_call gas cap".into(),
        }),
        _ => Ok(Budget { gas, why }),
    }
}

/// One call made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Call {
    /// "layers 0–8", "layer 2 (Conv2D) rows 0–3 of 32".
    pub what: String,
    /// The planner's estimate (calibrated).
    pub estimate: u64,
    /// `eth_estimateGas`, for the first call of each kind.
    pub measured: Option<u64>,
}

impl Call {
    /// The call's gas: measured when it was, else estimated.
    pub fn gas(&self) -> u64 {
        self.measured.unwrap_or(self.estimate)
    }
}

/// What the calls of one or more predictions added up to: `--json`'s `"calls"` and `"gas"`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CallStats {
    pub calls: usize,
    pub gas: GasStats,
    /// The budget each call was held to.
    pub call_gas: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GasStats {
    pub sum: u64,
    pub largest: u64,
}

impl CallStats {
    pub fn of(calls: &[Call], budget: u64) -> CallStats {
        CallStats {
            calls: calls.len(),
            gas: GasStats {
                sum: calls.iter().map(Call::gas).sum(),
                largest: calls.iter().map(Call::gas).max().unwrap_or(0),
            },
            call_gas: budget,
        }
    }
}

impl std::fmt::Display for CallStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} call{} of at most {} gas each: {} gas in all, the largest {}",
            self.calls,
            if self.calls == 1 { "" } else { "s" },
            thousands(self.call_gas),
            thousands(self.gas.sum),
            thousands(self.gas.largest)
        )
    }
}

/// Why a chained inference stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// Not the model's fault: out of gas, over the node's cap, no plan fits, the RPC failed.
    #[error("could not run {what}: {why}")]
    CouldNotRun { what: String, why: String },
    /// The chain reverted or answered something that does not decode.
    #[error("{what}: {why}")]
    Failed { what: String, why: String },
}

/// Whether a failed call ran out of gas (or was refused its gas): the model wraps a layer that
/// ran out as `LayerFailed` with empty reason, a layer clone reverts with no data, and a node may
/// say so in its message.
fn out_of_gas(e: &ChainError) -> bool {
    use crate::chain::bindings::EternalModel::EternalModelErrors;
    match e.revert() {
        Some(Revert::Model(EternalModelErrors::LayerFailed(f))) => return f.reason.is_empty(),
        // A clone whose implementation ran out returns the empty revert of its DELEGATECALL.
        Some(Revert::Other(data)) if data.is_empty() => return true,
        _ => {}
    }
    if e.revert().is_some() {
        return false;
    }
    let text = e.to_string().to_lowercase();
    text.contains("gas")
}

/// Runs inferences on one deployed model, call by call.
pub struct Runner<'a> {
    pub rpc: &'a Rpc,
    pub model: &'a ChainModel,
    /// Layers whose outputs are returned, in order.
    pub outputs: Vec<usize>,
    pub budget: u64,
    pub calibration: Calibration,
    /// Confirm every call with `eth_estimateGas`, not only the first of each kind (benchmarks).
    pub measure_all: bool,
    /// Every call made so far.
    pub calls: Vec<Call>,
    /// What the last slice of the layer under way hands to the next: a recurrent layer's state
    /// (h, and an LSTM's cell state; zeros at its first step), or the partial sums of a Dense's
    /// row part for the next part of its units (empty before the first).
    carry: Vec<i128>,
}

/// The call arrays of tensors: values packed as one stream, shapes, ranks.
fn flat(ts: &[&Tensor]) -> (Bytes, Vec<U256>, Vec<U256>) {
    let mut values = Vec::new();
    let mut shapes = Vec::new();
    let mut ranks = Vec::new();
    for t in ts {
        values.extend_from_slice(&t.data);
        shapes.extend(t.shape.iter().map(|&d| U256::from(d)));
        ranks.push(U256::from(t.shape.len()));
    }
    (packed::pack(&values).into(), shapes, ranks)
}

/// The tensors of a flat `(values, shapes, ranks)` answer.
fn split(values: &[i128], shapes: &[U256], ranks: &[U256]) -> Result<Vec<Tensor>, String> {
    let small = |x: &U256| {
        usize::try_from(*x).map_err(|_| format!("the chain returned a dimension of {x}"))
    };
    let (mut at, mut sat) = (0usize, 0usize);
    let mut out = Vec::new();
    for rank in ranks {
        let rank = small(rank)?;
        let shape = shapes
            .get(sat..sat + rank)
            .ok_or("the chain returned fewer shape entries than its ranks say")?
            .iter()
            .map(small)
            .collect::<Result<Vec<_>, _>>()?;
        sat += rank;
        let n: usize = shape.iter().product();
        let data = values
            .get(at..at + n)
            .ok_or("the chain returned fewer values than its shapes say")?
            .to_vec();
        at += n;
        out.push(Tensor { shape, data });
    }
    if at != values.len() {
        return Err(format!(
            "the chain returned {} values but its shapes account for {at}",
            values.len()
        ));
    }
    Ok(out)
}

impl<'a> Runner<'a> {
    pub fn new(rpc: &'a Rpc, model: &'a ChainModel, outputs: Vec<usize>, budget: u64) -> Self {
        Runner {
            rpc,
            model,
            outputs,
            budget,
            calibration: Calibration::default(),
            measure_all: false,
            calls: Vec::new(),
            carry: Vec::new(),
        }
    }

    /// The planner the runner plans with (its budget, the model's format and chunk size).
    pub fn planner(&self) -> Planner<'_> {
        Planner {
            layers: &self.model.layers,
            outputs: &self.outputs,
            budget: self.budget,
            model: GasModel {
                chunk_bytes: self.model.chunk_bytes,
                ..GasModel::for_format(self.model.format)
            },
        }
    }

    /// The calls' totals so far.
    pub fn stats(&self) -> CallStats {
        CallStats::of(&self.calls, self.budget)
    }

    /// One inference: `inputs` feed the InputLayers in layer order. Returns the outputs of
    /// `self.outputs`, in order.
    pub async fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RunError> {
        let n = self.model.layers.len();
        let mut known: BTreeMap<usize, Tensor> = BTreeMap::new();
        let input_layers = self.model.input_layers();
        if input_layers.len() != inputs.len() {
            return Err(RunError::Failed {
                what: "the inference".into(),
                why: format!(
                    "the model takes {} inputs, {} were given",
                    input_layers.len(),
                    inputs.len()
                ),
            });
        }
        for (&i, t) in input_layers.iter().zip(inputs) {
            known.insert(i, t.clone());
        }
        let mut next = 0;
        while next < n {
            let steps = self.plan(next, &known, None)?;
            match steps.first().map(|s| &s.segment) {
                Some(Segment::Slice { layer, of, .. }) => {
                    let (layer, of) = (*layer, *of);
                    let joined = self.run_slices(layer, of, steps, &known).await?;
                    known.insert(layer, joined);
                    next = layer + 1;
                }
                Some(Segment::Range { .. }) => {
                    let mut steps = steps;
                    let mut retries = 0;
                    loop {
                        match self.run_step(&steps[0], &mut known).await {
                            Ok(_) => break,
                            Err(Refused::Replan) if retries < 4 => {
                                retries += 1;
                                steps = self.plan(next, &known, None)?;
                                if steps.is_empty() {
                                    return Err(RunError::Failed {
                                        what: format!("layer {next}"),
                                        why: "the planner returned no call".into(),
                                    });
                                }
                                // Planned again, the layer may now be cut into slices.
                                if let Segment::Slice { layer, of, .. } = steps[0].segment {
                                    let joined =
                                        self.run_slices(layer, of, steps.clone(), &known).await?;
                                    known.insert(layer, joined);
                                    break;
                                }
                            }
                            Err(Refused::Replan) => return Err(self.gave_up(&steps[0], retries)),
                            Err(Refused::Error(e)) => return Err(e),
                        }
                    }
                    next = match steps[0].segment {
                        Segment::Range { to, .. } => to,
                        Segment::Slice { layer, .. } => layer + 1,
                    };
                }
                None => {
                    return Err(RunError::Failed {
                        what: format!("layer {next}"),
                        why: "the planner returned no call".into(),
                    });
                }
            }
            let layers = &self.model.layers;
            let outputs = &self.outputs;
            known.retain(|&j, _| still_needed(layers, outputs, next, j));
        }
        self.outputs
            .iter()
            .map(|o| {
                known.get(o).cloned().ok_or_else(|| RunError::Failed {
                    what: format!("layer {o}"),
                    why: "its output was never returned".into(),
                })
            })
            .collect()
    }

    /// The next calls from layer `next` (`slices_from`: only the slices of layer `next` from
    /// that position on).
    fn plan(
        &self,
        next: usize,
        known: &BTreeMap<usize, Tensor>,
        slices_from: Option<usize>,
    ) -> Result<Vec<Step>, RunError> {
        let planner = self.planner();
        match slices_from {
            None => planner.next(next, known, &self.calibration),
            Some(start) => planner.slices(next, start, known, &self.calibration),
        }
        .map_err(|e| match e {
            PlanError::TooBig { .. } => RunError::CouldNotRun {
                what: format!("layer {next}"),
                why: e.to_string(),
            },
            PlanError::Missing { .. } => RunError::Failed {
                what: format!("layer {next}"),
                why: e.to_string(),
            },
        })
    }

    fn gave_up(&self, step: &Step, retries: usize) -> RunError {
        RunError::CouldNotRun {
            what: step.describe(&self.model.layers),
            why: format!(
                "the chain needs more than the budget of {} gas per call even after {retries} smaller plans",
                thousands(self.budget)
            ),
        }
    }

    /// Every slice of `layer` (`of` positions), starting with `steps`: a slice the chain has
    /// not priced yet runs alone and the rest is planned again with what it measured.
    async fn run_slices(
        &mut self,
        layer: usize,
        of: usize,
        mut steps: Vec<Step>,
        known: &BTreeMap<usize, Tensor>,
    ) -> Result<Tensor, RunError> {
        let mut parts = Vec::new();
        // A recurrent layer cut by time steps: the state each slice starts from.
        let op = &self.model.layers[layer];
        let input = known.get(op.inputs.first().unwrap_or(&layer));
        let steps_of = input.and_then(|t| op.time_steps(&t.shape));
        let carry = steps_of.and(op.carry_len());
        self.carry = vec![0; carry.unwrap_or(0)];
        // A Bidirectional's steps; its forward direction's outputs (every step's h, or its last
        // h) once that direction is done.
        let bidirectional = input.and_then(|t| op.bidirectional_steps(&t.shape));
        let mut forward: Vec<i128> = Vec::new();
        // Channel blocks of the row under way (a Conv2D row too big for one call).
        let mut blocks: Vec<Tensor> = Vec::new();
        let mut done = 0;
        let mut retries = 0;
        while done < of {
            let mut replan = false;
            let progress = done;
            // A plan starts at a row's beginning: blocks of an unfinished row are run again.
            blocks.clear();
            for step in &steps {
                let fresh = !self.calibration.knows(step.key);
                let mut scratch = known.clone();
                match self.run_step(step, &mut scratch).await {
                    Ok(Some(part)) => {
                        if let Segment::Slice {
                            from,
                            count,
                            channels,
                            rows,
                            ..
                        } = step.segment
                        {
                            match channels {
                                // A Dense's row part before the last: its units' partial sums,
                                // for the next part.
                                None if rows.is_some_and(|r| !r.last()) => {
                                    self.carry = part.data;
                                }
                                // A Bidirectional's merge: the layer's output.
                                None if bidirectional.is_some_and(|n| from == 2 * n) => {
                                    done = from + count;
                                    parts = vec![part];
                                }
                                None if carry.is_some() => {
                                    // The steps' outputs, then the state after the last.
                                    let (out, state) = split_carry(part, carry.unwrap_or(0))
                                        .map_err(|why| RunError::Failed {
                                            what: format!("layer {layer}"),
                                            why,
                                        })?;
                                    self.carry = state;
                                    done = from + count;
                                    parts.extend(out);
                                    if let Some(n) = bidirectional
                                        && (done == n || done == 2 * n)
                                    {
                                        // A direction done: its outputs put by, the next starts
                                        // from zeros; after both, the merge is given them.
                                        let (units, sequences) = match &op.op {
                                            Op::Recurrent {
                                                units,
                                                return_sequences,
                                                ..
                                            } => (*units, *return_sequences),
                                            _ => (0, false),
                                        };
                                        let outputs: Vec<i128> = match sequences {
                                            true => parts.drain(..).flat_map(|t| t.data).collect(),
                                            false => self.carry[..units].to_vec(),
                                        };
                                        if done == n {
                                            forward = outputs;
                                            self.carry = vec![0; carry.unwrap_or(0)];
                                        } else {
                                            self.carry = std::mem::take(&mut forward);
                                            self.carry.extend(outputs);
                                        }
                                    }
                                }
                                None => {
                                    done = from + count;
                                    parts.push(part);
                                }
                                Some(c) => {
                                    blocks.push(part);
                                    if c.last() {
                                        // The row's blocks side by side: along the channels.
                                        let row =
                                            join_last(&blocks).map_err(|why| RunError::Failed {
                                                what: format!("layer {layer}"),
                                                why,
                                            })?;
                                        blocks.clear();
                                        parts.push(row);
                                        done = from + count;
                                    }
                                }
                            }
                        }
                        retries = 0;
                    }
                    Ok(None) => {}
                    Err(Refused::Replan) if retries < 4 => {
                        retries += 1;
                        replan = true;
                        break;
                    }
                    Err(Refused::Replan) => return Err(self.gave_up(step, retries)),
                    Err(Refused::Error(e)) => return Err(e),
                }
                if fresh {
                    replan = true;
                    break;
                }
            }
            if done < of && !replan && progress == done {
                return Err(RunError::Failed {
                    what: format!("layer {layer}"),
                    why: format!("the plan stopped at position {done} of {of}"),
                });
            }
            if done < of {
                steps = self.plan(layer, known, Some(done))?;
            }
        }
        if let (Some(_), Op::Recurrent { units, .. }) = (carry, &op.op)
            && parts.is_empty()
        {
            // Only the last state is returned: its h.
            return Ok(Tensor {
                shape: vec![*units],
                data: self.carry[..*units].to_vec(),
            });
        }
        join(&op.op, &parts).map_err(|why| RunError::Failed {
            what: format!("layer {layer}"),
            why,
        })
    }

    /// Records what the chain measured for `step`: for a run of layers, every layer of it the
    /// chain has not priced yet takes the run's ratio (a run's error is rarely one layer's, and
    /// scaling only the heaviest took more replans than the runner allows on MobileNetV2).
    fn record(&mut self, step: &Step, measured: u64) {
        match step.segment {
            Segment::Range { from, to, .. } => {
                self.calibration
                    .record_range(step.key, from..to, step.estimate, measured)
            }
            Segment::Slice { .. } => self.calibration.record(step.key, step.estimate, measured),
        }
    }

    /// Runs one step: a range's outputs go into `known`; a slice's part is returned.
    async fn run_step(
        &mut self,
        step: &Step,
        known: &mut BTreeMap<usize, Tensor>,
    ) -> Result<Option<Tensor>, Refused> {
        let what = step.describe(&self.model.layers);
        let (to, data) = self.encode(step, known);
        // Confirm the first call of each kind before trusting the model with the rest.
        let mut measured = None;
        if self.measure_all || !self.calibration.knows(step.key) {
            match self.rpc.estimate_gas(Address::ZERO, to, &data).await {
                Ok(g) => {
                    self.record(step, g);
                    if g > self.budget {
                        return Err(Refused::Replan);
                    }
                    measured = Some(g);
                }
                Err(f) => {
                    let e = read_error(format!("estimate {what}"), f);
                    if out_of_gas(&e) || e.revert().is_none() && is_cap(&e) {
                        // Over the node's cap: the model was too low, by at least this much.
                        self.record(step, self.budget + self.budget / 4);
                        return Err(Refused::Replan);
                    }
                    return Err(Refused::Error(classify(&what, e)));
                }
            }
        }
        let answer = match self.rpc.call_with_gas(to, &data, self.budget).await {
            Ok(a) => a,
            Err(f) => {
                let e = read_error(format!("call {what}"), f);
                if out_of_gas(&e) {
                    self.record(step, self.budget + self.budget / 4);
                    return Err(Refused::Replan);
                }
                return Err(Refused::Error(classify(&what, e)));
            }
        };
        self.calls.push(Call {
            what: what.clone(),
            estimate: step.estimate,
            measured,
        });
        let failed = |why: String| {
            Refused::Error(RunError::Failed {
                what: what.clone(),
                why,
            })
        };
        let values = |words: &[I256]| -> Result<Vec<i128>, Refused> {
            words
                .iter()
                .map(|v| i128::try_from(*v).map_err(|_| failed(format!("{v} is beyond int128"))))
                .collect()
        };
        let one = |output: &[I256], shape: &[U256]| -> Result<Tensor, Refused> {
            // A row part that completes no position (a Dense's before its last, shape [0])
            // answers only the sums it carries on.
            if shape == [U256::ZERO] {
                let data = values(output)?;
                return Ok(Tensor {
                    shape: vec![data.len()],
                    data,
                });
            }
            let rank = U256::from(shape.len());
            let mut got = split(&values(output)?, shape, &[rank]).map_err(failed)?;
            got.pop().ok_or_else(|| failed("no tensor returned".into()))
        };
        match &step.segment {
            Segment::Range { from, to, .. } if *to - *from == 1 => {
                let r = EternalModel::forwardPackedCall::abi_decode_returns(&answer)
                    .map_err(|e| failed(format!("the answer does not decode: {e}")))?;
                known.insert(*from, one(&r.output, &r.outputShape)?);
                Ok(None)
            }
            Segment::Range {
                from, to, keeps, ..
            } => {
                let whole = *from == 0 && *to == self.model.layers.len();
                let names = if whole {
                    self.outputs.clone()
                } else {
                    keeps.clone()
                };
                let r = EternalModel::predictRangePackedCall::abi_decode_returns(&answer)
                    .map_err(|e| failed(format!("the answer does not decode: {e}")))?;
                let got =
                    split(&values(&r.outputs)?, &r.outputShapes, &r.outputRanks).map_err(failed)?;
                if got.len() != names.len() {
                    return Err(failed(format!(
                        "{} tensors returned, {} asked for",
                        got.len(),
                        names.len()
                    )));
                }
                for (j, t) in names.into_iter().zip(got) {
                    known.insert(j, t);
                }
                Ok(None)
            }
            Segment::Slice { direct: true, .. } => {
                let r = IForwardLayer::forwardSliceCall::abi_decode_returns(&answer)
                    .map_err(|e| failed(format!("the answer does not decode: {e}")))?;
                one(&r.output, &r.outputShape).map(Some)
            }
            Segment::Slice { .. } => {
                let r = EternalModel::forwardSlicePackedCall::abi_decode_returns(&answer)
                    .map_err(|e| failed(format!("the answer does not decode: {e}")))?;
                one(&r.output, &r.outputShape).map(Some)
            }
        }
    }

    /// The contract and calldata of one step.
    pub fn encode(&self, step: &Step, known: &BTreeMap<usize, Tensor>) -> (Address, Bytes) {
        let layers = &self.model.layers;
        let sources = |i: usize| -> Vec<&Tensor> {
            let l = &layers[i];
            if l.inputs.is_empty() {
                known.get(&i).into_iter().collect()
            } else {
                l.inputs.iter().filter_map(|j| known.get(j)).collect()
            }
        };
        match &step.segment {
            Segment::Range { from, to, .. } if *to - *from == 1 => {
                let (inputs, shapes, ranks) = flat(&sources(*from));
                let call = EternalModel::forwardPackedCall {
                    layer: U256::from(*from),
                    inputs,
                    shapes,
                    ranks,
                };
                (self.model.address, call.abi_encode().into())
            }
            Segment::Range {
                from,
                to,
                reads,
                keeps,
            } => {
                // The whole model: its inputs in, the wanted outputs out.
                let whole = *from == 0 && *to == layers.len();
                let (reads, keeps) = if whole {
                    (self.model.input_layers(), self.outputs.clone())
                } else {
                    (reads.clone(), keeps.clone())
                };
                let ins: Vec<&Tensor> = reads.iter().filter_map(|j| known.get(j)).collect();
                let (inputs, shapes, ranks) = flat(&ins);
                let call = EternalModel::predictRangePackedCall {
                    from: U256::from(*from),
                    to: U256::from(*to),
                    known: reads.iter().map(|&j| U256::from(j)).collect(),
                    inputs,
                    shapes,
                    ranks,
                    outputLayers: keeps.iter().map(|&k| U256::from(k)).collect(),
                };
                (self.model.address, call.abi_encode().into())
            }
            Segment::Slice {
                layer,
                from,
                count,
                channels,
                direct,
                rows,
                ..
            } => {
                let ins = sources(*layer);
                let (mut inputs, mut shapes, mut ranks) = (Vec::new(), Vec::new(), Vec::new());
                for t in &ins {
                    shapes.extend(t.shape.iter().map(|&d| U256::from(d)));
                    ranks.push(U256::from(t.shape.len()));
                }
                // A recurrent step slice starts from the state the last one returned.
                if ins
                    .first()
                    .is_some_and(|t| layers[*layer].time_steps(&t.shape).is_some())
                {
                    inputs.extend_from_slice(&self.carry);
                }
                // Only the input rows the slice reads (window kinds: of their input; row-local
                // kinds: of each input), else the whole inputs. The planner priced these parts.
                // A Dense's row part: its input rows, then the sums carried from the parts
                // before (DenseLayer._forwardRows).
                match rows {
                    Some(r) => {
                        if let Some(part) = ins
                            .first()
                            .and_then(|x| x.data.get(r.first..r.first + r.count))
                        {
                            inputs.extend_from_slice(part);
                        }
                        if r.first > 0 {
                            inputs.extend_from_slice(&self.carry);
                        }
                    }
                    None => {
                        for part in
                            slice_parts(&layers[*layer], &ins, *from, *count).unwrap_or_default()
                        {
                            inputs.extend_from_slice(part);
                        }
                    }
                }
                // A block of channels (Conv2DLayer.forwardSlice), or a Dense's input rows,
                // rides in the high 128 bits.
                let (c0, cc) = match (channels, rows) {
                    (Some(c), _) => (c.first, c.count),
                    (None, Some(r)) => (r.first, r.count),
                    (None, None) => (0, 0),
                };
                let (from, count) = match ins
                    .first()
                    .and_then(|t| layers[*layer].bidirectional_steps(&t.shape))
                {
                    // A Bidirectional: its direction (1, 2) or the merge (3) in the high bits of
                    // `from`, the low bits that direction's step.
                    Some(n) => {
                        let (f, mode) = match *from {
                            f if f < n => (f, 1),
                            f if f < 2 * n => (f - n, 2),
                            _ => (0, 3),
                        };
                        crate::usecase::job::part_words((f, *count), (mode, 0))
                    }
                    None => crate::usecase::job::part_words((*from, *count), (c0, cc)),
                };
                if *direct {
                    // Q32.32 values are far inside int256.
                    let call = IForwardLayer::forwardSliceCall {
                        inputs: inputs
                            .iter()
                            .map(|&v| I256::try_from(v).unwrap_or(I256::ZERO))
                            .collect(),
                        shapes,
                        ranks,
                        from,
                        count,
                    };
                    let mut data = call.abi_encode();
                    data.extend_from_slice(self.model.clones[*layer].into_word().as_slice());
                    return (self.model.implementations[*layer], data.into());
                }
                let call = EternalModel::forwardSlicePackedCall {
                    layer: U256::from(*layer),
                    inputs: packed::pack(&inputs).into(),
                    shapes,
                    ranks,
                    from,
                    count,
                };
                (self.model.address, call.abi_encode().into())
            }
        }
    }
}

/// A step the chain would not run as planned.
enum Refused {
    /// Over the budget: plan again with the corrected calibration.
    Replan,
    Error(RunError),
}

/// Whether a node refused the gas itself (a cap below what was asked).
fn is_cap(e: &ChainError) -> bool {
    let t = e.to_string().to_lowercase();
    t.contains("cap") || t.contains("exceeds") || t.contains("allowance")
}

fn classify(what: &str, e: ChainError) -> RunError {
    match &e {
        // The node could not be reached, or refused the request itself (too large, malformed):
        // nothing was computed.
        ChainError::Read {
            failure:
                RpcFailure::Transport(_)
                | RpcFailure::RateLimited(_)
                | RpcFailure::Node {
                    code: -32600 | -32700,
                    ..
                },
            ..
        } => RunError::CouldNotRun {
            what: what.to_string(),
            why: e.to_string(),
        },
        _ if out_of_gas(&e) => RunError::CouldNotRun {
            what: what.to_string(),
            why: e.to_string(),
        },
        _ => RunError::Failed {
            what: what.to_string(),
            why: e.to_string(),
        },
    }
}

/// A recurrent step slice's answer ([rows + k, units]: the steps' outputs when the layer returns
/// its sequence, then the `carry` values of the state after them) as the outputs (none when only
/// the last state is returned) and the state.
pub fn split_carry(part: Tensor, carry: usize) -> Result<(Option<Tensor>, Vec<i128>), String> {
    let [rows, units] = part.shape[..] else {
        return Err(format!(
            "a step slice returned a tensor of shape {:?}",
            part.shape
        ));
    };
    if units == 0
        || !carry.is_multiple_of(units)
        || rows * units < carry
        || part.data.len() != rows * units
    {
        return Err(format!(
            "a step slice returned {} values of shape {:?}, with a state of {carry} values",
            part.data.len(),
            part.shape
        ));
    }
    let mut data = part.data;
    let state = data.split_off(data.len() - carry);
    let outputs = rows - carry / units;
    Ok((
        (outputs > 0).then(|| Tensor {
            shape: vec![outputs, units],
            data,
        }),
        state,
    ))
}

/// A layer's output from its slices, in order: concatenated along the first axis, or for
/// Dense along the last (units), row by row.
pub fn join(op: &Op, parts: &[Tensor]) -> Result<Tensor, String> {
    if matches!(op, Op::Dense { .. }) {
        return join_last(parts);
    }
    join_axis(false, parts)
}

/// Slices side by side along the last axis (Dense units, Conv2D channel blocks).
pub fn join_last(parts: &[Tensor]) -> Result<Tensor, String> {
    join_axis(true, parts)
}

fn join_axis(last: bool, parts: &[Tensor]) -> Result<Tensor, String> {
    let first = parts.first().ok_or("no slices")?;
    let rank = first.shape.len();
    if rank == 0 || parts.iter().any(|p| p.shape.len() != rank) {
        return Err("the slices' shapes differ in rank".into());
    }
    if last {
        let lead = &first.shape[..rank - 1];
        if parts.iter().any(|p| &p.shape[..rank - 1] != lead) {
            return Err("the slices' shapes differ".into());
        }
        let rows: usize = lead.iter().product();
        let units: usize = parts.iter().map(|p| p.shape[rank - 1]).sum();
        let mut data = Vec::with_capacity(rows * units);
        for r in 0..rows {
            for p in parts {
                let w = p.shape[rank - 1];
                data.extend_from_slice(p.data.get(r * w..(r + 1) * w).ok_or("a slice is short")?);
            }
        }
        let mut shape = lead.to_vec();
        shape.push(units);
        Ok(Tensor { shape, data })
    } else {
        let rest = &first.shape[1..];
        if parts.iter().any(|p| &p.shape[1..] != rest) {
            return Err("the slices' shapes differ".into());
        }
        let mut shape = first.shape.clone();
        shape[0] = parts.iter().map(|p| p.shape[0]).sum();
        let data = parts.iter().flat_map(|p| p.data.iter().copied()).collect();
        Ok(Tensor { shape, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_outputs_split_by_ranks_and_shapes() {
        let v = |x: i128| x;
        let u = |x: u64| U256::from(x);
        let got = split(
            &[v(1), v(2), v(3), v(-4)],
            &[u(1), u(3), u(1)],
            &[u(2), u(1)],
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                Tensor {
                    shape: vec![1, 3],
                    data: vec![1, 2, 3]
                },
                Tensor {
                    shape: vec![1],
                    data: vec![-4]
                }
            ]
        );
        let e = split(&[v(1)], &[u(2)], &[u(1)]).unwrap_err();
        assert!(e.contains("fewer values"), "{e}");
        let e = split(&[v(1), v(2)], &[u(1)], &[u(1)]).unwrap_err();
        assert!(e.contains("2 values but its shapes account for 1"), "{e}");
    }

    #[test]
    fn slices_join_along_their_axis() {
        let t = |shape: Vec<usize>, data: Vec<i128>| Tensor { shape, data };
        let dense = Op::Dense {
            units: 3,
            input_units: 2,
            activation: 1,
        };
        // Two rows, units [0, 2) and [2, 3).
        let got = join(
            &dense,
            &[t(vec![2, 2], vec![1, 2, 4, 5]), t(vec![2, 1], vec![3, 6])],
        )
        .unwrap();
        assert_eq!(got, t(vec![2, 3], vec![1, 2, 3, 4, 5, 6]));
        let rows = join(
            &Op::Flatten,
            &[t(vec![1, 2], vec![1, 2]), t(vec![2, 2], vec![3, 4, 5, 6])],
        )
        .unwrap();
        assert_eq!(rows, t(vec![3, 2], vec![1, 2, 3, 4, 5, 6]));
        assert!(
            join(
                &Op::Flatten,
                &[t(vec![1, 2], vec![1, 2]), t(vec![1, 3], vec![3, 4, 5])]
            )
            .is_err()
        );
    }
}
