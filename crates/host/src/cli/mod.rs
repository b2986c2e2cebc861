//! The command line. Results go to stdout, logs and progress to stderr.
//! Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config.

use crate::config::{Config, ConfigError, default_cache_dir};
pub mod bench;
pub mod demo;
pub mod migrate;
pub mod plugin_kit;
pub mod progress;

use crate::app::Session;
use crate::error::{Error, ErrorKind};
use crate::plugins::settings_json;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use tollgate_runtime::PluginRegistry;
use tollgate_runtime::http::printable;
use tollgate_runtime::{PluginSource, Runtime};

/// Tollgate: run a Development Management Office on top of Jira, Azure DevOps and HR/finance
/// spreadsheets. Sandboxed WebAssembly plugins pull the data; Tollgate checks gates and
/// business cases and shows the findings where people work.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, propagate_version = true)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "tollgate.toml",
        env = "TOLLGATE_CONFIG"
    )]
    pub config: PathBuf,
    /// More log output on stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline against the built-in sandbox trackers and write the config it
    /// used to DIR/tollgate.toml, so each step can be repeated by hand.
    Demo {
        /// Where to write the config, the secrets and the results.
        #[arg(long, default_value = "tollgate-demo")]
        out: PathBuf,
        /// Where the sandbox trackers listen (a fixed port lets the printed commands and the
        /// config work again after the demo, with `tollgate sandbox --addr`).
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
        /// The day the checks and reports are as of; by default the day the demo data
        /// describes, so the findings are the same on any day.
        #[arg(long, default_value = demo::DEMO_AS_OF)]
        as_of: String,
    },
    /// Inspect plugins.
    Plugins {
        /// What to do with plugins.
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Work with the configuration file.
    Config {
        /// What to do with the config.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Pull every stream of every connection (or one) into the store. A run that was
    /// interrupted resumes from its last committed page.
    Sync {
        /// Only this connection.
        #[arg(long)]
        connection: Option<String>,
        /// Ignore checkpoints: pull everything, and mark what the source no longer has as
        /// deleted.
        #[arg(long)]
        full: bool,
        /// Fail on any rejected row or file instead of keeping the good rows.
        #[arg(long)]
        strict: bool,
        /// Let this run mark deleted more than `[sync] max_delete_share` of a connection's
        /// records (a full pass that proves so many deletions is refused otherwise).
        #[arg(long)]
        allow_mass_delete: bool,
    },
    /// Run the rule pack over the store: the demand checklist, gates, resources, finance
    /// and data quality. Findings keep their history (first seen, resolved).
    Check {
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
        format: CheckFormat,
        /// Exit with 1 when a finding of this severity or worse is open.
        #[arg(long, value_parser = parse_severity)]
        fail_on: Option<tollgate_dmo::Severity>,
        /// Evaluate as of this date (YYYY-MM-DD) instead of today.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Show the rule pack in use: `md` is docs/rules.md, `toml` the pack itself.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Md)]
        format: RulesFormat,
    },
    /// Show the last runs per connection, and the daemon's jobs: how each last ended and
    /// when it runs next.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Runs shown per connection.
        #[arg(long, default_value_t = 5)]
        last: usize,
    },
    /// Copy a store to another, e.g. SQLite to PostgreSQL when moving to several instances,
    /// and prove the copy: every table read back from both, by row count and SHA-256. The
    /// target must be empty (or --force). Stop the daemons writing to the source first.
    Migrate(migrate::MigrateArgs),
    /// Write the normalised DMO model, every live record, in a stable order (schema:
    /// docs/export.md).
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Make a report from the store. `steering`: the steering pack (portfolio per value
    /// stream, decision proposals ranked against the capacity line, dependencies, gate
    /// decisions due, initiatives at risk, business cases, resource heat map, findings by rule,
    /// changes since the last pack). `quarterly`: the portfolio increment review (value
    /// realised against the business cases, KPI trends per stream, capacity against demand,
    /// investment mix). `capitalisation`: logged effort per initiative and quarter,
    /// capitalisable or expensed by `[reports.capitalisation]`. Run `check` first so the
    /// findings are current. HTML has charts.
    Report {
        /// Which report.
        #[arg(long, value_enum, default_value_t = ReportKind::Steering)]
        kind: ReportKind,
        /// `md`, `html` (one self-contained file), `json`, or `csv` (one file per table, in
        /// the --out directory).
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
        /// Write here instead of stdout (a directory for csv).
        #[arg(long)]
        out: Option<PathBuf>,
        /// As of this date (YYYY-MM-DD) instead of today.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Run as a service: the jobs of `[daemon.jobs]` on their schedules, and an HTTP server
    /// with /healthz, /readyz, /metrics (Prometheus) and the JSON API under /api/v1/. Stops
    /// cleanly on SIGTERM or Ctrl-C: running syncs commit their page and stop.
    Run,
    /// Send each connection's findings back to where people work: one Tollgate comment per
    /// initiative with findings, created once, then edited in place; when all are resolved,
    /// edited to say so. Publishing again without changes writes nothing.
    Publish {
        /// Only this connection.
        #[arg(long)]
        connection: Option<String>,
        /// Show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Measure the pipeline against the sandbox's synthetic Jira site (or, with `--tracker
    /// azure-devops`, its Azure DevOps organisation) at two sizes and two round-trip
    /// latencies: the download floor (each record fetched once), a full
    /// sync, an incremental sync after 1 % changed, check, report and publish --dry-run; for
    /// each the wall clock, CPU, peak memory, requests and records per second, and the ratio
    /// to the floor. Prints a Markdown table (BENCHMARKS.md). Linux only; takes minutes to
    /// an hour at the default sizes.
    Bench(bench::BenchArgs),
    /// Serve the fake Jira (Cloud and Data Center) and Azure DevOps on loopback, for trying
    /// Tollgate without a real tracker. Stops on Ctrl-C.
    Sandbox {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8089")]
        addr: String,
        /// Dataset of both trackers: `demo` (Jira: 25 epics, 300 issues and two sub-tasks,
        /// ~4,600 worklogs, and another project's epic and three issues, one under a portfolio
        /// epic;
        /// Azure DevOps: 6 epics, 126 work items, Completed Work history) or `synthetic:N`
        /// (Jira: N epics of 10 issues with 10 worklogs each; Azure DevOps: N epics of 10
        /// work items, the first task of each with two days of Completed Work; N up to 20000,
        /// about 6.5 GiB of memory at the most).
        #[arg(long, default_value = "demo")]
        dataset: String,
        /// Faults to inject, e.g. `429=0.1,503=0.05,drop=0.02,truncate=0.02,slow=0.1,slow-ms=300`
        /// (rates per request). Also what a broken proxy does: `empty` (a 200 of `{}`), `html`
        /// (a 200 sign-in page), `drift` (`summary` and `updated` as numbers), `echo` (request
        /// headers reflected); and `retry-after`, `seed`, `max-in-row`. On Azure DevOps, `429`
        /// is its throttling: a delayed 200 with `Retry-After`, then 429 (TF400733) for a
        /// client that does not wait.
        #[arg(long)]
        faults: Option<tollgate_sandbox::Faults>,
        /// Milliseconds every request waits before it is answered, ±25 % (a real tracker's
        /// round trip, e.g. 150), for benchmarks and for trying clients; 0 for none.
        #[arg(long, value_name = "MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
        latency: u64,
    },
}

/// `tollgate plugins ...`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the built-in plugins and those in `runtime.plugin_dir`.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Check that FILE is a plugin this Tollgate can load: a component of the
    /// tollgate:plugin world, of a contract version this host speaks, importing nothing
    /// the sandbox does not provide.
    Check {
        /// The component file (`.wasm`).
        file: PathBuf,
    },
    /// Start a plugin: write a crate NAME that builds with `cargo build --target
    /// wasm32-wasip2 --release` as it is: a paged pull from a REST/JSON API (its defaults
    /// read a Jira search, so it runs against `tollgate sandbox`), a push stub, unit tests, a
    /// settings schema, a README, the toolchain file, and a copy of the SDK beside it.
    New {
        /// The plugin's id: lower-case letters, digits and hyphens (`github-issues`).
        name: String,
        /// Where to write it (default: ./NAME); must not exist or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Depend on this SDK (crates/plugin-api of a Tollgate checkout) instead of a copy.
        #[arg(long, value_name = "PATH")]
        sdk: Option<PathBuf>,
    },
    /// Call one plugin without a config or a store: pull a stream page by page from a live
    /// source (or the sandbox) and print each record, then each page's cursor, checkpoint,
    /// deletions and diagnostics, as JSON lines; or publish findings with --push. A plugin's
    /// own tests can run it (docs/plugin-authoring.md).
    Run(plugin_kit::RunArgs),
}

/// `tollgate config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the config: syntax, keys, URLs, credentials present, each connection fits its
    /// plugin. With --online, also ask each connection's plugin to reach its source, and open
    /// the store.
    Validate {
        /// Also contact every source (authenticate, find the project, read the directory) and
        /// open the store as every other command does (created and brought to this version's
        /// schema if need be, as the first sync would).
        #[arg(long)]
        online: bool,
    },
    /// Print the reference of every key, written from the config types themselves (the
    /// reference part of docs/configuration.md).
    Reference,
}

/// Output formats of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Stable JSON for programs.
    Json,
}

/// Formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Aligned columns.
    Table,
    /// JSON document.
    Json,
    /// CSV rows.
    Csv,
}

pub use crate::config::ReportKind;

/// Formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown.
    Md,
    /// One self-contained HTML file.
    Html,
    /// The tables as JSON.
    Json,
    /// One CSV file per table.
    Csv,
}

/// Formats of `rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// Markdown (docs/rules.md).
    Md,
    /// The pack as TOML.
    Toml,
}

fn parse_severity(s: &str) -> Result<tollgate_dmo::Severity, String> {
    s.parse()
}

/// Formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON document.
    Json,
}

/// The exit code of an error: 2 for bad usage or config, 1 for a failure at run time.
pub fn exit_code(e: &Error) -> u8 {
    match e.kind {
        ErrorKind::Usage => 2,
        ErrorKind::Runtime => 1,
    }
}

/// The whole program: parse the command line, run it, map the outcome to an exit code.
pub fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    crate::logging::init(cli.verbose);
    stdout_failure_is_an_error();
    if matches!(
        cli.command,
        Command::Check { .. } | Command::Report { .. } | Command::Sync { .. } | Command::Run
    ) {
        crate::memory::one_allocator_arena();
    }
    if matches!(
        cli.command,
        Command::Check { .. } | Command::Report { .. } | Command::Run
    ) {
        crate::memory::fixed_own_pages_threshold();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli));
    // A plugin call stopped by its time limit may leave a thread blocked in a read the
    // sandbox cannot interrupt; do not let it keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    crate::memory::record_peak();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", printable(&e.to_string()));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Output that cannot be written (a full disk, a closed pipe) ends the command with an error
/// that says so (exit 1), not a panic with a backtrace (exit 101): `print!` panics when
/// stdout fails, and the commands print through it in many places. What the command stored
/// before it printed stays stored; one that was writing the store at that moment is left as
/// a kill would leave it (its transaction rolled back).
fn stdout_failure_is_an_error() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(reason) = info
            .payload_as_str()
            .and_then(|m| m.strip_prefix("failed printing to stdout: "))
        {
            eprintln!("error: cannot write to stdout: {reason}");
            std::process::exit(1);
        }
        default(info)
    }));
}

/// Run a parsed command line.
pub async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Demo { out, addr, as_of } => demo::run(&out, &addr, &as_of).await,
        Command::Plugins { command } => plugins(&cli.config, command).await,
        Command::Config {
            command: ConfigCommand::Validate { online },
        } => validate(&cli.config, online).await,
        Command::Config {
            command: ConfigCommand::Reference,
        } => {
            print!("{}", crate::config::reference::markdown());
            Ok(())
        }
        Command::Sync {
            connection,
            full,
            strict,
            allow_mass_delete,
        } => {
            let how = SyncFlags {
                full,
                strict,
                allow_mass_delete,
            };
            sync(&cli.config, connection.as_deref(), how).await
        }
        Command::Status { format, last } => status(&cli.config, format, last),
        Command::Check {
            format,
            fail_on,
            as_of,
        } => check(&cli.config, format, fail_on, as_of.as_deref()),
        Command::Rules { format } => rules(&cli.config, format),
        Command::Export { format: _, out } => export(&cli.config, out.as_deref()),
        Command::Run => crate::daemon::run(&cli.config).await,
        Command::Report {
            kind,
            format,
            out,
            as_of,
        } => report(&cli.config, kind, format, out.as_deref(), as_of.as_deref()),
        Command::Publish {
            connection,
            dry_run,
        } => publish(&cli.config, connection.as_deref(), dry_run).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Migrate(args) => migrate::run(&args),
        Command::Sandbox {
            addr,
            dataset,
            faults,
            latency,
        } => sandbox(&addr, dataset, faults, latency).await,
    }
}

/// The flags of `tollgate sync`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncFlags {
    /// `--full`.
    pub full: bool,
    /// `--strict`.
    pub strict: bool,
    /// `--allow-mass-delete`.
    pub allow_mass_delete: bool,
}

/// Sync the named connection, or all; print a summary. Returns the summaries.
pub async fn sync_all(
    session: &Session,
    only: Option<&str>,
    flags: SyncFlags,
) -> Result<Vec<crate::sync::SyncSummary>, Error> {
    let options = crate::sync::SyncOptions {
        full: flags.full,
        strict: flags.strict,
        allow_mass_delete: flags.allow_mass_delete,
        ..crate::sync::SyncOptions::from_config(&session.config.sync)
    };
    // Claimed in the store like a daemon's syncs: never beside another sync of the same
    // connection, by a daemon or another `tollgate sync`.
    let claims = crate::lease::StoreClaims::for_command_line(session);
    let results = crate::sync::sync_connections(
        session,
        only,
        &options,
        &claims,
        &progress::ProgressBars::for_stderr(),
    )
    .await?;
    let store = session.store()?;
    let mut summaries = Vec::new();
    let mut failures = Vec::new();
    for (_, result) in results {
        match result {
            crate::sync::ConnectionSync::Synced(summary) => summaries.push(summary),
            crate::sync::ConnectionSync::Failed(e) => {
                if let Some(summary) = e.summary() {
                    summaries.push(summary.clone());
                }
                failures.push(e.to_string());
            }
            crate::sync::ConnectionSync::Skipped => {}
        }
    }
    for (connection, claim) in claims.refused() {
        failures.push(format!(
            "connection `{connection}` was not synced: instance `{}` is syncing it (its lease runs until {}); try again when it is done",
            claim.instance, claim.lease_until
        ));
    }
    let rows: Vec<[String; 7]> = summaries
        .iter()
        .flat_map(|s| {
            s.streams.iter().map(move |st| {
                [
                    s.connection.clone(),
                    format!(
                        "{}{}",
                        st.stream,
                        if st.resumed { " (resumed)" } else { "" }
                    ),
                    if st.full { "full" } else { "incremental" }.to_string(),
                    st.pages.to_string(),
                    st.written.to_string(),
                    st.deleted.to_string(),
                    st.diagnostics.to_string(),
                ]
            })
        })
        .collect();
    print_table(
        &[
            "CONNECTION",
            "STREAM",
            "MODE",
            "PAGES",
            "WRITTEN",
            "DELETED",
            "DIAGNOSTICS",
        ],
        &rows,
    );
    for summary in &summaries {
        for st in &summary.streams {
            if let Some(why) = &st.sweep_withheld {
                println!(
                    "{}/{}: deletions withheld: {why}",
                    summary.connection, st.stream
                );
            }
        }
    }
    for summary in &summaries {
        let diagnostics = store.diagnostics(summary.run)?;
        if diagnostics.is_empty() {
            continue;
        }
        println!(
            "\n{}: {} diagnostic(s) in run {}:",
            summary.connection,
            diagnostics.len(),
            summary.run
        );
        for d in diagnostics.iter().take(20) {
            println!(
                "  {:<7} {:<15} {}: {}",
                d.severity.as_str(),
                printable(&d.code),
                printable(d.location.as_deref().unwrap_or(&d.stream)),
                printable(&d.message)
            );
        }
        if diagnostics.len() > 20 {
            println!("  … and {} more", diagnostics.len() - 20);
        }
    }
    if !failures.is_empty() {
        return Err(Error::runtime(anyhow::anyhow!(
            "{} connection(s) failed: {}",
            failures.len(),
            failures.join("; ")
        )));
    }
    Ok(summaries)
}

async fn sync(config_path: &Path, only: Option<&str>, flags: SyncFlags) -> Result<(), Error> {
    let session = Session::open(config_path).await?;
    sync_all(&session, only, flags).await.map(|_| ())
}

fn open_store_only(config_path: &Path) -> Result<Box<dyn tollgate_store::Store>, Error> {
    let config = Config::load(config_path)?;
    Ok(tollgate_store::open(&config.store.url, &config.base_dir)?)
}

fn status(config_path: &Path, format: Format, last: usize) -> Result<(), Error> {
    let config = Config::load(config_path)?;
    let store = tollgate_store::open(&config.store.url, &config.base_dir)?;
    let mut runs = Vec::new();
    for name in config.connections.keys() {
        runs.extend(store.runs(Some(name), last)?);
    }
    // The daemon's jobs: how each last ended, and when it runs next.
    let now = chrono::Utc::now();
    let mut jobs = Vec::new();
    for (name, job) in &config.daemon.jobs {
        let state = store.job_state(name)?;
        let zone = job.time_zone.as_deref().unwrap_or(&config.daemon.time_zone);
        let next = crate::schedule::schedule(&job.schedule)
            .ok()
            .zip(crate::schedule::time_zone(zone).ok())
            .and_then(|(s, tz)| crate::schedule::next_after(&s, tz, now))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        jobs.push(serde_json::json!({
            "job": name,
            "schedule": job.schedule,
            "time_zone": zone,
            "last_due": state.as_ref().map(|s| s.last_due.clone()),
            "last_outcome": state.as_ref().map(|s| s.last_outcome.clone()),
            "last_finished": state.as_ref().map(|s| s.last_finished.clone()),
            "next_run": next,
        }));
    }
    // Work claimed by daemon instances on this store: held (lease running) or left by an
    // instance that stopped renewing (expired; another takes it over). Done runs are history.
    let stamp = tollgate_store::now();
    let claims: Vec<serde_json::Value> = store
        .claims()?
        .into_iter()
        .filter(|c| !c.done)
        .map(|c| {
            let state = if c.lease_until.as_str() >= stamp.as_str() {
                "held"
            } else {
                "expired"
            };
            serde_json::json!({
                "work": c.key,
                "instance": c.instance,
                "since": c.claimed_at,
                "lease_until": c.lease_until,
                "state": state,
            })
        })
        .collect();
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"runs": runs, "jobs": jobs, "claims": claims})
            )
            .expect("JSON")
        ),
        Format::Table => {
            let rows: Vec<[String; 8]> = runs
                .iter()
                .map(|r| {
                    [
                        r.connection.clone(),
                        r.id.to_string(),
                        serde_json::to_value(r.status)
                            .unwrap()
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        r.started_at.clone(),
                        r.pages.to_string(),
                        r.records_written.to_string(),
                        r.records_deleted.to_string(),
                        r.error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "CONNECTION",
                    "RUN",
                    "STATUS",
                    "STARTED",
                    "PAGES",
                    "WRITTEN",
                    "DELETED",
                    "ERROR",
                ],
                &rows,
            );
            if !jobs.is_empty() {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("–").to_string();
                let rows: Vec<[String; 5]> = jobs
                    .iter()
                    .map(|j| {
                        [
                            text(&j["job"]),
                            format!("{} ({})", text(&j["schedule"]), text(&j["time_zone"])),
                            text(&j["last_outcome"]),
                            text(&j["last_finished"]),
                            text(&j["next_run"]),
                        ]
                    })
                    .collect();
                println!();
                print_table(
                    &[
                        "JOB",
                        "SCHEDULE",
                        "LAST OUTCOME",
                        "LAST FINISHED",
                        "NEXT RUN",
                    ],
                    &rows,
                );
            }
            if !claims.is_empty() {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("–").to_string();
                let rows: Vec<[String; 5]> = claims
                    .iter()
                    .map(|c| {
                        [
                            text(&c["work"]),
                            text(&c["instance"]),
                            text(&c["state"]),
                            text(&c["since"]),
                            text(&c["lease_until"]),
                        ]
                    })
                    .collect();
                println!();
                print_table(
                    &["CLAIMED WORK", "INSTANCE", "STATE", "SINCE", "LEASE UNTIL"],
                    &rows,
                );
            }
        }
    }
    Ok(())
}

/// Print a check's findings in `format`.
pub fn print_findings(outcome: &crate::check::CheckOutcome, format: CheckFormat) {
    match format {
        CheckFormat::Json => println!("{}", serde_json::to_string_pretty(outcome).expect("JSON")),
        CheckFormat::Csv => {
            let mut w = csv_writer();
            let _ = w.write_record([
                "severity",
                "rule",
                "subject_kind",
                "subject",
                "message",
                "fingerprint",
                "first_seen",
            ]);
            for f in &outcome.findings {
                let _ = w.write_record(
                    [
                        f.finding.severity.as_str(),
                        &f.finding.rule_id,
                        f.finding.subject.kind.as_str(),
                        &f.finding.subject.key,
                        &f.finding.message,
                        &f.finding.fingerprint,
                        &f.first_seen,
                    ]
                    .map(|c| crate::report::spreadsheet_safe(c).into_owned()),
                );
            }
            let _ = w.flush();
        }
        CheckFormat::Table => print_findings_table(outcome, usize::MAX),
    }
}

/// The worst `limit` open findings as a table, then the summary line.
pub fn print_findings_table(outcome: &crate::check::CheckOutcome, limit: usize) {
    let rows: Vec<[String; 4]> = outcome
        .findings
        .iter()
        .take(limit)
        .map(|f| {
            [
                f.finding.severity.as_str().to_string(),
                f.finding.rule_id.clone(),
                format!("{} {}", f.finding.subject.kind, f.finding.subject.key),
                f.finding.message.clone(),
            ]
        })
        .collect();
    print_table(&["SEVERITY", "RULE", "SUBJECT", "MESSAGE"], &rows);
    if outcome.findings.len() > rows.len() {
        println!(
            "… {} more (tollgate check)",
            outcome.findings.len() - rows.len()
        );
    }
    println!("{}", check_summary(outcome));
}

/// One line: counts by severity and what changed.
pub fn check_summary(outcome: &crate::check::CheckOutcome) -> String {
    use tollgate_dmo::Severity::*;
    let count = |s| {
        outcome
            .findings
            .iter()
            .filter(|f| f.finding.severity == s)
            .count()
    };
    let c = outcome.changes;
    format!(
        "{} open finding(s) as of {}: {} blocker, {} error, {} warning, {} info; {} new, {} persisting, {} reopened, {} resolved",
        outcome.findings.len(),
        outcome.as_of,
        count(Blocker),
        count(Error),
        count(Warning),
        count(Info),
        c.new,
        c.persisting,
        c.reopened,
        c.resolved
    )
}

fn csv_writer() -> csv::Writer<std::io::Stdout> {
    csv::Writer::from_writer(std::io::stdout())
}

fn check(
    config_path: &Path,
    format: CheckFormat,
    fail_on: Option<tollgate_dmo::Severity>,
    as_of: Option<&str>,
) -> Result<(), Error> {
    let config = Config::load(config_path)?;
    let as_of = match as_of {
        Some(d) if tollgate_dmo::calendar::day_number(d).is_some() && d.len() == 10 => {
            d.to_string()
        }
        Some(d) => {
            return Err(Error::usage(anyhow::anyhow!(
                "--as-of `{d}` is not a date like 2026-11-27"
            )));
        }
        None => crate::clock::today(),
    };
    let mut store = tollgate_store::open(&config.store.url, &config.base_dir)?;
    let outcome = crate::check::run_checks(&config, store.as_mut(), &as_of)?;
    print_findings(&outcome, format);
    if let Some(threshold) = fail_on {
        let failing = outcome
            .findings
            .iter()
            .filter(|f| f.finding.severity >= threshold)
            .count();
        if failing > 0 {
            return Err(Error::runtime(anyhow::anyhow!(
                "{failing} finding(s) at {} or worse (--fail-on)",
                threshold.as_str()
            )));
        }
    }
    Ok(())
}

fn rules(config_path: &Path, format: RulesFormat) -> Result<(), Error> {
    let config = optional_config(config_path)?.unwrap_or_default();
    let pack = crate::check::rule_pack(&config)?;
    match format {
        RulesFormat::Md => print!("{}", crate::check::pack_markdown(&pack)),
        RulesFormat::Toml => print!("{}", pack.to_toml()),
    }
    Ok(())
}

/// The export document, as [`write_export`] writes it, parsed (for a store of a test's size:
/// it is all in memory).
pub fn export_document(store: &dyn tollgate_store::Store) -> Result<serde_json::Value, Error> {
    let mut text = Vec::new();
    write_export(store, &mut text, "memory")?;
    serde_json::from_slice(&text)
        .map_err(|e| anyhow::anyhow!("the export is not the JSON it should be: {e}").into())
}

/// Writes the export document (docs/export.md) to `out` one record at a time, as
/// `serde_json::to_string_pretty` would write the whole document (`format`, `records`,
/// `version`), and a newline, without the store's records in memory at once (three copies of
/// them were: 5 GB at 1,120,000 records). `dest` names `out` in an error.
pub fn write_export(
    store: &dyn tollgate_store::Store,
    out: &mut dyn std::io::Write,
    dest: &str,
) -> Result<(), Error> {
    let cannot = |e: std::io::Error| Error::from(anyhow::anyhow!("cannot write {dest}: {e}"));
    // The document's keys in serde_json's order (sorted): format, records, version.
    out.write_all(b"{\n  \"format\": \"tollgate-export\",\n  \"records\": [")
        .map_err(cannot)?;
    let mut first = true;
    let mut failed: Option<std::io::Error> = None;
    for kind in tollgate_dmo::model::EntityKind::ALL {
        store.each_record(kind, &mut |record| {
            if failed.is_some() {
                return;
            }
            let written = serde_json::to_value(&record)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .map_err(std::io::Error::other)
                .and_then(|text| {
                    out.write_all(if first { b"\n" } else { b",\n" })?;
                    // A record two levels down: each of its lines indented by four spaces
                    // (JSON text has no newline inside a string).
                    for (i, line) in text.lines().enumerate() {
                        if i > 0 {
                            out.write_all(b"\n")?;
                        }
                        out.write_all(b"    ")?;
                        out.write_all(line.as_bytes())?;
                    }
                    Ok(())
                });
            first = false;
            failed = written.err();
        })?;
        if let Some(e) = failed.take() {
            return Err(cannot(e));
        }
    }
    out.write_all(if first { b"]" } else { b"\n  ]" })
        .and_then(|()| out.write_all(b",\n  \"version\": 1\n}\n"))
        .and_then(|()| out.flush())
        .map_err(cannot)
}

/// `tollgate export`: to stdout, or to `out` through a file beside it renamed when complete,
/// so a failed export leaves no half a document under the name asked for.
fn export(config_path: &Path, out: Option<&Path>) -> Result<(), Error> {
    let store = open_store_only(config_path)?;
    let Some(path) = out else {
        let stdout = std::io::stdout();
        return write_export(
            store.as_ref(),
            &mut std::io::BufWriter::new(stdout.lock()),
            "stdout",
        );
    };
    let dest = path.display().to_string();
    let partial = path.with_file_name(format!(
        ".{}.partial",
        path.file_name()
            .map_or_else(|| "export".into(), |n| n.to_string_lossy())
    ));
    let file =
        std::fs::File::create(&partial).map_err(|e| anyhow::anyhow!("cannot write {dest}: {e}"))?;
    let written =
        write_export(store.as_ref(), &mut std::io::BufWriter::new(file), &dest).and_then(|()| {
            std::fs::rename(&partial, path)
                .map_err(|e| anyhow::anyhow!("cannot write {dest}: {e}").into())
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// The config if the file exists; `None` when the default path is absent (commands that can
/// work without a config use defaults then).
fn optional_config(path: &Path) -> Result<Option<Config>, ConfigError> {
    if path == Path::new("tollgate.toml") && !path.exists() {
        return Ok(None);
    }
    Config::load(path).map(Some)
}

async fn plugins(config_path: &Path, command: PluginsCommand) -> Result<(), Error> {
    let config = optional_config(config_path)?;
    let cache_dir = config
        .as_ref()
        .map(Config::cache_dir)
        .unwrap_or_else(default_cache_dir);
    let runtime = Runtime::new(&cache_dir)?;
    match command {
        PluginsCommand::List { format } => {
            let plugin_dir = config
                .as_ref()
                .and_then(|c| c.runtime.plugin_dir.as_ref().map(|d| c.resolve(d)));
            let registry = crate::plugins::load(&runtime, plugin_dir.as_deref()).await?;
            print_plugins(&registry, format);
            Ok(())
        }
        PluginsCommand::New { name, dir, sdk } => {
            let dir = plugin_kit::new_plugin(&name, dir.as_deref(), sdk.as_deref())?;
            let wasm = format!(
                "target/wasm32-wasip2/release/{}.wasm",
                name.replace('-', "_")
            );
            println!("wrote the plugin crate {name} to {}", dir.display());
            println!("  cd {}", dir.display());
            println!("  cargo test                                     # its unit tests");
            println!("  cargo build --target wasm32-wasip2 --release   # the component");
            println!("  tollgate plugins check {wasm}");
            println!(
                "  tollgate plugins run {wasm} --stream initiatives --connection api=URL [--token-env VAR]"
            );
            println!("docs/plugin-authoring.md walks through the rest.");
            Ok(())
        }
        PluginsCommand::Run(args) => plugin_kit::run_plugin(&runtime, args).await,
        PluginsCommand::Check { file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| Error::from(anyhow::anyhow!("cannot read {}: {e}", file.display())))?;
            let plugin = runtime
                .load(&bytes, PluginSource::File(file.clone()))
                .await?;
            let i = &plugin.info;
            println!(
                "ok: {} {} (contract tollgate:plugin@{}): {}",
                i.id, i.version, plugin.contract, i.description
            );
            let capabilities: Vec<String> = i
                .capabilities
                .iter()
                .map(|c| c.as_str().to_string())
                .collect();
            println!("  capabilities: {}", or_none(&capabilities));
            println!("  connections:  {}", or_none(&i.connections));
            println!("  streams:      {}", or_none(&i.streams));
            println!(
                "  files:        {}",
                if i.data_dir {
                    "reads one read-only directory (set data_dir)"
                } else {
                    "none"
                }
            );
            Ok(())
        }
    }
}

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn print_plugins(registry: &PluginRegistry, format: Format) {
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = registry
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "id": p.info.id,
                        "version": p.info.version,
                        "contract": p.contract,
                        "description": p.info.description,
                        "capabilities": p.info.capabilities,
                        "connections": p.info.connections,
                        "streams": p.info.streams,
                        "data_dir": p.info.data_dir,
                        "source": p.source,
                        "sha256": p.sha256,
                        "settings_schema": p.info.settings_schema,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list).expect("JSON"));
        }
        Format::Table => {
            let rows: Vec<[String; 5]> = registry
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
                        p.source.to_string(),
                    ]
                })
                .collect();
            print_table(
                &["ID", "VERSION", "CONTRACT", "CAPABILITIES", "SOURCE"],
                &rows,
            );
        }
    }
}

/// One line per initiative: what was done there.
pub fn print_outcomes(outcomes: &[crate::publish::Outcome]) {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for o in outcomes {
        if let Some(last) = rows.last_mut()
            && last[0] == o.connection
            && last[1] == o.subject
            && last[2] == o.result.as_str()
        {
            last[3] = (last[3].parse::<usize>().unwrap_or(0) + 1).to_string();
            continue;
        }
        rows.push([
            o.connection.clone(),
            o.subject.clone(),
            o.result.as_str().to_string(),
            "1".to_string(),
            o.detail.clone(),
        ]);
    }
    print_table(
        &["CONNECTION", "INITIATIVE", "RESULT", "FINDINGS", "DETAIL"],
        &rows,
    );
}

/// Print rows under a header, columns padded to the widest cell.
pub fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(printable(cell).chars().count());
        }
    }
    // Lines gathered and printed ~64 KiB at a time: a `println!` a line made a write to the
    // terminal or pipe a line (44,000 of them for a large portfolio's findings).
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let cells: Vec<std::borrow::Cow<'_, str>> = cells.into_iter().map(printable).collect();
        let start = out.len();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.truncate(start + out[start..].trim_end().len());
        out.push('\n');
        if out.len() >= 64 << 10 {
            print!("{out}");
            out.clear();
        }
    };
    line(header.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    print!("{out}");
}

/// Validate a config; with `online`, run each connection's check. Returns the per-connection
/// results for the caller to print.
pub async fn check_connections(
    config: &Config,
    registry: &PluginRegistry,
    runtime: &Runtime,
    online: bool,
) -> Result<Vec<[String; 3]>, Error> {
    let mut rows = Vec::new();
    let mut failed = 0;
    for name in config.connections.keys() {
        let (plugin, ctx) = crate::plugins::bind(registry, config, name)?;
        let result = if online {
            match runtime
                .check(plugin, &ctx, &settings_json(config, name))
                .await
            {
                Ok(line) => format!("ok: {line}"),
                Err(e) => {
                    failed += 1;
                    format!("FAILED: {e}")
                }
            }
        } else {
            "config ok".to_string()
        };
        rows.push([name.clone(), plugin.info.id.clone(), result]);
    }
    if failed > 0 {
        print_table(&["CONNECTION", "PLUGIN", "RESULT"], &rows);
        return Err(Error::runtime(anyhow::anyhow!(
            "{failed} connection check(s) failed"
        )));
    }
    Ok(rows)
}

async fn validate(config_path: &Path, online: bool) -> Result<(), Error> {
    // Every problem at once, each with its key, its line and what is expected.
    let text = std::fs::read_to_string(config_path).unwrap_or_default();
    let config = match Config::load_unchecked(config_path) {
        Ok(c) => c,
        Err(e) => {
            print_problems(config_path, &text, &[e]);
            return Err(Error::usage(anyhow::anyhow!(
                "{}: 1 problem",
                config_path.display()
            )));
        }
    };
    let mut problems = config.problems();
    problems.extend(config.secret_problems());
    if let Err(f) = crate::check::rule_pack(&config) {
        problems.push(ConfigError::Invalid {
            path: config.path.clone(),
            key: "checks.rule_pack".into(),
            message: format!("{:#}", f.error),
        });
    }
    let warnings = config.warnings();
    let Session {
        config,
        runtime,
        registry,
    } = Session::with(config).await?;
    // The connections bound to their plugins: what a run would refuse (endpoints, data
    // directories), unless the problems above (a secret, say) already name it.
    let bindable = problems.is_empty();
    for (name, conn) in &config.connections {
        if bindable && let Err(e) = crate::plugins::bind(&registry, &config, name) {
            problems.push(e);
        }
        // Each connection's settings against its plugin's schema, whatever else is wrong: every
        // problem at once (a missing secret does not hide a misspelt setting).
        let Some(plugin) = registry.get(&conn.plugin) else {
            continue;
        };
        let settings = settings_json(&config, name);
        for (at, message) in crate::schema::check(&plugin.info.settings_schema, &settings) {
            let key = if at.is_empty() {
                format!("connections.{name}.settings")
            } else {
                format!("connections.{name}.settings.{at}")
            };
            problems.push(ConfigError::Invalid {
                path: config.path.clone(),
                key,
                message: format!("{message} (plugin `{}`)", plugin.info.id),
            });
        }
    }
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    if !problems.is_empty() {
        print_problems(config_path, &text, &problems);
        return Err(Error::usage(anyhow::anyhow!(
            "{}: {} problem(s)",
            config_path.display(),
            problems.len()
        )));
    }
    // The store too, first, so that its line is there whatever the sources answer: a daemon
    // whose database cannot be reached, or is of a newer version, would fail at its first job.
    let store_failure = if online {
        let store = tollgate_store::redact_url(&config.store.url);
        match tollgate_store::open(&config.store.url, &config.base_dir) {
            Ok(_) => {
                println!("store {store}: opened");
                None
            }
            Err(e) => {
                println!("store: FAILED: {e}");
                Some(format!("the store {store} cannot be opened"))
            }
        }
    } else {
        None
    };
    let rows = check_connections(&config, &registry, &runtime, online).await?;
    print_table(&["CONNECTION", "PLUGIN", "RESULT"], &rows);
    if let Some(failure) = store_failure {
        return Err(Error::runtime(anyhow::anyhow!(failure)));
    }
    println!("{}: valid", config_path.display());
    Ok(())
}

/// Each problem on its own line, as `FILE:LINE: `key`: message`.
fn print_problems(config_path: &Path, text: &str, problems: &[ConfigError]) {
    for p in problems {
        match p {
            ConfigError::Invalid { key, message, .. } => {
                let line = crate::config::line_of(text, key)
                    .map(|l| format!(":{l}"))
                    .unwrap_or_default();
                eprintln!(
                    "{}{line}: `{key}`: {}",
                    config_path.display(),
                    printable(message)
                );
            }
            other => eprintln!("{}", printable(&other.to_string())),
        }
    }
}

fn report(
    config_path: &Path,
    kind: ReportKind,
    format: ReportFormat,
    out: Option<&Path>,
    as_of: Option<&str>,
) -> Result<(), Error> {
    let config = Config::load(config_path)?;
    let mut store = tollgate_store::open(&config.store.url, &config.base_dir)?;
    let as_of = as_of
        .map(str::to_string)
        .unwrap_or_else(crate::clock::today);
    let pack = crate::report::build(store.as_ref(), kind, &as_of, &config)?;
    if format == ReportFormat::Csv {
        let Some(dir) = out else {
            return Err(Error::usage(anyhow::anyhow!(
                "--format csv writes one file per table: give --out DIR"
            )));
        };
        for path in crate::report::write_tables(&pack, dir)? {
            eprintln!("wrote {}", path.display());
        }
    } else {
        // Onto the file or stdout as it is made: a full disk or a closed pipe is an error
        // naming where, not a panic.
        let write = |w: &mut dyn std::io::Write| -> std::io::Result<()> {
            match format {
                ReportFormat::Html => crate::report::write_html(&pack, w)?,
                ReportFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &pack)?;
                    w.write_all(b"\n")?;
                }
                _ => crate::report::write_markdown(&pack, w)?,
            }
            w.flush()
        };
        let written = match out {
            Some(path) => std::fs::File::create(path)
                .and_then(|file| write(&mut std::io::BufWriter::new(file))),
            None => write(&mut std::io::BufWriter::new(std::io::stdout().lock())),
        };
        written.map_err(|e| {
            Error::runtime(anyhow::anyhow!(
                "cannot write {}: {e}",
                out.map_or("the report to stdout".into(), |p| p.display().to_string())
            ))
        })?;
        if let Some(path) = out {
            eprintln!("wrote {}", path.display());
        }
    }
    crate::report::remember(store.as_mut(), kind.as_str(), &as_of)?;
    Ok(())
}

async fn publish(config_path: &Path, only: Option<&str>, dry_run: bool) -> Result<(), Error> {
    let session = Session::open(config_path).await?;
    if let Some(name) = only {
        crate::plugins::connection(&session.config, name)?;
    }
    let mut store = session.store()?;
    let step = crate::publish::publish_step(
        &session,
        store.as_mut(),
        only,
        dry_run,
        &crate::clock::today(),
    )
    .await?;
    print_outcomes(&step.outcomes);
    println!(
        "{}{}",
        if dry_run { "dry run: " } else { "" },
        crate::publish::summary(&step.outcomes)
    );
    if dry_run && let Some(folder) = &session.config.reports.folder {
        println!(
            "dry run: would write the reports into {}",
            session.config.base_dir.join(folder).display()
        );
    }
    for path in &step.files {
        println!("wrote {}", path.display());
    }
    if let Some(failure) = step.failure() {
        return Err(Error::runtime(anyhow::anyhow!(failure)));
    }
    Ok(())
}

async fn sandbox(
    addr: &str,
    dataset: String,
    faults: Option<tollgate_sandbox::Faults>,
    latency_ms: u64,
) -> Result<(), Error> {
    if let Err(e) = tollgate_sandbox::Dataset::named(&dataset) {
        return Err(Error::usage(anyhow::anyhow!("--dataset: {e}")));
    }
    let options = tollgate_sandbox::Options {
        dataset: dataset.clone(),
        faults,
        latency_ms,
        // It may serve for days: a log of every request would only grow.
        request_log: false,
    };
    let sandbox = tollgate_sandbox::Sandbox::start_with(addr, options)
        .await
        .map_err(|e| Error::usage(anyhow::anyhow!("cannot listen on {addr}: {e}")))?;
    println!("Jira dataset: {dataset}");
    if latency_ms > 0 {
        println!("Every request waits {latency_ms} ms (±25 %) before it is answered.");
    }
    println!("Sandbox trackers on http://{}", sandbox.addr());
    println!(
        "  Jira Cloud:        {}  (basic: {} / {})",
        sandbox.jira_cloud_url(),
        tollgate_sandbox::JIRA_CLOUD_USER,
        tollgate_sandbox::JIRA_CLOUD_TOKEN
    );
    println!(
        "  Jira Data Center:  {}  (bearer: {})",
        sandbox.jira_dc_url(),
        tollgate_sandbox::JIRA_DC_TOKEN
    );
    println!(
        "  Azure DevOps:      {}/{}  (PAT: {})",
        sandbox.ado_url(),
        tollgate_sandbox::ADO_ORGANIZATION,
        tollgate_sandbox::ADO_TOKEN
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
