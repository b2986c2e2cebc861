//! The normalised DMO model: every source ends up as these records.
//!
//! Every record carries [`Provenance`]: which connection it came from, its id there, a link a
//! person can open, and when it was fetched. Vocabulary fields are strings with documented
//! values ([`DEMAND_TYPES`], [`DEVELOPMENT_TYPES`], ...); [`Record::validate`] reports values
//! outside them and malformed dates, so nothing is dropped silently.

use serde::{Deserialize, Serialize};

/// Demand types (the sources of demand).
pub const DEMAND_TYPES: &[&str] = &[
    "capability-planning",
    "ideas-and-concepts",
    "increments-and-improvements",
    "service-changes",
];
/// Development types.
pub const DEVELOPMENT_TYPES: &[&str] = &["sequential", "incremental", "continual"];
/// Status categories.
pub const STATUS_CATEGORIES: &[&str] = &["todo", "in-progress", "done"];
/// Gate decisions, and [`ENTERED`].
pub const DECISIONS: &[&str] = &["go", "conditional-go", "hold", "recycle", "stop", ENTERED];
/// Not a decision: a tracker's history says the initiative moved into the gate on that day
/// (the Jira plugin reads it from the epic's changelog). The checks hold these against the
/// decisions on record.
pub const ENTERED: &str = "entered";
/// Finance entry kinds.
pub const FINANCE_KINDS: &[&str] = &["budget", "actual", "planned-benefit", "realised-benefit"];
/// Expense types.
pub const EXPENSE_TYPES: &[&str] = &["capex", "opex"];
/// Sprint states.
pub const SPRINT_STATES: &[&str] = &["future", "active", "closed"];

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Configured connection name. (The store keeps it in a column, not in the record's
    /// document, and sets it again when the record is read.)
    #[serde(default)]
    pub connection: String,
    /// Id in the source; unique per entity kind within the connection. (Kept by the store
    /// as the connection is.)
    #[serde(default)]
    pub external_id: String,
    /// A link a person can open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the source last changed it (RFC 3339), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_updated: Option<String>,
    /// When Tollgate fetched it (RFC 3339, UTC).
    pub fetched_at: String,
}

/// A risk of an initiative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    /// What could happen.
    pub title: String,
    /// Probability, 0..1.
    pub probability: Option<f64>,
    /// Impact, in the organisation's scale.
    pub impact: Option<f64>,
    /// Who owns it.
    pub owner: Option<String>,
    /// What is done about it.
    pub mitigation: Option<String>,
}

/// A value KPI with its measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    /// Name.
    pub name: String,
    /// Unit.
    pub unit: Option<String>,
    /// Value before the change.
    pub baseline: Option<f64>,
    /// Value aimed at.
    pub target: Option<f64>,
    /// (date, value) measurements.
    pub measurements: Vec<(String, f64)>,
}

/// An end-to-end flow of work, usually an epic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Initiative {
    pub key: String,
    pub title: String,
    pub status: String,
    pub status_category: Option<String>,
    pub demand_type: Option<String>,
    pub development_type: Option<String>,
    pub value_stream: Option<String>,
    pub portfolio: Option<String>,
    pub business_owner: Option<String>,
    pub strategic_theme: Option<String>,
    pub current_gate: Option<String>,
    pub cost_of_delay: Option<f64>,
    pub user_business_value: Option<f64>,
    pub time_criticality: Option<f64>,
    pub risk_reduction: Option<f64>,
    pub job_size: Option<f64>,
    pub planned_start: Option<String>,
    pub planned_end: Option<String>,
    pub next_gate_due: Option<String>,
    pub created: Option<String>,
    pub labels: Vec<String>,
    pub risks: Vec<Risk>,
    pub kpis: Vec<Kpi>,
}

/// A child of an initiative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WorkItem {
    pub key: String,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub status_category: Option<String>,
    pub initiative_key: Option<String>,
    pub parent_key: Option<String>,
    pub assignee: Option<String>,
    pub sprint_ids: Vec<String>,
    pub estimate: Option<f64>,
    pub created: Option<String>,
    pub started: Option<String>,
    pub resolved: Option<String>,
}

/// A sprint or iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Sprint {
    pub id: String,
    pub name: String,
    pub state: String,
    pub team: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub completed: Option<String>,
    pub goal: Option<String>,
}

/// Time logged by a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct TimeEntry {
    pub person: String,
    pub work_item_key: Option<String>,
    pub initiative_key: Option<String>,
    pub date: String,
    pub started: Option<String>,
    pub seconds: u64,
    pub description: Option<String>,
}

/// A person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub team: Option<String>,
    pub role: Option<String>,
    pub resource_owner: Option<String>,
    pub fte: Option<f64>,
    pub hours_per_day: Option<f64>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub value_stream: Option<String>,
    pub manager: Option<String>,
}

/// A planned share of a person's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Allocation {
    pub person: String,
    pub initiative_key: Option<String>,
    pub team: Option<String>,
    pub percent: f64,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// An hourly cost rate of a person or a role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct CostRate {
    pub person: Option<String>,
    pub role: Option<String>,
    pub hourly_rate: f64,
    pub currency: String,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
}

/// One amount for an initiative and a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct FinanceEntry {
    pub initiative_key: String,
    pub period: String,
    pub kind: String,
    pub expense_type: Option<String>,
    pub amount: f64,
    pub currency: String,
}

/// One measurement of an initiative's value KPI from a source other than the initiative (the
/// DMO's `kpis.csv`). [`crate::rules::Portfolio`] adds it to the initiative's KPI of the same
/// name, or starts that KPI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct KpiMeasurement {
    pub initiative_key: String,
    /// The KPI's name, as on the initiative (compared without case).
    pub kpi: String,
    /// `YYYY-MM-DD`, or a period (`YYYY-MM`, `YYYY-Qn`, `YYYY`) meaning its last day.
    pub date: String,
    pub value: f64,
    pub unit: Option<String>,
    pub baseline: Option<f64>,
    pub target: Option<f64>,
}

impl KpiMeasurement {
    /// The day the measurement counts for: the date itself, or the last day of its period.
    /// `None` when the date is neither.
    pub fn day(&self) -> Option<String> {
        period_end(self.date.trim())
    }
}

/// The last day of a period (`2026-07` -> `2026-07-31`, `2026-Q3` -> `2026-09-30`, `2026` ->
/// `2026-12-31`); a date stays itself. `None` for anything else.
pub fn period_end(p: &str) -> Option<String> {
    if is_date(p) {
        return Some(p.to_string());
    }
    let year: i32 = p.get(..4)?.parse().ok()?;
    let month = match p.get(4..) {
        Some("") => 12,
        Some(rest) => match rest.strip_prefix("-Q") {
            Some(q) => 3 * q.parse::<u32>().ok().filter(|q| (1..=4).contains(q))?,
            None => rest
                .strip_prefix('-')
                .filter(|m| m.len() == 2)?
                .parse::<u32>()
                .ok()
                .filter(|m| (1..=12).contains(m))?,
        },
        None => return None,
    };
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let first_of_next = crate::calendar::day_number(&format!("{next_year:04}-{next_month:02}-01"))?;
    Some(crate::calendar::date_of(first_of_next - 1))
}

/// A stored initiative or work item as a plugin may need it to link another record to it: the
/// answer of the contract's `records.lookup`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredKey {
    /// `Initiative` or `WorkItem`.
    pub kind: EntityKind,
    /// Its id in the source.
    pub external_id: String,
    /// Its key.
    pub key: String,
    /// Its initiative: an initiative's own key, a work item's initiative.
    pub initiative_key: Option<String>,
}

/// A [`StoredKey`] borrowed from where it was read: a store hands each out as it reads its
/// row, without a string of its own for each member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredKeyRef<'a> {
    /// `Initiative` or `WorkItem`.
    pub kind: EntityKind,
    /// Its id in the source.
    pub external_id: &'a str,
    /// Its key.
    pub key: &'a str,
    /// Its initiative: an initiative's own key, a work item's initiative.
    pub initiative_key: Option<&'a str>,
}

impl<'a> StoredKeyRef<'a> {
    /// The key of a record of `kind` with `external_id` and `key`, whose item names
    /// `initiative`: an initiative's own initiative is its key, whatever else is named.
    pub fn new(
        kind: EntityKind,
        external_id: &'a str,
        key: &'a str,
        initiative: Option<&'a str>,
    ) -> StoredKeyRef<'a> {
        StoredKeyRef {
            kind,
            external_id,
            key,
            initiative_key: match kind {
                EntityKind::Initiative => Some(key),
                _ => initiative,
            },
        }
    }

    /// The key owned.
    pub fn to_stored_key(&self) -> StoredKey {
        StoredKey {
            kind: self.kind,
            external_id: self.external_id.to_string(),
            key: self.key.to_string(),
            initiative_key: self.initiative_key.map(str::to_string),
        }
    }
}

impl StoredKey {
    /// Borrowed.
    pub fn as_key_ref(&self) -> StoredKeyRef<'_> {
        StoredKeyRef {
            kind: self.kind,
            external_id: &self.external_id,
            key: &self.key,
            initiative_key: self.initiative_key.as_deref(),
        }
    }

    /// What `record` makes known, if it is an initiative or a work item: the same as the
    /// store's `keys` gives once it is stored.
    pub fn of(record: &Record) -> Option<StoredKey> {
        let (kind, key, initiative) = match &record.entity {
            Entity::Initiative(i) => (EntityKind::Initiative, &i.key, None),
            Entity::WorkItem(w) => (EntityKind::WorkItem, &w.key, w.initiative_key.as_deref()),
            _ => return None,
        };
        Some(
            StoredKeyRef::new(kind, &record.provenance.external_id, key, initiative)
                .to_stored_key(),
        )
    }
}

/// One period of a business case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct CashFlow {
    pub period: String,
    pub cost: f64,
    pub benefit: f64,
}

/// A business case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BusinessCase {
    pub initiative_key: String,
    pub currency: Option<String>,
    pub discount_rate: Option<f64>,
    pub hurdle_rate: Option<f64>,
    pub horizon: Option<u32>,
    pub period_length: Option<String>,
    pub cash_flows: Vec<CashFlow>,
    pub last_reviewed: Option<String>,
}

/// A steering decision at a gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct GateDecision {
    pub initiative_key: String,
    pub gate: String,
    pub decision: String,
    pub decider: Option<String>,
    pub date: Option<String>,
    pub conditions: Option<String>,
}

/// `from_key` depends on `to_key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Dependency {
    pub from_key: String,
    pub to_key: String,
    pub kind: String,
    pub accepted: Option<bool>,
}

/// Any DMO entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Entity {
    Initiative(Box<Initiative>),
    WorkItem(WorkItem),
    Sprint(Sprint),
    TimeEntry(TimeEntry),
    Person(Person),
    Team(Team),
    Allocation(Allocation),
    CostRate(CostRate),
    FinanceEntry(FinanceEntry),
    BusinessCase(BusinessCase),
    GateDecision(GateDecision),
    Dependency(Dependency),
    KpiMeasurement(KpiMeasurement),
}

/// The kind of an entity, as stored and exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum EntityKind {
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
    KpiMeasurement,
}

impl EntityKind {
    /// Every kind, in export order.
    pub const ALL: [EntityKind; 13] = [
        EntityKind::Initiative,
        EntityKind::WorkItem,
        EntityKind::Sprint,
        EntityKind::TimeEntry,
        EntityKind::Person,
        EntityKind::Team,
        EntityKind::Allocation,
        EntityKind::CostRate,
        EntityKind::FinanceEntry,
        EntityKind::BusinessCase,
        EntityKind::GateDecision,
        EntityKind::Dependency,
        EntityKind::KpiMeasurement,
    ];

    /// The kebab-case name, as in JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Initiative => "initiative",
            EntityKind::WorkItem => "work-item",
            EntityKind::Sprint => "sprint",
            EntityKind::TimeEntry => "time-entry",
            EntityKind::Person => "person",
            EntityKind::Team => "team",
            EntityKind::Allocation => "allocation",
            EntityKind::CostRate => "cost-rate",
            EntityKind::FinanceEntry => "finance-entry",
            EntityKind::BusinessCase => "business-case",
            EntityKind::GateDecision => "gate-decision",
            EntityKind::Dependency => "dependency",
            EntityKind::KpiMeasurement => "kpi-measurement",
        }
    }

    /// Parse a kebab-case name.
    pub fn parse(name: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl Entity {
    /// How people name it: an initiative's or work item's key, a person's or team's id, a
    /// sprint's name, the initiative a finance entry, business case, decision or allocation
    /// belongs to. `None` when it has nothing to be named by.
    pub fn label(&self) -> Option<String> {
        let text = match self {
            Entity::Initiative(i) => i.key.clone(),
            Entity::WorkItem(w) => w.key.clone(),
            Entity::Sprint(s) => s.name.clone(),
            Entity::TimeEntry(t) => format!(
                "{} on {}",
                t.person,
                t.work_item_key
                    .as_deref()
                    .or(t.initiative_key.as_deref())
                    .unwrap_or(&t.date)
            ),
            Entity::Person(x) => x.id.clone(),
            Entity::Team(t) => t.id.clone(),
            Entity::Allocation(a) => format!(
                "{} to {}",
                a.person,
                a.initiative_key
                    .as_deref()
                    .or(a.team.as_deref())
                    .unwrap_or("?")
            ),
            Entity::CostRate(c) => c.person.clone().or_else(|| c.role.clone())?,
            Entity::FinanceEntry(f) => format!("{} {} {}", f.initiative_key, f.period, f.kind),
            Entity::BusinessCase(b) => b.initiative_key.clone(),
            Entity::GateDecision(g) => format!("{} {}", g.initiative_key, g.gate),
            Entity::Dependency(d) => format!("{} on {}", d.from_key, d.to_key),
            Entity::KpiMeasurement(k) => format!("{} {} {}", k.initiative_key, k.kpi, k.date),
        };
        let text = text.trim().to_string();
        (!text.is_empty()).then_some(text)
    }

    /// The entity's kind.
    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::Initiative(_) => EntityKind::Initiative,
            Entity::WorkItem(_) => EntityKind::WorkItem,
            Entity::Sprint(_) => EntityKind::Sprint,
            Entity::TimeEntry(_) => EntityKind::TimeEntry,
            Entity::Person(_) => EntityKind::Person,
            Entity::Team(_) => EntityKind::Team,
            Entity::Allocation(_) => EntityKind::Allocation,
            Entity::CostRate(_) => EntityKind::CostRate,
            Entity::FinanceEntry(_) => EntityKind::FinanceEntry,
            Entity::BusinessCase(_) => EntityKind::BusinessCase,
            Entity::GateDecision(_) => EntityKind::GateDecision,
            Entity::Dependency(_) => EntityKind::Dependency,
            Entity::KpiMeasurement(_) => EntityKind::KpiMeasurement,
        }
    }
}

/// A record: provenance, entity, and what did not map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Where it came from.
    pub provenance: Provenance,
    /// The typed data.
    pub entity: Entity,
    /// Source data that did not map onto the typed fields (a JSON object; empty when left
    /// out).
    #[serde(default = "empty_object")]
    pub extra: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// A problem with a record's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field, e.g. `demand_type`.
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    matches!((num(0..4), num(5..7), num(8..10)), (Some(_), Some(m), Some(d)) if (1..=12).contains(&m) && (1..=31).contains(&d))
}

/// `YYYY-MM-DD` optionally followed by `T...` (a timestamp).
fn is_date_or_timestamp(s: &str) -> bool {
    is_date(s.get(..10).unwrap_or("")) && (s.len() == 10 || s.as_bytes()[10] == b'T')
}

struct Checker(Vec<Problem>);

impl Checker {
    fn vocab(&mut self, field: &str, value: &Option<String>, allowed: &[&str]) {
        if let Some(v) = value {
            self.vocab_str(field, v, allowed);
        }
    }
    fn vocab_str(&mut self, field: &str, v: &str, allowed: &[&str]) {
        if !allowed.contains(&v) {
            self.0.push(Problem {
                field: field.to_string(),
                message: format!("`{v}` is not one of {}", allowed.join(", ")),
            });
        }
    }
    fn date(&mut self, field: &str, value: Option<&str>) {
        if let Some(v) = value
            && !is_date_or_timestamp(v)
        {
            self.0.push(Problem {
                field: field.to_string(),
                message: format!("`{v}` is not a date (YYYY-MM-DD) or RFC 3339 timestamp"),
            });
        }
    }
    fn range(&mut self, field: &str, value: f64, lo: f64, hi: f64) {
        if !(lo..=hi).contains(&value) || !value.is_finite() {
            self.0.push(Problem {
                field: field.to_string(),
                message: format!("{value} is outside {lo}..{hi}"),
            });
        }
    }
    fn nonempty(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.0.push(Problem {
                field: field.to_string(),
                message: "must not be empty".to_string(),
            });
        }
    }
}

impl Record {
    /// The record a store's document holds: the document may leave out its connection and
    /// external id (the store keeps them in its row), which are set from the row's.
    pub fn from_stored(
        connection: &str,
        external_id: &str,
        document: &str,
    ) -> Result<Record, serde_json::Error> {
        let mut record: Record = serde_json::from_str(document)?;
        connection.clone_into(&mut record.provenance.connection);
        external_id.clone_into(&mut record.provenance.external_id);
        Ok(record)
    }

    /// Problems with the values; an empty list means valid. Records with problems are still
    /// stored (data-quality findings report them); only the caller decides to reject.
    pub fn validate(&self) -> Vec<Problem> {
        let mut c = Checker(Vec::new());
        c.nonempty("external_id", &self.provenance.external_id);
        match &self.entity {
            Entity::Initiative(i) => {
                c.nonempty("key", &i.key);
                c.vocab("status_category", &i.status_category, STATUS_CATEGORIES);
                c.vocab("demand_type", &i.demand_type, DEMAND_TYPES);
                c.vocab("development_type", &i.development_type, DEVELOPMENT_TYPES);
                for (f, v) in [
                    ("planned_start", &i.planned_start),
                    ("planned_end", &i.planned_end),
                    ("next_gate_due", &i.next_gate_due),
                    ("created", &i.created),
                ] {
                    c.date(f, v.as_deref());
                }
            }
            Entity::WorkItem(w) => {
                c.nonempty("key", &w.key);
                c.vocab("status_category", &w.status_category, STATUS_CATEGORIES);
                for (f, v) in [
                    ("created", &w.created),
                    ("started", &w.started),
                    ("resolved", &w.resolved),
                ] {
                    c.date(f, v.as_deref());
                }
            }
            Entity::Sprint(s) => {
                c.vocab_str("state", &s.state, SPRINT_STATES);
                for (f, v) in [
                    ("start", &s.start),
                    ("end", &s.end),
                    ("completed", &s.completed),
                ] {
                    c.date(f, v.as_deref());
                }
            }
            Entity::TimeEntry(t) => {
                c.nonempty("person", &t.person);
                c.date("date", Some(&t.date));
                if t.work_item_key.is_none() && t.initiative_key.is_none() {
                    c.0.push(Problem {
                        field: "work_item_key".to_string(),
                        message: "a time entry needs a work item or an initiative".to_string(),
                    });
                }
            }
            Entity::Person(p) => {
                c.nonempty("id", &p.id);
                if let Some(fte) = p.fte {
                    c.range("fte", fte, 0.0, 1.0);
                }
                if let Some(h) = p.hours_per_day {
                    c.range("hours_per_day", h, 0.0, 24.0);
                }
                c.date("start_date", p.start_date.as_deref());
                c.date("end_date", p.end_date.as_deref());
            }
            Entity::Team(t) => c.nonempty("id", &t.id),
            Entity::Allocation(a) => {
                c.range("percent", a.percent, 0.0, 100.0);
                if a.initiative_key.is_none() && a.team.is_none() {
                    c.0.push(Problem {
                        field: "initiative_key".to_string(),
                        message: "an allocation needs an initiative or a team".to_string(),
                    });
                }
                c.date("from", a.from.as_deref());
                c.date("to", a.to.as_deref());
            }
            Entity::CostRate(r) => {
                c.range("hourly_rate", r.hourly_rate, 0.0, f64::MAX);
                c.nonempty("currency", &r.currency);
            }
            Entity::FinanceEntry(f) => {
                c.vocab_str("kind", &f.kind, FINANCE_KINDS);
                c.vocab("expense_type", &f.expense_type, EXPENSE_TYPES);
                c.nonempty("currency", &f.currency);
                let p = f.period.as_bytes();
                let ok = (p.len() == 7
                    && p[4] == b'-'
                    && f.period[5..]
                        .parse::<u8>()
                        .is_ok_and(|m| (1..=12).contains(&m)))
                    || (p.len() == 7 && &f.period[4..6] == "-Q" && matches!(p[6], b'1'..=b'4'));
                if !ok || f.period[..4].parse::<u16>().is_err() {
                    c.0.push(Problem {
                        field: "period".to_string(),
                        message: format!("`{}` is not YYYY-MM or YYYY-Qn", f.period),
                    });
                }
            }
            Entity::BusinessCase(b) => {
                if let Some(r) = b.discount_rate {
                    c.range("discount_rate", r, -0.99, 10.0);
                }
                c.date("last_reviewed", b.last_reviewed.as_deref());
            }
            Entity::GateDecision(g) => {
                c.vocab_str("decision", &g.decision, DECISIONS);
                c.date("date", g.date.as_deref());
            }
            Entity::Dependency(d) => {
                c.nonempty("from_key", &d.from_key);
                c.nonempty("to_key", &d.to_key);
            }
            Entity::KpiMeasurement(k) => {
                c.nonempty("initiative_key", &k.initiative_key);
                c.nonempty("kpi", &k.kpi);
                if k.day().is_none() {
                    c.0.push(Problem {
                        field: "date".to_string(),
                        message: format!(
                            "`{}` is not YYYY-MM-DD, YYYY-MM, YYYY-Qn or YYYY",
                            k.date
                        ),
                    });
                }
                for (field, v) in [
                    ("value", Some(k.value)),
                    ("baseline", k.baseline),
                    ("target", k.target),
                ] {
                    if let Some(v) = v.filter(|v| !v.is_finite()) {
                        c.0.push(Problem {
                            field: field.to_string(),
                            message: format!("{v} is not a number"),
                        });
                    }
                }
            }
        }
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_named_as_people_know_them() {
        let epic = crate::rules::test_support::bare_initiative("BIZ-7");
        assert_eq!(
            Entity::Initiative(Box::new(epic)).label().as_deref(),
            Some("BIZ-7")
        );
        let entry = Entity::FinanceEntry(FinanceEntry {
            initiative_key: "BIZ-7".into(),
            period: "2026-Q1".into(),
            kind: "budget".into(),
            expense_type: None,
            amount: 1.0,
            currency: "EUR".into(),
        });
        assert_eq!(entry.label().as_deref(), Some("BIZ-7 2026-Q1 budget"));
        let measurement = Entity::KpiMeasurement(KpiMeasurement {
            initiative_key: "BIZ-7".into(),
            kpi: "NPS".into(),
            date: "2026-Q3".into(),
            value: 41.0,
            unit: None,
            baseline: None,
            target: None,
        });
        assert_eq!(measurement.label().as_deref(), Some("BIZ-7 NPS 2026-Q3"));
        let rate = Entity::CostRate(CostRate {
            person: None,
            role: None,
            hourly_rate: 1.0,
            currency: "EUR".into(),
            valid_from: None,
            valid_to: None,
        });
        assert_eq!(rate.label(), None);
    }

    fn provenance() -> Provenance {
        Provenance {
            connection: "hr".into(),
            external_id: "people.csv:2".into(),
            url: None,
            source_updated: None,
            fetched_at: "2026-11-27T04:00:00Z".into(),
        }
    }

    #[test]
    fn entity_json_is_tagged_by_kind() {
        let r = Record {
            provenance: provenance(),
            entity: Entity::Team(Team {
                id: "t1".into(),
                name: "Payments".into(),
                value_stream: None,
                manager: None,
            }),
            extra: serde_json::json!({}),
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["entity"]["kind"], "team");
        assert_eq!(json["entity"]["data"]["name"], "Payments");
        let back: Record = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        assert_eq!(EntityKind::parse("cost-rate"), Some(EntityKind::CostRate));
    }

    #[test]
    fn validation_names_the_field_and_the_expectation() {
        let r = Record {
            provenance: provenance(),
            entity: Entity::Allocation(Allocation {
                person: "p1".into(),
                initiative_key: None,
                team: None,
                percent: 130.0,
                from: Some("31.12.2026".into()),
                to: Some("2027-01-31".into()),
            }),
            extra: serde_json::json!({}),
        };
        let problems = r.validate();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["percent", "initiative_key", "from"]);
        assert!(problems[2].message.contains("YYYY-MM-DD"));
    }

    #[test]
    fn finance_periods() {
        let entry = |period: &str| Record {
            provenance: provenance(),
            entity: Entity::FinanceEntry(FinanceEntry {
                initiative_key: "BIZ-1".into(),
                period: period.into(),
                kind: "budget".into(),
                expense_type: Some("capex".into()),
                amount: 10.0,
                currency: "EUR".into(),
            }),
            extra: serde_json::json!({}),
        };
        assert!(entry("2026-03").validate().is_empty());
        assert!(entry("2026-Q4").validate().is_empty());
        assert_eq!(entry("2026-13").validate().len(), 1);
        assert_eq!(entry("26-Q1").validate().len(), 1);
    }

    #[test]
    fn a_kpi_period_counts_as_its_last_day() {
        for (period, day) in [
            ("2026-07", Some("2026-07-31")),
            ("2028-02", Some("2028-02-29")),
            ("2026-Q3", Some("2026-09-30")),
            ("2026-Q4", Some("2026-12-31")),
            ("2026", Some("2026-12-31")),
            ("2026-05-14", Some("2026-05-14")),
            ("2026-13", None),
            ("2026-Q5", None),
            ("26", None),
            ("soon", None),
        ] {
            assert_eq!(period_end(period).as_deref(), day, "{period}");
        }
    }
}
