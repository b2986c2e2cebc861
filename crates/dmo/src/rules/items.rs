//! Work items as the portfolio holds them: what the rules read of each, compact.
//!
//! A portfolio of 10,000 initiatives has about 100,000 work items. A [`WorkItem`] as synced
//! carries a dozen strings (its title, assignee, status, parent...: about 700 bytes with
//! their allocations, 70 MB for the portfolio, a third of what `tollgate check` held at its
//! peak). The rules and reports read only an item's key, initiative, status category,
//! estimate, sprints and when it was created and resolved; here an item is 48 bytes and its
//! strings are numbers ([`Names`]). They see an item as an [`Item`], a view borrowing them.

use super::logged::{NONE, Names, Text, stored_data};
use crate::HashMap;
use crate::model::WorkItem;

/// One work item as the rules read it. (Its title, kind, status, parent and assignee stay
/// in the store; nothing computed from the portfolio reads them.)
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The item's key.
    pub key: &'a str,
    /// The initiative it belongs to, if any.
    pub initiative_key: Option<&'a str>,
    /// `todo`, `in-progress`, `done` or what the source said, if anything.
    pub status_category: Option<&'a str>,
    /// The estimate, as the source gave it.
    pub estimate: Option<f64>,
    /// When it was created, as the source gave it.
    pub created: Option<&'a str>,
    /// When it was resolved, as the source gave it.
    pub resolved: Option<&'a str>,
    sprints: &'a [u32],
    names: &'a Names,
}

impl<'a> Item<'a> {
    /// The sprints or iterations it was in.
    pub fn sprint_ids(&self) -> impl Iterator<Item = &'a str> + 'a {
        let names = self.names;
        self.sprints.iter().map(move |id| names.text(*id))
    }
}

#[derive(Debug, Clone, Copy)]
struct Row {
    estimate: Option<f64>,
    key: u32,
    initiative: u32,
    status_category: u32,
    created: u32,
    resolved: u32,
    /// Where its sprints start in [`WorkItems::sprints`], and how many.
    sprints_at: u32,
    sprints_len: u32,
}

/// The portfolio's work items, one per key (a key added again replaces the item), in key
/// order once [`WorkItems::finish`]ed.
#[derive(Debug, Default, Clone)]
pub struct WorkItems {
    rows: Vec<Row>,
    /// The items' sprint ids, each item's side by side.
    sprints: Vec<u32>,
    /// Per key's number: its row.
    by_key: HashMap<u32, u32>,
    names: Names,
}

impl WorkItems {
    /// Take in one item.
    pub fn push(&mut self, w: WorkItem) {
        self.push_parts(Parts {
            key: &w.key,
            initiative: w.initiative_key.as_deref(),
            status_category: w.status_category.as_deref(),
            estimate: w.estimate,
            created: w.created.as_deref(),
            resolved: w.resolved.as_deref(),
            sprints: w.sprint_ids.iter().map(String::as_str),
        });
    }

    /// Take in one item as the store holds it: a work item's [`crate::model::Record`] as
    /// JSON, read only for what the portfolio keeps (as [`super::logged::TimeEntries::push_stored`]
    /// does). A text that is not a work item's record is an error, as it would be for the
    /// record.
    pub fn push_stored(&mut self, text: &str) -> Result<(), serde_json::Error> {
        let w: StoredWorkItem = stored_data(text, "work-item", "a work item")?;
        self.push_parts(Parts {
            key: &w.key.0,
            initiative: text_of(&w.initiative_key),
            status_category: text_of(&w.status_category),
            estimate: w.estimate,
            created: text_of(&w.created),
            resolved: text_of(&w.resolved),
            sprints: w.sprint_ids.iter().map(|s| &*s.0),
        });
        Ok(())
    }

    fn push_parts<'s>(&mut self, w: Parts<'s, impl Iterator<Item = &'s str>>) {
        let names = &mut self.names;
        let at = self.sprints.len();
        self.sprints.extend(w.sprints.map(|s| names.intern(s)));
        let row = Row {
            estimate: w.estimate,
            key: names.intern(w.key),
            initiative: names.intern_opt(w.initiative),
            status_category: names.intern_opt(w.status_category),
            created: names.intern_opt(w.created),
            resolved: names.intern_opt(w.resolved),
            sprints_at: u32::try_from(at).expect("fewer than 2^32 sprint ids in one portfolio"),
            sprints_len: u32::try_from(self.sprints.len() - at)
                .expect("fewer than 2^32 sprints of one work item"),
        };
        let next = u32::try_from(self.rows.len()).expect("fewer than 2^32 work items");
        match self.by_key.get(&row.key) {
            Some(i) => self.rows[*i as usize] = row,
            None => {
                self.by_key.insert(row.key, next);
                self.rows.push(row);
            }
        }
    }

    /// Put the items in key order and give back the room reserved for items not added.
    pub fn finish(&mut self) {
        let names = &self.names;
        self.rows
            .sort_unstable_by(|a, b| names.text(a.key).cmp(names.text(b.key)));
        for (i, row) in self.rows.iter().enumerate() {
            self.by_key.insert(row.key, i as u32);
        }
        self.rows.shrink_to_fit();
        self.sprints.shrink_to_fit();
        self.by_key.shrink_to_fit();
        self.names.shrink_to_fit();
    }

    fn view(&self, row: &Row) -> Item<'_> {
        let names = &self.names;
        Item {
            key: names.text(row.key),
            initiative_key: names.text_opt(row.initiative),
            status_category: names.text_opt(row.status_category),
            estimate: row.estimate,
            created: names.text_opt(row.created),
            resolved: names.text_opt(row.resolved),
            sprints: &self.sprints[row.sprints_at as usize..][..row.sprints_len as usize],
            names,
        }
    }

    /// The item `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<Item<'_>> {
        let id = self.names.id(key)?;
        let row = self.by_key.get(&id)?;
        Some(self.view(&self.rows[*row as usize]))
    }

    /// The initiative of the item `key`, if the item is known and names one.
    pub(crate) fn initiative_of(&self, key: &str) -> Option<&str> {
        let id = self.names.id(key)?;
        let row = &self.rows[*self.by_key.get(&id)? as usize];
        (row.initiative != NONE).then(|| self.names.text(row.initiative))
    }

    /// Every item, in key order once finished.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Item<'_>> + Clone + '_ {
        self.rows.iter().map(|r| self.view(r))
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The text of an optional string field.
fn text_of<'t>(t: &'t Option<Text<'_>>) -> Option<&'t str> {
    t.as_ref().map(|t| &*t.0)
}

/// What [`WorkItems::push_parts`] takes of an item.
struct Parts<'s, S> {
    key: &'s str,
    initiative: Option<&'s str>,
    status_category: Option<&'s str>,
    estimate: Option<f64>,
    created: Option<&'s str>,
    resolved: Option<&'s str>,
    sprints: S,
}

/// The fields a [`WorkItem`] must have are required here too, so that a text the full
/// record would be refused for is refused.
#[derive(serde::Deserialize)]
struct StoredWorkItem<'a> {
    #[serde(borrow)]
    key: Text<'a>,
    #[allow(dead_code)]
    kind: serde::de::IgnoredAny,
    #[allow(dead_code)]
    title: serde::de::IgnoredAny,
    #[allow(dead_code)]
    status: serde::de::IgnoredAny,
    #[serde(borrow, default)]
    status_category: Option<Text<'a>>,
    #[serde(borrow, default)]
    initiative_key: Option<Text<'a>>,
    #[serde(borrow)]
    sprint_ids: Vec<Text<'a>>,
    #[serde(default)]
    estimate: Option<f64>,
    #[serde(borrow, default)]
    created: Option<Text<'a>>,
    #[serde(borrow, default)]
    resolved: Option<Text<'a>>,
}

impl<'a> IntoIterator for &'a WorkItems {
    type Item = Item<'a>;
    type IntoIter = Box<dyn Iterator<Item = Item<'a>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, initiative: Option<&str>, category: Option<&str>) -> WorkItem {
        WorkItem {
            key: key.into(),
            kind: "story".into(),
            title: format!("Story {key}"),
            status: "Open".into(),
            status_category: category.map(Into::into),
            initiative_key: initiative.map(Into::into),
            parent_key: initiative.map(Into::into),
            assignee: Some("ann".into()),
            sprint_ids: vec!["s1".into(), "s2".into()],
            estimate: Some(3.0),
            created: Some("2026-01-08T11:07:00.000+02:00".into()),
            started: None,
            resolved: None,
        }
    }

    fn seen(
        i: Item<'_>,
    ) -> (
        String,
        Option<String>,
        Option<String>,
        Vec<String>,
        Option<f64>,
    ) {
        (
            i.key.into(),
            i.initiative_key.map(Into::into),
            i.status_category.map(Into::into),
            i.sprint_ids().map(Into::into).collect(),
            i.estimate,
        )
    }

    #[test]
    fn items_read_back_in_key_order_and_a_key_added_again_replaces_its_item() {
        let mut items = WorkItems::default();
        items.push(item("DEM-3", Some("DEM-1"), Some("done")));
        items.push(item("DEM-2", None, None));
        items.push(item("DEM-3", Some("DEM-9"), Some("todo")));
        items.finish();
        assert_eq!(items.len(), 2);
        let keys: Vec<&str> = items.iter().map(|i| i.key).collect();
        assert_eq!(keys, ["DEM-2", "DEM-3"]);
        let three = items.get("DEM-3").unwrap();
        assert_eq!(three.initiative_key, Some("DEM-9"));
        assert_eq!(three.status_category, Some("todo"));
        assert_eq!(three.created, Some("2026-01-08T11:07:00.000+02:00"));
        assert_eq!(three.resolved, None);
        assert_eq!(items.initiative_of("DEM-3"), Some("DEM-9"));
        assert_eq!(items.initiative_of("DEM-2"), None);
        assert_eq!(items.initiative_of("DEM-1"), None, "a key, not an item");
        assert!(items.get("DEM-4").is_none());
        assert_eq!(
            seen(items.get("DEM-2").unwrap()).3,
            ["s1", "s2"],
            "{items:?}"
        );
    }

    #[test]
    fn an_item_read_from_its_stored_record_is_the_item_added_from_the_record() {
        let mut unusual = item("DEM-\"7\"", Some("D\\EM-1 \u{e9}"), Some("done"));
        unusual.sprint_ids = vec![];
        unusual.estimate = None;
        unusual.resolved = Some("2026-02-01".into());
        let all = [item("DEM-5", Some("DEM-1"), Some("in-progress")), unusual];
        let (mut added, mut stored) = (WorkItems::default(), WorkItems::default());
        for (n, w) in all.into_iter().enumerate() {
            let record = crate::rules::test_support::record_with_id(
                format!("w{n}"),
                crate::model::Entity::WorkItem(w.clone()),
            );
            stored
                .push_stored(&serde_json::to_string(&record).unwrap())
                .unwrap();
            added.push(w);
        }
        let read = |items: &WorkItems| {
            items
                .iter()
                .map(|i| {
                    (
                        seen(i),
                        i.created.map(str::to_owned),
                        i.resolved.map(str::to_owned),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(read(&stored), read(&added));
        assert_eq!(
            stored.get("DEM-\"7\"").unwrap().initiative_key,
            Some("D\\EM-1 \u{e9}")
        );
    }

    #[test]
    fn a_stored_text_that_is_not_a_work_items_record_is_an_error() {
        let mut items = WorkItems::default();
        let record = crate::rules::test_support::record_with_id(
            "w1".into(),
            crate::model::Entity::WorkItem(item("DEM-5", Some("DEM-1"), None)),
        );
        let text = serde_json::to_string(&record).unwrap();
        let mislabelled = text.replace(r#""kind":"work-item""#, r#""kind":"sprint""#);
        let e = items.push_stored(&mislabelled).unwrap_err();
        assert!(e.to_string().contains("kind `sprint`"), "{e}");
        for broken in [
            text.replace(r#""title":"#, r#""name":"#),
            text.replace(r#""estimate":3.0"#, r#""estimate":"3""#),
            text.replace(r#""sprint_ids":["s1","s2"]"#, r#""sprint_ids":"s1""#),
            text[..text.len() - 3].to_string(),
        ] {
            assert!(items.push_stored(&broken).is_err(), "{broken}");
            assert!(
                serde_json::from_str::<crate::model::Record>(&broken).is_err(),
                "the full record is refused too: {broken}"
            );
        }
        assert!(items.is_empty(), "nothing added from a broken text");
    }

    #[test]
    fn an_item_is_48_bytes() {
        assert_eq!(std::mem::size_of::<Row>(), 48);
    }
}
