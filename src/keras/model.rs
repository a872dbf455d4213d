//! The model as read from a Keras file, in two forms:
//! - [`Container`]: the tree the file describes (a Sequential or Functional model whose
//!   members are layers or nested models), kept for exporters that must mirror Keras's own
//!   traversal (eai's graph);
//! - [`Model`]: the flattened graph every later stage uses — one [`Layer`] per leaf layer, in
//!   Keras's depth-first order, with real links between them, inferred shapes and weights.
//!
//! Owns the data types only. Must not touch: files (see `archive`, `legacy`), the bundle.

use serde_json::{Map, Value};

/// One dimension: `None` is the batch (or any unknown) dimension.
pub type Dim = Option<usize>;
/// A tensor shape including the leading batch dimension.
pub type Shape = Vec<Dim>;

/// Which file a model came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    /// Keras 3 `.keras` zip.
    KerasZip,
    /// Legacy HDF5 `.h5` (Keras 2 or 3).
    LegacyH5,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::KerasZip => "keras",
            SourceFormat::LegacyH5 => "h5",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerKind {
    Sequential,
    Functional,
}

impl ContainerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerKind::Sequential => "Sequential",
            ContainerKind::Functional => "Functional",
        }
    }
}

/// `[layer name, node index, tensor index]` as Keras writes `keras_history` / inbound nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorRef {
    pub layer: String,
    pub node: usize,
    pub tensor: usize,
}

/// One call of a layer as the config records it.
#[derive(Clone, Debug, Default)]
pub struct Call {
    /// Input tensors in argument order (merge layers list several).
    pub args: Vec<TensorRef>,
    /// Keyword arguments as written (Keras 3 only; Keras 2 has none worth keeping).
    pub kwargs: Map<String, Value>,
}

/// A weight tensor in `get_weights()` order.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Where it came from in the file, e.g. `layers/dense/vars/0` or `dense/kernel:0`.
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// A member of a container: a leaf layer or a nested model.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    /// Keras class as written (`Dense`, `Activation`, `Functional`, …).
    pub class_name: String,
    /// The layer's `config` object.
    pub config: Map<String, Value>,
    /// `build_config.input_shape` when the file carries it (Keras 3 `.keras` only).
    pub build_input_shape: Option<Value>,
    pub calls: Vec<Call>,
    pub body: Body,
}

#[derive(Clone, Debug)]
pub enum Body {
    Leaf,
    Nested(Box<Container>),
}

/// A Sequential or Functional model, possibly nested inside another.
#[derive(Clone, Debug)]
pub struct Container {
    pub kind: ContainerKind,
    pub name: String,
    pub members: Vec<Member>,
    /// Functional only: the model's input and output tensors.
    pub inputs: Vec<TensorRef>,
    pub outputs: Vec<TensorRef>,
}

/// A leaf layer of the flattened graph.
#[derive(Clone, Debug)]
pub struct Layer {
    pub idx: usize,
    pub name: String,
    /// Keras class as written in the file.
    pub keras_class: String,
    /// Class after resolving `Activation(x)` to `ReLU`, `Sigmoid`, `Tanh`, … (eai's naming).
    pub class_name: String,
    pub config: Map<String, Value>,
    /// Indices of the layers whose outputs feed this one, in argument order.
    pub inputs: Vec<usize>,
    pub input_shapes: Vec<Shape>,
    pub output_shape: Shape,
    /// Weight tensors the config says this layer must carry, in `get_weights()` order.
    pub expected_weights: Vec<Vec<usize>>,
    pub weights: Vec<Tensor>,
    /// Where its weights live in either file format.
    pub source: WeightSource,
    /// Why this layer cannot be deployed (its class, or its config), in the words `export`
    /// refuses the file with; `None` when it can. Such a model can be described, not exported.
    pub unsupported: Option<String>,
    /// Whether `output_shape` and `expected_weights` follow from the config. False for a layer
    /// whose class or config eternalize cannot follow and for the layers it feeds: their
    /// shapes are unknown (empty) and their weights are taken as the file holds them.
    pub inferred: bool,
    /// Keras's parameter count when it is not the weights' (a Normalization held as a
    /// BatchNormalization: Keras counts the `count` it drops, not the statistics its config gives).
    pub keras_params: Option<usize>,
}

/// Where a layer's weights are stored.
#[derive(Clone, Debug, Default)]
pub struct WeightSource {
    /// `.keras`: the group Keras 3 names by class and position, e.g. `layers/functional/layers/dense_1`.
    pub zip_path: String,
    /// Legacy `.h5`: the top-level layer whose `model_weights/<name>` group holds the weights
    /// (a nested model's name for its layers, which share the group in layer order).
    pub h5_group: String,
}

impl Layer {
    /// Parameters as Keras counts them.
    pub fn params(&self) -> usize {
        self.keras_params
            .unwrap_or_else(|| self.weights.iter().map(Tensor::len).sum())
    }
}

/// A model read from a file: its tree and the flattened graph.
#[derive(Clone, Debug)]
pub struct Model {
    pub format: SourceFormat,
    /// `keras_version` the file was written with, when it says.
    pub keras_version: Option<String>,
    pub root: Container,
    pub layers: Vec<Layer>,
    /// Indices of the graph's input and output layers.
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

impl Model {
    pub fn model_class(&self) -> &'static str {
        self.root.kind.as_str()
    }

    pub fn total_params(&self) -> usize {
        self.layers.iter().map(Layer::params).sum()
    }

    /// Major Keras version the file was written with (2 or 3). Files that do not say are
    /// taken as Keras 3 when they are `.keras` archives, else Keras 2.
    pub fn keras_major(&self) -> u32 {
        self.keras_version
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse().ok())
            .unwrap_or(match self.format {
                SourceFormat::KerasZip => 3,
                SourceFormat::LegacyH5 => 2,
            })
    }
}

/// `[null, 28, 28, 1]` for display and JSON.
pub fn shape_to_json(shape: &[Dim]) -> Value {
    Value::Array(
        shape
            .iter()
            .map(|d| match d {
                Some(n) => Value::from(*n),
                None => Value::Null,
            })
            .collect(),
    )
}

pub fn shape_to_string(shape: &[Dim]) -> String {
    let parts: Vec<String> = shape
        .iter()
        .map(|d| match d {
            Some(n) => n.to_string(),
            None => "None".into(),
        })
        .collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}
