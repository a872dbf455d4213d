// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RegridBase} from "./RegridBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title ZeroPadding1DLayer
/// @notice Keras `ZeroPadding1D`; see `RegridBase`.
contract ZeroPadding1DLayer is RegridBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.ZERO_PADDING_1D;
    }

    function _axes() internal pure override returns (uint256) {
        return 1;
    }
}
