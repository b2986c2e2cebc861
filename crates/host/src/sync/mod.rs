//! The sync engine: pull every stream of a connection page by page into the store.
//!
//! A connection's streams are pulled side by side, within the connection's shared limits; a
//! stream that looks stored records up is answered once the streams the plugin lists before it
//! have finished (they hold what it refers to).
//!
//! Each page is written together with the cursor of the next one in one transaction, so a
//! run that dies resumes from the last committed page and nothing is written twice. When a
//! stream is drained, its checkpoint is kept for the next incremental run. A full pass (the
//! first one, `--full`, or a snapshot) may also prove deletions: the records it did not see.
//! Those are marked deleted only when it is safe to believe the evidence: every stream of the
//! connection completed in this run, the pass rejected no row or file, and the share deleted
//! stays within `[sync] max_delete_share` (unless `--allow-mass-delete`). Explicit deletions
//! from the plugin are applied as they come.
//!
//! A stream that fails (a malformed answer that stays malformed after the retries, a stuck
//! plugin, a cursor that repeats) does not stop the others; the run then fails and says which.

pub mod events;

use crate::app::Session;
use crate::config::{Config, ConfigError, SyncConfig};
use crate::error::Error;
use crate::plugins::settings_json;
use events::{SyncEvent, SyncObserver, emit};
use serde::Serialize;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use thiserror::Error;
use tollgate_runtime::PluginRegistry;
use tollgate_runtime::bindings::types::{PluginError, PullRequest};
use tollgate_runtime::{CallError, Runtime};
use tollgate_store::{DiagnosticRecord, PageWrite, RunId, RunStatus, Store, StoreError};
use tracing::Instrument;

/// A request to stop, shared by whoever may ask (the daemon on SIGTERM) and every sync that
/// should heed it: the sync stops after the page in hand is committed.
#[derive(Debug, Clone, Default)]
pub struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Stop {
    /// Ask every holder to stop.
    pub fn request(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// How to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Ignore checkpoints and sweep deletions.
    pub full: bool,
    /// Records per page the host asks for.
    pub page_size: u32,
    /// Retries of a transient failure or a rate limit, per page.
    pub retries: u32,
    /// Fail the run on any rejected row or file (a diagnostic of severity error or worse),
    /// before that page is written.
    pub strict: bool,
    /// Mark deletions even when they exceed `max_delete_share` of the connection's records.
    pub allow_mass_delete: bool,
    /// Largest share (0..=1) of a connection's live records one run may mark deleted.
    pub max_delete_share: f64,
    /// Pages one stream may take in one run before it is stopped as runaway.
    pub max_pages: u64,
    /// Wall-clock time one stream may take in one run.
    pub stream_timeout: Duration,
    /// Set (by `tollgate run` on SIGTERM) to stop after the page in hand is committed.
    pub stop: Option<Stop>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions::from_config(&SyncConfig::default())
    }
}

impl SyncOptions {
    /// The options `[sync]` sets, for an incremental, lenient run.
    pub fn from_config(config: &SyncConfig) -> SyncOptions {
        SyncOptions {
            full: false,
            page_size: 500,
            retries: config.page_retries,
            strict: false,
            allow_mass_delete: false,
            max_delete_share: config.max_delete_share,
            max_pages: config.max_pages_per_stream,
            stream_timeout: Duration::try_from_secs_f64(config.stream_timeout_secs)
                .unwrap_or(Duration::MAX),
            stop: None,
        }
    }
}

/// Why a sync failed.
#[derive(Debug, Error)]
pub enum SyncError {
    /// The connection's config does not fit its plugin.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--strict`, and the source has rows or files that were rejected.
    #[error("connection `{connection}`, stream `{stream}`: {} rejected (strict mode): {}", rejected.len(), rejected.join("; "))]
    Rejected {
        /// Connection.
        connection: String,
        /// Stream.
        stream: String,
        /// `location: message` of each rejection.
        rejected: Vec<String>,
    },
    /// Asked to stop; the pages committed so far stay, and the next run resumes after them.
    #[error("connection `{connection}`: stopped after the last committed page")]
    Stopped {
        /// Connection.
        connection: String,
    },
    /// The plugin failed on a stream.
    #[error("connection `{connection}`, stream `{stream}`: {error}")]
    Plugin {
        /// Connection.
        connection: String,
        /// Stream.
        stream: String,
        /// The call error.
        error: CallError,
    },
    /// A stream did not end: its cursor came back, or it ran past its page or time budget.
    #[error(
        "connection `{connection}`, stream `{stream}`: {reason}; stopped, the pages committed so far are kept"
    )]
    Runaway {
        /// Connection.
        connection: String,
        /// Stream.
        stream: String,
        /// What happened.
        reason: String,
    },
    /// Some streams failed; the others were stored, and no deletion was marked.
    #[error("connection `{connection}`: {}; nothing was marked deleted: {}", streams_failed(failures.len(), summary.streams.len(), *total), failures_text(failures))]
    Streams {
        /// Connection.
        connection: String,
        /// Streams the plugin serves.
        total: usize,
        /// What the streams that completed did.
        summary: Box<SyncSummary>,
        /// Why each of the others failed.
        failures: Vec<SyncError>,
    },
    /// The full pass would mark more of the store deleted than allowed.
    #[error("connection `{connection}`: the full pass would mark {would_delete} of {live} records deleted ({:.1} %), more than [sync] max_delete_share ({:.1} %); nothing was marked deleted. If the source really lost them, run `tollgate sync --connection {connection} --full --allow-mass-delete`", 100.0 * *would_delete as f64 / (*live).max(1) as f64, 100.0 * max_share)]
    MassDelete {
        /// Connection.
        connection: String,
        /// Records the sweeps would mark deleted.
        would_delete: u64,
        /// Live records of the connection.
        live: u64,
        /// The configured share.
        max_share: f64,
        /// What the run stored.
        summary: Box<SyncSummary>,
    },
}

/// "2 of 4 streams failed, the other 2 were stored", in words that fit the counts; streams
/// neither completed nor failed were not tried.
fn streams_failed(failed: usize, completed: usize, total: usize) -> String {
    let mut out = if total == 1 {
        "its stream failed".to_string()
    } else {
        format!("{failed} of {total} streams failed")
    };
    let untried = total.saturating_sub(failed + completed);
    if untried > 0 {
        out.push_str(&format!(
            ", {untried} not tried (the source refuses or throttles us)"
        ));
    }
    if completed > 0 {
        out.push_str(&format!(
            ", {completed} {} stored",
            if completed == 1 { "was" } else { "were" }
        ));
    }
    out
}

/// The streams' failures, each reason once: streams a plugin failed for the same reason (a
/// setting it refuses fails every stream alike) are named together.
fn failures_text(failures: &[SyncError]) -> String {
    /// Failures alike: the first as it reads alone, and the streams of those that are plugin
    /// errors of one connection with the same text.
    struct Group<'a> {
        first: &'a SyncError,
        alike: Option<(&'a str, String)>,
        streams: Vec<&'a str>,
    }
    let mut groups: Vec<Group<'_>> = Vec::new();
    for failure in failures {
        let (alike, stream) = match failure {
            SyncError::Plugin {
                connection,
                stream,
                error,
            } => (
                Some((connection.as_str(), error.to_string())),
                stream.as_str(),
            ),
            _ => (None, ""),
        };
        match groups
            .iter_mut()
            .find(|g| alike.is_some() && g.alike == alike)
        {
            Some(group) => group.streams.push(stream),
            None => groups.push(Group {
                first: failure,
                alike,
                streams: vec![stream],
            }),
        }
    }
    groups
        .into_iter()
        .map(|g| match (g.alike, g.streams.as_slice()) {
            (Some((connection, error)), [first @ .., last]) if !first.is_empty() => format!(
                "connection `{connection}`, streams {} and `{last}`: {error}",
                first
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => g.first.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl SyncError {
    /// What the run stored before it failed, when it got that far.
    pub fn summary(&self) -> Option<&SyncSummary> {
        match self {
            SyncError::Streams { summary, .. } | SyncError::MassDelete { summary, .. } => {
                Some(summary)
            }
            _ => None,
        }
    }
}

/// What one stream did in a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamSummary {
    /// Stream name.
    pub stream: String,
    /// Whether this was a full pass.
    pub full: bool,
    /// Whether it resumed an interrupted run.
    pub resumed: bool,
    /// Pages committed in this run.
    pub pages: u64,
    /// Records written.
    pub written: u64,
    /// Records marked deleted (explicitly or by the sweep).
    pub deleted: u64,
    /// Diagnostics and invalid values reported.
    pub diagnostics: u64,
    /// Pages whose call started before the page before them was in, on the cursor the plugin
    /// told while building that page (`paging.next-cursor`).
    #[serde(skip_serializing_if = "is_zero")]
    pub told_ahead: u64,
    /// Why the deletions this full pass proved were not marked, if it proved any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep_withheld: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncSummary {
    /// Run id.
    pub run: RunId,
    /// Connection.
    pub connection: String,
    /// Per stream.
    pub streams: Vec<StreamSummary>,
}

impl SyncSummary {
    /// What the run did in `stream`, if the connection has it.
    pub fn stream(&self, stream: &str) -> Option<&StreamSummary> {
        self.streams.iter().find(|s| s.stream == stream)
    }

    /// Records written in the run, every stream together.
    pub fn written(&self) -> u64 {
        self.streams.iter().map(|s| s.written).sum()
    }
}

fn retryable(e: &CallError) -> Option<Duration> {
    match e {
        CallError::Plugin(PluginError::Transient(_)) | CallError::Timeout { .. } => {
            Some(Duration::from_secs(1))
        }
        CallError::Plugin(PluginError::RateLimited(r)) => Some(Duration::from_secs(
            r.seconds.map(u64::from).unwrap_or(5).clamp(1, 60),
        )),
        _ => None,
    }
}

/// Who may sync a connection right now. The daemon's jobs and `tollgate sync` claim a
/// connection (in the store: `crate::lease`) so that two syncs never run on it at once.
pub trait Claims {
    /// Held while the sync runs; dropped (however the sync ends) to free the connection.
    type Claim<'a>
    where
        Self: 'a;

    /// Claim `connection`, or `None` when another sync holds it.
    fn claim<'a>(&'a self, connection: &str) -> Option<Self::Claim<'a>>;
}

/// What a sync did to one connection.
#[derive(Debug)]
pub enum ConnectionSync {
    /// Synced; what it did.
    Synced(SyncSummary),
    /// It failed (or was stopped); what it stored before, if anything, is in the error.
    Failed(SyncError),
    /// Left out: another sync held the connection.
    Skipped,
}

/// The sync step of the pipeline, for every face: each configured connection (or only
/// `only`), up to `[sync] parallel_connections` of them side by side, each through a store
/// handle of its own. A config that does not fit its plugin, or a store that cannot be
/// opened, fails the step, once the other connections have been synced (none is cut off
/// mid-page); any other failure is the connection's own and the others go on. Connections not
/// yet started when `options.stop` is requested are not started. Results come in the
/// configured order.
pub async fn sync_connections<C: Claims>(
    session: &Session,
    only: Option<&str>,
    options: &SyncOptions,
    claims: &C,
    observer: &dyn SyncObserver,
) -> Result<Vec<(String, ConnectionSync)>, Error> {
    use futures_util::StreamExt;
    let names: Vec<String> = match only {
        // A name the config does not have is the command's mistake, not a run that failed.
        Some(name) => {
            vec![crate::plugins::connection(&session.config, name).map(|_| name.to_string())?]
        }
        None => session.config.connections.keys().cloned().collect(),
    };
    // One store handle checked before anything starts: a store that cannot be opened fails
    // the step at once, as it always did.
    drop(session.store()?);
    let parallel = session.config.sync.parallel_connections.clamp(1, 64) as usize;
    // (Built in a loop, not by a closure: the daemon needs the future `Send`.)
    let mut syncs = Vec::new();
    for name in names {
        syncs.push(sync_one(session, name, options, claims, observer));
    }
    let mut syncs = futures_util::stream::iter(syncs).buffered(parallel);
    let mut out = Vec::new();
    let mut step_failure: Option<Error> = None;
    // Every sync is driven to its end (never dropped mid-page), even after one failed the
    // step.
    while let Some(result) = syncs.next().await {
        match result {
            Ok(done) => out.push(done),
            Err(e) => {
                step_failure.get_or_insert(e);
            }
        }
    }
    match step_failure {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// One connection of [`sync_connections`]: claimed, synced through a store of its own.
async fn sync_one<C: Claims>(
    session: &Session,
    name: String,
    options: &SyncOptions,
    claims: &C,
    observer: &dyn SyncObserver,
) -> Result<(String, ConnectionSync), Error> {
    if options.stop.as_ref().is_some_and(Stop::requested) {
        return Ok((
            name.clone(),
            ConnectionSync::Failed(SyncError::Stopped { connection: name }),
        ));
    }
    let Some(_claim) = claims.claim(&name) else {
        emit(observer, SyncEvent::ConnectionSkipped { connection: &name });
        return Ok((name, ConnectionSync::Skipped));
    };
    let mut store = session.store()?;
    let started = std::time::Instant::now();
    let result = sync_connection(
        &session.runtime,
        &session.registry,
        &session.config,
        store.as_mut(),
        &name,
        options.clone(),
        observer,
    )
    .await;
    let (status, written) = match &result {
        Ok(s) => ("ok", s.written()),
        Err(SyncError::Stopped { .. }) => ("interrupted", 0),
        Err(e) => ("failed", e.summary().map_or(0, SyncSummary::written)),
    };
    emit(
        observer,
        SyncEvent::RunFinished {
            connection: &name,
            status,
            written,
            elapsed: started.elapsed(),
        },
    );
    match result {
        Ok(summary) => Ok((name, ConnectionSync::Synced(summary))),
        Err(SyncError::Config(e)) => Err(e.into()),
        Err(e) => {
            tracing::error!(connection = %name, error = %e, "sync failed");
            Ok((name, ConnectionSync::Failed(e)))
        }
    }
}

/// Sync one connection into `store`.
pub async fn sync_connection(
    runtime: &Runtime,
    registry: &PluginRegistry,
    config: &Config,
    store: &mut dyn Store,
    name: &str,
    options: SyncOptions,
    observer: &dyn SyncObserver,
) -> Result<SyncSummary, SyncError> {
    let (plugin, ctx) = crate::plugins::bind(registry, config, name)?;
    let settings = settings_json(config, name).to_string();
    let run = store.begin_run(name, options.full)?;
    // Instrumented, not entered: connections are synced side by side in one task, and an
    // entered span would tag one connection's log lines with another's name.
    let span = tracing::info_span!("sync", connection = %name, run);
    sync_run(
        runtime, plugin, &ctx, &settings, store, run, name, options, observer,
    )
    .instrument(span)
    .await
}

/// The body of [`sync_connection`], inside its span.
#[allow(clippy::too_many_arguments)]
async fn sync_run(
    runtime: &Runtime,
    plugin: &tollgate_runtime::LoadedPlugin,
    ctx: &tollgate_runtime::JobContext,
    settings: &str,
    store: &mut dyn Store,
    run: RunId,
    name: &str,
    options: SyncOptions,
    observer: &dyn SyncObserver,
) -> Result<SyncSummary, SyncError> {
    if plugin.info.streams.is_empty() {
        tracing::warn!(plugin = %plugin.info.id, "the plugin serves no streams yet; nothing to pull");
    }
    let mut summary = SyncSummary {
        run,
        connection: name.to_string(),
        streams: Vec::new(),
    };
    let fail = |store: &mut dyn Store, e: SyncError| {
        let status = match e {
            SyncError::Stopped { .. } => RunStatus::Interrupted,
            _ => RunStatus::Failed,
        };
        if let Err(store_error) = store.finish_run(run, status, Some(&e.to_string())) {
            tracing::error!(error = %store_error, "cannot record the failed run");
        }
        e
    };
    let mut failures = Vec::new();
    // (stream, rejected rows in its pass) of the streams drained in this run.
    let mut drained: Vec<(String, bool)> = Vec::new();
    // A plugin that asks what the store holds (`records.lookup`) is told from one map, read
    // from the store once, then kept up to date with every page committed (the store's answer
    // would be the same; reading it again took 0.24 s per stream at 110,000 issues).
    let known = if plugin.reads_records {
        let mut keys = tollgate_runtime::KnownKeys::default();
        store.each_key(name, &mut |k| keys.insert_ref(k))?;
        Some(tollgate_runtime::KnownView::new(keys))
    } else {
        None
    };
    // The streams are pulled side by side, each in its own chain of pages, within the
    // connection's limits (`max_concurrent_requests`, `requests_per_second`), which all its
    // calls share. A stream that looks records up waits, at its first look-up, for the
    // streams the plugin lists before it: they hold what it refers to (the time entries'
    // issues), and asking before they are stored would fetch them twice.
    let trusted = last_run_ended_well(&*store, name, run)?;
    let (finished, finished_rx) =
        tokio::sync::watch::channel(tollgate_runtime::RunProgress::default());
    let shared = RunShared {
        store: std::sync::Mutex::new(store),
        finished,
        done: std::sync::Mutex::new(vec![false; plugin.info.streams.len()]),
        halt: std::sync::atomic::AtomicBool::new(false),
    };
    let each = Each {
        runtime,
        plugin,
        run,
        connection: name,
        settings,
        options: &options,
        observer,
        known: known.as_ref(),
    };
    // A plugin that reads files reads them one after another: they are local, side by side
    // they would gain nothing and mix the order of their diagnostics. A plugin that talks to
    // a site starts its other streams once the site has answered one request with success,
    // so that a site that refuses the credentials or throttles is asked once, not once per
    // stream; unless the connection's last run ended well, in which case the site is
    // trusted to answer this one too and every stream starts at once (a round trip less;
    // should the site refuse after all, each stream's first request is refused, and the
    // first refusal halts the others).
    let networked = !plugin.info.connections.is_empty();
    let answered = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
    let mut pulls = Vec::new();
    for (i, stream) in plugin.info.streams.iter().enumerate() {
        let mut ctx = ctx.clone();
        if let Some(known) = &known {
            ctx.known = known.after(finished_rx.clone(), i);
        }
        if networked {
            ctx.answered = Some(answered.clone());
        }
        let start = if i == 0 {
            Start::AtOnce
        } else if plugin.info.data_dir {
            Start::After(i)
        } else if networked && !trusted {
            Start::OnceAnswered(answered.subscribe())
        } else {
            Start::AtOnce
        };
        pulls.push(stream_in_run(i, start, &each, ctx, stream, &shared));
    }
    let results = futures_util::future::join_all(pulls).await;
    let store = shared
        .store
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut fatal = None;
    for (stream, result) in plugin.info.streams.iter().zip(results) {
        match result {
            Ok(Some((s, rejected))) => {
                drained.push((stream.clone(), rejected));
                summary.streams.push(s);
            }
            // Stopped before its next page because another stream failed for the whole site:
            // it resumes in the next run.
            Ok(None) => {}
            // The process is stopping, or the store or config is broken: no point going on.
            Err(e) if ends_run(&e) => {
                fatal.get_or_insert(e);
            }
            Err(e) => {
                if site_wide(&e) {
                    tracing::error!(stream = %stream, error = %e, "stream failed; the source refuses or throttles us, so the other streams stopped and wait for the next run");
                } else {
                    tracing::error!(stream = %stream, error = %e, "stream failed; the others went on");
                }
                failures.push(e);
            }
        }
    }
    if let Some(e) = fatal {
        return Err(fail(store, e));
    }
    // Deletions are believed only from a run in which every stream completed.
    let mut sweeps = Vec::new();
    let mut would_delete = 0;
    for (stream, rejected) in &drained {
        let unseen = store.unseen(name, stream)?;
        let withheld = if unseen == 0 {
            None
        } else if !failures.is_empty() {
            Some("another stream of the connection failed in this run".to_string())
        } else if *rejected {
            Some("the pass rejected rows or files, so it did not see every record".to_string())
        } else {
            would_delete += unseen;
            sweeps.push(stream.clone());
            None
        };
        if let Some(why) = withheld {
            tracing::warn!(stream = %stream, unseen, reason = %why, "deletions not marked");
            if let Some(s) = summary.streams.iter_mut().find(|s| &s.stream == stream) {
                s.sweep_withheld = Some(format!("{unseen} not marked deleted: {why}"));
            }
        }
    }
    // (Counted only when there is something to weigh: it reads every row of the connection.)
    let live = if would_delete > 0 {
        store.live_records(name)?
    } else {
        0
    };
    let mass = would_delete > 0
        && !options.allow_mass_delete
        && would_delete as f64 > options.max_delete_share * live as f64;
    for (stream, _) in &drained {
        let sweep = !mass && sweeps.contains(stream);
        let deleted = store.complete_stream(run, name, stream, sweep)?;
        if let Some(s) = summary.streams.iter_mut().find(|s| &s.stream == stream) {
            s.deleted += deleted;
            if mass && sweeps.contains(stream) {
                s.sweep_withheld = Some("more than max_delete_share".to_string());
            }
        }
    }
    if !failures.is_empty() {
        let e = SyncError::Streams {
            connection: name.to_string(),
            total: plugin.info.streams.len(),
            summary: Box::new(summary),
            failures,
        };
        return Err(fail(store, e));
    }
    if mass {
        let e = SyncError::MassDelete {
            connection: name.to_string(),
            would_delete,
            live,
            max_share: options.max_delete_share,
            summary: Box::new(summary),
        };
        return Err(fail(store, e));
    }
    store.finish_run(run, RunStatus::Ok, None)?;
    Ok(summary)
}

/// A stop asked for, a broken store or config: the run ends, whatever its other streams do.
fn ends_run(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::Stopped { .. } | SyncError::Store(_) | SyncError::Config(_)
    )
}

/// Refused credentials and throttling hold for the whole site: asking for the next page of
/// any stream would only add load.
fn site_wide(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::Plugin {
            error: CallError::Plugin(PluginError::Unauthorized(_) | PluginError::RateLimited(_)),
            ..
        }
    )
}

/// What the streams of one run pulled side by side read.
struct Each<'r> {
    runtime: &'r Runtime,
    plugin: &'r tollgate_runtime::LoadedPlugin,
    run: RunId,
    connection: &'r str,
    settings: &'r str,
    options: &'r SyncOptions,
    observer: &'r dyn SyncObserver,
    /// The connection's keys, for a plugin that looks records up.
    known: Option<&'r tollgate_runtime::KnownView>,
}

/// What the streams of one run pulled side by side share and change.
struct RunShared<'s> {
    /// The store, held only while a page is read or written (never across a wait).
    store: std::sync::Mutex<&'s mut dyn Store>,
    /// How many streams, in the plugin's order, have finished before the first still running,
    /// and the first that failed or was stopped.
    finished: tokio::sync::watch::Sender<tollgate_runtime::RunProgress>,
    /// Which streams have finished.
    done: std::sync::Mutex<Vec<bool>>,
    /// Set when a stream failed in a way that holds for the whole run (the site refuses or
    /// throttles us, the store or the config is broken, a stop was asked for): the others
    /// stop before their next page.
    halt: std::sync::atomic::AtomicBool,
}

impl<'s> RunShared<'s> {
    fn store(&self) -> std::sync::MutexGuard<'_, &'s mut dyn Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn halted(&self) -> bool {
        self.halt.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stream `i` has finished, drained or not (failed or stopped): the streams waiting for
    /// it may look records up, and are told none if it did not drain.
    fn finish(&self, i: usize, drained: bool) {
        let mut done = self
            .done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        done[i] = true;
        let finished = done.iter().take_while(|d| **d).count();
        self.finished.send_modify(|p| {
            p.finished = finished;
            if !drained {
                p.first_incomplete = Some(p.first_incomplete.map_or(i, |f| f.min(i)));
            }
        });
    }
}

/// Whether the connection's run before `run` ended well (its streams drained).
fn last_run_ended_well(store: &dyn Store, connection: &str, run: RunId) -> Result<bool, SyncError> {
    Ok(store
        .runs(Some(connection), 2)?
        .into_iter()
        .find(|r| r.id != run)
        .is_some_and(|r| r.status == RunStatus::Ok))
}

/// When a stream of a run starts.
enum Start {
    AtOnce,
    /// Once this many streams, in the plugin's order, have finished.
    After(usize),
    /// Once the site has answered a request with success, or the first stream has finished.
    OnceAnswered(tokio::sync::watch::Receiver<bool>),
}

/// One stream of a run, pulled beside the others; says when it has finished.
async fn stream_in_run(
    i: usize,
    start: Start,
    each: &Each<'_>,
    ctx: tollgate_runtime::JobContext,
    stream: &str,
    shared: &RunShared<'_>,
) -> Result<Option<(StreamSummary, bool)>, SyncError> {
    let mut finished = shared.finished.subscribe();
    match start {
        Start::AtOnce => {}
        Start::After(n) => {
            let _ = finished.wait_for(|p| p.finished >= n).await;
        }
        Start::OnceAnswered(mut answered) => {
            tokio::select! {
                _ = answered.wait_for(|a| *a) => {}
                _ = finished.wait_for(|p| p.finished >= 1) => {}
            }
        }
    }
    if shared.halted() {
        shared.finish(i, false);
        return Ok(None);
    }
    let result = sync_stream(each, &ctx, stream, shared).await;
    if let Err(e) = &result
        && (site_wide(e) || ends_run(e))
    {
        shared
            .halt
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let drained = matches!(result, Ok(Some(_)));
    // (A halted run stops the streams after it too: nothing to say.)
    if !drained
        && !shared.halted()
        && each.plugin.reads_records
        && i + 1 < each.plugin.info.streams.len()
    {
        tracing::warn!(
            stream,
            "the stream did not complete: what the store holds of its records may be out of date, so the streams after it are told none of them when they look records up in this run, and fetch what they need from the source"
        );
    }
    shared.finish(i, drained);
    result
}

/// Keep the last stored value of the fields a plugin marked unread (`_unread` in `extra`):
/// a value of an unexpected type upstream must not blank what was known.
fn keep_unread_fields(
    shared: &RunShared<'_>,
    connection: &str,
    record: &mut tollgate_dmo::model::Record,
) -> Result<(), StoreError> {
    let Some(unread) = record
        .extra
        .as_object_mut()
        .and_then(|o| o.remove(UNREAD_KEY))
    else {
        return Ok(());
    };
    let fields: Vec<String> = match unread {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => return Ok(()),
    };
    let Some(previous) = shared.store().record(
        connection,
        record.entity.kind(),
        &record.provenance.external_id,
    )?
    else {
        return Ok(());
    };
    let (Ok(old), Ok(mut new)) = (
        serde_json::to_value(&previous),
        serde_json::to_value(&*record),
    ) else {
        return Ok(());
    };
    for field in &fields {
        for section in ["/entity/data", "/provenance"] {
            let at = format!("{section}/{field}");
            if let (Some(value), Some(slot)) = (old.pointer(&at), new.pointer_mut(&at)) {
                *slot = value.clone();
            } else if let Some(value) = old.pointer(&at)
                && let Some(obj) = new.pointer_mut(section).and_then(|v| v.as_object_mut())
            {
                obj.insert(field.clone(), value.clone());
            }
        }
    }
    if let Ok(merged) = serde_json::from_value(new) {
        *record = merged;
    }
    Ok(())
}

/// The `extra` key naming the fields a plugin could not read (the contract's convention; the
/// plugin SDK has it as `UNREAD_KEY`).
pub const UNREAD_KEY: &str = "_unread";

/// Pull one stream until it is drained; returns what it did and whether its pass rejected
/// rows or files. The stream is left drained but not completed: the connection completes all
/// its streams together, once it knows whether deletions may be marked.
async fn sync_stream(
    each: &Each<'_>,
    ctx: &tollgate_runtime::JobContext,
    stream: &str,
    shared: &RunShared<'_>,
) -> Result<Option<(StreamSummary, bool)>, SyncError> {
    let &Each {
        runtime,
        plugin,
        run,
        connection,
        settings,
        options,
        observer,
        known,
    } = each;
    let state = shared
        .store()
        .begin_stream(run, connection, stream, options.full)?;
    let mut summary = StreamSummary {
        stream: stream.to_string(),
        full: state.full,
        resumed: state.cursor.is_some() || state.exhausted,
        ..StreamSummary::default()
    };
    emit(
        observer,
        SyncEvent::StreamStarted {
            connection,
            stream,
            full: summary.full,
            resumed: summary.resumed,
        },
    );
    let mut rejected_rows = state.rejected;
    let checkpoint = if state.full {
        None
    } else {
        state.checkpoint.clone()
    };
    let runaway = |reason: String| SyncError::Runaway {
        connection: connection.to_string(),
        stream: stream.to_string(),
        reason,
    };
    let started = Instant::now();
    // Hashes of the cursors this run was given: a cursor that comes back means a loop.
    let mut cursors_seen: HashSet<u64> = HashSet::new();
    let mut cursor = state.cursor.clone();
    if let Some(c) = &cursor {
        cursors_seen.insert(hash(c));
    }
    let mut done = state.exhausted;
    // The next page, asked for while this one is converted and committed (the plugin's call
    // and the store's work run side by side); dropped, and so stopped, on any early return.
    let mut ahead: Option<PullAhead> = None;
    // What a pull on a task of its own owns: cloned once a stream, shared by every page's.
    let owned = std::sync::Arc::new((runtime.clone(), plugin.clone(), ctx.clone()));
    while !done {
        if shared.halted() {
            return Ok(None);
        }
        if options.stop.as_ref().is_some_and(Stop::requested) {
            return Err(SyncError::Stopped {
                connection: connection.to_string(),
            });
        }
        if summary.pages >= options.max_pages {
            return Err(runaway(format!(
                "the stream did not end within {} pages ([sync] max_pages_per_stream)",
                options.max_pages
            )));
        }
        let left = options.stream_timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(runaway(format!(
                "the stream did not end within {:?} ([sync] stream_timeout_secs)",
                options.stream_timeout
            )));
        }
        let request = PullRequest {
            stream: stream.to_string(),
            settings: settings.to_string(),
            cursor: cursor.clone(),
            checkpoint: checkpoint.clone(),
            page_size: options.page_size,
        };
        let mut attempt = 0;
        let mut current = ahead
            .take()
            .unwrap_or_else(|| PullAhead::start(owned.clone(), request.clone(), left));
        // The next page's call, started on the cursor the plugin told before returning this
        // page (`paging.next-cursor`), so that its requests go out while this page's records
        // are built. Kept only if the page returns that cursor.
        let mut told_ahead: Option<(String, PullAhead)> = None;
        if let Some(told) = current.told().await
            && summary.pages + 1 < options.max_pages
            && !cursors_seen.contains(&hash(&told))
        {
            let pull = PullAhead::start(
                owned.clone(),
                PullRequest {
                    cursor: Some(told.clone()),
                    ..request.clone()
                },
                options.stream_timeout.saturating_sub(started.elapsed()),
            );
            told_ahead = Some((told, pull));
        }
        let mut early = current.result().await;
        let page = loop {
            let pulled = match match early.take() {
                Some(result) => result,
                None => {
                    tokio::time::timeout(left, runtime.pull(plugin, ctx, request.clone())).await
                }
            } {
                Ok(result) => result,
                Err(_) => {
                    return Err(runaway(format!(
                        "the stream did not end within {:?} ([sync] stream_timeout_secs)",
                        options.stream_timeout
                    )));
                }
            };
            match pulled {
                Ok(page) => break page,
                Err(e) => {
                    // A page asked for again may come back with another cursor: the call
                    // started on the told one is dropped, and so stopped.
                    told_ahead = None;
                    match retryable(&e) {
                        Some(wait) if attempt < options.retries => {
                            attempt += 1;
                            let wait = wait * 2u32.pow(attempt - 1);
                            // A 429 the host's own retries did not outlast (its last attempt,
                            // or a `Retry-After` longer than a call waits): this wait is for it.
                            if let CallError::Plugin(PluginError::RateLimited(_)) = &e {
                                runtime.stats().rate_limit_waits.inc();
                            }
                            tracing::warn!(stream, attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying the page");
                            tokio::time::sleep(wait).await;
                        }
                        _ => {
                            return Err(SyncError::Plugin {
                                connection: connection.to_string(),
                                stream: stream.to_string(),
                                error: e,
                            });
                        }
                    }
                }
            }
        };
        if let Some(next) = &page.next_cursor
            && !cursors_seen.insert(hash(next))
        {
            return Err(runaway(format!(
                "page {} returned a cursor the plugin had already returned in this run, so the stream would never end",
                summary.pages + 1
            )));
        }
        if let Some(next) = &page.next_cursor
            && summary.pages + 1 < options.max_pages
        {
            ahead = Some(match told_ahead.take() {
                Some((told, pull)) if told == *next => {
                    summary.told_ahead += 1;
                    pull
                }
                // Told another cursor (the call started on it is dropped, and so stopped), or
                // none.
                told => {
                    if told.is_some() {
                        tracing::debug!(
                            stream,
                            "the page returned another cursor than its plugin told: the call started on the told one is stopped"
                        );
                    }
                    PullAhead::start(
                        owned.clone(),
                        PullRequest {
                            cursor: Some(next.clone()),
                            ..request
                        },
                        options.stream_timeout.saturating_sub(started.elapsed()),
                    )
                }
            });
        }
        let fetched_at = crate::clock::now();
        let mut diagnostics: Vec<DiagnosticRecord> = page
            .diagnostics
            .iter()
            .map(|d| DiagnosticRecord {
                stream: stream.to_string(),
                severity: d.severity.into(),
                code: d.code.clone(),
                message: d.message.clone(),
                location: d.location.clone(),
            })
            .collect();
        let mut records = Vec::with_capacity(page.records.len());
        for r in page.records {
            let mut record = tollgate_runtime::conversions::record(connection, &fetched_at, r);
            keep_unread_fields(shared, connection, &mut record)?;
            records.push(record);
        }
        for record in &records {
            for problem in record.validate() {
                diagnostics.push(DiagnosticRecord {
                    stream: stream.to_string(),
                    severity: tollgate_dmo::Severity::Warning,
                    code: "invalid-value".to_string(),
                    message: format!("{}: {}", problem.field, problem.message),
                    // By the record's key, as people know it, and its id in the source.
                    location: Some(match record.entity.label() {
                        Some(label) if label != record.provenance.external_id => format!(
                            "{} {label} (id {})",
                            record.entity.kind().as_str(),
                            record.provenance.external_id
                        ),
                        _ => format!(
                            "{} {}",
                            record.entity.kind().as_str(),
                            record.provenance.external_id
                        ),
                    }),
                });
            }
        }
        for d in diagnostics.iter().take(20) {
            tracing::warn!(stream, code = %d.code, location = d.location.as_deref().unwrap_or(""), "{}", d.message);
        }
        let rejected: Vec<String> = diagnostics
            .iter()
            .filter(|d| d.severity >= tollgate_dmo::Severity::Error)
            .map(|d| format!("{}: {}", d.location.as_deref().unwrap_or(stream), d.message))
            .collect();
        if options.strict && !rejected.is_empty() {
            return Err(SyncError::Rejected {
                connection: connection.to_string(),
                stream: stream.to_string(),
                rejected,
            });
        }
        rejected_rows |= !rejected.is_empty();
        let diagnostic_count = diagnostics.len() as u64;
        let write = PageWrite {
            records,
            deletions: page
                .deletions
                .into_iter()
                .map(|d| (tollgate_runtime::conversions::kind(d.kind), d.external_id))
                .collect(),
            next_cursor: page.next_cursor.clone(),
            checkpoint: page.checkpoint,
            diagnostics,
            snapshot: page.snapshot,
        };
        let (written, deleted) = shared
            .store()
            .commit_page(run, connection, stream, &write)?;
        if let Some(known) = known {
            // As the store applied the page: its records, then its deletions.
            let keys: Vec<tollgate_dmo::model::StoredKey> = write
                .records
                .iter()
                .filter_map(tollgate_dmo::model::StoredKey::of)
                .collect();
            let forgotten: Vec<&(tollgate_dmo::model::EntityKind, String)> = write
                .deletions
                .iter()
                .filter(|(kind, _)| {
                    matches!(
                        kind,
                        tollgate_dmo::model::EntityKind::Initiative
                            | tollgate_dmo::model::EntityKind::WorkItem
                    )
                })
                .collect();
            if !keys.is_empty() || !forgotten.is_empty() {
                known.update(|known| {
                    for k in keys {
                        known.insert(k);
                    }
                    for (kind, id) in forgotten {
                        known.remove(*kind, id);
                    }
                });
            }
        }
        summary.pages += 1;
        summary.written += written;
        summary.deleted += deleted;
        summary.diagnostics += diagnostic_count;
        emit(
            observer,
            SyncEvent::PageCommitted {
                connection,
                stream,
                pages: summary.pages,
                written,
                total_written: summary.written,
            },
        );
        cursor = page.next_cursor;
        done = cursor.is_none();
    }
    emit(
        observer,
        SyncEvent::StreamDrained {
            connection,
            stream,
            pages: summary.pages,
            written: summary.written,
        },
    );
    Ok(Some((summary, rejected_rows)))
}

/// A pull on a task of its own: a stream's page, or the next one asked for while the last one
/// is built or committed. Stopped when dropped.
struct PullAhead {
    task: tokio::task::JoinHandle<PullOutcome>,
    /// Where the plugin tells the next page's cursor before it returns, if it does.
    told: Option<tokio::sync::oneshot::Receiver<String>>,
}

/// A pull's outcome within the time the stream had left.
type PullOutcome =
    Result<Result<tollgate_runtime::bindings::types::Page, CallError>, tokio::time::error::Elapsed>;

impl PullAhead {
    fn start(
        owned: std::sync::Arc<(
            Runtime,
            tollgate_runtime::LoadedPlugin,
            tollgate_runtime::JobContext,
        )>,
        request: PullRequest,
        left: Duration,
    ) -> PullAhead {
        let (tell, told) = tokio::sync::oneshot::channel();
        PullAhead {
            task: tokio::spawn(
                async move {
                    let (runtime, plugin, ctx) = &*owned;
                    let pull = runtime.pull_telling(plugin, ctx, request, Some(tell));
                    tokio::time::timeout(left, pull).await
                }
                .instrument(tracing::Span::current()),
            ),
            told: Some(told),
        }
    }

    /// The next page's cursor as the plugin tells it before returning this page; none once
    /// the call ended without telling one (or if asked again).
    async fn told(&mut self) -> Option<String> {
        self.told.take()?.await.ok()
    }

    /// Its outcome; none if the task did not finish (the page is then asked for again).
    async fn result(mut self) -> Option<PullOutcome> {
        (&mut self.task).await.ok()
    }
}

impl Drop for PullAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_failed_for_one_reason_are_named_together_and_other_reasons_apart() {
        let plugin = |stream: &str, why: &str| SyncError::Plugin {
            connection: "jira".into(),
            stream: stream.into(),
            error: CallError::Plugin(PluginError::Config(why.into())),
        };
        let refused = "team-projects names `biz`, the portfolio's own project";
        let error = SyncError::Streams {
            connection: "jira".into(),
            total: 5,
            summary: Box::new(SyncSummary {
                run: 7,
                connection: "jira".into(),
                streams: Vec::new(),
            }),
            failures: vec![
                plugin("initiatives", refused),
                plugin("work-items", refused),
                SyncError::Runaway {
                    connection: "jira".into(),
                    stream: "sprints".into(),
                    reason: "its cursor came back".into(),
                },
                plugin("time-entries", refused),
                plugin("comments", "another reason"),
            ],
        };
        assert_eq!(
            error.to_string(),
            "connection `jira`: 5 of 5 streams failed; nothing was marked deleted: \
             connection `jira`, streams `initiatives`, `work-items` and `time-entries`: \
             configuration error: team-projects names `biz`, the portfolio's own project; \
             connection `jira`, stream `sprints`: its cursor came back; stopped, the pages \
             committed so far are kept; \
             connection `jira`, stream `comments`: configuration error: another reason"
        );
    }
}
