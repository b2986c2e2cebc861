//! Write-back: one Tollgate comment per initiative with findings, created once and then
//! edited in place. The comment is found again by its comment property (`tollgate.findings`)
//! or, if an admin stripped properties, by its visible footer; what it says is compared with
//! what it should say, so a repeated publish writes nothing. When every finding of an
//! initiative is resolved, the comment is edited to say so.

use crate::Deployment;
use crate::api::Jira;
use crate::rich_text::{adf_body, comment_text, shown, wiki_body};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_plugin_api::http::Method;
use tollgate_plugin_api::{Finding, FindingStatus, PluginError, PushOutcome, PushResult};

/// The comment property that marks Tollgate's comment.
pub const PROPERTY: &str = "tollgate.findings";
use tollgate_plugin_api::comment::lines;
pub use tollgate_plugin_api::comment::{FOOTER, MARKER};

// Strict shapes: a comment page without `comments` must not read as "no Tollgate comment
// yet", or publishing would post a second one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentPage {
    start_at: u64,
    total: u64,
    comments: Vec<Comment>,
}

#[derive(Deserialize, Clone)]
struct Comment {
    id: String,
    body: Value,
}

#[derive(Deserialize)]
struct PropertyKeys {
    keys: Vec<PropertyKey>,
}

#[derive(Deserialize)]
struct PropertyKey {
    key: String,
}

fn find_ours(jira: &Jira, key: &str) -> Result<Option<Comment>, PluginError> {
    let mut start = 0u64;
    let mut candidates = Vec::new();
    loop {
        let page: CommentPage = jira.get_with(
            &format!("{}/issue/{key}/comment", jira.api()),
            &[("startAt", &start.to_string()), ("maxResults", "100")],
        )?;
        let n = page.comments.len() as u64;
        candidates.extend(
            page.comments
                .into_iter()
                .filter(|c| comment_text(&c.body).contains(MARKER)),
        );
        let next = page.start_at.saturating_add(n);
        if n == 0 || next >= page.total {
            break;
        }
        // A server that does not move forward would keep us here forever.
        if next <= start {
            return Err(PluginError::Remote(format!(
                "the comments of {key} do not page forward (startAt {} after {start}); not publishing to it",
                page.start_at
            )));
        }
        start = next;
    }
    // More than one marked comment (someone copied it?): prefer the one with our property.
    if candidates.len() > 1 {
        for c in &candidates {
            let keys: PropertyKeys =
                jira.get(&format!("{}/comment/{}/properties", jira.api(), c.id))?;
            if keys.keys.iter().any(|k| k.key == PROPERTY) {
                return Ok(Some(c.clone()));
            }
        }
    }
    Ok(candidates.into_iter().next())
}

/// Publish: one outcome per finding.
pub fn push(
    jira: &Jira,
    findings: &[Finding],
    dry_run: bool,
) -> Result<Vec<PushOutcome>, PluginError> {
    let mut by_key: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_key.entry(f.subject_key.as_str()).or_default().push(f);
    }
    let mut outcomes = Vec::new();
    for (key, group) in by_key {
        let result = publish_one(jira, key, &group, dry_run);
        for f in &group {
            let r = match &result {
                Ok(r) => r.clone(),
                Err(e) => PushResult::Failed(e.clone()),
            };
            outcomes.push(PushOutcome {
                fingerprint: f.fingerprint.clone(),
                result: r,
            });
        }
    }
    Ok(outcomes)
}

fn publish_one(
    jira: &Jira,
    key: &str,
    group: &[&Finding],
    dry_run: bool,
) -> Result<PushResult, PluginError> {
    let open: Vec<&Finding> = group
        .iter()
        .copied()
        .filter(|f| f.status == FindingStatus::Open)
        .collect();
    let (heading, items) = lines(group);
    let body = match jira.deployment {
        Deployment::Cloud => adf_body(&heading, &items, FOOTER),
        Deployment::DataCenter => wiki_body(&heading, &items, FOOTER),
    };
    let existing = find_ours(jira, key)?;
    let fingerprints: Vec<&str> = open.iter().map(|f| f.fingerprint.as_str()).collect();
    let property = json!({"fingerprints": fingerprints, "open": open.len()});
    match existing {
        None if open.is_empty() => Ok(PushResult::Unchanged(format!(
            "{key}: nothing open and nothing published"
        ))),
        None if dry_run => Ok(PushResult::Planned(format!(
            "{key}: would add a comment with {} finding(s)",
            open.len()
        ))),
        None => {
            let created: Comment = jira.client().post_json(
                &format!("{}/issue/{key}/comment", jira.api()),
                &json!({"body": body, "properties": [{"key": PROPERTY, "value": property}]}),
            )?;
            Ok(PushResult::Created(format!("{key} comment {}", created.id)))
        }
        Some(c) if shown(&c.body) == shown(&body) => {
            Ok(PushResult::Unchanged(format!("{key} comment {}", c.id)))
        }
        Some(c) if dry_run => Ok(PushResult::Planned(format!(
            "{key}: would edit comment {} to {}",
            c.id,
            if open.is_empty() {
                "say all findings are resolved".to_string()
            } else {
                format!("list {} finding(s)", open.len())
            }
        ))),
        Some(c) => {
            jira.client().with_json(
                Method::Put,
                &format!(
                    "{}/issue/{key}/comment/{}?notifyUsers=false",
                    jira.api(),
                    c.id
                ),
                &json!({"body": body}),
            )?;
            jira.client().with_json(
                Method::Put,
                &format!("{}/comment/{}/properties/{PROPERTY}", jira.api(), c.id),
                &property,
            )?;
            Ok(PushResult::Updated(format!("{key} comment {}", c.id)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin_api::Severity;

    fn finding(rule: &str, severity: Severity) -> Finding {
        Finding {
            fingerprint: format!("fp-{rule}"),
            rule_id: rule.into(),
            severity,
            status: FindingStatus::Open,
            subject_key: "BIZ-2".into(),
            title: "Title".into(),
            message: "What is wrong.".into(),
            evidence: "{}".into(),
        }
    }

    #[test]
    fn the_same_findings_read_the_same_in_both_formats() {
        let a = finding("DEM-005", Severity::Warning);
        let b = finding("GATE-001", Severity::Blocker);
        let (h, items) = lines(&[&a, &b]);
        assert!(
            items[0].emphasis.as_deref() == Some("blocker")
                && items[0].text.starts_with("GATE-001"),
            "most severe first"
        );
        let adf = adf_body(&h, &items, FOOTER);
        let wiki = wiki_body(&h, &items, FOOTER);
        assert_eq!(shown(&adf), shown(&wiki));
        assert!(comment_text(&adf).contains(MARKER));
        let (h2, items2) = lines(&[&b, &a]);
        assert_eq!(
            adf_body(&h2, &items2, FOOTER),
            adf,
            "order of input does not matter"
        );
    }
}
