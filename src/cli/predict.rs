//! `eternalize predict MODEL|BUNDLE --input FILE`: the fixed-point reference, offline; and
//! `eternalize predict ADDRESS --input FILE`: the deployed model's `predict`, by `eth_call`.

use crate::bundle;
use crate::infer::{Graph, WeightFormat, fixed, input};
use crate::keras;
use anyhow::Context;
use serde_json::json;
use std::path::Path;

/// The reference graph of a model file or an eternalize bundle, computing with `format`.
pub fn load_graph(model_path: &Path, format: WeightFormat) -> anyhow::Result<Graph> {
    let bytes = std::fs::read(model_path)
        .with_context(|| format!("{}: cannot read the file", model_path.display()))?;
    if keras::sniff(&bytes).is_none() && bundle::sniff(&bytes) {
        let read = bundle::read_bytes(&bytes, model_path)?;
        if let Some(why) = read.mismatch() {
            anyhow::bail!(
                "{}: the stored hashed_model does not match the contents: {why}",
                model_path.display()
            );
        }
        Graph::from_bundle(&read.bundle, format).with_context(|| model_path.display().to_string())
    } else {
        let model = keras::load_bytes(&bytes, model_path)?;
        Graph::from_model(&model, format).with_context(|| model_path.display().to_string())
    }
}

/// One output over the whole batch: its name (offline only), per-sample shape, values.
pub struct Output {
    pub name: Option<String>,
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// Prints outputs as text, or as `{"shape", "values"}` (one output) / `{"outputs": [...]}`.
pub fn print_outputs(outputs: &[Output], batch: usize, as_json: bool) {
    let with_batch = |s: &[usize]| {
        std::iter::once(batch)
            .chain(s.iter().copied())
            .collect::<Vec<_>>()
    };
    if as_json {
        let objs: Vec<_> = outputs
            .iter()
            .map(|o| {
                let mut v = json!({ "shape": with_batch(&o.shape), "values": o.values });
                if let Some(n) = &o.name {
                    v["name"] = json!(n);
                }
                v
            })
            .collect();
        let out = match objs.as_slice() {
            [one] => json!({ "shape": one["shape"], "values": one["values"] }),
            _ => json!({ "outputs": objs }),
        };
        println!("{out}");
        return;
    }
    for (k, o) in outputs.iter().enumerate() {
        let name = o.name.clone().unwrap_or_else(|| format!("#{k}"));
        println!("output '{name}', shape {:?}:", with_batch(&o.shape));
        let per = o.values.len() / batch.max(1);
        for (b, row) in o.values.chunks(per.max(1)).enumerate() {
            let text: Vec<String> = row.iter().map(|x| format!("{x:.6}")).collect();
            let argmax = row
                .iter()
                .enumerate()
                .fold(0, |m, (i, x)| if *x > row[m] { i } else { m });
            if per > 1 {
                println!("  [{b}] {}  (argmax {argmax})", text.join(" "));
            } else {
                println!("  [{b}] {}", text.join(" "));
            }
        }
    }
}

pub fn run(
    model_path: &Path,
    input_path: &Path,
    format: WeightFormat,
    as_json: bool,
) -> anyhow::Result<()> {
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
    print_outputs(&outputs, batch, as_json);
    Ok(())
}
