//! Progress bars on stderr for headless `deploy`/`resume` on a terminal: one of the three
//! reporters over the engine's event stream (bars here; plain lines and NDJSON in `deploy.rs`).
//!
//! ```text
//! FAILED  chunk 7 (attempt 1): fee too low for the node      ← notable events scroll above
//! contracts [##########..........]  5/8 steps · layers 6/10
//! chunks    [######..............] 31/120  26% · 1.9/7.4 MB · 310 kB/s · ETA 17 s
//! gas 12,345,678 · 0.012346 ETH · 3 in flight · 4.2 s
//! ```
//!
//! The bar lines are redrawn in place, at most ten times a second, never wider than the
//! terminal (a wrapped line would break the redraw), and erased when the run ends, is
//! interrupted or fails (a drop guard), leaving only the notable lines and the summary.
//! Colour only without `NO_COLOR`; every state is also a word.
//!
//! Owns: the bar lines on stderr. Must not touch: stdout, the engine.

use alloy::primitives::U256;
use std::collections::HashSet;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::engine::{DeployEvent, Progress, Step, StepState};
use crate::units;

/// The fastest the bars are redrawn.
pub const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// What the bars show, folded from events; drawing reads it and never changes it.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub contract_steps: usize,
    pub contracts_done: HashSet<Step>,
    pub layers_total: usize,
    pub layers_done: usize,
    pub chunks_total: usize,
    pub chunks_done: HashSet<usize>,
    /// Chunks already on chain when this run started (not part of the rate).
    pub chunks_skipped: usize,
    pub chunk_bytes: usize,
    pub total_bytes: usize,
    pub failed: HashSet<Step>,
    pub gas_used: u64,
    pub cost_wei: U256,
    pub in_flight: usize,
    pub elapsed: Duration,
    /// When the first chunk of this run was mined, and the bytes stored by this run since.
    pub first_chunk: Option<Instant>,
    pub bytes_this_run: usize,
}

impl Tally {
    /// A tally for a weight blob of `total_bytes` cut into chunks of `chunk_bytes`.
    pub fn new(chunk_bytes: usize, total_bytes: usize) -> Tally {
        Tally {
            chunk_bytes,
            total_bytes,
            ..Tally::default()
        }
    }

    fn chunk_size(&self, index: usize) -> usize {
        self.total_bytes
            .saturating_sub(index * self.chunk_bytes)
            .min(self.chunk_bytes)
    }

    pub fn bytes_done(&self) -> usize {
        self.chunks_done.iter().map(|&i| self.chunk_size(i)).sum()
    }

    /// Takes one event in; `now` is when it arrived.
    pub fn update(&mut self, e: &DeployEvent, now: Instant) {
        match e {
            DeployEvent::Planned { steps, chunks, .. } => {
                self.contract_steps = steps
                    .iter()
                    .filter(|s| !matches!(s, Step::Chunk { .. }))
                    .count();
                self.layers_total = steps
                    .iter()
                    .map(|s| match s {
                        Step::Layers { count, .. } => *count,
                        _ => 0,
                    })
                    .sum();
                self.chunks_total = *chunks;
            }
            DeployEvent::Step { step, state } => {
                let done = match state {
                    StepState::Mined { .. } => Some(false),
                    StepState::Skipped { .. } => Some(true),
                    StepState::Failed { .. } => {
                        self.failed.insert(step.clone());
                        None
                    }
                    StepState::Queued | StepState::Sending { .. } | StepState::Pending { .. } => {
                        self.failed.remove(step);
                        None
                    }
                };
                let Some(skipped) = done else { return };
                self.failed.remove(step);
                match step {
                    Step::Chunk { index } => {
                        if self.chunks_done.insert(*index) {
                            if skipped {
                                self.chunks_skipped += 1;
                            } else {
                                self.first_chunk.get_or_insert(now);
                                self.bytes_this_run += self.chunk_size(*index);
                            }
                        }
                    }
                    other => {
                        if self.contracts_done.insert(other.clone())
                            && let Step::Layers { count, .. } = other
                        {
                            self.layers_done += count;
                        }
                    }
                }
            }
            DeployEvent::Progress(Progress {
                gas_used,
                cost_wei,
                in_flight,
                elapsed_ms,
                ..
            }) => {
                self.gas_used = *gas_used;
                self.cost_wei = cost_wei.parse().unwrap_or(self.cost_wei);
                self.in_flight = *in_flight;
                self.elapsed = Duration::from_millis(*elapsed_ms);
            }
            DeployEvent::Finished(s) => {
                self.gas_used = s.gas_used;
                self.cost_wei = s.cost_wei.parse().unwrap_or(self.cost_wei);
                self.in_flight = 0;
            }
            _ => {}
        }
    }

    /// Bytes per second stored by this run, once there is something to measure.
    fn rate(&self, now: Instant) -> Option<f64> {
        let since = now.duration_since(self.first_chunk?).as_secs_f64();
        // The first chunk's bytes arrived at `first_chunk`; the rate is what came after.
        (since >= 0.5 && self.bytes_this_run > 0).then(|| self.bytes_this_run as f64 / since)
    }

    /// The bar lines, each at most `width` characters.
    pub fn render(&self, width: usize, color: bool, now: Instant) -> Vec<String> {
        let paint = |code: &str, s: String| {
            if color {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s
            }
        };
        let bar_width = width.saturating_sub(60).clamp(10, 30);
        let contracts_done = self.contracts_done.len();
        let mut contracts = format!(
            "{}/{} steps",
            contracts_done.min(self.contract_steps),
            self.contract_steps
        );
        if self.layers_total > 0 {
            contracts.push_str(&format!(
                " · layers {}/{}",
                self.layers_done, self.layers_total
            ));
        }
        let chunks_done = self.chunks_done.len();
        let pct = (chunks_done * 100)
            .checked_div(self.chunks_total)
            .unwrap_or(100);
        let bytes_done = self.bytes_done();
        let mut chunks = format!(
            "{chunks_done}/{} {pct:>3}% · {}/{}",
            self.chunks_total,
            units::bytes(bytes_done),
            units::bytes(self.total_bytes)
        );
        if let Some(rate) = self.rate(now) {
            chunks.push_str(&format!(" · {}/s", units::bytes(rate as usize)));
            let left = self.total_bytes.saturating_sub(bytes_done);
            if left > 0 && rate > 0.0 {
                chunks.push_str(&format!(
                    " · ETA {}",
                    units::duration(Duration::from_secs_f64(left as f64 / rate))
                ));
            }
        }
        let mut totals = format!(
            "gas {} · {} · {} in flight · {:.1} s",
            units::thousands(self.gas_used),
            units::eth(self.cost_wei),
            self.in_flight,
            self.elapsed.as_secs_f64()
        );
        if !self.failed.is_empty() {
            totals.push_str(&format!(" · {} FAILED", self.failed.len()));
        }
        let lines = [
            (
                "contracts",
                "36",
                contracts_done,
                self.contract_steps,
                contracts,
            ),
            ("chunks   ", "32", chunks_done, self.chunks_total, chunks),
        ];
        let mut out: Vec<String> = lines
            .into_iter()
            .map(|(label, code, done, total, text)| {
                let filled = (done.min(total) * bar_width)
                    .checked_div(total)
                    .unwrap_or(bar_width);
                let text = fit(&text, width.saturating_sub(label.len() + 4 + bar_width));
                format!(
                    "{label} [{}{}] {text}",
                    paint(code, "#".repeat(filled)),
                    ".".repeat(bar_width - filled)
                )
            })
            .collect();
        let totals = fit(&totals, width);
        out.push(if self.failed.is_empty() {
            totals
        } else {
            paint("31", totals)
        });
        out
    }
}

/// `text` cut to `width` characters (an ellipsis marks the cut).
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        s.push('…');
    }
    s
}

/// Whether bars can be drawn on stderr: a terminal that understands cursor movement.
pub fn stderr_can_draw() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Whether colour is wanted (<https://no-color.org>: any non-empty `NO_COLOR` turns it off).
pub fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The terminal's width in columns (80 when it cannot be read).
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ fills the winsize struct we pass; on failure we ignore it.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        ws.ws_col as usize
    } else {
        80
    }
}

/// The bars on stderr: lines scroll above them, and they are erased on drop.
pub struct Bars {
    pub tally: Tally,
    color: bool,
    /// Bar lines on screen now; the cursor is at the end of the last one.
    drawn: usize,
    last_draw: Option<Instant>,
    /// The run has ended: nothing is drawn any more.
    closed: bool,
}

impl Bars {
    pub fn new(tally: Tally) -> Bars {
        Bars {
            tally,
            color: color_wanted(),
            drawn: 0,
            last_draw: None,
            closed: false,
        }
    }

    /// Erases the bar lines (the cursor goes to where the first one started).
    pub fn clear(&mut self) {
        if self.drawn == 0 {
            return;
        }
        let mut err = std::io::stderr().lock();
        let up = if self.drawn > 1 {
            format!("\x1b[{}A", self.drawn - 1)
        } else {
            String::new()
        };
        let _ = write!(err, "\r{up}\x1b[J");
        let _ = err.flush();
        self.drawn = 0;
    }

    /// Prints `line` above the bars (which are redrawn under it).
    pub fn println(&mut self, line: &str) {
        self.clear();
        let line = if self.color && line.starts_with("FAILED") {
            format!("\x1b[31m{line}\x1b[0m")
        } else {
            line.to_string()
        };
        eprintln!("{line}");
        self.draw();
    }

    /// Erases the bars for good; later lines are printed as they are.
    pub fn close(&mut self) {
        self.clear();
        self.closed = true;
    }

    /// Redraws the bars now.
    pub fn draw(&mut self) {
        if self.closed {
            return;
        }
        let now = Instant::now();
        let lines = self.tally.render(terminal_width(), self.color, now);
        self.clear();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{}", lines.join("\n"));
        let _ = err.flush();
        self.drawn = lines.len();
        self.last_draw = Some(now);
    }

    /// Redraws the bars unless they were drawn less than [`REDRAW_EVERY`] ago.
    pub fn maybe_draw(&mut self) {
        if self.last_draw.is_none_or(|t| t.elapsed() >= REDRAW_EVERY) {
            self.draw();
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned() -> DeployEvent {
        DeployEvent::Planned {
            model_address: "0x0".into(),
            chain_id: 31337,
            steps: vec![
                Step::Factory,
                Step::Model,
                Step::Layers { first: 0, count: 4 },
                Step::Construct,
                Step::Chunk { index: 0 },
                Step::Chunk { index: 1 },
                Step::Chunk { index: 2 },
            ],
            layer_names: vec![],
            chunks: 3,
            gas_estimate: 0,
            cost_estimate: "0".into(),
            journal: "j".into(),
        }
    }

    fn mined(step: Step) -> DeployEvent {
        DeployEvent::Step {
            step,
            state: StepState::Mined {
                tx_hash: "0x".into(),
                block: 1,
                gas_used: 1,
                address: None,
            },
        }
    }

    #[test]
    fn the_tally_counts_contracts_layers_chunks_and_bytes() {
        let t0 = Instant::now();
        let mut t = Tally::new(1024, 2500);
        t.update(&planned(), t0);
        t.update(&mined(Step::Layers { first: 0, count: 4 }), t0);
        t.update(&mined(Step::Chunk { index: 2 }), t0);
        t.update(&mined(Step::Chunk { index: 2 }), t0);
        t.update(
            &DeployEvent::Step {
                step: Step::Chunk { index: 0 },
                state: StepState::Skipped { address: None },
            },
            t0,
        );
        assert_eq!(t.contract_steps, 4);
        assert_eq!(t.layers_done, 4);
        assert_eq!(t.chunks_done.len(), 2);
        assert_eq!(t.bytes_done(), 1024 + 452);
        assert_eq!(t.bytes_this_run, 452);
        let lines = t.render(100, false, t0 + Duration::from_secs(1));
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("1/4 steps · layers 4/4"), "{lines:?}");
        assert!(lines[1].contains("2/3  66% · 1.4 KiB/2.4 KiB"), "{lines:?}");
        assert!(lines[1].contains("452 B/s · ETA 2s"), "{lines:?}");
        assert!(lines[2].starts_with("gas 0 · 0 ETH"), "{lines:?}");
    }

    #[test]
    fn bar_lines_never_exceed_the_width_and_colour_only_when_wanted() {
        let t0 = Instant::now();
        let mut t = Tally::new(1024, 10_000_000);
        t.update(&planned(), t0);
        t.update(
            &DeployEvent::Step {
                step: Step::Model,
                state: StepState::Failed {
                    failure: crate::engine::Failure::Underpriced,
                    attempts: 1,
                },
            },
            t0,
        );
        for width in [20, 40, 80, 200] {
            for line in t.render(width, false, t0) {
                assert!(line.chars().count() <= width.max(24), "{width}: {line}");
                assert!(!line.contains('\x1b'));
            }
        }
        assert!(t.render(80, false, t0)[2].contains("1 FAILED"));
        assert!(t.render(80, true, t0).iter().any(|l| l.contains("\x1b[")));
    }
}
