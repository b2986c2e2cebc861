//! The capitalisation report: logged effort at the people's cost rates per initiative and
//! quarter, capitalisable or expensed by the configured policy, with the reasons.

use super::{Chart, Report, Rows, Table, money_in, natural, parse_as_of, pct};
use crate::config::ReportsConfig;
use crate::error::Error;
use std::collections::BTreeMap;
use tollgate_dmo::calendar::date_of;
use tollgate_store::Store;

/// Build the capitalisation report as of `as_of` (the time logged up to then).
pub fn report(store: &dyn Store, as_of: &str, settings: &ReportsConfig) -> Result<Report, Error> {
    let today = parse_as_of(as_of)?;
    let mut p = crate::check::portfolio(store)?;
    p.retain_time_entries(|t| t.day.is_some_and(|d| d <= today));
    let policy = settings.capitalisation.policy();
    let mut lines = tollgate_dmo::capitalisation::split(&p, &policy);
    // Of the portfolio, the table needs only the titles: the rest (a million time entries
    // at 10,000 initiatives) is let go before the rows are made.
    let titles: std::collections::HashMap<String, String> = lines
        .iter()
        .filter_map(|l| {
            p.initiatives
                .get(&l.key)
                .map(|(i, _)| (l.key.clone(), i.title.clone()))
        })
        .collect();
    drop(p);
    lines.sort_by(|a, b| {
        natural(&a.key)
            .cmp(&natural(&b.key))
            .then_with(|| a.quarter.cmp(&b.quarter))
    });
    let hours = |h: f64| format!("{:.1}", h + 0.0);
    // Per quarter; amounts in several currencies are added as they are, and said.
    let mut quarters: BTreeMap<String, ([f64; 5], std::collections::BTreeSet<String>)> =
        BTreeMap::new();
    for l in &lines {
        let (q, currencies) = quarters.entry(l.quarter.clone()).or_default();
        q[0] += l.capitalisable;
        q[1] += l.expensed;
        q[2] += l.capitalisable_hours;
        q[3] += l.expensed_hours;
        q[4] += l.unpriced_hours;
        currencies.extend(l.currency.clone());
    }
    // Each line let go as its row is made.
    let rows: Rows = {
        let mut rows = Rows::default();
        for l in lines {
            let evidence = l
                .evidence
                .iter()
                .map(|(why, h)| format!("{} h {why}", hours(*h)))
                .collect::<Vec<_>>()
                .join("\n");
            rows.push([
                l.key.as_str(),
                titles.get(&l.key).map_or("", String::as_str),
                &l.quarter,
                &hours(l.hours),
                &money_in(l.capitalisable, l.currency.as_deref()),
                &money_in(l.expensed, l.currency.as_deref()),
                &hours(l.unpriced_hours),
                l.currency.as_deref().unwrap_or("–"),
                &evidence,
            ]);
        }
        rows
    };
    let quarter_rows: Rows = quarters
        .iter()
        .map(
            |(quarter, ([cap, exp, cap_h, exp_h, unpriced], currencies))| {
                let list: Vec<&str> = currencies.iter().map(String::as_str).collect();
                let code = match list[..] {
                    [one] => Some(one),
                    _ => None,
                };
                vec![
                    quarter.clone(),
                    hours(*cap_h),
                    hours(*exp_h),
                    money_in(*cap, code),
                    money_in(*exp, code),
                    if cap + exp > 0.0 {
                        pct(cap / (cap + exp))
                    } else {
                        "–".into()
                    },
                    hours(*unpriced),
                    match list.len() {
                        0 => "–".into(),
                        1 => list[0].to_string(),
                        _ => format!("mixed: {}", list.join(", ")),
                    },
                ]
            },
        )
        .collect();
    let policy_text = format!(
        "Effort is time logged up to {as_of} at each person's cost rate for the day. Capitalisable: development from the {} go (or conditional go) until go-live (the {} go); continual-track work of the demand types {}. Expensed: everything else — before the {} go, after go-live, demand types {}, and continual work of other types. Hours are split whether or not their person has a cost rate; hours without one are in neither cost, and counted apart. Amounts in several currencies are added as they are (Tollgate knows no exchange rates), and the currency column says so. The policy is `[reports.capitalisation]` (docs/reports.md).",
        policy.from_gate,
        policy.until_gate,
        policy.continual_capitalisable_demand_types.join(", "),
        policy.from_gate,
        policy.expensed_demand_types.join(", "),
    );
    Ok(Report {
        stale: None,
        officer_note: None,
        kind: "capitalisation",
        title: format!("Capitalisation of development effort, as of {as_of}"),
        as_of: as_of.to_string(),
        next_steering: date_of(settings.steering_around(today).next),
        previous_pack: None,
        tables: vec![
            Table {
                name: "capitalisation-by-quarter",
                title: "Capitalisable and expensed effort per quarter",
                note: policy_text.clone(),
                columns: vec![
                    "quarter",
                    "capitalisable hours",
                    "expensed hours",
                    "capitalisable",
                    "expensed",
                    "capitalisable share",
                    "hours without a rate",
                    "currency",
                ],
                chart: Some(Chart::Bars {
                    title: "Capitalisable and expensed hours per quarter".into(),
                    categories: quarters.keys().cloned().collect(),
                    series: vec![
                        (
                            "capitalisable".into(),
                            quarters.values().map(|v| v.0[2]).collect(),
                        ),
                        (
                            "expensed".into(),
                            quarters.values().map(|v| v.0[3]).collect(),
                        ),
                    ],
                    stacked: true,
                    line: None,
                }),
                rows: quarter_rows,
            },
            Table {
                name: "capitalisation",
                title: "Capitalisation per initiative and quarter",
                note: format!(
                    "{policy_text} The evidence column gives the hours behind each reason."
                ),
                columns: vec![
                    "initiative",
                    "title",
                    "quarter",
                    "hours",
                    "capitalisable",
                    "expensed",
                    "hours without a rate",
                    "currency",
                    "evidence",
                ],
                rows,
                chart: None,
            },
        ],
    })
}
