//! The Preview screen: one model file or bundle, its layers beside the chosen layer's detail,
//! and the network, signer and weight format it would be deployed with. Owns [`Preview`], its
//! keys (move, switch pane, choose network, signer or format, deploy), the keystore password
//! prompt's keys, the loaded model's arrival and its formats' measurement.
//!
//! Must not touch: the probe's workings (`target` owns them; this screen only asks), the
//! other screens' state except opening Confirm or going back to Pick.

use super::{confirm, is_move, moved, pick};
use crate::chain::WeightFormat;
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Key, ScreenKind};
use crate::tui::model_view::ModelView;
use crate::tui::state::{Loadable, Notice, State, request_quit};
use crate::tui::target::Probe;
use crate::usecase::formats::FormatsReport;
use ratatui::crossterm::event::KeyCode;
use std::path::PathBuf;

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
    /// Every weight format measured (`inspect --formats`): costs and errors beside the sizes.
    pub formats: Loadable<Box<FormatsReport>>,
}

/// Opens Preview of `path`: loads it, and probes the chosen network and signer for it.
pub(crate) fn open(state: &mut State, path: PathBuf) -> Vec<Effect> {
    state.screen = ScreenKind::Preview;
    state.preview = Some(Preview {
        path: path.clone(),
        model: Loadable::Loading,
        selected: 0,
        focus: Pane::Layers,
        detail_scroll: 0,
        formats: Loadable::Loading,
    });
    let probe = state.target.request_probe(&path);
    [Effect::Load(path.clone()), Effect::MeasureFormats(path)]
        .into_iter()
        .chain(probe)
        .collect()
}

/// The formats of `path` were measured (or could not be); ignored if Preview shows another.
pub(crate) fn formats_measured(
    state: &mut State,
    path: PathBuf,
    result: Result<Box<FormatsReport>, String>,
) -> Vec<Effect> {
    if let Some(p) = state.preview.as_mut().filter(|p| p.path == path) {
        p.formats = match result {
            Ok(r) => Loadable::Ready(r),
            Err(e) => Loadable::Failed(e),
        };
    }
    Vec::new()
}

/// The weight format after `format`, in `WeightFormat::ALL`'s order, wrapping around.
pub fn next_format(format: WeightFormat) -> WeightFormat {
    let all = WeightFormat::ALL;
    let at = all.iter().position(|&f| f == format).unwrap_or(0);
    all[(at + 1) % all.len()]
}

/// The model of `path` arrived (or could not be read); ignored if Preview shows another.
pub(crate) fn loaded(
    state: &mut State,
    path: PathBuf,
    result: Result<Box<ModelView>, String>,
) -> Vec<Effect> {
    if let Some(p) = state.preview.as_mut().filter(|p| p.path == path) {
        p.model = match result {
            Ok(m) => Loadable::Ready(m),
            Err(e) => Loadable::Failed(e),
        };
    }
    Vec::new()
}

/// A key while the keystore's password prompt is open: every character is the password's
/// (Ctrl-C still quits), Enter unlocks, Esc goes back to the signer chosen before.
pub(crate) fn password_key(state: &mut State, key: Key) -> Vec<Effect> {
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

pub(crate) fn command(state: &mut State, command: Command) -> Vec<Effect> {
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
        Command::Format => {
            let path = preview.path.clone();
            state.target.format = next_format(state.target.format);
            state.target.request_probe(&path).into_iter().collect()
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
            pick::back_to(state, path)
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
                        let hashes = model.hashes.clone();
                        confirm::open(state, hashes);
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
