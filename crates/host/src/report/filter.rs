//! The dashboard's filters: a selection of initiatives (by value stream, gate, the severity
//! of an open finding, owner) applied to a report's initiative rows and their charts.

use super::{Chart, Report, esc};
use std::collections::{BTreeMap, BTreeSet};
use tollgate_dmo::Severity;
use tollgate_dmo::rules::{Portfolio, SubjectKind};

/// A selection of initiatives; an empty field selects all. Read from the dashboard's query
/// string (`?value_stream=...&gate=G2&severity=error&owner=...`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The initiative's value stream.
    pub value_stream: Option<String>,
    /// Its current gate.
    pub gate: Option<String>,
    /// An open finding on it of this severity or worse.
    pub severity: Option<Severity>,
    /// Its business owner.
    pub owner: Option<String>,
}

/// The query keys the filter reads.
pub const KEYS: [&str; 4] = ["value_stream", "gate", "severity", "owner"];

impl Filter {
    /// The filter a query asks for; an empty value means all. A severity that is not one
    /// is an error naming the parameter.
    pub fn from_query(q: &BTreeMap<String, String>) -> Result<Filter, String> {
        let text = |k: &str| {
            q.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(Filter {
            value_stream: text("value_stream"),
            gate: text("gate"),
            severity: text("severity")
                .map(|s| s.parse::<Severity>().map_err(|e| format!("severity: {e}")))
                .transpose()?,
            owner: text("owner"),
        })
    }

    /// Whether it selects everything.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// The keys of the initiatives it selects.
    pub fn select(&self, p: &Portfolio, open: &super::OpenFindings) -> BTreeSet<String> {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref()
                .is_none_or(|w| have.is_some_and(|h| h.trim().eq_ignore_ascii_case(w)))
        };
        let flagged: BTreeSet<&str> = match self.severity {
            None => BTreeSet::new(),
            Some(min) => open
                .iter()
                .filter(|f| f.kind == SubjectKind::Initiative && f.severity >= min)
                .map(|f| f.key)
                .collect(),
        };
        p.initiatives
            .values()
            .map(|(i, _)| i)
            .filter(|i| same(&self.value_stream, i.value_stream.as_deref()))
            .filter(|i| same(&self.gate, i.current_gate.as_deref()))
            .filter(|i| same(&self.owner, i.business_owner.as_deref()))
            .filter(|i| self.severity.is_none() || flagged.contains(i.key.as_str()))
            .map(|i| i.key.clone())
            .collect()
    }

    /// Keep only the selected initiatives' rows in every table with an initiative column,
    /// and their bars in its chart; say what was filtered in each such table's note.
    pub fn apply(&self, report: &mut Report, keys: &BTreeSet<String>) {
        if self.is_empty() {
            return;
        }
        for t in &mut report.tables {
            let Some(col) = t.columns.iter().position(|c| *c == "initiative") else {
                continue;
            };
            let before = t.rows.len();
            t.rows
                .retain(|r| r.get(col).is_some_and(|k| keys.contains(k)));
            if let Some(chart) = &mut t.chart {
                retain_keys(chart, keys);
            }
            t.note = format!("{} Filtered: {} of {} rows.", t.note, t.rows.len(), before);
        }
    }

    /// What it selects, in words ("value stream Retail banking, gate G2").
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.value_stream {
            parts.push(format!("value stream {v}"));
        }
        if let Some(v) = &self.gate {
            parts.push(format!("gate {v}"));
        }
        if let Some(v) = self.severity {
            parts.push(format!("an open {} or worse", v.as_str()));
        }
        if let Some(v) = &self.owner {
            parts.push(format!("owner {v}"));
        }
        parts.join(", ")
    }

    /// The filter form (GET, no script), its choices taken from the portfolio, the current
    /// selection chosen; with a line saying how many initiatives it selects.
    pub fn form(&self, p: &Portfolio, selected: usize) -> String {
        let values = |f: &dyn Fn(&tollgate_dmo::model::Initiative) -> Option<&str>| {
            p.initiatives
                .values()
                .filter_map(|(i, _)| f(i).map(str::trim).filter(|v| !v.is_empty()))
                .map(str::to_string)
                .collect::<BTreeSet<String>>()
                .into_iter()
                .collect::<Vec<String>>()
        };
        let select = |name: &str, label: &str, options: Vec<String>, chosen: Option<&str>| {
            let mut out = format!(
                "<label>{label} <select name=\"{name}\" id=\"filter-{name}\"><option value=\"\">all</option>"
            );
            for o in options {
                let on = if chosen.is_some_and(|c| c.eq_ignore_ascii_case(&o)) {
                    " selected"
                } else {
                    ""
                };
                out.push_str(&format!("<option value=\"{0}\"{on}>{0}</option>", esc(&o)));
            }
            out.push_str("</select></label> ");
            out
        };
        let mut out = String::from("<form id=\"filters\" method=\"get\" action=\"\">");
        out.push_str(&select(
            "value_stream",
            "Value stream",
            values(&|i| i.value_stream.as_deref()),
            self.value_stream.as_deref(),
        ));
        out.push_str(&select(
            "gate",
            "Gate",
            values(&|i| i.current_gate.as_deref()),
            self.gate.as_deref(),
        ));
        out.push_str(&select(
            "severity",
            "Open finding",
            ["blocker", "error", "warning", "info"]
                .map(String::from)
                .to_vec(),
            self.severity.map(|s| s.as_str()),
        ));
        out.push_str(&select(
            "owner",
            "Owner",
            values(&|i| i.business_owner.as_deref()),
            self.owner.as_deref(),
        ));
        out.push_str("<button type=\"submit\">Filter</button> <a href=\"?\">clear</a></form>\n");
        if !self.is_empty() {
            out.push_str(&format!(
                "<p class=\"banner filtered\" id=\"filtered\">Filtered: {} of {} initiatives ({}). Tables list only these; counts by value stream and by rule, the capacity line, the cumulative demand and the heat map stay those of the whole portfolio.</p>\n",
                selected,
                p.initiatives.len(),
                esc(&self.describe())
            ));
        }
        out
    }
}

/// Keep only the selected initiatives in a chart whose categories or rows are initiatives.
fn retain_keys(chart: &mut Chart, keys: &BTreeSet<String>) {
    match chart {
        Chart::Bars {
            categories, series, ..
        } => {
            let keep: Vec<bool> = categories.iter().map(|c| keys.contains(c)).collect();
            let mut i = 0;
            categories.retain(|_| {
                i += 1;
                keep[i - 1]
            });
            for (_, values) in series.iter_mut() {
                let mut i = 0;
                values.retain(|_| {
                    i += 1;
                    keep.get(i - 1).copied().unwrap_or(false)
                });
            }
        }
        Chart::Timeline {
            bars, milestones, ..
        } => {
            let selected = |row: &str| row.split(' ').next().is_some_and(|k| keys.contains(k));
            bars.retain(|b| selected(&b.0));
            milestones.retain(|m| selected(&m.0));
        }
        _ => {}
    }
}
