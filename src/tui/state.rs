//! The TUI's whole state and the one function that changes it, [`update`]. Drawing reads
//! `&State`; work that takes time is asked for as an [`Effect`] and comes back as an
//! [`Action`], so `update` is pure and tests drive it with keys and results alone.

use super::action::{Action, Effect};
use super::keymap::{Command, Key, Keymap, ScreenKind, is_text_key};
use super::model_view::ModelView;
use super::work::{Entry, EntryKind, Sniff};
use crate::bundle::Hashes;
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

/// The Pick screen: a folder's model files.
///
/// ENGINE: unfinished deployments from the journal will be listed above the folder, as
/// `unfinished: Loadable<Vec<journal::Unfinished>>` filled by an `Effect::ListJournal`;
/// selecting one resumes it on the dashboard. Nothing is listed until the journal exists.
#[derive(Clone, Debug)]
pub struct Pick {
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
        self.visible().get(self.selected).copied()
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
    /// The state at start and the work to do first. Paths should be absolute.
    pub fn new(
        base: PathBuf,
        start: Start,
        keymap: Keymap,
        size: (u16, u16),
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
            help: false,
            quit: false,
            notice: None,
            ticks: 0,
        };
        if let Some(f) = file {
            effects.push(open_preview(&mut state, f));
        }
        (state, effects)
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
                Some(Command::Quit) => state.quit = true,
                _ => {}
            }
        }
        return Vec::new();
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
        Some(Command::Quit) => {
            state.quit = true;
            Vec::new()
        }
        Some(command) => match screen {
            ScreenKind::Pick => pick_command(state, command),
            ScreenKind::Preview => preview_command(state, command),
            ScreenKind::Confirm => confirm_command(state, command),
        },
        None => Vec::new(),
    }
}

fn text_field(state: &State) -> &str {
    match state.screen {
        ScreenKind::Pick => &state.pick.filter,
        ScreenKind::Confirm => state.confirm.as_ref().map_or("", |c| c.typed.as_str()),
        ScreenKind::Preview => "",
    }
}

fn type_char(state: &mut State, c: char) -> Vec<Effect> {
    match state.screen {
        ScreenKind::Pick => {
            state.pick.filter.push(c);
            state.pick.selected = 0;
            request_sniff(state).into_iter().collect()
        }
        ScreenKind::Confirm => {
            if let Some(confirm) = state.confirm.as_mut()
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
        ScreenKind::Preview => Vec::new(),
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
        ScreenKind::Preview => Vec::new(),
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
        state.pick.selected = moved(command, state.pick.selected, len, state.page());
        return request_sniff(state).into_iter().collect();
    }
    match command {
        Command::Open => {
            let Some(entry) = state.pick.highlighted().cloned() else {
                return Vec::new();
            };
            match entry.kind {
                EntryKind::Parent => vec![go_up(state)],
                EntryKind::Dir => vec![enter_dir(state, entry.path, None)],
                _ => {
                    let effect = open_preview(state, entry.path);
                    vec![effect]
                }
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
    pick.reselect = reselect;
    Effect::List(dir)
}

fn open_preview(state: &mut State, path: PathBuf) -> Effect {
    state.screen = ScreenKind::Preview;
    state.preview = Some(Preview {
        path: path.clone(),
        model: Loadable::Loading,
        selected: 0,
        focus: Pane::Layers,
        detail_scroll: 0,
    });
    Effect::Load(path)
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
            // ENGINE: a confirmed hash starts the deployment here (`Effect::StartDeploy`) and
            // moves to the dashboard; this build has no engine, so it says so and goes back.
            ConfirmStage::Confirmed => {
                state.confirm = None;
                state.screen = ScreenKind::Preview;
                state.notice = Some(Notice {
                    text: "Nothing was sent: deployment is not available in this build yet.".into(),
                    is_error: false,
                });
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
