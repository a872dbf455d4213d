//! Inspect: what a model file or a bundle holds — layers, shapes, parameter counts, weight
//! words and hashes — as one [`Summary`] that the CLI prints (its `Display` is the table, its
//! `Serialize` the `--json` object) and the TUI's Preview draws.
//!
//! Owns: the summary and its two renderings. Must not touch: the terminal, the chain.

use crate::bundle::file::{Content, ModelFile, OpenError};
use crate::bundle::{self, Bundle, Hashes};
use crate::keras::{self, model::shape_to_json, model::shape_to_string};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What `inspect` reports, whatever the input was.
pub struct Summary {
    /// The file, for the table's first line.
    pub path: PathBuf,
    pub format: &'static str,
    pub keras_version: Option<String>,
    pub model_class: Option<String>,
    pub layers: Vec<LayerRow>,
    pub total_params: Option<usize>,
    pub weight_words: usize,
    pub hashes: Hashes,
    /// For bundles: whether the stored `hashed_model` holds, and if not, why.
    pub verified: Option<Result<(), String>>,
}

#[derive(serde::Serialize)]
pub struct LayerRow {
    pub idx: usize,
    pub name: String,
    pub class_name: String,
    pub output_shape: Option<Value>,
    pub params: Option<usize>,
    pub inbound: Vec<String>,
}

/// Reads `path` once and summarises it.
pub fn inspect(path: &Path) -> Result<Summary, OpenError> {
    Ok(summarize(&ModelFile::open(path)?))
}

/// The summary of a file already read.
pub fn summarize(file: &ModelFile) -> Summary {
    let mut s = match &file.content {
        Content::Keras { model, bundle } => from_model(model, bundle),
        Content::Bundle(read) => from_bundle(read),
    };
    s.path = file.path.clone();
    s
}

impl Summary {
    /// For a bundle whose stored hash does not hold: the message `inspect` exits 1 with.
    pub fn altered(&self) -> Option<String> {
        match &self.verified {
            Some(Err(why)) => Some(format!(
                "{}: the stored hashed_model does not match the contents: {why}. The bundle was altered after export.",
                self.path.display()
            )),
            _ => None,
        }
    }
}

/// The summary of a model read from a file and the bundle exported from it.
pub fn from_model(model: &keras::Model, b: &Bundle) -> Summary {
    let layers = model
        .layers
        .iter()
        .map(|l| LayerRow {
            idx: l.idx,
            name: l.name.clone(),
            class_name: l.class_name.clone(),
            output_shape: Some(shape_to_json(&l.output_shape)),
            params: Some(l.params()),
            inbound: l
                .inputs
                .iter()
                .map(|&i| model.layers[i].name.clone())
                .collect(),
        })
        .collect();
    Summary {
        path: PathBuf::new(),
        format: model.format.as_str(),
        keras_version: model.keras_version.clone(),
        model_class: Some(model.model_class().to_string()),
        layers,
        total_params: Some(model.total_params()),
        weight_words: b.weights.len(),
        hashes: b.hashes(),
        verified: None,
    }
}

/// The summary of a bundle read from a file, with what its stored hash says.
pub fn from_bundle(read: &bundle::ReadBundle) -> Summary {
    let b = &read.bundle;
    let meta_layers = b.meta_layers();
    let graph_layers = b
        .graph
        .get("layers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let layers: Vec<LayerRow> = match meta_layers {
        Some(ml) => {
            let names: Vec<String> = ml
                .iter()
                .map(|l| {
                    l.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string()
                })
                .collect();
            ml.iter()
                .enumerate()
                .map(|(i, l)| LayerRow {
                    idx: i,
                    name: names[i].clone(),
                    class_name: l
                        .get("class_name")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string(),
                    output_shape: l.get("output_shape").cloned(),
                    params: l.get("params").and_then(Value::as_u64).map(|p| p as usize),
                    inbound: l
                        .get("inputs")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_u64)
                                .map(|j| {
                                    names
                                        .get(j as usize)
                                        .cloned()
                                        .unwrap_or_else(|| format!("#{j}"))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        }
        // A bundle from eai: only its graph's view (no shapes of outputs, no per-layer counts).
        None => graph_layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerRow {
                idx: i,
                name: l
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string(),
                class_name: l
                    .get("class_name")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string(),
                output_shape: None,
                params: None,
                inbound: l
                    .get("inbound_nodes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .flat_map(|n| {
                        n.get("args")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default()
                    })
                    .filter_map(|a| a.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect(),
            })
            .collect(),
    };
    let total_params = meta_layers.map(|_| layers.iter().filter_map(|l| l.params).sum());
    let source = b.meta.get("source");
    Summary {
        path: PathBuf::new(),
        format: "bundle",
        keras_version: source
            .and_then(|s| s.get("keras_version"))
            .and_then(Value::as_str)
            .map(str::to_string),
        model_class: source
            .and_then(|s| s.get("model_class"))
            .and_then(Value::as_str)
            .map(str::to_string),
        layers,
        total_params,
        weight_words: b.weights.len(),
        verified: Some(read.mismatch().map_or(Ok(()), Err)),
        hashes: read.hashes.clone(),
    }
}

/// The `--json` object: keys in the order eternalize has always printed them.
impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(11))?;
        m.serialize_entry("format", self.format)?;
        m.serialize_entry("keras_version", &self.keras_version)?;
        m.serialize_entry("model_class", &self.model_class)?;
        m.serialize_entry("layers", &self.layers)?;
        m.serialize_entry("total_params", &self.total_params)?;
        m.serialize_entry("weight_words", &self.weight_words)?;
        m.serialize_entry("graph_hash", &self.hashes.graph)?;
        m.serialize_entry("weights_hash", &self.hashes.weights)?;
        m.serialize_entry("hashed_model", &self.hashes.hashed_model())?;
        m.serialize_entry("hash_verified", &self.verified.as_ref().map(Result::is_ok))?;
        m.end()
    }
}

/// An output shape as `(None, 28, 28, 1)`, or `?` when unknown.
pub fn shape_text(v: &Option<Value>) -> String {
    match v.as_ref().and_then(keras::layers::parse_shape) {
        Some(s) => shape_to_string(&s),
        None => "?".into(),
    }
}

/// The table `inspect` prints.
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&table(self))
    }
}

fn table(s: &Summary) -> String {
    use std::fmt::Write;
    let path = &s.path;
    let mut out = String::new();
    let what = match s.format {
        "keras" => "Keras 3 archive (.keras)",
        "h5" => "legacy HDF5 (.h5)",
        _ => "bundle (.json)",
    };
    let _ = writeln!(
        out,
        "{}: {what}{}{}",
        path.display(),
        s.keras_version
            .as_ref()
            .map(|v| format!(", written by Keras {v}"))
            .unwrap_or_default(),
        s.model_class
            .as_ref()
            .map(|c| format!(", {c} model"))
            .unwrap_or_default(),
    );
    let rows: Vec<[String; 6]> = s
        .layers
        .iter()
        .map(|l| {
            [
                l.idx.to_string(),
                l.name.clone(),
                l.class_name.clone(),
                shape_text(&l.output_shape),
                l.params
                    .map(crate::units::thousands)
                    .unwrap_or_else(|| "?".into()),
                if l.inbound.is_empty() {
                    "-".into()
                } else {
                    l.inbound.join(", ")
                },
            ]
        })
        .collect();
    let header = ["idx", "name", "class", "output shape", "params", "inputs"];
    let mut width: [usize; 6] = header.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        format!(
            "{:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:>w4$}  {}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
            w4 = width[4]
        )
    };
    out.push('\n');
    out.push_str(&line(header));
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]));
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "total params   {}",
        s.total_params
            .map(crate::units::thousands)
            .unwrap_or_else(|| "? (bundle has no eternalize section)".into())
    );
    let _ = writeln!(
        out,
        "weight words   {} ({} bytes as Q32.32)",
        crate::units::thousands(s.weight_words),
        crate::units::thousands(s.weight_words * 32)
    );
    let _ = writeln!(out, "graph hash     {}", s.hashes.graph);
    let _ = writeln!(out, "weights hash   {}", s.hashes.weights);
    let _ = writeln!(out, "hashed_model   {}", s.hashes.hashed_model());
    match &s.verified {
        Some(Ok(())) => {
            let _ = writeln!(out, "stored hash    verified: matches the contents");
        }
        Some(Err(why)) => {
            let _ = writeln!(out, "stored hash    MISMATCH: {why}");
        }
        None => {}
    }
    out
}
