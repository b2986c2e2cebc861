//! Calendar arithmetic and Jira's timestamp formats, without a time-zone database.
//!
//! Jira renders platform timestamps in the calling user's time zone, as
//! `2026-11-27T10:30:00.000+0200` (no colon in the offset), reads JQL dates in that zone too,
//! and renders Agile sprint dates as RFC 3339 (`...+02:00`). The sandbox's users live in
//! Europe/Helsinki; the EU summer-time rule is enough to reproduce that faithfully.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const DAY_MS: i64 = 86_400_000;

/// Milliseconds since the epoch of a UTC date and time.
pub fn utc_ms(y: i64, m: u32, d: u32, hh: u32, mm: u32) -> i64 {
    days_from_civil(y, m, d) * DAY_MS + (hh as i64 * 60 + mm as i64) * 60_000
}

/// Last Sunday of a month, as a day number.
fn last_sunday(y: i64, m: u32) -> i64 {
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    let last = next - 1;
    // 1970-01-01 was a Thursday: weekday 0 = Sunday is (days + 4) mod 7.
    last - (last + 4).rem_euclid(7)
}

/// Offset of Europe/Helsinki from UTC at an instant, in minutes (120, or 180 in summer).
pub fn helsinki_offset_minutes(ms: i64) -> i64 {
    let (y, _, _) = civil_from_days(ms.div_euclid(DAY_MS));
    let (start, end) = summer_time(y);
    if ms >= start && ms < end { 180 } else { 120 }
}

/// Summer time in a year, from its first instant (ms) to the one after its last: from 01:00 UTC
/// on the last Sunday of March to 01:00 UTC on the last Sunday of October.
fn summer_time(y: i64) -> (i64, i64) {
    (
        last_sunday(y, 3) * DAY_MS + 3_600_000,
        last_sunday(y, 10) * DAY_MS + 3_600_000,
    )
}

/// What [`Stamp::new`] worked out last on this thread: the year an instant fell in (its first
/// instant and the next year's) with its summer time, and the local day with its date. A page
/// of worklogs writes three thousand stamps, most of them in the year and on a day just
/// written; working the calendar out afresh for each (four conversions of a day number) was
/// the largest part of the sandbox's time serving worklogs.
#[derive(Clone, Copy)]
struct Calendar {
    year: (i64, i64),
    summer: (i64, i64),
    day: i64,
    date: (i64, u32, u32),
}

thread_local! {
    static CALENDAR: std::cell::Cell<Calendar> = const {
        std::cell::Cell::new(Calendar {
            year: (1, 0),
            summer: (0, 0),
            day: i64::MIN,
            date: (0, 0, 0),
        })
    };
}

/// The offset ([`helsinki_offset_minutes`]), the local date and the milliseconds into the local
/// day of an instant, as [`split`] gives them, from this thread's [`Calendar`] where it holds.
fn local_parts(ms: i64) -> (i64, (i64, u32, u32), i64) {
    CALENDAR.with(|c| {
        let mut cal = c.get();
        if !(cal.year.0 <= ms && ms < cal.year.1) {
            let (y, _, _) = civil_from_days(ms.div_euclid(DAY_MS));
            cal.year = (
                days_from_civil(y, 1, 1) * DAY_MS,
                days_from_civil(y + 1, 1, 1) * DAY_MS,
            );
            cal.summer = summer_time(y);
        }
        let off = if ms >= cal.summer.0 && ms < cal.summer.1 {
            180
        } else {
            120
        };
        let local = ms + off * 60_000;
        let day = local.div_euclid(DAY_MS);
        if day != cal.day {
            cal.day = day;
            cal.date = civil_from_days(day);
        }
        c.set(cal);
        (off, cal.date, local.rem_euclid(DAY_MS))
    })
}

fn split(ms: i64, offset_min: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let local = ms + offset_min * 60_000;
    let (y, m, d) = civil_from_days(local.div_euclid(DAY_MS));
    let (hh, mi, ss, mss) = clock(local.rem_euclid(DAY_MS));
    (y, m, d, hh, mi, ss, mss)
}

/// Hours, minutes, seconds and milliseconds of a moment's milliseconds into its day.
fn clock(in_day: i64) -> (u32, u32, u32, u32) {
    (
        (in_day / 3_600_000) as u32,
        (in_day / 60_000 % 60) as u32,
        (in_day / 1000 % 60) as u32,
        (in_day % 1000) as u32,
    )
}

/// Jira's platform format in the user's zone: `2026-11-27T10:30:00.000+0200`.
pub fn jira_timestamp(ms: i64) -> String {
    Stamp::jira(ms).as_str().to_owned()
}

/// The Agile API's format: `2026-11-27T10:30:00.000+02:00`.
pub fn agile_timestamp(ms: i64) -> String {
    Stamp::agile(ms).as_str().to_owned()
}

/// A timestamp in the user's zone, written digit by digit into a buffer of its own: a page of
/// worklogs writes three thousand, and neither `format!` (a tenth of the sandbox's time once)
/// nor a `String` each (its allocations) is needed to put one in an answer.
#[derive(Clone, Copy)]
pub struct Stamp {
    buf: [u8; Stamp::CAPACITY],
    len: u8,
}

impl Stamp {
    /// The longest a timestamp can be: a year of an `i64` of milliseconds has at most nine
    /// digits and a sign, the rest is 19 bytes and the offset 6.
    const CAPACITY: usize = 40;

    /// Jira's platform format: the offset without a colon.
    pub fn jira(ms: i64) -> Stamp {
        Stamp::new(ms, false)
    }

    /// The Agile API's format: the offset with a colon.
    pub fn agile(ms: i64) -> Stamp {
        Stamp::new(ms, true)
    }

    fn new(ms: i64, colon: bool) -> Stamp {
        let (off, (y, m, d), in_day) = local_parts(ms);
        let (hh, mi, ss, mss) = clock(in_day);
        let mut out = Stamp {
            buf: [0; Stamp::CAPACITY],
            len: 0,
        };
        if (0..=9999).contains(&y) {
            out.digits(y as u32, 4);
        } else {
            // Outside the years Jira writes; kept readable rather than wrapped.
            // As `format!("{y:04}")` writes it: the sign counts in the width.
            if y < 0 {
                out.push(b'-');
            }
            out.digits_u64(y.unsigned_abs(), if y < 0 { 3 } else { 4 });
        }
        for (sep, n, width) in [
            (b'-', m, 2),
            (b'-', d, 2),
            (b'T', hh, 2),
            (b':', mi, 2),
            (b':', ss, 2),
            (b'.', mss, 3),
        ] {
            out.push(sep);
            out.digits(n, width);
        }
        out.push(if off < 0 { b'-' } else { b'+' });
        out.digits((off.unsigned_abs() / 60) as u32, 2);
        if colon {
            out.push(b':');
        }
        out.digits((off.unsigned_abs() % 60) as u32, 2);
        out
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len as usize] = b;
        self.len += 1;
    }

    /// `n` in decimal, at least `width` digits (zeros in front).
    fn digits(&mut self, n: u32, width: usize) {
        // The fields of a date and time fill their width: each digit divided out by a
        // constant, which the compiler multiplies instead (a power of ten in a variable was
        // two divisions a digit: a stamp took a quarter longer).
        let digit = |n: u32| b'0' + (n % 10) as u8;
        match width {
            2 if n < 100 => {
                self.push(digit(n / 10));
                self.push(digit(n));
            }
            3 if n < 1000 => {
                self.push(digit(n / 100));
                self.push(digit(n / 10));
                self.push(digit(n));
            }
            4 if n < 10_000 => {
                self.push(digit(n / 1000));
                self.push(digit(n / 100));
                self.push(digit(n / 10));
                self.push(digit(n));
            }
            _ => self.digits_u64(u64::from(n), width),
        }
    }

    fn digits_u64(&mut self, n: u64, width: usize) {
        let mut buf = [b'0'; 20];
        let mut at = buf.len();
        let mut rest = n;
        loop {
            at -= 1;
            buf[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let at = at.min(buf.len() - width.min(buf.len()));
        for &b in &buf[at..] {
            self.push(b);
        }
    }

    /// The timestamp's text as bytes (ASCII), without checking them again.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// The timestamp's text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).expect("ASCII digits and signs")
    }
}

impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `YYYY-MM-DD` of a day number.
pub fn date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Day number of `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    if parts.next().is_some()
        || !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// A JQL date, `yyyy-MM-dd HH:mm`, `yyyy/MM/dd HH:mm` or a bare date, read in the user's zone
/// (Europe/Helsinki), as the real Jira does.
pub fn parse_jql_local(text: &str) -> Option<i64> {
    let text = text.trim().replace('/', "-");
    let (date_part, time_part) = match text.split_once(' ') {
        Some((d, t)) => (d.to_string(), t.trim().to_string()),
        None => (text.clone(), "00:00".to_string()),
    };
    let day = parse_date(&date_part)?;
    let (hh, mm) = time_part.split_once(':')?;
    let (hh, mm): (i64, i64) = (hh.parse().ok()?, mm.parse().ok()?);
    if !(0..=23).contains(&hh) || !(0..=59).contains(&mm) {
        return None;
    }
    let local = day * DAY_MS + (hh * 60 + mm) * 60_000;
    // The offset that applies at that local time (winter offset first, then checked).
    let guess = local - 120 * 60_000;
    let off = helsinki_offset_minutes(guess);
    Some(local - off * 60_000)
}

/// Azure DevOps' format: UTC with as many fractional digits as needed,
/// `2026-11-20T16:00:00.117Z`, `2026-11-20T16:00:00.05Z`, `2026-11-20T16:00:00Z`.
pub fn ado_timestamp(ms: i64) -> String {
    let (y, m, d, hh, mi, ss, mss) = split(ms, 0);
    let mut frac = format!("{mss:03}");
    while frac.ends_with('0') {
        frac.pop();
    }
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mi:02}:{ss:02}{frac}Z")
}

/// An instant as Azure DevOps reads one: `2026-11-20`, `2026-11-20T16:00:00Z`,
/// `2026-11-20T16:00:00.117Z` or with an offset (`+02:00`); `None` for anything else.
/// The flag says whether a time was given.
pub fn parse_ado_instant(text: &str) -> Option<(i64, bool)> {
    let text = text.trim();
    // Timestamps are ASCII; anything else is not one (and byte offsets below stay on chars).
    if !text.is_ascii() {
        return None;
    }
    let (day_part, rest) = match text.find('T') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let day = parse_date(day_part)?;
    let Some(rest) = rest else {
        return Some((day * DAY_MS, false));
    };
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..]
            .split_once(':')
            .unwrap_or((&off[1..3.min(off.len())], "0"));
        let (oh, om) = (oh.parse::<i64>().ok()?, om.parse::<i64>().ok()?);
        if !(0..=23).contains(&oh) || !(0..=59).contains(&om) {
            return None;
        }
        (c, sign * (oh * 60 + om))
    } else {
        (rest, 0)
    };
    let mut parts = clock.split(':');
    let hh: i64 = parts.next()?.parse().ok()?;
    let mi: i64 = parts.next()?.parse().ok()?;
    let (ss, ms) = match parts.next() {
        Some(s) => match s.split_once('.') {
            Some((s, f)) => {
                let digits: String = f.chars().take(3).collect();
                let scale = 10i64.pow(3 - digits.len() as u32);
                (s.parse::<i64>().ok()?, digits.parse::<i64>().ok()? * scale)
            }
            None => (s.parse::<i64>().ok()?, 0),
        },
        None => (0, 0),
    };
    if parts.next().is_some()
        || !(0..=23).contains(&hh)
        || !(0..=59).contains(&mi)
        || !(0..=60).contains(&ss)
        || ms < 0
    {
        return None;
    }
    let ms = day * DAY_MS + ((hh * 60 + mi) * 60 + ss) * 1000 + ms - offset_min * 60_000;
    Some((ms, true))
}

/// Milliseconds since the epoch now.
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for day in [-800_000, -1, 0, 1, 20_000, 20_784, 60_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(date(days_from_civil(2026, 11, 27)), "2026-11-27");
    }

    #[test]
    fn timestamps_written_digit_by_digit_read_as_formatted_ones() {
        let formatted = |ms: i64, colon: &str| {
            let off = helsinki_offset_minutes(ms);
            let (y, m, d, hh, mi, ss, mss) = split(ms, off);
            format!(
                "{y:04}-{m:02}-{d:02}T{hh:02}:{mi:02}:{ss:02}.{mss:03}+{:02}{colon}{:02}",
                off / 60,
                off % 60
            )
        };
        // Midnights, the turns of summer time, a leap day, the first and last of a year, and
        // a spread of odd moments with their milliseconds.
        let mut moments = vec![
            0,
            utc_ms(2024, 2, 29, 23, 59) + 59_999,
            utc_ms(2026, 3, 29, 0, 59) + 59_999,
            utc_ms(2026, 3, 29, 1, 0),
            utc_ms(2026, 10, 25, 0, 59) + 59_999,
            utc_ms(2026, 10, 25, 1, 0),
            utc_ms(2026, 12, 31, 21, 59) + 59_999,
            utc_ms(2026, 12, 31, 22, 0),
            utc_ms(1999, 1, 1, 0, 0) + 7,
            // Years Jira does not write, before the era and past four digits.
            utc_ms(-5, 6, 1, 12, 0),
            utc_ms(-12_345, 6, 1, 12, 0),
            utc_ms(12_000, 6, 1, 12, 0),
        ];
        moments.extend(
            (0..2_000i64).map(|i| utc_ms(2025, 1, 1, 0, 0) + i * 31_536_017_771 % 94_608_000_000),
        );
        // Runs of moments minutes apart, as a page of worklogs has them, across the turns of
        // summer time, of local days and of a year: what a stamp remembers of the last must
        // not outlive its day or its year.
        for start in [
            utc_ms(2026, 3, 28, 20, 0),
            utc_ms(2026, 10, 24, 20, 0),
            utc_ms(2026, 12, 31, 18, 0),
            utc_ms(2024, 2, 28, 20, 0),
        ] {
            moments.extend((0..200i64).map(|i| start + i * 257_123));
            moments.extend((0..200i64).map(|i| start + 200 * 257_123 - i * 257_123));
        }
        for ms in moments {
            assert_eq!(jira_timestamp(ms), formatted(ms, ""), "{ms}");
            assert_eq!(agile_timestamp(ms), formatted(ms, ":"), "{ms}");
        }
    }

    #[test]
    fn helsinki_time_with_summer_time() {
        // 2026: summer time from 29 March to 25 October.
        assert_eq!(
            jira_timestamp(utc_ms(2026, 11, 27, 8, 30)),
            "2026-11-27T10:30:00.000+0200"
        );
        assert_eq!(
            jira_timestamp(utc_ms(2026, 7, 1, 8, 30)),
            "2026-07-01T11:30:00.000+0300"
        );
        assert_eq!(
            agile_timestamp(utc_ms(2026, 7, 1, 8, 30)),
            "2026-07-01T11:30:00.000+03:00"
        );
        assert_eq!(helsinki_offset_minutes(utc_ms(2026, 3, 29, 0, 59)), 120);
        assert_eq!(helsinki_offset_minutes(utc_ms(2026, 3, 29, 1, 0)), 180);
        assert_eq!(helsinki_offset_minutes(utc_ms(2026, 10, 25, 1, 0)), 120);
    }

    #[test]
    fn ado_timestamps_trim_their_fraction_and_read_back() {
        let at = utc_ms(2026, 11, 20, 16, 0);
        assert_eq!(ado_timestamp(at), "2026-11-20T16:00:00Z");
        assert_eq!(ado_timestamp(at + 50), "2026-11-20T16:00:00.05Z");
        assert_eq!(ado_timestamp(at + 117), "2026-11-20T16:00:00.117Z");
        for ms in [at, at + 50, at + 117] {
            assert_eq!(parse_ado_instant(&ado_timestamp(ms)), Some((ms, true)));
        }
        assert_eq!(
            parse_ado_instant("2026-11-20"),
            Some((utc_ms(2026, 11, 20, 0, 0), false))
        );
        assert_eq!(
            parse_ado_instant("2026-11-20T18:00:00+02:00"),
            Some((at, true))
        );
        assert_eq!(parse_ado_instant("yesterday"), None);
    }

    #[test]
    fn jql_dates_are_local() {
        assert_eq!(
            parse_jql_local("2026-11-27 10:30"),
            Some(utc_ms(2026, 11, 27, 8, 30))
        );
        assert_eq!(
            parse_jql_local("2026/07/01 11:30"),
            Some(utc_ms(2026, 7, 1, 8, 30))
        );
        assert_eq!(parse_jql_local("2026-13-01 10:00"), None);
    }
}
