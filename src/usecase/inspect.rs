//! Inspect: what a model file or a bundle holds — layers, shapes, parameter counts, weight
//! words and hashes — as one [`Summary`] that the CLI prints (its `Display` is the table, its
//! `Serialize` the `--json` object) and the TUI's Preview draws.
//!
//! A model eternalize cannot deploy is still described: every layer, with the ones it cannot
//! deploy marked and the reason, and `not_exportable` saying why there are no hashes.
//!
//! Owns: the summary and its two renderings. Must not touch: the terminal, the chain.

use crate::bundle::file::{Content, Described, ModelFile, OpenError};
use crate::bundle::{self, Bundle, Hashes};
use crate::keras::error::printable;
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
    /// `None` when the model cannot be exported (see `not_exportable`).
    pub hashes: Option<Hashes>,
    /// For bundles: whether the stored `hashed_model` holds, and if not, why.
    pub verified: Option<Result<(), String>>,
    /// Why the model cannot be exported: the refusal `export`, `plan` and `deploy` give; for
    /// an eai bundle whose graph does not tell enough, the refusal of `plan`, `deploy` and
    /// `predict`.
    pub not_exportable: Option<String>,
}

#[derive(serde::Serialize)]
pub struct LayerRow {
    pub idx: usize,
    pub name: String,
    pub class_name: String,
    pub output_shape: Option<Value>,
    pub params: Option<usize>,
    pub inbound: Vec<String>,
    /// `Some(false)` for a layer eternalize cannot deploy; absent (not `true`) otherwise, so the
    /// JSON of deployable files is what it always was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported: Option<bool>,
    /// Why it cannot be deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Reads `path` once and summarises it, deployable or not.
pub fn inspect(path: &Path) -> Result<Summary, OpenError> {
    Ok(of_described(&ModelFile::describe(path)?))
}

/// The summary of a file read to be described.
pub fn of_described(d: &Described) -> Summary {
    match d {
        Described::File(f) => summarize(f),
        Described::Undeployable(u) => {
            let mut s = from_model(&u.model, None, Some(u.why.clone()));
            s.path = u.path.clone();
            s
        }
    }
}

/// The summary of a file already read.
pub fn summarize(file: &ModelFile) -> Summary {
    let mut s = match &file.content {
        Content::Keras { model, bundle } => from_model(model, Some(bundle), None),
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

/// The summary of a model read from a file and the bundle exported from it; with no bundle,
/// `not_exportable` says why.
pub fn from_model(
    model: &keras::Model,
    b: Option<&Bundle>,
    not_exportable: Option<String>,
) -> Summary {
    let layers = rows(&model.layers, |l| Some(l.params()));
    // Without a bundle, the words it would take: four values per word, per tensor.
    let weight_words = b.map_or_else(
        || {
            model
                .layers
                .iter()
                .flat_map(|l| &l.weights)
                .map(|t| t.len().div_ceil(crate::bundle::fixed::LANES))
                .sum()
        },
        |b| b.weights.len(),
    );
    Summary {
        path: PathBuf::new(),
        format: model.format.as_str(),
        keras_version: model.keras_version.clone(),
        model_class: Some(model.model_class().to_string()),
        layers,
        total_params: Some(model.total_params()),
        weight_words,
        hashes: b.map(Bundle::hashes),
        verified: None,
        not_exportable,
    }
}

/// One row per layer of a flattened graph; `params` says how a layer's count is known.
fn rows(layers: &[keras::Layer], params: impl Fn(&keras::Layer) -> Option<usize>) -> Vec<LayerRow> {
    layers
        .iter()
        .map(|l| LayerRow {
            idx: l.idx,
            name: l.name.clone(),
            class_name: l.class_name.clone(),
            output_shape: l.inferred.then(|| shape_to_json(&l.output_shape)),
            params: params(l),
            inbound: l
                .inputs
                .iter()
                .filter_map(|&i| layers.get(i).map(|p| p.name.clone()))
                .collect(),
            supported: l.unsupported.as_ref().map(|_| false),
            reason: l.unsupported.clone(),
        })
        .collect()
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
                    supported: None,
                    reason: None,
                })
                .collect()
        }
        // A bundle from eai whose graph does not tell enough to deploy it: what it does tell.
        None if read.eai.as_ref().is_some_and(|g| !g.layers.is_empty()) => {
            let layers = read.eai.as_ref().map_or(&[][..], |g| g.layers.as_slice());
            rows(layers, |l| {
                l.inferred.then(|| {
                    l.expected_weights
                        .iter()
                        .map(|s| s.iter().product::<usize>())
                        .sum()
                })
            })
        }
        // An unreadable graph: the names and classes it lists.
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
                supported: None,
                reason: None,
            })
            .collect(),
    };
    let total_params = match meta_layers {
        Some(_) => Some(layers.iter().filter_map(|l| l.params).sum()),
        None => layers.iter().map(|l| l.params).sum(),
    };
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
        hashes: Some(read.hashes.clone()),
        not_exportable: read.gap().map(ToString::to_string),
    }
}

/// The `--json` object: keys in the order eternalize has always printed them.
impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(10 + usize::from(self.not_exportable.is_some())))?;
        m.serialize_entry("format", self.format)?;
        m.serialize_entry("keras_version", &self.keras_version)?;
        m.serialize_entry("model_class", &self.model_class)?;
        m.serialize_entry("layers", &self.layers)?;
        m.serialize_entry("total_params", &self.total_params)?;
        m.serialize_entry("weight_words", &self.weight_words)?;
        let h = self.hashes.as_ref();
        m.serialize_entry("graph_hash", &h.map(|h| &h.graph))?;
        m.serialize_entry("weights_hash", &h.map(|h| &h.weights))?;
        m.serialize_entry("hashed_model", &h.map(Hashes::hashed_model))?;
        m.serialize_entry("hash_verified", &self.verified.as_ref().map(Result::is_ok))?;
        if let Some(why) = &self.not_exportable {
            m.serialize_entry("not_exportable", why)?;
        }
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
    let p = |t: &str| printable(t).into_owned();
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
            .map(|v| format!(", written by Keras {}", p(v)))
            .unwrap_or_default(),
        s.model_class
            .as_ref()
            .map(|c| format!(", {} model", p(c)))
            .unwrap_or_default(),
    );
    let rows: Vec<[String; 6]> = s
        .layers
        .iter()
        .map(|l| {
            [
                l.idx.to_string(),
                p(&l.name),
                match l.supported {
                    Some(false) => format!("{} {UNSUPPORTED_MARK}", p(&l.class_name)),
                    _ => p(&l.class_name),
                },
                match (&l.output_shape, s.format) {
                    (None, "keras" | "h5") => "unknown".into(),
                    (shape, _) => shape_text(shape),
                },
                l.params
                    .map(crate::units::thousands)
                    .unwrap_or_else(|| "?".into()),
                if l.inbound.is_empty() {
                    "-".into()
                } else {
                    p(&l.inbound.join(", "))
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
            .unwrap_or_else(|| "? (eai's graph does not say for every layer)".into())
    );
    let _ = writeln!(
        out,
        "weight words   {} ({} bytes as Q32.32)",
        crate::units::thousands(s.weight_words),
        crate::units::thousands(s.weight_words * 32)
    );
    match &s.hashes {
        Some(h) => {
            let _ = writeln!(out, "graph hash     {}", h.graph);
            let _ = writeln!(out, "weights hash   {}", h.weights);
            let _ = writeln!(out, "hashed_model   {}", h.hashed_model());
        }
        None => {
            let _ = writeln!(out, "hashes         none: the model cannot be exported");
        }
    }
    match &s.verified {
        Some(Ok(())) => {
            let _ = writeln!(out, "stored hash    verified: matches the contents");
        }
        Some(Err(why)) => {
            let _ = writeln!(out, "stored hash    MISMATCH: {}", p(why));
        }
        None => {}
    }
    let marked: Vec<&LayerRow> = s.layers.iter().filter(|l| l.reason.is_some()).collect();
    if !marked.is_empty() {
        let _ = writeln!(
            out,
            "\n{UNSUPPORTED_MARK} {} of {} layers cannot be deployed:",
            marked.len(),
            s.layers.len()
        );
        for l in marked {
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                p(&l.name),
                p(&l.class_name),
                p(l.reason.as_deref().unwrap_or_default())
            );
        }
    }
    if let Some(why) = &s.not_exportable
        && !s.layers.iter().any(|l| l.reason.as_ref() == Some(why))
    {
        let what = if s.format == "bundle" {
            "not deployable"
        } else {
            "not exportable"
        };
        let _ = writeln!(out, "\n{what}: {}", p(why));
    }
    out
}

/// Marks a layer eternalize cannot deploy, in the table and the TUI.
pub const UNSUPPORTED_MARK: &str = "✗";
