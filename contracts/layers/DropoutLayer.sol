// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title DropoutLayer
/// @notice Keras `Dropout` (identity at inference).
/// @dev Config: empty bytes.
///      Weight tensors: none.
///      Inference (`forward`) is not implemented yet (issue 6).
contract DropoutLayer is LayerBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.DROPOUT;
    }

    function _validate(bytes memory data) internal pure override {
        _requireConfig(data.length == 0);
    }
}
