//! Writing files so that a reader never sees half of one: write a temporary file in the same
//! folder, flush it to disk, then rename it over the target.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

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
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        let value = fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
