// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {MergeBase} from "./MergeBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title MaximumLayer
/// @notice Keras `Maximum`; see `MergeBase`.
contract MaximumLayer is MergeBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.MAXIMUM;
    }

    function _op() internal pure override returns (uint256) {
        return _MAXIMUM;
    }
}
