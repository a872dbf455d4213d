//! `eternalize export MODEL -o BUNDLE.json`

use crate::bundle::Bundle;
use crate::keras;
use anyhow::Context;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

pub fn run(model_path: &Path, output: &Path, eai: bool, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let model = keras::load(model_path)?;
    let bundle = Bundle::from_model(&model).with_context(|| model_path.display().to_string())?;
    let to_stdout = output == Path::new("-");
    let hashes = if to_stdout {
        crate::atomic::to_stdout(|w| bundle.write(w, !eai))
    } else {
        crate::atomic::write(output, |w| bundle.write(w, !eai))
    }
    .with_context(|| format!("{}: cannot write the bundle", output.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if json && !to_stdout {
        let summary = json!({
            "bundle": output.display().to_string(),
            "layers": model.layers.len(),
            "total_params": model.total_params(),
            "weight_words": bundle.weights.len(),
            "graph_hash": hashes.graph,
            "weights_hash": hashes.weights,
            "hashed_model": hashes.hashed_model(),
            "seconds": seconds,
        });
        println!("{summary}");
    } else {
        eprintln!(
            "exported {} → {}: {} layers, {} params, {} weight words, hashed_model {}… ({:.0} ms)",
            model_path.display(),
            if to_stdout {
                "stdout".to_string()
            } else {
                output.display().to_string()
            },
            model.layers.len(),
            model.total_params(),
            bundle.weights.len(),
            &hashes.hashed_model()[..16],
            seconds * 1000.0
        );
    }
    Ok(())
}
