// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer} from "../interfaces/ISliceableLayer.sol";
import {WeightTensor} from "../lib/Types.sol";

/// @title RowSliceBase
/// @notice The layers whose output row r (first axis) is a function of row r of each input
///         alone — elementwise ops, the ops along the last axis (BatchNormalization, Softmax),
///         InputLayer and the same-shape merges — computed in slices of rows: output rows
///         [from, from + count) from input rows [from, from + count) of every input, so a tensor
///         too big for one call or transaction is cut by rows in chained calls and in jobs.
/// @dev One implementation for every such kind: `forwardSlice` takes rows [from, from + count)
///      of each input, concatenated (`shapes` still the whole inputs'), checks their count and
///      runs the kind's own `_forward` on them (`_forwardRows`; a kind whose values depend on the
///      row's position, PReLU, overrides it). Every input must be of rank ≥ 2 — then the last
///      axis lies inside a row — with one first dimension. `sliceInput` names those rows, for
///      each input alike (a job decodes the same rows of every input of a merge).
abstract contract RowSliceBase is LayerBase, ISliceableLayer {
    /// @inheritdoc ISliceableLayer
    /// @dev The rows [from, from + count) of every input (`shapes`/`ranks` may describe several).
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        pure
        returns (uint256 length, uint256 first, uint256 last)
    {
        length = _rowCount(shapes, ranks);
        _checkSlice(from, count, length);
        return (length, from, from + count);
    }

    /// @dev The first dimension every input shares; reverts `InputShapeMismatch` for an input of
    ///      rank < 2 or of another first dimension, `InputCountMismatch` for none.
    function _rowCount(uint256[] calldata shapes, uint256[] calldata ranks) internal pure returns (uint256 n) {
        uint256 k = ranks.length;
        if (k == 0) revert InputCountMismatch(0, 0);
        uint256 at;
        for (uint256 j; j < k; ++j) {
            uint256 r = ranks[j];
            if (r < 2 || r > shapes.length - at) revert InputShapeMismatch(j);
            if (j == 0) n = shapes[at];
            else if (shapes[at] != n) revert InputShapeMismatch(j);
            at += r;
        }
        if (at != shapes.length) revert InputShapeMismatch(k);
    }

    /// @dev Output rows [from, from + count) from `inputs` = input rows [from, from + count) of
    ///      each input, concatenated.
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
        uint256 n = _rowCount(shapes, ranks);
        _checkSlice(from, count, n);
        uint256 at;
        uint256 total;
        for (uint256 j; j < ranks.length; ++j) {
            uint256 size = 1;
            uint256 end = at + ranks[j];
            for (; at < end; ++at) {
                size *= shapes[at];
            }
            total += size / n * count;
        }
        if (total != inputs.length) revert InputShapeMismatch(ranks.length);
        (out, shape) = _forwardRows(inputs, shapes, ranks, from, m, cfg, list);
        shape[0] = count;
    }

    /// @dev The forward pass on rows starting at row `from` (`inputs` holds only those rows):
    ///      the kind's `_forward`, which depends on the values and the inner axes only.
    function _forwardRows(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view virtual returns (int256[] memory out, uint256[] memory shape) {
        return _forward(inputs, shapes, ranks, m, cfg, list);
    }
}
