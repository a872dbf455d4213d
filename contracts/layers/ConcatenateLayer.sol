// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title ConcatenateLayer
/// @notice Keras `Concatenate`.
/// @dev Config: `abi.encode(int256 axis)`.
///      Weight tensors: none.
contract ConcatenateLayer is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// Axis, negative counts from the end.
        int256 axis;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.CONCATENATE;
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
        c.axis = abi.decode(data, (int256));
    }

    /// @dev Every value of every field is meaningful.
    function _check(Config memory) internal pure {}

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address,
        bytes memory cfg,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        uint256 k = ranks.length;
        if (k == 0) revert InputCountMismatch(0, 0);
        uint256 rank = ranks[0];
        int256 axis = _decode(cfg).axis;
        // The config's axis counts the batch axis; ours do not.
        int256 signedAx = axis < 0 ? int256(rank) + axis : axis - 1;
        if (signedAx < 0 || uint256(signedAx) >= rank) revert UnsupportedConfig(LayerKind.CONCATENATE);
        uint256 ax = uint256(signedAx);
        shape = _sliceU(shapes, 0, rank);
        shape[ax] = 0;
        uint256[] memory inner = new uint256[](k);
        uint256[] memory start = new uint256[](k);
        uint256 offset;
        for (uint256 j; j < k; ++j) {
            if (ranks[j] != rank) revert InputShapeMismatch(j);
            uint256 size = 1;
            uint256 tail = 1;
            for (uint256 d; d < rank; ++d) {
                uint256 dim = shapes[j * rank + d];
                if (d != ax && dim != shape[d]) revert InputShapeMismatch(j);
                size *= dim;
                if (d >= ax) tail *= dim;
            }
            shape[ax] += shapes[j * rank + ax];
            inner[j] = tail;
            start[j] = offset;
            offset += size;
        }
        uint256 outer = 1;
        for (uint256 d; d < ax; ++d) {
            outer *= shape[d];
        }
        out = new int256[](inputs.length);
        uint256 dst = _ptr(out);
        for (uint256 o; o < outer; ++o) {
            for (uint256 j; j < k; ++j) {
                uint256 len = inner[j] * 32;
                uint256 src = start[j] + o * inner[j];
                assembly ("memory-safe") {
                    calldatacopy(dst, add(inputs.offset, shl(5, src)), len)
                }
                dst += len;
            }
        }
    }
}
