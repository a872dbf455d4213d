// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GroupedConvBase} from "./GroupedConvBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {LayerKind, Padding, WeightTensor} from "../lib/Types.sol";

/// @title DepthwiseConv2DLayer
/// @notice The grouped convolution (channels_last, dilation 1): Keras `DepthwiseConv2D` (groups =
///         input channels, filters = input channels × depth_multiplier) and `Conv2D` with groups > 1.
/// @dev Config: `abi.encode(uint8 activation, uint256 inputFilters, uint256 filters, uint256[2] kernelSize, uint256[2] strides, uint8 padding, bool useBias, uint256 groups)`.
///      Weight tensors: kernel [rows, cols, inputFilters / groups, filters] (a depthwise kernel
///      [rows, cols, inputFilters, multiplier] is the same values in the same order), bias [filters] if useBias.
contract DepthwiseConv2DLayer is GroupedConvBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.DEPTHWISE_CONV_2D;
    }

    /// @notice The layer's config, decoded and range-checked.
    /// @return c The common convolution fields (see `ConvConfig`).
    /// @return groups Groups; both channel counts are multiples of it.
    function config() external view returns (ConvConfig memory c, uint256 groups) {
        (c, groups) = _decode(configData());
    }

    function _validate(bytes memory data) internal pure override {
        _decode(data);
    }

    function _decode(bytes memory data) internal pure returns (ConvConfig memory c, uint256 groups) {
        (c, groups) = _decodeConvAnd(data);
        _requireConfig(
            _convOk(c, Padding.SAME) && groups > 0 && c.inputFilters % groups == 0 && c.filters % groups == 0
        );
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
        (Geometry memory g, ConvConfig memory c, uint256 groups) = _geometry(shapes, ranks, cfg, list);
        (out, shape) = _run(inputs, g, c, groups, m, list);
    }

    /// @notice For a job's slices (`ISliceableLayer`): the output rows and the input rows
    ///         [from, from + count) read, as `forwardSlice` takes them.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        override
        returns (uint256, uint256, uint256)
    {
        (Geometry memory g,,) = _geometry(shapes, ranks, configData(), tensors());
        return _sliceWindow(g, from, count);
    }

    /// @dev Output rows [from, from + count) from only the input rows they read (see
    ///      `IForwardLayer.forwardSlice` and `_windowRows`).
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
        (Geometry memory g, ConvConfig memory c, uint256 groups) = _geometry(shapes, ranks, cfg, list);
        _sliceRows(inputs, g, from, count);
        (out, shape) = _run(inputs, g, c, groups, m, list);
    }

    function _geometry(uint256[] calldata shapes, uint256[] calldata ranks, bytes memory cfg, WeightTensor[] memory list)
        internal
        pure
        returns (Geometry memory g, ConvConfig memory c, uint256 groups)
    {
        uint256[] memory s = _single(shapes, ranks);
        (c, groups) = _decode(cfg);
        if (list.length != (c.useBias ? 2 : 1)) revert InvalidConfig(LayerKind.DEPTHWISE_CONV_2D);
        g = _geometryOf(s, c.inputFilters, c.filters, c.kernelSize, c.strides, c.padding);
    }

    function _run(
        int256[] calldata inputs,
        Geometry memory g,
        ConvConfig memory c,
        uint256 groups,
        address m,
        WeightTensor[] memory list
    )
        internal
        view
        returns (int256[] memory out, uint256[] memory shape)
    {
        int256[] memory bias = c.useBias ? _values(_raw(m, list[1])) : new int256[](0);
        (int256[] memory x,) = _padded(inputs, g);
        out = _grouped(x, g, groups, _raw(m, list[0]), bias, c.activation);
        shape = new uint256[](3);
        (shape[0], shape[1], shape[2]) = (g.oh, g.ow, g.f);
    }
}
