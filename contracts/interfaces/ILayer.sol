// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {WeightTensor} from "../lib/Types.sol";

/// @title ILayer
/// @notice What every layer contract (a clone of a per-kind implementation) answers.
interface ILayer {
    /// @notice `account` is not a clone of this implementation carrying arguments: the called
    ///         contract itself, or in a direct call of the implementation the clone named by the
    ///         last calldata word (contracts/README.md, "Direct layer calls").
    error NotAClone(address account);
    /// @notice Tensor `index` does not exist: the layer has `count` tensors.
    error TensorIndexOutOfRange(uint256 index, uint256 count);
    /// @notice A slice `[start, start + count)` past the end of tensor `index` (`length` values).
    error SliceOutOfRange(uint256 index, uint256 start, uint256 count, uint256 length);
    /// @notice The layer config does not decode to a valid config of this kind.
    error InvalidConfig(uint16 kind);

    /// @notice The layer kind (`LayerKind`), a constant of the implementation.
    function layerKind() external pure returns (uint16);
    /// @notice The model whose weight chunks hold this layer's weights.
    function model() external view returns (address);
    /// @notice The ABI-encoded config exactly as deployed (see contracts/README.md per kind).
    function configData() external view returns (bytes memory);
    /// @notice Decodes and range-checks the config; reverts with `InvalidConfig` if it is malformed.
    /// @return Always true when it returns.
    function checkConfig() external view returns (bool);
    /// @notice The layer's weight tensors, in Keras `get_weights()` order.
    function tensors() external view returns (WeightTensor[] memory);
    /// @notice Number of weight values (real values, padding excluded) over all tensors.
    function weightCount() external view returns (uint256);
    /// @notice The values of tensor `index` as signed Q32.32 integers, decoded from the chunks.
    /// @dev Reverts with `IEternalModel.ChunkMissing` while a chunk it needs is not stored. Memory
    ///      cost grows quadratically: past ~20,000 values an `eth_call` at 30M gas runs out, so
    ///      read big tensors with `weightSlice`.
    function weights(uint256 index) external view returns (int256[] memory values);
    /// @notice Values `[start, start + count)` of tensor `index` as signed Q32.32 integers.
    function weightSlice(uint256 index, uint256 start, uint256 count) external view returns (int256[] memory values);
}
