// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title ZeroPadding2DLayer
/// @notice Keras `ZeroPadding2D`. Sliced by output rows: rows [from, from + count) read input
///         rows [min(h, max(0, from − top)), min(h, max(0, from + count − top))).
/// @dev Config: `abi.encode(uint256[4] padding, uint8 dataFormat)`.
///      Weight tensors: none.
contract ZeroPadding2DLayer is LayerBase, ISliceableLayer {
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
        (uint256[] memory s, Config memory c) = _shape(shapes, ranks, cfg);
        return _pad(inputs, s, c, 0, s[0] + c.padding[0] + c.padding[1]);
    }

    /// @inheritdoc ISliceableLayer
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        returns (uint256 length, uint256 first, uint256 last)
    {
        (uint256[] memory s, Config memory c) = _shape(shapes, ranks, configData());
        length = s[0] + c.padding[0] + c.padding[1];
        _checkSlice(from, count, length);
        (first, last) = _rows(from, count, c.padding[0], s[0]);
    }

    /// @dev Output rows [from, from + count) from the input rows they read (`sliceInput`).
    function _forwardSlice(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address,
        bytes memory cfg,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        (uint256[] memory s, Config memory c) = _shape(shapes, ranks, cfg);
        _checkSlice(from, count, s[0] + c.padding[0] + c.padding[1]);
        return _pad(inputs, s, c, from, count);
    }

    /// @dev The one input's shape [h, w, ch] (channels_last only) and the config.
    function _shape(uint256[] calldata shapes, uint256[] calldata ranks, bytes memory cfg)
        internal
        pure
        returns (uint256[] memory s, Config memory c)
    {
        s = _single(shapes, ranks);
        c = _decode(cfg);
        if (c.dataFormat != 1) revert UnsupportedConfig(LayerKind.ZERO_PADDING_2D);
        if (s.length != 3) revert InputShapeMismatch(0);
    }

    /// @dev The input rows [first, last) output rows [from, from + count) read, of `h` rows
    ///      after `top` rows of padding (empty when they are all padding).
    function _rows(uint256 from, uint256 count, uint256 top, uint256 h)
        internal
        pure
        returns (uint256 first, uint256 last)
    {
        first = from > top ? from - top : 0;
        if (first > h) first = h;
        uint256 end = from + count;
        last = end > top ? end - top : 0;
        if (last > h) last = h;
        if (last < first) last = first;
    }

    /// @dev Output rows [from, from + count) of the padded [h, w, ch] input `s`, `inputs` holding
    ///      exactly the input rows they read.
    function _pad(int256[] calldata inputs, uint256[] memory s, Config memory c, uint256 from, uint256 count)
        internal
        pure
        returns (int256[] memory out, uint256[] memory shape)
    {
        (uint256 h, uint256 w, uint256 ch) = (s[0], s[1], s[2]);
        (uint256 first, uint256 last) = _rows(from, count, c.padding[0], h);
        if (inputs.length != (last - first) * w * ch) revert InputShapeMismatch(0);
        uint256 ow = w + c.padding[2] + c.padding[3];
        shape = new uint256[](3);
        shape[0] = count;
        shape[1] = ow;
        shape[2] = ch;
        out = new int256[](count * ow * ch);
        uint256 dst = _ptr(out);
        uint256 rowBytes = w * ch * 32;
        for (uint256 y = first; y < last; ++y) {
            uint256 to = dst + ((y + c.padding[0] - from) * ow + c.padding[2]) * ch * 32;
            uint256 at = (y - first) * w * ch;
            assembly ("memory-safe") {
                calldatacopy(to, add(inputs.offset, shl(5, at)), rowBytes)
            }
        }
    }
}
