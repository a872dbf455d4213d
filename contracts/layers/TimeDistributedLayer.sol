// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GroupedConvBase} from "./GroupedConvBase.sol";
import {LayerBase} from "./LayerBase.sol";
import {Activation, LayerKind, Padding, WeightTensor} from "../lib/Types.sol";

/// @title TimeDistributedLayer
/// @notice Keras `TimeDistributed` around Conv1D or Conv2D: the convolution on each time step
///         alone (`time_distributed` in src/infer/wrap.rs). `TimeDistributed(Dense)` is Dense on
///         the last axis and is deployed as a `DenseLayer`.
/// @dev Config: `abi.encode(uint16 kind, bytes inner)`, `inner` the wrapped convolution's own
///      config (`Conv1DLayer`, `Conv2DLayer`). Weight tensors: the convolution's.
///      A Conv1D over [T, L, C] is one Conv2D over T rows with a one-row kernel (no padding
///      between rows), so it runs as a single convolution; a Conv2D runs once per step.
contract TimeDistributedLayer is GroupedConvBase {
    /// @notice The decoded config.
    struct Config {
        /// `LayerKind.CONV_1D` or `LayerKind.CONV_2D`.
        uint16 kind;
        /// `Activation` code.
        uint8 activation;
        /// Input channels.
        uint256 inputFilters;
        /// Output channels.
        uint256 filters;
        /// Kernel [rows, columns] (rows 1 for Conv1D).
        uint256[2] kernelSize;
        /// Strides [rows, columns] (rows 1 for Conv1D).
        uint256[2] strides;
        /// `Padding` code.
        uint8 padding;
        /// Whether a bias tensor follows the kernel.
        bool useBias;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.TIME_DISTRIBUTED;
    }

    /// @notice The layer's config, decoded and range-checked.
    /// @return c The config (see `Config`).
    function config() external view returns (Config memory c) {
        c = _decode(configData());
    }

    function _validate(bytes memory data) internal pure override {
        _decode(data);
    }

    function _decode(bytes memory data) internal pure returns (Config memory c) {
        (uint16 kind, bytes memory inner) = abi.decode(data, (uint16, bytes));
        c.kind = kind;
        if (kind == LayerKind.CONV_1D) {
            (c.activation, c.inputFilters, c.filters, c.kernelSize[1], c.strides[1], c.padding, c.useBias) =
                abi.decode(inner, (uint8, uint256, uint256, uint256, uint256, uint8, bool));
            (c.kernelSize[0], c.strides[0]) = (1, 1);
        } else if (kind == LayerKind.CONV_2D) {
            ConvConfig memory k = _decodeConv(inner);
            (c.activation, c.inputFilters, c.filters, c.kernelSize, c.strides, c.padding, c.useBias) =
                (k.activation, k.inputFilters, k.filters, k.kernelSize, k.strides, k.padding, k.useBias);
            _requireConfig(c.padding <= Padding.SAME);
        } else {
            revert InvalidConfig(LayerKind.TIME_DISTRIBUTED);
        }
        _requireConfig(
            c.activation < Activation.COUNT && c.inputFilters > 0 && c.filters > 0 && c.kernelSize[0] > 0
                && c.kernelSize[1] > 0 && c.strides[0] > 0 && c.strides[1] > 0 && c.padding <= Padding.CAUSAL
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
        uint256[] memory s = _single(shapes, ranks);
        Config memory c = _decode(cfg);
        if (list.length != (c.useBias ? 2 : 1)) revert InvalidConfig(LayerKind.TIME_DISTRIBUTED);
        Raw memory kernel = _raw(m, list[0]);
        int256[] memory bias = c.useBias ? _values(_raw(m, list[1])) : new int256[](0);
        Geometry memory g;
        (g.cin, g.f) = (c.inputFilters, c.filters);
        (g.kh, g.kw, g.sh, g.sw) = (c.kernelSize[0], c.kernelSize[1], c.strides[0], c.strides[1]);
        if (c.kind == LayerKind.CONV_1D) {
            // [T, L, C]: the T steps are the rows of one convolution whose kernel spans one row.
            if (s.length != 3 || s[2] != c.inputFilters) revert InputShapeMismatch(0);
            (g.h, g.w, g.oh) = (s[0], s[1], s[0]);
            g.ow = _convOutLen(g.w, g.kw, g.sw, c.padding);
            g.pl = _convPadBefore(g.w, g.ow, g.kw, g.sw, c.padding);
            out = _convolve(inputs, g, kernel, bias, c.activation, 0);
            shape = new uint256[](3);
            (shape[0], shape[1], shape[2]) = (g.h, g.ow, g.f);
            return (out, shape);
        }
        // [T, H, W, C]: one Conv2D per step.
        if (s.length != 4 || s[3] != c.inputFilters) revert InputShapeMismatch(0);
        uint256 steps = s[0];
        (g.h, g.w) = (s[1], s[2]);
        g.oh = _convOutLen(g.h, g.kh, g.sh, c.padding);
        g.ow = _convOutLen(g.w, g.kw, g.sw, c.padding);
        g.pt = _convPadBefore(g.h, g.oh, g.kh, g.sh, c.padding);
        g.pl = _convPadBefore(g.w, g.ow, g.kw, g.sw, c.padding);
        out = _perStep(inputs, g, kernel, bias, c.activation, steps);
        shape = new uint256[](4);
        (shape[0], shape[1], shape[2], shape[3]) = (steps, g.oh, g.ow, g.f);
    }

    /// @dev The convolution `g` on each of `steps` consecutive [h, w, cin] blocks of `inputs`,
    ///      the outputs one after the other.
    function _perStep(
        int256[] calldata inputs,
        Geometry memory g,
        Raw memory kernel,
        int256[] memory bias,
        uint8 act,
        uint256 steps
    ) internal pure returns (int256[] memory out) {
        uint256 inStep = g.h * g.w * g.cin;
        uint256 outBytes = g.oh * g.ow * g.f * 32;
        out = new int256[](steps * g.oh * g.ow * g.f);
        uint256 dst = _ptr(out);
        for (uint256 t; t < steps; ++t) {
            uint256 src = _ptr(_convolve(inputs[t * inStep:(t + 1) * inStep], g, kernel, bias, act, 0));
            assembly ("memory-safe") {
                mcopy(dst, src, outBytes)
            }
            dst += outBytes;
        }
    }
}
