//! An epic's history, from its changelog: the days it entered each gate (its Gate field's
//! moves) and its KPI's measurements over time (the changes of its KPI Actual field).
//!
//! A search with `expand=changelog` embeds the changelog, but not always all of it: Cloud
//! embeds only recent entries, newest first (about 20 in a search), and says how many there
//! are in `total`; Data Center embeds the whole history, oldest first. When `total` says more
//! than came, the plugin reads the rest: Cloud pages `/issue/{id}/changelog` (oldest first),
//! Data Center reads the issue with `expand=changelog`. A changelog of an unexpected shape is
//! an error naming the issue, never "no history".

#[allow(unused_imports)]
use super::*;

/// One history entry: when, and the fields it changed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// Its id, for ordering entries of the same minute.
    pub id: u64,
    /// As Jira wrote it (`2026-06-15T10:00:00.000+0300`).
    pub created: String,
    /// The fields it changed.
    pub items: Vec<Item>,
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Item {
    /// The field's name.
    pub field: String,
    /// The field's id (Cloud only).
    #[serde(default)]
    pub field_id: Option<String>,
    /// The value before, as text.
    #[serde(default)]
    pub from_string: Option<String>,
    /// The value after, as text.
    #[serde(default)]
    pub to_string: Option<String>,
}

#[derive(Deserialize)]
struct RawEntry {
    id: String,
    created: String,
    items: Vec<Item>,
}

/// The changelog as an issue embeds it. `histories` has no default: an issue that came
/// without it when it was asked for is a malformed answer.
#[derive(Deserialize)]
struct Embedded {
    histories: Vec<RawEntry>,
    #[serde(default)]
    total: Option<u64>,
}

/// A page of Cloud's `/issue/{id}/changelog`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangelogPage {
    values: Vec<RawEntry>,
    #[serde(default)]
    is_last: Option<bool>,
    #[serde(default)]
    total: Option<u64>,
}

fn entries(raw: Vec<RawEntry>, what: &str) -> Result<Vec<Entry>, PluginError> {
    raw.into_iter()
        .map(|e| {
            let id = e.id.parse().map_err(|_| {
                PluginError::Transient(format!(
                    "{what}: history entry id `{}` is not a number",
                    e.id
                ))
            })?;
            if !is_day(&e.created) {
                return Err(PluginError::Transient(format!(
                    "{what}: history entry {id} has `created` `{}`, not a Jira timestamp",
                    e.created
                )));
            }
            Ok(Entry {
                id,
                created: e.created,
                items: e.items,
            })
        })
        .collect()
}

/// The embedded changelog of an issue of a search that asked for it, parsed; whether it is
/// whole (`total` says no more entries exist).
pub(crate) fn embedded(issue: &Issue) -> Result<(Vec<Entry>, bool), PluginError> {
    let what = format!("the changelog of {}", issue.key());
    let Some(raw) = issue.changelog.as_ref() else {
        return Err(PluginError::Transient(format!(
            "a search asked for the changelog, and {} came without it",
            issue.key()
        )));
    };
    let parsed = Embedded::deserialize(raw).map_err(|e| {
        PluginError::Transient(format!("{what} is not the shape Jira documents: {e}"))
    })?;
    let n = parsed.histories.len() as u64;
    let whole = parsed.total.is_none_or(|t| t <= n);
    Ok((entries(parsed.histories, &what)?, whole))
}

/// An issue's whole history, oldest first: the embedded changelog when it is whole, else read
/// again from the API.
pub(crate) fn history(jira: &Jira, issue: &Issue) -> Result<Vec<Entry>, PluginError> {
    let (mut list, whole) = embedded(issue)?;
    if !whole {
        list = match jira.deployment {
            Deployment::Cloud => cloud_changelog(jira, issue)?,
            Deployment::DataCenter => {
                let full: Issue = jira.get_with(
                    &format!("{}/issue/{}", jira.api(), issue.id),
                    &[("fields", "summary"), ("expand", "changelog")],
                )?;
                embedded(&full)?.0
            }
        };
    }
    list.sort_by_key(|e| (rfc_key(&e.created), e.id));
    Ok(list)
}

/// Every page of Cloud's `/issue/{id}/changelog`, oldest first.
fn cloud_changelog(jira: &Jira, issue: &Issue) -> Result<Vec<Entry>, PluginError> {
    let what = format!("the changelog of {}", issue.key());
    let mut out = Vec::new();
    loop {
        let start = out.len().to_string();
        let page: ChangelogPage = jira.get_with(
            &format!("{}/issue/{}/changelog", jira.api(), issue.id),
            &[("startAt", &start), ("maxResults", "100")],
        )?;
        let n = page.values.len();
        out.extend(entries(page.values, &what)?);
        let done = match (page.is_last, page.total) {
            (Some(last), _) => last,
            (None, Some(total)) => out.len() as u64 >= total,
            (None, None) => true,
        };
        if done {
            return Ok(out);
        }
        if n == 0 {
            return Err(PluginError::Transient(format!(
                "{what}: a page at {start} came empty, yet not the last"
            )));
        }
    }
}

/// A gate the epic entered: the gate (`G2`), the day (`YYYY-MM-DD`, as Jira wrote it) and the
/// history entry's id.
pub(crate) type GateEntry = (String, String, u64);

/// The gates an epic's Gate field moved to, oldest first.
pub(crate) fn gate_entries(fields: &FieldMap, history: &[Entry]) -> Vec<GateEntry> {
    let mut out = Vec::new();
    for e in history {
        for item in &e.items {
            if fields.is_item_of("gate", item.field_id.as_deref(), &item.field)
                && let Some(to) = item.to_string.as_deref().map(str::trim)
                && !to.is_empty()
            {
                out.push((to.to_string(), e.created[..10].to_string(), e.id));
            }
        }
    }
    out
}

/// The measurements of the epic's KPI its history tells, oldest first: each change of KPI
/// Actual, on the KPI Measured On date set with it (else the day of the change). Values that
/// are not numbers are reported and left out.
pub(crate) fn kpi_measurements(
    fields: &FieldMap,
    key: &str,
    history: &[Entry],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for e in history {
        let of = |attribute: &str| {
            e.items
                .iter()
                .find(|i| fields.is_item_of(attribute, i.field_id.as_deref(), &i.field))
        };
        let Some(actual) = of("kpi-actual") else {
            continue;
        };
        let Some(text) = actual.to_string.as_deref().map(str::trim) else {
            continue; // cleared
        };
        let Ok(value) = text.parse::<f64>() else {
            diagnostics.push(Diagnostic {
                severity: tollgate_plugin_api::Severity::Warning,
                code: "mistyped-value".into(),
                message: format!(
                    "{key}: its history sets `kpi-actual` to \"{}\", not a number; that measurement is left out",
                    text.chars().take(80).collect::<String>()
                ),
                location: Some(format!("{key}:changelog:{}", e.id)),
            });
            continue;
        };
        if !value.is_finite() {
            continue;
        }
        let day = of("kpi-measured-on")
            .and_then(|i| i.to_string.as_deref())
            .filter(|d| is_day(d))
            .map(|d| d[..10].to_string())
            .unwrap_or_else(|| e.created[..10].to_string());
        // One value per day: the later change corrects the earlier one.
        out.retain(|(d, _)| *d != day);
        out.push((day, value));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `YYYY-MM-DD` at the start.
fn is_day(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4]
            .iter()
            .chain(&b[5..7])
            .chain(&b[8..10])
            .all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map() -> FieldMap {
        FieldMap {
            ids: [
                ("gate", "customfield_1"),
                ("kpi-actual", "customfield_2"),
                ("kpi-measured-on", "customfield_3"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            names: [
                ("gate", "Gate"),
                ("kpi-actual", "KPI Actual"),
                ("kpi-measured-on", "KPI Measured On"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        }
    }

    fn issue(changelog: Value) -> Issue {
        serde_json::from_value(
            json!({"id": "10001", "key": "BIZ-1", "fields": {}, "changelog": changelog}),
        )
        .unwrap()
    }

    #[test]
    fn gates_and_measurements_come_from_either_flavours_changelog() {
        // Cloud: newest first, items with their field ids.
        let cloud = issue(
            json!({"startAt": 0, "maxResults": 3, "total": 3, "histories": [
                {"id": "3", "created": "2026-11-02T11:00:00.000+0200", "items": [
                    {"field": "KPI Actual", "fieldId": "customfield_2", "fromString": "6", "toString": "22"},
                    {"field": "KPI Measured On", "fieldId": "customfield_3", "fromString": "2026-08-03", "toString": "2026-11-01"}]},
                {"id": "2", "created": "2026-08-03T11:00:00.000+0300", "items": [
                    {"field": "KPI Actual", "fieldId": "customfield_2", "fromString": null, "toString": "6"}]},
                {"id": "1", "created": "2026-02-12T10:00:00.000+0200", "items": [
                    {"field": "Gate", "fieldId": "customfield_1", "fromString": "G1", "toString": "G2"},
                    {"field": "status", "fieldId": "status", "fromString": "To Do", "toString": "In Progress"}]}
            ]}),
        );
        let (list, whole) = embedded(&cloud).unwrap();
        assert!(whole);
        let mut list = list;
        list.sort_by_key(|e| (rfc_key(&e.created), e.id));
        assert_eq!(
            gate_entries(&map(), &list),
            [("G2".to_string(), "2026-02-12".to_string(), 1)]
        );
        let mut diagnostics = Vec::new();
        assert_eq!(
            kpi_measurements(&map(), "BIZ-1", &list, &mut diagnostics),
            [
                ("2026-08-03".to_string(), 6.0),
                ("2026-11-01".to_string(), 22.0)
            ]
        );
        // Data Center: no field ids, the names say which field.
        let dc = issue(
            json!({"startAt": 0, "maxResults": 1, "total": 1, "histories": [
                {"id": "7", "created": "2026-05-20T10:00:00.000+0300", "items": [
                    {"field": "gate", "fieldtype": "custom", "fromString": "G1", "toString": "G2"},
                    {"field": "KPI Actual", "fieldtype": "custom", "fromString": "1", "toString": "lots"}]}
            ]}),
        );
        let (list, _) = embedded(&dc).unwrap();
        assert_eq!(gate_entries(&map(), &list)[0].0, "G2");
        assert!(kpi_measurements(&map(), "BIZ-1", &list, &mut diagnostics).is_empty());
        assert_eq!(
            diagnostics.len(),
            1,
            "a value that is not a number is reported"
        );
        assert!(diagnostics[0].message.contains("\"lots\""));
    }

    #[test]
    fn a_truncated_or_malformed_changelog_is_never_read_as_the_whole_history() {
        let truncated = issue(
            json!({"startAt": 0, "maxResults": 1, "total": 40, "histories": [
            {"id": "40", "created": "2026-11-02T11:00:00.000+0200", "items": []}]}),
        );
        assert!(!embedded(&truncated).unwrap().1);
        for bad in [
            json!({}),
            json!({"histories": {}}),
            json!({"histories": [{"id": "x", "created": "2026-11-02T11:00:00.000+0200", "items": []}]}),
            json!({"histories": [{"id": "1", "created": "yesterday", "items": []}]}),
        ] {
            assert!(embedded(&issue(bad.clone())).is_err(), "{bad}");
        }
        let absent: Issue =
            serde_json::from_value(json!({"id": "1", "key": "BIZ-1", "fields": {}})).unwrap();
        let e = embedded(&absent).unwrap_err().to_string();
        assert!(e.contains("BIZ-1"), "{e}");
    }
}
