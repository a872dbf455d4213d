// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Activation, LayerKind} from "../lib/Types.sol";

/// @title GRULayer
/// @notice Keras `GRU`.
/// @dev Config: `abi.encode(uint8 activation, uint8 recurrentActivation, uint256 units, uint256 inputUnits, bool resetAfter, bool returnSequences)`.
///      Weight tensors: kernel [inputUnits, 3*units], recurrent_kernel [units, 3*units], bias [3*units] or [2, 3*units] if resetAfter (gates z, r, h).
///      Inference (`forward`) is not implemented yet (issue 6).
contract GRULayer is LayerBase {
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
}
