//! Counters of what the runtime did, for logs now and `/metrics` later.

use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Add one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What the runtime has done since it started.
#[derive(Debug, Default)]
pub struct RuntimeStats {
    /// Plugin calls that returned a value (including plugin error values).
    pub calls: Counter,
    /// Calls that trapped (panic, unreachable, a limit hit inside wasm).
    pub traps: Counter,
    /// Calls stopped by the wall-clock timeout.
    pub timeouts: Counter,
    /// Calls stopped because the plugin used up its CPU budget.
    pub cpu_exhausted: Counter,
    /// Calls stopped by the memory cap.
    pub memory_exhausted: Counter,
    /// HTTP requests sent upstream for plugins.
    pub http_requests: Counter,
    /// HTTP requests the host refused (unknown connection, absolute URL, forbidden header,
    /// cross-origin redirect).
    pub http_denied: Counter,
    /// Upstream responses larger than the cap.
    pub http_too_large: Counter,
    /// Upstream transport failures and timeouts.
    pub http_errors: Counter,
    /// Upstream requests sent again after 429, 503 or a dropped connection.
    pub http_retries: Counter,
    /// Waits because the upstream said 429 (rate limited).
    pub rate_limit_waits: Counter,
    /// GETs answered with the answer of the same GET in flight, not sent again.
    pub http_shared: Counter,
    /// Upstream answers that contained the credential the host added, redacted before the
    /// plugin saw them.
    pub credential_echoes: Counter,
    /// Plugin calls whose output broke a cap (records, diagnostics, cursor, log bytes).
    pub output_refused: Counter,
    /// Upstream requests by (connection, status); status 0 when no answer came.
    upstream: std::sync::Mutex<std::collections::BTreeMap<(String, u16), u64>>,
}

impl RuntimeStats {
    /// Count one upstream request of `connection` that got `status` (0: no answer).
    pub fn upstream(&self, connection: &str, status: u16) {
        *self
            .upstream
            .lock()
            .unwrap()
            .entry((connection.to_string(), status))
            .or_default() += 1;
    }

    /// Upstream requests by (connection, status).
    pub fn upstream_by_status(&self) -> std::collections::BTreeMap<(String, u16), u64> {
        self.upstream.lock().unwrap().clone()
    }
}
