//! The fault matrix: each fault the sandbox injects, on 5 % and on 100 % of the answers, during
//! a full sync of a store that already holds the site. Whatever happens, the store keeps what it
//! had (the export is identical to that of a healthy run), a run that fails says which
//! connection, stream and request, a healthy run afterwards completes with nothing lost, and
//! no credential reaches the store or the log.

use base64::Engine as _;
use serde_json::Value;
use tollgate_host::app::Session;
use tollgate_host::cli::{SyncFlags, export_document, sync_all};
use tollgate_sandbox::Sandbox;
use tollgate_sandbox::faults::FAULT_NAMES;
use tollgate_tests::{capture_logs, captured_logs};

/// The faults of the matrix: what a tracker does on a bad day, and what a broken proxy does.
const FAULTS: &[&str] = &[
    "empty", "html", "drift", "echo", "drop", "truncate", "503", "429",
];

/// The export without fetch times, with the sandbox's address made neutral.
fn export(session: &Session, sandbox: &Sandbox) -> Value {
    let store = session.store().unwrap();
    let text = export_document(store.as_ref())
        .unwrap()
        .to_string()
        .replace(&sandbox.addr().to_string(), "sandbox");
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    for r in doc["records"].as_array_mut().unwrap() {
        r["provenance"]
            .as_object_mut()
            .unwrap()
            .remove("fetched_at");
    }
    doc
}

/// What one case saw, for the summary of the matrix.
struct Outcome {
    case: String,
    injected: u64,
    failed: Option<String>,
    diagnostics: Vec<String>,
}

async fn case(fault: &'static str, rate: f64) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    // One retry inside the call and one of the page keep the failing cases short.
    let sandbox = tollgate_tests::synthetic_jira(
        dir.path(),
        12,
        0,
        "\n[runtime.limits]\nhttp_retries = 1\nmax_retry_wait_secs = 1\n\n[sync]\npage_retries = 1\n",
    )
    .await;
    let session = Session::open(&dir.path().join("tollgate.toml"))
        .await
        .unwrap();
    let full = SyncFlags {
        full: true,
        ..SyncFlags::default()
    };
    sync_all(&session, None, full).await.unwrap();
    let reference = export(&session, &sandbox);
    let name = format!("{fault} at {:.0} %", rate * 100.0);

    let in_row = if rate >= 1.0 { 1_000_000 } else { 2 };
    sandbox.set_faults(Some(
        format!("{fault}={rate},seed=17,max-in-row={in_row},retry-after=0")
            .parse()
            .unwrap(),
    ));
    let result = sync_all(&session, None, full).await;
    let index = FAULT_NAMES.iter().position(|f| *f == fault).unwrap();
    let injected = sandbox.faults_injected()[index];
    sandbox.set_faults(None);
    assert!(injected > 0, "{name}: the fault was never drawn");

    let failed = result.err().map(|f| format!("{:#}", f.error));
    if let Some(message) = &failed {
        assert!(
            message.contains("connection `jira`") && message.contains("stream `"),
            "{name}: the error names the connection and the stream: {message}"
        );
        assert!(
            message.contains(" answered ")
                || message.contains("rate limited")
                || message.contains("transport error")
                || message.contains("timeout"),
            "{name}: the error names the request: {message}"
        );
    }
    let after = export(&session, &sandbox);
    if after != reference {
        let (a, b) = (
            after["records"].as_array().unwrap(),
            reference["records"].as_array().unwrap(),
        );
        let first = a.iter().zip(b).find(|(x, y)| x != y);
        panic!(
            "{name}: the store changed ({} records, was {}; first difference: {first:?}; {failed:?})",
            a.len(),
            b.len()
        );
    }
    let store = session.store().unwrap();
    let last = store.runs(Some("jira"), 1).unwrap().remove(0);
    let diagnostics: Vec<String> = store
        .diagnostics(last.id)
        .unwrap()
        .into_iter()
        .map(|d| d.code)
        .collect();

    // A healthy run afterwards: complete, nothing lost, nothing extra.
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap_or_else(|f| panic!("{name}: the healthy run after it failed: {:#}", f.error));
    assert!(
        export(&session, &sandbox) == reference,
        "{name}: the healthy run did not restore the store"
    );

    // The credential the host added is nowhere in the store: not in the SQLite file (nor its
    // log), and not in any row of whichever store the config names.
    let db = std::fs::read(dir.path().join("tollgate.db")).unwrap_or_default();
    let wal = std::fs::read(dir.path().join("tollgate.db-wal")).unwrap_or_default();
    let mut rows = Vec::new();
    let store = session.store().unwrap();
    for table in tollgate_store::TABLES {
        store
            .dump_table(table, &mut |row| {
                rows.extend(serde_json::to_vec(&row).unwrap());
                Ok(())
            })
            .unwrap();
    }
    assert!(rows.len() > 10_000, "{name}: the store was read");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        tollgate_sandbox::JIRA_CLOUD_USER,
        tollgate_sandbox::JIRA_CLOUD_TOKEN
    ));
    for bytes in [&db, &wal, &rows] {
        for secret in [tollgate_sandbox::JIRA_CLOUD_TOKEN, basic.as_str()] {
            assert!(
                memchr::memmem::find(bytes, secret.as_bytes()).is_none(),
                "{name}: the credential reached the store"
            );
        }
    }
    Outcome {
        case: name,
        injected,
        failed,
        diagnostics,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_ends_in_the_same_store_or_a_clear_error_and_a_healthy_run_restores_it() {
    capture_logs();
    let cases = FAULTS
        .iter()
        .flat_map(|f| [(*f, 0.05), (*f, 1.0)])
        .map(|(f, rate)| case(f, rate));
    let outcomes = futures_util::future::join_all(cases).await;
    let mut summary = String::new();
    for o in &outcomes {
        summary.push_str(&format!(
            "{:<16} {:>4} injected  {}\n",
            o.case,
            o.injected,
            o.failed.as_deref().map_or("same export", |_| "clear error")
        ));
    }
    eprintln!("{summary}");
    let outcome = |case: &str| outcomes.iter().find(|o| o.case == case).unwrap();
    // Answers that carry no data must fail the run when they are all there is.
    for fault in ["empty", "html", "drop", "429"] {
        assert!(
            outcome(&format!("{fault} at 100 %")).failed.is_some(),
            "{fault} at 100 % cannot pass: {summary}"
        );
    }
    // An echo of the credential is redacted, and the run goes on.
    assert!(outcome("echo at 100 %").failed.is_none(), "{summary}");
    // Drift is reported and the last values are kept.
    assert!(
        outcome("drift at 100 %")
            .diagnostics
            .iter()
            .any(|c| c == "type-drift"),
        "{summary}"
    );
    let logs = captured_logs();
    assert!(
        !logs.contains(tollgate_sandbox::JIRA_CLOUD_TOKEN),
        "the credential reached the log"
    );
}

#[tokio::test]
async fn the_sandbox_answers_after_the_latency_it_is_given() {
    let sandbox = Sandbox::start_with(
        "127.0.0.1:0",
        tollgate_sandbox::Options {
            latency_ms: 200,
            ..tollgate_sandbox::Options::default()
        },
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/rest/api/2/serverInfo", sandbox.jira_dc_url());
    let server_info = || async {
        let started = std::time::Instant::now();
        let answer = client
            .get(&url)
            .bearer_auth(tollgate_sandbox::JIRA_DC_TOKEN)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        started.elapsed()
    };
    for _ in 0..3 {
        // ±25 %: never less than 150 ms.
        assert!(server_info().await >= std::time::Duration::from_millis(150));
    }
    // Changed at run time; the answers stay the same.
    sandbox.set_latency(0);
    server_info().await;
}
