// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind} from "../lib/Types.sol";

/// @title EmbeddingLayer
/// @notice Keras `Embedding`.
/// @dev Config: `abi.encode(uint256 inputDim, uint256 outputDim)`.
///      Weight tensors: embeddings [inputDim, outputDim].
///      Inference (`forward`) is not implemented yet (issue 6).
contract EmbeddingLayer is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// Vocabulary size.
        uint256 inputDim;
        /// Embedding width.
        uint256 outputDim;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.EMBEDDING;
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
        (c.inputDim, c.outputDim) = abi.decode(data, (uint256, uint256));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.inputDim > 0 && c.outputDim > 0);
    }
}
