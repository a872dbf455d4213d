//! Flattens a [`Container`] tree into the graph of leaf layers: resolves every inbound
//! reference (through nested models) to a layer index, infers every output shape, and records
//! where each layer's weights are stored.

use super::error::Problem;
use super::layers::{self, LayerCtx};
use super::model::{Body, Container, ContainerKind, Layer, Member, Shape, TensorRef, WeightSource};
use std::collections::HashMap;

/// The flattened graph: layers in Keras's depth-first order, input and output layer indices.
pub struct Flat {
    pub layers: Vec<Layer>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

pub fn flatten(root: &Container) -> Result<Flat, Problem> {
    let mut f = Flattener {
        layers: Vec::new(),
        inputs: Vec::new(),
    };
    let outputs = f.container(root, None, "", None)?;
    Ok(Flat {
        layers: f.layers,
        inputs: f.inputs,
        outputs,
    })
}

struct Flattener {
    layers: Vec<Layer>,
    inputs: Vec<usize>,
}

/// Keras's `to_snake_case`, which names weight groups in `.keras` files.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    // Pass 1: "(.)([A-Z][a-z]+)" → "\1_\2"
    let mut s1 = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if i > 0
            && c.is_ascii_uppercase()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
        {
            s1.push('_');
        }
        s1.push(c);
    }
    // Pass 2: "([a-z])([A-Z])" → "\1_\2", then lower-case.
    let c1: Vec<char> = s1.chars().collect();
    let mut s2 = String::with_capacity(s1.len() + 4);
    for (i, &c) in c1.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() && c1[i - 1].is_ascii_lowercase() {
            s2.push('_');
        }
        s2.push(c.to_ascii_lowercase());
    }
    s2
}

/// The names Keras 3 gives the members of a container when saving weights: the snake-cased
/// class, then `_1`, `_2`… for repeats. A Sequential's InputLayer is not among its `layers`.
fn saved_names(c: &Container) -> Vec<Option<String>> {
    let mut used: HashMap<String, usize> = HashMap::new();
    c.members
        .iter()
        .map(|m| {
            if c.kind == ContainerKind::Sequential && m.class_name == "InputLayer" {
                return None;
            }
            let base = snake_case(&m.class_name);
            let n = used.entry(base.clone()).or_insert(0);
            let name = if *n == 0 { base } else { format!("{base}_{n}") };
            *n += 1;
            Some(name)
        })
        .collect()
}

impl Flattener {
    /// Flattens `c`; `feeds` are the layers feeding its inputs when it is nested.
    /// Returns the layers producing its outputs, by output position.
    fn container(
        &mut self,
        c: &Container,
        feeds: Option<Vec<usize>>,
        zip_prefix: &str,
        h5: Option<&str>,
    ) -> Result<Vec<usize>, Problem> {
        let names = saved_names(c);
        let zip_path = |i: usize| match &names[i] {
            Some(n) if zip_prefix.is_empty() => format!("layers/{n}"),
            Some(n) => format!("{zip_prefix}/layers/{n}"),
            None => String::new(),
        };
        // Legacy .h5: a top-level layer has its own group; a nested layer's weights live in
        // the group of the top-level model that contains it.
        let h5_of = |m: &Member| h5.map_or_else(|| m.name.clone(), str::to_string);
        match c.kind {
            ContainerKind::Sequential => {
                let mut feeds = feeds;
                let mut prev: Option<usize> = None;
                for (i, m) in c.members.iter().enumerate() {
                    let inputs = match prev {
                        Some(p) => vec![p],
                        None => feeds.take().unwrap_or_default(),
                    };
                    let outs = self.member(m, inputs, zip_path(i), &h5_of(m))?;
                    prev = Some(single_output(m, &outs)?);
                }
                prev.map(|p| vec![p])
                    .ok_or_else(|| Problem::config(format!("model '{}'", c.name), "has no layers"))
            }
            ContainerKind::Functional => {
                let mut produced: HashMap<&str, Vec<usize>> = HashMap::new();
                for (i, m) in c.members.iter().enumerate() {
                    let inputs = if m.class_name == "InputLayer" {
                        match &feeds {
                            Some(f) => {
                                let pos = c
                                    .inputs
                                    .iter()
                                    .position(|r| r.layer == m.name)
                                    .ok_or_else(|| {
                                        Problem::config(
                                            format!("model '{}'", c.name),
                                            format!(
                                                "input layer '{}' is not among its input_layers",
                                                m.name
                                            ),
                                        )
                                    })?;
                                vec![*f.get(pos).ok_or_else(|| {
                                    Problem::config(
                                        format!("model '{}'", c.name),
                                        format!(
                                            "is called with {} inputs but declares {}",
                                            f.len(),
                                            c.inputs.len()
                                        ),
                                    )
                                })?]
                            }
                            None => Vec::new(),
                        }
                    } else {
                        if m.calls.len() > 1 {
                            return Err(Problem::Layer {
                                layer: m.name.clone(),
                                class: m.class_name.clone(),
                                reason: format!(
                                    "is called {} times (a shared layer); eternalize exports layers called once",
                                    m.calls.len()
                                ),
                            });
                        }
                        let args = m
                            .calls
                            .first()
                            .map(|call| call.args.as_slice())
                            .unwrap_or_default();
                        args.iter()
                            .map(|r| resolve(&produced, r, m))
                            .collect::<Result<Vec<_>, _>>()?
                    };
                    let outs = self.member(m, inputs, zip_path(i), &h5_of(m))?;
                    produced.insert(m.name.as_str(), outs);
                }
                c.outputs
                    .iter()
                    .map(|r| {
                        produced
                            .get(r.layer.as_str())
                            .and_then(|o| o.get(r.tensor))
                            .copied()
                            .ok_or_else(|| {
                                Problem::config(
                                    format!("model '{}'.output_layers", c.name),
                                    format!("names '{}', which is not one of its layers", r.layer),
                                )
                            })
                    })
                    .collect()
            }
        }
    }

    fn member(
        &mut self,
        m: &Member,
        inputs: Vec<usize>,
        zip_path: String,
        h5_group: &str,
    ) -> Result<Vec<usize>, Problem> {
        match &m.body {
            Body::Nested(inner) => self.container(inner, Some(inputs), &zip_path, Some(h5_group)),
            Body::Leaf => {
                let source = WeightSource {
                    zip_path,
                    h5_group: h5_group.to_string(),
                };
                Ok(vec![self.leaf(m, inputs, source)?])
            }
        }
    }

    fn leaf(
        &mut self,
        m: &Member,
        inputs: Vec<usize>,
        source: WeightSource,
    ) -> Result<usize, Problem> {
        let ctx = LayerCtx {
            name: &m.name,
            class: &m.class_name,
            config: &m.config,
        };
        let mut input_shapes: Vec<Shape> = inputs
            .iter()
            .map(|&i| self.layers[i].output_shape.clone())
            .collect();
        if input_shapes.is_empty() {
            // A model input: an InputLayer, or the first layer of a Sequential that declares
            // its own input shape (Keras 2's `batch_input_shape` on the first layer).
            let declared = layers::declared_input_shape(&ctx)?.ok_or_else(|| Problem::Layer {
                layer: m.name.clone(),
                class: m.class_name.clone(),
                reason:
                    "has no input: it is not connected to any layer and declares no input shape"
                        .into(),
            })?;
            input_shapes.push(declared);
            self.inputs.push(self.layers.len());
        }
        // A layer eternalize cannot deploy is kept, marked, so the file can still be described.
        let inputs_known = inputs.iter().all(|&i| self.layers[i].inferred);
        let d = layers::describe(&ctx, &input_shapes, inputs_known);
        let (output_shape, expected_weights) = d.shapes.clone().unwrap_or_default();
        let idx = self.layers.len();
        self.layers.push(Layer {
            idx,
            name: m.name.clone(),
            keras_class: m.class_name.clone(),
            class_name: d.class_name,
            config: m.config.clone(),
            inputs,
            input_shapes,
            output_shape,
            expected_weights,
            weights: Vec::new(),
            source,
            unsupported: d.unsupported,
            inferred: d.shapes.is_some(),
            keras_params: None,
        });
        Ok(idx)
    }
}

fn single_output(m: &Member, outs: &[usize]) -> Result<usize, Problem> {
    match outs {
        [o] => Ok(*o),
        _ => Err(Problem::Layer {
            layer: m.name.clone(),
            class: m.class_name.clone(),
            reason: format!(
                "has {} outputs; inside a Sequential model a layer must have one",
                outs.len()
            ),
        }),
    }
}

fn resolve(
    produced: &HashMap<&str, Vec<usize>>,
    r: &TensorRef,
    m: &Member,
) -> Result<usize, Problem> {
    let err = |reason: String| Problem::Layer {
        layer: m.name.clone(),
        class: m.class_name.clone(),
        reason,
    };
    if r.node != 0 {
        return Err(err(format!(
            "takes the output of call {} of '{}'; layers called more than once are not supported",
            r.node, r.layer
        )));
    }
    let outs = produced.get(r.layer.as_str()).ok_or_else(|| {
        err(format!(
            "takes its input from '{}', which is not defined before it",
            r.layer
        ))
    })?;
    outs.get(r.tensor).copied().ok_or_else(|| {
        err(format!(
            "takes output {} of '{}', which has {} outputs",
            r.tensor,
            r.layer,
            outs.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_matches_keras() {
        for (class, want) in [
            ("Dense", "dense"),
            ("Conv2D", "conv2d"),
            ("MaxPooling2D", "max_pooling2d"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("BatchNormalization", "batch_normalization"),
            ("SimpleRNN", "simple_rnn"),
            ("LSTM", "lstm"),
            ("ReLU", "re_lu"),
            ("InputLayer", "input_layer"),
            ("ZeroPadding2D", "zero_padding2d"),
            ("Functional", "functional"),
        ] {
            assert_eq!(snake_case(class), want, "{class}");
        }
    }
}
