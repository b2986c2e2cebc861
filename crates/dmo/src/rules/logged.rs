//! Time entries as the portfolio holds them: compact, because there are millions of them.
//!
//! A portfolio of 10,000 initiatives has about a million time entries, and the rules read
//! only who logged how long, when, and on what. A [`TimeEntry`] as synced carries five owned
//! strings (about 350 bytes on the heap with its allocations); here each entry is 16 bytes:
//! its strings (people, keys and dates, which repeat) interned once per portfolio, and what
//! it was logged on (a work item and an initiative, which repeat together) numbered once per
//! pair. The rules and reports see an entry as a [`Logged`], a view borrowing those strings.

use crate::model::TimeEntry;
use std::hash::BuildHasher;

/// One time entry as the rules read it: who, on what, which day, how long. (The entry's
/// description and start time stay in the store; nothing computed from the portfolio reads
/// them.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged<'a> {
    /// The person's id.
    pub person: &'a str,
    /// The work item it was logged on, if any.
    pub work_item_key: Option<&'a str>,
    /// The initiative it was logged on directly, if any.
    pub initiative_key: Option<&'a str>,
    /// The day, as the source gave it (`YYYY-MM-DD` when valid).
    pub date: &'a str,
    /// The day's number ([`crate::calendar::day_number`]), if `date` is a valid date.
    pub day: Option<i64>,
    /// Seconds logged.
    pub seconds: u64,
}

/// No string: an absent key.
pub(crate) const NONE: u32 = u32::MAX;
/// No day: a date that is not one.
const NO_DAY: i32 = i32::MIN;

#[derive(Debug, Clone, Copy)]
struct Row {
    /// The seconds logged where below [`LARGE`]; else `LARGE` plus where they are in
    /// [`TimeEntries::large`].
    seconds: u32,
    person: u32,
    /// The number of its work item and initiative ([`Places`]).
    on: u32,
    date: u32,
}

/// Seconds from here on (68 years in one entry, which only a broken or hostile source
/// sends) are kept aside, exactly, so that an entry takes 16 bytes rather than 24.
const LARGE: u32 = 1 << 31;

/// The portfolio's time entries, in the order they were added; in a finished portfolio,
/// grouped by the initiative they count for ([`super::Portfolio::finish`]).
#[derive(Debug, Default, Clone)]
pub struct TimeEntries {
    rows: Vec<Row>,
    names: Names,
    /// What the entries were logged on.
    places: Places,
    /// The seconds of entries at or above [`LARGE`], as logged.
    large: Vec<u64>,
    /// When set, only entries logged on a day from the first to the last of these are kept
    /// as they are added (see [`TimeEntries::keep_only_days`]).
    window: Option<(i64, i64)>,
}

/// Strings that repeat (people, keys, dates, categories), each kept once and named by a
/// number: the compact parts of the portfolio ([`TimeEntries`], [`super::items::WorkItems`])
/// hold these numbers instead of strings.
///
/// The strings lie one after another in one buffer, and the table that finds a string's
/// number holds only the number (it hashes and compares the text in the buffer): about 20
/// bytes a string besides its text, where a map of shared strings to numbers took about 100
/// (an allocation per string, its key in the map and a list of them), the larger part of a
/// portfolio's names at a million time entries and 100,000 work items. Outside the portfolio
/// the runtime keeps a sync's known keys in one (`tollgate_runtime::KnownKeys`).
#[derive(Debug, Default, Clone)]
pub struct Names {
    /// Every string, one after another, in the order numbered.
    text: String,
    /// Per string: where it ends in `text` (it starts where the one before it ends).
    ends: Vec<usize>,
    /// Per string: its day number where it is a date, [`NO_DAY`] where it is not (kept per
    /// string, not per entry, so that an entry stays 16 bytes).
    days: Vec<i32>,
    /// The numbers, found by their string's hash.
    ids: hashbrown::HashTable<u32>,
    /// Seeded at random per process, as [`crate::HashMap`]'s is.
    hasher: foldhash::fast::RandomState,
}

/// The string numbered `id` in a [`Names`]' buffer.
fn slice<'a>(text: &'a str, ends: &[usize], id: u32) -> &'a str {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &text[start..ends[i]]
}

impl Names {
    /// No string: what [`Names::intern_opt`] gives for none.
    pub const NONE: u32 = NONE;

    /// The number of `s`, given it if it has none yet.
    pub fn intern(&mut self, s: &str) -> u32 {
        let hash = self.hasher.hash_one(s);
        if let Some(id) = self
            .ids
            .find(hash, |&id| slice(&self.text, &self.ends, id) == s)
        {
            return *id;
        }
        // Past 4 billion distinct strings the ids would collide with NONE; a portfolio that
        // large does not fit in memory anyway.
        let id = u32::try_from(self.ends.len())
            .ok()
            .filter(|id| *id != NONE)
            .expect("fewer than 2^32 distinct names and keys in one portfolio");
        self.days.push(
            crate::calendar::day_number(s)
                .and_then(|d| i32::try_from(d).ok())
                .filter(|d| *d != NO_DAY)
                .unwrap_or(NO_DAY),
        );
        self.text.push_str(s);
        self.ends.push(self.text.len());
        let (text, ends, hasher) = (&self.text, &self.ends, &self.hasher);
        self.ids
            .insert_unique(hash, id, |&id| hasher.hash_one(slice(text, ends, id)));
        id
    }

    /// The number of an optional string, [`NONE`] for none.
    pub fn intern_opt(&mut self, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| self.intern(s))
    }

    /// The number `s` has, if it has one.
    pub fn id(&self, s: &str) -> Option<u32> {
        self.ids
            .find(self.hasher.hash_one(s), |&id| {
                slice(&self.text, &self.ends, id) == s
            })
            .copied()
    }

    /// The string numbered `id`.
    pub fn text(&self, id: u32) -> &str {
        slice(&self.text, &self.ends, id)
    }

    /// The string numbered `id`; none for [`NONE`].
    pub fn text_opt(&self, id: u32) -> Option<&str> {
        (id != NONE).then(|| self.text(id))
    }

    /// The day number of the string `id`, if it is a date.
    pub(crate) fn day(&self, id: u32) -> Option<i64> {
        Some(self.days[id as usize])
            .filter(|d| *d != NO_DAY)
            .map(i64::from)
    }

    /// How many strings there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Give back the room reserved for strings not added.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.days.shrink_to_fit();
        let (text, ends, hasher) = (&self.text, &self.ends, &self.hasher);
        self.ids
            .shrink_to_fit(|&id| hasher.hash_one(slice(text, ends, id)));
    }
}

/// What entries were logged on: pairs of a work item and an initiative (their names'
/// numbers, [`NONE`] for none), each kept once and numbered. A portfolio's million time
/// entries are logged on its hundred thousand work items: an entry's number of its pair, not
/// the pair, makes it 16 bytes rather than 20 (4 MB of `check`'s peak memory at 10,000
/// initiatives, for less than 1 MB of pairs).
#[derive(Debug, Default, Clone)]
struct Places {
    /// Every pair, in the order numbered.
    pairs: Vec<[u32; 2]>,
    /// The numbers, found by their pair's hash; emptied when the entries are all added
    /// ([`Places::shrink_to_fit`]) and built again if more come.
    ids: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl Places {
    /// The number of `pair`, given it if it has none yet.
    fn number(&mut self, pair: [u32; 2]) -> u32 {
        if self.ids.is_empty() && !self.pairs.is_empty() {
            let (pairs, hasher) = (&self.pairs, &self.hasher);
            for (id, p) in pairs.iter().enumerate() {
                self.ids
                    .insert_unique(hasher.hash_one(p), id as u32, |&id| {
                        hasher.hash_one(pairs[id as usize])
                    });
            }
        }
        let hash = self.hasher.hash_one(pair);
        if let Some(id) = self.ids.find(hash, |&id| self.pairs[id as usize] == pair) {
            return *id;
        }
        // As many pairs as entries at most: fewer than 2^32.
        let id = u32::try_from(self.pairs.len()).expect("fewer than 2^32 time entries");
        self.pairs.push(pair);
        let (pairs, hasher) = (&self.pairs, &self.hasher);
        self.ids
            .insert_unique(hash, id, |&id| hasher.hash_one(pairs[id as usize]));
        id
    }

    /// The pair numbered `id`.
    fn pair(&self, id: u32) -> [u32; 2] {
        self.pairs[id as usize]
    }

    /// Give back the room reserved for pairs not added, and the table that numbers new ones.
    fn shrink_to_fit(&mut self) {
        self.pairs.shrink_to_fit();
        self.ids = hashbrown::HashTable::new();
    }
}

impl TimeEntries {
    /// From now on keep only the entries logged on a day from `first` to `last` (day
    /// numbers, both included) as they are added; the others, and those without a date that
    /// reads as one, are read and let go. For a reader that counts no other time: held whole,
    /// a million entries are 16 MB.
    pub fn keep_only_days(&mut self, first: i64, last: i64) {
        self.window = Some((first, last));
    }

    /// Take in one entry.
    pub fn push(&mut self, t: TimeEntry) {
        self.push_parts(
            &t.person,
            t.work_item_key.as_deref(),
            t.initiative_key.as_deref(),
            &t.date,
            t.seconds,
        );
    }

    /// Take in one entry as the store holds it: a time entry's [`crate::model::Record`] as
    /// JSON. Only what the portfolio keeps is read, borrowed from the text where it has no
    /// escapes: building the whole record (eleven strings and a map) only to drop most of it
    /// was a third of the time a portfolio of a million time entries took to load. A text
    /// that is not a time entry's record is an error, as it would be for the record.
    pub fn push_stored(&mut self, text: &str) -> Result<(), serde_json::Error> {
        self.push_stored_parts(&stored_time_entry(text)?);
        Ok(())
    }

    /// Take in one entry as [`stored_time_entry`] read it.
    fn push_stored_parts(&mut self, t: &StoredTimeEntryParts<'_>) {
        self.push_parts(
            &t.person,
            t.work_item_key.as_deref(),
            t.initiative_key.as_deref(),
            &t.date,
            t.seconds,
        );
    }

    /// Take in entries that a store hands out by number ([`NumberedTimeEntries`]): each name
    /// is interned once, not once per entry.
    pub fn by_number(&mut self) -> ByNumber<'_> {
        ByNumber {
            entries: self,
            ids: Vec::new(),
            pending: Vec::new(),
        }
    }

    fn push_parts(
        &mut self,
        person: &str,
        work_item: Option<&str>,
        initiative: Option<&str>,
        date: &str,
        seconds: u64,
    ) {
        // The date first: an entry outside the window leaves no other name behind.
        let date = self.names.intern(date);
        if !self.in_window(date) {
            return;
        }
        let names = &mut self.names;
        let ids = [
            names.intern(person),
            names.intern_opt(work_item),
            names.intern_opt(initiative),
            date,
        ];
        self.push_ids(ids, seconds);
    }

    /// Whether an entry of the date `date` (interned) is kept ([`TimeEntries::keep_only_days`]).
    fn in_window(&self, date: u32) -> bool {
        self.window.is_none_or(|(first, last)| {
            self.names
                .day(date)
                .is_some_and(|d| first <= d && d <= last)
        })
    }

    /// An entry in the window whose person, work item, initiative and date are interned.
    fn push_ids(&mut self, [person, work_item, initiative, date]: [u32; 4], seconds: u64) {
        let seconds = match u32::try_from(seconds) {
            Ok(small) if small < LARGE => small,
            _ => {
                let at = u32::try_from(self.large.len())
                    .ok()
                    .filter(|at| *at < LARGE)
                    .expect("fewer than 2^31 entries of more than 68 years each");
                self.large.push(seconds);
                LARGE | at
            }
        };
        let on = self.places.number([work_item, initiative]);
        self.rows.push(Row {
            seconds,
            person,
            on,
            date,
        });
    }

    fn view(&self, row: &Row) -> Logged<'_> {
        let names = &self.names;
        let [work_item, initiative] = self.places.pair(row.on);
        Logged {
            person: names.text(row.person),
            work_item_key: names.text_opt(work_item),
            initiative_key: names.text_opt(initiative),
            date: names.text(row.date),
            day: names.day(row.date),
            seconds: self.seconds(row),
        }
    }

    fn seconds(&self, row: &Row) -> u64 {
        if row.seconds < LARGE {
            u64::from(row.seconds)
        } else {
            self.large[(row.seconds & !LARGE) as usize]
        }
    }

    /// Give back the room reserved for entries not added.
    pub fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.large.shrink_to_fit();
        self.names.shrink_to_fit();
        self.places.shrink_to_fit();
    }

    /// Every entry, in the order added.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Logged<'_>> + Clone + '_ {
        self.rows.iter().map(|r| self.view(r))
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The day and the seconds of the entry at `i` (in the order added).
    pub(crate) fn day_and_seconds(&self, i: usize) -> (Option<i64>, u64) {
        let row = &self.rows[i];
        (self.names.day(row.date), self.seconds(row))
    }

    /// The seconds of the entries at `range` (in the order held), added up (saturating, as
    /// every total of seconds is: the same sum in whatever grouping).
    pub(crate) fn seconds_in(&self, range: std::ops::Range<usize>) -> u64 {
        self.rows[range]
            .iter()
            .fold(0u64, |sum, row| sum.saturating_add(self.seconds(row)))
    }

    /// Each entry's person and date by their numbers ([`TimeEntries::name`],
    /// [`TimeEntries::day_of`]), and its seconds: for a total per person or day that would
    /// otherwise compare a million strings.
    pub(crate) fn by_numbers(&self) -> impl Iterator<Item = (u32, u32, u64)> + '_ {
        self.rows
            .iter()
            .map(|row| (row.person, row.date, self.seconds(row)))
    }

    /// The person or date numbered `number` in [`TimeEntries::by_numbers`].
    pub(crate) fn name(&self, number: u32) -> &str {
        self.names.text(number)
    }

    /// The day number of the date numbered `number`, if it is a date.
    pub(crate) fn day_of(&self, number: u32) -> Option<i64> {
        self.names.day(number)
    }

    /// What the entries were logged on, by the number of the pair: (work item, initiative).
    pub(crate) fn places(&self) -> impl ExactSizeIterator<Item = (Option<&str>, Option<&str>)> {
        self.places.pairs.iter().map(|[item, initiative]| {
            (self.names.text_opt(*item), self.names.text_opt(*initiative))
        })
    }

    /// Group the entries by `group_of`, the group of each pair they may be logged on (by its
    /// number, [`TimeEntries::places`]; groups numbered from 0 below `groups`, [`NONE`] for
    /// none): each group's entries together, in the groups' order and each as added, those
    /// of no group after them all. Returns where each group's entries lie.
    pub(crate) fn group(&mut self, group_of: &[u32], groups: usize) -> Vec<std::ops::Range<usize>> {
        assert_eq!(
            group_of.len(),
            self.places.pairs.len(),
            "a group for each pair"
        );
        let group = |row: &Row| match group_of[row.on as usize] {
            NONE => groups,
            g => g as usize,
        };
        let mut counts = vec![0usize; groups + 1];
        for row in &self.rows {
            counts[group(row)] += 1;
        }
        let mut next = Vec::with_capacity(groups + 1);
        let mut start = 0;
        for count in &counts {
            next.push(start);
            start += count;
        }
        let ranges = (0..groups).map(|g| next[g]..next[g] + counts[g]).collect();
        let mut to = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            let at = &mut next[group(row)];
            // Fewer than 2^32 entries: a u32 place each.
            to.push(u32::try_from(*at).expect("fewer than 2^32 time entries"));
            *at += 1;
        }
        self.move_to(to);
        ranges
    }

    /// Move each entry to the place `places` gives it (`places` holds each place once: the
    /// entries' new order).
    fn move_to(&mut self, mut places: Vec<u32>) {
        assert_eq!(places.len(), self.rows.len(), "a place for each entry");
        // Each swap puts one entry where it goes: at most one per entry, unless a place is
        // given twice (then this would never end).
        let mut swaps = 0;
        for i in 0..places.len() {
            while places[i] as usize != i {
                let j = places[i] as usize;
                self.rows.swap(i, j);
                places.swap(i, j);
                swaps += 1;
                assert!(swaps <= places.len(), "a place given twice");
            }
        }
    }

    /// Keep only the entries `keep` is true of ([`super::Portfolio::retain_time_entries`],
    /// which keeps the portfolio's indexes over them in step).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(Logged<'_>) -> bool) {
        let mut rows = std::mem::take(&mut self.rows);
        rows.retain(|r| keep(self.view(r)));
        self.rows = rows;
    }
}

/// Time entries as a store hands them out: each name (a person, a key, a date) given once
/// with a number, then the entries, which name theirs by those numbers; or, from a store that
/// does not number them, each entry with its names' texts. Numbers are small (below the
/// count of names given, as a rule: a reader may keep a table indexed by them) and hold for
/// one read.
pub trait NumberedTimeEntries {
    /// From now on `number` stands for `text`. An error (a number far beyond the names
    /// given) stops the read.
    fn name(&mut self, number: u32, text: &str) -> Result<(), String>;
    /// An entry; a number not given is an error, which stops the read.
    fn entry(&mut self, entry: NumberedEntry) -> Result<(), String>;
    /// An entry given with its names' texts, by a store that does not number them (it reads
    /// each entry's text).
    fn entry_with_names(&mut self, entry: &StoredTimeEntryParts<'_>) -> Result<(), String>;
}

/// A time entry by the numbers of its names ([`NumberedTimeEntries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberedEntry {
    /// Who logged it.
    pub person: u32,
    /// The work item it was logged on, if any.
    pub work_item: Option<u32>,
    /// The initiative it was logged on directly, if any.
    pub initiative: Option<u32>,
    /// The day as the source gave it.
    pub date: u32,
    /// Seconds logged.
    pub seconds: u64,
}

/// [`TimeEntries`] taking in entries by number ([`TimeEntries::by_number`]).
pub struct ByNumber<'a> {
    entries: &'a mut TimeEntries,
    /// Per number given, the name's id in the entries' [`Names`]; [`NONE`] where it is not
    /// interned (yet).
    ids: Vec<u32>,
    /// Per number given but not interned, its text: with a window of days
    /// ([`TimeEntries::keep_only_days`]) a name is interned when an entry kept names it, so
    /// that the names of entries let go do not stay.
    pending: Vec<Option<Box<str>>>,
}

/// Numbers from here on are refused: a store hands out numbers below its count of names,
/// and a table of this many ids is already 1 GiB.
const LARGEST_NUMBER: u32 = 1 << 28;

impl ByNumber<'_> {
    /// The id of the name `number`, interned now if it was pending.
    fn id(&mut self, number: u32) -> Result<u32, String> {
        let at = number as usize;
        match self.ids.get(at) {
            Some(&id) if id != NONE => Ok(id),
            Some(_) => match self.pending.get_mut(at).and_then(Option::take) {
                Some(text) => {
                    let id = self.entries.names.intern(&text);
                    self.ids[at] = id;
                    Ok(id)
                }
                None => Err(format!(
                    "it names name number {number}, which was never given"
                )),
            },
            None => Err(format!(
                "it names name number {number}, which was never given"
            )),
        }
    }
}

impl NumberedTimeEntries for ByNumber<'_> {
    fn name(&mut self, number: u32, text: &str) -> Result<(), String> {
        if number >= LARGEST_NUMBER {
            return Err(format!("name number {number} is out of range"));
        }
        let at = number as usize;
        if self.ids.len() <= at {
            self.ids.resize(at + 1, NONE);
        }
        if self.entries.window.is_none() {
            self.ids[at] = self.entries.names.intern(text);
        } else {
            if self.pending.len() <= at {
                self.pending.resize(at + 1, None);
            }
            self.ids[at] = NONE;
            self.pending[at] = Some(text.into());
        }
        Ok(())
    }

    fn entry(&mut self, e: NumberedEntry) -> Result<(), String> {
        let date = self.id(e.date)?;
        if !self.entries.in_window(date) {
            return Ok(());
        }
        let ids = [
            self.id(e.person)?,
            e.work_item.map_or(Ok(NONE), |n| self.id(n))?,
            e.initiative.map_or(Ok(NONE), |n| self.id(n))?,
            date,
        ];
        self.entries.push_ids(ids, e.seconds);
        Ok(())
    }

    fn entry_with_names(&mut self, e: &StoredTimeEntryParts<'_>) -> Result<(), String> {
        self.entries.push_stored_parts(e);
        Ok(())
    }
}

/// What the portfolio keeps of a stored time entry ([`stored_time_entry`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTimeEntryParts<'a> {
    /// Who logged it.
    pub person: std::borrow::Cow<'a, str>,
    /// The work item it was logged on, if any.
    pub work_item_key: Option<std::borrow::Cow<'a, str>>,
    /// The initiative it was logged on directly, if any.
    pub initiative_key: Option<std::borrow::Cow<'a, str>>,
    /// The day as the source gave it.
    pub date: std::borrow::Cow<'a, str>,
    /// Seconds logged.
    pub seconds: u64,
}

impl<'a> From<&'a TimeEntry> for StoredTimeEntryParts<'a> {
    fn from(t: &'a TimeEntry) -> Self {
        StoredTimeEntryParts {
            person: t.person.as_str().into(),
            work_item_key: t.work_item_key.as_deref().map(Into::into),
            initiative_key: t.initiative_key.as_deref().map(Into::into),
            date: t.date.as_str().into(),
            seconds: t.seconds,
        }
    }
}

/// A time entry's record as JSON (as a store holds it), read for what the portfolio keeps of
/// it, borrowed from the text where it has no escapes. A text that is not a time entry's
/// record is an error, as it would be for the record.
pub fn stored_time_entry(text: &str) -> Result<StoredTimeEntryParts<'_>, serde_json::Error> {
    let t: StoredTimeEntry = stored_data(text, "time-entry", "a time entry")?;
    Ok(StoredTimeEntryParts {
        person: t.person.0,
        work_item_key: t.work_item_key.map(|k| k.0),
        initiative_key: t.initiative_key.map(|k| k.0),
        date: t.date.0,
        seconds: t.seconds,
    })
}

/// What the portfolio keeps of a time entry as a store may keep it beside the record (the
/// PostgreSQL store's `entry`): a JSON array of five members, `[person, work item key,
/// initiative key, date, seconds]`, the keys `null` where there are none. Read back by
/// [`time_entry_from_array`].
pub fn time_entry_array(t: &StoredTimeEntryParts<'_>) -> String {
    serde_json::to_string(&(
        &t.person,
        &t.work_item_key,
        &t.initiative_key,
        &t.date,
        t.seconds,
    ))
    .expect("strings and a number serialise")
}

/// A time entry's [`time_entry_array`], borrowed from the text where it has no escapes.
/// Anything else is an error.
pub fn time_entry_from_array(text: &str) -> Result<StoredTimeEntryParts<'_>, serde_json::Error> {
    #[allow(clippy::type_complexity)]
    let (person, work_item_key, initiative_key, date, seconds): (
        Text<'_>,
        Option<Text<'_>>,
        Option<Text<'_>>,
        Text<'_>,
        u64,
    ) = serde_json::from_str(text)?;
    Ok(StoredTimeEntryParts {
        person: person.0,
        work_item_key: work_item_key.map(|k| k.0),
        initiative_key: initiative_key.map(|k| k.0),
        date: date.0,
        seconds,
    })
}

/// The data of a stored record of the kind `kind` (`what`, in words), read as `D`: for what
/// the portfolio keeps of it, borrowed from the text where it can be. A record of another
/// kind is an error naming that kind.
pub(crate) fn stored_data<'a, D: serde::Deserialize<'a>>(
    text: &'a str,
    kind: &str,
    what: &str,
) -> Result<D, serde_json::Error> {
    let stored: Stored<D> = serde_json::from_str(text)?;
    if stored.entity.kind.0 != kind {
        return Err(serde::de::Error::custom(format!(
            "a record of kind `{}` where {what} was expected",
            stored.entity.kind.0
        )));
    }
    Ok(stored.entity.data)
}

/// A stored record, as far as the portfolio reads it.
#[derive(serde::Deserialize)]
#[serde(bound = "D: serde::Deserialize<'de>")]
struct Stored<'a, D> {
    /// Present, as in every record; not read.
    #[allow(dead_code)]
    provenance: serde::de::IgnoredAny,
    #[serde(borrow)]
    entity: StoredEntity<'a, D>,
}

#[derive(serde::Deserialize)]
#[serde(bound = "D: serde::Deserialize<'de>")]
struct StoredEntity<'a, D> {
    #[serde(borrow)]
    kind: Text<'a>,
    data: D,
}

/// A stored time entry's data, as far as the portfolio reads it.
#[derive(serde::Deserialize)]
struct StoredTimeEntry<'a> {
    #[serde(borrow)]
    person: Text<'a>,
    #[serde(borrow, default)]
    work_item_key: Option<Text<'a>>,
    #[serde(borrow, default)]
    initiative_key: Option<Text<'a>>,
    #[serde(borrow)]
    date: Text<'a>,
    seconds: u64,
}

/// A string borrowed from the JSON text, or owned where it had escapes (a plain `&str` would
/// fail on those, and `Option<Cow<str>>` always owns).
pub(crate) struct Text<'a>(pub(crate) std::borrow::Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visitor)
    }
}

impl<'a> IntoIterator for &'a TimeEntries {
    type Item = Logged<'a>;
    type IntoIter = Box<dyn Iterator<Item = Logged<'a>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<TimeEntry> for TimeEntries {
    fn from_iter<I: IntoIterator<Item = TimeEntry>>(iter: I) -> Self {
        let mut out = TimeEntries::default();
        for t in iter {
            out.push(t);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_number_each_string_once_and_give_it_back() {
        let mut names = Names::default();
        let strings: Vec<String> = (0..5_000)
            .map(|i| match i % 4 {
                0 => format!("SYN-{i}"),
                1 => format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
                2 => String::new(),
                _ => format!("712020:5c1b{i:04x}-ä-{i}"),
            })
            .collect();
        let ids: Vec<u32> = strings.iter().map(|s| names.intern(s)).collect();
        // Asked again, the same numbers; the numbers in the order first seen.
        for (s, id) in strings.iter().zip(&ids) {
            assert_eq!(names.intern(s), *id);
        }
        assert_eq!(ids[0], 0);
        assert_eq!(ids[2], names.id("").unwrap());
        names.shrink_to_fit();
        for (s, id) in strings.iter().zip(&ids) {
            assert_eq!(names.text(*id), s.as_str());
            assert_eq!(names.id(s), Some(*id));
        }
        assert_eq!(names.id("SYN-1"), None);
        assert_eq!(names.text_opt(NONE), None);
        assert_eq!(
            names.day(names.id("2026-02-02").unwrap()),
            crate::calendar::day_number("2026-02-02")
        );
        assert_eq!(names.day(ids[0]), None);
        // "" and the 1,250 distinct dates, keys and people.
        let distinct: std::collections::BTreeSet<&String> = strings.iter().collect();
        assert_eq!(names.len(), distinct.len());
    }

    fn entry(person: &str, item: Option<&str>, initiative: Option<&str>, date: &str) -> TimeEntry {
        TimeEntry {
            person: person.into(),
            work_item_key: item.map(Into::into),
            initiative_key: initiative.map(Into::into),
            date: date.into(),
            started: Some(format!("{date}T09:00:00Z")),
            seconds: 3600,
            description: Some("pairing".into()),
        }
    }

    #[test]
    fn any_number_of_seconds_reads_back_exactly_also_after_retain() {
        let logged = [
            0,
            3_600,
            u64::from(LARGE) - 1,
            u64::from(LARGE),
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            u64::MAX,
            7_200,
        ];
        let mut entries: TimeEntries = logged
            .iter()
            .map(|s| TimeEntry {
                seconds: *s,
                ..entry("ann", None, Some("DEM-1"), "2026-01-01")
            })
            .collect();
        let read: Vec<u64> = entries.iter().map(|t| t.seconds).collect();
        assert_eq!(read, logged);
        entries.retain(|t| t.seconds != u64::from(LARGE) && t.seconds != 3_600);
        let read: Vec<u64> = entries.iter().map(|t| t.seconds).collect();
        assert_eq!(
            read,
            [
                0,
                u64::from(LARGE) - 1,
                u64::from(u32::MAX),
                u64::from(u32::MAX) + 1,
                u64::MAX,
                7_200
            ]
        );
    }

    #[test]
    fn entries_read_back_as_added_and_share_their_strings() {
        let entries: TimeEntries = [
            entry("ann", Some("DEM-12"), None, "2026-03-02"),
            entry("bob", None, Some("DEM-1"), "2026-03-02"),
            entry("ann", Some("DEM-12"), None, "not a date"),
        ]
        .into_iter()
        .collect();
        let read: Vec<Logged> = entries.iter().collect();
        assert_eq!(read.len(), 3);
        assert_eq!(
            read[0],
            Logged {
                person: "ann",
                work_item_key: Some("DEM-12"),
                initiative_key: None,
                date: "2026-03-02",
                day: crate::calendar::day_number("2026-03-02"),
                seconds: 3600,
            }
        );
        assert_eq!(read[1].initiative_key, Some("DEM-1"));
        assert_eq!(read[1].work_item_key, None);
        assert_eq!(read[2].date, "not a date");
        assert_eq!(read[2].day, None);
        // ann, DEM-12, 2026-03-02, bob, DEM-1, "not a date": each stored once.
        assert_eq!(entries.names.len(), 6);
        assert!(std::ptr::eq(read[0].person, read[2].person));
    }

    #[test]
    fn an_entry_read_from_its_stored_record_is_the_entry_added_from_the_record() {
        let entries = [
            entry("ann", Some("DEM-12"), None, "2026-03-02"),
            entry("b\"o\\b \u{e9}", None, Some("DEM-1"), "2026-03-02"),
            entry("712020:5c1b", Some("SYN-1001"), Some("SYN-1"), "not a date"),
        ];
        let (mut added, mut stored) = (TimeEntries::default(), TimeEntries::default());
        for (n, t) in entries.into_iter().enumerate() {
            let record = crate::rules::test_support::record_with_id(
                format!("w{n}"),
                crate::model::Entity::TimeEntry(t.clone()),
            );
            let text = serde_json::to_string(&record).unwrap();
            stored.push_stored(&text).unwrap();
            added.push(t);
        }
        assert_eq!(
            stored.iter().collect::<Vec<_>>(),
            added.iter().collect::<Vec<_>>()
        );
        assert_eq!(stored.iter().nth(1).unwrap().person, "b\"o\\b \u{e9}");
    }

    #[test]
    fn a_stored_text_that_is_not_a_time_entrys_record_is_an_error() {
        let mut entries = TimeEntries::default();
        let team = r#"{"provenance":{"connection":"hr","external_id":"t1","fetched_at":"2026-11-27T00:00:00Z"},"entity":{"kind":"team","data":{"id":"t1","name":"Platform"}},"extra":{}}"#;
        assert!(entries.push_stored(team).is_err());
        let time = crate::rules::test_support::record_with_id(
            "w1".into(),
            crate::model::Entity::TimeEntry(entry("ann", None, Some("DEM-1"), "2026-03-02")),
        );
        let mislabelled = serde_json::to_string(&time)
            .unwrap()
            .replace(r#""kind":"time-entry""#, r#""kind":"allocation""#);
        let e = entries.push_stored(&mislabelled).unwrap_err();
        assert!(e.to_string().contains("kind `allocation`"), "{e}");
        for broken in [
            r#"{"entity":{"kind":"time-entry","data":{"person":"a","date":"2026-01-01","seconds":1}}}"#,
            r#"{"provenance":{},"entity":{"kind":"time-entry","data":{"person":"a","date":"2026-01-01","seconds":"1"}}}"#,
            r#"{"provenance":{},"entity":{"kind":"time-entry","data":{"person":"a","seconds":1}}}"#,
            r#"{"provenance":{},"entity":{"kind":"time-entry","data":{"person":"a","date":"2026-01-01","seconds":1}"#,
        ] {
            assert!(entries.push_stored(broken).is_err(), "{broken}");
        }
        assert!(entries.is_empty(), "nothing added from a broken text");
    }

    #[test]
    fn what_entries_were_logged_on_is_kept_once_also_for_entries_added_after_shrinking() {
        let mut entries = TimeEntries::default();
        let first = [
            entry("ann", Some("BIZ-1-1"), None, "2026-03-02"),
            entry("bob", Some("BIZ-1-1"), None, "2026-03-03"),
            entry("ann", None, Some("BIZ-2"), "2026-03-02"),
            entry("ann", Some("BIZ-1-1"), Some("BIZ-1"), "2026-03-04"),
        ];
        for t in first.clone() {
            entries.push(t);
        }
        assert_eq!(entries.places.pairs.len(), 3);
        entries.shrink_to_fit();
        // Added after the table was let go: known pairs are found again, new ones numbered.
        let later = [
            entry("cat", Some("BIZ-1-1"), None, "2026-03-05"),
            entry("cat", None, None, "2026-03-05"),
            entry("cat", None, Some("BIZ-2"), "2026-03-06"),
        ];
        for t in later.clone() {
            entries.push(t);
        }
        assert_eq!(entries.places.pairs.len(), 4);
        let all: Vec<TimeEntry> = first.into_iter().chain(later).collect();
        assert_eq!(entries.len(), all.len());
        for (got, want) in entries.iter().zip(&all) {
            assert_eq!(got.person, want.person);
            assert_eq!(got.work_item_key, want.work_item_key.as_deref());
            assert_eq!(got.initiative_key, want.initiative_key.as_deref());
            assert_eq!(got.date, want.date);
        }
    }

    #[test]
    #[should_panic(expected = "a place given twice")]
    fn entries_moved_to_a_place_given_twice_stop_rather_than_loop() {
        let mut entries = TimeEntries::default();
        for date in ["2026-03-02", "2026-03-03", "2026-03-04"] {
            entries.push(entry("ann", Some("BIZ-1-1"), None, date));
        }
        entries.move_to(vec![1, 1, 0]);
    }

    #[test]
    fn an_entry_is_16_bytes() {
        assert_eq!(std::mem::size_of::<Row>(), 16);
    }

    #[test]
    fn entries_outside_the_days_kept_are_read_and_let_go() {
        let day = |d: &str| crate::calendar::day_number(d).unwrap();
        let mut entries = TimeEntries::default();
        entries.keep_only_days(day("2026-02-01"), day("2026-02-28"));
        for (date, seconds) in [
            ("2026-01-31", 10),
            ("2026-02-01", 20),
            ("2026-02-28", u64::MAX),
            ("2026-03-01", u64::MAX - 1),
            ("not a date", 40),
        ] {
            entries.push(TimeEntry {
                seconds,
                ..entry("ann", None, Some("DEM-1"), date)
            });
        }
        entries.push_stored(
            r#"{"provenance":{},"entity":{"kind":"time-entry","data":{"person":"bo","date":"2026-02-14","seconds":50}}}"#,
        )
        .unwrap();
        entries.push_stored(
            r#"{"provenance":{},"entity":{"kind":"time-entry","data":{"person":"bo","date":"2025-12-24","seconds":60}}}"#,
        )
        .unwrap();
        let kept: Vec<(&str, u64)> = entries.iter().map(|t| (t.date, t.seconds)).collect();
        assert_eq!(
            kept,
            [
                ("2026-02-01", 20),
                ("2026-02-28", u64::MAX),
                ("2026-02-14", 50)
            ],
            "both ends kept, the days around them, an undated entry and one out of range let go"
        );
        assert_eq!(
            entries.large.len(),
            1,
            "no room kept for a large entry let go"
        );
    }

    #[test]
    fn retain_keeps_order_and_strings() {
        let mut entries: TimeEntries = ["2026-01-01", "2026-02-01", "2026-03-01"]
            .iter()
            .map(|d| entry("ann", None, Some("DEM-1"), d))
            .collect();
        entries.retain(|t| t.date != "2026-02-01");
        let dates: Vec<&str> = entries.iter().map(|t| t.date).collect();
        assert_eq!(dates, ["2026-01-01", "2026-03-01"]);
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn entries_by_number_are_the_entries_and_a_window_keeps_only_their_names() {
        let given = [
            entry("ann", Some("W-1"), None, "2026-01-05"),
            entry("bob", None, Some("I-1"), "2026-02-05"),
            entry("ann", Some("W-2"), Some("I-1"), "not a date"),
            entry("cy", Some("W-3"), None, "2026-03-05"),
        ];
        // The names numbered as a store would: each once, before the first entry naming it.
        let feed = |read: &mut dyn NumberedTimeEntries| {
            let mut numbers: Vec<String> = Vec::new();
            let mut number = |s: &str, read: &mut dyn NumberedTimeEntries| {
                let n = match numbers.iter().position(|x| x == s) {
                    Some(n) => n,
                    None => {
                        numbers.push(s.to_string());
                        read.name((numbers.len() - 1) as u32 * 3, s).unwrap();
                        numbers.len() - 1
                    }
                };
                n as u32 * 3
            };
            for t in &given {
                let e = NumberedEntry {
                    person: number(&t.person, read),
                    work_item: t.work_item_key.as_deref().map(|k| number(k, read)),
                    initiative: t.initiative_key.as_deref().map(|k| number(k, read)),
                    date: number(&t.date, read),
                    seconds: t.seconds,
                };
                read.entry(e).unwrap();
            }
        };
        let pushed: TimeEntries = given.iter().cloned().collect();
        let mut numbered = TimeEntries::default();
        feed(&mut numbered.by_number());
        assert_eq!(
            numbered.iter().collect::<Vec<_>>(),
            pushed.iter().collect::<Vec<_>>()
        );
        // With a window, what entries outside it named alone is never interned.
        let day = |d| crate::calendar::day_number(d).unwrap();
        let mut windowed = TimeEntries::default();
        windowed.keep_only_days(day("2026-02-01"), day("2026-02-28"));
        feed(&mut windowed.by_number());
        let kept: Vec<_> = windowed.iter().map(|t| (t.person, t.date)).collect();
        assert_eq!(kept, [("bob", "2026-02-05")]);
        for name in ["ann", "cy", "W-1", "W-3"] {
            assert_eq!(windowed.names.id(name), None, "{name}");
        }
        // Given with their names' texts (a store that does not number them): the same.
        let mut by_text = TimeEntries::default();
        by_text.keep_only_days(day("2026-02-01"), day("2026-02-28"));
        let mut read = by_text.by_number();
        for t in &given {
            read.entry_with_names(&t.into()).unwrap();
        }
        assert_eq!(
            by_text.iter().collect::<Vec<_>>(),
            windowed.iter().collect::<Vec<_>>()
        );
        assert_eq!(by_text.names.id("ann"), None);
        // A number never given, or far beyond any store's, is an error, not a panic.
        let mut entries = TimeEntries::default();
        let mut read = entries.by_number();
        read.name(0, "ann").unwrap();
        let e = NumberedEntry {
            person: 0,
            work_item: Some(7),
            initiative: None,
            date: 0,
            seconds: 1,
        };
        assert!(read.entry(e).unwrap_err().contains("name number 7"));
        assert!(
            read.name(u32::MAX, "x")
                .unwrap_err()
                .contains("out of range")
        );
    }
}
