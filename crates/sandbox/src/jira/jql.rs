//! The part of JQL the sandbox understands: restrictions joined by `AND`, then `ORDER BY`.
//!
//! Enough for what a connector asks (project, issue type, parent or Epic Link, id or key
//! lists, `updated` since a local time); anything else is refused with a 400 as the real
//! parser refuses what it cannot read, so a plugin cannot rely on a clause the fake ignores.

use super::data::{Dataset, Flavour, ISSUE_TYPES, Issue, field_def};
use crate::time::parse_jql_local;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(String),
    Open,
    Close,
    Comma,
}

fn tokens(jql: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = jql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '"' | '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .ok_or_else(|| format!("Error in the JQL Query: The quoted string starting at character {i} is not terminated."))?;
                out.push(Tok::Str(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            '=' | '!' | '<' | '>' | '~' => {
                let mut op = c.to_string();
                if i + 1 < chars.len() && chars[i + 1] == '=' {
                    op.push('=');
                    i += 1;
                }
                out.push(Tok::Op(op));
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t\n\r(),=!<>~\"'".contains(chars[i]) {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

/// A field a clause restricts.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    Project,
    IssueType,
    Updated,
    Parent,
    EpicLink,
    Id,
    Key,
}

#[derive(Debug, Clone)]
struct Clause {
    field: Field,
    negated: bool,
    op: String,
    values: Vec<String>,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    clauses: Vec<Clause>,
    order: Vec<(String, bool)>,
}

fn field_of(name: &str, flavour: Flavour) -> Result<Field, String> {
    let epic_link = field_def("Epic Link");
    let lower = name.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "project" => Field::Project,
        "issuetype" | "type" => Field::IssueType,
        "updated" | "updateddate" => Field::Updated,
        "parent" => Field::Parent,
        "id" | "issue" => Field::Id,
        "key" | "issuekey" => Field::Key,
        "epic link" if flavour == Flavour::DataCenter => Field::EpicLink,
        _ if flavour == Flavour::DataCenter && lower == format!("cf[{}]", epic_link.dc_id) => {
            Field::EpicLink
        }
        _ => {
            return Err(format!(
                "Field '{name}' does not exist or you do not have permission to view it."
            ));
        }
    })
}

/// Parse a JQL string; errors carry Jira's wording where it is known.
pub fn parse(jql: &str, flavour: Flavour) -> Result<Query, String> {
    let toks = tokens(jql)?;
    let mut i = 0;
    let mut clauses = Vec::new();
    let mut order = Vec::new();
    let word_is =
        |t: Option<&Tok>, w: &str| matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w));
    while i < toks.len() {
        if word_is(toks.get(i), "order") {
            if !word_is(toks.get(i + 1), "by") {
                return Err("Error in the JQL Query: Expecting 'by' after 'order'.".into());
            }
            i += 2;
            loop {
                let name = match toks.get(i) {
                    Some(Tok::Word(w)) | Some(Tok::Str(w)) => w.clone(),
                    _ => {
                        return Err(
                            "Error in the JQL Query: Expecting a field name after 'order by'."
                                .into(),
                        );
                    }
                };
                i += 1;
                let mut desc = false;
                if word_is(toks.get(i), "desc") {
                    desc = true;
                    i += 1;
                } else if word_is(toks.get(i), "asc") {
                    i += 1;
                }
                order.push((name.to_ascii_lowercase(), desc));
                if toks.get(i) == Some(&Tok::Comma) {
                    i += 1;
                    continue;
                }
                break;
            }
            if i < toks.len() {
                return Err(
                    "Error in the JQL Query: Expecting end of query after the ORDER BY clause."
                        .into(),
                );
            }
            break;
        }
        if !clauses.is_empty() {
            if !word_is(toks.get(i), "and") {
                return Err(format!(
                    "Error in the JQL Query: Expecting either 'AND' or 'ORDER BY' but got '{}'.",
                    describe(toks.get(i))
                ));
            }
            i += 1;
        }
        let name = match toks.get(i) {
            Some(Tok::Word(w)) | Some(Tok::Str(w)) => w.clone(),
            other => {
                return Err(format!(
                    "Error in the JQL Query: Expecting a field name but got '{}'.",
                    describe(other)
                ));
            }
        };
        let field = field_of(&name, flavour)?;
        i += 1;
        let mut negated = false;
        let op = match toks.get(i) {
            Some(Tok::Op(op)) => op.clone(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => "in".into(),
            Some(Tok::Word(w))
                if w.eq_ignore_ascii_case("not") && word_is(toks.get(i + 1), "in") =>
            {
                negated = true;
                i += 1;
                "in".into()
            }
            other => {
                return Err(format!(
                    "Error in the JQL Query: Expecting an operator after '{name}' but got '{}'.",
                    describe(other)
                ));
            }
        };
        i += 1;
        let mut values = Vec::new();
        if op == "in" {
            if toks.get(i) != Some(&Tok::Open) {
                return Err("Error in the JQL Query: Expecting '(' after 'in'.".into());
            }
            i += 1;
            loop {
                match toks.get(i) {
                    Some(Tok::Word(w)) | Some(Tok::Str(w)) => values.push(w.clone()),
                    other => {
                        return Err(format!(
                            "Error in the JQL Query: Expecting a value but got '{}'.",
                            describe(other)
                        ));
                    }
                }
                i += 1;
                match toks.get(i) {
                    Some(Tok::Comma) => i += 1,
                    Some(Tok::Close) => {
                        i += 1;
                        break;
                    }
                    other => {
                        return Err(format!(
                            "Error in the JQL Query: Expecting ',' or ')' but got '{}'.",
                            describe(other)
                        ));
                    }
                }
            }
        } else {
            match toks.get(i) {
                Some(Tok::Word(w)) | Some(Tok::Str(w)) => values.push(w.clone()),
                other => {
                    return Err(format!(
                        "Error in the JQL Query: Expecting a value but got '{}'.",
                        describe(other)
                    ));
                }
            }
            i += 1;
        }
        if field == Field::Updated {
            if !matches!(op.as_str(), ">=" | ">" | "<" | "<=") {
                return Err(
                    "The operator is not supported by the 'updated' field in this sandbox.".into(),
                );
            }
            if parse_jql_local(&values[0]).is_none() {
                return Err(format!(
                    "Date value '{}' for field 'updated' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.",
                    values[0]
                ));
            }
        } else if !matches!(op.as_str(), "=" | "in" | "!=") {
            return Err(format!(
                "The operator '{op}' is not supported by the '{name}' field."
            ));
        }
        clauses.push(Clause {
            field,
            negated: negated || op == "!=",
            op,
            values,
        });
    }
    // Enhanced search refuses unbounded queries: at least one restriction is needed.
    if clauses.is_empty() {
        return Err("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.".into());
    }
    Ok(Query { clauses, order })
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "end of query".into(),
        Some(Tok::Word(w)) | Some(Tok::Str(w)) => w.clone(),
        Some(Tok::Op(o)) => o.clone(),
        Some(Tok::Open) => "(".into(),
        Some(Tok::Close) => ")".into(),
        Some(Tok::Comma) => ",".into(),
    }
}

impl Query {
    /// Does the issue match?
    pub fn matches(&self, issue: &Issue, data: &Dataset) -> bool {
        self.clauses.iter().all(|c| {
            let hit = match c.field {
                Field::Project => c
                    .values
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&data.project)),
                Field::IssueType => {
                    let t = &ISSUE_TYPES[issue.issue_type];
                    c.values
                        .iter()
                        .any(|v| v == t.id || v.eq_ignore_ascii_case(t.name))
                }
                Field::Updated => {
                    let at = parse_jql_local(&c.values[0]).unwrap_or(0);
                    // JQL compares at minute precision.
                    let updated = issue.updated - issue.updated.rem_euclid(60_000);
                    match c.op.as_str() {
                        ">=" => updated >= at,
                        ">" => updated > at,
                        "<" => updated < at,
                        _ => updated <= at,
                    }
                }
                Field::Parent | Field::EpicLink => issue
                    .parent
                    .as_ref()
                    .is_some_and(|p| c.values.iter().any(|v| v == p)),
                Field::Id => c.values.iter().any(|v| *v == issue.id.to_string()),
                Field::Key => c.values.contains(&issue.key),
            };
            hit != c.negated
        })
    }

    /// Sort issues by the ORDER BY clause (default: key descending... Jira's default is by
    /// key, newest first).
    pub fn sort(&self, issues: &mut [&Issue]) {
        let order = if self.order.is_empty() {
            vec![("key".to_string(), true)]
        } else {
            self.order.clone()
        };
        issues.sort_by(|a, b| {
            for (field, desc) in &order {
                let ord = match field.as_str() {
                    "updated" => a.updated.cmp(&b.updated),
                    "created" => a.created.cmp(&b.created),
                    _ => a.id.cmp(&b.id),
                };
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            a.id.cmp(&b.id)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_a_connector_sends() {
        let d = Dataset::demo();
        let q = parse(
            "project = BIZ AND issuetype in (10000) ORDER BY key ASC",
            Flavour::Cloud,
        )
        .unwrap();
        let epics: Vec<_> = d.issues.iter().filter(|i| q.matches(i, &d)).collect();
        assert_eq!(epics.len(), 25);
        let q = parse(
            "parent in (BIZ-9, BIZ-10) AND issuetype not in (10005)",
            Flavour::Cloud,
        )
        .unwrap();
        assert_eq!(d.issues.iter().filter(|i| q.matches(i, &d)).count(), 22);
        let q = parse("\"Epic Link\" = BIZ-9", Flavour::DataCenter).unwrap();
        assert_eq!(d.issues.iter().filter(|i| q.matches(i, &d)).count(), 12);
        assert!(
            parse("\"Epic Link\" = BIZ-9", Flavour::Cloud).is_err(),
            "deprecated on Cloud"
        );
    }

    #[test]
    fn refuses_unbounded_and_unknown() {
        assert!(
            parse("order by key desc", Flavour::Cloud)
                .unwrap_err()
                .contains("Unbounded")
        );
        assert!(parse("", Flavour::Cloud).unwrap_err().contains("Unbounded"));
        assert!(
            parse("summary ~ x", Flavour::Cloud)
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(
            parse("updated >= \"yesterday\"", Flavour::Cloud)
                .unwrap_err()
                .contains("invalid")
        );
    }
}
