//! The dashboard's chunk grid: one cell per weight chunk, its state as a glyph and a colour
//! (the glyph alone is enough without colour), the selected cell reversed. Rows scroll to keep
//! the selection in view. Cells are written straight into the buffer: at 5,000 chunks this
//! panel is most of a frame.

use super::dashboard::phase_role;
use super::panel;
use crate::tui::dashboard::{Dashboard, Panel, Phase};
use crate::tui::theme::{Role, Theme};
use crate::units::thousands;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, d: &Dashboard, theme: Theme) {
    let focused = d.focus == Panel::Chunks;
    let total = d.chunks.len();
    let cols = usize::from(area.width.saturating_sub(2)).max(1);
    let rows = usize::from(area.height.saturating_sub(2)).max(1);
    let all_rows = total.div_ceil(cols);
    let selected_row = d.selected_chunk / cols;
    let first_row = selected_row.saturating_sub(rows - 1);
    let mut title = format!(
        "Chunks {}/{}",
        thousands(d.chunk_tally.done()),
        thousands(total)
    );
    if all_rows > rows {
        title.push_str(&format!(
            " · rows {}–{} of {all_rows}",
            first_row + 1,
            (first_row + rows).min(all_rows)
        ));
    }
    let block = panel(title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if total == 0 {
        frame.render_widget(
            Paragraph::new(Line::styled(
                " no chunks planned yet",
                theme.style(Role::Dim),
            )),
            inner,
        );
        return;
    }
    let styles = Phase::ALL.map(|p| theme.style(phase_role(p)));
    let selected_style = theme.style(Role::Selected);
    let buf = frame.buffer_mut();
    let start = first_row * cols;
    for (k, state) in d.chunks.iter().enumerate().skip(start).take(rows * cols) {
        let at = k - start;
        let x = inner.x + (at % cols) as u16;
        let y = inner.y + (at / cols) as u16;
        let phase = Phase::of(state);
        let mut style = styles[phase as usize];
        if k == d.selected_chunk {
            style = if focused {
                style.patch(selected_style)
            } else {
                style.add_modifier(Modifier::UNDERLINED)
            };
        }
        if let Some(cell) = buf.cell_mut((x, y)) {
            cell.set_char(phase.glyph()).set_style(style);
        }
    }
}
