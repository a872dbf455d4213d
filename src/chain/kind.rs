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
    MaxPooling1D = 26,
    AveragePooling1D = 27,
    GlobalMaxPooling1D = 28,
    GlobalMaxPooling2D = 29,
    UpSampling1D = 30,
    UpSampling2D = 31,
    Cropping1D = 32,
    Cropping2D = 33,
    ZeroPadding1D = 34,
    Permute = 35,
    RepeatVector = 36,
    Subtract = 37,
    Average = 38,
    Maximum = 39,
    Minimum = 40,
    Prelu = 44,
    /// ELU(alpha) and `Activation(f)` of every function of `infer::activations`.
    Elu = 45,
    /// The grouped convolution: DepthwiseConv2D, and Conv2D with groups > 1.
    DepthwiseConv2D = 41,
    SeparableConv2D = 42,
    Conv2DTranspose = 43,
    LayerNormalization = 46,
    GroupNormalization = 47,
    MultiHeadAttention = 48,
    TimeDistributed = 49,
    Bidirectional = 50,
}

impl LayerKind {
    /// Every kind, in code order.
    pub const ALL: [LayerKind; 51] = [
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
        LayerKind::MaxPooling1D,
        LayerKind::AveragePooling1D,
        LayerKind::GlobalMaxPooling1D,
        LayerKind::GlobalMaxPooling2D,
        LayerKind::UpSampling1D,
        LayerKind::UpSampling2D,
        LayerKind::Cropping1D,
        LayerKind::Cropping2D,
        LayerKind::ZeroPadding1D,
        LayerKind::Permute,
        LayerKind::RepeatVector,
        LayerKind::Subtract,
        LayerKind::Average,
        LayerKind::Maximum,
        LayerKind::Minimum,
        LayerKind::DepthwiseConv2D,
        LayerKind::SeparableConv2D,
        LayerKind::Conv2DTranspose,
        LayerKind::Prelu,
        LayerKind::Elu,
        LayerKind::LayerNormalization,
        LayerKind::GroupNormalization,
        LayerKind::MultiHeadAttention,
        LayerKind::TimeDistributed,
        LayerKind::Bidirectional,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<LayerKind> {
        // Codes leave gaps (ranges are handed out to parallel work): search, not index.
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
            LayerKind::MaxPooling1D => "MaxPooling1D",
            LayerKind::AveragePooling1D => "AveragePooling1D",
            LayerKind::GlobalMaxPooling1D => "GlobalMaxPooling1D",
            LayerKind::GlobalMaxPooling2D => "GlobalMaxPooling2D",
            LayerKind::UpSampling1D => "UpSampling1D",
            LayerKind::UpSampling2D => "UpSampling2D",
            LayerKind::Cropping1D => "Cropping1D",
            LayerKind::Cropping2D => "Cropping2D",
            LayerKind::ZeroPadding1D => "ZeroPadding1D",
            LayerKind::Permute => "Permute",
            LayerKind::RepeatVector => "RepeatVector",
            LayerKind::Subtract => "Subtract",
            LayerKind::Average => "Average",
            LayerKind::Maximum => "Maximum",
            LayerKind::Minimum => "Minimum",
            LayerKind::Prelu => "PReLU",
            LayerKind::Elu => "ELU",
            LayerKind::DepthwiseConv2D => "DepthwiseConv2D",
            LayerKind::SeparableConv2D => "SeparableConv2D",
            LayerKind::Conv2DTranspose => "Conv2DTranspose",
            LayerKind::LayerNormalization => "LayerNormalization",
            LayerKind::GroupNormalization => "GroupNormalization",
            LayerKind::MultiHeadAttention => "MultiHeadAttention",
            LayerKind::TimeDistributed => "TimeDistributed",
            LayerKind::Bidirectional => "Bidirectional",
        }
    }

    /// The kind of a bundle's `class_name`; `Activation` (a function eai lacks) runs on the
    /// ELU kind, the one elementwise-function layer.
    pub fn from_class_name(class: &str) -> Option<LayerKind> {
        if class == "Activation" {
            return Some(LayerKind::Elu);
        }
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
            LayerKind::MaxPooling1D => "MaxPooling1DLayer",
            LayerKind::AveragePooling1D => "AveragePooling1DLayer",
            LayerKind::GlobalMaxPooling1D => "GlobalMaxPooling1DLayer",
            LayerKind::GlobalMaxPooling2D => "GlobalMaxPooling2DLayer",
            LayerKind::UpSampling1D => "UpSampling1DLayer",
            LayerKind::UpSampling2D => "UpSampling2DLayer",
            LayerKind::Cropping1D => "Cropping1DLayer",
            LayerKind::Cropping2D => "Cropping2DLayer",
            LayerKind::ZeroPadding1D => "ZeroPadding1DLayer",
            LayerKind::Permute => "PermuteLayer",
            LayerKind::RepeatVector => "RepeatVectorLayer",
            LayerKind::Subtract => "SubtractLayer",
            LayerKind::Average => "AverageLayer",
            LayerKind::Maximum => "MaximumLayer",
            LayerKind::Minimum => "MinimumLayer",
            LayerKind::Prelu => "PReLULayer",
            LayerKind::Elu => "ELULayer",
            LayerKind::DepthwiseConv2D => "DepthwiseConv2DLayer",
            LayerKind::SeparableConv2D => "SeparableConv2DLayer",
            LayerKind::Conv2DTranspose => "Conv2DTransposeLayer",
            LayerKind::LayerNormalization => "LayerNormalizationLayer",
            LayerKind::GroupNormalization => "GroupNormalizationLayer",
            LayerKind::MultiHeadAttention => "MultiHeadAttentionLayer",
            LayerKind::TimeDistributed => "TimeDistributedLayer",
            LayerKind::Bidirectional => "BidirectionalLayer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_increasing_and_round_trip() {
        for (i, k) in LayerKind::ALL.iter().enumerate() {
            if i < 26 {
                assert_eq!(usize::from(k.code()), i);
            }
            if i > 0 {
                assert!(k.code() > LayerKind::ALL[i - 1].code());
            }
            assert_eq!(LayerKind::from_code(k.code()), Some(*k));
            assert_eq!(LayerKind::from_class_name(k.class_name()), Some(*k));
        }
        assert_eq!(LayerKind::from_code(45), Some(LayerKind::Elu));
        assert_eq!(
            LayerKind::from_class_name("Activation"),
            Some(LayerKind::Elu)
        );
        assert_eq!(LayerKind::from_code(41), Some(LayerKind::DepthwiseConv2D));
        assert_eq!(LayerKind::from_code(255), None);
        // eai's 0..19 and ours up to 25 are positions; 26–50 were handed out in ranges.
        assert_eq!(LayerKind::ALL[25].code(), 25);
        assert_eq!(LayerKind::from_code(50), Some(LayerKind::Bidirectional));
        assert_eq!(
            LayerKind::from_code(48),
            Some(LayerKind::MultiHeadAttention)
        );
    }
}
