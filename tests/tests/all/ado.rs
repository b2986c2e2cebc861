//! Azure DevOps end to end: the plugin against the sandbox's demo organisation; with faults
//! (Azure DevOps's own throttling included); above WIQL's 20,000-result cap; with a bad PAT;
//! incrementally, recycle bin included; publishing back. Every exchange is checked against
//! Microsoft's 7.1 specifications (tests/specs).

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use tollgate_host::check::run_checks;
use tollgate_host::cli::{SyncFlags, sync_all};
use tollgate_host::publish::Published;
use tollgate_sandbox::Sandbox;
use tollgate_tests::{
    ado_config, assert_faithful_to_ado as assert_faithful, edited_titles, export, initiative,
    open_session as session, recording_sandbox as sandbox, records,
};

/// A store in a new folder, synced from the sandbox's organisation by the demo's connection;
/// keep the folder while the session is used.
async fn synced(sandbox: &Sandbox) -> (tempfile::TempDir, tollgate_host::app::Session) {
    let dir = tempfile::tempdir().unwrap();
    ado_config(dir.path(), sandbox, "");
    let session = session(dir.path()).await;
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    (dir, session)
}

/// Hours per (person, epic id) in the export.
fn hours_by_person_and_epic(doc: &Value) -> BTreeMap<(String, u64), f64> {
    let mut out = BTreeMap::new();
    for r in records(doc, "time-entry") {
        let e = &r["entity"]["data"];
        let Some(epic) = e["initiative_key"].as_str() else {
            continue;
        };
        let key = (
            e["person"].as_str().unwrap().to_string(),
            epic.parse().unwrap(),
        );
        *out.entry(key).or_insert(0.0) += e["seconds"].as_f64().unwrap() / 3600.0;
    }
    out
}

/// What the sandbox's organisation holds, as the sync should see it.
struct Truth {
    epics: BTreeSet<u64>,
    work_items: BTreeSet<u64>,
    hours: BTreeMap<(String, u64), f64>,
    entries: usize,
}

fn truth(sandbox: &Sandbox) -> Truth {
    let d = sandbox.ado();
    let live = |kind: &str| -> BTreeSet<u64> { d.live_of_type(kind).map(|w| w.id).collect() };
    let epics = live("Epic");
    // Every live work item but epics and risks, those below a deleted epic too: Azure Boards
    // leaves them in place, without an epic.
    let work_items = d
        .items
        .iter()
        .filter(|w| w.deleted.is_none() && !matches!(w.kind(), "Epic" | "Risk"))
        .map(|w| w.id)
        .collect();
    let mut hours = d.hours_by_person_and_epic();
    hours.retain(|(_, epic), _| epics.contains(epic));
    let entries = d.logged.len();
    Truth {
        epics,
        work_items,
        hours,
        entries,
    }
}

fn ids(doc: &Value, kind: &str) -> Vec<u64> {
    records(doc, kind)
        .iter()
        .map(|r| {
            r["provenance"]["external_id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// The field Azure Boards keeps hours in.
const COMPLETED: &str = "Microsoft.VSTS.Scheduling.CompletedWork";

/// The time entries of work item `id` in an export.
fn entries_on(doc: &Value, id: u64) -> Vec<Value> {
    let id = id.to_string();
    records(doc, "time-entry")
        .into_iter()
        .filter(|r| r["entity"]["data"]["work_item_key"].as_str() == Some(id.as_str()))
        .cloned()
        .collect()
}

/// The epic a record counts for (its `initiative_key`; empty if none).
fn epic_of(record: &Value) -> String {
    record["entity"]["data"]["initiative_key"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn assert_hours_match(
    found: &BTreeMap<(String, u64), f64>,
    expected: &BTreeMap<(String, u64), f64>,
) {
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the same people on the same epics"
    );
    for (k, v) in expected {
        assert!(
            (found[k] - v).abs() < 1e-6,
            "{k:?}: {} hours, not {v}",
            found[k]
        );
    }
}

#[tokio::test]
async fn the_demo_organisation_syncs_to_its_ground_truth() {
    let sandbox = sandbox("demo").await;
    let (_dir, session) = synced(&sandbox).await;
    let doc = export(&session, &sandbox);
    let truth = truth(&sandbox);

    // Six live epics (4107 is in the recycle bin), each with 21 work items below it; 4107's
    // 21 stay, without an epic.
    assert_eq!(truth.epics, (4101..=4106).collect());
    let mut epics = ids(&doc, "initiative");
    epics.sort_unstable();
    assert_eq!(epics, truth.epics.iter().copied().collect::<Vec<_>>());
    let mut work_items = ids(&doc, "work-item");
    work_items.sort_unstable();
    assert_eq!(work_items.len(), 7 * 21);
    let orphans: Vec<_> = records(&doc, "work-item")
        .into_iter()
        .filter(|r| r["entity"]["data"]["initiative_key"].is_null())
        .collect();
    assert_eq!(orphans.len(), 21, "4107's children have no epic now");
    assert_eq!(
        work_items,
        truth.work_items.iter().copied().collect::<Vec<_>>()
    );
    // Effort from CompletedWork's history: per person per epic, to the hour's fraction.
    assert_eq!(records(&doc, "time-entry").len(), truth.entries);
    assert!(truth.entries > 500, "{}", truth.entries);
    assert_hours_match(&hours_by_person_and_epic(&doc), &truth.hours);
    // The three teams' iterations: fourteen sprints each with dates, and a grooming
    // iteration without.
    let sprints = records(&doc, "sprint");
    assert_eq!(sprints.len(), 3 * 15);
    let dated = sprints
        .iter()
        .filter(|s| s["entity"]["data"]["start"].is_string())
        .count();
    assert_eq!(dated, 3 * 14);

    // A sample of exact values: 4101's business case and gate, from Custom.* fields.
    let e4101 = initiative(&doc, "4101");
    let e = &e4101["entity"]["data"];
    assert_eq!(e["title"], "Card controls in the app");
    assert_eq!(e["demand_type"], "increments-and-improvements");
    assert_eq!(e["value_stream"], "Digital channels", "from its area path");
    assert_eq!(e["current_gate"], "G2");
    assert_eq!(e["cost_of_delay"], 30000.0);
    assert_eq!(e["status_category"], "in-progress");
    assert_eq!(e["planned_end"], "2027-02-26");
    assert_eq!(
        e4101["provenance"]["url"],
        "http://sandbox/ado/tollgate-demo/Portfolio/_workitems/edit/4101"
    );
    // 4102 depends on 4103 through a dependency link between the epics; Azure Boards records
    // no acceptance on a link.
    let dependencies = records(&doc, "dependency");
    assert_eq!(dependencies.len(), 1, "{dependencies:?}");
    let dep = &dependencies[0]["entity"]["data"];
    assert_eq!(
        (dep["from_key"].as_str(), dep["to_key"].as_str()),
        (Some("4102"), Some("4103"))
    );
    assert!(dep["accepted"].is_null());
    // Platform's epics sit in the other value stream.
    let e4103 = initiative(&doc, "4103");
    assert_eq!(e4103["entity"]["data"]["value_stream"], "Core platforms");

    // How it asked: batches of at most 200, every answer a success, no deprecated path.
    let requests = sandbox.requests();
    assert!(
        requests.iter().all(|r| r.status < 400),
        "no refused request: {:?}",
        requests
            .iter()
            .filter(|r| r.status >= 400)
            .map(|r| (&r.path, r.status))
            .collect::<Vec<_>>()
    );
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn faults_and_throttling_on_the_wire_change_nothing_in_the_export() {
    let clean = sandbox("demo").await;
    let (_dir, reference) = synced(&clean).await;
    let expected = export(&reference, &clean);

    let faulty = sandbox("demo").await;
    faulty.set_faults(Some(
        "429=0.03,503=0.06,drop=0.05,truncate=0.05,slow=0.05,slow-ms=100,retry-after=1,seed=11"
            .parse()
            .unwrap(),
    ));
    let (_dir, session) = synced(&faulty).await;
    let [throttled, unavailable, dropped, truncated, ..] = faulty.faults_injected();
    assert!(
        throttled > 0 && unavailable > 0 && dropped > 0 && truncated > 0,
        "each kind of fault happened: {:?}",
        faulty.faults_injected()
    );
    assert_eq!(export(&session, &faulty), expected, "identical export");
    // Azure DevOps warns with Retry-After on a delayed 200; the host pauses the connection,
    // so the service never has to block it with a 429.
    assert_eq!(faulty.ado_requests_blocked(), 0);
    assert!(session.runtime.stats().rate_limit_waits.get() >= throttled);
    assert_faithful(&faulty);
}

#[tokio::test]
async fn a_client_that_ignores_the_warning_is_blocked_with_tf400733() {
    // What the host's pause avoids: the service blocks the next request inside Retry-After.
    let sandbox = sandbox("demo").await;
    sandbox.set_faults(Some("429=1,retry-after=5".parse().unwrap()));
    let client = reqwest::Client::new();
    let url = format!(
        "{}/{}/_apis/projects?api-version=7.1",
        sandbox.ado_url(),
        tollgate_sandbox::ADO_ORGANIZATION
    );
    let get = || {
        client
            .get(&url)
            .basic_auth("", Some(tollgate_sandbox::ADO_TOKEN))
            .send()
    };
    let warned = get().await.unwrap();
    assert_eq!(warned.status(), 200);
    assert_eq!(warned.headers()["retry-after"], "5");
    assert!(warned.headers().contains_key("x-ratelimit-delay"));
    let blocked = get().await.unwrap();
    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().contains_key("retry-after"));
    let body: Value = serde_json::from_str(&blocked.text().await.unwrap()).unwrap();
    assert!(
        body["message"].as_str().unwrap().starts_with("TF400733"),
        "{body}"
    );
    assert_eq!(sandbox.ado_requests_blocked(), 1);
}

#[tokio::test]
async fn a_project_above_the_wiql_cap_syncs_every_item_once() {
    // 1,900 epics with 10 work items each: 20,900 work items, above WIQL's 20,000.
    let sandbox = sandbox("synthetic:1900").await;
    sandbox.record_bodies(false);
    assert!(sandbox.ado().items.len() > 20_000);
    // A query that asks for everything at once is refused, as the service refuses it.
    let refused = reqwest::Client::new()
        .post(format!(
            "{}/{}/{}/_apis/wit/wiql?api-version=7.1",
            sandbox.ado_url(),
            tollgate_sandbox::ADO_ORGANIZATION,
            tollgate_sandbox::ADO_PROJECT
        ))
        .basic_auth("", Some(tollgate_sandbox::ADO_TOKEN))
        .header("content-type", "application/json")
        .body(json!({"query": "SELECT [System.Id] FROM WorkItems"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("VS402337"));
    sandbox.clear_requests();

    let (_dir, session) = synced(&sandbox).await;
    let doc = export(&session, &sandbox);
    let epics = ids(&doc, "initiative");
    assert_eq!(epics.len(), 1900);
    assert_eq!(epics.iter().collect::<BTreeSet<_>>().len(), 1900);
    let work_items = ids(&doc, "work-item");
    assert_eq!(
        work_items.len(),
        19_000,
        "feature, 4 stories and 5 tasks each"
    );
    assert_eq!(
        work_items.iter().collect::<BTreeSet<_>>().len(),
        19_000,
        "every id once"
    );
    assert_eq!(records(&doc, "time-entry").len(), 2 * 1900);
    // Batches never above 200 ids; every answer a success.
    let requests = sandbox.requests();
    let refused: Vec<_> = requests
        .iter()
        .filter(|r| r.status >= 400)
        .map(|r| (&r.method, &r.path, &r.query, r.status))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert!(
        requests
            .iter()
            .filter(|r| r.path.ends_with("/workitemsbatch"))
            .count()
            >= 20_900 / 200
    );
}

#[tokio::test]
async fn each_id_streams_next_page_starts_on_the_cursor_its_call_told() {
    // 600 epics: pages of 500 ids make two of epics and 12 of the 6,000 work items, and
    // pages of 160 tasks with hours four of time entries: each a chain of calls, each call on
    // the last one's cursor.
    let sandbox = sandbox("synthetic:600").await;
    sandbox.record_bodies(false);
    let dir = tempfile::tempdir().unwrap();
    ado_config(dir.path(), &sandbox, "");
    let session = session(dir.path()).await;
    let summary = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap()
        .remove(0);
    // Each call told the host its next cursor once its query was in, and the host started
    // the next page's call on it, before the page was in.
    for (stream, pages) in [("initiatives", 2), ("work-items", 12), ("time-entries", 4)] {
        let s = summary.stream(stream).unwrap();
        assert!(s.pages >= pages, "{stream}: {s:?}");
        assert_eq!(s.told_ahead, s.pages - 1, "{stream}: {s:?}");
    }
    // And read everything once.
    let doc = export(&session, &sandbox);
    assert_eq!(ids(&doc, "initiative").len(), 600);
    assert_eq!(ids(&doc, "work-item").len(), 6_000);
    assert_eq!(records(&doc, "time-entry").len(), 2 * 600);
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn work_item_batches_of_a_page_are_read_side_by_side() {
    // 100 epics: 1,000 work items, read 200 a `workitemsbatch`; an organisation 20 ms away,
    // so two requests sent together are seen together.
    let sandbox = tollgate_sandbox::Sandbox::start_with(
        "127.0.0.1:0",
        tollgate_sandbox::Options {
            dataset: "synthetic:100".into(),
            faults: None,
            latency_ms: 20,
            ..tollgate_sandbox::Options::default()
        },
    )
    .await
    .unwrap();
    sandbox.record_bodies(false);
    let (_dir, session) = synced(&sandbox).await;
    let doc = export(&session, &sandbox);
    assert_eq!(ids(&doc, "work-item").len(), 1_000);
    let requests = sandbox.requests();
    let batches: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/workitemsbatch"))
        .collect();
    let together = batches.iter().any(|a| {
        batches
            .iter()
            .any(|b| !std::ptr::eq(*a, *b) && a.in_flight_with(b))
    });
    assert!(together, "{} batches, one after another", batches.len());
    assert!(
        sandbox.peak_in_flight() <= 4,
        "within max_concurrent_requests"
    );
}

#[tokio::test]
async fn a_bad_pat_is_an_authentication_error_naming_the_connection() {
    let sandbox = sandbox("demo").await;
    let dir = tempfile::tempdir().unwrap();
    ado_config(dir.path(), &sandbox, "");
    std::fs::write(dir.path().join("secrets/ado.token"), "not-the-pat").unwrap();
    let session = session(dir.path()).await;
    let err = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap_err();
    let text = format!("{:#}", err.error);
    assert!(text.contains("authentication failed"), "{text}");
    assert!(text.contains("azure-devops"), "{text}");
    assert!(
        !text.to_lowercase().contains("json"),
        "not a parse error: {text}"
    );
    assert!(!text.contains("not-the-pat"), "no secret in the error");
    // The plugin asked the service not to redirect to a sign-in page (X-TFS-FedAuthRedirect:
    // Suppress), so the answer was a 401; without that header it is a 203 and HTML (below).
    assert!(sandbox.requests().iter().any(|r| r.status == 401));
}

#[tokio::test]
async fn a_sign_in_page_instead_of_json_is_an_authentication_error_too() {
    // Without the Suppress header the service answers a bad token with 203 and a page.
    let sandbox = sandbox("demo").await;
    let page = reqwest::Client::new()
        .get(format!(
            "{}/{}/_apis/projects?api-version=7.1",
            sandbox.ado_url(),
            tollgate_sandbox::ADO_ORGANIZATION
        ))
        .basic_auth("", Some("not-the-pat"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 203);
    assert!(page.text().await.unwrap().contains("<html"));
    // A single-sign-on proxy's page (a 200 of HTML) on every answer: the sync stops with an
    // authentication error naming the connection, and keeps nothing it half read.
    sandbox.set_faults(Some("html=1,max-in-row=1000000".parse().unwrap()));
    let dir = tempfile::tempdir().unwrap();
    ado_config(dir.path(), &sandbox, "");
    let session = session(dir.path()).await;
    let err = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap_err();
    let text = format!("{:#}", err.error);
    assert!(text.contains("authentication failed"), "{text}");
    assert!(text.contains("azure-devops"), "{text}");
    let store = session.store().unwrap();
    assert!(store.export().unwrap().is_empty());
}

fn comment_writes(sandbox: &Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.path.contains("/comments") && matches!(r.method.as_str(), "POST" | "PATCH"))
        .count()
}

/// Live comments by the Tollgate account on a work item.
fn ours(sandbox: &Sandbox, id: u64) -> Vec<tollgate_sandbox::ado::data::Comment> {
    let d = sandbox.ado();
    let bot = d.bot();
    d.item(id)
        .unwrap()
        .comments
        .iter()
        .filter(|c| !c.deleted && c.created_by == bot)
        .cloned()
        .collect()
}

#[tokio::test]
async fn publishing_keeps_one_comment_per_initiative_and_repeats_nothing() {
    let sandbox = sandbox("demo").await;
    let (_dir, session) = synced(&sandbox).await;
    let mut store = session.store().unwrap();
    let outcome = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    let with_findings: BTreeSet<u64> = outcome
        .findings
        .iter()
        .filter(|f| f.finding.subject.kind == tollgate_dmo::rules::SubjectKind::Initiative)
        .map(|f| f.finding.subject.key.parse().unwrap())
        .collect();
    assert!(with_findings.len() >= 4, "{with_findings:?}");

    // A dry run writes nothing.
    sandbox.clear_requests();
    let planned =
        tollgate_host::publish::publish(&session, store.as_mut(), None, true, "2026-11-27")
            .await
            .unwrap();
    assert!(planned.iter().all(|o| o.result == Published::Planned));
    let subjects: BTreeSet<u64> = planned.iter().map(|o| o.subject.parse().unwrap()).collect();
    assert_eq!(
        subjects, with_findings,
        "one comment planned per initiative with findings"
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
    for id in 4101..=4106 {
        let comments = ours(&sandbox, id);
        assert_eq!(
            comments.len(),
            usize::from(with_findings.contains(&id)),
            "{id}: one comment per initiative with findings"
        );
        let tags = sandbox
            .ado()
            .item(id)
            .unwrap()
            .text("System.Tags")
            .unwrap_or("")
            .to_string();
        assert_eq!(
            tags.contains("dmo-findings"),
            with_findings.contains(&id),
            "{id}: tagged when it has findings ({tags})"
        );
        if let Some(c) = comments.first() {
            assert_eq!(c.format, "markdown");
            assert!(c.text.contains("[tollgate:findings]"), "{}", c.text);
        }
    }
    let e4103 = ours(&sandbox, 4103);
    assert!(e4103[0].text.contains("GATE-001"), "{}", e4103[0].text);

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
    assert!(
        sandbox.requests().iter().all(|r| r.method == "GET"),
        "no write of any kind"
    );

    // 4105 gets its demand type: its finding resolves and its comment is edited in place.
    let now = sandbox.now_ms();
    assert!(sandbox.ado().set_field(
        4105,
        "Custom.DemandType",
        Some(json!("Service changes")),
        now
    ));
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    let after = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    assert!(after.changes.resolved >= 1, "{:?}", after.changes);
    let third =
        tollgate_host::publish::publish(&session, store.as_mut(), None, false, "2026-11-27")
            .await
            .unwrap();
    let e4105: Vec<_> = third.iter().filter(|o| o.subject == "4105").collect();
    assert!(
        e4105.iter().all(|o| o.result == Published::Updated),
        "{e4105:?}"
    );
    let comments = ours(&sandbox, 4105);
    assert_eq!(comments.len(), 1, "edited in place");
    assert!(comments[0].version > 1);
    // No longer listed as open; acknowledged as fixed instead (once: until the next steering).
    assert!(
        comments[0].text.contains("all findings are resolved")
            && comments[0]
                .text
                .contains("- **resolved** DEM-001 Demand type set: fixed since the last steering")
            && !comments[0].text.contains("**error** DEM-001"),
        "{}",
        comments[0].text
    );
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn an_incremental_sync_reads_what_changed_and_what_was_deleted() {
    let sandbox = sandbox("demo").await;
    let (_dir, session) = synced(&sandbox).await;
    let before = export(&session, &sandbox);

    // Later: someone renames an epic, adds three hours to a task, and deletes another task
    // that had hours on it.
    sandbox.advance_clock(std::time::Duration::from_secs(3600));
    let now = sandbox.now_ms();
    let (task, gone) = {
        let mut d = sandbox.ado();
        let with_hours = |d: &tollgate_sandbox::ado::data::AdoDataset, epic| {
            d.live_of_type("Task")
                .find(|t| d.epic_of(t.id) == Some(epic) && t.fields.contains_key(COMPLETED))
                .unwrap()
                .id
        };
        let (task, gone) = (with_hours(&d, 4101), with_hours(&d, 4102));
        let completed = d.item(task).unwrap().fields[COMPLETED].as_f64().unwrap();
        assert!(d.set_field(
            4101,
            "System.Title",
            Some(json!("Card controls, renamed")),
            now
        ));
        assert!(d.set_field(task, COMPLETED, Some(json!(completed + 3.0)), now));
        assert!(d.delete(gone, 0, now));
        (task, gone)
    };
    let gone_entries = entries_on(&before, gone).len();
    assert!(gone_entries > 0);

    sandbox.clear_requests();
    let summary = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap()
        .remove(0);
    let stream = |name: &str| summary.stream(name).unwrap().clone();
    assert_eq!(stream("initiatives").written, 1, "{:?}", summary.streams);
    // The changed task's entries are derived again from its history: all of them are
    // written (the same ones change nothing), one of them new.
    let task_entries = entries_on(&export(&session, &sandbox), task).len();
    assert_eq!(
        stream("time-entries").written as usize,
        task_entries,
        "{:?}",
        summary.streams
    );
    assert_eq!(stream("work-items").deleted, 1, "{:?}", summary.streams);
    assert_eq!(
        stream("time-entries").deleted as usize,
        gone_entries,
        "{:?}",
        summary.streams
    );
    // It asked for what changed, not for everything again.
    let requests = sandbox.requests();
    assert!(
        requests.len() < 80,
        "a handful of requests, not a re-read: {}",
        requests.len()
    );
    assert!(requests.iter().any(|r| r.path.ends_with("/recyclebin")));

    let doc = export(&session, &sandbox);
    assert_eq!(
        initiative(&doc, "4101")["entity"]["data"]["title"],
        "Card controls, renamed"
    );
    let new: Vec<Value> = entries_on(&doc, task)
        .into_iter()
        .filter(|r| !entries_on(&before, task).contains(r))
        .collect();
    assert_eq!(new.len(), 1, "the three new hours are one entry");
    assert_eq!(new[0]["entity"]["data"]["seconds"], 3 * 3600);
    assert_eq!(new[0]["entity"]["data"]["initiative_key"], "4101");
    assert!(
        !ids(&doc, "work-item").contains(&gone),
        "the deleted task is gone"
    );
    assert!(entries_on(&doc, gone).is_empty(), "and its hours with it");
    assert_faithful(&sandbox);
}

/// Move `item` from under `from` to under `to`, an hour on, as Azure Boards records it: one
/// revision of each of the three, the links on both sides.
fn move_under(sandbox: &Sandbox, item: u64, from: u64, to: u64) {
    use tollgate_sandbox::ado::data::{HIERARCHY_FORWARD, HIERARCHY_REVERSE, Relation};
    sandbox.advance_clock(std::time::Duration::from_secs(3600));
    let now = sandbox.now_ms();
    let mut d = sandbox.ado();
    let link = |rel, target| vec![Relation { rel, target }];
    let (up, down) = (HIERARCHY_REVERSE, HIERARCHY_FORWARD);
    d.apply(item, 0, now, vec![], link(up, to), link(up, from))
        .unwrap();
    d.apply(from, 0, now, vec![], vec![], link(down, item))
        .unwrap();
    d.apply(to, 0, now, vec![], link(down, item), vec![])
        .unwrap();
}

#[tokio::test]
async fn a_feature_moved_to_another_epic_takes_what_is_below_it_along() {
    // An incremental pass reads what changed: the feature, not the stories and tasks below
    // it, although the epic they count for (and their hours') is what moved.
    let sandbox = sandbox("demo").await;
    let (_dir, session) = synced(&sandbox).await;
    let (feature, old_epic, new_epic, below) = {
        let d = sandbox.ado();
        let above = |id: u64| -> Vec<u64> {
            std::iter::successors(d.item(id).and_then(|w| w.parent()), |&p| {
                d.item(p).and_then(|w| w.parent())
            })
            .take(16)
            .collect()
        };
        let feature = d
            .live_of_type("Feature")
            .find(|f| {
                d.epic_of(f.id) == Some(4101)
                    && d.items.iter().any(|t| {
                        t.kind() == "Task"
                            && t.fields
                                .contains_key("Microsoft.VSTS.Scheduling.CompletedWork")
                            && above(t.id).contains(&f.id)
                    })
            })
            .unwrap()
            .id;
        let below: BTreeSet<String> = d
            .items
            .iter()
            .filter(|w| w.deleted.is_none() && above(w.id).contains(&feature))
            .map(|w| w.id.to_string())
            .collect();
        (feature, 4101, 4102, below)
    };
    assert!(below.len() >= 2, "{below:?}");
    let epics_of_entries = |doc: &Value, key: &str| -> Vec<String> {
        entries_on(doc, key.parse().unwrap())
            .iter()
            .map(epic_of)
            .collect()
    };
    let epic_of_item = |doc: &Value, key: &str| -> Vec<String> {
        records(doc, "work-item")
            .into_iter()
            .filter(|r| r["provenance"]["external_id"].as_str() == Some(key))
            .map(epic_of)
            .collect()
    };
    let before = export(&session, &sandbox);
    let entries_below: usize = below
        .iter()
        .map(|k| epics_of_entries(&before, k).len())
        .sum();
    assert!(entries_below > 0, "hours were logged below the feature");

    move_under(&sandbox, feature, old_epic, new_epic);
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    let after = export(&session, &sandbox);
    for key in below.iter().chain([&feature.to_string()]) {
        assert_eq!(
            epic_of_item(&after, key),
            [new_epic.to_string()],
            "work item {key}"
        );
        for epic in epics_of_entries(&after, key) {
            assert_eq!(epic, new_epic.to_string(), "the hours of work item {key}");
        }
    }
    let entries_after: usize = below
        .iter()
        .map(|k| epics_of_entries(&after, k).len())
        .sum();
    assert_eq!(entries_after, entries_below, "the same entries, none lost");
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn a_task_moved_to_another_epic_takes_its_hours_with_it() {
    // The incremental pass skips the history of a changed item whose hours are as they were,
    // but not of one moved under another parent: its entries count for another epic now.
    let sandbox = sandbox("demo").await;
    let (_dir, session) = synced(&sandbox).await;
    let (task, old_parent, new_parent, new_epic) = {
        let d = sandbox.ado();
        let t = d
            .live_of_type("Task")
            .find(|t| t.fields.contains_key(COMPLETED) && d.epic_of(t.id) == Some(4101))
            .unwrap();
        let old_parent = t.fields["System.Parent"].as_u64().unwrap();
        let story = d
            .live_of_type("User Story")
            .find(|s| d.epic_of(s.id).is_some_and(|e| e != 4101))
            .unwrap();
        (t.id, old_parent, story.id, d.epic_of(story.id).unwrap())
    };
    let epics_of_entries = |session: &tollgate_host::app::Session| -> BTreeSet<String> {
        entries_on(&export(session, &sandbox), task)
            .iter()
            .map(epic_of)
            .collect()
    };
    assert_eq!(
        epics_of_entries(&session),
        BTreeSet::from(["4101".to_string()])
    );

    // Moved under a story of another epic: one revision of the task, its hours as they were.
    move_under(&sandbox, task, old_parent, new_parent);
    assert_eq!(sandbox.ado().epic_of(task), Some(new_epic));
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    assert_eq!(
        epics_of_entries(&session),
        BTreeSet::from([new_epic.to_string()]),
        "the task's hours count for its new epic"
    );
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn hours_taken_back_at_the_instant_a_pass_began_are_seen_by_the_next() {
    // An incremental pass reads the history only of items whose hours may have moved since
    // the last pass began, judged from the item then (`asOf`) and now. A revision made at that
    // very instant may have come after the last pass read the item: it must not count as seen.
    let sandbox = sandbox("demo").await;
    let (_dir, session) = synced(&sandbox).await;
    let entries_of =
        |session: &tollgate_host::app::Session, id: u64| entries_on(&export(session, &sandbox), id);
    let (task, hours) = {
        let d = sandbox.ado();
        let t = d
            .live_of_type("Task")
            .find(|t| t.fields.contains_key(COMPLETED))
            .unwrap();
        (t.id, t.fields[COMPLETED].as_f64().unwrap())
    };
    let before = entries_of(&session, task);

    // Two hours more, synced: a new entry.
    sandbox.advance_clock(std::time::Duration::from_secs(3600));
    let now = sandbox.now_ms();
    assert!(
        sandbox
            .ado()
            .set_field(task, COMPLETED, Some(json!(hours + 2.0)), now)
    );
    sandbox.clear_requests();
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    assert_eq!(entries_of(&session, task).len(), before.len() + 1);
    // The instant that pass began, by its time entries' first query.
    let began = sandbox
        .requests()
        .iter()
        .filter(|r| {
            r.path.ends_with("/wiql")
                && r.request_body.as_deref().is_some_and(|b| {
                    String::from_utf8_lossy(b).contains("[System.WorkItemType] <> ''")
                })
        })
        .min_by_key(|r| r.received)
        .map(|r| {
            let answer: Value =
                serde_json::from_slice(r.response_body.as_deref().unwrap()).unwrap();
            answer["asOf"].as_str().unwrap().to_string()
        })
        .expect("the time entries' query of the incremental pass");
    let began_ms = tollgate_sandbox::time::parse_ado_instant(&began).unwrap().0;

    // The two hours taken back at that very instant (after the pass had read the task).
    assert!(
        sandbox
            .ado()
            .set_field(task, COMPLETED, Some(json!(hours)), began_ms)
    );
    let summary = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        summary.stream("time-entries").unwrap().deleted,
        1,
        "{:?}",
        summary.streams
    );
    assert_eq!(
        entries_of(&session, task),
        before,
        "the entry of the two hours is gone with them"
    );
    assert_faithful(&sandbox);
}

/// Microsoft's Python client (`azure-devops` on PyPI) in a virtual environment under
/// `target/`, installed on first use; `None` (and the test says why) when
/// `TOLLGATE_SKIP_ADO_CLIENT` is set.
fn python_client() -> Option<std::path::PathBuf> {
    const PACKAGE: &str = "azure-devops==7.1.0b4";
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let venv = target.join("ado-client");
    let python = venv.join("bin/python");
    let ready = venv.join(".installed");
    if ready.exists() {
        return Some(python);
    }
    if std::env::var_os("TOLLGATE_SKIP_ADO_CLIENT").is_some() {
        eprintln!("TOLLGATE_SKIP_ADO_CLIENT is set: Microsoft's Python client was not run");
        return None;
    }
    let run = |program: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        assert!(
            out.status.success(),
            "{} {}: {}\n(needs python3 with venv, e.g. Debian's python3-venv, as .ci/run \
             installs, and PyPI; or TOLLGATE_SKIP_ADO_CLIENT=1)",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        std::path::Path::new("python3"),
        &["-m", "venv", venv.to_str().unwrap()],
    );
    run(&python, &["-m", "pip", "install", "--quiet", PACKAGE]);
    std::fs::write(&ready, PACKAGE).unwrap();
    Some(python)
}

#[tokio::test]
async fn microsofts_python_client_works_against_the_sandbox_unmodified() {
    let Some(python) = python_client() else {
        return;
    };
    let sandbox = sandbox("demo").await;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/ado_python_client.py");
    let base = format!(
        "{}/{}",
        sandbox.ado_url(),
        tollgate_sandbox::ADO_ORGANIZATION
    );
    // The client caches what discovery told it per base URL in ~/.azure-devops; a sandbox on
    // a port an earlier run used would then be asked nothing. A cache of its own, as on a
    // fresh machine.
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_path_buf();
    // On a blocking thread: the sandbox answers on this test's runtime meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(&script)
            .arg(&base)
            .arg(tollgate_sandbox::ADO_TOKEN)
            .env("AZURE_DEVOPS_CACHE_DIR", cache_dir)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "the client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["process"], "Tollgate Agile");
    assert_eq!(read["epics"], json!([4101, 4102, 4103, 4104, 4105, 4106]));
    assert_eq!(read["titles"][0], "Card controls in the app");
    assert!(read["relations"].as_u64().unwrap() >= 4);
    assert!(read["updates"].as_u64().unwrap() >= 2);
    assert_eq!(read["iterations"].as_array().unwrap().len(), 15);
    assert_eq!(read["comments"], 1);
    // It found its way by discovery, as Microsoft's clients do.
    let requests = sandbox.requests();
    assert!(requests.iter().any(|r| r.method == "OPTIONS"));
    assert!(requests.iter().any(|r| {
        r.path.ends_with("/_apis/ResourceAreas")
            || r.path
                .to_ascii_lowercase()
                .ends_with("/_apis/resourceareas")
    }));
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn the_sandbox_changes_a_share_of_the_organisation_over_http_for_an_incremental_sync() {
    // 100 epics: 1,100 work items, 100 tasks with Completed Work (two entries each).
    let sandbox = sandbox("synthetic:100").await;
    sandbox.record_bodies(false);
    let (_dir, session) = synced(&sandbox).await;
    let before = export(&session, &sandbox);
    assert_eq!(records(&before, "time-entry").len(), 200);

    // From outside, as `tollgate bench` does: 2 % of the work items edited, and a quarter
    // of an hour added to 2 % of the items with Completed Work.
    let answer = reqwest::Client::new()
        .post(format!(
            "http://{}/_sandbox/change?share=0.02",
            sandbox.addr()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let changed: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(changed["ado_work_items_changed"], 1100 / 50, "{changed}");
    assert_eq!(changed["ado_time_entries_added"], 100 / 50, "{changed}");

    sandbox.clear_requests();
    let summary = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap()
        .remove(0);
    let written = |name: &str| summary.stream(name).unwrap().written;
    // The changed items are written again (the epics among them as initiatives); only the
    // changed items whose hours moved have their history read and their entries derived again
    // (the two with a quarter of an hour more: two as before, one new). An item whose title
    // alone was edited keeps the entries it has, without a read.
    let at = changed["at_ms"].as_i64().unwrap();
    let (changed_ids, hours_moved): (BTreeSet<String>, BTreeSet<String>) = {
        let d = sandbox.ado();
        let now: Vec<_> = d
            .items
            .iter()
            .filter(|w| w.updates.last().is_some_and(|u| u.at == at))
            .collect();
        let moved = now
            .iter()
            .filter(|w| {
                w.updates
                    .iter()
                    .any(|u| u.at == at && u.fields.contains_key(COMPLETED))
            })
            .map(|w| w.id.to_string())
            .collect();
        (now.iter().map(|w| w.id.to_string()).collect(), moved)
    };
    assert_eq!(hours_moved.len(), 2, "{hours_moved:?}");
    let histories_read: BTreeSet<String> = sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/updates"))
        .map(|r| r.path.rsplit('/').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(
        histories_read, hours_moved,
        "the histories of the items whose hours moved, and no others"
    );
    assert!(changed_ids.len() >= 22, "{changed_ids:?}");
    assert!(
        written("initiatives") + written("work-items") >= 22,
        "{:?}",
        summary.streams
    );
    let doc = export(&session, &sandbox);
    let entries = records(&doc, "time-entry");
    let of_moved = entries
        .iter()
        .filter(|r| {
            r["entity"]["data"]["work_item_key"]
                .as_str()
                .is_some_and(|k| hours_moved.contains(k))
        })
        .count();
    assert_eq!(of_moved, 2 * 3);
    assert_eq!(
        written("time-entries") as usize,
        of_moved,
        "{:?}",
        summary.streams
    );
    assert_eq!(entries.len(), 202, "two entries more");
    let quarter_hours = entries
        .iter()
        .filter(|r| r["entity"]["data"]["seconds"] == 900)
        .count();
    assert_eq!(quarter_hours, 2, "the quarter hours added");
    assert_eq!(
        edited_titles(&doc),
        22,
        "every edited title, and nothing else"
    );
    // It asked for what changed, not for everything again.
    assert!(
        sandbox.requests().len() < 100,
        "{} requests",
        sandbox.requests().len()
    );
}

/// Work items (a batch with their links, a batch naming fields), an item's updates and a WIQL
/// query's references are written by hand for speed: a title of quotes, backslashes, control
/// characters and text beyond ASCII, and the organisation's address from the request's `Host`,
/// must come back to a client as the organisation holds them.
#[tokio::test]
async fn pages_written_by_hand_read_back_as_the_organisation_holds_them() {
    let sandbox = sandbox("demo").await;
    let hostile = "say \"hi\" \\ back\nslash / tab\t bell\u{7} é 漢 𝄞 \u{2028} </script>";
    let id = {
        let mut d = sandbox.ado();
        let w = d.items.iter().find(|w| !w.relations.is_empty()).unwrap();
        let (id, at) = (w.id, w.updates.last().unwrap().at + 60_000);
        let changes = vec![("System.Title", Some(json!(hostile)))];
        d.apply(id, 1, at, changes, Vec::new(), Vec::new()).unwrap();
        id
    };
    let d = sandbox.ado().clone();
    let host = "tollgate.example:8443/x\"y\\z";
    let base = format!("http://{host}/ado/{}", tollgate_sandbox::ADO_ORGANIZATION);
    let item_url = |id: u64| format!("{base}/_apis/wit/workItems/{id}");
    let wit = format!(
        "{}/{}/{}/_apis/wit",
        sandbox.ado_url(),
        tollgate_sandbox::ADO_ORGANIZATION,
        tollgate_sandbox::ADO_PROJECT
    );
    let client = reqwest::Client::new();
    let ask = |request: reqwest::RequestBuilder| async {
        let answer = request
            .basic_auth("", Some(tollgate_sandbox::ADO_TOKEN))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(
            answer.headers()["content-type"],
            "application/json; charset=utf-8; api-version=7.1"
        );
        serde_json::from_str::<Value>(&answer.text().await.unwrap()).unwrap()
    };
    let batch = |body: Value| {
        ask(client
            .post(format!("{wit}/workitemsbatch?api-version=7.1"))
            .header("content-type", "application/json")
            .body(body.to_string()))
    };
    // Every item the organisation has (not those in its recycle bin).
    let ids: Vec<u64> = d
        .items
        .iter()
        .map(|w| w.id)
        .filter(|id| d.item(*id).is_some())
        .collect();
    let named = [
        "System.Title",
        "System.Id",
        "Microsoft.VSTS.Scheduling.CompletedWork",
        "System.Title",
    ];
    let mut seen = 0;
    for chunk in ids.chunks(200) {
        let mut asked: Vec<u64> = chunk.to_vec();
        asked.insert(1, 999_999);
        let linked =
            batch(json!({"ids": asked, "$expand": "relations", "errorPolicy": "omit"})).await;
        let picked = batch(json!({"ids": asked, "fields": named, "errorPolicy": "omit"})).await;
        assert_eq!(linked["count"], asked.len());
        assert_eq!(linked["value"][1], Value::Null, "an unknown id is null");
        for (n, want) in asked.iter().enumerate().filter(|(n, _)| *n != 1) {
            let w = d.item(*want).unwrap();
            let (item, few) = (&linked["value"][n], &picked["value"][n]);
            let fields: serde_json::Map<String, Value> = w.fields.clone().into_iter().collect();
            assert_eq!(item["fields"], Value::Object(fields), "item {want}");
            assert_eq!(item["id"], *want);
            assert_eq!(item["rev"], w.rev());
            assert_eq!(item["url"], item_url(*want));
            let links: Vec<Value> = w
                .relations
                .iter()
                .map(|r| {
                    json!({"attributes": {"isLocked": false, "name": r.name()}, "rel": r.rel, "url": item_url(r.target)})
                })
                .collect();
            match links.is_empty() {
                true => assert!(item.get("relations").is_none(), "item {want}"),
                false => assert_eq!(item["relations"], Value::Array(links), "item {want}"),
            }
            let only: serde_json::Map<String, Value> = named
                .iter()
                .filter_map(|f| Some((f.to_string(), w.fields.get(*f)?.clone())))
                .collect();
            assert_eq!(few["fields"], Value::Object(only), "item {want}");
            assert_eq!(few["url"], item_url(*want));
            seen += 1;
        }
    }
    assert_eq!(seen, ids.len());
    let hostile_item = batch(json!({"ids": [id], "fields": ["System.Title"]})).await;
    assert_eq!(hostile_item["value"][0]["fields"]["System.Title"], hostile);

    // The updates of the item: each change, link and author as held, the last the title's.
    let w = d.item(id).unwrap();
    let updates = ask(client.get(format!("{wit}/workItems/{id}/updates?api-version=7.1"))).await;
    assert_eq!(updates["count"], w.updates.len());
    for (i, (u, got)) in w
        .updates
        .iter()
        .zip(updates["value"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(got["id"], i + 1);
        assert_eq!(got["rev"], u.rev);
        assert_eq!(got["workItemId"], id);
        assert_eq!(got["url"], format!("{}/updates/{}", item_url(id), i + 1));
        assert_eq!(
            got["revisedBy"]["uniqueName"],
            d.identities[u.by].unique_name
        );
        assert_eq!(got["revisedBy"]["id"], d.identities[u.by].id);
        for (name, (old, new)) in &u.fields {
            assert_eq!(got["fields"][name].get("oldValue"), old.as_ref(), "{name}");
            assert_eq!(got["fields"][name].get("newValue"), new.as_ref(), "{name}");
        }
        let links = |list: &[tollgate_sandbox::ado::data::Relation]| -> Vec<(String, String)> {
            list.iter()
                .map(|r| (r.rel.to_string(), item_url(r.target)))
                .collect()
        };
        let got_links = |side: &str| -> Vec<(String, String)> {
            got["relations"][side]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|r| {
                            (
                                r["rel"].as_str().unwrap().into(),
                                r["url"].as_str().unwrap().into(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(got_links("added"), links(&u.added), "update {}", i + 1);
        assert_eq!(got_links("removed"), links(&u.removed), "update {}", i + 1);
    }
    let last = &updates["value"][w.updates.len() - 1];
    assert_eq!(last["fields"]["System.Title"]["newValue"], hostile);
    assert_eq!(last["revisedDate"], "9999-01-01T00:00:00Z");

    // A query's references name the items by the same address.
    let query = format!(
        "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Id] >= {id} ORDER BY [System.Id]"
    );
    let found = ask(client
        .post(format!("{wit}/wiql?api-version=7.1&$top=3"))
        .header("content-type", "application/json")
        .body(json!({ "query": query }).to_string()))
    .await;
    let refs = found["workItems"].as_array().unwrap();
    assert_eq!(refs.len(), 3);
    assert_eq!(refs[0], json!({"id": id, "url": item_url(id)}));
    for r in refs {
        assert_eq!(r["url"], item_url(r["id"].as_u64().unwrap()));
    }
    assert_eq!(found["queryResultType"], "workItem");
}
