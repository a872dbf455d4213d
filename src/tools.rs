//! External tools eternalize runs: anvil (the local chain) and solc-js (compiles `contracts/`).
//! Both are npm packages pinned in `tools/package.json` — the one place their versions live —
//! and installed with `npm ci` into `<tools dir>/node_modules` when missing.
//!
//! Owns: finding the tools, installing them (safely from several processes at once), and
//! running an anvil process that dies with its handle. Must not touch: the chain's contents.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The pinned manifest and lock file, embedded so a binary can install the tools anywhere.
pub const PACKAGE_JSON: &str = include_str!("../tools/package.json");
pub const PACKAGE_LOCK: &str = include_str!("../tools/package-lock.json");

/// npm package of anvil for this platform.
pub const ANVIL_PACKAGE: &str = "@foundry-rs/anvil-linux-amd64";
/// npm package of solc-js.
pub const SOLC_PACKAGE: &str = "solc";
/// Environment variable naming an anvil binary to use instead of the pinned one.
pub const ANVIL_ENV: &str = "ETERNALIZE_ANVIL";

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
    #[error("`npm ci --prefix {}` failed ({status}):\n{output}", dir.display())]
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
    #[error("anvil ({}) did not answer on 127.0.0.1:{port} within {secs} s{}", path.display(), if output.is_empty() { String::new() } else { format!("; it printed:\n{output}") })]
    AnvilStart {
        path: PathBuf,
        port: u16,
        secs: u64,
        output: String,
    },
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
        std::fs::create_dir_all(dir).map_err(|source| ToolError::Io {
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
        let pinned = pinned_version(package)?;
        let manifest = self.package_dir(package).join("package.json");
        let Ok(text) = std::fs::read_to_string(manifest) else {
            return Ok(false);
        };
        let version = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("version")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            });
        Ok(version.as_deref() == Some(pinned.as_str()))
    }

    /// Runs `npm ci` unless every pinned package is already there. Holds an exclusive lock on
    /// `<dir>/.install.lock` meanwhile, so concurrent test processes install once and never see
    /// a half-written `node_modules`.
    pub fn ensure_installed(&self) -> Result<(), ToolError> {
        let all_there = |t: &Tools| -> Result<bool, ToolError> {
            Ok(t.installed(ANVIL_PACKAGE)?
                && t.installed(SOLC_PACKAGE)?
                && t.anvil_in_package().is_file())
        };
        if all_there(self)? {
            return Ok(());
        }
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
        // Another process may have finished installing while we waited for the lock.
        if all_there(self)? {
            return Ok(());
        }
        let what = format!(
            "anvil {} and solc-js {}",
            pinned_version(ANVIL_PACKAGE)?,
            pinned_version(SOLC_PACKAGE)?
        );
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
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
        let anvil = self.anvil_in_package();
        if !anvil.is_file() {
            return Err(ToolError::StillMissing { path: anvil });
        }
        Ok(())
    }

    /// The pinned anvil in this folder when it is installed (nothing is installed here).
    pub fn installed_anvil(&self) -> Result<Option<PathBuf>, ToolError> {
        let anvil = self.anvil_in_package();
        Ok(
            (self.installed(ANVIL_PACKAGE)? && self.installed(SOLC_PACKAGE)? && anvil.is_file())
                .then_some(anvil),
        )
    }

    fn anvil_in_package(&self) -> PathBuf {
        self.package_dir(ANVIL_PACKAGE).join("bin").join("anvil")
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
            Ok(()) => Ok(self.anvil_in_package()),
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

/// `name` in a folder of PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
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
    /// Starts `anvil` on a free loopback port with `extra` arguments and waits until it accepts
    /// connections.
    pub fn spawn(anvil: &Path, extra: &[&str]) -> Result<AnvilProcess, ToolError> {
        let mut last = None;
        // A free port can be taken between probing and anvil binding it: try a few.
        for _ in 0..3 {
            let port = free_port().map_err(|source| ToolError::Io {
                what: "find a free port for",
                path: anvil.into(),
                source,
            })?;
            let mut command = Command::new(anvil);
            command
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = spawn_tied_to_us(command).map_err(|source| ToolError::Io {
                what: "start",
                path: anvil.into(),
                source,
            })?;
            let started = Instant::now();
            let limit = Duration::from_secs(20);
            while started.elapsed() < limit {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
                if TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_ok() {
                    // anvil prints a banner; nobody reads it, so stop the pipe from filling.
                    drain(child.stdout.take());
                    drain(child.stderr.take());
                    return Ok(AnvilProcess { child, port });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let output = child
                .wait_with_output()
                .map(|o| {
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    )
                })
                .unwrap_or_default();
            let tail: String = output
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            last = Some(ToolError::AnvilStart {
                path: anvil.into(),
                port,
                secs: limit.as_secs(),
                output: tail,
            });
        }
        Err(last.unwrap_or_else(|| ToolError::AnvilStart {
            path: anvil.into(),
            port: 0,
            secs: 0,
            output: String::new(),
        }))
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
    // SAFETY: between fork and exec only async-signal-safe calls: prctl, setpgid, getppid.
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

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn drain(pipe: Option<impl std::io::Read + Send + 'static>) {
    if let Some(pipe) = pipe {
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                line.clear();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
