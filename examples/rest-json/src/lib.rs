//! rest-json: initiatives and work items from any REST/JSON API, mapped by configuration (the
//! README shows the settings). An example of a plugin written outside Tollgate's own code.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use tollgate_plugin_api::http::{Client, Method, with_query};
use tollgate_plugin_api::paging::{self, Offset};
use tollgate_plugin_api::{
    Capability, DmoRecord, Entity, Initiative, Page, Plugin, PluginError, PluginInfo, PullRequest,
    Severity, WorkItem, diagnostic, record,
};

const CONNECTION: &str = "api";
const STREAMS: [&str; 2] = ["initiatives", "work-items"];

/// The plugin's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Per stream (`initiatives`, `work-items`): where and how to read it.
    #[serde(default)]
    pub streams: BTreeMap<String, StreamSettings>,
}

/// How one stream is read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSettings {
    /// Path and query below the connection's base URL.
    pub path: String,
    /// JSON pointer to the list in an answer (`""`: the answer is the list).
    pub items: String,
    /// JSON pointer to an item's id in the source (default: the key field's).
    #[serde(default)]
    pub id: Option<String>,
    /// How the list pages.
    #[serde(default)]
    pub paging: Paging,
    /// Model field -> JSON pointer into an item.
    pub fields: BTreeMap<String, String>,
}

/// A paging style.
#[derive(Debug, Default, Deserialize)]
#[serde(tag = "style", rename_all = "lowercase", deny_unknown_fields)]
pub enum Paging {
    /// One request.
    #[default]
    None,
    /// Offset and size in the query; ends at `total` or an empty page.
    Offset {
        start_param: String,
        size_param: String,
        #[serde(default)]
        total: Option<String>,
    },
    /// A token from the answer (pointer `next`) in the query parameter `param`.
    Token { param: String, next: String },
    /// The next URL from the `Link` header, or from the answer at the pointer `next`.
    Link {
        #[serde(default)]
        next: Option<String>,
        #[serde(default)]
        context: String,
    },
}

/// Where the next page is, kept in the cursor.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Cursor {
    Offset(Offset),
    Token(String),
    Link(String),
}

const INITIATIVE_TEXT: &[&str] = &[
    "key",
    "title",
    "status",
    "status_category",
    "demand_type",
    "development_type",
    "value_stream",
    "portfolio",
    "business_owner",
    "strategic_theme",
    "current_gate",
    "planned_start",
    "planned_end",
    "next_gate_due",
    "created",
];
const INITIATIVE_NUMBERS: &[&str] = &[
    "cost_of_delay",
    "user_business_value",
    "time_criticality",
    "risk_reduction",
    "job_size",
];
const WORK_ITEM_TEXT: &[&str] = &[
    "key",
    "kind",
    "title",
    "status",
    "status_category",
    "initiative_key",
    "parent_key",
    "assignee",
    "created",
    "started",
    "resolved",
];
const WORK_ITEM_NUMBERS: &[&str] = &["estimate"];

/// The fields a stream's records have: (text, numbers, required).
fn fields_of(
    stream: &str,
) -> (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
) {
    if stream == "initiatives" {
        (
            INITIATIVE_TEXT,
            INITIATIVE_NUMBERS,
            &["key", "title", "status"],
        )
    } else {
        (
            WORK_ITEM_TEXT,
            WORK_ITEM_NUMBERS,
            &["key", "kind", "title", "status"],
        )
    }
}

/// The settings, with every stream's field names and pointers checked.
pub fn parse_settings(json: &str) -> Result<Settings, PluginError> {
    let settings: Settings = tollgate_plugin_api::settings(json)?;
    for (stream, s) in &settings.streams {
        if !STREAMS.contains(&stream.as_str()) {
            return Err(PluginError::Config(format!(
                "settings.streams.{stream}: no such stream; this plugin serves {}",
                STREAMS.join(", ")
            )));
        }
        let (text, numbers, required) = fields_of(stream);
        for (field, pointer) in &s.fields {
            if !text.contains(&field.as_str()) && !numbers.contains(&field.as_str()) {
                return Err(PluginError::Config(format!(
                    "settings.streams.{stream}.fields.{field}: not a field of the record; known: {}",
                    [text, numbers].concat().join(", ")
                )));
            }
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(PluginError::Config(format!(
                    "settings.streams.{stream}.fields.{field}: `{pointer}` is not a JSON pointer (like `/fields/summary`)"
                )));
            }
        }
        if let Some(missing) = required.iter().find(|f| !s.fields.contains_key(**f)) {
            return Err(PluginError::Config(format!(
                "settings.streams.{stream}.fields: `{missing}` is required"
            )));
        }
    }
    Ok(settings)
}

/// The item's value at `pointer` as text (numbers and booleans written out).
fn text_at(item: &Value, pointer: &str) -> Option<String> {
    match item.pointer(pointer)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The item's value at `pointer` as a number (numeric text read too).
fn number_at(item: &Value, pointer: &str) -> Option<f64> {
    match item.pointer(pointer)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|v: &f64| v.is_finite())
}

/// An item as a record of `stream`, or what it lacks.
pub fn map(stream: &str, s: &StreamSettings, item: &Value) -> Result<DmoRecord, String> {
    let (_, _, required) = fields_of(stream);
    let text = |f: &str| s.fields.get(f).and_then(|p| text_at(item, p));
    let number = |f: &str| s.fields.get(f).and_then(|p| number_at(item, p));
    for f in required {
        if text(f).is_none() {
            return Err(format!("no `{f}` at `{}`", s.fields[*f]));
        }
    }
    let key = text("key").unwrap_or_default();
    let id = match &s.id {
        Some(p) => text_at(item, p).ok_or_else(|| format!("no id at `{p}`"))?,
        None => key.clone(),
    };
    let entity: Entity = if stream == "initiatives" {
        Initiative {
            status_category: text("status_category"),
            demand_type: text("demand_type"),
            development_type: text("development_type"),
            value_stream: text("value_stream"),
            portfolio: text("portfolio"),
            business_owner: text("business_owner"),
            strategic_theme: text("strategic_theme"),
            current_gate: text("current_gate"),
            cost_of_delay: number("cost_of_delay"),
            user_business_value: number("user_business_value"),
            time_criticality: number("time_criticality"),
            risk_reduction: number("risk_reduction"),
            job_size: number("job_size"),
            planned_start: text("planned_start"),
            planned_end: text("planned_end"),
            next_gate_due: text("next_gate_due"),
            created: text("created"),
            ..Initiative::new(
                key,
                text("title").unwrap_or_default(),
                text("status").unwrap_or_default(),
            )
        }
        .into()
    } else {
        WorkItem {
            status_category: text("status_category"),
            initiative_key: text("initiative_key"),
            parent_key: text("parent_key"),
            assignee: text("assignee"),
            estimate: number("estimate"),
            created: text("created"),
            started: text("started"),
            resolved: text("resolved"),
            ..WorkItem::new(
                key,
                text("kind").unwrap_or_default(),
                text("title").unwrap_or_default(),
                text("status").unwrap_or_default(),
            )
        }
        .into()
    };
    Ok(record(id, entity))
}

struct RestJson;

impl Plugin for RestJson {
    fn describe() -> PluginInfo {
        tollgate_plugin_api::info(
            "rest-json",
            env!("CARGO_PKG_VERSION"),
            "Any REST/JSON API, mapped by configuration",
        )
        .capabilities(&[Capability::Pull])
        .connections(&[CONNECTION])
        .streams(&STREAMS)
        .settings_schema(serde_json::json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "streams": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "initiatives": stream_schema(),
                        "work-items": stream_schema(),
                    }
                }
            }
        }))
        .build()
    }

    fn check(settings: String) -> Result<String, PluginError> {
        let settings = parse_settings(&settings)?;
        let mut said = Vec::new();
        for (stream, s) in &settings.streams {
            let (answer, _) = fetch(s, None, 1)?;
            said.push(format!(
                "{stream}: {} item(s) on the first page",
                list(s, &answer)?.len()
            ));
        }
        if said.is_empty() {
            return Err(PluginError::Config(
                "settings.streams: no stream configured; see the plugin's README".into(),
            ));
        }
        Ok(said.join("; "))
    }

    fn pull(request: PullRequest) -> Result<Page, PluginError> {
        if !STREAMS.contains(&request.stream.as_str()) {
            return Err(tollgate_plugin_api::unknown_stream(
                &request.stream,
                &Self::describe().streams,
            ));
        }
        let settings = parse_settings(&request.settings)?;
        let Some(s) = settings.streams.get(&request.stream) else {
            return Ok(Page::default());
        };
        let cursor: Option<Cursor> = paging::decode(request.cursor.as_deref())?;
        let size = request.page_size.clamp(1, 1000);
        let (answer, link_header) = fetch(s, cursor.as_ref(), size)?;
        let items = list(s, &answer)?;
        let mut page = Page {
            snapshot: true,
            ..Page::default()
        };
        let first = match &cursor {
            Some(Cursor::Offset(o)) => o.start,
            _ => 0,
        };
        for (i, item) in items.iter().enumerate() {
            match map(&request.stream, s, item) {
                Ok(r) => page.records.push(r),
                Err(why) => page.diagnostics.push(diagnostic(
                    Severity::Error,
                    "rejected-item",
                    format!("{} {} item {}", request.stream, s.path, first + i as u64),
                    why,
                )),
            }
        }
        let next = match &s.paging {
            Paging::None => None,
            Paging::Offset { total, .. } => {
                let at = match cursor {
                    Some(Cursor::Offset(o)) => o,
                    _ => Offset::default(),
                };
                let total = total
                    .as_deref()
                    .and_then(|p| answer.pointer(p))
                    .and_then(Value::as_u64);
                at.next(items.len(), total).map(Cursor::Offset)
            }
            Paging::Token { next, .. } => {
                let used = match &cursor {
                    Some(Cursor::Token(t)) => Some(t.as_str()),
                    _ => None,
                };
                paging::next_token(used, answer.pointer(next).and_then(Value::as_str))?
                    .map(Cursor::Token)
            }
            Paging::Link { next, context } => {
                let link = match next {
                    Some(p) => answer
                        .pointer(p)
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    None => paging::next_link(link_header.as_deref()),
                };
                link.map(|l| paging::link_path(&l, context))
                    .transpose()?
                    .map(Cursor::Link)
            }
        };
        page.next_cursor = next.map(|c| paging::encode(&c));
        Ok(page)
    }
}

fn stream_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "required": ["path", "items", "fields"],
        "additionalProperties": false,
        "properties": {
            "path": {"type": "string"},
            "items": {"type": "string"},
            "id": {"type": "string"},
            "paging": {"type": "object"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    })
}

/// One page: the answer and its `Link` header.
fn fetch(
    s: &StreamSettings,
    cursor: Option<&Cursor>,
    size: u32,
) -> Result<(Value, Option<String>), PluginError> {
    let path = match (&s.paging, cursor) {
        (_, Some(Cursor::Link(path))) => path.clone(),
        (
            Paging::Offset {
                start_param,
                size_param,
                ..
            },
            c,
        ) => {
            let start = match c {
                Some(Cursor::Offset(o)) => o.start,
                _ => 0,
            };
            with_query(
                &s.path,
                &[
                    (start_param, &start.to_string()),
                    (size_param, &size.to_string()),
                ],
            )
        }
        (Paging::Token { param, .. }, Some(Cursor::Token(t))) => with_query(&s.path, &[(param, t)]),
        _ => s.path.clone(),
    };
    let response = Client::new(CONNECTION).request(Method::Get, &path, &[], None)?;
    let link = response.header("link").map(str::to_string);
    Ok((response.json()?, link))
}

/// The list in an answer: one without it is an error, never "no data".
fn list<'a>(s: &StreamSettings, answer: &'a Value) -> Result<&'a Vec<Value>, PluginError> {
    answer
        .pointer(&s.items)
        .and_then(Value::as_array)
        .ok_or_else(|| {
            PluginError::Remote(format!(
                "{}: the answer has no list at `{}`",
                s.path, s.items
            ))
        })
}

tollgate_plugin_api::export_plugin!(RestJson);

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: Value) -> Result<Settings, PluginError> {
        parse_settings(&json.to_string())
    }

    #[test]
    fn settings_name_what_is_wrong() {
        let bad = |json: Value, expected: &str| {
            let e = format!("{:?}", settings(json).unwrap_err());
            assert!(e.contains(expected), "{e}");
        };
        bad(
            serde_json::json!({"streams": {"epics": {"path": "/", "items": "", "fields": {}}}}),
            "settings.streams.epics: no such stream",
        );
        bad(
            serde_json::json!({"streams": {"initiatives": {"path": "/", "items": "", "fields": {"key": "/k", "title": "/t", "status": "/s", "owner": "/o"}}}}),
            "fields.owner: not a field",
        );
        bad(
            serde_json::json!({"streams": {"initiatives": {"path": "/", "items": "", "fields": {"key": "k", "title": "/t", "status": "/s"}}}}),
            "not a JSON pointer",
        );
        bad(
            serde_json::json!({"streams": {"work-items": {"path": "/", "items": "", "fields": {"key": "/k", "title": "/t", "status": "/s"}}}}),
            "`kind` is required",
        );
        bad(
            serde_json::json!({"streams": {"initiatives": {"path": "/", "items": "", "paging": {"style": "pages"}, "fields": {}}}}),
            "settings",
        );
    }

    #[test]
    fn items_map_by_pointer_and_one_without_a_required_field_is_named() {
        let s = settings(serde_json::json!({"streams": {"initiatives": {
            "path": "/projects", "items": "/values", "id": "/id",
            "fields": {"key": "/key", "title": "/name", "status": "/state", "cost_of_delay": "/cod", "planned_end": "/due"}
        }}}))
        .unwrap();
        let s = &s.streams["initiatives"];
        let item = serde_json::json!({"id": 7, "key": "P-7", "name": "Pricing", "state": "open", "cod": "1200.5", "due": "2027-03-31"});
        let r = map("initiatives", s, &item).unwrap();
        assert_eq!(r.external_id, "7");
        let Entity::Initiative(i) = r.entity else {
            panic!()
        };
        assert_eq!((i.key.as_str(), i.title.as_str()), ("P-7", "Pricing"));
        assert_eq!(i.cost_of_delay, Some(1200.5));
        assert_eq!(i.planned_end.as_deref(), Some("2027-03-31"));
        let e = map(
            "initiatives",
            s,
            &serde_json::json!({"id": 8, "key": "P-8", "state": "open"}),
        )
        .unwrap_err();
        assert_eq!(e, "no `title` at `/name`");
    }
}
