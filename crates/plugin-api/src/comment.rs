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

/// The heading and the lines of the comment for these open findings (none: all resolved).
pub fn lines(open: &[&Finding]) -> (String, Vec<String>) {
    let heading = if open.is_empty() {
        "Tollgate DMO checks: all findings are resolved".to_string()
    } else {
        format!(
            "Tollgate DMO checks: {} open finding{}",
            open.len(),
            if open.len() == 1 { "" } else { "s" }
        )
    };
    let mut sorted: Vec<&&Finding> = open.iter().collect();
    sorted.sort_by(|a, b| {
        (rank(a.severity), &a.rule_id, &a.fingerprint).cmp(&(
            rank(b.severity),
            &b.rule_id,
            &b.fingerprint,
        ))
    });
    let items = sorted
        .iter()
        .map(|f| {
            format!(
                "{} {} {}: {}",
                severity_name(f.severity).to_uppercase(),
                f.rule_id,
                f.title,
                f.message.trim()
            )
        })
        .collect();
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
        assert_eq!(items[0], "BLOCKER GATE-001 Title: What is wrong.");
        assert_eq!(lines(&[&b, &a]).1, items);
        assert!(lines(&[]).0.contains("all findings are resolved"));
        assert!(FOOTER.contains(MARKER));
        let c = finding("DEM-001", Severity::Error, FindingStatus::Resolved);
        let all = [a.clone(), c];
        let groups = by_subject(&all);
        assert_eq!(groups["K-1"].0.len(), 2);
        assert_eq!(groups["K-1"].1.len(), 1);
    }
}
