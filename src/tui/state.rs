//! The TUI's whole state and the one function that changes it, [`update`]. Drawing reads
//! `&State`; work that takes time is asked for as an [`Effect`] and comes back as an
//! [`Action`], so `update` is pure and tests drive it with keys and results alone.
//!
//! Owns: [`State`], [`update`] (which hands each action to the screen it belongs to, in
//! `screens`), and what every screen shares: [`Loadable`], [`Notice`], the help overlay, the
//! text fields' typing, quitting. Each screen's own state and keys live in `screens::*`; their
//! types are re-exported here so `tui::state::…` paths keep working.

use super::action::{Action, Effect};
use super::dashboard::Dashboard;
use super::keymap::{Command, Key, Keymap, ScreenKind, is_text_key};
use super::screens::{confirm, dashboard, done, pick, preview};
use super::target::{Choices, Target};
use crate::engine::Command as EngineCommand;
use crate::engine::DeploymentSummary;
use ratatui::crossterm::event::KeyCode;
use std::path::{Path, PathBuf};

pub use super::screens::confirm::{CONFIRM_CHARS, Confirm, ConfirmStage};
pub use super::screens::pick::Pick;
pub use super::screens::preview::{Pane, Preview};

/// Below this the screens do not fit; a message saying so is drawn instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;

/// Something that arrives later from a worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Loadable<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// A one-line message under the screen, cleared by the next key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

#[derive(Clone, Debug)]
pub struct State {
    pub keymap: Keymap,
    /// Paths are shown relative to this folder (where eternalize was started).
    pub base: PathBuf,
    pub size: (u16, u16),
    pub screen: ScreenKind,
    pub pick: Pick,
    pub preview: Option<Preview>,
    pub confirm: Option<Confirm>,
    /// The network and signer chosen on Preview, and what their probe found.
    pub target: Target,
    /// The deployment on the dashboard (and, once it has finished, on Done).
    pub dashboard: Option<Dashboard>,
    /// The last deployment that finished in this session: printed to stdout at exit.
    pub finished: Option<DeploymentSummary>,
    /// Where the journals are; `None` lists no deployments (tests, benchmarks).
    pub data_dir: Option<PathBuf>,
    pub help: bool,
    pub quit: bool,
    pub notice: Option<Notice>,
    pub ticks: u64,
}

/// Where the TUI opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    Folder(PathBuf),
    File(PathBuf),
}

impl State {
    /// The state at start and the work to do first, with the local chain and anvil's dev
    /// account as the only target (see [`State::with_choices`]). Paths should be absolute.
    pub fn new(
        base: PathBuf,
        start: Start,
        keymap: Keymap,
        size: (u16, u16),
    ) -> (State, Vec<Effect>) {
        State::with_choices(base, start, keymap, size, Choices::default())
    }

    /// The state at start, the networks and signers to choose from (the default first).
    pub fn with_choices(
        base: PathBuf,
        start: Start,
        keymap: Keymap,
        size: (u16, u16),
        choices: Choices,
    ) -> (State, Vec<Effect>) {
        let (dir, file) = match start {
            Start::Folder(d) => (d, None),
            Start::File(f) => (
                f.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| base.clone()),
                Some(f),
            ),
        };
        let mut effects = vec![Effect::List(dir.clone())];
        let mut state = State {
            keymap,
            base,
            size,
            screen: ScreenKind::Pick,
            pick: Pick::new(dir, file.clone()),
            preview: None,
            confirm: None,
            target: Target::new(choices),
            dashboard: None,
            finished: None,
            data_dir: None,
            help: false,
            quit: false,
            notice: None,
            ticks: 0,
        };
        if let Some(f) = file {
            effects.extend(preview::open(&mut state, f));
        }
        (state, effects)
    }

    /// Lists the unfinished deployments of this data dir on Pick, now and whenever Pick is
    /// shown again after a deployment.
    pub fn watch_deployments(&mut self, data_dir: PathBuf) -> Effect {
        self.data_dir = Some(data_dir.clone());
        Effect::ListDeployments(data_dir)
    }

    /// What to print once the terminal is restored: what was deployed, or how to resume a
    /// deployment left unfinished.
    pub fn exit_summary(&self) -> Option<String> {
        if let Some(d) = &self.dashboard
            && d.finished.is_none()
            && let Some(plan) = &d.plan
            && d.stopped.as_ref().is_none_or(|s| s.resumable)
        {
            let mut out = String::from("The deployment was left unfinished");
            match d.in_flight() {
                0 => out.push_str(".\n"),
                n => out.push_str(&format!(
                    "; {n} transactions were in flight and still land.\n"
                )),
            }
            out.push_str(&format!("  journal       {}\n", plan.journal));
            match d.stopped.as_ref().and_then(|s| s.resume_command.as_ref()) {
                Some(cmd) => out.push_str(&format!("  resume with   {cmd}\n")),
                None => out.push_str(
                    "  resume        open eternalize again: Pick lists it and Enter resumes it\n",
                ),
            }
            return Some(out);
        }
        self.finished.as_ref().map(DeploymentSummary::to_string)
    }

    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_WIDTH || self.size.1 < MIN_HEIGHT
    }

    /// Whether something is on its way (the spinner turns, ticks redraw).
    pub fn busy(&self) -> bool {
        matches!(self.pick.listing, Loadable::Loading)
            || self.pick.sniff_requested.is_some()
            || self
                .preview
                .as_ref()
                .is_some_and(|p| matches!(p.model, Loadable::Loading))
            || self
                .dashboard
                .as_ref()
                .is_some_and(|d| d.running() && self.screen == ScreenKind::Dashboard)
            || (self.target.connecting()
                && matches!(self.screen, ScreenKind::Preview | ScreenKind::Confirm))
    }

    /// `tests/fixtures` for paths under the start folder, else the absolute path.
    pub fn show_path(&self, p: &Path) -> String {
        match p.strip_prefix(&self.base) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => p.display().to_string(),
        }
    }

    /// Rows a page moves: the list's height on the current terminal.
    pub(crate) fn page(&self) -> usize {
        usize::from(self.size.1.saturating_sub(12)).max(1)
    }
}

/// Applies one action; returns the work it asks for.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Resize { width, height } => {
            state.size = (width, height);
            Vec::new()
        }
        Action::Tick => {
            state.ticks = state.ticks.wrapping_add(1);
            Vec::new()
        }
        Action::Listed { dir, result } => pick::listed(state, dir, result),
        Action::Sniffed { path, result } => pick::sniffed(state, path, result),
        Action::Deployments(result) => pick::deployments(state, result),
        Action::Loaded { path, result } => preview::loaded(state, path, result),
        Action::Formats { path, result } => preview::formats_measured(state, path, result),
        Action::Probed { generation, result } => {
            if !state.target.probed(generation, result) {
                log::debug!("probe {generation}: stale, ignored");
            }
            Vec::new()
        }
        Action::Deploy(event) => dashboard::engine_event(state, event),
        Action::Verified(result) => done::verified(state, result),
        Action::Samples(result) => done::samples(state, result),
        Action::Predicted(result) => done::predicted(state, result),
        Action::Key(event) => {
            state.notice = None;
            on_key(state, Key::from_event(&event))
        }
    }
}

/// A key: the help overlay, the dashboard's quit question and the password prompt take it
/// first; then a text field; then the keymap's command, for the current screen to carry out.
fn on_key(state: &mut State, key: Key) -> Vec<Effect> {
    let screen = state.screen;
    if state.help {
        if !(screen.takes_text() && is_text_key(key)) {
            match state.keymap.command(screen, key) {
                Some(Command::Help | Command::Back) => state.help = false,
                Some(Command::Quit) => {
                    state.help = false;
                    return request_quit(state);
                }
                _ => {}
            }
        }
        return Vec::new();
    }
    if let Some(effects) = dashboard::answer_quit(state, key) {
        return effects;
    }
    if screen == ScreenKind::Preview && state.target.password.is_some() {
        return preview::password_key(state, key);
    }
    if screen.takes_text() {
        if is_text_key(key)
            && let Some(c) = key.text()
        {
            return type_char(state, c);
        }
        if key.code == KeyCode::Backspace && !text_field(state).is_empty() {
            return delete_char(state);
        }
    }
    match state.keymap.command(screen, key) {
        Some(Command::Help) => {
            state.help = true;
            Vec::new()
        }
        Some(Command::Quit) => request_quit(state),
        Some(command) => match screen {
            ScreenKind::Pick => pick::command(state, command),
            ScreenKind::Preview => preview::command(state, command),
            ScreenKind::Confirm => confirm::command(state, command),
            ScreenKind::Dashboard => dashboard::command(state, command),
            ScreenKind::Done => done::command(state, command),
        },
        None => Vec::new(),
    }
}

fn text_field(state: &State) -> &str {
    match state.screen {
        ScreenKind::Pick => &state.pick.filter,
        ScreenKind::Confirm => state.confirm.as_ref().map_or("", |c| c.typed.as_str()),
        ScreenKind::Preview | ScreenKind::Dashboard | ScreenKind::Done => "",
    }
}

fn type_char(state: &mut State, c: char) -> Vec<Effect> {
    match state.screen {
        ScreenKind::Pick => pick::type_char(state, c),
        ScreenKind::Confirm => confirm::type_char(state, c),
        ScreenKind::Preview | ScreenKind::Dashboard | ScreenKind::Done => Vec::new(),
    }
}

fn delete_char(state: &mut State) -> Vec<Effect> {
    match state.screen {
        ScreenKind::Pick => pick::delete_char(state),
        ScreenKind::Confirm => confirm::delete_char(state),
        ScreenKind::Preview | ScreenKind::Dashboard | ScreenKind::Done => Vec::new(),
    }
}

/// `q`: quits at once unless transactions are in flight, in which case it asks first. A
/// deployment still running is told to stop after what is in flight, so it stays resumable.
pub(crate) fn request_quit(state: &mut State) -> Vec<Effect> {
    let running = state.screen == ScreenKind::Dashboard
        && state.dashboard.as_ref().is_some_and(Dashboard::running);
    if !running {
        state.quit = true;
        return Vec::new();
    }
    let Some(d) = state.dashboard.as_mut() else {
        return Vec::new();
    };
    if d.in_flight() > 0 {
        d.confirm_quit = true;
        return Vec::new();
    }
    state.quit = true;
    vec![Effect::Command(EngineCommand::Abort)]
}
