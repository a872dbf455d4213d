//! The command line's surface, pinned: `--help` of the binary and of each subcommand. A change
//! here is a change users see; review the snapshot diff like an API change.

use crate::common::*;

fn help(args: &[&str]) -> String {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn help_of_eternalize() {
    insta::assert_snapshot!("eternalize_help", help(&["--help"]));
}

#[test]
fn help_of_inspect() {
    insta::assert_snapshot!("inspect_help", help(&["inspect", "--help"]));
}

#[test]
fn help_of_export() {
    insta::assert_snapshot!("export_help", help(&["export", "--help"]));
}

#[test]
fn help_of_tui() {
    insta::assert_snapshot!("tui_help", help(&["tui", "--help"]));
}

#[test]
fn no_command_without_a_terminal_prints_help_and_exits_2() {
    // `output()` gives the child pipes, not a terminal: the TUI must not start.
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("Usage: eternalize [OPTIONS] [COMMAND]"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn help_of_predict() {
    insta::assert_snapshot!("predict_help", help(&["predict", "--help"]));
}

#[test]
fn help_of_verify() {
    insta::assert_snapshot!("verify_help", help(&["verify", "--help"]));
}
