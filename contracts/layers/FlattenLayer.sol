// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title FlattenLayer
/// @notice Keras `Flatten`.
/// @dev Config: empty bytes.
///      Weight tensors: none.
contract FlattenLayer is LayerBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.FLATTEN;
    }

    function _validate(bytes memory data) internal pure override {
        _requireConfig(data.length == 0);
    }

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata,
        uint256[] calldata ranks,
        address,
        bytes memory,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        // `_single`'s check, without its copy of `shapes` (unused here).
        if (ranks.length != 1) revert InputCountMismatch(1, ranks.length);
        out = _copy(inputs);
        shape = new uint256[](1);
        shape[0] = out.length;
    }
}
