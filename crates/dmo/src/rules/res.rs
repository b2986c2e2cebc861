//! Resources (RES): allocation, the reserve line, team size and shares of people.

use super::catalogue::*;
use super::portfolio::gate_number;
use super::{Context, Portfolio, RuleConfig, SubjectKind};
use crate::Severity;
use crate::calendar::day_number;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Allocations active on `day` for a person.
pub(crate) fn active_on<'p>(
    p: &'p Portfolio,
    person: &'p str,
    day: i64,
) -> impl Iterator<Item = &'p crate::model::Allocation> {
    p.allocations_of(person).filter(move |a| {
        a.from
            .as_deref()
            .and_then(day_number)
            .is_none_or(|f| f <= day)
            && a.to
                .as_deref()
                .and_then(day_number)
                .is_none_or(|t| day <= t)
    })
}

pub(crate) fn persons_with_allocations(p: &Portfolio) -> BTreeSet<&str> {
    p.allocations.iter().map(|a| a.person.as_str()).collect()
}

/// The days on which a person's allocations change (their starts), or one day if undated.
pub(crate) fn change_days(p: &Portfolio, person: &str) -> Vec<i64> {
    let mut days: Vec<i64> = p
        .allocations_of(person)
        .map(|a| {
            a.from
                .as_deref()
                .and_then(day_number)
                .unwrap_or(i64::MIN / 2)
        })
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

pub(crate) fn res_001(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max = rule.p("max_percent");
    for person in persons_with_allocations(p) {
        let worst = change_days(p, person)
            .into_iter()
            .map(|d| (active_on(p, person, d).map(|a| a.percent).sum::<f64>(), d))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((total, day)) = worst.filter(|(t, _)| *t > max) {
            let parts: Vec<String> = active_on(p, person, day)
                .map(|a| {
                    format!(
                        "{} {} %",
                        a.initiative_key
                            .as_deref()
                            .or(a.team.as_deref())
                            .unwrap_or("?"),
                        a.percent
                    )
                })
                .collect();
            out.emit(
                None,
                (SubjectKind::Person, person),
                "",
                format!(
                    "{person} is allocated {total} % at once ({}).",
                    parts.join(" + ")
                ),
                json!({"total_percent": total, "allocations": parts}),
            );
        }
    }
}

pub(crate) fn res_003(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let (warn, err) = (rule.p("warning_ratio"), rule.p("error_ratio"));
    for team in p.teams.keys() {
        let members: Vec<_> = p
            .people
            .values()
            .filter(|m| m.team.as_deref() == Some(team))
            .collect();
        let gross: f64 = members.iter().map(|m| m.fte.unwrap_or(1.0)).sum();
        if gross <= 0.0 {
            continue;
        }
        // Committed share of each member at their busiest point, weighted by FTE.
        let committed: f64 = members
            .iter()
            .map(|m| {
                let peak = change_days(p, &m.id)
                    .into_iter()
                    .map(|d| active_on(p, &m.id, d).map(|a| a.percent).sum::<f64>())
                    .fold(0.0, f64::max);
                peak / 100.0 * m.fte.unwrap_or(1.0)
            })
            .sum();
        let ratio = committed / gross;
        if ratio > warn {
            let severity = (ratio > err).then_some(Severity::Error);
            out.emit(severity, (SubjectKind::Team, team), "", format!("Team {team} has {:.0} % of its capacity committed; keep it within {:.0} % so there is room for the unplanned.", 100.0 * ratio, 100.0 * warn), json!({"committed_fte": committed, "gross_fte": gross, "reserve_ratio": ratio}));
        }
    }
}

pub(crate) fn res_004(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let (min, max) = (rule.p("min_size"), rule.p("max_size"));
    for team in p.teams.keys() {
        let size = p
            .people
            .values()
            .filter(|m| m.team.as_deref() == Some(team))
            .count() as f64;
        if size < min || size > max {
            out.emit(
                None,
                (SubjectKind::Team, team),
                "",
                format!("Team {team} has {size} members; teams of {min}–{max} work best."),
                json!({"members": size, "min": min, "max": max}),
            );
        }
    }
}

pub(crate) fn res_005(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max = rule.p("max_percent");
    for a in p
        .allocations
        .iter()
        .filter(|a| a.percent > 0.0 && a.percent <= max)
    {
        let target = a
            .initiative_key
            .as_deref()
            .or(a.team.as_deref())
            .unwrap_or("?");
        out.emit(None, (SubjectKind::Person, &a.person), target, format!("{} is allocated only {} % to {target}: slices this thin cost more in switching than they deliver.", a.person, a.percent), json!({"percent": a.percent, "target": target, "threshold_percent": max}));
    }
}

pub(crate) fn res_006(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max = rule.p("max_initiatives");
    for person in persons_with_allocations(p) {
        let most = change_days(p, person)
            .into_iter()
            .map(|d| {
                active_on(p, person, d)
                    .filter_map(|a| a.initiative_key.clone())
                    .collect::<BTreeSet<_>>()
            })
            .max_by_key(|s| s.len())
            .unwrap_or_default();
        if most.len() as f64 > max {
            out.emit(
                None,
                (SubjectKind::Person, person),
                "",
                format!(
                    "{person} works on {} initiatives at once ({}).",
                    most.len(),
                    most.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                json!({"initiatives": most}),
            );
        }
    }
}

pub(crate) fn res_002(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let availability = rule.p("availability");
    for person in persons_with_allocations(p) {
        let peak = change_days(p, person)
            .into_iter()
            .map(|d| active_on(p, person, d).map(|a| a.percent).sum::<f64>())
            .fold(0.0, f64::max);
        if peak > 100.0 * availability && peak <= 100.0 {
            out.emit(None, (SubjectKind::Person, person), "", format!("{person} is planned at {peak} % of their time; with meetings, support and absences about {:.0} % is really available.", 100.0 * availability), json!({"planned_percent": peak, "availability": availability}));
        }
    }
}

/// `YYYY-MM` of a date.
pub(crate) fn month_of(date: &str) -> Option<&str> {
    date.get(..7)
}

pub(crate) fn res_007(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let (max_dev, days) = (rule.p("max_deviation"), rule.p("working_days_per_month"));
    // Whole seconds added up: the same sum in whatever order the entries come. Summed by the
    // number of the entries' person and their month (a million entries, each looked up by
    // its texts, took a twentieth of a check's CPU), each date's month read once; then in
    // the order of the texts.
    let mut month_of_date = crate::HashMap::<u32, Option<&str>>::default();
    let mut by_number = crate::HashMap::<(u32, &str), u64>::default();
    for (person, date, seconds) in p.time_entries.by_numbers() {
        let month = *month_of_date
            .entry(date)
            .or_insert_with(|| month_of(p.time_entries.name(date)));
        if let Some(month) = month {
            let sum = by_number.entry((person, month)).or_default();
            *sum = sum.saturating_add(seconds);
        }
    }
    let logged: BTreeMap<(&str, &str), u64> = by_number
        .into_iter()
        .map(|((person, month), seconds)| ((p.time_entries.name(person), month), seconds))
        .collect();
    for ((person, month), seconds) in logged {
        let actual = seconds as f64 / 3600.0;
        let Some(mid) = day_number(&format!("{month}-15")) else {
            continue;
        };
        let percent: f64 = active_on(p, person, mid).map(|a| a.percent).sum();
        if percent <= 0.0 {
            continue;
        }
        let hours_per_day = p
            .people
            .get(person)
            .and_then(|x| x.hours_per_day)
            .unwrap_or(7.5);
        let fte = p.people.get(person).and_then(|x| x.fte).unwrap_or(1.0);
        let planned = percent / 100.0 * fte * days * hours_per_day;
        let deviation = (actual - planned) / planned;
        if deviation.abs() > max_dev {
            out.emit(None, (SubjectKind::Person, person), month, format!("{person} logged {} h in {month} against {} h planned ({:+.0} %).", round1(actual), round1(planned), 100.0 * deviation), json!({"month": month, "logged_hours": round1(actual), "planned_hours": round1(planned), "deviation": deviation}));
        }
    }
}

pub(crate) fn approved(p: &Portfolio, key: &str) -> bool {
    p.decisions(key).any(|g| {
        gate_number(&g.gate).is_some_and(|n| n >= 1)
            && matches!(g.decision.as_str(), "go" | "conditional-go")
    }) || p.initiatives.get(key).is_some_and(|(i, _)| {
        i.current_gate
            .as_deref()
            .and_then(gate_number)
            .is_some_and(|n| n >= 1)
    })
}

pub(crate) fn res_008(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max = rule.p("max_share");
    // Whole seconds added up: the same sums in whatever order the entries come; per
    // initiative, not per entry (a million of them over a large portfolio), so whether an
    // initiative is approved is asked once.
    let (by_initiative, none) = p.seconds_by_initiative();
    let (mut seconds, mut unplanned_seconds) = (0u64, BTreeMap::<&str, u64>::new());
    for (key, logged) in by_initiative
        .map(|(k, s)| (Some(k), s))
        .chain(none.map(|s| (None, s)))
    {
        seconds = seconds.saturating_add(logged);
        match key {
            Some(k) if approved(p, k) => {}
            other => {
                let sum = unplanned_seconds
                    .entry(other.unwrap_or("(none)"))
                    .or_default();
                *sum = sum.saturating_add(logged);
            }
        }
    }
    let total = seconds as f64 / 3600.0;
    let unplanned: BTreeMap<&str, f64> = unplanned_seconds
        .into_iter()
        .map(|(k, s)| (k, s as f64 / 3600.0))
        .collect();
    let sum: f64 = unplanned.values().sum();
    if total > 0.0 && sum / total > max {
        out.emit(
            None,
            (SubjectKind::Portfolio, "all"),
            "",
            format!(
                "{:.0} % of logged hours ({}) went to work no portfolio decision approved.",
                100.0 * sum / total,
                round1(sum)
            ),
            json!({"unplanned_hours": unplanned, "total_hours": round1(total)}),
        );
    }
}

/// The rules of this family, for the catalogue.
pub(crate) const ENTRIES: &[Entry] = &[
    Entry {
        id: "RES-002",
        params: &["availability"],
        check: res_002,
        cost: Cost::Pass,
    },
    Entry {
        id: "RES-007",
        params: &["max_deviation", "working_days_per_month"],
        check: res_007,
        cost: Cost::Heavy,
    },
    Entry {
        id: "RES-008",
        params: &["max_share"],
        check: res_008,
        cost: Cost::Pass,
    },
    Entry {
        id: "RES-001",
        params: &["max_percent"],
        check: res_001,
        cost: Cost::Pass,
    },
    Entry {
        id: "RES-003",
        params: &["warning_ratio", "error_ratio"],
        check: res_003,
        cost: Cost::Pass,
    },
    Entry {
        id: "RES-004",
        params: &["min_size", "max_size"],
        check: res_004,
        cost: Cost::Pass,
    },
    Entry {
        id: "RES-005",
        params: &["max_percent"],
        check: res_005,
        cost: Cost::Pass,
    },
    Entry {
        id: "RES-006",
        params: &["max_initiatives"],
        check: res_006,
        cost: Cost::Pass,
    },
];
