// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title GlobalAveragePoolingBase
/// @notice Keras `GlobalAveragePooling1D` and `GlobalAveragePooling2D` (channels_last): the mean of
///         every channel over all other axes, which is the same code for both ranks.
/// @dev Config: empty bytes.
///      Weight tensors: none.
abstract contract GlobalAveragePoolingBase is LayerBase {
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
        uint256[] memory inShape = _single(shapes, ranks);
        if (inShape.length == 0) revert InputShapeMismatch(0);
        uint256 ch = inShape[inShape.length - 1];
        if (ch == 0) revert InputShapeMismatch(0);
        int256 count = int256(inputs.length / ch);
        if (count == 0) count = 1;
        out = new int256[](ch);
        uint256 o = _ptr(out);
        assembly ("memory-safe") {
            // One position at a time (inputs.length is a multiple of ch: its shape's product),
            // each channel's sum in memory; int256 sums of the reference's i128 values cannot
            // wrap. Then the truncating division (SDIV), as the reference.
            let oEnd := add(o, shl(5, ch))
            let end := add(inputs.offset, shl(5, inputs.length))
            for { let at := inputs.offset } lt(at, end) {} {
                for { let d := o } lt(d, oEnd) { d := add(d, 0x20) } {
                    mstore(d, add(mload(d), calldataload(at)))
                    at := add(at, 0x20)
                }
            }
            for { let d := o } lt(d, oEnd) { d := add(d, 0x20) } {
                mstore(d, sdiv(mload(d), count))
            }
        }
        shape = new uint256[](1);
        shape[0] = ch;
    }
}
