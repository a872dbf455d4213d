//! What the deploy dashboard knows of a running deployment: the contracts and the chunks with
//! their states, the latest totals, pauses, the event log and how it ended. Built only from
//! the engine's [`DeployEvent`]s (`Dashboard::apply`, called by `update` through
//! `screens::dashboard`, which holds the Deploy screen's keys), so a test can drive it with any
//! synthetic sequence.
//!
//! Owns: folding events into this picture, and the words and numbers the screens show for it
//! (failures, wei, durations). Must not touch: the terminal, the engine, the network.

use crate::engine::{DeployEvent, DeploymentSummary, Progress, Step, StepState};
use crate::units::thousands;
use crate::usecase::predict::SideBySide;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

/// The log keeps this many lines; older ones fall off the top.
pub const LOG_LINES: usize = 500;

/// Which dashboard panel has the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Contracts,
    Chunks,
    Log,
}

impl Panel {
    pub fn next(self) -> Panel {
        match self {
            Panel::Contracts => Panel::Chunks,
            Panel::Chunks => Panel::Log,
            Panel::Log => Panel::Contracts,
        }
    }
}

/// A step reduced to what the grid and the counters need: one byte per chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    Queued,
    Sending,
    Pending,
    Mined,
    Skipped,
    Failed,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Queued,
        Phase::Sending,
        Phase::Pending,
        Phase::Mined,
        Phase::Skipped,
        Phase::Failed,
    ];

    pub fn of(state: &StepState) -> Phase {
        match state {
            StepState::Queued => Phase::Queued,
            StepState::Sending { .. } => Phase::Sending,
            StepState::Pending { .. } => Phase::Pending,
            StepState::Mined { .. } => Phase::Mined,
            StepState::Skipped { .. } => Phase::Skipped,
            StepState::Failed { .. } => Phase::Failed,
        }
    }

    /// The word shown beside a contract and in the legend.
    pub fn word(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Sending => "sending",
            Phase::Pending => "pending",
            Phase::Mined => "mined",
            Phase::Skipped => "on chain",
            Phase::Failed => "failed",
        }
    }

    /// One column wide, distinct without colour.
    pub fn glyph(self) -> char {
        match self {
            Phase::Queued => '·',
            Phase::Sending => '↑',
            Phase::Pending => '○',
            Phase::Mined => '●',
            Phase::Skipped => '◎',
            Phase::Failed => '✗',
        }
    }

    pub fn in_flight(self) -> bool {
        matches!(self, Phase::Sending | Phase::Pending)
    }

    pub fn done(self) -> bool {
        matches!(self, Phase::Mined | Phase::Skipped)
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// How many steps are in each phase; kept up to date event by event so that neither drawing
/// nor a key has to walk 5,000 chunks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally([usize; 6]);

impl Tally {
    pub fn get(&self, phase: Phase) -> usize {
        self.0[phase.slot()]
    }

    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }

    pub fn in_flight(&self) -> usize {
        self.get(Phase::Sending) + self.get(Phase::Pending)
    }

    pub fn done(&self) -> usize {
        self.get(Phase::Mined) + self.get(Phase::Skipped)
    }

    fn moved(&mut self, from: Option<Phase>, to: Phase) {
        if let Some(f) = from {
            self.0[f.slot()] = self.0[f.slot()].saturating_sub(1);
        }
        self.0[to.slot()] += 1;
    }
}

/// One row of the contracts panel. A batch of layer clones is one transaction, so each layer
/// of a batch shows the batch's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractRow {
    pub step: Step,
    /// The layer this row stands for, when the step is a batch of layers.
    pub layer: Option<usize>,
}

impl ContractRow {
    /// `factory`, `impl Dense`, `model`, `layer 3 conv_valid`, `construct`.
    pub fn label(&self, layer_names: &[String]) -> String {
        match self.layer {
            Some(i) => layer_label(i, layer_names),
            None => step_label(&self.step, layer_names),
        }
    }
}

fn layer_label(i: usize, layer_names: &[String]) -> String {
    match layer_names.get(i) {
        Some(name) => format!("layer {i} {name}"),
        None => format!("layer {i}"),
    }
}

/// A step in words, for the log and notices.
pub fn step_label(step: &Step, layer_names: &[String]) -> String {
    match step {
        Step::Factory => "factory".into(),
        Step::Activations => "activations".into(),
        Step::ConvKernel => "conv kernel".into(),
        Step::Implementation { contract } => format!("impl {contract}"),
        Step::Model => "model".into(),
        Step::Layers { first, count: 1 } => layer_label(*first, layer_names),
        Step::Layers { first, count } => {
            format!("layers {first}–{}", first + count.saturating_sub(1))
        }
        Step::Construct => "construct".into(),
        Step::Chunk { index } => format!("chunk {index}"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    Info,
    Good,
    Warn,
    Bad,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub kind: LogKind,
    pub text: String,
}

/// What `Planned` said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub model_address: String,
    pub chain_id: u64,
    pub format: crate::chain::WeightFormat,
    pub gas_estimate: u64,
    pub cost_estimate: String,
    pub journal: String,
}

/// How a deployment ended early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    pub reason: String,
    pub resumable: bool,
    pub resume_command: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Dashboard {
    /// The model file or bundle being deployed, or the journal being resumed.
    pub source: PathBuf,
    pub plan: Option<Plan>,
    pub layer_names: Vec<String>,
    pub rows: Vec<ContractRow>,
    /// States of every step but chunks.
    pub steps: HashMap<Step, StepState>,
    pub step_tally: Tally,
    pub chunks: Vec<StepState>,
    pub chunk_tally: Tally,
    pub totals: Option<Progress>,
    /// Set by the engine's `Paused` (with its reason), cleared by `Resumed`.
    pub paused: Option<String>,
    /// What the operator last asked for with `p`; shows "pausing…" until the engine agrees.
    pub pause_wanted: bool,
    pub log: VecDeque<LogLine>,
    pub stopped: Option<Stopped>,
    pub finished: Option<DeploymentSummary>,
    pub focus: Panel,
    pub selected_row: usize,
    pub selected_chunk: usize,
    /// Lines scrolled up from the newest; 0 follows the log.
    pub log_scroll: usize,
    /// The "quit while transactions are in flight?" question is open.
    pub confirm_quit: bool,
    /// `v` on Done: `verify` of the deployed model against the file.
    pub verify: Option<Verification>,
    /// `p` on Done: a sample input through the chain and the reference.
    pub sample: Option<Sampling>,
}

/// Where a prediction asked for on the Done screen stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Sampling {
    /// Looking for input files next to the model.
    Finding,
    /// The input files found; the operator picks one.
    Choosing {
        samples: Vec<PathBuf>,
        selected: usize,
    },
    /// Nothing to run: no input file next to the model, or the folder could not be read.
    Nothing(String),
    Running {
        input: PathBuf,
    },
    Done(Box<SideBySide>),
    /// It could not run (the input does not fit the model, the chain refused the call, …).
    Failed {
        input: PathBuf,
        error: String,
    },
}

/// Where a `verify` asked for on the Done screen stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    Running,
    /// Whether every part holds (or something differs, or predict could not run), and a
    /// line a part.
    Done {
        verdict: crate::usecase::verify::Verdict,
        lines: Vec<String>,
    },
    /// It could not run (network unreachable, …).
    Failed(String),
}

impl Dashboard {
    pub fn new(source: PathBuf) -> Dashboard {
        Dashboard {
            source,
            plan: None,
            layer_names: Vec::new(),
            rows: Vec::new(),
            steps: HashMap::new(),
            step_tally: Tally::default(),
            chunks: Vec::new(),
            chunk_tally: Tally::default(),
            totals: None,
            paused: None,
            pause_wanted: false,
            log: VecDeque::new(),
            stopped: None,
            finished: None,
            focus: Panel::Contracts,
            selected_row: 0,
            selected_chunk: 0,
            log_scroll: 0,
            confirm_quit: false,
            verify: None,
            sample: None,
        }
    }

    /// Whether the engine is still working on it (neither finished nor stopped).
    pub fn running(&self) -> bool {
        self.stopped.is_none() && self.finished.is_none()
    }

    /// Transactions sent and not yet mined or failed.
    pub fn in_flight(&self) -> usize {
        if !self.running() {
            return 0;
        }
        self.chunk_tally.in_flight() + self.step_tally.in_flight()
    }

    pub fn failed(&self) -> usize {
        self.chunk_tally.get(Phase::Failed) + self.step_tally.get(Phase::Failed)
    }

    pub fn row_state(&self, row: &ContractRow) -> &StepState {
        self.steps.get(&row.step).unwrap_or(&StepState::Queued)
    }

    pub fn say(&mut self, kind: LogKind, text: impl Into<String>) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(LogLine {
            kind,
            text: text.into(),
        });
    }

    /// Folds one event in. Returns true when the deployment has just finished.
    pub fn apply(&mut self, event: DeployEvent) -> bool {
        match event {
            DeployEvent::Planned {
                model_address,
                chain_id,
                steps,
                layer_names,
                chunks,
                format,
                gas_estimate,
                cost_estimate,
                journal,
            } => {
                self.say(
                    LogKind::Info,
                    format!(
                        "planned: {} transactions, {} chunks of {format} weights, ≈{} gas, ≈{}; model at {model_address} on chain {chain_id}",
                        thousands(steps.len()),
                        thousands(chunks),
                        thousands(gas_estimate as usize),
                        crate::units::eth_str(&cost_estimate)
                    ),
                );
                self.plan = Some(Plan {
                    model_address,
                    chain_id,
                    format,
                    gas_estimate,
                    cost_estimate,
                    journal,
                });
                self.layer_names = layer_names;
                self.rows.clear();
                for step in steps {
                    self.add_step(step);
                }
                if self.chunks.len() < chunks {
                    self.chunk_tally.0[Phase::Queued.slot()] += chunks - self.chunks.len();
                    self.chunks.resize(chunks, StepState::Queued);
                }
            }
            DeployEvent::Step { step, state } => self.step(step, state),
            DeployEvent::Progress(p) => self.totals = Some(p),
            DeployEvent::Paused { reason } => {
                self.say(LogKind::Warn, format!("paused: {reason}"));
                self.paused = Some(reason);
                self.pause_wanted = true;
            }
            DeployEvent::Resumed => {
                self.say(LogKind::Info, "resumed sending");
                self.paused = None;
                self.pause_wanted = false;
            }
            DeployEvent::Note { message } => self.say(LogKind::Info, message),
            DeployEvent::Finished(summary) => {
                self.say(
                    LogKind::Good,
                    format!("finished: the model is ready at {}", summary.model_address),
                );
                self.confirm_quit = false;
                self.finished = Some(summary);
                return true;
            }
            DeployEvent::Stopped {
                reason,
                resumable,
                resume_command,
            } => {
                let mut text = format!("stopped: {reason}");
                if let Some(cmd) = &resume_command {
                    text.push_str(&format!(" — resume with `{cmd}`"));
                }
                self.say(LogKind::Bad, text);
                self.confirm_quit = false;
                self.stopped = Some(Stopped {
                    reason,
                    resumable,
                    resume_command,
                });
            }
        }
        false
    }

    /// Adds the rows of a step not seen before (in `Planned`, or in a `Step` event that came
    /// without one, as after a resume).
    fn add_step(&mut self, step: Step) {
        match step {
            Step::Chunk { index } => {
                if index >= self.chunks.len() {
                    self.chunk_tally.0[Phase::Queued.slot()] += index + 1 - self.chunks.len();
                    self.chunks.resize(index + 1, StepState::Queued);
                }
            }
            Step::Layers { first, count } => {
                for i in first..first + count {
                    self.rows.push(ContractRow {
                        step: step.clone(),
                        layer: Some(i),
                    });
                }
                self.track(step);
            }
            other => {
                self.rows.push(ContractRow {
                    step: other.clone(),
                    layer: None,
                });
                self.track(other);
            }
        }
    }

    fn track(&mut self, step: Step) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.steps.entry(step) {
            e.insert(StepState::Queued);
            self.step_tally.moved(None, Phase::Queued);
        }
    }

    fn step(&mut self, step: Step, state: StepState) {
        let to = Phase::of(&state);
        if let StepState::Failed { failure, attempts } = &state {
            let label = step_label(&step, &self.layer_names);
            let again = if failure.retryable() {
                "the engine retries it"
            } else {
                "r retries it"
            };
            self.say(
                LogKind::Bad,
                format!("{label} failed (attempt {attempts}): {} — {again}", failure),
            );
        }
        match step {
            Step::Chunk { index } => {
                if index >= self.chunks.len() {
                    self.add_step(Step::Chunk { index });
                }
                let from = Phase::of(&self.chunks[index]);
                self.chunk_tally.moved(Some(from), to);
                self.chunks[index] = state;
            }
            other => {
                if !self.steps.contains_key(&other) {
                    self.add_step(other.clone());
                }
                if let StepState::Mined {
                    block,
                    address: Some(a),
                    ..
                } = &state
                {
                    let label = step_label(&other, &self.layer_names);
                    self.say(
                        LogKind::Good,
                        format!("{label} mined in block {block} at {a}"),
                    );
                }
                let from = self.steps.get(&other).map(Phase::of);
                self.step_tally.moved(from, to);
                self.steps.insert(other, state);
            }
        }
    }

    /// The step under the selection of the focused panel.
    pub fn selected_step(&self) -> Option<(Step, &StepState)> {
        match self.focus {
            Panel::Contracts => {
                let row = self.rows.get(self.selected_row)?;
                Some((row.step.clone(), self.row_state(row)))
            }
            Panel::Chunks => {
                let state = self.chunks.get(self.selected_chunk)?;
                Some((
                    Step::Chunk {
                        index: self.selected_chunk,
                    },
                    state,
                ))
            }
            Panel::Log => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_follow_steps() {
        let mut d = Dashboard::new(PathBuf::from("m.keras"));
        d.apply(DeployEvent::Step {
            step: Step::Chunk { index: 2 },
            state: StepState::Pending {
                nonce: 1,
                tx_hash: "0x1".into(),
            },
        });
        assert_eq!(d.chunks.len(), 3);
        assert_eq!(d.chunk_tally.get(Phase::Queued), 2);
        assert_eq!(d.in_flight(), 1);
        d.apply(DeployEvent::Step {
            step: Step::Chunk { index: 2 },
            state: StepState::Mined {
                tx_hash: "0x1".into(),
                block: 3,
                gas_used: 10,
                address: None,
            },
        });
        assert_eq!(d.in_flight(), 0);
        assert_eq!(d.chunk_tally.done(), 1);
        assert_eq!(d.chunk_tally.total(), 3);
    }
}
