//! Formats: what each weight format costs a model — bytes on chain, chunks, deploy gas, predict
//! gas — and what it costs in accuracy, measured by running the reference in every format
//! against a baseline. One [`FormatsReport`]: its `Serialize` is `inspect --formats --json`,
//! its `Display` the table; the TUI's Preview can draw the same.
//!
//! **Baseline.** Keras's own predictions when the model file has a `.truth.json` sidecar with
//! them and no `--input` is given (its inputs are then the samples); otherwise the reference in
//! the `exact` format (Q32.32: the unquantized weights, truncated at 2^-32 — finer than float32's
//! 24-bit mantissa for weights of magnitude below 2^8), which then has zero error by definition.
//!
//! **Errors.** Over every sample and every output value `y` against the baseline `b`:
//! `max_abs_err = max |y - b|`; `max_rel_err = max |y - b| / max(|b|)` where the max in the
//! denominator is over that output of that sample (a normwise relative error, which stays
//! meaningful when single outputs are near zero). `argmax_agree` is `k/n` over (sample,
//! output) pairs whose last axis is longer than one, `None` when there is none.
//!
//! **Costs.** Bytes are the contracts' weight blob in each format (`chain::WeightBlob`: `slots ×
//! width` for compact/exact; per-tensor records with per-channel scales for int16/int8), deploy
//! gas those bytes × the measured gas per byte (what the TUI's Preview shows too). Only when the
//! file cannot be laid out for the chain are the bytes [`crate::infer::quant::bytes`]'s estimate
//! (marked `~`). Predict gas is an estimate, not a measurement: the chained-call planner's gas
//! model ([`plan::one_call_estimate`]: every layer in one `predict` call, uncalibrated, weights
//! at the format's width) on the first sample; `None` when the file cannot be laid out for the
//! chain. On fashion_mnist it is within ±3 % of `eth_estimateGas` of `predict` in every format
//! (tests/formats_chain.rs holds it to 15 %; BENCHMARKS.md); layers the planner has measured
//! less well (recurrent, attention) are further off.
//!
//! Owns: the measurement and its two renderings. Must not touch: the terminal, the chain.

use crate::bundle::file::{Content, ModelFile};
use crate::chain::weights::{MAX_CHUNK_BYTES, TensorSpan, WeightBlob};
use crate::infer::plan::{self, LayerOp, Op};
use crate::infer::{Graph, Tensor, WeightFormat, fixed, input, quant};
use crate::units;
use anyhow::Context;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Gas per byte of chunk data measured on anvil (`contracts/README.md`; an estimate, not
/// `eth_estimateGas`). `int16`/`int8` chunks are data contracts like compact's: the same figure.
pub fn gas_per_byte(format: WeightFormat) -> usize {
    match format {
        WeightFormat::Compact | WeightFormat::Int16 | WeightFormat::Int8 => 221,
        WeightFormat::Exact => 218,
    }
}

/// How many deterministic samples are drawn when no input is given.
pub const DRAWN_SAMPLES: usize = 4;
/// The range drawn samples are uniform in (Keras input layers do not record theirs; image
/// models are fed `[0, 1]`).
pub const DRAWN_RANGE: (f64, f64) = (0.0, 1.0);

/// One format's costs and errors.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FormatRow {
    /// The flag's name: `compact`, `exact`, `int16`, `int8`.
    pub name: &'static str,
    pub bytes: usize,
    pub chunks: usize,
    pub deploy_gas: usize,
    /// `true` when the bytes (and so the gas) are an estimate: the file could not be laid out
    /// for the chain.
    pub estimate: bool,
    pub predict_gas: Option<u64>,
    pub max_abs_err: f64,
    pub max_rel_err: f64,
    pub argmax_agree: Option<String>,
}

/// What the errors are measured against.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// Keras's predictions from the model's `.truth.json`.
    Keras,
    /// The reference in the `exact` format.
    ExactReference,
}

/// Where the samples came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Samples {
    File { path: PathBuf },
    KerasTruth { path: PathBuf },
    Drawn { low: f64, high: f64 },
}

/// Every format of one model, measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FormatsReport {
    #[serde(skip)]
    pub path: PathBuf,
    pub baseline: Baseline,
    pub samples: Samples,
    pub sample_count: usize,
    pub formats: Vec<FormatRow>,
}

/// A truth sidecar's array (`{"shape", "dtype", "data"}`) or a bare nested list.
fn truth_array(v: &serde_json::Value) -> Option<input::Array> {
    let a = input::nested(v.get("data").unwrap_or(v)).ok()?;
    match v.get("shape") {
        Some(shape) => {
            let shape: Vec<usize> = serde_json::from_value(shape.clone()).ok()?;
            (shape.iter().product::<usize>() == a.values.len()).then_some(input::Array {
                shape,
                values: a.values,
            })
        }
        None => Some(a),
    }
}

/// A truth sidecar's samples and Keras's outputs for them (flattened per sample).
struct Truth {
    path: PathBuf,
    inputs: Vec<Vec<Tensor>>,
    outputs: Vec<Vec<Vec<f64>>>,
}

fn truth_of(model_path: &Path, graph: &Graph) -> Option<Truth> {
    let mut p = model_path.as_os_str().to_owned();
    p.push(".truth.json");
    let path = PathBuf::from(p);
    let text = std::fs::read_to_string(&path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let pred = v.get("predict").filter(|p| !p.is_null())?;
    let shapes = graph.input_shapes();
    let per_input: Vec<Vec<Tensor>> = pred
        .get("inputs")?
        .as_array()?
        .iter()
        .zip(&shapes)
        .map(|(v, s)| input::samples(&truth_array(v)?, s).ok())
        .collect::<Option<_>>()?;
    if per_input.len() != shapes.len() {
        return None;
    }
    let batch = per_input.first().map_or(0, Vec::len);
    let outs: Vec<input::Array> = pred
        .get("outputs")?
        .as_array()?
        .iter()
        .map(truth_array)
        .collect::<Option<_>>()?;
    if batch == 0 || per_input.iter().any(|s| s.len() != batch) {
        return None;
    }
    let mut outputs = vec![Vec::new(); batch];
    for o in &outs {
        let per = o.values.len() / batch;
        for (b, sample) in outputs.iter_mut().enumerate() {
            sample.push(o.values.get(b * per..(b + 1) * per)?.to_vec());
        }
    }
    Some(Truth {
        path,
        inputs: (0..batch)
            .map(|b| per_input.iter().map(|s| s[b].clone()).collect())
            .collect(),
        outputs,
    })
}

/// `DRAWN_SAMPLES` samples uniform in `DRAWN_RANGE`, the same on every run (SplitMix64).
fn drawn(graph: &Graph) -> anyhow::Result<Vec<Vec<Tensor>>> {
    let mut state: u64 = 0x005E_ED0F_E7E2_4A11;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) >> 11
    };
    let (lo, hi) = DRAWN_RANGE;
    let shapes = graph.input_shapes();
    (0..DRAWN_SAMPLES)
        .map(|_| {
            shapes
                .iter()
                .map(|s| {
                    let dims = s[1..]
                        .iter()
                        .map(|d| d.context("an input dimension is only known at run time: give samples with --input"))
                        .collect::<anyhow::Result<Vec<usize>>>()?;
                    let n: usize = dims.iter().product();
                    let data = (0..n)
                        .map(|_| {
                            let u = next() as f64 / (1u64 << 53) as f64;
                            fixed::from_f64(lo + (hi - lo) * u).unwrap_or(0)
                        })
                        .collect();
                    Ok(Tensor { shape: dims, data })
                })
                .collect()
        })
        .collect()
}

fn run_all(graph: &Graph, samples: &[Vec<Tensor>]) -> anyhow::Result<Vec<Vec<Vec<f64>>>> {
    samples
        .iter()
        .map(|ins| {
            Ok(graph
                .run(ins)?
                .iter()
                .map(|t| t.data.iter().map(|&v| fixed::to_f64(v)).collect())
                .collect())
        })
        .collect()
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold(0, |m, (i, x)| if *x > v[m] { i } else { m })
}

/// Errors of `got` against `base` (per sample, per output, flattened values).
fn errors(got: &[Vec<Vec<f64>>], base: &[Vec<Vec<f64>>]) -> (f64, f64, Option<String>) {
    let (mut abs, mut rel, mut agree, mut n) = (0.0f64, 0.0f64, 0, 0);
    for (g, b) in got.iter().zip(base) {
        for (g, b) in g.iter().zip(b) {
            let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let worst = g
                .iter()
                .zip(b)
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
            abs = abs.max(worst);
            if worst > 0.0 {
                rel = rel.max(if scale > 0.0 {
                    worst / scale
                } else {
                    f64::INFINITY
                });
            }
            if b.len() > 1 {
                n += 1;
                agree += usize::from(argmax(g) == argmax(b));
            }
        }
    }
    (abs, rel, (n > 0).then(|| format!("{agree}/{n}")))
}

/// Measures every format of the model at `path` on the samples of `input` (`.npy` or JSON),
/// or on Keras's truth samples, or on drawn ones (see the module docs).
pub fn measure(path: &Path, input: Option<&Path>) -> anyhow::Result<FormatsReport> {
    let file = ModelFile::open(path)?;
    let exact = super::predict::graph_of(&file, WeightFormat::Exact)?;
    let words = match &file.content {
        Content::Keras { bundle, .. } => bundle.weights.len(),
        Content::Bundle(read) => read.bundle.weights.len(),
    };
    let is_keras = matches!(file.content, Content::Keras { .. });
    let truth = if input.is_none() && is_keras {
        truth_of(path, &exact)
    } else {
        None
    };
    let (samples, samples_from) = match (input, &truth) {
        (Some(i), _) => {
            let per_input = super::predict::read_samples(&exact, i)?;
            let batch = per_input.first().map_or(0, Vec::len);
            let s = (0..batch)
                .map(|b| per_input.iter().map(|s| s[b].clone()).collect())
                .collect();
            (
                s,
                Samples::File {
                    path: i.to_path_buf(),
                },
            )
        }
        (None, Some(t)) => (
            t.inputs.clone(),
            Samples::KerasTruth {
                path: t.path.clone(),
            },
        ),
        (None, None) => {
            let (low, high) = DRAWN_RANGE;
            (drawn(&exact)?, Samples::Drawn { low, high })
        }
    };
    let run = |g: &Graph| run_all(g, &samples).with_context(|| path.display().to_string());
    let exact_out = run(&exact)?;
    let (baseline, base) = match truth {
        Some(t) => (Baseline::Keras, t.outputs),
        None => (Baseline::ExactReference, exact_out.clone()),
    };
    let shapes: Vec<&[usize]> = exact
        .nodes
        .iter()
        .flat_map(|n| &n.weights)
        .map(|w| w.shape.as_slice())
        .collect();
    // The chain's layout of the weights, when the file has one (a bundle with a stale hash or a
    // gap has none: its bytes are then estimated).
    let spec = crate::engine::Source::from_file(&file).ok().map(|s| s.spec);
    let blob_bytes = |format: WeightFormat| {
        let spec = spec.as_ref()?;
        let tensors: Vec<TensorSpan> = spec
            .layers
            .iter()
            .flat_map(|l| l.tensors.iter().copied())
            .collect();
        WeightBlob::encode(&spec.words, &tensors, format)
            .ok()
            .map(|b| b.bytes.len())
    };
    // The planner's view of the model: each layer's op from the config the chain would hold.
    let ops: Option<Vec<LayerOp>> = spec.as_ref().and_then(|spec| {
        spec.layers
            .iter()
            .map(|l| {
                Some(LayerOp {
                    kind: l.kind,
                    inputs: l.inputs.iter().map(|&j| usize::from(j)).collect(),
                    op: Op::decode(l.kind, &l.config).ok()?,
                })
            })
            .collect()
    });
    let first: Option<BTreeMap<usize, Tensor>> = samples.first().map(|s| {
        exact
            .inputs
            .iter()
            .copied()
            .zip(s.iter().cloned())
            .collect()
    });
    let mut formats = Vec::with_capacity(WeightFormat::ALL.len());
    for format in WeightFormat::ALL {
        let out = if format == WeightFormat::Exact {
            exact_out.clone()
        } else {
            run(&super::predict::graph_of(&file, format)?)?
        };
        let (max_abs_err, max_rel_err, argmax_agree) = errors(&out, &base);
        let (bytes, estimate) = match blob_bytes(format) {
            Some(b) => (b, false),
            None => match quant::bytes(shapes.iter().copied(), format) {
                Some(b) => (b, true),
                None => (words * 4 * format.width(), false),
            },
        };
        formats.push(FormatRow {
            name: format.flag(),
            bytes,
            chunks: bytes.div_ceil(MAX_CHUNK_BYTES),
            deploy_gas: bytes * gas_per_byte(format),
            estimate,
            predict_gas: ops
                .as_deref()
                .zip(first.as_ref())
                .and_then(|(ops, first)| plan::one_call_estimate(ops, first, format)),
            max_abs_err,
            max_rel_err,
            argmax_agree,
        });
    }
    Ok(FormatsReport {
        path: path.to_path_buf(),
        baseline,
        samples: samples_from,
        sample_count: samples.len(),
        formats,
    })
}

fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.2e}")
    }
}

/// The table: one line per format, then what the errors were measured against.
impl std::fmt::Display for FormatsReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}: weight formats", self.path.display())?;
        writeln!(
            f,
            "{:<8} {:>12} {:>6} {:>12} {:>11} {:>11} {:>11} {:>7}",
            "format",
            "bytes",
            "chunks",
            "deploy gas",
            "predict gas",
            "max abs err",
            "max rel err",
            "argmax"
        )?;
        for r in &self.formats {
            let mark = if r.estimate { "~" } else { "" };
            writeln!(
                f,
                "{:<8} {:>12} {:>6} {:>12} {:>11} {:>11} {:>11} {:>7}",
                r.name,
                format!("{mark}{}", units::thousands(r.bytes)),
                r.chunks,
                format!("{mark}{}", units::short(r.deploy_gas)),
                r.predict_gas.map_or("—".to_string(), units::short),
                sci(r.max_abs_err),
                sci(r.max_rel_err),
                r.argmax_agree.as_deref().unwrap_or("—"),
            )?;
        }
        let against = match self.baseline {
            Baseline::Keras => "Keras's own predictions",
            Baseline::ExactReference => "the exact (Q32.32) reference",
        };
        let on = match &self.samples {
            Samples::File { path } => format!("{}", path.display()),
            Samples::KerasTruth { path } => format!("the samples of {}", path.display()),
            Samples::Drawn { low, high } => {
                format!("deterministic samples uniform in [{low}, {high}]")
            }
        };
        writeln!(
            f,
            "errors against {against}, on {} sample(s): {on}",
            self.sample_count
        )?;
        write!(
            f,
            "deploy gas = bytes × {} gas per byte (data contracts); predict gas: an estimate (the call planner's gas model, one call on the first sample)",
            gas_per_byte(WeightFormat::Compact)
        )?;
        if self.formats.iter().any(|r| r.estimate) {
            write!(
                f,
                "\n~ estimate: the file cannot be laid out for the chain; bytes follow the format's rules"
            )?;
        }
        Ok(())
    }
}
