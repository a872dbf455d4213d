//! The `eternalize` binary: parses the command line, runs it, and turns errors into one
//! message on stderr with exit code 1 (2 for usage errors, which clap reports itself).

use clap::Parser;
use eternalize::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
