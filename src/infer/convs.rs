//! The reference of the convolutions beyond Conv1D/Conv2D — grouped Conv2D, DepthwiseConv2D,
//! SeparableConv2D, Conv2DTranspose — in the arithmetic of [`super::fixed`]: every output is
//! (Σ x·w + bias << 32) >> 32, the exact sum rounded once toward −∞, as the contracts compute it
//! (`GroupedConvBase`, `SeparableConv2DLayer`, `Conv2DTransposeLayer`).
//!
//! Owns these classes' forward passes. Must not touch: files, the chain.

use super::forward::{Window, activate, activation_of, pad_before};
use super::{Node, Tensor};
use crate::keras::convs::{depth_multiplier, transpose_crop};
use crate::keras::layers::LayerCtx;

type R<T> = Result<T, String>;

/// The grouped convolution of `t` ([h, w, cin]) by `kernel` ([kh, kw, cg, f] row-major, cg =
/// cin / groups): filter o reads input channels [g·cg, (g + 1)·cg), g = o / (f / groups).
/// `out_shape` is [oh, ow, f]. No activation.
#[allow(clippy::too_many_arguments)]
pub fn grouped(
    t: &Tensor,
    kernel: &[i128],
    cg: usize,
    f: usize,
    groups: usize,
    win: &Window,
    out_shape: &[usize],
    bias: Option<&[i128]>,
) -> Vec<i128> {
    let (h, w, cin) = (t.shape[0], t.shape[1], t.shape[2]);
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.strides;
    let [dh, dw] = win.dilation;
    let (oh, ow) = (out_shape[0], out_shape[1]);
    let pt = pad_before(h, oh, kh, sh, dh, win.padding) as isize;
    let pl = pad_before(w, ow, kw, sw, dw, win.padding) as isize;
    let fg = (f / groups.max(1)).max(1);
    let mut out = vec![0i128; oh * ow * f];
    for oy in 0..oh {
        for ox in 0..ow {
            for fi in 0..f {
                let c0 = (fi / fg) * cg;
                let mut acc: i128 = bias.map_or(0, |b| b[fi] << 32);
                for ky in 0..kh {
                    let iy = (oy * sh) as isize - pt + (ky * dh) as isize;
                    if iy < 0 || iy as usize >= h {
                        continue;
                    }
                    for kx in 0..kw {
                        let ix = (ox * sw) as isize - pl + (kx * dw) as isize;
                        if ix < 0 || ix as usize >= w {
                            continue;
                        }
                        let base = (iy as usize * w + ix as usize) * cin + c0;
                        let kb = (ky * kw + kx) * cg * f + fi;
                        for ci in 0..cg {
                            acc += t.data[base + ci] * kernel[kb + ci * f];
                        }
                    }
                }
                out[(oy * ow + ox) * f + fi] = acc >> 32;
            }
        }
    }
    out
}

/// The transposed convolution of `t` ([h, w, cin]) by `kernel` ([kh, kw, f, cin]): input pixel
/// (i, j) and tap (ky, kx) reach output (i·sh + ky − pt, j·sw + kx − pl), pt/pl the crop of
/// `same` (TensorFlow's placement). No activation.
fn transposed(
    t: &Tensor,
    kernel: &[i128],
    f: usize,
    win: &Window,
    out_shape: &[usize],
    bias: Option<&[i128]>,
) -> Vec<i128> {
    let (h, w, cin) = (t.shape[0], t.shape[1], t.shape[2]);
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.strides;
    let (oh, ow) = (out_shape[0], out_shape[1]);
    let pt = transpose_crop(kh, sh, win.padding);
    let pl = transpose_crop(kw, sw, win.padding);
    let mut out = vec![0i128; oh * ow * f];
    for y in 0..oh {
        for x in 0..ow {
            for o in 0..f {
                let mut acc: i128 = bias.map_or(0, |b| b[o] << 32);
                for ky in 0..kh {
                    let Some(ry) = (y + pt).checked_sub(ky) else {
                        continue;
                    };
                    if ry % sh != 0 || ry / sh >= h {
                        continue;
                    }
                    for kx in 0..kw {
                        let Some(rx) = (x + pl).checked_sub(kx) else {
                            continue;
                        };
                        if rx % sw != 0 || rx / sw >= w {
                            continue;
                        }
                        let base = ((ry / sh) * w + rx / sw) * cin;
                        let kb = ((ky * kw + kx) * f + o) * cin;
                        for ci in 0..cin {
                            acc += t.data[base + ci] * kernel[kb + ci];
                        }
                    }
                }
                out[(y * ow + x) * f + o] = acc >> 32;
            }
        }
    }
    out
}

/// The forward pass of a DepthwiseConv2D, SeparableConv2D or Conv2DTranspose node.
pub fn forward(node: &Node, t: &Tensor, shape: &[usize]) -> R<Vec<i128>> {
    let c = LayerCtx {
        name: &node.name,
        class: &node.class_name,
        config: &node.config,
    };
    let e = |p: crate::keras::error::Problem| p.to_string();
    let k = c.tuple("kernel_size", 2).map_err(e)?;
    let st = c.tuple("strides", 2).map_err(e)?;
    let padding = c.str_or("padding", "valid").map_err(e)?;
    let win = Window {
        kernel: [k[0], k[1]],
        strides: [st[0], st[1]],
        dilation: [1, 1],
        padding,
    };
    let w = |i: usize| {
        node.weights
            .get(i)
            .ok_or_else(|| format!("is missing weight tensor {i}"))
    };
    let cin = t.shape[2];
    let f = *shape.last().ok_or("has no output channels")?;
    let mut out = match node.class_name.as_str() {
        "DepthwiseConv2D" => {
            // The depthwise kernel [kh, kw, cin, m] is the grouped kernel [kh, kw, 1, cin·m].
            let bias = node.weights.get(1).map(|b| b.values.as_slice());
            grouped(t, &w(0)?.values, 1, f, cin, &win, shape, bias)
        }
        "SeparableConv2D" => {
            let m = depth_multiplier(&c).map_err(e)?;
            let mid_shape = [shape[0], shape[1], cin * m];
            let mid = Tensor {
                shape: mid_shape.to_vec(),
                data: grouped(t, &w(0)?.values, 1, cin * m, cin, &win, &mid_shape, None),
            };
            let one = Window {
                kernel: [1, 1],
                strides: [1, 1],
                dilation: [1, 1],
                padding: "valid",
            };
            let bias = node.weights.get(2).map(|b| b.values.as_slice());
            grouped(&mid, &w(1)?.values, cin * m, f, 1, &one, shape, bias)
        }
        _ => {
            let bias = node.weights.get(1).map(|b| b.values.as_slice());
            transposed(t, &w(0)?.values, f, &win, shape, bias)
        }
    };
    activate(activation_of(node, "activation"), &mut out, f)?;
    Ok(out)
}
