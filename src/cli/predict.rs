//! `eternalize predict MODEL|BUNDLE --input FILE`: the fixed-point reference, offline.

use crate::bundle;
use crate::infer::{Graph, WeightFormat, fixed, input};
use crate::keras;
use anyhow::Context;
use serde_json::json;
use std::path::Path;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Compact,
    Exact,
}

pub fn run(
    model_path: &Path,
    input_path: &Path,
    format: Format,
    as_json: bool,
) -> anyhow::Result<()> {
    let format = match format {
        Format::Compact => WeightFormat::Compact,
        Format::Exact => WeightFormat::Exact,
    };
    let bytes = std::fs::read(model_path)
        .with_context(|| format!("{}: cannot read the file", model_path.display()))?;
    let (graph, names) = if keras::sniff(&bytes).is_none() && bundle::sniff(&bytes) {
        let read = bundle::read_bytes(&bytes, model_path)?;
        if let Some(why) = read.mismatch() {
            anyhow::bail!(
                "{}: the stored hashed_model does not match the contents: {why}",
                model_path.display()
            );
        }
        let g = Graph::from_bundle(&read.bundle, format)
            .with_context(|| model_path.display().to_string())?;
        let names = g.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>();
        (g, names)
    } else {
        let model = keras::load_bytes(&bytes, model_path)?;
        let g =
            Graph::from_model(&model, format).with_context(|| model_path.display().to_string())?;
        let names = g.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>();
        (g, names)
    };
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
    let mut outputs: Vec<(Vec<usize>, Vec<f64>)> = Vec::new();
    for b in 0..batch {
        let ins: Vec<_> = per_input.iter().map(|s| s[b].clone()).collect();
        let got = graph
            .run(&ins)
            .with_context(|| model_path.display().to_string())?;
        if outputs.is_empty() {
            outputs = got.iter().map(|t| (t.shape.clone(), Vec::new())).collect();
        }
        for ((_, vals), t) in outputs.iter_mut().zip(&got) {
            vals.extend(t.data.iter().map(|&v| fixed::to_f64(v)));
        }
    }
    let with_batch = |s: &[usize]| {
        std::iter::once(batch)
            .chain(s.iter().copied())
            .collect::<Vec<_>>()
    };
    if as_json {
        let objs: Vec<_> = outputs
            .iter()
            .zip(&graph.outputs)
            .map(|((s, v), &o)| json!({ "name": names[o], "shape": with_batch(s), "values": v }))
            .collect();
        let out = match objs.as_slice() {
            [one] => json!({ "shape": one["shape"], "values": one["values"] }),
            _ => json!({ "outputs": objs }),
        };
        println!("{out}");
    } else {
        for ((s, v), &o) in outputs.iter().zip(&graph.outputs) {
            println!("output '{}', shape {:?}:", names[o], with_batch(s));
            let per = v.len() / batch.max(1);
            for (b, row) in v.chunks(per.max(1)).enumerate() {
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
    Ok(())
}
