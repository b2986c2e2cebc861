//! The HR and finance CSV plugin: people, teams, allocations, cost rates, timesheets,
//! finance, business cases and gate decisions from files in one read-only directory.
//!
//! Files come as spreadsheets export them: comma, semicolon or tab separated; UTF-8 with or
//! without BOM, or Windows-1252; decimal commas and thousands separators; dates as
//! `YYYY-MM-DD`, `DD.MM.YYYY` or `D.M.YYYY`; header names in any case, with other names
//! mapped in the settings. A bad row is reported with file, line, column and reason, and the
//! good rows are kept; a header that cannot be understood rejects the file and lists the
//! expected columns. A file that did not change since the last run is not read again; a file
//! that changed is read whole (a snapshot), so rows removed from it are marked deleted.
//! See docs/hr-csv.md.

#![warn(missing_docs)]

pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod read;
pub mod values;

use files::{FILES, Settings};
use read::{Position, read_page};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tollgate_plugin_api::{
    Capability, Diagnostic, Page, Plugin, PluginError, PluginInfo, PullRequest, Severity, paging,
};

/// Where the host mounts the configured directory.
const DATA: &str = "/data";

/// Size and modification time: how the plugin tells a file changed without reading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    modified_ns: u64,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    stamp: Stamp,
    position: Position,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Checkpoint {
    /// `None`: the file was absent.
    stamp: Option<Stamp>,
}

fn stamp(path: &str) -> Result<Option<Stamp>, PluginError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(Stamp {
            size: m.len(),
            modified_ns: m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as u64),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PluginError::Config(format!("cannot read {path}: {e}"))),
    }
}

fn diagnostic(severity: Severity, code: &str, message: String, location: String) -> Diagnostic {
    Diagnostic {
        severity,
        code: code.to_string(),
        message,
        location: Some(location),
    }
}

struct HrCsv;

impl Plugin for HrCsv {
    fn describe() -> PluginInfo {
        let streams: Vec<&str> = FILES.iter().map(|f| f.stream).collect();
        tollgate_plugin_api::info(
            "hr-csv",
            env!("CARGO_PKG_VERSION"),
            "HR and finance CSV files: people, teams, allocations, rates, timesheets, budgets",
        )
        .capabilities(&[Capability::Pull])
        .streams(&streams)
        .data_dir()
        .settings_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "columns": {
                    "type": "object",
                    "description": "Per file, canonical column -> the header used in the file",
                    "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}}
                },
                "initiative_aliases": {"type": "object", "additionalProperties": {"type": "string"}},
                "initiative_key_prefix": {"type": "string"},
                "person_aliases": {"type": "object", "additionalProperties": {"type": "string"}},
                "default_currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "rates_in_percent": {"type": "boolean"}
            }
        }))
        .build()
    }

    fn check(settings: String) -> Result<String, PluginError> {
        let settings: Settings = tollgate_plugin_api::settings(&settings)?;
        std::fs::read_dir(DATA).map_err(|e| {
            PluginError::Config(format!(
                "cannot read the data directory (is `data_dir` set for this connection?): {e}"
            ))
        })?;
        let mut present = Vec::new();
        let mut problems = Vec::new();
        for spec in FILES {
            let path = format!("{DATA}/{}", spec.file);
            let Ok(file) = std::fs::File::open(&path) else {
                continue;
            };
            match read_page(spec, &settings, file, None, 0, None) {
                Ok(_) => present.push(spec.file),
                Err(e) => problems.push(format!("{}: {e}", spec.file)),
            }
        }
        if !problems.is_empty() {
            return Err(PluginError::Config(problems.join("; ")));
        }
        Ok(format!(
            "{} of {} known files present, headers understood{}",
            present.len(),
            FILES.len(),
            if present.is_empty() {
                String::new()
            } else {
                format!(": {}", present.join(", "))
            }
        ))
    }

    fn pull(request: PullRequest) -> Result<Page, PluginError> {
        let settings: Settings = tollgate_plugin_api::settings(&request.settings)?;
        let Some(spec) = files::by_stream(&request.stream) else {
            return Err(tollgate_plugin_api::unknown_stream(
                &request.stream,
                &Self::describe().streams,
            ));
        };
        let path = format!("{DATA}/{}", spec.file);
        let current = stamp(&path)?;
        let previous: Option<Checkpoint> = paging::decode(request.checkpoint.as_deref())?;
        let cursor: Option<Cursor> = paging::decode(request.cursor.as_deref())?;
        let mut page = Page::default();
        let Some(current) = current else {
            // Absent: nothing to read. If it was there before, its records go.
            if previous.as_ref().is_some_and(|p| p.stamp.is_some()) {
                page.snapshot = true;
                page.diagnostics.push(diagnostic(
                    Severity::Warning,
                    "file-removed",
                    format!("{} is gone; its records are marked deleted", spec.file),
                    spec.file.to_string(),
                ));
            }
            page.checkpoint = Some(paging::encode(&Checkpoint { stamp: None }));
            return Ok(page);
        };
        let start = match cursor {
            Some(c) if c.stamp == current => Some(c.position),
            Some(_) => {
                tollgate_plugin_api::log::warn(
                    "file changed while it was being read; reading it again from the start",
                    &[("file", spec.file)],
                );
                None
            }
            None if previous.as_ref().and_then(|p| p.stamp.as_ref()) == Some(&current) => {
                // Unchanged since the last completed run: not read again.
                page.checkpoint = request.checkpoint.clone();
                return Ok(page);
            }
            None => None,
        };
        let file = std::fs::File::open(&path)
            .map_err(|e| PluginError::Config(format!("cannot open {path}: {e}")))?;
        let page_size = (request.page_size as usize).clamp(1, 10_000);
        // Timesheets and allocations name people: check them against people.csv if present.
        let known_people = match spec.stream {
            "timesheets" | "allocations" => std::fs::File::open(format!("{DATA}/people.csv"))
                .ok()
                .map(|f| read::person_ids(&settings, std::io::BufReader::new(f))),
            _ => None,
        };
        match read_page(
            spec,
            &settings,
            std::io::BufReader::new(file),
            start,
            page_size,
            known_people.as_ref(),
        ) {
            Err(reason) => {
                // The whole file is rejected; what is stored stays, and the next run reads it
                // again (the checkpoint does not move).
                page.diagnostics.push(diagnostic(
                    Severity::Error,
                    "rejected-file",
                    format!("{} rejected: {reason}", spec.file),
                    spec.file.to_string(),
                ));
                page.checkpoint = request.checkpoint.clone();
            }
            Ok(read) => {
                page.records = read
                    .records
                    .into_iter()
                    .map(|(id, entity)| tollgate_plugin_api::record(id, entity))
                    .collect();
                page.diagnostics = read
                    .rejected
                    .into_iter()
                    .map(|r| diagnostic(Severity::Error, "rejected-row", r.reason, r.location))
                    .chain(read.warnings.into_iter().map(|w| {
                        diagnostic(Severity::Warning, "unknown-person", w.reason, w.location)
                    }))
                    .collect();
                page.next_cursor = read.next.map(|position| {
                    paging::encode(&Cursor {
                        stamp: current.clone(),
                        position,
                    })
                });
                page.checkpoint = Some(paging::encode(&Checkpoint {
                    stamp: Some(current),
                }));
                page.snapshot = true;
            }
        }
        Ok(page)
    }
}

tollgate_plugin_api::export_plugin!(HrCsv);
