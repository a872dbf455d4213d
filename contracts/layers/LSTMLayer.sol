// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RecurrentBase} from "./RecurrentBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title LSTMLayer
/// @notice Keras `LSTM`, forwards or (`go_backwards`) backwards.
/// @dev Config: `abi.encode(uint8 activation, uint8 recurrentActivation, uint256 units, uint256 inputUnits, bool returnSequences)`, then one word `1` when `go_backwards` (see `RecurrentBase.Cell`).
///      Weight tensors: kernel [inputUnits, 4*units], recurrent_kernel [units, 4*units], bias [4*units] (gates i, f, c, o).
contract LSTMLayer is RecurrentBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.LSTM;
    }

    /// @notice The layer's config, decoded and range-checked.
    /// @return c The config (see `RecurrentBase.Cell`).
    function config() external view returns (Cell memory c) {
        c = _decodeCell(layerKind(), configData());
    }

    function _validate(bytes memory data) internal pure override {
        _decodeCell(layerKind(), data);
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
        (out, shape) = _forwardCell(inputs, shapes, ranks, m, cfg, list);
    }

    /// @dev Time steps [from, from + count) from a carried state (`RecurrentBase._forwardSteps`:
    ///      `inputs` = the carry, then the steps' input rows; returns their outputs, then the
    ///      carry after them).
    function _forwardSlice(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view override returns (int256[] memory out, uint256[] memory shape) {
        (out, shape) = _forwardSteps(inputs, shapes, ranks, from, count, m, cfg, list);
    }
}
