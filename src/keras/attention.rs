//! The per-class rules of the transformer layers: `LayerNormalization` (any set of non-batch
//! axes), `GroupNormalization` (channels last) and `MultiHeadAttention` (self- and
//! cross-attention over rank-3 inputs, no masks): which configs are supported, the output
//! shape, and the weight tensors in Keras's `get_weights()` order.
//!
//! Owns the reading of these classes' configs (shared by the shape rules, the reference and
//! the chain's config encoder). Must not touch: files, the bundle format, the chain.

use super::error::Problem;
use super::layers::LayerCtx;
use super::model::{Shape, shape_to_string};
use serde_json::Value;

/// What a normalization layer normalises: for each value of the input (batch excluded), the
/// statistic group it belongs to and the index of its gamma/beta.
#[derive(Clone, Debug, PartialEq)]
pub enum NormAxes {
    /// LayerNormalization: the normalised axes, counted without the batch axis (0-based,
    /// increasing). Statistics over those axes; gamma/beta shaped like them.
    Layer(Vec<usize>),
    /// GroupNormalization over the last axis: `groups` groups of consecutive channels;
    /// statistics over every position and the group's channels; gamma/beta per channel.
    Group(usize),
}

/// A normalization layer's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct NormParams {
    pub axes: NormAxes,
    pub epsilon: f64,
    pub scale: bool,
    pub center: bool,
}

fn layer_err(ctx: &LayerCtx, reason: String) -> Problem {
    Problem::Layer {
        layer: ctx.name.to_string(),
        class: ctx.class.to_string(),
        reason,
    }
}

fn get<'a>(ctx: &'a LayerCtx, field: &str) -> Option<&'a Value> {
    ctx.config.get(field).filter(|v| !v.is_null())
}

/// The parameters of a `LayerNormalization` or `GroupNormalization` over inputs of `rank`
/// (batch included).
pub fn norm_params(ctx: &LayerCtx, rank: usize) -> Result<NormParams, Problem> {
    let epsilon = match get(ctx, "epsilon") {
        None => 1e-3,
        Some(v) => v
            .as_f64()
            .filter(|e| e.is_finite() && *e >= 0.0)
            .ok_or_else(|| ctx.err("epsilon", format!("must be a number ≥ 0, found {v}")))?,
    };
    let scale = ctx.bool_or("scale", true)?;
    let center = ctx.bool_or("center", true)?;
    let axis = get(ctx, "axis").cloned().unwrap_or(Value::from(-1));
    let list: Vec<i64> = match &axis {
        Value::Array(a) => a.iter().map(Value::as_i64).collect::<Option<_>>(),
        other => other.as_i64().map(|a| vec![a]),
    }
    .filter(|l| !l.is_empty())
    .ok_or_else(|| {
        ctx.err(
            "axis",
            format!("expected an integer or a list of them, found {axis}"),
        )
    })?;
    let mut axes = Vec::with_capacity(list.len());
    for a in &list {
        let ax = if *a < 0 { rank as i64 + a } else { *a };
        if ax <= 0 || ax >= rank as i64 {
            return Err(ctx.err(
                "axis",
                format!("{a} is not a non-batch axis of inputs of rank {rank}"),
            ));
        }
        axes.push(ax as usize - 1);
    }
    let axes = if ctx.class == "GroupNormalization" {
        if axes != [rank - 2] {
            return Err(ctx.err(
                "axis",
                format!("{axis} is not supported; only the last axis (-1)"),
            ));
        }
        NormAxes::Group(ctx.usize("groups")?)
    } else {
        if ctx.bool_or("rms_scaling", false)? {
            return Err(ctx.err("rms_scaling", "true is not supported"));
        }
        if axes.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ctx.err(
                "axis",
                format!("{axis}: list each axis once, in increasing order"),
            ));
        }
        NormAxes::Layer(axes)
    };
    Ok(NormParams {
        axes,
        epsilon,
        scale,
        center,
    })
}

fn dims(ctx: &LayerCtx, s: &Shape) -> Result<Vec<usize>, Problem> {
    s[1..]
        .iter()
        .copied()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            layer_err(
                ctx,
                format!("needs a known input shape, got {}", shape_to_string(s)),
            )
        })
}

/// Output shape (the input's) and weight shapes (gamma if scale, beta if center) of a
/// normalization layer.
pub fn norm_shapes(ctx: &LayerCtx, s: &Shape) -> Result<(Shape, Vec<Vec<usize>>), Problem> {
    if s.len() < 2 {
        return Err(layer_err(ctx, "needs inputs of rank ≥ 2".into()));
    }
    let p = norm_params(ctx, s.len())?;
    let d = dims(ctx, s)?;
    let param: Vec<usize> = match &p.axes {
        NormAxes::Layer(axes) => axes.iter().map(|&a| d[a]).collect(),
        NormAxes::Group(g) => {
            let c = d[d.len() - 1];
            if *g == 0 || c % g != 0 {
                return Err(ctx.err(
                    "groups",
                    format!("{g} groups do not divide the {c} channels"),
                ));
            }
            vec![c]
        }
    };
    let n = usize::from(p.scale) + usize::from(p.center);
    Ok((s.clone(), vec![param; n]))
}

/// For each value of an input of shape `dims` (batch excluded): (statistic group, parameter
/// index), and the number of groups. The rule the contracts follow.
pub fn norm_index(axes: &NormAxes, dims: &[usize]) -> (Vec<(usize, usize)>, usize) {
    let n: usize = dims.iter().product();
    match axes {
        NormAxes::Group(g) => {
            let c = dims.last().copied().unwrap_or(1).max(1);
            let per = (c / g.max(&1)).max(1);
            ((0..n).map(|i| ((i % c) / per, i % c)).collect(), *g)
        }
        NormAxes::Layer(axes) => {
            let rows: usize = (0..dims.len())
                .filter(|a| !axes.contains(a))
                .map(|a| dims[a])
                .product();
            let idx = (0..n)
                .map(|i| {
                    // Row-major coordinates, last axis fastest; mixed radix over each set.
                    let (mut rest, mut row, mut param) = (i, 0, 0);
                    let (mut row_w, mut param_w) = (1, 1);
                    for a in (0..dims.len()).rev() {
                        let x = rest % dims[a];
                        rest /= dims[a];
                        if axes.contains(&a) {
                            param += x * param_w;
                            param_w *= dims[a];
                        } else {
                            row += x * row_w;
                            row_w *= dims[a];
                        }
                    }
                    (row, param)
                })
                .collect();
            (idx, rows)
        }
    }
}

/// A MultiHeadAttention's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MhaParams {
    pub heads: usize,
    pub key_dim: usize,
    pub value_dim: usize,
    pub use_bias: bool,
    /// Output features (`output_shape`, else the query's last axis).
    pub out_dim: usize,
    /// Feature sizes of query, value and key (the value's when there is no key input).
    pub query_in: usize,
    pub value_in: usize,
    pub key_in: usize,
    /// Sequence lengths of the query and of the value/key.
    pub tq: usize,
    pub tk: usize,
}

/// The parameters of a `MultiHeadAttention` called on `inputs` (query, value[, key]).
pub fn mha_params(ctx: &LayerCtx, inputs: &[Shape]) -> Result<MhaParams, Problem> {
    if !(2..=3).contains(&inputs.len()) {
        return Err(layer_err(
            ctx,
            format!(
                "takes 2 or 3 inputs (query, value[, key]), got {}",
                inputs.len()
            ),
        ));
    }
    let mut d = Vec::with_capacity(3);
    for s in inputs {
        if s.len() != 3 {
            return Err(layer_err(
                ctx,
                format!(
                    "supports inputs of rank 3 (batch, sequence, features) only, got {}",
                    shape_to_string(s)
                ),
            ));
        }
        d.push(dims(ctx, s)?);
    }
    if let Some(v) = get(ctx, "attention_axes") {
        let ok = v.as_i64() == Some(1)
            || v.as_array()
                .is_some_and(|a| a.len() == 1 && a[0].as_i64().is_some_and(|x| x == 1 || x == -2));
        if !ok {
            return Err(ctx.err(
                "attention_axes",
                format!("{v} is not supported; only the sequence axis ([1])"),
            ));
        }
    }
    let key = d.get(2).unwrap_or(&d[1]);
    if key[0] != d[1][0] {
        return Err(layer_err(
            ctx,
            format!(
                "key and value must have the same sequence length, got {} and {}",
                key[0], d[1][0]
            ),
        ));
    }
    let key_dim = ctx.usize("key_dim")?;
    let value_dim = match get(ctx, "value_dim") {
        None => key_dim,
        Some(_) => ctx.usize("value_dim")?,
    };
    let heads = ctx.usize("num_heads")?;
    if heads == 0 || key_dim == 0 || value_dim == 0 {
        return Err(layer_err(
            ctx,
            "num_heads, key_dim and value_dim must be at least 1".into(),
        ));
    }
    let out_dim = match get(ctx, "output_shape") {
        None => d[0][1],
        Some(v) => match (v.as_u64(), v.as_array().map(Vec::as_slice)) {
            (Some(n), _) => n as usize,
            (_, Some([n])) if n.as_u64().is_some() => n.as_u64().unwrap_or(0) as usize,
            _ => {
                return Err(ctx.err(
                    "output_shape",
                    format!("{v} is not supported; only one output size"),
                ));
            }
        },
    };
    Ok(MhaParams {
        heads,
        key_dim,
        value_dim,
        use_bias: ctx.bool_or("use_bias", true)?,
        out_dim,
        query_in: d[0][1],
        value_in: d[1][1],
        key_in: key[1],
        tq: d[0][0],
        tk: d[1][0],
    })
}

/// Output shape and weights (query, key, value, output: kernel then bias each) of a
/// `MultiHeadAttention`.
pub fn mha_shapes(ctx: &LayerCtx, inputs: &[Shape]) -> Result<(Shape, Vec<Vec<usize>>), Problem> {
    let p = mha_params(ctx, inputs)?;
    let (h, k, v) = (p.heads, p.key_dim, p.value_dim);
    let mut w = Vec::with_capacity(8);
    for (kernel, bias) in [
        (vec![p.query_in, h, k], vec![h, k]),
        (vec![p.key_in, h, k], vec![h, k]),
        (vec![p.value_in, h, v], vec![h, v]),
        (vec![h, v, p.out_dim], vec![p.out_dim]),
    ] {
        w.push(kernel);
        if p.use_bias {
            w.push(bias);
        }
    }
    let q = &inputs[0];
    Ok((vec![q[0], q[1], Some(p.out_dim)], w))
}

/// Multiply-accumulates of one forward pass (the planner's and the benchmarks' count).
pub fn mha_macs(p: &MhaParams) -> usize {
    let (h, k, v) = (p.heads, p.key_dim, p.value_dim);
    p.tq * p.query_in * h * k
        + p.tk * p.key_in * h * k
        + p.tk * p.value_in * h * v
        + h * p.tq * p.tk * (k + v)
        + p.tq * h * v * p.out_dim
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx<'a>(class: &'a str, c: &'a serde_json::Map<String, Value>) -> LayerCtx<'a> {
        LayerCtx {
            name: "n",
            class,
            config: c,
        }
    }

    #[test]
    fn layer_norm_index_groups_rows_and_params() {
        // dims (2, 3): axis [1] (the last) → rows are the 2 positions, params the 3 features.
        let (idx, rows) = norm_index(&NormAxes::Layer(vec![1]), &[2, 3]);
        assert_eq!(rows, 2);
        assert_eq!(idx, vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        // axis [0] → rows are features, params the positions.
        let (idx, rows) = norm_index(&NormAxes::Layer(vec![0]), &[2, 3]);
        assert_eq!(rows, 3);
        assert_eq!(idx, vec![(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]);
        let (idx, g) = norm_index(&NormAxes::Group(2), &[2, 4]);
        assert_eq!(g, 2);
        assert_eq!(idx[..4], [(0, 0), (0, 1), (1, 2), (1, 3)]);
    }

    #[test]
    fn unsupported_options_name_the_field() {
        let c = json!({"axis": [2, 1]}).as_object().cloned().unwrap();
        let e = norm_params(&ctx("LayerNormalization", &c), 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("increasing order"), "{e}");
        let c = json!({"axis": 1, "groups": 2})
            .as_object()
            .cloned()
            .unwrap();
        let e = norm_params(&ctx("GroupNormalization", &c), 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("only the last axis"), "{e}");
        let c = json!({"num_heads": 2, "key_dim": 4, "attention_axes": [1, 2]})
            .as_object()
            .cloned()
            .unwrap();
        let s = vec![None, Some(4), Some(6)];
        let e = mha_params(&ctx("MultiHeadAttention", &c), &[s.clone(), s])
            .unwrap_err()
            .to_string();
        assert!(e.contains("attention_axes"), "{e}");
    }
}
