//! The Done screen: the deployment has finished. Owns its keys — verify the deployed model
//! against its file, run a sample input through it (`p`: pick an input file next to the model,
//! then the chain's and the reference's outputs side by side), go back — and their answers.
//!
//! The finished deployment itself is the dashboard's model ([`Dashboard::finished`]); this
//! module only reads it and asks for [`Effect::Verify`].
//!
//! [`Dashboard::finished`]: crate::tui::dashboard::Dashboard::finished

use super::dashboard::leave_deployment;
use super::moved;
use crate::tui::action::Effect;
use crate::tui::dashboard::{Sampling, Verification};
use crate::tui::keymap::Command;
use crate::tui::state::State;
use crate::usecase::predict::SideBySide;
use std::path::PathBuf;

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

/// The input files found next to the model: choose one (the model's own test input first).
pub(crate) fn samples(state: &mut State, result: Result<Vec<PathBuf>, String>) -> Vec<Effect> {
    let Some(d) = state.dashboard.as_mut() else {
        return Vec::new();
    };
    if d.sample != Some(Sampling::Finding) {
        return Vec::new();
    }
    let dir = d
        .source
        .parent()
        .map_or_else(|| ".".to_string(), |p| p.display().to_string());
    d.sample = Some(match result {
        Ok(samples) if samples.is_empty() => Sampling::Nothing(format!(
            "no .npy or .json input next to the model: put one in {dir} and press p again"
        )),
        Ok(samples) => Sampling::Choosing {
            samples,
            selected: 0,
        },
        Err(e) => Sampling::Nothing(e),
    });
    Vec::new()
}

/// What the chain and the reference answered.
pub(crate) fn predicted(state: &mut State, result: Result<Box<SideBySide>, String>) -> Vec<Effect> {
    let Some(d) = state.dashboard.as_mut() else {
        return Vec::new();
    };
    let Some(Sampling::Running { input }) = d.sample.take() else {
        return Vec::new();
    };
    d.sample = Some(match result {
        Ok(both) => Sampling::Done(both),
        Err(error) => Sampling::Failed { input, error },
    });
    Vec::new()
}

/// `p`: find the inputs (or, while choosing, run the selected one).
fn predict(state: &mut State) -> Vec<Effect> {
    let Some(d) = state.dashboard.as_mut() else {
        return Vec::new();
    };
    match d.sample {
        Some(Sampling::Choosing { .. }) => run_selected(state),
        Some(Sampling::Finding | Sampling::Running { .. }) => Vec::new(),
        _ => {
            d.sample = Some(Sampling::Finding);
            vec![Effect::FindSamples(d.source.clone())]
        }
    }
}

fn run_selected(state: &mut State) -> Vec<Effect> {
    let Some(d) = state.dashboard.as_mut() else {
        return Vec::new();
    };
    let (Some(f), Some(Sampling::Choosing { samples, selected })) =
        (d.finished.as_ref(), d.sample.as_ref())
    else {
        return Vec::new();
    };
    let Some(input) = samples.get(*selected).cloned() else {
        return Vec::new();
    };
    let effect = Effect::Predict {
        address: f.model_address.clone(),
        path: d.source.clone(),
        input: input.clone(),
    };
    d.sample = Some(Sampling::Running { input });
    vec![effect]
}

pub(crate) fn command(state: &mut State, command: Command) -> Vec<Effect> {
    let choosing = matches!(
        state.dashboard.as_ref().and_then(|d| d.sample.as_ref()),
        Some(Sampling::Choosing { .. })
    );
    match command {
        Command::Predict => predict(state),
        Command::Open if choosing => run_selected(state),
        Command::Back if choosing => {
            if let Some(d) = state.dashboard.as_mut() {
                d.sample = None;
            }
            Vec::new()
        }
        c if choosing && super::is_move(c) => {
            if let Some(Sampling::Choosing { samples, selected }) =
                state.dashboard.as_mut().and_then(|d| d.sample.as_mut())
            {
                *selected = moved(c, *selected, samples.len(), 5);
            }
            Vec::new()
        }
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
