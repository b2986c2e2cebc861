//! Work shared with other instances and processes on the same store: a job's run at one tick
//! (`job:NAME@DUE`) and a connection's sync (`sync:CONNECTION`) are claimed in the store with
//! a lease (`daemon.lease_secs`) that the holder renews every third of it. An instance that
//! dies stops renewing; once its lease has run out, another instance takes the work over
//! (the daemon's takeover loop), and a sync resumes from the last committed page. The daemon
//! claims its jobs and syncs; `tollgate sync` on the command line claims its connections the
//! same way ([`StoreClaims`]), so a sync by hand never runs beside a daemon's sync of the same
//! connection (two passes over one stream would each take the other's records for deleted).

use crate::app::Session;
use crate::config::host_name;
use crate::error::Error;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tollgate_store::{Claim, ClaimOutcome, Store};

/// A claim held by this instance, renewed in the background until it is released.
pub struct Lease {
    key: String,
    instance: String,
    store: Arc<Mutex<Box<dyn Store>>>,
    renewer: tokio::task::JoinHandle<()>,
    released: bool,
}

/// What [`Lease::take`] got.
pub enum Taken {
    /// The work is this instance's.
    Mine(Lease),
    /// Another instance holds it.
    Held(Claim),
    /// It is done.
    Done(Claim),
}

impl Lease {
    /// Claim `key` for `instance`. Must run inside a tokio runtime (the renewal is a task of
    /// it).
    pub fn take(session: &Session, instance: &str, key: &str) -> Result<Taken, Error> {
        let mut store = session.store()?;
        let lease = session.config.daemon.lease();
        match store.claim(key, instance, lease)? {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::Held(c) => return Ok(Taken::Held(c)),
            ClaimOutcome::Done(c) => return Ok(Taken::Done(c)),
        }
        let store = Arc::new(Mutex::new(store));
        let renewer = tokio::spawn(renew(
            store.clone(),
            key.to_string(),
            instance.to_string(),
            lease,
        ));
        Ok(Taken::Mine(Lease {
            key: key.to_string(),
            instance: instance.to_string(),
            store,
            renewer,
            released: false,
        }))
    }

    /// Release the claim: as done (never granted again), or free for anyone.
    pub fn release(mut self, done: bool) {
        self.finish(Some(done));
    }

    /// Stop renewing and let the lease run out now, without releasing: the work is left
    /// unfinished for another instance to take over (this one is stopping).
    pub fn abandon(mut self) {
        self.finish(None);
    }

    fn finish(&mut self, done: Option<bool>) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        self.renewer.abort();
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let result = match done {
            Some(done) => store.release_claim(&self.key, &self.instance, done),
            None => store
                .renew_claim(&self.key, &self.instance, Duration::ZERO)
                .map(|_| ()),
        };
        if let Err(e) = result {
            tracing::error!(claim = %self.key, error = %e, "cannot release the claim; it is free for others when its lease runs out");
        }
    }
}

impl Drop for Lease {
    /// However the holder ends (a panic included), the work is free again.
    fn drop(&mut self) {
        self.finish(Some(false));
    }
}

async fn renew(store: Arc<Mutex<Box<dyn Store>>>, key: String, instance: String, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        let renewed = store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .renew_claim(&key, &instance, lease);
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(claim = %key, "lost the lease: another instance may have taken this work over (was this instance paused longer than daemon.lease_secs?)");
                return;
            }
            Err(e) => {
                tracing::warn!(claim = %key, error = %e, "cannot renew the lease; trying again");
            }
        }
    }
}

/// The key of a job's run due at `due`.
pub fn job_key(job: &str, due: &DateTime<Utc>) -> String {
    format!(
        "job:{job}@{}",
        due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// The job and due time of a job key.
pub fn parse_job_key(key: &str) -> Option<(&str, DateTime<Utc>)> {
    let (job, due) = key.strip_prefix("job:")?.rsplit_once('@')?;
    let due = DateTime::parse_from_rfc3339(due).ok()?.with_timezone(&Utc);
    Some((job, due))
}

/// The key of a connection's sync.
pub fn sync_key(connection: &str) -> String {
    format!("sync:{connection}")
}

/// Whether `claim` is held by a live holder (its lease runs) at `now` (RFC 3339).
pub fn live(claim: &Claim, now: &str) -> bool {
    !claim.done && claim.lease_until.as_str() >= now
}

/// Claims in the store for one process that is not a daemon (`tollgate sync`): each
/// connection's sync is claimed as `sync:CONNECTION` for `instance`, renewed while it runs and
/// freed when it ends. A connection another instance holds is not synced; who held it is kept
/// for the caller to say.
pub struct StoreClaims<'s> {
    session: &'s Session,
    instance: String,
    refused: Mutex<Vec<(String, Claim)>>,
}

impl<'s> StoreClaims<'s> {
    /// Claims for this process: the configured `daemon.instance` (or host and process id),
    /// marked as the command line's, so they are never taken for a daemon's own.
    pub fn for_command_line(session: &'s Session) -> StoreClaims<'s> {
        let here = format!("cli@{}:{}", host_name(), std::process::id());
        let instance = match &session.config.daemon.instance {
            Some(name) => format!("{name}/{here}"),
            None => here,
        };
        StoreClaims {
            session,
            instance,
            refused: Mutex::new(Vec::new()),
        }
    }

    /// The connections not synced because another instance held them, with its claim.
    pub fn refused(&self) -> Vec<(String, Claim)> {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl crate::sync::Claims for StoreClaims<'_> {
    type Claim<'a>
        = Option<Lease>
    where
        Self: 'a;

    fn claim(&self, connection: &str) -> Option<Option<Lease>> {
        let key = sync_key(connection);
        let mut taken = Lease::take(self.session, &self.instance, &key);
        // A `tollgate sync` on this machine that was killed left its claim behind; it would
        // hold the connection until its lease ran out. Its process is gone, so it is freed
        // now and the sync resumes from its last committed page.
        if let Ok(Taken::Held(claim)) = &taken
            && gone_from_this_machine(&claim.instance)
        {
            tracing::warn!(connection, holder = %claim.instance, "a sync of this connection stopped on this machine without freeing its claim (its process is gone); taking it over");
            let freed = self.session.store().and_then(|mut store| {
                Ok(store.renew_claim(&key, &claim.instance, Duration::ZERO)?)
            });
            if freed.is_ok() {
                // Past the freed lease's last instant.
                std::thread::sleep(Duration::from_millis(5));
                taken = Lease::take(self.session, &self.instance, &key);
            }
        }
        match taken {
            Ok(Taken::Mine(lease)) => Some(Some(lease)),
            Ok(Taken::Held(claim) | Taken::Done(claim)) => {
                self.refused
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((connection.to_string(), claim));
                None
            }
            // The store is failing: the sync will fail on it too, and say so.
            Err(e) => {
                tracing::error!(connection, error = %e, "cannot claim the connection in the store");
                Some(None)
            }
        }
    }
}

/// Whether `instance` is a command line's claim (`...cli@HOST:PID`) from this machine whose
/// process no longer runs. Only where processes can be looked up (`/proc`); anywhere else,
/// never.
fn gone_from_this_machine(instance: &str) -> bool {
    let Some((_, at)) = instance.rsplit_once("cli@") else {
        return false;
    };
    let Some((host, pid)) = at.rsplit_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host == host_name()
        && pid != std::process::id()
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_claim_is_gone_only_when_its_process_on_this_machine_is() {
        let here = host_name();
        let me = std::process::id();
        // This process runs; a daemon's or another machine's claim is never judged here.
        assert!(!gone_from_this_machine(&format!("cli@{here}:{me}")));
        assert!(!gone_from_this_machine(&format!("{here}-{me}")));
        assert!(!gone_from_this_machine("cli@another-machine:4000000"));
        assert!(!gone_from_this_machine(&format!("cli@{here}:not-a-pid")));
        // A child that has exited (and been reaped) is gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(gone_from_this_machine(&format!("cli@{here}:{pid}")));
        assert!(gone_from_this_machine(&format!("a/cli@{here}:{pid}")));
    }

    #[test]
    fn job_keys_round_trip_whatever_the_job_is_called() {
        let due = DateTime::parse_from_rfc3339("2026-12-03T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let key = job_key("night@ly", &due);
        assert_eq!(key, "job:night@ly@2026-12-03T02:00:00Z");
        assert_eq!(parse_job_key(&key), Some(("night@ly", due)));
        assert_eq!(parse_job_key("sync:jira"), None);
        assert_eq!(parse_job_key("job:x@yesterday"), None);
    }
}
