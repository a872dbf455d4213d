// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Pooling1DBase} from "./Pooling1DBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title MaxPooling1DLayer
/// @notice Keras `MaxPooling1D`; see `Pooling1DBase`.
contract MaxPooling1DLayer is Pooling1DBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.MAX_POOLING_1D;
    }

    function _max() internal pure override returns (bool) {
        return true;
    }
}
