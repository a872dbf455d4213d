//! The dashboard's top panel: overall progress as a bar and a percentage, the chunks by state
//! (the grid's legend, glyph and count), speed and time; the cost so far against the estimate
//! sits at the right of its title.

use super::dashboard::phase_role;
use super::panel;
use crate::tui::dashboard::{Dashboard, Phase};
use crate::tui::theme::{Role, Theme};
use crate::units::thousands;
use crate::units::{eth_str as eth, seconds as duration};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, area: Rect, d: &Dashboard, theme: Theme) {
    let dim = theme.style(Role::Dim);
    let mut title = String::from("Deploying");
    if let Some(p) = &d.plan {
        title.push_str(&format!(" · chain {} · {} weights", p.chain_id, p.format));
    }
    title.push_str(match (&d.stopped, &d.finished, &d.paused, d.pause_wanted) {
        (Some(_), _, _, _) => " · ■ stopped",
        (_, Some(_), _, _) => " · ✓ finished",
        (_, _, Some(_), _) => " · ⏸ paused",
        (_, _, None, true) => " · ⏸ pausing",
        _ => " · ▶ running",
    });
    let cost = match (&d.totals, &d.plan) {
        (Some(t), Some(p)) => format!(" cost {} of ≈{} ", eth(&t.cost_wei), eth(&p.cost_estimate)),
        (Some(t), None) => format!(" cost {} ", eth(&t.cost_wei)),
        (None, Some(p)) => format!(" estimated ≈{} ", eth(&p.cost_estimate)),
        (None, None) => String::new(),
    };
    let block = panel(title, false, theme)
        .title(Line::styled(cost, theme.style(Role::Title)).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);

    let (chunks_done, chunks_total) = (d.chunk_tally.done(), d.chunk_tally.total());
    let (steps_done, steps_total) = (d.step_tally.done(), d.step_tally.total());
    let done = chunks_done + steps_done;
    let total = chunks_total + steps_total;
    let fraction = if total == 0 {
        0.0
    } else {
        done as f64 / total as f64
    };
    let counts = format!(
        " {:>5.1}% · chunks {}/{} · contracts {}/{}",
        fraction * 100.0,
        thousands(chunks_done),
        thousands(chunks_total),
        steps_done,
        steps_total
    );
    let bar_width = width.saturating_sub(counts.chars().count() + 3).max(4);
    let filled = ((fraction * bar_width as f64).floor() as usize).min(bar_width);
    let gauge = Line::from(vec![
        Span::styled(" ", dim),
        Span::styled("█".repeat(filled), theme.style(Role::Good)),
        Span::styled("░".repeat(bar_width - filled), dim),
        Span::raw(counts),
    ]);

    let mut legend = vec![Span::styled(" chunks:", dim)];
    for phase in [
        Phase::Mined,
        Phase::Skipped,
        Phase::Pending,
        Phase::Sending,
        Phase::Queued,
        Phase::Failed,
    ] {
        let n = d.chunk_tally.get(phase);
        if n == 0 && matches!(phase, Phase::Skipped | Phase::Failed) {
            continue;
        }
        legend.push(Span::styled(
            format!(" {} {}", phase.glyph(), thousands(n)),
            theme.style(phase_role(phase)),
        ));
        legend.push(Span::styled(format!(" {}", phase.word()), dim));
    }

    frame.render_widget(
        Paragraph::new(vec![gauge, Line::from(legend), speed_line(d, theme)]),
        inner,
    );
}

/// Elapsed and remaining time, chunks/s, gas/s, cost so far against the estimate — from the
/// engine's last `Progress` (the dashboard keeps no clock of its own).
fn speed_line(d: &Dashboard, theme: Theme) -> Line<'static> {
    let dim = theme.style(Role::Dim);
    let Some(t) = &d.totals else {
        if !d.running() {
            return Line::styled(" nothing was sent", dim);
        }
        let estimate = d.plan.as_ref().map_or(String::new(), |p| {
            format!(" · estimated ≈{} gas", crate::units::short(p.gas_estimate))
        });
        return Line::styled(format!(" waiting for the first transaction{estimate}"), dim);
    };
    let seconds = t.elapsed_ms as f64 / 1000.0;
    let remaining = if t.transactions_mined > 0 && t.transactions_total > t.transactions_mined {
        let left = seconds * (t.transactions_total - t.transactions_mined) as f64
            / t.transactions_mined as f64;
        format!("~{}", duration(left))
    } else if t.transactions_total > 0 && t.transactions_mined >= t.transactions_total {
        "0s".into()
    } else {
        "?".into()
    };
    let rate = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
    let value = |s: String| Span::raw(s);
    Line::from(vec![
        Span::styled(" elapsed ", dim),
        value(duration(seconds)),
        Span::styled(" · left ", dim),
        value(remaining),
        Span::styled(" · ", dim),
        value(format!("{:.1}", rate(t.chunks_stored as f64))),
        Span::styled(" chunks/s · ", dim),
        value(crate::units::short(rate(t.gas_used as f64) as u64)),
        Span::styled(" gas/s · ", dim),
        value(crate::units::short(t.gas_used)),
        Span::styled(" gas", dim),
    ])
}
