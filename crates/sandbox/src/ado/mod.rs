//! The Azure DevOps fake: `/ado/{organization}/...`, REST api-version 7.1.
//!
//! What it reproduces, from shared/reference/tracker-apis.md Part B and Microsoft's 7.1
//! specifications: the discovery Microsoft's client libraries do first (`OPTIONS` on `_apis`
//! and on each area, resource areas, connection data); routes that ignore case and take the
//! project (and for WIQL and team settings the team) by name or id; the `api-version` demanded
//! in the query or the `Accept` header, preview versions for comments; WIQL that answers ids
//! only, refuses more than 20,000 results and a time in a date without `timePrecision`;
//! work items at most 200 per call, `fields` and `$expand` exclusive, `errorPolicy=omit`,
//! empty fields absent, `asOf`; relations, updates and revisions from one history; team
//! iterations with date-only, midnight-UTC dates and a time frame computed from today;
//! comments with versions, in markdown or HTML; tags and fields by JSON Patch with `test` on
//! the revision; the recycle bin. Credentials: a PAT by basic auth (any user name); a wrong
//! one answers 203 with an HTML sign-in page, or 401 when the client asks for no redirect
//! (`X-TFS-FedAuthRedirect: Suppress`, as Microsoft's clients do).

// Handlers return a ready `Response` as their error, the axum way; its size does not matter.
#![allow(clippy::result_large_err)]

pub mod data;
mod discovery;
mod items;
pub mod wiql;
mod work;

use crate::Shared;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use data::AdoDataset;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The highest api-version the fake serves.
pub const LATEST_VERSION: f64 = 7.1;

/// One request, parsed: where it points and what it asks.
pub(crate) struct Call {
    pub method: Method,
    /// `http://host/ado/{organization}`, for the URLs in answers.
    pub base: String,
    pub project: Option<String>,
    pub team: Option<String>,
    /// Path segments after `_apis`, as sent.
    pub rest: Vec<String>,
    /// Query parameters, decoded; names as sent.
    pub query: BTreeMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The api-version asked for (query or Accept header).
    pub version: Option<String>,
    pub now: i64,
}

impl Call {
    /// A query parameter, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A flag parameter (`true`).
    pub fn flag(&self, name: &str) -> bool {
        self.param(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The segment after `_apis` at `i`, lower case.
    pub fn seg(&self, i: usize) -> Option<String> {
        self.rest.get(i).map(|s| s.to_ascii_lowercase())
    }

    /// The JSON body.
    pub fn json(&self) -> Result<Value, Response> {
        serde_json::from_slice(&self.body).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                &format!("VS402323: The request body is not valid JSON: {e}"),
                "VssRequestContentException",
            )
        })
    }

    /// The project's URL part for links: `{base}/{project-id}`.
    pub fn project_base(&self, d: &AdoDataset) -> String {
        format!("{}/{}", self.base, d.project_id)
    }
}

/// A JSON answer, with the content type the service sends.
pub(crate) fn ok(body: Value) -> Response {
    with_status(StatusCode::OK, body)
}

/// The content type of the service's JSON answers.
const JSON: &str = "application/json; charset=utf-8; api-version=7.1";

pub(crate) fn with_status(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, JSON)], body.to_string()).into_response()
}

/// [`ok`] of JSON text written by hand.
pub(crate) fn ok_text(text: Vec<u8>) -> Response {
    crate::written_as(StatusCode::OK, JSON, text)
}

/// A collection, wrapped as the service wraps every list.
pub(crate) fn collection(items: Vec<Value>) -> Response {
    ok(json!({"count": items.len(), "value": items}))
}

/// The service's error body.
pub(crate) fn error(status: StatusCode, message: &str, type_key: &str) -> Response {
    with_status(
        status,
        json!({
            "$id": "1",
            "innerException": null,
            "message": message,
            "typeName": format!("Microsoft.VisualStudio.Services.WebApi.{type_key}, Microsoft.VisualStudio.Services.WebApi"),
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000
        }),
    )
}

/// Azure DevOps answers bad credentials with 203 and an HTML sign-in page.
pub(crate) fn sign_in_page() -> Response {
    (
        StatusCode::NON_AUTHORITATIVE_INFORMATION,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>Sign in to continue</body></html>",
    )
        .into_response()
}

fn not_found_route(path: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "The controller for path '{path}' was not found or does not implement IController."
        ),
        "NotFoundException",
    )
}

fn authorised(headers: &HeaderMap) -> bool {
    matches!(crate::basic_credentials(headers), Some((_, token)) if token == crate::ADO_TOKEN)
}

/// The api-version of a request: `api-version=` in the query, else in the `Accept` header
/// (`application/json;api-version=7.1-preview.4`), as Microsoft's clients send it.
fn version_of(query: &BTreeMap<String, String>, headers: &HeaderMap) -> Option<String> {
    if let Some((_, v)) = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
    {
        return Some(v.clone());
    }
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    accept.split(';').find_map(|p| {
        p.trim()
            .strip_prefix("api-version=")
            .map(|v| v.trim().to_string())
    })
}

/// Check the api-version against what a resource serves: `preview` resources demand the
/// `-preview` flag.
pub(crate) fn check_version(call: &Call, preview: bool) -> Result<(), Response> {
    let Some(v) = call.version.as_deref() else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "VS800075: The api-version query parameter is required for this request. Add api-version=7.1 to the query string.",
            "VssVersionNotSpecifiedException",
        ));
    };
    let (number, flag) = match v.split_once('-') {
        Some((n, f)) => (n, Some(f)),
        None => (v, None),
    };
    let Ok(n) = number.parse::<f64>() else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!("VS800070: The api-version '{v}' is not in a valid format."),
            "VssInvalidApiVersionException",
        ));
    };
    if n > LATEST_VERSION + 1e-9 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!(
                "VS800071: The requested REST API version of {v} is out of range for this server. The latest REST API version for this server is {LATEST_VERSION}."
            ),
            "VssVersionOutOfRangeException",
        ));
    }
    if preview && !flag.is_some_and(|f| f.starts_with("preview")) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!(
                "VS800069: The requested version \"{v}\" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: \"{number}-preview\""
            ),
            "VssInvalidPreviewVersionException",
        ));
    }
    Ok(())
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn path_decode(s: &str) -> String {
    decode(&s.replace('+', "%2B"))
}

/// Every request below `/ado/`.
pub(crate) async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "VS402351: The request body is too large.",
            "RequestContentTooLargeException",
        );
    };
    let path = parts.uri.path().to_string();
    let query: BTreeMap<String, String> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect();
    let segments: Vec<String> = path
        .trim_start_matches("/ado/")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(path_decode)
        .collect();
    let Some(organization) = segments.first().cloned() else {
        return not_found_route(&path);
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let base = format!("http://{host}/ado/{organization}");
    let apis = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("_apis"));

    // The web page of a work item, which links point people to.
    if apis.is_none() {
        if let [_, project, wi, edit, id] = segments.as_slice()
            && wi.eq_ignore_ascii_case("_workitems")
            && edit.eq_ignore_ascii_case("edit")
        {
            {
                let d = shared.ado.read().unwrap();
                let title = id
                    .parse::<u64>()
                    .ok()
                    .and_then(|i| d.item(i))
                    .and_then(|w| w.text("System.Title").map(str::to_string));
                return match title {
                    Some(t) => (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        format!(
                            "<!DOCTYPE html><html><head><title>{id} {t}</title></head><body><h1>{}: {id}</h1><p>{}</p></body></html>",
                            crate::html_escape(project),
                            crate::html_escape(&t)
                        ),
                    )
                        .into_response(),
                    None => not_found_route(&path),
                };
            }
        }
        return not_found_route(&path);
    }
    let apis = apis.unwrap_or(0);

    if !authorised(&parts.headers) {
        let suppress = parts
            .headers
            .get("x-tfs-fedauthredirect")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("suppress"));
        if suppress || parts.method == Method::OPTIONS {
            return error(
                StatusCode::UNAUTHORIZED,
                "TF400813: The user '' is not authorized to access this resource.",
                "UnauthorizedRequestException",
            );
        }
        return sign_in_page();
    }
    if organization != crate::ADO_ORGANIZATION {
        return error(
            StatusCode::NOT_FOUND,
            &format!("VS800075: The organization '{organization}' does not exist."),
            "OrganizationNotFoundException",
        );
    }
    let scope = &segments[1..apis];
    let d_project = shared.ado.read().unwrap().project.clone();
    let d_project_id = shared.ado.read().unwrap().project_id.clone();
    let (project, team) = match scope {
        [] => (None, None),
        [p] => (Some(p.clone()), None),
        [p, t] => (Some(p.clone()), Some(t.clone())),
        _ => return not_found_route(&path),
    };
    if let Some(p) = &project
        && !p.eq_ignore_ascii_case(&d_project)
        && !p.eq_ignore_ascii_case(&d_project_id)
    {
        {
            return error(
                StatusCode::NOT_FOUND,
                &format!(
                    "TF200016: The following project does not exist: {p}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."
                ),
                "ProjectDoesNotExistWithNameException",
            );
        }
    }
    let version = version_of(&query, &parts.headers);
    let call = Call {
        method: parts.method.clone(),
        base,
        project: project.map(|_| d_project.clone()),
        team,
        rest: segments[apis + 1..].to_vec(),
        query,
        headers: parts.headers,
        body,
        version,
        now: shared.now_ms(),
    };
    route(&shared, &call, &path)
}

fn route(shared: &Shared, call: &Call, path: &str) -> Response {
    let area = call.seg(0).unwrap_or_default();
    if call.method == Method::OPTIONS {
        return discovery::options(call, &area);
    }
    let result = match area.as_str() {
        "resourceareas" | "connectiondata" | "projects" => discovery::handle(shared, call),
        "wit" => items::handle(shared, call),
        "work" => work::handle(shared, call),
        _ => Err(not_found_route(path)),
    };
    match result {
        Ok(r) | Err(r) => r,
    }
}

/// A 404 for a route the fake does not serve.
pub(crate) fn no_route(call: &Call) -> Response {
    not_found_route(&format!("/_apis/{}", call.rest.join("/")))
}

/// 405 for a method a resource does not take.
pub(crate) fn bad_method(call: &Call) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!(
            "The requested resource does not support http method '{}'.",
            call.method
        ),
        "HttpMethodNotAllowedException",
    )
}

/// The team a route names (by name or id), or the project's default team when it names none.
pub(crate) fn team_index(d: &AdoDataset, call: &Call) -> Result<usize, Response> {
    // Without a team in the route, the project's default team (the first).
    let Some(t) = &call.team else {
        return Ok(0);
    };
    d.teams
        .iter()
        .position(|x| x.name.eq_ignore_ascii_case(t) || x.id.eq_ignore_ascii_case(t))
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                &format!("VS800002: The team with id or name '{t}' does not exist."),
                "TeamNotFoundException",
            )
        })
}
