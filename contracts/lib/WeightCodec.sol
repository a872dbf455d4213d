// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEternalModel} from "../interfaces/IEternalModel.sol";
import {WeightFormat, WeightLayout, WeightTensor} from "./Types.sol";

/// @title WeightCodec
/// @notice Where a weight tensor's bytes are in a model's weight blob, and how its stored integers
///         become Q32.32 — in every format. Every layer reads its weights through this library
///         (LayerBase's `_raw`, `_rawColumns`, `_at`, `_scaled` are thin wrappers), so a new
///         layer kind supports every format by using it.
/// @dev Formats (contracts/README.md, "Weights on chain"):
///      - Q32_32 / INT32_SHIFTED: `WeightTensor.offset` is a value slot; value i of the tensor is
///        the `width`-byte integer at blob byte (offset + i)·width, its Q32.32 value q << up
///        (up = 32 − shift; 0 in Q32_32).
///      - INT16 / INT8: `WeightTensor.offset` is the blob byte where the tensor's record starts.
///        shift `QUANTIZED` (255): the record is `u32 C ‖ u16 scale[C] ‖ q[length]` (big-endian,
///        q of the format's width); value i is q_i · scale[i mod C] (C = the tensor's last axis,
///        the output channel), a scale word u standing for (u mod 2^10) << (u >> 10). A kernel
///        may sum Σ q·x and multiply by the channel's scale once: the same bits.
///        shift k ≤ 40 (rank 0–1 tensors: biases, BatchNormalization): the record is `length`
///        big-endian int24 b, value i is b_i << k.
library WeightCodec {
    /// @dev Bytes of a quantized record's channel count.
    uint256 internal constant HEADER_BYTES = 4;
    /// @dev Bytes of one channel's scale: u16, (e << 10) | m for the Q32.32 scale m << e.
    uint256 internal constant SCALE_BYTES = 2;
    /// @dev `WeightTensor.shift` of a quantized record in INT16/INT8.
    uint8 internal constant QUANTIZED = 255;
    /// @dev Bytes of a value of a rank 0–1 tensor in INT16/INT8 (int24, shifted left by the
    ///      tensor's `shift` on decoding).
    uint256 internal constant SMALL_BYTES = 3;
    /// @dev Largest left shift of a rank 0–1 tensor's int24 values (an int64 fits int24 << 40).
    uint256 internal constant SMALL_MAX_SHIFT = 40;

    /// @notice A chunk the tensor needs is not stored yet.
    error WeightsMissing(uint256 index);
    /// @notice A tensor's record does not describe `length` values (channel count 0 or not dividing it).
    error BadWeightRecord(uint256 offset, uint256 channels, uint256 length);

    /// @dev Where a tensor's stored integers are: value i is the big-endian `width`-byte integer at
    ///      blob byte `start + i·width`; its Q32.32 value is q << up when `scaleBytes` is 0, else
    ///      q · scale[i mod channels] with the scales at blob byte `scaleStart`.
    struct Place {
        uint256 start;
        uint256 width;
        uint256 up;
        uint256 channels;
        uint256 scaleStart;
    }

    /// @dev Reads where tensor `t` of model `m` (layout `layout`) keeps its values; for a
    ///      quantized record this reads its 4-byte header from the chain.
    function place(address m, WeightLayout memory layout, WeightTensor memory t)
        internal
        view
        returns (Place memory p)
    {
        uint256 width = WeightFormat.width(layout.format);
        if (width == 0) revert BadWeightRecord(t.offset, 0, t.length);
        if (!WeightFormat.perChannel(layout.format)) {
            if (t.shift > 32) revert BadWeightRecord(t.offset, 0, t.length);
            p.start = uint256(t.offset) * width;
            p.width = width;
            p.up = width == 8 ? 0 : 32 - uint256(t.shift);
            return p;
        }
        if (t.shift != QUANTIZED) {
            if (t.shift > SMALL_MAX_SHIFT) revert BadWeightRecord(t.offset, 0, t.length);
            p.start = t.offset;
            p.width = SMALL_BYTES;
            p.up = t.shift;
            return p;
        }
        bytes memory head = new bytes(32);
        uint256 at;
        assembly ("memory-safe") {
            at := add(head, 0x20)
        }
        copy(m, layout.chunkBytes, t.offset, HEADER_BYTES, at);
        uint256 c;
        assembly ("memory-safe") {
            c := shr(224, mload(at))
        }
        if (c == 0 || t.length % c != 0) revert BadWeightRecord(t.offset, c, t.length);
        p.channels = c;
        p.scaleStart = uint256(t.offset) + HEADER_BYTES;
        p.start = p.scaleStart + c * SCALE_BYTES;
        p.width = width;
    }

    /// @dev Scales [from, from + count) of a quantized tensor, one int256 word each, from memory
    ///      address `dst` on (count words, which the caller has allocated).
    function loadScales(address m, uint256 chunkBytes, Place memory p, uint256 from, uint256 count, uint256 dst)
        internal
        view
    {
        // Copied packed to the upper end of the destination, then widened in place, low to high.
        uint256 packed = dst + count * 32 - count * SCALE_BYTES;
        copy(m, chunkBytes, p.scaleStart + from * SCALE_BYTES, count * SCALE_BYTES, packed);
        assembly ("memory-safe") {
            for { let k := 0 } lt(k, count) { k := add(k, 1) } {
                let u := shr(240, mload(add(packed, shl(1, k))))
                mstore(add(dst, shl(5, k)), shl(shr(10, u), and(u, 0x3ff)))
            }
        }
    }

    /// @dev Copies blob bytes [start, start + length) of model `m` (chunks of `chunkBytes`) to
    ///      memory `dst` with EXTCODECOPY (data byte k of a chunk is at code offset k + 1).
    function copy(address m, uint256 chunkBytes, uint256 start, uint256 length, uint256 dst) internal view {
        copyCached(m, chunkBytes, start, length, dst, ChunkCache(type(uint256).max, address(0)));
    }

    /// @dev The last chunk whose address was asked of the model: reading many short runs (a
    ///      kernel's columns, one run per row) asks once per chunk, not once per run.
    struct ChunkCache {
        uint256 index;
        address pointer;
    }

    /// @dev `copy`, resolving chunk addresses through `cache` (updated in place).
    function copyCached(
        address m,
        uint256 chunkBytes,
        uint256 start,
        uint256 length,
        uint256 dst,
        ChunkCache memory cache
    ) internal view {
        uint256 done;
        while (done < length) {
            uint256 pos = start + done;
            uint256 index = pos / chunkBytes;
            uint256 within = pos % chunkBytes;
            uint256 take = chunkBytes - within;
            if (take > length - done) take = length - done;
            if (index != cache.index) {
                cache.pointer = IEternalModel(m).chunkAddress(index);
                if (cache.pointer == address(0)) revert WeightsMissing(index);
                cache.index = index;
            }
            address pointer = cache.pointer;
            assembly ("memory-safe") {
                extcodecopy(pointer, add(dst, done), add(within, 1), take)
            }
            done += take;
        }
    }

    /// @dev The stored integer of value i at memory `ptr` (sign-extended).
    function q(uint256 ptr, uint256 width, uint256 i) internal pure returns (int256 v) {
        assembly ("memory-safe") {
            v := signextend(sub(width, 1), shr(sub(256, shl(3, width)), mload(add(ptr, mul(i, width)))))
        }
    }

    /// @dev `acc` (a stored integer, or a sum of them times inputs) of channel `c` in Q32.32 terms:
    ///      acc << up without scales (`scales` = 0), else acc · scale_c (scales: one word per
    ///      channel from memory address `scales`).
    function scaled(int256 acc, uint256 up, uint256 scales, uint256 c) internal pure returns (int256 r) {
        assembly ("memory-safe") {
            switch scales
            case 0 { r := shl(up, acc) }
            default { r := mul(acc, mload(add(scales, shl(5, c)))) }
        }
    }
}
