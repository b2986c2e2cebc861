//! docs/finance.md's worked examples, recomputed: each row's numbers from its flows, period
//! and yearly rate, formatted as the page writes them.

use tollgate_dmo::cases::{CaseFlows, Period, measures};

fn pct(v: f64) -> String {
    format!("{:.1} %", 100.0 * v + 0.0)
}

fn months(v: Option<f64>) -> String {
    v.map_or("never".into(), |m| format!("{m:.1} months"))
}

#[test]
fn the_worked_examples_of_docs_finance_md_hold() {
    let page = include_str!("../../../docs/finance.md");
    let start = page
        .find("<!-- examples:start -->")
        .expect("examples start");
    let end = page.find("<!-- examples:end -->").expect("examples end");
    let rows: Vec<Vec<String>> = page[start..end]
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| example"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('−', "-"))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 5, "{rows:?}");
    for row in rows {
        let period = match row[1].as_str() {
            "year" => Period::Year,
            "quarter" => Period::Quarter,
            "month" => Period::Month,
            other => panic!("period {other}"),
        };
        let annual: f64 = row[2].trim_end_matches(" %").parse::<f64>().unwrap() / 100.0;
        let flows: Vec<f64> = row[3]
            .split(", ")
            .flat_map(|f| match f.split_once(" ×") {
                Some((v, n)) => vec![v.parse::<f64>().unwrap(); n.parse().unwrap()],
                None => vec![f.parse::<f64>().unwrap()],
            })
            .collect();
        let case = CaseFlows {
            period,
            labels: (0..flows.len()).map(|i| i.to_string()).collect(),
            flows,
            annual_rate: annual,
            rate: period.rate(annual),
            annual_hurdle: None,
            notes: Vec::new(),
        };
        let m = measures(&case);
        let irr = if m.irr_roots_annual.len() > 1 {
            m.irr_roots_annual
                .iter()
                .map(|r| pct(*r))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            m.irr_annual.map_or("none".into(), pct)
        };
        let computed = [
            format!("{:.2}", m.npv.unwrap()),
            irr,
            m.mirr_annual.map_or("–".into(), pct),
            months(m.payback_months),
            months(m.discounted_payback_months),
            m.roi.map_or("–".into(), pct),
        ];
        assert_eq!(computed[..], row[4..10], "{}", row[0]);
    }
}
