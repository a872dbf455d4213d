// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {Activation, Padding, WeightTensor} from "../lib/Types.sol";
import {Fixed} from "../lib/Fixed.sol";

/// @title Pooling2DBase
/// @notice What MaxPooling2D and AveragePooling2D share: config, output geometry, the window
///         rule that windows cover only real (unpadded) pixels. Each layer supplies `_pool`.
/// @dev Config: `abi.encode(uint256[2] poolSize, uint256[2] strides, uint8 padding)`, optionally
///      followed by `uint8 activation`: the activation of the convolution before it, applied here
///      to the pooled values instead (a monotone activation commutes with the maximum;
///      `src/infer/fuse.rs`). Without it: linear. Weight tensors: none.
abstract contract Pooling2DBase is LayerBase, ISliceableLayer {
    /// @notice The decoded config.
    struct Config {
        /// Window (rows, cols).
        uint256[2] poolSize;
        /// Strides (rows, cols).
        uint256[2] strides;
        /// `Padding.VALID` or `Padding.SAME`.
        uint8 padding;
        /// `Activation` code applied after pooling (`LINEAR` when the config has no such word).
        uint8 activation;
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
        _requireConfig(data.length == 160 || data.length == 192);
        if (data.length == 160) {
            (c.poolSize, c.strides, c.padding) = abi.decode(data, (uint256[2], uint256[2], uint8));
            c.activation = Activation.LINEAR;
        } else {
            (c.poolSize, c.strides, c.padding, c.activation) = abi.decode(data, (uint256[2], uint256[2], uint8, uint8));
        }
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.poolSize[0] > 0 && c.poolSize[1] > 0 && c.strides[0] > 0 && c.strides[1] > 0 && c.padding <= Padding.SAME && c.activation < Activation.COUNT);
    }

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address,
        bytes memory cfg,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        (Pool memory p, Config memory c) = _geometry(shapes, ranks, cfg);
        (out, shape) = _run(inputs, p, c.activation);
    }

    /// @dev Output rows [from, from + count) from only the input rows they read (see
    ///      `IForwardLayer.forwardSlice` and `_windowRows`).
    function _forwardSlice(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address,
        bytes memory cfg,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        (Pool memory p, Config memory c) = _geometry(shapes, ranks, cfg);
        _checkSlice(from, count, p.oh);
        (p.h, p.pt) = _windowRows(from, count, c.poolSize[0], c.strides[0], p.pt, p.h);
        p.oh = count;
        if (inputs.length != p.h * p.w * p.ch) revert InputShapeMismatch(0);
        (out, shape) = _run(inputs, p, c.activation);
    }

    /// @inheritdoc ISliceableLayer
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        returns (uint256 length, uint256 first, uint256 last)
    {
        (Pool memory p, Config memory c) = _geometry(shapes, ranks, configData());
        _checkSlice(from, count, p.oh);
        (uint256 rows, uint256 padBefore) = _windowRows(from, count, c.poolSize[0], c.strides[0], p.pt, p.h);
        first = padBefore + from * c.strides[0] - p.pt;
        return (p.oh, first, first + rows);
    }

    /// @dev The whole pooling's geometry from the input shape and the config.
    function _geometry(uint256[] calldata shapes, uint256[] calldata ranks, bytes memory cfg)
        internal
        pure
        returns (Pool memory p, Config memory c)
    {
        uint256[] memory s = _single(shapes, ranks);
        c = _decode(cfg);
        _check(c);
        if (s.length != 3) revert InputShapeMismatch(0);
        (p.h, p.w, p.ch) = (s[0], s[1], s[2]);
        p.oh = _outLen(p.h, c.poolSize[0], c.strides[0], c.padding);
        p.ow = _outLen(p.w, c.poolSize[1], c.strides[1], c.padding);
        p.pt = _padBefore(p.h, p.oh, c.poolSize[0], c.strides[0], c.padding);
        p.pl = _padBefore(p.w, p.ow, c.poolSize[1], c.strides[1], c.padding);
        (p.ky, p.kx, p.sy, p.sx) = (c.poolSize[0], c.poolSize[1], c.strides[0], c.strides[1]);
    }

    /// @dev Every output pixel of the geometry `p` over the [h, w, ch] input in calldata, then
    ///      activation `act` on each (softmax-like codes over the channels).
    function _run(int256[] calldata inputs, Pool memory p, uint8 act)
        internal
        pure
        returns (int256[] memory out, uint256[] memory shape)
    {
        shape = new uint256[](3);
        (shape[0], shape[1], shape[2]) = (p.oh, p.ow, p.ch);
        out = new int256[](p.oh * p.ow * p.ch);
        if (p.ky == 2 && p.kx == 2 && p.sy == 2 && p.sx == 2 && p.pt == 0 && p.pl == 0 && 2 * p.oh <= p.h && 2 * p.ow <= p.w) {
            _pool2x2(inputs, p.w, p.ch, p.oh, p.ow, _ptr(out));
        } else {
            _pool(inputs, p, _ptr(out));
        }
        Fixed.activate(_ptr(out), out.length, act, p.ch);
    }

    /// @dev The window's maximum (MaxPooling2D) rather than its truncated mean.
    function _max() internal pure virtual returns (bool);

    /// @dev `_pool` for the usual pooling: 2×2 windows at stride 2 that all lie inside the input
    ///      (valid, or same on even sizes), so every window has its four pixels. One output row
    ///      at a time, one pixel at a time, its channels in an inner loop with four loads at
    ///      fixed offsets from o + d (`d`, the input's address less the output's, grows by ch
    ///      words a pixel). The maximum without a branch: m ^ ((m ^ v) · (v > m)) = max(m, v);
    ///      the mean: the sum SDIV 4, as `_pool` (addition is exact, so its order is free).
    function _pool2x2(int256[] calldata inputs, uint256 w, uint256 ch, uint256 oh, uint256 ow, uint256 o)
        internal
        pure
    {
        bool isMax = _max();
        assembly ("memory-safe") {
            let src := inputs.offset
            let chBytes := shl(5, ch)
            let rowBytes := mul(w, chBytes)
            let diag := add(rowBytes, chBytes)
            let outRow := mul(ow, chBytes)
            for { let end := add(o, mul(oh, outRow)) } lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                let d := sub(src, o)
                for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, chBytes) } {
                    let pixEnd := add(o, chBytes)
                    switch isMax
                    case 1 {
                        for {} lt(o, pixEnd) { o := add(o, 0x20) } {
                            let at := add(o, d)
                            let m := calldataload(at)
                            let v := calldataload(add(at, chBytes))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            v := calldataload(add(at, rowBytes))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            v := calldataload(add(at, diag))
                            mstore(o, xor(m, mul(xor(m, v), sgt(v, m))))
                        }
                    }
                    default {
                        for {} lt(o, pixEnd) { o := add(o, 0x20) } {
                            let at := add(o, d)
                            let sum := add(calldataload(at), calldataload(add(at, chBytes)))
                            sum := add(sum, calldataload(add(at, rowBytes)))
                            mstore(o, sdiv(add(sum, calldataload(add(at, diag))), 4))
                        }
                    }
                }
            }
        }
    }

    /// @dev Geometry of one pooling pass (a struct keeps the stack shallow).
    struct Pool {
        uint256 h;
        uint256 w;
        uint256 ch;
        uint256 oh;
        uint256 ow;
        uint256 pt;
        uint256 pl;
        uint256 ky;
        uint256 kx;
        uint256 sy;
        uint256 sx;
    }

    /// @dev Output length along one axis, as Keras: valid ⌊(n − k) / s⌋ + 1, same ⌈n / s⌉.
    function _outLen(uint256 n, uint256 k, uint256 s, uint8 padding) internal pure returns (uint256) {
        if (padding == Padding.VALID) {
            if (n < k) revert InputShapeMismatch(0);
            return (n - k) / s + 1;
        }
        return (n + s - 1) / s;
    }

    /// @dev Leading padding of "same" (TensorFlow's: the extra pixel goes after).
    function _padBefore(uint256 n, uint256 out, uint256 k, uint256 s, uint8 padding) internal pure returns (uint256) {
        if (padding == Padding.VALID) return 0;
        uint256 span = (out - 1) * s + k;
        return span > n ? (span - n) / 2 : 0;
    }

    /// @dev Real input rows (or columns) [start, end) under a window starting at padded index
    ///      `from`: padding is skipped, as the reference does.
    function _span(uint256 from, uint256 k, uint256 pad, uint256 n) internal pure returns (uint256 start, uint256 end) {
        // Unchecked: from, k and pad are output positions, pool sizes and paddings of a tensor
        // that fits in calldata.
        unchecked {
            start = from < pad ? 0 : from - pad;
            end = from + k < pad ? 0 : from + k - pad;
            if (end > n) end = n;
            if (end < start) end = start;
        }
    }

    /// @dev Every output pixel, channels last, written from memory `o` on (oh·ow·ch words, zero
    ///      on entry). The input is [h, w, ch] in calldata; oh·ow·ch words were allocated and
    ///      h·w·ch = inputs.length (checked by `forward`). Windows cover only real pixels (rows
    ///      and columns from `_span`).
    function _pool(int256[] calldata inputs, Pool memory p, uint256 o) internal pure virtual;
}
