//! What can be wrong with a model file, said so that the user can act on it.

use std::path::PathBuf;

/// An error reading a model file: which file, then what.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct KerasError {
    pub path: PathBuf,
    pub problem: Problem,
}

/// What was wrong, without the file name (added by [`KerasError`]).
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty (0 bytes); expected a Keras model (.keras or .h5)")]
    Empty,
    #[error(
        "not a Keras model: a .keras file is a zip archive (starts with \"PK\") and an .h5 file is HDF5 (starts with \"\\x89HDF\"), but this one starts with {head}"
    )]
    UnknownFormat { head: String },
    #[error("the .keras archive is damaged or truncated ({size} bytes): {reason}")]
    Zip { size: u64, reason: String },
    #[error("the .keras archive has no {entry} (it holds: {entries})")]
    MissingEntry { entry: String, entries: String },
    #[error("{what}: {reason}")]
    Hdf5 { what: String, reason: String },
    #[error("{what} is not valid JSON: {reason}")]
    Json { what: String, reason: String },
    #[error("model config, {field}: {reason}")]
    Config { field: String, reason: String },
    #[error(
        "layer '{layer}' is a {class}, which eternalize cannot export; supported classes: {supported}"
    )]
    Unsupported {
        layer: String,
        class: String,
        supported: String,
    },
    #[error("layer '{layer}' ({class}), config field '{field}': {reason}")]
    LayerConfig {
        layer: String,
        class: String,
        field: String,
        reason: String,
    },
    #[error("layer '{layer}' ({class}): {reason}")]
    Layer {
        layer: String,
        class: String,
        reason: String,
    },
    #[error(
        "layer '{layer}' ({class}) has no weights group '{group}' in the file, but its config needs {expected} weight tensors"
    )]
    MissingWeights {
        layer: String,
        class: String,
        group: String,
        expected: usize,
    },
}

impl Problem {
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Problem {
        Problem::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
