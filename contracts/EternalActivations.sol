// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Activations} from "./lib/Activations.sol";
import {Fixed} from "./lib/Fixed.sol";

/// @title EternalActivations
/// @notice The rare activations (codes 7..19 of `Activation`: elu … log_softmax) of every layer,
///         in one stateless contract: `Fixed.activate` STATICCALLs it once per array instead of
///         inlining `Activations` into each layer that activates (≈ 2 KB of code each — the room
///         the convolution and dense kernels need under EIP-170).
/// @dev One per chain, placed like `EternalJobs`: through the deterministic CREATE2 deployer
///      (`0x4e59…`, salt 0) at `create2(0x4e59…, 0, keccak(bytecode))`, an address the build
///      writes into `lib/ActivationsAddress.sol` before it compiles the layers. Raw calldata, no
///      selector: word 0 is `code | last << 8` (`last` the softmax axis of log_softmax), then
///      the values (Q32.32, one word each); the answer is the activated values, one word each,
///      with no ABI head. Anything but a whole number of words reverts; an unsupported code
///      reverts `UnsupportedActivation`, a value outside a function's domain `ActivationDomain`,
///      as the inlined code did (the caller bubbles the revert data).
contract EternalActivations {
    fallback() external {
        uint256 head;
        uint256 n;
        uint256 ptr;
        assembly ("memory-safe") {
            if or(lt(calldatasize(), 0x20), and(calldatasize(), 0x1f)) { revert(0, 0) }
            head := calldataload(0)
            n := shr(5, sub(calldatasize(), 0x20))
            ptr := mload(0x40)
            calldatacopy(ptr, 0x20, shl(5, n))
            mstore(0x40, add(ptr, shl(5, n)))
        }
        Activations.activate(ptr, n, uint8(head), head >> 8, Fixed.expTable());
        assembly ("memory-safe") {
            return(ptr, shl(5, n))
        }
    }
}
