// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title PackedValues
/// @notice The compact encoding of tensor values in calldata (chained calls' activations): one
///         byte `w` (1 ≤ w ≤ 32), then each value as `w` bytes, big-endian two's complement.
///         The sender picks the smallest `w` that holds every value (Q32.32
///         activations of ReLU6 take 5 bytes, sign-filled int256 words 32), so a value costs
///         16·w calldata gas instead of a 32-byte ABI word's 128–512. Mirrored by the Rust
///         `src/chain/packed.rs`. Internal, so inlined into each caller.
library PackedValues {
    /// @notice Packed values of `length` bytes whose width byte is `width`: the width is not in
    ///         1..32, or the bytes after it are not a whole number of values.
    error PackedValuesMalformed(uint256 length, uint256 width);

    /// @dev The width and value count of `packed`. Empty bytes are no values.
    function header(bytes calldata packed) internal pure returns (uint256 width, uint256 count) {
        if (packed.length == 0) return (1, 0);
        width = uint8(packed[0]);
        if (width == 0 || width > 32 || (packed.length - 1) % width != 0) {
            revert PackedValuesMalformed(packed.length, width);
        }
        count = (packed.length - 1) / width;
    }

    /// @dev Writes values [first, first + count) of `packed` (width `width`, checked by
    ///      `header`) as 32-byte words at memory `dest`: eight values a pass, each at a constant
    ///      offset from `dest`, counted down in passes, then the rest one by one. The shift lives
    ///      in scratch word 0: via-IR, short of stack slots in the model's `predictRangePacked`,
    ///      recomputed it from `width` on every value when it was a variable (98 gas a value there
    ///      as a plain loop, 43 now; BENCHMARKS.md "unpack"). A pass bound kept live across the
    ///      passes, or sixteen values a pass, made via-IR move EternalModel's variables to memory.
    function copyTo(bytes calldata packed, uint256 width, uint256 first, uint256 count, uint256 dest)
        internal
        pure
    {
        assembly ("memory-safe") {
            mstore(0, shl(3, sub(32, width)))
            let src := add(add(packed.offset, 1), mul(first, width))
            for { let passes := shr(3, count) } passes { passes := sub(passes, 1) } {
                mstore(dest, sar(mload(0), calldataload(src)))
                src := add(src, width)
                mstore(add(dest, 0x20), sar(mload(0), calldataload(src)))
                src := add(src, width)
                mstore(add(dest, 0x40), sar(mload(0), calldataload(src)))
                src := add(src, width)
                mstore(add(dest, 0x60), sar(mload(0), calldataload(src)))
                src := add(src, width)
                mstore(add(dest, 0x80), sar(mload(0), calldataload(src)))
                src := add(src, width)
                mstore(add(dest, 0xa0), sar(mload(0), calldataload(src)))
                src := add(src, width)
                mstore(add(dest, 0xc0), sar(mload(0), calldataload(src)))
                src := add(src, width)
                mstore(add(dest, 0xe0), sar(mload(0), calldataload(src)))
                src := add(src, width)
                dest := add(dest, 0x100)
            }
            for { let end := add(dest, shl(5, and(count, 7))) } lt(dest, end) { dest := add(dest, 0x20) } {
                mstore(dest, sar(mload(0), calldataload(src)))
                src := add(src, width)
            }
        }
    }
}
