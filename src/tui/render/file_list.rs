//! The Pick screen's filter line and folder listing: folders first, then model files and
//! bundles with their kind in words and their size.

use super::{clip, panel};
use crate::tui::state::{Loadable, State};
use crate::tui::theme::{Role, Theme};
use crate::tui::work::EntryKind;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let pick = &state.pick;
    let visible = pick.visible();
    let title = match &pick.listing {
        Loadable::Ready(all) => {
            let files = all.iter().filter(|e| e.kind.is_file()).count();
            let shown = visible.iter().filter(|e| e.kind.is_file()).count();
            let noun = if files == 1 {
                "model file"
            } else {
                "model files"
            };
            if pick.filter.is_empty() {
                format!("{} · {files} {noun}", state.show_path(&pick.dir))
            } else {
                format!("{} · {shown} of {files} {noun}", state.show_path(&pick.dir))
            }
        }
        _ => state.show_path(&pick.dir),
    };
    let block = panel(title, true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let deployments = pick.shown_deployments();
    // At most a third of the list goes to unfinished deployments; the selection scrolls them.
    let deployment_rows = if deployments.is_empty() {
        0
    } else {
        (deployments.len() as u16 + 1).min((inner.height.saturating_sub(1) / 3).max(2))
    };
    let [filter_area, deployments_area, list_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(deployment_rows),
        Constraint::Min(0),
    ])
    .areas(inner);
    if deployment_rows > 0 {
        draw_deployments(frame, deployments_area, state, theme);
    }

    let filter = if pick.filter.is_empty() {
        Line::from(vec![
            Span::styled(" filter ", theme.style(Role::Dim)),
            Span::styled("▏", theme.style(Role::Accent)),
            Span::styled("type to filter by name", theme.style(Role::Dim)),
        ])
    } else {
        Line::from(vec![
            Span::styled(" filter ", theme.style(Role::Dim)),
            Span::styled(pick.filter.clone(), theme.style(Role::Accent)),
            Span::styled("▏", theme.style(Role::Accent)),
        ])
    };
    frame.render_widget(Paragraph::new(filter), filter_area);

    let lines: Vec<Line> = match &pick.listing {
        Loadable::Loading => vec![Line::styled(" listing…", theme.style(Role::Dim))],
        Loadable::Failed(e) => vec![Line::styled(format!(" ✗ {e}"), theme.style(Role::Bad))],
        Loadable::Ready(_) if visible.is_empty() => vec![Line::styled(
            if pick.filter.is_empty() {
                " no folders, .keras, .h5 or bundle .json files here"
            } else {
                " nothing matches the filter (Esc clears it)"
            },
            theme.style(Role::Dim),
        )],
        Loadable::Ready(_) => {
            let rows = usize::from(list_area.height).max(1);
            let at = if pick.on_deployment.is_some() {
                0
            } else {
                pick.selected
            };
            let offset = at.saturating_sub(rows - 1);
            let width = usize::from(list_area.width);
            visible
                .iter()
                .enumerate()
                .skip(offset)
                .take(rows)
                .map(|(i, e)| {
                    let selected = i == pick.selected && pick.on_deployment.is_none();
                    let marker = if selected { " › " } else { "   " };
                    let (name, role) = match e.kind {
                        EntryKind::Parent => ("../".to_string(), Role::Folder),
                        EntryKind::Dir => (format!("{}/", e.name), Role::Folder),
                        _ => (e.name.clone(), Role::Accent),
                    };
                    let right = if e.kind.is_file() {
                        format!("{:>7} {:>10} ", e.kind.label(), crate::units::bytes(e.size))
                    } else {
                        format!("{:>7} {:>10} ", e.kind.label(), "")
                    };
                    let name_width =
                        width.saturating_sub(marker.chars().count() + right.chars().count());
                    let name = format!("{:<name_width$}", clip(&name, name_width));
                    let mut line = Line::from(vec![
                        Span::raw(marker),
                        Span::styled(name, theme.style(role)),
                        Span::styled(right, theme.style(Role::Dim)),
                    ]);
                    if selected {
                        line = line.style(theme.style(Role::Selected));
                    }
                    line
                })
                .collect()
        }
    };
    frame.render_widget(Paragraph::new(lines), list_area);
}

/// Unfinished deployments, newest first: Enter resumes one on the dashboard.
fn draw_deployments(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let pick = &state.pick;
    let deployments = pick.shown_deployments();
    let rows = usize::from(area.height.saturating_sub(1)).max(1);
    let at = pick.on_deployment.unwrap_or(0);
    let offset = at.saturating_sub(rows - 1);
    let width = usize::from(area.width);
    let mut lines = vec![Line::styled(
        format!(
            " unfinished deployments ({}) · Enter resumes",
            deployments.len()
        ),
        theme.style(Role::Warn),
    )];
    for (i, d) in deployments.iter().enumerate().skip(offset).take(rows) {
        let selected = pick.on_deployment == Some(i);
        let marker = if selected { " › " } else { "   " };
        let what = d.source.as_deref().map_or_else(
            || d.id.clone(),
            |s| state.show_path(std::path::Path::new(s)),
        );
        let right = format!(
            "{} · {} tx · {} chunks ",
            d.network.as_deref().unwrap_or("?"),
            d.transactions,
            d.chunks_done
        );
        let name_width = width.saturating_sub(marker.chars().count() + 2 + right.chars().count());
        let mut line = Line::from(vec![
            Span::raw(marker),
            Span::styled("↻ ", theme.style(Role::Warn)),
            Span::styled(
                format!("{:<name_width$}", clip(&what, name_width)),
                theme.style(Role::Accent),
            ),
            Span::styled(right, theme.style(Role::Dim)),
        ]);
        if selected {
            line = line.style(theme.style(Role::Selected));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), area);
}
