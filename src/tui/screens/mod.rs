//! One module per screen, each owning that screen's state and what its keys and its workers'
//! answers do to it: [`pick`], [`preview`], [`confirm`], [`dashboard`] (the deployment in
//! progress) and [`done`]. [`super::state::update`] only dispatches to them.
//!
//! A screen's handlers take the whole `&mut State`, because moving between screens (Pick opens
//! Preview, Confirm opens the dashboard) is theirs to do; they return the work they ask for as
//! [`Effect`](super::action::Effect)s, like `update`.
//!
//! Owns: each screen's key handling and the list movement they share. Must not touch: drawing
//! (`render`), the terminal, the deployment engine other than by effects.

pub mod confirm;
pub mod dashboard;
pub mod done;
pub mod pick;
pub mod preview;

use super::keymap::Command;

/// New index after a movement command in a list of `len` rows.
pub(crate) fn moved(command: Command, at: usize, len: usize, page: usize) -> usize {
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

pub(crate) fn is_move(command: Command) -> bool {
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
