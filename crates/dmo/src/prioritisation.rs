//! Prioritisation and capacity: the maths behind the steering pack's decision proposals.
//!
//! The open portfolio is ranked by the common prioritisation (WSJF or CD3), each initiative's
//! demand over the coming quarter (in full-time equivalents) is added up in rank order against
//! the capacity line, and each gets a proposed decision with every reason behind it.
//! Dependencies between initiatives are checked for cycles, for work depending on stopped or
//! late work, and for agreements not yet given.

use crate::calendar::{date_of, day_number};
use crate::model::{Allocation, Initiative};
use crate::rules::Portfolio;
use crate::rules::catalogue::is_stopped;
use crate::rules::portfolio::gate_number;
use crate::{Severity, finance};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How far ahead demand and capacity are compared (a quarter), in days.
pub const HORIZON_DAYS: i64 = 91;
/// Hours of one full-time person in [`HORIZON_DAYS`]: 13 weeks of 5 days of 7.5 hours.
pub const FTE_HOURS: f64 = 13.0 * 5.0 * 7.5;
/// The reserve line: a team planned above this share of its time (in %) leaves nothing for the
/// unplanned (the 70-80 % rule).
pub const RESERVE_LINE: f64 = 80.0;

/// How the demand portfolio is ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scoring {
    /// SAFe WSJF: (business value + time criticality + risk reduction) / job size.
    #[default]
    Wsjf,
    /// Cost of delay divided by duration: monetary cost of delay per month / months left.
    Cd3,
}

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

/// Whether a date falls in the [`HORIZON_DAYS`] up to and including `today` (a day number).
pub fn in_last_quarter(date: &str, today: i64) -> bool {
    let (first, last) = last_quarter(today);
    day_number(date).is_some_and(|d| first <= d && d <= last)
}

/// The first and the last day (day numbers) of the [`HORIZON_DAYS`] up to `today`: the only
/// time logged that the capacity line ([`capacity`]) and an initiative's [`demand`] count,
/// so all the time a reader of them alone needs.
pub fn last_quarter(today: i64) -> (i64, i64) {
    (today - HORIZON_DAYS + 1, today)
}

/// Whether an allocation covers any day of `start..=end` (an open end covers all).
pub fn allocation_overlaps(a: &Allocation, start: i64, end: i64) -> bool {
    let from = a.from.as_deref().and_then(day_number).unwrap_or(i64::MIN);
    let to = a.to.as_deref().and_then(day_number).unwrap_or(i64::MAX);
    from <= end && to >= start
}

/// An allocation in full-time equivalents: its share of the person's FTE (1 when unknown).
pub fn allocation_fte(p: &Portfolio, a: &Allocation) -> f64 {
    a.percent / 100.0 * p.people.get(&a.person).and_then(|x| x.fte).unwrap_or(1.0)
}

/// The score of an initiative under `scoring`, if it can be computed.
pub fn score(i: &Initiative, scoring: Scoring, today: i64) -> Option<f64> {
    match scoring {
        Scoring::Wsjf => finance::wsjf(
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
            finance::cd3(i.cost_of_delay?, months)
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

/// How capacity and demand are defined: one definition for the steering pack, the quarterly
/// review and the dashboard.
pub fn capacity_definition() -> String {
    format!(
        "Capacity is the people's FTE (1 when not given; those active today, and one for each person who logged time last quarter without being listed) at the {RESERVE_LINE:.0} % reserve line, unless [reports] capacity_fte sets the line. Demand is each open initiative's FTE over the next {HORIZON_DAYS} days: its planned allocations, else the hours logged on it in the last {HORIZON_DAYS} days / {FTE_HOURS} hours per FTE."
    )
}

/// Whether an initiative is in the open portfolio: not done and not stopped.
pub fn is_open(p: &Portfolio, i: &Initiative) -> bool {
    i.status_category.as_deref() != Some("done") && !is_stopped(p, &i.key)
}

/// The open portfolio's demand over the coming quarter, in FTE: each open initiative's
/// [`demand`], added up (what the decision proposals hold against the capacity line).
pub fn portfolio_demand(p: &Portfolio, today: i64) -> f64 {
    p.initiatives
        .values()
        .filter(|(i, _)| is_open(p, i))
        .filter_map(|(i, _)| demand(p, &i.key, today))
        .map(|(fte, _)| fte)
        .sum()
}

/// Whether a person works here on day `today` (no start or end date: always).
pub fn is_active(x: &crate::model::Person, today: i64) -> bool {
    x.start_date
        .as_deref()
        .and_then(day_number)
        .is_none_or(|s| s <= today)
        && x.end_date
            .as_deref()
            .and_then(day_number)
            .is_none_or(|e| e >= today)
}

/// The capacity line in FTE and how it was found: `configured`, else the people the portfolio
/// knows (their FTE, or 1, and one for each person who logged time last quarter without being
/// listed) at the [`RESERVE_LINE`].
pub fn capacity(p: &Portfolio, today: i64, configured: Option<f64>) -> (f64, String) {
    if let Some(fte) = configured {
        return (fte, format!("{fte:.1} FTE, as configured"));
    }
    let listed: f64 = p
        .people
        .values()
        .filter(|x| is_active(x, today))
        .map(|x| x.fte.unwrap_or(1.0))
        .sum();
    let unlisted: BTreeSet<&str> = p
        .time_entries
        .iter()
        .filter(|t| in_last_quarter(t.date, today) && !p.people.contains_key(t.person))
        .map(|t| t.person)
        .collect();
    let people = listed + unlisted.len() as f64;
    let line = people * RESERVE_LINE / 100.0;
    (
        line,
        format!(
            "{line:.1} FTE: {listed:.1} FTE of listed people and {} more who logged time last quarter, at the {RESERVE_LINE:.0} % reserve line",
            unlisted.len(),
        ),
    )
}

/// Keys that can reach themselves through dependencies: each edge's cycle, as `A → B → A`.
pub fn cycles(p: &Portfolio) -> BTreeMap<(String, String), String> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in &p.dependencies {
        next.entry(d.from_key.as_str())
            .or_default()
            .push(d.to_key.as_str());
    }
    // A path from `from` to `to`, by breadth-first search.
    let path = |from: &str, to: &str| -> Option<Vec<String>> {
        let mut came: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([from]);
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

/// Why an initiative is late, if it is: its planned end or its gate decision passed.
pub fn late(p: &Portfolio, key: &str, today: i64) -> Option<String> {
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
            "{key}'s gate decision was due on {} ({} ago)",
            date_of(due),
            match today - due {
                1 => "1 day".to_string(),
                n => format!("{n} days"),
            }
        )
    })
}

/// One dependency with what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct DependencyCheck {
    /// The dependent initiative.
    pub from_key: String,
    /// What it depends on.
    pub to_key: String,
    /// The kind of dependency.
    pub kind: String,
    /// Whether the providing side agreed.
    pub accepted: Option<bool>,
    /// Status of the initiative depended on (`None`: not in the portfolio).
    pub to_status: Option<String>,
    /// What is wrong: a cycle, stopped or late work, not in the portfolio, not accepted.
    pub flags: Vec<String>,
}

/// Every dependency of the portfolio, checked.
pub fn check_dependencies(p: &Portfolio, today: i64) -> Vec<DependencyCheck> {
    let cycles = cycles(p);
    p.dependencies
        .iter()
        .map(|d| {
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
            DependencyCheck {
                from_key: d.from_key.clone(),
                to_key: d.to_key.clone(),
                kind: d.kind.clone(),
                accepted: d.accepted,
                to_status: p.initiatives.get(&d.to_key).map(|(i, _)| i.status.clone()),
                flags,
            }
        })
        .collect()
}

/// One ranked initiative with its proposed decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// Initiative key.
    pub key: String,
    /// Its score, if it can be computed.
    pub score: Option<f64>,
    /// Its demand in FTE over the coming quarter, and where the number came from.
    pub demand: Option<(f64, &'static str)>,
    /// Demand of this and every higher-ranked initiative.
    pub cumulative: f64,
    /// Whether the cumulative demand stays within the capacity line.
    pub within: bool,
    /// NPV of its business case, if it has one.
    pub npv: Option<f64>,
    /// The proposal.
    pub decision: Decision,
    /// Every reason, in words; at least one.
    pub reasons: Vec<String>,
    /// Set when its score equals the one ranked just above it: what put it below (a lower
    /// cost of delay, a younger demand, or only the key).
    pub tie: Option<String>,
}

/// An open finding as [`propose`] weighs it: what it is about, how serious, and the rule that
/// found it (named in the reasons).
#[derive(Debug, Clone, Copy)]
pub struct FindingRef<'a> {
    /// The kind of what it is about.
    pub kind: crate::rules::SubjectKind,
    /// The key of what it is about.
    pub key: &'a str,
    /// Its severity.
    pub severity: Severity,
    /// The rule's id.
    pub rule_id: &'a str,
    /// The rule's title.
    pub title: &'a str,
}

/// The proposals: the open portfolio (not done, not stopped) ranked by `scoring` (unscored
/// last), with the capacity line (in FTE) they were held against. Equal scores are ranked by
/// the cost of delay (higher first, none last), then by the age of the demand (created
/// earlier first), then by key; each says so (`tie`). `open` are the open findings; those of
/// severity error or worse about an initiative keep it back.
pub fn propose(
    p: &Portfolio,
    open: &[FindingRef<'_>],
    today: i64,
    scoring: Scoring,
    line: f64,
) -> Vec<Proposal> {
    let mut dependency_problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in check_dependencies(p, today) {
        dependency_problems
            .entry(d.from_key.clone())
            .or_default()
            .extend(
                d.flags
                    .iter()
                    .map(|f| format!("dependency on {}: {f}", d.to_key)),
            );
    }
    let mut serious: BTreeMap<&str, Vec<&FindingRef>> = BTreeMap::new();
    for f in open {
        if f.kind == crate::rules::SubjectKind::Initiative && f.severity >= Severity::Error {
            serious.entry(f.key).or_default().push(f);
        }
    }
    let mut ranked: Vec<(&str, Option<f64>)> = p
        .initiatives
        .values()
        .filter(|(i, _)| is_open(p, i))
        .map(|(i, _)| (i.key.as_str(), score(i, scoring, today)))
        .collect();
    let cost_of_delay = |key: &str| {
        p.initiatives[key]
            .0
            .cost_of_delay
            .filter(|c| c.is_finite())
            .unwrap_or(f64::NEG_INFINITY)
    };
    let age = |key: &str| {
        p.initiatives[key]
            .0
            .created
            .as_deref()
            .and_then(|c| day_number(c.get(..10).unwrap_or(c)))
            .unwrap_or(i64::MAX)
    };
    ranked.sort_by(|a, b| {
        b.1.unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.1.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| cost_of_delay(b.0).total_cmp(&cost_of_delay(a.0)))
            .then_with(|| age(a.0).cmp(&age(b.0)))
            .then_with(|| natural(a.0).cmp(&natural(b.0)))
    });
    let mut cumulative = 0.0;
    let mut out: Vec<Proposal> = Vec::new();
    let mut above: Option<(&str, Option<f64>)> = None;
    for (key, score) in ranked {
        let (i, _) = &p.initiatives[key];
        let tie = match above {
            Some((prev, prev_score)) if prev_score == score => Some(format!(
                "tied with {prev} ({}): ranked below it by {}",
                score.map_or("no score".to_string(), |s| format!("score {s:.2}")),
                if cost_of_delay(prev) != cost_of_delay(key) {
                    "its lower cost of delay"
                } else if age(prev) != age(key) {
                    "its younger demand"
                } else {
                    "key"
                }
            )),
            _ => None,
        };
        above = Some((key, score));
        let need = demand(p, key, today);
        cumulative += need.map_or(0.0, |(fte, _)| fte);
        let within = cumulative <= line + 1e-9;
        let in_portfolio = i
            .current_gate
            .as_deref()
            .and_then(gate_number)
            .is_some_and(|g| g >= 2);
        let npv = crate::cases::case_flows(p, key)
            .and_then(Result::ok)
            .and_then(|c| crate::cases::measures(&c).npv);
        let mut reasons: Vec<String> = Vec::new();
        let case_fails = npv.is_some_and(|v| v < 0.0);
        if let Some(v) = npv.filter(|_| case_fails) {
            reasons.push(format!(
                "the business case has a negative NPV ({})",
                money_in(v, p.currency(key))
            ));
        }
        let needs_stopped = p
            .dependencies
            .iter()
            .any(|d| d.from_key == key && is_stopped(p, &d.to_key));
        reasons.extend(dependency_problems.get(key).cloned().unwrap_or_default());
        for f in serious.get(key).into_iter().flatten() {
            reasons.push(format!(
                "{} {}: {}",
                f.severity.as_str(),
                f.rule_id,
                f.title
            ));
        }
        if score.is_none() {
            reasons.push(match scoring {
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
        out.push(Proposal {
            key: key.to_string(),
            score,
            demand: need,
            cumulative,
            within,
            npv,
            decision,
            reasons,
            tie,
        });
    }
    out
}

/// `BIZ-9` before `BIZ-10`: keys ordered by their prefix, then their number.
pub fn natural(key: &str) -> (String, u64) {
    match key.rsplit_once('-') {
        Some((p, n)) if n.chars().all(|c| c.is_ascii_digit()) => {
            (p.to_string(), n.parse().unwrap_or(0))
        }
        _ => (key.to_string(), 0),
    }
}

/// An amount with its currency code after it, when known: `44 691 EUR`.
pub fn money_in(v: f64, currency: Option<&str>) -> String {
    match currency {
        Some(c) => format!("{} {c}", money(v)),
        None => money(v),
    }
}

/// An amount rounded to the unit with thin groups of three: `−1 234 567`.
pub fn money(v: f64) -> String {
    // Never a saturated integer or "NaN": what is not a finite number reads as not computed.
    if !v.is_finite() || v.abs() >= 1e18 {
        return "–".into();
    }
    let n = v.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::rules::test_support::record_with_id;

    fn initiative(key: &str, gate: &str) -> Initiative {
        Initiative {
            current_gate: Some(gate.into()),
            cost_of_delay: Some(30_000.0),
            user_business_value: Some(8.0),
            time_criticality: Some(5.0),
            risk_reduction: Some(3.0),
            job_size: Some(8.0),
            planned_start: Some("2026-01-01".into()),
            planned_end: Some("2027-06-30".into()),
            ..crate::rules::test_support::bare_initiative(key)
        }
    }

    fn portfolio(entities: Vec<Entity>) -> Portfolio {
        Portfolio::new(
            entities
                .into_iter()
                .enumerate()
                .map(|(n, e)| record_with_id(format!("r{n}"), e)),
            vec![],
        )
    }

    fn dependency(from: &str, to: &str) -> Entity {
        Entity::Dependency(Dependency {
            from_key: from.into(),
            to_key: to.into(),
            kind: "needs".into(),
            accepted: Some(true),
        })
    }

    fn allocation(person: &str, key: &str, percent: f64) -> Entity {
        Entity::Allocation(Allocation {
            person: person.into(),
            initiative_key: Some(key.into()),
            team: None,
            percent,
            from: None,
            to: None,
        })
    }

    #[test]
    fn scores_by_wsjf_and_cd3() {
        let today = day_number("2026-11-27").unwrap();
        let i = initiative("A-1", "G1");
        assert_eq!(
            score(&i, Scoring::Wsjf, today),
            Some(2.0),
            "(8 + 5 + 3) / 8"
        );
        let cd3 = score(&i, Scoring::Cd3, today).unwrap();
        // 30 000 a month over the months from today to the planned end (about 19).
        assert!((cd3 - 30_000.0 / (215.0 / 30.44)).abs() < 1.0, "{cd3}");
        let no_size = Initiative {
            job_size: None,
            ..initiative("A-2", "G1")
        };
        assert_eq!(score(&no_size, Scoring::Wsjf, today), None);
    }

    #[test]
    fn dependency_cycles_are_named_as_rings() {
        let p = portfolio(vec![
            Entity::Initiative(Box::new(initiative("A-1", "G1"))),
            Entity::Initiative(Box::new(initiative("A-2", "G1"))),
            Entity::Initiative(Box::new(initiative("A-3", "G1"))),
            dependency("A-1", "A-2"),
            dependency("A-2", "A-3"),
            dependency("A-3", "A-1"),
        ]);
        let c = cycles(&p);
        assert_eq!(c[&("A-1".into(), "A-2".into())], "A-1 → A-2 → A-3 → A-1");
        assert_eq!(c.len(), 3);
        let checks = check_dependencies(&p, day_number("2026-11-27").unwrap());
        assert!(checks.iter().all(|d| d.flags[0].starts_with("cycle: ")));
    }

    #[test]
    fn demand_is_added_up_in_rank_order_against_the_line() {
        let today = day_number("2026-11-27").unwrap();
        let mut low = initiative("A-2", "G2");
        low.user_business_value = Some(1.0);
        let p = portfolio(vec![
            Entity::Initiative(Box::new(initiative("A-1", "G2"))),
            Entity::Initiative(Box::new(low)),
            allocation("p1", "A-1", 100.0),
            allocation("p2", "A-2", 100.0),
        ]);
        let (line, note) = capacity(&p, today, Some(1.5));
        assert_eq!(line, 1.5);
        assert!(note.contains("as configured"));
        let proposals = propose(&p, &[], today, Scoring::Wsjf, line);
        let keys: Vec<&str> = proposals.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(keys, ["A-1", "A-2"], "highest score first");
        assert_eq!(proposals[0].decision, Decision::Include);
        assert_eq!(proposals[0].demand, Some((1.0, "planned allocation")));
        assert_eq!(proposals[1].cumulative, 2.0);
        assert_eq!(proposals[1].decision, Decision::PassForward);
        assert!(proposals[1].reasons[0].contains("below the capacity line"));
    }

    #[test]
    fn the_default_line_is_the_people_at_the_reserve_line() {
        let today = day_number("2026-11-27").unwrap();
        let person = |id: &str, fte: f64| {
            Entity::Person(Person {
                id: id.into(),
                name: id.into(),
                email: None,
                team: None,
                role: None,
                resource_owner: None,
                fte: Some(fte),
                hours_per_day: None,
                start_date: None,
                end_date: None,
            })
        };
        let p = portfolio(vec![person("p1", 1.0), person("p2", 0.5)]);
        let (line, _) = capacity(&p, today, None);
        assert!((line - 1.5 * RESERVE_LINE / 100.0).abs() < 1e-9, "{line}");
    }

    #[test]
    fn ties_are_shown_and_broken_by_cost_of_delay_then_age_then_key() {
        let today = day_number("2026-11-27").unwrap();
        let with = |key: &str, cod: f64, created: &str| {
            let mut i = initiative(key, "G2");
            i.cost_of_delay = Some(cod);
            i.created = Some(created.into());
            Entity::Initiative(Box::new(i))
        };
        let p = portfolio(vec![
            with("A-1", 10_000.0, "2026-03-01"),
            with("A-2", 20_000.0, "2026-05-01"),
            with("A-3", 10_000.0, "2026-01-01"),
            with("A-4", 10_000.0, "2026-03-01"),
        ]);
        let out = propose(&p, &[], today, Scoring::Wsjf, 100.0);
        let order: Vec<(&str, Option<&str>)> = out
            .iter()
            .map(|x| (x.key.as_str(), x.tie.as_deref()))
            .collect();
        assert_eq!(
            order,
            [
                ("A-2", None),
                (
                    "A-3",
                    Some("tied with A-2 (score 2.00): ranked below it by its lower cost of delay")
                ),
                (
                    "A-1",
                    Some("tied with A-3 (score 2.00): ranked below it by its younger demand")
                ),
                (
                    "A-4",
                    Some("tied with A-1 (score 2.00): ranked below it by key")
                ),
            ]
        );
    }

    #[test]
    fn keys_sort_naturally() {
        let mut keys = vec!["BIZ-10", "BIZ-9", "ABC-2"];
        keys.sort_by_key(|k| natural(k));
        assert_eq!(keys, ["ABC-2", "BIZ-9", "BIZ-10"]);
        assert_eq!(money(-1234567.4), "−1 234 567");
    }
}
