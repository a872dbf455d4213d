//! The bundle: eai's export format, `{"model_graph", "weights", "hashed_model"}`, plus a
//! versioned section of ours (`"eternalize"`) that eai readers ignore.
//!
//! - `model_graph` is eai's graph (see [`eai`]) so that `hashed_model` equals eai's;
//! - `weights` are the model's tensors, layer by layer, in Q32.32, four per uint256;
//! - `hashed_model` = SHA-256 hex of `json.dumps(model_graph, sort_keys=True)` followed by
//!   SHA-256 hex of `json.dumps(weights)`;
//! - `eternalize` holds the graph as the file defines it (links, shapes) and where each
//!   tensor's words start, which deployment and inference use. A bundle eai wrote has none; it
//!   is rebuilt from eai's graph on reading when that graph tells enough ([`eai_graph`]).
//!
//! Owns: building, writing, reading and verifying bundles. Must not touch: the chain, the screen.

pub mod eai;
pub mod eai_graph;
pub mod file;
pub mod fixed;
pub mod pyjson;

use crate::keras::model::{Layer, Model, shape_to_json};
use fixed::{FixedError, Word};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Version of the `eternalize` section this build writes.
pub const META_VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "layer '{layer}', weight {tensor}, value #{index} (flat index) is {value}: {why}; eai would {eai}. Fix or retrain the model before exporting"
    )]
    BadWeight {
        layer: String,
        tensor: String,
        index: usize,
        value: f32,
        why: &'static str,
        eai: &'static str,
    },
    #[error("{}: cannot read the file: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// An exported model.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// eai's `model_graph`.
    pub graph: Value,
    pub weights: Vec<Word>,
    /// Our section, `Value::Null` when a bundle came without one (written by eai).
    pub meta: Value,
}

/// The two halves of `hashed_model`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashes {
    pub graph: String,
    pub weights: String,
}

impl Hashes {
    pub fn hashed_model(&self) -> String {
        format!("{}{}", self.graph, self.weights)
    }
}

impl Bundle {
    /// Exports a model. Every weight must have a Q32.32 value: NaN, ±Inf and |x| ≥ 2^31 are
    /// refused, naming the layer, the tensor, the flat index and the value.
    pub fn from_model(model: &Model) -> Result<Bundle, BundleError> {
        let total: usize = model
            .layers
            .iter()
            .flat_map(|l| &l.weights)
            .map(|t| t.len().div_ceil(fixed::LANES))
            .sum();
        let mut weights = Vec::with_capacity(total);
        let mut meta_layers = Vec::with_capacity(model.layers.len());
        for layer in &model.layers {
            let mut tensors = Vec::new();
            for t in &layer.weights {
                tensors.push(json!({
                    "name": t.name,
                    "shape": t.shape,
                    "offset": weights.len(),
                    "words": t.len().div_ceil(fixed::LANES),
                }));
                // Word by word: no second copy of a tensor (a 16M-value kernel would take
                // 128 MB more as i64s).
                for (w, chunk) in t.data.chunks(fixed::LANES).enumerate() {
                    let mut lanes = [0i64; fixed::LANES];
                    for (lane, &x) in chunk.iter().enumerate() {
                        let index = w * fixed::LANES + lane;
                        lanes[lane] = fixed::to_q32(x).map_err(|e| BundleError::BadWeight {
                            layer: layer.name.clone(),
                            tensor: t.name.clone(),
                            index,
                            value: x,
                            why: match e {
                                FixedError::NotFinite => "not a finite number",
                                FixedError::OutOfRange => {
                                    "outside Q32.32's range (|x| < 2^31 = 2147483648)"
                                }
                            },
                            eai: match e {
                                FixedError::NotFinite => "crash on it",
                                FixedError::OutOfRange => "silently write a corrupt word",
                            },
                        })?;
                    }
                    weights.push(Word::from_values(lanes));
                }
            }
            meta_layers.push(meta_layer(layer, layer.params(), tensors));
        }
        let meta = meta_section(
            json!({
                "format": model.format.as_str(),
                "keras_version": model.keras_version,
                "model_class": model.model_class(),
                "name": model.root.name,
            }),
            &model.inputs,
            &model.outputs,
            meta_layers,
        );
        Ok(Bundle {
            graph: eai::model_graph(model),
            weights,
            meta,
        })
    }

    pub fn graph_hash(&self) -> String {
        hex(&Sha256::digest(pyjson::dumps(&self.graph, true).as_bytes()))
    }

    pub fn weights_hash(&self) -> String {
        let mut h = Sha256::new();
        write_weights(&self.weights, |b| {
            h.update(b);
            Ok(())
        })
        .unwrap_or(());
        hex(&h.finalize())
    }

    pub fn hashes(&self) -> Hashes {
        Hashes {
            graph: self.graph_hash(),
            weights: self.weights_hash(),
        }
    }

    /// Writes the bundle as JSON, laid out as Python's `json.dumps` lays out eai's dict, so
    /// that without our section (`with_meta = false`) the file is byte-identical to eai's.
    pub fn write<W: Write>(&self, out: &mut W, with_meta: bool) -> io::Result<Hashes> {
        let graph_text = pyjson::dumps(&self.graph, false);
        let graph = hex(&Sha256::digest(pyjson::dumps(&self.graph, true).as_bytes()));
        out.write_all(b"{\"model_graph\": ")?;
        out.write_all(graph_text.as_bytes())?;
        out.write_all(b", \"weights\": ")?;
        let mut h = Sha256::new();
        write_weights(&self.weights, |b| {
            h.update(b);
            out.write_all(b)
        })?;
        let hashes = Hashes {
            graph,
            weights: hex(&h.finalize()),
        };
        write!(out, ", \"hashed_model\": \"{}\"", hashes.hashed_model())?;
        if with_meta && !self.meta.is_null() {
            out.write_all(b", \"eternalize\": ")?;
            out.write_all(pyjson::dumps(&self.meta, false).as_bytes())?;
        }
        out.write_all(b"}")?;
        Ok(hashes)
    }

    /// Number of weight values (before padding) the bundle's own section accounts for, if any.
    pub fn meta_layers(&self) -> Option<&Vec<Value>> {
        self.meta.get("layers").and_then(Value::as_array)
    }
}

/// One layer of the `eternalize` section; `tensors` are `{name, shape, offset, words}`.
fn meta_layer(layer: &Layer, params: usize, tensors: Vec<Value>) -> Value {
    json!({
        "idx": layer.idx,
        "name": layer.name,
        "class_name": layer.class_name,
        "keras_class": layer.keras_class,
        "config": layer.config,
        "inputs": layer.inputs,
        "input_shapes": layer.input_shapes.iter().map(|s| shape_to_json(s)).collect::<Vec<_>>(),
        "output_shape": shape_to_json(&layer.output_shape),
        "params": params,
        "weights": tensors,
    })
}

/// The `eternalize` section around its layers.
fn meta_section(source: Value, inputs: &[usize], outputs: &[usize], layers: Vec<Value>) -> Value {
    json!({
        "version": META_VERSION,
        "generator": concat!("eternalize ", env!("CARGO_PKG_VERSION")),
        "source": source,
        "inputs": inputs,
        "outputs": outputs,
        "layers": layers,
    })
}

/// `json.dumps(weights)`: `[w0, w1, ...]`, streamed in blocks.
fn write_weights(words: &[Word], mut sink: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    buf.push(b'[');
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            buf.extend_from_slice(b", ");
        }
        w.write_decimal(&mut buf);
        if buf.len() >= (1 << 16) - 128 {
            sink(&buf)?;
            buf.clear();
        }
    }
    buf.push(b']');
    sink(&buf)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A bundle read from a file, with what its stored hash says.
pub struct ReadBundle {
    pub bundle: Bundle,
    pub stored_hash: String,
    pub hashes: Hashes,
    /// For a bundle eai wrote (no `eternalize` section): its graph read back. When that tells
    /// enough, `bundle.meta` holds the section it implies; else `gap` says what is missing.
    pub eai: Option<Box<eai_graph::EaiGraph>>,
}

impl ReadBundle {
    pub fn verified(&self) -> bool {
        self.stored_hash == self.hashes.hashed_model()
    }

    /// Why the bundle cannot be deployed or run as it is (an eai bundle whose graph does not
    /// tell enough), without the path.
    pub fn gap(&self) -> Option<&eai_graph::Gap> {
        self.eai.as_ref().and_then(|g| g.gap.as_ref())
    }

    /// Which half of the stored hash disagrees, for messages.
    pub fn mismatch(&self) -> Option<String> {
        if self.verified() {
            return None;
        }
        let (g, w) = self.stored_hash.split_at(self.stored_hash.len().min(64));
        let mut parts = Vec::new();
        if g != self.hashes.graph {
            parts.push(format!(
                "the graph hashes to {} but the file says {g}",
                self.hashes.graph
            ));
        }
        if w != self.hashes.weights {
            parts.push(format!(
                "the weights hash to {} but the file says {w}",
                self.hashes.weights
            ));
        }
        Some(parts.join("; "))
    }
}

#[derive(serde::Deserialize)]
struct RawBundle<'a> {
    model_graph: Value,
    #[serde(borrow)]
    weights: &'a serde_json::value::RawValue,
    hashed_model: String,
    #[serde(default)]
    eternalize: Value,
}

/// Whether bytes look like a JSON document (a bundle candidate).
pub fn sniff(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

pub fn read(path: &Path) -> Result<ReadBundle, BundleError> {
    let bytes = std::fs::read(path).map_err(|source| BundleError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    read_bytes(&bytes, path)
}

pub fn read_bytes(bytes: &[u8], path: &Path) -> Result<ReadBundle, BundleError> {
    let invalid = |reason: String| BundleError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let raw: RawBundle = serde_json::from_slice(bytes).map_err(|e| {
        invalid(format!(
            "not an eternalize/eai bundle: {e} (a bundle is a JSON object with \"model_graph\", \"weights\" and \"hashed_model\")"
        ))
    })?;
    if !raw.model_graph.get("layers").is_some_and(Value::is_array) {
        return Err(invalid(
            "not a bundle: \"model_graph\" has no \"layers\" list".into(),
        ));
    }
    if raw.hashed_model.len() != 128 || !raw.hashed_model.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(format!(
            "\"hashed_model\" must be 128 hex digits (two SHA-256s), found {} characters",
            raw.hashed_model.len()
        )));
    }
    let weights = parse_words(raw.weights.get().as_bytes()).map_err(invalid)?;
    let mut bundle = Bundle {
        graph: raw.model_graph,
        weights,
        meta: raw.eternalize,
    };
    let hashes = bundle.hashes();
    // eai's own bundle: the section is rebuilt from its graph when the graph tells enough.
    let eai = bundle.meta.is_null().then(|| {
        let g = eai_graph::read(&bundle.graph, bundle.weights.len());
        if let Some(meta) = g.meta() {
            bundle.meta = meta;
        }
        Box::new(g)
    });
    Ok(ReadBundle {
        bundle,
        stored_hash: raw.hashed_model.to_ascii_lowercase(),
        hashes,
        eai,
    })
}

/// Parses `[123, 456, ...]` of uint256 decimals without going through f64.
fn parse_words(text: &[u8]) -> Result<Vec<Word>, String> {
    let mut words = Vec::with_capacity(text.len() / 80);
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < text.len() && text[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if text.get(i) != Some(&b'[') {
        return Err("\"weights\" must be a list of integers".into());
    }
    i += 1;
    skip_ws(&mut i);
    if text.get(i) == Some(&b']') {
        return Ok(words);
    }
    loop {
        skip_ws(&mut i);
        let start = i;
        while i < text.len() && text[i].is_ascii_digit() {
            i += 1;
        }
        let word = Word::parse_decimal(&text[start..i]).ok_or_else(|| {
            let end = (start + 24).min(text.len());
            format!(
                "\"weights\"[{}] is not an integer in 0..2^256: {}",
                words.len(),
                String::from_utf8_lossy(&text[start..end])
            )
        })?;
        words.push(word);
        skip_ws(&mut i);
        match text.get(i) {
            Some(b',') => i += 1,
            Some(b']') => return Ok(words),
            _ => {
                return Err(format!(
                    "\"weights\"[{}] is followed by something other than ',' or ']'",
                    words.len() - 1
                ));
            }
        }
    }
}
