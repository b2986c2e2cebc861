//! The initiatives stream: epics (found by hierarchy level), with the risks filed under them,
//! the gate decision on record, the gates their history says they entered and their KPI's
//! measurements over time (both from the changelog, see `history`).

#[allow(unused_imports)]
use super::*;

/// The contract's decision value for "the tracker moved the initiative into this gate".
const ENTERED: &str = "entered";

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
    let checkpoint = checkpoint_for(settings, "initiatives", (cursor, checkpoint))?;
    let updated = updated_clause(checkpoint)?;
    // Epics are the portfolio project's alone (a team project's epics are the team's).
    let projects = settings.project_clause();
    let query = |cursor: &IssueCursor| {
        let mut fields: Vec<String> = [
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
        if !settings.dependency_link_types.is_empty() {
            fields.push("issuelinks".to_string());
        }
        fields.extend(cursor.fields.ids_of(INITIATIVE_ATTRIBUTES));
        Query::of_types(&projects, "in", &cursor.epic_types, &updated, fields)
    };
    let (cursor, issues, more) = read_pass(
        jira,
        settings,
        (cursor, checkpoint),
        &mut page,
        (&projects, &query),
        &["changelog"],
        page_size,
    )?;
    let (risks, risks_unread) = risks_of(jira, settings, &cursor, &issues, &mut page.diagnostics)?;
    for issue in &issues {
        let key = issue.key();
        let mut r = Reader::new(&cursor.fields, key.clone(), &issue.fields);
        let updated = r.system_timestamp("updated", "source_updated");
        let status_category = issue
            .field("status")
            .and_then(|s| s.pointer("/statusCategory/key"))
            .and_then(Value::as_str)
            .map(status_category);
        let history = history::history(jira, issue)?;
        let kpis = match r.text("kpi") {
            Some(name) => {
                // What the history measured, and the latest value as the fields hold it.
                let mut measurements = history::kpi_measurements(
                    &cursor.fields,
                    &key,
                    &history,
                    &mut page.diagnostics,
                );
                if let (Some(date), Some(value)) =
                    (r.date("kpi-measured-on"), r.number("kpi-actual"))
                {
                    measurements.retain(|(d, _)| *d != date);
                    measurements.push((date, value));
                    measurements.sort_by(|a, b| a.0.cmp(&b.0));
                }
                vec![Kpi {
                    name,
                    unit: None,
                    baseline: r.number("kpi-baseline"),
                    target: r.number("kpi-target"),
                    measurements,
                }]
            }
            None => Vec::new(),
        };
        let gate = r.text("gate");
        let labels = r.labels();
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
            created: r.system_timestamp("created", "created").map(rfc3339),
            labels: labels.clone(),
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
        // The gates its history says it entered: facts of the tracker, not decisions; the
        // checks hold them against the decisions on record (GATE-004) and date the gates by
        // them where no decision says when (GATE-001).
        for (gate, day, entry) in history::gate_entries(&cursor.fields, &history) {
            page.records.push(with_extra(
                record(
                    format!("{}:gate-entered:{entry}", issue.id),
                    Entity::GateDecision(GateDecision {
                        initiative_key: key.clone(),
                        gate,
                        decision: ENTERED.to_string(),
                        decider: None,
                        date: Some(day),
                        conditions: None,
                    }),
                ),
                issue,
                updated.as_deref(),
                serde_json::Map::new(),
            ));
        }
        for dependency in dependencies_provided(settings, issue, &labels) {
            page.records.push(with_extra(
                record(
                    format!("link:{}", dependency.0),
                    Entity::Dependency(dependency.1),
                ),
                issue,
                updated.as_deref(),
                serde_json::Map::new(),
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
    Ok(finish(page, cursor, more, checkpoint, settings))
}

/// The epics whose risks one search asks for.
const RISK_SEARCH_EPICS: usize = 100;

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
    // The risks of 100 epics a search, the searches side by side.
    let jqls: Vec<String> = keys
        .chunks(RISK_SEARCH_EPICS)
        .map(|chunk| {
            format!(
                "{} AND issuetype in ({}) AND {link} in ({}) ORDER BY key ASC",
                settings.work_projects_clause(),
                jql_list(&cursor.risk_types),
                jql_list(chunk)
            )
        })
        .collect();
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
    for issue in jira.search_all_of(&jqls, &wanted)? {
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

/// The dependencies an epic provides, from its links: for "this blocks B" (a configured link
/// type, seen from this epic: B is the inward issue), B depends on this epic. Each link is
/// read from the providing side only, so it becomes one record (`link:{id}`), and acceptance
/// is the providing epic's label. Links to issues of other types are read too: the checks
/// ignore a dependency whose ends are not initiatives.
fn dependencies_provided(
    settings: &Settings,
    issue: &Issue,
    labels: &[String],
) -> Vec<(String, Dependency)> {
    let Some(links) = issue.field("issuelinks").and_then(Value::as_array) else {
        return Vec::new();
    };
    let accepted = (!settings.dependency_accepted_label.is_empty()).then(|| {
        labels
            .iter()
            .any(|l| l.eq_ignore_ascii_case(&settings.dependency_accepted_label))
    });
    links
        .iter()
        .filter(|l| {
            l.pointer("/type/name")
                .and_then(Value::as_str)
                .is_some_and(|t| {
                    settings
                        .dependency_link_types
                        .iter()
                        .any(|w| w.eq_ignore_ascii_case(t))
                })
        })
        .filter_map(|l| {
            let id = l.get("id").and_then(Value::as_str)?;
            let dependent = l.pointer("/inwardIssue/key").and_then(Value::as_str)?;
            Some((
                id.to_string(),
                Dependency {
                    from_key: dependent.to_string(),
                    to_key: issue.key(),
                    kind: "blocks".to_string(),
                    accepted,
                },
            ))
        })
        .collect()
}
