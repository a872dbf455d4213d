//! Drawing: reads `&State`, never changes it. One file per panel.
//!
//! Every screen has the same frame:
//!
//! ```text
//!  eternalize │ Preview │ tests/fixtures/keras3_4/lenet_cnn.keras      ⠋ working   header
//! ┌──────────────────────────────────────────────────────────────────────────────┐
//! │                                                                              │
//! │   the screen's body                                                          │
//! │                                                                              │
//! └──────────────────────────────────────────────────────────────────────────────┘
//!  ✓ the last action's message                                                    notice
//!  ↑/↓ move  Enter open  Esc back  ? help  q quit                                 hint bar
//! ```
//!
//! Bodies:
//!
//! ```text
//! Pick                                 Preview (wide ≥ 110 columns; narrow: Totals below Layers)
//! ┌ Filter ───────────────────────┐   ┌ Layers ─────────────────────┐┌ Totals ───────────┐
//! │ > lenet▏                       │   │ idx name class shape params ││ params, words,    │
//! ├ folder ─────────────────────── ┤   │ …                           ││ bytes, chunks,    │
//! │ › lenet_cnn.keras  keras 57 KiB│   │                             ││ gas, hashes, net  │
//! │   …                            │   └─────────────────────────────┘└───────────────────┘
//! ├ sniff ──────────────────────── ┤   ┌ Config ──────────────┐┌ Weights ─────────────────┐
//! │ Keras 3 archive · 61,706 params│   │ pretty JSON          ││ tensors, min/max/mean,   │
//! └────────────────────────────────┘   └──────────────────────┘│ histogram                │
//!                                                              └──────────────────────────┘
//! Confirm: hashes, network, signer, balance and cost, the typed characters and what they mean.
//! Preview with a keystore chosen and locked: a password box over the body (one • a character).
//! Deploy: status, contracts beside the chunk grid, the selection, the log (see `dashboard`).
//! Done: the model's address and what the deployment took.
//! ```
//!
//! The help overlay is drawn over any screen; below the minimum size only a message saying
//! which size is needed is drawn.

mod confirm_hash;
pub mod dashboard;
mod dashboard_chunks;
mod dashboard_contracts;
mod dashboard_log;
mod dashboard_status;
mod done;
mod file_list;
mod header;
mod help;
mod hint_bar;
mod layer_detail;
mod layer_table;
mod password;
mod sniff;
mod target;
mod too_small;
mod totals;

use super::keymap::ScreenKind;
use super::state::State;
use super::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, BorderType, Borders};

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, state: &State, theme: Theme) {
    let area = frame.area();
    if area.width < super::state::MIN_WIDTH || area.height < super::state::MIN_HEIGHT {
        too_small::draw(frame, area, theme);
        return;
    }
    let [head, body, notice, hints] = frame_areas(area);
    header::draw(frame, head, state, theme);
    match state.screen {
        ScreenKind::Pick => pick(frame, body, state, theme),
        ScreenKind::Preview => preview(frame, body, state, theme),
        ScreenKind::Confirm => confirm_hash::draw(frame, body, state, theme),
        ScreenKind::Dashboard => dashboard::draw(frame, state, theme),
        ScreenKind::Done => done::draw(frame, body, state, theme),
    }
    hint_bar::draw_notice(frame, notice, state, theme);
    hint_bar::draw(frame, hints, state, theme);
    if state.screen == ScreenKind::Preview && state.target.password.is_some() {
        password::draw(frame, body, state, theme);
    }
    if state.help {
        help::draw(frame, area, state, theme);
    }
}

/// Header, body, notice, hint bar.
fn frame_areas(area: Rect) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where a screen's body goes on a terminal of this area.
pub(crate) fn body_area(area: Rect) -> Rect {
    frame_areas(area)[1]
}

fn pick(frame: &mut Frame, body: Rect, state: &State, theme: Theme) {
    let [list, sniff_area] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(3)]).areas(body);
    file_list::draw(frame, list, state, theme);
    sniff::draw(frame, sniff_area, state, theme);
}

/// Totals sit beside the layer table when there is room for both.
const WIDE: u16 = 110;
const TOTALS_WIDTH: u16 = 48;

fn preview(frame: &mut Frame, body: Rect, state: &State, theme: Theme) {
    let [top, detail] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
    if body.width >= WIDE {
        let [table, totals_area] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(TOTALS_WIDTH)]).areas(top);
        layer_table::draw(frame, table, state, theme);
        totals::draw(frame, totals_area, state, theme);
        layer_detail::draw(frame, detail, state, theme);
    } else {
        let [table, totals_area, detail] = Layout::vertical([
            Constraint::Min(6),
            Constraint::Length(totals::COMPACT_HEIGHT),
            Constraint::Percentage(35),
        ])
        .areas(body);
        layer_table::draw(frame, table, state, theme);
        totals::draw_compact(frame, totals_area, state, theme);
        layer_detail::draw(frame, detail, state, theme);
    }
}

/// A focused panel titled `title` holding `lines`, `width` × `height`, centred in `area` over
/// whatever is drawn there (help, the quit question, the password box).
pub(crate) fn popup(
    frame: &mut Frame,
    area: Rect,
    (width, height): (u16, u16),
    title: impl Into<String>,
    lines: Vec<ratatui::text::Line<'static>>,
    theme: Theme,
) {
    let popup = Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width,
        height,
    };
    frame.render_widget(ratatui::widgets::Clear, popup);
    frame.render_widget(
        ratatui::widgets::Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(panel(title, true, theme)),
        popup,
    );
}

/// A bordered panel; the focused one has a thick border (seen without colour too).
pub(crate) fn panel<'a>(title: impl Into<String>, focused: bool, theme: Theme) -> Block<'a> {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", title.into()))
        .title_style(theme.style(Role::Title));
    if focused {
        block
            .border_type(BorderType::Thick)
            .border_style(theme.style(Role::Accent))
    } else {
        block.border_style(theme.style(Role::Dim))
    }
}

/// `⠋` … turning while work is on its way.
pub(crate) fn spinner(ticks: u64) -> &'static str {
    const FRAMES: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];
    FRAMES[(ticks % FRAMES.len() as u64) as usize]
}

/// Shortens text to `width` columns with a trailing `…`.
pub(crate) fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
