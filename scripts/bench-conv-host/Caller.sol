// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Caller (spike, branch `convhost`)
/// @notice Measures a STATICCALL to ConvKernel as a layer would make it: calldata = the kernel's
///         address word, the output's word count, then the kernel's raw calldata. The payload and
///         the output buffer are in memory (touched) before the measurement, as a layer has them
///         already; measured: the call (cold address), the callee's work and memory, and the
///         RETURNDATACOPY into the buffer. Returns the gas, then the output words.
contract Caller {
    fallback() external {
        assembly {
            let k := calldataload(0)
            let outBytes := shl(5, calldataload(0x20))
            let len := sub(calldatasize(), 0x40)
            let p := 0x80
            calldatacopy(p, 0x40, len)
            let o := add(p, len)
            mstore(add(o, outBytes), 0)
            let g0 := gas()
            if iszero(staticcall(gas(), k, p, len, 0, 0)) { revert(0, 0) }
            returndatacopy(add(o, 0x20), 0, returndatasize())
            let used := sub(g0, gas())
            mstore(o, used)
            return(o, add(0x20, returndatasize()))
        }
    }
}
