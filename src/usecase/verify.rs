//! Reading a deployed model back: [`on_chain`] calls its `predict` (an `eth_call`), and
//! [`verify`] proves the deployment equals a file, part by part — [`check_hash`],
//! [`check_graph`], [`check_weights`], [`check_predict`] — into one [`VerifyReport`]
//! (`Serialize`: `verify --json`; `Display`: the plain report; [`VerifyReport::lines`]: the
//! TUI's Done screen).
//!
//! Owns: what is compared and how a difference is named. Must not touch: the terminal.

use alloy::primitives::{Address, B256, I256, U256, keccak256};
use alloy::sol_types::SolValue;
use serde::Serialize;
use serde_json::{Value, json};
use std::path::Path;

use super::chained::{self, ChainModel, RunError, Runner};
use super::predict::{self, Output, Prediction};
use crate::bundle::file::ModelFile;
use crate::chain::read::read_error;
use crate::chain::weights::{clone_args, clone_implementation, clone_runtime};
use crate::chain::{
    EternalModel, Implementation, LayerKind, ModelImage, ModelSpec, ModelState, Rpc, WeightFormat,
    redact_url,
};
use crate::engine::Source;
use crate::engine::network::{self, Config};
use crate::infer::{Graph, Tensor, fixed, input};

/// Sample inputs `verify` runs through both the chain and the reference.
pub const SAMPLES: usize = 2;

fn fail(message: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::msg(message.to_string())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A read-only connection to a network through the one JSON-RPC client; the local anvil lives
/// as long as this.
pub struct Reader {
    _connected: network::Connected,
    rpc: Rpc,
    url: String,
    expected_chain_id: Option<u64>,
}

impl Reader {
    /// Connects to the network the flags name (the config's default when neither is given); a
    /// missing local anvil is installed only if `consent` agrees.
    pub fn open(
        config: Option<&Path>,
        network_name: Option<&str>,
        rpc_url: Option<&str>,
        consent: &mut dyn FnMut(&network::AnvilInstall) -> network::InstallAnswer,
    ) -> anyhow::Result<Reader> {
        let cfg = Config::load(config).map_err(fail)?;
        let network = network::resolve(&cfg, network_name, rpc_url).map_err(fail)?;
        let connected =
            network::connect_with_consent(&network, &crate::journal::data_dir(), consent)
                .map_err(fail)?;
        let rpc = Rpc::connect(&connected.url).map_err(fail)?;
        Ok(Reader {
            url: redact_url(&connected.url),
            _connected: connected,
            rpc,
            expected_chain_id: network.chain_id,
        })
    }

    /// Reads a chain that is already connected at `url` (the TUI's, whose local anvil it keeps
    /// running; a second anvil on the same state would be another chain).
    pub fn at(url: &str, expected_chain_id: Option<u64>) -> anyhow::Result<Reader> {
        Ok(Reader {
            url: redact_url(url),
            _connected: network::Connected {
                url: url.to_string(),
                local: None,
            },
            rpc: Rpc::connect(url).map_err(fail)?,
            expected_chain_id,
        })
    }

    /// The JSON-RPC client.
    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// The chain id, checked against the network's configured one; and that `address` has code.
    pub(crate) async fn check(&self, address: Address) -> anyhow::Result<u64> {
        let id = self
            .rpc
            .chain_id()
            .await
            .map_err(|f| fail(read_error(format!("read the chain id at {}", self.url), f)))?;
        if let Some(want) = self.expected_chain_id
            && want != id
        {
            return Err(fail(format!(
                "the node at {} is chain {id}, but the network is configured as chain {want}",
                self.url
            )));
        }
        if !self.rpc.has_code(address).await.map_err(fail)? {
            return Err(fail(format!(
                "there is no contract at {address} on chain {id} ({})",
                self.url
            )));
        }
        Ok(id)
    }
}

pub(crate) type Outputs = Vec<(Vec<usize>, Vec<i128>)>;

/// Splits the model's flat `(outputs, outputShapes, outputRanks)` into tensors.
pub(crate) fn split_outputs(
    values: &[I256],
    shapes: &[U256],
    ranks: &[U256],
) -> Result<Outputs, String> {
    let small = |x: &U256| {
        usize::try_from(*x).map_err(|_| format!("the chain returned a dimension of {x}"))
    };
    let mut out = Vec::new();
    let (mut at, mut sat) = (0usize, 0usize);
    for rank in ranks {
        let rank = small(rank)?;
        let dims = shapes
            .get(sat..sat + rank)
            .ok_or("the chain returned fewer shape entries than its ranks say")?;
        let shape = dims.iter().map(small).collect::<Result<Vec<_>, _>>()?;
        sat += rank;
        let n: usize = shape.iter().product();
        let vals = values
            .get(at..at + n)
            .ok_or("the chain returned fewer values than its shapes say")?;
        let vals = vals
            .iter()
            .map(|v| {
                i128::try_from(*v).map_err(|_| format!("the chain returned {v}, beyond int128"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        at += n;
        out.push((shape, vals));
    }
    if at != values.len() {
        return Err(format!(
            "the chain returned {} values but its shapes account for {at}",
            values.len()
        ));
    }
    Ok(out)
}

// ------------------------------------------------------------------ predict ADDRESS

/// Reads `input_path` and cuts it into samples for the model at `address` (ready, with its
/// input shapes from its InputLayers' configs): `(batch, per input: its samples)`, inputs in
/// the contract's order.
pub(crate) async fn samples_for(
    reader: &Reader,
    address: Address,
    input_path: &Path,
) -> anyhow::Result<(usize, Vec<Vec<Tensor>>)> {
    let arrays = input::read(input_path)?;
    let chain_id = reader.check(address).await?;
    let state = reader.rpc.model_state(address).await.map_err(fail)?;
    if !state.ready {
        return Err(fail(format!(
            "the model at {address} on chain {chain_id} is not ready: {} of {} weight chunks stored{}",
            state.chunks_received,
            state.layout.chunkCount,
            if state.constructed {
                ""
            } else {
                ", not constructed"
            }
        )));
    }
    // Input shapes from the model inputs' InputLayer configs: `abi.encode(uint256[] shape)`.
    let mut shapes: Vec<Vec<Option<usize>>> = Vec::new();
    let mut layer_of = Vec::new();
    for i in state.input_layers() {
        let link = &state.layers[i];
        if link.kind != LayerKind::Input.code() {
            continue;
        }
        let cfg = reader.rpc.layer_config(link.layer).await.map_err(fail)?;
        let (dims,) = <(Vec<U256>,)>::abi_decode_params(&cfg).map_err(|e| {
            fail(format!(
                "layer #{i} (InputLayer) at {}: its config does not decode as uint256[]: {e}",
                link.layer
            ))
        })?;
        let mut shape = vec![None];
        for d in dims {
            shape.push(Some(usize::try_from(d).map_err(|_| {
                fail(format!(
                    "layer #{i} (InputLayer): dimension {d} is too large"
                ))
            })?));
        }
        shapes.push(shape);
        layer_of.push(i);
    }
    if arrays.len() != shapes.len() {
        return Err(fail(format!(
            "{}: holds {} input arrays, but the model at {address} takes {}",
            input_path.display(),
            arrays.len(),
            shapes.len()
        )));
    }
    let mut per_input = Vec::new();
    for (k, ((name, a), want)) in arrays.iter().zip(&shapes).enumerate() {
        per_input.push(input::samples(a, want).map_err(|e| {
            // The chain holds no input names: a named input still goes by its position.
            let named = name.as_ref().map_or(String::new(), |n| format!(" ('{n}')"));
            let rule = if shapes.len() > 1 {
                format!(
                    "; by address, inputs go by position to the model's InputLayers in layer order \
                     (here layers #{}) — the chain holds no input names, so list them in that order",
                    layer_of
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", #")
                )
            } else {
                String::new()
            };
            fail(format!("{}: input {k}{named} {e}{rule}", input_path.display()))
        })?);
    }
    let batch = per_input.first().map_or(0, Vec::len);
    if per_input.iter().any(|s| s.len() != batch) {
        return Err(fail(format!(
            "{}: the inputs hold different numbers of samples",
            input_path.display()
        )));
    }
    Ok((batch, per_input))
}

/// Runs the deployed model on every sample of `input_path` through chained calls, each under
/// `call_gas` (default: 2^24, or the node's eth_call cap when lower); one call when it fits.
pub fn on_chain(
    reader: &Reader,
    address: Address,
    input_path: &Path,
    call_gas: Option<u64>,
) -> anyhow::Result<Prediction> {
    let rt = runtime()?;
    rt.block_on(async {
        let (batch, per_input) = samples_for(reader, address, input_path).await?;
        let state = reader.rpc.model_state(address).await.map_err(fail)?;
        let model = ChainModel::read(&reader.rpc, address, &state)
            .await
            .map_err(fail)?;
        let budget = chained::budget(&reader.rpc, call_gas).await.map_err(fail)?;
        let mut runner = Runner::new(&reader.rpc, &model, model.sinks(), budget.gas);
        let mut outputs: Vec<Output> = Vec::new();
        for b in 0..batch {
            let ins: Vec<Tensor> = per_input.iter().map(|s| s[b].clone()).collect();
            let got = runner.run(&ins).await.map_err(|e| {
                fail(format!(
                    "{address} sample {b}: {e} (budget {} gas per call, {})",
                    crate::units::thousands(budget.gas),
                    budget.why
                ))
            })?;
            if outputs.is_empty() {
                outputs = got
                    .iter()
                    .map(|t| Output {
                        name: None,
                        shape: t.shape.clone(),
                        values: Vec::new(),
                    })
                    .collect();
            }
            for (o, t) in outputs.iter_mut().zip(&got) {
                o.values.extend(t.data.iter().map(|&x| fixed::to_f64(x)));
            }
        }
        Ok(Prediction {
            outputs,
            batch,
            calls: Some(runner.stats()),
        })
    })
}

/// The input file through the deployed model and through the reference of `model_path` (in
/// the weight format the chain holds), side by side: the TUI's `p` on Done.
pub fn side_by_side(
    reader: &Reader,
    address: Address,
    model_path: &Path,
    input_path: &Path,
) -> anyhow::Result<predict::SideBySide> {
    let chain = on_chain(reader, address, input_path, None)?;
    let format = runtime()?.block_on(async {
        let state = reader.rpc.model_state(address).await.map_err(fail)?;
        WeightFormat::from_code(state.layout.format).ok_or_else(|| {
            fail(format!(
                "the model at {address} holds weight format code {}, which this version does not know",
                state.layout.format
            ))
        })
    })?;
    let offline = predict::offline(model_path, input_path, format)?;
    // One `predict` eth_call per sample.
    predict::SideBySide::of(input_path, &chain, &offline, chain.batch, None)
}

/// Whether deployed code equals an artifact's `deployedBytecode`, whose immutables are zero
/// words until the constructor fills them: the only immutable the implementations have is
/// `EternalModel.factory`, so every difference must be a zero word of the artifact holding the
/// factory's address on chain.
fn same_but_factory(code: &[u8], want: &[u8]) -> bool {
    if code.len() != want.len() {
        return false;
    }
    let word = crate::chain::factory_address().into_word();
    let mut i = 0;
    while i < code.len() {
        if code[i] == want[i] {
            i += 1;
            continue;
        }
        let filled = (i.saturating_sub(31)..=i).find(|&p| {
            p + 32 <= code.len()
                && want[p..p + 32].iter().all(|&b| b == 0)
                && code[p..p + 32] == word[..]
        });
        match filled {
            Some(p) => i = p + 32,
            None => return false,
        }
    }
    true
}

/// What a clone's code on chain is, for a mismatch message: the implementation it delegates
/// to when it is an EIP-1167 clone, and its length.
fn describe_clone(code: &[u8], want_len: usize) -> String {
    match clone_implementation(code) {
        Some(imp) if code.len() == want_len => {
            format!("a clone of {imp} ({} bytes)", code.len())
        }
        Some(imp) => format!(
            "a clone of {imp} ({} bytes, arguments differ in length)",
            code.len()
        ),
        None => format!("not a clone ({} bytes)", code.len()),
    }
}

// ------------------------------------------------------------------ verify

/// Deterministic pseudo-random numbers (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Sample `s` for every model input (graph order): Q32.32 values in [-0.5, 0.5), or integer
/// indices below `input_dim` for inputs feeding an Embedding.
fn sample_inputs(graph: &Graph, s: usize) -> Vec<Tensor> {
    let mut rng = Rng(0x5EED_0000 + s as u64);
    let shapes = graph.input_shapes();
    graph
        .inputs
        .iter()
        .zip(&shapes)
        .map(|(&i, shape)| {
            let dims: Vec<usize> = shape.iter().skip(1).map(|d| d.unwrap_or(1)).collect();
            let n: usize = dims.iter().product();
            let vocab = graph
                .nodes
                .iter()
                .filter(|node| node.class_name == "Embedding" && node.inputs.contains(&i))
                .filter_map(|node| node.config.get("input_dim").and_then(Value::as_u64))
                .min();
            let data = (0..n)
                .map(|_| match vocab {
                    Some(v) => i128::from((rng.next() % v.max(1)) as i64) << 32,
                    None => i128::from((rng.next() >> 32) as i64) - (1i128 << 31),
                })
                .collect();
            Tensor { shape: dims, data }
        })
        .collect()
}

/// What `verify` found: each part with its verdict, and one line per difference.
pub struct VerifyReport {
    pub address: Address,
    pub chain_id: u64,
    /// The file compared against.
    pub file: String,
    pub hash: HashPart,
    pub graph: GraphPart,
    pub weights: WeightsPart,
    pub predict: PredictPart,
}

/// (a) `hashedModel()` on chain against the file's graph and weights hashes.
#[derive(Debug, Clone, Serialize)]
pub struct HashPart {
    pub ok: bool,
    pub chain: String,
    pub file: String,
    #[serde(skip)]
    pub failures: Vec<String>,
}

/// (b) layer count, kinds, links, clone addresses and code, configs, tensor lists.
#[derive(Debug, Clone, Serialize)]
pub struct GraphPart {
    pub ok: bool,
    pub layers: usize,
    pub mismatches: Vec<Mismatch>,
    #[serde(skip)]
    pub failures: Vec<String>,
}

/// One field of the graph that differs.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    /// The layer's index, or `None` for the model as a whole.
    pub layer: Option<usize>,
    pub name: String,
    pub field: String,
    pub chain: String,
    pub file: String,
}

/// (c) the weight layout and every byte of every chunk.
#[derive(Debug, Clone, Serialize)]
pub struct WeightsPart {
    pub ok: bool,
    pub format: &'static str,
    pub chunks: usize,
    pub bytes: usize,
    /// Where the first difference is (chunk, byte, value, layer, tensor…), or `null`.
    pub first_mismatch: Option<Value>,
    #[serde(skip)]
    pub failures: Vec<String>,
}

/// (d) the model run on chain (chained calls) on deterministic samples against the Rust
/// reference.
#[derive(Debug, Clone, Serialize)]
pub struct PredictPart {
    pub ok: bool,
    pub samples: usize,
    pub max_abs_diff: Option<f64>,
    /// Why the chain could not be asked (out of gas, the node's cap, RPC), with the numbers:
    /// then nothing is known to differ, and `ok` is false only because nothing was proved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
    /// The calls the samples took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<chained::CallStats>,
    #[serde(skip)]
    pub failures: Vec<String>,
}

impl VerifyReport {
    /// Whether every part holds.
    pub fn ok(&self) -> bool {
        self.hash.ok && self.graph.ok && self.weights.ok && self.predict.ok
    }

    /// Every difference, one line each, parts in order.
    pub fn failures(&self) -> Vec<String> {
        [
            &self.hash.failures,
            &self.graph.failures,
            &self.weights.failures,
            &self.predict.failures,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }

    /// Whether the chain holds exactly the file ([`Verdict::Equal`]), something differs, or
    /// nothing differs but the prediction could not be run ([`Verdict::Incomplete`]).
    pub fn verdict(&self) -> Verdict {
        if self.ok() {
            Verdict::Equal
        } else if self.hash.ok && self.graph.ok && self.weights.ok && self.predict.not_run.is_some()
        {
            Verdict::Incomplete
        } else {
            Verdict::Differs
        }
    }

    /// The predict part's word: `ok`, `DIFFERS`, or `NOT RUN` when the chain could not be asked.
    fn predict_word(&self) -> &'static str {
        if self.predict.not_run.is_some() {
            "NOT RUN"
        } else {
            verdict(self.predict.ok)
        }
    }

    /// One line per part (`hash     ok`, `graph    DIFFERS`, `predict  NOT RUN`, …), then every
    /// difference.
    pub fn lines(&self) -> Vec<String> {
        let parts = [
            ("hash", verdict(self.hash.ok)),
            ("graph", verdict(self.graph.ok)),
            ("weights", verdict(self.weights.ok)),
            ("predict", self.predict_word()),
        ];
        parts
            .into_iter()
            .map(|(part, word)| format!("{part:<8} {word}"))
            .chain(self.failures())
            .collect()
    }
}

/// What `verify` concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every part holds.
    Equal,
    /// Some part differs from the file.
    Differs,
    /// Nothing differs, but the prediction could not be run (gas, node cap, RPC).
    Incomplete,
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "DIFFERS" }
}

/// The `--json` object, keys in the order eternalize has always printed them.
impl Serialize for VerifyReport {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(Some(8))?;
        m.serialize_entry("address", &self.address.to_checksum(None))?;
        m.serialize_entry("chain_id", &self.chain_id)?;
        m.serialize_entry("file", &self.file)?;
        m.serialize_entry("hash", &self.hash)?;
        m.serialize_entry("graph", &self.graph)?;
        m.serialize_entry("weights", &self.weights)?;
        m.serialize_entry("predict", &self.predict)?;
        m.serialize_entry("ok", &self.ok())?;
        m.end()
    }
}

/// The plain report: one line per part with its numbers.
impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} on chain {} against {}:",
            self.address, self.chain_id, self.file
        )?;
        writeln!(f, "  hash     {}", verdict(self.hash.ok))?;
        writeln!(
            f,
            "  graph    {} ({} layers)",
            verdict(self.graph.ok),
            self.graph.layers
        )?;
        writeln!(
            f,
            "  weights  {} ({} chunks, {} bytes, {})",
            verdict(self.weights.ok),
            self.weights.chunks,
            self.weights.bytes,
            self.weights.format
        )?;
        write!(
            f,
            "  predict  {} ({} samples, max |Δ| {}",
            self.predict_word(),
            self.predict.samples,
            Value::from(self.predict.max_abs_diff)
        )?;
        match &self.predict.calls {
            Some(c) => writeln!(f, "; {c})")?,
            None => writeln!(f, ")")?,
        }
        if let Some(why) = &self.predict.not_run {
            writeln!(f, "  predict could not run: {why}")?;
        }
        Ok(())
    }
}

fn hex(b: &B256) -> String {
    alloy::primitives::hex::encode(b)
}

/// Which layer and tensor blob value `j` belongs to.
fn place_of_value(image: &ModelImage, j: u64) -> (Option<usize>, Option<usize>, u64) {
    if image.format().per_channel() {
        return place_of_byte(image, j * image.format().width() as u64);
    }
    for (l, layer) in image.layers.iter().enumerate() {
        for (t, tensor) in layer.tensors.iter().enumerate() {
            let end = tensor.offset + tensor.length.div_ceil(4) * 4;
            if j >= tensor.offset && j < end {
                return (Some(l), Some(t), j - tensor.offset);
            }
        }
    }
    (None, None, 0)
}

/// In int16/int8, the layer, tensor and element blob byte `byte` belongs to (a header or a scale
/// counts as the tensor's element 0); records are read as `WeightBlob` lays them out.
fn place_of_byte(image: &ModelImage, byte: u64) -> (Option<usize>, Option<usize>, u64) {
    let width = image.format().width() as u64;
    for (l, layer) in image.layers.iter().enumerate() {
        for (t, tensor) in layer.tensors.iter().enumerate() {
            let at = tensor.offset as usize;
            let quantized = tensor.shift == crate::chain::quant::QUANTIZED;
            let head = if quantized {
                let c = image
                    .blob
                    .bytes
                    .get(at..at + crate::chain::weights::RECORD_HEADER_BYTES)
                    .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                (crate::chain::weights::RECORD_HEADER_BYTES as u64)
                    + crate::chain::quant::SCALE_BYTES as u64 * u64::from(c)
            } else {
                0
            };
            let w = if quantized {
                width
            } else {
                crate::chain::quant::SMALL_BYTES as u64
            };
            let end = tensor.offset + head + tensor.length * w;
            if byte >= tensor.offset && byte < end {
                let element = (byte - tensor.offset).saturating_sub(head) / w;
                return (Some(l), Some(t), element);
            }
        }
    }
    (None, None, 0)
}

/// Proves the deployment at `address` equals the file at `path` (read once); `format` is the
/// weight format the deployment must use (default: the chain's).
pub fn verify(
    reader: &Reader,
    address: Address,
    path: &Path,
    format: Option<WeightFormat>,
    call_gas: Option<u64>,
) -> anyhow::Result<VerifyReport> {
    let file = ModelFile::open(path).map_err(fail)?;
    let rt = runtime()?;
    rt.block_on(async {
        let chain_id = reader.check(address).await?;
        let chain = &reader.rpc;
        let source = Source::from_file(&file).map_err(fail)?;
        let spec = &source.spec;
        let state = chain.model_state(address).await.map_err(fail)?;
        let hash = check_hash(&state, &source);
        // The image the file gives at this address, in the chain's (or the asked) format.
        let chain_format = WeightFormat::from_code(state.layout.format);
        let format = match format.or(chain_format) {
            Some(f) => f,
            None => {
                return Err(fail(format!(
                    "the model at {address} has weight format code {} (constructed: {}), which eternalize does not know",
                    state.layout.format, state.constructed
                )));
            }
        };
        let chunk_bytes = match state.layout.chunkBytes as usize {
            0 => crate::chain::MAX_CHUNK_BYTES,
            n => n,
        };
        let image = ModelImage::new(spec, format, chunk_bytes, address).map_err(|e| {
            fail(format!(
                "{}: cannot lay the weights out in {}-byte chunks as on chain: {e}",
                path.display(),
                chunk_bytes
            ))
        })?;


        let graph = check_graph(chain, address, &state, spec, &image).await;
        let weights = check_weights(chain, address, &state, &image, format).await?;
        let reference = predict::graph_of(&file, format).map_err(fail)?;
        let predict = check_predict(chain, address, &reference, &state, call_gas).await;
        Ok(VerifyReport {
            address,
            chain_id,
            file: path.display().to_string(),
            hash,
            graph,
            weights,
            predict,
        })
    })
}

/// (a) `hashedModel()` on chain against the file's hashes.
pub fn check_hash(state: &ModelState, source: &Source) -> HashPart {
    let spec = &source.spec;
    let path = &source.path;
    let mut failures = Vec::new();
    let hash_ok = state.graph_hash == spec.graph_hash && state.weights_hash == spec.weights_hash;
    let chain_hash = format!("{}{}", hex(&state.graph_hash), hex(&state.weights_hash));
    if !hash_ok {
        let which = match (
            state.graph_hash == spec.graph_hash,
            state.weights_hash == spec.weights_hash,
        ) {
            (false, false) => "graph and weights hashes differ",
            (false, true) => "the graph hash differs",
            _ => "the weights hash differs",
        };
        failures.push(format!(
            "hash: {which}: on chain hashed_model {chain_hash}, {} has {}",
            path.display(),
            source.hashed_model
        ));
    }

    HashPart {
        ok: hash_ok,
        chain: chain_hash,
        file: source.hashed_model.clone(),
        failures,
    }
}

/// (b) the graph: layer count, and per layer its kind, links, clone address and code, config
/// and tensor list; the model clone's code and every implementation's code.
pub async fn check_graph(
    chain: &Rpc,
    address: Address,
    state: &ModelState,
    spec: &ModelSpec,
    image: &ModelImage,
) -> GraphPart {
    let mut mismatches: Vec<Mismatch> = Vec::new();
    let mut graph_msgs: Vec<String> = Vec::new();
    let mut mismatch =
        |index: Option<usize>, name: &str, field: &str, chain: String, file: String| {
            let at = match index {
                Some(i) => format!("layer #{i} '{name}'"),
                None => "model".to_string(),
            };
            graph_msgs.push(format!(
                "graph: {at}: {field} is {chain} on chain, {file} in the file"
            ));
            mismatches.push(Mismatch {
                layer: index,
                name: name.to_string(),
                field: field.to_string(),
                chain,
                file,
            });
        };
    if state.layers.len() != image.layers.len() {
        mismatch(
            None,
            "",
            "layer count",
            state.layers.len().to_string(),
            image.layers.len().to_string(),
        );
    }
    for (i, (link, want)) in state.layers.iter().zip(&image.layers).enumerate() {
        let name = want.name.as_str();
        if link.kind != want.kind.code() {
            let k = |c: u16| {
                LayerKind::from_code(c).map_or(format!("kind {c}"), |k| format!("{k:?} ({c})"))
            };
            mismatch(Some(i), name, "kind", k(link.kind), k(want.kind.code()));
        }
        if link.inputs != want.inputs {
            mismatch(
                Some(i),
                name,
                "inputs",
                format!("{:?}", link.inputs),
                format!("{:?}", want.inputs),
            );
        }
        if link.layer != want.address {
            mismatch(
                Some(i),
                name,
                "contract address",
                link.layer.to_string(),
                want.address.to_string(),
            );
        }
        // One read of the clone's code: its arguments (`abi.encode(model, config, tensors)`,
        // appended to the EIP-1167 runtime) are what `configData()` and `tensors()` return.
        let code = chain.code_at(link.layer).await;
        let args = match &code {
            Ok(c) => clone_args(c).ok_or_else(|| "the clone's arguments do not decode".to_string()),
            Err(e) => Err(e.to_string()),
        };
        let file_config = &spec.layers[i].config;
        match &args {
            Ok((_, c, _)) if c.as_ref() == file_config.as_slice() => {}
            Ok((_, c, _)) => {
                let word = c
                    .iter()
                    .zip(file_config)
                    .position(|(a, b)| a != b)
                    .unwrap_or(c.len().min(file_config.len()))
                    / 32;
                mismatch(
                    Some(i),
                    name,
                    &format!("config (first difference in word {word})"),
                    format!("0x{}", alloy::primitives::hex::encode(c)),
                    format!("0x{}", alloy::primitives::hex::encode(file_config)),
                );
            }
            Err(e) => mismatch(
                Some(i),
                name,
                "config",
                format!("unreadable ({e})"),
                "readable".into(),
            ),
        }
        match &args {
            Ok((_, _, t)) => {
                let got: Vec<(u64, u64, u8)> =
                    t.iter().map(|t| (t.offset, t.length, t.shift)).collect();
                let want: Vec<(u64, u64, u8)> = want
                    .tensors
                    .iter()
                    .map(|t| (t.offset, t.length, t.shift))
                    .collect();
                if got != want {
                    mismatch(
                        Some(i),
                        name,
                        "tensors (offset, length, shift)",
                        format!("{got:?}"),
                        format!("{want:?}"),
                    );
                }
            }
            Err(e) => mismatch(
                Some(i),
                name,
                "tensors",
                format!("unreadable ({e})"),
                "readable".into(),
            ),
        }
        // The whole code: which implementation it delegates to, and every argument byte.
        let want_code = clone_runtime(want.implementation, &want.args);
        match code {
            Ok(code) if code.as_ref() == want_code.as_slice() => {}
            Ok(code) => mismatch(
                Some(i),
                name,
                "clone code",
                describe_clone(&code, want_code.len()),
                format!(
                    "a clone of {} ({} bytes)",
                    want.implementation,
                    want_code.len()
                ),
            ),
            Err(e) => mismatch(
                Some(i),
                name,
                "clone code",
                format!("unreadable ({e})"),
                "readable".into(),
            ),
        }
    }
    // The model is this factory's clone: at the CREATE2 address the factory gives its owner for
    // the hashes and format it reports (eternalize's salt). Its code alone would not say so:
    // anyone can deploy the same 45 bytes.
    let salt = crate::chain::calls::model_salt_of(
        state.graph_hash,
        state.weights_hash,
        state.layout.format,
    );
    match crate::chain::model_address(state.owner, salt) {
        Ok(want) if want == address => {}
        Ok(want) => mismatch(
            None,
            "",
            "model address",
            format!("{address}, not where the factory puts the clone"),
            format!(
                "{want} (the factory {}'s clone for owner {} and the hashes and format on chain)",
                crate::chain::factory_address(),
                state.owner
            ),
        ),
        Err(e) => mismatch(
            None,
            "",
            "model address",
            format!("not computable ({e})"),
            "computable".into(),
        ),
    }
    // The model clone and every implementation the clones delegate to: the code compiled
    // from eternalize's contracts (the artifacts), byte for byte.
    let model_code = Implementation::Model
        .address()
        .map(|imp| (imp, clone_runtime(imp, &[])));
    match (model_code, chain.code_at(address).await) {
        (Ok((_, want)), Ok(code)) if code.as_ref() == want.as_slice() => {}
        (Ok((imp, want)), Ok(code)) => mismatch(
            None,
            "",
            "model clone code",
            describe_clone(&code, want.len()),
            format!("a clone of {imp} ({} bytes)", want.len()),
        ),
        (Err(e), _) | (_, Err(e)) => mismatch(
            None,
            "",
            "model clone code",
            format!("unreadable ({e})"),
            "readable".into(),
        ),
    }
    // And the shared contracts the layers STATICCALL (the rare activations', the convolution
    // kernel): a predict depends on them as on the implementations.
    let shared = crate::chain::Shared::ALL.map(|s| {
        (
            format!("{} ({}) code", s.contract_name(), s.description()),
            s.address(),
            &s.deployed_bytecode()[..],
        )
    });
    let implementations = spec.implementations().into_iter().filter_map(|imp| {
        let (Ok(at), Ok(want)) = (imp.address(), imp.runtime_code()) else {
            return None;
        };
        Some((
            format!("{} implementation code", imp.contract_name()),
            at,
            want.as_ref(),
        ))
    });
    for (what, at, want) in implementations.chain(shared) {
        match chain.code_at(at).await {
            Ok(code) if same_but_factory(&code, want) => {}
            Ok(code) => mismatch(
                None,
                "",
                &format!("{what} at {at}"),
                format!("{} bytes, keccak {}", code.len(), keccak256(&code)),
                format!("{} bytes, keccak {}", want.len(), keccak256(want)),
            ),
            Err(e) => mismatch(
                None,
                "",
                &format!("{what} at {at}"),
                format!("unreadable ({e})"),
                "readable".into(),
            ),
        }
    }
    GraphPart {
        ok: mismatches.is_empty(),
        layers: state.layers.len(),
        mismatches,
        failures: graph_msgs,
    }
}

/// (c) the weights: the layout, then every chunk's bytes; the first difference is named by
/// chunk, byte, weight value, bundle word, layer and tensor.
pub async fn check_weights(
    chain: &Rpc,
    address: Address,
    state: &ModelState,
    image: &ModelImage,
    format: WeightFormat,
) -> anyhow::Result<WeightsPart> {
    let want_layout = image.layout();
    let mut first: Option<(Value, String)> = None;
    let l = &state.layout;
    if (l.format, l.chunkBytes, l.chunkCount, l.totalBytes, l.root)
        != (
            want_layout.format,
            want_layout.chunkBytes,
            want_layout.chunkCount,
            want_layout.totalBytes,
            want_layout.root,
        )
    {
        let show = |l: &EternalModel::WeightLayout| {
            format!(
                "format {} chunkBytes {} chunkCount {} totalBytes {} root {}",
                l.format, l.chunkBytes, l.chunkCount, l.totalBytes, l.root
            )
        };
        first = Some((
            json!({"what": "layout", "chain": show(l), "file": show(&want_layout)}),
            format!(
                "weights: layout is {} on chain, {} for the file",
                show(l),
                show(&want_layout)
            ),
        ));
    }
    let width = format.width() as u64;
    let count = image.chunks.count().min(l.chunkCount as usize);
    for i in 0..count {
        if first.is_some() {
            break;
        }
        let at = chain.chunk_address(address, i).await.map_err(fail)?;
        let want = image.chunk(i);
        if at == Address::ZERO {
            first = Some((
                json!({"chunk": i, "what": "missing"}),
                format!("weights: chunk {i} is not stored on chain"),
            ));
            break;
        }
        let code = chain.code_at(at).await.map_err(fail)?;
        let data = code.get(1..).unwrap_or_default();
        if data == want {
            continue;
        }
        let b = data
            .iter()
            .zip(want)
            .position(|(x, y)| x != y)
            .unwrap_or(data.len().min(want.len()));
        let global = (image.chunks.range(i).start + b) as u64;
        let j = global / width;
        let (layer, tensor, element) = place_of_value(image, j);
        let lname = layer.map(|l| image.layers[l].name.clone());
        let place = match (layer, tensor) {
            (Some(l), Some(t)) => format!(
                "layer #{l} '{}' tensor {t} element {element}",
                image.layers[l].name
            ),
            _ => "no tensor".to_string(),
        };
        let byte = |d: &[u8]| {
            d.get(b)
                .map_or("none".to_string(), |x| format!("0x{x:02x}"))
        };
        first = Some((
            json!({
                "chunk": i, "chunk_address": at.to_string(), "byte": b, "blob_byte": global,
                "value": j, "word": j / 4, "layer": layer, "layer_name": lname, "tensor": tensor,
                "element": element, "chain": byte(data), "file": byte(want),
                "chain_len": data.len(), "file_len": want.len(),
            }),
            format!(
                "weights: chunk {i} ({at}) byte {b} (blob byte {global}, weight value {j}, bundle word {}: {place}) is {} on chain, {} in the file{}",
                j / 4,
                byte(data),
                byte(want),
                if data.len() != want.len() {
                    format!(
                        " (chunk is {} bytes on chain, {} in the file)",
                        data.len(),
                        want.len()
                    )
                } else {
                    String::new()
                }
            ),
        ));
    }
    if first.is_none() && (l.chunkCount as usize) != image.chunks.count() {
        first = Some((
            json!({"what": "chunk count", "chain": l.chunkCount, "file": image.chunks.count()}),
            format!(
                "weights: {} chunks on chain, {} for the file",
                l.chunkCount,
                image.chunks.count()
            ),
        ));
    }
    let (first_mismatch, failures) = match first {
        Some((at, message)) => (Some(at), vec![message]),
        None => (None, Vec::new()),
    };
    Ok(WeightsPart {
        ok: first_mismatch.is_none(),
        format: format.name(),
        chunks: image.chunks.count(),
        bytes: image.blob.bytes.len(),
        first_mismatch,
        failures,
    })
}

/// (d) runs [`SAMPLES`] deterministic samples on chain (the graph's outputs, through the
/// chained-call planner under `call_gas`) and through the reference. A sample the chain could
/// not run (gas, node cap, RPC) makes the part "not run", never "differs".
pub async fn check_predict(
    chain: &Rpc,
    address: Address,
    graph: &Graph,
    state: &ModelState,
    call_gas: Option<u64>,
) -> PredictPart {
    let mut part = PredictPart {
        ok: false,
        samples: SAMPLES,
        max_abs_diff: None,
        not_run: None,
        calls: None,
        failures: Vec::new(),
    };
    let chain_layers = state.layers.len();
    if !state.ready {
        part.not_run = Some("the model is not ready (weight chunks missing)".into());
    } else if let Some(&o) = graph.outputs.iter().find(|&&o| o >= chain_layers) {
        part.failures.push(format!(
            "predict: output layer #{o} does not exist on chain ({chain_layers} layers)"
        ));
        return part;
    }
    if let Some(why) = &part.not_run {
        part.failures.push(format!("predict: could not run: {why}"));
        return part;
    }
    let model = match ChainModel::read(chain, address, state).await {
        Ok(m) => m,
        Err(e) => {
            part.failures
                .push(format!("predict: the layers on chain: {e}"));
            return part;
        }
    };
    let budget = match chained::budget(chain, call_gas).await {
        Ok(b) => b,
        Err(e) => {
            part.not_run = Some(e.clone());
            part.failures.push(format!("predict: could not run: {e}"));
            return part;
        }
    };
    let mut runner = Runner::new(chain, &model, graph.outputs.clone(), budget.gas);
    let mut max_diff = 0f64;
    let mut problem = None;
    for s in 0..SAMPLES {
        let ins = sample_inputs(graph, s);
        let want = match graph.run(&ins) {
            Ok(w) => w,
            Err(e) => {
                problem.get_or_insert(format!("sample {s}: the reference failed: {e}"));
                continue;
            }
        };
        // The contract feeds its k-th InputLayer (layer order) with input k.
        let mut order: Vec<(usize, Tensor)> = graph.inputs.iter().copied().zip(ins).collect();
        order.sort_by_key(|(i, _)| *i);
        let ordered: Vec<Tensor> = order.into_iter().map(|(_, t)| t).collect();
        let got = match runner.run(&ordered).await {
            Ok(g) => g,
            Err(RunError::CouldNotRun { what, why }) => {
                let why = format!(
                    "sample {s}: {what}: {why} (budget {} gas per call, {})",
                    crate::units::thousands(budget.gas),
                    budget.why
                );
                part.failures.push(format!("predict: could not run: {why}"));
                part.not_run = Some(why);
                part.calls = Some(runner.stats());
                return part;
            }
            Err(e) => {
                problem.get_or_insert(format!("sample {s}: {e}"));
                continue;
            }
        };
        if got.len() != want.len() {
            problem.get_or_insert(format!(
                "sample {s}: {} outputs on chain, {} in the reference",
                got.len(),
                want.len()
            ));
            continue;
        }
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let name = &graph.nodes[graph.outputs[k]].name;
            if g.shape != w.shape {
                problem.get_or_insert(format!(
                    "sample {s} output {k} ('{name}'): shape {:?} on chain, {:?} in the reference",
                    g.shape, w.shape
                ));
                continue;
            }
            for (i, (a, b)) in g.data.iter().zip(&w.data).enumerate() {
                let d = (fixed::to_f64(*a) - fixed::to_f64(*b)).abs();
                max_diff = max_diff.max(d);
                if a != b {
                    problem.get_or_insert(format!(
                        "sample {s} output {k} ('{name}') value {i}: {} on chain, {} in the reference (Q32.32 {a} vs {b})",
                        fixed::to_f64(*a),
                        fixed::to_f64(*b)
                    ));
                }
            }
        }
    }
    part.ok = problem.is_none();
    part.max_abs_diff = Some(max_diff);
    part.calls = Some(runner.stats());
    part.failures = problem
        .map(|m| format!("predict: {m}"))
        .into_iter()
        .collect();
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_values_are_deterministic_and_small() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        let xs: Vec<u64> = (0..4).map(|_| a.next()).collect();
        assert_eq!(xs, (0..4).map(|_| b.next()).collect::<Vec<_>>());
        assert_ne!(xs[0], xs[1]);
    }
}
