// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "./LayerBase.sol";
import {WeightTensor} from "../lib/Types.sol";

/// @title RegridBase
/// @notice Keras `UpSampling1D`/`UpSampling2D` (nearest), `Cropping1D`/`Cropping2D` and
///         `ZeroPadding1D` (channels_last): each output position of the spatial axes copies the
///         channels of one input position, or is zero. One rule per axis covers all five: the
///         input positions each repeated `repeat` times, `pad` zeros before and after, then
///         `crop` positions cut from the front and the back (the Rust `keras::shapes::Axis`).
/// @dev Config: `abi.encode(uint256[2] repeat, uint256[4] crop, uint256[4] pad)`; crop and pad
///      are (axis 0 before, axis 0 after, axis 1 before, axis 1 after). The 1D kinds have one
///      spatial axis ([steps, ch]) and leave axis 1 at repeat 1, no crop, no pad.
///      Weight tensors: none.
abstract contract RegridBase is LayerBase {
    /// @notice The decoded config.
    struct Config {
        uint256[2] repeat;
        uint256[4] crop;
        uint256[4] pad;
    }

    /// @dev Spatial axes of the kind: 1 or 2.
    function _axes() internal pure virtual returns (uint256);

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
        (c.repeat, c.crop, c.pad) = abi.decode(data, (uint256[2], uint256[4], uint256[4]));
    }

    function _check(Config memory c) internal pure {
        bool ok = c.repeat[0] > 0 && c.repeat[1] > 0;
        if (_axes() == 1) ok = ok && c.repeat[1] == 1 && c.crop[2] == 0 && c.crop[3] == 0 && c.pad[2] == 0 && c.pad[3] == 0;
        _requireConfig(ok);
    }

    /// @dev Output length of axis `a` for `n` input positions; reverts when the crop takes all.
    function _outLen(Config memory c, uint256 a, uint256 n) internal pure returns (uint256) {
        uint256 full = n * c.repeat[a] + c.pad[2 * a] + c.pad[2 * a + 1];
        uint256 cut = c.crop[2 * a] + c.crop[2 * a + 1];
        if (full <= cut) revert InputShapeMismatch(0);
        return full - cut;
    }

    /// @dev Input position output position `o` of axis `a` copies, or `type(uint256).max` where
    ///      it is padding.
    function _source(Config memory c, uint256 a, uint256 o, uint256 n) internal pure returns (uint256) {
        uint256 t = o + c.crop[2 * a];
        uint256 before = c.pad[2 * a];
        if (t < before) return type(uint256).max;
        t -= before;
        if (t >= n * c.repeat[a]) return type(uint256).max;
        return t / c.repeat[a];
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
        uint256 axes = _axes();
        if (s.length != axes + 1) revert InputShapeMismatch(0);
        (uint256 h, uint256 w, uint256 ch) = axes == 1 ? (s[0], uint256(1), s[1]) : (s[0], s[1], s[2]);
        uint256 oh = _outLen(c, 0, h);
        uint256 ow = axes == 1 ? 1 : _outLen(c, 1, w);
        shape = new uint256[](axes + 1);
        shape[0] = oh;
        if (axes == 2) shape[1] = ow;
        shape[axes] = ch;
        out = new int256[](oh * ow * ch);
        // The source column of every output column, once.
        uint256[] memory cols = new uint256[](ow);
        for (uint256 x; x < ow; ++x) {
            cols[x] = axes == 1 ? 0 : _source(c, 1, x, w);
        }
        uint256 dst = _ptr(out);
        uint256 chBytes = ch * 32;
        uint256 rowBytes = ow * chBytes;
        uint256 lastSy = type(uint256).max;
        for (uint256 y; y < oh; ++y) {
            uint256 sy = _source(c, 0, y, h);
            if (sy == type(uint256).max) continue;
            uint256 rowDst = dst + y * rowBytes;
            if (sy == lastSy) {
                // An up-sampled row repeats the row before it: one copy of the whole row.
                assembly ("memory-safe") {
                    mcopy(rowDst, sub(rowDst, rowBytes), rowBytes)
                }
                continue;
            }
            lastSy = sy;
            uint256 rowSrc = sy * w * chBytes;
            assembly ("memory-safe") {
                // Each output column copies its source column's channels; padding stays zero.
                let cp := add(cols, 0x20)
                let src := add(inputs.offset, rowSrc)
                for { let x := 0 } lt(x, ow) { x := add(x, 1) } {
                    let sx := mload(add(cp, shl(5, x)))
                    if iszero(eq(sx, not(0))) {
                        calldatacopy(add(rowDst, mul(x, chBytes)), add(src, mul(sx, chBytes)), chBytes)
                    }
                }
            }
        }
    }
}
