//! The keystore's password box, drawn over Preview while a locked keystore is chosen: one `•`
//! per character typed (never the characters), the last attempt's failure, and what Enter and
//! Esc do.
//!
//! Owns: that box. Must not touch: the password beyond counting its characters.

use super::popup;
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// Bullets shown at most (a longer password scrolls out of the box on the left).
const MAX_BULLETS: usize = 40;

pub fn draw(frame: &mut Frame, body: Rect, state: &State, theme: Theme) {
    let Some(prompt) = &state.target.password else {
        return;
    };
    let width = body.width.saturating_sub(4).min(64);
    let height = 7u16.min(body.height);
    let dim = theme.style(Role::Dim);
    let bullets = "•".repeat(prompt.typed.len().min(MAX_BULLETS));
    let lines = vec![
        Line::from(vec![
            Span::styled(" password ", dim),
            Span::styled(format!("{bullets}▏"), theme.style(Role::Accent)),
        ]),
        match &prompt.error {
            Some(e) => Line::styled(format!(" ✗ {e}"), theme.style(Role::Bad)),
            None => Line::from(""),
        },
        Line::from(vec![
            Span::raw(" "),
            Span::styled("Enter", theme.style(Role::Key)),
            Span::raw(" unlocks · "),
            Span::styled("Esc", theme.style(Role::Key)),
            Span::raw(" picks another signer"),
        ]),
        Line::styled(" The key stays in memory until eternalize quits.", dim),
    ];
    popup(
        frame,
        body,
        (width, height),
        format!("Unlock {}", prompt.keystore),
        lines,
        theme,
    );
}
