//! Several `tollgate run` instances on one PostgreSQL store (the server
//! `TOLLGATE_TEST_POSTGRES` names; scripts/test starts a throwaway one): each scheduled run
//! is claimed by one instance, and the work of an instance killed mid-sync is taken over and
//! finished from its last committed page.

use crate::daemon::{free_port, wait_exit, wait_until};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tollgate_store::testing::postgres_database;
use tollgate_store::{RunStatus, Store};
use tollgate_tests::{demo_hr_config, synthetic_jira, use_store};

/// `tollgate run` in `dir` as instance `name`, its log in `dir/NAME.log`; with its HTTP port.
fn instance(dir: &Path, name: &str) -> (tollgate_tests::Running, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"))
        .arg("run")
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env("TOLLGATE_LOG_FORMAT", "text")
        .env("NO_COLOR", "1")
        .env("TOLLGATE_DAEMON__INSTANCE", name)
        .env("TOLLGATE_DAEMON__LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("TOLLGATE_STORE__URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
        .spawn()
        .unwrap();
    (tollgate_tests::Running(child), port)
}

fn open(url: &str) -> Box<dyn Store> {
    tollgate_store::open(url, Path::new("/")).unwrap()
}

/// The dues of the job runs each instance started, from its log (`job due ... due=T`).
fn started(dir: &Path, names: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in names {
        let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap();
        for line in log.lines().filter(|l| l.contains("job due")) {
            let due = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("due="))
                .unwrap_or_else(|| panic!("no due in {line}"));
            let due = chrono::DateTime::parse_from_rfc3339(due)
                .unwrap()
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            out.entry(due).or_default().push(name.to_string());
        }
    }
    out
}

fn terminate(child: &Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_run_each_tick_of_a_job_once() {
    let Some(url) = postgres_database("three") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_hr_config(d);
    let mut config = std::fs::read_to_string(d.join("tollgate.toml")).unwrap();
    config.push_str(
        "\n[daemon]\ncatch_up_hours = 0\nlease_secs = 5\nshutdown_grace_secs = 10\n\
         [daemon.jobs.tick]\nschedule = \"*/2 * * * * *\"\nsteps = [\"sync\"]\n",
    );
    std::fs::write(d.join("tollgate.toml"), config).unwrap();
    use_store(d, &url);
    let names = ["a", "b", "c"];
    let mut children: Vec<tollgate_tests::Running> =
        names.iter().map(|n| instance(d, n).0).collect();

    // Twenty ticks done, each by one instance.
    let store = open(&url);
    let done = |store: &dyn Store| -> BTreeMap<String, String> {
        store
            .claims()
            .unwrap()
            .into_iter()
            .filter(|c| c.done && c.key.starts_with("job:tick@"))
            .map(|c| (c.key["job:tick@".len()..].to_string(), c.instance))
            .collect()
    };
    wait_until("twenty ticks done", Duration::from_secs(120), async || {
        done(store.as_ref()).len() >= 20
    })
    .await;
    for child in &children {
        terminate(child);
    }
    for child in &mut children {
        assert!(wait_exit(child, Duration::from_secs(30)).await.success());
    }

    let done = done(store.as_ref());
    let started = started(d, &names);
    // No run was started by two instances.
    let twice: Vec<_> = started.iter().filter(|(_, by)| by.len() > 1).collect();
    assert!(twice.is_empty(), "runs started twice: {twice:?}");
    // Every run done was started by the instance that claimed it, and ticks follow each
    // other every two seconds (none lost between instances).
    for (due, by) in &done {
        assert_eq!(started.get(due), Some(&vec![by.clone()]), "{due}");
    }
    let seconds: Vec<i64> = done
        .keys()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp())
        .collect();
    let first_gap = seconds.windows(2).find(|w| w[1] - w[0] != 2);
    assert!(
        first_gap.is_none(),
        "a tick was lost: {first_gap:?} in {seconds:?}"
    );
    // The syncs of the connection never overlapped, whoever ran them.
    let mut runs = store.runs(Some("hr"), 1000).unwrap();
    runs.reverse();
    assert!(!runs.is_empty());
    for pair in runs.windows(2) {
        let finished = pair[0].finished_at.as_deref().unwrap_or("9999");
        assert!(
            pair[1].started_at.as_str() >= finished,
            "overlapping syncs: {:?}",
            pair
        );
    }
    assert!(
        runs.iter()
            .all(|r| matches!(r.status, RunStatus::Ok | RunStatus::Interrupted)),
        "{runs:?}"
    );
    let by: BTreeSet<&String> = done.values().collect();
    eprintln!("{} ticks done by {by:?}; {} syncs", done.len(), runs.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_sync_is_taken_over_and_the_store_ends_as_one_run_would_leave_it() {
    let Some(url) = postgres_database("killed") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A sync of some seconds: 100 epics (1,100 issues, 10,000 worklogs), 80 ms per answer.
    // The job's only run is the one missed on 1 January, caught up at start by both.
    let sandbox = synthetic_jira(
        d,
        100,
        80,
        "\n[daemon]\ncatch_up_hours = 8760\nlease_secs = 2\nshutdown_grace_secs = 10\n\
         api_token_file = \"secrets/api.token\"\n\
         [daemon.jobs.yearly]\nschedule = \"0 0 0 1 1 *\"\ntime_zone = \"UTC\"\nsteps = [\"sync\"]\n",
    )
    .await;
    use_store(d, &url);
    std::fs::write(d.join("secrets/api.token"), crate::daemon::TOKEN).unwrap();
    let (mut a, port_a) = instance(d, "a");
    let (mut b, port_b) = instance(d, "b");
    let store = open(&url);

    // The holder of the sync, once it has committed a few pages.
    let mut holder = String::new();
    wait_until("a sync under way", Duration::from_secs(60), async || {
        let claims = store.claims().unwrap();
        let Some(c) = claims.iter().find(|c| c.key == "sync:jira") else {
            return false;
        };
        holder = c.instance.clone();
        store
            .runs(Some("jira"), 1)
            .unwrap()
            .first()
            .is_some_and(|r| r.status == RunStatus::Running && r.pages >= 3)
    })
    .await;
    // Who holds what, as an operator sees it: `tollgate status` and each `/readyz`.
    let status = tokio::task::spawn_blocking({
        let dir = d.to_path_buf();
        move || crate::cli::tollgate(&dir, &["status", "--format", "json"], &[])
    })
    .await
    .unwrap();
    let status: serde_json::Value =
        serde_json::from_str(&crate::cli::ok(&status, "status")).unwrap();
    let held: Vec<(&str, &str)> = status["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "held")
        .map(|c| (c["work"].as_str().unwrap(), c["instance"].as_str().unwrap()))
        .collect();
    assert!(held.contains(&("sync:jira", holder.as_str())), "{status}");
    assert!(
        held.iter()
            .any(|(work, by)| work.starts_with("job:yearly@") && *by == holder),
        "{status}"
    );
    let other_port = if holder == "a" { port_b } else { port_a };
    let (code, ready) = crate::daemon::get(&format!("http://127.0.0.1:{other_port}/readyz")).await;
    assert_eq!(code, 200, "{ready}");
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    assert_ne!(ready["instance"], holder.as_str());
    assert!(
        ready["held"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["work"] == "sync:jira" && c["instance"] == holder.as_str()),
        "{ready}"
    );

    // A sync asked of the other instance is refused while the holder syncs.
    let (code, said) = crate::daemon::post_text(
        &format!("http://127.0.0.1:{other_port}/api/v1/sync/jira"),
        Some(crate::daemon::TOKEN),
    )
    .await;
    assert_eq!(code, 409, "{said}");
    assert!(said.contains(&format!("by instance `{holder}`")), "{said}");

    let (victim, survivor) = if holder == "a" {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    victim.kill().unwrap();
    victim.wait().unwrap();
    let killed_at = store.runs(Some("jira"), 1).unwrap()[0].clone();

    // The other instance takes the job over once the lease has run out, and finishes it.
    wait_until(
        "the job taken over and done",
        Duration::from_secs(120),
        async || {
            store
                .claims()
                .unwrap()
                .iter()
                .any(|c| c.key.starts_with("job:yearly@") && c.done)
        },
    )
    .await;
    terminate(survivor);
    assert!(wait_exit(survivor, Duration::from_secs(30)).await.success());
    let runs = store.runs(Some("jira"), 10).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[1].id, killed_at.id);
    assert_eq!(runs[1].status, RunStatus::Interrupted, "the killed run");
    assert_eq!(runs[0].status, RunStatus::Ok, "the run that took over");
    let took_over =
        std::fs::read_to_string(d.join(format!("{}.log", if holder == "a" { "b" } else { "a" })))
            .unwrap();
    assert!(took_over.contains("taking over a job run"), "{took_over}");

    // The store holds what one uninterrupted sync of the same data into SQLite holds.
    let single = tempfile::tempdir().unwrap();
    std::fs::copy(d.join("tollgate.toml"), single.path().join("tollgate.toml")).unwrap();
    for entry in std::fs::read_dir(d).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let to = single.path().join(path.file_name().unwrap());
            std::fs::create_dir_all(&to).unwrap();
            for f in std::fs::read_dir(&path).unwrap() {
                let f = f.unwrap().path();
                if f.is_file() {
                    std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
                }
            }
        }
    }
    use_store(single.path(), "sqlite://single.db");
    let out = tokio::task::spawn_blocking({
        let dir = single.path().to_path_buf();
        move || crate::cli::tollgate(&dir, &["sync"], &[])
    })
    .await
    .unwrap();
    crate::cli::ok(&out, "the single sync");
    let without_fetch_times = |store: &dyn Store| -> Vec<serde_json::Value> {
        store
            .export()
            .unwrap()
            .into_iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap();
                v["provenance"]
                    .as_object_mut()
                    .unwrap()
                    .remove("fetched_at");
                v
            })
            .collect()
    };
    let single_store = open(&format!(
        "sqlite://{}",
        single.path().join("single.db").display()
    ));
    let expected = without_fetch_times(single_store.as_ref());
    assert!(expected.len() > 11_000, "{}", expected.len());
    let got = without_fetch_times(store.as_ref());
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the stores differ");
    drop(sandbox);
}
