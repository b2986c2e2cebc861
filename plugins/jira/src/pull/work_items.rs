//! The work-items stream: every issue of the project that is neither an epic nor a risk, and
//! those of the team projects (`team-projects`) under the project's epics.

#[allow(unused_imports)]
use super::*;

/// The work-items stream: every issue of the project that is neither an epic nor a risk, and
/// those of the team projects (`team-projects`) under the project's epics (a sub-task under
/// its parent's).
pub fn work_items(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
    page_size: u32,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let checkpoint = checkpoint_for(settings, "work-items", (cursor, checkpoint))?;
    let updated = updated_clause(checkpoint)?;
    let projects = settings.work_projects_clause();
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
        Query::of_types(&projects, "not in", &excluded, &updated, fields)
    };
    let (cursor, mut issues, more) = read_pass(
        jira,
        settings,
        (cursor, checkpoint),
        &mut page,
        (&projects, &query),
        &[],
        page_size,
    )?;
    if checkpoint.is_some() {
        let sub_tasks = sub_tasks_of_moved(jira, &cursor, &issues, &query(&cursor).fields)?;
        issues.extend(sub_tasks);
    }
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
    let mut elsewhere = 0usize;
    for issue in &issues {
        let key = issue.key();
        let (initiative_key, parent_key) = match sub_task_parent(issue) {
            Some((id, key)) => (parents_epics.get(&id).cloned().flatten(), Some(key)),
            None => (
                epic_of_child(jira.deployment, &cursor.fields, issue),
                parent_key(jira.deployment, &cursor.fields, issue),
            ),
        };
        // A team project's issue is the portfolio's while it is under one of its epics; one
        // that is not (or no longer) is left out, and its record, if the store has one from
        // when it was, deleted (a full pass's sweep would remove it too).
        if !settings.is_portfolios(&key, initiative_key.as_deref()) {
            elsewhere += 1;
            page.deletions.push(Deletion {
                kind: EntityKind::WorkItem,
                external_id: issue.id.clone(),
            });
            continue;
        }
        let mut r = Reader::new(&cursor.fields, key.clone(), &issue.fields);
        let updated = r.system_timestamp("updated", "source_updated");
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
            created: r.system_timestamp("created", "created").map(rfc3339),
            started: None,
            resolved: r
                .system_timestamp("resolutiondate", "resolved")
                .map(rfc3339),
        };
        push_read(
            &mut page,
            issue,
            updated.as_deref(),
            r,
            Entity::WorkItem(item),
        );
    }
    if elsewhere > 0 {
        tollgate_plugin_api::log::info(
            "issues of team projects not under the portfolio's epics, left out",
            &[
                ("issues", &elsewhere.to_string()),
                ("team-projects", &settings.team_projects.join(",")),
            ],
        );
    }
    Ok(finish(page, cursor, more, checkpoint, settings))
}

/// On an incremental pass: the sub-tasks of the issues read that are under another epic than
/// the store holds them (moved since it read them), read again so that their records follow
/// (a sub-task's epic is its parent's, and moving the parent does not update the sub-task, so
/// the pass's search does not find it). One search for the page's moved parents, none when
/// nothing moved; sub-tasks the page has already are left out.
fn sub_tasks_of_moved(
    jira: &Jira,
    cursor: &IssueCursor,
    issues: &[Issue],
    fields: &[String],
) -> Result<Vec<Issue>, PluginError> {
    let parents: Vec<&Issue> = issues
        .iter()
        .filter(|i| sub_task_parent(i).is_none())
        .collect();
    let ids: Vec<String> = parents.iter().map(|i| i.id.clone()).collect();
    let stored = tollgate_plugin_api::stored(EntityKind::WorkItem, &ids);
    let moved: Vec<String> = parents
        .iter()
        .zip(stored)
        .filter_map(|(issue, stored)| {
            let now = epic_of_child(jira.deployment, &cursor.fields, issue);
            stored
                .filter(|s| s.initiative_key != now)
                .map(|_| issue.key())
        })
        .collect();
    if moved.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for chunk in moved.chunks(500) {
        let jql = format!("parent in ({}) ORDER BY key ASC", jql_list(chunk));
        found.extend(
            jira.search_all(&jql, fields)?
                .into_iter()
                .filter(|i| sub_task_parent(i).is_some())
                .filter(|i| !issues.iter().any(|read| read.id == i.id)),
        );
    }
    Ok(found)
}
