//! Contract versions: a plugin built against contract 0.1 as released (tests/fixtures/
//! contract-0.1, compiled with wit-bindgen from crates/plugin-api/contracts/0.1.0) keeps
//! loading, reaching its connection, syncing into a store and publishing on this host; so
//! does one built against 0.2.0 as released (tests/fixtures/contract-0.2.0), before 0.2.1
//! added `http.send-all`.

use crate::cli::{ok, plugin_home, tollgate};
use std::collections::BTreeMap;
use std::path::Path;
use tollgate_runtime::bindings::types::{Entity, Finding, FindingStatus, PullRequest, PushRequest};
use tollgate_runtime::http::{Endpoint, Url};
use tollgate_runtime::{Credentials, JobContext, Limits, PluginSource, Runtime, Secret};
use tollgate_tests::{CONTRACT_0_1_PLUGIN, CONTRACT_0_2_0_PLUGIN, Upstream, shared_cache_dir};

const TOKEN: &str = "legacy-token-1d7c";

fn basic() -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("bot:{TOKEN}"))
    )
}

/// A job context for the fixture plugins' connection `api`, at `upstream` with basic
/// credentials the host adds, the store holding `known`.
fn context(
    connection: &str,
    upstream: &Upstream,
    known: tollgate_runtime::KnownKeys,
) -> JobContext {
    let mut endpoints = BTreeMap::new();
    endpoints.insert(
        "api".to_string(),
        Endpoint::new(
            Url::parse(&upstream.url()).unwrap(),
            &Credentials::Basic {
                user: "bot".into(),
                token: Secret::new(TOKEN),
            },
        ),
    );
    JobContext {
        connection: connection.into(),
        endpoints,
        data_dir: None,
        limits: Limits::default(),
        known: tollgate_runtime::KnownView::new(known),
        answered: None,
    }
}

#[tokio::test]
async fn a_plugin_of_contract_0_1_loads_and_every_call_works() {
    let runtime = Runtime::new(shared_cache_dir()).unwrap();
    let bytes = std::fs::read(CONTRACT_0_1_PLUGIN).unwrap();
    let plugin = runtime
        .load(&bytes, PluginSource::File(CONTRACT_0_1_PLUGIN.into()))
        .await
        .expect("a 0.1 plugin loads on a 0.2 host");
    assert_eq!(plugin.contract, "0.1.0");
    assert_eq!(plugin.info.id, "legacy");
    assert_eq!(plugin.info.streams, ["initiatives"]);

    // Its HTTP import is the host's, credentials added by the host.
    let upstream = Upstream::start(&basic(), "http://127.0.0.1:9").await;
    let ctx = context("legacy", &upstream, Default::default());
    let answer = runtime
        .check(&plugin, &ctx, &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(answer, r#"200 {"authenticated":true,"probe":false}"#);

    // A page of 0.1 records arrives as the same records of the current contract.
    let page = runtime
        .pull(
            &plugin,
            &ctx,
            PullRequest {
                stream: "initiatives".into(),
                settings: "{}".into(),
                cursor: None,
                checkpoint: None,
                page_size: 50,
            },
        )
        .await
        .unwrap();
    let Entity::Initiative(epic) = &page.records[0].entity else {
        panic!("an initiative: {:?}", page.records[0].entity);
    };
    assert_eq!(epic.key, "OLD-1");
    assert_eq!(
        epic.kpis[0].measurements,
        [("2026-10-01".to_string(), 40.0)]
    );
    assert_eq!(page.diagnostics[0].code, "old-format");
    assert_eq!(page.deletions[0].external_id, "gone");
    assert_eq!(page.checkpoint.as_deref(), Some("v1"));

    // An error of a 0.1 plugin keeps its kind.
    let unknown = runtime
        .pull(
            &plugin,
            &ctx,
            PullRequest {
                stream: "epics".into(),
                settings: "{}".into(),
                cursor: None,
                checkpoint: None,
                page_size: 50,
            },
        )
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("no stream `epics`"),
        "{unknown}"
    );

    // Findings reach it with their fields, outcomes come back by fingerprint.
    let finding = |fingerprint: &str, status| Finding {
        fingerprint: fingerprint.into(),
        rule_id: "GATE-001".into(),
        severity: tollgate_runtime::bindings::types::Severity::Blocker,
        status,
        subject_key: "OLD-1".into(),
        title: "t".into(),
        message: "m".into(),
        evidence: "{}".into(),
    };
    let outcomes = runtime
        .push(
            &plugin,
            &ctx,
            PushRequest {
                settings: "{}".into(),
                findings: vec![
                    finding("f1", FindingStatus::Open),
                    finding("f2", FindingStatus::Resolved),
                ],
                dry_run: true,
            },
        )
        .await
        .unwrap();
    let said: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{} {:?}", o.fingerprint, o.result))
        .collect();
    assert_eq!(
        said,
        [
            r#"f1 PushResult::Planned("GATE-001 Severity::Blocker FindingStatus::Open on OLD-1")"#,
            r#"f2 PushResult::Planned("GATE-001 Severity::Blocker FindingStatus::Resolved on OLD-1")"#
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_of_contract_0_1_syncs_into_a_store_from_the_command_line() {
    let upstream = Upstream::start(&basic(), "http://127.0.0.1:9").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("legacy.token"), TOKEN).unwrap();
    plugin_home(
        dir.path(),
        Path::new(CONTRACT_0_1_PLUGIN),
        "legacy",
        &format!(
            "[connections.old]\nplugin = \"legacy\"\nbase_url = \"{}\"\n\
             auth = {{ kind = \"basic\", user = \"bot\", token_file = \"legacy.token\" }}\n",
            upstream.url()
        ),
    );
    let dir = dir.path().to_path_buf();
    let (listed, validated, synced, exported) = tokio::task::spawn_blocking(move || {
        (
            tollgate(&dir, &["plugins", "list", "--format", "json"], &[]),
            tollgate(&dir, &["config", "validate", "--online"], &[]),
            tollgate(&dir, &["sync"], &[]),
            tollgate(&dir, &["export", "--format", "json"], &[]),
        )
    })
    .await
    .unwrap();
    let stdout = ok(&listed, "plugins list");
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let legacy = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "legacy")
        .unwrap_or_else(|| panic!("legacy is listed: {stdout}"));
    assert_eq!(legacy["contract"], "0.1.0");
    let stdout = ok(&validated, "config validate --online");
    assert!(stdout.contains(r#""authenticated":true"#), "{stdout}");
    let stdout = ok(&synced, "sync");
    assert!(
        stdout.contains("old-format"),
        "the diagnostic is shown: {stdout}"
    );
    let stdout = ok(&exported, "export");
    assert!(
        stdout.contains(r#""key":"OLD-1""#) || stdout.contains(r#""key": "OLD-1""#),
        "{stdout}"
    );
    assert!(stdout.contains("Built before 0.2"), "{stdout}");
}

/// A plugin built against 0.2.0, before 0.2.1 added `http.send-all`, finds every import it
/// was built with on this 0.2.x host (`http.send`, `log`, and `records.lookup`, new in 0.2.0)
/// and its records arrive whole, the 0.2.0 additions (KPI measurements) included.
#[tokio::test]
async fn a_plugin_of_contract_0_2_0_loads_and_every_import_it_was_built_with_works() {
    let runtime = Runtime::new(shared_cache_dir()).unwrap();
    let bytes = std::fs::read(CONTRACT_0_2_0_PLUGIN).unwrap();
    let plugin = runtime
        .load(&bytes, PluginSource::File(CONTRACT_0_2_0_PLUGIN.into()))
        .await
        .expect("a 0.2.0 plugin loads on a 0.2.2 host");
    assert_eq!(plugin.contract, "0.2.0");
    assert_eq!(plugin.info.id, "earlier");
    assert!(
        !tollgate_runtime::bindings::contract_version().starts_with("0.2.0"),
        "this test is about an earlier patch than the host's own"
    );

    let upstream = Upstream::start(&basic(), "http://127.0.0.1:9").await;
    let known = tollgate_runtime::KnownKeys::new([tollgate_dmo::model::StoredKey {
        kind: tollgate_dmo::model::EntityKind::Initiative,
        external_id: "100".into(),
        key: "NEW-1".into(),
        initiative_key: Some("NEW-1".into()),
    }]);
    let ctx = context("earlier", &upstream, known);
    let answer = runtime
        .check(&plugin, &ctx, &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(answer, r#"200 {"authenticated":true,"probe":false}"#);

    let page = runtime
        .pull(
            &plugin,
            &ctx,
            PullRequest {
                stream: "work-items".into(),
                settings: "{}".into(),
                cursor: None,
                checkpoint: None,
                page_size: 50,
            },
        )
        .await
        .unwrap();
    let Entity::WorkItem(item) = &page.records[0].entity else {
        panic!("a work item: {:?}", page.records[0].entity);
    };
    // Linked through what the store holds, as the plugin asked it.
    assert_eq!(item.initiative_key.as_deref(), Some("NEW-1"));
    let Entity::KpiMeasurement(kpi) = &page.records[1].entity else {
        panic!("a KPI measurement: {:?}", page.records[1].entity);
    };
    assert_eq!((kpi.initiative_key.as_str(), kpi.value), ("NEW-1", 40.0));

    let outcomes = runtime
        .push(
            &plugin,
            &ctx,
            PushRequest {
                settings: "{}".into(),
                findings: vec![Finding {
                    fingerprint: "f1".into(),
                    rule_id: "GATE-001".into(),
                    severity: tollgate_runtime::bindings::types::Severity::Error,
                    status: FindingStatus::Open,
                    subject_key: "NEW-1".into(),
                    title: "t".into(),
                    message: "m".into(),
                    evidence: "{}".into(),
                }],
                dry_run: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        format!("{} {:?}", outcomes[0].fingerprint, outcomes[0].result),
        r#"f1 PushResult::Unchanged("GATE-001 on NEW-1")"#
    );
}
