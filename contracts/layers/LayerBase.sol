// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEternalModel} from "../interfaces/IEternalModel.sol";
import {ILayer} from "../interfaces/ILayer.sol";
import {CodeStore} from "../lib/CodeStore.sol";
import {WeightFormat, WeightLayout, WeightTensor} from "../lib/Types.sol";

/// @title LayerBase
/// @notice What all layer implementations share: reading the clone's immutable arguments and
///         decoding the layer's weights from the model's data contracts.
/// @dev A layer is an EIP-1167 clone (`CodeStore.cloneInitcode`) whose code ends with
///      `abi.encode(address model, bytes config, WeightTensor[] tensors)`, starting at code offset 45.
///      Implementations have no storage and no constructor state, so one implementation per kind
///      serves every layer of that kind on the chain.
abstract contract LayerBase is ILayer {
    /// @inheritdoc ILayer
    function layerKind() public pure virtual returns (uint16);

    /// @inheritdoc ILayer
    function model() public view returns (address m) {
        _argsSize();
        assembly ("memory-safe") {
            // The first argument word is the model address.
            extcodecopy(address(), 0x00, 45, 0x20)
            m := mload(0x00)
        }
    }

    /// @inheritdoc ILayer
    function configData() public view returns (bytes memory config) {
        (, config,) = _decodeArgs();
    }

    /// @inheritdoc ILayer
    function tensors() public view returns (WeightTensor[] memory list) {
        (,, list) = _decodeArgs();
    }

    /// @inheritdoc ILayer
    function weightCount() external view returns (uint256 count) {
        WeightTensor[] memory list = tensors();
        for (uint256 i; i < list.length; ++i) {
            count += list[i].length;
        }
    }

    /// @inheritdoc ILayer
    function checkConfig() external view returns (bool) {
        _validate(configData());
        return true;
    }

    /// @inheritdoc ILayer
    function weights(uint256 index) external view returns (int256[] memory values) {
        (address m,, WeightTensor[] memory list) = _decodeArgs();
        if (index >= list.length) revert TensorIndexOutOfRange(index, list.length);
        WeightTensor memory t = list[index];
        values = _readValues(IEternalModel(m), t, 0, t.length);
    }

    /// @inheritdoc ILayer
    function weightSlice(uint256 index, uint256 start, uint256 count) external view returns (int256[] memory values) {
        (address m,, WeightTensor[] memory list) = _decodeArgs();
        if (index >= list.length) revert TensorIndexOutOfRange(index, list.length);
        WeightTensor memory t = list[index];
        if (start > t.length || count > t.length - start) revert SliceOutOfRange(index, start, count, t.length);
        values = _readValues(IEternalModel(m), t, start, count);
    }

    /// @dev Reverts with `InvalidConfig` unless `config` is a valid config of this kind.
    function _validate(bytes memory config) internal pure virtual;

    /// @dev Reverts with `InvalidConfig` unless `ok`.
    function _requireConfig(bool ok) internal pure {
        if (!ok) revert InvalidConfig(layerKind());
    }

    /// @dev Size of the immutable arguments; reverts when called on the implementation itself.
    function _argsSize() internal view returns (uint256 size) {
        uint256 code;
        assembly ("memory-safe") {
            code := extcodesize(address())
        }
        if (code <= CodeStore.CLONE_RUNTIME_BYTES) revert NotAClone();
        size = code - CodeStore.CLONE_RUNTIME_BYTES;
    }

    /// @dev The clone's immutable arguments, copied from its own code.
    function _args() internal view returns (bytes memory args) {
        uint256 size = _argsSize();
        args = new bytes(size);
        assembly ("memory-safe") {
            extcodecopy(address(), add(args, 0x20), 45, size)
        }
    }

    function _decodeArgs() internal view returns (address m, bytes memory config, WeightTensor[] memory list) {
        (m, config, list) = abi.decode(_args(), (address, bytes, WeightTensor[]));
    }

    /// @dev Reads `n` value slots from slot `t.offset + start` of the weight blob and widens them to
    ///      Q32.32: Q32_32 slots are big-endian int64; INT32_SHIFTED slots are big-endian int32 `q`,
    ///      decoded as `q << (32 - t.shift)` (exact inverse of the exporter's floor shift).
    function _readValues(IEternalModel m, WeightTensor memory t, uint256 start, uint256 n)
        internal
        view
        returns (int256[] memory values)
    {
        WeightLayout memory layout = m.weightLayout();
        uint256 width = WeightFormat.width(layout.format);
        bytes memory raw = m.weightBytes((uint256(t.offset) + start) * width, n * width);
        values = new int256[](n);
        if (width == 8) {
            assembly ("memory-safe") {
                let src := add(raw, 0x20)
                let dst := add(values, 0x20)
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    // Top 8 bytes of the word at src + 8i, sign-extended from bit 63.
                    mstore(add(dst, shl(5, i)), signextend(7, shr(192, mload(add(src, shl(3, i))))))
                }
            }
        } else {
            _requireConfig(t.shift <= 32);
            uint256 up = 32 - uint256(t.shift);
            assembly ("memory-safe") {
                let src := add(raw, 0x20)
                let dst := add(values, 0x20)
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    let q := signextend(3, shr(224, mload(add(src, shl(2, i)))))
                    mstore(add(dst, shl(5, i)), shl(up, q))
                }
            }
        }
    }
}
