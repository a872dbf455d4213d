// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title ZeroPadding2DLayer
/// @notice Keras `ZeroPadding2D`.
/// @dev Config: `abi.encode(uint256[4] padding, uint8 dataFormat)`.
///      Weight tensors: none.
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

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address,
        bytes memory cfg,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        uint256[] memory s = _single(shapes, ranks);
        Config memory c = _decode(cfg);
        if (c.dataFormat != 1) revert UnsupportedConfig(LayerKind.ZERO_PADDING_2D);
        if (s.length != 3) revert InputShapeMismatch(0);
        (uint256 h, uint256 w, uint256 ch) = (s[0], s[1], s[2]);
        uint256 ow = w + c.padding[2] + c.padding[3];
        shape = new uint256[](3);
        shape[0] = h + c.padding[0] + c.padding[1];
        shape[1] = ow;
        shape[2] = ch;
        out = new int256[](shape[0] * ow * ch);
        uint256 dst = _ptr(out);
        uint256 rowBytes = w * ch * 32;
        for (uint256 y; y < h; ++y) {
            uint256 to = dst + ((y + c.padding[0]) * ow + c.padding[2]) * ch * 32;
            uint256 from = y * w * ch;
            assembly ("memory-safe") {
                calldatacopy(to, add(inputs.offset, shl(5, from)), rowBytes)
            }
        }
    }
}
