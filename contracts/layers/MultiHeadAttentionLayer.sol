// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {ISliceableLayer, WHOLE_REST} from "../interfaces/ISliceableLayer.sol";
import {Fixed} from "../lib/Fixed.sol";
import {LayerKind, WeightTensor} from "../lib/Types.sol";

/// @title MultiHeadAttentionLayer
/// @notice Keras `MultiHeadAttention` without masks, as self- or cross-attention over rank-3
///         inputs: query [Tq, Dq], value [Tk, Dv] and optionally key [Tk, Dk] (else key = value).
/// @dev Config: `abi.encode(uint256 heads, uint256 keyDim, uint256 valueDim, uint256 outDim, bool useBias)`.
///      Weight tensors (Keras's order; biases only with useBias): query kernel [Dq, heads, keyDim],
///      bias [heads, keyDim]; key kernel [Dk, heads, keyDim], bias; value kernel [Dv, heads,
///      valueDim], bias [heads, valueDim]; output kernel [heads, valueDim, outDim], bias [outDim].
///      Every projection is a dot product shifted once; the query is scaled by
///      Fixed.rsqrt(keyDim · ONE); scores (Σ q·k) >> 32; softmax over the keys (`Fixed.softmaxAt`);
///      (Σ p·v) >> 32; output projection. The reference's `infer::attention::mha`.
///      Output row t depends on query row t and on every key and value row, so a slice is cut
///      by query rows: `forwardSlice` is given query rows [from, from + count) and the whole
///      value (and key), and runs the very same pass on them (each slice recomputes the key and
///      value projections).
contract MultiHeadAttentionLayer is LayerBase, ISliceableLayer {
    /// @notice The decoded config.
    struct Config {
        /// Number of heads.
        uint256 heads;
        /// Size of each head for query and key.
        uint256 keyDim;
        /// Size of each head for value.
        uint256 valueDim;
        /// Output features.
        uint256 outDim;
        /// Whether each kernel is followed by a bias.
        bool useBias;
    }

    /// @dev Sizes of one call: sequence lengths and feature sizes of the inputs.
    struct Dims {
        uint256 tq;
        uint256 tk;
        uint256 dq;
        uint256 dv;
        uint256 dk;
    }

    /// @inheritdoc LayerBase
    function layerKind() public pure override returns (uint16) {
        return LayerKind.MULTI_HEAD_ATTENTION;
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
        (c.heads, c.keyDim, c.valueDim, c.outDim, c.useBias) =
            abi.decode(data, (uint256, uint256, uint256, uint256, bool));
    }

    function _check(Config memory c) internal pure {
        _requireConfig(c.heads > 0 && c.keyDim > 0 && c.valueDim > 0 && c.outDim > 0);
    }

    /// @dev The input shapes: 2 or 3 inputs of rank 2 (batch excluded), key and value of one length.
    function _dims(uint256[] calldata shapes, uint256[] calldata ranks) internal pure returns (Dims memory d) {
        uint256 k = ranks.length;
        if (k != 2 && k != 3) revert InputCountMismatch(2, k);
        if (shapes.length != 2 * k) revert InputShapeMismatch(k);
        for (uint256 j; j < k; ++j) {
            if (ranks[j] != 2) revert InputShapeMismatch(j);
        }
        d.tq = shapes[0];
        d.dq = shapes[1];
        d.tk = shapes[2];
        d.dv = shapes[3];
        d.dk = d.dv;
        if (k == 3) {
            if (shapes[4] != d.tk) revert InputShapeMismatch(2);
            d.dk = shapes[5];
        }
    }

    /// @inheritdoc ISliceableLayer
    /// @dev Output rows [from, from + count) read query rows [from, from + count) and every row
    ///      of the value and key: `last`'s high 128 bits (`WHOLE_REST`) say so to a job.
    function sliceInput(uint256[] calldata shapes, uint256[] calldata ranks, uint256 from, uint256 count)
        external
        pure
        returns (uint256 length, uint256 first, uint256 last)
    {
        length = _dims(shapes, ranks).tq;
        _checkSlice(from, count, length);
        return (length, from, (from + count) | WHOLE_REST);
    }

    /// @dev Output rows [from, from + count), given those query rows and the whole value (and
    ///      key), `shapes` the whole inputs': the pass of `_forward` over `count` query rows,
    ///      which equals those rows of the whole pass bit for bit (no value of a row depends on
    ///      another query row).
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
        Dims memory d = _dims(shapes, ranks);
        _checkSlice(from, count, d.tq);
        d.tq = count;
        uint256 given = count * d.dq + d.tk * d.dv + (ranks.length == 3 ? d.tk * d.dk : 0);
        if (inputs.length != given) revert InputShapeMismatch(ranks.length);
        return _attention(inputs, ranks.length, d, m, cfg, list);
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
        return _attention(inputs, ranks.length, _dims(shapes, ranks), m, cfg, list);
    }

    /// @dev Attention of `d.tq` query rows over the keys: `inputs` are those query rows, then
    ///      the value, then (of `n` = 3 inputs) the key.
    function _attention(
        int256[] calldata inputs,
        uint256 n,
        Dims memory d,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view returns (int256[] memory out, uint256[] memory shape) {
        Config memory c = _decode(cfg);
        _check(c);
        uint256 per = c.useBias ? 2 : 1;
        if (list.length != 4 * per) revert InvalidConfig(LayerKind.MULTI_HEAD_ATTENTION);
        uint256 hk = c.heads * c.keyDim;
        uint256 hv = c.heads * c.valueDim;
        int256[] memory q = _project(_sliceI(inputs, 0, d.tq * d.dq), d.dq, m, list, 0, per, hk);
        uint256 valueAt = d.tq * d.dq;
        uint256 keyAt = n == 3 ? valueAt + d.tk * d.dv : valueAt;
        int256[] memory k = _project(_sliceI(inputs, keyAt, d.tk * d.dk), d.dk, m, list, per, per, hk);
        int256[] memory v = _project(_sliceI(inputs, valueAt, d.tk * d.dv), d.dv, m, list, 2 * per, per, hv);
        int256 s = Fixed.rsqrt(int256(c.keyDim) << 32);
        assembly ("memory-safe") {
            // q[i] = (q[i] · s) >> 32, floor.
            let p := add(q, 0x20)
            let end := add(p, shl(5, mload(q)))
            for {} lt(p, end) { p := add(p, 0x20) } { mstore(p, sar(32, mul(mload(p), s))) }
        }
        int256[] memory att = _attend(q, k, v, c, d);
        out = _project(att, hv, m, list, 3 * per, per, c.outDim);
        shape = new uint256[](2);
        shape[0] = d.tq;
        shape[1] = c.outDim;
    }

    /// @dev Per head and query position: scores over the keys, softmax, weighted sum of the values.
    ///      q, k are [T, heads · keyDim] and v [Tk, heads · valueDim], head-major within a position;
    ///      returns [Tq, heads · valueDim] (the layout the output kernel [heads, valueDim, out] reads).
    function _attend(int256[] memory q, int256[] memory k, int256[] memory v, Config memory c, Dims memory d)
        internal
        pure
        returns (int256[] memory att)
    {
        uint256 heads = c.heads;
        uint256 dk = c.keyDim;
        uint256 dv = c.valueDim;
        uint256 tk = d.tk;
        att = new int256[](d.tq * heads * dv);
        int256[] memory scores = new int256[](tk);
        uint256 tbl = Fixed.expTable();
        uint256 sp = _ptr(scores);
        uint256 qp = _ptr(q);
        uint256 kp = _ptr(k);
        uint256 vp = _ptr(v);
        uint256 ap = _ptr(att);
        unchecked {
            for (uint256 h; h < heads; ++h) {
                for (uint256 t; t < d.tq; ++t) {
                    // scores[u] = (Σ_e q[t, h, e] · k[u, h, e]) >> 32.
                    uint256 qr = qp + ((t * heads + h) * dk << 5);
                    for (uint256 u; u < tk; ++u) {
                        int256 acc = _dot(qr, kp + ((u * heads + h) * dk << 5), dk, 0x20);
                        assembly ("memory-safe") {
                            mstore(add(sp, shl(5, u)), sar(32, acc))
                        }
                    }
                    Fixed.softmaxAt(sp, tk, tbl);
                    // att[t, h, e] = (Σ_u scores[u] · v[u, h, e]) >> 32.
                    uint256 ar = ap + ((t * heads + h) * dv << 5);
                    for (uint256 e; e < dv; ++e) {
                        int256 acc = _dot(sp, vp + ((h * dv + e) << 5), tk, heads * dv << 5);
                        assembly ("memory-safe") {
                            mstore(add(ar, shl(5, e)), sar(32, acc))
                        }
                    }
                }
            }
        }
    }

    /// @dev Σ_i mload(xp + 32i) · mload(wp + i · stride), exact (int256; the caller shifts once).
    ///      Few variables, so the loop stays on the stack.
    function _dot(uint256 xp, uint256 wp, uint256 n, uint256 stride) private pure returns (int256 acc) {
        assembly ("memory-safe") {
            for { let end := add(xp, shl(5, n)) } lt(xp, end) { xp := add(xp, 0x20) } {
                acc := add(acc, mul(mload(xp), mload(wp)))
                wp := add(wp, stride)
            }
        }
    }

    /// @dev x [rows, nIn] · kernel [nIn, nOut] (+ bias << 32), shifted once per value; the kernel is
    ///      tensor `at` of the layer and its bias tensor `at + 1` when `per` is 2.
    function _project(
        int256[] memory x,
        uint256 nIn,
        address m,
        WeightTensor[] memory list,
        uint256 at,
        uint256 per,
        uint256 nOut
    ) internal view returns (int256[] memory out) {
        int256[] memory w = _tensorValues(m, list, at);
        int256[] memory b = per == 2 ? _tensorValues(m, list, at + 1) : new int256[](0);
        if (w.length != nIn * nOut || (per == 2 && b.length != nOut)) {
            revert InvalidConfig(LayerKind.MULTI_HEAD_ATTENTION);
        }
        uint256 rows = x.length / nIn;
        out = new int256[](rows * nOut);
        uint256 xp = _ptr(x);
        uint256 wp = _ptr(w);
        uint256 op = _ptr(out);
        unchecked {
            for (uint256 r; r < rows; ++r) {
                for (uint256 j; j < nOut; ++j) {
                    // out[r, j] = (bias[j] << 32 + Σ_i x[r, i] · w[i, j]) >> 32; w row-major [nIn, nOut].
                    int256 acc = _dot(xp + (r * nIn << 5), wp + (j << 5), nIn, nOut << 5);
                    if (per == 2) acc += b[j] << 32;
                    assembly ("memory-safe") {
                        mstore(add(op, shl(5, add(mul(r, nOut), j))), sar(32, acc))
                    }
                }
            }
        }
    }
}
