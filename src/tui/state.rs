//! The TUI's whole state and the one function that changes it, [`update`]. Drawing reads
//! `&State`; work that takes time is asked for as an [`Effect`] and comes back as an
//! [`Action`], so `update` is pure and tests drive it with keys and results alone.

use super::action::{Action, Effect};
use super::dashboard::{Dashboard, Finished, LogKind, Panel, Phase, step_label};
use super::keymap::{Command, Key, Keymap, ScreenKind, is_text_key};
use super::model_view::ModelView;
use super::render::dashboard::{DashboardAreas, dashboard_areas};
use super::target::{Choices, Probe, Target};
use super::work::{Entry, EntryKind, Sniff};
use crate::bundle::Hashes;
use crate::engine::{Command as EngineCommand, StepState};
use crate::journal;
use ratatui::crossterm::event::KeyCode;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Below this the screens do not fit; a message saying so is drawn instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;

/// How many characters of `hashed_model` the operator types to confirm.
pub const CONFIRM_CHARS: usize = 4;

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

/// The Pick screen: unfinished deployments from the journal (above), a folder's model files.
#[derive(Clone, Debug)]
pub struct Pick {
    /// Deployments under the data dir that have not finished; hidden while filtering.
    pub deployments: Vec<journal::Summary>,
    /// The highlighted deployment, when the highlight is above the folder.
    pub on_deployment: Option<usize>,
    pub dir: PathBuf,
    pub listing: Loadable<Vec<Entry>>,
    pub filter: String,
    /// Index into [`Pick::visible`].
    pub selected: usize,
    /// Entry to highlight once the listing arrives (the folder we came up from, the file we
    /// came back from).
    pub reselect: Option<PathBuf>,
    /// One-line sniffs, kept for the session.
    pub sniffs: HashMap<PathBuf, Result<Sniff, String>>,
    /// The sniff asked for and not yet back.
    pub sniff_requested: Option<PathBuf>,
}

impl Pick {
    /// Entries matching the filter: every space-separated word must appear in the name,
    /// ignoring case. `..` is hidden while filtering.
    pub fn visible(&self) -> Vec<&Entry> {
        let Loadable::Ready(entries) = &self.listing else {
            return Vec::new();
        };
        let words: Vec<String> = self
            .filter
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        entries
            .iter()
            .filter(|e| {
                if words.is_empty() {
                    return true;
                }
                let name = e.name.to_lowercase();
                e.kind != EntryKind::Parent && words.iter().all(|w| name.contains(w.as_str()))
            })
            .collect()
    }

    pub fn highlighted(&self) -> Option<&Entry> {
        if self.on_deployment.is_some() {
            return None;
        }
        self.visible().get(self.selected).copied()
    }

    /// The deployments shown: none while filtering by name.
    pub fn shown_deployments(&self) -> &[journal::Summary] {
        if self.filter.is_empty() {
            &self.deployments
        } else {
            &[]
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Layers,
    Detail,
}

/// The Preview screen: one model file or bundle.
#[derive(Clone, Debug)]
pub struct Preview {
    pub path: PathBuf,
    pub model: Loadable<Box<ModelView>>,
    pub selected: usize,
    pub focus: Pane,
    pub detail_scroll: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmStage {
    Typing,
    Wrong,
    Confirmed,
}

/// The confirm-hash step: the operator types the first characters of `hashed_model`.
#[derive(Clone, Debug)]
pub struct Confirm {
    pub hashes: Hashes,
    pub typed: String,
    pub stage: ConfirmStage,
}

impl Confirm {
    pub fn expected(&self) -> String {
        self.hashes
            .hashed_model()
            .chars()
            .take(CONFIRM_CHARS)
            .collect()
    }
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
    pub finished: Option<Finished>,
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
            pick: Pick {
                deployments: Vec::new(),
                on_deployment: None,
                dir,
                listing: Loadable::Loading,
                filter: String::new(),
                selected: 0,
                reselect: file.clone(),
                sniffs: HashMap::new(),
                sniff_requested: None,
            },
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
            effects.extend(open_preview(&mut state, f));
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
        self.finished.as_ref().map(Finished::summary)
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
    fn page(&self) -> usize {
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
        Action::Listed { dir, result } => {
            if dir != state.pick.dir {
                return Vec::new(); // an answer for a folder we have left
            }
            state.pick.listing = match result {
                Ok(entries) => Loadable::Ready(entries),
                Err(e) => Loadable::Failed(e),
            };
            // The first entry after `..`: in a folder of models, a model.
            state.pick.selected = {
                let v = state.pick.visible();
                usize::from(v.len() > 1 && v[0].kind == EntryKind::Parent)
            };
            if let Some(want) = state.pick.reselect.take()
                && let Some(i) = state.pick.visible().iter().position(|e| e.path == want)
            {
                state.pick.selected = i;
            }
            request_sniff(state).into_iter().collect()
        }
        Action::Sniffed { path, result } => {
            if state.pick.sniff_requested.as_ref() == Some(&path) {
                state.pick.sniff_requested = None;
            }
            state.pick.sniffs.insert(path, result);
            // The highlight may have moved on while this one was being sniffed.
            request_sniff(state).into_iter().collect()
        }
        Action::Loaded { path, result } => {
            if let Some(p) = state.preview.as_mut().filter(|p| p.path == path) {
                p.model = match result {
                    Ok(m) => Loadable::Ready(m),
                    Err(e) => Loadable::Failed(e),
                };
            }
            Vec::new()
        }
        Action::Verified(result) => {
            if let Some(d) = state.dashboard.as_mut() {
                d.verify = Some(match result {
                    Ok((ok, lines)) => crate::tui::dashboard::Verification::Done { ok, lines },
                    Err(e) => crate::tui::dashboard::Verification::Failed(e),
                });
            }
            Vec::new()
        }
        Action::Probed { generation, result } => {
            if !state.target.probed(generation, result) {
                log::debug!("probe {generation}: stale, ignored");
            }
            Vec::new()
        }
        Action::Deployments(result) => {
            match result {
                Ok(all) => {
                    state.pick.deployments = all.into_iter().filter(|d| !d.finished).collect();
                }
                Err(e) => {
                    state.pick.deployments.clear();
                    state.notice = Some(Notice {
                        text: format!("unfinished deployments cannot be listed: {e}"),
                        is_error: true,
                    });
                }
            }
            let n = state.pick.deployments.len();
            if state.pick.on_deployment.is_some_and(|i| i >= n) {
                state.pick.on_deployment = n.checked_sub(1);
            }
            Vec::new()
        }
        Action::Deploy(event) => {
            let Some(d) = state.dashboard.as_mut() else {
                log::warn!("deployment event with no deployment on screen: {event:?}");
                return Vec::new();
            };
            if d.apply(event) {
                state.finished = d.finished.clone();
                if state.screen == ScreenKind::Dashboard {
                    state.screen = ScreenKind::Done;
                    state.help = false;
                }
            }
            Vec::new()
        }
        Action::Key(event) => {
            state.notice = None;
            on_key(state, Key::from_event(&event))
        }
    }
}

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
    if state.screen == ScreenKind::Dashboard
        && let Some(d) = state.dashboard.as_mut()
        && d.confirm_quit
    {
        // The question takes the next key: yes quits, anything else stays.
        d.confirm_quit = false;
        if state.keymap.command(screen, key) == Some(Command::Yes) {
            state.quit = true;
            return vec![Effect::Command(EngineCommand::Abort)];
        }
        state.notice = Some(Notice {
            text: "still deploying".into(),
            is_error: false,
        });
        return Vec::new();
    }
    if screen == ScreenKind::Preview && state.target.password.is_some() {
        return password_key(state, key);
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
            ScreenKind::Pick => pick_command(state, command),
            ScreenKind::Preview => preview_command(state, command),
            ScreenKind::Confirm => confirm_command(state, command),
            ScreenKind::Dashboard => dashboard_command(state, command),
            ScreenKind::Done => done_command(state, command),
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
        ScreenKind::Pick => {
            state.pick.filter.push(c);
            state.pick.selected = 0;
            state.pick.on_deployment = None;
            request_sniff(state).into_iter().collect()
        }
        ScreenKind::Confirm => {
            // The hash is hex: other characters are not typed at all.
            if let Some(confirm) = state.confirm.as_mut()
                && c.is_ascii_hexdigit()
                && confirm.stage != ConfirmStage::Confirmed
                && confirm.typed.chars().count() < CONFIRM_CHARS
            {
                confirm.typed.push(c.to_ascii_lowercase());
                if confirm.typed.chars().count() == CONFIRM_CHARS {
                    confirm.stage = if confirm.typed == confirm.expected() {
                        ConfirmStage::Confirmed
                    } else {
                        ConfirmStage::Wrong
                    };
                }
            }
            Vec::new()
        }
        ScreenKind::Preview | ScreenKind::Dashboard | ScreenKind::Done => Vec::new(),
    }
}

fn delete_char(state: &mut State) -> Vec<Effect> {
    match state.screen {
        ScreenKind::Pick => {
            state.pick.filter.pop();
            state.pick.selected = 0;
            request_sniff(state).into_iter().collect()
        }
        ScreenKind::Confirm => {
            if let Some(c) = state.confirm.as_mut()
                && c.stage != ConfirmStage::Confirmed
            {
                c.typed.pop();
                c.stage = ConfirmStage::Typing;
            }
            Vec::new()
        }
        ScreenKind::Preview | ScreenKind::Dashboard | ScreenKind::Done => Vec::new(),
    }
}

/// New index after a movement command in a list of `len` rows.
fn moved(command: Command, at: usize, len: usize, page: usize) -> usize {
    let last = len.saturating_sub(1);
    match command {
        Command::Up => at.saturating_sub(1),
        Command::Down => (at + 1).min(last),
        Command::PageUp => at.saturating_sub(page),
        Command::PageDown => (at + page).min(last),
        Command::Top => 0,
        Command::Bottom => last,
        _ => at,
    }
    .min(last)
}

fn is_move(command: Command) -> bool {
    matches!(
        command,
        Command::Up
            | Command::Down
            | Command::PageUp
            | Command::PageDown
            | Command::Top
            | Command::Bottom
    )
}

fn pick_command(state: &mut State, command: Command) -> Vec<Effect> {
    if is_move(command) {
        let len = state.pick.visible().len();
        let deployments = state.pick.shown_deployments().len();
        // One list: the deployments, then the folder.
        let at = match state.pick.on_deployment {
            Some(i) => i,
            None => deployments + state.pick.selected,
        };
        let to = moved(command, at, deployments + len, state.page());
        if to < deployments {
            state.pick.on_deployment = Some(to);
        } else {
            state.pick.on_deployment = None;
            state.pick.selected = to - deployments;
        }
        return request_sniff(state).into_iter().collect();
    }
    match command {
        Command::Open if state.pick.on_deployment.is_some() => {
            let Some(d) = state
                .pick
                .on_deployment
                .and_then(|i| state.pick.shown_deployments().get(i))
                .cloned()
            else {
                return Vec::new();
            };
            let source = d.source.map(PathBuf::from).unwrap_or(d.path);
            open_dashboard(state, source);
            vec![Effect::Resume(d.id)]
        }
        Command::Open => {
            let Some(entry) = state.pick.highlighted().cloned() else {
                return Vec::new();
            };
            match entry.kind {
                EntryKind::Parent => vec![go_up(state)],
                EntryKind::Dir => vec![enter_dir(state, entry.path, None)],
                _ => open_preview(state, entry.path),
            }
        }
        Command::Back => {
            if !state.pick.filter.is_empty() {
                state.pick.filter.clear();
                state.pick.selected = 0;
                request_sniff(state).into_iter().collect()
            } else if state.pick.dir.parent().is_some() {
                vec![go_up(state)]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

fn go_up(state: &mut State) -> Effect {
    let from = state.pick.dir.clone();
    let parent = from.parent().map(Path::to_path_buf).unwrap_or(from.clone());
    enter_dir(state, parent, Some(from))
}

fn enter_dir(state: &mut State, dir: PathBuf, reselect: Option<PathBuf>) -> Effect {
    let pick = &mut state.pick;
    pick.dir = dir.clone();
    pick.listing = Loadable::Loading;
    pick.filter.clear();
    pick.selected = 0;
    pick.on_deployment = None;
    pick.reselect = reselect;
    Effect::List(dir)
}

/// Opens Preview of `path`: loads it, and probes the chosen network and signer for it.
fn open_preview(state: &mut State, path: PathBuf) -> Vec<Effect> {
    state.screen = ScreenKind::Preview;
    state.preview = Some(Preview {
        path: path.clone(),
        model: Loadable::Loading,
        selected: 0,
        focus: Pane::Layers,
        detail_scroll: 0,
    });
    let probe = state.target.request_probe(&path);
    std::iter::once(Effect::Load(path)).chain(probe).collect()
}

/// A key while the keystore's password prompt is open: every character is the password's
/// (Ctrl-C still quits), Enter unlocks, Esc goes back to the signer chosen before.
fn password_key(state: &mut State, key: Key) -> Vec<Effect> {
    let Some(path) = state.preview.as_ref().map(|p| p.path.clone()) else {
        state.target.password = None;
        return Vec::new();
    };
    if state.keymap.command(ScreenKind::Preview, key) == Some(Command::Quit) && key.text().is_none()
    {
        return request_quit(state);
    }
    let Some(prompt) = state.target.password.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Enter => state.target.submit_password(&path).into_iter().collect(),
        KeyCode::Esc => state.target.cancel_password(&path).into_iter().collect(),
        KeyCode::Backspace => {
            prompt.typed.pop();
            Vec::new()
        }
        _ => {
            if let Some(c) = key.text() {
                prompt.typed.push(c);
            }
            Vec::new()
        }
    }
}

/// Asks for the sniff of the highlighted file unless it is known or on its way.
fn request_sniff(state: &mut State) -> Option<Effect> {
    let entry = state.pick.highlighted()?;
    if !entry.kind.is_file()
        || state.pick.sniffs.contains_key(&entry.path)
        || state.pick.sniff_requested.as_ref() == Some(&entry.path)
    {
        return None;
    }
    let path = entry.path.clone();
    state.pick.sniff_requested = Some(path.clone());
    Some(Effect::Sniff(path))
}

fn preview_command(state: &mut State, command: Command) -> Vec<Effect> {
    let page = state.page();
    let Some(preview) = state.preview.as_mut() else {
        return Vec::new();
    };
    if is_move(command) {
        let Loadable::Ready(model) = &preview.model else {
            return Vec::new();
        };
        match preview.focus {
            Pane::Layers => {
                let at = moved(command, preview.selected, model.layers.len(), page);
                if at != preview.selected {
                    preview.detail_scroll = 0;
                }
                preview.selected = at;
            }
            Pane::Detail => {
                // Drawing stops at the last line; this bound only keeps the number sane.
                let lines = model
                    .layers
                    .get(preview.selected)
                    .map_or(0, |l| l.config.lines().count() + 40);
                let at = moved(command, usize::from(preview.detail_scroll), lines, page);
                preview.detail_scroll = u16::try_from(at).unwrap_or(u16::MAX);
            }
        }
        return Vec::new();
    }
    match command {
        Command::Network => {
            let path = preview.path.clone();
            state.target.next_network();
            state.target.request_probe(&path).into_iter().collect()
        }
        Command::Signer => {
            let path = preview.path.clone();
            state.target.cycle_signer(&path).into_iter().collect()
        }
        Command::SwitchPane => {
            preview.focus = match preview.focus {
                Pane::Layers => Pane::Detail,
                Pane::Detail => Pane::Layers,
            };
            Vec::new()
        }
        Command::Back => {
            let path = preview.path.clone();
            state.preview = None;
            state.screen = ScreenKind::Pick;
            if let Some(i) = state.pick.visible().iter().position(|e| e.path == path) {
                state.pick.selected = i;
            } else {
                state.pick.reselect = Some(path);
            }
            request_sniff(state).into_iter().collect()
        }
        Command::Deploy => {
            let refusal = match &preview.model {
                _ if state.target.probe == Probe::Locked => format!(
                    "{} is locked: s chooses it again to type its password, or another signer",
                    state
                        .target
                        .signer()
                        .map_or_else(|| "the keystore".into(), |s| s.label())
                ),
                _ if state.target.signer().is_none() => {
                    "no signer works on this network: n picks another network".into()
                }
                Loadable::Ready(model) => match model.deployable() {
                    Ok(()) => {
                        state.confirm = Some(Confirm {
                            hashes: model.hashes.clone(),
                            typed: String::new(),
                            stage: ConfirmStage::Typing,
                        });
                        state.screen = ScreenKind::Confirm;
                        return Vec::new();
                    }
                    Err(why) => why,
                },
                Loadable::Loading => "the model is still loading".into(),
                Loadable::Failed(_) => {
                    "this file could not be read, so it cannot be deployed".into()
                }
            };
            state.notice = Some(Notice {
                text: refusal,
                is_error: true,
            });
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn confirm_command(state: &mut State, command: Command) -> Vec<Effect> {
    let Some(confirm) = state.confirm.as_ref() else {
        return Vec::new();
    };
    match command {
        Command::Back => {
            state.confirm = None;
            state.screen = ScreenKind::Preview;
        }
        Command::Open => match confirm.stage {
            // The hash confirmed is the one the engine must find in the file again.
            ConfirmStage::Confirmed => {
                let hashed_model = confirm.hashes.hashed_model();
                let (Some(path), Some(network), Some(signer)) = (
                    state.preview.as_ref().map(|p| p.path.clone()),
                    state.target.network().map(|n| n.name.clone()),
                    state.target.signer().cloned(),
                ) else {
                    return Vec::new();
                };
                state.confirm = None;
                open_dashboard(state, path.clone());
                return vec![Effect::StartDeploy {
                    path,
                    hashed_model,
                    network,
                    signer,
                }];
            }
            ConfirmStage::Typing | ConfirmStage::Wrong => {
                state.notice = Some(Notice {
                    text: format!(
                        "type the first {CONFIRM_CHARS} characters of hashed_model to confirm"
                    ),
                    is_error: true,
                });
            }
        },
        _ => {}
    }
    Vec::new()
}

fn open_dashboard(state: &mut State, source: PathBuf) {
    state.dashboard = Some(Dashboard::new(source));
    state.screen = ScreenKind::Dashboard;
    state.help = false;
}

/// `q`: quits at once unless transactions are in flight, in which case it asks first. A
/// deployment still running is told to stop after what is in flight, so it stays resumable.
fn request_quit(state: &mut State) -> Vec<Effect> {
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

/// The dashboard's geometry on the current terminal (the chunk grid's columns decide what
/// up and down mean there).
fn dashboard_geometry(state: &State) -> DashboardAreas {
    dashboard_areas(state.size)
}

fn dashboard_command(state: &mut State, command: Command) -> Vec<Effect> {
    let geometry = dashboard_geometry(state);
    let Some(d) = state.dashboard.as_mut() else {
        return Vec::new();
    };
    let notice = |text: String, is_error: bool| Some(Notice { text, is_error });
    match command {
        Command::SwitchPane => {
            d.focus = d.focus.next();
            Vec::new()
        }
        Command::Up
        | Command::Down
        | Command::Left
        | Command::Right
        | Command::PageUp
        | Command::PageDown
        | Command::Top
        | Command::Bottom => {
            match d.focus {
                Panel::Contracts => {
                    let page = geometry.contract_rows.max(1);
                    d.selected_row = moved(command, d.selected_row, d.rows.len(), page);
                }
                Panel::Chunks => {
                    let cols = geometry.grid_columns.max(1);
                    let last = d.chunks.len().saturating_sub(1);
                    let at = d.selected_chunk;
                    let page = cols * geometry.grid_rows.max(1);
                    d.selected_chunk = match command {
                        Command::Left => at.saturating_sub(1),
                        Command::Right => at + 1,
                        Command::Up => at.checked_sub(cols).unwrap_or(at),
                        Command::Down if at + cols <= last => at + cols,
                        Command::Down => at,
                        Command::PageUp => at.saturating_sub(page),
                        Command::PageDown => at + page,
                        Command::Top => 0,
                        Command::Bottom => last,
                        _ => at,
                    }
                    .min(last);
                }
                Panel::Log => {
                    let page = geometry.log_rows.max(1);
                    let top = d.log.len().saturating_sub(geometry.log_rows);
                    // Up scrolls back in time: the offset counts lines above the newest.
                    d.log_scroll = match command {
                        Command::Up => d.log_scroll + 1,
                        Command::Down => d.log_scroll.saturating_sub(1),
                        Command::PageUp => d.log_scroll + page,
                        Command::PageDown => d.log_scroll.saturating_sub(page),
                        Command::Top => top,
                        Command::Bottom => 0,
                        _ => d.log_scroll,
                    }
                    .min(top);
                }
            }
            Vec::new()
        }
        Command::Retry => {
            if !d.running() {
                state.notice = notice(
                    "the deployment is not running; nothing to retry".into(),
                    true,
                );
                return Vec::new();
            }
            let Some((step, step_state)) = d.selected_step() else {
                state.notice = notice(
                    "select a failed contract or chunk to retry it (Tab moves between panels); R retries all".into(),
                    true,
                );
                return Vec::new();
            };
            let label = step_label(&step, &d.layer_names);
            if Phase::of(step_state) != Phase::Failed {
                state.notice = notice(
                    format!(
                        "{label} is {}: only a failed step can be retried",
                        Phase::of(step_state).word()
                    ),
                    true,
                );
                return Vec::new();
            }
            let attempts = match step_state {
                StepState::Failed { attempts, .. } => *attempts,
                _ => 0,
            };
            d.say(
                LogKind::Info,
                format!("retry of {label} asked for (after {attempts} attempts)"),
            );
            state.notice = notice(format!("retrying {label}"), false);
            vec![Effect::Command(EngineCommand::Retry(step))]
        }
        Command::RetryAll => {
            let failed = d.failed();
            if !d.running() || failed == 0 {
                state.notice = notice("nothing has failed: nothing to retry".into(), true);
                return Vec::new();
            }
            d.say(
                LogKind::Info,
                format!("retry of all {failed} failed steps asked for"),
            );
            state.notice = notice(format!("retrying {failed} failed steps"), false);
            vec![Effect::Command(EngineCommand::RetryAllFailed)]
        }
        Command::Pause => {
            if !d.running() {
                state.notice = notice("the deployment is not running".into(), true);
                return Vec::new();
            }
            d.pause_wanted = !d.pause_wanted;
            if d.pause_wanted {
                d.say(
                    LogKind::Info,
                    "pause asked for: no new transactions; those in flight still land",
                );
                vec![Effect::Command(EngineCommand::Pause)]
            } else {
                d.say(LogKind::Info, "resume asked for");
                vec![Effect::Command(EngineCommand::Resume)]
            }
        }
        Command::Back => {
            if d.running() {
                state.notice = notice(
                    "the deployment is running: q stops it (it can be resumed later)".into(),
                    false,
                );
                return Vec::new();
            }
            leave_deployment(state)
        }
        _ => Vec::new(),
    }
}

fn done_command(state: &mut State, command: Command) -> Vec<Effect> {
    match command {
        Command::Back => leave_deployment(state),
        Command::Verify => {
            let Some(d) = state.dashboard.as_mut() else {
                return Vec::new();
            };
            let Some(f) = d.finished.as_ref() else {
                return Vec::new();
            };
            if d.verify == Some(crate::tui::dashboard::Verification::Running) {
                return Vec::new();
            }
            d.verify = Some(crate::tui::dashboard::Verification::Running);
            vec![Effect::Verify {
                address: f.model_address.clone(),
                path: d.source.clone(),
            }]
        }
        _ => Vec::new(),
    }
}

/// From a finished or stopped deployment back to where it was started (Preview, probed again:
/// the balance and what the chain has changed) or Pick, listing the unfinished deployments
/// again.
fn leave_deployment(state: &mut State) -> Vec<Effect> {
    state.dashboard = None;
    let mut effects: Vec<Effect> = state
        .data_dir
        .clone()
        .map(Effect::ListDeployments)
        .into_iter()
        .collect();
    match state.preview.as_ref().map(|p| p.path.clone()) {
        Some(path) => {
            state.screen = ScreenKind::Preview;
            effects.extend(state.target.request_probe(&path));
        }
        None => state.screen = ScreenKind::Pick,
    }
    effects
}
