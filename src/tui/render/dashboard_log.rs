//! The dashboard's event log: the engine's notes, failures with their numbers, pauses and
//! resumes, and what the operator asked for; the newest at the bottom.

use super::{clip, panel};
use crate::tui::dashboard::{Dashboard, LogKind, Panel};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, d: &Dashboard, theme: Theme) {
    let title = if d.log_scroll > 0 {
        format!("Log · {} lines back", d.log_scroll)
    } else {
        "Log".to_string()
    };
    let block = panel(title, d.focus == Panel::Log, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = usize::from(inner.height);
    let width = usize::from(inner.width).saturating_sub(3);
    let end = d.log.len().saturating_sub(d.log_scroll);
    let start = end.saturating_sub(rows);
    let lines: Vec<Line> = d
        .log
        .range(start..end)
        .map(|l| {
            let (glyph, role) = match l.kind {
                LogKind::Info => ("·", Role::Dim),
                LogKind::Good => ("✓", Role::Good),
                LogKind::Warn => ("!", Role::Warn),
                LogKind::Bad => ("✗", Role::Bad),
            };
            let text_role = if l.kind == LogKind::Info {
                None
            } else {
                Some(role)
            };
            Line::from(vec![
                Span::styled(format!(" {glyph} "), theme.style(role)),
                match text_role {
                    Some(r) => Span::styled(clip(&l.text, width), theme.style(r)),
                    None => Span::raw(clip(&l.text, width)),
                },
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
