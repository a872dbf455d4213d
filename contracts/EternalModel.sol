// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEternalModel} from "./interfaces/IEternalModel.sol";
import {IForwardLayer} from "./interfaces/IForwardLayer.sol";
import {ILayer} from "./interfaces/ILayer.sol";
import {CodeStore} from "./lib/CodeStore.sol";
import {Implementations} from "./lib/Implementations.sol";
import {LayerCall} from "./lib/LayerCall.sol";
import {PackedValues} from "./lib/PackedValues.sol";
import {LayerLink, WeightLayout, WeightFormat} from "./lib/Types.sol";

/// @title EternalModel
/// @notice Implementation of the model contract. Deployed once per chain; every model is an
///         EIP-1167 clone of it created by `EternalFactory.createModel`, which initializes the
///         owner in the same transaction.
/// @dev Weight integrity: at construction the owner commits to a Merkle root over
///      `keccak256(initcode_i)`, where `initcode_i` is the data-contract initcode of chunk i
///      (`CodeStore.dataInitcode`). `storeChunk(i, data, proof)` rebuilds that initcode from `data`,
///      checks the proof at position i, and CREATE2s it with salt i — so chunk i's address is
///      known in advance, is accepted once, in any order, and only with the committed content.
contract EternalModel is IEternalModel {
    /// @dev Largest chunk: a multiple of 32 (whole bundle words in both formats) that fits a data
    ///      contract (24,575 data bytes).
    uint256 internal constant MAX_CHUNK_BYTES = 24_544;
    /// @dev Offsets in a layer clone's initcode (see `_checkLayer`): the runtime after the 10-byte
    ///      prefix, the implementation address at runtime offset 10, the arguments at runtime offset 45.
    uint256 internal constant _PREFIX = 0x0a;
    uint256 internal constant _CLONE_IMPLEMENTATION = 0x14;
    uint256 internal constant _CLONE_ARGS = 0x37;

    /// @inheritdoc IEternalModel
    address public immutable factory;

    /// @dev Slot 0: owner and the construction/upload state, packed so a chunk upload touches one
    ///      slot besides its own pointer.
    address internal _owner;
    bool internal _constructed;
    uint8 internal _format;
    uint32 internal _chunkBytes;
    uint32 internal _chunkCount;
    uint32 internal _received;
    /// @dev Slot 1.
    uint64 internal _totalBytes;
    bytes32 internal _root;
    bytes32 internal _graphHash;
    bytes32 internal _weightsHash;

    /// @dev One slot per layer: contract, kind, and a window into `_inputs`.
    struct LayerSlot {
        address layer;
        uint16 kind;
        uint32 inputsStart;
        uint16 inputsCount;
    }

    LayerSlot[] internal _layers;
    uint16[] internal _inputs;
    mapping(uint256 => address) internal _chunks;

    constructor() {
        factory = msg.sender;
        // The implementation itself is never a model: nobody may initialize or construct it.
        _owner = address(this);
    }

    modifier onlyOwner() {
        if (msg.sender != _owner) revert NotOwner(msg.sender);
        _;
    }

    /// @inheritdoc IEternalModel
    function initialize(address owner_) external {
        if (msg.sender != factory || _owner != address(0)) revert InitializeForbidden(msg.sender);
        _owner = owner_;
    }

    /// @inheritdoc IEternalModel
    function constructModel(
        bytes32 graphHash,
        bytes32 weightsHash,
        LayerLink[] calldata layerLinks,
        WeightLayout calldata layout
    ) external onlyOwner {
        if (_constructed) revert AlreadyConstructed();
        _checkLayout(layout);
        if (layerLinks.length > type(uint16).max) revert TooManyLayers(layerLinks.length);

        uint256 inputsStart;
        for (uint256 i; i < layerLinks.length; ++i) {
            LayerLink calldata link = layerLinks[i];
            _checkLayer(i, link.kind, link.layer);
            for (uint256 k; k < link.inputs.length; ++k) {
                uint16 input = link.inputs[k];
                if (input >= i) revert InputNotEarlier(i, input);
                _inputs.push(input);
            }
            _layers.push(
                LayerSlot({
                    layer: link.layer,
                    kind: link.kind,
                    inputsStart: uint32(inputsStart),
                    inputsCount: uint16(link.inputs.length)
                })
            );
            inputsStart += link.inputs.length;
        }

        _constructed = true;
        _format = layout.format;
        _chunkBytes = layout.chunkBytes;
        _chunkCount = layout.chunkCount;
        _totalBytes = layout.totalBytes;
        _root = layout.root;
        _graphHash = graphHash;
        _weightsHash = weightsHash;
        emit ModelConstructed(graphHash, weightsHash, layerLinks.length, layout);
        if (layout.chunkCount == 0) emit ModelReady(graphHash, weightsHash);
    }

    /// @inheritdoc IEternalModel
    function storeChunk(uint256 index, bytes calldata data, bytes32[] calldata proof)
        external
        onlyOwner
        returns (address pointer)
    {
        if (!_constructed) revert NotConstructed();
        uint256 count = _chunkCount;
        if (index >= count) revert ChunkIndexOutOfRange(index, count);
        if (_chunks[index] != address(0)) revert ChunkAlreadyStored(index);
        uint256 expected = _chunkSize(index);
        if (data.length != expected) revert ChunkSizeMismatch(index, expected, data.length);
        uint256 depth = _depth(count);
        if (proof.length != depth) revert ProofLengthMismatch(index, depth, proof.length);

        bytes memory initcode = CodeStore.dataInitcode(data);
        bytes32 node = keccak256(initcode);
        for (uint256 level; level < depth; ++level) {
            bytes32 sibling = proof[level];
            node = (index >> level) & 1 == 0
                ? keccak256(abi.encodePacked(node, sibling))
                : keccak256(abi.encodePacked(sibling, node));
        }
        if (node != _root) revert ChunkContentMismatch(index);

        pointer = CodeStore.deploy(initcode, bytes32(index));
        _chunks[index] = pointer;
        uint32 received = _received + 1;
        _received = received;
        emit ChunkStored(index, pointer);
        if (received == count) emit ModelReady(_graphHash, _weightsHash);
    }

    /// @inheritdoc IEternalModel
    function owner() external view returns (address) {
        return _owner;
    }

    /// @inheritdoc IEternalModel
    function isConstructed() external view returns (bool) {
        return _constructed;
    }

    /// @inheritdoc IEternalModel
    function isReady() external view returns (bool) {
        return _constructed && _received == _chunkCount;
    }

    /// @inheritdoc IEternalModel
    function hashedModel() external view returns (bytes32 graphHash, bytes32 weightsHash) {
        return (_graphHash, _weightsHash);
    }

    /// @inheritdoc IEternalModel
    function layerCount() external view returns (uint256) {
        return _layers.length;
    }

    /// @inheritdoc IEternalModel
    function layerAt(uint256 index) public view returns (LayerLink memory link) {
        if (index >= _layers.length) revert LayerIndexOutOfRange(index, _layers.length);
        LayerSlot memory slot = _layers[index];
        link.kind = slot.kind;
        link.layer = slot.layer;
        link.inputs = new uint16[](slot.inputsCount);
        for (uint256 k; k < slot.inputsCount; ++k) {
            link.inputs[k] = _inputs[slot.inputsStart + k];
        }
    }

    /// @inheritdoc IEternalModel
    function layers() external view returns (LayerLink[] memory links) {
        links = new LayerLink[](_layers.length);
        for (uint256 i; i < links.length; ++i) {
            links[i] = layerAt(i);
        }
    }

    /// @inheritdoc IEternalModel
    function weightLayout() external view returns (WeightLayout memory) {
        return WeightLayout({
            format: _format,
            chunkBytes: _chunkBytes,
            chunkCount: _chunkCount,
            totalBytes: _totalBytes,
            root: _root
        });
    }

    /// @inheritdoc IEternalModel
    function chunksReceived() external view returns (uint256) {
        return _received;
    }

    /// @inheritdoc IEternalModel
    function chunkSize(uint256 index) external view returns (uint256) {
        if (index >= _chunkCount) revert ChunkIndexOutOfRange(index, _chunkCount);
        return _chunkSize(index);
    }

    /// @inheritdoc IEternalModel
    function chunkAddress(uint256 index) external view returns (address) {
        if (index >= _chunkCount) revert ChunkIndexOutOfRange(index, _chunkCount);
        return _chunks[index];
    }

    /// @inheritdoc IEternalModel
    function chunkAddresses() external view returns (address[] memory pointers) {
        pointers = new address[](_chunkCount);
        for (uint256 i; i < pointers.length; ++i) {
            pointers[i] = _chunks[i];
        }
    }

    /// @inheritdoc IEternalModel
    function weightBytes(uint256 start, uint256 length) external view returns (bytes memory out) {
        uint256 total = _totalBytes;
        if (start > total || length > total - start) revert WeightRangeOutOfBounds(start, length, total);
        out = new bytes(length);
        uint256 chunkBytes = _chunkBytes;
        uint256 done;
        while (done < length) {
            uint256 at = start + done;
            uint256 index = at / chunkBytes;
            uint256 within = at % chunkBytes;
            uint256 take = chunkBytes - within;
            if (take > length - done) take = length - done;
            address pointer = _chunks[index];
            if (pointer == address(0)) revert ChunkMissing(index);
            assembly ("memory-safe") {
                // Data starts at code offset 1, after the STOP byte.
                extcodecopy(pointer, add(add(out, 0x20), done), add(within, 1), take)
            }
            done += take;
        }
    }

    /// @dev Layer `index` must be a clone this model's factory made of the implementation of
    ///      `kind`, bound to this model. Proven from the layer's code alone, without calling it: the
    ///      factory CREATE2s at salt 0 only our implementations' creation code and clones of our
    ///      layer implementations, so if `CLONE_PREFIX ‖ code` hashes to the layer's address as the
    ///      factory's salt-0 CREATE2, the factory made it with that initcode — a clone, whose code
    ///      names its implementation and whose first argument word is its model.
    ///      The initcode is rebuilt at the free pointer as scratch (never kept, the pointer is not
    ///      moved):
    ///        p + 0x00  prefix  61 LLLL 80 600a 5f 39 5f f3       (10 bytes, L = code size)
    ///        p + 0x0a  runtime 363d3d373d3d3d363d73            (10 bytes)
    ///        p + 0x14          implementation                    (20 bytes)
    ///        p + 0x28          5af43d82803e903d91602b57fd5bf3    (15 bytes)
    ///        p + 0x37          args: model word, config, tensors (abi.encode)
    ///      Reading the code costs less than calling `model()` and `layerKind()` on the clone
    ///      (each a DELEGATECALL into the implementation): contracts/README.md has the numbers.
    function _checkLayer(uint256 index, uint16 kind, address layer) internal view {
        uint256 size = layer.code.length;
        if (size == 0) revert LayerNotDeployed(index, layer);
        // A clone carries at least its model word after the 45-byte proxy.
        if (size < CodeStore.CLONE_RUNTIME_BYTES + 0x20 || size > CodeStore.MAX_RUNTIME_BYTES) {
            revert LayerNotFromFactory(index, layer);
        }
        bytes32 initcodeHash;
        address implementation;
        uint256 modelWord;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, shl(176, or(or(shl(72, 0x61), shl(56, size)), 0x80600a5f395ff3)))
            extcodecopy(layer, add(p, _PREFIX), 0, size)
            initcodeHash := keccak256(p, add(size, _PREFIX))
            implementation := shr(96, mload(add(p, _CLONE_IMPLEMENTATION)))
            modelWord := mload(add(p, _CLONE_ARGS))
        }
        if (CodeStore.predict(factory, bytes32(0), initcodeHash) != layer) revert LayerNotFromFactory(index, layer);
        if (modelWord != uint256(uint160(address(this)))) {
            revert LayerOfAnotherModel(index, address(uint160(modelWord)));
        }
        bytes32 want = Implementations.layer(kind);
        if (want == bytes32(0) || CodeStore.predict(factory, bytes32(0), want) != implementation) {
            revert LayerKindMismatch(index, kind, ILayer(layer).layerKind());
        }
    }

    /// @dev Checks the chunk geometry: chunk size a multiple of 32 up to MAX_CHUNK_BYTES, the blob a
    ///      whole number of bundle words in the chosen format, and exactly ceil(total / chunk) chunks.
    function _checkLayout(WeightLayout calldata layout) internal pure {
        uint256 width = WeightFormat.width(layout.format);
        if (width == 0) revert UnknownWeightFormat(layout.format);
        uint256 total = layout.totalBytes;
        uint256 chunkBytes = layout.chunkBytes;
        bool ok = chunkBytes != 0 && chunkBytes % 32 == 0 && chunkBytes <= MAX_CHUNK_BYTES
            && total % (4 * width) == 0 && layout.chunkCount == (total + chunkBytes - 1) / chunkBytes;
        if (!ok) revert InvalidWeightLayout(layout.chunkBytes, layout.chunkCount, layout.totalBytes);
    }

    /// @dev Byte length of chunk `index` (every chunk is full except possibly the last).
    function _chunkSize(uint256 index) internal view returns (uint256) {
        uint256 chunkBytes = _chunkBytes;
        uint256 rest = uint256(_totalBytes) - index * chunkBytes;
        return rest < chunkBytes ? rest : chunkBytes;
    }

    /// @dev Depth of the Merkle tree over `count` leaves: ceil(log2(count)), 0 for one leaf.
    function _depth(uint256 count) internal pure returns (uint256 depth) {
        while ((uint256(1) << depth) < count) ++depth;
    }

    // ------------------------------------------------------------------ inference

    /// @inheritdoc IEternalModel
    function predict(int256[] calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        external
        view
        returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks)
    {
        (uint256[] memory data, uint256[] memory dims, bool[] memory read) = _run(inputs, shapes, ranks);
        uint256 sinks;
        for (uint256 i; i < read.length; ++i) {
            if (!read[i]) ++sinks;
        }
        uint256[] memory picked = new uint256[](sinks);
        uint256 k;
        for (uint256 i; i < read.length; ++i) {
            if (!read[i]) picked[k++] = i;
        }
        return _gather(data, dims, picked);
    }

    /// @inheritdoc IEternalModel
    function predictLayers(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256[] calldata outputLayers
    ) external view returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks) {
        uint256 count = _layers.length;
        for (uint256 k; k < outputLayers.length; ++k) {
            if (outputLayers[k] >= count) revert LayerIndexOutOfRange(outputLayers[k], count);
        }
        (uint256[] memory data, uint256[] memory dims,) = _run(inputs, shapes, ranks);
        return _gather(data, dims, outputLayers);
    }

    /// @inheritdoc IEternalModel
    function predictRange(
        uint256 from,
        uint256 to,
        uint256[] calldata known,
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256[] calldata outputLayers
    ) external view returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks) {
        (uint256[] memory data, uint256[] memory dims) = _rangeStart(from, to, known, ranks);
        // Cursors into the given tensors: next tensor, its first value, its first shape entry.
        uint256[3] memory cursor;
        for (uint256 k; k < known.length; ++k) {
            (data[known[k]], dims[known[k]]) = _modelInput(inputs, shapes, ranks, cursor);
        }
        if (cursor[1] != inputs.length || cursor[2] != shapes.length) revert ModelInputShapeMismatch();
        _rangeRun(from, to, data, dims, outputLayers);
        return _gather(data, dims, outputLayers);
    }

    /// @inheritdoc IEternalModel
    function predictRangePacked(
        uint256 from,
        uint256 to,
        uint256[] calldata known,
        bytes calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256[] calldata outputLayers
    ) external view returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks) {
        (uint256[] memory data, uint256[] memory dims) = _rangeStart(from, to, known, ranks);
        (uint256 width, uint256 total) = PackedValues.header(inputs);
        uint256[3] memory cursor;
        for (uint256 k; k < known.length; ++k) {
            uint256 j = known[k];
            uint256 at = cursor[2];
            uint256 size = _inputSize(shapes, ranks, cursor);
            if (cursor[1] + size > total) revert ModelInputShapeMismatch();
            int256[] memory v = PackedValues.slice(inputs, width, cursor[1], size);
            uint256[] memory sh = shapes[at:cursor[2]];
            assembly ("memory-safe") {
                mstore(add(data, shl(5, add(j, 1))), v)
                mstore(add(dims, shl(5, add(j, 1))), sh)
            }
            cursor[1] += size;
        }
        if (cursor[1] != total || cursor[2] != shapes.length) revert ModelInputShapeMismatch();
        _rangeRun(from, to, data, dims, outputLayers);
        return _gather(data, dims, outputLayers);
    }

    /// @inheritdoc IEternalModel
    function forwardPacked(uint256 layer, bytes calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        external
        view
        returns (int256[] memory output, uint256[] memory outputShape)
    {
        (uint256 values, uint256 shape) =
            LayerCall.forwardPacked(layer, _readyLayer(layer), inputs, shapes, ranks);
        return _arrays(values, shape);
    }

    /// @inheritdoc IEternalModel
    function forwardSlicePacked(
        uint256 layer,
        bytes calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count
    ) external view returns (int256[] memory output, uint256[] memory outputShape) {
        (uint256 values, uint256 shape) =
            LayerCall.forwardSlicePacked(layer, _readyLayer(layer), inputs, shapes, ranks, from, count);
        return _arrays(values, shape);
    }

    /// @dev The clone of layer `layer` of a ready model.
    function _readyLayer(uint256 layer) internal view returns (address) {
        if (!_constructed || _received != _chunkCount) revert NotReady();
        uint256 n = _layers.length;
        if (layer >= n) revert LayerIndexOutOfRange(layer, n);
        return _layers[layer].layer;
    }

    /// @dev A layer's answer (memory pointers to its output and shape) as arrays.
    function _arrays(uint256 values, uint256 shape)
        internal
        pure
        returns (int256[] memory output, uint256[] memory outputShape)
    {
        assembly ("memory-safe") {
            output := values
            outputShape := shape
        }
    }

    /// @dev Checks a range call's bounds and given layers: empty tensor slots for every layer.
    function _rangeStart(uint256 from, uint256 to, uint256[] calldata known, uint256[] calldata ranks)
        internal
        view
        returns (uint256[] memory data, uint256[] memory dims)
    {
        if (!_constructed || _received != _chunkCount) revert NotReady();
        uint256 n = _layers.length;
        if (from >= to || to > n) revert LayerIndexOutOfRange(to, n);
        if (known.length != ranks.length) revert ModelInputCountMismatch(known.length, ranks.length);
        for (uint256 k; k < known.length; ++k) {
            uint256 j = known[k];
            if (j >= to || (j >= from && _layers[j].inputsCount != 0)) revert LayerIndexOutOfRange(j, to);
        }
        data = new uint256[](n);
        dims = new uint256[](n);
    }

    /// @dev Runs layers [from, to) on the tensors in `data`/`dims`; every layer in
    ///      `outputLayers` must then have one.
    function _rangeRun(
        uint256 from,
        uint256 to,
        uint256[] memory data,
        uint256[] memory dims,
        uint256[] calldata outputLayers
    ) internal view {
        uint256 n = _layers.length;
        for (uint256 i = from; i < to; ++i) {
            LayerSlot memory slot = _layers[i];
            uint256 count = slot.inputsCount == 0 ? 1 : slot.inputsCount;
            uint256[] memory srcData = new uint256[](count);
            uint256[] memory srcDims = new uint256[](count);
            if (slot.inputsCount == 0) {
                if (data[i] == 0) revert RangeInputMissing(i, i);
                (srcData[0], srcDims[0]) = (data[i], dims[i]);
            } else {
                for (uint256 k; k < count; ++k) {
                    uint256 j = _inputs[slot.inputsStart + k];
                    if (data[j] == 0) revert RangeInputMissing(i, j);
                    srcData[k] = data[j];
                    srcDims[k] = dims[j];
                }
            }
            (data[i], dims[i]) = LayerCall.forward(i, slot.layer, srcData, srcDims);
        }
        for (uint256 k; k < outputLayers.length; ++k) {
            uint256 j = outputLayers[k];
            if (j >= n || data[j] == 0) revert RangeInputMissing(n, j);
        }
    }

    /// @dev Evaluates every layer in order. `data[i]` and `dims[i]` are memory pointers to layer
    ///      i's output values (int256[]) and shape (uint256[]); `read[i]` says whether a later
    ///      layer takes it as input.
    function _run(int256[] calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        internal
        view
        returns (uint256[] memory data, uint256[] memory dims, bool[] memory read)
    {
        if (!_constructed || _received != _chunkCount) revert NotReady();
        uint256 n = _layers.length;
        data = new uint256[](n);
        dims = new uint256[](n);
        read = new bool[](n);
        uint256 inputLayers;
        for (uint256 i; i < n; ++i) {
            if (_layers[i].inputsCount == 0) ++inputLayers;
        }
        if (inputLayers != ranks.length) revert ModelInputCountMismatch(inputLayers, ranks.length);
        // Cursors into the model inputs: next input, its first value, its first shape entry.
        uint256[3] memory cursor;
        for (uint256 i; i < n; ++i) {
            LayerSlot memory slot = _layers[i];
            uint256 count = slot.inputsCount == 0 ? 1 : slot.inputsCount;
            uint256[] memory srcData = new uint256[](count);
            uint256[] memory srcDims = new uint256[](count);
            if (slot.inputsCount == 0) {
                (srcData[0], srcDims[0]) = _modelInput(inputs, shapes, ranks, cursor);
            } else {
                for (uint256 k; k < count; ++k) {
                    uint256 j = _inputs[slot.inputsStart + k];
                    srcData[k] = data[j];
                    srcDims[k] = dims[j];
                    read[j] = true;
                }
            }
            (data[i], dims[i]) = LayerCall.forward(i, slot.layer, srcData, srcDims);
        }
        if (cursor[1] != inputs.length || cursor[2] != shapes.length) revert ModelInputShapeMismatch();
    }

    /// @dev Copies the next model input and its shape into memory; advances `cursor`.
    function _modelInput(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256[3] memory cursor
    ) internal pure returns (uint256 values, uint256 shape) {
        uint256 at = cursor[2];
        uint256 size = _inputSize(shapes, ranks, cursor);
        uint256 from = cursor[1];
        if (from + size > inputs.length) revert ModelInputShapeMismatch();
        int256[] memory v = inputs[from:from + size];
        uint256[] memory s = shapes[at:cursor[2]];
        assembly ("memory-safe") {
            values := v
            shape := s
        }
        cursor[1] = from + size;
    }

    /// @dev The value count of the next given tensor (its shape checked against `shapes`);
    ///      advances the tensor and shape cursors (`cursor[0]`, `cursor[2]`).
    function _inputSize(uint256[] calldata shapes, uint256[] calldata ranks, uint256[3] memory cursor)
        internal
        pure
        returns (uint256 size)
    {
        uint256 rank = ranks[cursor[0]];
        uint256 at = cursor[2];
        if (at + rank > shapes.length) revert ModelInputShapeMismatch();
        size = 1;
        for (uint256 d; d < rank; ++d) {
            size *= shapes[at + d];
        }
        cursor[0] += 1;
        cursor[2] = at + rank;
    }

    /// @dev Concatenates the outputs of the layers `picked` into the ABI result of `predict`.
    function _gather(uint256[] memory data, uint256[] memory dims, uint256[] memory picked)
        internal
        pure
        returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks)
    {
        uint256 total;
        uint256 rankSum;
        outputRanks = new uint256[](picked.length);
        for (uint256 k; k < picked.length; ++k) {
            (int256[] memory v, uint256[] memory s) = _tensorAt(data[picked[k]], dims[picked[k]]);
            total += v.length;
            rankSum += s.length;
            outputRanks[k] = s.length;
        }
        outputs = new int256[](total);
        outputShapes = new uint256[](rankSum);
        uint256 at;
        uint256 sat;
        for (uint256 k; k < picked.length; ++k) {
            (int256[] memory v, uint256[] memory s) = _tensorAt(data[picked[k]], dims[picked[k]]);
            for (uint256 i; i < v.length; ++i) {
                outputs[at++] = v[i];
            }
            for (uint256 i; i < s.length; ++i) {
                outputShapes[sat++] = s[i];
            }
        }
    }

    /// @dev The arrays at two memory pointers.
    function _tensorAt(uint256 values, uint256 shape) internal pure returns (int256[] memory v, uint256[] memory s) {
        assembly ("memory-safe") {
            v := values
            s := shape
        }
    }
}
