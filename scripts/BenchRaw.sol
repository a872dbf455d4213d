// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LayerBase} from "../contracts/layers/LayerBase.sol";

/// @dev The stored-kernel view (`LayerBase.Raw`) of kernel bytes passed in calldata, as a layer
///      builds it from its weights: `width` bytes a value, an `up` shift (compact), and the
///      per-channel scales when given. For the bench contracts (ConvBench, DenseBench).
function benchRaw(bytes calldata kernel, uint256 width, uint256 up, int256[] calldata scales)
    pure
    returns (LayerBase.Raw memory w)
{
    bytes memory buf = new bytes(kernel.length + 32);
    uint256 dst;
    assembly ("memory-safe") {
        dst := add(buf, 0x20)
        calldatacopy(dst, kernel.offset, kernel.length)
    }
    w.ptr = dst;
    w.width = width;
    w.up = up;
    w.length = kernel.length / width;
    w.channels = scales.length;
    if (scales.length != 0) {
        int256[] memory s = scales;
        uint256 p;
        assembly ("memory-safe") {
            p := add(s, 0x20)
        }
        w.scales = p;
    }
}
