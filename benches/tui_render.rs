//! TUI rendering benchmark (`cargo bench --bench tui_render`): time to draw the Preview screen
//! of a synthetic 300-layer model, and the deploy dashboard of a synthetic 300-layer,
//! 5,000-chunk deployment, into ratatui's `TestBackend` at 120×40, as µs per frame; and the
//! time `update()` takes for a key while 64 transactions are in flight. Not a timed test; the
//! numbers go to BENCHMARKS.md. The bar for the dashboard is ≤ 2 ms per frame.

use eternalize::bundle::Hashes;
use eternalize::engine::{DeployEvent, Failure, Progress, Step, StepState};
use eternalize::tui::action::Action;
use eternalize::tui::dashboard::Dashboard;
use eternalize::tui::keymap::{Keymap, ScreenKind};
use eternalize::tui::model_view::{self, HISTOGRAM_BINS, LayerView, ModelView, TensorView};
use eternalize::tui::render;
use eternalize::tui::state::{Loadable, Start, State, update};
use eternalize::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;
use std::time::Instant;

fn synthetic_model(layers: usize) -> ModelView {
    let mut views = Vec::with_capacity(layers);
    for i in 0..layers {
        let n = 64 * 64;
        let values = move || (0..n).map(move |k| ((k * 7919 + i) % 1000) as f64 / 500.0 - 1.0);
        views.push(LayerView {
            idx: i,
            name: format!("dense_{i}"),
            class_name: "Dense".into(),
            output_shape: "(None, 64)".into(),
            params: Some(n + 64),
            inputs: if i == 0 { vec![] } else { vec![format!("dense_{}", i - 1)] },
            config_source: "Keras config",
            config: serde_json::to_string_pretty(&serde_json::json!({
                "name": format!("dense_{i}"), "units": 64, "activation": "relu",
                "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
            }))
            .unwrap_or_default(),
            tensors: Some(vec![
                TensorView { name: format!("layers/dense_{i}/vars/0"), shape: vec![64, 64], stats: model_view::stats(values()) },
                TensorView { name: format!("layers/dense_{i}/vars/1"), shape: vec![64], stats: model_view::stats((0..64).map(|k| k as f64)) },
            ]),
            histogram: model_view::histogram(values, HISTOGRAM_BINS),
            unsupported: None,
        });
    }
    ModelView {
        format: "keras",
        keras_version: Some("3.4.1".into()),
        model_class: Some("Sequential".into()),
        total_params: Some(layers * (64 * 64 + 64)),
        weight_words: layers * (64 * 64 + 64) / 4,
        layers: views,
        hashes: Hashes {
            graph: "ab".repeat(32),
            weights: "cd".repeat(32),
        },
        hash_check: None,
        not_exportable: None,
    }
}

fn main() {
    preview();
    dashboard();
}

fn preview() {
    let path = PathBuf::from("/bench/model.keras");
    let (mut state, _effects) = State::new(
        PathBuf::from("/bench"),
        Start::File(path),
        Keymap::default(),
        (120, 40),
    );
    let model = synthetic_model(300);
    if let Some(p) = state.preview.as_mut() {
        p.model = Loadable::Ready(Box::new(model));
        p.selected = 150; // mid-table: the view is scrolled
    }
    // Move the selection as a user would, so every frame differs.
    let (med, min, max) = time_frames(&mut state, |state, round, i| {
        if let Some(p) = state.preview.as_mut() {
            p.selected = (150 + round * 7 + i % 40) % 300;
        }
    });
    println!(
        "Preview, 300 layers, 120x40 TestBackend: median {med:.1} µs/frame (min {min:.1}, max {max:.1}; 5 rounds of {FRAMES} frames)"
    );
}

const FRAMES: usize = 2_000;

/// Draws `state` into a 120×40 test terminal: 50 frames to warm up, then 5 rounds of
/// [`FRAMES`] frames, `change` applied before each; (median, min, max) µs per frame.
fn time_frames(
    state: &mut State,
    mut change: impl FnMut(&mut State, usize, usize),
) -> (f64, f64, f64) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let theme = Theme { color: true };
    for _ in 0..50 {
        terminal
            .draw(|f| render::draw(f, state, theme))
            .expect("draw");
    }
    let mut per_frame = Vec::new();
    for round in 0..5 {
        let start = Instant::now();
        for i in 0..FRAMES {
            change(state, round, i);
            terminal
                .draw(|f| render::draw(f, state, theme))
                .expect("draw");
        }
        per_frame.push(start.elapsed().as_secs_f64() * 1e6 / FRAMES as f64);
    }
    median_of_5(per_frame)
}

const LAYERS: usize = 300;
const CHUNKS: usize = 5_000;
const IN_FLIGHT: usize = 64;

fn hash(n: usize) -> String {
    format!("0x{n:064x}")
}

fn mined(n: usize, address: bool) -> StepState {
    StepState::Mined {
        tx_hash: hash(n),
        block: 1_000 + n as u64,
        gas_used: 2_000_000 + n as u64,
        address: address.then(|| format!("0x{n:040x}")),
    }
}

/// A deployment two fifths through: contracts up to layer 150 mined, one batch failed;
/// chunks 0–1,999 mined but 20 out of funds, then 64 in flight, the rest queued; a full log.
fn dashboard_state() -> State {
    let (mut state, _effects) = State::new(
        PathBuf::from("/bench"),
        Start::Folder(PathBuf::from("/bench")),
        Keymap::default(),
        (120, 40),
    );
    state.dashboard = Some(Dashboard::new(PathBuf::from("/bench/model.keras")));
    state.screen = ScreenKind::Dashboard;
    let mut steps = vec![Step::Factory];
    steps.extend(
        ["Conv2D", "Dense", "BatchNormalization", "ReLU"]
            .map(|c| Step::Implementation { contract: c.into() }),
    );
    steps.push(Step::Model);
    steps.extend((0..LAYERS / 10).map(|b| Step::Layers {
        first: b * 10,
        count: 10,
    }));
    steps.push(Step::Construct);
    steps.extend((0..CHUNKS).map(|index| Step::Chunk { index }));
    let contract_steps: Vec<Step> = steps
        .iter()
        .filter(|s| !matches!(s, Step::Chunk { .. }))
        .cloned()
        .collect();
    let events = std::iter::once(DeployEvent::Planned {
        model_address: format!("0x{:040x}", 7),
        chain_id: 31337,
        steps,
        layer_names: (0..LAYERS).map(|i| format!("dense_{i}")).collect(),
        chunks: CHUNKS,
        format: eternalize::chain::WeightFormat::Compact,
        gas_estimate: 9_000_000_000,
        cost_estimate: "900000000000000000".into(),
        journal: "/bench/deployments/x.jsonl".into(),
    })
    .chain(contract_steps.iter().enumerate().filter_map(|(i, step)| {
        let state = match step {
            Step::Layers { first, .. } if *first == 150 => StepState::Failed {
                failure: Failure::Reverted {
                    reason: "LayerAlreadyLinked(150)".into(),
                },
                attempts: 1,
            },
            Step::Layers { first, .. } if *first > 150 => return None,
            Step::Construct => return None,
            _ => mined(i, true),
        };
        Some(DeployEvent::Step {
            step: step.clone(),
            state,
        })
    }))
    .chain((0..2_000 + IN_FLIGHT).map(|index| DeployEvent::Step {
        step: Step::Chunk { index },
        state: if index >= 2_000 {
            StepState::Pending {
                nonce: index as u64,
                tx_hash: hash(index),
            }
        } else if index % 100 == 37 {
            StepState::Failed {
                failure: Failure::InsufficientFunds {
                    balance: "1200000000000000".into(),
                    need: "3400000000000000".into(),
                },
                attempts: 1,
            }
        } else {
            mined(index, false)
        },
    }))
    .chain((0..600).map(|i| DeployEvent::Note {
        message: format!("fee bumped to 2.{i} gwei for nonce {i}"),
    }))
    .chain(std::iter::once(DeployEvent::Progress(Progress {
        transactions_mined: 2_000,
        transactions_total: CHUNKS + contract_steps.len(),
        chunks_stored: 1_980,
        chunks_total: CHUNKS,
        gas_used: 4_000_000_000,
        cost_wei: "400000000000000000".into(),
        in_flight: IN_FLIGHT,
        elapsed_ms: 600_000,
    })));
    for e in events {
        update(&mut state, Action::Deploy(e));
    }
    assert_eq!(
        state.dashboard.as_ref().map(|d| d.in_flight()),
        Some(IN_FLIGHT)
    );
    state
}

fn median_of_5(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[2], v[0], v[4])
}

fn dashboard() {
    let mut state = dashboard_state();
    let focus_chunks = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
    update(&mut state, Action::Key(focus_chunks));
    // The selection walks through the grid (which scrolls) and the contracts.
    let (med, min, max) = time_frames(&mut state, |state, round, i| {
        if let Some(d) = state.dashboard.as_mut() {
            d.selected_chunk = (round * 997 + i * 13) % CHUNKS;
            d.selected_row = (round * 7 + i) % (LAYERS + 7);
        }
    });
    println!(
        "Dashboard, {LAYERS} layers, {CHUNKS} chunks, 120x40 TestBackend: median {med:.1} µs/frame (min {min:.1}, max {max:.1}; 5 rounds of {FRAMES} frames)"
    );

    // Keys as an operator presses them while 64 transactions are in flight: moves in the
    // grid, panel switches, pause/resume, a retry, and the quit question asked and declined.
    let keys: Vec<KeyEvent> = [
        KeyCode::Right,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Up,
        KeyCode::Char('p'),
        KeyCode::Char('p'),
        KeyCode::Char('r'),
        KeyCode::Char('R'),
        KeyCode::Char('q'),
        KeyCode::Char('n'),
        KeyCode::PageDown,
        KeyCode::PageUp,
    ]
    .into_iter()
    .map(|c| KeyEvent::new(c, KeyModifiers::NONE))
    .collect();
    let presses = 120_000;
    let mut per_key = Vec::new();
    for _ in 0..5 {
        if let Some(d) = state.dashboard.as_mut() {
            d.selected_chunk = 37; // failed: r asks for a retry
        }
        let start = Instant::now();
        for i in 0..presses {
            let effects = update(&mut state, Action::Key(keys[i % keys.len()]));
            std::hint::black_box(effects);
        }
        per_key.push(start.elapsed().as_secs_f64() * 1e9 / presses as f64);
    }
    let (med, min, max) = median_of_5(per_key);
    assert_eq!(
        state.dashboard.as_ref().map(|d| d.in_flight()),
        Some(IN_FLIGHT)
    );
    println!(
        "update() per key, {IN_FLIGHT} in flight, {CHUNKS} chunks: median {med:.0} ns (min {min:.0}, max {max:.0}; 5 rounds of {presses} keys)"
    );

    // An engine event (a chunk changing state) costs update() this much.
    let events = 200_000;
    let mut per_event = Vec::new();
    for round in 0..5 {
        let start = Instant::now();
        for i in 0..events {
            let index = 2_000 + (i % IN_FLIGHT);
            let state_ = if (i + round) % 2 == 0 {
                StepState::Sending {
                    nonce: i as u64,
                    tx_hash: String::new(),
                }
            } else {
                StepState::Pending {
                    nonce: i as u64,
                    tx_hash: String::new(),
                }
            };
            update(
                &mut state,
                Action::Deploy(DeployEvent::Step {
                    step: Step::Chunk { index },
                    state: state_,
                }),
            );
        }
        per_event.push(start.elapsed().as_secs_f64() * 1e9 / events as f64);
    }
    let (med, min, max) = median_of_5(per_event);
    println!(
        "update() per chunk event: median {med:.0} ns (min {min:.0}, max {max:.0}; 5 rounds of {events})"
    );
}
