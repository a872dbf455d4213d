// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title ReshapeLayer
/// @notice Keras `Reshape`.
/// @dev Config: `abi.encode(int256[] targetShape)`.
///      Weight tensors: none.
contract ReshapeLayer is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// `target_shape` without the batch dimension; at most one -1.
        int256[] targetShape;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.RESHAPE;
    }

    /// @notice The layer's config, decoded and range-checked.
    /// @return c The config (see `Config`).
    function config() external view returns (Config memory c) {
        c = _decode(configData());
        _check(c);
    }

    function _validate(bytes memory data) internal pure override {
        _check(_decode(data));
    }

    function _decode(bytes memory data) internal pure returns (Config memory c) {
        c.targetShape = abi.decode(data, (int256[]));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(_validTargetShape(c.targetShape));
    }

    function _validTargetShape(int256[] memory dims) internal pure returns (bool) {
        uint256 unknown;
        for (uint256 i; i < dims.length; ++i) {
            if (dims[i] == -1) ++unknown;
            else if (dims[i] <= 0) return false;
        }
        return unknown <= 1;
    }

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address,
        bytes memory cfg,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        _single(shapes, ranks);
        Config memory c = _decode(cfg);
        _check(c);
        uint256 rank = c.targetShape.length;
        shape = new uint256[](rank);
        uint256 known = 1;
        uint256 free = type(uint256).max;
        for (uint256 i; i < rank; ++i) {
            if (c.targetShape[i] == -1) {
                free = i;
            } else {
                shape[i] = uint256(c.targetShape[i]);
                known *= shape[i];
            }
        }
        uint256 n = inputs.length;
        if (free != type(uint256).max) {
            if (known == 0 || n % known != 0) revert InputShapeMismatch(0);
            shape[free] = n / known;
        } else if (known != n) {
            revert InputShapeMismatch(0);
        }
        out = _copy(inputs);
    }
}
