//! The Deploy screen (`ScreenKind::Dashboard`): a deployment in progress. Owns what its keys do
//! — move within the contracts, chunks and log panels, retry, pause, go back — the quit
//! question asked while transactions are in flight, the engine's events, and opening and
//! leaving a deployment.
//!
//! The deployment's model (contracts, chunks, log, what finished) is [`Dashboard`] in
//! `tui::dashboard`, and its geometry is `render::dashboard`'s; this module changes the one
//! through the other's measurements and must not draw.

use super::moved;
use crate::engine::{Command as EngineCommand, DeployEvent, StepState};
use crate::tui::action::Effect;
use crate::tui::dashboard::{Dashboard, LogKind, Panel, Phase, step_label};
use crate::tui::keymap::{Command, Key, ScreenKind};
use crate::tui::render::dashboard::{DashboardAreas, dashboard_areas};
use crate::tui::state::{Notice, State};
use std::path::PathBuf;

/// Shows a new (or resumed) deployment of `source` on the dashboard.
pub(crate) fn open(state: &mut State, source: PathBuf) {
    state.dashboard = Some(Dashboard::new(source));
    state.screen = ScreenKind::Dashboard;
    state.help = false;
}

/// What the engine reported; once the deployment has finished, Done replaces the dashboard.
pub(crate) fn engine_event(state: &mut State, event: DeployEvent) -> Vec<Effect> {
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

/// While "quit with transactions in flight?" is asked, the next key answers it: yes quits,
/// anything else stays. `None` when no question is open.
pub(crate) fn answer_quit(state: &mut State, key: Key) -> Option<Vec<Effect>> {
    let d = state.dashboard.as_mut()?;
    if state.screen != ScreenKind::Dashboard || !d.confirm_quit {
        return None;
    }
    d.confirm_quit = false;
    if state.keymap.command(ScreenKind::Dashboard, key) == Some(Command::Yes) {
        state.quit = true;
        return Some(vec![Effect::Command(EngineCommand::Abort)]);
    }
    state.notice = Some(Notice {
        text: "still deploying".into(),
        is_error: false,
    });
    Some(Vec::new())
}

/// The dashboard's geometry on the current terminal (the chunk grid's columns decide what
/// up and down mean there).
fn geometry(state: &State) -> DashboardAreas {
    dashboard_areas(state.size)
}

pub(crate) fn command(state: &mut State, command: Command) -> Vec<Effect> {
    let geometry = geometry(state);
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

/// From a finished or stopped deployment back to where it was started (Preview, probed again:
/// the balance and what the chain has changed) or Pick, listing the unfinished deployments
/// again.
pub(crate) fn leave_deployment(state: &mut State) -> Vec<Effect> {
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
