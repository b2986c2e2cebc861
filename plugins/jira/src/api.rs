//! The Jira REST calls the plugin makes, with the Cloud / Data Center differences in one
//! place: enhanced search with `nextPageToken` on Cloud, classic `startAt`/`total` search on
//! Data Center; REST v3 (ADF) on Cloud, v2 (wiki text) on Data Center.

use crate::Deployment;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tollgate_plugin_api::PluginError;
use tollgate_plugin_api::http::{Client, Request, Response, with_query};

/// The logical connection name this plugin sends requests to.
pub const CONNECTION: &str = "jira";

/// One issue as search returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    /// The issue id (numeric, as text): stable across key changes.
    pub id: String,
    /// The issue key, `BIZ-7`.
    pub key: Option<String>,
    #[serde(rename = "self")]
    /// The issue's REST URL; its base is the site's.
    pub self_url: Option<String>,
    /// Searches always ask for fields, so an issue without them is a malformed answer. The
    /// system objects (status, type, parent, users) keep only the members the plugin reads
    /// ([`crate::kept`]).
    #[serde(deserialize_with = "crate::kept::fields")]
    pub fields: serde_json::Map<String, Value>,
    /// The changelog, when the search asked for it (`expand=changelog`).
    #[serde(default)]
    pub changelog: Option<Value>,
}

impl Issue {
    /// The key (search asked for fields, so it is there).
    pub fn key(&self) -> String {
        self.key.clone().unwrap_or_else(|| self.id.clone())
    }

    /// A link a person can open: the site's base URL (from `self`) + `/browse/KEY`.
    pub fn browse_url(&self) -> Option<String> {
        let s = self.self_url.as_deref()?;
        let base = &s[..s.find("/rest/")?];
        Some(format!("{base}/browse/{}", self.key()))
    }

    /// A field that is present and not null.
    pub fn field(&self, id: &str) -> Option<&Value> {
        self.fields.get(id).filter(|v| !v.is_null())
    }

    /// A text field.
    pub fn str_field(&self, id: &str) -> Option<String> {
        self.field(id).and_then(Value::as_str).map(str::to_string)
    }

    /// `fields.X.name`, e.g. the status or issue type name.
    pub fn name_of(&self, id: &str) -> Option<String> {
        self.field(id)?.get("name")?.as_str().map(str::to_string)
    }
}

/// Where a search continues.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchPosition {
    /// Cloud's opaque token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Data Center's offset.
    #[serde(default)]
    pub start_at: u64,
    /// Data Center, once the first page is read: the hits the search had then, so that the
    /// pages after it can be asked for side by side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Data Center, once the first page is read: the page size the server really uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<u64>,
}

/// One page of issues, and where the next one starts (`None`: this was the last).
pub struct SearchPage {
    /// The issues of this page.
    pub issues: Vec<Issue>,
    /// Where the next page starts; `None` after the last.
    pub next: Option<SearchPosition>,
}

// The page shapes are strict on purpose: `issues` has no default, so an answer without it (a
// `{}` from a proxy, an error page with a 200) is an error the host retries, never "no issues".
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudPage {
    issues: Vec<Issue>,
    next_page_token: Option<String>,
    #[serde(default)]
    is_last: Option<bool>,
}

/// A page of Data Center's classic search.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DcPage {
    issues: Vec<Issue>,
    start_at: u64,
    total: u64,
    /// The page size the server used (it caps `maxResults` silently).
    #[serde(default)]
    max_results: u64,
}

/// Data Center pages asked for side by side, at `starts`, each `stride` issues after the one
/// before, when the search had `total` hits: their issues in order, and where the search goes
/// on. The pages are taken in order while they agree with that plan; the first one that does
/// not (the hits changed in between, the server answered another offset or a short page) is
/// taken if it answered its offset, and the read goes on after it, as a reader of one page
/// after another would have; the pages after it are dropped and asked for again.
pub fn merge_dc_pages(
    starts: &[u64],
    stride: u64,
    total: u64,
    pages: Vec<DcPage>,
) -> Result<SearchPage, PluginError> {
    let mut issues = Vec::new();
    let mut next = None;
    for (&start, page) in starts.iter().zip(pages) {
        if page.issues.is_empty() && page.start_at < page.total {
            return Err(empty_before_total(
                "a Data Center search page",
                page.start_at,
                page.total,
            ));
        }
        if page.start_at != start {
            // An offset the server moved: nothing of it is taken; read on from there.
            next = Some(dc_position(start, total, stride));
            break;
        }
        let end = start.saturating_add(page.issues.len() as u64);
        let more = end < page.total && !page.issues.is_empty();
        let as_planned = page.total == total && (page.issues.len() as u64 == stride || !more);
        issues.extend(page.issues);
        next = more.then(|| dc_position(end, page.total, stride));
        if !as_planned || !more {
            break;
        }
    }
    Ok(SearchPage { issues, next })
}

/// A Data Center search page without issues at an offset below the search's total: the
/// hits changed while they were read, or the server held some back. Ending the read there
/// would end the stream short (and a full sync would take the rest for deleted), so it is a
/// transient error: the host asks again, and fails the stream if the answer stays so.
fn empty_before_total(what: &str, start_at: u64, total: u64) -> PluginError {
    PluginError::Transient(format!(
        "{what} answered no issues at startAt {start_at} although its total is {total}: the \
         hits changed while they were read, or the server held some back; not read as the \
         end of the search"
    ))
}

fn dc_position(start_at: u64, total: u64, stride: u64) -> SearchPosition {
    SearchPosition {
        token: None,
        start_at,
        total: Some(total),
        stride: Some(stride),
    }
}

/// One page of a search answer: Cloud pages on `nextPageToken` and stops when the key is
/// absent or `isLast` is true, never on a short page; Data Center pages on `startAt` against
/// `total`, reading back the page size the server really used. An answer of another shape is
/// an error naming the request.
pub fn search_page(
    deployment: Deployment,
    response: &tollgate_plugin_api::http::Response,
) -> Result<SearchPage, PluginError> {
    match deployment {
        Deployment::Cloud => {
            let page: CloudPage = response.json()?;
            let next = cloud_next(page.next_page_token, page.is_last);
            Ok(SearchPage {
                issues: page.issues,
                next,
            })
        }
        Deployment::DataCenter => {
            let page: DcPage = response.json()?;
            if page.issues.is_empty() && page.start_at < page.total {
                return Err(empty_before_total(
                    &format!("POST {}", response.path),
                    page.start_at,
                    page.total,
                ));
            }
            let end = page.start_at.saturating_add(page.issues.len() as u64);
            // The page size the server really used: what it says, or what it gave.
            let stride = match page.max_results {
                0 => page.issues.len() as u64,
                n => n.min(page.issues.len().max(1) as u64).max(1),
            };
            let next = (end < page.total && !page.issues.is_empty())
                .then(|| dc_position(end, page.total, stride));
            Ok(SearchPage {
                issues: page.issues,
                next,
            })
        }
    }
}

/// Cloud: the most issues a page of `/search/jql` holds when it asks for ids only.
pub const ID_PAGE_SIZE: usize = 5000;

/// The most issues one `POST /issue/bulkfetch` returns.
pub const BULK_FETCH_SIZE: usize = 100;

/// A page of issue ids (a Cloud search with `fields=id`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdPage {
    issues: Vec<IssueId>,
    next_page_token: Option<String>,
    #[serde(default)]
    is_last: Option<bool>,
}

#[derive(Deserialize)]
struct IssueId {
    id: String,
}

/// Where a Cloud search goes on: at the token, unless it is absent or `isLast` is true.
fn cloud_next(token: Option<String>, is_last: Option<bool>) -> Option<SearchPosition> {
    match (token, is_last) {
        (Some(token), Some(false) | None) => Some(SearchPosition {
            token: Some(token),
            ..SearchPosition::default()
        }),
        _ => None,
    }
}

/// The ids of a Cloud id page, and where the next one starts (`None`: this was the last).
pub fn id_page(response: &Response) -> Result<(Vec<String>, Option<SearchPosition>), PluginError> {
    let page: IdPage = response.json()?;
    let next = cloud_next(page.next_page_token, page.is_last);
    Ok((page.issues.into_iter().map(|i| i.id).collect(), next))
}

/// What a bulk fetch answers. `issues` is required: an answer without it is an error, never
/// "no issues".
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkIssues {
    issues: Vec<Issue>,
    #[serde(default)]
    issue_errors: Vec<BulkIssueError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkIssueError {
    id: Option<String>,
    error_message: Option<String>,
}

/// The issues of a bulk fetch. Issues Jira could not load this time (`issueErrors`, "a
/// retriable error or payload constraint") make the answer a transient error naming them, so
/// the host asks again rather than the page going on without them. Issues it does not return
/// at all are ones it no longer finds or the account may not see: deleted or moved since the
/// ids were read, as a search would not have returned them either.
pub fn bulk_issues(response: &Response) -> Result<Vec<Issue>, PluginError> {
    let answer: BulkIssues = response.json()?;
    if let Some(first) = answer.issue_errors.first() {
        return Err(PluginError::Transient(format!(
            "Jira could not load {} issue(s) of a bulk fetch, e.g. issue {}: {}",
            answer.issue_errors.len(),
            first.id.as_deref().unwrap_or("(no id)"),
            first.error_message.as_deref().unwrap_or("(no message)")
        )));
    }
    Ok(answer.issues)
}

/// The Jira API of one deployment.
pub struct Jira {
    /// Cloud or Data Center.
    pub deployment: Deployment,
    client: Client,
}

impl Jira {
    /// The API of a deployment, through the `jira` connection.
    pub fn new(deployment: Deployment) -> Jira {
        Jira {
            deployment,
            client: Client::new(CONNECTION),
        }
    }

    /// `/rest/api/3` on Cloud, `/rest/api/2` on Data Center.
    pub fn api(&self) -> &'static str {
        match self.deployment {
            Deployment::Cloud => "/rest/api/3",
            Deployment::DataCenter => "/rest/api/2",
        }
    }

    /// The HTTP client of the `jira` connection.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// GET a path and parse its JSON.
    pub fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, PluginError> {
        self.client.get_json(path)
    }

    /// One page of a JQL search, POSTed (id lists make long queries). Cloud pages on
    /// `nextPageToken` and stops when the key is absent or `isLast` is true, never on a short
    /// page; Data Center pages on `startAt` against `total`, reading back the page size the
    /// server really used.
    pub fn search(
        &self,
        jql: &str,
        fields: &[String],
        at: &SearchPosition,
        page_size: u32,
    ) -> Result<SearchPage, PluginError> {
        self.search_expanded(jql, fields, &[], at, page_size)
    }

    /// A search page with expansions (`changelog`): a comma-separated string in Cloud's
    /// enhanced search, a list in Data Center's classic one.
    pub fn search_expanded(
        &self,
        jql: &str,
        fields: &[String],
        expand: &[&str],
        at: &SearchPosition,
        page_size: u32,
    ) -> Result<SearchPage, PluginError> {
        let response = self.send(self.search_request(jql, fields, expand, at, page_size)?)?;
        search_page(self.deployment, &response)
    }

    /// Send one prepared request (its status checked).
    pub fn send(&self, request: Request) -> Result<Response, PluginError> {
        tollgate_plugin_api::http::send_all(&[request])
            .pop()
            .ok_or_else(|| PluginError::Internal("send-all answered no request".into()))?
    }

    /// The request for one page of a JQL search, POSTed (id lists make long queries).
    pub fn search_request(
        &self,
        jql: &str,
        fields: &[String],
        expand: &[&str],
        at: &SearchPosition,
        page_size: u32,
    ) -> Result<Request, PluginError> {
        let (path, body) = match self.deployment {
            Deployment::Cloud => {
                let mut body = serde_json::json!({
                    "jql": jql,
                    "fields": fields,
                    "maxResults": page_size,
                });
                if !expand.is_empty() {
                    body["expand"] = Value::String(expand.join(","));
                }
                if let Some(t) = &at.token {
                    body["nextPageToken"] = Value::String(t.clone());
                }
                (format!("{}/search/jql", self.api()), body)
            }
            Deployment::DataCenter => {
                let mut body = serde_json::json!({
                    "jql": jql,
                    "fields": fields,
                    "startAt": at.start_at,
                    "maxResults": page_size,
                });
                if !expand.is_empty() {
                    body["expand"] = serde_json::json!(expand);
                }
                (format!("{}/search", self.api()), body)
            }
        };
        self.client.query_request(&path, &body)
    }

    /// Every issue of several searches, their first pages asked for side by side (16 at a
    /// time), the pages after a first one (a search with more than a page of hits) one after
    /// another. The issues come search by search, each in its own order.
    pub fn search_all_of(
        &self,
        jqls: &[String],
        fields: &[String],
    ) -> Result<Vec<Issue>, PluginError> {
        let mut out = Vec::new();
        let start = SearchPosition::default();
        for group in jqls.chunks(tollgate_plugin_api::http::MAX_REQUESTS_PER_BATCH) {
            let requests = group
                .iter()
                .map(|jql| self.search_request(jql, fields, &[], &start, 100))
                .collect::<Result<Vec<_>, _>>()?;
            let answers = tollgate_plugin_api::http::send_all(&requests);
            for (jql, answer) in group.iter().zip(answers) {
                let mut page = search_page(self.deployment, &answer?)?;
                loop {
                    out.extend(page.issues);
                    match page.next {
                        Some(at) => page = self.search(jql, fields, &at, 100)?,
                        None => break,
                    }
                }
            }
        }
        Ok(out)
    }

    /// Cloud: the request for a page of the ids of the issues `jql` finds, `size` at most
    /// (Jira serves up to 5,000).
    pub fn id_search_request(
        &self,
        jql: &str,
        at: &SearchPosition,
        size: usize,
    ) -> Result<Request, PluginError> {
        let mut body = serde_json::json!({
            "jql": jql,
            "fields": ["id"],
            "maxResults": size.clamp(1, ID_PAGE_SIZE),
        });
        if let Some(t) = &at.token {
            body["nextPageToken"] = Value::String(t.clone());
        }
        self.client
            .query_request(&format!("{}/search/jql", self.api()), &body)
    }

    /// Cloud: the request for up to 100 issues by id, with these fields and expansions.
    pub fn bulk_fetch_request(
        &self,
        ids: &[String],
        fields: &[String],
        expand: &[&str],
    ) -> Result<Request, PluginError> {
        let body = serde_json::json!({
            "issueIdsOrKeys": ids,
            "fields": fields,
            "expand": expand,
        });
        self.client
            .query_request(&format!("{}/issue/bulkfetch", self.api()), &body)
    }

    /// Every page of a search, for bounded look-ups (the issues of a page of worklogs that the
    /// store does not know).
    pub fn search_all(&self, jql: &str, fields: &[String]) -> Result<Vec<Issue>, PluginError> {
        self.search_all_of(&[jql.to_string()], fields)
    }

    /// GET with query parameters.
    pub fn get_with<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<T, PluginError> {
        self.client.get_json(&with_query(path, params))
    }
}

/// `a, b, c` for a JQL list, each value quoted when it is not a plain key or number.
pub fn jql_list<S: AsRef<str>>(values: &[S]) -> String {
    values
        .iter()
        .map(|v| {
            let v = v.as_ref();
            if v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                v.to_string()
            } else {
                format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Jira's `2026-11-27T10:30:00.000+0200` as RFC 3339 (`+02:00`); RFC 3339 input passes. The
/// text is changed where it lies (a sync reads a million worklogs' times).
pub fn rfc3339(mut ts: String) -> String {
    let b = ts.as_bytes();
    if b.len() >= 5 {
        let tail = &b[b.len() - 5..];
        if matches!(tail[0], b'+' | b'-') && tail[1..].iter().all(u8::is_ascii_digit) {
            // Two ASCII digits end the text: a character boundary.
            ts.insert(ts.len() - 2, ':');
        }
    }
    ts
}

/// The wall-clock minute of a Jira timestamp, as JQL wants it: `2026-11-27 10:30`.
///
/// Jira renders timestamps in the calling user's time zone and reads JQL dates in that same
/// zone, so the local part of a timestamp it sent is exactly what to send back. Converting to
/// UTC first (the usual mistake) shifts the window by the user's offset and misses changes.
pub fn jql_minute(ts: &str) -> Option<String> {
    if ts.len() < 16 || ts.as_bytes()[10] != b'T' {
        return None;
    }
    Some(format!("{} {}", &ts[..10], &ts[11..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(
            rfc3339("2026-11-27T10:30:00.000+0200".into()),
            "2026-11-27T10:30:00.000+02:00"
        );
        assert_eq!(
            rfc3339("2026-07-01T11:30:00.000+03:00".into()),
            "2026-07-01T11:30:00.000+03:00"
        );
        assert_eq!(
            rfc3339("2026-07-01T11:30:00.000Z".into()),
            "2026-07-01T11:30:00.000Z"
        );
        assert_eq!(
            rfc3339("2026-01-05T09:00:00.000-0530".into()),
            "2026-01-05T09:00:00.000-05:30"
        );
        // Whatever is not such a time passes as it came, odd lengths and letters included.
        for odd in [
            "",
            "+02",
            "é0200",
            "2026-11-27T10:30:00.000+02a0",
            "日本+020",
        ] {
            assert_eq!(rfc3339(odd.into()), odd);
        }
        assert_eq!(rfc3339("é+0200".into()), "é+02:00");
        assert_eq!(
            jql_minute("2026-11-27T10:30:59.000+0200").as_deref(),
            Some("2026-11-27 10:30")
        );
        assert_eq!(jql_minute("2026-11-27"), None);
    }

    #[test]
    fn jql_lists_quote_what_needs_it() {
        assert_eq!(jql_list(&["BIZ-1", "10002"]), "BIZ-1, 10002");
        assert_eq!(jql_list(&["Risk item"]), "\"Risk item\"");
    }

    #[test]
    fn browse_urls_keep_the_context_path() {
        let issue: Issue = serde_json::from_value(serde_json::json!({
            "id": "10001", "key": "BIZ-1", "self": "https://jira.example.com/jira/rest/api/2/issue/10001", "fields": {}
        }))
        .unwrap();
        assert_eq!(
            issue.browse_url().as_deref(),
            Some("https://jira.example.com/jira/browse/BIZ-1")
        );
    }
}

#[cfg(test)]
mod dc_pages_tests {
    use super::*;

    #[test]
    fn a_data_center_page_without_issues_below_its_total_is_an_error_not_the_end() {
        let answer = |body: &str| tollgate_plugin_api::http::Response {
            method: tollgate_plugin_api::http::Method::Post,
            path: "/rest/api/2/search".into(),
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        };
        let short = answer(r#"{"startAt":50,"maxResults":50,"total":120,"issues":[]}"#);
        match search_page(Deployment::DataCenter, &short) {
            Err(PluginError::Transient(m)) => assert!(
                m.contains("POST /rest/api/2/search answered no issues at startAt 50 although its total is 120"),
                "{m}"
            ),
            other => panic!("expected a transient error, got {:?}", other.map(|p| p.next)),
        }
        // At or past the total, an empty page is the end of the search.
        let end = answer(r#"{"startAt":120,"maxResults":50,"total":120,"issues":[]}"#);
        let page = search_page(Deployment::DataCenter, &end).unwrap();
        assert!(page.issues.is_empty() && page.next.is_none());
    }

    /// A Data Center page: issues `from..to` (ids), at offset `start`, with `total` hits.
    fn page(start: u64, from: u64, to: u64, total: u64) -> DcPage {
        let issues: Vec<Value> = (from..to)
            .map(|id| serde_json::json!({"id": id.to_string(), "key": format!("P-{id}"), "fields": {}}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "startAt": start, "maxResults": 2, "total": total, "issues": issues
        }))
        .unwrap()
    }

    fn ids(page: &SearchPage) -> Vec<String> {
        page.issues.iter().map(|i| i.id.clone()).collect()
    }

    #[test]
    fn pages_side_by_side_are_taken_in_order_and_the_read_goes_on_after_the_last() {
        let starts = [2, 4, 6];
        let got = merge_dc_pages(
            &starts,
            2,
            10,
            vec![page(2, 2, 4, 10), page(4, 4, 6, 10), page(6, 6, 8, 10)],
        )
        .unwrap();
        assert_eq!(ids(&got), ["2", "3", "4", "5", "6", "7"]);
        assert_eq!(got.next, Some(dc_position(8, 10, 2)));
        // The last page of the search ends the read, whatever was asked for past it.
        let got = merge_dc_pages(&[8], 2, 9, vec![page(8, 8, 9, 9)]).unwrap();
        assert_eq!((ids(&got), got.next), (vec!["8".to_string()], None));
    }

    #[test]
    fn a_page_that_does_not_agree_with_the_plan_is_where_the_read_goes_on_from() {
        // The hits grew between the first page and these: the first page that says so is
        // taken, the read goes on after it with the new total, and later pages are asked again.
        let got = merge_dc_pages(
            &[2, 4, 6],
            2,
            10,
            vec![page(2, 2, 4, 10), page(4, 40, 42, 11), page(6, 6, 8, 11)],
        )
        .unwrap();
        assert_eq!(ids(&got), ["2", "3", "40", "41"]);
        assert_eq!(got.next, Some(dc_position(6, 11, 2)));
        // A short page before the end: taken, read on right after it.
        let got =
            merge_dc_pages(&[2, 4], 2, 10, vec![page(2, 2, 3, 10), page(4, 4, 6, 10)]).unwrap();
        assert_eq!(ids(&got), ["2"]);
        assert_eq!(got.next, Some(dc_position(3, 10, 2)));
        // An offset the server did not answer: nothing of it, read on from that offset.
        let got =
            merge_dc_pages(&[2, 4], 2, 10, vec![page(2, 2, 4, 10), page(0, 0, 2, 10)]).unwrap();
        assert_eq!(ids(&got), ["2", "3"]);
        assert_eq!(got.next, Some(dc_position(4, 10, 2)));
        // Hits gone: an empty page ends the read as one page after another would.
        let got = merge_dc_pages(&[2], 2, 10, vec![page(2, 2, 2, 2)]).unwrap();
        assert!(got.issues.is_empty() && got.next.is_none());
        // An empty page below its own total is not the end: an error, so the page is asked
        // for again and a stream never ends short on it.
        let e = merge_dc_pages(&[2, 4], 2, 10, vec![page(2, 2, 4, 10), page(4, 4, 4, 10)])
            .err()
            .expect("an error");
        assert!(
            matches!(&e, PluginError::Transient(m) if m.contains("no issues at startAt 4 although its total is 10")),
            "{e:?}"
        );
    }
}
