// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title ZeroPadding2DLayer
/// @notice Keras `ZeroPadding2D`.
/// @dev Config: `abi.encode(uint256[4] padding, uint8 dataFormat)`.
///      Weight tensors: none.
///      Inference (`forward`) is not implemented yet (issue 6).
contract ZeroPadding2DLayer is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// (top, bottom, left, right), as the bundle's flattened `padding`.
        uint256[4] padding;
        /// 0 = channels_first, 1 = channels_last (eai's `ZeroPaddingFormat`).
        uint8 dataFormat;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.ZERO_PADDING_2D;
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
        (c.padding, c.dataFormat) = abi.decode(data, (uint256[4], uint8));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.dataFormat <= 1);
    }
}
