// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Pooling1DBase} from "./Pooling1DBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title AveragePooling1DLayer
/// @notice Keras `AveragePooling1D`; see `Pooling1DBase`.
contract AveragePooling1DLayer is Pooling1DBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.AVERAGE_POOLING_1D;
    }

    function _max() internal pure override returns (bool) {
        return false;
    }
}
