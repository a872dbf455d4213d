//! The wrappers' forward passes: `TimeDistributed` (its layer on each time step) and
//! `Bidirectional` (its recurrent layer run both ways, merged), built from the wrapped layers'
//! own passes in [`super::forward`], in the same arithmetic. The contracts
//! (`TimeDistributedLayer`, `BidirectionalLayer`) mirror these exactly.
//!
//! Owns: how a wrapper splits its input, weights and config among its wrapped layers and how
//! it joins their outputs. Must not touch: the chain, files.

use super::fixed::{Overflow, mul};
use super::forward::{forward, recurrent};
use super::{Node, Tensor};
use crate::keras::layers::{
    BIDIRECTIONAL, LayerCtx, MergeMode, TIME_DISTRIBUTED, bidirectional_parts, merge_mode,
    runs_backwards, step_shape, wrapped,
};
use serde_json::Value;

type R<T> = Result<T, String>;

fn ctx(node: &Node) -> LayerCtx<'_> {
    LayerCtx {
        name: &node.name,
        class: &node.class_name,
        config: &node.config,
    }
}

/// `TimeDistributed`: the wrapped layer (Dense, Conv1D, Conv2D) on each time step alone.
pub(super) fn time_distributed(node: &Node, t: &Tensor) -> R<Vec<i128>> {
    let c = ctx(node);
    let (class, config) = wrapped(&c, "layer", TIME_DISTRIBUTED).map_err(|e| e.to_string())?;
    let steps = *t.shape.first().ok_or("has a scalar input")?;
    let inner = Node {
        name: node.name.clone(),
        class_name: class.to_string(),
        config: config.clone(),
        inputs: Vec::new(),
        input_shapes: node.input_shapes.iter().map(step_shape).collect(),
        output_shape: step_shape(&node.output_shape),
        weights: node.weights.clone(),
        // A wrapped Dense's (`Graph::narrow_inputs`); 0 for a convolution.
        input_shift: node.input_shift,
    };
    let per_in = t.data.len() / steps.max(1);
    let mut out = Vec::new();
    for s in 0..steps {
        let x = Tensor {
            shape: t.shape[1..].to_vec(),
            data: t.data[s * per_in..(s + 1) * per_in].to_vec(),
        };
        out.extend(forward(&inner, &[&x])?.data);
    }
    Ok(out)
}

/// `Bidirectional`: the forward and the backward layer, each with its own weights (the
/// forward layer's tensors first), the backward sequence turned back to time order, then
/// merged: concat on the last axis, sum, product (`fixed::mul`), or ave = (a + b) >> 1 (floor).
pub(super) fn bidirectional(node: &Node, t: &Tensor) -> R<Vec<i128>> {
    let c = ctx(node);
    let parts = bidirectional_parts(&c).map_err(|e| e.to_string())?;
    let merge = merge_mode(&c).map_err(|e| e.to_string())?;
    let per = node.weights.len() / 2;
    let mut outs: Vec<Vec<i128>> = Vec::with_capacity(2);
    let mut units = 0;
    for (which, part) in parts.iter().enumerate() {
        if !BIDIRECTIONAL.contains(&part.class) {
            return Err(format!("cannot run a {} both ways", part.class));
        }
        let mut config = part.config.clone();
        let back = runs_backwards(&c, which).map_err(|e| e.to_string())?;
        config.insert("go_backwards".into(), Value::Bool(back));
        units = part.usize("units").map_err(|e| e.to_string())?;
        let seq = part
            .bool_or("return_sequences", false)
            .map_err(|e| e.to_string())?;
        let inner = Node {
            name: node.name.clone(),
            class_name: part.class.to_string(),
            config,
            inputs: Vec::new(),
            input_shapes: node.input_shapes.clone(),
            output_shape: Vec::new(),
            weights: node.weights[which * per..(which + 1) * per].to_vec(),
            input_shift: 0,
        };
        let mut y = recurrent(&inner, t)?;
        if which == 1 && seq {
            reverse_rows(&mut y, units);
        }
        outs.push(y);
    }
    let (a, b) = (&outs[0], &outs[1]);
    let of = |e: Overflow| e.to_string();
    Ok(match merge {
        MergeMode::Concat => a
            .chunks(units.max(1))
            .zip(b.chunks(units.max(1)))
            .flat_map(|(x, y)| x.iter().chain(y).copied())
            .collect(),
        MergeMode::Sum => a.iter().zip(b).map(|(x, y)| x + y).collect(),
        MergeMode::Mul => a
            .iter()
            .zip(b)
            .map(|(x, y)| mul(*x, *y))
            .collect::<Result<_, _>>()
            .map_err(of)?,
        MergeMode::Ave => a.iter().zip(b).map(|(x, y)| (x + y) >> 1).collect(),
    })
}

/// Reverses the order of the rows (of `width` values) of `v`.
fn reverse_rows(v: &mut [i128], width: usize) {
    let rows = v.len() / width.max(1);
    for r in 0..rows / 2 {
        for j in 0..width {
            v.swap(r * width + j, (rows - 1 - r) * width + j);
        }
    }
}
