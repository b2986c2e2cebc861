//! `tollgate run`: the service. Scheduled jobs (sync, check, publish) per `[daemon.jobs]`, in
//! the time zone of each schedule; an HTTP server with health, Prometheus metrics and a JSON
//! API; a clean stop on SIGTERM.
//!
//! A job never overlaps itself: a run that comes due while the previous one still works is
//! skipped and logged. On start, the latest scheduled run missed within `catch_up_hours`
//! runs once. SIGTERM lets each sync finish the page it is on, commit it and stop (the run is
//! recorded as interrupted and the next one resumes there); the process exits within
//! `shutdown_grace_secs`.
//!
//! Scheduling uses the `cron` crate's schedule arithmetic with `chrono-tz` zones and one tokio
//! task per job, rather than tokio-cron-scheduler: the catch-up needs "the latest occurrence
//! before now", which `cron::Schedule` gives directly, and nothing here needs that crate's
//! job store.

use crate::app::Session;
use crate::config::{JobConfig, JobStep, ReportKind};
use crate::error::Error;
use crate::schedule::{last_between, next_after, schedule, time_zone};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tollgate_dmo::model::{Entity, EntityKind};
use tollgate_runtime::Secret;
use tollgate_store::Store;
use tracing::Instrument as _;

struct Job {
    name: String,
    config: JobConfig,
    schedule: cron::Schedule,
    tz: chrono_tz::Tz,
    running: AtomicBool,
}

/// Counters for `/metrics`.
#[derive(Default)]
struct Metrics {
    /// (connection, status) -> runs.
    runs: BTreeMap<(String, String), u64>,
    /// connection -> (seconds, runs).
    run_seconds: BTreeMap<String, (f64, u64)>,
    /// connection -> records written.
    records: BTreeMap<String, u64>,
    /// (job, outcome) -> job runs.
    jobs: BTreeMap<(String, String), u64>,
    /// job -> runs skipped because the previous one was still going.
    skipped: BTreeMap<String, u64>,
    /// connection -> syncs a job skipped because another was syncing it.
    sync_skipped: BTreeMap<String, u64>,
    /// Jobs whose code panicked (counted as failed too).
    panics: u64,
    /// HTTP connections closed on arrival because `max_connections` were open.
    connections_refused: u64,
}

/// The running service.
pub struct Daemon {
    session: Session,
    jobs: Vec<Job>,
    api_token: Option<Secret>,
    read_token: Option<Secret>,
    metrics: Mutex<Metrics>,
    next_id: AtomicU64,
    /// Connections a job is syncing right now.
    syncing: Mutex<BTreeSet<String>>,
    stop: &'static AtomicBool,
    started: Instant,
}

impl Daemon {
    fn new(session: Session) -> Result<Daemon, Error> {
        let d = &session.config.daemon;
        let mut jobs = Vec::new();
        for (name, config) in &d.jobs {
            let tz = time_zone(config.time_zone.as_deref().unwrap_or(&d.time_zone))
                .map_err(|e| Error::usage(anyhow::anyhow!(e)))?;
            jobs.push(Job {
                name: name.clone(),
                schedule: schedule(&config.schedule)
                    .map_err(|e| Error::usage(anyhow::anyhow!(e)))?,
                config: config.clone(),
                tz,
                running: AtomicBool::new(false),
            });
        }
        let api_token = session.config.api_token()?;
        let read_token = session.config.read_token()?;
        Ok(Daemon {
            session,
            jobs,
            api_token,
            read_token,
            metrics: Mutex::new(Metrics::default()),
            next_id: AtomicU64::new(1),
            syncing: Mutex::new(BTreeSet::new()),
            stop: Box::leak(Box::new(AtomicBool::new(false))),
            started: Instant::now(),
        })
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn connections(&self, only: Option<&str>) -> Vec<String> {
        match only {
            Some(c) => vec![c.to_string()],
            None => self.session.config.connections.keys().cloned().collect(),
        }
    }

    /// Run the steps of a job; returns its outcome (`ok`, `failed`, `stopped`).
    async fn run_steps(
        self: &Arc<Self>,
        job: &str,
        steps: &[JobStep],
        connection: Option<&str>,
    ) -> &'static str {
        let id = format!("job-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let span = tracing::info_span!("job", id = %id, job = %job, connection = %connection.unwrap_or("all"));
        let outcome = async {
            tracing::info!(steps = ?steps, "job started");
            let mut outcome = "ok";
            for step in steps {
                if self.stopping() {
                    outcome = "stopped";
                    break;
                }
                let result = match step {
                    JobStep::Sync => self.sync_step(connection).await,
                    JobStep::Check => self.check_step(),
                    JobStep::Publish => self.publish_step(connection).await,
                    JobStep::Report => self.report_step(),
                };
                match result {
                    Ok(StepEnd::Done) => {}
                    Ok(StepEnd::Skipped) => {
                        if outcome == "ok" {
                            outcome = "skipped";
                        }
                    }
                    Ok(StepEnd::Stopped) => {
                        outcome = "stopped";
                        break;
                    }
                    Err(e) => {
                        tracing::error!(step = ?step, error = %e, "job step failed");
                        outcome = "failed";
                    }
                }
            }
            tracing::info!(outcome, "job finished");
            outcome
        }
        .instrument(span)
        .await;
        *self
            .metrics
            .lock()
            .unwrap()
            .jobs
            .entry((job.to_string(), outcome.to_string()))
            .or_default() += 1;
        outcome
    }

    async fn sync_step(self: &Arc<Self>, only: Option<&str>) -> anyhow::Result<StepEnd> {
        let mut failures = Vec::new();
        let mut skipped = false;
        for name in self.connections(only) {
            if self.stopping() {
                return Ok(StepEnd::Stopped);
            }
            // Held while the sync runs and released however it ends, a panic included.
            let Some(_syncing) = Syncing::claim(&self.syncing, &name) else {
                tracing::warn!(connection = %name, "skipped: a sync of this connection is already running");
                *self
                    .metrics
                    .lock()
                    .unwrap()
                    .sync_skipped
                    .entry(name.clone())
                    .or_default() += 1;
                skipped = true;
                continue;
            };
            let started = Instant::now();
            let result = self.sync_one(&name).await;
            let status = match &result {
                Ok(_) => "ok",
                Err(crate::sync::SyncError::Stopped { .. }) => "interrupted",
                Err(_) => "failed",
            };
            {
                let mut m = self.metrics.lock().unwrap();
                *m.runs
                    .entry((name.clone(), status.to_string()))
                    .or_default() += 1;
                let t = m.run_seconds.entry(name.clone()).or_default();
                t.0 += started.elapsed().as_secs_f64();
                t.1 += 1;
                let summary = match &result {
                    Ok(summary) => Some(summary),
                    Err(e) => e.summary(),
                };
                if let Some(summary) = summary {
                    *m.records.entry(name.clone()).or_default() +=
                        summary.streams.iter().map(|s| s.written).sum::<u64>();
                }
            }
            match result {
                Ok(_) => {}
                Err(crate::sync::SyncError::Stopped { .. }) => return Ok(StepEnd::Stopped),
                Err(e) => {
                    tracing::error!(connection = %name, error = %e, "sync failed");
                    failures.push(e.to_string());
                }
            }
        }
        if !failures.is_empty() {
            Err(anyhow::anyhow!(failures.join("; ")))
        } else if skipped {
            Ok(StepEnd::Skipped)
        } else {
            Ok(StepEnd::Done)
        }
    }

    async fn sync_one(
        &self,
        name: &str,
    ) -> Result<crate::sync::SyncSummary, crate::sync::SyncError> {
        let mut store = tollgate_store::open(
            &self.session.config.store.url,
            &self.session.config.base_dir,
        )?;
        let options = crate::sync::SyncOptions {
            stop: Some(self.stop),
            ..crate::sync::SyncOptions::from_config(&self.session.config.sync)
        };
        crate::sync::sync_connection(
            &self.session.runtime,
            &self.session.registry,
            &self.session.config,
            store.as_mut(),
            name,
            options,
            &crate::sync::Progress::plain(),
        )
        .await
    }

    fn check_step(&self) -> anyhow::Result<StepEnd> {
        let mut store = self.session.store().map_err(|f| f.error)?;
        let today = crate::clock::today();
        let outcome = crate::check::run_checks(&self.session.config, store.as_mut(), &today)
            .map_err(|f| f.error)?;
        tracing::info!(
            open = outcome.findings.len(),
            new = outcome.changes.new,
            resolved = outcome.changes.resolved,
            "checks done"
        );
        Ok(StepEnd::Done)
    }

    async fn publish_step(&self, only: Option<&str>) -> anyhow::Result<StepEnd> {
        let mut store = self.session.store().map_err(|f| f.error)?;
        let outcomes = crate::publish::publish(&self.session, store.as_mut(), only, false)
            .await
            .map_err(|f| f.error)?;
        tracing::info!(summary = %crate::publish::summary(&outcomes), "published");
        let written = crate::report::publish_files(
            store.as_mut(),
            &self.session.config,
            &crate::clock::today(),
        )
        .map_err(|f| f.error)?;
        if !written.is_empty() {
            tracing::info!(files = written.len(), "reports written");
        }
        let failed = outcomes.iter().filter(|o| o.result == "failed").count();
        if failed > 0 {
            anyhow::bail!("{failed} finding(s) could not be published");
        }
        Ok(StepEnd::Done)
    }

    fn report_step(&self) -> anyhow::Result<StepEnd> {
        let mut store = self.session.store().map_err(|f| f.error)?;
        let written = crate::report::publish_files(
            store.as_mut(),
            &self.session.config,
            &crate::clock::today(),
        )
        .map_err(|f| f.error)?;
        tracing::info!(files = written.len(), "reports written");
        Ok(StepEnd::Done)
    }

    /// Run the steps of a job in a task of its own, so that a panic in them fails the job
    /// (logged and counted) instead of taking the scheduler's bookkeeping with it.
    async fn run_guarded(
        self: &Arc<Self>,
        job: String,
        steps: Vec<JobStep>,
        connection: Option<String>,
    ) -> &'static str {
        let me = self.clone();
        let name = job.clone();
        let task =
            tokio::spawn(async move { me.run_steps(&job, &steps, connection.as_deref()).await });
        match task.await {
            Ok(outcome) => outcome,
            Err(e) => {
                let what = if e.is_panic() {
                    let payload = e.into_panic();
                    payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".to_string())
                } else {
                    "cancelled".to_string()
                };
                tracing::error!(job = %name, panic = %what, "job failed: its code panicked; the connections it held are free again");
                let mut m = self.metrics.lock().unwrap();
                m.panics += 1;
                *m.jobs.entry((name, "failed".to_string())).or_default() += 1;
                "failed"
            }
        }
    }

    /// Run a scheduled job unless it is still running; record when it was due.
    async fn fire(self: Arc<Self>, index: usize, due: DateTime<Utc>, trigger: &'static str) {
        let job = &self.jobs[index];
        if job.running.swap(true, Ordering::SeqCst) {
            tracing::warn!(job = %job.name, due = %due.to_rfc3339(), "skipped: the previous run is still going");
            *self
                .metrics
                .lock()
                .unwrap()
                .skipped
                .entry(job.name.clone())
                .or_default() += 1;
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let job = &me.jobs[index];
            tracing::info!(job = %job.name, trigger, due = %due.to_rfc3339(), "job due");
            let outcome = me
                .run_guarded(
                    job.name.clone(),
                    job.config.steps.clone(),
                    job.config.connection.clone(),
                )
                .await;
            let store = me.session.store();
            if let Ok(mut store) = store {
                let _ = store.record_job(&job.name, &due.to_rfc3339(), outcome);
            }
            job.running.store(false, Ordering::SeqCst);
        });
    }
}

/// A connection marked as being synced; unmarked when dropped, however the sync ended.
struct Syncing<'a> {
    set: &'a Mutex<BTreeSet<String>>,
    name: String,
}

impl<'a> Syncing<'a> {
    /// Mark `name`, unless a sync of it is already running.
    fn claim(set: &'a Mutex<BTreeSet<String>>, name: &str) -> Option<Syncing<'a>> {
        let mut names = set.lock().unwrap_or_else(|p| p.into_inner());
        names.insert(name.to_string()).then(|| Syncing {
            set,
            name: name.to_string(),
        })
    }
}

impl Drop for Syncing<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.name);
    }
}

enum StepEnd {
    Done,
    /// Done, but a connection was left out because another job was syncing it.
    Skipped,
    Stopped,
}

/// `tollgate run`.
pub async fn run(config_path: &std::path::Path) -> Result<(), Error> {
    let session = Session::open(config_path).await?;
    let daemon = Arc::new(Daemon::new(session)?);
    let listen = daemon.session.config.daemon.listen.clone();
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| {
        Error::usage(anyhow::anyhow!(
            "cannot listen on {listen} (daemon.listen): {e}"
        ))
    })?;
    let addr = listener.local_addr()?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let app = router(daemon.clone());
    let server = tokio::spawn(serve(listener, app, daemon.clone(), shutdown_rx.clone()));
    if !addr.ip().is_loopback() && daemon.read_token.is_none() {
        tracing::warn!(%addr, "listening beyond loopback without a read token: anyone who reaches this address reads the portfolio (per-person data stays withheld); set daemon.read_token_env or daemon.read_token_file");
    }
    tracing::info!(%addr, jobs = daemon.jobs.len(), "tollgate run: serving");
    eprintln!(
        "Tollgate is serving on http://{addr} (health /healthz, metrics /metrics, API /api/v1/)"
    );

    // A run missed while Tollgate was down (within the catch-up window) runs once now.
    let now = Utc::now();
    let window =
        chrono::Duration::seconds((daemon.session.config.daemon.catch_up_hours * 3600.0) as i64);
    let last_done: BTreeMap<String, Option<String>> = {
        let store = daemon.session.store()?;
        daemon
            .jobs
            .iter()
            .map(|j| (j.name.clone(), store.job_last_due(&j.name).ok().flatten()))
            .collect()
    };
    for (i, job) in daemon.jobs.iter().enumerate() {
        let Some(missed) = last_between(&job.schedule, job.tz, now - window, now) else {
            continue;
        };
        let done = last_done[&job.name]
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        if done.is_none_or(|d| d < missed) {
            tracing::info!(job = %job.name, missed = %missed.to_rfc3339(), "a run was missed while Tollgate was down; running it once");
            daemon.clone().fire(i, missed, "catch-up").await;
        }
    }

    // One scheduling loop per job.
    for i in 0..daemon.jobs.len() {
        let d = daemon.clone();
        let mut stop = shutdown_rx.clone();
        tokio::spawn(async move {
            let mut after = Utc::now();
            loop {
                let job = &d.jobs[i];
                let Some(next) = next_after(&job.schedule, job.tz, after) else {
                    tracing::warn!(job = %job.name, "the schedule has no further runs");
                    return;
                };
                let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                after = next;
                d.clone().fire(i, next, "schedule").await;
            }
        });
    }

    wait_for_signal().await;
    tracing::info!("stopping: running jobs finish their page and stop");
    daemon.stop.store(true, Ordering::SeqCst);
    let _ = shutdown_tx.send(true);
    let grace = Duration::from_secs_f64(daemon.session.config.daemon.shutdown_grace_secs);
    let deadline = Instant::now() + grace;
    while daemon.jobs.iter().any(|j| j.running.load(Ordering::SeqCst))
        || !daemon.syncing.lock().unwrap().is_empty()
    {
        if Instant::now() > deadline {
            tracing::warn!(
                grace_secs = grace.as_secs_f64(),
                "jobs still running after the grace period; exiting anyway (the next run resumes from the last committed page)"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

// ---------------------------------------------------------------------------------------
// HTTP. Helpers return a ready `Response` as their error, the axum way.

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one connection may stay open, keep-alive included.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);
/// Largest request body accepted (the API takes none; this only bounds what is read).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Serve `app` on `listener` until `stop`: at most `daemon.max_connections` connections at
/// once (more are closed on arrival), each with a header-read timeout and a bounded lifetime,
/// so half-sent requests cannot use up the process's file descriptors.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    daemon: Arc<Daemon>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let cap = daemon.session.config.daemon.max_connections as usize;
    let slots = Arc::new(tokio::sync::Semaphore::new(cap));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, _peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, say: wait a moment instead of spinning.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            daemon.metrics.lock().unwrap().connections_refused += 1;
            drop(stream);
            continue;
        };
        while connections.try_join_next().is_some() {}
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = stop.clone();
        connections.spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let lifetime = tokio::time::sleep(CONNECTION_LIFETIME);
            tokio::pin!(lifetime);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = &mut lifetime => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

fn router(daemon: Arc<Daemon>) -> Router {
    // Pages and GET API: the read token when one is configured.
    let reading = Router::new()
        .route("/", get(dashboard))
        .route("/initiatives/{key}", get(initiative_page))
        .route("/quarterly", get(quarterly_page))
        .route("/resources", get(resources_page))
        .route("/runs", get(runs_page))
        .route("/api/v1/initiatives", get(initiatives))
        .route("/api/v1/findings", get(findings))
        .route("/api/v1/runs", get(runs))
        .route("/api/v1/people", get(people))
        .route("/api/v1/teams", get(teams))
        .route_layer(axum::middleware::from_fn_with_state(
            daemon.clone(),
            require_read_token,
        ));
    Router::new()
        .merge(reading)
        .route("/favicon.ico", get(favicon))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/sync/{connection}", post(trigger_sync))
        .route("/api/v1/report/{kind}", post(trigger_report))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(guard_every_response))
        .with_state(daemon)
}

/// Every answer: security headers; every request: a bounded body.
async fn guard_every_response(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let too_big = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES as u64);
    let mut response = if too_big {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        )
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        if !(name == "cache-control" && h.contains_key(header::CACHE_CONTROL)) {
            h.insert(name, header::HeaderValue::from_static(value));
        }
    }
    response
}

/// Whether two secrets are equal, in time independent of where they differ.
fn same_secret(given: &str, token: &Secret) -> bool {
    let (a, b) = (given.as_bytes(), token.expose().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries: `Authorization: Bearer T`, or T as the password of HTTP basic
/// auth (what a browser sends after its prompt).
fn presented_token(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(t) = value.strip_prefix("Bearer ") {
        return Some(t.trim().to_string());
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_string())
}

/// With a read token configured, pages and the GET API answer only requests that carry it.
async fn require_read_token(
    State(d): State<Arc<Daemon>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(token) = &d.read_token
        && !presented_token(request.headers()).is_some_and(|t| same_secret(&t, token))
    {
        let mut r = json_error(
            StatusCode::UNAUTHORIZED,
            "this Tollgate asks for its read token: Authorization: Bearer TOKEN, or the token as the password when the browser asks",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"Tollgate\", charset=\"UTF-8\""),
        );
        return r;
    }
    next.run(request).await
}

/// Whether per-person data may be shown: only to holders of the read token.
fn persons_visible(d: &Daemon) -> bool {
    d.read_token.is_some()
}

/// The answer to a request for per-person data when no read token is configured.
fn persons_withheld() -> Response {
    json_error(
        StatusCode::FORBIDDEN,
        "per-person data (names, e-mails, allocations) is shown only with a read token: set daemon.read_token_env or daemon.read_token_file",
    )
}

/// Run `work` (store reads, HTML rendering) on the blocking pool, off the async workers that
/// answer /healthz.
async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(r) => r,
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

#[allow(clippy::result_large_err)]
fn store_of(d: &Daemon) -> Result<Box<dyn Store>, Response> {
    d.session
        .store()
        .map_err(|f| json_error(StatusCode::SERVICE_UNAVAILABLE, &f.error.to_string()))
}

async fn readyz(State(d): State<Arc<Daemon>>) -> Response {
    blocking(move || match store_of(&d) {
        Ok(_) if !d.stopping() => (StatusCode::OK, "ready\n").into_response(),
        Ok(_) => json_error(StatusCode::SERVICE_UNAVAILABLE, "stopping"),
        Err(r) => r,
    })
    .await
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

async fn metrics(State(d): State<Arc<Daemon>>) -> Response {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let m = d.metrics.lock().unwrap();
    family(
        "tollgate_sync_runs_total",
        "counter",
        "Sync runs by connection and outcome.",
        m.runs
            .iter()
            .map(|((c, s), n)| {
                (
                    format!("{{connection=\"{}\",status=\"{}\"}}", escape(c), s),
                    n.to_string(),
                )
            })
            .collect(),
    );
    family(
        "tollgate_sync_run_seconds",
        "summary",
        "Duration of sync runs by connection.",
        m.run_seconds
            .iter()
            .flat_map(|(c, (sum, n))| {
                [
                    (
                        format!("_sum{{connection=\"{}\"}}", escape(c)),
                        format!("{sum:.3}"),
                    ),
                    (
                        format!("_count{{connection=\"{}\"}}", escape(c)),
                        n.to_string(),
                    ),
                ]
            })
            .collect(),
    );
    family(
        "tollgate_records_written_total",
        "counter",
        "Records written by syncs, by connection.",
        m.records
            .iter()
            .map(|(c, n)| (format!("{{connection=\"{}\"}}", escape(c)), n.to_string()))
            .collect(),
    );
    family(
        "tollgate_jobs_total",
        "counter",
        "Job runs by job and outcome.",
        m.jobs
            .iter()
            .map(|((j, o), n)| {
                (
                    format!("{{job=\"{}\",outcome=\"{o}\"}}", escape(j)),
                    n.to_string(),
                )
            })
            .collect(),
    );
    family(
        "tollgate_jobs_skipped_total",
        "counter",
        "Scheduled runs skipped because the previous run of the job was still going.",
        d.jobs
            .iter()
            .map(|j| {
                (
                    format!("{{job=\"{}\"}}", escape(&j.name)),
                    m.skipped.get(&j.name).copied().unwrap_or(0).to_string(),
                )
            })
            .collect(),
    );
    family(
        "tollgate_sync_skipped_total",
        "counter",
        "Syncs a job left out because another job was syncing the connection.",
        m.sync_skipped
            .iter()
            .map(|(c, n)| (format!("{{connection=\"{}\"}}", escape(c)), n.to_string()))
            .collect(),
    );
    family(
        "tollgate_job_panics_total",
        "counter",
        "Jobs whose code panicked (also counted as failed).",
        vec![(String::new(), m.panics.to_string())],
    );
    family(
        "tollgate_http_connections_refused_total",
        "counter",
        "HTTP connections closed on arrival because daemon.max_connections were open.",
        vec![(String::new(), m.connections_refused.to_string())],
    );
    drop(m);
    let s = d.session.runtime.stats();
    for (name, help, value) in [
        (
            "tollgate_plugin_calls_total",
            "Plugin calls that returned.",
            s.calls.get(),
        ),
        (
            "tollgate_plugin_traps_total",
            "Plugin calls that trapped.",
            s.traps.get(),
        ),
        (
            "tollgate_plugin_timeouts_total",
            "Plugin calls stopped by the wall clock.",
            s.timeouts.get(),
        ),
        (
            "tollgate_upstream_retries_total",
            "Upstream requests sent again after 429, 503 or a dropped connection.",
            s.http_retries.get(),
        ),
        (
            "tollgate_rate_limit_waits_total",
            "Waits because an upstream answered 429.",
            s.rate_limit_waits.get(),
        ),
        (
            "tollgate_upstream_denied_total",
            "Plugin requests the host refused.",
            s.http_denied.get(),
        ),
        (
            "tollgate_credential_echoes_total",
            "Upstream answers that contained a connection's credential, redacted before the plugin saw them.",
            s.credential_echoes.get(),
        ),
        (
            "tollgate_plugin_output_refused_total",
            "Plugin answers refused for breaking a cap (records, diagnostics, cursor size).",
            s.output_refused.get(),
        ),
    ] {
        family(
            name,
            "counter",
            help,
            vec![(String::new(), value.to_string())],
        );
    }
    family(
        "tollgate_upstream_requests_total",
        "counter",
        "Upstream HTTP requests by connection and status (0: no answer).",
        s.upstream_by_status()
            .into_iter()
            .map(|((c, st), n)| {
                (
                    format!("{{connection=\"{}\",status=\"{st}\"}}", escape(&c)),
                    n.to_string(),
                )
            })
            .collect(),
    );
    family(
        "tollgate_uptime_seconds",
        "gauge",
        "Seconds since tollgate run started.",
        vec![(
            String::new(),
            format!("{:.0}", d.started.elapsed().as_secs_f64()),
        )],
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// `?limit=&offset=` and filters.
type Params = Query<BTreeMap<String, String>>;

fn page(items: Vec<Value>, q: &BTreeMap<String, String>) -> Response {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let offset = q
        .get("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let total = items.len();
    let items: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    axum::Json(json!({"total": total, "limit": limit, "offset": offset, "items": items}))
        .into_response()
}

fn matches(q: &BTreeMap<String, String>, key: &str, value: Option<&str>) -> bool {
    q.get(key)
        .is_none_or(|want| value.is_some_and(|v| v.eq_ignore_ascii_case(want)))
}

#[allow(clippy::result_large_err)]
fn records_of(d: &Daemon, kind: EntityKind) -> Result<Vec<tollgate_dmo::model::Record>, Response> {
    store_of(d)?
        .records(kind)
        .map_err(|e| json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

async fn initiatives(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    blocking(move || initiatives_now(&d, &q)).await
}

fn initiatives_now(d: &Daemon, q: &BTreeMap<String, String>) -> Response {
    let q = q.clone();
    let records = match records_of(d, EntityKind::Initiative) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let items = records
        .into_iter()
        .filter_map(|r| match &r.entity {
            Entity::Initiative(i) => {
                let keep = matches(&q, "connection", Some(&r.provenance.connection))
                    && matches(&q, "value_stream", i.value_stream.as_deref())
                    && matches(&q, "status_category", i.status_category.as_deref())
                    && matches(&q, "gate", i.current_gate.as_deref())
                    && matches(&q, "demand_type", i.demand_type.as_deref());
                keep.then(|| {
                    let mut v = serde_json::to_value(i.as_ref()).unwrap_or(Value::Null);
                    v["connection"] = json!(r.provenance.connection);
                    v["url"] = json!(r.provenance.url);
                    v
                })
            }
            _ => None,
        })
        .collect();
    page(items, &q)
}

async fn findings(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    blocking(move || findings_now(&d, &q)).await
}

fn findings_now(d: &Daemon, q: &BTreeMap<String, String>) -> Response {
    let q = q.clone();
    let store = match store_of(d) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let status = q.get("status").map(String::as_str).unwrap_or("open");
    if !matches!(status, "open" | "resolved" | "all") {
        return json_error(StatusCode::BAD_REQUEST, "status is open, resolved or all");
    }
    let min = match q
        .get("severity")
        .map(|s| s.parse::<tollgate_dmo::Severity>())
    {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => return json_error(StatusCode::BAD_REQUEST, &format!("severity: {e}")),
    };
    let all = match store.findings(status != "open") {
        Ok(f) => f,
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let items = all
        .into_iter()
        .filter(|f| status != "resolved" || f.resolved_at.is_some())
        .filter(|f| min.is_none_or(|m| f.finding.severity >= m))
        .filter(|f| matches(&q, "rule", Some(&f.finding.rule_id)))
        .filter(|f| matches(&q, "subject", Some(&f.finding.subject.key)))
        .filter(|f| persons_visible(d) || f.finding.subject.kind != "person")
        .map(|f| serde_json::to_value(&f).unwrap_or(Value::Null))
        .collect();
    page(items, &q)
}

async fn runs(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    blocking(move || runs_now(&d, &q)).await
}

fn runs_now(d: &Daemon, q: &BTreeMap<String, String>) -> Response {
    let q = q.clone();
    let store = match store_of(d) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match store.runs(q.get("connection").map(String::as_str), 10_000) {
        Ok(runs) => page(
            runs.iter()
                .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                .collect(),
            &q,
        ),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn entities(d: &Daemon, kind: EntityKind, q: &BTreeMap<String, String>) -> Response {
    match records_of(d, kind) {
        Ok(records) => page(
            records
                .into_iter()
                .filter(|r| matches(q, "connection", Some(&r.provenance.connection)))
                .filter(|r| match &r.entity {
                    Entity::Person(p) => matches(q, "team", p.team.as_deref()),
                    Entity::Team(t) => matches(q, "value_stream", t.value_stream.as_deref()),
                    _ => true,
                })
                .map(|r| {
                    let mut v =
                        serde_json::to_value(&r.entity).unwrap_or(Value::Null)["data"].take();
                    v["connection"] = json!(r.provenance.connection);
                    v
                })
                .collect(),
            q,
        ),
        Err(r) => r,
    }
}

async fn people(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    if !persons_visible(&d) {
        return persons_withheld();
    }
    blocking(move || entities(&d, EntityKind::Person, &q)).await
}

async fn teams(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    blocking(move || entities(&d, EntityKind::Team, &q)).await
}

const NAV: &str = "<nav><a href=\"/\">Portfolio</a><a href=\"/quarterly\">Quarterly review</a><a href=\"/resources\">Resources</a><a href=\"/runs\">Runs</a><a href=\"/metrics\">Metrics</a></nav>\n";

fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A report of today, live, with initiatives linked to their pages; built and rendered on
/// the blocking pool. Without a read token, tables about single people are left out.
async fn live_report(
    d: Arc<Daemon>,
    make: impl FnOnce(&Daemon, &dyn Store, &str) -> Result<crate::report::Report, Error>
    + Send
    + 'static,
) -> Response {
    blocking(move || {
        let store = match store_of(&d) {
            Ok(s) => s,
            Err(r) => return r,
        };
        match make(&d, store.as_ref(), &crate::clock::today()) {
            Ok(mut report) => {
                if !persons_visible(&d) {
                    crate::report::withhold_per_person(&mut report);
                }
                html_response(
                    StatusCode::OK,
                    crate::report::html_page(&report, Some("/initiatives/"), NAV),
                )
            }
            Err(f) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &f.error.to_string()),
        }
    })
    .await
}

/// The portfolio, live: the steering pack of today.
async fn dashboard(State(d): State<Arc<Daemon>>) -> Response {
    live_report(d, |d, store, today| {
        crate::report::build(store, ReportKind::Steering, today, &d.session.config)
    })
    .await
}

/// The quarterly review of today.
async fn quarterly_page(State(d): State<Arc<Daemon>>) -> Response {
    live_report(d, |d, store, today| {
        crate::report::build(store, ReportKind::Quarterly, today, &d.session.config)
    })
    .await
}

/// Resources: the heat map and capacity against demand (per person: with the read token).
async fn resources_page(State(d): State<Arc<Daemon>>) -> Response {
    if !persons_visible(&d) {
        return persons_withheld();
    }
    live_report(d, |d, store, today| {
        crate::report::resources(store, today, &d.session.config.reports)
    })
    .await
}

/// The tab icon browsers ask for: a small gate, as SVG.
async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect x=\"2\" y=\"2\" width=\"3\" height=\"13\" fill=\"#1d2733\"/><rect x=\"11\" y=\"2\" width=\"3\" height=\"13\" fill=\"#1d2733\"/><rect x=\"5\" y=\"6\" width=\"6\" height=\"2\" fill=\"#c83c32\"/></svg>",
    )
        .into_response()
}

/// The sync runs, newest first.
async fn runs_page(State(d): State<Arc<Daemon>>) -> Response {
    blocking(move || runs_page_now(&d)).await
}

fn runs_page_now(d: &Daemon) -> Response {
    let store = match store_of(d) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let runs = match store.runs(None, 200) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Runs</title><style>{}</style></head>\n<body>\n{NAV}<h1>Runs</h1>\n<p class=\"note\">The last 200 sync runs, newest first; /api/v1/runs has them as JSON.</p>\n",
        crate::report::STYLE
    );
    if runs.is_empty() {
        out.push_str("<p id=\"runs\">No runs yet.</p>\n");
    } else {
        out.push_str("<table id=\"runs\"><thead><tr><th>run</th><th>connection</th><th>full</th><th>started</th><th>finished</th><th>status</th><th>pages</th><th>records</th></tr></thead><tbody>\n");
        for r in &runs {
            let v = serde_json::to_value(r).unwrap_or(Value::Null);
            let cell = |k: &str| match &v[k] {
                Value::String(s) => crate::report::esc(s),
                Value::Null => "–".into(),
                other => crate::report::esc(&other.to_string()),
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                cell("id"),
                cell("connection"),
                cell("full"),
                cell("started_at"),
                cell("finished_at"),
                cell("status"),
                cell("pages"),
                cell("records_written"),
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</body></html>\n");
    html_response(StatusCode::OK, out)
}

/// One initiative: what the tracker says, its open findings, its business case, its
/// decisions, and a link back to the epic.
async fn initiative_page(State(d): State<Arc<Daemon>>, Path(key): Path<String>) -> Response {
    blocking(move || initiative_page_now(&d, &key)).await
}

fn initiative_page_now(d: &Daemon, key: &str) -> Response {
    let key = key.to_string();
    let store = match store_of(d) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let portfolio = match crate::check::portfolio(store.as_ref()) {
        Ok(p) => p,
        Err(f) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, &f.error.to_string()),
    };
    let Some((i, url)) = portfolio.initiatives.get(&key) else {
        return html_response(
            StatusCode::NOT_FOUND,
            format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head><body>{NAV}<h1>No initiative {}</h1></body></html>",
                crate::report::esc(&key)
            ),
        );
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{key} {title}</title><style>{style}</style></head>\n<body>\n{NAV}<h1>{key} {title}</h1>\n",
        key = crate::report::esc(&i.key),
        title = crate::report::esc(&i.title),
        style = crate::report::STYLE
    );
    if let Some(url) = url {
        out.push_str(&format!(
            "<p><a id=\"tracker-link\" href=\"{0}\">Open in the tracker</a></p>\n",
            crate::report::esc(url)
        ));
    }
    out.push_str("<table><tbody>\n");
    for (label, value) in [
        ("status", Some(i.status.clone())),
        ("value stream", i.value_stream.clone()),
        ("demand type", i.demand_type.clone()),
        ("development type", i.development_type.clone()),
        ("current gate", i.current_gate.clone()),
        ("next gate due", i.next_gate_due.clone()),
        ("business owner", i.business_owner.clone()),
        ("cost of delay", i.cost_of_delay.map(|c| format!("{c:.0}"))),
        (
            "planned",
            i.planned_start
                .clone()
                .zip(i.planned_end.clone())
                .map(|(a, b)| format!("{a} to {b}")),
        ),
    ] {
        out.push_str(&format!(
            "<tr><th>{label}</th><td>{}</td></tr>\n",
            crate::report::esc(&value.unwrap_or_else(|| "–".into()))
        ));
    }
    out.push_str("</tbody></table>\n<h2>Open findings</h2>\n");
    let findings: Vec<tollgate_store::StoredFinding> = store
        .findings(false)
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.finding.subject.kind == "initiative" && f.finding.subject.key == key)
        .collect();
    if findings.is_empty() {
        out.push_str("<p id=\"findings\">None.</p>\n");
    } else {
        out.push_str("<table id=\"findings\"><thead><tr><th>severity</th><th>rule</th><th>finding</th><th>since</th></tr></thead><tbody>\n");
        for f in &findings {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                f.finding.severity.as_str(),
                crate::report::esc(&f.finding.rule_id),
                crate::report::esc(&f.finding.message),
                crate::report::esc(&f.first_seen[..10.min(f.first_seen.len())])
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    if let Some((row, convention)) = crate::report::business_case_row(&portfolio, &key) {
        out.push_str("<h2>Business case</h2>\n<table><thead><tr>");
        for c in &crate::report::BUSINESS_CASE_COLUMNS[1..] {
            out.push_str(&format!("<th>{}</th>", crate::report::esc(c)));
        }
        out.push_str("</tr></thead><tbody><tr>");
        for cell in &row[1..] {
            out.push_str(&format!("<td>{}</td>", crate::report::esc(cell)));
        }
        let note = crate::report::business_case_note(&convention.into_iter().collect());
        out.push_str(&format!(
            "</tr></tbody></table>\n<p class=\"note\">{}</p>\n",
            crate::report::esc(&note)
        ));
    }
    let decisions: Vec<_> = portfolio.decisions(&key).collect();
    if !decisions.is_empty() {
        out.push_str("<h2>Gate decisions</h2>\n<table><thead><tr><th>gate</th><th>decision</th><th>date</th><th>decider</th></tr></thead><tbody>\n");
        for g in decisions {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                crate::report::esc(&g.gate),
                crate::report::esc(&g.decision),
                crate::report::esc(g.date.as_deref().unwrap_or("–")),
                crate::report::esc(g.decider.as_deref().unwrap_or("–"))
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</body></html>\n");
    html_response(StatusCode::OK, out)
}

/// `Authorization: Bearer <daemon api token>`, or the response to send.
#[allow(clippy::result_large_err)]
fn authorise(d: &Daemon, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = &d.api_token else {
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "the API's POST endpoints are off: set daemon.api_token_env or daemon.api_token_file",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let ok = given.is_some_and(|g| same_secret(g, token));
    if ok {
        Ok(())
    } else {
        let mut r = json_error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        Err(r)
    }
}

async fn trigger_sync(
    State(d): State<Arc<Daemon>>,
    Path(connection): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorise(&d, &headers) {
        return r;
    }
    if !d.session.config.connections.contains_key(&connection) {
        return json_error(
            StatusCode::NOT_FOUND,
            &format!("no connection `{connection}`"),
        );
    }
    if d.stopping() {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "stopping");
    }
    if d.syncing.lock().unwrap().contains(&connection) {
        return json_error(
            StatusCode::CONFLICT,
            &format!("`{connection}` is being synced right now"),
        );
    }
    let me = d.clone();
    let conn = connection.clone();
    tokio::spawn(async move {
        me.run_guarded(
            "api".to_string(),
            vec![JobStep::Sync, JobStep::Check],
            Some(conn),
        )
        .await;
    });
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"accepted": "sync", "connection": connection, "then": ["check"]})),
    )
        .into_response()
}

/// Build a report now; with `[reports] folder`, write it there too. Answers the report as
/// JSON (with the files written).
async fn trigger_report(
    State(d): State<Arc<Daemon>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorise(&d, &headers) {
        return r;
    }
    let kind = match kind.as_str() {
        "steering" => ReportKind::Steering,
        "quarterly" => ReportKind::Quarterly,
        other => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("no report `{other}`: `steering` or `quarterly`"),
            );
        }
    };
    let me = d.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<Value, Error> {
        let mut store = me.session.store()?;
        let (report, written) = crate::report::file_report(
            store.as_mut(),
            &me.session.config,
            kind,
            &crate::clock::today(),
        )?;
        let mut v = serde_json::to_value(&report).unwrap_or(Value::Null);
        v["written"] = json!(
            written
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        );
        Ok(v)
    })
    .await;
    match built {
        Ok(Ok(v)) => (StatusCode::OK, axum::Json(v)).into_response(),
        Ok(Err(f)) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &f.error.to_string()),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_free_again_however_its_sync_ended() {
        let set = Mutex::new(BTreeSet::new());
        let held = Syncing::claim(&set, "jira").expect("free");
        assert!(Syncing::claim(&set, "jira").is_none(), "taken while held");
        drop(held);
        // A sync that panics (as one did on `Retry-After: 1e20`) unwinds through the guard.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = Syncing::claim(&set, "jira").unwrap();
            panic!("a bug in a sync");
        }));
        assert!(panicked.is_err());
        assert!(set.lock().unwrap().is_empty(), "freed by the unwinding");
        assert!(Syncing::claim(&set, "jira").is_some());
    }

    #[test]
    fn tokens_come_as_bearer_or_as_the_password_of_basic_auth() {
        use base64::Engine as _;
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, v.parse().unwrap());
            m
        };
        assert_eq!(presented_token(&h("Bearer abc")).as_deref(), Some("abc"));
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("anyone:s3cret:with:colons")
        );
        assert_eq!(
            presented_token(&h(&basic)).as_deref(),
            Some("s3cret:with:colons")
        );
        assert_eq!(presented_token(&h("Basic !!!")), None);
        assert_eq!(presented_token(&HeaderMap::new()), None);
        let token = Secret::new("s3cret");
        assert!(same_secret("s3cret", &token));
        assert!(!same_secret("s3cre", &token) && !same_secret("s3creT", &token));
    }
}
