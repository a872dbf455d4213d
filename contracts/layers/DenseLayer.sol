// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {IEternalModel} from "../interfaces/IEternalModel.sol";
import {Fixed} from "../lib/Fixed.sol";
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
        Raw memory kernel = _raw(m, list[0]);
        int256[] memory bias = c.useBias ? _values(_raw(m, list[1])) : new int256[](0);
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
        int256[] memory bias = new int256[](0);
        if (c.useBias) {
            Raw memory b = _raw(m, list[1]);
            bias = new int256[](count);
            for (uint256 j; j < count; ++j) {
                bias[j] = _at(b, from + j);
            }
        }
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
    function _dense(int256[] calldata inputs, Job memory job) internal pure returns (int256[] memory out) {
        Config memory c = job.c;
        Raw memory kernel = job.kernel;
        int256[] memory bias = job.bias;
        uint256 rows = inputs.length / c.inputUnits;
        out = new int256[](rows * c.units);
        // Two columns per multiplication (see `_dot8`) needs every |x| < 2^64.
        bool paired = kernel.width == 4 && c.inputUnits < 2 ** 30 && _maxAbs(inputs) < 2 ** 64;
        // INT16/INT8: four columns per multiplication (see `_narrowRow`) when Σ|x| is small enough.
        bool narrow = (kernel.width == 2 || kernel.width == 1) && c.inputUnits < 2 ** 30;
        for (uint256 r; r < rows; ++r) {
            uint256 j;
            if (paired) {
                int256 sx = _sum(inputs, r * c.inputUnits, c.inputUnits);
                for (; j < c.units; j += 8) {
                    uint256 count = c.units - j < 8 ? c.units - j : 8;
                    _dot8(inputs, r * c.inputUnits, c.inputUnits, kernel, j, c.units, sx, count, _ptr(out) + (r * c.units + j) * 32);
                }
                _finish(out, r * c.units, c.units, kernel, bias);
            } else if (narrow && _sumAbs(inputs, r * c.inputUnits, c.inputUnits) < 2 ** (63 - 8 * kernel.width)) {
                _narrowRow(inputs, r * c.inputUnits, c.inputUnits, kernel, c.units, _ptr(out) + r * c.units * 32);
                _finish(out, r * c.units, c.units, kernel, bias);
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

    /// @dev out[at + k] (Σ x·q of column k, k < units) becomes (scaled Σ + bias << 32) >> 32.
    function _finish(int256[] memory out, uint256 at, uint256 units, Raw memory kernel, int256[] memory bias)
        internal
        pure
    {
        for (uint256 k; k < units; ++k) {
            int256 b = bias.length == 0 ? int256(0) : bias[k] << 32;
            int256 acc = _scaled(kernel, k, out[at + k]);
            int256 y;
            assembly ("memory-safe") {
                y := sar(32, add(acc, b))
            }
            out[at + k] = y;
        }
    }

    /// @dev Σ_i |x[from + i]| for i < n.
    function _sumAbs(int256[] calldata inputs, uint256 from, uint256 n) internal pure returns (uint256 s) {
        assembly ("memory-safe") {
            let p := add(inputs.offset, shl(5, from))
            for { let end := add(p, shl(5, n)) } lt(p, end) { p := add(p, 0x20) } {
                let v := calldataload(p)
                if slt(v, 0) { v := sub(0, v) }
                s := add(s, v)
            }
        }
    }

    /// @dev INT16/INT8 (width w = 2 or 1): for one row x of n inputs from `from`, Σ_i x_i ·
    ///      q[i · units + col] for every column col < units, written unscaled to the words at
    ///      dst0 + 32·col. Per block of 32 / w columns j.. (one kernel word per row) and per p0 in
    ///      0, 4, .. < per = 8 / w (values per 64-bit lane), `_lanes` sums 16 columns l·per + p
    ///      (lane l < 4, p in [p0, p0 + 4)) with four multiplications per input; columns past
    ///      `units` read the next row or the buffer's spare word and are never written.
    ///      Exact while every |Σ x·u| < 2^63, which Σ|x| < 2^(63 − 8w) guarantees (the caller
    ///      checks it); then Σ x·q = Σ x·u − 2^(8w−1)·Σx.
    function _narrowRow(
        int256[] calldata inputs,
        uint256 from,
        uint256 n,
        Raw memory kernel,
        uint256 units,
        uint256 dst0
    ) internal pure {
        int256 c = _sum(inputs, from, n) << (8 * kernel.width - 1);
        uint256 cols = 32 / kernel.width;
        uint256 per = 8 / kernel.width;
        uint256 xp;
        assembly ("memory-safe") {
            xp := add(inputs.offset, shl(5, from))
        }
        for (uint256 j; j < units; j += cols) {
            uint256 count = units - j < cols ? units - j : cols;
            uint256 dst = dst0 + j * 32;
            for (uint256 p0; p0 < per; p0 += 4) {
                (int256 a0, int256 a1, int256 a2, int256 a3) =
                    _lanes(xp, n, kernel.ptr + j * kernel.width, units * kernel.width, kernel.width, p0);
                _putLanes(a0, p0, per, count, dst, c);
                _putLanes(a1, p0 + 1, per, count, dst, c);
                _putLanes(a2, p0 + 2, per, count, dst, c);
                _putLanes(a3, p0 + 3, per, count, dst, c);
            }
        }
    }

    /// @dev The four accumulators of `_narrowRow`: for each of n inputs (calldata words from
    ///      `xp`) and kernel words (memory from `wp`, `stride` bytes apart), XOR with 2^(8w−1) in
    ///      every value makes it u = q + 2^(8w−1) ∈ [0, 2^(8w)); a right shift by
    ///      8w·(per − 1 − p) and one AND leave u of columns l·per + p at the bottom of the four
    ///      64-bit lanes, and one MUL by x adds x·u to each lane (two's complement, mod 2^256).
    ///      a_k holds p = p0 + k.
    function _lanes(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 width, uint256 p0)
        internal
        pure
        returns (int256 a0, int256 a1, int256 a2, int256 a3)
    {
        // The smallest shift: that of p = p0 + 3.
        uint256 low = 8 * width * (8 / width - 4 - p0);
        assembly ("memory-safe") {
            let end := add(xp, shl(5, n))
            switch width
            case 2 {
                for {} lt(xp, end) {
                    xp := add(xp, 0x20)
                    wp := add(wp, stride)
                } {
                    let x := calldataload(xp)
                    let w := xor(mload(wp), 0x8000800080008000800080008000800080008000800080008000800080008000)
                    a3 := add(a3, mul(x, and(w, 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                    w := shr(16, w)
                    a2 := add(a2, mul(x, and(w, 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                    w := shr(16, w)
                    a1 := add(a1, mul(x, and(w, 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                    w := shr(16, w)
                    a0 := add(a0, mul(x, and(w, 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                }
            }
            default {
                for {} lt(xp, end) {
                    xp := add(xp, 0x20)
                    wp := add(wp, stride)
                } {
                    let x := calldataload(xp)
                    let w := shr(low, xor(mload(wp), 0x8080808080808080808080808080808080808080808080808080808080808080))
                    a3 := add(a3, mul(x, and(w, 0x00000000000000ff00000000000000ff00000000000000ff00000000000000ff)))
                    w := shr(8, w)
                    a2 := add(a2, mul(x, and(w, 0x00000000000000ff00000000000000ff00000000000000ff00000000000000ff)))
                    w := shr(8, w)
                    a1 := add(a1, mul(x, and(w, 0x00000000000000ff00000000000000ff00000000000000ff00000000000000ff)))
                    w := shr(8, w)
                    a0 := add(a0, mul(x, and(w, 0x00000000000000ff00000000000000ff00000000000000ff00000000000000ff)))
                }
            }
        }
    }

    /// @dev Writes the four 64-bit lanes of `acc` (lane l, counted from the most significant,
    ///      is column l·per + p) minus `c` to the words at dst + 32·column, for columns < count.
    function _putLanes(int256 acc, uint256 p, uint256 per, uint256 count, uint256 dst, int256 c) internal pure {
        assembly ("memory-safe") {
            for { let l := 3 } 1 { l := sub(l, 1) } {
                let v := signextend(7, acc)
                acc := sar(64, sub(acc, v))
                let col := add(mul(l, per), p)
                if lt(col, count) { mstore(add(dst, shl(5, col)), sub(v, c)) }
                if iszero(l) { break }
            }
        }
    }

    /// @dev max |x| over `inputs`.
    function _maxAbs(int256[] calldata inputs) internal pure returns (uint256 m) {
        assembly ("memory-safe") {
            let end := add(inputs.offset, shl(5, inputs.length))
            for { let p := inputs.offset } lt(p, end) { p := add(p, 0x20) } {
                let v := calldataload(p)
                if slt(v, 0) { v := sub(0, v) }
                if gt(v, m) { m := v }
            }
        }
    }

    /// @dev Σ_i x[from + i] for i < n (|x| < 2^64, n < 2^30: no overflow).
    function _sum(int256[] calldata inputs, uint256 from, uint256 n) internal pure returns (int256 s) {
        assembly ("memory-safe") {
            let p := add(inputs.offset, shl(5, from))
            for { let end := add(p, shl(5, n)) } lt(p, end) { p := add(p, 0x20) } {
                s := add(s, calldataload(p))
            }
        }
    }

    /// @dev Σ_i x[from + i] · q[i · units + j + k] for k < count (≤ 8), written (unshifted) to
    ///      the words at memory `dst`; `sx` = Σ_i x[from + i]. INT32_SHIFTED only, every |x| < 2^64
    ///      and n < 2^30. The 32 bytes at kernel.ptr + (i · units + j)·4 are the eight big-endian
    ///      int32 of row i, columns j..j+7 (lane k is bits [224 − 32k, 256 − 32k); lanes past
    ///      `units` read the next row or the buffer's spare word and are never written). XOR with
    ///      2^31 in every lane makes each one u = q + 2^31 ∈ [0, 2^32), so one AND picks columns
    ///      k and k + 4 as u_k · 2^128 + u_(k+4), and one MUL by x adds x·u_k and x·u_(k+4) to the
    ///      two 128-bit halves of an accumulator (two's complement, mod 2^256: exact while every
    ///      |Σ x·u| < 2^127, which |x| < 2^64, u < 2^32 and n < 2^30 guarantee). At the end
    ///      Σ x·q = Σ x·u − 2^31 · sx.
    function _dot8(
        int256[] calldata inputs,
        uint256 from,
        uint256 n,
        Raw memory kernel,
        uint256 j,
        uint256 units,
        int256 sx,
        uint256 count,
        uint256 dst
    ) internal pure {
        uint256 wp = kernel.ptr + j * 4;
        uint256 stride = units * 4;
        assembly ("memory-safe") {
            let xp := add(inputs.offset, shl(5, from))
            let end := add(xp, shl(5, n))
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            for {} lt(xp, end) {
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := calldataload(xp)
                let w := xor(mload(wp), 0x8000000080000000800000008000000080000000800000008000000080000000)
                a0 := add(a0, mul(x, and(shr(96, w), 0xffffffff000000000000000000000000ffffffff)))
                a1 := add(a1, mul(x, and(shr(64, w), 0xffffffff000000000000000000000000ffffffff)))
                a2 := add(a2, mul(x, and(shr(32, w), 0xffffffff000000000000000000000000ffffffff)))
                a3 := add(a3, mul(x, and(w, 0xffffffff000000000000000000000000ffffffff)))
            }
            let c := shl(31, sx)
            // Accumulator k: column k in the high half, column k + 4 in the low half.
            function put(acc, k, n_, p_, c_) {
                let lo := signextend(15, acc)
                if lt(k, n_) { mstore(add(p_, shl(5, k)), sub(sar(128, sub(acc, lo)), c_)) }
                if lt(add(k, 4), n_) { mstore(add(p_, shl(5, add(k, 4))), sub(lo, c_)) }
            }
            put(a0, 0, count, dst, c)
            put(a1, 1, count, dst, c)
            put(a2, 2, count, dst, c)
            put(a3, 3, count, dst, c)
        }
    }

    // ------------------------------------------------------------------ input-row parts

    /// @dev Input rows [rf, rf + rc) and units [from, from + count) of a Dense on a vector, as
    ///      `forwardSlice` with the rows in the high 128 bits of `from` and `count` (a Dense too
    ///      wide for one call even one unit at a time: every unit reads every kernel row). The
    ///      inputs are x[rf, rf + rc), then, unless rf = 0, the `count` partial sums carried from
    ///      the parts before: Σ_{i < rf} x_i·q_ij, exact integers of the stored kernel values q
    ///      (before the format's shift or scale). A part before the last returns the carried
    ///      sums plus its own; the last (rf + rc = inputUnits) returns the units' values, scaled,
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
        out = _partSums(inputs, rc, kernel, uint128(count));
        shape[0] = uint128(count);
        if (rf + rc < c.inputUnits) return (out, shape);
        _finishRows(out, kernel, m, list, c, uint128(from));
    }

    /// @dev The last row part's units [from, from + out.length): `out` holds their whole sums;
    ///      scaled, biased and activated in place as `forward` does.
    function _finishRows(
        int256[] memory out,
        Raw memory kernel,
        address m,
        WeightTensor[] memory list,
        Config memory c,
        uint256 from
    ) internal view {
        uint256 count = out.length;
        int256[] memory bias = new int256[](0);
        if (c.useBias) {
            Raw memory b = _raw(m, list[1]);
            bias = new int256[](count);
            for (uint256 j; j < count; ++j) {
                bias[j] = _at(b, from + j);
            }
        }
        _finish(out, 0, count, kernel, bias);
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
    ///      inputs[0, n). The kernel paths of `_dense`, under the same conditions (each exact).
    function _partSums(int256[] calldata inputs, uint256 n, Raw memory kernel, uint256 units)
        internal
        pure
        returns (int256[] memory out)
    {
        out = new int256[](units);
        uint256 dst = _ptr(out);
        if (kernel.width == 4 && n < 2 ** 30 && _maxAbsOf(inputs, n) < 2 ** 64) {
            int256 sx = _sum(inputs, 0, n);
            for (uint256 j; j < units; j += 8) {
                _dot8(inputs, 0, n, kernel, j, units, sx, units - j < 8 ? units - j : 8, dst + j * 32);
            }
        } else if (
            (kernel.width == 2 || kernel.width == 1) && n < 2 ** 30
                && _sumAbs(inputs, 0, n) < 2 ** (63 - 8 * kernel.width)
        ) {
            _narrowRow(inputs, 0, n, kernel, units, dst);
        } else {
            for (uint256 j; j < units; ++j) {
                out[j] = _dot(inputs, 0, n, kernel, j, units);
            }
        }
        if (inputs.length > n) {
            for (uint256 j; j < units; ++j) {
                out[j] += inputs[n + j];
            }
        }
    }

    /// @dev max |x| over inputs[0, n).
    function _maxAbsOf(int256[] calldata inputs, uint256 n) internal pure returns (uint256 m) {
        assembly ("memory-safe") {
            let end := add(inputs.offset, shl(5, n))
            for { let p := inputs.offset } lt(p, end) { p := add(p, 0x20) } {
                let v := calldataload(p)
                if slt(v, 0) { v := sub(0, v) }
                if gt(v, m) { m := v }
            }
        }
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
