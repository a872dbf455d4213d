//! TUI rendering benchmark (`cargo bench --bench tui_render`): time to draw the Preview screen
//! of a synthetic 300-layer model into ratatui's `TestBackend` at 120×40, as µs per frame.
//! Not a timed test; the number goes to BENCHMARKS.md. The bar for the (future)
//! deploy dashboard is ≤ 2 ms per frame; Preview is measured the same way.

use eternalize::bundle::Hashes;
use eternalize::tui::keymap::Keymap;
use eternalize::tui::model_view::{self, HISTOGRAM_BINS, LayerView, ModelView, TensorView};
use eternalize::tui::render;
use eternalize::tui::state::{Loadable, Start, State};
use eternalize::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
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
    }
}

fn main() {
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
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let theme = Theme { color: true };
    for _ in 0..50 {
        terminal
            .draw(|f| render::draw(f, &state, theme))
            .expect("draw");
    }
    let frames = 2_000;
    let mut per_frame = Vec::new();
    for round in 0..5 {
        let start = Instant::now();
        for i in 0..frames {
            // Move the selection as a user would, so every frame differs.
            if let Some(p) = state.preview.as_mut() {
                p.selected = (150 + round * 7 + i % 40) % 300;
            }
            terminal
                .draw(|f| render::draw(f, &state, theme))
                .expect("draw");
        }
        per_frame.push(start.elapsed().as_secs_f64() * 1e6 / frames as f64);
    }
    per_frame.sort_by(f64::total_cmp);
    println!(
        "Preview, 300 layers, 120x40 TestBackend: median {:.1} µs/frame (min {:.1}, max {:.1}; 5 rounds of {frames} frames)",
        per_frame[2], per_frame[0], per_frame[4]
    );
}
