//! The factory vouches only for eternalize's code: it deploys no initcode but the artifacts'
//! implementations, clones only those (the model's in `createModel`, layer kinds' in
//! `createLayers`), and a model links only layers that this factory cloned. Each refusal is
//! checked with `eth_call` from the account that would send it, next to the same call with our
//! own code succeeding, so the only difference is the foreign part.

use crate::chain_support::{anvil, connect, runtime, spec};
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolValue;
use eternalize::chain::EternalFactory::EternalFactoryErrors as F;
use eternalize::chain::EternalModel::EternalModelErrors as M;
use eternalize::chain::bindings::{EternalFactory, EternalModel, factory_address};
use eternalize::chain::weights::clone_initcode;
use eternalize::chain::{
    Chain, Implementation, LayerKind, MAX_CHUNK_BYTES, ModelImage, Revert, WeightFormat,
};

/// Creation code of a contract whose runtime is one STOP byte: every call to it succeeds and
/// returns nothing (the prefix is CodeStore's: 61 0001 80 600a 5f 39 5f f3).
const STOP_INITCODE: &str = "61000180600a5f395ff300";

/// Deploys `initcode` with a plain CREATE from `chain`'s account: a contract nobody vouches for.
async fn deploy_by_hand(chain: &Chain, initcode: Vec<u8>) -> Address {
    let tx = TransactionRequest::default().with_deploy_code(initcode);
    let receipt = chain
        .provider()
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "the hand deployment failed");
    receipt.contract_address.unwrap()
}

/// The contract error `result` reverted with; panics when it went through.
fn revert_of<T: std::fmt::Debug>(result: Result<T, alloy::contract::Error>) -> Revert {
    match result {
        Ok(v) => panic!("expected a revert, the call returned {v:?}"),
        Err(e) => match e.as_revert_data() {
            Some(data) => Revert::decode(&data),
            None => panic!("expected a revert with data, got: {e}"),
        },
    }
}

fn factory_error<T: std::fmt::Debug>(result: Result<T, alloy::contract::Error>) -> F {
    match revert_of(result) {
        Revert::Factory(e) => e,
        other => panic!("expected a factory error, got {other}"),
    }
}

fn model_error<T: std::fmt::Debug>(result: Result<T, alloy::contract::Error>) -> M {
    match revert_of(result) {
        Revert::Model(e) => e,
        other => panic!("expected a model error, got {other}"),
    }
}

#[test]
fn the_factory_deploys_and_clones_only_our_implementations() {
    let node = anvil();
    let chain = connect(&node, 0);
    let spec = spec("keras3_4/mlp_basic.keras");
    runtime().block_on(async {
        chain
            .prepare(&spec, WeightFormat::Compact, MAX_CHUNK_BYTES, B256::ZERO)
            .await
            .unwrap();
        let factory = EternalFactory::new(factory_address(), chain.provider().clone());
        let me = chain.sender();
        let dense = Implementation::Layer(LayerKind::Dense);
        let dense_code = dense.bytecode().unwrap().clone();

        // deployImplementation: our creation code yes (already there: its address comes back),
        // anything else no, even one byte more than ours.
        let ours = factory
            .deployImplementation(dense_code.clone())
            .from(me)
            .call()
            .await
            .unwrap();
        assert_eq!(ours, dense.address().unwrap());
        let mut longer = dense_code.to_vec();
        longer.push(0);
        for foreign in [longer, alloy::hex::decode(STOP_INITCODE).unwrap()] {
            let hash = keccak256(&foreign);
            match factory_error(
                factory
                    .deployImplementation(foreign.into())
                    .from(me)
                    .call()
                    .await,
            ) {
                F::UnknownImplementation(e) => assert_eq!(e.initcodeHash, hash),
                other => panic!("{other:?}"),
            }
        }

        // Contracts nobody vouches for: a STOP-only contract (answers every call, so today's
        // factory happily cloned and "initialized" it), and copies of our own implementations
        // deployed by hand (our code, but not at the factory's address for it).
        let stop = deploy_by_hand(&chain, alloy::hex::decode(STOP_INITCODE).unwrap()).await;
        let dense_copy = deploy_by_hand(&chain, dense_code.to_vec()).await;
        let model_copy =
            deploy_by_hand(&chain, Implementation::Model.bytecode().unwrap().to_vec()).await;
        let model_impl = Implementation::Model.address().unwrap();

        // createModel: only the model implementation.
        let salt = B256::repeat_byte(7);
        factory
            .createModel(model_impl, salt)
            .from(me)
            .call()
            .await
            .unwrap();
        for foreign in [stop, model_copy, dense.address().unwrap()] {
            match factory_error(factory.createModel(foreign, salt).from(me).call().await) {
                F::NotModelImplementation(e) => assert_eq!(e.implementation, foreign),
                other => panic!("{other:?}"),
            }
        }

        // createLayers: only layer implementations (not the model's, not a copy, not a stranger).
        let args: Bytes = (
            me,
            Bytes::new(),
            Vec::<eternalize::chain::ILayer::WeightTensor>::new(),
        )
            .abi_encode_params()
            .into();
        let clone = |implementation| EternalFactory::LayerClone {
            implementation,
            args: args.clone(),
        };
        factory
            .createLayers(vec![clone(dense.address().unwrap())])
            .from(me)
            .call()
            .await
            .unwrap();
        for foreign in [stop, dense_copy, model_impl] {
            match factory_error(
                factory
                    .createLayers(vec![clone(dense.address().unwrap()), clone(foreign)])
                    .from(me)
                    .call()
                    .await,
            ) {
                F::NotLayerImplementation(e) => assert_eq!(e.implementation, foreign),
                other => panic!("{other:?}"),
            }
        }
    });
}

#[test]
fn a_model_links_only_layers_its_factory_cloned() {
    let node = anvil();
    let chain = connect(&node, 0);
    let spec = spec("keras3_4/mlp_basic.keras");
    runtime().block_on(async {
        // Model A: deployed and constructed, its layers are the factory's clones for A.
        let (built, _) = chain
            .prepare(&spec, WeightFormat::Compact, MAX_CHUNK_BYTES, B256::ZERO)
            .await
            .unwrap();
        // Model B: created with its layer clones, not constructed yet.
        let b = chain
            .create_model(B256::repeat_byte(1))
            .await
            .unwrap()
            .address;
        let image = ModelImage::new(&spec, WeightFormat::Compact, MAX_CHUNK_BYTES, b).unwrap();
        chain.create_layers(&image).await.unwrap();
        let i = image
            .layers
            .iter()
            .position(|l| l.kind == LayerKind::Dense)
            .expect("mlp_basic has a Dense layer");
        let dense = &image.layers[i];

        let model = EternalModel::new(b, chain.provider().clone());
        let construct = |image: &ModelImage| {
            model
                .constructModel(
                    image.graph_hash,
                    image.weights_hash,
                    image.links(),
                    image.layout(),
                )
                .from(chain.sender())
        };
        // The untouched image constructs: every refusal below comes from the one layer changed.
        construct(&image).call().await.unwrap();

        // Layers answering `model() == B` and `layerKind() == Dense`, not made by the factory:
        // a clone of a hand-deployed copy of the Dense implementation (which could be any code),
        // and a hand-deployed clone of the real Dense implementation with the very same bytes as
        // the factory's clone.
        let impl_copy = deploy_by_hand(
            &chain,
            Implementation::Layer(LayerKind::Dense)
                .bytecode()
                .unwrap()
                .to_vec(),
        )
        .await;
        let foreign_clone =
            deploy_by_hand(&chain, clone_initcode(impl_copy, &dense.args).unwrap()).await;
        let hand_clone = deploy_by_hand(
            &chain,
            clone_initcode(dense.implementation, &dense.args).unwrap(),
        )
        .await;
        let probe = eternalize::chain::bindings::ILayer::new(foreign_clone, chain.provider());
        assert_eq!(probe.model().call().await.unwrap(), b);
        assert_eq!(
            probe.layerKind().call().await.unwrap(),
            LayerKind::Dense.code()
        );
        assert_eq!(
            chain.code_at(hand_clone).await.unwrap(),
            chain.code_at(dense.address).await.unwrap()
        );
        for foreign in [foreign_clone, hand_clone] {
            let mut bad = image.clone();
            bad.layers[i].address = foreign;
            match model_error(construct(&bad).call().await) {
                M::LayerNotFromFactory(e) => {
                    assert_eq!(
                        (e.index, e.layer),
                        (alloy::primitives::U256::from(i), foreign)
                    )
                }
                other => panic!("{other:?}"),
            }
        }

        // The factory's clone of another model's layer, and a declared kind that is not the
        // clone's, still name what is wrong.
        let mut other = image.clone();
        other.layers[i].address = built.layers[i].address;
        match model_error(construct(&other).call().await) {
            M::LayerOfAnotherModel(e) => assert_eq!(e.layerModel, built.model),
            other => panic!("{other:?}"),
        }
        let mut wrong_kind = image.clone();
        wrong_kind.layers[i].kind = LayerKind::Flatten;
        match model_error(construct(&wrong_kind).call().await) {
            M::LayerKindMismatch(e) => assert_eq!(
                (e.declared, e.actual),
                (LayerKind::Flatten.code(), LayerKind::Dense.code())
            ),
            other => panic!("{other:?}"),
        }
    });
}
