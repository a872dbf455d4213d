// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Pooling2DBase} from "./Pooling2DBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title AveragePooling2DLayer
/// @notice Keras `AveragePooling2D` (channels_last); config and geometry in `Pooling2DBase`.
contract AveragePooling2DLayer is Pooling2DBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.AVERAGE_POOLING_2D;
    }

    /// @dev Every channel of one output pixel: the sum of the window's real pixels (padding not
    ///      counted, as TensorFlow) divided by their count, truncating (SDIV); written to the `ch`
    ///      words at memory `o` (zero on entry). The input is [h, w, ch] in calldata.
    function _pixel(int256[] calldata inputs, Pool memory p, uint256 ys, uint256 ye, uint256 xs, uint256 xe, uint256 o)
        internal
        pure
        override
    {
        uint256 w = p.w;
        uint256 ch = p.ch;
        uint256 n = (ye - ys) * (xe - xs);
        if (n == 0) n = 1;
        assembly ("memory-safe") {
            let bytes_ := shl(5, ch)
            for { let y := ys } lt(y, ye) { y := add(y, 1) } {
                for { let x := xs } lt(x, xe) { x := add(x, 1) } {
                    let src := add(inputs.offset, mul(add(mul(y, w), x), bytes_))
                    for { let i := 0 } lt(i, bytes_) { i := add(i, 0x20) } {
                        let d := add(o, i)
                        mstore(d, add(mload(d), calldataload(add(src, i))))
                    }
                }
            }
            for { let i := 0 } lt(i, bytes_) { i := add(i, 0x20) } {
                let d := add(o, i)
                mstore(d, sdiv(mload(d), n))
            }
        }
    }
}
