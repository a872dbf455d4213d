//! The Preview screen's totals: parameters, weight words, what the weights take on-chain in
//! both formats (bytes, chunks, estimated gas), the hashes, and the chosen network and signer
//! with what their probe found (see `target`).

use super::{panel, target};
use crate::tui::model_view::{CHUNK_BYTES, ModelView};
use crate::tui::state::{Loadable, State};
use crate::tui::theme::{Role, Theme};
use crate::units::thousands;
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
        Line::styled(
            format!(
                " {:<16}{:>9} {:>6} {:>9}",
                "on-chain as", "bytes", "chunks", "wt. gas"
            ),
            dim,
        ),
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
    for s in model.on_chain() {
        lines.push(Line::from(format!(
            " {:<16}{:>9} {:>6} {:>9}",
            crate::tui::model_view::format_label(s.format),
            if s.bytes >= 1_000_000 {
                crate::units::short(s.bytes)
            } else {
                thousands(s.bytes)
            },
            s.chunks,
            format!("≈{}", crate::units::short(s.gas_estimate))
        )));
    }
    let (verdict, role) = verdict(model);
    lines.push(Line::from(vec![
        label("stored hash"),
        Span::styled(verdict, theme.style(role)),
    ]));
    let short = |h: &str| format!("{}…", h.chars().take(16).collect::<String>());
    lines.push(Line::from(vec![
        label("hashed_model"),
        Span::raw(short(&model.hashes.hashed_model())),
    ]));
    lines.push(Line::from(vec![
        label("graph hash"),
        Span::raw(short(&model.hashes.graph)),
    ]));
    lines.push(Line::from(vec![
        label("weights hash"),
        Span::raw(short(&model.hashes.weights)),
    ]));
    lines.extend(target::wide(&state.target, theme, 13));
    lines.push(Line::styled(
        format!(
            " gas est.: ~220 gas/byte, {}-byte chunks",
            thousands(CHUNK_BYTES)
        ),
        dim,
    ));
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
    for s in model.on_chain() {
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {:<16}", crate::tui::model_view::format_label(s.format)),
                dim,
            ),
            Span::raw(format!(
                "{} bytes · {} chunk{} · ≈{} gas for the weights",
                thousands(s.bytes),
                s.chunks,
                if s.chunks == 1 { "" } else { "s" },
                crate::units::short(s.gas_estimate)
            )),
        ]));
    }
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
