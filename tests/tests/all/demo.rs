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
