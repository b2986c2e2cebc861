//! Publishing: each connection's findings go back through its plugin, to be shown where
//! people work (a comment on the epic). The plugin compares with what the tracker shows, so
//! publishing twice posts nothing twice; `--dry-run` asks it what it would change.

use crate::app::Session;
use crate::error::Error;
use serde::Serialize;
use std::collections::BTreeSet;
use tollgate_dmo::Severity;
use tollgate_dmo::model::EntityKind;
use tollgate_runtime::bindings::types::{
    Finding as WireFinding, FindingStatus, PushRequest, PushResult, Severity as WireSeverity,
};
use tollgate_runtime::plugin_error_text;
use tollgate_store::Store;

/// What happened to one finding.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Connection.
    pub connection: String,
    /// Initiative key.
    pub subject: String,
    /// Finding fingerprint.
    pub fingerprint: String,
    /// `created`, `updated`, `unchanged`, `planned` or `failed`.
    pub result: &'static str,
    /// The plugin's words: a comment id, what it would do, what went wrong.
    pub detail: String,
}

fn wire_severity(s: Severity) -> WireSeverity {
    match s {
        Severity::Info => WireSeverity::Info,
        Severity::Warning => WireSeverity::Warning,
        Severity::Error => WireSeverity::Error,
        Severity::Blocker => WireSeverity::Blocker,
    }
}

/// Publish every connection that can (or only `only`); returns one outcome per finding sent.
pub async fn publish(
    session: &Session,
    store: &mut dyn Store,
    only: Option<&str>,
    dry_run: bool,
) -> Result<Vec<Outcome>, Error> {
    let findings = store.findings(true)?;
    let initiatives = store.records(EntityKind::Initiative)?;
    let mut outcomes = Vec::new();
    for (name, conn) in &session.config.connections {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let Some(plugin) = session.registry.get(&conn.plugin) else {
            continue;
        };
        if !plugin.info.capabilities.iter().any(|c| c == "push") {
            if only.is_some() {
                return Err(Error::usage(anyhow::anyhow!(
                    "connection `{name}` uses plugin `{}`, which does not publish findings",
                    conn.plugin
                )));
            }
            continue;
        }
        let keys: BTreeSet<&str> = initiatives
            .iter()
            .filter(|r| r.provenance.connection == *name)
            .filter_map(|r| match &r.entity {
                tollgate_dmo::model::Entity::Initiative(i) => Some(i.key.as_str()),
                _ => None,
            })
            .collect();
        let batch: Vec<WireFinding> = findings
            .iter()
            .filter(|f| {
                f.finding.subject.kind == "initiative"
                    && keys.contains(f.finding.subject.key.as_str())
            })
            .map(|f| WireFinding {
                fingerprint: f.finding.fingerprint.clone(),
                rule_id: f.finding.rule_id.clone(),
                severity: wire_severity(f.finding.severity),
                status: if f.resolved_at.is_some() {
                    FindingStatus::Resolved
                } else {
                    FindingStatus::Open
                },
                subject_key: f.finding.subject.key.clone(),
                title: f.finding.title.clone(),
                message: f.finding.message.clone(),
                evidence: f.finding.evidence.to_string(),
            })
            .collect();
        if batch.is_empty() {
            continue;
        }
        let (plugin, ctx) = crate::plugins::bind(&session.registry, &session.config, name)?;
        let request = PushRequest {
            settings: crate::plugins::settings_json(&session.config, name).to_string(),
            findings: batch.clone(),
            dry_run,
        };
        let subjects: std::collections::BTreeMap<String, String> = batch
            .iter()
            .map(|f| (f.fingerprint.clone(), f.subject_key.clone()))
            .collect();
        match session.runtime.push(plugin, &ctx, request).await {
            Ok(results) => {
                for r in results {
                    let (result, detail) = match r.result {
                        PushResult::Created(d) => ("created", d),
                        PushResult::Updated(d) => ("updated", d),
                        PushResult::Unchanged(d) => ("unchanged", d),
                        PushResult::Planned(d) => ("planned", d),
                        PushResult::Failed(e) => ("failed", plugin_error_text(&e)),
                    };
                    outcomes.push(Outcome {
                        connection: name.clone(),
                        subject: subjects.get(&r.fingerprint).cloned().unwrap_or_default(),
                        fingerprint: r.fingerprint,
                        result,
                        detail,
                    });
                }
            }
            Err(e) => {
                for f in &batch {
                    outcomes.push(Outcome {
                        connection: name.clone(),
                        subject: f.subject_key.clone(),
                        fingerprint: f.fingerprint.clone(),
                        result: "failed",
                        detail: e.to_string(),
                    });
                }
            }
        }
    }
    Ok(outcomes)
}

/// `created 3, updated 1, unchanged 20` for a summary line.
pub fn summary(outcomes: &[Outcome]) -> String {
    let mut parts = Vec::new();
    for kind in ["created", "updated", "unchanged", "planned", "failed"] {
        let subjects: BTreeSet<(&str, &str)> = outcomes
            .iter()
            .filter(|o| o.result == kind)
            .map(|o| (o.connection.as_str(), o.subject.as_str()))
            .collect();
        if !subjects.is_empty() {
            parts.push(format!("{kind} {}", subjects.len()));
        }
    }
    if parts.is_empty() {
        "nothing to publish".to_string()
    } else {
        format!("{} (initiatives)", parts.join(", "))
    }
}
