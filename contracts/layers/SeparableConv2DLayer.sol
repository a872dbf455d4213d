// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GroupedConvBase} from "./GroupedConvBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {Activation, LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title SeparableConv2DLayer
/// @notice Keras `SeparableConv2D` (channels_last, dilation 1): a depthwise convolution (depth
///         multiplier m, no bias), its Q32.32 result rounded as a layer's output is, then a
///         pointwise (1×1) convolution with the bias and the activation — the reference's order.
/// @dev Config: `abi.encode(uint8 activation, uint256 inputFilters, uint256 filters, uint256[2] kernelSize, uint256[2] strides, uint8 padding, bool useBias, uint256 depthMultiplier)`.
///      Weight tensors: depthwise kernel [rows, cols, inputFilters, depthMultiplier], pointwise
///      kernel [1, 1, inputFilters · depthMultiplier, filters], bias [filters] if useBias.
contract SeparableConv2DLayer is GroupedConvBase {
    /// @notice The decoded config.
    struct Config {
        /// `Activation` code.
        uint8 activation;
        /// Input channels.
        uint256 inputFilters;
        /// Output channels.
        uint256 filters;
        /// Depthwise kernel (rows, cols).
        uint256[2] kernelSize;
        /// Strides (rows, cols).
        uint256[2] strides;
        /// `Padding.VALID` or `Padding.SAME`.
        uint8 padding;
        /// Whether a bias tensor follows the kernels.
        bool useBias;
        /// Depthwise outputs per input channel.
        uint256 depthMultiplier;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.SEPARABLE_CONV_2D;
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
        (c.activation, c.inputFilters, c.filters, c.kernelSize, c.strides, c.padding, c.useBias, c.depthMultiplier) =
            abi.decode(data, (uint8, uint256, uint256, uint256[2], uint256[2], uint8, bool, uint256));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(
            c.activation < Activation.COUNT && c.inputFilters > 0 && c.filters > 0 && c.depthMultiplier > 0
                && c.kernelSize[0] > 0 && c.kernelSize[1] > 0 && c.strides[0] > 0 && c.strides[1] > 0
                && _checkPadding(c.padding)
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
        (Geometry memory g, Config memory c) = _geometry(shapes, ranks, cfg, list);
        (out, shape) = _run(inputs, g, c, m, list);
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
        (Geometry memory g, Config memory c) = _geometry(shapes, ranks, cfg, list);
        _sliceRows(inputs, g, from, count);
        (out, shape) = _run(inputs, g, c, m, list);
    }

    /// @dev The depthwise step's geometry (f = inputFilters · depthMultiplier).
    function _geometry(uint256[] calldata shapes, uint256[] calldata ranks, bytes memory cfg, WeightTensor[] memory list)
        internal
        pure
        returns (Geometry memory g, Config memory c)
    {
        uint256[] memory s = _single(shapes, ranks);
        c = _decode(cfg);
        _check(c);
        if (list.length != (c.useBias ? 3 : 2)) revert InvalidConfig(LayerKind.SEPARABLE_CONV_2D);
        g = _geometryOf(s, c.inputFilters, c.inputFilters * c.depthMultiplier, c.kernelSize, c.strides, c.padding);
    }

    function _run(int256[] calldata inputs, Geometry memory g, Config memory c, address m, WeightTensor[] memory list)
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
        out = _convolvePadded(y, maxY, p, _raw(m, list[1]), bias, c.activation, 0);
        shape = new uint256[](3);
        (shape[0], shape[1], shape[2]) = (g.oh, g.ow, c.filters);
    }
}
