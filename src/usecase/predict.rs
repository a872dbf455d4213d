//! Predict: the fixed-point reference run offline on a model file or bundle
//! ([`offline`]), or a deployed model's `predict` by `eth_call` ([`super::verify::on_chain`]);
//! both return one [`Prediction`] — its `Serialize` is `predict --json`, its `Display` the text.
//!
//! Owns: reading inputs and matching them to the model's inputs, running the reference.
//! Must not touch: the terminal.

use crate::bundle::file::{Content, ModelFile};
use crate::infer::{Graph, WeightFormat, fixed, input};
use anyhow::Context;
use serde::Serialize;
use std::path::Path;

/// The reference graph of a model file or an eternalize bundle, computing with `format`.
pub fn load_graph(model_path: &Path, format: WeightFormat) -> anyhow::Result<Graph> {
    graph_of(&ModelFile::open(model_path)?, format)
}

/// The reference graph of a file already read (a bundle must match its stored hash).
pub fn graph_of(file: &ModelFile, format: WeightFormat) -> anyhow::Result<Graph> {
    let name = || file.path.display().to_string();
    match &file.content {
        Content::Bundle(read) => {
            file.trusted_bundle().map_err(anyhow::Error::msg)?;
            Graph::from_bundle(&read.bundle, format).with_context(name)
        }
        Content::Keras { model, .. } => Graph::from_model(model, format).with_context(name),
    }
}

/// One output over the whole batch: its name (offline only), per-sample shape, values.
pub struct Output {
    pub name: Option<String>,
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// What a prediction returned: every output over the whole batch, and for a deployed model
/// the calls it took.
pub struct Prediction {
    pub outputs: Vec<Output>,
    pub batch: usize,
    /// `predict ADDRESS`: the `eth_call`s of every sample (`"calls"`, `"gas"` in `--json`).
    pub calls: Option<super::chained::CallStats>,
}

impl Prediction {
    fn with_batch(&self, shape: &[usize]) -> Vec<usize> {
        std::iter::once(self.batch)
            .chain(shape.iter().copied())
            .collect()
    }
}

/// `{"shape": [...], "values": [...]}` for one output (shapes with the batch dimension), else
/// `{"outputs": [{"shape", "values", "name"?}, …]}`.
impl Serialize for Prediction {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        self.serialize_outputs(ser)
    }
}

impl Prediction {
    fn serialize_outputs<'s, S: serde::Serializer>(&'s self, ser: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct One<'a> {
            shape: Vec<usize>,
            values: &'a [f64],
            #[serde(skip_serializing_if = "Option::is_none")]
            name: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Calls<'a> {
            calls: usize,
            gas: &'a super::chained::GasStats,
            call_gas: u64,
        }
        #[derive(Serialize)]
        struct Top<'a> {
            #[serde(flatten)]
            one: Option<One<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            outputs: Option<Vec<One<'a>>>,
            #[serde(flatten)]
            calls: Option<Calls<'a>>,
        }
        let one = |o: &'s Output, named: bool| One {
            shape: self.with_batch(&o.shape),
            values: &o.values,
            name: o.name.as_deref().filter(|_| named),
        };
        let calls = self.calls.as_ref().map(|c| Calls {
            calls: c.calls,
            gas: &c.gas,
            call_gas: c.call_gas,
        });
        match self.outputs.as_slice() {
            [o] => Top {
                one: Some(one(o, false)),
                outputs: None,
                calls,
            }
            .serialize(ser),
            many => Top {
                one: None,
                outputs: Some(many.iter().map(|o| one(o, true)).collect()),
                calls,
            }
            .serialize(ser),
        }
    }
}

/// Each output's name and shape, then one line per sample (with its argmax when it has
/// more than one value).
impl std::fmt::Display for Prediction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (k, o) in self.outputs.iter().enumerate() {
            let name = o.name.clone().unwrap_or_else(|| format!("#{k}"));
            writeln!(f, "output '{name}', shape {:?}:", self.with_batch(&o.shape))?;
            let per = o.values.len() / self.batch.max(1);
            for (b, row) in o.values.chunks(per.max(1)).enumerate() {
                let text: Vec<String> = row.iter().map(|x| format!("{x:.6}")).collect();
                let argmax = row
                    .iter()
                    .enumerate()
                    .fold(0, |m, (i, x)| if *x > row[m] { i } else { m });
                if per > 1 {
                    writeln!(f, "  [{b}] {}  (argmax {argmax})", text.join(" "))?;
                } else {
                    writeln!(f, "  [{b}] {}", text.join(" "))?;
                }
            }
        }
        if let Some(c) = &self.calls {
            writeln!(f, "on chain: {c}")?;
        }
        Ok(())
    }
}

/// Runs the reference on every sample of `input_path` (`.npy` or JSON).
pub fn offline(
    model_path: &Path,
    input_path: &Path,
    format: WeightFormat,
) -> anyhow::Result<Prediction> {
    let graph = load_graph(model_path, format)?;
    let names = graph
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect::<Vec<_>>();
    let arrays = input::read(input_path)?;
    let shapes = graph.input_shapes();
    if arrays.len() != graph.inputs.len() {
        anyhow::bail!(
            "{}: holds {} input arrays, but the model takes {} ({})",
            input_path.display(),
            arrays.len(),
            graph.inputs.len(),
            graph
                .inputs
                .iter()
                .map(|&i| names[i].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // Inputs given by name go to the input layer of that name; unnamed ones in order.
    let mut per_input = Vec::with_capacity(arrays.len());
    for (k, (&idx, shape)) in graph.inputs.iter().zip(&shapes).enumerate() {
        let (_, a) = arrays
            .iter()
            .find(|(n, _)| n.as_deref() == Some(names[idx].as_str()))
            .or_else(|| arrays.get(k).filter(|(n, _)| n.is_none()))
            .with_context(|| {
                format!("{}: no input named '{}'", input_path.display(), names[idx])
            })?;
        let samples = input::samples(a, shape)
            .map_err(|e| anyhow::anyhow!("{}: input '{}' {e}", input_path.display(), names[idx]))?;
        per_input.push(samples);
    }
    let batch = per_input.first().map_or(0, Vec::len);
    if per_input.iter().any(|s| s.len() != batch) {
        anyhow::bail!(
            "{}: the inputs hold different numbers of samples",
            input_path.display()
        );
    }
    let mut outputs: Vec<Output> = Vec::new();
    for b in 0..batch {
        let ins: Vec<_> = per_input.iter().map(|s| s[b].clone()).collect();
        let got = graph
            .run(&ins)
            .with_context(|| model_path.display().to_string())?;
        if outputs.is_empty() {
            outputs = got
                .iter()
                .zip(&graph.outputs)
                .map(|(t, &o)| Output {
                    name: Some(names[o].clone()),
                    shape: t.shape.clone(),
                    values: Vec::new(),
                })
                .collect();
        }
        for (o, t) in outputs.iter_mut().zip(&got) {
            o.values.extend(t.data.iter().map(|&v| fixed::to_f64(v)));
        }
    }
    Ok(Prediction {
        outputs,
        batch,
        calls: None,
    })
}
