//! The pipeline on a PostgreSQL store (the server `TOLLGATE_TEST_POSTGRES` names; scripts/test
//! starts a throwaway one), beside the same on SQLite, and `tollgate migrate` between them.
//! The Postgres store blocks in place on the host's runtime, so these tests run on a
//! multi-threaded one, as the binary does.

use crate::cli::{ok, tollgate};
use tollgate_host::app::Session;
use tollgate_host::cli::{SyncFlags, sync_all};
use tollgate_store::testing::postgres_database;
use tollgate_tests::{JiraFace, demo_config, export, use_store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_on_postgres_stores_and_finds_what_it_does_on_sqlite() {
    let Some(url) = postgres_database("pipeline") else {
        return;
    };
    let sandbox = tollgate_sandbox::Sandbox::start("127.0.0.1:0")
        .await
        .unwrap();
    let mut results = Vec::new();
    for store in ["sqlite://tollgate.db", url.as_str()] {
        let dir = tempfile::tempdir().unwrap();
        demo_config(dir.path(), &sandbox, JiraFace::Cloud, "");
        use_store(dir.path(), store);
        let session = Session::open(&dir.path().join("tollgate.toml"))
            .await
            .unwrap();
        // Twice: the second run is incremental, from the checkpoints the first stored.
        for _ in 0..2 {
            sync_all(&session, None, SyncFlags::default())
                .await
                .unwrap();
        }
        let mut store = session.store().unwrap();
        let checked = tollgate_host::check::run_checks(
            &session.config,
            store.as_mut(),
            tollgate_host::cli::demo::DEMO_AS_OF,
        )
        .unwrap();
        let runs = store.runs(None, 100).unwrap();
        assert!(
            runs.iter()
                .all(|r| r.status == tollgate_store::RunStatus::Ok),
            "{store:?}: {runs:?}",
            store = tollgate_store::redact_url(&session.config.store.url)
        );
        let findings: Vec<(String, String)> = checked
            .findings
            .iter()
            .map(|f| (f.finding.rule_id.clone(), f.finding.subject.key.clone()))
            .collect();
        results.push((export(&session, &sandbox), findings, runs.len()));
    }
    let (sqlite, postgres) = (&results[0], &results[1]);
    assert!(sqlite.0["records"].as_array().unwrap().len() > 5_000);
    assert_eq!(sqlite.0, postgres.0, "the same records, in the same order");
    assert_eq!(sqlite.1, postgres.1, "the same findings");
    assert_eq!(sqlite.1.len(), 55, "the demo's ground truth");
    assert_eq!(sqlite.2, postgres.2, "the same run history");
}

#[test]
fn the_demo_store_round_trips_through_postgres_and_a_full_target_is_refused() {
    let Some(url) = postgres_database("migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&tollgate(d, &["demo", "--out", "demo"], &[]), "demo");
    let export_of = |store: &str| {
        std::fs::copy(d.join("demo/tollgate.toml"), d.join("demo/copy.toml")).unwrap();
        let text = std::fs::read_to_string(d.join("demo/copy.toml")).unwrap();
        std::fs::write(
            d.join("demo/copy.toml"),
            text.replace(
                "url = \"sqlite://tollgate.db\"",
                &format!("url = \"{store}\""),
            ),
        )
        .unwrap();
        ok(
            &tollgate(d, &["--config", "demo/copy.toml", "export"], &[]),
            "export",
        )
    };
    let original = export_of("sqlite://tollgate.db");
    assert!(original.len() > 1_000_000, "the demo store has its records");

    // SQLite -> Postgres, with the password from the environment (the test server ignores
    // it): it is in no output.
    let with_password = url.replacen("://tollgate@", "://tollgate:hunter2@", 1);
    let out = tollgate(
        d,
        &[
            "migrate",
            "--from",
            "sqlite://demo/tollgate.db",
            "--to",
            "env:PG_URL",
        ],
        &[("PG_URL", with_password.as_str())],
    );
    let printed = ok(&out, "migrate to postgres") + &String::from_utf8_lossy(&out.stderr);
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(
        printed.contains("every table has the same rows and checksum"),
        "{printed}"
    );
    assert!(printed.contains("records"), "a row per table: {printed}");
    assert_eq!(
        export_of(&url),
        original,
        "Postgres exports what SQLite did"
    );

    // A target with rows is refused, untouched, unless --force.
    let again = tollgate(
        d,
        &[
            "migrate",
            "--from",
            "sqlite://demo/tollgate.db",
            "--to",
            &url,
        ],
        &[],
    );
    assert_eq!(again.status.code(), Some(2));
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("is not empty") && said.contains("--force"),
        "{said}"
    );
    ok(
        &tollgate(
            d,
            &[
                "migrate",
                "--from",
                "sqlite://demo/tollgate.db",
                "--to",
                &url,
                "--force",
            ],
            &[],
        ),
        "migrate --force",
    );
    assert_eq!(export_of(&url), original);

    // And back: Postgres -> a new SQLite file.
    ok(
        &tollgate(
            d,
            &["migrate", "--from", &url, "--to", "sqlite://demo/back.db"],
            &[],
        ),
        "migrate back",
    );
    assert_eq!(export_of("sqlite://back.db"), original);

    // A source that is not there is not created.
    let missing = tollgate(
        d,
        &[
            "migrate",
            "--from",
            "sqlite://nope.db",
            "--to",
            "sqlite://demo/x.db",
        ],
        &[],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(!d.join("nope.db").exists());
}
