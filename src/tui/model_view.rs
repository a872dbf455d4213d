//! What the TUI shows about an opened model file or bundle: the layer table, each layer's
//! config, weight tensors with their statistics and a histogram, the on-chain size estimate
//! and the hashes. Built once, off the UI thread ([`super::work`]), so drawing only reads
//! prepared numbers and never touches weight arrays.
//!
//! Owns: turning a `keras::Model` or a `bundle::ReadBundle` into display data.
//! Must not touch: the terminal, files (the caller hands in bytes).

use crate::bundle::file::{Content, Described, ModelFile};
use crate::bundle::fixed::q32_to_f64;
use crate::bundle::{self, Bundle, Hashes, ReadBundle};
use crate::chain::WeightFormat;
use crate::keras::Model;
use crate::keras::error::printable;
use crate::usecase::inspect::{self, Summary};
use serde_json::Value;

/// Bytes per chunk the contracts accept (`contracts/README.md`: the largest multiple of 32 that
/// fits a data contract). The plan stage will own this number; until it exists the TUI shows
/// an estimate from the same constants.
pub const CHUNK_BYTES: usize = 24_544;

/// What storing a model's weights in one format takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnChainSize {
    pub format: WeightFormat,
    pub bytes: usize,
    pub chunks: usize,
    pub gas_estimate: usize,
}

/// How a format reads in the totals: `int32 (compact)`, `Q32.32 (exact)`.
pub fn format_label(format: WeightFormat) -> &'static str {
    match format {
        WeightFormat::Compact => "int32 (compact)",
        WeightFormat::Exact => "Q32.32 (exact)",
        WeightFormat::Int16 => "int16 (per channel)",
        WeightFormat::Int8 => "int8 (per channel)",
    }
}

use crate::usecase::formats::gas_per_byte;

/// The weights' size, chunks and estimated gas in the int32 and Q32.32 formats (default first).
pub fn on_chain_sizes(weight_words: usize) -> [OnChainSize; 2] {
    [WeightFormat::Compact, WeightFormat::Exact].map(|format| {
        let bytes = weight_words * 4 * format.width();
        OnChainSize {
            format,
            bytes,
            chunks: bytes.div_ceil(CHUNK_BYTES),
            gas_estimate: bytes * gas_per_byte(format),
        }
    })
}

/// Which halves of a bundle's stored `hashed_model` match its contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashCheck {
    pub graph_ok: bool,
    pub weights_ok: bool,
}

impl HashCheck {
    pub fn verified(self) -> bool {
        self.graph_ok && self.weights_ok
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

/// Counts of values in equal-width bins between `min` and `max`.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub min: f64,
    pub max: f64,
    pub bins: Vec<usize>,
}

pub const HISTOGRAM_BINS: usize = 32;

#[derive(Clone, Debug, PartialEq)]
pub struct TensorView {
    pub name: String,
    pub shape: Vec<usize>,
    /// `None` for an empty tensor.
    pub stats: Option<Stats>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LayerView {
    pub idx: usize,
    pub name: String,
    pub class_name: String,
    pub output_shape: String,
    pub params: Option<usize>,
    pub inputs: Vec<String>,
    /// Where `config` comes from, for the pane's title.
    pub config_source: &'static str,
    /// The layer's config as pretty JSON.
    pub config: String,
    /// `None` when the file does not say (a bundle written by eai).
    pub tensors: Option<Vec<TensorView>>,
    /// Over all of the layer's weight values.
    pub histogram: Option<Histogram>,
    /// Why eternalize cannot deploy this layer, when it cannot.
    pub unsupported: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelView {
    /// `keras`, `h5` or `bundle`.
    pub format: &'static str,
    pub keras_version: Option<String>,
    pub model_class: Option<String>,
    pub layers: Vec<LayerView>,
    pub total_params: Option<usize>,
    pub weight_words: usize,
    pub hashes: Hashes,
    /// For bundles: what the stored hash says.
    pub hash_check: Option<HashCheck>,
    /// Why the model cannot be exported (then `hashes` are placeholders).
    pub not_exportable: Option<String>,
}

impl ModelView {
    pub fn on_chain(&self) -> [OnChainSize; 2] {
        on_chain_sizes(self.weight_words)
    }

    /// Whether this model may go on to the Confirm screen.
    pub fn deployable(&self) -> Result<(), String> {
        if let Some(why) = &self.not_exportable {
            return Err(format!("cannot be deployed: {why}"));
        }
        match self.hash_check {
            Some(c) if !c.verified() => Err(
                "the stored hash does not match the contents: re-export before deploying".into(),
            ),
            _ => Ok(()),
        }
    }
}

/// The Preview of a file read to be described: a model that cannot be exported shows its
/// layers, the ones eternalize cannot deploy marked.
pub fn of_described(d: &Described) -> ModelView {
    match d {
        Described::File(f) => of_file(f),
        Described::Undeployable(u) => from_model_with(&u.model, None, Some(u.why.clone())),
    }
}

/// The Preview of a model file or a bundle already read.
pub fn of_file(file: &ModelFile) -> ModelView {
    match &file.content {
        Content::Keras { model, bundle } => from_model(model, bundle),
        Content::Bundle(read) => from_bundle(read),
    }
}

pub fn from_model(model: &Model, b: &Bundle) -> ModelView {
    from_model_with(model, Some(b), None)
}

fn from_model_with(model: &Model, b: Option<&Bundle>, not_exportable: Option<String>) -> ModelView {
    let summary = inspect::from_model(model, b, not_exportable);
    let layers = summary
        .layers
        .iter()
        .zip(&model.layers)
        .map(|(row, layer)| {
            let tensors: Vec<TensorView> = layer
                .weights
                .iter()
                .map(|t| TensorView {
                    name: printable(&t.name).into_owned(),
                    shape: t.shape.clone(),
                    stats: stats(t.data.iter().map(|&x| f64::from(x))),
                })
                .collect();
            let histogram = histogram(
                || {
                    layer
                        .weights
                        .iter()
                        .flat_map(|t| &t.data)
                        .map(|&x| f64::from(x))
                },
                HISTOGRAM_BINS,
            );
            LayerView {
                config_source: "Keras config",
                config: pretty(&Value::Object(layer.config.clone())),
                tensors: Some(tensors),
                histogram,
                ..row_view(row)
            }
        })
        .collect();
    view(&summary, layers, None)
}

pub fn from_bundle(read: &ReadBundle) -> ModelView {
    let summary = inspect::from_bundle(read);
    let b = &read.bundle;
    let graph_layers: &[Value] = b
        .graph
        .get("layers")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let meta_layers = b.meta_layers();
    let layers = summary
        .layers
        .iter()
        .enumerate()
        .map(|(i, row)| {
            // eai's graph lists the same leaf layers; match by name, fall back to position.
            let graph = graph_layers
                .iter()
                .find(|g| g.get("name").and_then(Value::as_str) == Some(row.name.as_str()))
                .or_else(|| graph_layers.get(i));
            let config = graph
                .and_then(|g| g.get("layer_config"))
                .map(pretty)
                .unwrap_or_else(|| "{}".into());
            let meta = meta_layers.and_then(|m| m.get(i));
            let decoded: Option<Vec<(TensorView, Vec<f64>)>> = meta.map(|m| {
                m.get("weights")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .map(|t| decode_tensor(t, &b.weights))
                    .collect()
            });
            let histogram = decoded.as_ref().and_then(|d| {
                histogram(
                    || d.iter().flat_map(|(_, v)| v.iter().copied()),
                    HISTOGRAM_BINS,
                )
            });
            LayerView {
                config_source: "layer_config (bundle)",
                config,
                tensors: decoded.map(|d| d.into_iter().map(|(t, _)| t).collect()),
                histogram,
                ..row_view(row)
            }
        })
        .collect();
    let (g, w) = read.stored_hash.split_at(read.stored_hash.len().min(64));
    let check = HashCheck {
        graph_ok: g == read.hashes.graph,
        weights_ok: w == read.hashes.weights,
    };
    view(&summary, layers, Some(check))
}

/// A tensor of our bundle section: `{name, shape, offset, words}`, its values decoded from
/// Q32.32. Values past the tensor's element count are the zero padding of its last word.
fn decode_tensor(t: &Value, words: &[bundle::fixed::Word]) -> (TensorView, Vec<f64>) {
    let name = t
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let shape: Vec<usize> = t
        .get("shape")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .map(|n| n as usize)
                .collect()
        })
        .unwrap_or_default();
    let count: usize = shape.iter().product();
    let offset = t.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
    let n_words = t.get("words").and_then(Value::as_u64).unwrap_or(0) as usize;
    let end = offset.saturating_add(n_words).min(words.len());
    let values: Vec<f64> = words
        .get(offset.min(end)..end)
        .unwrap_or(&[])
        .iter()
        .flat_map(|w| w.values())
        .take(count)
        .map(q32_to_f64)
        .collect();
    let view = TensorView {
        name: printable(&name).into_owned(),
        shape,
        stats: stats(values.iter().copied()),
    };
    (view, values)
}

/// Strings from the file are escaped here, once, so no panel can print a control character.
fn row_view(row: &inspect::LayerRow) -> LayerView {
    let p = |s: &str| printable(s).into_owned();
    LayerView {
        idx: row.idx,
        name: p(&row.name),
        class_name: p(&row.class_name),
        output_shape: inspect::shape_text(&row.output_shape),
        params: row.params,
        inputs: row.inbound.iter().map(|s| p(s)).collect(),
        unsupported: row.reason.as_deref().map(p),
        config_source: "",
        config: String::new(),
        tensors: None,
        histogram: None,
    }
}

fn view(summary: &Summary, layers: Vec<LayerView>, hash_check: Option<HashCheck>) -> ModelView {
    ModelView {
        format: summary.format,
        keras_version: summary.keras_version.clone(),
        model_class: summary.model_class.clone(),
        layers,
        total_params: summary.total_params,
        weight_words: summary.weight_words,
        hashes: summary.hashes.clone().unwrap_or_else(|| Hashes {
            graph: "none (not exportable)".into(),
            weights: "none (not exportable)".into(),
        }),
        hash_check,
        not_exportable: summary.not_exportable.clone(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("(cannot show the config: {e})"))
}

pub fn stats(values: impl Iterator<Item = f64>) -> Option<Stats> {
    let mut count = 0usize;
    let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for x in values {
        count += 1;
        min = min.min(x);
        max = max.max(x);
        sum += x;
    }
    (count > 0).then(|| Stats {
        count,
        min,
        max,
        mean: sum / count as f64,
    })
}

/// Two passes over the values (range, then counts), so no copy of them is kept.
pub fn histogram<I: Iterator<Item = f64>>(
    values: impl Fn() -> I,
    bins: usize,
) -> Option<Histogram> {
    let s = stats(values())?;
    let n = bins.max(1);
    let mut counts = vec![0usize; n];
    let width = s.max - s.min;
    for x in values() {
        let i = if width > 0.0 {
            (((x - s.min) / width) * n as f64) as usize
        } else {
            0
        };
        counts[i.min(n - 1)] += 1;
    }
    Some(Histogram {
        min: s.min,
        max: s.max,
        bins: counts,
    })
}

/// `12,345` or `?`.
pub fn count_text(n: Option<usize>) -> String {
    n.map(crate::units::thousands).unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_puts_the_maximum_in_the_last_bin() {
        let v = [0.0, 0.5, 1.0, 1.0];
        let h = histogram(|| v.iter().copied(), 4).unwrap();
        assert_eq!(h.bins, vec![1, 0, 1, 2]);
        let flat = [2.0, 2.0];
        assert_eq!(
            histogram(|| flat.iter().copied(), 3).unwrap().bins,
            vec![2, 0, 0]
        );
        assert!(histogram(|| [].iter().copied(), 3).is_none());
    }

    #[test]
    fn on_chain_sizes_follow_the_contract_layout() {
        // 767 Q32.32 words fill one chunk exactly; 768 need two.
        let [compact, exact] = on_chain_sizes(767);
        assert_eq!((exact.bytes, exact.chunks), (24_544, 1));
        assert_eq!((compact.bytes, compact.chunks), (12_272, 1));
        assert_eq!(on_chain_sizes(768)[1].chunks, 2);
        assert_eq!(on_chain_sizes(0)[0].chunks, 0);
    }
}
