//! External tools eternalize runs: anvil (the local chain) and solc-js (compiles `contracts/`).
//! Both are npm packages pinned in `tools/package.json` — the one place their versions live —
//! and installed with `npm ci --ignore-scripts` into `<tools dir>/node_modules` when missing.
//! anvil is `@foundry-rs/anvil`, whose optional dependencies carry one binary per platform; npm
//! installs the running platform's, and [`anvil_binary`] says where it is.
//!
//! Owns: finding the tools, installing them (safely from several processes at once), and
//! running an anvil process that dies with its handle. Must not touch: the chain's contents.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The pinned manifest and lock file, embedded so a binary can install the tools anywhere.
pub const PACKAGE_JSON: &str = include_str!("../tools/package.json");
pub const PACKAGE_LOCK: &str = include_str!("../tools/package-lock.json");

/// npm package of anvil: Foundry's wrapper, whose optional dependencies carry each platform's
/// binary (see [`anvil_binary_for`]).
pub const ANVIL_PACKAGE: &str = "@foundry-rs/anvil";
/// npm package of solc-js.
pub const SOLC_PACKAGE: &str = "solc";
/// Environment variable naming an anvil binary to use instead of the pinned one.
pub const ANVIL_ENV: &str = "ETERNALIZE_ANVIL";

/// `npm ci` as eternalize runs it: no package's install script runs (anvil's wrapper has a
/// postinstall that downloads a binary of its own when its platform package is missing; we take
/// the binary npm installed from the lock file, or nothing), optional dependencies (the
/// platform binaries) are installed whatever the user's npm config omits.
pub const NPM_CI_ARGS: [&str; 5] = [
    "ci",
    "--ignore-scripts",
    "--include=optional",
    "--no-audit",
    "--no-fund",
];

/// The platforms [`ANVIL_PACKAGE`] carries a binary for: Rust's `(OS, ARCH)` and the suffix of
/// the npm package holding it (`@foundry-rs/anvil-<suffix>`).
const ANVIL_PLATFORMS: [(&str, &str, &str); 5] = [
    ("macos", "aarch64", "darwin-arm64"),
    ("macos", "x86_64", "darwin-amd64"),
    ("linux", "aarch64", "linux-arm64"),
    ("linux", "x86_64", "linux-amd64"),
    ("windows", "x86_64", "win32-amd64"),
];

/// Where a platform's anvil is inside `node_modules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnvilBinary {
    /// The npm package holding it, e.g. `@foundry-rs/anvil-darwin-arm64`.
    pub package: String,
    /// Its path inside that package: `bin/anvil`, or `bin/anvil.exe` on Windows.
    pub path: &'static str,
}

/// The anvil package and binary for a platform named as Rust names it
/// (`std::env::consts::{OS, ARCH}`).
pub fn anvil_binary_for(os: &str, arch: &str) -> Result<AnvilBinary, ToolError> {
    ANVIL_PLATFORMS
        .iter()
        .find(|(o, a, _)| *o == os && *a == arch)
        .map(|(o, _, suffix)| AnvilBinary {
            package: format!("{ANVIL_PACKAGE}-{suffix}"),
            path: if *o == "windows" {
                "bin/anvil.exe"
            } else {
                "bin/anvil"
            },
        })
        .ok_or_else(|| ToolError::UnsupportedPlatform {
            os: os.into(),
            arch: arch.into(),
        })
}

/// The anvil package and binary for the running platform.
pub fn anvil_binary() -> Result<AnvilBinary, ToolError> {
    anvil_binary_for(std::env::consts::OS, std::env::consts::ARCH)
}

fn anvil_platform_list() -> String {
    ANVIL_PLATFORMS
        .iter()
        .map(|(_, _, suffix)| *suffix)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("tools/package.json does not pin `{package}`: {why}")]
    Manifest { package: &'static str, why: String },
    #[error(
        "`npm` was not found on PATH, so {what} cannot be installed. Install Node.js ≥ 20 with npm (https://nodejs.org), or set {ANVIL_ENV} to an anvil binary"
    )]
    NpmMissing { what: String },
    #[error("`node` was not found on PATH; solc-js needs Node.js ≥ 20 (https://nodejs.org)")]
    NodeMissing,
    #[error("`npm ci --ignore-scripts --prefix {}` failed ({status}):\n{output}", dir.display())]
    Install {
        dir: PathBuf,
        status: String,
        output: String,
    },
    #[error("after `npm ci`, {} is still missing", path.display())]
    StillMissing { path: PathBuf },
    #[error("{ANVIL_ENV}={} does not name an existing file", path.display())]
    EnvNotFound { path: PathBuf },
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("anvil ({}) did not report a listening address within {secs} s{}", path.display(), if output.is_empty() { String::new() } else { format!("; it printed:\n{output}") })]
    AnvilStart {
        path: PathBuf,
        secs: u64,
        output: String,
    },
    #[error(
        "the npm package {ANVIL_PACKAGE} has no anvil for {os} on {arch} (it carries {}): install Foundry's anvil (https://getfoundry.sh) and put it on PATH, or set {ANVIL_ENV} to an anvil binary",
        anvil_platform_list()
    )]
    UnsupportedPlatform { os: String, arch: String },
}

/// Environment variables eternalize reads secrets from: the deployer's key and an RPC URL (which
/// may carry an API key). No child process gets them, nor any variable a config's `rpc_url`
/// read a value from (`${VAR}`, see [`keep_from_children`]): anvil and npm run third-party code
/// that needs none of them, and a process's environment is readable from `/proc/PID/environ`.
const SECRET_ENV: [&str; 2] = [crate::engine::signer::KEY_ENV, "ETH_RPC_URL"];

/// Names read from the environment for a secret at run time (a config's `${VAR}`).
static SECRETS_READ: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records that `var` held a secret eternalize used, so children are started without it.
pub fn keep_from_children(var: &str) {
    if let Ok(mut read) = SECRETS_READ.lock()
        && !read.iter().any(|v| v == var)
    {
        read.push(var.to_string());
    }
}

/// `command` without any environment variable eternalize reads a secret from.
pub(crate) fn without_secrets(command: &mut Command) -> &mut Command {
    for var in SECRET_ENV {
        command.env_remove(var);
    }
    if let Ok(read) = SECRETS_READ.lock() {
        for var in read.iter() {
            command.env_remove(var);
        }
    }
    command
}

/// The version `tools/package.json` pins for `package`.
pub fn pinned_version(package: &'static str) -> Result<String, ToolError> {
    let manifest: serde_json::Value =
        serde_json::from_str(PACKAGE_JSON).map_err(|e| ToolError::Manifest {
            package,
            why: e.to_string(),
        })?;
    manifest
        .get("dependencies")
        .and_then(|d| d.get(package))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| ToolError::Manifest {
            package,
            why: "no such dependency".into(),
        })
}

/// A folder holding `package.json` (the pinned one) and, once installed, `node_modules/`.
#[derive(Clone, Debug)]
pub struct Tools {
    dir: PathBuf,
}

impl Tools {
    /// The repository's own `tools/` (tests, scripts).
    pub fn in_repo() -> Tools {
        Tools {
            dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("tools"),
        }
    }

    /// A tools folder anywhere (e.g. the data dir); writes the pinned manifest and lock file into
    /// it when they are absent or differ.
    pub fn at(dir: &Path) -> Result<Tools, ToolError> {
        // Under the data dir, which it may be the first to create: 0700 (src/atomic.rs).
        crate::atomic::private_dir(dir).map_err(|source| ToolError::Io {
            what: "create",
            path: dir.into(),
            source,
        })?;
        for (name, text) in [
            ("package.json", PACKAGE_JSON),
            ("package-lock.json", PACKAGE_LOCK),
        ] {
            let path = dir.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
                std::fs::write(&path, text).map_err(|source| ToolError::Io {
                    what: "write",
                    path,
                    source,
                })?;
            }
        }
        Ok(Tools {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn package_dir(&self, package: &str) -> PathBuf {
        self.dir.join("node_modules").join(package)
    }

    /// Whether `package` is installed at the pinned version.
    fn installed(&self, package: &'static str) -> Result<bool, ToolError> {
        Ok(self.installed_at(package, &pinned_version(package)?))
    }

    /// Whether `package` is installed at `pinned`.
    fn installed_at(&self, package: &str, pinned: &str) -> bool {
        let manifest = self.package_dir(package).join("package.json");
        let Ok(text) = std::fs::read_to_string(manifest) else {
            return false;
        };
        let version = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("version")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            });
        version.as_deref() == Some(pinned)
    }

    /// Whether the pinned anvil (the wrapper and this platform's binary, at the wrapper's
    /// version) and solc-js are installed.
    fn all_installed(&self) -> Result<bool, ToolError> {
        let binary = anvil_binary()?;
        Ok(self.installed(ANVIL_PACKAGE)?
            && self.installed_at(&binary.package, &pinned_version(ANVIL_PACKAGE)?)
            && self.installed(SOLC_PACKAGE)?
            && self.anvil_in_package()?.is_file())
    }

    /// Runs `npm ci` unless every pinned package is already there. Holds an exclusive lock on
    /// `<dir>/.install.lock` meanwhile, so concurrent test processes install once and never see
    /// a half-written `node_modules`. The check itself is made under the lock: a package's
    /// `package.json` lands before its binary is whole, and running a binary npm is still
    /// writing fails with "Text file busy".
    pub fn ensure_installed(&self) -> Result<(), ToolError> {
        let lock_path = self.dir.join(".install.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| ToolError::Io {
                what: "open",
                path: lock_path.clone(),
                source,
            })?;
        lock.lock().map_err(|source| ToolError::Io {
            what: "lock",
            path: lock_path.clone(),
            source,
        })?;
        // Installed already, or by another process while we waited for the lock.
        if self.all_installed()? {
            return Ok(());
        }
        let what = format!(
            "anvil {} and solc-js {}",
            pinned_version(ANVIL_PACKAGE)?,
            pinned_version(SOLC_PACKAGE)?
        );
        let output = without_secrets(&mut Command::new("npm"))
            .args(NPM_CI_ARGS)
            .arg("--prefix")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => ToolError::NpmMissing { what: what.clone() },
                _ => ToolError::Io {
                    what: "run npm in",
                    path: self.dir.clone(),
                    source: e,
                },
            })?;
        if !output.status.success() {
            return Err(ToolError::Install {
                dir: self.dir.clone(),
                status: output.status.to_string(),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            });
        }
        let anvil = self.anvil_in_package()?;
        if !anvil.is_file() {
            return Err(ToolError::StillMissing { path: anvil });
        }
        Ok(())
    }

    /// The pinned anvil in this folder when it is installed (nothing is installed here).
    pub fn installed_anvil(&self) -> Result<Option<PathBuf>, ToolError> {
        Ok(if self.all_installed()? {
            Some(self.anvil_in_package()?)
        } else {
            None
        })
    }

    /// This platform's anvil binary in `node_modules` (the binary itself: the wrapper's
    /// `bin.mjs` would need node to start it).
    fn anvil_in_package(&self) -> Result<PathBuf, ToolError> {
        let binary = anvil_binary()?;
        Ok(self.package_dir(&binary.package).join(binary.path))
    }

    /// The anvil to run: `$ETERNALIZE_ANVIL`, else the pinned package in this folder (installed
    /// on demand), else `anvil` on PATH if installing is impossible because npm is missing.
    pub fn anvil(&self) -> Result<PathBuf, ToolError> {
        if let Some(path) = std::env::var_os(ANVIL_ENV).filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(ToolError::EnvNotFound { path })
            };
        }
        match self.ensure_installed() {
            Ok(()) => self.anvil_in_package(),
            Err(e @ ToolError::NpmMissing { .. }) => on_path("anvil").ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// `node_modules/solc` (installed on demand); run it with [`node`].
    pub fn solc(&self) -> Result<PathBuf, ToolError> {
        self.ensure_installed()?;
        Ok(self.package_dir(SOLC_PACKAGE))
    }
}

/// The program `name` (`name.exe` on Windows) in a folder of PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(&file))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.is_file())
}

/// The `node` binary.
pub fn node() -> Result<PathBuf, ToolError> {
    on_path("node").ok_or(ToolError::NodeMissing)
}

/// A running anvil on a loopback port; killed when dropped.
#[derive(Debug)]
pub struct AnvilProcess {
    child: Child,
    port: u16,
}

/// First and second accounts of anvil's default mnemonic ("test test … junk"): public
/// knowledge, funded with 10,000 ETH on every fresh anvil, worthless anywhere else.
pub const ANVIL_DEV_KEYS: [&str; 2] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
];

impl AnvilProcess {
    /// Starts `anvil` on loopback with `extra` arguments and waits until it listens. anvil binds
    /// a port of its own choosing (`--port 0`) and reports it ("Listening on 127.0.0.1:PORT"), so
    /// no port is probed free and released first for another local program to take in between.
    /// CORS is off: no web page the operator visits may call it.
    pub fn spawn(anvil: &Path, extra: &[&str]) -> Result<AnvilProcess, ToolError> {
        let mut command = Command::new(anvil);
        without_secrets(&mut command)
            .args(["--host", "127.0.0.1", "--port", "0", "--no-cors"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_tied_to_us(command).map_err(|source| ToolError::Io {
            what: "start",
            path: anvil.into(),
            source,
        })?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (report, reported) = mpsc::channel();
        // anvil prints a line per request for as long as it runs: both pipes are read to the
        // end, or it would block once one fills.
        let readers = [
            read_lines(child.stdout.take(), tail.clone(), Some(report)),
            read_lines(child.stderr.take(), tail.clone(), None),
        ];
        let limit = Duration::from_secs(20);
        // An error: the time ran out, or stdout closed (anvil exited) without the line.
        if let Ok(port) = reported.recv_timeout(limit) {
            return Ok(AnvilProcess { child, port });
        }
        let _ = child.kill();
        let _ = child.wait();
        for reader in readers.into_iter().flatten() {
            let _ = reader.join();
        }
        let output = tail
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        Err(ToolError::AnvilStart {
            path: anvil.into(),
            secs: limit.as_secs(),
            output,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops anvil with SIGINT so it writes its `--state` file, waiting up to `grace` before
    /// killing it.
    pub fn stop(mut self, grace: Duration) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid, which is not reaped before this returns.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
            let until = Instant::now() + grace;
            while Instant::now() < until {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Drop kills and reaps it.
    }
}

impl Drop for AnvilProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` in its own process group so that the child gets SIGTERM when this process
/// dies, however it dies (kill -9 included): an anvil must not outlive the eternalize that
/// started it. anvil writes its `--state` file on SIGTERM, so even then the local chain keeps
/// what was mined.
///
/// Linux delivers the parent-death signal when the *thread* that forked the child exits, not the
/// process; so every child is forked by one thread that lives as long as the process (a thread
/// of a TUI job or a test would take its anvil with it when it ends).
fn spawn_tied_to_us(command: Command) -> std::io::Result<Child> {
    use std::sync::OnceLock;
    use std::sync::mpsc::{Sender, channel};
    type Request = (Command, Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Sender<Request>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = channel::<Request>();
        let spawned = std::thread::Builder::new()
            .name("child-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(spawn_with_parent_death_signal(&mut command));
                }
            });
        if let Err(e) = spawned {
            log::warn!("no spawner thread ({e}); children are forked by their caller's thread");
        }
        tx
    });
    let (reply, answer) = channel();
    let sent = spawner.send((command, reply));
    match sent {
        Ok(()) => answer
            .recv()
            .map_err(|_| std::io::Error::other("the child spawner thread is gone"))?,
        // No spawner thread: fork from this one (the signal then follows this thread).
        Err(std::sync::mpsc::SendError((mut command, _))) => {
            spawn_with_parent_death_signal(&mut command)
        }
    }
}

fn spawn_with_parent_death_signal(command: &mut Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: between fork and exec only async-signal-safe calls: prctl, umask, setpgid,
    // getppid.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // What the child writes (anvil's --state) is its owner's only, whatever our umask.
            libc::umask(0o077);
            // Its own process group: a Ctrl-C at the terminal goes to eternalize, which stops
            // the deployment cleanly while the chain keeps running; anvil ends with us.
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody sends the signal,
            // and the child has been re-parented to init or a subreaper.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other(
                    "eternalize exited while starting anvil",
                ));
            }
            Ok(())
        });
    }
    command.spawn()
}

/// The port of anvil's "Listening on 127.0.0.1:PORT" line.
pub fn listening_port(line: &str) -> Option<u16> {
    let at = line.find("Listening on ")?;
    line[at + "Listening on ".len()..]
        .trim()
        .parse::<SocketAddr>()
        .ok()
        .map(|a| a.port())
        .filter(|p| *p != 0)
}

/// Lines kept of anvil's output to explain a failed start.
const TAIL_LINES: usize = 20;

/// Reads `pipe` to its end on a thread of its own, keeping the last lines in `tail`; with `port`,
/// sends it the port of the first "Listening on" line and keeps no lines after it (the start
/// went well; the lines are anvil's log of requests).
fn read_lines(
    pipe: Option<impl std::io::Read + Send + 'static>,
    tail: Arc<Mutex<VecDeque<String>>>,
    mut port: Option<mpsc::Sender<u16>>,
) -> Option<std::thread::JoinHandle<()>> {
    let pipe = pipe?;
    let watching = port.is_some();
    std::thread::Builder::new()
        .name("anvil-output".into())
        .spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line);
                if let Some(p) = port.as_ref().and(listening_port(&text)) {
                    if let Some(tx) = port.take() {
                        let _ = tx.send(p);
                    }
                } else if (!watching || port.is_some())
                    && let Ok(mut t) = tail.lock()
                {
                    if t.len() == TAIL_LINES {
                        t.pop_front();
                    }
                    t.push_back(text.trim_end().to_string());
                }
                line.clear();
            }
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_read_from_anvils_listening_line() {
        assert_eq!(
            listening_port("Listening on 127.0.0.1:41833\n"),
            Some(41833)
        );
        assert_eq!(listening_port("Listening on [::1]:8545"), Some(8545));
        assert_eq!(listening_port("  Listening on 127.0.0.1:1\r\n"), Some(1));
        assert_eq!(listening_port("Listening on 127.0.0.1:0"), None);
        assert_eq!(listening_port("Listening on 127.0.0.1"), None);
        assert_eq!(listening_port("Listening on localhost:8545"), None);
        assert_eq!(listening_port("Private Keys"), None);
        assert_eq!(listening_port(""), None);
    }

    #[test]
    fn each_platform_gets_its_anvil_package_and_binary() {
        let cases = [
            (
                "macos",
                "aarch64",
                "@foundry-rs/anvil-darwin-arm64",
                "bin/anvil",
            ),
            (
                "macos",
                "x86_64",
                "@foundry-rs/anvil-darwin-amd64",
                "bin/anvil",
            ),
            (
                "linux",
                "aarch64",
                "@foundry-rs/anvil-linux-arm64",
                "bin/anvil",
            ),
            (
                "linux",
                "x86_64",
                "@foundry-rs/anvil-linux-amd64",
                "bin/anvil",
            ),
            (
                "windows",
                "x86_64",
                "@foundry-rs/anvil-win32-amd64",
                "bin/anvil.exe",
            ),
        ];
        for (os, arch, package, path) in cases {
            assert_eq!(
                anvil_binary_for(os, arch).unwrap(),
                AnvilBinary {
                    package: package.into(),
                    path
                },
                "{os} {arch}"
            );
        }
        // Every one is an optional dependency of the pinned wrapper in the lock file, at its
        // version.
        let lock: serde_json::Value = serde_json::from_str(PACKAGE_LOCK).unwrap();
        let version = pinned_version(ANVIL_PACKAGE).unwrap();
        let wrapper = &lock["packages"][format!("node_modules/{ANVIL_PACKAGE}")];
        assert_eq!(wrapper["version"], version.as_str(), "{wrapper}");
        for (_, _, package, _) in cases {
            assert_eq!(wrapper["optionalDependencies"][package], version.as_str());
            assert_eq!(
                lock["packages"][format!("node_modules/{package}")]["version"],
                version.as_str(),
                "{package}"
            );
        }
    }

    #[test]
    fn a_platform_without_an_anvil_is_told_what_to_install() {
        for (os, arch) in [
            ("windows", "aarch64"),
            ("freebsd", "x86_64"),
            ("linux", "riscv64"),
        ] {
            let e = anvil_binary_for(os, arch).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "the npm package @foundry-rs/anvil has no anvil for {os} on {arch} (it carries darwin-arm64, darwin-amd64, linux-arm64, linux-amd64, win32-amd64): install Foundry's anvil (https://getfoundry.sh) and put it on PATH, or set ETERNALIZE_ANVIL to an anvil binary"
                )
            );
        }
    }

    #[test]
    fn npm_runs_no_install_script() {
        assert_eq!(NPM_CI_ARGS[0], "ci");
        assert!(NPM_CI_ARGS.contains(&"--ignore-scripts"));
    }

    #[test]
    fn versions_are_pinned_once() {
        for package in [ANVIL_PACKAGE, SOLC_PACKAGE] {
            let v = pinned_version(package).unwrap();
            assert!(
                v.split('.').all(|p| p.parse::<u32>().is_ok()),
                "{package} must be pinned exactly, found {v}"
            );
        }
    }
}
