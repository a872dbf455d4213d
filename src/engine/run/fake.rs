//! A chain in memory for the engine's unit tests: nonces, receipts, the pool's knowledge and the
//! answers to broadcasts are set by the test; every broadcast is recorded. Not a node — the
//! real-anvil tests under `tests/` pin what a node does; these pin what the engine decides.

use alloy::primitives::{Address, B256, Bytes, U256};
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::{Ready, ready};
use std::path::Path;
use std::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::{Engine, Options, deployment_key};
use crate::chain::calls::Call;
use crate::chain::{ModelImage, WeightFormat, signer_from_hex};
use crate::engine::event::{DeployEvent, Step};
use crate::engine::plan::{Fees, Plan, PlannedStep, Source};
use crate::engine::rpc::{ChainRpc, Receipt, RpcFailure};
use crate::journal::{Entry, Journal, Outcome};

/// Anvil's first dev key (public test key).
const KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub(super) const GWEI: u128 = 1_000_000_000;

/// What the fake chain holds and answers.
#[derive(Debug, Default)]
pub(super) struct Chain {
    /// The account's nonce at `latest` and at `pending`.
    pub latest: u64,
    pub pending: u64,
    pub head: u64,
    pub base_fee: Option<u128>,
    pub balance: U256,
    pub receipts: HashMap<B256, Receipt>,
    /// Transactions the node knows (pool or chain).
    pub known: HashSet<B256>,
    /// Answers to the next broadcasts, in order; a broadcast without one is accepted.
    pub refusals: VecDeque<RpcFailure>,
    /// Every broadcast, refused or not.
    pub sent: Vec<Bytes>,
}

pub(super) struct FakeChain(pub Mutex<Chain>);

impl FakeChain {
    fn with<T>(&self, f: impl FnOnce(&mut Chain) -> T) -> Ready<Result<T, RpcFailure>> {
        let mut c = self.0.lock().expect("fake chain lock");
        ready(Ok(f(&mut c)))
    }
}

impl ChainRpc for FakeChain {
    fn display_url(&self) -> String {
        "fake://chain".into()
    }
    fn requests(&self) -> u64 {
        0
    }
    fn block_number(&self) -> impl Future<Output = Result<u64, RpcFailure>> + Send {
        self.with(|c| c.head)
    }
    fn nonce(
        &self,
        _who: Address,
        tag: &str,
    ) -> impl Future<Output = Result<u64, RpcFailure>> + Send {
        let pending = tag == "pending";
        self.with(move |c| if pending { c.pending } else { c.latest })
    }
    fn balance(&self, _who: Address) -> impl Future<Output = Result<U256, RpcFailure>> + Send {
        self.with(|c| c.balance)
    }
    fn call(
        &self,
        _to: Address,
        _data: &Bytes,
    ) -> impl Future<Output = Result<Bytes, RpcFailure>> + Send {
        self.with(|_| Bytes::new())
    }
    fn call_from(
        &self,
        _from: Address,
        _to: Address,
        _data: &Bytes,
    ) -> impl Future<Output = Result<Bytes, RpcFailure>> + Send {
        self.with(|_| Bytes::new())
    }
    fn latest_fees(&self) -> impl Future<Output = Result<(Option<u128>, u64), RpcFailure>> + Send {
        self.with(|c| (c.base_fee, 30_000_000))
    }
    fn send_raw(&self, raw: &Bytes) -> impl Future<Output = Result<B256, RpcFailure>> + Send {
        let mut c = self.0.lock().expect("fake chain lock");
        c.sent.push(raw.clone());
        ready(match c.refusals.pop_front() {
            Some(e) => Err(e),
            None => Ok(B256::ZERO),
        })
    }
    fn receipt(
        &self,
        tx: B256,
    ) -> impl Future<Output = Result<Option<Receipt>, RpcFailure>> + Send {
        self.with(move |c| c.receipts.get(&tx).cloned())
    }
    fn block_receipts(
        &self,
        _number: u64,
    ) -> impl Future<Output = Result<Option<Vec<Receipt>>, RpcFailure>> + Send {
        self.with(|_| None)
    }
    fn knows_transaction(&self, tx: B256) -> impl Future<Output = Result<bool, RpcFailure>> + Send {
        self.with(move |c| c.known.contains(&tx) || c.receipts.contains_key(&tx))
    }
}

/// The fees the test plans are signed with: 3 gwei cap, 1 gwei tip, EIP-1559.
pub(super) fn fees(cap: Option<u128>) -> Fees {
    Fees {
        base_fee: Some(GWEI),
        priority_fee: GWEI,
        max_fee: 3 * GWEI,
        cap,
    }
}

/// A plan of `steps` (calls to a fixed address, 100 000 gas each, none on chain yet) for the
/// MLP fixture's model hash.
pub(super) fn plan(steps: &[Step], fees: Fees) -> Plan {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras3_4/mlp_basic.keras");
    let source = Source::load(&fixture).expect("fixture model");
    let model = Address::repeat_byte(0x77);
    let image =
        ModelImage::new(&source.spec, WeightFormat::Compact, 512, model).expect("model image");
    let signer = signer_from_hex(KEY).expect("test key");
    Plan {
        source,
        chain_id: 31337,
        sender: signer.address(),
        salt: B256::ZERO,
        format: WeightFormat::Compact,
        image,
        steps: steps
            .iter()
            .map(|s| PlannedStep {
                step: s.clone(),
                call: Call {
                    to: Address::repeat_byte(0x11),
                    data: Bytes::new(),
                    value: U256::ZERO,
                },
                gas_limit: 100_000,
                estimated: true,
                done: false,
                address: None,
            })
            .collect(),
        fees,
        balance: U256::MAX,
        block_gas_limit: 30_000_000,
        limits: crate::engine::capabilities::Limits::default(),
        notes: Vec::new(),
        network: "test".into(),
    }
}

/// An engine over `chain` for `plan`, journaling under a fresh directory (kept alive by the
/// returned guard), with its event stream.
pub(super) fn engine(
    plan: Plan,
    chain: Chain,
    opts: Options,
) -> (
    Engine<FakeChain>,
    UnboundedReceiver<DeployEvent>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = Journal::open(dir.path(), &deployment_key(&plan)).expect("journal");
    let signer = signer_from_hex(KEY).expect("test key");
    let (tx, rx) = unbounded_channel();
    let e = Engine::new(
        plan,
        FakeChain(Mutex::new(chain)),
        signer,
        journal,
        opts,
        tx,
    );
    (e, rx, dir)
}

impl Engine<FakeChain> {
    /// The fake chain, to set up or inspect.
    pub(super) fn chain(&self) -> std::sync::MutexGuard<'_, Chain> {
        self.rpc.0.lock().expect("fake chain lock")
    }

    /// The journal's `Started` line for this plan, as an earlier run wrote it.
    pub(super) fn started(&self) -> Entry {
        Entry::Started {
            key: deployment_key(&self.plan),
            source: "model.keras".into(),
            network: "test".into(),
            format: self.plan.format,
            model_address: self.plan.model().to_checksum(None),
            unix_time: 0,
            chunk_bytes: Some(512),
        }
    }

    /// An earlier run's intent for step `i` at `nonce`: the entry and its hash and raw bytes.
    pub(super) fn intent(&self, i: usize, nonce: u64) -> (Entry, B256, Bytes) {
        let r = &self.runs[i];
        let (hash, raw) = self
            .sign(
                &r.call,
                nonce,
                r.gas_limit,
                self.fees.max_fee,
                self.fees.priority_fee,
            )
            .expect("sign");
        let entry = Entry::Intent {
            purpose: r.step.clone(),
            nonce,
            tx_hash: format!("{hash:#x}"),
            raw: format!("{raw}"),
        };
        (entry, hash, raw)
    }

    /// What the journal file holds now.
    pub(super) fn journaled(&self) -> Vec<Entry> {
        crate::journal::read(self.journal.path()).expect("journal read")
    }
}

/// A successful receipt of `tx` in `block`.
pub(super) fn mined(tx: B256, block: u64) -> Receipt {
    Receipt {
        tx_hash: tx,
        block,
        gas_used: 50_000,
        effective_gas_price: 2 * GWEI,
        success: true,
    }
}

/// The journal's record that `tx` was mined.
pub(super) fn mined_outcome(tx: B256) -> Entry {
    Entry::Outcome {
        tx_hash: format!("{tx:#x}"),
        outcome: Outcome::Mined {
            block: 1,
            gas_used: 50_000,
        },
    }
}

/// The notes the engine emitted so far.
pub(super) fn notes(events: &mut UnboundedReceiver<DeployEvent>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let DeployEvent::Note { message } = e {
            out.push(message);
        }
    }
    out
}
