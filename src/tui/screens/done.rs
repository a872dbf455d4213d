//! The Done screen: the deployment has finished. Owns its keys — verify the deployed model
//! against its file, go back — and the verification's answer.
//!
//! The finished deployment itself is the dashboard's model ([`Dashboard::finished`]); this
//! module only reads it and asks for [`Effect::Verify`].
//!
//! [`Dashboard::finished`]: crate::tui::dashboard::Dashboard::finished

use super::dashboard::leave_deployment;
use crate::tui::action::Effect;
use crate::tui::dashboard::Verification;
use crate::tui::keymap::Command;
use crate::tui::state::State;

/// What `verify` found for the deployed model (or why it could not run).
pub(crate) fn verified(
    state: &mut State,
    result: Result<(crate::usecase::verify::Verdict, Vec<String>), String>,
) -> Vec<Effect> {
    if let Some(d) = state.dashboard.as_mut() {
        d.verify = Some(match result {
            Ok((verdict, lines)) => Verification::Done { verdict, lines },
            Err(e) => Verification::Failed(e),
        });
    }
    Vec::new()
}

pub(crate) fn command(state: &mut State, command: Command) -> Vec<Effect> {
    match command {
        Command::Back => leave_deployment(state),
        Command::Verify => {
            let Some(d) = state.dashboard.as_mut() else {
                return Vec::new();
            };
            let Some(f) = d.finished.as_ref() else {
                return Vec::new();
            };
            if d.verify == Some(Verification::Running) {
                return Vec::new();
            }
            d.verify = Some(Verification::Running);
            vec![Effect::Verify {
                address: f.model_address.clone(),
                path: d.source.clone(),
            }]
        }
        _ => Vec::new(),
    }
}
