//! The TUI's log: lines appended to a file under the data dir, never written to the screen
//! while the TUI owns it. `ETERNALIZE_LOG=debug` (or `warn`, `error`, `off`) sets the level;
//! the default is `info`.

use log::{LevelFilter, Log, Metadata, Record};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

struct FileLog {
    file: Mutex<File>,
    level: LevelFilter,
}

impl Log for FileLog {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= self.level
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(f, "{t:.3} {:<5} {}: {}", r.level(), r.target(), r.args());
        }
    }

    fn flush(&self) {
        if let Ok(mut f) = self.file.lock() {
            let _ = f.flush();
        }
    }
}

/// The log file at `path`, appending: its folder created 0700, the file 0600 (a log names
/// files, networks and addresses — never a secret, but nobody else's business either).
fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::atomic::private_dir(dir)?;
    }
    Ok(crate::atomic::open_private_append(path)?.0)
}

/// Starts logging to `path` (its folder is created). Fails only if the file cannot be opened;
/// a second call in the same process keeps the first logger.
pub fn init(path: &Path) -> std::io::Result<()> {
    let file = open(path)?;
    let level = std::env::var("ETERNALIZE_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(LevelFilter::Info);
    let logger = Box::new(FileLog {
        file: Mutex::new(file),
        level,
    });
    if log::set_boxed_logger(logger).is_ok() {
        log::set_max_level(level);
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_log_and_its_folder_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("logs").join("tui.log");
        super::open(&path).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // One an older eternalize left open is closed.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::open(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
