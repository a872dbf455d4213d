// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RowSliceBase} from "./RowSliceBase.sol";
import {WeightTensor} from "../lib/Types.sol";

/// @title MergeBase
/// @notice Keras `Subtract` (exactly two inputs: a − b), `Average` (the exact sum divided once
///         by the input count, truncating: SDIV, as the reference), `Maximum` and `Minimum`:
///         inputs of one size combined element by element. Each kind names its op (`_op`).
/// @dev Config: empty bytes.
///      Weight tensors: none.
abstract contract MergeBase is RowSliceBase {
    uint256 internal constant _SUBTRACT = 0;
    uint256 internal constant _AVERAGE = 1;
    uint256 internal constant _MAXIMUM = 2;
    uint256 internal constant _MINIMUM = 3;

    /// @dev One of `_SUBTRACT`, `_AVERAGE`, `_MAXIMUM`, `_MINIMUM`.
    function _op() internal pure virtual returns (uint256);

    function _validate(bytes memory data) internal pure override {
        _requireConfig(data.length == 0);
    }

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address,
        bytes memory,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        uint256 k = ranks.length;
        uint256 op = _op();
        if (k < 2 || (op == _SUBTRACT && k != 2)) revert InputCountMismatch(2, k);
        shape = _sliceU(shapes, 0, ranks[0]);
        uint256 n = _size(shape);
        uint256 at;
        for (uint256 j; j < k; ++j) {
            uint256 size = 1;
            for (uint256 d; d < ranks[j]; ++d) {
                size *= shapes[at + d];
            }
            at += ranks[j];
            if (size != n) revert InputShapeMismatch(j);
        }
        // Each input's values given: all of them, or the same rows of each (RowSliceBase).
        n = inputs.length / k;
        out = _sliceI(inputs, 0, n);
        uint256 p = _ptr(out);
        assembly ("memory-safe") {
            // Input j's value i is at calldata inputs.offset + 32·(j·n + i); out[i] at p + 32·i.
            let bytes_ := shl(5, n)
            for { let j := 1 } lt(j, k) { j := add(j, 1) } {
                let src := add(inputs.offset, mul(j, bytes_))
                for { let i := 0 } lt(i, bytes_) { i := add(i, 0x20) } {
                    let d := add(p, i)
                    let a := mload(d)
                    let b := calldataload(add(src, i))
                    switch op
                    case 0 { mstore(d, sub(a, b)) }
                    case 1 { mstore(d, add(a, b)) }
                    case 2 { if sgt(b, a) { mstore(d, b) } }
                    default { if slt(b, a) { mstore(d, b) } }
                }
            }
            if eq(op, 1) {
                for { let i := 0 } lt(i, bytes_) { i := add(i, 0x20) } {
                    let d := add(p, i)
                    mstore(d, sdiv(mload(d), k))
                }
            }
        }
    }
}
