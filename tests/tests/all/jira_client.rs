//! The sandbox's Jira as users' own tools see it: jira.js (the npm registry's Jira client,
//! unmodified) on both faces, and the single-resource endpoints client libraries call, with
//! Jira's status and body on errors. Every exchange is checked against Atlassian's documents.

use serde_json::Value;
use tollgate_sandbox::{Flavour, Sandbox};
use tollgate_tests::openapi;

async fn sandbox() -> Sandbox {
    let s = Sandbox::start("127.0.0.1:0").await.unwrap();
    s.record_bodies(true);
    s
}

fn assert_faithful(sandbox: &Sandbox) {
    let problems = openapi::check_recorded(&sandbox.requests());
    assert!(
        problems.is_empty(),
        "exchanges the Jira documents do not allow:\n{}",
        problems.join("\n")
    );
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
                d.issues.len(),
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
    }
    assert_faithful(&sandbox);
}
