//! The time entries stream. Azure Boards has no worklogs: teams record the hours spent on a
//! task in its `CompletedWork` field. Each update that raises it is a time entry: the person
//! who saved it, the day it was saved (`System.ChangedDate` of the update; the update's
//! `revisedDate` is when the revision was superseded, not when it was made), and the hours
//! added. An update that lowers it corrects what was entered before: the hours come off the
//! latest entries first, and an entry taken down to nothing is deleted.

use super::{
    Changed, condition, epics_of, finish, instant_order, moved_since, open_cursor, person_of,
    read_changed, tell_next,
};
use crate::Settings;
use crate::api::{Ado, Fields, Reading, WorkItem};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_plugin_api::{
    Deletion, Diagnostic, DmoRecord, Entity, EntityKind, Page, PluginError, Severity, TimeEntry,
    record,
};

/// The field effort is read from.
pub const COMPLETED_WORK: &str = "Microsoft.VSTS.Scheduling.CompletedWork";

/// More hours than one task can hold (a century of full days): a value above is not believed.
const MAX_HOURS: f64 = 1_000_000.0;
/// Work items per page: each costs one or more reads of its updates, asked for
/// [`ITEMS_AT_ONCE`] at a time; a page also costs its query, its read and its epics' look-up,
/// so pages of 10 such groups keep those a small part of the round trips.
const ITEMS_PER_PAGE: usize = 10 * ITEMS_AT_ONCE;
/// Changed work items per page of an incremental pass: most changes leave the hours alone and
/// cost no read of updates, so a page asks for as many as four reads of 200 hold, now and as
/// they were, in one round of requests side by side.
const CHANGED_PER_PAGE: usize = 4 * crate::api::MAX_IDS;
/// Updates per read (the service's largest page).
const UPDATES_PER_READ: usize = 200;

/// One entry derived from the updates of a work item.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The revision that added the hours.
    pub rev: u64,
    /// Who saved it (an identity reference).
    pub who: Value,
    /// When it was saved (RFC 3339).
    pub at: String,
    /// Hours left after later corrections.
    pub hours: f64,
}

fn number(v: Option<&Value>) -> Result<f64, String> {
    match v {
        None | Some(Value::Null) => Ok(0.0),
        Some(v) => v
            .as_f64()
            .filter(|n| n.is_finite() && (0.0..=MAX_HOURS).contains(n))
            .ok_or_else(|| format!("{v} is not a number of hours")),
    }
}

/// One update of a work item, as much of it as its entries are read from: its revision, who
/// saved it, and the fields it changed (each read when asked for, [`Fields`]: an item's first
/// update holds every field it was created with, identities and all). Whatever else a list of
/// updates holds (a value that is not an object; `fields` that are not one) is an update that
/// changed no field, as a tree of it read. A member named twice is its last value.
#[derive(Debug, Default)]
pub struct Update {
    rev: Option<Value>,
    revised_by: Option<Value>,
    fields: Option<Fields>,
}

impl Update {
    /// A field's change (`{"oldValue": ..., "newValue": ...}`), if the update made one.
    fn change(&self, field: &str) -> Option<&Value> {
        self.fields.as_ref()?.get(field)
    }
}

/// What [`Lenient`] reads from a map; any other value is the default.
trait FromMap: Default {
    fn from_map<'de, M: serde::de::MapAccess<'de>>(m: M) -> Result<Self, M::Error>;
}

impl FromMap for Update {
    fn from_map<'de, M: serde::de::MapAccess<'de>>(mut m: M) -> Result<Update, M::Error> {
        let mut u = Update::default();
        while let Some(key) = m.next_key::<String>()? {
            match key.as_str() {
                "rev" => u.rev = Some(m.next_value()?),
                "revisedBy" => u.revised_by = Some(m.next_value()?),
                "fields" => u.fields = m.next_value::<Lenient<Option<Fields>>>()?.0,
                _ => {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(u)
    }
}

impl FromMap for Option<Fields> {
    fn from_map<'de, M: serde::de::MapAccess<'de>>(m: M) -> Result<Self, M::Error> {
        Fields::read_map(m).map(Some)
    }
}

/// A value read by its [`FromMap`] if it is a map, else the default.
struct Lenient<T>(T);

impl<'de, T: FromMap> serde::Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Lenient<T>, D::Error> {
        d.deserialize_any(LenientVisitor(std::marker::PhantomData))
            .map(Lenient)
    }
}

impl<'de> serde::Deserialize<'de> for Update {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Update, D::Error> {
        Lenient::<Update>::deserialize(d).map(|l| l.0)
    }
}

struct LenientVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: FromMap> serde::de::Visitor<'de> for LenientVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_map<M: serde::de::MapAccess<'de>>(self, m: M) -> Result<T, M::Error> {
        T::from_map(m)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<T, A::Error> {
        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(T::default())
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
}

/// The entries of one work item from its updates, oldest first: (entries left, revisions whose
/// entry later corrections took down to nothing, problems).
pub fn entries_from_updates(updates: &[Update]) -> (Vec<Entry>, Vec<u64>, Vec<String>) {
    let mut entries: Vec<Entry> = Vec::new();
    let mut cancelled = Vec::new();
    let mut problems = Vec::new();
    for u in updates {
        let Some(change) = u.change(COMPLETED_WORK) else {
            continue;
        };
        let rev = u.rev.as_ref().and_then(Value::as_u64).unwrap_or(0);
        let (old, new) = match (
            number(change.get("oldValue")),
            number(change.get("newValue")),
        ) {
            (Ok(o), Ok(n)) => (o, n),
            (Err(e), _) | (_, Err(e)) => {
                problems.push(format!(
                    "revision {rev}: Completed Work {e}; the change is left out"
                ));
                continue;
            }
        };
        let delta = new - old;
        if delta > 0.0 {
            let new_value = |field: &str| u.change(field)?.get("newValue");
            let at = new_value("System.ChangedDate")
                .or_else(|| new_value("System.AuthorizedDate"))
                .and_then(Value::as_str)
                .filter(|t| crate::fields::date_part(t).is_some());
            let Some(at) = at else {
                problems.push(format!(
                    "revision {rev} adds {delta} hours but says not when; it is left out"
                ));
                continue;
            };
            entries.push(Entry {
                rev,
                who: u.revised_by.clone().unwrap_or(Value::Null),
                at: at.to_string(),
                hours: delta,
            });
        } else if delta < 0.0 {
            let mut take = -delta;
            while take > 1e-9 {
                let Some(last) = entries.last_mut() else {
                    break;
                };
                if last.hours > take + 1e-9 {
                    last.hours -= take;
                    take = 0.0;
                } else {
                    take -= last.hours;
                    cancelled.push(last.rev);
                    entries.pop();
                }
            }
        }
    }
    (entries, cancelled, problems)
}

/// Whether a work item changed since the instant `since` (when the last pass began) may have
/// had its entries changed, so that they must be derived again from its history: `then` is the
/// item as of `since` (None if it did not exist yet). The last pass saw every revision made
/// before `since` (it read the history after that instant); a revision made at `since` itself
/// may have come just after it read, so an item whose last revision as of `since` is not older
/// than `since` counts as changed. Otherwise the entries are as they were if at most one
/// revision came after and it left the hours, the parent and the type as they were: the hours
/// are the entries, and the parent and type decide the epic they count for. With two revisions
/// or more, the hours may have gone up and come back down, so the history is read.
fn entries_may_have_changed(now: &WorkItem, then: Option<&WorkItem>, since: &str) -> bool {
    let Some(then) = then else {
        return true;
    };
    if moved_since(now, Some(then), since) || now.rev < then.rev || now.rev - then.rev > 1 {
        return true;
    }
    match (
        number(now.field(COMPLETED_WORK)),
        number(then.field(COMPLETED_WORK)),
    ) {
        (Ok(now), Ok(then)) => now != then,
        _ => true,
    }
}

/// One page of time entries: work items whose `CompletedWork` is above zero (or, on an
/// incremental pass, that changed in a way that may have changed their entries,
/// [`entries_may_have_changed`]), each with its entries.
pub fn time_entries(
    ado: &Ado,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let cursor = open_cursor(ado, settings, cursor, checkpoint, &mut page)?;
    let base = if cursor.since.is_some() {
        // Changed, whatever its Completed Work now (a correction to zero must be seen too).
        "[System.WorkItemType] <> ''".to_string()
    } else {
        format!("[{COMPLETED_WORK}] > 0")
    };
    let top = match cursor.since {
        Some(_) => CHANGED_PER_PAGE,
        None => ITEMS_PER_PAGE,
    };
    let found = ado.ids_after(&condition(&base, &cursor), cursor.after, top)?;
    tell_next(&cursor, &found, top);
    let mut fields = vec![
        "System.Id".to_string(),
        "System.WorkItemType".to_string(),
        "System.Parent".to_string(),
    ];
    let items = match &cursor.since {
        None => ado.read(&found.ids, Some(&fields), false)?,
        Some(since) => {
            // The items now and as they were when the last pass began: only those whose
            // entries may have changed since have their history read, and those with hours
            // below an item moved under another parent (they count for another epic now).
            fields.push(COMPLETED_WORK.to_string());
            let now = Reading {
                fields: Some(&fields),
                relations: false,
                as_of: None,
            };
            let Changed { now, then, below } =
                read_changed(ado, &found.ids, now, since, &[COMPLETED_WORK])?;
            let mut items: Vec<WorkItem> = now
                .into_iter()
                .filter(|w| entries_may_have_changed(w, then.get(&w.id), since))
                .collect();
            items.extend(
                below
                    .into_iter()
                    .filter(|w| number(w.field(COMPLETED_WORK)).map_or(true, |hours| hours > 0.0)),
            );
            items
        }
    };
    let epics = epics_of(ado, settings, &items)?;
    let ids: Vec<u64> = items.iter().map(|w| w.id).collect();
    let mut updates = updates_of(ado, &ids)?;
    for w in &items {
        let updates = updates.remove(&w.id).unwrap_or_default();
        let (entries, cancelled, problems) = entries_from_updates(&updates);
        for p in problems {
            page.diagnostics.push(Diagnostic {
                severity: Severity::Warning,
                code: "effort-unreadable".into(),
                message: format!("work item {}: {p}", w.id),
                location: Some(w.id.to_string()),
            });
        }
        for e in entries {
            let Some(person) = person_of(settings, &e.who) else {
                page.diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    code: "effort-unreadable".into(),
                    message: format!(
                        "work item {}: revision {} adds {} hours but names nobody; it is left out",
                        w.id, e.rev, e.hours
                    ),
                    location: Some(w.id.to_string()),
                });
                continue;
            };
            let entry = TimeEntry {
                person,
                work_item_key: Some(settings.key(w.id)),
                initiative_key: epics.get(&w.id).map(|&e| settings.key(e)),
                date: e.at[..10].to_string(),
                started: None,
                seconds: (e.hours * 3600.0).round() as u64,
                description: None,
            };
            page.records.push(DmoRecord {
                url: w.web_url(&settings.project),
                source_updated: Some(e.at.clone()),
                extra:
                    json!({"derived_from": "CompletedWork", "revision": e.rev, "hours": e.hours})
                        .to_string(),
                ..record(format!("{}:{}", w.id, e.rev), Entity::TimeEntry(entry))
            });
        }
        page.deletions
            .extend(cancelled.into_iter().map(|rev| Deletion {
                kind: EntityKind::TimeEntry,
                external_id: format!("{}:{rev}", w.id),
            }));
    }
    let full = found.ids.len() == top;
    if !full && let Some(since) = &cursor.since {
        page.deletions.extend(deleted_entries(ado, since)?);
    }
    finish(ado, page, cursor, &found, top, None)
}

/// The entries of work items moved to the recycle bin since `since`: an entry's id is the item
/// and a revision, and the bin keeps the item as it was, so every revision it reached is named
/// (the store ignores the ids it never held).
fn deleted_entries(ado: &Ado, since: &str) -> Result<Vec<Deletion>, PluginError> {
    #[derive(serde::Deserialize)]
    struct Shallow {
        id: u64,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Reference {
        id: u64,
        deleted_date: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Deleted {
        resource: Option<Resource>,
    }
    #[derive(serde::Deserialize)]
    struct Resource {
        rev: u64,
    }
    let bin: crate::api::Wrapped<Shallow> = ado.get(&ado.project_path("wit/recyclebin"))?;
    let ids: Vec<u64> = bin.value.iter().map(|d| d.id).collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(crate::api::MAX_IDS) {
        let list = chunk
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let refs: crate::api::Wrapped<Reference> =
            ado.get(&ado.project_path(&format!("wit/recyclebin?ids={list}")))?;
        for r in refs.value {
            let recent = r
                .deleted_date
                .as_deref()
                .is_none_or(|d| instant_order(d) >= instant_order(since));
            if !recent {
                continue;
            }
            let item: Deleted = ado.get(&ado.project_path(&format!("wit/recyclebin/{}", r.id)))?;
            let rev = item.resource.map_or(0, |w| w.rev).min(100_000);
            out.extend((1..=rev).map(|rev| Deletion {
                kind: EntityKind::TimeEntry,
                external_id: format!("{}:{rev}", r.id),
            }));
        }
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
struct Updates {
    value: Vec<Update>,
}

/// Work items whose updates are asked for side by side (the contract's `send-all` limit).
const ITEMS_AT_ONCE: usize = 16;

/// Every update of each of these work items, oldest first: the first page of updates of up to
/// 16 items asked for side by side; the further pages of an item with more (rare) one after
/// another.
fn updates_of(ado: &Ado, ids: &[u64]) -> Result<BTreeMap<u64, Vec<Update>>, PluginError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(ITEMS_AT_ONCE) {
        let requests: Vec<_> = chunk
            .iter()
            .map(|id| ado.get_request(updates_path(ado, *id, 0)))
            .collect();
        for (id, answer) in chunk.iter().zip(ado.call_all(&requests)) {
            let mut all = Vec::new();
            if more_updates(*id, answer?.json()?, &mut all)? {
                for n in 1..10_000 {
                    let page: Updates = ado.get(&updates_path(ado, *id, n))?;
                    if !more_updates(*id, page, &mut all)? {
                        break;
                    }
                    if n == 9_999 {
                        return Err(PluginError::Remote(format!(
                            "work item {id} has more than {} updates; not reading on",
                            10_000 * UPDATES_PER_READ
                        )));
                    }
                }
            }
            out.insert(*id, all);
        }
    }
    Ok(out)
}

/// The path of the `n`th page of a work item's updates.
fn updates_path(ado: &Ado, id: u64, n: usize) -> String {
    let skip = n * UPDATES_PER_READ;
    ado.project_path(&format!(
        "wit/workItems/{id}/updates?$top={UPDATES_PER_READ}&$skip={skip}"
    ))
}

/// Add a page of a work item's updates to `all`; whether a next page may hold more.
fn more_updates(id: u64, page: Updates, all: &mut Vec<Update>) -> Result<bool, PluginError> {
    let len = page.value.len();
    if len > UPDATES_PER_READ {
        return Err(PluginError::Remote(format!(
            "the updates of work item {id} came {len} at a time for $top={UPDATES_PER_READ}"
        )));
    }
    all.extend(page.value);
    Ok(len == UPDATES_PER_READ)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Updates as the plugin reads an answer's list of them (from its text).
    fn read(updates: &[Value]) -> Vec<Update> {
        serde_json::from_str(&Value::from(updates.to_vec()).to_string()).unwrap()
    }

    fn update(rev: u64, who: &str, at: &str, old: Option<f64>, new: Option<f64>) -> Value {
        let mut change = serde_json::Map::new();
        if let Some(o) = old {
            change.insert("oldValue".into(), json!(o));
        }
        if let Some(n) = new {
            change.insert("newValue".into(), json!(n));
        }
        json!({
            "rev": rev,
            "revisedBy": {"uniqueName": who},
            "revisedDate": "9999-01-01T00:00:00Z",
            "fields": {COMPLETED_WORK: change, "System.ChangedDate": {"newValue": at}}
        })
    }

    #[test]
    fn timestamps_compare_in_time_order() {
        assert!(instant_order("2026-11-18T09:00:00Z") < instant_order("2026-11-18T09:00:00.25Z"));
        assert!(instant_order("2026-11-18T09:00:00.9Z") < instant_order("2026-11-18T09:00:01Z"));
        assert_eq!(
            instant_order("2026-11-18T09:00:00.5Z"),
            instant_order("2026-11-18T09:00:00.500Z")
        );
    }

    #[test]
    fn only_items_whose_entries_may_have_changed_have_their_history_read() {
        let since = "2026-11-27T10:00:00.5Z";
        let item = |rev: u64, changed: &str, hours: Option<Value>| -> WorkItem {
            let mut fields = json!({"System.ChangedDate": changed});
            if let Some(h) = hours {
                fields[COMPLETED_WORK] = h;
            }
            serde_json::from_value(json!({
                "id": 7, "rev": rev, "fields": fields, "url": "http://h/ado/org/_apis/wit/workItems/7"
            }))
            .unwrap()
        };
        let before = item(4, "2026-11-27T09:00:00Z", Some(json!(6.0)));
        let changed =
            |now: &WorkItem, then: Option<&WorkItem>| entries_may_have_changed(now, then, since);
        // One revision since, the hours as they were: a title edited, say.
        assert!(!changed(
            &item(5, "2026-11-27T11:00:00Z", Some(json!(6.0))),
            Some(&before)
        ));
        // Nothing since (the item was found at the instant itself, and that was seen).
        assert!(!changed(&before, Some(&before)));
        // One revision that moved the hours, up or to nothing.
        assert!(changed(
            &item(5, "2026-11-27T11:00:00Z", Some(json!(8.0))),
            Some(&before)
        ));
        assert!(changed(
            &item(5, "2026-11-27T11:00:00Z", None),
            Some(&before)
        ));
        // Two revisions: the hours may have gone up and come back.
        assert!(changed(
            &item(6, "2026-11-27T11:00:00Z", Some(json!(6.0))),
            Some(&before)
        ));
        // New since the last pass began.
        assert!(changed(
            &item(1, "2026-11-27T11:00:00Z", Some(json!(2.0))),
            None
        ));
        // As of the instant, its last revision was made at that very instant: the last pass
        // may have read it before that revision came, so it counts as changed.
        let at_since = item(4, since, Some(json!(6.0)));
        assert!(changed(&item(4, since, Some(json!(6.0))), Some(&at_since)));
        let later_fraction = item(4, "2026-11-27T10:00:00.500Z", Some(json!(6.0)));
        assert!(changed(
            &item(5, "2026-11-27T11:00:00Z", Some(json!(6.0))),
            Some(&later_fraction)
        ));
        // Without a date, or with hours that cannot be read: read the history (which says why).
        let mut undated = item(4, "", Some(json!(6.0)));
        undated.fields.remove("System.ChangedDate");
        assert!(changed(
            &item(5, "2026-11-27T11:00:00Z", Some(json!(6.0))),
            Some(&undated)
        ));
        assert!(changed(
            &item(5, "2026-11-27T11:00:00Z", Some(json!("six"))),
            Some(&before)
        ));
        // One revision that moved the item under another parent, or made it another type:
        // its entries may count for another epic.
        let with = |w: &WorkItem, field: &str, v: Value| {
            let mut w = w.clone();
            w.fields.insert(field.to_string(), v);
            w
        };
        let placed = with(&before, "System.Parent", json!(41));
        let next = item(5, "2026-11-27T11:00:00Z", Some(json!(6.0)));
        assert!(!changed(
            &with(&next, "System.Parent", json!(41)),
            Some(&placed)
        ));
        assert!(changed(
            &with(&next, "System.Parent", json!(42)),
            Some(&placed)
        ));
        assert!(changed(&next, Some(&placed)), "taken from under its parent");
        assert!(changed(
            &with(&next, "System.WorkItemType", json!("Epic")),
            Some(&before)
        ));
        // A revision number that went back is not believed.
        assert!(changed(
            &item(3, "2026-11-27T11:00:00Z", Some(json!(6.0))),
            Some(&before)
        ));
    }

    #[test]
    fn raises_are_entries_and_corrections_come_off_the_latest() {
        let updates = vec![
            json!({"rev": 1, "fields": {"System.Title": {"newValue": "t"}}}),
            update(2, "a", "2026-06-01T15:00:00Z", None, Some(6.0)),
            update(3, "b", "2026-06-02T15:00:00Z", Some(6.0), Some(14.0)),
            update(4, "b", "2026-06-02T16:00:00Z", Some(14.0), Some(12.0)),
            update(5, "a", "2026-06-03T15:00:00Z", Some(12.0), Some(19.5)),
        ];
        let (entries, cancelled, problems) = entries_from_updates(&read(&updates));
        assert!(problems.is_empty());
        assert!(cancelled.is_empty());
        let hours: Vec<(u64, f64)> = entries.iter().map(|e| (e.rev, e.hours)).collect();
        assert_eq!(hours, [(2, 6.0), (3, 6.0), (5, 7.5)]);
        assert_eq!(
            entries[2].at, "2026-06-03T15:00:00Z",
            "when: the change's own date"
        );
        let total: f64 = entries.iter().map(|e| e.hours).sum();
        assert_eq!(total, 19.5, "the entries add up to Completed Work");
        // A correction to zero deletes what it undoes.
        let mut more = updates.clone();
        more.push(update(6, "a", "2026-06-04T15:00:00Z", Some(19.5), None));
        let (entries, cancelled, _) = entries_from_updates(&read(&more));
        assert!(entries.is_empty());
        assert_eq!(cancelled, [5, 3, 2]);
    }

    /// Read from an answer's text as a tree of it reads: a member named twice is its last value.
    #[test]
    fn an_update_named_twice_is_its_last_value_as_in_a_tree() {
        let text = r#"[{"rev": 2, "rev": 3, "revisedBy": {"uniqueName": "a"},
            "fields": {"System.ChangedDate": {"newValue": "2026-06-01T15:00:00Z"},
                "Microsoft.VSTS.Scheduling.CompletedWork": {"newValue": 1.0},
                "Microsoft.VSTS.Scheduling.CompletedWork": {"newValue": 2.5}}}]"#;
        let tree: Vec<Value> = serde_json::from_str(text).unwrap();
        let updates: Vec<Update> = serde_json::from_str(text).unwrap();
        let (entries, _, problems) = entries_from_updates(&updates);
        assert!(problems.is_empty(), "{problems:?}");
        let (rev, hours) = (
            tree[0]["rev"].as_u64(),
            tree[0]["fields"][COMPLETED_WORK]["newValue"].as_f64(),
        );
        assert_eq!((Some(entries[0].rev), Some(entries[0].hours)), (rev, hours));
        assert_eq!((entries[0].rev, entries[0].hours), (3, 2.5));
    }

    #[test]
    fn hostile_updates_are_reported_not_trusted() {
        let updates = vec![
            json!({"rev": 2, "fields": {COMPLETED_WORK: {"newValue": "lots"}}}),
            json!({"rev": 3, "fields": {COMPLETED_WORK: {"newValue": 5.0}}}),
            json!({"rev": 4, "fields": {COMPLETED_WORK: {"oldValue": 5.0, "newValue": -1.0}}}),
            json!({"rev": 5, "fields": {COMPLETED_WORK: {"newValue": f64::MAX}}}),
            json!("not an update"),
            json!({"rev": 6, "fields": "not fields"}),
            json!({"rev": 7, "fields": [COMPLETED_WORK]}),
            json!([{"rev": 8}]),
            json!(null),
            json!(12),
        ];
        let (entries, _, problems) = entries_from_updates(&read(&updates));
        assert!(entries.is_empty(), "no date, no entry: {entries:?}");
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}
