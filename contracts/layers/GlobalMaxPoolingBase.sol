// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {WeightTensor} from "../lib/Types.sol";

/// @title GlobalMaxPoolingBase
/// @notice Keras `GlobalMaxPooling1D` and `GlobalMaxPooling2D` (channels_last): the maximum of
///         every channel over all other axes, the same code for both ranks.
/// @dev Config: `abi.encode(bool keepdims)`; with keepdims the other axes stay, as 1.
///      Weight tensors: none.
abstract contract GlobalMaxPoolingBase is LayerBase {
    function _validate(bytes memory data) internal pure override {
        abi.decode(data, (bool));
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
        bool keepdims = abi.decode(cfg, (bool));
        uint256[] memory inShape = _single(shapes, ranks);
        if (inShape.length == 0) revert InputShapeMismatch(0);
        uint256 ch = inShape[inShape.length - 1];
        if (ch == 0 || inputs.length < ch) revert InputShapeMismatch(0);
        out = _sliceI(inputs, 0, ch);
        uint256 o = _ptr(out);
        assembly ("memory-safe") {
            let chBytes := shl(5, ch)
            let end := add(inputs.offset, shl(5, inputs.length))
            let oEnd := add(o, chBytes)
            for { let at := add(inputs.offset, chBytes) } lt(at, end) {} {
                // One position: channel d − o's running maximum against its value, without a
                // branch (m ^ ((m ^ v) · (v > m)) is max(m, v)).
                for { let d := o } lt(d, oEnd) { d := add(d, 0x20) } {
                    let v := calldataload(at)
                    let m := mload(d)
                    mstore(d, xor(m, mul(xor(m, v), sgt(v, m))))
                    at := add(at, 0x20)
                }
            }
        }
        if (keepdims) {
            shape = new uint256[](inShape.length);
            for (uint256 a; a + 1 < inShape.length; ++a) {
                shape[a] = 1;
            }
            shape[inShape.length - 1] = ch;
        } else {
            shape = new uint256[](1);
            shape[0] = ch;
        }
    }
}
