//! The HDF5 reader walks any bytes without panicking: every group, attribute and dataset
//! it can reach is read.
#![no_main]
use eternalize::keras::h5::{H5File, NodeKind};
use libfuzzer_sys::fuzz_target;

fn walk(f: &H5File, path: &str, depth: usize) {
    if depth > 8 {
        return;
    }
    for name in ["model_config", "keras_version", "weight_names", "layer_names"] {
        let _ = f.attr(path, name);
    }
    let Ok(children) = f.children(path) else { return };
    for (name, kind) in children.into_iter().take(64) {
        let child = if path == "/" { format!("/{name}") } else { format!("{path}/{name}") };
        match kind {
            NodeKind::Group => walk(f, &child, depth + 1),
            NodeKind::Dataset => {
                let _ = f.read_f32(&child);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = H5File::from_bytes(data.to_vec()) {
        walk(&f, "/", 0);
    }
});
