//! The open findings as the reports read them: rule, severity, subject and message, and
//! whether each is new since the last pack; nothing else a stored finding holds.
//!
//! At 10,000 initiatives the steering pack reads ~44,000 open findings. Whole, as the store's
//! `StoredFinding`s (fingerprint, evidence, provenance, three times, the rule's title in
//! every one, each text an allocation of its own), they took 28 MB beside the portfolio and
//! the tables for as long as the pack was built. Here each is 48 bytes with its key and
//! message in one shared text and its rule's id and title kept once per rule.

use std::ops::Range;
use tollgate_dmo::Severity;
use tollgate_dmo::rules::SubjectKind;
use tollgate_store::Store;

/// The open findings, in the store's order (rule, subject, fingerprint).
#[derive(Debug, Default)]
pub struct OpenFindings {
    /// Each rule's id and title, once.
    rules: Vec<(String, String)>,
    /// The subjects' keys and the messages, one after another.
    text: String,
    list: Vec<Slot>,
}

#[derive(Debug)]
struct Slot {
    rule: usize,
    severity: Severity,
    kind: SubjectKind,
    new: bool,
    key: Range<usize>,
    message: Range<usize>,
}

/// One open finding, borrowed from [`OpenFindings`].
#[derive(Debug, Clone, Copy)]
pub struct OpenFinding<'a> {
    /// The rule's id.
    pub rule_id: &'a str,
    /// The rule's title.
    pub title: &'a str,
    /// Its severity.
    pub severity: Severity,
    /// The kind of what it is about.
    pub kind: SubjectKind,
    /// The key of what it is about.
    pub key: &'a str,
    /// What is wrong, with the numbers.
    pub message: &'a str,
    /// First found after the time [`OpenFindings::read`] was given (every finding, without one).
    pub new: bool,
}

impl OpenFinding<'_> {
    /// Whether it is about an initiative.
    pub fn on_initiative(&self) -> bool {
        self.kind == SubjectKind::Initiative
    }
}

impl OpenFindings {
    /// Read the open findings of `store`; a finding first seen after `since` (a time as the
    /// store writes them, compared as text) is new, and every one is without `since`.
    pub fn read(
        store: &dyn Store,
        since: Option<&str>,
    ) -> Result<OpenFindings, crate::error::Error> {
        let mut open = OpenFindings::default();
        store.each_open_finding(&mut |f| {
            let new = since.is_none_or(|s| f.first_seen.as_str() > s);
            let f = f.finding;
            // The store hands them out rule by rule: the last rule is the one to compare.
            let rule = match open
                .rules
                .iter()
                .rposition(|(id, title)| *id == f.rule_id && *title == f.title)
            {
                Some(rule) => rule,
                None => {
                    open.rules.push((f.rule_id, f.title));
                    open.rules.len() - 1
                }
            };
            let key = open.push_text(&f.subject.key);
            let message = open.push_text(&f.message);
            open.list.push(Slot {
                rule,
                severity: f.severity,
                kind: f.subject.kind,
                new,
                key,
                message,
            });
        })?;
        open.list.shrink_to_fit();
        open.text.shrink_to_fit();
        Ok(open)
    }

    fn push_text(&mut self, s: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Each, in the store's order.
    pub fn iter(&self) -> impl Iterator<Item = OpenFinding<'_>> + '_ {
        self.list.iter().map(|s| {
            let (rule_id, title) = &self.rules[s.rule];
            OpenFinding {
                rule_id,
                title,
                severity: s.severity,
                kind: s.kind,
                key: &self.text[s.key.clone()],
                message: &self.text[s.message.clone()],
                new: s.new,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_dmo::rules::{Evidence, Finding, Subject};

    fn finding(rule: &str, key: &str, severity: Severity, message: &str) -> Finding {
        Finding {
            fingerprint: format!("{rule}-{key}"),
            rule_id: rule.into(),
            severity,
            subject: Subject {
                kind: SubjectKind::Initiative,
                key: key.into(),
                connection: Some("jira".into()),
                external_id: Some("10001".into()),
            },
            title: format!("the title of {rule}"),
            message: message.into(),
            evidence: Evidence::default(),
        }
    }

    #[test]
    fn a_finding_kept_is_48_bytes_beside_its_texts() {
        assert_eq!(std::mem::size_of::<Slot>(), 48);
    }

    #[test]
    fn the_open_findings_read_keep_what_a_report_shows_of_each() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let mut store = tollgate_store::open(&url, dir.path()).unwrap();
        let first = vec![
            finding("GATE-001", "SYN-1", Severity::Blocker, "no sponsor"),
            finding(
                "FIN-002",
                "SYN-2",
                Severity::Warning,
                "no cost of delay: 0 €",
            ),
            finding(
                "GATE-004",
                "SYN-9",
                Severity::Error,
                "resolved before the report",
            ),
        ];
        store
            .record_findings(&first, "2026-11-01T00:00:00Z")
            .unwrap();
        let mut later = first[..2].to_vec();
        later.push(finding(
            "GATE-001",
            "SYN-3",
            Severity::Blocker,
            "no sponsor",
        ));
        store
            .record_findings(&later, "2026-11-20T00:00:00Z")
            .unwrap();

        let all_new = OpenFindings::read(store.as_ref(), None).unwrap();
        assert_eq!(all_new.len(), 3, "the resolved finding is not read");
        assert!(
            all_new.iter().all(|f| f.new),
            "without a last pack every one is new"
        );

        let open = OpenFindings::read(store.as_ref(), Some("2026-11-10T00:00:00Z")).unwrap();
        let seen: Vec<_> = open
            .iter()
            .map(|f| (f.rule_id, f.title, f.severity, f.key, f.message, f.new))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "FIN-002",
                    "the title of FIN-002",
                    Severity::Warning,
                    "SYN-2",
                    "no cost of delay: 0 €",
                    false
                ),
                (
                    "GATE-001",
                    "the title of GATE-001",
                    Severity::Blocker,
                    "SYN-1",
                    "no sponsor",
                    false
                ),
                (
                    "GATE-001",
                    "the title of GATE-001",
                    Severity::Blocker,
                    "SYN-3",
                    "no sponsor",
                    true
                ),
            ],
            "in the store's order, each with its own key and message, new only after the time given"
        );
        assert!(open.iter().all(|f| f.on_initiative()));
        assert_eq!(open.rules.len(), 2, "a rule's id and title are kept once");
    }
}
