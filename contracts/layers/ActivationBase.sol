// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RowSliceBase} from "./RowSliceBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {WeightTensor} from "../lib/Types.sol";

/// @title ActivationBase
/// @notice Layers that apply one activation to every element of their single input and keep its
///         shape: `Activation('sigmoid' | 'tanh' | 'linear')`, and `Dropout` (identity at
///         inference). Each layer supplies only its kind and its `Activation` code.
/// @dev Config: empty bytes.
///      Weight tensors: none.
abstract contract ActivationBase is RowSliceBase {
    /// @dev The `Activation` code applied to every element (`LINEAR` leaves them as they are).
    function _activation() internal pure virtual returns (uint8);

    function _validate(bytes memory data) internal pure override {
        _requireConfig(data.length == 0);
    }

    /// @dev The forward pass (see `IForwardLayer.forward`).
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address,
        bytes memory,
        WeightTensor[] memory
    ) internal pure override returns (int256[] memory out, uint256[] memory shape) {
        shape = _single(shapes, ranks);
        out = _copy(inputs);
        Fixed.activate(_ptr(out), out.length, _activation(), 1);
    }
}
