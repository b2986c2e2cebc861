//! The site itself and single resources: server information, the project, one issue (with
//! `fields` and `expand`), its transitions, one comment, and the approximate count of a search.
//! Client libraries call these first or on every edit (serverInfo to tell Cloud from Data
//! Center; an issue and a comment read back after a write).

#[allow(unused_imports)]
use super::*;

/// `GET /rest/api/{v}/serverInfo`: Cloud says `Cloud`; Data Center, as it does, `Server`.
pub(super) async fn server_info(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let base = base_url(&headers, &ctx);
    let now = jira_timestamp(now(&ctx));
    let mut info = match ctx.flavour {
        Flavour::Cloud => json!({
            "baseUrl": base, "displayUrl": base, "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud", "buildNumber": 100287,
            "buildDate": "2026-11-24T07:13:52.000+0000", "scmInfo": "7d2a8f5e0c3b9a41e6f1d0b2c4a5e6f7a8b9c0d1",
            "serverTitle": "Jira", "serverTimeZone": "Etc/UTC"
        }),
        Flavour::DataCenter => json!({
            "baseUrl": base, "version": "9.12.15", "versionNumbers": [9, 12, 15],
            "deploymentType": "Server", "buildNumber": 9120015,
            "buildDate": "2024-10-15T00:00:00.000+0000", "scmInfo": "2b5f8d1c7e4a9b3f6c0d2e8a1b7c4f9e3d6a0b5c",
            "serverTitle": "Jira"
        }),
    };
    info["serverTime"] = json!(now);
    crate::json_response(StatusCode::OK, info)
}

/// `GET /rest/api/{v}/project/{key}`: the one project, by key or id.
pub(super) async fn project(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let data = ctx.shared.jira.read().unwrap();
    let Some(project) = data.project_named(&key) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("No project could be found with key '{key}'."),
        );
    };
    let base = base_url(&headers, &ctx);
    let types: Vec<Value> = ISSUE_TYPES
        .iter()
        .map(|t| issue_type_json(&base, t))
        .collect();
    crate::json_response(
        StatusCode::OK,
        json!({
            "self": format!("{base}/rest/api/{version}/project/{}", project.id), "id": project.id,
            "key": project.key, "name": project.name, "description": "",
            "lead": bot_json(ctx.flavour, &base), "projectTypeKey": "software",
            "simplified": false, "style": "classic", "isPrivate": false,
            "issueTypes": types, "assigneeType": "UNASSIGNED",
            "properties": {}
        }),
    )
}

/// `GET /rest/api/{v}/issue/{key}` with `fields` and `expand` (`names`, `schema`,
/// `renderedFields`, `changelog`); 404 with Jira's words for an unknown key. The issue is found
/// as Jira finds it: by id, by key in any case, or by a key it had before a move to another
/// project ([`Dataset::issue`](super::data::Dataset::issue)).
pub(super) async fn get_issue(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let ps = params(&q);
    let fields: Vec<String> = ps
        .iter()
        .filter(|(k, _)| k == "fields")
        .map(|(_, v)| v.clone())
        .collect();
    let expand: Vec<String> = param(&ps, "expand")
        .unwrap_or("")
        .split(',')
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    let data = ctx.shared.jira.read().unwrap();
    let Some(issue) = data.issue(&key) else {
        return no_issue();
    };
    let base = base_url(&headers, &ctx);
    // One issue comes with every field unless asked for fewer.
    let wanted = Wanted::parse(&fields, true);
    let plan = FieldPlan::new(&ctx, &wanted);
    let mut v = issue_value(&ctx, &base, &version, &data, issue, &wanted, &plan);
    if let Some(f) = v["fields"].as_object_mut()
        && wanted.wants("comment")
    {
        let comments: Vec<Value> = issue
            .comments
            .iter()
            .map(|c| comment_json(&ctx, &base, &version, issue, c, &data))
            .collect();
        f.insert(
            "comment".into(),
            json!({"comments": comments, "maxResults": issue.comments.len(), "total": issue.comments.len(), "startAt": 0}),
        );
    }
    if expand.iter().any(|e| e == "names" || e == "schema") {
        let (names, schema) = names_and_schema(&ctx);
        if expand.iter().any(|e| e == "names") {
            v["names"] = names;
        }
        if expand.iter().any(|e| e == "schema") {
            v["schema"] = schema;
        }
    }
    if expand.iter().any(|e| e == "renderedFields") {
        v["renderedFields"] = json!({"summary": crate::html_escape(&issue.summary)});
    }
    if expand.iter().any(|e| e == "changelog") {
        v["changelog"] = changelog_json(&ctx, &base, &data, issue, 100);
    }
    crate::json_response(StatusCode::OK, v)
}

/// The credentials check of a resource only Cloud has: Data Center answers 404, as its
/// servlet does for a path it does not know.
fn cloud_only(ctx: &Ctx, headers: &HeaderMap, version: &str) -> Result<(), Response> {
    gate(ctx, headers, Some(version))?;
    if ctx.flavour == Flavour::DataCenter {
        return Err(error(StatusCode::NOT_FOUND, "null for uri"));
    }
    Ok(())
}

/// At most this many issues a bulk fetch.
const BULK_FETCH_MAX: usize = 100;

/// `POST /rest/api/{2,3}/issue/bulkfetch` (Cloud): up to 100 issues by id or key, with
/// `fields` (navigable ones by default) and `expand` (a list here, unlike the search's string;
/// `changelog` is served, 40 entries at most).
/// The issues come back in ascending id order, each once; a key is looked up as
/// [`get_issue`] looks it up (any case, or a key the issue had); ids or keys that match no issue are left out
/// without a word, as Jira leaves out what it cannot find or the caller may not see; issues
/// that failed to load (see [`crate::Sandbox::fail_bulk_fetch`]) are listed under
/// `issueErrors`. No ids, more than 100, or a body of another shape: 400.
pub(super) async fn bulk_fetch(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = cloud_only(&ctx, &headers, &version) {
        return r;
    }
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, m);
    let Ok(Value::Object(v)) = serde_json::from_slice::<Value>(&body) else {
        return bad("The request body is not a JSON object.");
    };
    if let Some(k) = v.keys().find(|k| {
        !matches!(
            k.as_str(),
            "issueIdsOrKeys" | "fields" | "expand" | "fieldsByKeys" | "properties"
        )
    }) {
        return bad(&format!(
            "Unrecognized field \"{k}\" (class BulkFetchIssueRequestBean), not marked as ignorable"
        ));
    }
    let strings = |name: &str| -> Result<Vec<String>, Response> {
        match v.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|e| e.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad(&format!("`{name}` must be a list of strings."))),
            Some(_) => Err(bad(&format!(
                "Cannot deserialize `{name}`: expected a list of strings."
            ))),
        }
    };
    let (ids, fields, expand) = match (
        strings("issueIdsOrKeys"),
        strings("fields"),
        strings("expand"),
    ) {
        (Ok(i), Ok(f), Ok(e)) => (i, f, e),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    if ids.is_empty() {
        return bad("No issue IDs or keys were given (issueIdsOrKeys).");
    }
    if ids.len() > BULK_FETCH_MAX {
        return bad(&format!(
            "At most {BULK_FETCH_MAX} issues can be fetched at once; {} were asked for.",
            ids.len()
        ));
    }
    let data = ctx.shared.jira.read().unwrap();
    let mut found: Vec<&Issue> = Vec::with_capacity(ids.len());
    let mut errors = Vec::new();
    {
        let mut failures = ctx.shared.bulk_fetch_failures.lock().unwrap();
        for wanted in &ids {
            let Some(issue) = data.issue(wanted) else {
                continue;
            };
            if found.iter().any(|i| i.id == issue.id) {
                continue;
            }
            match failures.get_mut(&issue.id) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    errors.push(json!({
                        "id": issue.id.to_string(),
                        "errorMessage": "The issue could not be retrieved, try again later."
                    }));
                }
                _ => found.push(issue),
            }
        }
    }
    found.sort_by_key(|i| i.id);
    let base = base_url(&headers, &ctx);
    let wanted = Wanted::parse(&fields, true);
    let plan = FieldPlan::new(&ctx, &wanted);
    let changelog = expand.iter().any(|e| e == "changelog");
    let issues: Vec<IssueJson<'_>> = found
        .iter()
        .map(|i| {
            let mut out = issue_doc(&ctx, &base, &version, &data, i, &wanted, &plan, false);
            if changelog {
                out.changelog = Some(changelog_json(
                    &ctx,
                    &base,
                    &data,
                    i,
                    BULK_FETCH_CHANGELOG_LIMIT,
                ));
            }
            out
        })
        .collect();
    // `BulkIssueResults` is closed: the issues and the errors, nothing else (the document's
    // example shows an `expand` its schema does not allow; the schema is what clients read).
    // Members by name, as the sandbox has always written them.
    #[derive(serde::Serialize)]
    struct Results<'a> {
        #[serde(rename = "issueErrors")]
        issue_errors: Vec<Value>,
        issues: Vec<IssueJson<'a>>,
    }
    crate::json_body(
        StatusCode::OK,
        &Results {
            issue_errors: errors,
            issues,
        },
    )
}

/// The changelog entries a bulk-fetched issue carries, at most ("a maximum of 40").
const BULK_FETCH_CHANGELOG_LIMIT: usize = 40;

/// `GET /rest/api/3/issue/{key}/changelog` (Cloud): the history, a page at a time.
pub(super) async fn issue_changelog(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = cloud_only(&ctx, &headers, &version) {
        return r;
    }
    let ps = params(&q);
    let (start, max) = match page_args(&ps, 100, 1, 100) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = ctx.shared.jira.read().unwrap();
    let Some(issue) = data.issue(&key) else {
        return no_issue();
    };
    let base = base_url(&headers, &ctx);
    let values: Vec<Value> = issue
        .history
        .iter()
        .skip(start)
        .take(max)
        .map(|c| history_json(&ctx, &base, &data, c))
        .collect();
    let total = issue.history.len();
    let end = start + values.len();
    let me = format!("{base}/rest/api/{version}/issue/{}/changelog", issue.key);
    let mut page = json!({
        "self": format!("{me}?startAt={start}&maxResults={max}"),
        "maxResults": max, "startAt": start, "total": total, "isLast": end >= total,
        "values": values
    });
    if end < total {
        page["nextPage"] = json!(format!("{me}?startAt={end}&maxResults={max}"));
    }
    crate::json_response(StatusCode::OK, page)
}

/// `GET /rest/api/{v}/issue/{key}/transitions`: the workflow's moves from the issue's status.
pub(super) async fn transitions(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let data = ctx.shared.jira.read().unwrap();
    let Some(issue) = data.issue(&key) else {
        return no_issue();
    };
    let base = base_url(&headers, &ctx);
    let to = |id: &str, name: &str, status: &str, category: (u32, &str, &str)| {
        json!({
            "id": id, "name": name, "hasScreen": false, "isGlobal": true, "isInitial": false,
            "isAvailable": true, "isConditional": false, "isLooped": false,
            "to": {
                "self": format!("{base}/rest/api/2/status/{}", category.0), "name": status,
                "id": category.0.to_string(),
                "statusCategory": {"self": format!("{base}/rest/api/2/statuscategory/{}", category.0),
                                   "id": category.0, "key": category.1, "name": category.2, "colorName": "blue-gray"}
            }
        })
    };
    let all = [
        ("11", "To Do", "To Do", (2, "new", "To Do")),
        (
            "21",
            "In Progress",
            "In Progress",
            (4, "indeterminate", "In Progress"),
        ),
        ("31", "Done", "Done", (3, "done", "Done")),
    ];
    let list: Vec<Value> = all
        .iter()
        .filter(|(_, _, status, _)| !status.eq_ignore_ascii_case(issue.status))
        .map(|(id, name, status, cat)| to(id, name, status, *cat))
        .collect();
    crate::json_response(
        StatusCode::OK,
        json!({"expand": "transitions", "transitions": list}),
    )
}

/// `GET /rest/api/{v}/issue/{key}/comment/{id}`: one comment, or 404.
pub(super) async fn get_comment(
    State(ctx): State<Ctx>,
    Path((version, key, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let data = ctx.shared.jira.read().unwrap();
    let Some(issue) = data.issue(&key) else {
        return no_issue();
    };
    match issue.comments.iter().find(|c| c.id.to_string() == id) {
        Some(c) => {
            let base = base_url(&headers, &ctx);
            crate::json_response(
                StatusCode::OK,
                comment_json(&ctx, &base, &version, issue, c, &data),
            )
        }
        None => error(
            StatusCode::NOT_FOUND,
            &format!("Can not find a comment for the id: {id}."),
        ),
    }
}

/// `POST /rest/api/3/search/approximate-count` (Cloud): `{"count": n}` for a JQL.
pub(super) async fn approximate_count(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = cloud_only(&ctx, &headers, &version) {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Unexpected character in the request body.",
        );
    };
    let Some(jql) = v.get("jql").and_then(Value::as_str) else {
        return field_error(StatusCode::BAD_REQUEST, "jql", "The JQL query is required.");
    };
    let data = ctx.shared.jira.read().unwrap();
    match matching(&ctx, &data, jql) {
        Ok(hits) => crate::json_response(StatusCode::OK, json!({"count": hits.len()})),
        Err(r) => r,
    }
}
