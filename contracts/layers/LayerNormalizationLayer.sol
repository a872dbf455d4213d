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
        for (uint256 i; i < n; ++i) {
            // Row-major coordinates, last axis fastest; mixed radix within each set of axes.
            uint256 rest = i;
            uint256 g;
            uint256 p;
            uint256 gw = 1;
            uint256 pw = 1;
            for (uint256 a = rank; a > 0; --a) {
                uint256 dim = shape[a - 1];
                uint256 x = rest % dim;
                rest /= dim;
                if ((spec >> (a - 1)) & 1 == 1) {
                    p += x * pw;
                    pw *= dim;
                } else {
                    g += x * gw;
                    gw *= dim;
                }
            }
            idx[i] = (g << 128) | p;
        }
    }
}
