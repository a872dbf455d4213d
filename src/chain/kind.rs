//! Layer kinds as the contracts number them (`contracts/lib/Types.sol`, `LayerKind`), the Keras
//! class each one stands for, and the artifact that implements it.

/// A layer kind. Kinds 0–19 keep eai's `LayerType` numbering; 20.. are eternalize's additions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum LayerKind {
    Input = 0,
    Dense = 1,
    Flatten = 2,
    Rescaling = 3,
    MaxPooling2D = 4,
    AveragePooling2D = 5,
    Conv2D = 6,
    BatchNormalization = 7,
    Embedding = 8,
    SimpleRnn = 9,
    Lstm = 10,
    Softmax = 11,
    Sigmoid = 12,
    Relu = 13,
    Linear = 14,
    Add = 15,
    Dropout = 16,
    GlobalAveragePooling2D = 17,
    ZeroPadding2D = 18,
    Concatenate = 19,
    Tanh = 20,
    Gru = 21,
    Conv1D = 22,
    GlobalAveragePooling1D = 23,
    Reshape = 24,
    Multiply = 25,
    TimeDistributed = 49,
    Bidirectional = 50,
}

impl LayerKind {
    /// Every kind, in code order.
    pub const ALL: [LayerKind; 28] = [
        LayerKind::Input,
        LayerKind::Dense,
        LayerKind::Flatten,
        LayerKind::Rescaling,
        LayerKind::MaxPooling2D,
        LayerKind::AveragePooling2D,
        LayerKind::Conv2D,
        LayerKind::BatchNormalization,
        LayerKind::Embedding,
        LayerKind::SimpleRnn,
        LayerKind::Lstm,
        LayerKind::Softmax,
        LayerKind::Sigmoid,
        LayerKind::Relu,
        LayerKind::Linear,
        LayerKind::Add,
        LayerKind::Dropout,
        LayerKind::GlobalAveragePooling2D,
        LayerKind::ZeroPadding2D,
        LayerKind::Concatenate,
        LayerKind::Tanh,
        LayerKind::Gru,
        LayerKind::Conv1D,
        LayerKind::GlobalAveragePooling1D,
        LayerKind::Reshape,
        LayerKind::Multiply,
        LayerKind::TimeDistributed,
        LayerKind::Bidirectional,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<LayerKind> {
        // Codes have gaps (kinds numbered for layers built elsewhere).
        LayerKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The bundle's `class_name` of this kind (eai's names: `Activation('relu')` is `ReLU`).
    pub fn class_name(self) -> &'static str {
        match self {
            LayerKind::Input => "InputLayer",
            LayerKind::Dense => "Dense",
            LayerKind::Flatten => "Flatten",
            LayerKind::Rescaling => "Rescaling",
            LayerKind::MaxPooling2D => "MaxPooling2D",
            LayerKind::AveragePooling2D => "AveragePooling2D",
            LayerKind::Conv2D => "Conv2D",
            LayerKind::BatchNormalization => "BatchNormalization",
            LayerKind::Embedding => "Embedding",
            LayerKind::SimpleRnn => "SimpleRNN",
            LayerKind::Lstm => "LSTM",
            LayerKind::Softmax => "Softmax",
            LayerKind::Sigmoid => "Sigmoid",
            LayerKind::Relu => "ReLU",
            LayerKind::Linear => "Linear",
            LayerKind::Add => "Add",
            LayerKind::Dropout => "Dropout",
            LayerKind::GlobalAveragePooling2D => "GlobalAveragePooling2D",
            LayerKind::ZeroPadding2D => "ZeroPadding2D",
            LayerKind::Concatenate => "Concatenate",
            LayerKind::Tanh => "Tanh",
            LayerKind::Gru => "GRU",
            LayerKind::Conv1D => "Conv1D",
            LayerKind::GlobalAveragePooling1D => "GlobalAveragePooling1D",
            LayerKind::Reshape => "Reshape",
            LayerKind::Multiply => "Multiply",
            LayerKind::TimeDistributed => "TimeDistributed",
            LayerKind::Bidirectional => "Bidirectional",
        }
    }

    pub fn from_class_name(class: &str) -> Option<LayerKind> {
        LayerKind::ALL.into_iter().find(|k| k.class_name() == class)
    }

    /// Name of the implementation contract (`artifacts/<name>.json`).
    pub fn contract_name(self) -> &'static str {
        match self {
            LayerKind::Input => "InputLayer",
            LayerKind::Dense => "DenseLayer",
            LayerKind::Flatten => "FlattenLayer",
            LayerKind::Rescaling => "RescalingLayer",
            LayerKind::MaxPooling2D => "MaxPooling2DLayer",
            LayerKind::AveragePooling2D => "AveragePooling2DLayer",
            LayerKind::Conv2D => "Conv2DLayer",
            LayerKind::BatchNormalization => "BatchNormalizationLayer",
            LayerKind::Embedding => "EmbeddingLayer",
            LayerKind::SimpleRnn => "SimpleRNNLayer",
            LayerKind::Lstm => "LSTMLayer",
            LayerKind::Softmax => "SoftmaxLayer",
            LayerKind::Sigmoid => "SigmoidLayer",
            LayerKind::Relu => "ReLULayer",
            LayerKind::Linear => "LinearLayer",
            LayerKind::Add => "AddLayer",
            LayerKind::Dropout => "DropoutLayer",
            LayerKind::GlobalAveragePooling2D => "GlobalAveragePooling2DLayer",
            LayerKind::ZeroPadding2D => "ZeroPadding2DLayer",
            LayerKind::Concatenate => "ConcatenateLayer",
            LayerKind::Tanh => "TanhLayer",
            LayerKind::Gru => "GRULayer",
            LayerKind::Conv1D => "Conv1DLayer",
            LayerKind::GlobalAveragePooling1D => "GlobalAveragePooling1DLayer",
            LayerKind::Reshape => "ReshapeLayer",
            LayerKind::Multiply => "MultiplyLayer",
            LayerKind::TimeDistributed => "TimeDistributedLayer",
            LayerKind::Bidirectional => "BidirectionalLayer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_positions() {
        for (i, k) in LayerKind::ALL.iter().enumerate() {
            if i < 26 {
                assert_eq!(usize::from(k.code()), i);
            }
            assert_eq!(LayerKind::from_code(k.code()), Some(*k));
            assert_eq!(LayerKind::from_class_name(k.class_name()), Some(*k));
        }
        assert_eq!(LayerKind::from_code(26), None);
    }
}
