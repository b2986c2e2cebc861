//! The calendar: day numbers (days since 1970-01-01) and their dates, and RFC 3339
//! timestamps. Proleptic Gregorian, UTC; no time zones here (the daemon's schedules have
//! their own).

/// Day number of a `YYYY-MM-DD` date (or the date part of a timestamp); `None` for text that
/// is not a date or a date that does not exist (`2026-13-45`, `2026-02-30`).
pub fn day_number(date: &str) -> Option<i64> {
    let d = date.get(..10)?;
    let y: i64 = d.get(..4)?.parse().ok()?;
    let m: i64 = d.get(5..7)?.parse().ok()?;
    let day: i64 = d.get(8..10)?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The `YYYY-MM-DD` date of a day number: the inverse of [`day_number`].
pub fn date_of(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of a moment given in seconds since the epoch and milliseconds.
pub fn timestamp(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}.{millis:03}Z",
        date_of(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_of_known_instants() {
        assert_eq!(timestamp(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_704_700_800, 123), "2024-01-08T08:00:00.123Z");
        assert_eq!(timestamp(1_795_737_600, 0), "2026-11-27T00:00:00.000Z");
    }

    #[test]
    fn day_numbers() {
        assert_eq!(day_number("2026-13-45"), None);
        assert_eq!(day_number("2026-02-29"), None);
        assert_eq!(day_number("2024-02-29"), Some(19_782));
        assert_eq!(day_number("2026-04-31"), None);
        assert_eq!(day_number("1970-01-01"), Some(0));
        for d in [
            "2026-11-27",
            "2024-02-29",
            "1999-12-31",
            "1970-01-01",
            "2000-03-01",
        ] {
            assert_eq!(date_of(day_number(d).unwrap()), d);
        }
        assert_eq!(day_number("2026-11-27T10:00:00Z"), Some(20_784));
        assert_eq!(
            day_number("2026-03-01").unwrap() - day_number("2026-02-28").unwrap(),
            1
        );
        assert_eq!(
            day_number("2028-03-01").unwrap() - day_number("2028-02-28").unwrap(),
            2
        );
        assert_eq!(day_number("junk"), None);
    }
}
