// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RowSliceBase} from "./RowSliceBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {Activation, LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title SoftmaxLayer
/// @notice Keras `Softmax` (or `Activation('softmax')`).
/// @dev Config: `abi.encode(int256 axis)`.
///      Weight tensors: none.
contract SoftmaxLayer is RowSliceBase {
    /// @notice The decoded config.
    struct Config {
        /// Axis, negative counts from the end.
        int256 axis;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.SOFTMAX;
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
        c.axis = abi.decode(data, (int256));
    }

    /// @dev Every value of every field is meaningful.
    function _check(Config memory) internal pure {}

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address,
        bytes memory cfg,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        shape = _single(shapes, ranks);
        int256 axis = _decode(cfg).axis;
        // Only the last axis (-1, or the rank counting the batch axis), as the reference.
        if (axis != -1 && axis != int256(shape.length)) revert UnsupportedConfig(LayerKind.SOFTMAX);
        out = _copy(inputs);
        uint256 last = shape.length == 0 ? 1 : shape[shape.length - 1];
        Fixed.activate(_ptr(out), out.length, Activation.SOFTMAX, last);
    }
}
