//! Plugins built against an older contract minor: their bindings' types adapted to the current
//! ones, field by field, so that the rest of the host speaks one contract.
//!
//! Contract 0.1 differs from 0.2 only by what 0.2 added (the `kpi-measurement` record and
//! entity kind), so every 0.1 value has a 0.2 value of the same meaning and back for what the
//! host sends (requests, findings, HTTP answers). When the next minor changes a record, its
//! adaptation is written here and says what an old plugin gets instead.

use crate::bindings::tollgate::plugin::{http as nh, log as nl, types as n};
use crate::bindings::v0_1::tollgate::plugin::{http as oh, log as ol, types as o};

/// A value of one contract version as the same value of another.
pub(crate) trait Adapt<T> {
    fn adapt(self) -> T;
}

macro_rules! same {
    ($($t:ty),*) => {
        $(impl Adapt<$t> for $t {
            fn adapt(self) -> $t {
                self
            }
        })*
    };
}
same!(String, f64, u16, u32, u64, bool, u8);

impl<A: Adapt<B>, B> Adapt<Vec<B>> for Vec<A> {
    fn adapt(self) -> Vec<B> {
        self.into_iter().map(Adapt::adapt).collect()
    }
}

impl<A: Adapt<B>, B> Adapt<Option<B>> for Option<A> {
    fn adapt(self) -> Option<B> {
        self.map(Adapt::adapt)
    }
}

impl<A: Adapt<C>, B: Adapt<D>, C, D> Adapt<(C, D)> for (A, B) {
    fn adapt(self) -> (C, D) {
        (self.0.adapt(), self.1.adapt())
    }
}

impl<A: Adapt<B>, B, E: Adapt<F>, F> Adapt<Result<B, F>> for Result<A, E> {
    fn adapt(self) -> Result<B, F> {
        self.map(Adapt::adapt).map_err(Adapt::adapt)
    }
}

/// A record of the same name and fields in both versions.
macro_rules! record {
    ($from:ident => $to:ident, $name:ident { $($field:ident),* $(,)? }) => {
        impl Adapt<$to::$name> for $from::$name {
            fn adapt(self) -> $to::$name {
                $to::$name { $($field: self.$field.adapt()),* }
            }
        }
    };
}

/// An enum (or a variant whose cases all carry one value) of the same cases in both versions.
macro_rules! cases {
    ($from:ident => $to:ident, $name:ident { $($case:ident),* $(,)? }) => {
        impl Adapt<$to::$name> for $from::$name {
            fn adapt(self) -> $to::$name {
                match self {
                    $($from::$name::$case => $to::$name::$case),*
                }
            }
        }
    };
    ($from:ident => $to:ident, $name:ident ( $($case:ident),* $(,)? )) => {
        impl Adapt<$to::$name> for $from::$name {
            fn adapt(self) -> $to::$name {
                match self {
                    $($from::$name::$case(v) => $to::$name::$case(v.adapt())),*
                }
            }
        }
    };
}

// What a 0.1 plugin returns.
cases!(o => n, Capability { Pull, Push });
cases!(o => n, Severity { Info, Warning, Error, Blocker });
cases!(o => n, EntityKind {
    Initiative, WorkItem, Sprint, TimeEntry, Person, Team, Allocation, CostRate, FinanceEntry,
    BusinessCase, GateDecision, Dependency,
});
record!(o => n, PluginInfo {
    id, version, description, capabilities, connections, streams, data_dir, settings_schema,
});
record!(o => n, Risk { title, probability, impact, owner, mitigation });
record!(o => n, Kpi { name, unit, baseline, target, measurements });
record!(o => n, Initiative {
    key, title, status, status_category, demand_type, development_type, value_stream,
    portfolio, business_owner, strategic_theme, current_gate, cost_of_delay,
    user_business_value, time_criticality, risk_reduction, job_size, planned_start,
    planned_end, next_gate_due, created, labels, risks, kpis,
});
record!(o => n, WorkItem {
    key, kind, title, status, status_category, initiative_key, parent_key, assignee,
    sprint_ids, estimate, created, started, resolved,
});
record!(o => n, Sprint { id, name, state, team, start, end, completed, goal });
record!(o => n, TimeEntry {
    person, work_item_key, initiative_key, date, started, seconds, description,
});
record!(o => n, Person {
    id, name, email, team, role, resource_owner, fte, hours_per_day, start_date, end_date,
});
record!(o => n, Team { id, name, value_stream, manager });
record!(o => n, Allocation { person, initiative_key, team, percent, from, to });
record!(o => n, CostRate { person, role, hourly_rate, currency, valid_from, valid_to });
record!(o => n, FinanceEntry { initiative_key, period, kind, expense_type, amount, currency });
record!(o => n, CashFlow { period, cost, benefit });
record!(o => n, BusinessCase {
    initiative_key, currency, discount_rate, hurdle_rate, horizon, period_length, cash_flows,
    last_reviewed,
});
record!(o => n, GateDecision { initiative_key, gate, decision, decider, date, conditions });
record!(o => n, Dependency { from_key, to_key, kind, accepted });
cases!(o => n, Entity(
    Initiative, WorkItem, Sprint, TimeEntry, Person, Team, Allocation, CostRate, FinanceEntry,
    BusinessCase, GateDecision, Dependency,
));
record!(o => n, DmoRecord { external_id, url, source_updated, entity, extra });
record!(o => n, Deletion { kind, external_id });
record!(o => n, Diagnostic { severity, code, message, location });
record!(o => n, Page { records, deletions, diagnostics, next_cursor, checkpoint, snapshot });
record!(o => n, RetryAfter { seconds, message });
cases!(o => n, PluginError(
    Config, Unauthorized, RateLimited, Transient, Remote, Unsupported, Internal,
));
cases!(o => n, PushResult(Created, Updated, Unchanged, Planned, Failed));
record!(o => n, PushOutcome { fingerprint, result });

// What the host sends a 0.1 plugin.
cases!(n => o, Severity { Info, Warning, Error, Blocker });
cases!(n => o, FindingStatus { Open, Resolved });
record!(n => o, PullRequest { stream, settings, cursor, checkpoint, page_size });
record!(n => o, Finding {
    fingerprint, rule_id, severity, status, subject_key, title, message, evidence,
});
record!(n => o, PushRequest { settings, findings, dry_run });

// The host functions a 0.1 plugin imports: the current ones, adapted.
cases!(oh => nh, Method { Get, Head, Post, Put, Patch, Delete });
record!(oh => nh, Request { connection, method, path, headers, body });
record!(nh => oh, Response { status, headers, body });
cases!(nh => oh, HttpError(Denied, Timeout, TooLarge, Transport));
cases!(ol => nl, Level { Trace, Debug, Info, Warn, Error });

impl o::Host for crate::JobState {}

impl oh::Host for crate::JobState {
    async fn send(&mut self, request: oh::Request) -> Result<oh::Response, oh::HttpError> {
        nh::Host::send(self, request.adapt()).await.adapt()
    }
}

impl ol::Host for crate::JobState {
    async fn log(&mut self, level: ol::Level, message: String, fields: Vec<(String, String)>) {
        nl::Host::log(self, level.adapt(), message, fields).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_contract_0_1_means_the_same_in_the_current_contract() {
        let page = o::Page {
            records: vec![o::DmoRecord {
                external_id: "10001".into(),
                url: Some("https://x/browse/BIZ-1".into()),
                source_updated: None,
                entity: o::Entity::Allocation(o::Allocation {
                    person: "p1".into(),
                    initiative_key: Some("BIZ-1".into()),
                    team: None,
                    percent: 50.0,
                    from: Some("2026-01-01".into()),
                    to: None,
                }),
                extra: "{}".into(),
            }],
            deletions: vec![o::Deletion {
                kind: o::EntityKind::Dependency,
                external_id: "d1".into(),
            }],
            diagnostics: vec![o::Diagnostic {
                severity: o::Severity::Warning,
                code: "rejected-row".into(),
                message: "bad".into(),
                location: Some("a.csv:2".into()),
            }],
            next_cursor: Some("2".into()),
            checkpoint: None,
            snapshot: true,
        };
        let current: n::Page = page.adapt();
        let n::Entity::Allocation(a) = &current.records[0].entity else {
            panic!("an allocation stays an allocation");
        };
        assert_eq!((a.percent, a.from.as_deref()), (50.0, Some("2026-01-01")));
        assert!(matches!(
            current.deletions[0].kind,
            n::EntityKind::Dependency
        ));
        assert!(matches!(
            current.diagnostics[0].severity,
            n::Severity::Warning
        ));
        assert_eq!(current.next_cursor.as_deref(), Some("2"));
        assert!(current.snapshot);
    }

    #[test]
    fn errors_keep_their_kind_and_requests_their_fields() {
        let e: n::PluginError = o::PluginError::RateLimited(o::RetryAfter {
            seconds: Some(3),
            message: "slow down".into(),
        })
        .adapt();
        assert!(matches!(e, n::PluginError::RateLimited(r) if r.seconds == Some(3)));
        let r: o::PullRequest = n::PullRequest {
            stream: "s".into(),
            settings: "{}".into(),
            cursor: Some("c".into()),
            checkpoint: None,
            page_size: 7,
        }
        .adapt();
        assert_eq!((r.stream.as_str(), r.page_size), ("s", 7));
    }
}
