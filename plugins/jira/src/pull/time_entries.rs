//! The time-entries stream: worklogs, incrementally, the way Jira allows.

#[allow(unused_imports)]
use super::*;
use tollgate_plugin_api::http::{Request, send_all, with_query};

#[derive(Debug, Serialize, Deserialize)]
struct WorklogCursor {
    /// `updated` pages first, then `deleted` ones.
    deleted_phase: bool,
    since: i64,
    fields: FieldMap,
    /// Where the `updated` phase ended: the next run's `updated` watermark.
    updated_until: i64,
    /// Worklog ids the last `updated` page named, not read yet: read through `/worklog/list`
    /// beside the next `updated` page (one round trip for both), so the worklogs of a page are
    /// in the page after it. Absent in cursors written before it existed: nothing pending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pending: Vec<u64>,
    /// On an incremental pass, the first `/worklog/deleted` page is asked for beside the first
    /// `/worklog/updated` page: where the `deleted` pages go on from after it...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted_from: Option<i64>,
    /// ...or, when that page was the last, where they ended (no `deleted` phase is left).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleted_done: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct WorklogCheckpoint {
    updated_since: i64,
    deleted_since: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Changed {
    values: Vec<ChangedItem>,
    until: Option<i64>,
    last_page: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangedItem {
    worklog_id: u64,
    updated_time: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Worklog {
    id: String,
    issue_id: String,
    author: Option<Value>,
    started: String,
    time_spent_seconds: u64,
    updated: Option<String>,
    comment: Option<Value>,
}

/// The time-entries stream, incremental the way Jira allows: `/worklog/updated` since the
/// watermark (Jira leaves out the last minute, so the watermark is the `until` it answered,
/// never "now"), the worklogs themselves through `/worklog/list` (at most 1000 ids), then
/// `/worklog/deleted` for explicit deletions. The 20 worklogs a search embeds are never used.
///
/// The two chains overlap: the worklogs an `updated` page names are listed beside the next
/// `updated` page (`send-all`, one round trip for both), so a pass of N pages costs about N + 1
/// round trips instead of 2N. The last `updated` page's worklogs are listed at once.
pub fn time_entries(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let checkpoint = paging::decode::<WorklogCheckpoint>(checkpoint)?;
    // The first page of a pass also learns the site's fields (for issues the store does not
    // know), asked for beside it.
    let first = cursor.is_none();
    let mut cursor = match paging::decode::<WorklogCursor>(cursor)? {
        Some(c) => c,
        None => {
            let since = checkpoint.as_ref().map_or(0, |c| c.updated_since);
            WorklogCursor {
                deleted_phase: false,
                since,
                fields: FieldMap::default(),
                updated_until: since,
                pending: Vec::new(),
                deleted_from: None,
                deleted_done: false,
            }
        }
    };
    let what = if cursor.deleted_phase {
        "deleted"
    } else {
        "updated"
    };
    let pending = std::mem::take(&mut cursor.pending);
    let mut requests = vec![changed_request(jira, what, cursor.since)];
    // An incremental pass's first `deleted` page needs nothing from the `updated` ones.
    let deleted_since = checkpoint
        .as_ref()
        .filter(|_| first)
        .map(|cp| cp.deleted_since);
    if first {
        requests.push(FieldMap::request(jira));
    }
    if let Some(since) = deleted_since {
        requests.push(changed_request(jira, "deleted", since));
    }
    requests.extend(list_requests(jira, &pending)?);
    let mut answers = send_all(&requests).into_iter();
    let mut next_answer = || {
        answers.next().ok_or_else(|| {
            PluginError::Internal("send-all answered fewer requests than sent".into())
        })
    };
    let changed: Changed = next_answer()??.json()?;
    if first {
        cursor.fields = FieldMap::from_answer(next_answer()?, &settings.fields, &mut Vec::new())?;
    }
    if let Some(since) = deleted_since {
        let deleted: Changed = next_answer()??.json()?;
        let until = deleted.until.unwrap_or(since).max(since);
        page.diagnostics
            .extend(same_moment(&deleted, "deleted", since, until));
        page.deletions.extend(deletions(&deleted));
        cursor.deleted_from = Some(until);
        cursor.deleted_done = deleted.last_page || until <= since;
    }
    let mut worklogs: Vec<Worklog> = Vec::new();
    for answer in answers {
        worklogs.extend(answer?.json::<Vec<Worklog>>()?);
    }
    let until = changed.until.unwrap_or(cursor.since).max(cursor.since);
    page.diagnostics
        .extend(same_moment(&changed, what, cursor.since, until));
    let ids: Vec<u64> = changed.values.iter().map(|v| v.worklog_id).collect();
    let more = !changed.last_page && until > cursor.since;
    let mut listed_later = Vec::new();
    if cursor.deleted_phase {
        page.deletions.extend(deletions(&changed));
    } else if more {
        listed_later = ids;
    } else {
        // The last `updated` page: nothing to overlap its list with.
        for answer in send_all(&list_requests(jira, &ids)?) {
            worklogs.extend(answer?.json::<Vec<Worklog>>()?);
        }
    }
    page.records = entries(
        jira,
        settings,
        &cursor.fields,
        worklogs,
        &mut page.diagnostics,
    )?;
    let next = if more {
        Some(WorklogCursor {
            since: until,
            updated_until: if cursor.deleted_phase {
                cursor.updated_until
            } else {
                until
            },
            pending: listed_later,
            ..cursor
        })
    } else if !cursor.deleted_phase {
        let updated_until = until;
        // A full pass needs no deletions (the host sweeps what it did not see); the next
        // incremental pass asks for deletions since where this one stopped.
        match (&checkpoint, cursor.deleted_from) {
            // The `deleted` pages were read beside the first `updated` one.
            (Some(_), Some(deleted_until)) if cursor.deleted_done => {
                page.checkpoint = Some(paging::encode(&WorklogCheckpoint {
                    updated_since: updated_until,
                    deleted_since: deleted_until,
                }));
                None
            }
            (Some(cp), from) => Some(WorklogCursor {
                deleted_phase: true,
                since: from.unwrap_or(cp.deleted_since),
                updated_until,
                ..cursor
            }),
            (None, _) => {
                page.checkpoint = Some(paging::encode(&WorklogCheckpoint {
                    updated_since: updated_until,
                    deleted_since: updated_until,
                }));
                None
            }
        }
    } else {
        page.checkpoint = Some(paging::encode(&WorklogCheckpoint {
            updated_since: cursor.updated_until,
            deleted_since: until,
        }));
        None
    };
    page.next_cursor = next.map(|c| paging::encode(&c));
    Ok(page)
}

/// The request for a page of `/worklog/updated` or `/worklog/deleted` since a moment.
fn changed_request(jira: &Jira, what: &str, since: i64) -> Request {
    jira.client().get_request(&with_query(
        &format!("{}/worklog/{what}", jira.api()),
        &[("since", &since.to_string())],
    ))
}

/// The deletions a `/worklog/deleted` page names.
fn deletions(changed: &Changed) -> impl Iterator<Item = Deletion> + '_ {
    changed.values.iter().map(|v| Deletion {
        kind: EntityKind::TimeEntry,
        external_id: v.worklog_id.to_string(),
    })
}

/// Jira pages by moment: the next page starts after `until`. A page that is not the last and
/// holds nothing but worklogs of that one millisecond means more of them may exist than a page
/// holds; those past the page cannot be read through this API. Said, not skipped in silence.
fn same_moment(changed: &Changed, what: &str, since: i64, until: i64) -> Option<Diagnostic> {
    let stuck = !changed.last_page
        && !changed.values.is_empty()
        && changed
            .values
            .iter()
            .all(|v| v.updated_time.is_none_or(|t| t == until));
    stuck.then(|| Diagnostic {
        severity: tollgate_plugin_api::Severity::Error,
        code: "worklogs-same-moment".into(),
        message: format!(
            "Jira's /worklog/{what} answered a full page of {} worklogs all saved at the same millisecond ({until}); any more saved at that moment cannot be paged through and are missing from this sync",
            changed.values.len()
        ),
        location: Some(format!("worklog/{what}?since={since}")),
    })
}

/// `/worklog/list` requests for these worklog ids, 1000 a request (Jira's limit). Reads sent
/// as POSTs: marked so the host may repeat them.
fn list_requests(jira: &Jira, ids: &[u64]) -> Result<Vec<Request>, PluginError> {
    let path = format!("{}/worklog/list", jira.api());
    ids.chunks(1000)
        .map(|chunk| jira.client().query_request(&path, &json!({ "ids": chunk })))
        .collect()
}

/// The time entries of these worklogs, each with its issue's key and its epic's; a worklog
/// whose issue or author cannot be named is left out with a warning.
fn entries(
    jira: &Jira,
    settings: &Settings,
    fields: &FieldMap,
    worklogs: Vec<Worklog>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Vec<DmoRecord>, PluginError> {
    if worklogs.is_empty() {
        return Ok(Vec::new());
    }
    let issues = issues_of(jira, fields, &worklogs)?;
    let mut records = Vec::with_capacity(worklogs.len());
    for w in worklogs {
        let Some((key, epic, is_epic)) = issues.get(&w.issue_id) else {
            diagnostics.push(Diagnostic {
                severity: tollgate_plugin_api::Severity::Warning,
                code: "worklog-without-issue".into(),
                message: format!(
                    "worklog {} is on issue {}, which the search did not return",
                    w.id, w.issue_id
                ),
                location: Some(format!("worklog:{}", w.id)),
            });
            continue;
        };
        let Some(person) = w.author.as_ref().and_then(|a| person_of(settings, a)) else {
            diagnostics.push(Diagnostic {
                severity: tollgate_plugin_api::Severity::Warning,
                code: "worklog-without-author".into(),
                message: format!(
                    "worklog {} on {key} names no author with an account id or user name; it is not imported",
                    w.id
                ),
                location: Some(format!("worklog:{}", w.id)),
            });
            continue;
        };
        let entry = TimeEntry {
            person,
            work_item_key: (!is_epic).then(|| key.clone()),
            initiative_key: epic.clone(),
            date: w.started.get(..10).unwrap_or_default().to_string(),
            started: Some(rfc3339(&w.started)),
            seconds: w.time_spent_seconds,
            description: w
                .comment
                .as_ref()
                .map(comment_text)
                .filter(|t| !t.is_empty()),
        };
        let mut r = record(w.id.clone(), Entity::TimeEntry(entry));
        r.source_updated = w.updated.as_deref().map(rfc3339);
        records.push(r);
    }
    Ok(records)
}

/// An issue's key, its epic's key, and whether it is an epic itself.
type IssueRef = (String, Option<String>, bool);

/// Key, epic key and whether it is an epic, for the issues of these worklogs: from what the
/// store holds (the initiatives and work-items streams stored every issue in scope, under its
/// id, earlier in the run), and for issues the store does not know (a worklog on an issue
/// outside the project, or a run without a store) from one batched search.
fn issues_of(
    jira: &Jira,
    fields: &FieldMap,
    worklogs: &[Worklog],
) -> Result<BTreeMap<String, IssueRef>, PluginError> {
    let mut ids: Vec<String> = worklogs.iter().map(|w| w.issue_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = BTreeMap::new();
    let stories = tollgate_plugin_api::stored(EntityKind::WorkItem, &ids);
    let epics = tollgate_plugin_api::stored(EntityKind::Initiative, &ids);
    let mut unknown = Vec::new();
    for ((id, story), epic) in ids.into_iter().zip(stories).zip(epics) {
        match (epic, story) {
            (Some(epic), _) => {
                out.insert(id, (epic.key.clone(), Some(epic.key), true));
            }
            (None, Some(story)) => {
                out.insert(id, (story.key, story.initiative_key, false));
            }
            (None, None) => unknown.push(id),
        }
    }
    if !unknown.is_empty() {
        let unknown: Vec<&str> = unknown.iter().map(String::as_str).collect();
        out.extend(issues_by_id(jira, fields, &unknown)?);
    }
    Ok(out)
}

fn issues_by_id(
    jira: &Jira,
    fields: &FieldMap,
    ids: &[&str],
) -> Result<BTreeMap<String, IssueRef>, PluginError> {
    let mut out = BTreeMap::new();
    let mut wanted = vec!["issuetype".to_string(), "parent".to_string()];
    wanted.extend(fields.ids_of(&["epic-link"]));
    for chunk in ids.chunks(500) {
        let jql = format!("id in ({}) ORDER BY key ASC", jql_list(chunk));
        for issue in jira.search_all(&jql, &wanted)? {
            let level = issue
                .field("issuetype")
                .and_then(|t| t.get("hierarchyLevel"))
                .and_then(Value::as_i64);
            let is_epic = level == Some(1);
            let epic = if is_epic {
                Some(issue.key())
            } else {
                match jira.deployment {
                    Deployment::Cloud if parent_is_epic(&issue) => {
                        parent_key(jira.deployment, fields, &issue)
                    }
                    Deployment::Cloud => None,
                    Deployment::DataCenter => parent_key(jira.deployment, fields, &issue),
                }
            };
            out.insert(issue.id.clone(), (issue.key(), epic, is_epic));
        }
    }
    Ok(out)
}
