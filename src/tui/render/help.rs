//! The `?` overlay: every command of the screen in front with all its keys, then the keys of
//! the other screens in one line each — from the same table as the hint bar.

use crate::tui::keymap::{Command, ScreenKind};
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let key_width = state
        .keymap
        .bindings
        .iter()
        .map(|b| keys_text(&b.keys).chars().count())
        .max()
        .unwrap_or(0)
        .min(20);
    let mut lines: Vec<Line> = Vec::new();
    // Commands of other screens, grouped by where they apply: `(screens, keys)`.
    let mut elsewhere: Vec<(String, Vec<String>)> = Vec::new();
    for b in &state.keymap.bindings {
        if !b.command.screens().contains(&state.screen) {
            let screens = screens_text(b.command);
            let key = b.keys.first().map(ToString::to_string).unwrap_or_default();
            match elsewhere.iter_mut().find(|(s, _)| *s == screens) {
                Some((_, keys)) => keys.push(key),
                None => elsewhere.push((screens, vec![key])),
            }
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {:<key_width$}  ", keys_text(&b.keys)),
                theme.style(Role::Key),
            ),
            Span::raw(b.command.describe()),
        ]));
    }
    for (screens, keys) in elsewhere {
        lines.push(Line::styled(
            format!(" on {screens}: {}", keys.join(" ")),
            theme.style(Role::Dim),
        ));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(
        " On Pick and Confirm, letters are typed into the field: quit there with ^C.",
    ));
    lines.push(Line::from(
        " Keys can be changed in the [keys] table of the config file (--config).",
    ));
    let width = area.width.saturating_sub(4).min(84);
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    super::popup(
        frame,
        area,
        (width, height),
        "Keys — ? or Esc closes",
        lines,
        theme,
    );
}

fn keys_text(keys: &[crate::tui::keymap::Key]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn screens_text(c: Command) -> String {
    c.screens()
        .iter()
        .map(|s: &ScreenKind| s.title())
        .collect::<Vec<_>>()
        .join(", ")
}
