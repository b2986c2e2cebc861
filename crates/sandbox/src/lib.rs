//! Faithful fakes of Jira (Cloud and Data Center) and Azure DevOps, on one loopback port.
//!
//! Each tracker lives under its own prefix, like a context path:
//! - `/jira-cloud`: Jira Cloud, REST v3 and v2, basic auth with email + API token;
//! - `/jira-dc`: Jira Data Center, REST v2 only, bearer personal access token;
//! - `/ado`: Azure DevOps Services, `/{organization}/...`, basic auth with an empty user and a PAT.
//!
//! They answer as the vendors do, quirks included (see shared/reference/tracker-apis.md): Jira's
//! `ErrorCollection` bodies and 401s, Azure DevOps' 203 sign-in page for bad credentials and
//! its `api-version` demand. Every request is recorded, so tests can count what a plugin asked.
//! Both serve the `demo` dataset by default (or `synthetic:N`); faults can be
//! injected (see [`Faults`]); its clock can be moved forward, so tests can step past Jira's
//! "last minute" horizon without waiting.

#![warn(missing_docs)]

pub mod ado;
pub mod faults;
pub mod fuzzing;
pub mod jira;
pub mod time;
mod written;

pub use ado::data::AdoDataset;
pub use faults::Faults;
pub use jira::data::{Dataset, FieldValue, Flavour};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Jira Cloud user e-mail of the sandbox's service account.
pub const JIRA_CLOUD_USER: &str = jira::CLOUD_USER;
/// Jira Cloud API token accepted by the sandbox.
pub const JIRA_CLOUD_TOKEN: &str = jira::CLOUD_TOKEN;
/// Jira Data Center personal access token accepted by the sandbox.
pub const JIRA_DC_TOKEN: &str = jira::DC_TOKEN;
/// Azure DevOps personal access token accepted by the sandbox.
pub const ADO_TOKEN: &str = "sandbox-ado-pat";
/// The Azure DevOps organisation of the demo dataset.
pub const ADO_ORGANIZATION: &str = "tollgate-demo";
/// The Azure DevOps project of the demo dataset.
pub const ADO_PROJECT: &str = "Portfolio";

/// One request the sandbox answered.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, with the tracker prefix.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Request headers (names lower-case), as received.
    pub headers: Vec<(String, String)>,
    /// Status answered.
    pub status: u16,
    /// The request body, when bodies are recorded ([`Sandbox::record_bodies`]).
    pub request_body: Option<Vec<u8>>,
    /// The response body as sent, when bodies are recorded and it was sent whole.
    pub response_body: Option<Vec<u8>>,
    /// When it arrived.
    pub received: std::time::Instant,
    /// When its answer was ready: with `received`, whether two requests were in flight
    /// together.
    pub answered: std::time::Instant,
}

impl RecordedRequest {
    /// Whether this request and `other` were in flight together (each arrived before the
    /// other was answered): sent side by side, not one after the other.
    pub fn in_flight_with(&self, other: &RecordedRequest) -> bool {
        self.received < other.answered && other.received < self.answered
    }
}

struct Shared {
    requests: Mutex<Vec<RecordedRequest>>,
    /// Whether `requests` is kept ([`Options::request_log`]).
    request_log: bool,
    /// Tracker requests answered (the sandbox's own controls not counted), and the
    /// nanoseconds they were in flight in all, for `/_sandbox/stats`, log or no log.
    answered: std::sync::atomic::AtomicU64,
    busy_nanos: std::sync::atomic::AtomicU64,
    jira: RwLock<Dataset>,
    ado: RwLock<AdoDataset>,
    clock_offset_ms: AtomicI64,
    faults: Mutex<faults::FaultState>,
    record_bodies: std::sync::atomic::AtomicBool,
    /// Milliseconds every request waits before it is answered (a real tracker's round trip).
    latency_ms: std::sync::atomic::AtomicU64,
    /// Requests seen, for the latency's jitter.
    served: std::sync::atomic::AtomicU64,
    /// Tracker requests being answered now, and the most there have been at once.
    in_flight: std::sync::atomic::AtomicU64,
    peak_in_flight: std::sync::atomic::AtomicU64,
    /// Issues a bulk fetch lists under `issueErrors` instead of returning, and how many more
    /// times (Jira's "retriable error or payload constraint").
    bulk_fetch_failures: Mutex<std::collections::BTreeMap<u64, u32>>,
    /// Searches whose JQL holds this text are answered 500 (see [`Sandbox::fail_searches`]).
    failing_searches: Mutex<Option<String>>,
}

impl Shared {
    /// Whether a search with this JQL is to fail (see [`Sandbox::fail_searches`]).
    fn search_fails(&self, jql: &str) -> bool {
        self.failing_searches
            .lock()
            .unwrap()
            .as_deref()
            .is_some_and(|text| jql.contains(text))
    }

    /// The Jira site's data for writing: its index is dropped when the data is touched.
    fn jira_write(&self) -> JiraWrite<'_> {
        JiraWrite(self.jira.write().unwrap())
    }

    /// Count a tracker request answered, for `/_sandbox/stats`.
    fn count(&self, received: std::time::Instant, answered: std::time::Instant) {
        let nanos = answered.duration_since(received).as_nanos();
        self.answered.fetch_add(1, Ordering::SeqCst);
        self.busy_nanos
            .fetch_add(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    fn now_ms(&self) -> i64 {
        time::system_now_ms() + self.clock_offset_ms.load(Ordering::SeqCst)
    }
}

/// The Jira site's data, held for writing. Every mutable access, and letting go, drops the
/// site's look-up index ([`jira::index`]), so the next read builds it afresh from what changed.
pub struct JiraWrite<'a>(std::sync::RwLockWriteGuard<'a, Dataset>);

impl std::ops::Deref for JiraWrite<'_> {
    type Target = Dataset;
    fn deref(&self) -> &Dataset {
        &self.0
    }
}

impl std::ops::DerefMut for JiraWrite<'_> {
    fn deref_mut(&mut self) -> &mut Dataset {
        self.0.forget_index();
        &mut self.0
    }
}

impl Drop for JiraWrite<'_> {
    fn drop(&mut self) {
        self.0.forget_index();
    }
}

/// The largest `synthetic:N` (epics): 20,000 epics are 220,000 Jira issues with 2,000,000
/// worklogs beside an Azure DevOps organisation as large, about 6.5 GiB of memory.
pub const MAX_SYNTHETIC_EPICS: usize = 20_000;

/// A dataset's name: `demo` (`None`) or `synthetic:N` (`Some(N)`, 1 ..= MAX_SYNTHETIC_EPICS).
pub(crate) fn dataset_size(name: &str) -> Result<Option<usize>, String> {
    if name == "demo" {
        return Ok(None);
    }
    match name.strip_prefix("synthetic:").map(str::parse::<usize>) {
        Some(Ok(n)) if (1..=MAX_SYNTHETIC_EPICS).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "unknown dataset `{name}`: use `demo` or `synthetic:N` with 0 < N <= {MAX_SYNTHETIC_EPICS}"
        )),
    }
}

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct Options {
    /// Jira dataset: `demo` (default) or `synthetic:N`.
    pub dataset: String,
    /// Faults to inject from the start.
    pub faults: Option<Faults>,
    /// Milliseconds each request waits before it is answered, ±25 % (0: none).
    pub latency_ms: u64,
    /// Keep every request answered, its headers included, for [`Sandbox::requests`] (what
    /// tests read). A sandbox serving for a long time, as `tollgate sandbox` does, keeps none:
    /// the log grows by about a kilobyte a request, and `/_sandbox/stats` counts the requests
    /// either way.
    pub request_log: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dataset: "demo".to_string(),
            faults: None,
            latency_ms: 0,
            request_log: true,
        }
    }
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Sandbox {
    /// Serve on `addr` (use `127.0.0.1:0` for a free port) in the current tokio runtime.
    pub async fn start(addr: &str) -> std::io::Result<Sandbox> {
        Sandbox::start_with(addr, Options::default()).await
    }

    /// Serve with a chosen dataset and faults.
    pub async fn start_with(addr: &str, options: Options) -> std::io::Result<Sandbox> {
        let mut dataset = Dataset::named(&options.dataset)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        // Whatever the generator looked up while building is indexed afresh, now rather than
        // on the first request: a client's first request is not the one to pay for it.
        dataset.forget_index();
        dataset.index();
        let ado = AdoDataset::named(&options.dataset)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        ado.write_texts();
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            request_log: options.request_log,
            answered: std::sync::atomic::AtomicU64::new(0),
            busy_nanos: std::sync::atomic::AtomicU64::new(0),
            jira: RwLock::new(dataset),
            ado: RwLock::new(ado),
            clock_offset_ms: AtomicI64::new(0),
            record_bodies: std::sync::atomic::AtomicBool::new(false),
            latency_ms: std::sync::atomic::AtomicU64::new(options.latency_ms),
            served: std::sync::atomic::AtomicU64::new(0),
            in_flight: std::sync::atomic::AtomicU64::new(0),
            peak_in_flight: std::sync::atomic::AtomicU64::new(0),
            bulk_fetch_failures: Mutex::default(),
            failing_searches: Mutex::default(),
            faults: Mutex::new(faults::FaultState {
                spec: options.faults,
                ..Default::default()
            }),
        });
        let app = router(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Sandbox {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the Jira Cloud fake.
    pub fn jira_cloud_url(&self) -> String {
        format!("http://{}/jira-cloud", self.addr)
    }

    /// Base URL of the Jira Data Center fake.
    pub fn jira_dc_url(&self) -> String {
        format!("http://{}/jira-dc", self.addr)
    }

    /// Base URL of the Azure DevOps fake (organisations below it).
    pub fn ado_url(&self) -> String {
        format!("http://{}/ado", self.addr)
    }

    /// Every request answered so far, oldest first; none if the sandbox keeps no log
    /// ([`Options::request_log`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The most tracker requests (the sandbox's own controls not counted) it has been
    /// answering at one time: how many a client kept in flight.
    pub fn peak_in_flight(&self) -> u64 {
        self.shared.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Make every request wait `ms` milliseconds (±25 %) before it is answered; 0 for none.
    pub fn set_latency(&self, ms: u64) {
        self.shared.latency_ms.store(ms, Ordering::Relaxed);
    }

    /// Record request and response bodies too (for tests that validate them).
    pub fn record_bodies(&self, on: bool) {
        self.shared.record_bodies.store(on, Ordering::SeqCst);
    }

    /// Forget the requests recorded so far, and what `/_sandbox/stats` counted of them.
    pub fn clear_requests(&self) {
        let mut requests = self.shared.requests.lock().unwrap();
        requests.clear();
        self.shared.answered.store(0, Ordering::SeqCst);
        self.shared.busy_nanos.store(0, Ordering::SeqCst);
    }

    /// The Jira site's data, to read the truth or to change it between two syncs.
    pub fn jira(&self) -> JiraWrite<'_> {
        self.shared.jira_write()
    }

    /// Whether the Jira site's look-ups are built, so that the next request does not build
    /// them (they are built at the start and after `/_sandbox/change`; reading the data through
    /// [`Sandbox::jira`] drops them, as it may change it).
    pub fn jira_index_built(&self) -> bool {
        self.shared.jira.read().unwrap().index_built()
    }

    /// The Azure DevOps organisation's data, to read the truth or to change it between syncs.
    pub fn ado(&self) -> std::sync::RwLockWriteGuard<'_, AdoDataset> {
        self.shared.ado.write().unwrap()
    }

    /// The sandbox's clock, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.shared.now_ms()
    }

    /// Move the sandbox's clock forward (e.g. past Jira's one-minute worklog horizon).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.shared
            .clock_offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    /// Set the sandbox's clock to this moment (milliseconds since the epoch), earlier or later
    /// than this machine's: a tracker whose clock is not ours.
    pub fn set_clock(&self, now_ms: i64) {
        self.shared
            .clock_offset_ms
            .store(now_ms - time::system_now_ms(), Ordering::SeqCst);
    }

    /// Make the next `times` bulk fetches (`POST /rest/api/3/issue/bulkfetch`) that ask for the
    /// issue with this id list it under `issueErrors`, as Jira does on a retriable error,
    /// instead of returning it.
    pub fn fail_bulk_fetch(&self, issue_id: u64, times: u32) {
        self.shared
            .bulk_fetch_failures
            .lock()
            .unwrap()
            .insert(issue_id, times);
    }

    /// Answer every issue search (`/search/jql`, `/search`) whose JQL contains this text with a
    /// 500, as Jira does when something on its side breaks the search (a faulty custom field,
    /// an index it cannot read), until called again with `None`.
    pub fn fail_searches(&self, jql_containing: Option<&str>) {
        *self.shared.failing_searches.lock().unwrap() = jql_containing.map(str::to_string);
    }

    /// Inject these faults from now on (`None`: answer normally).
    pub fn set_faults(&self, faults: Option<Faults>) {
        self.shared.faults.lock().unwrap().spec = faults;
    }

    /// Faults injected so far, in the order of [`faults::FAULT_NAMES`]: 429, 503, dropped,
    /// truncated, slow, empty, html, drift, echo.
    pub fn faults_injected(&self) -> [u64; 9] {
        self.shared.faults.lock().unwrap().injected
    }

    /// How many Azure DevOps requests were blocked with a 429 because the client did not wait
    /// out the `Retry-After` of a delayed answer.
    pub fn ado_requests_blocked(&self) -> u64 {
        self.shared.faults.lock().unwrap().ado_blocked
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .nest("/jira-cloud", jira::router(shared.clone(), Flavour::Cloud))
        .nest(
            "/jira-dc",
            jira::router(shared.clone(), Flavour::DataCenter),
        )
        .route(
            "/ado/{*rest}",
            any(ado::dispatch).with_state(shared.clone()),
        )
        .route(
            "/_sandbox/change",
            axum::routing::post(admin_change).with_state(shared.clone()),
        )
        .route(
            "/_sandbox/clock",
            axum::routing::post(admin_clock).with_state(shared.clone()),
        )
        .route(
            "/_sandbox/stats",
            get(admin_stats).with_state(shared.clone()),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            faults::inject,
        ))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
        .layer(axum::middleware::from_fn_with_state(shared, latency))
}

/// When a request arrived, before the latency it waits.
#[derive(Clone, Copy)]
struct Arrived(std::time::Instant);

/// Each request waits the configured latency, ±25 % (a fixed pseudo-random sequence, so runs
/// repeat), before it is handled: a tracker across the internet, for benchmarks and clients.
async fn latency(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: axum::middleware::Next,
) -> Response {
    request
        .extensions_mut()
        .insert(Arrived(std::time::Instant::now()));
    // Counted from arrival to answer (or to the client hanging up: the guard), the sandbox's
    // own controls left out.
    struct InFlight<'a>(Option<&'a Shared>);
    impl Drop for InFlight<'_> {
        fn drop(&mut self) {
            if let Some(shared) = self.0 {
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
    let _counted = if request.uri().path().starts_with("/_sandbox/") {
        InFlight(None)
    } else {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(Some(&shared))
    };
    let ms = shared.latency_ms.load(Ordering::Relaxed);
    if ms > 0 {
        let n = shared.served.fetch_add(1, Ordering::Relaxed);
        // A multiplicative hash of the request number: spread over 75 % .. 125 %.
        let spread = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as f64 / 1024.0;
        let wait = ms as f64 * (0.75 + 0.5 * spread);
        tokio::time::sleep(std::time::Duration::from_micros((wait * 1000.0) as u64)).await;
    }
    next.run(request).await
}

/// The sandbox's own controls (not Jira's or Azure DevOps's API), for incremental benchmarks
/// and tests from the command line: `POST /_sandbox/change?share=0.01` edits that share of the
/// Jira issues and worklogs now, and of the Azure DevOps work items, adding as many time
/// entries (Completed Work raised) to that share of the items that have some.
async fn admin_change(
    State(shared): State<Arc<Shared>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    let share = q.get("share").and_then(|s| s.parse::<f64>().ok());
    let Some(share) = share.filter(|s| *s > 0.0 && *s <= 1.0) else {
        return json_response(
            axum::http::StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "give share=F with 0 < F <= 1, e.g. ?share=0.01"}),
        );
    };
    let now = shared.now_ms();
    let (issues, worklogs) = shared.jira_write().change_share(share, now);
    // The changed data's index built before the answer, so that the sync measured after the
    // change (`tollgate bench`'s incremental step) does not pay for it on its first request:
    // a real tracker keeps its indexes up to date as it writes.
    shared.jira.read().unwrap().index();
    let (items, entries) = shared.ado.write().unwrap().change_share(share, now);
    shared.ado.read().unwrap().write_texts();
    json_response(
        axum::http::StatusCode::OK,
        serde_json::json!({
            "issues_changed": issues,
            "worklogs_changed": worklogs,
            "ado_work_items_changed": items,
            "ado_time_entries_added": entries,
            "at_ms": now,
        }),
    )
}

/// `POST /_sandbox/clock?advance_seconds=N`: move the sandbox's clock forward (Jira leaves the
/// last minute out of `/worklog/updated`, so a test or benchmark moves past it).
async fn admin_clock(
    State(shared): State<Arc<Shared>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    let seconds = q.get("advance_seconds").and_then(|s| s.parse::<i64>().ok());
    let Some(seconds) = seconds.filter(|s| (1..=10 * 366 * 86_400).contains(s)) else {
        return json_response(
            axum::http::StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "give advance_seconds=N with 1 <= N <= ten years"}),
        );
    };
    shared
        .clock_offset_ms
        .fetch_add(seconds * 1000, Ordering::SeqCst);
    json_response(
        axum::http::StatusCode::OK,
        serde_json::json!({"now_ms": shared.now_ms()}),
    )
}

/// `GET /_sandbox/stats`: how many tracker requests were answered so far, the most answered
/// at once, and the seconds they were in flight in all (each from its arrival, latency
/// included, to its answer; against a step's wall clock times its requests in flight, how
/// busy the client kept its request slots), the sandbox's own controls not counted; and the
/// size of the Jira site, for benchmarks.
async fn admin_stats(State(shared): State<Arc<Shared>>) -> Response {
    let requests = shared.answered.load(Ordering::SeqCst);
    let busy = shared.busy_nanos.load(Ordering::SeqCst) as f64 / 1e9;
    let (issues, worklogs) = {
        let jira = shared.jira.read().unwrap();
        (jira.issues.len(), jira.worklogs.len())
    };
    json_response(
        axum::http::StatusCode::OK,
        serde_json::json!({"requests": requests, "busy_seconds": busy, "peak_in_flight": shared.peak_in_flight.load(Ordering::SeqCst), "jira_issues": issues, "jira_worklogs": worklogs}),
    )
}

/// Counts every tracker request for `/_sandbox/stats` and, where the sandbox keeps its log,
/// records it with the status it got.
async fn record(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    // From its arrival, before the latency it waits.
    let received = request
        .extensions()
        .get::<Arrived>()
        .map_or_else(std::time::Instant::now, |a| a.0);
    let tracker = !request.uri().path().starts_with("/_sandbox/");
    if !shared.request_log {
        let response = next.run(request).await;
        if tracker {
            shared.count(received, std::time::Instant::now());
        }
        return response;
    }
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(str::to_string);
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let with_bodies = shared.record_bodies.load(Ordering::SeqCst);
    let (request, request_body) = if with_bodies {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        (
            Request::from_parts(parts, Body::from(bytes.clone())),
            Some(bytes.to_vec()),
        )
    } else {
        (request, None)
    };
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let (response, response_body) = if with_bodies {
        let (parts, body) = response.into_parts();
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => (
                Response::from_parts(parts, Body::from(bytes.clone())),
                Some(bytes.to_vec()),
            ),
            // A fault cut the body: pass the failure on, record no body.
            Err(_) => {
                let failed = futures_util::stream::iter(vec![Err::<axum::body::Bytes, _>(
                    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection dropped"),
                )]);
                (Response::from_parts(parts, Body::from_stream(failed)), None)
            }
        }
    } else {
        (response, None)
    };
    let answered = std::time::Instant::now();
    let mut requests = shared.requests.lock().unwrap();
    if tracker {
        shared.count(received, answered);
    }
    requests.push(RecordedRequest {
        method,
        path,
        query,
        headers,
        status,
        request_body,
        response_body,
        received,
        answered,
    });
    drop(requests);
    response
}

pub(crate) fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    json_body(status, &body)
}

/// An answer of JSON written straight from `body`: for the large pages (a thousand
/// worklogs), which are not built as a tree first.
pub(crate) fn json_body(status: StatusCode, body: &impl serde::Serialize) -> Response {
    json_body_as(status, JSON, body)
}

/// An answer of JSON written by hand (a page of worklogs), with the type [`json_body`] gives.
pub(crate) fn json_written(status: StatusCode, text: Vec<u8>) -> Response {
    written_as(status, JSON, text)
}

/// An answer of `text` of this content type.
pub(crate) fn written_as(
    status: StatusCode,
    content_type: &'static str,
    text: Vec<u8>,
) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// The content type of Jira's JSON answers (and of the `empty` fault's, on either tracker).
pub(crate) const JSON: &str = "application/json;charset=UTF-8";

/// [`json_body`] with the content type a tracker writes (Azure DevOps's names its API version).
pub(crate) fn json_body_as(
    status: StatusCode,
    content_type: &'static str,
    body: &impl serde::Serialize,
) -> Response {
    // Room for a page from the start, not serde_json's 128 bytes doubled a dozen times over
    // for a page of a megabyte. The type below replaces the body's own (octet-stream).
    let mut text = Vec::with_capacity(64 * 1024);
    match serde_json::to_writer(&mut text, body) {
        Ok(()) => written_as(status, content_type, text),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the sandbox could not write its answer: {e}"),
        )
            .into_response(),
    }
}

pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, token) = text.split_once(':')?;
    Some((user.to_string(), token.to_string()))
}

/// Text safe to put into HTML.
pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_string)
}

async fn not_found(request: Request) -> Response {
    let _ = request;
    jira::error(StatusCode::NOT_FOUND, "null for uri")
}
