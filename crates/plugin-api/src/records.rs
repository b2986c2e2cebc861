//! Records with only what a plugin has: `new` takes the fields every record of the kind needs,
//! everything else starts empty (`None`, no list items), and struct update syntax sets the rest:
//!
//! ```
//! use tollgate_plugin_api::{Initiative, record};
//! let epic = Initiative {
//!     value_stream: Some("Retail banking".into()),
//!     ..Initiative::new("BIZ-7", "Pricing engine", "In Progress")
//! };
//! let r = record("10007", epic).with_url("https://jira.example/browse/BIZ-7");
//! assert_eq!(r.url.as_deref(), Some("https://jira.example/browse/BIZ-7"));
//! ```

use crate::{
    Allocation, BusinessCase, CostRate, Dependency, Diagnostic, DmoRecord, Entity, FinanceEntry,
    GateDecision, Initiative, Kpi, KpiMeasurement, Person, Severity, Sprint, Team, TimeEntry,
    WorkItem,
};

impl Initiative {
    /// An initiative with its key, title and status (as the source names it).
    pub fn new(
        key: impl Into<String>,
        title: impl Into<String>,
        status: impl Into<String>,
    ) -> Self {
        Initiative {
            key: key.into(),
            title: title.into(),
            status: status.into(),
            status_category: None,
            demand_type: None,
            development_type: None,
            value_stream: None,
            portfolio: None,
            business_owner: None,
            strategic_theme: None,
            current_gate: None,
            cost_of_delay: None,
            user_business_value: None,
            time_criticality: None,
            risk_reduction: None,
            job_size: None,
            planned_start: None,
            planned_end: None,
            next_gate_due: None,
            created: None,
            labels: Vec::new(),
            risks: Vec::new(),
            kpis: Vec::new(),
        }
    }
}

impl WorkItem {
    /// A work item with its key, kind (`story`, `task`, `bug`, ...), title and status.
    pub fn new(
        key: impl Into<String>,
        kind: impl Into<String>,
        title: impl Into<String>,
        status: impl Into<String>,
    ) -> Self {
        WorkItem {
            key: key.into(),
            kind: kind.into(),
            title: title.into(),
            status: status.into(),
            status_category: None,
            initiative_key: None,
            parent_key: None,
            assignee: None,
            sprint_ids: Vec::new(),
            estimate: None,
            created: None,
            started: None,
            resolved: None,
        }
    }
}

impl Sprint {
    /// A sprint with its id, name and state (`future`, `active`, `closed`).
    pub fn new(id: impl Into<String>, name: impl Into<String>, state: impl Into<String>) -> Self {
        Sprint {
            id: id.into(),
            name: name.into(),
            state: state.into(),
            team: None,
            start: None,
            end: None,
            completed: None,
            goal: None,
        }
    }
}

impl TimeEntry {
    /// Time logged by `person` on `date` (`YYYY-MM-DD`).
    pub fn new(person: impl Into<String>, date: impl Into<String>, seconds: u64) -> Self {
        TimeEntry {
            person: person.into(),
            work_item_key: None,
            initiative_key: None,
            date: date.into(),
            started: None,
            seconds,
            description: None,
        }
    }
}

impl Person {
    /// A person with an id and a name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Person {
            id: id.into(),
            name: name.into(),
            email: None,
            team: None,
            role: None,
            resource_owner: None,
            fte: None,
            hours_per_day: None,
            start_date: None,
            end_date: None,
        }
    }
}

impl Team {
    /// A team with an id and a name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Team {
            id: id.into(),
            name: name.into(),
            value_stream: None,
            manager: None,
        }
    }
}

impl Allocation {
    /// `percent` of `person`'s time; set `initiative_key` or `team`.
    pub fn new(person: impl Into<String>, percent: f64) -> Self {
        Allocation {
            person: person.into(),
            initiative_key: None,
            team: None,
            percent,
            from: None,
            to: None,
        }
    }
}

impl CostRate {
    /// An hourly rate in `currency`; set `person` or `role`.
    pub fn new(hourly_rate: f64, currency: impl Into<String>) -> Self {
        CostRate {
            person: None,
            role: None,
            hourly_rate,
            currency: currency.into(),
            valid_from: None,
            valid_to: None,
        }
    }
}

impl FinanceEntry {
    /// An amount of `kind` (`budget`, `actual`, `planned-benefit`, `realised-benefit`) for an
    /// initiative and a period (`YYYY-MM` or `YYYY-Qn`).
    pub fn new(
        initiative_key: impl Into<String>,
        period: impl Into<String>,
        kind: impl Into<String>,
        amount: f64,
        currency: impl Into<String>,
    ) -> Self {
        FinanceEntry {
            initiative_key: initiative_key.into(),
            period: period.into(),
            kind: kind.into(),
            expense_type: None,
            amount,
            currency: currency.into(),
        }
    }
}

impl BusinessCase {
    /// An initiative's business case, with nothing in it yet.
    pub fn new(initiative_key: impl Into<String>) -> Self {
        BusinessCase {
            initiative_key: initiative_key.into(),
            currency: None,
            discount_rate: None,
            hurdle_rate: None,
            horizon: None,
            period_length: None,
            cash_flows: Vec::new(),
            last_reviewed: None,
        }
    }
}

impl GateDecision {
    /// A decision (`go`, `conditional-go`, `hold`, `recycle`, `stop`) at a gate (`G0`..`G5`).
    pub fn new(
        initiative_key: impl Into<String>,
        gate: impl Into<String>,
        decision: impl Into<String>,
    ) -> Self {
        GateDecision {
            initiative_key: initiative_key.into(),
            gate: gate.into(),
            decision: decision.into(),
            decider: None,
            date: None,
            conditions: None,
        }
    }
}

impl Dependency {
    /// `from_key` depends on `to_key`, of kind `blocks`.
    pub fn new(from_key: impl Into<String>, to_key: impl Into<String>) -> Self {
        Dependency {
            from_key: from_key.into(),
            to_key: to_key.into(),
            kind: "blocks".to_string(),
            accepted: None,
        }
    }
}

impl Kpi {
    /// A value KPI with its name and no measurements yet.
    pub fn new(name: impl Into<String>) -> Self {
        Kpi {
            name: name.into(),
            unit: None,
            baseline: None,
            target: None,
            measurements: Vec::new(),
        }
    }
}

impl KpiMeasurement {
    /// A measurement of an initiative's KPI on a day (`YYYY-MM-DD`) or for a period.
    pub fn new(
        initiative_key: impl Into<String>,
        kpi: impl Into<String>,
        date: impl Into<String>,
        value: f64,
    ) -> Self {
        KpiMeasurement {
            initiative_key: initiative_key.into(),
            kpi: kpi.into(),
            date: date.into(),
            value,
            unit: None,
            baseline: None,
            target: None,
        }
    }
}

macro_rules! into_entity {
    ($($kind:ident),*) => {
        $(impl From<$kind> for Entity {
            fn from(value: $kind) -> Entity {
                Entity::$kind(value)
            }
        })*
    };
}
into_entity!(
    Initiative,
    WorkItem,
    Sprint,
    TimeEntry,
    Person,
    Team,
    Allocation,
    CostRate,
    FinanceEntry,
    BusinessCase,
    GateDecision,
    Dependency,
    KpiMeasurement
);

impl DmoRecord {
    /// The link a person opens to see the record in its source.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
    /// When the source last changed the record (RFC 3339).
    pub fn with_source_updated(mut self, timestamp: impl Into<String>) -> Self {
        self.source_updated = Some(timestamp.into());
        self
    }
    /// What did not map onto the typed fields (a JSON object).
    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = extra.to_string();
        self
    }
}

/// Something the plugin noticed about the data, located: `people.csv:12:3`, an issue key, a
/// request path. The host shows it as `LOCATION: MESSAGE` with its code and turns it into a
/// data-quality finding.
pub fn diagnostic(
    severity: Severity,
    code: &str,
    location: impl Into<String>,
    message: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        severity,
        code: code.to_string(),
        message: message.into(),
        location: Some(location.into()),
    }
}
