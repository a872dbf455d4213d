// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RegridBase} from "./RegridBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title Cropping1DLayer
/// @notice Keras `Cropping1D`; see `RegridBase`.
contract Cropping1DLayer is RegridBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.CROPPING_1D;
    }

    function _axes() internal pure override returns (uint256) {
        return 1;
    }
}
