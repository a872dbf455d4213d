//! Issue 15's smooth activations offline: each function of `infer::activations` against Keras's
//! own value of it on a grid (generated/activations_grid.json, written by `generate.py
//! --activation-grid` with Keras 3.4 and tf.keras 2.15), and the "MLP using every activation"
//! fixtures against Keras's predictions, with each function's worst error printed for
//! BENCHMARKS.md. Shapes and parameter counts are `export_fixtures.rs`'s (it walks generated/).
use crate::common::*;
use eternalize::infer::forward::activate;
use eternalize::infer::{Graph, WeightFormat, fixed, input};
use eternalize::keras;
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|x| match x {
            Value::Array(_) => floats(x),
            _ => vec![x.as_f64().unwrap()],
        })
        .collect()
}

fn q(x: f64) -> i128 {
    fixed::from_f64(x).unwrap()
}

/// |reference − Keras| / max(1, |Keras|), the tolerance's measure (1e-3).
fn err(got: i128, want: f64) -> f64 {
    (fixed::to_f64(got) - want).abs() / want.abs().max(1.0)
}

#[test]
fn each_function_equals_keras_on_a_grid() {
    let grid = read_json(&fixtures().join("generated/activations_grid.json"));
    let xs = floats(&grid["x"]);
    let funcs = grid["functions"].as_object().unwrap();
    assert_eq!(funcs.len(), 12, "{:?}", funcs.keys());
    eprintln!("| function | worst |Δ| / max(1, |y|) on [−12, 12] |");
    eprintln!("|---|---:|");
    for (name, want) in funcs {
        let want = floats(want);
        let mut v: Vec<i128> = xs.iter().map(|&x| q(x)).collect();
        activate(name, &mut v, 1).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut worst = 0.0f64;
        for ((g, w), x) in v.iter().zip(&want).zip(&xs) {
            let e = err(*g, *w);
            worst = worst.max(e);
            assert!(
                e <= 1e-3,
                "{name}({x}): reference {} vs Keras {w}",
                fixed::to_f64(*g)
            );
        }
        eprintln!("| `{name}` | {worst:.1e} |");
    }
    let rows = &grid["log_softmax_rows"];
    let (x, want) = (floats(&rows["x"]), floats(&rows["y"]));
    let last = rows["x"][0].as_array().unwrap().len();
    let mut v: Vec<i128> = x.iter().map(|&x| q(x)).collect();
    activate("log_softmax", &mut v, last).unwrap();
    let worst = v
        .iter()
        .zip(&want)
        .map(|(g, w)| err(*g, *w))
        .fold(0.0, f64::max);
    eprintln!("| `log_softmax` (rows of {last}) | {worst:.1e} |");
    assert!(worst <= 1e-3);
}

/// Keras 2's hard_sigmoid keeps its own formula: the reader renames it in Keras 2 files only.
#[test]
fn hard_sigmoid_follows_the_writer() {
    let k2 = keras::load(&fixtures().join("generated/activations_keras2.h5")).unwrap();
    let k3 = keras::load(&fixtures().join("generated/activations_mlp.keras")).unwrap();
    let act = |m: &keras::model::Model, name: &str, field: &str| {
        let l = m.layers.iter().find(|l| l.name == name).unwrap();
        l.config[field].as_str().unwrap().to_string()
    };
    assert_eq!(
        act(&k2, "dense_hard_sigmoid", "activation"),
        "hard_sigmoid_keras2"
    );
    assert_eq!(
        act(&k2, "act_hard_sigmoid", "activation"),
        "hard_sigmoid_keras2"
    );
    assert_eq!(act(&k3, "dense_hard_sigmoid", "activation"), "hard_sigmoid");
    assert_eq!(act(&k3, "gru_hard", "recurrent_activation"), "hard_sigmoid");
    // The bundle says which formula: eai-style `Activation` config, our name.
    let b = eternalize::bundle::Bundle::from_model(&k2).unwrap();
    let layers = b.graph["layers"].as_array().unwrap();
    let l = layers
        .iter()
        .find(|l| l["name"] == "act_hard_sigmoid")
        .unwrap();
    assert_eq!(l["class_name"], "Activation");
    assert_eq!(
        l["layer_config"],
        serde_json::json!({"activation": "hard_sigmoid_keras2"})
    );
}

#[test]
fn every_activation_model_equals_keras() {
    for name in [
        "activations_mlp.keras",
        "activations_mlp.h5",
        "activations_keras2.h5",
    ] {
        let path = fixtures().join("generated").join(name);
        let truth = read_json(&sidecar(&path, ".truth.json"));
        let model = keras::load(&path).unwrap();
        assert_eq!(
            model.total_params() as u64,
            truth["total_params"].as_u64().unwrap()
        );
        let pred = &truth["predict"];
        let want = array(&pred["outputs"][0]);
        for format in [WeightFormat::Compact, WeightFormat::Exact] {
            let g = Graph::from_model(&model, format).unwrap();
            let samples = input::samples(&array(&pred["inputs"][0]), &g.input_shapes()[0]).unwrap();
            let mut worst = 0.0f64;
            for (b, s) in samples.iter().enumerate() {
                let got = g.run(std::slice::from_ref(s)).unwrap();
                let per = got[0].data.len();
                for (i, (g, w)) in got[0]
                    .data
                    .iter()
                    .zip(&want.values[b * per..(b + 1) * per])
                    .enumerate()
                {
                    let e = err(*g, *w);
                    worst = worst.max(e);
                    assert!(
                        e <= 1e-3,
                        "{name} {format:?} sample {b} output {i}: {g} vs {w}"
                    );
                }
            }
            eprintln!("{name} ({format:?}): worst {worst:.1e}");
        }
    }
}
