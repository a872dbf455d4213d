//! Bundles written by eai itself (every `*.eai.json` under tests/fixtures, found by walking the
//! folders): each either rebuilds to exactly what eternalize exports from the model file next to
//! it — links, shapes, parameter counts, tensor offsets, weight words, hashes, the chain's
//! spec and the offline reference's outputs — or is refused by `plan`, `predict` and
//! `inspect` with one message naming the bundle, the layer and that the model file is needed.
//! One eai bundle, and bundles eternalize exported with TimeDistributed and Bidirectional layers,
//! are deployed on a real anvil without their model files and verify against their Keras files.

use crate::deploy_support::*;
use eternalize::bundle::file::ModelFile;
use eternalize::engine::Source;
use eternalize::infer::{Tensor, WeightFormat, fixed};
use eternalize::usecase::{inspect, predict};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn eai_exports() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.to_string_lossy().ends_with(".eai.json") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&fixture(""), &mut out);
    out.sort();
    out
}

/// The parts of the `eternalize` section a deployment and the reference depend on.
fn graph_facts(meta: &Value) -> Value {
    let layers: Vec<Value> = meta["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let tensors: Vec<Value> = l["weights"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| serde_json::json!([t["shape"], t["offset"], t["words"]]))
                .collect();
            serde_json::json!({
                "name": l["name"], "class_name": l["class_name"], "inputs": l["inputs"],
                "input_shapes": l["input_shapes"], "output_shape": l["output_shape"],
                "params": l["params"], "tensors": tensors,
            })
        })
        .collect();
    serde_json::json!({"inputs": meta["inputs"], "outputs": meta["outputs"], "layers": layers})
}

/// Small integers (valid token ids too) for every input of `graph`.
fn sample(graph: &eternalize::infer::Graph) -> Vec<Tensor> {
    graph
        .input_shapes()
        .iter()
        .map(|s| {
            let shape: Vec<usize> = s[1..].iter().map(|d| d.unwrap_or(3)).collect();
            let n: usize = shape.iter().product();
            let data = (0..n)
                .map(|k| fixed::from_f64(((k * 7) % 3) as f64).unwrap())
                .collect();
            Tensor { shape, data }
        })
        .collect()
}

#[test]
fn every_eai_export_rebuilds_to_the_model_files_export_or_is_refused_by_name() {
    let exports = eai_exports();
    assert!(exports.len() >= 80, "found {} eai exports", exports.len());
    let mut usable = Vec::new();
    let mut refused: Vec<(PathBuf, String)> = Vec::new();
    for path in &exports {
        let shown = path.display().to_string();
        let model_path = PathBuf::from(shown.trim_end_matches(".eai.json"));
        let eai = ModelFile::open(path).unwrap_or_else(|e| panic!("{shown}: {e}"));
        assert!(
            eai.mismatch().is_none(),
            "{shown}: eai's own hash must hold"
        );
        let summary = inspect::summarize(&eai);
        if let Some(gap) = eai.gap() {
            // Refused everywhere with the same words, naming the file, the layer and the fix.
            let plan = Source::from_file(&eai).unwrap_err().to_string();
            let run = predict::graph_of(&eai, WeightFormat::Compact)
                .err()
                .unwrap()
                .to_string();
            for message in [&plan, &run] {
                assert!(message.contains(&shown), "{message}");
                assert!(message.contains(&gap.to_string()), "{message}");
            }
            let (layer, _) = gap.layer.as_ref().unwrap_or_else(|| panic!("{plan}"));
            assert!(plan.contains(&format!("layer '{layer}'")), "{plan}");
            assert!(plan.contains("the model file"), "{plan}");
            assert!(gap.needs_model_file, "{plan}");
            // inspect describes it: the layer marked, the reason given.
            let json = serde_json::to_value(&summary).unwrap();
            assert_eq!(json["not_exportable"], gap.to_string(), "{shown}");
            let row = summary.layers.iter().find(|r| &r.name == layer).unwrap();
            assert_eq!(row.supported, Some(false), "{shown}");
            assert!(row.reason.is_some(), "{shown}");
            refused.push((path.clone(), gap.to_string()));
            continue;
        }
        let keras = ModelFile::open(&model_path).unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (eai.bundle(), keras.bundle());
        assert_eq!(a.hashes(), b.hashes(), "{shown}: hashes");
        assert!(a.weights == b.weights, "{shown}: weight words");
        assert_eq!(graph_facts(&a.meta), graph_facts(&b.meta), "{shown}");
        // inspect shows what it shows for the model file.
        let k = inspect::summarize(&keras);
        assert_eq!(summary.total_params, k.total_params, "{shown}");
        assert_eq!(
            serde_json::to_value(&summary.layers).unwrap(),
            serde_json::to_value(&k.layers).unwrap(),
            "{shown}"
        );
        // What goes on chain is the same model.
        let (sa, sb) = (
            Source::from_file(&eai).unwrap().spec,
            Source::from_file(&keras).unwrap().spec,
        );
        assert_eq!(sa.layers, sb.layers, "{shown}: layer specs");
        assert_eq!(sa.words, sb.words, "{shown}");
        assert_eq!(
            (sa.graph_hash, sa.weights_hash),
            (sb.graph_hash, sb.weights_hash)
        );
        // The offline reference computes the same.
        let ga = predict::graph_of(&eai, WeightFormat::Compact).unwrap();
        let gb = predict::graph_of(&keras, WeightFormat::Compact).unwrap();
        let input = sample(&gb);
        assert_eq!(ga.run(&input).unwrap(), gb.run(&input).unwrap(), "{shown}");
        usable.push(path.clone());
    }
    // The refusals are eai's known defects, nothing else.
    for (path, why) in &refused {
        assert!(
            why.contains("has empty inbound_nodes") || why.contains("is linked to itself"),
            "{}: {why}",
            path.display()
        );
    }
    eprintln!(
        "eai exports: {} usable, {} refused",
        usable.len(),
        refused.len()
    );
    assert!(usable.len() >= 60, "{} usable", usable.len());
}

/// `predict TARGET --input INPUT --json` (by address through `rpc` when given), its JSON.
fn predict_json(data: &Path, input: &str, target: &str, rpc: Option<&String>) -> Value {
    let mut args = vec!["predict", target, "--input", input, "--json"];
    if let Some(url) = rpc {
        args.extend(["--rpc-url", url.as_str()]);
    }
    let o = eternalize(data, &args, &[("ETERNALIZE_PRIVATE_KEY", KEY0)]);
    assert!(o.status.success(), "{target}: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn an_eai_bundle_deploys_and_verifies_against_its_keras_file() {
    let anvil = anvil(&[]);
    let data = tempfile::tempdir().unwrap();
    let url = anvil.url();
    let env = [("ETERNALIZE_PRIVATE_KEY", KEY0)];
    let bundle = fixture_str("keras3_4/functional_add_concat.keras.eai.json");
    let o = eternalize(
        data.path(),
        &["deploy", &bundle, "--rpc-url", &url, "--yes", "--json"],
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    let address = done_line(&o)["model_address"].as_str().unwrap().to_string();
    // The address is the one the Keras file's plan names: the same model.
    let keras = fixture_str("keras3_4/functional_add_concat.keras");
    let o = eternalize(
        data.path(),
        &["plan", &keras, "--rpc-url", &url, "--json"],
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        plan["model_address"].as_str().map(str::to_lowercase),
        Some(address.to_lowercase()),
        "{plan}"
    );
    let o = eternalize(
        data.path(),
        &["verify", &address, &keras, "--rpc-url", &url, "--json"],
        &env,
    );
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}):\n{}", text(&o)));
    assert!(o.status.success(), "{v}\n{}", text(&o));
    for part in ["hash", "graph", "weights", "predict"] {
        assert_eq!(v[part]["ok"], true, "{part}: {v}");
    }
    // predict by address equals predict on the eai bundle offline.
    let input = data.path().join("input.json");
    std::fs::write(&input, "[[0.5, -1, 0.25, 2, 0, 1, -0.5, 0.75, 1.5, -2]]").unwrap();
    let input = input.display().to_string();
    let run = |target: &str, chain: bool| {
        predict_json(data.path(), &input, target, chain.then_some(&url))
    };
    // By address the calls come too (one call for this model).
    let mut on_chain = run(&address, true);
    let calls = on_chain.as_object_mut().unwrap();
    assert_eq!(calls.remove("calls"), Some(serde_json::json!(1)));
    assert!(calls.remove("gas").is_some() && calls.remove("call_gas").is_some());
    assert_eq!(on_chain, run(&bundle, false));
    assert_eq!(run(&keras, false), run(&bundle, false));
}

#[test]
fn a_cut_eai_bundle_is_refused_by_plan_and_deploy_with_the_layer_and_the_fix() {
    let data = tempfile::tempdir().unwrap();
    let bundle = fixture_str("keras3_4/batchnorm_mlp.keras.eai.json");
    for command in ["plan", "deploy"] {
        let o = eternalize(
            data.path(),
            &[command, &bundle, "--rpc-url", "http://127.0.0.1:9", "--yes"],
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{command}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&bundle), "{err}");
        assert!(
            err.contains("layer 'softmax' (Softmax): has empty inbound_nodes"),
            "{err}"
        );
        assert!(
            err.contains("the model file it was exported from is needed"),
            "{err}"
        );
    }
    // inspect still describes it, exit 0.
    let o = eternalize(data.path(), &["inspect", &bundle, "--json"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layers"][5]["supported"], false, "{v}");
    assert_eq!(v["layers"][1]["params"], 80, "{v}");
    assert_eq!(v["layers"][1]["output_shape"], serde_json::json!([null, 8]));
}

/// A bundle eternalize exported (its own section: TimeDistributed, Bidirectional, go_backwards)
/// deploys without its model file; the chain then verifies against the Keras file and answers a
/// sample exactly as the file and the bundle do offline.
#[test]
fn an_exported_bundle_with_wrappers_deploys_and_predicts_like_its_keras_file() {
    let anvil = anvil(&[]);
    let data = tempfile::tempdir().unwrap();
    let url = anvil.url();
    let env = [("ETERNALIZE_PRIVATE_KEY", KEY0)];
    for (i, rel) in [
        "generated/td_steps_fn.keras",
        "generated/keras3_15/seq_wrappers_fn.keras",
    ]
    .into_iter()
    .enumerate()
    {
        let keras = fixture_str(rel);
        let bundle = data
            .path()
            .join(format!("bundle{i}.json"))
            .display()
            .to_string();
        let o = eternalize(data.path(), &["export", &keras, "-o", &bundle], &env);
        assert!(o.status.success(), "{rel}: {}", text(&o));
        let o = eternalize(
            data.path(),
            &["deploy", &bundle, "--rpc-url", &url, "--yes", "--json"],
            &env,
        );
        assert!(o.status.success(), "{rel}: {}", text(&o));
        let address = done_line(&o)["model_address"].as_str().unwrap().to_string();
        let o = eternalize(
            data.path(),
            &["verify", &address, &keras, "--rpc-url", &url, "--json"],
            &env,
        );
        assert!(o.status.success(), "{rel}: {}", text(&o));

        let truth: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{keras}.truth.json")).unwrap())
                .unwrap();
        let input = data.path().join(format!("input{i}.json"));
        std::fs::write(&input, truth["predict"]["inputs"][0]["data"][0].to_string()).unwrap();
        let input = input.display().to_string();
        let run = |target: &str, chain: bool| {
            predict_json(data.path(), &input, target, chain.then_some(&url))
        };
        let offline = run(&keras, false);
        assert_eq!(run(&bundle, false), offline, "{rel}: bundle offline");
        let on_chain = run(&address, true);
        assert_eq!(on_chain["values"], offline["values"], "{rel}: on chain");
        assert_eq!(on_chain["shape"], offline["shape"], "{rel}");
    }
}
