// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title RepeatVectorLayer
/// @notice Keras `RepeatVector`: a vector [f] repeated into [n, f].
/// @dev Config: `abi.encode(uint256 n)`.
///      Weight tensors: none.
contract RepeatVectorLayer is LayerBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.REPEAT_VECTOR;
    }

    /// @notice The layer's `n`, decoded and range-checked.
    function config() external view returns (uint256 n) {
        n = abi.decode(configData(), (uint256));
        _requireConfig(n > 0);
    }

    function _validate(bytes memory data) internal pure override {
        _requireConfig(abi.decode(data, (uint256)) > 0);
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
        uint256[] memory s = _single(shapes, ranks);
        uint256 n = abi.decode(cfg, (uint256));
        _requireConfig(n > 0);
        if (s.length != 1) revert InputShapeMismatch(0);
        uint256 f = s[0];
        shape = new uint256[](2);
        (shape[0], shape[1]) = (n, f);
        out = new int256[](n * f);
        uint256 dst = _ptr(out);
        uint256 rowBytes = f * 32;
        for (uint256 i; i < n; ++i) {
            uint256 to = dst + i * rowBytes;
            assembly ("memory-safe") {
                calldatacopy(to, inputs.offset, rowBytes)
            }
        }
    }
}
