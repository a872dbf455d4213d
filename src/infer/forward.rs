//! Each layer's forward pass over one sample, in the arithmetic of [`super::fixed`].
//! Tensors are row-major (C order) without the batch dimension, channels last.

use super::activations;
use super::fixed::{self, ONE, Overflow, mul};
use super::{Node, Tensor, Weight};
use crate::keras::layers::{LayerCtx, elu_alpha, relu_params};
use serde_json::Value;

type R<T> = Result<T, String>;

fn of(e: Overflow) -> String {
    e.to_string()
}

fn out_shape(node: &Node) -> R<Vec<usize>> {
    node.output_shape[1..]
        .iter()
        .map(|d| {
            d.ok_or_else(|| "has an output dimension that is only known at run time".to_string())
        })
        .collect()
}

fn ctx(node: &Node) -> LayerCtx<'_> {
    LayerCtx {
        name: &node.name,
        class: &node.class_name,
        config: &node.config,
    }
}

fn one<'a>(ins: &[&'a Tensor]) -> R<&'a Tensor> {
    match ins {
        [t] => Ok(t),
        _ => Err(format!("takes one input, got {}", ins.len())),
    }
}

fn weight(node: &Node, i: usize) -> R<&Weight> {
    node.weights
        .get(i)
        .ok_or_else(|| format!("is missing weight tensor {i}"))
}

/// The value a float config field has in Q32.32 (truncated, like the bundle's weights).
fn q_field(node: &Node, field: &str, default: f64) -> R<i128> {
    let v = match node.config.get(field) {
        None | Some(Value::Null) => default,
        Some(v) => v
            .as_f64()
            .ok_or_else(|| format!("config field '{field}' must be a number, found {v}"))?,
    };
    fixed::from_f64(v).ok_or_else(|| format!("config field '{field}' = {v} has no Q32.32 value"))
}

/// Activation applied elementwise (softmax over the last axis of size `last`).
pub fn activate(name: &str, v: &mut [i128], last: usize) -> R<()> {
    match name {
        "linear" => {}
        "relu" => v.iter_mut().for_each(|x| *x = (*x).max(0)),
        "relu6" => v.iter_mut().for_each(|x| *x = (*x).clamp(0, 6 * ONE)),
        "leaky_relu" => {
            let slope = fixed::LEAKY_RELU_SLOPE;
            for x in v.iter_mut() {
                *x = fixed::relu(*x, None, slope, 0).map_err(of)?;
            }
        }
        "sigmoid" => v.iter_mut().for_each(|x| *x = fixed::sigmoid(*x)),
        "tanh" => {
            for x in v.iter_mut() {
                *x = fixed::tanh(*x).map_err(of)?;
            }
        }
        "softmax" => {
            for row in v.chunks_mut(last.max(1)) {
                fixed::softmax(row).map_err(of)?;
            }
        }
        other => match activations::apply(other, v, last) {
            Some(r) => r.map_err(of)?,
            None => return Err(format!("activation '{other}' is not supported")),
        },
    }
    Ok(())
}

/// Σ a_i·b_i exactly, plus `bias << 32`, then >> 32 once.
#[inline]
fn dot_shift(acc: i128) -> i128 {
    acc >> 32
}

pub fn forward(node: &Node, ins: &[&Tensor]) -> R<Tensor> {
    let c = ctx(node);
    let shape = out_shape(node)?;
    let data = match node.class_name.as_str() {
        "InputLayer" | "Dropout" | "Flatten" | "Reshape" => one(ins)?.data.clone(),
        "ReLU" => {
            let p = relu_params(&c).map_err(|e| e.to_string())?;
            let q = |x: f64, f: &str| {
                fixed::from_f64(x)
                    .ok_or_else(|| format!("config field '{f}' = {x} has no Q32.32 value"))
            };
            let max = p.max_value.map(|m| q(m, "max_value")).transpose()?;
            let slope = q(p.negative_slope, "negative_slope")?;
            let threshold = q(p.threshold, "threshold")?;
            let mut v = one(ins)?.data.clone();
            for x in v.iter_mut() {
                *x = fixed::relu(*x, max, slope, threshold).map_err(of)?;
            }
            v
        }
        "Activation" => {
            let mut v = one(ins)?.data.clone();
            activate(
                activation_of(node, "activation"),
                &mut v,
                *shape.last().unwrap_or(&1),
            )?;
            v
        }
        "ELU" => {
            let a = elu_alpha(&c).map_err(|e| e.to_string())?;
            let alpha = fixed::from_f64(a)
                .ok_or_else(|| format!("config field 'alpha' = {a} has no Q32.32 value"))?;
            one(ins)?
                .data
                .iter()
                .map(|&x| activations::elu(x, alpha))
                .collect::<Result<_, _>>()
                .map_err(of)?
        }
        "PReLU" => {
            let t = one(ins)?;
            let alpha = weight(node, 0)?;
            let idx = prelu_index(&t.shape, &alpha.shape)?;
            let mut out = Vec::with_capacity(t.data.len());
            for (i, &x) in t.data.iter().enumerate() {
                let a = alpha.values.get(idx(i)).copied().ok_or_else(|| {
                    format!("alpha holds {} values for its shape", alpha.values.len())
                })?;
                out.push(activations::prelu(x, a).map_err(of)?);
            }
            out
        }
        "Sigmoid" | "Tanh" | "Linear" => {
            let mut v = one(ins)?.data.clone();
            activate(&node.class_name.to_ascii_lowercase(), &mut v, 1)?;
            v
        }
        "Softmax" => {
            let axis = c.i64_or("axis", -1).map_err(|e| e.to_string())?;
            if axis != -1 && axis != shape.len() as i64 {
                return Err(format!(
                    "softmax over axis {axis} is not supported; only the last axis"
                ));
            }
            let mut v = one(ins)?.data.clone();
            activate("softmax", &mut v, *shape.last().unwrap_or(&1))?;
            v
        }
        "Rescaling" => {
            let scale = q_field(node, "scale", 1.0)?;
            let offset = q_field(node, "offset", 0.0)?;
            one(ins)?
                .data
                .iter()
                .map(|&x| mul(x, scale).map(|y| y + offset))
                .collect::<Result<_, _>>()
                .map_err(of)?
        }
        "Dense" => dense(node, one(ins)?, &shape)?,
        "Conv2D" => conv2d(node, one(ins)?, &shape)?,
        "Conv1D" => conv1d(node, one(ins)?, &shape)?,
        "DepthwiseConv2D" | "SeparableConv2D" | "Conv2DTranspose" => {
            super::convs::forward(node, one(ins)?, &shape)?
        }
        "MaxPooling2D" | "AveragePooling2D" => pool2d(node, one(ins)?, &shape)?,
        "GlobalAveragePooling2D" | "GlobalAveragePooling1D" => {
            let t = one(ins)?;
            let ch = *t.shape.last().unwrap_or(&1);
            let n = (t.data.len() / ch.max(1)) as i128;
            let mut sums = vec![0i128; ch];
            for (i, x) in t.data.iter().enumerate() {
                sums[i % ch] += x;
            }
            sums.into_iter().map(|s| s / n.max(1)).collect()
        }
        "ZeroPadding2D" => {
            let t = one(ins)?;
            let [top, _, left, _] = c.zero_padding().map_err(|e| e.to_string())?;
            let (h, w, ch) = (t.shape[0], t.shape[1], t.shape[2]);
            let (oh, ow) = (shape[0], shape[1]);
            let mut out = vec![0i128; oh * ow * ch];
            for y in 0..h {
                for x in 0..w {
                    let src = (y * w + x) * ch;
                    let dst = ((y + top) * ow + (x + left)) * ch;
                    out[dst..dst + ch].copy_from_slice(&t.data[src..src + ch]);
                }
            }
            out
        }
        "BatchNormalization" => batchnorm(node, one(ins)?)?,
        "LayerNormalization" | "GroupNormalization" => {
            super::attention::normalize(node, one(ins)?)?
        }
        "MultiHeadAttention" => super::attention::mha(node, ins)?,
        "Embedding" => {
            let t = one(ins)?;
            let table = weight(node, 0)?;
            let (rows, dim) = (table.shape[0], table.shape[1]);
            let mut out = Vec::with_capacity(t.data.len() * dim);
            for &x in &t.data {
                let idx = x >> 32;
                if idx < 0 || idx as usize >= rows {
                    return Err(format!(
                        "input token {} is outside the table of {rows} rows",
                        fixed::to_f64(x)
                    ));
                }
                let r = idx as usize;
                out.extend_from_slice(&table.values[r * dim..(r + 1) * dim]);
            }
            out
        }
        "SimpleRNN" | "LSTM" | "GRU" => recurrent(node, one(ins)?)?,
        "TimeDistributed" => super::wrap::time_distributed(node, one(ins)?)?,
        "Bidirectional" => super::wrap::bidirectional(node, one(ins)?)?,
        "Add" | "Multiply" => {
            let first = ins.first().ok_or("has no inputs")?;
            let mut acc = first.data.clone();
            for t in &ins[1..] {
                if t.data.len() != acc.len() {
                    return Err("inputs have different sizes".into());
                }
                for (a, b) in acc.iter_mut().zip(&t.data) {
                    *a = if node.class_name == "Add" {
                        *a + b
                    } else {
                        mul(*a, *b).map_err(of)?
                    };
                }
            }
            acc
        }
        "Concatenate" => {
            let rank = shape.len();
            let axis = c.i64_or("axis", -1).map_err(|e| e.to_string())?;
            // axis counts the batch dimension; ours do not.
            let ax = if axis < 0 {
                rank as i64 + axis
            } else {
                axis - 1
            };
            if ax < 0 || ax as usize >= rank {
                return Err(format!("axis {axis} is out of range"));
            }
            let ax = ax as usize;
            let outer: usize = shape[..ax].iter().product();
            let mut out = Vec::with_capacity(shape.iter().product());
            for o in 0..outer {
                for t in ins {
                    let inner: usize = t.shape[ax..].iter().product();
                    out.extend_from_slice(&t.data[o * inner..(o + 1) * inner]);
                }
            }
            out
        }
        c2 if crate::keras::shapes::CLASSES.contains(&c2) => {
            super::shapes::forward(node, ins, &shape)?
        }
        other => return Err(format!("no forward pass for class {other}")),
    };
    let want: usize = shape.iter().product();
    if data.len() != want {
        return Err(format!(
            "produced {} values for an output of {want}",
            data.len()
        ));
    }
    Ok(Tensor { shape, data })
}

/// Where value `i` of an input of shape `input` finds its alpha in a PReLU alpha of shape
/// `alpha` (same rank, each axis the input's or 1 where shared): the contract's walk.
fn prelu_index(input: &[usize], alpha: &[usize]) -> R<impl Fn(usize) -> usize + use<>> {
    if input.len() != alpha.len() || input.iter().zip(alpha).any(|(&d, &a)| a != d && a != 1) {
        return Err(format!(
            "alpha of shape {alpha:?} does not broadcast over an input of shape {input:?}"
        ));
    }
    let (input, alpha) = (input.to_vec(), alpha.to_vec());
    Ok(move |mut i: usize| {
        let (mut at, mut stride) = (0, 1);
        for (d, a) in input.iter().zip(&alpha).rev() {
            if *a != 1 {
                at += (i % d) * stride;
                stride *= a;
            }
            i /= d;
        }
        at
    })
}

pub fn activation_of<'a>(node: &'a Node, field: &str) -> &'a str {
    node.config
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or("linear")
}

fn dense(node: &Node, t: &Tensor, shape: &[usize]) -> R<Vec<i128>> {
    let t = &*narrowed(node, t);
    let k = weight(node, 0)?;
    let (n_in, units) = (k.shape[0], k.shape[1]);
    let bias = node.weights.get(1);
    let rows = t.data.len() / n_in.max(1);
    let mut out = Vec::with_capacity(rows * units);
    for r in 0..rows {
        let x = &t.data[r * n_in..(r + 1) * n_in];
        for j in 0..units {
            let mut acc: i128 = bias.map_or(0, |b| b.values[j] << 32);
            for (i, xi) in x.iter().enumerate() {
                acc = acc
                    .checked_add(xi.checked_mul(k.values[i * units + j]).ok_or("overflow")?)
                    .ok_or("overflow")?;
            }
            out.push(dot_shift(acc));
        }
    }
    activate(
        activation_of(node, "activation"),
        &mut out,
        *shape.last().unwrap_or(&1),
    )?;
    Ok(out)
}

/// A row part of a Dense on a vector, in the reference's terms: units [from, from + count)
/// summed over input rows [first, first + x.len()) only (`x` those inputs), added to `carried`
/// (the parts before; empty for the first). Before the last part (`last`: the rows end there)
/// the result is those partial sums, exact; the last part adds the bias and activates, as
/// [`forward`] does — Σ x̃·k (x̃ each input rounded by the layer's `input_shift`, which depends
/// on no other value) is the same integer however its rows are grouped, so the parts together
/// are the unsplit layer bit for bit (the chain's `DenseLayer._forwardRows`, whose sums are
/// Σ x'·q of the shifted inputs x' = x̃ >> e and the stored integers, scaled once at the end).
pub fn dense_part(
    node: &Node,
    x: &[i128],
    first: usize,
    (from, count): (usize, usize),
    carried: &[i128],
    last: bool,
) -> R<Vec<i128>> {
    let k = weight(node, 0)?;
    let (n_in, units) = (k.shape[0], k.shape[1]);
    if first + x.len() > n_in
        || from + count > units
        || !(carried.is_empty() || carried.len() == count)
    {
        return Err(format!(
            "rows {first}+{} of {n_in}, units {from}+{count} of {units}, {} carried: not a part of this Dense",
            x.len(),
            carried.len()
        ));
    }
    // Each value rounded alone (`narrowed`): the parts sum what the whole layer sums.
    let x: Vec<i128> = x
        .iter()
        .map(|&v| super::quant::narrow(v, node.input_shift))
        .collect();
    let mut out = Vec::with_capacity(count);
    for j in from..from + count {
        let mut acc = carried.get(j - from).copied().unwrap_or(0);
        for (i, xi) in x.iter().enumerate() {
            acc = acc
                .checked_add(
                    xi.checked_mul(k.values[(first + i) * units + j])
                        .ok_or("overflow")?,
                )
                .ok_or("overflow")?;
        }
        out.push(acc);
    }
    if !last {
        return Ok(out);
    }
    let bias = node.weights.get(1);
    for (o, j) in out.iter_mut().zip(from..) {
        *o = dot_shift(
            o.checked_add(bias.map_or(0, |b| b.values[j] << 32))
                .ok_or("overflow")?,
        );
    }
    activate(activation_of(node, "activation"), &mut out, count)?;
    Ok(out)
}

/// Leading padding along one axis: "same" pads half the total (TensorFlow's: the extra pixel
/// goes after); "causal" pads `dilation·(k − 1)` before, whatever the stride (Keras left-pads
/// and then convolves "valid").
pub fn pad_before(
    len: usize,
    out: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    padding: &str,
) -> usize {
    if padding == "valid" {
        return 0;
    }
    let span = dilation * (k - 1) + 1;
    if padding == "causal" {
        return span - 1;
    }
    ((out - 1) * stride + span).saturating_sub(len) / 2
}

/// The input a convolution or a Dense sums: `t` rounded to multiples of `2^node.input_shift` (see
/// [`super::quant`]), borrowed as is when the shift is 0.
fn narrowed<'a>(node: &Node, t: &'a Tensor) -> std::borrow::Cow<'a, Tensor> {
    if node.input_shift == 0 {
        return std::borrow::Cow::Borrowed(t);
    }
    let data = t
        .data
        .iter()
        .map(|&x| super::quant::narrow(x, node.input_shift))
        .collect();
    std::borrow::Cow::Owned(Tensor {
        shape: t.shape.clone(),
        data,
    })
}

fn conv2d(node: &Node, t: &Tensor, shape: &[usize]) -> R<Vec<i128>> {
    let t = &*narrowed(node, t);
    let c = ctx(node);
    let k = weight(node, 0)?;
    let (kh, kw, cg, f) = (k.shape[0], k.shape[1], k.shape[2], k.shape[3]);
    let st = c.tuple("strides", 2).map_err(|e| e.to_string())?;
    let dil = if node.config.contains_key("dilation_rate") {
        c.tuple("dilation_rate", 2).map_err(|e| e.to_string())?
    } else {
        vec![1, 1]
    };
    let padding = c.str_or("padding", "valid").map_err(|e| e.to_string())?;
    // groups = input channels / kernel channels (1 for a plain Conv2D).
    let groups = t.shape[2] / cg.max(1);
    let window = Window {
        kernel: [kh, kw],
        strides: [st[0], st[1]],
        dilation: [dil[0], dil[1]],
        padding,
    };
    let bias = node.weights.get(1).map(|b| b.values.as_slice());
    let mut out = super::convs::grouped(t, &k.values, cg, f, groups, &window, shape, bias);
    activate(activation_of(node, "activation"), &mut out, f)?;
    Ok(out)
}

/// A 2-D window: kernel, strides, dilation and Keras padding.
pub struct Window<'a> {
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub dilation: [usize; 2],
    pub padding: &'a str,
}

fn conv1d(node: &Node, t: &Tensor, shape: &[usize]) -> R<Vec<i128>> {
    let t = &*narrowed(node, t);
    let c = ctx(node);
    let k = weight(node, 0)?;
    let (kl, cin, f) = (k.shape[0], k.shape[1], k.shape[2]);
    let st = c.tuple("strides", 1).map_err(|e| e.to_string())?[0];
    let dil = if node.config.contains_key("dilation_rate") {
        c.tuple("dilation_rate", 1).map_err(|e| e.to_string())?[0]
    } else {
        1
    };
    let padding = c.str_or("padding", "valid").map_err(|e| e.to_string())?;
    let l = t.shape[0];
    let ol = shape[0];
    let p = pad_before(l, ol, kl, st, dil, padding) as isize;
    let bias = node.weights.get(1);
    let mut out = vec![0i128; ol * f];
    for o in 0..ol {
        for fi in 0..f {
            let mut acc: i128 = bias.map_or(0, |b| b.values[fi] << 32);
            for kk in 0..kl {
                let i = (o * st) as isize - p + (kk * dil) as isize;
                if i < 0 || i as usize >= l {
                    continue;
                }
                for ci in 0..cin {
                    acc += t.data[i as usize * cin + ci] * k.values[(kk * cin + ci) * f + fi];
                }
            }
            out[o * f + fi] = dot_shift(acc);
        }
    }
    activate(activation_of(node, "activation"), &mut out, f)?;
    Ok(out)
}

fn pool2d(node: &Node, t: &Tensor, shape: &[usize]) -> R<Vec<i128>> {
    let c = ctx(node);
    let k = c.tuple("pool_size", 2).map_err(|e| e.to_string())?;
    let st = if node.config.get("strides").is_some_and(|v| !v.is_null()) {
        c.tuple("strides", 2).map_err(|e| e.to_string())?
    } else {
        k.clone()
    };
    let padding = c.str_or("padding", "valid").map_err(|e| e.to_string())?;
    let (h, w, ch) = (t.shape[0], t.shape[1], t.shape[2]);
    let (oh, ow) = (shape[0], shape[1]);
    let pt = pad_before(h, oh, k[0], st[0], 1, padding);
    let pl = pad_before(w, ow, k[1], st[1], 1, padding);
    let max = node.class_name == "MaxPooling2D";
    let mut out = vec![0i128; oh * ow * ch];
    for oy in 0..oh {
        for ox in 0..ow {
            for ci in 0..ch {
                let mut best = i128::MIN;
                let mut sum = 0i128;
                let mut n = 0i128;
                for ky in 0..k[0] {
                    let iy = oy * st[0] + ky;
                    if iy < pt || iy - pt >= h {
                        continue;
                    }
                    for kx in 0..k[1] {
                        let ix = ox * st[1] + kx;
                        if ix < pl || ix - pl >= w {
                            continue;
                        }
                        let v = t.data[((iy - pt) * w + (ix - pl)) * ch + ci];
                        if max {
                            best = best.max(v);
                        } else {
                            // The chain sums in 256 bits; a window whose sum leaves i128 is
                            // refused here, never wrapped (nor a panic in a debug build).
                            sum = sum.checked_add(v).ok_or_else(|| {
                                format!(
                                    "the average of window ({oy}, {ox}) channel {ci} sums past \
                                     i128 (a value of {v} in Q32.32)"
                                )
                            })?;
                        }
                        n += 1;
                    }
                }
                // "same" average pooling counts only the real pixels, as TensorFlow does.
                out[(oy * ow + ox) * ch + ci] = if max { best } else { sum / n.max(1) };
            }
        }
    }
    // A convolution's activation moved here (`super::fuse`); absent: linear.
    activate(activation_of(node, "activation"), &mut out, ch)?;
    Ok(out)
}

fn batchnorm(node: &Node, t: &Tensor) -> R<Vec<i128>> {
    let c = ctx(node);
    let scale = c.bool_or("scale", true).map_err(|e| e.to_string())?;
    let center = c.bool_or("center", true).map_err(|e| e.to_string())?;
    let mut i = 0;
    let gamma = if scale {
        i += 1;
        Some(weight(node, i - 1)?)
    } else {
        None
    };
    let beta = if center {
        i += 1;
        Some(weight(node, i - 1)?)
    } else {
        None
    };
    let mean = weight(node, i)?;
    let var = weight(node, i + 1)?;
    let eps = q_field(node, "epsilon", 0.001)?;
    let ch = mean.values.len();
    let axis =
        crate::keras::layers::batchnorm_axis(&c, t.shape.len() + 1).map_err(|e| e.to_string())?;
    if axis != t.shape.len() {
        return Err("only the last axis is supported".into());
    }
    // Per channel: factor = (gamma << 32) / sqrt(var + eps), y = ((x - mean)·factor >> 32) + beta.
    let mut factor = Vec::with_capacity(ch);
    for k in 0..ch {
        let denom = fixed::sqrt(var.values[k] + eps).map_err(of)?;
        let g = gamma.map_or(ONE, |g| g.values[k]);
        factor.push(fixed::div(g, denom).map_err(of)?);
    }
    t.data
        .iter()
        .enumerate()
        .map(|(j, &x)| {
            let k = j % ch;
            mul(x - mean.values[k], factor[k]).map(|y| y + beta.map_or(0, |b| b.values[k]))
        })
        .collect::<Result<_, _>>()
        .map_err(of)
}

/// x·W + h·U (+ bias) for `n` columns, shifted once.
fn gates(x: &[i128], w: &Weight, h: &[i128], u: &Weight, bias: &[i128], n: usize) -> Vec<i128> {
    (0..n)
        .map(|j| {
            let mut acc: i128 = bias.get(j).map_or(0, |b| b << 32);
            for (i, xi) in x.iter().enumerate() {
                acc += xi * w.values[i * n + j];
            }
            for (i, hi) in h.iter().enumerate() {
                acc += hi * u.values[i * n + j];
            }
            acc >> 32
        })
        .collect()
}

fn act1(name: &str, x: i128) -> R<i128> {
    let mut v = [x];
    activate(name, &mut v, 1)?;
    Ok(v[0])
}

/// A recurrent layer's pass; with `go_backwards` it reads the steps from the last, and a
/// returned sequence is in that (reversed) order, as Keras returns it.
pub(super) fn recurrent(node: &Node, t: &Tensor) -> R<Vec<i128>> {
    let units = ctx(node).usize("units").map_err(|e| e.to_string())?;
    let seq = ctx(node)
        .bool_or("return_sequences", false)
        .map_err(|e| e.to_string())?;
    let steps = *t.shape.first().ok_or("a recurrent input has no steps")?;
    let (out, h, _) = recurrent_steps(node, t, 0, steps, vec![0; units], vec![0; units])?;
    Ok(if seq { out } else { h })
}

/// Steps [from, from + count) (in reading order) of a recurrent layer on its whole input `t`,
/// from state `h` (and an LSTM's cell state `cell`): the steps' h concatenated when the layer
/// returns its sequence (else nothing), and the state after the last step. What a step slice
/// computes on chain (`RecurrentBase._forwardSteps`); [`recurrent`] is all the steps from zeros.
pub fn recurrent_steps(
    node: &Node,
    t: &Tensor,
    from: usize,
    count: usize,
    mut h: Vec<i128>,
    mut cell: Vec<i128>,
) -> R<(Vec<i128>, Vec<i128>, Vec<i128>)> {
    let c = ctx(node);
    let units = c.usize("units").map_err(|e| e.to_string())?;
    let seq = c
        .bool_or("return_sequences", false)
        .map_err(|e| e.to_string())?;
    let backwards = c
        .bool_or("go_backwards", false)
        .map_err(|e| e.to_string())?;
    let act = activation_of(node, "activation");
    let rec = node
        .config
        .get("recurrent_activation")
        .and_then(Value::as_str)
        .unwrap_or("sigmoid");
    let w = weight(node, 0)?;
    let u = weight(node, 1)?;
    let b = node.weights.get(2);
    let [steps, feat] = t.shape[..] else {
        return Err(format!("a recurrent input of shape {:?}", t.shape));
    };
    if from + count > steps || h.len() != units || cell.len() != units {
        return Err(format!(
            "steps {from}..{} of {steps} from a state of {} and {} values ({units} units)",
            from + count,
            h.len(),
            cell.len()
        ));
    }
    let mut out = Vec::with_capacity(if seq { count * units } else { 0 });
    let zeros: Vec<i128> = Vec::new();
    for s in from..from + count {
        let row = if backwards { steps - 1 - s } else { s };
        let x = &t.data[row * feat..(row + 1) * feat];
        match node.class_name.as_str() {
            "SimpleRNN" => {
                let z = gates(x, w, &h, u, b.map_or(&zeros, |b| &b.values), units);
                h = z.into_iter().map(|v| act1(act, v)).collect::<R<_>>()?;
            }
            "LSTM" => {
                // Keras gate order: input, forget, cell, output.
                let z = gates(x, w, &h, u, b.map_or(&zeros, |b| &b.values), 4 * units);
                for j in 0..units {
                    let i_g = act1(rec, z[j])?;
                    let f_g = act1(rec, z[units + j])?;
                    let c_g = act1(act, z[2 * units + j])?;
                    let o_g = act1(rec, z[3 * units + j])?;
                    cell[j] = mul(f_g, cell[j]).map_err(of)? + mul(i_g, c_g).map_err(of)?;
                    h[j] = mul(o_g, act1(act, cell[j])?).map_err(of)?;
                }
            }
            "GRU" => {
                // Keras gate order: update z, reset r, candidate h.
                let reset_after = c.bool_or("reset_after", true).map_err(|e| e.to_string())?;
                let n = 3 * units;
                let (b_in, b_rec): (&[i128], &[i128]) = match b {
                    Some(b) if reset_after && b.values.len() == 2 * n => {
                        (&b.values[..n], &b.values[n..])
                    }
                    Some(b) => (&b.values[..], &[]),
                    None => (&[], &[]),
                };
                let xw = gates(x, w, &[], u, b_in, n);
                let prev = h.clone();
                if reset_after {
                    let hu = gates(&[], w, &prev, u, b_rec, n);
                    for j in 0..units {
                        let z = act1(rec, xw[j] + hu[j])?;
                        let r = act1(rec, xw[units + j] + hu[units + j])?;
                        let hh = act1(
                            act,
                            xw[2 * units + j] + mul(r, hu[2 * units + j]).map_err(of)?,
                        )?;
                        h[j] = mul(z, prev[j]).map_err(of)? + mul(ONE - z, hh).map_err(of)?;
                    }
                } else {
                    let hu = gates(&[], w, &prev, u, &[], n);
                    let mut zr = Vec::with_capacity(2 * units);
                    for j in 0..2 * units {
                        zr.push(act1(rec, xw[j] + hu[j])?);
                    }
                    let rh: Vec<i128> = (0..units)
                        .map(|j| mul(zr[units + j], prev[j]))
                        .collect::<Result<_, _>>()
                        .map_err(of)?;
                    for j in 0..units {
                        let mut acc: i128 = 0;
                        for (i, v) in rh.iter().enumerate() {
                            acc += v * u.values[i * n + 2 * units + j];
                        }
                        let hh = act1(act, xw[2 * units + j] + (acc >> 32))?;
                        h[j] =
                            mul(zr[j], prev[j]).map_err(of)? + mul(ONE - zr[j], hh).map_err(of)?;
                    }
                }
            }
            other => return Err(format!("no recurrent pass for {other}")),
        }
        if seq {
            out.extend_from_slice(&h);
        }
    }
    Ok((out, h, cell))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fashion_mnist's first pooling (28×28×6 → 14×14×6, 2×2 stride 2) as `class`, no activation.
    fn pooling(class: &str) -> Node {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/eai_example/fashion_mnist.keras");
        let model = crate::keras::load(&path).unwrap();
        let graph =
            super::super::Graph::from_model(&model, crate::chain::WeightFormat::Compact).unwrap();
        let mut node = graph
            .nodes
            .into_iter()
            .find(|n| n.class_name == "MaxPooling2D")
            .unwrap();
        node.class_name = class.into();
        node.config.remove("activation");
        node
    }

    #[test]
    fn pooling_windows_at_the_ends_of_i128_neither_panic_nor_wrap() {
        let (max, avg) = (pooling("MaxPooling2D"), pooling("AveragePooling2D"));
        let input = |v: i128| Tensor {
            shape: vec![28, 28, 6],
            data: (0..28 * 28 * 6)
                .map(|i| if i % 7 == 0 { v } else { v - 1 })
                .collect(),
        };
        // The maximum of four values near i128::MAX never sums them.
        let out = pool2d(&max, &input(i128::MAX), &[14, 14, 6]).unwrap();
        assert!(out.iter().all(|&v| v == i128::MAX || v == i128::MAX - 1));
        assert!(out.contains(&i128::MAX));
        let out = pool2d(&max, &input(i128::MIN + 1), &[14, 14, 6]).unwrap();
        assert!(out.iter().all(|&v| v == i128::MIN + 1 || v == i128::MIN));
        // An average whose window sum leaves i128 is refused with the window named.
        let err = pool2d(&avg, &input(i128::MAX), &[14, 14, 6]).unwrap_err();
        assert!(
            err.contains("window (0, 0) channel 0 sums past i128"),
            "{err}"
        );
        // Inside the range the average is exact: four values 2^124 (and 2^124 − 1).
        let out = pool2d(&avg, &input(1 << 124), &[14, 14, 6]).unwrap();
        assert!(out.iter().all(|&v| v == (1 << 124) - 1 || v == 1 << 124));
        // Window (0, 0) channel 0: pixels 0, 1, 28, 29, i.e. values 0, 6, 168, 174: 2^124 at 0
        // and 168, truncated (4·2^124 − 2) / 4.
        assert_eq!(out[0], ((1i128 << 124) * 4 - 2) / 4);
    }
}
