//! What can be wrong with a model file, said so that the user can act on it.
//!
//! Every message quotes strings from the file (layer names, entry names, config values); they
//! are printed through [`printable`], so a name holding a terminal escape sequence shows as
//! `\x1b]0;…` instead of retitling the user's terminal.

use std::borrow::Cow;
use std::path::PathBuf;

/// `s` with control characters (C0, DEL, C1; newline and tab included) written as `\x1b` or
/// `\u{9b}`, so text from a file cannot drive the terminal it is printed on.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An error reading a model file: which file, then what (file strings escaped).
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", path.display(), printable(&problem.to_string()))]
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
    /// The file was read, but a layer cannot be deployed: the reason that layer was marked
    /// with, in the words of the rule it broke.
    #[error("{0}")]
    Undeployable(String),
    /// The file claims more than its config declares; refused before it is read.
    #[error(
        "{what} claims {claimed} bytes, but the model config declares {declared} bytes of weights (memory budget {budget} bytes = 3 x declared + {margin} MiB margin); refusing to read it"
    )]
    OverBudget {
        what: String,
        claimed: u64,
        declared: u64,
        budget: u64,
        margin: u64,
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
