//! `[reports]`: where reports go and how the demand is ranked.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The steering pack and the quarterly review (docs/reports.md): where they are written,
/// how the demand is ranked.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    /// Folder `publish` (and a job's `report` step) writes the reports to; none: no files.
    pub folder: Option<PathBuf>,
    /// Which reports go there (default: the steering pack).
    #[serde(default = "default_report_kinds")]
    pub kinds: Vec<ReportKind>,
    /// The common prioritisation: `wsjf` (default) or `cd3` (monetary cost of delay per month
    /// divided by the months left).
    #[serde(default)]
    #[schemars(with = "String")]
    pub scoring: Scoring,
    /// The capacity line in full-time equivalents; default: the people known to the store
    /// (their FTE, or 1) at the reserve line.
    pub capacity_fte: Option<f64>,
    /// What a daemon job does after its sync step failed (a connection's data old or
    /// partial): `skip` (default) files no report and publishes nothing; `file` goes on, and
    /// each report opens with a banner naming the stale connections.
    #[serde(default)]
    pub when_stale: WhenStale,
    /// A text file with the DMO officer's note for the steering pack, shown on its first page
    /// (plain text; blank lines separate paragraphs). Relative to the config file.
    pub officer_note: Option<PathBuf>,
    /// The date of one steering meeting (YYYY-MM-DD, past or future); meetings repeat every
    /// `steering_interval_days` from it. Packs then name the real next meeting, and "since
    /// the last pack" compares with the last pack filed for the previous meeting, however
    /// often packs are filed in between. Default: none; the next steering is
    /// `steering_interval_days` after the report's date, the previous one as long before.
    pub steering_date: Option<String>,
    /// Days between two steering meetings (default 14: fortnightly).
    #[serde(default = "default_steering_interval")]
    pub steering_interval_days: u32,
    /// How the capitalisation report splits effort into capitalisable and expensed.
    #[serde(default)]
    pub capitalisation: CapitalisationConfig,
}

/// The capitalisation policy (docs/reports.md, "Capitalisation"): which logged effort is
/// capitalisable (development between the delivery gate's go and go-live) and which expensed.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CapitalisationConfig {
    /// The gate whose go (or conditional go) starts capitalisation (default `G2`, start of
    /// delivery).
    pub from_gate: String,
    /// The gate whose go ends it: go-live (default `G3`).
    pub until_gate: String,
    /// Demand types whose effort is always expensed (default: `ideas-and-concepts`).
    pub expensed_demand_types: Vec<String>,
    /// For continual-track work (no go-live), the demand types whose effort is capitalisable
    /// (default: `capability-planning`, `increments-and-improvements`); the rest is expensed.
    pub continual_capitalisable_demand_types: Vec<String>,
}

impl Default for CapitalisationConfig {
    fn default() -> Self {
        let p = tollgate_dmo::capitalisation::Policy::default();
        CapitalisationConfig {
            from_gate: p.from_gate,
            until_gate: p.until_gate,
            expensed_demand_types: p.expensed_demand_types,
            continual_capitalisable_demand_types: p.continual_capitalisable_demand_types,
        }
    }
}

impl CapitalisationConfig {
    /// The policy the maths takes.
    pub fn policy(&self) -> tollgate_dmo::capitalisation::Policy {
        tollgate_dmo::capitalisation::Policy {
            from_gate: self.from_gate.clone(),
            until_gate: self.until_gate.clone(),
            expensed_demand_types: self.expensed_demand_types.clone(),
            continual_capitalisable_demand_types: self.continual_capitalisable_demand_types.clone(),
        }
    }
}

/// What a job does with its publish and report steps after its sync failed.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum WhenStale {
    /// File nothing, publish nothing.
    #[default]
    Skip,
    /// Go on; the reports open with a banner.
    File,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            folder: None,
            kinds: default_report_kinds(),
            scoring: Scoring::default(),
            capacity_fte: None,
            when_stale: WhenStale::default(),
            officer_note: None,
            steering_date: None,
            steering_interval_days: default_steering_interval(),
            capitalisation: CapitalisationConfig::default(),
        }
    }
}

fn default_steering_interval() -> u32 {
    14
}

impl ReportsConfig {
    /// The steering meetings around `today` (a day number): the next one (today counts) and
    /// the one before it.
    pub fn steering_around(&self, today: i64) -> SteeringDays {
        let every = i64::from(self.steering_interval_days.max(1));
        let next = match self
            .steering_date
            .as_deref()
            .and_then(tollgate_dmo::calendar::day_number)
        {
            Some(anchor) => today + (anchor - today).rem_euclid(every),
            None => today + every,
        };
        SteeringDays {
            previous: match self.steering_date {
                Some(_) => next - every,
                None => today - every,
            },
            next,
        }
    }
}

/// The steering meetings around a day (day numbers; `tollgate_dmo::calendar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SteeringDays {
    /// The last meeting before the next one: the pack filed for it (as of it or earlier) is
    /// "the last pack".
    pub previous: i64,
    /// The next meeting, today included.
    pub next: i64,
}

fn default_report_kinds() -> Vec<ReportKind> {
    vec![ReportKind::Steering]
}

/// A kind of report.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// The fortnightly steering pack, with the decision proposals.
    Steering,
    /// The quarterly portfolio increment review.
    Quarterly,
    /// Logged effort per initiative and quarter, capitalisable or expensed.
    Capitalisation,
}

impl ReportKind {
    /// Its name in files, URLs and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Steering => "steering",
            ReportKind::Quarterly => "quarterly",
            ReportKind::Capitalisation => "capitalisation",
        }
    }
}

/// How the demand portfolio is ranked (`wsjf` or `cd3`).
pub use tollgate_dmo::prioritisation::Scoring;

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_dmo::calendar::{date_of, day_number};

    fn around(anchor: Option<&str>, today: &str) -> (String, String) {
        let settings = ReportsConfig {
            steering_date: anchor.map(String::from),
            ..ReportsConfig::default()
        };
        let d = settings.steering_around(day_number(today).unwrap());
        (date_of(d.previous), date_of(d.next))
    }

    #[test]
    fn steering_meetings_follow_the_calendar() {
        // Fortnightly from a Thursday, before and after the anchor; the day itself counts.
        let a = Some("2026-12-10");
        assert_eq!(
            around(a, "2026-12-10"),
            ("2026-11-26".into(), "2026-12-10".into())
        );
        assert_eq!(
            around(a, "2026-12-11"),
            ("2026-12-10".into(), "2026-12-24".into())
        );
        assert_eq!(
            around(a, "2026-11-27"),
            ("2026-11-26".into(), "2026-12-10".into())
        );
        assert_eq!(
            around(a, "2027-03-01"),
            ("2027-02-18".into(), "2027-03-04".into())
        );
        // No calendar: two weeks either side of the report's date.
        assert_eq!(
            around(None, "2026-11-27"),
            ("2026-11-13".into(), "2026-12-11".into())
        );
    }
}
