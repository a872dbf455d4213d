//! Export of every real Keras fixture against what eai and Keras themselves say.

use crate::common::*;
use eternalize::bundle::{self, Bundle};
use eternalize::keras;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Our writer suite (`generate.py --writers`): activations and nested models from each writer.
const WRITERS: [&str; 3] = [
    "generated/keras2_15",
    "generated/keras3_4",
    "generated/keras3_15",
];

/// Fixtures written by Keras 2.15, 3.4 or 3.15 with an eai export: the compatibility bar.
fn eai_fixtures() -> Vec<std::path::PathBuf> {
    let mut dirs = vec!["keras2_15", "keras3_4", "keras3_15"];
    dirs.extend(WRITERS);
    let all = model_files(&dirs);
    let with: Vec<_> = all
        .into_iter()
        .filter(|p| sidecar(p, ".eai.json").exists())
        .collect();
    assert!(
        with.len() >= 20,
        "expected the shared eai fixtures, found {}",
        with.len()
    );
    with
}

#[test]
fn export_is_byte_identical_to_eai() {
    for model_path in eai_fixtures() {
        let eai_bytes = std::fs::read(sidecar(&model_path, ".eai.json")).unwrap();
        let eai: Value = serde_json::from_slice(&eai_bytes).unwrap();
        let model = keras::load(&model_path).unwrap_or_else(|e| panic!("{e}"));
        let b =
            Bundle::from_model(&model).unwrap_or_else(|e| panic!("{}: {e}", model_path.display()));
        assert_eq!(
            b.graph,
            eai["model_graph"],
            "{}: model_graph differs from eai's",
            model_path.display()
        );
        let mut out = Vec::new();
        let hashes = b.write(&mut out, false).unwrap();
        assert_eq!(
            hashes.hashed_model(),
            eai["hashed_model"].as_str().unwrap(),
            "{}: hashed_model",
            model_path.display()
        );
        assert!(
            out == eai_bytes,
            "{}: the bundle without our section is not byte-identical to eai's file",
            model_path.display()
        );
    }
}

/// Our leaf layers, matched in order to the leaves of truth.json's `model.layers` (which
/// leaves out a Sequential's InputLayer and lists nested models' layers as `sublayers`).
fn truth_leaves(layers: &[Value], out: &mut Vec<Value>) {
    for l in layers {
        match l.get("sublayers").and_then(Value::as_array) {
            Some(sub) => truth_leaves(sub, out),
            None => out.push(l.clone()),
        }
    }
}

#[test]
fn layers_shapes_params_and_weights_match_keras() {
    let mut dirs = vec![
        "keras2_15",
        "keras3_4",
        "keras3_15",
        "generated",
        "eai_example",
    ];
    dirs.extend(WRITERS);
    let files = model_files(&dirs);
    let mut checked = 0;
    for model_path in files {
        let truth_path = sidecar(&model_path, ".truth.json");
        if !truth_path.exists() {
            continue;
        }
        let truth = read_json(&truth_path);
        let model = match keras::load(&model_path) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        let mut leaves = Vec::new();
        truth_leaves(truth["layers"].as_array().unwrap(), &mut leaves);
        let mut ours = model.layers.iter().peekable();
        for t in &leaves {
            let name = t["name"].as_str().unwrap();
            // tf.keras 2 lists an input where it is first used (attention_norm_fn's `ctx` after
            // `ln1`), the file's config where it is declared: inputs are matched by name.
            if t["class_name"] == "InputLayer" {
                let l = model.layers.iter().find(|l| l.name == name);
                let l = l.unwrap_or_else(|| panic!("{}: no input {name}", model_path.display()));
                assert_eq!(
                    keras::model::shape_to_json(&l.output_shape),
                    t["output_shape"],
                    "{}: input {name}",
                    model_path.display()
                );
                continue;
            }
            while ours
                .peek()
                .is_some_and(|l| l.name != name && l.keras_class == "InputLayer")
            {
                ours.next();
            }
            let l = ours
                .next()
                .unwrap_or_else(|| panic!("{}: no layer {name}", model_path.display()));
            let at = format!("{} layer {name}", model_path.display());
            assert_eq!(l.name, name, "{at}: order");
            assert_eq!(
                keras::model::shape_to_json(&l.output_shape),
                t["output_shape"],
                "{at}: output shape"
            );
            assert_eq!(
                l.params() as u64,
                t["param_count"].as_u64().unwrap(),
                "{at}: params"
            );
            let tw = t["weights"].as_array().unwrap();
            let compared = if l.keras_class == "Normalization" {
                // Held as a BatchNormalization (`normalization_as_batchnorm`): the file's mean
                // and variance with its count dropped, or the statistics its config gives.
                assert!(tw.len() == 3 || tw.is_empty(), "{at}: {tw:?}");
                assert_eq!(l.weights.len(), 2, "{at}: mean and variance");
                tw.len().min(2)
            } else {
                assert_eq!(l.weights.len(), tw.len(), "{at}: weight count");
                tw.len()
            };
            for (w, tw) in l.weights.iter().zip(tw).take(compared) {
                let shape: Vec<usize> = serde_json::from_value(tw["shape"].clone()).unwrap();
                assert_eq!(w.shape, shape, "{at}: shape of {}", w.name);
                let mut bytes = Vec::with_capacity(w.data.len() * 4);
                for x in &w.data {
                    bytes.extend_from_slice(&x.to_le_bytes());
                }
                assert_eq!(
                    bundle::hex(&Sha256::digest(&bytes)),
                    tw["sha256_le"].as_str().unwrap(),
                    "{at}: values of {}",
                    w.name
                );
            }
        }
        assert_eq!(
            model.total_params() as u64,
            truth["total_params"].as_u64().unwrap(),
            "{}",
            model_path.display()
        );
        checked += 1;
    }
    assert!(checked >= 35, "checked only {checked} fixtures");
}

#[test]
fn inspect_json_reports_keras_params_and_shapes() {
    let mut dirs = vec!["keras2_15", "keras3_4", "keras3_15", "generated"];
    dirs.extend(WRITERS);
    for model_path in model_files(&dirs) {
        let truth = read_json(&sidecar(&model_path, ".truth.json"));
        if model_path.to_string_lossy().contains("nan_weight")
            || model_path.to_string_lossy().contains("huge_weight")
        {
            continue; // refused, see bad_input.rs
        }
        let o = run(&[
            "inspect".as_ref(),
            "--json".as_ref(),
            model_path.as_os_str(),
        ]);
        assert!(
            o.status.success(),
            "{}: {}",
            model_path.display(),
            stderr(&o)
        );
        let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(
            j["total_params"],
            truth["total_params"],
            "{}",
            model_path.display()
        );
        assert_eq!(
            j["model_class"],
            truth["model_class"],
            "{}",
            model_path.display()
        );
        assert_eq!(j["hash_verified"], Value::Null);
        let mut leaves = Vec::new();
        truth_leaves(truth["layers"].as_array().unwrap(), &mut leaves);
        let layers = j["layers"].as_array().unwrap();
        for t in leaves {
            let l = layers.iter().find(|l| l["name"] == t["name"]).unwrap();
            assert_eq!(
                l["output_shape"],
                t["output_shape"],
                "{} {}",
                model_path.display(),
                t["name"]
            );
            assert_eq!(
                l["params"],
                t["param_count"],
                "{} {}",
                model_path.display(),
                t["name"]
            );
        }
        let words: u64 = j["weight_words"].as_u64().unwrap();
        assert!(words * 4 >= j["total_params"].as_u64().unwrap());
    }
}

#[test]
fn exported_bundle_reads_back_and_verifies() {
    let dir = tempdir();
    for model_path in eai_fixtures().into_iter().take(6) {
        let out = dir.join(format!(
            "{}.json",
            model_path.file_name().unwrap().to_string_lossy()
        ));
        let o = run(&[
            "export".as_ref(),
            model_path.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let read = bundle::read(&out).unwrap();
        assert!(read.verified(), "{}", out.display());
        let eai = read_json(&sidecar(&model_path, ".eai.json"));
        assert_eq!(read.stored_hash, eai["hashed_model"].as_str().unwrap());
        let o = run(&["inspect".as_ref(), "--json".as_ref(), out.as_os_str()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(j["hash_verified"], Value::Bool(true));
        assert_eq!(j["format"], "bundle");
        assert_eq!(j["hashed_model"], eai["hashed_model"]);
        // The eai file itself, without our section, inspects and verifies too.
        let o = run(&[
            "inspect".as_ref(),
            sidecar(&model_path, ".eai.json").as_os_str(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("verified"), "{}", stdout(&o));
    }
}

#[test]
fn export_to_stdout_equals_export_to_file() {
    let dir = tempdir();
    let model = fixtures().join("keras3_4/lenet_cnn.keras");
    let file = dir.join("lenet.json");
    let o = run(&[
        "export".as_ref(),
        model.as_os_str(),
        "-o".as_ref(),
        file.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o2 = run(&[
        "export".as_ref(),
        model.as_os_str(),
        "-o".as_ref(),
        "-".as_ref(),
    ]);
    assert!(o2.status.success(), "{}", stderr(&o2));
    assert_eq!(std::fs::read(&file).unwrap(), o2.stdout);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "eternalize-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The `eternalize` section links layers as the file defines them, where eai's graph does not.
#[test]
fn our_section_follows_the_file_where_eai_does_not() {
    let inputs_of = |file: &str| -> Vec<(String, Vec<String>)> {
        let model = keras::load(&fixtures().join(file)).unwrap();
        let b = Bundle::from_model(&model).unwrap();
        let layers = b.meta["layers"].as_array().unwrap().clone();
        let names: Vec<String> = layers
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_string())
            .collect();
        layers
            .iter()
            .map(|l| {
                let ins = l["inputs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| names[i.as_u64().unwrap() as usize].clone());
                (l["name"].as_str().unwrap().to_string(), ins.collect())
            })
            .collect()
    };
    let find = |v: &[(String, Vec<String>)], name: &str| {
        v.iter().find(|(n, _)| n == name).unwrap().1.clone()
    };

    // eai: Softmax has no inbound nodes (no build_config in Keras 3.4).
    for f in ["keras3_4/batchnorm_mlp.keras", "keras3_4/batchnorm_mlp.h5"] {
        assert_eq!(find(&inputs_of(f), "softmax"), vec!["dense2"], "{f}");
    }
    // eai: outer_dense is linked to itself (index after the nested model).
    for f in [
        "keras3_4/nested_functional.keras",
        "keras3_4/nested_functional.h5",
    ] {
        let v = inputs_of(f);
        assert_eq!(find(&v, "outer_dense"), vec!["inner_dense2"], "{f}");
        assert_eq!(find(&v, "inner_in"), vec!["outer_in"], "{f}");
    }
    // eai cannot export these at all.
    let v = inputs_of("generated/functional_multi_out_merge.keras");
    assert_eq!(find(&v, "inner_in"), vec!["in_b"]);
    assert_eq!(find(&v, "concat"), vec!["add", "inner_dense2"]);
    assert_eq!(find(&v, "out_aux"), vec!["add"]);
    let v = inputs_of("generated/nested_sequential.h5");
    assert_eq!(find(&v, "outer_out"), vec!["inner_dense2"]);

    // The weight layout in our section tiles the words exactly.
    let model = keras::load(&fixtures().join("keras3_4/lenet_cnn.keras")).unwrap();
    let b = Bundle::from_model(&model).unwrap();
    let mut next = 0;
    for l in b.meta["layers"].as_array().unwrap() {
        for t in l["weights"].as_array().unwrap() {
            assert_eq!(t["offset"].as_u64().unwrap(), next);
            next += t["words"].as_u64().unwrap();
        }
    }
    assert_eq!(next as usize, b.weights.len());
}

/// A re-zipped archive may deflate its entries; the export must not change.
#[test]
fn deflated_keras_archive_exports_the_same() {
    use std::io::{Read, Write};
    let src = fixtures().join("keras3_4/lenet_cnn.keras");
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(std::fs::read(&src).unwrap())).unwrap();
    let mut out = Vec::new();
    {
        let mut zout = zip::ZipWriter::new(std::io::Cursor::new(&mut out));
        for i in 0..zin.len() {
            let mut f = zin.by_index(i).unwrap();
            let name = f.name().unwrap().into_owned();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zout.start_file(name, opts).unwrap();
            zout.write_all(&data).unwrap();
        }
        zout.finish().unwrap();
    }
    let original = Bundle::from_model(&keras::load(&src).unwrap()).unwrap();
    let deflated = keras::load_bytes(&out, std::path::Path::new("deflated.keras")).unwrap();
    assert!(
        out.len() < std::fs::read(&src).unwrap().len(),
        "the entries really are deflated"
    );
    assert_eq!(
        Bundle::from_model(&deflated).unwrap().hashes(),
        original.hashes()
    );
    // From disk, the deflated weights entry goes through an anonymous scratch file.
    let dir = tempfile::tempdir().unwrap();
    let on_disk = dir.path().join("deflated.keras");
    std::fs::write(&on_disk, &out).unwrap();
    let from_disk = keras::load(&on_disk).unwrap();
    assert_eq!(
        Bundle::from_model(&from_disk).unwrap().hashes(),
        original.hashes()
    );
}

/// Every writer wrote the whole suite; eai exported exactly the files it can (not Activation
/// tanh, which it maps to a class it lacks, nor a nested Sequential), and ours links nested
/// models as the file does whatever the writer numbered their calls (Keras 2 from 1).
#[test]
fn writer_suite_is_complete_and_nested_models_link_as_the_file_does() {
    for dir in WRITERS {
        let files = model_files(&[dir]);
        assert_eq!(files.len(), 42, "{dir}: 21 models × .keras/.h5");
        for f in &files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            // eai has no Tanh, LeakyReLU, depthwise/separable/transposed convolution,
            // LayerNormalization, MultiHeadAttention, TimeDistributed or Bidirectional class and
            // refuses a nested Sequential; it has none of the classes of the shapes_ models.
            let eai_refuses = name.starts_with("act_tanh_")
                || name.starts_with("nested_seq_")
                || name.starts_with("relu_layers_")
                || name.starts_with("shapes_")
                || name.starts_with("convs_")
                || name.starts_with("attention_norm_")
                || name.starts_with("audio_cnn_")
                || name.starts_with("seq_wrappers_");
            assert_eq!(
                sidecar(f, ".eai.json").exists(),
                !eai_refuses,
                "{}: eai.json",
                f.display()
            );
            let model = keras::load(f).unwrap_or_else(|e| panic!("{e}"));
            let b = Bundle::from_model(&model).unwrap();
            if !name.starts_with("nested_") {
                continue;
            }
            let names: Vec<&str> = model.layers.iter().map(|l| l.name.as_str()).collect();
            let inputs_of = |n: &str| -> Vec<&str> {
                let l = model.layers.iter().find(|l| l.name == n).unwrap();
                l.inputs.iter().map(|&i| names[i]).collect()
            };
            assert_eq!(
                inputs_of("outer_dense"),
                ["inner_dense2"],
                "{}",
                f.display()
            );
            assert_eq!(inputs_of("inner_dense1").len(), 1, "{}", f.display());
            assert_eq!(b.meta["layers"].as_array().unwrap().len(), names.len());
        }
    }
}
