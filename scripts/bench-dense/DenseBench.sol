// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DenseLayer} from "../../contracts/layers/DenseLayer.sol";
import {benchRaw} from "../BenchRaw.sol";

/// @dev DenseLayer's `_dense` on a kernel passed in calldata (scripts/bench-dense/run.mjs).
contract DenseBench is DenseLayer {
    function bench(
        int256[] calldata inputs,
        bytes calldata kernel,
        uint256 width,
        uint256 up,
        int256[] calldata scales,
        int256[] calldata bias,
        uint256 inputUnits,
        uint256 units
    ) external view returns (uint256 used, int256[] memory out) {
        Raw memory w = benchRaw(kernel, width, up, scales);
        int256[] memory b = bias;
        Config memory c = Config(0, units, inputUnits, bias.length != 0);
        uint256 g0 = gasleft();
        out = _dense(inputs, Job(c, w, b));
        used = g0 - gasleft();
    }
}
