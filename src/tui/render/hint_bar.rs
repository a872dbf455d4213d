//! The bottom two lines: the last action's message, and the keys of the screen in front,
//! taken from the same key table as the help overlay.

use crate::tui::keymap::{Command, ScreenKind};
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw_notice(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Some(n) = &state.notice else {
        return;
    };
    let (glyph, role) = if n.is_error {
        ("✗", Role::Bad)
    } else {
        ("ℹ", Role::Accent)
    };
    let line = Line::from(vec![
        Span::styled(format!(" {glyph} "), theme.style(role)),
        Span::styled(n.text.clone(), theme.style(role)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let mut spans = vec![Span::raw(" ")];
    if state.help {
        spans.push(Span::styled("Esc", theme.style(Role::Key)));
        spans.push(Span::raw(" close help"));
    } else if state.screen == ScreenKind::Preview && state.target.password.is_some() {
        // Every character is the password's: only the keys that are not text work.
        spans.push(Span::styled("type", theme.style(Role::Key)));
        spans.push(Span::raw(" the password  "));
        spans.push(Span::styled("Enter", theme.style(Role::Key)));
        spans.push(Span::raw(" unlock  "));
        spans.push(Span::styled("Esc", theme.style(Role::Key)));
        spans.push(Span::raw(" back  "));
        if let Some(quit) = state
            .keymap
            .keys_on(ScreenKind::Preview, Command::Quit)
            .find(|k| k.text().is_none())
        {
            spans.push(Span::styled(quit.to_string(), theme.style(Role::Key)));
            spans.push(Span::raw(" quit"));
        }
    } else {
        if state.screen == ScreenKind::Pick {
            spans.push(Span::styled("type", theme.style(Role::Key)));
            spans.push(Span::raw(" to filter  "));
        } else if state.screen == ScreenKind::Confirm {
            spans.push(Span::styled("type", theme.style(Role::Key)));
            spans.push(Span::raw(" the hash  "));
        }
        for (keys, word) in state.keymap.hints(state.screen) {
            spans.push(Span::styled(keys, theme.style(Role::Key)));
            spans.push(Span::raw(format!(" {word}  ")));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
