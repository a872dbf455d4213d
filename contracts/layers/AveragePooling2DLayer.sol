// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind, Padding} from "../lib/Types.sol";

/// @title AveragePooling2DLayer
/// @notice Keras `AveragePooling2D` (channels_last).
/// @dev Config: `abi.encode(uint256[2] poolSize, uint256[2] strides, uint8 padding)`.
///      Weight tensors: none.
///      Inference (`forward`) is not implemented yet (issue 6).
contract AveragePooling2DLayer is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// Window (rows, cols).
        uint256[2] poolSize;
        /// Strides (rows, cols).
        uint256[2] strides;
        /// `Padding.VALID` or `Padding.SAME`.
        uint8 padding;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.AVERAGE_POOLING_2D;
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
        (c.poolSize, c.strides, c.padding) = abi.decode(data, (uint256[2], uint256[2], uint8));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.poolSize[0] > 0 && c.poolSize[1] > 0 && c.strides[0] > 0 && c.strides[1] > 0 && c.padding <= Padding.SAME);
    }
}
