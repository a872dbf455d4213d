//! The dashboard's contracts panel: factory, implementations, the model, one row per layer
//! contract (a batch of layer clones is one transaction, so its layers share its state) and
//! the construct step, each with its state by glyph, word and colour.

use super::dashboard::{detail_words, phase_role};
use super::{clip, panel};
use crate::tui::dashboard::{Dashboard, Panel, Phase};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, d: &Dashboard, theme: Theme) {
    let focused = d.focus == Panel::Contracts;
    let done = d.step_tally.done();
    let block = panel(
        format!("Contracts {done}/{}", d.step_tally.total()),
        focused,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if d.rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                if d.running() {
                    " waiting for the plan…"
                } else {
                    " no plan: nothing was sent"
                },
                theme.style(Role::Dim),
            )),
            inner,
        );
        return;
    }
    let rows = usize::from(inner.height).max(1);
    let width = usize::from(inner.width);
    let offset = d.selected_row.saturating_sub(rows - 1);
    let label_width = (width / 2).clamp(8, 22);
    let lines: Vec<Line> = d
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows)
        .map(|(i, row)| {
            let state = d.row_state(row);
            let phase = Phase::of(state);
            let selected = i == d.selected_row;
            let marker = if selected { "›" } else { " " };
            let label = format!(
                "{:<label_width$}",
                clip(&row.label(&d.layer_names), label_width)
            );
            let words = detail_words(state, false);
            let rest = width.saturating_sub(label_width + 5);
            let mut line = Line::from(vec![
                Span::raw(marker),
                Span::styled(
                    format!("{} ", phase.glyph()),
                    theme.style(phase_role(phase)),
                ),
                Span::raw(label),
                Span::raw(" "),
                Span::styled(clip(&words, rest), theme.style(phase_role(phase))),
            ]);
            if selected && focused {
                line = line.style(theme.style(Role::Selected));
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
