// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ElementwiseBase} from "./ElementwiseBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title MultiplyLayer
/// @notice Keras `Multiply`; see `ElementwiseBase`.
contract MultiplyLayer is ElementwiseBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.MULTIPLY;
    }

    function _product() internal pure override returns (bool) {
        return true;
    }
}
