// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Activation} from "./Types.sol";

/// @title Fixed
/// @notice The signed Q32.32 arithmetic of on-chain inference, held in int256. It is mirrored
///         operation for operation by the Rust reference (`src/infer/fixed.rs`): the chain must
///         return exactly what that reference computes, bit for bit.
/// @dev Rules shared by every layer:
///      - a product is exact, then shifted right by 32 with SAR (rounds toward −∞); a dot product
///        shifts once, after adding the exact products and `bias << 32`;
///      - a division truncates toward zero (SDIV);
///      - exp, sigmoid, tanh, softmax and sqrt are defined below, each with its domain, rounding
///        and error bound. Values are 1.0 = 2^32; int256 never overflows for values below 2^100.
library Fixed {
    /// @notice A fixed-point operation left its domain (square root of a negative number,
    ///         division by zero).
    error FixedPointDomain();
    /// @notice The activation code has no fixed-point implementation (leaky_relu).
    error UnsupportedActivation(uint8 code);

    /// @dev 1.0 in Q32.32.
    int256 internal constant ONE = 1 << 32;
    /// @dev ln 2 in Q32.32 rounded to nearest: 0.693147180559945 · 2^32 = 2977044471.82.
    int256 internal constant LN2 = 2_977_044_472;

    /// @notice `(a · b) >> 32`, rounding toward −∞ (SAR).
    /// @dev Domain: |a|, |b| < 2^127. Error: < 2^-32 (one ulp), always downward.
    function mul(int256 a, int256 b) internal pure returns (int256 r) {
        assembly ("memory-safe") {
            r := sar(32, mul(a, b))
        }
    }

    /// @notice e^x for x ≤ 0 (positive x is clamped to 0: callers pass x − max or −|x|).
    /// @dev x = k·ln2 + r with k = ⌊x / ln2⌋ and r ∈ [0, ln2); e^r by its Taylor series with 13
    ///      terms, term_n = ((term_{n−1} · r) >> 32) / n, each truncated; then the sum is shifted
    ///      right by −k (0 when −k ≥ 64). Result within 16 ulp (16 · 2^-32) of e^x, never
    ///      negative, exactly ONE at 0. Gas ≈ 330.
    function expNeg(int256 x) internal pure returns (int256 y) {
        assembly ("memory-safe") {
            y := _expNeg(x)
            // See `expNeg`; this Yul body is repeated in `activate`'s loop so it inlines there.
            function _expNeg(v) -> out {
                if sgt(v, 0) { v := 0 }
                // floor(v / LN2) for v ≤ 0: SDIV truncates toward zero, so bias the numerator.
                let k := sdiv(sub(v, 2977044471), 2977044472)
                let r := sub(v, mul(k, 2977044472))
                // term_n = ((term_{n-1} · r) >> 32) / n = (term_{n-1} · r) / (n << 32): nested
                // floor divisions of a non-negative number compose, so one DIV per term.
                let term := r
                let sum := add(0x100000000, term)
                term := div(mul(term, r), 0x200000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0x300000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0x400000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0x500000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0x600000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0x700000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0x800000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0x900000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0xa00000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0xb00000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0xc00000000)
                sum := add(sum, term)
                term := div(mul(term, r), 0xd00000000)
                sum := add(sum, term)
                let s := sub(0, k)
                out := 0
                if lt(s, 64) { out := shr(s, sum) }
            }
        }
    }

    /// @notice σ(x) = 1 / (1 + e^−x).
    /// @dev With e = expNeg(−|x|): s = (2^64) / (ONE + e) truncated; σ(x) = s for x ≥ 0 and
    ///      ONE − s for x < 0, so σ(−x) = ONE − σ(x) exactly. Domain: all x. Result in [0, ONE],
    ///      within 17 ulp of σ(x).
    function sigmoid(int256 x) internal pure returns (int256 y) {
        int256 a = x < 0 ? -x : x;
        int256 e = expNeg(-a);
        assembly ("memory-safe") {
            y := div(0x10000000000000000, add(0x100000000, e))
            if slt(x, 0) { y := sub(0x100000000, y) }
        }
    }

    /// @notice tanh(x) = 2σ(2x) − ONE.
    /// @dev Domain: all x. Result in [−ONE, ONE], within 36 ulp of tanh(x).
    function tanh(int256 x) internal pure returns (int256) {
        return 2 * sigmoid(2 * x) - ONE;
    }

    /// @notice Softmax in place over `n` values starting at memory word `ptr`.
    /// @dev m = max; e_i = expNeg(v_i − m); S = Σ e_i (≥ ONE); y_i = (e_i << 32) / S truncated.
    ///      Each output within 2^-31 + 16 ulp·(1 + n) of the real softmax.
    function softmaxAt(uint256 ptr, uint256 n) internal pure {
        if (n == 0) return;
        int256 m;
        assembly ("memory-safe") {
            m := mload(ptr)
            for { let i := 1 } lt(i, n) { i := add(i, 1) } {
                let v := mload(add(ptr, shl(5, i)))
                if sgt(v, m) { m := v }
            }
        }
        int256 sum;
        for (uint256 i; i < n; ++i) {
            uint256 at = ptr + i * 32;
            int256 v;
            assembly ("memory-safe") {
                v := mload(at)
            }
            int256 e = expNeg(v - m);
            sum += e;
            assembly ("memory-safe") {
                mstore(at, e)
            }
        }
        assembly ("memory-safe") {
            // Every e_i ≥ 0 and sum ≥ ONE: DIV equals SDIV.
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let at := add(ptr, shl(5, i))
                mstore(at, div(shl(32, mload(at)), sum))
            }
        }
    }

    /// @notice √x in Q32.32 for x ≥ 0: ⌊√(x · 2^32)⌋ exactly (floor of the real root).
    /// @dev Reverts with `FixedPointDomain` for x < 0.
    function sqrt(int256 x) internal pure returns (int256) {
        if (x < 0) revert FixedPointDomain();
        return int256(_isqrt(uint256(x) << 32));
    }

    /// @notice `(a << 32) / b`, truncating toward zero (SDIV); reverts with `FixedPointDomain`
    ///         when b = 0.
    function div(int256 a, int256 b) internal pure returns (int256 r) {
        if (b == 0) revert FixedPointDomain();
        assembly ("memory-safe") {
            r := sdiv(shl(32, a), b)
        }
    }

    /// @notice Applies activation `code` elementwise to the `n` words at memory `ptr`; softmax runs
    ///         over consecutive groups of `last` values (the last axis).
    /// @dev linear: identity; relu: max(x, 0); sigmoid, tanh, softmax as above. leaky_relu (0)
    ///      reverts with `UnsupportedActivation`, like the reference.
    function activate(uint256 ptr, uint256 n, uint8 code, uint256 last) internal pure {
        if (code == Activation.LINEAR) return;
        if (code == Activation.RELU) {
            assembly ("memory-safe") {
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    let at := add(ptr, shl(5, i))
                    if slt(mload(at), 0) { mstore(at, 0) }
                }
            }
        } else if (code == Activation.SIGMOID || code == Activation.TANH) {
            bool isTanh = code == Activation.TANH;
            assembly ("memory-safe") {
                // The n words at ptr, in place: σ(x), or tanh(x) = 2σ(2x) − ONE. Same steps as
                // `sigmoid`/`tanh`, inlined: ~350 gas a value instead of ~1,000 through calls.
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    let at := add(ptr, shl(5, i))
                    let v := mload(at)
                    if isTanh { v := add(v, v) }
                    let a := v
                    if slt(v, 0) { a := sub(0, v) }
                    let e := _expNeg(sub(0, a))
                    let s := div(0x10000000000000000, add(0x100000000, e))
                    if slt(v, 0) { s := sub(0x100000000, s) }
                    if isTanh { s := sub(add(s, s), 0x100000000) }
                    mstore(at, s)
                }
                function _expNeg(v) -> out {
                    if sgt(v, 0) { v := 0 }
                    let k := sdiv(sub(v, 2977044471), 2977044472)
                    let r := sub(v, mul(k, 2977044472))
                    let term := r
                    let sum := add(0x100000000, term)
                    term := div(mul(term, r), 0x200000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0x300000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0x400000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0x500000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0x600000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0x700000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0x800000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0x900000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0xa00000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0xb00000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0xc00000000)
                    sum := add(sum, term)
                    term := div(mul(term, r), 0xd00000000)
                    sum := add(sum, term)
                    let sh := sub(0, k)
                    out := 0
                    if lt(sh, 64) { out := shr(sh, sum) }
                }
            }
        } else if (code == Activation.SOFTMAX) {
            if (last == 0) last = 1;
            for (uint256 o; o < n; o += last) {
                softmaxAt(ptr + o * 32, last);
            }
        } else {
            revert UnsupportedActivation(code);
        }
    }

    /// @notice Activation `code` of one value (softmax of a single value is ONE).
    function activate1(int256 x, uint8 code) internal pure returns (int256) {
        if (code == Activation.LINEAR) return x;
        if (code == Activation.RELU) return x > 0 ? x : int256(0);
        if (code == Activation.SIGMOID) return sigmoid(x);
        if (code == Activation.TANH) return tanh(x);
        if (code == Activation.SOFTMAX) return ONE;
        revert UnsupportedActivation(code);
    }

    /// @dev ⌊√n⌋ (Solady's integer square root: any exact floor square root gives the same result).
    function _isqrt(uint256 x) private pure returns (uint256 z) {
        assembly ("memory-safe") {
            z := 181
            let r := shl(7, lt(0xffffffffffffffffffffffffffffffffff, x))
            r := or(r, shl(6, lt(0xffffffffffffffffff, shr(r, x))))
            r := or(r, shl(5, lt(0xffffffffff, shr(r, x))))
            r := or(r, shl(4, lt(0xffffff, shr(r, x))))
            z := shl(shr(1, r), z)
            z := shr(18, mul(z, add(shr(r, x), 65536)))
            z := shr(1, add(z, div(x, z)))
            z := shr(1, add(z, div(x, z)))
            z := shr(1, add(z, div(x, z)))
            z := shr(1, add(z, div(x, z)))
            z := shr(1, add(z, div(x, z)))
            z := shr(1, add(z, div(x, z)))
            z := shr(1, add(z, div(x, z)))
            z := sub(z, lt(div(x, z), z))
        }
    }
}
