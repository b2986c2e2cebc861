//! The embedded store: one SQLite file in WAL mode.
//!
//! Records are JSON documents, each packed on its own ([`crate::packed`]), keyed by
//! (connection, kind, external id), with their stream, the sweep that last saw them, and a
//! deletion time. The schema version is SQLite's
//! `user_version`; migrations run on open, and a newer database is refused.

use super::{
    Claim, ClaimOutcome, DiagnosticRecord, FindingChanges, PageWrite, RunId, RunRecord, RunStatus,
    Store, StoreError, StoredFinding, StreamState, Table, Value, now, now_plus,
};
use crate::open_findings::{Content, Given, OpenFindings};
use crate::packed::{Packer, Unpacker};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use tollgate_dmo::model::{EntityKind, Record};
use tollgate_dmo::rules::Finding;
use tollgate_dmo::rules::portfolio::NumberedTimeEntries;

mod entries;

/// A severity as stored; anything else (a database edited by hand) reads as an error, so it is
/// seen rather than lost.
pub(crate) fn severity_of(text: &str) -> tollgate_dmo::Severity {
    text.parse().unwrap_or(tollgate_dmo::Severity::Error)
}

/// Each entry brings the schema from version `index` to `index + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: records and sync progress.
    r#"
    CREATE TABLE records (
        connection     TEXT NOT NULL,
        kind           TEXT NOT NULL,
        external_id    TEXT NOT NULL,
        stream         TEXT NOT NULL,
        record         TEXT NOT NULL,
        sweep          INTEGER NOT NULL,
        deleted_at     TEXT,
        PRIMARY KEY (connection, kind, external_id)
    );
    CREATE INDEX records_by_stream ON records (connection, stream, sweep);
    CREATE TABLE stream_state (
        connection          TEXT NOT NULL,
        stream              TEXT NOT NULL,
        in_progress         INTEGER NOT NULL DEFAULT 0,
        exhausted           INTEGER NOT NULL DEFAULT 0,
        full                INTEGER NOT NULL DEFAULT 0,
        sweep               INTEGER NOT NULL DEFAULT 0,
        cursor              TEXT,
        pending_checkpoint  TEXT,
        checkpoint          TEXT,
        PRIMARY KEY (connection, stream)
    );
    "#,
    // 2: run history.
    r#"
    CREATE TABLE runs (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        connection       TEXT NOT NULL,
        full             INTEGER NOT NULL,
        started_at       TEXT NOT NULL,
        finished_at      TEXT,
        status           TEXT NOT NULL,
        pages            INTEGER NOT NULL DEFAULT 0,
        records_written  INTEGER NOT NULL DEFAULT 0,
        records_deleted  INTEGER NOT NULL DEFAULT 0,
        diagnostics      INTEGER NOT NULL DEFAULT 0,
        error            TEXT
    );
    CREATE INDEX runs_by_connection ON runs (connection, id);
    "#,
    // 3: what plugins and validation reported about the data, per run.
    r#"
    CREATE TABLE diagnostics (
        run       INTEGER NOT NULL REFERENCES runs (id),
        seq       INTEGER NOT NULL,
        stream    TEXT NOT NULL,
        severity  TEXT NOT NULL,
        code      TEXT NOT NULL,
        message   TEXT NOT NULL,
        location  TEXT,
        PRIMARY KEY (run, seq)
    );
    "#,
    // 4: findings with their history; which run's diagnostics are current per stream.
    r#"
    CREATE TABLE findings (
        fingerprint   TEXT PRIMARY KEY,
        rule_id       TEXT NOT NULL,
        severity      TEXT NOT NULL,
        subject_kind  TEXT NOT NULL,
        subject_key   TEXT NOT NULL,
        title         TEXT NOT NULL,
        message       TEXT NOT NULL,
        evidence      TEXT NOT NULL,
        first_seen    TEXT NOT NULL,
        last_seen     TEXT NOT NULL,
        resolved_at   TEXT
    );
    ALTER TABLE stream_state ADD COLUMN diagnostics_run INTEGER;
    "#,
    // 5: an incremental pass adds to the diagnostics of the passes since the last full one
    // (the records it did not re-read keep theirs); a full or snapshot pass starts afresh.
    r#"
    ALTER TABLE stream_state ADD COLUMN diagnostics_since INTEGER;
    UPDATE stream_state SET diagnostics_since = diagnostics_run;
    "#,
    // 6: the daemon's scheduled jobs, for the catch-up of a run missed while it was down.
    r#"
    CREATE TABLE jobs (
        name           TEXT PRIMARY KEY,
        last_due       TEXT NOT NULL,
        last_outcome   TEXT NOT NULL,
        last_finished  TEXT NOT NULL
    );
    "#,
    // 7: reports made, for "what changed since the last pack".
    r#"
    CREATE TABLE reports (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        kind          TEXT NOT NULL,
        as_of         TEXT NOT NULL,
        generated_at  TEXT NOT NULL
    );
    "#,
    // 8: whether the pass under way rejected rows (it then proves no deletion).
    r#"
    ALTER TABLE stream_state ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
    "#,
    // 9: where a finding's initiative came from, so publishing needs no look-up.
    r#"
    ALTER TABLE findings ADD COLUMN subject_connection TEXT;
    ALTER TABLE findings ADD COLUMN subject_external_id TEXT;
    "#,
    // 10: claims on shared work (a job's tick, a connection's sync), with leases.
    r#"
    CREATE TABLE claims (
        key          TEXT PRIMARY KEY,
        instance     TEXT NOT NULL,
        claimed_at   TEXT NOT NULL,
        lease_until  TEXT NOT NULL,
        done         INTEGER NOT NULL DEFAULT 0
    );
    "#,
    // 11: records' documents leave out what their row holds (the connection, the external
    // id), their fields without a value and an empty `extra` (crate::document). An older
    // Tollgate could not read them, so this version makes it refuse the store. And the
    // findings resolved since a time (the steering pack's) are found by an index.
    r#"
    CREATE INDEX findings_by_resolved ON findings (resolved_at) WHERE resolved_at IS NOT NULL;
    "#,
    // 12: a store near the size of its data. Records' documents are written packed
    // (crate::packed), a BLOB of a fifth of the text (`migrate` packs those written before,
    // after this SQL; rows given as text later still read). A record's kind and stream are
    // numbers, named in `record_kinds` and `record_streams`, instead of text repeated in
    // every row and in both indexes; and the fetch time, which every record of a page
    // shares, is a number named in `record_fetches` instead of part of each document
    // (`fetched`; NULL where the document holds its own, as those written before do). `records_as_text` shows the rows with the names (what `dump_table` reads
    // and `load_rows` writes, and what a person at the `sqlite3` shell reads). An older
    // Tollgate could read none of this, so this version makes it refuse the store.
    r#"
    CREATE TABLE record_kinds (
        code  INTEGER PRIMARY KEY,
        name  TEXT NOT NULL UNIQUE
    );
    INSERT INTO record_kinds (code, name) VALUES
        (1, 'initiative'), (2, 'work-item'), (3, 'sprint'), (4, 'time-entry'),
        (5, 'person'), (6, 'team'), (7, 'allocation'), (8, 'cost-rate'),
        (9, 'finance-entry'), (10, 'business-case'), (11, 'gate-decision'),
        (12, 'dependency'), (13, 'kpi-measurement');
    CREATE TABLE record_streams (
        code  INTEGER PRIMARY KEY,
        name  TEXT NOT NULL UNIQUE
    );
    INSERT INTO record_streams (name) SELECT DISTINCT stream FROM records ORDER BY stream;
    CREATE TABLE record_fetches (
        code        INTEGER PRIMARY KEY,
        fetched_at  TEXT NOT NULL UNIQUE
    );
    CREATE TABLE records_12 (
        connection     TEXT NOT NULL,
        kind           INTEGER NOT NULL REFERENCES record_kinds (code),
        external_id    TEXT NOT NULL,
        stream         INTEGER NOT NULL REFERENCES record_streams (code),
        record         BLOB NOT NULL,
        fetched        INTEGER REFERENCES record_fetches (code),
        sweep          INTEGER NOT NULL,
        deleted_at     TEXT,
        PRIMARY KEY (connection, kind, external_id)
    );
    -- A kind this version does not know (a database edited by hand) has no code: the NOT
    -- NULL constraint fails the migration, naming the column, and the store stays as it was.
    INSERT INTO records_12 (connection, kind, external_id, stream, record, sweep, deleted_at)
        SELECT connection, (SELECT code FROM record_kinds WHERE name = records.kind),
               external_id, (SELECT code FROM record_streams WHERE name = records.stream),
               record, sweep, deleted_at
        FROM records ORDER BY rowid;
    DROP TABLE records;
    ALTER TABLE records_12 RENAME TO records;
    CREATE INDEX records_by_stream ON records (connection, stream, sweep);
    CREATE VIEW records_as_text AS
        SELECT r.connection AS connection, k.name AS kind, r.external_id AS external_id,
               s.name AS stream, r.record AS record, r.sweep AS sweep,
               r.deleted_at AS deleted_at, f.fetched_at AS fetched_at
        FROM records r
        JOIN record_kinds k ON k.code = r.kind
        JOIN record_streams s ON s.code = r.stream
        LEFT JOIN record_fetches f ON f.code = r.fetched;
    -- Documents given here hold their own fetch time.
    CREATE TRIGGER records_as_text_insert INSTEAD OF INSERT ON records_as_text
    BEGIN
        INSERT OR IGNORE INTO record_streams (name) VALUES (NEW.stream);
        INSERT INTO records (connection, kind, external_id, stream, record, sweep, deleted_at)
        VALUES (NEW.connection, (SELECT code FROM record_kinds WHERE name = NEW.kind),
                NEW.external_id, (SELECT code FROM record_streams WHERE name = NEW.stream),
                NEW.record, NEW.sweep, NEW.deleted_at);
    END;
    "#,
    // 13: a time entry's document starts with what the portfolio reads of it (crate::packed,
    // `Summary`; sqlite::entries): its person, initiative and day numbered in
    // `record_names`, its work item's key as text, its seconds. A check reads a million time entries from a few bytes each instead of
    // unpacking and parsing each document. `migrate` gives those written before theirs,
    // after this SQL. AUTOINCREMENT: a number is never given to another name, even after
    // the store is cleared. An older Tollgate could not read the time entries, so this
    // version makes it refuse the store.
    r#"
    CREATE TABLE record_names (
        code  INTEGER PRIMARY KEY AUTOINCREMENT,
        name  TEXT NOT NULL UNIQUE
    );
    "#,
    // 14: an initiative's and a work item's key, and a work item's initiative, beside the
    // document (as PostgreSQL's generated columns): what `keys` answers at the start of every
    // sync run, for `records.lookup`. Read from the packed documents it was unpacking and
    // parsing 110,000 of them (10,000 epics), a third of an incremental sync's time. The sync
    // writes them; `migrate` fills them for the rows written before, after this SQL. A row
    // without them (written at the `sqlite3` shell) is read from its document.
    r#"
    ALTER TABLE records ADD COLUMN item_key TEXT;
    ALTER TABLE records ADD COLUMN item_initiative TEXT;
    "#,
    // 15: when the findings still open were last seen is the last check's time, kept once
    // (crate::open_findings): a check rewrote every open finding for it, most of what a
    // check that changes nothing wrote.
    crate::open_findings::SCHEMA,
];

/// A record's kind as its row holds it: the code `record_kinds` gives the name `?N`.
macro_rules! kind_code {
    ($n:literal) => {
        concat!("(SELECT code FROM record_kinds WHERE name = ?", $n, ")")
    };
}

/// A record's stream as its row holds it: the code `record_streams` gives the name `?N`
/// (NULL, matching no row, for a stream never written).
macro_rules! stream_code {
    ($n:literal) => {
        concat!("(SELECT code FROM record_streams WHERE name = ?", $n, ")")
    };
}

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Maps a SQLite error to a store error naming the database at `location`. A free function
/// (not a method) so it can be used while a transaction borrows the connection.
fn db_error(location: &Path) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
    move |e| StoreError::Database {
        location: location.display().to_string(),
        message: e.to_string(),
    }
}

/// A record's document from its row onto `out`: packed ([`crate::packed`]), or JSON text as
/// written before schema 12.
fn document_onto(
    document: ValueRef<'_>,
    unpacker: &mut Unpacker,
    out: &mut String,
) -> Result<(), String> {
    match document {
        ValueRef::Blob(packed) => unpacker.unpack_onto(packed, out),
        ValueRef::Text(text) => {
            let text = std::str::from_utf8(text)
                .map_err(|e| format!("its document is not UTF-8 text: {e}"))?;
            out.push_str(text);
            Ok(())
        }
        other => Err(format!(
            "its document is a {:?} value, which Tollgate never writes",
            other.data_type()
        )),
    }
}

/// Reads records' documents from their rows: unpacked, their fetch time put back.
struct Documents<'c> {
    conn: &'c Connection,
    unpacker: Unpacker,
    /// Fetch times by number, as looked up (a few per sync: one per page at most), each as
    /// a JSON string ([`crate::quoted`]), quoted once rather than once a row.
    fetches: std::collections::HashMap<i64, String>,
    scratch: String,
}

impl<'c> Documents<'c> {
    fn new(conn: &'c Connection, location: &Path) -> Result<Documents<'c>, StoreError> {
        Ok(Documents {
            conn,
            unpacker: unpacker(location)?,
            fetches: Default::default(),
            scratch: String::new(),
        })
    }

    /// The document of a row (its `record` and `fetched` columns) onto `out`.
    fn onto(
        &mut self,
        document: ValueRef<'_>,
        fetched: Option<i64>,
        out: &mut String,
    ) -> Result<(), String> {
        let Some(code) = fetched else {
            return document_onto(document, &mut self.unpacker, out);
        };
        let quoted = match self.fetches.entry(code) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let at: Option<String> = self
                    .conn
                    .prepare_cached("SELECT fetched_at FROM record_fetches WHERE code = ?1")
                    .and_then(|mut s| s.query_row([code], |r| r.get(0)).optional())
                    .map_err(|e| e.to_string())?;
                let at =
                    at.ok_or_else(|| format!("its fetch time (number {code}) is not on record"))?;
                e.insert(crate::quoted(&at))
            }
        };
        self.scratch.clear();
        document_onto(document, &mut self.unpacker, &mut self.scratch)?;
        crate::with_quoted_fetched_at(&self.scratch, quoted, out)
    }

    /// The document of a row onto `out`, with its fetch time `fetched_at` put back if it has
    /// one apart.
    fn onto_at(
        &mut self,
        document: ValueRef<'_>,
        fetched_at: Option<&str>,
        out: &mut String,
    ) -> Result<(), String> {
        let Some(at) = fetched_at else {
            return document_onto(document, &mut self.unpacker, out);
        };
        self.scratch.clear();
        document_onto(document, &mut self.unpacker, &mut self.scratch)?;
        crate::with_fetched_at(&self.scratch, at, out)
    }
}

/// Where `table`'s rows are read and written as both backends have them: the table itself,
/// but for the records, whose kind and stream SQLite keeps as numbers (`records_as_text`,
/// schema 12).
fn as_text(table: &Table) -> &'static str {
    match table.name {
        "records" => "records_as_text",
        name => name,
    }
}

/// Every row `select` finds, its rowid and its record (`?1` in `select` is the rowid to go
/// on after; it orders by rowid), a thousand at a time, handed to `each`: how a migration
/// rewrites rows without holding the table.
pub(super) fn each_record_by_rowid(
    tx: &rusqlite::Transaction<'_>,
    select: &str,
    mut each: impl FnMut(i64, &rusqlite::types::Value) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, rusqlite::types::Value)> = tx
            .prepare_cached(select)?
            .query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let Some(&(last, _)) = rows.last() else {
            return Ok(());
        };
        for (rowid, record) in &rows {
            each(*rowid, record)?;
        }
        after = last;
    }
}

/// Pack every document stored as text (schema 12): a store upgraded is as small as one
/// synced anew once `VACUUM` has given the space back.
fn pack_documents(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let failed = |e: std::io::Error| {
        rusqlite::Error::ToSqlConversionFailure(format!("packing a document: {e}").into())
    };
    let mut packer = Packer::new().map_err(failed)?;
    each_record_by_rowid(
        tx,
        "SELECT rowid, record FROM records
         WHERE rowid > ?1 AND typeof(record) = 'text' ORDER BY rowid LIMIT 1000",
        |rowid, record| {
            let rusqlite::types::Value::Text(text) = record else {
                return Ok(());
            };
            tx.prepare_cached("UPDATE records SET record = ?2 WHERE rowid = ?1")?
                .execute(params![rowid, packer.pack(text).map_err(failed)?])?;
            Ok(())
        },
    )
}

/// Where a copied row of `records` holds what identifies it (`load_rows`).
struct ItemColumns {
    connection: usize,
    kind: usize,
    external_id: usize,
}

/// What `keys` reads of a document: its entity's key and initiative.
#[derive(serde::Deserialize)]
struct KeysDocument {
    entity: KeysEntity,
}

#[derive(serde::Deserialize)]
struct KeysEntity {
    data: Keys,
}

#[derive(serde::Deserialize)]
struct Keys {
    key: Option<String>,
    initiative_key: Option<String>,
}

/// The `item_key` and `item_initiative` of a record's row (schema 14): what `keys` answers
/// for it (`StoredKey::of`), the initiative a work item's only (an initiative's is its key);
/// nothing for other kinds.
fn item_keys(record: &Record) -> (Option<String>, Option<String>) {
    match tollgate_dmo::model::StoredKey::of(record) {
        Some(k) => {
            let initiative = match k.kind {
                EntityKind::WorkItem => k.initiative_key,
                _ => None,
            };
            (Some(k.key), initiative)
        }
        None => (None, None),
    }
}

/// [`item_keys`] read from the text of an initiative's or a work item's document.
fn item_keys_of_text(text: &str) -> Result<(Option<String>, Option<String>), String> {
    let d: KeysDocument = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok((d.entity.data.key, d.entity.data.initiative_key))
}

/// Give the initiatives and work items written before schema 14 their `item_key` and
/// `item_initiative`, from their documents. A document that does not read is left as it
/// is: `keys` reads it, and its error names the record.
fn fill_item_keys(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let failed = |e: std::io::Error| {
        rusqlite::Error::ToSqlConversionFailure(format!("unpacking a document: {e}").into())
    };
    let mut unpacker = Unpacker::new().map_err(failed)?;
    let mut text = String::new();
    each_record_by_rowid(
        tx,
        "SELECT rowid, record FROM records
         WHERE rowid > ?1 AND kind IN (1, 2) ORDER BY rowid LIMIT 1000",
        |rowid, document| {
            text.clear();
            let read = document_onto(document.into(), &mut unpacker, &mut text)
                .and_then(|()| item_keys_of_text(&text));
            if let Ok((key, initiative)) = read {
                tx.prepare_cached(
                    "UPDATE records SET item_key = ?2, item_initiative = ?3 WHERE rowid = ?1",
                )?
                .execute(params![rowid, key, initiative])?;
            }
            Ok(())
        },
    )
}

/// A new [`Packer`], or an error naming the database.
fn packer(location: &Path) -> Result<Packer, StoreError> {
    Packer::new().map_err(|e| StoreError::Database {
        location: location.display().to_string(),
        message: format!("cannot set up packing records: {e}"),
    })
}

/// A new [`Unpacker`], or an error naming the database.
fn unpacker(location: &Path) -> Result<Unpacker, StoreError> {
    Unpacker::new().map_err(|e| StoreError::Database {
        location: location.display().to_string(),
        message: format!("cannot set up unpacking records: {e}"),
    })
}

/// Rows of records, read for [`Store::each_stored`]: their connections' names, external ids
/// and record texts one after another in one buffer, so that a batch is a few allocations.
struct Rows {
    /// The connections' names the batch's rows name (one, mostly).
    connections: Vec<String>,
    text: String,
    /// Per row: its connection in `connections`, where its id ends and where its record
    /// ends in `text` (its id starts where the row before it ends).
    ends: Vec<(usize, usize, usize)>,
}

/// Rows a batch holds.
const ROWS_PER_BATCH: usize = 512;

impl Rows {
    fn new() -> Rows {
        Rows {
            connections: Vec::new(),
            text: String::new(),
            ends: Vec::with_capacity(ROWS_PER_BATCH),
        }
    }

    /// A row: its connection, its id and its document (its `record` and `fetched` columns,
    /// read onto the batch's text).
    fn push(
        &mut self,
        connection: &str,
        id: &str,
        document: ValueRef<'_>,
        fetched: Option<i64>,
        documents: &mut Documents<'_>,
    ) -> Result<(), String> {
        let at = match self.connections.iter().rposition(|c| c == connection) {
            Some(at) => at,
            None => {
                self.connections.push(connection.to_string());
                self.connections.len() - 1
            }
        };
        let start = self.text.len();
        self.text.push_str(id);
        let id_end = self.text.len();
        if let Err(e) = documents.onto(document, fetched, &mut self.text) {
            self.text.truncate(start);
            return Err(e);
        }
        self.ends.push((at, id_end, self.text.len()));
        Ok(())
    }

    /// Each row's connection, external id and document.
    fn iter(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(at, id_end, end)| {
            let row = (
                self.connections[at].as_str(),
                &self.text[start..id_end],
                &self.text[id_end..end],
            );
            start = end;
            row
        })
    }
}

/// The order [`read_rows`] reads a kind's rows in.
enum Reading<'a> {
    /// The key's: connection after connection (these, in their order), then external id.
    ByKey(&'a [String]),
    /// The table's own, in one pass over all its rows: for the kind that is the bulk of a
    /// store, where reading by the key costs a seek in the table for every row (about a
    /// third of a second per million rows, the larger part of reading them), while a pass
    /// over the records of the other kinds besides costs ~60 ms per million.
    Table,
}

/// A connection to the store at `path` for a reading thread of its own. The file exists
/// (the store has it open): it is opened without creating it.
fn reading_connection(path: &Path) -> Result<Connection, StoreError> {
    let db = db_error(path);
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db)?;
    Ok(conn)
}

/// Read the live records of `kind`, in the order `reading` says, on a connection to `path`
/// of this thread's own, and send them in batches; stop when the receiver is gone.
fn read_rows(
    path: &Path,
    reading: Reading<'_>,
    kind: EntityKind,
    batches: &std::sync::mpsc::SyncSender<Result<Rows, StoreError>>,
) -> Result<(), StoreError> {
    let db = db_error(path);
    let conn = reading_connection(path)?;
    let mut documents = Documents::new(&conn, path)?;
    let mut batch = Rows::new();
    // Sends the batch if it is full (or `last`); false when the receiver is gone.
    let send = |batch: &mut Rows, last: bool| {
        let full = batch.ends.len() == ROWS_PER_BATCH || (last && !batch.ends.is_empty());
        !full
            || batches
                .send(Ok(std::mem::replace(batch, Rows::new())))
                .is_ok()
    };
    let mut take = |connection: &str, row: &rusqlite::Row<'_>, batch: &mut Rows| {
        let id = row.get_ref(0).map_err(db)?;
        let id = id.as_str().map_err(|e| db(e.into()))?;
        let document = row.get_ref(1).map_err(db)?;
        let fetched = row.get(2).map_err(db)?;
        batch
            .push(connection, id, document, fetched, &mut documents)
            .map_err(|e| crate::unreadable(path.display().to_string(), connection, kind, id, e))
    };
    match reading {
        Reading::ByKey(connections) => {
            let mut stmt = conn
                .prepare(concat!(
                    "SELECT external_id, record, fetched FROM records
                     WHERE connection = ?1 AND kind = ",
                    kind_code!(2),
                    " AND deleted_at IS NULL
                     ORDER BY external_id"
                ))
                .map_err(db)?;
            for connection in connections {
                let mut rows = stmt.query(params![connection, kind.as_str()]).map_err(db)?;
                while let Some(row) = rows.next().map_err(db)? {
                    take(connection, row, &mut batch)?;
                    if !send(&mut batch, false) {
                        return Ok(());
                    }
                }
            }
        }
        Reading::Table => {
            let mut stmt = conn
                .prepare(concat!(
                    "SELECT external_id, record, fetched, connection FROM records NOT INDEXED
                     WHERE kind = ",
                    kind_code!(1),
                    " AND deleted_at IS NULL"
                ))
                .map_err(db)?;
            let mut rows = stmt.query(params![kind.as_str()]).map_err(db)?;
            while let Some(row) = rows.next().map_err(db)? {
                let connection = row.get_ref(3).map_err(db)?;
                let connection = connection.as_str().map_err(|e| db(e.into()))?;
                take(connection, row, &mut batch)?;
                if !send(&mut batch, false) {
                    return Ok(());
                }
            }
        }
    }
    send(&mut batch, true);
    Ok(())
}

/// Switch to WAL. Changing the journal mode does not wait on SQLite's busy handler, so a
/// database that another process is creating at the same moment is retried for a while.
fn set_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The diagnostics that stand, from rows ordered by connection, run (newest first) and
/// sequence: the same problem reported by several incremental passes counts once, as the
/// latest pass put it; ordered by connection and stream.
pub(crate) fn latest_diagnostics(
    rows: impl IntoIterator<Item = (String, DiagnosticRecord)>,
) -> Vec<(String, DiagnosticRecord)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out: Vec<(String, DiagnosticRecord)> = rows
        .into_iter()
        .filter(|(c, d)| {
            seen.insert((
                c.clone(),
                d.stream.clone(),
                d.code.clone(),
                d.location.clone().unwrap_or_else(|| d.message.clone()),
            ))
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1.stream).cmp(&(&b.0, &b.1.stream)));
    out
}

fn claim_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Claim> {
    Ok(Claim {
        key: r.get(0)?,
        instance: r.get(1)?,
        claimed_at: r.get(2)?,
        lease_until: r.get(3)?,
        done: r.get::<_, i64>(4)? != 0,
    })
}

/// The SQLite store.
pub struct SqliteStore {
    conn: Connection,
    location: PathBuf,
    /// Made on the first write and kept: its working memory is allocated once.
    packer: Option<Packer>,
    /// The numbers of names time entries' summaries hold, as written.
    names: entries::NameNumbers,
}

impl SqliteStore {
    /// The rows of `kind` in the order `reading` says, handed to `read`: SQLite reads them
    /// on a connection of its own on another thread while `read` takes them in on this one
    /// (at a million time entries the two took about as long as each other, one after the
    /// other). A few batches of rows wait at most.
    fn read_stored(
        &self,
        reading: Reading<'_>,
        kind: EntityKind,
        read: &mut dyn FnMut(&str, &str, &str) -> Result<(), serde_json::Error>,
    ) -> Result<(), StoreError> {
        let location = self.location.as_path();
        std::thread::scope(|scope| {
            let (batches, received) = std::sync::mpsc::sync_channel::<Result<Rows, StoreError>>(4);
            scope.spawn(move || {
                if let Err(e) = read_rows(location, reading, kind, &batches) {
                    let _ = batches.send(Err(e));
                }
            });
            // Returning early drops `received`: the reader stops at its next batch.
            for batch in received {
                for (connection, id, text) in batch?.iter() {
                    read(connection, id, text).map_err(|e| {
                        crate::unreadable(location.display().to_string(), connection, kind, id, e)
                    })?;
                }
            }
            Ok(())
        })
    }

    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let db = |e: rusqlite::Error| StoreError::Database {
            location: path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::create_private_dir_all(dir).map_err(|e| StoreError::Database {
                location: path.display().to_string(),
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        // A new database is readable by its owner only; SQLite gives its WAL and shared-memory
        // files the same permissions.
        crate::files::touch_private(path).map_err(|e| StoreError::Database {
            location: path.display().to_string(),
            message: format!("cannot create the database file: {e}"),
        })?;
        let mut conn = Connection::open(path).map_err(db)?;
        // Every write transaction takes the write lock when it begins: two processes on one
        // database (the daemon and a `tollgate status`, say) then wait for each other instead
        // of failing with a stale read snapshot.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        set_wal(&conn).map_err(db)?;
        // WAL + NORMAL survives a killed process; only an OS crash may lose the last commits.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        let mut store = SqliteStore {
            conn,
            location: path.to_path_buf(),
            packer: None,
            names: Default::default(),
        };
        store.migrate(MIGRATIONS)?;
        Ok(store)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        db_error(&self.location)(e)
    }

    /// Run a query and map every row; errors name the database.
    fn query<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params, map).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The findings `filter` (an SQL condition written in this file, its parameters
    /// `params`) admits, in rule, subject and fingerprint order.
    fn findings_where(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        let mut all = Vec::new();
        self.each_finding_where(filter, params, false, &mut |f| all.push(f))?;
        crate::in_list_order(&mut all);
        Ok(all)
    }

    /// The findings of [`Self::findings_where`], each handed to `each` as its row is read:
    /// in the list's order if `ordered`, else in the table's.
    fn each_finding_where(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
        ordered: bool,
        each: &mut dyn FnMut(StoredFinding),
    ) -> Result<(), StoreError> {
        let location = self.location.display().to_string();
        let order = match ordered {
            true => "ORDER BY rule_id, subject_kind, subject_key, fingerprint",
            false => "",
        };
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT fingerprint, rule_id, severity, subject_kind, subject_key, title, message,
                        evidence, first_seen, last_seen, resolved_at, subject_connection,
                        subject_external_id
                 FROM findings_as_seen WHERE {filter} {order}"
            ))
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let read = || -> rusqlite::Result<Result<StoredFinding, StoreError>> {
                let fingerprint: String = r.get(0)?;
                let parts = crate::finding_parts(
                    &location,
                    &fingerprint,
                    r.get_ref(2)?.as_str()?,
                    r.get_ref(3)?.as_str()?,
                    r.get(7)?,
                );
                let (severity, kind, evidence) = match parts {
                    Ok(parts) => parts,
                    Err(e) => return Ok(Err(e)),
                };
                Ok(Ok(StoredFinding {
                    finding: Finding {
                        fingerprint,
                        rule_id: r.get(1)?,
                        severity,
                        subject: tollgate_dmo::rules::Subject {
                            kind,
                            key: r.get(4)?,
                            connection: r.get(11)?,
                            external_id: r.get(12)?,
                        },
                        title: r.get(5)?,
                        message: r.get(6)?,
                        evidence,
                    },
                    first_seen: r.get(8)?,
                    last_seen: r.get(9)?,
                    resolved_at: r.get(10)?,
                }))
            };
            each(read().map_err(|e| self.err(e))??);
        }
        Ok(())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Apply the migrations the database lacks, each in its own transaction. The version is
    /// read again under the write lock, so processes opening a new database at the same time
    /// apply each migration once.
    pub fn migrate(&mut self, migrations: &[&str]) -> Result<(), StoreError> {
        let supported = migrations.len() as i64;
        loop {
            let tx = self.conn.transaction().map_err(db_error(&self.location))?;
            let found: i64 = tx
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(db_error(&self.location))?;
            if found > supported {
                return Err(StoreError::SchemaTooNew {
                    location: self.location.display().to_string(),
                    found,
                    supported,
                });
            }
            if found == supported {
                return Ok(());
            }
            tx.execute_batch(migrations[found as usize])
                .and_then(|_| match found + 1 {
                    12 => pack_documents(&tx),
                    13 => entries::summarise_time_entries(&tx),
                    14 => fill_item_keys(&tx),
                    _ => Ok(()),
                })
                .and_then(|_| tx.pragma_update(None, "user_version", found + 1))
                .and_then(|_| tx.commit())
                .map_err(|e| StoreError::Database {
                    location: self.location.display().to_string(),
                    message: format!("migration to schema version {}: {e}", found + 1),
                })?;
        }
    }

    fn stream_state(
        &self,
        connection: &str,
        stream: &str,
    ) -> Result<Option<StreamState>, StoreError> {
        self.conn
            .query_row(
                "SELECT cursor, in_progress, full, sweep, checkpoint, exhausted, rejected
                 FROM stream_state WHERE connection = ?1 AND stream = ?2",
                params![connection, stream],
                |r| {
                    Ok(StreamState {
                        cursor: r.get(0)?,
                        in_progress: r.get::<_, i64>(1)? != 0,
                        full: r.get::<_, i64>(2)? != 0,
                        sweep: r.get(3)?,
                        checkpoint: r.get(4)?,
                        exhausted: r.get::<_, i64>(5)? != 0,
                        rejected: r.get::<_, i64>(6)? != 0,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }
}

impl Store for SqliteStore {
    fn begin_run(&mut self, connection: &str, full: bool) -> Result<RunId, StoreError> {
        let tx = self.conn.transaction().map_err(db_error(&self.location))?;
        let result = (|| {
            tx.execute(
                "UPDATE runs SET status = 'interrupted' WHERE connection = ?1 AND status = 'running'",
                params![connection],
            )?;
            tx.execute(
                "INSERT INTO runs (connection, full, started_at, status) VALUES (?1, ?2, ?3, 'running')",
                params![connection, full as i64, now()],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })();
        result.map_err(|e: rusqlite::Error| self.err(e))
    }

    fn begin_stream(
        &mut self,
        run: RunId,
        connection: &str,
        stream: &str,
        full: bool,
    ) -> Result<StreamState, StoreError> {
        let fresh = match self
            .stream_state(connection, stream)?
            .unwrap_or_default()
            .begin(run, full)
        {
            crate::Begin::Resume(resumed) => return Ok(resumed),
            crate::Begin::Fresh(fresh) => fresh,
        };
        self.conn
            .execute(
                "INSERT INTO stream_state (connection, stream, in_progress, exhausted, full, sweep, cursor, pending_checkpoint, rejected)
                 VALUES (?1, ?2, 1, 0, ?3, ?4, NULL, NULL, 0)
                 ON CONFLICT (connection, stream) DO UPDATE SET
                   in_progress = 1, exhausted = 0, full = ?3, sweep = ?4, cursor = NULL,
                   pending_checkpoint = NULL, rejected = 0",
                params![connection, stream, fresh.full as i64, run],
            )
            .map_err(|e| self.err(e))?;
        Ok(fresh)
    }

    fn commit_page(
        &mut self,
        run: RunId,
        connection: &str,
        stream: &str,
        page: &PageWrite,
    ) -> Result<(u64, u64), StoreError> {
        // The page's rows hold codes this transaction has just read from (or given in)
        // `record_kinds`, `record_streams` and `record_fetches`: checking each row's three
        // foreign keys again was a third of its upsert's time (and a statement journal a
        // row). SQLite reads the pragma outside a transaction only, so it is off for the
        // page's transaction alone, and on again whatever the page's outcome.
        self.conn
            .pragma_update(None, "foreign_keys", false)
            .map_err(|e| self.err(e))?;
        let written = self.write_page(run, connection, stream, page);
        let checked = self.conn.pragma_update(None, "foreign_keys", true);
        let written = written?;
        checked.map_err(|e| self.err(e))?;
        Ok(written)
    }

    fn complete_stream(
        &mut self,
        run: RunId,
        connection: &str,
        stream: &str,
        sweep: bool,
    ) -> Result<u64, StoreError> {
        let db = db_error(&self.location);
        let tx = self.conn.transaction().map_err(db)?;
        let (full, sweep_id): (i64, RunId) = tx
            .query_row(
                "SELECT full, sweep FROM stream_state WHERE connection = ?1 AND stream = ?2",
                params![connection, stream],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db)?;
        let mut deleted = 0;
        if full != 0 && sweep {
            deleted = tx
                .execute(
                    concat!(
                        "UPDATE records SET deleted_at = ?4
                         WHERE connection = ?1 AND stream = ",
                        stream_code!(2),
                        " AND sweep <> ?3 AND deleted_at IS NULL"
                    ),
                    params![connection, stream, sweep_id, now()],
                )
                .map_err(db)? as u64;
        }
        tx.execute(
            "UPDATE stream_state SET in_progress = 0, exhausted = 0, cursor = NULL,
               checkpoint = COALESCE(pending_checkpoint, checkpoint), pending_checkpoint = NULL
             WHERE connection = ?1 AND stream = ?2",
            params![connection, stream],
        )
        .map_err(db)?;
        tx.execute(
            "UPDATE runs SET records_deleted = records_deleted + ?2 WHERE id = ?1",
            params![run, deleted as i64],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(deleted)
    }

    fn unseen(&self, connection: &str, stream: &str) -> Result<u64, StoreError> {
        let Some(state) = self.stream_state(connection, stream)? else {
            return Ok(0);
        };
        if !state.full {
            return Ok(0);
        }
        self.conn
            .query_row(
                concat!(
                    "SELECT COUNT(*) FROM records
                     WHERE connection = ?1 AND stream = ",
                    stream_code!(2),
                    " AND sweep <> ?3 AND deleted_at IS NULL"
                ),
                params![connection, stream, state.sweep],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    fn live_records(&self, connection: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM records WHERE connection = ?1 AND deleted_at IS NULL",
                params![connection],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    fn each_key(
        &self,
        connection: &str,
        each: &mut dyn FnMut(tollgate_dmo::model::StoredKeyRef<'_>),
    ) -> Result<(), StoreError> {
        let db = db_error(&self.location);
        let mut unpacker = unpacker(&self.location)?;
        let mut text = String::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT k.name, r.external_id, r.item_key, r.item_initiative,
                        CASE WHEN r.item_key IS NULL THEN r.record END
                 FROM records r JOIN record_kinds k ON k.code = r.kind
                 WHERE r.connection = ?1 AND k.name IN ('initiative', 'work-item')
                   AND r.deleted_at IS NULL",
            )
            .map_err(db)?;
        let mut rows = stmt.query(params![connection]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let read = (|| -> rusqlite::Result<_> {
                Ok((
                    r.get_ref(0)?.as_str()?,
                    r.get_ref(1)?.as_str()?,
                    r.get_ref(2)?.as_str_or_null()?,
                    r.get_ref(3)?.as_str_or_null()?,
                ))
            })();
            let (kind, external_id, key, initiative) = read.map_err(db)?;
            let Some(kind) = EntityKind::parse(kind) else {
                continue;
            };
            let of = |key, initiative| {
                tollgate_dmo::model::StoredKeyRef::new(kind, external_id, key, initiative)
            };
            // From the row's columns (schema 14); a row without them, from its document.
            if let Some(key) = key {
                each(of(key, initiative));
                continue;
            }
            text.clear();
            let read = document_onto(r.get_ref(4).map_err(db)?, &mut unpacker, &mut text)
                .and_then(|()| item_keys_of_text(&text));
            match read {
                Ok((Some(key), initiative)) => each(of(&key, initiative.as_deref())),
                Ok((None, _)) => {}
                Err(e) => {
                    return Err(crate::unreadable(
                        self.location.display().to_string(),
                        connection,
                        kind,
                        external_id,
                        e,
                    ));
                }
            }
        }
        Ok(())
    }

    fn record(
        &self,
        connection: &str,
        kind: EntityKind,
        external_id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let mut documents = Documents::new(&self.conn, &self.location)?;
        let document: Option<Result<String, String>> = self
            .conn
            .query_row(
                concat!(
                    "SELECT record, fetched FROM records
                     WHERE connection = ?1 AND kind = ",
                    kind_code!(2),
                    " AND external_id = ?3 AND deleted_at IS NULL"
                ),
                params![connection, kind.as_str(), external_id],
                |r| {
                    let mut text = String::new();
                    let read = documents.onto(r.get_ref(0)?, r.get(1)?, &mut text);
                    Ok(read.map(|()| text))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let unreadable = |e: &dyn std::fmt::Display| {
            crate::unreadable(
                self.location.display().to_string(),
                connection,
                kind,
                external_id,
                e,
            )
        };
        document
            .map(|text| {
                let text = text.map_err(|e| unreadable(&e))?;
                Record::from_stored(connection, external_id, &text).map_err(|e| unreadable(&e))
            })
            .transpose()
    }

    fn finish_run(
        &mut self,
        run: RunId,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3, error = ?4 WHERE id = ?1",
                params![run, status.as_str(), now(), error],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn runs(&self, connection: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let location = self.location.display().to_string();
        self.query(
            "SELECT id, connection, full, started_at, finished_at, status, pages,
                    records_written, records_deleted, diagnostics, error
             FROM runs WHERE (?1 IS NULL OR connection = ?1) ORDER BY id DESC LIMIT ?2",
            params![connection, limit as i64],
            |r| {
                let id = r.get(0)?;
                let status = match RunStatus::parse(&location, id, r.get_ref(5)?.as_str()?) {
                    Ok(status) => status,
                    Err(e) => return Ok(Err(e)),
                };
                Ok(Ok(RunRecord {
                    id,
                    connection: r.get(1)?,
                    full: r.get::<_, i64>(2)? != 0,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    status,
                    pages: r.get::<_, i64>(6)? as u64,
                    records_written: r.get::<_, i64>(7)? as u64,
                    records_deleted: r.get::<_, i64>(8)? as u64,
                    diagnostics: r.get::<_, i64>(9)? as u64,
                    error: r.get(10)?,
                }))
            },
        )?
        .into_iter()
        .collect()
    }

    fn diagnostics(&self, run: RunId) -> Result<Vec<DiagnosticRecord>, StoreError> {
        self.query(
            "SELECT stream, severity, code, message, location FROM diagnostics
                 WHERE run = ?1 ORDER BY seq",
            params![run],
            |r| {
                Ok(DiagnosticRecord {
                    stream: r.get(0)?,
                    severity: severity_of(&r.get::<_, String>(1)?),
                    code: r.get(2)?,
                    message: r.get(3)?,
                    location: r.get(4)?,
                })
            },
        )
    }

    fn record_job(&mut self, name: &str, due: &str, outcome: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO jobs (name, last_due, last_outcome, last_finished) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET last_due = ?2, last_outcome = ?3, last_finished = ?4",
                params![name, due, outcome, now()],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn record_report(&mut self, kind: &str, as_of: &str, at: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO reports (kind, as_of, generated_at) VALUES (?1, ?2, ?3)",
                params![kind, as_of, at],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn last_report(&self, kind: &str, until: Option<&str>) -> Result<Option<String>, StoreError> {
        Ok(self
            .query(
                "SELECT generated_at FROM reports WHERE kind = ?1 AND (?2 IS NULL OR as_of <= ?2) \
                 ORDER BY id DESC LIMIT 1",
                params![kind, until],
                |r| r.get(0),
            )?
            .into_iter()
            .next())
    }

    fn job_state(&self, name: &str) -> Result<Option<crate::JobRecord>, StoreError> {
        Ok(self
            .query(
                "SELECT last_due, last_outcome, last_finished FROM jobs WHERE name = ?1",
                params![name],
                |r| {
                    Ok(crate::JobRecord {
                        last_due: r.get(0)?,
                        last_outcome: r.get(1)?,
                        last_finished: r.get(2)?,
                    })
                },
            )?
            .into_iter()
            .next())
    }

    fn job_last_due(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .query(
                "SELECT last_due FROM jobs WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )?
            .into_iter()
            .next())
    }

    fn current_diagnostics(&self) -> Result<Vec<(String, DiagnosticRecord)>, StoreError> {
        let rows = self.query(
            "SELECT s.connection, d.stream, d.severity, d.code, d.message, d.location
                 FROM stream_state s
                 JOIN runs r ON r.connection = s.connection
                   AND r.id BETWEEN COALESCE(s.diagnostics_since, s.diagnostics_run) AND s.diagnostics_run
                 JOIN diagnostics d ON d.run = r.id AND d.stream = s.stream
                 ORDER BY s.connection, d.run DESC, d.seq",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    DiagnosticRecord {
                        stream: r.get(1)?,
                        severity: severity_of(&r.get::<_, String>(2)?),
                        code: r.get(3)?,
                        message: r.get(4)?,
                        location: r.get(5)?,
                    },
                ))
            },
        )?;
        Ok(latest_diagnostics(rows))
    }

    fn record_finding_batches(
        &mut self,
        batches: &mut (dyn Iterator<Item = Vec<Finding>> + Send),
        at: &str,
    ) -> Result<FindingChanges, StoreError> {
        let db = db_error(&self.location);
        let tx = self.conn.transaction().map_err(db)?;
        let mut changes = FindingChanges::default();
        {
            // The open findings, read once, each marked when given again: a finding given
            // that is open needs no look-up, and those not given are resolved at the end.
            // (A look-up and a row in a temporary table for each finding given took as long
            // as writing it.) The resolved ones, which a store keeps for good, are not read:
            // a finding given that is not open is looked up.
            let mut open = OpenFindings::default();
            {
                let mut stmt = tx.prepare_cached(crate::open_findings::OPEN).map_err(db)?;
                let mut rows = stmt.query([]).map_err(db)?;
                while let Some(row) = rows.next().map_err(db)? {
                    let text = |i: usize| -> Result<&str, StoreError> {
                        row.get_ref(i)
                            .map_err(db)?
                            .as_str()
                            .map_err(|e| db(e.into()))
                    };
                    let maybe = |i: usize| -> Result<Option<&str>, StoreError> {
                        row.get_ref(i)
                            .map_err(db)?
                            .as_str_or_null()
                            .map_err(|e| db(e.into()))
                    };
                    let content = Content {
                        severity: text(1)?,
                        title: text(2)?,
                        message: text(3)?,
                        evidence: text(4)?,
                        subject_connection: maybe(5)?,
                        subject_external_id: maybe(6)?,
                    };
                    open.add(text(0)?, &content);
                }
            }
            open.ready();
            // The pass left the findings' pages in the page cache (2 MB of them at 44,000
            // findings), at the moment the rules hold the most: let them go.
            tx.execute_batch("PRAGMA shrink_memory").map_err(db)?;
            let mut existing = tx
                .prepare_cached("SELECT resolved_at IS NULL FROM findings WHERE fingerprint = ?1")
                .map_err(db)?;
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO findings (fingerprint, rule_id, severity, subject_kind, subject_key,
                       title, message, evidence, first_seen, last_seen, resolved_at,
                       subject_connection, subject_external_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, NULL, ?10, ?11)
                     ON CONFLICT (fingerprint) DO UPDATE SET
                       severity = excluded.severity, title = excluded.title,
                       message = excluded.message, evidence = excluded.evidence,
                       last_seen = excluded.last_seen, resolved_at = NULL,
                       subject_connection = excluded.subject_connection,
                       subject_external_id = excluded.subject_external_id",
                )
                .map_err(db)?;
            // A panic while a batch is pulled unwinds through here: the transaction is rolled
            // back when dropped, and nothing is recorded.
            for batch in batches {
                // Each finding let go as soon as it is written.
                for f in batch {
                    match open.given(&f) {
                        // Nothing to write: its last sighting is the check's, written once
                        // at the end. A row rewritten as it was, in the fingerprints' random
                        // order, was most of the time the findings took to record.
                        Given::Unchanged => {
                            changes.persisting += 1;
                            continue;
                        }
                        Given::Changed => changes.persisting += 1,
                        Given::NotOpen => {
                            let was_open: Option<bool> = existing
                                .query_row(params![f.fingerprint], |r| r.get(0))
                                .optional()
                                .map_err(db)?;
                            match was_open {
                                // Written earlier in this call: given twice.
                                Some(true) => changes.persisting += 1,
                                Some(false) => changes.reopened += 1,
                                None => changes.new += 1,
                            }
                        }
                    }
                    upsert
                        .execute(params![
                            f.fingerprint,
                            f.rule_id,
                            f.severity.as_str(),
                            f.subject.kind.as_str(),
                            f.subject.key,
                            f.title,
                            f.message,
                            f.evidence.as_str(),
                            at,
                            f.subject.connection,
                            f.subject.external_id
                        ])
                        .map_err(db)?;
                }
            }
            let mut resolve = tx
                .prepare_cached(crate::open_findings::sqlite::RESOLVE)
                .map_err(db)?;
            for fingerprint in open.not_given() {
                changes.resolved += resolve.execute(params![at, fingerprint]).map_err(db)? as u64;
            }
            // The findings still open are those given: each seen now.
            tx.execute(crate::open_findings::sqlite::CHECKED, params![at])
                .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(changes)
    }

    fn findings(&self, include_resolved: bool) -> Result<Vec<StoredFinding>, StoreError> {
        self.findings_where("?1 OR resolved_at IS NULL", params![include_resolved])
    }

    fn each_finding(
        &self,
        include_resolved: bool,
        each: &mut dyn FnMut(StoredFinding),
    ) -> Result<(), StoreError> {
        match include_resolved {
            true => self.each_finding_where("1", [], true, each),
            false => self.each_finding_where("resolved_at IS NULL", [], true, each),
        }
    }

    fn findings_resolved_after(&self, after: &str) -> Result<Vec<StoredFinding>, StoreError> {
        // Text against text in the BINARY collation: the comparison Rust's `>` on the same
        // strings makes.
        self.findings_where("resolved_at > ?1", params![after])
    }

    fn each_stored(
        &self,
        kind: EntityKind,
        read: &mut dyn FnMut(&str, &str, &str) -> Result<(), serde_json::Error>,
    ) -> Result<(), StoreError> {
        // Row by row: neither the stored text nor the parsed records are ever all in memory.
        // One connection at a time, so that each read is a range of the primary key
        // (connection, kind, external_id) in its order: asked for one kind across all
        // connections, SQLite scanned the whole key for every kind and sorted each
        // connection's rows, record text and all, in a temporary B-tree (2.7 s instead of 1.1
        // s for a million time entries). The order is the same: connection, then external id.
        let connections: Vec<String> = {
            // Each step is one seek in the key: as cheap for 1,000,000 rows as for 10.
            let mut stmt = self
                .conn
                .prepare_cached(
                    "WITH RECURSIVE c(name) AS (
                         SELECT min(connection) FROM records
                         UNION ALL
                         SELECT (SELECT min(connection) FROM records WHERE connection > c.name)
                         FROM c WHERE c.name IS NOT NULL)
                     SELECT name FROM c WHERE name IS NOT NULL",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?
        };
        self.read_stored(Reading::ByKey(&connections), kind, read)
    }

    fn each_stored_in_any_order(
        &self,
        kind: EntityKind,
        read: &mut dyn FnMut(&str, &str, &str) -> Result<(), serde_json::Error>,
    ) -> Result<(), StoreError> {
        // Time entries are the bulk of a store (a million beside 100,000 work items and
        // 10,000 initiatives): they are read in the table's order, the others by the key.
        if kind == EntityKind::TimeEntry {
            self.read_stored(Reading::Table, kind, read)
        } else {
            self.each_stored(kind, read)
        }
    }

    fn each_time_entry(&self, read: &mut dyn NumberedTimeEntries) -> Result<(), StoreError> {
        entries::each_time_entry(&self.location, read)
    }

    fn claim(
        &mut self,
        key: &str,
        instance: &str,
        lease: std::time::Duration,
    ) -> Result<ClaimOutcome, StoreError> {
        let (at, until) = (now(), now_plus(lease));
        let db = db_error(&self.location);
        let tx = self.conn.transaction().map_err(db)?;
        let granted = tx
            .execute(
                "INSERT INTO claims (key, instance, claimed_at, lease_until, done)
                 VALUES (?1, ?2, ?3, ?4, 0)
                 ON CONFLICT (key) DO UPDATE SET instance = excluded.instance,
                   claimed_at = CASE WHEN claims.instance = excluded.instance
                                THEN claims.claimed_at ELSE excluded.claimed_at END,
                   lease_until = excluded.lease_until
                 WHERE claims.done = 0
                   AND (claims.lease_until < ?3 OR claims.instance = excluded.instance)",
                params![key, instance, at, until],
            )
            .map_err(db)?;
        let outcome = if granted == 1 {
            ClaimOutcome::Claimed
        } else {
            let claim = tx
                .query_row(
                    "SELECT key, instance, claimed_at, lease_until, done FROM claims WHERE key = ?1",
                    params![key],
                    claim_row,
                )
                .map_err(db)?;
            if claim.done {
                ClaimOutcome::Done(claim)
            } else {
                ClaimOutcome::Held(claim)
            }
        };
        tx.commit().map_err(db)?;
        Ok(outcome)
    }

    fn renew_claim(
        &mut self,
        key: &str,
        instance: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "UPDATE claims SET lease_until = ?3 WHERE key = ?1 AND instance = ?2 AND done = 0",
                params![key, instance, now_plus(lease)],
            )
            .map(|n| n == 1)
            .map_err(|e| self.err(e))
    }

    fn release_claim(&mut self, key: &str, instance: &str, done: bool) -> Result<(), StoreError> {
        let db = db_error(&self.location);
        let tx = self.conn.transaction().map_err(db)?;
        if done {
            tx.execute(
                "UPDATE claims SET done = 1, lease_until = ?3 WHERE key = ?1 AND instance = ?2",
                params![key, instance, now()],
            )
        } else {
            tx.execute(
                "DELETE FROM claims WHERE key = ?1 AND instance = ?2 AND done = 0",
                params![key, instance],
            )
        }
        .map_err(db)?;
        tx.execute(
            "DELETE FROM claims WHERE done = 1 AND lease_until < ?1",
            params![crate::now_minus(crate::DONE_CLAIMS_KEPT)],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    fn claims(&self) -> Result<Vec<Claim>, StoreError> {
        self.query(
            "SELECT key, instance, claimed_at, lease_until, done FROM claims ORDER BY key",
            [],
            claim_row,
        )
    }

    fn dump_table(
        &self,
        table: &Table,
        each: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // A record's document goes whole, as text: what the other backend keeps, and what
        // `load_rows` packs again.
        let mut documents = match table.name {
            "records" => Some(Documents::new(&self.conn, &self.location)?),
            _ => None,
        };
        let sql = format!(
            "SELECT {}{} FROM {} ORDER BY {}",
            crate::postgres::quoted(table.columns),
            if documents.is_some() {
                ", fetched_at"
            } else {
                ""
            },
            as_text(table),
            table.key
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, column) in table.columns.iter().enumerate() {
                let value = row.get_ref(i).map_err(|e| self.err(e))?;
                if let (Some(documents), &"record") = (documents.as_mut(), column) {
                    let fetched_at: Option<String> =
                        row.get(table.columns.len()).map_err(|e| self.err(e))?;
                    let mut text = String::new();
                    documents
                        .onto_at(value, fetched_at.as_deref(), &mut text)
                        .map_err(|e| StoreError::Database {
                            location: self.location.display().to_string(),
                            message: format!("a row of records is not readable: {e}"),
                        })?;
                    values.push(Value::Text(text));
                    continue;
                }
                values.push(match value {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Int(n),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    other => {
                        return Err(StoreError::Database {
                            location: self.location.display().to_string(),
                            message: format!(
                                "{}.{column} holds a {:?} value, which Tollgate never writes",
                                table.name,
                                other.data_type()
                            ),
                        });
                    }
                });
            }
            each(values)?;
        }
        Ok(())
    }

    fn load_rows(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            as_text(table),
            crate::postgres::quoted(table.columns),
            (1..=table.columns.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let db = db_error(&self.location);
        let tx = self.conn.transaction().map_err(db)?;
        {
            let mut insert = tx.prepare(&sql).map_err(db)?;
            // Records' documents are packed, as a sync writes them.
            let document = (table.name == "records")
                .then(|| table.columns.iter().position(|c| *c == "record"))
                .flatten();
            let mut packer = match document {
                Some(_) => Some(packer(&self.location)?),
                None => None,
            };
            // A time entry's document gets its summary, as a sync writes it.
            let kind = table.columns.iter().position(|c| *c == "kind");
            let item_columns = (|| {
                let at = |name: &str| table.columns.iter().position(|c| *c == name);
                Some(ItemColumns {
                    connection: at("connection")?,
                    kind: kind?,
                    external_id: at("external_id")?,
                })
            })()
            .filter(|_| document.is_some());
            let mut names = entries::NameNumbers::default();
            for row in rows {
                let time_entry = kind.is_some_and(
                    |k| matches!(&row[k], Value::Text(t) if t == EntityKind::TimeEntry.as_str()),
                );
                let mut values = Vec::with_capacity(row.len());
                for (i, v) in row.iter().enumerate() {
                    values.push(match (v, packer.as_mut()) {
                        (Value::Null, _) => rusqlite::types::Value::Null,
                        (Value::Int(n), _) => rusqlite::types::Value::Integer(*n),
                        (Value::Text(t), Some(packer)) if Some(i) == document => {
                            let summary = match time_entry {
                                true => names.of_text(&tx, t).map_err(db)?,
                                false => None,
                            };
                            rusqlite::types::Value::Blob(
                                packer.pack_with(t, summary.as_deref()).map_err(|e| {
                                    StoreError::Database {
                                        location: self.location.display().to_string(),
                                        message: format!("a row of records cannot be packed: {e}"),
                                    }
                                })?,
                            )
                        }
                        (Value::Text(t), _) => rusqlite::types::Value::Text(t.clone()),
                    });
                }
                insert
                    .execute(rusqlite::params_from_iter(values))
                    .map_err(db)?;
                // An initiative's or a work item's keys beside it (schema 14), as a sync
                // writes them; a document that does not read gets none, and `keys` names it.
                if let (Some(at), Some(doc)) = (&item_columns, document) {
                    let text = |i: usize| match &row[i] {
                        Value::Text(t) => Some(t.as_str()),
                        _ => None,
                    };
                    if let (Some(kind @ ("initiative" | "work-item")), Some(connection), Some(id)) =
                        (text(at.kind), text(at.connection), text(at.external_id))
                        && let Some(Ok((key, initiative))) = text(doc).map(item_keys_of_text)
                    {
                        tx.prepare_cached(concat!(
                            "UPDATE records SET item_key = ?4, item_initiative = ?5
                             WHERE connection = ?1 AND kind = ",
                            kind_code!(2),
                            " AND external_id = ?3"
                        ))
                        .and_then(|mut u| u.execute(params![connection, kind, id, key, initiative]))
                        .map_err(db)?;
                    }
                }
            }
        }
        tx.commit().map_err(db)
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        let db = db_error(&self.location);
        let tx = self.conn.transaction().map_err(db)?;
        // Children before parents (diagnostics reference runs).
        for table in crate::TABLES.iter().rev() {
            tx.execute(&format!("DELETE FROM {}", table.name), [])
                .map_err(db)?;
        }
        tx.execute_batch(
            "DELETE FROM record_streams; DELETE FROM record_fetches; DELETE FROM record_names;",
        )
        .map_err(db)?;
        tx.execute(
            "DELETE FROM sqlite_sequence WHERE name IN ('runs', 'reports')",
            [],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        self.names.forget();
        Ok(())
    }
}

impl SqliteStore {
    /// [`crate::Store::commit_page`]'s transaction.
    fn write_page(
        &mut self,
        run: RunId,
        connection: &str,
        stream: &str,
        page: &PageWrite,
    ) -> Result<(u64, u64), StoreError> {
        let db = db_error(&self.location);
        let packer = match &mut self.packer {
            Some(packer) => packer,
            None => self.packer.insert(packer(&self.location)?),
        };
        let names = &mut self.names;
        names.begin();
        let tx = self.conn.transaction().map_err(db)?;
        let sweep: RunId = tx
            .query_row(
                "SELECT sweep FROM stream_state WHERE connection = ?1 AND stream = ?2",
                params![connection, stream],
                |r| r.get(0),
            )
            .map_err(db)?;
        let mut written = 0u64;
        {
            // The stream's number, given it the first time the stream writes.
            tx.prepare_cached("INSERT OR IGNORE INTO record_streams (name) VALUES (?1)")
                .and_then(|mut s| s.execute([stream]))
                .map_err(db)?;
            let stream: i64 = tx
                .prepare_cached("SELECT code FROM record_streams WHERE name = ?1")
                .and_then(|mut s| s.query_row([stream], |r| r.get(0)))
                .map_err(db)?;
            let mut upsert = tx
                .prepare_cached(concat!(
                    "INSERT INTO records (connection, kind, external_id, stream, record, fetched, sweep, deleted_at,
                                          item_key, item_initiative)
                     VALUES (?1, ",
                    kind_code!(2),
                    ", ?3, ?4, ?5, ?7, ?6, NULL, ?8, ?9)
                     ON CONFLICT (connection, kind, external_id) DO UPDATE SET
                       stream = excluded.stream, record = excluded.record,
                       fetched = excluded.fetched, sweep = excluded.sweep, deleted_at = NULL,
                       item_key = excluded.item_key, item_initiative = excluded.item_initiative"
                ))
                .map_err(db)?;
            // The fetch time's number: the records of a page share theirs, as a rule.
            let mut fetched: Option<(&str, i64)> = None;
            // Each record's document and summary are written over the last one's.
            let mut document = crate::DocumentBuffers::default();
            let mut summary = Vec::new();
            for record in &page.records {
                let at = record.provenance.fetched_at.as_str();
                let code = match fetched {
                    Some((known, code)) if known == at => code,
                    _ => {
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO record_fetches (fetched_at) VALUES (?1)",
                        )
                        .and_then(|mut s| s.execute([at]))
                        .map_err(db)?;
                        let code: i64 = tx
                            .prepare_cached("SELECT code FROM record_fetches WHERE fetched_at = ?1")
                            .and_then(|mut s| s.query_row([at], |r| r.get(0)))
                            .map_err(db)?;
                        fetched = Some((at, code));
                        code
                    }
                };
                let json = crate::document_onto(connection, record, false, &mut document);
                let summarised = names.of_record(&tx, record, &mut summary).map_err(db)?;
                let packed = packer
                    .pack_onto(json, summarised.then_some(summary.as_slice()))
                    .map_err(|e| StoreError::Database {
                        location: self.location.display().to_string(),
                        message: format!(
                            "record {connection}/{}/{} cannot be packed: {e}",
                            record.entity.kind().as_str(),
                            record.provenance.external_id
                        ),
                    })?;
                let (item_key, item_initiative) = item_keys(record);
                written += upsert
                    .execute(params![
                        connection,
                        record.entity.kind().as_str(),
                        record.provenance.external_id,
                        stream,
                        packed,
                        sweep,
                        code,
                        item_key,
                        item_initiative
                    ])
                    .map_err(db)? as u64;
            }
        }
        let mut deleted = 0u64;
        {
            let now = now();
            let mut delete = tx
                .prepare_cached(concat!(
                    "UPDATE records SET deleted_at = ?4
                         WHERE connection = ?1 AND kind = ",
                    kind_code!(2),
                    " AND external_id = ?3 AND deleted_at IS NULL"
                ))
                .map_err(db)?;
            for (kind, id) in &page.deletions {
                deleted += delete
                    .execute(params![connection, kind.as_str(), id, now])
                    .map_err(db)? as u64;
            }
        }
        let rejected = page
            .diagnostics
            .iter()
            .any(|d| d.severity >= tollgate_dmo::Severity::Error);
        tx.execute(
            "UPDATE stream_state SET rejected = (rejected OR ?3) WHERE connection = ?1 AND stream = ?2",
            params![connection, stream, rejected],
        )
        .map_err(db)?;
        tx.execute(
            "UPDATE stream_state SET cursor = ?3, exhausted = (?3 IS NULL),
               pending_checkpoint = COALESCE(?4, pending_checkpoint), full = (full OR ?5),
               diagnostics_run = CASE WHEN ?7 THEN ?6 ELSE diagnostics_run END,
               diagnostics_since = CASE
                 WHEN ?7 AND (full OR ?5 OR diagnostics_since IS NULL) THEN ?6
                 ELSE diagnostics_since END
             WHERE connection = ?1 AND stream = ?2",
            params![
                connection,
                stream,
                page.next_cursor,
                page.checkpoint,
                page.snapshot,
                run,
                // This pass read the source: its diagnostics replace the earlier ones.
                page.snapshot || !page.records.is_empty() || !page.diagnostics.is_empty()
            ],
        )
        .map_err(db)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO diagnostics (run, seq, stream, severity, code, message, location)
                     VALUES (?1, (SELECT COALESCE(MAX(seq), -1) + 1 FROM diagnostics WHERE run = ?1),
                             ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db)?;
            for d in &page.diagnostics {
                insert
                    .execute(params![
                        run,
                        d.stream,
                        d.severity.as_str(),
                        d.code,
                        d.message,
                        d.location
                    ])
                    .map_err(db)?;
            }
        }
        let counted = tx
            .execute(
                "UPDATE runs SET pages = pages + 1, records_written = records_written + ?2,
                   records_deleted = records_deleted + ?3, diagnostics = diagnostics + ?4
                 WHERE id = ?1",
                params![
                    run,
                    written as i64,
                    deleted as i64,
                    page.diagnostics.len() as i64
                ],
            )
            .map_err(db)?;
        // (What the diagnostics' foreign key said, and is not checked here.)
        if counted == 0 {
            return Err(StoreError::Database {
                location: self.location.display().to_string(),
                message: format!("run {run} is not in the store: its page is not written"),
            });
        }
        tx.commit().map_err(db)?;
        names.committed();
        Ok((written, deleted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store at `path` opened as it is, for a test to migrate it to an older version.
    fn unmigrated(path: &Path) -> SqliteStore {
        SqliteStore {
            conn: Connection::open(path).unwrap(),
            location: path.to_path_buf(),
            packer: None,
            names: Default::default(),
        }
    }
    use crate::suite::{names, team};

    /// The one number a `SELECT COUNT(*) ...` answers.
    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn migrates_from_empty_and_from_schema_12() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let mut old = unmigrated(&path);
            // Schema 12, the last before the two whose migrations rewrite rows (13: time
            // entries' summaries; 14: keys beside initiatives and work items, tested on their own).
            old.migrate(&MIGRATIONS[..12]).unwrap();
            assert_eq!(old.schema_version().unwrap(), 12);
            // Documents as text, as the rows of a copy were given before schema 13.
            let entry = crate::suite::odd_time_entries("hr", 1, "2026-11-27T00:00:00.000Z");
            old.conn
                .execute_batch(&format!(
                    "INSERT INTO records_as_text (connection, kind, external_id, stream, record,
                         sweep, deleted_at)
                     VALUES ('hr','team','t1','teams','{}',1,NULL),
                            ('hr','time-entry','t00000','times','{}',1,NULL)",
                    serde_json::to_string(&team("t1", "Kept")).unwrap(),
                    crate::document("hr", &entry[0]),
                ))
                .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(names(&s), ["t1=Kept"]);
        // Schema 13 gave the time entry its summary (packing it); the team's text stays.
        let stored: Vec<(String, String)> = s
            .query(
                "SELECT typeof(record), hex(substr(record, 1, 1)) FROM records ORDER BY kind",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            stored,
            [("blob".into(), "02".into()), ("text".into(), "7B".into())]
        );
        let fresh = SqliteStore::open(&dir.path().join("new.db")).unwrap();
        assert_eq!(fresh.schema_version().unwrap(), SCHEMA_VERSION);
        // Every kind has its number (a new kind comes with a migration that numbers it).
        let kinds: Vec<String> = fresh
            .query("SELECT name FROM record_kinds ORDER BY code", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kinds, EntityKind::ALL.map(|k| k.as_str().to_string()));
    }

    /// The time entries of `s`, sorted.
    fn by_number(s: &SqliteStore) -> Result<Vec<crate::suite::Entry>, StoreError> {
        crate::suite::entries_by_number(s)
    }

    #[test]
    fn time_entries_written_before_schema_13_get_their_summaries_and_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let records = crate::suite::odd_time_entries("jira", 2_100, "2026-11-27T00:00:00.000Z");
        {
            let mut old = unmigrated(&path);
            // Written as text at schema 11 (schema 12 packs them), one as an unreadable text.
            old.migrate(&MIGRATIONS[..11]).unwrap();
            for r in &records {
                old.conn
                    .execute(
                        "INSERT INTO records VALUES ('jira','time-entry',?1,'worklogs',?2,1,NULL)",
                        params![r.provenance.external_id, crate::document("jira", r)],
                    )
                    .unwrap();
            }
            old.conn
                .execute(
                    "INSERT INTO records VALUES ('jira','time-entry','bad','worklogs','{\"x\":1}',1,NULL)",
                    [],
                )
                .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        let kinds: Vec<(i64, i64)> = s
            .query(
                "SELECT substr(record, 1, 1) = x'02', count(*) FROM records GROUP BY 1 ORDER BY 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        // Every readable entry has its summary; the unreadable one is kept as it was.
        assert_eq!(kinds, [(0, 1), (1, 2_100)]);
        // Read by number, the unreadable one is named; without it, the entries as written.
        let e = by_number(&s).unwrap_err().to_string();
        assert!(
            e.contains("record jira/time-entry/bad is not readable"),
            "{e}"
        );
        s.conn
            .execute("DELETE FROM records WHERE external_id = 'bad'", [])
            .unwrap();
        let mut want: Vec<_> = records.iter().map(crate::suite::collected).collect();
        want.sort();
        assert_eq!(by_number(&s).unwrap(), want);
        // And the documents unpack as before.
        let mut whole = Vec::new();
        s.each_record(EntityKind::TimeEntry, &mut |r| whole.push(r))
            .unwrap();
        assert_eq!(whole, records);
    }

    #[test]
    fn a_damaged_summary_or_one_naming_no_name_is_an_error_naming_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let records = crate::suite::odd_time_entries("jira", 40, "2026-11-27T00:00:00.000Z");
        crate::suite::write_page(&mut s, "jira", "worklogs", &records);
        let mut want: Vec<_> = records.iter().map(crate::suite::collected).collect();
        want.sort();
        assert_eq!(by_number(&s).unwrap(), want);
        let original: Vec<u8> = s
            .conn
            .query_row(
                "SELECT record FROM records WHERE external_id = 't00013'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(original[0], 2, "a time entry is written with its summary");
        let set = |record: &[u8]| {
            s.conn
                .execute(
                    "UPDATE records SET record = ?1 WHERE external_id = 't00013'",
                    params![record],
                )
                .unwrap();
        };
        // Cut inside the summary; a number that never ends; a name number not on record.
        for (damaged, says) in [
            (vec![2u8, 0x81], "cut short"),
            ([vec![2u8], vec![0xff; 11]].concat(), "too large"),
            (
                vec![2u8, 0x7f, 0, 0, 1, 1],
                "name number 127, which is not on record",
            ),
        ] {
            set(&damaged);
            let e = by_number(&s).unwrap_err().to_string();
            assert!(
                e.contains("record jira/time-entry/t00013 is not readable") && e.contains(says),
                "{e}"
            );
        }
        // A document packed without its summary (as before schema 13) reads the same, from
        // its text.
        let mut packer = Packer::new().unwrap();
        let text = crate::document_with("jira", &records[13], false);
        set(&packer.pack(&text).unwrap());
        assert_eq!(by_number(&s).unwrap(), want);
        set(&original);
        assert_eq!(by_number(&s).unwrap(), want);
    }

    /// The keys of `s` for the connection `jira`, sorted.
    fn sorted_keys(s: &SqliteStore) -> Result<Vec<tollgate_dmo::model::StoredKey>, StoreError> {
        let mut keys = s.keys("jira")?;
        keys.sort();
        Ok(keys)
    }

    #[test]
    fn findings_seen_before_schema_15_read_as_stored_and_resolve_at_their_last_sighting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let mut old = unmigrated(&path);
            old.migrate(&MIGRATIONS[..14]).unwrap();
            old.conn
                .execute_batch(crate::suite::FINDINGS_BEFORE_THE_CHECK_TIME_WAS_KEPT)
                .unwrap();
        }
        let mut s = SqliteStore::open(&path).unwrap();
        crate::suite::findings_seen_before_the_check_time_was_kept(&mut s);
    }

    #[test]
    fn initiatives_and_work_items_written_before_schema_14_get_their_keys_beside_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (records, want) = crate::suite::keyed_records("jira", 700);
        {
            let mut old = unmigrated(&path);
            old.migrate(&MIGRATIONS[..13]).unwrap();
            // Packed, as a sync at schema 13 wrote them; one a work item's that is no work
            // item's document.
            let mut packer = Packer::new().unwrap();
            let mut insert = old
                .conn
                .prepare(
                    "INSERT INTO records_as_text (connection, kind, external_id, stream, record,
                         sweep, deleted_at) VALUES ('jira', ?1, ?2, 'issues', ?3, 1, NULL)",
                )
                .unwrap();
            for r in &records {
                let doc = packer.pack(&crate::document("jira", r)).unwrap();
                insert
                    .execute(params![
                        r.entity.kind().as_str(),
                        r.provenance.external_id,
                        doc
                    ])
                    .unwrap();
            }
            insert
                .execute(params!["work-item", "bad", packer.pack("[1]").unwrap()])
                .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        let given = count(&s.conn, "SELECT count(item_key) FROM records");
        assert_eq!(given, 2_100, "every readable one has its key beside it");
        // The unreadable one is read from its document, and named.
        let e = sorted_keys(&s).unwrap_err().to_string();
        assert!(
            e.contains("record jira/work-item/bad is not readable"),
            "{e}"
        );
        s.conn
            .execute("DELETE FROM records WHERE external_id = 'bad'", [])
            .unwrap();
        assert_eq!(sorted_keys(&s).unwrap(), want);
        // Rows without them (written at the shell) are read from their documents, the same.
        s.conn
            .execute(
                "UPDATE records SET item_key = NULL, item_initiative = NULL
                 WHERE external_id LIKE '%1%'",
                [],
            )
            .unwrap();
        assert_eq!(sorted_keys(&s).unwrap(), want);
        // Written again by a sync, the columns are the sync's: the same keys.
        let mut s = s;
        crate::suite::write_page(&mut s, "jira", "issues", &records);
        assert_eq!(count(&s.conn, "SELECT count(item_key) FROM records"), 2_100);
        assert_eq!(sorted_keys(&s).unwrap(), want);
    }

    #[test]
    fn initiatives_and_work_items_copied_in_get_their_keys_beside_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let (records, want) = crate::suite::keyed_records("jira", 10);
        let (table, rows) = crate::suite::record_rows("jira", "issues", &records);
        s.load_rows(table, &rows).unwrap();
        assert_eq!(count(&s.conn, "SELECT count(item_key) FROM records"), 30);
        assert_eq!(
            count(&s.conn, "SELECT count(item_initiative) FROM records"),
            10
        );
        assert_eq!(sorted_keys(&s).unwrap(), want);
    }

    #[test]
    fn time_entries_copied_in_get_their_summaries() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let records = crate::suite::odd_time_entries("jira", 30, "2026-11-27T00:00:00.000Z");
        let (table, rows) = crate::suite::record_rows("jira", "worklogs", &records);
        s.load_rows(table, &rows).unwrap();
        let summarised = count(
            &s.conn,
            "SELECT count(*) FROM records WHERE substr(record, 1, 1) = x'02'",
        );
        assert_eq!(summarised, 30);
        let mut want: Vec<_> = records.iter().map(crate::suite::collected).collect();
        want.sort();
        assert_eq!(by_number(&s).unwrap(), want);
    }

    #[test]
    fn a_record_of_a_kind_without_a_number_fails_the_migration_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut old = unmigrated(&path);
        old.migrate(&MIGRATIONS[..11]).unwrap();
        old.conn
            .execute_batch(
                "INSERT INTO records VALUES ('hr','team','t1','teams','{}',1,NULL);
                 INSERT INTO records VALUES ('hr','gadget','g1','gadgets','{}',1,NULL);",
            )
            .unwrap();
        let e = old.migrate(MIGRATIONS).unwrap_err().to_string();
        assert!(
            e.contains("migration to schema version 12") && e.contains("NOT NULL"),
            "{e}"
        );
        assert_eq!(old.schema_version().unwrap(), 11);
        let kept = count(
            &old.conn,
            "SELECT COUNT(*) FROM records WHERE kind = 'gadget'",
        );
        assert_eq!(kept, 1);
    }

    #[test]
    fn foreign_keys_are_checked_again_after_a_page_written_or_failed() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let run = s.begin_run("hr", false).unwrap();
        s.begin_stream(run, "hr", "teams", false).unwrap();
        let page = PageWrite {
            records: vec![team("t1", "First")],
            ..PageWrite::default()
        };
        // A page written, and pages that fail (a stream never begun, a run not begun).
        s.commit_page(run, "hr", "teams", &page).unwrap();
        let e = s.commit_page(run, "hr", "people", &page).unwrap_err();
        assert!(e.to_string().contains("t.db"), "{e}");
        let e = s.commit_page(run + 1, "hr", "teams", &page).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("run {} is not in the store", run + 1)),
            "{e}"
        );
        // A row naming a kind, a stream or a fetch time the store does not have is refused.
        for (kind, stream, fetched) in [(99, 1, 1), (6, 99, 1), (6, 1, 99)] {
            let e = s
                .conn
                .execute(
                    "INSERT INTO records (connection, kind, external_id, stream, record, fetched, sweep)
                     VALUES ('hr', ?1, 'x', ?2, x'00', ?3, 1)",
                    params![kind, stream, fetched],
                )
                .unwrap_err();
            assert!(
                e.to_string().contains("FOREIGN KEY constraint failed"),
                "{e}"
            );
        }
        assert_eq!(count(&s.conn, "SELECT COUNT(*) FROM records"), 1);
    }

    #[test]
    fn documents_are_stored_packed_beside_older_text_and_a_damaged_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut s = SqliteStore::open(&path).unwrap();
        let run = s.begin_run("hr", false).unwrap();
        s.begin_stream(run, "hr", "teams", false).unwrap();
        let mut long = team("t1", &"a long team name ".repeat(20));
        long.extra = serde_json::json!({"cost_centre": "42", "note": "x".repeat(300)});
        let page = PageWrite {
            records: vec![long.clone(), team("t2", "Second")],
            next_cursor: None,
            checkpoint: Some("cp".into()),
            ..PageWrite::default()
        };
        s.commit_page(run, "hr", "teams", &page).unwrap();
        // A document as a version before schema 12 wrote it: JSON text.
        s.conn
            .execute(
                "INSERT INTO records_as_text
                   (connection, kind, external_id, stream, record, sweep, deleted_at)
                 VALUES ('hr','team','t3','teams',?1,1,NULL)",
                params![serde_json::to_string(&team("t3", "Old")).unwrap()],
            )
            .unwrap();
        let stored: Vec<(String, String, i64)> = s
            .query(
                "SELECT external_id, typeof(record), length(record) FROM records ORDER BY 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let numbered = count(
            &s.conn,
            "SELECT COUNT(*) FROM records WHERE typeof(kind) = 'integer'
                   AND typeof(stream) = 'integer'",
        );
        assert_eq!(numbered, 3, "kinds and streams are kept as numbers");
        // The page's one fetch time, numbered once; the older row holds its own.
        let fetches: (i64, i64) = s
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM record_fetches),
                        (SELECT COUNT(*) FROM records WHERE fetched IS NOT NULL)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(fetches, (1, 2));
        let text = crate::document("hr", &long).len() as i64;
        assert_eq!(stored[0].1, "blob");
        assert!(stored[0].2 * 3 < text, "{} bytes for {text}", stored[0].2);
        assert_eq!(stored[1].1, "blob");
        assert_eq!(stored[2].1, "text");
        // Read back whole, packed or not, by every reader.
        assert_eq!(
            names(&s),
            [
                format!("t1={}", "a long team name ".repeat(20)),
                "t2=Second".into(),
                "t3=Old".into()
            ]
        );
        assert_eq!(s.record("hr", EntityKind::Team, "t1").unwrap(), Some(long));
        let mut exported = Vec::new();
        s.dump_table(
            crate::TABLES.iter().find(|t| t.name == "records").unwrap(),
            &mut |row| {
                exported.push(row[4].clone());
                Ok(())
            },
        )
        .unwrap();
        assert!(
            exported
                .iter()
                .all(|v| matches!(v, Value::Text(t) if t.starts_with('{'))),
            "{exported:?}"
        );
        // A damaged document, and one packed against a dictionary this version lacks: errors
        // that name the record and say what is wrong, from every reader.
        for (bytes, says) in [
            (vec![1u8, 0x20, 0x05, 0xff, 0xff], "damaged"),
            (vec![9u8, 1, 2, 3], "dictionary 9"),
        ] {
            s.conn
                .execute(
                    "UPDATE records SET record = ?1 WHERE external_id = 't2'",
                    params![bytes],
                )
                .unwrap();
            let e = s.records(EntityKind::Team).unwrap_err().to_string();
            assert!(e.contains("record hr/team/t2 is not readable"), "{e}");
            assert!(e.contains(says) && e.contains("t.db"), "{e}");
            let e = s
                .record("hr", EntityKind::Team, "t2")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("record hr/team/t2 is not readable") && e.contains(says),
                "{e}"
            );
        }
        // (Past the foreign key, as a damaged file would be.)
        s.conn
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 UPDATE records SET fetched = 99 WHERE external_id = 't1';",
            )
            .unwrap();
        let e = s
            .record("hr", EntityKind::Team, "t1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("record hr/team/t1 is not readable") && e.contains("number 99"),
            "{e}"
        );
        s.conn
            .execute("UPDATE records SET kind = 2 WHERE external_id = 't2'", [])
            .unwrap();
        let e = s.keys("hr").unwrap_err().to_string();
        assert!(e.contains("record hr/work-item/t2 is not readable"), "{e}");
    }

    #[test]
    fn processes_opening_a_new_database_at_once_migrate_it_once() {
        // A sync and a `tollgate status` started together on a fresh directory: before the
        // fix, the loser of the race failed with "table already exists" or a busy snapshot.
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.db");
            let barrier = std::sync::Barrier::new(4);
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..4)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            SqliteStore::open(&path).map(|s| s.schema_version().unwrap())
                        })
                    })
                    .collect();
                for h in handles {
                    let version = h.join().unwrap();
                    assert_eq!(
                        version.map_err(|e| e.to_string()),
                        Ok(SCHEMA_VERSION),
                        "round {round}"
                    );
                }
            });
        }
    }

    #[test]
    fn refuses_a_newer_schema_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        SqliteStore::open(&path).unwrap();
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = SqliteStore::open(&path).err().unwrap();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade Tollgate"), "{err}");
        let version: i64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION + 1);
    }
}
