//! The Done screen: where the model is, and what its deployment took. The same rows are
//! printed to stdout once the terminal is restored.

use super::panel;
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Some(f) = state.dashboard.as_ref().and_then(|d| d.finished.as_ref()) else {
        return;
    };
    let dim = theme.style(Role::Dim);
    let mut lines = vec![
        Line::styled(
            " ✓ The Eternal is deployed: its model contract is ready.",
            theme.style(Role::Good),
        ),
        Line::from(""),
    ];
    let room = usize::from(area.width).saturating_sub(18);
    for (label, value) in f.rows() {
        // A path keeps its end (the file name) when cut; stdout gets it whole.
        let value = super::dashboard::clip_left(&value, room);
        lines.push(Line::from(vec![
            Span::styled(format!(" {label:<14}"), dim),
            if label == "model" {
                Span::styled(value, theme.style(Role::Accent))
            } else {
                Span::raw(value)
            },
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        " This summary is printed again when eternalize exits. Esc goes back; q quits.",
        dim,
    ));
    frame.render_widget(
        Paragraph::new(lines).block(panel("Done", true, theme)),
        area,
    );
}
