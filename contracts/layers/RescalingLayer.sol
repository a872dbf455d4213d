// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RowSliceBase} from "./RowSliceBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title RescalingLayer
/// @notice Keras `Rescaling`: y = x * scale + offset.
/// @dev Config: `abi.encode(int64 scale, int64 offset)`.
///      Weight tensors: none.
contract RescalingLayer is RowSliceBase {
    /// @notice The decoded config.
    struct Config {
        /// Q32.32, `trunc(scale * 2^32)`.
        int64 scale;
        /// Q32.32, `trunc(offset * 2^32)`.
        int64 offset;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.RESCALING;
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
        (c.scale, c.offset) = abi.decode(data, (int64, int64));
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
        shape = _single(shapes, ranks);
        Config memory c = _decode(cfg);
        int256 scale = c.scale;
        int256 offset = c.offset;
        out = _copy(inputs);
        uint256 p = _ptr(out);
        uint256 n = out.length;
        assembly ("memory-safe") {
            // y = ((x · scale) >> 32) + offset, SAR as in Fixed.mul.
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let at := add(p, shl(5, i))
                mstore(at, add(sar(32, mul(mload(at), scale)), offset))
            }
        }
    }
}
