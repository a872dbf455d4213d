//! Activation after pooling: a convolution whose activation is monotone non-decreasing and whose
//! only reader is a max pooling runs linear, and the pooling applies the activation to its
//! (fewer) outputs. max(f(a), f(b)) = f(max(a, b)) for any non-decreasing f, so the model
//! computes the same function; on chain a 2×2 pooling evaluates a quarter of the activations
//! (fashion_mnist: 7,840 tanh → 1,960).
//!
//! The rewrite is one decision ([`pool_fusions`]) applied in two places that must agree: the
//! reference graph ([`Graph::fuse_pool_activations`], run by `Graph::from_model` and
//! `Graph::from_bundle`) and the chain's encoded layers (`ModelSpec::fuse_pool_activations`, run by
//! `ModelSpec::from_model` and `ModelSpec::from_bundle`). So the chain equals the reference by
//! construction, whatever the fixed-point activation does between two adjacent inputs; and
//! `verify`, which rebuilds the spec from the file, compares like with like.
//!
//! Windows are never empty in Keras's geometry (valid: every window inside the input; same:
//! the total padding is below the window size, so each window holds a real pixel), so
//! f(max) never meets the empty-window zero.
//!
//! Owns: the conditions of the rewrite and its application to a [`Graph`]. Must not touch: the
//! chain's encodings (`crate::chain::image` applies the same decision there).

use super::Graph;
use super::forward::activation_of;
use crate::chain::config::activation_code;
use serde_json::Value;

/// What the rewrite needs to know of one layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A convolution (Conv1D, Conv2D, grouped, depthwise, separable, transposed) with its
    /// activation code (`contracts/lib/Types.sol` `Activation`).
    Conv(u8),
    /// MaxPooling1D or MaxPooling2D.
    MaxPool,
    /// Anything else.
    Other,
}

/// The activations that are monotone non-decreasing in real arithmetic (so they commute with a
/// maximum) and worth moving (not linear). Left out: linear (nothing to move), softmax and
/// log_softmax (not elementwise), gelu, silu, hard_silu and mish (each dips below zero then
/// rises).
pub const MONOTONE: &[&str] = &[
    "leaky_relu",
    "relu",
    "sigmoid",
    "tanh",
    "relu6",
    "elu",
    "selu",
    "hard_sigmoid",
    "hard_sigmoid_keras2",
    "softplus",
    "softsign",
    "exponential",
];

/// Whether activation `code` (`activation_code`'s numbering) is one of [`MONOTONE`].
pub fn monotone(code: u8) -> bool {
    MONOTONE.iter().any(|n| activation_code(n) == Some(code))
}

/// The pairs (convolution, pooling) to rewrite: layer `c` is a convolution with a
/// [`monotone`] activation, not a model output, read by exactly one layer `p` (once), and `p`
/// is a max pooling whose only input is `c`. `inputs[i]` are layer i's input layers.
pub fn pool_fusions(
    roles: &[Role],
    inputs: &[Vec<usize>],
    outputs: &[usize],
) -> Vec<(usize, usize)> {
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); roles.len()];
    for (i, ins) in inputs.iter().enumerate() {
        for &j in ins {
            if let Some(r) = readers.get_mut(j) {
                r.push(i);
            }
        }
    }
    roles
        .iter()
        .enumerate()
        .filter_map(|(c, role)| {
            let Role::Conv(code) = *role else {
                return None;
            };
            let [p] = readers[c][..] else {
                return None;
            };
            (monotone(code)
                && !outputs.contains(&c)
                && roles.get(p) == Some(&Role::MaxPool)
                && inputs[p] == [c])
            .then_some((c, p))
        })
        .collect()
}

/// The [`Role`] of a Keras layer class with config `activation`.
fn role_of(class_name: &str, activation: &str) -> Role {
    match class_name {
        "Conv1D" | "Conv2D" | "DepthwiseConv2D" | "SeparableConv2D" | "Conv2DTranspose" => {
            // An activation with no on-chain code cannot be deployed; it stays where it is.
            activation_code(activation).map_or(Role::Other, Role::Conv)
        }
        "MaxPooling1D" | "MaxPooling2D" => Role::MaxPool,
        _ => Role::Other,
    }
}

impl Graph {
    /// Applies [`pool_fusions`]: the convolution's `activation` becomes `linear` and its pooling
    /// gets the convolution's `activation` (the pooling's forward pass applies it).
    pub fn fuse_pool_activations(&mut self) {
        let roles: Vec<Role> = self
            .nodes
            .iter()
            .map(|n| role_of(&n.class_name, activation_of(n, "activation")))
            .collect();
        let inputs: Vec<Vec<usize>> = self.nodes.iter().map(|n| n.inputs.clone()).collect();
        for (c, p) in pool_fusions(&roles, &inputs, &self.outputs) {
            let act = activation_of(&self.nodes[c], "activation").to_string();
            self.nodes[c]
                .config
                .insert("activation".into(), Value::String("linear".into()));
            self.nodes[p]
                .config
                .insert("activation".into(), Value::String(act));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    const TANH: u8 = 4;

    #[test]
    fn a_conv_read_only_by_a_max_pool_is_fused() {
        // input → conv(tanh) → maxpool → conv(relu) → maxpool → output
        let roles = [Other, Conv(TANH), MaxPool, Conv(2), MaxPool];
        let inputs = [vec![], vec![0], vec![1], vec![2], vec![3]];
        assert_eq!(pool_fusions(&roles, &inputs, &[4]), [(1, 2), (3, 4)]);
    }

    #[test]
    fn other_readers_outputs_other_pools_and_other_activations_are_not() {
        let inputs = [vec![], vec![0], vec![1]];
        // The pool is not max (average pooling is Other).
        assert!(pool_fusions(&[Other, Conv(TANH), Other], &inputs, &[2]).is_empty());
        // Activations that are not monotone, or linear, or softmax.
        for code in [1, 5, 9, 10, 11, 12, 18, 19] {
            assert!(
                pool_fusions(&[Other, Conv(code), MaxPool], &inputs, &[2]).is_empty(),
                "code {code}"
            );
        }
        // Every monotone code is fused.
        for code in [0, 2, 3, 4, 6, 7, 8, 13, 14, 15, 16, 17] {
            assert_eq!(
                pool_fusions(&[Other, Conv(code), MaxPool], &inputs, &[2]),
                [(1, 2)],
                "code {code}"
            );
        }
        // The conv is also a model output.
        assert!(pool_fusions(&[Other, Conv(TANH), MaxPool], &inputs, &[1, 2]).is_empty());
        // A second reader of the conv (a skip connection into an Add).
        let roles = [Other, Conv(TANH), MaxPool, Other];
        let branchy = [vec![], vec![0], vec![1], vec![1, 2]];
        assert!(pool_fusions(&roles, &branchy, &[3]).is_empty());
        // The pool reads the conv twice (not a real Keras graph, but not one reader).
        let twice = [vec![], vec![0], vec![1, 1]];
        assert!(pool_fusions(&[Other, Conv(TANH), MaxPool], &twice, &[2]).is_empty());
        // A max pool after something that is not a convolution (Dense, an activation layer).
        assert!(pool_fusions(&[Other, Other, MaxPool], &inputs, &[2]).is_empty());
    }

    /// Per layer of a fixture: the reference graph's activation, and the chain's activation
    /// word (a convolution's first, a max pooling's sixth or fourth, if any), from the model
    /// file and from its bundle: all four routes must agree.
    fn fused_by_every_route(rel: &str) -> Vec<(String, String)> {
        use crate::bundle::Bundle;
        use crate::chain::{LayerKind, ModelSpec, WeightFormat};
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel);
        let model = crate::keras::load(&path).unwrap();
        let bundle = Bundle::from_model(&model).unwrap();
        let graph = Graph::from_model(&model, WeightFormat::Compact).unwrap();
        let from_bundle = Graph::from_bundle(&bundle, WeightFormat::Compact).unwrap();
        let spec = ModelSpec::from_model(&model, &bundle).unwrap();
        assert_eq!(
            spec.layers,
            ModelSpec::from_bundle(&bundle, Some(&model))
                .unwrap()
                .layers
        );
        let mut seen = Vec::new();
        for ((n, b), l) in graph.nodes.iter().zip(&from_bundle.nodes).zip(&spec.layers) {
            let act = activation_of(n, "activation");
            assert_eq!(act, activation_of(b, "activation"), "{}", n.name);
            let word = match l.kind {
                LayerKind::Conv1D | LayerKind::Conv2D => Some(l.config[31]),
                // No trailing word: linear (code 1).
                LayerKind::MaxPooling2D => l.config.get(191).copied().or(Some(1)),
                LayerKind::MaxPooling1D => l.config.get(127).copied().or(Some(1)),
                _ => None,
            };
            if let Some(w) = word {
                assert_eq!(Some(w), activation_code(act), "{}", n.name);
                seen.push((n.name.clone(), act.to_string()));
            }
        }
        seen
    }

    #[test]
    fn fashion_mnist_pools_take_both_tanh_in_the_reference_and_on_chain() {
        let got = fused_by_every_route("eai_example/fashion_mnist.keras");
        let acts: Vec<&str> = got.iter().map(|(_, a)| a.as_str()).collect();
        assert_eq!(acts, ["linear", "tanh", "linear", "tanh"], "{got:?}");
    }

    #[test]
    fn conv_pool_fused_moves_only_what_may_move() {
        let got = fused_by_every_route("generated/conv_pool_fused.keras");
        let want = [
            ("conv_tanh", "linear"),
            ("pool_tanh", "tanh"),
            ("conv_sigmoid", "linear"),
            ("pool_sigmoid", "sigmoid"),
            ("conv_relu", "relu"),
            ("pool_relu", "linear"),
            ("conv_gelu", "gelu"),
            ("pool_gelu", "linear"),
        ];
        let mut got = got;
        got.sort();
        let mut want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        want.sort();
        assert_eq!(got, want);
    }

    /// `graph` with every moved activation moved back to its convolution.
    fn unfused(graph: &Graph) -> Graph {
        let mut g = graph.clone();
        for p in 0..g.nodes.len() {
            let act = activation_of(&g.nodes[p], "activation").to_string();
            if g.nodes[p].class_name.starts_with("MaxPooling") && act != "linear" {
                let c = g.nodes[p].inputs[0];
                g.nodes[p].config.remove("activation");
                g.nodes[c]
                    .config
                    .insert("activation".into(), Value::String(act));
            }
        }
        g
    }

    /// Not a proof that the fixed-point functions are monotone, but what it means in practice:
    /// on fashion_mnist's sample and on a spread of inputs to conv_pool_fused, in every format,
    /// pooling then activating gives the very bits activating then pooling gave (so a model
    /// deployed before the rewrite answers as one deployed after).
    #[test]
    fn fused_and_unfused_references_agree_bit_for_bit() {
        use crate::chain::WeightFormat;
        use crate::infer::{Tensor, input};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let fm = crate::keras::load(&root.join("eai_example/fashion_mnist.keras")).unwrap();
        let arr = input::read(&root.join("eai_example/fashion_mnist_input.npy")).unwrap();
        let cp = crate::keras::load(&root.join("generated/conv_pool_fused.keras")).unwrap();
        // 20×3 values spread over [-4, 4), a different pattern per sample.
        let spread = |k: i128| Tensor {
            shape: vec![20, 3],
            data: (0..60i128)
                .map(|i| (((i * 7919 + k * 104_729) % 8192) - 4096) << 21)
                .collect(),
        };
        for format in WeightFormat::ALL {
            let fused = Graph::from_model(&fm, format).unwrap();
            let x = input::samples(&arr[0].1, &fused.input_shapes()[0]).unwrap();
            assert_eq!(fused.run(&x).unwrap(), unfused(&fused).run(&x).unwrap());
            let fused = Graph::from_model(&cp, format).unwrap();
            assert_ne!(fused.nodes[1].config, unfused(&fused).nodes[1].config);
            for k in 0..8 {
                let x = [spread(k)];
                assert_eq!(
                    fused.run_all(&x).unwrap().last(),
                    unfused(&fused).run_all(&x).unwrap().last(),
                    "{format} sample {k}"
                );
            }
        }
    }

    #[test]
    fn roles_follow_the_keras_class_and_activation_name() {
        assert_eq!(role_of("Conv2D", "tanh"), Conv(TANH));
        assert_eq!(role_of("Conv1D", "relu"), Conv(2));
        assert_eq!(role_of("SeparableConv2D", "elu"), Conv(7));
        assert_eq!(role_of("Conv2D", "no_such_function"), Other);
        assert_eq!(role_of("Dense", "tanh"), Other);
        assert_eq!(role_of("MaxPooling2D", "linear"), MaxPool);
        assert_eq!(role_of("MaxPooling1D", "linear"), MaxPool);
        assert_eq!(role_of("AveragePooling2D", "linear"), Other);
        assert_eq!(role_of("GlobalMaxPooling2D", "linear"), Other);
    }
}
