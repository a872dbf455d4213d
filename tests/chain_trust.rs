//! The factory vouches only for eternalize's code: it deploys no initcode but the artifacts'
//! implementations, clones only those (the model's in `createModel`, layer kinds' in
//! `createLayers`), and a model links only layers that this factory cloned. Each refusal is
//! checked with `eth_call` from the account that would send it, next to the same call with our
//! own code succeeding, so the only difference is the foreign part.

use crate::chain_support::{anvil, anvil_with_model, connect, deploy_model, runtime, spec};
use crate::common::fixtures;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, I256, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolValue};
use eternalize::chain::EternalFactory::EternalFactoryErrors as F;
use eternalize::chain::EternalModel::EternalModelErrors as M;
use eternalize::chain::ILayer::ILayerErrors as L;
use eternalize::chain::bindings::{EternalFactory, EternalModel, IForwardLayer, factory_address};
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
        let impl_copy = dense_copy_by_hand(&chain).await;
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

/// mlp_basic deployed whole (InputLayer [16], then Dense 16 -> 24 first), its image, and the
/// `forward` calldata of that Dense on 16 values.
async fn dense_on_chain() -> (eternalize::tools::AnvilProcess, Chain, ModelImage, Vec<u8>) {
    let (node, chain) = anvil_with_model(&[]).await;
    let model = eternalize::keras::load(&fixtures().join("keras3_4/mlp_basic.keras")).unwrap();
    let (_, image) = deploy_model(&chain, &model, 1).await;
    assert_eq!(image.layers[0].kind, LayerKind::Input);
    let forward = IForwardLayer::forwardCall {
        inputs: (-8..8i64)
            .map(|k| I256::try_from(k << 29).unwrap())
            .collect(),
        shapes: vec![U256::from(16)],
        ranks: vec![U256::from(1)],
    }
    .abi_encode();
    (node, chain, image, forward)
}

/// mlp_basic's first Dense layer.
/// A hand-deployed copy of the Dense implementation: the same code as the factory's, at an
/// address the factory did not make.
async fn dense_copy_by_hand(chain: &Chain) -> Address {
    let code = Implementation::Layer(LayerKind::Dense).bytecode().unwrap();
    deploy_by_hand(chain, code.to_vec()).await
}

fn first_dense(image: &ModelImage) -> &eternalize::chain::LayerImage {
    image
        .layers
        .iter()
        .find(|l| l.kind == LayerKind::Dense)
        .expect("mlp_basic has a Dense layer")
}

/// `eth_call` of `data` to `to`.
async fn call_raw(
    chain: &Chain,
    to: Address,
    data: Vec<u8>,
) -> Result<Bytes, alloy::transports::TransportError> {
    chain
        .provider()
        .call(TransactionRequest::default().with_to(to).with_input(data))
        .await
}

/// `data` with `account` appended as one more word: a direct call of an implementation naming
/// the clone whose arguments it should read (`LayerCall._staticcall`).
fn naming(data: &[u8], account: Address) -> Vec<u8> {
    [data, account.into_word().as_slice()].concat()
}

/// Models and jobs call a layer's implementation directly, the clone's address appended
/// (`LayerCall._staticcall`): `forward` called so answers byte for byte what the call through
/// the clone (its proxy's DELEGATECALL) answers, and so do the views.
#[test]
fn a_direct_layer_call_answers_as_the_call_through_its_clone() {
    runtime().block_on(async {
        let (_node, chain, image, forward) = dense_on_chain().await;
        let dense = first_dense(&image);
        let through = call_raw(&chain, dense.address, forward.clone())
            .await
            .unwrap();
        let direct = call_raw(
            &chain,
            dense.implementation,
            naming(&forward, dense.address),
        )
        .await
        .unwrap();
        assert_eq!(direct, through);
        let out = IForwardLayer::forwardCall::abi_decode_returns(&direct).unwrap();
        assert_eq!(out.outputShape, vec![U256::from(24)]);
        assert_eq!(out.output.len(), 24);
        assert!(
            out.output.iter().any(|v| !v.is_zero()),
            "a Dense answering zeros proves nothing"
        );
        let view = eternalize::chain::ILayer::modelCall {}.abi_encode();
        let model = call_raw(&chain, dense.implementation, naming(&view, dense.address))
            .await
            .unwrap();
        assert_eq!(model, call_raw(&chain, dense.address, view).await.unwrap());
        assert_eq!(model.as_ref(), image.model.into_word().as_slice());
    });
}

/// The implementation reads the arguments of the account named in a direct call only if its
/// code is an EIP-1167 proxy of this very implementation (`LayerBase._home`): a clone of another
/// implementation — even one with the same code — or no clone at all reverts `NotAClone`
/// naming the account, and so does a direct call naming nothing.
#[test]
fn a_direct_layer_call_reads_only_a_clone_of_its_own_implementation() {
    runtime().block_on(async {
        let (_node, chain, image, forward) = dense_on_chain().await;
        let dense = first_dense(&image);
        let impl_copy = dense_copy_by_hand(&chain).await;
        let copy_clone =
            deploy_by_hand(&chain, clone_initcode(impl_copy, &dense.args).unwrap()).await;
        let refused = [
            (
                naming(&forward, image.layers[0].address),
                "the InputLayer's clone",
            ),
            (naming(&forward, copy_clone), "a clone of a copy of Dense"),
            (
                naming(&forward, image.model),
                "the model (a clone of EternalModel)",
            ),
            (naming(&forward, chain.sender()), "an account without code"),
            // The last word is then `ranks`' 1: account 0x…01, a precompile without code.
            (forward.clone(), "nothing appended"),
        ];
        for (data, what) in refused {
            let named = Address::from_slice(&data[data.len() - 20..]);
            let e = call_raw(&chain, dense.implementation, data)
                .await
                .expect_err(what);
            let revert = e
                .as_error_resp()
                .and_then(|r| r.as_revert_data())
                .unwrap_or_else(|| panic!("{what}: no revert data: {e}"));
            match Revert::decode(&revert) {
                Revert::Layer(L::NotAClone(r)) => assert_eq!(r.account, named, "{what}"),
                other => panic!("{what}: {other}"),
            }
        }
        // The same clone of the copy answers through itself: only the naming is refused.
        call_raw(&chain, copy_clone, forward).await.unwrap();
    });
}
