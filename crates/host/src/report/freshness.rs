//! Data freshness: per connection, when it last synced successfully and how its last run
//! ended, so that a report never passes old or partial data off as current. Every report ends
//! with the table; one built on a connection whose last run failed (or that never synced)
//! opens with a banner saying so.

#[allow(unused_imports)]
use super::*;
use tollgate_store::{RunRecord, RunStatus};

/// How many recent runs of a connection are looked at for its last successful one.
const RUNS_LOOKED_AT: usize = 200;

/// The freshness of one connection's data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Freshness {
    /// The connection.
    pub connection: String,
    /// When its last successful sync ended (RFC 3339), if one is on record.
    pub last_success: Option<String>,
    /// Its latest run that ended (or is under way): when it started and how it ended.
    pub last_run: Option<(String, &'static str)>,
    /// The error of that run, if it failed.
    pub last_error: Option<String>,
}

impl Freshness {
    /// The data may be old or partial: the latest run that ended did not succeed, or it never
    /// synced.
    pub fn is_stale(&self) -> bool {
        self.last_success.is_none()
            || self
                .last_run
                .as_ref()
                .is_some_and(|(_, status)| *status == "failed" || *status == "interrupted")
    }
}

fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "running",
        RunStatus::Ok => "ok",
        RunStatus::Failed => "failed",
        RunStatus::Interrupted => "interrupted",
    }
}

/// The freshness of each configured connection, from the store's runs.
pub fn freshness(
    store: &dyn Store,
    config: &crate::config::Config,
) -> Result<Vec<Freshness>, Error> {
    let mut out = Vec::new();
    for connection in config.connections.keys() {
        let runs: Vec<RunRecord> = store.runs(Some(connection), RUNS_LOOKED_AT)?;
        // The newest run that ended decides. When it did not succeed, it is the one shown;
        // otherwise the newest run, which may be under way.
        let ended = runs.iter().find(|r| r.status != RunStatus::Running);
        let failed = ended.filter(|r| r.status != RunStatus::Ok);
        let shown = failed.or(runs.first());
        out.push(Freshness {
            connection: connection.clone(),
            last_success: runs.iter().find(|r| r.status == RunStatus::Ok).map(|r| {
                r.finished_at
                    .clone()
                    .unwrap_or_else(|| r.started_at.clone())
            }),
            last_run: shown.map(|r| (r.started_at.clone(), status_word(r.status))),
            last_error: failed.and_then(|r| r.error.clone()),
        });
    }
    Ok(out)
}

/// The banner a report opens with when some connection's data may be old or partial.
pub fn stale_banner(list: &[Freshness]) -> Option<String> {
    let stale: Vec<String> = list
        .iter()
        .filter(|f| f.is_stale())
        .map(|f| match (&f.last_success, &f.last_run) {
            (None, _) => format!("{} has never synced successfully", f.connection),
            (Some(ok), Some((at, status))) => format!(
                "{}'s last sync ({at}) {status}; its data is as of {ok}",
                f.connection
            ),
            (Some(ok), None) => format!("{}'s data is as of {ok}", f.connection),
        })
        .collect();
    (!stale.is_empty()).then(|| {
        format!(
            "Stale data: {}. Findings and numbers below may be out of date or partial.",
            stale.join("; ")
        )
    })
}

/// The table every report ends with.
pub fn table(list: &[Freshness]) -> Table {
    Table {
        name: "data-freshness",
        title: "Data freshness",
        note: "Per connection: when it last synced successfully, and how its latest run ended. A report built while a connection's latest run failed says so at the top.".into(),
        columns: vec![
            "connection",
            "last successful sync",
            "latest run started",
            "latest run",
            "error",
        ],
        rows: list
            .iter()
            .map(|f| {
                vec![
                    f.connection.clone(),
                    f.last_success.clone().unwrap_or_else(|| "never".into()),
                    f.last_run.as_ref().map(|r| r.0.clone()).unwrap_or_default(),
                    f.last_run
                        .as_ref()
                        .map(|r| r.1.to_string())
                        .unwrap_or_else(|| "none".into()),
                    f.last_error.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        chart: None,
    }
}
