// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice One edge list entry of the model graph: which layer contract sits at a position of the
///         bundle's layer list, its kind (see `LayerKind`) and the positions of the layers feeding it.
struct LayerLink {
    uint16 kind;
    address layer;
    uint16[] inputs;
}

/// @notice How a model's weights are laid out in its data contracts (see contracts/README.md).
/// @dev `format` is a `WeightFormat` constant; `totalBytes` is the length of the weight blob, split
///      into `chunkCount` chunks of `chunkBytes` bytes (the last one may be shorter); `root` is the
///      Merkle root over the keccak256 of each chunk's data-contract initcode.
struct WeightLayout {
    uint8 format;
    uint32 chunkBytes;
    uint32 chunkCount;
    uint64 totalBytes;
    bytes32 root;
}

/// @notice One weight tensor of a layer: `length` values starting at value slot `offset` of the
///         model's weight blob. `shift` is the tensor's power-of-two scale in the compact format
///         (Q32.32 value = stored int32 << (32 - shift)); exporters write 32 for the Q32.32 format.
struct WeightTensor {
    uint64 offset;
    uint64 length;
    uint8 shift;
}

/// @notice On-chain weight formats. A value slot is one int64 of the bundle's uint256 words.
library WeightFormat {
    /// @dev Each slot stored as the bundle's signed Q32.32 int64, 8 bytes big-endian.
    uint8 internal constant Q32_32 = 1;
    /// @dev Each slot stored as int32, 4 bytes big-endian, with a per-tensor shift (the default).
    uint8 internal constant INT32_SHIFTED = 2;
    /// @dev Per-tensor records (lib/WeightCodec.sol): rank ≥ 2 tensors as int16 with one scale per
    ///      output channel (u16 scales), rank 0–1 tensors as int24 with a per-tensor left shift.
    uint8 internal constant INT16 = 3;
    /// @dev As INT16 with int8 values.
    uint8 internal constant INT8 = 4;

    /// @dev Bytes per value slot of `format` (per quantized value in INT16/INT8), 0 for an
    ///      unknown format.
    function width(uint8 format) internal pure returns (uint256) {
        if (format == Q32_32) return 8;
        if (format == INT32_SHIFTED) return 4;
        if (format == INT16) return 2;
        if (format == INT8) return 1;
        return 0;
    }

    /// @dev Whether `format` stores per-tensor records (WeightTensor.offset is then a byte offset).
    function perChannel(uint8 format) internal pure returns (bool) {
        return format == INT16 || format == INT8;
    }
}

/// @notice Layer kinds. 0..19 are eai's `LayerType` numbering; 20.. are eternalize's additions.
library LayerKind {
    uint16 internal constant INPUT_LAYER = 0;
    uint16 internal constant DENSE = 1;
    uint16 internal constant FLATTEN = 2;
    uint16 internal constant RESCALING = 3;
    uint16 internal constant MAX_POOLING_2D = 4;
    uint16 internal constant AVERAGE_POOLING_2D = 5;
    uint16 internal constant CONV_2D = 6;
    uint16 internal constant BATCH_NORMALIZATION = 7;
    uint16 internal constant EMBEDDING = 8;
    uint16 internal constant SIMPLE_RNN = 9;
    uint16 internal constant LSTM = 10;
    uint16 internal constant SOFTMAX = 11;
    uint16 internal constant SIGMOID = 12;
    uint16 internal constant RELU = 13;
    uint16 internal constant LINEAR = 14;
    uint16 internal constant ADD = 15;
    uint16 internal constant DROPOUT = 16;
    uint16 internal constant GLOBAL_AVERAGE_POOLING_2D = 17;
    uint16 internal constant ZERO_PADDING_2D = 18;
    uint16 internal constant CONCATENATE = 19;
    uint16 internal constant TANH = 20;
    uint16 internal constant GRU = 21;
    uint16 internal constant CONV_1D = 22;
    uint16 internal constant GLOBAL_AVERAGE_POOLING_1D = 23;
    uint16 internal constant RESHAPE = 24;
    uint16 internal constant MULTIPLY = 25;
    uint16 internal constant MAX_POOLING_1D = 26;
    uint16 internal constant AVERAGE_POOLING_1D = 27;
    uint16 internal constant GLOBAL_MAX_POOLING_1D = 28;
    uint16 internal constant GLOBAL_MAX_POOLING_2D = 29;
    uint16 internal constant UP_SAMPLING_1D = 30;
    uint16 internal constant UP_SAMPLING_2D = 31;
    uint16 internal constant CROPPING_1D = 32;
    uint16 internal constant CROPPING_2D = 33;
    uint16 internal constant ZERO_PADDING_1D = 34;
    uint16 internal constant PERMUTE = 35;
    uint16 internal constant REPEAT_VECTOR = 36;
    uint16 internal constant SUBTRACT = 37;
    uint16 internal constant AVERAGE = 38;
    uint16 internal constant MAXIMUM = 39;
    uint16 internal constant MINIMUM = 40;
    uint16 internal constant PRELU = 44;
    uint16 internal constant ELU = 45;
    /// @dev A grouped convolution: `DepthwiseConv2D` (groups = input channels) and `Conv2D` with groups > 1.
    uint16 internal constant DEPTHWISE_CONV_2D = 41;
    /// @dev Depthwise then pointwise (1×1) convolution.
    uint16 internal constant SEPARABLE_CONV_2D = 42;
    uint16 internal constant CONV_2D_TRANSPOSE = 43;
    uint16 internal constant LAYER_NORMALIZATION = 46;
    uint16 internal constant GROUP_NORMALIZATION = 47;
    uint16 internal constant MULTI_HEAD_ATTENTION = 48;
    uint16 internal constant TIME_DISTRIBUTED = 49;
    uint16 internal constant BIDIRECTIONAL = 50;
}

/// @notice Activation codes in layer configs (eai's `Activation` numbering).
library Activation {
    uint8 internal constant LEAKY_RELU = 0;
    uint8 internal constant LINEAR = 1;
    uint8 internal constant RELU = 2;
    uint8 internal constant SIGMOID = 3;
    uint8 internal constant TANH = 4;
    uint8 internal constant SOFTMAX = 5;
    /// @dev eternalize's addition: min(max(x, 0), 6).
    uint8 internal constant RELU6 = 6;
    /// @dev eternalize's smooth functions (`Activations`, src/infer/activations.rs), 7..19.
    uint8 internal constant ELU = 7;
    uint8 internal constant SELU = 8;
    uint8 internal constant GELU = 9;
    uint8 internal constant GELU_APPROXIMATE = 10;
    uint8 internal constant SILU = 11;
    uint8 internal constant HARD_SILU = 12;
    /// @dev Keras 3's relu6(x + 3) / 6.
    uint8 internal constant HARD_SIGMOID = 13;
    /// @dev tf.keras 2's clip(0.2x + 0.5, 0, 1).
    uint8 internal constant HARD_SIGMOID_KERAS2 = 14;
    uint8 internal constant SOFTPLUS = 15;
    uint8 internal constant SOFTSIGN = 16;
    uint8 internal constant EXPONENTIAL = 17;
    uint8 internal constant MISH = 18;
    uint8 internal constant LOG_SOFTMAX = 19;
    uint8 internal constant COUNT = 20;
}

/// @notice Padding codes in layer configs (eai's `Padding` numbering, plus `CAUSAL` for Conv1D).
library Padding {
    uint8 internal constant VALID = 0;
    uint8 internal constant SAME = 1;
    uint8 internal constant CAUSAL = 2;
}
