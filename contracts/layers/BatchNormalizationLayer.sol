// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title BatchNormalizationLayer
/// @notice Keras `BatchNormalization` over the last axis.
/// @dev Config: `abi.encode(uint256 inputDim, int64 momentum, int64 epsilon, bool scale, bool center)`.
///      Weight tensors: gamma [inputDim] if scale, beta [inputDim] if center, moving_mean [inputDim], moving_variance [inputDim].
///      Inference (`forward`) is not implemented yet (issue 6).
contract BatchNormalizationLayer is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// Size of the normalized (last) axis.
        uint256 inputDim;
        /// Q32.32 (unused by inference, kept for eai parity).
        int64 momentum;
        /// Q32.32.
        int64 epsilon;
        /// Whether gamma is present.
        bool scale;
        /// Whether beta is present.
        bool center;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.BATCH_NORMALIZATION;
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
        (c.inputDim, c.momentum, c.epsilon, c.scale, c.center) = abi.decode(data, (uint256, int64, int64, bool, bool));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.inputDim > 0 && c.epsilon >= 0);
    }
}
