// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {GlobalAveragePoolingBase} from "./GlobalAveragePoolingBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title GlobalAveragePooling2DLayer
/// @notice Keras `GlobalAveragePooling2D` (channels_last); see `GlobalAveragePoolingBase`.
contract GlobalAveragePooling2DLayer is GlobalAveragePoolingBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.GLOBAL_AVERAGE_POOLING_2D;
    }
}
