//! Export: a model file written as a bundle (atomically, or to stdout), reported as one
//! [`Exported`] — its `Serialize` is `export --json`, its `Display` the one-line summary.
//!
//! Owns: reading, exporting and writing the bundle. Must not touch: the terminal.

use crate::bundle::Bundle;
use crate::keras;
use anyhow::Context;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The bundle's path (`-` for stdout).
    pub bundle: String,
    pub layers: usize,
    pub total_params: usize,
    pub weight_words: usize,
    pub graph_hash: String,
    pub weights_hash: String,
    pub hashed_model: String,
    pub seconds: f64,
    /// The model file it came from (for the line; not in `--json`).
    #[serde(skip)]
    pub model: String,
}

/// Exports `model_path` to `output` (`-`: stdout); `eai` leaves out eternalize's own section,
/// so the file is byte-identical to what eai writes.
pub fn export(model_path: &Path, output: &Path, eai: bool) -> anyhow::Result<Exported> {
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
    Ok(Exported {
        bundle: output.display().to_string(),
        layers: model.layers.len(),
        total_params: model.total_params(),
        weight_words: bundle.weights.len(),
        graph_hash: hashes.graph.clone(),
        weights_hash: hashes.weights.clone(),
        hashed_model: hashes.hashed_model(),
        seconds: started.elapsed().as_secs_f64(),
        model: model_path.display().to_string(),
    })
}

/// `exported M → B: 5 layers, 1234 params, 310 weight words, hashed_model 0123…  (12 ms)`.
impl std::fmt::Display for Exported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exported {} → {}: {} layers, {} params, {} weight words, hashed_model {}… ({:.0} ms)",
            self.model,
            if self.bundle == "-" {
                "stdout"
            } else {
                &self.bundle
            },
            self.layers,
            self.total_params,
            self.weight_words,
            &self.hashed_model[..16.min(self.hashed_model.len())],
            self.seconds * 1000.0
        )
    }
}
