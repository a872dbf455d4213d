//! Progress bars on stderr for headless `deploy`/`resume` on a terminal: one of the three
//! reporters over the engine's event stream (bars here; plain lines and NDJSON in `deploy.rs`).
//!
//! ```text
//! FAILED  chunk 7 (attempt 1): fee too low for the node      ← notable events scroll above
//! contracts [##########..........] 5/8 steps · layers 6/10
//! chunks    [######..............] 31/120  25% · 1.9 MiB/7.4 MiB · 310.0 KiB/s · ETA 17s
//! gas 12,345,678 · 0.012346 ETH · 3 in flight · 4s
//! ```
//!
//! [`Tally`] folds events into counts and words (every number through [`crate::units`], so the
//! bars read like the TUI); indicatif draws them: redrawn in place at most ten times a second,
//! lines printed above them, erased when the run ends, is interrupted or fails (a drop guard),
//! leaving only the notable lines and the summary. No line is wider than the terminal (crossterm
//! reads its width). Colour only without `NO_COLOR`; every state is also a word.
//!
//! Owns: the bar lines on stderr. Must not touch: stdout, the engine.

use alloy::primitives::U256;
use indicatif::{
    MultiProgress, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressState, ProgressStyle,
    TermLike,
};
use ratatui::crossterm::{
    self, cursor,
    terminal::{Clear, ClearType},
};
use std::collections::HashSet;
use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
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

    /// How far each bar is, as (done, total): contract steps, then chunks.
    pub fn counts(&self) -> [(usize, usize); 2] {
        [
            (
                self.contracts_done.len().min(self.contract_steps),
                self.contract_steps,
            ),
            (self.chunks_done.len(), self.chunks_total),
        ]
    }

    /// The text beside each of the two bars and the totals line, each cut so that its line
    /// fits a terminal `width` columns wide.
    pub fn texts(&self, width: usize, now: Instant) -> [String; 3] {
        let [(steps_done, steps), (chunks_done, chunks_total)] = self.counts();
        let mut contracts = format!("{steps_done}/{steps} steps");
        if self.layers_total > 0 {
            contracts.push_str(&format!(
                " · layers {}/{}",
                self.layers_done, self.layers_total
            ));
        }
        let pct = (chunks_done * 100).checked_div(chunks_total).unwrap_or(100);
        let bytes_done = self.bytes_done();
        let mut chunks = format!(
            "{chunks_done}/{chunks_total} {pct:>3}% · {}/{}",
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
            "gas {} · {} · {} in flight · {}",
            units::thousands(self.gas_used),
            units::eth(self.cost_wei),
            self.in_flight,
            units::duration(self.elapsed)
        );
        if !self.failed.is_empty() {
            totals.push_str(&format!(" · {} FAILED", self.failed.len()));
        }
        let beside_bar = width.saturating_sub(LABEL_WIDTH + 4 + bar_width(width));
        [
            fit(&contracts, beside_bar),
            fit(&chunks, beside_bar),
            fit(&totals, width),
        ]
    }
}

/// The width of the bars' labels (`contracts`, `chunks   `).
const LABEL_WIDTH: usize = 9;

/// How many cells a bar takes on a terminal `width` columns wide: what is left after about 60
/// columns of text, between 10 and 30.
fn bar_width(width: usize) -> usize {
    width.saturating_sub(60).clamp(10, 30)
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

/// `text` in SGR colour `code` when `color`.
fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Whether bars can be drawn on stderr: a terminal that names itself and understands cursor
/// movement (indicatif draws nothing without `TERM` or with `TERM=dumb`).
pub fn stderr_can_draw() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var("TERM").is_ok_and(|t| t != "dumb")
}

/// Whether colour is wanted (<https://no-color.org>: any non-empty `NO_COLOR` turns it off).
pub fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The terminal's columns and rows (crossterm reads them; 80×24 when it cannot, and then it is
/// not asked again).
fn terminal_size() -> (u16, u16) {
    static UNREADABLE: AtomicBool = AtomicBool::new(false);
    if !UNREADABLE.load(Ordering::Relaxed) {
        match crossterm::terminal::size() {
            Ok((columns, rows)) if columns > 0 && rows > 0 => return (columns, rows),
            _ => UNREADABLE.store(true, Ordering::Relaxed),
        }
    }
    (80, 24)
}

/// The style of a bar `label [####......] text`, the filled cells in SGR colour `code` when
/// `color` (ours, not indicatif's `{bar}`: on a target of our own its colour follows stdout's
/// colour support, not [`color_wanted`]).
fn bar_style(label: &str, code: &'static str, width: usize, color: bool) -> ProgressStyle {
    let cells = bar_width(width);
    let template = format!("{label:LABEL_WIDTH$} [{{cells}}] {{msg}}");
    ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("cells", move |s: &ProgressState, w: &mut dyn fmt::Write| {
            let total = s.len().unwrap_or(0) as usize;
            let filled = (s.pos() as usize).min(total) * cells;
            let filled = filled.checked_div(total).unwrap_or(cells);
            let _ = write!(
                w,
                "{}{}",
                paint(color, code, &"#".repeat(filled)),
                ".".repeat(cells - filled)
            );
        })
}

/// stderr as indicatif's terminal, moved about with crossterm. indicatif ends each line with
/// spaces up to the right edge and lets the terminal wrap; here a line ends in a newline instead,
/// so the screen's text has one line per bar (what a copy, or a test reading the screen, gets).
#[derive(Debug, Default)]
struct Stderr(Mutex<Pending>);

#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    /// indicatif writes each line as two strings, the text and then the spaces that fill it.
    filler_next: bool,
    /// A line was written: the next one starts on a new row.
    newline_due: bool,
}

impl Stderr {
    fn with(&self, f: impl FnOnce(&mut Pending) -> io::Result<()>) -> io::Result<()> {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A cursor command: it ends a run of lines (the cursor stays where the last one ended).
    fn cursor(&self, command: impl crossterm::Command) -> io::Result<()> {
        self.with(|p| {
            (p.filler_next, p.newline_due) = (false, false);
            crossterm::queue!(p.bytes, command)
        })
    }

    /// `n` steps of a cursor movement (none for 0, which terminals read as 1).
    fn steps<C: crossterm::Command>(&self, n: usize, movement: fn(u16) -> C) -> io::Result<()> {
        match u16::try_from(n) {
            Ok(0) => Ok(()),
            n => self.cursor(movement(n.unwrap_or(u16::MAX))),
        }
    }
}

impl TermLike for Stderr {
    fn width(&self) -> u16 {
        terminal_size().0
    }
    fn height(&self) -> u16 {
        terminal_size().1
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.steps(n, cursor::MoveUp)
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.steps(n, cursor::MoveDown)
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.steps(n, cursor::MoveRight)
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.steps(n, cursor::MoveLeft)
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.write_str(s)?;
        self.write_str("")
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.with(|p| {
            if std::mem::take(&mut p.filler_next) {
                p.newline_due = true;
                return crossterm::queue!(p.bytes, Clear(ClearType::UntilNewLine));
            }
            if std::mem::take(&mut p.newline_due) {
                p.bytes.extend_from_slice(b"\r\n");
            }
            p.filler_next = true;
            p.bytes.extend_from_slice(s.as_bytes());
            Ok(())
        })
    }
    fn clear_line(&self) -> io::Result<()> {
        self.cursor(cursor::MoveToColumn(0))?;
        self.cursor(Clear(ClearType::CurrentLine))
    }
    fn flush(&self) -> io::Result<()> {
        self.with(|p| {
            (p.filler_next, p.newline_due) = (false, false);
            let mut err = io::stderr().lock();
            err.write_all(&std::mem::take(&mut p.bytes))?;
            err.flush()
        })
    }
}

/// The bars on stderr (indicatif draws them): lines scroll above them, and they are erased when
/// closed or dropped.
pub struct Bars {
    pub tally: Tally,
    color: bool,
    multi: MultiProgress,
    contracts: ProgressBar,
    chunks: ProgressBar,
    totals: ProgressBar,
    /// The terminal width the bars' styles were made for.
    styled_for: usize,
    last_draw: Option<Instant>,
    /// The run has ended: nothing is drawn any more.
    closed: bool,
}

impl Bars {
    pub fn new(tally: Tally) -> Bars {
        let hz = (1000 / REDRAW_EVERY.as_millis()) as u8;
        let target = ProgressDrawTarget::term_like_with_hz(Box::<Stderr>::default(), hz);
        Bars::on(tally, target, color_wanted())
    }

    fn on(tally: Tally, target: ProgressDrawTarget, color: bool) -> Bars {
        let multi = MultiProgress::with_draw_target(target);
        let bar = || multi.add(ProgressBar::new(0).with_finish(ProgressFinish::AndClear));
        let (contracts, chunks, totals) = (bar(), bar(), bar());
        totals.set_style(
            ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bars {
            tally,
            color,
            multi,
            contracts,
            chunks,
            totals,
            styled_for: 0,
            last_draw: None,
            closed: false,
        }
    }

    /// Prints `line` above the bars (which are redrawn under it).
    pub fn println(&mut self, line: &str) {
        let line = paint(self.color && line.starts_with("FAILED"), "31", line);
        if self.closed {
            eprintln!("{line}");
            return;
        }
        self.draw();
        let _ = self.multi.println(line);
    }

    /// Erases the bars for good; later lines are printed as they are.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let _ = self.multi.clear();
        // Nothing more reaches the screen, not even the bars' last frames as they finish.
        self.multi.set_draw_target(ProgressDrawTarget::hidden());
        for bar in [&self.contracts, &self.chunks, &self.totals] {
            bar.finish_and_clear();
        }
    }

    /// Brings the bars up to date; indicatif redraws them at most ten times a second.
    pub fn draw(&mut self) {
        self.draw_at(terminal_size().0 as usize, Instant::now());
    }

    fn draw_at(&mut self, width: usize, now: Instant) {
        if self.closed {
            return;
        }
        if width != self.styled_for {
            self.styled_for = width;
            self.contracts
                .set_style(bar_style("contracts", "36", width, self.color));
            self.chunks
                .set_style(bar_style("chunks", "32", width, self.color));
        }
        let t = &self.tally;
        let [contracts, chunks, totals] = t.texts(width, now);
        let [contracts_count, chunks_count] = t.counts();
        for (bar, (done, total), text) in [
            (&self.contracts, contracts_count, contracts),
            (&self.chunks, chunks_count, chunks),
        ] {
            bar.update(|s| {
                s.set_len(total as u64);
                s.set_pos(done as u64);
            });
            bar.set_message(text);
        }
        self.totals
            .set_message(paint(self.color && !t.failed.is_empty(), "31", &totals));
        self.last_draw = Some(now);
    }

    /// Brings the bars up to date unless that was done less than [`REDRAW_EVERY`] ago.
    pub fn maybe_draw(&mut self) {
        if self.last_draw.is_none_or(|t| t.elapsed() >= REDRAW_EVERY) {
            self.draw();
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.close();
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
            format: crate::chain::WeightFormat::Compact,
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
        let [contracts, chunks, totals] = t.texts(100, t0 + Duration::from_secs(1));
        assert_eq!(contracts, "1/4 steps · layers 4/4");
        assert!(chunks.starts_with("2/3  66% · 1.4 KiB/2.4 KiB"), "{chunks}");
        assert!(chunks.ends_with("452 B/s · ETA 2s"), "{chunks}");
        assert!(totals.starts_with("gas 0 · 0 ETH"), "{totals}");
    }

    /// A terminal `width` columns wide that keeps every line of text indicatif writes (it pads
    /// each to the width in a write of its own).
    #[derive(Debug)]
    struct Recorder {
        width: u16,
        lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl indicatif::TermLike for Recorder {
        fn width(&self) -> u16 {
            self.width
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            if !s.trim().is_empty() {
                self.lines.lock().unwrap().push(s.to_string());
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines indicatif draws for `tally` on a terminal `width` wide.
    fn drawn(tally: &Tally, width: usize, color: bool, now: Instant) -> Vec<String> {
        let lines = std::sync::Arc::default();
        let target = ProgressDrawTarget::term_like(Box::new(Recorder {
            width: width as u16,
            lines: std::sync::Arc::clone(&lines),
        }));
        let mut bars = Bars::on(tally.clone(), target, color);
        bars.draw_at(width, now);
        // The last drawing holds the three lines.
        let last = lines
            .lock()
            .unwrap()
            .iter()
            .rev()
            .take(3)
            .rev()
            .cloned()
            .collect();
        bars.close();
        last
    }

    #[test]
    fn bar_lines_never_exceed_the_width_and_colour_only_when_wanted() {
        let t0 = Instant::now();
        let mut t = Tally::new(1024, 10_000_000);
        t.update(&planned(), t0);
        t.update(&mined(Step::Factory), t0);
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
            let lines = drawn(&t, width, false, t0);
            assert!(lines[0].starts_with("contracts [#"), "{width}: {lines:?}");
            assert!(lines[1].starts_with("chunks    [..."), "{width}: {lines:?}");
            assert!(lines[2].starts_with("gas "), "{width}: {lines:?}");
            for line in lines {
                assert!(line.chars().count() <= width.max(24), "{width}: {line}");
                assert!(!line.contains('\x1b'));
            }
        }
        assert!(drawn(&t, 80, false, t0)[2].contains("1 FAILED"));
        let coloured = drawn(&t, 80, true, t0);
        assert!(coloured[0].contains("[\x1b[36m#"), "{coloured:?}");
        assert!(coloured[2].starts_with("\x1b[31mgas "), "{coloured:?}");
    }

    #[test]
    fn stderr_ends_lines_with_newlines_not_with_spaces_to_the_edge() {
        let term = Stderr::default();
        for s in ["plan: …", "   ", "contracts [#.]", "", "gas 1", "  "] {
            term.write_str(s).unwrap();
        }
        let bytes = |t: &Stderr| String::from_utf8(t.0.lock().unwrap().bytes.clone()).unwrap();
        assert_eq!(
            bytes(&term),
            "plan: …\x1b[K\r\ncontracts [#.]\x1b[K\r\ngas 1\x1b[K",
            "the cursor stays on the last line"
        );
        term.move_cursor_up(2).unwrap();
        term.write_str("x").unwrap();
        assert!(
            bytes(&term).ends_with("\x1b[K\x1b[2Ax"),
            "{:?}",
            bytes(&term)
        );
    }
}
