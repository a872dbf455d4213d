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

    function _max() internal pure override returns (bool) {
        return false;
    }

    /// @inheritdoc Pooling2DBase
    function _pool(int256[] calldata inputs, Pool memory p, uint256 o) internal pure override {
        // Unchecked: see `_pool`'s bounds; checked arithmetic cost ~25% of the layer.
        unchecked {
            uint256 pixBytes = p.ch * 32;
            for (uint256 oy; oy < p.oh; ++oy) {
                (uint256 ys, uint256 ye) = _span(oy * p.sy, p.ky, p.pt, p.h);
                for (uint256 ox; ox < p.ow; ++ox) {
                    (uint256 xs, uint256 xe) = _span(ox * p.sx, p.kx, p.pl, p.w);
                    _pixel(inputs, p, ys, ye, xs, xe, o);
                    o += pixBytes;
                }
            }
        }
    }

    /// @dev Every channel of one output pixel: the sum of the window's real pixels (padding not
    ///      counted, as TensorFlow) divided by their count, truncating (SDIV); written to the `ch`
    ///      words at memory `o` (zero on entry). The input is [h, w, ch] in calldata.
    function _pixel(int256[] calldata inputs, Pool memory p, uint256 ys, uint256 ye, uint256 xs, uint256 xe, uint256 o)
        internal
        pure
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
