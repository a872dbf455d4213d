//! The fixed-point reference against Keras's own predictions (truth.json): max |Δ| ≤
//! 1e-3·max(1, |y|) for every output, and the same argmax for classifiers — in both on-chain
//! weight formats.

use crate::common::*;
use eternalize::infer::{Graph, WeightFormat, fixed, input};
use eternalize::keras;
use serde_json::Value;

#[test]
fn reference_matches_keras_within_tolerance() {
    let mut checked = 0;
    let mut worst = 0.0f64;
    for path in model_files(&[
        "keras2_15",
        "keras3_4",
        "keras3_15",
        "generated",
        "generated/keras2_15",
        "generated/keras3_4",
        "generated/keras3_15",
    ]) {
        let truth = read_json(&sidecar(&path, ".truth.json"));
        let Some(pred) = truth.get("predict").filter(|p| !p.is_null()) else {
            continue;
        };
        // The writer suite must load; elsewhere, nan/huge weights are refused (see bad_input.rs).
        let writer_suite = path.parent().is_some_and(|d| {
            !d.ends_with("generated") && d.to_string_lossy().contains("generated")
        });
        let model = match keras::load(&path) {
            Ok(m) => m,
            Err(e) if writer_suite => panic!("{e}"),
            Err(_) => continue,
        };
        if eternalize::bundle::Bundle::from_model(&model).is_err() {
            continue;
        }
        let mut file_worst = 0.0f64;
        for format in [WeightFormat::Compact, WeightFormat::Exact] {
            let g = Graph::from_model(&model, format).unwrap();
            let per_input = truth_inputs(&truth, &g);
            let outputs: Vec<input::Array> = pred["outputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(array)
                .collect();
            let batch = per_input[0].len();
            for b in 0..batch {
                let ins: Vec<_> = per_input.iter().map(|s| s[b].clone()).collect();
                let got = g
                    .run(&ins)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(got.len(), outputs.len(), "{}", path.display());
                for (o, want) in got.iter().zip(&outputs) {
                    let per = o.data.len();
                    let want = &want.values[b * per..(b + 1) * per];
                    for (i, (g, w)) in o.data.iter().zip(want).enumerate() {
                        let g = fixed::to_f64(*g);
                        let err = (g - w).abs();
                        worst = worst.max(err / w.abs().max(1.0));
                        file_worst = file_worst.max(err / w.abs().max(1.0));
                        assert!(
                            err <= 1e-3 * w.abs().max(1.0),
                            "{} ({format:?}) sample {b} output {i}: reference {g} vs Keras {w}",
                            path.display()
                        );
                    }
                    if per > 1 {
                        let am = |v: &[f64]| {
                            v.iter()
                                .enumerate()
                                .fold(0, |m, (i, x)| if *x > v[m] { i } else { m })
                        };
                        let gv: Vec<f64> = o.data.iter().map(|x| fixed::to_f64(*x)).collect();
                        assert_eq!(am(&gv), am(want), "{} sample {b}: argmax", path.display());
                    }
                }
            }
        }
        eprintln!("{}: worst relative error {file_worst:e}", path.display());
        checked += 1;
    }
    eprintln!("checked {checked} models, worst relative error {worst:e}");
    assert!(checked >= 25, "only {checked} models with predictions");
}

#[test]
fn predict_command_runs_model_files_and_bundles_alike() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixtures().join("eai_example/fashion_mnist.keras");
    let input = fixtures().join("eai_example/fashion_mnist_input.npy");
    let bundle = dir.path().join("fm.json");
    let o = run(&[
        "export".as_ref(),
        model.as_os_str(),
        "-o".as_ref(),
        bundle.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for format in ["compact", "exact"] {
        let mut outs = Vec::new();
        for m in [&model, &bundle] {
            let o = run(&[
                "predict".as_ref(),
                m.as_os_str(),
                "--input".as_ref(),
                input.as_os_str(),
                "--format".as_ref(),
                format.as_ref(),
                "--json".as_ref(),
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
            assert_eq!(j["shape"], serde_json::json!([1, 10]));
            let sum: f64 = j["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .sum();
            assert!((sum - 1.0).abs() < 1e-6, "softmax sums to {sum}");
            outs.push(j);
        }
        assert_eq!(
            outs[0], outs[1],
            "bundle and model file must compute the same bits ({format})"
        );
    }
    // A wrong input shape names both shapes.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[[1, 2, 3]]").unwrap();
    let o = run(&[
        "predict".as_ref(),
        model.as_os_str(),
        "-i".as_ref(),
        bad.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("bad.json: input 'input_layer")
            && err.contains("has shape [1, 3], but the model takes (None, 28, 28, 1)"),
        "{err}"
    );
    // A bundle from eai is read back from its graph: it runs, and refuses a wrong input the
    // same way.
    let eai = fixtures().join("keras3_4/lenet_cnn.keras.eai.json");
    let o = run(&[
        "predict".as_ref(),
        eai.as_os_str(),
        "-i".as_ref(),
        bad.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("has shape [1, 3], but the model takes (None, 28, 28, 1)"),
        "{}",
        stderr(&o)
    );
    // One whose graph eai cut cannot be run, and says where and why.
    let cut = fixtures().join("keras3_4/batchnorm_mlp.keras.eai.json");
    let o = run(&[
        "predict".as_ref(),
        cut.as_os_str(),
        "-i".as_ref(),
        bad.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("layer 'softmax' (Softmax): has empty inbound_nodes")
            && err.contains("the model file it was exported from is needed"),
        "{err}"
    );
}
