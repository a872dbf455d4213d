// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IForwardLayer
/// @notice The inference interface layers will implement in issue 6. No layer implements it yet:
///         nothing in contracts/ computes a forward pass today. Tensors travel flat (row-major,
///         Q32.32 in int256) with a separate shape array, because nested dynamic arrays push solc
///         into "stack too deep".
interface IForwardLayer {
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
}
