// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title CodeStore
/// @notice Contracts whose code is data: weight chunks ("data contracts", SSTORE2-style) and
///         EIP-1167 minimal proxies with immutable arguments appended ("clones"). Both are created
///         with CREATE2 from one initcode shape, `DEPLOYER_PREFIX ‖ runtime`, so their addresses can
///         be computed off-chain from the runtime bytes alone.
library CodeStore {
    /// @notice The runtime to deploy is empty or longer than EIP-170 allows.
    error RuntimeSizeOutOfRange(uint256 runtimeBytes);
    /// @notice CREATE2 returned no contract (address already taken, or out of gas).
    error Create2Failed(bytes32 salt);

    /// @dev Initcode prefix that returns the code following it as the runtime (10 bytes):
    ///      61 LLLL   PUSH2 L     runtime length
    ///      80        DUP1
    ///      60 0a     PUSH1 10    runtime starts right after this prefix
    ///      5f        PUSH0       memory destination 0
    ///      39        CODECOPY    memory[0, L) = code[10, 10 + L)
    ///      5f        PUSH0
    ///      f3        RETURN      return memory[0, L)
    uint256 internal constant PREFIX_BYTES = 10;
    /// @dev EIP-170.
    uint256 internal constant MAX_RUNTIME_BYTES = 24_576;
    /// @dev A data contract's runtime is `0x00 ‖ data`: STOP first, so calling it does nothing.
    uint256 internal constant MAX_DATA_BYTES = MAX_RUNTIME_BYTES - 1;
    /// @dev EIP-1167 runtime length; immutable arguments of a clone start at this code offset.
    uint256 internal constant CLONE_RUNTIME_BYTES = 45;

    /// @notice Initcode of the data contract holding `data` (runtime `0x00 ‖ data`).
    /// @dev Layout: 61 LLLL 80 600a 5f 39 5f f3 | 00 | data, with L = data.length + 1.
    function dataInitcode(bytes calldata data) internal pure returns (bytes memory initcode) {
        uint256 runtime = data.length + 1;
        if (runtime > MAX_RUNTIME_BYTES) revert RuntimeSizeOutOfRange(runtime);
        assembly ("memory-safe") {
            initcode := mload(0x40)
            let len := add(11, data.length)
            mstore(initcode, len)
            // 11 bytes: prefix (10) then the STOP byte, left-aligned in one word.
            mstore(add(initcode, 0x20), shl(168, or(or(shl(80, 0x61), shl(64, runtime)), 0x80600a5f395ff300)))
            calldatacopy(add(initcode, 0x2b), data.offset, data.length)
            mstore(0x40, add(add(initcode, 0x20), and(add(len, 31), not(31))))
        }
    }

    /// @notice Initcode of an EIP-1167 clone of `implementation` with `args` appended to its code.
    /// @dev Runtime (45 + args.length bytes):
    ///      363d3d373d3d3d363d73 <implementation, 20 bytes> 5af43d82803e903d91602b57fd5bf3 | args
    ///      The proxy forwards calldata unchanged; the implementation reads `args` with
    ///      EXTCODECOPY(clone, ..., 45, ...): `address()` in the clone's context, or the clone
    ///      a direct call names (`LayerBase._home`).
    function cloneInitcode(address implementation, bytes memory args) internal pure returns (bytes memory initcode) {
        uint256 runtime = CLONE_RUNTIME_BYTES + args.length;
        if (runtime > MAX_RUNTIME_BYTES) revert RuntimeSizeOutOfRange(runtime);
        initcode = abi.encodePacked(
            bytes3(uint24(0x610000 | runtime)),
            bytes7(0x80600a5f395ff3),
            bytes10(0x363d3d373d3d3d363d73),
            implementation,
            bytes15(0x5af43d82803e903d91602b57fd5bf3),
            args
        );
    }

    /// @notice Initcode that deploys `runtime` as-is (used by tests and off-chain tools as reference).
    function rawInitcode(bytes memory runtime) internal pure returns (bytes memory) {
        if (runtime.length == 0 || runtime.length > MAX_RUNTIME_BYTES) revert RuntimeSizeOutOfRange(runtime.length);
        return abi.encodePacked(bytes3(uint24(0x610000 | runtime.length)), bytes7(0x80600a5f395ff3), runtime);
    }

    /// @notice CREATE2 `initcode` with `salt`; reverts if nothing was deployed.
    function deploy(bytes memory initcode, bytes32 salt) internal returns (address deployed) {
        assembly ("memory-safe") {
            deployed := create2(0, add(initcode, 0x20), mload(initcode), salt)
        }
        if (deployed == address(0)) revert Create2Failed(salt);
    }

    /// @notice The CREATE2 address `deployer` gets for `salt` and an initcode hashing to `initcodeHash`.
    function predict(address deployer, bytes32 salt, bytes32 initcodeHash) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), deployer, salt, initcodeHash)))));
    }
}
