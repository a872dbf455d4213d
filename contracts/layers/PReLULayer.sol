// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RowSliceBase} from "./RowSliceBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title PReLULayer
/// @notice Keras `PReLU`: x for x > 0, else mul(alpha, x) (one product, rounding toward −∞),
///         alpha broadcast over `shared_axes`. The reference's `activations::prelu`.
/// @dev Config: `abi.encode(uint256[] alphaShape)`: alpha's shape, the input's without the batch
///      axis with 1 on every shared axis. Weight tensors: alpha [prod(alphaShape)].
contract PReLULayer is RowSliceBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.PRELU;
    }

    /// @notice The layer's config: alpha's shape.
    function config() external view returns (uint256[] memory alphaShape) {
        alphaShape = abi.decode(configData(), (uint256[]));
        _requireConfig(alphaShape.length > 0);
    }

    function _validate(bytes memory data) internal pure override {
        _requireConfig(abi.decode(data, (uint256[])).length > 0);
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
        return _prelu(inputs, shapes, ranks, 0, m, cfg, list);
    }

    /// @dev Rows from `from` on (`RowSliceBase`): alpha is read at the rows' own positions.
    function _forwardRows(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view override returns (int256[] memory out, uint256[] memory shape) {
        return _prelu(inputs, shapes, ranks, from, m, cfg, list);
    }

    /// @dev `inputs` are the input's values from row `fromRow` on. Value i of them, with
    ///      coordinates c_d over the input's shape (of value i + fromRow · row size), reads alpha
    ///      at Σ c_d · stride_d over the axes alpha does not share (the reference's `prelu_index`).
    function _prelu(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 fromRow,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view returns (int256[] memory out, uint256[] memory shape) {
        shape = _single(shapes, ranks);
        uint256[] memory a = abi.decode(cfg, (uint256[]));
        uint256 rank = a.length;
        if (shape.length != rank) revert InputShapeMismatch(0);
        if (list.length != 1 || list[0].length != _size(a)) revert InvalidConfig(LayerKind.PRELU);
        for (uint256 d; d < rank; ++d) {
            if (a[d] != 1 && a[d] != shape[d]) revert InputShapeMismatch(0);
        }
        int256[] memory alpha = _tensorValues(m, list, 0);
        out = _copy(inputs);
        uint256 size = _size(shape);
        uint256 offset = fromRow == 0 ? 0 : fromRow * (size / shape[0]);
        bool whole = alpha.length == size;
        for (uint256 i; i < out.length; ++i) {
            int256 x = out[i];
            if (x > 0) continue;
            uint256 at = i + offset;
            if (!whole) {
                (uint256 rest, uint256 stride) = (at, 1);
                at = 0;
                for (uint256 d = rank; d > 0; --d) {
                    uint256 n = shape[d - 1];
                    if (a[d - 1] != 1) {
                        at += (rest % n) * stride;
                        stride *= n;
                    }
                    rest /= n;
                }
            }
            out[i] = Fixed.mul(alpha[at], x);
        }
    }
}
