//! Every wrong call to a model reverts with the custom error that names the problem, decoded
//! from the revert data; and nothing wrong is ever stored.

use crate::chain_support::{anvil, connect, runtime, spec};
use alloy::primitives::{Address, B256, Bytes, U256};
use eternalize::chain::EternalModel::EternalModelErrors as E;
use eternalize::chain::{ChainError, Revert, WeightFormat};

fn model_error(result: Result<eternalize::chain::Sent, ChainError>) -> E {
    match result {
        Ok(sent) => panic!(
            "expected a revert, the transaction {} went through",
            sent.tx_hash
        ),
        Err(e) => match e.revert() {
            Some(Revert::Model(err)) => {
                // The message a user sees names the error too.
                assert!(e.to_string().contains("reverted with"), "{e}");
                err.clone()
            }
            _ => panic!("expected a model contract error, got: {e}"),
        },
    }
}

#[test]
fn wrong_chunks_and_callers_revert_with_the_right_error() {
    let node = anvil();
    let owner = connect(&node, 0);
    let stranger = connect(&node, 1);
    let spec = spec("keras3_4/mlp_basic.keras");
    runtime().block_on(async {
        // A model that is not constructed yet refuses chunks.
        let (image, _) = owner
            .prepare(&spec, WeightFormat::Compact, 512, B256::repeat_byte(9))
            .await
            .unwrap();
        let bare = owner
            .create_model(B256::repeat_byte(10))
            .await
            .unwrap()
            .address;
        let proof = image.chunks.proof(0);
        let chunk0 = Bytes::copy_from_slice(image.chunk(0));
        let err = model_error(
            owner
                .store_chunk_raw(bare, U256::ZERO, chunk0.clone(), proof.clone())
                .await,
        );
        assert!(matches!(err, E::NotConstructed(_)), "{err:?}");

        let n = image.chunks.count();
        assert!(n >= 4, "needs several chunks, got {n}");
        let m = image.model;

        // Not the owner: refused before anything else, even with the right chunk.
        let err = model_error(stranger.store_chunk(&image, 0).await);
        match err {
            E::NotOwner(e) => assert_eq!(e.caller, stranger.sender()),
            other => panic!("{other:?}"),
        }
        let err = model_error(stranger.construct_model(&image).await);
        assert!(matches!(err, E::NotOwner(_)), "{err:?}");

        // Construct twice.
        let err = model_error(owner.construct_model(&image).await);
        assert!(matches!(err, E::AlreadyConstructed(_)), "{err:?}");

        // Out of range.
        let err = model_error(
            owner
                .store_chunk_raw(m, U256::from(n), chunk0.clone(), proof.clone())
                .await,
        );
        match err {
            E::ChunkIndexOutOfRange(e) => {
                assert_eq!((e.index, e.count), (U256::from(n), U256::from(n)))
            }
            other => panic!("{other:?}"),
        }

        // Tampered: one bit flipped.
        let mut tampered = image.chunk(0).to_vec();
        tampered[100] ^= 1;
        let err = model_error(
            owner
                .store_chunk_raw(m, U256::ZERO, tampered.into(), proof.clone())
                .await,
        );
        assert!(
            matches!(err, E::ChunkContentMismatch(ref e) if e.index == U256::ZERO),
            "{err:?}"
        );

        // The right bytes at the wrong index (chunk 1's data and proof sent as chunk 0).
        let chunk1 = Bytes::copy_from_slice(image.chunk(1));
        let err = model_error(
            owner
                .store_chunk_raw(m, U256::ZERO, chunk1, image.chunks.proof(1))
                .await,
        );
        assert!(matches!(err, E::ChunkContentMismatch(_)), "{err:?}");

        // Wrong size, wrong proof length.
        let short = Bytes::copy_from_slice(&image.chunk(0)[..480]);
        let err = model_error(
            owner
                .store_chunk_raw(m, U256::ZERO, short, proof.clone())
                .await,
        );
        match err {
            E::ChunkSizeMismatch(e) => {
                assert_eq!((e.expected, e.actual), (U256::from(512), U256::from(480)))
            }
            other => panic!("{other:?}"),
        }
        let err = model_error(
            owner
                .store_chunk_raw(m, U256::ZERO, chunk0.clone(), proof[1..].to_vec())
                .await,
        );
        assert!(matches!(err, E::ProofLengthMismatch(_)), "{err:?}");

        assert_eq!(
            owner.chunks_received(m).await.unwrap(),
            0,
            "a rejected chunk was counted"
        );
        assert_eq!(owner.chunk_address(m, 0).await.unwrap(), Address::ZERO);

        // Right chunk once; the same chunk again is a duplicate.
        owner.store_chunk(&image, 0).await.unwrap();
        let err = model_error(owner.store_chunk(&image, 0).await);
        assert!(
            matches!(err, E::ChunkAlreadyStored(ref e) if e.index == U256::ZERO),
            "{err:?}"
        );
        assert_eq!(owner.chunks_received(m).await.unwrap(), 1);

        // Reading a missing chunk's weights names the chunk.
        let err = owner.weight_bytes(m, 512, 32).await.unwrap_err();
        assert!(
            matches!(err.revert(), Some(Revert::Model(E::ChunkMissing(_)))),
            "{err}"
        );
    });
}

#[test]
fn a_model_without_weights_is_ready_at_construction() {
    // A model whose layers carry no weights at all (Input → Flatten): zero chunks.
    use eternalize::chain::{LayerEntry, LayerSource, ModelSpec};
    let input = serde_json::json!({"batch_input_shape": [null, 2, 3]});
    let empty = serde_json::json!({});
    let shapes = [vec![None, Some(2), Some(3)]];
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
                name: "flat",
                class_name: "Flatten",
                config: &empty,
                input_shapes: &shapes,
                output_shape: None,
            },
            inputs: vec![0],
            tensor_shapes: vec![],
        },
    ];
    let spec = ModelSpec::build(&entries, vec![], &"00".repeat(64)).unwrap();
    let node = anvil();
    let chain = connect(&node, 0);
    runtime().block_on(async {
        let (image, _) = chain
            .prepare(
                &spec,
                WeightFormat::Compact,
                eternalize::chain::MAX_CHUNK_BYTES,
                B256::ZERO,
            )
            .await
            .unwrap();
        assert_eq!(image.chunks.count(), 0);
        assert!(chain.is_ready(image.model).await.unwrap());
    });
}
