// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RowSliceBase} from "./RowSliceBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title InputLayer
/// @notice Keras `InputLayer`: declares a model input.
/// @dev Config: `abi.encode(uint256[] shape)`.
///      Weight tensors: none.
contract InputLayer is RowSliceBase {
    /// @notice The decoded config.
    struct Config {
        /// Input shape without the batch dimension (`batch_input_shape[1:]`).
        uint256[] shape;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.INPUT_LAYER;
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
        c.shape = abi.decode(data, (uint256[]));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(_positive(c.shape));
    }

    function _positive(uint256[] memory dims) internal pure returns (bool) {
        for (uint256 i; i < dims.length; ++i) {
            if (dims[i] == 0) return false;
        }
        return true;
    }

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
        if (!_declares(cfg, shape)) revert InputShapeMismatch(0);
        out = _copy(inputs);
    }

    /// @dev Whether config `cfg` declares exactly `shape`: `_decode(cfg).shape == shape`, read
    ///      where it lies. The decoder's checks are kept, in its order, so a malformed config
    ///      reverts as `_decode` does (empty revert data; `Panic(0x41)` where its copy's
    ///      allocation would fail, computed on the free pointer as it is now); only its copy is
    ///      skipped (≈ 500 gas a call).
    function _declares(bytes memory cfg, uint256[] memory shape) internal pure returns (bool same) {
        assembly ("memory-safe") {
            let max64 := 0xffffffffffffffff
            let head := add(cfg, 0x20)
            let end := add(head, mload(cfg))
            if slt(sub(end, head), 0x20) { revert(0, 0) }
            let o := mload(head)
            if gt(o, max64) { revert(0, 0) }
            let a := add(head, o)
            if iszero(slt(add(a, 0x1f), end)) { revert(0, 0) }
            let n := mload(a)
            let free := mload(0x40)
            let f := add(free, add(shl(5, n), 0x20))
            if or(gt(n, max64), or(gt(f, max64), lt(f, free))) {
                mstore(0x00, shl(224, 0x4e487b71))
                mstore(0x04, 0x41)
                revert(0x00, 0x24)
            }
            if gt(add(add(a, 0x20), shl(5, n)), end) { revert(0, 0) }
            same := eq(n, mload(shape))
            for { let i := 0 } and(same, lt(i, n)) { i := add(i, 1) } {
                let at := shl(5, add(i, 1))
                same := eq(mload(add(a, at)), mload(add(shape, at)))
            }
        }
    }
}
