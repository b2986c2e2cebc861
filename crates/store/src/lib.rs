//! Where normalised records, sync progress and run history are kept.
//!
//! The [`Store`] trait is what the sync engine, the checks and the exports use; [`sqlite`] is
//! the embedded default. The trait is synchronous and keeps every write that must be atomic
//! inside one method (a page with its cursor, a stream's completion with its sweep), so a
//! Postgres implementation can map each method onto one transaction as SQLite does.

#![warn(missing_docs)]

pub mod files;
mod open_findings;
mod packed;
pub mod postgres;
pub mod sqlite;
#[cfg(test)]
mod suite;
#[doc(hidden)]
pub mod testing;

use serde::Serialize;
use thiserror::Error;
use tollgate_dmo::model::{EntityKind, Record};
use tollgate_dmo::rules::Finding;
use tollgate_dmo::rules::portfolio::NumberedTimeEntries;

/// A store failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database was written by a newer Tollgate.
    #[error(
        "the store {location} has schema version {found}, newer than this Tollgate knows ({supported}); upgrade Tollgate, or point store.url at another database"
    )]
    SchemaTooNew {
        /// The database.
        location: String,
        /// Its schema version.
        found: i64,
        /// The newest this binary knows.
        supported: i64,
    },
    /// The store URL is not one we can open.
    #[error("store.url: {1}")]
    Url(String, String),
    /// The database said no.
    #[error("store {location}: {message}")]
    Database {
        /// The database.
        location: String,
        /// What went wrong.
        message: String,
    },
}

/// Id of a run.
pub type RunId = i64;

/// Progress of one stream of one connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamState {
    /// Cursor of the next page, when a run of this stream is under way.
    pub cursor: Option<String>,
    /// Whether a run of this stream is under way (started, not completed).
    pub in_progress: bool,
    /// Whether the run under way is a full one (it ends with a deletion sweep).
    pub full: bool,
    /// Id of the sweep of the full run under way: records seen in it carry this id.
    pub sweep: RunId,
    /// Checkpoint of the last completed run, for incremental pulls.
    pub checkpoint: Option<String>,
    /// The run under way has committed its last page; only completion is left.
    pub exhausted: bool,
    /// The pass under way rejected rows or files (a diagnostic of severity error or worse):
    /// it did not see every record, so it proves no deletion.
    pub rejected: bool,
}

/// One page to commit.
#[derive(Debug, Clone, Default)]
pub struct PageWrite {
    /// Records to upsert (by connection, kind, external id).
    pub records: Vec<Record>,
    /// Explicit deletions: (kind, external id).
    pub deletions: Vec<(EntityKind, String)>,
    /// Cursor of the next page; `None` when this was the last page.
    pub next_cursor: Option<String>,
    /// Checkpoint the plugin returned with this page.
    pub checkpoint: Option<String>,
    /// Diagnostics reported with the page (rejected rows, unmapped fields, invalid values).
    pub diagnostics: Vec<DiagnosticRecord>,
    /// The pass returns every record of the stream: sweep at completion.
    pub snapshot: bool,
}

/// A diagnostic as kept: what the plugin (or validation) reported about the data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiagnosticRecord {
    /// Stream it came from.
    pub stream: String,
    /// How bad: an `error` or `blocker` is a rejected row or file.
    pub severity: tollgate_dmo::Severity,
    /// Stable code: `rejected-row`, `rejected-file`, `invalid-value`, `unknown-person`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// Where: `timesheets.csv:12:4`, a record id.
    pub location: Option<String>,
}

/// What a check changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FindingChanges {
    /// Seen for the first time.
    pub new: u64,
    /// Seen before and still there.
    pub persisting: u64,
    /// Resolved before, back now.
    pub reopened: u64,
    /// Open before, gone now.
    pub resolved: u64,
}

/// A finding with its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFinding {
    /// The finding as last seen.
    #[serde(flatten)]
    pub finding: Finding,
    /// First check that found it.
    pub first_seen: String,
    /// Latest check that found it.
    pub last_seen: String,
    /// When it stopped being found.
    pub resolved_at: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Under way (or the process died; the next run marks it interrupted).
    Running,
    /// Completed.
    Ok,
    /// Failed with an error.
    Failed,
    /// The process died or was stopped before the run ended.
    Interrupted,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
    /// A run's stored status; a value Tollgate never writes (a damaged store, a hand edit) is
    /// an error naming the run, never read as "running" (which would keep the connection
    /// looking busy) or as any other status.
    pub(crate) fn parse(location: &str, run: RunId, s: &str) -> Result<RunStatus, StoreError> {
        match s {
            "running" => Ok(RunStatus::Running),
            "ok" => Ok(RunStatus::Ok),
            "failed" => Ok(RunStatus::Failed),
            "interrupted" => Ok(RunStatus::Interrupted),
            other => Err(StoreError::Database {
                location: location.to_string(),
                message: format!(
                    "run {run} is not readable: its status: {:?} is none of running, ok, failed, interrupted",
                    other.chars().take(40).collect::<String>()
                ),
            }),
        }
    }
}

/// A daemon job's latest run, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// When it was last due (RFC 3339).
    pub last_due: String,
    /// How it ended (`ok`, `failed`, `stopped`).
    pub last_outcome: String,
    /// When it ended (RFC 3339).
    pub last_finished: String,
}

/// A run as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// Id.
    pub id: RunId,
    /// Connection synced.
    pub connection: String,
    /// Whether it was a full run.
    pub full: bool,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End, if it ended.
    pub finished_at: Option<String>,
    /// How it ended.
    pub status: RunStatus,
    /// Pages committed.
    pub pages: u64,
    /// Records written (inserted or updated).
    pub records_written: u64,
    /// Records marked deleted.
    pub records_deleted: u64,
    /// Diagnostics the plugin reported.
    pub diagnostics: u64,
    /// Error, if it failed.
    pub error: Option<String>,
}

/// A claim on a piece of work shared by several instances (see [`Store::claim`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The work: `job:NAME@DUE` for a scheduled job's tick, `sync:CONNECTION` for a sync.
    pub key: String,
    /// The instance that holds (or held) it.
    pub instance: String,
    /// When it was claimed (RFC 3339).
    pub claimed_at: String,
    /// Until when the lease runs (RFC 3339); past it, another instance may take the work.
    pub lease_until: String,
    /// The work was done; it is never granted again.
    pub done: bool,
}

/// What [`Store::claim`] answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The work is the caller's until the lease runs out.
    Claimed,
    /// Another instance holds it, with a lease still running.
    Held(Claim),
    /// It was done already.
    Done(Claim),
}

/// A value of a stored row, as copied between backends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// A table of the store, with its columns, as both backends define it.
#[derive(Debug)]
pub struct Table {
    /// Its name.
    pub name: &'static str,
    /// Its columns, in copy order.
    pub columns: &'static [&'static str],
    /// The columns that order (and identify) its rows.
    pub key: &'static str,
}

/// Every table that holds state, in an order that satisfies references (runs before the
/// diagnostics of a run).
pub const TABLES: &[Table] = &[
    Table {
        name: "records",
        columns: &[
            "connection",
            "kind",
            "external_id",
            "stream",
            "record",
            "sweep",
            "deleted_at",
        ],
        key: "connection, kind, external_id",
    },
    Table {
        name: "stream_state",
        columns: &[
            "connection",
            "stream",
            "in_progress",
            "exhausted",
            "full",
            "sweep",
            "cursor",
            "pending_checkpoint",
            "checkpoint",
            "diagnostics_run",
            "diagnostics_since",
            "rejected",
        ],
        key: "connection, stream",
    },
    Table {
        name: "runs",
        columns: &[
            "id",
            "connection",
            "full",
            "started_at",
            "finished_at",
            "status",
            "pages",
            "records_written",
            "records_deleted",
            "diagnostics",
            "error",
        ],
        key: "id",
    },
    Table {
        name: "diagnostics",
        columns: &[
            "run", "seq", "stream", "severity", "code", "message", "location",
        ],
        key: "run, seq",
    },
    Table {
        name: "findings",
        columns: &[
            "fingerprint",
            "rule_id",
            "severity",
            "subject_kind",
            "subject_key",
            "title",
            "message",
            "evidence",
            "first_seen",
            "last_seen",
            "resolved_at",
            "subject_connection",
            "subject_external_id",
        ],
        key: "fingerprint",
    },
    Table {
        name: "findings_checked",
        columns: &["id", "at"],
        key: "id",
    },
    Table {
        name: "jobs",
        columns: &["name", "last_due", "last_outcome", "last_finished"],
        key: "name",
    },
    Table {
        name: "reports",
        columns: &["id", "kind", "as_of", "generated_at"],
        key: "id",
    },
    Table {
        name: "claims",
        columns: &["key", "instance", "claimed_at", "lease_until", "done"],
        key: "key",
    },
];

/// How a stream begins, given the state on record (see [`StreamState::begin`]).
pub(crate) enum Begin {
    /// The run under way goes on as it is.
    Resume(StreamState),
    /// A new pass: this state is written.
    Fresh(StreamState),
}

impl StreamState {
    /// What [`Store::begin_stream`] does given the state on record: resume the run under way,
    /// or start a fresh pass (a full run ignores the checkpoint and sweeps; the first run of a
    /// stream is full). Both backends decide here.
    pub(crate) fn begin(self, run: RunId, full: bool) -> Begin {
        if self.in_progress && (self.full || !full) {
            return Begin::Resume(self);
        }
        let full = full || self.checkpoint.is_none();
        Begin::Fresh(StreamState {
            cursor: None,
            in_progress: true,
            full,
            sweep: run,
            checkpoint: if full { None } else { self.checkpoint },
            exhausted: false,
            rejected: false,
        })
    }
}

/// Now plus `d`, stamped as [`now`] stamps.
pub fn now_plus(d: std::time::Duration) -> String {
    stamp(since_epoch().saturating_add(d))
}

/// Done claims older than this are forgotten when another is released.
pub(crate) const DONE_CLAIMS_KEPT: std::time::Duration =
    std::time::Duration::from_secs(7 * 24 * 3600);

/// Now minus `d`, stamped as [`now`] stamps.
pub(crate) fn now_minus(d: std::time::Duration) -> String {
    stamp(since_epoch().saturating_sub(d))
}

/// Findings in the list's order ([`Store::findings`]): rule, subject kind, subject key and
/// fingerprint, each as bytes (the order of the backends' `ORDER BY`). A list read whole is
/// sorted here rather than by the database, which sorted 44,000 findings on disk (on
/// PostgreSQL, 93 ms on three processes) while the client waited.
pub(crate) fn in_list_order(findings: &mut [StoredFinding]) {
    fn key(f: &StoredFinding) -> (&[u8], &[u8], &[u8], &[u8]) {
        let f = &f.finding;
        (
            f.rule_id.as_bytes(),
            f.subject.kind.as_str().as_bytes(),
            f.subject.key.as_bytes(),
            f.fingerprint.as_bytes(),
        )
    }
    findings.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
}

/// A record a backend cannot read back, named by connection, kind and external id.
pub(crate) fn unreadable(
    location: String,
    connection: &str,
    kind: EntityKind,
    id: &str,
    e: impl std::fmt::Display,
) -> StoreError {
    StoreError::Database {
        location,
        message: format!(
            "record {connection}/{}/{id} is not readable: {e}",
            kind.as_str()
        ),
    }
}

/// What a stored finding's severity, subject kind and evidence say, read from their text;
/// a value Tollgate never writes (a damaged store, a hand edit) is an error naming the finding
/// and the column, never read as some default.
pub(crate) fn finding_parts(
    location: &str,
    fingerprint: &str,
    severity: &str,
    kind: &str,
    evidence: String,
) -> Result<
    (
        tollgate_dmo::Severity,
        tollgate_dmo::rules::SubjectKind,
        tollgate_dmo::rules::Evidence,
    ),
    StoreError,
> {
    let unreadable = |column: &str, e: String| StoreError::Database {
        location: location.to_string(),
        message: format!("finding {fingerprint} is not readable: its {column}: {e}"),
    };
    Ok((
        severity.parse().map_err(|e| unreadable("severity", e))?,
        kind.parse().map_err(|e| unreadable("subject_kind", e))?,
        tollgate_dmo::rules::Evidence::from_json(evidence)
            .map_err(|e| unreadable("evidence", e.to_string()))?,
    ))
}

/// `url` without its password, for messages: `postgres://user@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.split('@').next_back().unwrap_or("").to_string();
    };
    // A password may also be given as a query parameter: the query is left out.
    let rest = rest.split('?').next().unwrap_or("");
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// The store.
pub trait Store: Send {
    /// Start a run of `connection`; earlier runs of it still marked running are marked
    /// interrupted.
    fn begin_run(&mut self, connection: &str, full: bool) -> Result<RunId, StoreError>;

    /// Begin (or resume) a stream within `run`. A stream with a run under way is resumed
    /// from its cursor, unless `full` is asked and the one under way is incremental.
    fn begin_stream(
        &mut self,
        run: RunId,
        connection: &str,
        stream: &str,
        full: bool,
    ) -> Result<StreamState, StoreError>;

    /// Write a page and its cursor in one transaction; returns (written, deleted).
    fn commit_page(
        &mut self,
        run: RunId,
        connection: &str,
        stream: &str,
        page: &PageWrite,
    ) -> Result<(u64, u64), StoreError>;

    /// Complete a stream in one transaction: with `sweep`, a full pass marks the records of
    /// the stream it did not see as deleted; the checkpoint is kept either way. Returns the
    /// number deleted. The sync engine sweeps only when every stream of the connection
    /// completed cleanly and the share deleted is within bounds.
    fn complete_stream(
        &mut self,
        run: RunId,
        connection: &str,
        stream: &str,
        sweep: bool,
    ) -> Result<u64, StoreError>;

    /// How many live records of the stream the sweep of the full pass under way would mark
    /// deleted (0 when the pass is not full).
    fn unseen(&self, connection: &str, stream: &str) -> Result<u64, StoreError>;

    /// Live records of a connection.
    fn live_records(&self, connection: &str) -> Result<u64, StoreError>;

    /// The live record `external_id` of `kind` from `connection`, if stored.
    fn record(
        &self,
        connection: &str,
        kind: EntityKind,
        external_id: &str,
    ) -> Result<Option<Record>, StoreError>;

    /// The connection's live initiatives and work items by external id, with their keys and
    /// initiatives: what a plugin's `records.lookup` import answers from. Each is handed to
    /// `each` as its row is read (a sync run reads 110,000 at 10,000 epics, into a map of its
    /// own: a list of them first, a few strings each, was a third of an incremental sync's
    /// CPU and 17 MiB of its peak).
    fn each_key(
        &self,
        connection: &str,
        each: &mut dyn FnMut(tollgate_dmo::model::StoredKeyRef<'_>),
    ) -> Result<(), StoreError>;

    /// [`Store::each_key`] as a list, for the store's tests.
    #[cfg(test)]
    fn keys(&self, connection: &str) -> Result<Vec<tollgate_dmo::model::StoredKey>, StoreError> {
        let mut all = Vec::new();
        self.each_key(connection, &mut |k| all.push(k.to_stored_key()))?;
        Ok(all)
    }

    /// Record how a run ended.
    fn finish_run(
        &mut self,
        run: RunId,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Record that the daemon's job `name`, due at `due` (RFC 3339), ended with `outcome`.
    fn record_job(&mut self, name: &str, due: &str, outcome: &str) -> Result<(), StoreError>;

    /// Record that a report of `kind` was made at `at` (RFC 3339), as of `as_of`.
    fn record_report(&mut self, kind: &str, as_of: &str, at: &str) -> Result<(), StoreError>;

    /// When the last report of `kind` was made, if ever; with `until`, the last one made as
    /// of that date (YYYY-MM-DD) or earlier.
    fn last_report(&self, kind: &str, until: Option<&str>) -> Result<Option<String>, StoreError>;

    /// When the job `name` was last due and run, if ever.
    fn job_last_due(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// How the job `name` last ended, if it ever ran.
    fn job_state(&self, name: &str) -> Result<Option<JobRecord>, StoreError>;

    /// The latest runs, newest first; of one connection if given.
    fn runs(&self, connection: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError>;

    /// The diagnostics that still stand: per stream, those of the last pass that read it.
    fn current_diagnostics(&self) -> Result<Vec<(String, DiagnosticRecord)>, StoreError>;

    /// Record the findings of a check made `at`: new ones are added, persisting ones updated
    /// (last seen), reappearing ones reopened, and open ones not found any more resolved.
    fn record_findings(
        &mut self,
        findings: &[Finding],
        at: &str,
    ) -> Result<FindingChanges, StoreError> {
        self.record_finding_batches(&mut std::iter::once(findings.to_vec()), at)
    }

    /// [`Store::record_findings`] of the findings of all `batches`, taken one batch at a time
    /// (a check hands over each rule's findings as the rule is done, so that they are written
    /// rather than all held), in one transaction: the findings not in any batch are resolved
    /// only once the last batch is in. If pulling a batch panics, nothing is recorded.
    fn record_finding_batches(
        &mut self,
        batches: &mut (dyn Iterator<Item = Vec<Finding>> + Send),
        at: &str,
    ) -> Result<FindingChanges, StoreError>;

    /// Findings, open only or with the resolved ones.
    fn findings(&self, include_resolved: bool) -> Result<Vec<StoredFinding>, StoreError>;

    /// The findings, open only or with the resolved ones, handed to `each` one at a time, in
    /// the order of [`Store::findings`]: for a reader that keeps only part of each (a report
    /// keeps a fifth of a finding's memory; at 10,000 initiatives the 44,000 open findings
    /// whole took 28 MB), or a few of them (a page of the JSON API).
    fn each_finding(
        &self,
        include_resolved: bool,
        each: &mut dyn FnMut(StoredFinding),
    ) -> Result<(), StoreError>;

    /// [`Store::each_finding`], the open ones only.
    fn each_open_finding(&self, each: &mut dyn FnMut(StoredFinding)) -> Result<(), StoreError> {
        self.each_finding(false, each)
    }

    /// The findings resolved after `after` (a time as the store writes them, `resolved_at >
    /// after` compared as text), in the order of [`Store::findings`]: what was resolved since
    /// a point in time, without reading every finding ever resolved (they are kept, so that
    /// list grows with the store's history).
    fn findings_resolved_after(&self, after: &str) -> Result<Vec<StoredFinding>, StoreError>;

    /// The diagnostics recorded in a run, in the order reported.
    fn diagnostics(&self, run: RunId) -> Result<Vec<DiagnosticRecord>, StoreError>;

    /// Live (not deleted) records of one kind, ordered by connection and external id.
    fn records(&self, kind: EntityKind) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        self.each_record(kind, &mut |r| out.push(r))?;
        Ok(out)
    }

    /// Every live record of `kind`, in the order of [`Store::records`], handed to `each` one
    /// at a time, so a caller that folds them (the portfolio) never holds them all.
    fn each_record(
        &self,
        kind: EntityKind,
        each: &mut dyn FnMut(Record),
    ) -> Result<(), StoreError> {
        self.each_stored(kind, &mut |connection, external_id, text| {
            each(Record::from_stored(connection, external_id, text)?);
            Ok(())
        })
    }

    /// Every live record of `kind` as stored (its connection, its external id, and the
    /// [`Record`] as JSON, which may leave those two out), in the order of
    /// [`Store::records`], row by row: for a reader that needs a few of its fields and would
    /// rather not build the whole record (the portfolio's million time entries). A text that
    /// `read` cannot read stops the read; the error names the record and the database.
    fn each_stored(
        &self,
        kind: EntityKind,
        read: &mut dyn FnMut(&str, &str, &str) -> Result<(), serde_json::Error>,
    ) -> Result<(), StoreError>;

    /// [`Store::each_stored`] in whatever order the store reads `kind` fastest (the SQLite
    /// store: its time entries in the table's own order, one pass over the table instead of
    /// a seek per row): for a reader whose result does not depend on the order (the
    /// portfolio, which folds the entries into totals). The records are the same; so is the
    /// order from one read to the next of an unchanged store.
    fn each_stored_in_any_order(
        &self,
        kind: EntityKind,
        read: &mut dyn FnMut(&str, &str, &str) -> Result<(), serde_json::Error>,
    ) -> Result<(), StoreError> {
        self.each_stored(kind, read)
    }

    /// The live time entries, for what the portfolio keeps of them, in any order (as
    /// [`Store::each_stored_in_any_order`]). The SQLite store reads them from the few bytes
    /// it keeps of each in front of its document and hands each name (a person, a key, a
    /// day) to `read` once with a number, then the entries by those numbers; by default,
    /// each record's text is read and the entry handed over with its names' texts. A record that cannot be read stops the read; the
    /// error names it and the database.
    fn each_time_entry(&self, read: &mut dyn NumberedTimeEntries) -> Result<(), StoreError> {
        self.each_stored_in_any_order(EntityKind::TimeEntry, &mut |_, _, text| {
            let t = tollgate_dmo::rules::portfolio::stored_time_entry(text)?;
            read.entry_with_names(&t).map_err(serde::de::Error::custom)
        })
    }

    /// Claim the work `key` for `instance` for `lease`: granted when nobody holds it, when
    /// the holder's lease ran out (it died), or when `instance` holds it already (a renewal).
    /// Work released as done is never granted again. This is how several instances on one
    /// database run each scheduled job once and sync each connection one at a time.
    fn claim(
        &mut self,
        key: &str,
        instance: &str,
        lease: std::time::Duration,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Extend `instance`'s lease on `key`; false when it no longer holds it.
    fn renew_claim(
        &mut self,
        key: &str,
        instance: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError>;

    /// Give up `key`: as done (it is never granted again), or free for anyone (it is
    /// forgotten). Only the holder can release it.
    fn release_claim(&mut self, key: &str, instance: &str, done: bool) -> Result<(), StoreError>;

    /// The claims on record: held, expired (their holder died) or done, by key.
    fn claims(&self) -> Result<Vec<Claim>, StoreError>;

    /// The rows of `table` (one of [`TABLES`]), in its key order, as plain values in the
    /// order of its columns: what `tollgate migrate` copies between backends.
    fn dump_table(
        &self,
        table: &Table,
        each: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Insert rows into `table` as [`Store::dump_table`] gave them, in one transaction.
    fn load_rows(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<(), StoreError>;

    /// Delete every row of every table (`tollgate migrate --force` on a non-empty target).
    fn clear(&mut self) -> Result<(), StoreError>;

    /// Every live record, in export order: kind, connection, external id.
    fn export(&self) -> Result<Vec<Record>, StoreError> {
        let mut all = Vec::new();
        for kind in EntityKind::ALL {
            all.extend(self.records(kind)?);
        }
        Ok(all)
    }
}

/// Whether `url` names a store this Tollgate can open, without opening it: `sqlite://PATH`
/// or `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`. Messages never carry a password.
pub fn check_url(url: &str) -> Result<(), String> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.trim().is_empty() {
            return Err(
                "`sqlite://` names no file; expected sqlite://PATH, e.g. sqlite://tollgate.db"
                    .into(),
            );
        }
        if path.ends_with('/') {
            return Err(format!(
                "`{url}` names a directory; expected sqlite://PATH to a file, e.g. sqlite://tollgate.db"
            ));
        }
        return Ok(());
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return postgres::check_url(url);
    }
    Err(format!(
        "`{}` is not a store URL; expected sqlite://PATH (e.g. sqlite://tollgate.db) or postgres://USER@HOST/DATABASE",
        redact_url(url)
    ))
}

/// Open the store named by a URL: `sqlite://PATH` (relative paths against `base_dir`) or
/// `postgres://...` (migrated on open, as SQLite is).
pub fn open(url: &str, base_dir: &std::path::Path) -> Result<Box<dyn Store>, StoreError> {
    check_url(url).map_err(|m| StoreError::Url(redact_url(url), m))?;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(postgres::PostgresStore::open(url)?));
    }
    let path = std::path::Path::new(url.strip_prefix("sqlite://").unwrap_or(url));
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    };
    Ok(Box::new(sqlite::SqliteStore::open(&path)?))
}

/// Now, as the store stamps it: RFC 3339 UTC with milliseconds (`2026-11-27T10:30:00.123Z`).
/// The whole process reads the clock through this one function.
pub fn now() -> String {
    stamp(since_epoch())
}

/// A record as the store keeps it: its JSON without what the row's columns already hold
/// (the connection and the external id, which every document repeated), without the typed
/// fields that have no value (`null`) and without an empty `extra`. Read back with
/// [`Record::from_stored`], it is the same record; documents written whole (by an earlier
/// version) read the same way. (Only the entity's nulls go: in `extra`, the source's own
/// data, a null is kept as given.)
pub(crate) fn document(connection: &str, record: &Record) -> String {
    document_with(connection, record, true)
}

/// [`document`], without the fetch time when `fetched_at` is false: for a row that holds it
/// (SQLite's, which numbers the fetch times a page shares), to be put back by
/// [`with_fetched_at`].
pub(crate) fn document_with(connection: &str, record: &Record, fetched_at: bool) -> String {
    let mut buffers = DocumentBuffers::default();
    document_onto(connection, record, fetched_at, &mut buffers);
    buffers.text
}

/// What [`document_onto`] writes with: kept from one record to the next by a writer of many,
/// so that a document costs no allocation of its own.
#[derive(Default)]
pub(crate) struct DocumentBuffers {
    text: String,
    /// A part of the document as serde_json writes it, before it is put into `text`.
    json: Vec<u8>,
}

/// [`document_with`], written over what `buffers` held, and returned from them.
pub(crate) fn document_onto<'b>(
    connection: &str,
    record: &Record,
    fetched_at: bool,
    buffers: &'b mut DocumentBuffers,
) -> &'b str {
    /// The provenance without the row's columns.
    #[derive(Serialize)]
    struct Stored<'a> {
        /// Only when it is not the row's (never from the sync).
        #[serde(skip_serializing_if = "Option::is_none")]
        connection: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        source_updated: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        fetched_at: Option<&'a str>,
    }
    /// `value` as serde_json writes it, in `json` (over what it held).
    fn json_of<'j>(value: &impl Serialize, json: &'j mut Vec<u8>) -> &'j str {
        json.clear();
        serde_json::to_writer(&mut *json, value).expect("records serialise");
        std::str::from_utf8(json).expect("serde_json writes UTF-8")
    }
    let p = &record.provenance;
    let provenance = Stored {
        connection: (p.connection != connection).then_some(p.connection.as_str()),
        url: p.url.as_deref(),
        source_updated: p.source_updated.as_deref(),
        fetched_at: fetched_at.then_some(p.fetched_at.as_str()),
    };
    let DocumentBuffers { text, json } = buffers;
    text.clear();
    text.reserve(512);
    text.push_str("{\"provenance\":");
    text.push_str(json_of(&provenance, json));
    text.push_str(",\"entity\":");
    without_nulls(json_of(&record.entity, json), text);
    if record.extra.as_object().is_none_or(|o| !o.is_empty()) {
        text.push_str(",\"extra\":");
        text.push_str(json_of(&record.extra, json));
    }
    text.push('}');
    text
}

/// The number a finding's fingerprint as Tollgate writes it stands for (16 lowercase
/// hexadecimal digits, [`tollgate_dmo::rules::fingerprint`]), for holding many of them in 8
/// bytes each; `None` for any other text (a store edited by hand), which is held as text.
pub(crate) fn fingerprint_number(fingerprint: &str) -> Option<u64> {
    (fingerprint.len() == 16
        && fingerprint
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| u64::from_str_radix(fingerprint, 16).ok())
    .flatten()
}

/// The fingerprint [`fingerprint_number`] read `n` from.
pub(crate) fn fingerprint_text(n: u64) -> String {
    format!("{n:016x}")
}

/// A document [`document_with`] wrote without its fetch time, onto `out` with `fetched_at`
/// put back (as the provenance's first member: members are read by name). A text that does
/// not start as such a document does is an error saying so.
pub(crate) fn with_fetched_at(
    document: &str,
    fetched_at: &str,
    out: &mut String,
) -> Result<(), String> {
    with_quoted_fetched_at(document, &quoted(fetched_at), out)
}

/// A fetch time as a JSON string, for [`with_quoted_fetched_at`].
pub(crate) fn quoted(fetched_at: &str) -> String {
    serde_json::to_string(fetched_at).expect("a string serialises")
}

/// [`with_fetched_at`] with the fetch time given as a JSON string ([`quoted`]): for a reader
/// that puts the same fetch time back into many documents (a page's records share it), so
/// that it is quoted once rather than once a record.
pub(crate) fn with_quoted_fetched_at(
    document: &str,
    quoted: &str,
    out: &mut String,
) -> Result<(), String> {
    const START: &str = "{\"provenance\":{";
    let rest = document.strip_prefix(START).ok_or_else(|| {
        "its document does not begin with its provenance, where its fetch time goes".to_string()
    })?;
    out.reserve(document.len() + quoted.len() + 14);
    out.push_str(START);
    out.push_str("\"fetched_at\":");
    out.push_str(quoted);
    if !rest.starts_with('}') {
        out.push(',');
    }
    out.push_str(rest);
    Ok(())
}

/// `json` (as serde_json writes it) onto `out`, without its members whose value is `null`.
/// A quoted string followed by `:null` is always a member's name (a string value is followed
/// by `,`, `}` or `]`), and strings are skipped whole, escapes included, so nothing inside a
/// string is ever touched.
fn without_nulls(json: &str, out: &mut String) {
    let b = json.as_bytes();
    let mut i = 0;
    let mut kept = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
        let end = i.min(b.len());
        if b[end..].starts_with(b":null") && matches!(b.get(end + 5), Some(b',' | b'}')) {
            // The member goes with one comma: the one before it, or else the one after.
            out.push_str(&json[kept..start]);
            if out.ends_with(',') {
                out.pop();
                kept = end + 5;
            } else if b.get(end + 5) == Some(&b',') {
                kept = end + 6;
            } else {
                kept = end + 5;
            }
            i = kept;
        }
    }
    out.push_str(&json[kept..]);
}

fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

fn stamp(at: std::time::Duration) -> String {
    tollgate_dmo::calendar::timestamp(at.as_secs() as i64, at.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_kept_without_its_fetch_time_reads_whole_with_it_put_back() {
        let mut record = crate::suite::team("t1", "A");
        for (url, fetched_at) in [
            (None, "2026-11-27T00:00:00.000Z"),
            (Some("https://x.example/t1"), "a \"quoted\" time\n"),
        ] {
            record.provenance.url = url.map(str::to_string);
            record.provenance.fetched_at = fetched_at.into();
            let kept = document_with("hr", &record, false);
            assert!(!kept.contains("fetched_at"), "{kept}");
            let mut whole = String::new();
            with_fetched_at(&kept, fetched_at, &mut whole).unwrap();
            assert_eq!(Record::from_stored("hr", "t1", &whole).unwrap(), record);
        }
        let mut out = String::from("kept");
        let e = with_fetched_at(r#"{"entity":{}}"#, "t", &mut out).unwrap_err();
        assert!(e.contains("does not begin with its provenance"), "{e}");
    }

    #[test]
    fn members_without_a_value_are_left_out_and_strings_never_touched() {
        let strip = |json: &str| {
            let mut out = String::new();
            without_nulls(json, &mut out);
            out
        };
        assert_eq!(strip(r#"{"a":null,"b":1}"#), r#"{"b":1}"#);
        assert_eq!(strip(r#"{"a":1,"b":null,"c":2}"#), r#"{"a":1,"c":2}"#);
        assert_eq!(strip(r#"{"a":1,"b":null}"#), r#"{"a":1}"#);
        assert_eq!(strip(r#"{"a":null}"#), r#"{}"#);
        assert_eq!(strip(r#"{"a":null,"b":null}"#), r#"{}"#);
        assert_eq!(
            strip(r#"{"k":{"x":null,"y":[null,{"z":null}]},"n":null}"#),
            r#"{"k":{"y":[null,{}]}}"#
        );
        // Inside strings, whatever they hold: quotes, backslashes, `":null`.
        let tricky = r#"{"t":"a\":null,\"b","u":"c\\","v":null,"w":"\\\":null}"}"#;
        assert_eq!(
            strip(tricky),
            r#"{"t":"a\":null,\"b","u":"c\\","w":"\\\":null}"}"#
        );
        // (Each a real JSON text, and the same value read back, nulls aside.)
        let read = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(read(&strip(tricky))["w"], read(tricky)["w"]);
        assert_eq!(
            strip(r#"{"nullish":"null","x":nullx}"#),
            r#"{"nullish":"null","x":nullx}"#
        );
        assert_eq!(strip(""), "");
        assert_eq!(
            strip(r#"{"open":"unterminated"#),
            r#"{"open":"unterminated"#
        );
    }

    #[test]
    fn store_urls() {
        // Nothing listens on port 1: the error names the server, never the password.
        let e = open(
            "postgres://user:pw@127.0.0.1:1/tollgate?password=pw2",
            std::path::Path::new("/tmp"),
        )
        .err()
        .unwrap();
        assert!(!e.to_string().contains("pw"), "{e}");
        assert!(
            e.to_string()
                .contains("postgres://user@127.0.0.1:1/tollgate"),
            "{e}"
        );
        assert_eq!(
            redact_url("postgresql://a:b@h:5/d?sslmode=disable&password=b"),
            "postgresql://a@h:5/d"
        );
        assert_eq!(redact_url("postgres://h/d"), "postgres://h/d");
        assert!(
            check_url("postgres://u@h/")
                .unwrap_err()
                .contains("names no database")
        );
        let e = open("tollgate.db", std::path::Path::new("/tmp"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("sqlite://"));
        for bad in ["sqlite://", "sqlite:///var/lib/", "mysql://u:secret@db/x"] {
            let e = check_url(bad).unwrap_err();
            assert!(
                e.contains("sqlite://PATH") && !e.contains("secret"),
                "{bad}: {e}"
            );
        }
        assert!(check_url("sqlite://state/tollgate.db").is_ok());
    }
}
