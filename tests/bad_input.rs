//! Bad input: each gets one specific message naming the file and what is wrong, exit code 1,
//! and never a panic.

use crate::common::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs `eternalize ARGS`, asserts exit 1 with no panic, returns stderr.
fn fails(args: &[&std::ffi::OsStr]) -> String {
    let o = run(args);
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected exit 1 for {args:?}, stderr: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "panic: {err}"
    );
    assert_eq!(
        err.trim().lines().count(),
        1,
        "one message expected, got: {err}"
    );
    err
}

fn inspect_fails(path: &Path) -> String {
    fails(&["inspect".as_ref(), path.as_os_str()])
}

fn export_fails(path: &Path, dir: &Path) -> String {
    let out = dir.join("out.json");
    let err = fails(&[
        "export".as_ref(),
        path.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        !out.exists(),
        "a failed export must not leave a bundle behind"
    );
    assert!(
        std::fs::read_dir(dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp-")),
        "a failed export must not leave a temporary file behind"
    );
    err
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.keras", b"");
    let err = inspect_fails(&p);
    assert!(
        err.contains("empty.keras: the file is empty (0 bytes)"),
        "{err}"
    );
    export_fails(&p, dir.path());
}

#[test]
fn random_bytes_named_keras_and_h5() {
    let dir = tempfile::tempdir().unwrap();
    // Deterministic noise (xorshift), 4 KiB.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for name in ["noise.keras", "noise.h5"] {
        let p = write(dir.path(), name, &noise);
        let err = inspect_fails(&p);
        assert!(err.contains(&format!("{name}: not a Keras model")), "{err}");
        assert!(err.contains("starts with \""), "{err}");
        export_fails(&p, dir.path());
    }
    // Noise behind a valid signature reaches the format readers, which must refuse it too.
    for (name, magic) in [
        ("noise2.keras", &b"PK\x03\x04"[..]),
        ("noise2.h5", &b"\x89HDF\r\n\x1a\n"[..]),
    ] {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&noise);
        let p = write(dir.path(), name, &bytes);
        let err = inspect_fails(&p);
        assert!(err.contains(name), "{err}");
    }
}

#[test]
fn keras_truncated_mid_zip() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(fixtures().join("keras3_4/mlp_basic.keras")).unwrap();
    for cut in [full.len() / 2, full.len() - 30, 100] {
        let p = write(dir.path(), "cut.keras", &full[..cut]);
        let err = inspect_fails(&p);
        assert!(
            err.contains("cut.keras: the .keras archive is damaged or truncated"),
            "{err}"
        );
        assert!(err.contains(&format!("({cut} bytes)")), "{err}");
        export_fails(&p, dir.path());
    }
}

#[test]
fn keras_without_weights() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read(fixtures().join("keras3_4/mlp_basic.keras")).unwrap();
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(src)).unwrap();
    let mut out = Vec::new();
    {
        let mut zout = zip::ZipWriter::new(std::io::Cursor::new(&mut out));
        for name in ["metadata.json", "config.json"] {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut zin.by_name(name).unwrap(), &mut data).unwrap();
            zout.start_file(
                name,
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored),
            )
            .unwrap();
            zout.write_all(&data).unwrap();
        }
        zout.finish().unwrap();
    }
    let p = write(dir.path(), "noweights.keras", &out);
    let err = inspect_fails(&p);
    assert!(
        err.contains("noweights.keras: the .keras archive has no model.weights.h5 (it holds: metadata.json, config.json)"),
        "{err}"
    );
    export_fails(&p, dir.path());
}

#[test]
fn h5_config_names_a_layer_without_weights_group() {
    let dir = tempfile::tempdir().unwrap();
    let p = fixtures().join("bad/missing_weights_group.h5");
    let err = inspect_fails(&p);
    assert!(
        err.contains("missing_weights_group.h5: layer 'dense2' (Dense) has no weights group 'model_weights/dense2' in the file, but its config needs 2 weight tensors"),
        "{err}"
    );
    export_fails(&p, dir.path());
}

#[test]
fn json_that_is_not_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "notes.json", br#"{"hello": "world"}"#);
    let err = inspect_fails(&p);
    assert!(
        err.contains("notes.json: not an eternalize/eai bundle: missing field `model_graph`"),
        "{err}"
    );
}

#[test]
fn bundle_with_edited_weights_reports_hash_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(fixtures().join("keras3_4/mlp_basic.keras.eai.json")).unwrap();
    let start = text.find("\"weights\": [").unwrap() + "\"weights\": [".len();
    let first: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(first.len() > 10);
    let edited_word = if first.ends_with('0') {
        format!("{}1", &first[..first.len() - 1])
    } else {
        format!("{}0", &first[..first.len() - 1])
    };
    let edited = text.replacen(&first, &edited_word, 1);
    assert_ne!(edited, text);
    let p = write(dir.path(), "edited.json", edited.as_bytes());
    let o = run(&["inspect".as_ref(), "--json".as_ref(), p.as_os_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["hash_verified"], serde_json::Value::Bool(false));
    let err = stderr(&o);
    assert!(
        err.contains("edited.json: the stored hashed_model does not match the contents"),
        "{err}"
    );
    assert!(err.contains("the weights hash to"), "{err}");
    assert!(
        !err.contains("the graph hashes to"),
        "only the weights changed: {err}"
    );
}

#[test]
fn unsupported_layer() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["unsupported_layernorm.keras", "unsupported_layernorm.h5"] {
        let p = fixtures().join("bad").join(f);
        let err = inspect_fails(&p);
        assert!(
            err.contains(&format!("{f}: layer 'norm' is a LayerNormalization, which eternalize cannot export; supported classes: InputLayer, Dense,")),
            "{err}"
        );
        export_fails(&p, dir.path());
    }
}

#[test]
fn nan_and_huge_weights_are_refused_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    for (file, expect) in [
        (
            "nan_weight.keras",
            "layer 'dense1', weight layers/dense/vars/0, value #5 (flat index) is NaN: not a finite number",
        ),
        (
            "nan_weight.h5",
            "layer 'dense1', weight nan_weight/dense1/kernel, value #5 (flat index) is NaN: not a finite number",
        ),
        (
            "huge_weight.keras",
            "layer 'dense2', weight layers/dense_1/vars/0, value #1 (flat index) is 3000000000: outside Q32.32's range",
        ),
        (
            "huge_weight.h5",
            "layer 'dense2', weight huge_weight/dense2/kernel, value #1 (flat index) is 3000000000: outside Q32.32's range",
        ),
    ] {
        let p = fixtures().join("generated").join(file);
        let err = export_fails(&p, dir.path());
        assert!(err.contains(file) && err.contains(expect), "{err}");
    }
}

#[test]
fn missing_file_and_usage_errors() {
    let err = fails(&["inspect".as_ref(), "/nonexistent/model.keras".as_ref()]);
    assert!(
        err.contains("/nonexistent/model.keras: cannot read the file"),
        "{err}"
    );
    let o = run(&["export".as_ref(), "x.keras".as_ref()]);
    assert_eq!(o.status.code(), Some(2), "missing -o is a usage error");
    let o = run(&["frobnicate".as_ref()]);
    assert_eq!(o.status.code(), Some(2));
}

/// An RPC URL with an API key in it (path, query, user info, upper-case scheme) at a closed
/// port: `verify`, `predict ADDRESS` and `deploy`, plain and `--json`, fail with exit 1 and never
/// print the key (reqwest's errors carry the URL it was sending to, normalised).
#[test]
fn rpc_url_secrets_never_reach_the_user() {
    let model = fixtures().join("eai_example/fashion_mnist.keras");
    let input = fixtures().join("eai_example/fashion_mnist_input.npy");
    let address = format!("0x{}", "11".repeat(20));
    let urls = [
        "http://127.0.0.1:1/v2/SECRETKEY",
        "http://127.0.0.1:1?apikey=SECRETKEY",
        "HTTP://user:SECRETKEY@127.0.0.1:1/?apikey=SECRETKEY",
    ];
    let mut runs = Vec::new();
    for url in urls {
        for json in [false, true] {
            let mut verify = vec![
                "verify".to_string(),
                address.clone(),
                model.display().to_string(),
            ];
            let mut predict = vec![
                "predict".to_string(),
                address.clone(),
                "--input".into(),
                input.display().to_string(),
            ];
            // anvil's first dev key: deploy stops at the chain id, before anything is signed.
            let mut deploy = vec![
                "deploy".to_string(),
                model.display().to_string(),
                "--yes".into(),
                "--private-key".into(),
                "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".into(),
            ];
            for args in [&mut verify, &mut predict, &mut deploy] {
                args.extend(["--rpc-url".to_string(), url.to_string()]);
                if json {
                    args.push("--json".into());
                }
            }
            runs.extend([verify, predict, deploy]);
        }
    }
    // In parallel: each run retries the closed port for a few seconds before it gives up.
    let handles: Vec<_> = runs
        .into_iter()
        .map(|args| {
            std::thread::spawn(move || {
                let os: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
                let o = run(&os);
                (args.clone(), o)
            })
        })
        .collect();
    for h in handles {
        let (args, o) = h.join().unwrap();
        let (out, err) = (stdout(&o), stderr(&o));
        assert_eq!(o.status.code(), Some(1), "{args:?}: {out}{err}");
        assert!(
            !out.contains("SECRETKEY") && !err.contains("SECRETKEY"),
            "{args:?} printed the key:\n{out}{err}"
        );
        assert!(
            err.contains("could not read the chain id at http://127.0.0.1:1"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
