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

    /// @dev Every channel of one output pixel: the maximum over the window's real pixels, written
    ///      to the `ch` words at memory `o`. The input is [h, w, ch] in calldata.
    function _pixel(int256[] calldata inputs, Pool memory p, uint256 ys, uint256 ye, uint256 xs, uint256 xe, uint256 o)
        internal
        pure
        override
    {
        uint256 w = p.w;
        uint256 ch = p.ch;
        assembly ("memory-safe") {
            let bytes_ := shl(5, ch)
            let first := 1
            for { let y := ys } lt(y, ye) { y := add(y, 1) } {
                for { let x := xs } lt(x, xe) { x := add(x, 1) } {
                    let src := add(inputs.offset, mul(add(mul(y, w), x), bytes_))
                    switch first
                    case 1 {
                        calldatacopy(o, src, bytes_)
                        first := 0
                    }
                    default {
                        for { let i := 0 } lt(i, bytes_) { i := add(i, 0x20) } {
                            let v := calldataload(add(src, i))
                            let d := add(o, i)
                            if sgt(v, mload(d)) { mstore(d, v) }
                        }
                    }
                }
            }
        }
    }
}
