// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RowSliceBase} from "./RowSliceBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title BatchNormalizationLayer
/// @notice Keras `BatchNormalization` over the last axis.
/// @dev Config: `abi.encode(uint256 inputDim, int64 momentum, int64 epsilon, bool scale, bool center)`.
///      Weight tensors: gamma [inputDim] if scale, beta [inputDim] if center, moving_mean [inputDim], moving_variance [inputDim].
contract BatchNormalizationLayer is RowSliceBase {
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

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view override returns (int256[] memory out, uint256[] memory shape) {
        shape = _single(shapes, ranks);
        Config memory c = _decode(cfg);
        _check(c);
        uint256 t;
        int256[] memory gamma = c.scale ? _tensorValues(m, list, t++) : new int256[](0);
        int256[] memory beta = c.center ? _tensorValues(m, list, t++) : new int256[](0);
        int256[] memory mean = _tensorValues(m, list, t);
        int256[] memory variance = _tensorValues(m, list, t + 1);
        uint256 ch = mean.length;
        if (ch == 0 || variance.length != ch || (c.scale && gamma.length != ch) || (c.center && beta.length != ch)) {
            revert InvalidConfig(LayerKind.BATCH_NORMALIZATION);
        }
        if (shape.length == 0 || shape[shape.length - 1] != ch) revert InputShapeMismatch(0);
        // Per channel: factor = (gamma << 32) / sqrt(var + eps); y = ((x - mean) · factor >> 32) + beta.
        int256[] memory factor = new int256[](ch);
        for (uint256 k; k < ch; ++k) {
            int256 g = c.scale ? gamma[k] : Fixed.ONE;
            factor[k] = Fixed.div(g, Fixed.sqrt(variance[k] + c.epsilon));
        }
        out = new int256[](inputs.length);
        for (uint256 j; j < inputs.length; ++j) {
            uint256 k = j % ch;
            out[j] = Fixed.mul(inputs[j] - mean[k], factor[k]) + (c.center ? beta[k] : int256(0));
        }
    }
}
