//! The link between the TUI and the deployment engine: a start or a resume runs on a thread
//! of its own with its own tokio runtime (network, signer, plan, then the engine); its
//! `DeployEvent`s come back to the UI channel as `Action::Deploy`, and the operator's commands
//! go to it through an unbounded channel. Nothing here blocks the UI loop.
//!
//! Owns: the running deployment's thread and command channel. Must not touch: the screen, or
//! prompts — a signer that needs a password is refused with a message saying what to do.

use super::{Action, Effect};
use crate::chain::{MAX_CHUNK_BYTES, WeightFormat};
use crate::engine::network::Config;
use crate::engine::plan::{PlanOptions, Source};
use crate::engine::session::{self, ResumeTarget, Session, SessionError};
use crate::engine::signer::{KEY_ENV, SignerChoice};
use crate::engine::{self, Command, DeployEvent};
use crate::journal;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// How long quitting waits for a deployment to wind down (the engine waits up to 30 s for
/// transactions in flight, then the local anvil gets 5 s to write its state).
const WIND_DOWN: Duration = Duration::from_secs(40);

/// What the runtime holds of the deployment engine between effects: the config file the
/// network comes from, and the running deployment's command channel and thread.
#[derive(Debug, Default)]
pub struct EngineLink {
    config: Option<PathBuf>,
    commands: Option<UnboundedSender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl EngineLink {
    pub fn new(config: Option<&Path>) -> EngineLink {
        EngineLink {
            config: config.map(Path::to_path_buf),
            ..EngineLink::default()
        }
    }

    /// Asks the running deployment to stop and waits (boundedly) for it, so that the local
    /// anvil it started is stopped and its state written before the process exits.
    pub fn wind_down(&mut self) {
        if let Some(commands) = self.commands.take() {
            let _ = commands.send(Command::Abort);
        }
        let Some(thread) = self.thread.take() else {
            return;
        };
        let start = Instant::now();
        while !thread.is_finished() && start.elapsed() < WIND_DOWN {
            std::thread::sleep(Duration::from_millis(20));
        }
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            log::error!(
                "the deployment did not stop within {} s; leaving it",
                WIND_DOWN.as_secs()
            );
        }
    }
}

/// What to run.
enum Job {
    Start { path: PathBuf, hashed_model: String },
    Resume(String),
}

/// The one place the TUI calls the deployment engine.
///
/// - `Effect::StartDeploy { path, hashed_model }`: deploys `path` after checking it still
///   hashes to the `hashed_model` the operator confirmed;
/// - `Effect::Resume(journal_id)`: resumes that deployment as `eternalize resume` does;
/// - `Effect::Command(command)`: passes `command` to the running deployment.
///
/// Returns at once: the work happens on the deployment's thread.
pub fn engine_link(link: &mut EngineLink, effect: Effect, actions: &Sender<Action>) {
    match effect {
        Effect::StartDeploy { path, hashed_model } => {
            start(link, Job::Start { path, hashed_model }, actions)
        }
        Effect::Resume(id) => start(link, Job::Resume(id), actions),
        Effect::Command(command) => match &link.commands {
            Some(tx) => {
                if tx.send(command.clone()).is_err() {
                    log::info!("{command:?}: the deployment has already ended");
                }
            }
            None => log::info!("{command:?}: no deployment is running"),
        },
        Effect::Verify { address, path } => {
            let config = link.config.clone();
            let out = actions.clone();
            // Reads the chain for a few seconds: never on the UI thread.
            std::thread::spawn(move || {
                let result = crate::cli::verify::verify_summary(config.as_deref(), &address, &path);
                let _ = out.send(Action::Verified(result));
            });
        }
        other => log::error!("not an engine effect: {other:?}"),
    }
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
    let spawned = std::thread::Builder::new()
        .name("deployment".into())
        .spawn(move || {
            if let Some(p) = previous {
                let _ = p.join();
            }
            if let Err(reason) = deploy(job, config.as_deref(), rx, &out) {
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

/// A signer error, with what to do in the TUI, which never asks for a password.
fn session_error(e: SessionError) -> String {
    match e {
        SessionError::Signer(s) => format!(
            "{s}. The TUI does not ask for keystore passwords: set {KEY_ENV}, or deploy from the shell with `eternalize deploy PATH --keystore …`; nothing was sent"
        ),
        other => format!("{other}; nothing was sent"),
    }
}

/// Everything before the engine runs; an `Err` is the exact reason shown on the dashboard.
/// Once the engine runs, its own `Stopped`/`Finished` events end the story.
fn deploy(
    job: Job,
    config: Option<&Path>,
    mut commands: UnboundedReceiver<Command>,
    actions: &Sender<Action>,
) -> Result<(), String> {
    let data_dir = journal::data_dir();
    let cfg = Config::load(config).map_err(|e| format!("{e}; nothing was sent"))?;
    let (source, network, format, chunk_bytes, target) = match job {
        Job::Start { path, hashed_model } => {
            let source = Source::load(&path).map_err(|e| format!("{e}; nothing was sent"))?;
            if source.hashed_model != hashed_model {
                return Err(format!(
                    "{}: the file has changed since it was confirmed: its hashed_model is now {}…, not {}…; nothing was sent",
                    path.display(),
                    &source.hashed_model[..16.min(source.hashed_model.len())],
                    &hashed_model[..16.min(hashed_model.len())]
                ));
            }
            (source, None, WeightFormat::Int32Shifted, None, None)
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
            (source, network, t.format, t.chunk_bytes, Some(t))
        }
    };
    let session = Session::open(
        &cfg,
        network.as_deref(),
        None,
        &SignerChoice::default(),
        &data_dir,
        &mut |w| log::warn!("{w}"),
    )
    .map_err(session_error)?;
    if let Some(t) = &target {
        t.check_signer(&session.signer)
            .map_err(|e| format!("{e}; nothing was sent"))?;
    }
    log::info!(
        "deploying on {} as {}",
        session.describe(),
        session.signer.address()
    );
    let opts = PlanOptions {
        format,
        chunk_bytes: chunk_bytes
            .or(cfg.deploy.chunk_bytes)
            .unwrap_or(MAX_CHUNK_BYTES),
        expected_chain_id: session.network.chain_id,
        max_fee_cap: session.network.max_fee_cap,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}; nothing was sent"))?;
    let result = rt.block_on(async {
        let plan = engine::plan(
            &session.rpc,
            source,
            session.signer.address(),
            session.describe(),
            &opts,
        )
        .await
        .map_err(|e| format!("{e}; nothing was sent"))?;
        plan.check_balance()
            .map_err(|e| format!("{e}; nothing was sent"))?;
        if let Ok(Command::Abort) = commands.try_recv() {
            return Err("aborted before anything was sent".to_string());
        }
        let id = engine::run::deployment_key(&plan).id();
        let resume_command = session::resume_command(&id, &session.network, false);
        let mut engine_opts = engine::Options {
            interactive: true,
            resume_command: Some(resume_command.clone()),
            ..engine::Options::default()
        };
        if let Some(w) = cfg.deploy.window {
            engine_opts.window = w.max(1);
        }
        let mut running = engine::spawn(
            plan,
            session.rpc.clone(),
            session.signer.clone(),
            data_dir,
            engine_opts,
        );
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
        match running.done.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let _ = actions.send(Action::Deploy(DeployEvent::Stopped {
                    reason: e.to_string(),
                    resumable: true,
                    resume_command: Some(resume_command),
                }));
            }
            Err(e) => {
                let _ = actions.send(Action::Deploy(DeployEvent::Stopped {
                    reason: format!("the engine task failed: {e}"),
                    resumable: true,
                    resume_command: Some(resume_command),
                }));
            }
        }
        Ok(())
    });
    // Stops the local anvil (if this deployment started one) gracefully, writing its state.
    drop(session);
    result
}
