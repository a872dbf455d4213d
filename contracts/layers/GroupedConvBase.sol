// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ConvBase} from "./ConvBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {Activation, Padding} from "../lib/Types.sol";

/// @title GroupedConvBase
/// @notice The grouped convolution kernel of DepthwiseConv2D, SeparableConv2D and Conv2D with
///         groups > 1: `groups` independent convolutions, group g reading input channels
///         [g·cg, (g + 1)·cg) and writing filters [g·fg, (g + 1)·fg) (cg = cin / groups,
///         fg = f / groups). A DepthwiseConv2D with depth multiplier m is the case groups = cin,
///         f = cin·m, and its kernel [kh, kw, cin, m] is, value for value, the grouped kernel
///         [kh, kw, 1, cin·m]. Exact integer arithmetic, as ConvBase:
///         y = (Σ x · q · mult + bias << 32) >> 32, then the activation, where mult is 2^up or,
///         in INT16/INT8, the filter's scale — the reference's Σ (q · scale) · x bit for bit.
///         Also the base of the other convolution layers that a job step runs whole
///         (Conv2DTranspose, TimeDistributed): their `sliceInput` and config decoding.
abstract contract GroupedConvBase is ConvBase {
    /// @notice Not sliced inside a job (chained calls do slice it, by output rows, through
    ///         `forwardSlice`): a job step runs it whole, so this reverts unless a layer overrides
    ///         it (DepthwiseConv2D and SeparableConv2D do, with `_sliceWindow`; Conv2DTranspose
    ///         with its own rows).
    function sliceInput(uint256[] calldata, uint256[] calldata, uint256 from, uint256 count)
        external
        view
        virtual
        returns (uint256, uint256, uint256)
    {
        revert OutputSliceOutOfRange(from, count, 0);
    }

    /// @dev `sliceInput` for a layer whose `forwardSlice` takes the input rows its output rows
    ///      [from, from + count) read (`_sliceRows`): the output rows and those input rows.
    function _sliceWindow(Geometry memory g, uint256 from, uint256 count)
        internal
        pure
        returns (uint256 length, uint256 first, uint256 last)
    {
        _checkSlice(from, count, g.oh);
        (uint256 rows, uint256 padBefore) = _windowRows(from, count, g.kh, g.sh, g.pt, g.h);
        first = padBefore + from * g.sh - g.pt;
        return (g.oh, first, first + rows);
    }

    /// @notice The fields every convolution config of these layers starts with:
    ///         `abi.encode(uint8 activation, uint256 inputFilters, uint256 filters,
    ///         uint256[2] kernelSize, uint256[2] strides, uint8 padding, bool useBias, …)`
    ///         (DepthwiseConv2D and SeparableConv2D add one uint256).
    struct ConvConfig {
        /// `Activation` code.
        uint8 activation;
        /// Input channels.
        uint256 inputFilters;
        /// Output channels.
        uint256 filters;
        /// Kernel (rows, cols).
        uint256[2] kernelSize;
        /// Strides (rows, cols).
        uint256[2] strides;
        /// `Padding` code.
        uint8 padding;
        /// Whether a bias tensor follows the kernel(s).
        bool useBias;
    }

    /// @dev The common fields of `data`.
    function _decodeConv(bytes memory data) internal pure returns (ConvConfig memory c) {
        (c.activation, c.inputFilters, c.filters, c.kernelSize, c.strides, c.padding, c.useBias) =
            abi.decode(data, (uint8, uint256, uint256, uint256[2], uint256[2], uint8, bool));
    }

    /// @dev The common fields of `data` and the uint256 after them.
    function _decodeConvAnd(bytes memory data) internal pure returns (ConvConfig memory c, uint256 extra) {
        (c.activation, c.inputFilters, c.filters, c.kernelSize, c.strides, c.padding, c.useBias, extra) =
            abi.decode(data, (uint8, uint256, uint256, uint256[2], uint256[2], uint8, bool, uint256));
    }

    /// @dev Whether the common fields are in range (padding at most `maxPadding`).
    function _convOk(ConvConfig memory c, uint8 maxPadding) internal pure returns (bool) {
        return c.activation < Activation.COUNT && c.inputFilters > 0 && c.filters > 0 && c.kernelSize[0] > 0
            && c.kernelSize[1] > 0 && c.strides[0] > 0 && c.strides[1] > 0 && c.padding <= maxPadding;
    }

    // Byte offsets of the loop constants `_grouped`'s assembly reads from memory: one flat loop
    // nest with few live variables, so that no variable is moved to memory (viaIR's stack-limit
    // evader would make every access an MLOAD/MSTORE).
    uint256 private constant _ROW = 0x00; // bytes per padded input row: wp·cin·32
    uint256 private constant _PIX = 0x20; // bytes per input pixel: cin·32
    uint256 private constant _KH = 0x40; // kernel rows
    uint256 private constant _RUN = 0x60; // bytes of a window row: kw·cin·32
    uint256 private constant _CGB = 0x80; // bytes of a group's channels: cg·32
    uint256 private constant _MUL0 = 0xa0; // address of the per-filter multipliers' first word
    uint256 private constant _ROW_STEP = 0xc0; // sh·_ROW
    uint256 private constant _PIX_STEP = 0xe0; // sw·_PIX
    uint256 private constant _OH = 0x100;
    uint256 private constant _OW = 0x120;
    uint256 private constant _F = 0x140; // filters
    uint256 private constant _FG = 0x160; // filters per group
    uint256 private constant _KW = 0x180; // kernel columns
    uint256 private constant _X0 = 0x1a0; // address of x[0]
    uint256 private constant _K0 = 0x1c0; // address of the repacked kernel's first word
    uint256 private constant _B0 = 0x1e0; // address of the shifted bias's first word

    /// @dev The grouped convolution of the padded input `x` ([hp, wp, cin] in memory, windows in
    ///      range: hp = (oh − 1)·sh + kh, wp = (ow − 1)·sw + kw) with `kernel` ([kh, kw, cg, f] as
    ///      stored) and `bias` (f Q32.32 values or none), then activation `act`.
    function _grouped(
        int256[] memory x,
        Geometry memory g,
        uint256 groups,
        Raw memory kernel,
        int256[] memory bias,
        uint8 act
    ) internal pure returns (int256[] memory out) {
        uint256 f = g.f;
        uint256 cg = g.cin / groups;
        uint256 taps = g.kh * g.kw * cg;
        if (kernel.length != taps * f) revert InvalidConfig(layerKind());
        // The kernel filter by filter, each filter's taps in window order: k[o·taps + t] = q(t·f + o).
        int256[] memory k = new int256[](taps * f);
        {
            uint256 ptr = kernel.ptr;
            uint256 width = kernel.width;
            assembly ("memory-safe") {
                let se := sub(width, 1)
                let sh := sub(256, shl(3, width))
                let at := add(k, 0x20)
                for { let o := 0 } lt(o, f) { o := add(o, 1) } {
                    for { let t := 0 } lt(t, taps) { t := add(t, 1) } {
                        mstore(at, signextend(se, shr(sh, mload(add(ptr, mul(add(mul(t, f), o), width))))))
                        at := add(at, 0x20)
                    }
                }
            }
        }
        int256[] memory b = new int256[](f);
        for (uint256 i; i < bias.length && i < f; ++i) {
            b[i] = bias[i] << 32;
        }
        // Filter fi's Σ q·x in Q32.32 terms: times 2^up, or (INT16/INT8) times the scale of its
        // stored channel fi mod C (C = the kernel's last axis: m for a depthwise kernel
        // [kh, kw, cin, m], f for a grouped one) — every tap of a filter shares that channel.
        int256[] memory mult = new int256[](f);
        {
            uint256 channels = kernel.channels;
            if (kernel.scales != 0 && (channels == 0 || f % channels != 0)) revert InvalidConfig(layerKind());
            for (uint256 i; i < f; ++i) {
                mult[i] = kernel.scales == 0 ? int256(1 << kernel.up) : _scaled(kernel, i % channels, 1);
            }
        }
        uint256 wp = (g.ow - 1) * g.sw + g.kw;
        uint256[] memory s = new uint256[](16);
        s[0] = wp * g.cin * 32;
        s[1] = g.cin * 32;
        s[2] = g.kh;
        s[3] = g.kw * g.cin * 32;
        s[4] = cg * 32;
        s[5] = _ptr(mult);
        s[6] = g.sh * s[0];
        s[7] = g.sw * s[1];
        s[8] = g.oh;
        s[9] = g.ow;
        s[10] = f;
        s[11] = f / groups;
        s[12] = g.kw;
        s[13] = _ptr(x);
        s[14] = _ptr(k);
        s[15] = _ptr(b);
        out = new int256[](g.oh * g.ow * f);
        assembly ("memory-safe") {
            let c := add(s, 0x20)
            let o := add(out, 0x20)
            switch eq(mload(add(c, _CGB)), 0x20)
            case 1 {
                // One channel per group (depthwise): filter fi reads channel fi / fg, one value
                // per window pixel, the pixels of a window row three at a time.
                for { let oy := 0 } lt(oy, mload(add(c, _OH))) { oy := add(oy, 1) } {
                    let base := add(mload(add(c, _X0)), mul(oy, mload(add(c, _ROW_STEP))))
                    for { let ox := mload(add(c, _OW)) } ox { ox := sub(ox, 1) } {
                        let kb := mload(add(c, _K0))
                        for { let fi := 0 } lt(fi, mload(add(c, _F))) { fi := add(fi, 1) } {
                            let xb := add(base, shl(5, div(fi, mload(add(c, _FG)))))
                            let acc := 0
                            for { let ky := mload(add(c, _KH)) } ky { ky := sub(ky, 1) } {
                                let p := xb
                                let n := mload(add(c, _KW))
                                for {} gt(n, 2) { n := sub(n, 3) } {
                                    let pix := mload(add(c, _PIX))
                                    acc := add(
                                        acc,
                                        add(
                                            add(mul(mload(p), mload(kb)), mul(mload(add(p, pix)), mload(add(kb, 0x20)))),
                                            mul(mload(add(p, shl(1, pix))), mload(add(kb, 0x40)))
                                        )
                                    )
                                    p := add(p, mul(3, pix))
                                    kb := add(kb, 0x60)
                                }
                                for {} n { n := sub(n, 1) } {
                                    acc := add(acc, mul(mload(p), mload(kb)))
                                    p := add(p, mload(add(c, _PIX)))
                                    kb := add(kb, 0x20)
                                }
                                xb := add(xb, mload(add(c, _ROW)))
                            }
                            mstore(
                                o,
                                sar(
                                    32,
                                    add(
                                        mul(acc, mload(add(mload(add(c, _MUL0)), shl(5, fi)))),
                                        mload(add(mload(add(c, _B0)), shl(5, fi)))
                                    )
                                )
                            )
                            o := add(o, 0x20)
                        }
                        base := add(base, mload(add(c, _PIX_STEP)))
                    }
                }
            }
            default {
                // cg > 1 channels per group, contiguous in x and in the kernel.
                for { let oy := 0 } lt(oy, mload(add(c, _OH))) { oy := add(oy, 1) } {
                    let base := add(mload(add(c, _X0)), mul(oy, mload(add(c, _ROW_STEP))))
                    for { let ox := mload(add(c, _OW)) } ox { ox := sub(ox, 1) } {
                        let kb := mload(add(c, _K0))
                        for { let fi := 0 } lt(fi, mload(add(c, _F))) { fi := add(fi, 1) } {
                            let xb := add(base, mul(div(fi, mload(add(c, _FG))), mload(add(c, _CGB))))
                            let acc := 0
                            for { let ky := mload(add(c, _KH)) } ky { ky := sub(ky, 1) } {
                                for { let p := xb } lt(p, add(xb, mload(add(c, _RUN)))) { p := add(p, mload(add(c, _PIX))) } {
                                    for { let q := p } lt(q, add(p, mload(add(c, _CGB)))) { q := add(q, 0x20) } {
                                        acc := add(acc, mul(mload(q), mload(kb)))
                                        kb := add(kb, 0x20)
                                    }
                                }
                                xb := add(xb, mload(add(c, _ROW)))
                            }
                            mstore(
                                o,
                                sar(
                                    32,
                                    add(
                                        mul(acc, mload(add(mload(add(c, _MUL0)), shl(5, fi)))),
                                        mload(add(mload(add(c, _B0)), shl(5, fi)))
                                    )
                                )
                            )
                            o := add(o, 0x20)
                        }
                        base := add(base, mload(add(c, _PIX_STEP)))
                    }
                }
            }
        }
        Fixed.activate(_ptr(out), out.length, act, f);
    }

    /// @dev The input [h, w, cin] (calldata) copied into a zero buffer [hp, wp, cin] at (pt, pl):
    ///      every window of `g` in range.
    function _padded(int256[] calldata inputs, Geometry memory g) internal pure returns (int256[] memory x, uint256 maxX) {
        uint256 hp = (g.oh - 1) * g.sh + g.kh;
        uint256 wp = (g.ow - 1) * g.sw + g.kw;
        x = new int256[](hp * wp * g.cin);
        maxX = _padInto(inputs, g, x, hp, wp);
    }

    /// @dev The geometry of a [h, w, cin] → [oh, ow, f] window op from its config fields.
    function _geometryOf(uint256[] memory s, uint256 cin, uint256 f, uint256[2] memory k, uint256[2] memory st, uint8 padding)
        internal
        pure
        returns (Geometry memory g)
    {
        if (s.length != 3 || s[2] != cin) revert InputShapeMismatch(0);
        (g.h, g.w, g.cin, g.f) = (s[0], s[1], cin, f);
        (g.kh, g.kw, g.sh, g.sw) = (k[0], k[1], st[0], st[1]);
        g.oh = _convOutLen(g.h, g.kh, g.sh, padding);
        g.ow = _convOutLen(g.w, g.kw, g.sw, padding);
        g.pt = _convPadBefore(g.h, g.oh, g.kh, g.sh, padding);
        g.pl = _convPadBefore(g.w, g.ow, g.kw, g.sw, padding);
    }

    /// @dev `g` cut to output rows [from, from + count), whose input rows alone are `inputs`.
    function _sliceRows(int256[] calldata inputs, Geometry memory g, uint256 from, uint256 count) internal pure {
        _checkSlice(from, count, g.oh);
        (g.h, g.pt) = _windowRows(from, count, g.kh, g.sh, g.pt, g.h);
        g.oh = count;
        if (inputs.length != g.h * g.w * g.cin) revert InputShapeMismatch(0);
    }
}
