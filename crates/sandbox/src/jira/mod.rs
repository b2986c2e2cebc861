//! The Jira fake: Cloud (`/jira-cloud`) and Data Center (`/jira-dc`) faces of one site.
//!
//! What it reproduces, from shared/reference/tracker-apis.md Part A: enhanced search with
//! `nextPageToken` (absent on the last page), id-only results by default and page caps that
//! shrink with the fields asked for; the removed `/search` answering 410 on Cloud while Data
//! Center keeps `startAt`/`total` paging; site-specific custom field ids; Agile boards and
//! sprints without `total`; worklogs through `/worklog/updated` (hiding the last minute),
//! `/worklog/deleted` and `/worklog/list` (1 to 1000 ids), and at most 20 embedded in an
//! issue; comments in ADF (v3) or wiki text (v2) with properties; labels; Jira's
//! `ErrorCollection` bodies and 401s; timestamps in the user's zone without a colon.

// Handlers return a ready `Response` as their error, the axum way; its size does not matter.
#![allow(clippy::result_large_err)]

pub mod data;
pub mod jql;

use crate::Shared;
use crate::time::{agile_timestamp, jira_timestamp};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use data::{Dataset, FIELDS, FieldKind, FieldValue, Flavour, ISSUE_TYPES, Issue, User, Worklog};
use serde_json::{Map, Value, json};
use std::sync::Arc;

pub use data::Flavour as JiraFlavour;

/// Jira Cloud user e-mail of the sandbox's service account.
pub const CLOUD_USER: &str = "dmo-bot@tollgate.example";
/// Jira Cloud API token accepted by the sandbox.
pub const CLOUD_TOKEN: &str = "sandbox-jira-cloud-api-token";
/// Jira Data Center personal access token accepted by the sandbox.
pub const DC_TOKEN: &str = "sandbox-jira-dc-pat";
/// Account id of the service account on Cloud.
pub const BOT_ACCOUNT_ID: &str = "712020:5c1b0a3e-dmo-bot";

/// Largest page of `/search/jql` when only ids or keys are asked for.
const ID_PAGE_CAP: usize = 5000;
/// Largest page with explicit fields (the real service commonly stops at 100).
const FIELD_PAGE_CAP: usize = 100;
/// Largest page with `*all` fields.
const ALL_FIELDS_PAGE_CAP: usize = 50;
/// Data Center's `jira.search.views.default.max`.
const DC_SEARCH_CAP: usize = 1000;
/// Worklogs embedded in an issue's `worklog` field.
const EMBEDDED_WORKLOGS: usize = 20;
/// `/worklog/updated` and `/worklog/deleted` page size.
const CHANGED_PAGE: usize = 1000;

#[derive(Clone)]
struct Ctx {
    shared: Arc<Shared>,
    flavour: Flavour,
}

impl Ctx {
    fn prefix(&self) -> &'static str {
        match self.flavour {
            Flavour::Cloud => "/jira-cloud",
            Flavour::DataCenter => "/jira-dc",
        }
    }
}

/// The router of one face, to be nested at its prefix.
pub(crate) fn router(shared: Arc<Shared>, flavour: Flavour) -> Router {
    let ctx = Ctx { shared, flavour };
    Router::new()
        .route("/rest/api/{version}/myself", get(myself))
        .route("/rest/api/{version}/field", get(fields))
        .route("/rest/api/{version}/issuetype", get(issue_types))
        .route(
            "/rest/api/{version}/search/jql",
            get(search_jql_get).post(search_jql_post),
        )
        .route(
            "/rest/api/{version}/search",
            get(search_old_get).post(search_old_post),
        )
        .route("/rest/api/{version}/issue/{key}", put(edit_issue))
        .route(
            "/rest/api/{version}/issue/{key}/worklog",
            get(issue_worklogs),
        )
        .route("/rest/api/{version}/worklog/updated", get(worklogs_updated))
        .route("/rest/api/{version}/worklog/deleted", get(worklogs_deleted))
        .route("/rest/api/{version}/worklog/list", post(worklog_list))
        .route(
            "/rest/api/{version}/issue/{key}/comment",
            get(list_comments).post(add_comment),
        )
        .route(
            "/rest/api/{version}/issue/{key}/comment/{id}",
            put(update_comment),
        )
        .route(
            "/rest/api/{version}/comment/{id}/properties",
            get(comment_property_keys),
        )
        .route(
            "/rest/api/{version}/comment/{id}/properties/{property}",
            get(get_comment_property).put(put_comment_property),
        )
        .route("/rest/agile/1.0/board", get(boards))
        .route("/rest/agile/1.0/board/{id}/sprint", get(board_sprints))
        .route("/rest/agile/1.0/sprint/{id}/issue", get(sprint_issues))
        .with_state(ctx)
}

// ---------------------------------------------------------------------------------------
// Plumbing: errors, auth, versions, query strings.

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    crate::json_response(status, json!({"errorMessages": [message], "errors": {}}))
}

fn field_error(status: StatusCode, field: &str, message: &str) -> Response {
    crate::json_response(
        status,
        json!({"errorMessages": [], "errors": {field: message}}),
    )
}

fn unauthorised() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "You are not authenticated. Authentication required to perform this operation.",
    )
}

/// Checks credentials and the API version; `Err` is the response to send.
fn gate(ctx: &Ctx, headers: &HeaderMap, version: Option<&str>) -> Result<(), Response> {
    if let Some(v) = version {
        let known = match ctx.flavour {
            Flavour::Cloud => matches!(v, "2" | "3" | "latest"),
            Flavour::DataCenter => matches!(v, "2" | "latest"),
        };
        if !known {
            return Err(error(StatusCode::NOT_FOUND, "null for uri"));
        }
    }
    let ok = match ctx.flavour {
        Flavour::Cloud => matches!(crate::basic_credentials(headers),
            Some((user, token)) if user == CLOUD_USER && token == CLOUD_TOKEN),
        Flavour::DataCenter => crate::bearer_token(headers).as_deref() == Some(DC_TOKEN),
    };
    if ok { Ok(()) } else { Err(unauthorised()) }
}

/// ADF on v3, wiki strings on v2 (and always on Data Center).
fn adf(version: &str) -> bool {
    version == "3"
}

fn params(raw: &Option<String>) -> Vec<(String, String)> {
    raw.as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn param<'a>(ps: &'a [(String, String)], name: &str) -> Option<&'a str> {
    ps.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A numeric parameter; Jira answers 400 for a non-numeric one.
fn number(ps: &[(String, String)], name: &str, default: i64) -> Result<i64, Response> {
    match param(ps, name) {
        None | Some("") => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                &format!("The value '{v}' is invalid for the parameter '{name}'."),
            )
        }),
    }
}

fn base_url(headers: &HeaderMap, ctx: &Ctx) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}{}", ctx.prefix())
}

fn now(ctx: &Ctx) -> i64 {
    ctx.shared.now_ms()
}

// ---------------------------------------------------------------------------------------
// Rendering.

fn user_json(flavour: Flavour, base: &str, user: &User) -> Value {
    match flavour {
        Flavour::Cloud => json!({
            "self": format!("{base}/rest/api/3/user?accountId={}", user.account_id),
            "accountId": user.account_id,
            "accountType": "atlassian",
            "displayName": user.display_name,
            "active": true,
            "timeZone": "Europe/Helsinki",
        }),
        Flavour::DataCenter => json!({
            "self": format!("{base}/rest/api/2/user?username={}", user.name),
            "name": user.name,
            "key": format!("JIRAUSER{}", 10_200 + user.account_id.len()),
            "displayName": user.display_name,
            "active": true,
            "timeZone": "Europe/Helsinki",
        }),
    }
}

fn bot_json(flavour: Flavour, base: &str) -> Value {
    match flavour {
        Flavour::Cloud => json!({
            "self": format!("{base}/rest/api/3/user?accountId={BOT_ACCOUNT_ID}"),
            "accountId": BOT_ACCOUNT_ID,
            "accountType": "atlassian",
            "displayName": "DMO Bot",
            "active": true,
            "timeZone": "Europe/Helsinki",
        }),
        Flavour::DataCenter => json!({
            "self": format!("{base}/rest/api/2/user?username=dmo-bot"),
            "name": "dmo-bot",
            "key": "JIRAUSER10100",
            "displayName": "DMO Bot",
            "active": true,
            "timeZone": "Europe/Helsinki",
        }),
    }
}

fn text_body(v3: bool, text: &str) -> Value {
    if v3 {
        json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
        ]})
    } else {
        Value::String(text.to_string())
    }
}

fn time_spent(seconds: u64) -> String {
    let (h, m) = (seconds / 3600, seconds % 3600 / 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    }
}

fn worklog_json(ctx: &Ctx, base: &str, version: &str, data: &Dataset, w: &Worklog) -> Value {
    let author = user_json(ctx.flavour, base, &data.users[w.author]);
    let mut out = json!({
        "self": format!("{base}/rest/api/{version}/issue/{}/worklog/{}", w.issue_id, w.id),
        "author": author,
        "updateAuthor": author,
        "created": jira_timestamp(w.created),
        "updated": jira_timestamp(w.updated),
        "started": jira_timestamp(w.started),
        "timeSpent": time_spent(w.seconds),
        "timeSpentSeconds": w.seconds,
        "id": w.id.to_string(),
        "issueId": w.issue_id.to_string(),
    });
    if let Some(c) = &w.comment {
        out["comment"] = text_body(adf(version), c);
    }
    out
}

fn option_json(base: &str, field: &data::FieldDef, value: &str) -> Value {
    let id = 10_300 + field.cloud_id as u64 % 100 * 10 + (value.len() as u64 % 10);
    json!({"self": format!("{base}/rest/api/2/customFieldOption/{id}"), "value": value, "id": id.to_string()})
}

fn sprint_field(ctx: &Ctx, data: &Dataset, ids: &[u64]) -> Value {
    let sprints: Vec<Value> = ids
        .iter()
        .filter_map(|id| data.sprints.iter().find(|s| s.id == *id))
        .map(|s| match ctx.flavour {
            Flavour::Cloud => {
                let mut v = json!({"id": s.id, "name": s.name, "state": s.state, "boardId": s.board});
                if let Some(g) = &s.goal {
                    v["goal"] = json!(g);
                }
                if let (Some(a), Some(b)) = (s.start, s.end) {
                    v["startDate"] = json!(agile_timestamp(a));
                    v["endDate"] = json!(agile_timestamp(b));
                }
                if let Some(c) = s.complete {
                    v["completeDate"] = json!(agile_timestamp(c));
                }
                v
            }
            // Data Center's older string form of the Sprint field.
            Flavour::DataCenter => Value::String(format!(
                "com.atlassian.greenhopper.service.sprint.Sprint@{:x}[id={},rapidViewId={},state={},name={},startDate={},endDate={},completeDate={},sequence={},goal={}]",
                s.id * 7919,
                s.id,
                s.board,
                s.state.to_ascii_uppercase(),
                s.name,
                s.start.map(agile_timestamp).unwrap_or_else(|| "<null>".into()),
                s.end.map(agile_timestamp).unwrap_or_else(|| "<null>".into()),
                s.complete.map(agile_timestamp).unwrap_or_else(|| "<null>".into()),
                s.id,
                s.goal.clone().unwrap_or_default()
            )),
        })
        .collect();
    if sprints.is_empty() {
        Value::Null
    } else {
        Value::Array(sprints)
    }
}

fn custom_value(ctx: &Ctx, base: &str, data: &Dataset, issue: &Issue, f: &data::FieldDef) -> Value {
    match f.kind {
        FieldKind::Sprint => sprint_field(ctx, data, &issue.sprints),
        FieldKind::EpicLink => match (&issue.parent, ISSUE_TYPES[issue.issue_type].hierarchy_level)
        {
            (Some(p), 0) => json!(p),
            _ => Value::Null,
        },
        _ => match issue.custom.get(f.name) {
            None => Value::Null,
            Some(FieldValue::Number(n)) => json!(n),
            Some(FieldValue::Date(d)) => json!(d),
            Some(FieldValue::Text(t)) => json!(t),
            Some(FieldValue::Option(o)) => option_json(base, f, o),
        },
    }
}

fn issue_type_json(base: &str, t: &data::IssueType) -> Value {
    json!({
        "self": format!("{base}/rest/api/2/issuetype/{}", t.id),
        "id": t.id,
        "name": t.name,
        "description": "",
        "iconUrl": format!("{base}/images/icons/issuetypes/{}.png", t.id),
        "subtask": t.hierarchy_level < 0,
        "hierarchyLevel": t.hierarchy_level,
    })
}

fn status_json(base: &str, issue: &Issue) -> Value {
    let (id, name) = match issue.status_category {
        "new" => (2, "To Do"),
        "indeterminate" => (4, "In Progress"),
        _ => (3, "Done"),
    };
    json!({
        "self": format!("{base}/rest/api/2/status/{id}"),
        "name": issue.status,
        "id": id.to_string(),
        "statusCategory": {"self": format!("{base}/rest/api/2/statuscategory/{id}"), "id": id, "key": issue.status_category, "name": name, "colorName": "blue-gray"}
    })
}

/// Which fields a request asked for.
#[derive(Debug, Clone)]
enum Wanted {
    All,
    Some(Vec<String>),
}

impl Wanted {
    fn parse(values: &[String], default_all: bool) -> Wanted {
        let list: Vec<String> = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if list.iter().any(|f| f == "*all" || f == "*navigable") || (list.is_empty() && default_all)
        {
            Wanted::All
        } else {
            Wanted::Some(list.into_iter().filter(|f| !f.starts_with('-')).collect())
        }
    }

    fn wants(&self, id: &str) -> bool {
        match self {
            Wanted::All => true,
            Wanted::Some(list) => list.iter().any(|f| f == id),
        }
    }

    fn only_ids(&self) -> bool {
        match self {
            Wanted::All => false,
            Wanted::Some(list) => list.iter().all(|f| f == "id" || f == "key"),
        }
    }

    fn cap(&self) -> usize {
        match self {
            Wanted::All => ALL_FIELDS_PAGE_CAP,
            _ if self.only_ids() => ID_PAGE_CAP,
            _ => FIELD_PAGE_CAP,
        }
    }
}

fn issue_json(
    ctx: &Ctx,
    base: &str,
    version: &str,
    data: &Dataset,
    issue: &Issue,
    wanted: &Wanted,
    id_only_default: bool,
) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(issue.id.to_string()));
    if id_only_default && matches!(wanted, Wanted::Some(l) if l.is_empty()) {
        return Value::Object(out);
    }
    out.insert(
        "expand".into(),
        json!("operations,versionedRepresentations,editmeta,changelog,renderedFields"),
    );
    out.insert(
        "self".into(),
        json!(format!("{base}/rest/api/{version}/issue/{}", issue.id)),
    );
    out.insert("key".into(), json!(issue.key));
    let mut f = Map::new();
    let itype = &ISSUE_TYPES[issue.issue_type];
    let mut put = |id: &str, v: Value| {
        if wanted.wants(id) {
            f.insert(id.to_string(), v);
        }
    };
    put("summary", json!(issue.summary));
    put("issuetype", issue_type_json(base, itype));
    put("status", status_json(base, issue));
    put(
        "project",
        json!({"self": format!("{base}/rest/api/2/project/10000"), "id": "10000", "key": data.project, "name": "Portfolio"}),
    );
    put("created", json!(jira_timestamp(issue.created)));
    put("updated", json!(jira_timestamp(issue.updated)));
    put(
        "resolutiondate",
        issue
            .resolved
            .map(jira_timestamp)
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    put("labels", json!(issue.labels));
    put(
        "assignee",
        issue
            .assignee
            .map(|a| user_json(ctx.flavour, base, &data.users[a]))
            .unwrap_or(Value::Null),
    );
    // Cloud links children to epics with `parent`; Data Center uses it for sub-tasks only.
    if ctx.flavour == Flavour::Cloud {
        let parent = issue.parent.as_ref().and_then(|p| data.issue(p)).map(|p| {
            json!({
                "id": p.id.to_string(), "key": p.key, "self": format!("{base}/rest/api/{version}/issue/{}", p.id),
                "fields": {"summary": p.summary, "status": status_json(base, p), "issuetype": issue_type_json(base, &ISSUE_TYPES[p.issue_type])}
            })
        });
        if let Some(p) = parent {
            put("parent", p);
        }
    }
    if wanted.wants("worklog") {
        let logs: Vec<&Worklog> = data
            .worklogs
            .iter()
            .filter(|w| w.issue_id == issue.id)
            .collect();
        let embedded: Vec<Value> = logs
            .iter()
            .take(EMBEDDED_WORKLOGS)
            .map(|w| worklog_json(ctx, base, version, data, w))
            .collect();
        put(
            "worklog",
            json!({"startAt": 0, "maxResults": EMBEDDED_WORKLOGS, "total": logs.len(), "worklogs": embedded}),
        );
    }
    for def in FIELDS {
        if def.dc_only && ctx.flavour == Flavour::Cloud {
            continue;
        }
        let id = def.id(ctx.flavour);
        if wanted.wants(&id) {
            f.insert(id, custom_value(ctx, base, data, issue, def));
        }
    }
    out.insert("fields".into(), Value::Object(f));
    Value::Object(out)
}

fn names_and_schema(ctx: &Ctx) -> (Value, Value) {
    let mut names = Map::new();
    let mut schema = Map::new();
    for def in FIELDS
        .iter()
        .filter(|d| !(d.dc_only && ctx.flavour == Flavour::Cloud))
    {
        let id = def.id(ctx.flavour);
        names.insert(id.clone(), json!(def.name));
        schema.insert(id, field_schema(ctx, def));
    }
    (Value::Object(names), Value::Object(schema))
}

fn field_schema(ctx: &Ctx, def: &data::FieldDef) -> Value {
    let custom_id = match ctx.flavour {
        Flavour::Cloud => def.cloud_id,
        Flavour::DataCenter => def.dc_id,
    };
    let mut s =
        json!({"type": def.schema_type(), "custom": def.custom_type(), "customId": custom_id});
    if def.kind == FieldKind::Sprint {
        s["items"] = json!("json");
    }
    s
}

// ---------------------------------------------------------------------------------------
// Handlers.

async fn myself(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let base = base_url(&headers, &ctx);
    let mut me = bot_json(ctx.flavour, &base);
    me["emailAddress"] = json!(CLOUD_USER);
    me["locale"] = json!("en_GB");
    crate::json_response(StatusCode::OK, me)
}

async fn fields(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let system = [
        ("summary", "Summary", "string"),
        ("issuetype", "Issue Type", "issuetype"),
        ("status", "Status", "status"),
        ("parent", "Parent", "issuelink"),
        ("assignee", "Assignee", "user"),
        ("created", "Created", "datetime"),
        ("updated", "Updated", "datetime"),
        ("labels", "Labels", "array"),
        ("worklog", "Log Work", "array"),
    ];
    let mut out: Vec<Value> = system
        .iter()
        .filter(|(id, _, _)| !(*id == "parent" && ctx.flavour == Flavour::DataCenter))
        .map(|(id, name, t)| {
            json!({"id": id, "key": id, "name": name, "custom": false, "orderable": true, "navigable": true,
                   "searchable": true, "clauseNames": [id], "schema": {"type": t, "system": id}})
        })
        .collect();
    for def in FIELDS
        .iter()
        .filter(|d| !(d.dc_only && ctx.flavour == Flavour::Cloud))
    {
        let id = def.id(ctx.flavour);
        let custom_id = id.trim_start_matches("customfield_").to_string();
        out.push(json!({
            "id": id, "key": id, "name": def.name, "custom": true, "orderable": true, "navigable": true,
            "searchable": true, "clauseNames": [format!("cf[{custom_id}]"), def.name],
            "schema": field_schema(&ctx, def)
        }));
    }
    crate::json_response(StatusCode::OK, Value::Array(out))
}

async fn issue_types(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let base = base_url(&headers, &ctx);
    crate::json_response(
        StatusCode::OK,
        Value::Array(
            ISSUE_TYPES
                .iter()
                .map(|t| issue_type_json(&base, t))
                .collect(),
        ),
    )
}

/// Parameters of a search, from the query string or a POST body.
struct SearchArgs {
    jql: String,
    token: Option<String>,
    start_at: i64,
    max_results: i64,
    fields: Vec<String>,
    expand: String,
}

fn search_args_from_query(ps: &[(String, String)]) -> Result<SearchArgs, Response> {
    Ok(SearchArgs {
        jql: param(ps, "jql").unwrap_or("").to_string(),
        token: param(ps, "nextPageToken").map(str::to_string),
        start_at: number(ps, "startAt", 0)?,
        max_results: number(ps, "maxResults", 50)?,
        fields: ps
            .iter()
            .filter(|(k, _)| k == "fields")
            .map(|(_, v)| v.clone())
            .collect(),
        expand: ps
            .iter()
            .filter(|(k, _)| k == "expand")
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
            .join(","),
    })
}

fn search_args_from_body(body: &Bytes) -> Result<SearchArgs, Response> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("Unrecognized token in the request body: {e}"),
        )
    })?;
    // `expand` is a comma-separated string even in the body; an array is refused.
    if v.get("expand")
        .is_some_and(|e| !e.is_string() && !e.is_null())
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Cannot deserialize value of type `java.lang.String` from Array value (token `JsonToken.START_ARRAY`)",
        ));
    }
    Ok(SearchArgs {
        jql: v
            .get("jql")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        token: v
            .get("nextPageToken")
            .and_then(Value::as_str)
            .map(str::to_string),
        start_at: v.get("startAt").and_then(Value::as_i64).unwrap_or(0),
        max_results: v.get("maxResults").and_then(Value::as_i64).unwrap_or(50),
        fields: v
            .get("fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        expand: v
            .get("expand")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    })
}

fn matching<'a>(ctx: &Ctx, data: &'a Dataset, jql: &str) -> Result<Vec<&'a Issue>, Response> {
    let query = jql::parse(jql, ctx.flavour).map_err(|m| error(StatusCode::BAD_REQUEST, &m))?;
    let mut hits: Vec<&Issue> = data
        .issues
        .iter()
        .filter(|i| query.matches(i, data))
        .collect();
    query.sort(&mut hits);
    Ok(hits)
}

fn encode_token(offset: usize, jql: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}|{jql}"))
}

fn decode_token(token: &str, jql: &str) -> Option<usize> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (offset, q) = text.split_once('|')?;
    (q == jql).then(|| offset.parse().ok()).flatten()
}

fn search_jql(ctx: &Ctx, headers: &HeaderMap, version: &str, args: SearchArgs) -> Response {
    if ctx.flavour == Flavour::DataCenter {
        return error(StatusCode::NOT_FOUND, "null for uri");
    }
    let data = ctx.shared.jira.lock().unwrap();
    let hits = match matching(ctx, &data, &args.jql) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let offset = match &args.token {
        None => 0,
        Some(t) => match decode_token(t, &args.jql) {
            Some(o) => o,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "The provided next page token is invalid or expired.",
                );
            }
        },
    };
    let wanted = Wanted::parse(&args.fields, false);
    let per_page = (args.max_results.max(1) as usize).min(wanted.cap());
    let base = base_url(headers, ctx);
    let page: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|i| issue_json(ctx, &base, version, &data, i, &wanted, true))
        .collect();
    let end = offset + page.len();
    let mut out = json!({"issues": page, "isLast": end >= hits.len()});
    // On the last page the key is absent, not null (JRACLOUD-92184).
    if end < hits.len() {
        out["nextPageToken"] = json!(encode_token(end, &args.jql));
    }
    if args.expand.split(',').any(|e| e.trim() == "names")
        || args.expand.split(',').any(|e| e.trim() == "schema")
    {
        let (names, schema) = names_and_schema(ctx);
        if args.expand.contains("names") {
            out["names"] = names;
        }
        if args.expand.contains("schema") {
            out["schema"] = schema;
        }
    }
    crate::json_response(StatusCode::OK, out)
}

/// Runs a search after the credentials check, with its arguments from the query string (GET)
/// or the body (POST).
fn searching(
    ctx: &Ctx,
    headers: &HeaderMap,
    version: &str,
    args: impl FnOnce() -> Result<SearchArgs, Response>,
    search: fn(&Ctx, &HeaderMap, &str, SearchArgs) -> Response,
) -> Response {
    if let Err(r) = gate(ctx, headers, Some(version)) {
        return r;
    }
    match args() {
        Ok(args) => search(ctx, headers, version, args),
        Err(r) => r,
    }
}

async fn search_jql_get(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let args = || search_args_from_query(&params(&q));
    searching(&ctx, &headers, &version, args, search_jql)
}

async fn search_jql_post(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = || search_args_from_body(&body);
    searching(&ctx, &headers, &version, args, search_jql)
}

const REMOVED_SEARCH: &str = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";

fn search_old(ctx: &Ctx, headers: &HeaderMap, version: &str, args: SearchArgs) -> Response {
    if ctx.flavour == Flavour::Cloud {
        return error(StatusCode::GONE, REMOVED_SEARCH);
    }
    let data = ctx.shared.jira.lock().unwrap();
    let hits = match matching(ctx, &data, &args.jql) {
        Ok(h) => h,
        Err(r) => return r,
    };
    // Data Center: offset paging with a total; the server cap applies silently.
    let max = (args.max_results.max(0) as usize).min(DC_SEARCH_CAP);
    let start = args.start_at.max(0) as usize;
    let wanted = Wanted::parse(&args.fields, true);
    let base = base_url(headers, ctx);
    let issues: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| issue_json(ctx, &base, version, &data, i, &wanted, false))
        .collect();
    let mut out = json!({"expand": "schema,names", "startAt": start, "maxResults": max, "total": hits.len(), "issues": issues});
    if args.expand.contains("names") || args.expand.contains("schema") {
        let (names, schema) = names_and_schema(ctx);
        out["names"] = names;
        out["schema"] = schema;
    }
    crate::json_response(StatusCode::OK, out)
}

async fn search_old_get(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let args = || search_args_from_query(&params(&q));
    searching(&ctx, &headers, &version, args, search_old)
}

async fn search_old_post(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = || search_args_from_body(&body);
    searching(&ctx, &headers, &version, args, search_old)
}

fn no_issue() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "Issue does not exist or you do not have permission to see it.",
    )
}

async fn edit_issue(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Unexpected character in the request body.",
        );
    };
    let now = now(&ctx);
    let mut data = ctx.shared.jira.lock().unwrap();
    let Some(issue) = data.issue_mut(&key) else {
        return no_issue();
    };
    let mut labels = issue.labels.clone();
    if let Some(set) = v.pointer("/fields/labels").and_then(Value::as_array) {
        labels = set
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    if let Some(ops) = v.pointer("/update/labels").and_then(Value::as_array) {
        for op in ops {
            if let Some(l) = op.get("add").and_then(Value::as_str) {
                if !labels.iter().any(|x| x == l) {
                    labels.push(l.to_string());
                }
            } else if let Some(l) = op.get("remove").and_then(Value::as_str) {
                labels.retain(|x| x != l);
            } else if let Some(set) = op.get("set").and_then(Value::as_array) {
                labels = set
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
            }
        }
    }
    if let Some(bad) = labels.iter().find(|l| l.contains(' ')) {
        return field_error(
            StatusCode::BAD_REQUEST,
            "labels",
            &format!("The label '{bad}' contains spaces which is invalid."),
        );
    }
    if labels != issue.labels {
        issue.labels = labels;
        issue.updated = now;
    }
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(axum::body::Body::empty())
        .unwrap()
}

async fn issue_worklogs(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let ps = params(&q);
    // Non-numeric paging parameters give 404 here, as on the real service.
    let (Ok(start), Ok(max)) = (number(&ps, "startAt", 0), number(&ps, "maxResults", 5000)) else {
        return no_issue();
    };
    let data = ctx.shared.jira.lock().unwrap();
    let Some(issue) = data.issue(&key) else {
        return no_issue();
    };
    let base = base_url(&headers, &ctx);
    let mut logs: Vec<&Worklog> = data
        .worklogs
        .iter()
        .filter(|w| w.issue_id == issue.id)
        .collect();
    logs.sort_by_key(|w| (w.created, w.id));
    let total = logs.len();
    let page: Vec<Value> = logs
        .into_iter()
        .skip(start.max(0) as usize)
        .take(max.clamp(0, 5000) as usize)
        .map(|w| worklog_json(&ctx, &base, &version, &data, w))
        .collect();
    crate::json_response(
        StatusCode::OK,
        json!({"startAt": start, "maxResults": max.clamp(0, 5000), "total": total, "worklogs": page}),
    )
}

fn changed_page(
    ctx: &Ctx,
    headers: &HeaderMap,
    version: &str,
    what: &str,
    since: i64,
    mut items: Vec<(u64, i64)>,
) -> Response {
    // The last minute is left out: a worklog saved just now shows up on a later call.
    let horizon = now(ctx) - 60_000;
    items.retain(|(_, t)| *t > since && *t <= horizon);
    items.sort_by_key(|(id, t)| (*t, *id));
    let last_page = items.len() <= CHANGED_PAGE;
    items.truncate(CHANGED_PAGE);
    let until = items.last().map(|(_, t)| *t).unwrap_or(since);
    let base = base_url(headers, ctx);
    let values: Vec<Value> = items
        .iter()
        .map(|(id, t)| json!({"worklogId": id, "updatedTime": t, "properties": []}))
        .collect();
    let mut out = json!({
        "values": values,
        "since": since,
        "until": until,
        "self": format!("{base}/rest/api/{version}/worklog/{what}?since={since}"),
        "lastPage": last_page,
    });
    if !last_page {
        out["nextPage"] = json!(format!(
            "{base}/rest/api/{version}/worklog/{what}?since={until}"
        ));
    }
    crate::json_response(StatusCode::OK, out)
}

async fn worklogs_updated(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let since = match number(&params(&q), "since", 0) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let items = {
        let data = ctx.shared.jira.lock().unwrap();
        data.worklogs.iter().map(|w| (w.id, w.updated)).collect()
    };
    changed_page(&ctx, &headers, &version, "updated", since, items)
}

async fn worklogs_deleted(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let since = match number(&params(&q), "since", 0) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let items = ctx.shared.jira.lock().unwrap().deleted_worklogs.clone();
    changed_page(&ctx, &headers, &version, "deleted", since, items)
}

async fn worklog_list(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let ids: Vec<u64> = match serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("ids").cloned())
        .and_then(|ids| serde_json::from_value::<Vec<u64>>(ids).ok())
    {
        Some(ids) => ids,
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                "Request body must contain a list of worklog ids: {\"ids\": [...]}.",
            );
        }
    };
    if ids.is_empty() || ids.len() > 1000 {
        return field_error(
            StatusCode::BAD_REQUEST,
            "ids",
            "The number of worklog ids must be between 1 and 1000.",
        );
    }
    let data = ctx.shared.jira.lock().unwrap();
    let base = base_url(&headers, &ctx);
    let out: Vec<Value> = data
        .worklogs
        .iter()
        .filter(|w| ids.contains(&w.id))
        .map(|w| worklog_json(&ctx, &base, &version, &data, w))
        .collect();
    crate::json_response(StatusCode::OK, Value::Array(out))
}

fn comment_json(
    ctx: &Ctx,
    base: &str,
    version: &str,
    issue: &Issue,
    c: &data::Comment,
    data: &Dataset,
) -> Value {
    let author = match c.author {
        Some(a) => user_json(ctx.flavour, base, &data.users[a]),
        None => bot_json(ctx.flavour, base),
    };
    // A body stored from v2 text is served to v3 as a paragraph, and the other way round.
    let body = match (&c.body, adf(version)) {
        (Value::String(s), true) => text_body(true, s),
        (Value::Object(_), false) => Value::String(adf_text(&c.body)),
        (b, _) => b.clone(),
    };
    json!({
        "self": format!("{base}/rest/api/{version}/issue/{}/comment/{}", issue.id, c.id),
        "id": c.id.to_string(),
        "author": author,
        "updateAuthor": author,
        "body": body,
        "created": jira_timestamp(c.created),
        "updated": jira_timestamp(c.updated),
        "jsdPublic": true,
    })
}

/// The plain text of an ADF document, paragraphs on their own lines.
pub fn adf_text(doc: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        if let Some(t) = v.get("text").and_then(Value::as_str) {
            out.push_str(t);
        }
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            for c in children {
                walk(c, out);
            }
            if matches!(
                v.get("type").and_then(Value::as_str),
                Some("paragraph" | "heading" | "listItem")
            ) && !out.ends_with('\n')
            {
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    walk(doc, &mut out);
    out.trim_end().to_string()
}

/// Checks an ADF document the way the v3 API does (the parts that commonly go wrong).
fn check_adf(doc: &Value) -> Result<(), String> {
    if doc.get("type").and_then(Value::as_str) != Some("doc")
        || doc.get("version").and_then(Value::as_i64) != Some(1)
        || !doc.get("content").is_some_and(Value::is_array)
    {
        return Err(
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                .into(),
        );
    }
    fn walk(v: &Value) -> Result<(), String> {
        match v.get("type").and_then(Value::as_str) {
            None => return Err("ADF node without a type".into()),
            Some("text") => {
                if v.get("text")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err("ADF text nodes must not be empty".into());
                }
            }
            Some(_) => {}
        }
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            for c in children {
                walk(c)?;
            }
        }
        Ok(())
    }
    for c in doc["content"].as_array().unwrap() {
        if c.get("type").and_then(Value::as_str) == Some("text") {
            return Err("ADF text must sit inside a block node".into());
        }
        walk(c)?;
    }
    Ok(())
}

/// Credentials, then the JSON request and its comment body: (request, body).
fn comment_request(
    ctx: &Ctx,
    headers: &HeaderMap,
    version: &str,
    body: &Bytes,
) -> Result<(Value, Value), Response> {
    gate(ctx, headers, Some(version))?;
    let v = serde_json::from_slice::<Value>(body).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "Unexpected character in the request body.",
        )
    })?;
    let body = comment_body(version, &v)?;
    Ok((v, body))
}

fn comment_body(version: &str, v: &Value) -> Result<Value, Response> {
    let Some(body) = v.get("body") else {
        return Err(field_error(
            StatusCode::BAD_REQUEST,
            "comment",
            "Comment body can not be empty!",
        ));
    };
    if adf(version) {
        check_adf(body).map_err(|m| error(StatusCode::BAD_REQUEST, &m))?;
        Ok(body.clone())
    } else {
        match body.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(body.clone()),
            _ => Err(field_error(
                StatusCode::BAD_REQUEST,
                "comment",
                "Comment body can not be empty!",
            )),
        }
    }
}

async fn list_comments(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let ps = params(&q);
    let (start, max) = match (number(&ps, "startAt", 0), number(&ps, "maxResults", 100)) {
        (Ok(s), Ok(m)) => (s.max(0) as usize, m.clamp(0, 100) as usize),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let data = ctx.shared.jira.lock().unwrap();
    let Some(issue) = data.issue(&key) else {
        return no_issue();
    };
    let base = base_url(&headers, &ctx);
    let mut comments: Vec<&data::Comment> = issue.comments.iter().collect();
    if param(&ps, "orderBy") == Some("-created") {
        comments.reverse();
    }
    let page: Vec<Value> = comments
        .iter()
        .skip(start)
        .take(max)
        .map(|c| comment_json(&ctx, &base, &version, issue, c, &data))
        .collect();
    crate::json_response(
        StatusCode::OK,
        json!({"startAt": start, "maxResults": max, "total": issue.comments.len(), "comments": page}),
    )
}

async fn add_comment(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (v, body) = match comment_request(&ctx, &headers, &version, &body) {
        Ok(parsed) => parsed,
        Err(r) => return r,
    };
    let now = now(&ctx);
    let mut data = ctx.shared.jira.lock().unwrap();
    let id = data.next_comment_id();
    let Some(issue) = data.issue_mut(&key) else {
        return no_issue();
    };
    let mut properties = std::collections::BTreeMap::new();
    for p in v
        .get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(k), Some(val)) = (p.get("key").and_then(Value::as_str), p.get("value")) {
            properties.insert(k.to_string(), val.clone());
        }
    }
    issue.comments.push(data::Comment {
        id,
        author: None,
        body,
        created: now,
        updated: now,
        properties,
    });
    issue.updated = now;
    let issue = data.issue(&key).unwrap();
    let base = base_url(&headers, &ctx);
    let c = issue.comments.last().unwrap();
    crate::json_response(
        StatusCode::CREATED,
        comment_json(&ctx, &base, &version, issue, c, &data),
    )
}

async fn update_comment(
    State(ctx): State<Ctx>,
    Path((version, key, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, body) = match comment_request(&ctx, &headers, &version, &body) {
        Ok(parsed) => parsed,
        Err(r) => return r,
    };
    let now = now(&ctx);
    let mut data = ctx.shared.jira.lock().unwrap();
    let Some(issue) = data.issue_mut(&key) else {
        return no_issue();
    };
    let Some(c) = issue.comments.iter_mut().find(|c| c.id.to_string() == id) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Can not find a comment for the id: {id}."),
        );
    };
    if c.author.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            "You do not have the permission to edit this comment.",
        );
    }
    c.body = body;
    c.updated = now;
    let issue = data.issue(&key).unwrap();
    let c = issue
        .comments
        .iter()
        .find(|c| c.id.to_string() == id)
        .unwrap();
    let base = base_url(&headers, &ctx);
    crate::json_response(
        StatusCode::OK,
        comment_json(&ctx, &base, &version, issue, c, &data),
    )
}

fn find_comment_mut<'a>(data: &'a mut Dataset, id: &str) -> Option<&'a mut data::Comment> {
    data.issues
        .iter_mut()
        .flat_map(|i| i.comments.iter_mut())
        .find(|c| c.id.to_string() == id)
}

async fn comment_property_keys(
    State(ctx): State<Ctx>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let base = base_url(&headers, &ctx);
    let mut data = ctx.shared.jira.lock().unwrap();
    let Some(c) = find_comment_mut(&mut data, &id) else {
        return error(StatusCode::NOT_FOUND, "The comment does not exist.");
    };
    let keys: Vec<Value> = c
        .properties
        .keys()
        .map(|k| json!({"key": k, "self": format!("{base}/rest/api/{version}/comment/{id}/properties/{k}")}))
        .collect();
    crate::json_response(StatusCode::OK, json!({"keys": keys}))
}

async fn get_comment_property(
    State(ctx): State<Ctx>,
    Path((version, id, property)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let mut data = ctx.shared.jira.lock().unwrap();
    let Some(c) = find_comment_mut(&mut data, &id) else {
        return error(StatusCode::NOT_FOUND, "The comment does not exist.");
    };
    match c.properties.get(&property) {
        Some(v) => crate::json_response(StatusCode::OK, json!({"key": property, "value": v})),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("The property with key '{property}' was not found."),
        ),
    }
}

async fn put_comment_property(
    State(ctx): State<Ctx>,
    Path((version, id, property)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    if property.len() > 255 || body.len() > 32_768 {
        return error(
            StatusCode::BAD_REQUEST,
            "The property key is longer than 255 characters or the value is longer than 32768 characters.",
        );
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "The property value is not valid JSON.",
        );
    };
    let mut data = ctx.shared.jira.lock().unwrap();
    let Some(c) = find_comment_mut(&mut data, &id) else {
        return error(StatusCode::NOT_FOUND, "The comment does not exist.");
    };
    let status = if c.properties.insert(property, value).is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    crate::json_response(status, json!({}))
}

async fn boards(State(ctx): State<Ctx>, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&ctx, &headers, None) {
        return r;
    }
    let ps = params(&q);
    let (start, max) = match (number(&ps, "startAt", 0), number(&ps, "maxResults", 50)) {
        (Ok(s), Ok(m)) => (s.max(0) as usize, m.clamp(1, 50) as usize),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let data = ctx.shared.jira.lock().unwrap();
    if let Some(p) = param(&ps, "projectKeyOrId")
        && !p.eq_ignore_ascii_case(&data.project)
        && p != "10000"
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("No project could be found with key '{p}'."),
        );
    }
    let base = base_url(&headers, &ctx);
    let kinds: Option<Vec<&str>> = param(&ps, "type").map(|t| t.split(',').collect());
    let all: Vec<&data::Board> = data
        .boards
        .iter()
        .filter(|b| kinds.as_ref().is_none_or(|k| k.contains(&b.kind)))
        .collect();
    let values: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|b| {
            json!({"id": b.id, "self": format!("{base}/rest/agile/1.0/board/{}", b.id), "name": format!("{} board", b.name), "type": b.kind,
                   "location": {"projectId": 10000, "projectKey": data.project, "projectName": "Portfolio", "displayName": format!("Portfolio ({})", data.project), "name": format!("Portfolio ({})", data.project)}})
        })
        .collect();
    let is_last = start + values.len() >= all.len();
    crate::json_response(
        StatusCode::OK,
        json!({"maxResults": max, "startAt": start, "total": all.len(), "isLast": is_last, "values": values}),
    )
}

async fn board_sprints(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, None) {
        return r;
    }
    let ps = params(&q);
    let (start, max) = match (number(&ps, "startAt", 0), number(&ps, "maxResults", 50)) {
        (Ok(s), Ok(m)) => (s.max(0) as usize, m.clamp(1, 50) as usize),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let data = ctx.shared.jira.lock().unwrap();
    let Some(board) = data.boards.iter().find(|b| b.id.to_string() == id) else {
        return error(
            StatusCode::NOT_FOUND,
            "Board does not exist or you do not have permission to see it.",
        );
    };
    if board.kind != "scrum" {
        return error(
            StatusCode::BAD_REQUEST,
            "The board does not support sprints",
        );
    }
    let states: Option<Vec<&str>> = param(&ps, "state").map(|s| s.split(',').collect());
    let rank = |s: &str| match s {
        "closed" => 0,
        "active" => 1,
        _ => 2,
    };
    let mut all: Vec<&data::Sprint> = data
        .sprints
        .iter()
        .filter(|s| s.board == board.id && states.as_ref().is_none_or(|st| st.contains(&s.state)))
        .collect();
    all.sort_by_key(|s| (rank(s.state), s.id));
    let base = base_url(&headers, &ctx);
    let values: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|s| {
            let mut v = json!({"id": s.id, "self": format!("{base}/rest/agile/1.0/sprint/{}", s.id), "state": s.state, "name": s.name, "originBoardId": s.board});
            if let (Some(a), Some(b)) = (s.start, s.end) {
                v["startDate"] = json!(agile_timestamp(a));
                v["endDate"] = json!(agile_timestamp(b));
            }
            if let Some(c) = s.complete {
                v["completeDate"] = json!(agile_timestamp(c));
            }
            if let Some(g) = &s.goal {
                v["goal"] = json!(g);
            }
            v
        })
        .collect();
    // Real sprint pages carry no `total`.
    let is_last = start + values.len() >= all.len();
    crate::json_response(
        StatusCode::OK,
        json!({"maxResults": max, "startAt": start, "isLast": is_last, "values": values}),
    )
}

async fn sprint_issues(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, None) {
        return r;
    }
    let ps = params(&q);
    let (start, max) = match (number(&ps, "startAt", 0), number(&ps, "maxResults", 50)) {
        (Ok(s), Ok(m)) => (s.max(0) as usize, m.clamp(1, 1000) as usize),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let data = ctx.shared.jira.lock().unwrap();
    let Ok(sprint) = id.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, "Sprint does not exist.");
    };
    if !data.sprints.iter().any(|s| s.id == sprint) {
        return error(StatusCode::NOT_FOUND, "Sprint does not exist.");
    }
    let fields: Vec<String> = ps
        .iter()
        .filter(|(k, _)| k == "fields")
        .map(|(_, v)| v.clone())
        .collect();
    let wanted = Wanted::parse(&fields, true);
    let base = base_url(&headers, &ctx);
    let hits: Vec<&Issue> = data
        .issues
        .iter()
        .filter(|i| i.sprints.contains(&sprint))
        .collect();
    let issues: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| issue_json(&ctx, &base, "2", &data, i, &wanted, false))
        .collect();
    crate::json_response(
        StatusCode::OK,
        json!({"expand": "schema,names", "startAt": start, "maxResults": max, "total": hits.len(), "issues": issues}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adf_checks_and_text() {
        let doc = text_body(true, "hello");
        assert!(check_adf(&doc).is_ok());
        assert_eq!(adf_text(&doc), "hello");
        assert!(check_adf(&json!("plain")).is_err());
        assert!(check_adf(&json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]})).is_err());
    }

    #[test]
    fn query_strings_decode() {
        let ps = params(&Some(
            "jql=project%20%3D%20BIZ&fields=a&fields=b&x=%E2%82%AC+1".into(),
        ));
        assert_eq!(param(&ps, "jql"), Some("project = BIZ"));
        assert_eq!(ps.iter().filter(|(k, _)| k == "fields").count(), 2);
        assert_eq!(param(&ps, "x"), Some("€ 1"));
    }

    #[test]
    fn page_tokens_are_bound_to_their_query() {
        let t = encode_token(50, "project = BIZ");
        assert_eq!(decode_token(&t, "project = BIZ"), Some(50));
        assert_eq!(decode_token(&t, "project = OTHER"), None);
        assert_eq!(decode_token("garbage!", "project = BIZ"), None);
    }
}
