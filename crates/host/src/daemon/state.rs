//! The service's state: its jobs, its counters, the connections being synced.

#[allow(unused_imports)]
use super::*;

pub(super) struct Job {
    pub(super) name: String,
    pub(super) config: JobConfig,
    pub(super) schedule: cron::Schedule,
    pub(super) tz: chrono_tz::Tz,
    pub(super) running: AtomicBool,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub(super) struct Metrics {
    /// (connection, status) -> runs.
    pub(super) runs: BTreeMap<(String, String), u64>,
    /// connection -> (seconds, runs).
    pub(super) run_seconds: BTreeMap<String, (f64, u64)>,
    /// connection -> records written.
    pub(super) records: BTreeMap<String, u64>,
    /// (job, outcome) -> job runs.
    pub(super) jobs: BTreeMap<(String, String), u64>,
    /// job -> runs another instance on the same store claimed.
    pub(super) elsewhere: BTreeMap<String, u64>,
    /// job -> runs skipped because the previous one was still going.
    pub(super) skipped: BTreeMap<String, u64>,
    /// connection -> syncs a job left to another job that was syncing it (it waited for
    /// that sync to end instead).
    pub(super) sync_skipped: BTreeMap<String, u64>,
    /// Jobs whose code panicked (counted as failed too).
    pub(super) panics: u64,
    /// HTTP connections closed on arrival because `max_connections` were open.
    pub(super) connections_refused: u64,
}

/// The running service.
pub struct Daemon {
    pub(super) session: Session,
    pub(super) jobs: Vec<Job>,
    pub(super) api_token: Option<Secret>,
    pub(super) read_token: Option<Secret>,
    pub(super) metrics: Mutex<Metrics>,
    pub(super) next_id: AtomicU64,
    /// Connections a job is syncing right now.
    pub(super) syncing: Mutex<BTreeSet<String>>,
    pub(super) stop: crate::sync::Stop,
    pub(super) started: Instant,
    /// This instance's name in the store's claims (`daemon.instance`).
    pub(super) instance: String,
    /// The turn to read the whole store: one page, API answer, check or report at a time.
    /// Each holds the portfolio and the findings (~180 MiB at 10,000 initiatives), so the
    /// others wait their turn instead of each taking that much beside the others (see
    /// [`super::server::building`]).
    pub(super) builds: Arc<tokio::sync::Semaphore>,
}

impl Daemon {
    pub(super) fn new(session: Session) -> Result<Daemon, Error> {
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
        let instance = session.config.daemon.instance_name();
        Ok(Daemon {
            session,
            jobs,
            api_token,
            read_token,
            metrics: Mutex::new(Metrics::default()),
            next_id: AtomicU64::new(1),
            syncing: Mutex::new(BTreeSet::new()),
            stop: crate::sync::Stop::default(),
            started: Instant::now(),
            instance,
            builds: Arc::new(tokio::sync::Semaphore::new(1)),
        })
    }

    pub(super) fn stopping(&self) -> bool {
        self.stop.requested()
    }
}

/// A connection marked as being synced; unmarked when dropped, however the sync ended. In
/// the daemon it also holds the connection's claim in the store, so that no other instance
/// syncs it meanwhile.
pub struct Syncing<'a> {
    set: &'a Mutex<BTreeSet<String>>,
    name: String,
    lease: Option<Lease>,
}

impl crate::sync::Claims for Daemon {
    type Claim<'a> = Syncing<'a>;

    /// Mark `name` in this process, then claim it in the store, unless a sync of it runs
    /// here or on another instance.
    fn claim<'a>(&'a self, name: &str) -> Option<Syncing<'a>> {
        let mut held = self.syncing.claim(name)?;
        match Lease::take(&self.session, &self.instance, &sync_key(name)) {
            Ok(Taken::Mine(lease)) => {
                held.lease = Some(lease);
                Some(held)
            }
            Ok(Taken::Held(claim)) => {
                tracing::info!(connection = name, instance = %claim.instance, "another instance is syncing this connection");
                None
            }
            Ok(Taken::Done(_)) => None,
            // The store is failing: the sync will fail on it too, and say so.
            Err(e) => {
                tracing::error!(connection = name, error = %e, "cannot claim the connection in the store");
                Some(held)
            }
        }
    }
}

impl crate::sync::Claims for Mutex<BTreeSet<String>> {
    type Claim<'a> = Syncing<'a>;

    /// Mark `name`, unless a sync of it is already running.
    fn claim<'a>(&'a self, name: &str) -> Option<Syncing<'a>> {
        let mut names = self.lock().unwrap_or_else(|p| p.into_inner());
        names.insert(name.to_string()).then(|| Syncing {
            set: self,
            name: name.to_string(),
            lease: None,
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

/// The sync's events count into the metrics.
impl crate::sync::events::SyncObserver for Daemon {
    fn event(&self, event: &crate::sync::events::SyncEvent<'_>) {
        use crate::sync::events::SyncEvent;
        let mut m = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        match *event {
            SyncEvent::RunFinished {
                connection,
                status,
                written,
                elapsed,
            } => {
                *m.runs
                    .entry((connection.to_string(), status.to_string()))
                    .or_default() += 1;
                let t = m.run_seconds.entry(connection.to_string()).or_default();
                t.0 += elapsed.as_secs_f64();
                t.1 += 1;
                *m.records.entry(connection.to_string()).or_default() += written;
            }
            SyncEvent::ConnectionSkipped { connection } => {
                *m.sync_skipped.entry(connection.to_string()).or_default() += 1;
            }
            SyncEvent::StreamStarted { .. }
            | SyncEvent::PageCommitted { .. }
            | SyncEvent::StreamDrained { .. } => {}
        }
    }
}

/// How a step of a job ended.
pub(super) enum StepEnd {
    /// Done.
    Done,
    /// Stopped: the process is shutting down.
    Stopped,
}
