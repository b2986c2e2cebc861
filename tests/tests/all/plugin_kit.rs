//! The plugin author's path, as a new author walks it: `tollgate plugins new` writes a crate
//! outside this workspace, which builds to wasm32-wasip2 and passes its own tests as it is;
//! `plugins check` loads it, `plugins run` pulls from the sandbox's Jira with it, and a config
//! naming it syncs its records into a store.

use crate::cli::{ok, plugin_home};
use std::path::Path;
use std::process::{Command, Output};
use tollgate_sandbox::{JIRA_DC_TOKEN, Sandbox};

const ENV: &[(&str, &str)] = &[("KIT_TOKEN", JIRA_DC_TOKEN)];

fn tollgate(dir: &Path, args: &[&str]) -> Output {
    crate::cli::tollgate(dir, args, ENV)
}

/// `cargo` in the new crate, as its author runs it; flags of this build stay out of it.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugin-kit");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_plugin_builds_outside_the_workspace_runs_against_the_sandbox_and_syncs() {
    let sandbox = Sandbox::start("127.0.0.1:0").await.unwrap();
    let url = sandbox.jira_dc_url();
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_path_buf();
    tokio::task::spawn_blocking(move || walk(&home, &url))
        .await
        .unwrap();
}

fn walk(home: &Path, jira: &str) {
    let made = tollgate(home, &["plugins", "new", "kit-source"]);
    let said = ok(&made, "plugins new");
    assert!(
        said.contains("cargo build --target wasm32-wasip2 --release"),
        "{said}"
    );
    let crate_dir = home.join("kit-source");

    // Its own unit tests, natively, then the component.
    let tests = cargo(&crate_dir, &["test", "--quiet"]);
    let out = ok(&tests, "cargo test in the new crate");
    assert!(out.contains("2 passed"), "{out}");
    let build = cargo(
        &crate_dir,
        &["build", "--target", "wasm32-wasip2", "--release"],
    );
    ok(&build, "cargo build of the new crate");
    let wasm = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/plugin-kit/wasm32-wasip2/release/kit_source.wasm");
    let wasm = wasm.to_str().unwrap();

    let checked = ok(
        &tollgate(home, &["plugins", "check", wasm]),
        "plugins check",
    );
    assert!(
        checked.starts_with("ok: kit-source 0.1.0 (contract tollgate:plugin@0.2.2)"),
        "{checked}"
    );

    // One stream, page by page, against the sandbox's Jira Data Center: its 25 epics.
    let connection = format!("api={jira}");
    let run = tollgate(
        home,
        &[
            "plugins",
            "run",
            wasm,
            "--stream",
            "initiatives",
            "--connection",
            &connection,
            "--token-env",
            "KIT_TOKEN",
            "--page-size",
            "10",
        ],
    );
    let lines: Vec<serde_json::Value> = ok(&run, "plugins run")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let records: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l.get("record").is_some()).collect();
    let pages: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l.get("next_cursor").is_some())
        .collect();
    assert_eq!(records.len(), 25);
    assert_eq!(records[0]["record"]["entity"]["data"]["key"], "BIZ-1");
    assert_eq!(
        records[0]["record"]["entity"]["data"]["title"],
        "Instant payments"
    );
    assert_eq!(pages.len(), 3, "pages of 10: {pages:?}");
    assert!(pages[2]["next_cursor"].is_null());

    // Configured like any plugin, it syncs into a store.
    plugin_home(
        home,
        Path::new(wasm),
        "kit-source",
        &format!(
            "[connections.mine]\nplugin = \"kit-source\"\nbase_url = \"{jira}\"\n\
             auth = {{ kind = \"bearer\", token_env = \"KIT_TOKEN\" }}\n"
        ),
    );
    ok(
        &tollgate(home, &["config", "validate", "--online"]),
        "config validate",
    );
    let synced = ok(&tollgate(home, &["sync"]), "sync");
    assert!(synced.contains("initiatives"), "{synced}");
    let export = ok(&tollgate(home, &["export", "--format", "json"]), "export");
    let doc: serde_json::Value = serde_json::from_str(&export).unwrap();
    let keys: Vec<&str> = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["provenance"]["connection"] == "mine")
        .filter_map(|r| r["entity"]["data"]["key"].as_str())
        .collect();
    assert_eq!(keys.len(), 25, "{export}");
}
