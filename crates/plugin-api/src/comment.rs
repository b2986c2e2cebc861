//! What a tracker plugin's one comment per initiative says, the same in every tracker: a
//! heading, one line per open finding (most severe first), and a footer with a marker the
//! plugin finds its comment by. No timestamps: the same findings give the same text, so a
//! repeated publish can see that nothing changed.

use crate::{Finding, FindingStatus, Severity};
use std::collections::BTreeMap;

/// The marker in the footer of Tollgate's comment.
pub const MARKER: &str = "[tollgate:findings]";

/// The footer of Tollgate's comment, marker included.
pub const FOOTER: &str = "Written by Tollgate from the DMO checks; edited in place when the findings change. [tollgate:findings]";

/// A severity as comments write it.
pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
        Severity::Blocker => "blocker",
    }
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Blocker => 0,
        Severity::Error => 1,
        Severity::Warning => 2,
        Severity::Info => 3,
    }
}

/// One line of the comment: a word the tracker shows emphasised (the severity, `resolved`),
/// then plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Shown in the tracker's own emphasis (bold); none for a plain line.
    pub emphasis: Option<String>,
    /// The rest of the line.
    pub text: String,
}

/// What the host adds to a finding's evidence under `tollgate` (docs/plugin-authoring.md).
#[derive(Debug, Default, serde::Deserialize)]
struct Guidance {
    #[serde(default)]
    how_to_fix: Option<String>,
    #[serde(default)]
    due: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    resolved_recently: bool,
    #[serde(default)]
    forecast: Option<String>,
}

fn guidance(f: &Finding) -> Guidance {
    serde_json::from_str::<serde_json::Value>(&f.evidence)
        .ok()
        .and_then(|v| v.get("tollgate").cloned())
        .and_then(|g| serde_json::from_value(g).ok())
        .unwrap_or_default()
}

/// The heading and the lines of the comment for the findings of one initiative (open and
/// resolved): each open one, most severe first, with what to do about it; by when (the next
/// steering) and where to read more (the dashboard), when the host says; and the findings
/// resolved since the last steering, acknowledged. None open: the heading says all are
/// resolved.
pub fn lines(findings: &[&Finding]) -> (String, Vec<Line>) {
    let open: Vec<&&Finding> = findings
        .iter()
        .filter(|f| f.status == FindingStatus::Open)
        .collect();
    let heading = if open.is_empty() {
        "Tollgate DMO checks: all findings are resolved".to_string()
    } else {
        format!(
            "Tollgate DMO checks: {} open finding{}",
            open.len(),
            if open.len() == 1 { "" } else { "s" }
        )
    };
    let mut sorted = open.clone();
    sorted.sort_by(|a, b| {
        (rank(a.severity), &a.rule_id, &a.fingerprint).cmp(&(
            rank(b.severity),
            &b.rule_id,
            &b.fingerprint,
        ))
    });
    let mut items: Vec<Line> = sorted
        .iter()
        .map(|f| {
            let mut text = format!("{} {}: {}", f.rule_id, f.title, f.message.trim());
            if let Some(fix) = guidance(f).how_to_fix {
                text.push_str(&format!(" How to fix: {}", fix.trim()));
            }
            Line {
                emphasis: Some(severity_name(f.severity).to_string()),
                text,
            }
        })
        .collect();
    if let Some(first) = sorted.first() {
        let g = guidance(first);
        let mut when = Vec::new();
        if let Some(due) = g.due {
            when.push(format!(
                "Please deal with {} before the next steering on {due}.",
                if open.len() == 1 { "it" } else { "them" }
            ));
        }
        if let Some(forecast) = g.forecast {
            when.push(forecast.trim().to_string());
        }
        if let Some(link) = g.link {
            when.push(format!("Details: {link}"));
        }
        if !when.is_empty() {
            items.push(Line {
                emphasis: None,
                text: when.join(" "),
            });
        }
    }
    let mut resolved: Vec<&&Finding> = findings
        .iter()
        .filter(|f| f.status == FindingStatus::Resolved && guidance(f).resolved_recently)
        .collect();
    resolved.sort_by(|a, b| (&a.rule_id, &a.fingerprint).cmp(&(&b.rule_id, &b.fingerprint)));
    items.extend(resolved.iter().map(|f| Line {
        emphasis: Some("resolved".to_string()),
        text: format!(
            "{} {}: fixed since the last steering, thank you.",
            f.rule_id, f.title
        ),
    }));
    (heading, items)
}

/// Findings by the key of their subject, each with its open ones.
pub fn by_subject(findings: &[Finding]) -> BTreeMap<&str, (Vec<&Finding>, Vec<&Finding>)> {
    let mut out: BTreeMap<&str, (Vec<&Finding>, Vec<&Finding>)> = BTreeMap::new();
    for f in findings {
        let slot = out.entry(f.subject_key.as_str()).or_default();
        slot.0.push(f);
        if f.status == FindingStatus::Open {
            slot.1.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, severity: Severity, status: FindingStatus) -> Finding {
        Finding {
            fingerprint: format!("fp-{rule}"),
            rule_id: rule.into(),
            severity,
            status,
            subject_key: "K-1".into(),
            title: "Title".into(),
            message: " What is wrong. ".into(),
            evidence: "{}".into(),
        }
    }

    #[test]
    fn most_severe_first_whatever_the_input_order() {
        let a = finding("DEM-005", Severity::Warning, FindingStatus::Open);
        let b = finding("GATE-001", Severity::Blocker, FindingStatus::Open);
        let (h, items) = lines(&[&a, &b]);
        assert_eq!(h, "Tollgate DMO checks: 2 open findings");
        assert_eq!(
            items[0],
            Line {
                emphasis: Some("blocker".into()),
                text: "GATE-001 Title: What is wrong.".into()
            }
        );
        assert_eq!(lines(&[&b, &a]).1, items);
        assert!(lines(&[]).0.contains("all findings are resolved"));
        assert!(FOOTER.contains(MARKER));
        let c = finding("DEM-001", Severity::Error, FindingStatus::Resolved);
        let all = [a.clone(), c];
        let groups = by_subject(&all);
        assert_eq!(groups["K-1"].0.len(), 2);
        assert_eq!(groups["K-1"].1.len(), 1);
    }

    #[test]
    fn a_comment_says_how_to_fix_by_when_and_thanks_once_for_what_was_fixed() {
        let guided = |rule: &str, severity, status, recently: bool| {
            Finding {
            evidence: serde_json::json!({"hours": 56, "tollgate": {
                "how_to_fix": "Record the decision in gate-decisions.csv.",
                "due": "2026-12-11",
                "link": "https://dmo.example/initiatives/BIZ-22",
                "resolved_recently": recently,
                "forecast": "Delivery forecast from its throughput: half the simulated runs finish by 2027-04-30, 85 % by 2027-09-03.",
            }})
            .to_string(),
            ..finding(rule, severity, status)
        }
        };
        let open = guided("GATE-001", Severity::Blocker, FindingStatus::Open, false);
        let fixed = guided("DEM-001", Severity::Error, FindingStatus::Resolved, true);
        let long_ago = guided("DEM-002", Severity::Error, FindingStatus::Resolved, false);
        let (h, items) = lines(&[&fixed, &open, &long_ago]);
        assert_eq!(h, "Tollgate DMO checks: 1 open finding");
        assert_eq!(
            items
                .iter()
                .map(|l| (l.emphasis.as_deref(), l.text.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    Some("blocker"),
                    "GATE-001 Title: What is wrong. How to fix: Record the decision in gate-decisions.csv."
                ),
                (
                    None,
                    "Please deal with it before the next steering on 2026-12-11. Delivery forecast from its throughput: half the simulated runs finish by 2027-04-30, 85 % by 2027-09-03. Details: https://dmo.example/initiatives/BIZ-22"
                ),
                (
                    Some("resolved"),
                    "DEM-001 Title: fixed since the last steering, thank you."
                ),
            ]
        );
        // Without the host's guidance (an older host), the lines are the findings alone.
        let plain = finding("GATE-001", Severity::Blocker, FindingStatus::Open);
        assert_eq!(lines(&[&plain]).1.len(), 1);
    }
}
