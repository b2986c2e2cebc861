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

mod agile;
mod comments;
pub mod data;
pub mod index;
mod issues;
pub mod jql;
mod meta;
mod render;
mod search;
mod site;
mod worklogs;
mod written;

use agile::*;
use comments::*;
pub use comments::{adf_text, wiki_text};
use issues::*;
use meta::*;
use render::*;
use search::*;
use site::*;
use worklogs::*;
use written::*;

use crate::Shared;
use crate::time::{Stamp, agile_timestamp, jira_timestamp};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use data::{Dataset, FIELDS, FieldKind, FieldValue, Flavour, ISSUE_TYPES, Issue, User};
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
pub(super) const ID_PAGE_CAP: usize = 5000;
/// Largest page with explicit fields (the real service commonly stops at 100).
pub(super) const FIELD_PAGE_CAP: usize = 100;
/// Largest page with `*all` fields.
pub(super) const ALL_FIELDS_PAGE_CAP: usize = 50;
/// Data Center's `jira.search.views.default.max`.
pub(super) const DC_SEARCH_CAP: usize = 1000;
/// Worklogs embedded in an issue's `worklog` field.
pub(super) const EMBEDDED_WORKLOGS: usize = 20;
/// `/worklog/updated` and `/worklog/deleted` page size.
pub(super) const CHANGED_PAGE: usize = 1000;

#[derive(Clone)]
pub(super) struct Ctx {
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
        .route("/rest/api/{version}/serverInfo", get(server_info))
        .route("/rest/api/{version}/project/{key}", get(project))
        .route(
            "/rest/api/{version}/search/approximate-count",
            post(approximate_count),
        )
        .route("/rest/api/{version}/issue/bulkfetch", post(bulk_fetch))
        .route(
            "/rest/api/{version}/issue/{key}",
            get(get_issue).put(edit_issue),
        )
        .route(
            "/rest/api/{version}/issue/{key}/transitions",
            get(transitions),
        )
        .route(
            "/rest/api/{version}/issue/{key}/changelog",
            get(issue_changelog),
        )
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
            get(get_comment).put(update_comment),
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
        .route("/rest/agile/1.0/sprint/{id}", get(sprint))
        .route("/rest/agile/1.0/sprint/{id}/issue", get(sprint_issues))
        .with_state(ctx)
}

// ---------------------------------------------------------------------------------------
// Plumbing: errors, auth, versions, query strings.

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    crate::json_response(status, json!({"errorMessages": [message], "errors": {}}))
}

pub(super) fn field_error(status: StatusCode, field: &str, message: &str) -> Response {
    crate::json_response(
        status,
        json!({"errorMessages": [], "errors": {field: message}}),
    )
}

pub(super) fn unauthorised() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "You are not authenticated. Authentication required to perform this operation.",
    )
}

/// Checks credentials and the API version; `Err` is the response to send.
pub(super) fn gate(ctx: &Ctx, headers: &HeaderMap, version: Option<&str>) -> Result<(), Response> {
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
pub(super) fn adf(version: &str) -> bool {
    version == "3"
}

pub(super) fn params(raw: &Option<String>) -> Vec<(String, String)> {
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

pub(super) fn decode(s: &str) -> String {
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

pub(super) fn param<'a>(ps: &'a [(String, String)], name: &str) -> Option<&'a str> {
    ps.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A numeric parameter; Jira answers 400 for a non-numeric one.
pub(super) fn number(ps: &[(String, String)], name: &str, default: i64) -> Result<i64, Response> {
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

/// `startAt` (from 0) and `maxResults` (`default` when absent, held within `min..=max`), as
/// Jira's paged resources read them; a non-number is Jira's 400.
pub(super) fn page_args(
    ps: &[(String, String)],
    default: i64,
    min: i64,
    max: i64,
) -> Result<(usize, usize), Response> {
    let start = number(ps, "startAt", 0)?;
    let size = number(ps, "maxResults", default)?;
    Ok((start.max(0) as usize, size.clamp(min, max) as usize))
}

pub(super) fn base_url(headers: &HeaderMap, ctx: &Ctx) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}{}", ctx.prefix())
}

pub(super) fn now(ctx: &Ctx) -> i64 {
    ctx.shared.now_ms()
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
