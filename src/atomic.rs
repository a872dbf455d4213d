//! How files reach the disk. Atomically: a temporary file in the target's folder, flushed to
//! disk, then renamed over the target, so a reader never sees half of one. Privately: the data
//! dir's folders are 0700 and its journals and logs 0600, whatever the umask.
//!
//! The temporary file has a random name and is created with `create_new` (`O_EXCL`): a file or
//! symlink planted at that name makes the creation fail instead of being followed. After the
//! rename the folder is synced, so the new name survives a crash too.
//!
//! Owns: creating, syncing and renaming files and folders, and their permissions. Must not
//! touch: what the files hold.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `path` atomically with what `fill` writes; on any error the target is untouched and
/// the temporary file removed.
pub fn write<T>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<T>,
) -> io::Result<T> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::env::current_dir()?,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let (tmp, file) = create_temp(&dir, &name)?;
    let result = (|| {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let value = fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(&dir)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new file `.NAME.RANDOM.tmp` in `dir`, created exclusively (never an existing file or a
/// symlink's target).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..16 {
        let tmp = dir.join(format!(".{name}.{:016x}.tmp", random()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// An anonymous scratch file: created exclusively in the system's temporary folder, readable
/// only by this user, and unlinked at once, so it holds data only while the handle lives and
/// nothing is left behind by a crash. For data too large to keep in memory (a compressed zip
/// entry expanded to be read in parts).
pub fn scratch() -> io::Result<File> {
    let dir = std::env::temp_dir();
    let mut last = None;
    for _ in 0..16 {
        let tmp = dir.join(format!(".eternalize.{:016x}.scratch", random()));
        let mut o = OpenOptions::new();
        o.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        match o.open(&tmp) {
            Ok(file) => {
                // Windows cannot unlink an open file; there it stays until the next reboot's
                // cleanup of the temporary folder.
                let _ = std::fs::remove_file(&tmp);
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// 64 unpredictable bits: std's `RandomState` keys come from the operating system's random
/// source; the counter and the clock make successive names differ within a thread.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// Flushes a folder's entries (a rename, a new file) to disk. Windows cannot open a folder as
/// a file; there NTFS journals renames itself, so nothing is done.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` (and missing parents) readable by its owner only; an existing `dir` made
/// before this rule (0755) is closed too. Parents that already exist are left as they are.
/// On Windows a user's data folder is private by its ACL; nothing is changed there.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        if std::fs::metadata(dir)?.permissions().mode() & 0o777 != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Opens `path` for appending, readable and writable by its owner only (an existing file made
/// before this rule is closed too). Returns whether the file was created.
pub fn open_private_append(path: &Path) -> io::Result<(File, bool)> {
    let mut new = OpenOptions::new();
    new.append(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut new, 0o600);
    match new.open(path) {
        Ok(file) => Ok((file, true)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let file = OpenOptions::new().append(true).open(path)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if file.metadata()?.permissions().mode() & 0o777 != 0o600 {
                    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                }
            }
            Ok((file, false))
        }
        Err(e) => Err(e),
    }
}

/// Writes all of `bytes` to stdout, flushing at the end.
pub fn to_stdout<T>(
    fill: impl FnOnce(&mut BufWriter<io::StdoutLock<'static>>) -> io::Result<T>,
) -> io::Result<T> {
    let mut w = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let v = fill(&mut w)?;
    w.flush()?;
    Ok(v)
}
