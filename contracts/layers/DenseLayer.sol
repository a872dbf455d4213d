// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {IEternalModel} from "../interfaces/IEternalModel.sol";
import {Fixed} from "../lib/Fixed.sol";
import {Lanes} from "../lib/Lanes.sol";
import {WeightCodec} from "../lib/WeightCodec.sol";
import {Activation, LayerKind, WeightLayout, WeightTensor} from "../lib/Types.sol";

/// @title DenseLayer
/// @notice Keras `Dense`.
/// @dev Config: `abi.encode(uint8 activation, uint256 units, uint256 inputUnits, bool useBias)`.
///      Weight tensors: kernel [inputUnits, units], bias [units] if useBias.
contract DenseLayer is LayerBase, ISliceableLayer {
    /// @notice The decoded config.
    struct Config {
        /// `Activation` code.
        uint8 activation;
        /// Output units.
        uint256 units;
        /// Size of the input's last axis.
        uint256 inputUnits;
        /// Whether a bias tensor follows the kernel.
        bool useBias;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.DENSE;
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
        (c.activation, c.units, c.inputUnits, c.useBias) = abi.decode(data, (uint8, uint256, uint256, bool));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.activation < Activation.COUNT && c.units > 0 && c.inputUnits > 0);
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
        if (shape.length == 0 || shape[shape.length - 1] != c.inputUnits) revert InputShapeMismatch(0);
        if (list.length != (c.useBias ? 2 : 1) || list[0].length != c.inputUnits * c.units) {
            revert InvalidConfig(LayerKind.DENSE);
        }
        WeightLayout memory layout = IEternalModel(m).weightLayout();
        Raw memory kernel = _raw(m, layout, list[0]);
        int256[] memory bias = c.useBias ? _valuesFrom(_raw(m, layout, list[1]), 0, c.units) : new int256[](0);
        out = _dense(inputs, Job(c, kernel, bias));
        shape[shape.length - 1] = c.units;
        Fixed.activate(_ptr(out), out.length, c.activation, c.units);
    }

    /// @dev Output units [from, from + count) (see `IForwardLayer.forwardSlice`): only those
    ///      columns of the kernel are read (`_rawColumns`), so a slice costs its own share of the
    ///      weight copy. Softmax and log_softmax need every unit: such a Dense is only taken whole.
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
        if (count >> 128 != 0) return _forwardRows(inputs, shapes, ranks, from, count, m, cfg, list);
        _checkInputs(inputs, shapes, ranks);
        shape = _single(shapes, ranks);
        Config memory c = _decode(cfg);
        _check(c);
        if (shape.length == 0 || shape[shape.length - 1] != c.inputUnits) revert InputShapeMismatch(0);
        if (list.length != (c.useBias ? 2 : 1) || list[0].length != c.inputUnits * c.units) {
            revert InvalidConfig(LayerKind.DENSE);
        }
        _checkSlice(from, count, c.units);
        if ((c.activation == Activation.SOFTMAX || c.activation == Activation.LOG_SOFTMAX) && count != c.units) {
            revert OutputSliceOutOfRange(from, count, c.units);
        }
        Raw memory kernel = _rawColumns(m, list[0], c.inputUnits, c.units, from, count);
        int256[] memory bias = c.useBias ? _valuesFrom(_raw(m, list[1]), from, count) : new int256[](0);
        // The kernel read is [inputUnits, count]: the slice is a Dense of `count` units.
        c.units = count;
        out = _dense(inputs, Job(c, kernel, bias));
        shape[shape.length - 1] = count;
        Fixed.activate(_ptr(out), out.length, c.activation, count);
    }

    /// @inheritdoc ISliceableLayer
    /// @dev Units of a vector input only: on [rows, inputUnits] the units are not the first axis.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        returns (uint256 length, uint256 first, uint256 last)
    {
        uint256[] memory s = _single(shapes, ranks);
        Config memory c = _decode(configData());
        _check(c);
        if (s.length != 1 || s[0] != c.inputUnits) revert InputShapeMismatch(0);
        if (count >> 128 != 0) {
            (uint256 rf, uint256 rc) = _rowPart(c, from, count);
            return (c.units, rf, rf + rc);
        }
        _checkSlice(from, count, c.units);
        if (c.activation == Activation.SOFTMAX && count != c.units) revert OutputSliceOutOfRange(from, count, c.units);
        return (c.units, 0, s[0]);
    }

    /// @dev What `_dense` multiplies: one memory pointer, so its loop variables are locals
    ///      via-IR can move to memory (parameters it cannot).
    struct Job {
        Config c;
        Raw kernel;
        int256[] bias;
    }

    /// @dev x · kernel + bias for every row of x ([rows, c.inputUnits] in calldata), before the
    ///      activation; `kernel` is [c.inputUnits, c.units] as stored, `bias` has c.units values or none.
    ///      Per row, when Σ|x| is small enough (`Lanes.limit`), every column's Σ x·q comes from
    ///      `_lanesBlock` (several columns per MUL); else from `_dot`, one column at a time.
    ///      In INT16/INT8 each row is narrowed first and summed by `_narrowSums`.
    function _dense(int256[] calldata inputs, Job memory job) internal pure returns (int256[] memory out) {
        Config memory c = job.c;
        Raw memory kernel = job.kernel;
        int256[] memory bias = job.bias;
        uint256 rows = inputs.length / c.inputUnits;
        out = new int256[](rows * c.units);
        uint256 e = _inputShift(kernel, c.inputUnits);
        if (e != 0) {
            // One row's x' at a time (in memory allocated when first needed: `_narrowSums`).
            uint256 xp;
            for (uint256 r; r < rows; ++r) {
                uint256 at = r * c.units;
                xp = _narrowSums(inputs, r * c.inputUnits, c.inputUnits, e, xp, kernel, c.units, _ptr(out) + at * 32);
                _finish(out, at, c.units, kernel, bias, e);
            }
            return out;
        }
        uint256 limit = c.inputUnits < 2 ** 30 ? Lanes.limit(kernel.width) : 0;
        for (uint256 r; r < rows; ++r) {
            uint256 j;
            uint256 sa;
            int256 sx;
            // No lanes (limit 0): no sums to read.
            if (limit != 0) (sa, sx) = _sums(inputs, r * c.inputUnits, c.inputUnits);
            if (sa < limit) {
                // Σ x·q = Σ x·u − 2^(8w−1)·Σx, u = q + 2^(8w−1) (see `_lanesBlock`).
                int256 corr = sx << (8 * kernel.width - 1);
                uint256 cols = 32 / kernel.width;
                uint256 dst = _ptr(out) + r * c.units * 32;
                for (; j < c.units; j += cols) {
                    _lanesBlock(
                        inputs,
                        r * c.inputUnits,
                        c.inputUnits,
                        kernel,
                        j,
                        c.units,
                        corr,
                        dst + j * 32,
                        c.units - j < cols ? c.units - j : cols
                    );
                }
                _finish(out, r * c.units, c.units, kernel, bias, 0);
                j = c.units;
            }
            for (; j < c.units; ++j) {
                // (Σ x·q) << up = Σ x·(q << up), (Σ x·q)·s = Σ x·(q·s) exactly; one SAR after
                // adding bias << 32.
                int256 acc = _scaled(kernel, j, _dot(inputs, r * c.inputUnits, c.inputUnits, kernel, j, c.units));
                int256 b = bias.length == 0 ? int256(0) : bias[j] << 32;
                int256 y;
                assembly ("memory-safe") {
                    y := sar(32, add(acc, b))
                }
                out[r * c.units + j] = y;
            }
        }
    }

    /// @dev Σ_i x'_i · q[i · units + j] for every column j < units of `kernel` ([n, units]),
    ///      unscaled, added to the words at `dst` (zero before): x' = (x + 2^(e−1)) >> e of
    ///      x = inputs[from, from + n), stored at memory `xp` first (`_narrowRow`). One MUL sums
    ///      eight INT8 columns in 32-bit lanes or five INT16 columns in 48-bit lanes (`_lanes`),
    ///      exact over rows whose Σ|x'| is below 2^24 (INT8) or 2^32 (INT16): every lane sum is
    ///      then below its sign bit (|Σ x'·q| ≤ Σ|x'|·2^(8w−1) < 2^31, 2^47). With |x| ≤ 1,
    ///      Σ|x'| ≤ n·2^(32−e) ≤ 2^24 (2^32), so all the rows go at once unless n is a power
    ///      of two and every |x'| at its largest. Otherwise the rows go in runs each below the
    ///      bound (`_run`), and a row whose |x'| alone reaches it one column at a time (`_addRow`).
    function _narrowSums(
        int256[] calldata inputs,
        uint256 from,
        uint256 n,
        uint256 e,
        uint256 xp,
        Raw memory kernel,
        uint256 units,
        uint256 dst
    ) internal pure returns (uint256) {
        uint256 width = kernel.width;
        // Before `_narrowRow`: its stores hide from the optimizer what the loops read at k.
        uint256 k = _constants(width);
        // INT8 with 64..71 columns: one pass over the rows (`_wide8`), else `_lanes`' blocks;
        // straight from calldata when the inputs are small enough (`_bounded8`).
        bool wide = width == 1 && units >= 64 && units <= 71;
        if (wide && _bounded8(inputs, from, n, e)) {
            _wide8c(inputs, from, n, e, kernel.ptr, units, dst, k);
            return xp;
        }
        if (xp == 0) xp = _scratch(n);
        (uint256 sa, int256 sx) = _narrowRow(inputs, from, n, e, xp);
        uint256 bound = width == 1 ? 2 ** 24 : 2 ** 32;
        if (sa < bound) {
            if (wide) _wide8(xp, n, sx, kernel.ptr, units, dst, k);
            else _lanes(xp, n, sx, kernel.ptr, width, units, dst, k);
            return xp;
        }
        uint256 stride = units * width;
        for (uint256 i; i < n;) {
            (uint256 len, int256 s) = _run(xp + i * 32, n - i, bound);
            if (len == 0) {
                _addRow(xp + i * 32, kernel.ptr + i * stride, width, units, dst);
                len = 1;
            } else {
                _lanes(xp + i * 32, len, s, kernel.ptr + i * stride, width, units, dst, k);
            }
            i += len;
        }
        return xp;
    }

    /// @dev n + 1 words of new memory, not zeroed (`_narrowRow` writes the first n before they
    ///      are read; `_wide8` puts its sentinel in the last); returns their address.
    function _scratch(uint256 n) internal pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
            mstore(0x40, add(p, shl(5, add(n, 1))))
        }
    }

    /// @dev Three new words in memory: the lane mask (0xff in each 32-bit lane for INT8, 0xffff
    ///      in each 48-bit lane for INT16), the XOR word (2^(8w−1) in every value) of `_narrow8`
    ///      and `_narrow16`, and a third the INT16 `_lanes` sets to the row stride for
    ///      `_narrow16x2`; returns their address.
    function _constants(uint256 width) internal pure returns (uint256 k) {
        assembly ("memory-safe") {
            k := mload(0x40)
            mstore(0x40, add(k, 0x60))
            switch width
            case 1 {
                mstore(k, 0x000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff)
                mstore(add(k, 0x20), 0x8080808080808080808080808080808080808080808080808080808080808080)
            }
            default {
                mstore(k, 0x00000000ffff00000000ffff00000000ffff00000000ffff00000000ffff)
                mstore(add(k, 0x20), 0x8000800080008000800080008000800080008000800080008000800080008000)
            }
        }
    }

    /// @dev The longest run of the n words x' at memory `p` whose Σ|x'| < `bound`: its length
    ///      and Σx'.
    function _run(uint256 p, uint256 n, uint256 bound) internal pure returns (uint256 len, int256 sx) {
        assembly ("memory-safe") {
            let sa := 0
            for {} lt(len, n) { len := add(len, 1) } {
                let v := mload(add(p, shl(5, len)))
                let sgn := sar(255, v)
                let a := sub(xor(v, sgn), sgn)
                // a < bound first: sa + a cannot wrap.
                if iszero(and(lt(a, bound), lt(add(sa, a), bound))) { break }
                sa := add(sa, a)
                sx := add(sx, v)
            }
        }
    }

    /// @dev out[j] += x' · q[j] for j < units: the row of `width`-byte integers at memory `wp`,
    ///      x' the word at memory `xp`, out the words at `dst`.
    function _addRow(uint256 xp, uint256 wp, uint256 width, uint256 units, uint256 dst) internal pure {
        assembly ("memory-safe") {
            let x := mload(xp)
            let se := sub(width, 1)
            let sh := sub(256, shl(3, width))
            for { let j := 0 } lt(j, units) { j := add(j, 1) } {
                let q := signextend(se, shr(sh, mload(add(wp, mul(j, width)))))
                let p := add(dst, shl(5, j))
                mstore(p, add(mload(p), mul(x, q)))
            }
        }
    }

    /// @dev Σ_i x'_i · q[i · units + j] for the n words x' at memory `xp` (Σx' = sx, Σ|x'| below
    ///      `_narrowSums`'s bound) and every column j < units of the [n, units] rows at memory
    ///      `wp`, added to the words at `dst`: blocks of 32 INT8 columns (`_narrow8`) or 15 INT16
    ///      columns (`_narrow16`), a kernel word a row; INT16 takes two blocks a pass while more
    ///      than one is left (`_narrow16x2`: the pass, not its MULs, is the cost). The lanes
    ///      hold u = q + 2^(8w−1) ≥ 0 (the XOR in the loops): each accumulator minus
    ///      2^(8w−1)·Σx' in every lane holds the lanes' Σ x'·q, each read with SIGNEXTEND and
    ///      taken off before the next (`_extract`). `k`: the loops' constants (`_constants`).
    ///      The last block is a call of its own: with two call sites via-IR keeps `_narrow8` a
    ///      function of its own, whose loop is cheaper than inlined here (12k less on a 784→70).
    function _lanes(
        uint256 xp,
        uint256 n,
        int256 sx,
        uint256 wp,
        uint256 width,
        uint256 units,
        uint256 dst,
        uint256 k
    ) internal pure {
        // Columns a block, bits a lane, accumulators.
        (uint256 cols, uint256 bits, uint256 accs) = width == 1 ? (32, 32, 4) : (15, 48, 3);
        uint256 stride = units * width;
        assembly ("memory-safe") {
            mstore(add(k, 0x40), stride)
        }
        // The accumulators, stored by the loops: accumulator k at acc + 32k.
        uint256 acc;
        int256 corr;
        assembly ("memory-safe") {
            acc := mload(0x40)
            mstore(0x40, add(acc, 0x120))
            // 2^(8w−1)·Σx' in each of the 256 / bits lanes (mod 2^256).
            let ones := 0
            for { let l := 0 } lt(add(l, bits), 257) { l := add(l, bits) } { ones := or(ones, shl(l, 1)) }
            corr := mul(shl(sub(shl(3, width), 1), sx), ones)
        }
        uint256 j;
        // The blocks with columns after them (INT16 two at once, the second in accumulators
        // 3..5), then the last block.
        for (; j < units && units - j > cols; j += cols) {
            uint256 out = dst + j * 32;
            if (width == 1) {
                uint256 rest = units - j - cols;
                if (rest > 8) {
                    _narrow8(xp, n, wp + j, stride, k, acc);
                } else {
                    // The last 1..8 columns ride along this block's pass (`_narrow8t`).
                    _narrow8t(xp, n, wp + j, stride, k, acc);
                    _extractTail(acc + 0x80, rest, corr, out + cols * 32);
                    j += rest;
                }
            } else {
                uint256 rest = units - j - cols;
                if (rest > cols) {
                    // Three blocks a pass while more than two are left (`_narrow16x3`).
                    _narrow16x3(xp, n, wp + 2 * j, k, acc);
                    _extract(acc + 0x60, accs, bits, cols, corr, out + cols * 32);
                    rest -= cols;
                    _extract(acc + 0xc0, accs, bits, rest < cols ? rest : cols, corr, out + 2 * cols * 32);
                    j += 2 * cols;
                } else {
                    _narrow16x2(xp, n, wp + 2 * j, k, acc);
                    _extract(acc + 0x60, accs, bits, rest < cols ? rest : cols, corr, out + cols * 32);
                    j += cols;
                }
            }
            _extract(acc, accs, bits, cols, corr, out);
        }
        if (j < units) {
            uint256 left = units - j;
            if (width == 1 && left <= 14) {
                // Up to 14 columns in two MULs a row, not four (`_narrow8n`).
                _narrow8n(xp, n, wp + j, stride, k, acc);
                _extractTail7(acc, left < 7 ? left : 7, corr, dst + j * 32);
                if (left > 7) _extractTail7(acc + 0x20, left - 7, corr, dst + (j + 7) * 32);
                return;
            }
            if (width == 1) _narrow8(xp, n, wp + j, stride, k, acc);
            else _narrow16(xp, n, wp + 2 * j, stride, k, acc);
            _extract(acc, accs, bits, left, corr, dst + j * 32);
        }
    }

    /// @dev Whether Σ|x'| < 2^24 (the INT8 lanes' bound) follows from the inputs alone, x =
    ///      inputs[from, from + n): with o the OR of every x XOR sign(x), |x| ≤ o + 1, so
    ///      |x'| ≤ q = ((o + 1 + 2^(e−1)) >> e) + 1 and Σ|x'| ≤ n·q. Tanh outputs (|x| ≤ 1) pass
    ///      for any n not a power of two. One OR an input where `_narrowRow` stores x' and sums.
    function _bounded8(int256[] calldata inputs, uint256 from, uint256 n, uint256 e) internal pure returns (bool ok) {
        assembly ("memory-safe") {
            let o := 0
            let p := add(inputs.offset, shl(5, from))
            let end := add(p, shl(5, n))
            // Four an iteration, then the rest.
            for { let end4 := add(p, shl(5, and(n, not(3)))) } lt(p, end4) { p := add(p, 0x80) } {
                let v := calldataload(p)
                let u := calldataload(add(p, 0x20))
                o := or(o, or(xor(v, sar(255, v)), xor(u, sar(255, u))))
                v := calldataload(add(p, 0x40))
                u := calldataload(add(p, 0x60))
                o := or(o, or(xor(v, sar(255, v)), xor(u, sar(255, u))))
            }
            for {} lt(p, end) { p := add(p, 0x20) } {
                let v := calldataload(p)
                o := or(o, xor(v, sar(255, v)))
            }
            let q := add(shr(e, add(add(o, 1), shl(sub(e, 1), 1))), 1)
            ok := and(lt(q, 0x1000000), lt(mul(q, n), 0x1000000))
        }
    }

    /// @dev `_wide8` on the inputs in calldata (x = inputs[from, from + n), `_bounded8`): the
    ///      pass narrows each x itself (`_narrow8x2c`) and sums Σx' in the tail's spare lane, so
    ///      no x' is stored (`_narrowRow`: ≈ 95k on 784 inputs with its memory).
    function _wide8c(
        int256[] calldata inputs,
        uint256 from,
        uint256 n,
        uint256 e,
        uint256 wp,
        uint256 units,
        uint256 dst,
        uint256 k
    ) internal pure {
        uint256 acc;
        uint256 cp;
        assembly ("memory-safe") {
            acc := mload(0x40)
            mstore(0x40, add(acc, 0x120))
            cp := add(inputs.offset, shl(5, from))
        }
        _narrow8x2c(cp, n, e, wp, units, k, acc);
        int256 corr;
        assembly ("memory-safe") {
            // Lane 7 of the ninth accumulator: Σx', plus one where the lanes below sum negative.
            let a := mload(add(acc, 0x100))
            let sx := add(sar(224, a), slt(signextend(27, a), 0))
            corr := mul(shl(7, sx), 0x0000000100000001000000010000000100000001000000010000000100000001)
        }
        if (units > 64) _extractTail7(acc + 0x100, units - 64, corr, dst + 64 * 32);
        _extract32(acc + 0x80, corr, dst + 32 * 32);
        _extract32(acc, corr, dst);
    }

    /// @dev `_narrow8x2t` reading x from calldata at cp (n values) and narrowing it, x' =
    ///      (x + 2^(e−1)) >> e, with lane 7 of the ninth accumulator (free: the tail has at most
    ///      7 columns) summing x'·1 = Σx'. Its loop ends by a count in bits 96..127 of the
    ///      pointer word (2^32 − n, one more a row: zero after n rows). e and 2^(e−1) are read
    ///      from memory words 0x40 and 0x60 (the free memory pointer kept at acc + 0x100
    ///      meanwhile, the zero word cleared after): on the stack they would not fit.
    function _narrow8x2c(uint256 cp, uint256 n, uint256 e, uint256 wp, uint256 stride, uint256 k, uint256 acc)
        internal
        pure
    {
        assembly {
            let m := mload(k)
            let h := mload(add(k, 0x20))
            mstore(add(acc, 0x100), mload(0x40))
            mstore(0, 0)
            mstore(0x20, or(or(shl(128, stride), shl(96, 1)), 0x20))
            mstore(0x40, e)
            mstore(0x60, shl(sub(e, 1), 1))
            let p := or(or(shl(128, wp), shl(96, sub(0x100000000, n))), cp)
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            let a4 := 0
            let a5 := 0
            let a6 := 0
            let a7 := 0
            for {} and(shr(96, p), 0xffffffff) {} {
                let x := sar(mload(0x40), add(calldataload(and(p, 0xffffff)), mload(0x60)))
                let wa := shr(128, p)
                let w := xor(mload(wa), h)
                a0 := add(a0, mul(x, and(w, m)))
                a1 := add(a1, mul(x, and(shr(8, w), m)))
                a2 := add(a2, mul(x, and(shr(16, w), m)))
                a3 := add(a3, mul(x, and(shr(24, w), m)))
                w := xor(mload(add(wa, 0x20)), h)
                a4 := add(a4, mul(x, and(w, m)))
                a5 := add(a5, mul(x, and(shr(8, w), m)))
                a6 := add(a6, mul(x, and(shr(16, w), m)))
                a7 := add(a7, mul(x, and(shr(24, w), m)))
                w := shr(200, xor(mload(add(wa, 0x40)), h))
                w := or(and(mul(w, 0x1000000000000010000000000000100000000000001), m), shl(224, 1))
                mstore(0, add(mload(0), mul(x, w)))
                p := add(p, mload(0x20))
            }
            mstore(0x40, mload(add(acc, 0x100)))
            mstore(0x60, 0)
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
            mstore(add(acc, 0x80), a4)
            mstore(add(acc, 0xa0), a5)
            mstore(add(acc, 0xc0), a6)
            mstore(add(acc, 0xe0), a7)
            mstore(add(acc, 0x100), mload(0))
        }
    }

    /// @dev `_lanes` for INT8 and 64 ≤ units ≤ 72 (fashion_mnist's 784→70): every column in one
    ///      pass over the n rows (`_narrow8x2t`: two kernel words and the 1..8 columns after
    ///      them a row) instead of two passes of 32 (+ tail) columns: a pass costs its loop, its
    ///      loads of x' and its stack shuffles again (≈ 200 gas a row). The pass ends at a
    ///      sentinel (2^128, above any x' the lanes take: |x'| < 2^24) written after the n x'
    ///      (the spare word of `_scratch`, or the next run's first x', restored after).
    function _wide8(uint256 xp, uint256 n, int256 sx, uint256 wp, uint256 units, uint256 dst, uint256 k) internal pure {
        uint256 j;
        uint256 stride = units;
        uint256 acc;
        int256 corr;
        assembly ("memory-safe") {
            acc := mload(0x40)
            mstore(0x40, add(acc, 0x120))
            corr := mul(shl(7, sx), 0x0000000100000001000000010000000100000001000000010000000100000001)
        }
        uint256 end = xp + n * 32;
        uint256 saved;
        assembly ("memory-safe") {
            saved := mload(end)
            mstore(end, shl(128, 1))
        }
        while (units - j >= 64) {
            uint256 left = units - j;
            uint256 out = dst + j * 32;
            if (left <= 71) {
                _narrow8x2t(xp, wp + j, stride, k, acc);
                if (left > 64) _extractTail7(acc + 0x100, left - 64, corr, out + 64 * 32);
                j = units;
            } else {
                _narrow8x2t(xp, wp + j, stride, k, acc);
                j += 64;
            }
            _extract32(acc + 0x80, corr, out + 32 * 32);
            _extract32(acc, corr, out);
        }
        assembly ("memory-safe") {
            mstore(end, saved)
        }
    }

    /// @dev `_extract` of a whole INT8 block (four accumulators of eight 32-bit lanes, lane l of
    ///      accumulator g holding column 31 − 4l − g), without its per-lane column test.
    function _extract32(uint256 acc, int256 corr, uint256 out) internal pure {
        assembly ("memory-safe") {
            for { let g := 0 } lt(g, 4) { g := add(g, 1) } {
                let a := sub(mload(add(acc, shl(5, g))), corr)
                let p := add(out, shl(5, sub(31, g)))
                for { let l := 0 } lt(l, 8) {
                    l := add(l, 1)
                    p := sub(p, 0x80)
                } {
                    let v := signextend(3, a)
                    a := sar(32, sub(a, v))
                    mstore(p, add(mload(p), v))
                }
            }
        }
    }

    /// @dev Adds the lane sums of the `accs` accumulators at memory `acc` (each minus `corr`,
    ///      lanes of `bits` bits) to the words at `out`: columns [0, count) of a block.
    function _extract(uint256 acc, uint256 accs, uint256 bits, uint256 count, int256 corr, uint256 out) internal pure {
        assembly ("memory-safe") {
            let lanes := div(256, bits)
            let se := sub(shr(3, bits), 1)
            for { let g := 0 } lt(g, accs) { g := add(g, 1) } {
                let a := sub(mload(add(acc, shl(5, g))), corr)
                // Lane l of accumulator g: column accs − 1 − g + accs·(lanes − 1 − l).
                let col := add(sub(sub(accs, 1), g), mul(accs, sub(lanes, 1)))
                for { let l := 0 } lt(l, lanes) { l := add(l, 1) } {
                    let v := signextend(se, a)
                    a := sar(bits, sub(a, v))
                    if lt(col, count) {
                        let p := add(out, shl(5, col))
                        mstore(p, add(mload(p), v))
                    }
                    col := sub(col, accs)
                }
            }
        }
    }

    /// @dev Stores x' = (x + 2^(e−1)) >> e (arithmetic: round half up, the reference's
    ///      `quant::narrow`; e ≥ 1) of x = inputs[from, from + n) at memory `xp`; returns
    ///      (Σ|x'|, Σx'). Two values an iteration: 24k less on 784 inputs than one (four
    ///      measured dearer: the optimizer keeps them apart no better).
    function _narrowRow(int256[] calldata inputs, uint256 from, uint256 n, uint256 e, uint256 xp)
        internal
        pure
        returns (uint256 sa, int256 sx)
    {
        assembly ("memory-safe") {
            let half := shl(sub(e, 1), 1)
            // x_i's calldata offset is x'_i's memory address plus d.
            let d := sub(add(inputs.offset, shl(5, from)), xp)
            for { let end := add(xp, shl(5, and(n, not(1)))) } lt(xp, end) { xp := add(xp, 0x40) } {
                let v := sar(e, add(calldataload(add(xp, d)), half))
                mstore(xp, v)
                sx := add(sx, v)
                // |v| without a branch: (v xor s) − s, s = 0 or −1 (v's sign).
                let sgn := sar(255, v)
                sa := add(sa, sub(xor(v, sgn), sgn))
                v := sar(e, add(calldataload(add(add(xp, d), 0x20)), half))
                mstore(add(xp, 0x20), v)
                sx := add(sx, v)
                sgn := sar(255, v)
                sa := add(sa, sub(xor(v, sgn), sgn))
            }
            if and(n, 1) {
                let v := sar(e, add(calldataload(add(xp, d)), half))
                mstore(xp, v)
                sx := add(sx, v)
                let sgn := sar(255, v)
                sa := add(sa, sub(xor(v, sgn), sgn))
            }
        }
    }

    /// @dev INT8 rows of `_lanes`, a block of 32 columns: accumulator g sums x' · (the bytes
    ///      4l + g from the bottom of the kernel word, l < 8, in 32-bit lanes), so lane l holds
    ///      column 31 − 4l − g. The lane mask `m` and the XOR word `h` come from memory
    ///      (`_constants`): as constants, or variables the optimizer can recompute from
    ///      constants, every use reads them with CODECOPY. One row an iteration, the
    ///      accumulators returned: unrolled, or storing them itself, it ran out of stack.
    function _narrow8(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 k, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let m := mload(k)
            let h := mload(add(k, 0x20))
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            for {} n {
                n := sub(n, 1)
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := mload(xp)
                let w := xor(mload(wp), h)
                a0 := add(a0, mul(x, and(w, m)))
                a1 := add(a1, mul(x, and(shr(8, w), m)))
                a2 := add(a2, mul(x, and(shr(16, w), m)))
                a3 := add(a3, mul(x, and(shr(24, w), m)))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
        }
    }

    /// @dev INT8 rows of `_lanes` for a last block of at most 14 columns (fashion_mnist's
    ///      70→10): the first 7 bytes of the kernel word (accumulator 0) and the next 7
    ///      (accumulator 1), each spread to 32-bit lanes by one MUL as `_narrow8x2t`'s tail
    ///      (`_extractTail7` reads them): two MULs a row where `_narrow8` takes four.
    function _narrow8n(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 k, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let m := mload(k)
            let h := mload(add(k, 0x20))
            let a0 := 0
            let a1 := 0
            for {} n {
                n := sub(n, 1)
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := mload(xp)
                let w := xor(mload(wp), h)
                a0 := add(a0, mul(x, and(mul(shr(200, w), 0x1000000000000010000000000000100000000000001), m)))
                w := and(shr(144, w), 0xffffffffffffff)
                a1 := add(a1, mul(x, and(mul(w, 0x1000000000000010000000000000100000000000001), m)))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
        }
    }

    /// @dev `_narrow8` plus the next 1..8 columns (the first 8 bytes of the kernel word 32 bytes
    ///      on, v) in a fifth accumulator: byte 4i + g from the bottom of v (i < 2, g < 4) moved to
    ///      the 32-bit lane 2g + i, so one MUL sums them all, the same lanes and bound as the
    ///      block's (`_extractTail` reads them). A third INT8 pass over every row for the 6
    ///      columns of 70 (32 + 32 + 6) cost ≈ 210 gas a row; the tail here ≈ 85.
    function _narrow8t(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 k, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let m := mload(k)
            let h := mload(add(k, 0x20))
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            let a4 := 0
            for {} n {
                n := sub(n, 1)
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := mload(xp)
                let w := xor(mload(wp), h)
                a0 := add(a0, mul(x, and(w, m)))
                a1 := add(a1, mul(x, and(shr(8, w), m)))
                a2 := add(a2, mul(x, and(shr(16, w), m)))
                a3 := add(a3, mul(x, and(shr(24, w), m)))
                // Four copies of v, 56 bits apart, OR-ed (no carries): byte b of copy c lies at
                // bit 8b + 56c, on a lane's bottom byte (32l) only for b = c, c + 4; the mask
                // keeps those.
                w := shr(192, xor(mload(add(wp, 0x20)), h))
                w := or(w, shl(56, w))
                a4 := add(a4, mul(x, and(or(w, shl(112, w)), m)))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
            mstore(add(acc, 0x80), a4)
        }
    }

    /// @dev `_wide8`'s pass: columns 0..31 (kernel word at wp, accumulators 0..3) and 32..63 (word
    ///      at wp + 32, 4..7) as `_narrow8` on each word, and the next 1..8 (the first 8 bytes of
    ///      the word at wp + 64) as `_narrow8t`'s fifth accumulator, kept in scratch word 0x00;
    ///      accumulators stored at `acc` (nine words). One row an iteration from the x' at xp
    ///      until the sentinel (x' > 2^48). Thirteen variables fit the stack only so: the x' and
    ///      kernel pointers share one word (kernel << 128 | x'; addresses are far below 2^24),
    ///      advanced by one add of scratch word 0x20 (stride << 128 | 32). Not marked
    ///      memory-safe (it only uses scratch space, which would be): with every block
    ///      memory-safe, via-IR moved variables of this contract to memory (the StackLimitEvader)
    ///      and spilled this loop's accumulators (≈ 130k more) and, before, the Q32.32 loops'.
    function _narrow8x2t(uint256 xp, uint256 wp, uint256 stride, uint256 k, uint256 acc) internal pure {
        assembly {
            let m := mload(k)
            let h := mload(add(k, 0x20))
            mstore(0, 0)
            mstore(0x20, or(shl(128, stride), 0x20))
            let p := or(shl(128, wp), xp)
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            let a4 := 0
            let a5 := 0
            let a6 := 0
            let a7 := 0
            for {} 1 {} {
                let x := mload(and(p, 0xffffff))
                if sgt(x, 0xffffffffffff) { break }
                let wa := shr(128, p)
                let w := xor(mload(wa), h)
                a0 := add(a0, mul(x, and(w, m)))
                a1 := add(a1, mul(x, and(shr(8, w), m)))
                a2 := add(a2, mul(x, and(shr(16, w), m)))
                a3 := add(a3, mul(x, and(shr(24, w), m)))
                w := xor(mload(add(wa, 0x20)), h)
                a4 := add(a4, mul(x, and(w, m)))
                a5 := add(a5, mul(x, and(shr(8, w), m)))
                a6 := add(a6, mul(x, and(shr(16, w), m)))
                a7 := add(a7, mul(x, and(shr(24, w), m)))
                // Seven copies' worth: the top 7 bytes, 56 bits apart (no overlap, so the MUL is
                // their OR): byte b from the bottom of copy c lies on a lane's bottom byte for
                // b ≡ c (mod 4), lane 2b − 7·[b ≥ 4] (`_extractTail7`).
                w := shr(200, xor(mload(add(wa, 0x40)), h))
                mstore(0, add(mload(0), mul(x, and(mul(w, 0x1000000000000010000000000000100000000000001), m))))
                p := add(p, mload(0x20))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
            mstore(add(acc, 0x80), a4)
            mstore(add(acc, 0xa0), a5)
            mstore(add(acc, 0xc0), a6)
            mstore(add(acc, 0xe0), a7)
            mstore(add(acc, 0x100), mload(0))
        }
    }

    /// @dev Adds the lane sums of `_narrow8x2t`'s ninth accumulator (at memory `acc`, minus `corr`)
    ///      to the words at `out`: columns [0, count) of its 1..7 tail columns, lane l holding
    ///      column 6 − b, b = (0, 4, 1, 5, 2, 6, 3)[l].
    function _extractTail7(uint256 acc, uint256 count, int256 corr, uint256 out) internal pure {
        assembly ("memory-safe") {
            let a := sub(mload(acc), corr)
            // Column of lane l in nibble l (from the bottom).
            let cols := 0x3041526
            for { let l := 0 } lt(l, 7) { l := add(l, 1) } {
                let v := signextend(3, a)
                a := sar(32, sub(a, v))
                let col := and(shr(shl(2, l), cols), 0xf)
                if lt(col, count) {
                    let p := add(out, shl(5, col))
                    mstore(p, add(mload(p), v))
                }
            }
        }
    }

    /// @dev Adds the lane sums of `_narrow8t`'s fifth accumulator (at memory `acc`, minus `corr`)
    ///      to the words at `out`: columns [0, count) of the tail, lane 2g + i holding column
    ///      7 − 4i − g.
    function _extractTail(uint256 acc, uint256 count, int256 corr, uint256 out) internal pure {
        assembly ("memory-safe") {
            let a := sub(mload(acc), corr)
            for { let l := 0 } lt(l, 8) { l := add(l, 1) } {
                let v := signextend(3, a)
                a := sar(32, sub(a, v))
                let col := sub(7, add(shr(1, l), shl(2, and(l, 1))))
                if lt(col, count) {
                    let p := add(out, shl(5, col))
                    mstore(p, add(mload(p), v))
                }
            }
        }
    }

    /// @dev INT16 rows of `_lanes`, a block of 15 columns (the first 30 bytes of the kernel
    ///      word, moved down by 16 bits): accumulator g sums x' · (the 16-bit values 3l + g from
    ///      the bottom, l < 5, in 48-bit lanes), so lane l holds column 14 − 3l − g. As `_narrow8`.
    function _narrow16(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 k, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let m := mload(k)
            let h := mload(add(k, 0x20))
            let a0 := 0
            let a1 := 0
            let a2 := 0
            for {} n {
                n := sub(n, 1)
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := mload(xp)
                let w := shr(16, xor(mload(wp), h))
                a0 := add(a0, mul(x, and(w, m)))
                a1 := add(a1, mul(x, and(shr(16, w), m)))
                a2 := add(a2, mul(x, and(shr(32, w), m)))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
        }
    }

    /// @dev INT16 rows of `_lanes`, three blocks of 15 columns (kernel words at wp, wp + 30,
    ///      wp + 60; accumulators 0..2, 3..5, 6..8, the last kept in scratch word 0x00): two
    ///      passes over the rows for 70 columns instead of three. The x' and kernel pointers
    ///      share one word and a sentinel (as `_wide8`'s) ends the rows, as in `_narrow8x2t`
    ///      (the stride from k + 64, set by `_lanes`); the word the sentinel takes is kept in
    ///      the ninth accumulator's place meanwhile.
    function _narrow16x3(uint256 xp, uint256 n, uint256 wp, uint256 k, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let end := add(xp, shl(5, n))
            mstore(add(acc, 0x100), mload(end))
            mstore(end, shl(128, 1))
            let m := mload(k)
            let h := mload(add(k, 0x20))
            mstore(0, 0)
            mstore(0x20, or(shl(128, mload(add(k, 0x40))), 0x20))
            let p := or(shl(128, wp), xp)
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            let a4 := 0
            let a5 := 0
            let a6 := 0
            let a7 := 0
            for {} 1 {} {
                let x := mload(and(p, 0xffffff))
                if sgt(x, 0xffffffffffff) { break }
                let wa := shr(128, p)
                let w := shr(16, xor(mload(wa), h))
                a0 := add(a0, mul(x, and(w, m)))
                a1 := add(a1, mul(x, and(shr(16, w), m)))
                a2 := add(a2, mul(x, and(shr(32, w), m)))
                w := shr(16, xor(mload(add(wa, 30)), h))
                a3 := add(a3, mul(x, and(w, m)))
                a4 := add(a4, mul(x, and(shr(16, w), m)))
                a5 := add(a5, mul(x, and(shr(32, w), m)))
                w := shr(16, xor(mload(add(wa, 60)), h))
                a6 := add(a6, mul(x, and(w, m)))
                a7 := add(a7, mul(x, and(shr(16, w), m)))
                mstore(0, add(mload(0), mul(x, and(shr(32, w), m))))
                p := add(p, mload(0x20))
            }
            mstore(and(p, 0xffffff), mload(add(acc, 0x100)))
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
            mstore(add(acc, 0x80), a4)
            mstore(add(acc, 0xa0), a5)
            mstore(add(acc, 0xc0), a6)
            mstore(add(acc, 0xe0), a7)
            mstore(add(acc, 0x100), mload(0))
        }
    }

    /// @dev INT16 rows of `_lanes`, two blocks of 15 columns: `_narrow16` on the kernel word at
    ///      `wp` (accumulators 0..2) and on the one 30 bytes on (3..5), one row an iteration. The
    ///      XOR word and the row stride are read from memory (k + 32, k + 64) at each use: on the
    ///      stack they took two of its sixteen places and the loop reordered it every row.
    function _narrow16x2(uint256 xp, uint256 n, uint256 wp, uint256 k, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let m := mload(k)
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            let a4 := 0
            let a5 := 0
            for {} n {
                n := sub(n, 1)
                xp := add(xp, 0x20)
                wp := add(wp, mload(add(k, 0x40)))
            } {
                let x := mload(xp)
                let w := shr(16, xor(mload(wp), mload(add(k, 0x20))))
                a0 := add(a0, mul(x, and(w, m)))
                a1 := add(a1, mul(x, and(shr(16, w), m)))
                a2 := add(a2, mul(x, and(shr(32, w), m)))
                w := shr(16, xor(mload(add(wp, 30)), mload(add(k, 0x20))))
                a3 := add(a3, mul(x, and(w, m)))
                a4 := add(a4, mul(x, and(shr(16, w), m)))
                a5 := add(a5, mul(x, and(shr(32, w), m)))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
            mstore(add(acc, 0x80), a4)
            mstore(add(acc, 0xa0), a5)
        }
    }

    /// @dev (Σ_i |x[from + i]|, Σ_i x[from + i]) for i < n.
    function _sums(int256[] calldata inputs, uint256 from, uint256 n) internal pure returns (uint256 sa, int256 sx) {
        assembly ("memory-safe") {
            let a := 0
            let t := 0
            let p := add(inputs.offset, shl(5, from))
            for { let end := add(p, shl(5, n)) } lt(p, end) { p := add(p, 0x20) } {
                let v := calldataload(p)
                t := add(t, v)
                // |v| without a branch: (v xor s) − s, s = 0 or −1 (v's sign).
                let sgn := sar(255, v)
                a := add(a, sub(xor(v, sgn), sgn))
            }
            sa := a
            sx := t
        }
    }

    /// @dev Σ_i x[from + i] · q[i · units + j + k] − corr for k < count (count ≤ 32 / width),
    ///      written (unscaled) to the words at memory `dst`: one 32-byte kernel word per input row
    ///      (kernel.ptr + (i · units + j)·width; values past `units` read the next row or the
    ///      buffer's spare word and are never written). XOR with 2^(8w−1) in every value makes it
    ///      u = q + 2^(8w−1) ∈ [0, 2^(8w)); a right shift and one AND put the u of several columns
    ///      at the bottom of wide lanes, and one MUL by x adds x·u to each lane (two's complement,
    ///      mod 2^256): Q32.32 two 128-bit lanes (2 MULs a word, columns g and g + 2 in
    ///      accumulator 1 − g), int32 two 128-bit lanes (4 MULs a word, columns g and g + 4 in
    ///      accumulator 3 − g), int16 four 64-bit lanes (4 MULs a word, columns g, g + 4, g + 8,
    ///      g + 12 in accumulator 3 − g), int8 four 64-bit lanes (8 MULs a word, columns g, g + 8,
    ///      g + 16, g + 24 in accumulator 7 − g). Exact while every |Σ x·u| is below half a lane,
    ///      which Σ|x| < `Lanes.limit(width)` guarantees (the caller checks it); `corr` is
    ///      2^(8w−1)·Σx, so Σ x·u − corr = Σ x·q.
    function _lanesBlock(
        int256[] calldata inputs,
        uint256 from,
        uint256 n,
        Raw memory kernel,
        uint256 j,
        uint256 units,
        int256 corr,
        uint256 dst,
        uint256 count
    ) internal pure {
        uint256 width = kernel.width;
        uint256 wp = kernel.ptr + j * width;
        uint256 stride = units * width;
        uint256 xp;
        assembly ("memory-safe") {
            xp := add(inputs.offset, shl(5, from))
        }
        // The accumulators, stored by the loop: accumulator k at acc + 32k.
        uint256 acc;
        assembly ("memory-safe") {
            acc := mload(0x40)
            mstore(0x40, add(acc, 0x100))
        }
        if (width == 1) {
            _loop8(xp, n, wp, stride, acc);
            for (uint256 k; k < 8; ++k) {
                Lanes.put(_word(acc, k), 7 - k, 8, 64, count, dst, corr);
            }
        } else if (width == 8) {
            _loop64(xp, n, wp, stride, acc);
            for (uint256 k; k < 2; ++k) {
                Lanes.put(_word(acc, k), 1 - k, 2, 128, count, dst, corr);
            }
        } else {
            if (width == 2) _loop16(xp, n, wp, stride, acc);
            else _loop32(xp, n, wp, stride, acc);
            uint256 bits = width == 2 ? 64 : 128;
            for (uint256 k; k < 4; ++k) {
                Lanes.put(_word(acc, k), 3 - k, 4, bits, count, dst, corr);
            }
        }
    }

    /// @dev The int256 word at memory p + 32k.
    function _word(uint256 p, uint256 k) internal pure returns (int256 v) {
        assembly ("memory-safe") {
            v := mload(add(p, shl(5, k)))
        }
    }

    /// @dev Q32.32 rows of `_lanesBlock`: accumulator k sums x · (64-bit values at bits 0 and 128 of
    ///      the word shifted right by 64k): columns 3 − k and 1 − k.
    function _loop64(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let a0 := 0
            let a1 := 0
            for { let end := add(xp, shl(5, n)) } lt(xp, end) {
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := calldataload(xp)
                let w := xor(mload(wp), 0x8000000000000000800000000000000080000000000000008000000000000000)
                a0 := add(a0, mul(x, and(w, 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)))
                a1 := add(a1, mul(x, and(shr(64, w), 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
        }
    }

    /// @dev int8 rows of `_lanesBlock`: accumulator k sums x · (byte lanes shifted right by 8k).
    ///      The mask is a variable (times 1 = stride ≠ 0, which the optimizer cannot fold): as
    ///      a constant used eight times, the optimizer reads it with CODECOPY at every use.
    function _loop8(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            let a4 := 0
            let a5 := 0
            let a6 := 0
            let a7 := 0
            let m := mul(0x00000000000000ff00000000000000ff00000000000000ff00000000000000ff, iszero(iszero(stride)))
            for {} n {
                n := sub(n, 1)
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := calldataload(xp)
                let w := xor(mload(wp), 0x8080808080808080808080808080808080808080808080808080808080808080)
                a0 := add(a0, mul(x, and(w, m)))
                a1 := add(a1, mul(x, and(shr(8, w), m)))
                a2 := add(a2, mul(x, and(shr(16, w), m)))
                a3 := add(a3, mul(x, and(shr(24, w), m)))
                a4 := add(a4, mul(x, and(shr(32, w), m)))
                a5 := add(a5, mul(x, and(shr(40, w), m)))
                a6 := add(a6, mul(x, and(shr(48, w), m)))
                a7 := add(a7, mul(x, and(shr(56, w), m)))
            }
            mstore(add(acc, 0x0), a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
            mstore(add(acc, 0x80), a4)
            mstore(add(acc, 0xa0), a5)
            mstore(add(acc, 0xc0), a6)
            mstore(add(acc, 0xe0), a7)
        }
    }

    /// @dev int16 rows of `_lanesBlock`: accumulator k sums x · (16-bit lanes shifted right by 16k).
    function _loop16(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            for { let end := add(xp, shl(5, n)) } lt(xp, end) {
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := calldataload(xp)
                let w := xor(mload(wp), 0x8000800080008000800080008000800080008000800080008000800080008000)
                a0 := add(a0, mul(x, and(w, 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                a1 := add(a1, mul(x, and(shr(16, w), 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                a2 := add(a2, mul(x, and(shr(32, w), 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                a3 := add(a3, mul(x, and(shr(48, w), 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
            }
            mstore(add(acc, 0x0), a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
        }
    }

    /// @dev int32 rows of `_lanesBlock`: accumulator k sums x · (32-bit lanes shifted right by 32k).
    function _loop32(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 acc) internal pure {
        assembly ("memory-safe") {
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            for { let end := add(xp, shl(5, n)) } lt(xp, end) {
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := calldataload(xp)
                let w := xor(mload(wp), 0x8000000080000000800000008000000080000000800000008000000080000000)
                a0 := add(a0, mul(x, and(w, 0xffffffff000000000000000000000000ffffffff)))
                a1 := add(a1, mul(x, and(shr(32, w), 0xffffffff000000000000000000000000ffffffff)))
                a2 := add(a2, mul(x, and(shr(64, w), 0xffffffff000000000000000000000000ffffffff)))
                a3 := add(a3, mul(x, and(shr(96, w), 0xffffffff000000000000000000000000ffffffff)))
            }
            mstore(add(acc, 0x0), a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
        }
    }

    /// @dev Σ_i x[from + i] · q[i · units + j] for i < n: column j of the stored kernel
    ///      [n, units]. Memory: value k of the kernel is the big-endian `width`-byte integer at
    ///      kernel.ptr + k · width; x is read straight from calldata.
    function _dot(int256[] calldata inputs, uint256 from, uint256 n, Raw memory kernel, uint256 j, uint256 units)
        internal
        pure
        returns (int256 acc)
    {
        uint256 width = kernel.width;
        uint256 wp = kernel.ptr + j * width;
        uint256 stride = units * width;
        assembly ("memory-safe") {
            let se := sub(width, 1)
            let sh := sub(256, shl(3, width))
            let xp := add(inputs.offset, shl(5, from))
            let end := add(xp, shl(5, n))
            let end4 := add(xp, shl(5, and(n, not(3))))
            let s2 := add(stride, stride)
            let s3 := add(s2, stride)
            let s4 := add(s3, stride)
            // Four products per iteration, then the remainder.
            for {} lt(xp, end4) {} {
                acc := add(acc, mul(calldataload(xp), signextend(se, shr(sh, mload(wp)))))
                acc := add(acc, mul(calldataload(add(xp, 0x20)), signextend(se, shr(sh, mload(add(wp, stride))))))
                acc := add(acc, mul(calldataload(add(xp, 0x40)), signextend(se, shr(sh, mload(add(wp, s2))))))
                acc := add(acc, mul(calldataload(add(xp, 0x60)), signextend(se, shr(sh, mload(add(wp, s3))))))
                xp := add(xp, 0x80)
                wp := add(wp, s4)
            }
            for {} lt(xp, end) {} {
                acc := add(acc, mul(calldataload(xp), signextend(se, shr(sh, mload(wp)))))
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            }
        }
    }

    /// @dev out[at + k] (Σ x·q of column k, k < units) becomes (scaled Σ + bias << 32) >> 32
    ///      (`WeightCodec.scaled`: Σ << up, or Σ · scale_k; Σ · scale_k << e for sums of
    ///      inputs narrowed by e, `_narrowSums`).
    function _finish(
        int256[] memory out,
        uint256 at,
        uint256 units,
        Raw memory kernel,
        int256[] memory bias,
        uint256 e
    ) internal pure {
        uint256 up = kernel.up;
        uint256 scales = kernel.scales;
        uint256 bp = bias.length == 0 ? 0 : _ptr(bias);
        assembly ("memory-safe") {
            let p := add(add(out, 0x20), shl(5, at))
            let end := add(p, shl(5, units))
            // One loop per case (the per-value branches cost ≈ 100 gas a unit): scales and
            // bias (INT16/INT8), else the general one.
            switch and(iszero(iszero(scales)), iszero(iszero(bp)))
            case 1 {
                let d := sub(scales, p)
                let db := sub(bp, p)
                for {} lt(p, end) { p := add(p, 0x20) } {
                    let acc := add(shl(e, mul(mload(p), mload(add(p, d)))), shl(32, mload(add(p, db))))
                    mstore(p, sar(32, acc))
                }
            }
            default {
                for { let k := 0 } lt(k, units) { k := add(k, 1) } {
                    let acc := mload(p)
                    switch scales
                    case 0 { acc := shl(up, acc) }
                    default { acc := shl(e, mul(acc, mload(add(scales, shl(5, k))))) }
                    if bp { acc := add(acc, shl(32, mload(add(bp, shl(5, k))))) }
                    mstore(p, sar(32, acc))
                    p := add(p, 0x20)
                }
            }
        }
    }

    // ------------------------------------------------------------------ input-row parts

    /// @dev Input rows [rf, rf + rc) and units [from, from + count) of a Dense on a vector, as
    ///      `forwardSlice` with the rows in the high 128 bits of `from` and `count` (a Dense too
    ///      wide for one call even one unit at a time: every unit reads every kernel row). The
    ///      inputs are x[rf, rf + rc), then, unless rf = 0, the `count` partial sums carried from
    ///      the parts before: Σ_{i < rf} x_i·q_ij, exact integers of the stored kernel values q
    ///      (before the format's shift or scale). A part before the last returns the carried
    ///      sums plus its own, as a part that completes no unit (shape [0]) and carries them on;
    ///      the last (rf + rc = inputUnits) returns the units' values, scaled,
    ///      biased and activated as `forward` does: Σ x·q is the same integer however it is
    ///      summed, so the result is bit for bit the unsplit layer's.
    function _forwardRows(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view returns (int256[] memory out, uint256[] memory shape) {
        shape = _single(shapes, ranks);
        Config memory c = _decode(cfg);
        _check(c);
        if (shape.length != 1 || shape[0] != c.inputUnits) revert InputShapeMismatch(0);
        if (list.length != (c.useBias ? 2 : 1) || list[0].length != c.inputUnits * c.units) {
            revert InvalidConfig(LayerKind.DENSE);
        }
        (uint256 rf, uint256 rc) = _rowPart(c, from, count);
        if (inputs.length != rc + (rf == 0 ? 0 : uint128(count))) revert InputShapeMismatch(0);
        Raw memory kernel = _rawBlock(m, list[0], c.units, from, count);
        // The whole layer's shift: every part rounds each value as the unsplit layer does, and
        // the sums carried are all Σ x'·q.
        uint256 e = _inputShift(kernel, c.inputUnits);
        out = _partSums(inputs, rc, kernel, uint128(count), e);
        // A part before the last completes no unit (shape [0]): its answer is only the sums
        // carried on.
        shape[0] = rf + rc < c.inputUnits ? 0 : uint128(count);
        if (shape[0] == 0) return (out, shape);
        _finishRows(out, kernel, m, list, c, uint128(from), e);
    }

    /// @dev The last row part's units [from, from + out.length): `out` holds their whole sums
    ///      (of inputs narrowed by e); scaled, biased and activated in place as `forward` does.
    function _finishRows(
        int256[] memory out,
        Raw memory kernel,
        address m,
        WeightTensor[] memory list,
        Config memory c,
        uint256 from,
        uint256 e
    ) internal view {
        uint256 count = out.length;
        int256[] memory bias = c.useBias ? _valuesFrom(_raw(m, list[1]), from, count) : new int256[](0);
        _finish(out, 0, count, kernel, bias, e);
        Fixed.activate(_ptr(out), count, c.activation, count);
    }

    /// @dev The rows [rf, rf + rc) of a row part (`from`, `count` as `_forwardRows` takes them),
    ///      checked with its units: a non-empty part of both axes; all units under softmax.
    function _rowPart(Config memory c, uint256 from, uint256 count) internal pure returns (uint256 rf, uint256 rc) {
        (rf, rc) = (from >> 128, count >> 128);
        (from, count) = (uint128(from), uint128(count));
        _checkSlice(from, count, c.units);
        _checkSlice(rf, rc, c.inputUnits);
        if ((c.activation == Activation.SOFTMAX || c.activation == Activation.LOG_SOFTMAX) && count != c.units) {
            revert OutputSliceOutOfRange(from, count, c.units);
        }
    }

    /// @dev Σ_{i < n} x_i · q[i · units + j] for every column j < units of `kernel` ([n, units]),
    ///      unscaled, plus inputs[n + j] when the inputs go on (the carried sums); x is
    ///      inputs[0, n), narrowed by e (x') when e > 0. The kernel paths of `_dense`, under the
    ///      same conditions (each exact).
    function _partSums(int256[] calldata inputs, uint256 n, Raw memory kernel, uint256 units, uint256 e)
        internal
        pure
        returns (int256[] memory out)
    {
        out = new int256[](units);
        if (e != 0) {
            _narrowSums(inputs, 0, n, e, 0, kernel, units, _ptr(out));
            return _carry(out, inputs, n);
        }
        uint256 limit = n < 2 ** 30 ? Lanes.limit(kernel.width) : 0;
        uint256 sa;
        int256 sx;
        if (limit != 0) (sa, sx) = _sums(inputs, 0, n);
        if (sa < limit) {
            int256 corr = sx << (8 * kernel.width - 1);
            uint256 cols = 32 / kernel.width;
            uint256 dst = _ptr(out);
            for (uint256 j; j < units; j += cols) {
                _lanesBlock(inputs, 0, n, kernel, j, units, corr, dst + j * 32, units - j < cols ? units - j : cols);
            }
        } else {
            for (uint256 j; j < units; ++j) {
                out[j] = _dot(inputs, 0, n, kernel, j, units);
            }
        }
        _carry(out, inputs, n);
    }

    /// @dev out[j] += inputs[n + j] for every j when the inputs go on past x (the sums carried
    ///      from the row parts before); returns `out`.
    function _carry(int256[] memory out, int256[] calldata inputs, uint256 n) internal pure returns (int256[] memory) {
        if (inputs.length > n) {
            for (uint256 j; j < out.length; ++j) {
                out[j] += inputs[n + j];
            }
        }
        return out;
    }

    /// @dev Rows [rf, rf + rc), columns [from, from + count) of the kernel (`t`, [rows, cols]) as a
    ///      [rc, count] Raw: one EXTCODECOPY for whole rows, else one per row (`_rawColumns`).
    ///      `from` and `count` as `_forwardRows` takes them (rows in the high 128 bits).
    function _rawBlock(address m, WeightTensor memory t, uint256 cols, uint256 from, uint256 count)
        internal
        view
        returns (Raw memory w)
    {
        uint256 rf = from >> 128;
        uint256 rc = count >> 128;
        (from, count) = (uint128(from), uint128(count));
        WeightLayout memory layout = IEternalModel(m).weightLayout();
        WeightCodec.Place memory p = WeightCodec.place(m, layout, t);
        _requireConfig(p.channels == 0 || p.channels == cols);
        w.width = p.width;
        w.up = p.up;
        w.length = rc * count;
        uint256 rowBytes = count * w.width;
        bytes memory buf = new bytes(rc * rowBytes + 32);
        uint256 dst;
        assembly ("memory-safe") {
            dst := add(buf, 0x20)
        }
        w.ptr = dst;
        if (count == cols) {
            WeightCodec.copy(m, layout.chunkBytes, p.start + rf * cols * w.width, rc * rowBytes, dst);
        } else {
            WeightCodec.ChunkCache memory cache = WeightCodec.ChunkCache(type(uint256).max, address(0));
            for (uint256 r; r < rc; ++r) {
                WeightCodec.copyCached(
                    m, layout.chunkBytes, p.start + ((rf + r) * cols + from) * w.width, rowBytes, dst + r * rowBytes, cache
                );
            }
        }
        if (p.channels != 0) {
            int256[] memory scales = new int256[](count);
            w.scales = _ptr(scales);
            w.channels = count;
            WeightCodec.loadScales(m, layout.chunkBytes, p, from, count, w.scales);
        }
    }
}
