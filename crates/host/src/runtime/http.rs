//! The HTTP capability: the only way a plugin reaches the network.
//!
//! A plugin names one of its connections and a path. The host checks the name against the
//! endpoints configured for this job, refuses absolute URLs and headers that carry identity
//! (Authorization, Cookie, Host, Proxy-*, hop-by-hop), joins the path to the base URL, adds
//! the credentials, follows redirects only within the same origin, caps the response size and
//! strips response headers that carry identity back. Every refusal is logged and counted.

use super::bindings::tollgate::plugin::http::{HttpError, Method, Request, Response};
use super::stats::RuntimeStats;

use crate::config::Credentials;
use base64::Engine as _;
/// The URL type of endpoints.
pub use reqwest::Url;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A base URL with its credentials.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL; request paths are appended to its path.
    pub base_url: reqwest::Url,
    /// What the host injects.
    pub credentials: Credentials,
}

/// Request headers a plugin may not set: they carry identity or belong to the transport.
const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "cookie2",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "http2-settings",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
];

/// Response headers a plugin never sees.
const HIDDEN_RESPONSE_HEADERS: &[&str] = &[
    "set-cookie",
    "set-cookie2",
    "www-authenticate",
    "proxy-authenticate",
    "authorization",
];

const MAX_REDIRECTS: usize = 5;

/// The per-job state of the HTTP capability.
pub struct HttpCapability {
    pub(crate) client: reqwest::Client,
    pub(crate) endpoints: BTreeMap<String, Endpoint>,
    pub(crate) response_max_bytes: u64,
    pub(crate) request_timeout: Duration,
    pub(crate) stats: Arc<RuntimeStats>,
    pub(crate) plugin: String,
    pub(crate) connection: String,
    /// Why requests were refused during this call, for the call's error report.
    pub(crate) denials: Vec<String>,
    /// Politeness towards the remote, shared by every job on the connection.
    pub(crate) limiter: Arc<super::limiter::ConnectionLimiter>,
    /// Retries after 429, 503 or a dropped connection.
    pub(crate) retries: u32,
    /// Longest `Retry-After` waited for.
    pub(crate) max_retry_wait: Duration,
}

/// Methods that may be sent again after a 503 or a lost answer without changing anything.
fn idempotent(m: Method) -> bool {
    matches!(m, Method::Get | Method::Head | Method::Put | Method::Delete)
}

/// How long the remote asked us to wait: `Retry-After` in seconds (the HTTP-date form is rare
/// upstream and treated as absent), else Jira's `X-RateLimit-Reset` (an ISO-8601 instant,
/// `2026-11-27T10:31Z`) counted from `now` (seconds since the epoch).
fn retry_after(headers: &[(String, String)], now: f64) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let seconds = header("retry-after")
        .or_else(|| header("beta-retry-after"))
        .and_then(|v| v.parse::<f64>().ok())
        .or_else(|| {
            header("x-ratelimit-reset")
                .and_then(iso_instant)
                .map(|at| (at - now).max(0.0))
        });
    seconds
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM[:SS[.fff]]Z` (or with a `+hh:mm` offset).
fn iso_instant(text: &str) -> Option<f64> {
    let (date, time) = text.split_once('T')?;
    let days = tollgate_dmo::rules::portfolio::day_number(date)?;
    let (clock, offset_min) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, off) = time.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits: String = off[1..].chars().filter(char::is_ascii_digit).collect();
        let (h, mi) = digits.split_at(digits.len().min(2));
        (
            c,
            sign * (h.parse::<i64>().ok()? * 60 + mi.parse::<i64>().unwrap_or(0)),
        )
    };
    let mut parts = clock.split(':');
    let hh: i64 = parts.next()?.parse().ok()?;
    let mm: i64 = parts.next()?.parse().ok()?;
    let ss: f64 = parts.next().map_or(Some(0.0), |s| s.parse().ok())?;
    Some(((days * 24 + hh) * 60 + mm - offset_min) as f64 * 60.0 + ss)
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, ... capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    let base = 500u64.saturating_mul(1 << attempt.min(4));
    let jitter = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0) as u64)
        % (base / 2 + 1);
    Duration::from_millis((base + jitter).min(8_000))
}

fn method_of(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Head => reqwest::Method::HEAD,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// Checks a plugin-supplied path: it must be a path (and query) relative to the base URL.
fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(format!(
            "`{path}` is not a path starting with a single `/`; plugins send paths relative to their connection, never URLs"
        ));
    }
    if path
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || c == '#')
    {
        return Err(format!(
            "`{path}` contains whitespace, control characters, `\\` or `#`"
        ));
    }
    let path_part = path.split('?').next().unwrap_or("");
    if path_part
        .split('/')
        .any(|seg| seg == ".." || seg.eq_ignore_ascii_case("%2e%2e"))
    {
        return Err(format!("`{path}` contains a `..` segment"));
    }
    Ok(())
}

/// `base` + `path`, keeping the base URL's own path (e.g. a Jira context path `/jira`).
fn join(base: &reqwest::Url, path: &str) -> Result<reqwest::Url, String> {
    let mut text = base.as_str().trim_end_matches('/').to_string();
    text.push_str(path);
    let url =
        reqwest::Url::parse(&text).map_err(|e| format!("`{path}` does not form a URL: {e}"))?;
    if url.origin() != base.origin() {
        return Err(format!("`{path}` would leave the connection's origin"));
    }
    Ok(url)
}

fn auth_header(credentials: &Credentials) -> Option<String> {
    match credentials {
        Credentials::None => None,
        Credentials::Basic { user, token } => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", token.expose()))
        )),
        Credentials::Bearer(token) => Some(format!("Bearer {}", token.expose())),
    }
}

impl HttpCapability {
    fn deny(&mut self, reason: String) -> HttpError {
        tracing::warn!(
            plugin = %self.plugin,
            connection = %self.connection,
            reason = %reason,
            "plugin HTTP request refused"
        );
        self.stats.http_denied.inc();
        self.denials.push(reason.clone());
        HttpError::Denied(reason)
    }

    /// Carry out one plugin request, politely: within the connection's concurrency and rate
    /// limits, waiting out 429s (for up to `max_retry_wait`) and retrying 503s and dropped
    /// connections when the method is safe to repeat. What the plugin finally gets is the last
    /// answer, so a persistent 429 still reaches it as a rate-limit error.
    pub async fn send(&mut self, request: Request) -> Result<Response, HttpError> {
        let mut attempt = 0;
        loop {
            let limiter = self.limiter.clone();
            let permit = limiter.acquire().await;
            let result = self.send_once(&request).await;
            drop(permit);
            self.stats
                .upstream(&self.connection, result.as_ref().map_or(0, |r| r.status));
            if attempt >= self.retries {
                return result;
            }
            let wait = match &result {
                Ok(r) if r.status == 429 => {
                    let wait =
                        retry_after(&r.headers, unix_now()).unwrap_or_else(|| backoff(attempt));
                    if wait > self.max_retry_wait {
                        return result;
                    }
                    self.stats.rate_limit_waits.inc();
                    wait
                }
                Ok(r) if r.status == 503 && idempotent(request.method) => {
                    retry_after(&r.headers, unix_now())
                        .filter(|w| *w <= self.max_retry_wait)
                        .unwrap_or_else(|| backoff(attempt))
                }
                Err(HttpError::Transport(_)) if idempotent(request.method) => backoff(attempt),
                _ => return result,
            };
            attempt += 1;
            self.stats.http_retries.inc();
            tracing::info!(
                plugin = %self.plugin,
                connection = %self.connection,
                path = %request.path.split('?').next().unwrap_or(""),
                attempt,
                wait_ms = wait.as_millis() as u64,
                outcome = %match &result {
                    Ok(r) => r.status.to_string(),
                    Err(e) => format!("{e:?}"),
                },
                "retrying upstream request"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(&mut self, request: &Request) -> Result<Response, HttpError> {
        let Some(endpoint) = self.endpoints.get(&request.connection).cloned() else {
            let known: Vec<&str> = self.endpoints.keys().map(String::as_str).collect();
            return Err(self.deny(format!(
                "connection `{}` is not configured for this plugin (configured: {})",
                request.connection,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        if let Err(reason) = check_path(&request.path) {
            return Err(self.deny(reason));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &request.headers {
            let lower = name.to_ascii_lowercase();
            if FORBIDDEN_REQUEST_HEADERS.contains(&lower.as_str()) || lower.starts_with("proxy-") {
                return Err(self.deny(format!(
                    "header `{name}` may not be set by a plugin; the host adds credentials itself"
                )));
            }
            let (Ok(n), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(value),
            ) else {
                return Err(self.deny(format!("header `{name}` is not a valid HTTP header")));
            };
            headers.append(n, v);
        }
        let mut url = match join(&endpoint.base_url, &request.path) {
            Ok(u) => u,
            Err(reason) => return Err(self.deny(reason)),
        };
        let method = method_of(request.method);
        let started = Instant::now();
        let mut redirects = 0;
        let response = loop {
            let mut builder = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone())
                .timeout(self.request_timeout);
            if let Some(auth) = auth_header(&endpoint.credentials) {
                builder = builder.header(reqwest::header::AUTHORIZATION, auth);
            }
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            self.stats.http_requests.inc();
            let response = match builder.send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => {
                    self.stats.http_errors.inc();
                    return Err(HttpError::Timeout(format!(
                        "no answer within {:?} from {} {}",
                        self.request_timeout,
                        method,
                        url.path()
                    )));
                }
                Err(e) => {
                    self.stats.http_errors.inc();
                    // reqwest's message names the URL, which holds no credentials (they go
                    // in a header); strip it anyway to keep messages short.
                    return Err(HttpError::Transport(format!(
                        "{method} {}: {}",
                        url.path(),
                        e.without_url()
                    )));
                }
            };
            if response.status().is_redirection()
                && let Some(location) = response.headers().get(reqwest::header::LOCATION)
            {
                let target = location.to_str().ok().and_then(|l| url.join(l).ok());
                let Some(target) = target else {
                    return Err(self.deny("redirect with an unreadable Location".to_string()));
                };
                if target.origin() != endpoint.base_url.origin() {
                    return Err(self.deny(format!(
                        "redirect from {} to another origin ({}) refused",
                        url.path(),
                        target.origin().ascii_serialization()
                    )));
                }
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(self.deny(format!("more than {MAX_REDIRECTS} redirects")));
                }
                url = target;
                continue;
            }
            break response;
        };
        let status = response.status().as_u16();
        let cap = self.response_max_bytes;
        if response.content_length().is_some_and(|len| len > cap) {
            self.stats.http_too_large.inc();
            tracing::warn!(plugin = %self.plugin, connection = %self.connection, path = %url.path(), cap, "response larger than the cap");
            return Err(HttpError::TooLarge(cap));
        }
        let mut out_headers = Vec::new();
        for (name, value) in response.headers() {
            let name = name.as_str().to_ascii_lowercase();
            if HIDDEN_RESPONSE_HEADERS.contains(&name.as_str()) {
                continue;
            }
            out_headers.push((name, String::from_utf8_lossy(value.as_bytes()).into_owned()));
        }
        let mut body = Vec::new();
        let mut response = response;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > cap {
                        self.stats.http_too_large.inc();
                        tracing::warn!(plugin = %self.plugin, connection = %self.connection, path = %url.path(), cap, "response larger than the cap");
                        return Err(HttpError::TooLarge(cap));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    self.stats.http_errors.inc();
                    return Err(HttpError::Transport(format!(
                        "{method} {}: reading the body: {}",
                        url.path(),
                        e.without_url()
                    )));
                }
            }
        }
        tracing::debug!(
            plugin = %self.plugin,
            connection = %self.connection,
            method = %method,
            path = %url.path(),
            status,
            bytes = body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "upstream request"
        );
        Ok(Response {
            status,
            headers: out_headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_relative_and_plain() {
        assert!(check_path("/rest/api/3/myself").is_ok());
        assert!(check_path("/rest/api/3/search/jql?jql=project%20%3D%20X").is_ok());
        for bad in [
            "http://evil.test/x",
            "//evil.test/x",
            "rest/api",
            "/a/../b",
            "/a\\b",
            "/a b",
            "/a#frag",
        ] {
            assert!(check_path(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn join_keeps_context_path_and_origin() {
        let base = reqwest::Url::parse("https://jira.example.com/jira/").unwrap();
        assert_eq!(
            join(&base, "/rest/api/2/myself").unwrap().as_str(),
            "https://jira.example.com/jira/rest/api/2/myself"
        );
        let base = reqwest::Url::parse("https://jira.example.com").unwrap();
        assert!(join(&base, "/@evil.test/").unwrap().host_str() == Some("jira.example.com"));
    }

    #[test]
    fn waits_come_from_retry_after_or_the_reset_instant() {
        let h = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let now = iso_instant("2026-11-27T10:30Z").unwrap();
        assert_eq!(now, 1_795_775_400.0);
        assert_eq!(
            retry_after(&h("retry-after", "7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&h("X-RateLimit-Reset", "2026-11-27T10:31Z"), now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after(&h("x-ratelimit-reset", "2026-11-27T12:31:30+02:00"), now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after(&h("x-ratelimit-reset", "2026-11-27T10:29Z"), now),
            Some(Duration::ZERO),
            "a reset in the past means: go"
        );
        assert_eq!(
            retry_after(&h("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"), now),
            None
        );
        assert_eq!(retry_after(&[], now), None);
    }

    #[test]
    fn credentials_become_the_right_header() {
        use crate::config::Secret;
        let basic = Credentials::Basic {
            user: "dana@acme.test".into(),
            token: Secret::new("tok"),
        };
        assert_eq!(
            auth_header(&basic).unwrap(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("dana@acme.test:tok")
            )
        );
        assert_eq!(
            auth_header(&Credentials::Bearer(Secret::new("pat"))).unwrap(),
            "Bearer pat"
        );
        assert!(auth_header(&Credentials::None).is_none());
    }
}
