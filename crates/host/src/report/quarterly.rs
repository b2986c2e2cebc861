//! The quarterly portfolio increment review: value realised against the business cases, the
//! value KPIs' trend per value stream, capacity against demand per team, and the investment
//! mix by demand type against the guardrail targets of the rule pack (POR-001).

use super::{Chart, Report, Rows, Table, fte, money_in, natural, pct};
use crate::config::ReportsConfig;
use crate::error::Error;
use std::collections::BTreeMap;
use tollgate_dmo::calendar::{date_of, day_number};
use tollgate_dmo::prioritisation::{
    FTE_HOURS, HORIZON_DAYS, RESERVE_LINE, allocation_fte, allocation_overlaps, capacity,
    capacity_definition, in_last_quarter, is_active, portfolio_demand,
};
use tollgate_dmo::rules::catalogue::period_start;
use tollgate_dmo::rules::portfolio::gate_number;
use tollgate_dmo::rules::{Portfolio, RulePack};
use tollgate_store::Store;

/// `2026-Q4` for a day.
fn quarter_of(day: i64) -> String {
    let d = date_of(day);
    let month: u32 = d[5..7].parse().unwrap_or(1);
    format!("{}-Q{}", &d[..4], (month - 1) / 3 + 1)
}

/// The quarter before `YYYY-Qn`.
fn previous_quarter(q: &str) -> String {
    let (y, n) = q.split_once("-Q").unwrap_or(("1970", "1"));
    let (y, n): (i64, u32) = (y.parse().unwrap_or(1970), n.parse().unwrap_or(1));
    if n == 1 {
        format!("{}-Q4", y - 1)
    } else {
        format!("{y}-Q{}", n - 1)
    }
}

fn param(pack: &RulePack, rule: &str, name: &str, default: f64) -> f64 {
    pack.rules
        .iter()
        .find(|r| r.id == rule)
        .and_then(|r| r.param(name).ok())
        .unwrap_or(default)
}

/// The review as of `as_of`, with the guardrails of `pack`.
pub fn review(
    store: &dyn Store,
    as_of: &str,
    settings: &ReportsConfig,
    pack: &RulePack,
) -> Result<Report, Error> {
    let today = super::parse_as_of(as_of)?;
    let p = crate::check::portfolio(store)?;
    let previous = store.last_report("quarterly", None)?;
    let this_quarter = quarter_of(today);
    let mut quarters = vec![this_quarter.clone()];
    while quarters.len() < 4 {
        let q = previous_quarter(quarters.last().expect("not empty"));
        quarters.push(q);
    }
    quarters.reverse();
    let mut tables = Vec::new();

    // Value realised against the business cases.
    let (warn, err) = (
        param(pack, "FIN-006", "warning_ratio", 0.7),
        param(pack, "FIN-006", "error_ratio", 0.5),
    );
    let mut value_rows = Rows::new();
    let mut chart_keys = Vec::new();
    let (mut planned_series, mut realised_series) = (Vec::new(), Vec::new());
    let mut keys: Vec<&String> = p.initiatives.keys().collect();
    keys.sort_by_key(|k| natural(k));
    for key in keys {
        let live = p
            .decisions(key)
            .filter(|g| gate_number(&g.gate).is_some_and(|n| n >= 3) && g.decision == "go")
            .filter_map(|g| g.date.clone())
            .min();
        let planned_to_date: f64 = p
            .finance
            .iter()
            .filter(|f| f.initiative_key == *key && f.kind == "planned-benefit")
            .filter(|f| period_start(&f.period).is_none_or(|s| s <= today))
            .map(|f| f.amount)
            .sum();
        let planned_total = p.finance_total(key, "planned-benefit");
        let realised = p.finance_total(key, "realised-benefit");
        if live.is_none() && realised == 0.0 {
            continue;
        }
        let ratio = (planned_to_date > 0.0).then(|| realised / planned_to_date);
        let judgement = match ratio {
            None => "no benefit planned yet".to_string(),
            Some(r) if r < err => format!("far behind (under {:.0} %)", 100.0 * err),
            Some(r) if r < warn => format!("behind (under {:.0} %)", 100.0 * warn),
            Some(_) => "on track".to_string(),
        };
        chart_keys.push(key.clone());
        planned_series.push(planned_to_date);
        realised_series.push(realised);
        value_rows.push(vec![
            key.clone(),
            p.initiatives[key].0.title.clone(),
            live.unwrap_or_else(|| "not live".into()),
            money_in(planned_to_date, p.currency(key)),
            money_in(realised, p.currency(key)),
            ratio.map(pct).unwrap_or_else(|| "–".into()),
            money_in(planned_total, p.currency(key)),
            judgement,
            kpi_summary(&p.initiatives[key].0, today),
            p.currency(key).unwrap_or("–").into(),
        ]);
    }
    tables.push(Table {
        name: "value-realised",
        title: "Value realised against the business cases",
        note: format!(
            "Initiatives live (a go at G3 or later) or with realised benefit: the benefit planned for periods begun by {as_of} against the benefit realised (finance entries `planned-benefit` and `realised-benefit`). On track from {:.0} % (FIN-006's thresholds). Value KPIs: each KPI's latest measurement by {as_of} (from the tracker's history or kpis.csv) and how far it has come from baseline to target.",
            100.0 * warn
        ),
        columns: vec![
            "initiative",
            "title",
            "live since",
            "planned to date",
            "realised",
            "realised %",
            "planned in all",
            "judgement",
            "value KPIs",
            "currency",
        ],
        rows: value_rows,
        chart: Some(Chart::Bars {
            title: "Benefit planned to date and realised".into(),
            categories: chart_keys,
            series: vec![
                ("planned to date".into(), planned_series),
                ("realised".into(), realised_series),
            ],
            stacked: false,
            line: None,
        }),
    });

    // KPI trends per value stream: mean progress from baseline to target, per quarter.
    let mut progress: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    let mut kpi_count: BTreeMap<String, usize> = BTreeMap::new();
    for (i, _) in p.initiatives.values() {
        let stream = i.value_stream.clone().unwrap_or_else(|| "(none)".into());
        for k in &i.kpis {
            *kpi_count.entry(stream.clone()).or_default() += 1;
            let (Some(base), Some(target)) = (k.baseline, k.target) else {
                continue;
            };
            if (target - base).abs() < f64::EPSILON {
                continue;
            }
            // The latest measurement of each quarter.
            let mut latest: BTreeMap<String, (&str, f64)> = BTreeMap::new();
            for (date, value) in &k.measurements {
                let Some(d) = day_number(date).filter(|d| *d <= today) else {
                    continue;
                };
                let q = quarter_of(d);
                if latest.get(&q).is_none_or(|(at, _)| *at < date.as_str()) {
                    latest.insert(q, (date.as_str(), *value));
                }
            }
            for (q, (_, v)) in latest {
                progress
                    .entry(stream.clone())
                    .or_default()
                    .entry(q)
                    .or_default()
                    .push((v - base) / (target - base));
            }
        }
    }
    let mut kpi_rows = Rows::new();
    let mut kpi_series = Vec::new();
    for (stream, count) in &kpi_count {
        let by_q = progress.get(stream);
        let means: Vec<Option<f64>> = quarters
            .iter()
            .map(|q| {
                by_q.and_then(|m| m.get(q))
                    .map(|v| v.iter().sum::<f64>() / v.len() as f64)
            })
            .collect();
        let mut row = vec![stream.clone(), count.to_string()];
        row.extend(
            means
                .iter()
                .map(|m| m.map(pct).unwrap_or_else(|| "–".into())),
        );
        let measured_now = means.last().copied().flatten().is_some();
        row.push(if measured_now {
            "measured this quarter".into()
        } else {
            "no measurement this quarter (POR-004)".into()
        });
        kpi_rows.push(row);
        kpi_series.push((
            stream.clone(),
            means.iter().map(|m| m.map(|v| 100.0 * v)).collect(),
        ));
    }
    let mut kpi_columns = vec!["value stream", "KPIs"];
    for q in &quarters {
        kpi_columns.push(super::column_name(q));
    }
    kpi_columns.push("this quarter");
    tables.push(Table {
        name: "kpi-trends",
        title: "Value KPI trends per stream",
        note: "Mean progress of the stream's value KPIs from baseline (0 %) to target (100 %), from each KPI's latest measurement in the quarter.".into(),
        columns: kpi_columns,
        rows: kpi_rows,
        chart: Some(Chart::Lines {
            title: "KPI progress to target per value stream (%)".into(),
            categories: quarters.clone(),
            series: kpi_series,
        }),
    });

    tables.push(capacity_demand(&p, today, settings));

    // Investment mix by demand type.
    let targets = [
        (
            "capability-planning",
            param(pack, "POR-001", "target_capability_planning", 0.5),
        ),
        (
            "ideas-and-concepts",
            param(pack, "POR-001", "target_ideas_and_concepts", 0.2),
        ),
        (
            "increments-and-improvements",
            param(pack, "POR-001", "target_increments_and_improvements", 0.3),
        ),
    ];
    let max_dev = param(pack, "POR-001", "max_deviation", 0.1);
    let mut mix: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    let mut currencies: BTreeMap<String, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (i, _) in p.initiatives.values() {
        let t = i.demand_type.clone().unwrap_or_else(|| "(not set)".into());
        if let Some(c) = p.currency(&i.key) {
            currencies.entry(t.clone()).or_default().insert(c);
        }
        let e = mix.entry(t).or_default();
        e.0 += 1;
        e.1 += p.finance_total(&i.key, "budget");
        e.2 += p.finance_total(&i.key, "actual");
    }
    let total_budget: f64 = mix.values().map(|v| v.1).sum();
    let all_currencies: std::collections::BTreeSet<&str> =
        currencies.values().flatten().copied().collect();
    let mix_rows = mix
        .iter()
        .map(|(t, (n, budget, actual))| {
            let share = if total_budget > 0.0 {
                budget / total_budget
            } else {
                0.0
            };
            let target = targets.iter().find(|(k, _)| k == t).map(|(_, v)| *v);
            let codes: Vec<&str> = currencies.get(t).into_iter().flatten().copied().collect();
            let one = match codes[..] {
                [c] => Some(c),
                _ => None,
            };
            vec![
                t.clone(),
                n.to_string(),
                money_in(*budget, one),
                money_in(*actual, one),
                pct(share),
                target.map(pct).unwrap_or_else(|| "–".into()),
                match target {
                    Some(v) if (share - v).abs() > max_dev => {
                        format!("off by {:+.0} pp", 100.0 * (share - v))
                    }
                    Some(_) => "within the guardrail".into(),
                    None => "no target".into(),
                },
                if codes.is_empty() {
                    "–".into()
                } else {
                    codes.join(", ")
                },
            ]
        })
        .collect();
    tables.push(Table {
        name: "investment-mix",
        title: "Investment mix by demand type",
        note: format!(
            "Budget and actual spend per demand type (finance entries `budget` and `actual`), the budget share against the rule pack's guardrail targets (POR-001, {:.0} pp allowed).{}",
            100.0 * max_dev,
            match all_currencies.len() {
                0 | 1 => String::new(),
                _ => format!(
                    " Amounts in several currencies ({}) are added as they are: Tollgate knows no exchange rates, so shares across currencies are only indicative.",
                    all_currencies.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            }
        ),
        columns: vec![
            "demand type",
            "initiatives",
            "budget",
            "actual",
            "share of budget",
            "target",
            "guardrail",
            "currency",
        ],
        rows: mix_rows,
        chart: Some(Chart::Pie {
            title: "Budget by demand type".into(),
            slices: mix
                .iter()
                .filter(|(_, v)| v.1 > 0.0)
                .map(|(t, v)| (t.clone(), v.1))
                .collect(),
        }),
    });

    Ok(Report {
        stale: None,
        officer_note: None,
        kind: "quarterly",
        title: format!("Portfolio increment review, {this_quarter} (as of {as_of})"),
        as_of: as_of.to_string(),
        next_steering: date_of(settings.steering_around(today).next),
        previous_pack: previous,
        tables,
    })
}

/// Capacity against demand per team, in FTE.
pub fn capacity_demand(p: &Portfolio, today: i64, settings: &ReportsConfig) -> Table {
    let (line, line_note) = capacity(p, today, settings.capacity_fte);
    let mut team_rows = Rows::new();
    let (mut cap_series, mut plan_series, mut logged_series, mut team_names) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let balance = |capacity: f64, demand: f64| {
        if capacity == 0.0 {
            "no listed capacity".to_string()
        } else if demand > capacity {
            format!("over by {:.1} FTE", demand - capacity)
        } else {
            format!("{:.1} FTE to spare", capacity - demand)
        }
    };
    let mut teams: Vec<(Option<&str>, String)> = p
        .teams
        .values()
        .map(|t| (Some(t.id.as_str()), t.name.clone()))
        .collect();
    teams.push((None, "(not in a listed team)".into()));
    for (id, name) in teams {
        let members: Vec<&str> = p
            .people
            .values()
            .filter(|x| x.team.as_deref() == id && is_active(x, today))
            .map(|x| x.id.as_str())
            .collect();
        let capacity: f64 = members
            .iter()
            .map(|m| p.people[*m].fte.unwrap_or(1.0))
            .sum::<f64>()
            * RESERVE_LINE
            / 100.0;
        let planned: f64 = p
            .allocations
            .iter()
            .filter(|a| match id {
                Some(_) => members.contains(&a.person.as_str()),
                None => !p.people.contains_key(&a.person),
            })
            .filter(|a| allocation_overlaps(a, today, today + HORIZON_DAYS))
            .map(|a| allocation_fte(p, a))
            .sum();
        // Whole seconds added up: the same sum in whatever order the entries come.
        let logged_hours = p
            .time_entries
            .iter()
            .filter(|t| in_last_quarter(t.date, today))
            .filter(|t| match id {
                Some(_) => members.contains(&t.person),
                None => !p.people.contains_key(t.person),
            })
            .fold(0u64, |sum, t| sum.saturating_add(t.seconds)) as f64
            / 3600.0;
        let logged = logged_hours / FTE_HOURS;
        if id.is_none() && logged == 0.0 && planned == 0.0 {
            continue;
        }
        // The same definition as an initiative's demand: planned, else logged.
        let demand = if planned > 0.0 { planned } else { logged };
        team_names.push(name.clone());
        cap_series.push(capacity);
        plan_series.push(planned);
        logged_series.push(logged);
        team_rows.push(vec![
            name,
            members.len().to_string(),
            fte(capacity),
            fte(planned),
            fte(logged),
            balance(capacity, demand),
        ]);
    }
    // The whole portfolio: the steering pack's capacity line and the open portfolio's demand,
    // the same numbers as its decision page.
    let demand = portfolio_demand(p, today);
    let logged = p
        .time_entries
        .iter()
        .filter(|t| in_last_quarter(t.date, today))
        .fold(0u64, |sum, t| sum.saturating_add(t.seconds)) as f64
        / 3600.0
        / FTE_HOURS;
    team_rows.push(vec![
        "whole portfolio".into(),
        p.people
            .values()
            .filter(|x| is_active(x, today))
            .count()
            .to_string(),
        fte(line),
        fte(demand),
        fte(logged),
        balance(line, demand),
    ]);
    Table {
        name: "capacity-demand",
        title: "Capacity against demand",
        note: format!(
            "In FTE over the next {HORIZON_DAYS} days. {} Per team: its active members' capacity; their allocations as planned demand, else (nothing planned) the hours they logged. The last row is the whole portfolio as the steering pack counts it: capacity line {line_note}; demand of the open portfolio {} FTE, {} of the line.",
            capacity_definition(),
            fte(demand),
            pct(if line > 0.0 { demand / line } else { 0.0 }),
        ),
        columns: vec![
            "team",
            "members",
            "capacity",
            "planned demand",
            "logged",
            "balance",
        ],
        rows: team_rows,
        chart: Some(Chart::Bars {
            title: "Capacity and demand per team (FTE)".into(),
            categories: team_names,
            series: vec![
                ("capacity".into(), cap_series),
                ("planned demand".into(), plan_series),
                ("logged".into(), logged_series),
            ],
            stacked: false,
            line: None,
        }),
    }
}

/// An initiative's value KPIs as people read them: each one's latest measurement by `today`
/// and, with a baseline and a target, the share of the way between them it has come.
fn kpi_summary(i: &tollgate_dmo::model::Initiative, today: i64) -> String {
    fn number(v: f64) -> String {
        let text = format!("{:.2}", v + 0.0);
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
    let parts: Vec<String> = i
        .kpis
        .iter()
        .map(|k| {
            let unit = k
                .unit
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default();
            let latest = k
                .measurements
                .iter()
                .filter(|(d, v)| v.is_finite() && day_number(d).is_some_and(|d| d <= today))
                .max_by(|a, b| a.0.cmp(&b.0));
            let Some((date, value)) = latest else {
                return format!("{}: not measured yet", k.name);
            };
            let way = match (k.baseline, k.target) {
                (Some(b), Some(t)) if (t - b).abs() > f64::EPSILON => format!(
                    ", {} of the way from {} to {}",
                    pct((value - b) / (t - b)),
                    number(b),
                    number(t)
                ),
                _ => String::new(),
            };
            format!("{}: {}{unit} on {date}{way}", k.name, number(*value))
        })
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_count_back_across_years() {
        assert_eq!(quarter_of(day_number("2026-11-27").unwrap()), "2026-Q4");
        assert_eq!(quarter_of(day_number("2026-01-01").unwrap()), "2026-Q1");
        assert_eq!(previous_quarter("2026-Q1"), "2025-Q4");
        assert_eq!(previous_quarter("2026-Q3"), "2026-Q2");
    }
}
