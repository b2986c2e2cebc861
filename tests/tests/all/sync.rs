//! The sync engine and the store, end to end: incremental and full runs, deletions, run
//! history, and a run killed at many points that still ends with exactly the right data.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tollgate_host::app::Session;
use tollgate_host::cli::{SyncFlags, export_document, sync_all};
use tollgate_store::sqlite::SqliteStore;
use tollgate_store::{RunStatus, Store};
use tollgate_tests::{PAGED_PLUGIN, shared_cache_dir};

fn write_config(
    dir: &Path,
    people: u32,
    entries: u32,
    per_page: u32,
    delay_ms: u64,
    generation: u32,
) {
    write_config_with(dir, people, entries, per_page, delay_ms, generation, "", "");
}

/// As [`write_config`], with more plugin settings (`, key = value`) and more config.
#[allow(clippy::too_many_arguments)]
fn write_config_with(
    dir: &Path,
    people: u32,
    entries: u32,
    per_page: u32,
    delay_ms: u64,
    generation: u32,
    settings: &str,
    config: &str,
) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::copy(PAGED_PLUGIN, dir.join("plugins/paged.wasm")).unwrap();
    std::fs::write(
        dir.join("tollgate.toml"),
        format!(
            r#"[runtime]
plugin_dir = "plugins"
cache_dir = "{cache}"

[store]
url = "sqlite://state/tollgate.db"

[connections.synthetic]
plugin = "paged"
settings = {{ people = {people}, entries = {entries}, per_page = {per_page}, delay_ms = {delay_ms}, generation = {generation}{settings} }}
{config}"#,
            cache = shared_cache_dir().display()
        ),
    )
    .unwrap();
}

/// The directory's config opened and synced once, as `tollgate sync` does.
async fn open_and_sync(dir: &Path) -> (Session, Vec<tollgate_host::sync::SyncSummary>) {
    let session = Session::open(&dir.join("tollgate.toml")).await.unwrap();
    let summaries = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    (session, summaries)
}

/// The export without fetch times, which differ between any two runs by nature.
fn export_without_fetch_times(dir: &Path) -> serde_json::Value {
    let store = SqliteStore::open(&dir.join("state/tollgate.db")).unwrap();
    let mut doc = export_document(&store).unwrap();
    for r in doc["records"].as_array_mut().unwrap() {
        r["provenance"]
            .as_object_mut()
            .unwrap()
            .remove("fetched_at");
    }
    doc
}

fn count(doc: &serde_json::Value, kind: &str) -> usize {
    doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["entity"]["kind"] == kind)
        .count()
}

#[tokio::test]
async fn incremental_and_full_runs_apply_deletions_and_keep_history() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), 30, 4, 25, 0, 1);
    let (_session, summaries) = open_and_sync(dir.path()).await;
    let people = &summaries[0].streams[0];
    assert!(people.full, "the first run of a stream is full");
    assert_eq!((people.pages, people.written), (2, 30));
    let doc = export_without_fetch_times(dir.path());
    assert_eq!(
        (count(&doc, "person"), count(&doc, "time-entry")),
        (30, 120)
    );
    // Export order: kind (time entries before people), then connection and external id.
    assert_eq!(doc["records"][0]["entity"]["kind"], "time-entry");
    let first = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["entity"]["kind"] == "person")
        .unwrap();
    assert_eq!(first["provenance"]["connection"], "synthetic");
    assert_eq!(first["provenance"]["external_id"], "p00000");
    assert_eq!(first["entity"]["data"]["name"], "Person 0 (gen 1)");

    // Generation 2, incremental: explicit deletions apply, nothing is swept.
    write_config(dir.path(), 30, 4, 25, 0, 2);
    let (session, summaries) = open_and_sync(dir.path()).await;
    assert!(!summaries[0].streams[0].full);
    let doc = export_without_fetch_times(dir.path());
    assert_eq!(
        count(&doc, "person"),
        30,
        "an incremental run does not sweep"
    );
    assert_eq!(
        count(&doc, "time-entry"),
        90,
        "the first entry of each person was deleted"
    );

    // Full: the people the source no longer has are marked deleted.
    let summaries = sync_all(
        &session,
        None,
        SyncFlags {
            full: true,
            ..SyncFlags::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        summaries[0].streams[0].deleted, 5,
        "people 0, 7, 14, 21, 28"
    );
    let doc = export_without_fetch_times(dir.path());
    assert_eq!(count(&doc, "person"), 25);
    assert!(
        doc["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["provenance"]["external_id"] != "p00007")
    );

    let store = session.store().unwrap();
    let runs = store.runs(Some("synthetic"), 10).unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| r.status == RunStatus::Ok));
    assert_eq!(runs[0].records_deleted, 5);
    assert!(runs[0].full && !runs[1].full);
}

fn tollgate(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"));
    cmd.current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("TOLLGATE_STORE__URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[test]
fn a_connection_the_config_does_not_have_is_refused_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), 10, 10, 20, 0, 1);
    // `sync` and `publish` say it in the same words, and exit 2.
    let refused = |args: &[&str]| {
        let out = tollgate(dir.path())
            .args(args)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("`connections.synthetc`: no such connection; configured: synthetic"),
            "{args:?}: {stderr}"
        );
        stderr
    };
    let stderr = refused(&["sync", "--connection", "synthetc"]);
    // A name mistyped is the command's mistake: no run of it logged or recorded.
    assert!(!stderr.contains("sync finished"), "{stderr}");
    let store = SqliteStore::open(&dir.path().join("state/tollgate.db")).unwrap();
    assert!(store.runs(None, 10).unwrap().is_empty());
    refused(&["publish", "--dry-run", "--connection", "synthetc"]);
}

fn committed_pages(store: &SqliteStore) -> u64 {
    store
        .runs(None, 1000)
        .unwrap()
        .iter()
        .map(|r| r.pages)
        .sum()
}

#[test]
fn a_sync_killed_at_twelve_points_ends_identical_to_an_uninterrupted_one() {
    // 60 people in 3 pages, 600 entries in 30 pages: 33 pages, 40 ms each.
    let reference = tempfile::tempdir().unwrap();
    write_config(reference.path(), 60, 10, 20, 0, 1);
    let status = tollgate(reference.path()).arg("sync").status().unwrap();
    assert!(status.success());
    let expected = export_without_fetch_times(reference.path());
    assert_eq!(count(&expected, "time-entry"), 600);

    let crashy = tempfile::tempdir().unwrap();
    write_config(crashy.path(), 60, 10, 20, 40, 1);
    let db = crashy.path().join("state/tollgate.db");
    let mut kills = 0;
    for target in [1u64, 2, 3, 4, 6, 9, 12, 15, 19, 23, 27, 31] {
        // The streams are pulled side by side, so a run may commit past a target: each run
        // is killed once it has committed a page of its own.
        let before = SqliteStore::open(&db).map_or(0, |s| committed_pages(&s));
        let target = target.max(before + 1);
        let log = crashy.path().join(format!("sync-{target}.log"));
        let mut child = tollgate_tests::Running(
            tollgate(crashy.path())
                .arg("sync")
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap(),
        );
        let started = Instant::now();
        loop {
            if let Ok(store) = SqliteStore::open(&db)
                && committed_pages(&store) >= target
            {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "sync ended before page {target}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no progress to page {target}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    assert_eq!(kills, 12);
    let status = tollgate(crashy.path()).arg("sync").status().unwrap();
    assert!(status.success());

    let actual = export_without_fetch_times(crashy.path());
    assert_eq!(actual, expected, "nothing lost, nothing twice");
    let store = SqliteStore::open(&db).unwrap();
    let runs = store.runs(Some("synthetic"), 100).unwrap();
    assert_eq!(runs[0].status, RunStatus::Ok);
    assert_eq!(
        runs.iter()
            .filter(|r| r.status == RunStatus::Interrupted)
            .count(),
        12
    );
}

#[test]
fn status_and_export_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), 10, 2, 4, 0, 1);
    assert!(tollgate(dir.path()).arg("sync").status().unwrap().success());

    let out = tollgate(dir.path())
        .args(["status", "--format", "json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    let runs = &doc["runs"];
    assert_eq!(
        doc["jobs"],
        serde_json::json!([]),
        "no daemon jobs configured"
    );
    assert_eq!(runs[0]["connection"], "synthetic");
    assert_eq!(runs[0]["status"], "ok");
    assert_eq!(runs[0]["pages"], 3 + 5);
    assert_eq!(runs[0]["records_written"], 10 + 20);

    let first = tollgate(dir.path())
        .args(["export", "--format", "json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(first.status.success());
    tollgate(dir.path())
        .args(["export", "--out", "model.json"])
        .status()
        .unwrap();
    let file = std::fs::read(dir.path().join("model.json")).unwrap();
    assert_eq!(first.stdout, file, "stdout and --out give the same bytes");
    let doc: serde_json::Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(doc["format"], "tollgate-export");
    assert_eq!(doc["records"].as_array().unwrap().len(), 30);
    // Written a record at a time, the bytes of the whole document made at once and
    // pretty-printed: the same for a store with records and for one without.
    let whole = |db: &Path| {
        let store = SqliteStore::open(db).unwrap();
        let doc = serde_json::json!({
            "format": "tollgate-export",
            "version": 1,
            "records": store.export().unwrap(),
        });
        serde_json::to_string_pretty(&doc).unwrap() + "\n"
    };
    assert_eq!(
        String::from_utf8(file).unwrap(),
        whole(&dir.path().join("state/tollgate.db"))
    );
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(
        empty.path().join("tollgate.toml"),
        "[store]\nurl = \"sqlite://empty.db\"\n",
    )
    .unwrap();
    let out = tollgate(empty.path())
        .args(["export", "--out", "none.json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(empty.path().join("none.json")).unwrap(),
        whole(&empty.path().join("empty.db"))
    );
    // Written through a file beside it, renamed when complete: none is left.
    let names: Vec<_> = std::fs::read_dir(empty.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".partial")), "{names:?}");

    // The store URL can come from the environment.
    let out = tollgate(dir.path())
        .args(["status", "--format", "json"])
        .env("TOLLGATE_STORE__URL", "sqlite://elsewhere/other.db")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let other: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        other["runs"],
        serde_json::json!([]),
        "another store: no runs"
    );
    assert!(dir.path().join("elsewhere/other.db").exists());

    // A store written by a newer Tollgate is refused, and left as it was.
    let db = dir.path().join("state/tollgate.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let out = tollgate(dir.path())
        .arg("status")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("schema version 99, newer than this Tollgate knows"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_stream_that_never_ends_is_stopped_and_the_other_streams_are_kept() {
    for (runaway, config, says) in [
        (
            "repeat",
            "",
            "returned a cursor the plugin had already returned in this run",
        ),
        (
            "endless",
            "[sync]\nmax_pages_per_stream = 20\n",
            "did not end within 20 pages ([sync] max_pages_per_stream)",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_config_with(
            dir.path(),
            30,
            4,
            25,
            0,
            1,
            &format!(", runaway = \"{runaway}\""),
            config,
        );
        let session = Session::open(&dir.path().join("tollgate.toml"))
            .await
            .unwrap();
        let failure = sync_all(&session, None, SyncFlags::default())
            .await
            .unwrap_err();
        let message = format!("{:#}", failure.error);
        assert!(
            message.contains("stream `time-entries`") && message.contains(says),
            "{runaway}: {message}"
        );
        let doc = export_without_fetch_times(dir.path());
        assert_eq!(
            count(&doc, "person"),
            30,
            "{runaway}: the people stream is kept"
        );
        let store = session.store().unwrap();
        assert_eq!(store.runs(None, 1).unwrap()[0].status, RunStatus::Failed);
    }
}

/// A plugin that tells its next cursor before it returns a page (`paging.next-cursor`) has its
/// next page's call started then, beside the rest of its work; a told cursor the page does not
/// return only loses that head start: the data is the same as a plugin's that tells nothing.
#[tokio::test]
async fn a_told_next_cursor_starts_the_next_page_early_and_a_wrong_one_changes_no_data() {
    let mut exports = Vec::new();
    for tell in ["", "right", "wrong"] {
        let dir = tempfile::tempdir().unwrap();
        let settings = if tell.is_empty() {
            String::new()
        } else {
            format!(", tell = \"{tell}\"")
        };
        write_config_with(dir.path(), 30, 4, 25, 20, 1, &settings, "");
        let (_session, summaries) = open_and_sync(dir.path()).await;
        for (stream, pages) in [("people", 2), ("time-entries", 5)] {
            let summary = summaries[0].stream(stream).unwrap();
            assert_eq!(summary.pages, pages, "{tell:?}: {stream}");
            let started_early = if tell == "right" { pages - 1 } else { 0 };
            assert_eq!(
                summary.told_ahead, started_early,
                "{tell:?}: {stream}'s pages started on a told cursor"
            );
        }
        let doc = export_without_fetch_times(dir.path());
        assert_eq!(
            (count(&doc, "person"), count(&doc, "time-entry")),
            (30, 120),
            "{tell:?}"
        );
        exports.push(doc);
    }
    assert!(
        exports[1] == exports[0] && exports[2] == exports[0],
        "the same records whatever the plugin told"
    );
}

#[tokio::test]
async fn a_full_sync_that_would_delete_most_of_a_connection_marks_nothing_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), 30, 4, 25, 0, 1);
    let _ = open_and_sync(dir.path()).await;
    let before = export_without_fetch_times(dir.path());

    // The source now answers with 5 people of 30 (a wrong filter, a half-restored backup).
    write_config(dir.path(), 5, 4, 25, 0, 1);
    let session = Session::open(&dir.path().join("tollgate.toml"))
        .await
        .unwrap();
    let full = SyncFlags {
        full: true,
        ..SyncFlags::default()
    };
    let failure = sync_all(&session, None, full).await.unwrap_err();
    let message = format!("{:#}", failure.error);
    assert!(
        message.contains("would mark 125 of 150 records deleted (83.3 %)")
            && message.contains("--allow-mass-delete"),
        "{message}"
    );
    assert_eq!(
        export_without_fetch_times(dir.path()),
        before,
        "nothing was marked deleted"
    );

    // Told so, the same run applies it.
    let told = SyncFlags {
        allow_mass_delete: true,
        ..full
    };
    let summaries = sync_all(&session, None, told).await.unwrap();
    let deleted: u64 = summaries[0].streams.iter().map(|s| s.deleted).sum();
    assert_eq!(deleted, 125);
    let doc = export_without_fetch_times(dir.path());
    assert_eq!((count(&doc, "person"), count(&doc, "time-entry")), (5, 20));
}

#[cfg(unix)]
#[tokio::test]
async fn the_store_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), 3, 1, 25, 0, 1);
    let (session, _) = open_and_sync(dir.path()).await;
    let mode = |p: &str| {
        std::fs::metadata(dir.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("state"), 0o700);
    assert_eq!(mode("state/tollgate.db"), 0o600);
    // SQLite gives its write-ahead log the database file's mode; look while it is there.
    let _open = session.store().unwrap();
    for extra in ["state/tollgate.db-wal", "state/tollgate.db-shm"] {
        if dir.path().join(extra).exists() {
            assert_eq!(mode(extra), 0o600, "{extra}");
        }
    }
}

#[tokio::test]
async fn connections_are_synced_side_by_side_and_store_what_one_after_another_stores() {
    // Jira, Azure DevOps and the HR files of the demo, each tracker answer after ~20 ms: with
    // `parallel_connections = 1` no request to one tracker is in flight while the other is
    // asked; by default the two trackers are synced at once. The store ends the same.
    let mut exports = Vec::new();
    for parallel in [1, 4] {
        let sandbox = tollgate_sandbox::Sandbox::start_with(
            "127.0.0.1:0",
            tollgate_sandbox::Options {
                dataset: "demo".into(),
                faults: None,
                latency_ms: 20,
                ..tollgate_sandbox::Options::default()
            },
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        tollgate_tests::demo_config(dir.path(), &sandbox, tollgate_tests::JiraFace::Cloud, "");
        let config = dir.path().join("tollgate.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        if parallel != 4 {
            text.push_str(&format!("\n[sync]\nparallel_connections = {parallel}\n"));
        }
        std::fs::write(&config, text).unwrap();
        let session = Session::open(&config).await.unwrap();
        let summaries = sync_all(&session, None, SyncFlags::default())
            .await
            .unwrap();
        let names: Vec<&str> = summaries.iter().map(|s| s.connection.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        // Reported in the configured order, whichever finished first.
        let configured: Vec<&str> = session
            .config
            .connections
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, configured);
        // Whether a request to Jira and one to Azure DevOps were ever in flight together.
        let requests = sandbox.requests();
        let of = |prefix: &'static str| {
            requests
                .iter()
                .filter(move |r| r.path.starts_with(prefix))
                .collect::<Vec<_>>()
        };
        let (jira, ado) = (of("/jira-cloud/"), of("/ado/"));
        assert!(!jira.is_empty() && !ado.is_empty());
        let together = jira.iter().any(|j| ado.iter().any(|a| j.in_flight_with(a)));
        if parallel == 1 {
            assert!(!together, "one connection after another");
        } else {
            assert!(together, "Jira and Azure DevOps at once");
        }
        exports.push(tollgate_tests::export(&session, &sandbox));
    }
    assert_eq!(exports[0], exports[1], "the same records either way");
}

#[tokio::test]
async fn a_sync_by_hand_never_runs_beside_another_sync_of_the_same_connection() {
    // A daemon (here: its claim in the store) is syncing `hr`; `tollgate sync` leaves it
    // alone, says who holds it, and fails; once the claim is freed it syncs.
    let dir = tempfile::tempdir().unwrap();
    tollgate_tests::demo_hr_config(dir.path());
    let session = Session::open(&dir.path().join("tollgate.toml"))
        .await
        .unwrap();
    let mut store = session.store().unwrap();
    assert_eq!(
        store
            .claim("sync:hr", "nightly-a", Duration::from_secs(60))
            .unwrap(),
        tollgate_store::ClaimOutcome::Claimed
    );
    let refused = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("connection `hr` was not synced: instance `nightly-a` is syncing it"),
        "{refused}"
    );
    assert_eq!(
        store.live_records("hr").unwrap(),
        0,
        "nothing synced beside it"
    );
    store.release_claim("sync:hr", "nightly-a", false).unwrap();
    let synced = sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    assert!(synced[0].written() > 0);
    // The command line's own claim is freed when its sync ends: the daemon can sync again.
    let now = tollgate_store::now();
    let claims = store.claims().unwrap();
    assert!(
        claims
            .iter()
            .all(|c| c.key != "sync:hr" || c.lease_until <= now),
        "{claims:?}"
    );
    assert_eq!(
        store
            .claim("sync:hr", "nightly-a", Duration::from_secs(60))
            .unwrap(),
        tollgate_store::ClaimOutcome::Claimed
    );
}

#[test]
fn validating_online_opens_the_store_and_names_one_it_cannot_open_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), 3, 10, 5, 0, 1);
    let validate = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"))
            .args(["config", "validate", "--online"])
            .current_dir(dir)
            .env("XDG_CACHE_HOME", shared_cache_dir())
            .env_remove("TOLLGATE_STORE__URL")
            .output()
            .unwrap()
    };
    let out = validate(dir.path());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("store sqlite://state/tollgate.db: opened"),
        "{stdout}"
    );
    assert!(dir.path().join("state/tollgate.db").exists());

    // A PostgreSQL server nobody listens on: the command fails, naming the store, and the
    // password stays out of what it says.
    let path = dir.path().join("tollgate.toml");
    let config = std::fs::read_to_string(&path).unwrap().replace(
        "sqlite://state/tollgate.db",
        "postgres://tollgate:s3cret-pw@127.0.0.1:1/tollgate",
    );
    std::fs::write(&path, config).unwrap();
    let out = validate(dir.path());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("cannot be opened"), "{said}");
    assert!(said.contains("127.0.0.1:1"), "{said}");
    assert!(!said.contains("s3cret-pw"), "{said}");
}
