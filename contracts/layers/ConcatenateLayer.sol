// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title ConcatenateLayer
/// @notice Keras `Concatenate`.
/// @dev Config: `abi.encode(int256 axis)`.
///      Weight tensors: none.
///      Inference (`forward`) is not implemented yet (issue 6).
contract ConcatenateLayer is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// Axis, negative counts from the end.
        int256 axis;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.CONCATENATE;
    }

    /// @notice The layer's config, decoded and range-checked.
    /// @return c The config (see `Config`).
    function config() external view returns (Config memory c) {
        c = _decode(configData());
        _check(c);
    }

    function _validate(bytes memory data) internal pure override {
        _check(_decode(data));
    }

    function _decode(bytes memory data) internal pure returns (Config memory c) {
        c.axis = abi.decode(data, (int256));
    }

    /// @dev Every value of every field is meaningful.
    function _check(Config memory) internal pure {}
}
