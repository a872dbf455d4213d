//! Every integration test, linked into one test binary (`all`). Each `tests/NAME.rs` is a module
//! here: on 2 cores, building and linking one binary against the library and alloy took 5 of
//! `cargo test`'s 8 minutes when each file was a binary of its own (issue #10).
//!
//! Cargo.toml sets `autotests = false` and names this file as the only `[[test]]`, so a new
//! `tests/NAME.rs` runs only once it has its `mod` line below (the test at the bottom checks).
//! One file's tests: `cargo test --test all tui_e2e::`; one test: `cargo test --test all
//! tui_e2e::NAME`. insta names snapshots after the module path: `tests/snapshots/all__tui__*.snap`.
//!
//! The tests share one process: none may change the process's environment or current directory
//! (children get theirs through `Command`), and each takes its own data dir, anvil and ports.

mod chain_support;
mod common;
mod deploy_support;
mod terminal_support;

mod activations;
mod artifacts;
mod bad_input;
mod chain_activations;
mod chain_attention;
mod chain_blocks;
mod chain_chained;
mod chain_convs;
mod chain_densesplit;
mod chain_deploy;
mod chain_fit;
mod chain_jobs;
mod chain_predict;
mod chain_rejects;
mod chain_rnn_steps;
mod chain_rows;
mod chain_shapes;
mod chain_slices;
mod chain_trust;
mod cli_help;
mod deploy;
mod deploy_headless;
mod deploy_nonces;
mod eai_bundles;
mod export_fixtures;
mod formats;
mod formats_chain;
mod hardening;
mod infer_vs_keras;
mod kernel_gas;
mod local_chain;
mod mobilenet_v2;
mod secrets;
mod tui;
mod tui_dashboard;
mod tui_e2e;
mod verify;

/// With `autotests = false` a file in tests/ that no `mod` line names would never run.
#[test]
fn every_file_in_tests_is_a_module_of_this_binary() {
    let here = include_str!("all.rs");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = if path.is_dir() && path.join("mod.rs").is_file() {
            path.file_name().unwrap().to_string_lossy().into_owned()
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("all.rs") {
            path.file_stem().unwrap().to_string_lossy().into_owned()
        } else {
            continue;
        };
        if !here.lines().any(|l| l == format!("mod {name};")) {
            missing.push(name);
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "add `mod NAME;` to tests/all.rs for: {missing:?}"
    );
}
