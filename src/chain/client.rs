//! Deploying one transaction at a time, for tests: an alloy HTTP provider with a local signer and
//! typed wrappers for each step of the deployment sequence (contracts/README.md). Reads of what
//! landed go through the one JSON-RPC client ([`Rpc`], `chain::read`), as every command's do.
//!
//! Sends one transaction at a time and waits for its receipt; the engine (src/engine) pipelines,
//! and no user command sends through this. Never logs or returns the key.

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use std::time::Duration;

use super::bindings::{
    CREATE2_DEPLOYER, EternalFactory, EternalModel, ILayer, Implementation, Shared, factory_address,
};
use super::image::{ModelImage, model_address};
use super::read::read_error;
use super::rpc::{Rpc, redact_url};
use super::{ChainError, Revert};

/// Layer clones per `createLayers` transaction: ~130k gas each, so a batch stays far below the
/// 16,777,216 per-transaction cap.
pub const LAYERS_PER_TX: usize = 32;

/// A mined, successful transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub tx_hash: B256,
    pub gas_used: u64,
}

/// A contract that is there now, with the transaction that put it there (`None` when it was
/// already deployed and nothing was sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployed {
    pub address: Address,
    pub sent: Option<Sent>,
}

/// What a model contract reports about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelState {
    pub owner: Address,
    pub constructed: bool,
    pub ready: bool,
    pub chunks_received: u64,
    pub layout: EternalModel::WeightLayout,
    pub graph_hash: B256,
    pub weights_hash: B256,
    pub layers: Vec<EternalModel::LayerLink>,
}

impl ModelState {
    /// The model's inputs: the layers that read no other layer, in layer order (the contract's
    /// rule; input k of `predict` feeds the k-th). A nested model's InputLayer reads the layer
    /// before it and only passes its value through, so it is not one.
    pub fn input_layers(&self) -> Vec<usize> {
        input_layers(self.layers.iter().map(|l| l.inputs.len()))
    }
}

/// [`ModelState::input_layers`]'s rule over the number of layers each layer reads.
pub fn input_layers(reads: impl IntoIterator<Item = usize>) -> Vec<usize> {
    reads
        .into_iter()
        .enumerate()
        .filter(|&(_, n)| n == 0)
        .map(|(i, _)| i)
        .collect()
}

/// A connection to one chain as one account: sends through alloy's provider, reads through
/// [`Rpc`]. No `Debug`: alloy's provider would print the URL with its key.
#[derive(Clone)]
pub struct Chain {
    provider: DynProvider,
    rpc: Rpc,
    sender: Address,
    receipt_timeout: Duration,
}

/// Parses a hex private key. The error never contains the key.
pub fn signer_from_hex(key: &str) -> Result<PrivateKeySigner, ChainError> {
    key.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| ChainError::Key)
}

fn call_error(action: String, e: alloy::contract::Error) -> ChainError {
    match e.as_revert_data() {
        Some(data) => ChainError::Reverted {
            action,
            revert: Box::new(Revert::decode(&data)),
        },
        None => ChainError::Call {
            action,
            source: Box::new(e),
        },
    }
}

impl Chain {
    /// Connects to the JSON-RPC endpoint at `url`, signing locally with `signer`.
    pub fn connect(url: &str, signer: PrivateKeySigner) -> Result<Chain, ChainError> {
        let parsed = url.parse().map_err(|_| ChainError::Url(redact_url(url)))?;
        let rpc = Rpc::connect(url).map_err(|_| ChainError::Url(redact_url(url)))?;
        let sender = signer.address();
        // Not `ProviderBuilder::new()`: its cached nonce manager counts a nonce for a call whose
        // gas estimate reverted, and every later transaction then waits forever behind the gap
        // (alloy issue 2385). Asking the node each time costs one request and cannot drift.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(EthereumWallet::from(signer))
            .connect_http(parsed)
            .erased();
        Ok(Chain {
            provider,
            rpc,
            sender,
            receipt_timeout: Duration::from_secs(120),
        })
    }

    pub fn sender(&self) -> Address {
        self.sender
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The JSON-RPC client reads go through.
    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// How long to wait for a receipt before giving up on a transaction.
    pub fn with_receipt_timeout(mut self, timeout: Duration) -> Chain {
        self.receipt_timeout = timeout;
        self
    }

    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        self.rpc
            .chain_id()
            .await
            .map_err(|f| read_error("read the chain id".into(), f))
    }

    pub async fn has_code(&self, address: Address) -> Result<bool, ChainError> {
        self.rpc.has_code(address).await
    }

    /// Sends a prepared contract call and waits for a successful receipt.
    async fn send<C: SolCall>(
        &self,
        action: impl Fn() -> String,
        call: alloy::contract::SolCallBuilder<&DynProvider, C>,
    ) -> Result<Sent, ChainError> {
        let pending = call.send().await.map_err(|e| call_error(action(), e))?;
        self.wait(action, pending).await
    }

    async fn wait(
        &self,
        action: impl Fn() -> String,
        pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    ) -> Result<Sent, ChainError> {
        let tx_hash = *pending.tx_hash();
        // On an automining node the receipt exists as soon as the send returns; asking once
        // saves the watcher's first poll interval on every transaction.
        let ready = self
            .provider
            .get_transaction_receipt(tx_hash)
            .await
            .ok()
            .flatten();
        let receipt = match ready {
            Some(r) => r,
            None => pending
                .with_timeout(Some(self.receipt_timeout))
                .get_receipt()
                .await
                .map_err(|source| ChainError::Pending {
                    action: action(),
                    tx: tx_hash,
                    source: Box::new(source),
                })?,
        };
        if !receipt.inner.status() {
            return Err(ChainError::Failed {
                action: action(),
                tx: tx_hash,
                gas_used: receipt.gas_used,
            });
        }
        Ok(Sent {
            tx_hash,
            gas_used: receipt.gas_used,
        })
    }

    /// Deploys the factory through the CREATE2 deployer unless it is already there.
    pub async fn deploy_factory(&self) -> Result<Deployed, ChainError> {
        self.deploy_by_create2_deployer(&EternalFactory::BYTECODE, factory_address(), "the factory")
            .await
    }

    /// Places the job contract (`EternalJobs`) through the CREATE2 deployer unless it is there.
    pub async fn deploy_jobs(&self) -> Result<Deployed, ChainError> {
        self.deploy_by_create2_deployer(
            &super::bindings::EternalJobs::BYTECODE,
            super::bindings::jobs_address(),
            "the job contract",
        )
        .await
    }

    /// Places a shared contract the layers call (`EternalActivations`, `EternalConvKernel`)
    /// through the CREATE2 deployer unless it is there.
    pub async fn deploy_shared(&self, shared: Shared) -> Result<Deployed, ChainError> {
        self.deploy_by_create2_deployer(shared.bytecode(), shared.address(), shared.description())
            .await
    }

    /// Sends `bytecode` to the CREATE2 deployer with salt 0 unless `address` has code already.
    async fn deploy_by_create2_deployer(
        &self,
        bytecode: &[u8],
        address: Address,
        what: &str,
    ) -> Result<Deployed, ChainError> {
        if self.has_code(address).await? {
            return Ok(Deployed {
                address,
                sent: None,
            });
        }
        if !self.has_code(CREATE2_DEPLOYER).await? {
            return Err(ChainError::NoCreate2Deployer);
        }
        let mut data = vec![0u8; 32];
        data.extend_from_slice(bytecode);
        let tx = TransactionRequest::default()
            .with_to(CREATE2_DEPLOYER)
            .with_input(Bytes::from(data));
        let action = || format!("deploy {what} at {address}");
        let pending = self.provider.send_transaction(tx).await.map_err(|source| {
            match source.as_error_resp().and_then(|r| r.as_revert_data()) {
                Some(data) => ChainError::Reverted {
                    action: action(),
                    revert: Box::new(Revert::decode(&data)),
                },
                None => ChainError::Rpc {
                    action: action(),
                    source: Box::new(source),
                },
            }
        })?;
        let sent = self.wait(action, pending).await?;
        if !self.has_code(address).await? {
            return Err(ChainError::Mismatch(format!(
                "the transaction placing {what} ({}) succeeded but {address} has no code; the CREATE2 deployer on this chain is not the standard one",
                sent.tx_hash
            )));
        }
        Ok(Deployed {
            address,
            sent: Some(sent),
        })
    }

    /// Deploys an implementation through the factory unless its code is already there.
    pub async fn deploy_implementation(
        &self,
        implementation: Implementation,
    ) -> Result<Deployed, ChainError> {
        let address = implementation.address()?;
        if self.has_code(address).await? {
            return Ok(Deployed {
                address,
                sent: None,
            });
        }
        let factory = EternalFactory::new(factory_address(), self.provider.clone());
        let bytecode = implementation.bytecode()?.clone();
        let sent = self
            .send(
                || {
                    format!(
                        "deploy the {} implementation",
                        implementation.contract_name()
                    )
                },
                factory.deployImplementation(bytecode),
            )
            .await?;
        Ok(Deployed {
            address,
            sent: Some(sent),
        })
    }

    /// Creates the model clone owned by this account for `salt` (or finds it).
    pub async fn create_model(&self, salt: B256) -> Result<Deployed, ChainError> {
        let address = model_address(self.sender, salt)?;
        if self.has_code(address).await? {
            return Ok(Deployed {
                address,
                sent: None,
            });
        }
        let factory = EternalFactory::new(factory_address(), self.provider.clone());
        let implementation = Implementation::Model.address()?;
        let sent = self
            .send(
                || format!("create the model clone {address}"),
                factory.createModel(implementation, salt),
            )
            .await?;
        Ok(Deployed {
            address,
            sent: Some(sent),
        })
    }

    /// Creates the image's layer clones that are not deployed yet, [`LAYERS_PER_TX`] per
    /// transaction.
    pub async fn create_layers(&self, image: &ModelImage) -> Result<Vec<Sent>, ChainError> {
        let mut missing = Vec::new();
        for (i, l) in image.layers.iter().enumerate() {
            if !self.has_code(l.address).await? {
                missing.push(i);
            }
        }
        let clones = image.clones();
        let factory = EternalFactory::new(factory_address(), self.provider.clone());
        let mut sent = Vec::new();
        for batch in missing.chunks(LAYERS_PER_TX) {
            let list = batch.iter().map(|&i| clones[i].clone()).collect();
            let (first, last) = (batch[0], batch[batch.len() - 1]);
            sent.push(
                self.send(
                    || format!("create layers #{first}..#{last}"),
                    factory.createLayers(list),
                )
                .await?,
            );
        }
        Ok(sent)
    }

    /// `constructModel` with the image's hashes, links and weight layout.
    pub async fn construct_model(&self, image: &ModelImage) -> Result<Sent, ChainError> {
        let model = EternalModel::new(image.model, self.provider.clone());
        let call = model.constructModel(
            image.graph_hash,
            image.weights_hash,
            image.links(),
            image.layout(),
        );
        self.send(|| format!("construct the model {}", image.model), call)
            .await
    }

    /// Stores chunk `index` of the image with its Merkle proof.
    pub async fn store_chunk(&self, image: &ModelImage, index: usize) -> Result<Sent, ChainError> {
        let data = Bytes::copy_from_slice(image.chunk(index));
        self.store_chunk_raw(
            image.model,
            U256::from(index),
            data,
            image.chunks.proof(index),
        )
        .await
    }

    /// `storeChunk(index, data, proof)` exactly as given (tests send wrong ones on purpose).
    pub async fn store_chunk_raw(
        &self,
        model: Address,
        index: U256,
        data: Bytes,
        proof: Vec<B256>,
    ) -> Result<Sent, ChainError> {
        let contract = EternalModel::new(model, self.provider.clone());
        self.send(
            || format!("store chunk {index} of {model}"),
            contract.storeChunk(index, data, proof),
        )
        .await
    }

    // ---- reads, through the one JSON-RPC client (`chain::read`) ----

    /// The runtime code at `address` (empty when there is none).
    pub async fn code_at(&self, address: Address) -> Result<Bytes, ChainError> {
        self.rpc.code_at(address).await
    }

    /// Everything the model contract says about itself.
    pub async fn model_state(&self, model: Address) -> Result<ModelState, ChainError> {
        self.rpc.model_state(model).await
    }

    pub async fn is_ready(&self, model: Address) -> Result<bool, ChainError> {
        self.rpc.is_ready(model).await
    }

    pub async fn chunks_received(&self, model: Address) -> Result<u64, ChainError> {
        self.rpc.chunks_received(model).await
    }

    /// Data contract of chunk `index` (zero while missing).
    pub async fn chunk_address(&self, model: Address, index: usize) -> Result<Address, ChainError> {
        self.rpc.chunk_address(model, index).await
    }

    /// Raw bytes `[start, start + length)` of the stored weight blob.
    pub async fn weight_bytes(
        &self,
        model: Address,
        start: usize,
        length: usize,
    ) -> Result<Bytes, ChainError> {
        self.rpc.weight_bytes(model, start, length).await
    }

    /// A layer's tensor list as deployed.
    pub async fn layer_tensors(
        &self,
        layer: Address,
    ) -> Result<Vec<ILayer::WeightTensor>, ChainError> {
        self.rpc.layer_tensors(layer).await
    }

    /// A layer's ABI-encoded config as deployed.
    pub async fn layer_config(&self, layer: Address) -> Result<Bytes, ChainError> {
        self.rpc.layer_config(layer).await
    }

    /// Asks the layer to decode and range-check its own config.
    pub async fn check_layer_config(&self, layer: Address) -> Result<bool, ChainError> {
        self.rpc.check_layer_config(layer).await
    }

    /// Values `[start, start + count)` of tensor `tensor` of `layer`, decoded to Q32.32 by the
    /// layer contract.
    pub async fn layer_weights(
        &self,
        layer: Address,
        tensor: usize,
        start: u64,
        count: u64,
    ) -> Result<Vec<i64>, ChainError> {
        self.rpc.layer_weights(layer, tensor, start, count).await
    }
}

/// Gas of everything [`Chain::prepare`] sent, by step.
#[derive(Clone, Debug, Default)]
pub struct Prepared {
    pub factory: Option<Sent>,
    /// The shared contracts sent now (already deployed ones are absent).
    pub shared: Vec<(Shared, Sent)>,
    /// Implementations sent now (already deployed ones are absent).
    pub implementations: Vec<(Implementation, Sent)>,
    pub model: Option<Sent>,
    pub layers: Vec<Sent>,
    pub construct: Option<Sent>,
}

impl Chain {
    /// Steps 1–5 of the deployment sequence for `spec`: factory, shared contracts (activations,
    /// convolution kernel) and implementations (when missing), the model clone for `salt`, its
    /// layer clones, `constructModel`. What remains is storing the image's chunks.
    pub async fn prepare(
        &self,
        spec: &super::ModelSpec,
        format: super::WeightFormat,
        chunk_bytes: usize,
        salt: B256,
    ) -> Result<(ModelImage, Prepared), ChainError> {
        let mut done = Prepared {
            factory: self.deploy_factory().await?.sent,
            ..Prepared::default()
        };
        for shared in Shared::ALL {
            if let Some(sent) = self.deploy_shared(shared).await?.sent {
                done.shared.push((shared, sent));
            }
        }
        for implementation in spec.implementations() {
            if let Some(sent) = self.deploy_implementation(implementation).await?.sent {
                done.implementations.push((implementation, sent));
            }
        }
        let model = self.create_model(salt).await?;
        done.model = model.sent;
        let image = ModelImage::new(spec, format, chunk_bytes, model.address)?;
        done.layers = self.create_layers(&image).await?;
        done.construct = Some(self.construct_model(&image).await?);
        Ok((image, done))
    }
}
