// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RecurrentBase} from "./RecurrentBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {Activation, LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title GRULayer
/// @notice Keras `GRU`.
/// @dev Config: `abi.encode(uint8 activation, uint8 recurrentActivation, uint256 units, uint256 inputUnits, bool resetAfter, bool returnSequences)`.
///      Weight tensors: kernel [inputUnits, 3*units], recurrent_kernel [units, 3*units], bias [3*units] or [2, 3*units] if resetAfter (gates z, r, h).
contract GRULayer is RecurrentBase {
    /// @notice The decoded config.
    struct Config {
        /// `Activation` code.
        uint8 activation;
        /// `Activation` code.
        uint8 recurrentActivation;
        /// State size.
        uint256 units;
        /// Size of the input's feature axis.
        uint256 inputUnits;
        /// Keras `reset_after` (bias has 2 rows when true).
        bool resetAfter;
        /// Whether every step's output is returned.
        bool returnSequences;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.GRU;
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
        (c.activation, c.recurrentActivation, c.units, c.inputUnits, c.resetAfter, c.returnSequences) = abi.decode(data, (uint8, uint8, uint256, uint256, bool, bool));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.activation < Activation.COUNT && c.recurrentActivation < Activation.COUNT && c.units > 0 && c.inputUnits > 0);
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
        Config memory c = _decode(cfg);
        _check(c);
        uint256 steps = _steps(shapes, ranks, c.inputUnits);
        Weights memory p;
        p.w = _tensorValues(m, list, 0);
        p.u = _tensorValues(m, list, 1);
        p.b = _tensorValues(m, list, 2);
        p.tbl = Fixed.expTable();
        uint256 n = 3 * c.units;
        // reset_after keeps two bias rows (input, recurrent); otherwise one.
        if (c.resetAfter && p.b.length == 2 * n) (p.inCount, p.recStart, p.recCount) = (n, n, n);
        else p.inCount = p.b.length;
        int256[] memory h = new int256[](c.units);
        out = new int256[](c.returnSequences ? steps * c.units : c.units);
        for (uint256 s; s < steps; ++s) {
            h = c.resetAfter ? _stepAfter(c, p, _step(inputs, s, c.inputUnits), h) : _stepBefore(c, p, _step(inputs, s, c.inputUnits), h);
            if (c.returnSequences) {
                for (uint256 j; j < c.units; ++j) {
                    out[s * c.units + j] = h[j];
                }
            }
        }
        if (!c.returnSequences) out = h;
        shape = _shape(steps, c.units, c.returnSequences);
    }

    /// @dev The layer's weights and how its bias splits.
    struct Weights {
        int256[] w;
        int256[] u;
        int256[] b;
        uint256 inCount;
        uint256 recStart;
        uint256 recCount;
        /// `Fixed.expTable()`, made once per forward pass.
        uint256 tbl;
    }

    /// @dev One step with reset_after: z, r from x·W + b_in + h·U + b_rec; candidate
    ///      act(xw_h + r · hu_h); h' = z · h + (ONE − z) · candidate (Keras gate order z, r, h).
    function _stepAfter(Config memory c, Weights memory p, int256[] memory x, int256[] memory prev)
        internal
        pure
        returns (int256[] memory h)
    {
        uint256 units = c.units;
        uint256 n = 3 * units;
        int256[] memory none = new int256[](0);
        int256[] memory xw = _gates(x, p.w, none, p.u, p.b, 0, p.inCount, n);
        int256[] memory hu = _gates(none, p.w, prev, p.u, p.b, p.recStart, p.recCount, n);
        h = new int256[](units);
        for (uint256 j; j < units; ++j) {
            int256 z = _act(c.recurrentActivation, xw[j] + hu[j], p.tbl);
            int256 r = _act(c.recurrentActivation, xw[units + j] + hu[units + j], p.tbl);
            int256 hh = _act(c.activation, xw[2 * units + j] + Fixed.mul(r, hu[2 * units + j]), p.tbl);
            h[j] = Fixed.mul(z, prev[j]) + Fixed.mul(Fixed.ONE - z, hh);
        }
    }

    /// @dev One step without reset_after: the candidate sees (r · h)·U_h instead.
    function _stepBefore(Config memory c, Weights memory p, int256[] memory x, int256[] memory prev)
        internal
        pure
        returns (int256[] memory h)
    {
        uint256 units = c.units;
        uint256 n = 3 * units;
        int256[] memory none = new int256[](0);
        int256[] memory xw = _gates(x, p.w, none, p.u, p.b, 0, p.inCount, n);
        int256[] memory hu = _gates(none, p.w, prev, p.u, none, 0, 0, n);
        int256[] memory zr = new int256[](2 * units);
        for (uint256 j; j < 2 * units; ++j) {
            zr[j] = _act(c.recurrentActivation, xw[j] + hu[j], p.tbl);
        }
        int256[] memory rh = new int256[](units);
        for (uint256 j; j < units; ++j) {
            rh[j] = Fixed.mul(zr[units + j], prev[j]);
        }
        h = new int256[](units);
        for (uint256 j; j < units; ++j) {
            int256 acc;
            for (uint256 i; i < units; ++i) {
                acc += rh[i] * p.u[i * n + 2 * units + j];
            }
            int256 hh = _act(c.activation, xw[2 * units + j] + (acc >> 32), p.tbl);
            h[j] = Fixed.mul(zr[j], prev[j]) + Fixed.mul(Fixed.ONE - zr[j], hh);
        }
    }
}
