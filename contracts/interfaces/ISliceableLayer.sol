// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @dev In the high 128 bits of `sliceInput`'s `last`: rows [first, last) are those of the first
///      input only, and every other input is read whole (MultiHeadAttention: query rows, the
///      whole value and key). Without it, the same rows of every input.
uint256 constant WHOLE_REST = 1 << 128;

/// @title ISliceableLayer
/// @notice What a job (`EternalJobs.stepSlice`) asks a layer before running part of its output:
///         the layers that compute a slice for a part of the cost (Conv2D, Conv1D,
///         DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, the 2D
///         poolings, ZeroPadding2D, Dense on a vector, SimpleRNN/LSTM/GRU (time-step parts only,
///         see `RecurrentBase._partSteps`), and the row-local kinds of `RowSliceBase`: InputLayer,
///         BatchNormalization, the activation layers, PReLU, Rescaling, Dropout, the same-shape
///         merges, MultiHeadAttention by query rows) say how long their slice axis is and which
///         input rows a slice reads, so the job decodes and sends only those rows.
interface ISliceableLayer {
    /// @notice For output positions [from, from + count) of the first output axis (rows; time
    ///         steps for Conv1D; units for Dense, whose input must then be a vector), on the
    ///         inputs of shapes `shapes` (input k of rank `ranks[k]`; one input but for the
    ///         merges and MultiHeadAttention): the axis's length and the input rows (first axis) [first, last) that
    ///         `forwardSlice` is to be given — of every input (a merge's slice reads the same
    ///         rows of each), or, when `last` carries `WHOLE_REST`, of the first input with
    ///         every other input whole.
    /// @dev Reverts `OutputSliceOutOfRange` for a slice past the end or one the layer cannot
    ///      compute apart (softmax over the units), `InputShapeMismatch` for a wrong shape.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        returns (uint256 length, uint256 first, uint256 last);
}
