//! The four streams: initiatives (epics, with their risks and the gate decision on record),
//! work items (their children), sprints (of the project's scrum boards) and time entries
//! (worklogs, incrementally).

use crate::api::{Issue, Jira, SearchPosition, jql_list, jql_minute, rfc3339};
use crate::fields::{FieldMap, Reader, vocabulary};
use crate::{Deployment, Settings};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_plugin_api::{
    Deletion, Diagnostic, DmoRecord, Entity, EntityKind, GateDecision, Initiative, Kpi, Page,
    PluginError, Risk, Sprint, TimeEntry, WorkItem, paging, record,
};

/// What every page of an issue stream carries forward.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IssueCursor {
    at: SearchPosition,
    fields: FieldMap,
    epic_types: Vec<String>,
    risk_types: Vec<String>,
    /// The newest `updated` seen so far in this pass, as Jira wrote it.
    newest: Option<String>,
}

/// Checkpoint of the issue streams: the newest `updated` of the last completed pass.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IssueCheckpoint {
    updated: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueType {
    id: String,
    name: String,
    #[serde(default)]
    hierarchy_level: Option<i32>,
}

fn start_issue_cursor(
    jira: &Jira,
    settings: &Settings,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<IssueCursor, PluginError> {
    let fields = FieldMap::resolve(jira, &settings.fields, diagnostics)?;
    let types: Vec<IssueType> = jira.get(&format!("{}/issuetype", jira.api()))?;
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
    Ok(IssueCursor {
        at: SearchPosition::default(),
        fields,
        epic_types,
        risk_types,
        newest: None,
    })
}

/// The cursor of this pass: decoded, or on the first page made by resolving fields and
/// issue types (their diagnostics go on the page).
fn open_cursor(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
    page: &mut Page,
) -> Result<IssueCursor, PluginError> {
    match paging::decode::<IssueCursor>(cursor)? {
        Some(c) => Ok(c),
        None => start_issue_cursor(jira, settings, &mut page.diagnostics),
    }
}

fn newer(a: Option<String>, b: Option<&str>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if rfc_key(b) > rfc_key(&a) {
            b.to_string()
        } else {
            a
        }),
        (a, b) => a.or(b.map(str::to_string)),
    }
}

/// Comparable form of a Jira timestamp (UTC, to the millisecond).
fn rfc_key(ts: &str) -> i64 {
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

fn updated_clause(checkpoint: Option<&str>) -> Result<String, PluginError> {
    let Some(cp) = paging::decode::<IssueCheckpoint>(checkpoint)? else {
        return Ok(String::new());
    };
    let minute = jql_minute(&cp.updated).ok_or_else(|| {
        PluginError::Internal(format!(
            "checkpoint `{}` is not a Jira timestamp; run a full sync",
            cp.updated
        ))
    })?;
    Ok(format!(" AND updated >= \"{minute}\""))
}

fn finish(
    mut page: Page,
    cursor: IssueCursor,
    next: Option<SearchPosition>,
    checkpoint: Option<&str>,
) -> Page {
    match next {
        Some(at) => {
            page.next_cursor = Some(paging::encode(&IssueCursor { at, ..cursor }));
        }
        None => {
            // Keep the newest timestamp seen; an empty incremental pass keeps the old one.
            page.checkpoint = cursor
                .newest
                .map(|updated| paging::encode(&IssueCheckpoint { updated }))
                .or_else(|| checkpoint.map(str::to_string));
        }
    }
    page
}

fn with_extra(
    mut r: DmoRecord,
    issue: &Issue,
    updated: Option<&str>,
    extra: serde_json::Map<String, Value>,
) -> DmoRecord {
    r.url = issue.browse_url();
    r.source_updated = updated.map(rfc3339);
    if !extra.is_empty() {
        r.extra = Value::Object(extra).to_string();
    }
    r
}

const INITIATIVE_ATTRIBUTES: &[&str] = &[
    "demand-type",
    "development-type",
    "value-stream",
    "strategic-theme",
    "gate",
    "gate-decision",
    "gate-decision-date",
    "gate-decider",
    "next-gate-due",
    "cost-of-delay",
    "business-value",
    "time-criticality",
    "risk-reduction",
    "job-size",
    "target-start",
    "target-end",
    "business-owner",
    "kpi",
    "kpi-baseline",
    "kpi-target",
    "kpi-actual",
    "kpi-measured-on",
];

/// The initiatives stream: one page of epics, with the risks filed under them.
pub fn initiatives(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
    page_size: u32,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let cursor = open_cursor(jira, settings, cursor, &mut page)?;
    let jql = format!(
        "project = {} AND issuetype in ({}){} ORDER BY key ASC",
        jql_list(&[&settings.project]),
        jql_list(&cursor.epic_types),
        updated_clause(checkpoint)?
    );
    let mut wanted: Vec<String> = [
        "summary",
        "status",
        "created",
        "updated",
        "labels",
        "issuetype",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    wanted.extend(cursor.fields.ids_of(INITIATIVE_ATTRIBUTES));
    let result = jira.search(&jql, &wanted, &cursor.at, page_size.clamp(1, 100))?;
    let (risks, risks_unread) = risks_of(
        jira,
        settings,
        &cursor,
        &result.issues,
        &mut page.diagnostics,
    )?;
    let mut newest = cursor.newest.clone();
    for issue in &result.issues {
        let key = issue.key();
        let mut r = Reader::new(&cursor.fields, key.clone(), &issue.fields);
        let updated = r.system_timestamp("updated", "source_updated");
        newest = newer(newest, updated.as_deref());
        let status_category = issue
            .field("status")
            .and_then(|s| s.pointer("/statusCategory/key"))
            .and_then(Value::as_str)
            .map(status_category);
        let kpis = match r.text("kpi") {
            Some(name) => vec![Kpi {
                name,
                unit: None,
                baseline: r.number("kpi-baseline"),
                target: r.number("kpi-target"),
                measurements: match (r.date("kpi-measured-on"), r.number("kpi-actual")) {
                    (Some(date), Some(value)) => vec![(date, value)],
                    _ => Vec::new(),
                },
            }],
            None => Vec::new(),
        };
        let gate = r.text("gate");
        let initiative = Initiative {
            key: key.clone(),
            title: r.system_text("summary", "title").unwrap_or_default(),
            status: r.system_name("status", "status").unwrap_or_default(),
            status_category,
            demand_type: r.text("demand-type").map(|v| vocabulary(&v)),
            development_type: r.text("development-type").map(|v| vocabulary(&v)),
            value_stream: r.text("value-stream"),
            portfolio: Some(settings.project.clone()),
            business_owner: r.text("business-owner"),
            strategic_theme: r.text("strategic-theme"),
            current_gate: gate.clone(),
            cost_of_delay: r.number("cost-of-delay"),
            user_business_value: r.number("business-value"),
            time_criticality: r.number("time-criticality"),
            risk_reduction: r.number("risk-reduction"),
            job_size: r.number("job-size"),
            planned_start: r.date("target-start"),
            planned_end: r.date("target-end"),
            next_gate_due: r.date("next-gate-due"),
            created: r
                .system_timestamp("created", "created")
                .map(|c| rfc3339(&c)),
            labels: r.labels(),
            risks: risks.get(&key).cloned().unwrap_or_default(),
            kpis,
        };
        // The decision on record at the current gate, if the site keeps one in the epic.
        if let (Some(gate), Some(decision)) = (gate, r.text("gate-decision")) {
            let decided = GateDecision {
                initiative_key: key.clone(),
                gate,
                decision: vocabulary(&decision),
                decider: r.text("gate-decider"),
                date: r.date("gate-decision-date"),
                conditions: None,
            };
            // The decision shares the epic's `updated`: if that drifted, keep its last one too.
            let mut extra = serde_json::Map::new();
            if r.unread.contains(&"source_updated") {
                extra.insert(
                    tollgate_plugin_api::UNREAD_KEY.to_string(),
                    json!(["source_updated"]),
                );
            }
            page.records.push(with_extra(
                record(
                    format!("{}:gate-decision", issue.id),
                    Entity::GateDecision(decided),
                ),
                issue,
                updated.as_deref(),
                extra,
            ));
        }
        if risks_unread.contains(&key) {
            r.unread.push("risks");
        }
        push_read(
            &mut page,
            issue,
            updated.as_deref(),
            r,
            Entity::Initiative(initiative),
        );
    }
    let cursor = IssueCursor { newest, ..cursor };
    Ok(finish(page, cursor, result.next, checkpoint))
}

/// Add the record read from `issue`, with what the reader kept in `extra` and noticed.
fn push_read(
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

fn status_category(key: &str) -> String {
    match key {
        "new" => "todo",
        "indeterminate" => "in-progress",
        "done" => "done",
        other => other,
    }
    .to_string()
}

/// Risks by the key of their epic.
type RisksByEpic = BTreeMap<String, Vec<Risk>>;

/// The risks filed as child issues of these epics (type `risk-issue-type`), and the epics one
/// of whose risks came with a value of an unexpected type (their last risks read are kept).
fn risks_of(
    jira: &Jira,
    settings: &Settings,
    cursor: &IssueCursor,
    epics: &[Issue],
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<(RisksByEpic, Vec<String>), PluginError> {
    let mut out = RisksByEpic::new();
    let mut unread = Vec::new();
    if epics.is_empty() || cursor.risk_types.is_empty() {
        return Ok((out, unread));
    }
    let keys: Vec<String> = epics.iter().map(Issue::key).collect();
    let Some(link) = parent_clause(jira.deployment, &cursor.fields) else {
        return Ok((out, unread));
    };
    let jql = format!(
        "project = {} AND issuetype in ({}) AND {link} in ({}) ORDER BY key ASC",
        jql_list(&[&settings.project]),
        jql_list(&cursor.risk_types),
        jql_list(&keys)
    );
    let mut wanted = vec![
        "summary".to_string(),
        "assignee".to_string(),
        "parent".to_string(),
    ];
    wanted.extend(
        cursor
            .fields
            .ids_of(&["probability", "impact", "mitigation", "epic-link"]),
    );
    for issue in jira.search_all(&jql, &wanted)? {
        let Some(epic) = parent_key(jira.deployment, &cursor.fields, &issue) else {
            continue;
        };
        let mut r = Reader::new(&cursor.fields, issue.key(), &issue.fields);
        let risk = Risk {
            title: r.system_text("summary", "risks").unwrap_or_default(),
            probability: r.number("probability"),
            impact: r.number("impact"),
            owner: issue
                .field("assignee")
                .and_then(|a| a.get("displayName"))
                .and_then(Value::as_str)
                .map(str::to_string),
            mitigation: r.text("mitigation"),
        };
        if !r.diagnostics.is_empty() && !unread.contains(&epic) {
            unread.push(epic.clone());
        }
        diagnostics.append(&mut r.diagnostics);
        out.entry(epic).or_default().push(risk);
    }
    Ok((out, unread))
}

/// The JQL field that links a child to its epic: `parent` on Cloud, Epic Link on Data Center.
fn parent_clause(deployment: Deployment, fields: &FieldMap) -> Option<String> {
    match deployment {
        Deployment::Cloud => Some("parent".to_string()),
        Deployment::DataCenter => fields
            .id("epic-link")
            .map(|id| format!("cf[{}]", id.trim_start_matches("customfield_"))),
    }
}

/// The epic key of a child issue.
fn parent_key(deployment: Deployment, fields: &FieldMap, issue: &Issue) -> Option<String> {
    match deployment {
        Deployment::Cloud => issue
            .field("parent")
            .and_then(|p| p.get("key"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Deployment::DataCenter => fields.id("epic-link").and_then(|id| issue.str_field(id)),
    }
}

/// Whether a Cloud parent is an epic (level 1) rather than, for a sub-task, a story.
fn parent_is_epic(issue: &Issue) -> bool {
    issue
        .field("parent")
        .and_then(|p| p.pointer("/fields/issuetype/hierarchyLevel"))
        .and_then(Value::as_i64)
        .is_none_or(|l| l == 1)
}

/// The work-items stream: every issue of the project that is neither an epic nor a risk.
pub fn work_items(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
    page_size: u32,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let cursor = open_cursor(jira, settings, cursor, &mut page)?;
    let mut excluded = cursor.epic_types.clone();
    excluded.extend(cursor.risk_types.iter().cloned());
    let jql = format!(
        "project = {} AND issuetype not in ({}){} ORDER BY key ASC",
        jql_list(&[&settings.project]),
        jql_list(&excluded),
        updated_clause(checkpoint)?
    );
    let mut wanted: Vec<String> = [
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
    wanted.extend(
        cursor
            .fields
            .ids_of(&["story-points", "sprint", "epic-link"]),
    );
    let result = jira.search(&jql, &wanted, &cursor.at, page_size.clamp(1, 100))?;
    let mut newest = cursor.newest.clone();
    for issue in &result.issues {
        let key = issue.key();
        let mut r = Reader::new(&cursor.fields, key.clone(), &issue.fields);
        let updated = r.system_timestamp("updated", "source_updated");
        newest = newer(newest, updated.as_deref());
        let parent = parent_key(jira.deployment, &cursor.fields, issue);
        let (initiative_key, parent_key) = match jira.deployment {
            Deployment::Cloud if parent_is_epic(issue) => (parent.clone(), parent),
            Deployment::Cloud => (None, parent),
            Deployment::DataCenter => (parent.clone(), parent),
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
    let cursor = IssueCursor { newest, ..cursor };
    Ok(finish(page, cursor, result.next, checkpoint))
}

/// The person id of a Jira user: the account id (Cloud) or user name (Data Center), through
/// the `people` aliases of the settings.
pub fn person_of(settings: &Settings, user: &Value) -> Option<String> {
    let id = user
        .get("accountId")
        .or_else(|| user.get("name"))
        .and_then(Value::as_str)?;
    Some(
        settings
            .people
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string()),
    )
}

#[derive(Debug, Serialize, Deserialize)]
struct SprintCursor {
    boards: Vec<(u64, String)>,
    board: usize,
    start_at: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgilePage<T> {
    start_at: u64,
    is_last: bool,
    values: Vec<T>,
}

#[derive(Deserialize)]
struct Board {
    id: u64,
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgileSprint {
    id: u64,
    name: String,
    state: String,
    start_date: Option<String>,
    end_date: Option<String>,
    complete_date: Option<String>,
    goal: Option<String>,
}

/// The sprints stream: every sprint of the project's scrum boards (or the configured boards),
/// read whole each time (sprints are few), so the host sweeps deleted ones.
pub fn sprints(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
) -> Result<Page, PluginError> {
    let mut page = Page {
        snapshot: true,
        ..Page::default()
    };
    let cursor = match paging::decode::<SprintCursor>(cursor)? {
        Some(c) => c,
        None => {
            let mut boards = Vec::new();
            let mut start = 0u64;
            loop {
                let p: AgilePage<Board> = jira.get_with(
                    "/rest/agile/1.0/board",
                    &[
                        ("projectKeyOrId", &settings.project),
                        ("startAt", &start.to_string()),
                    ],
                )?;
                let n = p.values.len() as u64;
                // Kanban boards have no sprints (asking gives a 400).
                boards.extend(
                    p.values
                        .into_iter()
                        .filter(|b| b.kind == "scrum")
                        .filter(|b| settings.boards.is_empty() || settings.boards.contains(&b.id))
                        .map(|b| (b.id, b.name)),
                );
                if p.is_last || n == 0 {
                    break;
                }
                start = p.start_at.saturating_add(n);
            }
            SprintCursor {
                boards,
                board: 0,
                start_at: 0,
            }
        }
    };
    let Some((board, board_name)) = cursor.boards.get(cursor.board).cloned() else {
        return Ok(page);
    };
    let p: AgilePage<AgileSprint> = jira.get_with(
        &format!("/rest/agile/1.0/board/{board}/sprint"),
        &[("startAt", &cursor.start_at.to_string())],
    )?;
    let n = p.values.len() as u64;
    for s in p.values {
        let sprint = Sprint {
            id: s.id.to_string(),
            name: s.name,
            state: s.state.to_lowercase(),
            team: Some(board_name.clone()),
            start: s.start_date,
            end: s.end_date,
            completed: s.complete_date,
            goal: s.goal.filter(|g| !g.is_empty()),
        };
        page.records
            .push(record(s.id.to_string(), Entity::Sprint(sprint)));
    }
    // Sprint pages carry no total: go on until `isLast`.
    let next = if !p.is_last && n > 0 {
        Some(SprintCursor {
            start_at: p.start_at.saturating_add(n),
            ..cursor
        })
    } else if cursor.board + 1 < cursor.boards.len() {
        Some(SprintCursor {
            board: cursor.board + 1,
            start_at: 0,
            ..cursor
        })
    } else {
        None
    };
    page.next_cursor = next.map(|c| paging::encode(&c));
    Ok(page)
}

#[derive(Debug, Serialize, Deserialize)]
struct WorklogCursor {
    /// `updated` pages first, then `deleted` ones.
    deleted_phase: bool,
    since: i64,
    fields: FieldMap,
    /// Where the `updated` phase ended: the next run's `updated` watermark.
    updated_until: i64,
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
pub fn time_entries(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let checkpoint = paging::decode::<WorklogCheckpoint>(checkpoint)?;
    let cursor = match paging::decode::<WorklogCursor>(cursor)? {
        Some(c) => c,
        None => {
            let fields = FieldMap::resolve(jira, &settings.fields, &mut Vec::new())?;
            let since = checkpoint.as_ref().map_or(0, |c| c.updated_since);
            WorklogCursor {
                deleted_phase: false,
                since,
                fields,
                updated_until: since,
            }
        }
    };
    let what = if cursor.deleted_phase {
        "deleted"
    } else {
        "updated"
    };
    let changed: Changed = jira.get_with(
        &format!("{}/worklog/{what}", jira.api()),
        &[("since", &cursor.since.to_string())],
    )?;
    let until = changed.until.unwrap_or(cursor.since).max(cursor.since);
    let ids: Vec<u64> = changed.values.iter().map(|v| v.worklog_id).collect();
    if cursor.deleted_phase {
        page.deletions = ids
            .iter()
            .map(|id| Deletion {
                kind: EntityKind::TimeEntry,
                external_id: id.to_string(),
            })
            .collect();
    } else {
        for chunk in ids.chunks(1000) {
            let worklogs: Vec<Worklog> = jira.client().post_json(
                &format!("{}/worklog/list", jira.api()),
                &json!({ "ids": chunk }),
            )?;
            let issues = issues_by_id(jira, &cursor.fields, &worklogs)?;
            for w in worklogs {
                let Some((key, epic, is_epic)) = issues.get(&w.issue_id) else {
                    page.diagnostics.push(Diagnostic {
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
                    page.diagnostics.push(Diagnostic {
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
                page.records.push(r);
            }
        }
    }
    let next = if !changed.last_page && until > cursor.since {
        Some(WorklogCursor {
            since: until,
            updated_until: if cursor.deleted_phase {
                cursor.updated_until
            } else {
                until
            },
            ..cursor
        })
    } else if !cursor.deleted_phase {
        let updated_until = until;
        // A full pass needs no deletions (the host sweeps what it did not see); the next
        // incremental pass asks for deletions since where this one stopped.
        match &checkpoint {
            Some(cp) => Some(WorklogCursor {
                deleted_phase: true,
                since: cp.deleted_since,
                updated_until,
                ..cursor
            }),
            None => {
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

/// An issue's key, its epic's key, and whether it is an epic itself.
type IssueRef = (String, Option<String>, bool);

/// Key, epic key and whether it is an epic, for the issues of these worklogs.
fn issues_by_id(
    jira: &Jira,
    fields: &FieldMap,
    worklogs: &[Worklog],
) -> Result<BTreeMap<String, IssueRef>, PluginError> {
    let mut ids: Vec<&str> = worklogs.iter().map(|w| w.issue_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
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

/// Text of a comment: a wiki string as it is, an ADF document's text nodes joined.
pub fn comment_text(v: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        if let Some(t) = v.get("text").and_then(Value::as_str) {
            out.push_str(t);
        }
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            for c in children {
                walk(c, out);
            }
            if matches!(
                v.get("type").and_then(Value::as_str),
                Some("paragraph" | "heading" | "listItem")
            ) && !out.ends_with('\n')
            {
                out.push('\n');
            }
        }
    }
    match v {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            walk(other, &mut out);
            out.trim_end().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_compare_across_offsets() {
        assert!(rfc_key("2026-11-27T10:30:00.000+0200") < rfc_key("2026-11-27T09:31:00.000+0100"));
        assert_eq!(
            rfc_key("2026-11-27T10:30:00.000+0200"),
            rfc_key("2026-11-27T08:30:00.000+0000")
        );
        assert_eq!(
            newer(
                Some("2026-11-27T10:30:00.000+0200".into()),
                Some("2026-11-27T08:31:00.000+0000")
            ),
            Some("2026-11-27T08:31:00.000+0000".into())
        );
    }

    #[test]
    fn comment_text_from_both_shapes() {
        assert_eq!(comment_text(&json!("wiki *text*")), "wiki *text*");
        let adf = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "c"}]}
        ]});
        assert_eq!(comment_text(&adf), "ab\nc");
    }
}
