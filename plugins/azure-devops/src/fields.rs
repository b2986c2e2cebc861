//! Fields by reference name: the settings name a field as the process defines it
//! (`Custom.CostOfDelay`, or its display name "Cost of Delay"); the plugin checks it against the
//! organisation's fields (`_apis/wit/fields`) once per pass and reads values by type. A field
//! the organisation lacks, or a value of the wrong type, is reported as a diagnostic, and the
//! value is kept in the record's `extra`.

use crate::api::{Ado, Wrapped};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use tollgate_plugin_api::{Diagnostic, PluginError, Severity};

/// The DMO attributes read from fields, and the reference names used when the settings do not
/// say otherwise. Business value, time criticality and the dates are the Agile process's own
/// fields; the rest are the DMO's custom fields of an inherited process. The value stream comes
/// from the area path (`value-streams`) unless a field is named here.
pub const DEFAULT_FIELDS: &[(&str, &str)] = &[
    ("demand-type", "Custom.DemandType"),
    ("development-type", "Custom.DevelopmentType"),
    ("value-stream", ""),
    ("strategic-theme", "Custom.StrategicTheme"),
    ("gate", "Custom.Gate"),
    ("gate-decision", "Custom.GateDecision"),
    ("gate-decision-date", "Custom.GateDecisionDate"),
    ("gate-decider", "Custom.GateDecider"),
    ("next-gate-due", "Custom.NextGateDue"),
    ("cost-of-delay", "Custom.CostOfDelay"),
    ("business-value", "Microsoft.VSTS.Common.BusinessValue"),
    ("time-criticality", "Microsoft.VSTS.Common.TimeCriticality"),
    ("risk-reduction", "Custom.RiskReduction"),
    ("job-size", "Custom.JobSize"),
    ("target-start", "Microsoft.VSTS.Scheduling.StartDate"),
    ("target-end", "Microsoft.VSTS.Scheduling.TargetDate"),
    ("business-owner", "Custom.BusinessOwner"),
    ("kpi", "Custom.Kpi"),
    ("kpi-baseline", "Custom.KpiBaseline"),
    ("kpi-target", "Custom.KpiTarget"),
    ("kpi-actual", "Custom.KpiActual"),
    ("kpi-measured-on", "Custom.KpiMeasuredOn"),
    ("probability", "Custom.Probability"),
    ("impact", "Custom.Impact"),
    ("mitigation", "Custom.Mitigation"),
    ("estimate", ""),
];

/// The estimate field of each system process; inherited processes take their parent's.
pub const ESTIMATES: &[(&str, &str, &str)] = &[
    (
        "Agile",
        "adcc42ab-9882-485e-a3ed-7678f01f66bc",
        "Microsoft.VSTS.Scheduling.StoryPoints",
    ),
    (
        "Scrum",
        "6b724908-ef14-45cf-84f8-768b5384da45",
        "Microsoft.VSTS.Scheduling.Effort",
    ),
    (
        "CMMI",
        "27450541-8e31-4150-9947-dc59f998fc01",
        "Microsoft.VSTS.Scheduling.Size",
    ),
    (
        "Basic",
        "b8a3a935-7e91-48b8-a94c-606d37c3e9f2",
        "Microsoft.VSTS.Scheduling.Effort",
    ),
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldDetails {
    name: String,
    reference_name: String,
}

/// The fields the work items stream reads of each item, beside the estimate's: what it names
/// in its reads, where the organisation has `System.Parent` ([`FieldMap::work_items`]). One
/// reference name a line in `work-item-fields.txt`, which `tollgate bench`'s floor reads too, so
/// that it reads the items as the plugin does.
pub fn work_item_fields_read() -> impl Iterator<Item = &'static str> {
    include_str!("work-item-fields.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
}

/// Attribute -> reference name, checked against this organisation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FieldMap {
    /// Attribute (`cost-of-delay`) -> reference name (`Custom.CostOfDelay`).
    pub refs: BTreeMap<String, String>,
    /// The fields a read of work items names: those of [`work_item_fields_read`] the organisation
    /// has, as it spells them, and the estimate's. A read naming them is a fifth of the size of
    /// one of every field with the links (identities, links to children), and a service
    /// refuses a read naming a field it does not have. Empty where the organisation has no
    /// `System.Parent` (the items are then read with their links, whose parent link stands
    /// in), and in a cursor written before this was kept: then every field and the links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub work_items: Vec<String>,
}

/// The estimate field for a process: its name or type id, else `None`.
pub fn estimate_for(process_name: &str, process_type: &str) -> Option<&'static str> {
    ESTIMATES
        .iter()
        .find(|(name, id, _)| {
            process_name.eq_ignore_ascii_case(name) || process_type.eq_ignore_ascii_case(id)
        })
        .map(|(_, _, field)| *field)
}

impl FieldMap {
    /// Check the configured names against the organisation's fields; `estimate` is the
    /// process's estimate field unless the settings name one.
    pub fn resolve(
        ado: &Ado,
        configured: &BTreeMap<String, String>,
        estimate: Option<&str>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<FieldMap, PluginError> {
        for attribute in configured.keys() {
            if !DEFAULT_FIELDS.iter().any(|(a, _)| a == attribute) {
                let known: Vec<&str> = DEFAULT_FIELDS.iter().map(|(a, _)| *a).collect();
                return Err(PluginError::Config(format!(
                    "fields.{attribute} is not an attribute the plugin reads; known: {}",
                    known.join(", ")
                )));
            }
        }
        let fields: Wrapped<FieldDetails> = ado.get(&ado.project_path("wit/fields"))?;
        let mut refs = BTreeMap::new();
        for (attribute, default) in DEFAULT_FIELDS {
            let wanted = match configured.get(*attribute) {
                Some(v) => v.as_str(),
                None if *attribute == "estimate" => estimate.unwrap_or(""),
                None => default,
            };
            if wanted.is_empty() {
                continue; // switched off
            }
            let hits: Vec<&FieldDetails> = fields
                .value
                .iter()
                .filter(|f| {
                    f.reference_name.eq_ignore_ascii_case(wanted)
                        || f.name.eq_ignore_ascii_case(wanted)
                })
                .collect();
            let by_ref = hits
                .iter()
                .find(|f| f.reference_name.eq_ignore_ascii_case(wanted));
            match (by_ref, hits.as_slice()) {
                (Some(f), _) | (None, [f]) => {
                    refs.insert(attribute.to_string(), f.reference_name.clone());
                }
                (None, []) => diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    code: "unmapped-field".into(),
                    message: format!(
                        "no field \"{wanted}\" in this organisation, so `{attribute}` is not read; set fields.{attribute} to the field's reference name"
                    ),
                    location: Some(format!("fields.{attribute}")),
                }),
                (None, many) => {
                    let list: Vec<String> = many
                        .iter()
                        .map(|f| format!("{} ({})", f.reference_name, f.name))
                        .collect();
                    return Err(PluginError::Config(format!(
                        "fields.{attribute}: \"{wanted}\" names {} fields: {}; use a reference name",
                        many.len(),
                        list.join(", ")
                    )));
                }
            }
        }
        let work_items = work_item_fields(&fields.value, refs.get("estimate"));
        Ok(FieldMap { refs, work_items })
    }

    /// How the work items stream reads its items: naming [`FieldMap::work_items`], else
    /// every field with the links.
    pub fn work_item_reading(&self) -> crate::api::Reading<'_> {
        let named = (!self.work_items.is_empty()).then_some(self.work_items.as_slice());
        crate::api::Reading {
            fields: named,
            relations: named.is_none(),
            as_of: None,
        }
    }

    /// The reference name of an attribute, if mapped.
    pub fn get(&self, attribute: &str) -> Option<&str> {
        self.refs.get(attribute).map(String::as_str)
    }
}

/// [`FieldMap::work_items`] for an organisation of `fields` whose estimate is `estimate`.
fn work_item_fields(fields: &[FieldDetails], estimate: Option<&String>) -> Vec<String> {
    let spelled = |name: &str| {
        fields
            .iter()
            .find(|f| f.reference_name.eq_ignore_ascii_case(name))
            .map(|f| f.reference_name.clone())
    };
    if spelled("System.Parent").is_none() {
        return Vec::new();
    }
    let mut named: Vec<String> = work_item_fields_read().filter_map(spelled).collect();
    if let Some(estimate) = estimate.filter(|e| !named.contains(e)) {
        named.push(estimate.clone());
    }
    named
}

/// The model field an attribute fills, for keeping its last value when the value comes in an
/// unexpected type (the contract's `_unread` key of `extra`).
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
        "estimate" => "estimate",
        _ => return None,
    })
}

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

/// Reads typed values from one work item, noting what does not fit.
pub struct Reader<'a> {
    map: &'a FieldMap,
    id: u64,
    fields: &'a crate::api::Fields,
    /// What did not fit.
    pub diagnostics: Vec<Diagnostic>,
    /// Values that did not map, by attribute.
    pub extra: serde_json::Map<String, Value>,
    /// Model fields whose value came in an unexpected type.
    pub unread: Vec<&'static str>,
}

impl<'a> Reader<'a> {
    /// A reader of one work item's fields.
    pub fn new(map: &'a FieldMap, id: u64, fields: &'a crate::api::Fields) -> Self {
        Reader {
            map,
            id,
            fields,
            diagnostics: Vec::new(),
            extra: serde_json::Map::new(),
            unread: Vec::new(),
        }
    }

    fn value(&self, attribute: &str) -> Option<(&'a str, &'a Value)> {
        let name = self.map.get(attribute)?;
        self.fields
            .get_key_value(name)
            .filter(|(_, v)| !v.is_null())
    }

    fn mistyped(&mut self, attribute: &str, field: &str, v: &Value, wanted: &str) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Info,
            code: "field-type".into(),
            message: format!(
                "work item {}: {field} holds {} ({}) where {wanted} was expected; `{attribute}` is left out",
                self.id,
                json_type(v),
                tollgate_plugin_api::http::excerpt(v.to_string().as_bytes())
            ),
            location: Some(format!("{}:{field}", self.id)),
        });
        self.extra.insert(attribute.to_string(), v.clone());
        if let Some(m) = model_field(attribute).filter(|m| !self.unread.contains(m)) {
            self.unread.push(m);
        }
    }

    /// Text: a string, or an identity's display name.
    pub fn text(&mut self, attribute: &str) -> Option<String> {
        let (field, v) = self.value(attribute)?;
        match v {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Object(o) => match o.get("displayName").and_then(Value::as_str) {
                Some(n) => Some(n.to_string()),
                None => {
                    self.mistyped(attribute, field, v, "text");
                    None
                }
            },
            Value::Number(n) => Some(n.to_string()),
            _ => {
                self.mistyped(attribute, field, v, "text");
                None
            }
        }
    }

    /// A number (text that reads as one too).
    pub fn number(&mut self, attribute: &str) -> Option<f64> {
        let (field, v) = self.value(attribute)?;
        let n = v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()))
            .filter(|n| n.is_finite());
        if n.is_none() {
            self.mistyped(attribute, field, v, "a number");
        }
        n
    }

    /// A date, `YYYY-MM-DD`, from a date-time field (Azure Boards keeps dates as midnight UTC).
    pub fn date(&mut self, attribute: &str) -> Option<String> {
        let (field, v) = self.value(attribute)?;
        match v.as_str().and_then(date_part) {
            Some(d) => Some(d),
            None => {
                self.mistyped(attribute, field, v, "a date");
                None
            }
        }
    }
}

/// `YYYY-MM-DD` of an Azure DevOps date-time, checked.
pub fn date_part(text: &str) -> Option<String> {
    let d = text.get(..10)?;
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b[i].is_ascii_digit());
    (digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
        .then(|| d.to_string())
}

/// A vocabulary value as the model writes it: `Capability planning` -> `capability-planning`,
/// `Conditional go` -> `conditional-go`.
pub fn vocabulary(text: &str) -> String {
    text.trim()
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

    #[test]
    fn work_items_are_read_naming_the_fields_the_organisation_has() {
        let org = |names: &[&str]| -> Vec<FieldDetails> {
            names
                .iter()
                .map(|n| FieldDetails {
                    name: n.rsplit('.').next().unwrap().to_string(),
                    reference_name: n.to_string(),
                })
                .collect()
        };
        let mut every: Vec<&str> = work_item_fields_read().collect();
        assert!(every.len() >= 10 && every.contains(&"System.Parent"));
        every.push("Microsoft.VSTS.Scheduling.StoryPoints");
        let estimate = "Microsoft.VSTS.Scheduling.StoryPoints".to_string();
        let named = work_item_fields(&org(&every), Some(&estimate));
        assert_eq!(named.len(), work_item_fields_read().count() + 1);
        assert_eq!(named.last(), Some(&estimate));
        // Spelled as the organisation spells them; one it does not have is not named (the
        // service would refuse the read); an estimate among them is named once.
        let mut some: Vec<String> = every
            .iter()
            .filter(|n| !n.contains("ActivatedDate"))
            .map(|n| n.to_uppercase())
            .collect();
        some.push("Custom.Effort".into());
        let some: Vec<&str> = some.iter().map(String::as_str).collect();
        let named = work_item_fields(&org(&some), Some(&"SYSTEM.TITLE".to_string()));
        assert!(
            named.iter().all(|n| some.contains(&n.as_str())),
            "{named:?}"
        );
        assert!(named.contains(&"SYSTEM.PARENT".to_string()));
        assert!(!named.iter().any(|n| n.contains("ACTIVATED")));
        assert_eq!(named.iter().filter(|n| *n == "SYSTEM.TITLE").count(), 1);
        // Without System.Parent: every field and the links, whose parent link stands in.
        let without: Vec<&str> = every
            .iter()
            .copied()
            .filter(|n| *n != "System.Parent")
            .collect();
        assert!(work_item_fields(&org(&without), Some(&estimate)).is_empty());
        let map = FieldMap {
            work_items: Vec::new(),
            ..FieldMap::default()
        };
        let reading = map.work_item_reading();
        assert!(reading.relations && reading.fields.is_none());
        // A cursor written before the fields were kept reads as every field and the links.
        let old: FieldMap = serde_json::from_str(r#"{"refs": {}}"#).unwrap();
        assert!(old.work_item_reading().relations);
        let map = FieldMap {
            work_items: named.clone(),
            ..FieldMap::default()
        };
        let reading = map.work_item_reading();
        assert!(!reading.relations && reading.fields == Some(named.as_slice()));
    }

    #[test]
    fn values_are_read_by_type_and_misfits_are_reported() {
        let map = FieldMap {
            refs: [
                (
                    "cost-of-delay".to_string(),
                    "Custom.CostOfDelay".to_string(),
                ),
                (
                    "target-end".to_string(),
                    "Microsoft.VSTS.Scheduling.TargetDate".to_string(),
                ),
                (
                    "business-owner".to_string(),
                    "Custom.BusinessOwner".to_string(),
                ),
            ]
            .into_iter()
            .collect(),
            work_items: Vec::new(),
        };
        let fields = json!({
            "Custom.CostOfDelay": "lots",
            "Microsoft.VSTS.Scheduling.TargetDate": "2027-02-26T00:00:00Z",
            "Custom.BusinessOwner": {"displayName": "Sanna Laine", "uniqueName": "s@x"}
        });
        let fields: crate::api::Fields = serde_json::from_value(fields).unwrap();
        let mut r = Reader::new(&map, 4101, &fields);
        assert_eq!(r.number("cost-of-delay"), None);
        assert_eq!(r.date("target-end").as_deref(), Some("2027-02-26"));
        assert_eq!(r.text("business-owner").as_deref(), Some("Sanna Laine"));
        assert_eq!(r.text("kpi"), None, "unmapped attributes read as nothing");
        assert_eq!(r.unread, ["cost_of_delay"]);
        assert_eq!(r.extra["cost-of-delay"], "lots");
        assert!(r.diagnostics[0].message.contains("4101"));
        assert_eq!(vocabulary("Capability  planning"), "capability-planning");
        assert_eq!(date_part("2026-1-01"), None);
        assert_eq!(
            estimate_for("Tollgate Agile", "adcc42ab-9882-485e-a3ed-7678f01f66bc"),
            Some("Microsoft.VSTS.Scheduling.StoryPoints")
        );
        assert_eq!(
            estimate_for("Scrum", ""),
            Some("Microsoft.VSTS.Scheduling.Effort")
        );
        assert_eq!(estimate_for("Mine", "0000"), None);
    }
}
