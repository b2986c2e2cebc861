//! The shared store: PostgreSQL, for several instances on one database.
//!
//! The same tables and the same semantics as [`crate::sqlite`]: each method that must be
//! atomic is one transaction. The driver is `postgres` (the synchronous client of
//! tokio-postgres): the [`Store`] trait is synchronous, and this driver keeps it so without
//! a second async layer. Inside the host's multi-threaded runtime each call runs under
//! `block_in_place`, so the client's own runtime never nests in the host's.
//!
//! The schema version is a row of `tollgate_schema`; migrations run on open under a
//! transaction-scoped advisory lock, so instances starting together apply each once, and a
//! newer database is refused.
//!
//! Connections are made without TLS (the `postgres` crate's `NoTls`): a server that demands
//! TLS (`sslmode=require`) is refused with the driver's error. Run the database on a private
//! network or a local socket (docs/operations.md).

use super::{
    Claim, ClaimOutcome, DiagnosticRecord, FindingChanges, PageWrite, RunId, RunRecord, RunStatus,
    Store, StoreError, StoredFinding, StreamState, Table, Value, now, now_plus, redact_url,
};
use crate::open_findings::{Content, Given, OpenFindings};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Transaction};
use std::cell::RefCell;
use tollgate_dmo::model::{EntityKind, Record};
use tollgate_dmo::rules::Finding;
use tollgate_dmo::rules::portfolio::{
    NumberedTimeEntries, stored_time_entry, time_entry_array, time_entry_from_array,
};

/// Each entry brings the schema from version `index` to `index + 1`. Version 1 is the SQLite
/// schema at its version 10, in one step: Postgres stores start there. Text that orders or
/// identifies rows is in byte order (`COLLATE "C"`), SQLite's, so both backends list alike
/// and the ordered reads use the indexes.
pub const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE records (
        connection     TEXT COLLATE "C" NOT NULL,
        kind           TEXT COLLATE "C" NOT NULL,
        external_id    TEXT COLLATE "C" NOT NULL,
        stream         TEXT COLLATE "C" NOT NULL,
        record         TEXT NOT NULL,
        sweep          BIGINT NOT NULL,
        deleted_at     TEXT,
        -- What `keys` answers, taken out of the document once when it is written: reading
        -- it from 100,000 documents at every stream cost a second.
        item_key         TEXT GENERATED ALWAYS AS (CASE WHEN kind IN ('initiative', 'work-item')
                           THEN record::jsonb #>> '{entity,data,key}' END) STORED,
        item_initiative  TEXT GENERATED ALWAYS AS (CASE WHEN kind = 'work-item'
                           THEN record::jsonb #>> '{entity,data,initiative_key}' END) STORED,
        PRIMARY KEY (connection, kind, external_id)
    );
    CREATE INDEX records_by_stream ON records (connection, stream, sweep);
    CREATE INDEX records_by_kind ON records (kind, connection, external_id) WHERE deleted_at IS NULL;
    CREATE INDEX records_by_connection ON records (connection) WHERE deleted_at IS NULL;
    CREATE TABLE stream_state (
        connection          TEXT COLLATE "C" NOT NULL,
        stream              TEXT COLLATE "C" NOT NULL,
        in_progress         BIGINT NOT NULL DEFAULT 0,
        exhausted           BIGINT NOT NULL DEFAULT 0,
        "full"                BIGINT NOT NULL DEFAULT 0,
        sweep               BIGINT NOT NULL DEFAULT 0,
        cursor              TEXT,
        pending_checkpoint  TEXT,
        checkpoint          TEXT,
        diagnostics_run     BIGINT,
        diagnostics_since   BIGINT,
        rejected            BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (connection, stream)
    );
    CREATE TABLE runs (
        id               BIGSERIAL PRIMARY KEY,
        connection       TEXT NOT NULL,
        "full"             BIGINT NOT NULL,
        started_at       TEXT NOT NULL,
        finished_at      TEXT,
        status           TEXT NOT NULL,
        pages            BIGINT NOT NULL DEFAULT 0,
        records_written  BIGINT NOT NULL DEFAULT 0,
        records_deleted  BIGINT NOT NULL DEFAULT 0,
        diagnostics      BIGINT NOT NULL DEFAULT 0,
        error            TEXT
    );
    CREATE INDEX runs_by_connection ON runs (connection, id);
    CREATE TABLE diagnostics (
        run       BIGINT NOT NULL REFERENCES runs (id),
        seq       BIGINT NOT NULL,
        stream    TEXT NOT NULL,
        severity  TEXT NOT NULL,
        code      TEXT NOT NULL,
        message   TEXT NOT NULL,
        location  TEXT,
        PRIMARY KEY (run, seq)
    );
    CREATE TABLE findings (
        fingerprint          TEXT COLLATE "C" PRIMARY KEY,
        rule_id              TEXT COLLATE "C" NOT NULL,
        severity             TEXT NOT NULL,
        subject_kind         TEXT COLLATE "C" NOT NULL,
        subject_key          TEXT COLLATE "C" NOT NULL,
        title                TEXT NOT NULL,
        message              TEXT NOT NULL,
        evidence             TEXT NOT NULL,
        first_seen           TEXT NOT NULL,
        last_seen            TEXT NOT NULL,
        resolved_at          TEXT,
        subject_connection   TEXT,
        subject_external_id  TEXT
    );
    CREATE TABLE jobs (
        name           TEXT COLLATE "C" PRIMARY KEY,
        last_due       TEXT NOT NULL,
        last_outcome   TEXT NOT NULL,
        last_finished  TEXT NOT NULL
    );
    CREATE TABLE reports (
        id            BIGSERIAL PRIMARY KEY,
        kind          TEXT NOT NULL,
        as_of         TEXT NOT NULL,
        generated_at  TEXT NOT NULL
    );
    CREATE TABLE claims (
        key          TEXT COLLATE "C" PRIMARY KEY,
        instance     TEXT NOT NULL,
        claimed_at   TEXT NOT NULL,
        lease_until  TEXT NOT NULL,
        done         BIGINT NOT NULL DEFAULT 0
    );
    "#,
    // 2: as SQLite's 11: documents that leave out what their row holds (an older Tollgate
    // refuses the store), and an index for the findings resolved since a time.
    r#"
    CREATE INDEX findings_by_resolved ON findings (resolved_at COLLATE "C")
        WHERE resolved_at IS NOT NULL;
    "#,
    // 3: what the portfolio reads of a time entry, beside its document (as SQLite's 13 keeps
    // it in front of the document): reading and parsing a million documents was two thirds
    // of what `check` waited for on this backend. The sync writes it (`entry_of`); for the
    // rows already stored it is made here from the document, the same JSON array. Added as a
    // generated column, which rewrites the table once (an UPDATE of every time entry would
    // leave the table twice its size until a VACUUM FULL), then kept as a plain column: the
    // sync makes it for less than the server's parse of the document a row.
    //
    // A document that is not JSON (a row edited by hand) gets none, and the migration goes on:
    // the reader then reads the document, and its error names the record. (The function
    // catches the cast's error; it is declared immutable, as a generated column needs, which
    // holds for what it computes, and it is dropped with the expression.)
    r#"
    CREATE FUNCTION tollgate_entry_of(record TEXT) RETURNS TEXT IMMUTABLE LANGUAGE plpgsql AS $$
    DECLARE d JSONB;
    BEGIN
      d := record::jsonb #> '{entity,data}';
      RETURN '[' || COALESCE((d -> 'person')::text, 'null')
        || ',' || COALESCE((d -> 'work_item_key')::text, 'null')
        || ',' || COALESCE((d -> 'initiative_key')::text, 'null')
        || ',' || COALESCE((d -> 'date')::text, 'null')
        || ',' || COALESCE((d -> 'seconds')::text, 'null') || ']';
    EXCEPTION WHEN OTHERS THEN
      RETURN NULL;
    END $$;
    ALTER TABLE records ADD COLUMN entry TEXT GENERATED ALWAYS AS
      (CASE WHEN kind = 'time-entry' THEN tollgate_entry_of(record) END) STORED;
    ALTER TABLE records ALTER COLUMN entry DROP EXPRESSION;
    DROP FUNCTION tollgate_entry_of(TEXT);
    "#,
    // 4: every check rewrote each open finding (its last sighting at least, until 5). With
    // its pages full, each new version went to another page with an entry in every index, and
    // the table of 44,000 findings grew to 150 MB between vacuums. With half of each page free,
    // a finding's new version stays on its page (a HOT update: no index entry, the old one
    // pruned in place): the table stays ~28 MB and a check at 10,000 epics is ~0.1 s faster.
    // CLUSTER rewrites the pages already written (a few seconds at most).
    r#"
    ALTER TABLE findings SET (fillfactor = 50);
    CLUSTER findings USING findings_pkey;
    "#,
    // 5: as SQLite's 15: when the findings still open were last seen is the last check's
    // time, kept once (crate::open_findings), not written into each of them by every check
    // (0.3-0.4 s of a check at 10,000 epics, for 44,000 rows that changed in nothing else).
    crate::open_findings::SCHEMA,
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The `entry` column of `record`'s row: for a time entry, what the portfolio reads of it
/// (person, work item, initiative, day, seconds) as a JSON array, read back by
/// [`PostgresStore::each_time_entry`]; none for other kinds.
fn entry_of(record: &Record) -> Option<String> {
    match &record.entity {
        tollgate_dmo::model::Entity::TimeEntry(t) => Some(time_entry_array(&t.into())),
        _ => None,
    }
}

/// Rows taken from the server at a time by the streamed reads ([`PostgresStore::each_row`]).
const ROWS_A_BATCH: usize = 1000;

/// The advisory lock migrations take (any constant unlikely to clash with an application's).
const MIGRATION_LOCK: i64 = 0x7011_6a7e;

/// The advisory lock a check's recording takes ([`Store::record_finding_batches`]).
const FINDINGS_LOCK: i64 = MIGRATION_LOCK + 1;

/// Whether a `postgres://` URL can be parsed and names a database.
pub fn check_url(url: &str) -> Result<(), String> {
    let config: postgres::Config = url.parse().map_err(|e| {
        format!(
            "`{}` is not a PostgreSQL URL the driver reads: {e}; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
            redact_url(url)
        )
    })?;
    if config.get_dbname().is_none_or(str::is_empty) {
        return Err(format!(
            "`{}` names no database; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
            redact_url(url)
        ));
    }
    Ok(())
}

/// The PostgreSQL store.
pub struct PostgresStore {
    /// Always `Some` but in `drop`: the client blocks when it closes, so it is closed where
    /// blocking is allowed.
    client: RefCell<Option<Client>>,
    location: String,
    /// How to connect the reader; its `Debug` leaves the password out, and it is never
    /// printed.
    config: tokio_postgres::Config,
    /// The connection the streamed reads take, made at the first ([`Reader`]).
    reader: RefCell<Option<Reader>>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        let client = self.client.get_mut().take();
        let reader = self.reader.get_mut().take();
        blocking(move || drop((client, reader)));
    }
}

/// A second connection, for the streamed reads of records ([`PostgresStore::each_row`]), driven by a
/// runtime of its own a batch of rows at a time. The synchronous client enters its runtime
/// for every row it hands out: at a million time entries that was a fifth of `check`'s CPU
/// on this backend (the runtime entered and left, its clock read, a waker registered, per
/// row). A connection of its own, since the synchronous client does not lend out its
/// asynchronous one; it sees what the store's connection committed, as any other session.
struct Reader {
    client: tokio_postgres::Client,
    /// Runs the connection's task while a batch is taken; dropped after the client.
    runtime: tokio::runtime::Runtime,
}

/// Run blocking database work from wherever the caller is. The driver blocks on a runtime of
/// its own, which may not nest in the caller's: on a worker of a multi-threaded runtime (the
/// host's) the work runs under `block_in_place`; inside a current-thread runtime (a library
/// user's, a test's) on a thread of its own; outside any runtime as it is.
pub(crate) fn blocking<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        Ok(_) => std::thread::scope(|scope| match scope.spawn(work).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
        Err(_) => work(),
    }
}

/// Column names as SQL identifiers (`full` is a keyword in PostgreSQL).
pub(crate) fn quoted(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn int(v: bool) -> i64 {
    v as i64
}

impl PostgresStore {
    /// Connect to the database `url` names and migrate it.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let location = redact_url(url);
        let config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Database {
            location: location.clone(),
            message: format!("cannot connect: {}", describe(&e)),
        })?;
        let client = blocking(|| {
            let mut client = Client::connect(url, NoTls)?;
            // Notices ("already exists, skipping") are not news for the log.
            client.batch_execute("SET client_min_messages = warning")?;
            Ok::<_, postgres::Error>(client)
        })
        .map_err(|e| StoreError::Database {
            location: location.clone(),
            message: format!("cannot connect: {}", describe(&e)),
        })?;
        let store = PostgresStore {
            client: RefCell::new(Some(client)),
            location,
            config,
            reader: RefCell::new(None),
        };
        store.migrate(MIGRATIONS)?;
        Ok(store)
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError::Database {
            location: self.location.clone(),
            message: describe(&e),
        }
    }

    /// The findings `filter` (an SQL condition written in this file, its parameters
    /// `params`) admits, in rule, subject and fingerprint order (byte order).
    fn findings_where(
        &self,
        filter: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<StoredFinding>, StoreError> {
        let mut all = Vec::new();
        self.each_finding_where(filter, params, false, &mut |f| all.push(f))?;
        crate::in_list_order(&mut all);
        Ok(all)
    }

    /// The findings of [`Self::findings_where`], each handed to `each` as it is made from
    /// its row: in the list's order if `ordered`, else as the server reads them.
    fn each_finding_where(
        &self,
        filter: &str,
        params: &[&(dyn ToSql + Sync)],
        ordered: bool,
        each: &mut dyn FnMut(StoredFinding),
    ) -> Result<(), StoreError> {
        let order = match ordered {
            true => {
                "ORDER BY rule_id COLLATE \"C\", subject_kind COLLATE \"C\",
                          subject_key COLLATE \"C\", fingerprint COLLATE \"C\""
            }
            false => "",
        };
        let sql = format!(
            "SELECT fingerprint, rule_id, severity, subject_kind, subject_key, title, message,
                    evidence, first_seen, last_seen, resolved_at, subject_connection,
                    subject_external_id
             FROM findings_as_seen WHERE {filter} {order}"
        );
        // Streamed: the rows of 44,000 findings as the client holds them (beside the
        // findings made of them) were 30 MB, the peak of `check` on this backend. On the
        // store's own connection, row by row through the synchronous client: tens of
        // thousands of rows at most, where the reader's second connection would be one more
        // connection made for every page of the findings' API.
        use postgres::fallible_iterator::FallibleIterator;
        let mut guard = self.client.borrow_mut();
        let client: &mut Client = guard.as_mut().expect("open until dropped");
        let mut rows =
            blocking(|| client.query_raw(&sql, params.iter().copied())).map_err(|e| self.err(e))?;
        self.in_batches(
            |batch| {
                while batch.len() < ROWS_A_BATCH {
                    match rows.next()? {
                        Some(row) => batch.push(row),
                        None => break,
                    }
                }
                Ok(())
            },
            &mut |r| self.finding_of(r).map(&mut *each),
        )
    }

    /// The rows of `sql` as the server streams them, handed to `each` on this thread 1,000
    /// at a time (each batch is taken as blocking work); the first error stops the reading.
    /// The rows are never all in memory: the driver reads the socket only as they are taken,
    /// and the server, which sends ahead into the socket's buffer meanwhile, works while
    /// `each` does. (Through a cursor, `FETCH 1000` after `FETCH 1000`, each batch waited for
    /// a round trip and the server for the client: a million time entries took 0.5 s more.)
    /// On the reader's connection ([`Reader`]): for the records, up to a million rows.
    fn each_row(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        each: &mut dyn FnMut(&postgres::Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut reader = self.reader()?;
        let Reader { client, runtime } = &mut *reader;
        self.take_rows(client, runtime, sql, params, each)
    }

    /// [`Self::each_row`] for a query without an order: its rows in the order one server
    /// process reads them, the same from one read of an unchanged table to the next. (A
    /// parallel plan's workers interleave their rows as they go; a sequential scan may start
    /// where another session's scan of the same table is, `synchronize_seqscans`.)
    fn each_row_in_a_stable_order(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        each: &mut dyn FnMut(&postgres::Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // Set for this query and reset after it, whatever its outcome.
        let set = |settings: &'static str| {
            let mut reader = self.reader()?;
            let Reader { client, runtime } = &mut *reader;
            blocking(|| runtime.block_on(client.batch_execute(settings))).map_err(|e| self.err(e))
        };
        set("SET max_parallel_workers_per_gather = 0; SET synchronize_seqscans = off")?;
        let read = self.each_row(sql, params, each);
        let reset = set("RESET max_parallel_workers_per_gather; RESET synchronize_seqscans");
        read.and(reset)
    }

    /// The reader's connection, made now if this is the first read.
    fn reader(&self) -> Result<std::cell::RefMut<'_, Reader>, StoreError> {
        let mut reader = self.reader.borrow_mut();
        if reader.is_none() {
            let config = &self.config;
            let made = blocking(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .enable_time()
                    .build()
                    .map_err(|e| format!("cannot start the reader's runtime: {e}"))?;
                let (client, connection) = runtime
                    .block_on(config.connect(tokio_postgres::NoTls))
                    .map_err(|e| format!("cannot connect: {}", describe(&e)))?;
                // Driven whenever the runtime is, that is while a batch is taken; its error
                // comes back to the query that was waiting on it.
                runtime.spawn(connection);
                Ok::<_, String>(Reader { client, runtime })
            });
            *reader = Some(made.map_err(|message| StoreError::Database {
                location: self.location.clone(),
                message,
            })?);
        }
        Ok(std::cell::RefMut::map(reader, |r| {
            r.as_mut().expect("made above")
        }))
    }

    /// The rows of `sql` on the reader's connection, handed to `each` 1,000 at a time
    /// ([`Self::each_row`]): one turn of the reader's runtime a batch.
    fn take_rows(
        &self,
        client: &tokio_postgres::Client,
        runtime: &tokio::runtime::Runtime,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        each: &mut dyn FnMut(&postgres::Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use futures_util::StreamExt;
        let mut rows = blocking(|| runtime.block_on(client.query_raw(sql, params.iter().copied())))
            .map(Box::pin)
            .map_err(|e| self.err(e))?;
        self.in_batches(
            |batch| {
                runtime.block_on(async {
                    while batch.len() < ROWS_A_BATCH {
                        match rows.next().await {
                            Some(row) => batch.push(row?),
                            None => break,
                        }
                    }
                    Ok(())
                })
            },
            each,
        )
    }

    /// The rows `fill` takes (up to [`ROWS_A_BATCH`] a call, taken as blocking work; fewer
    /// when there are no more), handed to `each` a batch at a time; the first error stops.
    fn in_batches(
        &self,
        mut fill: impl FnMut(&mut Vec<postgres::Row>) -> Result<(), postgres::Error> + Send,
        each: &mut dyn FnMut(&postgres::Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut batch = Vec::with_capacity(ROWS_A_BATCH);
        loop {
            blocking(|| fill(&mut batch)).map_err(|e| self.err(e))?;
            let last = batch.len() < ROWS_A_BATCH;
            batch.iter().try_for_each(&mut *each)?;
            batch.clear();
            if last {
                return Ok(());
            }
        }
    }

    /// The live records of `kind`, each handed to `read` as its connection, external id and
    /// document: in the key's order if `ordered` (byte order, `COLLATE "C"`, SQLite's, so
    /// both backends export alike), else in the order the server finds them (for the work
    /// items at 10,000 epics a bitmap scan of the pages that hold them, 75-115 ms, where the
    /// key's order took a sort of 52 MB of documents spilled to disk, 200-260 ms of the
    /// server's time, on three processes when the plan went parallel).
    fn stored_rows(
        &self,
        kind: EntityKind,
        ordered: bool,
        read: &mut dyn FnMut(&str, &str, &str) -> Result<(), serde_json::Error>,
    ) -> Result<(), StoreError> {
        let sql = "SELECT connection, external_id, record FROM records
                   WHERE kind = $1 AND deleted_at IS NULL";
        let each = &mut |r: &postgres::Row| {
            read(r.get(0), r.get(1), r.get(2))
                .map_err(|e| self.unreadable(r.get(0), kind, r.get(1), e))
        };
        match ordered {
            true => self.each_row(
                &format!("{sql} ORDER BY connection COLLATE \"C\", external_id COLLATE \"C\""),
                &[&kind.as_str()],
                each,
            ),
            false => self.each_row_in_a_stable_order(sql, &[&kind.as_str()], each),
        }
    }

    /// A finding from its row (the columns of [`Self::each_finding_where`]).
    fn finding_of(&self, r: &postgres::Row) -> Result<StoredFinding, StoreError> {
        let fingerprint: String = r.get(0);
        let (severity, kind, evidence) =
            crate::finding_parts(&self.location, &fingerprint, r.get(2), r.get(3), r.get(7))?;
        Ok(StoredFinding {
            finding: Finding {
                fingerprint,
                rule_id: r.get(1),
                severity,
                subject: tollgate_dmo::rules::Subject {
                    kind,
                    key: r.get(4),
                    connection: r.get(11),
                    external_id: r.get(12),
                },
                title: r.get(5),
                message: r.get(6),
                evidence,
            },
            first_seen: r.get(8),
            last_seen: r.get(9),
            resolved_at: r.get(10),
        })
    }

    /// Run `work` with the client, off the async runtime's toes; errors name the database.
    fn with<T: Send>(
        &self,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, StoreError> {
        let mut client = self.client.borrow_mut();
        let client: &mut Client = client.as_mut().expect("open until dropped");
        blocking(move || work(client)).map_err(|e| self.err(e))
    }

    /// Run `work` in one transaction, committed when it returns Ok.
    fn transaction<T: Send>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, StoreError> {
        self.with(|client| {
            let mut tx = client.transaction()?;
            let value = work(&mut tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with(|c| {
            c.batch_execute(
                "CREATE TABLE IF NOT EXISTS tollgate_schema (version BIGINT NOT NULL)",
            )?;
            let row = c.query_opt("SELECT MAX(version) FROM tollgate_schema", &[])?;
            Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).unwrap_or(0))
        })
    }

    /// Apply the migrations the database lacks, under an advisory lock, each with the version
    /// it brings in the same transaction.
    pub fn migrate(&self, migrations: &[&str]) -> Result<(), StoreError> {
        let supported = migrations.len() as i64;
        let location = self.location.clone();
        let outcome = self.with(|c| {
            loop {
                let mut tx = c.transaction()?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
                tx.batch_execute(
                    "CREATE TABLE IF NOT EXISTS tollgate_schema (version BIGINT NOT NULL)",
                )?;
                let found: i64 = tx
                    .query_one("SELECT COALESCE(MAX(version), 0) FROM tollgate_schema", &[])?
                    .get(0);
                if found >= supported {
                    tx.commit()?;
                    return Ok(Err(found));
                }
                if let Err(e) = tx.batch_execute(migrations[found as usize]) {
                    return Ok(Ok(Some((found + 1, describe(&e)))));
                }
                tx.execute("DELETE FROM tollgate_schema", &[])?;
                tx.execute(
                    "INSERT INTO tollgate_schema (version) VALUES ($1)",
                    &[&(found + 1)],
                )?;
                tx.commit()?;
            }
        })?;
        match outcome {
            Err(found) if found > supported => Err(StoreError::SchemaTooNew {
                location,
                found,
                supported,
            }),
            Err(_) | Ok(None) => Ok(()),
            Ok(Some((version, message))) => Err(StoreError::Database {
                location,
                message: format!("migration to schema version {version}: {message}"),
            }),
        }
    }

    fn stream_state(
        &self,
        connection: &str,
        stream: &str,
    ) -> Result<Option<StreamState>, StoreError> {
        let row = self.with(|c| {
            c.query_opt(
                "SELECT cursor, in_progress, \"full\", sweep, checkpoint, exhausted, rejected
                 FROM stream_state WHERE connection = $1 AND stream = $2",
                &[&connection, &stream],
            )
        })?;
        Ok(row.map(|r| StreamState {
            cursor: r.get(0),
            in_progress: r.get::<_, i64>(1) != 0,
            full: r.get::<_, i64>(2) != 0,
            sweep: r.get(3),
            checkpoint: r.get(4),
            exhausted: r.get::<_, i64>(5) != 0,
            rejected: r.get::<_, i64>(6) != 0,
        }))
    }

    fn unreadable(
        &self,
        connection: &str,
        kind: EntityKind,
        id: &str,
        e: impl std::fmt::Display,
    ) -> StoreError {
        crate::unreadable(self.location.clone(), connection, kind, id, e)
    }

    fn claim_row(r: &Row) -> Claim {
        Claim {
            key: r.get(0),
            instance: r.get(1),
            claimed_at: r.get(2),
            lease_until: r.get(3),
            done: r.get::<_, i64>(4) != 0,
        }
    }
}

/// The server's message with its detail and hint, or the driver's.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                m.push_str(&format!("; {d}"));
            }
            if let Some(h) = db.hint() {
                m.push_str(&format!("; hint: {h}"));
            }
            m
        }
        None => {
            // The driver's own text, with its cause (a refused connection, a bad password).
            let mut m = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                m.push_str(&format!(": {s}"));
                source = s.source();
            }
            m
        }
    }
}

impl Store for PostgresStore {
    fn begin_run(&mut self, connection: &str, full: bool) -> Result<RunId, StoreError> {
        let started = now();
        self.transaction(|tx| {
            tx.execute(
                "UPDATE runs SET status = 'interrupted' WHERE connection = $1 AND status = 'running'",
                &[&connection],
            )?;
            let row = tx.query_one(
                "INSERT INTO runs (connection, \"full\", started_at, status) VALUES ($1, $2, $3, 'running')
                 RETURNING id",
                &[&connection, &int(full), &started],
            )?;
            Ok(row.get(0))
        })
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
        self.with(|c| {
            c.execute(
                "INSERT INTO stream_state (connection, stream, in_progress, exhausted, \"full\", sweep, cursor, pending_checkpoint, rejected)
                 VALUES ($1, $2, 1, 0, $3, $4, NULL, NULL, 0)
                 ON CONFLICT (connection, stream) DO UPDATE SET
                   in_progress = 1, exhausted = 0, \"full\" = $3, sweep = $4, cursor = NULL,
                   pending_checkpoint = NULL, rejected = 0",
                &[&connection, &stream, &int(fresh.full), &run],
            )
        })?;
        Ok(fresh)
    }

    fn commit_page(
        &mut self,
        run: RunId,
        connection: &str,
        stream: &str,
        page: &PageWrite,
    ) -> Result<(u64, u64), StoreError> {
        // One statement per page, not one per record: a round trip per record made a sync
        // four times slower than on SQLite. One upsert may not touch a row twice, so a record
        // given twice in a page counts as the last one given (as SQLite's row-by-row upsert
        // leaves it), while `written` counts every record given, as SQLite does.
        let mut last: std::collections::HashMap<(&str, &str), usize> =
            std::collections::HashMap::with_capacity(page.records.len());
        for (i, r) in page.records.iter().enumerate() {
            last.insert(
                (r.entity.kind().as_str(), r.provenance.external_id.as_str()),
                i,
            );
        }
        let (mut kinds, mut ids, mut docs, mut entries) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, r) in page.records.iter().enumerate() {
            if last[&(r.entity.kind().as_str(), r.provenance.external_id.as_str())] == i {
                kinds.push(r.entity.kind().as_str());
                ids.push(r.provenance.external_id.as_str());
                docs.push(crate::document(connection, r));
                entries.push(entry_of(r));
            }
        }
        let written = page.records.len() as u64;
        let (del_kinds, del_ids): (Vec<&str>, Vec<&str>) = page
            .deletions
            .iter()
            .map(|(k, id)| (k.as_str(), id.as_str()))
            .unzip();
        let stamp = now();
        self.transaction(|tx| {
            let sweep: RunId = tx
                .query_one(
                    "SELECT sweep FROM stream_state WHERE connection = $1 AND stream = $2",
                    &[&connection, &stream],
                )?
                .get(0);
            if !kinds.is_empty() {
                tx.execute(
                    "INSERT INTO records (connection, kind, external_id, stream, record, sweep, deleted_at, entry)
                     SELECT $1, k, e, $4, r, $6, NULL, t.entry
                     FROM UNNEST($2::text[], $3::text[], $5::text[], $7::text[]) AS t (k, e, r, entry)
                     ON CONFLICT (connection, kind, external_id) DO UPDATE SET
                       stream = excluded.stream, record = excluded.record,
                       sweep = excluded.sweep, deleted_at = NULL, entry = excluded.entry",
                    &[&connection, &kinds, &ids, &stream, &docs, &sweep, &entries],
                )?;
            }
            let deleted = if del_kinds.is_empty() {
                0
            } else {
                tx.execute(
                    "UPDATE records SET deleted_at = $4
                     WHERE connection = $1 AND deleted_at IS NULL
                       AND (kind, external_id) IN (SELECT * FROM UNNEST($2::text[], $3::text[]))",
                    &[&connection, &del_kinds, &del_ids, &stamp],
                )?
            };
            let rejected = page
                .diagnostics
                .iter()
                .any(|d| d.severity >= tollgate_dmo::Severity::Error);
            tx.execute(
                "UPDATE stream_state SET rejected = CASE WHEN $3 THEN 1 ELSE rejected END
                 WHERE connection = $1 AND stream = $2",
                &[&connection, &stream, &rejected],
            )?;
            let read_source =
                page.snapshot || !page.records.is_empty() || !page.diagnostics.is_empty();
            tx.execute(
                "UPDATE stream_state SET cursor = $3, exhausted = CASE WHEN $3::text IS NULL THEN 1 ELSE 0 END,
                   pending_checkpoint = COALESCE($4, pending_checkpoint),
                   \"full\" = CASE WHEN $5 THEN 1 ELSE \"full\" END,
                   diagnostics_run = CASE WHEN $7 THEN $6 ELSE diagnostics_run END,
                   diagnostics_since = CASE
                     WHEN $7 AND (\"full\" <> 0 OR $5 OR diagnostics_since IS NULL) THEN $6
                     ELSE diagnostics_since END
                 WHERE connection = $1 AND stream = $2",
                &[
                    &connection,
                    &stream,
                    &page.next_cursor,
                    &page.checkpoint,
                    &page.snapshot,
                    &run,
                    &read_source,
                ],
            )?;
            let insert = tx.prepare(
                "INSERT INTO diagnostics (run, seq, stream, severity, code, message, location)
                 VALUES ($1, (SELECT COALESCE(MAX(seq), -1) + 1 FROM diagnostics WHERE run = $1),
                         $2, $3, $4, $5, $6)",
            )?;
            for d in &page.diagnostics {
                tx.execute(
                    &insert,
                    &[
                        &run,
                        &d.stream,
                        &d.severity.as_str(),
                        &d.code,
                        &d.message,
                        &d.location,
                    ],
                )?;
            }
            tx.execute(
                "UPDATE runs SET pages = pages + 1, records_written = records_written + $2,
                   records_deleted = records_deleted + $3, diagnostics = diagnostics + $4
                 WHERE id = $1",
                &[
                    &run,
                    &(written as i64),
                    &(deleted as i64),
                    &(page.diagnostics.len() as i64),
                ],
            )?;
            Ok((written, deleted))
        })
    }

    fn complete_stream(
        &mut self,
        run: RunId,
        connection: &str,
        stream: &str,
        sweep: bool,
    ) -> Result<u64, StoreError> {
        let stamp = now();
        self.transaction(|tx| {
            let row = tx.query_one(
                "SELECT \"full\", sweep FROM stream_state WHERE connection = $1 AND stream = $2",
                &[&connection, &stream],
            )?;
            let (full, sweep_id): (i64, RunId) = (row.get(0), row.get(1));
            let mut deleted = 0;
            if full != 0 && sweep {
                deleted = tx.execute(
                    "UPDATE records SET deleted_at = $4
                     WHERE connection = $1 AND stream = $2 AND sweep <> $3 AND deleted_at IS NULL",
                    &[&connection, &stream, &sweep_id, &stamp],
                )?;
            }
            tx.execute(
                "UPDATE stream_state SET in_progress = 0, exhausted = 0, cursor = NULL,
                   checkpoint = COALESCE(pending_checkpoint, checkpoint), pending_checkpoint = NULL
                 WHERE connection = $1 AND stream = $2",
                &[&connection, &stream],
            )?;
            tx.execute(
                "UPDATE runs SET records_deleted = records_deleted + $2 WHERE id = $1",
                &[&run, &(deleted as i64)],
            )?;
            Ok(deleted)
        })
    }

    fn unseen(&self, connection: &str, stream: &str) -> Result<u64, StoreError> {
        let Some(state) = self.stream_state(connection, stream)? else {
            return Ok(0);
        };
        if !state.full {
            return Ok(0);
        }
        self.with(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM records
                 WHERE connection = $1 AND stream = $2 AND sweep <> $3 AND deleted_at IS NULL",
                &[&connection, &stream, &state.sweep],
            )
            .map(|r| r.get::<_, i64>(0) as u64)
        })
    }

    fn live_records(&self, connection: &str) -> Result<u64, StoreError> {
        self.with(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM records WHERE connection = $1 AND deleted_at IS NULL",
                &[&connection],
            )
            .map(|r| r.get::<_, i64>(0) as u64)
        })
    }

    fn record(
        &self,
        connection: &str,
        kind: EntityKind,
        external_id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let json: Option<String> = self.with(|c| {
            c.query_opt(
                "SELECT record FROM records
                 WHERE connection = $1 AND kind = $2 AND external_id = $3 AND deleted_at IS NULL",
                &[&connection, &kind.as_str(), &external_id],
            )
            .map(|r| r.map(|r| r.get(0)))
        })?;
        json.map(|j| {
            Record::from_stored(connection, external_id, &j)
                .map_err(|e| self.unreadable(connection, kind, external_id, e))
        })
        .transpose()
    }

    fn each_key(
        &self,
        connection: &str,
        each: &mut dyn FnMut(tollgate_dmo::model::StoredKeyRef<'_>),
    ) -> Result<(), StoreError> {
        let rows = self.with(|c| {
            c.query(
                "SELECT kind, external_id, item_key, item_initiative
                 FROM records
                 WHERE connection = $1 AND kind IN ('initiative', 'work-item') AND deleted_at IS NULL",
                &[&connection],
            )
        })?;
        for r in &rows {
            let (Some(kind), Some(key)) = (
                EntityKind::parse(r.get::<_, &str>(0)),
                r.get::<_, Option<&str>>(2),
            ) else {
                continue;
            };
            each(tollgate_dmo::model::StoredKeyRef::new(
                kind,
                r.get(1),
                key,
                r.get(3),
            ));
        }
        Ok(())
    }

    fn finish_run(
        &mut self,
        run: RunId,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let stamp = now();
        self.with(|c| {
            c.execute(
                "UPDATE runs SET status = $2, finished_at = $3, error = $4 WHERE id = $1",
                &[&run, &status.as_str(), &stamp, &error],
            )
            .map(|_| ())
        })
    }

    fn record_job(&mut self, name: &str, due: &str, outcome: &str) -> Result<(), StoreError> {
        let stamp = now();
        self.with(|c| {
            c.execute(
                "INSERT INTO jobs (name, last_due, last_outcome, last_finished) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE SET last_due = $2, last_outcome = $3, last_finished = $4",
                &[&name, &due, &outcome, &stamp],
            )
            .map(|_| ())
        })
    }

    fn record_report(&mut self, kind: &str, as_of: &str, at: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO reports (kind, as_of, generated_at) VALUES ($1, $2, $3)",
                &[&kind, &as_of, &at],
            )
            .map(|_| ())
        })
    }

    fn last_report(&self, kind: &str, until: Option<&str>) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            c.query_opt(
                "SELECT generated_at FROM reports WHERE kind = $1 AND ($2::text IS NULL OR as_of <= $2)
                 ORDER BY id DESC LIMIT 1",
                &[&kind, &until],
            )
            .map(|r| r.map(|r| r.get(0)))
        })
    }

    fn job_last_due(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.job_state(name)?.map(|j| j.last_due))
    }

    fn job_state(&self, name: &str) -> Result<Option<crate::JobRecord>, StoreError> {
        self.with(|c| {
            c.query_opt(
                "SELECT last_due, last_outcome, last_finished FROM jobs WHERE name = $1",
                &[&name],
            )
            .map(|r| {
                r.map(|r| crate::JobRecord {
                    last_due: r.get(0),
                    last_outcome: r.get(1),
                    last_finished: r.get(2),
                })
            })
        })
    }

    fn runs(&self, connection: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let rows = self.with(|c| {
            c.query(
                "SELECT id, connection, \"full\", started_at, finished_at, status, pages,
                        records_written, records_deleted, diagnostics, error
                 FROM runs WHERE ($1::text IS NULL OR connection = $1) ORDER BY id DESC LIMIT $2",
                &[&connection, &(limit.min(i64::MAX as usize) as i64)],
            )
        })?;
        rows.iter()
            .map(|r| {
                let id = r.get(0);
                Ok(RunRecord {
                    id,
                    connection: r.get(1),
                    full: r.get::<_, i64>(2) != 0,
                    started_at: r.get(3),
                    finished_at: r.get(4),
                    status: RunStatus::parse(&self.location, id, r.get(5))?,
                    pages: r.get::<_, i64>(6) as u64,
                    records_written: r.get::<_, i64>(7) as u64,
                    records_deleted: r.get::<_, i64>(8) as u64,
                    diagnostics: r.get::<_, i64>(9) as u64,
                    error: r.get(10),
                })
            })
            .collect()
    }

    fn current_diagnostics(&self) -> Result<Vec<(String, DiagnosticRecord)>, StoreError> {
        let rows = self.with(|c| {
            c.query(
                "SELECT s.connection, d.stream, d.severity, d.code, d.message, d.location
                 FROM stream_state s
                 JOIN runs r ON r.connection = s.connection
                   AND r.id BETWEEN COALESCE(s.diagnostics_since, s.diagnostics_run) AND s.diagnostics_run
                 JOIN diagnostics d ON d.run = r.id AND d.stream = s.stream
                 ORDER BY s.connection, d.run DESC, d.seq",
                &[],
            )
        })?;
        let rows = rows.iter().map(|r| {
            (
                r.get::<_, String>(0),
                DiagnosticRecord {
                    stream: r.get(1),
                    severity: crate::sqlite::severity_of(r.get(2)),
                    code: r.get(3),
                    message: r.get(4),
                    location: r.get(5),
                },
            )
        });
        Ok(crate::sqlite::latest_diagnostics(rows))
    }

    fn record_finding_batches(
        &mut self,
        batches: &mut (dyn Iterator<Item = Vec<Finding>> + Send),
        at: &str,
    ) -> Result<FindingChanges, StoreError> {
        self.transaction(|tx| {
            use postgres::fallible_iterator::FallibleIterator;
            let mut changes = FindingChanges::default();
            // One check recorded at a time (SQLite's write transactions take turns too): an
            // instance that read the open findings while another's check was under way would
            // count against a state about to change, and leave a finding resolved that it had
            // just seen.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FINDINGS_LOCK])?;
            // What the open findings hold, as SQLite's: only what is not open or has changed
            // is written.
            let mut open = OpenFindings::default();
            {
                let mut rows = tx.query_raw(
                    crate::open_findings::OPEN,
                    std::iter::empty::<&(dyn ToSql + Sync)>(),
                )?;
                while let Some(r) = rows.next()? {
                    let content = Content {
                        severity: r.try_get(1)?,
                        title: r.try_get(2)?,
                        message: r.try_get(3)?,
                        evidence: r.try_get(4)?,
                        subject_connection: r.try_get(5)?,
                        subject_external_id: r.try_get(6)?,
                    };
                    open.add(r.try_get(0)?, &content);
                }
            }
            open.ready();
            // The findings resolved before: one given again is reopened (written by the
            // upsert), one neither open nor resolved is new (copied in).
            let mut stored = Stored::default();
            {
                let mut rows = tx.query_raw(
                    "SELECT fingerprint FROM findings WHERE resolved_at IS NOT NULL",
                    std::iter::empty::<&(dyn ToSql + Sync)>(),
                )?;
                while let Some(r) = rows.next()? {
                    stored.add(r.try_get(0)?);
                }
            }
            stored.ready();
            // A panic while a batch is pulled unwinds through here: the transaction is rolled
            // back when dropped, and nothing is recorded.
            let (mut statement, mut copy) = (None, None);
            for findings in batches {
                let (mut new, mut written) = (Vec::new(), Vec::new());
                for f in &findings {
                    match open.given(f) {
                        // Its last sighting is the check's, written once at the end.
                        Given::Unchanged => changes.persisting += 1,
                        // Neither open nor resolved, nor given before in this check: a row
                        // of its own. (Given again, the upsert below writes its last values
                        // over the row copied in.)
                        Given::NotOpen if stored.insert_new(&f.fingerprint) => new.push(f),
                        // Counted by what the statement finds.
                        Given::Changed | Given::NotOpen => written.push(f),
                    }
                }
                changes.new += copy_new_findings(tx, &mut copy, &new, at)?;
                record_finding_batch(tx, &mut statement, &written, at, &mut changes)?;
            }
            let not_given: Vec<String> = open.not_given().collect();
            changes.resolved =
                tx.execute(crate::open_findings::postgres::RESOLVE, &[&at, &not_given])?;
            // The findings still open are those given: each seen now.
            tx.execute(crate::open_findings::postgres::CHECKED, &[&at])?;
            Ok(changes)
        })
    }

    fn findings(&self, include_resolved: bool) -> Result<Vec<StoredFinding>, StoreError> {
        self.findings_where("$1 OR resolved_at IS NULL", &[&include_resolved])
    }

    fn each_finding(
        &self,
        include_resolved: bool,
        each: &mut dyn FnMut(StoredFinding),
    ) -> Result<(), StoreError> {
        match include_resolved {
            true => self.each_finding_where("TRUE", &[], true, each),
            false => self.each_finding_where("resolved_at IS NULL", &[], true, each),
        }
    }

    fn findings_resolved_after(&self, after: &str) -> Result<Vec<StoredFinding>, StoreError> {
        // Byte order, as Rust's `>` on the same strings, whatever the database's collation.
        self.findings_where("resolved_at COLLATE \"C\" > $1", &[&after])
    }

    fn diagnostics(&self, run: RunId) -> Result<Vec<DiagnosticRecord>, StoreError> {
        let rows = self.with(|c| {
            c.query(
                "SELECT stream, severity, code, message, location FROM diagnostics
                 WHERE run = $1 ORDER BY seq",
                &[&run],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| DiagnosticRecord {
                stream: r.get(0),
                severity: crate::sqlite::severity_of(r.get(1)),
                code: r.get(2),
                message: r.get(3),
                location: r.get(4),
            })
            .collect())
    }

    fn each_stored(
        &self,
        kind: EntityKind,
        read: &mut dyn FnMut(&str, &str, &str) -> Result<(), serde_json::Error>,
    ) -> Result<(), StoreError> {
        self.stored_rows(kind, true, read)
    }

    fn each_stored_in_any_order(
        &self,
        kind: EntityKind,
        read: &mut dyn FnMut(&str, &str, &str) -> Result<(), serde_json::Error>,
    ) -> Result<(), StoreError> {
        self.stored_rows(kind, false, read)
    }

    fn each_time_entry(&self, read: &mut dyn NumberedTimeEntries) -> Result<(), StoreError> {
        // From each row's `entry` (schema 3), a few dozen bytes, instead of its document; in
        // whatever order the server reads the table (the portfolio folds the entries into
        // totals). A row without one (stored by hand) is read from its document.
        self.each_row_in_a_stable_order(
            "SELECT connection, external_id, entry, CASE WHEN entry IS NULL THEN record END
             FROM records WHERE kind = 'time-entry' AND deleted_at IS NULL",
            &[],
            &mut |r| {
                let parts = match r.get::<_, Option<&str>>(2) {
                    Some(entry) => time_entry_from_array(entry),
                    None => stored_time_entry(r.get(3)),
                };
                parts
                    .map_err(|e| e.to_string())
                    .and_then(|t| read.entry_with_names(&t))
                    .map_err(|e| self.unreadable(r.get(0), EntityKind::TimeEntry, r.get(1), e))
            },
        )
    }

    fn claim(
        &mut self,
        key: &str,
        instance: &str,
        lease: std::time::Duration,
    ) -> Result<ClaimOutcome, StoreError> {
        let (at, until) = (now(), now_plus(lease));
        self.transaction(|tx| {
            let granted = tx.execute(
                "INSERT INTO claims (key, instance, claimed_at, lease_until, done)
                 VALUES ($1, $2, $3, $4, 0)
                 ON CONFLICT (key) DO UPDATE SET instance = excluded.instance,
                   claimed_at = CASE WHEN claims.instance = excluded.instance
                                THEN claims.claimed_at ELSE excluded.claimed_at END,
                   lease_until = excluded.lease_until
                 WHERE claims.done = 0
                   AND (claims.lease_until < $3 OR claims.instance = excluded.instance)",
                &[&key, &instance, &at, &until],
            )?;
            if granted == 1 {
                return Ok(ClaimOutcome::Claimed);
            }
            let row = tx.query_one(
                "SELECT key, instance, claimed_at, lease_until, done FROM claims WHERE key = $1",
                &[&key],
            )?;
            let claim = Self::claim_row(&row);
            Ok(if claim.done {
                ClaimOutcome::Done(claim)
            } else {
                ClaimOutcome::Held(claim)
            })
        })
    }

    fn renew_claim(
        &mut self,
        key: &str,
        instance: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let until = now_plus(lease);
        self.with(|c| {
            c.execute(
                "UPDATE claims SET lease_until = $3 WHERE key = $1 AND instance = $2 AND done = 0",
                &[&key, &instance, &until],
            )
            .map(|n| n == 1)
        })
    }

    fn release_claim(&mut self, key: &str, instance: &str, done: bool) -> Result<(), StoreError> {
        let (at, forget_before) = (now(), crate::now_minus(crate::DONE_CLAIMS_KEPT));
        self.transaction(|tx| {
            if done {
                tx.execute(
                    "UPDATE claims SET done = 1, lease_until = $3 WHERE key = $1 AND instance = $2",
                    &[&key, &instance, &at],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM claims WHERE key = $1 AND instance = $2 AND done = 0",
                    &[&key, &instance],
                )?;
            }
            tx.execute(
                "DELETE FROM claims WHERE done = 1 AND lease_until < $1",
                &[&forget_before],
            )?;
            Ok(())
        })
    }

    fn claims(&self) -> Result<Vec<Claim>, StoreError> {
        let rows = self.with(|c| {
            c.query(
                "SELECT key, instance, claimed_at, lease_until, done FROM claims
                 ORDER BY key COLLATE \"C\"",
                &[],
            )
        })?;
        Ok(rows.iter().map(Self::claim_row).collect())
    }

    fn dump_table(
        &self,
        table: &Table,
        each: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // Every column is BIGINT or TEXT; text is read as text whatever its type.
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| format!("\"{c}\"::text"))
            .collect();
        let integer = self.with(|c| {
            c.query(
                "SELECT column_name, data_type FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1",
                &[&table.name],
            )
        })?;
        let is_int: Vec<bool> = table
            .columns
            .iter()
            .map(|col| {
                integer
                    .iter()
                    .any(|r| r.get::<_, &str>(0) == *col && r.get::<_, &str>(1) == "bigint")
            })
            .collect();
        // Text in byte order (SQLite's), so both backends dump alike. Each key is the
        // table's column, named with the table: a bare name in ORDER BY means the output
        // column of that name, here its `::text` cast, and numbers sorted as text (1, 10,
        // 2) made `tollgate migrate` find every store of ten runs or reports different from
        // its copy.
        let order: Vec<String> = table
            .key
            .split(", ")
            .map(|k| {
                let int = table
                    .columns
                    .iter()
                    .position(|c| *c == k)
                    .is_some_and(|i| is_int[i]);
                if int {
                    format!("{}.\"{k}\"", table.name)
                } else {
                    format!("{}.\"{k}\" COLLATE \"C\"", table.name)
                }
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            table.name,
            order.join(", ")
        );
        let rows = self.with(|c| c.query(sql.as_str(), &[]))?;
        for r in rows {
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, int) in is_int.iter().enumerate() {
                let text: Option<String> = r.get(i);
                values.push(match text {
                    None => Value::Null,
                    Some(t) if *int => Value::Int(t.parse().map_err(|e| StoreError::Database {
                        location: self.location.clone(),
                        message: format!("{}.{}: {e}", table.name, table.columns[i]),
                    })?),
                    Some(t) => Value::Text(t),
                });
            }
            each(values)?;
        }
        Ok(())
    }

    fn load_rows(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<(), StoreError> {
        // A record's row gets its `entry` (schema 3) as the sync would write it.
        let entry_from = (table.name == "records").then(|| {
            let at = |c| table.columns.iter().position(|&n| n == c);
            (at("kind"), at("record"))
        });
        let mut columns = quoted(table.columns);
        let mut count = table.columns.len();
        if entry_from.is_some() {
            columns.push_str(", \"entry\"");
            count += 1;
        }
        let sql = format!(
            "INSERT INTO {} ({columns}) VALUES ({})",
            table.name,
            (1..=count)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let types: Vec<postgres::types::Type> = self.with(|c| c.prepare(&sql))?.params().to_vec();
        // Every value converted before anything is written: a bad one writes nothing.
        let mut converted: Vec<Vec<Box<dyn ToSql + Sync + Send>>> = Vec::with_capacity(rows.len());
        for row in rows {
            if row.len() != table.columns.len() {
                return Err(StoreError::Database {
                    location: self.location.clone(),
                    message: format!(
                        "{}: a row of {} values for {} columns",
                        table.name,
                        row.len(),
                        table.columns.len()
                    ),
                });
            }
            let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(row.len());
            for ((v, ty), column) in row.iter().zip(&types).zip(table.columns) {
                let int = *ty == postgres::types::Type::INT8;
                params.push(match v {
                    Value::Null if int => Box::new(None::<i64>),
                    Value::Null => Box::new(None::<String>),
                    Value::Int(i) if int => Box::new(*i),
                    Value::Int(i) => Box::new(i.to_string()),
                    Value::Text(t) if int => match t.parse::<i64>() {
                        Ok(i) => Box::new(i),
                        Err(_) => {
                            return Err(StoreError::Database {
                                location: self.location.clone(),
                                message: format!(
                                    "{}.{column}: `{t}` is not an integer",
                                    table.name
                                ),
                            });
                        }
                    },
                    Value::Text(t) => Box::new(t.clone()),
                });
            }
            if let Some((kind, record)) = entry_from {
                let text = |at: Option<usize>| match at.map(|i| &row[i]) {
                    Some(Value::Text(t)) => Some(t.as_str()),
                    _ => None,
                };
                // A document that does not read as a time entry gets none: the reader then
                // reads the document, and its error names the record.
                let entry = match (text(kind), text(record)) {
                    (Some("time-entry"), Some(doc)) => {
                        stored_time_entry(doc).ok().map(|t| time_entry_array(&t))
                    }
                    _ => None,
                };
                params.push(Box::new(entry));
            }
            converted.push(params);
        }
        self.transaction(|tx| {
            let insert = tx.prepare(&sql)?;
            for params in &converted {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
                tx.execute(&insert, &refs)?;
            }
            // Identities continue after the highest copied id.
            if table.columns.contains(&"id") {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {0}",
                        table.name
                    ),
                    &[],
                )?;
            }
            Ok(())
        })
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        let names: Vec<&str> = crate::TABLES.iter().map(|t| t.name).collect();
        self.with(|c| c.batch_execute(&format!("TRUNCATE {} RESTART IDENTITY", names.join(", "))))
    }
}

/// The fingerprints a check finds in the findings table besides the open ones (those resolved
/// before, read first) and those it has copied in as new since, for
/// [`Store::record_finding_batches`] to tell a new finding from one reopened without asking the
/// database a row at a time. Held as [`OpenFindings`] holds them: a fingerprint of Tollgate's
/// as its number, 8 bytes, in a sorted list (and a set of those copied in); any other as text.
#[derive(Default)]
struct Stored {
    resolved: Vec<u64>,
    copied: std::collections::HashSet<u64>,
    others: std::collections::HashSet<String>,
}

impl Stored {
    fn add(&mut self, fingerprint: &str) {
        match crate::fingerprint_number(fingerprint) {
            Some(n) => self.resolved.push(n),
            None => {
                self.others.insert(fingerprint.to_string());
            }
        }
    }

    /// Done adding the resolved ones.
    fn ready(&mut self) {
        self.resolved.sort_unstable();
        self.resolved.dedup();
        self.resolved.shrink_to_fit();
    }

    /// Whether `fingerprint` (not open) has no row yet, and if so marked as having one now.
    fn insert_new(&mut self, fingerprint: &str) -> bool {
        match crate::fingerprint_number(fingerprint) {
            Some(n) => self.resolved.binary_search(&n).is_err() && self.copied.insert(n),
            None => self.others.insert(fingerprint.to_string()),
        }
    }
}

/// Findings with no row yet ([`Stored::insert_new`]), written with `COPY`: a first check at
/// 10,000 epics writes 44,000 of them, which the upsert below (its arrays unnested, each row's
/// conflict looked for) took about 5.5 µs a row of the server's time to write. Returns how
/// many were written. Under the check's lock nobody else writes a finding, so none can have
/// appeared since the table was read; if one had, the copy fails on the key and the check's
/// transaction is rolled back.
fn copy_new_findings(
    tx: &mut Transaction<'_>,
    statement: &mut Option<postgres::Statement>,
    findings: &[&Finding],
    at: &str,
) -> Result<u64, postgres::Error> {
    use postgres::types::Type;
    if findings.is_empty() {
        return Ok(0);
    }
    // Prepared once a check, as the upsert is.
    if statement.is_none() {
        *statement = Some(tx.prepare(
            "COPY findings (fingerprint, rule_id, severity, subject_kind, subject_key, title,
               message, evidence, first_seen, last_seen, subject_connection,
               subject_external_id)
             FROM STDIN (FORMAT binary)",
        )?);
    }
    let writer = tx.copy_in(statement.as_ref().expect("prepared above"))?;
    let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(writer, &[Type::TEXT; 12]);
    for f in findings {
        writer.write(&[
            &f.fingerprint,
            &f.rule_id,
            &f.severity.as_str(),
            &f.subject.kind.as_str(),
            &f.subject.key,
            &f.title,
            &f.message,
            &f.evidence.as_str(),
            &at,
            &at,
            &f.subject.connection,
            &f.subject.external_id,
        ])?;
    }
    writer.finish()
}

/// One batch of findings written ([`record_finding_batch`]): what was there before (the CTE
/// reads the statement's snapshot, before the upsert), and the upsert. Only the findings that
/// were not open come back: new (`existed` false) or resolved before (`existed` true).
const UPSERT_FINDINGS: &str = "WITH before AS (
               SELECT u.f, o.fingerprint IS NOT NULL AS existed
               FROM UNNEST($1::text[]) AS u (f)
               LEFT JOIN findings o ON o.fingerprint = u.f
               WHERE o.fingerprint IS NULL OR o.resolved_at IS NOT NULL
             ), written AS (
               INSERT INTO findings (fingerprint, rule_id, severity, subject_kind, subject_key,
                 title, message, evidence, first_seen, last_seen, resolved_at,
                 subject_connection, subject_external_id)
               SELECT f, r, s, k, y, t, m, e, $9, $9, NULL, c, x
               FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                           $6::text[], $7::text[], $8::text[], $10::text[], $11::text[])
                 AS u (f, r, s, k, y, t, m, e, c, x)
               ON CONFLICT (fingerprint) DO UPDATE SET
                 severity = excluded.severity, title = excluded.title,
                 message = excluded.message, evidence = excluded.evidence,
                 last_seen = excluded.last_seen, resolved_at = NULL,
                 subject_connection = excluded.subject_connection,
                 subject_external_id = excluded.subject_external_id
             )
             SELECT f, existed FROM before";

/// The findings of one batch of [`Store::record_finding_batches`] that are not open or have
/// changed, written in one statement whatever their number (the states before, the upsert). A
/// fingerprint given twice counts as new (or reopened) once and persisting after (in a later
/// batch the statement finds it open), and keeps the last values given, as SQLite's row-by-row
/// upsert.
fn record_finding_batch(
    tx: &mut Transaction<'_>,
    statement: &mut Option<postgres::Statement>,
    findings: &[&Finding],
    at: &str,
    changes: &mut FindingChanges,
) -> Result<(), postgres::Error> {
    let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        last.insert(f.fingerprint.as_str(), i);
    }
    let kept: Vec<&Finding> = findings
        .iter()
        .enumerate()
        .filter(|(i, f)| last[f.fingerprint.as_str()] == *i)
        .map(|(_, f)| *f)
        .collect();
    if kept.is_empty() {
        return Ok(());
    }
    // Each column borrowed from the findings, not copied: a rule's 10,000 findings copied
    // were 6 MB more while the other rules ran.
    let column = |get: for<'f> fn(&'f Finding) -> &'f str| -> Vec<&str> {
        kept.iter().map(|f| get(f)).collect()
    };
    let fingerprints = column(|f| &f.fingerprint);
    let rules = column(|f| &f.rule_id);
    let severities = column(|f| f.severity.as_str());
    let kinds = column(|f| f.subject.kind.as_str());
    let keys = column(|f| &f.subject.key);
    let titles = column(|f| &f.title);
    let messages = column(|f| &f.message);
    let evidence = column(|f| f.evidence.as_str());
    let connections: Vec<Option<&str>> = kept
        .iter()
        .map(|f| f.subject.connection.as_deref())
        .collect();
    let external_ids: Vec<Option<&str>> = kept
        .iter()
        .map(|f| f.subject.external_id.as_deref())
        .collect();
    // One statement (`UPSERT_FINDINGS`): at 44,000 findings persisting next to none come
    // back, and a round trip a batch fewer than the states read first. Prepared once a
    // check, at its first batch to write: a statement given as text is parsed and planned
    // again, a round trip more, for each of a first check's 173 batches.
    if statement.is_none() {
        *statement = Some(tx.prepare(UPSERT_FINDINGS)?);
    }
    let statement = statement.as_ref().expect("prepared above");
    let not_open: std::collections::HashMap<String, bool> = tx
        .query(
            statement,
            &[
                &fingerprints,
                &rules,
                &severities,
                &kinds,
                &keys,
                &titles,
                &messages,
                &evidence,
                &at,
                &connections,
                &external_ids,
            ],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // A fingerprint not open given twice in a batch: the statement wrote it once.
    let mut counted = std::collections::HashSet::new();
    for f in findings {
        let first = counted.insert(f.fingerprint.as_str());
        match not_open.get(&f.fingerprint) {
            _ if !first => changes.persisting += 1,
            None => changes.persisting += 1,
            Some(true) => changes.reopened += 1,
            Some(false) => changes.new += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection to the database `url` names, not migrated, for a test to migrate it to an
    /// older version.
    fn unmigrated(url: &str) -> PostgresStore {
        PostgresStore {
            client: RefCell::new(Some(Client::connect(url, NoTls).unwrap())),
            location: redact_url(url),
            config: url.parse().unwrap(),
            reader: RefCell::new(None),
        }
    }

    fn database(test: &str) -> Option<String> {
        let server = crate::testing::postgres_server()?;
        Some(crate::testing::fresh_postgres_database(&server, test))
    }

    #[test]
    fn instances_opening_a_new_database_at_once_migrate_it_once() {
        let Some(url) = database("migrate-race") else {
            return;
        };
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        PostgresStore::open(&url).map(|s| s.schema_version().unwrap())
                    })
                })
                .collect();
            for h in handles {
                assert_eq!(
                    h.join().unwrap().map_err(|e| e.to_string()),
                    Ok(SCHEMA_VERSION)
                );
            }
        });
    }

    #[test]
    fn the_store_works_from_either_kind_of_runtime_and_from_none() {
        let Some(url) = database("runtimes") else {
            return;
        };
        let exercise = || {
            let mut s = PostgresStore::open(&url).unwrap();
            let run = s.begin_run("hr", false).unwrap();
            s.finish_run(run, RunStatus::Ok, None).unwrap();
            let mut n = 0;
            s.each_record(EntityKind::Team, &mut |_| n += 1).unwrap();
            s.runs(None, 100).unwrap().len()
        };
        assert_eq!(exercise(), 1, "outside any runtime");
        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(
            current.block_on(async { exercise() }),
            2,
            "a current-thread runtime"
        );
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(
            multi.block_on(async {
                let url = url.clone();
                tokio::spawn(async move {
                    let s = PostgresStore::open(&url).unwrap();
                    s.runs(None, 100).unwrap().len()
                })
                .await
                .unwrap()
            }),
            2,
            "a worker of a multi-threaded runtime"
        );
    }

    #[test]
    fn refuses_a_newer_schema_and_leaves_it_alone() {
        let Some(url) = database("newer") else {
            return;
        };
        PostgresStore::open(&url).unwrap();
        let mut c = Client::connect(&url, NoTls).unwrap();
        c.execute("UPDATE tollgate_schema SET version = version + 1", &[])
            .unwrap();
        let err = PostgresStore::open(&url).err().unwrap();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade Tollgate"), "{err}");
        let v: i64 = c
            .query_one("SELECT version FROM tollgate_schema", &[])
            .unwrap()
            .get(0);
        assert_eq!(v, SCHEMA_VERSION + 1);
    }

    /// The time entries of `s`, sorted.
    fn by_number(s: &PostgresStore) -> Result<Vec<crate::suite::Entry>, StoreError> {
        crate::suite::entries_by_number(s)
    }

    #[test]
    fn a_read_in_a_stable_order_leaves_the_session_as_it_found_it() {
        let Some(url) = database("stable-order") else {
            return;
        };
        let mut s = PostgresStore::open(&url).unwrap();
        // On the connection the reads take.
        let show = |s: &PostgresStore| -> Vec<String> {
            let reader = s.reader().unwrap();
            let setting = |name: &str| -> String {
                let row = reader
                    .runtime
                    .block_on(reader.client.query_one(&format!("SHOW {name}"), &[]))
                    .unwrap();
                row.get(0)
            };
            vec![
                setting("max_parallel_workers_per_gather"),
                setting("synchronize_seqscans"),
            ]
        };
        let before = show(&s);
        crate::suite::write_page(&mut s, "hr", "teams", &[crate::suite::team("t1", "A")]);
        // Read whole, and refused part way.
        s.each_stored_in_any_order(EntityKind::Team, &mut |_, _, _| Ok(()))
            .unwrap();
        assert_eq!(show(&s), before);
        let refused = s.each_stored_in_any_order(EntityKind::Team, &mut |_, _, _| {
            Err(<serde_json::Error as serde::de::Error>::custom("refused"))
        });
        assert!(refused.is_err());
        assert_eq!(show(&s), before);
    }

    #[test]
    fn findings_seen_before_schema_5_read_as_stored_and_resolve_at_their_last_sighting() {
        let Some(url) = database("findings-5") else {
            return;
        };
        {
            let old = unmigrated(&url);
            old.migrate(&MIGRATIONS[..4]).unwrap();
            old.with(|c| c.batch_execute(crate::suite::FINDINGS_BEFORE_THE_CHECK_TIME_WAS_KEPT))
                .unwrap();
        }
        let mut s = PostgresStore::open(&url).unwrap();
        crate::suite::findings_seen_before_the_check_time_was_kept(&mut s);
    }

    #[test]
    fn time_entries_stored_before_schema_3_get_their_entries_and_read_the_same() {
        let Some(url) = database("entries-3") else {
            return;
        };
        let records = crate::suite::odd_time_entries("jira", 300, "2026-11-27T00:00:00.000Z");
        {
            // Written at schema 2, one of them a document that is no time entry's.
            let old = unmigrated(&url);
            old.migrate(&MIGRATIONS[..2]).unwrap();
            let mut docs: Vec<(String, String)> = records
                .iter()
                .map(|r| (r.provenance.external_id.clone(), crate::document("jira", r)))
                .collect();
            docs.push(("bad".into(), "{\"x\":1}".into()));
            docs.push(("not-json".into(), "{\"entity\": ".into()));
            old.with(|c| {
                for (id, doc) in &docs {
                    c.execute(
                        "INSERT INTO records (connection, kind, external_id, stream, record, sweep)
                         VALUES ('jira', 'time-entry', $1, 'worklogs', $2, 1)",
                        &[id, doc],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        }
        let s = PostgresStore::open(&url).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        let with_entry: i64 = s
            .with(|c| c.query_one("SELECT count(entry) FROM records", &[]))
            .unwrap()
            .get(0);
        // The document that is not JSON got none (and the migration went on).
        assert_eq!(with_entry, 301);
        // Those that are no time entry's are named, each in its turn (the read stops at the
        // first, in the table's order); without them, the entries as written.
        let mut bad = vec!["not-json", "bad"];
        while !bad.is_empty() {
            let e = by_number(&s).unwrap_err().to_string();
            let named = bad
                .iter()
                .position(|b| e.contains(&format!("record jira/time-entry/{b} is not readable")))
                .unwrap_or_else(|| panic!("names neither of {bad:?}: {e}"));
            let id = bad.remove(named);
            s.with(|c| c.execute("DELETE FROM records WHERE external_id = $1", &[&id]))
                .unwrap();
        }
        let mut want: Vec<_> = records.iter().map(crate::suite::collected).collect();
        want.sort();
        assert_eq!(by_number(&s).unwrap(), want);
        // The migration's entries are the sync's: written again, they read the same.
        let mut s = s;
        crate::suite::write_page(&mut s, "jira", "worklogs", &records);
        assert_eq!(by_number(&s).unwrap(), want);
        // A row without its entry (stored by hand) is read from its document.
        s.with(|c| {
            c.execute(
                "UPDATE records SET entry = NULL WHERE external_id < 't00100'",
                &[],
            )
        })
        .unwrap();
        assert_eq!(by_number(&s).unwrap(), want);
    }

    #[test]
    fn a_damaged_entry_is_an_error_naming_the_time_entry() {
        let Some(url) = database("entries-damaged") else {
            return;
        };
        let mut s = PostgresStore::open(&url).unwrap();
        let records = crate::suite::odd_time_entries("jira", 40, "2026-11-27T00:00:00.000Z");
        crate::suite::write_page(&mut s, "jira", "worklogs", &records);
        for (damaged, says) in [
            ("[\"p\",null,null,\"2026-01-01\"]", "invalid length 4"),
            ("[\"p\",null,null,\"2026-01-01\",-5]", "invalid value"),
            ("[null,null,null,\"2026-01-01\",5]", "invalid type: null"),
            ("{\"person\":\"p\"}", "invalid type: map"),
            ("[\"p\",null,null,\"2026-01-01\",5", "EOF"),
        ] {
            s.with(|c| {
                c.execute(
                    "UPDATE records SET entry = $1 WHERE external_id = 't00013'",
                    &[&damaged],
                )
            })
            .unwrap();
            let e = by_number(&s).unwrap_err().to_string();
            assert!(
                e.contains("record jira/time-entry/t00013 is not readable") && e.contains(says),
                "{damaged}: {e}"
            );
        }
    }

    #[test]
    fn time_entries_copied_in_get_their_entries() {
        let Some(url) = database("entries-copied") else {
            return;
        };
        let mut s = PostgresStore::open(&url).unwrap();
        let records = crate::suite::odd_time_entries("jira", 30, "2026-11-27T00:00:00.000Z");
        let (table, rows) = crate::suite::record_rows("jira", "worklogs", &records);
        s.load_rows(table, &rows).unwrap();
        let with_entry: i64 = s
            .with(|c| c.query_one("SELECT count(entry) FROM records", &[]))
            .unwrap()
            .get(0);
        assert_eq!(with_entry, 30);
        let mut want: Vec<_> = records.iter().map(crate::suite::collected).collect();
        want.sort();
        assert_eq!(by_number(&s).unwrap(), want);
    }

    #[test]
    fn a_wrong_password_or_a_missing_server_is_a_clear_error_without_the_password() {
        let Some(server) = crate::testing::postgres_server() else {
            return;
        };
        // The test server trusts local users: a missing database stands in for a refusal.
        let missing = format!(
            "{}/no_such_database_here",
            server.rsplit_once('/').unwrap().0
        )
        .replacen("://", "://tollgate:s3cret@", 1)
        .replacen("tollgate:s3cret@tollgate@", "tollgate:s3cret@", 1);
        let e = PostgresStore::open(&missing).err().unwrap().to_string();
        assert!(
            e.contains("no_such_database_here") && e.contains("cannot connect"),
            "{e}"
        );
        assert!(!e.contains("s3cret"), "{e}");
    }
}
