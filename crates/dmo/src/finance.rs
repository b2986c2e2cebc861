//! Business-case maths, with the conventions stated (see docs/rules.md, "Finance").
//!
//! Cash flows are `cf[0] .. cf[n]` at equal periods, `cf[0]` at t = 0 and **not discounted**
//! (unlike a spreadsheet's `NPV()`, which discounts the first value too). Rates are per period;
//! [`RateConvention`] converts an annual rate to a monthly one and is stated in every result
//! that used it.

use serde::{Deserialize, Serialize};

/// Net present value; `cfs[0]` is at t = 0, undiscounted.
pub fn npv(rate: f64, cfs: &[f64]) -> f64 {
    cfs.iter()
        .enumerate()
        .map(|(t, cf)| cf / (1.0 + rate).powi(t as i32))
        .sum()
}

fn npv_derivative(rate: f64, cfs: &[f64]) -> f64 {
    cfs.iter()
        .enumerate()
        .map(|(t, cf)| -(t as f64) * cf / (1.0 + rate).powi(t as i32 + 1))
        .sum()
}

/// Sign changes of the non-zero flows.
pub fn sign_changes(cfs: &[f64]) -> usize {
    let signs: Vec<bool> = cfs
        .iter()
        .filter(|c| **c != 0.0)
        .map(|c| *c < 0.0)
        .collect();
    signs.windows(2).filter(|w| w[0] != w[1]).count()
}

/// How an IRR was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IrrMethod {
    /// Newton–Raphson from the guess.
    Newton,
    /// Grid scan for a bracket, then bisection.
    Bisection,
}

/// Why there is no IRR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoIrr {
    /// All flows have the same sign (or are zero): no rate makes NPV zero.
    NoSignChange,
    /// No rate between -99 % and 10 000 % makes NPV zero (there may be no real root).
    NoRootInRange,
}

/// An IRR, or why there is none. `multiple_sign_changes` warns that several rates (or none)
/// may solve NPV = 0: report NPV and MIRR first then.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Irr {
    /// The rate per period, if found.
    pub rate: Option<f64>,
    /// How it was found.
    pub method: Option<IrrMethod>,
    /// Why it was not.
    pub reason: Option<NoIrr>,
    /// More than one sign change in the flows.
    pub multiple_sign_changes: bool,
}

/// The internal rate of return: Newton from `guess` (50 iterations, tolerance 1e-10), with a
/// grid-scan-and-bisection fallback; never a wrong number.
pub fn irr(cfs: &[f64], guess: f64) -> Irr {
    let changes = sign_changes(cfs);
    let multiple = changes > 1;
    if changes == 0 {
        return Irr {
            rate: None,
            method: None,
            reason: Some(NoIrr::NoSignChange),
            multiple_sign_changes: false,
        };
    }
    let found = |rate, method| Irr {
        rate: Some(rate),
        method: Some(method),
        reason: None,
        multiple_sign_changes: multiple,
    };
    let mut r = guess;
    for _ in 0..50 {
        let (f, d) = (npv(r, cfs), npv_derivative(r, cfs));
        if d == 0.0 || !f.is_finite() {
            break;
        }
        let next = r - f / d;
        if !next.is_finite() || next <= -1.0 + 1e-9 {
            break;
        }
        if (next - r).abs() < 1e-10 {
            return found(next, IrrMethod::Newton);
        }
        r = next;
    }
    const GRID: [f64; 21] = [
        -0.99, -0.9, -0.75, -0.5, -0.25, 0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0,
        5.0, 10.0, 20.0, 50.0, 100.0,
    ];
    for pair in GRID.windows(2) {
        let (lo, hi) = (pair[0], pair[1]);
        let (flo, fhi) = (npv(lo, cfs), npv(hi, cfs));
        if flo == 0.0 {
            return found(lo, IrrMethod::Bisection);
        }
        if (flo < 0.0) != (fhi < 0.0) {
            return found(bisect(cfs, lo, hi, flo < 0.0), IrrMethod::Bisection);
        }
    }
    Irr {
        rate: None,
        method: None,
        reason: Some(NoIrr::NoRootInRange),
        multiple_sign_changes: multiple,
    }
}

/// The rate between `lo` and `hi` where the NPV changes sign (it is negative at `lo` when
/// `lo_negative`), bisected to 1e-14.
fn bisect(cfs: &[f64], mut lo: f64, mut hi: f64, lo_negative: bool) -> f64 {
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if (npv(mid, cfs) < 0.0) == lo_negative {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-14 {
            break;
        }
    }
    (lo + hi) / 2.0
}

/// Every rate per period from −99 % to 10 000 % at which the NPV is zero, lowest first: a
/// fine scan (4 000 steps, even in log(1 + r)) for sign changes, each bisected to 1e-14. For
/// flows that change sign more than once, where [`irr`] gives one of them. A root where the NPV
/// touches zero without changing sign is not found.
pub fn irr_roots(cfs: &[f64]) -> Vec<f64> {
    const STEPS: usize = 4000;
    let (lo_x, hi_x) = (0.01f64.ln(), 101.0f64.ln());
    let rate_at = |k: usize| (lo_x + (hi_x - lo_x) * k as f64 / STEPS as f64).exp() - 1.0;
    let mut roots: Vec<f64> = Vec::new();
    let mut prev = (rate_at(0), npv(rate_at(0), cfs));
    for k in 1..=STEPS {
        let r = rate_at(k);
        let f = npv(r, cfs);
        if !f.is_finite() || !prev.1.is_finite() {
            prev = (r, f);
            continue;
        }
        if prev.1 == 0.0 {
            roots.push(prev.0);
        } else if (prev.1 < 0.0) != (f < 0.0) && f != 0.0 {
            roots.push(bisect(cfs, prev.0, r, prev.1 < 0.0));
        }
        prev = (r, f);
    }
    if prev.1 == 0.0 {
        roots.push(prev.0);
    }
    roots
}

/// Modified IRR: negative flows financed at `finance_rate`, positive ones reinvested at
/// `reinvest_rate`. `None` without both signs.
pub fn mirr(cfs: &[f64], finance_rate: f64, reinvest_rate: f64) -> Option<f64> {
    let n = cfs.len().checked_sub(1)? as i32;
    if n == 0 {
        return None;
    }
    let pv_negative: f64 = cfs
        .iter()
        .enumerate()
        .filter(|(_, c)| **c < 0.0)
        .map(|(t, c)| c / (1.0 + finance_rate).powi(t as i32))
        .sum();
    let fv_positive: f64 = cfs
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0.0)
        .map(|(t, c)| c * (1.0 + reinvest_rate).powi(n - t as i32))
        .sum();
    if pv_negative >= 0.0 || fv_positive <= 0.0 {
        return None;
    }
    Some((fv_positive / -pv_negative).powf(1.0 / n as f64) - 1.0)
}

/// Simple ROI: (Σ benefits − Σ costs) / Σ costs, undiscounted; costs are the negative flows.
pub fn roi_simple(cfs: &[f64]) -> Option<f64> {
    let costs: f64 = -cfs.iter().filter(|c| **c < 0.0).sum::<f64>();
    let benefits: f64 = cfs.iter().filter(|c| **c > 0.0).sum();
    (costs > 0.0).then(|| (benefits - costs) / costs)
}

/// Present values of benefits (positive flows) and costs (negative flows, as a positive sum).
pub fn present_values(rate: f64, cfs: &[f64]) -> (f64, f64) {
    let mut benefits = 0.0;
    let mut costs = 0.0;
    for (t, cf) in cfs.iter().enumerate() {
        let pv = cf / (1.0 + rate).powi(t as i32);
        if pv > 0.0 {
            benefits += pv;
        } else {
            costs -= pv;
        }
    }
    (benefits, costs)
}

/// Profitability index: PV(benefits) / PV(costs).
pub fn profitability_index(rate: f64, cfs: &[f64]) -> Option<f64> {
    let (benefits, costs) = present_values(rate, cfs);
    (costs > 0.0).then(|| benefits / costs)
}

/// Discounted ROI: NPV / PV(costs) (= PI − 1).
pub fn roi_discounted(rate: f64, cfs: &[f64]) -> Option<f64> {
    let (_, costs) = present_values(rate, cfs);
    (costs > 0.0).then(|| npv(rate, cfs) / costs)
}

/// Payback in periods, fractional by linear accrual within the period where the cumulative
/// flow reaches zero; discounted when `rate` is given. `stable` is false when the cumulative
/// flow falls below zero again later.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Payback {
    /// Periods until paid back; `None`: never within the horizon.
    pub periods: Option<f64>,
    /// The cumulative flow stays ≥ 0 after payback.
    pub stable: bool,
}

/// Simple (`rate = None`) or discounted payback.
pub fn payback(cfs: &[f64], rate: Option<f64>) -> Payback {
    let mut cumulative = 0.0;
    let mut periods = None;
    let mut stable = true;
    for (t, cf) in cfs.iter().enumerate() {
        let v = match rate {
            Some(r) => cf / (1.0 + r).powi(t as i32),
            None => *cf,
        };
        let previous = cumulative;
        cumulative += v;
        match periods {
            None if t > 0 && previous < 0.0 && cumulative >= 0.0 => {
                periods = Some((t - 1) as f64 + (-previous) / v);
            }
            Some(_) if cumulative < 0.0 => stable = false,
            _ => {}
        }
    }
    Payback { periods, stable }
}

/// How an annual rate becomes a monthly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RateConvention {
    /// `(1 + annual)^(1/12) − 1`: compounding gives back the annual rate.
    #[default]
    Effective,
    /// `annual / 12`, as some portfolio tools do.
    Nominal,
}

impl RateConvention {
    /// The monthly rate for `annual`.
    pub fn monthly(self, annual: f64) -> f64 {
        match self {
            RateConvention::Effective => (1.0 + annual).powf(1.0 / 12.0) - 1.0,
            RateConvention::Nominal => annual / 12.0,
        }
    }

    /// How it reads in a report.
    pub fn describe(self) -> &'static str {
        match self {
            RateConvention::Effective => "monthly rate = (1 + annual)^(1/12) − 1 (effective)",
            RateConvention::Nominal => "monthly rate = annual / 12 (nominal)",
        }
    }
}

/// SAFe WSJF: (user-business value + time criticality + risk reduction) / job size.
pub fn wsjf(
    user_business_value: f64,
    time_criticality: f64,
    risk_reduction: f64,
    job_size: f64,
) -> Option<f64> {
    (job_size > 0.0).then(|| (user_business_value + time_criticality + risk_reduction) / job_size)
}

/// CD3: monetary cost of delay per period divided by the duration in periods.
pub fn cd3(cost_of_delay: f64, duration: f64) -> Option<f64> {
    (duration > 0.0).then(|| cost_of_delay / duration)
}

/// Capacity of a group over a period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// Working hours if everyone worked every hour: members × days × hours per day × FTE.
    pub gross_hours: f64,
    /// Gross × availability (100 % allocation means 80–90 % availability).
    pub effective_hours: f64,
}

impl Capacity {
    /// Capacity from total FTE, working days, hours per day and an availability factor.
    pub fn new(fte: f64, days: f64, hours_per_day: f64, availability: f64) -> Capacity {
        let gross = fte * days * hours_per_day;
        Capacity {
            gross_hours: gross,
            effective_hours: gross * availability,
        }
    }

    /// Committed hours over effective capacity.
    pub fn utilisation(&self, committed_hours: f64) -> f64 {
        committed_hours / self.effective_hours
    }

    /// Committed hours over gross capacity: keep it within 70–80 %.
    pub fn reserve_ratio(&self, committed_hours: f64) -> f64 {
        committed_hours / self.gross_hours
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONEY: f64 = 1e-6;
    const RATE: f64 = 1e-9;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} != {b} (tolerance {tol})");
    }

    #[test]
    fn tv1_npv_irr_payback_roi_mirr() {
        let cf = [-1000.0, 300.0, 400.0, 500.0];
        close(npv(0.10, &cf), -21.036_814_425_244, MONEY);
        close(npv(0.10, &cf) / 1.1, -19.124_377, MONEY); // what a spreadsheet's NPV() gives
        let i = irr(&cf, 0.1);
        close(i.rate.unwrap(), 0.088_963_394_693_349_9, RATE);
        assert_eq!(i.method, Some(IrrMethod::Newton));
        close(payback(&cf, None).periods.unwrap(), 2.6, MONEY);
        assert_eq!(payback(&cf, Some(0.10)).periods, None);
        close(roi_simple(&cf).unwrap(), 0.20, MONEY);
        let (pv_benefits, _) = present_values(0.10, &cf);
        close(pv_benefits, 978.963_186, MONEY);
        close(
            profitability_index(0.10, &cf).unwrap(),
            0.978_963_186,
            MONEY,
        );
        close(roi_discounted(0.10, &cf).unwrap(), -0.021_036_814, MONEY);
        close(mirr(&cf, 0.10, 0.10).unwrap(), 0.092_231_77, 1e-8);
    }

    #[test]
    fn tv2_boundary_payback() {
        let cf = [-1000.0, 500.0, 500.0, 500.0];
        close(npv(0.10, &cf), 243.425_995, MONEY);
        close(irr(&cf, 0.1).rate.unwrap(), 0.233_751_928_528_258_8, RATE);
        close(payback(&cf, None).periods.unwrap(), 2.0, MONEY);
        close(payback(&cf, Some(0.10)).periods.unwrap(), 2.352, MONEY);
    }

    #[test]
    fn tv3_five_periods() {
        let cf = [-5000.0, 1000.0, 1500.0, 2000.0, 2500.0, 1000.0];
        close(npv(0.08, &cf), 1_317.756_467, MONEY);
        close(irr(&cf, 0.1).rate.unwrap(), 0.169_144_645_222_688_5, RATE);
        close(payback(&cf, None).periods.unwrap(), 3.2, MONEY);
        close(
            payback(&cf, Some(0.08)).periods.unwrap(),
            3.653_253_12,
            MONEY,
        );
        close(roi_simple(&cf).unwrap(), 0.60, MONEY);
        close(mirr(&cf, 0.08, 0.08).unwrap(), 0.131_728_70, 1e-8);
    }

    #[test]
    fn tv4_no_sign_change() {
        for cf in [
            [100.0, 200.0, 300.0],
            [-100.0, -50.0, -25.0],
            [0.0, 0.0, 0.0],
        ] {
            let i = irr(&cf, 0.1);
            assert_eq!(
                (i.rate, i.reason),
                (None, Some(NoIrr::NoSignChange)),
                "{cf:?}"
            );
        }
    }

    #[test]
    fn tv5_two_irrs_flagged() {
        let cf = [-100.0, 230.0, -132.0];
        let low = irr(&cf, 0.05);
        let high = irr(&cf, 0.25);
        close(low.rate.unwrap(), 0.10, RATE);
        close(high.rate.unwrap(), 0.20, RATE);
        assert!(low.multiple_sign_changes && high.multiple_sign_changes);
        close(npv(0.0, &cf), -2.0, MONEY);
        close(npv(0.15, &cf), 0.189_036, MONEY);
    }

    #[test]
    fn tv6_sign_changes_but_no_real_irr() {
        let cf = [-1000.0, 3000.0, -2500.0];
        let i = irr(&cf, 0.1);
        assert_eq!((i.rate, i.reason), (None, Some(NoIrr::NoRootInRange)));
        assert!(i.multiple_sign_changes);
        close(npv(2.0 / 3.0, &cf), -100.0, MONEY);
    }

    #[test]
    fn tv7_where_a_twenty_step_newton_fails() {
        let mut a = vec![-1000.0];
        a.extend([1.0; 10]);
        let i = irr(&a, 0.1);
        close(i.rate.unwrap(), -0.458_255_425_747_188_6, RATE);
        assert_eq!(i.method, Some(IrrMethod::Bisection));
        let mut b = vec![-1.0];
        b.extend([0.0; 8]);
        b.push(10_000_000_000.0);
        close(irr(&b, 0.1).rate.unwrap(), 11.915_496_650_148_839, 1e-8);
    }

    #[test]
    fn tv8_wsjf_and_cd3() {
        close(wsjf(7.0, 9.0, 5.0, 2.0).unwrap(), 10.5, MONEY);
        close(wsjf(8.0, 3.0, 4.0, 8.0).unwrap(), 1.875, MONEY);
        close(cd3(200_000.0, 4.0).unwrap(), 50_000.0, MONEY);
        close(200_000.0 * 3.0, 600_000.0, MONEY);
        assert_eq!(wsjf(1.0, 1.0, 1.0, 0.0), None);
    }

    #[test]
    fn tv9_capacity_and_reserve() {
        let c = Capacity::new(6.0, 10.0, 8.0, 0.85);
        close(c.gross_hours, 480.0, MONEY);
        close(c.effective_hours, 408.0, MONEY);
        close(c.utilisation(350.0), 0.857_843, MONEY);
        close(c.reserve_ratio(350.0), 0.729_167, MONEY);
        close(c.reserve_ratio(380.0), 0.791_667, MONEY);
    }

    #[test]
    fn tv10_monthly_flows_from_an_annual_rate() {
        let monthly = RateConvention::Effective.monthly(0.12);
        close(monthly, 0.009_488_792_934_583, 1e-12);
        let mut cf = vec![-12_000.0];
        cf.extend([1100.0; 12]);
        close(npv(monthly, &cf), 420.667_589, MONEY);
        close(payback(&cf, None).periods.unwrap(), 120.0 / 11.0, MONEY);
        close(
            payback(&cf, Some(monthly)).periods.unwrap(),
            11.571_683_909_828_6,
            MONEY,
        );
        let i = irr(&cf, 0.1).rate.unwrap();
        close(i, 0.014_976_664_581_696, RATE);
        close((1.0 + i).powi(12) - 1.0, 0.195_288_36, 1e-8);
        close(RateConvention::Nominal.monthly(0.12), 0.01, RATE);
    }

    #[test]
    fn payback_that_does_not_hold_is_flagged() {
        let p = payback(&[-100.0, 150.0, -200.0], None);
        assert!(p.periods.is_some() && !p.stable);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn conventional() -> impl Strategy<Value = Vec<f64>> {
            (
                100.0f64..10_000.0,
                prop::collection::vec(1.0f64..5_000.0, 1..12),
            )
                .prop_map(|(invest, benefits)| {
                    let mut cf = vec![-invest];
                    cf.extend(benefits);
                    cf
                })
        }

        proptest! {
            #[test]
            fn npv_at_the_irr_is_zero(cf in conventional()) {
                let i = irr(&cf, 0.1);
                let scale: f64 = cf.iter().map(|c| c.abs()).sum();
                match i.rate {
                    Some(rate) => prop_assert!(
                        npv(rate, &cf).abs() <= 1e-7 * scale,
                        "npv {} at {rate}",
                        npv(rate, &cf)
                    ),
                    // Never a wrong number: "no root" only when NPV keeps its sign over the
                    // whole search range (e.g. an IRR below -99 %).
                    None => {
                        prop_assert_eq!(i.reason, Some(NoIrr::NoRootInRange));
                        prop_assert_eq!(npv(-0.99, &cf) < 0.0, npv(100.0, &cf) < 0.0);
                    }
                }
            }

            #[test]
            fn payback_never_grows_when_a_flow_grows(cf in conventional(), k in 1usize..12, extra in 0.0f64..5_000.0) {
                let before = payback(&cf, None).periods;
                let mut more = cf.clone();
                let k = k.min(more.len() - 1);
                more[k] += extra;
                let after = payback(&more, None).periods;
                match (before, after) {
                    (Some(b), Some(a)) => prop_assert!(a <= b + 1e-9, "{a} > {b}"),
                    (Some(_), None) => prop_assert!(false, "paid back before, never after"),
                    _ => {}
                }
            }
        }
    }
}
