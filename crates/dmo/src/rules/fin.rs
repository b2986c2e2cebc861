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
    let mut labour: BTreeMap<String, (f64, f64, u64)> = BTreeMap::new();
    let mut currencies: BTreeMap<String, String> = BTreeMap::new();
    for t in &p.time_entries {
        let Some(key) = p.initiative_of(t) else {
            continue;
        };
        let entry = labour.entry(key.to_string()).or_default();
        let hours = t.seconds as f64 / 3600.0;
        match p.hourly_rate(&t.person, &t.date) {
            Some((rate, currency)) => {
                entry.0 += hours * rate;
                currencies
                    .entry(key.to_string())
                    .or_insert_with(|| currency.to_string());
            }
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
        let currency = currencies.get(&key).cloned();
        if ratio >= warn {
            let severity = (ratio > err).then_some(Severity::Error);
            out.emit(severity, (SubjectKind::Initiative, &key), "", format!("Logged time on {key} costs {} ({:.0} % of its budget of {}): {} hours at the people's rates.", money_in(cost, currency.as_deref()), 100.0 * ratio, money_in(budget, p.currency(&key)), round1(hours)), json!({"labour_cost": cost, "hours": round1(hours), "budget": budget, "ratio": ratio, "entries_without_rate": unpriced}));
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

pub(crate) fn fin_002(_: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    for (key, case) in &p.business_cases {
        let Some((flows, rate, convention)) = cash_flows(p, key) else {
            continue;
        };
        let at = case.hurdle_rate.unwrap_or(rate);
        let npv = crate::finance::npv(at, &flows);
        if npv < 0.0 {
            out.emit(
                None,
                (SubjectKind::Initiative, key),
                "",
                format!(
                    "The business case of {key} has a negative net present value: {} at {:.1} %.",
                    money_in(npv, p.currency(key)),
                    100.0 * at
                ),
                json!({"npv": npv, "rate": at, "cash_flows": flows, "rate_convention": convention}),
            );
        }
    }
}

pub(crate) fn fin_003(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
    let default_hurdle = rule.p("default_hurdle_rate");
    for (key, case) in &p.business_cases {
        let Some((flows, _, convention)) = cash_flows(p, key) else {
            continue;
        };
        let hurdle = case.hurdle_rate.unwrap_or(default_hurdle);
        let irr = crate::finance::irr(&flows, 0.1);
        match irr.rate {
            Some(r) if irr.multiple_sign_changes => out.emit(Some(Severity::Info), (SubjectKind::Initiative, key), "", format!("The cash flows of {key} change sign more than once: its IRR of {:.1} % may not be the only one; judge it by NPV.", 100.0 * r), json!({"irr": r, "cash_flows": flows, "rate_convention": convention})),
            Some(r) if r < hurdle => out.emit(None, (SubjectKind::Initiative, key), "", format!("The IRR of {key} is {:.1} %, below the hurdle rate of {:.1} %.", 100.0 * r, 100.0 * hurdle), json!({"irr": r, "hurdle_rate": hurdle, "cash_flows": flows, "rate_convention": convention})),
            Some(_) => {}
            None => out.emit(Some(Severity::Info), (SubjectKind::Initiative, key), "", format!("{key} has no IRR ({}).", match irr.reason { Some(crate::finance::NoIrr::NoSignChange) => "the cash flows never change sign", _ => "no rate in range makes the NPV zero" }), json!({"reason": irr.reason, "cash_flows": flows})),
        }
    }
}

pub(crate) fn fin_004(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
            out.emit(None, (SubjectKind::Initiative, key), "", format!("{key} {text}{}.", if discounted.is_none() && simple.is_some() { ", and never once discounted" } else { "" }), json!({"simple_payback_months": simple, "discounted_payback_months": discounted, "cash_flows": flows, "rate_convention": convention}));
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

/// Approved flows (budget as cost, planned benefit as benefit) and the re-forecast (actual
/// cost and realised benefit where a year has them, the plan elsewhere), per year.
pub(crate) fn approved_and_forecast(p: &Portfolio, key: &str) -> Option<(Vec<f64>, Vec<f64>)> {
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

pub(crate) fn fin_008(rule: &RuleConfig, p: &Portfolio, _: &Context, out: &mut Emitter) {
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
];
