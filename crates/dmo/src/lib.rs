//! The DMO model, rule engine and finance maths: plain Rust over plain data, no IO, no async.
//!
//! - [`model`]: the normalised records every source is mapped onto.
//! - [`rules`]: the rule engine, the rule packs and the catalogue.
//! - [`finance`]: NPV, IRR, payback, ROI and the prioritisation scores.
//! - [`prioritisation`]: ranking, demand against the capacity line, decision proposals,
//!   dependency checks.
//! - [`calendar`]: dates, day numbers and timestamps.

#![warn(missing_docs)]

pub mod calendar;
pub mod capitalisation;
pub mod cases;
pub mod delivery;
pub mod finance;
pub mod forecast;
pub mod model;
pub mod parallel;
pub mod prioritisation;
pub mod rules;

/// The hash map of the rules' indexes and sums, some of which see every one of a million
/// time entries: a fast hash (foldhash), seeded at random per process so that keys cannot be
/// chosen in advance to collide. The standard library's SipHash was a third of the time the
/// portfolio's index took.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use serde::{Deserialize, Serialize};

/// How serious a finding is: `info < warning < error < blocker`. A blocker means a gate
/// decision of Go contradicts the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Should be fixed before the next gate.
    Warning,
    /// Must be fixed before the next gate.
    Error,
    /// Contradicts a decision already taken.
    Blocker,
}

impl Severity {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Blocker => "blocker",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            "blocker" => Ok(Severity::Blocker),
            other => Err(format!(
                "unknown severity `{other}`; expected info, warning, error or blocker"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Info < Severity::Warning && Severity::Error < Severity::Blocker);
        assert_eq!("Blocker".parse::<Severity>(), Ok(Severity::Blocker));
        assert!(
            "fatal"
                .parse::<Severity>()
                .unwrap_err()
                .contains("expected")
        );
    }
}
