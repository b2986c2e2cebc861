//! Business cases as cash flows at their own period length, and the measures taken from them
//! (docs/finance.md). One place builds the flows, so the rules, the reports and the dashboard
//! judge the same numbers.
//!
//! - **Periods.** A case's `period_length` (year, the default; quarter; month) sets its
//!   periods. Finance entries (`YYYY-MM` or `YYYY-Qn`) fall into the period that holds them; a
//!   quarterly entry in a monthly case is spread evenly over its three months (and the case's
//!   convention says how many were). Periods without entries count as 0.
//! - **Horizon.** With `horizon` = h, the case covers h periods counted from its first (the
//!   first included): entries after them are left out (and said), missing ones count as 0.
//! - **Rates.** Discount and hurdle rates are yearly; a quarter's or a month's rate is the
//!   effective one, `(1 + annual)^(1/n) − 1`, so that compounding gives the yearly rate back.
//!   Rates in reports are yearly: an IRR or MIRR per period is annualised the same way.
//! - **Always numbers.** Every measure is a finite number or `None` with the reason; nothing
//!   infinite or undefined leaves this module.

use crate::finance::{self, Irr};
use crate::rules::Portfolio;
use serde::Serialize;
use std::collections::BTreeMap;

/// The most periods a case may span (100 years of months): beyond, discounting is no longer
/// meaningful and could leave the range of numbers.
pub const MAX_PERIODS: i64 = 1200;

/// A business case's period length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Calendar years.
    Year,
    /// Calendar quarters.
    Quarter,
    /// Calendar months.
    Month,
}

impl Period {
    /// From a case's `period_length` (year when not given).
    pub fn of(length: Option<&str>) -> Period {
        match length {
            Some("month") => Period::Month,
            Some("quarter") => Period::Quarter,
            _ => Period::Year,
        }
    }

    /// Periods in a year.
    pub fn per_year(self) -> u32 {
        match self {
            Period::Year => 1,
            Period::Quarter => 4,
            Period::Month => 12,
        }
    }

    /// Months in a period.
    pub fn months(self) -> f64 {
        12.0 / self.per_year() as f64
    }

    /// Its name, as in "a month".
    pub fn name(self) -> &'static str {
        match self {
            Period::Year => "year",
            Period::Quarter => "quarter",
            Period::Month => "month",
        }
    }

    /// The effective rate per period for a yearly rate.
    pub fn rate(self, annual: f64) -> f64 {
        match self {
            Period::Year => annual,
            _ => (1.0 + annual).powf(1.0 / self.per_year() as f64) - 1.0,
        }
    }

    /// The yearly rate for a rate per period (compounded).
    pub fn annual(self, per_period: f64) -> f64 {
        match self {
            Period::Year => per_period,
            _ => (1.0 + per_period).powi(self.per_year() as i32) - 1.0,
        }
    }

    /// The periods (by index) a finance entry's period falls into, with the share of its
    /// amount each takes. `None` for a period that is not `YYYY-MM` or `YYYY-Qn`.
    fn spread(self, entry: &str) -> Option<Vec<(i64, f64)>> {
        let (year, rest) = entry.split_once('-')?;
        let year: i64 = year.parse().ok()?;
        let (month, quarter) = match rest.strip_prefix('Q') {
            Some(q) => (None, q.parse::<i64>().ok().filter(|q| (1..=4).contains(q))?),
            None => {
                let m = rest.parse::<i64>().ok().filter(|m| (1..=12).contains(m))?;
                (Some(m), (m - 1) / 3 + 1)
            }
        };
        Some(match (self, month) {
            (Period::Year, _) => vec![(year, 1.0)],
            (Period::Quarter, _) => vec![(year * 4 + quarter - 1, 1.0)],
            (Period::Month, Some(m)) => vec![(year * 12 + m - 1, 1.0)],
            (Period::Month, None) => {
                let first = year * 12 + (quarter - 1) * 3;
                (first..first + 3).map(|i| (i, 1.0 / 3.0)).collect()
            }
        })
    }

    /// The label of a period index: `2026`, `2026-Q3`, `2026-07`.
    pub fn label(self, index: i64) -> String {
        match self {
            Period::Year => format!("{index}"),
            Period::Quarter => format!("{}-Q{}", index.div_euclid(4), index.rem_euclid(4) + 1),
            Period::Month => format!("{}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1),
        }
    }
}

/// A business case as cash flows per period, with its rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFlows {
    /// The case's period length.
    pub period: Period,
    /// Each period's label (`2026`, `2026-Q3`, `2026-07`), the first at t = 0.
    pub labels: Vec<String>,
    /// Net flow per period (benefit − cost); the first at t = 0, not discounted.
    pub flows: Vec<f64>,
    /// The yearly discount rate.
    pub annual_rate: f64,
    /// The discount rate per period.
    pub rate: f64,
    /// The yearly hurdle rate, if the case has one.
    pub annual_hurdle: Option<f64>,
    /// How the flows were built beyond the rules above: quarterly entries spread over
    /// months, entries after the horizon left out.
    pub notes: Vec<String>,
}

impl CaseFlows {
    /// The rate convention in words, for findings and report notes.
    pub fn convention(&self) -> String {
        let mut text = match self.period {
            Period::Year => format!("yearly periods at {:.1} % a year", 100.0 * self.annual_rate),
            p => format!(
                "{}ly periods at {:.1} % a year, {:.3} % a {} ((1 + annual)^(1/{}) − 1, effective)",
                match p {
                    Period::Month => "month",
                    _ => "quarter",
                },
                100.0 * self.annual_rate,
                100.0 * self.rate,
                p.name(),
                p.per_year()
            ),
        };
        for n in &self.notes {
            text.push_str("; ");
            text.push_str(n);
        }
        text
    }

    /// The hurdle rate per period (the discount rate where the case has none).
    pub fn hurdle(&self) -> f64 {
        self.annual_hurdle
            .map_or(self.rate, |h| self.period.rate(h))
    }
}

/// Per period index, the amounts of a case's finance entries of each kind in `kinds` (the
/// slot is the kind's place in the list), for `period`, within `horizon` periods of the first;
/// and the notes on how they were placed. `None` without an entry.
type Buckets = (i64, BTreeMap<i64, Vec<f64>>, Vec<String>);

fn buckets(
    p: &Portfolio,
    key: &str,
    period: Period,
    horizon: Option<u32>,
    kinds: &[&str],
) -> Option<Buckets> {
    let mut by: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    let mut spread = 0;
    for f in p.finance_of(key) {
        let Some(slot) = kinds.iter().position(|k| *k == f.kind) else {
            continue;
        };
        let Some(places) = period.spread(&f.period) else {
            continue;
        };
        if places.len() > 1 {
            spread += 1;
        }
        for (index, share) in places {
            by.entry(index).or_insert_with(|| vec![0.0; kinds.len()])[slot] += share * f.amount;
        }
    }
    let first = *by.keys().next()?;
    let mut notes = Vec::new();
    if spread > 0 {
        notes.push(format!(
            "{spread} quarterly finance {} spread evenly over {} months",
            if spread == 1 { "entry" } else { "entries" },
            if spread == 1 { "its" } else { "their" }
        ));
    }
    if let Some(h) = horizon.filter(|h| *h > 0) {
        let end = first + i64::from(h);
        let beyond = by.range(end..).count();
        if beyond > 0 {
            notes.push(format!(
                "{beyond} {} after the horizon of {h} {}s left out",
                if beyond == 1 { "period" } else { "periods" },
                period.name()
            ));
            by.retain(|i, _| *i < end);
        }
    }
    Some((first, by, notes))
}

/// The span of periods the flows cover: from the first to the last entry, or the horizon.
fn span(first: i64, last: i64, horizon: Option<u32>) -> i64 {
    match horizon.filter(|h| *h > 0) {
        Some(h) => i64::from(h),
        None => last - first + 1,
    }
}

/// The cash flows of an initiative's business case: its own table of flows, or else its
/// finance entries (budget as cost, planned benefit as benefit) at the case's period length.
/// `None` without a business case, a discount rate or any flow; an error (the reason, for a
/// finding) when they cannot be computed.
pub fn case_flows(p: &Portfolio, key: &str) -> Option<Result<CaseFlows, String>> {
    let case = p.business_cases.get(key)?;
    let annual_rate = case.discount_rate?;
    let period = Period::of(case.period_length.as_deref());
    if !annual_rate.is_finite() || annual_rate <= -1.0 {
        return Some(Err(format!(
            "its discount rate of {} is not a rate above −100 %",
            finance_text(100.0 * annual_rate, " %")
        )));
    }
    if let Some(h) = case.hurdle_rate.filter(|h| !h.is_finite() || *h <= -1.0) {
        return Some(Err(format!(
            "its hurdle rate of {} is not a rate above −100 %",
            finance_text(100.0 * h, " %")
        )));
    }
    let (labels, flows, notes) = if !case.cash_flows.is_empty() {
        (
            case.cash_flows.iter().map(|c| c.period.clone()).collect(),
            case.cash_flows.iter().map(|c| c.benefit - c.cost).collect(),
            Vec::new(),
        )
    } else {
        let (first, by, notes) =
            buckets(p, key, period, case.horizon, &["budget", "planned-benefit"])?;
        let last = *by.keys().last().unwrap_or(&first);
        let n = span(first, last, case.horizon);
        if n > MAX_PERIODS {
            return Some(Err(format!(
                "its finance entries span {n} {}s, more than the {MAX_PERIODS} a case may cover",
                period.name()
            )));
        }
        let labels = (first..first + n).map(|i| period.label(i)).collect();
        let flows = (first..first + n)
            .map(|i| by.get(&i).map_or(0.0, |v| v[1] - v[0]))
            .collect();
        (labels, flows, notes)
    };
    let flows: Vec<f64> = flows;
    if flows.is_empty() {
        return None;
    }
    if flows.iter().any(|f| !f.is_finite()) {
        return Some(Err("a cash flow is not a finite number".into()));
    }
    Some(Ok(CaseFlows {
        period,
        labels,
        flows,
        annual_rate,
        rate: period.rate(annual_rate),
        annual_hurdle: case.hurdle_rate,
        notes,
    }))
}

/// The approved flows (budget as cost, planned benefit as benefit) and the re-forecast
/// (actual cost and realised benefit where a period has them, the plan elsewhere), at the
/// case's period length, with the rate per period to discount both at (the hurdle rate, else
/// the discount rate). `None` without a case with a rate, or without entries.
pub fn approved_and_forecast(p: &Portfolio, key: &str) -> Option<(Vec<f64>, Vec<f64>, f64)> {
    let case = p.business_cases.get(key)?;
    let annual = case.hurdle_rate.or(case.discount_rate)?;
    if !annual.is_finite() || annual <= -1.0 {
        return None;
    }
    let period = Period::of(case.period_length.as_deref());
    let (first, by, _) = buckets(
        p,
        key,
        period,
        case.horizon,
        &["budget", "actual", "planned-benefit", "realised-benefit"],
    )?;
    let last = *by.keys().last().unwrap_or(&first);
    let n = span(first, last, case.horizon);
    if n > MAX_PERIODS {
        return None;
    }
    let (mut approved, mut forecast) = (Vec::new(), Vec::new());
    for i in first..first + n {
        let v = by.get(&i).cloned().unwrap_or_else(|| vec![0.0; 4]);
        let (budget, actual, planned, realised) = (v[0], v[1], v[2], v[3]);
        approved.push(planned - budget);
        let cost = if actual > 0.0 { actual } else { budget };
        let benefit = if realised > 0.0 { realised } else { planned };
        forecast.push(benefit - cost);
    }
    Some((approved, forecast, period.rate(annual)))
}

/// The measures of a case, each a finite number or `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measures {
    /// Net present value at the discount rate.
    pub npv: Option<f64>,
    /// The IRR search's answer, per period.
    pub irr: Irr,
    /// The IRR a year (the IRR per period, compounded).
    pub irr_annual: Option<f64>,
    /// Where the flows change sign more than once: every rate in range at which the NPV is
    /// zero, a year, lowest first.
    pub irr_roots_annual: Vec<f64>,
    /// Modified IRR a year: costs financed and benefits reinvested at the discount rate.
    pub mirr_annual: Option<f64>,
    /// Simple payback in months.
    pub payback_months: Option<f64>,
    /// Discounted payback in months.
    pub discounted_payback_months: Option<f64>,
    /// Simple ROI (undiscounted, as a fraction).
    pub roi: Option<f64>,
}

/// The measures of a case's flows; what cannot be computed is `None`.
pub fn measures(c: &CaseFlows) -> Measures {
    let finite = |v: f64| v.is_finite().then_some(v);
    let irr = finance::irr(&c.flows, 0.1);
    let irr_annual = irr.rate.map(|r| c.period.annual(r)).and_then(finite);
    let irr_roots_annual = if irr.multiple_sign_changes {
        finance::irr_roots(&c.flows)
            .into_iter()
            .map(|r| c.period.annual(r))
            .filter(|r| r.is_finite())
            .collect()
    } else {
        Vec::new()
    };
    Measures {
        npv: finite(finance::npv(c.rate, &c.flows)),
        irr,
        irr_annual,
        irr_roots_annual,
        mirr_annual: finance::mirr(&c.flows, c.rate, c.rate)
            .map(|r| c.period.annual(r))
            .and_then(finite),
        payback_months: finance::payback(&c.flows, None)
            .periods
            .map(|p| p * c.period.months())
            .and_then(finite),
        discounted_payback_months: finance::payback(&c.flows, Some(c.rate))
            .periods
            .map(|p| p * c.period.months())
            .and_then(finite),
        roi: finance::roi_simple(&c.flows).and_then(finite),
    }
}

/// A number for a message, or what it is when it is not one.
fn finance_text(v: f64, unit: &str) -> String {
    if v.is_finite() {
        format!("{v:.1}{unit}")
    } else {
        "not a number".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::rules::test_support::portfolio_of;

    fn case(period: &str, rate: f64, horizon: Option<u32>) -> Entity {
        Entity::BusinessCase(BusinessCase {
            initiative_key: "BIZ-1".into(),
            currency: Some("EUR".into()),
            discount_rate: Some(rate),
            hurdle_rate: None,
            horizon,
            period_length: Some(period.into()),
            cash_flows: vec![],
            last_reviewed: None,
        })
    }

    fn entry(period: &str, kind: &str, amount: f64) -> Entity {
        Entity::FinanceEntry(FinanceEntry {
            initiative_key: "BIZ-1".into(),
            period: period.into(),
            kind: kind.into(),
            expense_type: None,
            amount,
            currency: "EUR".into(),
        })
    }

    /// TV10 of the domain notes: −12 000 then 1 100 a month for 12 months at 12 % a year.
    #[test]
    fn a_monthly_case_is_discounted_by_the_month() {
        let mut e = vec![
            case("month", 0.12, None),
            entry("2026-01", "budget", 12_000.0),
        ];
        for m in 2..=12 {
            e.push(entry(&format!("2026-{m:02}"), "planned-benefit", 1_100.0));
        }
        e.push(entry("2027-01", "planned-benefit", 1_100.0));
        let p = portfolio_of(e);
        let c = case_flows(&p, "BIZ-1").unwrap().unwrap();
        assert_eq!(c.flows.len(), 13);
        assert_eq!(c.labels[0], "2026-01");
        assert!((c.rate - 0.009_488_792_934_583).abs() < 1e-12);
        let m = measures(&c);
        assert!((m.npv.unwrap() - 420.667_589).abs() < 1e-6, "{m:?}");
        assert!((m.irr.rate.unwrap() - 0.014_976_664_581_696).abs() < 1e-9);
        assert!((m.irr_annual.unwrap() - 0.195_288_36).abs() < 1e-6);
        assert!((m.payback_months.unwrap() - 120.0 / 11.0).abs() < 1e-6);
        assert!((m.discounted_payback_months.unwrap() - 11.571_684).abs() < 1e-6);
        assert!(c.convention().contains("a month"), "{}", c.convention());
    }

    #[test]
    fn entries_fall_into_the_case_period() {
        let e = vec![
            entry("2026-Q1", "budget", 300.0),
            entry("2026-05", "budget", 60.0),
            entry("2026-Q4", "planned-benefit", 90.0),
            entry("2027-Q2", "planned-benefit", 400.0),
        ];
        let flows = |period: &str, horizon| {
            let mut all = e.clone();
            all.push(case(period, 0.08, horizon));
            let c = case_flows(&portfolio_of(all), "BIZ-1").unwrap().unwrap();
            (c.labels, c.flows, c.notes)
        };
        let (labels, year, notes) = flows("year", None);
        assert_eq!(
            (labels, year, notes.len()),
            (vec!["2026".into(), "2027".into()], vec![-270.0, 400.0], 0)
        );
        let (labels, quarter, _) = flows("quarter", None);
        assert_eq!(labels.first().map(String::as_str), Some("2026-Q1"));
        assert_eq!(quarter, [-300.0, -60.0, 0.0, 90.0, 0.0, 400.0]);
        // A monthly case spreads the quarterly entries over their months, and says so.
        let (_, month, notes) = flows("month", None);
        assert_eq!(month.len(), 18);
        assert!((month[0] + 100.0).abs() < 1e-9 && (month[4] + 60.0).abs() < 1e-9);
        assert!(
            notes[0].starts_with("3 quarterly finance entries spread"),
            "{notes:?}"
        );
        // The horizon: 4 quarters from the first; the benefit after it is left out, and said.
        let (_, quarter, notes) = flows("quarter", Some(4));
        assert_eq!(quarter, [-300.0, -60.0, 0.0, 90.0]);
        assert!(
            notes[0].contains("after the horizon of 4 quarters"),
            "{notes:?}"
        );
        // A horizon longer than the entries counts the missing periods as 0.
        let (_, year, _) = flows("year", Some(4));
        assert_eq!(year, [-270.0, 400.0, 0.0, 0.0]);
    }

    #[test]
    fn what_cannot_be_computed_says_why() {
        let p = portfolio_of(vec![
            case("month", 0.08, None),
            entry("1000-01", "budget", 10.0),
            entry("9999-12", "planned-benefit", 10.0),
        ]);
        let e = case_flows(&p, "BIZ-1").unwrap().unwrap_err();
        assert!(e.contains("more than the 1200"), "{e}");
        let p = portfolio_of(vec![
            case("year", -1.0, None),
            entry("2026-01", "budget", 10.0),
        ]);
        assert!(
            case_flows(&p, "BIZ-1")
                .unwrap()
                .unwrap_err()
                .contains("−100 %")
        );
    }

    /// For any finite flows and any rate a case may hold, every measure is a finite number
    /// or none: 2 000 cases from a fixed seed, with extreme amounts, zeros and long spans.
    #[test]
    fn no_measure_is_ever_a_number_that_is_not_one() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2_000 {
            let period = [Period::Year, Period::Quarter, Period::Month][(next() % 3) as usize];
            let annual = -0.5 + 1.5 * (next() % 10_000) as f64 / 10_000.0;
            let n = 1 + (next() % 40) as usize + if next() % 400 == 0 { 1100 } else { 0 };
            let flows: Vec<f64> = (0..n)
                .map(|_| {
                    let magnitude = 10f64.powi((next() % 16) as i32);
                    match next() % 4 {
                        0 => 0.0,
                        1 => -magnitude * (next() % 1000) as f64 / 999.0,
                        _ => magnitude * (next() % 1000) as f64 / 999.0,
                    }
                })
                .collect();
            let c = CaseFlows {
                period,
                labels: vec![String::new(); n],
                flows,
                annual_rate: annual,
                rate: period.rate(annual),
                annual_hurdle: None,
                notes: vec![],
            };
            let m = measures(&c);
            let all = [
                m.npv,
                m.irr_annual,
                m.mirr_annual,
                m.payback_months,
                m.discounted_payback_months,
                m.roi,
                m.irr.rate,
            ];
            assert!(
                all.iter()
                    .flatten()
                    .chain(&m.irr_roots_annual)
                    .all(|v| v.is_finite()),
                "{m:?} for {c:?}"
            );
        }
    }

    /// Several sign changes: every IRR in range, a year.
    #[test]
    fn several_irrs_are_all_listed() {
        let c = CaseFlows {
            period: Period::Year,
            labels: vec!["a".into(), "b".into(), "c".into()],
            flows: vec![-100.0, 230.0, -132.0],
            annual_rate: 0.15,
            rate: 0.15,
            annual_hurdle: None,
            notes: vec![],
        };
        let m = measures(&c);
        assert_eq!(m.irr_roots_annual.len(), 2, "{m:?}");
        assert!((m.irr_roots_annual[0] - 0.10).abs() < 1e-9);
        assert!((m.irr_roots_annual[1] - 0.20).abs() < 1e-9);
    }
}
