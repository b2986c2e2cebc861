//! `[daemon]` and `[daemon.jobs.NAME]`: what `tollgate run` serves and when it works, and the
//! tokens of its API.

use super::{Config, ConfigError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tollgate_runtime::Secret;

/// What `tollgate run` serves and when it works (docs/operations.md).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
    /// This instance's name, as other instances on the same store see it (in claims,
    /// `tollgate status` and `/readyz`). Default: the host name and the process id
    /// (`host-1234`). Give each instance its own.
    pub instance: Option<String>,
    /// How long a claim on a job's run or a connection's sync lasts without renewal. The
    /// holder renews it every third of this; when an instance dies, another takes its work
    /// over once the lease has run out (default 30 seconds; 2 to 3600).
    #[serde(default = "default_lease")]
    pub lease_secs: f64,
    /// Jobs by name.
    #[serde(default)]
    pub jobs: BTreeMap<String, JobConfig>,
}

impl DaemonConfig {
    /// The instance name: `instance`, or the host name and process id.
    pub fn instance_name(&self) -> String {
        self.instance
            .clone()
            .unwrap_or_else(|| format!("{}-{}", host_name(), std::process::id()))
    }

    /// The lease, as a duration.
    pub fn lease(&self) -> std::time::Duration {
        // Validation refuses anything else; this only keeps a NaN from panicking.
        let secs = if self.lease_secs.is_finite() {
            self.lease_secs.clamp(2.0, 3600.0)
        } else {
            default_lease()
        };
        std::time::Duration::from_secs_f64(secs)
    }
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
            instance: None,
            lease_secs: default_lease(),
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

fn default_lease() -> f64 {
    30.0
}

/// A scheduled job.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
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

impl Config {
    /// `[daemon]`: the listen address, schedules, time zones, connections and token sources.
    pub(super) fn daemon_problems(&self) -> Vec<ConfigError> {
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
        if !(d.lease_secs.is_finite() && (2.0..=3600.0).contains(&d.lease_secs)) {
            out.push(self.invalid(
                "daemon.lease_secs".into(),
                format!(
                    "{} is out of range: expected 2 to 3600 seconds",
                    d.lease_secs
                ),
            ));
        }
        if let Some(name) = &d.instance
            && (name.trim().is_empty()
                || name.len() > 100
                || name.chars().any(|c| c.is_control() || c.is_whitespace()))
        {
            out.push(self.invalid(
                "daemon.instance".into(),
                "expected a name of 1 to 100 characters without spaces".to_string(),
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
    pub(super) fn token_from(
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

    /// Every secret the config names can be read: the daemon's API and read tokens. (The
    /// connections' tokens are read when a connection is bound to its plugin.)
    pub fn secret_problems(&self) -> Vec<ConfigError> {
        [self.api_token().err(), self.read_token().err()]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// This machine's name, as the default instance names carry it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tollgate".to_string())
}
