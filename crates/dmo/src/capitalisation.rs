//! Software capitalisation: logged effort (time entries at the people's cost rates) per
//! initiative and quarter, split into capitalisable and expensed by a policy, with the reason
//! for each part (docs/reports.md, "Capitalisation").
//!
//! The default policy: development work is capitalisable from the delivery gate's go decision
//! (G2, "start delivery") until go-live (a go at G3); before it (ideas, concepts, the business
//! case) and after it (running the service) it is expensed. Demand types that are expensed
//! whatever the gate (ideas and concepts) are expensed; continual-track work (no go-live) is
//! judged by its demand type alone.

use crate::calendar::day_number;
use crate::rules::Portfolio;
use crate::rules::portfolio::gate_number;
use serde::Serialize;

/// How effort is split (the host's `[reports.capitalisation]` settings).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The gate whose go (or conditional go) starts capitalisation: start of delivery.
    pub from_gate: String,
    /// The gate whose go ends it: go-live.
    pub until_gate: String,
    /// Demand types whose effort is always expensed.
    pub expensed_demand_types: Vec<String>,
    /// For continual-track work (development type `continual`, no go-live): the demand types
    /// whose effort is capitalisable; the rest (service changes: running the service) is
    /// expensed.
    pub continual_capitalisable_demand_types: Vec<String>,
}

impl Default for Policy {
    /// G2 to G3; ideas and concepts expensed; continual capability planning and increments
    /// capitalised.
    fn default() -> Self {
        Policy {
            from_gate: "G2".into(),
            until_gate: "G3".into(),
            expensed_demand_types: vec!["ideas-and-concepts".into()],
            continual_capitalisable_demand_types: vec![
                "capability-planning".into(),
                "increments-and-improvements".into(),
            ],
        }
    }
}

/// One initiative's effort in one quarter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Line {
    /// The initiative.
    pub key: String,
    /// The quarter, `YYYY-Qn`.
    pub quarter: String,
    /// Hours logged.
    pub hours: f64,
    /// Capitalisable cost.
    pub capitalisable: f64,
    /// Expensed cost.
    pub expensed: f64,
    /// Hours judged capitalisable (with a cost rate or without).
    pub capitalisable_hours: f64,
    /// Hours judged expensed.
    pub expensed_hours: f64,
    /// Hours without a cost rate (in neither cost).
    pub unpriced_hours: f64,
    /// The currency of the rates used (the first met).
    pub currency: Option<String>,
    /// Why, per reason: the hours it covers, ordered by reason. A list, not a map: a line
    /// has one to three reasons, and a map's node for them took ~350 bytes (at 10,000
    /// initiatives, 10 MB of the report's 100).
    pub evidence: Vec<(String, f64)>,
}

/// The day of the first go (or conditional go) at `gate` on an initiative.
fn go_at(p: &Portfolio, key: &str, gate: &str) -> Option<i64> {
    let wanted = gate_number(gate);
    p.decisions(key)
        .filter(|g| {
            (g.gate.eq_ignore_ascii_case(gate)
                || (wanted.is_some() && gate_number(&g.gate) == wanted))
                && matches!(g.decision.as_str(), "go" | "conditional-go")
        })
        .filter_map(|g| g.date.as_deref().and_then(day_number))
        .min()
}

/// How one initiative's effort is judged: once per initiative, then per day.
enum Verdict {
    /// The same whatever the day (demand type, continual work, unknown initiative).
    Always(bool, String),
    /// Capitalisable from the `from` go until the `until` go.
    Window {
        from: Option<i64>,
        until: Option<i64>,
        before: String,
        during: String,
        after: String,
    },
}

impl Verdict {
    fn new(p: &Portfolio, policy: &Policy, key: &str) -> Verdict {
        let Some((i, _)) = p.initiatives.get(key) else {
            return Verdict::Always(
                false,
                "expensed: not an initiative the trackers know".into(),
            );
        };
        let demand = i.demand_type.as_deref().unwrap_or("");
        if policy.expensed_demand_types.iter().any(|d| d == demand) {
            return Verdict::Always(false, format!("expensed: demand type {demand}"));
        }
        if i.development_type.as_deref() == Some("continual") {
            return if policy
                .continual_capitalisable_demand_types
                .iter()
                .any(|d| d == demand)
            {
                Verdict::Always(
                    true,
                    format!("capitalisable: continual development of {demand}"),
                )
            } else {
                Verdict::Always(
                    false,
                    format!(
                        "expensed: continual {}",
                        if demand.is_empty() {
                            "work without a demand type"
                        } else {
                            demand
                        }
                    ),
                )
            };
        }
        Verdict::Window {
            from: go_at(p, key, &policy.from_gate),
            until: go_at(p, key, &policy.until_gate),
            before: format!("expensed: before the {} go", policy.from_gate),
            during: format!(
                "capitalisable: development between the {} and {} go",
                policy.from_gate, policy.until_gate
            ),
            after: format!("expensed: after go-live (the {} go)", policy.until_gate),
        }
    }

    fn on(&self, day: i64) -> (bool, &str) {
        match self {
            Verdict::Always(c, why) => (*c, why),
            Verdict::Window {
                from,
                until,
                before,
                during,
                after,
            } => match (from, until) {
                (None, _) => (false, before),
                (Some(f), _) if day < *f => (false, before),
                (Some(_), Some(u)) if day >= *u => (false, after),
                _ => (true, during),
            },
        }
    }
}

/// Effort per initiative and quarter, split by `policy`, by initiative then quarter.
pub fn split(p: &Portfolio, policy: &Policy) -> Vec<Line> {
    let mut verdicts: crate::HashMap<&str, Verdict> = Default::default();
    // The lines in a list and their places by initiative and quarter in a map: a map of
    // whole lines took twice the room as it grew (a line is ~150 bytes, a place 4).
    let mut lines: Vec<Line> = Vec::new();
    let mut places: crate::HashMap<(&str, i64), u32> = Default::default();
    for t in &p.time_entries {
        let Some(key) = p.initiative_of(t) else {
            continue;
        };
        let Some(day) = t.day else {
            continue;
        };
        let year: i64 = t.date[..4].parse().unwrap_or(0);
        let month: i64 = t.date.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
        let quarter = year * 4 + (month - 1) / 3;
        let hours = t.seconds as f64 / 3600.0;
        let verdict = verdicts
            .entry(key)
            .or_insert_with(|| Verdict::new(p, policy, key));
        let (capitalisable, reason) = verdict.on(day);
        let place = *places.entry((key, quarter)).or_insert_with(|| {
            lines.push(Line {
                key: key.to_string(),
                quarter: format!("{year}-Q{}", quarter - year * 4 + 1),
                ..Line::default()
            });
            u32::try_from(lines.len() - 1).expect("fewer than 2^32 lines")
        });
        let line = &mut lines[place as usize];
        line.hours += hours;
        match line.evidence.iter_mut().find(|(why, _)| why == reason) {
            Some((_, h)) => *h += hours,
            None => line.evidence.push((reason.to_string(), hours)),
        }
        if capitalisable {
            line.capitalisable_hours += hours;
        } else {
            line.expensed_hours += hours;
        }
        match p.hourly_rate(t.person, t.date) {
            Some((rate, currency)) => {
                if line.currency.is_none() {
                    line.currency = Some(currency.to_string());
                }
                if capitalisable {
                    line.capitalisable += hours * rate;
                } else {
                    line.expensed += hours * rate;
                }
            }
            None => line.unpriced_hours += hours,
        }
    }
    drop(places);
    for line in &mut lines {
        line.evidence.sort_by(|a, b| a.0.cmp(&b.0));
        line.evidence.shrink_to_fit();
    }
    lines.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.quarter.cmp(&b.quarter)));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::rules::test_support::record_with_id;

    #[test]
    fn delivery_between_the_gates_is_capitalised_the_rest_expensed() {
        let decision = |gate: &str, date: &str| {
            Entity::GateDecision(GateDecision {
                initiative_key: "BIZ-1".into(),
                gate: gate.into(),
                decision: "go".into(),
                decider: None,
                date: Some(date.into()),
                conditions: None,
            })
        };
        let entry = |date: &str, hours: u64| {
            Entity::TimeEntry(TimeEntry {
                person: "p".into(),
                work_item_key: None,
                initiative_key: Some("BIZ-1".into()),
                date: date.into(),
                started: None,
                seconds: hours * 3600,
                description: None,
            })
        };
        let epic = Initiative {
            demand_type: Some("capability-planning".into()),
            development_type: Some("sequential".into()),
            current_gate: Some("G3".into()),
            ..crate::rules::test_support::bare_initiative("BIZ-1")
        };
        let records = vec![
            Entity::Initiative(Box::new(epic)),
            decision("G2", "2026-02-01"),
            decision("G3", "2026-05-01"),
            Entity::CostRate(CostRate {
                person: Some("p".into()),
                role: None,
                hourly_rate: 100.0,
                currency: "EUR".into(),
                valid_from: None,
                valid_to: None,
            }),
            entry("2026-01-20", 10), // before G2: expensed
            entry("2026-02-10", 20), // delivery: capitalisable
            entry("2026-03-31", 5),  // delivery
            entry("2026-05-02", 8),  // after go-live: expensed
        ];
        let p = Portfolio::new(
            records
                .into_iter()
                .enumerate()
                .map(|(n, e)| record_with_id(n.to_string(), e)),
            vec![],
        );
        let lines = split(&p, &Policy::default());
        let q: Vec<(&str, f64, f64)> = lines
            .iter()
            .map(|l| (l.quarter.as_str(), l.capitalisable, l.expensed))
            .collect();
        assert_eq!(q, [("2026-Q1", 2500.0, 1000.0), ("2026-Q2", 0.0, 800.0)]);
        // The reasons in their order, each with its hours.
        assert_eq!(
            lines[0].evidence,
            [
                (
                    "capitalisable: development between the G2 and G3 go".to_string(),
                    25.0
                ),
                ("expensed: before the G2 go".to_string(), 10.0),
            ]
        );
        assert_eq!(
            lines[1].evidence,
            [("expensed: after go-live (the G3 go)".to_string(), 8.0)]
        );
        // Ideas and concepts are expensed whatever the gates say.
        let mut p = p;
        p.initiatives.get_mut("BIZ-1").unwrap().0.demand_type = Some("ideas-and-concepts".into());
        assert!(
            split(&p, &Policy::default())
                .iter()
                .all(|l| l.capitalisable == 0.0)
        );
    }
}
