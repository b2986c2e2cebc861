//! The four streams: initiatives (epics, with their risks and the gate decision on record),
//! work items (their children), sprints (of the project's scrum boards) and time entries
//! (worklogs, incrementally).

pub(crate) mod history;
mod initiatives;
mod moves;
mod sprints;
mod time_entries;
mod work_items;

pub use initiatives::initiatives;
pub use sprints::sprints;
pub use time_entries::time_entries;
pub use work_items::work_items;

use crate::api::{
    BULK_FETCH_SIZE, DcPage, Issue, Jira, SearchPosition, bulk_issues, id_page, jql_list,
    jql_minute, merge_dc_pages, rfc3339,
};
use crate::fields::{FieldMap, Reader, vocabulary};
use crate::rich_text::CommentText;
use crate::{Deployment, Settings};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_plugin_api::http::{MAX_REQUESTS_PER_BATCH, Response, send_all};
use tollgate_plugin_api::{
    Deletion, Dependency, Diagnostic, DmoRecord, Entity, EntityKind, GateDecision, Initiative, Kpi,
    Page, PluginError, Risk, Sprint, TimeEntry, WorkItem, paging, record,
};

/// What every page of an issue stream carries forward.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct IssueCursor {
    at: SearchPosition,
    fields: FieldMap,
    epic_types: Vec<String>,
    risk_types: Vec<String>,
    /// The pass's watermark, as Jira wrote it, the next pass's checkpoint: the newest
    /// `updated` in the project as a full pass began ([`watermark_request`]), or on an
    /// incremental pass's first page ([`first_page_watermark`]). (Cursors written before
    /// 2026-12-05 hold the newest `updated` the pass had read so far, kept as it is.)
    newest: Option<String>,
    /// Cloud, streams read through ids: the ids of the last id page not fetched yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ids: Vec<String>,
    /// Cloud, streams read through ids: the id pages are all read (`at` is spent).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    ids_done: bool,
}

/// Checkpoint of the issue streams: the watermark of the last completed pass, and what
/// that pass learnt of the site (absent in checkpoints written before it was kept).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct IssueCheckpoint {
    updated: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site: Option<SiteShape>,
    /// The JQL clause of the projects the pass read work items and risks from
    /// ([`Settings::work_projects_clause`]); absent in checkpoints written before
    /// `team-projects` (the portfolio's project alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    projects: Option<String>,
}

/// The checkpoint a pass of `stream` starts from, given the projects it reads work items and
/// risks from now: the last pass's, or none (a full pass) when that pass read other projects
/// (`team-projects` changed since). An incremental pass reads only what changed, so the issues
/// of a project just added, under the portfolio's epics for months, would otherwise wait for
/// the next `sync --full`. (What a project taken out left in the store is swept by that.)
pub(super) fn checkpoint_for<'a>(
    settings: &Settings,
    stream: &str,
    (cursor, checkpoint): (Option<&str>, Option<&'a str>),
) -> Result<Option<&'a str>, PluginError> {
    let Some(cp) = paging::decode::<IssueCheckpoint>(checkpoint)? else {
        return Ok(None);
    };
    let before = cp.projects.unwrap_or_else(|| settings.project_clause());
    let now = settings.work_projects_clause();
    if before == now {
        return Ok(checkpoint);
    }
    // Said once a pass, on its first page (the host hands every page the same checkpoint).
    if cursor.is_none() {
        tollgate_plugin_api::log::info(
            "the projects read changed since the last pass (team-projects): this pass reads the stream whole; run `tollgate sync --full` to remove what a project taken out left",
            &[("stream", stream), ("before", &before), ("now", &now)],
        );
    }
    Ok(None)
}

/// What an issue stream learns of the site before its first search (`/field`, `/issuetype`):
/// the ids of the configured fields and of the epic and risk issue types. The next pass
/// searches with it at once and checks it against the site in the same round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SiteShape {
    fields: FieldMap,
    epic_types: Vec<String>,
    risk_types: Vec<String>,
}

impl IssueCursor {
    /// The start of a pass on a site of this shape.
    fn at_start(site: SiteShape) -> Self {
        IssueCursor {
            at: SearchPosition::default(),
            fields: site.fields,
            epic_types: site.epic_types,
            risk_types: site.risk_types,
            newest: None,
            ids: Vec::new(),
            ids_done: false,
        }
    }

    fn site(&self) -> SiteShape {
        SiteShape {
            fields: self.fields.clone(),
            epic_types: self.epic_types.clone(),
            risk_types: self.risk_types.clone(),
        }
    }
}

/// A search of an issue stream, made from what is known of the site.
pub(super) struct Query {
    pub jql: String,
    pub fields: Vec<String>,
}

impl Query {
    /// The issues of `projects` (a JQL clause: [`Settings::work_projects_clause`], or the
    /// portfolio's project alone) whose type is (`in`) or is not (`not in`) one of `types`: a
    /// full pass's in key order; an incremental pass's (with its `updated` clause) newest first, so
    /// that its first page tells the pass's watermark ([`first_page_watermark`]). An issue
    /// changed while such a pass pages moves to the front: a page may then hold an issue the
    /// last one held (written twice, which changes nothing), never skip one.
    pub fn of_types(
        projects: &str,
        op: &str,
        types: &[String],
        updated: &str,
        fields: Vec<String>,
    ) -> Query {
        Query {
            jql: format!(
                "{projects} AND issuetype {op} ({}){updated} ORDER BY {}",
                jql_list(types),
                if updated.is_empty() {
                    "key ASC"
                } else {
                    "updated DESC, key ASC"
                }
            ),
            fields,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IssueType {
    id: String,
    name: String,
    #[serde(default)]
    hierarchy_level: Option<i32>,
}

/// The requests for the site's fields and issue types, sent together (read by [`site_shape`]).
fn site_requests(jira: &Jira) -> [tollgate_plugin_api::http::Request; 2] {
    [
        FieldMap::request(jira),
        jira.client()
            .get_request(&format!("{}/issuetype", jira.api())),
    ]
}

/// The site's shape from its answers to [`site_requests`]; a configured field the site lacks
/// is a diagnostic.
fn site_shape(
    fields: Result<Response, PluginError>,
    types: Result<Response, PluginError>,
    settings: &Settings,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<SiteShape, PluginError> {
    let fields = FieldMap::from_answer(fields, &settings.fields, diagnostics)?;
    let types: Vec<IssueType> = types?.json()?;
    // Epics by their level in the hierarchy, not by the name "Epic", which sites rename.
    let mut epic_types: Vec<String> = types
        .iter()
        .filter(|t| t.hierarchy_level == Some(1))
        .map(|t| t.id.clone())
        .collect();
    if epic_types.is_empty() {
        // Servers that do not report levels: the configured names.
        epic_types = types
            .iter()
            .filter(|t| {
                settings
                    .epic_issue_types
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&t.name))
            })
            .map(|t| t.id.clone())
            .collect();
    }
    if epic_types.is_empty() {
        return Err(PluginError::Config(format!(
            "no issue type on this site is at the epic level (hierarchy level 1) or named {}; set epic-issue-types",
            settings.epic_issue_types.join(" or ")
        )));
    }
    let risk_types = types
        .iter()
        .filter(|t| t.name.eq_ignore_ascii_case(&settings.risk_issue_type))
        .map(|t| t.id.clone())
        .collect();
    Ok(SiteShape {
        fields,
        epic_types,
        risk_types,
    })
}

/// The answers of a `send-all` of `N` requests, as many as were sent or an error.
pub(super) fn answers<const N: usize>(
    answers: Vec<Result<Response, PluginError>>,
) -> Result<[Result<Response, PluginError>; N], PluginError> {
    <[_; N]>::try_from(answers).map_err(|a| {
        PluginError::Internal(format!(
            "the host answered {} requests where {N} were sent",
            a.len()
        ))
    })
}

/// The next issues of a stream's pass, with the cursor moved past them; `false` once the pass
/// is read to its end. A full pass reads the issues by id, in bulk (see [`next_issues`]); an
/// incremental one reads the few changed ones from the search itself. `projects` is the JQL
/// clause of the projects the stream's `query` searches (its full pass's watermark is theirs).
///
/// The first page of a pass learns the site's shape (fields and issue types, their
/// diagnostics on the page). An incremental pass whose checkpoint keeps the last pass's shape
/// sends its first search beside those two requests, made with the shape it remembers: one
/// round trip where there were two. If the site's shape changed since (a field renamed, an
/// issue type added), that search is dropped and made again with the shape the site has now.
pub(super) fn read_pass(
    jira: &Jira,
    settings: &Settings,
    (cursor, checkpoint): (Option<&str>, Option<&str>),
    page: &mut Page,
    (projects, query): (&str, &dyn Fn(&IssueCursor) -> Query),
    expand: &[&str],
    page_size: u32,
) -> Result<(IssueCursor, Vec<Issue>, bool), PluginError> {
    let by_ids = checkpoint.is_none();
    let mut cursor = match paging::decode::<IssueCursor>(cursor)? {
        Some(cursor) => cursor,
        None => {
            let remembered = paging::decode::<IssueCheckpoint>(checkpoint)?.and_then(|cp| cp.site);
            let [fields, types] = site_requests(jira);
            match remembered {
                Some(site) if !by_ids => {
                    let guess = IssueCursor::at_start(site.clone());
                    let q = query(&guess);
                    let size = page_size.clamp(1, 100);
                    let search = jira.search_request(&q.jql, &q.fields, expand, &guess.at, size)?;
                    let [fields, types, search] = answers(send_all(&[fields, types, search]))?;
                    let now = site_shape(fields, types, settings, &mut page.diagnostics)?;
                    if now == site {
                        let mut cursor = guess;
                        let result = crate::api::search_page(jira.deployment, &search?)?;
                        let (issues, more) = took(&mut cursor, result);
                        return Ok((cursor, issues, more));
                    }
                    IssueCursor::at_start(now)
                }
                // A full pass: its watermark read beside the site's shape, before any issue.
                _ if by_ids => {
                    let watermark = watermark_request(jira, projects)?;
                    let [fields, types, watermark] =
                        answers(send_all(&[fields, types, watermark]))?;
                    let site = site_shape(fields, types, settings, &mut page.diagnostics)?;
                    IssueCursor {
                        newest: watermark_of(jira, watermark, &mut page.diagnostics)?,
                        ..IssueCursor::at_start(site)
                    }
                }
                _ => {
                    let [fields, types] = answers(send_all(&[fields, types]))?;
                    IssueCursor::at_start(site_shape(
                        fields,
                        types,
                        settings,
                        &mut page.diagnostics,
                    )?)
                }
            }
        }
    };
    let q = query(&cursor);
    let (issues, more) = next_issues(
        jira,
        &q.jql,
        &q.fields,
        expand,
        &mut cursor,
        page_size,
        by_ids,
    )?;
    Ok((cursor, issues, more))
}

/// A page of the search taken into the cursor: the pass's watermark from it if it is the
/// first, the cursor moved past it and told. Its issues, and whether more are left.
fn took(cursor: &mut IssueCursor, page: crate::api::SearchPage) -> (Vec<Issue>, bool) {
    first_page_watermark(cursor, &page.issues);
    let more = page.next.is_some();
    cursor.at = page.next.unwrap_or_default();
    tell(cursor, more);
    (page.issues, more)
}

/// Tells the host the cursor this call's page will return (`paging.next-cursor`), once its
/// answers are in and before its issues become records, so that the next page's requests go
/// out while this call builds them. The cursor no longer changes after this: the pass's
/// watermark was read as it began, not gathered from the issues.
fn tell(cursor: &IssueCursor, more: bool) {
    if more {
        paging::tell_next_cursor(&paging::encode(cursor));
    }
}

/// The request for a full pass's watermark: the issue of `projects` (a JQL clause) changed
/// last, its `updated` alone. It goes out with the pass's first requests, before any of its issues is read, so an
/// issue changed after being read in this pass is newer than the watermark and the next pass
/// reads it again. (Keeping the newest `updated` among the issues read, as the plugin did
/// before, lost such a change when an issue read later in key order was changed later still.)
/// An incremental pass needs no such request: it searches newest first, so its first page
/// holds its watermark ([`first_page_watermark`]).
pub(super) fn watermark_request(
    jira: &Jira,
    projects: &str,
) -> Result<tollgate_plugin_api::http::Request, PluginError> {
    let jql = format!("{projects} ORDER BY updated DESC");
    jira.search_request(
        &jql,
        &["updated".to_string()],
        &[],
        &SearchPosition::default(),
        1,
    )
}

/// The watermark of a pass that has none yet from its first page, read in one instant before
/// any other: the greatest `updated` on it (an incremental pass searches newest first, so the
/// first issue's). A change made after the page was read is newer than that.
fn first_page_watermark(cursor: &mut IssueCursor, issues: &[Issue]) {
    if cursor.newest.is_none() {
        cursor.newest = newest_updated(issues);
    }
}

/// The greatest `updated` among these issues, as Jira wrote it (those that are not a Jira
/// timestamp left out): a search's watermark, read from its first page when it searches
/// newest first.
pub(super) fn newest_updated(issues: &[Issue]) -> Option<String> {
    issues
        .iter()
        .filter_map(|i| i.field("updated").and_then(Value::as_str))
        .filter(|ts| jql_minute(ts).is_some())
        .max_by_key(|ts| rfc_key(ts))
        .map(str::to_string)
}

/// The watermark from the answer to [`watermark_request`]: none for a project without issues.
/// An `updated` that is not a Jira timestamp is type drift, as in a record: reported, and no
/// watermark taken, so the pass keeps the last checkpoint (its next pass reads from there, which
/// reads more, never less).
pub(super) fn watermark_of(
    jira: &Jira,
    answer: Result<Response, PluginError>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<String>, PluginError> {
    let answer = answer?;
    let page = crate::api::search_page(jira.deployment, &answer)?;
    let Some(issue) = page.issues.first() else {
        return Ok(None);
    };
    let map = FieldMap::default();
    let mut r = Reader::new(&map, issue.key(), &issue.fields);
    let updated = r
        .system_timestamp("updated", "source_updated")
        .filter(|ts| jql_minute(ts).is_some());
    diagnostics.append(&mut r.diagnostics);
    Ok(updated)
}

/// Comparable form of a Jira timestamp (UTC, to the millisecond).
pub(super) fn rfc_key(ts: &str) -> i64 {
    // yyyy-MM-ddTHH:mm:ss.SSS+hhmm
    let n = |a: usize, b: usize| {
        ts.get(a..b)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let (y, mo, d, h, mi, s, ms) = (
        n(0, 4),
        n(5, 7),
        n(8, 10),
        n(11, 13),
        n(14, 16),
        n(17, 19),
        n(20, 23),
    );
    let off = ts.len().checked_sub(5).map_or(0, |i| {
        let sign = if ts.as_bytes()[i] == b'-' { -1 } else { 1 };
        sign * (n(i + 1, i + 3) * 60 + n(i + 3, i + 5))
    });
    let days = {
        let (y, m) = if mo <= 2 {
            (y - 1, mo + 9)
        } else {
            (y, mo - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5 + d - 1;
        era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy
    };
    ((days * 1440 + h * 60 + mi - off) * 60 + s) * 1000 + ms
}

pub(super) fn updated_clause(checkpoint: Option<&str>) -> Result<String, PluginError> {
    let Some(cp) = paging::decode::<IssueCheckpoint>(checkpoint)? else {
        return Ok(String::new());
    };
    Ok(format!(
        " AND updated >= \"{}\"",
        checkpoint_minute(&cp.updated)?
    ))
}

/// The JQL minute of a watermark a checkpoint keeps ([`jql_minute`]); one that is not a Jira
/// timestamp is an error that says how to recover.
pub(super) fn checkpoint_minute(watermark: &str) -> Result<String, PluginError> {
    jql_minute(watermark).ok_or_else(|| {
        PluginError::Internal(format!(
            "checkpoint `{watermark}` is not a Jira timestamp; run a full sync"
        ))
    })
}

/// The next issues of a stream's search, the cursor moved past them; `false` once the search
/// is read to its end.
///
/// Data Center: the first page of the search alone (`page_size` issues, at most 100), which
/// tells the hits and the page size the server uses; then the pages after it, whose offsets
/// are known, up to 15 side by side ([`merge_dc_pages`]). Cloud with `by_ids` false (an
/// incremental pass, whose changes are typically a page or two: one round trip each, where
/// ids then issues would be two): a page of the search itself, one after another. Cloud with `by_ids`: the ids
/// first (`fields=id`, as many a page as a call fetches, chained by token), then the issues
/// themselves through
/// `POST /issue/bulkfetch`, 100 a request, up to 15 requests side by side a page, as
/// Atlassian advises for throughput: the search's own pages of 100 issues can only be read one
/// after another, the bulk fetches of known ids need not wait for each other. The next id page
/// is asked for beside the bulk fetches that use up the last ids of a page.
pub(super) fn next_issues(
    jira: &Jira,
    jql: &str,
    fields: &[String],
    expand: &[&str],
    cursor: &mut IssueCursor,
    page_size: u32,
    by_ids: bool,
) -> Result<(Vec<Issue>, bool), PluginError> {
    if jira.deployment == Deployment::DataCenter
        && let (Some(total), Some(stride)) = (cursor.at.total, cursor.at.stride)
    {
        // The pages after the first, whose offsets are known: up to 15 side by side.
        let first = cursor.at.start_at;
        let mut starts: Vec<u64> = (0..MAX_REQUESTS_PER_BATCH as u64 - 1)
            .map(|i| first.saturating_add(i.saturating_mul(stride)))
            .take_while(|&start| start < total)
            .collect();
        if starts.is_empty() {
            starts.push(first);
        }
        let requests = starts
            .iter()
            .map(|&start_at| {
                let at = SearchPosition {
                    start_at,
                    ..SearchPosition::default()
                };
                let size = u32::try_from(stride).unwrap_or(100).clamp(1, 100);
                jira.search_request(jql, fields, expand, &at, size)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut pages = Vec::with_capacity(requests.len());
        for answer in send_all(&requests) {
            pages.push(answer?.json::<DcPage>()?);
        }
        let result = merge_dc_pages(&starts, stride, total, pages)?;
        return Ok(took(cursor, result));
    }
    if jira.deployment == Deployment::DataCenter || !by_ids {
        let result =
            jira.search_expanded(jql, fields, expand, &cursor.at, page_size.clamp(1, 100))?;
        return Ok(took(cursor, result));
    }
    // A page's ids are what one call fetches, so the cursor carries at most a page of them
    // (well within its 64 KiB).
    let per_request = (page_size as usize).clamp(1, BULK_FETCH_SIZE);
    let per_call = per_request * (MAX_REQUESTS_PER_BATCH - 1);
    if cursor.ids.is_empty() && !cursor.ids_done {
        // The first id page of the pass (or of a cursor written before ids were read).
        let answer = jira.send(jira.id_search_request(jql, &cursor.at, per_call)?)?;
        let (ids, next) = id_page(&answer)?;
        cursor.ids = ids;
        cursor.ids_done = next.is_none();
        cursor.at = next.unwrap_or_default();
    }
    let take = cursor.ids.len().min(per_call);
    let batch: Vec<String> = cursor.ids.drain(..take).collect();
    let mut requests = batch
        .chunks(per_request)
        .map(|chunk| jira.bulk_fetch_request(chunk, fields, expand))
        .collect::<Result<Vec<_>, _>>()?;
    // The next id page first: it is the chain (the next call waits for its cursor), so it
    // goes out in the first round of the batch, not in the last one, alone at its tail.
    let next_ids = cursor.ids.is_empty() && !cursor.ids_done;
    if next_ids {
        requests.insert(0, jira.id_search_request(jql, &cursor.at, per_call)?);
    }
    if requests.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut answers = send_all(&requests);
    if answers.len() != requests.len() {
        return Err(PluginError::Internal(format!(
            "the host answered {} requests where {} were sent",
            answers.len(),
            requests.len()
        )));
    }
    if next_ids {
        let (ids, next) = id_page(&answers.remove(0)?)?;
        cursor.ids = ids;
        cursor.ids_done = next.is_none();
        cursor.at = next.unwrap_or_default();
    }
    // The cursor is known before the issues are parsed: told now, the next call's requests go
    // out while this call parses and builds its records.
    let more = !cursor.ids.is_empty() || !cursor.ids_done;
    tell(cursor, more);
    let mut issues = Vec::with_capacity(batch.len());
    for answer in answers {
        issues.extend(bulk_issues(&answer?)?);
    }
    Ok((issues, more))
}

/// The page with where its stream goes on: the cursor while `more` is left of the pass, else
/// the checkpoint for the next pass.
pub(super) fn finish(
    mut page: Page,
    cursor: IssueCursor,
    more: bool,
    checkpoint: Option<&str>,
    settings: &Settings,
) -> Page {
    if more {
        page.next_cursor = Some(paging::encode(&cursor));
    } else {
        // Keep the pass's watermark (a project without issues keeps the old one), and
        // the site's shape for the next pass.
        let site = Some(cursor.site());
        let updated = cursor.newest.or_else(|| {
            paging::decode::<IssueCheckpoint>(checkpoint)
                .ok()
                .flatten()
                .map(|cp| cp.updated)
        });
        page.checkpoint = match updated {
            Some(updated) => Some(paging::encode(&IssueCheckpoint {
                updated,
                site,
                projects: Some(settings.work_projects_clause()),
            })),
            None => checkpoint.map(str::to_string),
        };
    }
    page
}

pub(super) fn with_extra(
    mut r: DmoRecord,
    issue: &Issue,
    updated: Option<&str>,
    extra: serde_json::Map<String, Value>,
) -> DmoRecord {
    r.url = issue.browse_url();
    r.source_updated = updated.map(|u| rfc3339(u.to_string()));
    if !extra.is_empty() {
        r.extra = Value::Object(extra).to_string();
    }
    r
}

/// Add the record read from `issue`, with what the reader kept in `extra` and noticed.
pub(super) fn push_read(
    page: &mut Page,
    issue: &Issue,
    updated: Option<&str>,
    mut r: Reader<'_>,
    entity: Entity,
) {
    let extra = r.take_extra();
    page.diagnostics.append(&mut r.diagnostics);
    page.records.push(with_extra(
        record(issue.id.clone(), entity),
        issue,
        updated,
        extra,
    ));
}

pub(super) fn status_category(key: &str) -> String {
    match key {
        "new" => "todo",
        "indeterminate" => "in-progress",
        "done" => "done",
        other => other,
    }
    .to_string()
}

/// The JQL field that links a child to its epic: `parent` on Cloud, Epic Link on Data Center.
pub(super) fn parent_clause(deployment: Deployment, fields: &FieldMap) -> Option<String> {
    match deployment {
        Deployment::Cloud => Some("parent".to_string()),
        Deployment::DataCenter => fields
            .id("epic-link")
            .map(|id| format!("cf[{}]", id.trim_start_matches("customfield_"))),
    }
}

/// The epic key of a child issue.
pub(super) fn parent_key(
    deployment: Deployment,
    fields: &FieldMap,
    issue: &Issue,
) -> Option<String> {
    match deployment {
        Deployment::Cloud => issue
            .field("parent")
            .and_then(|p| p.get("key"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Deployment::DataCenter => fields.id("epic-link").and_then(|id| issue.str_field(id)),
    }
}

/// The epic a story, task or bug is under: Cloud's `parent` when it is an epic, Data Center's
/// Epic Link. (Not for a sub-task, whose epic is its parent's: [`epics_of_parents`].)
pub(super) fn epic_of_child(
    deployment: Deployment,
    fields: &FieldMap,
    issue: &Issue,
) -> Option<String> {
    match deployment {
        Deployment::Cloud if !parent_is_epic(issue) => None,
        _ => parent_key(deployment, fields, issue),
    }
}

/// A sub-task's parent (a story, task or bug): its id and key; none for another issue. A
/// sub-task's type says so (`subtask`, or hierarchy level -1) on Cloud and Data Center alike,
/// and its `parent` names the parent on both.
pub(super) fn sub_task_parent(issue: &Issue) -> Option<(String, String)> {
    let kind = issue.field("issuetype")?;
    let sub_task = kind.get("subtask").and_then(Value::as_bool) == Some(true)
        || kind.get("hierarchyLevel").and_then(Value::as_i64) == Some(-1);
    if !sub_task {
        return None;
    }
    let parent = issue.field("parent")?;
    let id = match parent.get("id")? {
        Value::String(id) => id.clone(),
        Value::Number(id) => id.to_string(),
        _ => return None,
    };
    let key = parent.get("key").and_then(Value::as_str)?;
    Some((id, key.to_string()))
}

/// The epics of sub-tasks' parents, by the parent's id (none where the parent is under no
/// epic): a sub-task names its parent, not its epic. From the parents among `read` (issues
/// of the same answer, their epics as [`parent_key`] reads them), then from what the store
/// holds (the work-items stream stores the parents), then from one search for the rest.
pub(super) fn epics_of_parents(
    jira: &Jira,
    fields: &FieldMap,
    read: &[Issue],
    parents: &[String],
) -> Result<BTreeMap<String, Option<String>>, PluginError> {
    let mut out = BTreeMap::new();
    for issue in read.iter().filter(|i| parents.contains(&i.id)) {
        out.insert(
            issue.id.clone(),
            epic_of_child(jira.deployment, fields, issue),
        );
    }
    let mut unknown: Vec<String> = parents
        .iter()
        .filter(|p| !out.contains_key(*p))
        .cloned()
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if unknown.is_empty() {
        return Ok(out);
    }
    let stored = tollgate_plugin_api::stored(EntityKind::WorkItem, &unknown);
    let mut asked = Vec::new();
    for (id, stored) in unknown.iter().zip(stored) {
        match stored {
            Some(s) => {
                out.insert(id.clone(), s.initiative_key);
            }
            None => asked.push(id.as_str()),
        }
    }
    if !asked.is_empty() {
        for (id, (_, epic, _)) in time_entries::issues_by_id_resolving(jira, fields, &asked, false)?
        {
            out.insert(id, epic);
        }
    }
    Ok(out)
}

/// Whether a Cloud parent is an epic (level 1) rather than, for a sub-task, a story.
pub(super) fn parent_is_epic(issue: &Issue) -> bool {
    issue
        .field("parent")
        .and_then(|p| p.pointer("/fields/issuetype/hierarchyLevel"))
        .and_then(Value::as_i64)
        .is_none_or(|l| l == 1)
}

/// The person id of a Jira user: the account id (Cloud) or user name (Data Center), through
/// the `people` aliases of the settings.
pub fn person_of(settings: &Settings, user: &Value) -> Option<String> {
    let id = user
        .get("accountId")
        .or_else(|| user.get("name"))
        .and_then(Value::as_str)?;
    Some(person_named(settings, id))
}

/// The person a user id names: as the settings' `people` map it, or the id itself.
pub fn person_named(settings: &Settings, id: &str) -> String {
    settings
        .people
        .get(id)
        .cloned()
        .unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_task_names_its_parent_on_either_face_and_a_story_is_none() {
        let issue = |fields: Value| -> Issue {
            serde_json::from_value(json!({"id": "10400", "key": "BIZ-400", "fields": fields}))
                .unwrap()
        };
        let parent =
            json!({"id": "10038", "key": "BIZ-38", "fields": {"issuetype": {"hierarchyLevel": 0}}});
        let cloud =
            issue(json!({"issuetype": {"subtask": true, "hierarchyLevel": -1}, "parent": parent}));
        assert_eq!(
            sub_task_parent(&cloud),
            Some(("10038".to_string(), "BIZ-38".to_string()))
        );
        // A Data Center server without hierarchy levels; an id given as a number.
        let dc = issue(
            json!({"issuetype": {"subtask": true}, "parent": {"id": 10038, "key": "BIZ-38"}}),
        );
        assert_eq!(
            sub_task_parent(&dc),
            Some(("10038".to_string(), "BIZ-38".to_string()))
        );
        // A story under an epic, a sub-task without a parent, one of an odd shape: none.
        for fields in [
            json!({"issuetype": {"subtask": false, "hierarchyLevel": 0}, "parent": {"id": "10001", "key": "BIZ-1"}}),
            json!({"issuetype": {"subtask": true}}),
            json!({"issuetype": {"subtask": true}, "parent": {"id": ["x"], "key": "BIZ-38"}}),
            json!({"issuetype": "Sub-task", "parent": parent}),
        ] {
            assert_eq!(sub_task_parent(&issue(fields.clone())), None, "{fields}");
        }
    }

    #[test]
    fn a_checkpoint_is_kept_while_the_projects_read_are_the_same_and_dropped_when_they_change() {
        let settings = |v: Value| crate::Settings::read(&v.to_string()).unwrap();
        let alone = settings(json!({"project": "BIZ"}));
        let teams = settings(json!({"project": "BIZ", "team-projects": ["OPS"]}));
        let written = |projects: Option<&str>| {
            paging::encode(&IssueCheckpoint {
                updated: "2026-11-27T10:30:00.000+0000".into(),
                site: None,
                projects: projects.map(str::to_string),
            })
        };
        // Written before team-projects existed: the project alone.
        let old = written(None);
        let ours = written(Some("project = BIZ"));
        let with_ops = written(Some("project in (BIZ, OPS)"));
        let kept = |s: &crate::Settings, cp: &str, cursor: Option<&str>| {
            checkpoint_for(s, "work-items", (cursor, Some(cp))).unwrap() == Some(cp)
        };
        assert!(kept(&alone, &old, None));
        assert!(kept(&alone, &ours, None));
        assert!(kept(&teams, &with_ops, None));
        // Changed either way: the pass (every page of it) reads the stream whole.
        for cursor in [None, Some("later-page")] {
            assert!(!kept(&teams, &old, cursor));
            assert!(!kept(&teams, &ours, cursor));
            assert!(!kept(&alone, &with_ops, cursor));
        }
        assert_eq!(
            checkpoint_for(&teams, "work-items", (None, None)).unwrap(),
            None
        );
        // What the pass writes names the projects it read.
        let cursor = IssueCursor {
            newest: Some("2026-11-28T08:00:00.000+0000".into()),
            ..IssueCursor::at_start(SiteShape {
                fields: FieldMap::default(),
                epic_types: vec!["10000".into()],
                risk_types: Vec::new(),
            })
        };
        let page = finish(Page::default(), cursor, false, None, &teams);
        let written: IssueCheckpoint = paging::decode(page.checkpoint.as_deref()).unwrap().unwrap();
        assert_eq!(written.projects.as_deref(), Some("project in (BIZ, OPS)"));
    }

    #[test]
    fn timestamps_compare_across_offsets() {
        assert!(rfc_key("2026-11-27T10:30:00.000+0200") < rfc_key("2026-11-27T09:31:00.000+0100"));
        assert_eq!(
            rfc_key("2026-11-27T10:30:00.000+0200"),
            rfc_key("2026-11-27T08:30:00.000+0000")
        );
    }
}
