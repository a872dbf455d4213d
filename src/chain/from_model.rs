//! From a Keras model read from a file (and its bundle) to a [`ModelSpec`], with each layer's
//! config taken from the model's own Keras config (the route the on-chain inference tests use).

use serde_json::Value;

use super::ChainError;
use super::config::{LayerSource, Shape};
use super::image::{LayerEntry, ModelSpec};
use crate::bundle::Bundle;
use crate::keras::layers::{LayerCtx, relu_params};
use crate::keras::model::Model;

impl ModelSpec {
    /// The chain's view of `model`, whose bundle is `bundle` (weights and `hashed_model`).
    pub fn from_model(model: &Model, bundle: &Bundle) -> Result<ModelSpec, ChainError> {
        let configs: Vec<Value> = model
            .layers
            .iter()
            .map(|l| {
                let mut c = l.config.clone();
                // The config encoder takes ZeroPadding2D `padding` as an int or 4 ints; Keras
                // also writes ((top, bottom), (left, right)). Flatten it (same order).
                if l.class_name == "ZeroPadding2D"
                    && let Some(Value::Array(rows)) = c.get("padding").cloned()
                    && rows.iter().all(Value::is_array)
                {
                    let flat: Vec<Value> = rows
                        .iter()
                        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                        .collect();
                    c.insert("padding".into(), Value::Array(flat));
                }
                // ReLU6, LeakyReLU (Keras 2 `alpha`) and `Activation('relu6'|'leaky_relu')`
                // reach the ReLU encoder as its three keys.
                if l.class_name == "ReLU"
                    && let Ok(p) = relu_params(&LayerCtx {
                        name: &l.name,
                        class: &l.keras_class,
                        config: &l.config,
                    })
                {
                    c.extend(p.to_config());
                }
                Value::Object(c)
            })
            .collect();
        let to_shape =
            |s: &[Option<usize>]| -> Shape { s.iter().map(|d| d.map(|x| x as u64)).collect() };
        let shapes: Vec<Vec<Shape>> = model
            .layers
            .iter()
            .map(|l| l.input_shapes.iter().map(|s| to_shape(s)).collect())
            .collect();
        let outs: Vec<Shape> = model
            .layers
            .iter()
            .map(|l| to_shape(&l.output_shape))
            .collect();
        let mut entries = Vec::with_capacity(model.layers.len());
        for (i, l) in model.layers.iter().enumerate() {
            let inputs = l
                .inputs
                .iter()
                .map(|&j| {
                    u16::try_from(j).map_err(|_| {
                        ChainError::Bundle(format!(
                            "layer #{i} '{}' takes input from layer #{j}, beyond the {} layers a model links",
                            l.name,
                            u16::MAX
                        ))
                    })
                })
                .collect::<Result<Vec<u16>, ChainError>>()?;
            entries.push(LayerEntry {
                source: LayerSource {
                    name: &l.name,
                    class_name: &l.class_name,
                    config: &configs[i],
                    input_shapes: &shapes[i],
                    output_shape: Some(&outs[i]),
                },
                inputs,
                tensor_shapes: l
                    .weights
                    .iter()
                    .map(|t| t.shape.iter().map(|&d| d as u64).collect())
                    .collect(),
            });
        }
        let words = bundle.weights.iter().map(|w| w.lanes).collect();
        let mut spec = ModelSpec::build(&entries, words, &bundle.hashes().hashed_model())?;
        spec.fuse_pool_activations(&model.outputs);
        Ok(spec)
    }
}
