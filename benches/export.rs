//! Export benchmark (`cargo bench --bench export`): whole-process `eternalize export` as a user
//! runs it, not a timed test. Numbers go to BENCHMARKS.md.
//!
//! 1. fashion_mnist.keras (58k params): median wall time of the release binary (target ≤ 50 ms;
//!    eai needs ≈ 2.5 s including its TensorFlow import).
//! 2. a ≥ 5M-parameter model: export wall time and peak RSS, against `sha256sum` over the bundle
//!    it writes (target ≤ 3× its time). The model is written by `tests/fixtures/generate.py
//!    --bench-model` with a Python that has Keras (set `KERAS_PYTHON`, default
//!    `/root/.venvs/keras-gen/bin/python`), cached in `target/bench-models/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs a command to completion; returns wall time and the child's peak RSS in KiB.
// The child is reaped by wait4 (which also gives its rusage), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> (Duration, i64) {
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `usage` is a valid out-pointer.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed"
    );
    (wall, usage.ru_maxrss)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn export_cmd(model: &Path, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eternalize"));
    c.arg("export").arg(model).arg("-o").arg(out);
    c.stderr(std::process::Stdio::null());
    c
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/bench-models");
    std::fs::create_dir_all(&work).expect("mkdir");

    // 1. fashion_mnist
    let fm = root.join("tests/fixtures/eai_example/fashion_mnist.keras");
    let out = work.join("fashion_mnist.json");
    let _ = measure(&mut export_cmd(&fm, &out)); // warm the page cache
    let runs: Vec<(Duration, i64)> = (0..30)
        .map(|_| measure(&mut export_cmd(&fm, &out)))
        .collect();
    let t = median(runs.iter().map(|r| r.0).collect());
    let rss = runs.iter().map(|r| r.1).max().unwrap_or(0);
    println!(
        "fashion_mnist.keras: export median {:.1} ms over 30 runs (min {:.1} ms), peak RSS {} KiB, bundle {} bytes",
        t.as_secs_f64() * 1e3,
        runs.iter()
            .map(|r| r.0)
            .min()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        rss,
        std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0)
    );

    // 2. ≥ 5M parameters
    let big = work.join("bench_5m.keras");
    if !big.exists() && !generate(root, &big) {
        println!(
            "5M model: skipped — no Python with Keras to write it (set KERAS_PYTHON; see tests/fixtures/generate.py)"
        );
        return;
    }
    let out = work.join("bench_5m.json");
    let _ = measure(&mut export_cmd(&big, &out));
    let runs: Vec<(Duration, i64)> = (0..5)
        .map(|_| measure(&mut export_cmd(&big, &out)))
        .collect();
    let t = median(runs.iter().map(|r| r.0).collect());
    let rss = runs.iter().map(|r| r.1).max().unwrap_or(0);
    let sums: Vec<(Duration, i64)> = (0..5)
        .map(|_| {
            measure(
                Command::new("sha256sum")
                    .arg(&out)
                    .stdout(std::process::Stdio::null()),
            )
        })
        .collect();
    let ts = median(sums.iter().map(|r| r.0).collect());
    let rss_sum = sums.iter().map(|r| r.1).max().unwrap_or(0);
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "bench_5m.keras ({} bytes): export median {:.0} ms, peak RSS {} KiB; sha256sum of the {} byte bundle {:.0} ms, peak RSS {} KiB; time ratio {:.2}x",
        std::fs::metadata(&big).map(|m| m.len()).unwrap_or(0),
        t.as_secs_f64() * 1e3,
        rss,
        bytes,
        ts.as_secs_f64() * 1e3,
        rss_sum,
        t.as_secs_f64() / ts.as_secs_f64()
    );
}

fn generate(root: &Path, out: &PathBuf) -> bool {
    let python = std::env::var("KERAS_PYTHON")
        .unwrap_or_else(|_| "/root/.venvs/keras-gen/bin/python".into());
    Command::new(python)
        .arg(root.join("tests/fixtures/generate.py"))
        .arg("--bench-model")
        .arg(out)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
