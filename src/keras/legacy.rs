//! Legacy HDF5 `.h5` files written by Keras 2 or 3: the config in the root attribute
//! `model_config`, weights at `model_weights/<layer>/<weight name>` in the order of each
//! group's `weight_names` attribute.

use super::error::Problem;
use super::h5::{Attr, H5File};
use super::model::{Layer, Tensor};
use serde_json::Value;

pub struct Legacy {
    pub config: Value,
    pub keras_version: Option<String>,
}

pub fn open(h5: &H5File) -> Result<Legacy, Problem> {
    let attr_str = |name: &str| -> Result<Option<String>, Problem> {
        match h5.attr("/", name).map_err(|e| Problem::Hdf5 {
            what: format!("root attribute {name}"),
            reason: e.to_string(),
        })? {
            Some(Attr::Str(s)) => Ok(Some(s)),
            Some(Attr::Strs(mut v)) if v.len() == 1 => Ok(v.pop()),
            Some(_) => Err(Problem::Hdf5 {
                what: format!("root attribute {name}"),
                reason: "is not a string".into(),
            }),
            None => Ok(None),
        }
    };
    let config_text = attr_str("model_config")?.ok_or_else(|| Problem::Hdf5 {
        what: "root attribute model_config".into(),
        reason: "missing: this HDF5 file holds no Keras model config (a weights-only file from save_weights cannot be exported alone)".into(),
    })?;
    let config: Value = serde_json::from_str(&config_text).map_err(|e| Problem::Json {
        what: "model_config".into(),
        reason: e.to_string(),
    })?;
    let keras_version = attr_str("keras_version")?;
    Ok(Legacy {
        config,
        keras_version,
    })
}

/// Reads every layer's weights. A nested model's layers share its group; its tensors are
/// handed out in layer order, as many to each layer as its config needs.
pub fn load_weights(h5: &H5File, layers: &mut [Layer]) -> Result<(), Problem> {
    let root = if h5.exists("/model_weights") {
        "/model_weights"
    } else {
        ""
    };
    let mut i = 0;
    while i < layers.len() {
        let group_name = layers[i].source.h5_group.clone();
        let mut j = i;
        while j < layers.len() && layers[j].source.h5_group == group_name {
            j += 1;
        }
        let members = &mut layers[i..j];
        let needed: usize = members.iter().map(|l| l.expected_weights.len()).sum();
        let group = format!("{root}/{group_name}");
        // A layer whose weight shapes are unknown (a class eternalize cannot follow) takes what
        // its own group holds.
        let uninferred = members.len() == 1 && !members[0].inferred;
        let tensors = if h5.exists(&group) {
            read_group(h5, &group, (!uninferred).then_some(needed))?
        } else {
            Vec::new()
        };
        if !h5.exists(&group) && needed > 0 {
            let first = members
                .iter()
                .find(|l| !l.expected_weights.is_empty())
                .unwrap_or(&members[0]);
            return Err(Problem::MissingWeights {
                layer: first.name.clone(),
                class: first.keras_class.clone(),
                group: group.trim_start_matches('/').to_string(),
                expected: needed,
            });
        }
        if tensors.len() != needed && !uninferred {
            let what = if members.len() == 1 {
                format!("layer '{}' ({})", members[0].name, members[0].keras_class)
            } else {
                format!("nested model '{group_name}'")
            };
            return Err(Problem::Hdf5 {
                what: group.trim_start_matches('/').to_string(),
                reason: format!(
                    "holds {} weight tensors, but {what} needs {needed}",
                    tensors.len()
                ),
            });
        }
        let mut it = tensors.into_iter();
        for layer in members.iter_mut() {
            let n = if layer.inferred {
                layer.expected_weights.len()
            } else {
                usize::MAX
            };
            layer.weights = it.by_ref().take(n).collect();
        }
        i = j;
    }
    Ok(())
}

/// The tensors `weight_names` lists; more than `needed` is refused before any is read.
fn read_group(h5: &H5File, group: &str, needed: Option<usize>) -> Result<Vec<Tensor>, Problem> {
    let what = || format!("{}: attribute weight_names", group.trim_start_matches('/'));
    let names = match h5.attr(group, "weight_names").map_err(|e| Problem::Hdf5 {
        what: what(),
        reason: e.to_string(),
    })? {
        Some(Attr::Strs(v)) => v,
        Some(Attr::Str(s)) => vec![s],
        // An empty list is written as a zero-length float64 array.
        Some(Attr::F64s(v)) if v.is_empty() => Vec::new(),
        Some(Attr::I64s(v)) if v.is_empty() => Vec::new(),
        None => Vec::new(),
        Some(_) => {
            return Err(Problem::Hdf5 {
                what: what(),
                reason: "is not a list of strings".into(),
            });
        }
    };
    if let Some(needed) = needed.filter(|&n| names.len() > n) {
        return Err(Problem::Hdf5 {
            what: what(),
            reason: format!(
                "lists {} weights, but the config needs {needed}; refusing to read more than the config declares",
                names.len()
            ),
        });
    }
    names
        .into_iter()
        .map(|name| {
            let path = format!("{group}/{name}");
            let a = h5.read_f32(&path).map_err(|e| Problem::Hdf5 {
                what: path.trim_start_matches('/').to_string(),
                reason: e.to_string(),
            })?;
            Ok(Tensor {
                name,
                shape: a.shape,
                data: a.data,
            })
        })
        .collect()
}
