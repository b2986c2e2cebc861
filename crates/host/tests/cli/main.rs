//! The `tollgate` binary as a user runs it: output, exit codes, error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn cache_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn tollgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", cache_dir())
        .env_remove("RUST_LOG")
        .output()
        .expect("run tollgate")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn builtin(id: &str) -> &'static [u8] {
    tollgate_host::plugins::BUILTIN_PLUGINS
        .iter()
        .find(|(i, _, _)| *i == id)
        .unwrap()
        .1
}

#[test]
fn the_built_in_plugins_are_named_in_the_cache_by_the_hash_of_their_bytes() {
    // Hashed when the binary is built, so that a start does not read them: a hash of other
    // bytes would find another component's compiled code.
    use sha2::Digest;
    for (id, bytes, sha256) in tollgate_host::plugins::BUILTIN_PLUGINS {
        assert_eq!(*sha256, hex::encode(sha2::Sha256::digest(bytes)), "{id}");
    }
}

#[test]
fn plugins_check_accepts_a_real_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "jira.wasm", builtin("jira"));
    let out = tollgate(dir.path(), &["plugins", "check", file.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("ok: jira 0.1.0 (contract tollgate:plugin@0.2.2)"),
        "{stdout}"
    );
    assert!(stdout.contains("capabilities: pull, push"), "{stdout}");
}

fn check_fails(name: &str, bytes: &[u8], expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), name, bytes);
    let out = tollgate(dir.path(), &["plugins", "check", file.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "expected {e:?} in: {stderr}");
    }
    assert!(
        stderr.contains(name),
        "the message names the file: {stderr}"
    );
}

#[test]
fn plugins_check_explains_a_file_that_is_not_wasm() {
    check_fails(
        "notes.wasm",
        b"hello, I am text",
        &["not a WebAssembly file"],
    );
}

#[test]
fn plugins_check_explains_a_core_module() {
    let module = wat::parse_str("(module (func (export \"describe\")))").unwrap();
    check_fails(
        "core.wasm",
        &module,
        &["core WebAssembly module, not a component", "wasm32-wasip2"],
    );
}

#[test]
fn plugins_check_explains_a_component_of_another_world() {
    let component = wat::parse_str(
        r#"(component
             (core module $m (func (export "run")))
             (core instance $i (instantiate $m))
             (func $run (canon lift (core func $i "run")))
             (export "run" (func $run)))"#,
    )
    .unwrap();
    check_fails(
        "other-world.wasm",
        &component,
        &[
            "not a Tollgate plugin",
            "tollgate:plugin/connector@0.2.2",
            "its exports: run",
        ],
    );
}

#[test]
fn plugins_check_explains_a_wrong_contract_version() {
    let component = wat::parse_str(
        r#"(component
             (core module $m (func (export "describe")))
             (core instance $i (instantiate $m))
             (func $describe (canon lift (core func $i "describe")))
             (instance $connector (export "describe" (func $describe)))
             (export "tollgate:plugin/connector@0.9.0" (instance $connector)))"#,
    )
    .unwrap();
    check_fails(
        "future.wasm",
        &component,
        &[
            "built for contract tollgate:plugin@0.9.0",
            "supports tollgate:plugin 0.1.x and 0.2.x",
            "contract 0.2.2",
        ],
    );
}

#[test]
fn plugins_check_explains_a_connector_of_the_wrong_shape() {
    // Right name and version, but `describe` has the wrong signature and the rest is missing.
    let component = wat::parse_str(
        r#"(component
             (core module $m (func (export "describe")))
             (core instance $i (instantiate $m))
             (func $describe (canon lift (core func $i "describe")))
             (instance $connector (export "describe" (func $describe)))
             (export "tollgate:plugin/connector@0.1.0" (instance $connector)))"#,
    )
    .unwrap();
    check_fails("misshapen.wasm", &component, &["not a Tollgate plugin"]);
}

#[test]
fn plugins_list_shows_the_built_in_plugins_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = tollgate(dir.path(), &["plugins", "list", "--format", "json"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let list: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON only");
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["azure-devops", "hr-csv", "jira"]);
    // A config loads the built-in plugins its connections name by these ids.
    let mut built_in: Vec<&str> = tollgate_host::plugins::BUILTIN_PLUGINS
        .iter()
        .map(|(id, _, _)| *id)
        .collect();
    built_in.sort_unstable();
    assert_eq!(built_in, ids);
    for p in list.as_array().unwrap() {
        assert_eq!(p["contract"], "0.2.2");
        assert_eq!(p["source"]["kind"], "built-in");
    }
    assert_eq!(list[1]["data_dir"], true);
    assert_eq!(list[2]["connections"], serde_json::json!(["jira"]));
}

#[test]
fn a_connection_naming_no_plugin_is_told_every_plugin_there_is() {
    // A session loads only the built-in plugins its connections name (here none of them):
    // the error still lists them all.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tollgate.toml",
        b"[connections.tracker]\nplugin = \"jiraa\"\n",
    );
    let out = tollgate(dir.path(), &["sync"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "`connections.tracker.plugin`: no plugin `jiraa`; available: azure-devops, hr-csv, jira"
        ),
        "{stderr}"
    );
}

#[test]
fn plugins_in_the_plugin_dir_are_loaded_and_duplicate_ids_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    write(&dir.path().join("plugins"), "my-jira.wasm", builtin("jira"));
    write(
        dir.path(),
        "tollgate.toml",
        b"[runtime]\nplugin_dir = \"plugins\"\n",
    );
    let out = tollgate(dir.path(), &["plugins", "list"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("plugin id `jira` is used twice: by built-in and by")
            && stderr.contains("my-jira.wasm"),
        "{stderr}"
    );
}

#[test]
fn config_validate_names_the_bad_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tollgate.toml",
        b"[connections.acme]\nplugin = \"jira\"\nbase_url = \"https://acme.atlassian.net\"\nauth = { kind = \"basic\", user = \"a@b.c\", token_env = \"ACME_TOKEN_NOT_SET\" }\n",
    );
    let out = tollgate(dir.path(), &["config", "validate"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("connections.acme.auth.token_env") && stderr.contains("ACME_TOKEN_NOT_SET"),
        "{stderr}"
    );

    let out = tollgate(
        dir.path(),
        &["--config", "missing.toml", "config", "validate"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("missing.toml") && stderr.contains("tollgate demo"),
        "{stderr}"
    );

    write(
        dir.path(),
        "plugin.toml",
        b"[connections.hr]\nplugin = \"hr-csv\"\n",
    );
    let out = tollgate(
        dir.path(),
        &["--config", "plugin.toml", "config", "validate"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("connections.hr.data_dir") && stderr.contains("reads files"),
        "{stderr}"
    );
}

#[test]
fn config_validate_lists_every_problem_with_its_line_and_warns_of_inline_secrets() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tollgate.toml",
        b"[connections.acme]\nplugin = \"jira\"\nbase_url = \"ftp://acme\"\n\n[daemon]\nlisten = \"everywhere\"\napi_token = \"inline-secret-value\"\n\n[daemon.jobs.nightly]\nschedule = \"at two\"\nconnection = \"nope\"\n",
    );
    let out = tollgate(dir.path(), &["config", "validate"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        "tollgate.toml:3: `connections.acme.base_url`",
        "tollgate.toml:6: `daemon.listen`",
        "tollgate.toml:10: `daemon.jobs.nightly.schedule`",
        "cron with seconds",
        "tollgate.toml:11: `daemon.jobs.nightly.connection`",
        "4 problem(s)",
        "daemon.api_token` holds a secret inline",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("inline-secret-value"), "{stderr}");
}

#[test]
fn config_validate_online_reports_bad_credentials_without_echoing_them() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sandbox = rt
        .block_on(tollgate_sandbox::Sandbox::start("127.0.0.1:0"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "wrong.token", b"wrong-token-0451\n");
    write(
        dir.path(),
        "right.token",
        tollgate_sandbox::JIRA_DC_TOKEN.as_bytes(),
    );
    let config = format!(
        "[connections.good]\nplugin = \"jira\"\nbase_url = \"{dc}\"\nauth = {{ kind = \"bearer\", token_file = \"right.token\" }}\nsettings = {{ deployment = \"data-center\" }}\n\
         [connections.bad]\nplugin = \"jira\"\nbase_url = \"{cloud}\"\nauth = {{ kind = \"basic\", user = \"{user}\", token_file = \"wrong.token\" }}\n",
        dc = sandbox.jira_dc_url(),
        cloud = sandbox.jira_cloud_url(),
        user = tollgate_sandbox::JIRA_CLOUD_USER,
    );
    write(dir.path(), "tollgate.toml", config.as_bytes());
    let out = tollgate(dir.path(), &["config", "validate", "--online"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("good")
            && stdout.contains("ok: authenticated to Jira Data Center as DMO Bot"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED: unauthorized") && stdout.contains("answered 401"),
        "{stdout}"
    );
    assert!(stderr.contains("1 connection check(s) failed"), "{stderr}");
    assert!(!stdout.contains("wrong-token-0451") && !stderr.contains("wrong-token-0451"));
    assert!(
        !stdout.contains(tollgate_sandbox::JIRA_DC_TOKEN)
            && !stderr.contains(tollgate_sandbox::JIRA_DC_TOKEN)
    );
    // The sandbox saw the credentials the host added.
    let requests = sandbox.requests();
    assert!(requests.iter().any(|r| r.status == 401));
    assert!(requests.iter().any(|r| r.status == 200));
}

#[test]
fn bad_usage_exits_2_and_help_explains() {
    let dir = tempfile::tempdir().unwrap();
    let out = tollgate(dir.path(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = tollgate(dir.path(), &["--help"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    for cmd in ["demo", "plugins", "config", "sandbox"] {
        assert!(stdout.contains(cmd), "{stdout}");
    }
}

/// A directory with an `hr` connection reading `hr/`, holding `teams.csv` with `text`.
fn hr_dir(teams: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("hr")).unwrap();
    write(dir.path(), "hr/teams.csv", teams);
    write(
        dir.path(),
        "tollgate.toml",
        b"[connections.hr]\nplugin = \"hr-csv\"\ndata_dir = \"hr\"\n",
    );
    dir
}

#[test]
fn an_unclosed_quote_in_a_csv_fails_strict_and_deletes_nothing_it_hid() {
    let dir = hr_dir(b"id,name\nt1,One\nt2,Two\nt3,Three\nt4,Four\n");
    let out = tollgate(dir.path(), &["sync"]);
    assert!(out.status.success(), "{}", text(&out).1);
    // Someone opens a quote on line 3 and never closes it.
    write(
        dir.path(),
        "hr/teams.csv",
        b"id,name\nt1,One\nt2,\"Two\nt3,Three\nt4,Four\n",
    );
    let out = tollgate(dir.path(), &["sync", "--strict"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("teams.csv:3: a quote opened on line 3 is never closed"),
        "{stderr}"
    );
    let out = tollgate(dir.path(), &["sync"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("deletions withheld"), "{stdout}");
    assert!(stdout.contains("teams.csv:3"), "the row is named: {stdout}");
    let out = tollgate(dir.path(), &["export"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let teams = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["entity"]["kind"] == "team")
        .count();
    assert_eq!(teams, 4, "the rows behind the quote are still stored");
}

#[test]
fn a_fifo_in_the_data_directory_is_refused_not_waited_on() {
    let dir = hr_dir(b"id,name\nt1,One\n");
    let fifo = dir.path().join("hr/people.csv");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo is not available here: this test did not run");
        return;
    }
    let started = std::time::Instant::now();
    let out = tollgate(dir.path(), &["sync"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("people.csv is not a regular file"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn terminal_escapes_in_a_rejected_file_never_reach_the_terminal() {
    let dir = hr_dir(b"\x1b]0;owned\x07\x1b[2Jid,\x1b[31mname\n");
    let out = tollgate(dir.path(), &["sync"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("teams.csv rejected"), "{stdout}");
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !bytes.iter().any(|b| *b == 0x1b || *b == 0x07),
            "{stream} carries raw control characters"
        );
    }
    assert!(stdout.contains("\\u{1b}"), "shown escaped: {stdout}");
}

#[test]
fn limits_no_duration_can_hold_are_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tollgate.toml",
        b"[runtime.limits]\ntimeout_secs = -1\nhttp_timeout_secs = nan\nmax_retry_wait_secs = 1e30\n",
    );
    for args in [
        &["config", "validate"][..],
        &["sync"][..],
        &["status"][..],
        &["check"][..],
    ] {
        let out = tollgate(dir.path(), args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("runtime.limits.timeout_secs"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let out = tollgate(dir.path(), &["config", "validate"]);
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("tollgate.toml:4: `runtime.limits.max_retry_wait_secs`: 1e30 is out of range: expected from 0 to 3600 seconds"),
        "{stderr}"
    );
}

#[test]
fn config_validate_checks_plugin_settings_against_the_plugins_schema() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secrets.token", b"t0ken-value");
    write(
        dir.path(),
        "tollgate.toml",
        b"[connections.jira]\nplugin = \"jira\"\nbase_url = \"https://acme.atlassian.net\"\nauth = { kind = \"basic\", user = \"me@acme.test\", token_file = \"secrets.token\" }\nsettings = { deployment = \"server\", projcet = \"BIZ\", boards = [\"one\"], project = \"10000\", team-projects = [\"OPS\", \"OPS\"] }\n",
    );
    let out = tollgate(dir.path(), &["config", "validate"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in [
        "`connections.jira.settings.deployment`: \"server\" is not one of: \"cloud\", \"data-center\"",
        "`connections.jira.settings.projcet`: is not a setting of this plugin",
        "`connections.jira.settings.boards[0]`: expected an integer, found text",
        "`connections.jira.settings.project`: \"10000\" does not match the pattern ^[A-Za-z][A-Za-z0-9_]*$ (plugin `jira`)",
        "`connections.jira.settings.team-projects[1]`: \"OPS\" is in the list twice (plugin `jira`)",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    assert!(!stderr.contains("t0ken-value"));
}

#[test]
fn config_validate_names_a_bad_setting_beside_a_missing_secret() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tollgate.toml",
        b"[connections.jira]\nplugin = \"jira\"\nbase_url = \"https://acme.atlassian.net\"\nauth = { kind = \"basic\", user = \"me@acme.test\", token_file = \"missing.token\" }\nsettings = { project = \"10000\" }\n",
    );
    let out = tollgate(dir.path(), &["config", "validate"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in [
        "`connections.jira.auth.token_file`",
        "`connections.jira.settings.project`: \"10000\" does not match the pattern",
        "2 problem(s)",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
}

#[test]
fn tracker_and_file_text_is_shown_never_run_in_csv_and_markdown_reports() {
    let dir = hr_dir(b"id,name\nt1,One\n");
    write(
        dir.path(),
        "hr/allocations.csv",
        b"person,initiative,percent,from,to\n=HYPERLINK(\"http://evil.test\"),BIZ-1,50,2026-11-01,2026-12-31\n<script>alert(1)</script>,BIZ-1,40,2026-11-01,2026-12-31\n[click](javascript:alert(1)),BIZ-1,30,2026-11-01,2026-12-31\n",
    );
    let out = tollgate(dir.path(), &["sync"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let csv_dir = dir.path().join("csv");
    let out = tollgate(
        dir.path(),
        &[
            "report",
            "--format",
            "csv",
            "--out",
            csv_dir.to_str().unwrap(),
            "--as-of",
            "2026-11-15",
        ],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let heat = std::fs::read_to_string(csv_dir.join("resource-heat-map.csv")).unwrap();
    assert!(
        heat.contains("\"'=HYPERLINK(\"\"http://evil.test\"\")\""),
        "a spreadsheet shows the formula as text: {heat}"
    );
    assert!(
        !heat.lines().any(|l| l.starts_with('=')),
        "no cell starts a formula: {heat}"
    );
    let out = tollgate(
        dir.path(),
        &["report", "--format", "md", "--as-of", "2026-11-15"],
    );
    let (md, _) = text(&out);
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{md}");
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("\\[click\\](javascript:alert(1))"), "{md}");
}

#[test]
fn docs_configuration_md_carries_the_reference_the_code_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = tollgate(dir.path(), &["config", "reference"]);
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let docs = include_str!("../../../../docs/configuration.md");
    let marker = docs.find("<!-- reference:start").unwrap();
    let start = marker + docs[marker..].find("-->\n").unwrap() + 4;
    let end = docs.find("<!-- reference:end -->").unwrap();
    assert_eq!(
        &docs[start..end],
        generated,
        "docs/configuration.md is out of date: put the output of `tollgate config reference` between its reference markers"
    );
    for key in [
        "max_delete_share",
        "read_token_file",
        "timeout_secs",
        "token_env",
    ] {
        assert!(generated.contains(&format!("`{key}`")), "{key}");
    }
}

#[test]
fn output_that_cannot_be_written_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::File::create("/dev/full") else {
        eprintln!("skipped: no /dev/full here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["rules"][..],
        &["rules", "--format", "md"],
        &["config", "reference"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(args)
            .current_dir(dir.path())
            .env("XDG_CACHE_HOME", cache_dir())
            .env_remove("RUST_LOG")
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "error: cannot write to stdout: No space left on device (os error 28)",
            "{args:?}"
        );
    }
}
