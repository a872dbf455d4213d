// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RecurrentBase} from "./RecurrentBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {Activation, LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title LSTMLayer
/// @notice Keras `LSTM`.
/// @dev Config: `abi.encode(uint8 activation, uint8 recurrentActivation, uint256 units, uint256 inputUnits, bool returnSequences)`.
///      Weight tensors: kernel [inputUnits, 4*units], recurrent_kernel [units, 4*units], bias [4*units] (gates i, f, c, o).
contract LSTMLayer is RecurrentBase {
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
        /// Whether every step's output is returned.
        bool returnSequences;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.LSTM;
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
        (c.activation, c.recurrentActivation, c.units, c.inputUnits, c.returnSequences) = abi.decode(data, (uint8, uint8, uint256, uint256, bool));
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
        int256[] memory w = _tensorValues(m, list, 0);
        int256[] memory u = _tensorValues(m, list, 1);
        int256[] memory b = _tensorValues(m, list, 2);
        uint256 units = c.units;
        int256[] memory h = new int256[](units);
        int256[] memory cell = new int256[](units);
        out = new int256[](c.returnSequences ? steps * units : units);
        uint256 tbl = Fixed.expTable();
        for (uint256 s; s < steps; ++s) {
            // Keras gate order: input, forget, cell, output.
            int256[] memory z = _gates(_step(inputs, s, c.inputUnits), w, h, u, b, 0, b.length, 4 * units);
            for (uint256 j; j < units; ++j) {
                int256 ig = _act(c.recurrentActivation, z[j], tbl);
                int256 fg = _act(c.recurrentActivation, z[units + j], tbl);
                int256 cg = _act(c.activation, z[2 * units + j], tbl);
                int256 og = _act(c.recurrentActivation, z[3 * units + j], tbl);
                cell[j] = Fixed.mul(fg, cell[j]) + Fixed.mul(ig, cg);
                h[j] = Fixed.mul(og, _act(c.activation, cell[j], tbl));
                if (c.returnSequences) out[s * units + j] = h[j];
            }
        }
        if (!c.returnSequences) out = h;
        shape = _shape(steps, units, c.returnSequences);
    }
}
