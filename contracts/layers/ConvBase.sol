// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Fixed} from "../lib/Fixed.sol";

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
abstract contract ConvBase is LayerBase {
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

    /// @dev The convolution of `inputs` ([h, w, cin], calldata) with the kernel `kernel`
    ///      ([kh, kw, cin, f] as stored) and `bias` (f values or none), then activation `act`.
    function _convolve(
        int256[] calldata inputs,
        Geometry memory g,
        Raw memory kernel,
        int256[] memory bias,
        uint8 act
    ) internal pure returns (int256[] memory out) {
        // Rows and columns the windows reach: the padded input.
        uint256 hp = (g.oh - 1) * g.sh + g.kh;
        uint256 wp = (g.ow - 1) * g.sw + g.kw;
        int256[] memory x = new int256[](hp * wp * g.cin);
        uint256 maxX = _padInto(inputs, g, x, hp, wp);
        (uint256 lanes, int256[] memory packed) = _pack(kernel, g, maxX);
        out = new int256[](g.oh * g.ow * g.f);
        int256[] memory biasShifted = new int256[](g.f);
        for (uint256 i; i < bias.length && i < g.f; ++i) {
            biasShifted[i] = bias[i] << 32;
        }
        uint256 runBytes = g.kw * g.cin * 32;
        uint256 rowBytes = wp * g.cin * 32;
        Pass memory pass = Pass({
            p0: _ptr(packed),
            runBytes: runBytes,
            run4Bytes: runBytes & ~uint256(0x7f),
            gap: rowBytes - runBytes,
            groupBytes: g.kh * runBytes,
            pixStep: g.sw * g.cin * 32,
            ow: g.ow,
            f: g.f,
            lanes: lanes,
            up: kernel.up,
            bias0: _ptr(biasShifted),
            remBytes: runBytes & 0x7f
        });
        uint256 outp = _ptr(out);
        for (uint256 oy; oy < g.oh; ++oy) {
            outp = _outputRow(pass, _ptr(x) + oy * g.sh * rowBytes, outp);
        }
        Fixed.activate(_ptr(out), out.length, act, g.f);
    }

    /// @dev Loop invariants of one convolution, read by `_outputRow`'s assembly from memory
    ///      (field k at byte 32·k) so its loops stay within the EVM's 16 reachable stack slots.
    struct Pass {
        uint256 p0;
        uint256 runBytes;
        uint256 run4Bytes;
        uint256 gap;
        uint256 groupBytes;
        uint256 pixStep;
        uint256 ow;
        uint256 f;
        uint256 lanes;
        uint256 up;
        uint256 bias0;
        uint256 remBytes;
    }

    /// @dev One row of output pixels, every filter, written from `outp` on; returns the next
    ///      output pointer. Memory layout assumed:
    ///      - x (padded input, int256 words): pixel (r, c) channel ci at
    ///        xrow-relative offset (c·cin + ci)·32; a window row is `runBytes` contiguous bytes and
    ///        the next window row starts `gap` bytes after it ends;
    ///      - packed kernel from p0: group after group (`groupBytes` each), inside a group window
    ///        row after window row (`runBytes` each) in the same (kx, ci) order as x — so the
    ///        kernel pointer only ever moves forward within a pixel;
    ///      - bias0: f words, bias << 32 (zeros without bias); out: f words per pixel, filter order.
    function _outputRow(Pass memory s, uint256 xp, uint256 outp) internal pure returns (uint256) {
        // Few live variables on purpose: with more than 16, via-IR moves a, b and acc to memory
        // and every product pays two extra MLOADs. Invariants are read from `s` instead.
        assembly ("memory-safe") {
            let xEnd := add(xp, mul(mload(add(s, 0xc0)), mload(add(s, 0xa0))))
            for {} lt(xp, xEnd) { xp := add(xp, mload(add(s, 0xa0))) } {
                let b := mload(s)
                let left := mload(add(s, 0xe0))
                for {} left {} {
                    let acc := 0
                    let a := xp
                    let bEnd := add(b, mload(add(s, 0x80)))
                    for {} lt(b, bEnd) {} {
                        let e := add(a, mload(add(s, 0x40)))
                        // Four packed products (up to 12 MACs) per iteration, then the rest.
                        for {} lt(a, e) {} {
                            acc := add(acc, mul(mload(a), mload(b)))
                            acc := add(acc, mul(mload(add(a, 0x20)), mload(add(b, 0x20))))
                            acc := add(acc, mul(mload(add(a, 0x40)), mload(add(b, 0x40))))
                            acc := add(acc, mul(mload(add(a, 0x60)), mload(add(b, 0x60))))
                            a := add(a, 0x80)
                            b := add(b, 0x80)
                        }
                        e := add(e, mload(add(s, 0x160)))
                        for {} lt(a, e) {} {
                            acc := add(acc, mul(mload(a), mload(b)))
                            a := add(a, 0x20)
                            b := add(b, 0x20)
                        }
                        a := add(a, mload(add(s, 0x60)))
                    }
                    // Split the lanes: S_0 = low 80 bits sign-extended, then an exact SAR by 80
                    // (every |S_l| < 2^79, see `_pack`); y = ((S << up) + bias << 32) >> 32.
                    let bp := add(mload(add(s, 0x140)), shl(5, sub(mload(add(s, 0xe0)), left)))
                    switch mload(add(s, 0x100))
                    case 1 {
                        mstore(outp, sar(32, add(shl(mload(add(s, 0x120)), acc), mload(bp))))
                        outp := add(outp, 0x20)
                        left := sub(left, 1)
                    }
                    default {
                        let v := signextend(9, acc)
                        acc := sar(80, sub(acc, v))
                        mstore(outp, sar(32, add(shl(mload(add(s, 0x120)), v), mload(bp))))
                        outp := add(outp, 0x20)
                        left := sub(left, 1)
                        if left {
                            v := signextend(9, acc)
                            acc := sar(80, sub(acc, v))
                            mstore(outp, sar(32, add(shl(mload(add(s, 0x120)), v), mload(add(bp, 0x20)))))
                            outp := add(outp, 0x20)
                            left := sub(left, 1)
                            if left {
                                mstore(outp, sar(32, add(shl(mload(add(s, 0x120)), acc), mload(add(bp, 0x40)))))
                                outp := add(outp, 0x20)
                                left := sub(left, 1)
                            }
                        }
                    }
                }
            }
        }
        return outp;
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

    /// @dev Repacks the kernel: word ((grp·kh + ky)·kw + kx)·cin + ci holds, in lane l, the q of
    ///      filter grp·lanes + l at (ky, kx, ci). Three lanes when no lane sum can reach 2^79
    ///      (max|x| · max|q| · kh·kw·cin < 2^79), else one.
    function _pack(Raw memory kernel, Geometry memory g, uint256 maxX)
        internal
        pure
        returns (uint256 lanes, int256[] memory packed)
    {
        uint256 taps = g.kh * g.kw * g.cin;
        if (kernel.length != taps * g.f) revert InvalidConfig(layerKind());
        uint256 maxQ;
        for (uint256 i; i < kernel.length; ++i) {
            int256 q = _q(kernel, i);
            uint256 a = uint256(q < 0 ? -q : q);
            if (a > maxQ) maxQ = a;
        }
        lanes = (maxX < 2 ** 100 && taps < 2 ** 64 && maxX * maxQ * taps < 2 ** 79) ? 3 : 1;
        uint256 groups = (g.f + lanes - 1) / lanes;
        packed = new int256[](groups * taps);
        uint256 p0 = _ptr(packed);
        for (uint256 t; t < taps; ++t) {
            for (uint256 fi; fi < g.f; ++fi) {
                int256 q = _q(kernel, t * g.f + fi);
                uint256 at = p0 + ((fi / lanes) * taps + t) * 32;
                uint256 lane = (fi % lanes) * 80;
                assembly ("memory-safe") {
                    // Two's complement lane add: a negative q borrows from the lanes above, and
                    // the extraction in `_unpack` gives it back exactly.
                    mstore(at, add(mload(at), shl(lane, q)))
                }
            }
        }
    }
}
