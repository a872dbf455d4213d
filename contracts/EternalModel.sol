// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEternalModel} from "./interfaces/IEternalModel.sol";
import {ILayer} from "./interfaces/ILayer.sol";
import {CodeStore} from "./lib/CodeStore.sol";
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
            if (link.layer.code.length == 0) revert LayerNotDeployed(i, link.layer);
            address layerModel = ILayer(link.layer).model();
            if (layerModel != address(this)) revert LayerOfAnotherModel(i, layerModel);
            uint16 actual = ILayer(link.layer).layerKind();
            if (actual != link.kind) revert LayerKindMismatch(i, link.kind, actual);
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
}
