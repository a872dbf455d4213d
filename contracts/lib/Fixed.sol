// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Activation} from "./Types.sol";
import {Activations} from "./Activations.sol";
import {ActivationsAddress} from "./ActivationsAddress.sol";

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
    /// @notice The rare activations' contract (`EternalActivations`, codes 7..19) has no code
    ///         at `activations` on this chain: deploy it (`eternalize deploy` places it).
    error ActivationsMissing(address activations);

    /// @dev 1.0 in Q32.32.
    int256 internal constant ONE = 1 << 32;

    /// @notice `(a · b) >> 32`, rounding toward −∞ (SAR).
    /// @dev Domain: |a|, |b| < 2^127. Error: < 2^-32 (one ulp), always downward.
    function mul(int256 a, int256 b) internal pure returns (int256 r) {
        assembly ("memory-safe") {
            r := sar(32, mul(a, b))
        }
    }

    /// @notice e^x for x ≤ 0 (positive x is clamped to 0: callers pass x − max or −|x|), with
    ///         the table `expTable` returned at memory `tbl`.
    /// @dev With a = min(−x, 64) and t = a · log2(e) in Q96 (a · ⌊log2(e) · 2^64⌉, exact):
    ///      k = ⌊t⌋, j = ⌊256·frac(t)⌋ and g = frac(t) − j/256 ∈ [0, 1/256) truncated to Q62;
    ///      e^x = 2^(−k) · T[j] · e^(−g·ln2). T[j] ≈ 2^(−j/256) in Q62 is the table `expTable`
    ///      writes (within 3 units of Q62; how its words are made: `EXP_TABLE` in
    ///      src/infer/fixed.rs). e^(−g·ln2) is its Taylor series to the cube (Horner, each step
    ///      truncated; the first omitted term is below 2.2·10^-12, 0.01 ulp), and the result
    ///      (T[j] · p) >> (92 + k). Within 1.1 ulp (1.1 · 2^-32) of e^x, exactly ONE at 0, never
    ///      negative or above ONE; 0 once e^x < 2^-32 (x below about −22.2). Mirrored by
    ///      `exp_neg` in src/infer/fixed.rs, constant for constant. The loops of `activate` and
    ///      `softmaxAt` repeat these steps inline (the sigmoid/tanh loops without the clamp,
    ///      which changes no result for an input of the reference's i128 domain).
    function expNeg(int256 x, uint256 tbl) internal pure returns (int256 y) {
        assembly ("memory-safe") {
            if sgt(x, 0) { x := 0 }
            // a = −x ≥ 0 in Q32.32, clamped at 64 (the result is 0 from about 22.2 on; the clamp
            // keeps every product below 2^128). t = a · log2(e) in Q96 (exact).
            let a := sub(0, x)
            if gt(a, 0x4000000000) { a := 0x4000000000 }
            let t := mul(a, 0x171547652b82fe177)
            // g = the bits of t below 2^-8, in Q62; e^(−g·ln2) = 1 − c1·g + c2·g² − c3·g³,
            // Horner from the top: p ← c_n − ((p · g) >> 62), every p positive.
            let g := and(shr(34, t), 0x3fffffffffffff)
            let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
            p := sub(3196577161300663915, shr(62, mul(p, g)))
            p := sub(0x4000000000000000, shr(62, mul(p, g)))
            // T[j], j = bits 88..95 of t: the 64 bits at tbl + 8j. Q124 → Q32 and 2^(−k) in
            // one shift (a shift of 256 or more gives 0).
            y := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
        }
    }

    /// @notice σ(x) = 1 / (1 + e^−x) (`tbl`: see `expNeg`).
    /// @dev With e = expNeg(−|x|): s = (2^64) / (ONE + e) truncated; σ(x) = s for x ≥ 0 and
    ///      ONE − s for x < 0, so σ(−x) = ONE − σ(x) exactly. Domain: all x. Result in [0, ONE],
    ///      within 3 ulp of σ(x).
    function sigmoid(int256 x, uint256 tbl) internal pure returns (int256 y) {
        int256 a = x < 0 ? -x : x;
        int256 e = expNeg(-a, tbl);
        assembly ("memory-safe") {
            y := div(0x10000000000000000, add(0x100000000, e))
            if slt(x, 0) { y := sub(0x100000000, y) }
        }
    }

    /// @notice tanh(x) = 2σ(2x) − ONE (`tbl`: see `expNeg`).
    /// @dev Domain: all x. Result in [−ONE, ONE], within 6 ulp of tanh(x).
    function tanh(int256 x, uint256 tbl) internal pure returns (int256) {
        return 2 * sigmoid(2 * x, tbl) - ONE;
    }

    /// @notice Softmax in place over `n` values starting at memory word `ptr`, with the exp
    ///         table at memory `tbl` (see `expTable`).
    /// @dev m = max; e_i = expNeg(v_i − m); S = Σ e_i (≥ ONE); y_i = (e_i << 32) / S truncated.
    ///      Each output within 2^-31 + 1.1 ulp·(1 + n) of the real softmax.
    function softmaxAt(uint256 ptr, uint256 n, uint256 tbl) internal pure {
        assembly ("memory-safe") {
            let end := add(ptr, shl(5, n))
            if n {
                let m := mload(ptr)
                for { let at := add(ptr, 0x20) } lt(at, end) { at := add(at, 0x20) } {
                    let v := mload(at)
                    if sgt(v, m) { m := v }
                }
                let sum := 0
                for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                    // expNeg(v − m), its steps inlined, T[j] read from the table.
                    let a := sub(m, mload(at))
                    if gt(a, 0x4000000000) { a := 0x4000000000 }
                    let t := mul(a, 0x171547652b82fe177)
                    let g := and(shr(34, t), 0x3fffffffffffff)
                    let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                    p := sub(3196577161300663915, shr(62, mul(p, g)))
                    p := sub(0x4000000000000000, shr(62, mul(p, g)))
                    let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                    sum := add(sum, e)
                    mstore(at, e)
                }
                // Every e_i ≥ 0 and sum ≥ ONE: DIV equals SDIV.
                for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                    mstore(at, div(shl(32, mload(at)), sum))
                }
            }
        }
    }

    /// @notice Allocates and writes the table of `expNeg`: T[j] ≈ 2^(−j/256) in Q62, j = 0..255,
    ///         as big-endian 64-bit entries (entry j at byte 8j of the returned address; 2,048
    ///         bytes and a spare word, so the last entry can be read with a full-word MLOAD).
    /// @dev The words are `EXP_TABLE` of src/infer/fixed.rs (each entry the product of four
    ///      rounded 2^(−i/4^k) steps), and a test there checks them against this source. ≈ 1.2k
    ///      gas: once per `activate` call, once per recurrent `forward`.
    function expTable() internal pure returns (uint256 tbl) {
        assembly ("memory-safe") {
            tbl := mload(0x40)
            mstore(0x40, add(tbl, 0x820))
            // EXP_TABLE begin
                mstore(tbl, 0x40000000000000003fd3b2d65447b2293fa784571ee3e2133f7b746d25aa27cd)
                mstore(add(tbl, 0x20), 0x3f4f83033d21b05d3f23b004487911ee3ef7fb5b397c27123ecc64f31089f0fc)
                mstore(add(tbl, 0x40), 0x3ea0ecb6dc8a80cf3e759291bae4e7cd3e4a566ed7752e9d3e1f38396c825367)
                mstore(add(tbl, 0x60), 0x3df437dcc2b44eee3dc95544310a208d3d9e905b1ccfe11b3d73e90cf994dca3)
                mstore(add(tbl, 0x80), 0x3d495f454921b30b3d1ef2ef9b6e7f773cf4a3f78e9906963cca7248cedaeba6)
                mstore(add(tbl, 0xa0), 0x3ca05dcf167fec4e3c7666762ddc232f3c4c8c29eb4251413c22ced632fa2dd9)
                mstore(add(tbl, 0xc0), 0x3bf92e66f736bd733bcfaac8380caf1a3ba643e60368c0973b7cf9ac75062924)
                mstore(add(tbl, 0xe0), 0x3b53cc07b6650ae03b2abae3fec0eace3b01c62d93072f763ad8edd0c5cda60e)
                mstore(add(tbl, 0x100), 0x3ab031b9f7490e4c3a8791d59543ac9e3a5f0e101b13e3163a36a6561192d0aa)
                mstore(add(tbl, 0x120), 0x3a0e5a940f12f71a39e62ab6b756e72f39be16aabb87f38839961e5cda2ce9c5)
                mstore(add(tbl, 0x140), 0x396e41b9df20d22a394680aea389b59f391edb280dcf6a2338f7511311926585)
                mstore(add(tbl, 0x160), 0x38cfe25cafa2969438a88ef1f5f64488388156bfffa0f4d9385a39b3f4ca5748)
                mstore(add(tbl, 0x180), 0x383337bb0aa53844380c50c28366798937e584b7ae3c110737bed387e7440dfc)
                mstore(add(tbl, 0x1a0), 0x37983d209783a4483771c16f34de3dfa374b6061420c9307372519e44e93c723)
                mstore(add(tbl, 0x1c0), 0x36feede5f6bc8dd536d8dc53e38a549436b2e51bcab2731c368d082b6e9361c0)
                mstore(add(tbl, 0x1e0), 0x366745709e2bf5ed36419cd93512a4a6361c0e531b6ccb2035f699cc45e5fd59)
                mstore(add(tbl, 0x200), 0x35d13f32b5a75abd35abfe74784ee8bf3586d77fa7e6f3813561ca426add7462)
                mstore(add(tbl, 0x220), 0x353cd6aaf3fb7e873517fca7825cb15734f33c266166b0dd34ce9515e8c0a414)
                mstore(add(tbl, 0x240), 0x34aa07647c4ab916348593008c15af2a346137d8945a66b1343cf5db1d7176e2)
                mstore(add(tbl, 0x260), 0x3418ccf6bbcac96433f4bd1a0fe53bab33d0c633c646462f33ace8329771a955)
                mstore(add(tbl, 0x280), 0x3389230547e120383365769aa7fc19103341e2e1940f7373331e67c8f4454438)
                mstore(add(tbl, 0x2a0), 0x32fb053fbc9c9f1632d7bb34ece165f032b4899790a41dd232917056bf31c987)
                mstore(add(tbl, 0x2c0), 0x326e6f619b8bc9e7324b86a7545fc3b13228b61723ff8b0f3205fda0505914aa)
                mstore(add(tbl, 0x2e0), 0x31e35d322aee6c5631c0d4bc10cdb146319e642d6a8917dd317c0b75ac2ef0f5)
                mstore(add(tbl, 0x300), 0x3159ca845541b6b73137a148f0b01eea31158fb314cd32cc30f395b263486c56)
                mstore(add(tbl, 0x320), 0x30d1b3368925d90130afe82f3eb641f1308e348c478f599b306c983d7283eecb)
                mstore(add(tbl, 0x340), 0x304b1332999c25153029a55ba20db2a230084ea87c34236b2fe70f09238921bd)
                mstore(add(tbl, 0x360), 0x2fc5e66d9e9cc4202fa4d4c5ff0de08c2f83da02618264f72f62f612ed9fb51f)
                mstore(add(tbl, 0x380), 0x2f4228e7d6030daf2f2172715839ec992f00d29fbcba7ec22ee0496356dc12da)
                mstore(add(tbl, 0x3a0), 0x2ebfd6ac84cf917e2e9f7a6baf97fa812e7f34914b02e7792e5f050dd5a1136e)
                mstore(add(tbl, 0x3c0), 0x2e3eebd1d8bee7b92e1ee8cde85d0e0b2dfefbf2a329079d2ddf2530b275c978)
                mstore(add(tbl, 0x3e0), 0x2dbf6478ca345de32d9fb9bba8ec8ae22d8024ea17b57dd92d60a5f4ea2e7c33)
                mstore(add(tbl, 0x400), 0x2d413cccfe7799212d21e9633d2a705f2d02aba89952e6102ce3838e1067eb85)
                mstore(add(tbl, 0x420), 0x2cc47104aa4449222ca573fd791f6d282c868c6999863f8e2c67ba3a3253fac1)
                mstore(add(tbl, 0x440), 0x2c48fd6074ab09642c2a55cd9bede8f22c0bc372edb811612bed4641b9d6e198)
                mstore(add(tbl, 0x460), 0x2bcede2b5a4290dc2bb08b21331725172b924d14b28d6e022b7423f750f40522)
                mstore(add(tbl, 0x480), 0x2b560fba90a852b12b38104ffe0f97402b1a25a92f8ffa492afc4fb7c5899d79)
                mstore(add(tbl, 0x4a0), 0x2ade8e6d6a4fb4cd2ac0e1bbd221a3772aa34994bb241d892a85c5e9ed5a4e5d)
                mstore(add(tbl, 0x4c0), 0x2a6856ad3a9f03bd2a4afbd07e9dddc52a2db5459ecc83812a1082fe8a63dc33)
                mstore(add(tbl, 0x4e0), 0x29f364ed3a594d5929d65b03b157fd5529b96533fbba1ac6299c83702f822881)
                mstore(add(tbl, 0x500), 0x297fb5aa6c544e3a2962fbd4db6fadba294655e1afa7bccd2929c3c3255da3b0)
                mstore(add(tbl, 0x520), 0x290d456b8279a02628f0dacd16646d1d28d483da3a00aee328b840854fa463e5)
                mstore(add(tbl, 0x540), 0x289c10c0c3125a05287ff47f0973a8602863ebb2a1512db72847f64e128d133c)
                mstore(add(tbl, 0x560), 0x282c1443ee5c53ef28104586cf40486d27f48a095900374027d8e1be38a2e992)
                mstore(add(tbl, 0x580), 0x27bd4c982468446b27a1ca89dbc2e63f27865b862751c907276aff7fd8d9e8a9)
                mstore(add(tbl, 0x5a0), 0x274fb669cb3fedd327348036e281dd3127195cda0bb0cb0a26fe4c463cea932e)
                mstore(add(tbl, 0x5c0), 0x26e34e6e7553954d26c86345bd10758d26ad8abf253fe1912692c4cdc7f459b1)
                mstore(add(tbl, 0x5e0), 0x26781164c82dfe98265d707751d4631c2642e1f899b06269262865dbdd65fa64)
                mstore(add(tbl, 0x600), 0x260dfc14636e2a5c25f3a4957b10d5ea25d95f527c5eac2325bf2c3ec82b12e8)
                mstore(add(tbl, 0x620), 0x25a50b4dc8061680258afc72ee365d572570ffa1b5b31ffb255714cda21e2535)
                mstore(add(tbl, 0x640), 0x253d3bea3fbdc258252374eb2376dfb42509bfc3eac7012d24f01c683bbe52ef)
                mstore(add(tbl, 0x660), 0x24d68acbc4f9ba4a24bd0ae23d9cea9d24a39c9f654c7e6a248a3ff70428146a)
                mstore(add(tbl, 0x680), 0x2470f4dceac470cd2457bb44f225a274243e9322fbb92c4a24257c6af150329a)
                mstore(add(tbl, 0x6a0), 0x240c7710c519ac7623f38308719c991f23daa045f9b2396f23c1cebd68804d46)
                mstore(add(tbl, 0x6c0), 0x23a90e62d17354ef23905f2a5038d67f2377c10808b9a734235f33f0271438bc)
                mstore(add(tbl, 0x6e0), 0x2346b7d6df96ea78232e4cb06eba5ea32315f271191bd37622fda90d2b77801f)
                mstore(add(tbl, 0x700), 0x22e57078faa2f5ba22cd48a8e387840c22b531914b1ca249229d2b269e625b91)
                mstore(add(tbl, 0x720), 0x2285355d525bbf66226d5029e40955e822557b80d86397f6223db756bc556b1a)
                mstore(add(tbl, 0x740), 0x222603a024b6a14a220e6051ae467c7521f6cd5ffda635e421df4abfbf53895b)
                mstore(add(tbl, 0x760), 0x21c7d865a7a3440421b0764672bbd72121992456e48fee802181e28bc8d90aa7)
                mstore(add(tbl, 0x780), 0x216ab0d9f3121ec521538f363e723256213c7d958de7068a21257beccc0fbf4b)
                mstore(add(tbl, 0x7a0), 0x210e8a30eb37901120f7a856e5506c4b20e0d653bbedbb8d20ca141c783f1151)
                mstore(add(tbl, 0x7c0), 0x20b361a62b0ae875209cbee5eca9625220862bd0dcff097a206fa85c23779814)
                mstore(add(tbl, 0x7e0), 0x2059347cef00c1dc2042d028760501b3202c7b53f6666ada201635f4b5797dab)
            // EXP_TABLE end
        }
    }

    /// @notice √x in Q32.32 for x ≥ 0: ⌊√(x · 2^32)⌋ exactly (floor of the real root).
    /// @dev Reverts with `FixedPointDomain` for x < 0.
    function sqrt(int256 x) internal pure returns (int256) {
        if (x < 0) revert FixedPointDomain();
        return int256(_isqrt(uint256(x) << 32));
    }

    /// @notice 1/√x in Q32.32 for x > 0: ⌊√(2^96 / x)⌋, the exact floor of the real 1/√x.
    /// @dev The quotient is floored first and ⌊√⌊y⌋⌋ = ⌊√y⌋ for real y ≥ 0, so the only rounding
    ///      is the final floor: error below one ulp (2^-32), always downward. Reverts with
    ///      `FixedPointDomain` for x ≤ 0. The reference's `fixed::rsqrt`.
    function rsqrt(int256 x) internal pure returns (int256) {
        if (x <= 0) revert FixedPointDomain();
        return int256(_isqrt((uint256(1) << 96) / uint256(x)));
    }

    /// @notice `(a << 32) / b`, truncating toward zero (SDIV); reverts with `FixedPointDomain`
    ///         when b = 0.
    function div(int256 a, int256 b) internal pure returns (int256 r) {
        if (b == 0) revert FixedPointDomain();
        assembly ("memory-safe") {
            r := sdiv(shl(32, a), b)
        }
    }

    /// @notice Keras 3's `leaky_relu` slope 0.2 in Q32.32, truncated like every config float:
    ///         ⌊0.2 · 2^32⌋ (the reference's `fixed::LEAKY_RELU_SLOPE`).
    int256 internal constant LEAKY_RELU_SLOPE = 858993459;

    /// @notice Keras's piecewise-linear `relu`: min(x, maxValue) for x > threshold (no cap unless
    ///         `hasMax`), else slope · (x − threshold) as one `mul` (rounds toward −∞).
    /// @dev Exact up to that one rounding (< 1 ulp); the reference's `fixed::relu`.
    function relu(int256 x, bool hasMax, int256 maxValue, int256 slope, int256 threshold)
        internal
        pure
        returns (int256)
    {
        if (x > threshold) return hasMax && x > maxValue ? maxValue : x;
        return mul(slope, x - threshold);
    }

    /// @notice Applies activation `code` elementwise to the `n` words at memory `ptr`; softmax runs
    ///         over consecutive groups of `last` values (the last axis).
    /// @dev linear: identity; relu: max(x, 0); relu6: min(max(x, 0), 6); leaky_relu: x for x > 0,
    ///      else mul(LEAKY_RELU_SLOPE, x); sigmoid, tanh, softmax as above; codes 7..19
    ///      (`Activations`) by one STATICCALL to `EternalActivations` (`activateRare`): inlined,
    ///      they cost every layer that activates ≈ 2 KB of code. Any other code reverts with
    ///      `UnsupportedActivation`, like the reference.
    function activate(uint256 ptr, uint256 n, uint8 code, uint256 last) internal pure {
        if (code == Activation.LINEAR) return;
        if (code == Activation.RELU) {
            assembly ("memory-safe") {
                // x & ~(x >> 255): x, or 0 for x < 0; stored unconditionally (no branch).
                let end := add(ptr, shl(5, n))
                for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                    let v := mload(at)
                    mstore(at, and(v, not(sar(255, v))))
                }
            }
        } else if (code == Activation.RELU6) {
            assembly ("memory-safe") {
                let end := add(ptr, shl(5, n))
                for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                    let v := mload(at)
                    v := and(v, not(sar(255, v)))
                    // 6.0 in Q32.32
                    if sgt(v, 0x600000000) { v := 0x600000000 }
                    mstore(at, v)
                }
            }
        } else if (code == Activation.LEAKY_RELU) {
            assembly ("memory-safe") {
                let end := add(ptr, shl(5, n))
                for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                    let v := mload(at)
                    if slt(v, 0) { mstore(at, sar(32, mul(v, LEAKY_RELU_SLOPE))) }
                }
            }
        } else if (code == Activation.SIGMOID || code == Activation.TANH) {
            bool isTanh = code == Activation.TANH;
            uint256 tbl = expTable();
            assembly ("memory-safe") {
                // The n words at ptr, in place: σ(x), or tanh(x) = 2σ(2x) − ONE. Same steps as
                // `sigmoid`/`tanh` and `expNeg`, inlined, T[j] read from the table; one loop per
                // function (no per-value branch on it). With s = 2^64 / (ONE + e^−|y|): σ(y) = s,
                // or ONE − s for y < 0; and for tanh (y = 2x) 2σ(y) − ONE = 2s − ONE, or its
                // negation for x < 0. sg = 0 for x ≥ 0 and −1 (all ones) for x < 0, so
                // (z ^ sg) − sg is z or −z without a branch.
                // No clamp of a at 64: for every x of the reference's domain (|x| < 2^127, i128)
                // a ≤ 2^128 and t = a · log2(e) < 2^194 does not wrap, and any a ≥ 64 gives
                // k ≥ 92, a shift ≥ 184 that clears the 124-bit T[j] · p: the clamp's 0.
                // The powers of two live on the stack (`one` is ONE): as literals the optimizer
                // would rebuild each from a shift inside the loop.
                let end := add(ptr, shl(5, n))
                let one := shl(32, lt(ptr, end))
                let c62 := shl(30, one)
                let one2 := mul(one, one)
                switch isTanh
                case 0 {
                    for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                        let v := mload(at)
                        let sg := sar(255, v)
                        let t := mul(sub(xor(v, sg), sg), 0x171547652b82fe177)
                        let g := and(shr(34, t), 0x3fffffffffffff)
                        let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                        p := sub(3196577161300663915, shr(62, mul(p, g)))
                        p := sub(c62, shr(62, mul(p, g)))
                        let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                        let y := div(one2, add(one, e))
                        // x < 0: ONE − s = (−s) + ONE, i.e. (s ^ sg) − sg + (ONE & sg).
                        mstore(at, add(sub(xor(y, sg), sg), and(one, sg)))
                    }
                }
                default {
                    for { let at := ptr } lt(at, end) { at := add(at, 0x20) } {
                        let v := mload(at)
                        let sg := sar(255, v)
                        let t := mul(sub(xor(add(v, v), sg), sg), 0x171547652b82fe177)
                        let g := and(shr(34, t), 0x3fffffffffffff)
                        let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                        p := sub(3196577161300663915, shr(62, mul(p, g)))
                        p := sub(c62, shr(62, mul(p, g)))
                        let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                        let y := div(one2, add(one, e))
                        y := sub(add(y, y), one)
                        mstore(at, sub(xor(y, sg), sg))
                    }
                }
            }
        } else if (code == Activation.SOFTMAX) {
            if (last == 0) last = 1;
            uint256 tbl = expTable();
            for (uint256 o; o < n; o += last) {
                softmaxAt(ptr + o * 32, last, tbl);
            }
        } else if (code < Activation.COUNT) {
            activateRare(ptr, n, code, last);
        } else {
            revert UnsupportedActivation(code);
        }
    }

    /// @notice Codes 7..19 of the `n` words at `ptr`, in place (log_softmax over groups of
    ///         `last`), by one STATICCALL to `EternalActivations` (raw calldata: `code | last <<
    ///         8`, then the words; the answer is the words). Reverts with the callee's revert
    ///         data (`ActivationDomain`, …), or `ActivationsMissing` when the address has no code.
    /// @dev The header goes in the word before `ptr` (an array's length word), saved and put
    ///      back, so nothing is copied in memory: the call reads the words where they are and
    ///      writes the answer over them.
    function activateRare(uint256 ptr, uint256 n, uint8 code, uint256 last) internal pure {
        if (n == 0) return;
        uint256 head = ptr - 0x20;
        uint256 size = n << 5;
        uint256 saved;
        assembly ("memory-safe") {
            saved := mload(head)
            mstore(head, or(code, shl(8, last)))
        }
        address target = ActivationsAddress.ACTIVATIONS;
        if (callShared(target, head, size + 0x20, ptr, size)) revert ActivationsMissing(target);
        assembly ("memory-safe") {
            mstore(head, saved)
        }
    }

    /// @notice One STATICCALL to a shared contract (`EternalActivations`, `EternalConvKernel`):
    ///         `inSize` bytes of calldata at `inPtr`, exactly `outSize` bytes of answer written at
    ///         `outPtr`. A revert with data (or an answer of another size) is passed up as it is;
    ///         no answer and no data is `missing` when the address has no code (the caller reverts
    ///         with its own error, so that the layer's ABI declares it), else a bare revert (the
    ///         call ran out of gas).
    /// @dev Pure to its callers (`_asPure`): a shared contract is stateless code at an address
    ///      fixed by that code (CREATE2), so its answer is a function of the arguments alone, and
    ///      `activate` and the convolutions stay pure for their many pure callers.
    function callShared(address target, uint256 inPtr, uint256 inSize, uint256 outPtr, uint256 outSize)
        internal
        pure
        returns (bool missing)
    {
        missing = _asPure(_staticcall)(target, inPtr, inSize, outPtr, outSize);
    }

    /// @dev `callShared`'s call, declared view as the compiler sees a STATICCALL.
    function _staticcall(address target, uint256 inPtr, uint256 inSize, uint256 outPtr, uint256 outSize)
        private
        view
        returns (bool missing)
    {
        assembly ("memory-safe") {
            let ok := staticcall(gas(), target, inPtr, inSize, outPtr, outSize)
            // After the call: Yul evaluates arguments right to left.
            ok := and(ok, eq(returndatasize(), outSize))
            if iszero(ok) {
                if returndatasize() {
                    returndatacopy(0, 0, returndatasize())
                    revert(0, returndatasize())
                }
                missing := iszero(extcodesize(target))
                if iszero(missing) { revert(0, 0) }
            }
        }
    }

    /// @dev `_staticcall` as a pure function (the function-pointer cast forge-std's console
    ///      uses; see `callShared`).
    function _asPure(function(address, uint256, uint256, uint256, uint256) view returns (bool) f)
        private
        pure
        returns (function(address, uint256, uint256, uint256, uint256) pure returns (bool) g)
    {
        assembly ("memory-safe") {
            g := f
        }
    }

    /// @notice Activation `code` of one value (softmax of a single value is ONE), with the
    ///         table `expTable` returned at memory `tbl`.
    /// @dev Every code inline, `Activations.apply1` included: the recurrent layers call it per
    ///      value and gate, where a STATICCALL each would cost more than the function (Keras 2
    ///      LSTMs default to hard_sigmoid), and they have the room (inlining codes 7..19 costs
    ///      BidirectionalLayer 1,261 bytes of its 22,645).
    function activate1(int256 x, uint8 code, uint256 tbl) internal pure returns (int256) {
        if (code == Activation.LINEAR) return x;
        if (code == Activation.RELU) return x > 0 ? x : int256(0);
        if (code == Activation.RELU6) return relu(x, true, 6 * ONE, 0, 0);
        if (code == Activation.LEAKY_RELU) return relu(x, false, 0, LEAKY_RELU_SLOPE, 0);
        if (code == Activation.SIGMOID) return sigmoid(x, tbl);
        if (code == Activation.TANH) return tanh(x, tbl);
        if (code == Activation.SOFTMAX) return ONE;
        return Activations.apply1(x, code, tbl);
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
