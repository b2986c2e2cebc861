//! Checks on the demo dataset: exactly its ground truth, with history across runs.

use tollgate_host::check::run_checks;
use tollgate_host::cli::{SyncFlags, sync_all};
use tollgate_store::Store;

const GROUND_TRUTH: &str = include_str!("../../../config/demo/expected-findings.txt");

fn expected() -> Vec<String> {
    let mut lines: Vec<String> = GROUND_TRUTH
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

fn found(store: &dyn Store) -> Vec<String> {
    let mut lines: Vec<String> = store
        .findings(false)
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f.finding.rule_id,
                f.finding.severity.as_str(),
                f.finding.subject.kind,
                f.finding.subject.key
            )
        })
        .collect();
    lines.sort();
    lines
}

#[tokio::test]
async fn the_demo_dataset_yields_exactly_its_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (session, _sandbox) = tollgate_tests::demo_synced(dir.path(), "").await;
    let mut store = session.store().unwrap();
    let outcome = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    assert_eq!(found(store.as_ref()), expected());
    assert_eq!(outcome.changes.new as usize, expected().len());
    // Nothing on the initiatives seeded clean.
    let clean = [
        "BIZ-1", "BIZ-9", "BIZ-11", "BIZ-15", "BIZ-16", "BIZ-17", "BIZ-19", "BIZ-21", "BIZ-23",
        "BIZ-25",
    ];
    let noisy: Vec<String> = outcome
        .findings
        .iter()
        .filter(|f| clean.contains(&f.finding.subject.key.as_str()))
        .map(|f| format!("{} {}", f.finding.rule_id, f.finding.subject.key))
        .collect();
    assert!(noisy.is_empty(), "findings on clean initiatives: {noisy:?}");
    // The Jira epic seeded with 56 hours before its gate.
    let early = outcome
        .findings
        .iter()
        .find(|f| f.finding.rule_id == "GATE-001" && f.finding.subject.key == "BIZ-22")
        .unwrap();
    assert_eq!(early.finding.evidence.value()["hours"], 56.0);
    // Evidence carries the numbers.
    let aino = outcome
        .findings
        .iter()
        .find(|f| f.finding.rule_id == "RES-001")
        .unwrap();
    assert_eq!(aino.finding.evidence.value()["total_percent"], 110.0);
}

#[tokio::test]
async fn findings_persist_resolve_and_reopen_with_stable_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let (session, _sandbox) = tollgate_tests::demo_synced(dir.path(), "").await;
    let mut store = session.store().unwrap();
    let first = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    let again = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    assert_eq!((again.changes.new, again.changes.resolved), (0, 0));
    assert_eq!(again.changes.persisting as usize, first.findings.len());
    // An unchanged file is not read again, and its rejected rows still stand.
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    let after_sync = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    assert_eq!(after_sync.changes.resolved, 0, "{:?}", after_sync.changes);

    // Fix Aino's allocations: RES-001, RES-005 and RES-006 on her resolve.
    let path = dir.path().join("hr/allocations.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("p-aino;BIZ-5;;20 %;", "p-aino;BIZ-5;;0 %;");
    std::fs::write(&path, text).unwrap();
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    let fixed = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    assert_eq!(fixed.changes.resolved, 3, "{:?}", fixed.changes);
    let all = store.findings(true).unwrap();
    let res001 = all.iter().find(|f| f.finding.rule_id == "RES-001").unwrap();
    assert!(res001.resolved_at.is_some());

    // Break it again: the same finding reopens, with its first-seen time kept.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("p-aino;BIZ-5;;0 %;", "p-aino;BIZ-5;;20 %;");
    std::fs::write(&path, text).unwrap();
    sync_all(&session, None, SyncFlags::default())
        .await
        .unwrap();
    let back = run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    assert_eq!(back.changes.reopened, 3);
    let again = store.findings(false).unwrap();
    let reopened = again
        .iter()
        .find(|f| f.finding.rule_id == "RES-001")
        .unwrap();
    assert_eq!(reopened.finding.fingerprint, res001.finding.fingerprint);
    assert_eq!(reopened.first_seen, res001.first_seen);
}

#[test]
fn docs_rules_md_is_written_from_the_default_pack() {
    let pack = tollgate_dmo::rules::RulePack::from_toml(tollgate_dmo::rules::DEFAULT_PACK).unwrap();
    let generated = tollgate_host::check::pack_markdown(&pack);
    let docs = include_str!("../../../docs/rules.md");
    assert_eq!(
        docs, generated,
        "docs/rules.md is out of date: run `tollgate rules --format md > docs/rules.md`"
    );
}

#[tokio::test]
async fn check_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    drop(tollgate_tests::demo_synced(dir.path(), "").await);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"))
            .args(args)
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .env_remove("TOLLGATE_STORE__URL")
            .output()
            .unwrap()
    };
    let out = run(&["check", "--as-of", "2026-11-27", "--format", "json"]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["as_of"], "2026-11-27");
    assert_eq!(doc["findings"].as_array().unwrap().len(), expected().len());
    assert_eq!(doc["findings"][0]["severity"], "blocker", "worst first");
    assert!(doc["findings"][0]["fingerprint"].as_str().unwrap().len() == 16);

    let out = run(&["check", "--as-of", "2026-11-27", "--format", "csv"]);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("severity,rule,subject_kind,subject,message,fingerprint,first_seen\n"));
    assert_eq!(csv.lines().count(), expected().len() + 1);

    // The table: a header, a line a finding and the summary, printed a block at a time.
    let out = run(&["check", "--as-of", "2026-11-27"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), expected().len() + 2, "{table}");
    assert!(lines[0].starts_with("SEVERITY  RULE"), "{table}");
    assert!(lines[1].starts_with("blocker "), "worst first: {table}");
    assert!(lines.iter().all(|l| l == &l.trim_end()), "{table}");
    assert!(
        lines[lines.len() - 1].contains("open finding(s) as of 2026-11-27"),
        "{table}"
    );
    // Output that cannot be written is an error that says so, not a panic.
    if let Ok(full) = std::fs::File::create("/dev/full") {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"))
            .args(["check", "--as-of", "2026-11-27"])
            .current_dir(dir.path())
            .env_remove("TOLLGATE_STORE__URL")
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("cannot write to stdout: No space left on device"),
            "{stderr}"
        );
    }

    let out = run(&["check", "--as-of", "2026-11-27", "--fail-on", "blocker"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("5 finding(s) at blocker or worse"));
    let out = run(&["check", "--as-of", "2026-13-45"]);
    assert_eq!(out.status.code(), Some(2), "a date that does not exist");
    let out = run(&["check", "--as-of", "27.11.2026"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["check", "--fail-on", "fatal"]);
    assert_eq!(out.status.code(), Some(2));
}
