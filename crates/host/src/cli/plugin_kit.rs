//! The plugin author's kit: `tollgate plugins new` (a plugin crate that builds and loads as it
//! is) and `tollgate plugins run` (one plugin's calls against a live source, without a config
//! or a store; also the harness a plugin's own tests call).

use crate::error::Error;
use clap::Args;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use tollgate_runtime::bindings::types::{
    Finding, FindingStatus, PullRequest, PushRequest, PushResult, Severity,
};
use tollgate_runtime::http::{Endpoint, Url};
use tollgate_runtime::{Credentials, JobContext, Limits, PluginSource, Runtime, Secret};

/// The SDK as a new plugin crate gets it (a copy next to it, standalone).
const SDK_FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../plugin-api/Cargo.toml")),
    ("src/lib.rs", include_str!("../../../plugin-api/src/lib.rs")),
    (
        "src/http.rs",
        include_str!("../../../plugin-api/src/http.rs"),
    ),
    (
        "src/json.rs",
        include_str!("../../../plugin-api/src/json.rs"),
    ),
    ("src/log.rs", include_str!("../../../plugin-api/src/log.rs")),
    (
        "src/paging.rs",
        include_str!("../../../plugin-api/src/paging.rs"),
    ),
    (
        "src/comment.rs",
        include_str!("../../../plugin-api/src/comment.rs"),
    ),
    (
        "src/records.rs",
        include_str!("../../../plugin-api/src/records.rs"),
    ),
    (
        "wit/plugin.wit",
        include_str!("../../../plugin-api/wit/plugin.wit"),
    ),
];

/// The new plugin crate, with `{{name}}`, `{{crate_name}}`, `{{type_name}}`, `{{sdk}}` and
/// `{{contract}}` to fill in.
const TEMPLATE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/plugin/Cargo.toml.in"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/plugin/src/lib.rs.in"),
    ),
    (
        "settings.schema.json",
        include_str!("../../templates/plugin/settings.schema.json"),
    ),
    (
        "README.md",
        include_str!("../../templates/plugin/README.md.in"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/plugin/gitignore.in"),
    ),
    // The toolchain Tollgate is built with, which has the wasm32-wasip2 target.
    (
        "rust-toolchain.toml",
        include_str!("../../../../rust-toolchain.toml"),
    ),
];

/// Where the SDK copy goes inside the new crate.
const SDK_DIR: &str = "tollgate-plugin-api";

/// A plugin id: lower-case letters, digits and hyphens, starting with a letter.
fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_lowercase()
        && !name.ends_with('-')
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// `my-source` -> `MySource`.
fn type_name(name: &str) -> String {
    name.split('-')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Write a new plugin crate `name` into `dir` (default `./NAME`), the SDK copied into it or,
/// with `sdk`, depended on at that path. Returns the directory.
pub fn new_plugin(name: &str, dir: Option<&Path>, sdk: Option<&Path>) -> Result<PathBuf, Error> {
    if !valid_name(name) {
        return Err(Error::usage(anyhow::anyhow!(
            "`{name}` is not a plugin name: use lower-case letters, digits and hyphens, starting with a letter (e.g. `github-issues`)"
        )));
    }
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::usage(anyhow::anyhow!(
            "{} exists and is not empty; choose another directory with --dir",
            dir.display()
        )));
    }
    let sdk_dependency = match sdk {
        Some(path) => {
            let path = std::fs::canonicalize(path)
                .map_err(|e| Error::usage(anyhow::anyhow!("--sdk {}: {e}", path.display())))?;
            if !path.join("wit/plugin.wit").is_file() {
                return Err(Error::usage(anyhow::anyhow!(
                    "--sdk {}: not the SDK (crates/plugin-api of a Tollgate checkout): it has no wit/plugin.wit",
                    path.display()
                )));
            }
            format!("path = {:?}", path.display().to_string())
        }
        None => format!("path = \"{SDK_DIR}\""),
    };
    let contract = tollgate_runtime::bindings::contract_version();
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate_name}}", &name.replace('-', "_"))
            .replace("{{type_name}}", &type_name(name))
            .replace("{{sdk}}", &sdk_dependency)
            .replace("{{contract}}", contract)
    };
    let mut files: Vec<(PathBuf, String)> = TEMPLATE
        .iter()
        .map(|(path, text)| (dir.join(path), fill(text)))
        .collect();
    if sdk.is_none() {
        files.extend(
            SDK_FILES
                .iter()
                .map(|(path, text)| (dir.join(SDK_DIR).join(path), text.to_string())),
        );
    }
    for (path, text) in files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::runtime(anyhow::anyhow!("cannot create {}: {e}", parent.display()))
            })?;
        }
        std::fs::write(&path, text)
            .map_err(|e| Error::runtime(anyhow::anyhow!("cannot write {}: {e}", path.display())))?;
    }
    Ok(dir)
}

/// `tollgate plugins run` arguments.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("call").required(true).args(["stream", "push"])))]
pub struct RunArgs {
    /// The component file (`.wasm`).
    pub file: PathBuf,
    /// Pull this stream, page by page, until the plugin says it is done.
    #[arg(long)]
    pub stream: Option<String>,
    /// Publish the findings in this JSON file (a list of objects with `fingerprint`,
    /// `rule_id`, `severity`, `subject_key`, `title`, `message`, and optionally `status` and
    /// `evidence`) instead of pulling.
    #[arg(long, value_name = "FINDINGS.json")]
    pub push: Option<PathBuf>,
    /// With --push: ask the plugin what it would change, and write nothing.
    #[arg(long, requires = "push")]
    pub dry_run: bool,
    /// The plugin's settings as JSON (checked against the schema the plugin declares).
    #[arg(long, default_value = "{}")]
    pub settings: String,
    /// Bind a connection name the plugin declares to a base URL: `NAME=URL`, or just `URL`
    /// for the plugin's first connection. Repeat for several.
    #[arg(long, value_name = "NAME=URL")]
    pub connection: Vec<String>,
    /// Environment variable holding the token the host adds to every request (bearer, or
    /// basic with --user). Never on the command line, where other users can read it.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// User for basic authentication with the token of --token-env (empty for an Azure
    /// DevOps PAT).
    #[arg(long, requires = "token_env")]
    pub user: Option<String>,
    /// The directory a file-reading plugin gets, read-only, at `/data`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The checkpoint of a previous run, for an incremental pull (as the last page printed it).
    #[arg(long)]
    pub checkpoint: Option<String>,
    /// Records per page the host asks for (a hint).
    #[arg(long, default_value_t = 100)]
    pub page_size: u32,
    /// Stop with an error after this many pages (a plugin whose stream never ends).
    #[arg(long, default_value_t = 1000)]
    pub max_pages: u32,
}

/// A finding as `--push` reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingFile {
    fingerprint: String,
    rule_id: String,
    severity: String,
    #[serde(default)]
    status: Option<String>,
    subject_key: String,
    title: String,
    message: String,
    #[serde(default)]
    evidence: Option<serde_json::Value>,
}

/// Call the plugin as `args` say, printing JSON lines on stdout.
pub async fn run_plugin(runtime: &Runtime, args: RunArgs) -> Result<(), Error> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| Error::usage(anyhow::anyhow!("cannot read {}: {e}", args.file.display())))?;
    let plugin = runtime
        .load(&bytes, PluginSource::File(args.file.clone()))
        .await?;
    let info = &plugin.info;
    let settings: serde_json::Value = serde_json::from_str(&args.settings)
        .map_err(|e| Error::usage(anyhow::anyhow!("--settings is not JSON: {e}")))?;
    let problems = crate::schema::check(&info.settings_schema, &settings);
    if !problems.is_empty() {
        let list: Vec<String> = problems
            .iter()
            .map(|(path, what)| format!("settings.{path}: {what}"))
            .collect();
        return Err(Error::usage(anyhow::anyhow!(
            "--settings does not fit the schema {} declares: {}",
            info.id,
            list.join("; ")
        )));
    }
    let credentials = match &args.token_env {
        None => Credentials::None,
        Some(var) => {
            let token = std::env::var(var).ok().filter(|t| !t.trim().is_empty());
            let Some(token) = token else {
                return Err(Error::usage(anyhow::anyhow!(
                    "--token-env {var}: the environment variable is not set or empty"
                )));
            };
            match &args.user {
                Some(user) => Credentials::Basic {
                    user: user.clone(),
                    token: Secret::new(token.trim()),
                },
                None => Credentials::Bearer(Secret::new(token.trim())),
            }
        }
    };
    let mut endpoints = BTreeMap::new();
    for binding in &args.connection {
        let (name, url) = match binding.split_once('=') {
            Some((name, url)) if !name.contains("://") => (name.to_string(), url),
            _ => match info.connections.first() {
                Some(first) => (first.clone(), binding.as_str()),
                None => {
                    return Err(Error::usage(anyhow::anyhow!(
                        "--connection {binding}: {} declares no connections",
                        info.id
                    )));
                }
            },
        };
        if !info.connections.contains(&name) {
            return Err(Error::usage(anyhow::anyhow!(
                "--connection {binding}: {} has no connection `{name}` (it declares: {})",
                info.id,
                if info.connections.is_empty() {
                    "none".to_string()
                } else {
                    info.connections.join(", ")
                }
            )));
        }
        let base_url = Url::parse(url).map_err(|e| {
            Error::usage(anyhow::anyhow!(
                "--connection {binding}: `{url}` is not a URL: {e}"
            ))
        })?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(Error::usage(anyhow::anyhow!(
                "--connection {binding}: only http and https URLs"
            )));
        }
        endpoints.insert(name, Endpoint::new(base_url, &credentials));
    }
    if info.data_dir && args.data_dir.is_none() && args.stream.is_some() {
        return Err(Error::usage(anyhow::anyhow!(
            "{} reads files: give the directory with --data-dir",
            info.id
        )));
    }
    let ctx = JobContext {
        connection: format!("run:{}", info.id),
        endpoints,
        data_dir: args.data_dir.clone(),
        limits: Limits::default(),
        known: Default::default(),
        answered: None,
    };
    let mut out = std::io::stdout().lock();
    let mut line = |value: serde_json::Value| -> Result<(), Error> {
        writeln!(out, "{value}").map_err(|e| Error::runtime(anyhow::anyhow!("stdout: {e}")))
    };
    if let Some(file) = &args.push {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::usage(anyhow::anyhow!("cannot read {}: {e}", file.display())))?;
        let list: Vec<FindingFile> = serde_json::from_str(&text)
            .map_err(|e| Error::usage(anyhow::anyhow!("{}: {e}", file.display())))?;
        let mut findings = Vec::new();
        for (i, f) in list.into_iter().enumerate() {
            let at = |what: String| {
                Error::usage(anyhow::anyhow!(
                    "{} finding {}: {what}",
                    file.display(),
                    i + 1
                ))
            };
            let severity: tollgate_dmo::Severity = f.severity.parse().map_err(at)?;
            let status = match f.status.as_deref().unwrap_or("open") {
                "open" => FindingStatus::Open,
                "resolved" => FindingStatus::Resolved,
                other => return Err(at(format!("status `{other}` is not open or resolved"))),
            };
            findings.push(Finding {
                fingerprint: f.fingerprint,
                rule_id: f.rule_id,
                severity: Severity::from(severity),
                status,
                subject_key: f.subject_key,
                title: f.title,
                message: f.message,
                evidence: f
                    .evidence
                    .unwrap_or_else(|| serde_json::json!({}))
                    .to_string(),
            });
        }
        let outcomes = runtime
            .push(
                &plugin,
                &ctx,
                PushRequest {
                    settings: settings.to_string(),
                    findings,
                    dry_run: args.dry_run,
                },
            )
            .await
            .map_err(|e| Error::runtime(anyhow::anyhow!("{}: push: {e}", info.id)))?;
        for o in outcomes {
            let (result, detail) = match o.result {
                PushResult::Created(d) => ("created", d),
                PushResult::Updated(d) => ("updated", d),
                PushResult::Unchanged(d) => ("unchanged", d),
                PushResult::Planned(d) => ("planned", d),
                PushResult::Failed(e) => {
                    ("failed", tollgate_runtime::CallError::Plugin(e).to_string())
                }
            };
            line(
                serde_json::json!({"fingerprint": o.fingerprint, "result": result, "detail": detail}),
            )?;
        }
        return Ok(());
    }
    let stream = args.stream.clone().unwrap_or_default();
    let mut cursor: Option<String> = None;
    for page_number in 1..=args.max_pages {
        let page = runtime
            .pull(
                &plugin,
                &ctx,
                PullRequest {
                    stream: stream.clone(),
                    settings: settings.to_string(),
                    cursor: cursor.clone(),
                    checkpoint: args.checkpoint.clone(),
                    page_size: args.page_size,
                },
            )
            .await
            .map_err(|e| {
                Error::runtime(anyhow::anyhow!(
                    "{}: pull of stream `{stream}`, page {page_number}: {e}",
                    info.id
                ))
            })?;
        let fetched_at = crate::clock::now();
        let count = page.records.len();
        for r in page.records {
            let record = tollgate_runtime::conversions::record(&ctx.connection, &fetched_at, r);
            let problems = record.validate();
            let mut value = serde_json::json!({"page": page_number, "record": record});
            if !problems.is_empty() {
                value["problems"] = serde_json::json!(problems);
            }
            line(value)?;
        }
        let deletions: Vec<serde_json::Value> = page
            .deletions
            .into_iter()
            .map(|d| {
                serde_json::json!({
                    "kind": tollgate_runtime::conversions::kind(d.kind).as_str(),
                    "external_id": d.external_id,
                })
            })
            .collect();
        let diagnostics: Vec<serde_json::Value> = page
            .diagnostics
            .into_iter()
            .map(|d| {
                serde_json::json!({
                    "severity": tollgate_dmo::Severity::from(d.severity).as_str(),
                    "code": d.code,
                    "location": d.location,
                    "message": d.message,
                })
            })
            .collect();
        line(serde_json::json!({
            "page": page_number,
            "stream": stream,
            "records": count,
            "deletions": deletions,
            "diagnostics": diagnostics,
            "next_cursor": page.next_cursor,
            "checkpoint": page.checkpoint,
            "snapshot": page.snapshot,
        }))?;
        match page.next_cursor {
            None => return Ok(()),
            Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                return Err(Error::runtime(anyhow::anyhow!(
                    "{}: stream `{stream}` handed back the cursor it was given (`{next}`) on page {page_number}: it would never end",
                    info.id
                )));
            }
            Some(next) => cursor = Some(next),
        }
    }
    Err(Error::runtime(anyhow::anyhow!(
        "{}: stream `{stream}` did not end within {} pages (--max-pages; raise it if the source is that large)",
        info.id,
        args.max_pages
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_and_their_type_names() {
        for good in ["jira", "github-issues", "erp2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "Jira", "2fa", "a_b", "trailing-", "a b", "../x"] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(type_name("github-issues"), "GithubIssues");
        assert_eq!(type_name("erp2"), "Erp2");
    }

    #[test]
    fn a_new_plugin_is_written_with_the_sdk_beside_it_and_never_over_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("github-issues");
        new_plugin("github-issues", Some(&target), None).unwrap();
        let lib = std::fs::read_to_string(target.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub struct GithubIssues;"));
        assert!(!lib.contains("{{"), "every placeholder is filled");
        let manifest = std::fs::read_to_string(target.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("tollgate-plugin-api = { path = \"tollgate-plugin-api\" }"));
        let sdk = std::fs::read_to_string(target.join("tollgate-plugin-api/Cargo.toml")).unwrap();
        assert!(
            !sdk.contains(".workspace"),
            "the SDK copy stands alone: {sdk}"
        );
        assert!(target.join("tollgate-plugin-api/wit/plugin.wit").is_file());
        let again = new_plugin("github-issues", Some(&target), None).unwrap_err();
        assert!(again.to_string().contains("not empty"), "{again}");
        let bad = new_plugin("GitHub", None, None).unwrap_err();
        assert!(bad.to_string().contains("lower-case"), "{bad}");
    }
}
