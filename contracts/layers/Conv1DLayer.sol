// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Activation, LayerKind, Padding} from "../lib/Types.sol";

/// @title Conv1DLayer
/// @notice Keras `Conv1D` (channels_last, dilation 1, groups 1).
/// @dev Config: `abi.encode(uint8 activation, uint256 inputFilters, uint256 filters, uint256 kernelSize, uint256 stride, uint8 padding, bool useBias)`.
///      Weight tensors: kernel [kernelSize, inputFilters, filters], bias [filters] if useBias.
///      Inference (`forward`) is not implemented yet (issue 6).
contract Conv1DLayer is LayerBase {
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
}
