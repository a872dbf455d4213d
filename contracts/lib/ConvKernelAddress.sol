// SPDX-License-Identifier: MIT
// Placeholder until scripts/build-contracts.mjs generates it from EternalConvKernel's creation code.
pragma solidity 0.8.30;

/// @title ConvKernelAddress
/// @notice Where `EternalConvKernel` (the narrowed convolutions' dot loop and emit) is on every
///         chain with the deterministic CREATE2 deployer.
library ConvKernelAddress {
    address internal constant CONV_KERNEL = 0x0000000000000000000000000000000000000000;
}
