//! The one place where contract records (what plugins send) become model records.

use crate::bindings::types as wit;
use tollgate_dmo::model::{self as m, EntityKind, Provenance, Record};

impl From<wit::Capability> for crate::Capability {
    fn from(c: wit::Capability) -> Self {
        match c {
            wit::Capability::Pull => crate::Capability::Pull,
            wit::Capability::Push => crate::Capability::Push,
        }
    }
}

impl From<wit::Severity> for tollgate_dmo::Severity {
    fn from(s: wit::Severity) -> Self {
        match s {
            wit::Severity::Info => tollgate_dmo::Severity::Info,
            wit::Severity::Warning => tollgate_dmo::Severity::Warning,
            wit::Severity::Error => tollgate_dmo::Severity::Error,
            wit::Severity::Blocker => tollgate_dmo::Severity::Blocker,
        }
    }
}

impl From<tollgate_dmo::Severity> for wit::Severity {
    fn from(s: tollgate_dmo::Severity) -> Self {
        match s {
            tollgate_dmo::Severity::Info => wit::Severity::Info,
            tollgate_dmo::Severity::Warning => wit::Severity::Warning,
            tollgate_dmo::Severity::Error => wit::Severity::Error,
            tollgate_dmo::Severity::Blocker => wit::Severity::Blocker,
        }
    }
}

/// The model kind of a contract kind.
pub fn kind(k: wit::EntityKind) -> EntityKind {
    match k {
        wit::EntityKind::Initiative => EntityKind::Initiative,
        wit::EntityKind::WorkItem => EntityKind::WorkItem,
        wit::EntityKind::Sprint => EntityKind::Sprint,
        wit::EntityKind::TimeEntry => EntityKind::TimeEntry,
        wit::EntityKind::Person => EntityKind::Person,
        wit::EntityKind::Team => EntityKind::Team,
        wit::EntityKind::Allocation => EntityKind::Allocation,
        wit::EntityKind::CostRate => EntityKind::CostRate,
        wit::EntityKind::FinanceEntry => EntityKind::FinanceEntry,
        wit::EntityKind::BusinessCase => EntityKind::BusinessCase,
        wit::EntityKind::GateDecision => EntityKind::GateDecision,
        wit::EntityKind::Dependency => EntityKind::Dependency,
        wit::EntityKind::KpiMeasurement => EntityKind::KpiMeasurement,
    }
}

/// A contract record as a model record from `connection`, fetched at `fetched_at`. `extra`
/// that is not a JSON object is kept under the key `_raw`.
pub fn record(connection: &str, fetched_at: &str, r: wit::DmoRecord) -> Record {
    let extra = match serde_json::from_str::<serde_json::Value>(&r.extra) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        Ok(serde_json::Value::Null) | Err(_) if r.extra.trim().is_empty() => serde_json::json!({}),
        _ => serde_json::json!({ "_raw": r.extra }),
    };
    Record {
        provenance: Provenance {
            connection: connection.to_string(),
            external_id: r.external_id,
            url: r.url,
            source_updated: r.source_updated,
            fetched_at: fetched_at.to_string(),
        },
        entity: entity(r.entity),
        extra,
    }
}

fn entity(e: wit::Entity) -> m::Entity {
    match e {
        wit::Entity::Initiative(i) => m::Entity::Initiative(Box::new(m::Initiative {
            key: i.key,
            title: i.title,
            status: i.status,
            status_category: i.status_category,
            demand_type: i.demand_type,
            development_type: i.development_type,
            value_stream: i.value_stream,
            portfolio: i.portfolio,
            business_owner: i.business_owner,
            strategic_theme: i.strategic_theme,
            current_gate: i.current_gate,
            cost_of_delay: i.cost_of_delay,
            user_business_value: i.user_business_value,
            time_criticality: i.time_criticality,
            risk_reduction: i.risk_reduction,
            job_size: i.job_size,
            planned_start: i.planned_start,
            planned_end: i.planned_end,
            next_gate_due: i.next_gate_due,
            created: i.created,
            labels: i.labels,
            risks: i
                .risks
                .into_iter()
                .map(|r| m::Risk {
                    title: r.title,
                    probability: r.probability,
                    impact: r.impact,
                    owner: r.owner,
                    mitigation: r.mitigation,
                })
                .collect(),
            kpis: i
                .kpis
                .into_iter()
                .map(|k| m::Kpi {
                    name: k.name,
                    unit: k.unit,
                    baseline: k.baseline,
                    target: k.target,
                    measurements: k.measurements,
                })
                .collect(),
        })),
        wit::Entity::WorkItem(w) => m::Entity::WorkItem(m::WorkItem {
            key: w.key,
            kind: w.kind,
            title: w.title,
            status: w.status,
            status_category: w.status_category,
            initiative_key: w.initiative_key,
            parent_key: w.parent_key,
            assignee: w.assignee,
            sprint_ids: w.sprint_ids,
            estimate: w.estimate,
            created: w.created,
            started: w.started,
            resolved: w.resolved,
        }),
        wit::Entity::Sprint(s) => m::Entity::Sprint(m::Sprint {
            id: s.id,
            name: s.name,
            state: s.state,
            team: s.team,
            start: s.start,
            end: s.end,
            completed: s.completed,
            goal: s.goal,
        }),
        wit::Entity::TimeEntry(t) => m::Entity::TimeEntry(m::TimeEntry {
            person: t.person,
            work_item_key: t.work_item_key,
            initiative_key: t.initiative_key,
            date: t.date,
            started: t.started,
            seconds: t.seconds,
            description: t.description,
        }),
        wit::Entity::Person(p) => m::Entity::Person(m::Person {
            id: p.id,
            name: p.name,
            email: p.email,
            team: p.team,
            role: p.role,
            resource_owner: p.resource_owner,
            fte: p.fte,
            hours_per_day: p.hours_per_day,
            start_date: p.start_date,
            end_date: p.end_date,
        }),
        wit::Entity::Team(t) => m::Entity::Team(m::Team {
            id: t.id,
            name: t.name,
            value_stream: t.value_stream,
            manager: t.manager,
        }),
        wit::Entity::Allocation(a) => m::Entity::Allocation(m::Allocation {
            person: a.person,
            initiative_key: a.initiative_key,
            team: a.team,
            percent: a.percent,
            from: a.from,
            to: a.to,
        }),
        wit::Entity::CostRate(c) => m::Entity::CostRate(m::CostRate {
            person: c.person,
            role: c.role,
            hourly_rate: c.hourly_rate,
            currency: c.currency,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
        }),
        wit::Entity::KpiMeasurement(k) => m::Entity::KpiMeasurement(m::KpiMeasurement {
            initiative_key: k.initiative_key,
            kpi: k.kpi,
            date: k.date,
            value: k.value,
            unit: k.unit,
            baseline: k.baseline,
            target: k.target,
        }),
        wit::Entity::FinanceEntry(f) => m::Entity::FinanceEntry(m::FinanceEntry {
            initiative_key: f.initiative_key,
            period: f.period,
            kind: f.kind,
            expense_type: f.expense_type,
            amount: f.amount,
            currency: f.currency,
        }),
        wit::Entity::BusinessCase(b) => m::Entity::BusinessCase(m::BusinessCase {
            initiative_key: b.initiative_key,
            currency: b.currency,
            discount_rate: b.discount_rate,
            hurdle_rate: b.hurdle_rate,
            horizon: b.horizon,
            period_length: b.period_length,
            cash_flows: b
                .cash_flows
                .into_iter()
                .map(|c| m::CashFlow {
                    period: c.period,
                    cost: c.cost,
                    benefit: c.benefit,
                })
                .collect(),
            last_reviewed: b.last_reviewed,
        }),
        wit::Entity::GateDecision(g) => m::Entity::GateDecision(m::GateDecision {
            initiative_key: g.initiative_key,
            gate: g.gate,
            decision: g.decision,
            decider: g.decider,
            date: g.date,
            conditions: g.conditions,
        }),
        wit::Entity::Dependency(d) => m::Entity::Dependency(m::Dependency {
            from_key: d.from_key,
            to_key: d.to_key,
            kind: d.kind,
            accepted: d.accepted,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_and_extra_are_kept() {
        let r = wit::DmoRecord {
            external_id: "10042".into(),
            url: Some("https://acme.atlassian.net/browse/BIZ-7".into()),
            source_updated: Some("2026-11-01T10:00:00.000+0000".into()),
            entity: wit::Entity::Team(wit::Team {
                id: "t".into(),
                name: "T".into(),
                value_stream: Some("Retail".into()),
                manager: None,
            }),
            extra: r#"{"customfield_10099": 5}"#.into(),
        };
        let m = record("acme", "2026-11-27T00:00:00.000Z", r);
        assert_eq!(m.provenance.connection, "acme");
        assert_eq!(m.provenance.external_id, "10042");
        assert_eq!(m.extra["customfield_10099"], 5);
        let odd = wit::DmoRecord {
            external_id: "1".into(),
            url: None,
            source_updated: None,
            entity: wit::Entity::Team(wit::Team {
                id: "t".into(),
                name: "T".into(),
                value_stream: None,
                manager: None,
            }),
            extra: "not json".into(),
        };
        assert_eq!(record("a", "t", odd).extra["_raw"], "not json");
    }
}
