//! The Azure DevOps REST calls the plugin makes (api-version 7.1), with the service's traps in
//! one place: a wrong PAT answers 203 with an HTML sign-in page (an authentication error here,
//! never a parse error); WIQL returns ids only and at most 20,000 of them, so every query
//! pages by id; reads take at most 200 ids and cannot combine `fields` with `$expand`;
//! collections come wrapped as `{"count": n, "value": [...]}`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tollgate_plugin_api::PluginError;
use tollgate_plugin_api::http::{Client, Method, Request, Response, encode, excerpt};
pub use tollgate_plugin_api::json::Fields;

/// The logical connection name this plugin sends requests to.
pub const CONNECTION: &str = "azure-devops";

/// The api-version of every call but comments.
pub const VERSION: &str = "7.1";
/// Comments are a preview resource in 7.1.
pub const COMMENTS_VERSION: &str = "7.1-preview.4";
/// The most ids one read may name.
pub const MAX_IDS: usize = 200;

/// The most work items a page of the epics or work-items stream asks WIQL for: what 15
/// batches read side by side.
pub const MAX_PAGE: u32 = (MAX_IDS * 15) as u32;

/// A collection as the service wraps it. `value` has no default: an answer without it is
/// malformed, never "nothing".
#[derive(Debug, Deserialize)]
pub struct Wrapped<T> {
    /// The items.
    pub value: Vec<T>,
}

/// One page of a WIQL query.
#[derive(Debug)]
pub struct IdPage {
    /// The ids, ascending.
    pub ids: Vec<u64>,
    /// The instant the service ran the query at.
    pub as_of: String,
}

/// A work item as the service returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkItem {
    /// Id.
    pub id: u64,
    /// Revision.
    pub rev: u64,
    /// Fields by reference name; empty ones are absent.
    pub fields: Fields,
    /// Links, when asked for with `$expand=relations`.
    #[serde(default)]
    pub relations: Option<Vec<Relation>>,
    /// The item's REST URL, `{org}/_apis/wit/workItems/{id}`.
    pub url: String,
}

/// A link of a work item.
#[derive(Debug, Clone, Deserialize)]
pub struct Relation {
    /// Link type reference name.
    pub rel: String,
    /// URL of the other end.
    pub url: String,
}

impl Relation {
    /// The id of the other end, when it is a work item.
    pub fn target(&self) -> Option<u64> {
        if !self.url.contains("/_apis/wit/workItems/")
            && !self.url.contains("/_apis/wit/workitems/")
        {
            return None;
        }
        self.url.rsplit('/').next()?.parse().ok()
    }
}

impl WorkItem {
    /// A field that is present (and not null).
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).filter(|v| !v.is_null())
    }

    /// A text field.
    pub fn text(&self, name: &str) -> Option<String> {
        self.field(name).and_then(Value::as_str).map(str::to_string)
    }

    /// The work item type.
    pub fn kind(&self) -> String {
        self.text("System.WorkItemType").unwrap_or_default()
    }

    /// The parent's id: `System.Parent`, else the `Hierarchy-Reverse` link.
    pub fn parent(&self) -> Option<u64> {
        self.field("System.Parent")
            .and_then(Value::as_u64)
            .or_else(|| {
                self.relations
                    .as_ref()?
                    .iter()
                    .find(|r| r.rel == "System.LinkTypes.Hierarchy-Reverse")
                    .and_then(Relation::target)
            })
    }

    /// The page a person opens: `{org}/{project}/_workitems/edit/{id}`, made from the item's
    /// REST URL (whose base is the organisation's).
    pub fn web_url(&self, project: &str) -> Option<String> {
        let base = &self.url[..self.url.find("/_apis/")?];
        Some(format!(
            "{base}/{}/_workitems/edit/{}",
            encode(project),
            self.id
        ))
    }
}

/// A WIQL answer: the ids it found, and as of when.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WiqlIds {
    as_of: String,
    work_items: Vec<WiqlRef>,
}

#[derive(Deserialize)]
struct WiqlRef {
    id: u64,
}

/// The client of one organisation and project.
pub struct Ado {
    client: Client,
    /// Organisation.
    pub organization: String,
    /// Project.
    pub project: String,
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
    }
}

impl Ado {
    /// A client for `organization` / `project`.
    pub fn new(organization: &str, project: &str) -> Ado {
        Ado {
            client: Client::new(CONNECTION).with_header("x-tfs-fedauthredirect", "Suppress"),
            organization: organization.to_string(),
            project: project.to_string(),
        }
    }

    /// `/{org}/{project}/_apis/{rest}` with the api-version added.
    pub fn project_path(&self, rest: &str) -> String {
        self.versioned(&format!(
            "/{}/{}/_apis/{rest}",
            encode(&self.organization),
            encode(&self.project)
        ))
    }

    /// `/{org}/{project}/{team}/_apis/{rest}` with the api-version added.
    pub fn team_path(&self, team: &str, rest: &str) -> String {
        self.versioned(&format!(
            "/{}/{}/{}/_apis/{rest}",
            encode(&self.organization),
            encode(&self.project),
            encode(team)
        ))
    }

    /// `/{org}/_apis/{rest}` with the api-version added.
    pub fn org_path(&self, rest: &str) -> String {
        self.versioned(&format!("/{}/_apis/{rest}", encode(&self.organization)))
    }

    fn versioned(&self, path: &str) -> String {
        let version = if path.contains("/comments") {
            COMMENTS_VERSION
        } else {
            VERSION
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}api-version={version}")
    }

    /// Send, and read the answer as the service means it: 203 or a body that is not JSON is a
    /// sign-in page (the PAT is wrong or expired); other statuses map to error kinds.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Response, PluginError> {
        let headers: Vec<(&str, &str)> = content_type
            .map(|c| ("content-type", c))
            .into_iter()
            .collect();
        let response = self.client.send(method, path, &headers, body)?;
        self.answer(method, path, response)
    }

    /// Read an answer as the service means it (see [`Ado::call`]).
    fn answer(
        &self,
        method: Method,
        path: &str,
        response: Response,
    ) -> Result<Response, PluginError> {
        let bare = path.split('?').next().unwrap_or(path);
        let content = response
            .header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        let json = content.contains("json");
        if response.status == 203 || (response.status == 200 && !json && !response.body.is_empty())
        {
            return Err(PluginError::Unauthorized(format!(
                "authentication failed: {} {bare} answered {} with {} instead of JSON, which is how Azure DevOps turns away a wrong or expired personal access token; check the token and its scopes (vso.work, vso.work_write to publish)",
                method_name(method),
                response.status,
                if content.is_empty() {
                    "no content type".to_string()
                } else {
                    content.clone()
                }
            )));
        }
        if response.status == 401 || response.status == 403 {
            return Err(PluginError::Unauthorized(format!(
                "authentication failed: {} {bare} answered {}: {}",
                method_name(method),
                response.status,
                excerpt(&response.body)
            )));
        }
        tollgate_plugin_api::http::check_status(method, bare, response)
    }

    /// GET and parse.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, PluginError> {
        self.call(Method::Get, path, None, None)?.json()
    }

    /// POST JSON and parse.
    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, PluginError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| PluginError::Internal(format!("cannot encode a request body: {e}")))?;
        self.call(Method::Post, path, Some("application/json"), Some(bytes))?
            .json()
    }

    /// POST a read (a WIQL query, a batch read) and parse. It changes nothing upstream, so it
    /// carries an `Idempotency-Key` and the host may send it again after a 503 or a lost answer.
    pub fn query<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, PluginError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| PluginError::Internal(format!("cannot encode a request body: {e}")))?;
        let key = tollgate_plugin_api::http::idempotency_key(path, &bytes);
        let headers = [
            ("content-type", "application/json"),
            ("idempotency-key", key.as_str()),
        ];
        let response = self
            .client
            .send(Method::Post, path, &headers, Some(bytes))?;
        self.answer(Method::Post, path, response)?.json()
    }

    /// PATCH with a body of a content type, and parse.
    pub fn patch<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: &Value,
    ) -> Result<T, PluginError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| PluginError::Internal(format!("cannot encode a request body: {e}")))?;
        self.call(Method::Patch, path, Some(content_type), Some(bytes))?
            .json()
    }

    /// The ids of up to `top` work items with an id above `after` that meet `condition`, in id
    /// order (WIQL: `[System.Id] > after ORDER BY [System.Id]`, so no query ever meets the
    /// 20,000 cap); times in `condition` are exact (`timePrecision=true`).
    pub fn ids_after(
        &self,
        condition: &str,
        after: u64,
        top: usize,
    ) -> Result<IdPage, PluginError> {
        let (path, body) = self.wiql(condition, after, top);
        self.ids_from(self.query(&path, &body)?, after, top)
    }

    /// [`Ado::ids_after`] as a request to send beside others ([`Ado::call_all`]); its answer is
    /// read by [`Ado::ids_answered`].
    pub fn ids_after_request(
        &self,
        condition: &str,
        after: u64,
        top: usize,
    ) -> Result<(Method, String, Request), PluginError> {
        let (path, body) = self.wiql(condition, after, top);
        let request = self.client.query_request(&path, &body)?;
        Ok((Method::Post, path, request))
    }

    /// The ids of an answer to [`Ado::ids_after_request`].
    pub fn ids_answered(
        &self,
        answer: Result<Response, PluginError>,
        after: u64,
        top: usize,
    ) -> Result<IdPage, PluginError> {
        self.ids_from(answer?.json()?, after, top)
    }

    /// A GET as a request to send beside others ([`Ado::call_all`]).
    pub fn get_request(&self, path: String) -> (Method, String, Request) {
        let request = self.client.get_request(&path);
        (Method::Get, path, request)
    }

    /// Send requests side by side (the contract's `send-all`) and read each answer as
    /// [`Ado::call`] reads one, in the requests' order.
    pub fn call_all(
        &self,
        requests: &[(Method, String, Request)],
    ) -> Vec<Result<Response, PluginError>> {
        let raw: Vec<Request> = requests.iter().map(|(_, _, r)| r.clone()).collect();
        tollgate_plugin_api::http::send_all(&raw)
            .into_iter()
            .zip(requests)
            .map(|(answer, (method, path, _))| self.answer(*method, path, answer?))
            .collect()
    }

    fn wiql(&self, condition: &str, after: u64, top: usize) -> (String, Value) {
        let query = format!(
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND {condition} AND [System.Id] > {after} ORDER BY [System.Id]"
        );
        let path = self.project_path(&format!("wit/wiql?$top={top}&timePrecision=true"));
        (path, json!({ "query": query }))
    }

    fn ids_from(&self, result: WiqlIds, after: u64, top: usize) -> Result<IdPage, PluginError> {
        let ids: Vec<u64> = result.work_items.into_iter().map(|r| r.id).collect();
        if ids.windows(2).any(|w| w[0] >= w[1]) || ids.first().is_some_and(|&i| i <= after) {
            return Err(PluginError::Remote(format!(
                "WIQL answered ids out of order or not above {after} for a query ordered by id; not reading on from it"
            )));
        }
        if ids.len() > top {
            return Err(PluginError::Remote(format!(
                "WIQL answered {} ids for $top={top}",
                ids.len()
            )));
        }
        Ok(IdPage {
            ids,
            as_of: result.as_of,
        })
    }

    /// Read work items, 200 a request, up to 16 requests side by side (`send-all`, within the
    /// connection's `max_concurrent_requests`): with `fields` (only those), or with their links
    /// (`relations`: every field too, as the service cannot combine the two). Ids the service no
    /// longer has (deleted since the query) are left out.
    pub fn read(
        &self,
        ids: &[u64],
        fields: Option<&[String]>,
        relations: bool,
    ) -> Result<Vec<WorkItem>, PluginError> {
        let reading = Reading {
            fields,
            relations,
            as_of: None,
        };
        let mut read = self.read_each(ids, &[reading])?;
        Ok(read.pop().unwrap_or_default())
    }

    /// Several readings of the same work items, their requests side by side as [`Ado::read`]
    /// sends its own: one list for each reading, in the readings' order, each in the ids'
    /// order without the ids that reading did not find.
    pub fn read_each(
        &self,
        ids: &[u64],
        readings: &[Reading<'_>],
    ) -> Result<Vec<Vec<WorkItem>>, PluginError> {
        let path = self.project_path("wit/workitemsbatch");
        // Which reading each request is for and how many ids it names, beside the requests.
        let (mut asks, mut requests) = (Vec::new(), Vec::new());
        for chunk in ids.chunks(MAX_IDS) {
            for (n, reading) in readings.iter().enumerate() {
                let mut body = json!({"ids": chunk, "errorPolicy": "omit"});
                match (reading.fields, reading.relations) {
                    (_, true) => body["$expand"] = json!("relations"),
                    (Some(f), false) => body["fields"] = json!(f),
                    (None, false) => {}
                }
                if let Some(at) = reading.as_of {
                    body["asOf"] = json!(at);
                }
                let request = self.client.query_request(&path, &body)?;
                asks.push((n, chunk.len()));
                requests.push((Method::Post, path.clone(), request));
            }
        }
        let mut out: Vec<Vec<WorkItem>> = readings
            .iter()
            .map(|_| Vec::with_capacity(ids.len()))
            .collect();
        let batch = tollgate_plugin_api::http::MAX_REQUESTS_PER_BATCH;
        for (group, requests) in asks.chunks(batch).zip(requests.chunks(batch)) {
            for ((n, asked), answer) in group.iter().zip(self.call_all(requests)) {
                let page: Wrapped<Option<WorkItem>> = answer?.json()?;
                if page.value.len() != *asked {
                    return Err(PluginError::Remote(format!(
                        "workitemsbatch answered {} items for {asked} ids",
                        page.value.len(),
                    )));
                }
                out[*n].extend(page.value.into_iter().flatten());
            }
        }
        Ok(out)
    }
}

/// One reading of work items for [`Ado::read_each`].
#[derive(Debug, Clone, Copy)]
pub struct Reading<'a> {
    /// Only these fields (without links).
    pub fields: Option<&'a [String]>,
    /// Every field and the links.
    pub relations: bool,
    /// The items as they were at this instant (`asOf`); those that did not exist yet are left
    /// out.
    pub as_of: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_web_links_come_from_urls() {
        let r = Relation {
            rel: "System.LinkTypes.Dependency-Reverse".into(),
            url: "http://h/ado/org/_apis/wit/workItems/4103".into(),
        };
        assert_eq!(r.target(), Some(4103));
        let file = Relation {
            rel: "AttachedFile".into(),
            url: "http://h/ado/org/_apis/wit/attachments/abc".into(),
        };
        assert_eq!(file.target(), None);
        let w: WorkItem = serde_json::from_value(json!({
            "id": 7, "rev": 2, "fields": {"System.Parent": 5}, "url": "http://h/ado/org/_apis/wit/workItems/7"
        }))
        .unwrap();
        assert_eq!(w.parent(), Some(5));
        assert_eq!(
            w.web_url("My Project").unwrap(),
            "http://h/ado/org/My%20Project/_workitems/edit/7"
        );
        assert!(serde_json::from_value::<Wrapped<WorkItem>>(json!({})).is_err());
    }

    /// Fields read from an answer are the values a tree of it holds, each read when asked
    /// for; a name given twice is its last value; a value nested deeper than a whole answer
    /// could be read is an error naming the field, as it was when the answer was one tree.
    #[test]
    fn fields_read_when_asked_for_are_the_answers_values() {
        let text = r#"{"count": 1, "value": [{"id": 7, "rev": 3, "url": "u", "fields": {
            "System.Title": "A \"quoted\" [title] {x}",
            "System.AssignedTo": {"displayName": "Ann", "uniqueName": "ann@x", "_links": {"avatar": {"href": "h"}}},
            "Microsoft.VSTS.Scheduling.CompletedWork": 2.5,
            "System.Parent": 5, "System.Parent": 6,
            "Custom.Empty": null, "System.Tags": ["a", {"b": [1]}]}}]}"#;
        let page: Wrapped<WorkItem> = serde_json::from_str(text).unwrap();
        let tree: Value = serde_json::from_str(text).unwrap();
        let w = &page.value[0];
        for (name, value) in tree["value"][0]["fields"].as_object().unwrap() {
            assert_eq!(w.fields.get(name), Some(value), "{name}");
            assert_eq!(w.fields.get_key_value(name), Some((name.as_str(), value)));
        }
        assert_eq!(w.parent(), Some(6));
        assert_eq!(w.field("Custom.Empty"), None);
        assert_eq!(w.fields.get("Custom.Empty"), Some(&Value::Null));
        assert_eq!(w.fields.get("System.State"), None);
        let deep = |levels: usize| {
            format!(
                r#"{{"count": 1, "value": [{{"id": 7, "rev": 3, "url": "u", "fields": {{"System.Tags": {}"x"{}, "System.Title": "[[[[" }}}}]}}"#,
                "[".repeat(levels),
                "]".repeat(levels)
            )
        };
        assert!(
            serde_json::from_str::<Wrapped<WorkItem>>(&deep(
                tollgate_plugin_api::json::MAX_NESTING
            ))
            .is_ok()
        );
        let e = serde_json::from_str::<Wrapped<WorkItem>>(&deep(
            tollgate_plugin_api::json::MAX_NESTING + 1,
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("field System.Tags nests deeper than 120 levels"),
            "{e}"
        );
    }
}
