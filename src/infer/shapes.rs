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
            let t = one(ins)?;
            let mut out = pool1d(t, p, class == "MaxPooling1D", shape[0]);
            // A convolution's activation moved here (`super::fuse`); absent: linear.
            let ch = *t.shape.last().unwrap_or(&1);
            super::forward::activate(
                super::forward::activation_of(node, "activation"),
                &mut out,
                ch,
            )?;
            Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{LayerSource, encode_config};
    use crate::infer::plan::{LayerOp, Op};
    use serde_json::{Value, json};

    /// The chain's config of each kind decodes, in the planner, to the shape Keras gives.
    #[test]
    fn planner_shapes_follow_the_encoded_configs() {
        let cases: [(&str, Value, Vec<usize>, Vec<usize>); 12] = [
            (
                "MaxPooling1D",
                json!({"pool_size": [3], "strides": [1], "padding": "same"}),
                vec![12, 4],
                vec![12, 4],
            ),
            (
                "AveragePooling1D",
                json!({"pool_size": 3, "strides": 2, "padding": "same"}),
                vec![12, 4],
                vec![6, 4],
            ),
            (
                "GlobalMaxPooling2D",
                json!({"keepdims": true}),
                vec![8, 8, 3],
                vec![1, 1, 3],
            ),
            ("GlobalMaxPooling1D", json!({}), vec![5, 3], vec![3]),
            (
                "UpSampling2D",
                json!({"size": [2, 1], "interpolation": "nearest"}),
                vec![6, 6, 3],
                vec![12, 6, 3],
            ),
            (
                "Cropping2D",
                json!({"cropping": [[3, 1], [0, 0]]}),
                vec![12, 6, 3],
                vec![8, 6, 3],
            ),
            (
                "ZeroPadding1D",
                json!({"padding": [2, 1]}),
                vec![9, 4],
                vec![12, 4],
            ),
            ("UpSampling1D", json!({"size": 2}), vec![6, 4], vec![12, 4]),
            (
                "Cropping1D",
                json!({"cropping": [1, 2]}),
                vec![12, 4],
                vec![9, 4],
            ),
            (
                "Permute",
                json!({"dims": [2, 1, 3]}),
                vec![4, 8, 3],
                vec![8, 4, 3],
            ),
            ("RepeatVector", json!({"n": 3}), vec![6], vec![3, 6]),
            ("Average", json!({}), vec![8, 8, 3], vec![8, 8, 3]),
        ];
        for (class, config, input, want) in cases {
            let shape: Vec<Option<u64>> = std::iter::once(None)
                .chain(input.iter().map(|&d| Some(d as u64)))
                .collect();
            let src = LayerSource {
                name: "l",
                class_name: class,
                config: &config,
                input_shapes: &[shape],
                output_shape: None,
            };
            let (kind, bytes) = encode_config(src).unwrap_or_else(|e| panic!("{class}: {e}"));
            let op = LayerOp {
                kind,
                inputs: vec![0],
                op: Op::decode(kind, &bytes).unwrap_or_else(|e| panic!("{class}: {e}")),
            };
            assert_eq!(op.output_shape(&[&input]), Some(want), "{class}");
        }
        let bilinear = json!({"size": 2, "interpolation": "bilinear"});
        let e = encode_config(LayerSource {
            name: "up",
            class_name: "UpSampling2D",
            config: &bilinear,
            input_shapes: &[],
            output_shape: None,
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("'bilinear' is not supported"), "{e}");
    }

    #[test]
    fn permute_transposes_and_merges_combine() {
        let t = Tensor {
            shape: vec![2, 3],
            data: vec![1, 2, 3, 4, 5, 6],
        };
        assert_eq!(permute(&t, &[2, 1]), [1, 4, 2, 5, 3, 6]);
        let a = Tensor {
            shape: vec![2],
            data: vec![7, -7],
        };
        let b = Tensor {
            shape: vec![2],
            data: vec![2, 2],
        };
        assert_eq!(merge("Subtract", &[&a, &b]).unwrap(), [5, -9]);
        // One truncating division of the exact sum: (7 + 2) / 2 = 4, (−7 + 2) / 2 = −2.
        assert_eq!(merge("Average", &[&a, &b]).unwrap(), [4, -2]);
        assert_eq!(merge("Maximum", &[&a, &b]).unwrap(), [7, 2]);
        assert_eq!(merge("Minimum", &[&a, &b]).unwrap(), [2, -7]);
        assert!(merge("Subtract", &[&a, &b, &b]).is_err());
    }
}
