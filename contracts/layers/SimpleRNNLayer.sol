// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Activation, LayerKind} from "../lib/Types.sol";

/// @title SimpleRNNLayer
/// @notice Keras `SimpleRNN`.
/// @dev Config: `abi.encode(uint8 activation, uint256 units, uint256 inputUnits, bool returnSequences)`.
///      Weight tensors: kernel [inputUnits, units], recurrent_kernel [units, units], bias [units].
///      Inference (`forward`) is not implemented yet (issue 6).
contract SimpleRNNLayer is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// `Activation` code.
        uint8 activation;
        /// State size.
        uint256 units;
        /// Size of the input's feature axis.
        uint256 inputUnits;
        /// Whether every step's output is returned.
        bool returnSequences;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.SIMPLE_RNN;
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
        (c.activation, c.units, c.inputUnits, c.returnSequences) = abi.decode(data, (uint8, uint256, uint256, bool));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.activation < Activation.COUNT && c.units > 0 && c.inputUnits > 0);
    }
}
