// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {GlobalMaxPoolingBase} from "./GlobalMaxPoolingBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title GlobalMaxPooling2DLayer
/// @notice Keras `GlobalMaxPooling2D`; see `GlobalMaxPoolingBase`.
contract GlobalMaxPooling2DLayer is GlobalMaxPoolingBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.GLOBAL_MAX_POOLING_2D;
    }
}
