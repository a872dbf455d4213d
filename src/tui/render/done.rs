//! The Done screen: where the model is, and what its deployment took. The same rows are
//! printed to stdout once the terminal is restored.

use super::panel;
use crate::tui::dashboard::Verification;
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};
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
    lines.push(Line::styled(
        " This summary is printed again when eternalize exits. Esc goes back; q quits.",
        dim,
    ));
    frame.render_widget(
        Paragraph::new(lines).block(panel("Done", true, theme)),
        area,
    );
}
