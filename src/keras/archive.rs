//! Keras 3 `.keras` files: a zip of `config.json`, `metadata.json` and `model.weights.h5`,
//! whose weight groups are named by class and position (`layers/dense_1/vars/0`).

use super::error::Problem;
use super::h5::{H5File, NodeKind};
use super::model::Layer;
use serde_json::Value;
use std::io::{Cursor, Read};

/// What a `.keras` archive holds.
pub struct Archive {
    pub config: Value,
    pub keras_version: Option<String>,
    pub weights: H5File,
}

/// Refuse entries claiming more than this: a model file is never near it, a zip bomb is.
const MAX_ENTRY_BYTES: u64 = 8 << 30;

pub fn open(bytes: &[u8]) -> Result<Archive, Problem> {
    let size = bytes.len() as u64;
    let zip_err = |e: zip::result::ZipError| Problem::Zip {
        size,
        reason: e.to_string(),
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let mut read = |entry: &str| -> Result<Option<Vec<u8>>, Problem> {
        let mut file = match zip.by_name(entry) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(zip_err(e)),
        };
        let declared = file.size();
        if declared > MAX_ENTRY_BYTES {
            return Err(Problem::Zip {
                size,
                reason: format!(
                    "entry {entry} claims {declared} bytes, more than the {MAX_ENTRY_BYTES} allowed"
                ),
            });
        }
        let mut out = Vec::with_capacity(declared.min(size.saturating_mul(4)) as usize);
        file.by_ref()
            .take(declared + 1)
            .read_to_end(&mut out)
            .map_err(|e| Problem::Zip {
                size,
                reason: format!("entry {entry}: {e}"),
            })?;
        if out.len() as u64 != declared {
            return Err(Problem::Zip {
                size,
                reason: format!(
                    "entry {entry} holds {} bytes but its header says {declared}",
                    out.len()
                ),
            });
        }
        Ok(Some(out))
    };
    let missing = |entry: &str| Problem::MissingEntry {
        entry: entry.to_string(),
        entries: if names.is_empty() {
            "nothing".into()
        } else {
            names.join(", ")
        },
    };
    let config_bytes = read("config.json")?.ok_or_else(|| missing("config.json"))?;
    let weights_bytes = read("model.weights.h5")?.ok_or_else(|| missing("model.weights.h5"))?;
    let metadata = read("metadata.json")?;

    let config: Value = serde_json::from_slice(&config_bytes).map_err(|e| Problem::Json {
        what: "config.json".into(),
        reason: e.to_string(),
    })?;
    let keras_version = match metadata {
        Some(m) => serde_json::from_slice::<Value>(&m)
            .map_err(|e| Problem::Json {
                what: "metadata.json".into(),
                reason: e.to_string(),
            })?
            .get("keras_version")
            .and_then(Value::as_str)
            .map(str::to_string),
        None => None,
    };
    let weights = H5File::from_bytes(weights_bytes).map_err(|e| Problem::Hdf5 {
        what: "model.weights.h5".into(),
        reason: e.to_string(),
    })?;
    Ok(Archive {
        config,
        keras_version,
        weights,
    })
}

/// Reads every layer's weights from `model.weights.h5`: `<group>/vars/<i>` in numeric order,
/// then `<group>/cell/vars/<i>` for recurrent layers.
pub fn load_weights(h5: &H5File, layers: &mut [Layer]) -> Result<(), Problem> {
    let h5err = |what: String, e: super::h5::H5Error| Problem::Hdf5 {
        what,
        reason: e.to_string(),
    };
    for layer in layers.iter_mut() {
        let group = format!("/{}", layer.source.zip_path);
        if layer.source.zip_path.is_empty() || !h5.exists(&group) {
            if layer.expected_weights.is_empty() {
                continue;
            }
            return Err(Problem::MissingWeights {
                layer: layer.name.clone(),
                class: layer.keras_class.clone(),
                group: format!("model.weights.h5:{group}"),
                expected: layer.expected_weights.len(),
            });
        }
        for vars in [format!("{group}/vars"), format!("{group}/cell/vars")] {
            if !h5.exists(&vars) {
                continue;
            }
            let mut members: Vec<(usize, String)> = Vec::new();
            for (name, kind) in h5
                .children(&vars)
                .map_err(|e| h5err(format!("model.weights.h5:{vars}"), e))?
            {
                let index = name
                    .parse::<usize>()
                    .ok()
                    .filter(|_| matches!(kind, NodeKind::Dataset));
                match index {
                    Some(i) => members.push((i, name)),
                    None => {
                        return Err(Problem::Hdf5 {
                            what: format!("model.weights.h5:{vars}/{name}"),
                            reason: "expected numbered weight datasets (0, 1, 2, …)".into(),
                        });
                    }
                }
            }
            // Stored in string order (0, 1, 10, 2…); Keras's order is numeric.
            members.sort();
            for (_, name) in members {
                let path = format!("{vars}/{name}");
                let a = h5
                    .read_f32(&path)
                    .map_err(|e| h5err(format!("model.weights.h5:{path}"), e))?;
                layer.weights.push(super::model::Tensor {
                    name: path.trim_start_matches('/').to_string(),
                    shape: a.shape,
                    data: a.data,
                });
            }
        }
    }
    Ok(())
}
