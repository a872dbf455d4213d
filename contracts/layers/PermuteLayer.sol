// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title PermuteLayer
/// @notice Keras `Permute`: output axis i is input axis `dims[i] − 1` (Keras's 1-based dims,
///         batch excluded).
/// @dev Config: `abi.encode(uint256[] dims)`, a permutation of 1..rank.
///      Weight tensors: none.
contract PermuteLayer is LayerBase {
    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.PERMUTE;
    }

    /// @notice The layer's `dims`, decoded and range-checked.
    function config() external view returns (uint256[] memory dims) {
        dims = abi.decode(configData(), (uint256[]));
        _check(dims);
    }

    function _validate(bytes memory data) internal pure override {
        _check(abi.decode(data, (uint256[])));
    }

    /// @dev `dims` holds each of 1..dims.length once (at most 255 axes).
    function _check(uint256[] memory dims) internal pure {
        uint256 r = dims.length;
        _requireConfig(r > 0 && r < 256);
        uint256 seen;
        for (uint256 i; i < r; ++i) {
            uint256 d = dims[i];
            _requireConfig(d >= 1 && d <= r && (seen >> d) & 1 == 0);
            seen |= 1 << d;
        }
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
        uint256[] memory dims = abi.decode(cfg, (uint256[]));
        _check(dims);
        uint256 r = dims.length;
        if (s.length != r) revert InputShapeMismatch(0);
        // Input strides (row-major), then each output axis's stride into the input.
        uint256[] memory inStride = new uint256[](r);
        uint256 acc = 1;
        for (uint256 a = r; a > 0; --a) {
            inStride[a - 1] = acc;
            acc *= s[a - 1];
        }
        shape = new uint256[](r);
        uint256[] memory stride = new uint256[](r);
        for (uint256 a; a < r; ++a) {
            shape[a] = s[dims[a] - 1];
            stride[a] = inStride[dims[a] - 1];
        }
        uint256 n = inputs.length;
        out = new int256[](n);
        // An odometer over the output index (`idx`, innermost axis last): `at` follows the input
        // position it reads, one stride up per step, back down when an axis wraps.
        uint256[] memory idx = new uint256[](r);
        assembly ("memory-safe") {
            let o := add(out, 0x20)
            let ip := add(idx, 0x20)
            let sp := add(shape, 0x20)
            let tp := add(stride, 0x20)
            let at := 0
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(o, shl(5, i)), calldataload(add(inputs.offset, shl(5, at))))
                for { let a := r } a {} {
                    a := sub(a, 1)
                    let slot := add(ip, shl(5, a))
                    let v := add(mload(slot), 1)
                    let st := mload(add(tp, shl(5, a)))
                    at := add(at, st)
                    if lt(v, mload(add(sp, shl(5, a)))) {
                        mstore(slot, v)
                        break
                    }
                    at := sub(at, mul(v, st))
                    mstore(slot, 0)
                }
            }
        }
    }
}
