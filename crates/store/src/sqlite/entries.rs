//! Time entries by their summaries (schema 13): what the portfolio reads of a time entry, kept
//! in front of its packed document ([`crate::packed::Summary`]): its person, initiative and
//! day as numbers of `record_names`, its work item's key as text, its seconds.
//!
//! A million time entries are most of a large store, and the portfolio reads five things of
//! each. Unpacking and parsing each one's document was most of the time a check took to read
//! them; from the summaries it is a pass over the table and a few bytes a row.

use super::{Documents, db_error, reading_connection};
use crate::StoreError;
use crate::packed::{Summary, summary};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};
use std::hash::BuildHasher;
use std::path::Path;
use tollgate_dmo::model::{EntityKind, Record};
use tollgate_dmo::rules::portfolio::{
    NumberedEntry, NumberedTimeEntries, StoredTimeEntryParts, stored_time_entry,
};

/// `record_kinds`' code of `time-entry` (schema 12 numbered the kinds once and for all).
const TIME_ENTRY: i64 = 4;

/// Names a store keeps the numbers of, from one page to the next: past this many (about
/// 2 MB), they are forgotten and looked up again. At 10,000 epics a sync names ~11,000
/// (people, initiatives, days).
const NAMES_KEPT: usize = 1 << 16;

/// Texts with a value each (a number), one after another in one buffer and found by a table
/// of their places: about 20 bytes a text besides the text itself, where a map of strings
/// takes ~75 (an allocation each).
struct Texts<V> {
    text: String,
    /// Per text: where it ends in `text` (it starts where the one before ends), its value.
    items: Vec<(usize, V)>,
    /// Places in `items`, found by their text's hash.
    places: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl<V: Copy> Default for Texts<V> {
    fn default() -> Self {
        Texts {
            text: String::new(),
            items: Vec::new(),
            places: hashbrown::HashTable::new(),
            hasher: Default::default(),
        }
    }
}

/// The text of the item at `place`.
fn text_at<'a, V>(text: &'a str, items: &[(usize, V)], place: u32) -> &'a str {
    let i = place as usize;
    let start = if i == 0 { 0 } else { items[i - 1].0 };
    &text[start..items[i].0]
}

impl<V: Copy> Texts<V> {
    fn len(&self) -> usize {
        self.items.len()
    }

    /// The value of `name`, or the hash to [`Texts::add`] it with.
    fn get(&self, name: &str) -> Result<V, u64> {
        let hash = self.hasher.hash_one(name);
        let (text, items) = (&self.text, &self.items);
        match self
            .places
            .find(hash, |&place| text_at(text, items, place) == name)
        {
            Some(&place) => Ok(self.items[place as usize].1),
            None => Err(hash),
        }
    }

    /// Add `name` (not there yet, its hash `hash`) with `value`; false when full (2^32 texts).
    fn add(&mut self, hash: u64, name: &str, value: V) -> bool {
        let Ok(place) = u32::try_from(self.items.len()) else {
            return false;
        };
        self.text.push_str(name);
        self.items.push((self.text.len(), value));
        let (text, items, hasher) = (&self.text, &self.items, &self.hasher);
        self.places
            .insert_unique(hash, place, |&p| hasher.hash_one(text_at(text, items, p)));
        true
    }

    /// Keep the first `kept` texts only.
    fn truncate(&mut self, kept: usize) {
        if self.items.len() > kept {
            self.items.truncate(kept);
            self.text
                .truncate(self.items.last().map_or(0, |&(end, _)| end));
            self.places.retain(|&mut place| (place as usize) < kept);
        }
    }
}

/// The numbers of the names time entries' summaries hold, as looked up in or given by
/// `record_names`, kept for the next page (a page's people and days were mostly the page
/// before's).
///
/// A number, once given, always names its name: `record_names` numbers with AUTOINCREMENT,
/// so a number is never given to another name, even after `clear` (a number of a name
/// cleared away then names nothing, and a summary holding it is an error when read, not
/// another name).
#[derive(Default)]
pub(super) struct NameNumbers {
    names: Texts<u64>,
    /// How many of `names` were numbered in committed transactions; those after, in the
    /// one under way (forgotten if it does not commit).
    committed: usize,
}

impl NameNumbers {
    /// A transaction begins: what the last one numbered and did not commit is forgotten.
    pub(super) fn begin(&mut self) {
        self.names.truncate(self.committed);
    }

    /// The transaction committed: what it numbered is known.
    pub(super) fn committed(&mut self) {
        if self.names.len() > NAMES_KEPT {
            self.forget();
        }
        self.committed = self.names.len();
    }

    /// Everything forgotten (the store was cleared, or too many are kept).
    pub(super) fn forget(&mut self) {
        *self = NameNumbers::default();
    }

    fn number(&mut self, tx: &Connection, name: &str) -> rusqlite::Result<u64> {
        let hash = match self.names.get(name) {
            Ok(n) => return Ok(n),
            Err(hash) => hash,
        };
        let known: Option<i64> = tx
            .prepare_cached("SELECT code FROM record_names WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?;
        let n = match known {
            Some(n) => n,
            None => tx
                .prepare_cached("INSERT INTO record_names (name) VALUES (?1) RETURNING code")?
                .query_row([name], |r| r.get(0))?,
        } as u64;
        self.names.add(hash, name, n);
        Ok(n)
    }

    /// The summary of the time entry `t`, encoded onto `out`, its names numbered (in the
    /// transaction `tx`).
    fn summary_of(
        &mut self,
        tx: &Connection,
        t: &StoredTimeEntryParts<'_>,
        out: &mut Vec<u8>,
    ) -> rusqlite::Result<()> {
        let summary = Summary {
            person: self.number(tx, &t.person)?,
            work_item: t.work_item_key.as_deref(),
            initiative: match &t.initiative_key {
                Some(k) => self.number(tx, k)?,
                None => 0,
            },
            date: self.number(tx, &t.date)?,
            seconds: t.seconds,
        };
        summary.encode_onto(out);
        Ok(())
    }

    /// The summary `record` is written with, encoded over what `out` held: a time entry's
    /// (true); none for other kinds (false).
    pub(super) fn of_record(
        &mut self,
        tx: &Connection,
        record: &Record,
        out: &mut Vec<u8>,
    ) -> rusqlite::Result<bool> {
        out.clear();
        match &record.entity {
            tollgate_dmo::model::Entity::TimeEntry(t) => {
                self.summary_of(tx, &t.into(), out).map(|()| true)
            }
            _ => Ok(false),
        }
    }

    /// The summary of a time entry given as its document's text, encoded; none where the
    /// text does not read as a time entry (it is kept without one, and reading it says what
    /// is wrong, as it would have before).
    pub(super) fn of_text(
        &mut self,
        tx: &Connection,
        text: &str,
    ) -> rusqlite::Result<Option<Vec<u8>>> {
        match stored_time_entry(text) {
            Ok(t) => {
                let mut out = Vec::new();
                self.summary_of(tx, &t, &mut out).map(|()| Some(out))
            }
            Err(_) => Ok(None),
        }
    }
}

/// Give every time entry written before schema 13 its summary (the migration to 13).
pub(super) fn summarise_time_entries(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let failed = |what: String| rusqlite::Error::ToSqlConversionFailure(what.into());
    let mut packer =
        crate::packed::Packer::new().map_err(|e| failed(format!("packing a document: {e}")))?;
    let mut unpacker =
        crate::packed::Unpacker::new().map_err(|e| failed(format!("unpacking a document: {e}")))?;
    let mut names = NameNumbers::default();
    let mut text = String::new();
    super::each_record_by_rowid(
        tx,
        &format!(
            "SELECT rowid, record FROM records
             WHERE rowid > ?1 AND kind = {TIME_ENTRY} ORDER BY rowid LIMIT 1000"
        ),
        |rowid, record| {
            // A document that cannot be read is left as it is: reading it says what is
            // wrong, naming the record, as it did before.
            let packed = match record {
                rusqlite::types::Value::Blob(b) if summary(b).ok().flatten().is_none() => {
                    text.clear();
                    if unpacker.unpack_onto(b, &mut text).is_err() {
                        return Ok(());
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
                _ => return Ok(()),
            };
            let Some(encoded) = names.of_text(tx, &text)? else {
                return Ok(());
            };
            let summarised = crate::packed::with_summary(&packed, &encoded).map_err(failed)?;
            tx.prepare_cached("UPDATE records SET record = ?2 WHERE rowid = ?1")?
                .execute(rusqlite::params![rowid, summarised])?;
            Ok(())
        },
    )
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

/// Names not in `record_names`, numbered after the table's: the work items' keys, which
/// summaries hold as text, and every name of a document without a summary (written before
/// schema 13 and not migrated, which only a store edited by hand holds).
struct Others {
    next: u32,
    numbers: Texts<u32>,
}

impl Others {
    fn number(&mut self, name: &str, batch: &mut Batch) -> Result<u32, String> {
        let hash = match self.numbers.get(name) {
            Ok(n) => return Ok(n),
            Err(hash) => hash,
        };
        let n = self.next;
        self.next = n.checked_add(1).ok_or("more than 2^32 names")?;
        if !self.numbers.add(hash, name, n) {
            return Err("more than 2^32 names".into());
        }
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
    let conn = reading_connection(path)?;
    // One read transaction: the names and the rows are of the same moment, so a sync
    // committing meanwhile cannot leave a row naming a name read before it was given.
    conn.execute_batch("BEGIN").map_err(db)?;
    let mut table = Table::read(&conn).map_err(db)?;
    let mut others = Others {
        next: u32::try_from(table.codes.len()).unwrap_or(u32::MAX),
        numbers: Texts::default(),
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
                        work_item: s
                            .work_item
                            .map(|key| others.number(key, batch))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_a_transaction_rolled_back_are_forgotten_and_the_others_kept() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE record_names (code INTEGER PRIMARY KEY AUTOINCREMENT,
                                        name TEXT NOT NULL UNIQUE)",
        )
        .unwrap();
        let mut names = NameNumbers::default();
        names.begin();
        let tx = conn.transaction().unwrap();
        assert_eq!(names.number(&tx, "kept").unwrap(), 1);
        tx.commit().unwrap();
        names.committed();
        // A transaction that numbers names and rolls back: SQLite gives their numbers again.
        names.begin();
        let tx = conn.transaction().unwrap();
        assert_eq!(names.number(&tx, "a").unwrap(), 2);
        assert_eq!(names.number(&tx, "b").unwrap(), 3);
        drop(tx);
        names.begin();
        let tx = conn.transaction().unwrap();
        assert_eq!(
            names.number(&tx, "b").unwrap(),
            2,
            "b's number from the database"
        );
        assert_eq!(names.number(&tx, "a").unwrap(), 3);
        assert_eq!(names.number(&tx, "kept").unwrap(), 1);
        // Numbered by another writer meanwhile: found in the table, not given anew.
        tx.execute("INSERT INTO record_names (name) VALUES ('other')", [])
            .unwrap();
        assert_eq!(names.number(&tx, "other").unwrap(), 4);
        tx.commit().unwrap();
        names.committed();
        let texts = &names.names;
        let kept: Vec<(String, u64)> = (0..texts.len() as u32)
            .map(|p| {
                (
                    text_at(&texts.text, &texts.items, p).to_string(),
                    texts.items[p as usize].1,
                )
            })
            .collect();
        assert_eq!(
            kept,
            [
                ("kept".into(), 1),
                ("b".into(), 2),
                ("a".into(), 3),
                ("other".into(), 4)
            ]
        );
    }
}
