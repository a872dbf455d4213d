//! Drawn instead of everything else when the terminal is below the minimum size.

use crate::tui::state::{MIN_HEIGHT, MIN_WIDTH};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub fn draw(frame: &mut Frame, area: Rect, theme: Theme) {
    let lines = vec![
        Line::from(Span::styled("Terminal too small", theme.style(Role::Bad))),
        Line::from(format!(
            "It is {}×{}; eternalize needs at least {MIN_WIDTH}×{MIN_HEIGHT} (columns×rows).",
            area.width, area.height
        )),
        Line::from("Enlarge the window or use a smaller font. Ctrl-C quits."),
    ];
    let top = area.height.saturating_sub(lines.len() as u16 + 2) / 2;
    let body = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        body,
    );
}
