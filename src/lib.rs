//! eternalize: Keras model → on-chain Eternal.
