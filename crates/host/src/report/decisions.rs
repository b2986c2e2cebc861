//! The decision-proposal and dependency tables of the steering pack: the maths is
//! `tollgate_dmo::prioritisation`'s; this module lays it out for people.

use super::{Chart, Table, fte, money_in, natural, pct};
use crate::config::{ReportsConfig, Scoring};
use tollgate_dmo::prioritisation::{capacity, capacity_definition, check_dependencies, propose};
use tollgate_dmo::rules::Portfolio;

/// The decision-proposal and dependency tables of the steering pack.
pub fn tables(
    p: &Portfolio,
    open: &super::OpenFindings,
    today: i64,
    settings: &ReportsConfig,
) -> Vec<Table> {
    let dep_rows: Vec<Vec<String>> = {
        let mut checks = check_dependencies(p, today);
        checks.sort_by(|a, b| {
            natural(&a.from_key)
                .cmp(&natural(&b.from_key))
                .then(natural(&a.to_key).cmp(&natural(&b.to_key)))
        });
        checks
            .into_iter()
            .map(|d| {
                vec![
                    d.from_key,
                    d.to_key,
                    d.kind,
                    match d.accepted {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => "not said".into(),
                    },
                    d.to_status.unwrap_or_else(|| "(unknown)".into()),
                    if d.flags.is_empty() {
                        "ok".into()
                    } else {
                        d.flags.join("\n")
                    },
                ]
            })
            .collect()
    };
    let (line, line_note) = capacity(p, today, settings.capacity_fte);
    let findings: Vec<tollgate_dmo::prioritisation::FindingRef> = open
        .iter()
        .map(|f| tollgate_dmo::prioritisation::FindingRef {
            kind: f.kind,
            key: f.key,
            severity: f.severity,
            rule_id: f.rule_id,
            title: f.title,
        })
        .collect();
    let proposals = propose(p, &findings, today, settings.scoring, line);
    let cumulative = proposals.last().map_or(0.0, |x| x.cumulative);
    let mut rows = super::Rows::new();
    let mut chart_keys = Vec::new();
    let mut chart_cumulative = Vec::new();
    for (rank, x) in proposals.into_iter().enumerate() {
        let (i, _) = &p.initiatives[&x.key];
        chart_keys.push(x.key.clone());
        chart_cumulative.push(x.cumulative);
        rows.push(vec![
            (rank + 1).to_string(),
            x.key.clone(),
            i.title.clone(),
            i.current_gate.clone().unwrap_or_default(),
            x.score
                .map(|s| format!("{s:.2}"))
                .unwrap_or_else(|| "–".into()),
            x.demand
                .map(|(v, from)| format!("{} ({from})", fte(v)))
                .unwrap_or_else(|| "–".into()),
            fte(x.cumulative),
            if x.within { "above" } else { "below" }.into(),
            x.npv
                .map(|v| money_in(v, p.currency(&x.key)))
                .unwrap_or_else(|| "–".into()),
            x.decision.as_str().into(),
            x.reasons.join("\n"),
            x.tie.clone().unwrap_or_default(),
            p.currency(&x.key).unwrap_or("–").into(),
        ]);
    }
    let method = match settings.scoring {
        Scoring::Wsjf => {
            "WSJF = (user-business value + time criticality + risk reduction) / job size"
        }
        Scoring::Cd3 => "CD3 = cost of delay per month / months left until the planned end",
    };
    vec![
        Table {
            name: "decision-proposals",
            title: "Decision proposals",
            note: format!(
                "The open portfolio ranked by {method}, highest first (unscored last); equal scores are ranked by cost of delay (higher first), then by the age of the demand (older first), then by key, and the tie column says which. {} Capacity line: {line_note}. Proposed: include (within the line, nothing serious open); pass forward (to the next steering: something is missing, a blocker or error is open, a dependency is unsound, or it is below the line); reject (not yet in the development portfolio, and its business case has a negative NPV or it needs stopped work); remove (in the development portfolio, from G2 on, on the same grounds). Share of the line used: {}.",
                capacity_definition(),
                pct(if line > 0.0 { cumulative / line } else { 0.0 })
            ),
            columns: vec![
                "rank",
                "initiative",
                "title",
                "gate",
                "score",
                "demand (FTE)",
                "cumulative (FTE)",
                "capacity line",
                "NPV",
                "proposed",
                "why",
                "tie",
                "currency",
            ],
            rows,
            chart: Some(Chart::Bars {
                title: "Cumulative demand in rank order against the capacity line (FTE)".into(),
                categories: chart_keys,
                series: vec![("cumulative demand".into(), chart_cumulative)],
                stacked: false,
                line: Some(("capacity line".into(), line)),
            }),
        },
        Table {
            name: "dependencies",
            title: "Dependencies",
            note: "Each initiative's dependencies on others: cycles, dependencies on stopped, rejected or late work (planned end or gate decision passed) and unaccepted ones are flagged.".into(),
            columns: vec!["initiative", "depends on", "kind", "accepted", "status of the other", "flags"],
            rows: dep_rows.into(),
            chart: None,
        },
    ]
}
