//! Publishing: each connection's findings go back through its plugin, to be shown where
//! people work (a comment on the epic). The plugin compares with what the tracker shows, so
//! publishing twice posts nothing twice; `--dry-run` asks it what it would change.

use crate::app::Session;
use crate::error::Error;
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use tollgate_dmo::model::EntityKind;
use tollgate_runtime::bindings::types::{
    Finding as WireFinding, FindingStatus, PushRequest, PushResult,
};
use tollgate_runtime::plugin_error_text;
use tollgate_store::Store;

/// What publishing did with one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Published {
    /// Written for the first time.
    Created,
    /// An existing remote object was edited in place.
    Updated,
    /// Already shown as it is; nothing written.
    Unchanged,
    /// Dry run: what would be done.
    Planned,
    /// Not published.
    Failed,
}

impl Published {
    /// Every kind, in the order summaries list them.
    pub const ALL: [Published; 5] = [
        Published::Created,
        Published::Updated,
        Published::Unchanged,
        Published::Planned,
        Published::Failed,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Published::Created => "created",
            Published::Updated => "updated",
            Published::Unchanged => "unchanged",
            Published::Planned => "planned",
            Published::Failed => "failed",
        }
    }
}

/// What happened to one finding.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Connection.
    pub connection: String,
    /// Initiative key.
    pub subject: String,
    /// Finding fingerprint.
    pub fingerprint: String,
    /// What was done.
    pub result: Published,
    /// The plugin's words: a comment id, what it would do, what went wrong.
    pub detail: String,
}

/// Initiatives whose findings go to a plugin in one `push` call (all findings of an
/// initiative always travel together).
pub const PUSH_INITIATIVES_PER_CALL: usize = 25;

/// Publish every connection that can (or only `only`), for findings as of `as_of` (the next
/// steering, by which they should be dealt with, is 14 days later); returns one outcome per
/// finding sent.
pub async fn publish(
    session: &Session,
    store: &mut dyn Store,
    only: Option<&str>,
    dry_run: bool,
    as_of: &str,
) -> Result<Vec<Outcome>, Error> {
    // The guidance first: it reads the portfolio for the forecasts and lets it go before the
    // findings are read.
    let guidance = Guidance::new(session, &*store, as_of)?;
    let findings = store.findings(true)?;
    // Findings know their initiative's connection; only ones recorded by an older Tollgate
    // need the store's initiatives to find it, and then they are read once.
    let legacy = if findings.iter().any(|f| {
        f.finding.subject.kind == tollgate_dmo::rules::SubjectKind::Initiative
            && f.finding.subject.connection.is_none()
    }) {
        initiatives_by_connection(&*store)?
    } else {
        BTreeMap::new()
    };
    let mut outcomes = Vec::new();
    for (name, conn) in &session.config.connections {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let Some(plugin) = session.registry.get(&conn.plugin) else {
            continue;
        };
        if !plugin
            .info
            .capabilities
            .contains(&tollgate_runtime::Capability::Push)
        {
            if only.is_some() {
                return Err(Error::usage(anyhow::anyhow!(
                    "connection `{name}` uses plugin `{}`, which does not publish findings",
                    conn.plugin
                )));
            }
            continue;
        }
        // This connection's initiatives, each with all its findings, in key order.
        let mut by_subject: BTreeMap<&str, Vec<&tollgate_store::StoredFinding>> = BTreeMap::new();
        for f in findings.iter().filter(|f| {
            let subject = &f.finding.subject;
            subject.kind == tollgate_dmo::rules::SubjectKind::Initiative
                && match &subject.connection {
                    Some(connection) => connection == name,
                    // Recorded before findings carried their provenance.
                    None => legacy
                        .get(name)
                        .is_some_and(|keys| keys.contains(&subject.key)),
                }
        }) {
            by_subject
                .entry(f.finding.subject.key.as_str())
                .or_default()
                .push(f);
        }
        if by_subject.is_empty() {
            continue;
        }
        let groups: Vec<Vec<&tollgate_store::StoredFinding>> = by_subject.into_values().collect();
        let (plugin, ctx) = crate::plugins::bind(&session.registry, &session.config, name)?;
        // A few initiatives per call, each with all its findings: a call writes one comment
        // per initiative, and against a slow tracker (1,000 initiatives at 150 ms a round
        // trip) one call for all would outlast the plugin's time limit. A call that fails
        // fails its own findings only.
        let settings = crate::plugins::settings_json(&session.config, name).to_string();
        // Calls run side by side, as many as the connection may have requests in flight (each
        // call makes one request at a time; the connection's limiter keeps the total within
        // `max_concurrent_requests` and `requests_per_second`). Their outcomes come back in
        // order. Each call is about its own initiatives, so no two write the same comment.
        // A call's findings are put in the plugin's shape when it starts, so only the calls
        // in flight hold theirs (at 10,000 initiatives, every call's made up front took
        // three copies of all the findings).
        let in_flight = ctx.limits.max_concurrent_requests.max(1) as usize;
        let ctx = &ctx;
        let (guidance, settings) = (&guidance, &settings);
        // (Built in a loop, not by a closure: the daemon needs the future `Send`, which a
        // closure's borrowed lifetimes would not prove.)
        let mut calls = Vec::new();
        for chunk in groups.chunks(PUSH_INITIATIVES_PER_CALL) {
            calls.push(async move {
                let request = PushRequest {
                    settings: settings.clone(),
                    findings: chunk.iter().flatten().map(|f| guidance.wire(f)).collect(),
                    dry_run,
                };
                let result = session.runtime.push(plugin, ctx, request).await;
                (chunk, result)
            });
        }
        let mut calls = futures_util::stream::iter(calls).buffered(in_flight);
        while let Some((chunk, result)) = calls.next().await {
            let sent = || chunk.iter().flatten().map(|f| &f.finding);
            let subjects: BTreeMap<&str, &str> = sent()
                .map(|f| (f.fingerprint.as_str(), f.subject.key.as_str()))
                .collect();
            match result {
                Ok(results) => {
                    for r in results {
                        let (result, detail) = match r.result {
                            PushResult::Created(d) => (Published::Created, d),
                            PushResult::Updated(d) => (Published::Updated, d),
                            PushResult::Unchanged(d) => (Published::Unchanged, d),
                            PushResult::Planned(d) => (Published::Planned, d),
                            PushResult::Failed(e) => (Published::Failed, plugin_error_text(&e)),
                        };
                        outcomes.push(Outcome {
                            connection: name.clone(),
                            subject: subjects
                                .get(r.fingerprint.as_str())
                                .map(|s| s.to_string())
                                .unwrap_or_default(),
                            fingerprint: r.fingerprint,
                            result,
                            detail,
                        });
                    }
                }
                Err(e) => {
                    for f in sent() {
                        outcomes.push(Outcome {
                            connection: name.clone(),
                            subject: f.subject.key.clone(),
                            fingerprint: f.fingerprint.clone(),
                            result: Published::Failed,
                            detail: e.to_string(),
                        });
                    }
                }
            }
        }
    }
    Ok(outcomes)
}

/// What the publish step did: one outcome per finding sent, and the report files written.
#[derive(Debug, Clone)]
pub struct PublishStep {
    /// Per finding.
    pub outcomes: Vec<Outcome>,
    /// Report files written into `[reports] folder` (none on a dry run or without a folder).
    pub files: Vec<std::path::PathBuf>,
}

impl PublishStep {
    /// Findings that could not be published.
    pub fn failed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.result == Published::Failed)
            .count()
    }

    /// How many findings could not be published and why: each reason once, with the
    /// initiatives it struck, the commonest first (at most [`REASONS_SHOWN`]); `None` when
    /// every finding was published. The daemon's log has nothing else to say why.
    pub fn failure(&self) -> Option<String> {
        let mut reasons: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
        for o in self
            .outcomes
            .iter()
            .filter(|o| o.result == Published::Failed)
        {
            reasons
                .entry(o.detail.as_str())
                .or_default()
                .insert((o.connection.as_str(), o.subject.as_str()));
        }
        if reasons.is_empty() {
            return None;
        }
        let mut reasons: Vec<_> = reasons.into_iter().collect();
        reasons.sort_by_key(|(_, struck)| std::cmp::Reverse(struck.len()));
        let mut parts: Vec<String> = reasons
            .iter()
            .take(REASONS_SHOWN)
            .map(|(reason, struck)| {
                let mut names: Vec<String> = struck
                    .iter()
                    .take(3)
                    .map(|(connection, subject)| format!("{connection} {subject}"))
                    .collect();
                if struck.len() > 3 {
                    names.push(format!("{} more", struck.len() - 3));
                }
                format!("{}: {reason}", names.join(", "))
            })
            .collect();
        if reasons.len() > REASONS_SHOWN {
            parts.push(format!(
                "and {} other reasons",
                reasons.len() - REASONS_SHOWN
            ));
        }
        Some(format!(
            "{} finding(s) could not be published: {}",
            self.failed(),
            parts.join("; ")
        ))
    }
}

/// The reasons a failed publish names at most.
pub const REASONS_SHOWN: usize = 3;

/// The publish step of the pipeline, for every face: findings back to the trackers (every
/// connection that can, or only `only`), then, unless it is a dry run, the configured reports
/// as of `as_of` into `[reports] folder`.
pub async fn publish_step(
    session: &Session,
    store: &mut dyn Store,
    only: Option<&str>,
    dry_run: bool,
    as_of: &str,
) -> Result<PublishStep, Error> {
    let outcomes = publish(session, store, only, dry_run, as_of).await?;
    let files = if dry_run {
        Vec::new()
    } else {
        crate::report::publish_files(store, &session.config, as_of)?
    };
    Ok(PublishStep { outcomes, files })
}

/// What the host adds to each finding it sends, under the evidence's `tollgate` key (the
/// contract's evidence is free-form JSON; docs/plugin-authoring.md): how to fix it (the rule's
/// `fix`), by when (the next steering), a link to the initiative's dashboard page, and, for a
/// resolved finding, whether it was resolved since the last steering (to acknowledge once),
/// and, for an initiative in delivery, its delivery forecast in one sentence.
struct Guidance {
    fixes: BTreeMap<String, String>,
    next_steering: String,
    since: i64,
    dashboard: Option<String>,
    forecasts: BTreeMap<String, String>,
}

impl Guidance {
    fn new(session: &Session, store: &dyn Store, as_of: &str) -> Result<Guidance, Error> {
        let today = crate::report::parse_as_of(as_of)?;
        let meetings = session.config.reports.steering_around(today);
        let pack = crate::check::rule_pack(&session.config)?;
        let seed = tollgate_dmo::forecast::seed_of(&pack);
        let portfolio = crate::check::portfolio(store)?;
        let forecasts = tollgate_dmo::forecast::forecasts(&portfolio, today, seed)
            .into_iter()
            .filter_map(|f| {
                let (a, b) = (f.p50.as_ref()?, f.p85.as_ref()?);
                let by_end = match (f.probability_by_planned_end, &f.planned_end) {
                    (Some(c), Some(end)) => {
                        format!("; {:.0} % by the planned end ({end})", 100.0 * c)
                    }
                    _ => String::new(),
                };
                Some((
                    f.key,
                    format!(
                        "Delivery forecast from its throughput: half the simulated runs finish by {a}, 85 % by {b}{by_end}."
                    ),
                ))
            })
            .collect();
        Ok(Guidance {
            forecasts,
            fixes: pack
                .rules
                .iter()
                .filter_map(|r| r.fix.clone().map(|f| (r.id.clone(), f)))
                .collect(),
            next_steering: tollgate_dmo::calendar::date_of(meetings.next),
            since: meetings.previous,
            dashboard: session
                .config
                .publish
                .dashboard_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
        })
    }

    /// The finding as a plugin is sent it, its evidence with the guidance.
    fn wire(&self, f: &tollgate_store::StoredFinding) -> WireFinding {
        WireFinding {
            fingerprint: f.finding.fingerprint.clone(),
            rule_id: f.finding.rule_id.clone(),
            severity: f.finding.severity.into(),
            status: if f.resolved_at.is_some() {
                FindingStatus::Resolved
            } else {
                FindingStatus::Open
            },
            subject_key: f.finding.subject.key.clone(),
            title: f.finding.title.clone(),
            message: f.finding.message.clone(),
            evidence: self.evidence(f).to_string(),
        }
    }

    fn evidence(&self, f: &tollgate_store::StoredFinding) -> serde_json::Value {
        let mut evidence = match f.finding.evidence.value() {
            serde_json::Value::Object(o) => serde_json::Value::Object(o),
            serde_json::Value::Null => serde_json::json!({}),
            other => serde_json::json!({ "value": other }),
        };
        let resolved_recently = f.resolved_at.as_deref().is_some_and(|at| {
            tollgate_dmo::calendar::day_number(at.get(..10).unwrap_or(at))
                .is_some_and(|d| d > self.since)
        });
        evidence["tollgate"] = serde_json::json!({
            "how_to_fix": self.fixes.get(&f.finding.rule_id),
            "due": self.next_steering,
            "link": self.dashboard.as_ref().map(|u| format!(
                "{u}/initiatives/{}",
                url_segment(&f.finding.subject.key)
            )),
            "resolved_recently": resolved_recently,
            "forecast": self.forecasts.get(&f.finding.subject.key),
        });
        evidence
    }
}

/// A key as one segment of a URL path.
fn url_segment(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Initiative keys by connection, from the store.
fn initiatives_by_connection(
    store: &dyn Store,
) -> Result<BTreeMap<String, BTreeSet<String>>, Error> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in store.records(EntityKind::Initiative)? {
        if let tollgate_dmo::model::Entity::Initiative(i) = &r.entity {
            out.entry(r.provenance.connection.clone())
                .or_default()
                .insert(i.key.clone());
        }
    }
    Ok(out)
}

/// `created 3, updated 1, unchanged 20` for a summary line.
pub fn summary(outcomes: &[Outcome]) -> String {
    let mut parts = Vec::new();
    for kind in Published::ALL {
        let subjects: BTreeSet<(&str, &str)> = outcomes
            .iter()
            .filter(|o| o.result == kind)
            .map(|o| (o.connection.as_str(), o.subject.as_str()))
            .collect();
        if !subjects.is_empty() {
            parts.push(format!("{} {}", kind.as_str(), subjects.len()));
        }
    }
    if parts.is_empty() {
        "nothing to publish".to_string()
    } else {
        format!("{} (initiatives)", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(subject: &str, result: Published, detail: &str) -> Outcome {
        Outcome {
            connection: "jira".into(),
            subject: subject.into(),
            fingerprint: format!("{subject}-{detail}"),
            result,
            detail: detail.into(),
        }
    }

    #[test]
    fn a_failed_publish_says_why_each_reason_once_with_the_initiatives_it_struck() {
        let mut outcomes = vec![
            outcome("DEM-1", Published::Created, "comment 10"),
            outcome(
                "DEM-2",
                Published::Failed,
                "HTTP 403: no permission to comment",
            ),
            outcome(
                "DEM-3",
                Published::Failed,
                "HTTP 404: the issue was not found",
            ),
        ];
        for n in 4..9 {
            outcomes.push(outcome(
                &format!("DEM-{n}"),
                Published::Failed,
                "HTTP 403: no permission to comment",
            ));
        }
        let step = PublishStep {
            outcomes,
            files: Vec::new(),
        };
        assert_eq!(
            step.failure().unwrap(),
            "7 finding(s) could not be published: jira DEM-2, jira DEM-4, jira DEM-5, 3 more: HTTP 403: no permission to comment; jira DEM-3: HTTP 404: the issue was not found"
        );
        let fine = PublishStep {
            outcomes: vec![outcome("DEM-1", Published::Unchanged, "")],
            files: Vec::new(),
        };
        assert_eq!(fine.failure(), None);
        let many = PublishStep {
            outcomes: (0..5)
                .map(|n| {
                    outcome(
                        &format!("DEM-{n}"),
                        Published::Failed,
                        &format!("reason {n}"),
                    )
                })
                .collect(),
            files: Vec::new(),
        };
        let text = many.failure().unwrap();
        assert!(text.ends_with("; and 2 other reasons"), "{text}");
    }
}
