// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {WeightTensor} from "../lib/Types.sol";

/// @title NormalizationBase
/// @notice Keras `LayerNormalization` and `GroupNormalization`: each value belongs to one
///         statistic group (the kind decides which, `_index`) and has one gamma/beta index.
/// @dev Config: `abi.encode(int64 epsilon, bool scale, bool center, uint256 spec)`; `spec` is the
///      kind's (see each kind). Weight tensors: gamma if scale, beta if center, each with one value
///      per parameter index.
///      Per group of n values x: mean = Σx / n (SDIV); d = x − mean; var = ⌊Σd² / (n · 2^32)⌋;
///      r = Fixed.rsqrt(var + ε); y = mul(d, r), then mul(y, γ) and + β. The reference's
///      `infer::attention::normalize`, operation for operation.
abstract contract NormalizationBase is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// Q32.32, ≥ 0.
        int64 epsilon;
        /// Whether gamma is present.
        bool scale;
        /// Whether beta is present.
        bool center;
        /// LayerNormalization: bit a set when axis a + 1 is normalised; GroupNormalization: groups.
        uint256 spec;
    }

    /// @dev For each value of an input of shape `shape` (batch excluded): its group in the high
    ///      128 bits and its parameter index in the low 128 bits; the number of groups and of
    ///      parameters. Reverts `InvalidConfig` when `spec` does not fit the shape.
    function _index(uint256[] memory shape, uint256 n, uint256 spec)
        internal
        pure
        virtual
        returns (uint256[] memory idx, uint256 groups, uint256 params);

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
        (c.epsilon, c.scale, c.center, c.spec) = abi.decode(data, (int64, bool, bool, uint256));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.epsilon >= 0 && c.spec > 0);
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
        uint256 n = inputs.length;
        (uint256[] memory idx, uint256 groups, uint256 params) = _index(shape, n, c.spec);
        int256[] memory gamma = c.scale ? _tensorValues(m, list, 0) : new int256[](0);
        int256[] memory beta = c.center ? _tensorValues(m, list, c.scale ? 1 : 0) : new int256[](0);
        if (
            list.length != (c.scale ? 1 : 0) + (c.center ? 1 : 0) || (c.scale && gamma.length != params)
                || (c.center && beta.length != params)
        ) revert InvalidConfig(layerKind());
        int256[] memory mean = new int256[](groups);
        uint256[] memory count = new uint256[](groups);
        for (uint256 i; i < n; ++i) {
            uint256 g = idx[i] >> 128;
            mean[g] += inputs[i];
            ++count[g];
        }
        for (uint256 g; g < groups; ++g) {
            mean[g] /= int256(count[g]);
        }
        // Σd² per group, exact (Q64.64), then the reciprocal standard deviation in place.
        int256[] memory r = new int256[](groups);
        out = new int256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 g = idx[i] >> 128;
            int256 d = inputs[i] - mean[g];
            out[i] = d;
            r[g] += d * d;
        }
        for (uint256 g; g < groups; ++g) {
            r[g] = Fixed.rsqrt(int256(uint256(r[g]) / (count[g] << 32)) + c.epsilon);
        }
        for (uint256 i; i < n; ++i) {
            uint256 k = idx[i] & type(uint128).max;
            int256 y = Fixed.mul(out[i], r[idx[i] >> 128]);
            if (c.scale) y = Fixed.mul(y, gamma[k]);
            if (c.center) y += beta[k];
            out[i] = y;
        }
    }
}
