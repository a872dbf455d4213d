//! eternalize: Keras model → on-chain Eternal.

pub mod chain;
pub mod tools;
