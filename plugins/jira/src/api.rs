//! The Jira REST calls the plugin makes, with the Cloud / Data Center differences in one
//! place: enhanced search with `nextPageToken` on Cloud, classic `startAt`/`total` search on
//! Data Center; REST v3 (ADF) on Cloud, v2 (wiki text) on Data Center.

use crate::Deployment;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tollgate_plugin_api::PluginError;
use tollgate_plugin_api::http::{Client, with_query};

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
    /// Searches always ask for fields, so an issue without them is a malformed answer.
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DcPage {
    issues: Vec<Issue>,
    start_at: u64,
    total: u64,
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
            let next = match (page.next_page_token, page.is_last) {
                (Some(token), Some(false) | None) => Some(SearchPosition {
                    token: Some(token),
                    start_at: 0,
                }),
                _ => None,
            };
            Ok(SearchPage {
                issues: page.issues,
                next,
            })
        }
        Deployment::DataCenter => {
            let page: DcPage = response.json()?;
            let end = page.start_at.saturating_add(page.issues.len() as u64);
            let next = (end < page.total && !page.issues.is_empty()).then_some(SearchPosition {
                token: None,
                start_at: end,
            });
            Ok(SearchPage {
                issues: page.issues,
                next,
            })
        }
    }
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
        match self.deployment {
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
                let response = self
                    .client
                    .query_json(&format!("{}/search/jql", self.api()), &body)?;
                search_page(self.deployment, &response)
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
                let response = self
                    .client
                    .query_json(&format!("{}/search", self.api()), &body)?;
                search_page(self.deployment, &response)
            }
        }
    }

    /// Every page of a search, for bounded look-ups (risks of a page of epics, the issues of a
    /// page of worklogs).
    pub fn search_all(&self, jql: &str, fields: &[String]) -> Result<Vec<Issue>, PluginError> {
        let mut at = SearchPosition::default();
        let mut out = Vec::new();
        loop {
            let page = self.search(jql, fields, &at, 100)?;
            out.extend(page.issues);
            match page.next {
                Some(next) => at = next,
                None => return Ok(out),
            }
        }
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

/// Jira's `2026-11-27T10:30:00.000+0200` as RFC 3339 (`+02:00`); RFC 3339 input passes.
pub fn rfc3339(ts: &str) -> String {
    let b = ts.as_bytes();
    if b.len() >= 5 {
        let tail = &ts[ts.len() - 5..];
        let sign = tail.as_bytes()[0];
        if (sign == b'+' || sign == b'-') && tail[1..].bytes().all(|c| c.is_ascii_digit()) {
            return format!("{}{}:{}", &ts[..ts.len() - 5], &tail[..3], &tail[3..]);
        }
    }
    ts.to_string()
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
            rfc3339("2026-11-27T10:30:00.000+0200"),
            "2026-11-27T10:30:00.000+02:00"
        );
        assert_eq!(
            rfc3339("2026-07-01T11:30:00.000+03:00"),
            "2026-07-01T11:30:00.000+03:00"
        );
        assert_eq!(
            rfc3339("2026-07-01T11:30:00.000Z"),
            "2026-07-01T11:30:00.000Z"
        );
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
