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
    ///      activation `act` on each (softmax-like codes over the channels). The usual 2×2
    ///      pooling applies the element-wise activations it knows inside its loop (`_pool2x2`);
    ///      any other pooling or activation runs `Fixed.activate` over the output after it.
    function _run(int256[] calldata inputs, Pool memory p, uint8 act)
        internal
        pure
        returns (int256[] memory out, uint256[] memory shape)
    {
        shape = new uint256[](3);
        (shape[0], shape[1], shape[2]) = (p.oh, p.ow, p.ch);
        uint256 n = p.oh * p.ow * p.ch;
        if (p.ky == 2 && p.kx == 2 && p.sy == 2 && p.sx == 2 && p.pt == 0 && p.pl == 0 && 2 * p.oh <= p.h && 2 * p.ow <= p.w) {
            // Every value is written, so the output is allocated without zeroing (3 gas a value).
            assembly ("memory-safe") {
                out := mload(0x40)
                mstore(out, n)
                mstore(0x40, add(out, add(0x20, shl(5, n))))
            }
            if (_pool2x2(inputs, p.w, p.ch, p.oh, p.ow, _ptr(out), act)) return (out, shape);
        } else {
            out = new int256[](n);
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
    ///      The maximum is activated before its one MSTORE (no second pass over the output) for
    ///      linear, relu, sigmoid and tanh, and the result is then true; otherwise (the mean, or
    ///      another activation) the values are stored as pooled and the result is false (the
    ///      caller activates them). One Yul function per kind, each with its own loop nest, so the
    ///      kind is picked once rather than per pixel (≈ 115 gas a pixel), and each repeats the
    ///      window's steps inline (via-IR inlines nothing into functions this size: a shared
    ///      helper was a jump per value). sigmoid/tanh are `Fixed.activate`'s loop bodies step
    ///      for step (same constants and roundings, so the same bits as `Fixed.sigmoid`/
    ///      `Fixed.tanh` and the reference). tanh takes as many channels an iteration as divide
    ///      the pixel's (16, 6 or 2; two pixels of 6 channels when the row has an even number):
    ///      the loop's test and increments once for all, and via-IR schedules the long body
    ///      better (≈ 40 gas a value less than two at a time on fashion_mnist's poolings). Those
    ///      loops are written by scripts/gen-pool-tanh.py (between the POOL_TANH markers).
    function _pool2x2(int256[] calldata inputs, uint256 w, uint256 ch, uint256 oh, uint256 ow, uint256 dst, uint8 act)
        internal
        pure
        returns (bool fused)
    {
        // 0: the mean; 1: the maximum, stored as pooled; 2: relu; 3: sigmoid; 4: tanh.
        uint256 kind;
        if (_max()) {
            kind = act == Activation.RELU ? 2 : act == Activation.SIGMOID ? 3 : act == Activation.TANH ? 4 : 1;
            fused = kind > 1 || act == Activation.LINEAR;
        }
        // The exp table only for sigmoid/tanh (≈ 1.2k gas); never read otherwise.
        uint256 table = kind > 2 ? Fixed.expTable() : 0;
        assembly ("memory-safe") {
            function meanOf(o, end, src, chBytes, rowBytes, diag, outRow) {
                for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                    let d := sub(src, o)
                    for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, chBytes) } {
                        let pixEnd := add(o, chBytes)
                        for {} lt(o, pixEnd) { o := add(o, 0x20) } {
                            let at := add(o, d)
                            let sum := add(calldataload(at), calldataload(add(at, chBytes)))
                            sum := add(sum, calldataload(add(at, rowBytes)))
                            mstore(o, sdiv(add(sum, calldataload(add(at, diag))), 4))
                        }
                    }
                }
            }
            function maxOf(o, end, src, chBytes, rowBytes, diag, outRow) {
                for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                    let d := sub(src, o)
                    for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, chBytes) } {
                        let pixEnd := add(o, chBytes)
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
                }
            }
            function reluOf(o, end, src, chBytes, rowBytes, diag, outRow) {
                for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                    let d := sub(src, o)
                    for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, chBytes) } {
                        let pixEnd := add(o, chBytes)
                        // relu(max) = max(0, the four): the first compared with 0 as
                        // `Fixed.activate` does (m & ~(m >> 255)).
                        for {} lt(o, pixEnd) { o := add(o, 0x20) } {
                            let at := add(o, d)
                            let m := calldataload(at)
                            m := and(m, not(sar(255, m)))
                            let v := calldataload(add(at, chBytes))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            v := calldataload(add(at, rowBytes))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            v := calldataload(add(at, diag))
                            mstore(o, xor(m, mul(xor(m, v), sgt(v, m))))
                        }
                    }
                }
            }
            function sigmoidOf(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) {
                for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                    let d := sub(src, o)
                    for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, chBytes) } {
                        let pixEnd := add(o, chBytes)
                        // σ(m) = s = 2^64 / (ONE + e^−|m|), or ONE − s = (s ^ sg) − sg + (ONE & sg)
                        // for m < 0.
                        for {} lt(o, pixEnd) { o := add(o, 0x20) } {
                            let at := add(o, d)
                            let m := calldataload(at)
                            let v := calldataload(add(at, chBytes))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            v := calldataload(add(at, rowBytes))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            v := calldataload(add(at, diag))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            let sg := sar(255, m)
                            let t := mul(sub(xor(m, sg), sg), 0x171547652b82fe177)
                            let g := and(shr(34, t), 0x3fffffffffffff)
                            let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                            p := sub(3196577161300663915, shr(62, mul(p, g)))
                            p := sub(c62, shr(62, mul(p, g)))
                            let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                            let y := div(one2, add(one, e))
                            mstore(o, add(sub(xor(y, sg), sg), and(one, sg)))
                        }
                    }
                }
            }
            function tanhOf(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) {
                for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                    let d := sub(src, o)
                    for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, chBytes) } {
                        let pixEnd := add(o, chBytes)
                        // tanh(m) = 2s − ONE with s of 2m, negated for m < 0; |2m| · log2(e) as
                        // |m| · (2 · ⌊log2(e) · 2^64⌉), the same product.
                        for {} lt(o, pixEnd) { o := add(o, 0x20) } {
                            let at := add(o, d)
                            let m := calldataload(at)
                            let v := calldataload(add(at, chBytes))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            v := calldataload(add(at, rowBytes))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            v := calldataload(add(at, diag))
                            m := xor(m, mul(xor(m, v), sgt(v, m)))
                            let sg := sar(255, m)
                            let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                            let g := and(shr(34, t), 0x3fffffffffffff)
                            let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                            p := sub(3196577161300663915, shr(62, mul(p, g)))
                            p := sub(c62, shr(62, mul(p, g)))
                            let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                            let y := div(one2, add(one, e))
                            y := sub(add(y, y), one)
                            mstore(o, sub(xor(y, sg), sg))
                        }
                    }
                }
            }
            // POOL_TANH begin
            // 16 channels an iteration (channel count divisible by 16).
            function tanhOf16(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) {
                for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                    let d := sub(src, o)
                    for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, chBytes) } {
                        let pixEnd := add(o, chBytes)
                        for {} lt(o, pixEnd) { o := add(o, 0x200) } {
                            {
                                let at := add(o, d)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(o, sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x20)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x20), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x40)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x40), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x60)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x60), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x80)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x80), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0xa0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0xa0), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0xc0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0xc0), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0xe0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0xe0), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x100)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x100), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x120)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x120), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x140)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x140), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x160)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x160), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x180)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x180), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x1a0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x1a0), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x1c0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x1c0), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x1e0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x1e0), sub(xor(y, sg), sg))
                            }
                        }
                    }
                }
            }
            // 6 channels an iteration (channel count divisible by 6).
            function tanhOf6(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) {
                for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                    let d := sub(src, o)
                    for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, chBytes) } {
                        let pixEnd := add(o, chBytes)
                        for {} lt(o, pixEnd) { o := add(o, 0xc0) } {
                            {
                                let at := add(o, d)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(o, sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x20)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x20), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x40)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x40), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x60)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x60), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x80)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x80), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0xa0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0xa0), sub(xor(y, sg), sg))
                            }
                        }
                    }
                }
            }
            // 2 channels an iteration (channel count divisible by 2).
            function tanhOf2(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) {
                for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                    let d := sub(src, o)
                    for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, chBytes) } {
                        let pixEnd := add(o, chBytes)
                        for {} lt(o, pixEnd) { o := add(o, 0x40) } {
                            {
                                let at := add(o, d)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(o, sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x20)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x20), sub(xor(y, sg), sg))
                            }
                        }
                    }
                }
            }
            // Two pixels of 6 channels an iteration (an even number of them a row).
            function tanhPixels2x6(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) {
                for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {
                    let d := sub(src, o)
                    for { let rowEnd := add(o, outRow) } lt(o, rowEnd) { d := add(d, shl(1, chBytes)) } {
                        let pixEnd := add(o, shl(1, chBytes))
                        for {} lt(o, pixEnd) { o := add(o, 0x180) } {
                            {
                                let at := add(o, d)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(o, sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x20)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x20), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x40)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x40), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x60)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x60), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0x80)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x80), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(o, d), 0xa0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0xa0), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(add(o, d), chBytes), 0xc0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0xc0), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(add(o, d), chBytes), 0xe0)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0xe0), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(add(o, d), chBytes), 0x100)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x100), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(add(o, d), chBytes), 0x120)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x120), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(add(o, d), chBytes), 0x140)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x140), sub(xor(y, sg), sg))
                            }
                            {
                                let at := add(add(add(o, d), chBytes), 0x160)
                                let m := calldataload(at)
                                let v := calldataload(add(at, chBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, rowBytes))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                v := calldataload(add(at, diag))
                                m := xor(m, mul(xor(m, v), sgt(v, m)))
                                let sg := sar(255, m)
                                let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
                                let g := and(shr(34, t), 0x3fffffffffffff)
                                let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
                                p := sub(3196577161300663915, shr(62, mul(p, g)))
                                p := sub(c62, shr(62, mul(p, g)))
                                let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
                                let y := div(one2, add(one, e))
                                y := sub(add(y, y), one)
                                mstore(add(o, 0x160), sub(xor(y, sg), sg))
                            }
                        }
                    }
                }
            }
            // The widest loop that fits the channels (and, for two pixels, the row).
            function tanhOfAny(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2, channels, pixels) {
                switch and(eq(channels, 6), iszero(and(pixels, 1)))
                case 1 { tanhPixels2x6(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) }
                default {
                    switch mod(channels, 16)
                    case 0 { tanhOf16(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) }
                    default {
                        switch mod(channels, 6)
                        case 0 { tanhOf6(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) }
                        default {
                            switch and(channels, 1)
                            case 0 { tanhOf2(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) }
                            default { tanhOf(o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2) }
                        }
                    }
                }
            }
            // POOL_TANH end
            let src := inputs.offset
            let chBytes := shl(5, ch)
            let rowBytes := mul(w, chBytes)
            let diag := add(rowBytes, chBytes)
            let outRow := mul(ow, chBytes)
            // ONE, 2^62 and 2^64 on the stack (as literals the optimizer would rebuild each from
            // a shift inside the loop).
            let one := shl(32, iszero(iszero(chBytes)))
            let c62 := shl(30, one)
            let one2 := mul(one, one)
            let end := add(dst, mul(oh, outRow))
            switch kind
            case 0 { meanOf(dst, end, src, chBytes, rowBytes, diag, outRow) }
            case 1 { maxOf(dst, end, src, chBytes, rowBytes, diag, outRow) }
            case 2 { reluOf(dst, end, src, chBytes, rowBytes, diag, outRow) }
            case 3 { sigmoidOf(dst, end, src, chBytes, rowBytes, diag, outRow, table, one, c62, one2) }
            default { tanhOfAny(dst, end, src, chBytes, rowBytes, diag, outRow, table, one, c62, one2, ch, ow) }
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
