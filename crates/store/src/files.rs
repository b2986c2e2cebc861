//! Files that hold the organisation's data (the store, reports, the demo's secrets) are made
//! for their owner only: files 0600, directories 0700 (on Unix; elsewhere the platform's
//! defaults). Reports are written through a temporary file and a rename, so a reader never
//! sees half of one, and temporaries a killed writer left behind are removed.

use std::io::Write as _;
use std::path::Path;

/// Create `dir` and its missing parents, each new one readable by the owner only.
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Write `bytes` to `path`, creating it readable by the owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    private_options().open(path)?.write_all(bytes)
}

/// Create an empty `path` readable by the owner only, unless it exists.
pub fn touch_private(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = private_options();
    options.truncate(false);
    options.open(path).map(drop)
}

/// Write via a temporary file and a rename, so a reader never sees half a file. The temporary
/// name is the file's own plus this process and a counter (`.NAME.PID.N.tmp`), so two writers
/// (a job and an API call) never share one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, |out| out.write_all(bytes))
}

/// [`write_atomically`] what `write` writes, through a buffer, as it is made: a file of many
/// megabytes need not be held whole first. An error of `write` leaves `path` as it was.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = private_options()
        .open(&tmp)
        .and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            write(&mut out)?;
            out.into_inner()
                .map_err(std::io::IntoInnerError::into_error)?;
            Ok(())
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Remove the temporaries of [`write_atomically`] in `dir` that a killed writer left behind:
/// those of a process that no longer runs, or older than an hour. Returns how many.
pub fn remove_stale_temporaries(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = temporary_pid(&name) else {
            continue;
        };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(3600));
        let gone = pid != std::process::id() && !process_runs(pid);
        if (old || gone) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(dir = %dir.display(), removed, "removed temporary files a stopped writer left behind");
    }
    removed
}

/// The process id in a temporary's name `.NAME.PID.N.tmp`.
fn temporary_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = rest.rsplitn(3, '.');
    let n = parts.next()?;
    let pid = parts.next()?;
    parts.next()?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether a process with this id runs (Linux: its /proc entry exists). Elsewhere we cannot
/// tell cheaply, so it is assumed to run and only age removes its temporaries.
fn process_runs(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        proc.join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_of_dead_writers_go_and_the_rest_stay() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        // A pid far above Linux's maximum (4194304) never runs.
        std::fs::write(p.join(".steering-2026-11-27.html.99999999.0.tmp"), b"").unwrap();
        std::fs::write(
            p.join(format!(".live.md.{}.3.tmp", std::process::id())),
            b"",
        )
        .unwrap();
        std::fs::write(p.join("steering-2026-11-27.html"), b"<html>").unwrap();
        std::fs::write(p.join(".hidden.tmp"), b"").unwrap();
        assert_eq!(remove_stale_temporaries(p), 1);
        let mut left: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".hidden.tmp".to_string(),
                format!(".live.md.{}.3.tmp", std::process::id()),
                "steering-2026-11-27.html".to_string()
            ]
        );
    }

    #[test]
    fn a_file_written_as_it_is_made_replaces_the_old_one_only_when_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("steering.html");
        std::fs::write(&file, b"last night's").unwrap();
        let e = write_atomically_with(&file, |out| {
            out.write_all(b"half a page")?;
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull))
        })
        .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::StorageFull);
        assert_eq!(std::fs::read(&file).unwrap(), b"last night's");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left behind"
        );
        write_atomically_with(&file, |out| {
            for _ in 0..10_000 {
                out.write_all(b"0123456789")?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(std::fs::read(&file).unwrap().len(), 100_000);
    }

    #[cfg(unix)]
    #[test]
    fn files_and_directories_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_private_dir_all(&sub).unwrap();
        let file = sub.join("report.html");
        write_atomically(&file, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }
}
