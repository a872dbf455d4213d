//! Layer configs as the layer contracts decode them: `abi.encode(...)` per kind, exactly as
//! specified in `contracts/README.md` ("Config encodings").
//!
//! The source is the bundle's per-layer `layer_config` (eai's subset of the Keras config), the
//! layer's input shapes, and — for the fields eai drops (`return_sequences`, `reset_after`,
//! BatchNormalization `scale`/`center`, ReLU parameters) — the same keys from the Keras config
//! when the caller merged them in; Keras defaults otherwise. Pure: no chain, no files.

use alloy::primitives::{I256, U256};
use alloy::sol_types::SolValue;
use serde_json::Value;

use super::ChainError;
use super::kind::LayerKind;
use crate::keras::layers::{
    BIDIRECTIONAL, LayerCtx, TIME_DISTRIBUTED, merge_mode, runs_backwards, wrapped,
};
use alloy::primitives::Bytes;

/// A dimension of a shape; `None` is Keras's unknown size (the batch axis, a free sequence length).
pub type Shape = Vec<Option<u64>>;

/// What a layer's config is built from.
#[derive(Clone, Copy, Debug)]
pub struct LayerSource<'a> {
    /// The layer's name, for messages.
    pub name: &'a str,
    /// The bundle's `class_name`.
    pub class_name: &'a str,
    /// eai's `layer_config`, optionally with extra Keras config keys merged in.
    pub config: &'a Value,
    /// Shapes of the layer's inputs, batch axis included.
    pub input_shapes: &'a [Shape],
    /// The layer's output shape, batch axis included, when known (decides RNN
    /// `return_sequences` when the config does not say).
    pub output_shape: Option<&'a [Option<u64>]>,
}

/// eai's activation numbering.
pub fn activation_code(name: &str) -> Option<u8> {
    match name {
        "leaky_relu" | "leakyrelu" | "LeakyReLU" => Some(0),
        "linear" => Some(1),
        "relu" => Some(2),
        "sigmoid" => Some(3),
        "tanh" => Some(4),
        "softmax" => Some(5),
        "relu6" => Some(6),
        other => crate::infer::activations::code(other),
    }
}

/// `trunc(x * 2^32)`, the Q32.32 of a config float (eai's `fromFloat`).
pub fn q32(x: f64) -> Option<i64> {
    (x.is_finite() && x.abs() < 2_147_483_648.0).then(|| (x * 4_294_967_296.0).trunc() as i64)
}

struct Reader<'a> {
    src: LayerSource<'a>,
}

impl<'a> Reader<'a> {
    fn err(&self, why: String) -> ChainError {
        ChainError::LayerConfig {
            layer: self.src.name.to_string(),
            class: self.src.class_name.to_string(),
            why,
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.src.config.get(key).filter(|v| !v.is_null())
    }

    fn uint(&self, key: &str) -> Result<u64, ChainError> {
        let v = self
            .get(key)
            .ok_or_else(|| self.err(format!("`{key}` is missing from its layer_config")))?;
        as_uint(v)
            .ok_or_else(|| self.err(format!("`{key}` must be a non-negative integer, found {v}")))
    }

    fn int_or(&self, key: &str, default: i64) -> Result<i64, ChainError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| self.err(format!("`{key}` must be an integer, found {v}"))),
        }
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool, ChainError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.err(format!("`{key}` must be true or false, found {v}"))),
        }
    }

    fn fixed_or(&self, key: &str, default: f64) -> Result<i64, ChainError> {
        let x = match self.get(key) {
            None => default,
            Some(v) => v
                .as_f64()
                .ok_or_else(|| self.err(format!("`{key}` must be a number, found {v}")))?,
        };
        q32(x).ok_or_else(|| {
            self.err(format!(
                "`{key}` = {x} has no Q32.32 value (|x| must be below 2^31)"
            ))
        })
    }

    /// An integer or a list of `n` integers (Keras accepts `3` for `(3, 3)`).
    fn tuple<const N: usize>(&self, key: &str) -> Result<[u64; N], ChainError> {
        let v = self
            .get(key)
            .ok_or_else(|| self.err(format!("`{key}` is missing from its layer_config")))?;
        let bad = || {
            self.err(format!(
                "`{key}` must be an integer or a list of {N} integers, found {v}"
            ))
        };
        if let Some(x) = as_uint(v) {
            return Ok([x; N]);
        }
        let list = v.as_array().filter(|l| l.len() == N).ok_or_else(bad)?;
        let mut out = [0u64; N];
        for (o, x) in out.iter_mut().zip(list) {
            *o = as_uint(x).ok_or_else(bad)?;
        }
        Ok(out)
    }

    /// `uint8` fields are encoded as the uint256 word they occupy (identical ABI bytes).
    fn activation(&self, key: &str, default: &str) -> Result<U256, ChainError> {
        let name = match self.get(key) {
            None => default,
            Some(v) => v.as_str().ok_or_else(|| {
                self.err(format!("`{key}` must be an activation name, found {v}"))
            })?,
        };
        activation_code(name).map(U256::from).ok_or_else(|| {
            self.err(format!(
                "activation `{name}` has no on-chain implementation (supported: linear, relu, relu6, leaky_relu, sigmoid, tanh, softmax, {})",
                crate::infer::activations::CODES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// Refuses a dilation other than 1 on every axis: the contracts convolve undilated kernels
    /// (the offline reference and the exported bundle handle any dilation).
    fn undilated<const N: usize>(&self) -> Result<(), ChainError> {
        if self.get("dilation_rate").is_none() {
            return Ok(());
        }
        let d = self.tuple::<N>("dilation_rate")?;
        if d.iter().all(|&x| x == 1) {
            Ok(())
        } else {
            Err(self.err(format!(
                "dilation_rate {d:?} has no on-chain implementation (only 1); `export` and the offline `predict` handle it, `deploy` cannot"
            )))
        }
    }

    fn padding(&self, allow_causal: bool) -> Result<U256, ChainError> {
        let name = self
            .get("padding")
            .and_then(Value::as_str)
            .unwrap_or("valid");
        match name {
            "valid" => Ok(U256::ZERO),
            "same" => Ok(U256::from(1)),
            "causal" if allow_causal => Ok(U256::from(2)),
            other => Err(self.err(format!("padding `{other}` is not supported"))),
        }
    }

    fn input(&self, k: usize) -> Result<&'a Shape, ChainError> {
        self.src.input_shapes.get(k).ok_or_else(|| {
            self.err(format!(
                "needs the shape of input #{k}, but the bundle gives {}",
                self.src.input_shapes.len()
            ))
        })
    }

    /// Size of the last axis of the first input.
    fn last_dim(&self) -> Result<u64, ChainError> {
        let shape = self.input(0)?;
        match shape.last() {
            Some(Some(d)) if *d > 0 => Ok(*d),
            _ => Err(self.err(format!(
                "the last axis of its input must have a known size, found {shape:?}"
            ))),
        }
    }

    fn return_sequences(&self) -> Result<bool, ChainError> {
        let inferred = self.src.output_shape.map(|s| s.len() == 3);
        self.bool_or("return_sequences", inferred.unwrap_or(false))
    }
}

/// The convolutions of kinds 41–43: DepthwiseConv2D and Conv2D with groups > 1 (both the grouped
/// convolution, kind 41), SeparableConv2D (42), Conv2DTranspose (43). `None` for other layers.
fn encode_conv_extra(r: &Reader<'_>) -> Result<Option<(LayerKind, Vec<u8>)>, ChainError> {
    let groups = match r.src.class_name {
        "Conv2D" => r.int_or("groups", 1)?,
        "DepthwiseConv2D" | "SeparableConv2D" | "Conv2DTranspose" => 0,
        _ => return Ok(None),
    };
    if r.src.class_name == "Conv2D" && groups <= 1 {
        return Ok(None);
    }
    r.undilated::<2>()?;
    let act = r.activation("activation", "linear")?;
    let cin = r.last_dim()?;
    let kernel = u2(r.tuple::<2>("kernel_size")?);
    let strides = u2(if r.get("strides").is_some() {
        r.tuple::<2>("strides")?
    } else {
        [1, 1]
    });
    let padding = r.padding(false)?;
    let bias = r.bool_or("use_bias", true)?;
    let multiplier = || -> Result<u64, ChainError> {
        match r.int_or("depth_multiplier", 1)? {
            m if m >= 1 => Ok(m as u64),
            m => Err(r.err(format!("`depth_multiplier` must be at least 1, found {m}"))),
        }
    };
    Ok(Some(match r.src.class_name {
        "Conv2D" => (
            LayerKind::DepthwiseConv2D,
            (
                act,
                u(cin),
                u(r.uint("filters")?),
                kernel,
                strides,
                padding,
                bias,
                u(groups as u64),
            )
                .abi_encode_params(),
        ),
        "DepthwiseConv2D" => (
            LayerKind::DepthwiseConv2D,
            (
                act,
                u(cin),
                u(cin * multiplier()?),
                kernel,
                strides,
                padding,
                bias,
                u(cin),
            )
                .abi_encode_params(),
        ),
        "SeparableConv2D" => (
            LayerKind::SeparableConv2D,
            (
                act,
                u(cin),
                u(r.uint("filters")?),
                kernel,
                strides,
                padding,
                bias,
                u(multiplier()?),
            )
                .abi_encode_params(),
        ),
        _ => {
            if r.get("output_padding").is_some() {
                return Err(
                    r.err("`output_padding` has no on-chain implementation (only None)".into())
                );
            }
            (
                LayerKind::Conv2DTranspose,
                (
                    act,
                    u(cin),
                    u(r.uint("filters")?),
                    kernel,
                    strides,
                    padding,
                    bias,
                )
                    .abi_encode_params(),
            )
        }
    }))
}

fn as_uint(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x < 9e15)
            .map(|x| x as u64)
    })
}

fn u(x: u64) -> U256 {
    U256::from(x)
}

fn u2(x: [u64; 2]) -> [U256; 2] {
    x.map(U256::from)
}

/// The layer's kind and its ABI-encoded config.
pub fn encode_config(src: LayerSource<'_>) -> Result<(LayerKind, Vec<u8>), ChainError> {
    let r = Reader { src };
    if let Some(done) = encode_conv_extra(&r)? {
        return Ok(done);
    }
    let kind = LayerKind::from_class_name(src.class_name).ok_or_else(|| {
        r.err(
            "this layer class has no contract (see contracts/README.md for the supported kinds)"
                .into(),
        )
    })?;
    if super::config_shapes::owns(kind) {
        return Ok((kind, super::config_shapes::encode(kind, &src)?));
    }
    let bytes = match kind {
        LayerKind::Input => {
            let shape = r
                .get("batch_input_shape")
                .or_else(|| r.get("batch_shape"))
                .and_then(Value::as_array)
                .ok_or_else(|| r.err("`batch_input_shape` is missing".into()))?;
            let dims = shape
                .iter()
                .skip(1)
                .map(|d| as_uint(d).filter(|&d| d > 0).map(U256::from))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    r.err(format!(
                        "every input dimension after the batch axis must be a known positive size, found {}",
                        Value::Array(shape.clone())
                    ))
                })?;
            (dims,).abi_encode_params()
        }
        LayerKind::Dense => (
            r.activation("activation", "linear")?,
            u(r.uint("units")?),
            u(r.last_dim()?),
            r.bool_or("use_bias", true)?,
        )
            .abi_encode_params(),
        LayerKind::Rescaling => {
            (r.fixed_or("scale", 1.0)?, r.fixed_or("offset", 0.0)?).abi_encode_params()
        }
        LayerKind::MaxPooling2D | LayerKind::AveragePooling2D => {
            let pool = r.tuple::<2>("pool_size")?;
            let strides = if r.get("strides").is_some() {
                r.tuple::<2>("strides")?
            } else {
                pool
            };
            (u2(pool), u2(strides), r.padding(false)?).abi_encode_params()
        }
        LayerKind::Conv2D => (
            {
                r.undilated::<2>()?;
                r.activation("activation", "linear")?
            },
            u(r.last_dim()?),
            u(r.uint("filters")?),
            u2(r.tuple::<2>("kernel_size")?),
            u2(if r.get("strides").is_some() {
                r.tuple::<2>("strides")?
            } else {
                [1, 1]
            }),
            r.padding(false)?,
            r.bool_or("use_bias", true)?,
        )
            .abi_encode_params(),
        LayerKind::Conv1D => (
            {
                r.undilated::<1>()?;
                r.activation("activation", "linear")?
            },
            u(r.last_dim()?),
            u(r.uint("filters")?),
            u(r.tuple::<1>("kernel_size")?[0]),
            u(if r.get("strides").is_some() {
                r.tuple::<1>("strides")?[0]
            } else {
                1
            }),
            r.padding(true)?,
            r.bool_or("use_bias", true)?,
        )
            .abi_encode_params(),
        LayerKind::BatchNormalization => {
            let dim = match r.get("input_dim") {
                Some(_) => r.uint("input_dim")?,
                None => r.last_dim()?,
            };
            (
                u(dim),
                r.fixed_or("momentum", 0.99)?,
                r.fixed_or("epsilon", 0.001)?,
                r.bool_or("scale", true)?,
                r.bool_or("center", true)?,
            )
                .abi_encode_params()
        }
        LayerKind::Embedding => {
            (u(r.uint("input_dim")?), u(r.uint("output_dim")?)).abi_encode_params()
        }
        LayerKind::SimpleRnn | LayerKind::Lstm | LayerKind::Gru => {
            let mut bytes = match kind {
                LayerKind::SimpleRnn => (
                    r.activation("activation", "tanh")?,
                    u(r.uint("units")?),
                    u(r.last_dim()?),
                    r.return_sequences()?,
                )
                    .abi_encode_params(),
                LayerKind::Lstm => (
                    r.activation("activation", "tanh")?,
                    r.activation("recurrent_activation", "sigmoid")?,
                    u(r.uint("units")?),
                    u(r.last_dim()?),
                    r.return_sequences()?,
                )
                    .abi_encode_params(),
                _ => (
                    r.activation("activation", "tanh")?,
                    r.activation("recurrent_activation", "sigmoid")?,
                    u(r.uint("units")?),
                    u(r.last_dim()?),
                    r.bool_or("reset_after", true)?,
                    r.return_sequences()?,
                )
                    .abi_encode_params(),
            };
            // go_backwards is one more word, written only when true: a forward layer's
            // config (and every deployed model's hash) stays what it was.
            if r.bool_or("go_backwards", false)? {
                bytes.extend_from_slice(&U256::from(1).to_be_bytes::<32>());
            }
            bytes
        }
        LayerKind::TimeDistributed => return time_distributed(&r),
        LayerKind::Bidirectional => (
            bidirectional_part(&r, "layer")?.0,
            U256::from(wrapper_ctx(&r, merge_mode)?.code()),
            bidirectional_part(&r, "layer")?.1,
            bidirectional_part(&r, "backward_layer")?.1,
        )
            .abi_encode_params(),
        LayerKind::Softmax | LayerKind::Concatenate => (I256::try_from(r.int_or("axis", -1)?)
            .map_err(|_| r.err("`axis` is out of range".into()))?,)
            .abi_encode_params(),
        LayerKind::Relu => {
            let max = match r.get("max_value") {
                None => None,
                Some(v) => Some(
                    v.as_f64()
                        .ok_or_else(|| r.err(format!("`max_value` must be a number, found {v}")))?,
                ),
            };
            let max_fixed = match max {
                None => 0,
                Some(m) => {
                    q32(m).ok_or_else(|| r.err(format!("`max_value` = {m} has no Q32.32 value")))?
                }
            };
            (
                max.is_some(),
                max_fixed,
                r.fixed_or("negative_slope", 0.0)?,
                r.fixed_or("threshold", 0.0)?,
            )
                .abi_encode_params()
        }
        LayerKind::Elu => {
            // `ELU` keeps its alpha; `Activation(f)` names its function (alpha unused: ONE).
            let (code, alpha) = if src.class_name == "ELU" {
                (U256::from(7), r.fixed_or("alpha", 1.0)?)
            } else {
                let code = r.activation("activation", "linear")?;
                if code < U256::from(7) {
                    return Err(r.err(format!(
                        "activation code {code} runs on its own layer kind, not as `Activation`"
                    )));
                }
                (code, 1i64 << 32)
            };
            (code, alpha).abi_encode_params()
        }
        LayerKind::Prelu => {
            let s = r.input(0)?;
            let mut alpha = Vec::with_capacity(s.len().saturating_sub(1));
            for d in s.iter().skip(1) {
                alpha.push(
                    (*d).ok_or_else(|| r.err(format!("needs a known input shape, found {s:?}")))?,
                );
            }
            if let Some(axes) = r.get("shared_axes") {
                let list = match axes {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                for a in &list {
                    let slot = as_uint(a)
                        .filter(|&a| a >= 1)
                        .and_then(|a| alpha.get_mut(a as usize - 1))
                        .ok_or_else(|| r.err(format!("shared axis {a} is out of range")))?;
                    *slot = 1;
                }
            }
            (alpha.into_iter().map(U256::from).collect::<Vec<_>>(),).abi_encode_params()
        }
        LayerKind::ZeroPadding2D => {
            let p = r.tuple::<4>("padding")?.map(U256::from);
            let format = match r
                .get("data_format")
                .and_then(Value::as_str)
                .unwrap_or("channels_last")
            {
                "channels_first" => U256::ZERO,
                "channels_last" => U256::from(1),
                other => return Err(r.err(format!("data_format `{other}` is not supported"))),
            };
            (p, format).abi_encode_params()
        }
        LayerKind::Reshape => {
            let target = r
                .get("target_shape")
                .and_then(Value::as_array)
                .ok_or_else(|| r.err("`target_shape` must be a list of integers".into()))?;
            let dims = target
                .iter()
                .map(|d| d.as_i64().map(I256::try_from))
                .collect::<Option<Result<Vec<_>, _>>>()
                .and_then(Result::ok)
                .ok_or_else(|| {
                    r.err(format!(
                        "`target_shape` must be a list of integers, found {target:?}"
                    ))
                })?;
            (dims,).abi_encode_params()
        }
        LayerKind::Flatten
        | LayerKind::Sigmoid
        | LayerKind::Linear
        | LayerKind::Add
        | LayerKind::Dropout
        | LayerKind::GlobalAveragePooling2D
        | LayerKind::Tanh
        | LayerKind::GlobalAveragePooling1D
        | LayerKind::Multiply => Vec::new(),
        // Handled above by `config_shapes`.
        LayerKind::MaxPooling1D
        | LayerKind::AveragePooling1D
        | LayerKind::GlobalMaxPooling1D
        | LayerKind::GlobalMaxPooling2D
        | LayerKind::UpSampling1D
        | LayerKind::UpSampling2D
        | LayerKind::Cropping1D
        | LayerKind::Cropping2D
        | LayerKind::ZeroPadding1D
        | LayerKind::Permute
        | LayerKind::RepeatVector
        | LayerKind::Subtract
        | LayerKind::Average
        | LayerKind::Maximum
        | LayerKind::Minimum => return Err(r.err(format!("{kind:?} has no encoder here"))),
        // Encoded by `encode_conv_extra` (reached only through a class name it takes first).
        LayerKind::DepthwiseConv2D | LayerKind::SeparableConv2D | LayerKind::Conv2DTranspose => {
            return Err(r.err("has no config encoding under this class name".into()));
        }
        LayerKind::LayerNormalization
        | LayerKind::GroupNormalization
        | LayerKind::MultiHeadAttention => transformer_config(&r, kind)?,
    };
    Ok((kind, bytes))
}

/// LayerNormalization / GroupNormalization: `(int64 epsilon, bool scale, bool center, uint256
/// spec)`, spec the bit mask of normalised axes (bit a: Keras axis a + 1) or the group count;
/// MultiHeadAttention: `(uint256 heads, uint256 keyDim, uint256 valueDim, uint256 outDim, bool
/// useBias)`. The Keras reader's rules decide what is supported.
fn transformer_config(r: &Reader<'_>, kind: LayerKind) -> Result<Vec<u8>, ChainError> {
    use crate::keras::attention::{NormAxes, mha_params, norm_params};
    let empty = serde_json::Map::new();
    let ctx = crate::keras::layers::LayerCtx {
        name: r.src.name,
        class: kind.class_name(),
        config: r.src.config.as_object().unwrap_or(&empty),
    };
    let shapes: Vec<crate::keras::Shape> = r
        .src
        .input_shapes
        .iter()
        .map(|s| s.iter().map(|d| d.map(|x| x as usize)).collect())
        .collect();
    let why = |e: crate::keras::Problem| r.err(e.to_string());
    if kind == LayerKind::MultiHeadAttention {
        let p = mha_params(&ctx, &shapes).map_err(why)?;
        let n = |x: usize| U256::from(x);
        return Ok((
            n(p.heads),
            n(p.key_dim),
            n(p.value_dim),
            n(p.out_dim),
            p.use_bias,
        )
            .abi_encode_params());
    }
    let rank = r.input(0)?.len();
    let p = norm_params(&ctx, rank).map_err(why)?;
    let spec = match &p.axes {
        NormAxes::Layer(axes) => axes
            .iter()
            .fold(U256::ZERO, |m, &a| m | (U256::from(1) << a)),
        NormAxes::Group(g) => U256::from(*g),
    };
    let eps = q32(p.epsilon)
        .ok_or_else(|| r.err(format!("`epsilon` = {} has no Q32.32 value", p.epsilon)))?;
    Ok((eps, p.scale, p.center, spec).abi_encode_params())
}

/// Runs a `keras::layers` rule over the wrapper's config, its error worded for the chain.
fn wrapper_ctx<T>(
    r: &Reader<'_>,
    rule: impl FnOnce(&LayerCtx<'_>) -> Result<T, crate::keras::error::Problem>,
) -> Result<T, ChainError> {
    let map = r
        .src
        .config
        .as_object()
        .ok_or_else(|| r.err("its layer_config is not an object".into()))?;
    let ctx = LayerCtx {
        name: r.src.name,
        class: r.src.class_name,
        config: map,
    };
    rule(&ctx).map_err(|p| r.err(p.to_string()))
}

/// The wrapped layer at `field` encoded as its own kind would be, with `shapes` as its inputs.
fn inner_config(
    r: &Reader<'_>,
    field: &str,
    allowed: &[&str],
    shapes: &[Shape],
    output: Option<&[Option<u64>]>,
) -> Result<(LayerKind, Vec<u8>), ChainError> {
    let (class, config) = wrapper_ctx(r, |c| {
        wrapped(c, field, allowed).map(|(cl, cf)| (cl.to_string(), Value::Object(cf.clone())))
    })?;
    encode_config(LayerSource {
        name: r.src.name,
        class_name: &class,
        config: &config,
        input_shapes: shapes,
        output_shape: output,
    })
}

/// `Bidirectional`: `abi.encode(uint16 kind, uint8 mergeMode, bytes forward, bytes backward)`,
/// each direction the config of its recurrent kind (`go_backwards` set on the backward one).
fn bidirectional_part(r: &Reader<'_>, field: &str) -> Result<(U256, Bytes), ChainError> {
    let which = usize::from(field == "backward_layer");
    let field = if field == "backward_layer" && r.get("backward_layer").is_none() {
        "layer"
    } else {
        field
    };
    let (kind, mut bytes) = inner_config(r, field, BIDIRECTIONAL, r.src.input_shapes, None)?;
    let back = wrapper_ctx(r, |c| runs_backwards(c, which))?;
    // The direction is the wrapper's to say: drop the wrapped config's own flag word, if any.
    let words = match kind {
        LayerKind::Gru => 6,
        LayerKind::Lstm => 5,
        _ => 4,
    };
    bytes.truncate(words * 32);
    if back {
        bytes.extend_from_slice(&U256::from(1).to_be_bytes::<32>());
    }
    Ok((U256::from(kind.code()), Bytes::from(bytes)))
}

/// `TimeDistributed`: Dense on each step is Dense on the last axis, so it encodes (and runs
/// on chain) as kind Dense; a convolution on each step is kind TimeDistributed,
/// `abi.encode(uint16 kind, bytes config)` with the convolution's own config.
fn time_distributed(r: &Reader<'_>) -> Result<(LayerKind, Vec<u8>), ChainError> {
    let steps: Vec<Shape> = r
        .src
        .input_shapes
        .iter()
        .map(|s| {
            let mut t = vec![s.first().copied().flatten()];
            t.extend_from_slice(s.get(2..).unwrap_or_default());
            t
        })
        .collect();
    let (kind, bytes) = inner_config(r, "layer", TIME_DISTRIBUTED, &steps, None)?;
    match kind {
        LayerKind::Dense
        | LayerKind::Dropout
        | LayerKind::Relu
        | LayerKind::Elu
        | LayerKind::Sigmoid
        | LayerKind::Tanh
        | LayerKind::Linear => Ok((kind, bytes)),
        // The last axis of a step is the last axis of the sequence.
        LayerKind::Softmax => {
            let axis = wrapper_ctx(r, |c| {
                wrapped(c, "layer", TIME_DISTRIBUTED)
                    .map(|(_, cf)| cf.get("axis").and_then(Value::as_i64).unwrap_or(-1))
            })?;
            let last = steps.first().map_or(0, |s| s.len() as i64 - 1);
            match axis {
                a if a == -1 || a == last => Ok((kind, (I256::MINUS_ONE,).abi_encode_params())),
                a => Err(r.err(format!(
                    "TimeDistributed(Softmax) over axis {a} of a step: only the last axis ({last} or -1)"
                ))),
            }
        }
        // Each step flattened: (time, values per step), time left to the input (-1).
        LayerKind::Flatten => {
            let per_step = steps
                .first()
                .and_then(|s| s.get(1..))
                .and_then(|d| d.iter().copied().try_fold(1u64, |n, d| Some(n * d?)))
                .ok_or_else(|| r.err("flattens steps of unknown size".into()))?;
            let dims = vec![
                I256::MINUS_ONE,
                I256::try_from(per_step).unwrap_or(I256::MAX),
            ];
            Ok((LayerKind::Reshape, (dims,).abi_encode_params()))
        }
        LayerKind::Conv1D | LayerKind::Conv2D => Ok((
            LayerKind::TimeDistributed,
            (U256::from(kind.code()), Bytes::from(bytes)).abi_encode_params(),
        )),
        other => Err(r.err(format!(
            "TimeDistributed({}) has no contract",
            other.class_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(class: &str, config: Value, inputs: &[Shape]) -> Vec<u8> {
        let src = LayerSource {
            name: "l",
            class_name: class,
            config: &config,
            input_shapes: inputs,
            output_shape: None,
        };
        encode_config(src).unwrap().1
    }

    fn word(x: u64) -> [u8; 32] {
        U256::from(x).to_be_bytes()
    }

    #[test]
    fn bidirectional_runs_the_backward_copy_backwards() {
        // tf.keras 2 writes no backward_layer: the wrapped layer stands for both directions.
        let lstm = json!({"class_name": "LSTM", "config": {"units": 2, "return_sequences": true}});
        let b = enc(
            "Bidirectional",
            json!({"merge_mode": "ave", "layer": lstm}),
            &[vec![None, Some(5), Some(3)]],
        );
        let (kind, merge, fwd, bwd) = <(U256, U256, Bytes, Bytes)>::abi_decode_params(&b).unwrap();
        assert_eq!((kind, merge), (U256::from(10), U256::from(3)));
        let lstm_words = [word(4), word(3), word(2), word(3), word(1)].concat();
        assert_eq!(fwd.to_vec(), lstm_words);
        assert_eq!(bwd.to_vec(), [lstm_words, word(1).to_vec()].concat());
        let e = encode_config(LayerSource {
            name: "bi",
            class_name: "Bidirectional",
            config: &json!({"merge_mode": null, "layer": {"class_name": "GRU", "config": {"units": 2}}}),
            input_shapes: &[vec![None, Some(5), Some(3)]],
            output_shape: None,
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("merge_mode") && e.contains("None"), "{e}");
    }

    #[test]
    fn time_distributed_dense_is_dense_and_a_conv_is_wrapped() {
        let dense = json!({"layer": {"class_name": "Dense", "config": {"units": 4}}});
        let src = |config: &Value, shape: &[Shape]| {
            encode_config(LayerSource {
                name: "td",
                class_name: "TimeDistributed",
                config,
                input_shapes: shape,
                output_shape: None,
            })
            .unwrap()
        };
        let (kind, _) = src(&dense, &[vec![None, Some(7), Some(3)]]);
        assert_eq!(kind, LayerKind::Dense);
        let conv =
            json!({"layer": {"class_name": "Conv1D", "config": {"filters": 2, "kernel_size": 3}}});
        let (kind, bytes) = src(&conv, &[vec![None, Some(7), Some(9), Some(3)]]);
        assert_eq!(kind, LayerKind::TimeDistributed);
        let (inner, cfg) = <(U256, Bytes)>::abi_decode_params(&bytes).unwrap();
        assert_eq!(inner, U256::from(22));
        assert_eq!(&cfg[32..64], &word(3)); // input channels of one step

        // Flatten on each step is a Reshape to (time, values per step).
        let flatten = json!({"layer": {"class_name": "Flatten", "config": {}}});
        let (kind, bytes) = src(&flatten, &[vec![None, Some(4), Some(3), Some(5), Some(2)]]);
        assert_eq!(kind, LayerKind::Reshape);
        let (dims,) = <(Vec<I256>,)>::abi_decode_params(&bytes).unwrap();
        assert_eq!(dims, vec![I256::MINUS_ONE, I256::try_from(30).unwrap()]);
        // An elementwise layer is itself; a Softmax always takes the last axis.
        let drop = json!({"layer": {"class_name": "Dropout", "config": {"rate": 0.5}}});
        assert_eq!(
            src(&drop, &[vec![None, Some(4), Some(3)]]).0,
            LayerKind::Dropout
        );
        let soft = json!({"layer": {"class_name": "Softmax", "config": {"axis": 1}}});
        let (kind, bytes) = src(&soft, &[vec![None, Some(4), Some(3)]]);
        assert_eq!(kind, LayerKind::Softmax);
        assert_eq!(bytes, I256::MINUS_ONE.to_be_bytes::<32>());
        let e = encode_config(LayerSource {
            name: "td",
            class_name: "TimeDistributed",
            config: &soft,
            input_shapes: &[vec![None, Some(4), Some(3), Some(2)]],
            output_shape: None,
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("over axis 1 of a step"), "{e}");
        // A grouped convolution has no per-step contract: said before anything is sent.
        let grouped = json!({"layer": {"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3, "groups": 2}}});
        let e = encode_config(LayerSource {
            name: "td",
            class_name: "TimeDistributed",
            config: &grouped,
            input_shapes: &[vec![None, Some(3), Some(6), Some(6), Some(4)]],
            output_shape: None,
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("TimeDistributed(DepthwiseConv2D) has no contract"),
            "{e}"
        );
    }

    #[test]
    fn dense_by_hand() {
        let b = enc(
            "Dense",
            json!({"units": 24, "activation": "relu", "use_bias": false}),
            &[vec![None, Some(16)]],
        );
        assert_eq!(b, [word(2), word(24), word(16), word(0)].concat());
    }

    #[test]
    fn input_is_a_dynamic_array() {
        let b = enc(
            "InputLayer",
            json!({"batch_input_shape": [null, 28, 28, 1]}),
            &[],
        );
        assert_eq!(b, [word(32), word(3), word(28), word(28), word(1)].concat());
        let src = LayerSource {
            name: "seq",
            class_name: "InputLayer",
            config: &json!({"batch_input_shape": [null, null, 8]}),
            input_shapes: &[],
            output_shape: None,
        };
        let e = encode_config(src).unwrap_err().to_string();
        assert!(
            e.contains("layer 'seq' (InputLayer)") && e.contains("known positive size"),
            "{e}"
        );
    }

    #[test]
    fn conv_pool_and_fixed_point_by_hand() {
        let b = enc(
            "Conv2D",
            json!({"filters": 4, "kernel_size": [5, 5], "strides": [1, 1], "padding": "same", "activation": "relu", "use_bias": true}),
            &[vec![None, Some(28), Some(28), Some(3)]],
        );
        assert_eq!(
            b,
            [
                word(2),
                word(3),
                word(4),
                word(5),
                word(5),
                word(1),
                word(1),
                word(1),
                word(1)
            ]
            .concat()
        );
        let b = enc(
            "MaxPooling2D",
            json!({"pool_size": [2, 2], "strides": null, "padding": "valid"}),
            &[],
        );
        assert_eq!(b, [word(2), word(2), word(2), word(2), word(0)].concat());
        let b = enc(
            "Rescaling",
            json!({"scale": 0.00392156862745098, "offset": -1.0}),
            &[],
        );
        assert_eq!(&b[24..32], &16_843_009i64.to_be_bytes()); // trunc(2^32 / 255)
        assert_eq!(
            &b[32..64],
            &I256::try_from(-(1i64 << 32)).unwrap().to_be_bytes::<32>()
        );
    }

    #[test]
    fn empty_and_relu_and_axis() {
        assert!(enc("Flatten", json!({}), &[]).is_empty());
        assert_eq!(
            enc("ReLU", json!({}), &[]),
            [word(0), word(0), word(0), word(0)].concat()
        );
        let b = enc("ReLU", json!({"max_value": 6.0}), &[]);
        assert_eq!(&b[..32], &word(1));
        assert_eq!(&b[32..64], &word(6 << 32));
        assert_eq!(enc("Softmax", json!({"axis": -1}), &[]), [0xffu8; 32]);
    }

    #[test]
    fn dilated_convolutions_are_refused_with_the_rate() {
        let config =
            json!({"filters": 2, "kernel_size": [3], "dilation_rate": [2], "padding": "causal"});
        let src = LayerSource {
            name: "causal_d2",
            class_name: "Conv1D",
            config: &config,
            input_shapes: &[vec![None, Some(12), Some(3)]],
            output_shape: None,
        };
        let e = encode_config(src).unwrap_err().to_string();
        assert!(
            e.contains("causal_d2") && e.contains("dilation_rate [2]"),
            "{e}"
        );
        let undilated = json!({"filters": 2, "kernel_size": [3], "dilation_rate": [1]});
        assert!(
            encode_config(LayerSource {
                config: &undilated,
                ..src
            })
            .is_ok()
        );
        let config2 = json!({"filters": 2, "kernel_size": [3, 3], "dilation_rate": [1, 2]});
        let e = encode_config(LayerSource {
            class_name: "Conv2D",
            config: &config2,
            input_shapes: &[vec![None, Some(8), Some(8), Some(3)]],
            ..src
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("dilation_rate [1, 2]"), "{e}");
    }

    #[test]
    fn unknown_things_are_named() {
        let src = LayerSource {
            name: "act",
            class_name: "Dense",
            config: &json!({"units": 3, "activation": "glu"}),
            input_shapes: &[vec![None, Some(4)]],
            output_shape: None,
        };
        let e = encode_config(src).unwrap_err().to_string();
        assert!(e.contains("glu"), "{e}");
        let src = LayerSource {
            class_name: "Attention",
            ..src
        };
        assert!(
            encode_config(src)
                .unwrap_err()
                .to_string()
                .contains("Attention")
        );
    }
}
