//! The Confirm screen: before anything is sent, the operator types the first characters of
//! the model's `hashed_model`. Owns [`Confirm`], the typing of those characters and the keys
//! that go back to Preview or start the deployment.
//!
//! Must not touch: the deployment itself (it is asked for as [`Effect::StartDeploy`]).

use super::dashboard;
use crate::bundle::Hashes;
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, ScreenKind};
use crate::tui::state::{Notice, State};

/// How many characters of `hashed_model` the operator types to confirm.
pub const CONFIRM_CHARS: usize = 4;

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

/// Opens Confirm for the model whose hashes these are.
pub(crate) fn open(state: &mut State, hashes: Hashes) {
    state.confirm = Some(Confirm {
        hashes,
        typed: String::new(),
        stage: ConfirmStage::Typing,
    });
    state.screen = ScreenKind::Confirm;
}

/// A character typed towards the hash.
pub(crate) fn type_char(state: &mut State, c: char) -> Vec<Effect> {
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

/// Backspace: a wrong guess can be corrected; a confirmed one stays.
pub(crate) fn delete_char(state: &mut State) -> Vec<Effect> {
    if let Some(c) = state.confirm.as_mut()
        && c.stage != ConfirmStage::Confirmed
    {
        c.typed.pop();
        c.stage = ConfirmStage::Typing;
    }
    Vec::new()
}

pub(crate) fn command(state: &mut State, command: Command) -> Vec<Effect> {
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
                let format = state.target.format;
                let (Some(path), Some(network), Some(signer)) = (
                    state.preview.as_ref().map(|p| p.path.clone()),
                    state.target.network().map(|n| n.name.clone()),
                    state.target.signer().cloned(),
                ) else {
                    return Vec::new();
                };
                state.confirm = None;
                dashboard::open(state, path.clone());
                return vec![Effect::StartDeploy {
                    path,
                    hashed_model,
                    network,
                    signer,
                    format,
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
