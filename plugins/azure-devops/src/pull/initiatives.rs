//! The initiatives stream: epics (or the configured types), with the risks filed under them,
//! the gate decision recorded in the epic, and their dependency links.

use super::{
    IdCursor, condition, epics_of, finish, open_cursor, status_category, tell_next, timestamp,
    value_stream_of, wiql_list,
};
use crate::Settings;
use crate::api::{Ado, MAX_PAGE, WorkItem};
use crate::fields::{Reader, vocabulary};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_plugin_api::{
    Dependency, DmoRecord, Entity, EntityKind, GateDecision, Initiative, Kpi, Page, PluginError,
    Risk, record,
};

/// The link type that makes an epic depend on another (its predecessor).
const PREDECESSOR: &str = "System.LinkTypes.Dependency-Reverse";

/// One page of epics, with their risks and dependencies.
pub fn initiatives(
    ado: &Ado,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
    page_size: u32,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let cursor = open_cursor(ado, settings, cursor, checkpoint, &mut page)?;
    // A page is the sync's page size (500 by default) of ids, read 200 a batch, the batches
    // side by side ([`Ado::read`]).
    let top = page_size.clamp(1, MAX_PAGE) as usize;
    let base = format!(
        "[System.WorkItemType] IN {}",
        wiql_list(&settings.epic_types)
    );
    let found = ado.ids_after(&condition(&base, &cursor), cursor.after, top)?;
    tell_next(&cursor, &found, top);
    let epics = ado.read(&found.ids, None, true)?;
    let (risks, risks_unread) = risks_of(ado, settings, &cursor, &epics, &mut page)?;
    let dependencies = dependencies_of(ado, settings, &epics)?;
    for w in &epics {
        read_epic(
            settings,
            &cursor,
            w,
            &risks,
            risks_unread.contains(&w.id),
            &mut page,
        );
    }
    for (from, to) in dependencies {
        let (from_key, to_key) = (settings.key(from), settings.key(to));
        page.records.push(DmoRecord {
            url: None,
            ..record(
                format!("dependency:{from}:{to}"),
                Entity::Dependency(Dependency {
                    from_key,
                    to_key,
                    kind: "blocks".into(),
                    accepted: None,
                }),
            )
        });
    }
    finish(ado, page, cursor, &found, top, Some(EntityKind::Initiative))
}

fn read_epic(
    settings: &Settings,
    cursor: &IdCursor,
    w: &WorkItem,
    risks: &BTreeMap<u64, Vec<Risk>>,
    risks_unread: bool,
    page: &mut Page,
) {
    let key = settings.key(w.id);
    let mut r = Reader::new(&cursor.fields, w.id, &w.fields);
    let kind = w.kind();
    let state = w.text("System.State").unwrap_or_default();
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
    let area = w.text("System.AreaPath").unwrap_or_default();
    let value_stream = value_stream_of(settings, &area).or_else(|| r.text("value-stream"));
    let gate = r.text("gate");
    let labels: Vec<String> = w
        .text("System.Tags")
        .map(|t| {
            t.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let initiative = Initiative {
        key: key.clone(),
        title: w.text("System.Title").unwrap_or_default(),
        status: state.clone(),
        status_category: status_category(cursor, &kind, &state),
        demand_type: r.text("demand-type").map(|v| vocabulary(&v)),
        development_type: r.text("development-type").map(|v| vocabulary(&v)),
        value_stream,
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
        created: timestamp(w.field("System.CreatedDate")),
        labels,
        risks: risks.get(&w.id).cloned().unwrap_or_default(),
        kpis,
    };
    let url = w.web_url(&settings.project);
    let updated = timestamp(w.field("System.ChangedDate"));
    // The decision on record at the current gate, if the process keeps one in the epic.
    if let (Some(gate), Some(decision)) = (gate, r.text("gate-decision")) {
        let decided = GateDecision {
            initiative_key: key.clone(),
            gate,
            decision: vocabulary(&decision),
            decider: r.text("gate-decider"),
            date: r.date("gate-decision-date"),
            conditions: None,
        };
        page.records.push(DmoRecord {
            url: url.clone(),
            source_updated: updated.clone(),
            ..record(
                format!("{}:gate-decision", w.id),
                Entity::GateDecision(decided),
            )
        });
    }
    if risks_unread {
        r.unread.push("risks");
    }
    let mut extra = std::mem::take(&mut r.extra);
    if !r.unread.is_empty() {
        extra.insert(tollgate_plugin_api::UNREAD_KEY.to_string(), json!(r.unread));
    }
    extra.insert("area_path".into(), Value::String(area));
    if let Some(i) = w.text("System.IterationPath") {
        extra.insert("iteration_path".into(), Value::String(i));
    }
    page.diagnostics.append(&mut r.diagnostics);
    page.records.push(DmoRecord {
        url,
        source_updated: updated,
        extra: Value::Object(extra).to_string(),
        ..record(w.id.to_string(), Entity::Initiative(initiative))
    });
}

/// Risks by the id of their epic.
type RisksByEpic = BTreeMap<u64, Vec<Risk>>;

/// Risks by the id of their epic: work items of the risk type whose parent is one of these
/// epics; and the epics one of whose risks held a value of an unexpected type.
fn risks_of(
    ado: &Ado,
    settings: &Settings,
    cursor: &IdCursor,
    epics: &[WorkItem],
    page: &mut Page,
) -> Result<(RisksByEpic, Vec<u64>), PluginError> {
    let mut out: BTreeMap<u64, Vec<Risk>> = BTreeMap::new();
    let mut unread = Vec::new();
    if epics.is_empty() || settings.risk_type.is_empty() {
        return Ok((out, unread));
    }
    let parents: Vec<String> = epics.iter().map(|e| e.id.to_string()).collect();
    let base = format!(
        "[System.WorkItemType] = '{}' AND [System.Parent] IN ({})",
        super::wiql_text(&settings.risk_type),
        parents.join(", ")
    );
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let found = ado.ids_after(&base, after, 200)?;
        let n = found.ids.len();
        if let Some(&last) = found.ids.last() {
            after = last;
        }
        ids.extend(found.ids);
        if n < 200 {
            break;
        }
    }
    let mut wanted = vec![
        "System.Id".to_string(),
        "System.Title".to_string(),
        "System.AssignedTo".to_string(),
        "System.Parent".to_string(),
        "System.WorkItemType".to_string(),
    ];
    wanted.extend(
        ["probability", "impact", "mitigation"]
            .iter()
            .filter_map(|a| cursor.fields.get(a).map(str::to_string)),
    );
    for risk in ado.read(&ids, Some(&wanted), false)? {
        let Some(epic) = risk.parent() else { continue };
        let mut r = Reader::new(&cursor.fields, risk.id, &risk.fields);
        let item = Risk {
            title: risk.text("System.Title").unwrap_or_default(),
            probability: r.number("probability"),
            impact: r.number("impact"),
            owner: risk
                .field("System.AssignedTo")
                .and_then(|a| a.get("displayName"))
                .and_then(Value::as_str)
                .map(str::to_string),
            mitigation: r.text("mitigation"),
        };
        if !r.diagnostics.is_empty() && !unread.contains(&epic) {
            unread.push(epic);
        }
        page.diagnostics.append(&mut r.diagnostics);
        out.entry(epic).or_default().push(item);
    }
    Ok((out, unread))
}

/// (dependent epic, epic it depends on), from the epics' predecessor links; a link to a work
/// item below another epic counts as a dependency on that epic.
fn dependencies_of(
    ado: &Ado,
    settings: &Settings,
    epics: &[WorkItem],
) -> Result<Vec<(u64, u64)>, PluginError> {
    let mut links: Vec<(u64, u64)> = Vec::new();
    for e in epics {
        for r in e.relations.iter().flatten() {
            if let Some(t) = r.target().filter(|_| r.rel == PREDECESSOR) {
                links.push((e.id, t));
            }
        }
    }
    if links.is_empty() {
        return Ok(links);
    }
    let mut targets: Vec<u64> = links.iter().map(|l| l.1).collect();
    targets.sort_unstable();
    targets.dedup();
    let fields = [
        "System.Id".to_string(),
        "System.WorkItemType".to_string(),
        "System.Parent".to_string(),
    ];
    let read = ado.read(&targets, Some(&fields), false)?;
    let above = epics_of(ado, settings, &read)?;
    let mut out: Vec<(u64, u64)> = links
        .into_iter()
        .filter_map(|(from, to)| above.get(&to).map(|&epic| (from, epic)))
        .filter(|(from, to)| from != to)
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}
