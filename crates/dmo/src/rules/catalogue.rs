//! The rules. Each is a plain function over the [`Portfolio`]; its thresholds come from the
//! pack. Rule texts are our own words (the BT Standard is licensed text).

use super::portfolio::gate_number;
use super::{Context, Finding, Portfolio, RuleConfig, Subject, fingerprint};
use crate::Severity;
use crate::calendar::day_number;
use crate::model::Initiative;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// A rule implementation.
pub struct Entry {
    /// Id.
    pub id: &'static str,
    /// Parameters it reads.
    pub params: &'static [&'static str],
    /// The check.
    pub check: fn(&RuleConfig, &Portfolio, &Context, &mut Emitter),
}

/// Collects a rule's findings.
pub struct Emitter<'a> {
    rule: &'a RuleConfig,
    /// What was found.
    pub findings: Vec<Finding>,
}

impl<'a> Emitter<'a> {
    /// An emitter for `rule`.
    pub fn new(rule: &'a RuleConfig) -> Self {
        Emitter {
            rule,
            findings: Vec::new(),
        }
    }

    /// Emit a finding; `severity` `None` takes the pack's. `about` tells findings of one
    /// rule on one subject apart (a gate, a period) and enters the fingerprint.
    fn emit(
        &mut self,
        severity: Option<Severity>,
        (kind, key): (&str, &str),
        about: &str,
        message: String,
        evidence: serde_json::Value,
    ) {
        self.findings.push(Finding {
            fingerprint: fingerprint(&[&self.rule.id, kind, key, about]),
            rule_id: self.rule.id.clone(),
            severity: severity.unwrap_or(self.rule.severity),
            subject: Subject {
                kind: kind.to_string(),
                key: key.to_string(),
            },
            title: self.rule.title.clone(),
            message,
            evidence,
        });
    }
}

/// Whether the rule's `applies_to` admits the initiative.
fn applies(rule: &RuleConfig, i: &Initiative) -> bool {
    let a = &rule.applies_to;
    let within = |list: &[String], value: &Option<String>| {
        list.is_empty() || value.as_ref().is_some_and(|v| list.contains(v))
    };
    within(&a.demand_types, &i.demand_type)
        && within(&a.development_types, &i.development_type)
        && within(&a.gates, &i.current_gate)
}

fn initiatives<'p>(rule: &'p RuleConfig, p: &'p Portfolio) -> impl Iterator<Item = &'p Initiative> {
    p.initiatives
        .values()
        .map(|(i, _)| i)
        .filter(move |i| applies(rule, i))
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

// ---- DEM: the demand checklist ------------------------------------------------------------

fn dem_001(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for i in initiatives(rule, p).filter(|i| i.demand_type.is_none()) {
        out.emit(None, ("initiative", &i.key), "", format!("{} has no demand type: say whether it is capability planning, ideas and concepts, or increments and improvements.", i.key), json!({"demand_type": null}));
    }
}

fn dem_002(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for i in initiatives(rule, p).filter(|i| i.strategic_theme.is_none()) {
        out.emit(
            None,
            ("initiative", &i.key),
            "",
            format!("{} is not linked to a strategic theme or objective.", i.key),
            json!({"strategic_theme": null, "current_gate": i.current_gate}),
        );
    }
}

fn dem_003(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for i in initiatives(rule, p) {
        let planned = p.finance_total(&i.key, "planned-benefit");
        let kpis = i
            .kpis
            .iter()
            .filter(|k| k.baseline.is_some() && k.target.is_some())
            .count();
        if planned <= 0.0 && kpis == 0 {
            out.emit(None, ("initiative", &i.key), "", format!("{} has no quantified benefit: neither a planned monetary benefit nor a KPI with baseline and target.", i.key), json!({"planned_benefit": planned, "kpis_with_baseline_and_target": kpis}));
        }
    }
}

fn dem_005(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for i in initiatives(rule, p) {
        let wsjf_complete = i.user_business_value.is_some()
            && i.time_criticality.is_some()
            && i.risk_reduction.is_some()
            && i.job_size.is_some();
        if i.cost_of_delay.is_none() && !wsjf_complete {
            out.emit(None, ("initiative", &i.key), "", format!("{} states no cost of delay: give a monetary cost of delay, or all WSJF components and the job size.", i.key), json!({"cost_of_delay": i.cost_of_delay, "user_business_value": i.user_business_value, "time_criticality": i.time_criticality, "risk_reduction": i.risk_reduction, "job_size": i.job_size}));
        }
    }
}

fn dem_007(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for i in initiatives(rule, p) {
        let owned = i
            .risks
            .iter()
            .filter(|r| r.owner.is_some() && r.mitigation.is_some())
            .count();
        if owned == 0 {
            out.emit(
                None,
                ("initiative", &i.key),
                "",
                format!(
                    "{} records no risk with an owner and a mitigation ({} risks listed).",
                    i.key,
                    i.risks.len()
                ),
                json!({"risks": i.risks.len(), "with_owner_and_mitigation": owned}),
            );
        }
    }
}

// ---- GATE ---------------------------------------------------------------------------------

/// The date of the first go (or conditional go) at `gate` for an initiative.
fn go_date(p: &Portfolio, key: &str, gate: u32) -> Option<i64> {
    p.decisions(key)
        .filter(|g| {
            gate_number(&g.gate) == Some(gate)
                && matches!(g.decision.as_str(), "go" | "conditional-go")
        })
        .filter_map(|g| g.date.as_deref().and_then(day_number))
        .min()
}

fn gate_001(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let gate = rule.p("gate") as u32;
    let blocker = rule.p("blocker_hours");
    let keys: BTreeSet<String> = if p.initiatives.is_empty() {
        p.initiative_keys()
    } else {
        initiatives(rule, p).map(|i| i.key.clone()).collect()
    };
    for key in keys {
        let before = go_date(p, &key, gate);
        // Without a go at the gate, all logged time is before it.
        let hours = match before {
            Some(d) => p.hours(&key, Some(d), None),
            None => p.hours(&key, None, None),
        };
        // A stopped initiative is GATE-005's business.
        let stopped = p.decisions(&key).any(|g| g.decision == "stop");
        if hours > 0.0 && !stopped {
            let severity = (hours > blocker).then_some(Severity::Blocker);
            let when = match before {
                Some(_) => format!("before its G{gate} decision"),
                None => format!("without a G{gate} go decision"),
            };
            out.emit(severity, ("initiative", &key), "", format!("{} hours were logged on {key} {when}: delivery started before the gate.", round1(hours)), json!({"hours": round1(hours), "gate": format!("G{gate}"), "blocker_above_hours": blocker}));
        }
    }
}

fn gate_002(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
    let Some(today) = day_number(&ctx.today) else {
        return;
    };
    let error_days = rule.p("error_days");
    for i in initiatives(rule, p) {
        let Some(due) = i.next_gate_due.as_deref().and_then(day_number) else {
            continue;
        };
        let decided_since = p.decisions(&i.key).any(|g| {
            g.date
                .as_deref()
                .and_then(day_number)
                .is_some_and(|d| d >= due)
        });
        let late = (today - due) as f64;
        if late > 0.0 && !decided_since {
            let severity = (late > error_days).then_some(Severity::Error);
            out.emit(
                severity,
                ("initiative", &i.key),
                "",
                format!("The gate decision of {} was due {late} days ago.", i.key),
                json!({"due": i.next_gate_due, "days_late": late}),
            );
        }
    }
}

fn gate_003(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for i in initiatives(rule, p) {
        let Some(gate) = i.current_gate.as_deref().and_then(gate_number) else {
            continue;
        };
        if gate < 1 {
            continue;
        }
        let mut missing = Vec::new();
        if i.strategic_theme.is_none() {
            missing.push("strategy link");
        }
        let benefit = p.finance_total(&i.key, "planned-benefit") > 0.0
            || i.kpis
                .iter()
                .any(|k| k.baseline.is_some() && k.target.is_some());
        if !benefit {
            missing.push("quantified benefit");
        }
        if !p.business_cases.contains_key(&i.key) {
            missing.push("business case (TCO)");
        }
        if i.cost_of_delay.is_none() && wsjf_of(i).is_none() {
            missing.push("cost of delay or WSJF");
        }
        if !i.risks.iter().any(|r| r.owner.is_some()) {
            missing.push("owned risks");
        }
        if i.development_type.is_none() {
            missing.push("development type");
        }
        if !missing.is_empty() {
            out.emit(
                None,
                ("initiative", &i.key),
                &format!("G{gate}"),
                format!(
                    "{} passed G{gate} without the must-meet items {}.",
                    i.key,
                    missing.join(", ")
                ),
                json!({"gate": format!("G{gate}"), "missing": missing}),
            );
        }
    }
}

fn gate_008(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
    let Some(today) = day_number(&ctx.today) else {
        return;
    };
    let max = rule.p("max_slip_ratio");
    for i in initiatives(rule, p).filter(|i| i.status_category.as_deref() != Some("done")) {
        let (Some(start), Some(end)) = (
            i.planned_start.as_deref().and_then(day_number),
            i.planned_end.as_deref().and_then(day_number),
        ) else {
            continue;
        };
        if end <= start || today <= end {
            continue;
        }
        // Not done past its planned end: the forecast end is today at the earliest.
        let slip = (today - end) as f64 / (end - start) as f64;
        if slip > max {
            out.emit(None, ("initiative", &i.key), "", format!("{} is not done {} days after its planned end, a slip of {:.0} % of its planned duration.", i.key, today - end, 100.0 * slip), json!({"planned_start": i.planned_start, "planned_end": i.planned_end, "slip_ratio": slip}));
        }
    }
}

fn gate_004(_: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for g in &p.gate_decisions {
        let mut missing = Vec::new();
        if g.decider.is_none() {
            missing.push("decider");
        }
        if g.date.is_none() {
            missing.push("date");
        }
        if !missing.is_empty() {
            out.emit(
                None,
                ("initiative", &g.initiative_key),
                &g.gate,
                format!(
                    "The {} decision on {} lacks its {}.",
                    g.gate,
                    g.initiative_key,
                    missing.join(" and ")
                ),
                json!({"gate": g.gate, "decision": g.decision, "missing": missing}),
            );
        }
    }
}

fn gate_005(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max_hours = rule.p("max_hours_after_stop");
    let keys: BTreeSet<&str> = p
        .gate_decisions
        .iter()
        .map(|g| g.initiative_key.as_str())
        .collect();
    for key in keys {
        let stop = p
            .decisions(key)
            .filter(|g| g.decision == "stop")
            .filter_map(|g| g.date.as_deref().and_then(day_number))
            .min();
        let Some(stop) = stop else { continue };
        let hours = p.hours(key, None, Some(stop));
        if hours > max_hours {
            out.emit(None, ("initiative", key), "", format!("{key} was stopped, yet {} hours were logged after the decision (more than {max_hours} h).", round1(hours)), json!({"hours_after_stop": round1(hours), "threshold_hours": max_hours}));
        }
    }
}

fn gate_006(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
    let max_age = rule.p("max_age_days");
    for (key, case) in &p.business_cases {
        let Some(reviewed) = case.last_reviewed.as_deref().and_then(day_number) else {
            continue;
        };
        let at = p
            .decisions(key)
            .filter_map(|g| g.date.as_deref().and_then(day_number))
            .max()
            .or_else(|| day_number(&ctx.today));
        let Some(at) = at else { continue };
        let age = (at - reviewed) as f64;
        if age > max_age {
            out.emit(None, ("initiative", key), "", format!("The business case of {key} was last reviewed {age} days before its latest gate (limit {max_age})."), json!({"last_reviewed": case.last_reviewed, "age_days": age}));
        }
    }
}

fn gate_007(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let (warn, err) = (rule.p("warning_ratio"), rule.p("error_ratio"));
    let keys: BTreeSet<&str> = p
        .finance
        .iter()
        .map(|f| f.initiative_key.as_str())
        .collect();
    for key in keys {
        let budget = p.finance_total(key, "budget");
        let actual = p.finance_total(key, "actual");
        if budget <= 0.0 {
            continue;
        }
        let over = actual / budget - 1.0;
        if over > warn {
            let severity = (over > err).then_some(Severity::Error);
            out.emit(
                severity,
                ("initiative", key),
                "",
                format!(
                    "{key} has spent {:.0} % of its approved budget ({actual:.0} of {budget:.0}).",
                    100.0 * actual / budget
                ),
                json!({"budget": budget, "actual": actual, "overrun_ratio": over}),
            );
        }
    }
}

// ---- RES ----------------------------------------------------------------------------------

/// Allocations active on `day` for a person.
fn active_on<'p>(
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

fn persons_with_allocations(p: &Portfolio) -> BTreeSet<&str> {
    p.allocations.iter().map(|a| a.person.as_str()).collect()
}

/// The days on which a person's allocations change (their starts), or one day if undated.
fn change_days(p: &Portfolio, person: &str) -> Vec<i64> {
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

fn res_001(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
                ("person", person),
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

fn res_003(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
            out.emit(severity, ("team", team), "", format!("Team {team} has {:.0} % of its capacity committed; keep it within {:.0} % so there is room for the unplanned.", 100.0 * ratio, 100.0 * warn), json!({"committed_fte": committed, "gross_fte": gross, "reserve_ratio": ratio}));
        }
    }
}

fn res_004(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
                ("team", team),
                "",
                format!("Team {team} has {size} members; teams of {min}–{max} work best."),
                json!({"members": size, "min": min, "max": max}),
            );
        }
    }
}

fn res_005(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
        out.emit(None, ("person", &a.person), target, format!("{} is allocated only {} % to {target}: slices this thin cost more in switching than they deliver.", a.person, a.percent), json!({"percent": a.percent, "target": target, "threshold_percent": max}));
    }
}

fn res_006(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
                ("person", person),
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

// ---- FIN ----------------------------------------------------------------------------------

fn fin_001(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let threshold = rule.p("budget_threshold");
    let by_type: BTreeSet<String> = initiatives(rule, p)
        .filter(|i| i.demand_type.as_deref() == Some("capability-planning"))
        .map(|i| i.key.clone())
        .collect();
    let big: BTreeSet<String> = p
        .initiative_keys()
        .into_iter()
        .filter(|k| p.finance_total(k, "budget") > threshold)
        .collect();
    for key in by_type.union(&big) {
        if !p.business_cases.contains_key(key) {
            out.emit(None, ("initiative", key), "", format!("{key} has no business case, though it is capability planning or budgeted above {threshold:.0}."), json!({"budget": p.finance_total(key, "budget"), "threshold": threshold}));
        }
    }
}

fn fin_005(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let (warn, err) = (rule.p("warning_ratio"), rule.p("error_ratio"));
    let mut labour: BTreeMap<String, (f64, f64, u64)> = BTreeMap::new();
    for t in &p.time_entries {
        let Some(key) = p.initiative_of(t) else {
            continue;
        };
        let entry = labour.entry(key.to_string()).or_default();
        let hours = t.seconds as f64 / 3600.0;
        match p.hourly_rate(&t.person, &t.date) {
            Some((rate, _)) => entry.0 += hours * rate,
            None => entry.2 += 1,
        }
        entry.1 += hours;
    }
    for (key, (cost, hours, unpriced)) in labour {
        let budget = p.finance_total(&key, "budget");
        if budget <= 0.0 {
            continue;
        }
        let ratio = cost / budget;
        if ratio >= warn {
            let severity = (ratio > err).then_some(Severity::Error);
            out.emit(severity, ("initiative", &key), "", format!("Logged time on {key} costs {cost:.0} ({:.0} % of its budget of {budget:.0}): {} hours at the people's rates.", 100.0 * ratio, round1(hours)), json!({"labour_cost": cost, "hours": round1(hours), "budget": budget, "ratio": ratio, "entries_without_rate": unpriced}));
        }
    }
}

/// The cash flows of an initiative's business case, per period: its own table, or else its
/// finance entries by year (budget as cost, planned benefit as benefit), with the discount
/// rate per period and how it was derived from the annual rate. `None` without a business
/// case, a discount rate or any flow. Reports use it too, so they show what the rules judged.
pub fn cash_flows(p: &Portfolio, key: &str) -> Option<(Vec<f64>, f64, &'static str)> {
    let case = p.business_cases.get(key)?;
    let annual = case.discount_rate?;
    let period = case.period_length.as_deref().unwrap_or("year");
    let (rate, convention) = match period {
        "month" => (
            crate::finance::RateConvention::Effective.monthly(annual),
            crate::finance::RateConvention::Effective.describe(),
        ),
        "quarter" => (
            (1.0 + annual).powf(0.25) - 1.0,
            "quarterly rate = (1 + annual)^(1/4) − 1 (effective)",
        ),
        _ => (annual, "annual rate, yearly periods"),
    };
    let flows: Vec<f64> = if !case.cash_flows.is_empty() {
        case.cash_flows.iter().map(|c| c.benefit - c.cost).collect()
    } else {
        let mut by_year: BTreeMap<i64, f64> = BTreeMap::new();
        for f in p.finance.iter().filter(|f| f.initiative_key == key) {
            let Ok(year) = f.period[..4].parse::<i64>() else {
                continue;
            };
            let sign = match f.kind.as_str() {
                "budget" => -1.0,
                "planned-benefit" => 1.0,
                _ => continue,
            };
            *by_year.entry(year).or_default() += sign * f.amount;
        }
        let (first, last) = (*by_year.keys().next()?, *by_year.keys().last()?);
        (first..=last)
            .map(|y| by_year.get(&y).copied().unwrap_or(0.0))
            .collect()
    };
    (!flows.is_empty()).then_some((flows, rate, convention))
}

fn fin_002(_: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for (key, case) in &p.business_cases {
        let Some((flows, rate, convention)) = cash_flows(p, key) else {
            continue;
        };
        let at = case.hurdle_rate.unwrap_or(rate);
        let npv = crate::finance::npv(at, &flows);
        if npv < 0.0 {
            out.emit(None, ("initiative", key), "", format!("The business case of {key} has a negative net present value: {npv:.0} at {:.1} %.", 100.0 * at), json!({"npv": npv, "rate": at, "cash_flows": flows, "rate_convention": convention}));
        }
    }
}

fn fin_003(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let default_hurdle = rule.p("default_hurdle_rate");
    for (key, case) in &p.business_cases {
        let Some((flows, _, convention)) = cash_flows(p, key) else {
            continue;
        };
        let hurdle = case.hurdle_rate.unwrap_or(default_hurdle);
        let irr = crate::finance::irr(&flows, 0.1);
        match irr.rate {
            Some(r) if irr.multiple_sign_changes => out.emit(Some(Severity::Info), ("initiative", key), "", format!("The cash flows of {key} change sign more than once: its IRR of {:.1} % may not be the only one; judge it by NPV.", 100.0 * r), json!({"irr": r, "cash_flows": flows, "rate_convention": convention})),
            Some(r) if r < hurdle => out.emit(None, ("initiative", key), "", format!("The IRR of {key} is {:.1} %, below the hurdle rate of {:.1} %.", 100.0 * r, 100.0 * hurdle), json!({"irr": r, "hurdle_rate": hurdle, "cash_flows": flows, "rate_convention": convention})),
            Some(_) => {}
            None => out.emit(Some(Severity::Info), ("initiative", key), "", format!("{key} has no IRR ({}).", match irr.reason { Some(crate::finance::NoIrr::NoSignChange) => "the cash flows never change sign", _ => "no rate in range makes the NPV zero" }), json!({"reason": irr.reason, "cash_flows": flows})),
        }
    }
}

fn fin_004(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max_months = rule.p("max_payback_months");
    for (key, case) in &p.business_cases {
        let Some((flows, rate, convention)) = cash_flows(p, key) else {
            continue;
        };
        let months_per_period = match case.period_length.as_deref() {
            Some("month") => 1.0,
            Some("quarter") => 3.0,
            _ => 12.0,
        };
        let simple = crate::finance::payback(&flows, None)
            .periods
            .map(|p| p * months_per_period);
        let discounted = crate::finance::payback(&flows, Some(rate))
            .periods
            .map(|p| p * months_per_period);
        let late = simple.is_none_or(|m| m > max_months) || discounted.is_none();
        if late {
            let text = match simple {
                Some(m) => format!("pays back in {m:.1} months (limit {max_months})"),
                None => "never pays back within its horizon".to_string(),
            };
            out.emit(None, ("initiative", key), "", format!("{key} {text}{}.", if discounted.is_none() && simple.is_some() { ", and never once discounted" } else { "" }), json!({"simple_payback_months": simple, "discounted_payback_months": discounted, "cash_flows": flows, "rate_convention": convention}));
        }
    }
}

// ---- More of the demand checklist ---------------------------------------------------------

/// Whether an initiative was stopped (its last gate decision) or rejected or cancelled (its status).
pub fn is_stopped(p: &Portfolio, key: &str) -> bool {
    p.decisions(key)
        .last()
        .is_some_and(|g| g.decision == "stop")
        || p.initiatives.get(key).is_some_and(|(i, _)| {
            let s = i.status.to_lowercase();
            s.contains("reject") || s.contains("cancel")
        })
}

fn dem_004(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let min_years = rule.p("min_horizon_years");
    for i in initiatives(rule, p) {
        let case = p.business_cases.get(&i.key);
        let years = case.and_then(|c| {
            let per_year = match c.period_length.as_deref() {
                Some("month") => 12.0,
                Some("quarter") => 4.0,
                _ => 1.0,
            };
            c.horizon.map(|h| f64::from(h) / per_year)
        });
        let run_costs = p.finance.iter().any(|f| {
            f.initiative_key == i.key
                && f.kind == "budget"
                && f.expense_type.as_deref() == Some("opex")
        });
        let mut missing = Vec::new();
        if years.is_none_or(|y| y < min_years) {
            missing.push(format!("a horizon of at least {min_years} years"));
        }
        if !run_costs {
            missing.push("run costs (an opex budget)".to_string());
        }
        if !missing.is_empty() {
            out.emit(
                None,
                ("initiative", &i.key),
                "",
                format!(
                    "The total cost of ownership of {} is incomplete: it lacks {}.",
                    i.key,
                    missing.join(" and ")
                ),
                json!({"horizon_years": years, "opex_budget": run_costs}),
            );
        }
    }
}

fn dem_006(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let error_gate = rule.p("error_from_gate") as u32;
    for d in &p.dependencies {
        if is_stopped(p, &d.to_key) {
            out.emit(
                None,
                ("initiative", &d.from_key),
                &d.to_key,
                format!(
                    "{} depends on {}, which was stopped or rejected.",
                    d.from_key, d.to_key
                ),
                json!({"depends_on": d.to_key, "kind": d.kind}),
            );
        } else if d.accepted != Some(true) {
            let gate = p
                .initiatives
                .get(&d.from_key)
                .and_then(|(i, _)| i.current_gate.as_deref())
                .and_then(gate_number);
            let severity = gate
                .is_some_and(|g| g >= error_gate)
                .then_some(Severity::Error);
            out.emit(severity, ("initiative", &d.from_key), &d.to_key, format!("{} depends on {}, and the providing side has not accepted the dependency.", d.from_key, d.to_key), json!({"depends_on": d.to_key, "accepted": d.accepted, "current_gate": gate.map(|g| format!("G{g}"))}));
        }
    }
}

fn wsjf_of(i: &Initiative) -> Option<f64> {
    crate::finance::wsjf(
        i.user_business_value?,
        i.time_criticality?,
        i.risk_reduction?,
        i.job_size?,
    )
}

fn dem_008(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max = rule.p("max_inversions");
    let ranked: Vec<(&Initiative, f64)> = initiatives(rule, p)
        .filter_map(|i| wsjf_of(i).map(|w| (i, w)))
        .collect();
    for (started, w) in ranked
        .iter()
        .filter(|(i, _)| i.status_category.as_deref() == Some("in-progress"))
    {
        let waiting: Vec<&str> = ranked
            .iter()
            .filter(|(i, other)| i.status_category.as_deref() == Some("todo") && other > w)
            .map(|(i, _)| i.key.as_str())
            .collect();
        if waiting.len() as f64 > max {
            out.emit(None, ("initiative", &started.key), "", format!("{} was started with a WSJF of {w:.2} while {} higher-ranked ready items wait ({}).", started.key, waiting.len(), waiting.join(", ")), json!({"wsjf": w, "waiting": waiting}));
        }
    }
}

fn dem_009(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
    let Some(today) = day_number(&ctx.today) else {
        return;
    };
    let max_days = rule.p("max_days");
    for i in initiatives(rule, p) {
        let undecided = i
            .current_gate
            .as_deref()
            .is_none_or(|g| gate_number(g) == Some(0))
            && p.decisions(&i.key).next().is_none();
        let Some(created) = i.created.as_deref().and_then(day_number) else {
            continue;
        };
        let age = (today - created) as f64;
        if undecided && i.status_category.as_deref() != Some("done") && age > max_days {
            out.emit(
                None,
                ("initiative", &i.key),
                "",
                format!(
                    "{} has waited {age} days for a portfolio decision (limit {max_days}).",
                    i.key
                ),
                json!({"created": i.created, "age_days": age}),
            );
        }
    }
}

fn dem_010(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let (max_months, max_budget) = (rule.p("max_months"), rule.p("max_budget"));
    for i in initiatives(rule, p).filter(|i| i.development_type.as_deref() == Some("continual")) {
        let months = match (
            i.planned_start.as_deref().and_then(day_number),
            i.planned_end.as_deref().and_then(day_number),
        ) {
            (Some(s), Some(e)) => Some((e - s) as f64 / 30.44),
            _ => None,
        };
        let budget = p.finance_total(&i.key, "budget");
        if months.is_some_and(|m| m > max_months) || budget > max_budget {
            out.emit(None, ("initiative", &i.key), "", format!("{} runs on the continual track but is large ({}budget {budget:.0}): consider the incremental or sequential track with gates.", i.key, months.map(|m| format!("{m:.0} months, ")).unwrap_or_default()), json!({"months": months, "budget": budget}));
        }
    }
}

// ---- More resources ---------------------------------------------------------------------

fn res_002(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let availability = rule.p("availability");
    for person in persons_with_allocations(p) {
        let peak = change_days(p, person)
            .into_iter()
            .map(|d| active_on(p, person, d).map(|a| a.percent).sum::<f64>())
            .fold(0.0, f64::max);
        if peak > 100.0 * availability && peak <= 100.0 {
            out.emit(None, ("person", person), "", format!("{person} is planned at {peak} % of their time; with meetings, support and absences about {:.0} % is really available.", 100.0 * availability), json!({"planned_percent": peak, "availability": availability}));
        }
    }
}

/// `YYYY-MM` of a date.
fn month_of(date: &str) -> Option<&str> {
    date.get(..7)
}

fn res_007(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let (max_dev, days) = (rule.p("max_deviation"), rule.p("working_days_per_month"));
    let mut logged: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for t in &p.time_entries {
        if let Some(m) = month_of(&t.date) {
            *logged.entry((t.person.as_str(), m)).or_default() += t.seconds as f64 / 3600.0;
        }
    }
    for ((person, month), actual) in logged {
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
            out.emit(None, ("person", person), month, format!("{person} logged {} h in {month} against {} h planned ({:+.0} %).", round1(actual), round1(planned), 100.0 * deviation), json!({"month": month, "logged_hours": round1(actual), "planned_hours": round1(planned), "deviation": deviation}));
        }
    }
}

fn approved(p: &Portfolio, key: &str) -> bool {
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

fn res_008(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max = rule.p("max_share");
    let (mut total, mut unplanned) = (0.0, BTreeMap::<String, f64>::new());
    for t in &p.time_entries {
        let hours = t.seconds as f64 / 3600.0;
        total += hours;
        match p.initiative_of(t) {
            Some(k) if approved(p, k) => {}
            other => {
                *unplanned
                    .entry(other.unwrap_or("(none)").to_string())
                    .or_default() += hours
            }
        }
    }
    let sum: f64 = unplanned.values().sum();
    if total > 0.0 && sum / total > max {
        out.emit(
            None,
            ("portfolio", "all"),
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

// ---- More finance -------------------------------------------------------------------------

/// First day of a finance period, `YYYY-MM` or `YYYY-Qn`.
pub fn period_start(period: &str) -> Option<i64> {
    let (year, rest) = period.split_once('-')?;
    let month = match rest.strip_prefix('Q') {
        Some(q) => (q.parse::<u32>().ok()?.checked_sub(1)? * 3 + 1).to_string(),
        None => rest.to_string(),
    };
    day_number(&format!("{year}-{:0>2}-01", month))
}

fn fin_006(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
    let (warn, err) = (rule.p("warning_ratio"), rule.p("error_ratio"));
    let today = day_number(&ctx.today);
    for key in p.initiative_keys() {
        let live = p
            .decisions(&key)
            .any(|g| gate_number(&g.gate).is_some_and(|n| n >= 3) && g.decision == "go");
        // Only the benefit planned for periods that have begun can have been realised yet.
        let planned: f64 = p
            .finance
            .iter()
            .filter(|f| f.initiative_key == key && f.kind == "planned-benefit")
            .filter(|f| {
                period_start(&f.period)
                    .zip(today)
                    .is_none_or(|(start, today)| start <= today)
            })
            .map(|f| f.amount)
            .sum();
        if !live || planned <= 0.0 {
            continue;
        }
        let ratio = p.finance_total(&key, "realised-benefit") / planned;
        if ratio < warn {
            let severity = (ratio < err).then_some(Severity::Error);
            out.emit(
                severity,
                ("initiative", &key),
                "",
                format!(
                    "{key} has realised {:.0} % of its planned benefit since going live.",
                    100.0 * ratio
                ),
                json!({"realised_ratio": ratio, "planned_benefit": planned}),
            );
        }
    }
}

fn fin_007(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for i in initiatives(rule, p).filter(|i| i.development_type.as_deref() == Some("incremental")) {
        let measured = i
            .kpis
            .iter()
            .any(|k| k.baseline.is_some() && !k.measurements.is_empty());
        if !measured {
            out.emit(None, ("initiative", &i.key), "", format!("{} delivers in increments but measures no value yet: give a KPI a baseline and record it from the first increment.", i.key), json!({"kpis": i.kpis.len()}));
        }
    }
}

/// Approved flows (budget as cost, planned benefit as benefit) and the re-forecast (actual
/// cost and realised benefit where a year has them, the plan elsewhere), per year.
fn approved_and_forecast(p: &Portfolio, key: &str) -> Option<(Vec<f64>, Vec<f64>)> {
    let mut years: BTreeMap<i64, [f64; 4]> = BTreeMap::new();
    for f in p.finance.iter().filter(|f| f.initiative_key == key) {
        let Ok(year) = f.period[..4].parse::<i64>() else {
            continue;
        };
        let slot = match f.kind.as_str() {
            "budget" => 0,
            "actual" => 1,
            "planned-benefit" => 2,
            "realised-benefit" => 3,
            _ => continue,
        };
        years.entry(year).or_default()[slot] += f.amount;
    }
    let (first, last) = (*years.keys().next()?, *years.keys().last()?);
    let mut approved = Vec::new();
    let mut forecast = Vec::new();
    for y in first..=last {
        let [budget, actual, planned, realised] = years.get(&y).copied().unwrap_or_default();
        approved.push(planned - budget);
        let cost = if actual > 0.0 { actual } else { budget };
        let benefit = if realised > 0.0 { realised } else { planned };
        forecast.push(benefit - cost);
    }
    Some((approved, forecast))
}

fn fin_008(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max_drop = rule.p("max_roi_drop");
    for (key, case) in &p.business_cases {
        let Some(rate) = case.hurdle_rate.or(case.discount_rate) else {
            continue;
        };
        let Some((approved, forecast)) = approved_and_forecast(p, key) else {
            continue;
        };
        if approved == forecast {
            continue;
        }
        let (npv_a, npv_f) = (
            crate::finance::npv(rate, &approved),
            crate::finance::npv(rate, &forecast),
        );
        let (roi_a, roi_f) = (
            crate::finance::roi_simple(&approved),
            crate::finance::roi_simple(&forecast),
        );
        let evidence = json!({"approved_npv": npv_a, "forecast_npv": npv_f, "approved_roi": roi_a, "forecast_roi": roi_f, "rate": rate});
        if npv_a >= 0.0 && npv_f < 0.0 {
            out.emit(Some(Severity::Error), ("initiative", key), "", format!("With the actuals so far, the NPV of {key} turns negative: {npv_f:.0} against {npv_a:.0} approved."), evidence);
        } else if let (Some(a), Some(f)) = (roi_a, roi_f)
            && a > 0.0
            && (a - f) / a > max_drop
        {
            out.emit(None, ("initiative", key), "", format!("With the actuals so far, the ROI of {key} is {:.0} % against {:.0} % approved.", 100.0 * f, 100.0 * a), evidence);
        }
    }
}

// ---- Portfolio ----------------------------------------------------------------------------

fn por_001(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
                ("portfolio", kind),
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

fn por_002(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
                ("value-stream", stream),
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

fn por_003(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
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
                ("initiative", &i.key),
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

fn por_004(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
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
        out.emit(None, ("value-stream", stream), "", format!("Value stream {stream} has no KPI measured in the last {max_age} days for the quarterly review."), json!({"max_age_days": max_age}));
    }
}

// ---- More data quality --------------------------------------------------------------------

fn dq_002(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let min = rule.p("min_coverage");
    let mut days: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for t in &p.time_entries {
        if let Some(d) = day_number(&t.date) {
            days.entry(t.person.as_str()).or_default().insert(d);
        }
    }
    for (person, logged) in days {
        let (first, last) = (*logged.first().unwrap(), *logged.last().unwrap());
        // Weekdays between the first and the last logged day (1970-01-01 was a Thursday).
        let weekdays = (first..=last).filter(|d| (d + 3).rem_euclid(7) < 5).count() as f64;
        let covered = logged.iter().filter(|d| (*d + 3).rem_euclid(7) < 5).count() as f64;
        if weekdays >= 5.0 && covered / weekdays < min {
            out.emit(
                None,
                ("person", person),
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

// ---- DQ -----------------------------------------------------------------------------------

fn dq_001(_: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for issue in &p.issues {
        let location = issue.location.clone().unwrap_or_default();
        let severity = if issue.severity >= Severity::Error {
            Some(Severity::Warning)
        } else {
            Some(Severity::Info)
        };
        out.emit(severity, ("record", &format!("{}:{location}", issue.connection)), &issue.code, format!("{} ({}): {}", location, issue.code, issue.message), json!({"connection": issue.connection, "code": issue.code, "location": issue.location, "source_severity": issue.severity.as_str()}));
    }
}

fn dq_003(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    if p.initiatives.is_empty() {
        return; // Without initiatives from a tracker, every hour would look orphaned.
    }
    let max = rule.p("max_share");
    let (mut total, mut orphan) = (0.0, 0.0);
    for t in &p.time_entries {
        let hours = t.seconds as f64 / 3600.0;
        total += hours;
        if p.initiative_of(t)
            .is_none_or(|k| !p.initiatives.contains_key(k))
        {
            orphan += hours;
        }
    }
    if total > 0.0 && orphan / total > max {
        out.emit(
            None,
            ("portfolio", "all"),
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

fn dq_004(_: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for (key, case) in &p.business_cases {
        let mut missing = Vec::new();
        if case.currency.is_none() {
            missing.push("currency");
        }
        if case.discount_rate.is_none() {
            missing.push("discount rate");
        }
        if !missing.is_empty() {
            out.emit(None, ("initiative", key), "", format!("The business case of {key} lacks its {}; its finance figures cannot be computed.", missing.join(" and ")), json!({"missing": missing}));
        }
    }
}

/// Every implemented rule.
pub const CATALOGUE: &[Entry] = &[
    Entry {
        id: "GATE-008",
        params: &["max_slip_ratio"],
        check: gate_008,
    },
    Entry {
        id: "FIN-008",
        params: &["max_roi_drop"],
        check: fin_008,
    },
    Entry {
        id: "GATE-003",
        params: &[],
        check: gate_003,
    },
    Entry {
        id: "DEM-004",
        params: &["min_horizon_years"],
        check: dem_004,
    },
    Entry {
        id: "DEM-006",
        params: &["error_from_gate"],
        check: dem_006,
    },
    Entry {
        id: "DEM-008",
        params: &["max_inversions"],
        check: dem_008,
    },
    Entry {
        id: "DEM-009",
        params: &["max_days"],
        check: dem_009,
    },
    Entry {
        id: "DEM-010",
        params: &["max_months", "max_budget"],
        check: dem_010,
    },
    Entry {
        id: "RES-002",
        params: &["availability"],
        check: res_002,
    },
    Entry {
        id: "RES-007",
        params: &["max_deviation", "working_days_per_month"],
        check: res_007,
    },
    Entry {
        id: "RES-008",
        params: &["max_share"],
        check: res_008,
    },
    Entry {
        id: "FIN-006",
        params: &["warning_ratio", "error_ratio"],
        check: fin_006,
    },
    Entry {
        id: "FIN-007",
        params: &[],
        check: fin_007,
    },
    Entry {
        id: "POR-001",
        params: &[
            "max_deviation",
            "target_capability_planning",
            "target_ideas_and_concepts",
            "target_increments_and_improvements",
        ],
        check: por_001,
    },
    Entry {
        id: "POR-002",
        params: &["max_wip"],
        check: por_002,
    },
    Entry {
        id: "POR-003",
        params: &["max_days"],
        check: por_003,
    },
    Entry {
        id: "POR-004",
        params: &["max_age_days"],
        check: por_004,
    },
    Entry {
        id: "DQ-002",
        params: &["min_coverage"],
        check: dq_002,
    },
    Entry {
        id: "DEM-001",
        params: &[],
        check: dem_001,
    },
    Entry {
        id: "DEM-002",
        params: &[],
        check: dem_002,
    },
    Entry {
        id: "DEM-003",
        params: &[],
        check: dem_003,
    },
    Entry {
        id: "DEM-005",
        params: &[],
        check: dem_005,
    },
    Entry {
        id: "DEM-007",
        params: &[],
        check: dem_007,
    },
    Entry {
        id: "GATE-001",
        params: &["gate", "blocker_hours"],
        check: gate_001,
    },
    Entry {
        id: "GATE-002",
        params: &["error_days"],
        check: gate_002,
    },
    Entry {
        id: "GATE-004",
        params: &[],
        check: gate_004,
    },
    Entry {
        id: "GATE-005",
        params: &["max_hours_after_stop"],
        check: gate_005,
    },
    Entry {
        id: "GATE-006",
        params: &["max_age_days"],
        check: gate_006,
    },
    Entry {
        id: "GATE-007",
        params: &["warning_ratio", "error_ratio"],
        check: gate_007,
    },
    Entry {
        id: "RES-001",
        params: &["max_percent"],
        check: res_001,
    },
    Entry {
        id: "RES-003",
        params: &["warning_ratio", "error_ratio"],
        check: res_003,
    },
    Entry {
        id: "RES-004",
        params: &["min_size", "max_size"],
        check: res_004,
    },
    Entry {
        id: "RES-005",
        params: &["max_percent"],
        check: res_005,
    },
    Entry {
        id: "RES-006",
        params: &["max_initiatives"],
        check: res_006,
    },
    Entry {
        id: "FIN-001",
        params: &["budget_threshold"],
        check: fin_001,
    },
    Entry {
        id: "FIN-002",
        params: &[],
        check: fin_002,
    },
    Entry {
        id: "FIN-003",
        params: &["default_hurdle_rate"],
        check: fin_003,
    },
    Entry {
        id: "FIN-004",
        params: &["max_payback_months"],
        check: fin_004,
    },
    Entry {
        id: "FIN-005",
        params: &["warning_ratio", "error_ratio"],
        check: fin_005,
    },
    Entry {
        id: "DQ-001",
        params: &[],
        check: dq_001,
    },
    Entry {
        id: "DQ-003",
        params: &["max_share"],
        check: dq_003,
    },
    Entry {
        id: "DQ-004",
        params: &[],
        check: dq_004,
    },
];

/// The implementation of a rule id.
pub fn find(id: &str) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.id == id)
}

/// Record builders shared by the rule tests.
#[cfg(test)]
mod test_support {
    use crate::model::{Entity, Provenance, Record};

    /// A record of connection `t` with the given external id.
    pub fn record_with_id(external_id: String, entity: Entity) -> Record {
        Record {
            provenance: Provenance {
                connection: "t".into(),
                external_id,
                url: None,
                source_updated: None,
                fetched_at: "2026-11-27T00:00:00Z".into(),
            },
            entity,
            extra: serde_json::json!({}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Context, DEFAULT_PACK, RulePack, evaluate};
    use super::*;
    use crate::model::*;

    fn record(entity: Entity) -> Record {
        super::test_support::record_with_id("x".into(), entity)
    }

    fn person(id: &str, team: &str) -> Record {
        record(Entity::Person(Person {
            id: id.into(),
            name: id.into(),
            email: None,
            team: Some(team.into()),
            role: None,
            resource_owner: None,
            fte: Some(1.0),
            hours_per_day: None,
            start_date: None,
            end_date: None,
        }))
    }

    fn allocation(person: &str, key: &str, percent: f64) -> Record {
        record(Entity::Allocation(Allocation {
            person: person.into(),
            initiative_key: Some(key.into()),
            team: None,
            percent,
            from: Some("2026-01-01".into()),
            to: Some("2026-06-30".into()),
        }))
    }

    fn team(id: &str) -> Record {
        record(Entity::Team(Team {
            id: id.into(),
            name: id.into(),
            value_stream: None,
            manager: None,
        }))
    }

    fn run(records: Vec<Record>) -> Vec<Finding> {
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        evaluate(
            &pack,
            &Portfolio::new(records, vec![]),
            &Context {
                today: "2026-11-27".into(),
            },
        )
    }

    fn ids(findings: &[Finding], rule: &str) -> Vec<String> {
        findings
            .iter()
            .filter(|f| f.rule_id == rule)
            .map(|f| f.subject.key.clone())
            .collect()
    }

    #[test]
    fn over_allocation_and_thin_slices() {
        let findings = run(vec![
            allocation("p1", "A", 60.0),
            allocation("p1", "B", 30.0),
            allocation("p1", "C", 20.0),
            allocation("p2", "A", 100.0),
        ]);
        assert_eq!(ids(&findings, "RES-001"), ["p1"]);
        let over = findings.iter().find(|f| f.rule_id == "RES-001").unwrap();
        assert_eq!(over.evidence["total_percent"], 110.0);
        assert_eq!(over.severity, Severity::Error);
        assert_eq!(ids(&findings, "RES-005"), ["p1"], "only the 20 % slice");
        assert_eq!(
            ids(&findings, "RES-006"),
            ["p1"],
            "three initiatives at once"
        );
    }

    #[test]
    fn team_sizes_outside_five_to_seven() {
        let mut records = Vec::new();
        for (team_id, size) in [("four", 4), ("five", 5), ("seven", 7), ("eight", 8)] {
            records.push(team(team_id));
            for n in 0..size {
                records.push(person(&format!("{team_id}-{n}"), team_id));
            }
        }
        let findings = run(records);
        assert_eq!(ids(&findings, "RES-004"), ["eight", "four"]);
    }

    #[test]
    fn fingerprints_persist_and_thresholds_come_from_the_pack() {
        let a = run(vec![
            allocation("p1", "A", 60.0),
            allocation("p1", "B", 50.0),
        ]);
        let b = run(vec![
            allocation("p1", "A", 70.0),
            allocation("p1", "B", 50.0),
        ]);
        let fa = a.iter().find(|f| f.rule_id == "RES-001").unwrap();
        let fb = b.iter().find(|f| f.rule_id == "RES-001").unwrap();
        assert_eq!(fa.fingerprint, fb.fingerprint, "same finding, new numbers");
        assert_ne!(fa.message, fb.message);
        let lenient = DEFAULT_PACK.replace(
            "params = { max_percent = 100 }",
            "params = { max_percent = 120 }",
        );
        let pack = RulePack::from_toml(&lenient).unwrap();
        let findings = evaluate(
            &pack,
            &Portfolio::new(
                vec![allocation("p1", "A", 60.0), allocation("p1", "B", 50.0)],
                vec![],
            ),
            &Context {
                today: "2026-11-27".into(),
            },
        );
        assert!(ids(&findings, "RES-001").is_empty());
    }
}

#[cfg(test)]
mod finance_rules {
    use super::super::{Context, DEFAULT_PACK, RulePack, evaluate};
    use crate::model::*;

    fn record(entity: Entity) -> Record {
        super::test_support::record_with_id("case".into(), entity)
    }

    /// TV1 of dmo-domain.md as a business case table: NPV −21.04 at 10 %, IRR 8.90 %,
    /// simple payback 2.6 years, never paid back discounted.
    #[test]
    fn tv1_as_a_business_case_trips_all_three_finance_rules() {
        let flows = [
            (-1000.0, "2026"),
            (300.0, "2027"),
            (400.0, "2028"),
            (500.0, "2029"),
        ];
        let case = BusinessCase {
            initiative_key: "BIZ-1".into(),
            currency: Some("EUR".into()),
            discount_rate: Some(0.10),
            hurdle_rate: None,
            horizon: Some(4),
            period_length: Some("year".into()),
            cash_flows: flows
                .iter()
                .map(|(v, p)| CashFlow {
                    period: p.to_string(),
                    cost: if *v < 0.0 { -v } else { 0.0 },
                    benefit: if *v > 0.0 { *v } else { 0.0 },
                })
                .collect(),
            last_reviewed: None,
        };
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        let findings = evaluate(
            &pack,
            &super::Portfolio::new(vec![record(Entity::BusinessCase(case))], vec![]),
            &Context {
                today: "2026-11-27".into(),
            },
        );
        let by = |id: &str| findings.iter().find(|f| f.rule_id == id).unwrap();
        assert!((by("FIN-002").evidence["npv"].as_f64().unwrap() + 21.036_814).abs() < 1e-6);
        assert!((by("FIN-003").evidence["irr"].as_f64().unwrap() - 0.088_963_394_693).abs() < 1e-9);
        assert_eq!(
            by("FIN-004").evidence["simple_payback_months"]
                .as_f64()
                .unwrap()
                .round(),
            31.0
        );
        assert!(by("FIN-004").evidence["discounted_payback_months"].is_null());
        assert_eq!(
            by("FIN-002").evidence["rate_convention"],
            "annual rate, yearly periods"
        );
    }
}

#[cfg(test)]
mod more_rules {
    use super::super::{Context, DEFAULT_PACK, RulePack, evaluate};
    use super::Portfolio;
    use crate::model::*;

    fn record(n: usize, entity: Entity) -> Record {
        super::test_support::record_with_id(format!("r{n}"), entity)
    }

    fn initiative(key: &str) -> Initiative {
        Initiative {
            key: key.into(),
            title: key.into(),
            status: "In Progress".into(),
            status_category: Some("in-progress".into()),
            demand_type: Some("ideas-and-concepts".into()),
            development_type: Some("sequential".into()),
            value_stream: Some("retail".into()),
            portfolio: None,
            business_owner: Some("o".into()),
            strategic_theme: Some("growth".into()),
            current_gate: Some("G1".into()),
            cost_of_delay: Some(1.0),
            user_business_value: None,
            time_criticality: None,
            risk_reduction: None,
            job_size: None,
            planned_start: None,
            planned_end: None,
            next_gate_due: None,
            created: Some("2026-01-01".into()),
            labels: vec![],
            risks: vec![Risk {
                title: "r".into(),
                probability: None,
                impact: None,
                owner: Some("o".into()),
                mitigation: Some("m".into()),
            }],
            kpis: vec![],
        }
    }

    fn keys(entities: Vec<Entity>, rule: &str) -> Vec<String> {
        let records = entities
            .into_iter()
            .enumerate()
            .map(|(n, e)| record(n, e))
            .collect::<Vec<_>>();
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        let findings = evaluate(
            &pack,
            &Portfolio::new(records, vec![]),
            &Context {
                today: "2026-11-27".into(),
            },
        );
        findings
            .iter()
            .filter(|f| f.rule_id == rule)
            .map(|f| format!("{} {}", f.severity.as_str(), f.subject.key))
            .collect()
    }

    fn init(i: Initiative) -> Entity {
        Entity::Initiative(Box::new(i))
    }

    #[test]
    fn dependencies_on_stopped_or_unaccepted_work() {
        let mut late = initiative("A");
        late.current_gate = Some("G2".into());
        let entities = vec![
            init(late),
            init(initiative("B")),
            init(initiative("C")),
            Entity::GateDecision(GateDecision {
                initiative_key: "C".into(),
                gate: "G1".into(),
                decision: "stop".into(),
                decider: Some("s".into()),
                date: Some("2026-05-01".into()),
                conditions: None,
            }),
            Entity::Dependency(Dependency {
                from_key: "A".into(),
                to_key: "B".into(),
                kind: "depends-on".into(),
                accepted: None,
            }),
            Entity::Dependency(Dependency {
                from_key: "B".into(),
                to_key: "C".into(),
                kind: "depends-on".into(),
                accepted: Some(true),
            }),
            Entity::Dependency(Dependency {
                from_key: "C".into(),
                to_key: "A".into(),
                kind: "depends-on".into(),
                accepted: Some(true),
            }),
        ];
        assert_eq!(keys(entities, "DEM-006"), ["error A", "warning B"]);
    }

    #[test]
    fn wsjf_inversions_ageing_and_the_continual_track() {
        let mut entities = Vec::new();
        let mut started = initiative("LOW");
        (
            started.user_business_value,
            started.time_criticality,
            started.risk_reduction,
            started.job_size,
        ) = (Some(1.0), Some(1.0), Some(1.0), Some(8.0));
        entities.push(init(started));
        for n in 0..4 {
            let mut ready = initiative(&format!("HIGH-{n}"));
            ready.status_category = Some("todo".into());
            (
                ready.user_business_value,
                ready.time_criticality,
                ready.risk_reduction,
                ready.job_size,
            ) = (Some(8.0), Some(8.0), Some(8.0), Some(2.0));
            entities.push(init(ready));
        }
        let mut old = initiative("OLD");
        (old.current_gate, old.status_category, old.created) =
            (None, Some("todo".into()), Some("2026-06-01".into()));
        entities.push(init(old));
        let mut big = initiative("BIG");
        (big.development_type, big.planned_start, big.planned_end) = (
            Some("continual".into()),
            Some("2026-01-01".into()),
            Some("2026-12-31".into()),
        );
        entities.push(init(big));
        assert_eq!(keys(entities.clone(), "DEM-008"), ["warning LOW"]);
        assert_eq!(keys(entities.clone(), "DEM-009"), ["warning OLD"]);
        assert_eq!(keys(entities, "DEM-010"), ["warning BIG"]);
    }

    fn allocation(person: &str, key: &str, percent: f64) -> Entity {
        Entity::Allocation(Allocation {
            person: person.into(),
            initiative_key: Some(key.into()),
            team: None,
            percent,
            from: Some("2026-10-01".into()),
            to: Some("2026-10-31".into()),
        })
    }

    fn hours(person: &str, key: &str, date: &str, h: u64) -> Entity {
        Entity::TimeEntry(TimeEntry {
            person: person.into(),
            work_item_key: None,
            initiative_key: Some(key.into()),
            date: date.into(),
            started: None,
            seconds: h * 3600,
            description: None,
        })
    }

    #[test]
    fn availability_plan_against_actuals_unapproved_work_and_coverage() {
        let mut entities = vec![allocation("busy", "A", 95.0), allocation("ok", "A", 80.0)];
        // "ok" is planned 80 % of 21 days × 7.5 h = 126 h in October and logs 40 h.
        for d in 1..=5 {
            entities.push(hours("ok", "A", &format!("2026-10-0{d}"), 8));
        }
        // "busy" logs every weekday of two weeks on an unapproved initiative.
        for d in [5, 6, 7, 8, 9, 12, 13, 14, 15, 16] {
            entities.push(hours("busy", "X", &format!("2026-10-{d:02}"), 8));
        }
        // "patchy" logs 3 of 10 weekdays.
        for d in [5, 9, 16] {
            entities.push(hours("patchy", "A", &format!("2026-10-{d:02}"), 8));
        }
        entities.push(Entity::GateDecision(GateDecision {
            initiative_key: "A".into(),
            gate: "G1".into(),
            decision: "go".into(),
            decider: Some("s".into()),
            date: Some("2026-01-10".into()),
            conditions: None,
        }));
        assert_eq!(keys(entities.clone(), "RES-002"), ["warning busy"]);
        assert_eq!(keys(entities.clone(), "RES-007"), ["info busy", "info ok"]);
        assert_eq!(keys(entities.clone(), "RES-008"), ["warning all"]);
        assert_eq!(keys(entities, "DQ-002"), ["warning patchy"]);
    }

    #[test]
    fn benefits_after_go_live_and_value_from_the_first_increment() {
        let finance = |kind: &str, amount: f64| {
            Entity::FinanceEntry(FinanceEntry {
                initiative_key: "LIVE".into(),
                period: "2026-Q3".into(),
                kind: kind.into(),
                expense_type: None,
                amount,
                currency: "EUR".into(),
            })
        };
        let mut inc = initiative("INC");
        (inc.development_type, inc.current_gate) = (Some("incremental".into()), Some("G2".into()));
        let entities = vec![
            finance("planned-benefit", 100.0),
            finance("realised-benefit", 40.0),
            Entity::GateDecision(GateDecision {
                initiative_key: "LIVE".into(),
                gate: "G3".into(),
                decision: "go".into(),
                decider: Some("s".into()),
                date: Some("2026-06-01".into()),
                conditions: None,
            }),
            init(inc),
        ];
        assert_eq!(keys(entities.clone(), "FIN-006"), ["error LIVE"]);
        assert_eq!(keys(entities.clone(), "FIN-007"), ["error INC"]);
        // Benefit planned for periods still to come is not expected to be realised yet:
        // 80 of the 100 due so far is within the warning ratio, whatever 2099 holds.
        let mut ahead = entities;
        ahead.retain(|e| !matches!(e, Entity::FinanceEntry(_)));
        for (period, kind, amount) in [
            ("2026-Q3", "planned-benefit", 100.0),
            ("2099-Q1", "planned-benefit", 1000.0),
            ("2026-Q3", "realised-benefit", 80.0),
        ] {
            ahead.push(Entity::FinanceEntry(FinanceEntry {
                initiative_key: "LIVE".into(),
                period: period.into(),
                kind: kind.into(),
                expense_type: None,
                amount,
                currency: "EUR".into(),
            }));
        }
        assert!(keys(ahead, "FIN-006").is_empty());
    }

    #[test]
    fn portfolio_mix_wip_steering_and_quarterly_inputs() {
        let mut entities = Vec::new();
        for n in 0..6 {
            entities.push(init(initiative(&format!("R{n}"))));
            entities.push(Entity::FinanceEntry(FinanceEntry {
                initiative_key: format!("R{n}"),
                period: "2026-Q1".into(),
                kind: "budget".into(),
                expense_type: None,
                amount: 10.0,
                currency: "EUR".into(),
            }));
        }
        let found = keys(entities.clone(), "POR-001");
        assert_eq!(
            found,
            [
                "info capability-planning",
                "info ideas-and-concepts",
                "info increments-and-improvements"
            ]
        );
        assert_eq!(keys(entities.clone(), "POR-002"), ["warning retail"]);
        assert_eq!(keys(entities.clone(), "POR-003").len(), 6);
        assert_eq!(keys(entities, "POR-004"), ["warning retail"]);
    }

    #[test]
    fn gate_checklist_lists_what_is_missing() {
        let mut bare = initiative("BARE");
        (
            bare.strategic_theme,
            bare.cost_of_delay,
            bare.development_type,
        ) = (None, None, None);
        let mut done = initiative("DONE");
        done.kpis.push(Kpi {
            name: "k".into(),
            unit: None,
            baseline: Some(1.0),
            target: Some(2.0),
            measurements: vec![],
        });
        let mut early = initiative("EARLY");
        early.current_gate = Some("G0".into());
        let case = |key: &str| {
            Entity::BusinessCase(BusinessCase {
                initiative_key: key.into(),
                currency: Some("EUR".into()),
                discount_rate: Some(0.08),
                hurdle_rate: None,
                horizon: Some(5),
                period_length: None,
                cash_flows: vec![],
                last_reviewed: None,
            })
        };
        let entities = vec![init(bare), init(done), init(early), case("DONE")];
        assert_eq!(keys(entities.clone(), "GATE-003"), ["error BARE"]);
        let records = entities
            .into_iter()
            .enumerate()
            .map(|(n, e)| record(n, e))
            .collect::<Vec<_>>();
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        let f = evaluate(
            &pack,
            &Portfolio::new(records, vec![]),
            &Context {
                today: "2026-11-27".into(),
            },
        )
        .into_iter()
        .find(|f| f.rule_id == "GATE-003")
        .unwrap();
        assert_eq!(
            f.evidence["missing"],
            serde_json::json!([
                "strategy link",
                "quantified benefit",
                "business case (TCO)",
                "cost of delay or WSJF",
                "development type"
            ])
        );
    }

    #[test]
    fn schedule_slip_and_business_case_drift() {
        let mut late = initiative("LATE");
        (late.planned_start, late.planned_end) =
            (Some("2026-01-01".into()), Some("2026-07-01".into()));
        let mut fine = initiative("FINE");
        (fine.planned_start, fine.planned_end) =
            (Some("2026-01-01".into()), Some("2026-11-01".into()));
        assert_eq!(
            keys(vec![init(late), init(fine)], "GATE-008"),
            ["warning LATE"]
        );

        let entry = |key: &str, year: &str, kind: &str, amount: f64| {
            Entity::FinanceEntry(FinanceEntry {
                initiative_key: key.into(),
                period: format!("{year}-Q1"),
                kind: kind.into(),
                expense_type: None,
                amount,
                currency: "EUR".into(),
            })
        };
        let case = |key: &str| {
            Entity::BusinessCase(BusinessCase {
                initiative_key: key.into(),
                currency: Some("EUR".into()),
                discount_rate: Some(0.10),
                hurdle_rate: None,
                horizon: Some(3),
                period_length: None,
                cash_flows: vec![],
                last_reviewed: None,
            })
        };
        let mut entities = vec![case("FLIP"), case("DROP"), case("SAME")];
        for key in ["FLIP", "DROP", "SAME"] {
            entities.push(entry(key, "2026", "budget", 100.0));
            entities.push(entry(key, "2027", "planned-benefit", 70.0));
            entities.push(entry(key, "2028", "planned-benefit", 70.0));
        }
        // FLIP cost 150 instead of 100: NPV turns negative. DROP realised 50 of 70 in 2027:
        // ROI falls from 40 % to 20 %. SAME has only its plan.
        entities.push(entry("FLIP", "2026", "actual", 150.0));
        entities.push(entry("DROP", "2026", "actual", 100.0));
        entities.push(entry("DROP", "2027", "realised-benefit", 50.0));
        assert_eq!(keys(entities, "FIN-008"), ["error FLIP", "warning DROP"]);
    }

    #[test]
    fn total_cost_of_ownership() {
        let mut cp = initiative("CP");
        cp.demand_type = Some("capability-planning".into());
        let entities = vec![
            init(cp),
            Entity::BusinessCase(BusinessCase {
                initiative_key: "CP".into(),
                currency: Some("EUR".into()),
                discount_rate: Some(0.08),
                hurdle_rate: None,
                horizon: Some(2),
                period_length: Some("year".into()),
                cash_flows: vec![],
                last_reviewed: None,
            }),
        ];
        assert_eq!(keys(entities, "DEM-004"), ["error CP"]);
    }
}
