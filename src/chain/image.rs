//! A model as the chain will hold it, computed before anything is sent: the layers (kind,
//! config, inputs, tensors), the weight blob and its chunks, every address, and the exact
//! arguments of every call. Pure: two runs give the same bytes, so an engine can sign all
//! transactions up front and a verifier can recompute everything from the bundle.

use alloy::primitives::{Address, B256, Bytes, keccak256};
use alloy::sol_types::SolValue;
use std::collections::BTreeSet;

use super::ChainError;
use super::bindings::{EternalFactory, EternalModel, ILayer, Implementation, factory_address};
use super::config::{LayerSource, encode_config};
use super::kind::LayerKind;
use super::weights::{
    Chunks, MAX_CHUNK_BYTES, TensorSpan, WeightBlob, WeightFormat, clone_initcode, create2_address,
};

/// One layer, ready to deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerSpec {
    pub name: String,
    pub kind: LayerKind,
    /// ABI-encoded config (contracts/README.md, "Config encodings").
    pub config: Vec<u8>,
    /// Positions of the layers feeding this one (all earlier).
    pub inputs: Vec<u16>,
    /// The layer's weight tensors in Keras `get_weights()` order.
    pub tensors: Vec<TensorSpan>,
}

/// What a layer is built from: its config source, links and tensor sizes.
#[derive(Clone, Debug)]
pub struct LayerEntry<'a> {
    pub source: LayerSource<'a>,
    pub inputs: Vec<u16>,
    /// Each tensor's shape (its product = real values, padding excluded), `get_weights()` order.
    pub tensor_shapes: Vec<Vec<u64>>,
}

/// A model in chain terms, independent of where it goes.
#[derive(Clone, Debug)]
pub struct ModelSpec {
    pub layers: Vec<LayerSpec>,
    /// The bundle's weights: four Q32.32 lanes per word, lane 0 most significant.
    pub words: Vec<[u64; 4]>,
    /// First half of `hashed_model` (SHA-256 of the graph JSON).
    pub graph_hash: B256,
    /// Second half of `hashed_model` (SHA-256 of the weights JSON).
    pub weights_hash: B256,
}

/// Splits `hashed_model` (128 hex digits) into its two digests.
pub fn split_hashed_model(hashed_model: &str) -> Result<(B256, B256), ChainError> {
    let bad = || {
        ChainError::Bundle(format!(
            "`hashed_model` must be 128 hex digits (two SHA-256s), found {} characters",
            hashed_model.len()
        ))
    };
    if hashed_model.len() != 128 || !hashed_model.is_ascii() {
        return Err(bad());
    }
    let graph = hashed_model[..64].parse::<B256>().map_err(|_| bad())?;
    let weights = hashed_model[64..].parse::<B256>().map_err(|_| bad())?;
    Ok((graph, weights))
}

impl ModelSpec {
    /// Builds the spec. Tensors are laid out as the bundle lays them out: consecutively, each
    /// padded to a whole word (4 slots); their total must be exactly `words`.
    pub fn build(
        entries: &[LayerEntry<'_>],
        words: Vec<[u64; 4]>,
        hashed_model: &str,
    ) -> Result<ModelSpec, ChainError> {
        let (graph_hash, weights_hash) = split_hashed_model(hashed_model)?;
        if entries.len() > usize::from(u16::MAX) {
            return Err(ChainError::Bundle(format!(
                "the model has {} layers; the model contract links at most {}",
                entries.len(),
                u16::MAX
            )));
        }
        let mut next_slot = 0u64;
        let mut layers = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let (kind, config) = encode_config(e.source)?;
            if let Some(&bad) = e.inputs.iter().find(|&&k| usize::from(k) >= i) {
                return Err(ChainError::Bundle(format!(
                    "layer #{i} '{}' takes input from layer #{bad}, which is not an earlier layer",
                    e.source.name
                )));
            }
            let tensors = e
                .tensor_shapes
                .iter()
                .map(|shape| {
                    let t = TensorSpan::of_shape(next_slot, shape);
                    next_slot += t.length.div_ceil(4) * 4;
                    t
                })
                .collect();
            layers.push(LayerSpec {
                name: e.source.name.to_string(),
                kind,
                config,
                inputs: e.inputs.clone(),
                tensors,
            });
        }
        if next_slot != words.len() as u64 * 4 {
            return Err(ChainError::Bundle(format!(
                "the layers' weight tensors fill {} words but the bundle has {} weight words",
                next_slot / 4,
                words.len()
            )));
        }
        Ok(ModelSpec {
            layers,
            words,
            graph_hash,
            weights_hash,
        })
    }

    /// The chain's half of `crate::infer::fuse` (the reference graph does the same): each
    /// convolution whose only reader is a max pooling, with a monotone activation, gets
    /// `linear` as its first config word (every convolution config starts with its activation
    /// code) and the pooling a trailing word with that code, which the pooling contracts apply
    /// after pooling (`Pooling2DBase`, `Pooling1DBase`). `outputs`: the model's output layers.
    pub fn fuse_pool_activations(&mut self, outputs: &[usize]) {
        use crate::infer::fuse::{Role, pool_fusions};
        let roles: Vec<Role> = self
            .layers
            .iter()
            .map(|l| match l.kind {
                LayerKind::Conv1D
                | LayerKind::Conv2D
                | LayerKind::DepthwiseConv2D
                | LayerKind::SeparableConv2D
                | LayerKind::Conv2DTranspose
                    if l.config.len() >= 32 && l.config[..31].iter().all(|&b| b == 0) =>
                {
                    Role::Conv(l.config[31])
                }
                LayerKind::MaxPooling1D | LayerKind::MaxPooling2D => Role::MaxPool,
                _ => Role::Other,
            })
            .collect();
        let inputs: Vec<Vec<usize>> = self
            .layers
            .iter()
            .map(|l| l.inputs.iter().map(|&i| usize::from(i)).collect())
            .collect();
        let linear = super::config::activation_code("linear").unwrap_or(1);
        for (c, p) in pool_fusions(&roles, &inputs, outputs) {
            let code = self.layers[c].config[31];
            self.layers[c].config[31] = linear;
            let mut word = [0u8; 32];
            word[31] = code;
            self.layers[p].config.extend_from_slice(&word);
        }
    }

    /// Real weight values (padding excluded).
    pub fn params(&self) -> u64 {
        self.layers
            .iter()
            .flat_map(|l| &l.tensors)
            .map(|t| t.length)
            .sum()
    }

    /// The implementations this model needs: the model's and one per layer kind used.
    pub fn implementations(&self) -> BTreeSet<Implementation> {
        std::iter::once(Implementation::Model)
            .chain(self.layers.iter().map(|l| Implementation::Layer(l.kind)))
            .collect()
    }
}

/// `keccak256(abi.encode(creator, salt))`, the CREATE2 salt of a model clone.
pub fn model_salt(creator: Address, salt: B256) -> B256 {
    keccak256((creator, salt).abi_encode_params())
}

/// Address `factory.createModel(modelImpl, salt)` gives when `creator` calls it.
pub fn model_address(creator: Address, salt: B256) -> Result<Address, ChainError> {
    let implementation = Implementation::Model.address()?;
    let initcode = clone_initcode(implementation, &[])?;
    Ok(create2_address(
        factory_address(),
        model_salt(creator, salt),
        keccak256(initcode),
    ))
}

/// One layer clone as it will be created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerImage {
    pub name: String,
    pub kind: LayerKind,
    pub implementation: Address,
    /// `abi.encode(address model, bytes config, WeightTensor[] tensors)`.
    pub args: Bytes,
    pub address: Address,
    pub inputs: Vec<u16>,
    pub tensors: Vec<ILayer::WeightTensor>,
}

/// Everything that goes on chain for one model at one address.
#[derive(Clone, Debug)]
pub struct ModelImage {
    pub model: Address,
    pub graph_hash: B256,
    pub weights_hash: B256,
    pub blob: WeightBlob,
    pub chunks: Chunks,
    pub layers: Vec<LayerImage>,
}

impl ModelImage {
    /// The image of `spec` for the model clone at `model`, weights in `format`, cut into chunks
    /// of `chunk_bytes` ([`MAX_CHUNK_BYTES`] unless testing).
    pub fn new(
        spec: &ModelSpec,
        format: WeightFormat,
        chunk_bytes: usize,
        model: Address,
    ) -> Result<ModelImage, ChainError> {
        let all: Vec<TensorSpan> = spec
            .layers
            .iter()
            .flat_map(|l| l.tensors.iter().copied())
            .collect();
        let blob = WeightBlob::encode(&spec.words, &all, format)?;
        let chunks = Chunks::new(&blob.bytes, chunk_bytes)?;
        let mut shifts = blob.shifts.iter().copied();
        let mut offsets = blob.offsets.iter().copied();
        let mut layers = Vec::with_capacity(spec.layers.len());
        for l in &spec.layers {
            let tensors: Vec<ILayer::WeightTensor> = l
                .tensors
                .iter()
                .map(|t| ILayer::WeightTensor {
                    offset: offsets.next().unwrap_or(t.offset),
                    length: t.length,
                    shift: shifts.next().unwrap_or(32),
                })
                .collect();
            let args: Bytes = (model, Bytes::from(l.config.clone()), tensors.clone())
                .abi_encode_params()
                .into();
            let implementation = Implementation::Layer(l.kind).address()?;
            let address = create2_address(
                factory_address(),
                B256::ZERO,
                keccak256(clone_initcode(implementation, &args)?),
            );
            layers.push(LayerImage {
                name: l.name.clone(),
                kind: l.kind,
                implementation,
                args,
                address,
                inputs: l.inputs.clone(),
                tensors,
            });
        }
        Ok(ModelImage {
            model,
            graph_hash: spec.graph_hash,
            weights_hash: spec.weights_hash,
            blob,
            chunks,
            layers,
        })
    }

    /// The default: [`WeightFormat::Compact`] in full-size chunks.
    pub fn default_for(spec: &ModelSpec, model: Address) -> Result<ModelImage, ChainError> {
        ModelImage::new(spec, WeightFormat::Compact, MAX_CHUNK_BYTES, model)
    }

    pub fn format(&self) -> WeightFormat {
        self.blob.format
    }

    /// The `WeightLayout` committed by `constructModel`.
    pub fn layout(&self) -> EternalModel::WeightLayout {
        EternalModel::WeightLayout {
            format: self.format().code(),
            chunkBytes: self.chunks.chunk_bytes as u32,
            chunkCount: self.chunks.count() as u32,
            totalBytes: self.chunks.total_bytes as u64,
            root: self.chunks.root(),
        }
    }

    /// The `LayerLink`s of `constructModel`.
    pub fn links(&self) -> Vec<EternalModel::LayerLink> {
        self.layers
            .iter()
            .map(|l| EternalModel::LayerLink {
                kind: l.kind.code(),
                layer: l.address,
                inputs: l.inputs.clone(),
            })
            .collect()
    }

    /// The clones of `createLayers`.
    pub fn clones(&self) -> Vec<EternalFactory::LayerClone> {
        self.layers
            .iter()
            .map(|l| EternalFactory::LayerClone {
                implementation: l.implementation,
                args: l.args.clone(),
            })
            .collect()
    }

    /// Bytes of chunk `i`.
    pub fn chunk(&self, i: usize) -> &[u8] {
        &self.blob.bytes[self.chunks.range(i)]
    }

    /// Address chunk `i`'s data contract will have.
    pub fn chunk_address(&self, i: usize) -> Address {
        self.chunks.address(self.model, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tiny() -> ModelSpec {
        let input = json!({"batch_input_shape": [null, 3]});
        let dense = json!({"units": 2, "activation": "relu", "use_bias": true});
        let shapes = [vec![None, Some(3)]];
        let entries = [
            LayerEntry {
                source: LayerSource {
                    name: "in",
                    class_name: "InputLayer",
                    config: &input,
                    input_shapes: &[],
                    output_shape: None,
                },
                inputs: vec![],
                tensor_shapes: vec![],
            },
            LayerEntry {
                source: LayerSource {
                    name: "d",
                    class_name: "Dense",
                    config: &dense,
                    input_shapes: &shapes,
                    output_shape: None,
                },
                inputs: vec![0],
                tensor_shapes: vec![vec![3, 2], vec![2]],
            },
        ];
        let words = vec![[1, 2, 3, 4], [5, 6, 0, 0], [7, 8, 0, 0]];
        ModelSpec::build(&entries, words, &"ab".repeat(64)).unwrap()
    }

    #[test]
    fn spec_lays_tensors_out_like_the_bundle() {
        let spec = tiny();
        assert_eq!(
            spec.layers[1].tensors,
            vec![
                TensorSpan {
                    offset: 0,
                    length: 6,
                    channels: 2,
                },
                TensorSpan {
                    offset: 8,
                    length: 2,
                    channels: 0,
                }
            ]
        );
        assert_eq!(spec.params(), 8);
        assert_eq!(spec.implementations().len(), 3);
        let mut short = spec.words.clone();
        short.pop();
        let e = ModelSpec::build(&[], short, &"ab".repeat(64))
            .unwrap_err()
            .to_string();
        assert!(e.contains("0 words but the bundle has 2"), "{e}");
    }

    #[test]
    fn image_args_and_addresses() {
        let spec = tiny();
        let model = Address::repeat_byte(7);
        let img = ModelImage::new(&spec, WeightFormat::Compact, MAX_CHUNK_BYTES, model).unwrap();
        assert_eq!(img.chunks.count(), 1);
        assert_eq!(img.blob.bytes.len(), 48);
        let dense = &img.layers[1];
        assert_eq!(dense.tensors[0].shift, 32);
        // args = model word, offset of config (0x60), offset of tensors, then config and tensors.
        assert_eq!(&dense.args[12..32], model.as_slice());
        assert_eq!(dense.args[63], 0x60);
        let decoded =
            <(Address, Bytes, Vec<ILayer::WeightTensor>)>::abi_decode_params(&dense.args).unwrap();
        assert_eq!(decoded.1.as_ref(), spec.layers[1].config.as_slice());
        assert_eq!(decoded.2.len(), 2);
        assert_eq!((decoded.2[1].offset, decoded.2[1].length), (8, 2));
        // Another model address moves every layer.
        let other =
            ModelImage::new(&spec, WeightFormat::Compact, MAX_CHUNK_BYTES, Address::ZERO).unwrap();
        assert_ne!(other.layers[1].address, dense.address);
        let layout = img.layout();
        assert_eq!(
            (layout.format, layout.chunkCount, layout.totalBytes),
            (2, 1, 48)
        );
    }
}
