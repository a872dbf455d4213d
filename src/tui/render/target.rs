//! The chosen network and signer and what their probe found, as lines for the Preview totals
//! (wide and compact) and the Confirm screen: network, chain id, RPC host (redacted by the
//! keeper), signer, deployer, balance against the worst case, gas, fee per gas and cost; or
//! "connecting…", or the probe's one-line failure.
//!
//! Owns: the wording of those lines. Must not touch: the state (reads `&Target`).

use super::clip;
use crate::tui::target::{Probe, ProbeReport, Target};
use crate::tui::theme::{Role, Theme};
use crate::units::thousands;
use crate::units::{eth_str as eth, gwei};
use ratatui::text::{Line, Span};

/// `0xf39F…2266`.
fn short_address(a: &str) -> String {
    if a.len() < 12 {
        return a.to_string();
    }
    format!("{}…{}", &a[..6], &a[a.len() - 4..])
}

fn network_name(t: &Target) -> String {
    t.network().map_or_else(|| "—".into(), |n| n.name.clone())
}

fn signer_name(t: &Target) -> String {
    t.signer().map_or_else(|| "none".into(), |s| s.label())
}

fn balance_spans(r: &ProbeReport, theme: Theme, long: bool) -> Vec<Span<'static>> {
    let (word, role) = match (r.sufficient, long) {
        (true, true) => ("✓ covers the worst case", Role::Good),
        (true, false) => ("✓ enough", Role::Good),
        (false, true) => ("✗ short of the worst case", Role::Bad),
        (false, false) => ("✗ too little", Role::Bad),
    };
    vec![
        Span::raw(format!("{} ", eth(&r.balance_wei))),
        Span::styled(word, theme.style(role)),
    ]
}

/// The state of a probe that has no report, as a styled phrase.
fn pending(t: &Target, theme: Theme) -> Option<Span<'static>> {
    match &t.probe {
        Probe::Connecting => Some(Span::styled("connecting…", theme.style(Role::Warn))),
        Probe::Locked => Some(Span::styled(
            "keystore locked: type its password",
            theme.style(Role::Warn),
        )),
        Probe::Failed(e) => Some(Span::styled(format!("✗ {e}"), theme.style(Role::Bad))),
        Probe::Ready(_) => None,
    }
}

/// Before a probe answers: the chosen network and signer, and what the probe is doing.
fn unprobed(t: &Target, theme: Theme, label: &dyn Fn(&str) -> Span<'static>) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![label("network"), Span::raw(network_name(t))]),
        Line::from(vec![label("signer"), Span::raw(signer_name(t))]),
    ];
    if let Some(p) = pending(t, theme) {
        lines.push(Line::from(vec![label(""), p]));
    }
    lines
}

/// Lines for the wide totals panel, labels `width` columns wide.
pub fn wide(t: &Target, theme: Theme, width: usize) -> Vec<Line<'static>> {
    let dim = theme.style(Role::Dim);
    let label = |s: &str| Span::styled(format!(" {s:<width$}"), dim);
    let Some(r) = t.report() else {
        return unprobed(t, theme, &label);
    };
    vec![
        Line::from(vec![
            label("network"),
            Span::raw(format!("{} · chain {}", r.network, r.chain_id)),
        ]),
        Line::from(vec![label("rpc"), Span::raw(r.rpc.clone())]),
        Line::from(vec![label("signer"), Span::raw(signer_name(t))]),
        Line::from(vec![
            label("deployer"),
            Span::raw(if r.deployer.len() > 20 {
                format!(
                    "{}…{}",
                    &r.deployer[..10],
                    &r.deployer[r.deployer.len() - 8..]
                )
            } else {
                r.deployer.clone()
            }),
        ]),
        Line::from([vec![label("balance")], balance_spans(r, theme, false)].concat()),
        Line::from(vec![
            label("gas to send"),
            Span::raw(format!(
                "{} · {} tx{}",
                thousands(r.gas as usize),
                r.transactions,
                if r.transactions == 1 { "" } else { "s" }
            )),
        ]),
        Line::from(vec![label("fee per gas"), Span::raw(gwei(r.fee_per_gas))]),
        Line::from(vec![
            label("est. cost"),
            Span::raw(format!(
                "{} (max {})",
                eth(&r.cost_wei),
                eth(&r.worst_case_wei).trim_end_matches(" ETH")
            )),
        ]),
    ]
}

/// Two lines for the compact totals, at most `width` columns each.
pub fn compact(t: &Target, theme: Theme, width: usize) -> Vec<Line<'static>> {
    let dim = theme.style(Role::Dim);
    let Some(r) = t.report() else {
        let first = Line::from(vec![
            Span::styled(" network ", dim),
            Span::raw(network_name(t)),
            Span::styled(" · signer ", dim),
            Span::raw(signer_name(t)),
        ]);
        let second = match pending(t, theme) {
            Some(p) => Line::from(vec![
                Span::raw(" "),
                Span::styled(clip(&p.content, width.saturating_sub(1)), p.style),
            ]),
            None => Line::from(""),
        };
        return vec![first, second];
    };
    vec![
        Line::from(vec![
            Span::styled(" network ", dim),
            Span::raw(format!("{} · chain {}", r.network, r.chain_id)),
            Span::styled(" · signer ", dim),
            Span::raw(format!("{} {}", signer_name(t), short_address(&r.deployer))),
        ]),
        Line::from(
            [
                vec![Span::styled(" balance ", dim)],
                balance_spans(r, theme, false),
                vec![
                    Span::styled(" · est. cost ", dim),
                    Span::raw(format!(
                        "{} (max {})",
                        eth(&r.cost_wei),
                        eth(&r.worst_case_wei).trim_end_matches(" ETH")
                    )),
                ],
            ]
            .concat(),
        ),
    ]
}

/// Lines for the Confirm screen: everything the deployment will use, in full.
pub fn confirm(t: &Target, theme: Theme) -> Vec<Line<'static>> {
    let dim = theme.style(Role::Dim);
    let label = |s: &str| Span::styled(format!(" {s:<13} "), dim);
    let Some(r) = t.report() else {
        return unprobed(t, theme, &label);
    };
    vec![
        Line::from(vec![
            label("network"),
            Span::raw(format!(
                "{} · chain id {} · {}",
                r.network, r.chain_id, r.rpc
            )),
        ]),
        Line::from(vec![label("signer"), Span::raw(signer_name(t))]),
        Line::from(vec![label("deployer"), Span::raw(r.deployer.clone())]),
        Line::from([vec![label("balance")], balance_spans(r, theme, true)].concat()),
        Line::from(vec![
            label("est. cost"),
            Span::raw(format!(
                "{} · {} gas at {} · max {}",
                eth(&r.cost_wei),
                thousands(r.gas as usize),
                gwei(r.fee_per_gas),
                eth(&r.worst_case_wei)
            )),
        ]),
    ]
}
