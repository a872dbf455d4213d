// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {Fixed} from "../lib/Fixed.sol";
import {ConvKernelAddress} from "../lib/ConvKernelAddress.sol";

/// @title ConvBase
/// @notice The convolution kernel shared by Conv2D and Conv1D (a Conv1D is a Conv2D with one
///         row). Exact integer arithmetic, so the result is the reference's bit for bit:
///         y = (Σ x · q << up + bias << 32) >> 32, then the activation.
/// @dev Speed comes from two facts. (1) The input is copied once into a zero-padded buffer, so
///      every window is in range and a window row (kw pixels × cin channels) is one contiguous run
///      of words — padding contributes exact zeros. (2) Up to three filters share one EVM
///      multiplication: the kernel is repacked so that a word holds the stored integers q of three
///      filters in 80-bit lanes, Σ_l q_l · 2^(80 l) (two's complement, mod 2^256). Multiplying by
///      an input x and summing over a window accumulates, in lane l, exactly S_l = Σ x · q_l. The
///      lanes are separated at the end by sign-extension (signextend(9, ·)) and an exact SAR —
///      correct whenever every |S_l| < 2^79, which `_lanes` checks up front from max|x|, max|q|
///      and the window size; otherwise one filter per word is used (plain int256 products).
///      (3) A plain Conv2D/Conv1D in INT16/INT8 first narrows its input to x' = (x + 2^(e−1))
///      >> e, e fixed by the format and the window (`_windowShift`, the reference's
///      `quant::input_shift`), and multiplies by scale · 2^e at the end: then eight filters or
///      output pixels (INT8, 32-bit lanes) or six (INT16, 42-bit lanes) share a multiplication.
///      (4) Where that narrowed convolution has stride 1 along the row, 2 ≤ kw ≤ L − 1 and it
///      pays (`_hosts`), the shared `EternalConvKernel` does it instead, several taps a
///      multiplication (a word of L adjacent input pixels times a window row's kw taps), by one
///      STATICCALL (`_convolveHosted`).
abstract contract ConvBase is LayerBase, ISliceableLayer {
    /// @notice `EternalConvKernel` has no code at its fixed address on this chain (deploy it).
    error ConvKernelMissing(address kernel);

    /// @dev Geometry of one convolution (channels last, dilation 1).
    struct Geometry {
        uint256 h;
        uint256 w;
        uint256 cin;
        uint256 f;
        uint256 kh;
        uint256 kw;
        uint256 sh;
        uint256 sw;
        uint256 oh;
        uint256 ow;
        uint256 pt;
        uint256 pl;
    }

    /// @dev Output length along one axis, as Keras: valid ⌊(n − k) / s⌋ + 1; same and causal ⌈n / s⌉.
    function _convOutLen(uint256 n, uint256 k, uint256 s, uint8 padding) internal pure returns (uint256) {
        if (padding == 0) {
            if (n < k) revert InputShapeMismatch(0);
            return (n - k) / s + 1;
        }
        return (n + s - 1) / s;
    }

    /// @dev Leading padding, as the reference's `pad_before`: valid 0; same half of total =
    ///      max(0, (out − 1)·s + k − n) (the extra pixel goes after, as TensorFlow); causal k − 1
    ///      whatever the stride (Keras left-pads, then convolves "valid").
    function _convPadBefore(uint256 n, uint256 out, uint256 k, uint256 s, uint8 padding)
        internal
        pure
        returns (uint256)
    {
        if (padding == 0) return 0;
        if (padding == 2) return k - 1;
        uint256 span = (out - 1) * s + k;
        uint256 total = span > n ? span - n : 0;
        return total / 2;
    }

    /// @dev The convolution of `inputs` ([h, w, cin], calldata) with filters [f0, f0 + g.f) of
    ///      the kernel `kernel` ([kh, kw, cin, F] as stored, F = kernel.length / (kh·kw·cin)) and
    ///      of `bias` (F values or none), then activation `act` (f0 = 0, g.f = F: every filter).
    function _convolve(
        int256[] calldata inputs,
        Geometry memory g,
        Raw memory kernel,
        int256[] memory bias,
        uint8 act,
        uint256 f0
    ) internal pure returns (int256[] memory out) {
        out = _convolveShifted(inputs, g, kernel, bias, act, f0, 0);
    }

    /// @dev `_convolve` of a plain Conv2D or Conv1D: in INT16/INT8 its input narrowed by
    ///      `_windowShift` first, K = kh·kw·cin taps (the reference rounds it likewise). Then
    ///      |x| ≤ 1 (2^32) gives |x'| ≤ 2^(32−e), so every lane sum of eight INT8 filters stays
    ///      below 2^31 (K·2^(24−c)·127) and of six INT16 filters below 2^41 (K·2^(26−c)·32767).
    function _convolveNarrowed(
        int256[] calldata inputs,
        Geometry memory g,
        Raw memory kernel,
        int256[] memory bias,
        uint8 act,
        uint256 f0
    ) internal pure returns (int256[] memory out) {
        out = _convolveShifted(inputs, g, kernel, bias, act, f0, _windowShift(kernel, g.kh * g.kw * g.cin));
    }

    /// @dev The input shift of a plain convolution whose windows have `taps` taps (the
    ///      reference's `quant::input_shift` with `Sums::Window`): `_inputShift`'s, six more in
    ///      INT16 so that six filters or pixels share a multiplication in 42-bit lanes (a Dense's
    ///      INT16 columns keep 48-bit lanes, which line up with its 16-bit stored values).
    function _windowShift(Raw memory kernel, uint256 taps) internal pure returns (uint256 e) {
        if (kernel.scales == 0 || kernel.width > 2) return 0;
        e = _inputShift(kernel, taps) + (kernel.width == 2 ? 6 : 0);
    }

    function _convolveShifted(
        int256[] calldata inputs,
        Geometry memory g,
        Raw memory kernel,
        int256[] memory bias,
        uint8 act,
        uint256 f0,
        uint256 e
    ) private pure returns (int256[] memory out) {
        if (_hosts(inputs, g, kernel, e)) {
            out = _convolveHosted(inputs, g, kernel, bias, f0, e);
            Fixed.activate(_ptr(out), out.length, act, g.f);
            return out;
        }
        // Rows and columns the windows reach: the padded input.
        uint256 hp = (g.oh - 1) * g.sh + g.kh;
        uint256 wp = (g.ow - 1) * g.sw + g.kw;
        int256[] memory x = new int256[](hp * wp * g.cin);
        uint256 maxX = e == 0 ? _padInto(inputs, g, x, hp, wp) : _padNarrowed(inputs, g, x, hp, wp, e);
        out = _convolvePadded(x, maxX, g, kernel, bias, act, f0, e);
    }

    /// @dev Whether `_convolveHosted` takes this convolution: a narrowed one (e > 0: INT8 or INT16
    ///      with scales) with stride 1 along the row and 2 ≤ kw ≤ L − 1 (L = 8 or 6 lanes: at
    ///      least two pixels a group), whose lane sums stay below their sign bit, and where it
    ///      takes at most 3/4 of the multiplications of this contract's own widest lanes
    ///      (`_widest`, `_muls`), per window row and output row: ⌈ow / Q⌉ groups of Q = L − kw + 1
    ///      pixels times the filters in blocks of six, against kw taps of `_muls`; or, above that,
    ///      with at least 2k output columns and 16k of the layer's own multiplications in all
    ///      (kw·`_muls`·oh·kh·cin), k = 1 for up to six filters (one block), else 2. Measured with
    ///      scripts/bench-conv-kernel, host forced against layer forced: at 3/4 or less the host
    ///      won 4–30 % on 22 shapes but one (a Conv1D of 3 taps in INT8, +2 % at 0.56). Of 496
    ///      shapes above it (4·hosted / 3·own 1.07–8, 1–19 filters, kh 1–5, kw 2–7, ow 1–16, both
    ///      widths) the second clause takes 181, every one cheaper (−2 … −59 %, median −30 %). The
    ///      host would win on 235 of the 315 it leaves, but not on layers of ≤ 12 own
    ///      multiplications (+1 … +22 %: the call's fixed cost), one output column with kw = 2 (Q
    ///      − 1 of a group's Q pixels idle: +5 … +19 % at 3–6 filters, growing with size), nor
    ///      7–19 filters over 1–3 columns, which the layer's eight lanes take in one to three
    ///      multiplications a tap (+0 … +19 %; +11 % for 16 filters of 2 columns and 16 channels).
    ///      The lane bound is `_lanes`' at L (lane sums |S| ≤ max|x'| · max|q| · taps below
    ///      2^(b−1), b = 32 or 42 bits), checked without the max|x'| itself: every |x'| within
    ///      the bound of the stored width's max|q| (2^(8·width − 1), the common case: inputs up
    ///      to ≈ 1.3), else within twice that and the kernel's real max|q| (`_lanes` scans the
    ///      kernel likewise only when half the width's bound would pass). The one case where
    ///      `_lanes` would say otherwise is a kernel of zeros with larger inputs (it may then
    ///      take L lanes): it goes to the layer's own lanes, the same outputs.
    function _hosts(int256[] calldata inputs, Geometry memory g, Raw memory kernel, uint256 e)
        private
        pure
        returns (bool)
    {
        if (e == 0 || g.sw != 1) return false;
        uint256 lanes = kernel.width == 1 ? 8 : 6;
        if (g.kw < 2 || g.kw >= lanes) return false;
        uint256 hosted = ((g.ow + lanes - g.kw) / (lanes - g.kw + 1)) * ((g.f + 5) / 6) * 6;
        uint256 own = g.kw * _muls(g, _widest(g, e, kernel.width));
        if (4 * hosted > 3 * own) {
            uint256 k = g.f > 6 ? 2 : 1;
            if (g.ow < 2 * k) return false;
            // Only which path computes: both give the same outputs (a wrapped product too).
            unchecked {
                if (own * g.oh * g.kh * g.cin < 16 * k) return false;
            }
        }
        uint256 taps = g.kh * g.kw * g.cin;
        if (taps >= 2 ** 64) return false;
        uint256 top = lanes == 8 ? 2 ** 31 : 2 ** 41;
        uint256 bound = (1 << (8 * kernel.width - 1)) * taps;
        if (_narrowedWithin(inputs, e, (top - 1) / bound)) return true;
        if (!_narrowedWithin(inputs, e, (2 * top - 1) / bound)) return false;
        uint256 maxQ = _maxQ(kernel);
        return maxQ == 0 || _narrowedWithin(inputs, e, (top - 1) / (maxQ * taps));
    }

    /// @dev Whether every narrowed input x' = (x + 2^(e−1)) >> e (e ≥ 1) has |x'| ≤ `x`
    ///      (x < 2^64). One comparison a raw value, no narrowing: |x'| ≤ X iff x + 2^(e−1) + X·2^e
    ///      (mod 2^256, as the narrowing wraps) ≤ (2X + 1)·2^e − 1, unsigned. ≈ 35 gas a value
    ///      where a max|x'| scan took ≈ 170 (fashion_mnist int8: conv1 784 inputs, conv2 1,176).
    function _narrowedWithin(int256[] calldata inputs, uint256 e, uint256 x) private pure returns (bool ok) {
        uint256 shift = (1 << (e - 1)) + (x << e);
        uint256 span = ((2 * x + 1) << e) - 1;
        uint256 n = inputs.length;
        assembly ("memory-safe") {
            let p := inputs.offset
            let end := add(p, shl(5, n))
            let bad := 0
            for { let end4 := add(p, shl(7, shr(2, n))) } lt(p, end4) { p := add(p, 0x80) } {
                bad := or(
                    bad,
                    or(
                        or(gt(add(calldataload(p), shift), span), gt(add(calldataload(add(p, 0x20)), shift), span)),
                        or(gt(add(calldataload(add(p, 0x40)), shift), span), gt(add(calldataload(add(p, 0x60)), shift), span))
                    )
                )
            }
            for {} lt(p, end) { p := add(p, 0x20) } { bad := or(bad, gt(add(calldataload(p), shift), span)) }
            ok := iszero(bad)
        }
    }

    /// @dev The convolution (before the activation) by one STATICCALL to `EternalConvKernel`
    ///      (`ConvKernelAddress`), raw mode: its 28-word header (see EternalConvKernel.sol),
    ///      `_terms` of ⌈f / 6⌉ blocks of six filters, the raw Q32.32 inputs and the stored
    ///      kernel bytes in one buffer; the kernel narrows and packs them itself and returns the
    ///      oh·ow·f outputs, copied straight into `out` over that buffer. Reverts with the callee's
    ///      revert data, or `ConvKernelMissing` when the address has no code.
    function _convolveHosted(
        int256[] calldata inputs,
        Geometry memory g,
        Raw memory kernel,
        int256[] memory bias,
        uint256 f0,
        uint256 e
    ) private pure returns (int256[] memory out) {
        uint256 lanes = kernel.width == 1 ? 8 : 6;
        uint256 b = lanes == 8 ? 32 : 42;
        uint256 termsWords = 2 * ((g.f + 5) / 6) * 6;
        uint256 kBytes = kernel.length * kernel.width;
        uint256 outLen = g.oh * g.ow * g.f;
        uint256 dLen = 28 + termsWords + inputs.length + (kBytes + 31) / 32;
        // The call's buffer d is out's memory (the answer lands over it): one allocation of
        // max(oh·ow·f, d's) words, neither zeroed but d's header and terms (the spare filters'
        // terms read 0; a partial last kernel word's tail is never read as a value), with d's
        // length in out's length word until the call.
        uint256[] memory d;
        assembly ("memory-safe") {
            out := mload(0x40)
            d := out
            mstore(d, dLen)
            let words := outLen
            if gt(dLen, words) { words := dLen }
            mstore(0x40, add(out, shl(5, add(words, 1))))
            calldatacopy(add(d, 0x20), calldatasize(), shl(5, add(28, termsWords)))
        }
        d[1] = b;
        d[2] = b * (g.kw - 1);
        for (uint256 l; l < lanes; ++l) {
            d[3] |= 1 << (b * l + b - 1);
        }
        (d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11]) =
            (lanes - g.kw + 1, g.f, g.oh, g.ow, g.pt, g.h, g.kh, g.cin);
        (d[12], d[13], d[16], d[17], d[18], d[19]) = ((g.oh - 1) * g.sh + g.kh, g.sh, 28 * 32, e, g.w, kernel.width);
        (d[20], d[21], d[22], d[23], d[26], d[27]) = (_stored(kernel, g, f0), f0, g.kw, lanes, 1, g.pl);
        d[24] = (28 + termsWords) * 32;
        d[25] = d[24] + inputs.length * 32;
        uint256 p;
        assembly ("memory-safe") {
            p := add(d, 0x20)
        }
        _terms(kernel, bias, g.f, f0, e, b, p + 28 * 32);
        uint256 kp = kernel.ptr;
        assembly ("memory-safe") {
            calldatacopy(add(p, mload(add(p, 0x300))), inputs.offset, shl(5, inputs.length))
            mcopy(add(p, mload(add(p, 0x320))), kp, kBytes)
            mstore(out, outLen)
        }
        _callKernel(p, dLen * 32, p, outLen * 32);
    }

    /// @dev `_convolveHosted`'s STATICCALL: `size` bytes of calldata at `p`, exactly `outBytes`
    ///      of answer written at `o`.
    function _callKernel(uint256 p, uint256 size, uint256 o, uint256 outBytes) private pure {
        address target = ConvKernelAddress.CONV_KERNEL;
        if (Fixed.callShared(target, p, size, o, outBytes)) revert ConvKernelMissing(target);
    }

    /// @dev The stored kernel's filters F (kernel [kh, kw, cin, F]); reverts unless the kernel
    ///      is whole taps and holds filters [f0, f0 + g.f).
    function _stored(Raw memory kernel, Geometry memory g, uint256 f0) private pure returns (uint256 stored) {
        uint256 taps = g.kh * g.kw * g.cin;
        stored = kernel.length / taps;
        if (kernel.length != taps * stored || f0 + g.f > stored) revert InvalidConfig(layerKind());
    }

    /// @dev `_convolve` of an input already in memory and padded: `x` is [hp, wp, cin] with
    ///      hp = (oh − 1)·sh + kh and wp = (ow − 1)·sw + kw, rows [pt, pt + h) real (the others
    ///      are skipped as padding), and max|x| ≤ `maxX`; filters [f0, f0 + g.f) as `_convolve`.
    ///      `x` holds x' = x >> e (narrowed, see `_inputShift`; e = 0: as is), so each filter's
    ///      multiplier is its scale << e.
    function _convolvePadded(
        int256[] memory x,
        uint256 maxX,
        Geometry memory g,
        Raw memory kernel,
        int256[] memory bias,
        uint8 act,
        uint256 f0,
        uint256 e
    ) internal pure returns (int256[] memory out) {
        uint256 wp = (g.ow - 1) * g.sw + g.kw;
        uint256 lanes = _lanes(kernel, g, maxX, _widest(g, e, kernel.width));
        // The lanes: of filters (the kernel packed, each input word read once per filter
        // group), or of adjacent output pixels of a row (`pixels`: the input packed, each
        // stored weight read once per `pixels` pixels) where that takes fewer multiplications.
        uint256 pixels = lanes > 1 && _byPixel(g, lanes) ? lanes : 0;
        uint256 bits = lanes == 8 ? 32 : (lanes == 6 ? 42 : 80);
        if (pixels != 0) {
            _packPixels(x, g, wp, pixels, bits);
            lanes = 1;
        }
        int256[] memory packed;
        (packed, lanes) = _pack(kernel, g, lanes, bits, f0);
        // Spare words after the output and the bias: `_pixels` writes all lanes of a group, so
        // a last group with fewer filters spills into the next pixel (written over later) or,
        // at the last pixel, into the spare words (up to seven); it reads bias words likewise.
        // By pixel, the last pixels of a row spill likewise into the next row (at the last
        // row: up to seven pixels of spare words).
        uint256 outLen = g.oh * g.ow * g.f;
        out = new int256[](outLen + (pixels > 1 ? (pixels - 1) * g.f : 0) + 8);
        assembly ("memory-safe") {
            mstore(out, outLen)
        }
        // Seven spare filters of zeros for the lanes of a last group that spill past g.f.
        int256[] memory terms = new int256[](2 * g.f + 16);
        _terms(kernel, bias, g.f, f0, e, bits, _ptr(terms));
        uint256 runBytes = g.kw * g.cin * 32;
        uint256 rowBytes = wp * g.cin * 32;
        Pass memory pass = Pass({
            p0: _ptr(packed),
            runBytes: runBytes,
            gap: rowBytes - runBytes,
            pixStep: g.sw * g.cin * 32,
            rowStep: g.sh * rowBytes,
            ow: g.ow,
            oh: g.oh,
            groups: (g.f + lanes - 1) / lanes,
            groupBytes: g.kh * runBytes,
            f: g.f,
            lanes: lanes,
            byPixel: pixels,
            bias0: _ptr(terms),
            span: 0,
            skip: 0,
            pt: g.pt,
            h: g.h,
            sh: g.sh,
            kh: g.kh,
            bits: bits
        });
        _pixels(pass, _ptr(x), _ptr(out));
        Fixed.activate(_ptr(out), out.length, act, g.f);
    }

    /// @dev Per filter i < f, two words from `t` on: the multiplier m_i that takes a sum of
    ///      stored integers to the values' terms (2^up, or filter f0 + i's scale << e in
    ///      INT16/INT8) and bias << 32, so an output is (S · m_i + bias << 32) >> 32 (S << up and
    ///      S · 2^up are the same bits). Lanes narrower than 80 bits are read biased by half a
    ///      lane (see `lane`): h·m less in the bias word. The caller's buffer holds spare filters
    ///      of zeros past f for the lanes of a last group that spill past it.
    function _terms(
        Raw memory kernel,
        int256[] memory bias,
        uint256 f,
        uint256 f0,
        uint256 e,
        uint256 bits,
        uint256 t
    ) private pure {
        uint256 sc = kernel.scales;
        uint256 up = kernel.up;
        for (uint256 i; i < f; ++i) {
            int256 b = f0 + i < bias.length ? bias[f0 + i] << 32 : int256(0);
            assembly ("memory-safe") {
                let at := add(t, shl(6, i))
                let m := shl(up, 1)
                if sc { m := shl(e, mload(add(sc, shl(5, add(f0, i))))) }
                mstore(at, m)
                // Wide lanes are read biased by half a lane (see `lane`): less h·m here.
                if lt(bits, 80) { b := sub(b, shl(sub(bits, 1), m)) }
                mstore(add(at, 0x20), b)
            }
        }
    }

    /// @dev Loop invariants of one convolution, read by `_pixels`'s assembly from memory
    ///      (field k at byte 32·k) so its loops stay within the EVM's 16 reachable stack slots.
    struct Pass {
        uint256 p0;
        uint256 runBytes;
        uint256 gap;
        uint256 pixStep;
        uint256 rowStep;
        uint256 ow;
        uint256 oh;
        uint256 groups;
        uint256 groupBytes;
        uint256 f;
        uint256 lanes;
        // n > 0: the n lanes of an accumulator are n adjacent output pixels of one filter
        // (`_packPixels`), `lanes` is then 1 (one filter per kernel word).
        uint256 byPixel;
        uint256 bias0;
        // Per output row: the window rows on real input (not padding) are [ky0, ky1); `skip` =
        // ky0 · runBytes and `span` = (ky1 − ky0) · runBytes of each group's kernel.
        uint256 span;
        uint256 skip;
        uint256 pt;
        uint256 h;
        uint256 sh;
        uint256 kh;
        // Bits of a lane: 80 (three lanes), 42 (six), 32 (eight).
        uint256 bits;
    }

    /// @dev Every output pixel, every filter, written from `outp` on (f words per pixel, filter
    ///      order). Memory layout assumed:
    ///      - x (padded input, int256 words) from `x0`: pixel (r, c) channel ci at
    ///        ((r·wp + c)·cin + ci)·32; a window row is `runBytes` contiguous bytes and the next
    ///        window row starts `gap` bytes after it ends;
    ///      - packed kernel from p0 (see `_pack`): groups in blocks of six, then the rest as a
    ///        block of three and a block of what is left (B = 6, 3, 2 or 1); inside a block
    ///        of B groups, tap after tap in the window's (ky, kx, ci) order, each tap B words
    ///        (one per group) — so a block's pointer only ever moves forward, B words per input
    ///        word, and a block of B groups starts at (first group)·groupBytes;
    ///      - bias0: f words, bias << 32 (zeros without bias).
    ///      Each input word is loaded once per block and multiplied into the B accumulators of
    ///      the block (dotB), which live on the stack (six is the most that fits the 16 reachable
    ///      slots without via-IR moving them to memory); two input words per loop iteration.
    function _pixels(Pass memory pass, uint256 x0, uint256 out0) internal pure {
        assembly ("memory-safe") {
            function dot6(a, b, s) -> c0, c1, c2, c3, c4, c5 {
                for { let end := add(b, mul(6, mload(add(s, 0x1a0)))) } lt(b, end) { a := add(a, mload(add(s, 0x40))) } {
                    let e := add(a, mload(add(s, 0x20)))
                    for { let e2 := sub(e, and(mload(add(s, 0x20)), 0x20)) } lt(a, e2) {
                        a := add(a, 0x40)
                        b := add(b, 0x180)
                    } {
                        let xa := mload(a)
                        let xb := mload(add(a, 0x20))
                        c0 := add(c0, add(mul(xa, mload(b)), mul(xb, mload(add(b, 0xc0)))))
                        c1 := add(c1, add(mul(xa, mload(add(b, 0x20))), mul(xb, mload(add(b, 0xe0)))))
                        c2 := add(c2, add(mul(xa, mload(add(b, 0x40))), mul(xb, mload(add(b, 0x100)))))
                        c3 := add(c3, add(mul(xa, mload(add(b, 0x60))), mul(xb, mload(add(b, 0x120)))))
                        c4 := add(c4, add(mul(xa, mload(add(b, 0x80))), mul(xb, mload(add(b, 0x140)))))
                        c5 := add(c5, add(mul(xa, mload(add(b, 0xa0))), mul(xb, mload(add(b, 0x160)))))
                    }
                    if lt(a, e) {
                        let x := mload(a)
                        c0 := add(c0, mul(x, mload(b)))
                        c1 := add(c1, mul(x, mload(add(b, 0x20))))
                        c2 := add(c2, mul(x, mload(add(b, 0x40))))
                        c3 := add(c3, mul(x, mload(add(b, 0x60))))
                        c4 := add(c4, mul(x, mload(add(b, 0x80))))
                        c5 := add(c5, mul(x, mload(add(b, 0xa0))))
                        a := add(a, 0x20)
                        b := add(b, 0xc0)
                    }
                }
            }
            function dot3(a, b, s) -> c0, c1, c2 {
                for { let end := add(b, mul(3, mload(add(s, 0x1a0)))) } lt(b, end) { a := add(a, mload(add(s, 0x40))) } {
                    let e := add(a, mload(add(s, 0x20)))
                    for { let e2 := sub(e, and(mload(add(s, 0x20)), 0x20)) } lt(a, e2) {
                        a := add(a, 0x40)
                        b := add(b, 0xc0)
                    } {
                        let x := mload(a)
                        c0 := add(c0, mul(x, mload(b)))
                        c1 := add(c1, mul(x, mload(add(b, 0x20))))
                        c2 := add(c2, mul(x, mload(add(b, 0x40))))
                        x := mload(add(a, 0x20))
                        c0 := add(c0, mul(x, mload(add(b, 0x60))))
                        c1 := add(c1, mul(x, mload(add(b, 0x80))))
                        c2 := add(c2, mul(x, mload(add(b, 0xa0))))
                    }
                    if lt(a, e) {
                        let x := mload(a)
                        c0 := add(c0, mul(x, mload(b)))
                        c1 := add(c1, mul(x, mload(add(b, 0x20))))
                        c2 := add(c2, mul(x, mload(add(b, 0x40))))
                        a := add(a, 0x20)
                        b := add(b, 0x60)
                    }
                }
            }
            // Two accumulators (two filter groups of eight or six lanes: wide lanes leave few
            // groups) take four taps an iteration, so the loop's tests and pointer moves are
            // shared by eight multiplications; the rest of a window row two taps, then one.
            function dot2(a, b, s) -> c0, c1 {
                for { let end := add(b, mul(2, mload(add(s, 0x1a0)))) } lt(b, end) { a := add(a, mload(add(s, 0x40))) } {
                    let e := add(a, mload(add(s, 0x20)))
                    for { let e4 := sub(e, and(mload(add(s, 0x20)), 0x60)) } lt(a, e4) {
                        a := add(a, 0x80)
                        b := add(b, 0x100)
                    } {
                        let x := mload(a)
                        c0 := add(c0, mul(x, mload(b)))
                        c1 := add(c1, mul(x, mload(add(b, 0x20))))
                        x := mload(add(a, 0x20))
                        c0 := add(c0, mul(x, mload(add(b, 0x40))))
                        c1 := add(c1, mul(x, mload(add(b, 0x60))))
                        x := mload(add(a, 0x40))
                        c0 := add(c0, mul(x, mload(add(b, 0x80))))
                        c1 := add(c1, mul(x, mload(add(b, 0xa0))))
                        x := mload(add(a, 0x60))
                        c0 := add(c0, mul(x, mload(add(b, 0xc0))))
                        c1 := add(c1, mul(x, mload(add(b, 0xe0))))
                    }
                    if lt(add(a, 0x20), e) {
                        let x := mload(a)
                        c0 := add(c0, mul(x, mload(b)))
                        c1 := add(c1, mul(x, mload(add(b, 0x20))))
                        x := mload(add(a, 0x20))
                        c0 := add(c0, mul(x, mload(add(b, 0x40))))
                        c1 := add(c1, mul(x, mload(add(b, 0x60))))
                        a := add(a, 0x40)
                        b := add(b, 0x80)
                    }
                    if lt(a, e) {
                        let x := mload(a)
                        c0 := add(c0, mul(x, mload(b)))
                        c1 := add(c1, mul(x, mload(add(b, 0x20))))
                        a := add(a, 0x20)
                        b := add(b, 0x40)
                    }
                }
            }
            function dot1(a, b, s) -> c0 {
                for { let end := add(b, mul(1, mload(add(s, 0x1a0)))) } lt(b, end) { a := add(a, mload(add(s, 0x40))) } {
                    let e := add(a, mload(add(s, 0x20)))
                    for { let e2 := sub(e, and(mload(add(s, 0x20)), 0x20)) } lt(a, e2) {
                        a := add(a, 0x40)
                        b := add(b, 0x40)
                    } {
                        let x := mload(a)
                        c0 := add(c0, mul(x, mload(b)))
                        x := mload(add(a, 0x20))
                        c0 := add(c0, mul(x, mload(add(b, 0x20))))
                    }
                    if lt(a, e) {
                        let x := mload(a)
                        c0 := add(c0, mul(x, mload(b)))
                        a := add(a, 0x20)
                        b := add(b, 0x20)
                    }
                }
            }
            // One lane of a wide accumulator biased by half a lane (every lane then holds
            // S + h, h = 2^(bits − 1), in [0, 2^bits): no borrows between lanes): output
            // (S · m + bias) >> 32 at o from the lane's bits u = and(acc, mask), as u · m +
            // bb with bb = bias − h · m (so stored, see `_convolvePadded`).
            function lane(acc, mask, o, m, bb) {
                mstore(o, sar(32, add(mul(and(acc, mask), m), bb)))
            }
            // Half a lane in every lane: eight of 32 bits or six of 42.
            function halves(bits) -> h {
                h := 0x800000000020000000000800000000020000000000800000000020000000000
                if eq(bits, 32) { h := 0x8000000080000000800000008000000080000000800000008000000080000000 }
            }
            // Six or eight pixels of one filter (at o, o + po, …): unrolled.
            function widePixels(acc, t, o, s, pixels) {
                let po := shl(5, mload(add(s, 0x120)))
                let m := mload(t)
                let bb := mload(add(t, 0x20))
                let bits := mload(add(s, 0x260))
                let mask := sub(shl(bits, 1), 1)
                acc := add(acc, halves(bits))
                lane(acc, mask, o, m, bb)
                acc := shr(bits, acc)
                o := add(o, po)
                lane(acc, mask, o, m, bb)
                acc := shr(bits, acc)
                o := add(o, po)
                lane(acc, mask, o, m, bb)
                acc := shr(bits, acc)
                o := add(o, po)
                lane(acc, mask, o, m, bb)
                acc := shr(bits, acc)
                o := add(o, po)
                lane(acc, mask, o, m, bb)
                acc := shr(bits, acc)
                o := add(o, po)
                if eq(pixels, 8) {
                    lane(acc, mask, o, m, bb)
                    acc := shr(bits, acc)
                    o := add(o, po)
                    lane(acc, mask, o, m, bb)
                    acc := shr(bits, acc)
                    o := add(o, po)
                }
                lane(acc, mask, o, m, bb)
            }
            // Six filters in 42-bit lanes or eight in 32-bit ones (at o, o + 32, …).
            function wideFilters(acc, t, o, s, lanes) {
                let bits := mload(add(s, 0x260))
                let mask := sub(shl(bits, 1), 1)
                acc := add(acc, halves(bits))
                for { let end := add(o, shl(5, lanes)) } lt(o, end) {
                    o := add(o, 0x20)
                    t := add(t, 0x40)
                } {
                    lane(acc, mask, o, mload(t), mload(add(t, 0x20)))
                    acc := shr(bits, acc)
                }
            }
            // y = (S · m + bias << 32) >> 32 for the `lanes` filters of one group accumulator
            // from filter fi on (m, bias << 32: the two words of each filter at Pass.bias0, see
            // `_convolvePadded`): S_0 = the low 80 bits sign-extended, then an exact SAR by 80
            // (every |S_l| < 2^79, see `_pack`). All three lanes are written even past the last
            // filter (see the spare words in `_convolvePadded`).
            function emit(acc, fi, outp, s) {
                let t := add(mload(add(s, 0x180)), shl(6, fi))
                let o := add(outp, shl(5, fi))
                // The two three-lane cases (compact and exact) take the fewest tests.
                let pixels := mload(add(s, 0x160))
                if eq(pixels, 3) {
                    // Lanes of pixels ox, ox + 1, ox + 2, filter fi: outputs f words apart.
                    let po := shl(5, mload(add(s, 0x120)))
                    let m := mload(t)
                    let bb := mload(add(t, 0x20))
                    let v := signextend(9, acc)
                    mstore(o, sar(32, add(mul(v, m), bb)))
                    acc := sar(80, sub(acc, v))
                    v := signextend(9, acc)
                    mstore(add(o, po), sar(32, add(mul(v, m), bb)))
                    mstore(add(o, shl(1, po)), sar(32, add(mul(sar(80, sub(acc, v)), m), bb)))
                    leave
                }
                let lanes := mload(add(s, 0x140))
                switch lanes
                case 3 {
                    // Lanes of filters fi, fi + 1, fi + 2: outputs one word apart.
                    let v := signextend(9, acc)
                    mstore(o, sar(32, add(mul(v, mload(t)), mload(add(t, 0x20)))))
                    acc := sar(80, sub(acc, v))
                    v := signextend(9, acc)
                    mstore(add(o, 0x20), sar(32, add(mul(v, mload(add(t, 0x40))), mload(add(t, 0x60)))))
                    mstore(add(o, 0x40), sar(32, add(mul(sar(80, sub(acc, v)), mload(add(t, 0x80))), mload(add(t, 0xa0)))))
                }
                case 1 {
                    switch pixels
                    case 0 { mstore(o, sar(32, add(mul(acc, mload(t)), mload(add(t, 0x20))))) }
                    default { widePixels(acc, t, o, s, pixels) }
                }
                default { wideFilters(acc, t, o, s, lanes) }
            }
            function pixel(xp, outp, s) {
                let groups := mload(add(s, 0xe0))
                let lanes := mload(add(s, 0x140))
                let gb := mload(add(s, 0x100))
                let b := mload(s)
                for { let gr := 0 } lt(gr, groups) {} {
                    // Blocks as `_pack` lays them out: six, then three, then what is left.
                    let left := sub(groups, gr)
                    switch lt(left, 6)
                    case 0 {
                        let c0, c1, c2, c3, c4, c5 := dot6(xp, add(b, mul(6, mload(add(s, 0x1c0)))), s)
                        emit(c0, mul(gr, lanes), outp, s)
                        emit(c1, mul(add(gr, 1), lanes), outp, s)
                        emit(c2, mul(add(gr, 2), lanes), outp, s)
                        emit(c3, mul(add(gr, 3), lanes), outp, s)
                        emit(c4, mul(add(gr, 4), lanes), outp, s)
                        emit(c5, mul(add(gr, 5), lanes), outp, s)
                        gr := add(gr, 6)
                    }
                    default {
                        switch left
                        case 1 {
                            let c0 := dot1(xp, add(b, mload(add(s, 0x1c0))), s)
                            emit(c0, mul(gr, lanes), outp, s)
                            gr := add(gr, 1)
                        }
                        case 2 {
                            let c0, c1 := dot2(xp, add(b, mul(2, mload(add(s, 0x1c0)))), s)
                            emit(c0, mul(gr, lanes), outp, s)
                            emit(c1, mul(add(gr, 1), lanes), outp, s)
                            gr := add(gr, 2)
                        }
                        default {
                            let c0, c1, c2 := dot3(xp, add(b, mul(3, mload(add(s, 0x1c0)))), s)
                            emit(c0, mul(gr, lanes), outp, s)
                            emit(c1, mul(add(gr, 1), lanes), outp, s)
                            emit(c2, mul(add(gr, 2), lanes), outp, s)
                            gr := add(gr, 3)
                        }
                    }
                    b := add(mload(s), mul(gr, gb))
                }
            }
            let pixOut := shl(5, mload(add(pass, 0x120)))
            let outp := out0
            for { let oy := 0 } lt(oy, mload(add(pass, 0xc0))) { oy := add(oy, 1) } {
                // Window rows that fall on padding multiply zeros: skip them (the first ky0 and
                // those from ky1 on, for this output row).
                let top := mul(oy, mload(add(pass, 0x220)))
                let pt := mload(add(pass, 0x1e0))
                let ky0 := 0
                if gt(pt, top) { ky0 := sub(pt, top) }
                let ky1 := mload(add(pass, 0x240))
                let realEnd := add(pt, mload(add(pass, 0x200)))
                switch gt(realEnd, top)
                case 0 { ky1 := ky0 }
                default { if lt(sub(realEnd, top), ky1) { ky1 := sub(realEnd, top) } }
                if lt(ky1, ky0) { ky1 := ky0 }
                let run := mload(add(pass, 0x20))
                mstore(add(pass, 0x1a0), mul(sub(ky1, ky0), run))
                mstore(add(pass, 0x1c0), mul(ky0, run))
                let xp := add(add(x0, mul(oy, mload(add(pass, 0x80)))), mul(ky0, add(run, mload(add(pass, 0x40)))))
                let ox := 0
                outp := add(out0, mul(mul(oy, mload(add(pass, 0xa0))), pixOut))
                // n pixels per accumulator: a row in steps of n.
                let n := mload(add(pass, 0x160))
                if n {
                    for {} lt(ox, mload(add(pass, 0xa0))) { ox := add(ox, n) } {
                        pixel(xp, outp, pass)
                        xp := add(xp, mul(n, mload(add(pass, 0x60))))
                        outp := add(outp, mul(n, pixOut))
                    }
                }
                for {} lt(ox, mload(add(pass, 0xa0))) { ox := add(ox, 1) } {
                    pixel(xp, outp, pass)
                    xp := add(xp, mload(add(pass, 0x60)))
                    outp := add(outp, pixOut)
                }
            }
        }
    }

    /// @dev Copies the input rows into the zero buffer `x` ([hp, wp, cin]) at (pt, pl) and
    ///      returns max |x|.
    function _padInto(int256[] calldata inputs, Geometry memory g, int256[] memory x, uint256 hp, uint256 wp)
        internal
        pure
        returns (uint256 maxX)
    {
        uint256 cols = g.pl >= wp ? 0 : (g.w < wp - g.pl ? g.w : wp - g.pl);
        uint256 x0 = _ptr(x);
        for (uint256 y; y < g.h; ++y) {
            uint256 iy = y + g.pt;
            if (iy >= hp) break;
            uint256 dst = x0 + (iy * wp + g.pl) * g.cin * 32;
            uint256 src = y * g.w * g.cin;
            uint256 len = cols * g.cin * 32;
            assembly ("memory-safe") {
                calldatacopy(dst, add(inputs.offset, shl(5, src)), len)
            }
        }
        uint256 n = inputs.length;
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let v := calldataload(add(inputs.offset, shl(5, i)))
                if slt(v, 0) { v := sub(0, v) }
                if gt(v, maxX) { maxX := v }
            }
        }
    }

    /// @dev `_padInto` with every value narrowed on the way, x' = (x + 2^(e−1)) >> e (arithmetic:
    ///      round half up, as the reference's `quant::narrow`; e ≥ 1); returns max |x'| of the
    ///      values copied (the only ones a window reads).
    function _padNarrowed(
        int256[] calldata inputs,
        Geometry memory g,
        int256[] memory x,
        uint256 hp,
        uint256 wp,
        uint256 e
    ) internal pure returns (uint256 maxX) {
        uint256 cols = g.pl >= wp ? 0 : (g.w < wp - g.pl ? g.w : wp - g.pl);
        uint256 x0 = _ptr(x);
        uint256 half = 1 << (e - 1);
        for (uint256 y; y < g.h; ++y) {
            uint256 iy = y + g.pt;
            if (iy >= hp) break;
            uint256 dst = x0 + (iy * wp + g.pl) * g.cin * 32;
            uint256 src = y * g.w * g.cin;
            uint256 len = cols * g.cin * 32;
            assembly ("memory-safe") {
                let at := add(inputs.offset, shl(5, src))
                for { let end := add(dst, len) } lt(dst, end) {
                    dst := add(dst, 0x20)
                    at := add(at, 0x20)
                } {
                    let v := sar(e, add(calldataload(at), half))
                    mstore(dst, v)
                    if slt(v, 0) { v := sub(0, v) }
                    if gt(v, maxX) { maxX := v }
                }
            }
        }
    }

    /// @dev Repacks the kernel for `_pixels`: group gr holds filters gr·lanes + l (l < lanes) in
    ///      lanes of `bits` bits, Σ_l q_l · 2^(bits·l) (two's complement, mod 2^256). Groups come
    ///      in blocks of six, then the rest as a block of three and a block of what is left; the
    ///      word of group gr0 + k of a block of B at tap t = (ky·kw + kx)·cin + ci is gr0·taps +
    ///      t·B + k. The lanes: the most of those up to `most` (`_widest`: three, or eight /
    ///      six on narrowed inputs) whose sums cannot reach the lane's sign bit (max|x| ·
    ///      max|q| · kh·kw·cin < 2^79, 2^41, 2^31), else one. Only filters [f0, f0 +
    ///      g.f) of the stored kernel's F are packed (a slice of output channels); the stored
    ///      values are F to a tap.
    function _lanes(Raw memory kernel, Geometry memory g, uint256 maxX, uint256 most)
        internal
        pure
        returns (uint256 lanes)
    {
        uint256 taps = g.kh * g.kw * g.cin;
        if (maxX >= 2 ** 100 || taps >= 2 ** 64) return 1;
        uint256 width = kernel.width;
        // max|q| < 2^(8·width − 1) always; scan the kernel for the real max|q| only when that
        // bound may be too loose (the result is the same either way, only slower): for three
        // lanes whenever it fails, for more only when half of it would pass.
        uint256 bound = maxX * (1 << (8 * width - 1)) * taps;
        lanes = _fit(bound, most);
        if (lanes < most && (most == 3 || _fit(bound >> 1, most) > lanes)) {
            lanes = _fit(maxX * _maxQ(kernel) * taps, most);
        }
    }

    /// @dev max|q| of the stored kernel's values.
    function _maxQ(Raw memory kernel) internal pure returns (uint256 maxQ) {
        uint256 ptr = kernel.ptr;
        uint256 width = kernel.width;
        uint256 n = kernel.length;
        assembly ("memory-safe") {
            // Value i is the big-endian `width`-byte integer at ptr + i·width.
            let se := sub(width, 1)
            let sh := sub(256, shl(3, width))
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let q := signextend(se, shr(sh, mload(add(ptr, mul(i, width)))))
                if slt(q, 0) { q := sub(0, q) }
                if gt(q, maxQ) { maxQ := q }
            }
        }
    }

    /// @dev The widest lanes worth trying (`_lanes` may still take fewer): three, or on inputs
    ///      narrowed by e > 0 eight (INT8) or six (INT16) when they take at most 2/3 (lanes
    ///      of pixels) or 3/5 (of filters) of three lanes' multiplications (`_muls`), and by
    ///      filters serve more than six. Wide lanes pay per accumulator (packing, emit, few
    ///      groups in short dot loops) what they save per multiplication; measured with
    ///      scripts/bench-conv-kernel: five filter lanes at 2/3 lost 9–10 % (conv1d_gap1d,
    ///      mobilenet_block_fn), five pixel lanes at 2/3 tied (batchnorm_seq_cnn,
    ///      resnet_small_fn) and won 8–17 % at 0.6–0.625 (fashion_mnist, lenet_cnn); up to six
    ///      filters, two groups of three beat one of eight or five. With the groups' filters
    ///      spread evenly (`_pack`), wide lanes wherever they take fewer groups won 2–8 % on
    ///      3×3 windows (4–8 filters) but lost 4–8 % on short ones (1×1, a Conv1D's 3 or 5
    ///      taps; 6–8 filters): this rule kept (BENCHMARKS.md, `lanepick`).
    function _widest(Geometry memory g, uint256 e, uint256 width) internal pure returns (uint256 wide) {
        if (e == 0) return 3;
        wide = width == 1 ? 8 : 6;
        bool px = _byPixel(g, wide);
        if ((px ? 3 : 5) * _muls(g, wide) > (px ? 2 : 3) * _muls(g, 3) || (g.f <= 6 && !px)) wide = 3;
    }

    /// @dev Multiplications per tap and output row with `lanes` lanes (of pixels where
    ///      `_byPixel`, else of filters).
    function _muls(Geometry memory g, uint256 lanes) internal pure returns (uint256) {
        if (_byPixel(g, lanes)) return ((g.ow + lanes - 1) / lanes) * g.f;
        return g.ow * ((g.f + lanes - 1) / lanes);
    }

    /// @dev The most lanes, up to `most`, whose sums stay below their sign bit when every
    ///      |S| ≤ `bound`: eight of 32 bits, six of 42, three of 80, else one.
    function _fit(uint256 bound, uint256 most) internal pure returns (uint256) {
        if (most >= 8 && bound < 2 ** 31) return 8;
        if (most >= 6 && bound < 2 ** 41) return 6;
        return bound < 2 ** 79 ? 3 : 1;
    }

    /// @dev Whether `lanes` output pixels per accumulator (`_packPixels`) are cheaper than
    ///      `lanes` filters per accumulator. Three lanes: up to six filters (one block of
    ///      accumulators), f per three pixels (⌈ow / 3⌉ per row) against ⌈f / 3⌉ groups per
    ///      pixel, a pixel's two groups (4–6 filters) weighted 4/3 for their short loops
    ///      (measured with scripts/bench-conv-kernel). Six or eight lanes (narrowed inputs):
    ///      any filter count, when it takes no more multiplications — the pixels run in blocks
    ///      of six accumulators where the filters' one to four groups run in shorter loops
    ///      (fashion_mnist in int8: conv1 3.6M by filters, 2.1M by pixels; conv2, 32 against
    ///      28 multiplications a tap and row, 4.4M by pixels, 4.1M by filters) — or up to 8/7
    ///      of them when the filters fit one group, whose `dot1` loop is the slowest
    ///      (fashion_mnist's conv1 in int16, six filters: 30 against 28). Only for windows of
    ///      at least 4·sh·sw taps a channel: packing costs per input word, sh·sw·cin of them per
    ///      output pixel, and the saving is per tap, kh·kw·cin (a 1×1 or a strided 3×3
    ///      convolution loses).
    function _byPixel(Geometry memory g, uint256 lanes) internal pure returns (bool) {
        if (g.kh * g.kw < 4 * g.sh * g.sw) return false;
        if (lanes == 3) {
            return g.f <= 6 && ((g.ow + 2) / 3) * g.f * 3 < g.ow * ((g.f + 2) / 3) * (g.f > 3 ? 4 : 3);
        }
        uint256 px = ((g.ow + lanes - 1) / lanes) * g.f;
        uint256 byFilter = g.ow * ((g.f + lanes - 1) / lanes);
        return g.f > lanes ? px <= byFilter : 7 * px <= 8 * byFilter;
    }

    /// @dev The padded input `x` ([hp, wp, cin]) rewritten in place for `lanes` pixels per
    ///      accumulator: word (r, c, ci) becomes Σ_j x(r, c + j·sw, ci) · 2^(bits·j), j < lanes
    ///      (a column past wp counts 0), so a window of output pixel ox multiplies, in lane j,
    ///      the window of pixel ox + j. Three lanes: ascending order reads only words not yet
    ///      rewritten. Only rows on real input (the padding rows are zeros and skipped by
    ///      `_pixels`).
    function _packPixels(int256[] memory x, Geometry memory g, uint256 wp, uint256 lanes, uint256 bits)
        internal
        pure
    {
        uint256 rowW = wp * g.cin;
        uint256 st = g.sw * g.cin;
        uint256 r0 = g.pt * rowW;
        uint256 r1 = (g.pt + g.h) * rowW;
        if (r1 > x.length) r1 = x.length;
        assembly ("memory-safe") {
            let p := add(x, 0x20)
            let one := shl(5, st)
            let two := shl(1, one)
            switch gt(lanes, 3)
            case 1 {
                // Right to left, each word from the one a pixel step to its right (already
                // packed): w(c) = x(c) + w(c + st) << bits − x(c + lanes·st) << (lanes·bits)
                // (mod 2^256). The last term keeps only the low 256 − lanes·bits bits of
                // x(c + lanes·st), the low bits of its packed word (the lanes above lane 0 are
                // multiples of 2^bits): four bits for six lanes of 42, none (0) for eight of 32.
                let top := mul(lanes, bits)
                let far := mul(lanes, one)
                for { let r := r0 } lt(r, r1) { r := add(r, rowW) } {
                    let rowStart := add(p, shl(5, r))
                    let rowEnd := add(rowStart, shl(5, rowW))
                    for { let at := rowEnd } gt(at, rowStart) {} {
                        at := sub(at, 0x20)
                        let v := mload(at)
                        if lt(add(at, one), rowEnd) {
                            v := add(v, shl(bits, mload(add(at, one))))
                            if lt(add(at, far), rowEnd) { v := sub(v, shl(top, mload(add(at, far)))) }
                        }
                        mstore(at, v)
                    }
                }
            }
            default {
                for { let r := r0 } lt(r, r1) { r := add(r, rowW) } {
                    let at := add(p, shl(5, r))
                    let rowEnd := add(at, shl(5, rowW))
                    // Both other lanes in the row, then one, then none.
                    for { let e := sub(rowEnd, two) } lt(at, e) { at := add(at, 0x20) } {
                        mstore(at, add(mload(at), add(shl(80, mload(add(at, one))), shl(160, mload(add(at, two))))))
                    }
                    for { let e := sub(rowEnd, one) } lt(at, e) { at := add(at, 0x20) } {
                        mstore(at, add(mload(at), shl(80, mload(add(at, one)))))
                    }
                }
            }
        }
    }

    /// @dev The kernel packed for `_pixels` in `lanes` lanes of `bits` (see `_lanes`): filters
    ///      [f0, f0 + g.f) of the stored F. Returns it and the lanes a group really uses.
    function _pack(Raw memory kernel, Geometry memory g, uint256 lanes, uint256 bits, uint256 f0)
        internal
        pure
        returns (int256[] memory packed, uint256)
    {
        uint256 taps = g.kh * g.kw * g.cin;
        uint256 f = g.f;
        uint256 stored = _stored(kernel, g, f0);
        uint256 ptr = kernel.ptr;
        uint256 width = kernel.width;
        uint256 groups = (f + lanes - 1) / lanes;
        packed = new int256[](groups * taps);
        assembly ("memory-safe") {
            // Wide lanes (of 42 or 32 bits): as many groups, the filters spread evenly over
            // them, ⌈f / groups⌉ a group (8 filters in six lanes: two groups of four, not six
            // and two), so no lane is packed and emitted for nothing (mobilenet_block_fn's int8
            // stem: 337,757 → 305,938 gas, scripts/bench-conv-kernel INSCALE=3). Never three
            // (`_widest` sends up to six filters to three lanes of 80), one by pixels.
            if lt(bits, 80) { lanes := div(add(f, sub(groups, 1)), groups) }
            // Word by word in the packed order: block by block (six groups, then the rest as three
            // and what is left: the blocks `_pixels` walks), tap by tap, group by group. The
            // stored values of filters fi.. at tap t start at ptr + (t·F + f0 + fi)·width, so one MLOAD
            // holds a group's three (the buffer has a spare word for the last one). The lanes of a
            // last group past g.f hold whatever stored values follow (of the next tap or filter,
            // or the spare word's zeros): bounded like every q, they only feed outputs that are
            // written over (see `_convolvePadded`).
            let se := sub(width, 1)
            let sh := sub(256, shl(3, width))
            // The shifts of the second and third values: sh1 = sh − 8·width, 2·sh1 − sh.
            let sh1 := sub(sh, shl(3, width))
            let step := mul(lanes, width)
            let at := add(packed, 0x20)
            for { let gr0 := 0 } lt(gr0, groups) {} {
                let blockGroups := sub(groups, gr0)
                switch lt(blockGroups, 6)
                case 0 { blockGroups := 6 }
                default { if gt(blockGroups, 2) { blockGroups := 3 } }
                for { let t := 0 } lt(t, taps) { t := add(t, 1) } {
                    let p := add(add(ptr, mul(add(mul(t, stored), f0), width)), mul(gr0, step))
                    for { let e := add(p, mul(blockGroups, step)) } lt(p, e) { p := add(p, step) } {
                        let w := mload(p)
                        let word := signextend(se, shr(sh, w))
                        // Two's complement lane add: a negative q borrows from the lanes above,
                        // and the extraction in `_pixels` gives it back exactly.
                        switch lanes
                        case 3 {
                            word := add(word, add(shl(80, signextend(se, shr(sh1, w))), shl(160, signextend(se, shr(sub(shl(1, sh1), sh), w)))))
                        }
                        case 1 {}
                        default {
                            for { let l := 1 } lt(l, lanes) { l := add(l, 1) } {
                                word := add(word, shl(mul(l, bits), signextend(se, shr(sub(sh, mul(l, shl(3, width))), w))))
                            }
                        }
                        mstore(at, word)
                        at := add(at, 0x20)
                    }
                }
                gr0 := add(gr0, blockGroups)
            }
        }
        return (packed, lanes);
    }
}
