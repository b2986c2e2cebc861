//! Delivery progress of an initiative: its work items by status, and a burn-up over the
//! sprints its work items were planned in.

use crate::calendar::day_number;
use crate::rules::Portfolio;

/// Work items of one status category: how many, and their estimates added up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Count {
    /// Work items.
    pub items: usize,
    /// Their estimates added up (story points, effort or hours, as the tracker keeps them).
    pub estimate: f64,
}

/// One point of a burn-up: at the end of a sprint, the scope known then and the part done.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnUpPoint {
    /// The sprint's name.
    pub sprint: String,
    /// The sprint's end (YYYY-MM-DD).
    pub end: String,
    /// Work items created by then.
    pub scope: usize,
    /// Work items resolved (done) by then.
    pub done: usize,
}

/// An initiative's delivery progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    /// Work items to do.
    pub to_do: Count,
    /// Work items in progress.
    pub in_progress: Count,
    /// Work items done.
    pub done: Count,
    /// Work items whose status category is unknown.
    pub unknown: Count,
    /// The burn-up, one point per sprint the work items were in, by sprint end.
    pub burn_up: Vec<BurnUpPoint>,
}

impl Delivery {
    /// All work items.
    pub fn total(&self) -> usize {
        self.to_do.items + self.in_progress.items + self.done.items + self.unknown.items
    }
}

/// The delivery progress of the initiative `key`: its work items (those that name it as
/// their initiative) by status category, and, per sprint they were in (ordered by the
/// sprint's end, sprints without an end left out), how many of them existed by the sprint's
/// end (scope) and how many were resolved by then (done).
pub fn delivery(p: &Portfolio, key: &str) -> Delivery {
    let items: Vec<crate::rules::portfolio::Item> = p
        .work_items
        .iter()
        .filter(|w| w.initiative_key == Some(key))
        .collect();
    let mut out = Delivery::default();
    for w in &items {
        let slot = match w.status_category {
            Some("todo") => &mut out.to_do,
            Some("in-progress") => &mut out.in_progress,
            Some("done") => &mut out.done,
            _ => &mut out.unknown,
        };
        slot.items += 1;
        slot.estimate += w.estimate.filter(|e| e.is_finite()).unwrap_or(0.0);
    }
    let mut sprints: Vec<(i64, &crate::model::Sprint)> = items
        .iter()
        .flat_map(|w| w.sprint_ids())
        .collect::<std::collections::BTreeSet<&str>>()
        .into_iter()
        .filter_map(|id| p.sprints.get(id))
        .filter_map(|s| Some((s.end.as_deref().and_then(day_number)?, s)))
        .collect();
    sprints.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let by = |date: Option<&str>, end: i64| date.and_then(day_number).is_some_and(|d| d <= end);
    out.burn_up = sprints
        .into_iter()
        .map(|(end, s)| BurnUpPoint {
            sprint: s.name.clone(),
            end: crate::calendar::date_of(end),
            // An item without a creation date counts in the scope from the start.
            scope: items
                .iter()
                .filter(|w| w.created.is_none() || by(w.created, end))
                .count(),
            done: items
                .iter()
                .filter(|w| w.status_category == Some("done") && by(w.resolved, end))
                .count(),
        })
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::rules::test_support::record_with_id;

    fn item(
        key: &str,
        status: &str,
        sprint: &str,
        created: &str,
        resolved: Option<&str>,
    ) -> Entity {
        Entity::WorkItem(WorkItem {
            status: status.into(),
            status_category: Some(status.into()),
            sprint_ids: vec![sprint.into()],
            estimate: Some(3.0),
            created: Some(created.into()),
            resolved: resolved.map(String::from),
            ..crate::rules::test_support::bare_work_item(key, "BIZ-1")
        })
    }

    fn sprint(id: &str, end: &str) -> Entity {
        Entity::Sprint(Sprint {
            id: id.into(),
            name: format!("Sprint {id}"),
            state: "closed".into(),
            team: None,
            start: None,
            end: Some(end.into()),
            completed: None,
            goal: None,
        })
    }

    #[test]
    fn progress_counts_by_status_and_burns_up_by_sprint() {
        let records = [
            item("A-1", "done", "1", "2026-01-02", Some("2026-01-10")),
            item("A-2", "done", "2", "2026-01-02", Some("2026-01-20")),
            item("A-3", "in-progress", "2", "2026-01-16", None),
            item("A-4", "todo", "2", "2026-01-25", None),
            sprint("1", "2026-01-14"),
            sprint("2", "2026-01-28"),
        ]
        .into_iter()
        .enumerate()
        .map(|(n, e)| record_with_id(n.to_string(), e));
        let p = Portfolio::new(records, Vec::new());
        let d = delivery(&p, "BIZ-1");
        assert_eq!((d.done.items, d.done.estimate), (2, 6.0));
        assert_eq!((d.in_progress.items, d.to_do.items, d.total()), (1, 1, 4));
        let points: Vec<(&str, usize, usize)> = d
            .burn_up
            .iter()
            .map(|b| (b.sprint.as_str(), b.scope, b.done))
            .collect();
        assert_eq!(points, [("Sprint 1", 2, 1), ("Sprint 2", 4, 2)]);
        assert_eq!(delivery(&p, "BIZ-2"), Delivery::default());
    }
}
