//! `tollgate demo`: the whole pipeline that exists so far, against the sandbox trackers.
//!
//! It starts the sandbox on a free loopback port, writes a config (and the sandbox's tokens
//! as secret files) to the output directory, and then runs each step exactly as a user would
//! with that config. The steps grow with each capability: today it loads the plugins and
//! checks every connection through the sandboxed runtime (credentials injected by the host),
//! syncs every connection into the SQLite store and reports the runs and the records, runs
//! the rule pack over it, and publishes the findings as comments on the epics in the
//! sandbox's Jira (twice, to show that nothing is posted twice), and writes the steering pack.

use crate::app::Session;
use crate::cli::{check_connections, print_table};
use crate::config::ReportKind;
use crate::error::Error;
use std::path::Path;
use tollgate_sandbox::Sandbox;

/// The config the demo writes; `{…}` placeholders are filled in.
const DEMO_CONFIG: &str = r#"# Tollgate demo configuration, written by `tollgate demo`.
# The sandbox trackers listen on {ADDR}; start them again with
#   tollgate sandbox --addr {ADDR}
# and repeat the steps with `tollgate --config {CONFIG} ...`.

[store]
url = "sqlite://tollgate.db"

[runtime.limits]
timeout_secs = 60
memory_mib = 128

# `tollgate publish` also writes these reports into reports/; the DMO's capacity planning
# puts the portfolio's capacity line at 30 FTE: 15 for the people who log time in Jira (shared
# with run work) and 15 for the 18 people of the digital unit on Azure DevOps.
# Each comment on an epic links to the initiative's page on the dashboard (`tollgate run`).
[publish]
dashboard_url = "http://127.0.0.1:8080"

[reports]
officer_note = "officer-note.txt"
folder = "reports"
kinds = ["steering", "quarterly", "capitalisation"]
scoring = "wsjf"
capacity_fte = 30.0

# The portfolio: epics, child issues, sprints and worklogs of project BIZ, and the issues of
# the operations team's project OPS that sit under BIZ's epics (team-projects; the rest of
# OPS is not the portfolio's). The same sandbox also serves a Jira Data Center face of that
# site at {JIRA_DC} (bearer token in secrets/jira-dc.token, settings.deployment =
# "data-center").
[connections.jira]
plugin = "jira"
base_url = "{JIRA_CLOUD}"
auth = { kind = "basic", user = "{JIRA_CLOUD_USER}", token_file = "secrets/jira-cloud.token" }
# Field names are the defaults; a site with other names maps them here, e.g.
# fields = { cost-of-delay = "CoD (EUR/month)" }
settings = { deployment = "cloud", project = "BIZ", team-projects = ["OPS"] }

# The digital unit's delivery on Azure Boards: epics, features, user stories and tasks of
# project {ADO_PROJECT}, three teams' iterations, effort as Completed Work on tasks.
[connections.azure-devops]
plugin = "azure-devops"
base_url = "{ADO}"
# Azure DevOps takes a PAT as the password of basic auth with an empty user.
auth = { kind = "basic", user = "", token_file = "secrets/azure-devops.token" }

[connections.azure-devops.settings]
organization = "{ADO_ORG}"
project = "{ADO_PROJECT}"
# Each team has its area; the areas say which value stream the work serves.
value-streams = { "{ADO_PROJECT}\\Mobile" = "Digital channels", "{ADO_PROJECT}\\Web" = "Digital channels", "{ADO_PROJECT}\\Platform" = "Core platforms" }
# Work items with open findings carry this tag, so a board can filter on it.
tag = "dmo-findings"

[connections.hr]
plugin = "hr-csv"
data_dir = "hr"

# `tollgate --config {CONFIG} run` serves the dashboard on loopback. The read token opens it
# with per-person data (the browser asks: any user name, the token as the password).
[daemon]
listen = "127.0.0.1:8080"
read_token_file = "secrets/read.token"
"#;

/// The demo's HR and finance exports (config/demo/hr), with a few deliberately broken rows.
const DEMO_HR_FILES: &[(&str, &str)] = &[
    (
        "people.csv",
        include_str!("../../../../config/demo/hr/people.csv"),
    ),
    (
        "teams.csv",
        include_str!("../../../../config/demo/hr/teams.csv"),
    ),
    (
        "allocations.csv",
        include_str!("../../../../config/demo/hr/allocations.csv"),
    ),
    (
        "timesheets.csv",
        include_str!("../../../../config/demo/hr/timesheets.csv"),
    ),
    (
        "finance.csv",
        include_str!("../../../../config/demo/hr/finance.csv"),
    ),
    (
        "business-cases.csv",
        include_str!("../../../../config/demo/hr/business-cases.csv"),
    ),
    (
        "gate-decisions.csv",
        include_str!("../../../../config/demo/hr/gate-decisions.csv"),
    ),
    (
        "dependencies.csv",
        include_str!("../../../../config/demo/hr/dependencies.csv"),
    ),
    (
        "kpis.csv",
        include_str!("../../../../config/demo/hr/kpis.csv"),
    ),
];

/// Write a secret file readable by the owner only.
/// The demo's step "a story moved to another epic": a story with hours is moved on the site,
/// and an incremental sync carries its work item and every hour on it to the new epic, though
/// none of its worklogs changed.
async fn moved_story(
    session: &Session,
    sandbox: &Sandbox,
    store: &mut dyn tollgate_store::Store,
) -> Result<(), Error> {
    println!(
        "\n== A story moved to another epic on the site (tollgate sync, incremental: its hours follow)"
    );
    let (story, from, to) = {
        let d = sandbox.jira();
        let ours = |key: &str| d.project_of(key).key == d.project;
        let Some(story) = d.issues.iter().find(|i| {
            ours(&i.key) && i.parent.is_some() && d.worklogs.iter().any(|w| w.issue_id == i.id)
        }) else {
            println!("The site has no story with worklogs under an epic; nothing to move.");
            return Ok(());
        };
        let from = story.parent.clone().unwrap_or_default();
        let to = d
            .issues
            .iter()
            .find(|i| {
                ours(&i.key)
                    && i.key != from
                    && tollgate_sandbox::jira::data::ISSUE_TYPES[i.issue_type].hierarchy_level == 1
            })
            .map(|e| e.key.clone())
            .unwrap_or_default();
        (story.key.clone(), from, to)
    };
    // The store's hours on the story, by epic, in hours.
    let hours_by_epic = |store: &dyn tollgate_store::Store| -> Result<String, Error> {
        let mut by: std::collections::BTreeMap<String, u64> = Default::default();
        for r in store.export()? {
            if let tollgate_dmo::model::Entity::TimeEntry(e) = &r.entity
                && e.work_item_key.as_deref() == Some(story.as_str())
            {
                *by.entry(e.initiative_key.clone().unwrap_or_default())
                    .or_default() += e.seconds;
            }
        }
        Ok(by
            .iter()
            .map(|(epic, s)| format!("{:.1} h on {epic}", *s as f64 / 3600.0))
            .collect::<Vec<_>>()
            .join(", "))
    };
    println!(
        "Before: {story} is under {from}; the store has {}.",
        hours_by_epic(store)?
    );
    // A move made between two passes, past the minute Jira leaves out of its changes.
    sandbox.advance_clock(std::time::Duration::from_secs(120));
    let now = sandbox.now_ms();
    if let Err(e) = sandbox.jira().move_to_epic(&story, Some(&to), now) {
        println!("The sandbox refused the move: {e}");
        return Ok(());
    }
    sandbox.advance_clock(std::time::Duration::from_secs(90));
    let summary = crate::sync::sync_connection(
        &session.runtime,
        &session.registry,
        &session.config,
        store,
        "jira",
        crate::sync::SyncOptions::from_config(&session.config.sync),
        &crate::sync::events::LogOnly,
    )
    .await
    .map_err(|e| Error::from(anyhow::anyhow!(e.to_string())))?;
    let written = |stream: &str| summary.stream(stream).map_or(0, |s| s.written);
    println!(
        "{story} moved to {to} on the site; none of its worklogs changed. The incremental sync (run {}, {} work item(s) and {} time entries written) left the store with {}.",
        summary.run,
        written("work-items"),
        written("time-entries"),
        hours_by_epic(store)?
    );
    Ok(())
}

fn write_secret(path: &Path, value: &str) -> std::io::Result<()> {
    tollgate_store::files::write_private(path, value.as_bytes())
}

/// A read token for the demo's dashboard, different on every run.
fn demo_read_token() -> String {
    use sha2::Digest as _;
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    format!(
        "demo-{}",
        &hex::encode(sha2::Sha256::digest(seed.as_bytes()))[..24]
    )
}

/// The date the demo's data describes: its checks and reports are as of this day whatever
/// day it runs, so its findings are those of config/demo/expected-findings.txt on any day.
pub const DEMO_AS_OF: &str = "2026-11-27";

/// Run the demo, writing into `out`, with the sandbox on `addr` (`127.0.0.1:0`: a free port)
/// and the checks and reports as of `as_of`.
pub async fn run(out: &Path, addr: &str, as_of: &str) -> Result<(), Error> {
    crate::report::parse_as_of(as_of)?;
    let sandbox = Sandbox::start(addr).await.map_err(|e| {
        Error::usage(anyhow::anyhow!(
            "cannot start the sandbox trackers on {addr} (--addr): {e}"
        ))
    })?;
    tollgate_store::files::create_private_dir_all(&out.join("secrets"))?;
    tollgate_store::files::create_private_dir_all(&out.join("hr"))?;
    for (name, text) in DEMO_HR_FILES {
        std::fs::write(out.join("hr").join(name), text)?;
    }
    write_secret(
        &out.join("secrets/jira-cloud.token"),
        tollgate_sandbox::JIRA_CLOUD_TOKEN,
    )?;
    write_secret(
        &out.join("secrets/jira-dc.token"),
        tollgate_sandbox::JIRA_DC_TOKEN,
    )?;
    write_secret(
        &out.join("secrets/azure-devops.token"),
        tollgate_sandbox::ADO_TOKEN,
    )?;
    write_secret(&out.join("secrets/read.token"), &demo_read_token())?;
    std::fs::write(
        out.join("officer-note.txt"),
        "Five initiatives logged delivery work before their start-of-delivery decision: their project managers bring a plan or a stop to this steering.\n\nThe capacity line counts 30 FTE this quarter: the data platform team is shared with run work.\n",
    )?;
    let config_path = out.join("tollgate.toml");
    let text = DEMO_CONFIG
        .replace("{ADDR}", &sandbox.addr().to_string())
        .replace("{CONFIG}", &config_path.display().to_string())
        .replace("{JIRA_CLOUD}", &sandbox.jira_cloud_url())
        .replace("{JIRA_CLOUD_USER}", tollgate_sandbox::JIRA_CLOUD_USER)
        .replace("{JIRA_DC}", &sandbox.jira_dc_url())
        .replace("{ADO}", &sandbox.ado_url())
        .replace("{ADO_ORG}", tollgate_sandbox::ADO_ORGANIZATION)
        .replace("{ADO_PROJECT}", tollgate_sandbox::ADO_PROJECT);
    std::fs::write(&config_path, text)?;
    eprintln!("Sandbox trackers on http://{}", sandbox.addr());
    eprintln!("Config written to {}", config_path.display());

    // From here on, exactly what `tollgate --config DIR/tollgate.toml ...` does.
    let session = Session::open(&config_path).await?;

    println!("\n== Plugins (tollgate plugins list)");
    let rows: Vec<[String; 5]> = session
        .registry
        .iter()
        .map(|p| {
            [
                p.info.id.clone(),
                p.info.version.clone(),
                p.contract.clone(),
                p.info
                    .capabilities
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                format!(
                    "{} ms, {}",
                    p.load_time.as_millis(),
                    match p.cache {
                        tollgate_runtime::cache::CacheOutcome::Hit => "from cache",
                        tollgate_runtime::cache::CacheOutcome::Compiled => "compiled",
                    }
                ),
            ]
        })
        .collect();
    print_table(
        &["ID", "VERSION", "CONTRACT", "CAPABILITIES", "LOADED"],
        &rows,
    );

    println!("\n== Connections (tollgate config validate --online)");
    let rows =
        check_connections(&session.config, &session.registry, &session.runtime, true).await?;
    print_table(&["CONNECTION", "PLUGIN", "RESULT"], &rows);

    println!("\n== Sync (tollgate sync)");
    let summaries = crate::cli::sync_all(&session, None, crate::cli::SyncFlags::default()).await?;
    let store = session.store()?;
    let records = store.export()?;
    let mut by_kind: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &records {
        *by_kind.entry(r.entity.kind().as_str()).or_default() += 1;
    }
    println!(
        "\n{} run(s) recorded (tollgate status); {} record(s) in the store (tollgate export): {}",
        summaries.len(),
        records.len(),
        by_kind
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let parallel = session.config.sync.parallel_connections;
    println!(
        "The {} connections were synced {} ([sync] parallel_connections = {parallel}), each claimed in the store so no other sync, by a daemon or by hand, runs beside it.",
        summaries.len(),
        if parallel > 1 {
            "side by side"
        } else {
            "one after another"
        },
    );

    println!("\n== Checks (tollgate check)");
    let mut store = store;
    let outcome = crate::check::run_checks(&session.config, store.as_mut(), as_of)?;
    crate::cli::print_findings_table(&outcome, 8);

    println!("\n== Publish (tollgate publish)");
    let outcomes = crate::publish::publish(&session, store.as_mut(), None, false, as_of).await?;
    crate::cli::print_outcomes(&outcomes);
    println!("{}", crate::publish::summary(&outcomes));
    let again = crate::publish::publish(&session, store.as_mut(), None, false, as_of).await?;
    println!(
        "Published again at once: {} (nothing is posted twice)",
        crate::publish::summary(&again)
    );

    println!("\n== Steering pack (tollgate report)");
    let as_of = as_of.to_string();
    let config = &session.config;
    let pack = crate::report::build(store.as_ref(), ReportKind::Steering, &as_of, config)?;
    tollgate_store::files::write_private(
        &out.join("steering-pack.html"),
        crate::report::html(&pack).as_bytes(),
    )?;
    tollgate_store::files::write_private(
        &out.join("steering-pack.md"),
        crate::report::markdown(&pack).as_bytes(),
    )?;
    crate::report::remember(store.as_mut(), "steering", &as_of)?;
    let table = |report: &crate::report::Report, name: &str| {
        report
            .tables
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.rows.to_vecs())
            .unwrap_or_default()
    };
    println!(
        "{} initiatives at risk, {} gate decisions due before the next steering ({}); written to {} and steering-pack.md",
        table(&pack, "initiatives-at-risk").len(),
        table(&pack, "gate-decisions-due").len(),
        pack.next_steering,
        out.join("steering-pack.html").display()
    );
    let proposals = table(&pack, "decision-proposals");
    let mut decided = std::collections::BTreeMap::<String, usize>::new();
    for row in &proposals {
        *decided.entry(row[9].clone()).or_default() += 1;
    }
    println!(
        "Decision proposals for {} open initiatives: {}",
        proposals.len(),
        decided
            .iter()
            .map(|(d, n)| format!("{n} {d}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let flagged: Vec<String> = table(&pack, "dependencies")
        .into_iter()
        .filter(|r| r[5] != "ok")
        .map(|r| format!("{} -> {}: {}", r[0], r[1], r[5].replace('\n', "; ")))
        .collect();
    for f in &flagged {
        println!("  dependency {f}");
    }

    println!("\n== Quarterly review (tollgate report --kind quarterly)");
    let review = crate::report::build(store.as_ref(), ReportKind::Quarterly, &as_of, config)?;
    tollgate_store::files::write_private(
        &out.join("quarterly-review.html"),
        crate::report::html(&review).as_bytes(),
    )?;
    tollgate_store::files::write_private(
        &out.join("quarterly-review.md"),
        crate::report::markdown(&review).as_bytes(),
    )?;
    crate::report::remember(store.as_mut(), "quarterly", &as_of)?;
    // Exactly what `tollgate publish` writes into [reports] folder.
    let folder = out.join("reports");
    let files = crate::report::publish_files(store.as_mut(), config, &as_of)?;
    println!(
        "{}: {} initiatives with value to review, {} value streams with KPIs, {} teams; written to {}",
        review.title,
        table(&review, "value-realised").len(),
        table(&review, "kpi-trends").len(),
        // Listed teams: not the rows for time of people on no team, nor the whole portfolio.
        table(&review, "capacity-demand")
            .iter()
            .filter(|r| !r[0].starts_with('(') && r[0] != "whole portfolio")
            .count(),
        out.join("quarterly-review.html").display()
    );
    println!("\n== Capitalisation (tollgate report --kind capitalisation)");
    let capitalisation =
        crate::report::build(store.as_ref(), ReportKind::Capitalisation, &as_of, config)?;
    for r in table(&capitalisation, "capitalisation-by-quarter") {
        println!(
            "  {}: {} h capitalisable, {} h expensed; {} capitalisable and {} expensed at known rates ({} h without a rate)",
            r[0], r[1], r[2], r[3], r[4], r[6]
        );
    }
    println!(
        "All three also as HTML, Markdown, JSON and CSV in {} ({} files), as `tollgate publish` writes them ([reports] folder)",
        folder.display(),
        files.len()
    );

    println!("\n== Trust (tollgate sync --full, while a proxy answers {{}} to every request)");
    let before = store.export()?.len();
    sandbox.set_faults(Some(tollgate_sandbox::Faults {
        empty: 1.0,
        max_in_row: u32::MAX,
        ..Default::default()
    }));
    let options = crate::sync::SyncOptions {
        full: true,
        retries: 0,
        ..crate::sync::SyncOptions::from_config(&session.config.sync)
    };
    let faulty = crate::sync::sync_connection(
        &session.runtime,
        &session.registry,
        &session.config,
        store.as_mut(),
        "jira",
        options,
        &crate::sync::events::LogOnly,
    )
    .await;
    sandbox.set_faults(None);
    match faulty {
        Ok(_) => println!("The sync passed, which it must not: answers without data are errors."),
        Err(e) => {
            let first = e.to_string();
            let cut: String = first.chars().take(220).collect();
            println!("The sync failed loudly: {cut}…");
        }
    }
    println!(
        "The store still holds {} of its {before} records: nothing was marked deleted on evidence that could be a fault.",
        store.export()?.len()
    );
    let healed = crate::sync::sync_connection(
        &session.runtime,
        &session.registry,
        &session.config,
        store.as_mut(),
        "jira",
        crate::sync::SyncOptions::from_config(&session.config.sync),
        &crate::sync::events::LogOnly,
    )
    .await
    .map_err(|e| Error::from(anyhow::anyhow!(e.to_string())))?;
    println!(
        "The next healthy sync completed (run {}); `tollgate status` shows both.",
        healed.run
    );

    moved_story(&session, &sandbox, store.as_mut()).await?;

    println!(
        "\n== A publish some epics refuse (tollgate publish, two epics deleted on the site since the check)"
    );
    let gone: Vec<String> = outcome
        .findings
        .iter()
        .filter(|f| f.finding.subject.connection.as_deref() == Some("jira"))
        .map(|f| f.finding.subject.key.clone())
        .collect::<std::collections::BTreeSet<String>>()
        .into_iter()
        .take(2)
        .collect();
    sandbox.jira().issues.retain(|i| !gone.contains(&i.key));
    let step = crate::publish::publish_step(&session, store.as_mut(), None, false, &as_of).await?;
    println!("{}", crate::publish::summary(&step.outcomes));
    match step.failure() {
        Some(failure) => {
            println!("`tollgate publish` goes on with the others, then exits 1: {failure}")
        }
        None => println!(
            "The publish passed, which it must not: {} are gone.",
            gone.join(" and ")
        ),
    }

    let requests = sandbox.requests();
    println!(
        "\nThe sandbox answered {} request(s); every one carried credentials the host added: {}",
        requests.len(),
        requests
            .iter()
            .all(|r| r.headers.iter().any(|(k, _)| k == "authorization"))
    );
    println!(
        "\nTo repeat by hand (the sandbox again on the port the config names):\n  tollgate sandbox --addr {addr} &\n  tollgate --config {cfg} config validate --online\n  tollgate --config {cfg} sync\n  tollgate --config {cfg} status\n  tollgate --config {cfg} export --format json\n  tollgate --config {cfg} check --as-of {as_of}\n  tollgate --config {cfg} publish --dry-run\n  tollgate --config {cfg} report --as-of {as_of} --format html --out pack.html\n  tollgate --config {cfg} run    # then open http://127.0.0.1:8080 with the token in {secret}\n\nTo run several instances on one PostgreSQL database instead (docs/operations.md):\n  tollgate migrate --from sqlite://{db} --to postgres://USER@HOST/DATABASE\n  TOLLGATE_STORE__URL=postgres://USER@HOST/DATABASE TOLLGATE_DAEMON__INSTANCE=a tollgate --config {cfg} run",
        addr = sandbox.addr(),
        cfg = config_path.display(),
        db = out.join("tollgate.db").display(),
        secret = out.join("secrets/read.token").display()
    );
    Ok(())
}
