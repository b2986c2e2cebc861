//! The HR and finance CSV plugin: people, teams, allocations, cost rates, timesheets,
//! finance, business cases and gate decisions from files in one read-only directory.
//!
//! This version implements `describe` and `check` (which files are present). Parsing the
//! files lands with the HR/finance CSV issue; until then `pull` answers `unsupported`.

use serde::Deserialize;
use serde_json::json;
use tollgate_plugin_api::{Capability, Page, Plugin, PluginError, PluginInfo, PullRequest};

/// Where the host mounts the configured directory.
const DATA: &str = "/data";

/// The files the plugin understands, each optional.
const FILES: &[&str] = &[
    "people.csv",
    "teams.csv",
    "allocations.csv",
    "timesheets.csv",
    "finance.csv",
    "business-cases.csv",
    "gate-decisions.csv",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Settings {}

struct HrCsv;

impl Plugin for HrCsv {
    fn describe() -> PluginInfo {
        tollgate_plugin_api::info(
            "hr-csv",
            env!("CARGO_PKG_VERSION"),
            "HR and finance CSV files: people, teams, allocations, rates, timesheets, budgets",
        )
        .capabilities(&[Capability::Pull])
        .data_dir()
        .settings_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {}
        }))
        .build()
    }

    fn check(settings: String) -> Result<String, PluginError> {
        let _: Settings = tollgate_plugin_api::settings(&settings)?;
        let entries = std::fs::read_dir(DATA).map_err(|e| {
            PluginError::Config(format!(
                "cannot read the data directory (is `data_dir` set for this connection?): {e}"
            ))
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let known: Vec<&String> = names
            .iter()
            .filter(|n| FILES.contains(&n.as_str()))
            .collect();
        let other: Vec<&String> = names
            .iter()
            .filter(|n| n.ends_with(".csv") && !FILES.contains(&n.as_str()))
            .collect();
        let mut line = format!(
            "{} of {} known files present{}",
            known.len(),
            FILES.len(),
            if known.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    known
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        if !other.is_empty() {
            line.push_str(&format!(
                "; ignored: {}",
                other
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(line)
    }

    fn pull(request: PullRequest) -> Result<Page, PluginError> {
        let _: Settings = tollgate_plugin_api::settings(&request.settings)?;
        Err(tollgate_plugin_api::unknown_stream(
            &request.stream,
            &Self::describe().streams,
        ))
    }
}

tollgate_plugin_api::export_plugin!(HrCsv);
