// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixed} from "./Fixed.sol";
import {Activation} from "./Types.sol";

/// @title Activations
/// @notice The smooth activation functions beyond eai's (codes 7..19 of `Activation`) in Q32.32,
///         mirrored operation for operation by the Rust reference (`src/infer/activations.rs`,
///         whose module docs state each function's measured worst error): the chain returns
///         exactly what that reference computes. Every constant below is the reference's (a test
///         there finds each in this source).
/// @dev Built on three primitives: `Fixed.expNeg` (e^x, x ≤ 0) and the sigmoid/tanh on it;
///      `exp` (any x) = 2^k · expNeg(x − k·ln2), k = ⌊x / ln2⌋ + 1; `lnGe1` (y ≥ 1) =
///      k·ln2 + 2·atanh(s), y = 2^k·m, m ∈ [1, 2), s = (m − 1)/(m + 1), the series to s^21 in
///      Q62. Products round toward −∞ (SAR), divisions truncate toward zero (SDIV), as in `Fixed`.
///      Linked whole into `EternalActivations` only, which every layer's `Fixed.activate`
///      STATICCALLs for these codes; `apply1` stays inline in `Fixed.activate1` (the recurrent
///      layers, per value) and `elu` in ELULayer (its own alpha).
library Activations {
    /// @notice e^x left int256's safe range (x above about 44), or a logarithm of a value below 1.
    error ActivationDomain(uint8 code);

    /// @dev ln 2 · 2^32 and · 2^62, rounded to nearest.
    int256 internal constant LN2_Q32 = 2977044472;
    int256 internal constant LN2_Q62 = 3196577161300663915;
    /// @dev SELU's scale and scale·alpha, Q32.32, rounded to nearest.
    int256 internal constant SELU_SCALE = 4512726379;
    int256 internal constant SELU_SCALE_ALPHA = 7550979172;
    /// @dev 1/√2, √(2/π) and 0.044715, Q32.32, rounded to nearest.
    int256 internal constant INV_SQRT2 = 3037000500;
    int256 internal constant SQRT_2_OVER_PI = 3426888095;
    int256 internal constant GELU_CUBIC = 192049463;

    /// @notice e^x for any x; reverts `ActivationDomain(EXPONENTIAL)` when k = ⌊x / ln2⌋ + 1 > 64.
    function exp(int256 x, uint256 tbl) internal pure returns (int256) {
        if (x <= 0) return Fixed.expNeg(x, tbl);
        int256 k = x / LN2_Q32 + 1;
        if (k > 64) revert ActivationDomain(Activation.EXPONENTIAL);
        return Fixed.expNeg(x - k * LN2_Q32, tbl) << uint256(k);
    }

    /// @notice ln y for y ≥ ONE (within 1.8 ulp measured); reverts `ActivationDomain` below ONE.
    /// @dev atanh(s)/s = Σ s^(2i)/(2i + 1), i = 0..10, Horner in z = s², coefficients 2^62/(2i+1).
    function lnGe1(int256 y) internal pure returns (int256 r) {
        if (y < Fixed.ONE) revert ActivationDomain(Activation.LOG_SOFTMAX);
        assembly ("memory-safe") {
            let m := y
            let k := 0
            for {} iszero(lt(m, 0x200000000)) {} {
                m := shr(1, m)
                k := add(k, 1)
            }
            let s := div(shl(62, sub(m, 0x100000000)), add(m, 0x100000000))
            let z := shr(62, mul(s, s))
            let p := 219604096115589900
            p := add(242720316759336205, shr(62, mul(p, z)))
            p := add(271275648142787524, shr(62, mul(p, z)))
            p := add(307445734561825860, shr(62, mul(p, z)))
            p := add(354745078340568300, shr(62, mul(p, z)))
            p := add(419244183493398900, shr(62, mul(p, z)))
            p := add(512409557603043100, shr(62, mul(p, z)))
            p := add(658812288346769701, shr(62, mul(p, z)))
            p := add(922337203685477581, shr(62, mul(p, z)))
            p := add(1537228672809129301, shr(62, mul(p, z)))
            p := add(4611686018427387904, shr(62, mul(p, z)))
            // k·ln2 + 2·s·p in Q62, floored to Q32.
            r := shr(30, add(mul(k, LN2_Q62), shl(1, shr(62, mul(s, p)))))
        }
    }

    /// @notice Keras's `elu`: x for x > 0, else alpha · (e^x − 1).
    function elu(int256 x, int256 alpha, uint256 tbl) internal pure returns (int256) {
        if (x > 0) return x;
        return Fixed.mul(alpha, Fixed.expNeg(x, tbl) - Fixed.ONE);
    }

    /// @notice `gelu(approximate=False)` = x · Φ(x), Φ from Numerical Recipes' `erfcc`:
    ///         erfc(z) ≈ t · e^(−z² + c0 + t·(c1 + … + t·c9)), t = 1/(1 + z/2), z = |x|/√2.
    function gelu(int256 x, uint256 tbl) internal pure returns (int256) {
        int256 z = Fixed.mul(x < 0 ? -x : x, INV_SQRT2);
        int256 t = Fixed.div(Fixed.ONE, Fixed.ONE + (z >> 1));
        int256 p = 733892959;
        p = -3531116940 + Fixed.mul(t, p);
        p = 6393126981 + Fixed.mul(t, p);
        p = -4875663968 + Fixed.mul(t, p);
        p = 1197729241 + Fixed.mul(t, p);
        p = -800101125 + Fixed.mul(t, p);
        p = 415684888 + Fixed.mul(t, p);
        p = 1606712734 + Fixed.mul(t, p);
        p = 4295069001 + Fixed.mul(t, p);
        p = -5435333641 + Fixed.mul(t, p);
        int256 a = p - Fixed.mul(z, z);
        int256 q = Fixed.mul(t, Fixed.expNeg(a < 0 ? a : int256(0), tbl)) >> 1;
        return Fixed.mul(x, x >= 0 ? Fixed.ONE - q : q);
    }

    /// @notice `gelu(approximate=True)` = x · σ(2u), u = √(2/π) · (x + 0.044715·x³).
    function geluApproximate(int256 x, uint256 tbl) internal pure returns (int256) {
        int256 x3 = Fixed.mul(Fixed.mul(x, x), x);
        int256 u = Fixed.mul(SQRT_2_OVER_PI, x + Fixed.mul(GELU_CUBIC, x3));
        return Fixed.mul(x, Fixed.sigmoid(2 * u, tbl));
    }

    /// @notice Keras 3's `hard_sigmoid`: relu6(x + 3) / 6.
    function hardSigmoid(int256 x) internal pure returns (int256 y) {
        y = x + 3 * Fixed.ONE;
        if (y < 0) y = 0;
        if (y > 6 * Fixed.ONE) y = 6 * Fixed.ONE;
        y /= 6;
    }

    /// @notice `softplus`: max(x, 0) + ln(1 + e^−|x|).
    function softplus(int256 x, uint256 tbl) internal pure returns (int256) {
        int256 a = x < 0 ? -x : x;
        return (x > 0 ? x : int256(0)) + lnGe1(Fixed.ONE + Fixed.expNeg(-a, tbl));
    }

    /// @notice Function `code` (7..18) of one value; log_softmax (19) of one value is 0.
    function apply1(int256 x, uint8 code, uint256 tbl) internal pure returns (int256) {
        if (code == Activation.ELU) return elu(x, Fixed.ONE, tbl);
        if (code == Activation.SELU) {
            if (x > 0) return Fixed.mul(SELU_SCALE, x);
            return Fixed.mul(SELU_SCALE_ALPHA, Fixed.expNeg(x, tbl) - Fixed.ONE);
        }
        if (code == Activation.GELU) return gelu(x, tbl);
        if (code == Activation.GELU_APPROXIMATE) return geluApproximate(x, tbl);
        if (code == Activation.SILU) return Fixed.mul(x, Fixed.sigmoid(x, tbl));
        if (code == Activation.HARD_SILU) return Fixed.mul(x, hardSigmoid(x));
        if (code == Activation.HARD_SIGMOID) return hardSigmoid(x);
        if (code == Activation.HARD_SIGMOID_KERAS2) {
            int256 y = Fixed.mul(Fixed.LEAKY_RELU_SLOPE, x) + Fixed.ONE / 2;
            if (y < 0) return 0;
            return y > Fixed.ONE ? Fixed.ONE : y;
        }
        if (code == Activation.SOFTPLUS) return softplus(x, tbl);
        if (code == Activation.SOFTSIGN) return Fixed.div(x, Fixed.ONE + (x < 0 ? -x : x));
        if (code == Activation.EXPONENTIAL) return exp(x, tbl);
        if (code == Activation.MISH) return Fixed.mul(x, Fixed.tanh(softplus(x, tbl), tbl));
        if (code == Activation.LOG_SOFTMAX) return 0;
        revert Fixed.UnsupportedActivation(code);
    }

    /// @notice Applies function `code` (7..19) to the `n` words at memory `ptr`; log_softmax
    ///         runs over consecutive groups of `last` values (the last axis): m = max,
    ///         S = Σ expNeg(v − m) (≥ ONE), y = v − m − lnGe1(S).
    function activate(uint256 ptr, uint256 n, uint8 code, uint256 last, uint256 tbl) internal pure {
        uint256 end = ptr + (n << 5);
        if (code != Activation.LOG_SOFTMAX) {
            for (uint256 at = ptr; at < end; at += 0x20) {
                int256 x;
                assembly ("memory-safe") {
                    x := mload(at)
                }
                x = apply1(x, code, tbl);
                assembly ("memory-safe") {
                    mstore(at, x)
                }
            }
            return;
        }
        if (last == 0) last = 1;
        for (uint256 row = ptr; row < end; row += last << 5) {
            uint256 rowEnd = row + (last << 5);
            int256 m;
            int256 sum;
            assembly ("memory-safe") {
                m := mload(row)
                for { let at := add(row, 0x20) } lt(at, rowEnd) { at := add(at, 0x20) } {
                    let v := mload(at)
                    if sgt(v, m) { m := v }
                }
            }
            for (uint256 at = row; at < rowEnd; at += 0x20) {
                int256 v;
                assembly ("memory-safe") {
                    v := mload(at)
                }
                sum += Fixed.expNeg(v - m, tbl);
            }
            int256 l = m + lnGe1(sum);
            assembly ("memory-safe") {
                for { let at := row } lt(at, rowEnd) { at := add(at, 0x20) } {
                    mstore(at, sub(mload(at), l))
                }
            }
        }
    }
}
