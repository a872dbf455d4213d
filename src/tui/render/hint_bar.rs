//! The bottom two lines: the last action's message, and the keys of the screen in front,
//! taken from the same key table as the help overlay.

use crate::tui::keymap::ScreenKind;
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
