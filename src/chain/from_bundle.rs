//! From a bundle (and, when at hand, the Keras model it came from) to a [`ModelSpec`].
//!
//! Links, shapes and tensor sizes come from the bundle's own `eternalize` section — the graph as
//! the file defines it, not eai's `inbound_nodes` (which are off by one around nested models and
//! empty for some Keras 3 layers); for a bundle eai wrote, the section rebuilt from its graph
//! where that tells enough (`bundle::eai_graph`). Configs come from eai's `layer_config`, plus
//! the Keras config keys eai drops when the model is given.

use serde_json::{Map, Value};

use super::ChainError;
use super::config::{LayerSource, Shape};
use super::image::{LayerEntry, ModelSpec};
use crate::bundle::Bundle;
use crate::keras::model::Model;

/// Keras config keys the layer contracts need (or must refuse) but eai's `layer_config` subset
/// leaves out.
const EXTRA_KEYS: [&str; 9] = [
    "dilation_rate",
    "go_backwards",
    "return_sequences",
    "reset_after",
    "scale",
    "center",
    "max_value",
    "negative_slope",
    "threshold",
];

fn shape(v: &Value) -> Option<Shape> {
    v.as_array()?
        .iter()
        .map(|d| {
            if d.is_null() {
                Some(None)
            } else {
                d.as_u64().map(Some)
            }
        })
        .collect()
}

struct Meta {
    name: String,
    class_name: String,
    config: Value,
    inputs: Vec<u16>,
    input_shapes: Vec<Shape>,
    output_shape: Option<Shape>,
    tensor_shapes: Vec<Vec<u64>>,
    tensor_offsets: Vec<u64>,
}

impl ModelSpec {
    /// The spec of a bundle written by eternalize. `model` supplies the Keras config fields eai
    /// drops (`return_sequences`, …); without it Keras defaults apply, except RNN
    /// `return_sequences`, which the output shape decides.
    pub fn from_bundle(bundle: &Bundle, model: Option<&Model>) -> Result<ModelSpec, ChainError> {
        let meta_layers = bundle.meta_layers().ok_or_else(|| {
            ChainError::Bundle(
                "the bundle has no \"eternalize\" section (links, shapes, tensor offsets) and its model_graph could not be read back; export the model file with `eternalize export` and deploy that"
                    .into(),
            )
        })?;
        let graph_layers = bundle
            .graph
            .get("layers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if graph_layers.len() != meta_layers.len() {
            return Err(ChainError::Bundle(format!(
                "model_graph has {} layers but the eternalize section has {}",
                graph_layers.len(),
                meta_layers.len()
            )));
        }
        let mut metas = Vec::with_capacity(meta_layers.len());
        for (i, (m, g)) in meta_layers.iter().zip(&graph_layers).enumerate() {
            let bad =
                |what: &str| ChainError::Bundle(format!("eternalize section, layer #{i}: {what}"));
            let name = m
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("no name"))?
                .to_string();
            let class_name = m
                .get("class_name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("no class_name"))?
                .to_string();
            let inputs = m
                .get("inputs")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("no inputs"))?
                .iter()
                .map(|v| v.as_u64().and_then(|x| u16::try_from(x).ok()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("inputs must be layer positions"))?;
            let input_shapes = m
                .get("input_shapes")
                .and_then(Value::as_array)
                .map(|l| l.iter().map(shape).collect::<Option<Vec<_>>>())
                .unwrap_or(Some(Vec::new()))
                .ok_or_else(|| bad("input_shapes must be lists of sizes or null"))?;
            let output_shape = m.get("output_shape").and_then(shape);
            let mut tensor_shapes = Vec::new();
            let mut tensor_offsets = Vec::new();
            for t in m
                .get("weights")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let dims = t
                    .get("shape")
                    .and_then(Value::as_array)
                    .and_then(|d| d.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| bad("a weight tensor has no shape"))?;
                let offset = t
                    .get("offset")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad("a weight tensor has no offset"))?;
                tensor_shapes.push(dims);
                tensor_offsets.push(offset * 4);
            }
            let mut config = g
                .get("layer_config")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new()));
            // eai's `axis` is not the file's (Softmax: always -1; Concatenate: capped at 2): the
            // contracts take the axis the model computes with, from the Keras config we keep,
            // counted from the end (axis 1 of a rank-2 input is -1), so that one computation
            // has one encoding whether the file or eai's graph says it.
            let eai_axis = matches!(class_name.as_str(), "Softmax" | "Concatenate");
            if let (true, Some(axis), Some(obj)) = (
                eai_axis,
                m.get("config")
                    .and_then(|c| c.get("axis"))
                    .and_then(Value::as_i64),
                config.as_object_mut(),
            ) {
                let rank = input_shapes.first().map_or(0, Vec::len) as i64;
                let axis = if axis >= 0 && axis < rank {
                    axis - rank
                } else {
                    axis
                };
                obj.insert("axis".into(), Value::from(axis));
            }
            if let (Some(keras), Some(obj)) = (
                model.and_then(|md| md.layers.get(i)),
                config.as_object_mut(),
            ) {
                for key in EXTRA_KEYS {
                    if let (false, Some(v)) = (obj.contains_key(key), keras.config.get(key)) {
                        obj.insert(key.to_string(), v.clone());
                    }
                }
            }
            metas.push(Meta {
                name,
                class_name,
                config,
                inputs,
                input_shapes,
                output_shape,
                tensor_shapes,
                tensor_offsets,
            });
        }
        let entries: Vec<LayerEntry<'_>> = metas
            .iter()
            .map(|m| LayerEntry {
                source: LayerSource {
                    name: &m.name,
                    class_name: &m.class_name,
                    config: &m.config,
                    input_shapes: &m.input_shapes,
                    output_shape: m.output_shape.as_deref(),
                },
                inputs: m.inputs.clone(),
                tensor_shapes: m.tensor_shapes.clone(),
            })
            .collect();
        let words = bundle.weights.iter().map(|w| w.lanes).collect();
        let mut spec = ModelSpec::build(&entries, words, &bundle.hashes().hashed_model())?;
        for (l, m) in spec.layers.iter().zip(&metas) {
            let ours: Vec<u64> = l.tensors.iter().map(|t| t.offset).collect();
            if ours != m.tensor_offsets {
                return Err(ChainError::Bundle(format!(
                    "layer '{}': the eternalize section puts its tensors at value slots {:?}, the weights lay them out at {ours:?}",
                    l.name, m.tensor_offsets
                )));
            }
        }
        let outputs: Vec<usize> = bundle
            .meta
            .get("outputs")
            .and_then(Value::as_array)
            .map(|o| {
                o.iter()
                    .filter_map(|x| x.as_u64().map(|n| n as usize))
                    .collect()
            })
            .unwrap_or_default();
        spec.fuse_pool_activations(&outputs);
        Ok(spec)
    }
}
