//! The rule engine: a rule pack (TOML) names the rules, their severities, where they apply and
//! their thresholds; the rules read a [`Portfolio`] and emit [`Finding`]s.
//!
//! Rules are plain functions in [`catalogue`]. Thresholds live in the pack, never in the code:
//! a rule reads them with [`RuleConfig::param`]. The default pack is `config/rules.toml`;
//! docs/rules.md is written from the same pack by `tollgate rules --format md`.

pub mod catalogue;
mod dem;
mod dq;
mod fin;
mod gate;
mod items;
mod logged;
mod por;
pub mod portfolio;
mod res;

pub use portfolio::Portfolio;

use crate::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// A problem with a rule pack.
#[derive(Debug, Error, PartialEq)]
pub enum PackError {
    /// Not valid TOML, or not the expected shape.
    #[error("rule pack: {0}")]
    Parse(String),
    /// A rule id this Tollgate does not implement.
    #[error("rule pack: rule `{id}` is not implemented by this Tollgate (known: {known})")]
    UnknownRule {
        /// The id.
        id: String,
        /// The ids that exist.
        known: String,
    },
    /// A rule appears twice.
    #[error("rule pack: rule `{0}` appears twice")]
    Duplicate(String),
    /// A threshold is missing or of the wrong type.
    #[error("rule pack: rule `{id}`: parameter `{param}` {problem}")]
    Param {
        /// Rule id.
        id: String,
        /// Parameter.
        param: String,
        /// What is wrong.
        problem: String,
    },
}

/// Which initiatives a rule looks at; empty lists mean all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// Demand types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub demand_types: Vec<String>,
    /// Development types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub development_types: Vec<String>,
    /// The gate the initiative has passed (`current_gate`), e.g. `["G1", "G2"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<String>,
}

/// One rule of a pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Id from the catalogue, e.g. `RES-001`.
    pub id: String,
    /// A short title.
    pub title: String,
    /// What the rule checks and why, in plain words (shown in docs and comments).
    pub description: String,
    /// What to do about a finding: where the data lives and who usually acts (shown in the
    /// tracker's comment and the docs).
    #[serde(default)]
    pub fix: Option<String>,
    /// Severity of its findings (a rule may raise it, e.g. to blocker, by a threshold).
    pub severity: Severity,
    /// Off switch.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Where it applies.
    #[serde(default)]
    pub applies_to: AppliesTo,
    /// Thresholds.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

fn yes() -> bool {
    true
}

/// A rule pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePack {
    /// Name, shown in reports.
    pub name: String,
    /// The rules.
    #[serde(rename = "rule")]
    pub rules: Vec<RuleConfig>,
}

impl RulePack {
    /// Parse and check a pack: every id implemented, none twice, every parameter a rule
    /// needs present with the right type.
    pub fn from_toml(text: &str) -> Result<RulePack, PackError> {
        let pack: RulePack = toml::from_str(text).map_err(|e| PackError::Parse(e.to_string()))?;
        let mut seen = std::collections::BTreeSet::new();
        for rule in &pack.rules {
            if !seen.insert(rule.id.clone()) {
                return Err(PackError::Duplicate(rule.id.clone()));
            }
            let Some(entry) = catalogue::find(&rule.id) else {
                return Err(PackError::UnknownRule {
                    id: rule.id.clone(),
                    known: catalogue::catalogue()
                        .map(|e| e.id)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            for param in entry.params {
                rule.param(param)?;
            }
        }
        Ok(pack)
    }

    /// The pack as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a rule pack serialises")
    }
}

impl RuleConfig {
    /// A numeric threshold.
    pub fn param(&self, name: &str) -> Result<f64, PackError> {
        match self.params.get(name) {
            Some(toml::Value::Float(f)) => Ok(*f),
            Some(toml::Value::Integer(i)) => Ok(*i as f64),
            Some(other) => Err(PackError::Param {
                id: self.id.clone(),
                param: name.to_string(),
                problem: format!("must be a number, not `{other}`"),
            }),
            None => Err(PackError::Param {
                id: self.id.clone(),
                param: name.to_string(),
                problem: "is missing".to_string(),
            }),
        }
    }

    /// A threshold known to be present (checked when the pack was loaded).
    pub fn p(&self, name: &str) -> f64 {
        self.param(name)
            .expect("parameters are checked when the pack is loaded")
    }
}

/// What kind of thing a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    /// An initiative (an epic): its findings are published on it.
    Initiative,
    /// A person.
    Person,
    /// A team.
    Team,
    /// A value stream.
    ValueStream,
    /// The portfolio as a whole (or a part of it, like a demand type).
    Portfolio,
    /// A record of a source (a CSV row, a field of an issue).
    Record,
}

impl SubjectKind {
    /// The name as written in files, fingerprints and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Initiative => "initiative",
            SubjectKind::Person => "person",
            SubjectKind::Team => "team",
            SubjectKind::ValueStream => "value-stream",
            SubjectKind::Portfolio => "portfolio",
            SubjectKind::Record => "record",
        }
    }
}

impl std::str::FromStr for SubjectKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            SubjectKind::Initiative,
            SubjectKind::Person,
            SubjectKind::Team,
            SubjectKind::ValueStream,
            SubjectKind::Portfolio,
            SubjectKind::Record,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("`{s}` is not a kind of subject"))
    }
}

impl std::fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    /// Initiative, person, team, value stream, portfolio or record.
    pub kind: SubjectKind,
    /// Its key.
    pub key: String,
    /// Where an initiative came from: its connection, so a finding can be published back
    /// there without looking the key up again. Not part of the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// Its id in that connection (the issue id of an epic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// A finding of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable while the finding persists: rule, subject and what it is about, hashed.
    pub fingerprint: String,
    /// Rule id.
    pub rule_id: String,
    /// Severity.
    pub severity: Severity,
    /// What it is about.
    pub subject: Subject,
    /// The rule's title.
    pub title: String,
    /// What is wrong, with the numbers.
    pub message: String,
    /// The values that triggered it.
    pub evidence: Evidence,
}

/// The values that triggered a finding, kept as the JSON text they are written as.
///
/// Evidence is stored, published and shown whole and seldom looked into, so a finding holds
/// its text (one allocation the size of the JSON) rather than a tree of values: a map of one
/// number took about 650 bytes as a `serde_json::Value`, which made the findings a third of
/// `check`'s and `report`'s memory on a large store. [`Evidence::value`] parses it when a
/// value is needed.
///
/// It serialises as the value it holds (so pretty-printed output stays pretty) and
/// deserialises from any value.
#[derive(Clone)]
pub struct Evidence(Box<serde_json::value::RawValue>);

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Evidence, D::Error> {
        serde_json::Value::deserialize(deserializer).map(|v| Evidence::new(&v))
    }
}

impl Evidence {
    /// The evidence `value`, as compact JSON text.
    pub fn new(value: &serde_json::Value) -> Evidence {
        // Serialising a `Value` cannot fail: its map keys are strings.
        Evidence(serde_json::value::to_raw_value(value).expect("a JSON value always serialises"))
    }

    /// Evidence from JSON text (as stored); an error if the text is not JSON.
    pub fn from_json(text: String) -> Result<Evidence, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(Evidence)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The evidence as a JSON value.
    pub fn value(&self) -> serde_json::Value {
        // The text was JSON when the evidence was made (`new`, `from_json`, deserialising);
        // only a value nested deeper than the parser's limit (128) can fail to read back, and
        // then it is shown as its text rather than lost.
        serde_json::from_str(self.0.get())
            .unwrap_or_else(|_| serde_json::Value::String(self.0.get().to_owned()))
    }
}

impl From<serde_json::Value> for Evidence {
    fn from(value: serde_json::Value) -> Evidence {
        Evidence::new(&value)
    }
}

impl Default for Evidence {
    fn default() -> Evidence {
        Evidence::new(&serde_json::Value::Object(Default::default()))
    }
}

/// Equal when they hold the same values, whatever the spacing or key order of the text.
impl PartialEq for Evidence {
    fn eq(&self, other: &Evidence) -> bool {
        self.as_str() == other.as_str() || self.value() == other.value()
    }
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// 64-bit FNV-1a, hex: stable across runs, platforms and versions.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0x1f)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// What the rules need besides the data.
#[derive(Debug, Clone)]
pub struct Context {
    /// Today (`YYYY-MM-DD`), for ages and due dates.
    pub today: String,
}

/// Evaluate every enabled rule of `pack`; findings sorted by severity (worst first), rule and
/// subject.
///
/// The rules read the portfolio and nothing else, so they run side by side, one thread per
/// core, each taking the next rule not yet taken; the slowest (the delivery forecasts, then
/// the passes over every time entry) are taken first so that none of them starts last. The findings are the same whatever the
/// order: they are sorted on a total order at the end.
pub fn evaluate(pack: &RulePack, portfolio: &Portfolio, ctx: &Context) -> Vec<Finding> {
    let mut out = evaluate_by_rule(pack, portfolio, ctx, |rules| {
        rules.flatten().collect::<Vec<Finding>>()
    });
    // The fingerprint tells any two findings apart: the order is the same as a stable sort's.
    out.sort_unstable_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.subject.cmp(&b.subject))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    out
}

/// Evaluate the pack, handing `consume` the findings in parts as the rules find them: up to
/// [`catalogue::PART`] findings of one rule at a time, a rule's parts in the order found,
/// different rules' interleaved (an initiative's connection and external id filled in as
/// [`evaluate`] does). The rules run side by side on the machine's cores while `consume` runs
/// on the calling thread: a consumer that writes the findings away (`tollgate check` into the
/// store) holds only the parts not yet written, instead of all the findings, or a rule's
/// thousands, beside the portfolio. If a rule panics, the panic is raised in `consume`'s pull
/// before the iterator could end: a consumer never takes the findings of some rules (or some
/// of a rule's) for those of all.
pub fn evaluate_by_rule<C>(
    pack: &RulePack,
    portfolio: &Portfolio,
    ctx: &Context,
    consume: impl FnOnce(&mut (dyn Iterator<Item = Vec<Finding>> + Send)) -> C,
) -> C {
    let mut rules: Vec<(&RuleConfig, &catalogue::Entry)> = pack
        .rules
        .iter()
        .filter(|r| r.enabled)
        .map(|r| {
            (
                r,
                catalogue::find(&r.id).expect("pack ids are checked at load"),
            )
        })
        .collect();
    rules.sort_by_key(|(_, entry)| std::cmp::Reverse(entry.cost));
    let one_rule = |(rule, entry): &(&RuleConfig, &catalogue::Entry),
                    send: &mut dyn FnMut(Vec<Finding>)| {
        let mut part = |mut findings: Vec<Finding>| {
            for f in &mut findings {
                if f.subject.kind == SubjectKind::Initiative
                    && let Some(source) = portfolio.sources.get(&f.subject.key)
                {
                    f.subject.connection = Some(source.connection.clone());
                    f.subject.external_id = Some(source.external_id.clone());
                }
            }
            send(findings);
        };
        let mut emit = catalogue::Emitter::new(rule, &mut part);
        (entry.check)(rule, portfolio, ctx, &mut emit);
        emit.finish();
    };
    crate::parallel::stream_parts(&rules, one_rule, consume)
}

/// The default pack, as shipped in `config/rules.toml`.
pub const DEFAULT_PACK: &str = include_str!("../../../../config/rules.toml");

/// Record builders shared by the rule tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::model::{Entity, Provenance, Record};
    use crate::rules::Portfolio;

    /// An in-progress initiative with only its key (and its key as title) set.
    pub fn bare_initiative(key: &str) -> crate::model::Initiative {
        crate::model::Initiative {
            key: key.into(),
            title: key.into(),
            status: "In Progress".into(),
            status_category: Some("in-progress".into()),
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
            labels: vec![],
            risks: vec![],
            kpis: vec![],
        }
    }

    /// A story under `initiative`, to do, with only its key (and its key as title) set.
    pub fn bare_work_item(key: &str, initiative: &str) -> crate::model::WorkItem {
        crate::model::WorkItem {
            key: key.into(),
            kind: "Story".into(),
            title: key.into(),
            status: "To Do".into(),
            status_category: Some("todo".into()),
            initiative_key: Some(initiative.into()),
            parent_key: None,
            assignee: None,
            sprint_ids: vec![],
            estimate: None,
            created: None,
            started: None,
            resolved: None,
        }
    }

    /// A portfolio of these entities, as records of connection `t` numbered from 0.
    pub fn portfolio_of(entities: Vec<Entity>) -> Portfolio {
        Portfolio::new(
            entities
                .into_iter()
                .enumerate()
                .map(|(n, e)| record_with_id(n.to_string(), e)),
            Vec::new(),
        )
    }

    /// A record of connection `t` with the given external id.
    pub fn record_with_id(external_id: String, entity: Entity) -> Record {
        Record {
            provenance: Provenance {
                connection: "t".into(),
                external_id,
                url: None,
                source_updated: None,
                fetched_at: "2026-11-27T00:00:00Z".into(),
            },
            entity,
            extra: serde_json::json!({}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_reads_and_prints_as_the_values_it_was_given() {
        let given = serde_json::json!({"hours": 56.5, "missing": ["cost of delay"], "gate": "G2"});
        let evidence = Evidence::new(&given);
        assert_eq!(evidence.value(), given);
        assert_eq!(
            evidence.as_str(),
            r#"{"gate":"G2","hours":56.5,"missing":["cost of delay"]}"#
        );
        // Pretty output is as pretty as the value's; a round trip keeps it.
        assert_eq!(
            serde_json::to_string_pretty(&evidence).unwrap(),
            serde_json::to_string_pretty(&given).unwrap()
        );
        let back: Evidence =
            serde_json::from_str(&serde_json::to_string_pretty(&evidence).unwrap()).unwrap();
        assert_eq!(back.as_str(), evidence.as_str());
        // Stored text with other spacing or key order is the same evidence; other values are not.
        let stored = Evidence::from_json(
            r#"{ "missing": [ "cost of delay" ], "hours": 56.5, "gate": "G2" }"#.into(),
        )
        .unwrap();
        assert_eq!(stored, evidence);
        assert_ne!(Evidence::new(&serde_json::json!({"hours": 56})), evidence);
        assert!(Evidence::from_json("{\"hours\": ".into()).is_err());
        // Nested deeper than the parser reads back: kept and shown as text, no panic.
        let mut deep = serde_json::json!(1);
        for _ in 0..200 {
            deep = serde_json::json!([deep]);
        }
        let deep = Evidence::new(&deep);
        assert_eq!(
            deep.value(),
            serde_json::Value::String(deep.as_str().to_owned())
        );
    }

    #[test]
    fn findings_about_an_initiative_know_where_it_came_from() {
        use crate::model::*;
        let epic = test_support::bare_initiative("BIZ-7");
        let record =
            test_support::record_with_id("10007".into(), Entity::Initiative(Box::new(epic)));
        let mut elsewhere = record.clone();
        elsewhere.provenance.connection = "other".into();
        elsewhere.provenance.external_id = "999".into();
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        let ctx = Context {
            today: "2026-11-27".into(),
        };
        let findings = evaluate(&pack, &Portfolio::new([record], vec![]), &ctx);
        let about: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.subject.kind == SubjectKind::Initiative)
            .collect();
        assert!(!about.is_empty(), "an empty epic has findings");
        for f in &about {
            assert_eq!(f.subject.connection.as_deref(), Some("t"));
            assert_eq!(f.subject.external_id.as_deref(), Some("10007"));
        }
        // Where it came from is not part of the fingerprint: the same epic from another
        // connection gives the same fingerprints.
        let there = evaluate(&pack, &Portfolio::new([elsewhere], vec![]), &ctx);
        let prints = |fs: &[Finding]| fs.iter().map(|f| f.fingerprint.clone()).collect::<Vec<_>>();
        assert_eq!(prints(&findings), prints(&there));
        assert_eq!(there[0].subject.connection.as_deref(), Some("other"));
    }

    #[test]
    fn a_rules_many_findings_are_handed_over_in_parts_and_none_is_lost() {
        use crate::model::*;
        // Every initiative without a business case draws findings (GATE-003 among others):
        // more than three parts' worth of one rule.
        let count = 3 * catalogue::PART + 17;
        let p = test_support::portfolio_of(
            (0..count)
                .map(|n| {
                    Entity::Initiative(Box::new(test_support::bare_initiative(&format!("BIZ-{n}"))))
                })
                .collect(),
        );
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        let ctx = Context {
            today: "2026-11-27".into(),
        };
        let parts = evaluate_by_rule(&pack, &p, &ctx, |parts| parts.collect::<Vec<_>>());
        assert!(
            parts
                .iter()
                .all(|part| !part.is_empty() && part.len() <= catalogue::PART)
        );
        let mut per_rule = std::collections::BTreeMap::<&str, usize>::new();
        for f in parts.iter().flatten() {
            *per_rule.entry(f.rule_id.as_str()).or_default() += 1;
        }
        let busiest = per_rule.values().max().copied().unwrap_or(0);
        assert!(busiest >= count, "{per_rule:?}");
        // Handed over in parts, the findings are those found whole, each once.
        let mut handed: Vec<Finding> = parts.into_iter().flatten().collect();
        handed.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        let mut whole = evaluate(&pack, &p, &ctx);
        whole.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        assert_eq!(handed.len(), whole.len());
        assert!(
            handed
                .iter()
                .zip(&whole)
                .all(|(a, b)| a.fingerprint == b.fingerprint
                    && a.message == b.message
                    && a.subject == b.subject)
        );
        let mut prints: Vec<&str> = handed.iter().map(|f| f.fingerprint.as_str()).collect();
        prints.dedup();
        assert_eq!(prints.len(), handed.len(), "a finding handed over twice");
    }

    #[test]
    fn the_default_pack_loads_and_round_trips() {
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        assert!(pack.rules.len() >= 15);
        let again = RulePack::from_toml(&pack.to_toml()).unwrap();
        assert_eq!(again, pack);
    }

    #[test]
    fn packs_are_checked() {
        let unknown = "name = \"x\"\n[[rule]]\nid = \"XYZ-1\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"info\"\n";
        assert!(matches!(
            RulePack::from_toml(unknown),
            Err(PackError::UnknownRule { .. })
        ));
        let missing = "name = \"x\"\n[[rule]]\nid = \"RES-004\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"warning\"\n";
        let e = RulePack::from_toml(missing).unwrap_err();
        assert!(
            e.to_string().contains("parameter `min_size` is missing"),
            "{e}"
        );
        let rule = "[[rule]]\nid = \"RES-004\"\ntitle = \"t\"\ndescription = \"d\"\nseverity = \"warning\"\nparams = { min_size = 5, max_size = 7 }\n";
        assert!(RulePack::from_toml(&format!("name = \"x\"\n{rule}")).is_ok());
        let twice = format!("name = \"x\"\n{rule}{rule}");
        assert_eq!(
            RulePack::from_toml(&twice),
            Err(PackError::Duplicate("RES-004".to_string()))
        );
    }

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(
            fingerprint(&["RES-004", "team", "data"]),
            fingerprint(&["RES-004", "team", "data"])
        );
        assert_ne!(
            fingerprint(&["RES-004", "team", "data"]),
            fingerprint(&["RES-004", "teamdata"])
        );
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_pack_round_trips(severity in 0usize..4, enabled: bool, min in 1i64..10, extra in 0.0f64..100.0) {
                let severities = ["info", "warning", "error", "blocker"];
                let text = format!(
                    "name = \"p\"\n[[rule]]\nid = \"RES-004\"\ntitle = \"Team size\"\ndescription = \"d\"\nseverity = \"{}\"\nenabled = {enabled}\napplies_to = {{ gates = [\"G1\"] }}\nparams = {{ min_size = {min}, max_size = {}, slack = {extra} }}\n",
                    severities[severity], min + 2
                );
                let pack = RulePack::from_toml(&text).unwrap();
                prop_assert_eq!(RulePack::from_toml(&pack.to_toml()).unwrap(), pack);
            }
        }
    }
}
