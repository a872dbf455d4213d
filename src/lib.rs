//! eternalize: turn a trained Keras model into an Eternal — a model that lives on an EVM
//! chain. Stages, each usable without the next: `keras` (read model files) → `bundle`
//! (eai-compatible export with hashes) → contracts, deployment and the TUI (`tui`, the only
//! module that imports ratatui).

pub mod atomic;
pub mod bundle;
pub mod chain;
pub mod cli;
pub mod engine;
pub mod infer;
pub mod journal;
pub mod keras;
pub mod tools;
pub mod tui;
pub mod units;
pub mod usecase;
