//! The deployment engine: executes a plan against a chain and reports what happens as a
//! stream of [`DeployEvent`]s, taking [`Command`]s back. Knows nothing of the screen.

pub mod event;

pub use event::{Command, DeployEvent, Failure, Step, StepState};
