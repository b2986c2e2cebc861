//! `[sync]`: how far one sync run may go.

use super::{Config, ConfigError};
use serde::Deserialize;

/// The bounds of one sync run. The defaults suit a nightly sync of a large site.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
    /// Connections synced side by side (default 4; 1 syncs them one after another). Each has
    /// its own limits towards its remote (`max_concurrent_requests`, `requests_per_second`),
    /// so syncing a Jira site beside an Azure DevOps organisation and an HR file costs
    /// neither more than alone.
    #[serde(default = "default_parallel_connections")]
    pub parallel_connections: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            max_delete_share: default_max_delete_share(),
            max_pages_per_stream: default_max_pages(),
            stream_timeout_secs: default_stream_timeout(),
            page_retries: default_page_retries(),
            parallel_connections: default_parallel_connections(),
        }
    }
}

fn default_parallel_connections() -> u32 {
    4
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

impl Config {
    /// `[sync]` within range.
    pub(super) fn sync_problems(&self) -> Vec<ConfigError> {
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
        if !(1..=64).contains(&s.parallel_connections) {
            out.push(self.invalid(
                "sync.parallel_connections".into(),
                format!(
                    "{} is out of range: expected 1 (one connection after another) to 64",
                    s.parallel_connections
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
}
