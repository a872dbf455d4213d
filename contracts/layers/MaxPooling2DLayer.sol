// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Pooling2DBase} from "./Pooling2DBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title MaxPooling2DLayer
/// @notice Keras `MaxPooling2D` (channels_last); config and geometry in `Pooling2DBase`.
contract MaxPooling2DLayer is Pooling2DBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.MAX_POOLING_2D;
    }

    /// @dev `Pool` field offsets read by `_pool`'s assembly (field k at byte 32·k).
    uint256 private constant _H = 0x00;
    uint256 private constant _W = 0x20;
    uint256 private constant _CH = 0x40;
    uint256 private constant _OH = 0x60;
    uint256 private constant _OW = 0x80;
    uint256 private constant _PT = 0xa0;
    uint256 private constant _PL = 0xc0;
    uint256 private constant _KY = 0xe0;
    uint256 private constant _KX = 0x100;
    uint256 private constant _SY = 0x120;
    uint256 private constant _SX = 0x140;

    function _max() internal pure override returns (bool) {
        return true;
    }

    /// @inheritdoc Pooling2DBase
    /// @dev Each output value is the maximum over the window's real pixels of one channel. A whole
    ///      2×2 window keeps it on the stack and stores it once; other windows compare in memory.
    ///      An empty window (none of its pixels real) leaves the zero. Input pixel (y, x) channel
    ///      c is the calldata word at (y·w + x)·ch + c.
    function _pool(int256[] calldata inputs, Pool memory p, uint256 o) internal pure override {
        assembly ("memory-safe") {
            // Real rows (or columns) [s, e) under a window starting at padded index `from`,
            // as `_span`.
            function span(from, k, pad, n) -> s, e {
                if gt(from, pad) { s := sub(from, pad) }
                e := add(from, k)
                switch lt(e, pad)
                case 1 { e := 0 }
                default { e := sub(e, pad) }
                if gt(e, n) { e := n }
                if lt(e, s) { e := s }
            }
            // Output row oy: calldata of the window's first real row at column 0, and the bytes
            // its real rows span.
            function rowSpan(oy, q, base, rowBytes) -> top, rowsBytes {
                let ys, ye := span(mul(oy, mload(add(q, _SY))), mload(add(q, _KY)), mload(add(q, _PT)), mload(add(q, _H)))
                top := add(base, mul(ys, rowBytes))
                rowsBytes := mul(sub(ye, ys), rowBytes)
            }
            // Output column ox: byte offset of the window's first real column, and the bytes its
            // real columns span.
            function colSpan(ox, q, chBytes) -> off, colsBytes {
                let xs, xe := span(mul(ox, mload(add(q, _SX))), mload(add(q, _KX)), mload(add(q, _PL)), mload(add(q, _W)))
                off := mul(xs, chBytes)
                colsBytes := mul(sub(xe, xs), chBytes)
            }
            let chBytes := shl(5, mload(add(p, _CH)))
            let rowBytes := mul(mload(add(p, _W)), chBytes)
            for { let oy := 0 } lt(oy, mload(add(p, _OH))) { oy := add(oy, 1) } {
                let top, rowsBytes := rowSpan(oy, p, inputs.offset, rowBytes)
                for { let ox := 0 } lt(ox, mload(add(p, _OW))) { ox := add(ox, 1) } {
                    let off, colsBytes := colSpan(ox, p, chBytes)
                    let next := add(o, chBytes)
                    switch and(eq(rowsBytes, shl(1, rowBytes)), eq(colsBytes, shl(1, chBytes)))
                    case 1 {
                        // A whole 2×2 window (the usual pooling): four loads per channel, no
                        // inner loops.
                        let diag := add(rowBytes, chBytes)
                        for { let first := add(top, off) } lt(o, next) { o := add(o, 0x20) } {
                            let m := calldataload(first)
                            let v := calldataload(add(first, chBytes))
                            if sgt(v, m) { m := v }
                            v := calldataload(add(first, rowBytes))
                            if sgt(v, m) { m := v }
                            v := calldataload(add(first, diag))
                            if sgt(v, m) { m := v }
                            mstore(o, m)
                            first := add(first, 0x20)
                        }
                    }
                    default {
                        // Any other window: its first pixel copied, then every pixel compared
                        // channel by channel (the channels are the innermost, contiguous run).
                        if iszero(or(iszero(rowsBytes), iszero(colsBytes))) {
                            let first := add(top, off)
                            calldatacopy(o, first, chBytes)
                            for { let r := first } lt(r, add(first, rowsBytes)) { r := add(r, rowBytes) } {
                                for { let at := r } lt(at, add(r, colsBytes)) { at := add(at, chBytes) } {
                                    for { let i := 0 } lt(i, chBytes) { i := add(i, 0x20) } {
                                        let v := calldataload(add(at, i))
                                        let d := add(o, i)
                                        if sgt(v, mload(d)) { mstore(d, v) }
                                    }
                                }
                            }
                        }
                    }
                    o := next
                }
            }
        }
    }
}
