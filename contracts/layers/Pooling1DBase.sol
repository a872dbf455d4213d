// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Activation, Padding, WeightTensor} from "../lib/Types.sol";
import {Fixed} from "../lib/Fixed.sol";

/// @title Pooling1DBase
/// @notice Keras `MaxPooling1D` and `AveragePooling1D` (channels_last) over [steps, ch]: windows
///         cover only real steps, as in `Pooling2DBase` (a `same` average counts no padding).
/// @dev Config: `abi.encode(uint256 poolSize, uint256 strides, uint8 padding)`, optionally
///      followed by `uint8 activation` applied after pooling (as in `Pooling2DBase`; without it:
///      linear). Weight tensors: none.
abstract contract Pooling1DBase is LayerBase {
    /// @notice The decoded config.
    struct Config {
        uint256 poolSize;
        uint256 strides;
        /// `Padding.VALID` or `Padding.SAME`.
        uint8 padding;
        /// `Activation` code applied after pooling (`LINEAR` when the config has no such word).
        uint8 activation;
    }

    /// @dev The window's maximum (MaxPooling1D) rather than its truncated mean.
    function _max() internal pure virtual returns (bool);

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
        _requireConfig(data.length == 96 || data.length == 128);
        if (data.length == 96) {
            (c.poolSize, c.strides, c.padding) = abi.decode(data, (uint256, uint256, uint8));
            c.activation = Activation.LINEAR;
        } else {
            (c.poolSize, c.strides, c.padding, c.activation) = abi.decode(data, (uint256, uint256, uint8, uint8));
        }
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.poolSize > 0 && c.strides > 0 && c.padding <= Padding.SAME && c.activation < Activation.COUNT);
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
        Config memory c = _decode(cfg);
        _check(c);
        if (s.length != 2) revert InputShapeMismatch(0);
        (uint256 n, uint256 ch) = (s[0], s[1]);
        uint256 on;
        uint256 pad;
        if (c.padding == Padding.VALID) {
            if (n < c.poolSize) revert InputShapeMismatch(0);
            on = (n - c.poolSize) / c.strides + 1;
        } else {
            on = (n + c.strides - 1) / c.strides;
            // TensorFlow's "same": the extra step of padding goes after.
            uint256 span = (on - 1) * c.strides + c.poolSize;
            pad = span > n ? (span - n) / 2 : 0;
        }
        shape = new uint256[](2);
        (shape[0], shape[1]) = (on, ch);
        out = new int256[](on * ch);
        _pool(inputs, c, n, ch, on, pad, _ptr(out));
        Fixed.activate(_ptr(out), out.length, c.activation, ch);
    }

    /// @dev Every output step, written from memory `o` (on·ch words, zero on entry); input step
    ///      i channel c is the calldata word i·ch + c. Unchecked: every index is below
    ///      inputs.length (checked by `forward`) or on·ch.
    function _pool(int256[] calldata inputs, Config memory c, uint256 n, uint256 ch, uint256 on, uint256 pad, uint256 o)
        internal
        pure
    {
        bool isMax = _max();
        uint256 k = c.poolSize;
        uint256 stride = c.strides;
        assembly ("memory-safe") {
            let chBytes := shl(5, ch)
            for { let t := 0 } lt(t, on) { t := add(t, 1) } {
                // Real steps [from, to) under the window starting at padded step t·stride.
                let start := mul(t, stride)
                let from := 0
                if gt(start, pad) { from := sub(start, pad) }
                let to := add(start, k)
                switch lt(to, pad)
                case 1 { to := 0 }
                default { to := sub(to, pad) }
                if gt(to, n) { to := n }
                if lt(to, from) { to := from }
                let first := add(inputs.offset, mul(from, chBytes))
                let last := add(inputs.offset, mul(to, chBytes))
                let count := sub(to, from)
                for { let i := 0 } lt(i, chBytes) { i := add(i, 0x20) } {
                    let acc := 0
                    if count {
                        acc := calldataload(add(first, i))
                        let at := add(add(first, chBytes), i)
                        switch isMax
                        case 1 {
                            // max(acc, v) without a branch: acc ^ ((acc ^ v) · (v > acc)).
                            for {} lt(at, last) { at := add(at, chBytes) } {
                                let v := calldataload(at)
                                acc := xor(acc, mul(xor(acc, v), sgt(v, acc)))
                            }
                        }
                        default {
                            for {} lt(at, last) { at := add(at, chBytes) } { acc := add(acc, calldataload(at)) }
                            // Truncating division (SDIV), as the reference.
                            acc := sdiv(acc, count)
                        }
                    }
                    mstore(add(o, i), acc)
                }
                o := add(o, chBytes)
            }
        }
    }
}
