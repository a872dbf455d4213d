//! Gas of deploying an Eternal, by category, on a fresh anvil (`--enable-tx-gas-limit`, so the
//! Osaka per-transaction cap of 16,777,216 gas is enforced, default 30M blocks).
//!
//!     cargo run --release --example gas_report --features gas-report [-- --skip-large]
//!
//! Deploys fashion_mnist.keras (exported by eternalize) in both weight formats, then a
//! synthetic Dense model with > 5M parameters in the default format. Prints markdown tables;
//! the numbers are recorded in BENCHMARKS.md ("## Gas (issue 3)").

use alloy::primitives::B256;
use eternalize::bundle::Bundle;
use eternalize::chain::{
    Chain, Implementation, LayerEntry, LayerKind, LayerSource, MAX_CHUNK_BYTES, ModelImage,
    ModelSpec, Sent, WeightFormat, signer_from_hex,
};
use eternalize::tools::{ANVIL_DEV_KEYS, AnvilProcess, Tools};
use std::path::Path;
use std::time::Instant;

/// EIP-7825's per-transaction gas cap.
const TX_GAS_CAP: u64 = 16_777_216;

#[derive(Default)]
struct Tally {
    txs: u64,
    gas: u64,
    largest: u64,
}

impl Tally {
    fn add(&mut self, sent: &Sent) {
        self.txs += 1;
        self.gas += sent.gas_used;
        self.largest = self.largest.max(sent.gas_used);
    }
}

struct Run {
    format: WeightFormat,
    params: u64,
    factory: Tally,
    implementations: Tally,
    layers: Tally,
    model: Tally,
    construct: Tally,
    chunks: Tally,
    chunk_bytes: usize,
    seconds: f64,
}

impl Run {
    fn per_model(&self) -> u64 {
        self.layers.gas + self.model.gas + self.construct.gas + self.chunks.gas
    }

    /// Largest transaction of this model's own deployment (one-time parts excluded).
    fn largest(&self) -> u64 {
        [&self.layers, &self.model, &self.construct, &self.chunks]
            .iter()
            .map(|t| t.largest)
            .max()
            .unwrap_or(0)
    }
}

async fn deploy(
    chain: &Chain,
    spec: &ModelSpec,
    format: WeightFormat,
    salt: u8,
) -> Result<(Run, ModelImage), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut run = Run {
        format,
        params: spec.params(),
        factory: Tally::default(),
        implementations: Tally::default(),
        layers: Tally::default(),
        model: Tally::default(),
        construct: Tally::default(),
        chunks: Tally::default(),
        chunk_bytes: 0,
        seconds: 0.0,
    };
    let (image, prepared) = chain
        .prepare(spec, format, MAX_CHUNK_BYTES, B256::repeat_byte(salt))
        .await?;
    if let Some(s) = &prepared.factory {
        run.factory.add(s);
    }
    for (_, s) in &prepared.implementations {
        run.implementations.add(s);
    }
    if let Some(s) = &prepared.model {
        run.model.add(s);
    }
    for s in &prepared.layers {
        run.layers.add(s);
    }
    if let Some(s) = &prepared.construct {
        run.construct.add(s);
    }
    for i in 0..image.chunks.count() {
        run.chunks.add(&chain.store_chunk(&image, i).await?);
    }
    if !chain.is_ready(image.model).await? {
        return Err("the model is not ready after every chunk".into());
    }
    run.chunk_bytes = image.blob.bytes.len();
    run.seconds = started.elapsed().as_secs_f64();
    Ok((run, image))
}

fn per_param(gas: u64, params: u64) -> String {
    format!("{:.1}", gas as f64 / params as f64)
}

fn n(x: u64) -> String {
    let s = x.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A Dense model with `inputs × units + units` parameters, values spread over (-0.25, 0.25).
fn synthetic(inputs: u64, units: u64) -> ModelSpec {
    let input = serde_json::json!({"batch_input_shape": [null, inputs]});
    let dense = serde_json::json!({"units": units, "activation": "relu", "use_bias": true});
    let shapes = [vec![None, Some(inputs)]];
    let kernel = inputs * units;
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
                name: "dense",
                class_name: "Dense",
                config: &dense,
                input_shapes: &shapes,
                output_shape: None,
            },
            inputs: vec![0],
            tensor_shapes: vec![vec![inputs, units], vec![units]],
        },
    ];
    // Deterministic values, as trained float32 weights look in Q32.32: a float32's 24-bit
    // mantissa leaves the low bits of the Q32.32 zero-ish but not zero.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut value = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let x = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.5;
        (f64::from(x) * 4_294_967_296.0).trunc() as i64 as u64
    };
    let mut words = Vec::new();
    for len in [kernel, units] {
        let padded = len.div_ceil(4) * 4;
        let vals: Vec<u64> = (0..padded)
            .map(|j| if j < len { value() } else { 0 })
            .collect();
        words.extend(vals.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]));
    }
    ModelSpec::build(&entries, words, &"00".repeat(64)).expect("synthetic spec")
}

fn print_runs(title: &str, runs: &[&Run], all_impls: &Tally) {
    println!("\n### {title}\n");
    print!("| category |");
    for r in runs {
        print!(" `{}` |", r.format.name());
    }
    println!();
    print!("|---|");
    for _ in runs {
        print!("---|");
    }
    println!();
    let row = |label: &str, f: &dyn Fn(&Run) -> String| {
        print!("| {label} |");
        for r in runs {
            print!(" {} |", f(r));
        }
        println!();
    };
    let first = runs[0];
    row("one-time: factory", &|_| n(first.factory.gas));
    row("one-time: all 27 implementations", &|_| n(all_impls.gas));
    row("one-time: implementations this model uses", &|_| {
        format!(
            "{} ({} tx)",
            n(first.implementations.gas),
            first.implementations.txs
        )
    });
    row("layer instances", &|r| {
        format!("{} ({} tx)", n(r.layers.gas), r.layers.txs)
    });
    row("model clone + construct", &|r| {
        format!("{} + {}", n(r.model.gas), n(r.construct.gas))
    });
    row("chunks", &|r| {
        format!(
            "{} ({} tx, {} bytes, {:.1} gas/byte)",
            n(r.chunks.gas),
            r.chunks.txs,
            n(r.chunk_bytes as u64),
            r.chunks.gas as f64 / r.chunk_bytes as f64
        )
    });
    row("**total per model**", &|r| {
        format!("**{}**", n(r.per_model()))
    });
    row("**gas per parameter** (excl. one-time)", &|r| {
        format!("**{}**", per_param(r.per_model(), r.params))
    });
    row(
        "gas per parameter incl. factory + used implementations",
        &|r| {
            per_param(
                r.per_model() + first.factory.gas + first.implementations.gas,
                r.params,
            )
        },
    );
    row("largest transaction of the model", &|r| n(r.largest()));
    row("largest one-time transaction", &|_| {
        n(first
            .factory
            .largest
            .max(first.implementations.largest)
            .max(all_impls.largest))
    });
    row("wall time on anvil (s)", &|r| format!("{:.2}", r.seconds));
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let skip_large = std::env::args().any(|a| a == "--skip-large");
    let anvil_path = Tools::in_repo().anvil()?;
    let node = AnvilProcess::spawn(&anvil_path, &["--enable-tx-gas-limit"])?;
    let chain = Chain::connect(&node.url(), signer_from_hex(ANVIL_DEV_KEYS[0])?)?;
    println!(
        "anvil {} (--enable-tx-gas-limit, 30M block gas limit)",
        eternalize::tools::pinned_version(eternalize::tools::ANVIL_PACKAGE)?
    );

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/eai_example/fashion_mnist.keras");
    let model = eternalize::keras::load(&path)?;
    let bundle = Bundle::from_model(&model)?;
    let spec = ModelSpec::from_bundle(&bundle, Some(&model))?;
    println!(
        "fashion_mnist.keras: {} layers, {} parameters, hashed_model {}",
        spec.layers.len(),
        n(spec.params()),
        bundle.hashes().hashed_model()
    );

    let (int32, _) = deploy(&chain, &spec, WeightFormat::Compact, 1).await?;
    let (q32, _) = deploy(&chain, &spec, WeightFormat::Exact, 2).await?;

    // The rest of the implementations, to price "all of them" once per chain.
    let mut all_impls = Tally {
        gas: int32.implementations.gas,
        ..Tally::default()
    };
    for kind in LayerKind::ALL {
        if let Some(s) = chain
            .deploy_implementation(Implementation::Layer(kind))
            .await?
            .sent
        {
            all_impls.add(&s);
        }
    }
    print_runs(
        "fashion_mnist.keras (58,232 parameters)",
        &[&int32, &q32],
        &all_impls,
    );

    let mut largest = [
        int32.largest(),
        q32.largest(),
        int32.factory.largest,
        int32.implementations.largest,
        all_impls.largest,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    if !skip_large {
        let big = synthetic(1000, 5000);
        let (run, image) = deploy(&chain, &big, WeightFormat::Compact, 3).await?;
        println!(
            "\n### Synthetic Dense 1000→5000 ({} parameters), `INT32_SHIFTED`\n",
            n(run.params)
        );
        println!("| what | gas |");
        println!("|---|---|");
        println!(
            "| layer instances | {} ({} tx) |",
            n(run.layers.gas),
            run.layers.txs
        );
        println!(
            "| model clone + construct | {} + {} |",
            n(run.model.gas),
            n(run.construct.gas)
        );
        println!(
            "| chunks | {} ({} tx, proof depth {}, largest {}) |",
            n(run.chunks.gas),
            run.chunks.txs,
            image.chunks.depth(),
            n(run.chunks.largest)
        );
        println!(
            "| total per model | {} = {} gas/param |",
            n(run.per_model()),
            per_param(run.per_model(), run.params)
        );
        println!("| largest transaction | {} |", n(run.largest()));
        println!("| wall time on anvil (s) | {:.1} |", run.seconds);
        largest = largest.max(run.largest());
    }
    println!(
        "\nlargest single transaction of all runs: {} gas (cap {})",
        n(largest),
        n(TX_GAS_CAP)
    );
    if largest > TX_GAS_CAP {
        return Err(format!("a transaction used {largest} gas, over the {TX_GAS_CAP} cap").into());
    }
    Ok(())
}
