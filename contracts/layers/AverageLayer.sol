// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {MergeBase} from "./MergeBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title AverageLayer
/// @notice Keras `Average`; see `MergeBase`.
contract AverageLayer is MergeBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.AVERAGE;
    }

    function _op() internal pure override returns (uint256) {
        return _AVERAGE;
    }
}
