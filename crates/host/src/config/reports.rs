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
        }
    }
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
}

impl ReportKind {
    /// Its name in files, URLs and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Steering => "steering",
            ReportKind::Quarterly => "quarterly",
        }
    }
}

/// How the demand portfolio is ranked (`wsjf` or `cd3`).
pub use tollgate_dmo::prioritisation::Scoring;
