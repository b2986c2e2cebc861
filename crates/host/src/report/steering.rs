//! The steering pack: the portfolio by value stream, decision proposals, gate decisions due,
//! initiatives at risk, business cases, the resource heat map, findings by rule, and what
//! changed since the last pack.

#[allow(unused_imports)]
use super::*;

/// Build the steering pack as of `as_of`.
pub fn steering(store: &dyn Store, as_of: &str, settings: &ReportsConfig) -> Result<Report, Error> {
    steering_with_seed(store, as_of, settings, forecast_seed(None))
}

/// The steering pack with the delivery forecasts drawn from `seed` (see [`forecast_seed`]).
pub fn steering_with_seed(
    store: &dyn Store,
    as_of: &str,
    settings: &ReportsConfig,
    seed: u64,
) -> Result<Report, Error> {
    let p = steering_portfolio(store, as_of)?;
    steering_of(store, &p, as_of, settings, seed)
}

/// The portfolio as the steering pack reads it as of `as_of`: every record, but of the time
/// logged only the last quarter's ([`tollgate_dmo::prioritisation::last_quarter`]), the only
/// time the pack counts (the capacity line's people who logged time, each initiative's
/// demand). At 10,000 initiatives the million time entries held whole took 20 MB for as long
/// as the pack was built.
pub fn steering_portfolio(store: &dyn Store, as_of: &str) -> Result<Portfolio, Error> {
    let today = parse_as_of(as_of)?;
    crate::check::portfolio_logged_within(store, tollgate_dmo::prioritisation::last_quarter(today))
}

/// The steering pack of the portfolio `p` (read from `store`, which also gives the findings
/// and the last pack), so that a caller who needs the portfolio too reads it once. `p` needs
/// hold no more time logged than [`steering_portfolio`] keeps.
pub fn steering_of(
    store: &dyn Store,
    p: &Portfolio,
    as_of: &str,
    settings: &ReportsConfig,
    seed: u64,
) -> Result<Report, Error> {
    let today = parse_as_of(as_of)?;
    let meetings = settings.steering_around(today);
    let next = meetings.next;
    // The last pack the steering group saw: filed for the previous meeting or before, so
    // that nightly packs in between do not reset "since the last pack".
    let previous = store.last_report("steering", Some(&date_of(meetings.previous)))?;
    let open = OpenFindings::read(store, previous.as_deref())?;
    // Of the resolved findings, only those resolved since that pack count: the store keeps
    // every finding ever resolved, so reading them all would grow with its history.
    let resolved_since = match &previous {
        Some(since) => store.findings_resolved_after(since)?,
        None => Vec::new(),
    };
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
                        .filter(|f| f.severity == s && f.on_initiative())
                        .filter(|f| stream_of.get(f.key) == Some(&stream.as_str()))
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
    tables.extend(decisions::tables(p, &open, today, settings));

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

    tables.push(roadmap(p, today));
    tables.push(delivery_forecasts(p, today, &seed));

    // Initiatives at risk: any open blocker or error.
    let mut at_risk: BTreeMap<&str, Vec<OpenFinding>> = BTreeMap::new();
    for f in open.iter() {
        if f.on_initiative() && f.severity >= Severity::Error {
            at_risk.entry(f.key).or_default();
        }
    }
    for f in open.iter() {
        if let Some(list) = at_risk.get_mut(f.key) {
            list.push(f);
        }
    }
    // The worst first, then by key; each row written once in that order.
    let mut at_risk: Vec<(&str, Severity, Vec<OpenFinding>)> = at_risk
        .into_iter()
        .map(|(key, mut findings)| {
            let worst = findings
                .iter()
                .map(|f| f.severity)
                .max()
                .unwrap_or(Severity::Info);
            findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule_id.cmp(b.rule_id)));
            (key, worst, findings)
        })
        .collect();
    at_risk.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| natural(a.0).cmp(&natural(b.0))));
    let mut risk_rows = Rows::new();
    for (key, worst, findings) in at_risk {
        risk_rows.push([
            key,
            p.initiatives.get(key).map_or("", |(i, _)| i.title.as_str()),
            worst.as_str(),
            &findings
                .iter()
                .map(|f| format!("{} {}: {}", f.severity.as_str(), f.rule_id, f.message))
                .collect::<Vec<_>>()
                .join("\n"),
        ]);
    }
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
    let mut case_rows = Rows::new();
    let mut conventions = std::collections::BTreeSet::new();
    let mut keys: Vec<&String> = p.business_cases.keys().collect();
    keys.sort_by_key(|key| natural(key));
    for key in keys {
        let (row, convention) =
            business_case_row(p, key).expect("every key of business_cases has a case");
        conventions.extend(convention);
        case_rows.push(row);
    }
    tables.push(Table {
        name: "business-cases",
        title: "Business cases",
        note: business_case_note(&conventions),
        columns: BUSINESS_CASE_COLUMNS.to_vec(),
        rows: case_rows,
        chart: None,
    });

    tables.push(resource_heat_map(p, today));

    // Findings by rule and by severity.
    let mut by_rule: BTreeMap<(&str, &str), [usize; 4]> = BTreeMap::new();
    for f in open.iter() {
        let slot = match f.severity {
            Severity::Blocker => 0,
            Severity::Error => 1,
            Severity::Warning => 2,
            Severity::Info => 3,
        };
        by_rule.entry((f.rule_id, f.title)).or_default()[slot] += 1;
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
    // Stacked by severity, the worst first, in the severities' colours.
    let rule_chart = Chart::HorizontalBars {
        title: "Open findings per rule, by severity".into(),
        categories: by_rule.keys().map(|(rule, _)| rule.to_string()).collect(),
        series: severities
            .iter()
            .enumerate()
            .map(|(k, s)| {
                (
                    format!("{} ({})", s.as_str(), totals[k]),
                    by_rule.values().map(|n| n[k] as f64).collect(),
                )
            })
            .collect(),
        colours: super::charts::SEVERITY_COLOURS.to_vec(),
    };
    let mut total_row = vec!["all".to_string(), "".to_string()];
    total_row.extend(totals.iter().map(|c| c.to_string()));
    rule_rows.push(total_row);
    tables.push(Table {
        name: "findings-by-rule",
        title: "Findings by rule and severity",
        note: "Open findings; docs/rules.md explains each rule.".into(),
        columns: vec!["rule", "title", "blocker", "error", "warning", "info"],
        rows: rule_rows.into(),
        chart: Some(rule_chart),
    });

    // What changed since the last pack.
    let since = previous.clone();
    let new = open.iter().filter(|f| f.new).count();
    let persisting = open.len() - new;
    tables.push(Table {
        name: "changes",
        title: "Since the last pack",
        note: match &since {
            Some(s) => {
                format!(
                    "Findings new, resolved and persisting since the pack filed for the previous steering ({}, made {s}).",
                    date_of(meetings.previous)
                )
            }
            None => format!(
                "No pack was filed for the previous steering ({}): every open finding counts as new.",
                date_of(meetings.previous)
            ),
        },
        columns: vec!["new", "resolved", "persisting"],
        rows: vec![vec![
            new.to_string(),
            resolved_since.len().to_string(),
            persisting.to_string(),
        ]]
        .into(),
        chart: None,
    });

    // The decision page opens the pack: what this steering is asked to decide, and the
    // state of every initiative at a glance.
    let (line, _) = tollgate_dmo::prioritisation::capacity(p, today, settings.capacity_fte);
    let page = decision_page(&tables, &open, p, line, &date_of(next));
    tables.splice(0..0, page);

    Ok(Report {
        stale: None,
        officer_note: None,
        kind: "steering",
        title: format!("Steering pack, {as_of}"),
        as_of: as_of.to_string(),
        next_steering: date_of(next),
        previous_pack: previous,
        tables,
    })
}

/// The decisions requested at this steering (gate decisions due, the proposals to include,
/// reject or remove with their main reason, the initiatives with an open blocker) with the
/// capacity used against the line; and a red/amber/green status per initiative with the rules
/// behind each colour.
fn decision_page(
    tables: &[Table],
    open: &OpenFindings,
    p: &Portfolio,
    line: f64,
    next: &str,
) -> Vec<Table> {
    // Borrowed: at 10,000 initiatives a copy of the proposals alone was megabytes.
    let none = Rows::new();
    let rows_of = |name: &str| -> &Rows {
        tables
            .iter()
            .find(|t| t.name == name)
            .map_or(&none, |t| &t.rows)
    };
    let title_of = |key: &str| {
        p.initiatives
            .get(key)
            .map(|(i, _)| i.title.clone())
            .unwrap_or_default()
    };
    let mut rows = Rows::new();
    for r in rows_of("gate-decisions-due") {
        let next_gate = r[2]
            .strip_prefix('G')
            .and_then(|n| n.parse::<u32>().ok())
            .map(|n| format!("G{}", n + 1))
            .unwrap_or_else(|| "the next gate".into());
        rows.push([
            "gate decision",
            &r[0],
            &r[1],
            &format!("{next_gate} decision, due {} ({})", &r[3], &r[4]),
            "",
        ]);
    }
    let proposals = rows_of("decision-proposals");
    for r in proposals {
        if matches!(&r[9], "include" | "reject" | "remove") {
            rows.push([
                &r[9],
                &r[1],
                &r[2],
                &format!("{} (proposed; rank {})", &r[9], &r[0]),
                r[10].lines().next().unwrap_or_default(),
            ]);
        }
    }
    let mut blocked: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in open.iter() {
        if f.severity == Severity::Blocker && f.on_initiative() {
            blocked
                .entry(f.key)
                .or_default()
                .push(format!("{} {}", f.rule_id, f.title));
        }
    }
    let mut blocked: Vec<(&str, Vec<String>)> = blocked.into_iter().collect();
    blocked.sort_by_key(|(key, _)| natural(key));
    for (key, rules) in blocked {
        rows.push([
            "blocker",
            key,
            &title_of(key),
            "how to go on: resolve the blocker, or stop the work",
            &rules.join("; "),
        ]);
    }
    let cumulative = proposals
        .last()
        .and_then(|r| r[6].parse::<f64>().ok())
        .unwrap_or(0.0);
    let used = if line > 0.0 { cumulative / line } else { 0.0 };
    let decisions = Table {
        name: "decisions",
        title: "Decisions for this steering",
        note: format!(
            "What this steering is asked to decide before {next}: the gate decisions due, the proposals to include, reject or remove (with their main reason; the ranking below says more), and the initiatives with an open blocker. Capacity: a demand of {} FTE against a capacity line of {} FTE, {} of the line.",
            fte(cumulative),
            fte(line),
            pct(used)
        ),
        columns: vec!["decision", "initiative", "title", "asked", "why"],
        rows,
        chart: None,
    };
    // Red: an open blocker or error; amber: an open warning; green: neither.
    let mut worst: BTreeMap<&str, (Severity, Vec<&str>)> = BTreeMap::new();
    for f in open.iter() {
        if !f.on_initiative() || f.severity < Severity::Warning {
            continue;
        }
        let e = worst.entry(f.key).or_insert((f.severity, Vec::new()));
        if f.severity > e.0 {
            *e = (f.severity, Vec::new());
        }
        if f.severity == e.0 && !e.1.contains(&f.rule_id) {
            e.1.push(f.rule_id);
        }
    }
    let status_of = |key: &str| match worst.get(key) {
        Some((s, _)) if *s >= Severity::Error => 0,
        Some(_) => 1,
        None => 2,
    };
    let mut in_order: Vec<(u8, &tollgate_dmo::model::Initiative)> = p
        .initiatives
        .values()
        .map(|(i, _)| (status_of(&i.key), &**i))
        .collect();
    in_order.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(natural(&a.1.key).cmp(&natural(&b.1.key)))
    });
    let mut rag = Rows::new();
    for (_, i) in in_order {
        let (colour, why) = match worst.get(i.key.as_str()) {
            Some((s, rules)) if *s >= Severity::Error => {
                ("red", format!("open {}: {}", s.as_str(), rules.join(", ")))
            }
            Some((_, rules)) => ("amber", format!("open warning: {}", rules.join(", "))),
            None => ("green", "no open blocker, error or warning".to_string()),
        };
        rag.push([i.key.as_str(), i.title.as_str(), colour, &why]);
    }
    let status = Table {
        name: "rag-status",
        title: "Status of every initiative",
        note: "Red: an open blocker or error; amber: an open warning; green: neither. The rules behind each colour are named.".into(),
        columns: vec!["initiative", "title", "status", "why"],
        rows: rag,
        chart: None,
    };
    vec![decisions, status]
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
fn resource_heat_map(p: &Portfolio, today: i64) -> Table {
    let months = heat_map_months(&p.allocations, today);
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
        columns.push(super::column_name(&date_of(*start)[..7]));
    }
    let heat_chart = Chart::Heatmap {
        title: "Planned allocation, % of each person's time".into(),
        columns: columns[1..].iter().map(|c| c.to_string()).collect(),
        // People by name, as the steering group knows them (their id where the HR file
        // names nobody).
        rows: heat_rows
            .iter()
            .map(|r| match p.people.get(&r[0]) {
                Some(person) if !person.name.trim().is_empty() => {
                    format!("{} ({})", person.name.trim(), r[0])
                }
                _ => r[0].clone(),
            })
            .collect(),
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
            "Planned allocation per person and month, in % of their time, from the month the plans begin (at most 11 months back) through the coming quarter ({}); a blank cell: nothing planned. Above {RESERVE_LINE:.0} % leaves no reserve for the unplanned (the 70–80 % rule), above 100 % is over-allocation. {}",
            match (months.iter().find(|(_, end)| *end >= today), months.last()) {
                (Some((this, _)), Some((_, last))) => format!(
                    "this month is {}, the coming quarter ends {}",
                    &date_of(*this)[..7],
                    date_of(*last)
                ),
                _ => "no months".into(),
            },
            super::charts::HEATMAP_LEGEND
        ),
        columns,
        rows: heat_rows.into(),
        chart: Some(heat_chart),
    }
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
        stale: None,
        officer_note: None,
        kind: "resources",
        title: format!("Resources, {as_of}"),
        as_of: as_of.to_string(),
        next_steering: date_of(settings.steering_around(today).next),
        previous_pack: None,
        tables: vec![
            resource_heat_map(&p, today),
            quarterly::capacity_demand(&p, today, settings),
        ],
    })
}

/// The roadmap: the open portfolio on a timeline, each initiative from its planned start to
/// its planned end, with its gate decisions and its next gate due as milestones.
fn roadmap(p: &Portfolio, today: i64) -> Table {
    let mut open: Vec<&tollgate_dmo::model::Initiative> = p
        .initiatives
        .values()
        .map(|(i, _)| &**i)
        .filter(|i| tollgate_dmo::prioritisation::is_open(p, i))
        .collect();
    let start_of =
        |i: &tollgate_dmo::model::Initiative| i.planned_start.as_deref().and_then(day_number);
    open.sort_by(|a, b| {
        start_of(a)
            .unwrap_or(i64::MAX)
            .cmp(&start_of(b).unwrap_or(i64::MAX))
            .then_with(|| natural(&a.key).cmp(&natural(&b.key)))
    });
    let (mut rows, mut bars, mut milestones) = (Rows::new(), Vec::new(), Vec::new());
    for i in open {
        let label = format!("{} {}", i.key, i.title);
        let (start, end) = (start_of(i), i.planned_end.as_deref().and_then(day_number));
        if let (Some(s), Some(e)) = (start, end) {
            bars.push((
                label.clone(),
                s,
                e.max(s),
                i.current_gate.clone().unwrap_or_else(|| "no gate".into()),
            ));
        }
        let decided: Vec<String> = p
            .decisions(&i.key)
            .filter_map(|g| {
                let day = g.date.as_deref().and_then(day_number)?;
                milestones.push((label.clone(), day, "gate decision".into()));
                Some(format!("{} {} {}", g.gate, g.decision, date_of(day)))
            })
            .collect();
        let due = i.next_gate_due.as_deref().and_then(day_number);
        if let Some(d) = due {
            milestones.push((label.clone(), d, "next gate due".into()));
        }
        rows.push(vec![
            i.key.clone(),
            i.title.clone(),
            i.value_stream.clone().unwrap_or_default(),
            i.current_gate.clone().unwrap_or_default(),
            start.map(date_of).unwrap_or_else(|| "–".into()),
            end.map(date_of).unwrap_or_else(|| "–".into()),
            if decided.is_empty() {
                "none".into()
            } else {
                decided.join("; ")
            },
            due.map(date_of).unwrap_or_else(|| "–".into()),
        ]);
    }
    Table {
        name: "roadmap",
        title: "Roadmap",
        note: format!(
            "The open portfolio (not done, not stopped) by planned start: each initiative from its planned start to its planned end, coloured by its current gate, with its gate decisions and its next gate due as diamonds; the dashed line is {}. Initiatives without both planned dates have no bar.",
            date_of(today)
        ),
        columns: vec![
            "initiative",
            "title",
            "value stream",
            "gate",
            "planned start",
            "planned end",
            "gate decisions",
            "next gate due",
        ],
        rows,
        chart: Some(Chart::Timeline {
            title: "Roadmap: planned delivery and gates".into(),
            bars,
            milestones,
            today,
        }),
    }
}

/// The seed of the forecasts in reports and pages: GATE-009's `seed` in the rule pack `config`
/// names (the built-in one by default), so the pack, the dashboard, the rule's findings and
/// the comments draw the same runs. A pack that does not load (reported by `check`) leaves
/// the built-in seed.
pub fn forecast_seed(config: Option<&crate::config::Config>) -> u64 {
    let configured = config.and_then(|c| crate::check::rule_pack(c).ok());
    let pack = configured.or_else(|| {
        tollgate_dmo::rules::RulePack::from_toml(tollgate_dmo::rules::DEFAULT_PACK).ok()
    });
    pack.map_or(2026, |pack| tollgate_dmo::forecast::seed_of(&pack))
}

/// Delivery forecasts of the initiatives in delivery (tollgate_dmo::forecast).
fn delivery_forecasts(p: &Portfolio, today: i64, seed: &u64) -> Table {
    let mut forecasts = tollgate_dmo::forecast::forecasts(p, today, *seed);
    forecasts.sort_by(|a, b| {
        a.probability_by_planned_end
            .unwrap_or(2.0)
            .total_cmp(&b.probability_by_planned_end.unwrap_or(2.0))
            .then_with(|| natural(&a.key).cmp(&natural(&b.key)))
    });
    Table {
        name: "delivery-forecasts",
        title: "Delivery forecasts",
        note: format!(
            "For each initiative in delivery (open, past its G2 go or in progress, with work items not done): {} runs of a Monte Carlo simulation draw, week after week, one of its last {} weeks' counts of resolved work items (its value stream's, shared, when it resolved fewer than {} itself) until its remaining work items are done. 50 % and 85 %: the dates half and 85 % of the runs finish by; the chance: the share of runs done by the planned end. Least likely first. GATE-009 warns below its threshold.",
            tollgate_dmo::forecast::TRIALS,
            tollgate_dmo::forecast::WINDOW_WEEKS,
            tollgate_dmo::forecast::MIN_HISTORY
        ),
        columns: vec![
            "initiative",
            "title",
            "work items left",
            "50 %",
            "85 %",
            "planned end",
            "chance by planned end",
            "throughput",
        ],
        rows: forecasts
            .iter()
            .map(|f| {
                vec![
                    f.key.clone(),
                    p.initiatives[&f.key].0.title.clone(),
                    f.remaining.to_string(),
                    f.p50.clone().unwrap_or_else(|| "–".into()),
                    f.p85.clone().unwrap_or_else(|| "–".into()),
                    f.planned_end.clone().unwrap_or_else(|| "–".into()),
                    f.probability_by_planned_end
                        .filter(|_| f.p50.is_some())
                        .map(pct)
                        .unwrap_or_else(|| "–".into()),
                    match &f.no_forecast {
                        Some(reason) => format!("no forecast: {reason}"),
                        None => f.basis.clone(),
                    },
                ]
            })
            .collect(),
        chart: None,
    }
}

/// Columns of the business case table.
pub const BUSINESS_CASE_COLUMNS: &[&str] = &[
    "initiative",
    "NPV",
    "discount rate",
    "IRR",
    "MIRR",
    "payback",
    "discounted payback",
    "ROI",
    "cash flows per period",
    "currency",
];

/// One initiative's business case numbers (a row of [`BUSINESS_CASE_COLUMNS`]) and the
/// case's rate convention, or why its numbers cannot be computed; `None` without a business
/// case. Rates are yearly; what cannot be computed is "–" and the note says why.
pub fn business_case_row(
    p: &tollgate_dmo::rules::Portfolio,
    key: &str,
) -> Option<(Vec<String>, Option<String>)> {
    p.business_cases.get(key)?;
    let currency = p.currency(key);
    let flows = match tollgate_dmo::cases::case_flows(p, key) {
        Some(Ok(c)) => c,
        failed => {
            let mut row = vec![key.to_string()];
            row.extend(["–"; 7].map(String::from));
            row.push(match failed {
                Some(Err(reason)) => format!("cannot be computed: {reason}"),
                _ => "no discount rate or no cash flows".into(),
            });
            row.push(currency.unwrap_or("–").into());
            return Some((row, None));
        }
    };
    let m = tollgate_dmo::cases::measures(&flows);
    let months = |v: Option<f64>| {
        v.map(|m| format!("{m:.1} months"))
            .unwrap_or_else(|| "never".into())
    };
    let irr = match (m.irr_annual, m.irr_roots_annual.len()) {
        (_, n) if n > 1 => format!(
            "{} (several)",
            m.irr_roots_annual
                .iter()
                .map(|r| pct(*r))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Some(r), _) if m.irr.multiple_sign_changes => {
            format!("{} (may not be the only one)", pct(r))
        }
        (Some(r), _) => pct(r),
        (None, _) => "none".into(),
    };
    let row = vec![
        key.to_string(),
        m.npv
            .map(|v| money_in(v, currency))
            .unwrap_or_else(|| "–".into()),
        pct(flows.annual_rate),
        irr,
        m.mirr_annual.map(pct).unwrap_or_else(|| "–".into()),
        months(m.payback_months),
        months(m.discounted_payback_months),
        m.roi.map(pct).unwrap_or_else(|| "–".into()),
        flows
            .flows
            .iter()
            .map(|f| money(*f))
            .collect::<Vec<_>>()
            .join(" / "),
        currency.unwrap_or("–").into(),
    ];
    let convention = match flows.period {
        tollgate_dmo::cases::Period::Year if flows.notes.is_empty() => None,
        _ => Some(format!("{key}: {}", flows.convention())),
    };
    Some((row, convention))
}

/// The definitions under the business case table, with the conventions of the cases that
/// are not plain yearly ones.
pub fn business_case_note(conventions: &std::collections::BTreeSet<String>) -> String {
    format!(
        "Cash flows per period at each case's own period length (year, quarter or month) from its finance entries (budget as cost, planned benefit as benefit; periods without entries count as 0), or from its own table; the first period is t = 0 and is not discounted. Rates are a year's: a quarter's or a month's discount rate is the effective one, (1 + annual)^(1/n) − 1, and an IRR or MIRR per period is shown compounded to a year. NPV: the sum of each flow discounted at the case's rate. IRR: the rate at which the NPV is zero (none when the flows never change sign or no rate from −99 % to 10 000 % a period makes it zero; where the flows change sign more than once, every such rate, or a warning that there may be others). MIRR: costs financed and benefits reinvested at the discount rate. Payback: when the cumulated flows turn positive, in months, interpolated within a period; discounted payback the same with discounted flows. ROI: (benefits − costs) / costs, undiscounted, after netting each period. docs/finance.md has the definitions with worked examples.{}",
        if conventions.is_empty() {
            String::new()
        } else {
            format!(
                " Cases not in plain yearly periods: {}.",
                conventions.iter().cloned().collect::<Vec<_>>().join("; ")
            )
        }
    )
}

/// The months (first and last day) of the heat map: from the month of the earliest
/// allocation (at most 11 months back) through the coming quarter (the 3 months after the
/// month of `today`), so the steering group sees the last quarter and the coming one, and
/// the months the plans began.
fn heat_map_months(allocations: &[tollgate_dmo::model::Allocation], today: i64) -> Vec<(i64, i64)> {
    let month_of = |day: i64| -> (i64, i64) {
        let d = date_of(day);
        (d[..4].parse().unwrap_or(1970), d[5..7].parse().unwrap_or(1))
    };
    let index = |(y, m): (i64, i64)| y * 12 + (m - 1);
    let this = index(month_of(today));
    let first = allocations
        .iter()
        .filter_map(|a| a.from.as_deref().and_then(day_number))
        .min()
        .map_or(this - 3, |d| index(month_of(d)))
        .clamp(this - 11, this - 3);
    (first..=this + 3)
        .map(|i| {
            let (y, m) = (i.div_euclid(12), i.rem_euclid(12) + 1);
            let (ny, nm) = ((i + 1).div_euclid(12), (i + 1).rem_euclid(12) + 1);
            (
                day_number(&format!("{y:04}-{m:02}-01")).unwrap_or(0),
                day_number(&format!("{ny:04}-{nm:02}-01")).unwrap_or(0) - 1,
            )
        })
        .collect()
}
