//! `plan`, `deploy`, `resume` and `deployments`: the engine without the TUI. Progress goes to
//! stderr one line per event (plain) or to stdout one JSON object per event (`--json`), ending
//! with `{"type": "done", …}`.
//!
//! Exit codes: 0 done, 1 failed, 2 usage, 3 stopped but resumable (the resume command is
//! printed).

use clap::Args;
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

use super::{Exit, progress};
use crate::chain::WeightFormat;
use crate::engine::network::{self, AnvilInstall, Config, InstallAnswer, NetworkError};
use crate::engine::plan::{Plan, Source};
use crate::engine::session::{ResumeError, ResumeTarget, Session, SessionError};
use crate::engine::signer::{self, SignerChoice};
use crate::engine::{self, DeployEvent, Progress, StepState};
use crate::journal;
use crate::usecase::deploy::{self, Outcome};
use crate::usecase::plan::PlanReport;

#[derive(Args, Debug, Clone, Default)]
pub struct NetworkArgs {
    /// A network of the config file (`local`, the default, is an anvil eternalize runs itself)
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// A JSON-RPC endpoint for this run only (also read from ETH_RPC_URL)
    #[arg(long, value_name = "URL", conflicts_with = "network")]
    pub rpc_url: Option<String>,
}

#[derive(Args, Clone, Default)]
pub struct SignerArgs {
    /// A Foundry keystore file (encrypted JSON)
    #[arg(long, value_name = "PATH")]
    pub keystore: Option<PathBuf>,
    /// A Foundry keystore by name, from ~/.foundry/keystores
    #[arg(long, value_name = "NAME", conflicts_with = "keystore")]
    pub account: Option<String>,
    /// File holding the keystore's password (else a hidden prompt)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Hex private key — visible to other users; prefer a keystore or ETERNALIZE_PRIVATE_KEY
    #[arg(long, value_name = "HEX", value_parser = secret)]
    pub private_key: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for SignerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerArgs")
            .field("keystore", &self.keystore)
            .field("account", &self.account)
            .field("password_file", &self.password_file)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| signer::Redacted),
            )
            .finish()
    }
}

/// A secret argument, held so that its memory is wiped when dropped.
fn secret(text: &str) -> Result<Zeroizing<String>, std::convert::Infallible> {
    Ok(Zeroizing::new(text.to_string()))
}

/// `--format compact|exact|int16|int8`, parsed into the one weight format type.
pub fn format_parser() -> impl clap::builder::TypedValueParser<Value = WeightFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(WeightFormat::ALL.map(WeightFormat::flag))
        .try_map(|s| s.parse::<WeightFormat>())
}

/// Engine tuning, hidden from `--help` (tests and benchmarks).
#[derive(Args, Debug, Clone, Default)]
pub struct TuningArgs {
    /// Bytes per weight chunk
    #[arg(long, hide = true)]
    pub chunk_bytes: Option<usize>,
    /// Transactions in flight at most
    #[arg(long, hide = true)]
    pub window: Option<usize>,
    /// Milliseconds before a transaction without receipt is looked up (pending or dropped)
    #[arg(long, hide = true)]
    pub pending_check_ms: Option<u64>,
}

#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    /// A .keras or .h5 model file, or a bundle .json exported by eternalize
    pub path: PathBuf,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Do not ask: deploy to a non-local network (which otherwise asks, default No), and
    /// install anvil from npm if the local chain needs it
    #[arg(long)]
    pub yes: bool,
    /// Refuse unless the model's hashed_model starts with this prefix
    #[arg(long, value_name = "PREFIX")]
    pub confirm_hash: Option<String>,
    /// One JSON object per event on stdout, then {"type": "done", …}
    #[arg(long)]
    pub json: bool,
    /// On-chain weight format: compact (int32 per weight with a per-tensor shift, half the
    /// gas), exact (Q32.32, bit-exact with the bundle), int16 or int8 (per output channel,
    /// a quarter/an eighth of exact's bytes; see `inspect --formats` for their error)
    #[arg(long, value_parser = format_parser(), default_value_t = WeightFormat::Compact)]
    pub format: WeightFormat,
    /// Refuse unless the node's chain id is N (default: the network's configured chain_id)
    #[arg(long, value_name = "N")]
    pub chain_id: Option<u64>,
    #[command(flatten)]
    pub tuning: TuningArgs,
}

#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    /// A .keras or .h5 model file, or a bundle .json exported by eternalize
    pub path: PathBuf,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Install anvil from npm without asking if the local chain needs it
    #[arg(long)]
    pub yes: bool,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
    /// On-chain weight format: compact (int32 per weight with a per-tensor shift, half the
    /// gas), exact (Q32.32, bit-exact with the bundle), int16 or int8 (per output channel,
    /// a quarter/an eighth of exact's bytes; see `inspect --formats` for their error)
    #[arg(long, value_parser = format_parser(), default_value_t = WeightFormat::Compact)]
    pub format: WeightFormat,
    /// Refuse unless the node's chain id is N (default: the network's configured chain_id)
    #[arg(long, value_name = "N")]
    pub chain_id: Option<u64>,
    #[command(flatten)]
    pub tuning: TuningArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ResumeArgs {
    /// Deployment id (see `eternalize deployments`); default: the newest unfinished one
    pub id: Option<String>,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Do not ask: resume on a non-local network, and install anvil from npm if the local
    /// chain needs it
    #[arg(long)]
    pub yes: bool,
    /// One JSON object per event on stdout
    #[arg(long)]
    pub json: bool,
    /// Refuse unless the node's chain id is N (default: the network's configured chain_id)
    #[arg(long, value_name = "N")]
    pub chain_id: Option<u64>,
    #[command(flatten)]
    pub tuning: TuningArgs,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn fail(message: impl std::fmt::Display) -> anyhow::Error {
    Exit {
        code: 1,
        message: message.to_string(),
    }
    .into()
}

fn usage(message: impl std::fmt::Display) -> anyhow::Error {
    Exit {
        code: 2,
        message: message.to_string(),
    }
    .into()
}

fn signer_choice(a: &SignerArgs) -> SignerChoice {
    SignerChoice {
        private_key: a.private_key.clone(),
        keystore: a.keystore.clone(),
        account: a.account.clone(),
        password_file: a.password_file.clone(),
    }
}

fn open_session(
    config: &Config,
    net: &NetworkArgs,
    signer_args: &SignerArgs,
    data_dir: &Path,
    yes: bool,
) -> anyhow::Result<Session> {
    Session::open_with_consent(
        config,
        net.network.as_deref(),
        net.rpc_url.as_deref(),
        &signer_choice(signer_args),
        data_dir,
        &mut |w| eprintln!("warning: {w}"),
        &mut |offer| install_consent(offer, yes),
    )
    .map_err(|e| match e {
        SessionError::Network(NetworkError::InstallNeedsYes { .. }) => usage(e),
        _ => fail(e),
    })
}

/// A network and a signer for commands that send besides `deploy` (`predict --send`).
pub(super) fn open_signer_session(
    config: Option<&Path>,
    net: &NetworkArgs,
    signer_args: &SignerArgs,
    yes: bool,
) -> anyhow::Result<Session> {
    let config = Config::load(config).map_err(fail)?;
    open_session(&config, net, signer_args, &journal::data_dir(), yes)
}

/// Whether to install a missing anvil into the data dir: `--yes` agrees (and says so), a
/// terminal is asked — default yes: it is a local development tool going into eternalize's own
/// folder, nothing system-wide — and without either nobody can agree.
pub(super) fn install_consent(offer: &AnvilInstall, yes: bool) -> InstallAnswer {
    let installing = || {
        eprintln!(
            "installing {} (and {}, pinned with it) from npm into {} …",
            offer.package_at_version(),
            offer.also,
            offer.dir.display()
        );
    };
    if yes {
        installing();
        return InstallAnswer::Install;
    }
    if !std::io::stdin().is_terminal() {
        return InstallAnswer::CannotAsk;
    }
    eprint!(
        "anvil is not installed. Install {} from npm into {}? [Y/n] ",
        offer.package_at_version(),
        offer.dir.display()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    match std::io::stdin().read_line(&mut answer) {
        Ok(n) if n > 0 && matches!(answer.trim(), "" | "y" | "Y" | "yes" | "YES" | "Yes") => {
            installing();
            InstallAnswer::Install
        }
        _ => InstallAnswer::Declined,
    }
}

pub fn run_plan(config: Option<&Path>, a: PlanArgs) -> anyhow::Result<()> {
    let source = Source::load(&a.path).map_err(fail)?;
    let data_dir = journal::data_dir();
    let config = Config::load(config).map_err(fail)?;
    let session = open_session(&config, &a.network, &a.signer, &data_dir, a.yes)?;
    let rt = runtime()?;
    let opts = deploy::plan_options(&session.network, a.format, a.tuning.chunk_bytes, &config)
        .pin_chain_id(a.chain_id);
    let sender = session.signer.address();
    let plan = rt
        .block_on(engine::plan(
            &session.rpc,
            source,
            sender,
            session.describe(),
            &opts,
        ))
        .map_err(fail)?;
    if a.json {
        println!("{}", serde_json::to_string(&PlanReport(&plan))?);
    } else {
        print!("{}", PlanReport(&plan));
    }
    plan.check_balance().map_err(fail)?;
    Ok(())
}

pub fn run_deploy(config: Option<&Path>, a: DeployArgs) -> anyhow::Result<()> {
    let source = Source::load(&a.path).map_err(fail)?;
    if let Some(prefix) = &a.confirm_hash {
        let p = prefix.trim().to_ascii_lowercase();
        if p.is_empty() || !source.hashed_model.starts_with(&p) {
            return Err(fail(format!(
                "--confirm-hash {prefix} does not match this model's hashed_model {}…; nothing was sent",
                &source.hashed_model[..16]
            )));
        }
    }
    let format = a.format;
    execute(
        config, source, &a.network, &a.signer, format, &a.tuning, a.chain_id, a.yes, a.json, None,
    )
}

#[allow(clippy::too_many_arguments)]
fn execute(
    config: Option<&Path>,
    source: Source,
    net: &NetworkArgs,
    signer_args: &SignerArgs,
    format: WeightFormat,
    tuning: &TuningArgs,
    chain_id: Option<u64>,
    yes: bool,
    as_json: bool,
    resuming: Option<&ResumeTarget>,
) -> anyhow::Result<()> {
    let data_dir = journal::data_dir();
    let config = Config::load(config).map_err(fail)?;
    let session = open_session(&config, net, signer_args, &data_dir, yes)?;
    let rt = runtime()?;
    let request = deploy::Request {
        source,
        format,
        chunk_bytes: tuning.chunk_bytes,
        window: tuning.window,
        pending_check: tuning.pending_check_ms.map(Duration::from_millis),
        interactive: false,
        one_off_url: net.rpc_url.is_some(),
        chain_id,
    };
    let prepared = rt
        .block_on(deploy::prepare(
            &session.rpc,
            &session.network,
            session.signer.address(),
            session.describe(),
            &config,
            request,
            resuming,
        ))
        .map_err(fail)?;
    // Without a pin, the chain is whatever the node says it is: say which it is.
    let unpinned =
        !session.network.is_local() && chain_id.is_none() && session.network.chain_id.is_none();
    let chain_line = format!(
        "the node at {} is chain {}, and no --chain-id (nor the network's chain_id) pins it; pass --chain-id {} to refuse any other chain",
        session.rpc.display_url(),
        prepared.plan.chain_id,
        prepared.plan.chain_id
    );
    if unpinned && yes {
        eprintln!("warning: {chain_line}");
    }
    if !session.network.is_local() && !yes {
        if !std::io::stdin().is_terminal() {
            return Err(usage(format!(
                "deploying to `{}` needs confirmation: pass --yes (no terminal to ask on); nothing was sent",
                session.network.name
            )));
        }
        eprint!("{}", PlanReport(&prepared.plan));
        if unpinned {
            eprintln!("{chain_line}");
        }
        eprint!(
            "deploy to {} (chain {})? [y/N] ",
            session.network.name, prepared.plan.chain_id
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES") {
            return Err(fail("not confirmed; nothing was sent"));
        }
    }
    let resume_command = prepared.resume_command.clone();
    let rpc = session.rpc.clone();
    let signer = session.signer.clone();
    let mut reporter = Reporter::pick(as_json, &prepared.plan);
    let done = rt.block_on(async move {
        let mut running = prepared.spawn(rpc, signer, data_dir);
        let mut tick = tokio::time::interval(progress::REDRAW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // Ctrl-C: the first stops sending (the deployment stays resumable), the second quits.
        let mut sigint =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
        let mut interrupts = 0;
        loop {
            tokio::select! {
                e = running.events.recv() => match e {
                    Some(e) => reporter.event(&e),
                    None => break,
                },
                _ = tick.tick() => reporter.tick(),
                Some(()) = async {
                    match sigint.as_mut() {
                        Some(s) => s.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    interrupts += 1;
                    if interrupts > 1 {
                        reporter.close();
                        eprintln!("interrupted twice: quitting now; the journal has every transaction sent, `eternalize resume` finishes it");
                        // The local anvil gets SIGTERM from the kernel as we exit (it writes its state).
                        std::process::exit(130);
                    }
                    let _ = running.commands.send(engine::Command::Abort);
                    reporter.line("interrupted (Ctrl-C again quits now)");
                }
            }
        }
        reporter.close();
        running.done.await
    });
    match deploy::outcome(done, &resume_command) {
        Outcome::Finished(summary) => {
            if as_json {
                println!("{}", summary.done_json());
            }
            drop(session);
            Ok(())
        }
        Outcome::Stopped {
            reason,
            resumable,
            resume_command,
            announced,
        } => {
            let reason = if announced {
                format!("stopped: {reason}")
            } else {
                reason
            };
            if resumable {
                Err(Exit {
                    code: 3,
                    message: format!("{reason}\nresume with: {resume_command}"),
                }
                .into())
            } else {
                Err(fail(reason))
            }
        }
    }
}

/// The three ways to report a run: progress bars on a terminal's stderr, plain lines on
/// stderr otherwise, NDJSON on stdout with `--json`.
enum Reporter {
    Json,
    Plain { last_progress: Option<Instant> },
    Bars(Box<progress::Bars>),
}

impl Reporter {
    fn pick(json: bool, plan: &Plan) -> Reporter {
        if json {
            Reporter::Json
        } else if progress::stderr_can_draw() {
            Reporter::Bars(Box::new(progress::Bars::new(progress::Tally::new(
                plan.image.chunks.chunk_bytes,
                plan.image.chunks.total_bytes,
            ))))
        } else {
            Reporter::Plain {
                last_progress: None,
            }
        }
    }

    fn event(&mut self, e: &DeployEvent) {
        match self {
            Reporter::Json => {
                if let Ok(line) = serde_json::to_string(e) {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                    let _ = out.flush();
                }
            }
            Reporter::Plain { last_progress } => {
                match e {
                    DeployEvent::Step {
                        state: StepState::Queued | StepState::Sending { .. },
                        ..
                    } => return,
                    DeployEvent::Progress(_) => {
                        if last_progress.is_some_and(|t| t.elapsed() < Duration::from_secs(2)) {
                            return;
                        }
                        *last_progress = Some(Instant::now());
                    }
                    _ => {}
                }
                eprintln!("{}", plain_line(e));
            }
            Reporter::Bars(bars) => {
                bars.tally.update(e, Instant::now());
                // Only what an operator must see scrolls above the bars; sends and receipts
                // are what the bars count.
                let notable = match e {
                    DeployEvent::Step { state, .. } => matches!(state, StepState::Failed { .. }),
                    DeployEvent::Progress(_) => false,
                    _ => true,
                };
                if matches!(
                    e,
                    DeployEvent::Finished { .. } | DeployEvent::Stopped { .. }
                ) {
                    bars.close();
                }
                if notable {
                    bars.println(&plain_line(e));
                } else {
                    bars.maybe_draw();
                }
            }
        }
    }

    /// A timer tick: the bars' clock and rate move on even when no event comes.
    fn tick(&mut self) {
        if let Reporter::Bars(bars) = self {
            bars.maybe_draw();
        }
    }

    /// A line of our own on stderr (above the bars when they are shown).
    fn line(&mut self, text: &str) {
        match self {
            Reporter::Bars(bars) => bars.println(text),
            _ => eprintln!("{text}"),
        }
    }

    /// The run is over: the bars are erased.
    fn close(&mut self) {
        if let Reporter::Bars(bars) = self {
            bars.close();
        }
    }
}

/// An event as one line of text (the plain reporter's, and the bars' notable lines).
fn plain_line(e: &DeployEvent) -> String {
    match e {
        DeployEvent::Planned {
            model_address,
            chain_id,
            steps,
            chunks,
            format,
            gas_estimate,
            cost_estimate,
            journal,
            ..
        } => format!(
            "plan: model {model_address} on chain {chain_id}: {} steps, {chunks} chunks of {format} weights, ≈ {gas_estimate} gas, ≈ {cost_estimate} wei; journal {journal}",
            steps.len()
        ),
        DeployEvent::Step { step, state } => match state {
            StepState::Queued => format!("queued  {}", step),
            StepState::Sending { nonce, .. } => {
                format!("sending {} (nonce {nonce})", step)
            }
            StepState::Pending { nonce, tx_hash } => {
                format!("sent    {} (nonce {nonce}, {tx_hash})", step)
            }
            StepState::Mined {
                block,
                gas_used,
                address,
                ..
            } => format!(
                "mined   {} in block {block}, {gas_used} gas{}",
                step,
                address
                    .as_ref()
                    .map(|a| format!(", at {a}"))
                    .unwrap_or_default()
            ),
            StepState::Skipped { address } => format!(
                "skip    {} (already on chain{})",
                step,
                address
                    .as_ref()
                    .map(|a| format!(" at {a}"))
                    .unwrap_or_default()
            ),
            StepState::Failed { failure, attempts } => {
                format!("FAILED  {} (attempt {attempts}): {}", step, failure)
            }
        },
        DeployEvent::Progress(Progress {
            transactions_mined,
            transactions_total,
            chunks_stored,
            chunks_total,
            gas_used,
            in_flight,
            elapsed_ms,
            ..
        }) => format!(
            "progress {transactions_mined}/{transactions_total} transactions, {chunks_stored}/{chunks_total} chunks, {gas_used} gas, {in_flight} in flight, {:.1} s",
            *elapsed_ms as f64 / 1000.0
        ),
        DeployEvent::Paused { reason } => format!("paused: {reason}"),
        DeployEvent::Resumed => "resumed".into(),
        DeployEvent::Note { message } => format!("note: {message}"),
        DeployEvent::Finished(s) => format!(
            "done: model {} is ready on chain {}: {} transactions, {} gas, {} wei, {:.2} s",
            s.model_address, s.chain_id, s.transactions, s.gas_used, s.cost_wei, s.seconds
        ),
        DeployEvent::Stopped { reason, .. } => format!("stopped: {reason}"),
    }
}

pub fn run_resume(config: Option<&Path>, a: ResumeArgs) -> anyhow::Result<()> {
    let data_dir = journal::data_dir();
    let usage_or_fail = |e: ResumeError| match e {
        ResumeError::NoSuchDeployment { .. }
        | ResumeError::NothingUnfinished
        | ResumeError::NeedsRpcUrl { .. } => usage(e),
        _ => fail(e),
    };
    let target = ResumeTarget::find(&data_dir, a.id.as_deref()).map_err(usage_or_fail)?;
    let source = Source::load(&target.source).map_err(fail)?;
    let mut net = a.network.clone();
    if net.network.is_none() && net.rpc_url.is_none() {
        net.network = target.network_or_env().map_err(usage_or_fail)?;
    }
    // Signer and chain must be the journal's.
    let choice = signer_choice(&a.signer);
    let cfg = Config::load(config).map_err(fail)?;
    let network =
        network::resolve(&cfg, net.network.as_deref(), net.rpc_url.as_deref()).map_err(fail)?;
    let signer =
        signer::resolve(&choice, &network.name, network.is_local(), &mut |_| {}).map_err(fail)?;
    target.check_signer(&signer).map_err(fail)?;
    let mut tuning = a.tuning.clone();
    if tuning.chunk_bytes.is_none() {
        tuning.chunk_bytes = target.chunk_bytes;
    }
    execute(
        config,
        source,
        &net,
        &a.signer,
        target.format,
        &tuning,
        a.chain_id,
        a.yes,
        a.json,
        Some(&target),
    )
}

pub fn run_deployments(json_out: bool) -> anyhow::Result<()> {
    let data_dir = journal::data_dir();
    let list = journal::list(&data_dir).map_err(fail)?;
    if json_out {
        let items: Vec<_> = list
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "finished": s.finished,
                    "model_hash": s.key.as_ref().map(|k| k.model_hash.clone()),
                    "chain_id": s.key.as_ref().map(|k| k.chain_id),
                    "deployer": s.key.as_ref().map(|k| k.deployer.clone()),
                    "model_address": s.model_address,
                    "network": s.network,
                    "source": s.source,
                    "transactions": s.transactions,
                    "chunks_done": s.chunks_done,
                    "journal": s.path.display().to_string(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
        return Ok(());
    }
    if list.is_empty() {
        println!(
            "no deployments in {}",
            journal::deployments_dir(&data_dir).display()
        );
        return Ok(());
    }
    for s in &list {
        println!(
            "{}  {:<11} {} tx, {} chunks  {}  {}",
            s.id,
            if s.finished { "finished" } else { "unfinished" },
            s.transactions,
            s.chunks_done,
            s.network.as_deref().unwrap_or("?"),
            s.source.as_deref().unwrap_or("?"),
        );
    }
    Ok(())
}
