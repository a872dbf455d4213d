// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEternalModel} from "../interfaces/IEternalModel.sol";
import {IForwardLayer} from "../interfaces/IForwardLayer.sol";
import {PackedValues} from "./PackedValues.sol";

/// @title LayerCall
/// @notice How a model (`EternalModel.predict`) and a job step (`EternalJobs.step`) run one layer:
///         the one STATICCALL of a layer clone's `forward` with its calldata built in place and
///         its answer used in place. Internal, so inlined into each caller. A job step uses
///         `forward`/`forwardSlice` (calldata at the free pointer, the answer copied over it); the
///         model places its tensors itself (`EternalModel.Run`): `sendInPlace` or `sendCopy`, then
///         `answer` at the address it chose.
library LayerCall {
    /// @dev STATICCALLs `layer.forward(inputs, shapes, ranks)` on the tensors at the memory
    ///      pointers `srcData`/`srcDims` and returns pointers to its output and shape.
    ///      Memory at the free pointer p during the call (the calldata, built in place):
    ///        p: selector | 0x60 | o2 | o3 | total | values of every input | ranksum | shapes | k | ranks
    ///      The returned ABI data (head: two offsets) is then copied over p, where its two arrays
    ///      already have Solidity's memory layout (length word, then elements): the output is
    ///      p + offset1, its shape p + offset2 — no decoding, no copy.
    function forward(uint256 index, address layer, uint256[] memory srcData, uint256[] memory srcDims)
        internal
        view
        returns (uint256 values, uint256 shape)
    {
        return _call(index, layer, srcData, srcDims, IForwardLayer.forward.selector, 0x60, 0, 0);
    }

    /// @dev As `forward`, but `layer.forwardSlice(inputs, shapes, ranks, from, count)`: the head
    ///      has two more words (from, count) after the three offsets.
    function forwardSlice(
        uint256 index,
        address layer,
        uint256[] memory srcData,
        uint256[] memory srcDims,
        uint256 from,
        uint256 count
    ) internal view returns (uint256 values, uint256 shape) {
        return _call(index, layer, srcData, srcDims, IForwardLayer.forwardSlice.selector, 0xa0, from, count);
    }

    /// @dev The call itself: `head` bytes of head (0x60: three offsets; 0xa0: and from, count).
    function _call(
        uint256 index,
        address layer,
        uint256[] memory srcData,
        uint256[] memory srcDims,
        bytes4 forwardSelector,
        uint256 head,
        uint256 from,
        uint256 count
    ) private view returns (uint256 values, uint256 shape) {
        uint256 p;
        assembly ("memory-safe") {
            p := mload(0x40)
        }
        uint256 q = _build(p, srcData, srcDims, forwardSelector, head, from, count);
        return _send(index, layer, p, q);
    }

    /// @dev Writes the calldata of `forward` (or, with `head` 0xa0, of `forwardSlice`) on the
    ///      tensors at the memory pointers `srcData`/`srcDims` at memory p (see `forward`);
    ///      returns its end.
    function _build(
        uint256 p,
        uint256[] memory srcData,
        uint256[] memory srcDims,
        bytes4 forwardSelector,
        uint256 head,
        uint256 from,
        uint256 count
    ) private pure returns (uint256 q) {
        assembly ("memory-safe") {
            let k := mload(srcData)
            let total := 0
            let rankSum := 0
            for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                total := add(total, mload(mload(add(srcData, shl(5, add(i, 1))))))
                rankSum := add(rankSum, mload(mload(add(srcDims, shl(5, add(i, 1))))))
            }
            mstore(p, forwardSelector)
            let b := add(p, 4)
            let o2 := add(add(head, 0x20), shl(5, total))
            let o3 := add(add(o2, 0x20), shl(5, rankSum))
            mstore(b, head)
            mstore(add(b, 0x20), o2)
            mstore(add(b, 0x40), o3)
            mstore(add(b, 0x60), from)
            mstore(add(b, 0x80), count)
            q := add(b, head)
            mstore(q, total)
            q := add(q, 0x20)
            for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                let a := mload(add(srcData, shl(5, add(i, 1))))
                let len := shl(5, mload(a))
                mcopy(q, add(a, 0x20), len)
                q := add(q, len)
            }
            mstore(q, rankSum)
            q := add(q, 0x20)
            for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                let a := mload(add(srcDims, shl(5, add(i, 1))))
                let len := shl(5, mload(a))
                mcopy(q, add(a, 0x20), len)
                q := add(q, len)
            }
            mstore(q, k)
            q := add(q, 0x20)
            for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                mstore(q, mload(mload(add(srcDims, shl(5, add(i, 1))))))
                q := add(q, 0x20)
            }
        }
    }

    // ------------------------------------------------------------ the model's calls (predict)
    //
    // `EternalModel` keeps each tensor where its layer's answer landed and places each answer
    // itself (over dead tensors), so it sends and takes the answer separately: `sendCopy` or `sendInPlace`,
    // then `answer` at the address it chose. `EternalJobs` keeps `forward`/`forwardSlice`.

    /// @dev Sends `forward` on the tensors at `srcData`/`srcDims` with its calldata copied
    ///      together at the free pointer (any number of inputs, any layout); the answer is left
    ///      in the return buffer for `answer`.
    function sendCopy(uint256 index, address layer, uint256[] memory srcData, uint256[] memory srcDims)
        internal
        view
    {
        uint256 p;
        assembly ("memory-safe") {
            p := mload(0x40)
        }
        uint256 q = _build(p, srcData, srcDims, IForwardLayer.forward.selector, 0x60, 0, 0);
        _staticcall(index, layer, p, q);
    }

    /// @dev Sends `forward` on one tensor with its calldata built around it, nothing copied: the
    ///      tensor's values array (length word at `values`) must be followed at once by its shape
    ///      array (at `shape` = values + 0x20 + 32·length), and the 0x64 bytes before `values`
    ///      and the 0x60 after the shape must be free to overwrite (a layer's answer received at
    ///      `at` has the first two — its two head words and 0x24 bytes before `at` — when the
    ///      caller left room, and the last when nothing live follows it). The calldata is then
    ///        values - 0x64: selector | 0x60 | o2 | o3 | (values: total, values…) | (shape: rankSum, shape…) | 1 | rank
    ///      `total` and `rankSum` being the arrays' own length words, then the clone's address
    ///      (`_staticcall`).
    function sendInPlace(uint256 index, address layer, uint256 values, uint256 shape) internal view {
        bytes4 selector = IForwardLayer.forward.selector;
        uint256 p;
        uint256 q;
        assembly ("memory-safe") {
            let rank := mload(shape)
            let o2 := sub(shape, sub(values, 0x60))
            p := sub(values, 0x64)
            mstore(p, selector)
            mstore(add(p, 0x04), 0x60)
            mstore(add(p, 0x24), o2)
            mstore(add(p, 0x44), add(add(o2, 0x20), shl(5, rank)))
            q := add(add(shape, 0x20), shl(5, rank))
            mstore(q, 1)
            mstore(add(q, 0x20), rank)
            q := add(q, 0x40)
        }
        _staticcall(index, layer, p, q);
    }

    /// @dev Copies the answer of the last call to memory `at` and returns pointers to its output
    ///      and shape arrays (in place, see `forward`) and the end of the copy (word-aligned);
    ///      reverts `BadLayerOutput` for layer `index` unless both arrays lie inside it. Does not
    ///      move the free pointer.
    function answer(uint256 index, uint256 at) internal pure returns (uint256 values, uint256 shape, uint256 end) {
        bytes4 bad = IEternalModel.BadLayerOutput.selector;
        assembly ("memory-safe") {
            let rs := returndatasize()
            returndatacopy(at, 0, rs)
            // Both arrays must lie inside the returned data.
            let valid := gt(rs, 0x3f)
            if valid {
                let o := mload(at)
                let s := mload(add(at, 0x20))
                valid := and(lt(o, rs), lt(s, rs))
                if valid {
                    let n1 := mload(add(at, o))
                    let n2 := mload(add(at, s))
                    valid := and(
                        and(lt(n1, 0x100000000), lt(n2, 0x100000000)),
                        and(iszero(gt(add(add(o, 0x20), shl(5, n1)), rs)), iszero(gt(add(add(s, 0x20), shl(5, n2)), rs)))
                    )
                    values := add(at, o)
                    shape := add(at, s)
                }
            }
            if iszero(valid) {
                mstore(at, bad)
                mstore(add(at, 0x04), index)
                revert(at, 0x24)
            }
            end := add(at, and(add(rs, 31), not(31)))
        }
    }

    /// @dev As `forward`, on values packed as `PackedValues` (all inputs' values in one stream)
    ///      and shapes and ranks from calldata: the values are unpacked straight into the call's
    ///      calldata, built in place at the free pointer as in `_call` (no intermediate array).
    function forwardPacked(
        uint256 index,
        address layer,
        bytes calldata packed,
        uint256[] calldata shapes,
        uint256[] calldata ranks
    ) internal view returns (uint256 values, uint256 shape) {
        return _packedCall(index, layer, packed, shapes, ranks, IForwardLayer.forward.selector, 0x60, 0, 0);
    }

    /// @dev As `forwardSlice`, on packed values (see `forwardPacked`).
    function forwardSlicePacked(
        uint256 index,
        address layer,
        bytes calldata packed,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count
    ) internal view returns (uint256 values, uint256 shape) {
        return _packedCall(
            index, layer, packed, shapes, ranks, IForwardLayer.forwardSlice.selector, 0xa0, from, count
        );
    }

    /// @dev The calldata of `forwardPacked`/`forwardSlicePacked`, then the call.
    function _packedCall(
        uint256 index,
        address layer,
        bytes calldata packed,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        bytes4 selector,
        uint256 head,
        uint256 from,
        uint256 count
    ) private view returns (uint256 values, uint256 shape) {
        (uint256 width, uint256 total) = PackedValues.header(packed);
        uint256 p;
        uint256 dest;
        assembly ("memory-safe") {
            p := mload(0x40)
            mstore(p, selector)
            let b := add(p, 4)
            let o2 := add(add(head, 0x20), shl(5, total))
            mstore(b, head)
            mstore(add(b, 0x20), o2)
            mstore(add(b, 0x40), add(add(o2, 0x20), shl(5, shapes.length)))
            mstore(add(b, 0x60), from)
            mstore(add(b, 0x80), count)
            let q := add(b, head)
            mstore(q, total)
            dest := add(q, 0x20)
        }
        PackedValues.copyTo(packed, width, 0, total, dest);
        uint256 end;
        assembly ("memory-safe") {
            let q := add(dest, shl(5, total))
            let len := shl(5, shapes.length)
            mstore(q, shapes.length)
            calldatacopy(add(q, 0x20), shapes.offset, len)
            q := add(add(q, 0x20), len)
            len := shl(5, ranks.length)
            mstore(q, ranks.length)
            calldatacopy(add(q, 0x20), ranks.offset, len)
            end := add(add(q, 0x20), len)
        }
        return _send(index, layer, p, end);
    }

    /// @dev STATICCALLs `layer` with the calldata in memory [p, q) and reads its answer in place
    ///      over p (see `forward`); reverts `LayerFailed` or `BadLayerOutput` for layer `index`.
    function _send(uint256 index, address layer, uint256 p, uint256 q)
        private
        view
        returns (uint256 values, uint256 shape)
    {
        _staticcall(index, layer, p, q);
        uint256 end;
        (values, shape, end) = answer(index, p);
        assembly ("memory-safe") {
            mstore(0x40, end)
        }
    }

    /// @dev Runs clone `layer` on the calldata in memory [p, q): STATICCALLs its implementation
    ///      (the address in the clone's code at bytes 10..30) directly, with the clone's address
    ///      appended as one more word at q (which must be free to overwrite), so the implementation
    ///      reads the clone's arguments (`LayerBase._home`). Calling the clone would run its proxy
    ///      frame too: a copy of all the calldata, a DELEGATECALL, a copy of the whole answer, each
    ///      with its own memory (contracts/README.md, "Direct layer calls"). On failure reverts
    ///      `LayerFailed(index, reason)`, built over p.
    function _staticcall(uint256 index, address layer, uint256 p, uint256 q) private view {
        bytes4 failed = IEternalModel.LayerFailed.selector;
        assembly ("memory-safe") {
            mstore(q, layer)
            // The implementation into the low 20 bytes of scratch word 0 (the CALL family reads
            // its address operand modulo 2^160, so the word's top 12 bytes do not matter).
            extcodecopy(layer, 0x0c, 10, 20)
            if iszero(staticcall(gas(), mload(0x00), p, add(sub(q, p), 0x20), 0, 0)) {
                let rs := returndatasize()
                mstore(p, failed)
                mstore(add(p, 0x04), index)
                mstore(add(p, 0x24), 0x40)
                mstore(add(p, 0x44), rs)
                returndatacopy(add(p, 0x64), 0, rs)
                revert(p, add(0x64, and(add(rs, 31), not(31))))
            }
        }
    }
}
