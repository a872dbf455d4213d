// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title SigmoidLayer
/// @notice `Activation('sigmoid')`.
/// @dev Config: empty bytes.
///      Weight tensors: none.
///      Inference (`forward`) is not implemented yet (issue 6).
contract SigmoidLayer is LayerBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.SIGMOID;
    }

    function _validate(bytes memory data) internal pure override {
        _requireConfig(data.length == 0);
    }
}
