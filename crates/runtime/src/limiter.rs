//! Politeness towards a remote: at most N requests in flight and R requests per second per
//! connection, shared by every job that talks to it; and a pause when the remote asks for one
//! on a successful answer (Azure DevOps delays and sends `Retry-After` on a 200 before it starts
//! refusing with 429).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The limits of one connection.
#[derive(Debug)]
pub struct ConnectionLimiter {
    in_flight: tokio::sync::Semaphore,
    interval: Option<Duration>,
    next_slot: tokio::sync::Mutex<Instant>,
    /// No request before this instant: the remote asked for a pause.
    hold_until: Mutex<Option<Instant>>,
    /// GETs in flight, by what identifies them (`crate::http`): a GET the same as one in
    /// flight waits for that one's answer instead of being sent again (the connection's two
    /// issue streams ask for the site's fields at the same moment).
    pub(crate) in_flight_gets: Mutex<HashMap<String, Arc<SharedAnswer>>>,
}

/// The answer of a GET in flight, for every request that asked for the same.
pub(crate) type SharedAnswer = tokio::sync::OnceCell<
    Result<
        crate::bindings::tollgate::plugin::http::Response,
        crate::bindings::tollgate::plugin::http::HttpError,
    >,
>;

/// A permit to send one request; dropping it frees the slot.
pub struct Permit<'a> {
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl ConnectionLimiter {
    fn new(max_in_flight: u32, requests_per_second: Option<f64>) -> ConnectionLimiter {
        ConnectionLimiter {
            in_flight: tokio::sync::Semaphore::new(max_in_flight.max(1) as usize),
            interval: requests_per_second
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            next_slot: tokio::sync::Mutex::new(Instant::now()),
            hold_until: Mutex::new(None),
            in_flight_gets: Mutex::new(HashMap::new()),
        }
    }

    /// Send nothing more on this connection for `pause` (from now; a longer pause already
    /// asked for stands).
    pub fn hold_off(&self, pause: Duration) {
        let until = Instant::now() + pause;
        let mut hold = self.hold_until.lock().unwrap();
        if hold.is_none_or(|h| h < until) {
            *hold = Some(until);
        }
    }

    /// Wait for a free slot and for the request rate to allow one more request.
    pub async fn acquire(&self) -> Permit<'_> {
        let permit = self
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let hold = *self.hold_until.lock().unwrap();
        if let Some(until) = hold {
            tokio::time::sleep_until(until).await;
        }
        if let Some(interval) = self.interval {
            let at = {
                let mut next = self.next_slot.lock().await;
                let now = Instant::now();
                let at = (*next).max(now);
                *next = at + interval;
                at
            };
            tokio::time::sleep_until(at).await;
        }
        Permit { _permit: permit }
    }
}

/// Limiters by connection name.
#[derive(Debug, Default)]
pub struct Limiters {
    by_connection: Mutex<HashMap<String, Arc<ConnectionLimiter>>>,
}

impl Limiters {
    /// The limiter of a connection, created with these limits on first use.
    pub fn get(
        &self,
        connection: &str,
        max_in_flight: u32,
        requests_per_second: Option<f64>,
    ) -> Arc<ConnectionLimiter> {
        self.by_connection
            .lock()
            .unwrap()
            .entry(connection.to_string())
            .or_insert_with(|| Arc::new(ConnectionLimiter::new(max_in_flight, requests_per_second)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_rate() {
        let l = ConnectionLimiter::new(4, Some(10.0));
        let start = Instant::now();
        for _ in 0..5 {
            let _p = l.acquire().await;
        }
        // The first goes at once, the next four 100 ms apart.
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_asked_for_holds_every_later_request() {
        let l = ConnectionLimiter::new(4, None);
        let start = Instant::now();
        drop(l.acquire().await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        l.hold_off(Duration::from_secs(3));
        l.hold_off(Duration::from_secs(1));
        drop(l.acquire().await);
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(3),
            "the longer pause stands"
        );
        drop(l.acquire().await);
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(3),
            "and then it is over"
        );
    }

    #[tokio::test]
    async fn in_flight_requests_are_capped() {
        let l = ConnectionLimiter::new(2, None);
        let a = l.acquire().await;
        let _b = l.acquire().await;
        assert!(
            tokio::time::timeout(Duration::from_millis(50), l.acquire())
                .await
                .is_err(),
            "a third request waits"
        );
        drop(a);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), l.acquire())
                .await
                .is_ok()
        );
    }
}
