//! Fixture models deployed to a real anvil: chunks out of order, ready exactly at the last one,
//! every weight read back.

use crate::chain_support::{anvil, assert_on_chain, connect, runtime, spec};
use alloy::primitives::B256;
use eternalize::chain::{MAX_CHUNK_BYTES, WeightFormat};

/// Deploys `fixture` in `format` with `chunk_bytes`, storing chunks in a scrambled order, and
/// checks readiness after each chunk and every weight at the end.
fn deploy_scrambled(fixture: &str, format: WeightFormat, chunk_bytes: usize, min_chunks: usize) {
    let node = anvil();
    let chain = connect(&node, 0);
    let spec = spec(fixture);
    runtime().block_on(async {
        let (image, _) = chain
            .prepare(&spec, format, chunk_bytes, B256::repeat_byte(1))
            .await
            .unwrap();
        let n = image.chunks.count();
        assert!(
            n >= min_chunks,
            "{fixture}: {n} chunks, the test wants at least {min_chunks}"
        );
        // Odd positions backwards, then even positions: never in order when n > 2.
        let mut order: Vec<usize> = (0..n).filter(|i| i % 2 == 1).rev().collect();
        order.extend((0..n).filter(|i| i % 2 == 0));
        for (done, &i) in order.iter().enumerate() {
            assert!(
                !chain.is_ready(image.model).await.unwrap(),
                "ready before chunk {i} of {n}"
            );
            chain.store_chunk(&image, i).await.unwrap();
            assert_eq!(
                chain.chunks_received(image.model).await.unwrap(),
                done as u64 + 1
            );
        }
        assert!(
            chain.is_ready(image.model).await.unwrap(),
            "{fixture}: not ready after all {n} chunks"
        );
        assert_on_chain(&chain, &spec, &image).await;
    });
}

#[test]
fn mlp_basic_default_format_small_chunks() {
    deploy_scrambled("keras3_4/mlp_basic.keras", WeightFormat::Compact, 512, 5);
}

#[test]
fn mlp_basic_exact_format_small_chunks() {
    deploy_scrambled("keras3_4/mlp_basic.keras", WeightFormat::Exact, 1024, 5);
}

#[test]
fn lenet_cnn_both_formats() {
    deploy_scrambled(
        "keras3_4/lenet_cnn.keras",
        WeightFormat::Compact,
        MAX_CHUNK_BYTES,
        1,
    );
    deploy_scrambled("keras3_4/lenet_cnn.keras", WeightFormat::Exact, 4096, 3);
}

#[test]
fn fashion_mnist_default_format() {
    deploy_scrambled(
        "eai_example/fashion_mnist.keras",
        WeightFormat::Compact,
        MAX_CHUNK_BYTES,
        9,
    );
}

#[test]
fn functional_and_recurrent_fixtures() {
    // Branches (Add/Concatenate), nested models, BatchNormalization, LSTM, ZeroPadding2D + GAP.
    for fixture in [
        "keras3_4/functional_add_concat.keras",
        "keras3_4/nested_functional.keras",
        "keras3_4/batchnorm_mlp.keras",
        "keras3_4/embedding_lstm.keras",
        "keras3_4/zeropad_gap.keras",
        "keras2_15/embedding_simplernn.h5",
    ] {
        deploy_scrambled(fixture, WeightFormat::Compact, 512, 1);
    }
}
