// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEternalModel} from "./interfaces/IEternalModel.sol";
import {IForwardLayer} from "./interfaces/IForwardLayer.sol";
import {ISliceableLayer, WHOLE_REST} from "./interfaces/ISliceableLayer.sol";
import {LayerCall} from "./lib/LayerCall.sol";
import {LayerKind, LayerLink} from "./lib/Types.sol";

/// @dev The output channels of a Conv2D clone (`Conv2DLayer.config`, its static tuple).
interface IConv2DFilters {
    function config()
        external
        view
        returns (uint8, uint256, uint256 filters, uint256[2] memory, uint256[2] memory, uint8, bool);
}

/// @title EternalJobs
/// @notice Inference of any size as transactions: `startJob` takes a model and its input,
///         `step` runs the next layers (anyone may send it and pay for it), `result` reads the
///         outputs once the last layer ran. Each step is one transaction of the caller's size, so
///         a model whose `predict` needs far more than one transaction's gas (2^24 since
///         EIP-7825) still runs on chain, one group of layers per transaction.
/// @dev One per chain, deployed through `EternalFactory.deployImplementation` (CREATE2, salt 0),
///      so its address is a function of its code. It keeps no activation in storage: between
///      steps the live tensors travel as the step's calldata (the *state*, packed int64, see
///      below) and the job stores only a commitment: keccak256 of the state's *digest*, where
///      every entry of rank ≥ 2 is its header and the keccak256 of each row (first axis). A
///      step sends each tensor it reads open and every other one of rank ≥ 2 by its row hashes
///      (`HASHED_TAG`), so its calldata stays within what transaction pools accept (128 KiB);
///      a step whose state's digest does not hash to the commitment is refused, so nobody can
///      feed a job forged activations; a step carries its index, so a step can never run twice.
///
///      State encoding (bytes, big-endian, no padding), one entry per live tensor, in order:
///        tag    4 bytes  layer index whose output this is; `INPUT_TAG | i` for the model input
///                        that the InputLayer at index i takes
///        rank   1 byte
///        dims   rank × 4 bytes
///        values size × 8 bytes, each a Q32.32 activation as int64 two's complement
///      After the layers `[0, cursor)` ran, the live tensors are those a layer at or after
///      `cursor` reads, plus the outputs no layer reads (the model's outputs, as `predict` returns
///      them); layer outputs are appended in layer order, so when the job is done the state is
///      exactly the outputs, in layer order. The state after each cursor is a function of the
///      model and the input only, not of how steps group layers, so any driver (or the Rust
///      reference) can compute every state in advance and sign every step up front.
///
///      Slices: a layer too big for one transaction runs over several `stepSlice`s, each
///      computing the next output positions of its first axis (rows of a convolution, a pooling
///      or a row-local layer, units of a Dense on a vector) through the layer's `forwardSlice`,
///      given only the input rows the slice reads (of every input: a merge reads the same rows
///      of each; an InputLayer, rows of the model input it takes). Meanwhile the state ends with one more entry, tagged
///      `PARTIAL_TAG | layer`, whose first dimension is the positions done so far and whose
///      values are theirs. When the last slice is in, the entry is the layer's output (tag
///      `layer`) and the inputs nobody reads any more are dropped: the state is then exactly the
///      one a whole-layer `step` would commit to. A slice step states the position it starts
///      at, so a slice sent out of order is refused (`SliceOutOfOrder`).
///
///      Channel blocks: a Conv2D whose one output row is too big for one transaction runs each
///      row over several `stepSlice`s of one row, each computing a block of its output channels
///      (`from`/`count` carry the first channel and the channel count in their high 128 bits;
///      the contract reads the layer's filter count from its config). Meanwhile the state ends
///      with one more entry, tagged `PARTIAL_TAG | BLOCK_TAG | layer`, shape `[1, ow, done]`:
///      the row's first `done` channels, always sent open. A block must start at `done`; the
///      block that reaches the filter count turns the row into a row of the partial entry, as
///      a one-row slice would. So the row's channels are committed like every value.
///
///      Start: `startJob` packs the inputs given as int256 words; `startJobState` takes the
///      initial state itself, whose entries of rank ≥ 2 may be carried by their row hashes, so
///      an input too big for one transaction starts a job and the steps carry its rows.
///
///      Row parts: a Dense on a vector too wide for one step even one unit at a time runs a
///      block of units over several `stepRows`, each reading a range of the input's rows (the
///      kernel's rows) and carrying the units' exact partial sums Σ x·q (int256, as the step's
///      `carried` calldata) to the next. Between the parts the state is unchanged and the job
///      commits to keccak256(abi.encode(state commitment, keccak256 of the sums, the next
///      part's `from`)), so forged sums are refused like forged activations; the last part's
///      units are appended as a slice's are. A SimpleRNN, LSTM or GRU runs the same way by
///      time steps (the steps in the high bits), carrying h (and an LSTM's cell state) where a
///      Dense carries sums; a layer returning its sequence appends each part's steps as a
///      slice does, so the commitment is then the grown state's.
contract EternalJobs {
    /// @dev The kinds `stepRows` runs (bit `kind`): Dense by input rows, SimpleRNN, LSTM, GRU and
    ///      Bidirectional by time steps.
    uint256 internal constant _PARTED_KINDS = (1 << LayerKind.DENSE) | (1 << LayerKind.SIMPLE_RNN)
        | (1 << LayerKind.LSTM) | (1 << LayerKind.GRU) | (1 << LayerKind.BIDIRECTIONAL);
    /// @dev Tag bit of a model input waiting for its InputLayer.
    uint256 internal constant INPUT_TAG = 1 << 31;
    /// @dev Tag bit of a layer output computed in part (see the slices in the contract's notes).
    uint256 internal constant PARTIAL_TAG = 1 << 30;
    /// @dev Tag bit of an entry carried by row hashes (see the contract's notes): after its dims,
    ///      `first u32 ‖ last u32`, then the keccak256 of each row before `first`, the values of
    ///      rows [first, last), the keccak256 of each row from `last` on. Rank ≥ 2 only.
    uint256 internal constant HASHED_TAG = 1 << 29;
    /// @dev Tag bit (with `PARTIAL_TAG`) of the output row of a Conv2D computed in blocks of its
    ///      output channels: `[1, ow, done]`, the row's first `done` channels (see the contract's
    ///      notes). Always the state's last entry, always sent open.
    uint256 internal constant BLOCK_TAG = 1 << 28;
    /// @dev Bytes before an entry's dims: tag (4) and rank (1).
    uint256 internal constant _ENTRY_HEAD = 5;
    /// @dev No tensor a state describes has more values (bounds the header arithmetic).
    uint256 internal constant _MAX_SIZE = 1 << 40;
    /// @dev A finished job keeps its outputs (the final state) in storage up to this size;
    ///      above it only their hash (a 32-byte word of storage costs ~22k gas: 8 KiB ≈ 5.7M).
    uint256 public constant MAX_STORED_RESULT = 8192;

    /// @dev Slot 0 of a job: model, cursor (next layer to run), steps done, layer count.
    ///      Slot 1: keccak256 of the state the next step must present (the result's hash once done).
    struct Job {
        address model;
        uint32 cursor;
        uint32 steps;
        uint32 layerCount;
        bytes32 stateHash;
    }

    /// @dev A live tensor while a step runs: memory pointers to its values and shape arrays.
    struct Tensor {
        uint256 tag;
        int256[] values;
        uint256[] shape;
    }

    /// @notice What a job is at, as `job` returns it.
    struct JobInfo {
        address model;
        uint256 cursor;
        uint256 steps;
        uint256 layerCount;
        bytes32 stateHash;
        bool done;
    }

    mapping(uint256 => Job) internal _jobs;
    mapping(uint256 => bytes) internal _results;

    /// @notice No job has id `jobId`.
    error UnknownJob(uint256 jobId);
    /// @notice Job `jobId` already exists (the same starter used the same salt).
    error JobExists(uint256 jobId);
    /// @notice The model is not constructed with every weight chunk stored.
    error ModelNotReady(address model);
    /// @notice The model has `expected` input layers; `actual` inputs were given.
    error ModelInputCountMismatch(uint256 expected, uint256 actual);
    /// @notice The inputs' `shapes`/`ranks` do not describe exactly the values given.
    error ModelInputShapeMismatch();
    /// @notice Job `jobId` has run every layer; there is no next step.
    error JobAlreadyDone(uint256 jobId);
    /// @notice Job `jobId` is not done: `result` has nothing to return yet.
    error JobNotDone(uint256 jobId);
    /// @notice Job `jobId`'s next step is `expected`; step `given` was sent (a step runs once).
    error StepOutOfOrder(uint256 jobId, uint256 expected, uint256 given);
    /// @notice The state sent hashes to `given`; the job committed to `expected`.
    error StateMismatch(uint256 jobId, bytes32 expected, bytes32 given);
    /// @notice A step of `count` layers from `cursor` does not fit a model of `layerCount` layers.
    error BadStepSize(uint256 cursor, uint256 count, uint256 layerCount);
    /// @notice The state bytes are not entries as documented (the entry at byte `offset`).
    error MalformedState(uint256 offset);
    /// @notice Layer `layer` needs the tensor tagged `tag`, which the state does not hold.
    error LiveTensorMissing(uint256 layer, uint256 tag);
    /// @notice Value `index` of the tensor tagged `tag` does not fit the state's int64.
    error ActivationOutOfRange(uint256 tag, uint256 index);
    /// @notice A tensor of rank or dimension beyond the state's one-byte rank / four-byte dims.
    error ShapeOutOfRange(uint256 tag);
    /// @notice The finished job's outputs were larger than `MAX_STORED_RESULT`: only their hash
    ///         is kept; `checkResult` tells whether given outputs are the job's.
    error ResultNotStored(uint256 jobId, uint256 bytesLength);
    /// @notice Layer `index` reverted; `reason` is its revert data.
    error LayerFailed(uint256 index, bytes reason);
    /// @notice Layer `index` returned data that is not an `(int256[], uint256[])` encoding.
    error BadLayerOutput(uint256 index);
    /// @notice Layer `layer` cannot run in slices in a job (an input of rank 0 or of no rows,
    ///         rows outside an input, or an output whose first axis is not the slice's).
    error NotSliceable(uint256 layer);
    /// @notice Job `jobId`'s current layer is done up to position `expected`; a slice from
    ///         `given` was sent.
    error SliceOutOfOrder(uint256 jobId, uint256 expected, uint256 given);
    /// @notice Layer `layer` is part-way through its slices: only `stepSlice` continues it.
    error SliceInProgress(uint256 layer);
    /// @notice Layer `layer` reads rows [first, last) of the tensor tagged `tag`, which the state
    ///         sent carries by their hashes only: send those rows' values.
    error RowsNotCarried(uint256 layer, uint256 tag, uint256 first, uint256 last);

    /// @notice Job `jobId` on `model` was started by `starter`; `state` is its initial state
    ///         (the input, packed), so anyone can drive the job from the logs alone.
    event JobStarted(
        uint256 indexed jobId, address indexed model, address indexed starter, uint256 layerCount, bytes state
    );
    /// @notice Step `stepIndex` of job `jobId` ran the layers up to `cursor` (exclusive), paid by
    ///         `payer`; the next step must present a state hashing to `stateHash`.
    event JobStepped(uint256 indexed jobId, uint256 stepIndex, uint256 cursor, bytes32 stateHash, address payer);
    /// @notice Step `stepIndex` of job `jobId` ran positions up to `done` (exclusive) of the
    ///         `length` of layer `layer`'s first output axis.
    event JobSliced(uint256 indexed jobId, uint256 stepIndex, uint256 layer, uint256 done, uint256 length);
    /// @notice Job `jobId` ran its last layer in `steps` steps; its outputs (the final state)
    ///         hash to `resultHash` and are stored when `stored`.
    event JobDone(uint256 indexed jobId, uint256 steps, bytes32 resultHash, bool stored);

    // ------------------------------------------------------------------ jobs

    /// @notice The id of the job `starter` starts with `salt`: known before the start is mined.
    function jobIdOf(address starter, bytes32 salt) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(starter, salt)));
    }

    /// @notice Starts a job: `model` will run on `inputs` (the arguments of `predict`).
    /// @dev Stores two slots (model and cursor; the state commitment). The input is not stored:
    ///      it is the first step's calldata and this call's `JobStarted` log.
    /// @param model A ready `EternalModel`.
    /// @param salt Any value; the job id is `jobIdOf(msg.sender, salt)`.
    /// @param inputs Flat Q32.32 values of every input (input k feeds the k-th InputLayer).
    /// @param shapes Each input's shape, concatenated.
    /// @param ranks Each input's rank.
    /// @return jobId The new job's id.
    function startJob(
        address model,
        bytes32 salt,
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks
    ) external returns (uint256 jobId) {
        LayerLink[] memory links;
        (jobId, links) = _newJob(model, salt);
        bytes memory state = _initialState(links, inputs, shapes, ranks);
        _start(jobId, model, links.length, _commitment(false, _memoryOffset(state), state.length), state);
    }

    /// @notice Starts a job from its initial state (see the contract's notes): one entry per
    ///         InputLayer, in layer order, tagged `INPUT_TAG | index`, each open (8 bytes a
    ///         value, a quarter of `startJob`'s int256 words) or carried by its row hashes
    ///         (`HASHED_TAG`, 32 bytes a row), so an input of any size starts a job: the steps
    ///         that read it carry its rows, checked against the commitment as any other. The
    ///         `JobStarted` log holds the state as given (rows carried by hashes are not in it).
    /// @param model A ready `EternalModel`.
    /// @param salt Any value; the job id is `jobIdOf(msg.sender, salt)`.
    /// @param state The packed model inputs.
    /// @return jobId The new job's id.
    function startJobState(address model, bytes32 salt, bytes calldata state) external returns (uint256 jobId) {
        LayerLink[] memory links;
        (jobId, links) = _newJob(model, salt);
        uint256 expected;
        uint256 given;
        uint256 at;
        for (uint256 i; i < links.length; ++i) {
            if (links[i].inputs.length != 0) continue;
            ++expected;
            if (at < state.length) {
                (uint256 tag,,, uint256 nx) = _entry(state, at);
                if (tag & ~HASHED_TAG != INPUT_TAG | i) revert MalformedState(at);
                (at, given) = (nx, given + 1);
            }
        }
        if (given != expected || at != state.length) revert ModelInputCountMismatch(expected, given);
        _start(jobId, model, links.length, _commitment(true, _calldataOffset(state), state.length), state);
    }

    /// @dev A new job's id for the caller and `salt`, and the ready model's layers.
    function _newJob(address model, bytes32 salt) internal view returns (uint256 jobId, LayerLink[] memory links) {
        jobId = jobIdOf(msg.sender, salt);
        if (_jobs[jobId].model != address(0)) revert JobExists(jobId);
        if (!IEternalModel(model).isReady()) revert ModelNotReady(model);
        links = IEternalModel(model).layers();
    }

    /// @dev Stores a new job committed to `stateHash` and logs its start.
    function _start(uint256 jobId, address model, uint256 layerCount, bytes32 stateHash, bytes memory state) internal {
        _jobs[jobId] =
            Job({model: model, cursor: 0, steps: 0, layerCount: uint32(layerCount), stateHash: stateHash});
        emit JobStarted(jobId, model, msg.sender, layerCount, state);
    }

    /// @notice Runs the next `count` layers of job `jobId`. Anyone may call it.
    /// @param jobId The job.
    /// @param stepIndex The job's next step (`job(jobId).steps`): a step is accepted once.
    /// @param state The live tensors after the layers run so far; must hash to the commitment.
    /// @param count Layers to run in this step (≥ 1).
    /// @return done Whether this step ran the model's last layer.
    function step(uint256 jobId, uint256 stepIndex, bytes calldata state, uint256 count)
        external
        returns (bool done)
    {
        Job storage job_ = _jobs[jobId];
        Job memory j = job_;
        if (j.model == address(0)) revert UnknownJob(jobId);
        if (stepIndex != j.steps) revert StepOutOfOrder(jobId, j.steps, stepIndex);
        if (j.cursor == j.layerCount) revert JobAlreadyDone(jobId);
        bytes32 given = _commitment(true, _calldataOffset(state), state.length);
        if (given != j.stateHash) revert StateMismatch(jobId, j.stateHash, given);

        bytes memory next = _advance(IEternalModel(j.model).layers(), j.cursor, state, count);
        bytes32 nextHash = _commitment(false, _memoryOffset(next), next.length);
        uint32 cursor = uint32(j.cursor + count);
        job_.cursor = cursor;
        job_.steps = j.steps + 1;
        job_.stateHash = nextHash;
        emit JobStepped(jobId, stepIndex, cursor, nextHash, msg.sender);
        done = cursor == j.layerCount;
        if (done) {
            bool stored = next.length <= MAX_STORED_RESULT && !_anyHashed(next);
            if (stored) _results[jobId] = next;
            emit JobDone(jobId, stepIndex + 1, nextHash, stored);
        }
    }

    /// @notice Runs output positions [from, from + count) of the first axis of job `jobId`'s
    ///         next layer (see the slices in the contract's notes). Anyone may call it.
    /// @param jobId The job.
    /// @param stepIndex The job's next step (`job(jobId).steps`): a step is accepted once.
    /// @param state The live tensors so far (with the layer's partial output, after its first
    ///        slice); must hash to the commitment.
    /// @param from The first position: the positions done so far (0 for the first slice);
    ///        a Conv2D's channel block: its first channel in the high 128 bits.
    /// @param count Positions to run (≥ 1); a channel block: one row, its channel count in the
    ///        high 128 bits (a Dense's row parts go through `stepRows`, with their sums).
    /// @return done Whether this step ran the model's last layer to its end.
    function stepSlice(uint256 jobId, uint256 stepIndex, bytes calldata state, uint256 from, uint256 count)
        external
        returns (bool done)
    {
        return _stepPart(jobId, stepIndex, state, Rows(0, 0, new int256[](0)), from, count);
    }

    /// @notice Where job `jobId` is.
    function job(uint256 jobId) external view returns (JobInfo memory info) {
        Job memory j = _jobs[jobId];
        if (j.model == address(0)) revert UnknownJob(jobId);
        return JobInfo({
            model: j.model,
            cursor: j.cursor,
            steps: j.steps,
            layerCount: j.layerCount,
            stateHash: j.stateHash,
            done: j.cursor == j.layerCount
        });
    }

    /// @notice Whether job `jobId` has run its last layer.
    function isDone(uint256 jobId) external view returns (bool) {
        Job memory j = _jobs[jobId];
        return j.model != address(0) && j.cursor == j.layerCount;
    }

    /// @notice The outputs of finished job `jobId`, as `predict` returns them (sink layers in
    ///         layer order). Reverts `JobNotDone` before, `ResultNotStored` for outputs over
    ///         `MAX_STORED_RESULT` bytes (then use `checkResult`).
    /// @dev `this.unpack` of the stored state, its answer returned as it comes (the ABI encoding
    ///      `unpack` returns is this function's own): decoding and re-encoding three arrays only
    ///      to return them cost code size (≈ 340 bytes) and gas.
    function result(uint256 jobId)
        external
        view
        returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks)
    {
        bytes memory call_ = abi.encodeCall(this.unpack, (resultState(jobId)));
        assembly ("memory-safe") {
            let ok := staticcall(gas(), address(), add(call_, 0x20), mload(call_), 0, 0)
            let p := mload(0x40)
            returndatacopy(p, 0, returndatasize())
            if iszero(ok) { revert(p, returndatasize()) }
            // The named results (their names are the ABI's) are the answer's arrays, returned as
            // they come: never built here.
            pop(outputs)
            pop(outputShapes)
            pop(outputRanks)
            return(p, returndatasize())
        }
    }

    /// @notice The finished job's outputs as a packed state (see the contract's notes).
    function resultState(uint256 jobId) public view returns (bytes memory packed) {
        Job memory j = _jobs[jobId];
        if (j.model == address(0)) revert UnknownJob(jobId);
        if (j.cursor != j.layerCount) revert JobNotDone(jobId);
        packed = _results[jobId];
        if (packed.length == 0) revert ResultNotStored(jobId, packed.length);
    }

    /// @notice Whether `packed` (a packed state) is the result of finished job `jobId`.
    function checkResult(uint256 jobId, bytes calldata packed) external view returns (bool) {
        Job memory j = _jobs[jobId];
        return j.model != address(0) && j.cursor == j.layerCount
            && _commitment(true, _calldataOffset(packed), packed.length) == j.stateHash;
    }

    /// @notice What a job commits to for `state` (open, or with entries carried by row hashes):
    ///         keccak256 of its digest — every entry of rank ≥ 2 as its header and the keccak256
    ///         of each row (first axis), every other entry as it is.
    function commitment(bytes calldata state) external pure returns (bytes32) {
        return _commitment(true, _calldataOffset(state), state.length);
    }

    // ------------------------------------------------------------------ pure steps (for drivers)

    /// @notice The initial state of a job of `model` on these inputs (what `startJob` commits to).
    function initialState(address model, int256[] calldata inputs, uint256[] calldata shapes, uint256[] calldata ranks)
        external
        view
        returns (bytes memory)
    {
        return _initialState(IEternalModel(model).layers(), inputs, shapes, ranks);
    }

    /// @notice The state after running layers `[cursor, cursor + count)` of `model` on `state`:
    ///         exactly what `step` computes and commits to, without a job. Drivers `eth_call` it
    ///         to know every state in advance, and `eth_estimateGas` it to size the steps.
    function advance(address model, uint256 cursor, bytes calldata state, uint256 count)
        external
        view
        returns (bytes memory)
    {
        return _advance(IEternalModel(model).layers(), cursor, state, count);
    }

    /// @notice What `stepSlice` computes on `state` for positions [from, from + count) of layer
    ///         `cursor` of `model`, without a job: the next state's hash, the positions done
    ///         after it and the axis length, and the slice's own values (one packed entry,
    ///         tagged `cursor`, of the slice's shape). The next state is the given one with the
    ///         slice appended to the partial entry (see the contract's notes), so a driver
    ///         rebuilds it from these bytes and checks it against `nextHash`; its gas is the
    ///         step's gas less the job's storage, which drivers `eth_estimateGas` to size steps.
    function advanceSlice(address model, uint256 cursor, bytes calldata state, uint256 from, uint256 count)
        external
        view
        returns (bytes32 nextHash, uint256 done, uint256 length, bytes memory part)
    {
        (nextHash, done, length, part,) = _advancePart(model, cursor, state, Rows(0, 0, new int256[](0)), from, count);
    }

    /// @notice Runs a row part of job `jobId`'s next layer (see the row parts in the
    ///         contract's notes): a Dense on a vector, units [from, from + count) on input rows
    ///         [from >> 128, (from >> 128) + (count >> 128)) — the rows in the high 128 bits of
    ///         `from` and `count`; a SimpleRNN, LSTM or GRU, those time steps (the low bits the
    ///         same steps when it returns its sequence, else [0, units)). Anyone may call it.
    /// @param jobId The job.
    /// @param stepIndex The job's next step.
    /// @param state The live tensors (unchanged by the parts before the last); with `carried`,
    ///        must hash to the commitment.
    /// @param carried The units' partial sums (a recurrent layer's carry) from the parts before
    ///        (none for the first part).
    /// @param from Units done so far (low 128 bits), input rows (time steps) done so far (high).
    /// @param count Units of the block (low), input rows (time steps) of this part (high, ≥ 1).
    /// @return done Whether this step ran the model's last layer to its end.
    function stepRows(
        uint256 jobId,
        uint256 stepIndex,
        bytes calldata state,
        int256[] calldata carried,
        uint256 from,
        uint256 count
    ) external returns (bool done) {
        if (count >> 128 == 0) revert BadStepSize(from, count, 0);
        return _stepPart(jobId, stepIndex, state, Rows(from >> 128, count >> 128, carried), from, count);
    }

    /// @dev `stepSlice` (no `rows`; a Conv2D's channel block in the high bits of `from`,
    ///      `count`) or `stepRows` (`rows` from the high bits).
    function _stepPart(
        uint256 jobId,
        uint256 stepIndex,
        bytes calldata state,
        Rows memory rows,
        uint256 from,
        uint256 count
    ) internal returns (bool done) {
        Job storage job_ = _jobs[jobId];
        Job memory j = job_;
        if (j.model == address(0)) revert UnknownJob(jobId);
        if (stepIndex != j.steps) revert StepOutOfOrder(jobId, j.steps, stepIndex);
        if (j.cursor == j.layerCount) revert JobAlreadyDone(jobId);
        (Sliced memory r, bytes32 nextHash) =
            _rows(IEternalModel(j.model).layers(), j.cursor, state, rows, from, count, j.stateHash, jobId);
        uint256 at = r.at + r.rows;
        uint32 cursor = uint32(at == r.length ? j.cursor + 1 : j.cursor);
        job_.cursor = cursor;
        job_.steps = j.steps + 1;
        job_.stateHash = nextHash;
        emit JobSliced(jobId, stepIndex, j.cursor, at, r.length);
        emit JobStepped(jobId, stepIndex, cursor, nextHash, msg.sender);
        done = cursor == j.layerCount;
        if (done) {
            bytes memory next = r.next;
            bool stored = next.length <= MAX_STORED_RESULT && !_anyHashed(next);
            if (stored) _results[jobId] = next;
            emit JobDone(jobId, stepIndex + 1, nextHash, stored);
        }
    }

    /// @notice What `stepRows` computes, without a job: the next commitment, the positions done
    ///         after the part and the axis length; a part before the last returns what it
    ///         carries on (`sums`: a Dense's partial sums, a recurrent layer's carry), and any
    ///         part the positions it completes as `advanceSlice` returns a slice (`part`; empty
    ///         for a Dense's part before the last).
    function advanceRows(
        address model,
        uint256 cursor,
        bytes calldata state,
        int256[] calldata carried,
        uint256 from,
        uint256 count
    )
        external
        view
        returns (bytes32 nextHash, uint256 done, uint256 length, bytes memory part, int256[] memory sums)
    {
        if (count >> 128 == 0) revert BadStepSize(from, count, 0);
        return _advancePart(model, cursor, state, Rows(from >> 128, count >> 128, carried), from, count);
    }

    /// @dev `advanceSlice` or `advanceRows`.
    function _advancePart(
        address model,
        uint256 cursor,
        bytes calldata state,
        Rows memory rows,
        uint256 from,
        uint256 count
    )
        internal
        view
        returns (bytes32 nextHash, uint256 done, uint256 length, bytes memory part, int256[] memory sums)
    {
        Sliced memory r;
        (r, nextHash) = _rows(IEternalModel(model).layers(), cursor, state, rows, from, count, 0, 0);
        length = r.length;
        done = r.at + r.rows;
        if (r.sums == 0 || r.rows != 0) part = _lastPart(r, cursor, uint128(count));
        uint256 p = r.sums;
        if (p != 0) {
            assembly ("memory-safe") {
                sums := p
            }
        }
    }

    /// @notice A packed state as `predict`'s three arrays (values, shapes, ranks), in entry order.
    function unpack(bytes calldata state)
        external
        pure
        returns (int256[] memory outputs, uint256[] memory outputShapes, uint256[] memory outputRanks)
    {
        Tensor[] memory live = _decode(state);
        uint256 total;
        uint256 rankSum;
        outputRanks = new uint256[](live.length);
        for (uint256 k; k < live.length; ++k) {
            total += live[k].values.length;
            rankSum += live[k].shape.length;
            outputRanks[k] = live[k].shape.length;
        }
        outputs = new int256[](total);
        outputShapes = new uint256[](rankSum);
        uint256 at;
        uint256 sat;
        for (uint256 k; k < live.length; ++k) {
            int256[] memory v = live[k].values;
            uint256[] memory s = live[k].shape;
            // Each tensor's values and dims appended with one MCOPY each (they fit: the totals).
            assembly ("memory-safe") {
                mcopy(add(add(outputs, 0x20), shl(5, at)), add(v, 0x20), shl(5, mload(v)))
                mcopy(add(add(outputShapes, 0x20), shl(5, sat)), add(s, 0x20), shl(5, mload(s)))
                at := add(at, mload(v))
                sat := add(sat, mload(s))
            }
        }
    }

    // ------------------------------------------------------------------ internals

    /// @dev Packs the model inputs, tagged for the InputLayers they feed (k-th input, k-th
    ///      InputLayer in layer order), checking that shapes and ranks describe the values.
    function _initialState(
        LayerLink[] memory links,
        int256[] calldata inputs,
        uint256[] calldata shapes,
        uint256[] calldata ranks
    ) internal pure returns (bytes memory) {
        uint256 inputLayers;
        for (uint256 i; i < links.length; ++i) {
            if (links[i].inputs.length == 0) ++inputLayers;
        }
        if (inputLayers != ranks.length) revert ModelInputCountMismatch(inputLayers, ranks.length);
        Tensor[] memory live = new Tensor[](ranks.length);
        uint256 k;
        uint256 from;
        uint256 at;
        for (uint256 i; i < links.length; ++i) {
            if (links[i].inputs.length != 0) continue;
            uint256 rank = ranks[k];
            if (at + rank > shapes.length) revert ModelInputShapeMismatch();
            uint256 size = 1;
            for (uint256 d; d < rank; ++d) {
                size *= shapes[at + d];
            }
            if (from + size > inputs.length) revert ModelInputShapeMismatch();
            live[k] = Tensor({tag: INPUT_TAG | i, values: inputs[from:from + size], shape: shapes[at:at + rank]});
            from += size;
            at += rank;
            ++k;
        }
        if (from != inputs.length || at != shapes.length) revert ModelInputShapeMismatch();
        return _encode(live, new bool[](live.length));
    }

    /// @dev Runs layers `[cursor, cursor + count)` on the decoded `state` and packs what stays live.
    function _advance(LayerLink[] memory links, uint256 cursor, bytes calldata state, uint256 count)
        internal
        view
        returns (bytes memory)
    {
        uint256 n = links.length;
        if (count == 0 || cursor >= n || count > n - cursor) revert BadStepSize(cursor, count, n);
        uint256 end = cursor + count;
        Tensor[] memory decoded = _decode(state);
        for (uint256 k; k < decoded.length; ++k) {
            if (decoded[k].tag & (INPUT_TAG | PARTIAL_TAG) == PARTIAL_TAG) revert SliceInProgress(cursor);
        }
        // Live tensors: the decoded ones, then one per layer run here.
        Tensor[] memory live = new Tensor[](decoded.length + count);
        for (uint256 k; k < decoded.length; ++k) {
            live[k] = decoded[k];
        }
        uint256 size = decoded.length;
        for (uint256 i = cursor; i < end; ++i) {
            uint16[] memory ins = links[i].inputs;
            uint256 m = ins.length == 0 ? 1 : ins.length;
            uint256[] memory srcData = new uint256[](m);
            uint256[] memory srcDims = new uint256[](m);
            for (uint256 k; k < m; ++k) {
                uint256 tag = ins.length == 0 ? INPUT_TAG | i : ins[k];
                Tensor memory t = _find(live, size, tag, i);
                (srcData[k], srcDims[k]) = _pointers(t);
            }
            (uint256 values, uint256 shape) = LayerCall.forward(i, links[i].layer, srcData, srcDims);
            live[size++] = _tensorAt(i, values, shape);
        }
        // Drop what no layer from `end` on reads, except outputs no layer reads at all.
        bool[] memory dropped = new bool[](size);
        for (uint256 k; k < size; ++k) {
            uint256 tag = live[k].tag & ~HASHED_TAG;
            dropped[k] = tag & INPUT_TAG != 0 ? (tag ^ INPUT_TAG) < end : !_stillRead(links, tag, end);
        }
        assembly ("memory-safe") {
            mstore(live, size)
        }
        return _encode(live, dropped);
    }

    /// @dev Whether layer `j`'s output is read by a layer at or after `end`, or by none at all.
    function _stillRead(LayerLink[] memory links, uint256 j, uint256 end) internal pure returns (bool) {
        bool readAtAll;
        for (uint256 k = j + 1; k < links.length; ++k) {
            uint16[] memory ins = links[k].inputs;
            for (uint256 q; q < ins.length; ++q) {
                if (ins[q] == j) {
                    if (k >= end) return true;
                    readAtAll = true;
                }
            }
        }
        return !readAtAll;
    }

    function _find(Tensor[] memory live, uint256 size, uint256 tag, uint256 layer)
        internal
        pure
        returns (Tensor memory)
    {
        for (uint256 k; k < size; ++k) {
            if (live[k].tag == tag) return live[k];
            if (live[k].tag == tag | HASHED_TAG) revert RowsNotCarried(layer, tag, 0, live[k].shape[0]);
        }
        revert LiveTensorMissing(layer, tag);
    }

    function _pointers(Tensor memory t) internal pure returns (uint256 values, uint256 shape) {
        int256[] memory v = t.values;
        uint256[] memory s = t.shape;
        assembly ("memory-safe") {
            values := v
            shape := s
        }
    }

    function _tensorAt(uint256 tag, uint256 values, uint256 shape) internal pure returns (Tensor memory t) {
        int256[] memory v;
        uint256[] memory s;
        assembly ("memory-safe") {
            v := values
            s := shape
        }
        t = Tensor({tag: tag, values: v, shape: s});
    }

    /// @dev Unpacks a state into int256 tensors. Two passes: count the entries (checking every
    ///      header and length against the bytes), then copy each value, sign-extending its int64.
    ///      An entry carried by row hashes (no row open: a step reads nothing of it) keeps its tag
    ///      with `HASHED_TAG` and holds its row hashes as values, for `_encode` to carry on.
    function _decode(bytes calldata state) internal pure returns (Tensor[] memory live) {
        uint256 entries;
        uint256 at;
        while (at < state.length) {
            (, , , uint256 next) = _entry(state, at);
            at = next;
            ++entries;
        }
        live = new Tensor[](entries);
        at = 0;
        for (uint256 k; k < entries; ++k) {
            (uint256 tag, uint256 rank, uint256 size, uint256 next) = _entry(state, at);
            uint256[] memory shape = new uint256[](rank);
            uint256 dims = _calldataOffset(state) + at + _ENTRY_HEAD;
            uint256 src = dims + 4 * rank;
            bool hashed = tag & HASHED_TAG != 0;
            if (hashed) {
                (uint256 first, uint256 last) = _window(true, _calldataOffset(state), at, rank);
                if (first != last) revert MalformedState(at);
                size = _dim(state, at, 0);
                src += 8;
            }
            int256[] memory values = new int256[](size);
            assembly ("memory-safe") {
                for { let d := 0 } lt(d, rank) { d := add(d, 1) } {
                    mstore(add(add(shape, 0x20), shl(5, d)), shr(224, calldataload(add(dims, shl(2, d)))))
                }
                let dst := add(values, 0x20)
                switch hashed
                case 0 {
                    for { let i := 0 } lt(i, size) { i := add(i, 1) } {
                        mstore(add(dst, shl(5, i)), signextend(7, shr(192, calldataload(add(src, shl(3, i))))))
                    }
                }
                default { calldatacopy(dst, src, shl(5, size)) }
            }
            live[k] = Tensor({tag: tag, values: values, shape: shape});
            at = next;
        }
    }

    /// @dev Where `state`'s bytes start in calldata.
    function _calldataOffset(bytes calldata state) internal pure returns (uint256 offset) {
        assembly ("memory-safe") {
            offset := state.offset
        }
    }

    /// @dev Where `state`'s bytes start in memory.
    function _memoryOffset(bytes memory state) internal pure returns (uint256 offset) {
        assembly ("memory-safe") {
            offset := add(state, 0x20)
        }
    }

    /// @dev The word at `p`, of calldata when `cd`, else of memory.
    function _word(bool cd, uint256 p) internal pure returns (uint256 w) {
        assembly ("memory-safe") {
            switch cd
            case 0 { w := mload(p) }
            default { w := calldataload(p) }
        }
    }

    /// @dev Header of the entry at byte `at` of calldata `state`: tag, rank, value count, next.
    function _entry(bytes calldata state, uint256 at)
        internal
        pure
        returns (uint256 tag, uint256 rank, uint256 size, uint256 next)
    {
        return _head(true, _calldataOffset(state), state.length, at);
    }

    /// @dev Header of the entry at byte `at` of the state of `len` bytes at `base` (calldata when
    ///      `cd`): its tag (with `HASHED_TAG` if carried by row hashes), rank, value count and
    ///      where the next entry starts, every length checked against the bytes.
    function _head(bool cd, uint256 base, uint256 len, uint256 at)
        internal
        pure
        returns (uint256 tag, uint256 rank, uint256 size, uint256 next)
    {
        if (len - at < _ENTRY_HEAD) revert MalformedState(at);
        uint256 w = _word(cd, base + at);
        tag = w >> 224;
        rank = (w >> 216) & 0xff;
        if (len - at - _ENTRY_HEAD < 4 * rank) revert MalformedState(at);
        size = 1;
        for (uint256 d; d < rank; ++d) {
            size *= _word(cd, base + at + _ENTRY_HEAD + 4 * d) >> 224;
            if (size > _MAX_SIZE) revert MalformedState(at);
        }
        uint256 values = at + _ENTRY_HEAD + 4 * rank;
        if (tag & HASHED_TAG == 0) {
            if ((len - values) / 8 < size) revert MalformedState(at);
            next = values + 8 * size;
        } else {
            if (rank < 2 || len - values < 8) revert MalformedState(at);
            uint256 rows = _word(cd, base + at + _ENTRY_HEAD) >> 224;
            (uint256 first, uint256 last) = _window(cd, base, at, rank);
            if (first > last || last > rows) revert MalformedState(at);
            uint256 open = last - first;
            uint256 need = 32 * (rows - open) + 8 * (rows == 0 ? 0 : size / rows) * open;
            if (len - values - 8 < need) revert MalformedState(at);
            next = values + 8 + need;
        }
    }

    /// @dev The open rows [first, last) of the hashed entry at byte `at` (rank `rank`).
    function _window(bool cd, uint256 base, uint256 at, uint256 rank)
        internal
        pure
        returns (uint256 first, uint256 last)
    {
        uint256 w = _word(cd, base + at + _ENTRY_HEAD + 4 * rank);
        first = w >> 224;
        last = (w >> 192) & 0xffffffff;
    }

    /// @dev keccak256 of the state's digest: what a job commits to (see `commitment`).
    function _commitment(bool cd, uint256 base, uint256 len) internal pure returns (bytes32) {
        return keccak256(_digest(cd, base, len));
    }

    /// @dev The digest of the state of `len` bytes at `base` (calldata when `cd`): each entry's
    ///      header (tag without `HASHED_TAG`), then for rank ≥ 2 the keccak256 of each row
    ///      (hashing the open rows, copying the hashes carried), else its values as they are.
    function _digest(bool cd, uint256 base, uint256 len) internal pure returns (bytes memory d) {
        uint256 total;
        uint256 at;
        while (at < len) {
            (, uint256 rank, uint256 size, uint256 next) = _head(cd, base, len, at);
            uint256 body = rank < 2 ? 8 * size : 32 * (_word(cd, base + at + _ENTRY_HEAD) >> 224);
            total += _ENTRY_HEAD + 4 * rank + body;
            at = next;
        }
        d = new bytes(total + 32);
        uint256 o;
        assembly ("memory-safe") {
            mstore(d, total)
            o := add(d, 0x20)
        }
        at = 0;
        while (at < len) {
            (uint256 tag, uint256 rank, uint256 size, uint256 next) = _head(cd, base, len, at);
            uint256 src = base + at + _ENTRY_HEAD;
            assembly ("memory-safe") {
                mstore(o, or(shl(224, and(tag, not(HASHED_TAG))), shl(216, rank)))
            }
            o += _ENTRY_HEAD;
            _copy(cd, o, src, 4 * rank);
            o += 4 * rank;
            src += 4 * rank;
            if (rank < 2) {
                _copy(cd, o, src, 8 * size);
                o += 8 * size;
            } else {
                uint256 rows = _word(cd, base + at + _ENTRY_HEAD) >> 224;
                uint256 rowBytes = rows == 0 ? 0 : 8 * (size / rows);
                (uint256 first, uint256 last) = (0, rows);
                if (tag & HASHED_TAG != 0) {
                    (first, last) = _window(cd, base, at, rank);
                    src += 8;
                }
                _copy(cd, o, src, 32 * first);
                o += 32 * first;
                src += 32 * first;
                for (uint256 r = first; r < last; ++r) {
                    bytes32 h = _hash(cd, src, rowBytes);
                    assembly ("memory-safe") {
                        mstore(o, h)
                    }
                    o += 32;
                    src += rowBytes;
                }
                _copy(cd, o, src, 32 * (rows - last));
                o += 32 * (rows - last);
            }
            at = next;
        }
    }

    /// @dev Copies `n` bytes from `src` (calldata when `cd`, else memory) to memory at `dst`.
    function _copy(bool cd, uint256 dst, uint256 src, uint256 n) internal pure {
        assembly ("memory-safe") {
            switch cd
            case 0 { mcopy(dst, src, n) }
            default { calldatacopy(dst, src, n) }
        }
    }

    /// @dev keccak256 of `n` bytes at `src` (calldata when `cd`: copied past the free pointer).
    function _hash(bool cd, uint256 src, uint256 n) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            switch cd
            case 0 { h := keccak256(src, n) }
            default {
                let m := mload(0x40)
                calldatacopy(m, src, n)
                h := keccak256(m, n)
            }
        }
    }

    /// @dev Whether the state in memory has an entry carried by row hashes.
    function _anyHashed(bytes memory state) internal pure returns (bool) {
        uint256 base = _memoryOffset(state);
        uint256 at;
        while (at < state.length) {
            (uint256 tag,,, uint256 next) = _head(false, base, state.length, at);
            if (tag & HASHED_TAG != 0) return true;
            at = next;
        }
        return false;
    }

    /// @dev Packs the tensors not `dropped` into a state. Writes each field with one MSTORE of a
    ///      left-aligned word (the bytes after it are overwritten by the next field), so the
    ///      buffer is allocated with a word of slack.
    function _encode(Tensor[] memory live, bool[] memory dropped) internal pure returns (bytes memory out) {
        uint256 length;
        for (uint256 k; k < live.length; ++k) {
            if (dropped[k]) continue;
            length += _ENTRY_HEAD + 4 * live[k].shape.length
                + (live[k].tag & HASHED_TAG == 0 ? 8 * live[k].values.length : 8 + 32 * live[k].values.length);
        }
        out = new bytes(length + 32);
        assembly ("memory-safe") {
            mstore(out, length)
        }
        uint256 p;
        assembly ("memory-safe") {
            p := add(out, 0x20)
        }
        for (uint256 k; k < live.length; ++k) {
            if (dropped[k]) continue;
            Tensor memory t = live[k];
            uint256 tag = t.tag;
            uint256[] memory shape = t.shape;
            int256[] memory values = t.values;
            uint256 rank = shape.length;
            if (rank > 0xff) revert ShapeOutOfRange(tag);
            uint256 bad = type(uint256).max;
            assembly ("memory-safe") {
                mstore(p, or(shl(224, tag), shl(216, rank)))
                p := add(p, 5)
                for { let d := 0 } lt(d, rank) { d := add(d, 1) } {
                    let dim := mload(add(add(shape, 0x20), shl(5, d)))
                    if gt(dim, 0xffffffff) { bad := sub(0, 2) }
                    mstore(p, shl(224, dim))
                    p := add(p, 4)
                }
                let n := mload(values)
                let src := add(values, 0x20)
                switch and(tag, HASHED_TAG)
                case 0 {
                    for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                        let x := mload(add(src, shl(5, i)))
                        if iszero(eq(signextend(7, x), x)) { if eq(bad, not(0)) { bad := i } }
                        mstore(p, shl(192, x))
                        p := add(p, 8)
                    }
                }
                default {
                    // Carried by row hashes, no row open: window [0, 0), then the hashes.
                    mstore(p, 0)
                    p := add(p, 8)
                    mcopy(p, src, shl(5, n))
                    p := add(p, shl(5, n))
                }
            }
            if (bad == type(uint256).max - 1) revert ShapeOutOfRange(tag);
            if (bad != type(uint256).max) revert ActivationOutOfRange(tag, bad);
        }
    }

    // ------------------------------------------------------------------ slices

    /// @dev What `_slice` made: the next state, the positions done before the slice, the slice
    ///      axis's length, and where the next state's last entry (the layer's output) starts.
    ///      `end`: where the state's channel-block entry starts (its length if none); `done`:
    ///      that entry's channels; `rows`: the positions the slice completed (0 for a block that
    ///      does not end its row).
    struct Sliced {
        bytes next;
        uint256 at;
        uint256 length;
        uint256 lastAt;
        uint256 partBytes;
        uint256 end;
        uint256 done;
        uint256 rows;
        /// Memory pointer to what a row part carries on (int256[]: a Dense's partial sums, a
        /// recurrent layer's carry): 0 once the part is the last.
        uint256 sums;
    }

    /// @dev Input rows [from, from + count) of a Dense's row part, with the partial sums carried
    ///      from the parts before; count 0 for a plain slice or a Conv2D's channel block.
    struct Rows {
        uint256 from;
        uint256 count;
        int256[] carried;
    }

    /// @dev Runs positions [done, done + count) of layer `cursor` on `state` (a row part: its
    ///      `rows` only) and returns the next state (the caller checked `state`). Memory: the
    ///      state is copied once into `next` (hashed there), then the slice's values are packed
    ///      in place after it — the layer's answer lies beyond, and packing moves 8 bytes a value
    ///      while reading 32, so it never overtakes what it reads — and, when the layer is done,
    ///      the entries nobody reads any more are squeezed out with MCOPY. No other copy of the
    ///      state is made: memory grows with the state once, not twice.
    ///      A channel block (`from`/`count` carrying the first channel and the channel count in
    ///      their high 128 bits, one row) of a Conv2D: the block's values are merged with the
    ///      channel-block entry's; the merged row is the new channel-block entry, or, when it
    ///      holds every channel, the row appended as a row slice's.
    function _slice(
        LayerLink[] memory links,
        uint256 cursor,
        bytes calldata state,
        uint256 from,
        uint256 count,
        Rows memory rows,
        uint256 jobId
    ) internal view returns (Sliced memory r) {
        uint256 n = state.length;
        bytes memory next;
        assembly ("memory-safe") {
            next := mload(0x40)
            mstore(next, n)
            calldatacopy(add(next, 0x20), state.offset, n)
            mstore(0x40, add(add(next, 0x40), and(add(n, 31), not(31))))
        }
        r.next = next;
        uint256 positions = uint128(count);
        // The channels of a Conv2D's block; a row part's high bits are its rows.
        uint256 channels = rows.count != 0 ? 0 : count >> 128;
        if (positions == 0 || cursor >= links.length || (channels != 0 && positions != 1)) {
            revert BadStepSize(cursor, count, links.length);
        }
        // The entries of the layer's inputs (an InputLayer's: the model input it takes), and the
        // partial output's and the channel block's (always last) after a first slice.
        uint256[] memory inAt = _inputEntries(links[cursor].inputs, cursor, state, r);
        {
            uint256 want = r.at | (r.done << 128);
            uint256 got = rows.count != 0 ? uint128(from) : from;
            if (got != want) revert SliceOutOfOrder(jobId, want, got);
        }
        address layer = links[cursor].layer;
        if (channels != 0 && links[cursor].kind != LayerKind.CONV_2D) revert NotSliceable(cursor);
        // Row parts are a Dense's input rows or a recurrent layer's time steps: another kind
        // would read the high bits otherwise (a Conv2D: as a channel block the job never merges).
        if (rows.count != 0 && (_PARTED_KINDS >> links[cursor].kind) & 1 == 0) revert NotSliceable(cursor);
        (uint256 values, uint256 outShape) = _runSlice(layer, cursor, state, inAt, from, count, r, rows);
        if (r.sums != 0) {
            // A part before the last: the positions it completed, if any, join the partial entry.
            uint256 done;
            assembly ("memory-safe") {
                done := mload(add(outShape, 0x20))
            }
            if (done != 0) {
                r.rows = done;
                _append(r, state, values, outShape, done, cursor);
            }
            return r;
        }
        if (channels != 0) {
            (, , uint256 filters,,,,) = IConv2DFilters(layer).config();
            values = _merge(r, state, values, outShape, cursor);
            if (r.done + channels < filters) {
                _append(r, state, values, outShape, 0, cursor);
                return r;
            }
        }
        r.rows = positions;
        _append(r, state, values, outShape, positions, cursor);
        if (r.at + positions == r.length) _finish(r, links, state, cursor);
    }

    /// @dev The channel-block entry's values (none before a row's first block) and the block's,
    ///      merged channel by channel into a new `[1, ow, done + channels]` array; `outShape`'s
    ///      last dimension grown to match.
    function _merge(Sliced memory r, bytes calldata state, uint256 values, uint256 outShape, uint256 cursor)
        internal
        pure
        returns (uint256 merged)
    {
        uint256 ow;
        uint256 k;
        assembly ("memory-safe") {
            ow := mload(add(outShape, 0x40))
            k := mload(add(outShape, 0x60))
        }
        uint256 d = r.done;
        if (d != 0 && _dim(state, r.end, 1) != ow) revert MalformedState(r.end);
        uint256 src = _calldataOffset(state) + r.end + _ENTRY_HEAD + 12;
        uint256 rank;
        assembly ("memory-safe") {
            rank := mload(outShape)
        }
        if (rank != 3) revert NotSliceable(cursor);
        assembly ("memory-safe") {
            merged := mload(0x40)
            let w := add(d, k)
            mstore(merged, mul(ow, w))
            let p := add(merged, 0x20)
            for { let j := 0 } lt(j, ow) { j := add(j, 1) } {
                for { let i := 0 } lt(i, d) { i := add(i, 1) } {
                    mstore(p, signextend(7, shr(192, calldataload(src))))
                    src := add(src, 8)
                    p := add(p, 0x20)
                }
                mcopy(p, add(add(values, 0x20), shl(5, mul(j, k))), shl(5, k))
                p := add(p, shl(5, k))
            }
            mstore(0x40, p)
            mstore(add(outShape, 0x60), w)
        }
    }

    /// @dev Where each input of layer `cursor` (`ins`; none: the model input of an InputLayer)
    ///      starts in `state`; sets `r.lastAt` and `r.at` from the partial entry, if any.
    function _inputEntries(uint16[] memory ins, uint256 cursor, bytes calldata state, Sliced memory r)
        internal
        pure
        returns (uint256[] memory inAt)
    {
        uint256 m = ins.length == 0 ? 1 : ins.length;
        uint256 none = type(uint256).max;
        inAt = new uint256[](m);
        for (uint256 k; k < m; ++k) {
            inAt[k] = none;
        }
        uint256 n = state.length;
        r.lastAt = n;
        r.end = n;
        uint256 partEnd = n;
        uint256 at;
        while (at < n) {
            (uint256 raw, uint256 rank,, uint256 nx) = _entry(state, at);
            uint256 tag = raw & ~HASHED_TAG;
            if (tag & (INPUT_TAG | PARTIAL_TAG | BLOCK_TAG) == PARTIAL_TAG | BLOCK_TAG) {
                // The channel block: last, open, [1, ow, done].
                if (raw != PARTIAL_TAG | BLOCK_TAG | cursor || nx != n || rank != 3 || _dim(state, at, 0) != 1) {
                    revert MalformedState(at);
                }
                r.end = at;
                r.done = _dim(state, at, 2);
            } else if (tag & (INPUT_TAG | PARTIAL_TAG) == PARTIAL_TAG) {
                if (tag != PARTIAL_TAG | cursor) revert MalformedState(at);
                r.lastAt = at;
                partEnd = nx;
                r.at = _dim(state, at, 0);
            } else {
                for (uint256 k; k < m; ++k) {
                    if (tag == (ins.length == 0 ? INPUT_TAG | cursor : ins[k])) inAt[k] = at;
                }
            }
            at = nx;
        }
        // The partial entry, if any, ends where the channel block, if any, begins.
        if (r.lastAt == n) r.lastAt = r.end;
        else if (partEnd != r.end) revert MalformedState(r.lastAt);
        for (uint256 k; k < m; ++k) {
            if (inAt[k] == none) revert LiveTensorMissing(cursor, ins.length == 0 ? INPUT_TAG | cursor : ins[k]);
        }
    }

    /// @dev The slice's `forwardSlice` on the input rows it reads (the same rows of every input,
    ///      decoded from the entries at bytes `inAt`); sets `r.length`. Returns pointers to the
    ///      output values and shape.
    function _runSlice(
        address layer,
        uint256 cursor,
        bytes calldata state,
        uint256[] memory inAt,
        uint256 from,
        uint256 count,
        Sliced memory r,
        Rows memory rows
    ) internal view returns (uint256 values, uint256 outShape) {
        uint256 m = inAt.length;
        uint256[] memory srcData = new uint256[](m);
        uint256[] memory srcDims = new uint256[](m);
        uint256[] memory ranks = new uint256[](m);
        uint256 rankSum;
        for (uint256 k; k < m; ++k) {
            (, uint256 rank,,) = _entry(state, inAt[k]);
            if (rank == 0 || _dim(state, inAt[k], 0) == 0) revert NotSliceable(cursor);
            ranks[k] = rank;
            rankSum += rank;
        }
        uint256[] memory shapes = new uint256[](rankSum);
        {
            uint256 s;
            for (uint256 k; k < m; ++k) {
                uint256[] memory shape = new uint256[](ranks[k]);
                for (uint256 d; d < shape.length; ++d) {
                    shape[d] = _dim(state, inAt[k], d);
                    shapes[s++] = shape[d];
                }
                assembly ("memory-safe") {
                    mstore(add(srcDims, shl(5, add(k, 1))), shape)
                }
            }
        }
        uint256 first;
        uint256 last;
        uint256 positions = uint128(count);
        if (rows.count != 0 && m != 1) revert NotSliceable(cursor);
        // A row part's rows ride in the high 128 bits (DenseLayer `_forwardRows`); a channel
        // block's channels do not change the input rows.
        try ISliceableLayer(layer).sliceInput(
            shapes, ranks, r.at | (rows.from << 128), positions | (rows.count << 128)
        ) returns (uint256 len, uint256 a, uint256 b) {
            (r.length, first, last) = (len, a, b);
        } catch (bytes memory reason) {
            revert LayerFailed(cursor, reason);
        }
        // `WHOLE_REST` (MultiHeadAttention): those rows of the first input, the others whole.
        bool wholeRest = last & WHOLE_REST != 0;
        last = uint128(last);
        if (first > last || r.at + positions > r.length) revert NotSliceable(cursor);
        for (uint256 k; k < m; ++k) {
            (uint256 a, uint256 b) = k != 0 && wholeRest ? (0, _dim(state, inAt[k], 0)) : (first, last);
            int256[] memory open = _openRows(state, inAt[k], a, b, cursor, rows.carried);
            assembly ("memory-safe") {
                mstore(add(srcData, shl(5, add(k, 1))), open)
            }
        }
        (values, outShape) = LayerCall.forwardSlice(cursor, layer, srcData, srcDims, from, count);
        if (rows.count != 0) _carryOn(r, values, outShape, cursor);
    }

    /// @dev A row part answers the output positions it completes (`outShape`; the layer's rest
    ///      at its last part, which carries nothing on) — before the last (`outShape`:
    ///      none for a Dense, a recurrent layer's steps when it returns its sequence) followed by
    ///      what the next part is given (a Dense's sums, a recurrent layer's carry): the latter
    ///      moved to a new array, `r.sums`, and `values` cut to the former.
    function _carryOn(Sliced memory r, uint256 values, uint256 outShape, uint256 cursor) internal pure {
        uint256 size = 1;
        uint256 len;
        assembly ("memory-safe") {
            for { let d := 0 } lt(d, mload(outShape)) { d := add(d, 1) } {
                size := mul(size, mload(add(outShape, shl(5, add(d, 1)))))
            }
            len := mload(values)
        }
        if (size > len) revert NotSliceable(cursor);
        // Nothing carried on: the part was the last.
        if (size == len) return;
        uint256 sums;
        assembly ("memory-safe") {
            let tail := sub(len, size)
            sums := mload(0x40)
            mstore(sums, tail)
            mcopy(add(sums, 0x20), add(add(values, 0x20), shl(5, size)), shl(5, tail))
            mstore(0x40, add(add(sums, 0x20), shl(5, tail)))
            mstore(values, size)
        }
        r.sums = sums;
    }

    /// @dev Rows [first, last) of the entry at byte `at`, decoded (open rows only, else
    ///      `RowsNotCarried`).
    ///      `extra` (a row part's carried sums) follows them.
    function _openRows(
        bytes calldata state,
        uint256 at,
        uint256 first,
        uint256 last,
        uint256 cursor,
        int256[] memory extra
    ) internal pure returns (int256[] memory rows) {
        (uint256 tag, uint256 rank, uint256 size,) = _entry(state, at);
        uint256 n = _dim(state, at, 0);
        if (last > n) revert NotSliceable(cursor);
        uint256 row = size / n;
        uint256 len = (last - first) * row;
        rows = new int256[](len + extra.length);
        for (uint256 i; i < extra.length; ++i) {
            rows[len + i] = extra[i];
        }
        uint256 src = _calldataOffset(state) + at + _ENTRY_HEAD + 4 * rank + 8 * first * row;
        if (tag & HASHED_TAG != 0) {
            // Only the open rows are values: the slice's must be among them.
            (uint256 a, uint256 b) = _window(true, _calldataOffset(state), at, rank);
            if (first < a || last > b) revert RowsNotCarried(cursor, tag ^ HASHED_TAG, first, last);
            src = _calldataOffset(state) + at + _ENTRY_HEAD + 4 * rank + 8 + 32 * a + 8 * (first - a) * row;
        }
        assembly ("memory-safe") {
            let dst := add(rows, 0x20)
            for { let i := 0 } lt(i, len) { i := add(i, 1) } {
                mstore(add(dst, shl(5, i)), signextend(7, shr(192, calldataload(add(src, shl(3, i))))))
            }
        }
    }

    /// @dev Packs the slice's values after the state in `r.next`: a new partial entry after a
    ///      layer's first slice, else the partial entry's first dimension grown by `count`.
    function _append(Sliced memory r, bytes calldata state, uint256 values, uint256 outShape, uint256 count, uint256 cursor)
        internal
        pure
    {
        uint256 outRank;
        uint256 outLen;
        uint256 lead;
        assembly ("memory-safe") {
            outRank := mload(outShape)
            outLen := mload(values)
            if outRank { lead := mload(add(outShape, 0x20)) }
        }
        if (outRank == 0 || outRank > 0xff || lead != (count == 0 ? 1 : count)) revert NotSliceable(cursor);
        uint256 done = r.at + count;
        bytes memory next = r.next;
        uint256 base;
        assembly ("memory-safe") {
            base := add(next, 0x20)
        }
        // Over the channel-block entry, if any: it is replaced, or folded into the row.
        uint256 w = base + r.end;
        if (count == 0 || r.lastAt == r.end) {
            // First slice: a new entry, PARTIAL_TAG | cursor, [done, rest of the output's shape];
            // of rank ≥ 2, carried by row hashes with the slice's rows open. A channel block
            // (count 0): the new channel-block entry, [1, ow, channels so far], open.
            uint256 tag = count == 0
                ? PARTIAL_TAG | BLOCK_TAG | cursor
                : PARTIAL_TAG | cursor | (outRank >= 2 ? HASHED_TAG : 0);
            if (count == 0) (r.lastAt, done) = (r.end, 1);
            assembly ("memory-safe") {
                mstore(w, or(shl(224, tag), shl(216, outRank)))
                mstore(add(w, 5), shl(224, done))
                for { let d := 1 } lt(d, outRank) { d := add(d, 1) } {
                    mstore(add(add(w, 5), shl(2, d)), shl(224, mload(add(outShape, shl(5, add(d, 1))))))
                }
                w := add(add(w, 5), shl(2, outRank))
                if and(tag, HASHED_TAG) {
                    mstore(w, shl(192, done))
                    w := add(w, 8)
                }
            }
        } else {
            // The partial entry must have the slice's shape but for its first dimension.
            (uint256 tag, uint256 rank,,) = _entry(state, r.lastAt);
            if (tag & HASHED_TAG != 0) {
                // Its open rows, if any, must end where the slice's begin: they become
                // [first, done), the rows before stay hashes.
                (uint256 a, uint256 b) = _window(true, _calldataOffset(state), r.lastAt, rank);
                if (a != b && b != r.at) revert MalformedState(r.lastAt);
                uint256 first = a == b ? r.at : a;
                uint256 pw = base + r.lastAt + _ENTRY_HEAD + 4 * rank;
                assembly ("memory-safe") {
                    mstore(pw, or(or(shl(224, first), shl(192, done)), and(mload(pw), shr(64, not(0)))))
                }
            }
            bool same = rank == outRank;
            for (uint256 d = 1; same && d < rank; ++d) {
                uint256 want;
                assembly ("memory-safe") {
                    want := mload(add(outShape, shl(5, add(d, 1))))
                }
                same = _dim(state, r.lastAt, d) == want;
            }
            if (!same) revert MalformedState(r.lastAt);
            uint256 p = base + r.lastAt + _ENTRY_HEAD;
            assembly ("memory-safe") {
                mstore(p, or(shl(224, done), and(mload(p), shr(32, not(0)))))
            }
        }
        r.partBytes = 8 * outLen;
        uint256 bad = type(uint256).max;
        assembly ("memory-safe") {
            let src := add(values, 0x20)
            // Packing never overtakes the values it reads (see `_slice`).
            if lt(src, w) { bad := sub(0, 2) }
            for { let i := 0 } lt(i, outLen) { i := add(i, 1) } {
                let x := mload(add(src, shl(5, i)))
                if iszero(eq(signextend(7, x), x)) { if eq(bad, not(0)) { bad := i } }
                mstore(w, shl(192, x))
                w := add(w, 8)
            }
            mstore(next, sub(w, base))
            if gt(add(w, 0x20), mload(0x40)) { mstore(0x40, add(w, 0x20)) }
        }
        if (bad == type(uint256).max - 1) revert NotSliceable(cursor);
        if (bad != type(uint256).max) revert ActivationOutOfRange(cursor, bad);
    }

    /// @dev The layer is done: its entry becomes its output (tag `cursor`), and the entries no
    ///      layer after it reads are dropped, as `_advance` drops them.
    function _finish(Sliced memory r, LayerLink[] memory links, bytes calldata state, uint256 cursor) internal pure {
        bytes memory next = r.next;
        uint256 base;
        uint256 total;
        assembly ("memory-safe") {
            base := add(next, 0x20)
            total := mload(next)
        }
        uint256 t = base + r.lastAt;
        assembly ("memory-safe") {
            let w := mload(t)
            mstore(t, or(shl(224, or(cursor, and(shr(224, w), HASHED_TAG))), and(w, shr(32, not(0)))))
        }
        uint256 end = cursor + 1;
        uint256 kept;
        uint256 at;
        while (at < r.lastAt) {
            (uint256 tag,,, uint256 nx) = _entry(state, at);
            tag &= ~HASHED_TAG;
            bool keep = tag & INPUT_TAG != 0 ? (tag ^ INPUT_TAG) >= end : _stillRead(links, tag, end);
            if (keep) {
                if (kept != at) {
                    assembly ("memory-safe") {
                        mcopy(add(base, kept), add(base, at), sub(nx, at))
                    }
                }
                kept += nx - at;
            }
            at = nx;
        }
        if (kept != r.lastAt) {
            uint256 from = r.lastAt;
            assembly ("memory-safe") {
                mcopy(add(base, kept), add(base, from), sub(total, from))
                mstore(next, add(kept, sub(total, from)))
            }
            r.lastAt = kept;
        }
    }

    /// @dev The slice just run, as one packed entry (tag `cursor`, first dimension `count`):
    ///      the header of the last entry of `r.next` and its last `r.partBytes` bytes.
    function _lastPart(Sliced memory r, uint256 cursor, uint256 count) internal pure returns (bytes memory part) {
        bytes memory next = r.next;
        uint256 e;
        uint256 rank;
        uint256 total;
        assembly ("memory-safe") {
            e := add(add(next, 0x20), mload(add(r, 0x60)))
            rank := byte(4, mload(e))
            total := mload(next)
        }
        uint256 head = _ENTRY_HEAD + 4 * rank;
        uint256 bytesPart = r.partBytes;
        part = new bytes(head + bytesPart);
        assembly ("memory-safe") {
            let p := add(part, 0x20)
            mcopy(p, e, head)
            mstore(p, or(shl(224, cursor), and(mload(p), shr(32, not(0)))))
            let d0 := add(p, 5)
            mstore(d0, or(shl(224, count), and(mload(d0), shr(32, not(0)))))
            mcopy(add(p, head), add(add(next, 0x20), sub(total, bytesPart)), bytesPart)
        }
    }

    /// @dev A slice, a channel block or a row part (see `stepRows`: `rows`, from the high 128
    ///      bits of `from` and `count`; none for a slice or a block) of layer `cursor`, its state checked against `expected`
    ///      unless that is zero: `_slice` with the rows and sums passed on, then the commitment
    ///      after it (before a row part's last: the next state's with what it carries on, and
    ///      the positions and rows done).
    function _rows(
        LayerLink[] memory links,
        uint256 cursor,
        bytes calldata state,
        Rows memory rows,
        uint256 from,
        uint256 count,
        bytes32 expected,
        uint256 jobId
    ) internal view returns (Sliced memory r, bytes32 nextHash) {
        uint256 rf = rows.from;
        uint256 rc = rows.count;
        bytes32 stateHash;
        if (expected != 0 || rc != 0) stateHash = _commitment(true, _calldataOffset(state), state.length);
        if (expected != 0) {
            bytes32 given =
                rf == 0 ? stateHash : keccak256(abi.encode(stateHash, keccak256(abi.encodePacked(rows.carried)), from));
            if (given != expected) revert StateMismatch(jobId, expected, given);
        }
        r = _slice(links, cursor, state, from, count, rows, jobId);
        if (r.sums == 0) {
            bytes memory next = r.next;
            return (r, _commitment(false, _memoryOffset(next), next.length));
        }
        uint256 p = r.sums;
        bytes32 h;
        assembly ("memory-safe") {
            h := keccak256(add(p, 0x20), shl(5, mload(p)))
        }
        // The state after the part: unchanged by a Dense's, grown by a recurrent layer's steps.
        if (r.rows != 0) stateHash = _commitment(false, _memoryOffset(r.next), r.next.length);
        nextHash = keccak256(abi.encode(stateHash, h, (r.at + r.rows) | ((rf + rc) << 128)));
    }

    /// @dev Dimension `d` of the entry at byte `at` of `state` (its header already checked).
    function _dim(bytes calldata state, uint256 at, uint256 d) internal pure returns (uint256 dim) {
        uint256 p = _calldataOffset(state) + at + _ENTRY_HEAD + 4 * d;
        assembly ("memory-safe") {
            dim := shr(224, calldataload(p))
        }
    }
}
