//! The store's behaviour, run against every backend: SQLite always, PostgreSQL on the server
//! `TOLLGATE_TEST_POSTGRES` names (`scripts/test` starts a throwaway one), each test in a
//! database of its own. Without that variable the Postgres half fails, saying so, unless
//! `TOLLGATE_SKIP_POSTGRES` is set.

use super::*;
use crate::testing::{fresh_postgres_database, postgres_server};
use std::time::Duration;
use tollgate_dmo::model::{Entity, Provenance, Team};

/// One backend under test: how to open (and re-open) its store.
pub(crate) struct Backend {
    pub(crate) name: &'static str,
    /// What error messages call the database.
    pub(crate) location: String,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    pub(crate) fn open(&self) -> Box<dyn Store> {
        open(&self.url, std::path::Path::new("/")).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// Run `sql` on the database behind Tollgate's back, as a hand edit or damage would.
    fn execute(&self, sql: &str) {
        match self.url.strip_prefix("sqlite://") {
            Some(path) => {
                rusqlite::Connection::open(path)
                    .and_then(|c| c.execute_batch(sql))
                    .unwrap();
            }
            None => ::postgres::Client::connect(&self.url, ::postgres::NoTls)
                .and_then(|mut c| c.batch_execute(sql))
                .unwrap(),
        }
    }
}

/// Run `test` once per backend.
pub(crate) fn each_backend(test: impl Fn(&Backend)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let sqlite = Backend {
        name: "sqlite",
        location: path.display().to_string(),
        url: format!("sqlite://{}", path.display()),
        _dir: Some(dir),
    };
    test(&sqlite);
    if let Some(server) = postgres_server() {
        let thread = std::thread::current();
        let url = fresh_postgres_database(&server, thread.name().unwrap_or("test"));
        let backend = Backend {
            name: "postgres",
            location: redact_url(&url),
            url,
            _dir: None,
        };
        test(&backend);
    }
}

fn table(name: &str) -> &'static Table {
    TABLES.iter().find(|t| t.name == name).unwrap()
}

pub(crate) fn team(id: &str, name: &str) -> Record {
    Record {
        provenance: Provenance {
            connection: "hr".into(),
            external_id: id.into(),
            url: None,
            source_updated: None,
            fetched_at: "2026-11-27T00:00:00.000Z".into(),
        },
        entity: Entity::Team(Team {
            id: id.into(),
            name: name.into(),
            value_stream: None,
            manager: None,
        }),
        extra: serde_json::json!({}),
    }
}

fn page(records: Vec<Record>, next: Option<&str>) -> PageWrite {
    PageWrite {
        records,
        next_cursor: next.map(str::to_string),
        checkpoint: Some("cp-1".into()),
        ..PageWrite::default()
    }
}

/// `records` written to `stream` of `connection` by a sync run, as one page, the stream's
/// last (for a backend's own tests).
pub(crate) fn write_page(s: &mut dyn Store, connection: &str, stream: &str, records: &[Record]) {
    let run = s.begin_run(connection, false).unwrap();
    s.begin_stream(run, connection, stream, false).unwrap();
    let write = PageWrite {
        records: records.to_vec(),
        ..PageWrite::default()
    };
    s.commit_page(run, connection, stream, &write).unwrap();
}

/// The table `records` and the rows of `records` (of `connection`, in `stream`) as
/// `tollgate migrate` hands them to [`Store::load_rows`].
pub(crate) fn record_rows(
    connection: &str,
    stream: &str,
    records: &[Record],
) -> (&'static crate::Table, Vec<Vec<crate::Value>>) {
    use crate::Value;
    let table = crate::TABLES.iter().find(|t| t.name == "records").unwrap();
    let rows = records
        .iter()
        .map(|r| {
            table
                .columns
                .iter()
                .map(|c| match *c {
                    "connection" => Value::Text(connection.into()),
                    "kind" => Value::Text(r.entity.kind().as_str().into()),
                    "external_id" => Value::Text(r.provenance.external_id.clone()),
                    "stream" => Value::Text(stream.into()),
                    "record" => Value::Text(crate::document(connection, r)),
                    "sweep" => Value::Int(1),
                    _ => Value::Null,
                })
                .collect()
        })
        .collect();
    (table, rows)
}

pub(crate) fn names(store: &dyn Store) -> Vec<String> {
    store
        .records(EntityKind::Team)
        .unwrap()
        .into_iter()
        .map(|r| match r.entity {
            Entity::Team(t) => format!("{}={}", t.id, t.name),
            _ => unreachable!(),
        })
        .collect()
}

fn finding(fingerprint: &str, key: &str) -> Finding {
    Finding {
        fingerprint: fingerprint.into(),
        rule_id: "GATE-001".into(),
        severity: tollgate_dmo::Severity::Warning,
        subject: tollgate_dmo::rules::Subject {
            kind: tollgate_dmo::rules::SubjectKind::Initiative,
            key: key.into(),
            connection: Some("jira".into()),
            external_id: Some(format!("id-{key}")),
        },
        title: "t".into(),
        message: format!("about {key}"),
        evidence: serde_json::json!({"hours": 56}).into(),
    }
}

#[test]
fn findings_are_new_persisting_resolved_and_reopened() {
    each_backend(|b| {
        let mut s = b.open();
        let c = s
            .record_findings(
                &[finding("f1", "A-1"), finding("f2", "A-2")],
                "2026-11-01T00:00:00.000Z",
            )
            .unwrap();
        assert_eq!(
            (c.new, c.persisting, c.resolved, c.reopened),
            (2, 0, 0, 0),
            "{}",
            b.name
        );
        let c = s
            .record_findings(&[finding("f1", "A-1")], "2026-11-02T00:00:00.000Z")
            .unwrap();
        assert_eq!(
            (c.new, c.persisting, c.resolved, c.reopened),
            (0, 1, 1, 0),
            "{}",
            b.name
        );
        let open: Vec<String> = s
            .findings(false)
            .unwrap()
            .into_iter()
            .map(|f| f.finding.fingerprint)
            .collect();
        assert_eq!(open, ["f1"]);
        let all = s.findings(true).unwrap();
        assert_eq!(
            all[1].resolved_at.as_deref(),
            Some("2026-11-02T00:00:00.000Z")
        );
        assert_eq!(all[0].first_seen, "2026-11-01T00:00:00.000Z");
        assert_eq!(all[0].last_seen, "2026-11-02T00:00:00.000Z");
        assert_eq!(all[0].finding, finding("f1", "A-1"), "read back as written");
        let c = s
            .record_findings(
                &[finding("f1", "A-1"), finding("f2", "A-2")],
                "2026-11-03T00:00:00.000Z",
            )
            .unwrap();
        assert_eq!(
            (c.new, c.persisting, c.resolved, c.reopened),
            (0, 1, 0, 1),
            "{}",
            b.name
        );
        // Nothing found: everything open resolves.
        let c = s.record_findings(&[], "2026-11-04T00:00:00.000Z").unwrap();
        assert_eq!(c.resolved, 2, "{}", b.name);
    });
}

#[test]
fn findings_count_alike_whatever_their_fingerprints_look_like() {
    each_backend(|b| {
        let mut s = b.open();
        // Tollgate's own (16 hexadecimal digits), and what a store edited by hand may hold:
        // the same digits in capitals (another finding), a word, fewer digits.
        let prints = [
            "00000000000000ff",
            "fedcba9876543210",
            "FEDCBA9876543210",
            "f1",
            "00ff",
        ];
        let all: Vec<Finding> = prints
            .iter()
            .map(|f| finding(f, &format!("K-{f}")))
            .collect();
        let counts = |c: FindingChanges| (c.new, c.persisting, c.resolved, c.reopened);
        let open = |s: &dyn Store| {
            let mut open: Vec<String> = s
                .findings(false)
                .unwrap()
                .into_iter()
                .map(|f| f.finding.fingerprint)
                .collect();
            open.sort();
            open
        };
        let c = s.record_findings(&all, "2026-11-01T00:00:00.000Z").unwrap();
        assert_eq!(counts(c), (5, 0, 0, 0), "{}", b.name);
        let c = s
            .record_findings(&all[2..], "2026-11-02T00:00:00.000Z")
            .unwrap();
        assert_eq!(counts(c), (0, 3, 2, 0), "{}", b.name);
        assert_eq!(open(&*s), ["00ff", "FEDCBA9876543210", "f1"], "{}", b.name);
        let c = s.record_findings(&all, "2026-11-03T00:00:00.000Z").unwrap();
        assert_eq!(counts(c), (0, 3, 0, 2), "{}", b.name);
        // One given twice in one call counts twice, as SQLite's upsert does; the three not
        // given resolve, whatever their fingerprints.
        let twice = [all[1].clone(), all[1].clone(), all[3].clone()];
        let c = s
            .record_findings(&twice, "2026-11-04T00:00:00.000Z")
            .unwrap();
        assert_eq!(counts(c), (0, 3, 3, 0), "{}", b.name);
        assert_eq!(open(&*s), ["f1", "fedcba9876543210"], "{}", b.name);
        let resolved: Vec<(String, Option<String>)> = s
            .findings(true)
            .unwrap()
            .into_iter()
            .map(|f| (f.finding.fingerprint, f.resolved_at))
            .filter(|(_, at)| at.is_some())
            .collect();
        assert_eq!(resolved.len(), 3, "{}: {resolved:?}", b.name);
        assert!(
            resolved
                .iter()
                .all(|(_, at)| at.as_deref() == Some("2026-11-04T00:00:00.000Z")),
            "{}: {resolved:?}",
            b.name
        );
        // Handed out one at a time, the findings are the list's, in its order, open only
        // or all.
        for include_resolved in [false, true] {
            let mut each = Vec::new();
            s.each_finding(include_resolved, &mut |f| each.push(f))
                .unwrap();
            let list = s.findings(include_resolved).unwrap();
            assert_eq!(
                each.len(),
                if include_resolved { 5 } else { 2 },
                "{}",
                b.name
            );
            assert_eq!(each, list, "{} include_resolved={include_resolved}", b.name);
        }
    });
}

#[test]
fn findings_given_in_batches_count_as_one_list_and_a_failed_batch_records_nothing() {
    each_backend(|b| {
        let mut s = b.open();
        s.record_findings(
            &[finding("f1", "A-1"), finding("f2", "A-2")],
            "2026-11-01T00:00:00.000Z",
        )
        .unwrap();
        // f1 again, f3 new, f2 given in no batch: resolved only once the last batch is in;
        // f3 twice across batches counts as new once.
        let mut batches = vec![
            vec![finding("f3", "A-3")],
            vec![],
            vec![finding("f1", "A-1"), finding("f3", "A-3")],
        ]
        .into_iter();
        let c = s
            .record_finding_batches(&mut batches, "2026-11-02T00:00:00.000Z")
            .unwrap();
        assert_eq!(
            (c.new, c.persisting, c.resolved, c.reopened),
            (1, 2, 1, 0),
            "{}",
            b.name
        );
        let open = |s: &dyn Store| -> Vec<String> {
            s.findings(false)
                .unwrap()
                .into_iter()
                .map(|f| f.finding.fingerprint)
                .collect()
        };
        assert_eq!(open(&*s), ["f1", "f3"], "{}", b.name);
        // A rule that panics while its batch is pulled (a check's rules hand their findings
        // over as they finish): nothing of the check is recorded, nothing resolved.
        let failing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut batches = [vec![finding("f4", "A-4")]]
                .into_iter()
                .chain(std::iter::from_fn(|| panic!("a rule failed")));
            s.record_finding_batches(&mut batches, "2026-11-03T00:00:00.000Z")
        }));
        assert!(failing.is_err(), "{}", b.name);
        assert_eq!(open(&*s), ["f1", "f3"], "{}", b.name);
        let all = s.findings(true).unwrap();
        assert!(
            all.iter()
                .all(|f| f.last_seen.as_str() <= "2026-11-02T00:00:00.000Z"),
            "{}: {all:?}",
            b.name
        );
        // The store is usable after it.
        let c = s
            .record_findings(&[finding("f3", "A-3")], "2026-11-04T00:00:00.000Z")
            .unwrap();
        assert_eq!((c.persisting, c.resolved), (1, 1), "{}", b.name);
    });
}

/// Tollgate's own fingerprints (16 hex digits, held by their numbers) through a check's
/// batches: a new one given again in a later batch is new once and keeps its last values, one
/// resolved before is reopened, not written as new (PostgreSQL copies the new ones in and
/// upserts the others: a reopened one copied would fail on the key).
#[test]
fn numbered_findings_in_batches_are_new_once_reopened_and_stored_as_last_given() {
    each_backend(|b| {
        let mut s = b.open();
        let (n1, n2, n3) = ("00000000000000a1", "00000000000000a2", "00000000000000a3");
        s.record_findings(
            &[finding(n2, "A-2"), finding(n3, "A-3")],
            "2026-11-01T00:00:00.000Z",
        )
        .unwrap();
        // n2 resolves.
        s.record_findings(&[finding(n3, "A-3")], "2026-11-02T00:00:00.000Z")
            .unwrap();
        let mut again = finding(n1, "A-1");
        again.message = "said again".into();
        let mut batches = vec![
            vec![finding(n1, "A-1"), finding(n3, "A-3")],
            vec![again.clone(), finding(n2, "A-2")],
        ]
        .into_iter();
        let c = s
            .record_finding_batches(&mut batches, "2026-11-03T00:00:00.000Z")
            .unwrap();
        assert_eq!(
            (c.new, c.persisting, c.resolved, c.reopened),
            (1, 2, 0, 1),
            "{}",
            b.name
        );
        let open: Vec<(String, String, String)> = s
            .findings(false)
            .unwrap()
            .into_iter()
            .map(|f| (f.finding.fingerprint, f.finding.message, f.first_seen))
            .collect();
        assert_eq!(
            open,
            [
                (
                    n1.into(),
                    "said again".into(),
                    "2026-11-03T00:00:00.000Z".into()
                ),
                (
                    n2.into(),
                    "about A-2".into(),
                    "2026-11-01T00:00:00.000Z".into()
                ),
                (
                    n3.into(),
                    "about A-3".into(),
                    "2026-11-01T00:00:00.000Z".into()
                ),
            ],
            "{}",
            b.name
        );
        // Given once more, all three persist.
        let c = s
            .record_findings(
                &[again, finding(n2, "A-2"), finding(n3, "A-3")],
                "2026-11-04T00:00:00.000Z",
            )
            .unwrap();
        assert_eq!((c.new, c.persisting, c.reopened), (0, 3, 0), "{}", b.name);
    });
}

#[test]
fn findings_resolved_after_a_time_are_read_without_the_older_ones() {
    each_backend(|b| {
        let mut s = b.open();
        let all = [
            finding("f1", "A-1"),
            finding("f2", "A-2"),
            finding("f3", "A-3"),
        ];
        s.record_findings(&all, "2026-11-01T00:00:00.000Z").unwrap();
        // f1 resolves on the 2nd, f2 on the 3rd (a minute after noon), f3 stays open.
        s.record_findings(&all[1..], "2026-11-02T00:00:00.000Z")
            .unwrap();
        s.record_findings(&all[2..], "2026-11-03T12:01:00.000Z")
            .unwrap();
        let after = |t: &str| -> Vec<String> {
            s.findings_resolved_after(t)
                .unwrap()
                .into_iter()
                .map(|f| f.finding.fingerprint)
                .collect()
        };
        assert_eq!(
            after("2026-11-01T00:00:00.000Z"),
            ["f1", "f2"],
            "{}",
            b.name
        );
        // Strictly after, compared as text: the same instant is not after itself.
        assert_eq!(after("2026-11-02T00:00:00.000Z"), ["f2"], "{}", b.name);
        assert_eq!(after("2026-11-03T12:00:00.000Z"), ["f2"], "{}", b.name);
        assert!(after("2026-11-03T12:01:00.000Z").is_empty(), "{}", b.name);
        let f2 = &s.findings_resolved_after("2026-11-03").unwrap()[0];
        assert_eq!(f2.resolved_at.as_deref(), Some("2026-11-03T12:01:00.000Z"));
        assert_eq!(f2.finding, finding("f2", "A-2"), "read back as written");
    });
}

#[test]
fn the_open_findings_come_one_at_a_time_as_the_list_of_them_does() {
    each_backend(|b| {
        let mut s = b.open();
        let all = [
            finding("f3", "A-3"),
            finding("f1", "A-1"),
            finding("f2", "A-2"),
        ];
        s.record_findings(&all, "2026-11-01T00:00:00.000Z").unwrap();
        // f1 resolves: it is not handed out.
        s.record_findings(
            &[all[0].clone(), all[2].clone()],
            "2026-11-02T00:00:00.000Z",
        )
        .unwrap();
        let mut one_by_one = Vec::new();
        s.each_open_finding(&mut |f| one_by_one.push(f)).unwrap();
        assert_eq!(one_by_one, s.findings(false).unwrap(), "{}", b.name);
        let read: Vec<_> = one_by_one
            .iter()
            .map(|f| (f.finding.fingerprint.as_str(), f.first_seen.as_str()))
            .collect();
        assert_eq!(
            read,
            [
                ("f2", "2026-11-01T00:00:00.000Z"),
                ("f3", "2026-11-01T00:00:00.000Z")
            ],
            "{}: open only, in subject order, each whole",
            b.name
        );
        assert_eq!(one_by_one[0].finding, finding("f2", "A-2"), "{}", b.name);
        // Many, in an order that is none of the list's: rules, kinds and keys that sort
        // differently as bytes than as words (capitals, accents, digits, a prefix), several
        // findings of one rule and subject. The list read whole (sorted by this process) and
        // the one handed out one at a time (sorted by the database) agree, open and all.
        let rules = ["RES-002", "DEM-010", "DEM-002", "dem-001"];
        let kinds = [
            tollgate_dmo::rules::SubjectKind::Person,
            tollgate_dmo::rules::SubjectKind::Initiative,
        ];
        let keys = ["b-10", "B-9", "É-1", "a", "a-", "b-1", "Z"];
        let mut many = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            for (j, kind) in kinds.iter().enumerate() {
                for (k, key) in keys.iter().enumerate() {
                    for n in [3, 1, 2] {
                        let mut f = finding(
                            &format!("{:016x}", (n * 7919 + i * 31 + j * 7 + k) * 977),
                            key,
                        );
                        f.rule_id = rule.to_string();
                        f.subject.kind = *kind;
                        many.push(f);
                    }
                }
            }
        }
        s.record_findings(&many, "2026-11-03T00:00:00.000Z")
            .unwrap();
        s.record_findings(&many[..100], "2026-11-04T00:00:00.000Z")
            .unwrap();
        for include_resolved in [false, true] {
            let mut one_by_one = Vec::new();
            s.each_finding(include_resolved, &mut |f| one_by_one.push(f))
                .unwrap();
            let list = s.findings(include_resolved).unwrap();
            assert_eq!(
                list.len(),
                if include_resolved { 171 } else { 100 },
                "{}",
                b.name
            );
            assert_eq!(
                one_by_one, list,
                "{}: resolved too: {include_resolved}",
                b.name
            );
        }
        let resolved = s
            .findings_resolved_after("2026-11-03T12:00:00.000Z")
            .unwrap();
        let mut by_the_database: Vec<StoredFinding> = Vec::new();
        s.each_finding(true, &mut |f| {
            if f.resolved_at.is_some() {
                by_the_database.push(f)
            }
        })
        .unwrap();
        by_the_database.retain(|f| f.resolved_at.as_deref() > Some("2026-11-03T12:00:00.000Z"));
        assert_eq!(resolved.len(), 68, "{}", b.name);
        assert_eq!(resolved, by_the_database, "{}", b.name);
    });
}

#[test]
fn jobs_and_reports_are_remembered() {
    each_backend(|b| {
        let mut s = b.open();
        assert_eq!(s.job_last_due("nightly").unwrap(), None);
        s.record_job("nightly", "2026-11-01T02:00:00Z", "ok")
            .unwrap();
        s.record_job("nightly", "2026-11-02T02:00:00Z", "failed")
            .unwrap();
        let j = s.job_state("nightly").unwrap().unwrap();
        assert_eq!(
            (j.last_due.as_str(), j.last_outcome.as_str()),
            ("2026-11-02T02:00:00Z", "failed")
        );
        assert_eq!(s.last_report("pack", None).unwrap(), None);
        s.record_report("pack", "2026-10-31", "A").unwrap();
        s.record_report("pack", "2026-11-30", "B").unwrap();
        s.record_report("review", "2026-11-30", "C").unwrap();
        assert_eq!(s.last_report("pack", None).unwrap().as_deref(), Some("B"));
        assert_eq!(
            s.last_report("pack", Some("2026-11-01"))
                .unwrap()
                .as_deref(),
            Some("A")
        );
    });
}

#[test]
fn a_claim_is_held_by_one_instance_until_its_lease_runs_out_or_it_is_done() {
    each_backend(|b| {
        let mut one = b.open();
        let mut two = b.open();
        let long = Duration::from_secs(60);
        assert_eq!(
            one.claim("job:nightly@T1", "one", long).unwrap(),
            ClaimOutcome::Claimed
        );
        match two.claim("job:nightly@T1", "two", long).unwrap() {
            ClaimOutcome::Held(c) => assert_eq!(c.instance, "one", "{}", b.name),
            other => panic!("{}: {other:?}", b.name),
        }
        // The holder renews; the other cannot.
        assert!(one.renew_claim("job:nightly@T1", "one", long).unwrap());
        assert!(!two.renew_claim("job:nightly@T1", "two", long).unwrap());
        assert_eq!(
            one.claim("job:nightly@T1", "one", long).unwrap(),
            ClaimOutcome::Claimed,
            "a re-claim by the holder"
        );
        // Done: never granted again, to anyone.
        one.release_claim("job:nightly@T1", "one", true).unwrap();
        assert!(
            matches!(two.claim("job:nightly@T1", "two", long).unwrap(), ClaimOutcome::Done(c) if c.instance == "one")
        );
        assert!(matches!(
            one.claim("job:nightly@T1", "one", long).unwrap(),
            ClaimOutcome::Done(_)
        ));
        // A holder that dies: its lease runs out and another takes the work.
        assert_eq!(
            one.claim("sync:jira", "one", Duration::from_millis(1))
                .unwrap(),
            ClaimOutcome::Claimed
        );
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            two.claim("sync:jira", "two", long).unwrap(),
            ClaimOutcome::Claimed
        );
        assert!(
            !one.renew_claim("sync:jira", "one", long).unwrap(),
            "{}: the lease is lost",
            b.name
        );
        // Released not done: free for anyone at once; a release by another is no release.
        one.release_claim("sync:jira", "one", false).unwrap();
        assert!(matches!(
            one.claim("sync:jira", "one", long).unwrap(),
            ClaimOutcome::Held(_)
        ));
        two.release_claim("sync:jira", "two", false).unwrap();
        assert_eq!(
            one.claim("sync:jira", "one", long).unwrap(),
            ClaimOutcome::Claimed
        );
        let claims = two.claims().unwrap();
        let keys: Vec<(&str, &str, bool)> = claims
            .iter()
            .map(|c| (c.key.as_str(), c.instance.as_str(), c.done))
            .collect();
        assert_eq!(
            keys,
            [("job:nightly@T1", "one", true), ("sync:jira", "one", false)],
            "{}",
            b.name
        );
    });
}

#[test]
fn claims_raced_by_many_instances_are_granted_once() {
    each_backend(|b| {
        for round in 0..5 {
            let key = format!("job:race@{round}");
            let barrier = std::sync::Barrier::new(4);
            let granted: usize = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..4)
                    .map(|i| {
                        let (barrier, key) = (&barrier, &key);
                        let mut store = b.open();
                        scope.spawn(move || {
                            barrier.wait();
                            let outcome = store
                                .claim(key, &format!("i{i}"), Duration::from_secs(60))
                                .unwrap();
                            usize::from(outcome == ClaimOutcome::Claimed)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum()
            });
            assert_eq!(granted, 1, "{} round {round}", b.name);
        }
    });
}

#[test]
fn checks_recorded_at_once_by_two_instances_take_turns() {
    // Two instances (the daemon and a `tollgate check`, say) record a check at the same
    // moment. The second waits for the first and counts against what it left: the one
    // recorded last stands, and neither fails.
    each_backend(|b| {
        let mut first = b.open();
        first
            .record_findings(&[finding("f1", "A-1")], "2026-11-01T00:00:00.000Z")
            .unwrap();
        let mut second = b.open();
        let (inside, told) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            let first = scope.spawn(move || {
                // Finds nothing (f1 is resolved), and takes its time about it.
                let mut once = Some(inside);
                let mut batches = std::iter::from_fn(move || {
                    if let Some(inside) = once.take() {
                        inside.send(()).unwrap();
                        std::thread::sleep(Duration::from_millis(300));
                    }
                    None
                });
                first.record_finding_batches(&mut batches, "2026-11-02T00:00:00.000Z")
            });
            told.recv().unwrap();
            let c = second
                .record_findings(&[finding("f1", "A-1")], "2026-11-03T00:00:00.000Z")
                .unwrap();
            let a = first.join().unwrap().unwrap();
            assert_eq!(a.resolved, 1, "{}", b.name);
            assert_eq!(
                (c.new, c.persisting, c.reopened),
                (0, 0, 1),
                "{}: the second counts against the first's",
                b.name
            );
        });
        let open = b.open().findings(false).unwrap();
        let open: Vec<(&str, &str)> = open
            .iter()
            .map(|f| (f.finding.fingerprint.as_str(), f.last_seen.as_str()))
            .collect();
        assert_eq!(open, [("f1", "2026-11-03T00:00:00.000Z")], "{}", b.name);
    });
}

#[test]
fn a_store_copies_table_by_table_to_the_other_backend_and_reads_back_the_same() {
    // The copy `tollgate migrate` makes, in both directions where Postgres is there.
    each_backend(|b| {
        let mut from = b.open();
        let run = from.begin_run("hr", true).unwrap();
        from.begin_stream(run, "hr", "teams", true).unwrap();
        let mut p = page(vec![team("t1", "A"), team("t2", "B")], None);
        p.diagnostics.push(DiagnosticRecord {
            stream: "teams".into(),
            severity: tollgate_dmo::Severity::Warning,
            code: "odd".into(),
            message: "odd row".into(),
            location: Some("teams.csv:3".into()),
        });
        from.commit_page(run, "hr", "teams", &p).unwrap();
        from.complete_stream(run, "hr", "teams", true).unwrap();
        from.finish_run(run, RunStatus::Ok, None).unwrap();
        from.record_findings(&[finding("f1", "A-1")], "2026-11-01T00:00:00.000Z")
            .unwrap();
        // Seen again as it was: its row is not written, the check's time is.
        from.record_findings(&[finding("f1", "A-1")], "2026-11-02T00:00:00.000Z")
            .unwrap();
        // Eleven reports: ids whose order as numbers (1, 2, ... 10, 11) is not their
        // order as text (1, 10, 11, 2, ...).
        for _ in 0..11 {
            from.record_report("pack", "2026-11-30", "X").unwrap();
        }
        let mut ids = Vec::new();
        from.dump_table(table("reports"), &mut |r| {
            ids.push(r[0].clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            ids,
            (1..=11).map(Value::Int).collect::<Vec<_>>(),
            "{}: a table with a number for its key dumps in the numbers' order",
            b.name
        );
        from.record_job("nightly", "D", "ok").unwrap();
        from.claim("job:nightly@D", "one", Duration::from_secs(5))
            .unwrap();

        // SQLite copies to Postgres (when the tests have a server), Postgres to SQLite.
        let dir = tempfile::tempdir().unwrap();
        let target_url = match (b.name, postgres_server()) {
            ("sqlite", Some(server)) => fresh_postgres_database(&server, "copy"),
            _ => format!("sqlite://{}", dir.path().join("copy.db").display()),
        };
        let mut to = open(&target_url, dir.path()).unwrap();
        for t in TABLES {
            let mut rows = Vec::new();
            from.dump_table(t, &mut |r| {
                rows.push(r);
                Ok(())
            })
            .unwrap();
            to.load_rows(t, &rows).unwrap();
        }
        let dump = |s: &dyn Store| -> Vec<Vec<Value>> {
            let mut all = Vec::new();
            for t in TABLES {
                s.dump_table(t, &mut |r| {
                    all.push(r);
                    Ok(())
                })
                .unwrap();
            }
            all
        };
        assert_eq!(
            dump(&*from),
            dump(&*to),
            "{} -> {}",
            b.name,
            redact_url(&target_url)
        );
        assert_eq!(from.export().unwrap().len(), 2);
        assert_eq!(
            serde_json::to_string(&from.export().unwrap()).unwrap(),
            serde_json::to_string(&to.export().unwrap()).unwrap()
        );
        assert_eq!(
            from.current_diagnostics().unwrap(),
            to.current_diagnostics().unwrap()
        );
        let seen = |s: &dyn Store| -> Vec<String> {
            let all = s.findings(true).unwrap();
            all.into_iter().map(|f| f.last_seen).collect()
        };
        assert_eq!(seen(&*from), ["2026-11-02T00:00:00.000Z"], "{}", b.name);
        assert_eq!(
            seen(&*to),
            seen(&*from),
            "{}: the copy's last sightings",
            b.name
        );
        // Ids go on after the copied ones.
        let next = to.begin_run("hr", false).unwrap();
        assert_eq!(next, run + 1, "{}", b.name);
        // A bad row is refused whole, naming the table and column.
        let e = to
            .load_rows(table("runs"), &[vec![Value::Text("x".into()); 11]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("runs") || e.contains("datatype"), "{e}");
        to.clear().unwrap();
        assert!(dump(&*to).is_empty());
        assert_eq!(
            to.begin_run("hr", false).unwrap(),
            1,
            "cleared ids start again"
        );
    });
}

#[test]
fn keys_of_live_initiatives_and_work_items_by_external_id() {
    each_backend(|b| {
        use tollgate_dmo::model::WorkItem;
        let mut s = b.open();
        let with = |id: &str, entity: Entity| Record {
            entity,
            ..team(id, "-")
        };
        let epic = initiative("BIZ-1");
        let story: WorkItem = serde_json::from_value(serde_json::json!({
            "key": "BIZ-7", "kind": "story", "title": "t", "status": "s",
            "status_category": null, "initiative_key": "BIZ-1", "parent_key": null,
            "assignee": null, "sprint_ids": [], "estimate": null, "created": null,
            "started": null, "resolved": null
        }))
        .unwrap();
        let run = s.begin_run("hr", false).unwrap();
        s.begin_stream(run, "hr", "all", false).unwrap();
        let mut p = page(
            vec![
                with("10001", Entity::Initiative(Box::new(epic))),
                with("10007", Entity::WorkItem(story.clone())),
                with(
                    "10008",
                    Entity::WorkItem(WorkItem {
                        key: "BIZ-8".into(),
                        ..story
                    }),
                ),
                team("t1", "A"),
            ],
            None,
        );
        s.commit_page(run, "hr", "all", &p).unwrap();
        p.records.clear();
        p.deletions.push((EntityKind::WorkItem, "10008".into()));
        s.commit_page(run, "hr", "all", &p).unwrap();
        let mut keys = s.keys("hr").unwrap();
        keys.sort();
        let stored = |kind, id: &str, key: &str| tollgate_dmo::model::StoredKey {
            kind,
            external_id: id.into(),
            key: key.into(),
            initiative_key: Some("BIZ-1".into()),
        };
        assert_eq!(
            keys,
            [
                stored(EntityKind::Initiative, "10001", "BIZ-1"),
                stored(EntityKind::WorkItem, "10007", "BIZ-7"),
            ],
            "live records only, with their initiative; teams have no key"
        );
        assert!(s.keys("jira").unwrap().is_empty());
    });
}

#[test]
fn a_record_is_stored_without_what_its_row_holds_and_read_back_whole() {
    each_backend(|b| {
        let mut s = b.open();
        let run = s.begin_run("hr", false).unwrap();
        s.begin_stream(run, "hr", "teams", false).unwrap();
        // An id JSON escapes, and a record with something in `extra`.
        let mut odd = team("t\"2", "B");
        odd.extra = serde_json::json!({"cost_centre": "42"});
        let p = page(vec![team("t1", "A"), odd.clone()], None);
        s.commit_page(run, "hr", "teams", &p).unwrap();
        assert_eq!(
            s.records(EntityKind::Team).unwrap(),
            [odd.clone(), team("t1", "A")],
            "{}",
            b.name
        );
        assert_eq!(s.record("hr", EntityKind::Team, "t\"2").unwrap(), Some(odd));
        // The documents leave out the connection, the id, the fields without a value and an
        // empty `extra`: the row has the first two, and the others are what missing fields
        // read as.
        let records = table("records");
        let at = records.columns.iter().position(|c| *c == "record").unwrap();
        let mut docs = Vec::new();
        s.dump_table(records, &mut |row| {
            if let Value::Text(doc) = &row[at] {
                docs.push(doc.clone());
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(docs.len(), 2);
        for doc in &docs {
            assert!(
                !doc.contains("\"connection\"") && !doc.contains("\"external_id\""),
                "{doc}"
            );
            assert!(doc.starts_with("{\"provenance\":{\"fetched_at\""), "{doc}");
            // The team's manager and value stream, none, are left out too.
            assert!(!doc.contains("null"), "{doc}");
        }
        assert!(
            docs.iter()
                .any(|d| d.ends_with("\"extra\":{\"cost_centre\":\"42\"}}"))
        );
        assert!(docs.iter().any(|d| !d.contains("extra")));
        // A document written whole, as earlier versions did, reads the same.
        let whole = serde_json::to_string(&team("t3", "C")).unwrap();
        let row: Vec<Value> = records
            .columns
            .iter()
            .map(|c| match *c {
                "connection" => Value::Text("hr".into()),
                "kind" => Value::Text("team".into()),
                "external_id" => Value::Text("t3".into()),
                "stream" => Value::Text("teams".into()),
                "record" => Value::Text(whole.clone()),
                "sweep" => Value::Int(run),
                _ => Value::Null,
            })
            .collect();
        s.load_rows(records, &[row]).unwrap();
        assert_eq!(
            s.record("hr", EntityKind::Team, "t3").unwrap(),
            Some(team("t3", "C"))
        );
        assert_eq!(names(&*s), ["t\"2=B", "t1=A", "t3=C"]);
    });
}

#[test]
fn upserts_are_idempotent() {
    each_backend(|b| {
        let mut s = b.open();
        let run = s.begin_run("hr", false).unwrap();
        s.begin_stream(run, "hr", "teams", false).unwrap();
        let p = page(vec![team("t1", "A"), team("t2", "B")], None);
        s.commit_page(run, "hr", "teams", &p).unwrap();
        s.commit_page(run, "hr", "teams", &p).unwrap();
        s.commit_page(run, "hr", "teams", &page(vec![team("t1", "A2")], None))
            .unwrap();
        assert_eq!(names(&*s), ["t1=A2", "t2=B"]);
    });
}

#[test]
fn full_runs_mark_unseen_records_deleted_and_explicit_deletions_apply() {
    each_backend(|b| {
        let mut s = b.open();
        let run = s.begin_run("hr", true).unwrap();
        s.begin_stream(run, "hr", "teams", true).unwrap();
        s.commit_page(
            run,
            "hr",
            "teams",
            &page(
                vec![team("t1", "A"), team("t2", "B"), team("t3", "C")],
                None,
            ),
        )
        .unwrap();
        assert_eq!(s.complete_stream(run, "hr", "teams", true).unwrap(), 0);

        // Incremental: an explicit deletion only.
        let run = s.begin_run("hr", false).unwrap();
        let state = s.begin_stream(run, "hr", "teams", false).unwrap();
        assert!(!state.full);
        assert_eq!(state.checkpoint.as_deref(), Some("cp-1"));
        let mut p = page(vec![], None);
        p.deletions.push((EntityKind::Team, "t3".into()));
        assert_eq!(s.commit_page(run, "hr", "teams", &p).unwrap(), (0, 1));
        assert_eq!(s.complete_stream(run, "hr", "teams", true).unwrap(), 0);
        assert_eq!(names(&*s), ["t1=A", "t2=B"]);

        // Full: t2 is no longer there.
        let run = s.begin_run("hr", true).unwrap();
        let state = s.begin_stream(run, "hr", "teams", true).unwrap();
        assert!(state.full && state.checkpoint.is_none());
        s.commit_page(run, "hr", "teams", &page(vec![team("t1", "A")], None))
            .unwrap();
        assert_eq!(s.complete_stream(run, "hr", "teams", true).unwrap(), 1);
        assert_eq!(names(&*s), ["t1=A"]);
        s.finish_run(run, RunStatus::Ok, None).unwrap();
        let runs = s.runs(Some("hr"), 10).unwrap();
        assert_eq!(runs[0].records_deleted, 1);
        assert_eq!(runs[0].status, RunStatus::Ok);
        // A deleted record that comes back is live again.
        let run = s.begin_run("hr", false).unwrap();
        s.begin_stream(run, "hr", "teams", false).unwrap();
        s.commit_page(run, "hr", "teams", &page(vec![team("t2", "B")], None))
            .unwrap();
        assert_eq!(names(&*s), ["t1=A", "t2=B"]);
    });
}

#[test]
fn incremental_passes_keep_the_diagnostics_of_records_they_did_not_reread() {
    each_backend(|b| {
        let mut s = b.open();
        let diag = |location: &str| DiagnosticRecord {
            stream: "issues".into(),
            severity: tollgate_dmo::Severity::Warning,
            code: "mistyped-value".into(),
            message: format!("{location} is odd"),
            location: Some(location.into()),
        };
        let pass =
            |s: &mut dyn Store, full: bool, records: Vec<Record>, found: Vec<DiagnosticRecord>| {
                let run = s.begin_run("jira", full).unwrap();
                s.begin_stream(run, "jira", "issues", full).unwrap();
                let write = PageWrite {
                    diagnostics: found,
                    ..page(records, None)
                };
                s.commit_page(run, "jira", "issues", &write).unwrap();
                s.complete_stream(run, "jira", "issues", true).unwrap();
                s.finish_run(run, RunStatus::Ok, None).unwrap();
            };
        let current = |s: &dyn Store| -> Vec<String> {
            let mut v: Vec<String> = s
                .current_diagnostics()
                .unwrap()
                .into_iter()
                .map(|(_, d)| d.location.unwrap())
                .collect();
            v.sort();
            v
        };
        pass(
            &mut *s,
            true,
            vec![team("t1", "A"), team("t2", "B")],
            vec![diag("BIZ-20")],
        );
        assert_eq!(current(&*s), ["BIZ-20"]);
        // An incremental pass re-reads one other record and finds something there: BIZ-20,
        // not re-read, keeps its diagnostic.
        pass(&mut *s, false, vec![team("t2", "B2")], vec![diag("BIZ-21")]);
        assert_eq!(current(&*s), ["BIZ-20", "BIZ-21"]);
        pass(&mut *s, false, vec![team("t2", "B3")], vec![diag("BIZ-21")]);
        assert_eq!(
            current(&*s),
            ["BIZ-20", "BIZ-21"],
            "reported twice, counted once"
        );
        // A full pass starts afresh.
        pass(
            &mut *s,
            true,
            vec![team("t1", "A"), team("t2", "B")],
            vec![],
        );
        assert!(current(&*s).is_empty());
    });
}

#[test]
fn an_unfinished_stream_resumes_from_its_cursor() {
    each_backend(|b| {
        {
            let mut s = b.open();
            let run = s.begin_run("hr", true).unwrap();
            s.begin_stream(run, "hr", "teams", true).unwrap();
            s.commit_page(
                run,
                "hr",
                "teams",
                &page(vec![team("t1", "A")], Some("page-2")),
            )
            .unwrap();
            // The process dies here.
        }
        let mut s = b.open();
        let run = s.begin_run("hr", false).unwrap();
        let state = s.begin_stream(run, "hr", "teams", false).unwrap();
        assert_eq!(state.cursor.as_deref(), Some("page-2"));
        assert!(state.full, "the interrupted full run goes on as a full run");
        let runs = s.runs(Some("hr"), 10).unwrap();
        assert_eq!(runs[1].status, RunStatus::Interrupted);
    });
}

#[test]
fn records_are_handed_out_one_by_one_and_an_unreadable_one_is_named() {
    each_backend(|b| {
        let mut s = b.open();
        let row = |id: &str, json: String| {
            vec![
                Value::Text("hr".into()),
                Value::Text("team".into()),
                Value::Text(id.into()),
                Value::Text("teams".into()),
                Value::Text(json),
                Value::Int(1),
                Value::Null,
            ]
        };
        let rows: Vec<Vec<Value>> = [("t2", "Second"), ("t1", "First")]
            .iter()
            .map(|(id, name)| row(id, serde_json::to_string(&team(id, name)).unwrap()))
            .collect();
        s.load_rows(table("records"), &rows).unwrap();
        let mut seen = Vec::new();
        s.each_record(EntityKind::Team, &mut |r| {
            seen.push(r.provenance.external_id)
        })
        .unwrap();
        assert_eq!(seen, ["t1", "t2"], "in export order");
        s.load_rows(
            table("records"),
            &[row("t9", r#"{"not": "a record"}"#.into())],
        )
        .unwrap();
        let e = s.records(EntityKind::Team).unwrap_err().to_string();
        assert!(e.contains("record hr/team/t9 is not readable"), "{e}");
        assert!(e.contains(&b.location), "names the database: {e}");
    });
}

#[test]
fn stored_records_come_in_key_order_past_a_batch_and_a_refused_one_stops_the_reading() {
    each_backend(|b| {
        let mut s = b.open();
        // 1,300 teams in each of two connections: more rows than a batch of the reader's.
        let mut rows = Vec::new();
        for connection in ["b", "a"] {
            for i in (0..1_300).rev() {
                let id = format!("t{i:05}");
                rows.push(vec![
                    Value::Text(connection.into()),
                    Value::Text("team".into()),
                    Value::Text(id.clone()),
                    Value::Text("teams".into()),
                    Value::Text(serde_json::to_string(&team(&id, "T")).unwrap()),
                    Value::Int(1),
                    Value::Null,
                ]);
            }
        }
        s.load_rows(table("records"), &rows).unwrap();
        let mut seen = Vec::new();
        s.each_stored(EntityKind::Team, &mut |connection, id, text| {
            assert!(text.contains(id), "{id}: {text}");
            seen.push(format!("{connection}/{id}"));
            Ok(())
        })
        .unwrap();
        let expected: Vec<String> = ["a", "b"]
            .iter()
            .flat_map(|c| (0..1_300).map(move |i| format!("{c}/t{i:05}")))
            .collect();
        assert_eq!(seen, expected, "{}", b.name);
        // The reader refusing a record: the error names it, and nothing after it is read.
        let mut read = 0;
        let e = s
            .each_stored(EntityKind::Team, &mut |_, _, _| {
                read += 1;
                if read == 700 {
                    Err(<serde_json::Error as serde::de::Error>::custom("refused"))
                } else {
                    Ok(())
                }
            })
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("record a/team/t00699 is not readable: refused"),
            "{}: {e}",
            b.name
        );
        assert_eq!(read, 700, "{}", b.name);
    });
}

#[test]
fn a_record_or_finding_given_twice_in_one_write_counts_as_sqlite_counts_it() {
    each_backend(|b| {
        let mut s = b.open();
        let run = s.begin_run("hr", false).unwrap();
        s.begin_stream(run, "hr", "teams", false).unwrap();
        let mut p = page(
            vec![team("t1", "A"), team("t2", "B"), team("t1", "A2")],
            None,
        );
        p.deletions = vec![
            (EntityKind::Team, "t9".into()),
            (EntityKind::Team, "t9".into()),
        ];
        assert_eq!(
            s.commit_page(run, "hr", "teams", &p).unwrap(),
            (3, 0),
            "{}",
            b.name
        );
        assert_eq!(
            names(&*s),
            ["t1=A2", "t2=B"],
            "{}: the last one given",
            b.name
        );
        let mut p = page(vec![], None);
        p.deletions = vec![
            (EntityKind::Team, "t2".into()),
            (EntityKind::Team, "t2".into()),
        ];
        assert_eq!(
            s.commit_page(run, "hr", "teams", &p).unwrap(),
            (0, 1),
            "{}",
            b.name
        );
        assert_eq!(s.runs(None, 1).unwrap()[0].records_written, 3);
        let mut second = finding("f1", "A-1");
        second.message = "said again".into();
        let c = s
            .record_findings(&[finding("f1", "A-1"), second], "2026-11-01T00:00:00.000Z")
            .unwrap();
        assert_eq!((c.new, c.persisting), (1, 1), "{}", b.name);
        assert_eq!(s.findings(false).unwrap()[0].finding.message, "said again");
    });
}

#[test]
fn a_finding_given_again_is_stored_as_given_and_seen_again_whatever_changed() {
    each_backend(|b| {
        let mut s = b.open();
        let first: Vec<Finding> = (0..8)
            .map(|i| finding(&format!("f{i}"), &format!("A-{i}")))
            .collect();
        s.record_findings(&first, "2026-11-01T00:00:00.000Z")
            .unwrap();
        // Given again: f0 as it was, each of f1..f6 with one thing changed, f7 twice (changed,
        // then as it was: the last one given counts).
        let mut again = first.clone();
        again[1].severity = tollgate_dmo::Severity::Error;
        again[2].title = "another title".into();
        again[3].message = "another message".into();
        again[4].evidence = serde_json::json!({"hours": 57}).into();
        again[5].subject.connection = None;
        again[6].subject.external_id = Some("id-moved".into());
        again[7].message = "said first".into();
        again.push(first[7].clone());
        let c = s
            .record_findings(&again, "2026-11-02T00:00:00.000Z")
            .unwrap();
        assert_eq!(
            (c.new, c.persisting, c.resolved, c.reopened),
            (0, 9, 0, 0),
            "{}",
            b.name
        );
        let stored = s.findings(false).unwrap();
        assert_eq!(stored.len(), 8, "{}", b.name);
        for (f, want) in stored.iter().zip(again.iter().take(7).chain([&first[7]])) {
            assert_eq!(&f.finding, want, "{}", b.name);
            assert_eq!(f.first_seen, "2026-11-01T00:00:00.000Z", "{}", b.name);
            assert_eq!(
                f.last_seen, "2026-11-02T00:00:00.000Z",
                "{}: {}",
                b.name, f.finding.fingerprint
            );
        }
        // A third check that gives them all as they now are: nothing to rewrite, each seen.
        let now: Vec<Finding> = stored.into_iter().map(|f| f.finding).collect();
        let c = s.record_findings(&now, "2026-11-03T00:00:00.000Z").unwrap();
        assert_eq!((c.new, c.persisting, c.resolved), (0, 8, 0), "{}", b.name);
        let stored = s.findings(false).unwrap();
        assert!(
            stored
                .iter()
                .all(|f| f.last_seen == "2026-11-03T00:00:00.000Z"),
            "{}",
            b.name
        );
        assert_eq!(
            stored.into_iter().map(|f| f.finding).collect::<Vec<_>>(),
            now,
            "{}",
            b.name
        );
        // A fourth without f0 and f1: each resolved now, last seen at the third; the others
        // seen at the fourth. And a fifth gives f0 back: reopened, seen at the fifth; f1
        // stays as it was resolved.
        let c = s
            .record_findings(&now[2..], "2026-11-04T00:00:00.000Z")
            .unwrap();
        assert_eq!((c.persisting, c.resolved), (6, 2), "{}", b.name);
        s.record_findings(&[&now[..1], &now[2..]].concat(), "2026-11-05T00:00:00.000Z")
            .unwrap();
        let seen: Vec<(String, String, Option<String>)> = s
            .findings(true)
            .unwrap()
            .into_iter()
            .map(|f| (f.finding.fingerprint, f.last_seen, f.resolved_at))
            .collect();
        let at = |day: u8| format!("2026-11-{day:02}T00:00:00.000Z");
        let mut want = vec![
            ("f0".to_string(), at(5), None),
            ("f1".to_string(), at(3), Some(at(4))),
        ];
        want.extend((2..8).map(|i| (format!("f{i}"), at(5), None)));
        assert_eq!(seen, want, "{}", b.name);
    });
}

#[test]
fn a_finding_stored_with_a_value_tollgate_never_writes_is_named_not_read_as_another() {
    each_backend(|b| {
        let mut s = b.open();
        s.record_findings(
            &[finding("f1", "A-1"), finding("f2", "A-2")],
            "2026-11-01T00:00:00.000Z",
        )
        .unwrap();
        for (column, damaged, was) in [
            ("severity", "urgent", "warning"),
            ("subject_kind", "epic", "initiative"),
            ("evidence", "{\"hours\": 5", "{\"hours\":56}"),
        ] {
            b.execute(&format!(
                "UPDATE findings SET {column} = '{damaged}' WHERE fingerprint = 'f2'"
            ));
            let e = s.findings(false).unwrap_err().to_string();
            assert!(
                e.contains(&format!("finding f2 is not readable: its {column}: ")),
                "{}: {e}",
                b.name
            );
            assert!(e.contains(&b.location), "{}: {e}", b.name);
            b.execute(&format!(
                "UPDATE findings SET {column} = '{was}' WHERE fingerprint = 'f2'"
            ));
        }
        let findings = s.findings(false).unwrap();
        assert_eq!(findings.len(), 2, "{}", b.name);
        assert_eq!(
            findings[1].finding.severity,
            tollgate_dmo::Severity::Warning
        );
    });
}

#[test]
fn a_run_stored_with_a_status_tollgate_never_writes_is_named_not_read_as_running() {
    each_backend(|b| {
        let mut s = b.open();
        let run = s.begin_run("jira", true).unwrap();
        s.finish_run(run, RunStatus::Ok, None).unwrap();
        b.execute(&format!(
            "UPDATE runs SET status = 'paused' WHERE id = {run}"
        ));
        let e = s.runs(Some("jira"), 10).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "run {run} is not readable: its status: \"paused\""
            )),
            "{}: {e}",
            b.name
        );
        assert!(e.contains(&b.location), "{}: {e}", b.name);
        b.execute(&format!("UPDATE runs SET status = 'ok' WHERE id = {run}"));
        let runs = s.runs(Some("jira"), 10).unwrap();
        assert_eq!(runs[0].status, RunStatus::Ok, "{}", b.name);
    });
}

fn time_entry(connection: &str, id: &str, fetched_at: &str) -> Record {
    Record {
        provenance: Provenance {
            connection: connection.into(),
            external_id: id.into(),
            url: None,
            source_updated: None,
            fetched_at: fetched_at.into(),
        },
        entity: Entity::TimeEntry(tollgate_dmo::model::TimeEntry {
            person: format!("p-{id}"),
            work_item_key: Some("W-1".into()),
            initiative_key: None,
            date: "2026-11-02".into(),
            started: None,
            seconds: 3600,
            description: None,
        }),
        extra: serde_json::json!({}),
    }
}

#[test]
fn records_read_in_any_order_are_the_records_each_with_its_fetch_time() {
    each_backend(|b| {
        let mut s = b.open();
        // Two connections synced page by page in turn, ids falling (so neither the table's
        // order nor the pages' is the key's), each page fetched at a time of its own (one
        // with a quote in it), more records than a batch of the reader's; some deleted.
        let mut expected = Vec::new();
        let runs: Vec<(&str, i64)> = ["b", "a"]
            .into_iter()
            .map(|c| {
                let run = s.begin_run(c, false).unwrap();
                s.begin_stream(run, c, "worklogs", false).unwrap();
                (c, run)
            })
            .collect();
        for page_no in 0..7 {
            for &(connection, run) in &runs {
                let at = format!("2026-11-27T00:00:0{page_no}.000Z {connection}\"");
                let records: Vec<Record> = (0..100)
                    .map(|i| {
                        let id = format!("e{:04}", 9_999 - page_no * 100 - i);
                        time_entry(connection, &id, &at)
                    })
                    .collect();
                expected.extend(records.iter().cloned());
                s.commit_page(run, connection, "worklogs", &page(records, Some("next")))
                    .unwrap();
            }
        }
        b.execute("UPDATE records SET deleted_at = '2026-11-28' WHERE external_id LIKE '%7'");
        expected.retain(|r| !r.provenance.external_id.ends_with('7'));
        let key = |r: &Record| {
            (
                r.provenance.connection.clone(),
                r.provenance.external_id.clone(),
            )
        };
        expected.sort_by_key(key);
        let mut in_key_order = Vec::new();
        s.each_record(EntityKind::TimeEntry, &mut |r| in_key_order.push(r))
            .unwrap();
        assert_eq!(in_key_order, expected, "{}", b.name);
        let mut seen = Vec::new();
        s.each_stored_in_any_order(EntityKind::TimeEntry, &mut |connection, id, text| {
            seen.push(Record::from_stored(connection, id, text)?);
            Ok(())
        })
        .unwrap();
        let mut again = Vec::new();
        s.each_stored_in_any_order(EntityKind::TimeEntry, &mut |connection, id, _| {
            again.push(format!("{connection}/{id}"));
            Ok(())
        })
        .unwrap();
        let order: Vec<String> = seen
            .iter()
            .map(|r| format!("{}/{}", r.provenance.connection, r.provenance.external_id))
            .collect();
        assert_eq!(again, order, "{}: the same order twice", b.name);
        seen.sort_by_key(key);
        assert_eq!(seen, expected, "{}", b.name);
        // The reader refusing a record: the error names the record it refused, and nothing
        // after it is read.
        let (mut read, mut refused) = (0, String::new());
        let e = s
            .each_stored_in_any_order(EntityKind::TimeEntry, &mut |connection, id, _| {
                read += 1;
                if read == 700 {
                    refused = format!("record {connection}/time-entry/{id} is not readable");
                    Err(<serde_json::Error as serde::de::Error>::custom("refused"))
                } else {
                    Ok(())
                }
            })
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("{refused}: refused")),
            "{}: {e}",
            b.name
        );
        assert_eq!(read, 700, "{}", b.name);
        // Read again after the refusal: all of them, in the same order.
        let mut after = Vec::new();
        s.each_stored_in_any_order(EntityKind::TimeEntry, &mut |connection, id, _| {
            after.push(format!("{connection}/{id}"));
            Ok(())
        })
        .unwrap();
        assert_eq!(after, order, "{}: read again after a refusal", b.name);
        // Another kind: the records read in the key's order.
        write_page(&mut *s, "a", "teams", &[team("t2", "B"), team("t1", "A")]);
        let mut teams = Vec::new();
        s.each_stored_in_any_order(EntityKind::Team, &mut |connection, id, text| {
            teams.push(Record::from_stored(connection, id, text)?);
            Ok(())
        })
        .unwrap();
        teams.sort_by_key(key);
        let mut in_key_order = Vec::new();
        s.each_record(EntityKind::Team, &mut |r| in_key_order.push(r))
            .unwrap();
        assert_eq!(in_key_order.len(), 2, "{}", b.name);
        assert_eq!(teams, in_key_order, "{}", b.name);
    });
}

/// Time entries as [`Store::each_time_entry`] hands them out, each with its names' texts.
#[derive(Default)]
pub(crate) struct Collected {
    names: std::collections::HashMap<u32, String>,
    pub(crate) entries: Vec<Entry>,
}

/// A time entry as [`Collected`] holds it: person, work item, initiative, date, seconds.
pub(crate) type Entry = (String, Option<String>, Option<String>, String, u64);

impl tollgate_dmo::rules::portfolio::NumberedTimeEntries for Collected {
    fn name(&mut self, number: u32, text: &str) -> Result<(), String> {
        self.names.insert(number, text.to_string());
        Ok(())
    }

    fn entry(&mut self, e: tollgate_dmo::rules::portfolio::NumberedEntry) -> Result<(), String> {
        let name = |n: u32| {
            self.names
                .get(&n)
                .cloned()
                .ok_or_else(|| format!("name {n} never given"))
        };
        let entry = (
            name(e.person)?,
            e.work_item.map(name).transpose()?,
            e.initiative.map(name).transpose()?,
            name(e.date)?,
            e.seconds,
        );
        self.entries.push(entry);
        Ok(())
    }

    fn entry_with_names(
        &mut self,
        e: &tollgate_dmo::rules::portfolio::StoredTimeEntryParts<'_>,
    ) -> Result<(), String> {
        self.entries.push((
            e.person.to_string(),
            e.work_item_key.as_ref().map(|k| k.to_string()),
            e.initiative_key.as_ref().map(|k| k.to_string()),
            e.date.to_string(),
            e.seconds,
        ));
        Ok(())
    }
}

/// What [`Collected`] holds of `record`, a time entry.
pub(crate) fn collected(record: &Record) -> Entry {
    let Entity::TimeEntry(t) = &record.entity else {
        panic!("not a time entry: {record:?}");
    };
    (
        t.person.clone(),
        t.work_item_key.clone(),
        t.initiative_key.clone(),
        t.date.clone(),
        t.seconds,
    )
}

/// An initiative with its key and the least else.
pub(crate) fn initiative(key: &str) -> tollgate_dmo::model::Initiative {
    serde_json::from_value(serde_json::json!({
        "key": key, "title": "t", "status": "s", "status_category": null,
        "demand_type": null, "development_type": null, "value_stream": null,
        "portfolio": null, "business_owner": null, "strategic_theme": null,
        "current_gate": null, "cost_of_delay": null, "user_business_value": null,
        "time_criticality": null, "risk_reduction": null, "job_size": null,
        "planned_start": null, "planned_end": null, "next_gate_due": null,
        "created": null, "labels": [], "risks": [], "kpis": []
    }))
    .unwrap()
}

/// The time entries of `s` as [`Store::each_time_entry`] hands them out, sorted.
pub(crate) fn entries_by_number(s: &dyn Store) -> Result<Vec<Entry>, crate::StoreError> {
    let mut got = Collected::default();
    s.each_time_entry(&mut got)?;
    got.entries.sort();
    Ok(got.entries)
}

/// Initiatives and work items as a store's `keys` answers for them: `n` epics (keys with a
/// quote, a backslash and non-ASCII letters among them), each with two stories, the second
/// without its initiative; and the keys `keys` should answer, sorted.
pub(crate) fn keyed_records(
    connection: &str,
    n: usize,
) -> (Vec<Record>, Vec<tollgate_dmo::model::StoredKey>) {
    use tollgate_dmo::model::{StoredKey, WorkItem};
    let mut records = Vec::new();
    let mut keys = Vec::new();
    for i in 0..n {
        let key = match i % 3 {
            0 => format!("BIZ-{i}"),
            1 => format!("Zoë-\"{i}\"\\"),
            _ => format!("K{i}"),
        };
        let epic = initiative(&key);
        let mut epic_record = time_entry(connection, &format!("e{i}"), "2026-11-27T00:00:00.000Z");
        epic_record.entity = Entity::Initiative(Box::new(epic));
        records.push(epic_record);
        keys.push(StoredKey {
            kind: EntityKind::Initiative,
            external_id: format!("e{i}"),
            key: key.clone(),
            initiative_key: Some(key.clone()),
        });
        for (j, initiative) in [Some(key.clone()), None].into_iter().enumerate() {
            let story: WorkItem = serde_json::from_value(serde_json::json!({
                "key": format!("{key}/{j}"), "kind": "story", "title": "t", "status": "s",
                "status_category": null, "initiative_key": initiative, "parent_key": null,
                "assignee": null, "sprint_ids": [], "estimate": null, "created": null,
                "started": null, "resolved": null
            }))
            .unwrap();
            let mut r = time_entry(connection, &format!("w{i}-{j}"), "2026-11-27T00:00:00.000Z");
            r.entity = Entity::WorkItem(story);
            records.push(r);
            keys.push(StoredKey {
                kind: EntityKind::WorkItem,
                external_id: format!("w{i}-{j}"),
                key: format!("{key}/{j}"),
                initiative_key: initiative,
            });
        }
    }
    keys.sort();
    (records, keys)
}

/// Time entries of every shape a source can give: names with quotes, escapes and
/// non-ASCII letters, without a work item or an initiative, dates that are not dates,
/// seconds beyond 32 bits.
pub(crate) fn odd_time_entries(connection: &str, n: usize, at: &str) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut r = time_entry(connection, &format!("t{i:05}"), at);
            let Entity::TimeEntry(t) = &mut r.entity else {
                unreachable!()
            };
            t.person = match i % 4 {
                0 => format!("p-{}", i % 7),
                1 => "Zoë \"the\" \\ tester\n".into(),
                2 => String::new(),
                _ => format!("712020:{i:x}"),
            };
            t.work_item_key = (i % 3 != 0).then(|| format!("W-{}", i % 50));
            t.initiative_key = (i % 5 == 0).then(|| format!("I-{}", i % 9));
            t.date = match i % 6 {
                0 => "not a date".into(),
                _ => format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
            };
            t.seconds = match i % 10 {
                0 => u64::MAX,
                1 => 0,
                _ => (i as u64) << (i % 40),
            };
            r
        })
        .collect()
}

#[test]
fn time_entries_by_number_are_the_live_entries_stored_and_a_refusal_stops_the_read() {
    each_backend(|b| {
        let mut s = b.open();
        let mut expected = Vec::new();
        for connection in ["jira", "hr"] {
            let run = s.begin_run(connection, false).unwrap();
            s.begin_stream(run, connection, "worklogs", false).unwrap();
            let records = odd_time_entries(connection, 1_500, "2026-11-27T00:00:00.000Z");
            for chunk in records.chunks(700) {
                s.commit_page(
                    run,
                    connection,
                    "worklogs",
                    &page(chunk.to_vec(), Some("n")),
                )
                .unwrap();
            }
            expected.extend(records);
        }
        // An entry written again with other names is read as written last.
        let run = s.begin_run("jira", false).unwrap();
        s.begin_stream(run, "jira", "worklogs", false).unwrap();
        let mut changed = expected[3].clone();
        if let Entity::TimeEntry(t) = &mut changed.entity {
            t.person = "someone else".into();
            t.work_item_key = None;
        }
        s.commit_page(run, "jira", "worklogs", &page(vec![changed.clone()], None))
            .unwrap();
        expected[3] = changed;
        b.execute("UPDATE records SET deleted_at = '2026-11-28' WHERE external_id LIKE '%7'");
        expected.retain(|r| !r.provenance.external_id.ends_with('7'));
        let mut want: Vec<_> = expected.iter().map(collected).collect();
        want.sort();
        let mut got = Collected::default();
        s.each_time_entry(&mut got).unwrap();
        got.entries.sort();
        assert_eq!(got.entries.len(), want.len(), "{}", b.name);
        assert_eq!(got.entries, want, "{}", b.name);
        // A reader refusing an entry stops the read with its error.
        struct Refusing(usize);
        impl tollgate_dmo::rules::portfolio::NumberedTimeEntries for Refusing {
            fn name(&mut self, _: u32, _: &str) -> Result<(), String> {
                Ok(())
            }
            fn entry(
                &mut self,
                _: tollgate_dmo::rules::portfolio::NumberedEntry,
            ) -> Result<(), String> {
                self.count()
            }
            fn entry_with_names(
                &mut self,
                _: &tollgate_dmo::rules::portfolio::StoredTimeEntryParts<'_>,
            ) -> Result<(), String> {
                self.count()
            }
        }
        impl Refusing {
            fn count(&mut self) -> Result<(), String> {
                self.0 += 1;
                if self.0 == 1_100 {
                    return Err("refused here".into());
                }
                Ok(())
            }
        }
        let mut refusing = Refusing(0);
        let e = s.each_time_entry(&mut refusing).unwrap_err().to_string();
        assert!(
            e.contains("refused here") && e.contains(&b.location),
            "{}: {e}",
            b.name
        );
        assert_eq!(refusing.0, 1_100, "{}", b.name);
        // The store reads on after a read it stopped (PostgreSQL: the rest of the rows the
        // server streamed are not taken for the next query's).
        let mut again = Collected::default();
        s.each_time_entry(&mut again).unwrap();
        again.entries.sort();
        assert_eq!(again.entries, want, "{}", b.name);
        assert_eq!(s.live_records("jira").unwrap(), 1_500 - 150, "{}", b.name);
    });
}

/// Findings as a check left them before the last check's time was kept once (SQLite's schema
/// 15, PostgreSQL's 5): each open one last seen at the last check (D2), one resolved then.
pub(crate) const FINDINGS_BEFORE_THE_CHECK_TIME_WAS_KEPT: &str = "
    INSERT INTO findings (fingerprint, rule_id, severity, subject_kind, subject_key, title,
      message, evidence, first_seen, last_seen, resolved_at)
    VALUES
    ('f1', 'R1', 'warning', 'initiative', 'A-1', 't', 'm', '{}', 'D1', 'D2', NULL),
    ('f2', 'R1', 'warning', 'initiative', 'A-2', 't', 'm', '{}', 'D1', 'D2', NULL),
    ('f3', 'R1', 'warning', 'initiative', 'A-3', 't', 'm', '{}', 'D0', 'D1', 'D2');";

/// A store migrated with [`FINDINGS_BEFORE_THE_CHECK_TIME_WAS_KEPT`] reads them as stored;
/// the first check after, which gives f1 as stored and not f2, sees f1 then and resolves f2
/// last seen at D2.
pub(crate) fn findings_seen_before_the_check_time_was_kept(s: &mut dyn Store) {
    let seen = |s: &dyn Store| -> Vec<(String, String, Option<String>)> {
        let all = s.findings(true).unwrap();
        all.into_iter()
            .map(|f| (f.finding.fingerprint, f.last_seen, f.resolved_at))
            .collect()
    };
    let row = |f: &str, seen: &str, resolved: Option<&str>| {
        (
            f.to_string(),
            seen.to_string(),
            resolved.map(str::to_string),
        )
    };
    assert_eq!(
        seen(s),
        [
            row("f1", "D2", None),
            row("f2", "D2", None),
            row("f3", "D1", Some("D2"))
        ]
    );
    let f1 = s.findings(false).unwrap().remove(0).finding;
    let c = s.record_findings(&[f1], "D3").unwrap();
    assert_eq!((c.new, c.persisting, c.resolved), (0, 1, 1));
    assert_eq!(
        seen(s),
        [
            row("f1", "D3", None),
            row("f2", "D2", Some("D3")),
            row("f3", "D1", Some("D2"))
        ]
    );
}
