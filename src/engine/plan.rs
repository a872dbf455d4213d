//! The plan: everything a deployment will send, before anything is sent — the steps and their
//! calldata, which of them the chain already has, gas per transaction (`eth_estimateGas` where
//! the contracts it touches exist, a calibrated bound otherwise), fees at the current base fee,
//! the balance against the worst case, and the chain id.
//!
//! Before any of that it asks the chain what it can do ([`super::capabilities`]): a chain
//! without our opcodes is refused, chunks are sized so that each transaction fits the gas one
//! transaction may use, and a model already constructed on chain keeps the chunk layout it was
//! constructed with (the layout is not part of its address).

use alloy::primitives::{Address, B256, U256};
use std::path::{Path, PathBuf};

use super::capabilities::{self, CapabilityError, Limits};
use super::event::Step;
use super::rpc::{Rpc, RpcFailure};
use crate::bundle::file::{ModelFile, OpenError};
use crate::chain::calls::{self, Call};
use crate::chain::{
    CREATE2_DEPLOYER, ChainError, MAX_CHUNK_BYTES, ModelImage, ModelSpec, Revert, Shared,
    WeightFormat, model_address,
};

/// A model to deploy, read from a model file or a bundle.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    pub spec: ModelSpec,
    /// 128 hex digits.
    pub hashed_model: String,
}

impl Source {
    /// Reads a `.keras`/`.h5` model (exported on the fly) or a bundle (its stored hash must
    /// match its contents; one written by eai must have a graph that tells enough).
    pub fn load(path: &Path) -> Result<Source, PlanError> {
        let file = ModelFile::open(path).map_err(|e| PlanError::Source {
            path: path.to_path_buf(),
            why: match e {
                OpenError::Read { io, .. } => format!("cannot read the file: {io}"),
                OpenError::Export { why, .. } => why,
                other => other.to_string(),
            },
        })?;
        Source::from_file(&file)
    }

    /// The deployable source of a file already read.
    pub fn from_file(file: &ModelFile) -> Result<Source, PlanError> {
        let bad = |why: String| PlanError::Source {
            path: file.path.clone(),
            why,
        };
        if let Some(why) = file.mismatch() {
            return Err(bad(format!(
                "the stored hashed_model does not match the contents: {why}"
            )));
        }
        if let Some(gap) = file.gap() {
            return Err(bad(gap.to_string()));
        }
        let bundle = file.bundle();
        let spec = ModelSpec::from_bundle(bundle, file.model()).map_err(|e| bad(e.to_string()))?;
        Ok(Source {
            path: file.path.clone(),
            spec,
            hashed_model: bundle.hashes().hashed_model(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{}: {why}", path.display())]
    Source { path: PathBuf, why: String },
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("could not {action} at {url}: {failure}")]
    Rpc {
        action: String,
        url: String,
        failure: RpcFailure,
    },
    #[error(
        "the node at {url} is chain {node}, but the network is configured as chain {expected}; fix the network's chain_id or the RPC URL; nothing was sent"
    )]
    WrongChain {
        url: String,
        expected: u64,
        node: u64,
    },
    #[error("the node at {url} is chain {node}, --chain-id says {expected}; nothing was sent")]
    NotPinnedChain {
        url: String,
        expected: u64,
        node: u64,
    },
    #[error(transparent)]
    Capability(#[from] CapabilityError),
    #[error(
        "{step} needs up to {} gas, above {budget}; this chain cannot take it in one transaction; nothing was sent",
        crate::units::thousands(*gas)
    )]
    TooMuchGas {
        step: String,
        gas: u64,
        budget: String,
    },
    #[error(
        "{} holds {} wei but the deployment can cost up to {} wei ({} gas at up to {} wei per gas; expected cost at the current base fee: {} wei); top up at least {} wei and run again",
        .0.address, .0.balance, .0.need, .0.gas, .0.max_fee, .0.expected, .0.short
    )]
    InsufficientFunds(Box<Shortfall>),
    #[error(
        "the base fee is {base} wei per gas, above the network's cap of {cap} wei (max_fee_gwei); wait for lower fees or raise the cap"
    )]
    FeeCap { base: u128, cap: u128 },
    #[error(
        "this chain has no CREATE2 deployer at {CREATE2_DEPLOYER}; deploy it first (https://github.com/Arachnid/deterministic-deployment-proxy) — the factory's address depends on it"
    )]
    NoCreate2Deployer,
    #[error("{step} would revert: {reason}")]
    WouldRevert { step: String, reason: String },
}

/// A balance below what a deployment can cost, with the numbers.
#[derive(Debug)]
pub struct Shortfall {
    pub address: Address,
    pub balance: U256,
    pub need: U256,
    pub gas: u64,
    pub max_fee: u128,
    pub expected: U256,
    pub short: U256,
}

/// A step with its transaction.
#[derive(Clone, Debug)]
pub struct PlannedStep {
    pub step: Step,
    pub call: Call,
    pub gas_limit: u64,
    /// From `eth_estimateGas` (otherwise the calibrated bound of `chain::calls`).
    pub estimated: bool,
    /// Already on chain.
    pub done: bool,
    /// The contract the step creates, when it creates one at a known address.
    pub address: Option<Address>,
}

/// Fees every transaction of the plan is signed with (EIP-1559, or legacy before London).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    /// `None` on chains without EIP-1559: `max_fee` is then the legacy gas price.
    pub base_fee: Option<u128>,
    pub priority_fee: u128,
    pub max_fee: u128,
    /// The configured cap on `max_fee` (fee bumps stop there).
    pub cap: Option<u128>,
}

impl Fees {
    pub fn legacy(&self) -> bool {
        self.base_fee.is_none()
    }

    /// What a unit of gas is expected to cost now.
    pub fn expected_price(&self) -> u128 {
        match self.base_fee {
            Some(b) => (b + self.priority_fee).min(self.max_fee),
            None => self.max_fee,
        }
    }
}

/// What [`plan`] needs besides the model.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    pub format: WeightFormat,
    pub chunk_bytes: usize,
    /// The chain id the node must have (`--chain-id`, else the network's configured one).
    pub expected_chain_id: Option<u64>,
    /// The pin is `--chain-id`'s (else the network's configured `chain_id`).
    pub chain_id_from_flag: bool,
    /// Cap on the fee per gas, in wei.
    pub max_fee_cap: Option<u128>,
}

impl PlanOptions {
    /// Pins the chain id with `--chain-id` (over the network's configured one) when given.
    pub fn pin_chain_id(mut self, flag: Option<u64>) -> PlanOptions {
        if let Some(id) = flag {
            self.expected_chain_id = Some(id);
            self.chain_id_from_flag = true;
        }
        self
    }
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            format: WeightFormat::Compact,
            chunk_bytes: MAX_CHUNK_BYTES,
            expected_chain_id: None,
            chain_id_from_flag: false,
            max_fee_cap: None,
        }
    }
}

/// Everything to send, and what the chain already has.
#[derive(Clone, Debug)]
pub struct Plan {
    pub source: Source,
    pub chain_id: u64,
    pub sender: Address,
    pub salt: B256,
    pub format: WeightFormat,
    pub image: ModelImage,
    pub steps: Vec<PlannedStep>,
    pub fees: Fees,
    pub balance: U256,
    pub block_gas_limit: u64,
    /// What the chain allows, as probed before planning.
    pub limits: Limits,
    /// Where the plan departs from what was asked, and why (chunk size).
    pub notes: Vec<String>,
    /// Network name and redacted RPC URL.
    pub network: String,
}

impl Plan {
    pub fn model(&self) -> Address {
        self.image.model
    }

    /// Gas limits of the steps still to send.
    pub fn gas_to_send(&self) -> u64 {
        self.steps
            .iter()
            .filter(|s| !s.done)
            .map(|s| s.gas_limit)
            .sum()
    }

    /// Expected cost at the current fees, in wei.
    pub fn cost_estimate(&self) -> U256 {
        U256::from(self.gas_to_send()) * U256::from(self.fees.expected_price())
    }

    /// What the node requires the balance to cover: every gas limit at the maximum fee.
    pub fn worst_case(&self) -> U256 {
        U256::from(self.gas_to_send()) * U256::from(self.fees.max_fee)
    }

    pub fn transactions_to_send(&self) -> usize {
        self.steps.iter().filter(|s| !s.done).count()
    }

    /// Refuses when the balance cannot cover the worst case.
    pub fn check_balance(&self) -> Result<(), PlanError> {
        let need = self.worst_case();
        if self.balance < need {
            return Err(PlanError::InsufficientFunds(Box::new(Shortfall {
                address: self.sender,
                balance: self.balance,
                need,
                gas: self.gas_to_send(),
                max_fee: self.fees.max_fee,
                expected: self.cost_estimate(),
                short: need - self.balance,
            })));
        }
        Ok(())
    }

    pub fn layer_names(&self) -> Vec<String> {
        self.source
            .spec
            .layers
            .iter()
            .map(|l| l.name.clone())
            .collect()
    }
}

fn rpc_err(rpc: &Rpc, action: impl Into<String>) -> impl FnOnce(RpcFailure) -> PlanError + '_ {
    let action = action.into();
    move |failure| PlanError::Rpc {
        action,
        url: rpc.display_url(),
        failure,
    }
}

/// Which of `addresses` have code, asked concurrently.
pub async fn have_code(rpc: &Rpc, addresses: &[Address]) -> Result<Vec<bool>, RpcFailure> {
    let mut set = tokio::task::JoinSet::new();
    for (i, &a) in addresses.iter().enumerate() {
        let rpc = rpc.clone();
        set.spawn(async move { (i, rpc.code(a).await) });
    }
    let mut out = vec![false; addresses.len()];
    while let Some(joined) = set.join_next().await {
        let (i, code) =
            joined.map_err(|e| RpcFailure::Transport(format!("a code lookup failed: {e}")))?;
        out[i] = !code?.is_empty();
    }
    Ok(out)
}

/// Which steps the chain already has: contract code for factory, implementations, model and
/// layers; `isConstructed()` and `chunkAddresses()` of the model for the rest.
pub async fn done_on_chain(
    rpc: &Rpc,
    spec: &ModelSpec,
    image: &ModelImage,
    steps: &[Step],
) -> Result<Vec<bool>, RpcFailure> {
    let mut addresses = Vec::new();
    let mut owners = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if let Some(list) = calls::step_address(s, spec, image) {
            for a in list {
                addresses.push(a);
                owners.push(i);
            }
        }
    }
    let codes = have_code(rpc, &addresses).await?;
    let mut done = vec![true; steps.len()];
    for (s, d) in steps.iter().enumerate() {
        if calls::step_address(d, spec, image).is_none() {
            done[s] = false;
        }
    }
    for (k, &i) in owners.iter().enumerate() {
        done[i] &= codes[k];
    }
    let model_there = addresses
        .iter()
        .zip(&codes)
        .any(|(a, c)| *a == image.model && *c);
    if model_there {
        let constructed =
            calls::decode_bool(&rpc.call(image.model, &calls::is_constructed_call()).await?)
                .unwrap_or(false);
        let stored = if constructed {
            calls::decode_addresses(
                &rpc.call(image.model, &calls::chunk_addresses_call())
                    .await?,
            )
            .unwrap_or_default()
        } else {
            Vec::new()
        };
        for (i, s) in steps.iter().enumerate() {
            match s {
                Step::Construct => done[i] = constructed,
                Step::Chunk { index } => {
                    done[i] = stored.get(*index).is_some_and(|a| *a != Address::ZERO)
                }
                _ => {}
            }
        }
    }
    Ok(done)
}

/// Builds the plan of deploying `source` from `sender` over `rpc`.
pub async fn plan(
    rpc: &Rpc,
    source: Source,
    sender: Address,
    network: String,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let chain_id = rpc
        .chain_id()
        .await
        .map_err(rpc_err(rpc, "read the chain id"))?;
    if let Some(expected) = opts.expected_chain_id
        && expected != chain_id
    {
        let url = rpc.display_url();
        return Err(if opts.chain_id_from_flag {
            PlanError::NotPinnedChain {
                url,
                expected,
                node: chain_id,
            }
        } else {
            PlanError::WrongChain {
                url,
                expected,
                node: chain_id,
            }
        });
    }
    let spec = &source.spec;
    let salt = calls::model_salt_for(spec, opts.format);
    let model = model_address(sender, salt)?;
    let asked = ModelImage::new(spec, opts.format, opts.chunk_bytes, model)?;
    let (code, what) = largest_code(spec, &asked)?;
    let limits = capabilities::probe(rpc, (code, &what)).await?;
    let mut notes = Vec::new();
    let image = match chain_layout(rpc, model)
        .await
        .map_err(rpc_err(rpc, "read the model's weight layout"))?
    {
        Some(on_chain) if on_chain != opts.chunk_bytes => {
            notes.push(format!(
                "chunks of {on_chain} bytes, the layout the model on chain was constructed with ({} asked)",
                opts.chunk_bytes
            ));
            ModelImage::new(spec, opts.format, on_chain, model)?
        }
        Some(_) => asked,
        None => {
            let image = fit_chunks(spec, opts.format, asked, salt, &limits)?;
            if image.chunks.chunk_bytes != opts.chunk_bytes {
                notes.push(format!(
                    "chunks of {} bytes so that each fits {} ({} asked)",
                    image.chunks.chunk_bytes,
                    limits.describe_budget(),
                    opts.chunk_bytes
                ));
            }
            image
        }
    };
    let steps = calls::all_steps(spec, &image);
    let done = done_on_chain(rpc, spec, &image, &steps)
        .await
        .map_err(rpc_err(rpc, "read what is already deployed"))?;
    let is_done = |s: &Step| steps.iter().position(|x| x == s).is_some_and(|i| done[i]);
    if !is_done(&Step::Factory) || Shared::ALL.iter().any(|s| !is_done(&s.step())) {
        let c = rpc
            .code(CREATE2_DEPLOYER)
            .await
            .map_err(rpc_err(rpc, "read the CREATE2 deployer's code"))?;
        if c.is_empty() {
            return Err(PlanError::NoCreate2Deployer);
        }
    }
    let factory_there = is_done(&Step::Factory);
    let imps_there = spec.implementations().iter().all(|i| {
        is_done(&Step::Implementation {
            contract: i.contract_name().to_string(),
        })
    });
    let constructed = is_done(&Step::Construct);
    let mut planned = Vec::with_capacity(steps.len());
    for (step, &d) in steps.iter().zip(&done) {
        let call = calls::call_for(step, spec, &image, salt)?;
        let bound = calls::gas_bound(step, &call, spec, &image);
        let estimable = !d
            && match step {
                Step::Factory | Step::Activations | Step::ConvKernel => true,
                Step::Implementation { .. } => factory_there,
                Step::Model | Step::Layers { .. } => factory_there && imps_there,
                Step::Construct => false,
                // Chunks are estimable once the model is constructed (a resumed upload); a
                // few dozen estimates at most, the calibrated bound beyond.
                Step::Chunk { index } => constructed && *index < 32,
            };
        let mut gas_limit = bound;
        let mut estimated = false;
        if estimable {
            match rpc.estimate_gas(sender, call.to, &call.data).await {
                Ok(g) => {
                    // The estimate is the least that succeeds now; leave room for what the
                    // transactions before it change (warm vs cold slots).
                    gas_limit = g + g / 20;
                    estimated = true;
                }
                Err(RpcFailure::Node { .. }) if step_done_now(rpc, step, spec, &image).await => {
                    // Created between the code check and the estimate (a pending transaction
                    // of this deployment was mined meanwhile): resume tracks it.
                }
                Err(RpcFailure::Node { message, data, .. }) => {
                    let reason = data
                        .as_deref()
                        .and_then(|d| d.parse::<alloy::primitives::Bytes>().ok())
                        .map(|b| Revert::decode(&b).to_string())
                        .unwrap_or(message);
                    return Err(PlanError::WouldRevert {
                        step: step.to_string(),
                        reason,
                    });
                }
                Err(e) => return Err(rpc_err(rpc, "estimate gas")(e)),
            }
        }
        let address = calls::step_address(step, spec, &image).and_then(|v| {
            if v.len() == 1 {
                v.first().copied()
            } else {
                None
            }
        });
        planned.push(PlannedStep {
            step: step.clone(),
            call,
            gas_limit,
            estimated,
            done: d,
            address,
        });
    }
    let (budget, _) = limits.tx_budget();
    if let Some(s) = planned.iter().find(|s| !s.done && s.gas_limit > budget) {
        return Err(PlanError::TooMuchGas {
            step: s.step.to_string(),
            gas: s.gas_limit,
            budget: limits.describe_budget(),
        });
    }
    let (fees, block_gas_limit) = current_fees(rpc, opts.max_fee_cap).await?;
    let balance = rpc
        .balance(sender)
        .await
        .map_err(rpc_err(rpc, "read the balance"))?;
    Ok(Plan {
        source,
        chain_id,
        sender,
        salt,
        format: opts.format,
        image,
        steps: planned,
        fees,
        balance,
        block_gas_limit,
        limits,
        notes,
        network,
    })
}

/// The largest code the deployment needs besides its chunks, and what it is: an
/// implementation (its initcode bounds its runtime) or a layer clone with its arguments.
fn largest_code(spec: &ModelSpec, image: &ModelImage) -> Result<(usize, String), ChainError> {
    let mut out = (0, String::new());
    for imp in spec.implementations() {
        let n = imp.bytecode()?.len();
        if n > out.0 {
            out = (n, imp.contract_name().to_string());
        }
    }
    for l in &image.layers {
        let n = crate::chain::weights::CLONE_RUNTIME_BYTES + l.args.len();
        if n > out.0 {
            out = (n, format!("layer clone of {}", l.name));
        }
    }
    Ok(out)
}

/// The chunk size of the model at `model` when it is constructed (its layout is fixed then).
async fn chain_layout(rpc: &Rpc, model: Address) -> Result<Option<usize>, RpcFailure> {
    use crate::chain::EternalModel;
    use alloy::sol_types::SolCall;
    if rpc.code(model).await?.is_empty() {
        return Ok(None);
    }
    let constructed =
        calls::decode_bool(&rpc.call(model, &calls::is_constructed_call()).await?).unwrap_or(false);
    if !constructed {
        return Ok(None);
    }
    let data: alloy::primitives::Bytes = EternalModel::weightLayoutCall {}.abi_encode().into();
    let ret = rpc.call(model, &data).await?;
    let layout = EternalModel::weightLayoutCall::abi_decode_returns(&ret).map_err(|e| {
        RpcFailure::Decode {
            method: "weightLayout".into(),
            why: e.to_string(),
        }
    })?;
    Ok(match layout.chunkBytes as usize {
        0 => None,
        n => Some(n),
    })
}

/// `image` with its chunks cut so that every chunk transaction fits the chain: within the
/// largest contract the chain accepts (a chunk is a data contract of one more byte) and under
/// [`Limits::chunk_target`] gas by the calibrated bound. Never larger than asked.
fn fit_chunks(
    spec: &ModelSpec,
    format: WeightFormat,
    image: ModelImage,
    salt: B256,
    limits: &Limits,
) -> Result<ModelImage, PlanError> {
    let target = limits.chunk_target();
    let by_code = (limits.code_size.saturating_sub(1)) / 32 * 32;
    let mut size = image.chunks.chunk_bytes.min(by_code);
    let mut image = if size == image.chunks.chunk_bytes {
        image
    } else {
        ModelImage::new(spec, format, size, image.model)?
    };
    loop {
        let mut most = 0u64;
        for index in 0..image.chunks.count() {
            let step = Step::Chunk { index };
            let call = calls::call_for(&step, spec, &image, salt)?;
            most = most.max(calls::gas_bound(&step, &call, spec, &image));
        }
        if most <= target {
            return Ok(image);
        }
        // The bound grows about linearly with the size: scale down, at least one word.
        let scaled = (size as u128 * target as u128 / most as u128) as usize / 32 * 32;
        let next = scaled.min(size - 32);
        if next < 32 {
            return Err(PlanError::TooMuchGas {
                step: "a chunk of 32 bytes".into(),
                gas: most,
                budget: limits.describe_budget(),
            });
        }
        size = next;
        image = ModelImage::new(spec, format, size, image.model)?;
    }
}

async fn step_done_now(rpc: &Rpc, step: &Step, spec: &ModelSpec, image: &ModelImage) -> bool {
    match calls::step_address(step, spec, image) {
        Some(list) => have_code(rpc, &list)
            .await
            .is_ok_and(|c| c.iter().all(|x| *x)),
        None => false,
    }
}

/// The fees to sign with now (EIP-1559: twice the base fee plus the tip, within `cap`; legacy:
/// the gas price plus a tenth) and the block gas limit: shared by deployments and jobs.
pub async fn current_fees(rpc: &Rpc, cap: Option<u128>) -> Result<(Fees, u64), PlanError> {
    let (base_fee, block_gas_limit) = rpc
        .latest_fees()
        .await
        .map_err(rpc_err(rpc, "read the latest block"))?;
    let fees = match base_fee {
        Some(base) => {
            let priority = rpc.max_priority_fee().await.unwrap_or(1_000_000_000);
            let mut max_fee = 2 * base + priority;
            if let Some(cap) = cap {
                if cap < base {
                    return Err(PlanError::FeeCap { base, cap });
                }
                max_fee = max_fee.min(cap);
            }
            Fees {
                base_fee: Some(base),
                priority_fee: priority.min(max_fee),
                max_fee,
                cap,
            }
        }
        None => {
            let price = rpc
                .gas_price()
                .await
                .map_err(rpc_err(rpc, "read the gas price"))?;
            let price = price + price / 10;
            let price = cap.map_or(price, |c| price.min(c));
            Fees {
                base_fee: None,
                priority_fee: 0,
                max_fee: price,
                cap,
            }
        }
    };
    Ok((fees, block_gas_limit))
}
