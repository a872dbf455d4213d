//! Any bytes given to the model reader (as `.keras` or `.h5`) give a model or an error,
//! never a panic, a hang or an absurd allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eternalize::keras::load_bytes(data, std::path::Path::new("fuzz"));
});
