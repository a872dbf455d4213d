// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RegridBase} from "./RegridBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title UpSampling2DLayer
/// @notice Keras `UpSampling2D`; see `RegridBase`.
contract UpSampling2DLayer is RegridBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.UP_SAMPLING_2D;
    }

    function _axes() internal pure override returns (uint256) {
        return 2;
    }
}
