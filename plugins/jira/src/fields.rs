//! Custom fields by name: the settings name a field as people see it ("Cost of Delay"), the
//! plugin finds its id on this site through `/field` (ids differ between sites), and reads
//! values by type. A name the site lacks, a name two fields share, and a value of the wrong
//! shape are reported as diagnostics; the value itself is kept in the record's `extra`.

use crate::api::Jira;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use tollgate_plugin_api::http::{Request, Response};
use tollgate_plugin_api::{Diagnostic, PluginError, Severity};

/// The DMO attributes read from custom fields, and the field names used when the settings do
/// not say otherwise.
pub const DEFAULT_FIELDS: &[(&str, &str)] = &[
    ("demand-type", "Demand Type"),
    ("development-type", "Development Type"),
    ("value-stream", "Value Stream"),
    ("strategic-theme", "Strategic Theme"),
    ("gate", "Gate"),
    ("gate-decision", "Gate Decision"),
    ("gate-decision-date", "Gate Decision Date"),
    ("gate-decider", "Gate Decider"),
    ("next-gate-due", "Next Gate Due"),
    ("cost-of-delay", "Cost of Delay"),
    ("business-value", "Business Value"),
    ("time-criticality", "Time Criticality"),
    ("risk-reduction", "Risk Reduction"),
    ("job-size", "Job Size"),
    ("target-start", "Target start"),
    ("target-end", "Target end"),
    ("business-owner", "Business Owner"),
    ("kpi", "KPI"),
    ("kpi-baseline", "KPI Baseline"),
    ("kpi-target", "KPI Target"),
    ("kpi-actual", "KPI Actual"),
    ("kpi-measured-on", "KPI Measured On"),
    ("probability", "Probability"),
    ("impact", "Impact"),
    ("mitigation", "Mitigation"),
    ("story-points", "Story Points"),
    ("sprint", "Sprint"),
    ("epic-link", "Epic Link"),
];

/// Attributes that only exist on some deployments; their absence is not worth a warning.
const OPTIONAL: &[&str] = &["epic-link"];

#[derive(Deserialize)]
struct FieldDetails {
    id: String,
    name: String,
    #[serde(default)]
    custom: bool,
}

/// Attribute -> field id, resolved for this site.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FieldMap {
    /// Attribute (`cost-of-delay`) -> field id on this site (`customfield_10050`).
    pub ids: BTreeMap<String, String>,
    /// Attribute -> the field's name on this site: Data Center's changelog names fields only
    /// by their names.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
}

impl FieldMap {
    /// The request for the site's fields (`/field`), to send beside others
    /// ([`FieldMap::from_answer`] reads its answer).
    pub fn request(jira: &Jira) -> Request {
        jira.client().get_request(&format!("{}/field", jira.api()))
    }

    /// Resolve the configured names (or `customfield_NNNNN` ids) against `/field`.
    pub fn resolve(
        jira: &Jira,
        configured: &BTreeMap<String, String>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<FieldMap, PluginError> {
        let fields = jira.get(&format!("{}/field", jira.api()))?;
        Self::from_fields(fields, configured, diagnostics)
    }

    /// Resolve the configured names against an answer of `/field` ([`FieldMap::request`]).
    pub fn from_answer(
        answer: Result<Response, PluginError>,
        configured: &BTreeMap<String, String>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<FieldMap, PluginError> {
        Self::from_fields(answer?.json()?, configured, diagnostics)
    }

    fn from_fields(
        fields: Vec<FieldDetails>,
        configured: &BTreeMap<String, String>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<FieldMap, PluginError> {
        let mut ids = BTreeMap::new();
        let mut names = BTreeMap::new();
        for (attribute, default) in DEFAULT_FIELDS {
            let wanted = configured
                .get(*attribute)
                .map(String::as_str)
                .unwrap_or(default);
            if wanted.is_empty() {
                continue; // switched off in the settings
            }
            let hits: Vec<&FieldDetails> = fields
                .iter()
                .filter(|f| f.id == wanted || (f.custom && f.name.eq_ignore_ascii_case(wanted)))
                .collect();
            match hits.as_slice() {
                [one] => {
                    ids.insert(attribute.to_string(), one.id.clone());
                    names.insert(attribute.to_string(), one.name.clone());
                }
                [] if OPTIONAL.contains(attribute) && !configured.contains_key(*attribute) => {}
                [] => diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    code: "unmapped-field".into(),
                    message: format!(
                        "no custom field named \"{wanted}\" on this site, so `{attribute}` is not read; set fields.{attribute} to the field's name or id"
                    ),
                    location: Some(format!("fields.{attribute}")),
                }),
                many => {
                    let list: Vec<String> =
                        many.iter().map(|f| format!("{} ({})", f.id, f.name)).collect();
                    return Err(PluginError::Config(format!(
                        "fields.{attribute}: \"{wanted}\" names {} fields on this site: {}; set fields.{attribute} to one of the ids",
                        many.len(),
                        list.join(", ")
                    )));
                }
            }
        }
        for attribute in configured.keys() {
            if !DEFAULT_FIELDS.iter().any(|(a, _)| a == attribute) {
                let known: Vec<&str> = DEFAULT_FIELDS.iter().map(|(a, _)| *a).collect();
                return Err(PluginError::Config(format!(
                    "fields.{attribute} is not an attribute the plugin reads; known: {}",
                    known.join(", ")
                )));
            }
        }
        Ok(FieldMap { ids, names })
    }

    /// The field id of an attribute, if the site has it.
    pub fn id(&self, attribute: &str) -> Option<&str> {
        self.ids.get(attribute).map(String::as_str)
    }

    /// Whether a changelog item (`fieldId` on Cloud, only the `field` name on Data Center) is
    /// about an attribute's field.
    pub fn is_item_of(&self, attribute: &str, field_id: Option<&str>, field: &str) -> bool {
        match (field_id, self.id(attribute)) {
            (Some(given), Some(id)) => given == id,
            (None, Some(_)) => self
                .names
                .get(attribute)
                .is_some_and(|n| n.eq_ignore_ascii_case(field)),
            (_, None) => false,
        }
    }

    /// Ids of these attributes that are mapped, for the `fields` of a search.
    pub fn ids_of(&self, attributes: &[&str]) -> Vec<String> {
        attributes
            .iter()
            .filter_map(|a| self.id(a).map(str::to_string))
            .collect()
    }
}

/// Reads typed values from one issue, noting what does not fit.
pub struct Reader<'a> {
    /// Where each attribute lives on this site.
    pub map: &'a FieldMap,
    /// The issue read, for messages.
    pub issue_key: String,
    /// The issue's fields as the search returned them.
    pub fields: &'a serde_json::Map<String, Value>,
    /// What did not fit, to report with the page.
    pub diagnostics: Vec<Diagnostic>,
    /// Values that did not map onto a typed attribute, by attribute.
    pub extra: serde_json::Map<String, Value>,
    /// Model fields this issue's answer held in an unexpected type: the host keeps their last
    /// value read instead of the empty one in the record (the contract's `_unread` key of
    /// `extra`).
    pub unread: Vec<&'static str>,
}

/// The model field an attribute fills, for keeping its last value when the attribute's value
/// comes in an unexpected type.
fn model_field(attribute: &str) -> Option<&'static str> {
    Some(match attribute {
        "demand-type" => "demand_type",
        "development-type" => "development_type",
        "value-stream" => "value_stream",
        "strategic-theme" => "strategic_theme",
        "gate" => "current_gate",
        "next-gate-due" => "next_gate_due",
        "cost-of-delay" => "cost_of_delay",
        "business-value" => "user_business_value",
        "time-criticality" => "time_criticality",
        "risk-reduction" => "risk_reduction",
        "job-size" => "job_size",
        "target-start" => "planned_start",
        "target-end" => "planned_end",
        "business-owner" => "business_owner",
        "kpi" | "kpi-baseline" | "kpi-target" | "kpi-actual" | "kpi-measured-on" => "kpis",
        "story-points" => "estimate",
        "sprint" => "sprint_ids",
        _ => return None,
    })
}

/// The JSON type of a value, as a person reads it.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl<'a> Reader<'a> {
    /// A reader of one issue's fields.
    pub fn new(
        map: &'a FieldMap,
        issue_key: String,
        fields: &'a serde_json::Map<String, Value>,
    ) -> Reader<'a> {
        Reader {
            map,
            issue_key,
            fields,
            diagnostics: Vec::new(),
            extra: serde_json::Map::new(),
            unread: Vec::new(),
        }
    }

    fn drifted(&mut self, field: &str, model: &'static str, expected: &str, value: &Value) {
        if !self.unread.contains(&model) {
            self.unread.push(model);
        }
        let mut shown = value.to_string();
        if shown.len() > 200 {
            shown = format!("{}…", shown.chars().take(200).collect::<String>());
        }
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: "type-drift".into(),
            message: format!(
                "{}: the system field `{field}` holds {} ({shown}), not {expected}; the last value read is kept",
                self.issue_key,
                json_type(value)
            ),
            location: Some(format!("{}:{field}", self.issue_key)),
        });
    }

    fn system(&self, field: &str) -> Option<&'a Value> {
        self.fields.get(field).filter(|v| !v.is_null())
    }

    /// A system text field (`summary`), for the model field `model`.
    pub fn system_text(&mut self, field: &str, model: &'static str) -> Option<String> {
        let v = self.system(field)?;
        match v.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.drifted(field, model, "text", v);
                None
            }
        }
    }

    /// A system timestamp (`updated`, `created`, `resolutiondate`): text that starts like
    /// `2026-11-27T10:30`.
    pub fn system_timestamp(&mut self, field: &str, model: &'static str) -> Option<String> {
        let v = self.system(field)?;
        match v.as_str() {
            Some(s) if s.len() >= 16 && s.as_bytes()[10] == b'T' && s.as_bytes()[4] == b'-' => {
                Some(s.to_string())
            }
            _ => {
                self.drifted(field, model, "a timestamp", v);
                None
            }
        }
    }

    /// The `name` of a system object field (`status`, `issuetype`).
    pub fn system_name(&mut self, field: &str, model: &'static str) -> Option<String> {
        let v = self.system(field)?;
        match v.get("name").and_then(Value::as_str) {
            Some(s) => Some(s.to_string()),
            None => {
                self.drifted(field, model, "an object with a name", v);
                None
            }
        }
    }

    /// The labels: a list of text.
    pub fn labels(&mut self) -> Vec<String> {
        let Some(v) = self.system("labels") else {
            return Vec::new();
        };
        match v.as_array() {
            Some(items) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => {
                self.drifted("labels", "labels", "a list of text", v);
                Vec::new()
            }
        }
    }

    /// `extra` for the record: the values kept aside, and `_unread` naming the model fields
    /// whose last value the host should keep.
    pub fn take_extra(&mut self) -> serde_json::Map<String, Value> {
        let mut extra = std::mem::take(&mut self.extra);
        if !self.unread.is_empty() {
            extra.insert(
                tollgate_plugin_api::UNREAD_KEY.to_string(),
                Value::from(std::mem::take(&mut self.unread)),
            );
        }
        extra
    }

    fn raw(&self, attribute: &str) -> Option<&'a Value> {
        let id = self.map.id(attribute)?;
        self.fields.get(id).filter(|v| !v.is_null())
    }

    fn mistyped(&mut self, attribute: &str, expected: &str, value: &Value) {
        self.extra.insert(attribute.to_string(), value.clone());
        if let Some(model) = model_field(attribute)
            && !self.unread.contains(&model)
        {
            self.unread.push(model);
        }
        // An option is shown by its value; its `self` link says nothing to a person.
        let shown = match value.get("value").and_then(Value::as_str) {
            Some(v) => format!("the option \"{v}\""),
            None => value.to_string(),
        };
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: "mistyped-value".into(),
            message: format!(
                "{}: `{attribute}` ({}) holds {shown}, not {expected}; the value is kept in `extra`, and the last value read is used",
                self.issue_key,
                self.map.id(attribute).unwrap_or("?")
            ),
            location: Some(format!("{}:{}", self.issue_key, self.map.id(attribute).unwrap_or(attribute))),
        });
    }

    /// Text of a text field, a select option's value or a user's display name.
    pub fn text(&mut self, attribute: &str) -> Option<String> {
        let v = self.raw(attribute)?;
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => match o.get("value").or_else(|| o.get("displayName")) {
                Some(Value::String(s)) => Some(s.clone()),
                _ => {
                    self.mistyped(attribute, "text or an option", v);
                    None
                }
            },
            Value::Number(n) => Some(n.to_string()),
            _ => {
                self.mistyped(attribute, "text or an option", v);
                None
            }
        }
    }

    /// A number, from a number field or a select whose options are numbers.
    pub fn number(&mut self, attribute: &str) -> Option<f64> {
        let v = self.raw(attribute)?;
        let parsed = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            Value::Object(o) => o
                .get("value")
                .and_then(Value::as_str)
                .and_then(|s| s.trim().parse().ok()),
            _ => None,
        };
        if parsed.is_none() {
            self.mistyped(attribute, "a number", v);
        }
        parsed
    }

    /// A date, `YYYY-MM-DD` (a date-time is cut to its date).
    pub fn date(&mut self, attribute: &str) -> Option<String> {
        let v = self.raw(attribute)?;
        match v.as_str() {
            Some(s) if s.len() >= 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' => {
                Some(s[..10].to_string())
            }
            _ => {
                self.mistyped(attribute, "a date", v);
                None
            }
        }
    }

    /// Sprint ids from the Sprint field: objects on Cloud, `...Sprint@1a2b[id=42,...]` strings
    /// on older Data Center versions.
    pub fn sprint_ids(&mut self, attribute: &str) -> Vec<String> {
        let Some(v) = self.raw(attribute) else {
            return Vec::new();
        };
        let Some(items) = v.as_array() else {
            self.mistyped(attribute, "a list of sprints", v);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let id = match item {
                Value::Object(o) => o.get("id").map(|id| match id {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                Value::String(s) => s
                    .split_once("[id=")
                    .or_else(|| s.split_once(",id="))
                    .map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect())
                    .filter(|id: &String| !id.is_empty()),
                _ => None,
            };
            match id {
                Some(id) => out.push(id),
                None => self.mistyped(attribute, "a sprint", item),
            }
        }
        out
    }
}

/// `Capability planning` -> `capability-planning`: the contract's vocabulary spelling.
pub fn vocabulary(value: &str) -> String {
    value
        .trim()
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map() -> FieldMap {
        FieldMap {
            ids: [
                ("job-size", "customfield_1"),
                ("sprint", "customfield_2"),
                ("cost-of-delay", "customfield_3"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            names: Default::default(),
        }
    }

    #[test]
    fn numbers_from_numbers_and_numeric_options_and_the_rest_reported() {
        let m = map();
        let fields = json!({
            "customfield_1": {"value": "XL", "id": "1"},
            "customfield_3": 5.0
        });
        let fields = fields.as_object().unwrap();
        let mut r = Reader::new(&m, "BIZ-20".into(), fields);
        assert_eq!(r.number("cost-of-delay"), Some(5.0));
        assert_eq!(r.number("job-size"), None);
        assert_eq!(r.diagnostics.len(), 1);
        assert!(r.diagnostics[0].message.contains("BIZ-20"));
        assert_eq!(r.extra["job-size"]["value"], "XL");
        let fields = json!({"customfield_1": {"value": "8"}});
        let mut r = Reader::new(&m, "BIZ-1".into(), fields.as_object().unwrap());
        assert_eq!(r.number("job-size"), Some(8.0));
    }

    #[test]
    fn sprints_in_both_shapes() {
        let m = map();
        let fields = json!({"customfield_2": [
            {"id": 301, "name": "A"},
            "com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=42,rapidViewId=4,state=CLOSED,name=Sprint 3]"
        ]});
        let mut r = Reader::new(&m, "BIZ-30".into(), fields.as_object().unwrap());
        assert_eq!(r.sprint_ids("sprint"), ["301", "42"]);
    }

    #[test]
    fn vocabulary_spelling() {
        assert_eq!(vocabulary("Capability planning"), "capability-planning");
        assert_eq!(vocabulary(" Conditional go "), "conditional-go");
        assert_eq!(vocabulary("G2"), "g2");
    }
}
