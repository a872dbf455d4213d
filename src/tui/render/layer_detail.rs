//! The Preview screen's detail pane for the selected layer: its config as pretty JSON
//! (scrollable when the pane has focus), its weight tensors with shapes and min/max/mean, and
//! a small histogram of all its weight values.

use super::panel;
use crate::tui::model_view::{Histogram, LayerView, Stats};
use crate::tui::state::{Loadable, Pane, State};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Rows of the histogram; each cell shows eighths, so 3 rows give 24 levels.
const HISTOGRAM_ROWS: usize = 3;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Some(preview) = &state.preview else {
        return;
    };
    let focused = preview.focus == Pane::Detail;
    let layer = match &preview.model {
        Loadable::Ready(m) => m.layers.get(preview.selected),
        _ => None,
    };
    let Some(layer) = layer else {
        frame.render_widget(panel("Layer", focused, theme), area);
        return;
    };
    let [config_area, weights_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);

    let config_lines: Vec<Line> = layer
        .config
        .lines()
        .map(|l| Line::from(l.to_string()))
        .collect();
    let visible = usize::from(config_area.height.saturating_sub(2));
    let max_scroll = config_lines.len().saturating_sub(visible);
    let scroll = usize::from(preview.detail_scroll).min(max_scroll);
    let more = if max_scroll > 0 {
        format!(
            " · lines {}–{} of {}",
            scroll + 1,
            (scroll + visible).min(config_lines.len()),
            config_lines.len()
        )
    } else {
        String::new()
    };
    let title = format!(
        "{} · {} · {}{more}",
        layer.name, layer.class_name, layer.config_source
    );
    frame.render_widget(
        Paragraph::new(config_lines)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
            .block(panel(title, focused, theme)),
        config_area,
    );

    let inner_width = usize::from(weights_area.width.saturating_sub(2));
    frame.render_widget(
        Paragraph::new(weight_lines(layer, inner_width, theme)).block(panel(
            format!("Weights of {}", layer.name),
            false,
            theme,
        )),
        weights_area,
    );
}

fn weight_lines(layer: &LayerView, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let dim = theme.style(Role::Dim);
    // Why this layer stops the deployment comes first: it is what the user came to learn.
    let mut lines = Vec::new();
    if let Some(why) = &layer.unsupported {
        let text = format!(
            "{} cannot be deployed: {why}",
            crate::usecase::inspect::UNSUPPORTED_MARK
        );
        for row in word_wrap(&text, width.saturating_sub(1)) {
            lines.push(Line::styled(format!(" {row}"), theme.style(Role::Bad)));
        }
    }
    let Some(tensors) = &layer.tensors else {
        lines.push(Line::styled(
            " tensor shapes unknown: eai's graph does not tell enough",
            dim,
        ));
        return lines;
    };
    if tensors.is_empty() {
        lines.push(Line::styled(" no weights", dim));
        return lines;
    }
    for t in tensors {
        let shape = t
            .shape
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("×");
        lines.push(Line::from(vec![
            Span::styled(format!(" {}", t.name), theme.style(Role::Accent)),
            Span::raw(format!("  {shape}")),
        ]));
        lines.push(Line::styled(
            format!("   {}", stats_text(t.stats.as_ref())),
            dim,
        ));
    }
    if let Some(h) = &layer.histogram {
        lines.push(Line::from(""));
        lines.extend(histogram_lines(h, width.saturating_sub(2), theme));
    }
    lines
}

/// `text` in rows of at most `width` characters, broken at spaces (a longer word is cut).
fn word_wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split(' ') {
        let (row_len, word_len) = (row.chars().count(), word.chars().count());
        if row_len > 0 && row_len + 1 + word_len > width {
            rows.push(std::mem::take(&mut row));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(word);
        while row.chars().count() > width {
            let head: String = row.chars().take(width).collect();
            row = row.chars().skip(width).collect();
            rows.push(head);
        }
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

fn stats_text(s: Option<&Stats>) -> String {
    match s {
        None => "empty".into(),
        Some(s) => format!(
            "min {}  max {}  mean {}",
            num(s.min),
            num(s.max),
            num(s.mean)
        ),
    }
}

/// Four significant digits; the same text on every platform.
fn num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e4 || x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

/// The histogram as columns of eighth blocks, one column per bin (bins are merged to fit the
/// width), with the value range underneath.
fn histogram_lines(h: &Histogram, width: usize, theme: Theme) -> Vec<Line<'static>> {
    const EIGHTHS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let width = width.max(1);
    let per = h.bins.len().div_ceil(width).max(1);
    let cols: Vec<usize> = h.bins.chunks(per).map(|c| c.iter().sum()).collect();
    let top = cols.iter().copied().max().unwrap_or(0).max(1);
    let levels = HISTOGRAM_ROWS * 8;
    let heights: Vec<usize> = cols
        .iter()
        .map(|&c| {
            let lv = (c * levels).div_ceil(top);
            // A non-empty bin always shows at least a sliver.
            if c > 0 { lv.max(1) } else { 0 }
        })
        .collect();
    let mut lines = Vec::new();
    for row in (0..HISTOGRAM_ROWS).rev() {
        let text: String = heights
            .iter()
            .map(|&hgt| EIGHTHS[hgt.saturating_sub(row * 8).min(8)])
            .collect();
        lines.push(Line::styled(format!(" {text}"), theme.style(Role::Accent)));
    }
    let count: usize = h.bins.iter().sum();
    lines.push(Line::styled(
        format!(
            " {} … {}  ({} values)",
            num(h.min),
            num(h.max),
            crate::units::thousands(count)
        ),
        theme.style(Role::Dim),
    ));
    lines
}
