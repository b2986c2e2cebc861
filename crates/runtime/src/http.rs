//! The HTTP capability: the only way a plugin reaches the network.
//!
//! A plugin names one of its connections and a path. The host checks the name against the
//! endpoints configured for this job, refuses absolute URLs and headers that carry identity
//! (Authorization, Cookie, Host, Proxy-*, hop-by-hop), joins the path to the base URL, adds
//! the credentials, follows redirects only within the same origin, caps the response size and
//! strips response headers that carry identity back. Every refusal is logged and counted.

use crate::bindings::tollgate::plugin::http::{HttpError, Method, Request, Response};
use crate::stats::RuntimeStats;

use crate::secret::{Credentials, Secret};
use base64::Engine as _;
/// The URL type of endpoints.
pub use reqwest::Url;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A base URL with its credentials, and what the host works out from them once for all the
/// requests it sends there: the `Authorization` header it adds, a fingerprint of it (which GETs
/// in flight are the same, [`HttpCapability::send`]) and the forms in which an answer could
/// echo it ([`Echoes`]).
#[derive(Debug, Clone)]
pub struct Endpoint {
    base_url: reqwest::Url,
    header: Option<Secret>,
    fingerprint: u64,
    echoes: Arc<Echoes>,
}

impl Endpoint {
    /// The endpoint at `base_url` (request paths are appended to its path), to which the host
    /// adds `credentials`.
    pub fn new(base_url: reqwest::Url, credentials: &Credentials) -> Endpoint {
        use std::hash::BuildHasher;
        let header = auth_header(credentials);
        Endpoint {
            base_url,
            fingerprint: CREDENTIAL_FINGERPRINT.hash_one(&header),
            header: header.map(Secret::new),
            echoes: Arc::new(Echoes::of(credentials)),
        }
    }
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

/// The most requests one `send-all` call sends; each answer may be as large as the response
/// cap, so this bounds what a call holds at once.
pub const MAX_REQUESTS_PER_BATCH: usize = 16;

/// The per-job state of the HTTP capability.
pub struct HttpCapability {
    pub(crate) client: reqwest::Client,
    pub(crate) endpoints: BTreeMap<String, Endpoint>,
    pub(crate) response_max_bytes: u64,
    pub(crate) request_timeout: Duration,
    pub(crate) stats: Arc<RuntimeStats>,
    pub(crate) plugin: String,
    pub(crate) connection: String,
    /// Why requests were refused during this call, for the call's error report (a lock: the
    /// requests of one `send-all` run side by side).
    pub(crate) denials: std::sync::Mutex<Vec<String>>,
    /// Politeness towards the remote, shared by every job on the connection.
    pub(crate) limiter: Arc<crate::limiter::ConnectionLimiter>,
    /// Told when a request is answered with success (see [`crate::JobContext::answered`]).
    pub(crate) answered: Option<Arc<tokio::sync::watch::Sender<bool>>>,
    /// Retries after 429, 503 or a dropped connection.
    pub(crate) retries: u32,
    /// Longest `Retry-After` waited for.
    pub(crate) max_retry_wait: Duration,
}

/// Keys of the fingerprints that tell credentials apart in the GETs in flight
/// ([`HttpCapability::send`]): random for the process, so a fingerprint says nothing of the
/// credential outside it.
static CREDENTIAL_FINGERPRINT: std::sync::LazyLock<std::collections::hash_map::RandomState> =
    std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);

/// Requests that may be sent again after a 503 or a lost answer without changing anything:
/// the idempotent methods, and any request the plugin marks with an `Idempotency-Key` header
/// (the IETF draft's name; plugins mark read-only POSTs such as Azure DevOps's WIQL queries
/// and batch reads, or Jira's search, with it).
fn repeatable(request: &Request) -> bool {
    matches!(
        request.method,
        Method::Get | Method::Head | Method::Put | Method::Delete
    ) || request
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("idempotency-key"))
}

/// How long the remote asked us to wait, in seconds: `Retry-After` in seconds (the HTTP-date
/// form is rare upstream and treated as absent), else Jira's `X-RateLimit-Reset` (an ISO-8601
/// instant, `2026-11-27T10:31Z`) counted from `now` (seconds since the epoch). Whatever the
/// header says, the answer is a finite number of seconds of at least 0: the caller compares it
/// with its longest wait before turning it into a [`Duration`], so `1e20` or `2^64` cannot
/// overflow anything.
pub fn retry_after(headers: &[(String, String)], now: f64) -> Option<f64> {
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
    seconds.filter(|s| s.is_finite() && *s >= 0.0)
}

/// `seconds` as a wait, if it is no longer than `max`.
pub fn wait_within(seconds: f64, max: Duration) -> Option<Duration> {
    (seconds <= max.as_secs_f64()).then(|| Duration::from_secs_f64(seconds))
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM[:SS[.fff]]Z` (or with a `+hh:mm` offset).
/// Computed in floating point, so absurd hours or minutes give absurd instants, never an
/// overflow.
fn iso_instant(text: &str) -> Option<f64> {
    let (date, time) = text.split_once('T')?;
    let days = tollgate_dmo::calendar::day_number(date)? as f64;
    let (clock, offset_min) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0.0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, off) = time.split_at(at);
        let sign = if off.starts_with('-') { -1.0 } else { 1.0 };
        let digits: String = off[1..].chars().filter(char::is_ascii_digit).collect();
        let (h, mi) = digits.split_at(digits.len().min(2));
        (
            c,
            sign * (h.parse::<f64>().ok()? * 60.0 + mi.parse::<f64>().unwrap_or(0.0)),
        )
    };
    let mut parts = clock.split(':');
    let hh: f64 = parts.next()?.parse().ok()?;
    let mm: f64 = parts.next()?.parse().ok()?;
    let ss: f64 = parts.next().map_or(Some(0.0), |s| s.parse().ok())?;
    let at = ((days * 24.0 + hh) * 60.0 + mm - offset_min) * 60.0 + ss;
    at.is_finite().then_some(at)
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

/// Checks a plugin-supplied path: it must be a path (and query) relative to the base URL that
/// stays below the base URL's own path however a server decodes it. Refused: anything that
/// is not a plain `/path`, whitespace and control characters, `#`, backslashes, doubled
/// slashes, and dot segments in every spelling (`.`, `..`, `%2e`, `.%2E`, `%252e%252e`, ...),
/// looked for in the path as sent and after one, two and three rounds of percent-decoding,
/// since proxies and servers decode a different number of times.
pub fn check_path(path: &str) -> Result<(), String> {
    let shown = printable(path);
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(format!(
            "`{shown}` is not a path starting with a single `/`; plugins send paths relative to their connection, never URLs"
        ));
    }
    if path
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || c == '#')
    {
        return Err(format!(
            "`{shown}` contains whitespace, control characters, `\\` or `#`"
        ));
    }
    let path_part = path.split('?').next().unwrap_or("").as_bytes().to_vec();
    let mut layer = path_part;
    for round in 0..=3 {
        if let Some(problem) = path_problem(&layer) {
            let how = [
                "",
                " once percent-decoded",
                " after two rounds of percent-decoding",
                " after three rounds of percent-decoding",
            ][round];
            return Err(format!(
                "`{shown}` {problem}{how}; plugins stay below their connection's base path"
            ));
        }
        let next = percent_decode(&layer);
        if next == layer {
            break;
        }
        layer = next;
    }
    Ok(())
}

/// What is wrong with one spelling of a path: a dot segment, an empty segment (a doubled
/// slash), a backslash, or a control character.
fn path_problem(path: &[u8]) -> Option<&'static str> {
    if path.contains(&b'\\') {
        return Some("contains a backslash");
    }
    if path.iter().any(|b| b.is_ascii_control()) {
        return Some("contains a control character");
    }
    let segments: Vec<&[u8]> = path.split(|b| *b == b'/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            b"." | b".." => return Some("contains a dot segment"),
            // A trailing slash leaves one empty last segment; any other empty one is `//`.
            b"" if i + 1 < segments.len() => return Some("contains a doubled slash"),
            _ => {}
        }
    }
    None
}

/// One round of percent-decoding; malformed escapes stay as they are.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Text safe to echo to a terminal or a log: control characters (escape sequences, carriage
/// returns, bells) are shown escaped, as `\u{1b}`.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The URL a plugin's `path` names below `base`: [`check_path`], then the join.
pub fn join_checked(base: &reqwest::Url, path: &str) -> Result<reqwest::Url, String> {
    check_path(path)?;
    join(base, path)
}

/// `base` + `path`, keeping the base URL's own path (e.g. a Jira context path `/jira`). The
/// URL parser resolves dot segments (`%2e` included), so the result is checked once more: it
/// must keep the origin and stay below the base path.
fn join(base: &reqwest::Url, path: &str) -> Result<reqwest::Url, String> {
    let mut text = base.as_str().trim_end_matches('/').to_string();
    let prefix = format!("{}/", base.path().trim_end_matches('/'));
    text.push_str(path);
    let url = reqwest::Url::parse(&text)
        .map_err(|e| format!("`{}` does not form a URL: {e}", printable(path)))?;
    if url.origin() != base.origin() {
        return Err(format!(
            "`{}` would leave the connection's origin",
            printable(path)
        ));
    }
    if !url.path().starts_with(&prefix) {
        return Err(format!(
            "`{}` would leave the connection's base path {prefix}",
            printable(path)
        ));
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

/// The texts in which the credential the host adds could come back in an answer, as sent:
/// the whole header value, its base64 part, the token itself (when long enough not to match by
/// chance).
fn credential_texts(credentials: &Credentials) -> Vec<String> {
    let mut plain: Vec<String> = Vec::new();
    if let Some(header) = auth_header(credentials) {
        // The base64 of `user:token`, long enough to search for on its own; a bearer header's
        // value is the token itself, searched for below when long enough.
        if let (Credentials::Basic { .. }, Some((_, value))) = (credentials, header.split_once(' '))
        {
            plain.push(value.to_string());
        }
        plain.push(header);
    }
    let token = match credentials {
        Credentials::None => None,
        Credentials::Basic { token, .. } | Credentials::Bearer(token) => Some(token.expose()),
    };
    if let Some(token) = token.filter(|t| t.len() >= 8) {
        plain.push(token.to_string());
    }
    plain
}

/// Every form in which the credential the host adds could come back in an answer: each of
/// [`credential_texts`], also as JSON encoders escape `/`, `+` and `=`.
fn credential_needles(credentials: &Credentials) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for p in credential_texts(credentials) {
        let variants = [
            p.clone(),
            p.replace('/', "\\/"),
            p.replace('+', "\\u002b")
                .replace('=', "\\u003d")
                .replace('/', "\\u002f"),
            p.replace('+', "\\u002B")
                .replace('=', "\\u003D")
                .replace('/', "\\u002F"),
        ];
        for v in variants {
            if !out.iter().any(|o| o == v.as_bytes()) {
                out.push(v.into_bytes());
            }
        }
    }
    // Longest first, so a header value is replaced whole before its token part is looked for.
    out.sort_by_key(|n| std::cmp::Reverse(n.len()));
    out
}

/// What replaces an echoed credential.
const REDACTED: &[u8] = b"[REDACTED]";

/// The forms in which an endpoint's credential could come back in an answer
/// ([`credential_needles`]), and pieces that each form holds whatever its spelling: an answer in
/// which no piece occurs (nearly every one) holds no form, and is searched once a piece instead
/// of once a form (a dozen searches of every answer were 2 % of a sync's CPU).
struct Echoes {
    needles: Vec<Vec<u8>>,
    pieces: Vec<memchr::memmem::Finder<'static>>,
}

impl std::fmt::Debug for Echoes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the forms themselves: they are the credential.
        f.debug_struct("Echoes")
            .field("forms", &self.needles.len())
            .finish_non_exhaustive()
    }
}

impl Echoes {
    fn of(credentials: &Credentials) -> Echoes {
        Echoes {
            needles: credential_needles(credentials),
            pieces: pieces_of(&credential_texts(credentials))
                .iter()
                .map(|p| memchr::memmem::Finder::new(p).into_owned())
                .collect(),
        }
    }

    /// Replace every form of the credential in `bytes`; how many were replaced.
    fn redact(&self, bytes: &mut Vec<u8>) -> usize {
        if self.pieces.iter().all(|p| p.find(bytes).is_none()) {
            return 0;
        }
        redact(bytes, &self.needles)
    }
}

/// Pieces such that every spelling of each of `texts` holds one ([`longest_unescaped`]): one
/// for each text that holds no other (a text holding another holds that one's piece too; of two
/// the same, the first has the piece).
fn pieces_of(texts: &[String]) -> Vec<Vec<u8>> {
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let holds_another = texts.iter().enumerate().any(|(j, other)| {
            j != i && text.contains(other.as_str()) && (other.len() < text.len() || j < i)
        });
        let piece = longest_unescaped(text.as_bytes()).to_vec();
        if !holds_another && !pieces.contains(&piece) {
            pieces.push(piece);
        }
    }
    pieces
}

/// The longest run of `text` without the bytes [`credential_needles`] spells otherwise (`/`, `+`,
/// `=`): every spelling of `text` holds it. Empty if `text` is all of them (then found in any
/// answer, which is then searched for every form).
fn longest_unescaped(text: &[u8]) -> &[u8] {
    text.split(|b| matches!(b, b'/' | b'+' | b'='))
        .max_by_key(|run| run.len())
        .unwrap_or_default()
}

/// Replace every occurrence of each needle in `bytes`; returns how many were replaced.
fn redact(bytes: &mut Vec<u8>, needles: &[Vec<u8>]) -> usize {
    let mut count = 0;
    for needle in needles {
        if needle.is_empty() || memchr::memmem::find(bytes, needle).is_none() {
            continue;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest: &[u8] = bytes;
        while let Some(at) = memchr::memmem::find(rest, needle) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(REDACTED);
            rest = &rest[at + needle.len()..];
            count += 1;
        }
        out.extend_from_slice(rest);
        *bytes = out;
    }
    count
}

impl HttpCapability {
    fn deny(&self, reason: String) -> HttpError {
        tracing::warn!(
            plugin = %self.plugin,
            connection = %self.connection,
            reason = %reason,
            "plugin HTTP request refused"
        );
        self.stats.http_denied.inc();
        self.denials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(reason.clone());
        HttpError::Denied(reason)
    }

    /// Carry out one plugin request, politely: within the connection's concurrency and rate
    /// limits, waiting out 429s (for up to `max_retry_wait`) and retrying 503s and dropped
    /// connections when the method is safe to repeat. What the plugin finally gets is the last
    /// answer, so a persistent 429 still reaches it as a rate-limit error.
    ///
    /// A GET the same as one in flight on the connection (the same connection, path, headers)
    /// is not sent again: it gets that one's answer, as it would have got the same a moment
    /// later. Only while in flight: the next one is sent.
    pub async fn send(&self, request: Request) -> Result<Response, HttpError> {
        if request.method != Method::Get || request.body.is_some() {
            return self.send_alone(request).await;
        }
        // What decides the answer: where it goes (the endpoint, and who asks: a fingerprint of
        // the credential, never the credential) and what it asks.
        let endpoint = self
            .endpoints
            .get(&request.connection)
            .map(|e| format!("{} {:x}", e.base_url, e.fingerprint));
        let key = format!(
            "{}\n{endpoint:?}\n{}\n{:?}",
            request.connection, request.path, request.headers
        );
        let shared = {
            let mut map = self
                .limiter
                .in_flight_gets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(key.clone()).or_default().clone()
        };
        // Leaves the map once this request has its answer (or is dropped): the next GET is
        // sent. The entry is removed only while it still is this flight's.
        struct Leave<'a> {
            map: &'a std::sync::Mutex<
                std::collections::HashMap<String, Arc<crate::limiter::SharedAnswer>>,
            >,
            key: String,
            shared: Arc<crate::limiter::SharedAnswer>,
        }
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                let mut map = self
                    .map
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if map
                    .get(&self.key)
                    .is_some_and(|s| Arc::ptr_eq(s, &self.shared))
                {
                    map.remove(&self.key);
                }
            }
        }
        let _leave = Leave {
            map: &self.limiter.in_flight_gets,
            key,
            shared: shared.clone(),
        };
        let mut sent = false;
        let answer = shared
            .get_or_init(|| {
                sent = true;
                self.send_alone(request)
            })
            .await
            .clone();
        if !sent {
            self.stats.http_shared.inc();
            // A refusal goes into this call's report too, as if it had been refused itself.
            if let Err(HttpError::Denied(reason)) = &answer {
                self.denials
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(reason.clone());
            }
        }
        answer
    }

    /// [`Self::send`] without looking for the same GET in flight.
    async fn send_alone(&self, request: Request) -> Result<Response, HttpError> {
        let mut attempt = 0;
        loop {
            let limiter = self.limiter.clone();
            let permit = limiter.acquire().await;
            let result = self.send_once(&request).await;
            drop(permit);
            self.stats
                .upstream(&self.connection, result.as_ref().map_or(0, |r| r.status));
            // (203 is Azure DevOps's sign-in page for a refused token, not a success.)
            if let (Some(answered), Ok(r)) = (&self.answered, &result)
                && (200..300).contains(&r.status)
                && r.status != 203
            {
                answered.send_if_modified(|a| !std::mem::replace(a, true));
            }
            // A successful answer that asks for a pause (Azure DevOps's delayed 200 with
            // `Retry-After`): this one counts, the next request on the connection waits.
            if let Ok(r) = &result
                && (200..300).contains(&r.status)
                && let Some(s) = retry_after(&r.headers, unix_now())
            {
                let pause = wait_within(s, self.max_retry_wait).unwrap_or(self.max_retry_wait);
                tracing::info!(
                    plugin = %self.plugin,
                    connection = %self.connection,
                    pause_ms = pause.as_millis() as u64,
                    "the remote asked for a pause; holding later requests"
                );
                self.stats.rate_limit_waits.inc();
                self.limiter.hold_off(pause);
            }
            if attempt >= self.retries {
                return result;
            }
            let wait = match &result {
                Ok(r) if r.status == 429 => {
                    let wait = match retry_after(&r.headers, unix_now()) {
                        // Longer than we wait inside a call: the plugin gets the 429 and the
                        // sync retries the page later.
                        Some(s) => match wait_within(s, self.max_retry_wait) {
                            Some(w) => w,
                            None => return result,
                        },
                        None => backoff(attempt),
                    };
                    self.stats.rate_limit_waits.inc();
                    wait
                }
                Ok(r) if r.status == 503 && repeatable(&request) => {
                    retry_after(&r.headers, unix_now())
                        .and_then(|s| wait_within(s, self.max_retry_wait))
                        .unwrap_or_else(|| backoff(attempt))
                }
                Err(HttpError::Transport(_)) if repeatable(&request) => backoff(attempt),
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

    /// Carry out independent plugin requests side by side (`send-all`), each as [`Self::send`]
    /// does; the connection's limiter still bounds how many are in flight and how fast they
    /// start. Answers come back in the requests' order. Requests past
    /// [`MAX_REQUESTS_PER_BATCH`] are refused, not sent: a plugin cannot hold more responses
    /// at once than the host planned for.
    pub async fn send_all(&self, requests: Vec<Request>) -> Vec<Result<Response, HttpError>> {
        let total = requests.len();
        let mut refused = Vec::new();
        let sends: Vec<_> = requests
            .into_iter()
            .enumerate()
            .filter_map(|(i, request)| {
                if i < MAX_REQUESTS_PER_BATCH {
                    Some(self.send(request))
                } else {
                    refused.push(i);
                    None
                }
            })
            .collect();
        let mut answers = futures_util::future::join_all(sends).await;
        if !refused.is_empty() {
            let reason = format!(
                "send-all takes at most {MAX_REQUESTS_PER_BATCH} requests; {total} were given, the {} past the {MAX_REQUESTS_PER_BATCH}th are not sent",
                refused.len()
            );
            let denied = self.deny(reason);
            answers.extend(refused.iter().map(|_| Err(denied.clone())));
        }
        answers
    }

    async fn send_once(&self, request: &Request) -> Result<Response, HttpError> {
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
        let mut url = match join_checked(&endpoint.base_url, &request.path) {
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
            if let Some(auth) = &endpoint.header {
                builder = builder.header(reqwest::header::AUTHORIZATION, auth.expose());
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
                    // Name where it went (host and port: no credentials there, they go in a
                    // header) and why, in words an operator can act on.
                    return Err(HttpError::Transport(format!(
                        "{method} {}: {}",
                        url.path(),
                        transport_cause(&url, &e)
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
        // An upstream that reflects request headers (a debugging endpoint, a misconfigured
        // proxy) would hand the plugin the credential the host added: take it out first.
        let mut echoed = endpoint.echoes.redact(&mut body);
        for (_, value) in &mut out_headers {
            let mut bytes = std::mem::take(value).into_bytes();
            echoed += endpoint.echoes.redact(&mut bytes);
            *value = String::from_utf8_lossy(&bytes).into_owned();
        }
        if echoed > 0 {
            self.stats.credential_echoes.inc();
            tracing::warn!(
                plugin = %self.plugin,
                connection = %self.connection,
                path = %url.path(),
                occurrences = echoed,
                "the upstream's answer contained the connection's credential; it was redacted before the plugin saw it"
            );
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

/// Why a request got no answer, naming the host and port: refused, timed out, DNS, TLS, or
/// the innermost cause the transport gave.
fn transport_cause(url: &Url, e: &reqwest::Error) -> String {
    let at = format!(
        "{}:{}",
        url.host_str().unwrap_or("?"),
        url.port_or_known_default()
            .map_or("?".into(), |p| p.to_string())
    );
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        chain.push(err.to_string());
        source = err.source();
    }
    let all = chain.join(": ").to_lowercase();
    let innermost = chain.last().cloned().unwrap_or_default();
    let what = if all.contains("dns error") || all.contains("failed to lookup address") {
        "the host name did not resolve (DNS)"
    } else if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        "the TLS handshake failed"
    } else if all.contains("connection refused") {
        "the connection was refused"
    } else if all.contains("timed out") {
        "the connection timed out"
    } else if all.contains("connection reset") || all.contains("connection closed") {
        "the connection was closed"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request could not be sent"
    };
    format!("{what} at {at} ({innermost})")
}

#[cfg(test)]
mod tests {
    /// A server that answers each request 300 ms after it came, with its path; it counts
    /// the requests.
    async fn slow_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api", listener.local_addr().unwrap());
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..n]);
                        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                            buffer.drain(..end + 4);
                            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let path = head.split(' ').nth(1).unwrap_or("").to_string();
                            tokio::time::sleep(Duration::from_millis(300)).await;
                            let answer = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{path}",
                                path.len()
                            );
                            if socket.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (base, count)
    }

    /// A capability of one job on connection `jira` at `base`, sharing `limiter` and `stats`.
    fn job(
        base: &str,
        token: &str,
        limiter: &Arc<crate::limiter::ConnectionLimiter>,
        stats: &Arc<RuntimeStats>,
    ) -> HttpCapability {
        HttpCapability {
            client: reqwest::Client::new(),
            endpoints: [(
                "jira".to_string(),
                Endpoint::new(
                    Url::parse(base).unwrap(),
                    &Credentials::Bearer(crate::secret::Secret::new(token)),
                ),
            )]
            .into(),
            response_max_bytes: 1 << 20,
            request_timeout: Duration::from_secs(10),
            stats: stats.clone(),
            plugin: "jira".into(),
            connection: "jira".into(),
            denials: Default::default(),
            limiter: limiter.clone(),
            answered: None,
            retries: 0,
            max_retry_wait: Duration::from_secs(1),
        }
    }

    fn get(path: &str) -> Request {
        Request {
            connection: "jira".into(),
            method: Method::Get,
            path: path.into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: None,
        }
    }

    #[tokio::test]
    async fn the_same_get_in_flight_on_a_connection_is_sent_once_and_answers_both() {
        let (base, count) = slow_server().await;
        let limiter = crate::limiter::Limiters::default().get("jira", 8, None);
        let stats = Arc::new(RuntimeStats::default());
        let (a, b) = (
            job(&base, "t", &limiter, &stats),
            job(&base, "t", &limiter, &stats),
        );
        let sent = |n| {
            assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), n);
        };
        // Two jobs ask for the site's fields at once: one request, the same answer for both.
        let (x, y) = tokio::join!(a.send(get("/field")), b.send(get("/field")));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!((x.status, &x.body), (y.status, &y.body));
        assert_eq!(x.body, b"/api/field");
        sent(1);
        assert_eq!(stats.http_shared.get(), 1);
        // Once answered, the same GET is sent again: only what is in flight is shared.
        a.send(get("/field")).await.unwrap();
        sent(2);
        // Another path, other headers, another credential, a POST: each its own request.
        let mut other_headers = get("/field");
        other_headers.headers.push(("x-other".into(), "1".into()));
        let mut post = get("/field");
        post.method = Method::Post;
        post.body = Some(b"{}".to_vec());
        let stranger = job(&base, "another token", &limiter, &stats);
        let (p, q, r, s) = tokio::join!(
            a.send(get("/issuetype")),
            b.send(other_headers),
            stranger.send(get("/field")),
            a.send(post),
        );
        for answer in [p, q, r, s] {
            answer.unwrap();
        }
        sent(6);
        assert_eq!(stats.http_shared.get(), 1);
        assert!(
            limiter.in_flight_gets.lock().unwrap().is_empty(),
            "nothing left in flight"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_host_the_port_and_the_cause() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = super::Url::parse(&format!("http://127.0.0.1:{port}/rest/api/3/field")).unwrap();
        let e = reqwest::Client::new()
            .get(url.clone())
            .send()
            .await
            .unwrap_err();
        let message = super::transport_cause(&url, &e);
        assert!(
            message.starts_with(&format!("the connection was refused at 127.0.0.1:{port} (")),
            "{message}"
        );
    }

    #[test]
    fn a_post_is_repeated_only_when_the_plugin_marks_it_a_read() {
        let request = |method, headers: &[(&str, &str)]| Request {
            connection: "jira".into(),
            method,
            path: "/rest/api/3/search/jql".into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Some(b"{}".to_vec()),
        };
        assert!(super::repeatable(&request(Method::Get, &[])));
        assert!(!super::repeatable(&request(Method::Post, &[])));
        assert!(!super::repeatable(&request(
            Method::Patch,
            &[("content-type", "application/json")]
        )));
        assert!(super::repeatable(&request(
            Method::Post,
            &[("Idempotency-Key", "abc")]
        )));
    }

    use super::*;

    #[test]
    fn paths_must_be_relative_and_plain() {
        assert!(check_path("/rest/api/3/myself").is_ok());
        assert!(check_path("/rest/api/3/search/jql?jql=project%20%3D%20X").is_ok());
        assert!(
            check_path("/rest/api/2/").is_ok(),
            "a trailing slash is fine"
        );
        assert!(
            check_path("/rest/api/3/search?jql=a%2F..%2Fb").is_ok(),
            "the query is the server's business, not a path"
        );
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

    /// Every spelling of a way out of the base path that a plugin was seen to try, or that a
    /// server could decode into one.
    #[test]
    fn every_spelling_of_a_dot_segment_is_refused() {
        for bad in [
            "/..",
            "/../x",
            "/./x",
            "/.",
            "/x/.",
            "/%2e%2e/x",
            "/%2E%2E/x",
            "/.%2e/.%2e/x",
            "/%2e./%2e./x",
            "/.%2E/x",
            "/%2e/x",
            "/%252e%252e/x",
            "/%25252e%25252e/x",
            "/x/%2e%2e%2fy",
            "/x/..%2fy",
            "/x/..%5cy",
            "/x/%5c..%5cy",
            "/x//y",
            "/x/%2f/y",
            "/x/%00",
            "/x/%0d%0aHost:%20evil",
        ] {
            let e = check_path(bad).expect_err(bad);
            assert!(
                e.contains("base path") || e.contains("control"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn refusals_never_echo_control_characters() {
        let e = check_path("/a\u{1b}[31mred").unwrap_err();
        assert!(!e.contains('\u{1b}'), "{e}");
        assert!(e.contains("\\u{1b}"), "{e}");
    }

    proptest::proptest! {
        /// Whatever a plugin sends, a path the host accepts lands below the base path, and
        /// no decoding of it holds a dot segment.
        #[test]
        fn accepted_paths_stay_below_the_base_path(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "/", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%25", "2e", "a", "rest",
                    "%", "?", "=", "\\", ";", "%3f", "~", "@", ":",
                ]),
                1..12,
            )
        ) {
            let path = format!("/{}", parts.concat());
            let base = reqwest::Url::parse("https://jira.example.com/jira/").unwrap();
            if check_path(&path).is_ok() {
                let url = join(&base, &path).expect("an accepted path joins");
                proptest::prop_assert!(url.path().starts_with("/jira/"), "{} -> {}", path, url);
                let mut layer = path.split('?').next().unwrap().as_bytes().to_vec();
                for _ in 0..4 {
                    proptest::prop_assert!(path_problem(&layer).is_none(), "{}", path);
                    layer = percent_decode(&layer);
                }
            }
        }

        /// Plain paths of ordinary segments are never refused.
        #[test]
        fn plain_paths_are_accepted(segments in proptest::collection::vec("[A-Za-z0-9_-]{1,8}", 1..6)) {
            let path = format!("/{}", segments.join("/"));
            proptest::prop_assert!(check_path(&path).is_ok(), "{}", path);
        }
    }

    proptest::proptest! {
        /// An answer is searched for an endpoint's pieces first, and for its credential's forms
        /// only where a piece is found: each form must hold a piece, or an echo in that form
        /// would pass. Tokens of base64's and JSON's characters, `/`, `+` and `=` anywhere.
        #[test]
        fn every_form_of_a_credential_holds_a_piece_searched_for(
            user in "[a-z@.+/=]{0,12}",
            token in "[A-Za-z0-9+/=]{0,40}",
            bearer in proptest::bool::ANY,
        ) {
            use crate::secret::Secret;
            let creds = if bearer {
                Credentials::Bearer(Secret::new(token.clone()))
            } else {
                Credentials::Basic { user, token: Secret::new(token.clone()) }
            };
            let echoes = Echoes::of(&creds);
            for needle in &echoes.needles {
                proptest::prop_assert!(
                    echoes.pieces.iter().any(|p| p.find(needle).is_some()),
                    "{:?} holds no piece", String::from_utf8_lossy(needle)
                );
                let mut body = [b"{\"echo\":\"".as_slice(), needle, b"\"}"].concat();
                proptest::prop_assert!(echoes.redact(&mut body) >= 1);
                proptest::prop_assert!(
                    memchr::memmem::find(&body, needle).is_none(),
                    "{:?}", String::from_utf8_lossy(&body)
                );
            }
        }
    }

    #[test]
    fn every_text_holds_a_piece_even_of_texts_the_same_or_holding_each_other() {
        let texts: Vec<String> = ["ab/cd+ef", "ab/cd+ef", "xx ab/cd+ef yy", "=/+", "q=rs"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let pieces = pieces_of(&texts);
        for text in &texts {
            assert!(
                pieces
                    .iter()
                    .any(|p| memchr::memmem::find(text.as_bytes(), p).is_some()),
                "{text} holds none of {pieces:?}"
            );
        }
        // The two the same share one piece; the one holding them needs none of its own.
        assert_eq!(pieces, [b"ef".to_vec(), Vec::new(), b"rs".to_vec()]);
    }

    #[test]
    fn an_answer_without_the_credential_is_left_as_it_is() {
        use crate::secret::Secret;
        let creds = Credentials::Basic {
            user: "dana@acme.test".into(),
            token: Secret::new("ATATT3xFfGF0+tok/en=="),
        };
        let echoes = Echoes::of(&creds);
        // Pieces of a form, but no whole form: nothing replaced.
        let text = b"{\"a\":\"ATATT3xFfGF0+tok\",\"b\":\"en==\",\"c\":\"Basic \"}".to_vec();
        let mut body = text.clone();
        assert_eq!(echoes.redact(&mut body), 0);
        assert_eq!(body, text);
        // Its Debug names how many forms it holds, never one of them.
        let shown = format!(
            "{:?}",
            Endpoint::new(Url::parse("https://a.test/").unwrap(), &creds)
        );
        assert!(
            !shown.contains("ATATT3") && !shown.contains("ZGFuY"),
            "{shown}"
        );
    }

    #[test]
    fn echoed_credentials_are_redacted_in_every_spelling() {
        use crate::secret::Secret;
        let creds = Credentials::Basic {
            user: "dana@acme.test".into(),
            token: Secret::new("ATATT3xFfGF0+tok/en=="),
        };
        let header = auth_header(&creds).unwrap();
        let b64 = header.trim_start_matches("Basic ").to_string();
        let mut body = format!(
            "{{\"headers\":{{\"authorization\":\"{header}\"}},\"b\":\"{}\",\"t\":\"ATATT3xFfGF0+tok\\/en==\",\"u\":\"ATATT3xFfGF0\\u002btok\\u002fen\\u003d\\u003d\"}}",
            b64
        )
        .into_bytes();
        let n = Echoes::of(&creds).redact(&mut body);
        let text = String::from_utf8(body).unwrap();
        assert_eq!(n, 4, "{text}");
        assert!(
            !text.contains("ATATT3xFfGF0") && !text.contains(&b64),
            "{text}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(parsed["headers"]["authorization"], "[REDACTED]");
        // Short tokens are not searched on their own (they would match by chance), but the
        // header they make still is.
        let short = Credentials::Bearer(Secret::new("abc"));
        let mut body = b"abc Bearer abc".to_vec();
        Echoes::of(&short).redact(&mut body);
        assert_eq!(body, b"abc [REDACTED]");
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
        assert_eq!(retry_after(&h("retry-after", "7"), now), Some(7.0));
        assert_eq!(
            retry_after(&h("X-RateLimit-Reset", "2026-11-27T10:31Z"), now),
            Some(60.0)
        );
        assert_eq!(
            retry_after(&h("x-ratelimit-reset", "2026-11-27T12:31:30+02:00"), now),
            Some(90.0)
        );
        assert_eq!(
            retry_after(&h("x-ratelimit-reset", "2026-11-27T10:29Z"), now),
            Some(0.0),
            "a reset in the past means: go"
        );
        assert_eq!(
            retry_after(&h("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"), now),
            None
        );
        assert_eq!(retry_after(&[], now), None);
    }

    /// Values that once panicked the CLI (Duration overflow) are just long waits now, and a
    /// wait longer than the configured maximum is not waited for.
    #[test]
    fn absurd_waits_never_panic() {
        let h = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let now = 1_795_775_400.0;
        let max = Duration::from_secs(60);
        for v in [
            "1e20",
            "18446744073709551616",
            "1e308",
            "inf",
            "NaN",
            "-1",
            "-0.5",
        ] {
            let s = retry_after(&h("retry-after", v), now);
            assert!(s.is_none_or(|s| s.is_finite() && s >= 0.0), "{v}: {s:?}");
            assert!(
                s.and_then(|s| wait_within(s, max)).is_none_or(|w| w <= max),
                "{v}"
            );
        }
        assert_eq!(wait_within(1e20, max), None);
        assert_eq!(wait_within(7.0, max), Some(Duration::from_secs(7)));
        for v in [
            "2026-11-27T99999999999999:00Z",
            "9999-12-31T23:59Z",
            "2026-11-27T10:31+99999999999Z",
        ] {
            let s = retry_after(&h("x-ratelimit-reset", v), now);
            assert!(s.is_none_or(|s| s.is_finite() && s >= 0.0), "{v}: {s:?}");
        }
    }

    #[test]
    fn credentials_become_the_right_header() {
        use crate::secret::Secret;
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
