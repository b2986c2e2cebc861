//! `tollgate demo` in-process: it writes a config that works on its own.

use tollgate_host::config::Config;

#[tokio::test]
async fn demo_writes_a_config_that_loads_and_checks_every_connection() {
    tollgate_tests::capture_logs();
    let out = tempfile::tempdir().unwrap();
    tollgate_host::cli::demo::run(out.path())
        .await
        .expect("the demo runs");
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
