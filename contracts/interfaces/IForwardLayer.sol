// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IForwardLayer
/// @notice The inference interface every layer implements. Tensors travel flat (row-major,
///         Q32.32 in int256, batch dimension dropped) with a separate shape array, because nested
///         dynamic arrays push solc into "stack too deep". Arithmetic: `contracts/lib/Fixed.sol`,
///         mirrored exactly by the Rust reference `src/infer/`.
interface IForwardLayer {
    /// @notice The layer takes `expected` inputs (0 = any number ≥ 1), `actual` were given.
    error InputCountMismatch(uint256 expected, uint256 actual);
    /// @notice Input `input` has a shape the layer's config cannot take (or shapes and values
    ///         disagree in size).
    error InputShapeMismatch(uint256 input);
    /// @notice The config is valid but has no fixed-point implementation (e.g. ReLU with a cap,
    ///         channels_first padding, softmax over an inner axis), as in the Rust reference.
    error UnsupportedConfig(uint16 kind);
    /// @notice Token `position` of an Embedding input is `index`, outside the table's `rows` rows.
    error EmbeddingIndexOutOfRange(uint256 position, int256 index, uint256 rows);
    /// @notice Chunk `index` of the model's weights is needed but not stored yet.
    error WeightsMissing(uint256 index);
    /// @notice A slice [from, from + count) that is empty or past the end (`length`) of the
    ///         output's slice axis, or that the layer cannot compute apart (softmax over units).
    error OutputSliceOutOfRange(uint256 from, uint256 count, uint256 length);

    /// @notice Evaluates the layer on its inputs.
    /// @param inputs The inputs concatenated, each flattened row-major, batch dimension dropped.
    /// @param shapes Each input's shape, concatenated.
    /// @param ranks Each input's rank: input k's shape is the next `ranks[k]` entries of `shapes`.
    /// @return output The output tensor, flattened row-major, Q32.32.
    /// @return outputShape The output's shape.
    function forward(int256[] calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        external
        view
        returns (int256[] memory output, uint256[] memory outputShape);

    /// @notice Evaluates part of the layer's output: positions [from, from + count) of its slice
    ///         axis — the output units (last axis) for Dense, the first axis (rows; time steps for
    ///         Conv1D) for every other kind. Equal, value for value, to that part of `forward`'s.
    /// @dev What to send: the whole inputs, except for Conv2D, Conv1D, MaxPooling2D and
    ///      AveragePooling2D, which take only the input rows (first axis) the slice reads:
    ///      [max(0, from·s − pad), min(n, (from + count − 1)·s − pad + k)) for window k, stride s,
    ///      padding-before pad and n input rows — `shapes` still gives the whole input's shape —
    ///      and the row-local kinds (`RowSliceBase`: InputLayer, BatchNormalization, the
    ///      activation layers, PReLU, Rescaling, Dropout, the same-shape merges; inputs of rank
    ///      ≥ 2), which take rows [from, from + count) of each input, concatenated, and
    ///      ZeroPadding2D, which takes the input rows its output rows hold (`sliceInput`). Dense,
    ///      the convolutions, pooling, ZeroPadding2D and the row-local kinds compute only the
    ///      slice; other kinds compute everything and return the part.
    /// @param inputs The inputs (or the rows the slice reads) concatenated, flattened row-major.
    /// @param shapes Each whole input's shape, concatenated.
    /// @param ranks Each input's rank.
    /// @param from First position of the slice along the slice axis.
    /// @param count Number of positions (≥ 1).
    /// @return output The slice of the output tensor, flattened row-major, Q32.32.
    /// @return outputShape The output's shape with the slice axis set to `count`.
    function forwardSlice(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count
    ) external view returns (int256[] memory output, uint256[] memory outputShape);
}
