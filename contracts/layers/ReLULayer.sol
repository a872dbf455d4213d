// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RowSliceBase} from "./RowSliceBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {Activation, LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title ReLULayer
/// @notice Keras `ReLU` with any `max_value`/`negative_slope`/`threshold` (ReLU6), `LeakyReLU`,
///         and `Activation('relu' | 'relu6' | 'leaky_relu')`: `Fixed.relu` on every value.
/// @dev Config: `abi.encode(bool hasMaxValue, int64 maxValue, int64 negativeSlope, int64 threshold)`.
///      Weight tensors: none.
contract ReLULayer is RowSliceBase {
    /// @notice The decoded config.
    struct Config {
        /// Whether `maxValue` caps the output.
        bool hasMaxValue;
        /// Q32.32 cap, used when `hasMaxValue`.
        int64 maxValue;
        /// Q32.32 slope below `threshold`.
        int64 negativeSlope;
        /// Q32.32 threshold.
        int64 threshold;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.RELU;
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
        (c.hasMaxValue, c.maxValue, c.negativeSlope, c.threshold) = abi.decode(data, (bool, int64, int64, int64));
    }

    function _check(Config memory c) internal pure {
        _requireConfig((!c.hasMaxValue || c.maxValue >= 0) && c.negativeSlope >= 0 && c.threshold >= 0);
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
        Config memory c = _decode(cfg);
        out = _copy(inputs);
        if (!c.hasMaxValue && c.negativeSlope == 0 && c.threshold == 0) {
            Fixed.activate(_ptr(out), out.length, Activation.RELU, 1);
        } else {
            // Fixed.relu on each of the out.length words at ptr, inlined. With no cap, m is
            // int256's maximum, so min(x, m) = x. Fixed.mul is sar(32, mul(a, b)).
            uint256 ptr = _ptr(out);
            uint256 end = ptr + (out.length << 5);
            bool hasMax = c.hasMaxValue;
            int256 m = c.maxValue;
            int256 s = c.negativeSlope;
            int256 t = c.threshold;
            assembly ("memory-safe") {
                if iszero(hasMax) { m := not(shl(255, 1)) }
                for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                    let x := mload(at)
                    switch sgt(x, t)
                    case 0 { mstore(at, sar(32, mul(s, sub(x, t)))) }
                    default { if sgt(x, m) { mstore(at, m) } }
                }
            }
        }
    }
}
