//! What a sync does, as small typed events. The engine emits them; each [`emit`] writes the
//! log line, then hands the event to an observer: the command line draws progress bars from
//! them, the daemon counts them into its metrics. No face's code lives in the engine.

use std::time::Duration;

/// One thing that happened in a sync.
#[derive(Debug, Clone, Copy)]
pub enum SyncEvent<'a> {
    /// A stream starts (or resumes) in a run.
    StreamStarted {
        /// Connection.
        connection: &'a str,
        /// Stream.
        stream: &'a str,
        /// A full pass (it may prove deletions).
        full: bool,
        /// It resumes an interrupted run from its last committed page.
        resumed: bool,
    },
    /// A page was committed with its cursor.
    PageCommitted {
        /// Connection.
        connection: &'a str,
        /// Stream.
        stream: &'a str,
        /// Pages committed in this run so far.
        pages: u64,
        /// Records this page wrote.
        written: u64,
        /// Records written in this run so far.
        total_written: u64,
    },
    /// A stream gave its last page.
    StreamDrained {
        /// Connection.
        connection: &'a str,
        /// Stream.
        stream: &'a str,
        /// Pages committed in this run.
        pages: u64,
        /// Records written in this run.
        written: u64,
    },
    /// A connection's run ended.
    RunFinished {
        /// Connection.
        connection: &'a str,
        /// `ok`, `failed` or `interrupted`.
        status: &'static str,
        /// Records written.
        written: u64,
        /// How long it took.
        elapsed: Duration,
    },
    /// A connection was left out: another job is syncing it.
    ConnectionSkipped {
        /// Connection.
        connection: &'a str,
    },
}

/// Who listens to a sync besides the log.
pub trait SyncObserver: Sync {
    /// Called after the event's log line is written.
    fn event(&self, event: &SyncEvent<'_>);

    /// Whether this observer shows each page itself (progress bars): the per-page log lines
    /// then go to the debug level, so they do not scroll over the bars.
    fn draws_progress(&self) -> bool {
        false
    }
}

/// Listens to nothing: the log lines are all.
pub struct LogOnly;

impl SyncObserver for LogOnly {
    fn event(&self, _: &SyncEvent<'_>) {}
}

/// Write the event's log line and hand it to `observer`.
pub fn emit(observer: &dyn SyncObserver, event: SyncEvent<'_>) {
    match event {
        SyncEvent::StreamStarted {
            stream, resumed, ..
        } => {
            if resumed {
                tracing::info!(
                    stream,
                    "resuming an interrupted run from its last committed page"
                );
            }
        }
        SyncEvent::PageCommitted {
            stream,
            pages,
            written,
            ..
        } => {
            if observer.draws_progress() {
                tracing::debug!(stream, page = pages, records = written, "page committed");
            } else {
                tracing::info!(stream, page = pages, records = written, "page committed");
            }
        }
        SyncEvent::StreamDrained {
            stream,
            pages,
            written,
            ..
        } => tracing::info!(stream, pages, written, "stream drained"),
        SyncEvent::RunFinished {
            connection,
            status,
            written,
            elapsed,
        } => tracing::info!(
            connection,
            status,
            written,
            elapsed_ms = elapsed.as_millis() as u64,
            "sync finished"
        ),
        SyncEvent::ConnectionSkipped { connection } => {
            tracing::warn!(
                connection,
                "not synced here: a sync of this connection is already running"
            )
        }
    }
    observer.event(&event);
}
