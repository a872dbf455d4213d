//! The Keras reader: `.keras` (Keras 3) and legacy `.h5` (Keras 2 and 3) files, with no
//! Python and no C library. Produces a [`Model`]: the layer graph with shapes and weights.
//!
//! Two readings: [`load`] (export, plan, deploy) refuses a model with a layer it cannot
//! deploy; [`describe_vec`] (inspect, the Preview) keeps such layers, marked. Both read a file
//! within the budget its config sets ([`Budget`]: the declared weights plus [`MARGIN`]), refusing
//! anything that claims more before reading it; [`header`] reads the config only.
//!
//! Owns: file formats, config dialects, shape inference, the read budget. Must not touch: the
//! bundle format, the chain, the screen.

pub mod archive;
pub mod attention;
pub mod config;
pub mod convs;
pub mod error;
pub mod flatten;
pub mod h5;
pub mod layers;
pub mod legacy;
pub mod model;
pub mod shapes;

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

/// Margin of every file's memory budget above the weights its config declares: config,
/// metadata, HDF5 structure, and the weights of layers whose shapes cannot be inferred.
pub const MARGIN: u64 = 64 << 20;

/// Reads a model file to export it: refused when a layer cannot be deployed.
pub fn load(path: &Path) -> Result<Model, KerasError> {
    let model = describe(path)?;
    refuse_undeployable(&model).map_err(|problem| KerasError {
        path: path.to_path_buf(),
        problem,
    })?;
    Ok(model)
}

/// Reads a model file from disk to describe it (see [`describe_vec`]) without holding the
/// file in memory: the config, then only the weights the config declares, within the file's
/// [`Budget`] — whatever else the file carries (an optimizer's state) is never read.
pub fn describe(path: &Path) -> Result<Model, KerasError> {
    let err = |problem: Problem| KerasError {
        path: path.to_path_buf(),
        problem,
    };
    let (file, size, format) = open_sniffed(path).map_err(err)?;
    read_model(format, Held::Disk { file, size }).map_err(err)
}

/// Opens a model file and says which format it is from its first bytes.
fn open_sniffed(path: &Path) -> Result<(std::fs::File, u64, SourceFormat), Problem> {
    let mut head = [0u8; 8];
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut n = 0;
    while n < head.len() {
        match std::io::Read::read(&mut file, &mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    if n == 0 {
        return Err(Problem::Empty);
    }
    let format = sniff(&head[..n]).ok_or_else(|| Problem::UnknownFormat {
        head: describe_head(&head[..n]),
    })?;
    Ok((file, size, format))
}

/// Where a model file's bytes are: on disk (read in parts, never whole) or in memory.
enum Held {
    Disk { file: std::fs::File, size: u64 },
    Memory(Vec<u8>),
}

/// Reads the config, then the weights it declares within the file's [`Budget`].
fn read_model(format: SourceFormat, held: Held) -> Result<Model, Problem> {
    let hdf5 = |e: h5::H5Error| Problem::Hdf5 {
        what: "HDF5 structure".into(),
        reason: e.to_string(),
    };
    match format {
        SourceFormat::KerasZip => {
            let a = match &held {
                Held::Disk { file, size } => {
                    archive::open_from(std::io::BufReader::new(file.try_clone()?), *size)?
                }
                Held::Memory(bytes) => archive::open(bytes)?,
            };
            let mut model = build(format, &a.config, a.keras_version.clone())?;
            let budget = budget(&model);
            let mut h5 = match held {
                Held::Disk { file, size } => a.weights_from_file(file, size, &budget)?,
                Held::Memory(bytes) => a.weights(bytes, &budget)?,
            };
            h5.set_budget(budget.read_bytes());
            archive::load_weights(&h5, &mut model.layers)?;
            check_weights(&model)?;
            normalization_as_batchnorm(&mut model)?;
            Ok(model)
        }
        SourceFormat::LegacyH5 => {
            let mut h5 = match held {
                Held::Disk { file, size } => h5::H5File::from_file_region(file, 0, size),
                Held::Memory(bytes) => h5::H5File::from_bytes(bytes),
            }
            .map_err(hdf5)?;
            let l = legacy::open(&h5)?;
            let mut model = build(format, &l.config, l.keras_version)?;
            h5.set_budget(budget(&model).read_bytes());
            legacy::load_weights(&h5, &mut model.layers)?;
            check_weights(&model)?;
            normalization_as_batchnorm(&mut model)?;
            Ok(model)
        }
    }
}

/// Reads a model from the bytes of a file; `path` names it in errors.
pub fn load_bytes(bytes: &[u8], path: &Path) -> Result<Model, KerasError> {
    load_vec(bytes.to_vec(), path)
}

/// [`load_bytes`] taking the bytes, so a `.keras` file's stored weights are read in place and
/// a `.h5` file is not copied: a file is read within its budget (see [`Budget`]).
pub fn load_vec(bytes: Vec<u8>, path: &Path) -> Result<Model, KerasError> {
    let model = describe_vec(bytes, path)?;
    refuse_undeployable(&model).map_err(|problem| KerasError {
        path: path.to_path_buf(),
        problem,
    })?;
    Ok(model)
}

/// Reads a model to describe it (`inspect`): layers eternalize cannot deploy are kept and
/// marked ([`Layer::unsupported`]) instead of refused.
pub fn describe_vec(bytes: Vec<u8>, path: &Path) -> Result<Model, KerasError> {
    read(bytes).map_err(|problem| KerasError {
        path: path.to_path_buf(),
        problem,
    })
}

/// The first layer that cannot be deployed, as the error `export` gives.
pub fn refuse_undeployable(model: &Model) -> Result<(), Problem> {
    match model.layers.iter().find_map(|l| l.unsupported.as_ref()) {
        Some(reason) => Err(Problem::Undeployable(reason.clone())),
        None => Ok(()),
    }
}

/// A model file's header and config, with no weights read: what the Pick screen shows while
/// browsing. Reads from disk only the zip directory and config (`.keras`) or the root
/// attributes (`.h5`).
pub fn header(path: &Path) -> Result<Model, KerasError> {
    let err = |problem: Problem| KerasError {
        path: path.to_path_buf(),
        problem,
    };
    let (file, size, format) = open_sniffed(path).map_err(err)?;
    match format {
        SourceFormat::KerasZip => {
            let a = archive::open_from(std::io::BufReader::new(file), size).map_err(err)?;
            build(format, &a.config, a.keras_version).map_err(err)
        }
        SourceFormat::LegacyH5 => {
            let h5 = h5::H5File::open(path).map_err(|e| {
                err(Problem::Hdf5 {
                    what: "HDF5 structure".into(),
                    reason: e.to_string(),
                })
            })?;
            let l = legacy::open(&h5).map_err(err)?;
            build(format, &l.config, l.keras_version).map_err(err)
        }
    }
}

/// Parameters the config declares (every weight shape's product), when every layer's
/// shapes are known.
pub fn declared_params(model: &Model) -> Option<usize> {
    model
        .layers
        .iter()
        .map(|l| {
            l.inferred.then(|| {
                l.expected_weights
                    .iter()
                    .map(|s| s.iter().product::<usize>())
                    .sum::<usize>()
            })
        })
        .sum()
}

/// The memory budget a model's config sets for reading its file.
pub fn budget(model: &Model) -> archive::Budget {
    let values: u128 = model
        .layers
        .iter()
        .filter(|l| l.inferred)
        .flat_map(|l| &l.expected_weights)
        .map(|s| s.iter().fold(1u128, |a, &d| a.saturating_mul(d as u128)))
        .fold(0u128, u128::saturating_add);
    archive::Budget {
        declared: u64::try_from(values.saturating_mul(4)).unwrap_or(u64::MAX),
    }
}

pub use archive::Budget;

fn read(bytes: Vec<u8>) -> Result<Model, Problem> {
    if bytes.is_empty() {
        return Err(Problem::Empty);
    }
    let format = sniff(&bytes).ok_or_else(|| Problem::UnknownFormat {
        head: describe_head(&bytes),
    })?;
    read_model(format, Held::Memory(bytes))
}

fn build(
    format: SourceFormat,
    config: &serde_json::Value,
    keras_version: Option<String>,
) -> Result<Model, Problem> {
    let mut model = Model {
        format,
        keras_version,
        root: config::parse_model(config)?,
        layers: Vec::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    if model.keras_major() == 2 {
        // Keras 2's hard_sigmoid is another formula than Keras 3's: name it apart.
        let mut renamed = config.clone();
        layers::rename_keras2_activations(&mut renamed);
        model.root = config::parse_model(&renamed)?;
    }
    let flat = flatten::flatten(&model.root)?;
    model.layers = flat.layers;
    model.inputs = flat.inputs;
    model.outputs = flat.outputs;
    Ok(model)
}

/// Each Keras `Normalization` layer becomes the BatchNormalization it computes:
/// `(x − mean) / max(sqrt(variance), 1e-7)` per feature is `(x − mean) / sqrt(variance)` with no
/// scale, centre or epsilon, the variance raised to at least 2^-32 (the smallest Q32.32 value,
/// so that a constant feature divides by 2^-16 instead of zero; Keras's 1e-7 is below what
/// Q32.32 holds). Its weights become `[mean, variance]` whether the file stored them (the
/// `count` adapt() saw is dropped: inference does not use it) or the config gave them.
fn normalization_as_batchnorm(model: &mut Model) -> Result<(), Problem> {
    const MIN_VARIANCE: f64 = 1.0 / 4_294_967_296.0;
    for layer in model
        .layers
        .iter_mut()
        .filter(|l| l.keras_class == "Normalization" && l.inferred && l.unsupported.is_none())
    {
        let ctx = layers::LayerCtx {
            name: &layer.name,
            class: &layer.keras_class,
            config: &layer.config,
        };
        let shape = layer.input_shapes.first().cloned().unwrap_or_default();
        let (dim, given) = layers::normalization_stats(&ctx, &shape)?;
        // Keras counts the weights the file holds (mean, variance, count), none when the
        // config gives the statistics.
        layer.keras_params = Some(layer.weights.iter().map(model::Tensor::len).sum());
        let (mean, variance) = match given {
            Some((m, v)) => (
                model::Tensor {
                    name: format!("{}/mean (config)", layer.name),
                    shape: vec![dim],
                    data: m.iter().map(|&x| x as f32).collect(),
                },
                model::Tensor {
                    name: format!("{}/variance (config)", layer.name),
                    shape: vec![dim],
                    data: v.iter().map(|&x| x as f32).collect(),
                },
            ),
            None => {
                let mut w = std::mem::take(&mut layer.weights).into_iter();
                match (w.next(), w.next()) {
                    (Some(m), Some(v)) => (m, v),
                    _ => {
                        return Err(Problem::Layer {
                            layer: layer.name.clone(),
                            class: layer.keras_class.clone(),
                            reason: "holds no mean and variance".into(),
                        });
                    }
                }
            }
        };
        let variance = model::Tensor {
            data: variance
                .data
                .iter()
                .map(|&v| (f64::from(v)).max(MIN_VARIANCE) as f32)
                .collect(),
            ..variance
        };
        let mut config = serde_json::Map::new();
        config.insert("name".into(), layer.name.clone().into());
        config.insert("axis".into(), serde_json::json!(-1));
        config.insert("momentum".into(), serde_json::json!(0.99));
        config.insert("epsilon".into(), serde_json::json!(0.0));
        config.insert("center".into(), false.into());
        config.insert("scale".into(), false.into());
        layer.config = config;
        layer.weights = vec![mean, variance];
        layer.expected_weights = vec![vec![dim], vec![dim]];
    }
    Ok(())
}

/// Every layer carries exactly the tensors its config implies, with matching shapes.
fn check_weights(model: &Model) -> Result<(), Problem> {
    for layer in model.layers.iter().filter(|l| l.inferred) {
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
