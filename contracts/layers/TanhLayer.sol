// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ActivationBase} from "./ActivationBase.sol";
import {Activation, LayerKind} from "../lib/Types.sol";

/// @title TanhLayer
/// @notice `Activation('tanh')`.
/// @dev Config: empty bytes. Weight tensors: none. See `ActivationBase`.
contract TanhLayer is ActivationBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.TANH;
    }

    function _activation() internal pure override returns (uint8) {
        return Activation.TANH;
    }
}
