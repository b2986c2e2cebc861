//! Business cases (FIN): value, returns, payback, costs against the budget, benefits realised.

use super::catalogue::*;
use super::portfolio::gate_number;
use super::{Context, Portfolio, RuleConfig, SubjectKind};
use crate::Severity;
use crate::calendar::day_number;
use crate::prioritisation::money_in;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) fn fin_001(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
            out.emit(None, (SubjectKind::Initiative, key), "", format!("{key} has no business case, though it is capability planning or budgeted above {threshold:.0}."), json!({"budget": p.finance_total(key, "budget"), "threshold": threshold}));
        }
    }
}

pub(crate) fn fin_005(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let (warn, err) = (rule.p("warning_ratio"), rule.p("error_ratio"));
    // Per initiative: labour cost, hours, entries without a rate, the rates' currency.
    // Hashed while a million entries are added up, in key order afterwards.
    let mut labour: crate::HashMap<&str, (f64, f64, u64, Option<&str>)> = crate::HashMap::default();
    for t in &p.time_entries {
        let Some(key) = p.initiative_of(t) else {
            continue;
        };
        let entry = labour.entry(key).or_default();
        let hours = t.seconds as f64 / 3600.0;
        match p.hourly_rate(t.person, t.date) {
            Some((rate, currency)) => {
                entry.0 += hours * rate;
                entry.3.get_or_insert(currency);
            }
            None => entry.2 += 1,
        }
        entry.1 += hours;
    }
    for (key, (cost, hours, unpriced, currency)) in labour.into_iter().collect::<BTreeMap<_, _>>() {
        let key = key.to_string();
        let budget = p.finance_total(&key, "budget");
        if budget <= 0.0 {
            continue;
        }
        let ratio = cost / budget;
        if ratio >= warn {
            let severity = (ratio > err).then_some(Severity::Error);
            out.emit(severity, (SubjectKind::Initiative, &key), "", format!("Logged time on {key} costs {} ({:.0} % of its budget of {}): {} hours at the people's rates.", money_in(cost, currency), 100.0 * ratio, money_in(budget, p.currency(&key)), round1(hours)), json!({"labour_cost": cost, "hours": round1(hours), "budget": budget, "ratio": ratio, "entries_without_rate": unpriced}));
        }
    }
}

/// The flows of each business case that can be computed; for each that cannot, a finding
/// of `rule` saying why (never a number that is not one).
fn computable<'a>(
    p: &'a Portfolio,
    out: &mut Emitter,
) -> Vec<(&'a String, crate::cases::CaseFlows)> {
    let mut ok = Vec::new();
    for key in p.business_cases.keys() {
        match crate::cases::case_flows(p, key) {
            None => {}
            Some(Ok(c)) => ok.push((key, c)),
            Some(Err(reason)) => out.emit(
                Some(Severity::Warning),
                (SubjectKind::Initiative, key),
                "cannot-compute",
                format!("The business case of {key} cannot be computed: {reason}."),
                json!({"reason": reason}),
            ),
        }
    }
    ok
}

pub(crate) fn fin_002(_: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for (key, c) in computable(p, out) {
        let at = c.hurdle();
        let npv = crate::finance::npv(at, &c.flows);
        let annual = c.annual_hurdle.unwrap_or(c.annual_rate);
        if !npv.is_finite() {
            out.emit(Some(Severity::Warning), (SubjectKind::Initiative, key), "cannot-compute", format!("The NPV of {key} cannot be computed at {:.1} % a year: its discounting leaves the range of numbers.", 100.0 * annual), json!({"rate": at, "cash_flows": c.flows, "rate_convention": c.convention()}));
        } else if npv < 0.0 {
            out.emit(None, (SubjectKind::Initiative, key), "", format!("The business case of {key} has a negative net present value: {} at {:.1} % a year ({}).", money_in(npv, p.currency(key)), 100.0 * annual, c.convention()), json!({"npv": npv, "rate": at, "annual_rate": annual, "cash_flows": c.flows, "periods": c.labels, "rate_convention": c.convention()}));
        }
    }
}

pub(crate) fn fin_003(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let default_hurdle = rule.p("default_hurdle_rate");
    for (key, c) in computable_quietly(p) {
        let case = &p.business_cases[key];
        let hurdle = case.hurdle_rate.unwrap_or(default_hurdle);
        let m = crate::cases::measures(&c);
        let irr = m.irr;
        let per = c.period.name();
        match m.irr_annual {
            Some(_) if irr.multiple_sign_changes => {
                let roots: Vec<String> = m.irr_roots_annual.iter().map(|r| format!("{:.1} %", 100.0 * r)).collect();
                out.emit(Some(Severity::Info), (SubjectKind::Initiative, key), "", format!("The cash flows of {key} change sign more than once: {}; judge it by NPV and MIRR ({}).", match roots.len() { 0 | 1 => format!("its IRR of {} a year may not be the only one", roots.first().cloned().unwrap_or_else(|| format!("{:.1} %", 100.0 * m.irr_annual.unwrap_or_default()))), _ => format!("several rates make its NPV zero ({} a year)", roots.join(", ")) }, m.mirr_annual.map_or("no MIRR".to_string(), |r| format!("MIRR {:.1} % a year", 100.0 * r))), json!({"irr": irr.rate, "irr_annual": m.irr_annual, "irr_roots_annual": m.irr_roots_annual, "mirr_annual": m.mirr_annual, "cash_flows": c.flows, "rate_convention": c.convention()}))
            }
            Some(r) if r < hurdle => out.emit(None, (SubjectKind::Initiative, key), "", format!("The IRR of {key} is {:.1} % a year{}, below the hurdle rate of {:.1} %.", 100.0 * r, if c.period == crate::cases::Period::Year { String::new() } else { format!(" ({:.2} % a {per})", 100.0 * irr.rate.unwrap_or_default()) }, 100.0 * hurdle), json!({"irr": irr.rate, "irr_annual": r, "hurdle_rate": hurdle, "cash_flows": c.flows, "rate_convention": c.convention()})),
            Some(_) => {}
            None => out.emit(Some(Severity::Info), (SubjectKind::Initiative, key), "", format!("{key} has no IRR ({}).", match irr.reason { Some(crate::finance::NoIrr::NoSignChange) => "the cash flows never change sign", _ => "no rate in range makes the NPV zero" }), json!({"reason": irr.reason, "cash_flows": c.flows})),
        }
    }
}

/// The computable cases, without findings about the others (FIN-002 reports those once).
fn computable_quietly(p: &Portfolio) -> Vec<(&String, crate::cases::CaseFlows)> {
    p.business_cases
        .keys()
        .filter_map(|key| Some((key, crate::cases::case_flows(p, key)?.ok()?)))
        .collect()
}

pub(crate) fn fin_004(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max_months = rule.p("max_payback_months");
    for (key, c) in computable_quietly(p) {
        let m = crate::cases::measures(&c);
        let (simple, discounted) = (m.payback_months, m.discounted_payback_months);
        let late = simple.is_none_or(|m| m > max_months) || discounted.is_none();
        if late {
            let text = match simple {
                Some(m) => format!("pays back in {m:.1} months (limit {max_months})"),
                None => "never pays back within its horizon".to_string(),
            };
            out.emit(None, (SubjectKind::Initiative, key), "", format!("{key} {text}{} ({}).", if discounted.is_none() && simple.is_some() { ", and never once discounted" } else { "" }, c.convention()), json!({"simple_payback_months": simple, "discounted_payback_months": discounted, "cash_flows": c.flows, "rate_convention": c.convention()}));
        }
    }
}

/// First day of a finance period, `YYYY-MM` or `YYYY-Qn`.
pub fn period_start(period: &str) -> Option<i64> {
    let (year, rest) = period.split_once('-')?;
    let month = match rest.strip_prefix('Q') {
        Some(q) => (q.parse::<u32>().ok()?.checked_sub(1)? * 3 + 1).to_string(),
        None => rest.to_string(),
    };
    day_number(&format!("{year}-{:0>2}-01", month))
}

pub(crate) fn fin_006(rule: &RuleConfig, p: &Portfolio, ctx: &Context, out: &mut Emitter) {
    let (warn, err) = (rule.p("warning_ratio"), rule.p("error_ratio"));
    let today = day_number(&ctx.today);
    for key in p.initiative_keys() {
        let live = p
            .decisions(&key)
            .any(|g| gate_number(&g.gate).is_some_and(|n| n >= 3) && g.decision == "go");
        // Only the benefit planned for periods that have begun can have been realised yet.
        let planned: f64 = p
            .finance_of(&key)
            .filter(|f| f.kind == "planned-benefit")
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
                (SubjectKind::Initiative, &key),
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

pub(crate) fn fin_007(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for i in initiatives(rule, p).filter(|i| i.development_type.as_deref() == Some("incremental")) {
        let measured = i
            .kpis
            .iter()
            .any(|k| k.baseline.is_some() && !k.measurements.is_empty());
        if !measured {
            out.emit(None, (SubjectKind::Initiative, &i.key), "", format!("{} delivers in increments but measures no value yet: give a KPI a baseline and record it from the first increment.", i.key), json!({"kpis": i.kpis.len()}));
        }
    }
}

pub(crate) fn fin_008(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let max_drop = rule.p("max_roi_drop");
    for key in p.business_cases.keys() {
        let Some((approved, forecast, rate)) = crate::cases::approved_and_forecast(p, key) else {
            continue;
        };
        if approved == forecast {
            continue;
        }
        let (npv_a, npv_f) = (
            crate::finance::npv(rate, &approved),
            crate::finance::npv(rate, &forecast),
        );
        if !npv_a.is_finite() || !npv_f.is_finite() {
            continue;
        }
        let (roi_a, roi_f) = (
            crate::finance::roi_simple(&approved),
            crate::finance::roi_simple(&forecast),
        );
        let evidence = json!({"approved_npv": npv_a, "forecast_npv": npv_f, "approved_roi": roi_a, "forecast_roi": roi_f, "rate": rate});
        if npv_a >= 0.0 && npv_f < 0.0 {
            out.emit(Some(Severity::Error), (SubjectKind::Initiative, key), "", format!("With the actuals so far, the NPV of {key} turns negative: {} against {} approved.", money_in(npv_f, p.currency(key)), money_in(npv_a, p.currency(key))), evidence);
        } else if let (Some(a), Some(f)) = (roi_a, roi_f)
            && a > 0.0
            && (a - f) / a > max_drop
        {
            out.emit(None, (SubjectKind::Initiative, key), "", format!("With the actuals so far, the ROI of {key} is {:.0} % against {:.0} % approved.", 100.0 * f, 100.0 * a), evidence);
        }
    }
}

/// The rules of this family, for the catalogue.
pub(crate) const ENTRIES: &[Entry] = &[
    Entry {
        id: "FIN-008",
        params: &["max_roi_drop"],
        check: fin_008,
        cost: Cost::Pass,
    },
    Entry {
        id: "FIN-006",
        params: &["warning_ratio", "error_ratio"],
        check: fin_006,
        cost: Cost::Pass,
    },
    Entry {
        id: "FIN-007",
        params: &[],
        check: fin_007,
        cost: Cost::Pass,
    },
    Entry {
        id: "FIN-001",
        params: &["budget_threshold"],
        check: fin_001,
        cost: Cost::Pass,
    },
    Entry {
        id: "FIN-002",
        params: &[],
        check: fin_002,
        cost: Cost::Pass,
    },
    Entry {
        id: "FIN-003",
        params: &["default_hurdle_rate"],
        check: fin_003,
        cost: Cost::Pass,
    },
    Entry {
        id: "FIN-004",
        params: &["max_payback_months"],
        check: fin_004,
        cost: Cost::Pass,
    },
    Entry {
        id: "FIN-005",
        params: &["warning_ratio", "error_ratio"],
        check: fin_005,
        cost: Cost::Heavy,
    },
];
