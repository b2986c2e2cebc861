//! The rules. Each is a plain function over the [`Portfolio`]; its thresholds come from the
//! pack. Rule texts are our own words (the BT Standard is licensed text).

pub use super::dem::is_stopped;
pub use super::fin::period_start;
use super::{Context, Finding, Portfolio, RuleConfig, Subject, SubjectKind, fingerprint};
use crate::Severity;
use crate::model::Initiative;

/// A rule implementation.
pub struct Entry {
    /// Id.
    pub id: &'static str,
    /// Parameters it reads.
    pub params: &'static [&'static str],
    /// The check.
    pub check: fn(&RuleConfig, &Portfolio, &Context, &mut Emitter),
    /// How long it takes against the others over a large portfolio (`cargo bench -p
    /// tollgate-dmo --bench checks` with `TOLLGATE_BENCH_RULES=1`): the costly ones start
    /// first when the rules run side by side.
    pub cost: Cost,
}

/// A rule's cost, roughly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Cost {
    /// A pass over the initiatives or the records of one kind.
    #[default]
    Pass,
    /// A tenth of a second or more over a million time entries: a pass that looks each entry
    /// up in a map by person or initiative.
    Heavy,
    /// The delivery forecasts' simulation: the slowest by far.
    Simulation,
}

/// Findings a rule hands over at a time ([`Emitter`]): ~150 KB of them. GATE-003 finds
/// something on each of 10,000 initiatives, and its findings held whole until the rule was
/// done were 6 MB of `check`'s peak memory at that size.
pub(crate) const PART: usize = 256;

/// Collects a rule's findings and hands them over in parts of [`PART`] as they come.
pub struct Emitter<'a> {
    rule: &'a RuleConfig,
    /// What was found and not yet handed over.
    findings: Vec<Finding>,
    /// Where the findings go.
    parts: &'a mut dyn FnMut(Vec<Finding>),
}

impl<'a> Emitter<'a> {
    /// An emitter for `rule` that hands its findings to `parts`; [`Emitter::finish`] hands
    /// over the last of them.
    pub fn new(rule: &'a RuleConfig, parts: &'a mut dyn FnMut(Vec<Finding>)) -> Self {
        Emitter {
            rule,
            findings: Vec::new(),
            parts,
        }
    }

    /// Hand over the findings not yet handed over.
    pub fn finish(mut self) {
        self.hand_over();
    }

    fn hand_over(&mut self) {
        if !self.findings.is_empty() {
            (self.parts)(std::mem::take(&mut self.findings));
        }
    }

    /// Emit a finding; `severity` `None` takes the pack's. `about` tells findings of one
    /// rule on one subject apart (a gate, a period) and enters the fingerprint.
    pub(crate) fn emit(
        &mut self,
        severity: Option<Severity>,
        (kind, key): (SubjectKind, &str),
        about: &str,
        message: String,
        evidence: serde_json::Value,
    ) {
        self.findings.push(Finding {
            fingerprint: fingerprint(&[&self.rule.id, kind.as_str(), key, about]),
            rule_id: self.rule.id.clone(),
            severity: severity.unwrap_or(self.rule.severity),
            subject: Subject {
                kind,
                key: key.to_string(),
                connection: None,
                external_id: None,
            },
            title: self.rule.title.clone(),
            message,
            evidence: super::Evidence::new(&evidence),
        });
        if self.findings.len() >= PART {
            self.hand_over();
        }
    }
}

/// Whether the rule's `applies_to` admits the initiative.
pub(crate) fn applies(rule: &RuleConfig, i: &Initiative) -> bool {
    let a = &rule.applies_to;
    let within = |list: &[String], value: &Option<String>| {
        list.is_empty() || value.as_ref().is_some_and(|v| list.contains(v))
    };
    within(&a.demand_types, &i.demand_type)
        && within(&a.development_types, &i.development_type)
        && within(&a.gates, &i.current_gate)
}

pub(crate) fn initiatives<'p>(
    rule: &'p RuleConfig,
    p: &'p Portfolio,
) -> impl Iterator<Item = &'p Initiative> {
    p.initiatives
        .values()
        .map(|(i, _)| &**i)
        .filter(move |i| applies(rule, i))
}

pub(crate) fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A count with its noun, singular for one: `count(1.0, "day")` is "1 day", `count(3.0,
/// "risk")` "3 risks".
pub(crate) fn count(n: f64, noun: &str) -> String {
    if n == 1.0 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Every rule this Tollgate implements, family by family.
pub fn catalogue() -> impl Iterator<Item = &'static Entry> {
    [
        super::dem::ENTRIES,
        super::gate::ENTRIES,
        super::res::ENTRIES,
        super::fin::ENTRIES,
        super::por::ENTRIES,
        super::dq::ENTRIES,
    ]
    .into_iter()
    .flatten()
}

/// The implementation of a rule id.
pub fn find(id: &str) -> Option<&'static Entry> {
    catalogue().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::super::{Context, DEFAULT_PACK, RulePack, evaluate};
    use super::*;
    use crate::model::*;

    fn record(entity: Entity) -> Record {
        crate::rules::test_support::record_with_id("x".into(), entity)
    }

    fn person(id: &str, team: &str) -> Record {
        record(Entity::Person(Person {
            id: id.into(),
            name: id.into(),
            email: None,
            team: Some(team.into()),
            role: None,
            resource_owner: None,
            fte: Some(1.0),
            hours_per_day: None,
            start_date: None,
            end_date: None,
        }))
    }

    fn allocation(person: &str, key: &str, percent: f64) -> Record {
        record(Entity::Allocation(Allocation {
            person: person.into(),
            initiative_key: Some(key.into()),
            team: None,
            percent,
            from: Some("2026-01-01".into()),
            to: Some("2026-06-30".into()),
        }))
    }

    fn team(id: &str) -> Record {
        record(Entity::Team(Team {
            id: id.into(),
            name: id.into(),
            value_stream: None,
            manager: None,
        }))
    }

    fn run(records: Vec<Record>) -> Vec<Finding> {
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        evaluate(
            &pack,
            &Portfolio::new(records, vec![]),
            &Context {
                today: "2026-11-27".into(),
            },
        )
    }

    fn ids(findings: &[Finding], rule: &str) -> Vec<String> {
        findings
            .iter()
            .filter(|f| f.rule_id == rule)
            .map(|f| f.subject.key.clone())
            .collect()
    }

    #[test]
    fn over_allocation_and_thin_slices() {
        let findings = run(vec![
            allocation("p1", "A", 60.0),
            allocation("p1", "B", 30.0),
            allocation("p1", "C", 20.0),
            allocation("p2", "A", 100.0),
        ]);
        assert_eq!(ids(&findings, "RES-001"), ["p1"]);
        let over = findings.iter().find(|f| f.rule_id == "RES-001").unwrap();
        assert_eq!(over.evidence.value()["total_percent"], 110.0);
        assert_eq!(over.severity, Severity::Error);
        assert_eq!(ids(&findings, "RES-005"), ["p1"], "only the 20 % slice");
        assert_eq!(
            ids(&findings, "RES-006"),
            ["p1"],
            "three initiatives at once"
        );
    }

    #[test]
    fn team_sizes_outside_five_to_seven() {
        let mut records = Vec::new();
        for (team_id, size) in [("four", 4), ("five", 5), ("seven", 7), ("eight", 8)] {
            records.push(team(team_id));
            for n in 0..size {
                records.push(person(&format!("{team_id}-{n}"), team_id));
            }
        }
        let findings = run(records);
        assert_eq!(ids(&findings, "RES-004"), ["eight", "four"]);
    }

    #[test]
    fn fingerprints_persist_and_thresholds_come_from_the_pack() {
        let a = run(vec![
            allocation("p1", "A", 60.0),
            allocation("p1", "B", 50.0),
        ]);
        let b = run(vec![
            allocation("p1", "A", 70.0),
            allocation("p1", "B", 50.0),
        ]);
        let fa = a.iter().find(|f| f.rule_id == "RES-001").unwrap();
        let fb = b.iter().find(|f| f.rule_id == "RES-001").unwrap();
        assert_eq!(fa.fingerprint, fb.fingerprint, "same finding, new numbers");
        assert_ne!(fa.message, fb.message);
        let lenient = DEFAULT_PACK.replace(
            "params = { max_percent = 100 }",
            "params = { max_percent = 120 }",
        );
        let pack = RulePack::from_toml(&lenient).unwrap();
        let findings = evaluate(
            &pack,
            &Portfolio::new(
                vec![allocation("p1", "A", 60.0), allocation("p1", "B", 50.0)],
                vec![],
            ),
            &Context {
                today: "2026-11-27".into(),
            },
        );
        assert!(ids(&findings, "RES-001").is_empty());
    }
}

#[cfg(test)]
mod finance_rules {
    use super::super::{Context, DEFAULT_PACK, RulePack, evaluate};
    use crate::model::*;

    fn record(entity: Entity) -> Record {
        crate::rules::test_support::record_with_id("case".into(), entity)
    }

    /// The default pack's findings on `records`, as of 2026-11-27.
    fn default_pack_on(records: Vec<Record>) -> Vec<crate::rules::Finding> {
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        evaluate(
            &pack,
            &super::Portfolio::new(records, vec![]),
            &Context {
                today: "2026-11-27".into(),
            },
        )
    }

    /// TV1 of dmo-domain.md as a business case table: NPV −21.04 at 10 %, IRR 8.90 %,
    /// simple payback 2.6 years, never paid back discounted.
    #[test]
    fn tv1_as_a_business_case_trips_all_three_finance_rules() {
        let flows = [
            (-1000.0, "2026"),
            (300.0, "2027"),
            (400.0, "2028"),
            (500.0, "2029"),
        ];
        let case = BusinessCase {
            initiative_key: "BIZ-1".into(),
            currency: Some("EUR".into()),
            discount_rate: Some(0.10),
            hurdle_rate: None,
            horizon: Some(4),
            period_length: Some("year".into()),
            cash_flows: flows
                .iter()
                .map(|(v, p)| CashFlow {
                    period: p.to_string(),
                    cost: if *v < 0.0 { -v } else { 0.0 },
                    benefit: if *v > 0.0 { *v } else { 0.0 },
                })
                .collect(),
            last_reviewed: None,
        };
        let findings = default_pack_on(vec![record(Entity::BusinessCase(case))]);
        let by = |id: &str| findings.iter().find(|f| f.rule_id == id).unwrap();
        assert!(
            (by("FIN-002").evidence.value()["npv"].as_f64().unwrap() + 21.036_814).abs() < 1e-6
        );
        assert!(
            (by("FIN-003").evidence.value()["irr"].as_f64().unwrap() - 0.088_963_394_693).abs()
                < 1e-9
        );
        assert_eq!(
            by("FIN-004").evidence.value()["simple_payback_months"]
                .as_f64()
                .unwrap()
                .round(),
            31.0
        );
        assert!(by("FIN-004").evidence.value()["discounted_payback_months"].is_null());
        assert_eq!(
            by("FIN-002").evidence.value()["rate_convention"],
            "yearly periods at 10.0 % a year"
        );
    }

    /// A case that cannot be computed says so once (FIN-002), and no rule shows a number
    /// that is not one.
    #[test]
    fn a_case_that_cannot_be_computed_is_a_finding_not_a_number() {
        let case = BusinessCase {
            initiative_key: "BIZ-1".into(),
            currency: Some("EUR".into()),
            discount_rate: Some(-1.0),
            hurdle_rate: None,
            horizon: None,
            period_length: Some("month".into()),
            cash_flows: vec![CashFlow {
                period: "2026-01".into(),
                cost: 100.0,
                benefit: 0.0,
            }],
            last_reviewed: None,
        };
        let findings = default_pack_on(vec![record(Entity::BusinessCase(case))]);
        let fin: Vec<&crate::rules::Finding> = findings
            .iter()
            .filter(|f| f.rule_id.starts_with("FIN"))
            .collect();
        assert_eq!(fin.len(), 1, "{fin:?}");
        assert_eq!(fin[0].rule_id, "FIN-002");
        assert!(
            fin[0].message.contains("cannot be computed"),
            "{}",
            fin[0].message
        );
        for f in &findings {
            let text = format!("{} {}", f.message, f.evidence);
            assert!(
                !text.contains("NaN") && !text.contains("inf") && !text.contains("null,"),
                "{text}"
            );
        }
    }
}

#[cfg(test)]
mod more_rules {
    use super::super::{Context, DEFAULT_PACK, Finding, RulePack, evaluate};
    use super::Portfolio;
    use crate::model::*;

    fn record(n: usize, entity: Entity) -> Record {
        crate::rules::test_support::record_with_id(format!("r{n}"), entity)
    }

    fn initiative(key: &str) -> Initiative {
        Initiative {
            demand_type: Some("ideas-and-concepts".into()),
            development_type: Some("sequential".into()),
            value_stream: Some("retail".into()),
            business_owner: Some("o".into()),
            strategic_theme: Some("growth".into()),
            current_gate: Some("G1".into()),
            cost_of_delay: Some(1.0),
            created: Some("2026-01-01".into()),
            risks: vec![Risk {
                title: "r".into(),
                probability: None,
                impact: None,
                owner: Some("o".into()),
                mitigation: Some("m".into()),
            }],
            ..crate::rules::test_support::bare_initiative(key)
        }
    }

    /// The default pack's findings over these entities, as of 2026-11-27.
    fn findings_of(entities: Vec<Entity>) -> Vec<Finding> {
        let records = entities
            .into_iter()
            .enumerate()
            .map(|(n, e)| record(n, e))
            .collect::<Vec<_>>();
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        evaluate(
            &pack,
            &Portfolio::new(records, vec![]),
            &Context {
                today: "2026-11-27".into(),
            },
        )
    }

    fn keys(entities: Vec<Entity>, rule: &str) -> Vec<String> {
        findings_of(entities)
            .iter()
            .filter(|f| f.rule_id == rule)
            .map(|f| format!("{} {}", f.severity.as_str(), f.subject.key))
            .collect()
    }

    fn init(i: Initiative) -> Entity {
        Entity::Initiative(Box::new(i))
    }

    fn gate(key: &str, gate: &str, decision: &str, date: &str) -> Entity {
        Entity::GateDecision(GateDecision {
            initiative_key: key.into(),
            gate: gate.into(),
            decision: decision.into(),
            decider: (decision != ENTERED).then(|| "steering".into()),
            date: Some(date.into()),
            conditions: None,
        })
    }

    fn hours_on(key: &str, date: &str, hours: u64) -> Entity {
        Entity::TimeEntry(TimeEntry {
            person: "p".into(),
            work_item_key: None,
            initiative_key: Some(key.into()),
            date: date.into(),
            started: None,
            seconds: hours * 3600,
            description: None,
        })
    }

    #[test]
    fn counts_read_well() {
        assert_eq!(super::count(1.0, "risk"), "1 risk");
        assert_eq!(super::count(0.0, "risk"), "0 risks");
        assert_eq!(super::count(14.0, "day"), "14 days");
    }

    #[test]
    fn gates_entered_in_the_tracker_need_their_decision_and_date_the_gate() {
        let mut entities: Vec<Entity> = ["A", "B", "C", "D"]
            .iter()
            .map(|k| {
                let mut i = initiative(k);
                i.current_gate = Some("G2".into());
                init(i)
            })
            .collect();
        entities.extend([
            // A: entered G1 and G2 on the days they were decided. Clean.
            gate("A", "G1", "go", "2026-02-01"),
            gate("A", "G1", ENTERED, "2026-02-01"),
            gate("A", "G2", "go", "2026-04-01"),
            gate("A", "G2", ENTERED, "2026-04-02"),
            // B: moved to G2 two weeks before steering decided it.
            gate("B", "G2", "go", "2026-04-15"),
            gate("B", "G2", ENTERED, "2026-04-01"),
            // C: entered G2 with no G2 decision anywhere; G0 is intake, never asked for.
            gate("C", "G0", ENTERED, "2026-01-05"),
            gate("C", "G2", ENTERED, "2026-05-01"),
            gate("C", "G2", ENTERED, "2026-06-01"),
            // D: no history, no decisions.
            hours_on("C", "2026-04-20", 10),
            hours_on("C", "2026-05-20", 10),
            hours_on("D", "2026-05-20", 10),
        ]);
        assert_eq!(keys(entities.clone(), "GATE-004"), ["error B", "error C"]);
        // C's gate is dated by its history: only the 10 hours before 1 May are before it.
        // D has no date for its gate at all: all its time is before it.
        assert_eq!(keys(entities.clone(), "GATE-001"), ["error C", "error D"]);
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        let p = Portfolio::new(
            entities
                .into_iter()
                .enumerate()
                .map(|(n, e)| record(n, e))
                .collect::<Vec<_>>(),
            vec![],
        );
        let findings = evaluate(
            &pack,
            &p,
            &Context {
                today: "2026-11-27".into(),
            },
        );
        let message = |rule: &str, key: &str| {
            findings
                .iter()
                .find(|f| f.rule_id == rule && f.subject.key == key)
                .unwrap()
                .message
                .clone()
        };
        assert_eq!(
            message("GATE-004", "B"),
            "B entered G2 in its tracker on 2026-04-01, 14 days before the G2 decision on record."
        );
        assert_eq!(
            message("GATE-004", "C"),
            "C entered G2 in its tracker on 2026-05-01, and no G2 decision is on record."
        );
        assert_eq!(
            message("GATE-001", "C"),
            "10 hours were logged on C before it entered G2 in its tracker: delivery started before the gate."
        );
        // Entries are not decisions: they never show as the decision log's rows.
        assert_eq!(p.decisions("C").count(), 0);
        assert_eq!(p.gate_entries("C").count(), 3);
    }

    #[test]
    fn dependencies_on_stopped_or_unaccepted_work() {
        let mut late = initiative("A");
        late.current_gate = Some("G2".into());
        let entities = vec![
            init(late),
            init(initiative("B")),
            init(initiative("C")),
            Entity::GateDecision(GateDecision {
                initiative_key: "C".into(),
                gate: "G1".into(),
                decision: "stop".into(),
                decider: Some("s".into()),
                date: Some("2026-05-01".into()),
                conditions: None,
            }),
            Entity::Dependency(Dependency {
                from_key: "A".into(),
                to_key: "B".into(),
                kind: "depends-on".into(),
                accepted: None,
            }),
            Entity::Dependency(Dependency {
                from_key: "B".into(),
                to_key: "C".into(),
                kind: "depends-on".into(),
                accepted: Some(true),
            }),
            Entity::Dependency(Dependency {
                from_key: "C".into(),
                to_key: "A".into(),
                kind: "depends-on".into(),
                accepted: Some(true),
            }),
        ];
        assert_eq!(keys(entities.clone(), "DEM-006"), ["error A", "warning B"]);
        // The same dependency from a tracker's link (not accepted there) and the register
        // (accepted): one dependency, accepted.
        let mut twice = entities.clone();
        twice.push(Entity::Dependency(Dependency {
            from_key: "A".into(),
            to_key: "B".into(),
            kind: "blocks".into(),
            accepted: Some(false),
        }));
        assert_eq!(keys(twice, "DEM-006"), ["error A", "warning B"]);
        let mut accepted = entities;
        accepted.push(Entity::Dependency(Dependency {
            from_key: "A".into(),
            to_key: "B".into(),
            kind: "blocks".into(),
            accepted: Some(true),
        }));
        assert_eq!(keys(accepted, "DEM-006"), ["warning B"]);
    }

    #[test]
    fn wsjf_inversions_ageing_and_the_continual_track() {
        let mut entities = Vec::new();
        let mut started = initiative("LOW");
        (
            started.user_business_value,
            started.time_criticality,
            started.risk_reduction,
            started.job_size,
        ) = (Some(1.0), Some(1.0), Some(1.0), Some(8.0));
        entities.push(init(started));
        for n in 0..4 {
            let mut ready = initiative(&format!("HIGH-{n}"));
            ready.status_category = Some("todo".into());
            (
                ready.user_business_value,
                ready.time_criticality,
                ready.risk_reduction,
                ready.job_size,
            ) = (Some(8.0), Some(8.0), Some(8.0), Some(2.0));
            entities.push(init(ready));
        }
        let mut old = initiative("OLD");
        (old.current_gate, old.status_category, old.created) =
            (None, Some("todo".into()), Some("2026-06-01".into()));
        entities.push(init(old));
        let mut big = initiative("BIG");
        (big.development_type, big.planned_start, big.planned_end) = (
            Some("continual".into()),
            Some("2026-01-01".into()),
            Some("2026-12-31".into()),
        );
        entities.push(init(big));
        assert_eq!(keys(entities.clone(), "DEM-008"), ["warning LOW"]);
        assert_eq!(keys(entities.clone(), "DEM-009"), ["warning OLD"]);
        assert_eq!(keys(entities, "DEM-010"), ["warning BIG"]);
    }

    #[test]
    fn a_wsjf_inversion_names_the_ready_items_ranked_above_in_portfolio_order() {
        // (key, status, user business value = time criticality = risk reduction, job size)
        let items = [
            ("LOW", "in-progress", Some(1.0), 8.0), // WSJF 0.375
            ("MID", "in-progress", Some(7.0), 3.0), // 7
            ("R-1", "todo", Some(4.0), 2.0),        // 6
            ("R-2", "todo", Some(1.0), 3.0),        // 1
            ("R-3", "todo", Some(1.0), 8.0),        // 0.375: level with LOW, not above it
            ("R-4", "todo", Some(8.0), 2.0),        // 12
            ("R-5", "todo", Some(8.0), 2.0),        // 12
            ("R-6", "todo", None, 2.0),             // no WSJF
        ];
        let entities: Vec<Entity> = items
            .iter()
            .map(|(key, status, value, size)| {
                let mut i = initiative(key);
                i.status_category = Some(status.to_string());
                (
                    i.user_business_value,
                    i.time_criticality,
                    i.risk_reduction,
                    i.job_size,
                ) = (*value, *value, *value, Some(*size));
                init(i)
            })
            .collect();
        let findings = findings_of(entities);
        let messages: Vec<(&str, &str)> = findings
            .iter()
            .filter(|f| f.rule_id == "DEM-008")
            .map(|f| (f.subject.key.as_str(), f.message.as_str()))
            .collect();
        // LOW: four above it (more than the 3 allowed), named as the portfolio lists them;
        // MID: two above it, within the limit.
        assert_eq!(
            messages,
            [(
                "LOW",
                "LOW was started with a WSJF of 0.38 while 4 higher-ranked ready items wait (R-1, R-2, R-4, R-5)."
            )]
        );
    }

    fn allocation(person: &str, key: &str, percent: f64) -> Entity {
        Entity::Allocation(Allocation {
            person: person.into(),
            initiative_key: Some(key.into()),
            team: None,
            percent,
            from: Some("2026-10-01".into()),
            to: Some("2026-10-31".into()),
        })
    }

    fn hours(person: &str, key: &str, date: &str, h: u64) -> Entity {
        Entity::TimeEntry(TimeEntry {
            person: person.into(),
            work_item_key: None,
            initiative_key: Some(key.into()),
            date: date.into(),
            started: None,
            seconds: h * 3600,
            description: None,
        })
    }

    #[test]
    fn availability_plan_against_actuals_unapproved_work_and_coverage() {
        let mut entities = vec![allocation("busy", "A", 95.0), allocation("ok", "A", 80.0)];
        // "ok" is planned 80 % of 21 days × 7.5 h = 126 h in October and logs 40 h.
        for d in 1..=5 {
            entities.push(hours("ok", "A", &format!("2026-10-0{d}"), 8));
        }
        // "busy" logs every weekday of two weeks on an unapproved initiative.
        for d in [5, 6, 7, 8, 9, 12, 13, 14, 15, 16] {
            entities.push(hours("busy", "X", &format!("2026-10-{d:02}"), 8));
        }
        // "patchy" logs 3 of 10 weekdays.
        for d in [5, 9, 16] {
            entities.push(hours("patchy", "A", &format!("2026-10-{d:02}"), 8));
        }
        entities.push(Entity::GateDecision(GateDecision {
            initiative_key: "A".into(),
            gate: "G1".into(),
            decision: "go".into(),
            decider: Some("s".into()),
            date: Some("2026-01-10".into()),
            conditions: None,
        }));
        assert_eq!(keys(entities.clone(), "RES-002"), ["warning busy"]);
        assert_eq!(keys(entities.clone(), "RES-007"), ["info busy", "info ok"]);
        assert_eq!(keys(entities.clone(), "RES-008"), ["warning all"]);
        assert_eq!(keys(entities, "DQ-002"), ["warning patchy"]);
    }

    #[test]
    fn time_totals_count_each_entry_once_by_person_month_day_and_initiative() {
        let logged = |person: &str, work_item: Option<&str>, key: Option<&str>, date, h: u64| {
            Entity::TimeEntry(TimeEntry {
                person: person.into(),
                work_item_key: work_item.map(str::to_string),
                initiative_key: key.map(str::to_string),
                date: String::from(date),
                started: None,
                seconds: h * 3600,
                description: None,
            })
        };
        let allocated = |person: &str, percent, to: &str| {
            Entity::Allocation(Allocation {
                person: person.into(),
                initiative_key: Some("A".into()),
                team: None,
                percent,
                from: Some("2026-10-01".into()),
                to: Some(to.into()),
            })
        };
        let entities = vec![
            init(initiative("A")),
            // B: at G0, and no decision.
            init(Initiative {
                current_gate: Some("G0".into()),
                ..initiative("B")
            }),
            gate("A", "G1", "go", "2026-01-10"),
            allocated("amy", 50.0, "2026-11-30"),
            allocated("zed", 10.0, "2026-10-31"),
            // amy, October: 20 h over four days, one of them logged twice; on A (approved),
            // B (not), X (no such initiative) and a work item no source knows.
            logged("amy", None, Some("A"), "2026-10-01", 8),
            logged("amy", None, Some("B"), "2026-10-01", 2),
            logged("amy", None, Some("A"), "2026-10-02", 4),
            logged("amy", None, Some("X"), "2026-10-05", 5),
            logged("amy", Some("W-9"), None, "2026-10-06", 1),
            // November: 2 h.
            logged("amy", None, Some("A"), "2026-11-03", 2),
            // Dates that are not: no month or day, but hours all the same.
            logged("amy", None, Some("A"), "2026-1x-07", 5),
            logged("amy", None, Some("A"), "not a date", 1),
            // zed: 16 h in October on two days, 10 % of 21 days of 7.5 h planned (15.75 h).
            logged("zed", None, Some("A"), "2026-10-01", 8),
            logged("zed", None, Some("A"), "2026-10-02", 8),
        ];
        let findings = findings_of(entities);
        let of = |rule: &str| -> Vec<(String, String, String)> {
            findings
                .iter()
                .filter(|f| f.rule_id == rule)
                .map(|f| {
                    (
                        f.subject.key.clone(),
                        f.message.clone(),
                        f.evidence.as_str().to_string(),
                    )
                })
                .collect()
        };
        // Planned: 50 % of 21 days of 7.5 h, 78.75 h a month.
        let res_007: Vec<String> = of("RES-007").into_iter().map(|(_, m, _)| m).collect();
        assert_eq!(
            res_007,
            [
                "amy logged 20 h in 2026-10 against 78.8 h planned (-75 %).",
                "amy logged 2 h in 2026-11 against 78.8 h planned (-97 %).",
            ]
        );
        // Days logged once each, whatever the entries on them; 24 weekdays from 1 October to
        // 3 November.
        assert_eq!(
            of("DQ-002"),
            [(
                "amy".to_string(),
                "amy logged time on 5 of 24 working days (21 %).".to_string(),
                r#"{"logged_days":5.0,"working_days":24.0}"#.to_string()
            )]
        );
        // 44 h in all; 6 h under no known initiative (X and the unknown work item).
        assert_eq!(
            of("DQ-003"),
            [(
                "all".to_string(),
                "14 % of logged hours (6) are not under any known initiative.".to_string(),
                r#"{"orphan_hours":6.0,"total_hours":44.0}"#.to_string()
            )]
        );
        // Unapproved: B, X and the time under no initiative.
        assert_eq!(
            of("RES-008"),
            [(
                "all".to_string(),
                "18 % of logged hours (8) went to work no portfolio decision approved.".to_string(),
                r#"{"total_hours":44.0,"unplanned_hours":{"(none)":1.0,"B":2.0,"X":5.0}}"#
                    .to_string()
            )]
        );
    }

    #[test]
    fn benefits_after_go_live_and_value_from_the_first_increment() {
        let finance = |kind: &str, amount: f64| {
            Entity::FinanceEntry(FinanceEntry {
                initiative_key: "LIVE".into(),
                period: "2026-Q3".into(),
                kind: kind.into(),
                expense_type: None,
                amount,
                currency: "EUR".into(),
            })
        };
        let mut inc = initiative("INC");
        (inc.development_type, inc.current_gate) = (Some("incremental".into()), Some("G2".into()));
        let entities = vec![
            finance("planned-benefit", 100.0),
            finance("realised-benefit", 40.0),
            Entity::GateDecision(GateDecision {
                initiative_key: "LIVE".into(),
                gate: "G3".into(),
                decision: "go".into(),
                decider: Some("s".into()),
                date: Some("2026-06-01".into()),
                conditions: None,
            }),
            init(inc),
        ];
        assert_eq!(keys(entities.clone(), "FIN-006"), ["error LIVE"]);
        assert_eq!(keys(entities.clone(), "FIN-007"), ["error INC"]);
        // Benefit planned for periods still to come is not expected to be realised yet:
        // 80 of the 100 due so far is within the warning ratio, whatever 2099 holds.
        let mut ahead = entities;
        ahead.retain(|e| !matches!(e, Entity::FinanceEntry(_)));
        for (period, kind, amount) in [
            ("2026-Q3", "planned-benefit", 100.0),
            ("2099-Q1", "planned-benefit", 1000.0),
            ("2026-Q3", "realised-benefit", 80.0),
        ] {
            ahead.push(Entity::FinanceEntry(FinanceEntry {
                initiative_key: "LIVE".into(),
                period: period.into(),
                kind: kind.into(),
                expense_type: None,
                amount,
                currency: "EUR".into(),
            }));
        }
        assert!(keys(ahead, "FIN-006").is_empty());
    }

    #[test]
    fn portfolio_mix_wip_steering_and_quarterly_inputs() {
        let mut entities = Vec::new();
        for n in 0..6 {
            entities.push(init(initiative(&format!("R{n}"))));
            entities.push(Entity::FinanceEntry(FinanceEntry {
                initiative_key: format!("R{n}"),
                period: "2026-Q1".into(),
                kind: "budget".into(),
                expense_type: None,
                amount: 10.0,
                currency: "EUR".into(),
            }));
        }
        let found = keys(entities.clone(), "POR-001");
        assert_eq!(
            found,
            [
                "info capability-planning",
                "info ideas-and-concepts",
                "info increments-and-improvements"
            ]
        );
        assert_eq!(keys(entities.clone(), "POR-002"), ["warning retail"]);
        assert_eq!(keys(entities.clone(), "POR-003").len(), 6);
        assert_eq!(keys(entities, "POR-004"), ["warning retail"]);
    }

    #[test]
    fn gate_checklist_lists_what_is_missing() {
        let mut bare = initiative("BARE");
        (
            bare.strategic_theme,
            bare.cost_of_delay,
            bare.development_type,
        ) = (None, None, None);
        let mut done = initiative("DONE");
        done.kpis.push(Kpi {
            name: "k".into(),
            unit: None,
            baseline: Some(1.0),
            target: Some(2.0),
            measurements: vec![],
        });
        let mut early = initiative("EARLY");
        early.current_gate = Some("G0".into());
        let case = |key: &str| {
            Entity::BusinessCase(BusinessCase {
                initiative_key: key.into(),
                currency: Some("EUR".into()),
                discount_rate: Some(0.08),
                hurdle_rate: None,
                horizon: Some(5),
                period_length: None,
                cash_flows: vec![],
                last_reviewed: None,
            })
        };
        let entities = vec![init(bare), init(done), init(early), case("DONE")];
        assert_eq!(keys(entities.clone(), "GATE-003"), ["error BARE"]);
        let records = entities
            .into_iter()
            .enumerate()
            .map(|(n, e)| record(n, e))
            .collect::<Vec<_>>();
        let pack = RulePack::from_toml(DEFAULT_PACK).unwrap();
        let f = evaluate(
            &pack,
            &Portfolio::new(records, vec![]),
            &Context {
                today: "2026-11-27".into(),
            },
        )
        .into_iter()
        .find(|f| f.rule_id == "GATE-003")
        .unwrap();
        assert_eq!(
            f.evidence.value()["missing"],
            serde_json::json!([
                "strategy link",
                "quantified benefit",
                "business case (TCO)",
                "cost of delay or WSJF",
                "development type"
            ])
        );
    }

    #[test]
    fn schedule_slip_and_business_case_drift() {
        let mut late = initiative("LATE");
        (late.planned_start, late.planned_end) =
            (Some("2026-01-01".into()), Some("2026-07-01".into()));
        let mut fine = initiative("FINE");
        (fine.planned_start, fine.planned_end) =
            (Some("2026-01-01".into()), Some("2026-11-01".into()));
        assert_eq!(
            keys(vec![init(late), init(fine)], "GATE-008"),
            ["warning LATE"]
        );

        let entry = |key: &str, year: &str, kind: &str, amount: f64| {
            Entity::FinanceEntry(FinanceEntry {
                initiative_key: key.into(),
                period: format!("{year}-Q1"),
                kind: kind.into(),
                expense_type: None,
                amount,
                currency: "EUR".into(),
            })
        };
        let case = |key: &str| {
            Entity::BusinessCase(BusinessCase {
                initiative_key: key.into(),
                currency: Some("EUR".into()),
                discount_rate: Some(0.10),
                hurdle_rate: None,
                horizon: Some(3),
                period_length: None,
                cash_flows: vec![],
                last_reviewed: None,
            })
        };
        let mut entities = vec![case("FLIP"), case("DROP"), case("SAME")];
        for key in ["FLIP", "DROP", "SAME"] {
            entities.push(entry(key, "2026", "budget", 100.0));
            entities.push(entry(key, "2027", "planned-benefit", 70.0));
            entities.push(entry(key, "2028", "planned-benefit", 70.0));
        }
        // FLIP cost 150 instead of 100: NPV turns negative. DROP realised 50 of 70 in 2027:
        // ROI falls from 40 % to 20 %. SAME has only its plan.
        entities.push(entry("FLIP", "2026", "actual", 150.0));
        entities.push(entry("DROP", "2026", "actual", 100.0));
        entities.push(entry("DROP", "2027", "realised-benefit", 50.0));
        assert_eq!(keys(entities, "FIN-008"), ["error FLIP", "warning DROP"]);
    }

    #[test]
    fn total_cost_of_ownership() {
        let mut cp = initiative("CP");
        cp.demand_type = Some("capability-planning".into());
        let entities = vec![
            init(cp),
            Entity::BusinessCase(BusinessCase {
                initiative_key: "CP".into(),
                currency: Some("EUR".into()),
                discount_rate: Some(0.08),
                hurdle_rate: None,
                horizon: Some(2),
                period_length: Some("year".into()),
                cash_flows: vec![],
                last_reviewed: None,
            }),
        ];
        assert_eq!(keys(entities, "DEM-004"), ["error CP"]);
    }
}
