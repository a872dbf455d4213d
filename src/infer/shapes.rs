//! The forward passes of the pooling, reshaping and merging classes of issue 15 (see
//! [`crate::keras::shapes`]), over one sample in Q32.32. Nothing here rounds except the
//! averages (AveragePooling1D, Average), which divide the exact sum once, truncating toward
//! zero — the contracts' SDIV.
//!
//! Owns these classes' arithmetic. Must not touch: the chain, the screen.

use super::{Node, Tensor};
use crate::keras::layers::LayerCtx;
use crate::keras::shapes::{Pool1D, Regrid, is_regrid, permute_dims};

type R<T> = Result<T, String>;

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

/// The output values of `node` (a class of [`crate::keras::shapes::CLASSES`]) whose output
/// shape, batch axis dropped, is `shape`.
pub fn forward(node: &Node, ins: &[&Tensor], shape: &[usize]) -> R<Vec<i128>> {
    let c = ctx(node);
    let class = node.class_name.as_str();
    match class {
        "MaxPooling1D" | "AveragePooling1D" => {
            let p = Pool1D::of(&c).map_err(|e| e.to_string())?;
            Ok(pool1d(one(ins)?, p, class == "MaxPooling1D", shape[0]))
        }
        "GlobalMaxPooling1D" | "GlobalMaxPooling2D" => {
            let t = one(ins)?;
            let ch = *t.shape.last().unwrap_or(&1);
            let mut best = vec![i128::MIN; ch];
            for (i, x) in t.data.iter().enumerate() {
                best[i % ch] = best[i % ch].max(*x);
            }
            Ok(best)
        }
        c2 if is_regrid(c2) => {
            let g = Regrid::of(&c).map_err(|e| e.to_string())?;
            Ok(regrid(one(ins)?, &g, shape))
        }
        "Permute" => {
            let t = one(ins)?;
            let dims = permute_dims(&c, t.shape.len() + 1).map_err(|e| e.to_string())?;
            Ok(permute(t, &dims))
        }
        "RepeatVector" => {
            let t = one(ins)?;
            Ok(t.data.repeat(shape[0]))
        }
        "Subtract" | "Average" | "Maximum" | "Minimum" => merge(class, ins),
        other => Err(format!("no forward pass for class {other}")),
    }
}

/// Pooling windows of `p` over [steps, ch]; windows cover only real steps (`same` padding is
/// not counted in an average, as TensorFlow).
fn pool1d(t: &Tensor, p: Pool1D, max: bool, out_steps: usize) -> Vec<i128> {
    let (n, ch) = (t.shape[0], t.shape[1]);
    let pad = if p.same {
        ((out_steps.saturating_sub(1)) * p.stride + p.size).saturating_sub(n) / 2
    } else {
        0
    };
    let mut out = Vec::with_capacity(out_steps * ch);
    for o in 0..out_steps {
        let from = (o * p.stride).saturating_sub(pad);
        let to = (o * p.stride + p.size).saturating_sub(pad).min(n);
        for c in 0..ch {
            let window = (from..to).map(|i| t.data[i * ch + c]);
            out.push(if max {
                window.max().unwrap_or(0)
            } else {
                let count = (to.saturating_sub(from)).max(1) as i128;
                window.sum::<i128>() / count
            });
        }
    }
    out
}

/// Each output position of the spatial axes copies its [`crate::keras::shapes::Axis::source`]
/// position's channels, or stays zero.
fn regrid(t: &Tensor, g: &Regrid, shape: &[usize]) -> Vec<i128> {
    let ch = *t.shape.last().unwrap_or(&1);
    let (h, w) = match g.axes.len() {
        1 => (t.shape[0], 1),
        _ => (t.shape[0], t.shape[1]),
    };
    let (oh, ow) = match g.axes.len() {
        1 => (shape[0], 1),
        _ => (shape[0], shape[1]),
    };
    let col = |ox: usize| g.axes.get(1).map_or(Some(ox), |a| a.source(ox, w));
    let mut out = vec![0i128; oh * ow * ch];
    for oy in 0..oh {
        let Some(y) = g.axes[0].source(oy, h) else {
            continue;
        };
        for ox in 0..ow {
            let Some(x) = col(ox) else { continue };
            let src = (y * w + x) * ch;
            let dst = (oy * ow + ox) * ch;
            out[dst..dst + ch].copy_from_slice(&t.data[src..src + ch]);
        }
    }
    out
}

/// Output axis `i` is input axis `dims[i] − 1` (Keras's 1-based dims).
fn permute(t: &Tensor, dims: &[usize]) -> Vec<i128> {
    let r = t.shape.len();
    let mut strides = vec![1usize; r];
    for a in (0..r.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * t.shape[a + 1];
    }
    let out_shape: Vec<usize> = dims.iter().map(|&d| t.shape[d - 1]).collect();
    let out_strides: Vec<usize> = dims.iter().map(|&d| strides[d - 1]).collect();
    let mut out = Vec::with_capacity(t.data.len());
    let mut idx = vec![0usize; r];
    for _ in 0..t.data.len() {
        let at: usize = idx.iter().zip(&out_strides).map(|(i, s)| i * s).sum();
        out.push(t.data[at]);
        for a in (0..r).rev() {
            idx[a] += 1;
            if idx[a] < out_shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

fn merge(class: &str, ins: &[&Tensor]) -> R<Vec<i128>> {
    let first = ins.first().ok_or("has no inputs")?;
    if ins.iter().any(|t| t.data.len() != first.data.len()) {
        return Err("inputs have different sizes".into());
    }
    if class == "Subtract" && ins.len() != 2 {
        return Err(format!("takes exactly 2 inputs, got {}", ins.len()));
    }
    let mut acc = first.data.clone();
    for t in &ins[1..] {
        for (a, b) in acc.iter_mut().zip(&t.data) {
            *a = match class {
                "Subtract" => *a - b,
                "Average" => *a + b,
                "Maximum" => (*a).max(*b),
                _ => (*a).min(*b),
            };
        }
    }
    if class == "Average" {
        let n = ins.len() as i128;
        acc.iter_mut().for_each(|a| *a /= n);
    }
    Ok(acc)
}
