//! Reports: the steering pack, built from the store as the checks see it.
//!
//! The pack is a set of tables (so the same content renders as Markdown, one self-contained
//! HTML file, JSON or CSV): the portfolio per value stream, gate decisions due before the next
//! steering meeting, initiatives at risk with the findings behind them, the business cases'
//! numbers with their definitions, a resource heat map against the reserve line, findings by
//! rule and severity, and what changed since the last pack.

pub mod charts;
pub mod decisions;
pub mod quarterly;

pub use charts::Chart;

use crate::config::{ReportKind, ReportsConfig};
use crate::error::Error;
use serde::Serialize;
use std::collections::BTreeMap;
use tollgate_dmo::Severity;
use tollgate_dmo::calendar::{date_of, day_number};
use tollgate_dmo::model::Allocation;
use tollgate_dmo::rules::Portfolio;
use tollgate_store::{Store, StoredFinding};

/// Days between two steering meetings (the DMO's fortnightly rhythm).
pub const STEERING_INTERVAL_DAYS: i64 = 14;
/// The reserve line: planned allocation above this share of a person's time is a risk.
pub const RESERVE_LINE: f64 = 80.0;

/// One table of a report: a name, column names, rows of cells.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Machine name (CSV file name, JSON key).
    pub name: &'static str,
    /// Heading for people.
    pub title: &'static str,
    /// What the table shows and how its numbers are defined.
    pub note: String,
    /// Column names.
    pub columns: Vec<&'static str>,
    /// Rows.
    pub rows: Vec<Vec<String>>,
    /// A chart of the same numbers (HTML only; the other formats carry the table).
    #[serde(skip)]
    pub chart: Option<Chart>,
}

/// A report: the steering pack or the quarterly review.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `steering` or `quarterly`.
    pub kind: &'static str,
    /// Heading, e.g. "Steering pack, 2026-11-27".
    pub title: String,
    /// Evaluated as of (YYYY-MM-DD).
    pub as_of: String,
    /// The next steering meeting (as of + 14 days).
    pub next_steering: String,
    /// When the previous pack was made, if one was.
    pub previous_pack: Option<String>,
    /// The tables, in reading order.
    pub tables: Vec<Table>,
}

/// The day number of an `--as-of` date, or the error the commands print.
pub fn parse_as_of(as_of: &str) -> Result<i64, Error> {
    day_number(as_of)
        .ok_or_else(|| Error::usage(anyhow::anyhow!("`{as_of}` is not a date like 2026-11-27")))
}

pub(crate) fn money(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

pub(crate) fn pct(v: f64) -> String {
    format!("{:.1} %", 100.0 * v + 0.0)
}

/// Full-time equivalents with two decimals (never "-0.00": an empty float sum is -0.0).
pub(crate) fn fte(v: f64) -> String {
    format!("{:.2}", v + 0.0)
}

/// Build the steering pack as of `as_of`.
pub fn steering(store: &dyn Store, as_of: &str, settings: &ReportsConfig) -> Result<Report, Error> {
    let today = parse_as_of(as_of)?;
    let next = today + STEERING_INTERVAL_DAYS;
    let p = crate::check::portfolio(store)?;
    let all = store.findings(true)?;
    let open: Vec<&StoredFinding> = all.iter().filter(|f| f.resolved_at.is_none()).collect();
    let previous = store.last_report("steering")?;
    let mut tables = Vec::new();

    // Portfolio per value stream.
    let mut streams: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    for (i, _) in p.initiatives.values() {
        let stream = i.value_stream.clone().unwrap_or_else(|| "(none)".into());
        let slot = match i.status_category.as_deref() {
            Some("todo") => 0,
            Some("in-progress") => 1,
            Some("done") => 2,
            _ => 3,
        };
        streams.entry(stream).or_default()[slot] += 1;
    }
    let stream_of: BTreeMap<&str, &str> = p
        .initiatives
        .values()
        .map(|(i, _)| {
            (
                i.key.as_str(),
                i.value_stream.as_deref().unwrap_or("(none)"),
            )
        })
        .collect();
    let severities = [
        Severity::Blocker,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ];
    tables.push(Table {
        name: "value-streams",
        title: "Portfolio by value stream",
        note: "Initiatives by status, and the open findings on them.".into(),
        columns: vec![
            "value stream",
            "to do",
            "in progress",
            "done",
            "blocker",
            "error",
            "warning",
            "info",
        ],
        rows: streams
            .iter()
            .map(|(stream, n)| {
                let mut row = vec![
                    stream.clone(),
                    n[0].to_string(),
                    n[1].to_string(),
                    n[2].to_string(),
                ];
                for s in severities {
                    let count = open
                        .iter()
                        .filter(|f| {
                            f.finding.severity == s && f.finding.subject.kind == "initiative"
                        })
                        .filter(|f| {
                            stream_of.get(f.finding.subject.key.as_str()) == Some(&stream.as_str())
                        })
                        .count();
                    row.push(count.to_string());
                }
                row
            })
            .collect(),
        chart: Some(Chart::Bars {
            title: "Initiatives by value stream and status".into(),
            categories: streams.keys().cloned().collect(),
            series: ["to do", "in progress", "done", "other"]
                .iter()
                .enumerate()
                .map(|(k, name)| {
                    (
                        name.to_string(),
                        streams.values().map(|n| n[k] as f64).collect(),
                    )
                })
                .collect(),
            stacked: true,
            line: None,
        }),
    });

    // Decision proposals and dependencies.
    tables.extend(decisions::tables(&p, &open, today, settings));

    // Gate decisions due before the next steering meeting (overdue ones first).
    let mut due: Vec<(i64, Vec<String>)> = p
        .initiatives
        .values()
        .filter_map(|(i, url)| {
            let d = i.next_gate_due.as_deref().and_then(day_number)?;
            (d <= next).then(|| {
                (
                    d,
                    vec![
                        i.key.clone(),
                        i.title.clone(),
                        i.current_gate.clone().unwrap_or_default(),
                        date_of(d),
                        if d < today {
                            format!("overdue by {} days", today - d)
                        } else {
                            format!("in {} days", d - today)
                        },
                        url.clone().unwrap_or_default(),
                    ],
                )
            })
        })
        .collect();
    due.sort_by_key(|(d, _)| *d);
    tables.push(Table {
        name: "gate-decisions-due",
        title: "Gate decisions due before the next steering",
        note: format!(
            "Next gate decisions due on or before {} (the next steering), overdue ones included.",
            date_of(next)
        ),
        columns: vec!["initiative", "title", "current gate", "due", "when", "link"],
        rows: due.into_iter().map(|(_, r)| r).collect(),
        chart: None,
    });

    // Initiatives at risk: any open blocker or error.
    let mut at_risk: BTreeMap<&str, Vec<&StoredFinding>> = BTreeMap::new();
    for f in &open {
        if f.finding.subject.kind == "initiative" && f.finding.severity >= Severity::Error {
            at_risk.entry(f.finding.subject.key.as_str()).or_default();
        }
    }
    for f in &open {
        if let Some(list) = at_risk.get_mut(f.finding.subject.key.as_str()) {
            list.push(f);
        }
    }
    let mut risk_rows: Vec<Vec<String>> = at_risk
        .iter()
        .map(|(key, findings)| {
            let worst = findings
                .iter()
                .map(|f| f.finding.severity)
                .max()
                .unwrap_or(Severity::Info);
            let mut sorted = findings.clone();
            sorted.sort_by(|a, b| {
                b.finding
                    .severity
                    .cmp(&a.finding.severity)
                    .then(a.finding.rule_id.cmp(&b.finding.rule_id))
            });
            vec![
                key.to_string(),
                p.initiatives
                    .get(*key)
                    .map(|(i, _)| i.title.clone())
                    .unwrap_or_default(),
                worst.as_str().to_string(),
                sorted
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {}: {}",
                            f.finding.severity.as_str(),
                            f.finding.rule_id,
                            f.finding.message
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            ]
        })
        .collect();
    risk_rows.sort_by(|a, b| {
        let rank = |s: &str| s.parse::<Severity>().map(|s| s as u8).unwrap_or(0);
        rank(&b[2])
            .cmp(&rank(&a[2]))
            .then_with(|| natural(&a[0]).cmp(&natural(&b[0])))
    });
    tables.push(Table {
        name: "initiatives-at-risk",
        title: "Initiatives at risk",
        note: "Initiatives with an open blocker or error, with every open finding behind it."
            .into(),
        columns: vec!["initiative", "title", "worst", "findings"],
        rows: risk_rows,
        chart: None,
    });

    // Business cases.
    let mut case_rows = Vec::new();
    let mut conventions = std::collections::BTreeSet::new();
    for key in p.business_cases.keys() {
        let (row, convention) =
            business_case_row(&p, key).expect("every key of business_cases has a case");
        conventions.extend(convention);
        case_rows.push(row);
    }
    case_rows.sort_by(|a, b| natural(&a[0]).cmp(&natural(&b[0])));
    tables.push(Table {
        name: "business-cases",
        title: "Business cases",
        note: business_case_note(&conventions),
        columns: BUSINESS_CASE_COLUMNS.to_vec(),
        rows: case_rows,
        chart: None,
    });

    tables.push(resource_heat_map(&p));

    // Findings by rule and by severity.
    let mut by_rule: BTreeMap<(&str, &str), [usize; 4]> = BTreeMap::new();
    for f in &open {
        let slot = match f.finding.severity {
            Severity::Blocker => 0,
            Severity::Error => 1,
            Severity::Warning => 2,
            Severity::Info => 3,
        };
        by_rule
            .entry((f.finding.rule_id.as_str(), f.finding.title.as_str()))
            .or_default()[slot] += 1;
    }
    let mut totals = [0usize; 4];
    let mut rule_rows: Vec<Vec<String>> = by_rule
        .iter()
        .map(|((rule, title), n)| {
            for k in 0..4 {
                totals[k] += n[k];
            }
            let mut row = vec![rule.to_string(), title.to_string()];
            row.extend(n.iter().map(|c| c.to_string()));
            row
        })
        .collect();
    let rule_chart = Chart::HorizontalBars {
        title: "Open findings per rule".into(),
        categories: by_rule.keys().map(|(rule, _)| rule.to_string()).collect(),
        series: vec![(
            "open findings".into(),
            by_rule
                .values()
                .map(|n| n.iter().sum::<usize>() as f64)
                .collect(),
        )],
    };
    let mut total_row = vec!["all".to_string(), "".to_string()];
    total_row.extend(totals.iter().map(|c| c.to_string()));
    rule_rows.push(total_row);
    tables.push(Table {
        name: "findings-by-rule",
        title: "Findings by rule and severity",
        note: "Open findings; docs/rules.md explains each rule.".into(),
        columns: vec!["rule", "title", "blocker", "error", "warning", "info"],
        rows: rule_rows,
        chart: Some(rule_chart),
    });

    // What changed since the last pack.
    let since = previous.clone();
    let is_after = |t: &str| since.as_deref().is_none_or(|s| t > s);
    let new = open.iter().filter(|f| is_after(&f.first_seen)).count();
    let persisting = open.len() - new;
    let resolved: Vec<&StoredFinding> = all
        .iter()
        .filter(|f| {
            f.resolved_at
                .as_deref()
                .is_some_and(|r| since.is_some() && is_after(r))
        })
        .collect();
    tables.push(Table {
        name: "changes",
        title: "Since the last pack",
        note: match &since {
            Some(s) => {
                format!("Findings new, resolved and persisting since the previous pack ({s}).")
            }
            None => "No previous pack: every open finding counts as new.".into(),
        },
        columns: vec!["new", "resolved", "persisting"],
        rows: vec![vec![
            new.to_string(),
            resolved.len().to_string(),
            persisting.to_string(),
        ]],
        chart: None,
    });

    Ok(Report {
        kind: "steering",
        title: format!("Steering pack, {as_of}"),
        as_of: as_of.to_string(),
        next_steering: date_of(next),
        previous_pack: previous,
        tables,
    })
}

/// Tables whose rows are single people: shown only to readers allowed to see per-person data.
pub const PER_PERSON_TABLES: &[&str] = &["resource-heat-map"];

/// Take the tables about single people out of a report, leaving a note where they were.
pub fn withhold_per_person(report: &mut Report) {
    for t in &mut report.tables {
        if PER_PERSON_TABLES.contains(&t.name) {
            t.note = "Per-person data is shown only with the daemon's read token (daemon.read_token_env or daemon.read_token_file).".into();
            t.rows.clear();
            t.chart = None;
        }
    }
}

/// Planned allocation per person and month (the resource heat map).
fn resource_heat_map(p: &Portfolio) -> Table {
    let months = allocation_months(&p.allocations);
    let mut heat_rows = Vec::new();
    let mut people: Vec<&str> = p.allocations.iter().map(|a| a.person.as_str()).collect();
    people.sort_unstable();
    people.dedup();
    for person in people {
        let mut row = vec![person.to_string()];
        for (start, end) in &months {
            let total: f64 = p
                .allocations_of(person)
                .filter(|a| allocation_overlaps(a, *start, *end))
                .map(|a| a.percent)
                .sum();
            row.push(if total == 0.0 {
                String::new()
            } else {
                format!("{total:.0}")
            });
        }
        heat_rows.push(row);
    }
    let mut columns = vec!["person"];
    for (start, _) in &months {
        columns.push(Box::leak(date_of(*start)[..7].to_string().into_boxed_str()));
    }
    let heat_chart = Chart::Heatmap {
        title: "Planned allocation, % of each person's time".into(),
        columns: columns[1..].iter().map(|c| c.to_string()).collect(),
        rows: heat_rows.iter().map(|r| r[0].clone()).collect(),
        cells: heat_rows
            .iter()
            .enumerate()
            .flat_map(|(y, r)| {
                r[1..]
                    .iter()
                    .enumerate()
                    .filter_map(move |(x, v)| v.parse::<f64>().ok().map(|v| (x, y, v)))
            })
            .collect(),
    };
    Table {
        name: "resource-heat-map",
        title: "Resource heat map",
        note: format!(
            "Planned allocation per person and month, in % of their time; above {RESERVE_LINE:.0} % leaves no reserve for the unplanned (the 70–80 % rule), above 100 % is over-allocation."
        ),
        columns,
        rows: heat_rows,
        chart: Some(heat_chart),
    }
}

/// Whether an allocation covers any day of `start..=end` (an open end covers all).
pub(crate) fn allocation_overlaps(a: &Allocation, start: i64, end: i64) -> bool {
    let from = a.from.as_deref().and_then(day_number).unwrap_or(i64::MIN);
    let to = a.to.as_deref().and_then(day_number).unwrap_or(i64::MAX);
    from <= end && to >= start
}

/// An allocation in full-time equivalents: its share of the person's FTE (1 when unknown).
pub(crate) fn allocation_fte(p: &Portfolio, a: &Allocation) -> f64 {
    a.percent / 100.0 * p.people.get(&a.person).and_then(|x| x.fte).unwrap_or(1.0)
}

/// Resources as of `as_of`: the heat map and capacity against demand, from one read of the
/// store (the dashboard's resources page).
pub fn resources(
    store: &dyn Store,
    as_of: &str,
    settings: &ReportsConfig,
) -> Result<Report, Error> {
    let today = parse_as_of(as_of)?;
    let p = crate::check::portfolio(store)?;
    Ok(Report {
        kind: "resources",
        title: format!("Resources, {as_of}"),
        as_of: as_of.to_string(),
        next_steering: date_of(today + STEERING_INTERVAL_DAYS),
        previous_pack: None,
        tables: vec![
            resource_heat_map(&p),
            quarterly::capacity_demand(&p, today, settings),
        ],
    })
}

/// Columns of the business case table.
pub const BUSINESS_CASE_COLUMNS: &[&str] = &[
    "initiative",
    "NPV",
    "discount rate",
    "IRR",
    "payback",
    "ROI",
    "cash flows per period",
];

/// One initiative's business case numbers (a row of [`BUSINESS_CASE_COLUMNS`]) and the rate
/// convention they used; `None` without a business case.
pub fn business_case_row(
    p: &tollgate_dmo::rules::Portfolio,
    key: &str,
) -> Option<(Vec<String>, Option<&'static str>)> {
    let case = p.business_cases.get(key)?;
    let Some((flows, rate, convention)) = tollgate_dmo::rules::catalogue::cash_flows(p, key) else {
        let mut row = vec![key.to_string()];
        row.extend(["–"; 5].map(String::from));
        row.push("no discount rate or no cash flows".into());
        return Some((row, None));
    };
    let months = match case.period_length.as_deref() {
        Some("month") => 1.0,
        Some("quarter") => 3.0,
        _ => 12.0,
    };
    let npv = tollgate_dmo::finance::npv(rate, &flows);
    let irr = tollgate_dmo::finance::irr(&flows, 0.1);
    let payback = tollgate_dmo::finance::payback(&flows, None)
        .periods
        .map(|p| p * months);
    let roi = tollgate_dmo::finance::roi_simple(&flows);
    let row = vec![
        key.to_string(),
        money(npv),
        pct(rate),
        irr.rate.map(pct).unwrap_or_else(|| "none".into()),
        payback
            .map(|m| format!("{m:.1} months"))
            .unwrap_or_else(|| "never".into()),
        roi.map(pct).unwrap_or_else(|| "–".into()),
        flows
            .iter()
            .map(|f| money(*f))
            .collect::<Vec<_>>()
            .join(" / "),
    ];
    Some((row, Some(convention)))
}

/// The definitions under the business case table, with the rate conventions in use.
pub fn business_case_note(conventions: &std::collections::BTreeSet<&'static str>) -> String {
    let sub_annual: Vec<&str> = conventions
        .iter()
        .copied()
        .filter(|c| c.contains("monthly") || c.contains("quarterly"))
        .collect();
    format!(
        "Cash flows per period from the business case, or from the finance entries by year (budget as cost, planned benefit as benefit); the first period is t = 0 and is not discounted. NPV: the sum of each flow discounted at the case's rate. IRR: the rate at which the NPV is zero (none when the flows never change sign or no rate makes it zero). Payback: when the cumulated flows turn positive, in months, interpolated within a period. ROI: (benefits − costs) / costs, undiscounted. Rate convention: annual rates as given for yearly periods; {}.",
        if sub_annual.is_empty() {
            "monthly rate = (1 + annual)^(1/12) − 1 (effective) where periods are months"
                .to_string()
        } else {
            sub_annual.join("; ")
        }
    )
}

/// `BIZ-9` before `BIZ-10`.
pub(crate) fn natural(key: &str) -> (String, u64) {
    match key.rsplit_once('-') {
        Some((p, n)) if n.chars().all(|c| c.is_ascii_digit()) => {
            (p.to_string(), n.parse().unwrap_or(0))
        }
        _ => (key.to_string(), 0),
    }
}

/// The months (first and last day) the allocations span, at most 12.
fn allocation_months(allocations: &[tollgate_dmo::model::Allocation]) -> Vec<(i64, i64)> {
    let first = allocations
        .iter()
        .filter_map(|a| a.from.as_deref().and_then(day_number))
        .min();
    let last = allocations
        .iter()
        .filter_map(|a| a.to.as_deref().and_then(day_number))
        .max();
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let (mut y, mut m): (i64, i64) = (
        date_of(first)[..4].parse().unwrap(),
        date_of(first)[5..7].parse().unwrap(),
    );
    while out.len() < 12 {
        let start = day_number(&format!("{y:04}-{m:02}-01")).unwrap();
        if start > last {
            break;
        }
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let end = day_number(&format!("{ny:04}-{nm:02}-01")).unwrap() - 1;
        out.push((start, end));
        (y, m) = (ny, nm);
    }
    out
}

/// The pack as Markdown.
pub fn markdown(pack: &Report) -> String {
    let mut out = format!(
        "# {}\n\nNext steering: {}.{}\n",
        pack.title,
        pack.next_steering,
        pack.previous_pack
            .as_ref()
            .map(|p| format!(" Previous pack: {p}."))
            .unwrap_or_default()
    );
    for t in &pack.tables {
        out.push_str(&format!("\n## {}\n\n{}\n\n", t.title, md_text(&t.note)));
        if t.rows.is_empty() {
            out.push_str("None.\n");
            continue;
        }
        out.push_str(&format!(
            "| {} |\n|{}\n",
            t.columns.join(" | "),
            "---|".repeat(t.columns.len())
        ));
        for r in &t.rows {
            let cells: Vec<String> = r.iter().map(|c| md_text(c).replace('\n', "<br>")).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    out
}

/// Text from the trackers and files as Markdown that shows it and does nothing else: no HTML
/// (`<`, `>` as entities), no links or images (`[`, `]` escaped), no table breaks (`|`), no
/// control characters.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '[' | ']' | '|' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push('\n'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell a spreadsheet shows as text instead of evaluating (OWASP's advice on CSV
/// injection): one that starts with `=`, `+`, `-`, `@`, a tab or a carriage return, and is not
/// a plain number, gets a leading `'`.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.chars().next().is_some_and(|c| {
        matches!(
            c,
            '=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠'
        )
    });
    let number = cell.trim().parse::<f64>().is_ok_and(f64::is_finite);
    if risky && !number {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Text for HTML: `&`, `<`, `>` and `"` escaped.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The pack as one self-contained HTML file (no scripts, no external resources).
pub fn html(pack: &Report) -> String {
    html_page(pack, None, "")
}

/// The page's style, shared by the report file and the dashboard.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2733}table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #c9d1da;padding:.3rem .5rem;vertical-align:top;text-align:left}th{background:#eef2f6}td.num{text-align:right}td.hot{background:#f7c6c0}td.warm{background:#fbe3b5}p.note{color:#4a5866;max-width:60rem}nav a{margin-right:1rem}figure.chart{margin:.5rem 0}figure.chart svg{max-width:100%;height:auto}figcaption{color:#4a5866;font-size:.85rem}@media print{body{margin:0}nav{display:none}}";

/// The pack as HTML; with `initiative_links` (e.g. `/initiatives/`), initiative keys link
/// to that path (the dashboard); `nav` goes first in the body.
pub fn html_page(pack: &Report, initiative_links: Option<&str>, nav: &str) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>{STYLE}</style></head>\n<body>\n{nav}<h1>{title}</h1>\n<p>Next steering: {next}.{prev}</p>\n",
        title = esc(&pack.title),
        next = esc(&pack.next_steering),
        prev = pack
            .previous_pack
            .as_ref()
            .map(|p| format!(" Previous pack: {}.", esc(p)))
            .unwrap_or_default()
    );
    for t in &pack.tables {
        out.push_str(&format!(
            "<section id=\"{}\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
            t.name,
            esc(t.title),
            esc(&t.note)
        ));
        if t.rows.is_empty() {
            out.push_str("<p>None.</p>\n</section>\n");
            continue;
        }
        if let Some(chart) = &t.chart {
            out.push_str(&format!(
                "<figure class=\"chart\" id=\"chart-{}\">{}<figcaption>{}</figcaption></figure>\n",
                t.name,
                chart.svg(),
                esc(chart.title())
            ));
        }
        out.push_str("<table>\n<thead><tr>");
        for c in &t.columns {
            out.push_str(&format!("<th>{}</th>", esc(c)));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for r in &t.rows {
            out.push_str("<tr>");
            for (i, cell) in r.iter().enumerate() {
                let number = cell
                    .trim_end_matches(" %")
                    .replace(['−', ' '], "")
                    .parse::<f64>()
                    .ok();
                let class = match (t.name, number) {
                    ("resource-heat-map", Some(v)) if i > 0 && v > 100.0 => " class=\"num hot\"",
                    ("resource-heat-map", Some(v)) if i > 0 && v > RESERVE_LINE => {
                        " class=\"num warm\""
                    }
                    (_, Some(_)) => " class=\"num\"",
                    _ => "",
                };
                let text = if t.columns.get(i) == Some(&"link") && !cell.is_empty() {
                    format!("<a href=\"{0}\">{0}</a>", esc(cell))
                } else if let (Some(base), Some(&"initiative")) =
                    (initiative_links, t.columns.get(i))
                {
                    format!("<a href=\"{base}{0}\">{0}</a>", esc(cell))
                } else {
                    esc(cell).replace('\n', "<br>")
                };
                out.push_str(&format!("<td{class}>{text}</td>"));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

/// One table as CSV.
pub fn csv(table: &Table) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(&table.columns);
    for r in &table.rows {
        let _ = w.write_record(r.iter().map(|c| spreadsheet_safe(c).into_owned()));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Build a report of `kind` as of `as_of`, with the config's `[reports]` settings and rule
/// pack.
pub fn build(
    store: &dyn Store,
    kind: ReportKind,
    as_of: &str,
    config: &crate::config::Config,
) -> Result<Report, Error> {
    match kind {
        ReportKind::Steering => steering(store, as_of, &config.reports),
        ReportKind::Quarterly => quarterly::review(
            store,
            as_of,
            &config.reports,
            &crate::check::rule_pack(config)?,
        ),
    }
}

/// Write the configured reports (`[reports] kinds`) as of `as_of` into `[reports] folder`
/// and remember them (for "since the last pack"); nothing without a folder. Returns the
/// paths written.
pub fn publish_files(
    store: &mut dyn Store,
    config: &crate::config::Config,
    as_of: &str,
) -> Result<Vec<std::path::PathBuf>, Error> {
    if config.reports.folder.is_none() {
        return Ok(Vec::new());
    }
    let mut written = Vec::new();
    for kind in &config.reports.kinds {
        written.extend(file_report(store, config, *kind, as_of)?.1);
    }
    Ok(written)
}

/// Build one report; with `[reports] folder`, write it there and remember it. Returns the
/// report and the paths written (none without a folder).
pub fn file_report(
    store: &mut dyn Store,
    config: &crate::config::Config,
    kind: ReportKind,
    as_of: &str,
) -> Result<(Report, Vec<std::path::PathBuf>), Error> {
    let report = build(&*store, kind, as_of, config)?;
    let Some(folder) = &config.reports.folder else {
        return Ok((report, Vec::new()));
    };
    let folder = config.base_dir.join(folder);
    let written = write_folder(&report, &folder).map_err(|e| {
        Error::runtime(anyhow::anyhow!(
            "cannot write the {} report into {} (reports.folder): {e}",
            kind.as_str(),
            folder.display()
        ))
    })?;
    remember(store, kind.as_str(), as_of)?;
    Ok((report, written))
}

/// Write a report into `folder` as `{kind}-{as_of}.html`, `.md` and `.json`, and its tables
/// as CSV files in `{kind}-{as_of}-csv/`; returns the paths written.
pub fn write_folder(
    report: &Report,
    folder: &std::path::Path,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    let stem = format!("{}-{}", report.kind, report.as_of);
    let csv_dir = folder.join(format!("{stem}-csv"));
    tollgate_store::files::create_private_dir_all(folder)?;
    tollgate_store::files::remove_stale_temporaries(folder);
    let mut written = Vec::new();
    for (ext, text) in [
        ("html", html(report)),
        ("md", markdown(report)),
        (
            "json",
            serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        ),
    ] {
        let path = folder.join(format!("{stem}.{ext}"));
        tollgate_store::files::write_atomically(&path, text.as_bytes())?;
        written.push(path);
    }
    written.extend(write_tables(report, &csv_dir)?);
    Ok(written)
}

/// Each table of a report as `{table}.csv` in `dir` (created if missing); returns the paths.
pub fn write_tables(
    report: &Report,
    dir: &std::path::Path,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    tollgate_store::files::create_private_dir_all(dir)?;
    tollgate_store::files::remove_stale_temporaries(dir);
    let mut written = Vec::new();
    for t in &report.tables {
        let path = dir.join(format!("{}.csv", t.name));
        tollgate_store::files::write_atomically(&path, csv(t).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Record that a pack was made now (for "since the last pack").
pub fn remember(store: &mut dyn Store, kind: &str, as_of: &str) -> Result<(), Error> {
    store.record_report(kind, as_of, &crate::clock::now())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_numbers_read_well() {
        for d in ["2026-11-27", "2024-02-29", "1999-12-31"] {
            assert_eq!(date_of(day_number(d).unwrap()), d);
        }
        assert_eq!(money(-1234567.4), "−1 234 567");
        assert_eq!(money(999.5), "1 000");
        assert_eq!(pct(0.2569), "25.7 %");
        assert!(natural("BIZ-9") < natural("BIZ-10"));
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_evaluate_are_text() {
        for (cell, safe) in [
            (
                "=HYPERLINK(\"http://evil\",\"x\")",
                "'=HYPERLINK(\"http://evil\",\"x\")",
            ),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("＝1+1", "'＝1+1"),
            ("-3", "-3"),
            ("-1234.5", "-1234.5"),
            ("BIZ-7", "BIZ-7"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(cell), safe, "{cell}");
        }
    }

    #[test]
    fn markdown_shows_tracker_text_and_runs_none_of_it() {
        let t = md_text(
            "<script>alert(1)</script> [x](javascript:alert(1)) ![p](http://t/p.png) a|b \x1b[31m",
        );
        assert!(
            !t.contains('<') && !t.contains('>') && !t.contains('\x1b'),
            "{t}"
        );
        assert!(
            t.contains("\\[x\\](javascript") && t.contains("a\\|b"),
            "{t}"
        );
    }
}
