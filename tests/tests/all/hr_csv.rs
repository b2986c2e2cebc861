//! The hr-csv plugin through the real runtime and store, on the demo's HR and finance files.

use std::path::Path;
use tollgate_host::app::Session;
use tollgate_host::cli::{SyncFlags, sync_all};
use tollgate_store::Store;

fn setup(dir: &Path) {
    tollgate_tests::demo_hr_config(dir);
}

fn counts(store: &dyn Store) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for r in store.export().unwrap() {
        *out.entry(r.entity.kind().as_str().to_string()).or_default() += 1;
    }
    out
}

fn stream<'a>(
    s: &'a tollgate_host::sync::SyncSummary,
    name: &str,
) -> &'a tollgate_host::sync::StreamSummary {
    s.streams.iter().find(|st| st.stream == name).unwrap()
}

#[tokio::test]
async fn demo_files_import_with_exact_rejections_and_incremental_reads() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let session = Session::open(&dir.path().join("tollgate.toml"))
        .await
        .unwrap();
    let first = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap()
        .remove(0);
    let store = session.store().unwrap();
    let expected: Vec<(&str, usize)> = vec![
        ("allocation", 13),
        ("business-case", 24),
        ("cost-rate", 11),
        ("dependency", 6),
        ("finance-entry", 91),
        ("gate-decision", 55),
        ("kpi-measurement", 6),
        ("person", 11),
        ("team", 3),
        ("time-entry", 227),
    ];
    let got = counts(store.as_ref());
    assert_eq!(
        got.iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        expected
    );
    let diagnostics: Vec<(String, String, String)> = store
        .diagnostics(first.run)
        .unwrap()
        .into_iter()
        .map(|d| {
            (
                d.severity.as_str().to_string(),
                d.code,
                d.location.unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        ("error", "rejected-row", "people.csv:13:7"),
        ("error", "rejected-row", "allocations.csv:15:4"),
        ("error", "rejected-row", "timesheets.csv:227:5"),
        ("error", "rejected-row", "timesheets.csv:229:2"),
        ("warning", "unknown-person", "timesheets.csv:228:1"),
        ("error", "rejected-row", "finance.csv:14:2"),
        ("error", "rejected-row", "gate-decisions.csv:8:2"),
    ];
    assert_eq!(
        diagnostics,
        want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    // A sample of exact values: Finnish date, decimal comma, key as written.
    let entries = store
        .records(tollgate_dmo::model::EntityKind::TimeEntry)
        .unwrap();
    let first_entry = entries
        .iter()
        .find(|r| r.provenance.external_id == "timesheets.csv:2")
        .unwrap();
    match &first_entry.entity {
        tollgate_dmo::model::Entity::TimeEntry(t) => {
            assert_eq!(
                (
                    t.person.as_str(),
                    t.date.as_str(),
                    t.initiative_key.as_deref(),
                    t.seconds
                ),
                ("p-aino", "2026-10-01", Some("BIZ-1"), 27_000)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(first_entry.provenance.connection, "hr");

    // Nothing changed: no file is read again.
    let second = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap()
        .remove(0);
    for st in &second.streams {
        assert_eq!(
            (st.written, st.deleted, st.diagnostics),
            (0, 0, 0),
            "{}",
            st.stream
        );
    }

    // A changed file is read whole: an edited row is updated. A removed row is not marked
    // deleted while the file still has a rejected row: that pass did not see every record
    // (Quinn's row, with fte `one`, is still there and still rejected).
    let people = std::fs::read_to_string(dir.path().join("hr/people.csv")).unwrap();
    let people: Vec<&str> = people
        .lines()
        .filter(|l| !l.starts_with("p-noah,"))
        .collect();
    let people = people.join("\n").replace("Dana Roe", "Dana Roe-Virtanen");
    std::fs::write(dir.path().join("hr/people.csv"), people.clone() + "\n").unwrap();
    let withheld = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(stream(&withheld, "people").deleted, 0);
    assert!(
        stream(&withheld, "people")
            .sweep_withheld
            .as_deref()
            .is_some_and(|w| w.contains("2 not marked deleted") && w.contains("rejected rows")),
        "{:?}",
        stream(&withheld, "people").sweep_withheld
    );
    assert_eq!(counts(store.as_ref())["person"], 11, "Noah is still there");

    // With the bad row fixed, the pass is clean and Noah goes; a removed file takes its
    // records along.
    let people = people.replace(",Analyst,Mikko Salo,one,", ",Analyst,Mikko Salo,1,");
    std::fs::write(dir.path().join("hr/people.csv"), people + "\n").unwrap();
    std::fs::remove_file(dir.path().join("hr/teams.csv")).unwrap();
    let third = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        stream(&third, "people").deleted,
        2,
        "Noah's person and cost-rate records"
    );
    assert_eq!(
        stream(&third, "teams").deleted,
        3,
        "a removed file takes its records along"
    );
    assert_eq!(
        stream(&third, "timesheets").written,
        0,
        "unchanged files are not read"
    );
    let got = counts(store.as_ref());
    assert_eq!(
        (got["person"], got["cost-rate"], got.get("team")),
        (11, 11, None),
        "Quinn's fixed row is in, Noah is out"
    );
    assert!(store.export().unwrap().iter().any(|r| matches!(
        &r.entity,
        tollgate_dmo::model::Entity::Person(p) if p.name == "Dana Roe-Virtanen"
    )));
}

#[tokio::test]
async fn strict_mode_fails_on_a_rejected_row_and_writes_nothing_of_that_page() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let session = Session::open(&dir.path().join("tollgate.toml"))
        .await
        .unwrap();
    let failure = sync_all(
        &session,
        None,
        SyncFlags {
            strict: true,
            ..SyncFlags::default()
        },
    )
    .await
    .unwrap_err();
    let message = failure.error.to_string();
    assert!(
        message.contains(
            "stream `people`: 1 rejected (strict mode): people.csv:13:7: fte: `one` is not a number"
        ),
        "{message}"
    );
    let store = session.store().unwrap();
    let got = counts(store.as_ref());
    assert_eq!(
        got.get("person"),
        None,
        "the page with the bad row was not written"
    );
    assert_eq!(
        got.get("team"),
        Some(&3),
        "a clean file of the same connection is stored all the same"
    );
    let runs = store.runs(Some("hr"), 1).unwrap();
    assert_eq!(runs[0].status, tollgate_store::RunStatus::Failed);
    assert!(runs[0].error.as_deref().unwrap().contains("strict mode"));
}
