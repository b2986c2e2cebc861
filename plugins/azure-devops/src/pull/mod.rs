//! The four streams: initiatives (epics, with their risks, their gate decision and their
//! dependency links), work items (everything below them), sprints (the teams' iterations) and
//! time entries (derived from `CompletedWork` changes).
//!
//! Every id stream pages by id through WIQL (`[System.Id] > last ORDER BY [System.Id]`), so a
//! project of any size syncs completely under the 20,000-result cap. An incremental pass asks
//! for what changed since the instant the last pass started (`System.ChangedDate`, with
//! `timePrecision=true`), and at its end reads the recycle bin to mark deleted work items.

mod initiatives;
mod sprints;
mod time_entries;
mod work_items;

pub use initiatives::initiatives;
pub use sprints::sprints;
pub use time_entries::{Entry, entries_from_updates, time_entries};
pub use work_items::work_items;

use crate::Settings;
use crate::api::{Ado, IdPage, WorkItem, Wrapped};
use crate::fields::{FieldMap, estimate_for};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use tollgate_plugin_api::{Deletion, Diagnostic, EntityKind, Page, PluginError, Severity, paging};

/// What every page of an id stream carries forward.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdCursor {
    /// The last id read.
    pub after: u64,
    /// Fields, resolved on the first page.
    pub fields: FieldMap,
    /// State -> category, per work item type.
    pub categories: BTreeMap<String, BTreeMap<String, String>>,
    /// Incremental passes: changed since this instant.
    pub since: Option<String>,
    /// When this pass began (the first query's `asOf`): the next pass's `since`.
    pub started: Option<String>,
}

/// Checkpoint of an id stream: the instant the last completed pass began.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub changed_since: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Project {
    capabilities: Option<Capabilities>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Capabilities {
    process_template: Option<ProcessTemplate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProcessTemplate {
    template_name: String,
    #[serde(default)]
    template_type_id: String,
}

#[derive(Deserialize)]
struct TypeWithStates {
    name: String,
    states: Vec<StateDef>,
}

#[derive(Deserialize)]
struct StateDef {
    name: String,
    category: String,
}

/// The estimate field of the project's process, or a warning that there is none to choose.
fn estimate_field(
    ado: &Ado,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<String>, PluginError> {
    let project: Project = ado.get(&ado.org_path(&format!(
        "projects/{}?includeCapabilities=true",
        tollgate_plugin_api::http::encode(&ado.project)
    )))?;
    let Some(process) = project.capabilities.and_then(|c| c.process_template) else {
        diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: "unknown-process".into(),
            message: "the project does not say which process it uses, so no estimate field is read; set fields.estimate".into(),
            location: Some("fields.estimate".into()),
        });
        return Ok(None);
    };
    match estimate_for(&process.template_name, &process.template_type_id) {
        Some(f) => Ok(Some(f.to_string())),
        None => {
            diagnostics.push(Diagnostic {
                severity: Severity::Warning,
                code: "unknown-process".into(),
                message: format!(
                    "the process \"{}\" is not Agile, Scrum, CMMI or Basic nor inherits from one, so no estimate field is read; set fields.estimate",
                    process.template_name
                ),
                location: Some("fields.estimate".into()),
            });
            Ok(None)
        }
    }
}

/// The cursor of this pass: decoded, or on the first page made by resolving the fields, the
/// estimate field and the states (their diagnostics go on the page).
pub(crate) fn open_cursor(
    ado: &Ado,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
    page: &mut Page,
) -> Result<IdCursor, PluginError> {
    if let Some(c) = paging::decode::<IdCursor>(cursor)? {
        return Ok(c);
    }
    let estimate = if settings.fields.contains_key("estimate") {
        None
    } else {
        estimate_field(ado, &mut page.diagnostics)?
    };
    let fields = FieldMap::resolve(
        ado,
        &settings.fields,
        estimate.as_deref(),
        &mut page.diagnostics,
    )?;
    let types: Wrapped<TypeWithStates> = ado.get(&ado.project_path("wit/workitemtypes"))?;
    let categories = types
        .value
        .into_iter()
        .map(|t| {
            (
                t.name,
                t.states.into_iter().map(|s| (s.name, s.category)).collect(),
            )
        })
        .collect();
    let since = paging::decode::<Checkpoint>(checkpoint)?.map(|c| c.changed_since);
    Ok(IdCursor {
        after: 0,
        fields,
        categories,
        since,
        started: None,
    })
}

/// The WIQL condition of a pass: `base`, and on an incremental pass what changed since.
pub(crate) fn condition(base: &str, cursor: &IdCursor) -> String {
    match &cursor.since {
        Some(since) => format!("{base} AND [System.ChangedDate] >= '{}'", wiql_text(since)),
        None => base.to_string(),
    }
}

/// Text as a WIQL string literal's content (quotes doubled).
pub(crate) fn wiql_text(text: &str) -> String {
    text.replace('\'', "''")
}

/// `('a', 'b')` for WIQL's `IN`.
pub(crate) fn wiql_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| format!("'{}'", wiql_text(i)))
        .collect();
    format!("({})", quoted.join(", "))
}

/// The cursor of the page after the one `found` (asked for `top` ids) starts: `None` when
/// that page is the pass's last (fewer ids than asked for).
fn next_cursor(cursor: &IdCursor, found: &IdPage, top: usize) -> Option<IdCursor> {
    let after = *found.ids.last()?;
    (found.ids.len() == top).then(|| IdCursor {
        after,
        started: Some(
            cursor
                .started
                .clone()
                .unwrap_or_else(|| found.as_of.clone()),
        ),
        ..cursor.clone()
    })
}

/// Tell the host the cursor [`finish`] will return for the page `found` starts
/// (`paging.next-cursor`), as soon as the page's ids are in: the next page's query and reads
/// go out while this call reads its items and histories. The cursor is the query's alone
/// (the last id, the pass's start), so nothing this call reads after changes it.
pub(crate) fn tell_next(cursor: &IdCursor, found: &IdPage, top: usize) {
    if let Some(next) = next_cursor(cursor, found, top) {
        paging::tell_next_cursor(&paging::encode(&next));
    }
}

/// Finish a page of an id stream (its ids `found`, asked for `top`): the next cursor, or the
/// checkpoint (and, on an incremental pass, the recycle bin's deletions of `kind`).
pub(crate) fn finish(
    ado: &Ado,
    mut page: Page,
    cursor: IdCursor,
    found: &IdPage,
    top: usize,
    kind: Option<EntityKind>,
) -> Result<Page, PluginError> {
    if let Some(next) = next_cursor(&cursor, found, top) {
        page.next_cursor = Some(paging::encode(&next));
        return Ok(page);
    }
    if let (Some(kind), Some(_)) = (kind, &cursor.since) {
        #[derive(Deserialize)]
        struct Deleted {
            id: u64,
        }
        let bin: Wrapped<Deleted> = ado.get(&ado.project_path("wit/recyclebin"))?;
        page.deletions
            .extend(bin.value.into_iter().map(|d| Deletion {
                kind,
                external_id: d.id.to_string(),
            }));
    }
    let changed_since = cursor.started.unwrap_or_else(|| found.as_of.clone());
    page.checkpoint = Some(paging::encode(&Checkpoint { changed_since }));
    Ok(page)
}

/// The DMO status category of a state.
pub(crate) fn status_category(cursor: &IdCursor, kind: &str, state: &str) -> Option<String> {
    let category = cursor.categories.get(kind)?.get(state)?;
    Some(
        match category.as_str() {
            "Proposed" => "todo",
            "InProgress" | "Resolved" => "in-progress",
            "Completed" | "Removed" => "done",
            other => other,
        }
        .to_string(),
    )
}

/// A page of an incremental pass's changed items: as they are now, as they were at the instant
/// the last pass began, and the items below those moved since ([`moved_since`]).
pub(crate) struct Changed {
    /// The changed items now, in the ids' order (those deleted since the query left out).
    pub now: Vec<WorkItem>,
    /// The same items as of the instant, by id, with their change date, type, parent and what
    /// else was asked for (an item new since is not here).
    pub then: BTreeMap<u64, WorkItem>,
    /// The items below those moved, not among the page's own, read as `now` is.
    pub below: Vec<WorkItem>,
}

/// Read the changed items `ids` with `now`, and beside it as of `since` with their change date,
/// type, parent and the fields `also`; then the items below those moved since.
pub(crate) fn read_changed(
    ado: &Ado,
    ids: &[u64],
    now: crate::api::Reading<'_>,
    since: &str,
    also: &[&str],
) -> Result<Changed, PluginError> {
    let before: Vec<String> = ["System.ChangedDate", "System.WorkItemType", "System.Parent"]
        .iter()
        .chain(also)
        .map(|f| f.to_string())
        .collect();
    let then = crate::api::Reading {
        fields: Some(&before),
        relations: false,
        as_of: Some(since),
    };
    let mut read = ado.read_each(ids, &[now, then])?;
    let then: BTreeMap<u64, WorkItem> = read
        .pop()
        .unwrap_or_default()
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    let now_items = read.pop().unwrap_or_default();
    let moved: Vec<u64> = now_items
        .iter()
        .filter(|w| moved_since(w, then.get(&w.id), since))
        .map(|w| w.id)
        .collect();
    let below = if moved.is_empty() {
        Vec::new()
    } else {
        let page: std::collections::BTreeSet<u64> = ids.iter().copied().collect();
        let mut below = descendants_of(ado, &moved)?;
        below.retain(|id| !page.contains(id));
        ado.read_each(&below, &[now])?.pop().unwrap_or_default()
    };
    Ok(Changed {
        now: now_items,
        then,
        below,
    })
}

/// The work items below `moved` (their children, the children's children, ... at most ten
/// levels down), each once, without `moved` themselves: found by WIQL, `[System.Parent] IN
/// (...)` a level at a time, paged by id. For an incremental pass, whose changed items are
/// what it reads: an item moved under another parent changes, but the items below it do
/// not, and the epic they count for is what moved.
fn descendants_of(ado: &Ado, moved: &[u64]) -> Result<Vec<u64>, PluginError> {
    const LEVELS: usize = 10;
    let mut seen: std::collections::BTreeSet<u64> = moved.iter().copied().collect();
    let mut out = Vec::new();
    let mut level: Vec<u64> = moved.to_vec();
    for _ in 0..LEVELS {
        let mut next = Vec::new();
        for parents in level.chunks(crate::api::MAX_IDS) {
            let list: Vec<String> = parents.iter().map(u64::to_string).collect();
            let condition = format!("[System.Parent] IN ({})", list.join(", "));
            let mut after = 0;
            loop {
                let top = crate::api::MAX_PAGE as usize;
                let found = ado.ids_after(&condition, after, top)?;
                next.extend(found.ids.iter().copied().filter(|id| seen.insert(*id)));
                match found.ids.last() {
                    Some(&last) if found.ids.len() == top => after = last,
                    _ => break,
                }
            }
        }
        if next.is_empty() {
            break;
        }
        out.extend(&next);
        level = next;
    }
    out.sort_unstable();
    Ok(out)
}

/// Whether a work item changed since the instant `since` (when the last pass began) may have
/// been moved under another parent or made another type, so that the epic it and the items
/// below it count for may be another: `then` is the item as of `since`, with its
/// `System.ChangedDate`, `System.Parent` and `System.WorkItemType` (None if it did not exist
/// yet: a new item has nothing below it that did not change too). A revision made at `since`
/// itself may have come after the last pass read the item, so such an item counts as moved.
pub(crate) fn moved_since(now: &WorkItem, then: Option<&WorkItem>, since: &str) -> bool {
    let Some(then) = then else {
        return false;
    };
    let seen = then
        .text("System.ChangedDate")
        .is_some_and(|at| instant_order(&at) < instant_order(since));
    let differs = |field: &str| now.field(field) != then.field(field);
    !seen || differs("System.Parent") || differs("System.WorkItemType")
}

/// A UTC timestamp as text that sorts in time order (`2026-11-18T09:00:00Z` and
/// `2026-11-18T09:00:00.25Z` differ in the fraction only).
pub(crate) fn instant_order(at: &str) -> String {
    let at = at.trim_end_matches('Z');
    let (whole, fraction) = at.split_once('.').unwrap_or((at, ""));
    format!("{whole}.{fraction:0<9}")
}

/// The epic above each of `items` (or the item itself, for an epic), reading the ancestors
/// the page lacks in batches of 200 (at most ten levels; a cycle is cut).
pub(crate) fn epics_of(
    ado: &Ado,
    settings: &Settings,
    items: &[WorkItem],
) -> Result<BTreeMap<u64, u64>, PluginError> {
    let mut known: BTreeMap<u64, (String, Option<u64>)> = items
        .iter()
        .map(|w| (w.id, (w.kind(), w.parent())))
        .collect();
    let is_epic = |kind: &str| {
        settings
            .epic_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(kind))
    };
    for _ in 0..10 {
        let mut missing: Vec<u64> = Vec::new();
        for w in items {
            let mut at = w.id;
            for _ in 0..12 {
                match known.get(&at) {
                    Some((kind, _)) if is_epic(kind) => break,
                    Some((_, Some(parent))) => at = *parent,
                    Some((_, None)) => break,
                    None => {
                        if !missing.contains(&at) {
                            missing.push(at);
                        }
                        break;
                    }
                }
            }
        }
        if missing.is_empty() {
            break;
        }
        let fields = [
            "System.Id".to_string(),
            "System.WorkItemType".to_string(),
            "System.Parent".to_string(),
        ];
        let found = ado.read(&missing, Some(&fields), false)?;
        for id in &missing {
            // Deleted or out of reach: the chain stops here.
            known.entry(*id).or_insert((String::new(), None));
        }
        for w in found {
            known.insert(w.id, (w.kind(), w.parent()));
        }
    }
    let mut out = BTreeMap::new();
    for w in items {
        let mut at = w.id;
        for _ in 0..12 {
            match known.get(&at) {
                Some((kind, _)) if is_epic(kind) => {
                    out.insert(w.id, at);
                    break;
                }
                Some((_, Some(parent))) => at = *parent,
                _ => break,
            }
        }
    }
    Ok(out)
}

/// The person id of an identity: its sign-in name (or id) through the `people` aliases of the
/// settings, else the sign-in name.
pub fn person_of(settings: &Settings, identity: &Value) -> Option<String> {
    let unique = identity.get("uniqueName").and_then(Value::as_str);
    let id = identity.get("id").and_then(Value::as_str);
    for key in [unique, id].into_iter().flatten() {
        if let Some(p) = settings
            .people
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
        {
            return Some(p.clone());
        }
    }
    unique.or(id).map(|s| s.to_lowercase())
}

/// The value stream of an area path: the longest configured prefix.
pub(crate) fn value_stream_of(settings: &Settings, area: &str) -> Option<String> {
    settings
        .value_streams
        .iter()
        .filter(|(prefix, _)| {
            let p = prefix.trim_end_matches('\\');
            area.eq_ignore_ascii_case(p)
                || area
                    .to_ascii_lowercase()
                    .starts_with(&format!("{}\\", p.to_ascii_lowercase()))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, stream)| stream.clone())
}

/// `2026-11-20T16:00:00.117Z` as RFC 3339 (it already is one); dates stay dates.
pub(crate) fn timestamp(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> Settings {
        tollgate_plugin_api::settings(json).unwrap()
    }

    #[test]
    fn the_cursor_told_early_is_the_one_the_page_returns() {
        let cursor = IdCursor {
            after: 0,
            fields: FieldMap::default(),
            categories: BTreeMap::new(),
            since: None,
            started: None,
        };
        let found = |ids: &[u64]| IdPage {
            ids: ids.to_vec(),
            as_of: "2026-11-27T10:00:00.123Z".into(),
        };
        // A full page goes on after its last id; the pass began when its first query ran.
        let next = next_cursor(&cursor, &found(&[3, 7, 9]), 3).unwrap();
        assert_eq!(
            (next.after, next.started.as_deref()),
            (9, Some("2026-11-27T10:00:00.123Z"))
        );
        let then = IdCursor {
            started: Some("2026-11-27T09:00:00Z".into()),
            ..next.clone()
        };
        let after = next_cursor(&then, &found(&[12, 15, 20]), 3).unwrap();
        assert_eq!(
            (after.after, after.started.as_deref()),
            (20, Some("2026-11-27T09:00:00Z"))
        );
        // A short page, or none, is the pass's last: nothing to tell.
        assert!(next_cursor(&cursor, &found(&[3, 7]), 3).is_none());
        assert!(next_cursor(&cursor, &found(&[]), 3).is_none());
        // What the page returns is what was told (`finish` encodes the same value).
        let page = finish(
            &Ado::new("tollgate-demo", "Portfolio"),
            Page::default(),
            cursor.clone(),
            &found(&[3, 7, 9]),
            3,
            None,
        )
        .unwrap();
        assert_eq!(page.next_cursor, Some(paging::encode(&next)));
    }

    #[test]
    fn an_item_under_another_parent_or_of_another_type_has_moved() {
        let since = "2026-11-27T10:00:00Z";
        let item = |changed: &str, fields: Value| -> WorkItem {
            let mut fields = fields;
            fields["System.ChangedDate"] = serde_json::json!(changed);
            serde_json::from_value(serde_json::json!({
                "id": 7, "rev": 3, "fields": fields, "url": "http://h/ado/org/_apis/wit/workItems/7"
            }))
            .unwrap()
        };
        let feature = serde_json::json!({"System.Parent": 41, "System.WorkItemType": "Feature"});
        let then = item("2026-11-27T09:00:00Z", feature.clone());
        let now = |fields: Value| item("2026-11-27T11:00:00Z", fields);
        assert!(!moved_since(&now(feature.clone()), Some(&then), since));
        let elsewhere = serde_json::json!({"System.Parent": 42, "System.WorkItemType": "Feature"});
        assert!(moved_since(&now(elsewhere), Some(&then), since));
        let loose = serde_json::json!({"System.WorkItemType": "Feature"});
        assert!(moved_since(&now(loose), Some(&then), since));
        let epic = serde_json::json!({"System.Parent": 41, "System.WorkItemType": "Epic"});
        assert!(moved_since(&now(epic), Some(&then), since));
        // New since: nothing below it that did not change too.
        assert!(!moved_since(&now(feature.clone()), None, since));
        // As of the instant, changed at the instant itself: perhaps after the last pass read it.
        let at_since = item(since, feature.clone());
        assert!(moved_since(&now(feature), Some(&at_since), since));
    }

    #[test]
    fn area_paths_map_to_value_streams_by_longest_prefix() {
        let s = settings(
            r#"{"organization": "o", "project": "P", "value-streams": {"P": "Everything", "P\\Mobile": "Digital channels"}}"#,
        );
        assert_eq!(
            value_stream_of(&s, "P\\Mobile\\Cards").as_deref(),
            Some("Digital channels")
        );
        assert_eq!(value_stream_of(&s, "P\\Web").as_deref(), Some("Everything"));
        assert_eq!(
            value_stream_of(&s, "P\\Mobiles").as_deref(),
            Some("Everything")
        );
        assert_eq!(value_stream_of(&s, "Q"), None);
    }

    #[test]
    fn people_map_by_sign_in_name_or_id() {
        let s = settings(
            r#"{"organization": "o", "project": "P", "people": {"Sanna.Laine@x.example": "p-sanna"}}"#,
        );
        let v = serde_json::json!({"uniqueName": "sanna.laine@x.example", "id": "1"});
        assert_eq!(person_of(&s, &v).as_deref(), Some("p-sanna"));
        let v = serde_json::json!({"uniqueName": "Oskar@X.example", "id": "2"});
        assert_eq!(person_of(&s, &v).as_deref(), Some("oskar@x.example"));
        assert_eq!(person_of(&s, &serde_json::json!({})), None);
    }

    #[test]
    fn wiql_text_is_quoted() {
        assert_eq!(
            wiql_list(&["Epic".into(), "O'Neil".into()]),
            "('Epic', 'O''Neil')"
        );
    }
}
