//! The link between the TUI and the deployment engine: a start or a resume runs on a thread
//! of its own with its own tokio runtime (plan, then the engine) on the chain and signer the
//! chain keeper hands it — the same chain, and local anvil, the Preview's probe used; its
//! `DeployEvent`s come back to the UI channel as `Action::Deploy`, and the operator's commands
//! go to it through an unbounded channel. Probes go to the keeper. Nothing here blocks the UI
//! loop.
//!
//! Owns: the running deployment's thread and command channel, the keeper's handle. Must not
//! touch: the screen, or prompts (the password of a keystore is asked for by the state's
//! prompt and reaches the keeper with a probe).

use super::chain_keeper::{ChainKeeper, Leaser, SignerPick};
use super::target::SignerOption;
use super::{Action, Effect};
use crate::chain::WeightFormat;
use crate::engine::network::Config;
use crate::engine::plan::Source;
use crate::engine::session::ResumeTarget;
use crate::engine::{Command, DeployEvent};
use crate::journal;
use crate::usecase::deploy::{self, Outcome, PrepareError};
use crate::usecase::verify;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// How long quitting waits for a deployment to wind down (the engine waits up to 30 s for
/// transactions in flight, then the local anvil gets 5 s to write its state).
const WIND_DOWN: Duration = Duration::from_secs(40);

/// What the runtime holds of the deployment engine between effects: the config file the
/// network comes from, the chain keeper, the running deployment's command channel and thread,
/// and the network the last deployment ran on (where `verify` reads).
pub struct EngineLink {
    config: Option<PathBuf>,
    keeper: ChainKeeper,
    commands: Option<UnboundedSender<Command>>,
    thread: Option<JoinHandle<()>>,
    deployed_on: Arc<Mutex<Option<String>>>,
}

impl EngineLink {
    /// Starts the chain keeper, which answers probes on `actions`.
    pub fn new(config: Option<&Path>, actions: &Sender<Action>) -> std::io::Result<EngineLink> {
        let config = config.map(Path::to_path_buf);
        Ok(EngineLink {
            keeper: ChainKeeper::spawn(config.clone(), actions.clone())?,
            config,
            commands: None,
            thread: None,
            deployed_on: Arc::default(),
        })
    }

    /// Asks the running deployment to stop and waits (boundedly) for it, so that the local
    /// anvil it started is stopped and its state written before the process exits.
    /// Then the keeper lets go of its chains (and stops the local anvil).
    pub fn wind_down(&mut self) {
        self.wind_down_deployment();
        self.keeper.wind_down();
    }

    fn wind_down_deployment(&mut self) {
        if let Some(commands) = self.commands.take() {
            let _ = commands.send(Command::Abort);
        }
        let Some(thread) = self.thread.take() else {
            return;
        };
        join_within(thread, WIND_DOWN, "the deployment");
    }
}

/// Joins `thread` if it ends within `limit`; otherwise logs that `what` is left running (the
/// process is about to exit, which ends it).
pub(super) fn join_within(thread: JoinHandle<()>, limit: Duration, what: &str) {
    let start = Instant::now();
    while !thread.is_finished() && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
    if thread.is_finished() {
        let _ = thread.join();
    } else {
        log::error!(
            "{what} did not stop within {} s; leaving it",
            limit.as_secs()
        );
    }
}

/// What to run.
enum Job {
    Start {
        path: PathBuf,
        hashed_model: String,
        network: String,
        signer: SignerOption,
        format: WeightFormat,
    },
    Resume(String),
}

/// The one place the TUI calls the deployment engine.
///
/// - `Effect::StartDeploy { path, hashed_model, network, signer, format }`: deploys `path`
///   there in that weight format, as that signer, after checking it still hashes to the `hashed_model` the operator confirmed;
/// - `Effect::Probe(request)`: the keeper probes a network and signer for Preview;
/// - `Effect::Resume(journal_id)`: resumes that deployment as `eternalize resume` does;
/// - `Effect::Command(command)`: passes `command` to the running deployment.
///
/// Returns at once: the work happens on the deployment's thread.
pub fn engine_link(link: &mut EngineLink, effect: Effect, actions: &Sender<Action>) {
    match effect {
        Effect::StartDeploy {
            path,
            hashed_model,
            network,
            signer,
            format,
        } => start(
            link,
            Job::Start {
                path,
                hashed_model,
                network,
                signer,
                format,
            },
            actions,
        ),
        Effect::Probe(request) => link.keeper.probe(request),
        Effect::Resume(id) => start(link, Job::Resume(id), actions),
        Effect::Command(command) => match &link.commands {
            Some(tx) => {
                if tx.send(command.clone()).is_err() {
                    log::info!("{command:?}: the deployment has already ended");
                }
            }
            None => log::info!("{command:?}: no deployment is running"),
        },
        Effect::Verify { address, path } => read_chain(
            link,
            actions,
            address,
            move |reader, at| {
                let report =
                    verify::verify(reader, at, &path, None, None).map_err(|e| format!("{e:#}"))?;
                Ok((report.verdict(), report.lines()))
            },
            Action::Verified,
        ),
        Effect::Predict {
            address,
            path,
            input,
        } => read_chain(
            link,
            actions,
            address,
            move |reader, at| {
                verify::side_by_side(reader, at, &path, &input)
                    .map(Box::new)
                    .map_err(|e| format!("{e:#}"))
            },
            Action::Predicted,
        ),
        other => log::error!("not an engine effect: {other:?}"),
    }
}

/// Runs `read` against the network the last deployment ran on, off the UI thread (it reads
/// the chain for seconds), and sends the action it makes, or `failed(why)`. The chain is the
/// keeper's (a second local anvil on the same state would be another chain).
fn read_chain<T: Send + 'static>(
    link: &EngineLink,
    actions: &Sender<Action>,
    address: String,
    read: impl FnOnce(&verify::Reader, alloy::primitives::Address) -> Result<T, String> + Send + 'static,
    done: fn(Result<T, String>) -> Action,
) {
    let out = actions.clone();
    let leaser = link.keeper.leaser();
    let network = link.deployed_on.lock().ok().and_then(|n| n.clone());
    std::thread::spawn(move || {
        let result = leaser
            .ok_or_else(|| "the chain keeper has stopped".to_string())
            .and_then(|l| l.lease(network, SignerPick::Nothing))
            .and_then(|lease| {
                let at: alloy::primitives::Address = address
                    .parse()
                    .map_err(|_| format!("`{address}` is not an address"))?;
                let reader =
                    verify::Reader::at(&lease.chain.connected.url, lease.chain.network.chain_id)
                        .map_err(|e| format!("{e:#}"))?;
                read(&reader, at)
            });
        let _ = out.send(done(result));
    });
}

fn stopped(reason: String) -> Action {
    Action::Deploy(DeployEvent::Stopped {
        reason,
        resumable: false,
        resume_command: None,
    })
}

fn start(link: &mut EngineLink, job: Job, actions: &Sender<Action>) {
    let (tx, rx) = unbounded_channel();
    // A previous deployment (stopped, waiting for commands) is told to end; the new one waits
    // for it, so that two local anvils never share a state file.
    if let Some(old) = link.commands.replace(tx) {
        let _ = old.send(Command::Abort);
    }
    let previous = link.thread.take();
    let config = link.config.clone();
    let out = actions.clone();
    let Some(leaser) = link.keeper.leaser() else {
        link.commands = None;
        let _ = actions.send(stopped(
            "the chain keeper has stopped; nothing was sent".into(),
        ));
        return;
    };
    let deployed_on = link.deployed_on.clone();
    let spawned = std::thread::Builder::new()
        .name("deployment".into())
        .spawn(move || {
            if let Some(p) = previous {
                let _ = p.join();
            }
            if let Err(reason) = deploy(job, config.as_deref(), &leaser, &deployed_on, rx, &out) {
                log::warn!("deployment not started: {reason}");
                let _ = out.send(stopped(reason));
            }
        });
    match spawned {
        Ok(thread) => link.thread = Some(thread),
        Err(e) => {
            link.commands = None;
            let _ = actions.send(stopped(format!(
                "cannot start the deployment thread: {e}; nothing was sent"
            )));
        }
    }
}

/// Everything before the engine runs; an `Err` is the exact reason shown on the dashboard.
/// Once the engine runs, its own `Stopped`/`Finished` events end the story.
fn deploy(
    job: Job,
    config: Option<&Path>,
    leaser: &Leaser,
    deployed_on: &Mutex<Option<String>>,
    mut commands: UnboundedReceiver<Command>,
    actions: &Sender<Action>,
) -> Result<(), String> {
    let data_dir = journal::data_dir();
    let cfg = Config::load(config).map_err(|e| format!("{e}; nothing was sent"))?;
    let (source, network, signer, format, chunk_bytes, target) = match job {
        Job::Start {
            path,
            hashed_model,
            network,
            signer,
            format,
        } => {
            let source = Source::load(&path).map_err(|e| format!("{e}; nothing was sent"))?;
            if source.hashed_model != hashed_model {
                return Err(format!(
                    "{}: the file has changed since it was confirmed: its hashed_model is now {}…, not {}…; nothing was sent",
                    path.display(),
                    &source.hashed_model[..16.min(source.hashed_model.len())],
                    &hashed_model[..16.min(hashed_model.len())]
                ));
            }
            (
                source,
                Some(network),
                SignerPick::Chosen(signer),
                format,
                None,
                None,
            )
        }
        Job::Resume(id) => {
            let t = ResumeTarget::find(&data_dir, Some(&id))
                .map_err(|e| format!("{e}; nothing was sent"))?;
            let source = Source::load(&t.source).map_err(|e| format!("{e}; nothing was sent"))?;
            let network = t.network_or_env().map_err(|e| {
                format!(
                    "{e} (from the shell: `eternalize resume {id} --rpc-url URL`); nothing was sent"
                )
            })?;
            let deployer = t.deployer.clone();
            (
                source,
                network,
                SignerPick::Deployer(deployer),
                t.format,
                t.chunk_bytes,
                Some(t),
            )
        }
    };
    let lease = leaser
        .lease(network, signer)
        .map_err(|e| format!("{e}; nothing was sent"))?;
    let chain = lease.chain;
    let signer = lease
        .signer
        .ok_or_else(|| "no signer; nothing was sent".to_string())?;
    if let Some(t) = &target {
        t.check_signer(&signer)
            .map_err(|e| format!("{e}; nothing was sent"))?;
    }
    let rpc = chain.rpc().map_err(|e| format!("{e}; nothing was sent"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}; nothing was sent"))?;
    if let Ok(mut on) = deployed_on.lock() {
        *on = Some(chain.network.name.clone());
    }
    log::info!("deploying on {} as {}", chain.describe(), signer.address());
    let request = deploy::Request {
        source,
        format,
        chunk_bytes,
        window: None,
        pending_check: None,
        interactive: true,
        one_off_url: false,
        chain_id: None,
    };
    let result = rt.block_on(async {
        let prepared = deploy::prepare(
            &rpc,
            &chain.network,
            signer.address(),
            chain.describe(),
            &cfg,
            request,
            target.as_ref(),
        )
        .await
        .map_err(|e| match e {
            // Its messages say that nothing was sent.
            PrepareError::Resume(e) => e.to_string(),
            PrepareError::Plan(e) if e.to_string().contains("nothing was sent") => e.to_string(),
            PrepareError::Plan(e) => format!("{e}; nothing was sent"),
        })?;
        if let Ok(Command::Abort) = commands.try_recv() {
            return Err("aborted before anything was sent".to_string());
        }
        let resume_command = prepared.resume_command.clone();
        let mut running = prepared.spawn(rpc.clone(), signer.clone(), data_dir);
        let mut commands_open = true;
        loop {
            tokio::select! {
                event = running.events.recv() => match event {
                    Some(e) => {
                        if actions.send(Action::Deploy(e)).is_err() {
                            // The UI has gone: nothing new is sent.
                            let _ = running.commands.send(Command::Abort);
                        }
                    }
                    None => break,
                },
                command = commands.recv(), if commands_open => match command {
                    Some(c) => {
                        let _ = running.commands.send(c);
                    }
                    None => commands_open = false,
                },
            }
        }
        // A finished or stopped engine has said so in its events; a failed one has not.
        if let Outcome::Stopped {
            reason,
            resumable,
            resume_command,
            announced: false,
        } = deploy::outcome(running.done.await, &resume_command)
        {
            let _ = actions.send(Action::Deploy(DeployEvent::Stopped {
                reason,
                resumable,
                resume_command: Some(resume_command),
            }));
        }
        Ok(())
    });
    // The chain stays with the keeper (the local anvil is stopped when the TUI quits).
    drop(chain);
    result
}
