//! `inspect --formats`: every weight format's cost and accuracy, measured by the reference
//! (`usecase::formats`), on real Keras files. (Deploying int16/int8: tests/formats_chain.rs.)

use crate::common::*;
use serde_json::Value;

const FASHION: &str = "eai_example/fashion_mnist.keras";
const FASHION_INPUT: &str = "eai_example/fashion_mnist_input.npy";

fn formats_json(args: &[&str]) -> Value {
    let out = bin()
        .current_dir(fixtures())
        .args(["inspect", "--formats", "--json"])
        .args(args)
        .output()
        .expect("run eternalize");
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

fn row<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["formats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} row in {v}"))
}

#[test]
fn fashion_mnist_formats_json() {
    let v = formats_json(&[FASHION, "--input", FASHION_INPUT]);
    let names: Vec<&str> = v["formats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["compact", "exact", "int16", "int8"]);
    for r in v["formats"].as_array().unwrap() {
        for key in [
            "name",
            "bytes",
            "chunks",
            "deploy_gas",
            "predict_gas",
            "max_abs_err",
            "max_rel_err",
            "argmax_agree",
        ] {
            assert!(r.get(key).is_some(), "{key} missing from {r}");
        }
        eprintln!(
            "fashion_mnist {}: {} bytes, {} chunks, deploy gas {}, max abs {}, max rel {}, argmax {}",
            r["name"],
            r["bytes"],
            r["chunks"],
            r["deploy_gas"],
            r["max_abs_err"],
            r["max_rel_err"],
            r["argmax_agree"]
        );
    }
    // fashion_mnist has no Keras predictions: the baseline is the exact reference, on the one
    // sample of its input file.
    assert_eq!(v["baseline"], "exact_reference");
    assert_eq!(v["sample_count"], 1);
    assert_eq!(row(&v, "compact")["bytes"], 232_960);
    assert_eq!(row(&v, "exact")["bytes"], 465_920);
    assert_eq!(row(&v, "exact")["max_abs_err"], 0.0);
    // int8 is a quarter of compact's bytes, give or take the scales and the int24 biases.
    let int8 = row(&v, "int8");
    let int16 = row(&v, "int16");
    assert!(int8["bytes"].as_u64().unwrap() * 3 < 232_960, "{int8}");
    assert!(
        int16["bytes"].as_u64().unwrap() * 3 / 2 < 232_960,
        "{int16}"
    );
    assert_eq!(int8["chunks"], 3);
    for r in [int8, int16] {
        assert_eq!(r["argmax_agree"], "1/1", "{r}");
        // The call planner's estimate of one predict call (tests/formats_chain.rs holds it to
        // anvil's): fashion_mnist measures ≈ 4.3M (int8) to 13.9M (exact) gas.
        let predict = r["predict_gas"].as_u64().unwrap_or(0);
        assert!((3_000_000..20_000_000).contains(&predict), "{r}");
        assert_eq!(r["estimate"], false, "the real int16/int8 layout: {r}");
        let err = r["max_abs_err"].as_f64().unwrap();
        assert!(err > 0.0 && err < 1e-2, "{r}");
    }
    assert!(int16["max_abs_err"].as_f64() < int8["max_abs_err"].as_f64());

    // Without an input: Keras's own predictions on its three samples (the model's truth file:
    // the input file's image as is, mirrored and shifted) — the accuracy bar: int16 and
    // int8 keep Keras's argmax on all three.
    let keras = formats_json(&[FASHION]);
    assert_eq!(keras["baseline"], "keras");
    assert_eq!(keras["samples"]["kind"], "keras_truth");
    assert_eq!(keras["sample_count"], 3);
    for name in ["compact", "exact", "int16", "int8"] {
        assert_eq!(row(&keras, name)["argmax_agree"], "3/3", "{keras}");
    }
    assert!(
        row(&keras, "int16")["max_abs_err"].as_f64() < Some(1e-3),
        "{keras}"
    );

    // A bundle has no Keras truth: deterministic drawn samples, the same on every run.
    let bundle = "keras3_15/lenet_cnn.keras.eai.json";
    let drawn = formats_json(&[bundle]);
    assert_eq!(drawn["samples"]["kind"], "drawn");
    assert_eq!(drawn["baseline"], "exact_reference");
    assert_eq!(drawn, formats_json(&[bundle]));
    for name in ["int16", "int8"] {
        assert_eq!(row(&drawn, name)["argmax_agree"], "4/4", "{drawn}");
    }
}

/// A model with Keras's predictions is measured against them, on their samples.
#[test]
fn keras_truth_is_the_baseline_when_there_is_one() {
    let v = formats_json(&["keras3_15/lenet_cnn.keras"]);
    assert_eq!(v["baseline"], "keras");
    assert_eq!(v["samples"]["kind"], "keras_truth");
    for name in ["compact", "exact", "int16", "int8"] {
        let r = row(&v, name);
        assert_eq!(r["argmax_agree"], "3/3", "{r}");
        // The reference is within 1e-3 of Keras in every format, int8 included.
        assert!(r["max_abs_err"].as_f64().unwrap() < 1e-3, "{r}");
    }
}

#[test]
fn formats_table() {
    let out = bin()
        .current_dir(fixtures())
        .args(["inspect", "--formats", "keras3_15/mlp_basic.keras"])
        .output()
        .expect("run eternalize");
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("formats_table", stdout(&out));
}

/// `--input` only means something with `--formats`.
#[test]
fn input_needs_formats() {
    let out = bin()
        .current_dir(fixtures())
        .args(["inspect", FASHION, "--input", FASHION_INPUT])
        .output()
        .expect("run eternalize");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// Every layer kind of the fixtures runs in every format, deterministically (two runs, the same
/// numbers), and int16/int8 keep Keras's argmax wherever there are Keras predictions.
#[test]
fn every_fixture_runs_in_every_format() {
    use eternalize::usecase::formats::{Baseline, measure};
    let mut measured = 0;
    for path in model_files(&["keras2_15", "keras3_4", "keras3_15", "generated"]) {
        let Ok(r) = measure(&path, None) else {
            continue; // files eternalize refuses (NaN weights, unsupported layers)
        };
        assert_eq!(r, measure(&path, None).unwrap(), "{}", path.display());
        assert_eq!(r.formats.len(), 4);
        if r.baseline == Baseline::Keras {
            measured += 1;
            for f in &r.formats {
                if let Some(agree) = &f.argmax_agree {
                    let (k, n) = agree.split_once('/').unwrap();
                    assert_eq!(k, n, "{} {}: argmax {agree}", path.display(), f.name);
                }
                // Relative to the output's scale: int8 keeps 1/127 of each channel's range, so
                // a few per cent of the largest output is what it costs (models with outputs of
                // several units reach absolute errors of 0.09).
                assert!(f.max_rel_err < 0.05, "{} {}: {f:?}", path.display(), f.name);
            }
        }
    }
    assert!(
        measured >= 30,
        "only {measured} fixtures with Keras predictions"
    );
}

/// The BENCHMARKS.md table: every fixture with Keras predictions, every format. Run with
/// `cargo test --test all formats::benchmark_table -- --ignored --nocapture`.
#[test]
#[ignore]
fn benchmark_table() {
    use eternalize::usecase::formats::{Baseline, measure};
    println!("| model | format | max abs err | max rel err | argmax | bytes |");
    println!("|---|---|---|---|---|---|");
    for path in model_files(&["keras2_15", "keras3_4", "keras3_15", "generated"]) {
        let Ok(r) = measure(&path, None) else {
            continue;
        };
        if r.baseline != Baseline::Keras {
            continue;
        }
        let name = path
            .strip_prefix(fixtures())
            .unwrap_or(&path)
            .display()
            .to_string();
        for f in &r.formats {
            println!(
                "| {name} | {} | {:.2e} | {:.2e} | {} | {}{} |",
                f.name,
                f.max_abs_err,
                f.max_rel_err,
                f.argmax_agree.as_deref().unwrap_or("—"),
                if f.estimate { "~" } else { "" },
                f.bytes
            );
        }
    }
}
