//! The Preview screen's layer table: idx, name, class, output shape, params, inputs. Only
//! the rows in view are built, so a model with thousands of layers draws as fast as a small one.
//! A layer eternalize cannot deploy has its class marked `✗` (a glyph, not only a colour).

use super::panel;
use crate::tui::model_view::{LayerView, count_text};
use crate::tui::state::{Loadable, Pane, State};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Some(preview) = &state.preview else {
        return;
    };
    let focused = preview.focus == Pane::Layers;
    let model = match &preview.model {
        Loadable::Ready(m) => m,
        Loadable::Loading => {
            frame.render_widget(
                Paragraph::new(Line::styled(" reading the model…", theme.style(Role::Dim)))
                    .block(panel("Layers", focused, theme)),
                area,
            );
            return;
        }
        Loadable::Failed(e) => {
            frame.render_widget(
                Paragraph::new(Line::styled(format!(" ✗ {e}"), theme.style(Role::Bad)))
                    .wrap(ratatui::widgets::Wrap { trim: true })
                    .block(panel("Layers", focused, theme)),
                area,
            );
            return;
        }
    };
    let layers = &model.layers;
    let title = format!(
        "Layers {}/{}",
        (preview.selected + 1).min(layers.len()),
        layers.len()
    );
    let block = panel(title, focused, theme);
    let rows_in_view = usize::from(block.inner(area).height.saturating_sub(1)).max(1);
    let offset = preview.selected.saturating_sub(rows_in_view - 1);
    let shown = &layers[offset.min(layers.len())..(offset + rows_in_view).min(layers.len())];

    // Widths from every layer, not just those in view, so columns stay put while scrolling.
    let col = |f: fn(&LayerView) -> usize, header: &str, cap: usize| {
        layers
            .iter()
            .map(f)
            .chain([header.chars().count()])
            .max()
            .unwrap_or(0)
            .min(cap) as u16
    };
    let widths = [
        Constraint::Length(col(|l| l.idx.to_string().len(), "idx", 6)),
        Constraint::Length(col(|l| l.name.chars().count(), "name", 28)),
        Constraint::Length(col(|l| class_text(l).chars().count(), "class", 24)),
        Constraint::Length(col(|l| l.output_shape.chars().count(), "output shape", 22)),
        Constraint::Length(col(|l| count_text(l.params).len(), "params", 12)),
        Constraint::Fill(1),
    ];
    let header = Row::new(["idx", "name", "class", "output shape", "params", "inputs"])
        .style(theme.style(Role::Dim));
    let rows = shown.iter().map(|l| {
        let class = match l.unsupported {
            Some(_) => Cell::from(Line::styled(class_text(l), theme.style(Role::Bad))),
            None => Cell::from(class_text(l)),
        };
        Row::new([
            Cell::from(Line::from(l.idx.to_string()).right_aligned()),
            Cell::from(l.name.clone()),
            class,
            Cell::from(l.output_shape.clone()),
            Cell::from(Line::from(count_text(l.params)).right_aligned()),
            Cell::from(if l.inputs.is_empty() {
                "-".to_string()
            } else {
                l.inputs.join(", ")
            }),
        ])
    });
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(theme.style(Role::Selected))
        .highlight_symbol("› ")
        .highlight_spacing(ratatui::widgets::HighlightSpacing::Always)
        .block(block);
    let mut view = TableState::default().with_selected(Some(preview.selected - offset));
    // A throwaway TableState: the selection lives in `State`, this only tells the widget.
    frame.render_stateful_widget(table, area, &mut view);
}

/// The class, marked when eternalize cannot deploy the layer.
fn class_text(l: &LayerView) -> String {
    match l.unsupported {
        Some(_) => format!(
            "{} {}",
            l.class_name,
            crate::usecase::inspect::UNSUPPORTED_MARK
        ),
        None => l.class_name.clone(),
    }
}
