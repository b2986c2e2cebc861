//! Microsoft's own example exchanges (../shared/reference/specs/ado-examples, gathered into
//! tests/specs/ado-examples.json by tests/specs/extract_ado.py), replayed against the sandbox's
//! Azure DevOps: each request it serves must be answered with the example's status and a body
//! of the example's shape, and the answer must fit the 7.1 specification too.
//!
//! The examples were recorded against Microsoft's own organisations (fabrikam) with api-versions
//! from 1.0 to 7.1. Replayed, they name the sandbox's organisation, project, team, work items,
//! comments and iterations instead, and ask for 7.1 (the comments API for 7.1-preview.4). Those
//! the sandbox does not serve are listed in `NOT_SERVED`, each with why; every other one must
//! pass, and the list must not name an example that no longer exists.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_sandbox::{ADO_ORGANIZATION, ADO_PROJECT, ADO_TOKEN, Sandbox};
use tollgate_tests::openapi;

const EXAMPLES: &str = include_str!("../../specs/ado-examples.json");

/// Examples the sandbox does not answer, by name prefix, with the reason.
const NOT_SERVED: &[(&str, &str)] = &[
    (
        "wit__classificationNodes__DELETE",
        "changing a project's areas and iterations: Tollgate never does, the sandbox refuses (405)",
    ),
    (
        "wit__classificationNodes__PATCH",
        "changing a project's areas and iterations: Tollgate never does, the sandbox refuses (405)",
    ),
    (
        "wit__classificationNodes__POST",
        "changing a project's areas and iterations: Tollgate never does, the sandbox refuses (405)",
    ),
    (
        "wit__comments__GET__wit_workitems__taskId__comments",
        "the revision-based comments API of 3.0-preview (`fromRevision`, comments by revision): \
         retired; 7.1 has `comments` with `continuationToken`, replayed above",
    ),
    (
        "wit__workItems__GET_work_item_template",
        "the new-item template (`GET workitems/$Type`): Tollgate creates no work items",
    ),
    (
        "wit__workItems__PATCH__wit_workitems__taskId_4",
        "editing the comment of a link (`/relations/2/attributes/comment`): Tollgate never does, \
         the sandbox refuses the path (400)",
    ),
    (
        "wit__workItems__PATCH__wit_workitems__taskId_6",
        "an attachment link (`AttachedFile`): the sandbox stores no attachments",
    ),
    (
        "wit__workItems__PATCH__wit_workitems__taskId_8",
        "a hyperlink to a web page: the sandbox keeps links between work items only (400)",
    ),
    (
        "wit__workItems__PATCH__wit_workitems__bug1Id_",
        "moving a work item to another project and changing its type: Tollgate never does",
    ),
    (
        "work__capacities__PATCH",
        "writing team capacity: Tollgate only reads it",
    ),
    (
        "work__capacities__PUT",
        "writing team capacity: Tollgate only reads it",
    ),
    (
        "work__teamDaysOff__PATCH",
        "writing team days off: Tollgate only reads them",
    ),
    (
        "work__workitemsorder__PATCH",
        "reordering a backlog: Tollgate never does",
    ),
];

/// Where an example, recorded with an older api-version, differs from what 7.1 answers (and
/// the 7.1 specification documents): (example name prefix, the problem's text, why). The
/// answers are checked against the 7.1 specification as well, so these are not blind spots.
const VERSION_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "wit__comments",
        "`commentId`",
        "5.1-preview comments carried `commentId`; 7.1-preview.4's Comment has `id`",
    ),
    (
        "wit__comments",
        "`id` is not in",
        "5.1-preview comments carried `commentId`; 7.1-preview.4's Comment has `id`",
    ),
    (
        "wit__comments",
        "`format` is not in",
        "7.1-preview.4 comments say their `format` (markdown or html)",
    ),
    (
        "wit__comments",
        "`mentions` is not in",
        "7.1-preview.4 comments list their mentions",
    ),
    (
        "wit__comments",
        "`reactions` is not in",
        "7.1-preview.4 comments list their reactions",
    ),
    (
        "wit__comments",
        "`renderedText` is not in",
        "7.1-preview.4 renders a markdown comment's text",
    ),
    (
        "wit__comments__GET__wit_workitems__issueId__comments_1",
        "`nextPage`",
        "the example's item had more comments than $top: a last page has no next page",
    ),
    (
        "wit__comments__GET__wit_workitems__issueId__comments_1",
        "`continuationToken`",
        "the example's item had more comments than $top: a last page has no token",
    ),
    (
        "",
        "`commentVersionRef` is not in",
        "7.1 work items name their latest comment; the 1.0 examples predate it",
    ),
    (
        "wit__classificationNodes",
        "`_links`",
        "1.0 answered classification nodes with `_links`; 7.1 documents them, the service \
         sends them on request only",
    ),
    (
        "wit__classificationNodes__GET__wit_classificationNodes_areas__depth-2",
        "`children`",
        "the example's project has areas two levels deep; the sandbox's are one level",
    ),
    (
        "wit__classificationNodes__GET__wit_classificationNodes_iterations__depth-2",
        "`children`",
        "the sandbox's team iterations sit a level below the example's",
    ),
    (
        "wit__workItems__DELETE",
        "200 where the example has 204",
        "4.0 answered a deletion with 204; 7.1 answers 200 with the WorkItemDelete",
    ),
    (
        "wit__workItems__PATCH",
        "System.ChangedBy",
        "1.0 wrote identities as `Name <mail>` strings; 7.1 as IdentityRef objects",
    ),
    (
        "wit__workItems__PATCH",
        "System.CreatedBy",
        "1.0 wrote identities as `Name <mail>` strings; 7.1 as IdentityRef objects",
    ),
    (
        "wit__workItems__PATCH__wit_workitems__taskId__bypassRules",
        "`relations`",
        "the example's item had links; the sandbox's item for it has none",
    ),
    (
        "wit__workItems",
        "workItemHistory",
        "1.0's links named `workItemHistory`; 7.1's name `workItemComments`",
    ),
    (
        "wit__workItems",
        "`workItemComments` is not in",
        "1.0's links named `workItemHistory`; 7.1's name `workItemComments`",
    ),
    (
        "work__iterations__GET__work_teamsettings_iterations__timeframe",
        "`values`",
        "v2.0-preview wrapped the list as `values`; 7.1 as `count` and `value`, as every list",
    ),
    (
        "work__iterations__GET__work_teamsettings_iterations__timeframe",
        "`value` is not in",
        "v2.0-preview wrapped the list as `values`; 7.1 as `count` and `value`, as every list",
    ),
    (
        "work__iterations__GET__work_teamsettings_iterations__timeframe",
        "`count` is not in",
        "v2.0-preview wrapped the list as `values`; 7.1 as `count` and `value`, as every list",
    ),
    (
        "wit__wiql__GET__wit_wiql__queryId_",
        "",
        "the example's stored query is a tree query of Microsoft's project; the sandbox's \
         stored queries are flat (WIQL link queries are replayed in the end-to-end tests)",
    ),
    (
        "wit__wiql",
        "`queryResultType` is not in",
        "7.1 says whether the result is work items or links; 1.0 did not",
    ),
    (
        "work__capacities__GET__work_teamsettings_iterations__iterationId__capacities",
        "",
        "the capacities example was recorded when the answer was a list of members; 7.1 \
         answers a TeamCapacity (teamMembers, totals), as its specification documents",
    ),
];

/// What an example asks of the sandbox once its names are the sandbox's.
struct Ask {
    method: reqwest::Method,
    path_and_query: String,
    body: Option<Value>,
}

/// The sandbox's names for the example's: work items, comments, iterations, members.
struct Names {
    items: BTreeMap<u64, u64>,
    pool: Vec<u64>,
    comments: BTreeMap<u64, u64>,
    iteration: String,
    iteration_path: String,
    team: String,
    member: String,
    area: String,
    /// Two classification node ids (an area and an iteration).
    node_ids: String,
    /// A user of the organisation: display name and sign-in name.
    person: (String, String),
}

impl Names {
    fn item(&mut self, example: u64) -> u64 {
        let next = self.pool[self.items.len() % self.pool.len()];
        *self.items.entry(example).or_insert(next)
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

/// The example's request, in the sandbox's names.
fn ask(name: &str, example: &Value, names: &mut Names) -> Ask {
    let url = example["x-ms-vss-request-url"].as_str().unwrap();
    let after_host = url.splitn(4, '/').nth(3).unwrap();
    let (path, query) = after_host.split_once('?').unwrap_or((after_host, ""));
    let segments: Vec<&str> = path.split('/').collect();
    let api = segments.iter().position(|s| *s == "_apis").unwrap();
    // Organisation, then project and team if named.
    let mut out = vec![ADO_ORGANIZATION.to_string()];
    if api >= 2 {
        out.push(ADO_PROJECT.to_string());
    }
    if api >= 3 {
        out.push(names.team.clone());
    }
    let comments_api = name.starts_with("wit__comments");
    let rest = &segments[api..];
    for (i, s) in rest.iter().enumerate() {
        let before = if i > 0 {
            rest[i - 1].to_ascii_lowercase()
        } else {
            String::new()
        };
        let s = s.replace("%20", " ");
        out.push(match before.as_str() {
            "workitems" if s.parse::<u64>().is_ok() => names.item(s.parse().unwrap()).to_string(),
            "comments" if s.parse::<u64>().is_ok() => {
                names.comments[&s.parse::<u64>().unwrap()].to_string()
            }
            "iterations" if is_guid(&s) => names.iteration.clone(),
            "capacities" if is_guid(&s) => names.member.clone(),
            // A classification node's path.
            "areas" => names.area.clone(),
            "iterations" => names.iteration_path.clone(),
            _ => s.to_string(),
        });
    }
    let mut params: Vec<String> = Vec::new();
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let v = match k {
            "api-version" => continue,
            "ids" if path.to_ascii_lowercase().contains("/workitems") && !comments_api => v
                .split(',')
                .map(|i| names.item(i.parse().unwrap()).to_string())
                .collect::<Vec<_>>()
                .join(","),
            "ids" if path.to_ascii_lowercase().contains("/classificationnodes") => {
                names.node_ids.clone()
            }
            "ids" if comments_api => v
                .split(',')
                .map(|i| names.comments[&i.parse::<u64>().unwrap()].to_string())
                .collect::<Vec<_>>()
                .join(","),
            // The examples ask as of December 2014, before any sandbox item was created.
            "asOf" => "2026-11-27T12:00:00Z".to_string(),
            _ => v.to_string(),
        };
        params.push(format!("{k}={v}"));
    }
    params.push(format!(
        "api-version={}",
        if comments_api { "7.1-preview.4" } else { "7.1" }
    ));
    // A body Microsoft stored as a JSON string is that JSON; a GET sends none.
    let mut body = example["parameters"]
        .get("body")
        .cloned()
        .map(|b| match b.as_str() {
            Some(text) => serde_json::from_str(text).unwrap_or(b),
            None => b,
        });
    if let Some(b) = body.as_mut() {
        rename_in_body(b, names);
    }
    let method = example["x-ms-vss-request-method"]
        .as_str()
        .or_else(|| name.split("__").nth(2))
        .unwrap();
    // Microsoft filed its WIQL example under GET; a WIQL query with a body is a POST.
    let method = if name.starts_with("wit__wiql") && body.is_some() {
        "POST"
    } else {
        method
    };
    if method == "GET" {
        body = None;
    }
    // An iteration named in the body (a team's new iteration) is the sandbox's.
    if let Some(b) = body.as_mut()
        && b.get("id").and_then(Value::as_str).is_some_and(is_guid)
    {
        b["id"] = json!(names.iteration);
    }
    Ask {
        method: method.parse().unwrap(),
        path_and_query: format!("/{}?{}", out.join("/"), params.join("&")),
        body,
    }
}

/// Work item ids in a body (a batch's `ids`, a link's URL) become the sandbox's.
fn rename_in_body(body: &mut Value, names: &mut Names) {
    match body {
        Value::Object(o) => {
            for (k, v) in o.iter_mut() {
                if k == "value"
                    && let Some(text) = v.as_str()
                    && text.starts_with("Jamal Hartnett")
                {
                    // Microsoft's user is none of the sandbox's: assign one of ours, written
                    // the same way.
                    let (name, mail) = &names.person;
                    *v = json!(if text.contains('<') {
                        format!("{name}<{mail}>")
                    } else {
                        name.clone()
                    });
                } else if k == "ids"
                    && let Some(ids) = v.as_array_mut()
                {
                    for id in ids {
                        *id = json!(names.item(id.as_u64().unwrap()));
                    }
                } else if k == "url"
                    && let Some(u) = v.as_str()
                    && let Some((_, id)) = u.rsplit_once("/workItems/")
                    && let Ok(id) = id.parse::<u64>()
                {
                    *v = json!(format!("/_apis/wit/workItems/{}", names.item(id)));
                } else {
                    rename_in_body(v, names);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| rename_in_body(v, names)),
        _ => {}
    }
}

/// Where the sandbox's answer differs in shape from Microsoft's example.
fn shape(at: &str, example: &Value, actual: &Value, problems: &mut Vec<String>) {
    match (example, actual) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(e), Value::Object(a)) => {
            // A map of fields: its keys are the item's fields, its values any JSON.
            let map = at.ends_with(".fields") || at.ends_with(".attributes");
            for (k, v) in a {
                match e.get(k) {
                    Some(ev) => shape(&format!("{at}.{k}"), ev, v, problems),
                    None if map => {}
                    None => problems.push(format!("{at}: `{k}` is not in Microsoft's example")),
                }
            }
            if !map {
                for k in e.keys().filter(|k| !a.contains_key(*k)) {
                    problems.push(format!("{at}: the example's `{k}` is missing"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let Some(first) = e.first() {
                for (i, item) in a.iter().enumerate() {
                    shape(&format!("{at}[{i}]"), first, item, problems);
                }
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (e, a) => problems.push(format!("{at}: {a} where the example has {e}")),
    }
}

fn names(sandbox: &Sandbox) -> Names {
    let d = sandbox.ado();
    let mobile = &d.teams[0];
    // The project's default team: routes without a team mean it.
    let team = Some(0);
    let sprint = d
        .iterations
        .iter()
        .find(|n| n.team == team && n.dates.is_some())
        .unwrap();
    let member = d.identities[mobile.members.start].id.clone();
    // Items the examples' ids become: 4101 first (an epic with several links, for the
    // examples that edit its third link), then its children.
    let mut pool = vec![4101];
    pool.extend(
        d.items
            .iter()
            .filter(|w| w.deleted.is_none() && d.epic_of(w.id) == Some(4101) && w.id != 4101)
            .map(|w| w.id),
    );
    let iteration_path = sprint.path.rsplit('\\').next().unwrap().to_string();
    Names {
        items: BTreeMap::new(),
        pool,
        comments: BTreeMap::new(),
        iteration: sprint.identifier.clone(),
        iteration_path: format!("{}/{iteration_path}", mobile.name),
        team: mobile.name.clone(),
        member,
        area: mobile.name.clone(),
        node_ids: format!("{},{}", d.areas[1].id, d.iterations[1].id),
        person: (
            d.identities[0].display_name.clone(),
            d.identities[0].unique_name.clone(),
        ),
    }
}

fn excused(name: &str, problem: &str) -> bool {
    VERSION_DIFFERENCES
        .iter()
        .any(|(prefix, text, _)| name.starts_with(prefix) && problem.contains(text))
}

#[tokio::test]
async fn microsofts_example_requests_get_answers_of_the_same_shape() {
    let examples: BTreeMap<String, Value> = serde_json::from_str(EXAMPLES).unwrap();
    for (prefix, _) in NOT_SERVED {
        assert!(
            examples.keys().any(|k| k.starts_with(prefix)),
            "NOT_SERVED names `{prefix}`, which is no example"
        );
    }
    let sandbox = Sandbox::start("127.0.0.1:0").await.unwrap();
    sandbox.record_bodies(true);
    let client = reqwest::Client::new();
    let mut names = names(&sandbox);
    let base = sandbox.ado_url();
    let send = |method: reqwest::Method, url: String, body: Option<Value>| {
        let mut r = client
            .request(method.clone(), url)
            .basic_auth("", Some(ADO_TOKEN));
        if let Some(b) = body {
            let patch = method == reqwest::Method::PATCH && b.is_array();
            let create = method == reqwest::Method::POST && b.is_array();
            r = r
                .header(
                    "content-type",
                    if patch || create {
                        "application/json-patch+json"
                    } else {
                        "application/json"
                    },
                )
                .body(b.to_string());
        }
        r.send()
    };
    // The comments the examples name (42, 43, 50 on work item 299).
    let on = names.item(299);
    for example_id in [42, 43, 50] {
        let r = send(
            reqwest::Method::POST,
            format!(
                "{base}/{ADO_ORGANIZATION}/{ADO_PROJECT}/_apis/wit/workItems/{on}/comments?api-version=7.1-preview.4"
            ),
            Some(json!({"text": format!("Comment {example_id}")})),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        let c: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        names.comments.insert(example_id, c["id"].as_u64().unwrap());
    }

    let mut replayed = 0;
    let mut failures = Vec::new();
    // Deletions last, so the reads find what they read.
    let mut order: Vec<(&String, &Value)> = examples.iter().collect();
    order.sort_by_key(|(name, _)| name.contains("__DELETE__"));
    for (name, example) in order {
        if NOT_SERVED.iter().any(|(p, _)| name.starts_with(p)) {
            continue;
        }
        // The deletion of a work item takes one no other example names.
        if name.starts_with("wit__workItems__DELETE") {
            let spare = sandbox
                .ado()
                .live_of_type("Task")
                .find(|t| !names.pool.contains(&t.id))
                .unwrap()
                .id;
            names.items.insert(72, spare);
        }
        // The deletion example deletes a comment of its own, so the others keep theirs.
        if name.starts_with("wit__comments__DELETE") {
            let r = send(
                reqwest::Method::POST,
                format!(
                    "{base}/{ADO_ORGANIZATION}/{ADO_PROJECT}/_apis/wit/workItems/{on}/comments?api-version=7.1-preview.4"
                ),
                Some(json!({"text": "To be deleted"})),
            )
            .await
            .unwrap();
            let c: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
            names.comments.insert(50, c["id"].as_u64().unwrap());
        }
        let mut ask = ask(name, example, &mut names);
        if name.starts_with("wit__comments__PATCH") {
            // Edit one that is still there (the deletion example took 50's).
            ask.path_and_query = ask.path_and_query.replace(
                &format!("/comments/{}", names.comments[&50]),
                &format!("/comments/{}", names.comments[&42]),
            );
        }
        // A continuation token is the sandbox's own: take it from a first page.
        if ask.path_and_query.contains("continuationToken=") {
            let first = send(
                reqwest::Method::GET,
                format!(
                    "{base}/{ADO_ORGANIZATION}/{ADO_PROJECT}/_apis/wit/workItems/{on}/comments?$top=1&api-version=7.1-preview.4"
                ),
                None,
            )
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
            let first: Value = serde_json::from_str(&first).unwrap();
            let token = first["continuationToken"].as_str().unwrap();
            let (before, after) = ask.path_and_query.split_once("continuationToken=").unwrap();
            let rest = after.split_once('&').map_or("", |(_, r)| r);
            ask.path_and_query = format!("{before}continuationToken={token}&{rest}");
        }
        // A `test` of the revision tests the item's revision now.
        if let Some(ops) = ask.body.as_mut().and_then(Value::as_array_mut)
            && let Some(test) = ops
                .iter_mut()
                .find(|o| o["op"] == "test" && o["path"] == "/rev")
        {
            let id: u64 = ask
                .path_and_query
                .split('?')
                .next()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            test["value"] = json!(sandbox.ado().item(id).unwrap().rev());
        }
        replayed += 1;
        let r = send(
            ask.method.clone(),
            format!("{base}{}", ask.path_and_query),
            ask.body.clone(),
        )
        .await
        .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let (expected_status, expected) = example["responses"]
            .as_object()
            .unwrap()
            .iter()
            .next()
            .map(|(s, r)| (s.parse::<u16>().unwrap(), r["body"].clone()))
            .unwrap();
        let what = format!("{name}: {} {}", ask.method, ask.path_and_query);
        if status != expected_status
            && !excused(
                name,
                &format!("{status} where the example has {expected_status}"),
            )
        {
            failures.push(format!(
                "{what}: {status} where the example has {expected_status}: {text}"
            ));
            continue;
        }
        if expected.is_null() || text.is_empty() {
            continue;
        }
        let actual: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{what}: not JSON: {e}"));
                continue;
            }
        };
        let mut problems = Vec::new();
        shape("response", &expected, &actual, &mut problems);
        failures.extend(
            problems
                .into_iter()
                .filter(|p| !excused(name, p))
                .map(|p| format!("{what}: {p}")),
        );
    }
    assert!(replayed >= 40, "{replayed} examples replayed");
    // And what was served fits the specification.
    failures.extend(openapi::check_recorded_ado(&sandbox.requests()));
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
