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
        Run memory r = _start(ranks);
        // The sinks: outputs no layer reads, returned.
        uint256 sinks;
        for (uint256 i; i < r.left.length; ++i) {
            if (r.left[i] == 0) ++sinks;
        }
        uint256[] memory picked = new uint256[](sinks);
        uint256 k;
        for (uint256 i; i < r.left.length; ++i) {
            if (r.left[i] == 0) {
                picked[k++] = i;
                r.left[i] = _KEEP;
            }
        }
        _run(r, inputs, shapes, ranks);
        return _gather(r.data, r.dims, picked);
    }

    /// @inheritdoc IEternalModel
    function predictLayers(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256[] calldata outputLayers
    ) external view returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks) {
        Run memory r = _start(ranks);
        uint256 count = r.left.length;
        for (uint256 k; k < outputLayers.length; ++k) {
            if (outputLayers[k] >= count) revert LayerIndexOutOfRange(outputLayers[k], count);
            r.left[outputLayers[k]] |= _KEEP;
        }
        _run(r, inputs, shapes, ranks);
        return _gather(r.data, r.dims, outputLayers);
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
        // Cursors into the given tensors: next tensor, its first value, its first shape entry.
        uint256[3] memory cursor;
        Run memory r = _rangeStart(from, to, known, ranks, outputLayers);
        for (uint256 k; k < known.length; ++k) {
            _modelInput(r, known[k], inputs, shapes, ranks, cursor);
        }
        if (cursor[1] != inputs.length || cursor[2] != shapes.length) revert ModelInputShapeMismatch();
        _rangeRun(r, from, to, outputLayers);
        return _gather(r.data, r.dims, outputLayers);
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
        uint256[3] memory cursor;
        Run memory r = _rangeStart(from, to, known, ranks, outputLayers);
        (uint256 width, uint256 total) = PackedValues.header(inputs);
        for (uint256 k; k < known.length; ++k) {
            uint256 at = cursor[2];
            uint256 size = _inputSize(shapes, ranks, cursor);
            if (cursor[1] + size > total) revert ModelInputShapeMismatch();
            uint256 values = _given(r, known[k], shapes, at, cursor[2], size);
            PackedValues.copyTo(inputs, width, cursor[1], size, values + 0x20);
            cursor[1] += size;
        }
        if (cursor[1] != total || cursor[2] != shapes.length) revert ModelInputShapeMismatch();
        _rangeRun(r, from, to, outputLayers);
        return _gather(r.data, r.dims, outputLayers);
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

    /// @dev Where a run's tensors live. From the free pointer at its start (`_open`) memory holds
    ///      one slot per tensor, in the order they came, each ending where the next begins (the
    ///      topmost at `top`):
    ///        base + 0x00  0x40 bytes of scratch
    ///        base + 0x40  the layer's answer as returned: o1 (0x40) | o2 | n1 | values… | n2 | shape…
    ///                     (a given tensor: two unused words, then the same two arrays)
    ///      With the arrays adjacent, a one-input layer's calldata is built around its input's
    ///      slot (`LayerCall.sendInPlace`: head over the scratch and the dead o1/o2, three words
    ///      over the next slot's scratch and dead o1), never copied. A slot dies when no layer still to run
    ///      reads its tensor and the call does not return it (`left` 0), or when its InputLayer
    ///      has run (a given input); after each call the dead slots on top are freed and the
    ///      answer is copied over them — the calldata there is dead by then — so a chain of
    ///      layers runs in about its largest layer's input and output, not in all of them.
    ///      Nothing else may allocate memory during a run but temporaries above `top`.
    struct Run {
        /// Layer i's output values (pointer to the length word); before an InputLayer runs, its input.
        uint256[] data;
        /// Layer i's output shape.
        uint256[] dims;
        /// Start of the slot holding `data[i]`, `dims[i]`.
        uint256[] base;
        /// Reads of layer i's output by layers still to run, plus `_KEEP` if the call returns it.
        uint256[] left;
        /// The slots in memory order: `base << 16 | layer`.
        uint256[] stack;
        uint256 depth;
        uint256 top;
    }

    /// @dev Added to `Run.left` of a tensor the call returns: never dead.
    uint256 internal constant _KEEP = 1 << 128;
    /// @dev Scratch bytes at the start of a slot (an in-place call's selector and first offset).
    uint256 internal constant _SCRATCH = 0x40;
    /// @dev Offset of the values in a slot holding a standard answer (after the scratch, o1, o2).
    uint256 internal constant _VALUES = 0x80;
    /// @dev Byte offsets of `Run`'s fields in memory, for `_step`'s and `_push`'s assembly.
    uint256 internal constant _RUN_DATA = 0x00;
    uint256 internal constant _RUN_DIMS = 0x20;
    uint256 internal constant _RUN_BASE = 0x40;
    uint256 internal constant _RUN_LEFT = 0x60;
    uint256 internal constant _RUN_STACK = 0x80;
    uint256 internal constant _RUN_DEPTH = 0xa0;
    uint256 internal constant _RUN_TOP = 0xc0;
    /// @dev Bit offsets of `LayerSlot.inputsStart` and `inputsCount` in its storage word.
    uint256 internal constant _INPUTS_START_BIT = 176;
    uint256 internal constant _INPUTS_COUNT_BIT = 208;

    /// @dev A run of the whole model: checks it is ready and is given one input per InputLayer.
    function _start(uint256[] calldata ranks) internal view returns (Run memory r) {
        if (!_constructed || _received != _chunkCount) revert NotReady();
        uint256 inputLayers;
        (r, inputLayers) = _newRun(0, _layers.length, 0);
        if (inputLayers != ranks.length) revert ModelInputCountMismatch(inputLayers, ranks.length);
    }

    /// @dev Checks a range call's bounds and given layers; a run of layers [from, to) returning
    ///      `outputLayers`, its slots opened.
    function _rangeStart(
        uint256 from,
        uint256 to,
        uint256[] calldata known,
        uint256[] calldata ranks,
        uint256[] calldata outputLayers
    ) internal view returns (Run memory r) {
        if (!_constructed || _received != _chunkCount) revert NotReady();
        uint256 n = _layers.length;
        if (from >= to || to > n) revert LayerIndexOutOfRange(to, n);
        if (known.length != ranks.length) revert ModelInputCountMismatch(known.length, ranks.length);
        for (uint256 k; k < known.length; ++k) {
            uint256 j = known[k];
            if (j >= to || (j >= from && _layers[j].inputsCount != 0)) revert LayerIndexOutOfRange(j, to);
        }
        (r,) = _newRun(from, to, known.length);
        for (uint256 k; k < outputLayers.length; ++k) {
            if (outputLayers[k] < n) r.left[outputLayers[k]] |= _KEEP;
        }
        _open(r);
    }

    /// @dev A run of layers [from, to) given `given` tensors: `left` counts the reads of each
    ///      output by those layers; also returns how many of them are InputLayers.
    function _newRun(uint256 from, uint256 to, uint256 given)
        internal
        view
        returns (Run memory r, uint256 inputLayers)
    {
        uint256 n = _layers.length;
        r.data = new uint256[](n);
        r.dims = new uint256[](n);
        r.base = new uint256[](n);
        r.left = new uint256[](n);
        uint256[] memory left = r.left;
        for (uint256 i = from; i < to; ++i) {
            (, uint256 start, uint256 count) = _link(i);
            if (count == 0) ++inputLayers;
            // ++left[_input(k)] for each input k, in assembly: every input is below i < n, the
            // array's length (`constructModel`); a count stays below 2^16 layers.
            assembly ("memory-safe") {
                mstore(0, _inputs.slot)
                let inputs := keccak256(0, 0x20)
                for { let k := start } lt(k, add(start, count)) { k := add(k, 1) } {
                    let j := and(shr(shl(4, and(k, 15)), sload(add(inputs, shr(4, k)))), 0xffff)
                    let p := add(left, shl(5, add(j, 1)))
                    mstore(p, add(mload(p), 1))
                }
            }
        }
        r.stack = new uint256[](to - from + inputLayers + given);
    }

    /// @dev Starts the slots at the free pointer (after everything the call keeps besides them).
    function _open(Run memory r) internal pure {
        uint256 top;
        assembly ("memory-safe") {
            top := mload(0x40)
        }
        r.top = top;
    }

    /// @dev Runs layers [from, to); every layer in `outputLayers` must then have an output.
    function _rangeRun(Run memory r, uint256 from, uint256 to, uint256[] calldata outputLayers) internal view {
        for (uint256 i = from; i < to; ++i) {
            _step(r, i);
        }
        uint256 n = r.data.length;
        for (uint256 k; k < outputLayers.length; ++k) {
            uint256 j = outputLayers[k];
            if (j >= n || r.data[j] == 0) revert RangeInputMissing(n, j);
        }
    }

    /// @dev Evaluates every layer in order, each InputLayer on the next model input.
    function _run(Run memory r, int256[] calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        internal
        view
    {
        // Cursors into the model inputs: next input, its first value, its first shape entry.
        uint256[3] memory cursor;
        _open(r);
        uint256 n = r.data.length;
        for (uint256 i; i < n; ++i) {
            (,, uint256 count) = _link(i);
            if (count == 0) _modelInput(r, i, inputs, shapes, ranks, cursor);
            _step(r, i);
        }
        if (cursor[1] != inputs.length || cursor[2] != shapes.length) revert ModelInputShapeMismatch();
    }

    /// @dev Calls layer i on its inputs' tensors (an InputLayer: its given input), then frees the
    ///      dead slots on top and keeps its answer in a slot there. In assembly, the `Run` read by
    ///      its field offsets (`_RUN_*`): with Solidity's checked array accesses (a helper call
    ///      each) a step cost ≈ 4.4k gas besides the call, ≈ 35k a fashion_mnist predict. No index
    ///      check is needed: every input j of layer i is below i (`constructModel`), i below the
    ///      layer count (the arrays' length), the slots on the stack fewer than its length, and
    ///      `left[j]` counts this very read (`_newRun`), so the decrement never wraps.
    function _step(Run memory r, uint256 i) internal view {
        (address layer, uint256 start, uint256 count) = _link(i);
        uint256[] memory srcData;
        uint256[] memory srcDims;
        uint256 j;
        bool inPlace;
        bytes4 missing = RangeInputMissing.selector;
        assembly ("memory-safe") {
            // k arrays of the inputs' pointers (one, an InputLayer's own given tensor, if none).
            let k := add(count, iszero(count))
            srcData := mload(0x40)
            srcDims := add(srcData, shl(5, add(k, 1)))
            mstore(0x40, add(srcDims, shl(5, add(k, 1))))
            mstore(srcData, k)
            mstore(srcDims, k)
            let data := mload(add(r, _RUN_DATA))
            let dims := mload(add(r, _RUN_DIMS))
            let left := mload(add(r, _RUN_LEFT))
            mstore(0, _inputs.slot)
            let inputs := keccak256(0, 0x20)
            j := i
            for { let m := 0 } lt(m, k) { m := add(m, 1) } {
                if count {
                    // `_input(start + m)`, then one read fewer left.
                    let at := add(start, m)
                    j := and(shr(shl(4, and(at, 15)), sload(add(inputs, shr(4, at)))), 0xffff)
                    let p := add(left, shl(5, add(j, 1)))
                    mstore(p, sub(mload(p), 1))
                }
                let values := mload(add(data, shl(5, add(j, 1))))
                if iszero(values) {
                    let p := mload(0x40)
                    mstore(p, missing)
                    mstore(add(p, 0x04), i)
                    mstore(add(p, 0x24), j)
                    revert(p, 0x44)
                }
                mstore(add(srcData, shl(5, add(m, 1))), values)
                mstore(add(srcDims, shl(5, add(m, 1))), mload(add(dims, shl(5, add(j, 1)))))
            }
            // One input whose arrays lie where `LayerCall.sendInPlace` needs them: the values at
            // `_VALUES` in its slot (so the 0x64 bytes before them are the slot's scratch and dead
            // head) and the shape right after them (so the three words after it are the next
            // slot's scratch and dead o1, or free memory).
            if eq(k, 1) {
                let values := mload(add(srcData, 0x20))
                inPlace := and(
                    eq(values, add(mload(add(mload(add(r, _RUN_BASE)), shl(5, add(j, 1)))), _VALUES)),
                    eq(mload(add(srcDims, 0x20)), add(add(values, 0x20), shl(5, mload(values))))
                )
            }
        }
        if (inPlace) {
            uint256 input;
            uint256 inputShape;
            assembly ("memory-safe") {
                input := mload(add(srcData, 0x20))
                inputShape := mload(add(srcDims, 0x20))
            }
            LayerCall.sendInPlace(i, layer, input, inputShape);
        } else {
            LayerCall.sendCopy(i, layer, srcData, srcDims);
        }

        uint256 depth;
        uint256 top;
        assembly ("memory-safe") {
            let stack := mload(add(r, _RUN_STACK))
            let base := mload(add(r, _RUN_BASE))
            let left := mload(add(r, _RUN_LEFT))
            depth := mload(add(r, _RUN_DEPTH))
            top := mload(add(r, _RUN_TOP))
            for {} depth {} {
                // The slot below: stack[depth − 1].
                let e := mload(add(stack, shl(5, depth)))
                let t := and(e, 0xffff)
                let b := shr(16, e)
                // Live: read later or returned, and still the tensor of its layer (an InputLayer's
                // given input is not, once it has run: layer i is that InputLayer, or ran before).
                let o := shl(5, add(t, 1))
                if and(iszero(eq(t, i)), and(eq(b, mload(add(base, o))), iszero(iszero(mload(add(left, o)))))) {
                    break
                }
                depth := sub(depth, 1)
                top := b
            }
        }
        (uint256 values, uint256 shape, uint256 end) = LayerCall.answer(i, top + _SCRATCH);
        _push(r, i, values, shape, depth, top, end);
    }

    /// @dev Layer i's `LayerSlot` (i < `_layers.length`), read in one SLOAD: Solidity packs its
    ///      fields from the low-order end of the word — layer (160 bits), kind (16), inputsStart
    ///      (32), inputsCount (16).
    function _link(uint256 i) internal view returns (address layer, uint256 start, uint256 count) {
        assembly ("memory-safe") {
            mstore(0, _layers.slot)
            let word := sload(add(keccak256(0, 0x20), i))
            layer := and(word, 0xffffffffffffffffffffffffffffffffffffffff)
            start := and(shr(_INPUTS_START_BIT, word), 0xffffffff)
            count := and(shr(_INPUTS_COUNT_BIT, word), 0xffff)
        }
    }

    /// @dev `_inputs[k]` (k < `_inputs.length`, as every layer's window is): sixteen uint16 a
    ///      slot, from the low-order end.
    function _input(uint256 k) internal view returns (uint256 input) {
        assembly ("memory-safe") {
            mstore(0, _inputs.slot)
            let word := sload(add(keccak256(0, 0x20), shr(4, k)))
            input := and(shr(shl(4, and(k, 15)), word), 0xffff)
        }
    }

    /// @dev Records tensor `j` (arrays at `values`, `shape`) in the slot [base, end), on top of
    ///      the `depth` slots below it.
    function _push(Run memory r, uint256 j, uint256 values, uint256 shape, uint256 depth, uint256 base, uint256 end)
        internal
        pure
    {
        // In assembly (see `_step`): j is below the layer count, depth below the stack's length.
        assembly ("memory-safe") {
            let o := shl(5, add(j, 1))
            mstore(add(mload(add(r, _RUN_DATA)), o), values)
            mstore(add(mload(add(r, _RUN_DIMS)), o), shape)
            mstore(add(mload(add(r, _RUN_BASE)), o), base)
            mstore(add(mload(add(r, _RUN_STACK)), shl(5, add(depth, 1))), or(shl(16, base), j))
            mstore(add(r, _RUN_DEPTH), add(depth, 1))
            mstore(add(r, _RUN_TOP), end)
            mstore(0x40, end)
        }
    }

    /// @dev A new slot on top for given tensor `j` of `size` values and the shape `shapes[at:end]`
    ///      (copied); returns its values pointer, for the caller to fill.
    function _given(Run memory r, uint256 j, uint256[] calldata shapes, uint256 at, uint256 end, uint256 size)
        internal
        pure
        returns (uint256 values)
    {
        uint256 base = r.top;
        uint256 shape;
        uint256 slotEnd;
        assembly ("memory-safe") {
            values := add(base, _VALUES)
            mstore(values, size)
            shape := add(add(values, 0x20), shl(5, size))
            let rank := sub(end, at)
            mstore(shape, rank)
            calldatacopy(add(shape, 0x20), add(shapes.offset, shl(5, at)), shl(5, rank))
            slotEnd := add(add(shape, 0x20), shl(5, rank))
        }
        _push(r, j, values, shape, r.depth, base, slotEnd);
    }

    /// @dev Copies the next model input and its shape into a slot for layer `j`; advances `cursor`.
    function _modelInput(
        Run memory r,
        uint256 j,
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256[3] memory cursor
    ) internal pure {
        uint256 at = cursor[2];
        uint256 size = _inputSize(shapes, ranks, cursor);
        uint256 from = cursor[1];
        if (from + size > inputs.length) revert ModelInputShapeMismatch();
        uint256 values = _given(r, j, shapes, at, cursor[2], size);
        assembly ("memory-safe") {
            calldatacopy(add(values, 0x20), add(inputs.offset, shl(5, from)), shl(5, size))
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

    /// @dev Returns (ends the call with) the ABI result of `predict`: the outputs of the layers
    ///      `picked` concatenated, their shapes concatenated, and their ranks. Written in place at
    ///      the free pointer with one MCOPY per array, not through Solidity's copy loops and
    ///      encoder (≈ 8k gas for fashion_mnist's 10 outputs). Every picked layer has an output
    ///      (the callers check it, or ran every layer).
    ///      Returned: 0x60 | o2 | o3 | total, values… | rankSum, shapes… | count, ranks…
    function _gather(uint256[] memory data, uint256[] memory dims, uint256[] memory picked)
        internal
        pure
        returns (int256[] memory, uint256[] memory, uint256[] memory)
    {
        assembly ("memory-safe") {
            let count := mload(picked)
            let total := 0
            let rankSum := 0
            for { let k := 0 } lt(k, count) { k := add(k, 1) } {
                let o := shl(5, add(mload(add(picked, shl(5, add(k, 1)))), 1))
                total := add(total, mload(mload(add(data, o))))
                rankSum := add(rankSum, mload(mload(add(dims, o))))
            }
            let p := mload(0x40)
            let o2 := add(0x80, shl(5, total))
            let o3 := add(add(o2, 0x20), shl(5, rankSum))
            mstore(p, 0x60)
            mstore(add(p, 0x20), o2)
            mstore(add(p, 0x40), o3)
            mstore(add(p, 0x60), total)
            mstore(add(p, o2), rankSum)
            mstore(add(p, o3), count)
            let v := add(p, 0x80)
            let s := add(add(p, o2), 0x20)
            let q := add(add(p, o3), 0x20)
            for { let k := 0 } lt(k, count) { k := add(k, 1) } {
                let o := shl(5, add(mload(add(picked, shl(5, add(k, 1)))), 1))
                let values := mload(add(data, o))
                let shape := mload(add(dims, o))
                let len := shl(5, mload(values))
                mcopy(v, add(values, 0x20), len)
                v := add(v, len)
                let rank := mload(shape)
                len := shl(5, rank)
                mcopy(s, add(shape, 0x20), len)
                s := add(s, len)
                mstore(q, rank)
                q := add(q, 0x20)
            }
            return(p, sub(q, p))
        }
    }
}
