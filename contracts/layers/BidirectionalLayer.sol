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

    /// @dev One column per MUL: with the lane kernels this contract is over EIP-170's limit.
    function _lanes() internal pure override returns (bool) {
        return false;
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
    ///      a job's part (`_jobPart`) when the high 128 bits of `count` are set; with a
    ///      direction or the merge in the high 128 bits of `from`, the layer in parts, so a
    ///      Bidirectional too big for one call runs as several: 1 (forward) or 2 (backward)
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
        if (count >> 128 != 0) return _jobPart(inputs, shapes, ranks, from, count, m, cfg, list);
        uint256 mode = from >> 128;
        if (mode == 0 || mode > 3) return super._forwardSlice(inputs, shapes, ranks, from, count, m, cfg, list);
        from = uint128(from);
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
        return _cellSteps(c.kind, d, p, inputs, steps, from, count, false);
    }

    /// @dev A job's part (`EternalJobs.stepRows`): positions [rf, rf + rc) of 2n in the high 128
    ///      bits of `from` and `count` — the forward direction's steps [0, n), then the backward
    ///      direction's — never crossing from one to the other; the low bits name the whole
    ///      output ([0, length), checked by `_part`). `inputs` = the input rows the steps read,
    ///      then what the part before carried on: the direction's carry (none at its first
    ///      step), the forward direction's outputs so far, the backward direction's (every
    ///      step's h when the sequence is returned, else the last h once a direction ends).
    ///      Before the last part the answer completes nothing (shape [0]) and carries on the
    ///      same, grown by the part's steps; the last part merges the two directions as
    ///      `_forward` does and answers the layer's output.
    function _jobPart(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view returns (int256[] memory out, uint256[] memory shape) {
        Config memory c = _decode(cfg);
        uint256 n = _steps(shapes, ranks, c.forward.inputUnits);
        (uint256 rf, uint256 rc,) = _part(c, n, from, count);
        uint256 units = c.forward.units;
        bool seq = c.forward.returnSequences;
        bool back = rf >= n;
        uint256 s0 = back ? rf - n : rf;
        uint256 head = rc * c.forward.inputUnits + (s0 == 0 ? 0 : (c.kind == LayerKind.LSTM ? 2 : 1) * units);
        uint256 fLen = (back ? (seq ? n : 1) : (seq ? rf : 0)) * units;
        if (inputs.length != head + fLen + (back && seq ? s0 * units : 0)) revert InputShapeMismatch(0);
        uint256 per = list.length / 2;
        _requireConfig(per * 2 == list.length && per >= 2);
        Cell memory d = back ? c.backward : c.forward;
        (int256[] memory o,) =
            _cellSteps(c.kind, d, _cellWeights(d, m, list, back ? per : 0, per), inputs[:head], n, s0, rc, true);
        // `o`: the steps' h (when the sequence is returned), then the carry — at the
        // direction's end nothing more, or for a layer returning its last h that h alone.
        int256[] calldata kept = inputs[head:];
        uint256 hLen = seq ? rc * units : 0;
        if (back && s0 + rc == n) {
            // The backward direction's outputs: those carried (past the forward's), then `o`.
            int256[] memory b = new int256[](kept.length - fLen + o.length);
            assembly ("memory-safe") {
                let bytesKept := shl(5, sub(kept.length, fLen))
                calldatacopy(add(b, 0x20), add(kept.offset, shl(5, fLen)), bytesKept)
                mcopy(add(add(b, 0x20), bytesKept), add(o, 0x20), shl(5, mload(o)))
            }
            out = _merge(_sliceI(inputs, head, fLen), b, c.mergeMode, units, seq ? n : 1);
            return (out, _shape(n, c.mergeMode == 0 ? 2 * units : units, seq));
        }
        // Carried on: the carry (what `o` holds past its h), the outputs so far, the part's h.
        // (Copied word for word: loops of checked indexing would not fit EIP-170's limit.)
        out = new int256[](o.length + kept.length);
        assembly ("memory-safe") {
            let at := add(out, 0x20)
            let h := shl(5, hLen)
            let rest := sub(shl(5, mload(o)), h)
            mcopy(at, add(add(o, 0x20), h), rest)
            at := add(at, rest)
            calldatacopy(at, kept.offset, shl(5, kept.length))
            mcopy(add(at, shl(5, kept.length)), add(o, 0x20), h)
        }
        shape = new uint256[](1);
    }

    /// @dev A job's part, checked: its positions [rf, rf + rc) of 2n (within one direction) and
    ///      the output's length, which the low bits must name whole.
    function _part(Config memory c, uint256 n, uint256 from, uint256 count)
        internal
        pure
        returns (uint256 rf, uint256 rc, uint256 length)
    {
        (rf, rc) = (from >> 128, count >> 128);
        _checkSlice(rf, rc, 2 * n);
        uint256 units = c.forward.units;
        length = c.forward.returnSequences ? n : (c.mergeMode == 0 ? 2 * units : units);
        if ((rf < n && rf + rc > n) || uint128(from) != 0 || uint128(count) != length) {
            revert OutputSliceOutOfRange(from, count, 2 * n);
        }
    }

    /// @inheritdoc RecurrentBase
    /// @dev A job's part (`_jobPart`): the output's length and the input rows its steps read.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        override
        returns (uint256 length, uint256 first, uint256 last)
    {
        Config memory c = _decode(configData());
        uint256 n = _steps(shapes, ranks, c.forward.inputUnits);
        uint256 rf;
        uint256 rc;
        (rf, rc, length) = _part(c, n, from, count);
        first = rf < n ? rf : 2 * n - rf - rc;
        last = first + rc;
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
