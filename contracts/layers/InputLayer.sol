// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RowSliceBase} from "./RowSliceBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title InputLayer
/// @notice Keras `InputLayer`: declares a model input.
/// @dev Config: `abi.encode(uint256[] shape)`.
///      Weight tensors: none.
contract InputLayer is RowSliceBase {
    /// @notice The decoded config.
    struct Config {
        /// Input shape without the batch dimension (`batch_input_shape[1:]`).
        uint256[] shape;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.INPUT_LAYER;
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
        c.shape = abi.decode(data, (uint256[]));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(_positive(c.shape));
    }

    function _positive(uint256[] memory dims) internal pure returns (bool) {
        for (uint256 i; i < dims.length; ++i) {
            if (dims[i] == 0) return false;
        }
        return true;
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
        shape = _single(shapes, ranks);
        uint256[] memory want = _decode(cfg).shape;
        if (want.length != shape.length) revert InputShapeMismatch(0);
        for (uint256 i; i < want.length; ++i) {
            if (want[i] != shape[i]) revert InputShapeMismatch(0);
        }
        out = _copy(inputs);
    }
}
