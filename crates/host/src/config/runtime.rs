//! `[runtime]` and the limits of plugin calls (`[runtime.limits]`, `[connections.NAME.limits]`),
//! with the range each limit may take.

use super::{Config, ConfigError};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use tollgate_runtime::Limits;

/// The WebAssembly runtime: more plugins, the artefact cache, the default limits.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
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

/// Limits of every plugin call. Every key is optional; an unset one takes the default given
/// with it. A connection's `limits` override the runtime's, key by key.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
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

/// What a limit may be, in words, for the reference.
pub(super) fn allowed(key: &str) -> Option<String> {
    let r = LIMIT_RANGES.iter().find(|r| r.key == key)?;
    let from = if r.min_inclusive {
        format!("from {}", r.min)
    } else {
        format!("more than {}", r.min)
    };
    Some(format!("{from} to {} {}", r.max, r.unit))
}

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

impl Config {
    /// Every limit in `[runtime.limits]` and `[connections.NAME.limits]` within its range.
    pub(super) fn limit_problems(&self) -> Vec<ConfigError> {
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
}
