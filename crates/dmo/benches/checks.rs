//! Benchmark (not a test): the default rule pack over a synthetic portfolio of 10,000
//! initiatives and 1,000,000 time entries. Run: `cargo bench -p tollgate-dmo --bench checks`.
//! Reports the median of 5 runs of index + evaluate; results go to BENCHMARKS.md by hand.

use std::time::{Duration, Instant};
use tollgate_dmo::model::*;
use tollgate_dmo::rules::{Context, DEFAULT_PACK, Portfolio, RulePack, evaluate};

fn record(id: String, entity: Entity) -> Record {
    Record {
        provenance: Provenance {
            connection: "synthetic".into(),
            external_id: id,
            url: None,
            source_updated: None,
            fetched_at: "2026-11-27T00:00:00.000Z".into(),
        },
        entity,
        extra: serde_json::json!({}),
    }
}

fn date(n: usize) -> String {
    format!("2026-{:02}-{:02}", 1 + n % 12, 1 + n % 28)
}

fn synthetic(initiatives: usize, entries: usize) -> Vec<Record> {
    let people = 3_000;
    let mut out = Vec::with_capacity(initiatives * 4 + entries + people * 3);
    let demand = [
        "capability-planning",
        "ideas-and-concepts",
        "increments-and-improvements",
    ];
    let development = ["sequential", "incremental", "continual"];
    for i in 0..initiatives {
        let key = format!("BIZ-{i}");
        out.push(record(
            key.clone(),
            Entity::Initiative(Box::new(Initiative {
                key: key.clone(),
                title: format!("Initiative {i}"),
                status: "In Progress".into(),
                status_category: Some("in-progress".into()),
                demand_type: (i % 7 != 0).then(|| demand[i % 3].to_string()),
                development_type: Some(development[i % 3].to_string()),
                value_stream: Some(format!("vs-{}", i % 3)),
                portfolio: None,
                business_owner: Some(format!("p{}", i % people)),
                strategic_theme: (i % 5 != 0).then(|| "growth".to_string()),
                current_gate: Some(format!("G{}", i % 4)),
                cost_of_delay: (i % 3 == 0).then_some(10_000.0),
                user_business_value: None,
                time_criticality: None,
                risk_reduction: None,
                job_size: None,
                planned_start: None,
                planned_end: Some("2027-03-31".into()),
                next_gate_due: Some(date(i)),
                created: None,
                labels: vec![],
                risks: vec![],
                kpis: vec![],
            })),
        ));
        out.push(record(
            format!("gd-{i}"),
            Entity::GateDecision(GateDecision {
                initiative_key: key.clone(),
                gate: format!("G{}", 1 + i % 3),
                decision: ["go", "conditional-go", "hold", "stop"][i % 4].into(),
                decider: (i % 11 != 0).then(|| "steering".into()),
                date: Some(date(i + 3)),
                conditions: None,
            }),
        ));
        // Ten work items each: four resolved in the last quarter, six to go (forecasts).
        for j in 0..10 {
            let done = j < 4;
            out.push(record(
                format!("{key}-w{j}"),
                Entity::WorkItem(WorkItem {
                    key: format!("{key}-w{j}"),
                    kind: "story".into(),
                    title: format!("Story {j}"),
                    status: if done { "Done" } else { "To Do" }.into(),
                    status_category: Some(if done { "done" } else { "todo" }.into()),
                    initiative_key: Some(key.clone()),
                    parent_key: Some(key.clone()),
                    assignee: None,
                    sprint_ids: vec![],
                    estimate: Some(3.0),
                    created: Some("2026-06-01".into()),
                    started: None,
                    resolved: done.then(|| {
                        format!("2026-{:02}-{:02}", 9 + (i + j) % 3, 1 + (i * 7 + j) % 27)
                    }),
                }),
            ));
        }
        for (k, kind) in ["budget", "actual"].iter().enumerate() {
            out.push(record(
                format!("fin-{i}-{k}"),
                Entity::FinanceEntry(FinanceEntry {
                    initiative_key: key.clone(),
                    period: "2026-Q1".into(),
                    kind: kind.to_string(),
                    expense_type: Some("capex".into()),
                    amount: 100_000.0 + (i % 13) as f64 * 5_000.0 * k as f64,
                    currency: "EUR".into(),
                }),
            ));
        }
    }
    for p in 0..people {
        let id = format!("p{p}");
        out.push(record(
            id.clone(),
            Entity::Person(Person {
                id: id.clone(),
                name: id.clone(),
                email: None,
                team: Some(format!("team-{}", p % 500)),
                role: None,
                resource_owner: None,
                fte: Some(1.0),
                hours_per_day: Some(7.5),
                start_date: None,
                end_date: None,
            }),
        ));
        out.push(record(
            id.clone(),
            Entity::CostRate(CostRate {
                person: Some(id.clone()),
                role: None,
                hourly_rate: 80.0,
                currency: "EUR".into(),
                valid_from: None,
                valid_to: None,
            }),
        ));
        out.push(record(
            format!("a-{p}"),
            Entity::Allocation(Allocation {
                person: id,
                initiative_key: Some(format!("BIZ-{}", p % initiatives)),
                team: None,
                percent: [50.0, 80.0, 20.0][p % 3],
                from: Some("2026-01-01".into()),
                to: Some("2026-12-31".into()),
            }),
        ));
    }
    for t in 0..500 {
        out.push(record(
            format!("team-{t}"),
            Entity::Team(Team {
                id: format!("team-{t}"),
                name: format!("Team {t}"),
                value_stream: None,
                manager: None,
            }),
        ));
    }
    for n in 0..entries {
        out.push(record(
            format!("w{n}"),
            Entity::TimeEntry(TimeEntry {
                person: format!("p{}", n % people),
                work_item_key: None,
                initiative_key: Some(format!("BIZ-{}", n % initiatives)),
                date: date(n),
                started: None,
                seconds: 3_600 * (1 + (n % 8) as u64),
                description: None,
            }),
        ));
    }
    out
}

fn main() {
    let pack = RulePack::from_toml(DEFAULT_PACK).expect("default pack");
    let records = synthetic(10_000, 1_000_000);
    let ctx = Context {
        today: "2026-11-27".into(),
    };
    let mut times: Vec<Duration> = Vec::new();
    let mut index_times: Vec<Duration> = Vec::new();
    let mut findings = 0;
    for _ in 0..5 {
        let input = records.clone();
        let started = Instant::now();
        let portfolio = Portfolio::new(input, vec![]);
        index_times.push(started.elapsed());
        findings = evaluate(&pack, &portfolio, &ctx).len();
        times.push(started.elapsed());
    }
    times.sort();
    index_times.sort();
    // The slowest rules, one at a time (TOLLGATE_BENCH_RULES=1).
    if std::env::var_os("TOLLGATE_BENCH_RULES").is_some() {
        let portfolio = Portfolio::new(records.clone(), vec![]);
        let mut per_rule: Vec<(f64, String)> = Vec::new();
        for rule in &pack.rules {
            let mut one = pack.clone();
            one.rules.retain(|r| r.id == rule.id);
            let started = Instant::now();
            let n = evaluate(&one, &portfolio, &ctx).len();
            per_rule.push((
                started.elapsed().as_secs_f64(),
                format!("{} ({n} findings)", rule.id),
            ));
        }
        per_rule.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (t, id) in per_rule.iter().take(8) {
            println!("  {id}: {t:.2} s");
        }
    }
    // Forecasts and capitalisation alone, on the same portfolio (they run inside the checks
    // and reports too).
    let portfolio = Portfolio::new(records.clone(), vec![]);
    let today = tollgate_dmo::calendar::day_number("2026-11-27").unwrap();
    let mut forecast_times = Vec::new();
    let mut capitalisation_times = Vec::new();
    let (mut forecasts, mut lines) = (0, 0);
    for _ in 0..5 {
        let started = Instant::now();
        forecasts = tollgate_dmo::forecast::forecasts(&portfolio, today, 2026).len();
        forecast_times.push(started.elapsed());
        let started = Instant::now();
        lines = tollgate_dmo::capitalisation::split(
            &portfolio,
            &tollgate_dmo::capitalisation::Policy::default(),
        )
        .len();
        capitalisation_times.push(started.elapsed());
    }
    forecast_times.sort();
    capitalisation_times.sort();
    println!(
        "forecasts: {forecasts} initiatives in delivery, median {:.2} s; capitalisation: {lines} lines from 1,000,000 time entries, median {:.2} s",
        forecast_times[2].as_secs_f64(),
        capitalisation_times[2].as_secs_f64()
    );
    println!(
        "checks over 10,000 initiatives and 1,000,000 time entries ({} records): median {:.2} s, min {:.2} s, max {:.2} s, of which building the portfolio's index median {:.2} s; {findings} findings",
        records.len(),
        times[2].as_secs_f64(),
        times[0].as_secs_f64(),
        times[4].as_secs_f64(),
        index_times[2].as_secs_f64()
    );
}
