//! Reports: the steering pack, built from the store as the checks see it.
//!
//! The pack is a set of tables (so the same content renders as Markdown, one self-contained
//! HTML file, JSON or CSV): the portfolio per value stream, gate decisions due before the next
//! steering meeting, initiatives at risk with the findings behind them, the business cases'
//! numbers with their definitions, a resource heat map against the reserve line, findings by
//! rule and severity, and what changed since the last pack.

pub mod capitalisation;
pub mod charts;
pub mod decisions;
mod files;
pub mod filter;
pub mod freshness;
mod open;
pub mod quarterly;
mod render;
mod rows;
mod steering;

pub use charts::Chart;
pub use files::*;
pub use open::{OpenFinding, OpenFindings};
pub use render::*;
pub use rows::{Row, Rows};
pub use steering::*;

use crate::config::{ReportKind, ReportsConfig};
use crate::error::Error;
use serde::Serialize;
use std::collections::BTreeMap;
use tollgate_dmo::Severity;
use tollgate_dmo::calendar::{date_of, day_number};

pub(crate) use tollgate_dmo::prioritisation::{
    RESERVE_LINE, allocation_overlaps, money, money_in, natural,
};
use tollgate_dmo::rules::Portfolio;
use tollgate_store::Store;

/// One table of a report: a name, column names, rows of cells. Cells are written for people
/// ("38 261", "8.0 %"); CSV and JSON carry them as plain numbers (see [`plain_number`]).
#[derive(Debug, Clone)]
pub struct Table {
    /// Machine name (CSV file name, JSON key).
    pub name: &'static str,
    /// Heading for people.
    pub title: &'static str,
    /// What the table shows and how its numbers are defined.
    pub note: String,
    /// Column names.
    pub columns: Vec<&'static str>,
    /// Rows.
    pub rows: Rows,
    /// A chart of the same numbers (HTML only; the other formats carry the table).
    pub chart: Option<Chart>,
}

/// A column name made at run time (a month, a quarter) as the `&'static str` a [`Table`]
/// names its columns with: each distinct name is kept once for the life of the process, so a
/// daemon that builds a pack every night holds a few dozen such names a year, not one more
/// set per pack.
pub(crate) fn column_name(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(kept) = names.get(name) {
        return kept;
    }
    let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(kept);
    kept
}

/// Columns whose cells are keys or names even when they look like numbers (Azure DevOps
/// work items are keyed by number).
const KEY_COLUMNS: &[&str] = &["initiative", "depends on", "person", "team", "subject"];

impl Table {
    /// A cell as CSV and JSON carry it: a plain number where the cell is a number formatted
    /// for people, else the text.
    pub fn plain_cell(&self, column: usize, cell: &str) -> Option<String> {
        if self
            .columns
            .get(column)
            .is_some_and(|c| KEY_COLUMNS.contains(c))
        {
            return None;
        }
        plain_number(cell)
    }
}

impl Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = serializer.serialize_struct("Table", 5)?;
        st.serialize_field("name", self.name)?;
        st.serialize_field("title", self.title)?;
        st.serialize_field("note", &self.note)?;
        st.serialize_field("columns", &self.columns)?;
        st.serialize_field("rows", &PlainRows(self))?;
        st.end()
    }
}

/// A table's rows as JSON carries them, each cell made as it is written: the steering pack
/// at 10,000 initiatives has 370,000 cells, and a copy of them all as JSON values beside the
/// table was the largest part of `report --format json`'s memory.
struct PlainRows<'a>(&'a Table);

impl Serialize for PlainRows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.rows.iter().map(|row| PlainRow(self.0, row)))
    }
}

struct PlainRow<'a>(&'a Table, Row<'a>);

impl Serialize for PlainRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.1.iter().enumerate().map(|(i, cell)| {
            match self
                .0
                .plain_cell(i, cell)
                .and_then(|n| serde_json::from_str::<serde_json::Number>(&n).ok())
            {
                Some(n) => PlainCell::Number(n),
                None => PlainCell::Text(cell),
            }
        }))
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum PlainCell<'a> {
    Number(serde_json::Number),
    Text(&'a str),
}

/// A number formatted for people, as a plain number: "38 261" is `38261`, "−1 234 567"
/// `-1234567`, "3.67" `3.67`, an amount without its currency code ("44 691 EUR" is `44691`;
/// the table's `currency` column keeps the code), and a percentage a fraction: "8.0 %" is
/// `0.080`. Anything else (keys, dates, "17.1 months", "–") is not a number.
pub fn plain_number(cell: &str) -> Option<String> {
    let t = cell.trim();
    let t = match t.rsplit_once(' ') {
        Some((amount, code)) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
            amount
        }
        _ => t,
    };
    let (t, percent) = match t.strip_suffix('%') {
        Some(rest) => (rest.trim_end(), true),
        None => (t, false),
    };
    let (negative, t) = match t.strip_prefix(['−', '-']) {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, fraction) = match t.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    // Digits in groups of three after the first, separated by single spaces.
    let groups: Vec<&str> = whole.split(' ').collect();
    let grouped = !groups[0].is_empty()
        && groups[0].len() <= if groups.len() > 1 { 3 } else { usize::MAX }
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
        && groups[1..].iter().all(|g| g.len() == 3);
    let fraction_ok =
        fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !grouped || !fraction_ok {
        return None;
    }
    let digits: String = groups.concat();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if percent {
        // Move the decimal point two places left, in the text, so nothing is lost to floats.
        let frac = fraction.unwrap_or("");
        let int = digits.trim_start_matches('0');
        let padded = format!("{int:0>2}");
        let (head, tail) = padded.split_at(padded.len() - 2);
        out.push_str(if head.is_empty() { "0" } else { head });
        out.push('.');
        out.push_str(tail);
        out.push_str(frac);
    } else {
        out.push_str(&digits);
        if let Some(f) = fraction {
            out.push('.');
            out.push_str(f);
        }
    }
    Some(out)
}

/// A report: the steering pack or the quarterly review.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `steering` or `quarterly`.
    pub kind: &'static str,
    /// Heading, e.g. "Steering pack, 2026-11-27".
    pub title: String,
    /// Evaluated as of (YYYY-MM-DD).
    pub as_of: String,
    /// The next steering meeting (as of + 14 days).
    pub next_steering: String,
    /// When the previous pack was made, if one was.
    pub previous_pack: Option<String>,
    /// Set when some connection's latest sync failed or it never synced: what the report
    /// opens with (see [`freshness`]).
    pub stale: Option<String>,
    /// The DMO officer's note for this pack, read from `[reports] officer_note`.
    pub officer_note: Option<String>,
    /// The tables, in reading order.
    pub tables: Vec<Table>,
}

/// The day number of an `--as-of` date, or the error the commands print.
pub fn parse_as_of(as_of: &str) -> Result<i64, Error> {
    day_number(as_of)
        .ok_or_else(|| Error::usage(anyhow::anyhow!("`{as_of}` is not a date like 2026-11-27")))
}

pub(crate) fn pct(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    format!("{:.1} %", 100.0 * v + 0.0)
}

/// Full-time equivalents with two decimals (never "-0.00": an empty float sum is -0.0).
pub(crate) fn fte(v: f64) -> String {
    format!("{:.2}", v + 0.0)
}

/// Build a report of `kind` as of `as_of`, with the config's `[reports]` settings and rule
/// pack.
pub fn build(
    store: &dyn Store,
    kind: ReportKind,
    as_of: &str,
    config: &crate::config::Config,
) -> Result<Report, Error> {
    let report = match kind {
        ReportKind::Steering => {
            let p = steering_portfolio(store, as_of)?;
            return build_steering(store, &p, as_of, config);
        }
        ReportKind::Capitalisation => capitalisation::report(store, as_of, &config.reports)?,
        ReportKind::Quarterly => quarterly::review(
            store,
            as_of,
            &config.reports,
            &crate::check::rule_pack(config)?,
        )?,
    };
    finish(report, store, kind, config)
}

/// [`build`] of the steering pack from a portfolio the caller has already read from `store`
/// (the dashboard needs both, and reading a large portfolio takes seconds), with at least
/// the time logged that [`steering_portfolio`] keeps.
pub fn build_steering(
    store: &dyn Store,
    p: &tollgate_dmo::rules::Portfolio,
    as_of: &str,
    config: &crate::config::Config,
) -> Result<Report, Error> {
    let report = steering_of(
        store,
        p,
        as_of,
        &config.reports,
        forecast_seed(Some(config)),
    )?;
    finish(report, store, ReportKind::Steering, config)
}

/// What every built report ends with: its data's freshness, and the pack its officer's note.
fn finish(
    mut report: Report,
    store: &dyn Store,
    kind: ReportKind,
    config: &crate::config::Config,
) -> Result<Report, Error> {
    with_freshness(&mut report, store, config)?;
    if kind == ReportKind::Steering
        && let Some(path) = &config.reports.officer_note
    {
        let path = config.resolve(path);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::usage(anyhow::anyhow!(
                "reports.officer_note: cannot read {}: {e}",
                path.display()
            ))
        })?;
        report.officer_note = Some(text.trim().to_string()).filter(|t| !t.is_empty());
    }
    Ok(report)
}

/// End a report with its data's freshness per configured connection, and open it with a
/// banner when some connection's data may be old or partial.
pub fn with_freshness(
    report: &mut Report,
    store: &dyn Store,
    config: &crate::config::Config,
) -> Result<(), Error> {
    let fresh = freshness::freshness(store, config)?;
    report.stale = freshness::stale_banner(&fresh);
    report.tables.push(freshness::table(&fresh));
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_column_name_made_at_run_time_is_kept_once() {
        let first = super::column_name(&format!("2026-{}", 12));
        let again = super::column_name(&String::from("2026-12"));
        assert_eq!(first, "2026-12");
        assert!(std::ptr::eq(first, again), "the same name, kept once");
    }

    use super::*;

    #[test]
    fn numbers_for_people_become_plain_numbers() {
        for (cell, plain) in [
            ("38 261", Some("38261")),
            ("−1 234 567", Some("-1234567")),
            ("3.67", Some("3.67")),
            ("8.0 %", Some("0.080")),
            ("25.7 %", Some("0.257")),
            ("146.8 %", Some("1.468")),
            ("0 %", Some("0.00")),
            ("110", Some("110")),
            ("–", None),
            ("2026-11-27", None),
            ("17.1 months", None),
            ("BIZ-9", None),
            ("1 2345", None),
            ("12  345", None),
            (" ", None),
            ("1.", None),
            ("44 691 EUR", Some("44691")),
            ("−1 200 CHF", Some("-1200")),
            ("12 months", None),
            ("EUR", None),
        ] {
            assert_eq!(plain_number(cell).as_deref(), plain, "{cell:?}");
        }
    }

    #[test]
    fn dates_and_numbers_read_well() {
        for d in ["2026-11-27", "2024-02-29", "1999-12-31"] {
            assert_eq!(date_of(day_number(d).unwrap()), d);
        }
        assert_eq!(money(-1234567.4), "−1 234 567");
        assert_eq!(money(999.5), "1 000");
        assert_eq!(pct(0.2569), "25.7 %");
        // Never "NaN %", "inf" or a saturated integer.
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300] {
            assert_eq!(money(v), "–");
        }
        assert_eq!(pct(f64::NAN), "–");
        assert!(natural("BIZ-9") < natural("BIZ-10"));
    }
}
