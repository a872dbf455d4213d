// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {NormalizationBase} from "./NormalizationBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title GroupNormalizationLayer
/// @notice Keras `GroupNormalization` over the last axis; see `NormalizationBase`.
/// @dev `spec`: the number of groups, which divides the channels C (the last axis). Channel c is in
///      group c / (C / groups), statistics over every position; gamma/beta have one value per channel.
contract GroupNormalizationLayer is NormalizationBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.GROUP_NORMALIZATION;
    }

    /// @dev Never row-local: a group's statistics span every position (a slice is given the
    ///      whole input).
    function _rowLocal(uint256) internal pure override returns (bool) {
        return false;
    }

    function _index(uint256[] memory shape, uint256 n, uint256 spec)
        internal
        pure
        override
        returns (uint256[] memory idx, uint256 groups, uint256 params)
    {
        if (shape.length == 0) revert InputShapeMismatch(0);
        uint256 ch = shape[shape.length - 1];
        _requireConfig(ch > 0 && ch % spec == 0);
        uint256 per = ch / spec;
        idx = new uint256[](n);
        assembly ("memory-safe") {
            // idx[i] = (c / per) << 128 | c with c = i mod ch.
            let ip := add(idx, 0x20)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let c := mod(i, ch)
                mstore(add(ip, shl(5, i)), or(shl(128, div(c, per)), c))
            }
        }
        groups = spec;
        params = ch;
    }
}
