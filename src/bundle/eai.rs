//! The `model_graph` exactly as the EternalAI `eai` exporter (commit 18539248) writes it,
//! so that `hashed_model` is byte-identical to eai's.
//!
//! This mirrors eai's own walk over `model.to_json()`, quirks included, because the hash
//! commits to them:
//! - a layer's inbound shapes come from its `build_config`; a layer without one (an
//!   InputLayer, a Keras 3 Softmax) gets `"inbound_nodes": []`;
//! - a reference to a nested Functional model points at the index *after* its last layer;
//! - inside a Sequential model each layer links to the previous one.
//!
//! The links eternalize itself deploys and runs come from [`crate::keras::Model::layers`],
//! which follow the file; the README lists where the two differ.

use crate::keras::layers::{
    BIDIRECTIONAL, LayerCtx, TIME_DISTRIBUTED, batchnorm_axis, elu_alpha, relu_params,
    runs_backwards, step_shape, wrapped,
};
use crate::keras::model::{
    Body, Container, ContainerKind, Layer, Member, Model, Shape, SourceFormat, shape_to_json,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Builds eai's `{"layers": [...]}` for a model.
pub fn model_graph(model: &Model) -> Value {
    let mut w = Walker {
        model,
        keras2: model.keras_major() < 3,
        next: 0,
        names: Vec::new(),
        nested_end: HashMap::new(),
        out: Vec::new(),
    };
    w.container(&model.root);
    json!({ "layers": w.out })
}

struct Walker<'m> {
    model: &'m Model,
    keras2: bool,
    /// eai's `self.layer_idx`: the flat index of the next leaf layer.
    next: usize,
    /// eai's `self.layer_indices`: names of the leaf layers so far.
    names: Vec<String>,
    /// eai's `self.last_functional_layer_indices`.
    nested_end: HashMap<String, usize>,
    out: Vec<Value>,
}

impl<'m> Walker<'m> {
    fn layer(&self, idx: usize) -> &'m Layer {
        &self.model.layers[idx]
    }

    /// Output shapes of a container's `model.layers` (a Sequential's excludes its InputLayer),
    /// computed from the flat graph: a nested model's output is its last layer's.
    fn keras_layer_outputs(&self, c: &Container, first_flat: usize) -> Vec<Value> {
        let mut flat = first_flat;
        let mut out = Vec::new();
        for m in &c.members {
            let n = leaf_count(m);
            let is_input = m.class_name == "InputLayer";
            if n > 0 && !(c.kind == ContainerKind::Sequential && is_input) {
                out.push(shape_to_json(&self.layer(flat + n - 1).output_shape));
            }
            flat += n;
        }
        out
    }

    fn container(&mut self, c: &Container) {
        let keras_outputs = self.keras_layer_outputs(c, self.next);
        let mut prev_shape = Value::Null;
        let mut index_layer = 0usize;
        for (pos, m) in c.members.iter().enumerate() {
            match &m.body {
                Body::Nested(inner) => {
                    self.container(inner);
                    // Off by one in eai: the index *after* the nested model's last layer.
                    // eai cannot export a nested Sequential at all; for one we link its
                    // last layer, which is what the model computes.
                    let end = match inner.kind {
                        ContainerKind::Functional => self.next,
                        ContainerKind::Sequential => self.next.saturating_sub(1),
                    };
                    self.nested_end.insert(m.name.clone(), end);
                }
                Body::Leaf => {
                    let flat = self.next;
                    let layer = self.layer(flat);
                    self.names.push(layer.name.clone());
                    let mut inbound = match c.kind {
                        ContainerKind::Functional => self.functional_inbound(m, layer),
                        ContainerKind::Sequential => {
                            if pos == 0 {
                                prev_shape = if layer.keras_class == "InputLayer" {
                                    index_layer = 0;
                                    input_shape_json(layer)
                                } else {
                                    keras_outputs
                                        .get(index_layer)
                                        .cloned()
                                        .unwrap_or(Value::Null)
                                };
                                Vec::new()
                            } else {
                                let node = link(
                                    &self.names[flat - 1],
                                    flat - 1,
                                    prev_shape.clone(),
                                    Map::new(),
                                );
                                prev_shape = keras_outputs
                                    .get(index_layer)
                                    .cloned()
                                    .unwrap_or(Value::Null);
                                index_layer += 1;
                                vec![node]
                            }
                        }
                    };
                    if layer.keras_class == "InputLayer" && flat > 0 {
                        let shape = match c.kind {
                            ContainerKind::Functional => keras_outputs
                                .get(index_layer)
                                .cloned()
                                .unwrap_or(Value::Null),
                            // Beyond eai (which rejects nested Sequentials): the input's own shape.
                            ContainerKind::Sequential => input_shape_json(layer),
                        };
                        inbound = vec![link(&self.names[flat - 1], flat - 1, shape, Map::new())];
                    }
                    self.out.push(json!({
                        "idx": flat,
                        "name": layer.name,
                        "class_name": layer.class_name,
                        "layer_config": layer_config(layer),
                        "inbound_nodes": inbound,
                    }));
                    self.next += 1;
                }
            }
        }
    }

    /// The `build_config.input_shape` Keras reports for a layer after loading the file.
    fn build_input_shape(&self, m: &Member, layer: &Layer) -> Option<Value> {
        // MultiHeadAttention's build_config is a `shapes_dict` (query, value, key), not an
        // `input_shape`; eai has no such layer: its links are the inputs it is called on.
        if layer.keras_class == "MultiHeadAttention" {
            return Some(Value::Array(
                layer
                    .input_shapes
                    .iter()
                    .map(|s| shape_to_json(s))
                    .collect(),
            ));
        }
        if self.model.format == SourceFormat::KerasZip {
            return m.build_input_shape.clone();
        }
        // Legacy files carry no build_config; Keras adds one on load for every layer it
        // builds, which is not every layer (see `built_at_init`).
        if built_at_init(
            self.keras2,
            self.model.keras_version.as_deref(),
            &layer.keras_class,
        ) {
            return None;
        }
        Some(match layer.input_shapes.as_slice() {
            [one] => shape_to_json(one),
            many => Value::Array(many.iter().map(|s| shape_to_json(s)).collect()),
        })
    }

    fn functional_inbound(&self, m: &Member, layer: &Layer) -> Vec<Value> {
        let Some(inputs) = self.build_input_shape(m, layer) else {
            return Vec::new();
        };
        let Some(inputs) = inputs.as_array().cloned() else {
            return Vec::new();
        };
        if inputs.len() <= 1 {
            return Vec::new();
        }
        let Some(call) = m.calls.first() else {
            return Vec::new();
        };
        let mut kwargs = if self.keras2 {
            Map::new()
        } else {
            call.kwargs.clone()
        };
        // MultiHeadAttention's key tensor is its third link (query, value, key), not a keyword.
        if layer.keras_class == "MultiHeadAttention" {
            kwargs.remove("key");
        }
        if inputs[0].is_array() {
            inputs
                .iter()
                .zip(&call.args)
                .map(|(shape, arg)| {
                    let (name, idx) = self.resolve(&arg.layer);
                    link(&name, idx, shape.clone(), kwargs.clone())
                })
                .collect()
        } else {
            let shape = Value::Array(inputs);
            let args: Vec<&crate::keras::model::TensorRef> = if self.keras2 {
                call.args.iter().take(1).collect()
            } else {
                call.args.iter().collect()
            };
            let args: Vec<Value> = args
                .into_iter()
                .map(|arg| {
                    let (name, idx) = self.resolve(&arg.layer);
                    json!({ "name": name, "idx": idx, "shape": shape })
                })
                .collect();
            // eai builds this node as {"kwargs", "args"} in its Keras 2 path, {"args", "kwargs"}
            // in its Keras 3 path; the order shows in the file, not in the hash.
            let mut node = Map::new();
            if self.keras2 {
                node.insert("kwargs".into(), Value::Object(kwargs));
                node.insert("args".into(), Value::Array(args));
            } else {
                node.insert("args".into(), Value::Array(args));
                node.insert("kwargs".into(), Value::Object(kwargs));
            }
            vec![Value::Object(node)]
        }
    }

    /// eai's lookup of an inbound layer name: a nested model resolves to the (off-by-one)
    /// index after it; anything else to the first leaf of that name.
    fn resolve(&self, name: &str) -> (String, usize) {
        if let Some(&idx) = self.nested_end.get(name) {
            let resolved = self
                .names
                .get(idx)
                .cloned()
                .unwrap_or_else(|| name.to_string());
            return (resolved, idx);
        }
        let idx = self.names.iter().position(|n| n == name).unwrap_or(0);
        (name.to_string(), idx)
    }
}

/// Whether the Keras that wrote a file (and that eai runs in) writes no `build_config` for a
/// layer class: InputLayers never have one; Keras 3.0–3.4 marks Softmax built when it is made;
/// Keras 3.5+ does so for every layer without a `build` of its own (activations, pooling,
/// Dropout). Keras 2 builds all the others.
fn built_at_init(keras2: bool, keras_version: Option<&str>, class: &str) -> bool {
    if class == "InputLayer" {
        return true;
    }
    if keras2 {
        return false;
    }
    let mut parts = keras_version
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse::<u32>().ok());
    let (major, minor) = (parts.next().flatten(), parts.next().flatten());
    match (major, minor) {
        (Some(3), Some(minor)) if minor >= 5 => matches!(
            class,
            "Activation"
                | "ReLU"
                | "Softmax"
                | "MaxPooling2D"
                | "AveragePooling2D"
                | "GlobalAveragePooling1D"
                | "GlobalAveragePooling2D"
                | "Dropout"
                | "MaxPooling1D"
                | "AveragePooling1D"
                | "GlobalMaxPooling1D"
                | "GlobalMaxPooling2D"
        ),
        // Keras 3.0–3.4, or a Keras 3 file that does not say which.
        _ => class == "Softmax",
    }
}

fn leaf_count(m: &Member) -> usize {
    match &m.body {
        Body::Leaf => 1,
        Body::Nested(c) => c.members.iter().map(leaf_count).sum(),
    }
}

fn link(name: &str, idx: usize, shape: Value, kwargs: Map<String, Value>) -> Value {
    json!({ "args": [{ "name": name, "idx": idx, "shape": shape }], "kwargs": kwargs })
}

fn input_shape_json(layer: &Layer) -> Value {
    for field in ["batch_shape", "batch_input_shape"] {
        if let Some(v) = layer.config.get(field) {
            return v.clone();
        }
    }
    layer
        .input_shapes
        .first()
        .map(|s| shape_to_json(s))
        .unwrap_or(Value::Null)
}

/// The per-class subset of the Keras config that eai keeps (eai's `layers.py`), and ours for
/// classes eai lacks (it refuses their files: Conv1D, GRU, Multiply, Reshape,
/// GlobalAveragePooling1D, the classes of `keras::shapes` (their Keras keys), LayerNormalization,
/// GroupNormalization, MultiHeadAttention, and
/// `Activation('tanh')`, which it maps to a `Tanh` class it does not have). eai's rules, as they change the hash:
/// - `Activation(x)` becomes class `ReLU`, `Sigmoid`, `Softmax` or `Linear` (see
///   `keras::layers::graph_class`); ReLU, Sigmoid, Linear, Add, Flatten, Dropout and
///   GlobalAveragePooling2D keep `{}` (a ReLU layer's `max_value` too);
/// - Softmax keeps `{"axis": -1}` whatever the file says;
/// - Concatenate keeps `{"axis": min(axis, 2)}`;
/// - InputLayer keeps `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2) as
///   `batch_input_shape`; BatchNormalization the size of its axis as `input_dim`;
///   ZeroPadding2D its padding as `[top, bottom, left, right]`.
pub fn layer_config(layer: &Layer) -> Value {
    let mut v = eai_layer_config(layer);
    // Our extension: a recurrent layer that reads its sequence backwards says so (eai has no
    // go_backwards; a forward layer keeps eai's keys, and its hash).
    if matches!(layer.class_name.as_str(), "SimpleRNN" | "LSTM" | "GRU")
        && layer.config.get("go_backwards") == Some(&Value::Bool(true))
        && let Some(m) = v.as_object_mut()
    {
        m.insert("go_backwards".into(), Value::Bool(true));
    }
    v
}

/// A wrapper's config (our extension; eai has no wrappers): its wrapped layer as
/// `{"class_name", "config"}`, the config being that layer's own `layer_config` plus the keys
/// the contracts need that eai drops (`return_sequences`, `go_backwards`, `dilation_rate`).
/// A Bidirectional always carries both directions, `backward_layer` included (tf.keras 2 leaves
/// it out when it is the wrapped layer run the other way).
fn wrapper_config(layer: &Layer) -> Value {
    let ctx = LayerCtx {
        name: &layer.name,
        class: &layer.keras_class,
        config: &layer.config,
    };
    let inner =
        |class: &str, config: &Map<String, Value>, shapes: Vec<Shape>, back: Option<bool>| {
            let l = Layer {
                class_name: class.to_string(),
                keras_class: class.to_string(),
                config: config.clone(),
                input_shapes: shapes,
                ..layer.clone()
            };
            let mut cfg = eai_layer_config(&l);
            if let Some(m) = cfg.as_object_mut() {
                let extra: &[&str] = if back.is_some() {
                    &["return_sequences", "use_bias"]
                } else {
                    &["dilation_rate"]
                };
                for k in extra {
                    if let Some(x) = config.get(*k) {
                        m.insert((*k).to_string(), x.clone());
                    }
                }
                if let Some(b) = back {
                    m.insert("go_backwards".into(), Value::Bool(b));
                }
            }
            json!({ "class_name": class, "config": cfg })
        };
    match layer.class_name.as_str() {
        "TimeDistributed" => match wrapped(&ctx, "layer", TIME_DISTRIBUTED) {
            Ok((class, config)) => json!({
                "layer": inner(class, config, layer.input_shapes.iter().map(step_shape).collect(), None)
            }),
            Err(_) => json!({}),
        },
        _ => {
            let (Ok((class, config)), Ok(back_f), Ok(back_b)) = (
                wrapped(&ctx, "layer", BIDIRECTIONAL),
                runs_backwards(&ctx, 0),
                runs_backwards(&ctx, 1),
            ) else {
                return json!({});
            };
            let (bclass, bconfig) =
                wrapped(&ctx, "backward_layer", BIDIRECTIONAL).unwrap_or((class, config));
            json!({
                "merge_mode": layer.config.get("merge_mode").cloned().unwrap_or(json!("concat")),
                "layer": inner(class, config, layer.input_shapes.clone(), Some(back_f)),
                "backward_layer": inner(bclass, bconfig, layer.input_shapes.clone(), Some(back_b)),
            })
        }
    }
}

fn eai_layer_config(layer: &Layer) -> Value {
    let c = &layer.config;
    let pick = |keys: &[&str]| -> Value {
        let mut m = Map::new();
        for k in keys {
            m.insert((*k).to_string(), c.get(*k).cloned().unwrap_or(Value::Null));
        }
        Value::Object(m)
    };
    match layer.class_name.as_str() {
        "InputLayer" => json!({ "batch_input_shape": input_shape_json(layer) }),
        "Dense" => pick(&["units", "activation", "use_bias"]),
        // A grouped Conv2D keeps `groups` too (our extension; eai has no grouped convolution).
        "Conv2D" if c.get("groups").and_then(Value::as_i64).unwrap_or(1) > 1 => pick(&[
            "filters",
            "kernel_size",
            "strides",
            "padding",
            "activation",
            "use_bias",
            "groups",
        ]),
        "Conv2D" | "Conv1D" => pick(&[
            "filters",
            "kernel_size",
            "strides",
            "padding",
            "activation",
            "use_bias",
        ]),
        // Classes eai lacks (our extension): what their forward pass needs.
        "DepthwiseConv2D" => pick(&[
            "kernel_size",
            "strides",
            "padding",
            "depth_multiplier",
            "activation",
            "use_bias",
        ]),
        "SeparableConv2D" => pick(&[
            "filters",
            "kernel_size",
            "strides",
            "padding",
            "depth_multiplier",
            "activation",
            "use_bias",
        ]),
        "Conv2DTranspose" => pick(&[
            "filters",
            "kernel_size",
            "strides",
            "padding",
            "activation",
            "use_bias",
        ]),
        "MaxPooling2D" | "AveragePooling2D" => pick(&["pool_size", "strides", "padding"]),
        "Rescaling" => pick(&["scale", "offset"]),
        "Embedding" => pick(&["input_dim", "output_dim"]),
        "SimpleRNN" => pick(&["units", "activation"]),
        "LSTM" => pick(&["units", "activation", "recurrent_activation"]),
        "GRU" => pick(&["units", "activation", "recurrent_activation", "reset_after"]),
        // eai's Softmax ignores the file: always the last axis (so also for Activation('softmax'),
        // whose config has no axis at all).
        "Softmax" => json!({ "axis": -1 }),
        // eai's Concatenate caps the axis at 2: `min(axis, 2)`.
        "Concatenate" => {
            json!({ "axis": c.get("axis").and_then(Value::as_i64).map_or(Value::Null, |a| a.min(2).into()) })
        }
        "Reshape" => pick(&["target_shape"]),
        // Classes eai lacks: the keys the shape rules, the reference and the contracts read.
        "LayerNormalization" => pick(&["axis", "epsilon", "center", "scale", "rms_scaling"]),
        "GroupNormalization" => pick(&["groups", "axis", "epsilon", "center", "scale"]),
        "MultiHeadAttention" => pick(&[
            "num_heads",
            "key_dim",
            "value_dim",
            "use_bias",
            "output_shape",
            "attention_axes",
        ]),
        "TimeDistributed" | "Bidirectional" => wrapper_config(layer),
        // A plain ReLU keeps eai's `{}`; a capped, leaky or thresholded one (ReLU6, LeakyReLU,
        // `Activation('relu6')`, …) keeps its three parameters, our extension.
        "ReLU" => {
            let ctx = LayerCtx {
                name: &layer.name,
                class: &layer.keras_class,
                config: c,
            };
            match relu_params(&ctx) {
                Ok(p) if !p.is_plain() => Value::Object(p.to_config()),
                _ => json!({}),
            }
        }
        "BatchNormalization" => {
            let ctx = LayerCtx {
                name: &layer.name,
                class: &layer.keras_class,
                config: c,
            };
            let dim = layer
                .input_shapes
                .first()
                .and_then(|s| batchnorm_axis(&ctx, s.len()).ok().and_then(|a| s[a]))
                .map_or(Value::Null, Value::from);
            json!({
                "input_dim": dim,
                "momentum": c.get("momentum").cloned().unwrap_or(Value::Null),
                "epsilon": c.get("epsilon").cloned().unwrap_or(Value::Null),
            })
        }
        // Our extension: `Activation(f)` for the functions eai lacks keeps its name (Keras 2's
        // hard_sigmoid as `hard_sigmoid_keras2`, see `keras::layers::HARD_SIGMOID_KERAS2`);
        // ELU its alpha, PReLU its shared axes (alpha is a weight).
        "Activation" => pick(&["activation"]),
        "ELU" => {
            let ctx = LayerCtx {
                name: &layer.name,
                class: &layer.keras_class,
                config: c,
            };
            json!({ "alpha": elu_alpha(&ctx).map_or(Value::Null, Value::from) })
        }
        "PReLU" => pick(&["shared_axes"]),
        "ZeroPadding2D" => {
            let ctx = LayerCtx {
                name: &layer.name,
                class: &layer.keras_class,
                config: c,
            };
            let padding = ctx.zero_padding().map_or(Value::Null, |p| json!(p));
            json!({ "padding": padding, "data_format": c.get("data_format").cloned().unwrap_or(json!("channels_last")) })
        }
        // Ours (eai has none of these classes): Keras's own keys, so that a bundle reads back
        // through the same rules as the file (`keras::shapes`).
        "MaxPooling1D" | "AveragePooling1D" => pick(&["pool_size", "strides", "padding"]),
        "GlobalMaxPooling1D" | "GlobalMaxPooling2D" => pick(&["keepdims"]),
        "UpSampling1D" => pick(&["size"]),
        "UpSampling2D" => pick(&["size", "interpolation"]),
        "Cropping1D" | "Cropping2D" => pick(&["cropping"]),
        "ZeroPadding1D" => pick(&["padding"]),
        "Permute" => pick(&["dims"]),
        "RepeatVector" => pick(&["n"]),
        _ => json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::{built_at_init, layer_config};
    use crate::keras::layers::{LayerCtx, graph_class};
    use crate::keras::model::{Layer, WeightSource};
    use serde_json::{Value, json};

    /// A layer as the reader makes it from a Keras class and config.
    fn layer(class: &str, config: Value) -> Layer {
        let config = config.as_object().cloned().unwrap_or_default();
        let class_name = graph_class(&LayerCtx {
            name: "l",
            class,
            config: &config,
        })
        .unwrap();
        Layer {
            idx: 1,
            name: "l".into(),
            keras_class: class.into(),
            class_name,
            config,
            inputs: vec![0],
            input_shapes: vec![vec![None, Some(4)]],
            output_shape: vec![None, Some(4)],
            expected_weights: Vec::new(),
            weights: Vec::new(),
            source: WeightSource::default(),
            unsupported: None,
            inferred: true,
            keras_params: None,
        }
    }

    /// eai's class and `layer_config` for `Activation(name)`.
    fn activation(name: &str) -> (String, Value) {
        let l = layer(
            "Activation",
            json!({"name": "act", "trainable": true, "activation": name}),
        );
        let cfg = layer_config(&l);
        (l.class_name, cfg)
    }

    #[test]
    fn activation_relu_is_relu_with_no_config() {
        assert_eq!(activation("relu"), ("ReLU".into(), json!({})));
    }

    #[test]
    fn activation_sigmoid_is_sigmoid_with_no_config() {
        assert_eq!(activation("sigmoid"), ("Sigmoid".into(), json!({})));
    }

    #[test]
    fn activation_linear_is_linear_with_no_config() {
        assert_eq!(activation("linear"), ("Linear".into(), json!({})));
    }

    #[test]
    fn activation_softmax_is_softmax_over_the_last_axis() {
        // The Activation's config has no axis; eai writes -1, not null.
        assert_eq!(
            activation("softmax"),
            ("Softmax".into(), json!({"axis": -1}))
        );
    }

    #[test]
    fn activation_tanh_is_ours_since_eai_has_no_tanh_class() {
        assert_eq!(activation("tanh"), ("Tanh".into(), json!({})));
    }

    #[test]
    fn softmax_layer_writes_axis_minus_one_whatever_the_file_says() {
        for axis in [json!(-1), json!(1), json!(2), Value::Null] {
            let l = layer("Softmax", json!({"name": "s", "axis": axis}));
            assert_eq!(layer_config(&l), json!({"axis": -1}), "axis {axis}");
        }
    }

    #[test]
    fn plain_relu_layer_keeps_nothing_of_its_config() {
        let l = layer(
            "ReLU",
            json!({"max_value": null, "negative_slope": 0.0, "threshold": 0.0}),
        );
        assert_eq!(layer_config(&l), json!({}));
    }

    #[test]
    fn relu6_leaky_relu_keep_their_parameters_as_our_extension() {
        // eai keeps `{}` and so loses the cap; the bundle would predict a plain ReLU.
        let six = json!({"max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0});
        let l = layer("ReLU", six.clone());
        assert_eq!(layer_config(&l), six);
        assert_eq!(activation("relu6"), ("ReLU".into(), six));
        let leaky = layer("LeakyReLU", json!({"alpha": 0.1}));
        assert_eq!(leaky.class_name, "ReLU");
        assert_eq!(
            layer_config(&leaky),
            json!({"max_value": null, "negative_slope": 0.1, "threshold": 0.0})
        );
        assert_eq!(
            activation("leaky_relu"),
            (
                "ReLU".into(),
                json!({"max_value": null, "negative_slope": 0.2, "threshold": 0.0})
            )
        );
    }

    #[test]
    fn concatenate_axis_is_capped_at_two() {
        for (axis, want) in [(-1, -1), (1, 1), (2, 2), (3, 2), (4, 2)] {
            let l = layer("Concatenate", json!({"axis": axis}));
            assert_eq!(layer_config(&l), json!({"axis": want}), "axis {axis}");
        }
    }

    #[test]
    fn build_config_is_missing_as_each_keras_writes_it() {
        for class in ["Dense", "Activation", "Softmax", "MaxPooling2D", "Dropout"] {
            assert!(!built_at_init(true, Some("2.15.0"), class), "{class}");
        }
        assert!(built_at_init(true, Some("2.15.0"), "InputLayer"));
        assert!(built_at_init(false, Some("3.4.1"), "Softmax"));
        assert!(!built_at_init(false, Some("3.4.1"), "Activation"));
        for class in ["Activation", "ReLU", "Softmax", "MaxPooling2D", "Dropout"] {
            assert!(built_at_init(false, Some("3.15.1"), class), "{class}");
        }
        for class in [
            "Dense",
            "Flatten",
            "Reshape",
            "Concatenate",
            "BatchNormalization",
        ] {
            assert!(!built_at_init(false, Some("3.15.1"), class), "{class}");
        }
    }
}
