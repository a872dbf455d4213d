//! What eternalize knows about each Keras layer class: whether it is supported, its name in
//! the exported graph, the output shape it produces and the weight tensors it must carry.
//!
//! Owns the per-class rules. Must not touch: files, the bundle format.

use super::error::Problem;
use super::model::{Dim, Shape};
use serde_json::{Map, Value};

/// Keras classes eternalize reads, in the order they are listed to users.
pub const SUPPORTED: &[&str] = &[
    "InputLayer",
    "Dense",
    "Flatten",
    "Rescaling",
    "Conv1D",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "ZeroPadding2D",
    "BatchNormalization",
    "Embedding",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Softmax",
    "ReLU",
    "LeakyReLU",
    "Activation",
    "Add",
    "Multiply",
    "Concatenate",
    "Dropout",
    "Reshape",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "UpSampling1D",
    "UpSampling2D",
    "Cropping1D",
    "Cropping2D",
    "ZeroPadding1D",
    "Permute",
    "RepeatVector",
    "Subtract",
    "Average",
    "Maximum",
    "Minimum",
    "PReLU",
    "ELU",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "Conv2DTranspose",
    "LayerNormalization",
    "GroupNormalization",
    "MultiHeadAttention",
    "TimeDistributed",
    "Bidirectional",
    "Normalization",
];

/// Classes that are the identity at inference (noise, dropout and regularization layers act
/// only in training; `Identity` always): the graph holds each as a `Dropout`, which every
/// consumer (reference, chain, bundle) passes through. The layer keeps its Keras class for
/// display.
pub const INFERENCE_IDENTITY: &[&str] = &[
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "ActivityRegularization",
    "Identity",
];

/// Activations a layer may name (`Activation(x)`, `Dense(activation=x)`, …), with the class
/// an `Activation(x)` layer becomes in the graph.
pub const ACTIVATIONS: &[(&str, &str)] = &[
    ("relu", "ReLU"),
    ("relu6", "ReLU"),
    ("leaky_relu", "ReLU"),
    ("sigmoid", "Sigmoid"),
    ("softmax", "Softmax"),
    ("linear", "Linear"),
    ("tanh", "Tanh"),
    // eternalize's additions: one elementwise-function layer kind on chain (ELULayer), the
    // `Activation` class in the graph (src/infer/activations.rs holds the functions).
    ("elu", "Activation"),
    ("selu", "Activation"),
    ("gelu", "Activation"),
    ("gelu_approximate", "Activation"),
    ("silu", "Activation"),
    ("swish", "Activation"),
    ("hard_silu", "Activation"),
    ("hard_swish", "Activation"),
    ("hard_sigmoid", "Activation"),
    ("hard_sigmoid_keras2", "Activation"),
    ("softplus", "Activation"),
    ("softsign", "Activation"),
    ("exponential", "Activation"),
    ("mish", "Activation"),
    ("log_softmax", "Activation"),
];

/// tf.keras 2's `hard_sigmoid` (clip(0.2x + 0.5, 0, 1)) is not Keras 3's (relu6(x + 3) / 6):
/// the reader renames it in files Keras 2 wrote, so the graph, the bundle and the chain carry
/// the formula the file was trained with.
pub const HARD_SIGMOID_KERAS2: &str = "hard_sigmoid_keras2";

/// Renames `hard_sigmoid` to [`HARD_SIGMOID_KERAS2`] in every `activation` and
/// `recurrent_activation` of a model config Keras 2 wrote (nested models included).
pub fn rename_keras2_activations(config: &mut Value) {
    match config {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if matches!(k.as_str(), "activation" | "recurrent_activation")
                    && v.as_str() == Some("hard_sigmoid")
                {
                    *v = Value::from(HARD_SIGMOID_KERAS2);
                } else {
                    rename_keras2_activations(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rename_keras2_activations),
        _ => {}
    }
}

/// Classes that hold nested layers rather than being layers themselves.
pub fn is_container(class: &str) -> bool {
    matches!(class, "Functional" | "Sequential" | "Model")
}

/// Reads fields of one layer's config, naming the layer in every error.
pub struct LayerCtx<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub config: &'a Map<String, Value>,
}

impl LayerCtx<'_> {
    pub fn err(&self, field: &str, reason: impl Into<String>) -> Problem {
        Problem::LayerConfig {
            layer: self.name.to_string(),
            class: self.class.to_string(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn layer_err(&self, reason: impl Into<String>) -> Problem {
        Problem::Layer {
            layer: self.name.to_string(),
            class: self.class.to_string(),
            reason: reason.into(),
        }
    }

    pub(super) fn get(&self, field: &str) -> Option<&Value> {
        self.config.get(field).filter(|v| !v.is_null())
    }

    pub fn usize(&self, field: &str) -> Result<usize, Problem> {
        match self.get(field) {
            Some(v) => v.as_u64().map(|n| n as usize).ok_or_else(|| {
                self.err(field, format!("expected a non-negative integer, found {v}"))
            }),
            None => Err(self.err(field, "missing")),
        }
    }

    pub fn i64_or(&self, field: &str, default: i64) -> Result<i64, Problem> {
        match self.get(field) {
            Some(v) => v
                .as_i64()
                .ok_or_else(|| self.err(field, format!("expected an integer, found {v}"))),
            None => Ok(default),
        }
    }

    pub fn bool_or(&self, field: &str, default: bool) -> Result<bool, Problem> {
        match self.get(field) {
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.err(field, format!("expected true or false, found {v}"))),
            None => Ok(default),
        }
    }

    pub fn str_or<'b>(&'b self, field: &str, default: &'b str) -> Result<&'b str, Problem> {
        match self.get(field) {
            Some(v) => v
                .as_str()
                .ok_or_else(|| self.err(field, format!("expected a string, found {v}"))),
            None => Ok(default),
        }
    }

    /// An int or a list of `n` ints (Keras accepts both for kernel sizes and strides).
    pub fn tuple(&self, field: &str, n: usize) -> Result<Vec<usize>, Problem> {
        let v = self.get(field).ok_or_else(|| self.err(field, "missing"))?;
        self.tuple_of(field, v, n)
    }

    fn tuple_of(&self, field: &str, v: &Value, n: usize) -> Result<Vec<usize>, Problem> {
        if let Some(k) = v.as_u64() {
            return Ok(vec![k as usize; n]);
        }
        let items = v.as_array().ok_or_else(|| {
            self.err(
                field,
                format!("expected an integer or a list of {n}, found {v}"),
            )
        })?;
        if items.len() != n {
            return Err(self.err(field, format!("expected {n} values, found {}", items.len())));
        }
        items
            .iter()
            .map(|x| {
                x.as_u64().map(|k| k as usize).ok_or_else(|| {
                    self.err(field, format!("expected non-negative integers, found {x}"))
                })
            })
            .collect()
    }

    /// An activation name this tool can evaluate.
    pub fn activation(&self, field: &str) -> Result<&str, Problem> {
        let name = self.str_or(field, "linear")?;
        if ACTIVATIONS.iter().any(|(a, _)| *a == name) {
            Ok(name)
        } else {
            Err(self.err(
                field,
                format!(
                    "activation '{name}' is not supported; supported: {}",
                    ACTIVATIONS
                        .iter()
                        .map(|(a, _)| *a)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }

    pub(crate) fn channels_last(&self) -> Result<(), Problem> {
        match self.str_or("data_format", "channels_last")? {
            "channels_last" => Ok(()),
            other => Err(self.err(
                "data_format",
                format!("'{other}' is not supported; only channels_last"),
            )),
        }
    }

    pub(crate) fn padding(&self) -> Result<&str, Problem> {
        match self.str_or("padding", "valid")? {
            p @ ("valid" | "same") => Ok(p),
            "causal" if self.class == "Conv1D" => Ok("causal"),
            other => Err(self.err(
                "padding",
                format!("'{other}' is not supported; use valid or same"),
            )),
        }
    }

    /// `ZeroPadding2D.padding` as `[top, bottom, left, right]`.
    pub fn zero_padding(&self) -> Result<[usize; 4], Problem> {
        let v = self
            .get("padding")
            .ok_or_else(|| self.err("padding", "missing"))?;
        if let Some(k) = v.as_u64() {
            let k = k as usize;
            return Ok([k, k, k, k]);
        }
        let items = v.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
            self.err(
                "padding",
                format!("expected [[top, bottom], [left, right]], found {v}"),
            )
        })?;
        let h = self.tuple_of("padding", &items[0], 2)?;
        let w = self.tuple_of("padding", &items[1], 2)?;
        Ok([h[0], h[1], w[0], w[1]])
    }
}

/// The class a layer has in the exported graph: `Activation(x)` becomes the class named for
/// its activation (eai's mapping); every other class keeps its name.
pub fn graph_class(ctx: &LayerCtx) -> Result<String, Problem> {
    if ctx.class == "Activation" {
        let act = ctx.activation("activation")?;
        let mapped = ACTIVATIONS
            .iter()
            .find(|(a, _)| *a == act)
            .map(|(_, c)| *c)
            .unwrap_or("Linear");
        return Ok(mapped.to_string());
    }
    if ctx.class == "LeakyReLU" {
        // One piecewise-linear kind on chain: LeakyReLU is a ReLU with a negative slope.
        return Ok("ReLU".to_string());
    }
    if INFERENCE_IDENTITY.contains(&ctx.class) {
        return Ok("Dropout".to_string());
    }
    if ctx.class == "Normalization" {
        // `(x − mean) / sqrt(variance)` per feature: a BatchNormalization without scale or
        // centre (`normalization_as_batchnorm` rewrites its config and weights).
        return Ok("BatchNormalization".to_string());
    }
    if SUPPORTED.contains(&ctx.class) {
        Ok(ctx.class.to_string())
    } else {
        Err(Problem::Unsupported {
            layer: ctx.name.to_string(),
            class: ctx.class.to_string(),
            supported: SUPPORTED.join(", "),
        })
    }
}

/// The parameters of Keras's piecewise-linear `relu` (`keras.activations.relu`):
/// `y = min(x, max_value)` for `x > threshold`, else `negative_slope · (x − threshold)`.
/// Every ReLU-like layer of the graph is one of these.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReluParams {
    pub max_value: Option<f64>,
    pub negative_slope: f64,
    pub threshold: f64,
}

impl ReluParams {
    /// Plain `max(x, 0)`: the only ReLU eai knows (its bundles keep `{}` for it).
    pub fn is_plain(&self) -> bool {
        self.max_value.is_none() && self.negative_slope == 0.0 && self.threshold == 0.0
    }

    /// The config keys a bundle keeps for a ReLU that is not plain (our extension of eai).
    pub fn to_config(self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "max_value".into(),
            self.max_value.map_or(Value::Null, Value::from),
        );
        m.insert("negative_slope".into(), Value::from(self.negative_slope));
        m.insert("threshold".into(), Value::from(self.threshold));
        m
    }
}

/// The [`ReluParams`] of a `ReLU` layer, a `LeakyReLU` layer (Keras 3 `negative_slope`, Keras 2
/// `alpha`, default 0.3), an `Activation` of `relu`/`relu6`/`leaky_relu` (Keras 3's default slope
/// 0.2), or a bundle's `ReLU` whose config holds the three keys. Keras's own range checks apply.
pub fn relu_params(ctx: &LayerCtx) -> Result<ReluParams, Problem> {
    let plain = ReluParams {
        max_value: None,
        negative_slope: 0.0,
        threshold: 0.0,
    };
    if ctx.get("activation").is_some() {
        return match ctx.activation("activation")? {
            "relu6" => Ok(ReluParams {
                max_value: Some(6.0),
                ..plain
            }),
            "leaky_relu" => Ok(ReluParams {
                negative_slope: 0.2,
                ..plain
            }),
            _ => Ok(plain),
        };
    }
    let num = |field: &str, default: f64| -> Result<f64, Problem> {
        match ctx.get(field) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| ctx.err(field, format!("must be a number ≥ 0, found {v}"))),
        }
    };
    let slope_default = if ctx.class == "LeakyReLU" { 0.3 } else { 0.0 };
    let negative_slope = match ctx.get("alpha") {
        Some(_) => num("alpha", slope_default)?,
        None => num("negative_slope", slope_default)?,
    };
    let max_value = match ctx.get("max_value") {
        None => None,
        Some(_) => Some(num("max_value", 0.0)?),
    };
    Ok(ReluParams {
        max_value,
        negative_slope,
        threshold: num("threshold", 0.0)?,
    })
}

/// `ELU`'s `alpha` (default 1.0): any finite number, as Keras takes it.
pub fn elu_alpha(ctx: &LayerCtx) -> Result<f64, Problem> {
    match ctx.get("alpha") {
        None => Ok(1.0),
        Some(v) => v
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| ctx.err("alpha", format!("must be a number, found {v}"))),
    }
}

/// The shape of `PReLU`'s alpha for an input of shape `s` (batch axis first): the input's
/// shape without the batch axis, 1 on every axis of `shared_axes` (1-based, as Keras counts).
pub fn prelu_alpha_shape(ctx: &LayerCtx, s: &Shape) -> Result<Vec<usize>, Problem> {
    let mut alpha = Vec::with_capacity(s.len().saturating_sub(1));
    for i in 1..s.len() {
        alpha.push(known(ctx, s, i, "input size")?);
    }
    if let Some(axes) = ctx.get("shared_axes") {
        let list: Vec<Value> = match axes {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for a in &list {
            let slot = a
                .as_i64()
                .filter(|&a| a >= 1)
                .and_then(|a| alpha.get_mut(a as usize - 1))
                .ok_or_else(|| {
                    ctx.err(
                        "shared_axes",
                        format!("{a} is not an axis of an input of rank {}", s.len()),
                    )
                })?;
            *slot = 1;
        }
    }
    Ok(alpha)
}

/// The shape a model input declares (`batch_shape` in Keras 3, `batch_input_shape` in 2).
pub fn declared_input_shape(ctx: &LayerCtx) -> Result<Option<Shape>, Problem> {
    for field in ["batch_shape", "batch_input_shape"] {
        if let Some(v) = ctx.config.get(field).filter(|v| !v.is_null()) {
            return parse_shape(v).map(Some).ok_or_else(|| {
                ctx.err(
                    field,
                    format!("expected a list of integers or nulls, found {v}"),
                )
            });
        }
    }
    Ok(None)
}

/// `[null, 28, 28, 1]` → shape.
pub fn parse_shape(v: &Value) -> Option<Shape> {
    v.as_array()?
        .iter()
        .map(|d| {
            if d.is_null() {
                Some(None)
            } else {
                d.as_u64().map(|n| Some(n as usize))
            }
        })
        .collect()
}

fn known(ctx: &LayerCtx, shape: &Shape, axis: usize, what: &str) -> Result<usize, Problem> {
    shape.get(axis).copied().flatten().ok_or_else(|| {
        ctx.layer_err(format!(
            "needs a known {what} (axis {axis}) in its input shape {}",
            super::model::shape_to_string(shape)
        ))
    })
}

pub(crate) fn rank(ctx: &LayerCtx, shape: &Shape, want: usize) -> Result<(), Problem> {
    if shape.len() == want {
        Ok(())
    } else {
        Err(ctx.layer_err(format!(
            "expects inputs of rank {want} (batch included), got {}",
            super::model::shape_to_string(shape)
        )))
    }
}

/// Output length of a sliding window (convolution or pooling) along one axis.
pub(crate) fn window_out(
    ctx: &LayerCtx,
    len: Dim,
    k: usize,
    stride: usize,
    dilation: usize,
    padding: &str,
) -> Result<Dim, Problem> {
    let Some(len) = len else { return Ok(None) };
    if stride == 0 {
        return Err(ctx.err("strides", "must be at least 1"));
    }
    let span = dilation.max(1) * (k.max(1) - 1) + 1;
    Ok(Some(match padding {
        "same" | "causal" => len.div_ceil(stride),
        _ => {
            if len < span {
                return Err(ctx.layer_err(format!(
                    "window of {span} does not fit an input of length {len} with padding 'valid'"
                )));
            }
            (len - span) / stride + 1
        }
    }))
}

/// The single input shape of a one-input layer.
pub(crate) fn one<'s>(ctx: &LayerCtx, inputs: &'s [Shape]) -> Result<&'s Shape, Problem> {
    match inputs {
        [s] => Ok(s),
        _ => Err(ctx.layer_err(format!("takes one input, got {}", inputs.len()))),
    }
}

/// Output shape of a layer given its input shapes.
pub fn output_shape(ctx: &LayerCtx, inputs: &[Shape]) -> Result<Shape, Problem> {
    let class = if ctx.class == "Activation" {
        "ReLU"
    } else {
        ctx.class
    };
    if let Some(shape) = super::shapes::output_shape(ctx, inputs) {
        return shape;
    }
    if matches!(class, "ReLU" | "LeakyReLU") {
        relu_params(ctx)?;
    }
    match class {
        "InputLayer" | "Rescaling" | "Dropout" | "ReLU" | "LeakyReLU" | "Softmax"
        | "BatchNormalization" => Ok(one(ctx, inputs)?.clone()),
        c if INFERENCE_IDENTITY.contains(&c) => Ok(one(ctx, inputs)?.clone()),
        "Normalization" => {
            let s = one(ctx, inputs)?;
            normalization_stats(ctx, s)?;
            Ok(s.clone())
        }
        "ELU" => {
            elu_alpha(ctx)?;
            Ok(one(ctx, inputs)?.clone())
        }
        "PReLU" => {
            let s = one(ctx, inputs)?;
            prelu_alpha_shape(ctx, s)?;
            Ok(s.clone())
        }
        "LayerNormalization" | "GroupNormalization" => {
            Ok(super::attention::norm_shapes(ctx, one(ctx, inputs)?)?.0)
        }
        "MultiHeadAttention" => Ok(super::attention::mha_shapes(ctx, inputs)?.0),
        "Dense" => {
            let s = one(ctx, inputs)?;
            ctx.activation("activation")?;
            if s.len() < 2 {
                return Err(ctx.layer_err("needs inputs of rank ≥ 2"));
            }
            let mut out = s.clone();
            *out.last_mut().unwrap_or(&mut None) = Some(ctx.usize("units")?);
            Ok(out)
        }
        "Flatten" => {
            let s = one(ctx, inputs)?;
            let mut n: Option<usize> = Some(1);
            for d in &s[1..] {
                n = match (n, d) {
                    (Some(a), Some(b)) => a.checked_mul(*b),
                    _ => None,
                };
            }
            Ok(vec![s.first().copied().flatten(), n])
        }
        "Conv1D" | "Conv2D" => {
            // One spatial axis for Conv1D, two for Conv2D; channels last.
            let n = if class == "Conv1D" { 1 } else { 2 };
            let s = one(ctx, inputs)?;
            rank(ctx, s, n + 2)?;
            ctx.channels_last()?;
            ctx.activation("activation")?;
            let k = ctx.tuple("kernel_size", n)?;
            let st = ctx.tuple("strides", n)?;
            let dil = if ctx.config.contains_key("dilation_rate") {
                ctx.tuple("dilation_rate", n)?
            } else {
                vec![1; n]
            };
            let groups = conv_groups(ctx)?;
            if groups > 1 {
                let cin = known(ctx, s, n + 1, "channel count")?;
                let f = ctx.usize("filters")?;
                if cin % groups != 0 || f % groups != 0 {
                    return Err(ctx.err(
                        "groups",
                        format!("{groups} does not divide both the {cin} input channels and the {f} filters"),
                    ));
                }
            }
            let p = ctx.padding()?;
            let mut out = vec![s[0]];
            for a in 0..n {
                out.push(window_out(ctx, s[a + 1], k[a], st[a], dil[a], p)?);
            }
            out.push(Some(ctx.usize("filters")?));
            Ok(out)
        }
        "DepthwiseConv2D" | "SeparableConv2D" | "Conv2DTranspose" => {
            super::convs::output_shape(ctx, one(ctx, inputs)?)
        }
        "MaxPooling2D" | "AveragePooling2D" => {
            let s = one(ctx, inputs)?;
            rank(ctx, s, 4)?;
            ctx.channels_last()?;
            let k = ctx.tuple("pool_size", 2)?;
            let st = if ctx.get("strides").is_some() {
                ctx.tuple("strides", 2)?
            } else {
                k.clone()
            };
            let p = ctx.padding()?;
            Ok(vec![
                s[0],
                window_out(ctx, s[1], k[0], st[0], 1, p)?,
                window_out(ctx, s[2], k[1], st[1], 1, p)?,
                s[3],
            ])
        }
        "GlobalAveragePooling2D" | "GlobalAveragePooling1D" => {
            let s = one(ctx, inputs)?;
            rank(ctx, s, if class.ends_with("2D") { 4 } else { 3 })?;
            ctx.channels_last()?;
            let c = s[s.len() - 1];
            if ctx.bool_or("keepdims", false)? {
                let mut out = vec![s[0]];
                out.extend(std::iter::repeat_n(Some(1), s.len() - 2));
                out.push(c);
                Ok(out)
            } else {
                Ok(vec![s[0], c])
            }
        }
        "ZeroPadding2D" => {
            let s = one(ctx, inputs)?;
            rank(ctx, s, 4)?;
            ctx.channels_last()?;
            let [t, b, l, r] = ctx.zero_padding()?;
            Ok(vec![
                s[0],
                s[1].map(|h| h + t + b),
                s[2].map(|w| w + l + r),
                s[3],
            ])
        }
        "Embedding" => {
            let s = one(ctx, inputs)?;
            ctx.usize("input_dim")?;
            let mut out = s.clone();
            out.push(Some(ctx.usize("output_dim")?));
            Ok(out)
        }
        "SimpleRNN" | "LSTM" | "GRU" => {
            let s = one(ctx, inputs)?;
            rank(ctx, s, 3)?;
            ctx.activation("activation")?;
            if class != "SimpleRNN" {
                ctx.activation("recurrent_activation")?;
            }
            for unsupported in ["return_state", "stateful"] {
                if ctx.bool_or(unsupported, false)? {
                    return Err(ctx.err(unsupported, "true is not supported"));
                }
            }
            let units = Some(ctx.usize("units")?);
            if ctx.bool_or("return_sequences", false)? {
                Ok(vec![s[0], s[1], units])
            } else {
                Ok(vec![s[0], units])
            }
        }
        "TimeDistributed" => {
            let s = one(ctx, inputs)?;
            if s.len() < 3 {
                return Err(ctx.layer_err("needs inputs of rank ≥ 3 (batch, time, …)"));
            }
            let (class, config) = wrapped(ctx, "layer", TIME_DISTRIBUTED)?;
            let inner = LayerCtx {
                name: ctx.name,
                class,
                config,
            };
            let per_step = output_shape(&inner, &[step_shape(s)])?;
            let mut out = vec![s[0], s[1]];
            out.extend_from_slice(&per_step[1..]);
            Ok(out)
        }
        "Bidirectional" => {
            one(ctx, inputs)?;
            let [fwd, bwd] = bidirectional_parts(ctx)?;
            let merge = merge_mode(ctx)?;
            let mut out = output_shape(&fwd, inputs)?;
            output_shape(&bwd, inputs)?;
            if merge == MergeMode::Concat
                && let Some(last) = out.last_mut()
            {
                *last = last.map(|u| 2 * u);
            }
            Ok(out)
        }
        "Add" | "Multiply" => {
            if inputs.len() < 2 {
                return Err(ctx.layer_err(format!("needs at least 2 inputs, got {}", inputs.len())));
            }
            let first = &inputs[0];
            for s in &inputs[1..] {
                if s.len() != first.len()
                    || s.iter()
                        .zip(first)
                        .any(|(a, b)| a.is_some() && b.is_some() && a != b)
                {
                    return Err(ctx.layer_err(format!(
                        "inputs must have equal shapes, got {} and {}",
                        super::model::shape_to_string(first),
                        super::model::shape_to_string(s)
                    )));
                }
            }
            Ok(first.clone())
        }
        "Concatenate" => {
            if inputs.len() < 2 {
                return Err(ctx.layer_err(format!("needs at least 2 inputs, got {}", inputs.len())));
            }
            let r = inputs[0].len();
            let axis = ctx.i64_or("axis", -1)?;
            let ax = if axis < 0 { r as i64 + axis } else { axis };
            if ax <= 0 || ax >= r as i64 {
                return Err(ctx.err(
                    "axis",
                    format!("{axis} is not a non-batch axis of inputs of rank {r}"),
                ));
            }
            let ax = ax as usize;
            let mut out = inputs[0].clone();
            let mut total = Some(0usize);
            for s in inputs {
                if s.len() != r {
                    return Err(ctx.layer_err("inputs must have the same rank"));
                }
                total = match (total, s[ax]) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
            }
            out[ax] = total;
            Ok(out)
        }
        "Reshape" => {
            let s = one(ctx, inputs)?;
            let target = ctx
                .get("target_shape")
                .and_then(Value::as_array)
                .ok_or_else(|| ctx.err("target_shape", "missing or not a list"))?;
            let mut dims: Vec<i64> = Vec::with_capacity(target.len());
            for d in target {
                dims.push(d.as_i64().ok_or_else(|| {
                    ctx.err("target_shape", format!("expected integers, found {d}"))
                })?);
            }
            let total: Option<usize> = s[1..]
                .iter()
                .try_fold(1usize, |a, d| d.and_then(|d| a.checked_mul(d)));
            let known_prod: i64 = dims.iter().filter(|d| **d > 0).product();
            let mut out = vec![s[0]];
            for d in &dims {
                out.push(if *d > 0 {
                    Some(*d as usize)
                } else if *d == -1 {
                    total.and_then(|t| {
                        usize::try_from(known_prod)
                            .ok()
                            .filter(|p| *p > 0 && t % p == 0)
                            .map(|p| t / p)
                    })
                } else {
                    return Err(ctx.err("target_shape", format!("dimension {d} is invalid")));
                });
            }
            if let Some(t) = total {
                let prod: Option<usize> = out[1..]
                    .iter()
                    .try_fold(1usize, |a, d| d.and_then(|d| a.checked_mul(d)));
                if prod != Some(t) {
                    return Err(ctx.err(
                        "target_shape",
                        format!("{:?} does not hold the {t} values of the input", dims),
                    ));
                }
            }
            Ok(out)
        }
        _ => Err(Problem::Unsupported {
            layer: ctx.name.to_string(),
            class: ctx.class.to_string(),
            supported: SUPPORTED.join(", "),
        }),
    }
}

/// The weight tensors a layer must carry, in `get_weights()` order, given its input shapes.
pub fn expected_weights(ctx: &LayerCtx, inputs: &[Shape]) -> Result<Vec<Vec<usize>>, Problem> {
    let last = |s: &Shape, what: &str| known(ctx, s, s.len().saturating_sub(1), what);
    let bias = |units: usize, out: &mut Vec<Vec<usize>>| -> Result<(), Problem> {
        if ctx.bool_or("use_bias", true)? {
            out.push(vec![units]);
        }
        Ok(())
    };
    let mut out = Vec::new();
    match ctx.class {
        "Dense" => {
            let s = one(ctx, inputs)?;
            let units = ctx.usize("units")?;
            out.push(vec![last(s, "feature size")?, units]);
            bias(units, &mut out)?;
        }
        "Conv2D" => {
            let s = one(ctx, inputs)?;
            let k = ctx.tuple("kernel_size", 2)?;
            let f = ctx.usize("filters")?;
            let groups = conv_groups(ctx)?;
            out.push(vec![k[0], k[1], last(s, "channel count")? / groups, f]);
            bias(f, &mut out)?;
        }
        "DepthwiseConv2D" | "SeparableConv2D" | "Conv2DTranspose" => {
            out = super::convs::expected_weights(ctx, last(one(ctx, inputs)?, "channel count")?)?;
        }
        "Conv1D" => {
            let s = one(ctx, inputs)?;
            let k = ctx.tuple("kernel_size", 1)?;
            let f = ctx.usize("filters")?;
            out.push(vec![k[0], last(s, "channel count")?, f]);
            bias(f, &mut out)?;
        }
        "Normalization" => {
            let (dim, given) = normalization_stats(ctx, one(ctx, inputs)?)?;
            if given.is_none() {
                // mean, variance, and the count of samples adapt() saw (a scalar).
                out.extend([vec![dim], vec![dim], vec![]]);
            }
        }
        "BatchNormalization" => {
            let s = one(ctx, inputs)?;
            let axis = batchnorm_axis(ctx, s.len())?;
            let dim = known(ctx, s, axis, "feature size")?;
            let n = usize::from(ctx.bool_or("scale", true)?)
                + usize::from(ctx.bool_or("center", true)?)
                + 2;
            out.extend(std::iter::repeat_n(vec![dim], n));
        }
        "Embedding" => out.push(vec![ctx.usize("input_dim")?, ctx.usize("output_dim")?]),
        "PReLU" => out.push(prelu_alpha_shape(ctx, one(ctx, inputs)?)?),
        "LayerNormalization" | "GroupNormalization" => {
            out = super::attention::norm_shapes(ctx, one(ctx, inputs)?)?.1;
        }
        "MultiHeadAttention" => out = super::attention::mha_shapes(ctx, inputs)?.1,
        "SimpleRNN" | "LSTM" | "GRU" => {
            let s = one(ctx, inputs)?;
            let u = ctx.usize("units")?;
            let gates = match ctx.class {
                "SimpleRNN" => 1,
                "LSTM" => 4,
                _ => 3,
            };
            let f = last(s, "feature size")?;
            out.push(vec![f, gates * u]);
            out.push(vec![u, gates * u]);
            if ctx.bool_or("use_bias", true)? {
                if ctx.class == "GRU" && ctx.bool_or("reset_after", true)? {
                    out.push(vec![2, gates * u]);
                } else {
                    out.push(vec![gates * u]);
                }
            }
        }
        "TimeDistributed" => {
            let s = one(ctx, inputs)?;
            let (class, config) = wrapped(ctx, "layer", TIME_DISTRIBUTED)?;
            let inner = LayerCtx {
                name: ctx.name,
                class,
                config,
            };
            out = expected_weights(&inner, &[step_shape(s)])?;
        }
        "Bidirectional" => {
            // get_weights() order: the forward layer's, then the backward layer's.
            for part in bidirectional_parts(ctx)? {
                out.extend(expected_weights(&part, inputs)?);
            }
        }
        _ => {}
    }
    Ok(out)
}

/// A Conv2D's `groups` (1 when absent), at least 1.
pub fn conv_groups(ctx: &LayerCtx) -> Result<usize, Problem> {
    match ctx.i64_or("groups", 1)? {
        g if g >= 1 => Ok(g as usize),
        g => Err(ctx.err("groups", format!("must be at least 1, found {g}"))),
    }
}

/// Classes a `TimeDistributed` may wrap: Dense and the convolutions, and the layers whose
/// per-step result is their result on the whole sequence (Flatten flattens each step: a Reshape
/// to (time, values per step); Dropout, the activation layers and a last-axis Softmax act on
/// each value or along the last axis alone).
pub const TIME_DISTRIBUTED: &[&str] = &[
    "Dense",
    "Conv1D",
    "Conv2D",
    "Flatten",
    "Dropout",
    "Activation",
    "ReLU",
    "ELU",
    "Softmax",
];
/// Classes a `Bidirectional` may wrap.
pub const BIDIRECTIONAL: &[&str] = &["SimpleRNN", "LSTM", "GRU"];

/// The shape one time step of `s` has (the time axis dropped), as a wrapped layer sees it.
pub fn step_shape(s: &Shape) -> Shape {
    let mut inner = vec![s.first().copied().flatten()];
    inner.extend_from_slice(s.get(2..).unwrap_or_default());
    inner
}

/// A wrapper's nested layer (`{"class_name": …, "config": {…}}` at `field`), which must be one
/// of `allowed`.
pub fn wrapped<'a>(
    ctx: &LayerCtx<'a>,
    field: &str,
    allowed: &[&str],
) -> Result<(&'a str, &'a Map<String, Value>), Problem> {
    let v = ctx
        .config
        .get(field)
        .filter(|v| !v.is_null())
        .ok_or_else(|| ctx.err(field, "missing"))?;
    let class = v
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| ctx.err(field, "has no class_name"))?;
    let config = v
        .get("config")
        .and_then(Value::as_object)
        .ok_or_else(|| ctx.err(field, "has no config"))?;
    if !allowed.contains(&class) {
        return Err(ctx.err(
            field,
            format!(
                "wraps a {class}; {} can wrap only {}",
                ctx.class,
                allowed.join(", ")
            ),
        ));
    }
    Ok((class, config))
}

/// How a `Bidirectional` merges its two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeMode {
    Concat,
    Sum,
    Mul,
    Ave,
}

impl MergeMode {
    /// The code the Bidirectional contract reads.
    pub fn code(self) -> u8 {
        match self {
            MergeMode::Concat => 0,
            MergeMode::Sum => 1,
            MergeMode::Mul => 2,
            MergeMode::Ave => 3,
        }
    }
}

/// A `Bidirectional`'s `merge_mode` (Keras's default: concat).
pub fn merge_mode(ctx: &LayerCtx) -> Result<MergeMode, Problem> {
    match ctx.config.get("merge_mode") {
        None => Ok(MergeMode::Concat),
        Some(Value::Null) => Err(ctx.err(
            "merge_mode",
            "None (two separate outputs) is not supported; use concat, sum, mul or ave",
        )),
        Some(v) => match v.as_str() {
            Some("concat") => Ok(MergeMode::Concat),
            Some("sum") => Ok(MergeMode::Sum),
            Some("mul") => Ok(MergeMode::Mul),
            Some("ave") => Ok(MergeMode::Ave),
            _ => Err(ctx.err(
                "merge_mode",
                format!("{v} is not supported; use concat, sum, mul or ave"),
            )),
        },
    }
}

/// The two directions of a `Bidirectional`: the wrapped layer, and its `backward_layer` (Keras 3
/// writes it; tf.keras 2 leaves it out when it is the wrapped layer run backwards, and then the
/// wrapped layer's config stands for both — read its direction with [`runs_backwards`]).
pub fn bidirectional_parts<'a>(ctx: &LayerCtx<'a>) -> Result<[LayerCtx<'a>; 2], Problem> {
    let (class, config) = wrapped(ctx, "layer", BIDIRECTIONAL)?;
    let fwd = LayerCtx {
        name: ctx.name,
        class,
        config,
    };
    let bwd = if ctx
        .config
        .get("backward_layer")
        .is_some_and(|v| !v.is_null())
    {
        let (bclass, bconfig) = wrapped(ctx, "backward_layer", BIDIRECTIONAL)?;
        if bclass != class || bconfig.get("units") != config.get("units") {
            return Err(ctx.err(
                "backward_layer",
                "must be the same class with the same units as the forward layer",
            ));
        }
        LayerCtx {
            name: ctx.name,
            class: bclass,
            config: bconfig,
        }
    } else {
        LayerCtx {
            name: ctx.name,
            class,
            config,
        }
    };
    Ok([fwd, bwd])
}

/// Whether direction `which` (0 forward, 1 backward) of a `Bidirectional` reads the sequence
/// from its end: the forward layer's own `go_backwards`; the backward layer's, when the file
/// gives one, else the forward layer's flipped (what Keras builds).
pub fn runs_backwards(ctx: &LayerCtx, which: usize) -> Result<bool, Problem> {
    let [fwd, bwd] = bidirectional_parts(ctx)?;
    let fwd_back = fwd.bool_or("go_backwards", false)?;
    if which == 0 {
        return Ok(fwd_back);
    }
    if ctx
        .config
        .get("backward_layer")
        .is_some_and(|v| !v.is_null())
    {
        bwd.bool_or("go_backwards", !fwd_back)
    } else {
        Ok(!fwd_back)
    }
}

/// The normalised feature axis of a BatchNormalization over inputs of rank `rank`.
pub fn batchnorm_axis(ctx: &LayerCtx, rank: usize) -> Result<usize, Problem> {
    let v = ctx.get("axis").cloned().unwrap_or(Value::from(-1));
    let axis = match &v {
        Value::Array(a) if a.len() == 1 => a[0].as_i64(),
        other => other.as_i64(),
    }
    .ok_or_else(|| ctx.err("axis", format!("expected one integer axis, found {v}")))?;
    let ax = if axis < 0 { rank as i64 + axis } else { axis };
    if ax <= 0 || ax >= rank as i64 {
        return Err(ctx.err(
            "axis",
            format!("{axis} is not a feature axis of inputs of rank {rank}"),
        ));
    }
    Ok(ax as usize)
}

/// Mean and variance given in the config (a number or one per feature), per feature.
pub type GivenStats = (Vec<f64>, Vec<f64>);

/// A Keras `Normalization` layer's feature count along its axis (the last one only) and, when
/// its config gives `mean` and `variance` instead of weights, those per feature. `invert` is
/// refused.
pub fn normalization_stats(
    ctx: &LayerCtx,
    s: &Shape,
) -> Result<(usize, Option<GivenStats>), Problem> {
    if ctx.config.get("axis").is_some_and(Value::is_null) {
        return Err(ctx.err(
            "axis",
            "None (one mean and variance over every value) is not supported; only the last axis",
        ));
    }
    let axis = batchnorm_axis(ctx, s.len())?;
    if axis + 1 != s.len() {
        return Err(ctx.err(
            "axis",
            format!(
                "normalizes axis {axis} of inputs of rank {}; only the last axis is supported",
                s.len()
            ),
        ));
    }
    if ctx.bool_or("invert", false)? {
        return Err(ctx.err("invert", "true (de-normalization) is not supported"));
    }
    let dim = known(ctx, s, axis, "feature size")?;
    let per_feature = |field: &str| -> Result<Option<Vec<f64>>, Problem> {
        let Some(v) = ctx.get(field) else {
            return Ok(None);
        };
        let bad = || {
            ctx.err(
                field,
                format!("expected a number or {dim} numbers, found {v}"),
            )
        };
        let flat: Vec<f64> = match v {
            Value::Number(n) => vec![n.as_f64().ok_or_else(bad)?],
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_f64().ok_or_else(bad))
                .collect::<Result<_, _>>()?,
            _ => return Err(bad()),
        };
        match flat.len() {
            1 => Ok(Some(vec![flat[0]; dim])),
            n if n == dim => Ok(Some(flat)),
            _ => Err(bad()),
        }
    };
    match (per_feature("mean")?, per_feature("variance")?) {
        (Some(m), Some(v)) => Ok((dim, Some((m, v)))),
        (None, None) => Ok((dim, None)),
        _ => Err(ctx.layer_err("gives only one of `mean` and `variance` in its config")),
    }
}

/// What eternalize makes of one layer of a file that may not be deployable: its graph class,
/// why it cannot be deployed (if so), and its output shape and weight shapes when they follow
/// from the config.
pub struct Described {
    pub class_name: String,
    pub unsupported: Option<String>,
    pub shapes: Option<(Shape, Vec<Vec<usize>>)>,
}

/// Describes a layer without refusing it: the first rule it breaks becomes its `unsupported`
/// reason (the words `export` refuses the file with); shapes come from the deployable rules,
/// else from Keras's rules for classes eternalize cannot deploy ([`other_class`]), else are
/// unknown. `inputs_known` is false past a layer of unknown shape.
pub fn describe(ctx: &LayerCtx, inputs: &[Shape], inputs_known: bool) -> Described {
    let (class_name, mut unsupported) = match graph_class(ctx) {
        Ok(c) => (c, None),
        Err(p) => (ctx.class.to_string(), Some(p.to_string())),
    };
    if !inputs_known {
        return Described {
            class_name,
            unsupported,
            shapes: None,
        };
    }
    let rules = output_shape(ctx, inputs).and_then(|o| Ok((o, expected_weights(ctx, inputs)?)));
    let shapes = match rules {
        Ok(s) => Some(s),
        Err(p) => {
            unsupported.get_or_insert(p.to_string());
            other_class(ctx, inputs)
        }
    };
    Described {
        class_name,
        unsupported,
        shapes,
    }
}

/// Output shape and weight shapes, as Keras computes them, of classes eternalize reads but
/// cannot deploy; `None` for any other class, or when the config does not say enough.
fn other_class(ctx: &LayerCtx, inputs: &[Shape]) -> Option<(Shape, Vec<Vec<usize>>)> {
    let [s] = inputs else { return None };
    match ctx.class {
        "ThresholdedReLU" | "Masking" | "UnitNormalization" => Some((s.clone(), Vec::new())),
        "LayerNormalization" | "GroupNormalization" => {
            let axis = ctx.get("axis").cloned().unwrap_or(Value::from(-1));
            let axis = match &axis {
                Value::Array(a) if a.len() == 1 => a[0].as_i64(),
                other => other.as_i64(),
            }?;
            let ax = if axis < 0 {
                s.len() as i64 + axis
            } else {
                axis
            };
            let dim = s.get(usize::try_from(ax).ok()?).copied().flatten()?;
            let n = usize::from(ctx.bool_or("scale", true).ok()?)
                + usize::from(ctx.bool_or("center", true).ok()?);
            Some((s.clone(), vec![vec![dim]; n]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(class: &str, config: Value) -> Result<ReluParams, Problem> {
        let config = config.as_object().cloned().unwrap_or_default();
        relu_params(&LayerCtx {
            name: "r",
            class,
            config: &config,
        })
    }

    #[test]
    fn relu_params_of_every_spelling() {
        let p = |m: Option<f64>, s: f64, t: f64| ReluParams {
            max_value: m,
            negative_slope: s,
            threshold: t,
        };
        let six = json!({"max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0});
        assert_eq!(params("ReLU", six).unwrap(), p(Some(6.0), 0.0, 0.0));
        assert_eq!(params("ReLU", json!({})).unwrap(), p(None, 0.0, 0.0));
        assert!(params("ReLU", json!({})).unwrap().is_plain());
        // A cap of 0 is a cap (Keras clips to [0, 0]).
        assert!(
            !params("ReLU", json!({"max_value": 0.0}))
                .unwrap()
                .is_plain()
        );
        assert_eq!(
            params("LeakyReLU", json!({"alpha": 0.1})).unwrap(),
            p(None, 0.1, 0.0)
        );
        assert_eq!(
            params("LeakyReLU", json!({"negative_slope": 0.5})).unwrap(),
            p(None, 0.5, 0.0)
        );
        assert_eq!(params("LeakyReLU", json!({})).unwrap(), p(None, 0.3, 0.0));
        assert_eq!(
            params("Activation", json!({"activation": "relu6"})).unwrap(),
            p(Some(6.0), 0.0, 0.0)
        );
        assert_eq!(
            params("Activation", json!({"activation": "leaky_relu"})).unwrap(),
            p(None, 0.2, 0.0)
        );
    }

    #[test]
    fn normalization_statistics_from_config_or_weights_and_its_refusals() {
        let stats = |config: Value, shape: Shape| {
            let config = config.as_object().cloned().unwrap();
            let ctx = LayerCtx {
                name: "norm",
                class: "Normalization",
                config: &config,
            };
            normalization_stats(&ctx, &shape).map_err(|e| e.to_string())
        };
        let seq = vec![None, Some(4), Some(3)];
        assert_eq!(stats(json!({"axis": [-1]}), seq.clone()), Ok((3, None)));
        assert_eq!(
            stats(
                json!({"axis": -1, "mean": 2.0, "variance": [1, 4, 9]}),
                seq.clone()
            ),
            Ok((3, Some((vec![2.0; 3], vec![1.0, 4.0, 9.0]))))
        );
        for (config, words) in [
            (json!({"axis": [1]}), "only the last axis"),
            (json!({"axis": null}), "axis"),
            (json!({"invert": true}), "invert"),
            (
                json!({"mean": [1, 2], "variance": 1}),
                "expected a number or 3 numbers",
            ),
            (json!({"mean": 1}), "only one of `mean` and `variance`"),
        ] {
            let e = stats(config.clone(), seq.clone()).unwrap_err();
            assert!(e.contains("norm") && e.contains(words), "{config}: {e}");
        }
    }

    #[test]
    fn relu_params_refuse_what_keras_refuses_naming_the_field() {
        let e = params("ReLU", json!({"threshold": -1.0}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("threshold") && e.contains("-1"), "{e}");
        let e = params("Activation", json!({"activation": "glu"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("'glu' is not supported"), "{e}");
    }
}
