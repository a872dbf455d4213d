// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {Fixed} from "../lib/Fixed.sol";

/// @title RecurrentBase
/// @notice What SimpleRNN, LSTM and GRU share: the gate pre-activations of one time step, in the
///         reference's arithmetic (`gates` in src/infer/forward.rs).
abstract contract RecurrentBase is LayerBase {
    /// @dev z_j = (bias_j << 32 + Σ_i x_i · W[i, j] + Σ_i h_i · U[i, j]) >> 32 for j < n, where W
    ///      is [x.length, n] and U is [h.length, n], both row-major; a missing bias entry is 0.
    ///      One SAR per output, after the exact sum.
    function _gates(
        int256[] memory x,
        int256[] memory w,
        int256[] memory h,
        int256[] memory u,
        int256[] memory bias,
        uint256 biasStart,
        uint256 biasCount,
        uint256 n
    ) internal pure returns (int256[] memory z) {
        z = new int256[](n);
        uint256 xl = x.length;
        uint256 hl = h.length;
        if (w.length < xl * n || u.length < hl * n) revert InvalidConfig(layerKind());
        for (uint256 j; j < n; ++j) {
            int256 acc = j < biasCount ? bias[biasStart + j] << 32 : int256(0);
            assembly ("memory-safe") {
                // Strided walk down column j of W, then of U (row length n words).
                let stride := shl(5, n)
                let wp := add(add(w, 0x20), shl(5, j))
                for { let i := 0 } lt(i, xl) { i := add(i, 1) } {
                    acc := add(acc, mul(mload(add(x, shl(5, add(i, 1)))), mload(wp)))
                    wp := add(wp, stride)
                }
                let up := add(add(u, 0x20), shl(5, j))
                for { let i := 0 } lt(i, hl) { i := add(i, 1) } {
                    acc := add(acc, mul(mload(add(h, shl(5, add(i, 1)))), mload(up)))
                    up := add(up, stride)
                }
            }
            z[j] = acc >> 32;
        }
    }

    /// @dev Row `s` of the [steps, feat] input, in memory.
    function _step(int256[] calldata inputs, uint256 s, uint256 feat) internal pure returns (int256[] memory x) {
        x = new int256[](feat);
        assembly ("memory-safe") {
            calldatacopy(add(x, 0x20), add(inputs.offset, shl(5, mul(s, feat))), shl(5, feat))
        }
    }

    /// @dev Checks a [steps, feat] input with feat = `inputUnits`; returns steps.
    function _steps(uint256[] calldata shapes, uint256[] calldata ranks, uint256 inputUnits)
        internal
        pure
        returns (uint256)
    {
        uint256[] memory s = _single(shapes, ranks);
        if (s.length != 2 || s[1] != inputUnits) revert InputShapeMismatch(0);
        return s[0];
    }

    /// @dev The output: every step's state when `sequences`, else the last.
    function _shape(uint256 steps, uint256 units, bool sequences) internal pure returns (uint256[] memory shape) {
        shape = new uint256[](sequences ? 2 : 1);
        if (sequences) (shape[0], shape[1]) = (steps, units);
        else shape[0] = units;
    }

    /// @dev Fixed.activate1, kept here so the layers read like the reference; `tbl` is
    ///      `Fixed.expTable()`, made once per forward pass.
    function _act(uint8 code, int256 x, uint256 tbl) internal pure returns (int256) {
        return Fixed.activate1(x, code, tbl);
    }
}
