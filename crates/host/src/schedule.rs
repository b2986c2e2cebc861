//! Schedules: cron expressions with seconds, read in an IANA time zone. The arithmetic is the
//! `cron` crate's with `chrono-tz` zones; the daemon's catch-up needs "the latest occurrence
//! before now", which `cron::Schedule` gives directly.

use chrono::{DateTime, Utc};
use std::str::FromStr;

/// Parse a schedule: cron with seconds, `sec min hour day-of-month month day-of-week`.
pub fn schedule(expr: &str) -> Result<cron::Schedule, String> {
    cron::Schedule::from_str(expr).map_err(|e| {
        format!(
            "`{expr}` is not a schedule ({e}); expected cron with seconds, e.g. \"0 0 2 * * *\" for 02:00 daily or \"0 */15 * * * *\" every 15 minutes"
        )
    })
}

/// Parse an IANA time zone name.
pub fn time_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        format!("`{name}` is not a time zone; use an IANA name like \"Europe/Helsinki\" or \"UTC\"")
    })
}

/// The first occurrence strictly after `after`.
pub fn next_after(
    schedule: &cron::Schedule,
    tz: chrono_tz::Tz,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    schedule
        .after(&after.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// The latest occurrence in `(from, to]`.
pub fn last_between(
    schedule: &cron::Schedule,
    tz: chrono_tz::Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    schedule
        .after(&from.with_timezone(&tz))
        .map(|t| t.with_timezone(&Utc))
        .take_while(|t| *t <= to)
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn schedules_follow_their_time_zone() {
        let nightly = schedule("0 0 2 * * *").unwrap();
        let helsinki = time_zone("Europe/Helsinki").unwrap();
        // 02:00 in Helsinki is 00:00 UTC in winter, 23:00 UTC the day before in summer.
        let winter = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        assert_eq!(
            next_after(&nightly, helsinki, winter).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap()
        );
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        assert_eq!(
            next_after(&nightly, helsinki, summer).unwrap(),
            Utc.with_ymd_and_hms(2026, 7, 1, 23, 0, 0).unwrap()
        );
        assert!(
            schedule("every night")
                .unwrap_err()
                .contains("cron with seconds")
        );
        assert!(time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn the_latest_missed_run_within_the_window() {
        let nightly = schedule("0 0 2 * * *").unwrap();
        let utc = time_zone("UTC").unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
        let window = chrono::Duration::hours(24);
        assert_eq!(
            last_between(&nightly, utc, now - window, now),
            Some(Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap())
        );
        assert_eq!(
            last_between(&nightly, utc, now - chrono::Duration::hours(6), now),
            None,
            "02:00 is outside a 6-hour window at 09:00"
        );
    }
}
