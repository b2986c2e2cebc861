//! Delivery forecasts: when an initiative in delivery will be done, by a Monte Carlo
//! simulation of its remaining work items at the throughput it has shown (docs/reports.md,
//! "Delivery forecasts").
//!
//! - **In delivery**: open (not done, not stopped), past its G2 go or in progress, with work
//!   items not done.
//! - **Throughput**: the work items of the initiative resolved per week in the last
//!   [`WINDOW_WEEKS`] weeks (26 weekly counts). With fewer than [`MIN_HISTORY`] resolved, its
//!   value stream's weekly counts shared by the stream's initiatives in delivery stand in (the
//!   trackers name teams unevenly; the value stream is the team of teams they all name). With
//!   too little there as well, no forecast, and the reason.
//! - **Simulation**: [`TRIALS`] runs; each draws one of the weekly counts at random for each
//!   coming week until the remaining items are done (at most [`MAX_WEEKS`]). The 50 % and 85 %
//!   dates are the weeks half and 85 % of the runs needed; the probability of finishing by the
//!   planned end is the share of runs done by then. A fixed seed (the rule pack's) and the
//!   initiative's key seed the draws: the same data gives the same forecast.

use crate::calendar::{date_of, day_number};
use crate::rules::Portfolio;
use crate::rules::portfolio::gate_number;
use serde::Serialize;

/// Weeks of history the throughput is taken from.
pub const WINDOW_WEEKS: i64 = 26;
/// Work items resolved in the window below which the value stream's throughput stands in.
pub const MIN_HISTORY: u32 = 3;
/// Simulated runs per forecast.
pub const TRIALS: usize = 1_000;
/// The longest a run may take, in weeks (10 years).
pub const MAX_WEEKS: u32 = 520;

/// The seed of the forecasts' draws: the pack's GATE-009 `seed` (2026 without one), so the
/// rule, the reports and the comments draw the same runs.
pub fn seed_of(pack: &crate::rules::RulePack) -> u64 {
    pack.rules
        .iter()
        .find(|r| r.id == "GATE-009")
        .and_then(|r| r.param("seed").ok())
        .map_or(2026, |s| s.abs() as u64)
}

/// A delivery forecast for one initiative.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The initiative.
    pub key: String,
    /// Work items not done.
    pub remaining: usize,
    /// Where the throughput came from, in words.
    pub basis: String,
    /// The date half the runs were done by.
    pub p50: Option<String>,
    /// The date 85 % of the runs were done by.
    pub p85: Option<String>,
    /// The planned end, if any.
    pub planned_end: Option<String>,
    /// The share of runs done by the planned end.
    pub probability_by_planned_end: Option<f64>,
    /// Why there is no forecast, when there is none.
    pub no_forecast: Option<String>,
}

/// What a forecast reads of an initiative's work items: how many are not done, and how many
/// were resolved in each of the last [`WINDOW_WEEKS`] weeks up to the day forecast from
/// (the first, this week). Counted as the items are read: a hundred thousand work items held
/// one by one until the forecasts were done were 4 MB of `check`'s peak memory at 10,000
/// initiatives.
#[derive(Clone, Default)]
struct Tally {
    not_done: usize,
    weeks: [u32; WINDOW_WEEKS as usize],
}

/// The tallies of the initiatives with work items, by key.
type Tallies<'a> = std::collections::BTreeMap<&'a str, Tally>;

/// Whether an initiative is in delivery (open, past its G2 go or in progress), and its work
/// items not done.
fn in_delivery(p: &Portfolio, items: &Tallies, key: &str) -> Option<usize> {
    let (i, _) = p.initiatives.get(key)?;
    if !crate::prioritisation::is_open(p, i) {
        return None;
    }
    let started = i.status_category.as_deref() == Some("in-progress")
        || p.decisions(key)
            .any(|g| gate_number(&g.gate).is_some_and(|n| n >= 2) && g.decision == "go");
    let remaining = items.get(key).map_or(0, |t| t.not_done);
    (started && remaining > 0).then_some(remaining)
}

/// Weekly counts of resolved work items of the initiatives `keys`, the last
/// [`WINDOW_WEEKS`] weeks up to the day forecast from.
fn weekly(items: &Tallies, keys: &[&str]) -> Vec<u32> {
    let mut weeks = vec![0u32; WINDOW_WEEKS as usize];
    for t in keys.iter().filter_map(|k| items.get(k)) {
        for (sum, n) in weeks.iter_mut().zip(t.weeks) {
            *sum += n;
        }
    }
    weeks
}

/// The forecasts of every initiative in delivery, by key, as of `today` (a day number).
pub fn forecasts(p: &Portfolio, today: i64, seed: u64) -> Vec<Forecast> {
    run(p, today, seed, None, &|_| true)
}

/// The forecasts of [`forecasts`] that `keep` keeps, in the same order: the others are
/// dropped as each is made, so a rule that wants a few of ten thousand does not hold them all.
pub fn forecasts_where(
    p: &Portfolio,
    today: i64,
    seed: u64,
    keep: &(dyn Fn(&Forecast) -> bool + Sync),
) -> Vec<Forecast> {
    run(p, today, seed, None, keep)
}

/// The forecast of one initiative, if it is in delivery (the same as in [`forecasts`]).
pub fn forecast_of(p: &Portfolio, key: &str, today: i64, seed: u64) -> Option<Forecast> {
    run(p, today, seed, Some(key), &|_| true).pop()
}

fn run(
    p: &Portfolio,
    today: i64,
    seed: u64,
    only: Option<&str>,
    keep: &(dyn Fn(&Forecast) -> bool + Sync),
) -> Vec<Forecast> {
    let mut items: Tallies = Tallies::new();
    for w in p.work_items.iter() {
        if let Some(k) = w.initiative_key {
            let tally = items.entry(k).or_default();
            if w.status_category != Some("done") {
                tally.not_done += 1;
            } else if let Some(day) = w.resolved.and_then(day_number) {
                let back = today - day;
                if (0..WINDOW_WEEKS * 7).contains(&back) {
                    tally.weeks[(back / 7) as usize] += 1;
                }
            }
        }
    }
    let delivering: Vec<(&str, usize)> = p
        .initiatives
        .keys()
        .filter_map(|k| Some((k.as_str(), in_delivery(p, &items, k)?)))
        .collect();
    // Per value stream: its initiatives, and those in delivery.
    let mut streams: std::collections::BTreeMap<&str, (Vec<&str>, usize)> =
        std::collections::BTreeMap::new();
    for (i, _) in p.initiatives.values() {
        if let Some(s) = i.value_stream.as_deref() {
            streams.entry(s).or_default().0.push(i.key.as_str());
        }
    }
    for (k, _) in &delivering {
        if let Some(s) = p.initiatives[*k].0.value_stream.as_deref() {
            streams.entry(s).or_default().1 += 1;
        }
    }
    let wanted: Vec<(&str, usize)> = delivering
        .into_iter()
        .filter(|(key, _)| only.is_none_or(|o| o == *key))
        .collect();
    // The weekly counts of each value stream of those in delivery (none without a stream),
    // made once here rather than once per initiative.
    let mut stream_counts: std::collections::BTreeMap<Option<&str>, Vec<u32>> =
        std::collections::BTreeMap::new();
    for (key, _) in &wanted {
        let stream = p.initiatives[*key].0.value_stream.as_deref();
        stream_counts.entry(stream).or_insert_with(|| {
            let all = stream
                .and_then(|s| streams.get(s))
                .map_or(&[][..], |(all, _)| &all[..]);
            weekly(&items, all)
        });
    }
    // The simulations, the cost (a thousand runs each), side by side: each draws from its own
    // generator, seeded by its key, so the forecasts do not depend on which thread ran them.
    // Each initiative's throughput and basis are made where it is simulated, and a forecast
    // not kept is dropped there: nothing is held for all of them at once but those kept.
    crate::parallel::filter_map(&wanted, |(key, remaining)| {
        let own = weekly(&items, &[key]);
        let (samples, basis): (Vec<f64>, String) = if own.iter().sum::<u32>() >= MIN_HISTORY {
            (
                own.iter().map(|n| f64::from(*n)).collect(),
                format!(
                    "its own: {} work items resolved in the last {WINDOW_WEEKS} weeks",
                    own.iter().sum::<u32>()
                ),
            )
        } else {
            let stream = p.initiatives[*key].0.value_stream.as_deref();
            let peers = stream.and_then(|s| streams.get(s)).map_or(0, |(_, n)| *n);
            let counts = &stream_counts[&stream];
            let share = peers.max(1) as f64;
            (
                counts.iter().map(|n| f64::from(*n) / share).collect(),
                format!(
                    "its value stream's ({}): {} work items resolved in the last {WINDOW_WEEKS} weeks, shared by {} in delivery (it resolved {} itself)",
                    stream.unwrap_or("none"),
                    counts.iter().sum::<u32>(),
                    peers,
                    own.iter().sum::<u32>()
                ),
            )
        };
        let f = simulate(p, key, *remaining, &samples, basis, today, seed);
        keep(&f).then_some(f)
    })
}

fn simulate(
    p: &Portfolio,
    key: &str,
    remaining: usize,
    samples: &[f64],
    basis: String,
    today: i64,
    seed: u64,
) -> Forecast {
    let planned_end = p.initiatives[key].0.planned_end.clone();
    let mut f = Forecast {
        key: key.to_string(),
        remaining,
        basis,
        p50: None,
        p85: None,
        planned_end: planned_end.clone(),
        probability_by_planned_end: None,
        no_forecast: None,
    };
    if samples.iter().sum::<f64>() < f64::from(MIN_HISTORY) - 1e-9 {
        f.no_forecast = Some(format!("too little history ({})", f.basis));
        return f;
    }
    // xorshift64*, seeded by the pack's seed and the key: the same data, the same forecast.
    let mut state = seed
        ^ key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    if state == 0 {
        state = 1;
    }
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut weeks: Vec<u32> = (0..TRIALS)
        .map(|_| {
            let (mut done, mut n) = (0.0, 0u32);
            while done < remaining as f64 - 1e-9 && n <= MAX_WEEKS {
                done += samples[(next() % samples.len() as u64) as usize];
                n += 1;
            }
            n
        })
        .collect();
    weeks.sort_unstable();
    let at = |share: f64| weeks[((share * TRIALS as f64).ceil() as usize).clamp(1, TRIALS) - 1];
    let date = |w: u32| (w <= MAX_WEEKS).then(|| date_of(today + 7 * i64::from(w)));
    f.p50 = date(at(0.5));
    f.p85 = date(at(0.85));
    if f.p85.is_none() {
        f.no_forecast = Some(format!(
            "not within {} years at this throughput",
            MAX_WEEKS / 52
        ));
    }
    if let Some(end) = planned_end.as_deref().and_then(day_number) {
        let by = weeks
            .iter()
            .filter(|w| today + 7 * i64::from(**w) <= end)
            .count();
        f.probability_by_planned_end = Some(by as f64 / TRIALS as f64);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::rules::test_support::portfolio_of;

    fn item(key: &str, initiative: &str, resolved: Option<&str>) -> Entity {
        Entity::WorkItem(WorkItem {
            status: "x".into(),
            status_category: Some(if resolved.is_some() { "done" } else { "todo" }.into()),
            resolved: resolved.map(String::from),
            ..crate::rules::test_support::bare_work_item(key, initiative)
        })
    }

    fn epic(key: &str, end: &str) -> Entity {
        Entity::Initiative(Box::new(Initiative {
            value_stream: Some("Retail".into()),
            current_gate: Some("G2".into()),
            planned_end: Some(end.into()),
            ..crate::rules::test_support::bare_initiative(key)
        }))
    }

    #[test]
    fn one_item_a_week_for_ten_items_takes_ten_weeks() {
        let today = day_number("2026-11-27").unwrap();
        let mut e = vec![epic("BIZ-1", "2027-01-15"), epic("BIZ-2", "2026-12-01")];
        // BIZ-1: one item resolved every week for 26 weeks; ten to go.
        for k in 0..26 {
            e.push(item(
                &format!("D-{k}"),
                "BIZ-1",
                Some(&date_of(today - 7 * k - 1)),
            ));
        }
        for k in 0..10 {
            e.push(item(&format!("R-{k}"), "BIZ-1", None));
        }
        // BIZ-2: nothing resolved itself: its value stream's throughput, shared by two.
        e.push(item("S-1", "BIZ-2", None));
        let p = portfolio_of(e);
        let all = forecasts(&p, today, 7);
        let one = all.iter().find(|f| f.key == "BIZ-1").unwrap();
        assert_eq!(one.remaining, 10);
        assert_eq!(one.p50.as_deref(), Some(date_of(today + 70).as_str()));
        assert_eq!(one.p85.as_deref(), Some(date_of(today + 70).as_str()));
        // Ten weeks from 2026-11-27 is 2027-02-05, after the planned end: no run makes it.
        assert_eq!(one.probability_by_planned_end, Some(0.0));
        let two = all.iter().find(|f| f.key == "BIZ-2").unwrap();
        assert!(
            two.basis.starts_with("its value stream's (Retail)"),
            "{}",
            two.basis
        );
        assert!(two.p50.is_some());
        // The same data, the same forecast, for all or for one.
        assert_eq!(all, forecasts(&p, today, 7));
        assert_eq!(forecast_of(&p, "BIZ-2", today, 7).as_ref(), Some(two));

        // GATE-009 warns about BIZ-1 before its planned end passes, with the dates.
        let pack = crate::rules::RulePack::from_toml(crate::rules::DEFAULT_PACK).unwrap();
        let findings = crate::rules::evaluate(
            &pack,
            &p,
            &crate::rules::Context {
                today: "2026-11-27".into(),
            },
        );
        let warned: Vec<&crate::rules::Finding> = findings
            .iter()
            .filter(|f| f.rule_id == "GATE-009")
            .collect();
        let keys: Vec<&str> = warned.iter().map(|f| f.subject.key.as_str()).collect();
        assert_eq!(keys, ["BIZ-1", "BIZ-2"], "{warned:?}");
        assert!(
            warned[1].message.contains("(1 work item left;"),
            "{}",
            warned[1].message
        );
        assert!(
            warned[0].message.contains("0 % of simulated runs")
                && warned[0].message.contains("85 % by 2027-02-05"),
            "{}",
            warned[0].message
        );
    }

    #[test]
    fn the_forecasts_kept_are_those_of_all_in_their_order() {
        let today = day_number("2026-11-27").unwrap();
        let mut e = Vec::new();
        // Forty initiatives in delivery, each with its own history and a different amount
        // left, so that their simulations take different times on the threads.
        for n in 0..40 {
            let key = format!("BIZ-{n}");
            e.push(epic(&key, "2027-03-01"));
            for k in 0..(3 + n % 5) {
                e.push(item(
                    &format!("D-{n}-{k}"),
                    &key,
                    Some(&date_of(today - 7 * k - 1)),
                ));
            }
            for k in 0..(1 + (n * 7) % 30) {
                e.push(item(&format!("R-{n}-{k}"), &key, None));
            }
        }
        let p = portfolio_of(e);
        let all = forecasts(&p, today, 7);
        assert_eq!(all.len(), 40);
        let every_third = |f: &Forecast| f.remaining.is_multiple_of(3);
        let kept = forecasts_where(&p, today, 7, &every_third);
        let expected: Vec<Forecast> = all.iter().filter(|f| every_third(f)).cloned().collect();
        assert!(!expected.is_empty() && expected.len() < all.len());
        assert_eq!(kept, expected);
        assert_eq!(forecasts_where(&p, today, 7, &|_| true), all);
        assert!(forecasts_where(&p, today, 7, &|_| false).is_empty());
    }
}
