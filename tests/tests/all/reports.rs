//! The steering pack of the demo dataset: the numbers of the ground truth, every initiative
//! at risk, and the same tables in every format.

use tollgate_host::check::run_checks;
use tollgate_host::cli::{Session, sync_all};
use tollgate_host::report::{Table, html, markdown, steering};

const GROUND_TRUTH: &str = include_str!("../../../config/demo/expected-findings.txt");

/// The demo's sources synced and checked as of 2026-11-27 (the sandbox must outlive the use).
async fn demo_checked(dir: &std::path::Path) -> (Session, tollgate_sandbox::Sandbox) {
    let sandbox = tollgate_sandbox::Sandbox::start("127.0.0.1:0")
        .await
        .unwrap();
    tollgate_tests::demo_config(dir, &sandbox, tollgate_tests::JiraFace::Cloud, "");
    let session = Session::open(&dir.join("tollgate.toml")).await.unwrap();
    sync_all(&session, None, false, false).await.unwrap();
    let mut store = session.store().unwrap();
    run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    (session, sandbox)
}

fn table<'a>(pack: &'a tollgate_host::report::SteeringPack, name: &str) -> &'a Table {
    pack.tables.iter().find(|t| t.name == name).unwrap()
}

fn row<'a>(t: &'a Table, first: &str) -> &'a Vec<String> {
    t.rows
        .iter()
        .find(|r| r[0] == first)
        .unwrap_or_else(|| panic!("{first} in {}", t.name))
}

#[tokio::test]
async fn the_steering_pack_of_the_demo_shows_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (session, _sandbox) = demo_checked(dir.path()).await;
    let mut store = session.store().unwrap();
    let pack = steering(store.as_ref(), "2026-11-27").unwrap();
    assert_eq!(pack.next_steering, "2026-12-11");

    // Every initiative with a blocker or error in the ground truth is at risk, and no other.
    let mut expected: Vec<&str> = GROUND_TRUTH
        .lines()
        .map(|l| {
            l.split('#')
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
        })
        .filter(|w| w.len() >= 4 && w[2] == "initiative" && matches!(w[1], "blocker" | "error"))
        .map(|w| w[3])
        .collect();
    expected.sort_unstable();
    expected.dedup();
    let at_risk = table(&pack, "initiatives-at-risk");
    let mut listed: Vec<&str> = at_risk.rows.iter().map(|r| r[0].as_str()).collect();
    listed.sort_unstable();
    assert_eq!(listed, expected);
    assert_eq!(at_risk.rows[0][2], "blocker", "worst first");
    assert!(row(at_risk, "BIZ-22")[3].contains("56 hours"));

    // Gate decisions due before the next steering: one overdue, one in 12 days.
    let due = table(&pack, "gate-decisions-due");
    let keys: Vec<&str> = due.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(keys, ["BIZ-18", "BIZ-22"]);
    assert_eq!(due.rows[0][4], "overdue by 43 days");
    assert!(
        due.rows[1][5].ends_with("/browse/BIZ-22"),
        "links back to the epic"
    );

    // Business cases, computed by hand: BIZ-9's flows -180 000, +126 000, +126 000 at 8 %
    // give NPV 44 691, IRR 25.7 %, payback 1 3/7 years; BIZ-1's -300 000, 80 000, 160 000,
    // 160 000 give NPV 38 261.
    let cases = table(&pack, "business-cases");
    let biz9 = row(cases, "BIZ-9");
    assert_eq!(
        (&biz9[1][..], &biz9[3][..], &biz9[4][..]),
        ("44 691", "25.7 %", "17.1 months")
    );
    assert_eq!(row(cases, "BIZ-1")[1], "38 261");
    assert_eq!(
        row(cases, "BIZ-2")[3],
        "none",
        "no IRR when the flows never change sign"
    );
    assert!(cases.note.contains("t = 0") && cases.note.contains("effective"));

    // Resources: Aino's 110 % in the first half of 2026.
    let heat = table(&pack, "resource-heat-map");
    assert_eq!(heat.columns[1], "2026-01");
    assert_eq!(row(heat, "p-aino")[1], "110");

    // Findings by severity: the ground truth's 4 blockers, 10 errors, 20 warnings, 10 infos.
    let by_rule = table(&pack, "findings-by-rule");
    assert_eq!(row(by_rule, "all")[2..], ["4", "10", "20", "10"]);
    assert_eq!(row(by_rule, "GATE-001")[2], "4");

    // The first pack: everything is new. A second one: everything persists.
    assert_eq!(table(&pack, "changes").rows[0], ["44", "0", "0"]);
    tollgate_host::report::remember(store.as_mut(), "steering", "2026-11-27").unwrap();
    let again = steering(store.as_ref(), "2026-11-27").unwrap();
    assert_eq!(table(&again, "changes").rows[0], ["0", "0", "44"]);
    assert!(again.previous_pack.is_some());

    // The same tables as Markdown and as one self-contained HTML file.
    let md = markdown(&pack);
    assert!(md.contains("## Initiatives at risk") && md.contains("| BIZ-9 | 44 691 |"));
    let page = html(&pack);
    for t in &pack.tables {
        assert!(page.contains(&format!("<section id=\"{}\">", t.name)));
    }
    assert!(!page.contains("<script") && !page.contains("<link") && !page.contains("src="));
    assert!(
        page.contains("<td class=\"num hot\">110</td>"),
        "over-allocation stands out"
    );
}

#[tokio::test]
async fn reports_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_session, _sandbox) = demo_checked(dir.path()).await;
    let cwd = dir.path().to_path_buf();
    let run = move |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"))
            .args(args)
            .current_dir(&cwd)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&[
        "report",
        "--as-of",
        "2026-11-27",
        "--format",
        "csv",
        "--out",
        "pack",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("pack/business-cases.csv")).unwrap();
    assert!(
        csv.starts_with("initiative,NPV,discount rate,IRR,payback,ROI,cash flows per period\n")
    );
    assert!(csv.contains("BIZ-9,44 691,8.0 %,25.7 %,17.1 months"));
    let out = run(&["report", "--as-of", "2026-11-27", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["tables"].as_array().unwrap().len(), 7);
    let out = run(&["report", "--format", "html", "--out", "pack.html"]);
    assert!(out.status.success());
    assert!(
        std::fs::read_to_string(dir.path().join("pack.html"))
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
    let out = run(&["report", "--kind", "quarterly"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not built yet"));
    let out = run(&["report", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(2));
}
