//! `eternalize verify` and `eternalize predict ADDRESS` against one real anvil: models deployed
//! with `eternalize deploy` verify; one weight byte changed with `anvil_setCode` on a chunk data
//! contract fails naming the chunk, byte and layer; one layer's config changed with
//! `anvil_setCode` on its clone (the config is in the clone's appended args) fails naming the
//! layer; another model's file fails the hash; an exact-format deployment verifies and fails
//! the layout when `--format compact` is demanded; the same model made by the factory at another
//! salt than eternalize's fails the model address; `predict ADDRESS` prints exactly what the
//! offline `predict MODEL` prints, says when the node's call gas is too low, and says when
//! there is no contract at the address.

use crate::deploy_support::*;
use alloy::primitives::{Address, B256, Bytes};
use eternalize::chain::Rpc;
use eternalize::engine::Source;
use eternalize::tools::{ANVIL_DEV_KEYS, AnvilProcess};
use serde_json::{Value, json};
use std::path::Path;

const LENET: &str = "keras3_4/lenet_cnn.keras";
const FUNCTIONAL: &str = "keras3_4/functional_add_concat.keras";
const MLP: &str = "keras3_4/mlp_basic.keras";
/// A Sequential inside a Functional model: its InputLayer reads the outer input and passes it
/// on, so it is not one of the model's inputs (on chain, a layer that reads no layer is).
const NESTED: &str = "generated/nested_sequential.keras";
/// Inputs [in_a, in_b, in_c] that Keras lists among the layers as in_a, in_c, in_b.
const OUT_OF_ORDER: &str = "generated/inputs_out_of_order.keras";

struct Node {
    anvil: AnvilProcess,
    data: tempfile::TempDir,
}

impl Node {
    fn run(&self, args: &[&str]) -> std::process::Output {
        eternalize(
            self.data.path(),
            args,
            &[("ETERNALIZE_PRIVATE_KEY", ANVIL_DEV_KEYS[0])],
        )
    }

    fn deploy(&self, relative: &str) -> Address {
        let path = fixture(relative).display().to_string();
        let url = self.anvil.url();
        let o = self.run(&["deploy", &path, "--rpc-url", &url, "--yes", "--json"]);
        assert!(o.status.success(), "{relative}:\n{}", text(&o));
        done_line(&o)["model_address"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn verify(&self, address: Address, relative: &str) -> (bool, Value, String) {
        let path = fixture(relative).display().to_string();
        let url = self.anvil.url();
        let addr = address.to_string();
        let o = self.run(&["verify", &addr, &path, "--rpc-url", &url, "--json"]);
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("verify --json printed no JSON ({e}):\n{}", text(&o)));
        (o.status.success(), v, stderr_of(&o))
    }
}

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn set_code(chain: &Rpc, at: Address, code: &[u8]) {
    let _: Value = chain
        .request(
            "anvil_setCode",
            json!([at, alloy::primitives::hex::encode_prefixed(code)]),
        )
        .await
        .unwrap();
}

/// A nested JSON list of `shape` filled with a deterministic pattern in [-1, 1).
fn nested(shape: &[usize], at: &mut u64) -> Value {
    match shape.split_first() {
        None => {
            *at += 1;
            json!(((*at * 37) % 200) as f64 / 100.0 - 1.0)
        }
        Some((&n, rest)) => Value::Array((0..n).map(|_| nested(rest, at)).collect()),
    }
}

fn predict_json(node: &Node, model: &str, input: &Path, chain: bool) -> Value {
    let url = node.anvil.url();
    let input = input.display().to_string();
    let mut args = vec!["predict", model, "--input", &input, "--json"];
    if chain {
        args.extend(["--rpc-url", &url]);
    }
    let o = node.run(&args);
    assert!(o.status.success(), "predict {model}:\n{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn verify_and_predict_by_address_on_one_anvil() {
    let started = std::time::Instant::now();
    let node = Node {
        anvil: AnvilProcess::spawn(&anvil_path(), &[]).unwrap(),
        data: tempfile::tempdir().unwrap(),
    };
    let lenet = node.deploy(LENET);
    let functional = node.deploy(FUNCTIONAL);
    let nested_model = node.deploy(NESTED);
    let out_of_order = node.deploy(OUT_OF_ORDER);

    // Fresh deployments verify, every part ok.
    for (address, file) in [
        (lenet, LENET),
        (functional, FUNCTIONAL),
        (nested_model, NESTED),
        (out_of_order, OUT_OF_ORDER),
    ] {
        let (ok, v, err) = node.verify(address, file);
        assert!(ok, "{file}: {v}\n{err}");
        for part in ["hash", "graph", "weights", "predict"] {
            assert_eq!(v[part]["ok"], true, "{file} {part}: {v}");
        }
        assert_eq!(v["ok"], true);
        assert_eq!(v["chain_id"], 31337);
        assert_eq!(v["predict"]["samples"], 2);
        assert_eq!(v["predict"]["max_abs_diff"], 0.0);
        assert_eq!(
            v["address"].as_str().unwrap().to_lowercase(),
            address.to_string().to_lowercase()
        );
    }

    // The exact (Q32.32) format verifies too; asking for the other format fails the layout.
    let path = fixture(MLP).display().to_string();
    let url = node.anvil.url();
    let o = node.run(&[
        "deploy",
        &path,
        "--rpc-url",
        &url,
        "--yes",
        "--json",
        "--format",
        "exact",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let exact: Address = done_line(&o)["model_address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (ok, v, err) = node.verify(exact, MLP);
    assert!(ok, "{v}\n{err}");
    assert_eq!(v["weights"]["format"], "Q32_32", "{v}");
    let addr = exact.to_string();
    let o = node.run(&[
        "verify",
        &addr,
        &path,
        "--rpc-url",
        &url,
        "--json",
        "--format",
        "compact",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["weights"]["first_mismatch"]["what"], "layout", "{v}");

    // Another model's file: the hash and the graph differ.
    let (ok, v, err) = node.verify(lenet, MLP);
    assert!(!ok);
    assert_eq!(v["hash"]["ok"], false, "{v}");
    assert_eq!(v["graph"]["ok"], false, "{v}");
    assert!(err.contains("hash:") && err.contains("graph:"), "{err}");

    let rt = runtime();
    let chain = Rpc::connect(&node.anvil.url()).unwrap();

    // The same model, made by the factory with the same code, hashes, layers and chunks, but
    // at another salt than eternalize's: the factory's clone is only proven by its address.
    let other_salt = rt.block_on(async {
        use eternalize::chain::{Chain, MAX_CHUNK_BYTES, WeightFormat, signer_from_hex};
        let sender = Chain::connect(
            &node.anvil.url(),
            signer_from_hex(ANVIL_DEV_KEYS[0]).unwrap(),
        )
        .unwrap();
        let spec = crate::chain_support::spec(MLP);
        let (image, _) = sender
            .prepare(&spec, WeightFormat::Compact, MAX_CHUNK_BYTES, B256::ZERO)
            .await
            .unwrap();
        for i in 0..image.chunks.count() {
            sender.store_chunk(&image, i).await.unwrap();
        }
        image.model
    });
    let (ok, v, err) = node.verify(other_salt, MLP);
    assert!(!ok, "{v}");
    assert_eq!(v["hash"]["ok"], true, "{v}");
    assert_eq!(v["weights"]["ok"], true, "{v}");
    assert_eq!(v["graph"]["mismatches"][0]["field"], "model address", "{v}");
    assert!(err.contains("graph: model: model address is"), "{err}");

    // predict ADDRESS prints what the offline predict prints, for a batch of two.
    let dir = tempfile::tempdir().unwrap();
    for (address, file, shape) in [
        (lenet, LENET, vec![2, 28, 28, 1]),
        (functional, FUNCTIONAL, vec![2, 10]),
        (nested_model, NESTED, vec![2, 8]),
    ] {
        let input = dir.path().join("input.json");
        std::fs::write(&input, nested(&shape, &mut 0).to_string()).unwrap();
        let offline = predict_json(&node, &fixture(file).display().to_string(), &input, false);
        let mut on_chain = predict_json(&node, &address.to_string(), &input, true);
        // By address, the calls it took come too: one call per sample for these small models.
        let calls = on_chain.as_object_mut().unwrap();
        assert_eq!(calls.remove("calls"), Some(json!(2)), "{file}");
        assert_eq!(calls.remove("call_gas"), Some(json!(16_777_216)), "{file}");
        let gas = calls.remove("gas").unwrap();
        assert!(gas["largest"].as_u64().unwrap() <= gas["sum"].as_u64().unwrap());
        assert_eq!(on_chain, offline, "{file}");
        assert_eq!(on_chain["shape"][0], 2, "{on_chain}");
    }

    // Named inputs by address: the chain holds no names, so they go by position to the
    // InputLayers in layer order (in_a, in_c, in_b here). In that order: the offline values.
    let mut at = 0;
    let (a, b, c) = (
        nested(&[2, 3], &mut at),
        nested(&[2, 3], &mut at),
        nested(&[2, 2], &mut at),
    );
    let layer_order = dir.path().join("layer_order.json");
    std::fs::write(
        &layer_order,
        format!(r#"{{"in_a": {a}, "in_c": {c}, "in_b": {b}}}"#),
    )
    .unwrap();
    let offline = predict_json(
        &node,
        &fixture(OUT_OF_ORDER).display().to_string(),
        &layer_order,
        false,
    );
    let mut on_chain = predict_json(&node, &out_of_order.to_string(), &layer_order, true);
    for key in ["calls", "call_gas", "gas"] {
        on_chain.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(on_chain, offline);
    // In Keras's order (in_a, in_b, in_c): in_b lands on in_c's layer, whose shape differs —
    // refused, naming the input and the rule.
    let keras_order = dir.path().join("keras_order.json");
    std::fs::write(
        &keras_order,
        format!(r#"{{"in_a": {a}, "in_b": {b}, "in_c": {c}}}"#),
    )
    .unwrap();
    let (url, addr) = (node.anvil.url(), out_of_order.to_string());
    let o = node.run(&[
        "predict",
        &addr,
        "--input",
        &keras_order.display().to_string(),
        "--rpc-url",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = stderr_of(&o);
    assert!(
        err.contains("input 1 ('in_b') has shape [2, 3], but the model takes (None, 2)")
            && err.contains("by address, inputs go by position to the model's InputLayers in layer order (here layers #0, #1, #2)"),
        "{err}"
    );

    // The TUI's `p` on Done: the input found next to the model, through the chain and the
    // reference side by side, bit for bit.
    let folder = tempfile::tempdir().unwrap();
    let model = folder.path().join("lenet_cnn.keras");
    std::fs::copy(fixture(LENET), &model).unwrap();
    let own = folder.path().join("lenet_cnn_input.json");
    std::fs::write(&own, nested(&[3, 28, 28, 1], &mut 7).to_string()).unwrap();
    std::fs::write(folder.path().join("another.npy.json"), "[[1]]").unwrap();
    std::fs::write(folder.path().join("lenet_cnn.keras.truth.json"), "{}").unwrap();
    std::fs::write(
        folder.path().join("bundle.json"),
        r#"{"hashed_model": "x"}"#,
    )
    .unwrap();
    let found = eternalize::usecase::predict::sample_inputs(&model).unwrap();
    assert_eq!(
        found,
        vec![own.clone(), folder.path().join("another.npy.json")],
        "the model's own input first; truth files and bundles are not inputs"
    );
    let reader = eternalize::usecase::verify::Reader::at(&node.anvil.url(), Some(31337)).unwrap();
    let both = eternalize::usecase::verify::side_by_side(&reader, lenet, &model, &own).unwrap();
    assert_eq!(both.samples, 3);
    assert_eq!(both.outputs.len(), 3, "one output, three samples");
    assert!(both.bit_exact(), "{both}");
    assert!(both.outputs.iter().all(|o| o.chain.len() == 10), "{both}");
    let shown = both.to_string();
    assert!(
        shown.contains("on-chain equals offline bit for bit"),
        "{shown}"
    );
    // Another model's file: its reference cannot take the input, and says which file.
    let other = folder.path().join("mlp_basic.keras");
    std::fs::copy(fixture(MLP), &other).unwrap();
    let e = eternalize::usecase::verify::side_by_side(&reader, lenet, &other, &own)
        .map(|b| b.to_string())
        .unwrap_err();
    assert!(format!("{e:#}").contains("lenet_cnn_input.json"), "{e:#}");

    // A call budget lower than the model's one call (`--call-gas`): chained calls under it,
    // the same values. (anvil grants an eth_call the gas it asks for whatever its block gas
    // limit; chain_chained.rs covers a budget too low for a layer.)
    let input = dir.path().join("input.json");
    std::fs::write(&input, nested(&[1, 28, 28, 1], &mut 0).to_string()).unwrap();
    let (url, addr, input) = (
        node.anvil.url(),
        lenet.to_string(),
        input.display().to_string(),
    );
    let o = node.run(&[
        "predict",
        &addr,
        "--input",
        &input,
        "--rpc-url",
        &url,
        "--json",
        "--call-gas",
        "2000000",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let mut chained: Value = serde_json::from_slice(&o.stdout).unwrap();
    let calls = chained.as_object_mut().unwrap();
    assert!(calls.remove("calls").unwrap().as_u64().unwrap() > 1);
    assert_eq!(calls.remove("call_gas"), Some(json!(2_000_000)));
    assert!(calls.remove("gas").unwrap()["largest"].as_u64().unwrap() <= 2_000_000);
    let offline = predict_json(
        &node,
        &fixture(LENET).display().to_string(),
        Path::new(&input),
        false,
    );
    assert_eq!(chained, offline);
    // No contract at the address: said so, with the chain.
    let nobody = Address::repeat_byte(0x42).to_string();
    let o = node.run(&["predict", &nobody, "--input", &input, "--rpc-url", &url]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr_of(&o);
    assert!(
        err.contains(&format!("there is no contract at {nobody} on chain 31337")),
        "{err}"
    );

    // One weight byte changed in a chunk's data contract: named by chunk, byte, word and layer.
    let chunk0 = rt.block_on(chain.chunk_address(lenet, 0)).unwrap();
    let original = rt.block_on(chain.code_at(chunk0)).unwrap();
    let mut bad = original.to_vec();
    let byte = 1000usize;
    bad[1 + byte] ^= 0x01;
    rt.block_on(set_code(&chain, chunk0, &bad));
    let (ok, v, err) = node.verify(lenet, LENET);
    assert!(!ok, "{v}");
    assert_eq!(v["weights"]["ok"], false, "{v}");
    assert_eq!(v["hash"]["ok"], true, "{v}");
    let m = &v["weights"]["first_mismatch"];
    assert_eq!(m["chunk"], 0, "{m}");
    assert_eq!(m["byte"], byte, "{m}");
    assert_eq!(m["value"], byte / 4, "{m}"); // compact: 4 bytes per value
    assert_eq!(m["word"], byte / 16, "{m}");
    assert!(m["layer_name"].is_string(), "{m}");
    assert!(
        err.contains(&format!("chunk 0 ({chunk0}) byte {byte}")) && err.contains("layer #"),
        "{err}"
    );
    eprintln!("{err}");
    // Put it back: verifies again.
    rt.block_on(set_code(&chain, chunk0, &original));
    let (ok, v, _) = node.verify(lenet, LENET);
    assert!(ok, "{v}");

    // One layer's config changed in its clone's appended args: named by layer.
    let spec = Source::load(&fixture(LENET)).unwrap().spec;
    let links = rt.block_on(chain.model_state(lenet)).unwrap().layers;
    let i = spec
        .layers
        .iter()
        .rposition(|l| !l.config.is_empty())
        .unwrap();
    let name = spec.layers[i].name.clone();
    let config = &spec.layers[i].config;
    let layer = links[i].layer;
    let code: Bytes = rt.block_on(chain.code_at(layer)).unwrap();
    let at = code
        .windows(config.len())
        .position(|w| w == config.as_slice())
        .expect("the layer clone's code holds its config");
    let mut bad = code.to_vec();
    bad[at + 31] ^= 0x01; // the last byte of the config's first word
    rt.block_on(set_code(&chain, layer, &bad));
    let (ok, v, err) = node.verify(lenet, LENET);
    assert!(!ok, "{v}");
    assert_eq!(v["graph"]["ok"], false, "{v}");
    assert_eq!(v["weights"]["ok"], true, "{v}");
    let mm = &v["graph"]["mismatches"][0];
    assert_eq!(mm["layer"], i, "{v}");
    assert_eq!(mm["name"], name.as_str(), "{v}");
    assert!(mm["field"].as_str().unwrap().starts_with("config"), "{v}");
    assert!(
        err.contains(&format!("graph: layer #{i} '{name}': config")),
        "{err}"
    );
    eprintln!("{err}");
    rt.block_on(set_code(&chain, layer, &code));

    // The clone delegating to another implementation (the pointer in its EIP-1167 code), its
    // arguments untouched: named by layer, with both implementations.
    let other = links
        .iter()
        .map(|l| rt.block_on(chain.code_at(l.layer)).unwrap())
        .map(|c| Address::from_slice(&c[10..30]))
        .find(|a| *a != Address::from_slice(&code[10..30]))
        .unwrap();
    let mut swapped = code.to_vec();
    swapped[10..30].copy_from_slice(other.as_slice());
    rt.block_on(set_code(&chain, layer, &swapped));
    let (ok, v, err) = node.verify(lenet, LENET);
    assert!(!ok, "{v}");
    assert_eq!(v["graph"]["ok"], false, "{v}");
    let mm = &v["graph"]["mismatches"][0];
    assert_eq!(mm["layer"], i, "{v}");
    assert_eq!(mm["field"], "clone code", "{v}");
    assert_eq!(
        mm["chain"],
        format!("a clone of {other} ({} bytes)", code.len()),
        "{v}"
    );
    assert!(
        err.contains(&format!(
            "graph: layer #{i} '{name}': clone code is a clone of {other}"
        )),
        "{err}"
    );
    rt.block_on(set_code(&chain, layer, &code));

    // One byte of a layer implementation's code changed: the implementation is named.
    let imp = Address::from_slice(&code[10..30]);
    let imp_code = rt.block_on(chain.code_at(imp)).unwrap();
    let mut bad = imp_code.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    rt.block_on(set_code(&chain, imp, &bad));
    let (ok, v, err) = node.verify(lenet, LENET);
    assert!(!ok, "{v}");
    assert_eq!(v["graph"]["ok"], false, "{v}");
    assert!(
        err.contains(&format!(
            "implementation code at {imp} is {} bytes",
            bad.len()
        )),
        "{err}"
    );
    rt.block_on(set_code(&chain, imp, &imp_code));
    let (ok, v, _) = node.verify(lenet, LENET);
    assert!(ok, "{v}");
    eprintln!("verify tests: {:.1}s", started.elapsed().as_secs_f64());
}
