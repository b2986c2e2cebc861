//! Fault injection: what real trackers, and the proxies in front of them, do to a client on a
//! bad day.
//!
//! A spec like `429=0.1,503=0.05,drop=0.03,truncate=0.02,slow=0.1,slow-ms=300,retry-after=1,seed=7`
//! gives each request a chance of a 429 with `Retry-After` (and Jira's rate-limit headers), a
//! 503, a connection dropped before the body, a body cut short, or a slow answer. The answers of
//! a misbehaving proxy or upgrade: `empty` (a 200 of `{}`), `html` (a 200 sign-in page),
//! `drift` (fields of another type: `summary` and `updated` as numbers) and `echo` (the request
//! headers, credentials included, reflected in the body and a response header). Faults are
//! drawn from a seeded generator, so a run is repeatable, and never hit more than
//! `max-in-row` requests in a row (default 2), so a client with bounded retries gets through.
//!
//! Azure DevOps throttles its own way, and so does its face here: a `429` draw on an `/ado/`
//! request is served, but late, as a 200 with `Retry-After` and `X-RateLimit-Delay` (the
//! service's warning); a client that sends again within `Retry-After` is then blocked with a
//! 429 whose JSON carries TF400733. Other faults look the same on both trackers, and `drift`
//! turns Azure DevOps's `System.Title` and `System.ChangedDate` into numbers as it does Jira's
//! `summary` and `updated`.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// What to inject, and how often (each rate is a probability per request).
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// 429 Too Many Requests with `Retry-After`.
    pub rate_limited: f64,
    /// 503 Service Unavailable.
    pub unavailable: f64,
    /// The connection is dropped after the status line, before any body byte.
    pub dropped: f64,
    /// The body stops half-way.
    pub truncated: f64,
    /// The answer is delayed by `slow_ms`.
    pub slow: f64,
    /// A 200 whose body is `{}` (the request is carried out, its answer replaced).
    pub empty: f64,
    /// A 200 with an HTML sign-in page, as a single-sign-on proxy answers.
    pub html: f64,
    /// The answer with `summary` and `updated` turned into numbers wherever they appear.
    pub drift: f64,
    /// The answer with the request's headers reflected into it.
    pub echo: f64,
    /// Delay of a slow answer.
    pub slow_ms: u64,
    /// `Retry-After` seconds sent with 429 (and every other 503).
    pub retry_after: u32,
    /// Seed of the generator.
    pub seed: u64,
    /// Longest run of faulty answers.
    pub max_in_row: u32,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rate_limited: 0.0,
            unavailable: 0.0,
            dropped: 0.0,
            truncated: 0.0,
            slow: 0.0,
            empty: 0.0,
            html: 0.0,
            drift: 0.0,
            echo: 0.0,
            slow_ms: 300,
            retry_after: 1,
            seed: 1,
            max_in_row: 2,
        }
    }
}

impl std::str::FromStr for Faults {
    type Err = String;

    fn from_str(spec: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("fault `{part}` is not KEY=VALUE"))?;
            let rate = |v: &str| -> Result<f64, String> {
                match v.parse::<f64>() {
                    Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                    _ => Err(format!("fault rate `{k}={v}` must be a number from 0 to 1")),
                }
            };
            let int = |v: &str| -> Result<u64, String> {
                v.trim_end_matches("ms")
                    .parse::<u64>()
                    .map_err(|_| format!("fault setting `{k}={v}` must be a whole number"))
            };
            match k {
                "429" => f.rate_limited = rate(v)?,
                "503" => f.unavailable = rate(v)?,
                "drop" => f.dropped = rate(v)?,
                "truncate" => f.truncated = rate(v)?,
                "slow" => f.slow = rate(v)?,
                "empty" => f.empty = rate(v)?,
                "html" => f.html = rate(v)?,
                "drift" => f.drift = rate(v)?,
                "echo" => f.echo = rate(v)?,
                "slow-ms" => f.slow_ms = int(v)?,
                "retry-after" => f.retry_after = int(v)? as u32,
                "seed" => f.seed = int(v)?,
                "max-in-row" => f.max_in_row = int(v)? as u32,
                _ => {
                    return Err(format!(
                        "unknown fault `{k}`: use 429, 503, drop, truncate, slow, empty, html, drift, echo (rates 0..1), slow-ms, retry-after, seed, max-in-row"
                    ));
                }
            }
        }
        Ok(f)
    }
}

/// One draw.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    RateLimited,
    Unavailable,
    Dropped,
    Truncated,
    Slow,
    Empty,
    Html,
    Drift,
    Echo,
}

/// The names of the faults, in the order of [`FaultState::injected`].
pub const FAULT_NAMES: [&str; 9] = [
    "429", "503", "drop", "truncate", "slow", "empty", "html", "drift", "echo",
];

/// Fault state of a running sandbox.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub(crate) spec: Option<Faults>,
    pub(crate) counter: u64,
    pub(crate) in_row: u32,
    /// How many faults of each kind were injected, in the order of [`FAULT_NAMES`].
    pub(crate) injected: [u64; 9],
    /// Azure DevOps blocks requests until then, after a delayed answer asked for a pause.
    pub(crate) ado_blocked_until: Option<std::time::Instant>,
    /// How many Azure DevOps requests were blocked with a 429.
    pub(crate) ado_blocked: u64,
}

/// The delay of a throttled Azure DevOps answer (reported in `X-RateLimit-Delay`).
const ADO_DELAY: std::time::Duration = std::time::Duration::from_millis(40);

fn unit(seed: u64, n: u64) -> f64 {
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(n);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl FaultState {
    fn draw(&mut self) -> (Fault, u32) {
        let Some(f) = &self.spec else {
            return (Fault::None, 0);
        };
        self.counter += 1;
        let x = unit(f.seed, self.counter);
        let mut edge = 0.0;
        let mut pick = Fault::None;
        for (rate, fault) in [
            (f.rate_limited, Fault::RateLimited),
            (f.unavailable, Fault::Unavailable),
            (f.dropped, Fault::Dropped),
            (f.truncated, Fault::Truncated),
            (f.slow, Fault::Slow),
            (f.empty, Fault::Empty),
            (f.html, Fault::Html),
            (f.drift, Fault::Drift),
            (f.echo, Fault::Echo),
        ] {
            edge += rate;
            if x < edge {
                pick = fault;
                break;
            }
        }
        let failing = !matches!(pick, Fault::None | Fault::Slow | Fault::Echo);
        if failing && self.in_row >= f.max_in_row {
            pick = Fault::None;
        }
        if failing {
            self.in_row += 1;
        } else {
            self.in_row = 0;
        }
        let slot = match pick {
            Fault::RateLimited => Some(0),
            Fault::Unavailable => Some(1),
            Fault::Dropped => Some(2),
            Fault::Truncated => Some(3),
            Fault::Slow => Some(4),
            Fault::Empty => Some(5),
            Fault::Html => Some(6),
            Fault::Drift => Some(7),
            Fault::Echo => Some(8),
            Fault::None => None,
        };
        if let Some(s) = slot {
            self.injected[s] += 1;
        }
        (pick, f.retry_after)
    }
}

/// The middleware: draws a fault for every tracker request.
pub(crate) async fn inject(
    State(shared): State<Arc<crate::Shared>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let (fault, retry_after) = shared.faults.lock().unwrap().draw();
    let slow_ms = shared
        .faults
        .lock()
        .unwrap()
        .spec
        .as_ref()
        .map(|f| f.slow_ms)
        .unwrap_or(0);
    let jira = !request.uri().path().starts_with("/ado/");
    if !jira && let Some(wait) = ado_blocked(&shared) {
        return ado_throttled(&shared, wait);
    }
    match fault {
        Fault::RateLimited if !jira => {
            // The warning: served late, with the pause the client should now take.
            tokio::time::sleep(ADO_DELAY).await;
            let mut r = next.run(request).await;
            shared.faults.lock().unwrap().ado_blocked_until = Some(
                std::time::Instant::now() + std::time::Duration::from_secs(retry_after.into()),
            );
            ado_rate_headers(&shared, r.headers_mut(), retry_after, ADO_DELAY);
            r
        }
        Fault::None => next.run(request).await,
        Fault::Slow => {
            tokio::time::sleep(std::time::Duration::from_millis(slow_ms)).await;
            next.run(request).await
        }
        Fault::RateLimited => {
            let mut r = crate::jira::error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded. Try again later.",
            );
            let h = r.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            h.insert("x-ratelimit-limit", HeaderValue::from_static("100"));
            h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            h.insert("x-ratelimit-nearlimit", HeaderValue::from_static("true"));
            h.insert(
                "ratelimit-reason",
                HeaderValue::from_static("jira-burst-based"),
            );
            // Jira's reset instant, to the minute: `yyyy-MM-ddTHH:mmZ`.
            let reset = shared.now_ms() + i64::from(retry_after) * 1000 + 59_999;
            let (y, m, d) = crate::time::civil_from_days(reset.div_euclid(86_400_000));
            let in_day = reset.rem_euclid(86_400_000) / 60_000;
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}Z",
                in_day / 60,
                in_day % 60
            )) {
                h.insert("x-ratelimit-reset", v);
            }
            r
        }
        Fault::Unavailable => {
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>Service Unavailable</h1></body></html>",
            )
                .into_response();
            if shared.faults.lock().unwrap().counter % 2 == 0 {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            r
        }
        Fault::Dropped => {
            // Let the request happen (a write may have landed), then lose the answer.
            let r = next.run(request).await;
            let (parts, _) = r.into_parts();
            let stream = futures_util::stream::iter(vec![Err::<Bytes, std::io::Error>(
                std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection dropped"),
            )]);
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Fault::Empty => {
            // Carried out (a write may land), answered with an empty object.
            let _ = next.run(request).await;
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, crate::JSON)],
                "{}",
            )
                .into_response()
        }
        Fault::Html => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
            "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action=\"/login\"><input name=\"username\"></form></body></html>",
        )
            .into_response(),
        Fault::Drift => {
            let r = next.run(request).await;
            rewrite_json(r, drift).await
        }
        Fault::Echo => {
            let reflected: serde_json::Map<String, serde_json::Value> = request
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into()),
                    )
                })
                .collect();
            let authorization = request.headers().get(header::AUTHORIZATION).cloned();
            let r = next.run(request).await;
            let mut r = rewrite_json(r, move |v| {
                if let serde_json::Value::Object(o) = v {
                    o.insert(
                        "requestHeaders".into(),
                        serde_json::Value::Object(reflected.clone()),
                    );
                }
            })
            .await;
            if let Some(a) = authorization {
                r.headers_mut().insert("x-request-authorization", a);
            }
            r
        }
        Fault::Truncated => {
            let r = next.run(request).await;
            let (mut parts, body) = r.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            parts.headers.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(bytes.len() as u64),
            );
            let half = bytes.slice(..bytes.len() / 2);
            let stream = futures_util::stream::iter(vec![
                Ok::<Bytes, std::io::Error>(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "body truncated",
                )),
            ]);
            Response::from_parts(parts, Body::from_stream(stream))
        }
    }
}

/// How long Azure DevOps still blocks this client, if it does.
fn ado_blocked(shared: &crate::Shared) -> Option<std::time::Duration> {
    let mut state = shared.faults.lock().unwrap();
    let until = state.ado_blocked_until?;
    let now = std::time::Instant::now();
    if now >= until {
        state.ado_blocked_until = None;
        return None;
    }
    state.ado_blocked += 1;
    Some(until - now)
}

/// Azure DevOps's block: 429, its error JSON with TF400733, and the rate-limit headers.
fn ado_throttled(shared: &crate::Shared, wait: std::time::Duration) -> Response {
    let mut r = crate::ado::error(
        StatusCode::TOO_MANY_REQUESTS,
        "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Concurrency' in namespace 'User'.",
        "RequestBlockedException",
    );
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u32;
    ado_rate_headers(shared, r.headers_mut(), seconds, std::time::Duration::ZERO);
    r
}

/// Azure DevOps's rate-limit headers (`X-RateLimit-Reset` in Unix seconds).
fn ado_rate_headers(
    shared: &crate::Shared,
    h: &mut axum::http::HeaderMap,
    retry_after: u32,
    delay: std::time::Duration,
) {
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    h.insert(
        "x-ratelimit-resource",
        HeaderValue::from_static("ATCPU/Concurrency"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{:.3}", delay.as_secs_f64())) {
        h.insert("x-ratelimit-delay", v);
    }
    h.insert("x-ratelimit-limit", HeaderValue::from_static("200"));
    h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
    let reset = shared.now_ms() / 1000 + i64::from(retry_after);
    h.insert("x-ratelimit-reset", HeaderValue::from(reset));
}

/// The answer with its JSON body changed by `change` (other bodies pass as they are).
async fn rewrite_json(r: Response, change: impl Fn(&mut serde_json::Value)) -> Response {
    let (mut parts, body) = r.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    change(&mut v);
    let out = serde_json::to_vec(&v).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

/// Type drift: every `summary` and `updated` text (Jira's) and every `System.Title` and
/// `System.ChangedDate` (Azure DevOps's) becomes a number.
fn drift(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if matches!(
                    k.as_str(),
                    "summary" | "updated" | "System.Title" | "System.ChangedDate"
                ) && x.is_string()
                {
                    *x = serde_json::Value::from(1_795_775_400_000i64);
                } else {
                    drift(x);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drift),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_errors_name_the_key() {
        let f: Faults = "429=0.1,503=0.05,drop=0.02,slow-ms=50ms,seed=9"
            .parse()
            .unwrap();
        assert_eq!(f.rate_limited, 0.1);
        assert_eq!(f.slow_ms, 50);
        assert_eq!(f.seed, 9);
        assert!("429=2".parse::<Faults>().unwrap_err().contains("429=2"));
        assert!(
            "boom=0.1"
                .parse::<Faults>()
                .unwrap_err()
                .contains("unknown fault `boom`")
        );
    }

    #[test]
    fn drift_turns_summary_and_updated_into_numbers_at_any_depth() {
        let mut v = serde_json::json!({"issues": [{"fields": {"summary": "A", "updated": "2026-11-27T10:00:00.000+0000", "status": {"name": "Done"}}}], "summary": 3});
        drift(&mut v);
        assert!(v["issues"][0]["fields"]["summary"].is_number());
        assert!(v["issues"][0]["fields"]["updated"].is_number());
        assert_eq!(v["issues"][0]["fields"]["status"]["name"], "Done");
        let f: Faults = "empty=0.1,html=0.2,drift=0.3,echo=1".parse().unwrap();
        assert_eq!((f.empty, f.html, f.drift, f.echo), (0.1, 0.2, 0.3, 1.0));
    }

    #[test]
    fn draws_are_repeatable_and_runs_are_bounded() {
        let spec: Faults = "429=0.9,seed=3".parse().unwrap();
        let run = || {
            let mut s = FaultState {
                spec: Some(spec.clone()),
                ..FaultState::default()
            };
            (0..200).map(|_| s.draw().0).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let mut in_row = 0;
        for f in &a {
            in_row = if *f == Fault::RateLimited {
                in_row + 1
            } else {
                0
            };
            assert!(in_row <= 2);
        }
        assert!(a.contains(&Fault::RateLimited));
    }
}
