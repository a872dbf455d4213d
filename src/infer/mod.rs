//! Inference in fixed point: the reference the chain must equal exactly (see [`fixed`] for
//! the arithmetic), also usable offline by `eternalize predict`.
//!
//! Weights enter in the chosen [`WeightFormat`] as the values the chain decodes: `exact` is the
//! bundle's Q32.32 as-is; `compact` is `(a >> (32 - s)) << (32 - s)` with one shift per tensor
//! (floor); `int16`/`int8` quantize per output channel with round-half-to-even and keep biases
//! in Q32.32 — the rules are in [`quant`]. Everything after that is the same integer arithmetic
//! in every format, so every layer kind runs deterministically in each — except that a plain
//! Conv2D/Conv1D or a Dense in `int16`/`int8` first rounds its input to a step fixed by its
//! window or its input units ([`Node::input_shift`], rule in [`quant`]), which lets its contract
//! put 8 filters (columns) in one multiplication in int8, 6 filters or 5 columns in int16.
//!
//! Owns: the graph as inference sees it, and every layer's forward pass. Must not touch: the
//! chain, the screen.

pub mod activations;
pub mod attention;
pub mod convs;
pub mod fixed;
pub mod forward;
pub mod fuse;
pub mod input;
pub mod plan;
pub use crate::chain::quant;
pub mod shapes;
mod wrap;

use crate::bundle::{Bundle, fixed as q32};
use crate::chain::weights::{decode_int32, encode_int32, shift_of};
use crate::keras::layers::parse_shape;
use crate::keras::model::{Model, Shape};
use serde_json::{Map, Value};

/// The reference computes with exactly the weights the chain holds, in the chain's format.
pub use crate::chain::WeightFormat;

/// A weight tensor as Q32.32 values.
#[derive(Clone, Debug)]
pub struct Weight {
    pub shape: Vec<usize>,
    pub values: Vec<i128>,
}

/// A layer as inference sees it.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    /// Graph class (`Activation(x)` already resolved to `ReLU`, `Sigmoid`, …).
    pub class_name: String,
    pub config: Map<String, Value>,
    pub inputs: Vec<usize>,
    pub input_shapes: Vec<Shape>,
    pub output_shape: Shape,
    pub weights: Vec<Weight>,
    /// The `e` a plain Conv2D/Conv1D or a Dense (TimeDistributed(Dense): its Dense's) in
    /// int16/int8 rounds its input to a multiple of `2^e` by
    /// ([`crate::chain::quant::input_shift`], set by [`Graph::narrow_inputs`]); 0: the input as is.
    pub input_shift: u32,
}

#[derive(Clone, Debug)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

/// A tensor of one sample (no batch dimension), Q32.32.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<i128>,
}

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("layer '{layer}' ({class}): {reason}")]
    Layer {
        layer: String,
        class: String,
        reason: String,
    },
    #[error("input {index} has shape {got:?}, but the model's input '{layer}' takes {want}")]
    InputShape {
        index: usize,
        layer: String,
        got: Vec<usize>,
        want: String,
    },
    #[error("the model takes {want} inputs, {got} were given")]
    InputCount { want: usize, got: usize },
    #[error("{0}")]
    Bundle(String),
}

fn apply_format(values: &[i64], shape: &[usize], format: WeightFormat) -> Vec<i128> {
    match format {
        WeightFormat::Int16 | WeightFormat::Int8 => {
            quant::apply(values, shape, format).unwrap_or_default()
        }
        WeightFormat::Exact => values.iter().map(|&v| i128::from(v)).collect(),
        WeightFormat::Compact => {
            // Exactly what the chain decodes: q = a >> (32 - s), then q << (32 - s).
            let s = shift_of(values.iter().copied());
            values
                .iter()
                .map(|&v| i128::from(decode_int32(encode_int32(v, s), s)))
                .collect()
        }
    }
}

impl Graph {
    /// From a model read from a Keras file.
    pub fn from_model(model: &Model, format: WeightFormat) -> Result<Graph, InferError> {
        let mut nodes = Vec::with_capacity(model.layers.len());
        for l in &model.layers {
            let mut weights = Vec::with_capacity(l.weights.len());
            for t in &l.weights {
                let values: Result<Vec<i64>, _> = t.data.iter().map(|&x| q32::to_q32(x)).collect();
                let values = values.map_err(|_| InferError::Layer {
                    layer: l.name.clone(),
                    class: l.class_name.clone(),
                    reason: format!(
                        "weight {} has a value with no Q32.32 form (NaN, Inf or |x| ≥ 2^31)",
                        t.name
                    ),
                })?;
                weights.push(Weight {
                    shape: t.shape.clone(),
                    values: apply_format(&values, &t.shape, format),
                });
            }
            nodes.push(Node {
                name: l.name.clone(),
                class_name: l.class_name.clone(),
                config: l.config.clone(),
                inputs: l.inputs.clone(),
                input_shapes: l.input_shapes.clone(),
                output_shape: l.output_shape.clone(),
                weights,
                input_shift: 0,
            });
        }
        let mut g = Graph {
            nodes,
            inputs: model.inputs.clone(),
            outputs: model.outputs.clone(),
        };
        g.fuse_pool_activations();
        g.narrow_inputs(format);
        Ok(g)
    }

    /// Sets [`Node::input_shift`] for `format` (the rule is [`crate::chain::quant`]'s) on the
    /// layers whose contracts multiply narrowed inputs by eight, six or five stored integers at
    /// a time: each plain Conv2D and Conv1D (K = its window's taps) and each Dense, also inside
    /// TimeDistributed, which deploys as a `DenseLayer` (K = its input units). Grouped
    /// convolutions and TimeDistributed convolutions run on other contracts, unchanged.
    fn narrow_inputs(&mut self, format: WeightFormat) {
        for n in &mut self.nodes {
            let class = match n.class_name.as_str() {
                "TimeDistributed" => n
                    .config
                    .get("layer")
                    .and_then(|l| l.get("class_name"))
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                c => c,
            };
            let sums = match class {
                "Conv2D" | "Conv1D"
                    if n.class_name == class
                        && n.config.get("groups").and_then(Value::as_u64).unwrap_or(1) == 1 =>
                {
                    Some(quant::Sums::Window)
                }
                "Dense" => Some(quant::Sums::Units),
                _ => None,
            };
            if let (Some(sums), Some(k)) = (sums, n.weights.first()) {
                // The terms of one sum: the kernel's shape but its last axis (output units).
                let terms = k.shape.iter().rev().skip(1).product();
                n.input_shift = quant::input_shift(format, sums, terms);
            }
        }
    }

    /// From a bundle's own section (for a bundle eai wrote, the one rebuilt from its graph:
    /// see `bundle::eai_graph`).
    pub fn from_bundle(b: &Bundle, format: WeightFormat) -> Result<Graph, InferError> {
        let bad =
            |what: &str| InferError::Bundle(format!("the bundle's eternalize section {what}"));
        let layers = b.meta_layers().ok_or_else(|| {
            InferError::Bundle(
                "the bundle has no eternalize section and its model_graph could not be read back: run the model file it was exported from"
                    .into(),
            )
        })?;
        let ints = |v: Option<&Value>| -> Option<Vec<usize>> {
            v?.as_array()?
                .iter()
                .map(|x| x.as_u64().map(|n| n as usize))
                .collect()
        };
        let mut nodes = Vec::with_capacity(layers.len());
        for (i, l) in layers.iter().enumerate() {
            let name = l
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&format!("layer {i} has no name")))?;
            let at = |what: &str| bad(&format!("layer '{name}' {what}"));
            let mut weights = Vec::new();
            for t in l
                .get("weights")
                .and_then(Value::as_array)
                .ok_or_else(|| at("has no weights list"))?
            {
                let shape = ints(t.get("shape")).ok_or_else(|| at("has a weight without shape"))?;
                let offset = t
                    .get("offset")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| at("has a weight without offset"))?
                    as usize;
                let count: usize = shape.iter().product();
                let words = b
                    .weights
                    .get(offset..offset + count.div_ceil(4))
                    .ok_or_else(|| at("points past the weights"))?;
                let values: Vec<i64> = words.iter().flat_map(|w| w.values()).take(count).collect();
                weights.push(Weight {
                    values: apply_format(&values, &shape, format),
                    shape,
                });
            }
            let shapes = |v: Option<&Value>| -> Option<Vec<Shape>> {
                v?.as_array()?.iter().map(parse_shape).collect()
            };
            nodes.push(Node {
                name: name.to_string(),
                class_name: l
                    .get("class_name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| at("has no class"))?
                    .to_string(),
                config: l
                    .get("config")
                    .and_then(Value::as_object)
                    .cloned()
                    .ok_or_else(|| at("has no config"))?,
                inputs: ints(l.get("inputs")).ok_or_else(|| at("has no inputs"))?,
                input_shapes: shapes(l.get("input_shapes"))
                    .ok_or_else(|| at("has no input shapes"))?,
                output_shape: l
                    .get("output_shape")
                    .and_then(parse_shape)
                    .ok_or_else(|| at("has no output shape"))?,
                weights,
                input_shift: 0,
            });
        }
        let mut g = Graph {
            nodes,
            inputs: ints(b.meta.get("inputs")).ok_or_else(|| bad("has no inputs"))?,
            outputs: ints(b.meta.get("outputs")).ok_or_else(|| bad("has no outputs"))?,
        };
        for (i, n) in g.nodes.iter().enumerate() {
            if n.inputs.iter().any(|&j| j >= i) {
                return Err(bad(&format!("links layer '{}' to a later layer", n.name)));
            }
        }
        g.fuse_pool_activations();
        g.narrow_inputs(format);
        Ok(g)
    }

    /// Shapes (without batch) of the model's inputs.
    pub fn input_shapes(&self) -> Vec<Shape> {
        self.inputs
            .iter()
            .map(|&i| {
                self.nodes[i]
                    .input_shapes
                    .first()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Runs one sample through the graph.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, InferError> {
        let values = self.run_all(inputs)?;
        Ok(self
            .outputs
            .iter()
            .filter_map(|&o| values.get(o).cloned())
            .collect())
    }

    /// Every layer's output, in layer order (what chained calls are checked against).
    pub fn run_all(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, InferError> {
        if inputs.len() != self.inputs.len() {
            return Err(InferError::InputCount {
                want: self.inputs.len(),
                got: inputs.len(),
            });
        }
        let mut values: Vec<Option<Tensor>> = vec![None; self.nodes.len()];
        for (k, (&idx, t)) in self.inputs.iter().zip(inputs).enumerate() {
            let node = &self.nodes[idx];
            let want = node.input_shapes.first().cloned().unwrap_or_default();
            let fits = want.len() == t.shape.len() + 1
                && want[1..]
                    .iter()
                    .zip(&t.shape)
                    .all(|(w, g)| w.is_none_or(|w| w == *g));
            if !fits {
                return Err(InferError::InputShape {
                    index: k,
                    layer: node.name.clone(),
                    got: t.shape.clone(),
                    want: crate::keras::model::shape_to_string(&want),
                });
            }
            values[idx] = Some(t.clone());
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let ins: Vec<&Tensor> = if node.inputs.is_empty() {
                match &values[i] {
                    Some(t) => vec![t],
                    None => {
                        return Err(InferError::Layer {
                            layer: node.name.clone(),
                            class: node.class_name.clone(),
                            reason: "has no input".into(),
                        });
                    }
                }
            } else {
                node.inputs
                    .iter()
                    .filter_map(|&j| values[j].as_ref())
                    .collect()
            };
            let out = forward::forward(node, &ins).map_err(|reason| InferError::Layer {
                layer: node.name.clone(),
                class: node.class_name.clone(),
                reason,
            })?;
            values[i] = Some(out);
        }
        Ok(values.into_iter().flatten().collect())
    }
}
