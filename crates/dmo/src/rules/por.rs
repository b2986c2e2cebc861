//! The portfolio (POR): investment mix, work in progress, steering inputs.

use super::catalogue::*;
use super::{Context, Portfolio, RuleConfig, SubjectKind};
use crate::calendar::day_number;
use serde_json::json;
use std::collections::BTreeMap;

pub(crate) fn por_001(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max_dev = rule.p("max_deviation");
    let targets = [
        ("capability-planning", rule.p("target_capability_planning")),
        ("ideas-and-concepts", rule.p("target_ideas_and_concepts")),
        (
            "increments-and-improvements",
            rule.p("target_increments_and_improvements"),
        ),
    ];
    let mut spend: BTreeMap<&str, f64> = BTreeMap::new();
    for (i, _) in p.initiatives.values() {
        if let Some(t) = i.demand_type.as_deref() {
            *spend.entry(t).or_default() += p.finance_total(&i.key, "budget");
        }
    }
    let total: f64 = spend.values().sum();
    if total <= 0.0 {
        return;
    }
    for (kind, target) in targets {
        let share = spend.get(kind).copied().unwrap_or(0.0) / total;
        if (share - target).abs() > max_dev {
            out.emit(
                None,
                (SubjectKind::Portfolio, kind),
                "",
                format!(
                    "{kind} takes {:.0} % of the budget against a target of {:.0} %.",
                    100.0 * share,
                    100.0 * target
                ),
                json!({"share": share, "target": target}),
            );
        }
    }
}

pub(crate) fn por_002(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max = rule.p("max_wip");
    let mut wip: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (i, _) in p
        .initiatives
        .values()
        .filter(|(i, _)| i.status_category.as_deref() == Some("in-progress"))
    {
        wip.entry(i.value_stream.as_deref().unwrap_or("(none)"))
            .or_default()
            .push(&i.key);
    }
    for (stream, keys) in wip {
        if keys.len() as f64 > max {
            out.emit(
                None,
                (SubjectKind::ValueStream, stream),
                "",
                format!(
                    "Value stream {stream} has {} initiatives in progress (limit {max}).",
                    keys.len()
                ),
                json!({"in_progress": keys}),
            );
        }
    }
}

pub(crate) fn por_003(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
    let Some(today) = day_number(&ctx.today) else {
        return;
    };
    let max_days = rule.p("max_days");
    for (i, _) in p
        .initiatives
        .values()
        .filter(|(i, _)| i.status_category.as_deref() == Some("in-progress"))
    {
        let last = p
            .decisions(&i.key)
            .filter_map(|g| g.date.as_deref().and_then(day_number))
            .max();
        if last.is_none_or(|d| (today - d) as f64 > max_days) {
            out.emit(
                None,
                (SubjectKind::Initiative, &i.key),
                "",
                format!(
                    "{} has not been before steering for more than {max_days} days.",
                    i.key
                ),
                json!({"last_decision_days_ago": last.map(|d| today - d)}),
            );
        }
    }
}

pub(crate) fn por_004(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
    let Some(today) = day_number(&ctx.today) else {
        return;
    };
    let max_age = rule.p("max_age_days");
    let mut streams: BTreeMap<&str, bool> = BTreeMap::new();
    for (i, _) in p.initiatives.values() {
        let Some(stream) = i.value_stream.as_deref() else {
            continue;
        };
        let recent = i
            .kpis
            .iter()
            .flat_map(|k| &k.measurements)
            .any(|(d, _)| day_number(d).is_some_and(|d| (today - d) as f64 <= max_age));
        *streams.entry(stream).or_default() |= recent;
    }
    for (stream, _) in streams.into_iter().filter(|(_, recent)| !recent) {
        out.emit(None, (SubjectKind::ValueStream, stream), "", format!("Value stream {stream} has no KPI measured in the last {max_age} days for the quarterly review."), json!({"max_age_days": max_age}));
    }
}

/// The rules of this family, for the catalogue.
pub(crate) const ENTRIES: &[Entry] = &[
    Entry {
        id: "POR-001",
        params: &[
            "max_deviation",
            "target_capability_planning",
            "target_ideas_and_concepts",
            "target_increments_and_improvements",
        ],
        check: por_001,
        cost: Cost::Pass,
    },
    Entry {
        id: "POR-002",
        params: &["max_wip"],
        check: por_002,
        cost: Cost::Pass,
    },
    Entry {
        id: "POR-003",
        params: &["max_days"],
        check: por_003,
        cost: Cost::Pass,
    },
    Entry {
        id: "POR-004",
        params: &["max_age_days"],
        check: por_004,
        cost: Cost::Pass,
    },
];
