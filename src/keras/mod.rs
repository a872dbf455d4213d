//! The Keras reader: `.keras` (Keras 3) and legacy `.h5` (Keras 2 and 3) files, with no
//! Python and no C library. Produces a [`Model`]: the layer graph with shapes and weights.
//!
//! Owns: file formats, config dialects, shape inference. Must not touch: the bundle format,
//! the chain, the screen.

pub mod archive;
pub mod config;
pub mod error;
pub mod flatten;
pub mod h5;
pub mod layers;
pub mod legacy;
pub mod model;

pub use error::{KerasError, Problem};
pub use model::{Layer, Model, Shape, SourceFormat, Tensor};

use std::path::Path;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Whether `bytes` look like a model file this reader understands.
pub fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    if bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(b"PK\x05\x06") {
        Some(SourceFormat::KerasZip)
    } else if bytes.starts_with(HDF5_MAGIC) {
        Some(SourceFormat::LegacyH5)
    } else {
        None
    }
}

/// Reads a model file.
pub fn load(path: &Path) -> Result<Model, KerasError> {
    let bytes = std::fs::read(path).map_err(|e| KerasError {
        path: path.to_path_buf(),
        problem: e.into(),
    })?;
    load_bytes(&bytes, path)
}

/// Reads a model from the bytes of a file; `path` names it in errors.
pub fn load_bytes(bytes: &[u8], path: &Path) -> Result<Model, KerasError> {
    read(bytes).map_err(|problem| KerasError {
        path: path.to_path_buf(),
        problem,
    })
}

fn read(bytes: &[u8]) -> Result<Model, Problem> {
    if bytes.is_empty() {
        return Err(Problem::Empty);
    }
    let format = sniff(bytes).ok_or_else(|| Problem::UnknownFormat {
        head: describe_head(bytes),
    })?;
    match format {
        SourceFormat::KerasZip => {
            let a = archive::open(bytes)?;
            let mut model = build(format, &a.config, a.keras_version)?;
            archive::load_weights(&a.weights, &mut model.layers)?;
            check_weights(&model)?;
            Ok(model)
        }
        SourceFormat::LegacyH5 => {
            let h5 = h5::H5File::from_bytes(bytes.to_vec()).map_err(|e| Problem::Hdf5 {
                what: "HDF5 structure".into(),
                reason: e.to_string(),
            })?;
            let l = legacy::open(&h5)?;
            let mut model = build(format, &l.config, l.keras_version)?;
            legacy::load_weights(&h5, &mut model.layers)?;
            check_weights(&model)?;
            Ok(model)
        }
    }
}

fn build(
    format: SourceFormat,
    config: &serde_json::Value,
    keras_version: Option<String>,
) -> Result<Model, Problem> {
    let root = config::parse_model(config)?;
    let flat = flatten::flatten(&root)?;
    Ok(Model {
        format,
        keras_version,
        root,
        layers: flat.layers,
        inputs: flat.inputs,
        outputs: flat.outputs,
    })
}

/// Every layer carries exactly the tensors its config implies, with matching shapes.
fn check_weights(model: &Model) -> Result<(), Problem> {
    for layer in &model.layers {
        let err = |reason: String| Problem::Layer {
            layer: layer.name.clone(),
            class: layer.keras_class.clone(),
            reason,
        };
        if layer.weights.len() != layer.expected_weights.len() {
            return Err(err(format!(
                "the file holds {} weight tensors, but its config needs {} ({})",
                layer.weights.len(),
                layer.expected_weights.len(),
                layer
                    .expected_weights
                    .iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        for (t, want) in layer.weights.iter().zip(&layer.expected_weights) {
            if &t.shape != want {
                return Err(err(format!(
                    "weight {} has shape {:?}, but its config needs {:?}",
                    t.name, t.shape, want
                )));
            }
        }
    }
    Ok(())
}

/// The first bytes of a file, printable.
fn describe_head(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    let text: String = head
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    format!("\"{text}\"")
}
