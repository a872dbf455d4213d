//! The terminal app: pick a model file (or an unfinished deployment), preview its layers and
//! weights, confirm its hash, watch the deployment on the dashboard, and see it done.
//! The deployment engine is reached through one function, [`engine_link`] (in `link`).
//!
//! Elm-like: one [`Action`] enum for everything that happens, [`update`] the only place the
//! [`State`] changes (it hands each action to its screen's module in `screens`),
//! [`render::draw`] reads `&State`. Slow work (listing, sniffing, loading)
//! runs on worker threads ([`work`]) that send actions back; this loop never waits on them.
//!
//! Owns: the terminal while it runs. Must not be imported by the core stages.

pub mod action;
mod chain_keeper;
pub mod config;
pub mod dashboard;
pub mod keymap;
mod link;
mod log_file;
pub mod model_view;
pub mod render;
mod screens;
pub mod state;
pub mod target;
pub mod theme;
pub mod work;

pub use action::{Action, Effect};
pub use link::{EngineLink, engine_link};
pub use state::{State, update};

use anyhow::Context;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use state::Start;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;
use theme::Theme;

/// How often the spinner turns while work is on its way.
const TICK: Duration = Duration::from_millis(250);

/// Runs the TUI at `path` (a folder, or a file to preview; the working directory if `None`)
/// until the user quits. The terminal is restored on every way out. Returns the summary of a
/// deployment that finished, for the caller to print once the terminal is back.
pub fn run(path: Option<&Path>, config_file: Option<&Path>) -> anyhow::Result<Option<String>> {
    // Everything that can fail with a message for the user happens before the screen is taken.
    let keymap = config::keymap(config_file).map_err(anyhow::Error::msg)?;
    let keystores = config::keystores(config_file).map_err(anyhow::Error::msg)?;
    // A config the engine cannot read is reported when the probe or a deployment reads it.
    let engine_config = crate::engine::network::Config::load(config_file).unwrap_or_default();
    let choices = chain_keeper::discover(&engine_config, &keystores);
    let base = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .context("cannot read the working directory")?;
    let start = match path {
        None => Start::Folder(base.clone()),
        Some(p) => {
            let abs = p.canonicalize().map_err(|e| {
                anyhow::anyhow!("{}: cannot open: {e} (give a folder, a .keras/.h5 model file or a bundle .json)", p.display())
            })?;
            if abs.is_dir() {
                Start::Folder(abs)
            } else {
                Start::File(abs)
            }
        }
    };
    if let Some(log) = config::log_path()
        && let Err(e) = log_file::init(&log)
    {
        eprintln!(
            "warning: {}: cannot open the log file: {e}; running without a log",
            log.display()
        );
    }
    install_panic_log();
    log::info!("tui start at {start:?}");

    let (tx, rx) = mpsc::channel::<Action>();
    let workers = work::Workers::spawn(tx.clone()).context("cannot start worker threads")?;
    let engine_tx = tx.clone();
    let mut engine =
        EngineLink::new(config_file, &tx).context("cannot start the chain keeper thread")?;
    let stop_input = Arc::new(AtomicBool::new(false));

    let mut terminal = ratatui::try_init().context("cannot take over the terminal")?;
    let _restore = RestoreOnDrop; // error returns and panics restore the terminal too
    let size = terminal.size().context("cannot read the terminal size")?;
    let input = spawn_input(tx, stop_input.clone()).context("cannot start the input thread")?;

    let theme = Theme::from_env();
    let (mut state, mut effects) =
        State::with_choices(base, start, keymap, (size.width, size.height), choices);
    effects.push(state.watch_deployments(crate::journal::data_dir()));
    let mut carry_out = |effect: Effect| {
        if effect.is_for_engine() {
            engine_link(&mut engine, effect, &engine_tx);
        } else {
            workers.submit(effect);
        }
    };
    effects.into_iter().for_each(&mut carry_out);
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|f| render::draw(f, &state, theme))?;
            dirty = false;
        }
        let first = match rx.recv_timeout(TICK) {
            Ok(a) => a,
            Err(RecvTimeoutError::Timeout) => Action::Tick,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Handle everything that has arrived before drawing again.
        for action in std::iter::once(first).chain(rx.try_iter()) {
            let is_tick = matches!(action, Action::Tick);
            if !is_tick || state.busy() {
                dirty = true;
            }
            update(&mut state, action)
                .into_iter()
                .for_each(&mut carry_out);
        }
        if state.quit {
            break;
        }
    }
    stop_input.store(true, Ordering::Relaxed);
    let _ = input.join();
    // A deployment still running was told to abort by `update`; wait for it, then for the
    // chain keeper, so that the local anvil is stopped and its state written before the
    // process exits.
    engine.wind_down();
    log::info!("tui quit");
    Ok(state.exit_summary())
}

/// Restores the terminal when dropped: after a normal quit, an error, or during a panic's
/// unwinding (ratatui's panic hook restores it before the message is printed, too).
struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Puts a panic's message in the log as well; installed before ratatui's hook, which restores
/// the terminal first and then calls this one (and the default printer).
fn install_panic_log() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        log::error!("panic: {info}");
        previous(info);
    }));
}

/// Reads keys and resizes on a thread of its own; polls so that it can be told to stop.
fn spawn_input(
    tx: Sender<Action>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("tui-input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(50)) {
                    Ok(false) => continue,
                    Ok(true) => {}
                    Err(e) => {
                        log::error!("terminal input: {e}");
                        return;
                    }
                }
                let action = match event::read() {
                    Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Action::Key(k),
                    Ok(Event::Resize(width, height)) => Action::Resize { width, height },
                    Ok(_) => continue,
                    Err(e) => {
                        log::error!("terminal input: {e}");
                        return;
                    }
                };
                if tx.send(action).is_err() {
                    return;
                }
            }
        })
}
