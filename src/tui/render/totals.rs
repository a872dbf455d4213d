//! The Preview screen's totals: parameters, weight words, every weight format's cost and error
//! (bytes, chunks, estimated gas, largest error and argmax agreement, the chosen one marked),
//! the hashes, and the chosen network and signer with what their probe found (see `target`).

use super::{panel, target};
use crate::chain::WeightFormat;
use crate::tui::model_view::ModelView;
use crate::tui::state::{Loadable, State};
use crate::tui::theme::{Role, Theme};
use crate::units::thousands;
use crate::usecase::formats::{Baseline, FormatRow, FormatsReport, Samples};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The full panel, for beside the layer table on a wide terminal.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Some(Loadable::Ready(model)) = state.preview.as_ref().map(|p| &p.model) else {
        frame.render_widget(panel("Totals", false, theme), area);
        return;
    };
    let dim = theme.style(Role::Dim);
    let label = |s: &str| Span::styled(format!(" {s:<13}"), dim);
    let mut lines = vec![
        Line::from(vec![
            label("params"),
            Span::raw(match model.total_params {
                Some(p) => thousands(p),
                None => "? (eai's graph does not say for every layer)".into(),
            }),
        ]),
        Line::from(vec![
            label("weight words"),
            Span::raw(format!(
                "{} ({} values, 4 per word)",
                thousands(model.weight_words),
                thousands(model.weight_words * 4)
            )),
        ]),
    ];
    if let Some(why) = &model.not_exportable {
        lines.insert(
            0,
            Line::from(vec![
                label("deployable"),
                Span::styled(format!("✗ no: {why}"), theme.style(Role::Bad)),
            ]),
        );
    }
    lines.extend(format_table(state, model, theme));
    let (verdict, role) = verdict(model);
    lines.push(Line::from(vec![
        label("stored hash"),
        Span::styled(verdict, theme.style(role)),
    ]));
    // hashed_model is the graph hash then the weights hash: the start of each (Confirm shows
    // it whole).
    let start = |h: &str, n: usize| h.chars().take(n).collect::<String>();
    lines.push(Line::from(vec![
        label("hashed_model"),
        Span::raw(format!(
            "{}…{}…",
            start(&model.hashes.graph, 16),
            start(&model.hashes.weights, 8)
        )),
    ]));
    lines.extend(target::wide(&state.target, theme, 13));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(panel("Totals", false, theme)),
        area,
    );
}

/// What the stored hash says, in words and with the state's role.
fn verdict(model: &ModelView) -> (String, Role) {
    match model.hash_check {
        None => ("— (a model file)".to_string(), Role::Dim),
        Some(c) if c.verified() => ("✓ verified".to_string(), Role::Good),
        Some(c) => {
            let which = match (c.graph_ok, c.weights_ok) {
                (false, false) => "graph and weights halves",
                (false, true) => "graph half",
                _ => "weights half",
            };
            (format!("✗ MISMATCH: {which}"), Role::Bad)
        }
    }
}

/// Rows [`draw_compact`] needs, borders included.
pub const COMPACT_HEIGHT: u16 = 7;

/// Five lines under the layer table, for a narrow terminal.
pub fn draw_compact(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Some(Loadable::Ready(model)) = state.preview.as_ref().map(|p| &p.model) else {
        frame.render_widget(panel("Totals", false, theme), area);
        return;
    };
    let dim = theme.style(Role::Dim);
    let (verdict, role) = verdict(model);
    // hashed_model is on Confirm in full; here the stored hash's verdict is what matters.
    let mut lines = Vec::new();
    if let Some(why) = &model.not_exportable {
        lines.push(Line::styled(
            format!(" ✗ not deployable: {why}"),
            theme.style(Role::Bad),
        ));
    }
    lines.push(Line::from(vec![
        Span::styled(" params ", dim),
        Span::raw(match model.total_params {
            Some(p) => thousands(p),
            None => "?".into(),
        }),
        Span::styled(" · weight words ", dim),
        Span::raw(thousands(model.weight_words)),
        Span::styled(" · stored hash ", dim),
        Span::styled(verdict, theme.style(role)),
    ]));
    lines.push(chosen_format_line(state, model, theme));
    lines.extend(target::compact(
        &state.target,
        theme,
        usize::from(area.width.saturating_sub(2)),
    ));
    // Wrapped, so that a reason not to deploy is read whole (it pushes the sizes down).
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(panel("Totals", false, theme)),
        area,
    );
}

/// One format's numbers as the table shows them: from the measurement when it has arrived,
/// else the sizes alone (compact and exact are known without measuring).
struct FormatCells {
    bytes: String,
    chunks: String,
    gas: String,
    err: String,
    agree: String,
}

fn cells(
    model: &ModelView,
    formats: Option<&FormatsReport>,
    failed: bool,
    format: WeightFormat,
) -> FormatCells {
    let approx = |estimate: bool| if estimate { "~" } else { "≈" };
    let size = |bytes: usize| {
        if bytes >= 1_000_000 {
            crate::units::short(bytes)
        } else {
            thousands(bytes)
        }
    };
    let row: Option<&FormatRow> =
        formats.and_then(|r| r.formats.iter().find(|f| f.name == format.flag()));
    match row {
        Some(r) => FormatCells {
            bytes: format!("{}{}", if r.estimate { "~" } else { "" }, size(r.bytes)),
            chunks: r.chunks.to_string(),
            gas: format!(
                "{}{}",
                approx(r.estimate),
                crate::units::short(r.deploy_gas)
            ),
            err: sci(r.max_abs_err),
            agree: r.argmax_agree.clone().unwrap_or_else(|| "–".into()),
        },
        None => {
            let known = model.on_chain().into_iter().find(|s| s.format == format);
            // Still measuring, or measured without this format / could not measure.
            let pending = if formats.is_none() && !failed {
                "…"
            } else {
                "–"
            };
            match known {
                Some(s) => FormatCells {
                    bytes: size(s.bytes),
                    chunks: s.chunks.to_string(),
                    gas: format!("≈{}", crate::units::short(s.gas_estimate)),
                    err: pending.into(),
                    agree: pending.into(),
                },
                None => FormatCells {
                    bytes: pending.into(),
                    chunks: pending.into(),
                    gas: pending.into(),
                    err: pending.into(),
                    agree: pending.into(),
                },
            }
        }
    }
}

/// `9.3e-3`, or `0`.
fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.1e}")
    }
}

fn measured(state: &State) -> (Option<&FormatsReport>, Option<&str>) {
    match state.preview.as_ref().map(|p| &p.formats) {
        Some(Loadable::Ready(r)) => (Some(r), None),
        Some(Loadable::Failed(e)) => (None, Some(e.as_str())),
        _ => (None, None),
    }
}

/// What the errors are measured against, in a few words.
fn baseline(r: &FormatsReport) -> String {
    let n = r.sample_count;
    let against = match r.baseline {
        Baseline::Keras => "Keras",
        Baseline::ExactReference => "exact",
    };
    let samples = match r.samples {
        Samples::Drawn { .. } => format!("{n} drawn sample{}", if n == 1 { "" } else { "s" }),
        _ => format!("{n} sample{}", if n == 1 { "" } else { "s" }),
    };
    format!("err vs {against}, {samples}")
}

/// Every format, one row each, the chosen one marked; then what the errors are against.
fn format_table(state: &State, model: &ModelView, theme: Theme) -> Vec<Line<'static>> {
    let dim = theme.style(Role::Dim);
    let (report, failed) = measured(state);
    let mut lines = vec![Line::styled(
        format!(
            " {:<7}{:>9}{:>4}{:>8}{:>9}{:>6}",
            "format", "bytes", "ch.", "wt. gas", "max err", "argm."
        ),
        dim,
    )];
    for format in WeightFormat::ALL {
        let c = cells(model, report, failed.is_some(), format);
        let chosen = format == state.target.format;
        let text = format!(
            "{}{:<7}{:>9}{:>4}{:>8}{:>9}{:>6}",
            if chosen { "▸" } else { " " },
            format.flag(),
            c.bytes,
            c.chunks,
            c.gas,
            c.err,
            c.agree
        );
        lines.push(if chosen {
            Line::styled(text, theme.style(Role::Accent))
        } else {
            Line::raw(text)
        });
    }
    if let Some(g) = predict_gas(report, state.target.format) {
        lines.push(Line::from(vec![
            Span::styled(" predict gas ", dim),
            Span::raw(format!("≈{} (estimate, one call)", crate::units::short(g))),
        ]));
    }
    let note = match (report, failed) {
        (Some(r), _) => format!(" {} · f: format", baseline(r)),
        // The reason is the model's own (an unsupported layer, a weight out of range), which
        // the panel already says; here it would only push the hashes and the target away.
        (None, Some(_)) => " errors not measured: the reference cannot run this model".into(),
        (None, None) => " measuring the formats… · f: format".into(),
    };
    lines.push(Line::styled(note, dim));
    lines
}

/// The call planner's estimate of one predict call in `format`, once measured.
fn predict_gas(report: Option<&FormatsReport>, format: WeightFormat) -> Option<u64> {
    report?
        .formats
        .iter()
        .find(|f| f.name == format.flag())?
        .predict_gas
}

/// The chosen format on one line, for the narrow layout.
fn chosen_format_line(state: &State, model: &ModelView, theme: Theme) -> Line<'static> {
    let (report, failed) = measured(state);
    let format = state.target.format;
    let c = cells(model, report, failed.is_some(), format);
    let chunks = if c.chunks == "1" { "chunk" } else { "chunks" };
    let agree = if c.agree == "–" {
        String::new()
    } else {
        format!(", argmax {}", c.agree)
    };

    Line::from(vec![
        Span::styled(format!(" ▸{} ", format.flag()), theme.style(Role::Accent)),
        Span::raw(format!(
            "{} bytes, {} {chunks}, {} gas · err {}{agree}",
            c.bytes, c.chunks, c.gas, c.err
        )),
    ])
}
