//! `tollgate demo` in-process: it writes a config that works on its own.

use tollgate_host::config::Config;

#[tokio::test]
async fn demo_writes_a_config_that_loads_and_checks_every_connection() {
    tollgate_tests::capture_logs();
    let out = tempfile::tempdir().unwrap();
    tollgate_host::cli::demo::run(
        out.path(),
        "127.0.0.1:0",
        tollgate_host::cli::demo::DEMO_AS_OF,
    )
    .await
    .expect("the demo runs");
    // Its checks are as of the day its data describes, whatever day it runs: the pack it
    // wrote counts exactly the ground truth's findings.
    let expected = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/demo/expected-findings.txt"
    ))
    .unwrap();
    let count = |severity: &str| {
        expected
            .lines()
            .filter(|l| !l.starts_with('#') && l.split_whitespace().nth(1) == Some(severity))
            .count()
    };
    let pack = std::fs::read_to_string(out.path().join("steering-pack.md")).unwrap();
    let all = pack
        .lines()
        .find(|l| l.starts_with("| all |"))
        .unwrap_or_else(|| panic!("{pack}"));
    assert_eq!(
        all.split('|').map(str::trim).collect::<Vec<_>>()[3..7],
        [
            count("blocker").to_string(),
            count("error").to_string(),
            count("warning").to_string(),
            count("info").to_string()
        ],
        "{all}"
    );
    assert!(pack.starts_with("# Steering pack, 2026-11-27"), "{pack}");
    let config = Config::load(&out.path().join("tollgate.toml")).unwrap();
    let names: Vec<&str> = config.connections.keys().map(String::as_str).collect();
    assert_eq!(names, ["azure-devops", "hr", "jira"]);
    assert!(
        config.warnings().is_empty(),
        "the demo keeps secrets out of the config"
    );
    let text = std::fs::read_to_string(out.path().join("tollgate.toml")).unwrap();
    assert!(!text.contains(tollgate_sandbox::JIRA_CLOUD_TOKEN));
    let secret = out.path().join("secrets/jira-cloud.token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "secret files are private");
    }
}

/// The demo on another day: `tollgate demo` run with the system clock moved a month ahead
/// (libfaketime, Debian's `faketime`, which .ci/run installs) gives the same findings, as the
/// README promises, because its checks and reports are as of the day its data describes.
#[test]
fn the_demo_gives_the_same_findings_a_month_later() {
    let faketime = std::path::Path::new("/usr/bin/faketime");
    if !faketime.exists() {
        if std::env::var_os("TOLLGATE_SKIP_FAKETIME").is_some() {
            eprintln!("TOLLGATE_SKIP_FAKETIME is set: the moved-clock demo test did not run");
            return;
        }
        panic!(
            "this test moves the clock with libfaketime: `apt-get install faketime` (as .ci/run \
             does), or TOLLGATE_SKIP_FAKETIME=1 to leave it out knowingly"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(faketime)
        .args(["-f", "+31d"])
        .arg(env!("CARGO_BIN_EXE_tollgate-e2e"))
        .args(["demo", "--out", "demo"])
        .current_dir(dir.path())
        // Only the wall clock moves: timers and timeouts keep the real monotonic clock.
        .env("DONT_FAKE_MONOTONIC", "1")
        .env("RUST_LOG", "warn")
        .env_remove("TOLLGATE_STORE__URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "55 open finding(s) as of 2026-11-27: 5 blocker, 14 error, 25 warning, 11 info"
        ),
        "{stdout}"
    );
    // A story moved to another epic takes all its hours along on an incremental sync.
    let before = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Before: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let (story, rest) = before.split_once(" is under ").unwrap();
    let (from, hours) = rest.split_once("; the store has ").unwrap();
    let hours = hours
        .strip_suffix(&format!(" on {from}."))
        .unwrap_or_else(|| panic!("all of {story}'s hours on {from} before: {before}"));
    let after = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{story} moved to ")))
        .unwrap_or_else(|| panic!("{stdout}"));
    let to = after
        .strip_prefix(&format!("{story} moved to "))
        .and_then(|r| r.split_once(' '))
        .unwrap()
        .0;
    assert_ne!(from, to);
    assert!(
        after.ends_with(&format!("left the store with {hours} on {to}.")),
        "all {hours} on {to}: {after}"
    );
    // A publish some epics refuse goes on with the others and names each refusal.
    assert!(
        stdout.contains("unchanged 14, failed 2 (initiatives)")
            && stdout.contains("2 finding(s) could not be published: jira BIZ-")
            && stdout.contains("answered 404"),
        "{stdout}"
    );
    // The clock did move: the runs the demo recorded started a month from now.
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"))
        .args([
            "--config",
            "demo/tollgate.toml",
            "status",
            "--format",
            "json",
        ])
        .current_dir(dir.path())
        .env_remove("TOLLGATE_STORE__URL")
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&status.stdout)));
    let started = status["runs"][0]["started_at"]
        .as_str()
        .unwrap()
        .to_string();
    let moved = tollgate_dmo::calendar::day_number(&started).unwrap();
    let today = tollgate_dmo::calendar::day_number(&tollgate_host::clock::today()).unwrap();
    assert!(
        (30..=32).contains(&(moved - today)),
        "runs stamped {started}, a month ahead"
    );
    let pack = std::fs::read_to_string(dir.path().join("demo/steering-pack.md")).unwrap();
    assert!(pack.starts_with("# Steering pack, 2026-11-27"), "{pack}");
    assert!(pack.contains("| all |  | 5 | 14 | 25 | 11 |"), "{pack}");
}
