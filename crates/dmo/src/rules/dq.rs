//! Data quality (DQ): what the sources could not tell, and what they told wrongly.

use super::catalogue::*;
use super::{Context, Portfolio, RuleConfig, SubjectKind};
use crate::Severity;
use serde_json::json;
use std::collections::BTreeMap;

pub(crate) fn dq_002(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let min = rule.p("min_coverage");
    // The days each person logged on, gathered by the numbers of the entries' names (a
    // million entries, each looked up by its person's text, took a twentieth of a check's
    // CPU), then the people in the order of their ids' text. A day fits in 32 bits (the
    // names keep it so).
    let mut by_number: crate::HashMap<u32, Vec<i32>> = crate::HashMap::default();
    for (person, date, _) in p.time_entries.by_numbers() {
        if let Some(d) = p
            .time_entries
            .day_of(date)
            .and_then(|d| i32::try_from(d).ok())
        {
            let days = by_number.entry(person).or_default();
            // Rid of repeats before growing: a person's list stays near their days.
            if days.len() == days.capacity() && days.len() >= 64 {
                days.sort_unstable();
                days.dedup();
            }
            days.push(d);
        }
    }
    let days: BTreeMap<&str, Vec<i32>> = by_number
        .into_iter()
        .map(|(person, mut days)| {
            days.sort_unstable();
            days.dedup();
            (p.time_entries.name(person), days)
        })
        .collect();
    for (person, logged) in days {
        let (first, last) = (
            i64::from(*logged.first().unwrap()),
            i64::from(*logged.last().unwrap()),
        );
        // Weekdays between the first and the last logged day (1970-01-01 was a Thursday).
        let weekdays = (first..=last).filter(|d| (d + 3).rem_euclid(7) < 5).count() as f64;
        let covered = logged
            .iter()
            .filter(|d| (i64::from(**d) + 3).rem_euclid(7) < 5)
            .count() as f64;
        if weekdays >= 5.0 && covered / weekdays < min {
            out.emit(
                None,
                (SubjectKind::Person, person),
                "",
                format!(
                    "{person} logged time on {covered} of {weekdays} working days ({:.0} %).",
                    100.0 * covered / weekdays
                ),
                json!({"logged_days": covered, "working_days": weekdays}),
            );
        }
    }
}

pub(crate) fn dq_001(_: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for issue in &p.issues {
        let location = issue.location.clone().unwrap_or_default();
        let severity = if issue.severity >= Severity::Error {
            Some(Severity::Warning)
        } else {
            Some(Severity::Info)
        };
        out.emit(severity, (SubjectKind::Record, &format!("{}:{location}", issue.connection)), &issue.code, format!("{} ({}): {}", location, issue.code, issue.message), json!({"connection": issue.connection, "code": issue.code, "location": issue.location, "source_severity": issue.severity.as_str()}));
    }
}

pub(crate) fn dq_003(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    if p.initiatives.is_empty() {
        return; // Without initiatives from a tracker, every hour would look orphaned.
    }
    let max = rule.p("max_share");
    // Whole seconds added up: the same sums in whatever order the entries come. Per
    // initiative, not per entry: whether a key is a known initiative is asked once.
    let (by_initiative, none) = p.seconds_by_initiative();
    let none = none.unwrap_or(0);
    let (mut total, mut orphan) = (none, none);
    for (key, seconds) in by_initiative {
        total = total.saturating_add(seconds);
        if !p.initiatives.contains_key(key) {
            orphan = orphan.saturating_add(seconds);
        }
    }
    let (total, orphan) = (total as f64 / 3600.0, orphan as f64 / 3600.0);
    if total > 0.0 && orphan / total > max {
        out.emit(
            None,
            (SubjectKind::Portfolio, "all"),
            "",
            format!(
                "{:.0} % of logged hours ({}) are not under any known initiative.",
                100.0 * orphan / total,
                round1(orphan)
            ),
            json!({"orphan_hours": round1(orphan), "total_hours": round1(total)}),
        );
    }
}

pub(crate) fn dq_004(_: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for (key, case) in &p.business_cases {
        let mut missing = Vec::new();
        if case.currency.is_none() {
            missing.push("currency");
        }
        if case.discount_rate.is_none() {
            missing.push("discount rate");
        }
        if !missing.is_empty() {
            out.emit(None, (SubjectKind::Initiative, key), "", format!("The business case of {key} lacks its {}; its finance figures cannot be computed.", missing.join(" and ")), json!({"missing": missing}));
        }
    }
}

/// The rules of this family, for the catalogue.
pub(crate) const ENTRIES: &[Entry] = &[
    Entry {
        id: "DQ-002",
        params: &["min_coverage"],
        check: dq_002,
        cost: Cost::Heavy,
    },
    Entry {
        id: "DQ-001",
        params: &[],
        check: dq_001,
        cost: Cost::Pass,
    },
    Entry {
        id: "DQ-003",
        params: &["max_share"],
        check: dq_003,
        cost: Cost::Pass,
    },
    Entry {
        id: "DQ-004",
        params: &[],
        check: dq_004,
        cost: Cost::Pass,
    },
];
