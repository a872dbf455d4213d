// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EternalJobs} from "../EternalJobs.sol";

/// @title JobConsumer
/// @notice Example: a contract that asks an Eternal a question through an on-chain job and acts on
///         the answer. `ask` starts the job (the input goes in once); anyone then advances it with
///         `EternalJobs.step` (`eternalize predict` does, paying for the steps); `decide` reads the
///         result on chain once the job is done and keeps the class the model picked.
/// @dev Not part of an Eternal's deployment; compiled and tested so the example stays true.
contract JobConsumer {
    /// @notice The job contract of this chain.
    EternalJobs public immutable jobs;
    /// @notice The model asked.
    address public immutable model;
    /// @notice The last job started by `ask`.
    uint256 public jobId;
    /// @notice The class the model picked (argmax of its first output) for the last finished job.
    uint256 public decision;
    /// @notice Whether `decision` holds the answer to the last `ask`.
    bool public decided;

    uint256 internal _asked;

    /// @notice The answer for job `jobId` was class `decision` with score `score` (Q32.32).
    event Decided(uint256 indexed jobId, uint256 decision, int256 score);

    constructor(EternalJobs jobs_, address model_) {
        jobs = jobs_;
        model = model_;
    }

    /// @notice Starts a job of the model on one input (flat Q32.32 values and its shape).
    /// @return The job id, also `jobId()`.
    function ask(int256[] calldata input, uint256[] calldata shape) external returns (uint256) {
        uint256[] memory ranks = new uint256[](1);
        ranks[0] = shape.length;
        jobId = jobs.startJob(model, bytes32(++_asked), input, shape, ranks);
        decided = false;
        return jobId;
    }

    /// @notice Reads the finished job's outputs on chain and keeps the argmax of the first one.
    ///         Reverts with the job contract's `JobNotDone` while the job is still running.
    function decide() external returns (uint256) {
        (int256[] memory outputs, uint256[] memory shapes, uint256[] memory ranks) = jobs.result(jobId);
        uint256 size = 1;
        for (uint256 d; d < ranks[0]; ++d) {
            size *= shapes[d];
        }
        uint256 best;
        for (uint256 i = 1; i < size; ++i) {
            if (outputs[i] > outputs[best]) best = i;
        }
        decision = best;
        decided = true;
        emit Decided(jobId, best, outputs[best]);
        return best;
    }
}
