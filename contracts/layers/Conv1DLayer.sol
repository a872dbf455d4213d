// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ConvBase} from "./ConvBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {Activation, LayerKind, Padding, WeightTensor} from "../lib/Types.sol";

/// @title Conv1DLayer
/// @notice Keras `Conv1D` (channels_last, dilation 1, groups 1).
/// @dev Config: `abi.encode(uint8 activation, uint256 inputFilters, uint256 filters, uint256 kernelSize, uint256 stride, uint8 padding, bool useBias)`.
///      Weight tensors: kernel [kernelSize, inputFilters, filters], bias [filters] if useBias.
contract Conv1DLayer is ConvBase {
    /// @notice The decoded config.
    struct Config {
        /// `Activation` code.
        uint8 activation;
        /// Input channels.
        uint256 inputFilters;
        /// Output channels.
        uint256 filters;
        /// Kernel width.
        uint256 kernelSize;
        /// Stride.
        uint256 stride;
        /// `Padding.VALID`, `Padding.SAME` or `Padding.CAUSAL`.
        uint8 padding;
        /// Whether a bias tensor follows the kernel.
        bool useBias;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.CONV_1D;
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
        (c.activation, c.inputFilters, c.filters, c.kernelSize, c.stride, c.padding, c.useBias) = abi.decode(data, (uint8, uint256, uint256, uint256, uint256, uint8, bool));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.activation < Activation.COUNT && c.inputFilters > 0 && c.filters > 0 && c.kernelSize > 0 && c.stride > 0 && c.padding <= Padding.CAUSAL);
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
        out = _run(inputs, g, c, m, list);
        shape = new uint256[](2);
        (shape[0], shape[1]) = (g.ow, g.f);
    }

    /// @dev Output steps [from, from + count) from only the input steps they read (see
    ///      `IForwardLayer.forwardSlice` and `_windowRows`; the steps are the columns of the
    ///      one-row Conv2D this is).
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
        _checkSlice(from, count, g.ow);
        (g.w, g.pl) = _windowRows(from, count, g.kw, g.sw, g.pl, g.w);
        g.ow = count;
        if (inputs.length != g.w * g.cin) revert InputShapeMismatch(0);
        out = _run(inputs, g, c, m, list);
        shape = new uint256[](2);
        (shape[0], shape[1]) = (g.ow, g.f);
    }

    /// @inheritdoc ISliceableLayer
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        returns (uint256 length, uint256 first, uint256 last)
    {
        (Geometry memory g,) = _geometry(shapes, ranks, configData(), tensors());
        _checkSlice(from, count, g.ow);
        (uint256 rows, uint256 padBefore) = _windowRows(from, count, g.kw, g.sw, g.pl, g.w);
        first = padBefore + from * g.sw - g.pl;
        return (g.ow, first, first + rows);
    }

    /// @dev The whole convolution's geometry (a Conv1D is a Conv2D over one row).
    function _geometry(uint256[] calldata shapes, uint256[] calldata ranks, bytes memory cfg, WeightTensor[] memory list)
        internal
        pure
        returns (Geometry memory g, Config memory c)
    {
        uint256[] memory s = _single(shapes, ranks);
        c = _decode(cfg);
        _check(c);
        if (s.length != 2 || s[1] != c.inputFilters) revert InputShapeMismatch(0);
        if (list.length != (c.useBias ? 2 : 1)) revert InvalidConfig(LayerKind.CONV_1D);
        (g.h, g.w, g.cin, g.f) = (1, s[0], c.inputFilters, c.filters);
        (g.kh, g.kw, g.sh, g.sw) = (1, c.kernelSize, 1, c.stride);
        g.oh = 1;
        g.ow = _convOutLen(g.w, g.kw, g.sw, c.padding);
        g.pl = _convPadBefore(g.w, g.ow, g.kw, g.sw, c.padding);
    }

    function _run(int256[] calldata inputs, Geometry memory g, Config memory c, address m, WeightTensor[] memory list)
        internal
        view
        returns (int256[] memory)
    {
        int256[] memory bias = c.useBias ? _values(_raw(m, list[1])) : new int256[](0);
        return _convolveNarrowed(inputs, g, _raw(m, list[0]), bias, c.activation, 0);
    }
}
