// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEternalModel} from "./interfaces/IEternalModel.sol";
import {ILayer} from "./interfaces/ILayer.sol";
import {CodeStore} from "./lib/CodeStore.sol";
import {Implementations} from "./lib/Implementations.sol";

/// @title EternalFactory
/// @notice Deployed once per chain (itself via the deterministic CREATE2 deployer), it places
///         everything of an Eternal at CREATE2 addresses computable off-chain:
///         - implementations (model and one per layer kind) at salt 0 — once per chain, shared by
///           every model;
///         - models as EIP-1167 clones of the model implementation, salted by creator and salt;
///         - layers as EIP-1167 clones with the layer's arguments appended to their code.
///         It keeps no registry: an address is a function of the code it holds, so a verifier
///         recomputes it from the artifacts and the bundle instead of trusting a table.
///
///         It vouches only for eternalize's code: it deploys no initcode but the implementations'
///         (their hashes are fixed in `Implementations`), clones only those, and so everything at
///         one of its CREATE2 addresses is either an implementation or a clone of one. Models use
///         that to accept only layers this factory cloned (`EternalModel.constructModel`).
contract EternalFactory {
    /// @notice The initcode to deploy was empty.
    error EmptyInitcode();
    /// @notice The implementation address has no code.
    error ImplementationNotDeployed(address implementation);
    /// @notice `initcode` is not the creation code of one of eternalize's implementations.
    error UnknownImplementation(bytes32 initcodeHash);
    /// @notice `implementation` is not the model implementation deployed by this factory.
    error NotModelImplementation(address implementation);
    /// @notice `implementation` is not a layer implementation deployed by this factory.
    error NotLayerImplementation(address implementation);

    /// @notice An implementation was deployed at `implementation` from initcode hashing to `initcodeHash`.
    event ImplementationDeployed(address indexed implementation, bytes32 indexed initcodeHash);
    /// @notice A model clone of `implementation` was created for `owner`.
    event ModelCreated(address indexed model, address indexed owner, address indexed implementation, bytes32 salt);
    /// @notice A layer clone of `implementation` was created at `layer`.
    event LayerCreated(address indexed layer, address indexed implementation);

    /// @notice A layer clone to create: the kind's implementation and the arguments appended to the
    ///         clone's code, `abi.encode(address model, bytes config, WeightTensor[] tensors)`.
    struct LayerClone {
        address implementation;
        bytes args;
    }

    /// @notice Deploys `initcode` with CREATE2 salt 0, or returns the existing contract.
    /// @dev Idempotent and permissionless: the address commits to the initcode, so whoever sends it
    ///      first deploys exactly the same contract. Only the implementations' creation code is
    ///      accepted (`Implementations.isImplementation`).
    /// @param initcode Creation code of an implementation (an artifact's `bytecode`).
    /// @return implementation Its address, `implementationAddress(keccak256(initcode))`.
    function deployImplementation(bytes calldata initcode) external returns (address implementation) {
        if (initcode.length == 0) revert EmptyInitcode();
        bytes32 hash = keccak256(initcode);
        if (!Implementations.isImplementation(hash)) revert UnknownImplementation(hash);
        implementation = CodeStore.predict(address(this), bytes32(0), hash);
        if (implementation.code.length != 0) return implementation;
        bytes memory code = initcode;
        CodeStore.deploy(code, bytes32(0));
        emit ImplementationDeployed(implementation, hash);
    }

    /// @notice Creates a model clone of `implementation` owned by the caller.
    /// @param implementation The model implementation, `modelImplementation()`; anything else
    ///        reverts `NotModelImplementation`.
    /// @param salt Caller-chosen salt; the clone's CREATE2 salt is `keccak256(abi.encode(caller, salt))`,
    ///        so nobody else can take the caller's address.
    /// @return model The new model, already initialized with the caller as owner.
    function createModel(address implementation, bytes32 salt) external returns (address model) {
        if (implementation != modelImplementation()) revert NotModelImplementation(implementation);
        if (implementation.code.length == 0) revert ImplementationNotDeployed(implementation);
        model = CodeStore.deploy(CodeStore.cloneInitcode(implementation, ""), _modelSalt(msg.sender, salt));
        IEternalModel(model).initialize(msg.sender);
        emit ModelCreated(model, msg.sender, implementation, salt);
    }

    /// @notice Creates layer clones, skipping those that already exist.
    /// @dev Idempotent: a clone's address commits to its implementation and arguments. Each
    ///      implementation must be a layer implementation of this factory: its `layerKind()` names a
    ///      kind, and it sits at the address of that kind's creation code (`layerImplementation`).
    /// @param layers The clones to create, any number per call (mind the block gas limit).
    /// @return addresses The clone addresses, in the order given.
    function createLayers(LayerClone[] calldata layers) external returns (address[] memory addresses) {
        addresses = new address[](layers.length);
        for (uint256 i; i < layers.length; ++i) {
            address implementation = layers[i].implementation;
            if (implementation.code.length == 0) revert ImplementationNotDeployed(implementation);
            _requireLayerImplementation(implementation);
            bytes memory initcode = CodeStore.cloneInitcode(implementation, layers[i].args);
            address layer = CodeStore.predict(address(this), bytes32(0), keccak256(initcode));
            if (layer.code.length == 0) {
                CodeStore.deploy(initcode, bytes32(0));
                emit LayerCreated(layer, implementation);
            }
            addresses[i] = layer;
        }
    }

    /// @notice Address of the implementation deployed from initcode hashing to `initcodeHash`.
    /// @param initcodeHash keccak256 of the implementation's creation code.
    /// @return The CREATE2 address (it may not be deployed yet).
    function implementationAddress(bytes32 initcodeHash) external view returns (address) {
        return CodeStore.predict(address(this), bytes32(0), initcodeHash);
    }

    /// @notice Address of the model implementation (where `deployImplementation` puts `EternalModel`).
    function modelImplementation() public view returns (address) {
        return CodeStore.predict(address(this), bytes32(0), Implementations.MODEL);
    }

    /// @notice Address of the implementation of layer kind `kind`; zero when there is no such kind.
    function layerImplementation(uint16 kind) external view returns (address) {
        bytes32 hash = Implementations.layer(kind);
        return hash == bytes32(0) ? address(0) : CodeStore.predict(address(this), bytes32(0), hash);
    }

    /// @notice Address `createModel(implementation, salt)` gives when called by `creator`.
    /// @param implementation The model implementation.
    /// @param creator The account that will call `createModel` (and own the model).
    /// @param salt The caller-chosen salt.
    /// @return The model's CREATE2 address.
    function modelAddress(address implementation, address creator, bytes32 salt) external view returns (address) {
        bytes32 hash = keccak256(CodeStore.cloneInitcode(implementation, ""));
        return CodeStore.predict(address(this), _modelSalt(creator, salt), hash);
    }

    /// @notice Address of the layer clone of `implementation` carrying `args`.
    /// @param implementation The layer kind's implementation.
    /// @param args The clone's arguments (see `LayerClone`).
    /// @return The clone's CREATE2 address.
    function layerAddress(address implementation, bytes calldata args) external view returns (address) {
        return CodeStore.predict(address(this), bytes32(0), keccak256(CodeStore.cloneInitcode(implementation, args)));
    }

    /// @dev Reverts `NotLayerImplementation` unless `implementation` (which has code) answers a
    ///      `layerKind()` whose implementation address is `implementation` itself. A foreign contract
    ///      can answer any kind, but cannot sit at the CREATE2 address of our creation code.
    function _requireLayerImplementation(address implementation) internal view {
        (bool ok, bytes memory ret) = implementation.staticcall(abi.encodeCall(ILayer.layerKind, ()));
        if (!ok || ret.length != 32) revert NotLayerImplementation(implementation);
        uint256 kind = abi.decode(ret, (uint256));
        bytes32 hash = Implementations.layer(kind);
        if (hash == bytes32(0) || CodeStore.predict(address(this), bytes32(0), hash) != implementation) {
            revert NotLayerImplementation(implementation);
        }
    }

    function _modelSalt(address creator, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(creator, salt));
    }
}
