//! The command line: one subcommand per action, plain or `--json` output.
//!
//! Exit codes: 0 success, 1 failure (one message on stderr), 2 usage error, 3 a deployment
//! stopped but resumable.

pub mod deploy;

mod progress;
pub mod read;

use crate::chain::WeightFormat;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "eternalize",
    version,
    about = "Turn a trained Keras model into an Eternal: a model that lives on an EVM chain",
    long_about = None,
    after_help = "With no command on a terminal, opens the terminal app (as `eternalize tui`)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Configuration file [default: the platform config folder's eternalize/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show a model file's or a bundle's layers, weight counts and hashes
    Inspect {
        /// A .keras or .h5 model file, or a bundle .json
        path: PathBuf,
        /// Print one JSON object instead of a table
        #[arg(long)]
        json: bool,
        /// Compare the weight formats (compact, exact, int16, int8): bytes, chunks, gas, and
        /// the error of each against Keras's predictions or the exact reference
        #[arg(long)]
        formats: bool,
        /// With --formats: the samples to measure on (.npy or JSON) [default: the model's
        /// .truth.json samples, else deterministic samples in [0, 1]]
        #[arg(long, value_name = "FILE", requires = "formats")]
        input: Option<PathBuf>,
    },
    /// Export a model file as a bundle (eai-compatible graph, Q32.32 weights, hashes)
    Export {
        /// A .keras or .h5 model file
        model: PathBuf,
        /// Where to write the bundle; `-` writes it to stdout
        #[arg(short, long, value_name = "BUNDLE.json")]
        output: PathBuf,
        /// Leave out eternalize's own section: the file is then exactly what eai writes
        #[arg(long)]
        eai: bool,
        /// Print a JSON summary on stdout (not with `-o -`)
        #[arg(long)]
        json: bool,
    },
    /// Run a model offline with eternalize's fixed-point reference (what the chain computes), or
    /// call a deployed model's `predict` when given its 0x address
    Predict {
        /// A .keras or .h5 model file, a bundle .json exported by eternalize, or a deployed
        /// model's 0x address
        model: PathBuf,
        /// Input: .npy, or JSON (a nested list, or an object of input name → nested list);
        /// a leading batch dimension is optional
        #[arg(short, long, value_name = "FILE")]
        input: PathBuf,
        /// Weight format to compute with: compact (int32 + shift, the default), exact (Q32.32),
        /// or int16/int8 (per output channel); ignored with an address (the chain holds its own)
        #[arg(long, value_parser = deploy::format_parser(), default_value_t = WeightFormat::Compact)]
        format: WeightFormat,
        /// Print {"shape": [...], "values": [...]} instead of text (with a 0x address, also
        /// "calls", "gas": {"sum", "largest"} and "call_gas")
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        network: deploy::NetworkArgs,
        /// Do not ask: install anvil from npm if the local chain needs it (with a 0x address),
        /// and send a job's transactions to a non-local network
        #[arg(long)]
        yes: bool,
        /// Run the inference on chain as a job of transactions (each under 2^24 gas), paid by
        /// the signer: the result is read on chain (with a 0x address)
        #[arg(long)]
        send: bool,
        #[command(flatten)]
        signer: deploy::SignerArgs,
        /// Gas each eth_call may use (a 0x address): the model runs as chained calls under it
        /// [default: 16777216, or the node's eth_call cap when lower]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1_000_000..), conflicts_with = "send")]
        call_gas: Option<u64>,
        /// Calldata bytes each job transaction may carry (with --send): steps are cut so that
        /// none is over it [default: the network's max_tx_bytes, else 120000, under geth's
        /// 128 KiB transaction size limit]
        #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(4_096..=16_777_216), requires = "send")]
        max_tx_bytes: Option<u64>,
    },
    /// Prove a deployed model equals a file: hashes, graph, every weight byte, and predict
    /// against the Rust reference (exit 1 naming each difference)
    Verify(read::VerifyArgs),
    /// Show what deploying a model would send: steps, gas, fees, balance, chain id
    Plan(deploy::PlanArgs),
    /// Deploy a model file or bundle to a chain (default: the local anvil eternalize runs)
    Deploy(deploy::DeployArgs),
    /// Finish a stopped deployment from its journal, without sending anything twice
    Resume(deploy::ResumeArgs),
    /// List the deployments in the journal folder
    Deployments {
        /// Print a JSON array
        #[arg(long)]
        json: bool,
    },
    /// Open the terminal app: browse to a model file, preview its layers and weights, confirm its hash
    Tui {
        /// A folder to browse, or a model file or bundle to preview [default: the working directory]
        path: Option<PathBuf>,
    },
}

/// The terminal app, as the binary wires it in (`tui::run`): browses or previews a path with a
/// config file, and returns what to print once the terminal is restored.
pub type TerminalApp<'a> = &'a dyn Fn(
    Option<&std::path::Path>,
    Option<&std::path::Path>,
) -> anyhow::Result<Option<String>>;

/// Runs a parsed command line. With no command the binary's edge decides (TUI on a terminal,
/// help otherwise); here it is the TUI, `tui`, which the CLI does not import.
pub fn run(cli: Cli, tui: TerminalApp) -> anyhow::Result<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Some(Command::Inspect {
            path,
            json,
            formats: true,
            input,
        }) => {
            let report = crate::usecase::formats::measure(&path, input.as_deref())?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!("{report}");
            }
            Ok(())
        }
        Some(Command::Inspect { path, json, .. }) => inspect(&path, json),
        Some(Command::Export {
            model,
            output,
            eai,
            json,
        }) => {
            let done = crate::usecase::export::export(&model, &output, eai)?;
            if json && done.bundle != "-" {
                println!("{}", serde_json::to_string(&done)?);
            } else {
                eprintln!("{done}");
            }
            Ok(())
        }
        Some(Command::Predict {
            model,
            input,
            format,
            json,
            network,
            yes,
            send,
            signer,
            call_gas,
            max_tx_bytes,
        }) => {
            let as_address = model
                .to_str()
                .filter(|_| !model.exists())
                .and_then(read::parse_address);
            match as_address {
                Some(address) if send => {
                    let bytes = max_tx_bytes.map(|b| b as usize);
                    read::predict_send(config, address, &input, &network, &signer, yes, json, bytes)
                }
                Some(address) => {
                    read::predict_at(config, address, &input, &network, yes, json, call_gas)
                }
                None if send => Err(Exit {
                    code: 2,
                    message: format!(
                        "--send runs a deployed model as an on-chain job: give its 0x address, not the file {}",
                        model.display()
                    ),
                }
                .into()),
                None if network.network.is_some() || network.rpc_url.is_some() => Err(Exit {
                    code: 2,
                    message: format!(
                        "--network/--rpc-url apply to a deployed model's 0x address, not to the file {}",
                        model.display()
                    ),
                }
                .into()),
                None => read::predict_offline(&model, &input, format, json),
            }
        }
        Some(Command::Verify(a)) => read::run_verify(config, a),
        Some(Command::Plan(a)) => deploy::run_plan(config, a),
        Some(Command::Deploy(a)) => deploy::run_deploy(config, a),
        Some(Command::Resume(a)) => deploy::run_resume(config, a),
        Some(Command::Deployments { json }) => deploy::run_deployments(json),
        Some(Command::Tui { path }) => print_summary(tui(path.as_deref(), config)?),
        None => print_summary(tui(None, config)?),
    }
}

/// `inspect`: the table or the JSON object; exit 1 (after printing) when a bundle's stored
/// hash does not hold.
fn inspect(path: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let summary = crate::usecase::inspect::inspect(path)?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{summary}");
    }
    match summary.altered() {
        Some(message) => Err(Reported(message).into()),
        None => Ok(()),
    }
}

/// The TUI has given the terminal back; what it deployed goes to stdout, where it stays.
fn print_summary(summary: Option<String>) -> anyhow::Result<()> {
    if let Some(s) = summary {
        print!("{s}");
    }
    Ok(())
}

/// An error already reported to the user in full; the binary only sets the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);

/// An error with its own exit code (2 usage, 3 stopped but resumable).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: u8,
    pub message: String,
}
