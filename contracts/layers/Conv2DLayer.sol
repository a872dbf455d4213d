// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ConvBase} from "./ConvBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {Activation, LayerKind, Padding, WeightTensor} from "../lib/Types.sol";

/// @title Conv2DLayer
/// @notice Keras `Conv2D` (channels_last, dilation 1, groups 1).
/// @dev Config: `abi.encode(uint8 activation, uint256 inputFilters, uint256 filters, uint256[2] kernelSize, uint256[2] strides, uint8 padding, bool useBias)`.
///      Weight tensors: kernel [rows, cols, inputFilters, filters], bias [filters] if useBias.
contract Conv2DLayer is ConvBase {
    /// @notice The decoded config.
    struct Config {
        /// `Activation` code.
        uint8 activation;
        /// Input channels.
        uint256 inputFilters;
        /// Output channels.
        uint256 filters;
        /// Kernel (rows, cols).
        uint256[2] kernelSize;
        /// Strides (rows, cols).
        uint256[2] strides;
        /// `Padding.VALID` or `Padding.SAME`.
        uint8 padding;
        /// Whether a bias tensor follows the kernel.
        bool useBias;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.CONV_2D;
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
        (c.activation, c.inputFilters, c.filters, c.kernelSize, c.strides, c.padding, c.useBias) = abi.decode(data, (uint8, uint256, uint256, uint256[2], uint256[2], uint8, bool));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.activation < Activation.COUNT && c.inputFilters > 0 && c.filters > 0 && c.kernelSize[0] > 0 && c.kernelSize[1] > 0 && c.strides[0] > 0 && c.strides[1] > 0 && c.padding <= Padding.SAME);
    }

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view override returns (int256[] memory out, uint256[] memory shape) {
        (Geometry memory g, Config memory c) = _geometry(shapes, ranks, cfg, list);
        out = _run(inputs, g, c, m, list, 0);
        shape = new uint256[](3);
        (shape[0], shape[1], shape[2]) = (g.oh, g.ow, g.f);
    }

    /// @inheritdoc ISliceableLayer
    /// @dev Rows only: a job carries its partial output row by row.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        returns (uint256 length, uint256 first, uint256 last)
    {
        (Geometry memory g,) = _geometry(shapes, ranks, configData(), tensors());
        _checkSlice(from, count, g.oh);
        (uint256 rows, uint256 padBefore) = _windowRows(from, count, g.kh, g.sh, g.pt, g.h);
        first = padBefore + from * g.sh - g.pt;
        return (g.oh, first, first + rows);
    }

    /// @dev Output rows [from, from + count) from only the input rows they read (see
    ///      `IForwardLayer.forwardSlice` and `_windowRows`). A slice may also take only some
    ///      output channels (filters): the high 128 bits of `from` and `count` are the first
    ///      channel and the channel count (count 0: every channel, as a plain row slice); the
    ///      output is then [count, ow, channels], those filters only — the kernel packing, the
    ///      multiplications and the activation are all per filter, so the values are those of
    ///      the whole output. Softmax runs over every channel: taken only with all of them.
    function _forwardSlice(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view override returns (int256[] memory out, uint256[] memory shape) {
        (Geometry memory g, Config memory c) = _geometry(shapes, ranks, cfg, list);
        uint256 f0 = from >> 128;
        uint256 channels = count >> 128;
        (from, count) = (uint128(from), uint128(count));
        if (channels == 0) {
            f0 = 0;
            channels = g.f;
        }
        _checkSlice(f0, channels, g.f);
        if (c.activation == Activation.SOFTMAX && channels != g.f) revert OutputSliceOutOfRange(f0, channels, g.f);
        _checkSlice(from, count, g.oh);
        (g.h, g.pt) = _windowRows(from, count, g.kh, g.sh, g.pt, g.h);
        g.oh = count;
        g.f = channels;
        if (inputs.length != g.h * g.w * g.cin) revert InputShapeMismatch(0);
        out = _run(inputs, g, c, m, list, f0);
        shape = new uint256[](3);
        (shape[0], shape[1], shape[2]) = (g.oh, g.ow, g.f);
    }

    /// @dev The whole convolution's geometry from the input shape and the config.
    function _geometry(uint256[] calldata shapes, uint256[] calldata ranks, bytes memory cfg, WeightTensor[] memory list)
        internal
        pure
        returns (Geometry memory g, Config memory c)
    {
        uint256[] memory s = _single(shapes, ranks);
        c = _decode(cfg);
        _check(c);
        if (s.length != 3 || s[2] != c.inputFilters) revert InputShapeMismatch(0);
        if (list.length != (c.useBias ? 2 : 1)) revert InvalidConfig(LayerKind.CONV_2D);
        (g.h, g.w, g.cin, g.f) = (s[0], s[1], c.inputFilters, c.filters);
        (g.kh, g.kw, g.sh, g.sw) = (c.kernelSize[0], c.kernelSize[1], c.strides[0], c.strides[1]);
        g.oh = _convOutLen(g.h, g.kh, g.sh, c.padding);
        g.ow = _convOutLen(g.w, g.kw, g.sw, c.padding);
        g.pt = _convPadBefore(g.h, g.oh, g.kh, g.sh, c.padding);
        g.pl = _convPadBefore(g.w, g.ow, g.kw, g.sw, c.padding);
    }

    /// @dev Filters [f0, f0 + g.f) of the convolution.
    function _run(
        int256[] calldata inputs,
        Geometry memory g,
        Config memory c,
        address m,
        WeightTensor[] memory list,
        uint256 f0
    ) internal view returns (int256[] memory) {
        int256[] memory bias = c.useBias ? _values(_raw(m, list[1])) : new int256[](0);
        return _convolveNarrowed(inputs, g, _raw(m, list[0]), bias, c.activation, f0);
    }
}
