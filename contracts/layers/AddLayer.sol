// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title AddLayer
/// @notice Keras `Add`.
/// @dev Config: empty bytes.
///      Weight tensors: none.
///      Inference (`forward`) is not implemented yet (issue 6).
contract AddLayer is LayerBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.ADD;
    }

    function _validate(bytes memory data) internal pure override {
        _requireConfig(data.length == 0);
    }
}
