//! The top line: program, screen, the folder or file in view, and a spinner while work is on
//! its way.

use super::spinner;
use crate::tui::keymap::ScreenKind;
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let place = match state.screen {
        ScreenKind::Pick => state.show_path(&state.pick.dir),
        ScreenKind::Preview | ScreenKind::Confirm => state
            .preview
            .as_ref()
            .map(|p| state.show_path(&p.path))
            .unwrap_or_default(),
        ScreenKind::Dashboard | ScreenKind::Done => state
            .dashboard
            .as_ref()
            .map(|d| state.show_path(&d.source))
            .unwrap_or_default(),
    };
    let in_flight = state.dashboard.as_ref().map_or(0, |d| d.in_flight());
    let busy = if state.screen == ScreenKind::Dashboard && in_flight > 0 {
        format!("{} {in_flight} in flight ", spinner(state.ticks))
    } else if state.busy() {
        format!("{} working ", spinner(state.ticks))
    } else {
        String::new()
    };
    let [left, right] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(busy.chars().count() as u16),
    ])
    .areas(area);
    let sep = Span::styled(" │ ", theme.style(Role::Dim));
    let line = Line::from(vec![
        Span::styled(" eternalize", theme.style(Role::Title)),
        sep.clone(),
        Span::styled(state.screen.title(), theme.style(Role::Accent)),
        sep,
        Span::raw(place),
    ]);
    frame.render_widget(Paragraph::new(line), left);
    frame.render_widget(
        Paragraph::new(Span::styled(busy, theme.style(Role::Warn))),
        right,
    );
}
