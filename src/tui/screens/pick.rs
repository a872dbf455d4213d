//! The Pick screen: the unfinished deployments from the journal above a folder's model files,
//! filtered by what is typed. Owns [`Pick`], its keys (move, filter, open, up a folder) and the
//! answers of the workers that list folders and deployments and sniff files.
//!
//! Must not touch: the other screens' state, except opening Preview or the dashboard.

use super::{dashboard, is_move, moved, preview};
use crate::journal;
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, ScreenKind};
use crate::tui::state::{Loadable, Notice, State};
use crate::tui::work::{Entry, EntryKind, Sniff};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
    /// `dir` while its listing is on its way; `reselect` is highlighted once it arrives.
    pub(crate) fn new(dir: PathBuf, reselect: Option<PathBuf>) -> Pick {
        Pick {
            deployments: Vec::new(),
            on_deployment: None,
            dir,
            listing: Loadable::Loading,
            filter: String::new(),
            selected: 0,
            reselect,
            sniffs: HashMap::new(),
            sniff_requested: None,
        }
    }

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

/// A folder's listing arrived.
pub(crate) fn listed(
    state: &mut State,
    dir: PathBuf,
    result: Result<Vec<Entry>, String>,
) -> Vec<Effect> {
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

/// A file's one-line sniff arrived.
pub(crate) fn sniffed(
    state: &mut State,
    path: PathBuf,
    result: Result<Sniff, String>,
) -> Vec<Effect> {
    if state.pick.sniff_requested.as_ref() == Some(&path) {
        state.pick.sniff_requested = None;
    }
    state.pick.sniffs.insert(path, result);
    // The highlight may have moved on while this one was being sniffed.
    request_sniff(state).into_iter().collect()
}

/// The deployments of the data dir arrived; only the unfinished ones are kept.
pub(crate) fn deployments(
    state: &mut State,
    result: Result<Vec<journal::Summary>, String>,
) -> Vec<Effect> {
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

/// A character typed into the filter.
pub(crate) fn type_char(state: &mut State, c: char) -> Vec<Effect> {
    state.pick.filter.push(c);
    state.pick.selected = 0;
    state.pick.on_deployment = None;
    request_sniff(state).into_iter().collect()
}

/// Backspace in the filter.
pub(crate) fn delete_char(state: &mut State) -> Vec<Effect> {
    state.pick.filter.pop();
    state.pick.selected = 0;
    request_sniff(state).into_iter().collect()
}

pub(crate) fn command(state: &mut State, command: Command) -> Vec<Effect> {
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
            dashboard::open(state, source);
            vec![Effect::Resume(d.id)]
        }
        Command::Open => {
            let Some(entry) = state.pick.highlighted().cloned() else {
                return Vec::new();
            };
            match entry.kind {
                EntryKind::Parent => vec![go_up(state)],
                EntryKind::Dir => vec![enter_dir(state, entry.path, None)],
                _ => preview::open(state, entry.path),
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

/// Back on Pick from Preview of `path`: its entry is highlighted (now, or once the listing
/// arrives).
pub(crate) fn back_to(state: &mut State, path: PathBuf) -> Vec<Effect> {
    state.screen = ScreenKind::Pick;
    if let Some(i) = state.pick.visible().iter().position(|e| e.path == path) {
        state.pick.selected = i;
    } else {
        state.pick.reselect = Some(path);
    }
    request_sniff(state).into_iter().collect()
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
