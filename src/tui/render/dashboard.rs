//! The deploy dashboard: where each contract and each weight chunk stands, how fast it goes,
//! what it costs, and what happened.
//!
//! ```text
//! ┌ Deploying · chain 31337 · running ────────────────────────────────────────────┐
//! │ [██████████████░░░░░░░░░░░░░]  41.2% · chunks 2,061/5,000 · contracts 14/40     │ status
//! │ chunks: ● 2,050 mined  ○ 9 pending  ↑ 2 sending  · 2,935 queued  ✗ 4 failed    │
//! │ elapsed 4m 10s · left ~5m 57s · 8.2 chunks/s · 3.1M gas/s · cost 0.0123 of ≈0.03│
//! └───────────────────────────────────────────────────────────────────────────────┘
//! ┌ Contracts 14/40 ──────────────┐┌ Chunks 2,061/5,000 ───────────────────────────┐
//! │ › ● factory      mined #3 …   ││ ●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●●● │
//! │   ● layer 0 conv mined #5 …   ││ ●●●●●●●✗●●●●●●●○○○↑↑·························· │
//! │   ✗ layer 1 …    failed …     ││ ·············································  │
//! └───────────────────────────────┘└───────────────────────────────────────────────┘
//!  chunk 57 · ✗ failed after 1 attempt: insufficient funds: …  · r retries          selection
//!  ⏸ paused: balance too low — top up the deployer, then p resumes                  state
//! ┌ Log ──────────────────────────────────────────────────────────────────────────┐
//! │ ✗ chunk 57 failed (attempt 1): insufficient funds: balance …, needs …          │
//! └───────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Tab moves the keys between Contracts, Chunks and Log (the focused one has a thick
//! border). A question over everything asks before quitting with transactions in flight.

use super::{body_area, dashboard_chunks, dashboard_contracts, dashboard_log, dashboard_status};
use crate::engine::StepState;
use crate::tui::dashboard::{Dashboard, Panel, Phase, step_label};
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Where each part goes, and how many rows and columns the scrolling parts show. Computed
/// from the terminal size alone, so `update` moves through the chunk grid exactly as drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DashboardAreas {
    pub status: Rect,
    pub contracts: Rect,
    pub chunks: Rect,
    pub selection: Rect,
    pub log: Rect,
    pub contract_rows: usize,
    pub grid_columns: usize,
    pub grid_rows: usize,
    pub log_rows: usize,
}

const STATUS_HEIGHT: u16 = 5;
const CONTRACTS_MAX_WIDTH: u16 = 56;

pub fn dashboard_areas(size: (u16, u16)) -> DashboardAreas {
    let body = body_area(Rect::new(0, 0, size.0, size.1));
    let log_height = if body.height >= 30 { 9 } else { 5 };
    let [status, middle, selection, log] = Layout::vertical([
        Constraint::Length(STATUS_HEIGHT),
        Constraint::Min(3),
        Constraint::Length(2),
        Constraint::Length(log_height),
    ])
    .areas(body);
    let contracts_width = (middle.width * 45 / 100).min(CONTRACTS_MAX_WIDTH);
    let [contracts, chunks] =
        Layout::horizontal([Constraint::Length(contracts_width), Constraint::Min(0)]).areas(middle);
    let inner = |r: Rect| (r.width.saturating_sub(2), r.height.saturating_sub(2));
    DashboardAreas {
        status,
        contracts,
        chunks,
        selection,
        log,
        contract_rows: usize::from(inner(contracts).1),
        grid_columns: usize::from(inner(chunks).0),
        grid_rows: usize::from(inner(chunks).1),
        log_rows: usize::from(inner(log).1),
    }
}

pub fn draw(frame: &mut Frame, state: &State, theme: Theme) {
    let Some(d) = &state.dashboard else {
        return;
    };
    let areas = dashboard_areas((frame.area().width, frame.area().height));
    dashboard_status::draw(frame, areas.status, d, theme);
    dashboard_contracts::draw(frame, areas.contracts, d, theme);
    dashboard_chunks::draw(frame, areas.chunks, d, theme);
    draw_selection(frame, areas.selection, d, theme);
    dashboard_log::draw(frame, areas.log, d, theme);
    if d.confirm_quit {
        draw_quit_question(frame, frame.area(), d, theme);
    }
}

/// Two lines: the selected item in full and where the deployment stands (sending, paused);
/// once stopped, why and how to resume instead.
fn draw_selection(frame: &mut Frame, area: Rect, d: &Dashboard, theme: Theme) {
    if let Some(s) = &d.stopped {
        let next = match (&s.resume_command, s.resumable) {
            (Some(cmd), _) => format!(" resume with `{cmd}` · Esc goes back"),
            (None, true) => " it can be resumed: Pick lists it · Esc goes back".to_string(),
            (None, false) => " Esc goes back".to_string(),
        };
        let lines = vec![
            Line::styled(format!(" ■ stopped: {}", s.reason), theme.style(Role::Bad)),
            Line::styled(next, theme.style(Role::Accent)),
        ];
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    let mut lines = Vec::with_capacity(2);
    let selected = match d.focus {
        Panel::Log => Line::styled(
            if d.log_scroll == 0 {
                " log: ↑ scrolls back; the newest line is at the bottom".to_string()
            } else {
                format!(
                    " log: {} lines back · ↓ or End returns to the newest",
                    d.log_scroll
                )
            },
            theme.style(Role::Dim),
        ),
        _ => match d.selected_step() {
            None => Line::styled(" nothing planned yet", theme.style(Role::Dim)),
            Some((step, st)) => {
                let phase = Phase::of(st);
                let label = match (d.focus, d.rows.get(d.selected_row)) {
                    (Panel::Contracts, Some(row)) => row.label(&d.layer_names),
                    _ => step_label(&step, &d.layer_names),
                };
                // The numbers first: on a narrow terminal the end of the line is cut.
                let (detail, role) = match st {
                    StepState::Failed { failure, attempts } => (
                        format!(
                            "{} · attempt {attempts}{}",
                            failure,
                            if d.running() { " · r retries" } else { "" }
                        ),
                        Role::Bad,
                    ),
                    other => (detail_words(other, true), phase_role(phase)),
                };
                Line::from(vec![
                    Span::styled(format!(" {label} · "), theme.style(Role::Accent)),
                    Span::styled(format!("{} ", phase.glyph()), theme.style(role)),
                    Span::styled(detail, theme.style(role)),
                ])
            }
        },
    };
    lines.push(selected);
    lines.push(state_line(d, theme));
    frame.render_widget(Paragraph::new(lines), area);
}

fn state_line(d: &Dashboard, theme: Theme) -> Line<'static> {
    if d.finished.is_some() {
        return Line::styled(" ✓ finished", theme.style(Role::Good));
    }
    match (&d.paused, d.pause_wanted) {
        (Some(reason), _) => Line::styled(
            format!(" ⏸ paused: {reason} · p resumes sending"),
            theme.style(Role::Warn),
        ),
        (None, true) => Line::styled(
            " ⏸ pausing… (transactions in flight still land)",
            theme.style(Role::Warn),
        ),
        (None, false) => {
            let failed = d.failed();
            if failed > 0 {
                Line::styled(
                    format!(
                        " ▶ sending · {failed} failed: r retries the selected one, R all of them"
                    ),
                    theme.style(Role::Warn),
                )
            } else {
                Line::styled(" ▶ sending", theme.style(Role::Dim))
            }
        }
    }
}

pub(crate) fn phase_role(phase: Phase) -> Role {
    match phase {
        Phase::Queued => Role::Dim,
        Phase::Sending | Phase::Pending => Role::Warn,
        Phase::Mined | Phase::Skipped => Role::Good,
        Phase::Failed => Role::Bad,
    }
}

/// A state's numbers in words: the transaction, block, gas and address; `long` keeps hashes
/// whole.
pub(crate) fn detail_words(state: &StepState, long: bool) -> String {
    let hash = |h: &str| if long { h.to_string() } else { short_hex(h) };
    match state {
        StepState::Queued => "queued".into(),
        StepState::Sending { nonce, tx_hash } => format!("sending nonce {nonce} {}", hash(tx_hash)),
        StepState::Pending { nonce, tx_hash } => format!("pending nonce {nonce} {}", hash(tx_hash)),
        StepState::Mined {
            tx_hash,
            block,
            gas_used,
            address,
        } => {
            let mut s = format!("mined #{block} {} gas", crate::units::short(*gas_used));
            if let Some(a) = address {
                s.push_str(&format!(" at {}", hash(a)));
            } else if long {
                s.push_str(&format!(" tx {tx_hash}"));
            }
            s
        }
        StepState::Skipped { address } => match address {
            Some(a) => format!("already on chain at {}", hash(a)),
            None => "already on chain".into(),
        },
        StepState::Failed { failure, .. } => failure.to_string(),
    }
}

/// Keeps the end of a long path (its file name): `…/deployments/8e3b….jsonl`.
pub(crate) fn clip_left(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    let keep = width.saturating_sub(1);
    let tail: String = text.chars().skip(n - keep).collect();
    format!("…{tail}")
}

/// `0x5fbd…0aa3`.
pub(crate) fn short_hex(h: &str) -> String {
    if h.chars().count() <= 13 {
        return h.to_string();
    }
    let head: String = h.chars().take(6).collect();
    let tail: String = h
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}…{tail}")
}

fn draw_quit_question(frame: &mut Frame, area: Rect, d: &Dashboard, theme: Theme) {
    let n = d.in_flight();
    let mut lines = vec![
        Line::styled(
            format!(
                " {n} transaction{} in flight. Quit anyway?",
                if n == 1 { " is" } else { "s are" }
            ),
            theme.style(Role::Warn),
        ),
        Line::from(""),
        Line::from(" What was sent still lands; nothing new is sent after you quit."),
        Line::from(" Every transaction is in the deployment's journal, so the deployment"),
        Line::from(" can be resumed without sending anything twice:"),
    ];
    lines.push(Line::styled(
        "   open eternalize again: Pick lists it and Enter resumes it",
        theme.style(Role::Accent),
    ));
    let width = area.width.saturating_sub(4).min(76);
    if let Some(p) = &d.plan {
        let room = usize::from(width).saturating_sub(13);
        lines.push(Line::styled(
            format!("   journal {}", clip_left(&p.journal, room)),
            theme.style(Role::Dim),
        ));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::raw(" "),
        Span::styled("y", theme.style(Role::Key)),
        Span::raw(" quits · any other key keeps deploying"),
    ]));
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    super::popup(frame, area, (width, height), "Quit?", lines, theme);
}
