// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEternalModel} from "../interfaces/IEternalModel.sol";
import {IForwardLayer} from "../interfaces/IForwardLayer.sol";
import {ILayer} from "../interfaces/ILayer.sol";
import {WeightCodec} from "../lib/WeightCodec.sol";
import {WeightFormat, WeightLayout, WeightTensor} from "../lib/Types.sol";

/// @title LayerBase
/// @notice What all layer implementations share: reading the clone's immutable arguments,
///         decoding the layer's weights from the model's data contracts, and the plumbing of
///         `forward` (input checks, weight loading, returning a tensor without re-encoding it).
/// @dev A layer is an EIP-1167 clone (`CodeStore.cloneInitcode`) whose code ends with
///      `abi.encode(address model, bytes config, WeightTensor[] tensors)`, starting at code offset 45.
///      Implementations have no storage and no constructor state, so one implementation per kind
///      serves every layer of that kind on the chain. It is called through the clone, or directly
///      with the clone named at the end of the calldata (`_home`, `LayerCall`).
abstract contract LayerBase is ILayer, IForwardLayer {
    /// @inheritdoc ILayer
    function layerKind() public pure virtual returns (uint16);

    /// @inheritdoc ILayer
    function model() public view returns (address m) {
        (m,,) = _decodeArgs();
    }

    /// @inheritdoc ILayer
    function configData() public view returns (bytes memory config) {
        (, config,) = _decodeArgs();
    }

    /// @inheritdoc ILayer
    function tensors() public view returns (WeightTensor[] memory list) {
        (,, list) = _decodeArgs();
    }

    /// @inheritdoc ILayer
    function weightCount() external view returns (uint256 count) {
        WeightTensor[] memory list = tensors();
        for (uint256 i; i < list.length; ++i) {
            count += list[i].length;
        }
    }

    /// @inheritdoc ILayer
    function checkConfig() external view returns (bool) {
        _validate(configData());
        return true;
    }

    /// @inheritdoc ILayer
    function weights(uint256 index) external view returns (int256[] memory values) {
        (address m,, WeightTensor[] memory list) = _decodeArgs();
        if (index >= list.length) revert TensorIndexOutOfRange(index, list.length);
        WeightTensor memory t = list[index];
        values = _readValues(IEternalModel(m), t, 0, t.length);
    }

    /// @inheritdoc ILayer
    function weightSlice(uint256 index, uint256 start, uint256 count) external view returns (int256[] memory values) {
        (address m,, WeightTensor[] memory list) = _decodeArgs();
        if (index >= list.length) revert TensorIndexOutOfRange(index, list.length);
        WeightTensor memory t = list[index];
        if (start > t.length || count > t.length - start) revert SliceOutOfRange(index, start, count, t.length);
        values = _readValues(IEternalModel(m), t, start, count);
    }

    /// @dev Reverts with `InvalidConfig` unless `config` is a valid config of this kind.
    function _validate(bytes memory config) internal pure virtual;

    /// @dev Reverts with `InvalidConfig` unless `ok`.
    function _requireConfig(bool ok) internal pure {
        if (!ok) revert InvalidConfig(layerKind());
    }

    /// @dev The clone whose code holds the layer's arguments, and their size. Through the clone
    ///      (its proxy DELEGATECALLs here) that is `address()`, whose code starts with the EIP-1167
    ///      proxy, never like this implementation's. Called directly (`address()` is this
    ///      implementation: its code starts like CODECOPY's), it is the clone named by the last
    ///      calldata word (`LayerCall` appends it, ERC-2771 style), accepted only if its code
    ///      starts with the EIP-1167 runtime of this very implementation: a direct call then
    ///      computes exactly what the same call through that clone would (contracts/README.md,
    ///      "Direct layer calls"). Reverts `NotAClone` otherwise. The arguments start at code
    ///      offset 45, after the proxy (a named account that starts like one and is shorter
    ///      underflows `size`: the allocation then fails).
    function _home() internal view returns (address home, uint256 size) {
        bytes4 notAClone = NotAClone.selector;
        assembly ("memory-safe") {
            home := address()
            extcodecopy(home, 0x00, 0, 0x20)
            codecopy(0x20, 0, 0x20)
            if eq(mload(0x00), mload(0x20)) {
                home := shr(96, calldataload(sub(calldatasize(), 20)))
                // An EIP-1167 proxy starts 363d3d373d3d3d363d73 ‖ implementation.
                extcodecopy(home, 0x00, 0, 0x20)
                if iszero(eq(shr(16, mload(0x00)), or(shl(160, 0x363d3d373d3d3d363d73), address()))) {
                    mstore(0x00, notAClone)
                    mstore(0x04, home)
                    revert(0x00, 0x24)
                }
            }
            size := sub(extcodesize(home), 45)
        }
    }

    /// @dev The clone's immutable arguments (`_home`), decoded: what
    ///      `abi.decode(args, (address, bytes, WeightTensor[]))` of a `new bytes(size)` copy of them
    ///      returns, with the same checks in the same order, so malformed arguments revert as
    ///      they did (empty revert data; `Panic(0x41)` where the decoder's allocations would
    ///      fail, computed on the free pointer it would have moved). But decoded in place, in
    ///      one pass: the arguments are copied once into unzeroed memory, `config` is their
    ///      `bytes` where it lies and each tensor of `list` points at its three words there
    ///      (validated: uint64, uint64, uint8), instead of the decoder's copy of the bytes and a
    ///      fresh struct per tensor (≈ 700 gas a layer call).
    function _decodeArgs() internal view returns (address m, bytes memory config, WeightTensor[] memory list) {
        (address home, uint256 size) = _home();
        assembly ("memory-safe") {
            function panic41() {
                mstore(0x00, shl(224, 0x4e487b71))
                mstore(0x04, 0x41)
                revert(0x00, 0x24)
            }
            let max64 := 0xffffffffffffffff
            // `new bytes(size)`.
            let args := mload(0x40)
            if gt(size, max64) { panic41() }
            let free := add(args, and(add(size, 0x3f), not(31)))
            if or(gt(free, max64), lt(free, args)) { panic41() }
            mstore(0x40, free)
            mstore(args, size)
            let head := add(args, 0x20)
            extcodecopy(home, head, 45, size)
            let end := add(head, size)
            // The decoder: the head, the address.
            if slt(size, 0x60) { revert(0, 0) }
            m := mload(head)
            if shr(160, m) { revert(0, 0) }
            // `bytes config`: where the decoder would copy it (`free` moves past the copy).
            let o := mload(add(head, 0x20))
            if gt(o, max64) { revert(0, 0) }
            config := add(head, o)
            if iszero(slt(add(config, 0x1f), end)) { revert(0, 0) }
            let n := mload(config)
            if gt(n, max64) { panic41() }
            let f := add(free, add(and(add(n, 31), not(31)), 0x20))
            if or(gt(f, max64), lt(f, free)) { panic41() }
            free := f
            if gt(add(add(config, 0x20), n), end) { revert(0, 0) }
            // `WeightTensor[] list`: its array of pointers, then one three-word struct each.
            o := mload(add(head, 0x40))
            if gt(o, max64) { revert(0, 0) }
            let a := add(head, o)
            if iszero(slt(add(a, 0x1f), end)) { revert(0, 0) }
            n := mload(a)
            if gt(n, max64) { panic41() }
            f := add(free, add(shl(5, n), 0x20))
            if or(gt(f, max64), lt(f, free)) { panic41() }
            let src := add(a, 0x20)
            if gt(add(src, mul(n, 0x60)), end) { revert(0, 0) }
            // Past this point the structs' allocations cannot fail: n · 0x60 ≤ size.
            list := mload(0x40)
            mstore(list, n)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let t := add(src, mul(i, 0x60))
                if or(or(gt(mload(t), max64), gt(mload(add(t, 0x20)), max64)), gt(mload(add(t, 0x40)), 0xff)) {
                    revert(0, 0)
                }
                mstore(add(list, shl(5, add(i, 1))), t)
            }
            mstore(0x40, add(list, shl(5, add(n, 1))))
        }
    }

    /// @dev Values [start, start + n) of tensor `t` as Q32.32. Q32_32/INT32_SHIFTED: `n` value
    ///      slots from slot `t.offset + start` (Q32_32 big-endian int64; INT32_SHIFTED big-endian
    ///      int32 `q`, decoded as `q << (32 - t.shift)`, the exact inverse of the exporter's floor
    ///      shift). INT16/INT8: the tensor's record read whole (WeightCodec), then q·scale.
    function _readValues(IEternalModel m, WeightTensor memory t, uint256 start, uint256 n)
        internal
        view
        returns (int256[] memory values)
    {
        WeightLayout memory layout = m.weightLayout();
        if (WeightFormat.perChannel(layout.format)) {
            return _valuesFrom(_raw(address(m), layout, t), start, n);
        }
        uint256 width = WeightFormat.width(layout.format);
        bytes memory raw = m.weightBytes((uint256(t.offset) + start) * width, n * width);
        values = new int256[](n);
        if (width == 8) {
            assembly ("memory-safe") {
                let src := add(raw, 0x20)
                let dst := add(values, 0x20)
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    // Top 8 bytes of the word at src + 8i, sign-extended from bit 63.
                    mstore(add(dst, shl(5, i)), signextend(7, shr(192, mload(add(src, shl(3, i))))))
                }
            }
        } else {
            _requireConfig(t.shift <= 32);
            uint256 up = 32 - uint256(t.shift);
            assembly ("memory-safe") {
                let src := add(raw, 0x20)
                let dst := add(values, 0x20)
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    let q := signextend(3, shr(224, mload(add(src, shl(2, i)))))
                    mstore(add(dst, shl(5, i)), shl(up, q))
                }
            }
        }
    }

    // ------------------------------------------------------------------ inference plumbing

    /// @dev A weight tensor copied from the data contracts into memory, still in its stored
    ///      format: value `i` is the big-endian `width`-byte integer at `ptr + i * width`, and its
    ///      Q32.32 value is that integer sign-extended and then, when `scales` is 0, shifted left
    ///      by `up` (0 in Q32_32, `32 - shift` in INT32_SHIFTED) or else (INT16/INT8) multiplied
    ///      by the word at `scales + 32 · (i mod channels)` (its output channel's scale). Kernels
    ///      that sum Σ q·x per output channel convert the sum once with `_scaled`.
    struct Raw {
        uint256 ptr;
        uint256 width;
        uint256 up;
        uint256 length;
        uint256 scales;
        uint256 channels;
    }

    /// @inheritdoc IForwardLayer
    /// @dev Checks that `shapes`/`ranks` describe exactly `inputs.length` values, decodes the
    ///      clone's arguments and hands over to `_forward`. The result is returned by `_emit`.
    function forward(int256[] calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        external
        view
        returns (int256[] memory, uint256[] memory)
    {
        _checkInputs(inputs, shapes, ranks);
        (address m, bytes memory config, WeightTensor[] memory list) = _decodeArgs();
        (int256[] memory out, uint256[] memory shape) = _forward(inputs, shapes, ranks, m, config, list);
        _emit(out, shape);
    }

    /// @inheritdoc IForwardLayer
    /// @dev Decodes the clone's arguments and hands over to `_forwardSlice`; returned by `_emit`.
    function forwardSlice(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count
    ) external view returns (int256[] memory, uint256[] memory) {
        (address m, bytes memory config, WeightTensor[] memory list) = _decodeArgs();
        (int256[] memory out, uint256[] memory shape) = _forwardSlice(inputs, shapes, ranks, from, count, m, config, list);
        _emit(out, shape);
    }

    /// @dev Reverts `InputShapeMismatch` unless `shapes`/`ranks` describe exactly `inputs.length` values.
    ///      In assembly (≈ 250 gas a dimension in Solidity, its checks included): the same reverts,
    ///      `Panic(0x11)` where the checked `at + rank`, `size * dim` or `total + size` overflows.
    function _checkInputs(int256[] calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        internal
        pure
    {
        bytes4 mismatch = InputShapeMismatch.selector;
        assembly ("memory-safe") {
            function fail(selector, k) {
                mstore(0x00, selector)
                mstore(0x04, k)
                revert(0x00, 0x24)
            }
            let at := 0
            let total := 0
            for { let k := 0 } lt(k, ranks.length) { k := add(k, 1) } {
                let size := 1
                let end := add(at, calldataload(add(ranks.offset, shl(5, k))))
                if lt(end, at) { fail(shl(224, 0x4e487b71), 0x11) }
                if gt(end, shapes.length) { fail(mismatch, k) }
                for {} lt(at, end) { at := add(at, 1) } {
                    let dim := calldataload(add(shapes.offset, shl(5, at)))
                    if and(iszero(iszero(size)), gt(dim, div(not(0), size))) { fail(shl(224, 0x4e487b71), 0x11) }
                    size := mul(size, dim)
                }
                let sum := add(total, size)
                if lt(sum, total) { fail(shl(224, 0x4e487b71), 0x11) }
                total := sum
            }
            if or(iszero(eq(at, shapes.length)), iszero(eq(total, inputs.length))) { fail(mismatch, ranks.length) }
        }
    }

    /// @dev Output rows [from, from + count) (the first axis): by default the whole forward pass on
    ///      the whole input, then the rows cut out in place. Kinds that can compute a part only
    ///      (Dense, the convolutions, pooling) override this.
    function _forwardSlice(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view virtual returns (int256[] memory out, uint256[] memory shape) {
        _checkInputs(inputs, shapes, ranks);
        (out, shape) = _forward(inputs, shapes, ranks, m, cfg, list);
        if (shape.length == 0) revert OutputSliceOutOfRange(from, count, 0);
        _checkSlice(from, count, shape[0]);
        uint256 row = out.length / shape[0];
        assembly ("memory-safe") {
            // Rows [from, from + count) moved to the front, the length cut: out stays one array.
            let data := add(out, 0x20)
            mcopy(data, add(data, shl(5, mul(from, row))), shl(5, mul(count, row)))
            mstore(out, mul(count, row))
        }
        shape[0] = count;
    }

    /// @dev Reverts `OutputSliceOutOfRange` unless [from, from + count) is a non-empty part of `length`.
    function _checkSlice(uint256 from, uint256 count, uint256 length) internal pure {
        if (count == 0 || from >= length || count > length - from) revert OutputSliceOutOfRange(from, count, length);
    }

    /// @dev The input rows a window slice reads, and how the slice sees them. Output rows [from,
    ///      from + count) of a window op (kernel or pool of `k` rows, stride `s`, `pad` rows of
    ///      padding before, `n` input rows) read input rows [first, last): first = max(0, from·s −
    ///      pad), last = min(n, (from + count − 1)·s − pad + k). Seen from those rows alone, the
    ///      slice is the same op over `last − first` rows with `pad + first − from·s` rows of
    ///      padding before (≥ 0) and `count` output rows. The Rust planner computes the same rows.
    function _windowRows(uint256 from, uint256 count, uint256 k, uint256 s, uint256 pad, uint256 n)
        internal
        pure
        returns (uint256 rows, uint256 padBefore)
    {
        uint256 top = from * s;
        uint256 first = top > pad ? top - pad : 0;
        uint256 end = (from + count - 1) * s + k;
        uint256 last = end > pad ? end - pad : 0;
        if (last > n) last = n;
        rows = last > first ? last - first : 0;
        padBefore = pad + first - top;
    }

    /// @dev The layer's forward pass: every kind implements it.
    function _forward(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        address m,
        bytes memory cfg,
        WeightTensor[] memory list
    ) internal view virtual returns (int256[] memory out, uint256[] memory shape);

    /// @dev The shape of the only input, after checking there is exactly one.
    ///      Copied with one CALLDATACOPY (the compiler's conversion copies word by word, ≈ 70 gas
    ///      a dimension).
    function _single(uint256[] calldata shapes, uint256[] calldata ranks)
        internal
        pure
        returns (uint256[] memory shape)
    {
        if (ranks.length != 1) revert InputCountMismatch(1, ranks.length);
        uint256 offset;
        assembly ("memory-safe") {
            offset := shapes.offset
        }
        shape = _words(offset, shapes.length);
    }

    /// @dev ABI-returns `(out, shape)` directly, without copying `out`: the two head words
    ///      (offsets 0x40 and 0x60 + 32n) are written over the two words before `out`, and the
    ///      shape right after out's last value. Nothing there is needed any more (this returns),
    ///      except the shape itself, which may lie in either place: it is first copied past the
    ///      free pointer. Returned bytes from out − 0x40: [0x40][offset of shape][out: length,
    ///      values][shape: length, values].
    function _emit(int256[] memory out, uint256[] memory shape) internal pure {
        assembly ("memory-safe") {
            let n := mload(out)
            let shapeBytes := add(0x20, shl(5, mload(shape)))
            let tmp := mload(0x40)
            mcopy(tmp, shape, shapeBytes)
            let p := sub(out, 0x40)
            mstore(p, 0x40)
            mstore(add(p, 0x20), add(0x60, shl(5, n)))
            let q := add(add(out, 0x20), shl(5, n))
            mcopy(q, tmp, shapeBytes)
            return(p, add(sub(q, p), shapeBytes))
        }
    }

    /// @dev Copies tensor `t`'s stored values from the model's data contracts into memory
    ///      (EXTCODECOPY, never SLOAD), in any format (WeightCodec).
    function _raw(address m, WeightTensor memory t) internal view returns (Raw memory w) {
        return _raw(m, IEternalModel(m).weightLayout(), t);
    }

    /// @dev `_raw` with the model's weight layout already read (a layer reading several tensors
    ///      asks the model once: ≈ 1.7k gas a call).
    function _raw(address m, WeightLayout memory layout, WeightTensor memory t) internal view returns (Raw memory w) {
        WeightCodec.Place memory p = WeightCodec.place(m, layout, t);
        w.width = p.width;
        w.up = p.up;
        w.length = t.length;
        w.channels = p.channels;
        uint256 length = uint256(t.length) * p.width;
        // One spare word so the last value can be read with a full-word MLOAD. Not zeroed first
        // (3 gas a word: 5k for a 55 KB kernel): the copy writes every byte before the spare
        // word, which is zeroed here.
        uint256 dst;
        assembly ("memory-safe") {
            let buf := mload(0x40)
            mstore(buf, add(length, 32))
            dst := add(buf, 0x20)
            mstore(add(dst, length), 0)
            mstore(0x40, and(add(add(dst, length), 63), not(31)))
        }
        w.ptr = dst;
        WeightCodec.copy(m, layout.chunkBytes, p.start, length, dst);
        if (p.channels != 0) {
            int256[] memory scales = new int256[](p.channels);
            w.scales = _ptr(scales);
            WeightCodec.loadScales(m, layout.chunkBytes, p, 0, p.channels, w.scales);
        }
    }

    /// @dev Columns [from, from + count) of tensor `t` read as a [rows, cols] matrix, copied from the
    ///      data contracts into memory as a [rows, count] Raw: one EXTCODECOPY per row (and per chunk
    ///      boundary), so a slice of a big kernel costs memory for its own columns only. In INT16/
    ///      INT8 the columns are the output channels: their scales come along.
    function _rawColumns(address m, WeightTensor memory t, uint256 rows, uint256 cols, uint256 from, uint256 count)
        internal
        view
        returns (Raw memory w)
    {
        WeightLayout memory layout = IEternalModel(m).weightLayout();
        WeightCodec.Place memory p = WeightCodec.place(m, layout, t);
        _requireConfig(rows * cols == t.length && (p.channels == 0 || p.channels == cols));
        w.width = p.width;
        w.up = p.up;
        w.length = rows * count;
        uint256 rowBytes = count * w.width;
        // One spare word so the last value can be read with a full-word MLOAD.
        bytes memory buf = new bytes(rows * rowBytes + 32);
        uint256 dst;
        assembly ("memory-safe") {
            dst := add(buf, 0x20)
        }
        w.ptr = dst;
        WeightCodec.ChunkCache memory cache = WeightCodec.ChunkCache(type(uint256).max, address(0));
        for (uint256 r; r < rows; ++r) {
            WeightCodec.copyCached(
                m, layout.chunkBytes, p.start + (r * cols + from) * w.width, rowBytes, dst + r * rowBytes, cache
            );
        }
        if (p.channels != 0) {
            int256[] memory scales = new int256[](count);
            w.scales = _ptr(scales);
            w.channels = count;
            WeightCodec.loadScales(m, layout.chunkBytes, p, from, count, w.scales);
        }
    }

    /// @dev The stored integer of value `i` (sign-extended, before the `up` shift or the scale).
    function _q(Raw memory w, uint256 i) internal pure returns (int256) {
        return WeightCodec.q(w.ptr, w.width, i);
    }

    /// @dev The Q32.32 value of value `i`.
    function _at(Raw memory w, uint256 i) internal pure returns (int256) {
        return WeightCodec.scaled(_q(w, i), w.up, w.scales, w.channels == 0 ? 0 : i % w.channels);
    }

    /// @dev `acc`, a sum of stored integers of output channel `c` times inputs (Σ q·x), in the
    ///      values' terms (Σ a·x): shifted by `up`, or times the channel's scale.
    function _scaled(Raw memory w, uint256 c, int256 acc) internal pure returns (int256) {
        return WeightCodec.scaled(acc, w.up, w.scales, c);
    }

    /// @dev The input shift e of a layer whose sums have `terms` terms (a plain convolution's
    ///      taps, a Dense's input units) on the stored kernel `w` (the reference's
    ///      `quant::input_shift`): with c = ⌈log2 terms⌉, c + 8 in INT8, c in INT16 (a
    ///      convolution's window takes six more: `ConvBase._windowShift`), 0 otherwise.
    ///      The layer rounds its input to x' = (x + 2^(e−1)) >> e and multiplies each output's sum
    ///      by scale << e.
    function _inputShift(Raw memory w, uint256 terms) internal pure returns (uint256 e) {
        if (w.scales == 0 || w.width > 2) return 0;
        for (uint256 t = terms - 1; t != 0; t >>= 1) ++e;
        if (w.width == 1) e += 8;
    }

    /// @dev Every value of `w` as Q32.32 (for small tensors: memory is quadratic in size).
    function _values(Raw memory w) internal pure returns (int256[] memory) {
        return _valuesFrom(w, 0, w.length);
    }

    /// @dev Values [from, from + count) of `w` as Q32.32: `_at` of each, in one loop (through
    ///      `_at` a value costs ≈ 340 gas, 24k for a 70-unit bias).
    function _valuesFrom(Raw memory w, uint256 from, uint256 count) internal pure returns (int256[] memory v) {
        v = new int256[](count);
        uint256 width = w.width;
        uint256 ptr = w.ptr;
        uint256 up = w.up;
        uint256 scales = w.scales;
        uint256 channels = w.channels;
        assembly ("memory-safe") {
            let se := sub(width, 1)
            let sh := sub(256, shl(3, width))
            let out := add(v, 0x20)
            for { let k := 0 } lt(k, count) { k := add(k, 1) } {
                let i := add(from, k)
                // `WeightCodec.q`, then `WeightCodec.scaled` (channel i mod channels).
                let q := signextend(se, shr(sh, mload(add(ptr, mul(i, width)))))
                switch scales
                case 0 { q := shl(up, q) }
                default { q := mul(q, mload(add(scales, shl(5, mod(i, channels))))) }
                mstore(add(out, shl(5, k)), q)
            }
        }
    }

    /// @dev Tensor `index` of the layer as Q32.32 values, or an empty array when absent.
    function _tensorValues(address m, WeightTensor[] memory list, uint256 index)
        internal
        view
        returns (int256[] memory)
    {
        if (index >= list.length) return new int256[](0);
        return _values(_raw(m, list[index]));
    }

    /// @dev Product of `dims`.
    function _size(uint256[] memory dims) internal pure returns (uint256 n) {
        n = 1;
        for (uint256 i; i < dims.length; ++i) {
            n *= dims[i];
        }
    }

    /// @dev A copy of `inputs` in memory: one CALLDATACOPY into fresh, unzeroed memory (the
    ///      compiler's `out = inputs` copies word by word, ≈ 60 gas a value).
    function _copy(int256[] calldata inputs) internal pure returns (int256[] memory out) {
        uint256 offset;
        assembly ("memory-safe") {
            offset := inputs.offset
        }
        uint256[] memory words = _words(offset, inputs.length);
        assembly ("memory-safe") {
            out := words
        }
    }

    /// @dev A new memory array of the `n` calldata words at `offset`: its length word, then one
    ///      CALLDATACOPY into fresh, unzeroed memory (`_copy`, `_single`).
    function _words(uint256 offset, uint256 n) private pure returns (uint256[] memory p) {
        assembly ("memory-safe") {
            p := mload(0x40)
            let bytes_ := shl(5, n)
            mstore(p, n)
            calldatacopy(add(p, 0x20), offset, bytes_)
            mstore(0x40, add(add(p, 0x20), bytes_))
        }
    }

    /// @dev Memory address of element 0 of `a`.
    function _ptr(int256[] memory a) internal pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := add(a, 0x20)
        }
    }

    /// @dev `a[start : start + n]` copied to memory.
    function _sliceU(uint256[] calldata a, uint256 start, uint256 n) internal pure returns (uint256[] memory out) {
        if (start + n > a.length) revert InputShapeMismatch(0);
        out = new uint256[](n);
        assembly ("memory-safe") {
            calldatacopy(add(out, 0x20), add(a.offset, shl(5, start)), shl(5, n))
        }
    }

    /// @dev `a[start : start + n]` copied to memory.
    function _sliceI(int256[] calldata a, uint256 start, uint256 n) internal pure returns (int256[] memory out) {
        if (start + n > a.length) revert InputShapeMismatch(0);
        out = new int256[](n);
        assembly ("memory-safe") {
            calldatacopy(add(out, 0x20), add(a.offset, shl(5, start)), shl(5, n))
        }
    }
}
