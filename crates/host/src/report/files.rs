//! Report files: written into `[reports] folder` atomically and privately, and remembered
//! (for "since the last pack").

#[allow(unused_imports)]
use super::*;

/// Write the configured reports (`[reports] kinds`) as of `as_of` into `[reports] folder`
/// and remember them (for "since the last pack"); nothing without a folder. Returns the
/// paths written.
pub fn publish_files(
    store: &mut dyn Store,
    config: &crate::config::Config,
    as_of: &str,
) -> Result<Vec<std::path::PathBuf>, Error> {
    if config.reports.folder.is_none() {
        return Ok(Vec::new());
    }
    let mut written = Vec::new();
    for kind in &config.reports.kinds {
        written.extend(file_report(store, config, *kind, as_of)?.1);
    }
    Ok(written)
}

/// Build one report; with `[reports] folder`, write it there and remember it. Returns the
/// report and the paths written (none without a folder).
pub fn file_report(
    store: &mut dyn Store,
    config: &crate::config::Config,
    kind: ReportKind,
    as_of: &str,
) -> Result<(Report, Vec<std::path::PathBuf>), Error> {
    let report = build(&*store, kind, as_of, config)?;
    let Some(folder) = &config.reports.folder else {
        return Ok((report, Vec::new()));
    };
    let folder = config.base_dir.join(folder);
    let written = write_folder(&report, &folder).map_err(|e| {
        Error::runtime(anyhow::anyhow!(
            "cannot write the {} report into {} (reports.folder): {e}",
            kind.as_str(),
            folder.display()
        ))
    })?;
    remember(store, kind.as_str(), as_of)?;
    Ok((report, written))
}

/// Write a report into `folder` as `{kind}-{as_of}.html`, `.md` and `.json`, and its tables
/// as CSV files in `{kind}-{as_of}-csv/`; returns the paths written.
pub fn write_folder(
    report: &Report,
    folder: &std::path::Path,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    let stem = format!("{}-{}", report.kind, report.as_of);
    let csv_dir = folder.join(format!("{stem}-csv"));
    tollgate_store::files::create_private_dir_all(folder)?;
    tollgate_store::files::remove_stale_temporaries(folder);
    let mut written = Vec::new();
    // Each written as it is made: at 10,000 initiatives each is ~25 MB, which the daemon's
    // report step held whole on top of the pack.
    for ext in ["html", "md", "json"] {
        let path = folder.join(format!("{stem}.{ext}"));
        tollgate_store::files::write_atomically_with(&path, |out| match ext {
            "html" => write_html(report, out),
            "md" => write_markdown(report, out),
            _ => {
                serde_json::to_writer_pretty(&mut *out, report)?;
                out.write_all(b"\n")
            }
        })?;
        written.push(path);
        // What writing this one freed (the HTML's charts drew on a canvas of up to 16 MB)
        // goes back before the next is written, instead of lying under it.
        crate::memory::give_back_freed();
    }
    written.extend(write_tables(report, &csv_dir)?);
    Ok(written)
}

/// Each table of a report as `{table}.csv` in `dir` (created if missing); returns the paths.
pub fn write_tables(
    report: &Report,
    dir: &std::path::Path,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    tollgate_store::files::create_private_dir_all(dir)?;
    tollgate_store::files::remove_stale_temporaries(dir);
    let mut written = Vec::new();
    for t in &report.tables {
        let path = dir.join(format!("{}.csv", t.name));
        tollgate_store::files::write_atomically_with(&path, |out| write_csv(t, out))?;
        written.push(path);
    }
    Ok(written)
}

/// Record that a pack was made now (for "since the last pack").
pub fn remember(store: &mut dyn Store, kind: &str, as_of: &str) -> Result<(), Error> {
    store.record_report(kind, as_of, &crate::clock::now())?;
    Ok(())
}
