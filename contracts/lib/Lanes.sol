// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Lanes
/// @notice Several columns of a stored matrix per MUL: what DenseLayer (inputs in calldata) and
///         RecurrentBase (inputs in memory) share. A 32-byte word of a row-major matrix of
///         `width`-byte integers q holds 32 / width consecutive columns; XOR with 2^(8w−1) in
///         every value makes each u = q + 2^(8w−1) ∈ [0, 2^(8w)); a right shift and one AND put
///         the u of several columns at the bottom of wide lanes, and one MUL by x adds x·u to
///         each lane (two's complement, mod 2^256): Q32.32 two 128-bit lanes (2 MULs a word,
///         columns g and g + 2 in accumulator 1 − g), int32 two 128-bit lanes (4 MULs a word,
///         columns g and g + 4 in accumulator 3 − g), int16 four 64-bit lanes (4 MULs a word,
///         columns g, g + 4, g + 8, g + 12 in accumulator 3 − g), int8 four 64-bit lanes (8 MULs
///         a word, columns g, g + 8, g + 16, g + 24 in accumulator 7 − g). Exact while every
///         |Σ x·u| is below half a lane, which Σ|x| < `limit(width)` guarantees; Σ x·u −
///         2^(8w−1)·Σx = Σ x·q.
library Lanes {
    /// @dev The bound on Σ|x| under which the lanes are exact for stored integers of `width`
    ///      bytes (every lane sum |Σ x·u| ≤ Σ|x|·2^(8w) must stay below half its lane): 128-bit
    ///      lanes for int32 (2^(127−32)), 64-bit lanes for int16 (2^(63−16)) and int8
    ///      (2^(63−8)), 128-bit lanes for Q32.32 (2^(127−64)); 0 (never) for the int24 of small
    ///      tensors.
    function limit(uint256 width) internal pure returns (uint256) {
        if (width == 4) return 2 ** 95;
        if (width == 2) return 2 ** 47;
        if (width == 1) return 2 ** 55;
        if (width == 8) return 2 ** 63;
        return 0;
    }

    /// @dev Writes the column sums held in the accumulators at memory `acc` (one word each, as a
    ///      loop of `width`-byte values leaves them; see the layout above), minus `corr`, to the
    ///      words at dst + 32·column for columns < count.
    function _collect(uint256 acc, uint256 width, uint256 count, uint256 dst, int256 corr) private pure {
        if (width == 1) {
            for (uint256 k; k < 8; ++k) {
                put(_word(acc, k), 7 - k, 8, 64, count, dst, corr);
            }
        } else if (width == 8) {
            for (uint256 k; k < 2; ++k) {
                put(_word(acc, k), 1 - k, 2, 128, count, dst, corr);
            }
        } else {
            uint256 bits = width == 2 ? 64 : 128;
            for (uint256 k; k < 4; ++k) {
                put(_word(acc, k), 3 - k, 4, bits, count, dst, corr);
            }
        }
    }

    /// @dev Σ_i x_i · q[i · stride / width + k] − corr for the `count` columns k at memory `wp`
    ///      (count ≤ 32 / width; stride = the row length in bytes), the n values x at memory `xp`,
    ///      written (unscaled) to the words at `dst`; `acc` is scratch for 8 words. Values past
    ///      the block are read (the next row, or the spare word after the matrix) and dropped.
    function columns(
        uint256 xp,
        uint256 n,
        uint256 wp,
        uint256 width,
        uint256 stride,
        int256 corr,
        uint256 dst,
        uint256 count,
        uint256 acc
    ) internal pure {
        if (width == 1) _loop8(xp, n, wp, stride, acc);
        else if (width == 8) _loop64(xp, n, wp, stride, acc);
        else if (width == 2) _loop16(xp, n, wp, stride, acc);
        else _loop32(xp, n, wp, stride, acc);
        _collect(acc, width, count, dst, corr);
    }

    /// @dev (Σ_i |x_i|, Σ_i x_i) of the n words at memory `p`.
    function sums(uint256 p, uint256 n) internal pure returns (uint256 sa, int256 sx) {
        assembly ("memory-safe") {
            for { let end := add(p, shl(5, n)) } lt(p, end) { p := add(p, 0x20) } {
                let v := mload(p)
                sx := add(sx, v)
                // |v| without a branch: (v xor s) − s, s = 0 or −1 (v's sign).
                let sgn := sar(255, v)
                sa := add(sa, sub(xor(v, sgn), sgn))
            }
        }
    }

    /// @dev The int256 word at memory p + 32k.
    function _word(uint256 p, uint256 k) private pure returns (int256 v) {
        assembly ("memory-safe") {
            v := mload(add(p, shl(5, k)))
        }
    }

    /// @dev Writes the lanes of `acc` (`bits` wide, counted from the least significant) minus
    ///      `corr` to the words at dst + 32·column, lane l holding column g + step·(L − 1 − l)
    ///      (L = 256 / bits lanes), for columns < count.
    function put(int256 acc, uint256 g, uint256 step, uint256 bits, uint256 count, uint256 dst, int256 corr)
        internal
        pure
    {
        assembly ("memory-safe") {
            let lanes := div(256, bits)
            let se := sub(shr(3, bits), 1)
            for { let l := 0 } lt(l, lanes) { l := add(l, 1) } {
                let v := signextend(se, acc)
                acc := sar(bits, sub(acc, v))
                let col := add(g, mul(step, sub(sub(lanes, 1), l)))
                if lt(col, count) { mstore(add(dst, shl(5, col)), sub(v, corr)) }
            }
        }
    }

    // The loops below are DenseLayer's `_loop64` … `_loop8` with x read from memory.

    /// @dev Q32.32: accumulator k sums x · (64-bit values at bits 0 and 128 of the word shifted
    ///      right by 64k).
    function _loop64(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 acc) private pure {
        assembly ("memory-safe") {
            let a0 := 0
            let a1 := 0
            for { let end := add(xp, shl(5, n)) } lt(xp, end) {
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := mload(xp)
                let w := xor(mload(wp), 0x8000000000000000800000000000000080000000000000008000000000000000)
                a0 := add(a0, mul(x, and(w, 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)))
                a1 := add(a1, mul(x, and(shr(64, w), 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
        }
    }

    /// @dev int32: accumulator k sums x · (32-bit lanes shifted right by 32k).
    function _loop32(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 acc) private pure {
        assembly ("memory-safe") {
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            for { let end := add(xp, shl(5, n)) } lt(xp, end) {
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := mload(xp)
                let w := xor(mload(wp), 0x8000000080000000800000008000000080000000800000008000000080000000)
                a0 := add(a0, mul(x, and(w, 0xffffffff000000000000000000000000ffffffff)))
                a1 := add(a1, mul(x, and(shr(32, w), 0xffffffff000000000000000000000000ffffffff)))
                a2 := add(a2, mul(x, and(shr(64, w), 0xffffffff000000000000000000000000ffffffff)))
                a3 := add(a3, mul(x, and(shr(96, w), 0xffffffff000000000000000000000000ffffffff)))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
        }
    }

    /// @dev int16: accumulator k sums x · (16-bit lanes shifted right by 16k).
    function _loop16(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 acc) private pure {
        assembly ("memory-safe") {
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            for { let end := add(xp, shl(5, n)) } lt(xp, end) {
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            } {
                let x := mload(xp)
                let w := xor(mload(wp), 0x8000800080008000800080008000800080008000800080008000800080008000)
                a0 := add(a0, mul(x, and(w, 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                a1 := add(a1, mul(x, and(shr(16, w), 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                a2 := add(a2, mul(x, and(shr(32, w), 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
                a3 := add(a3, mul(x, and(shr(48, w), 0x000000000000ffff000000000000ffff000000000000ffff000000000000ffff)))
            }
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
        }
    }

    /// @dev int8: accumulator k sums x · (byte lanes shifted right by 8k). The mask is a
    ///      variable (times 1 = stride ≠ 0, which the optimizer cannot fold): as a constant used
    ///      eight times, the optimizer reads it with CODECOPY at every use.
    function _loop8(uint256 xp, uint256 n, uint256 wp, uint256 stride, uint256 acc) private pure {
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
                let x := mload(xp)
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
            mstore(acc, a0)
            mstore(add(acc, 0x20), a1)
            mstore(add(acc, 0x40), a2)
            mstore(add(acc, 0x60), a3)
            mstore(add(acc, 0x80), a4)
            mstore(add(acc, 0xa0), a5)
            mstore(add(acc, 0xc0), a6)
            mstore(add(acc, 0xe0), a7)
        }
    }
}
