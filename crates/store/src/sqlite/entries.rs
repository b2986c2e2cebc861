//! Time entries by their summaries (schema 13): what the portfolio reads of a time entry, kept
//! in front of its packed document ([`crate::packed::Summary`]), its names (people, keys,
//! days) as numbers of `record_names`.
//!
//! A million time entries are most of a large store, and the portfolio reads five things of
//! each. Unpacking and parsing each one's document was most of the time a check took to read
//! them; from the summaries it is a pass over the table and a few bytes a row.

use super::{Documents, db_error};
use crate::StoreError;
use crate::packed::{Summary, summary};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use std::collections::HashMap;
use std::path::Path;
use tollgate_dmo::model::{EntityKind, Record};
use tollgate_dmo::rules::portfolio::{
    NumberedEntry, NumberedTimeEntries, StoredTimeEntryParts, stored_time_entry,
};

/// `record_kinds`' code of `time-entry` (schema 12 numbered the kinds once and for all).
const TIME_ENTRY: i64 = 4;

/// Names numbered in committed transactions that a store keeps for the next (a page's
/// people and days, mostly, were the page before's): at most this many, then forgotten.
const NAMES_KEPT: usize = 16_384;

/// The numbers of the names time entries' summaries hold, as looked up in or given by
/// `record_names`.
#[derive(Default)]
pub(super) struct NameNumbers {
    /// Named in committed transactions. A number, once given, always names its name:
    /// `record_names` numbers with AUTOINCREMENT, so a number is never given to another name,
    /// even after `clear` (a number of a name cleared away then names nothing, and a summary
    /// holding it is an error when read, not another name).
    known: HashMap<String, u64>,
    /// Named in the transaction under way: kept only once it commits.
    fresh: HashMap<String, u64>,
}

impl NameNumbers {
    /// A transaction begins: what the last one named and did not commit is forgotten.
    pub(super) fn begin(&mut self) {
        self.fresh.clear();
    }

    /// The transaction committed: what it named is known.
    pub(super) fn committed(&mut self) {
        if self.known.len() + self.fresh.len() > NAMES_KEPT {
            self.known.clear();
        }
        self.known.extend(self.fresh.drain());
    }

    /// Everything forgotten (the store was cleared).
    pub(super) fn forget(&mut self) {
        self.known.clear();
        self.fresh.clear();
    }

    fn number(&mut self, tx: &Connection, name: &str) -> rusqlite::Result<u64> {
        if let Some(n) = self.known.get(name).or_else(|| self.fresh.get(name)) {
            return Ok(*n);
        }
        tx.prepare_cached("INSERT OR IGNORE INTO record_names (name) VALUES (?1)")?
            .execute([name])?;
        let n: i64 = tx
            .prepare_cached("SELECT code FROM record_names WHERE name = ?1")?
            .query_row([name], |r| r.get(0))?;
        let n = n as u64;
        self.fresh.insert(name.to_string(), n);
        Ok(n)
    }

    /// The summary of a time entry of these parts, its names numbered (in the transaction
    /// `tx`).
    fn summary_of(
        &mut self,
        tx: &Connection,
        person: &str,
        work_item: Option<&str>,
        initiative: Option<&str>,
        date: &str,
        seconds: u64,
    ) -> rusqlite::Result<Summary> {
        Ok(Summary {
            person: self.number(tx, person)?,
            work_item: match work_item {
                Some(k) => self.number(tx, k)?,
                None => 0,
            },
            initiative: match initiative {
                Some(k) => self.number(tx, k)?,
                None => 0,
            },
            date: self.number(tx, date)?,
            seconds,
        })
    }

    /// The summary `record` is written with: a time entry's; none for other kinds.
    pub(super) fn of_record(
        &mut self,
        tx: &Connection,
        record: &Record,
    ) -> rusqlite::Result<Option<Summary>> {
        match &record.entity {
            tollgate_dmo::model::Entity::TimeEntry(t) => self
                .summary_of(
                    tx,
                    &t.person,
                    t.work_item_key.as_deref(),
                    t.initiative_key.as_deref(),
                    &t.date,
                    t.seconds,
                )
                .map(Some),
            _ => Ok(None),
        }
    }

    /// The summary of a time entry given as its document's text; none where the text does
    /// not read as a time entry (it is kept without one, and reading it says what is wrong,
    /// as it would have before).
    pub(super) fn of_text(
        &mut self,
        tx: &Connection,
        text: &str,
    ) -> rusqlite::Result<Option<Summary>> {
        let Ok(t) = stored_time_entry(text) else {
            return Ok(None);
        };
        self.summary_of(
            tx,
            &t.person,
            t.work_item_key.as_deref(),
            t.initiative_key.as_deref(),
            &t.date,
            t.seconds,
        )
        .map(Some)
    }
}

/// Give every time entry written before schema 13 its summary, a thousand rows at a time
/// (the migration to 13).
pub(super) fn summarise_time_entries(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let failed = |what: String| rusqlite::Error::ToSqlConversionFailure(what.into());
    let mut packer =
        crate::packed::Packer::new().map_err(|e| failed(format!("packing a document: {e}")))?;
    let mut unpacker =
        crate::packed::Unpacker::new().map_err(|e| failed(format!("unpacking a document: {e}")))?;
    let mut names = NameNumbers::default();
    let mut text = String::new();
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, rusqlite::types::Value)> = tx
            .prepare_cached(
                "SELECT rowid, record FROM records
                 WHERE rowid > ?1 AND kind = ?2 ORDER BY rowid LIMIT 1000",
            )?
            .query_map([after, TIME_ENTRY], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let Some(&(last, _)) = rows.last() else {
            return Ok(());
        };
        let mut update = tx.prepare_cached("UPDATE records SET record = ?2 WHERE rowid = ?1")?;
        for (rowid, record) in &rows {
            // A document that cannot be read is left as it is: reading it says what is
            // wrong, naming the record, as it did before.
            let packed = match record {
                rusqlite::types::Value::Blob(b) if summary(b).ok().flatten().is_none() => {
                    text.clear();
                    if unpacker.unpack_onto(b, &mut text).is_err() {
                        continue;
                    }
                    b.clone()
                }
                rusqlite::types::Value::Text(t) => {
                    text.clear();
                    text.push_str(t);
                    packer
                        .pack(t)
                        .map_err(|e| failed(format!("packing a document: {e}")))?
                }
                _ => continue,
            };
            let Some(s) = names.of_text(tx, &text)? else {
                continue;
            };
            let summarised = crate::packed::with_summary(&packed, &s).map_err(failed)?;
            update.execute(rusqlite::params![rowid, summarised])?;
        }
        after = last;
    }
}

/// Names and entries, read for [`crate::Store::each_time_entry`]: the names in a batch come
/// before its entries, and each name is sent once a read, before the first entry naming it.
struct Batch {
    /// The names' texts one after another.
    text: String,
    /// Per name: its number and where it ends in `text`.
    names: Vec<(u32, usize)>,
    entries: Vec<NumberedEntry>,
}

/// Entries a batch holds.
const ENTRIES_PER_BATCH: usize = 1024;

impl Batch {
    fn new() -> Batch {
        Batch {
            text: String::new(),
            names: Vec::new(),
            entries: Vec::with_capacity(ENTRIES_PER_BATCH),
        }
    }

    fn name(&mut self, number: u32, text: &str) {
        self.text.push_str(text);
        self.names.push((number, self.text.len()));
    }
}

/// The names of `record_names`, read once per read: the number handed out for a name is its
/// place here.
struct Table {
    /// Per name, its code in `record_names` (ascending).
    codes: Vec<i64>,
    text: String,
    ends: Vec<usize>,
    /// Per name, whether it was sent.
    sent: Vec<bool>,
}

impl Table {
    fn read(conn: &Connection) -> rusqlite::Result<Table> {
        let mut t = Table {
            codes: Vec::new(),
            text: String::new(),
            ends: Vec::new(),
            sent: Vec::new(),
        };
        let mut stmt = conn.prepare("SELECT code, name FROM record_names ORDER BY code")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            t.codes.push(r.get(0)?);
            t.text.push_str(r.get_ref(1)?.as_str()?);
            t.ends.push(t.text.len());
        }
        t.sent = vec![false; t.codes.len()];
        Ok(t)
    }

    /// The place of the name `code`, sent in `batch` if it was not yet.
    fn number(&mut self, code: u64, batch: &mut Batch) -> Result<u32, String> {
        let code = i64::try_from(code).unwrap_or(i64::MAX);
        // Numbered 1, 2, 3, ...: a name's place is its code less one, unless names were
        // numbered with gaps (a transaction rolled back, a store cleared).
        let guess = usize::try_from(code - 1).ok();
        let at = match guess.filter(|&g| self.codes.get(g) == Some(&code)) {
            Some(at) => at,
            None => self.codes.binary_search(&code).map_err(|_| {
                format!("its summary names name number {code}, which is not on record")
            })?,
        };
        let number = u32::try_from(at).map_err(|_| "more than 2^32 names".to_string())?;
        if !self.sent[at] {
            self.sent[at] = true;
            let start = if at == 0 { 0 } else { self.ends[at - 1] };
            batch.name(number, &self.text[start..self.ends[at]]);
        }
        Ok(number)
    }
}

/// Names of documents without a summary (written before schema 13 and not migrated, which
/// only a store edited by hand holds), numbered after the table's.
struct Others {
    next: u32,
    numbers: HashMap<String, u32>,
}

impl Others {
    fn number(&mut self, name: &str, batch: &mut Batch) -> Result<u32, String> {
        if let Some(n) = self.numbers.get(name) {
            return Ok(*n);
        }
        let n = self.next;
        self.next = n.checked_add(1).ok_or("more than 2^32 names")?;
        self.numbers.insert(name.to_string(), n);
        batch.name(n, name);
        Ok(n)
    }

    fn entry(&mut self, t: &StoredTimeEntryParts<'_>, batch: &mut Batch) -> Result<(), String> {
        let entry = NumberedEntry {
            person: self.number(&t.person, batch)?,
            work_item: t
                .work_item_key
                .as_deref()
                .map(|k| self.number(k, batch))
                .transpose()?,
            initiative: t
                .initiative_key
                .as_deref()
                .map(|k| self.number(k, batch))
                .transpose()?,
            date: self.number(&t.date, batch)?,
            seconds: t.seconds,
        };
        batch.entries.push(entry);
        Ok(())
    }
}

/// Read the live time entries in the table's order on a connection to `path` of this
/// thread's own, and send them in batches; stop when the receiver is gone.
fn read_entries(
    path: &Path,
    batches: &std::sync::mpsc::SyncSender<Result<Batch, StoreError>>,
) -> Result<(), StoreError> {
    let db = db_error(path);
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db)?;
    // One read transaction: the names and the rows are of the same moment, so a sync
    // committing meanwhile cannot leave a row naming a name read before it was given.
    conn.execute_batch("BEGIN").map_err(db)?;
    let mut table = Table::read(&conn).map_err(db)?;
    let mut others = Others {
        next: u32::try_from(table.codes.len()).unwrap_or(u32::MAX),
        numbers: HashMap::new(),
    };
    let mut documents = Documents::new(&conn, path)?;
    let mut text = String::new();
    let mut batch = Batch::new();
    let mut stmt = conn
        .prepare(
            "SELECT record, connection, external_id FROM records NOT INDEXED
             WHERE kind = ?1 AND deleted_at IS NULL",
        )
        .map_err(db)?;
    let mut rows = stmt.query([TIME_ENTRY]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        let document = row.get_ref(0).map_err(db)?;
        let mut take = |batch: &mut Batch| -> Result<(), String> {
            let summarised = match document {
                ValueRef::Blob(b) => summary(b)?,
                _ => None,
            };
            match summarised {
                Some(s) => {
                    let entry = NumberedEntry {
                        person: table.number(s.person, batch)?,
                        work_item: (s.work_item != 0)
                            .then(|| table.number(s.work_item, batch))
                            .transpose()?,
                        initiative: (s.initiative != 0)
                            .then(|| table.number(s.initiative, batch))
                            .transpose()?,
                        date: table.number(s.date, batch)?,
                        seconds: s.seconds,
                    };
                    batch.entries.push(entry);
                    Ok(())
                }
                None => {
                    text.clear();
                    documents.onto(document, None, &mut text)?;
                    let t = stored_time_entry(&text).map_err(|e| e.to_string())?;
                    others.entry(&t, batch)
                }
            }
        };
        if let Err(e) = take(&mut batch) {
            let connection = row.get_ref(1).map_err(db)?;
            let id = row.get_ref(2).map_err(db)?;
            return Err(crate::unreadable(
                path.display().to_string(),
                connection.as_str().unwrap_or("?"),
                EntityKind::TimeEntry,
                id.as_str().unwrap_or("?"),
                e,
            ));
        }
        if batch.entries.len() == ENTRIES_PER_BATCH
            && batches
                .send(Ok(std::mem::replace(&mut batch, Batch::new())))
                .is_err()
        {
            return Ok(());
        }
    }
    if !batch.entries.is_empty() || !batch.names.is_empty() {
        let _ = batches.send(Ok(batch));
    }
    Ok(())
}

/// [`crate::Store::each_time_entry`] for the SQLite store at `path`: read on a thread and a
/// connection of their own while `read` takes the entries in on this one.
pub(super) fn each_time_entry(
    path: &Path,
    read: &mut dyn NumberedTimeEntries,
) -> Result<(), StoreError> {
    let failed = |e: String| StoreError::Database {
        location: path.display().to_string(),
        message: format!("reading the time entries: {e}"),
    };
    std::thread::scope(|scope| {
        let (batches, received) = std::sync::mpsc::sync_channel::<Result<Batch, StoreError>>(4);
        scope.spawn(move || {
            if let Err(e) = read_entries(path, &batches) {
                let _ = batches.send(Err(e));
            }
        });
        // Returning early drops `received`: the reader stops at its next batch.
        for batch in received {
            let batch = batch?;
            let mut start = 0;
            for &(number, end) in &batch.names {
                read.name(number, &batch.text[start..end]).map_err(failed)?;
                start = end;
            }
            for entry in &batch.entries {
                read.entry(*entry).map_err(failed)?;
            }
        }
        Ok(())
    })
}
