// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerLink, WeightLayout} from "../lib/Types.sol";

/// @title IEternalModel
/// @notice The model contract of an Eternal: links its layer contracts, commits to the bundle's
///         `hashed_model` and to every weight chunk, and stores the chunks as data contracts.
interface IEternalModel {
    /// @notice A call that only the owner may make came from `caller`.
    error NotOwner(address caller);
    /// @notice `initialize` was called twice, or by someone other than the factory.
    error InitializeForbidden(address caller);
    /// @notice `constructModel` was called on a model that is already constructed.
    error AlreadyConstructed();
    /// @notice The model must be constructed first.
    error NotConstructed();
    /// @notice The weight format code is not one of `WeightFormat`.
    error UnknownWeightFormat(uint8 format);
    /// @notice The weight layout is inconsistent (chunk size, total size, chunk count).
    error InvalidWeightLayout(uint32 chunkBytes, uint32 chunkCount, uint64 totalBytes);
    /// @notice Layer `index` names an input that is not an earlier layer.
    error InputNotEarlier(uint256 index, uint16 input);
    /// @notice Layer `index` has no contract code at its address.
    error LayerNotDeployed(uint256 index, address layer);
    /// @notice Layer `index` is not a layer clone made by this model's factory (its code, behind our
    ///         clone-creation prefix, does not hash to its address as the factory's CREATE2).
    error LayerNotFromFactory(uint256 index, address layer);
    /// @notice Layer `index` is a clone bound to another model.
    error LayerOfAnotherModel(uint256 index, address layerModel);
    /// @notice Layer `index` was declared with `declared` kind but its contract is `actual`.
    error LayerKindMismatch(uint256 index, uint16 declared, uint16 actual);
    /// @notice More layers than the 16-bit input indices can address.
    error TooManyLayers(uint256 count);
    /// @notice A layer index at or past the end of the layer list.
    error LayerIndexOutOfRange(uint256 index, uint256 count);
    /// @notice Chunk `index` does not exist: the model has `count` chunks.
    error ChunkIndexOutOfRange(uint256 index, uint256 count);
    /// @notice Chunk `index` has already been stored; chunks are stored exactly once.
    error ChunkAlreadyStored(uint256 index);
    /// @notice Chunk `index` must be `expected` bytes long, got `actual`.
    error ChunkSizeMismatch(uint256 index, uint256 expected, uint256 actual);
    /// @notice The Merkle proof of chunk `index` has `actual` nodes; the tree has depth `expected`.
    error ProofLengthMismatch(uint256 index, uint256 expected, uint256 actual);
    /// @notice The content of chunk `index` is not what was committed at construction.
    error ChunkContentMismatch(uint256 index);
    /// @notice Chunk `index` is needed for a read but has not been stored yet.
    error ChunkMissing(uint256 index);
    /// @notice A read of weight bytes past the end of the blob.
    error WeightRangeOutOfBounds(uint256 start, uint256 length, uint256 totalBytes);

    /// @notice `predict` needs every chunk: the model is not ready yet.
    error NotReady();
    /// @notice The model has `expected` input layers; `actual` inputs were given.
    error ModelInputCountMismatch(uint256 expected, uint256 actual);
    /// @notice The inputs' `shapes`/`ranks` do not describe exactly the values given.
    error ModelInputShapeMismatch();
    /// @notice Layer `index` reverted during `predict`; `reason` is its revert data (a layer
    ///         error such as `IForwardLayer.InputShapeMismatch`, or `Fixed.FixedPointDomain`).
    error LayerFailed(uint256 index, bytes reason);
    /// @notice Layer `index` returned data that is not an `(int256[], uint256[])` encoding.
    error BadLayerOutput(uint256 index);
    /// @notice `predictRange`: layer `index` reads layer `input`, which is neither given nor in the
    ///         range before it (`index` = the layer count: a requested output is missing).
    error RangeInputMissing(uint256 index, uint256 input);

    /// @notice Chunk `index` was stored as the data contract `pointer`.
    event ChunkStored(uint256 indexed index, address pointer);
    /// @notice Every chunk is in: the model is complete and its weights match the commitment.
    event ModelReady(bytes32 graphHash, bytes32 weightsHash);
    /// @notice The model was constructed: layers linked, hashes and weight commitment recorded.
    event ModelConstructed(bytes32 graphHash, bytes32 weightsHash, uint256 layerCount, WeightLayout layout);

    /// @notice Sets the owner of a fresh clone. Called once, by the factory, in the creating tx.
    /// @param owner_ The account that may construct the model and store its chunks.
    function initialize(address owner_) external;

    /// @notice Links the layers, records the bundle hashes and commits to the weight chunks. Once.
    ///         Each linked layer must be a clone the factory made of the declared kind's
    ///         implementation, bound to this model (`LayerNotFromFactory`, `LayerKindMismatch`,
    ///         `LayerOfAnotherModel`).
    /// @param graphHash First half of the bundle's `hashed_model` (SHA-256 of the graph JSON).
    /// @param weightsHash Second half of `hashed_model` (SHA-256 of the weights JSON).
    /// @param layerLinks One entry per bundle layer, in bundle order (`idx` = position).
    /// @param layout Weight format, chunk geometry and Merkle root of the chunk initcode hashes.
    function constructModel(
        bytes32 graphHash,
        bytes32 weightsHash,
        LayerLink[] calldata layerLinks,
        WeightLayout calldata layout
    ) external;

    /// @notice Stores chunk `index` as a data contract (CREATE2, salt = index) if `data` is the
    ///         committed content. Chunks may arrive in any order; each exactly once.
    /// @param index Chunk position, `0 <= index < chunkCount`.
    /// @param data The chunk's bytes of the weight blob (exact length, see `chunkSize`).
    /// @param proof Merkle siblings of the chunk's leaf, from the leaf level up.
    /// @return pointer The data contract now holding `0x00 ‖ data`.
    function storeChunk(uint256 index, bytes calldata data, bytes32[] calldata proof)
        external
        returns (address pointer);

    /// @notice The account allowed to construct and upload.
    function owner() external view returns (address);
    /// @notice The factory that created this clone (and may initialize it).
    function factory() external view returns (address);
    /// @notice Whether `constructModel` has run.
    function isConstructed() external view returns (bool);
    /// @notice True exactly when the model is constructed and every chunk is stored.
    function isReady() external view returns (bool);
    /// @notice The bundle's `hashed_model` as two SHA-256 digests (graph, weights).
    function hashedModel() external view returns (bytes32 graphHash, bytes32 weightsHash);
    /// @notice Number of linked layers.
    function layerCount() external view returns (uint256);
    /// @notice Layer `index` of the graph: kind, contract and input positions.
    function layerAt(uint256 index) external view returns (LayerLink memory);
    /// @notice The whole layer list.
    function layers() external view returns (LayerLink[] memory);
    /// @notice The weight format, chunk geometry and Merkle root committed at construction.
    function weightLayout() external view returns (WeightLayout memory);
    /// @notice Number of chunks stored so far.
    function chunksReceived() external view returns (uint256);
    /// @notice Expected byte length of chunk `index`.
    function chunkSize(uint256 index) external view returns (uint256);
    /// @notice Data contract of chunk `index`, or the zero address while it is missing.
    function chunkAddress(uint256 index) external view returns (address);
    /// @notice Data contract of every chunk (zero address for missing ones).
    function chunkAddresses() external view returns (address[] memory);
    /// @notice `length` raw bytes of the weight blob starting at byte `start`, read from the chunks.
    function weightBytes(uint256 start, uint256 length) external view returns (bytes memory);

    /// @notice Runs the model on one sample and returns the outputs of its sink layers (those no
    ///         other layer reads), in layer order. Reverts with `NotReady` until every chunk is in.
    /// @dev Input k feeds the k-th InputLayer in layer order. Tensors are flat row-major Q32.32
    ///      (1.0 = 2^32), batch dimension dropped, shapes concatenated (see `IForwardLayer`).
    ///      Each layer is evaluated by a STATICCALL to its clone's `forward`; a tensor stays in
    ///      memory until its last reader has run, then its memory takes the next answer (a tensor
    ///      returned stays to the end). The result equals the Rust reference (`src/infer`) bit for bit.
    /// @param inputs The inputs concatenated.
    /// @param shapes Each input's shape, concatenated.
    /// @param ranks Each input's rank.
    /// @return outputs The outputs concatenated.
    /// @return outputShapes Each output's shape, concatenated.
    /// @return outputRanks Each output's rank.
    function predict(int256[] calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        external
        view
        returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks);

    /// @notice As `predict`, returning the outputs of the layers `outputLayers` (any layers, e.g.
    ///         the Keras model's outputs when one of them also feeds another layer).
    /// @param inputs The inputs concatenated.
    /// @param shapes Each input's shape, concatenated.
    /// @param ranks Each input's rank.
    /// @param outputLayers Positions of the layers whose outputs to return, in the order wanted.
    /// @return outputs The outputs concatenated.
    /// @return outputShapes Each output's shape, concatenated.
    /// @return outputRanks Each output's rank.
    function predictLayers(
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256[] calldata outputLayers
    ) external view returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks);

    /// @notice Runs the layers [from, to) only, given the tensors they read from outside the
    ///         range, and returns the outputs of the layers `outputLayers`: one step of a chained
    ///         inference, whose activations travel between calls off-chain.
    /// @dev Tensor k of `inputs` is the output of layer `known[k]` (a layer before `from`), or, for
    ///      an InputLayer inside the range, the model input it takes. Tensors live in memory as in
    ///      `predict` (until their last reader in the range, or to the end when returned), so a
    ///      range costs the sum of its layers plus one call.
    /// @param from First layer to run.
    /// @param to One past the last layer to run.
    /// @param known The layers whose tensors are given, in the order of `inputs`.
    /// @param inputs The given tensors concatenated (flat row-major Q32.32).
    /// @param shapes Each given tensor's shape, concatenated.
    /// @param ranks Each given tensor's rank.
    /// @param outputLayers Layers whose outputs to return (given or run), in the order wanted.
    /// @return outputs The outputs concatenated.
    /// @return outputShapes Each output's shape, concatenated.
    /// @return outputRanks Each output's rank.
    function predictRange(
        uint256 from,
        uint256 to,
        uint256[] calldata known,
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256[] calldata outputLayers
    ) external view returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks);

    /// @notice As `predictRange`, with the given tensors in the compact encoding of
    ///         `PackedValues` (one width byte, then each value in that many bytes): what chained
    ///         calls send, so that large activations fit a call's gas. The outputs come back as
    ///         `predictRange`'s: return data costs the caller of an `eth_call` no calldata gas,
    ///         and packing it would cost the call ≈ 65 gas per value.
    /// @param from First layer to run.
    /// @param to One past the last layer to run.
    /// @param known The layers whose tensors are given, in the order of `inputs`.
    /// @param inputs The given tensors' values concatenated, packed.
    /// @param shapes Each given tensor's shape, concatenated.
    /// @param ranks Each given tensor's rank.
    /// @param outputLayers Layers whose outputs to return (given or run), in the order wanted.
    /// @return outputs The outputs concatenated.
    /// @return outputShapes Each output's shape, concatenated.
    /// @return outputRanks Each output's rank.
    function predictRangePacked(
        uint256 from,
        uint256 to,
        uint256[] calldata known,
        bytes calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256[] calldata outputLayers
    ) external view returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks);

    /// @notice Layer `layer`'s `forward` with the values in packed as in `predictRangePacked`
    ///         (the answer is the layer's own): one layer in one call with the least memory in the model's
    ///         frame (the values are unpacked straight into the layer's calldata). Reverts
    ///         `LayerFailed(layer, reason)` when the layer reverts.
    /// @param layer Position of the layer.
    /// @param inputs The layer's inputs' values concatenated, packed.
    /// @param shapes Each input's shape, concatenated.
    /// @param ranks Each input's rank.
    /// @return output The output, flattened row-major.
    /// @return outputShape The output's shape.
    function forwardPacked(uint256 layer, bytes calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        external
        view
        returns (int256[] memory output, uint256[] memory outputShape);

    /// @notice Layer `layer`'s `forwardSlice` (see `IForwardLayer`) with the values in packed
    ///         as in `predictRangePacked` (the answer is the layer's own): `inputs` are the values `forwardSlice` takes
    ///         (for the window kinds only the input rows the slice reads), `shapes` the whole
    ///         inputs' shapes. Reverts `LayerFailed(layer, reason)` when the layer reverts.
    /// @param layer Position of the layer.
    /// @param inputs The values concatenated, packed.
    /// @param shapes Each input's shape, concatenated.
    /// @param ranks Each input's rank.
    /// @param from First position of the slice (a Conv2D channel block in the high 128 bits).
    /// @param count Positions in the slice (the block's channel count in the high 128 bits).
    /// @return output The slice, flattened row-major.
    /// @return outputShape The slice's shape.
    function forwardSlicePacked(
        uint256 layer,
        bytes calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks,
        uint256 from,
        uint256 count
    ) external view returns (int256[] memory output, uint256[] memory outputShape);
}
