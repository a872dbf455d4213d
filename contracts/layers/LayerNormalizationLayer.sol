// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {NormalizationBase} from "./NormalizationBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title LayerNormalizationLayer
/// @notice Keras `LayerNormalization` over any set of non-batch axes; see `NormalizationBase`.
/// @dev `spec`: bit a set when axis a + 1 (Keras's numbering, batch = 0) is normalised. A group is
///      one combination of the other axes' coordinates; gamma/beta are shaped like the normalised
///      axes (row-major, in increasing axis order).
contract LayerNormalizationLayer is NormalizationBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.LAYER_NORMALIZATION;
    }

    /// @dev Row-local unless axis 1 (bit 0) is normalised: each group then lies in one row.
    function _rowLocal(uint256 spec) internal pure override returns (bool) {
        return spec & 1 == 0;
    }

    function _index(uint256[] memory shape, uint256 n, uint256 spec)
        internal
        pure
        override
        returns (uint256[] memory idx, uint256 groups, uint256 params)
    {
        uint256 rank = shape.length;
        _requireConfig(rank < 256 && spec >> rank == 0);
        groups = 1;
        params = 1;
        for (uint256 a; a < rank; ++a) {
            if ((spec >> a) & 1 == 1) params *= shape[a];
            else groups *= shape[a];
        }
        idx = new uint256[](n);
        // One run of normalised axes [a, b) (the last axis, [2, 3], axis 1…): with I the size of
        // the axes after b and P of the run's, value i's parameter is (i / I) mod P and its group
        // (i / (I · P)) · I + i mod I — the walk below, in two divisions.
        uint256 low;
        while ((spec >> low) & 1 == 0) {
            ++low;
        }
        uint256 run = spec >> low;
        if (run & (run + 1) == 0) {
            uint256 inner = 1;
            for (uint256 a = rank; a > low; --a) {
                if ((spec >> (a - 1)) & 1 == 0) inner *= shape[a - 1];
            }
            uint256 span = inner * params;
            assembly ("memory-safe") {
                let ip := add(idx, 0x20)
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    let g := add(mul(div(i, span), inner), mod(i, inner))
                    mstore(add(ip, shl(5, i)), or(shl(128, g), mod(div(i, inner), params)))
                }
            }
            return (idx, groups, params);
        }
        assembly ("memory-safe") {
            // Row-major coordinates, last axis fastest; mixed radix within each set of axes:
            // group = Σ over other axes of x_a · (product of the other axes after a), param
            // likewise over the normalised axes. shape is a memory uint256[] of `rank` words.
            let sp := add(shape, 0x20)
            let ip := add(idx, 0x20)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let rest := i
                let g := 0
                let p := 0
                let gw := 1
                let pw := 1
                for { let a := rank } gt(a, 0) {} {
                    a := sub(a, 1)
                    let dim := mload(add(sp, shl(5, a)))
                    let x := mod(rest, dim)
                    rest := div(rest, dim)
                    switch and(shr(a, spec), 1)
                    case 1 {
                        p := add(p, mul(x, pw))
                        pw := mul(pw, dim)
                    }
                    default {
                        g := add(g, mul(x, gw))
                        gw := mul(gw, dim)
                    }
                }
                mstore(add(ip, shl(5, i)), or(shl(128, g), p))
            }
        }
    }
}
