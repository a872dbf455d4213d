// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {Fixed} from "../lib/Fixed.sol";
import {WeightTensor} from "../lib/Types.sol";

/// @title NormalizationBase
/// @notice Keras `LayerNormalization` and `GroupNormalization`: each value belongs to one
///         statistic group (the kind decides which, `_index`) and has one gamma/beta index.
/// @dev Config: `abi.encode(int64 epsilon, bool scale, bool center, uint256 spec)`; `spec` is the
///      kind's (see each kind). Weight tensors: gamma if scale, beta if center, each with one value
///      per parameter index.
///      Per group of n values x: mean = Σx / n (SDIV); d = x − mean; var = ⌊Σd² / (n · 2^32)⌋;
///      r = Fixed.rsqrt(var + ε); y = mul(d, r), then mul(y, γ) and + β. The reference's
///      `infer::attention::normalize`, operation for operation.
///      Sliced by output rows (`ISliceableLayer`) in chained calls and jobs: a row-local config
///      (LayerNormalization not over axis 1) is given only the slice's rows; any other is given
///      the whole input — its statistics span every row — and normalises only the slice's rows.
abstract contract NormalizationBase is LayerBase, ISliceableLayer {
    /// @notice The decoded config.
    struct Config {
        /// Q32.32, ≥ 0.
        int64 epsilon;
        /// Whether gamma is present.
        bool scale;
        /// Whether beta is present.
        bool center;
        /// LayerNormalization: bit a set when axis a + 1 is normalised; GroupNormalization: groups.
        uint256 spec;
    }

    /// @dev For each value of an input of shape `shape` (batch excluded): its group in the high
    ///      128 bits and its parameter index in the low 128 bits; the number of groups and of
    ///      parameters. Reverts `InvalidConfig` when `spec` does not fit the shape.
    function _index(uint256[] memory shape, uint256 n, uint256 spec)
        internal
        pure
        virtual
        returns (uint256[] memory idx, uint256 groups, uint256 params);

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
        (c.epsilon, c.scale, c.center, c.spec) = abi.decode(data, (int64, bool, bool, uint256));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.epsilon >= 0 && c.spec > 0);
    }

    /// @dev Whether output row r (first axis) depends on input row r alone for this `spec`:
    ///      no statistic group spans two rows. The kinds say (LayerNormalization: axis 1 not
    ///      normalised; GroupNormalization: never, its statistics span every position).
    function _rowLocal(uint256 spec) internal pure virtual returns (bool);

    /// @inheritdoc ISliceableLayer
    /// @dev Output rows [from, from + count) of the one input (rank ≥ 2): when no statistic group
    ///      spans two rows (`_rowLocal`), from those input rows alone; else from the whole input
    ///      (the statistics need every row), of which only the slice's rows are normalised and
    ///      returned.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        view
        returns (uint256 length, uint256 first, uint256 last)
    {
        _sliceShape(shapes, ranks);
        length = shapes[0];
        _checkSlice(from, count, length);
        Config memory c = _decode(configData());
        _check(c);
        return _rowLocal(c.spec) ? (length, from, from + count) : (length, 0, length);
    }

    /// @dev Reverts unless `shapes`/`ranks` describe one input of rank ≥ 2 with rows.
    function _sliceShape(uint256[] calldata shapes, uint256[] calldata ranks) internal pure {
        if (ranks.length != 1) revert InputCountMismatch(1, ranks.length);
        if (ranks[0] != shapes.length || shapes.length < 2 || shapes[0] == 0) revert InputShapeMismatch(0);
    }

    /// @dev Output rows [from, from + count): given those input rows when the config is
    ///      row-local (their groups are whole), else given the whole input. Either way the
    ///      values are the whole pass's, bit for bit.
    function _forwardSlice(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view override returns (int256[] memory out, uint256[] memory shape) {
        _sliceShape(shapes, ranks);
        shape = shapes;
        uint256 rows = shape[0];
        _checkSlice(from, count, rows);
        Config memory c = _decode(cfg);
        _check(c);
        uint256 row = _size(shape) / rows;
        if (_rowLocal(c.spec)) {
            shape[0] = count;
            if (inputs.length != row * count) revert InputShapeMismatch(1);
            out = _normalize(inputs, shape, 0, inputs.length, c, m, list);
        } else {
            if (inputs.length != row * rows) revert InputShapeMismatch(1);
            out = _normalize(inputs, shape, from * row, count * row, c, m, list);
            shape[0] = count;
        }
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
        out = _normalize(inputs, shape, 0, inputs.length, c, m, list);
    }

    /// @dev Normalises `inputs` (of shape `shape`): the statistics of every group over all of
    ///      them, the output of values [lo, lo + len) only.
    function _normalize(
        int256[] calldata inputs,
        uint256[] memory shape,
        uint256 lo,
        uint256 len,
        Config memory c,
        address m,
        WeightTensor[] memory list
    ) internal view returns (int256[] memory out) {
        uint256 n = inputs.length;
        (uint256[] memory idx, uint256 groups, uint256 params) = _index(shape, n, c.spec);
        int256[] memory gamma = c.scale ? _tensorValues(m, list, 0) : new int256[](0);
        int256[] memory beta = c.center ? _tensorValues(m, list, c.scale ? 1 : 0) : new int256[](0);
        if (
            list.length != (c.scale ? 1 : 0) + (c.center ? 1 : 0) || (c.scale && gamma.length != params)
                || (c.center && beta.length != params)
        ) revert InvalidConfig(layerKind());
        int256[] memory mean = new int256[](groups);
        int256[] memory r = new int256[](groups);
        out = new int256[](len);
        int256 eps = c.epsilon;
        assembly ("memory-safe") {
            // Layouts: idx[i] = group << 128 | parameter; mean and r one word per group (r holds
            // the group's count until it becomes the reciprocal standard deviation); the inputs
            // in calldata at inputs.offset. Σx per group, and the counts.
            let ip := add(idx, 0x20)
            let mp := add(mean, 0x20)
            let rp := add(r, 0x20)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let g := shl(5, shr(128, mload(add(ip, shl(5, i)))))
                mstore(add(mp, g), add(mload(add(mp, g)), calldataload(add(inputs.offset, shl(5, i)))))
                mstore(add(rp, g), add(mload(add(rp, g)), 1))
            }
            // mean = Σx / n, truncated toward zero (SDIV); r keeps the count for now.
            for { let g := 0 } lt(g, shl(5, groups)) { g := add(g, 0x20) } {
                mstore(add(mp, g), sdiv(mload(add(mp, g)), mload(add(rp, g))))
            }
        }
        // Per group: Σd² exact (Q64.64) with d = x − mean, then r = rsqrt(⌊Σd² / (n_g · 2^32)⌋
        // + ε), n_g from r.
        uint256[] memory sq = new uint256[](groups);
        assembly ("memory-safe") {
            let ip := add(idx, 0x20)
            let sp := add(sq, 0x20)
            let mp := add(mean, 0x20)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let g := shl(5, shr(128, mload(add(ip, shl(5, i)))))
                let d := sub(calldataload(add(inputs.offset, shl(5, i))), mload(add(mp, g)))
                mstore(add(sp, g), add(mload(add(sp, g)), mul(d, d)))
            }
        }
        for (uint256 g; g < groups; ++g) {
            r[g] = Fixed.rsqrt(int256(sq[g] / (uint256(r[g]) << 32)) + eps);
        }
        bool scale = c.scale;
        bool center = c.center;
        assembly ("memory-safe") {
            // y = mul(d, r), then mul(y, γ[k]) with scale, + β[k] with center (SAR: floor), for
            // values [lo, lo + len) into out[0, len).
            let ip := add(idx, 0x20)
            let mp := add(mean, 0x20)
            let rp := add(r, 0x20)
            let op := add(out, 0x20)
            let gp := add(gamma, 0x20)
            let bp := add(beta, 0x20)
            let low := sub(shl(128, 1), 1)
            for { let j := 0 } lt(j, len) { j := add(j, 1) } {
                let i := add(lo, j)
                let w := mload(add(ip, shl(5, i)))
                let k := shl(5, and(w, low))
                let g := shl(5, shr(128, w))
                let d := sub(calldataload(add(inputs.offset, shl(5, i))), mload(add(mp, g)))
                let y := sar(32, mul(d, mload(add(rp, g))))
                if scale { y := sar(32, mul(y, mload(add(gp, k)))) }
                if center { y := add(y, mload(add(bp, k))) }
                mstore(add(op, shl(5, j)), y)
            }
        }
    }
}
