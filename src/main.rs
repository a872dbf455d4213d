//! The `eternalize` binary: parses the command line, runs it, and turns errors into one
//! message on stderr with exit code 1 (2 for usage errors, which clap reports itself).
//! With no command it opens the TUI when stdin and stdout are a terminal, and otherwise
//! prints the help and exits 2, as a usage error. Here the two front ends meet: the CLI runs
//! the terminal app it is handed, and neither imports the other.

use clap::{CommandFactory, Parser};
use eternalize::cli::{self, Cli};
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none() && !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal())
    {
        let _ = Cli::command().write_help(&mut std::io::stderr());
        return ExitCode::from(2);
    }
    match cli::run(cli, &eternalize::tui::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<cli::Exit>() {
                eprintln!("error: {}", exit.message);
                return ExitCode::from(exit.code);
            }
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
