//! Look-ups the read endpoints need, built once per version of the site's data, so a page
//! costs work in proportion to the page and not to the site (#20): issues by key and id,
//! issues by their parent's key (so a search naming parents evaluates their children only),
//! worklogs by id and by issue, worklogs in the order `/worklog/updated` pages them, and the
//! hits of recent searches, so paging through one query evaluates it once.
//!
//! The sandbox builds it when it starts and after `/_sandbox/change` (so that a benchmark's
//! first request after a change measures the client, not this build); otherwise it is built
//! on first use. The index is dropped whenever the data may change: by [`crate::JiraWrite`]
//! (the only way to the data for writing) on every mutable access and when it is released,
//! and by [`Dataset::forget_index`]. Look-ups of one issue are checked against the data
//! besides, so a stale index can never name the wrong issue.

use super::data::{Dataset, Flavour};
use std::sync::{Arc, Mutex, OnceLock};

/// The index's maps hash with foldhash (seeded at random per process): a sync looks a
/// thousand worklogs up by id for each page of `/worklog/list`, and SipHash was a measurable
/// part of that. Their keys are the site's own, never a client's.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// How many searches keep their hits, the least recently used forgotten first. A full sync
/// pages through its work items' search while it asks a search for each hundred epics' risks
/// (16 between two pages at 10,000 epics): with eight, kept first in first out, the work items'
/// search of the whole site was evaluated again for every call of the plugin. At most 32
/// lists of positions: 28 MB at 110,000 issues, when each is the whole site.
const REMEMBERED_SEARCHES: usize = 32;

/// The index of one version of a dataset.
#[derive(Debug, Default)]
pub struct Index {
    issue_by_key: HashMap<String, usize>,
    /// Keys issues had before a move to another project (Jira keeps them: an old link still
    /// finds the issue), each to where the issue is now.
    issue_by_old_key: HashMap<String, usize>,
    issue_by_id: HashMap<u64, usize>,
    worklog_by_id: HashMap<u64, usize>,
    /// Positions of each issue's worklogs, by (created, id).
    worklogs_of: HashMap<u64, Vec<usize>>,
    /// Positions of the issues with a parent, by the parent's key in upper case (as a JQL
    /// `parent` clause compares it), in the site's order.
    children_of: HashMap<String, Vec<usize>>,
    /// (updated, id) of every worklog, ascending.
    pub(super) updated: Vec<(i64, u64)>,
    /// (deleted at, id) of every deleted worklog, ascending.
    pub(super) deleted: Vec<(i64, u64)>,
    /// Recent searches: (flavour, minute of the clock, JQL) and the positions of their hits
    /// in order; the newest last.
    searches: Mutex<Vec<(SearchKey, Arc<Vec<usize>>)>>,
}

type SearchKey = (Flavour, i64, String);

impl Index {
    fn build(data: &Dataset) -> Index {
        let mut ix = Index {
            issue_by_key: HashMap::with_capacity_and_hasher(data.issues.len(), Default::default()),
            issue_by_id: HashMap::with_capacity_and_hasher(data.issues.len(), Default::default()),
            worklog_by_id: HashMap::with_capacity_and_hasher(
                data.worklogs.len(),
                Default::default(),
            ),
            ..Index::default()
        };
        for (at, issue) in data.issues.iter().enumerate() {
            ix.issue_by_key.insert(issue.key.clone(), at);
            ix.issue_by_id.insert(issue.id, at);
            for old in issue.old_keys() {
                ix.issue_by_old_key.insert(old.clone(), at);
            }
            if let Some(parent) = &issue.parent {
                let parent = parent.to_ascii_uppercase();
                ix.children_of.entry(parent).or_default().push(at);
            }
        }
        ix.updated.reserve(data.worklogs.len());
        for (at, w) in data.worklogs.iter().enumerate() {
            ix.worklog_by_id.insert(w.id, at);
            ix.worklogs_of.entry(w.issue_id).or_default().push(at);
            ix.updated.push((w.updated, w.id));
        }
        for logs in ix.worklogs_of.values_mut() {
            logs.sort_by_key(|&at| (data.worklogs[at].created, data.worklogs[at].id));
        }
        ix.updated.sort_unstable();
        ix.deleted = data
            .deleted_worklogs
            .iter()
            .map(|&(id, at)| (at, id))
            .collect();
        ix.deleted.sort_unstable();
        ix
    }

    /// Position of the issue with this key or numeric id, if the index knows it.
    pub(super) fn issue(&self, key_or_id: &str) -> Option<usize> {
        self.issue_by_key.get(key_or_id).copied().or_else(|| {
            key_or_id
                .parse::<u64>()
                .ok()
                .and_then(|id| self.issue_by_id.get(&id).copied())
        })
    }

    /// Position of the issue that had this key before it moved to another project.
    pub(super) fn issue_by_old_key(&self, key: &str) -> Option<usize> {
        self.issue_by_old_key.get(key).copied()
    }

    /// Positions of the issues whose parent has this key (in upper case), in the site's order.
    pub(super) fn children_of(&self, parent: &str) -> &[usize] {
        self.children_of.get(parent).map_or(&[], Vec::as_slice)
    }

    /// Position of the worklog with this id.
    pub(super) fn worklog(&self, id: u64) -> Option<usize> {
        self.worklog_by_id.get(&id).copied()
    }

    /// Positions of an issue's worklogs, by (created, id).
    pub(super) fn worklogs_of(&self, issue_id: u64) -> &[usize] {
        self.worklogs_of
            .get(&issue_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The hits of a search, from memory when the same query was run at the same minute of
    /// the clock (relative dates such as `-30d` resolve to the minute), else computed by
    /// `run` and remembered ([`REMEMBERED_SEARCHES`]).
    pub(super) fn search(
        &self,
        flavour: Flavour,
        now_ms: i64,
        jql: &str,
        run: impl FnOnce() -> Result<Vec<usize>, String>,
    ) -> Result<Arc<Vec<usize>>, String> {
        let key: SearchKey = (flavour, now_ms.div_euclid(60_000), jql.to_string());
        {
            let mut recent = self.searches.lock().unwrap();
            if let Some(at) = recent.iter().position(|(k, _)| *k == key) {
                // The most recently used last.
                let found = recent.remove(at);
                let hits = found.1.clone();
                recent.push(found);
                return Ok(hits);
            }
        }
        let hits = Arc::new(run()?);
        let mut recent = self.searches.lock().unwrap();
        if recent.len() >= REMEMBERED_SEARCHES {
            recent.remove(0);
        }
        recent.push((key, hits.clone()));
        Ok(hits)
    }
}

/// The slot a dataset keeps its index in: empty when cloned, so a copy of the data builds its
/// own.
#[derive(Default)]
pub struct IndexSlot(OnceLock<Arc<Index>>);

impl IndexSlot {
    pub(super) fn get(&self, data: &Dataset) -> Arc<Index> {
        self.0.get_or_init(|| Arc::new(Index::build(data))).clone()
    }

    pub(super) fn is_built(&self) -> bool {
        self.0.get().is_some()
    }
}

impl Clone for IndexSlot {
    fn clone(&self) -> Self {
        IndexSlot::default()
    }
}

impl std::fmt::Debug for IndexSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_built() {
            "IndexSlot(built)"
        } else {
            "IndexSlot(empty)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A search paged through while many others run keeps its hits; one not used since the
    /// last [`REMEMBERED_SEARCHES`] others is evaluated again.
    #[test]
    fn a_search_in_use_is_remembered_and_one_long_unused_is_forgotten() {
        let data = Dataset::demo();
        let index = Index::build(&data);
        let runs = std::cell::Cell::new(0);
        let search = |jql: &str| {
            index
                .search(Flavour::Cloud, 0, jql, || {
                    runs.set(runs.get() + 1);
                    Ok(vec![jql.len()])
                })
                .unwrap()
        };
        assert_eq!(*search("project = BIZ"), vec![13]);
        for n in 0..3 * REMEMBERED_SEARCHES {
            search(&format!("key = BIZ-{n}"));
            assert_eq!(*search("project = BIZ"), vec![13], "after {n} others");
        }
        assert_eq!(
            runs.get(),
            1 + 3 * REMEMBERED_SEARCHES,
            "the paged search ran once"
        );
        for n in 0..REMEMBERED_SEARCHES {
            search(&format!("key = OPS-{n}"));
        }
        search("project = BIZ");
        assert_eq!(
            runs.get(),
            2 + 4 * REMEMBERED_SEARCHES,
            "forgotten, so run again"
        );
        // The same query at another minute of the clock is another search.
        index
            .search(Flavour::Cloud, 60_000, "project = BIZ", || Ok(vec![]))
            .unwrap();
        assert!(
            index
                .search(Flavour::Cloud, 60_000, "project = BIZ", || panic!(
                    "remembered"
                ))
                .unwrap()
                .is_empty()
        );
    }
}
