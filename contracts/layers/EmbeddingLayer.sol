// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title EmbeddingLayer
/// @notice Keras `Embedding`.
/// @dev Config: `abi.encode(uint256 inputDim, uint256 outputDim)`.
///      Weight tensors: embeddings [inputDim, outputDim].
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
        _check(c);
        (uint256 rows, uint256 dim) = (c.inputDim, c.outputDim);
        if (list.length != 1 || list[0].length != rows * dim) revert InvalidConfig(LayerKind.EMBEDDING);
        Raw memory table = _raw(m, list[0]);
        shape = new uint256[](s.length + 1);
        for (uint256 i; i < s.length; ++i) {
            shape[i] = s[i];
        }
        shape[s.length] = dim;
        out = new int256[](inputs.length * dim);
        for (uint256 p; p < inputs.length; ++p) {
            // The token is the integer part of the Q32.32 input (floor).
            int256 index = inputs[p] >> 32;
            if (index < 0 || uint256(index) >= rows) revert EmbeddingIndexOutOfRange(p, index, rows);
            uint256 row = uint256(index) * dim;
            for (uint256 d; d < dim; ++d) {
                out[p * dim + d] = _at(table, row + d);
            }
        }
    }
}
