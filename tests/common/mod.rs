//! Helpers shared by the integration tests: fixture discovery and the binary under test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every model file under the given fixture folders, sorted.
pub fn model_files(dirs: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        let dir = fixtures().join(d);
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("keras" | "h5")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `X.truth.json` / `X.eai.json` beside a model file.
pub fn sidecar(model: &Path, suffix: &str) -> PathBuf {
    let mut s = model.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub fn read_json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eternalize"))
}

pub fn run(args: &[&std::ffi::OsStr]) -> Output {
    bin().args(args).output().expect("run eternalize")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A truth file's `{"shape": [...], "data": nested lists}` array, as `predict` reads inputs.
pub fn array(v: &serde_json::Value) -> eternalize::infer::input::Array {
    use serde_json::Value;
    fn flat(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
            Value::Number(n) => out.push(n.as_f64().unwrap()),
            other => panic!("unexpected {other}"),
        }
    }
    let shape: Vec<usize> = serde_json::from_value(v["shape"].clone()).unwrap();
    let mut values = Vec::new();
    flat(&v["data"], &mut values);
    eternalize::infer::input::Array { shape, values }
}

/// A fixture model (path relative to tests/fixtures) and its reference graph in the default
/// (compact) format.
pub fn load_fixture(rel: &str) -> (eternalize::keras::model::Model, eternalize::infer::Graph) {
    let model = eternalize::keras::load(&fixtures().join(rel)).unwrap();
    let graph =
        eternalize::infer::Graph::from_model(&model, eternalize::infer::WeightFormat::Compact)
            .unwrap();
    (model, graph)
}

/// A truth file's Keras inputs as the graph's inputs take them: per graph input (the graph's
/// order, which is the layers' order), its samples. Keras lists its inputs in the model's order,
/// which need not be the layers' order, so they are matched by name.
pub fn truth_inputs(
    truth: &serde_json::Value,
    graph: &eternalize::infer::Graph,
) -> Vec<Vec<eternalize::infer::Tensor>> {
    let keras_inputs = truth["predict"]["inputs"].as_array().unwrap();
    let names = truth["model_inputs"].as_array().unwrap();
    graph
        .inputs
        .iter()
        .zip(graph.input_shapes())
        .map(|(&node, shape)| {
            let name = graph.nodes[node].name.as_str();
            let k = names
                .iter()
                .position(|m| m["name"] == name)
                .unwrap_or_else(|| panic!("no Keras input named {name} in {names:?}"));
            eternalize::infer::input::samples(&array(&keras_inputs[k]), &shape).unwrap()
        })
        .collect()
}

/// What the TUI shows for `state` in a `width`×`height` terminal without colour, as text.
pub fn screen(state: &eternalize::tui::state::State, width: u16, height: u16) -> String {
    use eternalize::tui::{action::Action, render, state::update, theme::Theme};
    let mut state = state.clone();
    update(&mut state, Action::Resize { width, height });
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("test terminal");
    terminal
        .draw(|f| render::draw(f, &state, Theme { color: false }))
        .expect("draw");
    terminal.backend().to_string()
}
