// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ElementwiseBase} from "./ElementwiseBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title AddLayer
/// @notice Keras `Add`; see `ElementwiseBase`.
contract AddLayer is ElementwiseBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.ADD;
    }

    function _product() internal pure override returns (bool) {
        return false;
    }
}
