//! The int16 and int8 weight formats on a real anvil.
//!
//! 1. Per layer kind with weights (Dense, Conv2D, Conv1D, Embedding, SimpleRNN, LSTM, GRU,
//!    BatchNormalization; DepthwiseConv2D, grouped Conv2D, SeparableConv2D, Conv2DTranspose):
//!    fixtures covering them are deployed in each format, every weight read back through the
//!    layer contracts equals the per-channel reference's value (q·scale; int24 << k for rank
//!    0–1), and `predictLayers` on the Keras samples equals `Graph::from_model(.., format)` bit
//!    for bit.
//! 2. The CLI on fashion_mnist: `plan` and `deploy --format int16|int8`, `verify` passes in the
//!    chain's format and fails for another, `predict ADDRESS` (one call, and chained calls under a
//!    low `--call-gas`; int8 also as an on-chain job, `--send`) prints what `predict MODEL
//!    --format F` prints offline. Deploy gas per
//!    parameter and predict gas are printed (BENCHMARKS.md).

use crate::chain_support::{assert_on_chain, deploy_model_in};
use crate::common::{array, fixtures, read_json, sidecar};
use crate::deploy_support::{anvil_path, done_line, eternalize, fixture, text};
use alloy::primitives::{I256, U256};
use eternalize::bundle::Bundle;
use eternalize::chain::{Chain, EternalModel, ModelSpec, quant};
use eternalize::infer::{Graph, Tensor, WeightFormat, input};
use eternalize::keras;
use eternalize::tools::{ANVIL_DEV_KEYS, AnvilProcess};
use eternalize::usecase::chained::{ChainModel, Runner};
use serde_json::Value;

const INT_FORMATS: [WeightFormat; 2] = [WeightFormat::Int16, WeightFormat::Int8];

/// Fixtures with Keras samples that together hold every layer kind with weights.
const KINDS: [&str; 7] = [
    "keras3_4/lenet_cnn.keras",         // Conv2D, Dense
    "keras2_15/batchnorm_seq_cnn.h5",   // BatchNormalization, Conv2D, Dense
    "generated/conv1d_gap1d.keras",     // Conv1D, Dense
    "keras2_15/embedding_simplernn.h5", // Embedding, SimpleRNN
    "keras3_4/embedding_lstm.keras",    // Embedding, LSTM
    "generated/gru_seq.keras",          // GRU
    "generated/td_steps_fn.keras",      // TimeDistributed(Conv2D), TimeDistributed(Dense): narrowed
];

async fn predict_on_chain(
    chain: &Chain,
    address: alloy::primitives::Address,
    graph: &Graph,
    ins: &[Tensor],
) -> Vec<Tensor> {
    let model = EternalModel::new(address, chain.provider().clone());
    let mut order: Vec<(usize, &Tensor)> = graph.inputs.iter().copied().zip(ins).collect();
    order.sort_by_key(|(i, _)| *i);
    let (mut values, mut shapes, mut ranks) = (Vec::new(), Vec::new(), Vec::new());
    for (_, t) in order {
        values.extend(t.data.iter().map(|&v| I256::try_from(v).unwrap()));
        shapes.extend(t.shape.iter().map(|&d| U256::from(d)));
        ranks.push(U256::from(t.shape.len()));
    }
    let outputs = graph.outputs.iter().map(|&o| U256::from(o)).collect();
    let r = model
        .predictLayers(values, shapes, ranks, outputs)
        .call()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (mut at, mut sat) = (0usize, 0usize);
    let mut out = Vec::new();
    for rank in &r.outputRanks {
        let rank = rank.to::<usize>();
        let shape: Vec<usize> = r.outputShapes[sat..sat + rank]
            .iter()
            .map(|d| d.to::<usize>())
            .collect();
        sat += rank;
        let n: usize = shape.iter().product();
        let data = r.outputs[at..at + n]
            .iter()
            .map(|x| i128::try_from(*x).unwrap())
            .collect();
        at += n;
        out.push(Tensor { shape, data });
    }
    out
}

/// The convolutions with their own kernels (`GroupedConvBase`, `Conv2DTransposeLayer`), whose
/// per-channel scales run along other axes than ConvBase's: a depthwise kernel's along its depth
/// multiplier, a transposed one's along its input channels.
const GROUPED: [&str; 4] = [
    "generated/mobilenet_block_fn.keras", // DepthwiseConv2D (and Conv2D, Add, ReLU)
    "generated/depthwise_separable_seq.h5", // DepthwiseConv2D ×2 stride 2, SeparableConv2D
    "generated/transpose_grouped_fn.keras", // Conv2DTranspose same/valid, Conv2D groups 2 and 3
    "generated/resnet_small_fn.keras",    // Conv2DTranspose in a residual network
];

/// Deploys each of `files` in int16 and int8 and asserts `predictLayers` equals the reference in
/// that format bit for bit on every Keras sample (and every weight read back, for small
/// models), and that the format matters (the compact reference differs).
async fn assert_int_formats_on_chain(chain: &Chain, files: &[&str], salt: &mut u64) {
    for format in INT_FORMATS {
        for &file in files {
            let path = fixtures().join(file);
            let model = keras::load(&path).unwrap();
            let truth = read_json(&sidecar(&path, ".truth.json"));
            let graph = Graph::from_model(&model, format).unwrap();
            let per_input: Vec<Vec<Tensor>> = truth["predict"]["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .zip(graph.input_shapes())
                .map(|(v, s)| input::samples(&array(v), &s).unwrap())
                .collect();
            *salt += 1;
            let (address, image, _) = deploy_model_in(chain, &model, *salt, format).await;
            assert_eq!(
                chain.model_state(address).await.unwrap().layout.format,
                format.code(),
                "{file}: the format is readable on chain"
            );
            let bundle = Bundle::from_model(&model).unwrap();
            let spec = ModelSpec::from_model(&model, &bundle).unwrap();
            if spec.params() < 20_000 {
                assert_on_chain(chain, &spec, &image).await;
            }
            for b in 0..per_input[0].len() {
                let ins: Vec<Tensor> = per_input.iter().map(|s| s[b].clone()).collect();
                let want = graph.run(&ins).unwrap();
                let got = predict_on_chain(chain, address, &graph, &ins).await;
                assert_eq!(got, want, "{file} in {format}, sample {b}");
            }
            // A block of a Conv2D's filters (how chained calls cut a wide one, cnn_500k's):
            // filter i of the block is stored filter 1 + i, with that filter's own scale.
            let ins: Vec<Tensor> = per_input.iter().map(|s| s[0].clone()).collect();
            let all = graph.run_all(&ins).unwrap();
            let model_at = EternalModel::new(address, chain.provider().clone());
            for (i, layer) in image.layers.iter().enumerate() {
                let (out, node) = (&all[i], &graph.nodes[i]);
                let f = *out.shape.last().unwrap();
                if layer.kind != eternalize::chain::LayerKind::Conv2D || f < 2 {
                    continue;
                }
                let input = &all[node.inputs[0]];
                let r = model_at
                    .forwardSlicePacked(
                        U256::from(i),
                        eternalize::chain::packed::pack(&input.data).into(),
                        input.shape.iter().map(|&d| U256::from(d)).collect(),
                        vec![U256::from(input.shape.len())],
                        U256::from(1) << 128,
                        (U256::from(f - 1) << 128) | U256::from(out.shape[0]),
                    )
                    .call()
                    .await
                    .unwrap_or_else(|e| panic!("{file} layer {i}: {e}"));
                let want: Vec<I256> = out
                    .data
                    .chunks(f)
                    .flat_map(|px| px[1..].iter().map(|&v| I256::try_from(v).unwrap()))
                    .collect();
                let differ = r.output.iter().zip(&want).filter(|(a, b)| a != b).count();
                assert!(
                    r.output.len() == want.len() && differ == 0,
                    "{file} in {format}: Conv2D #{i} filters 1..{f}: {differ} of {} values differ",
                    want.len()
                );
            }
            // The format is what makes the bits: the compact reference differs somewhere.
            let compact = Graph::from_model(&model, WeightFormat::Compact).unwrap();
            let ins: Vec<Tensor> = per_input.iter().map(|s| s[0].clone()).collect();
            assert_ne!(
                compact.run(&ins).unwrap(),
                graph.run(&ins).unwrap(),
                "{file}: {format} and compact give the same outputs"
            );
            eprintln!(
                "{file} in {format}: {} params, on chain = reference",
                spec.params()
            );
        }
    }
}

async fn anvil_with_model() -> (AnvilProcess, Chain) {
    crate::chain_support::anvil_with_model(&["--gas-limit", "500000000"]).await
}

#[tokio::test]
async fn int_formats_on_chain_equal_the_reference_per_layer_kind() {
    let started = std::time::Instant::now();
    let (_anvil, chain) = anvil_with_model().await;
    assert_int_formats_on_chain(&chain, &KINDS, &mut 0).await;
    eprintln!("per-kind int16/int8 on chain: {:?}", started.elapsed());
}

/// DepthwiseConv2D, grouped Conv2D, SeparableConv2D and Conv2DTranspose apply the per-channel
/// scales on chain (they were refused in int16/int8 before: computing with the stored integers
/// they differed from the reference by 0.005–0.52).
#[tokio::test]
async fn grouped_and_transposed_convolutions_in_int_formats_equal_the_reference() {
    let started = std::time::Instant::now();
    let (_anvil, chain) = anvil_with_model().await;
    assert_int_formats_on_chain(&chain, &GROUPED, &mut 0).await;
    eprintln!(
        "grouped/transposed int16/int8 on chain: {:?}",
        started.elapsed()
    );
}

/// A plain Conv2D in int8/int16 multiplies its narrowed input in lanes (`ConvBase`, rule in
/// `quant::input_shift`): eight of 32 bits (int8) or six of 42 (int16), of filters or adjacent
/// output pixels (`ConvBase._widest`), or — where `ConvBase._hosts` takes it — in
/// `EternalConvKernel`, adjacent input pixels times a kernel word holding a window row's kw
/// taps reversed (Q = L − kw + 1 output pixels a multiplication). Every weight is ±qmax and the
/// inputs ±1, so every lane sum, the host's partial ones of the low lanes too, is as large as
/// the format allows: K·2^(32−e)·qmax within a factor 2 of the lane's sign bit (exactly 128/127
/// of it for the 16-tap windows of lane_bound_conv/filters/pixels, whose K is a power of two),
/// with neighbouring filters of opposite signs. A shift one smaller, lanes taken for inputs of
/// 3, or a lane bound (`ConvBase._fit`) one bit looser would overflow and differ from the
/// reference. Which path each takes (`_hosts`'s rule; the 1.5 inputs fail its lane bound and take
/// the layer's three lanes): lane_bound_conv (8 filters, 3×3 outputs) the layer's eight filter
/// lanes in int8, the host in int16; lane_bound_filters (10 filters) the host in both;
/// lane_bound_pixels (1 filter, 3×10 outputs) the host in both; lane_bound_poly5 (a 2×5 window, 7
/// filters: a block of six and one with five spare lanes, 11 output columns) the host in both (int8
/// groups of 4: Q does not divide them; int16 of 2); lane_bound_poly3 (a 3×3 window, same padding,
/// 5 filters, 13 output columns) the host in both (int8 groups of 6, int16 of 4). The `_s2` three
/// are the first three with stride 2 along the row, which the host never takes, so the layer's own
/// lanes stay tested at the bound whatever `_hosts`' rule: lane_bound_conv_s2 eight filter lanes in
/// int8 (three in int16: `_widest`), lane_bound_filters_s2 eight and six filter lanes,
/// lane_bound_pixels_s2 eight and six pixel lanes.
#[tokio::test]
async fn narrowed_convolution_lanes_hold_at_the_bound() {
    let started = std::time::Instant::now();
    let (_anvil, chain) = anvil_with_model().await;
    let one = 1i128 << 32;
    let mut salt = 900;
    for (name, shape, taps) in [
        ("lane_bound_conv", [6, 6, 1], 16),
        ("lane_bound_filters", [6, 6, 1], 16),
        ("lane_bound_pixels", [6, 13, 1], 16),
        ("lane_bound_poly5", [3, 15, 2], 20),
        ("lane_bound_poly3", [4, 13, 2], 18),
        ("lane_bound_conv_s2", [6, 8, 1], 16),
        ("lane_bound_filters_s2", [6, 8, 1], 16),
        ("lane_bound_pixels_s2", [6, 23, 1], 16),
    ] {
        let model = keras::load(&fixtures().join(format!("generated/{name}.keras"))).unwrap();
        let n = shape.iter().product::<usize>();
        let image = |f: &dyn Fn(usize) -> i128| Tensor {
            shape: shape.to_vec(),
            data: (0..n).map(f).collect(),
        };
        let samples = [
            image(&|_| one),
            image(&|_| -one),
            image(&|i| if i < n / 2 { one } else { -one }),
            image(&|i| 3 * one - i as i128),
            // ±1.5: every lane sum 1.5 times the lane's bound, max|x'|·max|q|·K within twice it,
            // so a bound one bit looser would take the lanes and overflow them.
            image(&|_| one + one / 2),
        ];
        let log2 = usize::BITS - (taps - 1usize).leading_zeros();
        for (format, lane_bits, qmax, extra) in [
            (WeightFormat::Int8, 31, 127i128, 8),
            (WeightFormat::Int16, 41, 32_767, 6),
        ] {
            let graph = Graph::from_model(&model, format).unwrap();
            let conv = &graph.nodes[graph.outputs[0]];
            let e = conv.input_shift;
            assert_eq!(e, log2 + extra, "{name} {format}: ⌈log2 {taps}⌉ + {extra}");
            let sum = taps as i128 * ((one + (1 << (e - 1))) >> e) * qmax;
            assert!(
                sum < 1 << lane_bits && 2 * sum >= 1 << lane_bits,
                "{name} {format}: {sum}"
            );
            salt += 1;
            let (address, _, _) = deploy_model_in(&chain, &model, salt, format).await;
            for (b, x) in samples.iter().enumerate() {
                let want = graph.run(std::slice::from_ref(x)).unwrap();
                assert!(
                    want[0].data.iter().any(|&v| v.abs() > one),
                    "{name} {format} {b}: {want:?}"
                );
                let got = predict_on_chain(&chain, address, &graph, std::slice::from_ref(x)).await;
                assert_eq!(got, want, "{name} {format}, sample {b}");
            }
        }
    }
    eprintln!("lane bound on chain: {:?}", started.elapsed());
}

/// A Dense in int8/int16 multiplies its narrowed input by eight (five) columns at once
/// (`DenseLayer._narrowSums`, rule in `quant::input_shift`, K = input units).
/// generated/lane_bound_dense has 16 input units (a power of two: no slack in ⌈log2 K⌉) and
/// every weight at ±qmax, columns of alternating signs, 40 of them (an int8 block of 32 whose
/// pass carries the last 8 in a fifth accumulator, `DenseLayer._narrow8t`, every one of its
/// lanes used; int16 blocks of 15, 15 and 10). Inputs of 1 − 2^(e−32) give x' = 2^(32−e) − 1 and lane
/// sums of 16·x'·qmax, within 1/64 of the lane's sign bit: the one-pass lanes. At
/// exactly ±1, Σ|x'| reaches the bound and the rows go in runs; inputs of 3 in several runs; an
/// input of 2^20 alone beyond the bound, one column at a time. A shift one smaller or a looser
/// bound would overflow a lane and differ from the reference.
#[tokio::test]
async fn narrowed_dense_lanes_hold_at_the_bound() {
    let started = std::time::Instant::now();
    let (_anvil, chain) = anvil_with_model().await;
    let path = fixtures().join("generated/lane_bound_dense.keras");
    let model = keras::load(&path).unwrap();
    let one = 1i128 << 32;
    let vector = |f: &dyn Fn(usize) -> i128| Tensor {
        shape: vec![16],
        data: (0..16).map(f).collect(),
    };
    for (salt, (format, lane_bits, qmax)) in [
        (WeightFormat::Int8, 31, 127i128),
        (WeightFormat::Int16, 47, 32_767),
    ]
    .into_iter()
    .enumerate()
    {
        let graph = Graph::from_model(&model, format).unwrap();
        let dense = &graph.nodes[graph.outputs[0]];
        let e = dense.input_shift;
        assert_eq!(
            e,
            if qmax == 127 { 12 } else { 4 },
            "{format}: ⌈log2 16⌉ (+ 8)"
        );
        let below = one - (1 << e);
        let sum = 16 * ((below + (1 << (e - 1))) >> e) * qmax;
        assert!(
            sum < 1 << lane_bits && 64 * sum > 63 << lane_bits,
            "{format}: {sum}"
        );
        let samples = [
            vector(&|_| below),
            vector(&|_| -below),
            vector(&|i| if i % 3 == 0 { -below } else { below }),
            vector(&|i| if i % 4 == 0 { -one } else { one }),
            vector(&|i| 3 * one - i as i128),
            vector(&|i| if i == 5 { one << 20 } else { -one / 2 }),
        ];
        let (address, _, _) = deploy_model_in(&chain, &model, 910 + salt as u64, format).await;
        for (b, x) in samples.iter().enumerate() {
            let want = graph.run(std::slice::from_ref(x)).unwrap();
            assert!(
                want[0].data.iter().any(|&v| v.abs() > one),
                "{format} {b}: {want:?}"
            );
            let got = predict_on_chain(&chain, address, &graph, std::slice::from_ref(x)).await;
            assert_eq!(got, want, "{format}, sample {b}");
        }
    }
    eprintln!("dense lane bound on chain: {:?}", started.elapsed());
}

/// Which layers narrow their input (`Graph::narrow_inputs`): a Dense, also inside
/// TimeDistributed (deployed as a `DenseLayer`), by ⌈log2 K⌉ (+ 8) of its input units in
/// int16/int8 only; a TimeDistributed convolution (its own contract) never. The on-chain check of
/// both is `int_formats_on_chain_equal_the_reference_per_layer_kind` (td_steps_fn).
#[test]
fn dense_and_time_distributed_dense_narrow_their_inputs_in_int_formats() {
    let model = keras::load(&fixtures().join("generated/td_steps_fn.keras")).unwrap();
    for format in WeightFormat::ALL {
        let graph = Graph::from_model(&model, format).unwrap();
        let node = |name: &str| graph.nodes.iter().find(|n| n.name == name).unwrap();
        let dense = node("td_dense");
        let k = dense.weights[0].shape[0];
        assert_eq!(
            dense.input_shift,
            quant::input_shift(format, quant::Sums::Units, k),
            "{format}"
        );
        let int = matches!(format, WeightFormat::Int8 | WeightFormat::Int16);
        assert_eq!(dense.input_shift > 0, int, "{format}: K = {k}");
        assert_eq!(node("td_conv").input_shift, 0, "{format}");
    }
}

/// The hosted convolutions (`ConvBase._convolveHosted`) in slices: fashion_mnist in int16 and
/// int8 through chained calls of at most 700k gas, so both convolutions (1.4–3.4M whole) go in
/// row slices — windows cut at a slice's first and last rows, the padding rows moved
/// (`Conv2DLayer._windowRows` sets h and pt, which the host's header carries) — and every
/// layer's output equals the reference's bit for bit.
#[tokio::test]
async fn hosted_convolutions_in_row_slices_equal_the_reference() {
    let started = std::time::Instant::now();
    let (anvil, chain) = anvil_with_model().await;
    let rpc = eternalize::chain::Rpc::connect(&anvil.url()).unwrap();
    let path = fixtures().join("eai_example/fashion_mnist.keras");
    let model = keras::load(&path).unwrap();
    let arr = input::read(&fixtures().join("eai_example/fashion_mnist_input.npy")).unwrap();
    for (salt, format) in INT_FORMATS.into_iter().enumerate() {
        let graph = Graph::from_model(&model, format).unwrap();
        let x = input::samples(&arr[0].1, &graph.input_shapes()[0]).unwrap()[0].clone();
        let (address, _, _) = deploy_model_in(&chain, &model, 700 + salt as u64, format).await;
        let state = rpc.model_state(address).await.unwrap();
        let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
        let all: Vec<usize> = (0..graph.nodes.len()).collect();
        let mut runner = Runner::new(&rpc, &chained, all, 700_000);
        let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
        let want = graph.run_all(std::slice::from_ref(&x)).unwrap();
        assert_eq!(got, want, "{format}: every layer through chained calls");
        for conv in [1, 3] {
            let slices = runner
                .calls
                .iter()
                .filter(|c| {
                    c.what.starts_with(&format!("layer {conv} (")) && c.what.contains(" rows ")
                })
                .count();
            assert!(slices >= 2, "{format} layer {conv}: {slices} row slices");
        }
    }
    eprintln!("hosted convolutions in row slices: {:?}", started.elapsed());
}

/// The hosted convolutions (`ConvBase._convolveHosted`) in output-channel blocks, the twin of
/// [`hosted_convolutions_in_row_slices_equal_the_reference`]: fashion_mnist's two convolutions
/// (conv1 28×28×1 → 6, conv2 14×14×6 → 16, both 5×5 same) in int16 and int8, called as the
/// chained calls and jobs call a Conv2D row too big for one call (`forwardSlicePacked` with
/// the first channel and the channel count in the high 128 bits of `from`/`count`: the layer
/// computes filters [f0, f0 + n) of the stored kernel, f0 > 0 here), on the whole height and on
/// row slices. First the chained runner itself under 400k gas a call, which cuts conv2's rows
/// into channel blocks (of 8: channels 8–15 the second) and must give every layer's reference
/// output; then each block below by hand, traced. Every block equals those channels of the reference's output bit for bit, and
/// the call tracer shows the block's STATICCALL to `EternalConvKernel`: the host, not the
/// layer's own lanes, computed it. Every one of these blocks is hosted since branch `hostrule`
/// widened `ConvBase._hosts` (above 3/4 of the layer's own multiplications, a layer of at most
/// six filters over two output columns or more, or of more over four or more, is hosted too);
/// the layer's own lanes at their bound are `narrowed_convolution_lanes_hold_at_the_bound`'s,
/// and a declined layer's trace without the call is checked by
/// [`hosted_conv1d_layers_equal_the_reference`]. The blocks: of six starting past 0, with 1–5
/// spare lanes in their last six-filter block, and small ones.
#[tokio::test]
async fn hosted_convolutions_in_channel_blocks_equal_the_reference() {
    use alloy::sol_types::SolCall;
    let started = std::time::Instant::now();
    let (anvil, chain) = anvil_with_model().await;
    let rpc = eternalize::chain::Rpc::connect(&anvil.url()).unwrap();
    let kernel = eternalize::chain::bindings::conv_kernel_address();
    let path = fixtures().join("eai_example/fashion_mnist.keras");
    let model = keras::load(&path).unwrap();
    let arr = input::read(&fixtures().join("eai_example/fashion_mnist_input.npy")).unwrap();
    // (layer, [(first channel, channels)], [(first row, rows)])
    type Ranges = &'static [(usize, usize)];
    let cases: [(usize, Ranges, Ranges); 2] = [
        (
            1,
            &[(1, 5), (2, 4), (3, 3), (4, 2)],
            &[(0, 28), (0, 3), (13, 2), (27, 1)],
        ),
        (
            3,
            &[
                (8, 8),
                (11, 5),
                (6, 6),
                (6, 10),
                (10, 6),
                (1, 15),
                (3, 7),
                (9, 7),
                (5, 11),
                (12, 4),
                (13, 3),
            ],
            &[(0, 14), (0, 2), (6, 3), (13, 1)],
        ),
    ];
    let mut blocks = 0;
    for (salt, format) in INT_FORMATS.into_iter().enumerate() {
        let graph = Graph::from_model(&model, format).unwrap();
        let x = input::samples(&arr[0].1, &graph.input_shapes()[0]).unwrap()[0].clone();
        let want = graph.run_all(std::slice::from_ref(&x)).unwrap();
        let (address, _, _) = deploy_model_in(&chain, &model, 720 + salt as u64, format).await;
        let state = rpc.model_state(address).await.unwrap();
        let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
        // Chained calls of at most 400k gas: a conv2 row (≈ 400k int8, 720k int16 as one call,
        // the kernel packed whole each time) goes in blocks of its channels, the second of each
        // row from channel 8 (or so). Should a conv2 row come to fit 400k, lower the budget
        // (below ≈ 340k a block of one channel no longer fits).
        let all: Vec<usize> = (0..graph.nodes.len()).collect();
        let mut runner = Runner::new(&rpc, &chained, all, 400_000);
        let got = runner.run(std::slice::from_ref(&x)).await.unwrap();
        assert_eq!(got, want, "{format}: every layer through chained calls");
        let later = runner
            .calls
            .iter()
            .filter(|c| {
                c.what.starts_with("layer 3 (")
                    && c.what.contains(" channels ")
                    && !c.what.contains(" channels 0–")
            })
            .count();
        assert!(
            later >= 14,
            "{format}: {later} conv2 channel blocks past channel 0"
        );
        for (layer, channels, rows) in cases {
            let ins = &want[layer - 1];
            let out = &want[layer];
            let [_, ow, f] = out.shape[..] else {
                panic!("layer {layer}: output {:?}", out.shape)
            };
            for &(from, count) in rows {
                let parts = eternalize::infer::plan::slice_parts(
                    &chained.layers[layer],
                    &[ins],
                    from,
                    count,
                )
                .unwrap();
                let values: Vec<i128> = parts.concat();
                for &(c0, cc) in channels {
                    let what =
                        format!("{format} layer {layer} rows {from}+{count} channels {c0}+{cc}");
                    let (from_w, count_w) =
                        eternalize::usecase::job::part_words((from, count), (c0, cc));
                    let call = EternalModel::forwardSlicePackedCall {
                        layer: U256::from(layer),
                        inputs: eternalize::chain::packed::pack(&values).into(),
                        shapes: ins.shape.iter().map(|&d| U256::from(d)).collect(),
                        ranks: vec![U256::from(ins.shape.len())],
                        from: from_w,
                        count: count_w,
                    };
                    let data: alloy::primitives::Bytes = call.abi_encode().into();
                    let answer = rpc
                        .call_with_gas(address, &data, 1_000_000_000)
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    let r =
                        EternalModel::forwardSlicePackedCall::abi_decode_returns(&answer).unwrap();
                    let shape: Vec<usize> = r.outputShape.iter().map(|d| d.to::<usize>()).collect();
                    assert_eq!(shape, [count, ow, cc], "{what}");
                    let got: Vec<i128> = r
                        .output
                        .iter()
                        .map(|v| i128::try_from(*v).unwrap())
                        .collect();
                    let expected: Vec<i128> = (from * ow..(from + count) * ow)
                        .flat_map(|p| out.data[p * f + c0..p * f + c0 + cc].iter().copied())
                        .collect();
                    assert_eq!(got, expected, "{what}");
                    let trace =
                        crate::chain_support::trace_call(chain.provider(), address, &data).await;
                    assert!(
                        static_calls_to(&trace, kernel),
                        "{what}: no STATICCALL to EternalConvKernel at {kernel}: not hosted"
                    );
                    blocks += 1;
                }
            }
        }
    }
    eprintln!(
        "hosted convolutions in channel blocks: {blocks} blocks, every one hosted, {:?}",
        started.elapsed()
    );
}

/// Conv1D layers through `ConvBase._convolveHosted` (h = 1 geometries, causal padding's
/// pl = kw − 1 among them): conv1d_gap1d and conv1d_causal_strided in int16 and int8 on inputs
/// in [-1, 1], each Conv1D called alone (`forwardPacked`) on the reference's input to it. Its
/// output equals the reference's bit for bit, and the call tracer shows the STATICCALL to
/// `EternalConvKernel` exactly for the layers `_hosts` takes: conv1d_gap1d's first (8 filters,
/// kernel 3, same, 20 steps; in int8 too since `hostrule` widened the rule past its 3/4 test),
/// and conv1d_causal_strided's second (5 filters, kernel 2, causal: the one padding column on
/// the left) in both; the others have a stride of 2 or 3 (the host takes stride 1 along the
/// row only), and their traces must show no call.
#[tokio::test]
async fn hosted_conv1d_layers_equal_the_reference() {
    use alloy::sol_types::SolCall;
    let (anvil, chain) = anvil_with_model().await;
    let rpc = eternalize::chain::Rpc::connect(&anvil.url()).unwrap();
    let kernel = eternalize::chain::bindings::conv_kernel_address();
    let (mut salt, mut hosted) = (740, 0);
    for name in ["conv1d_gap1d", "conv1d_causal_strided"] {
        let model = keras::load(&fixtures().join(format!("generated/{name}.keras"))).unwrap();
        for format in INT_FORMATS {
            let graph = Graph::from_model(&model, format).unwrap();
            let shape: Vec<usize> = graph.input_shapes()[0].iter().flatten().copied().collect();
            let n: usize = shape.iter().product();
            let x = Tensor {
                shape: shape.clone(),
                data: (0..n as i128)
                    .map(|i| ((i * 7919 % 2001) - 1000) * (1i128 << 32) / 1000)
                    .collect(),
            };
            let want = graph.run_all(std::slice::from_ref(&x)).unwrap();
            salt += 1;
            let (address, _, _) = deploy_model_in(&chain, &model, salt, format).await;
            let state = rpc.model_state(address).await.unwrap();
            let chained = ChainModel::read(&rpc, address, &state).await.unwrap();
            for (i, l) in chained.layers.iter().enumerate() {
                if l.kind.class_name() != "Conv1D" {
                    continue;
                }
                let ins: Vec<&Tensor> = l.inputs.iter().map(|&j| &want[j]).collect();
                let values: Vec<i128> = ins.iter().flat_map(|t| t.data.iter().copied()).collect();
                let call = EternalModel::forwardPackedCall {
                    layer: U256::from(i),
                    inputs: eternalize::chain::packed::pack(&values).into(),
                    shapes: ins
                        .iter()
                        .flat_map(|t| t.shape.iter().map(|&d| U256::from(d)))
                        .collect(),
                    ranks: ins.iter().map(|t| U256::from(t.shape.len())).collect(),
                };
                let data: alloy::primitives::Bytes = call.abi_encode().into();
                let answer = rpc
                    .call_with_gas(address, &data, 1_000_000_000)
                    .await
                    .unwrap();
                let r = EternalModel::forwardPackedCall::abi_decode_returns(&answer).unwrap();
                let got: Vec<i128> = r
                    .output
                    .iter()
                    .map(|v| i128::try_from(*v).unwrap())
                    .collect();
                assert_eq!(got, want[i].data, "{name} {format} layer {i}");
                let trace =
                    crate::chain_support::trace_call(chain.provider(), address, &data).await;
                let host = matches!(
                    (name, i),
                    ("conv1d_gap1d", 1) | ("conv1d_causal_strided", 2)
                );
                assert_eq!(
                    static_calls_to(&trace, kernel),
                    host,
                    "{name} {format} layer {i}: hosted (a STATICCALL to {kernel}) expected: {host}"
                );
                hosted += usize::from(host);
            }
        }
    }
    assert_eq!(hosted, 4, "hosted Conv1D calls");
}

/// Whether a call tracer's tree holds a STATICCALL to `to`.
fn static_calls_to(call: &Value, to: alloy::primitives::Address) -> bool {
    let here = call["type"] == "STATICCALL"
        && call["to"]
            .as_str()
            .and_then(|a| a.parse::<alloy::primitives::Address>().ok())
            == Some(to);
    here || call["calls"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| static_calls_to(c, to)))
}

/// How far `inspect --formats`'s predict gas (the call planner's model, uncalibrated) may be
/// from `eth_estimateGas` of one `predict` call: it is an estimate for choosing a format.
const PREDICT_ESTIMATE_TOLERANCE: f64 = 0.15;

/// fashion_mnist deployed in every format: `inspect --formats`'s predict gas per format is
/// within [`PREDICT_ESTIMATE_TOLERANCE`] of `eth_estimateGas` of `predict` on the same sample.
#[tokio::test]
async fn predict_gas_estimates_per_format_are_within_tolerance_on_anvil() {
    let started = std::time::Instant::now();
    let (_anvil, chain) = anvil_with_model().await;
    let path = fixtures().join("eai_example/fashion_mnist.keras");
    let npy = fixtures().join("eai_example/fashion_mnist_input.npy");
    let report = eternalize::usecase::formats::measure(&path, Some(&npy)).unwrap();
    let model = keras::load(&path).unwrap();
    let exact = Graph::from_model(&model, WeightFormat::Exact).unwrap();
    let arr = input::read(&npy).unwrap();
    let first = input::samples(&arr[0].1, &exact.input_shapes()[0]).unwrap()[0].clone();
    for (salt, format) in WeightFormat::ALL.into_iter().enumerate() {
        let (address, _, _) = deploy_model_in(&chain, &model, salt as u64 + 1, format).await;
        let (values, shapes, ranks) = (
            first
                .data
                .iter()
                .map(|&v| I256::try_from(v).unwrap())
                .collect(),
            first.shape.iter().map(|&d| U256::from(d)).collect(),
            vec![U256::from(first.shape.len())],
        );
        let m = EternalModel::new(address, chain.provider().clone());
        let measured = m
            .predict(values, shapes, ranks)
            .estimate_gas()
            .await
            .unwrap();
        let estimate = report
            .formats
            .iter()
            .find(|r| r.name == format.flag())
            .and_then(|r| r.predict_gas)
            .unwrap_or_else(|| panic!("{format}: no predict gas estimate"));
        let off = estimate as f64 / measured as f64 - 1.0;
        eprintln!(
            "fashion_mnist {format}: predict gas estimate {estimate}, eth_estimateGas {measured} ({:+.1} %)",
            100.0 * off
        );
        assert!(
            off.abs() <= PREDICT_ESTIMATE_TOLERANCE,
            "{format}: estimate {estimate} vs measured {measured} ({:+.1} %)",
            100.0 * off
        );
    }
    eprintln!("predict gas estimates on anvil: {:?}", started.elapsed());
}

fn run(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    eternalize(data, args, &[("ETERNALIZE_PRIVATE_KEY", ANVIL_DEV_KEYS[0])])
}

fn json_of(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", text(o)))
}

#[test]
fn fashion_mnist_in_int16_and_int8_through_the_cli() {
    let started = std::time::Instant::now();
    let anvil = AnvilProcess::spawn(&anvil_path(), &[]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let url = anvil.url();
    let model = fixture("eai_example/fashion_mnist.keras")
        .display()
        .to_string();
    let input = fixture("eai_example/fashion_mnist_input.npy")
        .display()
        .to_string();
    let params = 58_232u64;
    let deploy = |format: &str| {
        let o = run(
            data.path(),
            &[
                "deploy",
                &model,
                "--rpc-url",
                &url,
                "--yes",
                "--json",
                "--format",
                format,
            ],
        );
        assert!(o.status.success(), "{format}:\n{}", text(&o));
        done_line(&o)
    };
    // Compact first: it deploys the factory and the implementations, so the gas of the two
    // deployments after it is the model's own.
    deploy("compact");
    for format in ["int16", "int8"] {
        let plan = json_of(&run(
            data.path(),
            &[
                "plan",
                &model,
                "--rpc-url",
                &url,
                "--yes",
                "--json",
                "--format",
                format,
            ],
        ));
        let done = deploy(format);
        let gas = done["gas_used"].as_u64().unwrap();
        let address = done["model_address"].as_str().unwrap().to_string();
        eprintln!(
            "fashion_mnist {format}: deploy {gas} gas = {:.1} gas/param (plan: {})",
            gas as f64 / params as f64,
            plan["format"]
        );

        // verify: passes in the chain's format, fails for another.
        let o = run(
            data.path(),
            &["verify", &address, &model, "--rpc-url", &url, "--json"],
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(o.status.success(), "{format}: {v}\n{}", text(&o));
        assert_eq!(v["ok"], true, "{v}");
        let other = if format == "int16" { "int8" } else { "int16" };
        let o = run(
            data.path(),
            &[
                "verify",
                &address,
                &model,
                "--rpc-url",
                &url,
                "--json",
                "--format",
                other,
            ],
        );
        assert!(!o.status.success(), "{format} verified as {other}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["weights"]["ok"], false, "{v}");

        // predict by address (one call, then chained calls) = offline in the same format.
        let offline = json_of(&run(
            data.path(),
            &[
                "predict", &model, "--input", &input, "--json", "--format", format,
            ],
        ));
        for call_gas in [None, Some("2500000")] {
            let mut args = vec![
                "predict",
                &address,
                "--input",
                &input,
                "--rpc-url",
                &url,
                "--json",
            ];
            if let Some(g) = call_gas {
                args.extend(["--call-gas", g]);
            }
            let mut on_chain = json_of(&run(data.path(), &args));
            let fields = on_chain.as_object_mut().unwrap();
            let calls = fields.remove("calls").unwrap();
            fields.remove("call_gas");
            let gas = fields.remove("gas").unwrap();
            eprintln!("fashion_mnist {format} predict ({call_gas:?}): {calls} calls, gas {gas}");
            if call_gas.is_some() {
                assert!(calls.as_u64().unwrap() > 1, "{calls}");
            }
            assert_eq!(on_chain, offline, "{format} {call_gas:?}");
        }
        if format == "int8" {
            // As an on-chain job of transactions (`--send`): the same values.
            let job = json_of(&run(
                data.path(),
                &[
                    "predict",
                    &address,
                    "--input",
                    &input,
                    "--rpc-url",
                    &url,
                    "--send",
                    "--yes",
                    "--json",
                ],
            ));
            eprintln!("fashion_mnist int8 job: {} gas", job["gas_used"]);
            assert_eq!(job["values"], offline["values"], "{job}");

            // One int8 value changed on chain: verify names the layer, tensor and element. Chunk
            // 0 starts with the first Conv2D's kernel record: a 4-byte channel count, 6 scales
            // of 2 bytes, then the values — blob byte 24 is value 8.
            let rpc = eternalize::chain::Rpc::connect(&url).unwrap();
            let model_address: alloy::primitives::Address = address.parse().unwrap();
            crate::deploy_support::runtime().block_on(async {
                let at = rpc.chunk_address(model_address, 0).await.unwrap();
                let mut code = rpc.code_at(at).await.unwrap().to_vec();
                code[1 + 24] ^= 0x01;
                let _: Value = rpc
                    .request(
                        "anvil_setCode",
                        serde_json::json!([at, alloy::primitives::hex::encode_prefixed(&code)]),
                    )
                    .await
                    .unwrap();
            });
            let o = run(
                data.path(),
                &["verify", &address, &model, "--rpc-url", &url],
            );
            assert!(!o.status.success());
            let said = text(&o);
            assert!(
                said.contains("blob byte 24") && said.contains("tensor 0 element 8"),
                "{said}"
            );
        }
    }
    eprintln!("fashion_mnist int16/int8 CLI: {:?}", started.elapsed());
}

/// BENCHMARKS.md's table: fashion_mnist and the per-kind fixtures deployed in every format;
/// per model and format the error against Keras (or, for fashion_mnist, which has no Keras
/// predictions, against the exact reference on its sample), argmax agreement, the model's own
/// deploy gas per parameter and one sample's predict gas (`eth_estimateGas`), with
/// the gas per layer (`debug_traceCall`) of fashion_mnist and the grouped/transposed fixtures:
/// `cargo test --test all formats_chain::benchmark -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement for BENCHMARKS.md, not a check"]
async fn benchmark_formats_on_chain() {
    let (_anvil, chain) =
        crate::chain_support::anvil_with_model(&["--gas-limit", "500000000"]).await;
    let mut salt = 0u64;
    let mut rows = Vec::new();
    for file in std::iter::once("eai_example/fashion_mnist.keras")
        .chain(KINDS)
        .chain(GROUPED)
    {
        let path = fixtures().join(file);
        let model = keras::load(&path).unwrap();
        let measured = if file.starts_with("eai_example") {
            let input = fixtures().join("eai_example/fashion_mnist_input.npy");
            eternalize::usecase::formats::measure(&path, Some(&input)).unwrap()
        } else {
            eternalize::usecase::formats::measure(&path, None).unwrap()
        };
        let exact = Graph::from_model(&model, WeightFormat::Exact).unwrap();
        let first: Vec<Tensor> = if file.starts_with("eai_example") {
            let arr = input::read(&fixtures().join("eai_example/fashion_mnist_input.npy")).unwrap();
            vec![input::samples(&arr[0].1, &exact.input_shapes()[0]).unwrap()[0].clone()]
        } else {
            let truth = read_json(&sidecar(&path, ".truth.json"));
            truth["predict"]["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .zip(exact.input_shapes())
                .map(|(v, s)| input::samples(&array(v), &s).unwrap()[0].clone())
                .collect()
        };
        for format in WeightFormat::ALL {
            let graph = Graph::from_model(&model, format).unwrap();
            salt += 1;
            let (address, _, deploy_gas) = deploy_model_in(&chain, &model, salt, format).await;
            let got = predict_on_chain(&chain, address, &graph, &first).await;
            assert_eq!(got, graph.run(&first).unwrap(), "{file} {format}");
            let mut order: Vec<(usize, &Tensor)> =
                graph.inputs.iter().copied().zip(&first).collect();
            order.sort_by_key(|(i, _)| *i);
            let (mut values, mut shapes, mut ranks) = (Vec::new(), Vec::new(), Vec::new());
            for (_, t) in order {
                values.extend(t.data.iter().map(|&v| I256::try_from(v).unwrap()));
                shapes.extend(t.shape.iter().map(|&d| U256::from(d)));
                ranks.push(U256::from(t.shape.len()));
            }
            let m = EternalModel::new(address, chain.provider().clone());
            let call = m.predict(values, shapes, ranks);
            let predict_gas = call.estimate_gas().await.unwrap();
            let params: u64 = model
                .layers
                .iter()
                .flat_map(|l| &l.weights)
                .map(|t| t.len() as u64)
                .sum();
            let row = measured
                .formats
                .iter()
                .find(|r| r.name == format.flag())
                .unwrap();
            rows.push(format!(
                "| {file} | {format} | {:.2e} | {} | {:.0} | {predict_gas} |",
                row.max_abs_err,
                row.argmax_agree.as_deref().unwrap_or("—"),
                deploy_gas as f64 / params as f64,
            ));
            if file.starts_with("eai_example") || GROUPED.contains(&file) {
                let (_, used) = crate::chain_support::trace_layer_gas(
                    chain.provider(),
                    address,
                    &call.calldata()[..],
                )
                .await;
                let layers: Vec<String> = used
                    .iter()
                    .zip(&graph.nodes)
                    .map(|(g, n)| format!("{} {} {g}", n.name, n.class_name))
                    .collect();
                eprintln!(
                    "{file} {format}: deploy {deploy_gas} gas, predict {predict_gas} gas; {}",
                    layers.join(", ")
                );
            }
        }
    }
    eprintln!("| model | format | max abs err | argmax | deploy gas/param | predict gas |");
    eprintln!("|---|---|---:|---:|---:|---:|");
    for r in rows {
        eprintln!("{r}");
    }
}

/// Records cut by chunk boundaries anywhere (96-byte chunks: headers, scales and values all
/// straddle some): every weight reads back as the reference's, and predict equals it.
#[tokio::test]
async fn int_records_across_small_chunks() {
    use alloy::primitives::B256;
    let node = crate::chain_support::anvil();
    let chain = crate::chain_support::connect(&node, 0);
    let file = "keras3_4/mlp_basic.keras";
    let spec = crate::chain_support::spec(file);
    let path = fixtures().join(file);
    let model = keras::load(&path).unwrap();
    let truth = read_json(&sidecar(&path, ".truth.json"));
    for (salt, format) in INT_FORMATS.into_iter().enumerate() {
        let (image, _) = chain
            .prepare(&spec, format, 96, B256::repeat_byte(salt as u8 + 1))
            .await
            .unwrap();
        assert!(image.chunks.count() > 10, "{}", image.chunks.count());
        for i in 0..image.chunks.count() {
            chain.store_chunk(&image, i).await.unwrap();
        }
        assert_on_chain(&chain, &spec, &image).await;
        let graph = Graph::from_model(&model, format).unwrap();
        let samples = input::samples(
            &array(&truth["predict"]["inputs"][0]),
            &graph.input_shapes()[0],
        )
        .unwrap();
        let got = predict_on_chain(&chain, image.model, &graph, &samples[..1]).await;
        assert_eq!(got, graph.run(&samples[..1]).unwrap(), "{format}");
    }
}
