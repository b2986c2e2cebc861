//! The work-items stream: every issue of the project that is neither an epic nor a risk.

#[allow(unused_imports)]
use super::*;

/// The work-items stream: every issue of the project that is neither an epic nor a risk.
pub fn work_items(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
    page_size: u32,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let updated = updated_clause(checkpoint)?;
    let query = |cursor: &IssueCursor| {
        let mut excluded = cursor.epic_types.clone();
        excluded.extend(cursor.risk_types.iter().cloned());
        let mut fields: Vec<String> = [
            "summary",
            "status",
            "issuetype",
            "parent",
            "assignee",
            "created",
            "updated",
            "resolutiondate",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        fields.extend(
            cursor
                .fields
                .ids_of(&["story-points", "sprint", "epic-link"]),
        );
        Query::of_types(settings, "not in", &excluded, &updated, fields)
    };
    let (cursor, issues, more) = read_pass(
        jira,
        settings,
        (cursor, checkpoint),
        &mut page,
        &query,
        &[],
        page_size,
    )?;
    // A sub-task's epic is its parent's, which the sub-task does not name.
    let parents: Vec<String> = issues
        .iter()
        .filter_map(sub_task_parent)
        .map(|(id, _)| id)
        .collect();
    let parents_epics = if parents.is_empty() {
        BTreeMap::new()
    } else {
        epics_of_parents(jira, &cursor.fields, &issues, &parents)?
    };
    for issue in &issues {
        let key = issue.key();
        let mut r = Reader::new(&cursor.fields, key.clone(), &issue.fields);
        let updated = r.system_timestamp("updated", "source_updated");
        let parent = parent_key(jira.deployment, &cursor.fields, issue);
        let (initiative_key, parent_key) = match (sub_task_parent(issue), jira.deployment) {
            (Some((id, key)), _) => (parents_epics.get(&id).cloned().flatten(), Some(key)),
            (None, Deployment::Cloud) if parent_is_epic(issue) => (parent.clone(), parent),
            (None, Deployment::Cloud) => (None, parent),
            (None, Deployment::DataCenter) => (parent.clone(), parent),
        };
        let item = WorkItem {
            key: key.clone(),
            kind: r
                .system_name("issuetype", "kind")
                .map(|n| vocabulary(&n))
                .unwrap_or_default(),
            title: r.system_text("summary", "title").unwrap_or_default(),
            status: r.system_name("status", "status").unwrap_or_default(),
            status_category: issue
                .field("status")
                .and_then(|s| s.pointer("/statusCategory/key"))
                .and_then(Value::as_str)
                .map(status_category),
            initiative_key,
            parent_key,
            assignee: issue.field("assignee").and_then(|a| person_of(settings, a)),
            sprint_ids: r.sprint_ids("sprint"),
            estimate: r.number("story-points"),
            created: r
                .system_timestamp("created", "created")
                .map(|c| rfc3339(&c)),
            started: None,
            resolved: r
                .system_timestamp("resolutiondate", "resolved")
                .map(|c| rfc3339(&c)),
        };
        push_read(
            &mut page,
            issue,
            updated.as_deref(),
            r,
            Entity::WorkItem(item),
        );
    }
    Ok(finish(page, cursor, more, checkpoint))
}
