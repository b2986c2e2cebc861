//! Jira end to end: the plugin against the sandbox's demo site, Cloud and Data Center; with
//! faults; incrementally; publishing back. Every exchange is checked against Atlassian's
//! OpenAPI documents (tests/specs).

use serde_json::Value;
use std::collections::BTreeMap;
use tollgate_host::check::run_checks;
use tollgate_host::cli::{SyncFlags, sync_all};
use tollgate_host::publish::Published;
use tollgate_sandbox::{FieldValue, Flavour, Sandbox};
use tollgate_tests::{
    JiraFace, assert_faithful_to_jira as assert_faithful, demo_config, edited_titles, export,
    initiative, jira_config, open_session as session, recording_sandbox, records,
};

async fn sandbox() -> Sandbox {
    recording_sandbox("demo").await
}

/// A full sync of the sandbox through one face: the config's directory, the session and the
/// export.
async fn synced(
    sandbox: &Sandbox,
    face: JiraFace,
) -> (tempfile::TempDir, tollgate_host::app::Session, Value) {
    synced_with(sandbox, face, "").await
}

/// As [`synced`], with `settings` (`, key = value` pairs) added to the connection's settings.
async fn synced_with(
    sandbox: &Sandbox,
    face: JiraFace,
    settings: &str,
) -> (tempfile::TempDir, tollgate_host::app::Session, Value) {
    let dir = tempfile::tempdir().unwrap();
    jira_config(dir.path(), sandbox, face, "");
    let config = dir.path().join("tollgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let with = text.replace(
        "project = \"BIZ\" }",
        &format!("project = \"BIZ\"{settings} }}"),
    );
    assert!(settings.is_empty() || with != text, "the settings went in");
    std::fs::write(&config, with).unwrap();
    let session = session(dir.path()).await;
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    let doc = export(&session, sandbox);
    (dir, session, doc)
}

/// Move the sandbox's clock past the minute Jira hides from `/worklog/updated`, forget its
/// requests, and sync the one connection.
async fn sync_past_the_minute(
    session: &tollgate_host::app::Session,
    sandbox: &Sandbox,
) -> tollgate_host::sync::SyncSummary {
    sandbox.advance_clock(std::time::Duration::from_secs(90));
    sandbox.clear_requests();
    sync_one(session).await
}

/// Sync the session's connections and give the first one's summary (the tests that call it
/// configure one Jira connection, or the demo's with Jira first).
async fn sync_one(session: &tollgate_host::app::Session) -> tollgate_host::sync::SyncSummary {
    sync_all(session, None, SyncFlags::default())
        .await
        .unwrap()
        .remove(0)
}

/// A sandbox serving `synthetic:EPICS` `latency_ms` away that records request bodies, and in
/// `dir` a config with its `jira` connection (see [`tollgate_tests::synthetic_jira`]).
async fn recording_synthetic(dir: &std::path::Path, epics: usize, latency_ms: u64) -> Sandbox {
    let sandbox = tollgate_tests::synthetic_jira(dir, epics, latency_ms, "").await;
    sandbox.record_bodies(true);
    sandbox
}

/// As [`recording_synthetic`], the connection allowed 32 requests in flight: a test that
/// checks one stream's requests went out together gives it the room the other streams, pulled
/// beside it, would otherwise share.
async fn roomy_synthetic(dir: &std::path::Path, epics: usize, latency_ms: u64) -> Sandbox {
    let sandbox = tollgate_tests::synthetic_jira(
        dir,
        epics,
        latency_ms,
        "[connections.jira.limits]\nmax_concurrent_requests = 32\n",
    )
    .await;
    sandbox.record_bodies(true);
    sandbox
}

/// The worklog ids the requests asked `/worklog/list` for, in the order asked (their bodies
/// recorded).
fn listed_worklog_ids(requests: &[tollgate_sandbox::RecordedRequest]) -> Vec<u64> {
    requests
        .iter()
        .filter(|r| r.path.ends_with("/worklog/list"))
        .flat_map(|r| {
            let body: Value = serde_json::from_slice(r.request_body.as_ref().unwrap()).unwrap();
            body["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The worklog ids `/worklog/list` was asked for, sorted, after checking that each of
/// `expected` worklogs was asked for exactly once.
fn listed_once(requests: &[tollgate_sandbox::RecordedRequest], expected: usize) -> Vec<u64> {
    let mut listed = listed_worklog_ids(requests);
    let lists = listed.len();
    listed.sort_unstable();
    listed.dedup();
    assert_eq!(
        (lists, listed.len()),
        (expected, expected),
        "each worklog listed once"
    );
    listed
}

/// The issue ids the sandbox was searched for (`id in (...)`, in a query or a body), in the
/// order asked.
fn searched_by_id(sandbox: &Sandbox) -> Vec<u64> {
    sandbox
        .requests()
        .iter()
        .filter_map(|r| {
            let text = format!(
                "{} {}",
                r.query.as_deref().unwrap_or(""),
                String::from_utf8_lossy(r.request_body.as_deref().unwrap_or(b""))
            );
            let text = text
                .replace("%20", " ")
                .replace("%28", "(")
                .replace("%29", ")")
                .replace("%2C", ",")
                .replace('+', " ");
            let list = text.split_once("id in (")?.1.split_once(')')?.0.to_string();
            Some(
                list.split(',')
                    .map(|id| id.trim().trim_matches('"').parse::<u64>().unwrap())
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect()
}

/// Every person's worklog seconds per epic in the export are the site's, exactly.
fn assert_hours_as_on_the_site(doc: &Value, sandbox: &Sandbox, face: JiraFace) {
    let truth = sandbox.jira().seconds_by_person_and_epic(flavour(face));
    assert_eq!(
        seconds_by_person_and_epic(doc),
        truth,
        "{face:?}: every person's hours per epic as on the site"
    );
}

fn seconds_by_person_and_epic(doc: &Value) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for r in records(doc, "time-entry") {
        let e = &r["entity"]["data"];
        let key = (
            e["person"].as_str().unwrap().to_string(),
            e["initiative_key"].as_str().unwrap().to_string(),
        );
        *out.entry(key).or_default() += e["seconds"].as_u64().unwrap();
    }
    out
}

#[tokio::test]
async fn the_demo_site_syncs_to_its_ground_truth_on_cloud_and_data_center() {
    for (face, flavour) in [
        (JiraFace::Cloud, Flavour::Cloud),
        (JiraFace::DataCenter, Flavour::DataCenter),
    ] {
        let sandbox = sandbox().await;
        let (_dir, session, doc) = synced(&sandbox, face).await;
        let truth = sandbox.jira().clone();

        let count = |kind| records(&doc, kind).len();
        assert_eq!(count("initiative"), 25, "{face:?}");
        // Each issue is fetched once: the time-entries stream learns the issues of its
        // worklogs from the store (the work-items stream stored them under their ids), not
        // by searching for them again (`id in (...)`); it searches only for the issues of the
        // other project, which the store does not hold.
        let elsewhere: Vec<u64> = truth
            .issues
            .iter()
            .filter(|i| {
                i.key.starts_with("OPS-") && truth.worklogs.iter().any(|w| w.issue_id == i.id)
            })
            .map(|i| i.id)
            .collect();
        assert_eq!(
            searched_by_id(&sandbox),
            elsewhere,
            "{face:?}: searches only for issues the store does not hold"
        );
        assert_eq!(
            count("work-item"),
            277,
            "300 children less 25 risks, and two sub-tasks"
        );
        // The sub-tasks are BIZ-2's work, through their story.
        for r in records(&doc, "work-item") {
            let item = &r["entity"]["data"];
            if item["kind"] == "sub-task" {
                assert_eq!(item["initiative_key"], "BIZ-2", "{face:?}: {item}");
            }
        }
        assert_eq!(
            records(&doc, "work-item")
                .iter()
                .filter(|r| r["entity"]["data"]["kind"] == "sub-task")
                .count(),
            2
        );
        assert_eq!(count("sprint"), 42, "14 sprints on each of 3 scrum boards");
        // The site's worklogs but the operations project's own: those on its story under a
        // portfolio epic count, the rest are not the portfolio's.
        assert_eq!(count("time-entry"), truth.portfolio_worklogs());
        assert!(truth.portfolio_worklogs() < truth.worklogs.len());
        assert!(
            records(&doc, "time-entry")
                .iter()
                .any(|r| r["entity"]["data"]["work_item_key"] == "OPS-3"),
            "{face:?}: the hours of another project's story under a portfolio epic"
        );
        // BIZ-14, 22 and 24 keep their decisions in the epic; every epic's history says
        // when it entered each gate.
        let decided = |d: &str| {
            records(&doc, "gate-decision")
                .into_iter()
                .filter(|r| (r["entity"]["data"]["decision"] == "entered") == (d == "entered"))
                .count()
        };
        assert_eq!(decided("go"), 3);
        assert_eq!(decided("entered"), gate_moves(&truth).len(), "{face:?}");
        assert_eq!(gate_moves(&truth).len(), 37);
        assert!(truth.worklogs.len() > 4000);

        // Worklog seconds per person per epic, exactly.
        assert_eq!(
            seconds_by_person_and_epic(&doc),
            truth.seconds_by_person_and_epic(flavour)
        );

        // A sample of exact values.
        let biz9 = initiative(&doc, "BIZ-9");
        let e = &biz9["entity"]["data"];
        assert_eq!(e["title"], "Savings goals");
        assert_eq!(e["demand_type"], "increments-and-improvements");
        assert_eq!(e["development_type"], "incremental");
        assert_eq!(e["value_stream"], "Retail banking");
        assert_eq!(e["current_gate"], "G3");
        assert_eq!(e["cost_of_delay"], 20000.0);
        assert_eq!(
            e["job_size"], 5.0,
            "a numeric option of the Job Size select"
        );
        assert_eq!(e["status_category"], "in-progress");
        assert_eq!(e["planned_end"], "2027-02-26");
        // The KPI's measurements over time: two from its history, the latest in its fields.
        assert_eq!(
            e["kpis"][0]["measurements"],
            serde_json::json!([
                ["2026-08-03", 5.0],
                ["2026-10-01", 10.0],
                ["2026-11-02", 17.0]
            ])
        );
        assert_eq!(
            entered(&doc, "BIZ-9"),
            [
                ("G1", "2026-02-20"),
                ("G2", "2026-05-20"),
                ("G3", "2026-09-16")
            ]
            .map(|(g, d)| (g.to_string(), d.to_string()))
        );
        assert_eq!(e["risks"][0]["mitigation"], "Pair on every change");
        assert_eq!(e["risks"][0]["owner"], truth.users[0].display_name.as_str());
        assert_eq!(
            biz9["provenance"]["url"],
            match face {
                JiraFace::Cloud => "http://sandbox/jira-cloud/browse/BIZ-9",
                JiraFace::DataCenter => "http://sandbox/jira-dc/browse/BIZ-9",
            }
        );
        // The epic type is not called "Epic": epics are found by hierarchy level.
        assert_eq!(truth.issues[0].issue_type, 0);
        // BIZ-20's job size is "XL": not a number, kept in extra and reported.
        let biz20 = initiative(&doc, "BIZ-20");
        assert!(biz20["entity"]["data"]["job_size"].is_null());
        assert_eq!(biz20["extra"]["job-size"]["value"], "XL");
        let store = session.store().unwrap();
        let diagnostics = store.current_diagnostics().unwrap();
        assert!(
            diagnostics.iter().any(|(_, d)| d.code == "mistyped-value"
                && d.message.contains("BIZ-20")
                && d.message.contains("the option \"XL\"")),
            "{diagnostics:?}"
        );
        let decision = records(&doc, "gate-decision")
            .into_iter()
            .find(|r| r["entity"]["data"]["initiative_key"] == "BIZ-22")
            .unwrap();
        assert_eq!(decision["entity"]["data"]["decision"], "go");
        assert_eq!(decision["entity"]["data"]["date"], "2026-11-02");
        assert_eq!(decision["entity"]["data"]["decider"], "Portfolio steering");
        // "Blocks" links between epics are dependencies, read once from the providing epic;
        // accepted when the provider carries the label. "Relates" links are not.
        let mut deps: Vec<(String, String, Value)> = records(&doc, "dependency")
            .into_iter()
            .map(|r| {
                let d = &r["entity"]["data"];
                (
                    d["from_key"].as_str().unwrap().to_string(),
                    d["to_key"].as_str().unwrap().to_string(),
                    d["accepted"].clone(),
                )
            })
            .collect();
        deps.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        assert_eq!(
            deps,
            [
                ("BIZ-2".into(), "BIZ-4".into(), Value::Bool(false)),
                ("BIZ-3".into(), "BIZ-6".into(), Value::Bool(true)),
                ("BIZ-9".into(), "BIZ-1".into(), Value::Bool(false)),
            ],
            "{face:?}"
        );
        // Children link to their epic: parent on Cloud, Epic Link on Data Center.
        let child = records(&doc, "work-item")
            .into_iter()
            .find(|r| r["entity"]["data"]["key"] == "BIZ-26")
            .unwrap();
        assert_eq!(child["entity"]["data"]["initiative_key"], "BIZ-1");
        assert_eq!(child["entity"]["data"]["kind"], "story");
        // Sprint membership, from objects on Cloud and from strings on Data Center.
        let in_sprint = records(&doc, "work-item")
            .into_iter()
            .filter(|r| {
                !r["entity"]["data"]["sprint_ids"]
                    .as_array()
                    .unwrap()
                    .is_empty()
            })
            .count();
        assert_eq!(
            in_sprint,
            truth
                .issues
                .iter()
                .filter(|i| !i.sprints.is_empty())
                .count()
        );

        // How it asked: the right search for the deployment, never the embedded worklogs.
        let requests = sandbox.requests();
        let cloud = face == JiraFace::Cloud;
        assert!(requests.iter().all(|r| {
            let old_search =
                r.path.ends_with("/rest/api/2/search") || r.path.ends_with("/rest/api/3/search");
            if cloud {
                !old_search
            } else {
                !r.path.ends_with("/search/jql")
            }
        }));
        assert!(requests.iter().all(|r| {
            !String::from_utf8_lossy(r.request_body.as_deref().unwrap_or_default())
                .contains("\"worklog\"")
        }));
        assert!(
            requests.iter().all(|r| r.status < 400),
            "no refused request"
        );
        assert_faithful(&sandbox);
    }
}

/// Every move of an epic's Gate field in the sandbox's history: (key, gate, day in UTC).
fn gate_moves(truth: &tollgate_sandbox::jira::data::Dataset) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for i in truth.issues.iter().filter(|i| i.parent.is_none()) {
        for c in &i.history {
            for item in c.items.iter().filter(|x| x.field == "Gate") {
                let day = tollgate_sandbox::time::jira_timestamp(c.at)[..10].to_string();
                out.push((i.key.clone(), item.to.clone().unwrap(), day));
            }
        }
    }
    out
}

/// The gates an initiative entered, as synced: (gate, day), oldest first.
fn entered(doc: &Value, key: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = records(doc, "gate-decision")
        .into_iter()
        .map(|r| &r["entity"]["data"])
        .filter(|d| d["initiative_key"] == key && d["decision"] == "entered")
        .map(|d| {
            (
                d["gate"].as_str().unwrap().to_string(),
                d["date"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

#[tokio::test]
async fn an_epics_history_is_read_whole_even_where_a_search_embeds_only_its_latest_entries() {
    for face in [JiraFace::Cloud, JiraFace::DataCenter] {
        let sandbox = sandbox().await;
        // 50 later edits push BIZ-9's gate moves out of the 20 entries Cloud embeds in a
        // search and the 40 of a bulk fetch (a full pass reads epics by id, in bulk); its KPI
        // is measured once more on a new day, and once with a value that is not a number.
        let now = sandbox.now_ms();
        {
            let mut d = sandbox.jira();
            for n in 0..50 {
                assert!(d.edit_summary(
                    "BIZ-9",
                    &format!("Savings goals ({n})"),
                    now - 40_000_000 + n
                ));
            }
            // One edit of both fields, as a person makes it in the epic.
            assert!(d.set_fields(
                "BIZ-9",
                &[
                    ("KPI Actual", Some(FieldValue::Number(19.0))),
                    (
                        "KPI Measured On",
                        Some(FieldValue::Date("2026-11-25".into()))
                    ),
                ],
                now
            ));
            assert!(d.set_field(
                "BIZ-10",
                "KPI Actual",
                Some(FieldValue::Text("n/a".into())),
                now
            ));
        }
        let (_dir, session, doc) = synced(&sandbox, face).await;
        assert_eq!(
            entered(&doc, "BIZ-9"),
            [
                ("G1", "2026-02-20"),
                ("G2", "2026-05-20"),
                ("G3", "2026-09-16")
            ]
            .map(|(g, d)| (g.to_string(), d.to_string())),
            "{face:?}"
        );
        // Two edits on the same day are one measurement; the fields hold the latest.
        let biz9 = &initiative(&doc, "BIZ-9")["entity"]["data"];
        assert_eq!(
            biz9["kpis"][0]["measurements"],
            serde_json::json!([
                ["2026-08-03", 5.0],
                ["2026-10-01", 10.0],
                ["2026-11-02", 17.0],
                ["2026-11-25", 19.0]
            ]),
            "{face:?}"
        );
        // A value that is not a number is reported, naming the epic; the rest is kept.
        let store = session.store().unwrap();
        let diagnostics = store.current_diagnostics().unwrap();
        assert!(
            diagnostics.iter().any(|(_, d)| d.code == "mistyped-value"
                && d.message
                    .contains("BIZ-10: its history sets `kpi-actual` to \"n/a\"")),
            "{diagnostics:?}"
        );
        // Cloud read the rest of BIZ-9's history from its changelog resource, and only its.
        let pages: Vec<String> = sandbox
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/changelog"))
            .map(|r| r.path.clone())
            .collect();
        match face {
            JiraFace::Cloud => {
                assert_eq!(pages.len(), 1, "{pages:?}");
                assert!(pages[0].ends_with("/rest/api/3/issue/10009/changelog"));
            }
            JiraFace::DataCenter => assert!(pages.is_empty(), "{pages:?}"),
        }
        assert_faithful(&sandbox);
    }
}

#[tokio::test]
async fn faults_on_the_wire_change_nothing_in_the_export() {
    let clean = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    jira_config(dir.path(), &clean, JiraFace::Cloud, "");
    let reference = session(dir.path()).await;
    sync_all(&reference, None, SyncFlags::default())
        .await
        .unwrap();
    let expected = export(&reference, &clean);

    let faulty = sandbox().await;
    faulty.set_faults(Some(
        "429=0.08,503=0.08,drop=0.06,truncate=0.05,slow=0.05,slow-ms=100,retry-after=1,seed=5"
            .parse()
            .unwrap(),
    ));
    let dir = tempfile::tempdir().unwrap();
    jira_config(dir.path(), &faulty, JiraFace::Cloud, "");
    let session = session(dir.path()).await;
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    let [rate_limited, unavailable, dropped, truncated, _slow, ..] = faulty.faults_injected();
    assert!(
        rate_limited > 0 && unavailable > 0 && dropped > 0 && truncated > 0,
        "each kind of fault happened: {:?}",
        faulty.faults_injected()
    );
    assert_eq!(export(&session, &faulty), expected, "identical export");
    let stats = session.runtime.stats();
    assert!(stats.rate_limit_waits.get() >= rate_limited);
    assert!(stats.http_retries.get() > 0);
    // Every 429 was followed by a wait of at least its Retry-After (1 s).
    let requests = faulty.requests();
    assert!(requests.iter().any(|r| r.status == 429));
    assert_faithful(&faulty);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_changed_during_a_full_pass_after_it_was_read_is_read_by_the_next_sync() {
    // 200 epics: 2,000 stories, two calls of the work-items pass (1,500 issues a call), a
    // tracker 100 ms away. X, the first story in key order, is changed once its bulk fetch is
    // answered; Y, the last, two minutes later, before it is read. Keeping the newest
    // `updated` among the issues read would make Y's the watermark, and the next sync would
    // never ask for X again; the pass's watermark is the project's newest as it began.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = recording_synthetic(dir.path(), 200, 100).await;
    let session = session(dir.path()).await;
    let (x, y) = {
        let d = sandbox.jira();
        let mut stories: Vec<(u64, String, u64)> = d
            .issues
            .iter()
            .filter(|i| i.parent.is_some() && i.issue_type != 4)
            .map(|i| {
                let n = i.key.rsplit('-').next().unwrap().parse::<u64>().unwrap();
                (n, i.key.clone(), i.id)
            })
            .collect();
        stories.sort();
        let (first, last) = (stories[0].clone(), stories[stories.len() - 1].clone());
        ((first.1, first.2), (last.1, last.2))
    };
    let fetched = |id: u64| {
        let id = format!("\"{id}\"");
        move |r: &tollgate_sandbox::RecordedRequest| {
            r.path.ends_with("/issue/bulkfetch")
                && r.request_body
                    .as_ref()
                    .is_some_and(|b| String::from_utf8_lossy(b).contains(&id))
        }
    };
    let change = async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !sandbox.requests().iter().any(fetched(x.1)) {
            assert!(std::time::Instant::now() < deadline, "X was never fetched");
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let changed = std::time::Instant::now();
        let now = sandbox.now_ms();
        let mut d = sandbox.jira();
        assert!(d.edit_summary(&x.0, "X renamed during the pass", now));
        assert!(d.edit_summary(&y.0, "Y renamed during the pass", now + 120_000));
        changed
    };
    let (summary, changed) = tokio::join!(sync_one(&session), change);
    assert_eq!(summary.stream("work-items").unwrap().written, 2_000);
    let y_read = sandbox
        .requests()
        .into_iter()
        .find(fetched(y.1))
        .expect("Y fetched");
    assert!(
        y_read.received > changed,
        "the test needs Y read after the change"
    );
    let title = |doc: &Value, key: &str| {
        records(doc, "work-item")
            .into_iter()
            .find(|r| r["entity"]["data"]["key"] == key)
            .map(|r| r["entity"]["data"]["title"].as_str().unwrap().to_string())
            .unwrap()
    };
    let doc = export(&session, &sandbox);
    assert_ne!(
        title(&doc, &x.0),
        "X renamed during the pass",
        "read before"
    );
    assert_eq!(title(&doc, &y.0), "Y renamed during the pass", "read after");

    sync_one(&session).await;
    let doc = export(&session, &sandbox);
    assert_eq!(
        title(&doc, &x.0),
        "X renamed during the pass",
        "the next sync reads X again"
    );
}

#[tokio::test]
async fn an_incremental_sync_asks_only_for_what_changed() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    jira_config(dir.path(), &sandbox, JiraFace::Cloud, "");
    let session = session(dir.path()).await;
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();

    // The watermark of a full pass is the project's newest `updated` as the pass began:
    // issues updated in that minute are read again (JQL has minute precision).
    let minute = |t: i64| t - t.rem_euclid(60_000);
    let (boundary_epics, boundary_children) = {
        let d = sandbox.jira();
        let newest = d.issues.iter().map(|i| minute(i.updated)).max().unwrap();
        let in_newest = |epics: bool| {
            d.issues
                .iter()
                .filter(|i| minute(i.updated) == newest)
                .filter(|i| i.parent.is_none() == epics && i.issue_type != 4)
                .count() as u64
        };
        (in_newest(true), in_newest(false))
    };

    // Change 5 issues and 10 worklogs, delete 2 worklogs.
    let now = sandbox.now_ms();
    let (edited, deleted): (Vec<u64>, Vec<u64>) = {
        let mut d = sandbox.jira();
        for key in ["BIZ-30", "BIZ-75", "BIZ-120", "BIZ-200", "BIZ-250"] {
            assert!(d.edit_summary(key, &format!("{key} renamed"), now));
        }
        let ids: Vec<u64> = d.worklogs.iter().step_by(400).map(|w| w.id).collect();
        let (edit, delete) = (ids[..10].to_vec(), ids[10..12].to_vec());
        for id in &edit {
            assert!(d.edit_worklog(*id, 4 * 3600, now));
        }
        for id in &delete {
            assert!(d.delete_worklog(*id, now));
        }
        (edit, delete)
    };

    // Within the minute Jira hides recent worklog changes: none is seen yet, and the
    // watermark does not pass them.
    sandbox.clear_requests();
    let summary = sync_one(&session).await;
    let stream = |name: &str| summary.stream(name).unwrap().clone();
    assert_eq!(stream("work-items").written, 5 + boundary_children);
    assert_eq!(
        stream("initiatives").written,
        boundary_epics,
        "epics: only the boundary minute"
    );
    assert_eq!(
        (
            stream("time-entries").written,
            stream("time-entries").deleted
        ),
        (0, 0)
    );

    // A minute later they are.
    let summary = sync_past_the_minute(&session, &sandbox).await;
    let entries = summary
        .streams
        .iter()
        .find(|s| s.stream == "time-entries")
        .unwrap();
    assert_eq!((entries.written, entries.deleted), (10, 2));
    let requests = sandbox.requests();
    let listed = listed_worklog_ids(&requests);
    let mut sorted = edited.clone();
    sorted.sort_unstable();
    assert_eq!(listed, sorted, "only the changed worklogs were fetched");
    assert!(
        requests.len() <= 16,
        "a handful of requests, not a re-read: {}",
        requests.len()
    );

    let doc = export(&session, &sandbox);
    let truth = sandbox.jira().clone();
    assert_eq!(
        records(&doc, "time-entry").len(),
        truth.portfolio_worklogs()
    );
    assert_eq!(
        seconds_by_person_and_epic(&doc),
        truth.seconds_by_person_and_epic(Flavour::Cloud)
    );
    assert!(records(&doc, "time-entry").iter().all(|r| {
        !deleted.contains(
            &r["provenance"]["external_id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        )
    }));
    let renamed = records(&doc, "work-item")
        .into_iter()
        .find(|r| r["entity"]["data"]["key"] == "BIZ-75")
        .unwrap();
    assert_eq!(renamed["entity"]["data"]["title"], "BIZ-75 renamed");
    assert_faithful(&sandbox);
}

fn comment_writes(sandbox: &Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.path.contains("/comment") && matches!(r.method.as_str(), "POST" | "PUT"))
        .count()
}

#[tokio::test]
async fn publishing_keeps_one_comment_per_initiative_and_repeats_nothing() {
    for face in [JiraFace::Cloud, JiraFace::DataCenter] {
        let sandbox = sandbox().await;
        let dir = tempfile::tempdir().unwrap();
        demo_config(
            dir.path(),
            &sandbox,
            face,
            "[publish]\ndashboard_url = \"https://dmo.example/\"\n",
        );
        let session = session(dir.path()).await;
        sync_all(&session, None, SyncFlags::default())
            .await
            .unwrap();
        let mut store = session.store().unwrap();
        let outcome = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
        let with_findings: std::collections::BTreeSet<String> = outcome
            .findings
            .iter()
            .filter(|f| f.finding.subject.kind == tollgate_dmo::rules::SubjectKind::Initiative)
            .filter(|f| f.finding.subject.key.starts_with("BIZ-"))
            .map(|f| f.finding.subject.key.clone())
            .collect();
        assert_eq!(with_findings.len(), 12, "Jira's epics: {with_findings:?}");

        // A dry run writes nothing.
        sandbox.clear_requests();
        let planned =
            tollgate_host::publish::publish(&session, store.as_mut(), None, true, "2026-11-27")
                .await
                .unwrap();
        assert!(
            planned.iter().all(|o| o.result == Published::Planned),
            "{planned:?}"
        );
        assert_eq!(comment_writes(&sandbox), 0);

        let first =
            tollgate_host::publish::publish(&session, store.as_mut(), None, false, "2026-11-27")
                .await
                .unwrap();
        assert!(
            first.iter().all(|o| o.result == Published::Created),
            "{first:?}"
        );
        {
            let d = sandbox.jira();
            for issue in &d.issues {
                let ours = issue.comments.len();
                let expected = usize::from(with_findings.contains(&issue.key));
                assert_eq!(
                    ours, expected,
                    "{}: one comment per initiative with findings",
                    issue.key
                );
            }
            let biz2 = d.issue("BIZ-2").unwrap();
            let body = &biz2.comments[0].body;
            let text = match face {
                JiraFace::Cloud => tollgate_sandbox::jira::adf_text(body),
                JiraFace::DataCenter => tollgate_sandbox::jira::wiki_text(body.as_str().unwrap()),
            };
            assert!(text.contains("DEM-005"), "{text}");
            assert!(text.contains("[tollgate:findings]"));
            // It says what to do, who acts, by when, and where to read more; severities are
            // words in the tracker's bold, never upper case.
            assert!(
                text.contains(
                    "How to fix: Fill Cost of Delay on the epic, or all four WSJF fields"
                ),
                "{text}"
            );
            assert!(
                text.contains("Please deal with them before the next steering on 2026-12-11. Details: https://dmo.example/initiatives/BIZ-2"),
                "{text}"
            );
            assert!(!text.contains("BLOCKER"), "{text}");
            // An initiative in delivery with a throughput of its own carries its forecast.
            let biz22 = &d.issue("BIZ-22").unwrap().comments[0].body;
            let forecast = match face {
                JiraFace::Cloud => tollgate_sandbox::jira::adf_text(biz22),
                JiraFace::DataCenter => tollgate_sandbox::jira::wiki_text(biz22.as_str().unwrap()),
            };
            assert!(
                forecast.contains(
                    "Delivery forecast from its throughput: half the simulated runs finish by 2027-"
                ),
                "{forecast}"
            );
            assert!(
                !text.contains("Delivery forecast"),
                "BIZ-2 has too little history for one: {text}"
            );
            match face {
                JiraFace::Cloud => assert!(
                    body.to_string().contains(
                        r#"{"marks":[{"type":"strong"}],"text":"blocker","type":"text"}"#
                    ),
                    "{body}"
                ),
                JiraFace::DataCenter => assert!(text.contains("* *blocker* GATE-001"), "{text}"),
            }
            assert!(
                biz2.comments[0]
                    .properties
                    .contains_key("tollgate.findings")
            );
        }

        // Nothing changed: nothing is written.
        sandbox.clear_requests();
        let again =
            tollgate_host::publish::publish(&session, store.as_mut(), None, false, "2026-11-27")
                .await
                .unwrap();
        assert!(
            again.iter().all(|o| o.result == Published::Unchanged),
            "{again:?}"
        );
        assert_eq!(comment_writes(&sandbox), 0);

        // BIZ-12 gets its demand type: its one finding resolves, and its comment says so.
        let now = sandbox.now_ms();
        sandbox.jira().set_field(
            "BIZ-12",
            "Demand Type",
            Some(FieldValue::Option("Increments and improvements".into())),
            now,
        );
        sync_all(&session, None, SyncFlags::default())
            .await
            .unwrap();
        let after = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
        assert_eq!(after.changes.resolved, 1, "{:?}", after.changes);
        sandbox.clear_requests();
        let third =
            tollgate_host::publish::publish(&session, store.as_mut(), None, false, "2026-11-27")
                .await
                .unwrap();
        let biz12: Vec<_> = third.iter().filter(|o| o.subject == "BIZ-12").collect();
        assert!(
            biz12.iter().all(|o| o.result == Published::Updated),
            "{biz12:?}"
        );
        assert!(
            third
                .iter()
                .filter(|o| o.subject != "BIZ-12")
                .all(|o| o.result == Published::Unchanged)
        );
        let d = sandbox.jira();
        let biz12 = d.issue("BIZ-12").unwrap();
        assert_eq!(biz12.comments.len(), 1, "edited in place");
        let text = match face {
            JiraFace::Cloud => tollgate_sandbox::jira::adf_text(&biz12.comments[0].body),
            JiraFace::DataCenter => {
                tollgate_sandbox::jira::wiki_text(biz12.comments[0].body.as_str().unwrap())
            }
        };
        assert!(text.contains("all findings are resolved"), "{text}");
        assert!(
            text.contains("DEM-001 Demand type set: fixed since the last steering, thank you."),
            "the fix is acknowledged: {text}"
        );
        drop(d);
        assert_faithful(&sandbox);
    }
}

#[tokio::test]
async fn a_site_that_keeps_throttling_gets_bounded_retries_and_a_clear_error() {
    let sandbox = sandbox().await;
    sandbox.set_faults(Some(
        "429=1,max-in-row=100000,retry-after=0".parse().unwrap(),
    ));
    let dir = tempfile::tempdir().unwrap();
    jira_config(dir.path(), &sandbox, JiraFace::Cloud, "");
    let session = session(dir.path()).await;
    let err = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap_err();
    let text = format!("{:#}", err.error);
    assert!(
        text.contains("rate limited") && text.contains("429"),
        "{text}"
    );
    // The first page of a full pass asks for the site's fields, its issue types and the
    // pass's watermark side by side; the host tries each request 1 + 4 times; the sync tries
    // the page 1 + 3 times.
    let requests = sandbox.requests();
    assert_eq!(requests.len(), 3 * 5 * 4, "bounded, not forever");
    assert!(requests.iter().all(|r| r.status == 429));
    // Every 429 but the last was waited out: by the host after each of a request's first four
    // answers, by the sync before each of the page's three tries again.
    assert_eq!(
        session.runtime.stats().rate_limit_waits.get(),
        3 * 4 * 4 + 3
    );
    let store = session.store().unwrap();
    let runs = store.runs(Some("jira"), 1).unwrap();
    assert_eq!(runs[0].status, tollgate_store::RunStatus::Failed);
}

#[tokio::test]
async fn after_a_run_that_ended_well_every_stream_starts_at_once_and_after_a_failed_one_the_site_is_asked_first()
 {
    // A tracker 30 ms away, room for every stream's requests at once.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = roomy_synthetic(dir.path(), 5, 30).await;
    let session = session(dir.path()).await;
    // When the sprints stream sent its first request, against the site's first answer.
    let sprints_waited = || {
        let requests = sandbox.requests();
        let first_answer = requests.iter().map(|r| r.answered).min().unwrap();
        let boards = requests
            .iter()
            .filter(|r| r.path.ends_with("/agile/1.0/board"))
            .map(|r| r.received)
            .min()
            .expect("the sprints stream asked for the boards");
        boards >= first_answer
    };

    // The first run: the site has answered nothing yet, so the other streams wait for its
    // first answer.
    sandbox.clear_requests();
    sync_one(&session).await;
    assert!(sprints_waited(), "the first run asks the site once first");

    // The last run ended well: every stream starts at once.
    sync_past_the_minute(&session, &sandbox).await;
    assert!(
        !sprints_waited(),
        "after a good run the streams start together"
    );

    // A run that fails (the site throttles throughout; trusted after the good run, each
    // stream asked it), then one after it: the site is asked once first again.
    sandbox.set_faults(Some(
        "429=1,max-in-row=100000,retry-after=0".parse().unwrap(),
    ));
    assert!(
        sync_all(&session, None, SyncFlags::default())
            .await
            .is_err()
    );
    sandbox.set_faults(None);
    sync_past_the_minute(&session, &sandbox).await;
    assert!(
        sprints_waited(),
        "after a failed run the site is asked once first"
    );
}

/// The searches of the issue streams among these requests: whose ("epics" or "stories"), and
/// the request.
fn issue_searches(
    requests: &[tollgate_sandbox::RecordedRequest],
) -> Vec<(&'static str, &tollgate_sandbox::RecordedRequest)> {
    requests
        .iter()
        .filter(|r| r.path.ends_with("/search/jql"))
        .filter_map(|r| {
            let body: Value = serde_json::from_slice(r.request_body.as_ref().unwrap()).unwrap();
            let jql = body["jql"].as_str().unwrap();
            if jql.contains("issuetype not in") {
                Some(("stories", r))
            } else if jql.contains("issuetype in") && !jql.contains(" in (SYN-") {
                Some(("epics", r))
            } else {
                None
            }
        })
        .collect()
}

#[tokio::test]
async fn an_incremental_pass_searches_beside_asking_the_site_its_fields_and_again_if_they_changed()
{
    // A tracker 30 ms away, so that requests sent together are seen together.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = roomy_synthetic(dir.path(), 10, 30).await;
    let session = session(dir.path()).await;
    sync_one(&session).await;

    // Nothing changed: each issue stream's search went out beside `/field`, once.
    sync_past_the_minute(&session, &sandbox).await;
    let requests = sandbox.requests();
    let searches = issue_searches(&requests);
    let streams: Vec<_> = searches.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        streams.len(),
        2,
        "one search of epics, one of stories: {streams:?}"
    );
    for (stream, search) in &searches {
        assert!(
            requests
                .iter()
                .filter(|r| r.path.ends_with("/field"))
                .any(|f| f.in_flight_with(search)),
            "the {stream}' search waited for the site's fields"
        );
    }

    // The config now reads "user business value" from the field "Time Criticality", and an
    // epic changed: the search made with the remembered fields is dropped, the pass searches
    // again with the site's fields as configured now, and the epic is read through them.
    let key = "SYN-1";
    let now = sandbox.now_ms();
    assert!(sandbox.jira().edit_summary(key, "SYN-1 renamed", now));
    let config = std::fs::read_to_string(dir.path().join("tollgate.toml")).unwrap();
    let moved = config.replace(
        "project = \"SYN\" }",
        "project = \"SYN\", fields = { business-value = \"Time Criticality\" } }",
    );
    assert_ne!(
        moved, config,
        "the settings are where this test expects them"
    );
    std::fs::write(dir.path().join("tollgate.toml"), moved).unwrap();
    let session = tollgate_tests::open_session(dir.path()).await;
    let summary = sync_past_the_minute(&session, &sandbox).await;
    assert!(summary.stream("initiatives").unwrap().written >= 1);
    let requests = sandbox.requests();
    let epics = issue_searches(&requests)
        .into_iter()
        .filter(|(s, _)| *s == "epics")
        .count();
    assert_eq!(
        epics, 2,
        "the epics' search asked again after the fields changed"
    );
    let doc = export(&session, &sandbox);
    let epic = &initiative(&doc, key)["entity"]["data"];
    assert!(epic["time_criticality"].is_number(), "{epic}");
    assert_eq!(epic["title"], "SYN-1 renamed");
    assert_eq!(
        epic["user_business_value"], epic["time_criticality"],
        "read through the field now configured"
    );
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn the_sandbox_changes_a_share_of_its_data_over_http_for_an_incremental_sync() {
    let sandbox = sandbox().await;
    // Its look-ups built before the first request, not by it: a benchmark's first step does
    // not pay for them.
    assert!(
        sandbox.jira_index_built(),
        "the index is built at the start"
    );
    let dir = tempfile::tempdir().unwrap();
    jira_config(dir.path(), &sandbox, JiraFace::Cloud, "");
    let session = session(dir.path()).await;
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();

    // From outside, as a benchmark script would: change 2 % of the data, then move the clock
    // past the minute Jira leaves out of /worklog/updated.
    let client = reqwest::Client::new();
    let base = format!("http://{}", sandbox.addr());
    let post = |path: String| {
        let client = client.clone();
        async move {
            let answer = client.post(path).send().await.unwrap();
            let status = answer.status().as_u16();
            let body: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
            (status, body)
        }
    };
    let (status, changed) = post(format!("{base}/_sandbox/change?share=0.02")).await;
    assert_eq!(status, 200, "{changed}");
    // Built again before the answer, so the incremental sync measured next does not pay for
    // it on its first request.
    assert!(
        sandbox.jira_index_built(),
        "the index is built after a change"
    );
    let issues = changed["issues_changed"].as_u64().unwrap();
    let worklogs = changed["worklogs_changed"].as_u64().unwrap();
    let total_worklogs = sandbox.jira().worklogs.len() as u64;
    assert_eq!(issues, 325 / 50);
    assert_eq!(worklogs, total_worklogs / 50);
    let (status, _) = post(format!("{base}/_sandbox/clock?advance_seconds=120")).await;
    assert_eq!(status, 200);
    for bad in ["share=0", "share=2", "share=lots", ""] {
        let (status, body) = post(format!("{base}/_sandbox/change?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    let summary = sync_one(&session).await;
    let written = |name: &str| summary.stream(name).unwrap().written;
    assert_eq!(
        written("time-entries"),
        worklogs,
        "exactly the changed worklogs"
    );
    // The changed issues (risks fold into their epics), no more than the changed ones and
    // the boundary minute's.
    assert!(
        written("initiatives") + written("work-items") >= issues - 1,
        "{summary:?}"
    );
    let doc = export(&session, &sandbox);
    let edited = edited_titles(&doc) as u64;
    assert!(
        edited >= issues - 1 && edited <= issues,
        "{edited} of {issues}"
    );
}

#[tokio::test]
async fn a_search_paged_again_after_a_change_sees_the_change_and_stats_count_requests() {
    let sandbox = sandbox().await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", sandbox.addr());
    let search = || {
        let client = client.clone();
        let url = format!(
            "{}/rest/api/3/search/jql?jql=project%20%3D%20BIZ%20ORDER%20BY%20key%20ASC&fields=summary&maxResults=5",
            sandbox.jira_cloud_url()
        );
        async move {
            let answer = client
                .get(url)
                .basic_auth(
                    tollgate_sandbox::JIRA_CLOUD_USER,
                    Some(tollgate_sandbox::JIRA_CLOUD_TOKEN),
                )
                .send()
                .await
                .unwrap();
            let body: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
            body["issues"][0]["fields"]["summary"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let before = search().await;
    assert!(!before.ends_with(" (edited)"), "{before}");
    // The same query is remembered between pages; a change of the data must end that.
    let answer = client
        .post(format!("{base}/_sandbox/change?share=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(search().await, format!("{before} (edited)"));
    // And through the Rust API too.
    sandbox.jira().issues[0].summary = "Renamed by hand".into();
    assert_eq!(search().await, "Renamed by hand");

    let stats: Value = serde_json::from_str(
        &client
            .get(format!("{base}/_sandbox/stats"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        stats["requests"], 3,
        "three searches, the sandbox's own calls not counted"
    );
    assert_eq!(stats["jira_issues"], sandbox.jira().issues.len());
}

#[tokio::test]
async fn a_sandbox_keeping_no_log_still_counts_its_requests() {
    // What `tollgate sandbox` runs: it may serve for days, so it keeps no request log (which
    // grew by a kilobyte a request), yet `/_sandbox/stats` must count what it answered.
    let sandbox = Sandbox::start_with(
        "127.0.0.1:0",
        tollgate_sandbox::Options {
            latency_ms: 20,
            request_log: false,
            ..tollgate_sandbox::Options::default()
        },
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let stats = || {
        let client = client.clone();
        let url = format!("http://{}/_sandbox/stats", sandbox.addr());
        async move {
            let text = client.get(url).send().await.unwrap().text().await.unwrap();
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };
    // Answered, if refused: a request without credentials counts as any other.
    for _ in 0..3 {
        let url = format!("{}/rest/api/3/myself", sandbox.jira_cloud_url());
        assert_eq!(client.get(url).send().await.unwrap().status(), 401);
    }
    let counted = stats().await;
    assert_eq!(counted["requests"], 3, "{counted}");
    // Each waited 20 ms ±25 %: at least 15 ms in flight.
    let busy = counted["busy_seconds"].as_f64().unwrap();
    assert!(busy >= 0.045, "{counted}");
    assert!(sandbox.requests().is_empty(), "no log kept");
    sandbox.clear_requests();
    assert_eq!(stats().await["requests"], 0, "cleared");
}

#[tokio::test]
async fn publishing_many_initiatives_to_a_slow_tracker_fits_the_time_limit_side_by_side() {
    // 100 epics with findings, each answer after ~30 ms, and a 3 s limit per plugin call: one
    // call for all (a comment look-up per epic) would take 3 s; the host sends a few
    // initiatives per call instead.
    let dir = tempfile::tempdir().unwrap();
    let sandbox =
        tollgate_tests::synthetic_jira(dir.path(), 100, 30, "limits = { timeout_secs = 3 }\n")
            .await;
    let session = session(dir.path()).await;
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    let mut store = session.store().unwrap();
    run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    let planned =
        tollgate_host::publish::publish(&session, store.as_mut(), None, true, "2026-11-27")
            .await
            .unwrap();
    let subjects: std::collections::BTreeSet<&str> =
        planned.iter().map(|o| o.subject.as_str()).collect();
    assert_eq!(subjects.len(), 100, "every epic has findings");
    let failed: Vec<_> = planned
        .iter()
        .filter(|o| o.result != Published::Planned)
        .collect();
    assert!(
        failed.is_empty(),
        "{} not planned: {:?}",
        failed.len(),
        failed.first()
    );
    // The calls (25 initiatives each) run side by side, never more requests in flight than
    // the connection allows (`max_concurrent_requests`, 4 by default), and the outcomes come
    // back in the initiatives' order.
    let peak = sandbox.peak_in_flight();
    assert!(
        (2..=4).contains(&peak),
        "requests in flight at once: {peak}"
    );
    let order: Vec<&str> = planned.iter().map(|o| o.subject.as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);

    // Publishing for real, side by side: one comment per epic, and a second run posts
    // nothing. (Each initiative is a look-up and a write here, so the calls get the default
    // time limit: this part is about the calls running side by side, not about the limit.)
    let config = dir.path().join("tollgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "limits = { timeout_secs = 3 }",
            "limits = { timeout_secs = 120 }",
        ),
    )
    .unwrap();
    let session = tollgate_host::app::Session::open(&config).await.unwrap();
    publish_expecting(&session, store.as_mut(), Published::Created).await;
    {
        let d = sandbox.jira();
        let epics: Vec<_> = d
            .issues
            .iter()
            .filter(|i| subjects.contains(i.key.as_str()))
            .collect();
        assert_eq!(epics.len(), 100);
        for epic in epics {
            assert_eq!(epic.comments.len(), 1, "{}", epic.key);
        }
    }
    publish_expecting(&session, store.as_mut(), Published::Unchanged).await;
}

/// Publish for real, as of the demo's day, and assert every finding's outcome is `expected`.
async fn publish_expecting(
    session: &tollgate_host::app::Session,
    store: &mut dyn tollgate_store::Store,
    expected: Published,
) {
    let outcomes = tollgate_host::publish::publish(session, store, None, false, "2026-11-27")
        .await
        .unwrap();
    assert!(
        outcomes.iter().all(|o| o.result == expected),
        "{:?}",
        outcomes.iter().find(|o| o.result != expected)
    );
}

#[tokio::test]
async fn the_worklogs_of_a_page_are_read_each_once_beside_the_next_pages() {
    // 100 epics: 1,100 issues and about 10,000 worklogs, so several calls of `/worklog/updated`
    // pages; a tracker 150 ms away, so requests sent together are seen together, whatever the
    // host does between them (with room for them beside the other streams' requests).
    let dir = tempfile::tempdir().unwrap();
    let sandbox = roomy_synthetic(dir.path(), 100, 150).await;
    let session = session(dir.path()).await;
    let summary = sync_one(&session).await;
    let truth = sandbox.jira().worklogs.len();
    let entries = summary.stream("time-entries").unwrap();
    assert_eq!(entries.written as usize, truth);
    // Each call told the host its next cursor once its answers were in, and the host started
    // the next call then, before the page was in.
    assert!(entries.pages >= 3, "{} time-entries pages", entries.pages);
    assert_eq!(
        entries.told_ahead,
        entries.pages - 1,
        "every page after the first started on its told cursor"
    );
    let requests = sandbox.requests();
    let pages = requests
        .iter()
        .filter(|r| r.path.ends_with("/worklog/updated"))
        .count();
    assert!(pages >= 3, "{pages} pages of /worklog/updated");
    listed_once(&requests, truth);
    // Each page's worklogs were listed while the next pages were being asked for: every list
    // but those of the last pages was in flight together with an `/worklog/updated` request,
    // and those were asked for once every `/worklog/updated` page had been answered.
    let updated: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/worklog/updated"))
        .collect();
    let overlapped =
        |r: &tollgate_sandbox::RecordedRequest| updated.iter().any(|u| u.in_flight_with(r));
    let last_answer = updated.iter().map(|u| u.answered).max().unwrap();
    let lists: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/worklog/list"))
        .collect();
    let alone: Vec<_> = lists.iter().filter(|r| !overlapped(r)).collect();
    assert!(
        alone.len() < lists.len() && alone.iter().all(|r| r.received >= last_answer),
        "{} of {} lists alone",
        alone.len(),
        lists.len()
    );
    assert!(
        sandbox.peak_in_flight() <= 32,
        "within max_concurrent_requests"
    );
    // The export holds every worklog, on its issue and epic, as a sync without the overlap
    // stored it (the ground-truth test checks the demo site field by field).
    let doc = export(&session, &sandbox);
    let entries = records(&doc, "time-entry");
    assert_eq!(entries.len(), truth);
    assert!(
        entries
            .iter()
            .all(|e| e["entity"]["data"]["initiative_key"].is_string()),
        "every time entry names its epic"
    );

    // An incremental pass asks for deletions beside its first `/worklog/updated` page.
    let now = sandbox.now_ms();
    let gone: Vec<u64> = {
        let mut d = sandbox.jira();
        let ids: Vec<u64> = d
            .worklogs
            .iter()
            .step_by(500)
            .take(2)
            .map(|w| w.id)
            .collect();
        for id in &ids {
            assert!(d.delete_worklog(*id, now));
        }
        ids
    };
    let summary = sync_past_the_minute(&session, &sandbox).await;
    assert_eq!(
        summary.stream("time-entries").unwrap().deleted as usize,
        gone.len()
    );
    let requests = sandbox.requests();
    let of = |what: &str| {
        requests
            .iter()
            .filter(|r| r.path.ends_with(what))
            .collect::<Vec<_>>()
    };
    let (updated, deleted) = (of("/worklog/updated"), of("/worklog/deleted"));
    assert_eq!((updated.len(), deleted.len()), (1, 1));
    assert!(updated[0].in_flight_with(deleted[0]), "in flight together");
}

#[tokio::test]
async fn the_worklog_pages_are_read_in_stretches_side_by_side_and_nothing_hidden_is_skipped() {
    // 100 epics: about 10,000 worklogs, ten `/worklog/updated` pages in one chain. The site's
    // clock runs a year behind this machine's, so the stretches the plugin splits up to its
    // own "now" reach past the site's: those are empty, and one holds the minute Jira hides.
    // A worklog saved at the site's "now" is in that minute: not in the full pass, read by the
    // next one.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = recording_synthetic(dir.path(), 100, 20).await;
    let hidden = {
        const YEAR: i64 = 365 * 24 * 3_600_000;
        let mut d = sandbox.jira();
        for w in d.worklogs.iter_mut() {
            w.updated -= YEAR;
        }
        let now = d.worklogs.iter().map(|w| w.updated).max().unwrap() + 24 * 3_600_000;
        sandbox.set_clock(now);
        let w = &mut d.worklogs[17];
        w.updated = now;
        w.id
    };
    let session = session(dir.path()).await;
    let summary = sync_one(&session).await;
    let truth = sandbox.jira().worklogs.len();
    assert!(truth >= 9_000, "{truth} worklogs");
    assert_eq!(
        summary.stream("time-entries").unwrap().written as usize,
        truth - 1,
        "all but the hidden one"
    );
    let requests = sandbox.requests();
    let updated: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/worklog/updated"))
        .collect();
    // Pages of different stretches were in flight together...
    let side_by_side = updated.iter().any(|a| {
        updated
            .iter()
            .any(|b| a.query != b.query && a.in_flight_with(b))
    });
    assert!(side_by_side, "{} pages, one after another", updated.len());
    // ...each page asked for once, and the pass took fewer round trips than one chain would:
    // the first page alone, then the rest of the time in stretches.
    let mut sinces: Vec<_> = updated.iter().map(|r| r.query.clone()).collect();
    sinces.sort();
    sinces.dedup();
    assert_eq!(sinces.len(), updated.len(), "no page asked for twice");
    let mut waves = 0;
    let mut last: Option<std::time::Instant> = None;
    let mut by_arrival = updated.clone();
    by_arrival.sort_by_key(|r| r.received);
    for r in by_arrival {
        if last.is_none_or(|l| r.received >= l) {
            waves += 1;
            last = Some(r.answered);
        }
    }
    assert!(
        waves < truth / 1000,
        "{waves} round trips of /worklog/updated pages"
    );
    let listed = listed_once(&requests, truth - 1);
    assert!(!listed.contains(&hidden));
    assert!(
        sandbox.peak_in_flight() <= 4,
        "within max_concurrent_requests"
    );

    // Past the minute, the next (incremental) pass reads the hidden worklog; the store then
    // holds every worklog once.
    let summary = sync_past_the_minute(&session, &sandbox).await;
    assert_eq!(summary.stream("time-entries").unwrap().written, 1);
    let doc = export(&session, &sandbox);
    let mut stored: Vec<String> = records(&doc, "time-entry")
        .iter()
        .map(|r| r["provenance"]["external_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stored.len(), truth);
    stored.sort_unstable();
    stored.dedup();
    assert_eq!(stored.len(), truth);
    assert!(stored.contains(&hidden.to_string()));
}

#[tokio::test]
async fn worklog_ids_far_apart_are_listed_at_once_rather_than_overflow_the_cursor() {
    // Ids 10^15 apart: the thousands a call's pages name would pass a cursor's 64 KiB, so the
    // worklogs a call's pages name are listed in that call, and the sync still reads each once.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = recording_synthetic(dir.path(), 100, 0).await;
    // Saved an hour apart up to two minutes ago, so that each of the 8 stretches fills a page.
    {
        let now = sandbox.now_ms();
        let mut d = sandbox.jira();
        let n = d.worklogs.len() as i64;
        for (i, w) in d.worklogs.iter_mut().enumerate() {
            w.id = (i as u64 + 1) * 1_000_000_000_000_037;
            w.updated = now - 120_000 - (n - i as i64) * 3_600_000;
        }
    }
    let session = session(dir.path()).await;
    let summary = sync_one(&session).await;
    let truth = sandbox.jira().worklogs.len();
    assert_eq!(
        summary.stream("time-entries").unwrap().written as usize,
        truth
    );
    listed_once(&sandbox.requests(), truth);
}

#[tokio::test]
async fn data_center_reads_the_search_pages_after_the_first_side_by_side_and_misses_none() {
    // 100 epics: 1,000 stories, ten pages of Data Center's classic search. The first page
    // tells the hits; the pages after it are asked for together. The same site read through
    // the Cloud face is the reference.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = recording_synthetic(dir.path(), 100, 20).await;
    let cloud_session = session(dir.path()).await;
    let cloud = sync_one(&cloud_session).await;
    let cloud_doc = export(&cloud_session, &sandbox);
    let dc_dir = tempfile::tempdir().unwrap();
    jira_config(dc_dir.path(), &sandbox, JiraFace::DataCenter, "");
    let config = dc_dir.path().join("tollgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("project = \"BIZ\"", "project = \"SYN\""),
    )
    .unwrap();
    sandbox.clear_requests();
    let dc_session = session(dc_dir.path()).await;
    let dc = sync_one(&dc_session).await;
    for stream in ["initiatives", "work-items", "sprints", "time-entries"] {
        assert_eq!(
            dc.stream(stream).unwrap().written,
            cloud.stream(stream).unwrap().written,
            "{stream}"
        );
    }
    let keys = |doc: &Value| {
        let mut keys: Vec<String> = records(doc, "work-item")
            .iter()
            .map(|r| r["entity"]["data"]["key"].as_str().unwrap().to_string())
            .collect();
        keys.sort();
        keys
    };
    let dc_doc = export(&dc_session, &sandbox);
    assert_eq!(keys(&dc_doc), keys(&cloud_doc));
    assert!(keys(&dc_doc).len() >= 1_000);
    let requests = sandbox.requests();
    let searches: Vec<(String, u64, &tollgate_sandbox::RecordedRequest)> = requests
        .iter()
        .filter(|r| r.path.ends_with("/rest/api/2/search"))
        .map(|r| {
            let body: Value = serde_json::from_slice(r.request_body.as_ref().unwrap()).unwrap();
            (
                body["jql"].as_str().unwrap().to_string(),
                body["startAt"].as_u64().unwrap(),
                r,
            )
        })
        .collect();
    // Each issue stream's full pass asks for the project's newest issue once, the same search
    // (its watermark): not a page.
    let mut asked: Vec<(&str, u64)> = searches
        .iter()
        .filter(|(j, _, _)| !j.ends_with("ORDER BY updated DESC"))
        .map(|(j, s, _)| (j.as_str(), *s))
        .collect();
    let all = asked.len();
    asked.sort();
    asked.dedup();
    assert_eq!(asked.len(), all, "no page asked for twice");
    let side_by_side = searches.iter().any(|(ja, sa, a)| {
        searches
            .iter()
            .any(|(jb, sb, b)| ja == jb && sa != sb && a.in_flight_with(b))
    });
    assert!(side_by_side, "{all} search pages, one after another");
    assert!(
        sandbox.peak_in_flight() <= 4,
        "within max_concurrent_requests"
    );
}

#[tokio::test]
async fn a_full_page_of_worklogs_saved_in_one_millisecond_is_reported_not_skipped_in_silence() {
    // A bulk import saved 1,200 worklogs in the same millisecond: Jira's /worklog/updated
    // answers 1,000 of them and then pages on from after that moment, so 200 cannot be read.
    let sandbox = sandbox().await;
    let moment = {
        let mut d = sandbox.jira();
        let moment = d.worklogs[0].updated;
        for w in d.worklogs.iter_mut().take(1200) {
            w.updated = moment;
        }
        moment
    };
    let dir = tempfile::tempdir().unwrap();
    jira_config(dir.path(), &sandbox, JiraFace::Cloud, "");
    let session = session(dir.path()).await;
    let summary = sync_one(&session).await;
    assert!(
        summary.stream("time-entries").unwrap().diagnostics >= 1,
        "{summary:?}"
    );
    let diagnostics = session.store().unwrap().current_diagnostics().unwrap();
    assert!(
        diagnostics
            .iter()
            .any(|(_, d)| d.code == "worklogs-same-moment"
                && d.message.contains(&moment.to_string())
                && d.message.contains("1000 worklogs")),
        "{diagnostics:?}"
    );
}

/// The ids of the sandbox site's stories.
fn story_ids(sandbox: &Sandbox) -> Vec<u64> {
    sandbox
        .jira()
        .issues
        .iter()
        .filter(|i| tollgate_sandbox::jira::data::ISSUE_TYPES[i.issue_type].name == "Story")
        .map(|i| i.id)
        .collect()
}

/// The JQL of the searches that asked for ids only: the first step of reading issues in bulk.
fn id_search_jqls(requests: &[tollgate_sandbox::RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.path.ends_with("/search/jql"))
        .filter_map(|r| {
            let body: Value = serde_json::from_slice(r.request_body.as_ref().unwrap()).unwrap();
            (body["fields"] == serde_json::json!(["id"]))
                .then(|| body["jql"].as_str().unwrap().to_string())
        })
        .collect()
}

/// The ids a bulk fetch asked for.
fn bulk_fetched_ids(request: &tollgate_sandbox::RecordedRequest) -> Vec<String> {
    let body: Value = serde_json::from_slice(request.request_body.as_ref().unwrap()).unwrap();
    body["issueIdsOrKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_stories_are_read_by_id_in_bulk_fetches_side_by_side_and_a_failed_one_is_asked_again() {
    // 30 epics: 300 stories below them, bulk fetches of 100; a tracker 30 ms away, so
    // requests sent together are seen together (with room for them beside the other
    // streams' requests).
    let dir = tempfile::tempdir().unwrap();
    let sandbox = roomy_synthetic(dir.path(), 30, 30).await;
    let stories = story_ids(&sandbox);
    assert!(stories.len() >= 300, "{} stories", stories.len());
    let epics = {
        let d = sandbox.jira();
        d.issues
            .iter()
            .filter(|i| {
                tollgate_sandbox::jira::data::ISSUE_TYPES[i.issue_type].hierarchy_level == 1
            })
            .count()
    };
    assert_eq!(epics, 30);
    let session = session(dir.path()).await;
    let summary = sync_one(&session).await;
    let work_items = summary.stream("work-items").unwrap().written as usize;
    let requests = sandbox.requests();
    let fetches: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/issue/bulkfetch"))
        .collect();
    let mut asked: Vec<String> = fetches.iter().flat_map(|r| bulk_fetched_ids(r)).collect();
    assert!(fetches.iter().all(|r| bulk_fetched_ids(r).len() <= 100));
    let n = asked.len();
    asked.sort();
    asked.dedup();
    // The epics are read the same way, by the initiatives stream.
    assert_eq!(
        (n, asked.len()),
        (work_items + epics, work_items + epics),
        "each story and epic asked for once"
    );
    let doc = export(&session, &sandbox);
    assert_eq!(records(&doc, "work-item").len(), work_items);
    for id in &stories {
        assert!(asked.contains(&id.to_string()), "story {id} fetched");
    }
    // Side by side: the stories' bulk fetches were in flight together (the epics' one, of
    // 30, is alone in its page), and never more than the connection's
    // `max_concurrent_requests` (32) requests at once.
    let fetches: Vec<_> = fetches
        .into_iter()
        .filter(|r| stories.contains(&bulk_fetched_ids(r)[0].parse().unwrap()))
        .collect();
    assert_eq!(fetches.len(), 3);
    let beside = fetches
        .iter()
        .filter(|r| {
            fetches.iter().any(|o| {
                !std::ptr::eq::<tollgate_sandbox::RecordedRequest>(**r, *o) && o.in_flight_with(r)
            })
        })
        .count();
    assert!(
        beside * 10 >= fetches.len() * 9,
        "{beside} of {}",
        fetches.len()
    );
    assert!(sandbox.peak_in_flight() <= 32);
    // The streams are pulled side by side: the sprints' and the time entries' first requests
    // went out before the stories were all read; and yet (above) no story was asked for
    // twice: the time entries' look-up of the worklogs' issues waited for the work items.
    let stories_read = fetches.iter().map(|r| r.answered).max().unwrap();
    for path in ["/rest/agile/1.0/board", "/worklog/updated"] {
        let first = requests
            .iter()
            .filter(|r| r.path.contains(path))
            .map(|r| r.received)
            .min()
            .unwrap_or_else(|| panic!("no {path} request"));
        assert!(
            first < stories_read,
            "{path} asked for only after the stories were read: the streams were pulled one after another"
        );
    }
    // The ids come from searches asking for ids only, a page's worth at a time.
    let id_searches = id_search_jqls(&requests).len();
    assert_eq!(id_searches, 2, "an id page of epics, one of stories");
    assert_faithful(&sandbox);

    // Jira could not load a story this time (`issueErrors`): the page is asked for again and
    // the story is stored, not swept away by the full sync.
    let flaky = stories[7];
    sandbox.fail_bulk_fetch(flaky, 1);
    sandbox.clear_requests();
    let full = SyncFlags {
        full: true,
        ..SyncFlags::default()
    };
    let summary = sync_all(&session, None, full).await.unwrap().remove(0);
    assert_eq!(summary.stream("work-items").unwrap().deleted, 0);
    let asked_for_flaky = sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/issue/bulkfetch"))
        .filter(|r| bulk_fetched_ids(r).contains(&flaky.to_string()))
        .count();
    assert_eq!(asked_for_flaky, 2, "asked again after the issue error");
    let doc = export(&session, &sandbox);
    assert_eq!(records(&doc, "work-item").len(), work_items);

    // One that keeps failing fails the sync, naming it, and deletes nothing.
    sandbox.fail_bulk_fetch(flaky, 1000);
    let err = sync_all(&session, None, full).await.unwrap_err();
    let text = format!("{:#}", err.error);
    assert!(
        text.contains("could not load") && text.contains(&flaky.to_string()),
        "{text}"
    );
    let doc = export(&session, &sandbox);
    // (The export holds live records only: a story swept away would be missing here.)
    assert_eq!(
        records(&doc, "work-item").len(),
        work_items,
        "nothing swept"
    );
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn a_sync_stopped_between_bulk_pages_resumes_with_the_ids_it_had_not_fetched() {
    // 200 epics: 2,000 stories, so the work-items stream takes two pages (1,500 stories, then
    // the 500 whose ids the first page's id search brought and the cursor carries).
    let dir = tempfile::tempdir().unwrap();
    let sandbox =
        tollgate_tests::synthetic_jira(dir.path(), 200, 0, "[sync]\nmax_pages_per_stream = 1\n")
            .await;
    sandbox.record_bodies(true);
    let config = dir.path().join("tollgate.toml");
    let stopped = session(dir.path()).await;
    let err = sync_all(&stopped, None, SyncFlags::default())
        .await
        .unwrap_err();
    assert!(
        format!("{:#}", err.error).contains("max_pages_per_stream"),
        "{:#}",
        err.error
    );
    let first: Vec<String> = sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/issue/bulkfetch"))
        .flat_map(bulk_fetched_ids)
        .collect();
    drop(stopped);
    // The same sync, let run to its end, goes on from the cursor: the stories not fetched yet,
    // each once, without searching for their ids again.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("max_pages_per_stream = 1", "")).unwrap();
    sandbox.clear_requests();
    let session = session(dir.path()).await;
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    let requests = sandbox.requests();
    let second: Vec<String> = requests
        .iter()
        .filter(|r| r.path.ends_with("/issue/bulkfetch"))
        .flat_map(bulk_fetched_ids)
        .collect();
    let stories = story_ids(&sandbox)
        .iter()
        .map(u64::to_string)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(stories.len(), 2000);
    let resumed: Vec<&String> = second.iter().filter(|id| stories.contains(*id)).collect();
    assert_eq!(resumed.len(), 500, "the stories left, and only they");
    let mut all: Vec<&String> = first
        .iter()
        .filter(|id| stories.contains(*id))
        .chain(resumed)
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 2000, "every story fetched, once");
    let story_id_searches = id_search_jqls(&requests)
        .iter()
        .filter(|jql| jql.contains("issuetype not in"))
        .count();
    assert_eq!(story_id_searches, 0, "the ids came with the cursor");
    let doc = export(&session, &sandbox);
    assert_eq!(records(&doc, "work-item").len(), 2000);
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn a_publish_that_fails_for_some_epics_says_which_and_why_and_publishes_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (session, sandbox) = tollgate_tests::demo_synced(dir.path(), "").await;
    let mut store = session.store().unwrap();
    let outcome = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    let epics: std::collections::BTreeSet<String> = outcome
        .findings
        .iter()
        .filter(|f| f.finding.subject.key.starts_with("BIZ-"))
        .map(|f| f.finding.subject.key.clone())
        .collect();
    // Two epics with findings are deleted on the site between the check and the publish.
    let gone: Vec<String> = epics.iter().take(2).cloned().collect();
    sandbox.jira().issues.retain(|i| !gone.contains(&i.key));
    let step =
        tollgate_host::publish::publish_step(&session, store.as_mut(), None, false, "2026-11-27")
            .await
            .unwrap();
    let failure = step.failure().expect("two epics could not be published");
    for key in &gone {
        assert!(failure.contains(&format!("jira {key}")), "{failure}");
    }
    assert!(failure.contains("404"), "the tracker's answer: {failure}");
    assert!(
        !failure.contains(tollgate_sandbox::JIRA_CLOUD_TOKEN),
        "no credential in the error: {failure}"
    );
    let published: std::collections::BTreeSet<&str> = step
        .outcomes
        .iter()
        .filter(|o| o.connection == "jira" && o.result == Published::Created)
        .map(|o| o.subject.as_str())
        .collect();
    assert_eq!(
        published.len(),
        epics.len() - 2,
        "the others: {published:?}"
    );
}

/// The epic each of a work item's time entries names, from an export.
fn entry_epics(doc: &Value, work_item: &str) -> std::collections::BTreeSet<String> {
    records(doc, "time-entry")
        .into_iter()
        .filter(|r| r["entity"]["data"]["work_item_key"] == work_item)
        .map(|r| {
            r["entity"]["data"]["initiative_key"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// The epic of the work item with this key, from an export ("" for none).
fn work_item_epic(doc: &Value, key: &str) -> String {
    records(doc, "work-item")
        .into_iter()
        .find(|r| r["entity"]["data"]["key"] == key)
        .unwrap_or_else(|| panic!("no work item {key}"))["entity"]["data"]["initiative_key"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// A story with worklogs (the first), its id, its epic and another epic it is not under.
fn story_with_worklogs(sandbox: &Sandbox) -> (String, u64, String, String) {
    let d = sandbox.jira();
    let story = d
        .issues
        .iter()
        .find(|i| i.parent.is_some() && d.worklogs.iter().any(|w| w.issue_id == i.id))
        .unwrap();
    let old = story.parent.clone().unwrap();
    let new = d.another_epic(&old).unwrap().key.clone();
    (story.key.clone(), story.id, old, new)
}

/// The sandbox's flavour of a face.
fn flavour(face: JiraFace) -> Flavour {
    match face {
        JiraFace::Cloud => Flavour::Cloud,
        JiraFace::DataCenter => Flavour::DataCenter,
    }
}

/// An incremental sync, then `issue` moved under `epic` two minutes later: the move falls
/// between two incremental passes.
async fn move_after_a_pass(
    session: &tollgate_host::app::Session,
    sandbox: &Sandbox,
    issue: &str,
    epic: &str,
) {
    sync_past_the_minute(session, sandbox).await;
    sandbox.advance_clock(std::time::Duration::from_secs(120));
    let now = sandbox.now_ms();
    sandbox.jira().move_to_epic(issue, Some(epic), now).unwrap();
}

/// The issues whose worklogs were read one issue at a time (`/issue/{id}/worklog`).
fn issue_worklog_reads(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .requests()
        .iter()
        .filter_map(|r| {
            let path = r.path.split('?').next()?;
            let rest = path.split("/issue/").nth(1)?;
            rest.strip_suffix("/worklog").map(str::to_string)
        })
        .collect()
}

#[tokio::test]
async fn a_story_moved_to_another_epic_takes_its_hours_along_on_both_faces() {
    for face in [JiraFace::Cloud, JiraFace::DataCenter] {
        let sandbox = sandbox().await;
        let (_dir, session, _) = synced(&sandbox, face).await;
        // A story with worklogs, and an epic it is not under.
        let (story, story_id, old_epic, new_epic) = story_with_worklogs(&sandbox);
        move_after_a_pass(&session, &sandbox, &story, &new_epic).await;
        // The story's work item and all its hours are on `epic`, every hour where the site
        // has it, and only the story's worklogs were read again.
        let moved_to = |epic: String, summary: tollgate_host::sync::SyncSummary| {
            let doc = export(&session, &sandbox);
            assert_eq!(work_item_epic(&doc, &story), epic);
            assert_eq!(
                entry_epics(&doc, &story),
                [epic.clone()].into(),
                "{face:?}: {story}'s hours moved to {epic}"
            );
            assert_hours_as_on_the_site(&doc, &sandbox, face);
            assert_eq!(
                issue_worklog_reads(&sandbox),
                vec![story_id.to_string()],
                "{face:?}: the moved story's worklogs, and no other issue's, are read again"
            );
            summary.stream("time-entries").unwrap().pages
        };
        let summary = sync_past_the_minute(&session, &sandbox).await;
        moved_to(new_epic.clone(), summary);

        // The next pass finds no move since and reads no issue's worklogs.
        sync_past_the_minute(&session, &sandbox).await;
        assert_eq!(
            issue_worklog_reads(&sandbox),
            Vec::<String>::new(),
            "{face:?}"
        );

        // Moved back, then 150 other issues and 1,500 worklogs change, each a millisecond
        // after the last: a pass of several calls (a page of `/worklog/updated` holds 1,000),
        // whose first finds the move on the second page of changed issues (100 a page, newest
        // first) and whose last reads the story's worklogs again.
        sandbox.advance_clock(std::time::Duration::from_secs(120));
        let now = sandbox.now_ms();
        {
            let mut d = sandbox.jira();
            d.move_to_epic(&story, Some(&old_epic), now).unwrap();
            let others: Vec<String> = d
                .issues
                .iter()
                .filter(|i| i.key != story)
                .take(150)
                .map(|i| i.key.clone())
                .collect();
            for (n, key) in others.iter().enumerate() {
                assert!(d.edit_summary(key, &format!("{key} renamed"), now + 1 + n as i64));
            }
            let worklogs: Vec<(u64, u64)> = d
                .worklogs
                .iter()
                .take(1_500)
                .map(|w| (w.id, w.seconds + 900))
                .collect();
            for (n, (id, seconds)) in worklogs.into_iter().enumerate() {
                assert!(d.edit_worklog(id, seconds, now + 200 + n as i64));
            }
        }
        let summary = sync_past_the_minute(&session, &sandbox).await;
        let pages = moved_to(old_epic.clone(), summary);
        assert!(pages > 1, "{face:?}: {pages} page(s)");
        assert_faithful(&sandbox);
    }
}

#[tokio::test]
async fn while_the_stories_cannot_be_read_a_moved_storys_new_hours_go_to_its_new_epic() {
    let sandbox = sandbox().await;
    let (dir, _, _) = synced(&sandbox, JiraFace::Cloud).await;
    // A page that fails is not asked for again, to keep the test short.
    let mut config = std::fs::read_to_string(dir.path().join("tollgate.toml")).unwrap();
    config.push_str("\n[sync]\npage_retries = 0\n");
    std::fs::write(dir.path().join("tollgate.toml"), config).unwrap();
    let session = session(dir.path()).await;
    let (story, story_id, _, new_epic) = story_with_worklogs(&sandbox);
    sync_past_the_minute(&session, &sandbox).await;
    let stored_epic = |doc: &Value| work_item_epic(doc, &story);

    // The story moves to another epic, and from then on Jira answers the stories' search
    // with a 500: the work-items stream fails in every run and the store keeps the story
    // under its old epic, while the time-entries stream goes on.
    sandbox.advance_clock(std::time::Duration::from_secs(120));
    let now = sandbox.now_ms();
    sandbox
        .jira()
        .move_to_epic(&story, Some(&new_epic), now)
        .unwrap();
    sandbox.fail_searches(Some("issuetype not in"));
    // A sync past the minute Jira hides, failed by the stories' search: what it stored.
    let a_failed_sync = async || {
        sandbox.advance_clock(std::time::Duration::from_secs(90));
        let err = sync_all(&session, None, SyncFlags::default())
            .await
            .unwrap_err();
        let text = format!("{:#}", err.error);
        assert!(
            text.contains("work-items") && text.contains("500"),
            "{text}"
        );
        export(&session, &sandbox)
    };
    let doc = a_failed_sync().await;
    assert_ne!(
        stored_epic(&doc),
        new_epic,
        "the work item could not be read"
    );
    assert_eq!(entry_epics(&doc, &story), [new_epic.clone()].into());

    // A run later, one of the story's worklogs changes, the story still unreadable: the
    // changed entry goes to the epic the story is under now, not the one the store remembers.
    // So does one of a sub-task's, whose epic is its parent's, found by searching (the store
    // is not asked in this run).
    sandbox.advance_clock(std::time::Duration::from_secs(120));
    let now = sandbox.now_ms();
    {
        let mut d = sandbox.jira();
        let sub_task = d
            .issues
            .iter()
            .find(|i| i.issue_type == tollgate_sandbox::jira::data::SUB_TASK)
            .unwrap()
            .id;
        for issue in [story_id, sub_task] {
            let (id, seconds) = d
                .worklogs
                .iter()
                .find(|w| w.issue_id == issue)
                .map(|w| (w.id, w.seconds))
                .unwrap();
            assert!(d.edit_worklog(id, seconds + 900, now));
        }
    }
    let doc = a_failed_sync().await;
    assert_ne!(stored_epic(&doc), new_epic);
    assert_eq!(
        entry_epics(&doc, &story),
        [new_epic.clone()].into(),
        "{story}'s changed hours are on the epic it is under now"
    );
    assert_eq!(entry_epics(&doc, "BIZ-326"), ["BIZ-2".to_string()].into());

    // Jira searches the stories again: the work item follows, and every hour is where the
    // site has it.
    sandbox.fail_searches(None);
    sync_past_the_minute(&session, &sandbox).await;
    let doc = export(&session, &sandbox);
    assert_eq!(stored_epic(&doc), new_epic);
    assert_eq!(entry_epics(&doc, &story), [new_epic.clone()].into());
    assert_hours_as_on_the_site(&doc, &sandbox, JiraFace::Cloud);
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn a_story_moved_to_another_epic_takes_its_sub_tasks_and_their_hours_along() {
    for face in [JiraFace::Cloud, JiraFace::DataCenter] {
        let sandbox = sandbox().await;
        let (_dir, session, _) = synced(&sandbox, face).await;
        // The story of BIZ-2 with sub-tasks, and an epic it is not under.
        let (story, sub_tasks, new_epic) = {
            let d = sandbox.jira();
            let sub_tasks: Vec<String> = d
                .issues
                .iter()
                .filter(|i| i.issue_type == tollgate_sandbox::jira::data::SUB_TASK)
                .map(|i| i.key.clone())
                .collect();
            let story = d.issue(&sub_tasks[0]).unwrap().parent.clone().unwrap();
            let old = d.issue(&story).unwrap().parent.clone().unwrap();
            assert_eq!(old, "BIZ-2");
            let new = d.another_epic(&old).unwrap().key.clone();
            (story, sub_tasks, new)
        };
        move_after_a_pass(&session, &sandbox, &story, &new_epic).await;
        sync_past_the_minute(&session, &sandbox).await;

        let doc = export(&session, &sandbox);
        for key in std::iter::once(&story).chain(&sub_tasks) {
            assert_eq!(
                work_item_epic(&doc, key),
                new_epic,
                "{face:?}: {key}'s work item"
            );
            if key != &story {
                assert_eq!(
                    entry_epics(&doc, key),
                    [new_epic.clone()].into(),
                    "{face:?}: {key}'s hours"
                );
            }
        }
        assert_hours_as_on_the_site(&doc, &sandbox, face);
        assert_faithful(&sandbox);
    }
}

#[tokio::test]
async fn a_team_projects_stories_under_portfolio_epics_are_their_work_items_and_follow_moves() {
    for face in [JiraFace::Cloud, JiraFace::DataCenter] {
        let sandbox = sandbox().await;
        // The operations team files a risk of theirs under BIZ-3, and splits OPS-3 into a
        // sub-task with an hour on it.
        let sub_task = {
            let now = sandbox.now_ms();
            let mut d = sandbox.jira();
            d.add_issue("OPS", 4, "Hosts not patched in time", Some("BIZ-3"), now)
                .unwrap();
            let key = d
                .add_issue("OPS", 5, "Patch the gateway's hosts", Some("OPS-3"), now)
                .unwrap();
            d.add_worklog(&key, 0, now - 7_200_000, 3_600, now).unwrap();
            key
        };
        sandbox.advance_clock(std::time::Duration::from_secs(90));
        let (_dir, session, doc) = synced_with(&sandbox, face, ", team-projects = [\"OPS\"]").await;
        let risks = initiative(&doc, "BIZ-3")["entity"]["data"]["risks"].clone();
        assert!(
            risks
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["title"] == "Hosts not patched in time"),
            "{face:?}: {risks}"
        );
        // OPS-3 is under the portfolio's BIZ-1: a work item of it, and its sub-task too. OPS's
        // epic, its story under it and its task under none are not the portfolio's.
        let ops_items = |doc: &Value| -> BTreeMap<String, String> {
            records(doc, "work-item")
                .iter()
                .map(|r| &r["entity"]["data"])
                .filter(|item| item["key"].as_str().unwrap().starts_with("OPS-"))
                .map(|item| {
                    let epic = item["initiative_key"].as_str().unwrap_or("").to_string();
                    (item["key"].as_str().unwrap().to_string(), epic)
                })
                .collect()
        };
        let expected = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, e)| (k.to_string(), e.to_string()))
                .collect()
        };
        assert_eq!(
            ops_items(&doc),
            expected(&[("OPS-3", "BIZ-1"), (&sub_task, "BIZ-1")]),
            "{face:?}"
        );
        assert_eq!(entry_epics(&doc, &sub_task), ["BIZ-1".to_string()].into());
        assert_eq!(
            records(&doc, "work-item").len(),
            279,
            "{face:?}: 277, OPS-3 and its sub-task"
        );
        assert_eq!(
            records(&doc, "initiative").len(),
            25,
            "{face:?}: OPS-1 is not one"
        );
        // The store holds OPS-3 now: the hours' look-ups search only for OPS-2 and OPS-4.
        let not_ours: Vec<u64> = ["OPS-2", "OPS-4"]
            .iter()
            .map(|k| sandbox.jira().issue(k).unwrap().id)
            .collect();
        assert_eq!(searched_by_id(&sandbox), not_ours, "{face:?}");
        assert_hours_as_on_the_site(&doc, &sandbox, face);

        // OPS-3 moves under its own project's epic: its work item, its sub-task's and all their
        // hours leave the portfolio on the next incremental pass (not only the worklogs changed
        // since).
        move_after_a_pass(&session, &sandbox, "OPS-3", "OPS-1").await;
        let summary = sync_past_the_minute(&session, &sandbox).await;
        let doc = export(&session, &sandbox);
        assert_eq!(ops_items(&doc), expected(&[]), "{face:?}");
        assert!(entry_epics(&doc, "OPS-3").is_empty(), "{face:?}");
        assert!(entry_epics(&doc, &sub_task).is_empty(), "{face:?}");
        assert_eq!(summary.stream("work-items").unwrap().deleted, 2, "{face:?}");
        assert_hours_as_on_the_site(&doc, &sandbox, face);

        // OPS-2 moves under the portfolio's BIZ-2: a work item of it, with its hours.
        move_after_a_pass(&session, &sandbox, "OPS-2", "BIZ-2").await;
        sync_past_the_minute(&session, &sandbox).await;
        let doc = export(&session, &sandbox);
        assert_eq!(ops_items(&doc), expected(&[("OPS-2", "BIZ-2")]), "{face:?}");
        assert_eq!(entry_epics(&doc, "OPS-2"), ["BIZ-2".to_string()].into());
        assert_hours_as_on_the_site(&doc, &sandbox, face);
        assert_faithful(&sandbox);
    }
}

#[tokio::test]
async fn a_story_moved_to_a_team_project_keeps_its_work_item_and_hours_under_its_new_key() {
    for face in [JiraFace::Cloud, JiraFace::DataCenter] {
        let sandbox = sandbox().await;
        let (_dir, session, doc) = synced_with(&sandbox, face, ", team-projects = [\"OPS\"]").await;
        let items = records(&doc, "work-item").len();
        let (story, story_id, epic, _) = story_with_worklogs(&sandbox);
        // Moved to OPS between two passes: a new key, the same id, epic and worklogs.
        sync_past_the_minute(&session, &sandbox).await;
        sandbox.advance_clock(std::time::Duration::from_secs(120));
        let now = sandbox.now_ms();
        let moved = sandbox.jira().move_to_project(&story, "OPS", now).unwrap();
        assert!(moved.starts_with("OPS-"), "{moved}");
        sync_past_the_minute(&session, &sandbox).await;
        let doc = export(&session, &sandbox);
        let external_id = story_id.to_string();
        let item = records(&doc, "work-item")
            .into_iter()
            .find(|r| r["provenance"]["external_id"] == external_id.as_str())
            .unwrap();
        assert_eq!(item["entity"]["data"]["key"], moved.as_str(), "{face:?}");
        assert_eq!(item["entity"]["data"]["initiative_key"], epic.as_str());
        assert_eq!(
            records(&doc, "work-item").len(),
            items,
            "{face:?}: one item, renamed"
        );
        // Its hours name it by its new key, on the same epic; none is left under the old key.
        assert_eq!(entry_epics(&doc, &moved), [epic.clone()].into(), "{face:?}");
        assert!(entry_epics(&doc, &story).is_empty(), "{face:?}");
        assert_hours_as_on_the_site(&doc, &sandbox, face);
        assert_faithful(&sandbox);
    }
}

#[tokio::test]
async fn team_projects_added_to_the_settings_are_read_whole_on_the_next_pass() {
    let sandbox = sandbox().await;
    let (dir, first, doc) = synced(&sandbox, JiraFace::Cloud).await;
    assert_eq!(records(&doc, "work-item").len(), 277);
    drop(first);
    // The same store, OPS named a team project: OPS-3 has not changed since, yet the next
    // (incremental) sync finds it, since the pass before read another set of projects.
    let config = dir.path().join("tollgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "project = \"BIZ\" }",
            "project = \"BIZ\", team-projects = [\"OPS\"] }",
        ),
    )
    .unwrap();
    let session = session(dir.path()).await;
    // The JQL of the stories' searches of a sync (Cloud searches by POST).
    let stories_searched = |sandbox: &Sandbox| -> Vec<String> {
        issue_searches(&sandbox.requests())
            .into_iter()
            .filter(|(whose, _)| *whose == "stories")
            .map(|(_, r)| {
                let body: Value = serde_json::from_slice(r.request_body.as_ref().unwrap()).unwrap();
                body["jql"].as_str().unwrap().to_string()
            })
            .collect()
    };
    sync_past_the_minute(&session, &sandbox).await;
    let doc = export(&session, &sandbox);
    assert_eq!(work_item_epic(&doc, "OPS-3"), "BIZ-1");
    assert_eq!(records(&doc, "work-item").len(), 278);
    let jqls = stories_searched(&sandbox);
    assert!(
        !jqls.is_empty()
            && jqls
                .iter()
                .all(|q| q.starts_with("project in (BIZ, OPS)") && !q.contains("updated >=")),
        "{jqls:?}"
    );
    // The pass after is incremental again: it searches for what changed, not every issue.
    sync_past_the_minute(&session, &sandbox).await;
    let jqls = stories_searched(&sandbox);
    assert!(
        !jqls.is_empty() && jqls.iter().all(|q| q.contains("updated >=")),
        "{jqls:?}"
    );
}

#[tokio::test]
async fn another_projects_story_taken_from_under_a_portfolio_epic_takes_its_hours_out() {
    let sandbox = sandbox().await;
    let (_dir, session, doc) = synced(&sandbox, JiraFace::Cloud).await;
    assert_eq!(entry_epics(&doc, "OPS-3"), ["BIZ-1".to_string()].into());
    // OPS-3 moves under its own project's epic, and one of its worklogs changes after.
    move_after_a_pass(&session, &sandbox, "OPS-3", "OPS-1").await;
    let edited = {
        let mut d = sandbox.jira();
        let id = d.issue("OPS-3").unwrap().id;
        let (worklog, seconds) = d
            .worklogs
            .iter()
            .find(|w| w.issue_id == id)
            .map(|w| (w.id, w.seconds))
            .unwrap();
        let now = sandbox.now_ms() + 1_000;
        assert!(d.edit_worklog(worklog, seconds + 900, now));
        worklog.to_string()
    };
    let has_entry = |doc: &Value| {
        records(doc, "time-entry")
            .iter()
            .any(|r| r["provenance"]["external_id"] == edited.as_str())
    };
    assert!(has_entry(&doc), "the entry of worklog {edited} before");
    let summary = sync_past_the_minute(&session, &sandbox).await;
    // The changed worklog is no longer the portfolio's: its entry is deleted, not left on
    // BIZ-1 with its old hours.
    let doc = export(&session, &sandbox);
    assert!(!has_entry(&doc), "the entry of worklog {edited}");
    assert_eq!(summary.stream("time-entries").unwrap().deleted, 1);
    // The others it had are found by a full sync, which sweeps them.
    let full = SyncFlags {
        full: true,
        ..SyncFlags::default()
    };
    sync_all(&session, None, full).await.unwrap();
    let doc = export(&session, &sandbox);
    assert!(entry_epics(&doc, "OPS-3").is_empty());
    assert_hours_as_on_the_site(&doc, &sandbox, JiraFace::Cloud);
}

/// The worklogs an answer holds (`/worklog/list`, an issue's worklogs, those a search embeds)
/// are written by hand for speed: what comes from outside — a comment of quotes, backslashes,
/// control characters and text beyond ASCII, and the site's address from the request's `Host`
/// — must come back to a client exactly as it is, in each face and version.
#[tokio::test]
async fn worklogs_written_by_hand_read_back_as_the_site_holds_them() {
    let sandbox = sandbox().await;
    let hostile = "say \"hi\" \\ back\nslash / tab\t bell\u{7} é 漢 𝄞 \u{2028} </script>";
    let (worklog, issue_key) = {
        let mut site = sandbox.jira();
        // The first worklog of an issue halfway down the site: a search embeds an issue's
        // first 20 only, as Jira does.
        let issue_id = site.worklogs[site.worklogs.len() / 2].issue_id;
        let at = site
            .worklogs
            .iter()
            .position(|w| w.issue_id == issue_id)
            .unwrap();
        site.worklogs[at].comment = Some(hostile.to_string());
        site.worklogs[at].seconds = 5400;
        let w = site.worklogs[at].clone();
        let key = site
            .issues
            .iter()
            .find(|i| i.id == w.issue_id)
            .unwrap()
            .key
            .clone();
        (w, key)
    };
    let author = sandbox.jira().users[worklog.author].clone();
    let client = reqwest::Client::new();
    let host = "tollgate.example:8443/x\"y\\z";
    for (face, url, version) in [
        ("cloud", sandbox.jira_cloud_url(), "3"),
        ("cloud", sandbox.jira_cloud_url(), "2"),
        ("dc", sandbox.jira_dc_url(), "2"),
    ] {
        let auth = |r: reqwest::RequestBuilder| match face {
            "cloud" => r.basic_auth(
                tollgate_sandbox::JIRA_CLOUD_USER,
                Some(tollgate_sandbox::JIRA_CLOUD_TOKEN),
            ),
            _ => r.bearer_auth(tollgate_sandbox::JIRA_DC_TOKEN),
        };
        // The address the answer names is the one the client asked by.
        let prefix = url.split_once("/jira-").unwrap().1;
        let base = format!("http://{host}/jira-{prefix}");
        let read = |answer: reqwest::Response| async move {
            assert_eq!(answer.status(), 200);
            assert_eq!(
                answer.headers()["content-type"],
                "application/json;charset=UTF-8"
            );
            serde_json::from_str::<Value>(&answer.text().await.unwrap()).unwrap()
        };
        let listed = read(
            auth(client.post(format!("{url}/rest/api/{version}/worklog/list")))
                .header("host", host)
                .header("content-type", "application/json")
                .body(serde_json::json!({"ids": [worklog.id, 1, worklog.id]}).to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        let of_issue = read(
            auth(client.get(format!(
                "{url}/rest/api/{version}/issue/{issue_key}/worklog"
            )))
            .header("host", host)
            .send()
            .await
            .unwrap(),
        )
        .await;
        let search = match face {
            "cloud" => format!("{url}/rest/api/{version}/search/jql"),
            _ => format!("{url}/rest/api/{version}/search"),
        };
        let embedded = read(
            auth(client.get(search))
                .query(&[
                    ("jql", format!("key = {issue_key}")),
                    ("fields", "worklog".into()),
                ])
                .header("host", host)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let embedded = &embedded["issues"][0]["fields"]["worklog"]["worklogs"];
        let id = worklog.id.to_string();
        let find = |list: &Value| {
            let list = list.as_array().unwrap();
            list.iter()
                .find(|w| w["id"] == id.as_str())
                .cloned()
                .unwrap_or_else(|| panic!("worklog {} in {list:?}", worklog.id))
        };
        assert_eq!(
            listed.as_array().unwrap().len(),
            1,
            "asked twice, listed once"
        );
        for (what, got) in [
            ("/worklog/list", find(&listed)),
            ("an issue's worklogs", find(&of_issue["worklogs"])),
            ("a search's embedded worklogs", find(embedded)),
        ] {
            let context = format!("{face} v{version}, {what}");
            // REST v3: an ADF document of one paragraph of the text; v2: the text.
            let comment = match version {
                "3" => serde_json::json!({
                    "type": "doc",
                    "version": 1,
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": hostile}]}],
                }),
                _ => serde_json::json!(hostile),
            };
            assert_eq!(got["comment"], comment, "{context}");
            assert_eq!(
                got["self"],
                format!(
                    "{base}/rest/api/{version}/issue/{}/worklog/{}",
                    worklog.issue_id, worklog.id
                ),
                "{context}"
            );
            assert_eq!(got["issueId"], worklog.issue_id.to_string(), "{context}");
            assert_eq!(got["timeSpent"], "1h 30m", "{context}");
            assert_eq!(got["timeSpentSeconds"], 5400, "{context}");
            for (field, ms) in [
                ("created", worklog.created),
                ("started", worklog.started),
                ("updated", worklog.updated),
            ] {
                assert_eq!(
                    got[field],
                    tollgate_sandbox::time::jira_timestamp(ms),
                    "{context}: {field}"
                );
            }
            assert_eq!(
                got["author"]["displayName"], author.display_name,
                "{context}"
            );
            assert_eq!(got["author"], got["updateAuthor"], "{context}");
            assert!(
                got["author"]["self"].as_str().unwrap().starts_with(&base),
                "{context}: {}",
                got["author"]["self"]
            );
        }
    }
}
