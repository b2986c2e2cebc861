//! The sandbox's Jira as users' own tools see it: jira.js (the npm registry's Jira client,
//! unmodified) on both faces, and the single-resource endpoints client libraries call, with
//! Jira's status and body on errors. Every exchange is checked against Atlassian's documents.

use serde_json::Value;
use tollgate_sandbox::{FieldValue, Flavour, Sandbox};
use tollgate_tests::{assert_faithful_to_jira as assert_faithful, recording_sandbox};

async fn sandbox() -> Sandbox {
    recording_sandbox("demo").await
}

/// jira.js in `target/jira-client`, installed from the npm registry on first use; `None` (and
/// the test says why) when `TOLLGATE_SKIP_JIRA_CLIENT` is set.
fn jira_js() -> Option<std::path::PathBuf> {
    const PACKAGE: &str = "jira.js@5.4.0";
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("jira-client");
    let ready = dir.join(".installed");
    if ready.exists() {
        return Some(dir.join("node_modules"));
    }
    if std::env::var_os("TOLLGATE_SKIP_JIRA_CLIENT").is_some() {
        eprintln!("TOLLGATE_SKIP_JIRA_CLIENT is set: jira.js was not run");
        return None;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg(PACKAGE)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run npm ({e}): Node.js and npm are needed, or TOLLGATE_SKIP_JIRA_CLIENT=1"
            )
        });
    assert!(
        out.status.success(),
        "npm install {PACKAGE}: {}\n(needs the npm registry; or TOLLGATE_SKIP_JIRA_CLIENT=1)",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&ready, PACKAGE).unwrap();
    Some(dir.join("node_modules"))
}

#[tokio::test]
async fn jira_js_works_against_both_faces_unmodified() {
    let Some(modules) = jira_js() else {
        return;
    };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/jira_js_client.js");
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let sandbox = sandbox().await;
        let (issues, worklog_issue, worklogs, sprint, in_sprint) = {
            let d = sandbox.jira();
            let issue = d
                .issues
                .iter()
                .find(|i| d.worklogs.iter().any(|w| w.issue_id == i.id))
                .unwrap();
            let worklogs = d.worklogs.iter().filter(|w| w.issue_id == issue.id).count();
            // The sprint with the most issues.
            let sprint = d
                .sprints
                .iter()
                .max_by_key(|s| {
                    d.issues
                        .iter()
                        .filter(|i| i.sprints.contains(&s.id))
                        .count()
                })
                .unwrap()
                .id;
            let in_sprint = d
                .issues
                .iter()
                .filter(|i| i.sprints.contains(&sprint))
                .count();
            (
                d.issues
                    .iter()
                    .filter(|i| d.project_of(&i.key).key == "BIZ")
                    .count(),
                issue.key.clone(),
                worklogs,
                sprint,
                in_sprint,
            )
        };
        let args: Vec<String> = match flavour {
            Flavour::Cloud => vec![
                "cloud".into(),
                sandbox.jira_cloud_url(),
                tollgate_sandbox::JIRA_CLOUD_USER.into(),
                tollgate_sandbox::JIRA_CLOUD_TOKEN.into(),
            ],
            Flavour::DataCenter => vec![
                "data-center".into(),
                sandbox.jira_dc_url(),
                tollgate_sandbox::JIRA_DC_TOKEN.into(),
            ],
        };
        let (script, modules) = (script.clone(), modules.clone());
        let worklog_issue_env = worklog_issue.clone();
        // On a blocking thread: the sandbox answers on this test's runtime meanwhile.
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("node")
                .arg(&script)
                .args(&args)
                .env("NODE_PATH", &modules)
                .env("WORKLOG_ISSUE", &worklog_issue_env)
                .env("SPRINT_ID", sprint.to_string())
                .output()
        })
        .await
        .unwrap()
        .expect("node runs");
        assert!(
            out.status.success(),
            "{flavour:?}: jira.js failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read: Value = serde_json::from_slice(&out.stdout).unwrap();
        let cloud = flavour == Flavour::Cloud;
        assert_eq!(
            read["deploymentType"],
            if cloud { "Cloud" } else { "Server" }
        );
        assert_eq!(read["project"], "BIZ");
        assert_eq!(read["searched"], issues, "{flavour:?}: every issue, paged");
        if cloud {
            assert_eq!(read["approximateCount"], issues);
        }
        assert_eq!(read["summary"], "Savings goals");
        assert!(read["names"].as_u64().unwrap() > 10, "expand=names");
        assert_eq!(read["worklogs"], worklogs, "{worklog_issue}");
        assert_eq!(read["missing"], 404);
        assert_eq!(read["comment"], "Edited by jira.js");
        assert_eq!(read["boards"], 4);
        assert_eq!(read["otherProject"], "Operations");
        assert_eq!(read["otherBoards"], 0);
        assert_eq!(read["sprints"], 14);
        assert_eq!(read["sprintIssues"], in_sprint);
        assert!(in_sprint > 0);
        assert!(!read["transitions"].as_array().unwrap().is_empty());
        assert_faithful(&sandbox);
    }
}

#[tokio::test]
async fn single_resources_answer_as_jira_does_errors_included() {
    let sandbox = sandbox().await;
    let client = reqwest::Client::new();
    for (face, base) in [
        ("cloud", sandbox.jira_cloud_url()),
        ("dc", sandbox.jira_dc_url()),
    ] {
        let get = |path: String| {
            let r = client.get(format!("{base}{path}"));
            if face == "cloud" {
                r.basic_auth(
                    tollgate_sandbox::JIRA_CLOUD_USER,
                    Some(tollgate_sandbox::JIRA_CLOUD_TOKEN),
                )
            } else {
                r.bearer_auth(tollgate_sandbox::JIRA_DC_TOKEN)
            }
            .send()
        };
        let v = if face == "cloud" { 3 } else { 2 };
        let answer = |r: reqwest::Response| async move {
            let status = r.status().as_u16();
            let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
            (status, body)
        };
        // serverInfo tells the faces apart.
        let (s, info) = answer(get(format!("/rest/api/{v}/serverInfo")).await.unwrap()).await;
        assert_eq!(s, 200);
        assert_eq!(
            info["deploymentType"],
            if face == "cloud" { "Cloud" } else { "Server" }
        );
        // One issue, with only the fields asked for; an unknown key is a 404 ErrorCollection.
        let (s, issue) = answer(
            get(format!("/rest/api/{v}/issue/BIZ-9?fields=summary,status"))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(issue["key"], "BIZ-9");
        let fields: Vec<&String> = issue["fields"].as_object().unwrap().keys().collect();
        assert_eq!(fields, ["status", "summary"]);
        for path in [
            format!("/rest/api/{v}/issue/BIZ-99999"),
            format!("/rest/api/{v}/issue/BIZ-99999/transitions"),
            format!("/rest/api/{v}/issue/BIZ-9/comment/424242"),
            format!("/rest/api/{v}/project/NOPE"),
            "/rest/agile/1.0/sprint/999999".to_string(),
        ] {
            let (s, body) = answer(get(path.clone()).await.unwrap()).await;
            assert_eq!(s, 404, "{face} {path}");
            assert!(
                body["errorMessages"][0]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{face} {path}: {body}"
            );
        }
        let (s, project) = answer(get(format!("/rest/api/{v}/project/BIZ")).await.unwrap()).await;
        assert_eq!((s, project["key"].as_str()), (200, Some("BIZ")));
        // A sprint's issues carry the agile fields: their sprints, flag and epic.
        let (closed, parent_of) = {
            let d = sandbox.jira();
            let s = d
                .sprints
                .iter()
                .filter(|s| s.state == "closed")
                .max_by_key(|s| {
                    d.issues
                        .iter()
                        .filter(|i| i.sprints.contains(&s.id))
                        .count()
                })
                .unwrap()
                .id;
            let parents: std::collections::BTreeMap<String, Option<String>> = d
                .issues
                .iter()
                .map(|i| (i.key.clone(), i.parent.clone()))
                .collect();
            (s, parents)
        };
        let (s, page) = answer(
            get(format!("/rest/agile/1.0/sprint/{closed}/issue"))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 200);
        let issues = page["issues"].as_array().unwrap();
        assert!(!issues.is_empty());
        for i in issues {
            let f = &i["fields"];
            let key = i["key"].as_str().unwrap();
            assert!(
                f["closedSprints"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["id"] == closed),
                "{face} {key}: {}",
                f["closedSprints"]
            );
            assert_eq!(f["flagged"], false);
            assert_eq!(
                f["epic"]["key"].as_str(),
                parent_of[key].as_deref(),
                "{face} {key}"
            );
        }
    }
    assert_faithful(&sandbox);
}

/// Every key a search finds, paging to the end (enhanced search on Cloud, startAt on DC).
async fn search_keys(
    client: &reqwest::Client,
    sandbox: &Sandbox,
    flavour: Flavour,
    jql: &str,
) -> Result<Vec<String>, (u16, Value)> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    let mut start = 0;
    loop {
        let (url, body, auth) = match flavour {
            Flavour::Cloud => {
                let mut b = serde_json::json!({"jql": jql, "fields": ["key"], "maxResults": 100});
                if let Some(t) = &token {
                    b["nextPageToken"] = t.clone().into();
                }
                (
                    format!("{}/rest/api/3/search/jql", sandbox.jira_cloud_url()),
                    b,
                    true,
                )
            }
            Flavour::DataCenter => (
                format!("{}/rest/api/2/search", sandbox.jira_dc_url()),
                serde_json::json!({"jql": jql, "fields": ["key"], "maxResults": 100, "startAt": start}),
                false,
            ),
        };
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        let r = if auth {
            r.basic_auth(
                tollgate_sandbox::JIRA_CLOUD_USER,
                Some(tollgate_sandbox::JIRA_CLOUD_TOKEN),
            )
        } else {
            r.bearer_auth(tollgate_sandbox::JIRA_DC_TOKEN)
        };
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        if status != 200 {
            return Err((status, v));
        }
        let page = v["issues"].as_array().unwrap();
        keys.extend(page.iter().map(|i| i["key"].as_str().unwrap().to_string()));
        match flavour {
            Flavour::Cloud => match v["nextPageToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(keys),
            },
            Flavour::DataCenter => {
                start += page.len();
                if page.is_empty() || start as u64 >= v["total"].as_u64().unwrap() {
                    return Ok(keys);
                }
            }
        }
    }
}

#[tokio::test]
async fn jql_as_people_write_it_on_both_faces() {
    let sandbox = sandbox().await;
    let client = reqwest::Client::new();
    let d = sandbox.jira().clone();
    let count = |f: &dyn Fn(&tollgate_sandbox::jira::data::Issue) -> bool| {
        d.issues.iter().filter(|i| f(i)).count()
    };
    // The same among the portfolio project's issues (the site has another project too).
    let biz = |f: &dyn Fn(&tollgate_sandbox::jira::data::Issue) -> bool| {
        count(&|i| d.project_of(&i.key).key == "BIZ" && f(i))
    };
    let active: Vec<u64> = d
        .sprints
        .iter()
        .filter(|s| s.state == "active")
        .map(|s| s.id)
        .collect();
    let sprint = d.sprints.iter().find(|s| s.state == "closed").unwrap();
    let word = d.issues[8]
        .summary
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let forms: Vec<(String, usize)> = vec![
        (
            "project = BIZ AND statusCategory = Done".into(),
            biz(&|i| i.status_category == "done"),
        ),
        (
            "project = BIZ AND (statusCategory = Done OR statusCategory = \"In Progress\")".into(),
            biz(&|i| i.status_category != "new"),
        ),
        (
            "project = BIZ AND NOT statusCategory = Done".into(),
            biz(&|i| i.status_category != "done"),
        ),
        (
            format!("status = \"{}\"", d.issues[8].status),
            count(&|i| i.status == d.issues[8].status),
        ),
        (
            format!("summary ~ \"{word}\""),
            count(&|i| i.summary.to_lowercase().contains(&word.to_lowercase())),
        ),
        (
            "sprint in openSprints()".into(),
            count(&|i| i.sprints.iter().any(|s| active.contains(s))),
        ),
        (
            format!("sprint = {}", sprint.id),
            count(&|i| i.sprints.contains(&sprint.id)),
        ),
        (
            format!("sprint = \"{}\"", sprint.name),
            count(&|i| i.sprints.contains(&sprint.id)),
        ),
        ("project = BIZ AND assignee = currentUser()".into(), 0),
        (
            "project = BIZ AND assignee is EMPTY".into(),
            biz(&|i| i.assignee.is_none()),
        ),
        (
            "project = BIZ AND labels is not EMPTY".into(),
            biz(&|i| !i.labels.is_empty()),
        ),
        (
            "project = BIZ AND resolved is EMPTY".into(),
            biz(&|i| i.resolved.is_none()),
        ),
        ("created >= -36500d".into(), d.issues.len()),
        // Reporters, and the custom fields by name on either face.
        (
            format!("reporter = {}", d.users[0].account_id),
            count(&|i| i.reporter == Some(0)),
        ),
        ("project = BIZ AND reporter = currentUser()".into(), 0),
        (
            "\"Gate\" in (G2, G3)".into(),
            count(
                &|i| matches!(i.custom.get("Gate"), Some(FieldValue::Option(g)) if g == "G2" || g == "G3"),
            ),
        ),
        (
            "\"Cost of Delay\" >= 30000".into(),
            count(
                &|i| matches!(i.custom.get("Cost of Delay"), Some(FieldValue::Number(n)) if *n >= 30000.0),
            ),
        ),
        (
            "\"Target end\" < 2027-01-01 AND issuetype = 10000".into(),
            count(&|i| {
                i.issue_type == 0
                    && matches!(i.custom.get("Target end"), Some(FieldValue::Date(t)) if t.as_str() < "2027-01-01")
            }),
        ),
        (
            "\"Strategic Theme\" is EMPTY AND issuetype = 10000".into(),
            count(&|i| i.issue_type == 0 && !i.custom.contains_key("Strategic Theme")),
        ),
        (
            "KPI ~ \"customers\"".into(),
            count(
                &|i| matches!(i.custom.get("KPI"), Some(FieldValue::Text(t)) if t.to_lowercase().contains("customers")),
            ),
        ),
        (
            "project = BIZ ORDER BY reporter, key".into(),
            biz(&|_| true),
        ),
        (
            "project in (OPS, 10001) ORDER BY key".into(),
            count(&|i| i.key.starts_with("OPS-")),
        ),
    ];
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        for (jql, expected) in &forms {
            let keys = search_keys(&client, &sandbox, flavour, jql)
                .await
                .unwrap_or_else(|e| panic!("{flavour:?} {jql}: {e:?}"));
            assert_eq!(keys.len(), *expected, "{flavour:?} {jql}");
        }
        // A custom field by the site's own id: the ids differ between the two faces.
        let gate_id = tollgate_sandbox::jira::data::field_def("Gate").id(flavour);
        let by_id = format!("cf[{}] = G2", gate_id.trim_start_matches("customfield_"));
        let keys = search_keys(&client, &sandbox, flavour, &by_id)
            .await
            .unwrap();
        assert_eq!(
            keys.len(),
            count(&|i| matches!(i.custom.get("Gate"), Some(FieldValue::Option(g)) if g == "G2")),
            "{flavour:?} {by_id}"
        );
        // Sorted as asked.
        let keys = search_keys(
            &client,
            &sandbox,
            flavour,
            "project = BIZ ORDER BY summary ASC",
        )
        .await
        .unwrap();
        let summaries: Vec<String> = keys
            .iter()
            .map(|k| d.issue(k).unwrap().summary.to_lowercase())
            .collect();
        assert!(
            summaries.windows(2).all(|w| w[0] <= w[1]),
            "{flavour:?}: by summary"
        );
        // Refused in Jira's words, as a 400 ErrorCollection.
        for (jql, words) in [
            ("nosuchfield = x", "Field 'nosuchfield' does not exist"),
            (
                "project = BIZ ORDER BY nosuchfield",
                "Field 'nosuchfield' does not exist",
            ),
            (
                "sprint in nosuchSprints()",
                "Unable to find JQL function 'nosuchSprints()'",
            ),
            (
                "status ~ Done",
                "The operator '~' is not supported by the 'status' field",
            ),
            ("(project = BIZ", "Expecting ')'"),
            (
                "KPI = \"Customers using it\"",
                "The operator '=' is not supported by the 'KPI' field",
            ),
            (
                "\"Gate\" > G1",
                "The operator '>' is not supported by the 'Gate' field",
            ),
        ] {
            let (status, body) = search_keys(&client, &sandbox, flavour, jql)
                .await
                .unwrap_err();
            assert_eq!(status, 400, "{flavour:?} {jql}");
            let message = body["errorMessages"][0].as_str().unwrap_or("");
            assert!(message.contains(words), "{flavour:?} {jql}: {body}");
        }
    }
    // Data Center runs an unbounded query; Cloud's enhanced search refuses it.
    let all = search_keys(&client, &sandbox, Flavour::DataCenter, "ORDER BY key")
        .await
        .unwrap();
    assert_eq!(all.len(), d.issues.len());
    let (status, body) = search_keys(&client, &sandbox, Flavour::Cloud, "ORDER BY key")
        .await
        .unwrap_err();
    assert_eq!(status, 400);
    assert!(
        body["errorMessages"][0]
            .as_str()
            .unwrap()
            .contains("Unbounded")
    );
    // On Data Center `parent` is a sub-task's parent; an epic's stories come by Epic Link.
    let dc_children = search_keys(
        &client,
        &sandbox,
        Flavour::DataCenter,
        "\"Epic Link\" = BIZ-9",
    )
    .await
    .unwrap();
    assert!(!dc_children.is_empty());
    let dc_parent = search_keys(&client, &sandbox, Flavour::DataCenter, "parent = BIZ-9")
        .await
        .unwrap();
    assert!(dc_parent.is_empty());
    let cloud_parent = search_keys(&client, &sandbox, Flavour::Cloud, "parent = BIZ-9")
        .await
        .unwrap();
    assert_eq!(cloud_parent.len(), dc_children.len());
    assert_faithful(&sandbox);
}

/// PUT `body` as JSON through one face's request builder (`face(method, path)`).
async fn put(
    face: &impl Fn(reqwest::Method, &str) -> reqwest::RequestBuilder,
    path: &str,
    body: Value,
) -> reqwest::Response {
    face(reqwest::Method::PUT, path)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// A `POST` of a JSON body to `path` of the face at `face_url`, with Cloud's credentials.
fn cloud_post(
    client: &reqwest::Client,
    face_url: &str,
    path: &str,
    body: &Value,
) -> reqwest::RequestBuilder {
    client
        .post(format!("{face_url}{path}"))
        .basic_auth(
            tollgate_sandbox::JIRA_CLOUD_USER,
            Some(tollgate_sandbox::JIRA_CLOUD_TOKEN),
        )
        .header("content-type", "application/json")
        .body(body.to_string())
}

/// A response's body as JSON.
async fn json_of(r: reqwest::Response) -> Value {
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn an_issue_tells_its_history() {
    let sandbox = sandbox().await;
    let client = reqwest::Client::new();
    let (key, status, resolved) = {
        let d = sandbox.jira();
        let done = d
            .issues
            .iter()
            .find(|i| i.status_category == "done" && i.resolved.is_some() && i.parent.is_some())
            .unwrap();
        (done.key.clone(), done.status, done.resolved.unwrap())
    };
    // A change made now joins the history, as Jira records it.
    let now = sandbox.now_ms();
    assert!(
        sandbox
            .jira()
            .edit_summary(&key, "Renamed for the history", now)
    );
    let cloud = |path: String| {
        client
            .get(format!("{}{path}", sandbox.jira_cloud_url()))
            .basic_auth(
                tollgate_sandbox::JIRA_CLOUD_USER,
                Some(tollgate_sandbox::JIRA_CLOUD_TOKEN),
            )
            .send()
    };
    let body = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap(),
        )
    };
    let (s, issue) = body(
        cloud(format!("/rest/api/3/issue/{key}?expand=changelog"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let histories = issue["changelog"]["histories"].as_array().unwrap();
    let items: Vec<(String, String, String)> = histories
        .iter()
        .map(|h| {
            let i = &h["items"][0];
            (
                i["field"].as_str().unwrap().to_string(),
                i["fromString"].as_str().unwrap_or("").to_string(),
                i["toString"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    // Cloud embeds the recent updates newest first (the /changelog resource pages them
    // oldest first).
    assert_eq!(
        items,
        [
            (
                "summary".to_string(),
                items[0].1.clone(),
                "Renamed for the history".to_string()
            ),
            (
                "status".to_string(),
                "In Progress".to_string(),
                status.to_string()
            ),
            (
                "status".to_string(),
                "To Do".to_string(),
                "In Progress".to_string()
            ),
        ]
    );
    assert_eq!(
        histories[1]["created"],
        tollgate_sandbox::time::jira_timestamp(resolved),
        "done when it was resolved"
    );
    assert_eq!(histories[0]["items"][0]["fieldId"], "summary");
    // Data Center embeds the whole history oldest first, fields named without ids.
    let dc_get = |path: String| {
        client
            .get(format!("{}{path}", sandbox.jira_dc_url()))
            .bearer_auth(tollgate_sandbox::JIRA_DC_TOKEN)
            .send()
    };
    let dc_issue = json_of(
        dc_get(format!("/rest/api/2/issue/{key}?expand=changelog"))
            .await
            .unwrap(),
    )
    .await;
    let dc_histories = dc_issue["changelog"]["histories"].as_array().unwrap();
    assert_eq!(dc_histories.len(), 3);
    assert_eq!(dc_histories[0]["items"][0]["toString"], "In Progress");
    assert_eq!(dc_histories[2]["items"][0]["field"], "summary");
    assert!(dc_histories[2]["items"][0].get("fieldId").is_none());
    // Cloud pages the history; Data Center has no such resource.
    let (s, page) = body(
        cloud(format!("/rest/api/3/issue/{key}/changelog?maxResults=2"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (page["total"].as_u64(), page["isLast"].as_bool()),
        (Some(3), Some(false))
    );
    assert!(page["nextPage"].as_str().unwrap().contains("startAt=2"));
    let dc = dc_get(format!("/rest/api/2/issue/{key}/changelog"))
        .await
        .unwrap();
    assert_eq!(dc.status(), 404);
    // A search with expand=changelog carries it per issue.
    let found = client
        .post(format!("{}/rest/api/3/search/jql", sandbox.jira_cloud_url()))
        .basic_auth(
            tollgate_sandbox::JIRA_CLOUD_USER,
            Some(tollgate_sandbox::JIRA_CLOUD_TOKEN),
        )
        .header("content-type", "application/json")
        .body(serde_json::json!({"jql": format!("key = {key}"), "fields": ["summary"], "expand": "changelog"}).to_string())
        .send()
        .await
        .unwrap();
    let (s, found) = body(found).await;
    assert_eq!(s, 200);
    assert_eq!(found["issues"][0]["changelog"]["total"], 3);
    // Data Center's classic search takes `expand` as a list, as SearchRequestBean says
    // (Cloud's enhanced search refuses one, below).
    let dc_found: Value = client
        .post(format!("{}/rest/api/2/search", sandbox.jira_dc_url()))
        .bearer_auth(tollgate_sandbox::JIRA_DC_TOKEN)
        .header("content-type", "application/json")
        .body(serde_json::json!({"jql": format!("key = {key}"), "fields": ["summary"], "expand": ["changelog"]}).to_string())
        .send()
        .await
        .map(json_of)
        .unwrap()
        .await;
    assert_eq!(dc_found["issues"][0]["changelog"]["total"], 3);
    // An epic's history holds its gate moves and KPI measurements, several fields per entry.
    let epic = json_of(
        dc_get("/rest/api/2/issue/BIZ-9?expand=changelog".into())
            .await
            .unwrap(),
    )
    .await;
    let moves: Vec<(String, String)> = epic["changelog"]["histories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["items"].as_array().unwrap().clone())
        .filter(|i| i["field"] == "Gate")
        .map(|i| {
            (
                i["fromString"].as_str().unwrap().to_string(),
                i["toString"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [("G0", "G1"), ("G1", "G2"), ("G2", "G3")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(
        epic["changelog"]["histories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["items"].as_array().unwrap().len() == 2
                && h["items"][0]["field"] == "KPI Actual"
                && h["items"][1]["field"] == "KPI Measured On")
    );
    assert_faithful(&sandbox);
    // (After the check against the documents: this request breaks them on purpose.)
    let refused = cloud_post(
        &client,
        &sandbox.jira_cloud_url(),
        "/rest/api/3/search/jql",
        &serde_json::json!({"jql": format!("key = {key}"), "expand": ["changelog"]}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn a_bulk_fetch_answers_as_jira_cloud_does() {
    let sandbox = sandbox().await;
    sandbox.record_bodies(true);
    let client = reqwest::Client::new();
    let post = |face_url: String, body: Value| {
        cloud_post(&client, &face_url, "/rest/api/3/issue/bulkfetch", &body).send()
    };
    let cloud = sandbox.jira_cloud_url();
    let (id9, id3) = {
        let d = sandbox.jira();
        (d.issue("BIZ-9").unwrap().id, d.issue("BIZ-3").unwrap().id)
    };
    // By id or key (keys case-insensitively), only the fields asked for, in ascending id
    // order; an unknown one is left out without an error.
    let answer = post(
        cloud.clone(),
        serde_json::json!({
            "issueIdsOrKeys": [id9.to_string(), "biz-3", "BIZ-99999"],
            "fields": ["summary", "status"],
        }),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
    let body = json_of(answer).await;
    let ids: Vec<&str> = body["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let mut expected = [id3.to_string(), id9.to_string()];
    expected.sort_by_key(|i| i.parse::<u64>().unwrap());
    assert_eq!(ids, expected);
    let fields: Vec<&String> = body["issues"][0]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(fields, ["status", "summary"]);
    assert_eq!(body["issueErrors"], serde_json::json!([]));
    // An issue Jira could not load this time is listed under `issueErrors`, once.
    sandbox.fail_bulk_fetch(id9, 1);
    let body = json_of(
        post(
            cloud.clone(),
            serde_json::json!({"issueIdsOrKeys": [id9.to_string(), "BIZ-3"]}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(body["issues"].as_array().unwrap().len(), 1);
    assert_eq!(body["issueErrors"][0]["id"], id9.to_string());
    assert_faithful(&sandbox);
    // None, or more than 100, or `expand` as a string: 400 with an ErrorCollection (requests
    // the documents do not allow, so left out of the check above); Data Center has no bulk
    // fetch.
    sandbox.clear_requests();
    let too_many: Vec<String> = (0..101).map(|i| format!("BIZ-{i}")).collect();
    for body in [
        serde_json::json!({"issueIdsOrKeys": []}),
        serde_json::json!({"issueIdsOrKeys": too_many}),
        serde_json::json!({"issueIdsOrKeys": ["BIZ-1"], "expand": "changelog"}),
    ] {
        let answer = post(cloud.clone(), body.clone()).await.unwrap();
        assert_eq!(answer.status(), 400, "{body}");
        let errors = json_of(answer).await;
        assert!(errors["errorMessages"][0].is_string(), "{errors}");
    }
    let dc = client
        .post(format!(
            "{}/rest/api/2/issue/bulkfetch",
            sandbox.jira_dc_url()
        ))
        .bearer_auth(tollgate_sandbox::JIRA_DC_TOKEN)
        .header("content-type", "application/json")
        .body(serde_json::json!({"issueIdsOrKeys": ["BIZ-1"]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(dc.status(), 404);
}

#[tokio::test]
async fn a_story_is_moved_to_another_epic_by_an_edit_and_its_changelog_says_so_on_both_faces() {
    let sandbox = sandbox().await;
    sandbox.record_bodies(true);
    let client = reqwest::Client::new();
    let (story, old_epic, new_epic, not_an_epic, new_epic_id) = {
        let d = sandbox.jira();
        let story = d.issues.iter().find(|i| i.parent.is_some()).unwrap();
        let old = story.parent.clone().unwrap();
        let new = d.another_epic(&old).unwrap();
        let other = d
            .issues
            .iter()
            .find(|i| i.parent.is_some() && i.key != story.key)
            .unwrap();
        (
            story.key.clone(),
            old,
            new.key.clone(),
            other.key.clone(),
            new.id.to_string(),
        )
    };
    let cloud = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{}{path}", sandbox.jira_cloud_url()))
            .basic_auth(
                tollgate_sandbox::JIRA_CLOUD_USER,
                Some(tollgate_sandbox::JIRA_CLOUD_TOKEN),
            )
            .header("content-type", "application/json")
    };
    let parent_of = |key: &str| sandbox.jira().issue(key).unwrap().parent.clone();

    // An epic that does not exist, or an issue that is not an epic: 400 naming the field,
    // and nothing changes, not even the labels the same edit sets.
    let labels_of = |key: &str| sandbox.jira().issue(key).unwrap().labels.clone();
    let labels_before = labels_of(&story);
    for (asked, why) in [
        (serde_json::json!({"key": "BIZ-99999"}), "no such issue"),
        (serde_json::json!({"key": not_an_epic}), "not an epic"),
        (serde_json::json!(["BIZ-1"]), "not an object"),
    ] {
        let answer = put(
            &cloud,
            &format!("/rest/api/3/issue/{story}"),
            serde_json::json!({"fields": {"parent": asked, "labels": ["refused-edit"]}}),
        )
        .await;
        assert_eq!(answer.status(), 400, "{why}");
        assert!(
            json_of(answer).await["errors"]["parent"].is_string(),
            "{why}"
        );
        assert_eq!(
            parent_of(&story).as_deref(),
            Some(old_epic.as_str()),
            "{why}"
        );
        assert_eq!(labels_of(&story), labels_before, "{why}");
    }
    // An epic has no epic.
    let answer = put(
        &cloud,
        &format!("/rest/api/3/issue/{new_epic}"),
        serde_json::json!({"fields": {"parent": {"key": old_epic}, "labels": ["refused-edit"]}}),
    )
    .await;
    assert_eq!(answer.status(), 400);
    assert_eq!(parent_of(&new_epic), None);
    assert!(!labels_of(&new_epic).contains(&"refused-edit".to_string()));

    // Cloud: `fields.parent` by key; the changelog's newest entry names the move as Cloud
    // does (IssueParentAssociation, the epics' ids and keys, no field id).
    assert_eq!(
        put(
            &cloud,
            &format!("/rest/api/3/issue/{story}"),
            serde_json::json!({"fields": {"parent": {"key": new_epic}}})
        )
        .await
        .status(),
        204
    );
    assert_eq!(parent_of(&story).as_deref(), Some(new_epic.as_str()));
    let log = json_of(
        cloud(
            reqwest::Method::GET,
            &format!("/rest/api/3/issue/{story}/changelog?startAt=0&maxResults=100"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let newest = log["values"].as_array().unwrap().last().unwrap();
    let item = &newest["items"][0];
    assert_eq!(item["field"], "IssueParentAssociation");
    assert_eq!(item["toString"], new_epic.as_str());
    assert_eq!(item["fromString"], old_epic.as_str());
    assert_eq!(item["to"], new_epic_id.as_str());
    assert!(item.get("fieldId").is_none(), "{item}");

    // `update.parent` with `set` moves it back; `null` takes it out of any epic.
    assert_eq!(
        put(
            &cloud,
            &format!("/rest/api/3/issue/{story}"),
            serde_json::json!({"update": {"parent": [{"set": {"key": old_epic}}]}})
        )
        .await
        .status(),
        204
    );
    assert_eq!(parent_of(&story).as_deref(), Some(old_epic.as_str()));
    assert_eq!(
        put(
            &cloud,
            &format!("/rest/api/3/issue/{story}"),
            serde_json::json!({"fields": {"parent": null}})
        )
        .await
        .status(),
        204
    );
    assert_eq!(parent_of(&story), None);

    // Data Center: the Epic Link field, a key; its changelog names the field by name.
    let epic_link = tollgate_sandbox::jira::data::field_def("Epic Link").id(Flavour::DataCenter);
    let dc = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{}{path}", sandbox.jira_dc_url()))
            .bearer_auth(tollgate_sandbox::JIRA_DC_TOKEN)
            .header("content-type", "application/json")
    };
    assert_eq!(
        put(
            &dc,
            &format!("/rest/api/2/issue/{story}"),
            serde_json::json!({"fields": {epic_link.clone(): new_epic}})
        )
        .await
        .status(),
        204
    );
    assert_eq!(parent_of(&story).as_deref(), Some(new_epic.as_str()));
    let issue = json_of(
        dc(
            reqwest::Method::GET,
            &format!("/rest/api/2/issue/{story}?expand=changelog"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(issue["fields"][&epic_link], new_epic.as_str());
    let newest = issue["changelog"]["histories"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    let item = &newest["items"][0];
    assert_eq!(item["field"], "Epic Link");
    assert_eq!(item["fieldtype"], "custom");
    assert!(
        item["fromString"].is_null(),
        "it was out of any epic: {item}"
    );
    assert_eq!(item["toString"], new_epic.as_str());
    assert_faithful(&sandbox);
}

#[tokio::test]
async fn an_issue_moved_to_another_project_takes_its_next_key_and_its_changelog_says_so() {
    let sandbox = sandbox().await;
    let client = reqwest::Client::new();
    let (story, id, epic) = {
        let d = sandbox.jira();
        let story = d
            .issues
            .iter()
            .find(|i| i.key.starts_with("BIZ-") && i.parent.is_some())
            .unwrap();
        (story.key.clone(), story.id, story.parent.clone().unwrap())
    };
    let now = sandbox.now_ms();
    let moved = sandbox.jira().move_to_project(&story, "OPS", now).unwrap();
    // OPS had four issues: the fifth key; the same id, epic and worklogs.
    assert_eq!(moved, "OPS-5");
    // A key is never given again: BIZ's next issue does not take the moved one's number,
    // nor OPS's next the number after it.
    {
        let mut d = sandbox.jira();
        let last_biz = d
            .issues
            .iter()
            .filter_map(|i| i.key.strip_prefix("BIZ-")?.parse::<u64>().ok())
            .max()
            .unwrap();
        let next = d
            .add_issue("BIZ", 1, "After the move", Some(&epic), now)
            .unwrap();
        assert_eq!(
            next,
            format!("BIZ-{}", last_biz.max(story[4..].parse().unwrap()) + 1)
        );
        assert_eq!(d.add_issue("OPS", 2, "Next", None, now).unwrap(), "OPS-6");
        // What the sandbox does not do, said rather than done wrong.
        assert!(
            d.move_to_project(&epic, "OPS", now)
                .unwrap_err()
                .contains("is an epic")
        );
        assert!(
            d.move_to_project("OPS-6", "OPS", now)
                .unwrap_err()
                .contains("already")
        );
        assert!(
            d.move_to_project("OPS-6", "NOPE", now)
                .unwrap_err()
                .contains("no project")
        );
    }
    for (flavour, base, prefix) in [
        (Flavour::Cloud, sandbox.jira_cloud_url(), "/rest/api/3"),
        (Flavour::DataCenter, sandbox.jira_dc_url(), "/rest/api/2"),
    ] {
        let get = |path: String| {
            let request = client.get(format!("{base}{prefix}{path}"));
            match flavour {
                Flavour::Cloud => request.basic_auth(
                    tollgate_sandbox::JIRA_CLOUD_USER,
                    Some(tollgate_sandbox::JIRA_CLOUD_TOKEN),
                ),
                Flavour::DataCenter => request.bearer_auth(tollgate_sandbox::JIRA_DC_TOKEN),
            }
            .send()
        };
        let issue = json_of(
            get(format!("/issue/{moved}?fields=project&expand=changelog"))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(issue["id"], id.to_string(), "{flavour:?}");
        assert_eq!(issue["fields"]["project"]["key"], "OPS", "{flavour:?}");
        let histories = issue["changelog"]["histories"].as_array().unwrap();
        // Data Center embeds the history oldest first, Cloud newest first.
        let newest = match flavour {
            Flavour::Cloud => &histories[0],
            Flavour::DataCenter => histories.last().unwrap(),
        };
        let item = |field: &str| {
            newest["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["field"] == field)
                .cloned()
                .unwrap_or_else(|| panic!("{flavour:?}: no {field} in {newest}"))
        };
        let key = item("Key");
        assert_eq!(
            (key["fromString"].as_str(), key["toString"].as_str()),
            (Some(story.as_str()), Some("OPS-5"))
        );
        let project = item("project");
        assert_eq!(
            (&project["from"], &project["to"]),
            (&Value::from("10000"), &Value::from("10001"))
        );
        assert_eq!(project["toString"], "Operations");
        match flavour {
            Flavour::Cloud => assert_eq!(key["fieldId"], "issuekey"),
            Flavour::DataCenter => assert!(key.get("fieldId").is_none()),
        }
        // JQL finds it in its new project, by its new key (Cloud searches at `/search/jql`).
        let search = match flavour {
            Flavour::Cloud => "/search/jql",
            Flavour::DataCenter => "/search",
        };
        let found = json_of(
            get(format!(
                "{search}?jql=project%20%3D%20OPS%20AND%20key%20%3D%20{moved}&fields=summary"
            ))
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(issue_keys(&found), [moved.as_str()], "{flavour:?}");
        // Its old key still finds it, in any case, as a link saved before the move does on
        // Jira: the issue comes under its new key. A key no issue ever had is still a 404.
        for asked in [story.clone(), story.to_ascii_lowercase()] {
            let r = get(format!("/issue/{asked}?fields=summary")).await.unwrap();
            assert_eq!(r.status(), 200, "{flavour:?}: {asked}");
            let issue = json_of(r).await;
            assert_eq!(
                (issue["key"].as_str(), &issue["id"]),
                (Some(moved.as_str()), &Value::from(id.to_string())),
                "{flavour:?}: {asked}"
            );
        }
        let r = get("/issue/BIZ-99999".to_string()).await.unwrap();
        assert_eq!(r.status(), 404, "{flavour:?}");
    }
    // Cloud's bulk fetch finds it by its old key too, once, beside its new key.
    let r = cloud_post(
        &client,
        &sandbox.jira_cloud_url(),
        "/rest/api/3/issue/bulkfetch",
        &serde_json::json!({"issueIdsOrKeys": [story, moved, "BIZ-99999"], "fields": ["summary"]}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(issue_keys(&json_of(r).await), [moved.as_str()]);
    // A comment posted to the old key lands on the moved issue.
    let r = cloud_post(
        &client,
        &sandbox.jira_cloud_url(),
        &format!("/rest/api/3/issue/{story}/comment"),
        &serde_json::json!({"body": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Still here?"}]}
        ]}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(sandbox.jira().issue(&moved).unwrap().comments.len(), 1);
    assert_faithful(&sandbox);
}

/// The keys of a search's or bulk fetch's issues, in order (an answer without `issues`
/// fails, saying what it was).
fn issue_keys(found: &Value) -> Vec<String> {
    found["issues"]
        .as_array()
        .unwrap_or_else(|| panic!("no issues: {found}"))
        .iter()
        .filter_map(|i| Some(i["key"].as_str()?.to_string()))
        .collect()
}
