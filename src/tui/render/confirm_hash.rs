//! The Confirm screen: graph hash, weights hash, `hashed_model`, the weight format, where and
//! as whom it will be deployed (network, chain id, RPC host, signer, deployer, balance, estimated cost), and the
//! characters the operator types to confirm the hash, judged as typed.

use super::{panel, target};
use crate::tui::state::{CONFIRM_CHARS, ConfirmStage, State};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Some(c) = &state.confirm else {
        return;
    };
    let dim = theme.style(Role::Dim);
    let graph = &c.hashes.graph;
    let (head, tail) = graph.split_at(CONFIRM_CHARS.min(graph.len()));
    let mut lines = vec![
        Line::styled(" graph hash (SHA-256 of the graph)", dim),
        Line::from(format!("   {}", c.hashes.graph)),
        Line::styled(" weights hash (SHA-256 of the weights)", dim),
        Line::from(format!("   {}", c.hashes.weights)),
        Line::styled(" hashed_model (what the model contract will hold)", dim),
        // hashed_model is the two hashes one after the other: shown as two lines of 64.
        Line::from(vec![
            Span::raw("   "),
            Span::styled(head.to_string(), theme.style(Role::Key)),
            Span::raw(tail.to_string()),
        ]),
        Line::from(format!("   {}", c.hashes.weights)),
        Line::from(""),
        Line::from(vec![
            Span::styled(format!(" {:<13} ", "weights as"), dim),
            Span::styled(
                crate::tui::model_view::format_label(state.target.format),
                theme.style(Role::Accent),
            ),
        ]),
    ];
    lines.extend(target::confirm(&state.target, theme));
    lines.push(Line::from(""));
    let boxes: String = (0..CONFIRM_CHARS)
        .map(|i| c.typed.chars().nth(i).unwrap_or('_'))
        .collect();
    lines.push(Line::from(vec![
        Span::raw(format!(
            " Type the first {CONFIRM_CHARS} characters of hashed_model to confirm:  "
        )),
        Span::styled(
            format!("[{boxes}]"),
            theme.style(match c.stage {
                ConfirmStage::Typing => Role::Accent,
                ConfirmStage::Wrong => Role::Bad,
                ConfirmStage::Confirmed => Role::Good,
            }),
        ),
    ]));
    match c.stage {
        ConfirmStage::Typing => lines.push(Line::styled(
            format!(
                " {} of {CONFIRM_CHARS} typed · Esc goes back",
                c.typed.chars().count()
            ),
            dim,
        )),
        ConfirmStage::Wrong => lines.push(Line::styled(
            format!(
                " ✗ wrong: \"{}\" is not how hashed_model starts (Backspace corrects)",
                c.typed
            ),
            theme.style(Role::Bad),
        )),
        ConfirmStage::Confirmed => {
            lines.push(Line::styled(
                " ✓ confirmed: the hash is the one shown above.",
                theme.style(Role::Good),
            ));
            lines.push(Line::from(vec![
                Span::raw(" "),
                Span::styled("Enter", theme.style(Role::Key)),
                Span::raw(" starts the deployment and opens the dashboard; Esc goes back."),
            ]));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel("Confirm the model hash", true, theme)),
        area,
    );
}
