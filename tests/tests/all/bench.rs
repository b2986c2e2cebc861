//! `tollgate bench`: every step measured against the download floor, from the command line.

use crate::cli::{ok, tollgate};

/// The row of `step` at `size` in the printed table, as its cells.
fn row<'a>(table: &'a str, size: &str, step: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.starts_with(&format!("| {size} | {step} |")))
        .unwrap_or_else(|| panic!("no row for {step} at {size}:\n{table}"))
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

fn number(cell: &str) -> f64 {
    cell.trim_end_matches(" s")
        .trim_end_matches(" MiB")
        .trim_end_matches(" %")
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {cell}"))
}

/// `tollgate bench` at 2 and 20 epics and 0 ms, working in `dir/work`, with `extra` arguments:
/// the table it printed (the run must succeed).
fn small_bench(dir: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec![
        "bench",
        "--sizes",
        "2,20",
        "--latency",
        "0",
        "--dir",
        "work",
    ];
    args.extend_from_slice(extra);
    let out = tollgate(dir, &args, &[]);
    ok(&out, &args.join(" "))
}

#[test]
fn bench_measures_each_step_at_two_sizes_against_the_floor() {
    let dir = tempfile::tempdir().unwrap();
    let table = small_bench(dir.path(), &["--out", "bench.md"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("bench.md")).unwrap(),
        table,
        "--out holds what was printed"
    );
    // size | step | wall | CPU | peak RSS | requests | records | records/s | against | sandbox
    // CPU / wall | request slots busy
    let small = "22 issues, 200 worklogs";
    let overhead = number(row(&table, small, "full sync")[5])
        - number(row(&table, small, "floor (download only)")[5]);
    for (size, issues, worklogs) in [
        (small, 22.0, 200.0),
        ("220 issues, 2,000 worklogs", 220.0, 2000.0),
    ] {
        let floor = row(&table, size, "floor (download only)");
        assert_eq!(number(floor[6]), issues + worklogs, "{floor:?}");
        let full = row(&table, size, "full sync");
        // Each issue and worklog fetched once: ten times the data costs the sync what it
        // costs the floor, beyond the fixed calls (the user, fields, boards, sprints) and a
        // page more for the epics, which are searched apart from their stories.
        assert!(
            number(full[5]) <= number(floor[5]) + overhead + 2.0,
            "{full:?} against {floor:?}, {overhead} fixed"
        );
        // Epics, their risks, stories, sprints and worklogs.
        assert!(number(full[6]) >= issues + worklogs, "{full:?}");
        assert!(
            full[8].ends_with(" × floor"),
            "a ratio to the floor: {full:?}"
        );
        assert!(
            number(full[8].trim_end_matches(" × floor")) > 0.0,
            "{full:?}"
        );
        assert!(number(full[4]) > 0.0, "peak memory measured: {full:?}");
        let incremental = row(&table, size, "incremental sync, 1 % changed");
        assert!(incremental[8].contains("% of full"), "{incremental:?}");
        if size != small {
            assert!(
                number(incremental[5]) < number(full[5]),
                "{incremental:?} against {full:?}"
            );
        }
        for step in ["check", "report (steering, HTML)", "publish --dry-run"] {
            let r = row(&table, size, step);
            assert!(number(r[3]) > 0.0, "CPU measured: {r:?}");
        }
        // How full the request slots were kept: a share for steps that asked the tracker
        // (at most all of them, with the sandbox's and the clock's rounding), none for those
        // that did not.
        for r in [&floor, &full, &incremental] {
            let busy = number(r[10].trim_end_matches(" %"));
            assert!(busy > 0.0 && busy <= 101.0, "slots busy: {r:?}");
        }
        assert_eq!(row(&table, size, "check")[10], "—");
    }
    // Each step's peak memory is its own, as the step read it itself as it ended, not what
    // the kernel gives the bench for its child: that counts the bench's own peak as the
    // child's start, and a step smaller than the bench read as large as the bench.
    for (size, work) in [
        (small, "work/n2-l0"),
        ("220 issues, 2,000 worklogs", "work/n20-l0"),
    ] {
        for (step, file) in [
            ("full sync", "full-sync"),
            (
                "incremental sync, 1 % changed",
                "incremental-sync--1---changed",
            ),
            ("check", "check"),
            ("report (steering, HTML)", "report--steering--HTML-"),
            ("publish --dry-run", "publish---dry-run"),
        ] {
            let own: u64 =
                std::fs::read_to_string(dir.path().join(work).join(format!("{file}.peak")))
                    .unwrap_or_else(|e| panic!("{step} at {size} wrote its peak memory: {e}"))
                    .trim()
                    .parse()
                    .unwrap();
            assert_eq!(
                row(&table, size, step)[4],
                format!("{} MiB", own / 1024),
                "{step} at {size}"
            );
        }
    }
    // Each step left its output behind for a look.
    assert!(dir.path().join("work/n20-l0/steering.html").exists());
}

#[test]
fn bench_refuses_sizes_it_cannot_build_before_starting_anything() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            ["--sizes", "0"],
            "--sizes: give epic counts from 1 to 20000",
        ),
        (
            ["--sizes", "1000000000"],
            "--sizes: give epic counts from 1 to 20000",
        ),
        (
            ["--latency", "999999"],
            "--latency: give milliseconds from 0 to 60000",
        ),
    ] {
        let out = tollgate(
            dir.path(),
            &["bench", args[0], args[1], "--dir", "work"],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !dir.path().join("work").exists(),
            "nothing started for {args:?}"
        );
    }
}

#[test]
fn bench_runs_the_steps_on_a_postgres_store_given_by_its_url() {
    let Some(url) = tollgate_store::testing::postgres_database("bench") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let with_password = url.replacen("://tollgate@", "://tollgate:hunter2@", 1);
    let out = tollgate(
        dir.path(),
        &[
            "bench",
            "--sizes",
            "2",
            "--latency",
            "0",
            "--dir",
            "work",
            "--store",
            "env:BENCH_PG",
        ],
        &[("BENCH_PG", with_password.as_str())],
    );
    let table = ok(&out, "tollgate bench --store");
    assert!(
        table.contains(&format!("Store: {url}")),
        "the store named, without its password: {table}"
    );
    let full = row(&table, "22 issues, 200 worklogs", "full sync");
    assert!(
        number(full[6]) >= 222.0,
        "every issue and worklog: {full:?}"
    );
    // The records are in Postgres, not in a SQLite file beside the config.
    let store = tollgate_store::open(&url, dir.path()).unwrap();
    assert_eq!(store.live_records("jira").unwrap() as f64, number(full[6]));
    assert!(!dir.path().join("work/n2-l0/tollgate.db").exists());
    let config = std::fs::read_to_string(dir.path().join("work/n2-l0/tollgate.toml")).unwrap();
    assert!(!config.contains("hunter2"));
}

#[test]
fn bench_measures_azure_devops_against_its_own_floor() {
    let dir = tempfile::tempdir().unwrap();
    let table = small_bench(dir.path(), &["--tracker", "azure-devops"]);
    assert!(
        table.contains("Tracker: the sandbox's Azure DevOps"),
        "{table}"
    );
    for (epics, size) in [
        (2, "22 work items, 4 time entries"),
        (20, "220 work items, 40 time entries"),
    ] {
        // The floor reads every work item once and every update of the items with
        // Completed Work (where their time entries come from), as the organisation holds them.
        let organisation = tollgate_sandbox::AdoDataset::synthetic(epics);
        let updates: usize = organisation
            .items
            .iter()
            .filter(|w| {
                w.fields
                    .contains_key("Microsoft.VSTS.Scheduling.CompletedWork")
            })
            .map(|w| w.updates.len())
            .sum();
        let floor = row(&table, size, "floor (download only)");
        assert_eq!(
            number(floor[6]) as usize,
            organisation.items.len() + updates,
            "{floor:?}"
        );
        assert_eq!(organisation.items.len(), epics * 11);
        // The full sync stored every work item and time entry (and the sprints).
        let full = row(&table, size, "full sync");
        assert!(
            number(full[6]) as usize >= epics * 11 + epics * 2,
            "{full:?}"
        );
        assert!(full[8].ends_with(" × floor"), "{full:?}");
        let work = dir.path().join(format!("work/n{epics}-l0"));
        let synced = std::fs::read_to_string(work.join("full-sync.out")).unwrap();
        let entries = synced
            .lines()
            .find(|l| l.contains("time-entries"))
            .unwrap_or_else(|| panic!("{synced}"));
        assert!(
            entries.split_whitespace().nth(4) == Some(&(epics * 2).to_string()),
            "{entries}"
        );
        let incremental = row(&table, size, "incremental sync, 1 % changed");
        assert!(incremental[8].contains("% of full"), "{incremental:?}");
        for step in ["check", "report (steering, HTML)", "publish --dry-run"] {
            let r = row(&table, size, step);
            assert!(r[1].ends_with(step) && !r[1].contains("failed"), "{r:?}");
        }
        let config = std::fs::read_to_string(work.join("tollgate.toml")).unwrap();
        assert!(config.contains("plugin = \"azure-devops\""), "{config}");
    }
}
