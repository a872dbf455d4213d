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

    /// @dev Bytes per value slot of `format`, 0 for an unknown format.
    function width(uint8 format) internal pure returns (uint256) {
        if (format == Q32_32) return 8;
        if (format == INT32_SHIFTED) return 4;
        return 0;
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
    uint8 internal constant COUNT = 7;
}

/// @notice Padding codes in layer configs (eai's `Padding` numbering, plus `CAUSAL` for Conv1D).
library Padding {
    uint8 internal constant VALID = 0;
    uint8 internal constant SAME = 1;
    uint8 internal constant CAUSAL = 2;
}
