// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GroupedConvBase} from "./GroupedConvBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {LayerKind, Padding, WeightTensor} from "../lib/Types.sol";

/// @title Conv2DTransposeLayer
/// @notice Keras `Conv2DTranspose` (channels_last, dilation 1, no output_padding): output pixel
///         y = i·s + k − pb of input pixel i and kernel tap k, pb = 0 (valid) or max(k − s, 0) / 2
///         (same); output length n·s + max(k − s, 0) (valid) or n·s (same), as Keras.
/// @dev Computed as ConvBase's stride-1 convolution of the input spread out with s − 1 zeros
///      between pixels and P = k − 1 − pb zero rows before, by the kernel flipped in both spatial
///      axes with its channel axes swapped — the zeros add exact zeros, so the sums are the
///      reference's. Config: `abi.encode(uint8 activation, uint256 inputFilters, uint256 filters, uint256[2] kernelSize, uint256[2] strides, uint8 padding, bool useBias)`.
///      Weight tensors: kernel [rows, cols, filters, inputFilters] (Keras's order), bias [filters] if useBias.
contract Conv2DTransposeLayer is GroupedConvBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.CONV_2D_TRANSPOSE;
    }

    /// @notice The layer's config, decoded and range-checked.
    /// @return c The config (see `ConvConfig`).
    function config() external view returns (ConvConfig memory c) {
        c = _decode(configData());
    }

    function _validate(bytes memory data) internal pure override {
        _decode(data);
    }

    function _decode(bytes memory data) internal pure returns (ConvConfig memory c) {
        c = _decodeConv(data);
        _requireConfig(_convOk(c, Padding.SAME));
    }

    /// @dev Output length n·s + max(k − s, 0) (valid) or n·s (same), and the zeros before the
    ///      spread input: P = k − 1 − pb.
    function _lenAndLead(uint256 n, uint256 k, uint256 s, uint8 padding) internal pure returns (uint256 len, uint256 lead) {
        uint256 extra = k > s ? k - s : 0;
        len = n * s + (padding == Padding.VALID ? extra : 0);
        lead = k - 1 - (padding == Padding.VALID ? 0 : extra / 2);
    }

    /// @dev The input rows [first, last) that output rows [from, from + count) read: rows i with
    ///      lead + i·s in [from, from + count + k − 1). The Rust planner computes the same rows.
    function _transposeRows(uint256 from, uint256 count, uint256 k, uint256 s, uint256 lead, uint256 n)
        internal
        pure
        returns (uint256 first, uint256 last)
    {
        uint256 hi = from + count + k - 1;
        first = from > lead ? (from - lead + s - 1) / s : 0;
        last = hi > lead ? (hi - lead + s - 1) / s : 0;
        if (last > n) last = n;
        if (first > last) first = last;
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
        (out, shape) = _slice(inputs, shapes, ranks, 0, type(uint256).max, m, cfg, list);
    }

    /// @notice For a job's slices (`ISliceableLayer`): the output rows and the input rows
    ///         output rows [from, from + count) read (`_transposeRows`), as `forwardSlice` takes them.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        override
        returns (uint256, uint256, uint256)
    {
        uint256[] memory s = _single(shapes, ranks);
        ConvConfig memory c = _decode(configData());
        if (s.length != 3 || s[2] != c.inputFilters) revert InputShapeMismatch(0);
        (uint256 oh, uint256 lead) = _lenAndLead(s[0], c.kernelSize[0], c.strides[0], c.padding);
        _checkSlice(from, count, oh);
        (uint256 first, uint256 last) = _transposeRows(from, count, c.kernelSize[0], c.strides[0], lead, s[0]);
        return (oh, first, last);
    }

    /// @dev Output rows [from, from + count) from only the input rows they read (`_transposeRows`).
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
        (out, shape) = _slice(inputs, shapes, ranks, from, count, m, cfg, list);
    }

    /// @dev `count` = max means the whole layer on the whole input.
    function _slice(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view returns (int256[] memory out, uint256[] memory shape) {
        uint256[] memory s = _single(shapes, ranks);
        ConvConfig memory c = _decode(cfg);
        if (s.length != 3 || s[2] != c.inputFilters) revert InputShapeMismatch(0);
        if (list.length != (c.useBias ? 2 : 1)) revert InvalidConfig(LayerKind.CONV_2D_TRANSPOSE);
        Geometry memory g;
        (g.cin, g.f, g.kh, g.kw, g.sh, g.sw) = (c.inputFilters, c.filters, c.kernelSize[0], c.kernelSize[1], 1, 1);
        (uint256 oh, uint256 leadT) = _lenAndLead(s[0], g.kh, c.strides[0], c.padding);
        (uint256 ow, uint256 leadL) = _lenAndLead(s[1], g.kw, c.strides[1], c.padding);
        uint256 first;
        uint256 rows = s[0];
        if (count == type(uint256).max) {
            (from, count) = (0, oh);
        } else {
            _checkSlice(from, count, oh);
            uint256 last;
            (first, last) = _transposeRows(from, count, g.kh, c.strides[0], leadT, s[0]);
            rows = last - first;
        }
        if (inputs.length != rows * s[1] * g.cin) revert InputShapeMismatch(0);
        (g.oh, g.ow) = (count, ow);
        // The spread input: rows [from, from + count + kh − 1) of the full spread-and-padded one.
        uint256 hp = count + g.kh - 1;
        uint256 wp = ow + g.kw - 1;
        (g.h, g.w) = (hp, wp);
        int256[] memory x = new int256[](hp * wp * g.cin);
        uint256 maxX;
        {
            uint256 cin = g.cin;
            uint256 sh = c.strides[0];
            uint256 sw = c.strides[1];
            uint256 w = s[1];
            for (uint256 r; r < rows; ++r) {
                // Input row first + r sits at spread row leadT + (first + r)·sh, buffer row that − from.
                uint256 yy = leadT + (first + r) * sh - from;
                if (yy >= hp) continue;
                for (uint256 col; col < w; ++col) {
                    uint256 dst = ((yy * wp + leadL + col * sw) * cin) * 32 + _ptr(x);
                    uint256 src = (r * w + col) * cin;
                    assembly ("memory-safe") {
                        calldatacopy(dst, add(inputs.offset, shl(5, src)), shl(5, cin))
                    }
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
        Raw memory kernel = _raw(m, list[0]);
        if (kernel.scales != 0) maxX = _scaleInput(x, kernel, g.cin, maxX);
        int256[] memory bias = c.useBias ? _values(_raw(m, list[1])) : new int256[](0);
        out = _convolvePadded(x, maxX, g, _flipped(kernel, g), bias, c.activation, 0, 0);
        shape = new uint256[](3);
        (shape[0], shape[1], shape[2]) = (g.oh, g.ow, g.f);
    }

    /// @dev INT16/INT8: the stored kernel [kh, kw, f, cin] has one scale per *input* channel
    ///      (its last axis), which the flipped kernel's filters do not share, so the scale goes on
    ///      the input instead: x ([hp, wp, cin] in memory) becomes x · scale[ci] word by word and
    ///      the kernel's integers are used as they are (`_flipped` keeps up = 0, no scales).
    ///      Σ q · (scale · x) = Σ (q · scale) · x exactly: the reference's bits. Returns the new
    ///      bound on max|x| (max|x| · max scale).
    function _scaleInput(int256[] memory x, Raw memory kernel, uint256 cin, uint256 maxX)
        internal
        pure
        returns (uint256)
    {
        if (kernel.channels != cin) revert InvalidConfig(LayerKind.CONV_2D_TRANSPOSE);
        uint256 sc = kernel.scales;
        uint256 n = x.length;
        uint256 maxS;
        assembly ("memory-safe") {
            for { let ci := 0 } lt(ci, cin) { ci := add(ci, 1) } {
                let v := mload(add(sc, shl(5, ci)))
                if gt(v, maxS) { maxS := v }
            }
            let p := add(x, 0x20)
            for { let i := 0 } lt(i, n) {} {
                for { let ci := 0 } lt(ci, cin) { ci := add(ci, 1) } {
                    let v := mload(p)
                    if v { mstore(p, mul(v, mload(add(sc, shl(5, ci))))) }
                    p := add(p, 0x20)
                }
                i := add(i, cin)
            }
        }
        return maxX < 2 ** 128 ? maxX * maxS : type(uint256).max;
    }

    /// @dev The stored kernel [kh, kw, f, cin] as the [kh, kw, cin, f] kernel of the equivalent
    ///      convolution, flipped in both spatial axes: value ((ky·kw + kx)·cin + ci)·f + o is
    ///      stored value (((kh − 1 − ky)·kw + kw − 1 − kx)·f + o)·cin + ci. Same width and shift.
    function _flipped(Raw memory k, Geometry memory g) internal pure returns (Raw memory r) {
        (uint256 kh, uint256 kw, uint256 cin, uint256 f) = (g.kh, g.kw, g.cin, g.f);
        if (k.length != kh * kw * cin * f) revert InvalidConfig(LayerKind.CONV_2D_TRANSPOSE);
        uint256 width = k.width;
        bytes memory buf = new bytes(k.length * width + 32);
        (r.width, r.up, r.length) = (width, k.up, k.length);
        uint256 src = k.ptr;
        uint256 dst;
        assembly ("memory-safe") {
            dst := add(buf, 0x20)
        }
        r.ptr = dst;
        // Written in increasing order: each MSTORE's spill past `width` bytes is overwritten next.
        assembly ("memory-safe") {
            let sh := sub(256, shl(3, width))
            for { let ky := 0 } lt(ky, kh) { ky := add(ky, 1) } {
                for { let kx := 0 } lt(kx, kw) { kx := add(kx, 1) } {
                    let tap := add(mul(sub(sub(kh, 1), ky), kw), sub(sub(kw, 1), kx))
                    for { let ci := 0 } lt(ci, cin) { ci := add(ci, 1) } {
                        for { let o := 0 } lt(o, f) { o := add(o, 1) } {
                            let v := shr(sh, mload(add(src, mul(add(mul(add(mul(tap, f), o), cin), ci), width))))
                            mstore(dst, shl(sh, v))
                            dst := add(dst, width)
                        }
                    }
                }
            }
        }
    }
}
