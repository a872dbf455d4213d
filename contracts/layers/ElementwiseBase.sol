// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RowSliceBase} from "./RowSliceBase.sol";
import {WeightTensor} from "../lib/Types.sol";

/// @title ElementwiseBase
/// @notice Keras `Add` and `Multiply`: inputs of one size combined element by element.
/// @dev Config: empty bytes.
///      Weight tensors: none.
abstract contract ElementwiseBase is RowSliceBase {
    /// @dev Multiply (`(a · b) >> 32`, floor) rather than add.
    function _product() internal pure virtual returns (bool);

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
        if (k == 0) revert InputCountMismatch(0, 0);
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
        bool product = _product();
        for (uint256 j = 1; j < k; ++j) {
            uint256 src;
            assembly ("memory-safe") {
                src := add(inputs.offset, shl(5, mul(j, n)))
            }
            assembly ("memory-safe") {
                // out[i] = out[i] + input_j[i], or (out[i] · input_j[i]) >> 32 for a product;
                // input j is at calldata src.
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    let at_ := add(p, shl(5, i))
                    let a := mload(at_)
                    let b := calldataload(add(src, shl(5, i)))
                    switch product
                    case 0 { mstore(at_, add(a, b)) }
                    default { mstore(at_, sar(32, mul(a, b))) }
                }
            }
        }
    }
}
