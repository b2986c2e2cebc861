//! The configuration file (`tollgate.toml`) and its environment overrides.
//!
//! The doc comments of these structs are the reference for users; docs/configuration.md
//! shows a complete example. Paths in the file are relative to the file's directory.
//! Environment variables override keys as `TOLLGATE_SECTION__KEY`, e.g.
//! `TOLLGATE_RUNTIME__LIMITS__TIMEOUT_SECS=30`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use tollgate_runtime::{Credentials, Limits, Secret};

/// A configuration problem: what, where, and what to do.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read or parsed.
    #[error("cannot load config {path}: {message}")]
    Load {
        /// The config file.
        path: PathBuf,
        /// What the parser said (with the key).
        message: String,
    },
    /// A value is present but wrong.
    #[error("config {path}: `{key}`: {message}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// The key, e.g. `connections.acme.auth.token_env`.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The WebAssembly runtime: plugin directory, artefact cache, default limits.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// Where the normalised model, sync progress and run history are kept.
    #[serde(default)]
    pub store: StoreConfig,
    /// The checks: which rule pack.
    #[serde(default)]
    pub checks: ChecksConfig,
    /// Named connections: one configured use of a plugin (a Jira site, a CSV folder).
    #[serde(default)]
    pub connections: BTreeMap<String, ConnectionConfig>,
    /// `tollgate run`: the HTTP server and the scheduled jobs.
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// Reports: where `publish` writes them, how the demand is ranked.
    #[serde(default)]
    pub reports: ReportsConfig,
    /// How far one sync may go: deletions, pages, time.
    #[serde(default)]
    pub sync: SyncConfig,
    /// Directory of the config file; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file this was loaded from, for messages.
    #[serde(skip)]
    pub path: PathBuf,
}

/// `[sync]`: the bounds of one sync run. Defaults suit a nightly sync of a large site.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Largest share (0 to 1) of a connection's live records one run may mark deleted
    /// (default 0.2). A full pass that would delete more marks nothing and fails, naming the
    /// numbers; `tollgate sync --full --allow-mass-delete` applies it when the source really
    /// lost the records.
    #[serde(default = "default_max_delete_share")]
    pub max_delete_share: f64,
    /// Pages one stream may take in one run before it is stopped as a runaway (default
    /// 100000).
    #[serde(default = "default_max_pages")]
    pub max_pages_per_stream: u64,
    /// Wall-clock seconds one stream may take in one run (default 43200, 12 hours).
    #[serde(default = "default_stream_timeout")]
    pub stream_timeout_secs: f64,
    /// How often a page whose call failed transiently (a malformed answer, a timeout, a rate
    /// limit the host did not wait out) is asked for again, after 1 s, 2 s, 4 s, ... (default
    /// 3). Each upstream request is also retried inside the call (`http_retries`).
    #[serde(default = "default_page_retries")]
    pub page_retries: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            max_delete_share: default_max_delete_share(),
            max_pages_per_stream: default_max_pages(),
            stream_timeout_secs: default_stream_timeout(),
            page_retries: default_page_retries(),
        }
    }
}

fn default_page_retries() -> u32 {
    3
}

fn default_max_delete_share() -> f64 {
    0.2
}

fn default_max_pages() -> u64 {
    100_000
}

fn default_stream_timeout() -> f64 {
    43_200.0
}

/// `[reports]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    /// Folder `publish` (and a job's `report` step) writes the reports to; none: no files.
    pub folder: Option<PathBuf>,
    /// Which reports go there (default: the steering pack).
    #[serde(default = "default_report_kinds")]
    pub kinds: Vec<ReportKind>,
    /// The common prioritisation: `wsjf` (default) or `cd3` (monetary cost of delay per month
    /// divided by the months left).
    #[serde(default)]
    pub scoring: Scoring,
    /// The capacity line in full-time equivalents; default: the people known to the store
    /// (their FTE, or 1) at the reserve line.
    pub capacity_fte: Option<f64>,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            folder: None,
            kinds: default_report_kinds(),
            scoring: Scoring::default(),
            capacity_fte: None,
        }
    }
}

fn default_report_kinds() -> Vec<ReportKind> {
    vec![ReportKind::Steering]
}

/// A kind of report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// The fortnightly steering pack, with the decision proposals.
    Steering,
    /// The quarterly portfolio increment review.
    Quarterly,
}

impl ReportKind {
    /// Its name in files, URLs and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Steering => "steering",
            ReportKind::Quarterly => "quarterly",
        }
    }
}

/// How the demand portfolio is ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scoring {
    /// SAFe WSJF: (business value + time criticality + risk reduction) / job size.
    #[default]
    Wsjf,
    /// Cost of delay divided by duration: monetary cost of delay per month / months left.
    Cd3,
}

/// `[checks]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksConfig {
    /// A rule pack file (TOML); default: the built-in pack, `config/rules.toml`.
    pub rule_pack: Option<PathBuf>,
}

/// `[store]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` (relative to the config file). Default `sqlite://tollgate.db`.
    #[serde(default = "default_store_url")]
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: default_store_url(),
        }
    }
}

fn default_store_url() -> String {
    "sqlite://tollgate.db".to_string()
}

/// `[runtime]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Directory with more plugins (`*.wasm`), loaded next to the built-in ones.
    pub plugin_dir: Option<PathBuf>,
    /// Where compiled plugins are cached (default: `$XDG_CACHE_HOME/tollgate` or
    /// `~/.cache/tollgate`). Only Tollgate itself may write there.
    pub cache_dir: Option<PathBuf>,
    /// Default limits for every plugin call; a connection may override each one.
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// Limits of one plugin call. Every field is optional; unset fields take the defaults of
/// [`Limits::default`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Wall-clock limit of one call, including the HTTP requests it makes (default 120 s).
    pub timeout_secs: Option<f64>,
    /// CPU time the plugin's own code may use in one call, counted in 10 ms epochs
    /// (default 30 s).
    pub cpu_secs: Option<f64>,
    /// Linear memory cap of the plugin instance (default 256 MiB).
    pub memory_mib: Option<u64>,
    /// Largest HTTP response body handed to the plugin (default 32 MiB).
    pub response_max_mib: Option<u64>,
    /// Timeout of one HTTP request (default 60 s).
    pub http_timeout_secs: Option<f64>,
    /// Retries of one upstream request after 429, 503 or a dropped connection (default 4).
    /// 429 is retried for every method; 503 and transport failures only for GET, HEAD, PUT
    /// and DELETE, which are safe to repeat.
    pub http_retries: Option<u32>,
    /// Longest `Retry-After` the host waits inside a call (default 60 s); a longer one is
    /// handed to the plugin as a rate-limit error, and the sync retries the page later.
    pub max_retry_wait_secs: Option<f64>,
    /// Requests per second to this connection, across all jobs (default: no limit).
    pub requests_per_second: Option<f64>,
    /// Requests in flight to this connection at once, across all jobs (default 4).
    pub max_concurrent_requests: Option<u32>,
}

/// Seconds as a duration; a value no duration can hold (negative, NaN, huge) gives `fallback`.
/// `config validate` refuses such values before anything runs; this keeps the program from
/// panicking on them anyway.
fn seconds(s: f64, fallback: Duration) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(fallback)
}

impl LimitsConfig {
    /// `base` with the limits set here replaced.
    pub fn apply(&self, mut base: Limits) -> Limits {
        let overrides = self;
        if let Some(s) = overrides.timeout_secs {
            base.timeout = seconds(s, base.timeout);
        }
        if let Some(s) = overrides.cpu_secs {
            base.cpu = seconds(s, base.cpu);
        }
        if let Some(m) = overrides.memory_mib {
            base.memory_bytes = usize::try_from(m.min(4096) << 20).unwrap_or(base.memory_bytes);
        }
        if let Some(m) = overrides.response_max_mib {
            base.response_max_bytes = m.min(4096) << 20;
        }
        if let Some(s) = overrides.http_timeout_secs {
            base.http_timeout = seconds(s, base.http_timeout);
        }
        if let Some(n) = overrides.http_retries {
            base.http_retries = n.min(100);
        }
        if let Some(s) = overrides.max_retry_wait_secs {
            base.max_retry_wait = seconds(s, base.max_retry_wait);
        }
        if let Some(r) = overrides.requests_per_second {
            base.requests_per_second = (r.is_finite() && r > 0.0).then_some(r);
        }
        if let Some(n) = overrides.max_concurrent_requests {
            base.max_concurrent_requests = n.max(1);
        }
        base
    }
}

/// The allowed range of each limit, in the words `config validate` uses.
struct Range {
    key: &'static str,
    min: f64,
    max: f64,
    /// Whether the minimum itself is allowed.
    min_inclusive: bool,
    unit: &'static str,
}

const LIMIT_RANGES: &[Range] = &[
    Range {
        key: "timeout_secs",
        min: 0.0,
        max: 86_400.0,
        min_inclusive: false,
        unit: "seconds",
    },
    Range {
        key: "cpu_secs",
        min: 0.0,
        max: 86_400.0,
        min_inclusive: false,
        unit: "seconds",
    },
    Range {
        key: "memory_mib",
        min: 1.0,
        max: 4096.0,
        min_inclusive: true,
        unit: "MiB",
    },
    Range {
        key: "response_max_mib",
        min: 1.0,
        max: 4096.0,
        min_inclusive: true,
        unit: "MiB",
    },
    Range {
        key: "http_timeout_secs",
        min: 0.0,
        max: 3600.0,
        min_inclusive: false,
        unit: "seconds",
    },
    Range {
        key: "http_retries",
        min: 0.0,
        max: 100.0,
        min_inclusive: true,
        unit: "retries",
    },
    Range {
        key: "max_retry_wait_secs",
        min: 0.0,
        max: 3600.0,
        min_inclusive: true,
        unit: "seconds",
    },
    Range {
        key: "requests_per_second",
        min: 0.0,
        max: 100_000.0,
        min_inclusive: true,
        unit: "requests per second (0: no limit)",
    },
    Range {
        key: "max_concurrent_requests",
        min: 1.0,
        max: 1024.0,
        min_inclusive: true,
        unit: "requests",
    },
];

impl Range {
    /// `None` if `value` is in range, else what is wrong.
    fn check(&self, value: f64) -> Option<String> {
        let low_ok = if self.min_inclusive {
            value >= self.min
        } else {
            value > self.min
        };
        if value.is_finite() && low_ok && value <= self.max {
            return None;
        }
        let from = if self.min_inclusive {
            format!("from {}", self.min)
        } else {
            format!("more than {}", self.min)
        };
        let shown = if value.abs() >= 1e9 {
            format!("{value:e}")
        } else {
            value.to_string()
        };
        Some(format!(
            "{shown} is out of range: expected {from} to {} {}",
            self.max, self.unit
        ))
    }
}

impl LimitsConfig {
    /// (key, value) of the limits that are set.
    fn set(&self) -> Vec<(&'static str, f64)> {
        [
            ("timeout_secs", self.timeout_secs),
            ("cpu_secs", self.cpu_secs),
            ("memory_mib", self.memory_mib.map(|v| v as f64)),
            ("response_max_mib", self.response_max_mib.map(|v| v as f64)),
            ("http_timeout_secs", self.http_timeout_secs),
            ("http_retries", self.http_retries.map(f64::from)),
            ("max_retry_wait_secs", self.max_retry_wait_secs),
            ("requests_per_second", self.requests_per_second),
            (
                "max_concurrent_requests",
                self.max_concurrent_requests.map(f64::from),
            ),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }
}

/// The line (1-based) of `key` (`connections.acme.auth.token_env`) in the TOML `text`: the
/// line of the key itself, of the inline table or table holding it, whichever is found first
/// from the most specific. For pointing a person at a problem, not for parsing.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let segments: Vec<&str> = key.split('.').collect();
    let lines: Vec<&str> = text.lines().collect();
    let header = |name: &str| {
        lines
            .iter()
            .position(|l| l.trim() == format!("[{name}]") || l.trim() == format!("[[{name}]]"))
    };
    for cut in (0..segments.len()).rev() {
        let table = segments[..cut].join(".");
        let start = if cut == 0 {
            Some(0)
        } else {
            header(&table).map(|i| i + 1)
        };
        let Some(start) = start else { continue };
        let end = lines[start..]
            .iter()
            .position(|l| l.trim_start().starts_with('['))
            .map_or(lines.len(), |n| start + n);
        // The rest of the key, as `a.b = ` dotted keys or as the first key of an inline table.
        for take in (1..=segments.len() - cut).rev() {
            let dotted = segments[cut..cut + take].join(".");
            if let Some(i) = lines[start..end].iter().position(|l| {
                let t = l.trim_start();
                t.strip_prefix(dotted.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            }) {
                return Some(start + i + 1);
            }
        }
        if cut > 0 {
            return Some(start);
        }
    }
    None
}

/// `[daemon]`: what `tollgate run` serves and when it works.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Address of the HTTP server (health, metrics, API). Loopback unless you say otherwise.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Environment variable holding the bearer token of the API's POST endpoints.
    pub api_token_env: Option<String>,
    /// File holding that token.
    pub api_token_file: Option<PathBuf>,
    /// The token written inline (works, with a warning).
    pub api_token: Option<String>,
    /// Environment variable holding the read token: with one set, every page and GET endpoint
    /// (all but /healthz, /readyz and /metrics) asks for it, as `Authorization: Bearer TOKEN`
    /// or as the password of HTTP basic auth (a browser prompts), and per-person data (the
    /// people API, the resources page, the heat map, findings about a person) is shown. With
    /// none, the dashboard and API serve portfolio data only and per-person data is withheld;
    /// keep `listen` on loopback then. Give a token different from the API token.
    pub read_token_env: Option<String>,
    /// File holding the read token.
    pub read_token_file: Option<PathBuf>,
    /// Connections the HTTP server holds open at once; more are closed on arrival (default
    /// 256).
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Time zone of the schedules (IANA name), unless a job names its own.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// On start, a scheduled run missed within this many hours runs once.
    #[serde(default = "default_catch_up_hours")]
    pub catch_up_hours: f64,
    /// After SIGTERM, how long running jobs may take to finish their page and stop.
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: f64,
    /// Jobs by name.
    #[serde(default)]
    pub jobs: BTreeMap<String, JobConfig>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            listen: default_listen(),
            api_token_env: None,
            api_token_file: None,
            api_token: None,
            read_token_env: None,
            read_token_file: None,
            max_connections: default_max_connections(),
            time_zone: default_time_zone(),
            catch_up_hours: default_catch_up_hours(),
            shutdown_grace_secs: default_grace(),
            jobs: BTreeMap::new(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_string()
}

fn default_max_connections() -> u32 {
    256
}

fn default_time_zone() -> String {
    "UTC".to_string()
}

fn default_catch_up_hours() -> f64 {
    24.0
}

fn default_grace() -> f64 {
    30.0
}

/// `[daemon.jobs.NAME]`: a scheduled job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// When, as a cron expression with seconds: `sec min hour day-of-month month day-of-week`,
    /// e.g. `0 0 2 * * *` for 02:00 every night.
    pub schedule: String,
    /// What, in order (default: sync, check, publish).
    #[serde(default = "default_steps")]
    pub steps: Vec<JobStep>,
    /// Only this connection (default: all).
    pub connection: Option<String>,
    /// Time zone of this job's schedule (default: `daemon.time_zone`).
    pub time_zone: Option<String>,
}

fn default_steps() -> Vec<JobStep> {
    vec![JobStep::Sync, JobStep::Check, JobStep::Publish]
}

/// One step of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStep {
    /// `tollgate sync`.
    Sync,
    /// `tollgate check`.
    Check,
    /// `tollgate publish`: findings to the trackers, reports into `[reports] folder`.
    Publish,
    /// Only the reports, into `[reports] folder`.
    Report,
}

/// `[connections.NAME]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Plugin id, as `tollgate plugins list` shows it: `jira`, `azure-devops`, `hr-csv`.
    pub plugin: String,
    /// Base URL of the remote, e.g. `https://acme.atlassian.net`. Bound to the plugin's
    /// (first) declared connection name.
    pub base_url: Option<String>,
    /// Credentials for `base_url`.
    #[serde(default)]
    pub auth: AuthConfig,
    /// More endpoints, for plugins that declare several connection names.
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointConfig>,
    /// The one directory a file-reading plugin may read (mounted read-only).
    pub data_dir: Option<PathBuf>,
    /// The plugin's own settings, passed to it as JSON.
    #[serde(default = "empty_table")]
    pub settings: toml::Value,
    /// Limits for this connection's calls (override `[runtime.limits]`).
    #[serde(default)]
    pub limits: LimitsConfig,
}

fn empty_table() -> toml::Value {
    toml::Value::Table(Default::default())
}

/// `[connections.NAME.endpoints.ENDPOINT]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Base URL of this endpoint.
    pub base_url: String,
    /// Credentials for it.
    #[serde(default)]
    pub auth: AuthConfig,
}

/// How the host authenticates a connection's requests. The plugin never sees any of it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `none` (default), `basic` (user + token: Jira Cloud email + API token, Azure DevOps
    /// empty user + PAT) or `bearer` (token: Jira Data Center PAT).
    #[serde(default)]
    pub kind: AuthKind,
    /// User name for `basic`.
    pub user: Option<String>,
    /// Environment variable holding the token.
    pub token_env: Option<String>,
    /// File holding the token (whitespace around it is ignored).
    pub token_file: Option<PathBuf>,
    /// The token written inline. Works, with a warning: prefer `token_env` or `token_file`.
    pub token: Option<String>,
}

/// Authentication scheme.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic: `user:token`.
    Basic,
    /// `Authorization: Bearer token`.
    Bearer,
}

impl Config {
    /// Load `path` and apply `TOLLGATE_SECTION__KEY` environment overrides.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with_env(path, std::env::vars())
    }

    /// Load `path` with overrides from `vars`. Only names of the form
    /// `TOLLGATE_SECTION__KEY` (with a double underscore) are overrides; other `TOLLGATE_`
    /// variables (`TOLLGATE_CONFIG`, `TOLLGATE_LOG_FORMAT`) are settings of the program.
    pub fn load_with_env(
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let cfg = Config::load_unchecked_with_env(path, vars)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Load and parse without the checks of [`Config::problems`], so that every problem can
    /// be listed (`tollgate config validate`).
    pub fn load_unchecked(path: &Path) -> Result<Config, ConfigError> {
        Config::load_unchecked_with_env(path, std::env::vars())
    }

    fn load_unchecked_with_env(
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let overrides: config::Map<String, String> = vars
            .into_iter()
            .filter(|(k, _)| {
                k.strip_prefix("TOLLGATE_")
                    .is_some_and(|rest| rest.contains("__") && !rest.starts_with('_'))
            })
            .collect();
        let err = |message: String| ConfigError::Load {
            path: path.to_path_buf(),
            message,
        };
        if !path.exists() {
            return Err(err(
                "no such file; pass --config FILE, or run `tollgate demo` to get an example".into(),
            ));
        }
        let raw = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix("TOLLGATE")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(overrides)),
            )
            .build()
            .map_err(|e| loading_error(path, &e.to_string()))?;
        let mut cfg: Config = raw
            .try_deserialize()
            .map_err(|e| loading_error(path, &e.to_string()))?;
        cfg.path = path.to_path_buf();
        cfg.base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(cfg)
    }

    /// Every secret the config names can be read: the daemon's API and read tokens. (The
    /// connections' tokens are read when a connection is bound to its plugin.)
    pub fn secret_problems(&self) -> Vec<ConfigError> {
        [self.api_token().err(), self.read_token().err()]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Parse TOML text (no environment overrides); for tests and the demo.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Load {
            path: base_dir.join("<inline>"),
            message: e.to_string(),
        })?;
        cfg.base_dir = base_dir.to_path_buf();
        cfg.path = base_dir.join("<inline>");
        cfg.validate()?;
        Ok(cfg)
    }

    /// A relative path from the file, made absolute against the file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    fn invalid(&self, key: String, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            key,
            message: message.into(),
        }
    }

    /// Checks that need no plugin: URLs parse, auth is complete, the daemon's schedules and
    /// zones read. The first problem, if any.
    fn validate(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every problem the checks that need no plugin find, in the order of the file's sections.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        let mut keep = |r: Result<(), ConfigError>| {
            if let Err(e) = r {
                out.push(e);
            }
        };
        for (name, conn) in &self.connections {
            if let Some(url) = &conn.base_url {
                keep(self.check_url(&format!("connections.{name}.base_url"), url));
            }
            keep(self.check_auth(&format!("connections.{name}.auth"), &conn.auth));
            for (ep, endpoint) in &conn.endpoints {
                let key = format!("connections.{name}.endpoints.{ep}");
                keep(self.check_url(&format!("{key}.base_url"), &endpoint.base_url));
                keep(self.check_auth(&format!("{key}.auth"), &endpoint.auth));
            }
            if !conn.settings.is_table() {
                keep(Err(self.invalid(
                    format!("connections.{name}.settings"),
                    "expected a table of the plugin's settings",
                )));
            }
        }
        out.extend(self.limit_problems());
        out.extend(self.sync_problems());
        if let Some(c) = self.reports.capacity_fte
            && !(c.is_finite() && c > 0.0 && c <= 1e6)
        {
            out.push(self.invalid(
                "reports.capacity_fte".into(),
                format!(
                    "{c} is out of range: expected a number of full-time equivalents more than 0"
                ),
            ));
        }
        if let Err(message) = tollgate_store::check_url(&self.store.url) {
            out.push(self.invalid("store.url".into(), message));
        }
        out.extend(self.daemon_problems());
        out
    }

    /// Every limit in `[runtime.limits]` and `[connections.NAME.limits]` within its range.
    fn limit_problems(&self) -> Vec<ConfigError> {
        let mut sections = vec![("runtime.limits".to_string(), &self.runtime.limits)];
        for (name, conn) in &self.connections {
            sections.push((format!("connections.{name}.limits"), &conn.limits));
        }
        let mut out = Vec::new();
        for (section, limits) in sections {
            for (key, value) in limits.set() {
                let range = LIMIT_RANGES
                    .iter()
                    .find(|r| r.key == key)
                    .expect("every limit has a range");
                if let Some(message) = range.check(value) {
                    out.push(self.invalid(format!("{section}.{key}"), message));
                }
            }
        }
        out
    }

    /// `[sync]` within range.
    fn sync_problems(&self) -> Vec<ConfigError> {
        let s = &self.sync;
        let mut out = Vec::new();
        if !(0.0..=1.0).contains(&s.max_delete_share) {
            out.push(self.invalid(
                "sync.max_delete_share".into(),
                format!(
                    "{} is out of range: expected a share from 0 to 1 (0.2 is 20 %)",
                    s.max_delete_share
                ),
            ));
        }
        if s.page_retries > 10 {
            out.push(self.invalid(
                "sync.page_retries".into(),
                format!(
                    "{} is out of range: expected 0 to 10 retries",
                    s.page_retries
                ),
            ));
        }
        if s.max_pages_per_stream == 0 {
            out.push(self.invalid(
                "sync.max_pages_per_stream".into(),
                "0 is out of range: expected 1 or more pages",
            ));
        }
        let t = s.stream_timeout_secs;
        if !(t.is_finite() && t > 0.0 && t <= 7.0 * 86_400.0) {
            out.push(self.invalid(
                "sync.stream_timeout_secs".into(),
                format!("{t} is out of range: expected more than 0 to 604800 seconds (a week)"),
            ));
        }
        out
    }

    fn check_url(&self, key: &str, url: &str) -> Result<(), ConfigError> {
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if u.query().is_some() || !u.username().is_empty() || u.password().is_some() {
                    return Err(self.invalid(
                        key.to_string(),
                        "a base URL has no query and no credentials; put credentials under `auth`",
                    ));
                }
                Ok(())
            }
            _ => Err(self.invalid(
                key.to_string(),
                format!("`{url}` is not an http(s) URL like https://acme.atlassian.net"),
            )),
        }
    }

    fn check_auth(&self, key: &str, auth: &AuthConfig) -> Result<(), ConfigError> {
        let sources = [
            auth.token_env.is_some(),
            auth.token_file.is_some(),
            auth.token.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        match auth.kind {
            AuthKind::None if sources > 0 || auth.user.is_some() => Err(self.invalid(
                format!("{key}.kind"),
                "credentials are given but kind is `none`; set kind = \"basic\" or \"bearer\"",
            )),
            AuthKind::Basic | AuthKind::Bearer if sources != 1 => Err(self.invalid(
                key.to_string(),
                "give exactly one of token_env (an environment variable) or token_file (a file)",
            )),
            AuthKind::Bearer if auth.user.is_some() => Err(self.invalid(
                format!("{key}.user"),
                "bearer auth takes no user; did you mean kind = \"basic\"?",
            )),
            _ => Ok(()),
        }
    }

    /// `[daemon]`: the listen address, schedules, time zones, connections and token sources.
    fn daemon_problems(&self) -> Vec<ConfigError> {
        let d = &self.daemon;
        let mut out = Vec::new();
        if d.listen.parse::<std::net::SocketAddr>().is_err() {
            out.push(self.invalid(
                "daemon.listen".into(),
                format!("`{}` is not an address like 127.0.0.1:8080", d.listen),
            ));
        }
        if let Err(e) = crate::schedule::time_zone(&d.time_zone) {
            out.push(self.invalid("daemon.time_zone".into(), e));
        }
        let sources = [
            d.api_token_env.is_some(),
            d.api_token_file.is_some(),
            d.api_token.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            out.push(self.invalid(
                "daemon.api_token_env".into(),
                "give the API token one way: api_token_env, api_token_file or api_token",
            ));
        }
        if d.read_token_env.is_some() && d.read_token_file.is_some() {
            out.push(self.invalid(
                "daemon.read_token_env".into(),
                "give the read token one way: read_token_env or read_token_file",
            ));
        }
        if !(1..=100_000).contains(&d.max_connections) {
            out.push(self.invalid(
                "daemon.max_connections".into(),
                format!(
                    "{} is out of range: expected 1 to 100000 connections",
                    d.max_connections
                ),
            ));
        }
        if !(d.catch_up_hours.is_finite() && (0.0..=8760.0).contains(&d.catch_up_hours)) {
            out.push(self.invalid(
                "daemon.catch_up_hours".into(),
                format!(
                    "{} is out of range: expected 0 to 8760 hours (a year)",
                    d.catch_up_hours
                ),
            ));
        }
        if !(d.shutdown_grace_secs.is_finite()
            && d.shutdown_grace_secs > 0.0
            && d.shutdown_grace_secs <= 3600.0)
        {
            out.push(self.invalid(
                "daemon.shutdown_grace_secs".into(),
                format!(
                    "{} is out of range: expected more than 0 to 3600 seconds",
                    d.shutdown_grace_secs
                ),
            ));
        }
        for (name, job) in &d.jobs {
            let key = format!("daemon.jobs.{name}");
            if let Err(e) = crate::schedule::schedule(&job.schedule) {
                out.push(self.invalid(format!("{key}.schedule"), e));
            }
            if let Some(tz) = &job.time_zone
                && let Err(e) = crate::schedule::time_zone(tz)
            {
                out.push(self.invalid(format!("{key}.time_zone"), e));
            }
            if let Some(conn) = &job.connection
                && !self.connections.contains_key(conn)
            {
                out.push(self.invalid(
                    format!("{key}.connection"),
                    format!(
                        "no connection `{conn}`; configured: {}",
                        self.connections.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if job.steps.is_empty() {
                out.push(self.invalid(
                    format!("{key}.steps"),
                    "name at least one step: \"sync\", \"check\", \"publish\" or \"report\"",
                ));
            }
            if job.steps.contains(&JobStep::Report) && self.reports.folder.is_none() {
                out.push(self.invalid(
                    format!("{key}.steps"),
                    "a \"report\" step writes into [reports] folder: set reports.folder",
                ));
            }
        }
        out
    }

    /// The bearer token of the API's POST endpoints, if one is configured.
    pub fn api_token(&self) -> Result<Option<Secret>, ConfigError> {
        let d = &self.daemon;
        self.token_from(
            "daemon.api_token",
            d.api_token_env.as_deref(),
            d.api_token_file.as_deref(),
            d.api_token.as_deref(),
        )
    }

    /// The read token of the dashboard and the GET API, if one is configured.
    pub fn read_token(&self) -> Result<Option<Secret>, ConfigError> {
        let d = &self.daemon;
        self.token_from(
            "daemon.read_token",
            d.read_token_env.as_deref(),
            d.read_token_file.as_deref(),
            None,
        )
    }

    /// A token from an environment variable, a file or inline; `key` is the key stem
    /// (`daemon.api_token`) errors name with `_env` or `_file`.
    fn token_from(
        &self,
        key: &str,
        env: Option<&str>,
        file: Option<&Path>,
        inline: Option<&str>,
    ) -> Result<Option<Secret>, ConfigError> {
        if let Some(var) = env {
            return match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
                _ => Err(self.invalid(
                    format!("{key}_env"),
                    format!("environment variable {var} is not set or empty"),
                )),
            };
        }
        if let Some(file) = file {
            let path = self.resolve(file);
            return match std::fs::read_to_string(&path) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
                Ok(_) => Err(self.invalid(
                    format!("{key}_file"),
                    format!("{} is empty", path.display()),
                )),
                Err(e) => Err(self.invalid(
                    format!("{key}_file"),
                    format!("cannot read {}: {e}", path.display()),
                )),
            };
        }
        Ok(inline.map(Secret::new))
    }

    /// Warnings that do not stop Tollgate: secrets written inline.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.daemon.api_token.is_some() {
            out.push(format!(
                "{}: `daemon.api_token` holds a secret inline; use api_token_env = \"VAR\" or api_token_file = \"path\" so the secret stays out of the config file",
                self.path.display()
            ));
        }
        for (name, conn) in &self.connections {
            let mut auths = vec![(format!("connections.{name}.auth"), &conn.auth)];
            for (ep, e) in &conn.endpoints {
                auths.push((format!("connections.{name}.endpoints.{ep}.auth"), &e.auth));
            }
            for (key, auth) in auths {
                if auth.token.is_some() {
                    out.push(format!(
                        "{}: `{key}.token` holds a secret inline; use token_env = \"VAR\" or token_file = \"path\" so the secret stays out of the config file",
                        self.path.display()
                    ));
                }
            }
        }
        out
    }

    /// Read the credentials of `auth` (from the environment or a file). `key` names the
    /// config key in errors; the secret itself never appears in one.
    pub fn credentials(&self, key: &str, auth: &AuthConfig) -> Result<Credentials, ConfigError> {
        let token = || -> Result<Secret, ConfigError> {
            if let Some(var) = &auth.token_env {
                return match std::env::var(var) {
                    Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
                    _ => Err(self.invalid(
                        format!("{key}.token_env"),
                        format!("environment variable {var} is not set or empty"),
                    )),
                };
            }
            if let Some(file) = &auth.token_file {
                let path = self.resolve(file);
                return match std::fs::read_to_string(&path) {
                    Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
                    Ok(_) => Err(self.invalid(
                        format!("{key}.token_file"),
                        format!("{} is empty", path.display()),
                    )),
                    Err(e) => Err(self.invalid(
                        format!("{key}.token_file"),
                        format!("cannot read {}: {e}", path.display()),
                    )),
                };
            }
            match &auth.token {
                Some(t) => Ok(Secret::new(t.clone())),
                None => Err(self.invalid(key.to_string(), "no token configured")),
            }
        };
        Ok(match auth.kind {
            AuthKind::None => Credentials::None,
            AuthKind::Basic => Credentials::Basic {
                user: auth.user.clone().unwrap_or_default(),
                token: token()?,
            },
            AuthKind::Bearer => Credentials::Bearer(token()?),
        })
    }

    /// The effective limits of a connection.
    pub fn limits(&self, connection: &ConnectionConfig) -> Limits {
        connection
            .limits
            .apply(self.runtime.limits.apply(Limits::default()))
    }

    /// The artefact cache directory.
    pub fn cache_dir(&self) -> PathBuf {
        match &self.runtime.cache_dir {
            Some(dir) => self.resolve(dir),
            None => default_cache_dir(),
        }
    }
}

/// The values of each enum of the config, as the file spells them, for messages.
const ENUM_VALUES: &[(&str, &[&str])] = &[
    ("JobStep", &["sync", "check", "publish", "report"]),
    ("Scoring", &["wsjf", "cd3"]),
    ("AuthKind", &["none", "basic", "bearer"]),
    ("ReportKind", &["steering", "quarterly"]),
];

/// A parse error of the config file in plain words, with its key when the parser named one:
/// "enum JobStep does not have variant constructor nope for key `daemon.jobs.n.steps[0]`"
/// becomes "`nope` is not one of: sync, check, publish, report" at that key.
fn loading_error(path: &Path, message: &str) -> ConfigError {
    let (text, key) = match message.rsplit_once(" for key `") {
        Some((text, rest)) => {
            let key = rest.split('`').next().unwrap_or("").to_string();
            (text.to_string(), Some(key))
        }
        None => (message.to_string(), None),
    };
    let text = match text
        .strip_prefix("enum ")
        .and_then(|t| t.split_once(" does not have variant constructor "))
    {
        Some((name, value)) => match ENUM_VALUES.iter().find(|(n, _)| *n == name) {
            Some((_, values)) => format!("`{value}` is not one of: {}", values.join(", ")),
            None => format!("`{value}` is not an allowed value"),
        },
        None => text,
    };
    let text = text.replace("invalid type: ", "wrong type: found ");
    match key {
        // `steps[0]` points at the list; the line of `steps` is what a person looks for.
        Some(key) if !key.is_empty() => ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.split('[').next().unwrap_or(&key).to_string(),
            message: text,
        },
        _ => ConfigError::Load {
            path: path.to_path_buf(),
            message: text,
        },
    }
}

/// `$XDG_CACHE_HOME/tollgate`, else `~/.cache/tollgate`, else a folder in the temp dir.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("tollgate");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache/tollgate");
    }
    std::env::temp_dir().join("tollgate-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/etc/tollgate"))
    }

    #[test]
    fn lines_of_keys_for_messages() {
        let text = "[store]\nurl = \"x\"\n\n[connections.acme]\nplugin = \"jira\"\nauth = { kind = \"basic\", token_env = \"T\" }\n\n[daemon.jobs.nightly]\nschedule = \"nope\"\n";
        assert_eq!(line_of(text, "store.url"), Some(2));
        assert_eq!(line_of(text, "connections.acme.plugin"), Some(5));
        assert_eq!(line_of(text, "connections.acme.auth.token_env"), Some(6));
        assert_eq!(
            line_of(text, "connections.acme.base_url"),
            Some(4),
            "the table, when the key is absent"
        );
        assert_eq!(line_of(text, "daemon.jobs.nightly.schedule"), Some(9));
        assert_eq!(line_of(text, "nowhere.at.all"), None);
    }

    #[test]
    fn every_problem_is_listed_with_its_key() {
        let text = "[connections.a]\nplugin = \"jira\"\nbase_url = \"ftp://x\"\n[connections.b]\nplugin = \"jira\"\nbase_url = \"https://ok.example\"\nauth = { kind = \"basic\" }\n[daemon]\nlisten = \"everywhere\"\n[daemon.jobs.n]\nschedule = \"daily\"\nconnection = \"zzz\"\n";
        let cfg: Config = toml::from_str(text).unwrap();
        let keys: Vec<String> = cfg
            .problems()
            .into_iter()
            .map(|e| match e {
                ConfigError::Invalid { key, .. } => key,
                other => other.to_string(),
            })
            .collect();
        assert_eq!(
            keys,
            [
                "connections.a.base_url",
                "connections.b.auth",
                "daemon.listen",
                "daemon.jobs.n.schedule",
                "daemon.jobs.n.connection"
            ]
        );
    }

    #[test]
    fn connection_limits_override_runtime_defaults() {
        let cfg = parse(
            r#"
            [runtime.limits]
            timeout_secs = 10
            memory_mib = 64
            [connections.a]
            plugin = "jira"
            base_url = "https://acme.atlassian.net"
            limits = { timeout_secs = 3 }
            "#,
        )
        .unwrap();
        let l = cfg.limits(&cfg.connections["a"]);
        assert_eq!(l.timeout, Duration::from_secs(3));
        assert_eq!(l.memory_bytes, 64 << 20);
        assert_eq!(l.cpu, Limits::default().cpu);
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = parse("[connections.a]\nplugin = \"jira\"\nbase_url = \"acme\"\n").unwrap_err();
        assert!(e.to_string().contains("connections.a.base_url"), "{e}");
        let e = parse(
            "[connections.a]\nplugin = \"jira\"\nauth = { kind = \"basic\", user = \"x\" }\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("token_env"), "{e}");
        let e = parse("[connections.a]\nplugin = \"jira\"\nbogus = 1\n").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn inline_secret_warns_but_never_shows_the_secret() {
        let cfg = parse(
            "[connections.a]\nplugin = \"jira\"\nauth = { kind = \"bearer\", token = \"s3cr3t-value\" }\n",
        )
        .unwrap();
        let w = cfg.warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("token_env") && !w[0].contains("s3cr3t-value"));
        let creds = cfg
            .credentials("connections.a.auth", &cfg.connections["a"].auth)
            .unwrap();
        assert!(!format!("{creds:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn environment_overrides_only_section_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tollgate.toml");
        std::fs::write(&path, "[runtime.limits]\ntimeout_secs = 10\n").unwrap();
        let vars = [
            ("TOLLGATE_RUNTIME__LIMITS__TIMEOUT_SECS", "3"),
            ("TOLLGATE_LOG_FORMAT", "json"),
            ("TOLLGATE_CONFIG", "/elsewhere.toml"),
            ("OTHER__THING", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let cfg = Config::load_with_env(&path, vars).unwrap();
        assert_eq!(cfg.runtime.limits.timeout_secs, Some(3.0));
        let bad = [("TOLLGATE_RUNTIME__LIMITS__TIMEOUT", "3".to_string())]
            .map(|(k, v)| (k.to_string(), v));
        let e = Config::load_with_env(&path, bad).unwrap_err();
        assert!(e.to_string().contains("timeout"), "{e}");
    }

    #[test]
    fn parse_errors_read_as_plain_words_with_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tollgate.toml");
        for (text, key, says) in [
            (
                "[daemon.jobs.n]\nschedule = \"0 0 2 * * *\"\nsteps = [\"nope\"]\n",
                "daemon.jobs.n.steps",
                "`nope` is not one of: sync, check, publish, report",
            ),
            (
                "[reports]\nscoring = \"magic\"\n",
                "reports.scoring",
                "`magic` is not one of: wsjf, cd3",
            ),
            (
                "[connections.a]\nplugin = \"jira\"\nauth = { kind = \"basics\" }\n",
                "connections.a.auth.kind",
                "`basics` is not one of: none, basic, bearer",
            ),
            (
                "[runtime.limits]\nmemory_mib = \"lots\"\n",
                "runtime.limits.memory_mib",
                "wrong type: found string \"lots\", expected an integer",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            match Config::load_with_env(&path, []).unwrap_err() {
                ConfigError::Invalid {
                    key: k, message, ..
                } => {
                    assert_eq!(k, key);
                    assert!(message.contains(says), "{message}");
                }
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn every_enum_value_in_messages_is_one_the_file_may_use() {
        fn parses<T: serde::de::DeserializeOwned>(v: &str) -> bool {
            serde_json::from_value::<T>(serde_json::Value::String(v.into())).is_ok()
        }
        for (name, values) in ENUM_VALUES {
            for v in *values {
                let ok = match *name {
                    "JobStep" => parses::<JobStep>(v),
                    "Scoring" => parses::<Scoring>(v),
                    "AuthKind" => parses::<AuthKind>(v),
                    "ReportKind" => parses::<ReportKind>(v),
                    other => panic!("no check for {other}"),
                };
                assert!(ok, "{name}: {v}");
            }
        }
    }

    #[test]
    fn limits_out_of_range_are_problems_not_panics() {
        for (text, key) in [
            (
                "[runtime.limits]\ntimeout_secs = -1\n",
                "runtime.limits.timeout_secs",
            ),
            (
                "[runtime.limits]\ncpu_secs = nan\n",
                "runtime.limits.cpu_secs",
            ),
            (
                "[runtime.limits]\nhttp_timeout_secs = 1e30\n",
                "runtime.limits.http_timeout_secs",
            ),
            (
                "[runtime.limits]\nmax_retry_wait_secs = inf\n",
                "runtime.limits.max_retry_wait_secs",
            ),
            (
                "[runtime.limits]\nmemory_mib = 0\n",
                "runtime.limits.memory_mib",
            ),
            (
                "[connections.a]\nplugin = \"jira\"\nlimits = { timeout_secs = 0 }\n",
                "connections.a.limits.timeout_secs",
            ),
            ("[sync]\nmax_delete_share = 1.5\n", "sync.max_delete_share"),
            (
                "[sync]\nstream_timeout_secs = -3\n",
                "sync.stream_timeout_secs",
            ),
            (
                "[daemon]\nshutdown_grace_secs = inf\n",
                "daemon.shutdown_grace_secs",
            ),
            ("[daemon]\ncatch_up_hours = -1\n", "daemon.catch_up_hours"),
            ("[reports]\ncapacity_fte = -3\n", "reports.capacity_fte"),
            ("[store]\nurl = \"tollgate.db\"\n", "store.url"),
        ] {
            let cfg: Config = toml::from_str(text).unwrap();
            let keys: Vec<String> = cfg
                .problems()
                .into_iter()
                .map(|e| match e {
                    ConfigError::Invalid { key, .. } => key,
                    other => other.to_string(),
                })
                .collect();
            assert_eq!(keys, [key], "{text}");
            // And nothing panics on the way to the effective limits.
            for conn in cfg.connections.values() {
                let _ = cfg.limits(conn);
            }
            let _ = cfg.runtime.limits.apply(Limits::default());
        }
    }

    #[test]
    fn missing_env_token_is_named_without_value() {
        let cfg = parse(
            "[connections.a]\nplugin = \"jira\"\nauth = { kind = \"bearer\", token_env = \"TOLLGATE_TEST_UNSET_VAR\" }\n",
        )
        .unwrap();
        let e = cfg
            .credentials("connections.a.auth", &cfg.connections["a"].auth)
            .unwrap_err();
        assert!(e.to_string().contains("TOLLGATE_TEST_UNSET_VAR"), "{e}");
    }
}
