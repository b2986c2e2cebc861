//! The files the plugin understands: their columns (with the other names spreadsheets use for
//! them) and how a row becomes DMO records.

use crate::values::{date, measured_on, number, period, vocabulary};
use serde::Deserialize;
use std::collections::BTreeMap;
use tollgate_plugin_api::{
    Allocation, BusinessCase, CostRate, Dependency, Entity, FinanceEntry, GateDecision,
    KpiMeasurement, Person, Team, TimeEntry,
};

/// Plugin settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Per file, canonical column -> header used in the file: `{"timesheets.csv": {"hours": "Tunnit"}}`.
    #[serde(default)]
    pub columns: BTreeMap<String, BTreeMap<String, String>>,
    /// Initiative keys as the files write them -> keys in the trackers: `{"OLD-7": "BIZ-7"}`.
    #[serde(default)]
    pub initiative_aliases: BTreeMap<String, String>,
    /// Prefix for initiative keys written as bare numbers: `"BIZ-"` turns `7` into `BIZ-7`.
    #[serde(default)]
    pub initiative_key_prefix: Option<String>,
    /// Person references as the files write them (e-mail, employee number) -> person ids.
    #[serde(default)]
    pub person_aliases: BTreeMap<String, String>,
    /// Currency for rows that leave it out.
    #[serde(default)]
    pub default_currency: Option<String>,
    /// Rate columns (discount_rate, hurdle_rate) write percents without the sign: `8` is 8 %.
    /// Without it a bare number is a fraction (`0.08`) and one of 1 or more is refused.
    #[serde(default)]
    pub rates_in_percent: bool,
}

impl Settings {
    fn initiative(&self, raw: &str) -> String {
        let key = raw.trim();
        if let Some(k) = self.initiative_aliases.get(key) {
            return k.clone();
        }
        let key = key.to_uppercase();
        if let Some(k) = self.initiative_aliases.get(&key) {
            return k.clone();
        }
        match &self.initiative_key_prefix {
            Some(prefix) if key.chars().all(|c| c.is_ascii_digit()) => format!("{prefix}{key}"),
            _ => key,
        }
    }

    fn person(&self, raw: &str) -> String {
        let p = raw.trim();
        self.person_aliases
            .get(p)
            .or_else(|| self.person_aliases.get(&p.to_lowercase()))
            .cloned()
            .unwrap_or_else(|| p.to_string())
    }
}

/// A column: its canonical name, other names, and whether every row needs it.
pub struct Column {
    /// Canonical name (also what `columns` mappings use).
    pub name: &'static str,
    /// Other header names, normalised (lower case, `_` for spaces).
    pub aliases: &'static [&'static str],
    /// The header must have it.
    pub required: bool,
}

const fn col(name: &'static str, aliases: &'static [&'static str], required: bool) -> Column {
    Column {
        name,
        aliases,
        required,
    }
}

/// A value problem in a row: the 1-based column and the reason.
#[derive(Debug, PartialEq)]
pub struct FieldError {
    /// 1-based column number, 0 when it is about the row.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed row: fields by canonical column name.
pub struct Row<'a> {
    /// Decoded fields.
    pub fields: &'a [String],
    /// Canonical column -> field index.
    pub map: &'a BTreeMap<&'static str, usize>,
    /// File name and line, for ids.
    pub file: &'a str,
    /// Line of the row.
    pub line: u64,
}

impl Row<'_> {
    fn index(&self, name: &str) -> Option<usize> {
        self.map.get(name).copied()
    }

    /// The trimmed value, `None` when the column is absent or the cell empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        let v = self.fields.get(self.index(name)?)?.trim();
        (!v.is_empty()).then_some(v)
    }

    fn err(&self, name: &str, message: String) -> FieldError {
        FieldError {
            column: self.index(name).map_or(0, |i| i + 1),
            message: format!("{name}: {message}"),
        }
    }

    /// A required value.
    pub fn required(&self, name: &str) -> Result<&str, FieldError> {
        self.get(name)
            .ok_or_else(|| self.err(name, "required, but the cell is empty".to_string()))
    }

    /// Parse an optional value with `f`.
    pub fn opt<T>(
        &self,
        name: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, FieldError> {
        self.get(name)
            .map(&f)
            .transpose()
            .map_err(|m| self.err(name, m))
    }

    /// Parse a required value with `f`.
    pub fn req<T>(
        &self,
        name: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, FieldError> {
        f(self.required(name)?).map_err(|m| self.err(name, m))
    }

    fn own(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    fn line_id(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    fn either(&self, a: &str, b: &str) -> Result<(), FieldError> {
        if self.get(a).is_none() && self.get(b).is_none() {
            return Err(FieldError {
                column: self.index(a).or(self.index(b)).map_or(0, |i| i + 1),
                message: format!("needs {a} or {b}; both are empty"),
            });
        }
        Ok(())
    }
}

/// A built record: external id and entity.
pub type Built = Vec<(String, Entity)>;

/// One understood file.
pub struct FileSpec {
    /// File name in the data directory.
    pub file: &'static str,
    /// Stream name.
    pub stream: &'static str,
    /// Columns.
    pub columns: &'static [Column],
    /// Groups of which the header needs at least one.
    pub one_of: &'static [&'static [&'static str]],
    /// Row -> records.
    pub build: fn(&Row, &Settings) -> Result<Built, FieldError>,
}

fn currency(row: &Row, s: &Settings) -> Result<String, FieldError> {
    match (row.get("currency"), &s.default_currency) {
        (Some(c), _) => {
            let c = c.to_uppercase();
            if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                Ok(c)
            } else {
                Err(row.err(
                    "currency",
                    format!("`{c}` is not a three-letter code like EUR"),
                ))
            }
        }
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(row.err(
            "currency",
            "required (or set default_currency in the settings)".to_string(),
        )),
    }
}

/// Rates a business case may hold, as fractions: −50 % to 100 % a year. Outside that, the
/// discounting that follows is meaningless (at −100 % it divides by zero).
const RATE_RANGE: (f64, f64) = (-0.5, 1.0);

/// A rate as a fraction: `8 %`, `8%` and `0.08` (or `0,08`) all mean 8 %. A bare number is a
/// fraction, unless `rates_in_percent` says the file writes percents without the sign (then
/// `8` is 8 %); a bare number of 1 or more is refused otherwise, since `1` could mean 100 %
/// or 1 %. The rate must lie in [`RATE_RANGE`].
fn rate(in_percent: bool) -> impl Fn(&str) -> Result<f64, String> {
    move |raw| {
        let v = number(raw, true)?;
        let v = if raw.contains('%') || in_percent {
            v / 100.0
        } else if v.abs() >= 1.0 {
            return Err(format!(
                "`{}` is ambiguous: write a percent with its sign (8 %) or a fraction (0.08), or set `rates_in_percent` when the file writes percents without the sign",
                raw.trim()
            ));
        } else {
            v
        };
        if !(RATE_RANGE.0..=RATE_RANGE.1).contains(&v) {
            return Err(format!(
                "`{}` is outside {:.0} % .. {:.0} % a year",
                raw.trim(),
                100.0 * RATE_RANGE.0,
                100.0 * RATE_RANGE.1
            ));
        }
        Ok(v)
    }
}

/// The largest amount a finance row may hold (in its currency): sums and discounting of
/// larger ones could overflow to infinity.
const MAX_AMOUNT: f64 = 1e15;

fn amount(raw: &str) -> Result<f64, String> {
    let v = number(raw, false)?;
    if v.abs() > MAX_AMOUNT {
        return Err(format!(
            "`{}` is beyond ±{MAX_AMOUNT:e}, more than any budget",
            raw.trim()
        ));
    }
    Ok(v)
}

fn fte(raw: &str) -> Result<f64, String> {
    let v = number(raw, true)?;
    let v = if raw.contains('%') { v / 100.0 } else { v };
    if !(0.0..=1.0).contains(&v) {
        return Err(format!(
            "`{raw}` is not an FTE: a fraction 0..1 (0,8) or a percent (80 %)"
        ));
    }
    Ok(v)
}

fn bounded(lo: f64, hi: f64, percent: bool) -> impl Fn(&str) -> Result<f64, String> {
    move |raw| {
        let v = number(raw, percent)?;
        if v < lo || v > hi {
            return Err(format!("{v} is outside {lo}..{hi}"));
        }
        Ok(v)
    }
}

fn people(row: &Row, s: &Settings) -> Result<Built, FieldError> {
    let id = s.person(row.required("id")?);
    let person = Person {
        id: id.clone(),
        name: row.required("name")?.to_string(),
        email: row.own("email"),
        team: row.own("team"),
        role: row.own("role"),
        resource_owner: row.own("resource_owner"),
        fte: row.opt("fte", fte)?,
        hours_per_day: row.opt("hours_per_day", bounded(0.0, 24.0, false))?,
        start_date: row.opt("start_date", date)?,
        end_date: row.opt("end_date", date)?,
    };
    let mut out = vec![(id.clone(), Entity::Person(person))];
    if let Some(hourly_rate) = row.opt("cost_rate", bounded(0.0, 1e7, false))? {
        out.push((
            id.clone(),
            Entity::CostRate(CostRate {
                person: Some(id),
                role: row.own("role"),
                hourly_rate,
                currency: currency(row, s)?,
                valid_from: row.opt("start_date", date)?,
                valid_to: row.opt("end_date", date)?,
            }),
        ));
    }
    Ok(out)
}

fn teams(row: &Row, _: &Settings) -> Result<Built, FieldError> {
    let id = row.required("id")?.to_string();
    Ok(vec![(
        id.clone(),
        Entity::Team(Team {
            id,
            name: row.required("name")?.to_string(),
            value_stream: row.own("value_stream"),
            manager: row.own("manager"),
        }),
    )])
}

fn allocations(row: &Row, s: &Settings) -> Result<Built, FieldError> {
    row.either("initiative", "team")?;
    Ok(vec![(
        row.line_id(),
        Entity::Allocation(Allocation {
            person: s.person(row.required("person")?),
            initiative_key: row.get("initiative").map(|k| s.initiative(k)),
            team: row.own("team"),
            percent: row.req("percent", bounded(0.0, 100.0, true))?,
            from: row.opt("from", date)?,
            to: row.opt("to", date)?,
        }),
    )])
}

fn timesheets(row: &Row, s: &Settings) -> Result<Built, FieldError> {
    row.either("initiative", "work_item")?;
    let hours = row.req("hours", bounded(0.0, 24.0, false))?;
    Ok(vec![(
        row.line_id(),
        Entity::TimeEntry(TimeEntry {
            person: s.person(row.required("person")?),
            work_item_key: row.get("work_item").map(|k| k.trim().to_uppercase()),
            initiative_key: row.get("initiative").map(|k| s.initiative(k)),
            date: row.req("date", date)?,
            started: None,
            seconds: (hours * 3600.0).round() as u64,
            description: row.own("description"),
        }),
    )])
}

fn finance(row: &Row, s: &Settings) -> Result<Built, FieldError> {
    Ok(vec![(
        row.line_id(),
        Entity::FinanceEntry(FinanceEntry {
            initiative_key: s.initiative(row.required("initiative")?),
            period: row.req("period", period)?,
            kind: row.req("kind", |v| {
                vocabulary(
                    v,
                    &["budget", "actual", "planned-benefit", "realised-benefit"],
                    &[
                        ("realized-benefit", "realised-benefit"),
                        ("benefit-plan", "planned-benefit"),
                        ("actuals", "actual"),
                    ],
                )
            })?,
            expense_type: row.opt("expense_type", |v| vocabulary(v, &["capex", "opex"], &[]))?,
            amount: row.req("amount", amount)?,
            currency: currency(row, s)?,
        }),
    )])
}

fn business_cases(row: &Row, s: &Settings) -> Result<Built, FieldError> {
    let key = s.initiative(row.required("initiative")?);
    Ok(vec![(
        key.clone(),
        Entity::BusinessCase(BusinessCase {
            initiative_key: key,
            currency: row.get("currency").map(|_| currency(row, s)).transpose()?,
            discount_rate: row.opt("discount_rate", rate(s.rates_in_percent))?,
            hurdle_rate: row.opt("hurdle_rate", rate(s.rates_in_percent))?,
            horizon: row.opt("horizon", |v| {
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("`{v}` is not a whole number of periods"))
            })?,
            period_length: row.opt("period_length", |v| {
                vocabulary(v, &["year", "quarter", "month"], &[])
            })?,
            cash_flows: Vec::new(),
            last_reviewed: row.opt("last_reviewed", date)?,
        }),
    )])
}

fn gate(raw: &str) -> Result<String, String> {
    let g = raw.trim().to_uppercase();
    let ok = g.len() == 2 && g.starts_with('G') && matches!(g.as_bytes()[1], b'0'..=b'5');
    if ok || g == "PIR" {
        Ok(g)
    } else {
        Err(format!("`{raw}` is not a gate (G0..G5 or PIR)"))
    }
}

fn gate_decisions(row: &Row, s: &Settings) -> Result<Built, FieldError> {
    Ok(vec![(
        row.line_id(),
        Entity::GateDecision(GateDecision {
            initiative_key: s.initiative(row.required("initiative")?),
            gate: row.req("gate", gate)?,
            decision: row.req("decision", |v| {
                vocabulary(
                    v,
                    &["go", "conditional-go", "hold", "recycle", "stop"],
                    &[
                        ("no-go", "stop"),
                        ("kill", "stop"),
                        ("conditional", "conditional-go"),
                    ],
                )
            })?,
            decider: row.own("decider"),
            date: row.opt("date", date)?,
            conditions: row.own("conditions"),
        }),
    )])
}

fn yes_no(raw: &str) -> Result<bool, String> {
    match raw.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "accepted" | "x" => Ok(true),
        "no" | "n" | "false" | "0" | "not accepted" | "pending" => Ok(false),
        _ => Err(format!("`{raw}` is neither yes nor no")),
    }
}

fn dependencies(row: &Row, s: &Settings) -> Result<Built, FieldError> {
    let from_key = s.initiative(row.required("initiative")?);
    let to_key = s.initiative(row.required("depends_on")?);
    if from_key == to_key {
        return Err(row.err("depends_on", format!("{from_key} cannot depend on itself")));
    }
    Ok(vec![(
        row.line_id(),
        Entity::Dependency(Dependency {
            from_key,
            to_key,
            kind: row.own("kind").unwrap_or_else(|| "blocks".into()),
            accepted: row.opt("accepted", yes_no)?,
        }),
    )])
}

/// A KPI value: any finite number, percents as written (`42 %` is 42).
fn kpi_value(raw: &str) -> Result<f64, String> {
    let v = number(raw, true)?;
    if v.abs() > MAX_AMOUNT {
        return Err(format!("`{}` is beyond ±{MAX_AMOUNT:e}", raw.trim()));
    }
    Ok(v)
}

fn kpis(row: &Row, s: &Settings) -> Result<Built, FieldError> {
    Ok(vec![(
        row.line_id(),
        Entity::KpiMeasurement(KpiMeasurement {
            initiative_key: s.initiative(row.required("initiative")?),
            kpi: row.required("kpi")?.to_string(),
            date: row.req("date", measured_on)?,
            value: row.req("value", kpi_value)?,
            unit: row.own("unit"),
            baseline: row.opt("baseline", kpi_value)?,
            target: row.opt("target", kpi_value)?,
        }),
    )])
}

/// Every file, in pull order (people and teams before what refers to them).
pub const FILES: &[FileSpec] = &[
    FileSpec {
        file: "people.csv",
        stream: "people",
        columns: &[
            col(
                "id",
                &["person", "person_id", "employee_id", "employee"],
                true,
            ),
            col("name", &["full_name", "person_name"], true),
            col("email", &["e_mail", "mail"], false),
            col("team", &["team_id"], false),
            col("role", &["title", "job_title"], false),
            col("resource_owner", &["line_manager", "owner"], false),
            col("fte", &[], false),
            col("hours_per_day", &["daily_hours", "hours/day"], false),
            col("cost_rate", &["hourly_rate", "rate"], false),
            col("currency", &[], false),
            col("start_date", &["start", "from"], false),
            col("end_date", &["end", "to"], false),
        ],
        one_of: &[],
        build: people,
    },
    FileSpec {
        file: "teams.csv",
        stream: "teams",
        columns: &[
            col("id", &["team", "team_id"], true),
            col("name", &["team_name"], true),
            col("value_stream", &["stream"], false),
            col("manager", &["team_manager"], false),
        ],
        one_of: &[],
        build: teams,
    },
    FileSpec {
        file: "allocations.csv",
        stream: "allocations",
        columns: &[
            col("person", &["person_id", "employee", "id"], true),
            col("initiative", &["initiative_key", "epic", "key"], false),
            col("team", &["team_id"], false),
            col("percent", &["allocation", "share", "%"], true),
            col("from", &["start", "start_date"], false),
            col("to", &["end", "end_date"], false),
        ],
        one_of: &[&["initiative", "team"]],
        build: allocations,
    },
    FileSpec {
        file: "timesheets.csv",
        stream: "timesheets",
        columns: &[
            col("person", &["person_id", "employee", "user"], true),
            col("date", &["day", "work_date"], true),
            col("initiative", &["initiative_key", "epic"], false),
            col(
                "work_item",
                &["issue", "issue_key", "work_item_key", "task"],
                false,
            ),
            col("hours", &["time", "duration"], true),
            col("description", &["comment", "notes"], false),
        ],
        one_of: &[&["initiative", "work_item"]],
        build: timesheets,
    },
    FileSpec {
        file: "finance.csv",
        stream: "finance",
        columns: &[
            col("initiative", &["initiative_key", "epic", "key"], true),
            col("period", &["month", "quarter"], true),
            col("kind", &["type", "category"], true),
            col("expense_type", &["capex_opex", "expense"], false),
            col("amount", &["value", "sum"], true),
            col("currency", &[], false),
        ],
        one_of: &[],
        build: finance,
    },
    FileSpec {
        file: "business-cases.csv",
        stream: "business-cases",
        columns: &[
            col("initiative", &["initiative_key", "epic", "key"], true),
            col("discount_rate", &["discount", "wacc"], false),
            col("horizon", &["horizon_periods", "periods"], false),
            col("hurdle_rate", &["hurdle"], false),
            col("currency", &[], false),
            col("period_length", &["period"], false),
            col("last_reviewed", &["reviewed", "review_date"], false),
        ],
        one_of: &[],
        build: business_cases,
    },
    FileSpec {
        file: "gate-decisions.csv",
        stream: "gate-decisions",
        columns: &[
            col("initiative", &["initiative_key", "epic", "key"], true),
            col("gate", &[], true),
            col("decision", &["outcome"], true),
            col("decider", &["decided_by", "forum"], false),
            col("date", &["decision_date", "decided"], false),
            col("conditions", &["notes", "comment"], false),
        ],
        one_of: &[],
        build: gate_decisions,
    },
    FileSpec {
        file: "dependencies.csv",
        stream: "dependencies",
        columns: &[
            col(
                "initiative",
                &["initiative_key", "epic", "key", "from"],
                true,
            ),
            col("depends_on", &["depends_on_key", "to", "provider"], true),
            col("kind", &["type", "link"], false),
            col("accepted", &["committed", "accepted_by_provider"], false),
        ],
        one_of: &[],
        build: dependencies,
    },
    FileSpec {
        file: "kpis.csv",
        stream: "kpis",
        columns: &[
            col("initiative", &["initiative_key", "epic", "key"], true),
            col("kpi", &["kpi_name", "measure", "metric", "indicator"], true),
            col(
                "date",
                &["period", "measured_on", "measured", "month", "quarter"],
                true,
            ),
            col("value", &["actual", "measurement", "result"], true),
            col("unit", &[], false),
            col("baseline", &[], false),
            col("target", &["goal"], false),
        ],
        one_of: &[],
        build: kpis,
    },
];

/// The spec of a stream.
pub fn by_stream(stream: &str) -> Option<&'static FileSpec> {
    FILES.iter().find(|f| f.stream == stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_mean_one_thing() {
        let fraction = rate(false);
        for raw in ["8 %", "8%", "0.08", "0,08", " 8,0 % "] {
            assert!((fraction(raw).unwrap() - 0.08).abs() < 1e-12, "{raw}");
        }
        // A bare number of 1 or more could be a fraction or a percent: refused, saying how.
        for raw in ["1", "1.5", "8", "12"] {
            let e = fraction(raw).unwrap_err();
            assert!(e.contains("ambiguous") && e.contains("8 %"), "{raw}: {e}");
        }
        // A file that writes percents without the sign says so in the settings.
        assert!((rate(true)("8").unwrap() - 0.08).abs() < 1e-12);
        assert!((rate(true)("1.5").unwrap() - 0.015).abs() < 1e-12);
        // Outside −50 % .. 100 % a year: refused, whatever the notation.
        for raw in ["-100 %", "150 %", "-0.6"] {
            assert!(fraction(raw).unwrap_err().contains("outside"), "{raw}");
        }
        assert!(amount("1e16").unwrap_err().contains("beyond"));
        assert_eq!(amount("-12 000").unwrap(), -12000.0);
    }
}
