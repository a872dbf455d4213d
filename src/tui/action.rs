//! Everything that can happen to the TUI ([`Action`]) and everything it can ask for
//! ([`Effect`]). `update` turns one into the other; the runtime (or a test) carries effects
//! out and feeds their results back as actions.

use super::model_view::ModelView;
use super::work::{Entry, Sniff};
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
    // ENGINE: the deployment engine's events join here as `Deploy(DeployEvent)`, drained from
    // its channel by the runtime exactly like the workers' results.
}

/// Work `update` asks the runtime to do off the UI thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    List(PathBuf),
    Sniff(PathBuf),
    Load(PathBuf),
    // ENGINE: `StartDeploy(..)` and the engine's commands (retry, pause, abort) join here.
}
