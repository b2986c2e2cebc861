//! The sync engine: pull every stream of a connection page by page into the store.
//!
//! Each page is written together with the cursor of the next one in one transaction, so a
//! run that dies resumes from the last committed page and nothing is written twice. When a
//! stream completes, its checkpoint is kept for the next incremental run; a full run (the
//! first one, or `--full`) ends with a sweep that marks records the source no longer has as
//! deleted. Explicit deletions from the plugin are applied as they come.

pub mod map;

use crate::config::{Config, ConfigError};
use crate::plugins::{PluginRegistry, settings_json};
use crate::runtime::bindings::types::{PluginError, PullRequest};
use crate::runtime::{CallError, Runtime};
use crate::store::{DiagnosticRecord, PageWrite, RunId, RunStatus, Store, StoreError, now_rfc3339};
use serde::Serialize;
use std::io::IsTerminal;
use std::time::Duration;
use thiserror::Error;

/// How to sync.
#[derive(Debug, Clone, Copy)]
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
    /// Set (by `tollgate run` on SIGTERM) to stop after the page in hand is committed.
    pub stop: Option<&'static std::sync::atomic::AtomicBool>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            full: false,
            page_size: 500,
            retries: 3,
            strict: false,
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

/// Shows progress: bars on a terminal, log lines otherwise.
pub struct Progress {
    bars: Option<indicatif::MultiProgress>,
}

impl Progress {
    /// Bars if stderr is a terminal, plain log lines if not.
    pub fn for_stderr() -> Progress {
        Progress {
            bars: std::io::stderr()
                .is_terminal()
                .then(indicatif::MultiProgress::new),
        }
    }

    /// Log lines only.
    pub fn plain() -> Progress {
        Progress { bars: None }
    }

    fn stream(&self, connection: &str, stream: &str) -> Option<indicatif::ProgressBar> {
        let bars = self.bars.as_ref()?;
        let bar = bars.add(indicatif::ProgressBar::new_spinner());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} [{elapsed}]")
                .expect("valid template"),
        );
        bar.set_prefix(format!("{connection}/{stream}"));
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    }
}

fn severity_name(s: crate::runtime::bindings::types::Severity) -> &'static str {
    use crate::runtime::bindings::types::Severity;
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
        Severity::Blocker => "blocker",
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

/// Sync one connection into `store`.
pub async fn sync_connection(
    runtime: &Runtime,
    registry: &PluginRegistry,
    config: &Config,
    store: &mut dyn Store,
    name: &str,
    options: SyncOptions,
    progress: &Progress,
) -> Result<SyncSummary, SyncError> {
    let (plugin, ctx) = registry.bind(config, name)?;
    let settings = settings_json(config, name).to_string();
    let run = store.begin_run(name, options.full)?;
    let span = tracing::info_span!("sync", connection = %name, run);
    let _guard = span.enter();
    if plugin.info.streams.is_empty() {
        tracing::warn!(plugin = %plugin.info.id, "the plugin serves no streams yet; nothing to pull");
    }
    let mut summary = SyncSummary {
        run,
        connection: name.to_string(),
        streams: Vec::new(),
    };
    for stream in &plugin.info.streams {
        let result = sync_stream(
            runtime, plugin, &ctx, store, run, name, stream, &settings, options, progress,
        )
        .await;
        match result {
            Ok(s) => summary.streams.push(s),
            Err(e) => {
                let message = e.to_string();
                let status = match e {
                    SyncError::Stopped { .. } => RunStatus::Interrupted,
                    _ => RunStatus::Failed,
                };
                if let Err(store_error) = store.finish_run(run, status, Some(&message)) {
                    tracing::error!(error = %store_error, "cannot record the failed run");
                }
                return Err(e);
            }
        }
    }
    store.finish_run(run, RunStatus::Ok, None)?;
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
async fn sync_stream(
    runtime: &Runtime,
    plugin: &crate::runtime::LoadedPlugin,
    ctx: &crate::runtime::JobContext,
    store: &mut dyn Store,
    run: RunId,
    connection: &str,
    stream: &str,
    settings: &str,
    options: SyncOptions,
    progress: &Progress,
) -> Result<StreamSummary, SyncError> {
    let state = store.begin_stream(run, connection, stream, options.full)?;
    let mut summary = StreamSummary {
        stream: stream.to_string(),
        full: state.full,
        resumed: state.cursor.is_some() || state.exhausted,
        ..StreamSummary::default()
    };
    if summary.resumed {
        tracing::info!(
            stream,
            "resuming an interrupted run from its last committed page"
        );
    }
    let bar = progress.stream(connection, stream);
    let checkpoint = if state.full {
        None
    } else {
        state.checkpoint.clone()
    };
    let mut cursor = state.cursor.clone();
    let mut done = state.exhausted;
    while !done {
        if options
            .stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
        {
            return Err(SyncError::Stopped {
                connection: connection.to_string(),
            });
        }
        let request = PullRequest {
            stream: stream.to_string(),
            settings: settings.to_string(),
            cursor: cursor.clone(),
            checkpoint: checkpoint.clone(),
            page_size: options.page_size,
        };
        let mut attempt = 0;
        let page = loop {
            match runtime.pull(plugin, ctx, request.clone()).await {
                Ok(page) => break page,
                Err(e) => match retryable(&e) {
                    Some(wait) if attempt < options.retries => {
                        attempt += 1;
                        let wait = wait * 2u32.pow(attempt - 1);
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
                },
            }
        };
        let fetched_at = now_rfc3339();
        let mut diagnostics: Vec<DiagnosticRecord> = page
            .diagnostics
            .iter()
            .map(|d| DiagnosticRecord {
                stream: stream.to_string(),
                severity: severity_name(d.severity).to_string(),
                code: d.code.clone(),
                message: d.message.clone(),
                location: d.location.clone(),
            })
            .collect();
        let records: Vec<_> = page
            .records
            .into_iter()
            .map(|r| map::record(connection, &fetched_at, r))
            .collect();
        for record in &records {
            for problem in record.validate() {
                diagnostics.push(DiagnosticRecord {
                    stream: stream.to_string(),
                    severity: "warning".to_string(),
                    code: "invalid-value".to_string(),
                    message: format!("{}: {}", problem.field, problem.message),
                    location: Some(format!(
                        "{}/{}",
                        record.entity.kind().as_str(),
                        record.provenance.external_id
                    )),
                });
            }
        }
        for d in diagnostics.iter().take(20) {
            tracing::warn!(stream, code = %d.code, location = d.location.as_deref().unwrap_or(""), "{}", d.message);
        }
        if options.strict {
            let rejected: Vec<String> = diagnostics
                .iter()
                .filter(|d| matches!(d.severity.as_str(), "error" | "blocker"))
                .map(|d| format!("{}: {}", d.location.as_deref().unwrap_or(stream), d.message))
                .collect();
            if !rejected.is_empty() {
                return Err(SyncError::Rejected {
                    connection: connection.to_string(),
                    stream: stream.to_string(),
                    rejected,
                });
            }
        }
        let diagnostic_count = diagnostics.len() as u64;
        let write = PageWrite {
            records,
            deletions: page
                .deletions
                .into_iter()
                .map(|d| (map::kind(d.kind), d.external_id))
                .collect(),
            next_cursor: page.next_cursor.clone(),
            checkpoint: page.checkpoint,
            diagnostics,
            snapshot: page.snapshot,
        };
        let (written, deleted) = store.commit_page(run, connection, stream, &write)?;
        summary.pages += 1;
        summary.written += written;
        summary.deleted += deleted;
        summary.diagnostics += diagnostic_count;
        match &bar {
            Some(bar) => bar.set_message(format!(
                "{} pages, {} records",
                summary.pages, summary.written
            )),
            None => tracing::info!(
                stream,
                page = summary.pages,
                records = written,
                "page committed"
            ),
        }
        cursor = page.next_cursor;
        done = cursor.is_none();
    }
    summary.deleted += store.complete_stream(run, connection, stream)?;
    if let Some(bar) = bar {
        bar.finish_with_message(format!(
            "{} pages, {} written, {} deleted",
            summary.pages, summary.written, summary.deleted
        ));
    }
    tracing::info!(
        stream,
        pages = summary.pages,
        written = summary.written,
        deleted = summary.deleted,
        "stream complete"
    );
    Ok(summary)
}
