//! The use cases: what eternalize does, with no screen attached. Each is a function returning
//! a typed result that implements `Serialize` (the `--json` output) and `Display` (the plain
//! output); the CLI and the TUI call these and only present what they return.
//!
//! - [`inspect`]: a model file or a bundle summarised (layers, shapes, counts, hashes);
//! - [`export`]: a model file written as a bundle;
//! - [`formats`]: every weight format of a model, its costs and its measured accuracy;
//! - [`predict`]: the fixed-point reference offline, or a deployed model by `eth_call`;
//! - [`plan`] and [`deploy`]: what a deployment sends, and one preparation of a deployment
//!   for every front end, ending in one [`crate::engine::DeploymentSummary`];
//! - [`job`]: an inference run on chain as a job of transactions (`predict ADDRESS --send`);
//! - [`verify`]: a deployment proved equal to a file, part by part.
//!
//! Owns: the order of work inside each command and the shape of its result. Must not touch:
//! the terminal (no printing, no prompts — questions come in as answers or callbacks), and it
//! imports neither front end.

pub mod chained;
pub mod deploy;
pub mod export;
pub mod formats;
pub mod inspect;
pub mod job;
pub mod plan;
pub mod predict;
pub mod verify;
