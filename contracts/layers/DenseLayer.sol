// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {Activation, LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title DenseLayer
/// @notice Keras `Dense`.
/// @dev Config: `abi.encode(uint8 activation, uint256 units, uint256 inputUnits, bool useBias)`.
///      Weight tensors: kernel [inputUnits, units], bias [units] if useBias.
contract DenseLayer is LayerBase {
    /// @notice The decoded config.
    struct Config {
        /// `Activation` code.
        uint8 activation;
        /// Output units.
        uint256 units;
        /// Size of the input's last axis.
        uint256 inputUnits;
        /// Whether a bias tensor follows the kernel.
        bool useBias;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.DENSE;
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
        (c.activation, c.units, c.inputUnits, c.useBias) = abi.decode(data, (uint8, uint256, uint256, bool));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.activation < Activation.COUNT && c.units > 0 && c.inputUnits > 0);
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
        shape = _single(shapes, ranks);
        Config memory c = _decode(cfg);
        _check(c);
        if (shape.length == 0 || shape[shape.length - 1] != c.inputUnits) revert InputShapeMismatch(0);
        if (list.length != (c.useBias ? 2 : 1) || list[0].length != c.inputUnits * c.units) {
            revert InvalidConfig(LayerKind.DENSE);
        }
        Raw memory kernel = _raw(m, list[0]);
        int256[] memory bias = c.useBias ? _values(_raw(m, list[1])) : new int256[](0);
        uint256 rows = inputs.length / c.inputUnits;
        out = new int256[](rows * c.units);
        for (uint256 r; r < rows; ++r) {
            uint256 j;
            if (kernel.width == 4) {
                // Eight columns at a time: one MLOAD gives the eight int32 of a kernel row.
                for (; j + 8 <= c.units; j += 8) {
                    _dot8(inputs, r * c.inputUnits, c.inputUnits, kernel, j, c.units, _ptr(out) + (r * c.units + j) * 32);
                }
                for (uint256 k = r * c.units; k < r * c.units + j; ++k) {
                    int256 b = bias.length == 0 ? int256(0) : bias[k - r * c.units] << 32;
                    uint256 up = kernel.up;
                    int256 acc = out[k];
                    int256 y;
                    assembly ("memory-safe") {
                        y := sar(32, add(shl(up, acc), b))
                    }
                    out[k] = y;
                }
            }
            for (; j < c.units; ++j) {
                int256 acc = _dot(inputs, r * c.inputUnits, c.inputUnits, kernel, j, c.units);
                int256 b = bias.length == 0 ? int256(0) : bias[j] << 32;
                uint256 up = kernel.up;
                int256 y;
                assembly ("memory-safe") {
                    // (Σ x·q) << up = Σ x·(q << up) exactly; one SAR after adding bias << 32.
                    y := sar(32, add(shl(up, acc), b))
                }
                out[r * c.units + j] = y;
            }
        }
        shape[shape.length - 1] = c.units;
        Fixed.activate(_ptr(out), out.length, c.activation, c.units);
    }

    /// @dev Σ_i x[from + i] · q[i · units + j] for i < n: column j of the stored kernel
    ///      [n, units]. Memory: value k of the kernel is the big-endian `width`-byte integer at
    ///      kernel.ptr + k · width; x is read straight from calldata.
    function _dot(int256[] calldata inputs, uint256 from, uint256 n, Raw memory kernel, uint256 j, uint256 units)
        internal
        pure
        returns (int256 acc)
    {
        uint256 width = kernel.width;
        uint256 wp = kernel.ptr + j * width;
        uint256 stride = units * width;
        assembly ("memory-safe") {
            let se := sub(width, 1)
            let sh := sub(256, shl(3, width))
            let xp := add(inputs.offset, shl(5, from))
            let end := add(xp, shl(5, n))
            let end4 := add(xp, shl(5, and(n, not(3))))
            let s2 := add(stride, stride)
            let s3 := add(s2, stride)
            let s4 := add(s3, stride)
            // Four products per iteration, then the remainder.
            for {} lt(xp, end4) {} {
                acc := add(acc, mul(calldataload(xp), signextend(se, shr(sh, mload(wp)))))
                acc := add(acc, mul(calldataload(add(xp, 0x20)), signextend(se, shr(sh, mload(add(wp, stride))))))
                acc := add(acc, mul(calldataload(add(xp, 0x40)), signextend(se, shr(sh, mload(add(wp, s2))))))
                acc := add(acc, mul(calldataload(add(xp, 0x60)), signextend(se, shr(sh, mload(add(wp, s3))))))
                xp := add(xp, 0x80)
                wp := add(wp, s4)
            }
            for {} lt(xp, end) {} {
                acc := add(acc, mul(calldataload(xp), signextend(se, shr(sh, mload(wp)))))
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            }
        }
    }

    /// @dev Σ_i x[from + i] · q[i · units + j + k] for k < 8, written (unshifted) to the eight
    ///      words at memory `dst`. INT32_SHIFTED only: the 32 bytes at kernel.ptr + (i · units + j)·4
    ///      are the eight big-endian int32 of row i, columns j..j+7; lane k is bits
    ///      [224 − 32k, 256 − 32k). x is read straight from calldata.
    function _dot8(
        int256[] calldata inputs,
        uint256 from,
        uint256 n,
        Raw memory kernel,
        uint256 j,
        uint256 units,
        uint256 dst
    ) internal pure {
        uint256 wp = kernel.ptr + j * 4;
        uint256 stride = units * 4;
        assembly ("memory-safe") {
            let xp := add(inputs.offset, shl(5, from))
            let end := add(xp, shl(5, n))
            let a0 := 0
            let a1 := 0
            let a2 := 0
            let a3 := 0
            let a4 := 0
            let a5 := 0
            let a6 := 0
            let a7 := 0
            for {} lt(xp, end) {} {
                let x := calldataload(xp)
                let w := mload(wp)
                a0 := add(a0, mul(x, signextend(3, shr(224, w))))
                a1 := add(a1, mul(x, signextend(3, shr(192, w))))
                a2 := add(a2, mul(x, signextend(3, shr(160, w))))
                a3 := add(a3, mul(x, signextend(3, shr(128, w))))
                a4 := add(a4, mul(x, signextend(3, shr(96, w))))
                a5 := add(a5, mul(x, signextend(3, shr(64, w))))
                a6 := add(a6, mul(x, signextend(3, shr(32, w))))
                a7 := add(a7, mul(x, signextend(3, w)))
                xp := add(xp, 0x20)
                wp := add(wp, stride)
            }
            mstore(dst, a0)
            mstore(add(dst, 0x20), a1)
            mstore(add(dst, 0x40), a2)
            mstore(add(dst, 0x60), a3)
            mstore(add(dst, 0x80), a4)
            mstore(add(dst, 0xa0), a5)
            mstore(add(dst, 0xc0), a6)
            mstore(add(dst, 0xe0), a7)
        }
    }
}
