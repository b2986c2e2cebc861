//! What the daemon's jobs do, as typed events: [`Daemon::emit`] writes each one's log line and
//! counts it into the metrics, so the two never disagree.

#[allow(unused_imports)]
use super::*;

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JobOutcome {
    /// Every step done.
    Ok,
    /// A step failed (or the job's code panicked).
    Failed,
    /// The process is stopping.
    Stopped,
}

impl JobOutcome {
    /// As logged, counted and recorded.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Ok => "ok",
            JobOutcome::Failed => "failed",
            JobOutcome::Stopped => "stopped",
        }
    }
}

/// One thing a job did.
pub(super) enum JobEvent<'a> {
    /// A scheduled run came due while the previous one still worked: not run.
    Overlapped { job: &'a str, due: &'a str },
    /// Another instance on the same store claimed (or did) this run of the job: not run here.
    ClaimedElsewhere {
        job: &'a str,
        due: &'a str,
        instance: &'a str,
    },
    /// A job ended.
    Finished { job: &'a str, outcome: JobOutcome },
    /// A job's code panicked; it failed, and what it held is free again.
    Panicked { job: &'a str, message: &'a str },
}

impl Daemon {
    /// Log `event` and count it.
    pub(super) fn emit(&self, event: JobEvent<'_>) {
        let mut m = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            JobEvent::Overlapped { job, due } => {
                tracing::warn!(job, due, "skipped: the previous run is still going");
                *m.skipped.entry(job.to_string()).or_default() += 1;
            }
            JobEvent::ClaimedElsewhere { job, due, instance } => {
                tracing::info!(job, due, instance, "another instance runs this one");
                *m.elsewhere.entry(job.to_string()).or_default() += 1;
            }
            JobEvent::Finished { job, outcome } => {
                tracing::info!(job, outcome = outcome.as_str(), "job finished");
                *m.jobs
                    .entry((job.to_string(), outcome.as_str().to_string()))
                    .or_default() += 1;
            }
            JobEvent::Panicked { job, message } => {
                tracing::error!(
                    job,
                    panic = message,
                    "job failed: its code panicked; the connections it held are free again"
                );
                m.panics += 1;
                *m.jobs
                    .entry((job.to_string(), JobOutcome::Failed.as_str().to_string()))
                    .or_default() += 1;
            }
        }
    }
}
