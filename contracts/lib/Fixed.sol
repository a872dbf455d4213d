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

    /// @notice `(a · b) >> 32`, rounding toward −∞ (SAR).
    /// @dev Domain: |a|, |b| < 2^127. Error: < 2^-32 (one ulp), always downward.
    function mul(int256 a, int256 b) internal pure returns (int256 r) {
        assembly ("memory-safe") {
            r := sar(32, mul(a, b))
        }
    }

    /// @notice e^x for x ≤ 0 (positive x is clamped to 0: callers pass x − max or −|x|).
    /// @dev With a = min(−x, 64) and t = a · log2(e) in Q96 (a · ⌊log2(e) · 2^64⌉, exact):
    ///      e^x = 2^(−⌊t⌋) · 2^(−j/4) · e^(−g·ln2), j = ⌊4·frac(t)⌋, g = frac(t) − j/4 ∈ [0, 1/4)
    ///      truncated to Q62. The last factor is its Taylor series to the 7th power (Horner, each
    ///      step truncated), the middle one a four-entry Q62 table, and the result
    ///      (table · p) >> (92 + ⌊t⌋). Within 1.1 ulp (1.1 · 2^-32) of e^x, exactly ONE at 0,
    ///      never negative or above ONE; 0 once e^x < 2^-32 (x below about −22.2). Mirrored by
    ///      `exp_neg` in src/infer/fixed.rs, constant for constant. Gas ≈ 250.
    function expNeg(int256 x) internal pure returns (int256 y) {
        assembly ("memory-safe") {
            if sgt(x, 0) { x := 0 }
            y := _expNegAbs(sub(0, x))
            // See `expNeg`; this Yul body is repeated in `activate`'s loop so it inlines there.
            function _expNegAbs(a) -> out {
                // a = −x ≥ 0 in Q32.32, clamped at 64 (the result is 0 from about 22.2 on; the
                // clamp keeps every product below 2^128). t = a · log2(e) in Q96 (exact).
                if gt(a, 0x4000000000) { a := 0x4000000000 }
                let t := mul(a, 0x171547652b82fe177)
                // g = frac(t) − j/4 ∈ [0, 1/4) in Q62; e^(−g·ln2) = Σ (−1)^n ln2^n/n! g^n to n = 7,
                // Horner from the top: p ← c_n − ((p · g) >> 62), every p positive.
                let g := shr(34, and(t, 0x3fffffffffffffffffffffff))
                let p := sub(710362457495793, shr(62, mul(70340819226978, g)))
                p := sub(6149018367977265, shr(62, mul(p, g)))
                p := sub(44355791529079737, shr(62, mul(p, g)))
                p := sub(255967521894832113, shr(62, mul(p, g)))
                p := sub(1107849223398934356, shr(62, mul(p, g)))
                p := sub(3196577161300663915, shr(62, mul(p, g)))
                p := sub(0x4000000000000000, shr(62, mul(p, g)))
                // 2^(−j/4) in Q62 for j = ⌊4·frac(t)⌋: 64-bit entry j of the table word.
                let tj := and(
                    shr(and(shr(88, t), 0xc0), 0x260dfc14636e2a5c2d413cccfe77992135d13f32b5a75abd4000000000000000),
                    0xffffffffffffffff
                )
                // Q124 → Q32 and 2^(−⌊t⌋) in one shift (a shift of 256 or more gives 0).
                out := shr(add(92, shr(96, t)), mul(tj, p))
            }
        }
    }

    /// @notice σ(x) = 1 / (1 + e^−x).
    /// @dev With e = expNeg(−|x|): s = (2^64) / (ONE + e) truncated; σ(x) = s for x ≥ 0 and
    ///      ONE − s for x < 0, so σ(−x) = ONE − σ(x) exactly. Domain: all x. Result in [0, ONE],
    ///      within 3 ulp of σ(x).
    function sigmoid(int256 x) internal pure returns (int256 y) {
        int256 a = x < 0 ? -x : x;
        int256 e = expNeg(-a);
        assembly ("memory-safe") {
            y := div(0x10000000000000000, add(0x100000000, e))
            if slt(x, 0) { y := sub(0x100000000, y) }
        }
    }

    /// @notice tanh(x) = 2σ(2x) − ONE.
    /// @dev Domain: all x. Result in [−ONE, ONE], within 6 ulp of tanh(x).
    function tanh(int256 x) internal pure returns (int256) {
        return 2 * sigmoid(2 * x) - ONE;
    }

    /// @notice Softmax in place over `n` values starting at memory word `ptr`.
    /// @dev m = max; e_i = expNeg(v_i − m); S = Σ e_i (≥ ONE); y_i = (e_i << 32) / S truncated.
    ///      Each output within 2^-31 + 1.1 ulp·(1 + n) of the real softmax.
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
                // `sigmoid`/`tanh`, inlined, one loop per function (no per-value branch on it).
                // With s = 2^64 / (ONE + e^−|y|): σ(y) = s, or ONE − s for y < 0; and for tanh
                // (y = 2x) 2σ(y) − ONE = 2s − ONE, or its negation for x < 0.
                let end := add(ptr, shl(5, n))
                switch isTanh
                case 0 {
                    for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                        let v := mload(at)
                        let a := v
                        if slt(v, 0) { a := sub(0, v) }
                        let y := div(0x10000000000000000, add(0x100000000, _expNegAbs(a)))
                        if slt(v, 0) { y := sub(0x100000000, y) }
                        mstore(at, y)
                    }
                }
                default {
                    for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                        let v := mload(at)
                        let a := add(v, v)
                        if slt(v, 0) { a := sub(0, a) }
                        let y := div(0x10000000000000000, add(0x100000000, _expNegAbs(a)))
                        y := sub(add(y, y), 0x100000000)
                        if slt(v, 0) { y := sub(0, y) }
                        mstore(at, y)
                    }
                }
                function _expNegAbs(a) -> out {
                    // a = −x ≥ 0 in Q32.32, clamped at 64 (the result is 0 from about 22.2 on; the
                    // clamp keeps every product below 2^128). t = a · log2(e) in Q96 (exact).
                    if gt(a, 0x4000000000) { a := 0x4000000000 }
                    let t := mul(a, 0x171547652b82fe177)
                    // g = frac(t) − j/4 ∈ [0, 1/4) in Q62; e^(−g·ln2) = Σ (−1)^n ln2^n/n! g^n to n = 7,
                    // Horner from the top: p ← c_n − ((p · g) >> 62), every p positive.
                    let g := shr(34, and(t, 0x3fffffffffffffffffffffff))
                    let p := sub(710362457495793, shr(62, mul(70340819226978, g)))
                    p := sub(6149018367977265, shr(62, mul(p, g)))
                    p := sub(44355791529079737, shr(62, mul(p, g)))
                    p := sub(255967521894832113, shr(62, mul(p, g)))
                    p := sub(1107849223398934356, shr(62, mul(p, g)))
                    p := sub(3196577161300663915, shr(62, mul(p, g)))
                    p := sub(0x4000000000000000, shr(62, mul(p, g)))
                    // 2^(−j/4) in Q62 for j = ⌊4·frac(t)⌋: 64-bit entry j of the table word.
                    let tj := and(
                        shr(and(shr(88, t), 0xc0), 0x260dfc14636e2a5c2d413cccfe77992135d13f32b5a75abd4000000000000000),
                        0xffffffffffffffff
                    )
                    // Q124 → Q32 and 2^(−⌊t⌋) in one shift (a shift of 256 or more gives 0).
                    out := shr(add(92, shr(96, t)), mul(tj, p))
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
