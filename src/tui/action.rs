//! Everything that can happen to the TUI ([`Action`]) and everything it can ask for
//! ([`Effect`]). `update` turns one into the other; the runtime (or a test) carries effects
//! out and feeds their results back as actions.

use super::model_view::ModelView;
use super::target::{Password, ProbeFailure, ProbeReport, SignerOption};
use super::work::{Entry, Sniff};
use crate::chain::WeightFormat;
use crate::engine::{Command, DeployEvent};
use crate::journal;
use crate::usecase::formats::FormatsReport;
use crate::usecase::predict::SideBySide;
use ratatui::crossterm::event::KeyEvent;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// About four times a second, for the "working…" spinner.
    Tick,
    Listed {
        dir: PathBuf,
        result: Result<Vec<Entry>, String>,
    },
    Sniffed {
        path: PathBuf,
        result: Result<Sniff, String>,
    },
    Loaded {
        path: PathBuf,
        result: Result<Box<ModelView>, String>,
    },
    /// Every weight format of the model at `path`, measured (`inspect --formats`).
    Formats {
        path: PathBuf,
        result: Result<Box<FormatsReport>, String>,
    },
    /// The deployments found in the data dir that have not finished.
    Deployments(Result<Vec<journal::Summary>, String>),
    /// What the deployment engine reports, drained from its channel by the runtime exactly
    /// like the workers' results.
    Deploy(DeployEvent),
    /// The answer of `verify` for the deployed model: whether every part holds, and a line a
    /// part (or why it could not run).
    Verified(Result<(crate::usecase::verify::Verdict, Vec<String>), String>),
    /// The sample inputs found next to the model (`p` on Done).
    Samples(Result<Vec<PathBuf>, String>),
    /// A sample input through the chain and the reference, side by side.
    Predicted(Result<Box<SideBySide>, String>),
    /// What the probe of a network and signer found; `generation` says which request it
    /// answers (an older one is ignored).
    Probed {
        generation: u64,
        result: Result<Box<ProbeReport>, ProbeFailure>,
    },
}

/// Connect to `network`, resolve `signer` (unlocking a keystore with `password`), and plan the
/// deployment of `path` without sending anything: balance, gas, fees, cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRequest {
    pub generation: u64,
    pub path: PathBuf,
    pub network: String,
    pub signer: SignerOption,
    pub password: Option<Password>,
    /// The weight format whose deployment is planned.
    pub format: WeightFormat,
}

/// Work `update` asks the runtime to do off the UI thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    List(PathBuf),
    Sniff(PathBuf),
    Load(PathBuf),
    /// Measure every weight format of this model: bytes, gas, error against Keras or the exact
    /// reference (`inspect --formats`).
    MeasureFormats(PathBuf),
    /// List the unfinished deployments under this data dir.
    ListDeployments(PathBuf),
    /// Deploy this model file or bundle, whose `hashed_model` the operator has just confirmed
    /// (the engine checks the file still hashes to it), on the network and with the signer
    /// chosen on Preview.
    StartDeploy {
        path: PathBuf,
        hashed_model: String,
        network: String,
        signer: SignerOption,
        format: WeightFormat,
    },
    /// Resume the deployment with this journal id.
    Resume(String),
    /// Pass a command to the running deployment.
    Command(Command),
    /// Prove the deployed model at `address` equals the file at `path` (`eternalize verify`).
    Verify {
        address: String,
        path: PathBuf,
    },
    /// Find the input files next to the model at this path that `predict` could take.
    FindSamples(PathBuf),
    /// Run `input` through the deployed model at `address` and through the reference of the
    /// file at `path`, side by side.
    Predict {
        address: String,
        path: PathBuf,
        input: PathBuf,
    },
    /// Probe the chosen network and signer for this model (see [`ProbeRequest`]).
    Probe(ProbeRequest),
}

impl Effect {
    /// Whether the deployment engine, rather than a worker thread, carries it out.
    pub fn is_for_engine(&self) -> bool {
        matches!(
            self,
            Effect::StartDeploy { .. }
                | Effect::Resume(_)
                | Effect::Command(_)
                | Effect::Verify { .. }
                | Effect::Predict { .. }
                | Effect::Probe(_)
        )
    }
}
