//! Everything that can happen to the TUI ([`Action`]) and everything it can ask for
//! ([`Effect`]). `update` turns one into the other; the runtime (or a test) carries effects
//! out and feeds their results back as actions.

use super::model_view::ModelView;
use super::work::{Entry, Sniff};
use crate::engine::{Command, DeployEvent};
use crate::journal;
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
    /// The deployments found in the data dir that have not finished.
    Deployments(Result<Vec<journal::Summary>, String>),
    /// What the deployment engine reports, drained from its channel by the runtime exactly
    /// like the workers' results.
    Deploy(DeployEvent),
    /// The answer of `verify` for the deployed model: whether every part holds, and a line a
    /// part (or why it could not run).
    Verified(Result<(bool, Vec<String>), String>),
}

/// Work `update` asks the runtime to do off the UI thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    List(PathBuf),
    Sniff(PathBuf),
    Load(PathBuf),
    /// List the unfinished deployments under this data dir.
    ListDeployments(PathBuf),
    /// Deploy this model file or bundle, whose `hashed_model` the operator has just confirmed
    /// (the engine checks the file still hashes to it).
    StartDeploy {
        path: PathBuf,
        hashed_model: String,
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
        )
    }
}
