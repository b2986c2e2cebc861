//! Decision proposals: the DMO's main input to steering. The open portfolio is ranked by the
//! common prioritisation (WSJF or CD3, `[reports] scoring`), each initiative's demand (in
//! full-time equivalents) is added up in rank order against the capacity line, and each gets a
//! proposed decision with the reasons behind it. Dependencies between initiatives are listed
//! with what is wrong with them: cycles, work depending on stopped or late work.

use super::{Chart, Table, allocation_fte, allocation_overlaps, fte, natural, pct};
use crate::config::{ReportsConfig, Scoring};
use std::collections::{BTreeMap, BTreeSet};
use tollgate_dmo::Severity;
use tollgate_dmo::calendar::{date_of, day_number};
use tollgate_dmo::rules::Portfolio;
use tollgate_dmo::rules::catalogue::is_stopped;
use tollgate_dmo::rules::portfolio::gate_number;
use tollgate_store::StoredFinding;

/// How far ahead demand and capacity are compared (a quarter).
pub const HORIZON_DAYS: i64 = 91;
/// Hours of one full-time person in [`HORIZON_DAYS`]: 13 weeks of 5 days of 7.5 hours.
pub const FTE_HOURS: f64 = 13.0 * 5.0 * 7.5;

/// A proposed steering decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Take it in (or keep it going): ranked within capacity, nothing serious open.
    Include,
    /// Not now: back to the next steering with what is missing or once capacity frees up.
    PassForward,
    /// Do not take it in: the case does not hold or what it needs was stopped.
    Reject,
    /// Take it out of the development portfolio: its case no longer holds.
    Remove,
}

impl Decision {
    /// As printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Include => "include",
            Decision::PassForward => "pass forward",
            Decision::Reject => "reject",
            Decision::Remove => "remove",
        }
    }
}

/// Whether a date falls in the [`HORIZON_DAYS`] up to and including `today`.
pub(crate) fn in_last_quarter(date: &str, today: i64) -> bool {
    day_number(date).is_some_and(|d| d > today - HORIZON_DAYS && d <= today)
}

/// The score of an initiative under the configured scoring, if it can be computed.
pub fn score(i: &tollgate_dmo::model::Initiative, scoring: Scoring, today: i64) -> Option<f64> {
    match scoring {
        Scoring::Wsjf => tollgate_dmo::finance::wsjf(
            i.user_business_value?,
            i.time_criticality?,
            i.risk_reduction?,
            i.job_size?,
        ),
        Scoring::Cd3 => {
            let end = i.planned_end.as_deref().and_then(day_number)?;
            let start = i
                .planned_start
                .as_deref()
                .and_then(day_number)
                .unwrap_or(today)
                .max(today);
            let months = ((end - start) as f64 / 30.44).max(1.0);
            tollgate_dmo::finance::cd3(i.cost_of_delay?, months)
        }
    }
}

/// An initiative's demand over the coming quarter, in FTE, and where the number came from:
/// its planned allocations if it has any then, else the hours logged on it in the last quarter.
pub fn demand(p: &Portfolio, key: &str, today: i64) -> Option<(f64, &'static str)> {
    let end = today + HORIZON_DAYS;
    let planned: f64 = p
        .allocations
        .iter()
        .filter(|a| a.initiative_key.as_deref() == Some(key))
        .filter(|a| allocation_overlaps(a, today, end))
        .map(|a| allocation_fte(p, a))
        .sum();
    if planned > 0.0 {
        return Some((planned, "planned allocation"));
    }
    let logged = p.hours(key, Some(today + 1), Some(today - HORIZON_DAYS));
    (logged > 0.0).then(|| (logged / FTE_HOURS, "logged last quarter"))
}

/// The capacity line in FTE and how it was found.
pub fn capacity(p: &Portfolio, today: i64, settings: &ReportsConfig) -> (f64, String) {
    if let Some(fte) = settings.capacity_fte {
        return (fte, format!("{fte:.1} FTE, as configured"));
    }
    let active = |start: Option<&str>, end: Option<&str>| {
        start.and_then(day_number).is_none_or(|s| s <= today)
            && end.and_then(day_number).is_none_or(|e| e >= today)
    };
    let listed: f64 = p
        .people
        .values()
        .filter(|x| active(x.start_date.as_deref(), x.end_date.as_deref()))
        .map(|x| x.fte.unwrap_or(1.0))
        .sum();
    let unlisted: BTreeSet<&str> = p
        .time_entries
        .iter()
        .filter(|t| in_last_quarter(&t.date, today) && !p.people.contains_key(&t.person))
        .map(|t| t.person.as_str())
        .collect();
    let people = listed + unlisted.len() as f64;
    let line = people * super::RESERVE_LINE / 100.0;
    (
        line,
        format!(
            "{line:.1} FTE: {listed:.1} FTE of listed people and {} more who logged time last quarter, at the {:.0} % reserve line",
            unlisted.len(),
            super::RESERVE_LINE
        ),
    )
}

/// Keys that can reach themselves through dependencies: each edge's cycle, as `A → B → A`.
fn cycles(p: &Portfolio) -> BTreeMap<(String, String), String> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in &p.dependencies {
        next.entry(d.from_key.as_str())
            .or_default()
            .push(d.to_key.as_str());
    }
    // A path from `from` to `to`, by breadth-first search.
    let path = |from: &str, to: &str| -> Option<Vec<String>> {
        let mut came: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([from]);
        let mut seen = BTreeSet::from([from]);
        while let Some(at) = queue.pop_front() {
            if at == to {
                let mut out = vec![to.to_string()];
                let mut k = to;
                while k != from {
                    k = came[k];
                    out.push(k.to_string());
                }
                out.reverse();
                return Some(out);
            }
            for n in next.get(at).into_iter().flatten() {
                if seen.insert(n) {
                    came.insert(n, at);
                    queue.push_back(n);
                }
            }
        }
        None
    };
    let mut out = BTreeMap::new();
    for d in &p.dependencies {
        if let Some(back) = path(&d.to_key, &d.from_key) {
            let mut ring = vec![d.from_key.clone()];
            ring.extend(back);
            out.insert((d.from_key.clone(), d.to_key.clone()), ring.join(" → "));
        }
    }
    out
}

fn is_done(p: &Portfolio, key: &str) -> bool {
    p.initiatives
        .get(key)
        .is_some_and(|(i, _)| i.status_category.as_deref() == Some("done"))
}

/// Why a dependency's target is late, if it is: its planned end or its gate decision passed.
fn late(p: &Portfolio, key: &str, today: i64) -> Option<String> {
    let (i, _) = p.initiatives.get(key)?;
    if is_done(p, key) {
        return None;
    }
    if let Some(d) = i
        .planned_end
        .as_deref()
        .and_then(day_number)
        .filter(|d| *d < today)
    {
        return Some(format!("{key} was planned to end on {}", date_of(d)));
    }
    let due = i.next_gate_due.as_deref().and_then(day_number)?;
    (due < today).then(|| {
        format!(
            "{key}'s gate decision was due on {} ({} days ago)",
            date_of(due),
            today - due
        )
    })
}

/// The decision-proposal and dependency tables of the steering pack.
pub fn tables(
    p: &Portfolio,
    open: &[&StoredFinding],
    today: i64,
    settings: &ReportsConfig,
) -> Vec<Table> {
    let cycles = cycles(p);
    // Dependency problems per dependent initiative.
    let mut dep_rows = Vec::new();
    let mut dep_problems: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for d in &p.dependencies {
        let mut flags = Vec::new();
        if let Some(ring) = cycles.get(&(d.from_key.clone(), d.to_key.clone())) {
            flags.push(format!("cycle: {ring}"));
        }
        if is_stopped(p, &d.to_key) {
            flags.push(format!("{} was stopped or rejected", d.to_key));
        } else if let Some(why) = late(p, &d.to_key, today) {
            flags.push(format!("late: {why}"));
        }
        if !p.initiatives.contains_key(&d.to_key) {
            flags.push(format!("{} is not in the portfolio", d.to_key));
        }
        if d.accepted != Some(true) {
            flags.push("not accepted by the providing side".into());
        }
        dep_problems.entry(d.from_key.as_str()).or_default().extend(
            flags
                .iter()
                .map(|f| format!("dependency on {}: {f}", d.to_key)),
        );
        let status = p
            .initiatives
            .get(&d.to_key)
            .map(|(i, _)| i.status.clone())
            .unwrap_or_else(|| "(unknown)".into());
        dep_rows.push(vec![
            d.from_key.clone(),
            d.to_key.clone(),
            d.kind.clone(),
            match d.accepted {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => "not said".into(),
            },
            status,
            if flags.is_empty() {
                "ok".into()
            } else {
                flags.join("\n")
            },
        ]);
    }
    dep_rows.sort_by(|a, b| {
        natural(&a[0])
            .cmp(&natural(&b[0]))
            .then(natural(&a[1]).cmp(&natural(&b[1])))
    });

    // Rank the open portfolio.
    let serious: BTreeMap<&str, Vec<&StoredFinding>> =
        open.iter().fold(BTreeMap::new(), |mut m, f| {
            if f.finding.subject.kind == "initiative" && f.finding.severity >= Severity::Error {
                m.entry(f.finding.subject.key.as_str())
                    .or_default()
                    .push(*f);
            }
            m
        });
    let mut ranked: Vec<(&str, Option<f64>)> = p
        .initiatives
        .values()
        .filter(|(i, _)| i.status_category.as_deref() != Some("done") && !is_stopped(p, &i.key))
        .map(|(i, _)| (i.key.as_str(), score(i, settings.scoring, today)))
        .collect();
    ranked.sort_by(|a, b| {
        b.1.unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.1.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| natural(a.0).cmp(&natural(b.0)))
    });
    let (line, line_note) = capacity(p, today, settings);
    let mut cumulative = 0.0;
    let mut rows = Vec::new();
    let mut chart_keys = Vec::new();
    let mut chart_cumulative = Vec::new();
    for (rank, (key, score)) in ranked.iter().enumerate() {
        let (i, _) = &p.initiatives[*key];
        let need = demand(p, key, today);
        cumulative += need.map_or(0.0, |(fte, _)| fte);
        let within = cumulative <= line + 1e-9;
        let in_portfolio = i
            .current_gate
            .as_deref()
            .and_then(gate_number)
            .is_some_and(|g| g >= 2);
        let npv = tollgate_dmo::rules::catalogue::cash_flows(p, key)
            .map(|(flows, rate, _)| tollgate_dmo::finance::npv(rate, &flows));
        let mut reasons: Vec<String> = Vec::new();
        let case_fails = npv.is_some_and(|v| v < 0.0);
        if case_fails {
            reasons.push(format!(
                "the business case has a negative NPV ({})",
                super::money(npv.unwrap_or(0.0))
            ));
        }
        let problems = dep_problems.get(key).cloned().unwrap_or_default();
        let needs_stopped = p
            .dependencies
            .iter()
            .any(|d| d.from_key == *key && is_stopped(p, &d.to_key));
        reasons.extend(problems.iter().cloned());
        for f in serious.get(key).into_iter().flatten() {
            reasons.push(format!(
                "{} {}: {}",
                f.finding.severity.as_str(),
                f.finding.rule_id,
                f.finding.title
            ));
        }
        if score.is_none() {
            reasons.push(match settings.scoring {
                Scoring::Wsjf => "no WSJF: a component or the job size is missing".into(),
                Scoring::Cd3 => "no CD3: the cost of delay or the planned end is missing".into(),
            });
        }
        if need.is_none() {
            reasons.push("no demand estimate: no allocation and no time logged".into());
        }
        if !within {
            reasons.push(format!(
                "below the capacity line ({cumulative:.1} FTE asked by this rank, {line:.1} available)"
            ));
        }
        let decision = if case_fails || needs_stopped {
            if in_portfolio {
                Decision::Remove
            } else {
                Decision::Reject
            }
        } else if reasons.is_empty() {
            Decision::Include
        } else {
            Decision::PassForward
        };
        if reasons.is_empty() {
            reasons.push(if in_portfolio {
                "within capacity, nothing serious open: continue".into()
            } else {
                "within capacity, nothing serious open".into()
            });
        }
        chart_keys.push(key.to_string());
        chart_cumulative.push(cumulative);
        rows.push(vec![
            (rank + 1).to_string(),
            key.to_string(),
            i.title.clone(),
            i.current_gate.clone().unwrap_or_default(),
            score
                .map(|s| format!("{s:.2}"))
                .unwrap_or_else(|| "–".into()),
            need.map(|(v, from)| format!("{} ({from})", fte(v)))
                .unwrap_or_else(|| "–".into()),
            fte(cumulative),
            if within { "above" } else { "below" }.into(),
            npv.map(super::money).unwrap_or_else(|| "–".into()),
            decision.as_str().into(),
            reasons.join("\n"),
        ]);
    }
    let method = match settings.scoring {
        Scoring::Wsjf => {
            "WSJF = (user-business value + time criticality + risk reduction) / job size"
        }
        Scoring::Cd3 => "CD3 = cost of delay per month / months left until the planned end",
    };
    vec![
        Table {
            name: "decision-proposals",
            title: "Decision proposals",
            note: format!(
                "The open portfolio ranked by {method}, highest first (unscored last). Demand is each initiative's FTE over the next {HORIZON_DAYS} days: its planned allocations, else the hours logged on it in the last {HORIZON_DAYS} days / {FTE_HOURS} hours per FTE. Capacity line: {line_note}. Proposed: include (within the line, nothing serious open); pass forward (to the next steering: something is missing, a blocker or error is open, a dependency is unsound, or it is below the line); reject (not yet in the development portfolio, and its business case has a negative NPV or it needs stopped work); remove (in the development portfolio, from G2 on, on the same grounds). Share of the line used: {}.",
                pct(if line > 0.0 { cumulative / line } else { 0.0 })
            ),
            columns: vec![
                "rank",
                "initiative",
                "title",
                "gate",
                "score",
                "demand (FTE)",
                "cumulative (FTE)",
                "capacity line",
                "NPV",
                "proposed",
                "why",
            ],
            rows,
            chart: Some(Chart::Bars {
                title: "Cumulative demand in rank order against the capacity line (FTE)".into(),
                categories: chart_keys,
                series: vec![("cumulative demand".into(), chart_cumulative)],
                stacked: false,
                line: Some(("capacity line".into(), line)),
            }),
        },
        Table {
            name: "dependencies",
            title: "Dependencies",
            note: "Each initiative's dependencies on others: cycles, dependencies on stopped, rejected or late work (planned end or gate decision passed) and unaccepted ones are flagged.".into(),
            columns: vec!["initiative", "depends on", "kind", "accepted", "status of the other", "flags"],
            rows: dep_rows,
            chart: None,
        },
    ]
}
