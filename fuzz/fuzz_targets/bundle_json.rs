//! Any bytes given to the bundle reader give a bundle or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(read) = eternalize::bundle::read_bytes(data, std::path::Path::new("fuzz")) {
        let _ = read.mismatch();
        let mut out = Vec::new();
        let _ = read.bundle.write(&mut out, true);
    }
});
