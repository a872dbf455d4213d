//! The deployment journal: an append-only, fsync'd record of everything a deployment intends
//! and everything that happened, so that a deployment killed at any instant can be resumed
//! without sending anything twice.
//!
//! One file per deployment, `<data dir>/deployments/<id>.jsonl`, keyed by model hash, chain id
//! and deployer. Every *intent* (nonce, transaction hash, purpose, the signed transaction) is
//! written and synced **before** the transaction is broadcast; every *outcome* after. A crash
//! while writing leaves at most a partial last line, which reading ignores.
//!
//! Owns: the file format and its durability. Must not touch: the chain, keys (a journal never
//! holds a secret: signed transactions are public once broadcast, and nothing else is kept).

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where eternalize keeps its data: `ETERNALIZE_DATA_DIR`, else the platform data dir
/// (Linux: `~/.local/share/eternalize`).
pub fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ETERNALIZE_DATA_DIR") {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("", "", "eternalize")
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".eternalize"))
}

/// Identifies a deployment: the same model on the same chain by the same deployer is the same
/// deployment, whatever the file or the RPC endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentKey {
    /// `hashed_model` of the bundle (128 hex digits).
    pub model_hash: String,
    pub chain_id: u64,
    /// `0x…` address of the deployer.
    pub deployer: String,
}

impl DeploymentKey {
    /// File-name-safe id: first 16 hex digits of the hash, chain id, deployer.
    pub fn id(&self) -> String {
        let hash: String = self.model_hash.chars().take(16).collect();
        let who = self.deployer.trim_start_matches("0x").to_ascii_lowercase();
        format!("{hash}-{}-{who}", self.chain_id)
    }
}

/// What a transaction is for: the deployment [`Step`](crate::chain::Step), recorded as it is.
pub use crate::chain::Step as Purpose;
use crate::chain::WeightFormat;

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Mined {
        block: u64,
        gas_used: u64,
    },
    Reverted {
        block: u64,
        gas_used: u64,
        reason: String,
    },
    /// Gone from the node's pool without a receipt; its nonce is free again.
    Dropped,
    /// Another transaction with the same nonce was mined instead.
    Replaced {
        by: String,
    },
}

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// First line: what is being deployed where.
    Started {
        key: DeploymentKey,
        /// The bundle or model file, for `resume` to re-read.
        source: String,
        /// Network name and RPC host with any secret in the URL redacted.
        network: String,
        /// On-chain weight format (written as the contracts name it, `INT32_SHIFTED` or
        /// `Q32_32`; an unknown one makes the journal unreadable, naming the value).
        format: WeightFormat,
        /// Model contract address, known before it is created (CREATE2).
        model_address: String,
        unix_time: u64,
        /// Bytes per weight chunk (absent in journals that predate it: the default size).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chunk_bytes: Option<usize>,
    },
    /// Written and synced before broadcasting.
    Intent {
        purpose: Purpose,
        nonce: u64,
        tx_hash: String,
        /// The signed transaction (0x…), so a dropped one can be re-broadcast as it was.
        raw: String,
    },
    Outcome {
        tx_hash: String,
        outcome: Outcome,
    },
    /// The model is ready on chain.
    Finished {
        model_address: String,
        unix_time: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "journal {} is in use by another eternalize ({}): wait for it to finish or stop it, then resume",
        path.display(),
        holder.map_or("a process that did not say which".into(), |p| format!("process {p}"))
    )]
    Locked { path: PathBuf, holder: Option<u32> },
    #[error("journal {}, line {line}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// An open journal, appending, with its lock held: one process at a time appends to it.
pub struct Journal {
    path: PathBuf,
    file: File,
}

pub fn deployments_dir(data: &Path) -> PathBuf {
    data.join("deployments")
}

/// `<journal>.lock`: the process id of whoever holds the journal, for the next one's message.
fn holder_path(journal: &Path) -> PathBuf {
    let mut p = journal.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Takes the journal's exclusive lock without waiting; `false` when another holds it.
///
/// Unix: `flock(2)`, which belongs to the open file description: a second open, even in this
/// process, is refused, and the kernel releases it when the holder exits however it exits
/// (kill -9 included). Elsewhere nothing is locked: Windows' byte-range locks are mandatory and
/// would stop the TUI from reading a journal that is being written, so there two processes
/// deploying the same model at once could interleave their lines (each line stays whole).
fn try_lock(file: &File) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this `File` owns and keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            Ok(false)
        } else {
            Err(e)
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(true)
    }
}

impl Journal {
    /// Opens (creating if needed) the journal of `key` under `data`, and locks it: while this
    /// lives, another open of it fails with [`JournalError::Locked`] naming this process.
    /// Folders are created 0700 and the journal 0600; a new journal's folder is synced.
    pub fn open(data: &Path, key: &DeploymentKey) -> Result<Journal, JournalError> {
        let dir = deployments_dir(data);
        let path = dir.join(format!("{}.jsonl", key.id()));
        let io_err = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        crate::atomic::private_dir(&dir).map_err(io_err)?;
        let (file, created) = crate::atomic::open_private_append(&path).map_err(io_err)?;
        if !try_lock(&file).map_err(io_err)? {
            let holder = std::fs::read_to_string(holder_path(&path))
                .ok()
                .and_then(|t| t.trim().parse().ok());
            return Err(JournalError::Locked { path, holder });
        }
        if created {
            crate::atomic::sync_dir(&dir).map_err(io_err)?;
        }
        let pid = std::process::id();
        crate::atomic::write(&holder_path(&path), |w| writeln!(w, "{pid}")).map_err(io_err)?;
        Ok(Journal { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and syncs it to disk before returning.
    pub fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(entry).map_err(|e| JournalError::Io {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        line.push(b'\n');
        let io_err = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&line).map_err(io_err)?;
        self.file.sync_data().map_err(io_err)?;
        #[cfg(feature = "test-hooks")]
        crash_hook();
        Ok(())
    }
}

impl Drop for Journal {
    /// Removes the holder's note while the lock is still held (the file closes after this).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(holder_path(&self.path));
    }
}

/// Test hook: `ETERNALIZE_TEST_CRASH_AFTER=<n>` kills the process with SIGKILL right after its
/// n-th journal append is on disk (no destructors, no flushing: exactly `kill -9`). The crash
/// tests use it to stop a deployment at a chosen point — after an intent and before its
/// broadcast, after an outcome — and then check that `resume` finishes without duplicates.
/// Only in builds with the `test-hooks` feature (`cargo test` turns it on, see Cargo.toml): a
/// release binary cannot be killed through its environment.
#[cfg(feature = "test-hooks")]
fn crash_hook() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static APPENDS: AtomicU64 = AtomicU64::new(0);
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let limit = LIMIT.get_or_init(|| {
        std::env::var("ETERNALIZE_TEST_CRASH_AFTER")
            .ok()
            .and_then(|v| v.trim().parse().ok())
    });
    if let Some(n) = *limit
        && APPENDS.fetch_add(1, Ordering::SeqCst) + 1 == n
    {
        // SAFETY: getpid and kill have no preconditions; SIGKILL does not return.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// Reads every complete entry of a journal file. A partial last line (a crash mid-write) is
/// ignored; a damaged line elsewhere is an error naming it.
pub fn read(path: &Path) -> Result<Vec<Entry>, JournalError> {
    let bytes = std::fs::read(path).map_err(|source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let complete = bytes.last().is_none_or(|b| *b == b'\n');
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(line) {
            Ok(e) => out.push(e),
            Err(_) if i == lines.len() - 1 && !complete => break,
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// A deployment found in the data dir.
#[derive(Clone, Debug)]
pub struct Summary {
    pub id: String,
    pub path: PathBuf,
    pub key: Option<DeploymentKey>,
    pub source: Option<String>,
    pub network: Option<String>,
    pub model_address: Option<String>,
    pub finished: bool,
    pub transactions: usize,
    pub chunks_done: usize,
}

/// Every journal under `data`, newest first.
pub fn list(data: &Path) -> Result<Vec<Summary>, JournalError> {
    let dir = deployments_dir(data);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(JournalError::Io { path: dir, source }),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("jsonl") {
            continue;
        }
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entries = read(&path)?;
        let mut s = Summary {
            id,
            path: path.clone(),
            key: None,
            source: None,
            network: None,
            model_address: None,
            finished: false,
            transactions: 0,
            chunks_done: 0,
        };
        let mut chunk_tx = std::collections::HashMap::new();
        for entry in entries {
            match entry {
                Entry::Started {
                    key,
                    source,
                    network,
                    model_address,
                    ..
                } => {
                    s.key = Some(key);
                    s.source = Some(source);
                    s.network = Some(network);
                    s.model_address = Some(model_address);
                }
                Entry::Intent {
                    purpose, tx_hash, ..
                } => {
                    s.transactions += 1;
                    if let Purpose::Chunk { index } = purpose {
                        chunk_tx.insert(tx_hash, index);
                    }
                }
                Entry::Outcome {
                    tx_hash,
                    outcome: Outcome::Mined { .. },
                } => {
                    if chunk_tx.contains_key(&tx_hash) {
                        s.chunks_done += 1;
                    }
                }
                Entry::Outcome { .. } => {}
                Entry::Finished { .. } => s.finished = true,
            }
        }
        out.push((e.metadata().and_then(|m| m.modified()).ok(), s));
    }
    out.sort_by_key(|e| std::cmp::Reverse(e.0));
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_weight_format_names_the_journal_and_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut line = serde_json::to_value(Entry::Started {
            key: key(),
            source: "m.keras".into(),
            network: "local".into(),
            format: WeightFormat::Compact,
            model_address: "0x0000000000000000000000000000000000000001".into(),
            unix_time: 1,
            chunk_bytes: None,
        })
        .unwrap();
        assert_eq!(line["format"], "INT32_SHIFTED");
        line["format"] = "int9".into();
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains("line 1"), "{e}");
        assert!(e.contains("unknown weight format `int9`"), "{e}");
    }

    fn key() -> DeploymentKey {
        DeploymentKey {
            model_hash: "ab".repeat(64),
            chain_id: 31337,
            deployer: "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
        }
    }

    #[test]
    fn appends_reads_and_survives_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), &key()).unwrap();
        let intent = Entry::Intent {
            purpose: Purpose::Chunk { index: 3 },
            nonce: 7,
            tx_hash: "0x01".into(),
            raw: "0xf8".into(),
        };
        j.append(&intent).unwrap();
        j.append(&Entry::Outcome {
            tx_hash: "0x01".into(),
            outcome: Outcome::Mined {
                block: 5,
                gas_used: 21000,
            },
        })
        .unwrap();
        let path = j.path().to_path_buf();
        assert!(
            path.ends_with("abababababababab-31337-f39fd6e51aad88f6f4ce6ab8827279cfffb92266.jsonl")
        );
        // A crash in the middle of the next write.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"kind\":\"intent\",\"pur")
            .unwrap();
        let entries = read(&path).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], intent);
        let listed = list(dir.path()).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (
                listed[0].transactions,
                listed[0].chunks_done,
                listed[0].finished
            ),
            (1, 1, false)
        );
    }

    #[test]
    fn a_damaged_line_in_the_middle_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), &key()).unwrap();
        std::fs::write(
            j.path(),
            "{\"kind\":\"finished\",\"model_address\":\"0x1\",\"unix_time\":1}\nnot json\n{}\n",
        )
        .unwrap();
        let err = read(j.path()).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
