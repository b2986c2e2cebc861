//! What a check's findings are against those open in the store, for both backends'
//! [`crate::Store::record_finding_batches`]: which are new or resolved before, which are open
//! and stored as given (nothing to write: a check that changes nothing writes nothing but its
//! time, in `findings_checked`), which are open with something changed, and which open ones
//! were not given (resolved now).
//!
//! When an open finding was last seen is the last check's time, kept once: the view
//! `findings_as_seen` reads it into each open finding. A check used to write it into every
//! open finding's row, most of what a check that changes nothing wrote (0.3-0.4 s at 10,000
//! epics on PostgreSQL, for 44,000 rows otherwise as they were). A finding resolved gets it
//! in its row, and one written (new, reopened, changed) gets the check's time anyway; a store
//! with no check recorded yet (written before this, or copied without the table) reads its
//! rows as they are.

use tollgate_dmo::rules::Finding;

/// The open findings, for [`crate::Store::record_finding_batches`], each marked when given, with a
/// hash of what the store holds of it (its [`Content`]). Tollgate's fingerprints are 16
/// lowercase hexadecimal digits ([`tollgate_dmo::rules::fingerprint`]): those are held as the
/// number they write, 24 bytes each in a list sorted by it (a map of the strings would take
/// ~3 MB at 44,000 findings, at the moment a check holds the most); any other (a store
/// edited by hand) as text.
#[derive(Default)]
pub(crate) struct OpenFindings {
    numbered: Vec<Open>,
    others: std::collections::HashMap<String, Open>,
    /// Seeded at random per process: content cannot be made to collide on purpose.
    hasher: foldhash::fast::RandomState,
}

/// An open finding: its fingerprint's number (for those that have one), whether it was
/// given, the hash of its content as stored.
#[derive(Clone, Copy)]
struct Open {
    number: u64,
    given: bool,
    hash: u64,
}

/// What a check writes of a finding that is open already, besides when it was last seen: if
/// none of it changed, the row is not written again.
#[derive(Hash)]
pub(crate) struct Content<'a> {
    pub(crate) severity: &'a str,
    pub(crate) title: &'a str,
    pub(crate) message: &'a str,
    pub(crate) evidence: &'a str,
    pub(crate) subject_connection: Option<&'a str>,
    pub(crate) subject_external_id: Option<&'a str>,
}

impl Content<'_> {
    fn of(f: &Finding) -> Content<'_> {
        Content {
            severity: f.severity.as_str(),
            title: &f.title,
            message: &f.message,
            evidence: f.evidence.as_str(),
            subject_connection: f.subject.connection.as_deref(),
            subject_external_id: f.subject.external_id.as_deref(),
        }
    }
}

/// A finding given, against the open ones.
pub(crate) enum Given {
    /// Not open: new, or resolved before.
    NotOpen,
    /// Open, and stored as given: only its last sighting changes.
    Unchanged,
    /// Open, with something else to write.
    Changed,
}

impl OpenFindings {
    fn hash(&self, content: &Content<'_>) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(content)
    }

    pub(crate) fn add(&mut self, fingerprint: &str, content: &Content<'_>) {
        let hash = self.hash(content);
        let open = |number| Open {
            number,
            given: false,
            hash,
        };
        match crate::fingerprint_number(fingerprint) {
            Some(n) => self.numbered.push(open(n)),
            None => {
                self.others.insert(fingerprint.to_string(), open(0));
            }
        }
    }

    /// Done adding.
    pub(crate) fn ready(&mut self) {
        self.numbered.sort_unstable_by_key(|o| o.number);
        self.numbered.dedup_by_key(|o| o.number);
        self.numbered.shrink_to_fit();
    }

    /// Whether `f` is open, and if so whether its content is stored as given; marked given
    /// (and its content as given taken for stored, since it is written if changed).
    pub(crate) fn given(&mut self, f: &Finding) -> Given {
        let hash = self.hash(&Content::of(f));
        let at = crate::fingerprint_number(&f.fingerprint)
            .and_then(|n| self.numbered.binary_search_by_key(&n, |o| o.number).ok());
        let open = match at {
            Some(at) => &mut self.numbered[at],
            None => match self.others.get_mut(&f.fingerprint) {
                Some(open) => open,
                None => return Given::NotOpen,
            },
        };
        let unchanged = open.hash == hash;
        (open.given, open.hash) = (true, hash);
        if unchanged {
            Given::Unchanged
        } else {
            Given::Changed
        }
    }

    /// The open fingerprints not given.
    pub(crate) fn not_given(self) -> impl Iterator<Item = String> {
        let numbers = self
            .numbered
            .into_iter()
            .filter(|o| !o.given)
            .map(|o| crate::fingerprint_text(o.number));
        let others = self
            .others
            .into_iter()
            .filter(|(_, o)| !o.given)
            .map(|(f, _)| f);
        numbers.chain(others)
    }
}

/// The migration of both backends that keeps the last check's time once (SQLite's schema
/// 15, PostgreSQL's 5): `findings_checked`, one row, and the view `findings_as_seen`, the
/// findings as they read (what the stores' readers read, and a person at a database shell
/// should). The SQL is the same for both (`BIGINT` is a number in SQLite too).
pub(crate) const SCHEMA: &str = r#"
    CREATE TABLE findings_checked (
        id  BIGINT PRIMARY KEY CHECK (id = 1),
        at  TEXT NOT NULL
    );
    CREATE VIEW findings_as_seen AS
        SELECT fingerprint, rule_id, severity, subject_kind, subject_key, title, message,
               evidence, first_seen,
               CASE WHEN resolved_at IS NULL
                    THEN COALESCE((SELECT at FROM findings_checked), last_seen)
                    ELSE last_seen END AS last_seen,
               resolved_at, subject_connection, subject_external_id
        FROM findings;
"#;

/// The open findings' fingerprints and [`Content`] (the columns in that order), read first by
/// both backends' [`crate::Store::record_finding_batches`] into [`OpenFindings`].
pub(crate) const OPEN: &str = "SELECT fingerprint, severity, title, message, evidence,
        subject_connection, subject_external_id
    FROM findings WHERE resolved_at IS NULL";

/// The statements of SQLite's [`crate::Store::record_finding_batches`] for the findings'
/// sightings.
pub(crate) mod sqlite {
    /// Resolve the open finding `?2` at `?1`. It was last seen at the last check (the view
    /// `findings_as_seen` says so while it is open); that is written into its row now, since
    /// the check's time moves on.
    pub(crate) const RESOLVE: &str = "UPDATE findings
        SET resolved_at = ?1, last_seen = COALESCE((SELECT at FROM findings_checked), last_seen)
        WHERE fingerprint = ?2 AND resolved_at IS NULL";

    /// The check made at `?1`: every finding still open was seen then.
    pub(crate) const CHECKED: &str = "INSERT INTO findings_checked (id, at) VALUES (1, ?1)
        ON CONFLICT (id) DO UPDATE SET at = excluded.at";
}

/// The statements of PostgreSQL's [`crate::Store::record_finding_batches`] for the findings'
/// sightings: [`sqlite`]'s, the open findings to resolve given at once (`$2`, an array).
pub(crate) mod postgres {
    /// [`super::sqlite::RESOLVE`] of each of the fingerprints `$2`.
    pub(crate) const RESOLVE: &str = "UPDATE findings
        SET resolved_at = $1, last_seen = COALESCE((SELECT at FROM findings_checked), last_seen)
        WHERE fingerprint = ANY($2) AND resolved_at IS NULL";

    /// [`super::sqlite::CHECKED`].
    pub(crate) const CHECKED: &str = "INSERT INTO findings_checked (id, at) VALUES (1, $1)
        ON CONFLICT (id) DO UPDATE SET at = excluded.at";
}
