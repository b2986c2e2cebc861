//! The example plugin examples/rest-json (an outside author's plugin: any REST/JSON API mapped
//! by configuration) synced from the sandbox's Jira as if it were an in-house tool: epics from
//! Jira Cloud's token-paged search, work items from Data Center's offset-paged search.

use crate::cli::{ok, plugin_home};
use std::path::Path;
use std::process::Output;
use tollgate_sandbox::{JIRA_CLOUD_TOKEN, JIRA_CLOUD_USER, JIRA_DC_TOKEN, Sandbox};
use tollgate_tests::REST_JSON_PLUGIN;

fn tollgate(dir: &Path, args: &[&str]) -> Output {
    crate::cli::tollgate(
        dir,
        args,
        &[
            ("CLOUD_TOKEN", JIRA_CLOUD_TOKEN),
            ("DC_TOKEN", JIRA_DC_TOKEN),
        ],
    )
}

const WORK_JQL: &str = "project%20%3D%20BIZ%20AND%20issuetype%20in%20%28Story%2C%20Task%2C%20Bug%29%20ORDER%20BY%20key";

#[tokio::test(flavor = "multi_thread")]
async fn the_rest_json_example_syncs_token_and_offset_paged_lists_mapped_by_configuration() {
    let sandbox = Sandbox::start("127.0.0.1:0").await.unwrap();
    // What the source holds, asked directly: the work items the second connection must bring.
    let total = reqwest::Client::new()
        .get(format!(
            "{}/rest/api/2/search?jql={WORK_JQL}&maxResults=0",
            sandbox.jira_dc_url()
        ))
        .bearer_auth(JIRA_DC_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let total: serde_json::Value = serde_json::from_str(&total).unwrap();
    let work_items = total["total"].as_u64().unwrap();
    assert!(work_items > 100, "{total}");

    let dir = tempfile::tempdir().unwrap();
    plugin_home(
        dir.path(),
        Path::new(REST_JSON_PLUGIN),
        "rest-json",
        &format!(
            r#"[connections.tool]
plugin = "rest-json"
base_url = "{cloud}"
auth = {{ kind = "basic", user = "{user}", token_env = "CLOUD_TOKEN" }}

[connections.tool.settings.streams.initiatives]
path = "/rest/api/3/search/jql?jql=project%20%3D%20BIZ%20AND%20issuetype%20in%20%28Epic%2C%20%22Portfolio%20Epic%22%29%20ORDER%20BY%20key&fields=summary,status,duedate&maxResults=10"
items = "/issues"
id = "/id"
paging = {{ style = "token", param = "nextPageToken", next = "/nextPageToken" }}
fields = {{ key = "/key", title = "/fields/summary", status = "/fields/status/name", planned_end = "/fields/duedate" }}

[connections.tracker]
plugin = "rest-json"
base_url = "{dc}"
auth = {{ kind = "bearer", token_env = "DC_TOKEN" }}

[connections.tracker.settings.streams.work-items]
path = "/rest/api/2/search?jql={WORK_JQL}&fields=summary,status,issuetype"
items = "/issues"
id = "/id"
paging = {{ style = "offset", start_param = "startAt", size_param = "maxResults", total = "/total" }}
fields = {{ key = "/key", kind = "/fields/issuetype/name", title = "/fields/summary", status = "/fields/status/name", status_category = "/fields/status/statusCategory/key" }}
"#,
            cloud = sandbox.jira_cloud_url(),
            dc = sandbox.jira_dc_url(),
            user = JIRA_CLOUD_USER,
        ),
    );
    let path = dir.path().to_path_buf();
    let (validated, synced, exported) = tokio::task::spawn_blocking(move || {
        (
            tollgate(&path, &["config", "validate", "--online"]),
            tollgate(&path, &["sync"]),
            tollgate(&path, &["export", "--format", "json"]),
        )
    })
    .await
    .unwrap();
    let said = ok(&validated, "config validate --online");
    assert!(
        said.contains("initiatives: 10 item(s) on the first page"),
        "{said}"
    );
    let synced = ok(&synced, "sync");
    let doc: serde_json::Value = serde_json::from_str(&ok(&exported, "export")).unwrap();
    let records = doc["records"].as_array().unwrap();
    let of = |connection: &str, kind: &str| -> Vec<&serde_json::Value> {
        records
            .iter()
            .filter(|r| r["provenance"]["connection"] == connection && r["entity"]["kind"] == kind)
            .map(|r| &r["entity"]["data"])
            .collect()
    };
    let epics = of("tool", "initiative");
    assert_eq!(epics.len(), 25, "{synced}");
    assert_eq!(epics[0]["key"], "BIZ-1");
    assert_eq!(epics[0]["title"], "Instant payments");
    let items = of("tracker", "work-item");
    assert_eq!(items.len() as u64, work_items, "{synced}");
    assert!(
        items
            .iter()
            .all(|w| ["Story", "Task", "Bug"].contains(&w["kind"].as_str().unwrap())),
        "{items:?}"
    );
}
