//! The command line: one subcommand per action, plain or `--json` output.
//!
//! Exit codes: 0 success, 1 failure (one message on stderr), 2 usage error.

mod export;
mod inspect;
mod predict;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "eternalize",
    version,
    about = "Turn a trained Keras model into an Eternal: a model that lives on an EVM chain",
    long_about = None,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
    /// Run a model offline with eternalize's fixed-point reference (what the chain computes)
    Predict {
        /// A .keras or .h5 model file, or a bundle .json exported by eternalize
        model: PathBuf,
        /// Input: .npy, or JSON (a nested list, or an object of input name → nested list);
        /// a leading batch dimension is optional
        #[arg(short, long, value_name = "FILE")]
        input: PathBuf,
        /// On-chain weight format to compute with: compact (int32 + shift, the default) or exact (Q32.32)
        #[arg(long, value_enum, default_value_t = predict::Format::Compact)]
        format: predict::Format,
        /// Print {"shape": [...], "values": [...]} instead of text
        #[arg(long)]
        json: bool,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect { path, json } => inspect::run(&path, json),
        Command::Export {
            model,
            output,
            eai,
            json,
        } => export::run(&model, &output, eai, json),
        Command::Predict {
            model,
            input,
            format,
            json,
        } => predict::run(&model, &input, format, json),
    }
}

/// An error already reported to the user in full; the binary only sets the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);
