//! Typed bindings generated from the committed artifacts (`artifacts/*.json`), and the creation
//! code of every implementation. The artifacts test guarantees these are what `contracts/`
//! compiles to.

#![allow(clippy::too_many_arguments, missing_docs)]

use alloy::primitives::{Address, B256, Bytes, keccak256};
use alloy::sol;
use std::sync::OnceLock;

use super::ChainError;
use super::kind::LayerKind;
use super::step::Step;
use super::weights::create2_address;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    EternalFactory,
    "artifacts/EternalFactory.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    EternalModel,
    "artifacts/EternalModel.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    EternalJobs,
    "artifacts/EternalJobs.json"
);

sol!(
    #[derive(Debug, PartialEq, Eq)]
    EternalActivations,
    "artifacts/EternalActivations.json"
);

sol!(
    #[derive(Debug, PartialEq, Eq)]
    EternalConvKernel,
    "artifacts/EternalConvKernel.json"
);

sol! {
    /// `Fixed.ActivationsMissing`: a layer's rare activation (codes 7..19) found no code at
    /// [`activations_address`]. Declared in a library, so no interface artifact carries it; a
    /// test finds the same declaration in every activating layer's artifact.
    #[derive(Debug, PartialEq, Eq)]
    error ActivationsMissing(address activations);

    /// A narrowed int8/int16 convolution found no code at [`conv_kernel_address`]. A test finds
    /// the same declaration in Conv2DLayer's artifact.
    #[derive(Debug, PartialEq, Eq)]
    error ConvKernelMissing(address kernel);
}

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    ILayer,
    "artifacts/ILayer.json"
);

sol!(
    #[derive(Debug, PartialEq, Eq)]
    IForwardLayer,
    "artifacts/IForwardLayer.json"
);

/// The deterministic CREATE2 deployer (Arachnid's), present on anvil and most chains.
pub const CREATE2_DEPLOYER: Address =
    alloy::primitives::address!("4e59b44847b379578588920ca78fbf26c0b4956c");

/// `(contract name, artifact JSON)` of every implementation the factory deploys.
const IMPLEMENTATION_ARTIFACTS: [(&str, &str); 52] = [
    (
        "EternalModel",
        include_str!("../../artifacts/EternalModel.json"),
    ),
    (
        "InputLayer",
        include_str!("../../artifacts/InputLayer.json"),
    ),
    (
        "DenseLayer",
        include_str!("../../artifacts/DenseLayer.json"),
    ),
    (
        "FlattenLayer",
        include_str!("../../artifacts/FlattenLayer.json"),
    ),
    (
        "RescalingLayer",
        include_str!("../../artifacts/RescalingLayer.json"),
    ),
    (
        "MaxPooling2DLayer",
        include_str!("../../artifacts/MaxPooling2DLayer.json"),
    ),
    (
        "AveragePooling2DLayer",
        include_str!("../../artifacts/AveragePooling2DLayer.json"),
    ),
    (
        "Conv2DLayer",
        include_str!("../../artifacts/Conv2DLayer.json"),
    ),
    (
        "BatchNormalizationLayer",
        include_str!("../../artifacts/BatchNormalizationLayer.json"),
    ),
    (
        "EmbeddingLayer",
        include_str!("../../artifacts/EmbeddingLayer.json"),
    ),
    (
        "SimpleRNNLayer",
        include_str!("../../artifacts/SimpleRNNLayer.json"),
    ),
    ("LSTMLayer", include_str!("../../artifacts/LSTMLayer.json")),
    (
        "SoftmaxLayer",
        include_str!("../../artifacts/SoftmaxLayer.json"),
    ),
    (
        "SigmoidLayer",
        include_str!("../../artifacts/SigmoidLayer.json"),
    ),
    ("ReLULayer", include_str!("../../artifacts/ReLULayer.json")),
    (
        "LinearLayer",
        include_str!("../../artifacts/LinearLayer.json"),
    ),
    ("AddLayer", include_str!("../../artifacts/AddLayer.json")),
    (
        "DropoutLayer",
        include_str!("../../artifacts/DropoutLayer.json"),
    ),
    (
        "GlobalAveragePooling2DLayer",
        include_str!("../../artifacts/GlobalAveragePooling2DLayer.json"),
    ),
    (
        "ZeroPadding2DLayer",
        include_str!("../../artifacts/ZeroPadding2DLayer.json"),
    ),
    (
        "ConcatenateLayer",
        include_str!("../../artifacts/ConcatenateLayer.json"),
    ),
    ("TanhLayer", include_str!("../../artifacts/TanhLayer.json")),
    ("GRULayer", include_str!("../../artifacts/GRULayer.json")),
    (
        "Conv1DLayer",
        include_str!("../../artifacts/Conv1DLayer.json"),
    ),
    (
        "GlobalAveragePooling1DLayer",
        include_str!("../../artifacts/GlobalAveragePooling1DLayer.json"),
    ),
    (
        "ReshapeLayer",
        include_str!("../../artifacts/ReshapeLayer.json"),
    ),
    (
        "MultiplyLayer",
        include_str!("../../artifacts/MultiplyLayer.json"),
    ),
    (
        "MaxPooling1DLayer",
        include_str!("../../artifacts/MaxPooling1DLayer.json"),
    ),
    (
        "AveragePooling1DLayer",
        include_str!("../../artifacts/AveragePooling1DLayer.json"),
    ),
    (
        "GlobalMaxPooling1DLayer",
        include_str!("../../artifacts/GlobalMaxPooling1DLayer.json"),
    ),
    (
        "GlobalMaxPooling2DLayer",
        include_str!("../../artifacts/GlobalMaxPooling2DLayer.json"),
    ),
    (
        "UpSampling1DLayer",
        include_str!("../../artifacts/UpSampling1DLayer.json"),
    ),
    (
        "UpSampling2DLayer",
        include_str!("../../artifacts/UpSampling2DLayer.json"),
    ),
    (
        "Cropping1DLayer",
        include_str!("../../artifacts/Cropping1DLayer.json"),
    ),
    (
        "Cropping2DLayer",
        include_str!("../../artifacts/Cropping2DLayer.json"),
    ),
    (
        "ZeroPadding1DLayer",
        include_str!("../../artifacts/ZeroPadding1DLayer.json"),
    ),
    (
        "PermuteLayer",
        include_str!("../../artifacts/PermuteLayer.json"),
    ),
    (
        "RepeatVectorLayer",
        include_str!("../../artifacts/RepeatVectorLayer.json"),
    ),
    (
        "SubtractLayer",
        include_str!("../../artifacts/SubtractLayer.json"),
    ),
    (
        "AverageLayer",
        include_str!("../../artifacts/AverageLayer.json"),
    ),
    (
        "MaximumLayer",
        include_str!("../../artifacts/MaximumLayer.json"),
    ),
    (
        "MinimumLayer",
        include_str!("../../artifacts/MinimumLayer.json"),
    ),
    (
        "PReLULayer",
        include_str!("../../artifacts/PReLULayer.json"),
    ),
    ("ELULayer", include_str!("../../artifacts/ELULayer.json")),
    (
        "DepthwiseConv2DLayer",
        include_str!("../../artifacts/DepthwiseConv2DLayer.json"),
    ),
    (
        "SeparableConv2DLayer",
        include_str!("../../artifacts/SeparableConv2DLayer.json"),
    ),
    (
        "Conv2DTransposeLayer",
        include_str!("../../artifacts/Conv2DTransposeLayer.json"),
    ),
    (
        "LayerNormalizationLayer",
        include_str!("../../artifacts/LayerNormalizationLayer.json"),
    ),
    (
        "GroupNormalizationLayer",
        include_str!("../../artifacts/GroupNormalizationLayer.json"),
    ),
    (
        "MultiHeadAttentionLayer",
        include_str!("../../artifacts/MultiHeadAttentionLayer.json"),
    ),
    (
        "TimeDistributedLayer",
        include_str!("../../artifacts/TimeDistributedLayer.json"),
    ),
    (
        "BidirectionalLayer",
        include_str!("../../artifacts/BidirectionalLayer.json"),
    ),
];

/// What the factory deploys: the model implementation or one layer kind's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Implementation {
    Model,
    Layer(LayerKind),
}

impl Implementation {
    pub fn contract_name(self) -> &'static str {
        match self {
            Implementation::Model => "EternalModel",
            Implementation::Layer(k) => k.contract_name(),
        }
    }

    /// Creation code from the artifact.
    pub fn bytecode(self) -> Result<&'static Bytes, ChainError> {
        self.artifact().map(|c| &c.creation)
    }

    /// The code the deployed implementation runs (the artifact's `deployedBytecode`): what
    /// `eth_getCode` returns at [`Implementation::address`].
    pub fn runtime_code(self) -> Result<&'static Bytes, ChainError> {
        self.artifact().map(|c| &c.runtime)
    }

    fn artifact(self) -> Result<&'static Code, ChainError> {
        let name = self.contract_name();
        let table = bytecodes();
        table
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b)
            .ok_or_else(|| ChainError::Artifact {
                name: name.into(),
                why: "not among the embedded artifacts".into(),
            })?
            .as_ref()
            .map_err(|why| ChainError::Artifact {
                name: name.into(),
                why: why.clone(),
            })
    }

    /// Where the factory deploys it: `create2(factory, 0, keccak256(bytecode))`.
    pub fn address(self) -> Result<Address, ChainError> {
        Ok(create2_address(
            factory_address(),
            B256::ZERO,
            keccak256(self.bytecode()?),
        ))
    }
}

/// An implementation's creation and runtime code.
struct Code {
    creation: Bytes,
    runtime: Bytes,
}

type Table = Vec<(&'static str, Result<Code, String>)>;

fn bytecodes() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        IMPLEMENTATION_ARTIFACTS
            .iter()
            .map(|(name, json)| {
                let code = serde_json::from_str::<serde_json::Value>(json)
                    .map_err(|e| e.to_string())
                    .and_then(|v| {
                        Ok(Code {
                            creation: hex_field(&v, "bytecode")?,
                            runtime: hex_field(&v, "deployedBytecode")?,
                        })
                    });
                (*name, code)
            })
            .collect()
    })
}

/// A non-empty hex string field of an artifact.
fn hex_field(artifact: &serde_json::Value, field: &str) -> Result<Bytes, String> {
    let hex = artifact
        .get(field)
        .and_then(|b| b.as_str())
        .ok_or_else(|| format!("no \"{field}\" string"))?;
    let b = hex.parse::<Bytes>().map_err(|e| format!("{field}: {e}"))?;
    if b.is_empty() {
        Err(format!("empty {field}"))
    } else {
        Ok(b)
    }
}

/// The job contract's address on every chain that has the CREATE2 deployer:
/// `create2(0x4e59…, 0, keccak256(EternalJobs.bytecode))`. Placed like the factory, not by it:
/// the factory deploys only the implementations it clones (their hashes are fixed in
/// `Implementations.sol`), and the job contract is used directly, never cloned.
pub fn jobs_address() -> Address {
    create2_address(
        CREATE2_DEPLOYER,
        B256::ZERO,
        keccak256(&EternalJobs::BYTECODE),
    )
}

/// A stateless contract the layers call, one per chain: placed like the job contract, through
/// the CREATE2 deployer with salt 0, by every deployment before the layers (its own journal
/// step). The build compiles it first and writes its address into `contracts/lib/*Address.sol`,
/// where the layers read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shared {
    /// `EternalActivations`: the rare activations (codes 7..19) of every layer.
    Activations,
    /// `EternalConvKernel`: the dot loop of the narrowed int8/int16 convolutions.
    ConvKernel,
}

impl Shared {
    /// In deployment order.
    pub const ALL: [Shared; 2] = [Shared::Activations, Shared::ConvKernel];

    /// The contract's name (its artifact's).
    pub fn contract_name(self) -> &'static str {
        match self {
            Shared::Activations => "EternalActivations",
            Shared::ConvKernel => "EternalConvKernel",
        }
    }

    /// What it is, for messages ("the activations contract").
    pub fn description(self) -> &'static str {
        match self {
            Shared::Activations => "the activations contract",
            Shared::ConvKernel => "the convolution kernel contract",
        }
    }

    /// What the layers call it for, for messages.
    pub fn role(self) -> &'static str {
        match self {
            Shared::Activations => "the rare activations elu … log_softmax",
            Shared::ConvKernel => "the narrowed int8/int16 convolutions' dot loop",
        }
    }

    pub fn bytecode(self) -> &'static Bytes {
        match self {
            Shared::Activations => &EternalActivations::BYTECODE,
            Shared::ConvKernel => &EternalConvKernel::BYTECODE,
        }
    }

    pub fn deployed_bytecode(self) -> &'static Bytes {
        match self {
            Shared::Activations => &EternalActivations::DEPLOYED_BYTECODE,
            Shared::ConvKernel => &EternalConvKernel::DEPLOYED_BYTECODE,
        }
    }

    /// `create2(0x4e59…, 0, keccak256(bytecode))`, on every chain that has the CREATE2 deployer.
    pub fn address(self) -> Address {
        create2_address(CREATE2_DEPLOYER, B256::ZERO, keccak256(self.bytecode()))
    }

    /// The journal step placing it.
    pub fn step(self) -> Step {
        match self {
            Shared::Activations => Step::Activations,
            Shared::ConvKernel => Step::ConvKernel,
        }
    }

    /// The layer error (`ActivationsMissing`, `ConvKernelMissing`) saying a shared contract has
    /// no code on this chain: which one, and the address the layer called.
    pub fn missing_in(revert: &[u8]) -> Option<(Shared, Address)> {
        use alloy::sol_types::SolError;
        if let Ok(e) = ActivationsMissing::abi_decode(revert) {
            return Some((Shared::Activations, e.activations));
        }
        let e = ConvKernelMissing::abi_decode(revert).ok()?;
        Some((Shared::ConvKernel, e.kernel))
    }
}

/// The rare activations' contract (`EternalActivations`, codes 7..19 of every layer):
/// `contracts/lib/ActivationsAddress.sol`.
pub fn activations_address() -> Address {
    Shared::Activations.address()
}

/// The narrowed convolutions' kernel (`EternalConvKernel`): `contracts/lib/ConvKernelAddress.sol`.
pub fn conv_kernel_address() -> Address {
    Shared::ConvKernel.address()
}

/// The factory's address on every chain that has the CREATE2 deployer:
/// `create2(0x4e59…, 0, keccak256(EternalFactory.bytecode))`.
pub fn factory_address() -> Address {
    create2_address(
        CREATE2_DEPLOYER,
        B256::ZERO,
        keccak256(&EternalFactory::BYTECODE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implementation_has_code() {
        for kind in LayerKind::ALL {
            let b = Implementation::Layer(kind).bytecode().unwrap();
            assert!(b.len() > 100, "{kind:?}");
        }
        assert!(Implementation::Model.bytecode().unwrap().len() > 1000);
        assert!(!EternalFactory::BYTECODE.is_empty());
    }

    /// The address library the build wrote for the layers, and the constant in it, of each
    /// shared contract.
    fn address_library(shared: Shared) -> (&'static str, &'static str) {
        match shared {
            Shared::Activations => (
                include_str!("../../contracts/lib/ActivationsAddress.sol"),
                "activations",
            ),
            Shared::ConvKernel => (
                include_str!("../../contracts/lib/ConvKernelAddress.sol"),
                "conv_kernel",
            ),
        }
    }

    /// The address the build wrote for the layers is the one the client deploys to.
    #[test]
    fn layers_call_the_shared_contracts_the_client_places() {
        for shared in Shared::ALL {
            let (source, constant) = address_library(shared);
            let literal = format!("{constant} = {:#x};", shared.address());
            assert!(
                source.to_lowercase().contains(&literal),
                "{literal} not in {shared:?}'s address library"
            );
        }
        assert_ne!(activations_address(), conv_kernel_address());
    }

    /// `ActivationsMissing` and `ConvKernelMissing` as bound here are the errors Conv2DLayer's
    /// artifact declares, and each decodes to its contract.
    #[test]
    fn a_missing_shared_contract_is_the_layers_error() {
        use alloy::sol_types::SolError;
        let artifact: serde_json::Value =
            serde_json::from_str(include_str!("../../artifacts/Conv2DLayer.json")).unwrap();
        let declares = |name: &str| {
            artifact["abi"].as_array().unwrap().iter().any(|e| {
                e["type"] == "error"
                    && e["name"] == name
                    && e["inputs"][0]["type"] == "address"
                    && e["inputs"].as_array().map(Vec::len) == Some(1)
            })
        };
        let at = Address::repeat_byte(7);
        for (shared, signature, revert) in [
            (
                Shared::Activations,
                ActivationsMissing::SIGNATURE,
                ActivationsMissing { activations: at }.abi_encode(),
            ),
            (
                Shared::ConvKernel,
                ConvKernelMissing::SIGNATURE,
                ConvKernelMissing { kernel: at }.abi_encode(),
            ),
        ] {
            let name = signature.trim_end_matches("(address)");
            assert!(declares(name), "{name}");
            assert_eq!(Shared::missing_in(&revert), Some((shared, at)));
        }
    }
}
