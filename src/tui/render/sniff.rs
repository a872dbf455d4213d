//! One line about the highlighted file: format, Keras version, model class, layers, params,
//! and for a bundle whether its stored hash holds. Computed off the UI thread and cached.

use super::panel;
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};
use crate::units::thousands;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let entry = state.pick.highlighted();
    let title = entry.map_or_else(String::new, |e| e.name.clone());
    let line = match entry {
        None => Line::from(""),
        Some(e) if !e.kind.is_file() => {
            Line::styled(" a folder: Enter opens it", theme.style(Role::Dim))
        }
        Some(e) => match state.pick.sniffs.get(&e.path) {
            None => Line::styled(" reading…", theme.style(Role::Dim)),
            Some(Err(why)) => Line::styled(format!(" ✗ {why}"), theme.style(Role::Bad)),
            Some(Ok(s)) => {
                let mut parts = vec![s.format.to_string()];
                if let Some(v) = &s.keras_version {
                    parts.push(format!("Keras {v}"));
                }
                if let Some(c) = &s.model_class {
                    parts.push(c.clone());
                }
                parts.push(format!("{} layers", s.layers));
                parts.push(match s.params {
                    Some(p) => format!("{} params", thousands(p)),
                    None => "params unknown (eai bundle)".into(),
                });
                let mut spans = vec![Span::raw(format!(" {}", parts.join(" · ")))];
                match s.hash_verified {
                    Some(true) => {
                        spans.push(Span::raw(" · "));
                        spans.push(Span::styled("✓ hash verified", theme.style(Role::Good)));
                    }
                    Some(false) => {
                        spans.push(Span::raw(" · "));
                        spans.push(Span::styled("✗ hash MISMATCH", theme.style(Role::Bad)));
                    }
                    None => {}
                }
                Line::from(spans)
            }
        },
    };
    frame.render_widget(Paragraph::new(line).block(panel(title, false, theme)), area);
}
