//! Issue #12's secrets and files, each against what it protects: the local anvil's and npm's
//! environments (read from `/proc/PID/environ` and from a stand-in npm), keys in `Debug`, core
//! dumps once a key is loaded, the TUI's password box, atomic writes against a planted symlink,
//! the data dir's permissions whatever the umask, and a journal held by another process.

use crate::deploy_support::*;
use eternalize::atomic;
use eternalize::cli::deploy::SignerArgs;
use eternalize::engine::signer::{self, SignerChoice};
use eternalize::journal::{DeploymentKey, Journal, JournalError};
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

const MLP: &str = "keras3_4/mlp_basic.keras";
/// What a CI runner would hold: a deployer key and an RPC URL with an API key in it.
const RPC_SECRET: &str = "http://127.0.0.1:1/v2/RPCSECRET";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(needle)
        {
            out.push(pid);
        }
    }
    out
}

/// `K=V` lines of an environment dump, `NUL`- or newline-separated, that hold a secret.
fn secrets_in(env: &[u8]) -> Vec<String> {
    env.split(|b| *b == 0 || *b == b'\n')
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .filter(|v| {
            v.starts_with("ETERNALIZE_PRIVATE_KEY=")
                || v.starts_with("ETH_RPC_URL=")
                || v.contains(&KEY1[2..])
                || v.contains("RPCSECRET")
        })
        .collect()
}

#[test]
fn the_local_anvil_gets_no_secret_and_the_data_dir_is_private_whatever_the_umask() {
    let tmp = tempfile::tempdir().unwrap();
    // Not there yet: eternalize creates it, under a umask that would leave everything open.
    let data = tmp.path().join("data");
    let state = data.join("local-chain/anvil-state.json");
    let needle = state.display().to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_eternalize"));
    command
        .args(["deploy", &fixture_str(MLP), "--network", "local", "--yes"])
        .args(["--json", "--chunk-bytes", "4096"])
        .env("ETERNALIZE_DATA_DIR", &data)
        .env("ETERNALIZE_ANVIL", anvil_path())
        .env("ETERNALIZE_PRIVATE_KEY", KEY1)
        .env("ETH_RPC_URL", RPC_SECRET)
        .env_remove("ETERNALIZE_TEST_CRASH_AFTER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: umask(2) is async-signal-safe and cannot fail.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    let environ = loop {
        if let Some(pid) = processes_mentioning(&needle).first()
            && let Ok(env) = std::fs::read(format!("/proc/{pid}/environ"))
            && !env.is_empty()
        {
            break env;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "eternalize ended ({status}) before its anvil was seen:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no local anvil"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(
        secrets_in(&environ),
        Vec::<String>::new(),
        "the local anvil inherited secrets"
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let journals: Vec<_> = std::fs::read_dir(data.join("deployments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!journals.is_empty());
    let mut modes = vec![
        (data.clone(), mode(&data)),
        (data.join("deployments"), mode(&data.join("deployments"))),
        (data.join("local-chain"), mode(&data.join("local-chain"))),
        (state.clone(), mode(&state)),
    ];
    modes.extend(journals.iter().map(|j| (j.clone(), mode(j))));
    for (path, m) in modes {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(m, want, "{} is {m:o}", path.display());
    }
}

#[test]
fn npm_gets_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    // A stand-in npm (first on PATH) writes down the environment it was given, then fails.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let dump = tmp.path().join("npm-env");
    let npm = bin.join("npm");
    std::fs::write(
        &npm,
        format!("#!/bin/sh\nenv > '{}'\nexit 1\n", dump.display()),
    )
    .unwrap();
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_eternalize"))
        .args(["plan", &fixture_str(MLP), "--network", "local", "--yes"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("ETERNALIZE_DATA_DIR", tmp.path().join("data"))
        .env_remove("ETERNALIZE_ANVIL")
        .env("ETERNALIZE_PRIVATE_KEY", KEY1)
        .env("ETH_RPC_URL", RPC_SECRET)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let env = std::fs::read(&dump).unwrap_or_else(|e| {
        panic!(
            "npm never ran ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(String::from_utf8_lossy(&env).contains("PATH="));
    assert_eq!(
        secrets_in(&env),
        Vec::<String>::new(),
        "npm inherited secrets"
    );
}

#[test]
fn signer_debug_never_shows_a_key_or_a_password_file() {
    let args = SignerArgs {
        private_key: Some(Zeroizing::new(KEY1.to_string())),
        password_file: Some("/run/secrets/pw".into()),
        ..SignerArgs::default()
    };
    let choice = SignerChoice {
        private_key: Some(Zeroizing::new(KEY1.to_string())),
        ..SignerChoice::default()
    };
    for shown in [format!("{args:?}"), format!("{choice:?}")] {
        assert!(!shown.contains(&KEY1[2..]), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
    // Which file holds the password is not a secret; a key that is absent shows as absent.
    assert!(format!("{args:?}").contains("/run/secrets/pw"));
    assert!(format!("{:?}", SignerChoice::default()).contains("private_key: None"));
}

#[test]
fn loading_a_key_turns_core_dumps_off() {
    let choice = SignerChoice {
        private_key: Some(Zeroizing::new(KEY1.to_string())),
        ..SignerChoice::default()
    };
    signer::resolve(&choice, "local", true, &mut |_| {}).unwrap();
    // SAFETY: prctl(PR_GET_DUMPABLE) and getrlimit only read this process's settings.
    let (dumpable, core) = unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        assert_eq!(libc::getrlimit(libc::RLIMIT_CORE, &mut limit), 0);
        (
            libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0),
            limit.rlim_cur,
        )
    };
    assert_eq!((dumpable, core), (0, 0));
}

#[test]
fn the_password_box_never_moves_what_was_typed() {
    let mut typed = eternalize::tui::target::Password::default();
    typed.push('x');
    let at = typed.expose().as_ptr();
    for _ in 0..500 {
        typed.push('é');
        assert_eq!(typed.expose().as_ptr(), at, "the buffer was reallocated");
    }
    assert!(typed.len() > 100, "a long password fits: {}", typed.len());
}

#[test]
fn an_atomic_write_does_not_follow_a_symlink_planted_at_a_temp_name() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let target = dir.path().join("out.json");
    // The name the temp file used to have: `.NAME.tmp-PID`.
    let planted = dir
        .path()
        .join(format!(".out.json.tmp-{}", std::process::id()));
    symlink(&victim, &planted).unwrap();
    atomic::write(&target, |w| w.write_all(b"new")).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!target.symlink_metadata().unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
}

#[test]
fn an_atomic_write_leaves_no_temp_file_after_success_or_failure() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.json");
    let names = || {
        let mut n: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    atomic::write(&target, |w| w.write_all(b"first")).unwrap();
    assert_eq!(names(), ["out.json"]);
    let e = atomic::write(&target, |w| {
        w.write_all(b"half")?;
        Err::<(), _>(std::io::Error::other("disk full"))
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "disk full");
    assert_eq!(names(), ["out.json"]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "first");
}

fn journal_key() -> DeploymentKey {
    DeploymentKey {
        model_hash: "cd".repeat(64),
        chain_id: 31337,
        deployer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into(),
    }
}

#[test]
fn a_journal_in_use_is_refused_naming_the_process_that_holds_it() {
    let data = tempfile::tempdir().unwrap();
    let first = Journal::open(data.path(), &journal_key()).unwrap();
    // flock(2) locks an open file description: a second open conflicts even in one process.
    let Err(e) = Journal::open(data.path(), &journal_key()) else {
        panic!("the journal was opened twice");
    };
    assert!(matches!(e, JournalError::Locked { .. }), "{e}");
    let shown = e.to_string();
    assert!(
        shown.contains(&format!("process {}", std::process::id())),
        "{shown}"
    );
    assert!(
        shown.contains(&first.path().display().to_string()),
        "{shown}"
    );
    drop(first);
    // Free again once the holder is gone. A child another test forks in the meantime shares the
    // open file description (and its lock) until its exec closes it: allow that moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Journal::open(data.path(), &journal_key()) {
            Ok(_) => break,
            Err(JournalError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("free again once the holder is gone: {e}"),
        }
    }
}

#[test]
fn a_journal_held_by_another_process_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let first = Journal::open(data.path(), &journal_key()).unwrap();
    // Another process: `flock` on the same file, as a second eternalize's open would.
    let other = Command::new("flock")
        .args(["--nonblock", "--exclusive"])
        .arg(first.path())
        .arg("true")
        .status();
    match other {
        Ok(status) => assert!(!status.success(), "another process took the journal's lock"),
        Err(e) => eprintln!("flock(1) not available ({e}); one-process test only"),
    }
}
