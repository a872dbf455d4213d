//! The Done screen: where the model is, and what its deployment took. The same rows are
//! printed to stdout once the terminal is restored.

use super::panel;
use crate::tui::dashboard::{Sampling, Verification};
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};
use crate::usecase::predict::ComparedOutput;
use crate::usecase::verify::Verdict;
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
    let verify = state.dashboard.as_ref().and_then(|d| d.verify.as_ref());
    match verify {
        None => lines.push(Line::styled(
            " v verifies the chain against this file: hash, graph, every weight, predict.",
            dim,
        )),
        Some(Verification::Running) => {
            lines.push(Line::styled(" verify: reading the chain…", dim));
        }
        Some(Verification::Failed(e)) => {
            lines.push(Line::styled(
                format!(" ✗ verify could not run: {e}"),
                theme.style(Role::Bad),
            ));
        }
        Some(Verification::Done {
            verdict,
            lines: parts,
        }) => {
            let (text, role) = match verdict {
                Verdict::Equal => (" ✓ verified: the chain holds exactly this file", Role::Good),
                Verdict::Differs => (" ✗ verify: the chain differs from this file", Role::Bad),
                Verdict::Incomplete => (
                    " ? verify incomplete: nothing differs, but predict could not run",
                    Role::Warn,
                ),
            };
            lines.push(Line::styled(text, theme.style(role)));
            for p in parts {
                lines.push(Line::raw(format!("   {p}")));
            }
        }
    }
    lines.push(Line::from(""));
    let sample = state.dashboard.as_ref().and_then(|d| d.sample.as_ref());
    sample_lines(&mut lines, sample, theme);
    lines.push(Line::styled(
        " This summary is printed again when eternalize exits. Esc goes back; q quits.",
        dim,
    ));
    frame.render_widget(
        Paragraph::new(lines).block(panel("Done", true, theme)),
        area,
    );
}

/// The `p` part: the input list, or the chain's and the reference's outputs side by side.
fn sample_lines(lines: &mut Vec<Line<'static>>, sample: Option<&Sampling>, theme: Theme) {
    let dim = theme.style(Role::Dim);
    let file = |p: &std::path::Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    match sample {
        None => lines.push(Line::styled(
            " p runs a sample input through the chain and offline, side by side.",
            dim,
        )),
        Some(Sampling::Finding) => {
            lines.push(Line::styled(" predict: looking for inputs…", dim));
        }
        Some(Sampling::Nothing(why)) => lines.push(Line::styled(
            format!(" ✗ predict: {why}"),
            theme.style(Role::Bad),
        )),
        Some(Sampling::Choosing { samples, selected }) => {
            lines.push(Line::raw(
                " Predict on which input?  ↑↓ choose · enter runs · esc closes",
            ));
            // A window of at most 6 around the selection.
            let start = selected.saturating_sub(5);
            for (i, p) in samples.iter().enumerate().skip(start).take(6) {
                let text = format!("   {} {}", if i == *selected { "▸" } else { " " }, file(p));
                lines.push(if i == *selected {
                    Line::styled(text, theme.style(Role::Accent))
                } else {
                    Line::raw(text)
                });
            }
        }
        Some(Sampling::Running { input }) => lines.push(Line::styled(
            format!(
                " predict: {} through the chain and the reference…",
                file(input)
            ),
            dim,
        )),
        Some(Sampling::Failed { input, error }) => lines.push(Line::styled(
            format!(" ✗ predict on {} could not run: {error}", file(input)),
            theme.style(Role::Bad),
        )),
        Some(Sampling::Done(both)) => {
            let (verdict, role) = if both.bit_exact() {
                ("on-chain equals offline bit for bit", Role::Good)
            } else {
                ("on-chain DIFFERS from offline", Role::Bad)
            };
            let gas = both
                .gas
                .map(|g| format!(" · {} gas", crate::units::thousands(g)))
                .unwrap_or_default();
            lines.push(Line::styled(
                format!(
                    " {} predict on {}: {verdict}",
                    if both.bit_exact() { "✓" } else { "✗" },
                    file(&both.input),
                ),
                theme.style(role),
            ));
            let calls = if both.calls == 1 {
                "eth_call"
            } else {
                "eth_calls"
            };
            lines.push(Line::styled(
                format!(
                    "   {} sample(s) · {} {calls}{gas}",
                    both.samples, both.calls
                ),
                dim,
            ));
            lines.push(Line::styled(
                format!(
                    "   {:<7} {:<10} {:<22} {:<22} {}",
                    "sample", "output", "on-chain", "offline", "|Δ|"
                ),
                dim,
            ));
            for o in both.outputs.iter().take(8) {
                lines.push(Line::raw(format!(
                    "   {:<7} {:<10} {:<22} {:<22} {}",
                    o.sample,
                    o.output,
                    ComparedOutput::summary(&o.chain),
                    ComparedOutput::summary(&o.offline),
                    diff(o.max_abs_diff())
                )));
            }
            if both.outputs.len() > 8 {
                lines.push(Line::styled(
                    format!(
                        "   … {} more (eternalize predict ADDRESS --input FILE)",
                        both.outputs.len() - 8
                    ),
                    dim,
                ));
            }
        }
    }
}

/// `0` for bit-exact, else the difference in scientific notation.
fn diff(d: f64) -> String {
    if d == 0.0 {
        "0".into()
    } else {
        format!("{d:.1e}")
    }
}
