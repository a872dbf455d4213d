// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {Fixed} from "../lib/Fixed.sol";
import {Lanes} from "../lib/Lanes.sol";
import {Activation, LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title RecurrentBase
/// @notice What SimpleRNN, LSTM, GRU and Bidirectional share: their configs and the whole
///         recurrence of each cell, in the reference's arithmetic (`recurrent` in
///         src/infer/forward.rs). Each runner is an internal function, so a layer contract holds
///         only the runners it calls.
abstract contract RecurrentBase is LayerBase, ISliceableLayer {
    /// @notice A recurrent layer's config, any of the three kinds.
    /// @dev Encodings (contracts/README.md), each optionally followed by one word `goBackwards`
    ///      (written only when true, so forward layers keep the encoding they always had):
    ///      SimpleRNN `(uint8 activation, uint256 units, uint256 inputUnits, bool returnSequences)`;
    ///      LSTM `(uint8 activation, uint8 recurrentActivation, uint256 units, uint256 inputUnits, bool returnSequences)`;
    ///      GRU `(uint8 activation, uint8 recurrentActivation, uint256 units, uint256 inputUnits, bool resetAfter, bool returnSequences)`.
    struct Cell {
        /// `LayerKind.SIMPLE_RNN`, `LSTM` or `GRU`.
        uint16 kind;
        /// `Activation` code.
        uint8 activation;
        /// `Activation` code (LSTM, GRU).
        uint8 recurrentActivation;
        /// State size.
        uint256 units;
        /// Size of the input's feature axis.
        uint256 inputUnits;
        /// Keras `reset_after` (GRU; bias has 2 rows when true).
        bool resetAfter;
        /// Whether every step's output is returned.
        bool returnSequences;
        /// Whether the steps are read from the last (Keras `go_backwards`); a returned sequence
        /// is then in that reversed order, as Keras returns it.
        bool goBackwards;
    }

    /// @dev The weights of one cell and how a GRU bias splits. The kernel and the recurrent
    ///      kernel stay in their stored form (`Raw`: a few bytes a value, scaled per column sum
    ///      in `_gates`): widened to a word each, an LSTM(128)'s would cost more memory gas than
    ///      a call may spend before its first step.
    struct CellWeights {
        Raw w;
        Raw u;
        int256[] b;
        uint256 inCount;
        uint256 recStart;
        uint256 recCount;
        /// `Fixed.expTable()`, made once per forward pass.
        uint256 tbl;
    }

    /// @dev The state carried from step to step: h, and an LSTM's cell state.
    struct Carry {
        int256[] h;
        int256[] cell;
    }

    /// @dev The state before the first step.
    function _zeroCarry(uint256 units) internal pure returns (Carry memory st) {
        st.h = new int256[](units);
        st.cell = new int256[](units);
    }

    /// @dev `count` steps of recurrent `kind` (this contract's own constant for a single layer,
    ///      so only its loop is compiled in) on `rows`, from `st` (left in it after).
    function _runSteps(
        uint16 kind,
        Cell memory c,
        CellWeights memory p,
        int256[] calldata rows,
        uint256 count,
        Carry memory st
    ) internal pure returns (int256[] memory seq) {
        if (kind == LayerKind.SIMPLE_RNN) seq = _runSimple(c, p, rows, count, st);
        else if (kind == LayerKind.LSTM) seq = _runLstm(c, p, rows, count, st);
        else seq = _runGru(c, p, rows, count, st);
    }

    /// @dev Decodes a config of recurrent `kind` (reverts `InvalidConfig` on any other length
    ///      or flag word than the encodings above allow) and range-checks it.
    function _decodeCell(uint16 kind, bytes memory data) internal pure returns (Cell memory c) {
        c.kind = kind;
        uint256 words;
        if (kind == LayerKind.SIMPLE_RNN) {
            (c.activation, c.units, c.inputUnits, c.returnSequences) = abi.decode(data, (uint8, uint256, uint256, bool));
            words = 4;
        } else if (kind == LayerKind.LSTM) {
            (c.activation, c.recurrentActivation, c.units, c.inputUnits, c.returnSequences) =
                abi.decode(data, (uint8, uint8, uint256, uint256, bool));
            words = 5;
        } else if (kind == LayerKind.GRU) {
            (c.activation, c.recurrentActivation, c.units, c.inputUnits, c.resetAfter, c.returnSequences) =
                abi.decode(data, (uint8, uint8, uint256, uint256, bool, bool));
            words = 6;
        } else {
            revert InvalidConfig(layerKind());
        }
        if (data.length == (words + 1) * 32) {
            uint256 flag;
            assembly ("memory-safe") {
                flag := mload(add(data, mul(add(words, 1), 0x20)))
            }
            _requireConfig(flag == 1);
            c.goBackwards = true;
        } else {
            _requireConfig(data.length == words * 32);
        }
        _requireConfig(
            c.activation < Activation.COUNT && c.recurrentActivation < Activation.COUNT && c.units > 0
                && c.inputUnits > 0
        );
    }

    /// @dev The weights of a cell: tensors `first`, `first + 1`, `first + 2` (kernel, recurrent
    ///      kernel, bias if any) of `list`; the kernels copied as stored, the bias as Q32.32.
    function _cellWeights(Cell memory c, address m, WeightTensor[] memory list, uint256 first, uint256 count)
        internal
        view
        returns (CellWeights memory p)
    {
        _requireConfig(count >= 2 && first + count <= list.length);
        p.w = _raw(m, list[first]);
        p.u = _raw(m, list[first + 1]);
        if (count > 2) p.b = _tensorValues(m, list, first + 2);
        p.tbl = Fixed.expTable();
        // Every gate's columns: [inputUnits, n] and [units, n], scaled per column if at all.
        uint256 gates = c.kind == LayerKind.LSTM ? 4 : c.kind == LayerKind.GRU ? 3 : 1;
        uint256 cols = gates * c.units;
        _requireConfig(
            p.w.length == c.inputUnits * cols && p.u.length == c.units * cols
                && (p.w.channels == 0 || p.w.channels == cols) && (p.u.channels == 0 || p.u.channels == cols)
        );
        uint256 n = 3 * c.units;
        // GRU reset_after keeps two bias rows (input, recurrent); otherwise one.
        if (c.kind == LayerKind.GRU && c.resetAfter && p.b.length == 2 * n) (p.inCount, p.recStart, p.recCount) = (n, n, n);
        else p.inCount = p.b.length;
    }

    /// @dev The whole recurrence over `steps` rows of `inputs`: every step's state (in reading
    ///      order) when `returnSequences`, else the last. One loop per kind, so a layer that
    ///      knows its kind (`_forwardCell`) carries and runs only its own.
    function _runCell(Cell memory c, CellWeights memory p, int256[] calldata inputs, uint256 steps)
        internal
        pure
        returns (int256[] memory out)
    {
        Carry memory st = _zeroCarry(c.units);
        if (c.kind == LayerKind.SIMPLE_RNN) out = _runSimple(c, p, inputs, steps, st);
        else if (c.kind == LayerKind.LSTM) out = _runLstm(c, p, inputs, steps, st);
        else out = _runGru(c, p, inputs, steps, st);
    }

    /// @dev Step `s`'s input row: from the end when `goBackwards`.
    function _row(Cell memory c, int256[] calldata inputs, uint256 s, uint256 steps)
        internal
        pure
        returns (int256[] memory)
    {
        return _step(inputs, c.goBackwards ? steps - 1 - s : s, c.inputUnits);
    }

    /// @dev Appends state `h` as row `s` of `out` when the whole sequence is returned.
    function _keep(Cell memory c, int256[] memory out, int256[] memory h, uint256 s) internal pure {
        if (!c.returnSequences) return;
        uint256 units = c.units;
        for (uint256 j; j < units; ++j) {
            out[s * units + j] = h[j];
        }
    }

    /// @dev From state `st` (zeros for a whole pass), left in it after the last step.
    function _runSimple(Cell memory c, CellWeights memory p, int256[] calldata inputs, uint256 steps, Carry memory st)
        internal
        pure
        returns (int256[] memory out)
    {
        out = new int256[](c.returnSequences ? steps * c.units : c.units);
        for (uint256 s; s < steps; ++s) {
            st.h = _simpleStep(c, p, _row(c, inputs, s, steps), st.h);
            _keep(c, out, st.h, s);
        }
        if (!c.returnSequences) out = st.h;
    }

    /// @dev From state `st` (zeros for a whole pass), updated in place.
    function _runLstm(Cell memory c, CellWeights memory p, int256[] calldata inputs, uint256 steps, Carry memory st)
        internal
        pure
        returns (int256[] memory out)
    {
        out = new int256[](c.returnSequences ? steps * c.units : c.units);
        for (uint256 s; s < steps; ++s) {
            _lstmStep(c, p, _row(c, inputs, s, steps), st.h, st.cell);
            _keep(c, out, st.h, s);
        }
        if (!c.returnSequences) out = st.h;
    }

    /// @dev From state `st` (zeros for a whole pass), left in it after the last step.
    function _runGru(Cell memory c, CellWeights memory p, int256[] calldata inputs, uint256 steps, Carry memory st)
        internal
        pure
        returns (int256[] memory out)
    {
        out = new int256[](c.returnSequences ? steps * c.units : c.units);
        // Called through a pointer: both steps inlined here would not fit the EVM's stack.
        function(Cell memory, CellWeights memory, int256[] memory, int256[] memory) internal pure returns (int256[] memory)
            step = c.resetAfter ? _gruStepAfter : _gruStepBefore;
        for (uint256 s; s < steps; ++s) {
            st.h = step(c, p, _row(c, inputs, s, steps), st.h);
            _keep(c, out, st.h, s);
        }
        if (!c.returnSequences) out = st.h;
    }

    /// @dev SimpleRNN: h' = act(x·W + h·U + b).
    function _simpleStep(Cell memory c, CellWeights memory p, int256[] memory x, int256[] memory prev)
        internal
        pure
        returns (int256[] memory h)
    {
        h = _gates(x, prev, p, 0, p.b.length, c.units);
        for (uint256 j; j < c.units; ++j) {
            h[j] = _act(c.activation, h[j], p.tbl);
        }
    }

    /// @dev LSTM (Keras gate order input, forget, cell, output); updates `h` and `cell` in place
    ///      (the gates are computed from the old `h` first).
    function _lstmStep(Cell memory c, CellWeights memory p, int256[] memory x, int256[] memory h, int256[] memory cell)
        internal
        pure
    {
        uint256 units = c.units;
        int256[] memory z = _gates(x, h, p, 0, p.b.length, 4 * units);
        for (uint256 j; j < units; ++j) {
            int256 ig = _act(c.recurrentActivation, z[j], p.tbl);
            int256 fg = _act(c.recurrentActivation, z[units + j], p.tbl);
            int256 cg = _act(c.activation, z[2 * units + j], p.tbl);
            int256 og = _act(c.recurrentActivation, z[3 * units + j], p.tbl);
            cell[j] = Fixed.mul(fg, cell[j]) + Fixed.mul(ig, cg);
            h[j] = Fixed.mul(og, _act(c.activation, cell[j], p.tbl));
        }
    }

    /// @dev GRU with reset_after: z, r from x·W + b_in + h·U + b_rec; candidate
    ///      act(xw_h + r · hu_h); h' = z · h + (ONE − z) · candidate (Keras gate order z, r, h).
    function _gruStepAfter(Cell memory c, CellWeights memory p, int256[] memory x, int256[] memory prev)
        internal
        pure
        returns (int256[] memory h)
    {
        uint256 units = c.units;
        uint256 n = 3 * units;
        int256[] memory none = new int256[](0);
        int256[] memory xw = _gates(x, none, p, 0, p.inCount, n);
        int256[] memory hu = _gates(none, prev, p, p.recStart, p.recCount, n);
        h = new int256[](units);
        for (uint256 j; j < units; ++j) {
            h[j] = _gruUnitAfter(c, p.tbl, xw, hu, prev[j], j);
        }
    }

    /// @dev Unit `j` of `_gruStepAfter` (a function of its own: with every activation inlined
    ///      the loop above would not fit the EVM's stack).
    function _gruUnitAfter(
        Cell memory c,
        uint256 tbl,
        int256[] memory xw,
        int256[] memory hu,
        int256 prev,
        uint256 j
    ) private pure returns (int256) {
        uint256 units = c.units;
        int256 z = _act(c.recurrentActivation, xw[j] + hu[j], tbl);
        int256 r = _act(c.recurrentActivation, xw[units + j] + hu[units + j], tbl);
        int256 hh = _act(c.activation, xw[2 * units + j] + Fixed.mul(r, hu[2 * units + j]), tbl);
        return Fixed.mul(z, prev) + Fixed.mul(Fixed.ONE - z, hh);
    }

    /// @dev GRU without reset_after: the candidate sees (r · h)·U_h instead.
    function _gruStepBefore(Cell memory c, CellWeights memory p, int256[] memory x, int256[] memory prev)
        internal
        pure
        returns (int256[] memory h)
    {
        uint256 units = c.units;
        uint256 n = 3 * units;
        int256[] memory none = new int256[](0);
        int256[] memory xw = _gates(x, none, p, 0, p.inCount, n);
        int256[] memory hu = _gates(none, prev, p, 0, 0, n);
        int256[] memory zr = new int256[](2 * units);
        for (uint256 j; j < 2 * units; ++j) {
            zr[j] = _act(c.recurrentActivation, xw[j] + hu[j], p.tbl);
        }
        int256[] memory rh = new int256[](units);
        for (uint256 j; j < units; ++j) {
            rh[j] = Fixed.mul(zr[units + j], prev[j]);
        }
        // (r · h)·U_h: the candidate's columns [2 · units, n) of U.
        int256[] memory hc = new int256[](units);
        _addColumns(hc, rh, p.u, n, 2 * units);
        h = new int256[](units);
        for (uint256 j; j < units; ++j) {
            h[j] = _gruUnitBefore(c, p.tbl, xw, zr, hc, prev[j], j);
        }
    }

    /// @dev Unit `j` of `_gruStepBefore`: candidate act(xw_h + (hc_j >> 32)) (hc: (r · h)·U_h
    ///      before the shift), then z · h + (ONE − z) · candidate (a function of its own for the
    ///      EVM's stack, as `_gruUnitAfter`).
    function _gruUnitBefore(
        Cell memory c,
        uint256 tbl,
        int256[] memory xw,
        int256[] memory zr,
        int256[] memory hc,
        int256 prev,
        uint256 j
    ) private pure returns (int256) {
        int256 hh = _act(c.activation, xw[2 * c.units + j] + (hc[j] >> 32), tbl);
        return Fixed.mul(zr[j], prev) + Fixed.mul(Fixed.ONE - zr[j], hh);
    }

    /// @dev A recurrent layer of its own kind: decode, run, shape.
    function _forwardCell(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view returns (int256[] memory out, uint256[] memory shape) {
        uint16 kind = layerKind();
        Cell memory c = _decodeCell(kind, cfg);
        uint256 steps = _steps(shapes, ranks, c.inputUnits);
        CellWeights memory p = _cellWeights(c, m, list, 0, list.length);
        // `kind` is this contract's constant: only its own loop is compiled in.
        Carry memory st = _zeroCarry(c.units);
        if (kind == LayerKind.SIMPLE_RNN) out = _runSimple(c, p, inputs, steps, st);
        else if (kind == LayerKind.LSTM) out = _runLstm(c, p, inputs, steps, st);
        else out = _runGru(c, p, inputs, steps, st);
        shape = _shape(steps, c.units, c.returnSequences);
    }

    /// @dev Time steps [from, from + count) (in reading order) of a recurrent layer of its own
    ///      kind, from a carried state: what its `forwardSlice` computes, so a layer too big for
    ///      one call runs as several, its state travelling between them. `inputs` = the carry
    ///      (h, then for an LSTM the cell state: `units` values each; zeros at from = 0) followed
    ///      by the input rows those steps read, in the input's order: rows [from, from + count),
    ///      or [n − from − count, n − from) when `goBackwards`. `shapes` is the whole input's
    ///      [n, inputUnits]. Returns, `units` values a row, the steps' h (when
    ///      `returnSequences`) and then the carry after the last step: [count + k, units] or
    ///      [k, units] (k = 2 for an LSTM, else 1). The steps run exactly as in `_forwardCell`,
    ///      so the parts put together equal the whole pass bit for bit.
    ///      A job's part (`EternalJobs.stepRows`: the steps in the high 128 bits, see
    ///      `_partSteps`) is framed as a Dense's row part is: the input rows first, then the
    ///      carry (none at the first step); the answer is the output positions the part
    ///      completes (its shape: the steps' h, or the last h at the end of a layer that returns
    ///      only that, else none) followed by the carry the next part needs (none after the last).
    function _forwardSteps(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view returns (int256[] memory out, uint256[] memory shape) {
        uint16 kind = layerKind();
        Cell memory c = _decodeCell(kind, cfg);
        uint256 n = _steps(shapes, ranks, c.inputUnits);
        bool part = count >> 128 != 0;
        if (part) (from, count) = _partSteps(c, n, from, count);
        return _cellSteps(kind, c, _cellWeights(c, m, list, 0, list.length), inputs, n, from, count, part);
    }

    /// @dev `_forwardSteps` of one cell (`kind`, `c`, its weights `p`) over an input of `n`
    ///      steps: steps [from, from + count), `part` for a job's framing.
    function _cellSteps(
        uint16 kind,
        Cell memory c,
        CellWeights memory p,
        int256[] calldata inputs,
        uint256 n,
        uint256 from,
        uint256 count,
        bool part
    ) internal pure returns (int256[] memory out, uint256[] memory shape) {
        uint256 units = c.units;
        uint256 k = kind == LayerKind.LSTM ? 2 : 1;
        _checkSlice(from, count, n);
        uint256 rowValues = count * c.inputUnits;
        // Where the carry is: before the rows (chained calls), after them (a job's part, none at
        // its first step).
        uint256 carryAt = part ? rowValues : 0;
        uint256 carried = part && from == 0 ? 0 : k * units;
        if (inputs.length != carried + rowValues) revert InputShapeMismatch(0);
        // The steps' h, or (a layer returning only the last h) that h.
        Carry memory st = _zeroCarry(units);
        if (carried != 0) {
            st.h = _sliceI(inputs, carryAt, units);
            if (k == 2) st.cell = _sliceI(inputs, carryAt + units, units);
        }
        uint256 rowsAt = part ? 0 : carried;
        int256[] memory seq = _runSteps(kind, c, p, inputs[rowsAt:rowsAt + rowValues], count, st);
        // Rows of h the answer starts with, and whether the carry follows.
        uint256 r = c.returnSequences ? count : 0;
        bool carry = true;
        shape = new uint256[](2);
        if (part) {
            carry = from + count < n;
            if (!carry && r == 0) (r, shape) = (1, new uint256[](1));
        }
        out = new int256[]((r + (carry ? k : 0)) * units);
        for (uint256 i; i < r * units; ++i) {
            out[i] = seq[i];
        }
        if (carry) {
            for (uint256 j; j < units; ++j) {
                out[r * units + j] = st.h[j];
                if (k == 2) out[(r + 1) * units + j] = st.cell[j];
            }
        }
        if (shape.length == 1) shape[0] = units;
        else (shape[0], shape[1]) = (part ? r : r + k, units);
    }

    /// @dev A job's part: steps [from >> 128, +count >> 128) in the high 128 bits; the low bits
    ///      name the output positions as the job counts them — the same steps when the layer
    ///      returns its sequence, else every unit of the last h ([0, units)). Returns the steps.
    function _partSteps(Cell memory c, uint256 n, uint256 from, uint256 count)
        internal
        pure
        returns (uint256 first, uint256 steps)
    {
        (first, steps) = (from >> 128, count >> 128);
        _checkSlice(first, steps, n);
        (uint256 f, uint256 k) = c.returnSequences ? (first, steps) : (0, c.units);
        if (uint128(from) != f || uint128(count) != k) revert OutputSliceOutOfRange(from, count, n);
    }

    /// @inheritdoc ISliceableLayer
    /// @dev A job's part only (steps in the high 128 bits of `from` and `count`, see
    ///      `_partSteps`): the output axis's length (the steps when the layer returns its
    ///      sequence, else its units) and the input rows the steps read. Plain slices (chained calls) take their carry from the caller, which a job cannot
    ///      vouch for: `sliceInput` names only parts.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        virtual
        returns (uint256 length, uint256 first, uint256 last)
    {
        Cell memory c = _decodeCell(layerKind(), configData());
        uint256 n = _steps(shapes, ranks, c.inputUnits);
        (uint256 f, uint256 steps) = _partSteps(c, n, from, count);
        first = c.goBackwards ? n - f - steps : f;
        return (c.returnSequences ? n : c.units, first, first + steps);
    }

    /// @dev z_j = (bias_j << 32 + Σ_i x_i · W[i, j] + Σ_i h_i · U[i, j]) >> 32 for j < n, where W
    ///      (`p.w`) is [x.length, n] and U (`p.u`) is [h.length, n], both row-major and stored
    ///      (`Raw`, shapes checked by `_cellWeights`); bias_j is p.b[biasStart + j] for
    ///      j < biasCount, else 0. One SAR per output, after the exact sum.
    function _gates(
        int256[] memory x,
        int256[] memory h,
        CellWeights memory p,
        uint256 biasStart,
        uint256 biasCount,
        uint256 n
    ) internal pure returns (int256[] memory z) {
        z = new int256[](n);
        for (uint256 j; j < biasCount && j < n; ++j) {
            z[j] = p.b[biasStart + j] << 32;
        }
        _addColumns(z, x, p.w, n, 0);
        _addColumns(z, h, p.u, n, 0);
        assembly ("memory-safe") {
            for { let q := add(z, 0x20) let end := add(q, shl(5, n)) } lt(q, end) { q := add(q, 0x20) } {
                mstore(q, sar(32, mload(q)))
            }
        }
    }

    /// @dev Whether `_addColumns` may take several columns per MUL (`Lanes`). A layer whose code
    ///      would exceed EIP-170's 24,576 bytes with the lane kernels linked in (Bidirectional,
    ///      which holds both directions' slice and job paths) answers false, and the optimizer
    ///      drops them: its columns go one at a time, the same integers at more gas.
    function _lanes() internal pure virtual returns (bool) {
        return true;
    }

    /// @dev `_addColumns` one column at a time (`_column`).
    function _addEach(int256[] memory z, int256[] memory x, Raw memory w, uint256 n, uint256 first) private pure {
        for (uint256 j; j < z.length; ++j) {
            z[j] += _scaled(w, first + j, _column(x, w, first + j, n));
        }
    }

    /// @dev z[k] += Σ_i x_i · W[i, first + k] for k < z.length, W (`w`) [x.length, n] as stored:
    ///      each column's Σ x·q of stored integers scaled once (`_scaled`: << up, or times the
    ///      column's scale, the column being the output channel), which equals Σ x·a of the
    ///      Q32.32 values a exactly. Several columns per MUL (`Lanes`) when Σ|x| is below their
    ///      bound, else one column at a time (`_column`); the same integers either way.
    function _addColumns(int256[] memory z, int256[] memory x, Raw memory w, uint256 n, uint256 first) internal pure {
        uint256 len = x.length;
        if (len == 0) return;
        uint256 width = w.width;
        uint256 cols = z.length;
        if (!_lanes()) return _addEach(z, x, w, n, first);
        (uint256 sa, int256 sx) = Lanes.sums(_ptr(x), len);
        if (len >= 2 ** 30 || sa >= Lanes.limit(width)) return _addEach(z, x, w, n, first);
        // Blocks of 32 / width columns (one kernel word a row), the last one maybe shorter.
        uint256 per = 32 / width;
        int256 corr = sx << (8 * width - 1);
        uint256 k;
        for (; k + per <= cols; k += per) {
            _laneBlock(z, x, w, n, first, k, per, corr);
        }
        if (k < cols) _laneBlock(z, x, w, n, first, k, cols - k, corr);
    }

    /// @dev z[k + q] += the scaled Σ_i x_i · W[i, first + k + q] for q < count (count ≤ 32 /
    ///      width), by `Lanes.columns` (the caller checked Σ|x|; `corr` = 2^(8w−1)·Σx).
    function _laneBlock(
        int256[] memory z,
        int256[] memory x,
        Raw memory w,
        uint256 n,
        uint256 first,
        uint256 k,
        uint256 count,
        int256 corr
    ) private pure {
        uint256 width = w.width;
        // The block's lane sums (`count` words), then its 8 accumulators: scratch past the free
        // memory pointer, not allocated (nothing below allocates), so steps do not grow memory.
        uint256 part;
        assembly ("memory-safe") {
            part := mload(0x40)
        }
        Lanes.columns(
            _ptr(x), x.length, w.ptr + (first + k) * width, width, n * width, corr, part, count, part + 32 * count
        );
        for (uint256 q; q < count; ++q) {
            int256 sum;
            assembly ("memory-safe") {
                sum := mload(add(part, shl(5, q)))
            }
            z[k + q] += _scaled(w, first + k + q, sum);
        }
    }

    /// @dev Σ_i x_i · q[i · n + j] for i < x.length: column j of the stored [x.length, n] matrix
    ///      `w` (value k the big-endian `width`-byte integer at w.ptr + k · width, read with a
    ///      full-word MLOAD: `_raw` leaves a spare word after the last), x in memory. Four
    ///      products per iteration, as `DenseLayer._dot` (which reads x from calldata).
    function _column(int256[] memory x, Raw memory w, uint256 j, uint256 n) internal pure returns (int256 acc) {
        uint256 width = w.width;
        uint256 wp = w.ptr;
        assembly ("memory-safe") {
            wp := add(wp, mul(j, width))
            let stride := mul(n, width)
            let se := sub(width, 1)
            let sh := sub(256, shl(3, width))
            let len := mload(x)
            let xp := add(x, 0x20)
            let end := add(xp, shl(5, len))
            let end4 := add(xp, shl(5, and(len, not(3))))
            let s2 := add(stride, stride)
            let s3 := add(s2, stride)
            let s4 := add(s3, stride)
            for {} lt(xp, end4) {} {
                acc := add(acc, mul(mload(xp), signextend(se, shr(sh, mload(wp)))))
                acc := add(acc, mul(mload(add(xp, 0x20)), signextend(se, shr(sh, mload(add(wp, stride))))))
                acc := add(acc, mul(mload(add(xp, 0x40)), signextend(se, shr(sh, mload(add(wp, s2))))))
                acc := add(acc, mul(mload(add(xp, 0x60)), signextend(se, shr(sh, mload(add(wp, s3))))))
                xp := add(xp, 0x80)
                wp := add(wp, s4)
            }
            for {} lt(xp, end) {} {
                acc := add(acc, mul(mload(xp), signextend(se, shr(sh, mload(wp)))))
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            }
        }
    }

    /// @dev Row `s` of the [steps, feat] input, in memory.
    function _step(int256[] calldata inputs, uint256 s, uint256 feat) internal pure returns (int256[] memory x) {
        x = new int256[](feat);
        assembly ("memory-safe") {
            calldatacopy(add(x, 0x20), add(inputs.offset, shl(5, mul(s, feat))), shl(5, feat))
        }
    }

    /// @dev Checks a [steps, feat] input with feat = `inputUnits`; returns steps.
    function _steps(uint256[] calldata shapes, uint256[] calldata ranks, uint256 inputUnits)
        internal
        pure
        returns (uint256)
    {
        uint256[] memory s = _single(shapes, ranks);
        if (s.length != 2 || s[1] != inputUnits) revert InputShapeMismatch(0);
        return s[0];
    }

    /// @dev The output: every step's state when `sequences`, else the last.
    function _shape(uint256 steps, uint256 units, bool sequences) internal pure returns (uint256[] memory shape) {
        shape = new uint256[](sequences ? 2 : 1);
        if (sequences) (shape[0], shape[1]) = (steps, units);
        else shape[0] = units;
    }

    /// @dev Fixed.activate1, kept here so the layers read like the reference; `tbl` is
    ///      `Fixed.expTable()`, made once per forward pass.
    function _act(uint8 code, int256 x, uint256 tbl) internal pure returns (int256) {
        return Fixed.activate1(x, code, tbl);
    }
}
