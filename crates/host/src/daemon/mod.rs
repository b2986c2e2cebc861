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
//! Several instances may share one store (PostgreSQL, or a SQLite file): each scheduled run
//! and each connection's sync is claimed in the store with a lease (`crate::lease`), so a run
//! happens on one instance, and the work of an instance that died is taken over once its
//! lease has run out (docs/operations.md).
//!
//! Scheduling uses the `cron` crate's schedule arithmetic with `chrono-tz` zones and one tokio
//! task per job, rather than tokio-cron-scheduler: the catch-up needs "the latest occurrence
//! before now", which `cron::Schedule` gives directly, and nothing here needs that crate's
//! job store.

mod api;
mod events;
mod jobs;
mod metrics;
mod pages;
mod server;
mod state;

use crate::lease::*;
use api::*;
use events::*;
use metrics::*;
use pages::*;
use server::*;
use state::*;

use crate::app::Session;
use crate::config::{JobConfig, JobStep, ReportKind, WhenStale};
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
    tracing::info!(%addr, jobs = daemon.jobs.len(), instance = %daemon.instance, "tollgate run: serving");
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

    // Work another instance on the same store left unfinished (it died, or stopped
    // mid-job): taken over once its lease has run out.
    {
        let d = daemon.clone();
        let mut stop = shutdown_rx.clone();
        let every = d.session.config.daemon.lease() / 2;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                d.take_over().await;
            }
        });
    }

    wait_for_signal().await;
    tracing::info!("stopping: running jobs finish their page and stop");
    daemon.stop.request();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_free_again_however_its_sync_ended() {
        use crate::sync::Claims as _;
        let set = Mutex::new(BTreeSet::new());
        let held = set.claim("jira").expect("free");
        assert!(set.claim("jira").is_none(), "taken while held");
        drop(held);
        // A sync that panics (as one did on `Retry-After: 1e20`) unwinds through the guard.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = set.claim("jira").unwrap();
            panic!("a bug in a sync");
        }));
        assert!(panicked.is_err());
        assert!(set.lock().unwrap().is_empty(), "freed by the unwinding");
        assert!(set.claim("jira").is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pages_built_from_the_whole_store_take_their_turn() {
        use std::sync::atomic::AtomicUsize;
        let turns = Arc::new(tokio::sync::Semaphore::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let pages = (0..4).map(|_| {
            let (turns, inside, most) = (turns.clone(), inside.clone(), most.clone());
            tokio::spawn(async move {
                building(turns, move || {
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    inside.fetch_sub(1, Ordering::SeqCst);
                    StatusCode::OK.into_response()
                })
                .await
                .status()
            })
        });
        for page in pages.collect::<Vec<_>>() {
            assert_eq!(page.await.unwrap(), StatusCode::OK, "every page is served");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "one build at a time");
        // Closed (the daemon stopping): a waiting page is told so, not left waiting.
        turns.close();
        let refused = building(turns.clone(), || StatusCode::OK.into_response()).await;
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn a_page_is_compressed_only_for_a_client_that_takes_gzip() {
        let takes = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            pages::takes_gzip(&m)
        };
        for yes in [
            "gzip",
            "gzip, deflate, br, zstd",
            "GZIP",
            "deflate, gzip;q=0.5",
            "*",
        ] {
            assert!(takes(yes), "{yes}");
        }
        for no in [
            "identity",
            "br;q=1.0, gzip;q=0",
            "gzip; q=0.0",
            "x-gzip-not",
            "",
        ] {
            assert!(!takes(no), "{no}");
        }
        assert!(!pages::takes_gzip(&HeaderMap::new()), "no header: text");
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
