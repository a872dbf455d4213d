// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {MergeBase} from "./MergeBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title MinimumLayer
/// @notice Keras `Minimum`; see `MergeBase`.
contract MinimumLayer is MergeBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.MINIMUM;
    }

    function _op() internal pure override returns (uint256) {
        return _MINIMUM;
    }
}
