// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {RowSliceBase} from "./RowSliceBase.sol";
import {Fixed} from "../lib/Fixed.sol";
import {Activations} from "../lib/Activations.sol";
import {Activation, LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title ELULayer
/// @notice Keras `ELU(alpha)`, and `Activation(f)` for every function of `Activations` (elu,
///         selu, gelu, silu/swish, hard_silu, hard_sigmoid in either Keras's formula, softplus,
///         softsign, exponential, mish, log_softmax): one elementwise-function layer kind, so the
///         rare functions cost one implementation, not one each.
/// @dev Config: `abi.encode(uint8 code, int64 alpha)`, `code` an `Activation` in 7..19; `alpha`
///      (Q32.32) is ELU's and ONE for every other function. log_softmax runs over the last axis.
///      Weight tensors: none. Every function but ELU's runs in `EternalActivations`
///      (`Fixed.activateRare`, one STATICCALL per forward).
contract ELULayer is RowSliceBase {
    /// @notice The decoded config.
    struct Config {
        /// The `Activation` code applied to every value.
        uint8 code;
        /// Q32.32 alpha of `elu` (ONE for `Activation('elu')`).
        int64 alpha;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.ELU;
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
        (c.code, c.alpha) = abi.decode(data, (uint8, int64));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.code >= Activation.ELU && c.code < Activation.COUNT);
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
        Config memory c = _decode(cfg);
        _check(c);
        out = _copy(inputs);
        if (c.code == Activation.ELU) {
            // Inline: `alpha` is the layer's own, which EternalActivations (elu with ONE) has not.
            int256 alpha = c.alpha;
            uint256 tbl = Fixed.expTable();
            for (uint256 i; i < out.length; ++i) {
                out[i] = Activations.elu(out[i], alpha, tbl);
            }
        } else {
            uint256 last = shape.length == 0 ? 1 : shape[shape.length - 1];
            Fixed.activateRare(_ptr(out), out.length, c.code, last);
        }
    }
}
