//! Work shared with other instances on the same store: a job's run at one tick
//! (`job:NAME@DUE`) and a connection's sync (`sync:CONNECTION`) are claimed in the store with
//! a lease (`daemon.lease_secs`) that the holder renews every third of it. An instance that
//! dies stops renewing; once its lease has run out, another instance takes the work over
//! (the takeover loop in `mod.rs`), and a sync resumes from the last committed page.

#[allow(unused_imports)]
use super::*;
use tollgate_store::{Claim, ClaimOutcome};

/// A claim held by this instance, renewed in the background until it is released.
pub(super) struct Lease {
    key: String,
    instance: String,
    store: Arc<Mutex<Box<dyn Store>>>,
    renewer: tokio::task::JoinHandle<()>,
    released: bool,
}

/// What [`Lease::take`] got.
pub(super) enum Taken {
    /// The work is this instance's.
    Mine(Lease),
    /// Another instance holds it.
    Held(Claim),
    /// It is done.
    Done(Claim),
}

impl Lease {
    /// Claim `key` for this instance. Must run inside the daemon's runtime (the renewal is a
    /// task of it).
    pub(super) fn take(d: &Daemon, key: &str) -> Result<Taken, Error> {
        let mut store = d.session.store()?;
        let lease = d.session.config.daemon.lease();
        match store.claim(key, &d.instance, lease)? {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::Held(c) => return Ok(Taken::Held(c)),
            ClaimOutcome::Done(c) => return Ok(Taken::Done(c)),
        }
        let store = Arc::new(Mutex::new(store));
        let renewer = tokio::spawn(renew(
            store.clone(),
            key.to_string(),
            d.instance.clone(),
            lease,
        ));
        Ok(Taken::Mine(Lease {
            key: key.to_string(),
            instance: d.instance.clone(),
            store,
            renewer,
            released: false,
        }))
    }

    /// Release the claim: as done (never granted again), or free for anyone.
    pub(super) fn release(mut self, done: bool) {
        self.finish(Some(done));
    }

    /// Stop renewing and let the lease run out now, without releasing: the work is left
    /// unfinished for another instance to take over (this one is stopping).
    pub(super) fn abandon(mut self) {
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
pub(super) fn job_key(job: &str, due: &DateTime<Utc>) -> String {
    format!(
        "job:{job}@{}",
        due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// The job and due time of a job key.
pub(super) fn parse_job_key(key: &str) -> Option<(&str, DateTime<Utc>)> {
    let (job, due) = key.strip_prefix("job:")?.rsplit_once('@')?;
    let due = DateTime::parse_from_rfc3339(due).ok()?.with_timezone(&Utc);
    Some((job, due))
}

/// The key of a connection's sync.
pub(super) fn sync_key(connection: &str) -> String {
    format!("sync:{connection}")
}

/// Whether `claim` is held by a live holder (its lease runs) at `now` (RFC 3339).
pub(super) fn live(claim: &Claim, now: &str) -> bool {
    !claim.done && claim.lease_until.as_str() >= now
}

#[cfg(test)]
mod tests {
    use super::*;

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
