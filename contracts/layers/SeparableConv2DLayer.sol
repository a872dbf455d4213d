// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GroupedConvBase} from "./GroupedConvBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {Activation, LayerKind, Padding, WeightTensor} from "../lib/Types.sol";

/// @title SeparableConv2DLayer
/// @notice Keras `SeparableConv2D` (channels_last, dilation 1): a depthwise convolution (depth
///         multiplier m, no bias), its Q32.32 result rounded as a layer's output is, then a
///         pointwise (1×1) convolution with the bias and the activation — the reference's order.
/// @dev Config: `abi.encode(uint8 activation, uint256 inputFilters, uint256 filters, uint256[2] kernelSize, uint256[2] strides, uint8 padding, bool useBias, uint256 depthMultiplier)`.
///      Weight tensors: depthwise kernel [rows, cols, inputFilters, depthMultiplier], pointwise
///      kernel [1, 1, inputFilters · depthMultiplier, filters], bias [filters] if useBias.
contract SeparableConv2DLayer is GroupedConvBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.SEPARABLE_CONV_2D;
    }

    /// @notice The layer's config, decoded and range-checked.
    /// @return c The common convolution fields (see `ConvConfig`; kernelSize and strides are the
    ///         depthwise step's).
    /// @return depthMultiplier Depthwise outputs per input channel.
    function config() external view returns (ConvConfig memory c, uint256 depthMultiplier) {
        (c, depthMultiplier) = _decode(configData());
    }

    function _validate(bytes memory data) internal pure override {
        _decode(data);
    }

    function _decode(bytes memory data) internal pure returns (ConvConfig memory c, uint256 depthMultiplier) {
        (c, depthMultiplier) = _decodeConvAnd(data);
        _requireConfig(_convOk(c, Padding.SAME) && depthMultiplier > 0);
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
        (Geometry memory g, ConvConfig memory c) = _geometry(shapes, ranks, cfg, list);
        (out, shape) = _run(inputs, g, c, m, list);
    }

    /// @notice For a job's slices (`ISliceableLayer`): the output rows and the input rows
    ///         [from, from + count) read, as `forwardSlice` takes them.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        override
        returns (uint256, uint256, uint256)
    {
        (Geometry memory g,) = _geometry(shapes, ranks, configData(), tensors());
        return _sliceWindow(g, from, count);
    }

    /// @dev Output rows [from, from + count) from only the input rows they read (the pointwise
    ///      step maps rows to rows).
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
        (Geometry memory g, ConvConfig memory c) = _geometry(shapes, ranks, cfg, list);
        _sliceRows(inputs, g, from, count);
        (out, shape) = _run(inputs, g, c, m, list);
    }

    /// @dev The depthwise step's geometry (f = inputFilters · depthMultiplier).
    function _geometry(uint256[] calldata shapes, uint256[] calldata ranks, bytes memory cfg, WeightTensor[] memory list)
        internal
        pure
        returns (Geometry memory g, ConvConfig memory c)
    {
        uint256[] memory s = _single(shapes, ranks);
        uint256 depthMultiplier;
        (c, depthMultiplier) = _decode(cfg);
        if (list.length != (c.useBias ? 3 : 2)) revert InvalidConfig(LayerKind.SEPARABLE_CONV_2D);
        g = _geometryOf(s, c.inputFilters, c.inputFilters * depthMultiplier, c.kernelSize, c.strides, c.padding);
    }

    function _run(int256[] calldata inputs, Geometry memory g, ConvConfig memory c, address m, WeightTensor[] memory list)
        internal
        view
        returns (int256[] memory out, uint256[] memory shape)
    {
        (int256[] memory x,) = _padded(inputs, g);
        int256[] memory y = _grouped(x, g, c.inputFilters, _raw(m, list[0]), new int256[](0), Activation.LINEAR);
        uint256 maxY;
        assembly ("memory-safe") {
            let p := add(y, 0x20)
            for { let e := add(p, shl(5, mload(y))) } lt(p, e) { p := add(p, 0x20) } {
                let v := mload(p)
                if slt(v, 0) { v := sub(0, v) }
                if gt(v, maxY) { maxY := v }
            }
        }
        // The pointwise step: a 1×1 convolution over [oh, ow, cin·m], no padding.
        Geometry memory p;
        (p.h, p.w, p.cin, p.f) = (g.oh, g.ow, g.f, c.filters);
        (p.kh, p.kw, p.sh, p.sw, p.oh, p.ow) = (1, 1, 1, 1, g.oh, g.ow);
        int256[] memory bias = c.useBias ? _values(_raw(m, list[2])) : new int256[](0);
        out = _convolvePadded(y, maxY, p, _raw(m, list[1]), bias, c.activation, 0, 0);
        shape = new uint256[](3);
        (shape[0], shape[1], shape[2]) = (g.oh, g.ow, c.filters);
    }
}
