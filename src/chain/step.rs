//! What a deployment transaction is for: the [`Step`] the engine sends, the journal records
//! and every front end names. Described here, on the chain side, because each step is one
//! contract call of [`super::calls`]; the engine and the journal import it from here.

use serde::{Deserialize, Serialize};

/// A step of a deployment that the engine sends one or more transactions for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// The factory, once per chain.
    Factory,
    /// The rare activations' contract (`EternalActivations`), once per chain, before any layer
    /// that calls it.
    Activations,
    /// The narrowed convolutions' kernel (`EternalConvKernel`), once per chain, before any layer
    /// that calls it.
    ConvKernel,
    /// A layer or model implementation, once per chain and contract.
    Implementation { contract: String },
    /// The model contract (a clone).
    Model,
    /// Layer clones `first .. first + count` (layer indices of the graph).
    Layers { first: usize, count: usize },
    /// `constructModel`: links, hashes, chunk commitment.
    Construct,
    /// Weight chunk `index`.
    Chunk { index: usize },
}

/// A step in words, for messages: `the factory`, `layers #0..#7`, `chunk 12`.
impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Factory => f.write_str("the factory"),
            Step::Activations => f.write_str("the activations contract"),
            Step::ConvKernel => f.write_str("the convolution kernel contract"),
            Step::Implementation { contract } => write!(f, "the {contract} implementation"),
            Step::Model => f.write_str("the model clone"),
            Step::Layers { first, count } => {
                write!(f, "layers #{first}..#{}", first + count.saturating_sub(1))
            }
            Step::Construct => f.write_str("constructModel"),
            Step::Chunk { index } => write!(f, "chunk {index}"),
        }
    }
}
