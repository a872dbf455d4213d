// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RecurrentBase} from "./RecurrentBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title BidirectionalLayer
/// @notice Keras `Bidirectional` around SimpleRNN, LSTM or GRU: both directions in one call,
///         each with its own weights, merged (`bidirectional` in src/infer/wrap.rs).
/// @dev Config: `abi.encode(uint16 kind, uint8 mergeMode, bytes forward, bytes backward)`: the
///      recurrent kind both directions are, 0 concat / 1 sum / 2 mul / 3 ave, and each
///      direction's config in its kind's encoding (the backward one with `goBackwards`).
///      Weight tensors: the forward layer's (kernel, recurrent kernel, bias if any), then the
///      backward layer's. One contract with both weight sets rather than two recurrent clones:
///      no second call, no second copy of the input into calldata.
contract BidirectionalLayer is RecurrentBase {
    /// @notice The decoded config.
    struct Config {
        /// `LayerKind.SIMPLE_RNN`, `LSTM` or `GRU`.
        uint16 kind;
        /// 0 concat (last axis), 1 sum, 2 mul, 3 ave.
        uint8 mergeMode;
        /// The forward direction.
        Cell forward;
        /// The backward direction.
        Cell backward;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.BIDIRECTIONAL;
    }

    /// @notice The layer's config, decoded and range-checked.
    /// @return c The config (see `Config`).
    function config() external view returns (Config memory c) {
        c = _decode(configData());
    }

    function _validate(bytes memory data) internal pure override {
        _decode(data);
    }

    function _decode(bytes memory data) internal pure returns (Config memory c) {
        (uint16 kind, uint8 mergeMode, bytes memory f, bytes memory b) = abi.decode(data, (uint16, uint8, bytes, bytes));
        c.kind = kind;
        c.mergeMode = mergeMode;
        c.forward = _decodeCell(kind, f);
        c.backward = _decodeCell(kind, b);
        _requireConfig(
            mergeMode <= 3 && c.forward.units == c.backward.units && c.forward.inputUnits == c.backward.inputUnits
                && c.forward.returnSequences == c.backward.returnSequences
        );
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
        uint256 steps = _steps(shapes, ranks, c.forward.inputUnits);
        uint256 per = list.length / 2;
        _requireConfig(per * 2 == list.length && per >= 2);
        int256[] memory a = _runCell(c.forward, _cellWeights(c.forward, m, list, 0, per), inputs, steps);
        int256[] memory b = _runCell(c.backward, _cellWeights(c.backward, m, list, per, per), inputs, steps);
        bool seq = c.forward.returnSequences;
        uint256 width = c.mergeMode == 0 ? 2 * c.forward.units : c.forward.units;
        out = _merge(a, b, c.mergeMode, c.forward.units, seq ? steps : 1);
        shape = _shape(steps, width, seq);
    }

    /// @dev Output rows [from, from + count) by default (`LayerBase`: the whole pass, cut);
    ///      with a direction or the merge in the high 128 bits of `count`, the layer in parts,
    ///      so a Bidirectional too big for one call runs as several: 1 (forward) or 2 (backward)
    ///      runs that direction's steps [from, from + count) (in its reading order) from a carry,
    ///      framed as a SimpleRNN/LSTM/GRU slice (`RecurrentBase._forwardSteps`: the carry, then
    ///      the input rows the steps read; answers the steps' h when the sequence is returned,
    ///      then the carry); 3 merges the two directions' outputs — `inputs` = the forward
    ///      direction's (every step's h, or its last h) then the backward direction's, each in
    ///      its reading order — into the layer's output, as `_forward` does. The steps run the
    ///      very loops of the whole pass, so the parts equal it bit for bit.
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
        uint256 mode = count >> 128;
        if (mode == 0 || mode > 3) return super._forwardSlice(inputs, shapes, ranks, from, count, m, cfg, list);
        Config memory c = _decode(cfg);
        uint256 steps = _steps(shapes, ranks, c.forward.inputUnits);
        uint256 units = c.forward.units;
        bool seq = c.forward.returnSequences;
        if (mode == 3) {
            uint256 half = (seq ? steps : 1) * units;
            if (inputs.length != 2 * half) revert InputShapeMismatch(0);
            out = _merge(_sliceI(inputs, 0, half), _sliceI(inputs, half, half), c.mergeMode, units, seq ? steps : 1);
            return (out, _shape(steps, c.mergeMode == 0 ? 2 * units : units, seq));
        }
        uint256 per = list.length / 2;
        _requireConfig(per * 2 == list.length && per >= 2);
        Cell memory d = mode == 1 ? c.forward : c.backward;
        CellWeights memory p = _cellWeights(d, m, list, mode == 1 ? 0 : per, per);
        return _cellSteps(c.kind, d, p, inputs, steps, from, uint128(count), false);
    }

    /// @dev Row r of the result from row r of `a` and row rows − 1 − r of `b` (the backward
    ///      sequence comes in reading order, last step first: this turns it back), `units`
    ///      values a row: concat [a, b], sum a + b, mul `Fixed.mul(a, b)`, ave (a + b) >> 1.
    function _merge(int256[] memory a, int256[] memory b, uint8 mode, uint256 units, uint256 rows)
        internal
        pure
        returns (int256[] memory out)
    {
        uint256 width = mode == 0 ? 2 * units : units;
        out = new int256[](rows * width);
        for (uint256 r; r < rows; ++r) {
            uint256 ra = r * units;
            uint256 rb = (rows - 1 - r) * units;
            uint256 ro = r * width;
            for (uint256 j; j < units; ++j) {
                out[ro + j] = _combine(mode, a[ra + j], b[rb + j]);
                if (mode == 0) out[ro + units + j] = b[rb + j];
            }
        }
    }

    function _combine(uint8 mode, int256 x, int256 y) internal pure returns (int256) {
        if (mode == 0) return x;
        if (mode == 1) return x + y;
        if (mode == 2) return Fixed.mul(x, y);
        return (x + y) >> 1;
    }
}
