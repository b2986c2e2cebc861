//! The limits of one plugin call. The host's config resolves `[runtime.limits]` and each
//! connection's overrides into one [`Limits`].

use std::time::Duration;

/// The effective limits of a call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Wall-clock limit of one call.
    pub timeout: Duration,
    /// CPU budget of the plugin's code in one call.
    pub cpu: Duration,
    /// Memory cap in bytes.
    pub memory_bytes: usize,
    /// HTTP response body cap in bytes.
    pub response_max_bytes: u64,
    /// Timeout of one HTTP request.
    pub http_timeout: Duration,
    /// Retries after 429, 503 or a dropped connection.
    pub http_retries: u32,
    /// Longest `Retry-After` waited for inside a call.
    pub max_retry_wait: Duration,
    /// Requests per second to the connection (`None`: no limit).
    pub requests_per_second: Option<f64>,
    /// Requests in flight to the connection at once.
    pub max_concurrent_requests: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(120),
            cpu: Duration::from_secs(30),
            memory_bytes: 256 << 20,
            response_max_bytes: 32 << 20,
            http_timeout: Duration::from_secs(60),
            http_retries: 4,
            max_retry_wait: Duration::from_secs(60),
            requests_per_second: None,
            max_concurrent_requests: 4,
        }
    }
}
