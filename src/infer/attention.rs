//! The forward passes of the transformer layers in the reference's fixed point:
//! LayerNormalization / GroupNormalization and MultiHeadAttention. The contracts
//! (`NormalizationBase.sol`, `MultiHeadAttentionLayer.sol`) do the same operations in the same
//! order, so the chain returns these values bit for bit.
//!
//! Normalization, per statistic group of n values x (see `keras::attention::norm_index`):
//! mean = Σx / n (truncated toward zero); d = x − mean; var = ⌊Σd² / (n · 2^32)⌋ (the squares
//! summed exactly, one floor); r = rsqrt(var + ε) (exact floor, [`fixed::rsqrt`]);
//! y = mul(d, r), then mul(y, γ) with scale, then + β with center (each `mul` floors).
//!
//! Attention (query q [Tq, Dq], value v [Tk, Dv], key k [Tk, Dk], key = value when absent):
//! every projection is a dot product shifted once (bias << 32 added first); Q is scaled by
//! s = rsqrt(key_dim) (`mul`, as Keras scales the query before the dot product); scores
//! S[h, t, u] = (Σ_e Q[t, h, e] · K[u, h, e]) >> 32; P = softmax over u ([`fixed::softmax`]);
//! A[t, h, e] = (Σ_u P · V[u, h, e]) >> 32; output (Σ_{h,e} A · Wo + bo << 32) >> 32.
//!
//! Owns these two passes. Must not touch: the other layers' passes, files, the chain.

use super::fixed::{self, Overflow, mul};
use super::{Node, Tensor};
use crate::keras::attention::{mha_params, norm_index, norm_params};
use crate::keras::layers::LayerCtx;
use crate::keras::model::Shape;

type R<T> = Result<T, String>;

fn of(e: Overflow) -> String {
    e.to_string()
}

fn ctx(node: &Node) -> LayerCtx<'_> {
    LayerCtx {
        name: &node.name,
        class: &node.class_name,
        config: &node.config,
    }
}

fn weight(node: &Node, i: usize) -> R<&[i128]> {
    node.weights
        .get(i)
        .map(|w| w.values.as_slice())
        .ok_or_else(|| format!("is missing weight tensor {i}"))
}

/// Q32.32 of ε, truncated like every config float.
pub fn epsilon_q(eps: f64) -> R<i128> {
    fixed::from_f64(eps).ok_or_else(|| format!("epsilon {eps} has no Q32.32 value"))
}

/// LayerNormalization or GroupNormalization of one sample.
pub fn normalize(node: &Node, t: &Tensor) -> R<Vec<i128>> {
    let p = norm_params(&ctx(node), t.shape.len() + 1).map_err(|e| e.to_string())?;
    let eps = epsilon_q(p.epsilon)?;
    let gamma = if p.scale {
        Some(weight(node, 0)?)
    } else {
        None
    };
    let beta = if p.center {
        Some(weight(node, usize::from(p.scale))?)
    } else {
        None
    };
    let (idx, groups) = norm_index(&p.axes, &t.shape);
    let mut sum = vec![0i128; groups];
    let mut count = vec![0i128; groups];
    for (&(g, _), &x) in idx.iter().zip(&t.data) {
        sum[g] += x;
        count[g] += 1;
    }
    let mean: Vec<i128> = sum
        .iter()
        .zip(&count)
        .map(|(s, n)| s / (*n).max(1))
        .collect();
    let mut sq = vec![0i128; groups];
    for (&(g, _), &x) in idx.iter().zip(&t.data) {
        let d = x - mean[g];
        sq[g] = sq[g]
            .checked_add(d.checked_mul(d).ok_or("overflow in a variance")?)
            .ok_or("overflow in a variance")?;
    }
    let r: Vec<i128> = sq
        .iter()
        .zip(&count)
        .map(|(q, n)| fixed::rsqrt(q / ((*n).max(1) << 32) + eps))
        .collect::<Result<_, _>>()
        .map_err(of)?;
    let mut out = Vec::with_capacity(t.data.len());
    for (&(g, k), &x) in idx.iter().zip(&t.data) {
        let mut y = mul(x - mean[g], r[g]).map_err(of)?;
        if let Some(gm) = gamma {
            y = mul(y, gm[k]).map_err(of)?;
        }
        if let Some(b) = beta {
            y += b[k];
        }
        out.push(y);
    }
    Ok(out)
}

/// x [rows, n_in] · W [n_in, n_out] (+ b << 32), shifted once per value.
fn project(x: &[i128], n_in: usize, w: &[i128], b: Option<&[i128]>, n_out: usize) -> Vec<i128> {
    let rows = x.len() / n_in.max(1);
    let mut out = Vec::with_capacity(rows * n_out);
    for r in 0..rows {
        let xr = &x[r * n_in..(r + 1) * n_in];
        for j in 0..n_out {
            let mut acc: i128 = b.map_or(0, |b| b[j] << 32);
            for (i, xi) in xr.iter().enumerate() {
                acc += xi * w[i * n_out + j];
            }
            out.push(acc >> 32);
        }
    }
    out
}

fn need(w: Option<&[i128]>) -> R<&[i128]> {
    w.ok_or_else(|| "is missing a kernel".to_string())
}

/// MultiHeadAttention of one sample; `ins` are query, value[, key].
pub fn mha(node: &Node, ins: &[&Tensor]) -> R<Vec<i128>> {
    let shapes: Vec<Shape> = ins
        .iter()
        .map(|t| {
            std::iter::once(None)
                .chain(t.shape.iter().map(|&d| Some(d)))
                .collect()
        })
        .collect();
    let p = mha_params(&ctx(node), &shapes).map_err(|e| e.to_string())?;
    let (h, dk, dv) = (p.heads, p.key_dim, p.value_dim);
    let mut w = 0;
    let mut next = |bias: bool| -> R<Option<&[i128]>> {
        if bias && !p.use_bias {
            return Ok(None);
        }
        w += 1;
        weight(node, w - 1).map(Some)
    };
    let (wq, bq) = (next(false)?, next(true)?);
    let (wk, bk) = (next(false)?, next(true)?);
    let (wv, bv) = (next(false)?, next(true)?);
    let (wo, bo) = (next(false)?, next(true)?);
    let key = ins.get(2).unwrap_or(&ins[1]);
    // [T, h·d] each: head-major within a position, as Keras's (T, heads, dim) layout.
    let q = project(&ins[0].data, p.query_in, need(wq)?, bq, h * dk);
    let k = project(&key.data, p.key_in, need(wk)?, bk, h * dk);
    let v = project(&ins[1].data, p.value_in, need(wv)?, bv, h * dv);
    let s = fixed::rsqrt((dk as i128) << 32).map_err(of)?;
    let q: Vec<i128> = q
        .iter()
        .map(|&x| mul(x, s))
        .collect::<Result<_, _>>()
        .map_err(of)?;
    let (tq, tk) = (p.tq, p.tk);
    // Attention output [Tq, h·dv], the layout the output kernel [h, dv, out] reads.
    let mut att = vec![0i128; tq * h * dv];
    let mut scores = vec![0i128; tk];
    for hh in 0..h {
        for t in 0..tq {
            let qr = &q[(t * h + hh) * dk..(t * h + hh + 1) * dk];
            for (u, sc) in scores.iter_mut().enumerate() {
                let kr = &k[(u * h + hh) * dk..(u * h + hh + 1) * dk];
                *sc = qr.iter().zip(kr).map(|(a, b)| a * b).sum::<i128>() >> 32;
            }
            fixed::softmax(&mut scores).map_err(of)?;
            for e in 0..dv {
                let mut acc: i128 = 0;
                for (u, pr) in scores.iter().enumerate() {
                    acc += pr * v[(u * h + hh) * dv + e];
                }
                att[(t * h + hh) * dv + e] = acc >> 32;
            }
        }
    }
    Ok(project(&att, h * dv, need(wo)?, bo, p.out_dim))
}
