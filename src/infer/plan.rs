//! Chained inference: how a model too big for one `eth_call` is cut into calls that each stay
//! under a gas budget. A segment is a run of whole layers (`predictRangePacked`, the whole model
//! when it fits) or a slice of one layer's outputs (`forwardSlicePacked`, the layer clone's
//! `forwardSlice` through the model: output units of Dense, output rows of Conv2D and pooling,
//! output steps of Conv1D) when one layer alone is too big. Activations travel between calls
//! off-chain, packed ([`crate::chain::packed`]), so each segment is planned when its inputs are
//! known: their calldata is priced exactly.
//!
//! The gas of a segment comes from [`GasModel`], a per-kind linear model (multiply-accumulates,
//! values moved, activations) plus the EVM's quadratic memory and calldata costs, calibrated
//! against `tests/chain_chained.rs` measurements; [`Calibration`] scales it per kind once the
//! chain has answered an `eth_estimateGas`.
//!
//! Owns: the layer operations as read from the chain ([`LayerOp`]), their output shapes, the
//! gas model and the choice of segments. Must not touch: the network, the screen.

use crate::chain::LayerKind;
use crate::chain::packed;
use crate::infer::Tensor;
use alloy::primitives::{Bytes, I256, U256};
use alloy::sol_types::SolValue;
use std::collections::{BTreeMap, BTreeSet};

/// The most calldata one call sends: 512 KiB (about 1 MiB of hex in the JSON-RPC request,
/// under the request-size limits of anvil and common nodes; anvil refuses a 2 MiB request).
pub const MAX_CALLDATA_BYTES: u64 = 512 * 1024;

/// The default budget of one call: EIP-7825's per-transaction cap, which eternalize holds every
/// call to so that a plan fits every chain.
pub const DEFAULT_CALL_GAS: u64 = 1 << 24;

/// Padding of a window op along its sliced axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Valid,
    Same,
    /// Conv1D `causal`: k − 1 before, whatever the stride.
    Causal,
}

/// What a layer computes, as far as planning needs to know: its shape rule and its cost.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Input {
        shape: Vec<usize>,
    },
    Dense {
        units: usize,
        input_units: usize,
        activation: u8,
    },
    /// Conv2D (`rank` 2, input [h, w, cin]) or Conv1D (`rank` 1, input [w, cin]; `kernel[0]` and
    /// `strides[0]` are 1).
    Conv {
        rank: usize,
        filters: usize,
        cin: usize,
        kernel: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
        activation: u8,
    },
    /// MaxPooling2D / AveragePooling2D; `activation` is a convolution's, moved after the
    /// pooling (`crate::infer::fuse`; linear when the config has no trailing word).
    Pool {
        size: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
        activation: u8,
    },
    Flatten,
    /// Same shape as its first input; `per_value` gas for each value.
    Elementwise {
        per_value: u64,
    },
    /// GlobalAveragePooling1D/2D: the last axis.
    GlobalPool,
    ZeroPad {
        /// top, bottom, left, right
        pad: [usize; 4],
    },
    Reshape {
        target: Vec<i64>,
    },
    /// Concatenate along `axis` (Keras's, counting the batch axis; negative from the end).
    Concat {
        axis: i64,
    },
    /// MaxPooling1D / AveragePooling1D over [steps, ch].
    Pool1D {
        size: usize,
        stride: usize,
        padding: Padding,
        activation: u8,
    },
    /// GlobalMaxPooling1D/2D: the last axis; `keepdims` keeps the others, as 1.
    GlobalMax {
        keepdims: bool,
    },
    /// UpSampling, Cropping and ZeroPadding, 1D and 2D: each spatial axis regridded.
    Regrid {
        axes: Vec<crate::keras::shapes::Axis>,
    },
    /// Permute: output axis i is input axis `dims[i] − 1`.
    Permute {
        dims: Vec<usize>,
    },
    /// RepeatVector: [f] to [n, f].
    RepeatVector {
        n: usize,
    },
    /// Embedding: indices [..] to vectors [.., output_dim].
    Embedding {
        output_dim: usize,
    },
    /// TimeDistributed around a convolution: `inner` on each step of [steps, ..].
    TimeDistributed {
        inner: Box<LayerOp>,
    },
    /// SimpleRNN (1 gate), GRU (3) or LSTM (4) over [steps, features]; Bidirectional runs
    /// `directions` of them, concatenated (`concat`) or merged value by value.
    Recurrent {
        units: usize,
        gates: usize,
        return_sequences: bool,
        directions: usize,
        concat: bool,
        /// `go_backwards` (one direction only): the steps are read from the last.
        backwards: bool,
    },
    /// LayerNormalization / GroupNormalization: the input's shape. `row_local` when no statistic
    /// group spans two rows (LayerNormalization not over axis 1): a row slice is given its rows
    /// only; otherwise a slice is given the whole input (the statistics need every row) and
    /// normalises its rows only.
    Normalize {
        row_local: bool,
    },
    /// MultiHeadAttention: inputs query [Tq, Dq], value [Tk, Dv], key [Tk, Dk] (optional);
    /// output [Tq, out_dim].
    Attention {
        heads: usize,
        key_dim: usize,
        value_dim: usize,
        out_dim: usize,
    },
    /// The convolutions of kinds 41–43 (input [h, w, cin]): grouped (DepthwiseConv2D, Conv2D
    /// with groups), separable (depthwise by `multiplier`, then 1×1 to `filters`), transposed.
    ConvExtra {
        shape: ConvShape,
        filters: usize,
        cin: usize,
        kernel: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
        activation: u8,
    },
}

/// Which of the kinds 41–43 a [`Op::ConvExtra`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvShape {
    Grouped { groups: usize },
    Separable { multiplier: usize },
    Transposed,
}

/// Activation codes (`contracts/lib/Types.sol`, `Activation`).
pub mod activation {
    pub const LEAKY_RELU: u8 = 0;
    pub const LINEAR: u8 = 1;
    pub const RELU: u8 = 2;
    pub const SIGMOID: u8 = 3;
    pub const TANH: u8 = 4;
    pub const SOFTMAX: u8 = 5;
    /// The last of `infer::activations`'s codes (7..=19): a whole row, like softmax.
    pub const LOG_SOFTMAX: u8 = 19;
}

/// Units, gates and `return_sequences` of a SimpleRNN, LSTM or GRU config (static words:
/// SimpleRNN `act, units, in, seq`; LSTM `act, ract, units, in, seq`; GRU `act, ract, units, in,
/// resetAfter, seq`; `go_backwards` may follow).
fn recurrent(kind: LayerKind, config: &[u8]) -> Result<(usize, usize, bool), String> {
    let (units_at, seq_at, gates) = match kind {
        LayerKind::SimpleRnn => (1, 3, 1),
        LayerKind::Lstm => (2, 4, 4),
        LayerKind::Gru => (2, 5, 3),
        other => return Err(format!("{} is not a recurrent kind", other.class_name())),
    };
    let word = |i: usize| {
        config
            .get(32 * i..32 * i + 32)
            .map(U256::from_be_slice)
            .ok_or_else(|| format!("its {} config is too short", kind.class_name()))
    };
    Ok((
        small(word(units_at)?, "units")?,
        gates,
        !word(seq_at)?.is_zero(),
    ))
}

/// Whether a SimpleRNN, LSTM or GRU config reads its steps from the last: the `go_backwards`
/// word after its static words (`RecurrentBase._decodeCell`).
fn recurrent_backwards(kind: LayerKind, config: &[u8]) -> bool {
    let words = match kind {
        LayerKind::SimpleRnn => 4,
        LayerKind::Lstm => 5,
        LayerKind::Gru => 6,
        _ => return false,
    };
    config.len() > 32 * words
}

/// One layer of the model as the chain links it.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerOp {
    pub kind: LayerKind,
    /// Positions of the layers it reads (none for an InputLayer).
    pub inputs: Vec<usize>,
    pub op: Op,
}

fn small(x: U256, what: &str) -> Result<usize, String> {
    usize::try_from(x).map_err(|_| format!("{what} {x} is too large"))
}

/// A `uint256[]` config field of sizes, each checked by [`small`].
fn smalls(xs: Vec<U256>, what: &str) -> Result<Vec<usize>, String> {
    xs.into_iter().map(|x| small(x, what)).collect()
}

/// A `uint8` config field (read as a word: the ABI pads it).
fn byte(x: U256) -> Result<u8, String> {
    u8::try_from(x).map_err(|_| format!("code {x} does not fit uint8"))
}

fn padding(code: u8) -> Result<Padding, String> {
    match code {
        0 => Ok(Padding::Valid),
        1 => Ok(Padding::Same),
        2 => Ok(Padding::Causal),
        c => Err(format!("padding code {c} is unknown")),
    }
}

impl Op {
    /// The op of a layer of `kind` from its ABI-encoded config (`ILayer.configData()`; the
    /// encodings are in contracts/README.md).
    pub fn decode(kind: LayerKind, config: &[u8]) -> Result<Op, String> {
        let bad = |e: alloy::sol_types::Error| {
            format!("its {} config does not decode: {e}", kind.class_name())
        };
        Ok(match kind {
            LayerKind::Input => {
                let (dims,) = <(Vec<U256>,)>::abi_decode_params(config).map_err(bad)?;
                Op::Input {
                    shape: smalls(dims, "dimension")?,
                }
            }
            LayerKind::Dense => {
                let (act, units, input_units, _) =
                    <(U256, U256, U256, bool)>::abi_decode_params(config).map_err(bad)?;
                Op::Dense {
                    units: small(units, "units")?,
                    input_units: small(input_units, "input units")?,
                    activation: byte(act)?,
                }
            }
            LayerKind::Conv2D => {
                let (act, cin, filters, k, s, pad, _) =
                    <(U256, U256, U256, [U256; 2], [U256; 2], U256, bool)>::abi_decode_params(
                        config,
                    )
                    .map_err(bad)?;
                Op::Conv {
                    rank: 2,
                    filters: small(filters, "filters")?,
                    cin: small(cin, "input filters")?,
                    kernel: [small(k[0], "kernel")?, small(k[1], "kernel")?],
                    strides: [small(s[0], "stride")?, small(s[1], "stride")?],
                    padding: padding(byte(pad)?)?,
                    activation: byte(act)?,
                }
            }
            LayerKind::Conv1D => {
                let (act, cin, filters, k, s, pad, _) =
                    <(U256, U256, U256, U256, U256, U256, bool)>::abi_decode_params(config)
                        .map_err(bad)?;
                Op::Conv {
                    rank: 1,
                    filters: small(filters, "filters")?,
                    cin: small(cin, "input filters")?,
                    kernel: [1, small(k, "kernel")?],
                    strides: [1, small(s, "stride")?],
                    padding: padding(byte(pad)?)?,
                    activation: byte(act)?,
                }
            }
            LayerKind::MaxPooling2D | LayerKind::AveragePooling2D => {
                let (size, s, pad) =
                    <([U256; 2], [U256; 2], U256)>::abi_decode_params(config).map_err(bad)?;
                Op::Pool {
                    size: [small(size[0], "pool size")?, small(size[1], "pool size")?],
                    strides: [small(s[0], "stride")?, small(s[1], "stride")?],
                    padding: padding(byte(pad)?)?,
                    activation: post_activation(config, 5)?,
                }
            }
            LayerKind::Flatten => Op::Flatten,
            LayerKind::Reshape => {
                let (target,) = <(Vec<I256>,)>::abi_decode_params(config).map_err(bad)?;
                Op::Reshape {
                    target: target
                        .into_iter()
                        .map(|d| i64::try_from(d).map_err(|_| format!("target dimension {d}")))
                        .collect::<Result<_, _>>()?,
                }
            }
            LayerKind::ZeroPadding2D => {
                let (pad, _) = <([U256; 4], U256)>::abi_decode_params(config).map_err(bad)?;
                let mut p = [0; 4];
                for (d, v) in p.iter_mut().zip(pad) {
                    *d = small(v, "padding")?;
                }
                Op::ZeroPad { pad: p }
            }
            LayerKind::GlobalAveragePooling1D | LayerKind::GlobalAveragePooling2D => Op::GlobalPool,
            LayerKind::Sigmoid | LayerKind::Tanh => Op::Elementwise { per_value: 520 },
            LayerKind::Softmax => Op::Elementwise { per_value: 480 },
            LayerKind::Elu => Op::Elementwise { per_value: 1_500 },
            // Row slices on 64×64×8 (tests/chain_rows.rs): BatchNormalization 1,119 and PReLU
            // 1,743 gas per value all included, 3.5M and 2.8M over the model at 160 and 150.
            // Then against eth_estimateGas of slices of 8 and 32 rows (BENCHMARKS.md, "Gas
            // model of slices"): BatchNormalization 1.38–1.50 × the model at 480, PReLU 2.38 ×.
            LayerKind::Prelu => Op::Elementwise { per_value: 1_480 },
            LayerKind::BatchNormalization => Op::Elementwise { per_value: 800 },
            LayerKind::LayerNormalization | LayerKind::GroupNormalization => {
                let (_, _, _, spec) =
                    <(i64, bool, bool, U256)>::abi_decode_params(config).map_err(bad)?;
                Op::Normalize {
                    // LayerNormalization not over axis 1 (bit 0): every group lies in one row.
                    row_local: kind == LayerKind::LayerNormalization && !spec.bit(0),
                }
            }
            LayerKind::MultiHeadAttention => {
                let (h, k, v, o, _) =
                    <(U256, U256, U256, U256, bool)>::abi_decode_params(config).map_err(bad)?;
                Op::Attention {
                    heads: small(h, "heads")?,
                    key_dim: small(k, "key_dim")?,
                    value_dim: small(v, "value_dim")?,
                    out_dim: small(o, "output size")?,
                }
            }
            // ReLU (MobileNetV2 96×96's ReLU6, slices and whole, 6,912–18,432 values): ≈ 190 gas
            // a value over the model at 60 (1.36–1.59 × it).
            LayerKind::Relu => Op::Elementwise { per_value: 250 },
            LayerKind::Linear
            | LayerKind::Dropout
            | LayerKind::Rescaling
            | LayerKind::Add
            | LayerKind::Multiply => Op::Elementwise { per_value: 60 },
            LayerKind::SimpleRnn | LayerKind::Lstm | LayerKind::Gru => {
                let (units, gates, return_sequences) = recurrent(kind, config)?;
                Op::Recurrent {
                    units,
                    gates,
                    return_sequences,
                    directions: 1,
                    concat: false,
                    backwards: recurrent_backwards(kind, config),
                }
            }
            LayerKind::Bidirectional => {
                let (inner, merge, forward, _) =
                    <(U256, U256, Bytes, Bytes)>::abi_decode_params(config).map_err(bad)?;
                let inner = u16::try_from(inner)
                    .ok()
                    .and_then(LayerKind::from_code)
                    .ok_or_else(|| format!("its wrapped kind {inner} is not a recurrent kind"))?;
                let (units, gates, return_sequences) = recurrent(inner, &forward)?;
                Op::Recurrent {
                    units,
                    gates,
                    return_sequences,
                    directions: 2,
                    concat: merge.is_zero(),
                    backwards: false,
                }
            }
            LayerKind::Embedding => {
                let (_, output_dim) = <(U256, U256)>::abi_decode_params(config).map_err(bad)?;
                Op::Embedding {
                    output_dim: small(output_dim, "output_dim")?,
                }
            }
            LayerKind::TimeDistributed => {
                let (inner, bytes) = <(U256, Bytes)>::abi_decode_params(config).map_err(bad)?;
                let kind = u16::try_from(inner)
                    .ok()
                    .and_then(LayerKind::from_code)
                    .filter(|k| !matches!(k, LayerKind::TimeDistributed))
                    .ok_or_else(|| format!("its wrapped kind {inner} is unknown"))?;
                Op::TimeDistributed {
                    inner: Box::new(LayerOp {
                        kind,
                        inputs: vec![0],
                        op: Op::decode(kind, &bytes)?,
                    }),
                }
            }
            LayerKind::DepthwiseConv2D | LayerKind::SeparableConv2D => {
                let (act, cin, filters, k, s, pad, _, extra) = <(
                    U256,
                    U256,
                    U256,
                    [U256; 2],
                    [U256; 2],
                    U256,
                    bool,
                    U256,
                )>::abi_decode_params(
                    config
                )
                .map_err(bad)?;
                let extra = small(extra, "groups")?.max(1);
                Op::ConvExtra {
                    shape: if kind == LayerKind::DepthwiseConv2D {
                        ConvShape::Grouped { groups: extra }
                    } else {
                        ConvShape::Separable { multiplier: extra }
                    },
                    filters: small(filters, "filters")?,
                    cin: small(cin, "input filters")?,
                    kernel: [small(k[0], "kernel")?, small(k[1], "kernel")?],
                    strides: [small(s[0], "stride")?, small(s[1], "stride")?],
                    padding: padding(byte(pad)?)?,
                    activation: byte(act)?,
                }
            }
            LayerKind::Conv2DTranspose => {
                let (act, cin, filters, k, s, pad, _) =
                    <(U256, U256, U256, [U256; 2], [U256; 2], U256, bool)>::abi_decode_params(
                        config,
                    )
                    .map_err(bad)?;
                Op::ConvExtra {
                    shape: ConvShape::Transposed,
                    filters: small(filters, "filters")?,
                    cin: small(cin, "input filters")?,
                    kernel: [small(k[0], "kernel")?, small(k[1], "kernel")?],
                    strides: [small(s[0], "stride")?, small(s[1], "stride")?],
                    padding: padding(byte(pad)?)?,
                    activation: byte(act)?,
                }
            }
            LayerKind::MaxPooling1D | LayerKind::AveragePooling1D => {
                let (size, s, pad) =
                    <(U256, U256, U256)>::abi_decode_params(config).map_err(bad)?;
                Op::Pool1D {
                    size: small(size, "pool size")?,
                    stride: small(s, "stride")?,
                    padding: padding(byte(pad)?)?,
                    activation: post_activation(config, 3)?,
                }
            }
            LayerKind::GlobalMaxPooling1D | LayerKind::GlobalMaxPooling2D => {
                let (keepdims,) = <(bool,)>::abi_decode_params(config).map_err(bad)?;
                Op::GlobalMax { keepdims }
            }
            LayerKind::UpSampling1D
            | LayerKind::UpSampling2D
            | LayerKind::Cropping1D
            | LayerKind::Cropping2D
            | LayerKind::ZeroPadding1D => {
                let (repeat, crop, pad) =
                    <([U256; 2], [U256; 4], [U256; 4])>::abi_decode_params(config).map_err(bad)?;
                let rank = if matches!(kind, LayerKind::UpSampling2D | LayerKind::Cropping2D) {
                    2
                } else {
                    1
                };
                let mut axes = Vec::with_capacity(rank);
                for i in 0..rank {
                    axes.push(crate::keras::shapes::Axis {
                        repeat: small(repeat[i], "size")?,
                        crop: [small(crop[2 * i], "crop")?, small(crop[2 * i + 1], "crop")?],
                        pad: [small(pad[2 * i], "pad")?, small(pad[2 * i + 1], "pad")?],
                    });
                }
                Op::Regrid { axes }
            }
            LayerKind::Permute => {
                let (dims,) = <(Vec<U256>,)>::abi_decode_params(config).map_err(bad)?;
                Op::Permute {
                    dims: smalls(dims, "dims")?,
                }
            }
            LayerKind::RepeatVector => {
                let (n,) = <(U256,)>::abi_decode_params(config).map_err(bad)?;
                Op::RepeatVector { n: small(n, "n")? }
            }
            // Per input value (measured ≈ 70–110 on shapes_2d_fn, tests/chain_shapes.rs).
            LayerKind::Subtract | LayerKind::Maximum | LayerKind::Minimum | LayerKind::Average => {
                Op::Elementwise { per_value: 120 }
            }
            LayerKind::Concatenate => {
                let (axis,) = <(I256,)>::abi_decode_params(config).map_err(bad)?;
                Op::Concat {
                    axis: i64::try_from(axis).map_err(|_| format!("axis {axis}"))?,
                }
            }
        })
    }
}

/// Output length of a transposed convolution along one axis, and the zero rows before its spread
/// input (`Conv2DTransposeLayer._lenAndLead`): valid n·s + max(k − s, 0), same n·s; lead
/// k − 1 − crop.
pub fn transpose_len_lead(n: usize, k: usize, s: usize, padding: Padding) -> (usize, usize) {
    let extra = k.saturating_sub(s);
    match padding {
        Padding::Same => (n * s, k - 1 - extra / 2),
        _ => (n * s + extra, k - 1),
    }
}

/// The input rows [first, last) that output rows [from, from + count) of a transposed
/// convolution read (`Conv2DTransposeLayer._transposeRows`): rows i with lead + i·s in
/// [from, from + count + k − 1).
pub fn transpose_rows(
    from: usize,
    count: usize,
    k: usize,
    s: usize,
    lead: usize,
    n: usize,
) -> (usize, usize) {
    let hi = from + count + k - 1;
    let first = if from > lead {
        (from - lead).div_ceil(s)
    } else {
        0
    };
    let last = if hi > lead {
        (hi - lead).div_ceil(s).min(n)
    } else {
        0
    };
    (first.min(last), last)
}

/// Output length of a window op along one axis, as Keras (and the contracts) compute it.
pub fn out_len(n: usize, k: usize, s: usize, padding: Padding) -> Option<usize> {
    match padding {
        Padding::Valid => (n >= k).then(|| (n - k) / s + 1),
        Padding::Same | Padding::Causal => Some(n.div_ceil(s)),
    }
}

/// Leading padding of a window op along one axis (the contracts' `_convPadBefore`).
pub fn pad_before(n: usize, out: usize, k: usize, s: usize, padding: Padding) -> usize {
    match padding {
        Padding::Valid => 0,
        Padding::Causal => k - 1,
        Padding::Same => ((out.saturating_sub(1)) * s + k).saturating_sub(n) / 2,
    }
}

/// The input rows [first, last) that output rows [from, from + count) of a window op read — the
/// contracts' `_windowRows`, which `forwardSlice` checks the rows sent against.
pub fn window_rows(
    from: usize,
    count: usize,
    k: usize,
    s: usize,
    pad: usize,
    n: usize,
) -> (usize, usize) {
    let top = from * s;
    let first = top.saturating_sub(pad);
    let end = (from + count - 1) * s + k;
    let last = end.saturating_sub(pad).min(n);
    (first, last.max(first))
}

impl LayerOp {
    /// The output shape for these input shapes, or `None` when only running the layer tells.
    pub fn output_shape(&self, ins: &[&[usize]]) -> Option<Vec<usize>> {
        let first = ins.first().copied();
        match &self.op {
            Op::Input { shape } => Some(shape.clone()),
            Op::Dense { units, .. } => {
                let mut s = first?.to_vec();
                *s.last_mut()? = *units;
                Some(s)
            }
            Op::Conv {
                rank,
                filters,
                kernel,
                strides,
                padding,
                ..
            } => {
                let s = first?;
                if *rank == 2 {
                    let [h, w, _] = s else { return None };
                    Some(vec![
                        out_len(*h, kernel[0], strides[0], *padding)?,
                        out_len(*w, kernel[1], strides[1], *padding)?,
                        *filters,
                    ])
                } else {
                    let [w, _] = s else { return None };
                    Some(vec![
                        out_len(*w, kernel[1], strides[1], *padding)?,
                        *filters,
                    ])
                }
            }
            Op::Pool {
                size,
                strides,
                padding,
                ..
            } => {
                let [h, w, c] = first? else { return None };
                Some(vec![
                    out_len(*h, size[0], strides[0], *padding)?,
                    out_len(*w, size[1], strides[1], *padding)?,
                    *c,
                ])
            }
            Op::Flatten => Some(vec![first?.iter().product()]),
            Op::Elementwise { .. } | Op::Normalize { .. } => Some(first?.to_vec()),
            Op::GlobalPool => Some(vec![*first?.last()?]),
            Op::ZeroPad { pad } => {
                let [h, w, c] = first? else { return None };
                Some(vec![h + pad[0] + pad[1], w + pad[2] + pad[3], *c])
            }
            Op::Reshape { target } => {
                let n: usize = first?.iter().product();
                let known: i64 = target.iter().filter(|&&d| d > 0).product();
                target
                    .iter()
                    .map(|&d| {
                        if d > 0 {
                            usize::try_from(d).ok()
                        } else {
                            usize::try_from(known)
                                .ok()
                                .filter(|&k| k > 0)
                                .map(|k| n / k)
                        }
                    })
                    .collect()
            }
            Op::Concat { axis } => {
                let rank = first?.len() as i64;
                let ax = if *axis < 0 { rank + axis } else { axis - 1 };
                let ax = usize::try_from(ax).ok().filter(|&a| (a as i64) < rank)?;
                let mut s = first?.to_vec();
                s[ax] = ins
                    .iter()
                    .map(|i| i.get(ax).copied())
                    .sum::<Option<usize>>()?;
                Some(s)
            }
            Op::Pool1D {
                size,
                stride,
                padding,
                ..
            } => {
                let [n, c] = first? else { return None };
                Some(vec![out_len(*n, *size, *stride, *padding)?, *c])
            }
            Op::GlobalMax { keepdims } => {
                let s = first?;
                let c = *s.last()?;
                if *keepdims {
                    let mut out = vec![1; s.len()];
                    *out.last_mut()? = c;
                    Some(out)
                } else {
                    Some(vec![c])
                }
            }
            Op::Regrid { axes } => {
                let mut s = first?.to_vec();
                if s.len() != axes.len() + 1 {
                    return None;
                }
                for (d, a) in s.iter_mut().zip(axes) {
                    *d = a.out_len(*d)?;
                }
                Some(s)
            }
            Op::Permute { dims } => {
                let s = first?;
                dims.iter()
                    .map(|&d| d.checked_sub(1).and_then(|d| s.get(d).copied()))
                    .collect()
            }
            Op::RepeatVector { n } => {
                let [f] = first? else { return None };
                Some(vec![*n, *f])
            }
            Op::Embedding { output_dim } => {
                let mut s = first?.to_vec();
                s.push(*output_dim);
                Some(s)
            }
            Op::TimeDistributed { inner } => {
                let (steps, step) = first?.split_first()?;
                let mut s = vec![*steps];
                s.extend(inner.output_shape(&[step])?);
                Some(s)
            }
            Op::Recurrent {
                units,
                return_sequences,
                directions,
                concat,
                ..
            } => {
                let [steps, _] = first? else { return None };
                let width = if *concat { units * directions } else { *units };
                Some(match return_sequences {
                    true => vec![*steps, width],
                    false => vec![width],
                })
            }
            Op::ConvExtra {
                shape,
                filters,
                kernel,
                strides,
                padding,
                ..
            } => {
                let [h, w, _] = first? else { return None };
                let (oh, ow) = if *shape == ConvShape::Transposed {
                    (
                        transpose_len_lead(*h, kernel[0], strides[0], *padding).0,
                        transpose_len_lead(*w, kernel[1], strides[1], *padding).0,
                    )
                } else {
                    (
                        out_len(*h, kernel[0], strides[0], *padding)?,
                        out_len(*w, kernel[1], strides[1], *padding)?,
                    )
                };
                Some(vec![oh, ow, *filters])
            }
            Op::Attention { out_dim, .. } => Some(vec![*first?.first()?, *out_dim]),
        }
    }

    /// Whether output row r (first axis) is a function of row r of each input alone — the kinds
    /// on `RowSliceBase` (elementwise, along the last axis, InputLayer, the same-shape merges),
    /// sliced by rows for tensors of rank ≥ 2: each slice is given the same rows of every input.
    pub fn row_local(&self) -> bool {
        use LayerKind as K;
        matches!(self.op, Op::Normalize { row_local: true })
            || matches!(
                self.kind,
                K::Input
                    | K::BatchNormalization
                    | K::Relu
                    | K::Sigmoid
                    | K::Tanh
                    | K::Softmax
                    | K::Elu
                    | K::Prelu
                    | K::Linear
                    | K::Dropout
                    | K::Rescaling
                    | K::Add
                    | K::Multiply
                    | K::Subtract
                    | K::Average
                    | K::Maximum
                    | K::Minimum
            )
    }

    /// The length of the axis `forwardSlice` cuts (output units of Dense, output rows of the
    /// window ops and of the row-local kinds), when the layer can compute a part of its output
    /// for a part of the cost.
    pub fn slice_axis(&self, out: &[usize]) -> Option<usize> {
        if self.row_local() {
            return out.first().copied().filter(|&n| n > 1 && out.len() >= 2);
        }
        match &self.op {
            Op::Dense { activation, .. }
                if *activation != activation::SOFTMAX && *activation != activation::LOG_SOFTMAX =>
            {
                out.last().copied()
            }
            // A Conv2D of one output row still splits, into blocks of its output channels
            // (MobileNetV2's last 1×1 convolution: 1×1×1280 outputs, ≈ 28M gas whole).
            Op::Conv { rank: 2, .. } => return out.first().copied().filter(|&n| n > 0),
            Op::Conv { .. } | Op::Pool { .. } | Op::ConvExtra { .. } | Op::ZeroPad { .. } => {
                out.first().copied()
            }
            // Not row-local: each slice reads the whole input for the statistics.
            Op::Normalize { .. } => out.first().copied().filter(|_| out.len() >= 2),
            // By query rows: each slice reads its query rows and the whole value and key.
            Op::Attention { .. } => out.first().copied(),
            _ => None,
        }
        .filter(|&n| n > 1)
    }

    /// The positions a SimpleRNN, LSTM or GRU on an input of shape `input` is cut into: its
    /// time steps, which its `forwardSlice` runs [from, from + count) from a carried state
    /// (`RecurrentBase._forwardSteps`). A Bidirectional's n steps are 2n + 1 positions: the
    /// forward direction's steps [0, n), the backward direction's [n, 2n) (each from its own
    /// carry; `BidirectionalLayer._forwardSlice`), then the merge of the two at 2n. `None` for
    /// every other layer.
    pub fn time_steps(&self, input: &[usize]) -> Option<usize> {
        match (&self.op, input) {
            (Op::Recurrent { directions: 1, .. }, [steps, _]) if *steps > 1 => Some(*steps),
            (Op::Recurrent { directions: 2, .. }, [steps, _]) if *steps > 1 => Some(2 * steps + 1),
            _ => None,
        }
    }

    /// The steps of a Bidirectional on `input` (`None` for another layer).
    pub fn bidirectional_steps(&self, input: &[usize]) -> Option<usize> {
        match (&self.op, input) {
            (Op::Recurrent { directions: 2, .. }, [steps, _]) if *steps > 1 => Some(*steps),
            _ => None,
        }
    }

    /// Where a run of slices from position `start` of `of` must stop: a Bidirectional's
    /// direction (or its merge) ends there, its carry starting afresh.
    pub fn slice_end(&self, input: &[usize], start: usize, of: usize) -> usize {
        match self.bidirectional_steps(input) {
            Some(n) if start < n => n,
            Some(n) if start < 2 * n => 2 * n,
            _ => of,
        }
    }

    /// The values a recurrent step slice carries in and out (h, and an LSTM's cell state; a
    /// Bidirectional's: one direction's).
    pub fn carry_len(&self) -> Option<usize> {
        match &self.op {
            Op::Recurrent { units, gates, .. } => {
                Some(if *gates == 4 { 2 * units } else { *units })
            }
            _ => None,
        }
    }

    /// The input rows (first axis) a slice reads, or `None` when it reads the whole input. A
    /// row-local kind reads these rows of every input; MultiHeadAttention these rows of its
    /// query (`input`) and every other input whole (`ISliceableLayer`'s `WHOLE_REST`); the
    /// others have one input.
    pub fn slice_rows(&self, input: &[usize], from: usize, count: usize) -> Option<(usize, usize)> {
        if self.row_local() {
            return Some((from, from + count));
        }
        if let Some(n) = self.bidirectional_steps(input) {
            // Forward steps in reading order, backward steps from the end, no rows to merge.
            return match from {
                f if f + count <= n => Some((f, f + count)),
                f if f >= n && f + count <= 2 * n => Some((2 * n - f - count, 2 * n - f)),
                f if f == 2 * n && count == 1 => Some((0, 0)),
                _ => None,
            };
        }
        if let Op::Attention { .. } = &self.op {
            return (from + count <= *input.first()?).then_some((from, from + count));
        }
        if let (Some(n), Op::Recurrent { backwards, .. }) = (self.time_steps(input), &self.op) {
            // Steps [from, from + count) in reading order: from the end when `go_backwards`.
            return (from + count <= n).then(|| match backwards {
                true => (n - from - count, n - from),
                false => (from, from + count),
            });
        }
        if let Op::Normalize { .. } = &self.op {
            // Statistics over every row: the whole input.
            return Some((0, *input.first()?));
        }
        if let Op::ZeroPad { pad } = &self.op {
            // Output row r is input row r − top, or padding.
            let n = *input.first()?;
            let first = from.saturating_sub(pad[0]).min(n);
            let last = (from + count).saturating_sub(pad[0]).min(n);
            return Some((first, last.max(first)));
        }
        let (k, s, n, p) = match &self.op {
            Op::Conv {
                rank: 2,
                kernel,
                strides,
                padding,
                ..
            } => (kernel[0], strides[0], input[0], *padding),
            Op::Conv {
                rank: 1,
                kernel,
                strides,
                padding,
                ..
            } => (kernel[1], strides[1], input[0], *padding),
            Op::Pool {
                size,
                strides,
                padding,
                ..
            } => (size[0], strides[0], input[0], *padding),
            Op::ConvExtra {
                shape: ConvShape::Transposed,
                kernel,
                strides,
                padding,
                ..
            } => {
                let (_, lead) = transpose_len_lead(input[0], kernel[0], strides[0], *padding);
                return Some(transpose_rows(
                    from, count, kernel[0], strides[0], lead, input[0],
                ));
            }
            Op::ConvExtra {
                kernel,
                strides,
                padding,
                ..
            } => (kernel[0], strides[0], input[0], *padding),
            _ => return None,
        };
        let out = out_len(n, k, s, p)?;
        let pad = pad_before(n, out, k, s, p);
        Some(window_rows(from, count, k, s, pad, n))
    }
}

/// The model's memory over a run of layers ([`Planner::model_frame`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Frame {
    /// Most words its tensors (and a several-input layer's calldata) take at once.
    peak: u64,
    /// Words copied: given inputs, answers, several-input calldata.
    copied: u64,
}

/// Gas of `words` 32-byte words of memory in one frame (3 per word plus the quadratic part).
pub fn memory_gas(words: u64) -> u64 {
    3 * words + words * words / 512
}

/// Calldata gas of values sent as ABI `int256` words: 16 per non-zero byte, 4 per zero byte
/// (negative values are sign-filled with 0xff).
pub fn calldata_gas(values: &[i128]) -> u64 {
    values
        .iter()
        .map(|&v| {
            crate::chain::calls::calldata_gas(
                &I256::try_from(v).unwrap_or(I256::ZERO).to_be_bytes::<32>(),
            )
        })
        .sum()
}

/// Conv2D/Conv1D, per kernel value read, widened and packed into lanes (MobileNetV2's 1×1
/// convolutions at 1×1 spatial, where every weight serves one output: 188–194 gas per weight
/// all included, `tests/mobilenet_v2.rs`).
const CONV_WEIGHT: u64 = 150;
/// Conv2D/Conv1D, per EVM multiplication of `_pixels`'s dot loops (three lanes each): ≈ 29.5
/// gas inside the loop body in fashion_mnist's second convolution, 34 with the loop's tests
/// (BENCHMARKS.md, "Cheaper convolution kernels").
const CONV_MUL: u64 = 34;
/// Convolution, per window row and block of up to six accumulators (the dot loop's set-up, its
/// pointer jumps and an odd tap): fitted on fashion_mnist's two 5×5 convolutions
/// (BENCHMARKS.md, "Cheaper convolution kernels").
const CONV_ROW: u64 = 270;
/// The same by three pixels (`ConvBase._byPixel`: short windows of few filters): ≈ 620 gas
/// fitted on fashion_mnist's first convolution (2.64M gas in `predict`), whose five-tap rows pay
/// an odd tap each and whose outputs cost more per window row.
const CONV_ROW_PIXEL: u64 = 620;

/// `EternalConvKernel` (a narrowed convolution hosted, `ConvBase._hosts`), fitted on 16 shapes
/// of scripts/bench-conv-kernel (int8 and int16, 1–32 filters, 1×5 to 7×7 windows; least
/// squares on the relative error, within ±4 %; the layer's memory, `memory_gas` of its frame,
/// taken off first; BENCHMARKS.md, `hostdot`): per EVM multiplication of its dot loop (≈ 26
/// gas of loads, MUL and ADD, sixteen input words a pass) …
const HOST_MUL: f64 = 30.6;
/// … per pass (a group of Q pixels and a block of six filters on one output row): the dot
/// loop's set-up and odd words, the emit's set-up …
const HOST_PASS: f64 = 905.0;
/// … per output value: its lane, scale and bias, the store, the host's memory for it …
const HOST_OUT: u64 = 69;
/// … per input value: the layer's lane-bound check and copy into the call, narrowed straight
/// into L-lane words sliding Q lanes a group (320 in `hostdot`'s fit with the old packing; its
/// packing then cost 254–348 gas an input value more than `hostpack`'s, scripts/bench-conv-kernel
/// on fashion_mnist's convolutions in int8 and int16: 320 − 290) …
const HOST_INPUT: u64 = 30;
/// … per stored kernel value copied and packed (kw taps a word; 147 in `hostdot`'s fit, less
/// `hostpack`'s 96–107 gas a weight) …
const HOST_WEIGHT: u64 = 47;
/// … and per call (the cold STATICCALL, the header and terms).
const HOST_CALL: u64 = 15_500;

/// LayerNormalization / GroupNormalization, per value given: Σx and Σd² over it and its
/// index's fixed part (`NormalizationBase._normalize`).
const NORM_INDEX: u64 = 320;
/// … and per axis of the input, the index's mixed-radix walk.
const NORM_AXIS: u64 = 60;
/// … per value returned: d · r, γ, β and the store.
const NORM_OUT: u64 = 440;
/// … per gamma or beta value read and widened into memory.
const NORM_PARAM: u64 = 200;

/// MaxPooling2D / AveragePooling2D, per input value read (its copy into the layer's frame):
/// whole poolings measured 1.41–1.79 × the model without it (cnn_500k, rowslice_fn; BENCHMARKS.md
/// "Gas model of slices").
const POOL_INPUT: u64 = 70;
/// The same for the 2×2 poolings at stride 2 (`Pooling2DBase._pool2x2`), cheaper since
/// `densepool`/`rareacts`: fashion_mnist's two (4,704 and 3,136 values read, tanh fused) cost
/// 500,495 and 328,719 gas in `kernel_gas`, where 70 a value made them 741k and 494k; 18 fits
/// both within 1 % (BENCHMARKS.md, `convwire`).
const POOL_2X2_INPUT: u64 = 18;

/// A 2×2 max pooling's fused sigmoid/tanh, per output value, under `activation_gas`'s pass:
/// 660,213 → 595,493 and 424,033 → 380,873 gas on fashion_mnist's two poolings (1,176 and 784
/// outputs), ≈ 55 a value (BENCHMARKS.md, "poolfuse").
const POOL_FUSED_SAVING: u64 = 55;

/// A fused tanh's further saving per output value since its loops are unrolled by the pixel's
/// channels (scripts/gen-pool-tanh.py, BENCHMARKS.md "poolout"): fashion_mnist's two poolings
/// went 500,495 → 444,336 and 328,719 → 289,910 gas in `kernel_gas` (1,176 and 784 outputs),
/// 47.8 and 49.5 a value; 48 fits both within 0.3 % of the layer.
const POOL_TANH_UNROLLED: u64 = 48;

/// BatchNormalization, per parameter value read and widened into memory (`_tensorValues`).
const BN_PARAM: u64 = 650;

/// The model unpacking one given value into memory (`PackedValues.copyTo`): ≈ 103 gas a value
/// in fashion_mnist's `predictRangePacked` when traced for "modelmem", ≈ 43 since `unpack`
/// (eight values a pass; BENCHMARKS.md). Kept at 100 until the planner's terms are refitted
/// together: an overestimate only makes chained steps a little smaller, never over the cap.
const UNPACK_GAS: u64 = 100;
/// The model returning one value (the ABI copy of the layer's answer).
const RETURN_GAS: u64 = 10;
/// A slice through the model (`forwardSlicePacked`): its dispatch, the layer slot's storage
/// reads and the call to the layer, over a direct call of the layer's implementation.
const SLICE_HOP: u64 = 12_000;

/// A Dense row part, per partial sum carried in (its packed word, unpacking, the addition):
/// ≈ 620–1,140 gas measured on cnn_15m's fc1 (128 sums: a middle part less the first part of
/// as many rows, 1 to 2,048 rows; BENCHMARKS.md "Dense layers cut by their input rows").
const ROW_CARRY: u64 = 700;
/// A Dense's last row part, per unit finished (its bias read, scale, shift, store): ≈ 1,090–1,300
/// gas measured on fc1 (the last part less a middle part).
const ROW_FINISH: u64 = 1_200;

/// What one layer costs, split by where the gas goes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Work {
    /// Computation, weight reads and the layer's fixed cost.
    pub gas: u64,
    /// Memory words the layer's own frame grows to.
    pub frame_words: u64,
}

/// The per-kind linear model of a layer's gas. The defaults were fitted to `eth_estimateGas`
/// of single layers and slices on anvil (BENCHMARKS.md, "Chained calls"); they err high, and
/// [`Calibration`] corrects them per kind as a run goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GasModel {
    /// One layer call: cold clone and implementation, argument decoding, weight layout.
    pub per_layer: u64,
    /// An `eth_call` on top of its calldata: 21,000 intrinsic and the callee's setup.
    pub per_call: u64,
    /// Per chunk contract a layer reads weights from (cold account, lookup).
    pub per_chunk: u64,
    /// Separable and transposed convolution, per multiply-accumulate (Conv2D and Conv1D count
    /// their EVM multiplications instead: `CONV_MUL`).
    pub conv_mac: f64,
    /// Convolution, per output value (lane extraction, bias, store).
    pub conv_out: u64,
    /// Grouped and depthwise convolution, per multiply-accumulate (one EVM multiplication each;
    /// measured 150–170 inside `predictLayers` on 3×3 depthwise layers, tests/chain_convs.rs).
    pub grouped_mac: f64,
    /// Grouped and depthwise convolution, per output value (window set-up, bias, store).
    pub grouped_out: u64,
    /// Dense, per multiply-accumulate, counted in whole blocks of `dense_block` columns (one
    /// pass over the inputs per block, one 32-byte kernel word a row: `DenseLayer._lanesBlock`'s
    /// 8 int32 columns or 4 Q32.32; on narrowed inputs `_lanes`'s 15 int16 or 32 int8).
    pub dense_mac: f64,
    /// Dense, columns per block (one kernel word per input row).
    pub dense_block: u64,
    /// Dense slice, per kernel row read on its own (`_rawColumns`: ≈ 8.2M for 4,096 rows
    /// whatever the slice's width, measured on cnn_15m's fc1).
    pub dense_row: u64,
    /// Pooling, per window value compared or summed: ≈ 38 in `Pooling2DBase._pool2x2` (four
    /// loads and three branchless maxima, ≈ 150 gas an output of fashion_mnist's poolings), more
    /// in the general windows; fitted with `POOL_INPUT` and the activation.
    pub pool_value: u64,
    /// Any layer, per input or output value moved: the layer's copy of its input, the caller's
    /// RETURNDATACOPY of the answer (3 a word each). 12 while every call went through the
    /// clone's proxy, whose frame copied both once more and paid memory for them (≈ 11 a value
    /// over fashion_mnist's 23,670 values in and out: BENCHMARKS.md, "directcall").
    pub per_value: u64,
    /// Bytes per stored weight value (4 in the default format, 8 in Q32_32).
    pub weight_width: u64,
    /// Conv2D/Conv1D, filters per EVM multiplication: 3, or 8 (int8) and 6 (int16) on their
    /// narrowed inputs (`ConvBase._inputShift`) where `ConvBase._widest` takes them.
    pub conv_lanes: u64,
    /// Bytes per chunk contract.
    pub chunk_bytes: u64,
}

impl Default for GasModel {
    fn default() -> Self {
        GasModel {
            per_layer: 60_000,
            per_call: 45_000,
            per_chunk: 2_800,
            conv_mac: 14.0,
            conv_out: 90,
            grouped_mac: 150.0,
            grouped_out: 1_000,
            dense_mac: 31.0,
            dense_block: 8,
            dense_row: 1_950,
            pool_value: 30,
            per_value: 3,
            weight_width: 4,
            conv_lanes: 3,
            chunk_bytes: 24_544,
        }
    }
}

impl GasModel {
    /// The model for weights stored in `format`: each weight value takes the format's width
    /// (8, 4, 2 or 1 bytes), which sets the bytes read and the chunks touched, and Dense's
    /// rate per MAC and block width follow its lane kernel (one kernel word per input row and
    /// block: 4 Q32.32, 8 int32, or on narrowed inputs 15 int16 or 32 int8 columns; int16 runs
    /// two or three blocks a pass, which its lower rate stands for). Fitted to fashion_mnist's
    /// 784→70 Dense inside `predict` (1.87M compact; exact 3.01M → 2.72M and int16 0.90M →
    /// 0.86M in `dense8`, refitted there: exact 50 → 44.8 gas a MAC, its Q32.32 loop no longer
    /// spilled to memory, int16 14 → 13.4, three blocks a pass; int8 0.51M on its tanh outputs,
    /// within ±1: BENCHMARKS.md, "Dense lane kernels in every format", `densenarrow`,
    /// `densecost` and `dense8`). A Dense whose inputs reach beyond the narrowed lanes'
    /// bound (`DenseLayer._narrowSums`: larger than ±1 on average) costs more; calibration
    /// corrects it.
    pub fn for_format(format: crate::chain::WeightFormat) -> GasModel {
        use crate::chain::WeightFormat as F;
        let base = GasModel::default();
        let (dense_mac, dense_block, conv_lanes) = match format {
            F::Compact => (base.dense_mac, 8, 3),
            F::Exact => (44.8, 4, 3),
            F::Int16 => (13.4, 15, 6),
            F::Int8 => (8.3, 32, 8),
        };
        GasModel {
            weight_width: format.width() as u64,
            dense_mac,
            dense_block,
            conv_lanes,
            ..base
        }
    }
}

impl GasModel {
    /// Dense columns as the kernel pays for them: whole blocks of `dense_block`, except in int8:
    /// the last 1..8 columns after a whole block ride along its pass (`DenseLayer._narrow8t`),
    /// ≈ 16 columns' worth (fashion_mnist's 784→70: 730,551 → 621,664 gas with 6 columns so
    /// carried, BENCHMARKS.md "densepool"); 64..71 columns go in one pass (`_wide8c`), 65
    /// columns' worth (the 784→70 then 610,483 → 511,108 gas: (511,108 − 89,907 of the other
    /// terms) / (784 · 8.3), BENCHMARKS.md "dense8"); at most 14 columns in two MULs a row
    /// (`_narrow8n`), 25 columns' worth (the 70→10 65,018 → 61,161 gas).
    pub fn dense_columns(&self, cols: u64) -> u64 {
        if self.dense_block == 32 && (64..=71).contains(&cols) {
            return 65;
        }
        if self.dense_block == 32 && cols <= 14 {
            return 25;
        }
        let tail = cols % self.dense_block;
        if self.dense_block == 32 && cols > 32 && (1..=8).contains(&tail) {
            return cols - tail + 16;
        }
        cols.div_ceil(self.dense_block) * self.dense_block
    }
}

/// The planner's estimate of one `predict` call of the whole model (every layer in one call, no
/// calibration yet): `layers` and `inputs` (the InputLayers' tensors, by layer position) as
/// the chain has them, weights in `format`. `None` when a shape cannot be followed.
pub fn one_call_estimate(
    layers: &[LayerOp],
    inputs: &BTreeMap<usize, Tensor>,
    format: crate::chain::WeightFormat,
) -> Option<u64> {
    let outputs: Vec<usize> = (0..layers.len())
        .filter(|&j| !layers.iter().any(|l| l.inputs.contains(&j)))
        .collect();
    let planner = Planner {
        layers,
        outputs: &outputs,
        budget: DEFAULT_CALL_GAS,
        model: GasModel::for_format(format),
    };
    planner
        .range(0, layers.len(), inputs, &Calibration::default())
        .map(|s| s.estimate)
}

/// MultiHeadAttention, per multiply-accumulate of a projection (query, key, value, output:
/// `_project`'s dot per output value), fitted with [`ATTENTION_MAC`] and [`ATTENTION_WEIGHT`]
/// to query-row slices of attention_rows_fn (self-attention over 64 rows: 4.37M fixed — the
/// key and value projections and the weights — and 352k a query row; over 8 rows of context:
/// 1.0M and 103k; BENCHMARKS.md, "mharows").
const ATTENTION_PROJECTION_MAC: u64 = 120;
/// … per multiply-accumulate of the scores and the weighted values (`_attend`).
const ATTENTION_MAC: u64 = 115;
/// MultiHeadAttention, per weight value read and widened into memory (`_tensorValues`).
const ATTENTION_WEIGHT: u64 = 400;

/// Gas per multiply-accumulate of a recurrent layer's gates (SimpleRNN, LSTM, GRU, and each
/// direction of a Bidirectional) with its kernels stored `width` bytes a value: several
/// columns per MUL (`Lanes`: 4 columns a word in Q32.32, 8 in int32, 16 in int16, 32 in int8).
/// Fitted to the measured steps of SimpleRNN/LSTM/GRU at units 32–128 on 32 or 64 features
/// (BENCHMARKS.md, branch `rnnpacked`: 27.0, 36.6, 13.4 and 12.4 gas), rounded up by about 10 %.
fn recurrent_mac(width: u64) -> u64 {
    match width {
        8 => 40,
        2 => 15,
        1 => 14,
        _ => 30,
    }
}
/// Gas per gate column per step (each column's two sums scaled and added, a block's lanes
/// read out; fitted 3,480–3,920).
const RECURRENT_COLUMN: u64 = 4_000;
/// Gas per unit per step (its activations and state update; fitted 380–420).
const RECURRENT_UNIT: u64 = 450;
/// Gas per 32-byte word of a recurrent layer's stored kernels, copied into memory once a call
/// (fitted 26–74, the larger in int16/int8), besides the memory itself.
const RECURRENT_WEIGHT_WORD: u64 = 60;
/// Gas per gate column once a call: its bias read and widened, and in int16/int8 the kernels'
/// scales (fitted 450–800).
const RECURRENT_COLUMN_LOAD: u64 = 800;

/// The activation a pooling applies after pooling (`crate::infer::fuse`): the config's word
/// after its `words` fields, linear when there is none.
fn post_activation(config: &[u8], words: usize) -> Result<u8, String> {
    match config.get(words * 32..) {
        None | Some([]) => Ok(activation::LINEAR),
        Some(w) if w.len() == 32 && w[..31].iter().all(|&b| b == 0) => Ok(w[31]),
        Some(w) => Err(format!(
            "a pooling config has {} bytes after its fields; one activation word was expected",
            w.len()
        )),
    }
}

/// Gas per output value of an activation inside Dense or a convolution.
fn activation_gas(code: u8) -> u64 {
    match code {
        activation::LINEAR => 0,
        activation::RELU | activation::LEAKY_RELU => 20,
        // ≈ 260 measured per tanh in fashion_mnist's poolings and Dense (`Fixed.activate`).
        activation::SIGMOID | activation::TANH => 270,
        activation::SOFTMAX => 480,
        _ => 1_500,
    }
}

/// Gas per output value of the activation a 2-D pooling applies. The usual 2×2 pooling at
/// stride 2 activates each maximum inside its loop before the one store
/// (`Pooling2DBase._pool2x2`): linear, relu, sigmoid and tanh then cost [`POOL_FUSED_SAVING`]
/// (tanh [`POOL_TANH_UNROLLED`] more) less than `Fixed.activate`'s pass over the output (any padding or pooling kind is taken as
/// fused: an estimate).
fn pool_activation_gas(code: u8, size: [usize; 2], strides: [usize; 2]) -> u64 {
    let fused = size == [2, 2]
        && strides == [2, 2]
        && matches!(
            code,
            activation::LINEAR | activation::RELU | activation::SIGMOID | activation::TANH
        );
    let gas = activation_gas(code);
    if fused && code == activation::TANH {
        gas.saturating_sub(POOL_FUSED_SAVING + POOL_TANH_UNROLLED)
    } else if fused {
        gas.saturating_sub(POOL_FUSED_SAVING)
    } else {
        gas
    }
}

fn prod(s: &[usize]) -> u64 {
    s.iter().map(|&d| d as u64).product()
}

impl GasModel {
    /// The work of `layer` on inputs of shapes `ins` giving `out`, or of its output positions
    /// [from, from + count) along the slice axis when `slice` is given.
    pub fn work(
        &self,
        layer: &LayerOp,
        ins: &[&[usize]],
        out: &[usize],
        slice: Option<(usize, usize)>,
    ) -> Work {
        let in_values: u64 = ins.iter().map(|s| prod(s)).sum();
        let out_all = prod(out);
        // Output values this call computes.
        let out_values = match (slice, layer.slice_axis(out)) {
            (Some((_, count)), Some(axis)) => out_all / axis.max(1) as u64 * count as u64,
            _ => out_all,
        };
        // A row-local or padding slice is given (about) its rows of each input only; an
        // attention slice its rows of the query, the value and key whole.
        let cut = layer.row_local() || matches!(layer.op, Op::ZeroPad { .. });
        let query = matches!(layer.op, Op::Attention { .. });
        let in_values = match slice {
            Some((_, count)) if cut || query => ins
                .iter()
                .enumerate()
                .map(|(k, s)| match cut || k == 0 {
                    true => prod(s) / s.first().map_or(1, |&n| n.max(1) as u64) * count as u64,
                    false => prod(s),
                })
                .sum(),
            _ => in_values,
        };
        let chunks = |values: u64| (values * self.weight_width).div_ceil(self.chunk_bytes) + 1;
        let mut gas = self.per_layer + self.per_value * (in_values + out_values);
        let mut words = out_values + 64;
        match &layer.op {
            Op::Dense {
                input_units,
                activation,
                ..
            } => {
                let units = out.last().copied().unwrap_or(1) as u64;
                let cols = match slice {
                    Some((_, count)) => count as u64,
                    None => units,
                };
                let rows_in = *input_units as u64;
                let kernel_values = rows_in * cols;
                // `_lanesBlock` walks every input row once per block of columns.
                let macs = in_values * self.dense_columns(cols);
                gas += (self.dense_mac * macs as f64) as u64
                    + out_values * activation_gas(*activation)
                    + 3 * (kernel_values * self.weight_width).div_ceil(32)
                    + self.per_chunk * chunks(kernel_values);
                if slice.is_some() {
                    gas += self.dense_row * rows_in;
                }
                words += (kernel_values * self.weight_width).div_ceil(32) + units;
            }
            Op::Conv {
                rank,
                filters,
                cin,
                kernel,
                strides,
                padding,
                activation,
            } => {
                let taps = (kernel[0] * kernel[1] * cin) as u64;
                let f = *filters as u64;
                let positions = out_values / f.max(1);
                // Window rows on padding are skipped: count the real ones (Conv2D).
                let real = match (rank, ins.first()) {
                    (2, Some([h, _, _])) => {
                        let (from, count) = slice.unwrap_or((0, out[0]));
                        let [kh, sh] = [kernel[0], strides[0]];
                        let n = out_len(*h, kh, sh, *padding).unwrap_or(0);
                        let pt = pad_before(*h, n, kh, sh, *padding);
                        let rows: usize = (from..from + count)
                            .map(|r| {
                                (0..kh)
                                    .filter(|ky| {
                                        (r * sh + ky).checked_sub(pt).is_some_and(|y| y < *h)
                                    })
                                    .count()
                            })
                            .sum();
                        rows as f64 / (count * kh).max(1) as f64
                    }
                    _ => 1.0,
                };
                // `_pixels` puts `conv_lanes` filters or as many adjacent output pixels in the
                // lanes of one accumulator (`ConvBase._byPixel`): an EVM multiplication per tap
                // and group of filters of each output pixel, or per tap and filter of each group
                // of pixels of a row.
                let ow = out.get(*rank - 1).copied().unwrap_or(1) as u64;
                let window = kernel[0] * kernel[1] >= 4 * strides[0] * strides[1];
                let pixels_pay = |lanes: u64| {
                    window
                        && if lanes == 3 {
                            f <= 6
                                && ow.div_ceil(3) * f * 3
                                    < ow * f.div_ceil(3) * if f > 3 { 4 } else { 3 }
                        } else {
                            let (px, by_filter) = (ow.div_ceil(lanes) * f, ow * f.div_ceil(lanes));
                            if f > lanes {
                                px <= by_filter
                            } else {
                                7 * px <= 8 * by_filter
                            }
                        }
                };
                let muls = |lanes: u64| {
                    if pixels_pay(lanes) {
                        ow.div_ceil(lanes) * f
                    } else {
                        ow * f.div_ceil(lanes)
                    }
                };
                // Wide lanes only where they take at most 2/3 (pixels) or 3/5 (filters) of three
                // lanes' multiplications and, by filters, serve more than six filters
                // (`ConvBase._widest`).
                let mut lanes = self.conv_lanes;
                let px = pixels_pay(lanes);
                let (n, d) = if px { (2, 3) } else { (3, 5) };
                if lanes > 3 && (d * muls(lanes) > n * muls(3) || (f <= 6 && !px)) {
                    lanes = 3;
                }
                // `ConvBase._hosts`: the narrowed ones of stride 1 along the row with 2 ≤ kw ≤
                // L − 1 go to `EternalConvKernel` where it takes at most 3/4 of the
                // multiplications, or else with 2k output columns or more and 16k or more of the
                // layer's own multiplications in all, k = 1 up to six filters, else 2 (its lane
                // bound assumed to hold, as the wide lanes' above).
                let kw = kernel[1] as u64;
                let wide = self.conv_lanes;
                let q = (wide + 1).saturating_sub(kw).max(1);
                let hosted = ow.div_ceil(q) * 6 * f.div_ceil(6);
                let own = kw * muls(lanes);
                let rows = positions / ow.max(1);
                let own_all = own * rows * kernel[0] as u64 * *cin as u64;
                let k = if f > 6 { 2 } else { 1 };
                if wide > 3
                    && strides[1] == 1
                    && (2..wide).contains(&kw)
                    && (4 * hosted <= 3 * own || (ow >= 2 * k && own_all >= 16 * k))
                {
                    // The multiplications themselves: a last block of 1–4 filters multiplies
                    // two or four kernel words an input word, not six.
                    let dot = ow.div_ceil(q)
                        * (f / 6 * 6
                            + match f % 6 {
                                0 => 0,
                                1 | 2 => 2,
                                3 | 4 => 4,
                                _ => 6,
                            });
                    let window_rows = rows as f64 * kernel[0] as f64 * real;
                    let passes = (rows * ow.div_ceil(q) * f.div_ceil(6)) as f64;
                    let inputs = ins.first().map_or(0, |s| {
                        let rows = match slice {
                            Some((from, count)) => layer
                                .slice_rows(s, from, count)
                                .map_or(s[0], |(a, b)| b - a),
                            None => s[0],
                        };
                        (rows * s[1..].iter().product::<usize>()) as u64
                    });
                    gas += (HOST_MUL * window_rows * (*cin as u64 * dot) as f64) as u64
                        + (HOST_PASS * passes) as u64
                        + out_values * (HOST_OUT + activation_gas(*activation))
                        + HOST_INPUT * inputs
                        + HOST_WEIGHT * taps * f
                        + HOST_CALL
                        + self.per_chunk * chunks(taps * f);
                    // The call's buffer (header, terms, inputs, kernel) lives in the output's
                    // memory: only what it needs beyond it.
                    let buffer = 28
                        + 12 * f.div_ceil(6)
                        + inputs
                        + (taps * f * self.weight_width).div_ceil(32);
                    return Work {
                        gas,
                        frame_words: words + buffer.saturating_sub(out_values),
                    };
                }
                let by_pixel = pixels_pay(lanes);
                let (accumulators, per_block) = if by_pixel {
                    (positions / ow.max(1) * ow.div_ceil(lanes), f)
                } else {
                    (positions, f.div_ceil(lanes))
                };
                let accumulators = (accumulators as f64 * real) as u64;
                let muls = accumulators * taps * per_block;
                // Each real window row of each block of up to six accumulators is one pass of
                // `_pixels`'s dot loop.
                let window_rows = accumulators * kernel[0] as u64 * per_block.div_ceil(6);
                let row_gas = if by_pixel { CONV_ROW_PIXEL } else { CONV_ROW };
                gas += CONV_MUL * muls
                    + row_gas * window_rows
                    + out_values * (self.conv_out + activation_gas(*activation))
                    // reading and packing the kernel, per tap and filter: ≈ 175 gas per
                    // weight, measured on MobileNetV2's 1×1 convolutions at 1×1 spatial
                    + CONV_WEIGHT * taps * f
                    + self.per_chunk * chunks(taps * f);
                // The padded input buffer: the rows read, plus the padding around them.
                let padded = ins.first().map_or(0, |s| {
                    let rows = match slice {
                        Some((from, count)) => layer
                            .slice_rows(s, from, count)
                            .map_or(s[0], |(a, b)| b - a),
                        None => s[0],
                    } as u64;
                    match (rank, s) {
                        (2, [_, w, _]) => {
                            (rows + kernel[0] as u64) * (w + kernel[1]) as u64 * *cin as u64
                        }
                        _ => (rows + kernel[1] as u64) * *cin as u64,
                    }
                });
                gas += 3 * padded;
                words +=
                    padded + taps * f.div_ceil(3) + (taps * f * self.weight_width).div_ceil(32);
            }
            Op::ConvExtra {
                shape,
                filters,
                cin,
                kernel,
                activation,
                ..
            } => {
                let f = *filters as u64;
                let (cin, k) = (*cin as u64, (kernel[0] * kernel[1]) as u64);
                let positions = out_values / f.max(1);
                let (rows, w) = match ins.first() {
                    Some([h, w, _]) => {
                        let rows = match slice {
                            Some((from, count)) => layer
                                .slice_rows(&[*h, *w, 0], from, count)
                                .map_or(*h, |(a, b)| b - a),
                            None => *h,
                        };
                        (rows as u64, *w as u64)
                    }
                    _ => (0, 0),
                };
                let (compute, weights, padded) = match shape {
                    ConvShape::Grouped { groups } => {
                        let taps = k * cin / (*groups as u64).max(1);
                        (
                            (self.grouped_mac * (positions * taps * f) as f64) as u64
                                + positions * f * self.grouped_out,
                            taps * f,
                            (rows + kernel[0] as u64) * (w + kernel[1] as u64) * cin,
                        )
                    }
                    ConvShape::Separable { multiplier } => {
                        let mid = cin * *multiplier as u64;
                        (
                            (self.grouped_mac * (positions * k * mid) as f64) as u64
                                + (self.conv_mac * (positions * mid * f) as f64) as u64
                                + positions * mid * self.grouped_out,
                            k * mid + mid * f,
                            (rows + kernel[0] as u64) * (w + kernel[1] as u64) * cin
                                + positions * mid,
                        )
                    }
                    ConvShape::Transposed => {
                        // Over the input spread out with zeros: every tap of every output, at
                        // ≈ 2.5 × a convolution's rate (measured ≈ 34 per spread MAC).
                        let ow = out.get(1).copied().unwrap_or(1) as u64;
                        let count = positions / ow.max(1);
                        (
                            (2.5 * self.conv_mac * (positions * k * cin * f) as f64) as u64,
                            k * cin * f,
                            (count + kernel[0] as u64) * (ow + kernel[1] as u64) * cin,
                        )
                    }
                };
                gas += compute
                    + out_values * (self.conv_out + activation_gas(*activation))
                    + 12 * weights
                    + self.per_chunk * chunks(weights)
                    + 3 * padded;
                words += padded + weights + (weights * self.weight_width).div_ceil(32);
            }
            Op::Pool {
                size,
                strides,
                activation,
                ..
            } => {
                // The input rows it is given, copied into its frame (a slice: the rows its
                // windows reach).
                let read = match (slice, ins.first()) {
                    (Some((from, count)), Some(s)) => layer
                        .slice_rows(s, from, count)
                        .map_or(in_values, |(a, b)| {
                            in_values / s[0].max(1) as u64 * (b - a) as u64
                        }),
                    _ => in_values,
                };
                let per_read = if *size == [2, 2] && *strides == [2, 2] {
                    POOL_2X2_INPUT
                } else {
                    POOL_INPUT
                };
                gas += out_values
                    * ((size[0] * size[1]) as u64 * self.pool_value
                        + pool_activation_gas(*activation, *size, *strides))
                    + per_read * read;
                words += read;
            }
            Op::Pool1D {
                size, activation, ..
            } => {
                gas += out_values * (*size as u64 * self.pool_value + activation_gas(*activation));
            }
            // Measured on the shapes_ fixtures (tests/chain_shapes.rs), rounded up.
            Op::GlobalMax { .. } => {
                gas += in_values * 140;
                words += in_values;
            }
            Op::Regrid { .. } => {
                gas += out_values * 120;
                words += in_values;
            }
            Op::Permute { .. } => {
                gas += out_values * 200;
                words += in_values;
            }
            Op::RepeatVector { .. } => {
                gas += out_values * 20;
                words += in_values;
            }
            Op::Elementwise { per_value } => {
                gas += in_values * per_value;
                words += in_values;
                if layer.kind == LayerKind::BatchNormalization {
                    // gamma, beta, mean and variance read whole, one value per channel, whatever
                    // the rows: MobileNetV2 96×96's Conv_1_bn on 3×3×1280 measured 16.5M whole
                    // against 13.1M without this (≈ 650 a parameter, as attention's weights).
                    let channels = out.last().map_or(1, |&c| c as u64);
                    gas += 4 * channels * BN_PARAM;
                    words += 4 * channels;
                }
            }
            Op::Normalize { .. } => {
                // Every value given: its group and parameter index (a mixed-radix walk over
                // the axes), Σx and Σd² (`NormalizationBase._normalize`); every value returned:
                // d · r, γ and β. gamma/beta read whole (about the last axis's length each).
                let rank = ins.first().map_or(1, |s| s.len()) as u64;
                let params = ins.first().and_then(|s| s.last()).map_or(1, |&d| d as u64);
                gas += in_values * (NORM_INDEX + NORM_AXIS * rank)
                    + out_values * NORM_OUT
                    + 2 * params * NORM_PARAM;
                words += in_values + 4 * params;
            }
            Op::Attention {
                heads,
                key_dim,
                value_dim,
                out_dim,
            } => {
                let (h, dk, dv, o) = (
                    *heads as u64,
                    *key_dim as u64,
                    *value_dim as u64,
                    *out_dim as u64,
                );
                let dim = |s: Option<&&[usize]>, a: usize| {
                    s.and_then(|s| s.get(a)).map_or(1, |&d| d as u64)
                };
                let (tq, dq) = (dim(ins.first(), 0), dim(ins.first(), 1));
                // A slice's query rows; the key and value projections are whole in each.
                let tq = slice.map_or(tq, |(_, count)| count as u64);
                let (tk, dvi) = (dim(ins.get(1), 0), dim(ins.get(1), 1));
                let dki = ins
                    .get(2)
                    .map_or(dvi, |s| s.get(1).map_or(1, |&d| d as u64));
                let weights = (dq + dki) * h * dk + dvi * h * dv + h * dv * o;
                let projections =
                    tq * dq * h * dk + tk * (dki * h * dk + dvi * h * dv) + tq * h * dv * o;
                gas += ATTENTION_PROJECTION_MAC * projections
                    + ATTENTION_MAC * h * tq * tk * (dk + dv)
                    + h * tq * tk * 480
                    + weights * ATTENTION_WEIGHT
                    + self.per_chunk * chunks(weights);
                words += in_values + 2 * weights + tq * h * (dk + dv) + 2 * tk * h * (dk + dv);
            }
            Op::Recurrent {
                units,
                gates,
                directions,
                ..
            } => {
                let [steps, features] = ins.first().copied().unwrap_or(&[]) else {
                    return Work {
                        gas: gas + 200_000,
                        frame_words: words,
                    };
                };
                // A step slice runs `count` steps of one direction (`RecurrentBase._forwardSteps`).
                let steps = slice.map_or(*steps, |(_, count)| count);
                let directions = if slice.is_some() { &1 } else { directions };
                let (t, f, u, g) = (steps as u64, *features as u64, *units as u64, *gates as u64);
                let weights = g * u * (f + u + 2);
                let weight_words = (weights * self.weight_width).div_ceil(32);
                // Per step: every gate's Σ over input and state (the kernels read as stored),
                // each column's sums scaled, the activations and state; per call: the kernels
                // copied, the bias (and scales) read.
                gas += *directions as u64
                    * (t * (recurrent_mac(self.weight_width) * g * u * (f + u)
                        + RECURRENT_COLUMN * g * u
                        + RECURRENT_UNIT * u)
                        + RECURRENT_WEIGHT_WORD * weight_words
                        + RECURRENT_COLUMN_LOAD * g * u
                        + self.per_chunk * chunks(weights));
                words += in_values + weight_words + 4 * g * u;
            }
            Op::Embedding { output_dim } => {
                let rows = (*output_dim as u64 * self.weight_width).div_ceil(32);
                // Each index: its row's words copied out of the chunk that holds them.
                gas += in_values * (self.per_chunk + 40 * rows);
                words += in_values;
            }
            Op::TimeDistributed { inner } => {
                let Some((&steps, step)) = ins.first().and_then(|s| s.split_first()) else {
                    return Work {
                        gas: gas + 200_000,
                        frame_words: words,
                    };
                };
                let step_out = out.get(1..).unwrap_or_default();
                let w = self.work(inner, &[step], step_out, None);
                gas += steps as u64 * w.gas;
                words += w.frame_words;
            }
            // The shape check and the copy: ≈ 8.5M for 16,384 values in a row slice, 2.2M over
            // the model without it (tests/chain_rows.rs), less the ≈ 62 a value the copy's
            // word-by-word loop cost before `LayerBase._copy` became one CALLDATACOPY
            // (fashion_mnist's InputLayer: 71,813 → 22,982 gas for 784 values).
            Op::Input { .. } => {
                gas += in_values * 70;
                words += in_values;
            }
            // The sums over every position: a range of GlobalAveragePooling1D on [24, 128] and a
            // Dense(3) measured 2.26M (normrows_fn), of GlobalAveragePooling2D on 16×16×8 and a
            // Dense(3) 1.42M (rowslice_fn); the model had no term for it (0.66M planned). Since
            // the sums are one unchecked pass, ≈ 330 less a value (6×6×8 in mobilenet_block_fn:
            // 130,141 → 33,957 gas).
            Op::GlobalPool => {
                gas += in_values * 150;
                words += in_values;
            }
            // The copy of every value into the output: measured 1.16M for Reshape on 3,072
            // values (normrows_fn) and 0.77M for Flatten on 2,048 (cnn_500k), 1.5–1.6 × the
            // model without it; less ≈ 62 a value since `LayerBase._copy` is one CALLDATACOPY
            // (fashion_mnist's Flatten: 70,350 → 21,519 gas for 784 values).
            Op::Flatten | Op::Reshape { .. } => {
                gas += in_values * 70;
                words += in_values;
            }
            // Each output value written, padding too: MobileNetV2 96×96's paddings (a slice of
            // 15,600 values, a whole one of 16,224) measured 1.23–1.25 × the model without it.
            Op::ZeroPad { .. } => {
                gas += out_values * 80;
                words += in_values;
            }
            Op::Concat { .. } => {
                words += in_values;
            }
        }
        Work {
            gas,
            frame_words: words,
        }
    }
}

/// How far the model's estimates were from the chain's, per kind: `measured / estimated` of
/// the first call of each kind (bounded, so one odd call cannot starve or flood the plan).
#[derive(Clone, Debug, Default)]
pub struct Calibration {
    scale: BTreeMap<CostKey, f64>,
    /// The last gas measured per key: what a layer the model cannot price (it runs alone, at
    /// the whole target until measured) costs on its next call with the same shapes.
    measured: BTreeMap<CostKey, u64>,
}

/// What a calibration factor is for: a layer (the heaviest of a range), called whole or
/// sliced. Per layer, not per kind: two convolutions of one model differ in how well their
/// filters pack and their windows run, by ±40 % against the model (BENCHMARKS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CostKey {
    pub layer: usize,
    pub sliced: bool,
    /// A Dense's input-row parts ([`Rows`]): priced apart from its unit slices, which read
    /// every kernel row.
    pub rows: bool,
}

impl Calibration {
    pub fn factor(&self, key: CostKey) -> f64 {
        self.scale.get(&key).copied().unwrap_or(1.0)
    }

    pub fn knows(&self, key: CostKey) -> bool {
        self.scale.contains_key(&key)
    }

    /// Records that a run of layers `layers`, planned at `estimated` gas with `key` its
    /// heaviest, measured `measured`: `key` as [`Self::record`], and every other layer of the
    /// run not priced yet takes the same ratio.
    pub fn record_range(
        &mut self,
        key: CostKey,
        layers: std::ops::Range<usize>,
        estimated: u64,
        measured: u64,
    ) {
        let ratio = (measured as f64 / estimated.max(1) as f64).clamp(0.25, 8.0);
        for layer in layers {
            let k = CostKey {
                layer,
                sliced: false,
                rows: false,
            };
            if k != key && !self.knows(k) {
                self.scale.insert(k, ratio);
            }
        }
        self.record(key, estimated, measured);
    }

    /// Records that a call planned at `estimated` gas measured `measured`.
    pub fn record(&mut self, key: CostKey, estimated: u64, measured: u64) {
        let old = self.factor(key);
        let f = (measured as f64 / estimated.max(1) as f64 * old).clamp(0.25, 8.0);
        self.scale.insert(key, f);
        self.measured.insert(key, measured);
    }

    /// The gas the last measured call of `key` took.
    pub fn last_measured(&self, key: CostKey) -> Option<u64> {
        self.measured.get(&key).copied()
    }
}

/// One call of a chained inference.
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    /// Layers [from, to) in one call: `reads` are the tensors given (outputs of earlier
    /// layers, or the inputs of InputLayers in the range), `keeps` the outputs returned.
    Range {
        from: usize,
        to: usize,
        reads: Vec<usize>,
        keeps: Vec<usize>,
    },
    /// Output positions [from, from + count) of `layer`'s slice axis (of `of`); for a Conv2D
    /// whose single output row is too much for one call, only output channels
    /// `[first, first + count)` of `of` (`channels`). `direct`: sent to the layer's
    /// implementation, naming its clone, as ABI `int256` words (`forwardSlice`) rather than
    /// packed through the model
    /// (`forwardSlicePacked`), when the planner prices that lower.
    Slice {
        layer: usize,
        from: usize,
        count: usize,
        of: usize,
        channels: Option<Channels>,
        direct: bool,
        /// For a Dense too wide for one call even one unit at a time: only input rows
        /// `[first, first + count)` of `of` (see [`Rows`]).
        rows: Option<Rows>,
    },
}

/// Input rows `[first, first + count)` of `of`: a part of a Dense's units [from, from + count)
/// that sums only those rows of its kernel (`DenseLayer._forwardRows`). A part before the last
/// returns the units' exact partial sums Σ x·q (the stored kernel integers), which the next
/// part is given after its rows; the last returns the units' values, bit for bit the unsplit
/// layer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rows {
    pub first: usize,
    pub count: usize,
    pub of: usize,
}

impl Rows {
    /// Whether this part ends the input rows (it returns the units' values).
    pub fn last(&self) -> bool {
        self.first + self.count == self.of
    }
}

/// Output channels `[first, first + count)` of `of` (a Conv2D slice's filters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channels {
    pub first: usize,
    pub count: usize,
    pub of: usize,
}

impl Channels {
    /// Whether this block ends its row.
    pub fn last(&self) -> bool {
        self.first + self.count == self.of
    }
}

/// A segment with its estimated gas and the kind its calibration belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub segment: Segment,
    pub estimate: u64,
    pub key: CostKey,
    /// Bytes of calldata the call sends.
    pub calldata_bytes: u64,
}

impl Step {
    /// "layers 0–8", "layer 2 rows 0–3 of 32".
    pub fn describe(&self, layers: &[LayerOp]) -> String {
        match &self.segment {
            Segment::Range { from, to, .. } if to - from == 1 => {
                format!("layer {from} ({})", layers[*from].kind.class_name())
            }
            Segment::Range { from, to, .. } => format!("layers {from}–{}", to - 1),
            Segment::Slice {
                layer,
                from,
                count,
                of,
                channels,
                ..
            } => {
                let what = match layers[*layer].op {
                    Op::Dense { .. } => "units",
                    Op::Conv { rank: 1, .. } | Op::Recurrent { .. } => "steps",
                    Op::Attention { .. } => "query rows",
                    _ => "rows",
                };
                let mut part = match channels {
                    Some(c) => format!(
                        " channels {}–{} of {}",
                        c.first,
                        c.first + c.count - 1,
                        c.of
                    ),
                    None => String::new(),
                };
                if let Segment::Slice { rows: Some(r), .. } = &self.segment {
                    part += &format!(
                        " input rows {}–{} of {}",
                        r.first,
                        r.first + r.count - 1,
                        r.of
                    );
                }
                format!(
                    "layer {layer} ({}) {what} {from}–{} of {of}{part}",
                    layers[*layer].kind.class_name(),
                    from + count - 1
                )
            }
        }
    }
}

/// Why no plan fits.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "layer {layer} ({class}) needs about {} gas even {what}, over the budget of {} gas per call (calls are planned to {}, a tenth under it)",
        crate::units::thousands(*need),
        crate::units::thousands(*budget),
        crate::units::thousands(*budget - *budget / 10)
    )]
    TooBig {
        layer: usize,
        class: &'static str,
        need: u64,
        budget: u64,
        what: &'static str,
    },
    #[error("layer {layer} reads layer {input}, whose output is not known")]
    Missing { layer: usize, input: usize },
}

/// Plans the calls of a model's inference under a budget.
pub struct Planner<'a> {
    pub layers: &'a [LayerOp],
    /// The layers whose outputs the caller wants, in order.
    pub outputs: &'a [usize],
    /// Gas one call may use.
    pub budget: u64,
    pub model: GasModel,
}

impl Planner<'_> {
    /// What estimates are held to: a tenth under the budget, for what the model cannot see.
    pub fn target(&self) -> u64 {
        self.budget - self.budget / 10
    }

    /// Who reads layer `j` (later layers).
    fn readers(&self, j: usize) -> impl Iterator<Item = usize> + '_ {
        self.layers
            .iter()
            .enumerate()
            .filter(move |(_, l)| l.inputs.contains(&j))
            .map(|(i, _)| i)
    }

    /// The tensors layer `i` runs on: its inputs' outputs, or for an InputLayer its own entry.
    fn sources(&self, i: usize) -> Vec<usize> {
        let l = &self.layers[i];
        if l.inputs.is_empty() {
            vec![i]
        } else {
            l.inputs.clone()
        }
    }

    /// The estimated gas of layers [from, to) in one `predictRange` call, with the tensors the
    /// call is given and returns, or `None` when a shape in the range is unknown.
    pub fn range(
        &self,
        from: usize,
        to: usize,
        known: &BTreeMap<usize, Tensor>,
        cal: &Calibration,
    ) -> Option<Step> {
        let mut shapes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut reads = BTreeSet::new();
        let mut gas = 0f64;
        let mut heaviest = (
            0f64,
            CostKey {
                layer: from,
                sliced: false,
                rows: false,
            },
        );
        for i in from..to {
            let mut ins = Vec::new();
            for j in self.sources(i) {
                let s = if j < from || (j == i && self.layers[i].inputs.is_empty()) {
                    reads.insert(j);
                    known.get(&j)?.shape.clone()
                } else {
                    shapes.get(&j)?.clone()
                };
                ins.push(s);
            }
            let refs: Vec<&[usize]> = ins.iter().map(Vec::as_slice).collect();
            let out = self.layers[i].output_shape(&refs)?;
            let w = self.model.work(&self.layers[i], &refs, &out, None);
            let key = CostKey {
                layer: i,
                sliced: false,
                rows: false,
            };
            let g = (w.gas + memory_gas(w.frame_words)) as f64 * cal.factor(key);
            if g > heaviest.0 {
                heaviest = (g, key);
            }
            gas += g;
            shapes.insert(i, out);
        }
        let keeps: Vec<usize> = (from..to)
            .filter(|&i| self.outputs.contains(&i) || self.readers(i).any(|r| r >= to))
            .collect();
        let given: Vec<&Tensor> = reads.iter().filter_map(|j| known.get(j)).collect();
        // The given values travel packed (one stream), shapes and indices as ABI words.
        let (packed_gas, packed_bytes) =
            packed::calldata_gas_of(given.iter().map(|t| t.data.as_slice()));
        let given_values: u64 = given.iter().map(|t| t.data.len() as u64).sum();
        let calldata = packed_gas + 64 * 32 * (given.len() as u64 + 8);
        let calldata_bytes = packed_bytes + 32 * 8 * given.len() as u64 + 512;
        let returned: u64 = keeps
            .iter()
            .filter_map(|k| shapes.get(k))
            .map(|s| prod(s))
            .sum();
        // One layer (`forwardPacked`): the model's frame holds only the layer's calldata, its
        // answer and the returned copy; a run (`predictRangePacked`) its tensors as they live.
        let model_memory = if to - from == 1 {
            memory_gas(given_values.max(returned) + returned + 64)
        } else {
            let given: Vec<(usize, &[usize])> = reads
                .iter()
                .filter_map(|&j| known.get(&j).map(|t| (j, t.shape.as_slice())))
                .collect();
            let frame = self.model_frame(from, to, &given, &shapes, &keeps);
            memory_gas(frame.peak + 5 * self.layers.len() as u64 + 2 * returned) + 3 * frame.copied
        };
        let estimate = gas as u64
            + self.model.per_call
            + calldata
            + model_memory
            + UNPACK_GAS * given_values
            + RETURN_GAS * returned;
        Some(Step {
            segment: Segment::Range {
                from,
                to,
                reads: reads.into_iter().collect(),
                keeps,
            },
            estimate,
            key: heaviest.1,
            calldata_bytes,
        })
    }

    /// The model's memory during a run of layers [from, to) (`EternalModel.Run`): each tensor
    /// in a slot of its values, its shape and six words, in the order they come; a slot is freed
    /// once no layer of the run still reads it and it is not returned (`keeps`), or, a given
    /// input, once its InputLayer ran, and each answer is copied over the freed slots on top. A
    /// one-input layer's calldata is built around its input's slot; a layer of several inputs
    /// has them copied together above the top.
    fn model_frame(
        &self,
        from: usize,
        to: usize,
        given: &[(usize, &[usize])],
        shapes: &BTreeMap<usize, Vec<usize>>,
        keeps: &[usize],
    ) -> Frame {
        let slot = |s: &[usize]| prod(s) + s.len() as u64 + 6;
        let mut left: BTreeMap<usize, usize> = BTreeMap::new();
        for i in from..to {
            for &j in &self.layers[i].inputs {
                *left.entry(j).or_default() += 1;
            }
        }
        // (tensor, words, a given input of an InputLayer in the run)
        let mut stack: Vec<(usize, u64, bool)> = Vec::new();
        let mut frame = Frame::default();
        let mut top = 0u64;
        for &(j, s) in given {
            let pseudo = j >= from && self.layers[j].inputs.is_empty();
            stack.push((j, slot(s), pseudo));
            top += slot(s);
            frame.copied += prod(s);
        }
        frame.peak = top;
        for i in from..to {
            let inputs = &self.layers[i].inputs;
            if inputs.len() > 1 {
                let words: u64 = inputs
                    .iter()
                    .filter_map(|j| match shapes.get(j) {
                        Some(s) => Some(s.as_slice()),
                        None => given.iter().find(|g| g.0 == *j).map(|g| g.1),
                    })
                    .map(slot)
                    .sum();
                frame.peak = frame.peak.max(top + words);
                frame.copied += words;
            }
            for j in inputs {
                if let Some(n) = left.get_mut(j) {
                    *n -= 1;
                }
            }
            while let Some(&(j, words, pseudo)) = stack.last() {
                let live = if pseudo {
                    j > i
                } else {
                    keeps.contains(&j) || left.get(&j).is_some_and(|&n| n > 0)
                };
                if live {
                    break;
                }
                stack.pop();
                top -= words;
            }
            if let Some(s) = shapes.get(&i) {
                stack.push((i, slot(s), false));
                top += slot(s);
                frame.peak = frame.peak.max(top);
                frame.copied += prod(s);
            }
        }
        frame
    }

    /// The estimated gas of output positions [from, from + count) of layer `i` in one
    /// `forwardSlice` call on its clone.
    pub fn slice(
        &self,
        i: usize,
        from: usize,
        count: usize,
        known: &BTreeMap<usize, Tensor>,
        cal: &Calibration,
    ) -> Option<Step> {
        self.slice_of(&self.layers[i], i, from, count, known, cal)
    }

    /// Rows [row, row + 1) of Conv2D layer `i`, output channels [first, first + count) only:
    /// priced as the row of a Conv2D with `count` filters (the kernel is read whole on chain,
    /// which calibration corrects).
    pub fn channel_slice(
        &self,
        i: usize,
        row: usize,
        first: usize,
        count: usize,
        known: &BTreeMap<usize, Tensor>,
        cal: &Calibration,
    ) -> Option<Step> {
        let mut narrow = self.layers[i].clone();
        let of = match &mut narrow.op {
            Op::Conv {
                rank: 2,
                filters,
                activation,
                ..
            } if *activation != activation::SOFTMAX && count <= *filters => {
                std::mem::replace(filters, count)
            }
            _ => return None,
        };
        let mut step = self.slice_of(&narrow, i, row, 1, known, cal)?;
        if let Segment::Slice { channels, .. } = &mut step.segment {
            *channels = Some(Channels { first, count, of });
        }
        Some(step)
    }

    /// Every row from `start` on of Conv2D layer `i`, each cut into blocks of output channels,
    /// as few blocks a row as fit the target; `None` when one channel of one row does not fit.
    pub fn channel_slices(
        &self,
        i: usize,
        start: usize,
        known: &BTreeMap<usize, Tensor>,
        cal: &Calibration,
    ) -> Option<Vec<Step>> {
        let target = self.target();
        let fit = |s: &Step| s.estimate <= target && s.calldata_bytes <= MAX_CALLDATA_BYTES;
        let (rows, f) = match self.slice(i, 0, 1, known, cal)?.segment {
            Segment::Slice { of, .. } => match self.layers[i].op {
                Op::Conv {
                    rank: 2, filters, ..
                } => (of, filters),
                _ => return None,
            },
            _ => return None,
        };
        // The widest block that fits every row (edge rows read fewer input rows).
        let fits = |cc: usize| {
            (start..rows).all(|r| {
                self.channel_slice(i, r, 0, cc, known, cal)
                    .is_some_and(|s| fit(&s))
            })
        };
        if !fits(1) {
            return None;
        }
        let (mut lo, mut hi) = (1usize, f);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let blocks = f.div_ceil(lo);
        let mut steps = Vec::new();
        for r in start..rows {
            let mut first = 0;
            for b in 0..blocks {
                let count = f / blocks + usize::from(b < f % blocks);
                steps.push(self.channel_slice(i, r, first, count, known, cal)?);
                first += count;
            }
        }
        Some(steps)
    }

    /// [`Self::slice`] of `l`, which stands at index `i` (the layer itself, or a narrowed copy).
    fn slice_of(
        &self,
        l: &LayerOp,
        i: usize,
        from: usize,
        count: usize,
        known: &BTreeMap<usize, Tensor>,
        cal: &Calibration,
    ) -> Option<Step> {
        let ins: Vec<&Tensor> = self
            .sources(i)
            .iter()
            .map(|j| known.get(j))
            .collect::<Option<_>>()?;
        let refs: Vec<&[usize]> = ins.iter().map(|t| t.shape.as_slice()).collect();
        let out = l.output_shape(&refs)?;
        let steps = l.time_steps(refs.first()?);
        let of = match steps {
            Some(n) => n,
            None => l.slice_axis(&out)?,
        };
        let parts = slice_parts(l, &ins, from, count)?;
        // A step slice also carries the recurrent state in and out (priced as negative words).
        let carry = steps.and(l.carry_len()).unwrap_or(0) as u64;
        let (sent, calldata_bytes) = packed::calldata_gas_of(parts.iter().copied());
        let (sent, calldata_bytes) = (sent + 128 * carry, calldata_bytes + 8 * carry);
        let words: u64 = parts.iter().map(|p| calldata_gas(p)).sum::<u64>() + 512 * carry;
        let values: u64 = parts.iter().map(|p| p.len() as u64).sum::<u64>() + carry;
        // The model unpacks the values into the layer's calldata in its own frame, takes the
        // answer there and returns it (one ABI copy).
        let returned = match (steps, l.slice_axis(&out)) {
            // The steps' outputs (a returned sequence) and the carry.
            (Some(n), _) if out.len() == 2 => prod(&out) * count as u64 / n as u64 + carry,
            (Some(_), _) => carry,
            (None, Some(n)) if n > 0 => prod(&out) * count as u64 / n as u64,
            _ => prod(&out),
        };
        let model_frame = values.max(returned) + returned + 64;
        // The rows actually sent shape the work: price the slice's own input.
        let w = self.model.work(l, &refs, &out, Some((from, count)));
        let key = CostKey {
            layer: i,
            sliced: true,
            rows: false,
        };
        let gas = (w.gas + memory_gas(w.frame_words)) as f64 * cal.factor(key);
        let packed = sent
            + SLICE_HOP
            + memory_gas(model_frame)
            + UNPACK_GAS * values
            + RETURN_GAS * returned;
        // Straight to the layer as ABI words when that prices lower (a slice that returns more
        // than it is sent: cnn_15m's conv slices) and fits a request.
        let direct_bytes = 32 * values;
        let direct = words + 2_000 < packed && direct_bytes <= MAX_CALLDATA_BYTES;
        let (moved, calldata_bytes) = if direct {
            (words + 2_000, direct_bytes)
        } else {
            (packed, calldata_bytes)
        };
        Some(Step {
            segment: Segment::Slice {
                layer: i,
                from,
                count,
                of,
                channels: None,
                direct,
                rows: None,
            },
            estimate: gas as u64 + self.model.per_call + moved,
            key,
            calldata_bytes: calldata_bytes + 512,
        })
    }

    /// The next calls from layer `next` on, given every tensor known so far: one range of as
    /// many whole layers as fit, or, when layer `next` alone does not fit, its slices (all of
    /// them, each within the target). A layer that fits no way is a [`PlanError::TooBig`].
    pub fn next(
        &self,
        next: usize,
        known: &BTreeMap<usize, Tensor>,
        cal: &Calibration,
    ) -> Result<Vec<Step>, PlanError> {
        let n = self.layers.len();
        let target = self.target();
        for j in self.sources(next) {
            if !known.contains_key(&j) {
                return Err(PlanError::Missing {
                    layer: next,
                    input: j,
                });
            }
        }
        let fit = |s: &Step| s.estimate <= target && s.calldata_bytes <= MAX_CALLDATA_BYTES;
        let mut best: Option<Step> = None;
        for to in next + 1..=n {
            match self.range(next, to, known, cal) {
                Some(s) if fit(&s) || to == next + 1 => {
                    let fits = fit(&s);
                    best = Some(s);
                    if !fits {
                        break;
                    }
                }
                _ => break,
            }
        }
        // Layers that cannot tell their shape still run, alone: at the whole target until a
        // call of it was measured, then at what that call took.
        let single = match best {
            Some(s) if fit(&s) => return Ok(vec![s]),
            Some(s) => s,
            None => {
                let key = CostKey {
                    layer: next,
                    sliced: false,
                    rows: false,
                };
                return Ok(vec![Step {
                    segment: Segment::Range {
                        from: next,
                        to: next + 1,
                        reads: self.sources(next),
                        keeps: vec![next],
                    },
                    estimate: cal.last_measured(key).unwrap_or(target),
                    key,
                    calldata_bytes: 0,
                }]);
            }
        };
        let too_big = |need: u64, what: &'static str| PlanError::TooBig {
            layer: next,
            class: self.layers[next].kind.class_name(),
            need,
            budget: self.budget,
            what,
        };
        if !cal.knows(single.key)
            && single.calldata_bytes <= MAX_CALLDATA_BYTES
            && self.slice(next, 0, 1, known, cal).is_none()
        {
            // Not sliceable and not priced by the chain yet: one probe call.
            return Ok(vec![single]);
        }
        self.slices(next, 0, known, cal).map_err(|e| match e {
            PlanError::TooBig { need, what, .. } if what == "alone" => {
                too_big(single.estimate.max(need), what)
            }
            e => e,
        })
    }

    /// The slices of layer `i` covering positions [start, end of its axis), each within the
    /// target, as few as the largest slice that fits allows, sizes evened out.
    pub fn slices(
        &self,
        i: usize,
        start: usize,
        known: &BTreeMap<usize, Tensor>,
        cal: &Calibration,
    ) -> Result<Vec<Step>, PlanError> {
        let target = self.target();
        let fit = |s: &Step| s.estimate <= target && s.calldata_bytes <= MAX_CALLDATA_BYTES;
        let too_big = |need: u64, what: &'static str| PlanError::TooBig {
            layer: i,
            class: self.layers[i].kind.class_name(),
            need,
            budget: self.budget,
            what,
        };
        let Some(of) = self
            .slice(i, 0, 1, known, cal)
            .and_then(|s| match s.segment {
                Segment::Slice { of, .. } => Some(of),
                _ => None,
            })
        else {
            // A Dense cut only by its input rows (softmax over its units, or one unit).
            if start == 0
                && let Some(steps) = self.row_parts(i, 0, known, cal)
            {
                return Ok(steps);
            }
            return Err(too_big(0, "alone"));
        };
        // A Bidirectional's direction, or its merge, at a time.
        let of = match self.sources(i).first().and_then(|j| known.get(j)) {
            Some(x) => self.layers[i].slice_end(&x.shape, start, of),
            None => of,
        };
        let left = of.saturating_sub(start);
        // The largest slice that fits anywhere along the rest (edges read fewer rows).
        let fits = |count: usize| {
            (start..of).step_by(count).all(|from| {
                let c = count.min(of - from);
                self.slice(i, from, c, known, cal).is_some_and(|s| fit(&s))
            })
        };
        if !fits(1) {
            // One row is too much for a Conv2D: blocks of its output channels.
            if let Some(steps) = self.channel_slices(i, start, known, cal) {
                return Ok(steps);
            }
            // The model may be wrong: a layer the chain has not priced gets one probe call,
            // which the runner confirms with eth_estimateGas before trusting either.
            let key = CostKey {
                layer: i,
                sliced: true,
                rows: false,
            };
            if !cal.knows(key)
                && let Some(probe) = self.slice(i, start, 1, known, cal)
                && probe.calldata_bytes <= MAX_CALLDATA_BYTES
            {
                return Ok(vec![probe]);
            }
            // One unit is too much for a Dense (each reads every kernel row): parts of its
            // input rows.
            if let Some(steps) = self.row_parts(i, start, known, cal) {
                return Ok(steps);
            }
            let need = (start..of)
                .filter_map(|f| self.slice(i, f, 1, known, cal))
                .map(|s| s.estimate)
                .max()
                .unwrap_or(0);
            let what = match self.layers[i].op {
                Op::Normalize { row_local: false } => {
                    "one row per call (each row's call is given the whole input: the statistics span every row)"
                }
                Op::Attention { .. } => {
                    "one query row per call (each call is given the whole value and key and projects them)"
                }
                _ => "one position per call",
            };
            return Err(too_big(need, what));
        }
        let (mut lo, mut hi) = (1usize, left.max(1));
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let calls = left.div_ceil(lo);
        let mut steps = Vec::with_capacity(calls);
        let mut from = start;
        for c in 0..calls {
            let count = left / calls + usize::from(c < left % calls);
            if let Some(s) = self.slice(i, from, count, known, cal) {
                steps.push(s);
            }
            from += count;
        }
        Ok(steps)
    }

    /// Units [from, from + count) of Dense layer `i` (on a vector) over input rows `rows` in
    /// one call (`forwardSlicePacked`, the rows in the high bits of `from` and `count`): sent
    /// those rows of its input and, after the first part, the units' carried partial sums.
    /// `None` for another kind, an input not a vector, or a softmax Dense cut by its units.
    pub fn row_part(
        &self,
        i: usize,
        from: usize,
        count: usize,
        rows: Rows,
        known: &BTreeMap<usize, Tensor>,
        cal: &Calibration,
    ) -> Option<Step> {
        let l = &self.layers[i];
        let Op::Dense {
            units,
            input_units,
            activation,
        } = l.op
        else {
            return None;
        };
        let x = match self.sources(i).as_slice() {
            [j] => known.get(j)?,
            _ => return None,
        };
        let softmax = activation == activation::SOFTMAX || activation == activation::LOG_SOFTMAX;
        if x.shape != [input_units]
            || rows.of != input_units
            || rows.count == 0
            || rows.first + rows.count > input_units
            || count == 0
            || from + count > units
            || (softmax && count != units)
        {
            return None;
        }
        let m = &self.model;
        let (cols, rc) = (count as u64, rows.count as u64);
        let carried = if rows.first > 0 { cols } else { 0 };
        let kernel_values = rc * cols;
        let kernel_bytes = kernel_values * m.weight_width;
        // `_dot8` walks the part's rows once per block of eight units.
        let macs = rc * cols.div_ceil(8) * 8;
        let mut gas = m.per_layer
            + m.per_value * (rc + carried + cols)
            + (m.dense_mac * macs as f64) as u64
            + 3 * kernel_bytes.div_ceil(32)
            + m.per_chunk * (kernel_bytes.div_ceil(m.chunk_bytes) + 1);
        // A block of units reads its columns row by row; all units, one run of whole rows.
        if count < units {
            gas += m.dense_row * rc;
        }
        gas += ROW_CARRY * carried;
        if rows.last() {
            gas += cols * (ROW_FINISH + activation_gas(activation));
        }
        let words = 2 * cols + 64 + kernel_bytes.div_ceil(32);
        let key = CostKey {
            layer: i,
            sliced: true,
            rows: true,
        };
        let gas = (gas + memory_gas(words)) as f64 * cal.factor(key);
        let part = x.data.get(rows.first..rows.first + rows.count)?;
        // The carried sums (up to ~2^100) widen every packed value to 16 bytes.
        let (sent, bytes) = if carried > 0 {
            let values = rc + carried;
            (16 * 16 * values + 16, 16 * values + 1)
        } else {
            packed::calldata_gas_of([part])
        };
        let values = rc + carried;
        let moved = sent
            + SLICE_HOP
            + memory_gas(values.max(cols) + cols + 64)
            + UNPACK_GAS * values
            + RETURN_GAS * cols;
        Some(Step {
            segment: Segment::Slice {
                layer: i,
                from,
                count,
                of: units,
                channels: None,
                direct: false,
                rows: Some(rows),
            },
            estimate: gas as u64 + m.per_call + moved,
            key,
            calldata_bytes: bytes + 512,
        })
    }

    /// Units [start, units) of Dense layer `i` in row parts ([`Self::row_part`]): blocks of
    /// units (all of them when they fit: one run of whole kernel rows a part), each over as few
    /// parts of the input rows as fit the target (the first, the middle ones and the last each
    /// as large as its own price allows), blocks evened out, the width giving the fewest calls. `None` when one input row of one unit does not fit, or the
    /// layer cannot be cut so.
    pub fn row_parts(
        &self,
        i: usize,
        start: usize,
        known: &BTreeMap<usize, Tensor>,
        cal: &Calibration,
    ) -> Option<Vec<Step>> {
        let Op::Dense {
            units,
            input_units: n,
            activation,
        } = self.layers[i].op
        else {
            return None;
        };
        if n < 2 || start >= units {
            return None;
        }
        let softmax = activation == activation::SOFTMAX || activation == activation::LOG_SOFTMAX;
        if softmax && start != 0 {
            return None;
        }
        let target = self.target();
        let fit = |s: &Step| s.estimate <= target && s.calldata_bytes <= MAX_CALLDATA_BYTES;
        let left = units - start;
        // The most rows a part of a block of `cc` units takes: the first (no sums carried in),
        // a middle one (sums in and out) or the last (sums in, units finished), each priced on
        // rows where it stands; 0 when not one row fits.
        let most = |cc: usize, kind: usize| -> usize {
            let rows = |rc: usize| match kind {
                0 => Rows {
                    first: 0,
                    count: rc,
                    of: n,
                },
                1 => Rows {
                    first: 1,
                    count: rc,
                    of: n,
                },
                _ => Rows {
                    first: n - rc,
                    count: rc,
                    of: n,
                },
            };
            let fits = |rc: usize| {
                self.row_part(i, start, cc, rows(rc), known, cal)
                    .is_some_and(|s| fit(&s))
            };
            let max = if kind == 1 {
                n.saturating_sub(2)
            } else {
                n - 1
            };
            if max == 0 || !fits(1) {
                return 0;
            }
            let (mut lo, mut hi) = (1usize, max);
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                if fits(mid) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            lo
        };
        // The parts' rows for a block of `cc` units: the first as large as fits, middle ones
        // until what is left fits the last.
        let layout = |cc: usize| -> Option<Vec<usize>> {
            let (r0, rm, rl) = (most(cc, 0), most(cc, 1), most(cc, 2));
            if r0 == 0 || rl == 0 {
                return None;
            }
            let mut parts = vec![r0];
            let mut left = n - r0;
            while left > rl {
                if rm == 0 {
                    return None;
                }
                let r = rm.min(left - 1);
                parts.push(r);
                left -= r;
            }
            parts.push(left);
            Some(parts)
        };
        // Per width of the blocks: the calls it makes.
        let mut best: Option<(usize, usize, Vec<usize>)> = None;
        let mut cc = left;
        loop {
            if let Some(parts) = layout(cc) {
                let calls = left.div_ceil(cc) * parts.len();
                if best.as_ref().is_none_or(|(c, _, _)| calls < *c) {
                    best = Some((calls, cc, parts));
                }
            }
            if softmax || cc == 1 {
                break;
            }
            cc = cc.div_ceil(2);
        }
        let (_, cc, parts) = best?;
        let blocks = left.div_ceil(cc);
        let mut steps = Vec::with_capacity(blocks * parts.len());
        let mut from = start;
        for b in 0..blocks {
            let count = left / blocks + usize::from(b < left % blocks);
            let mut first = 0;
            for &rows in &parts {
                let r = Rows {
                    first,
                    count: rows,
                    of: n,
                };
                steps.push(self.row_part(i, from, count, r, known, cal)?);
                first += rows;
            }
            from += count;
        }
        Some(steps)
    }
}

/// The values a slice [from, from + count) of `l` is sent, input by input: the input rows it
/// reads (of its one input for the window ops, of every input for the row-local kinds, of the
/// query for MultiHeadAttention, whose value and key follow whole), or the whole inputs. `None`
/// when the rows are not there (or the inputs' first axes differ).
pub fn slice_parts<'t>(
    l: &LayerOp,
    ins: &[&'t Tensor],
    from: usize,
    count: usize,
) -> Option<Vec<&'t [i128]>> {
    let first = ins.first()?;
    match l.slice_rows(&first.shape, from, count) {
        Some((a, b)) => {
            let cut = if l.row_local() { ins.len() } else { 1 };
            let rows = ins[..cut].iter().map(|t| {
                if t.shape.first() != first.shape.first() {
                    return None;
                }
                let row = prod(t.shape.get(1..)?) as usize;
                t.data.get(a * row..b * row)
            });
            rows.chain(ins[cut..].iter().map(|t| Some(t.data.as_slice())))
                .collect()
        }
        None => Some(ins.iter().map(|t| t.data.as_slice()).collect()),
    }
}

/// Layers whose outputs are still needed once layers before `next` have run: read by a layer at
/// or after `next`, or wanted as an output.
pub fn still_needed(layers: &[LayerOp], outputs: &[usize], next: usize, j: usize) -> bool {
    outputs.contains(&j)
        || layers
            .iter()
            .enumerate()
            .skip(next)
            .any(|(i, l)| l.inputs.contains(&j) || (l.inputs.is_empty() && i == j))
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use crate::bundle::Bundle;
    use crate::chain::ModelSpec;
    use crate::infer::{Graph, WeightFormat};
    use std::path::Path;

    pub(super) fn fixture(rel: &str) -> (Vec<LayerOp>, Graph) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel);
        let model = crate::keras::load(&path).unwrap();
        let bundle = Bundle::from_model(&model).unwrap();
        let spec = ModelSpec::from_model(&model, &bundle).unwrap();
        let ops = spec
            .layers
            .iter()
            .map(|l| LayerOp {
                kind: l.kind,
                inputs: l.inputs.iter().map(|&i| usize::from(i)).collect(),
                op: Op::decode(l.kind, &l.config).unwrap(),
            })
            .collect();
        (
            ops,
            Graph::from_model(&model, WeightFormat::Compact).unwrap(),
        )
    }

    /// A deterministic 32×32×3 image in [-0.5, 0.5).
    pub(super) fn image() -> Tensor {
        let data = (0..32 * 32 * 3)
            .map(|i| ((((i * 7919) % 1000) as i128) - 500) << 22)
            .collect();
        Tensor {
            shape: vec![32, 32, 3],
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;
    use crate::infer::{Graph, forward};

    /// Every output shape the chain configs imply is the one Keras inferred.
    #[test]
    fn shapes_from_chain_configs_are_keras_shapes() {
        for rel in [
            "generated/cnn_15m.keras",
            "eai_example/fashion_mnist.keras",
            "generated/conv1d_causal_strided.keras",
            "keras3_4/zeropad_gap.keras",
        ] {
            let (ops, graph) = fixture(rel);
            let mut shapes: Vec<Vec<usize>> = Vec::new();
            for (i, l) in ops.iter().enumerate() {
                let ins: Vec<&[usize]> = l.inputs.iter().map(|&j| shapes[j].as_slice()).collect();
                let got = l
                    .output_shape(&ins)
                    .unwrap_or_else(|| panic!("{rel} layer {i}"));
                let want: Vec<usize> = graph.nodes[i].output_shape[1..]
                    .iter()
                    .map(|d| d.unwrap())
                    .collect();
                assert_eq!(got, want, "{rel} layer {i}");
                shapes.push(got);
            }
        }
    }

    #[test]
    fn transpose_rows_are_the_rows_spread_into_the_windows() {
        for (n, k, s, pad) in [
            (5, 3, 2, Padding::Same),
            (6, 2, 2, Padding::Valid),
            (4, 3, 1, Padding::Valid),
            (3, 1, 1, Padding::Valid),
            (5, 2, 3, Padding::Valid),
            (4, 5, 2, Padding::Same),
        ] {
            let (out, lead) = transpose_len_lead(n, k, s, pad);
            for from in 0..out {
                for count in 1..=(out - from).min(3) {
                    let (a, b) = transpose_rows(from, count, k, s, lead, n);
                    let want: Vec<usize> = (0..n)
                        .filter(|i| (from..from + count + k - 1).contains(&(lead + i * s)))
                        .collect();
                    assert_eq!((a..b).collect::<Vec<_>>(), want, "{n} {k} {s} {pad:?}");
                }
            }
        }
    }

    #[test]
    fn window_rows_are_the_rows_the_windows_reach() {
        // 3×3 same, stride 1, 32 rows: pad 1.
        assert_eq!(window_rows(0, 4, 3, 1, 1, 32), (0, 5));
        assert_eq!(window_rows(4, 4, 3, 1, 1, 32), (3, 9));
        assert_eq!(window_rows(28, 4, 3, 1, 1, 32), (27, 32));
        // 2×2 pool, stride 2, valid.
        assert_eq!(window_rows(3, 2, 2, 2, 0, 32), (6, 10));
        // causal k = 3: pad 2 before.
        assert_eq!(window_rows(0, 1, 3, 1, 2, 10), (0, 1));
    }

    /// A deterministic tensor for each model input, by its InputLayer.
    fn input_of(graph: &Graph) -> BTreeMap<usize, Tensor> {
        let tensor = |shape: &[Option<usize>]| {
            let shape: Vec<usize> = shape[1..].iter().map(|d| d.unwrap()).collect();
            let n: usize = shape.iter().product();
            let data = (0..n)
                .map(|i| ((i * 7919) % 1000) as i128 * (1 << 22))
                .collect();
            Tensor { shape, data }
        };
        let shapes = graph.input_shapes();
        graph
            .inputs
            .iter()
            .zip(&shapes)
            .map(|(&i, s)| (i, tensor(s)))
            .collect()
    }

    /// Plans the whole model, feeding each step the reference's tensors; returns the steps.
    /// The slices of `layer` among `steps`, asserted to cover its `of` positions once, in order.
    fn covered(steps: &[Step], layer: usize, of: usize) -> Vec<&Step> {
        let mut at = 0;
        let mut mine = Vec::new();
        for s in steps {
            if let Segment::Slice {
                layer: l,
                from,
                count,
                of: o,
                ..
            } = s.segment
                && l == layer
            {
                assert_eq!((from, o), (at, of), "layer {layer}: {steps:#?}");
                at += count;
                mine.push(s);
            }
        }
        assert_eq!(at, of, "layer {layer} is not cut into slices: {steps:#?}");
        mine
    }

    fn plan_all(ops: &[LayerOp], graph: &Graph, budget: u64) -> Vec<Step> {
        let outputs = graph.outputs.clone();
        let planner = Planner {
            layers: ops,
            outputs: &outputs,
            budget,
            model: GasModel::default(),
        };
        let mut known = input_of(graph);
        let ins: Vec<Tensor> = graph.inputs.iter().map(|i| known[i].clone()).collect();
        let all = graph.run_all(&ins).unwrap();
        let cal = Calibration::default();
        let mut steps = Vec::new();
        let mut next = 0;
        while next < ops.len() {
            let s = planner.next(next, &known, &cal).unwrap();
            next = match &s.last().unwrap().segment {
                Segment::Range { to, .. } => *to,
                Segment::Slice { layer, .. } => layer + 1,
            };
            for (i, t) in all.iter().enumerate().take(next) {
                known.insert(i, t.clone());
            }
            steps.extend(s);
        }
        steps
    }

    #[test]
    fn the_big_cnn_is_cut_into_calls_under_the_budget() {
        let (ops, graph) = fixture("generated/cnn_15m.keras");
        let steps = plan_all(&ops, &graph, DEFAULT_CALL_GAS);
        let target = DEFAULT_CALL_GAS - DEFAULT_CALL_GAS / 10;
        assert!(steps.len() > 5, "{steps:#?}");
        assert!(steps.iter().all(|s| s.estimate <= target), "{steps:#?}");
        // Slices of one layer cover its axis exactly once, in order.
        let mut cover: BTreeMap<usize, Vec<(usize, usize, usize)>> = BTreeMap::new();
        for s in &steps {
            if let Segment::Slice {
                layer,
                from,
                count,
                of,
                ..
            } = s.segment
            {
                cover.entry(layer).or_default().push((from, count, of));
            }
        }
        assert!(cover.contains_key(&2), "conv2 must be sliced: {steps:#?}");
        for parts in cover.values() {
            let of = parts[0].2;
            let mut at = 0;
            for &(from, count, _) in parts {
                assert_eq!(from, at);
                at += count;
            }
            assert_eq!(at, of);
        }
        // A lower budget means more calls, still each under it.
        let low = plan_all(&ops, &graph, 12_000_000);
        assert!(low.len() > steps.len());
        assert!(low.iter().all(|s| s.estimate <= 10_800_000));
    }

    #[test]
    fn a_conv_row_over_the_budget_is_cut_into_channel_blocks() {
        // cnn_500k's conv3 (128 filters of 3×3×64) needs ≈ 17.7M gas for one output row on
        // chain (the model says less until the first call calibrates it: as here).
        let (ops, graph) = fixture("generated/cnn_500k.keras");
        let outputs = graph.outputs.clone();
        let planner = Planner {
            layers: &ops,
            outputs: &outputs,
            budget: DEFAULT_CALL_GAS,
            model: GasModel::default(),
        };
        let known: BTreeMap<usize, Tensor> = graph
            .run_all(&[input_of(&graph)[&graph.inputs[0]].clone()])
            .unwrap()
            .into_iter()
            .enumerate()
            .collect();
        let mut cal = Calibration::default();
        let key = CostKey {
            layer: 5,
            sliced: true,
            rows: false,
        };
        let row = planner.slice(5, 1, 1, &known, &cal).unwrap().estimate;
        cal.record(key, row, 17_700_000);
        let steps = planner.slices(5, 0, &known, &cal).unwrap();
        let target = DEFAULT_CALL_GAS - DEFAULT_CALL_GAS / 10;
        assert!(steps.iter().all(|s| s.estimate <= target), "{steps:#?}");
        let mut blocks: BTreeMap<usize, Vec<Channels>> = BTreeMap::new();
        for s in &steps {
            if let Segment::Slice {
                layer: 5,
                from,
                count: 1,
                channels: Some(c),
                ..
            } = s.segment
            {
                blocks.entry(from).or_default().push(c);
            }
        }
        // Every row of conv3, every channel of each row exactly once, in order.
        assert_eq!(blocks.len(), 4, "{steps:#?}");
        for row in blocks.values() {
            assert!(row.len() >= 2);
            let mut at = 0;
            for c in row {
                assert_eq!((c.first, c.of), (at, 128));
                at += c.count;
            }
            assert_eq!(at, 128);
        }
    }

    #[test]
    fn row_local_layers_over_the_budget_are_cut_into_rows_of_every_input() {
        let (ops, graph) = fixture("generated/rowslice_fn.keras");
        let steps = plan_all(&ops, &graph, DEFAULT_CALL_GAS);
        let target = DEFAULT_CALL_GAS - DEFAULT_CALL_GAS / 10;
        assert!(steps.iter().all(|s| s.estimate <= target), "{steps:#?}");
        // InputLayer, BatchNormalization, PReLU, Add, Maximum: their rows, covered once, in order.
        for layer in [0, 1, 2, 4, 5] {
            covered(&steps, layer, 64);
        }
        // A merge's slice is sent the same rows of both inputs; a window op's, of its one input.
        let all = graph.run_all(&[input_of(&graph)[&0].clone()]).unwrap();
        let ins = [&all[4], &all[1]];
        let parts = slice_parts(&ops[5], &ins, 10, 3).unwrap();
        let row = 64 * 8;
        assert_eq!(
            parts,
            [
                &all[4].data[10 * row..13 * row],
                &all[1].data[10 * row..13 * row]
            ]
        );
        let parts = slice_parts(&ops[3], &[&all[2]], 10, 3).unwrap();
        assert_eq!(parts, [&all[2].data[9 * row..14 * row]]);
        // Rank 1 and shapes whose first axes differ are not cut.
        assert_eq!(ops[1].slice_axis(&[64]), None);
        let short = Tensor {
            shape: vec![32, 128, 8],
            data: all[1].data[..32 * 128 * 8].to_vec(),
        };
        assert_eq!(slice_parts(&ops[5], &[&all[4], &short], 10, 3), None);
        // ZeroPadding2D (1 row on top, 2 below) on 4 rows: output rows read input rows r − 1.
        let pad = LayerOp {
            kind: LayerKind::ZeroPadding2D,
            inputs: vec![0],
            op: Op::ZeroPad { pad: [1, 2, 0, 1] },
        };
        assert_eq!(pad.slice_axis(&[7, 4, 2]), Some(7));
        assert_eq!(pad.slice_rows(&[4, 3, 2], 0, 1), Some((0, 0)));
        assert_eq!(pad.slice_rows(&[4, 3, 2], 1, 2), Some((0, 2)));
        assert_eq!(pad.slice_rows(&[4, 3, 2], 3, 4), Some((2, 4)));
        assert_eq!(pad.slice_rows(&[4, 3, 2], 5, 2), Some((4, 4)));
    }

    #[test]
    fn normalizations_are_cut_into_rows_given_their_rows_or_the_whole_input() {
        let (ops, graph) = fixture("generated/normrows_fn.keras");
        // Over the last axis, axes [2, 3] and the reshaped rows' last axis: row-local; over
        // axis 1 and GroupNormalization: not.
        for (i, row_local) in [(1, true), (2, false), (3, true), (4, false), (6, true)] {
            assert_eq!(ops[i].op, Op::Normalize { row_local }, "layer {i}");
            assert_eq!(ops[i].row_local(), row_local, "layer {i}");
            assert_eq!(ops[i].slice_axis(&[24, 16, 8]), Some(24), "layer {i}");
            assert_eq!(ops[i].slice_axis(&[128]), None, "layer {i}");
        }
        let all = graph.run_all(&[input_of(&graph)[&0].clone()]).unwrap();
        let row = 16 * 8;
        assert_eq!(
            slice_parts(&ops[1], &[&all[0]], 5, 2).unwrap(),
            [&all[0].data[5 * row..7 * row]]
        );
        assert_eq!(
            slice_parts(&ops[2], &[&all[1]], 5, 2).unwrap(),
            [all[1].data.as_slice()]
        );
        // Under 3M gas a call, each normalisation in rows, covered once, in order.
        let budget = 3_000_000;
        let steps = plan_all(&ops, &graph, budget);
        assert!(steps.iter().all(|s| s.estimate <= budget), "{steps:#?}");
        for layer in [1, 2, 3, 4, 6] {
            covered(&steps, layer, 24);
        }
        // Under 1.5M, one row of GroupNormalization (given the whole input) does not fit: the
        // refusal names the layer, the numbers and why.
        let outputs = graph.outputs.clone();
        let planner = Planner {
            layers: &ops,
            outputs: &outputs,
            budget: 1_500_000,
            model: GasModel::default(),
        };
        let known = BTreeMap::from([(1, all[1].clone())]);
        let mut cal = Calibration::default();
        cal.record(
            CostKey {
                layer: 2,
                sliced: true,
                rows: false,
            },
            1,
            1,
        );
        let e = planner.next(2, &known, &cal).unwrap_err().to_string();
        assert!(
            e.starts_with("layer 2 (GroupNormalization) needs about ")
                && e.contains("even one row per call (each row's call is given the whole input")
                && e.contains("over the budget of 1,500,000 gas per call"),
            "{e}"
        );
    }

    #[test]
    fn attention_is_cut_by_query_rows_given_the_whole_value_and_key() {
        let (ops, graph) = fixture("generated/keras3_15/attention_norm_fn.keras");
        let known = input_of(&graph);
        let ins: Vec<Tensor> = graph.inputs.iter().map(|i| known[i].clone()).collect();
        let all = graph.run_all(&ins).unwrap();
        let attention: Vec<usize> = (0..ops.len())
            .filter(|&i| matches!(ops[i].op, Op::Attention { .. }))
            .collect();
        // Self-attention on x [6, 8] (query = value), cross-attention of [6, 8] over ctx
        // [4, 8] with key [4, 5].
        let [selfish, cross] = attention[..] else {
            panic!("{attention:?}")
        };
        let tensor = |j: usize| known.get(&j).unwrap_or(&all[j]);
        let sources =
            |i: usize| -> Vec<&Tensor> { ops[i].inputs.iter().map(|&j| tensor(j)).collect() };
        assert_eq!(sources(selfish)[0], sources(selfish)[1]);
        assert_eq!(sources(cross).len(), 3);
        for i in [selfish, cross] {
            assert_eq!(ops[i].slice_axis(&[6, 8]), Some(6), "layer {i}");
            assert_eq!(ops[i].slice_rows(&[6, 8], 2, 3), Some((2, 5)), "layer {i}");
            assert_eq!(ops[i].slice_rows(&[6, 8], 4, 3), None, "layer {i}");
            // The query's rows, then every other input whole.
            let ins = sources(i);
            let mut want = vec![&ins[0].data[2 * 8..5 * 8]];
            want.extend(ins[1..].iter().map(|t| t.data.as_slice()));
            assert_eq!(slice_parts(&ops[i], &ins, 2, 3).unwrap(), want, "layer {i}");
        }
        // Under a budget between a one-row slice and the whole layer, both are cut into query
        // rows, covered once, in order, every slice priced within the budget.
        let outputs = graph.outputs.clone();
        let planner = Planner {
            layers: &ops,
            outputs: &outputs,
            budget: DEFAULT_CALL_GAS,
            model: GasModel::default(),
        };
        let mut given: BTreeMap<usize, Tensor> = all.iter().cloned().enumerate().collect();
        given.extend(known.clone());
        let cal = Calibration::default();
        let cost = |i: usize, whole: bool| match whole {
            true => planner.range(i, i + 1, &given, &cal).unwrap().estimate,
            false => planner.slice(i, 0, 1, &given, &cal).unwrap().estimate,
        };
        let row = cost(selfish, false).max(cost(cross, false));
        let whole = cost(selfish, true).min(cost(cross, true));
        assert!(row < whole, "one query row {row}, whole {whole}");
        // The target (nine tenths of the budget) halfway between.
        let budget = (row + whole) / 2 * 10 / 9;
        let steps = plan_all(&ops, &graph, budget);
        assert!(steps.iter().all(|s| s.estimate <= budget), "{steps:#?}");
        for i in [selfish, cross] {
            assert!(covered(&steps, i, 6).len() >= 2, "layer {i}: {steps:#?}");
        }
        // Under one query row (its call projects the whole value and key), once the chain has
        // priced the layer: refused, naming the layer, the numbers and why.
        let planner = Planner {
            budget: row,
            ..planner
        };
        let mut cal = Calibration::default();
        let key = CostKey {
            layer: selfish,
            sliced: true,
            rows: false,
        };
        cal.record(key, 1, 1);
        let e = planner.next(selfish, &given, &cal).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "layer {selfish} (MultiHeadAttention) needs about "
            )) && e.contains(
                "even one query row per call (each call is given the whole value and key"
            ) && e.contains(&format!(
                "over the budget of {} gas per call",
                crate::units::thousands(row)
            )),
            "{e}"
        );
    }

    #[test]
    fn a_small_model_is_one_call() {
        // Recurrent layers, Bidirectional, Embedding and TimeDistributed are priced like the
        // others (they once ended their segment: a small GRU model took three calls).
        for rel in [
            "keras3_4/mlp_basic.keras",
            "generated/gru_seq.keras",
            "generated/keras3_15/audio_cnn_fn.keras",
            "generated/keras3_15/seq_wrappers_fn.keras",
            "keras3_4/embedding_lstm.keras",
        ] {
            let (ops, graph) = fixture(rel);
            let steps = plan_all(&ops, &graph, DEFAULT_CALL_GAS);
            assert_eq!(steps.len(), 1, "{rel}: {steps:#?}");
            assert!(
                matches!(steps[0].segment, Segment::Range { from: 0, to, .. } if to == ops.len()),
                "{rel}"
            );
        }
    }

    /// `EternalModel.Run`'s memory as the planner sees it: along a chain only one layer's input
    /// and output are held at once, while a tensor still read (a residual) or returned keeps its
    /// slot, and a two-input layer's calldata is copied above the top.
    #[test]
    fn the_model_frame_frees_dead_tensors_and_keeps_live_ones() {
        let input = LayerOp {
            kind: LayerKind::Input,
            inputs: vec![],
            op: Op::Input { shape: vec![100] },
        };
        let act = |from: Vec<usize>| LayerOp {
            kind: LayerKind::Add,
            inputs: from,
            op: Op::Elementwise { per_value: 60 },
        };
        // 0 input -> 1 -> 2 -> 3 -> 4 = Add(3, 1): layer 1 is read again at the end.
        let ops = vec![
            input,
            act(vec![0]),
            act(vec![1]),
            act(vec![2]),
            act(vec![3, 1]),
        ];
        let planner = Planner {
            layers: &ops,
            outputs: &[4],
            budget: DEFAULT_CALL_GAS,
            model: GasModel::default(),
        };
        let shapes: BTreeMap<usize, Vec<usize>> = (0..5).map(|i| (i, vec![100])).collect();
        let given: [(usize, &[usize]); 1] = [(0, &[100])];
        let slot = 100 + 1 + 6;
        // Given input, then each answer over the dead slots on top: 1 stays under 2 and 3.
        let frame = planner.model_frame(0, 5, &given, &shapes, &[4]);
        assert_eq!(
            frame.peak,
            4 * slot,
            "1 and 3 held, the Add's calldata copied above them"
        );
        assert_eq!(frame.copied, 6 * 100 + 2 * slot);
        // A plain chain (no residual): each answer over its dead input, one slot.
        let chain = vec![ops[0].clone(), act(vec![0]), act(vec![1]), act(vec![2])];
        let planner = Planner {
            layers: &chain,
            outputs: &[3],
            ..planner
        };
        let frame = planner.model_frame(0, 4, &given, &shapes, &[3]);
        assert_eq!(frame.peak, slot);
        // Returning an inner layer keeps its slot under the rest.
        let frame = planner.model_frame(0, 4, &given, &shapes, &[1, 3]);
        assert_eq!(frame.peak, 2 * slot);
    }

    /// A layer that cannot tell its shape (here an LSTM given a vector) runs alone at the
    /// whole target once; after a measured call it is planned, and so reported, at what that
    /// call took.
    #[test]
    fn a_layer_without_a_shape_is_planned_at_its_last_measured_gas() {
        let ops = vec![
            LayerOp {
                kind: LayerKind::Input,
                inputs: vec![],
                op: Op::Input { shape: vec![6] },
            },
            LayerOp {
                kind: LayerKind::Lstm,
                inputs: vec![0],
                op: Op::Recurrent {
                    units: 3,
                    gates: 4,
                    return_sequences: false,
                    directions: 1,
                    concat: false,
                    backwards: false,
                },
            },
        ];
        let outputs = vec![1];
        let planner = Planner {
            layers: &ops,
            outputs: &outputs,
            budget: DEFAULT_CALL_GAS,
            model: GasModel::default(),
        };
        let known = BTreeMap::from([(
            0,
            Tensor {
                shape: vec![6],
                data: vec![0; 6],
            },
        )]);
        let mut cal = Calibration::default();
        let first = planner.next(1, &known, &cal).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].estimate, planner.target());
        cal.record(first[0].key, first[0].estimate, 123_456);
        let again = planner.next(1, &known, &cal).unwrap();
        assert_eq!(again[0].estimate, 123_456);
    }

    /// wide_dense_fn's two Dense layers of 1,536 inputs under 400,000 gas a call, once the chain
    /// priced a unit slice (here: as the model says): row parts, each within the target, whose
    /// sums carried from part to part give the unsplit reference bit for bit.
    #[test]
    fn a_dense_too_wide_for_one_unit_runs_in_row_parts_equal_to_the_unsplit_layer() {
        let (ops, graph) = fixture("generated/wide_dense_fn.keras");
        let budget = 400_000;
        let outputs = graph.outputs.clone();
        let planner = Planner {
            layers: &ops,
            outputs: &outputs,
            budget,
            model: GasModel::default(),
        };
        let x = Tensor {
            shape: vec![8, 8, 24],
            data: (0..1536)
                .map(|i| ((((i * 7919) % 2000) as i128) - 1000) << 22)
                .collect(),
        };
        let all = graph.run_all(std::slice::from_ref(&x)).unwrap();
        let known: BTreeMap<usize, Tensor> = all.iter().cloned().enumerate().collect();
        let mut cal = Calibration::default();
        for (i, name) in [(0, "wide"), (1, "wide_softmax")] {
            let layer = graph.nodes.iter().position(|n| n.name == name).unwrap();
            // Whole, it does not fit; a unit slice, priced by the chain, neither.
            let whole = planner.range(layer, layer + 1, &known, &cal).unwrap();
            assert!(whole.estimate > planner.target(), "{name}: {whole:?}");
            let unit = CostKey {
                layer,
                sliced: true,
                rows: false,
            };
            cal.record(unit, 1, 1);
            let steps = planner.slices(layer, 0, &known, &cal).unwrap();
            assert!(steps.len() >= 3, "{name}: {steps:#?}");
            let input = &all[graph.nodes[layer].inputs[0]].data;
            let node = &graph.nodes[layer];
            let units = all[layer].data.len();
            let mut got = Vec::new();
            let mut carried = Vec::new();
            let mut at = (0, 0);
            for s in &steps {
                assert!(s.estimate <= planner.target(), "{name}: {s:?}");
                let Segment::Slice {
                    from,
                    count,
                    of,
                    rows: Some(r),
                    ..
                } = s.segment
                else {
                    panic!("{name}: not a row part: {s:?}");
                };
                assert_eq!(of, units);
                if i == 1 {
                    assert_eq!(count, units, "{name}: softmax takes every unit");
                }
                // Blocks of units in order, each over the rows in order.
                assert_eq!((from, r.first), if r.first == 0 { (at.0, 0) } else { at });
                let x = &input[r.first..r.first + r.count];
                let part = forward::dense_part(node, x, r.first, (from, count), &carried, r.last())
                    .unwrap();
                if r.last() {
                    got.extend(part);
                    carried.clear();
                    at = (from + count, 0);
                } else {
                    carried = part;
                    at = (from, r.first + r.count);
                }
            }
            assert_eq!(got, all[layer].data, "{name}");
        }
    }

    /// cnn_15m's fc1 (4,096 → 128): one unit reads all 4,096 kernel rows (≈ 8M gas), so under
    /// 2M gas a call it runs only in row parts, all 128 units at a time.
    #[test]
    fn the_big_cnns_fc1_fits_small_budgets_in_row_parts() {
        let (ops, graph) = fixture("generated/cnn_15m.keras");
        let fc1 = ops
            .iter()
            .position(|l| {
                matches!(
                    l.op,
                    Op::Dense {
                        input_units: 4096,
                        ..
                    }
                )
            })
            .unwrap();
        let all = graph.run_all(&[image()]).unwrap();
        let known: BTreeMap<usize, Tensor> = all.iter().cloned().enumerate().collect();
        let outputs = graph.outputs.clone();
        let planner = Planner {
            layers: &ops,
            outputs: &outputs,
            budget: 2_000_000,
            model: GasModel::default(),
        };
        let cal = Calibration::default();
        assert!(planner.slice(fc1, 0, 1, &known, &cal).unwrap().estimate > planner.target());
        let steps = planner.row_parts(fc1, 0, &known, &cal).unwrap();
        assert!(steps.iter().all(|s| s.estimate <= planner.target()));
        assert!(steps.iter().all(|s| matches!(
            s.segment,
            Segment::Slice {
                from: 0,
                count: 128,
                rows: Some(_),
                ..
            }
        )));
        // Fewer calls than a unit slice per call would take even if one fitted.
        assert!(steps.len() < 128, "{}", steps.len());
    }

    #[test]
    fn softmax_dense_is_never_sliced() {
        let op = LayerOp {
            kind: LayerKind::Dense,
            inputs: vec![0],
            op: Op::Dense {
                units: 10,
                input_units: 4,
                activation: activation::SOFTMAX,
            },
        };
        assert_eq!(op.slice_axis(&[10]), None);
    }

    #[test]
    fn calldata_prices_sign_filled_words() {
        assert_eq!(calldata_gas(&[0]), 32 * 4);
        assert_eq!(calldata_gas(&[1]), 31 * 4 + 16);
        assert_eq!(calldata_gas(&[-1]), 32 * 16);
    }

    #[test]
    fn recurrent_layers_split_by_steps_equal_the_whole_pass_in_every_format() {
        use crate::chain::WeightFormat as F;
        use crate::infer::forward::recurrent_steps;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/generated/rnn_steps_fn.keras");
        let model = crate::keras::load(&path).unwrap();
        for format in [F::Compact, F::Exact, F::Int16, F::Int8] {
            let graph = Graph::from_model(&model, format).unwrap();
            let mut known = input_of(&graph);
            let all = graph
                .run_all(&[known.remove(&graph.inputs[0]).unwrap()])
                .unwrap();
            let mut cut = 0;
            for (i, node) in graph.nodes.iter().enumerate() {
                if !matches!(node.class_name.as_str(), "SimpleRNN" | "LSTM" | "GRU") {
                    continue;
                }
                let input = &all[node.inputs[0]];
                let units = node.config["units"].as_u64().unwrap() as usize;
                // Uneven parts, one of a single step.
                let mut state = (vec![0; units], vec![0; units]);
                let mut seq = Vec::new();
                for (from, count) in [(0, 5), (5, 1), (6, 4), (10, 2)] {
                    let (out, h, c) =
                        recurrent_steps(node, input, from, count, state.0, state.1).unwrap();
                    seq.extend(out);
                    state = (h, c);
                }
                let whole = &all[i].data;
                if all[i].shape.len() == 2 {
                    assert_eq!(&seq, whole, "{format:?} {}", node.name);
                    assert_eq!(state.0, whole[whole.len() - units..], "{}", node.name);
                } else {
                    assert!(seq.is_empty());
                    assert_eq!(&state.0, whole, "{format:?} {}", node.name);
                }
                cut += 1;
            }
            assert_eq!(cut, 4);
        }
    }

    #[test]
    fn recurrent_layers_over_the_budget_are_cut_into_time_steps() {
        let (ops, graph) = fixture("generated/rnn_steps_fn.keras");
        let budget = 300_000;
        let steps = plan_all(&ops, &graph, budget);
        // The LSTMs and the GRU are cut into step slices covering their 12 steps in order (the
        // 4-unit SimpleRNN fits one call).
        for layer in [1, 2, 4] {
            for s in covered(&steps, layer, 12) {
                assert!(s.estimate <= budget - budget / 10, "layer {layer}: {s:?}");
            }
        }
        // The go_backwards GRU reads its steps from the last input row.
        assert_eq!(ops[2].slice_rows(&[12, 6], 0, 3), Some((9, 12)));
        assert_eq!(ops[1].slice_rows(&[12, 5], 2, 3), Some((2, 5)));
        assert_eq!(ops[1].carry_len(), Some(12));
        assert_eq!(ops[2].carry_len(), Some(5));
    }
}

#[cfg(test)]
mod calldata_numbers {
    use super::tests_support::*;
    use super::*;

    /// Calldata gas per activation value of cnn_15m as ABI int256 words (what chained calls
    /// sent before) against the packed values they send now (`chain::packed`): BENCHMARKS.md's
    /// numbers (`cargo test --lib calldata_numbers -- --nocapture`).
    #[test]
    fn int256_words_against_packed_values() {
        let (_, graph) = fixture("generated/cnn_15m.keras");
        let x = image();
        let all = graph.run_all(&[x]).unwrap();
        let packed = |v: &[i128]| -> u64 { packed::calldata_gas(v).0 };
        for (i, t) in all.iter().enumerate() {
            let n = t.data.len() as f64;
            let wide = calldata_gas(&t.data) as f64 / n;
            let tight = packed(&t.data) as f64 / n;
            eprintln!(
                "layer {i} {:?}: {:.0} values, int256 {wide:.1} gas/value, packed {tight:.1}",
                t.shape, n
            );
            // Packed, every tensor costs at most half of its ABI words (measured 2.7–3.5×
            // less; the [0, 1) input 8.6× less).
            assert!(2.0 * tight <= wide, "layer {i}");
        }
    }
}
