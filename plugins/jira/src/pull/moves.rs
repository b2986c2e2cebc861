//! Issues moved to another epic: their worklogs, read again.
//!
//! A time entry names its issue's epic as the store held it when the worklog was read. An
//! incremental pass reads the worklogs saved since the last one, so a story moved to another
//! epic (its worklogs untouched) would keep its hours on the old epic until a full sync. The
//! time-entries stream therefore searches for the issues updated since the last pass began,
//! with their changelogs ([`MovesSearch`]: a page with each call's requests, the first beside
//! the pass's first requests), and keeps those the changelog moved since: to another epic
//! (Cloud's `IssueParentAssociation`, the Epic Link on Data Center and older Cloud sites), to
//! another type (an epic's worklogs are its own), or to another key (another project). Its last
//! call reads their worklogs again (`/issue/{id}/worklog`) and writes them with the epic the issue
//! has now, as a search tells it, not the store ([`entries_of_moved`]): the work-items stream,
//! pulled beside it, may have read the issue before it moved, and the pass's pages may have
//! taken that epic. A moved issue's sub-tasks (their epic is its) have their worklogs read
//! again with it. JQL cannot ask for moved issues (`CHANGED` does not cover the parent).

use super::time_entries::{Worklog, entries_on, issues_by_id};
#[allow(unused_imports)]
use super::*;
use tollgate_plugin_api::http::{Request, status_of, with_query};

/// The search for the project's issues updated since the minute of `since` (the newest
/// `updated` in the project as the last pass began, as Jira wrote it), newest first, with
/// their changelogs: a page of it goes out with each call's requests (the first beside the
/// pass's first requests), the pages left when the pass's other requests are done one after
/// another in its last call.
pub(super) struct MovesSearch {
    jql: String,
    /// Moves count after this moment (Unix ms): `since` itself.
    after: i64,
    since: String,
}

/// What the search found: the issues moved (ids) and the newest `updated` among the issues
/// (the next pass's mark; `None` when none was updated since).
pub(super) struct Found {
    pub moved: Vec<u64>,
    pub newest: Option<String>,
}

impl MovesSearch {
    pub fn new(settings: &Settings, since: &str) -> Result<MovesSearch, PluginError> {
        let minute = checkpoint_minute(since)?;
        Ok(MovesSearch {
            jql: format!(
                "{} AND updated >= \"{minute}\" ORDER BY updated DESC, key ASC",
                settings.work_projects_clause()
            ),
            // JQL reads from the minute's start; the changelog's moves count after `since`
            // itself. One at `since` was made before the last pass's first call read it, and
            // that pass looked for it: counting it again would read the issue's worklogs on
            // every pass until something else in the project changes.
            after: rfc_key(since),
            since: since.to_string(),
        })
    }

    /// The request for the page at `at`.
    pub fn request(&self, jira: &Jira, at: &SearchPosition) -> Result<Request, PluginError> {
        jira.search_request(&self.jql, &["updated".to_string()], &["changelog"], at, 100)
    }

    /// What a page found (the first's `newest` is the next pass's mark: newest first), and
    /// where the next page starts, if there is one.
    pub fn page(
        &self,
        jira: &Jira,
        settings: &Settings,
        answer: Result<Response, PluginError>,
    ) -> Result<(Found, Option<SearchPosition>), PluginError> {
        let page = crate::api::search_page(jira.deployment, &answer?)?;
        let newest = newest_updated(&page.issues);
        let mut moved = Vec::new();
        self.take(settings, &page.issues, &mut moved)?;
        Ok((Found { moved, newest }, page.next))
    }

    /// The moved issues of the pages from `at` to the last, one after another (Cloud chains
    /// them by token): for a pass's last call, when its other requests are done.
    pub fn rest(
        &self,
        jira: &Jira,
        settings: &Settings,
        mut at: SearchPosition,
    ) -> Result<Vec<u64>, PluginError> {
        let mut moved = Vec::new();
        loop {
            let answer = jira.send(self.request(jira, &at)?);
            let (found, next) = self.page(jira, settings, answer)?;
            moved.extend(found.moved);
            match next {
                Some(next) => at = next,
                None => return Ok(moved),
            }
        }
    }

    /// The ids of the issues of a page that moved.
    fn take(
        &self,
        settings: &Settings,
        issues: &[Issue],
        moved: &mut Vec<u64>,
    ) -> Result<(), PluginError> {
        for issue in issues {
            if moves(settings, issue, self.after)? {
                moved.push(issue.id.parse::<u64>().map_err(|_| {
                    PluginError::Transient(format!(
                        "the search for issues moved since {} answered an issue id `{}`, not a number",
                        self.since, issue.id
                    ))
                })?);
            }
        }
        Ok(())
    }
}

/// The time entries of these moved issues (ids): all their worklogs, read again, with the
/// epic a search says each issue has now.
pub(super) fn entries_of_moved(
    jira: &Jira,
    settings: &Settings,
    fields: &mut FieldMap,
    mut moved: Vec<u64>,
    diagnostics: &mut Vec<Diagnostic>,
    deletions: &mut Vec<Deletion>,
) -> Result<Vec<DmoRecord>, PluginError> {
    if moved.is_empty() {
        return Ok(Vec::new());
    }
    // An issue changed while the search paged may be on two pages.
    moved.sort_unstable();
    moved.dedup();
    if fields.ids.is_empty() {
        *fields = FieldMap::resolve(jira, &settings.fields, &mut Vec::new())?;
    }
    let mut ids: Vec<String> = moved.iter().map(u64::to_string).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut issues = issues_by_id(jira, fields, &refs)?;
    // A moved issue's sub-tasks move with it (their epic is its): their worklogs too, with
    // the epic the search just gave their parent.
    let keys: Vec<&str> = issues
        .values()
        .filter(|(_, _, is_epic)| !is_epic)
        .map(|(key, _, _)| key.as_str())
        .collect();
    let mut sub_tasks = Vec::new();
    for chunk in keys.chunks(500) {
        let jql = format!("parent in ({}) ORDER BY key ASC", jql_list(chunk));
        let wanted = ["issuetype".to_string(), "parent".to_string()];
        sub_tasks.extend(jira.search_all(&jql, &wanted)?.into_iter().filter_map(|i| {
            sub_task_parent(&i).map(|(parent, _)| (i.id.clone(), i.key(), parent))
        }));
    }
    for (id, key, parent) in sub_tasks {
        let epic = issues.get(&parent).and_then(|(_, epic, _)| epic.clone());
        if !issues.contains_key(&id) {
            issues.insert(id.clone(), (key, epic, false));
            ids.push(id);
        }
    }
    let worklogs = worklogs_of(jira, &ids)?;
    Ok(entries_on(
        &issues,
        settings,
        worklogs,
        diagnostics,
        deletions,
    ))
}

/// Whether the changelog of `issue` moved it after `after` (Unix ms): a change of its
/// parent or Epic Link, its type, its key or its project. A changelog embedded only in part
/// (Cloud embeds the newest entries) that does not reach back to `after` may hide one: read
/// as a move, which costs a read of the issue's worklogs, never a missed one.
fn moves(settings: &Settings, issue: &Issue, after: i64) -> Result<bool, PluginError> {
    let (entries, whole) = history::embedded(issue)?;
    let recent = |e: &history::Entry| rfc_key(&e.created) > after;
    if entries
        .iter()
        .filter(|e| recent(e))
        .any(|e| e.items.iter().any(|i| is_move(settings, i)))
    {
        return Ok(true);
    }
    Ok(!whole && entries.iter().all(recent))
}

/// Whether a changelog item moves an issue as its time entries see it.
fn is_move(settings: &Settings, item: &history::Item) -> bool {
    const MOVES: &[&str] = &[
        "IssueParentAssociation",
        "Parent",
        "Epic Link",
        "issuetype",
        "Key",
        "project",
    ];
    let epic_link = settings.fields.get("epic-link").map(String::as_str);
    MOVES.iter().any(|m| m.eq_ignore_ascii_case(&item.field))
        || epic_link.is_some_and(|e| !e.is_empty() && e.eq_ignore_ascii_case(&item.field))
        || item.field_id.as_deref().is_some_and(|id| {
            ["parent", "issuetype", "project"].contains(&id)
                || epic_link.is_some_and(|e| !e.is_empty() && e == id)
        })
}

/// A page of `/issue/{id}/worklog`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueWorklogs {
    start_at: u64,
    total: u64,
    worklogs: Vec<Worklog>,
}

/// Every worklog of these issues (by id), through `/issue/{id}/worklog`: the first pages side
/// by side, the rest of an issue with more than a page one after another.
fn worklogs_of(jira: &Jira, ids: &[String]) -> Result<Vec<Worklog>, PluginError> {
    let request = |id: &str, start: u64| {
        jira.client().get_request(&with_query(
            &format!("{}/issue/{id}/worklog", jira.api()),
            &[("startAt", &start.to_string()), ("maxResults", "5000")],
        ))
    };
    let mut out = Vec::new();
    for chunk in ids.chunks(MAX_REQUESTS_PER_BATCH) {
        let requests: Vec<_> = chunk.iter().map(|id| request(id, 0)).collect();
        for (id, answer) in chunk.iter().zip(send_all(&requests)) {
            let mut page: IssueWorklogs = match answer {
                // Deleted (or moved out of the account's sight) since the search found it:
                // nothing of it to write; its worklogs' deletions come as deletions.
                Err(e) if status_of(&e) == Some(404) => continue,
                answer => answer?.json()?,
            };
            loop {
                let read = page.start_at + page.worklogs.len() as u64;
                let empty = page.worklogs.is_empty();
                out.append(&mut page.worklogs);
                if read >= page.total {
                    break;
                }
                if empty {
                    return Err(PluginError::Transient(format!(
                        "the worklogs of issue {id}: a page at {read} of {} came empty",
                        page.total
                    )));
                }
                page = jira.send(request(id, read))?.json()?;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(histories: Value, total: usize) -> Issue {
        serde_json::from_value(json!({
            "id": "10001", "key": "BIZ-5", "fields": {},
            "changelog": {"startAt": 0, "maxResults": 20, "total": total, "histories": histories},
        }))
        .unwrap()
    }

    fn entry(id: u32, created: &str, field: &str, field_id: Option<&str>) -> Value {
        let mut item =
            json!({"field": field, "fieldtype": "jira", "fromString": "a", "toString": "b"});
        if let Some(f) = field_id {
            item["fieldId"] = json!(f);
        }
        json!({"id": id.to_string(), "created": created, "items": [item]})
    }

    #[test]
    fn a_move_is_a_change_of_epic_type_key_or_project_after_the_last_pass_began() {
        let settings: Settings = serde_json::from_value(json!({"project": "BIZ"})).unwrap();
        let since = "2026-11-27T10:30:15.500+0200";
        let after = rfc_key(since);
        let at = |created: &str, field: &str, id: Option<&str>| {
            let i = issue(json!([entry(1, created, field, id)]), 1);
            moves(&settings, &i, after).unwrap()
        };
        let later = "2026-11-27T08:31:00.000+0000"; // a minute later, in another offset
        for (field, id) in [
            ("IssueParentAssociation", None),
            ("Parent", Some("parent")),
            ("Epic Link", None),
            ("epic link", Some("customfield_10014")),
            ("issuetype", Some("issuetype")),
            ("Key", None),
            ("project", Some("project")),
        ] {
            assert!(at(later, field, id), "{field}");
        }
        // Other fields do not move an issue; a move at the mark or before it was the last
        // pass's to see.
        assert!(!at(later, "summary", Some("summary")));
        assert!(!at(later, "status", Some("status")));
        assert!(!at(since, "IssueParentAssociation", None));
        assert!(!at("2026-11-27T10:29:00.000+0200", "Epic Link", None));
        assert!(at("2026-11-27T10:30:15.501+0200", "Epic Link", None));

        // An epic link renamed in the settings is known by its name and its id.
        let renamed: Settings = serde_json::from_value(
            json!({"project": "BIZ", "fields": {"epic-link": "Initiative Link"}}),
        )
        .unwrap();
        let i = issue(json!([entry(1, later, "Initiative Link", None)]), 1);
        assert!(moves(&renamed, &i, after).unwrap());
        assert!(!moves(&settings, &i, after).unwrap());

        // A changelog embedded in part: if the entries it holds all fall after the mark, older
        // ones may too, and one of them may be a move; if it reaches back past the mark, what
        // it holds is the whole window.
        let partial = |oldest: &str| {
            issue(
                json!([
                    entry(3, later, "summary", None),
                    entry(2, oldest, "summary", None)
                ]),
                30,
            )
        };
        assert!(moves(&settings, &partial(later), after).unwrap());
        assert!(!moves(&settings, &partial("2026-11-01T10:00:00.000+0200"), after).unwrap());

        // A changelog of the wrong shape is an error, not "no move".
        let bad: Issue = serde_json::from_value(
            json!({"id": "1", "key": "BIZ-1", "fields": {}, "changelog": {"total": 1}}),
        )
        .unwrap();
        assert!(moves(&settings, &bad, after).is_err());
    }
}
