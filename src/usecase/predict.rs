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
use std::path::{Path, PathBuf};

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
    let per_input = read_samples(&graph, input_path)?;
    let batch = per_input.first().map_or(0, Vec::len);
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

/// The samples of `input_path` (`.npy` or JSON) for `graph`: per model input, one tensor per
/// sample (inputs named in the file go to the input layer of that name, unnamed ones in order).
pub fn read_samples(
    graph: &Graph,
    input_path: &Path,
) -> anyhow::Result<Vec<Vec<crate::infer::Tensor>>> {
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
                let given: Vec<&str> = arrays.iter().filter_map(|(n, _)| n.as_deref()).collect();
                let wanted: Vec<&str> = graph.inputs.iter().map(|&i| names[i].as_str()).collect();
                format!(
                    "{}: no input named '{}' (the file names {}; the model's inputs are {})",
                    input_path.display(),
                    names[idx],
                    given.join(", "),
                    wanted.join(", ")
                )
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
    Ok(per_input)
}

// ------------------------------------------------------------------ side by side

/// One output of one sample, through the chain and through the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedOutput {
    pub sample: usize,
    /// The output's name (the reference's layer name), else its position.
    pub output: String,
    pub chain: Vec<f64>,
    pub offline: Vec<f64>,
}

impl ComparedOutput {
    /// Whether the two are the same numbers, bit for bit (both come from the same fixed-point
    /// values, so equal `f64`s are equal Q32.32 values).
    pub fn bit_exact(&self) -> bool {
        self.chain.len() == self.offline.len()
            && self
                .chain
                .iter()
                .zip(&self.offline)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// The largest |chain − offline|.
    pub fn max_abs_diff(&self) -> f64 {
        self.chain
            .iter()
            .zip(&self.offline)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    /// `argmax 3 (0.981203)` for a vector, the value itself for a scalar.
    pub fn summary(values: &[f64]) -> String {
        match values {
            [] => "—".into(),
            [x] => format!("{x:.6}"),
            _ => {
                let at = values
                    .iter()
                    .enumerate()
                    .fold(0, |m, (i, x)| if *x > values[m] { i } else { m });
                format!("argmax {at} ({:.6})", values[at])
            }
        }
    }
}

/// The same input file through the deployed model and through the offline reference, each
/// sample's outputs next to each other: what the TUI's Done screen shows after `p`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideBySide {
    pub input: PathBuf,
    pub samples: usize,
    /// The `eth_call`s the chain's answer took.
    pub calls: usize,
    /// Their gas (estimated), when the caller measured it.
    pub gas: Option<u64>,
    pub outputs: Vec<ComparedOutput>,
}

impl SideBySide {
    /// Pairs the two predictions sample by sample; they must have the same outputs and shapes.
    pub fn of(
        input: &Path,
        chain: &Prediction,
        offline: &Prediction,
        calls: usize,
        gas: Option<u64>,
    ) -> anyhow::Result<SideBySide> {
        if chain.batch != offline.batch || chain.outputs.len() != offline.outputs.len() {
            anyhow::bail!(
                "{}: the chain returned {} output(s) for {} sample(s), the reference {} for {}",
                input.display(),
                chain.outputs.len(),
                chain.batch,
                offline.outputs.len(),
                offline.batch
            );
        }
        let mut outputs = Vec::new();
        for b in 0..chain.batch {
            for (k, (c, o)) in chain.outputs.iter().zip(&offline.outputs).enumerate() {
                if c.shape != o.shape {
                    anyhow::bail!(
                        "{}: output {k} has shape {:?} on chain and {:?} in the reference",
                        input.display(),
                        c.shape,
                        o.shape
                    );
                }
                let per = o.shape.iter().product::<usize>();
                let slice = |v: &[f64]| v.get(b * per..(b + 1) * per).unwrap_or(&[]).to_vec();
                outputs.push(ComparedOutput {
                    sample: b,
                    output: o.name.clone().unwrap_or_else(|| format!("#{k}")),
                    chain: slice(&c.values),
                    offline: slice(&o.values),
                });
            }
        }
        Ok(SideBySide {
            input: input.to_path_buf(),
            samples: chain.batch,
            calls,
            gas,
            outputs,
        })
    }

    /// Whether every output of every sample is bit-exact.
    pub fn bit_exact(&self) -> bool {
        self.outputs.iter().all(ComparedOutput::bit_exact)
    }
}

/// The verdict line, then one line per sample and output: on-chain, offline, |Δ|.
impl std::fmt::Display for SideBySide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.input.file_name().map_or_else(
            || self.input.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let verdict = if self.bit_exact() {
            "on-chain equals offline bit for bit"
        } else {
            "on-chain DIFFERS from offline"
        };
        let gas = self
            .gas
            .map(|g| format!(", {} gas", crate::units::thousands(g)))
            .unwrap_or_default();
        let calls = if self.calls == 1 { "call" } else { "calls" };
        writeln!(
            f,
            "{name}: {} sample(s), {verdict} ({} {calls}{gas})",
            self.samples, self.calls
        )?;
        writeln!(
            f,
            "{:<7} {:<12} {:<24} {:<24} |Δ|",
            "sample", "output", "on-chain", "offline"
        )?;
        for o in &self.outputs {
            writeln!(
                f,
                "{:<7} {:<12} {:<24} {:<24} {:.1e}",
                o.sample,
                o.output,
                ComparedOutput::summary(&o.chain),
                ComparedOutput::summary(&o.offline),
                o.max_abs_diff()
            )?;
        }
        Ok(())
    }
}

/// Input files next to `model_path` that `predict` could take: `.npy` and `.json` files in
/// its folder, the model's own test input first (a name starting with the model's and saying
/// input, sample or test, as `fashion_mnist_input.npy` for `fashion_mnist.keras`), then the
/// rest by name. Bundles and Keras truth/eai files (JSON that is not an input) are left out.
pub fn sample_inputs(model_path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let dir = match model_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let stem = model_path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let is_npy = name.ends_with(".npy");
        let is_json = name.ends_with(".json")
            && !name.ends_with(".truth.json")
            && !name.ends_with(".eai.json");
        if !(is_npy || is_json) || !path.is_file() || path == model_path {
            continue;
        }
        if is_json && looks_like_a_bundle(&path) {
            continue;
        }
        let own =
            name.starts_with(&stem) && ["input", "sample", "test"].iter().any(|w| name.contains(w));
        found.push((!own, name, path));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, _, p)| p).collect())
}

/// A bundle names `model_graph` or `hashed_model` near its start; an input file does not.
fn looks_like_a_bundle(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    let read = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    if read.is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    text.contains("\"model_graph\"") || text.contains("\"hashed_model\"")
}
