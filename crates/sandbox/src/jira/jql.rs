//! JQL as the sandbox reads it: clauses joined by `AND`, `OR`, `NOT` and parentheses, then
//! `ORDER BY`.
//!
//! Fields: project, issuetype, status, statusCategory, summary and text (`~`, every word
//! must appear, case-insensitive: Jira's stemming is not modelled), assignee (with
//! `currentUser()`), sprint (ids, names, `openSprints()`, `closedSprints()`,
//! `futureSprints()`), labels, created, updated and resolved (absolute local dates or periods
//! such as `-30d` or `"-4w 2d"`), parent, "Epic Link" (Data Center), id, key and
//! issueLinkType (a link's description from the issue's end: `blocks`, `is blocked by`). Operators:
//! `=`, `!=`, `~`, `!~`, `<`, `<=`, `>`, `>=`, `IN`, `NOT IN`, `IS [NOT] EMPTY|NULL`.
//! Anything else is refused with a 400 in Jira's words (unknown fields, functions, syntax), as
//! the real parser refuses what it cannot read, so a client cannot rely on a clause the fake
//! ignores. Cloud's enhanced search refuses an unbounded query; Data Center runs it. On Data
//! Center `parent` names a sub-task's parent only (children of epics come through Epic Link).

use super::data::{
    Dataset, FIELDS, FieldDef, FieldKind, FieldValue, Flavour, ISSUE_TYPES, Issue, field_def,
};
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
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Project,
    IssueType,
    Status,
    StatusCategory,
    Summary,
    Text,
    Assignee,
    Sprint,
    Labels,
    Created,
    Updated,
    Resolved,
    Parent,
    EpicLink,
    Id,
    Key,
    IssueLinkType,
    Reporter,
    /// A custom field, by its name or `cf[id]`.
    Custom(&'static FieldDef),
}

impl Field {
    fn is_date(self) -> bool {
        matches!(self, Field::Created | Field::Updated | Field::Resolved)
            || matches!(self, Field::Custom(d) if d.kind == FieldKind::Date)
    }
    fn is_text(self) -> bool {
        matches!(self, Field::Summary | Field::Text)
            || matches!(self, Field::Custom(d) if d.kind == FieldKind::Text)
    }
    fn is_number(self) -> bool {
        matches!(self, Field::Custom(d) if d.kind == FieldKind::Number)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    NotContains,
    Lt,
    Le,
    Gt,
    Ge,
    IsEmpty,
    IsNotEmpty,
}

/// A value of a clause: text, or a function (`openSprints()`) resolved when matching.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Text(String),
    Func(String),
}

#[derive(Debug, Clone)]
struct Clause {
    field: Field,
    op: Op,
    values: Vec<Operand>,
    /// Date clauses: the instants of the values, resolved when parsed.
    instants: Vec<i64>,
    /// The values resolved against the site (sprint names, functions), on first match: once
    /// per query, not once per issue.
    wanted: std::sync::OnceLock<Vec<String>>,
    /// `id`/`issue` clauses: the listed ids and keys (upper case), on first match.
    ids: std::sync::OnceLock<(
        std::collections::HashSet<u64>,
        std::collections::HashSet<String>,
    )>,
}

#[derive(Debug, Clone)]
enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Clause(Clause),
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    filter: Option<Expr>,
    order: Vec<(String, bool)>,
    flavour: Flavour,
}

fn no_field(name: &str) -> String {
    format!("Field '{name}' does not exist or you do not have permission to view it.")
}

fn field_of(name: &str, flavour: Flavour) -> Result<Field, String> {
    let epic_link = field_def("Epic Link");
    let lower = name.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "project" => Field::Project,
        "issuetype" | "type" => Field::IssueType,
        "status" => Field::Status,
        "statuscategory" => Field::StatusCategory,
        "summary" => Field::Summary,
        "text" => Field::Text,
        "assignee" => Field::Assignee,
        "sprint" => Field::Sprint,
        "labels" | "label" => Field::Labels,
        "created" | "createddate" => Field::Created,
        "updated" | "updateddate" => Field::Updated,
        "resolved" | "resolutiondate" => Field::Resolved,
        "parent" => Field::Parent,
        "id" | "issue" => Field::Id,
        "key" | "issuekey" => Field::Key,
        "issuelinktype" => Field::IssueLinkType,
        "reporter" => Field::Reporter,
        "epic link" if flavour == Flavour::DataCenter => Field::EpicLink,
        _ if flavour == Flavour::DataCenter && lower == format!("cf[{}]", epic_link.dc_id) => {
            Field::EpicLink
        }
        _ => {
            // A custom field by its name or as `cf[12345]` (the site's own id).
            let def = FIELDS.iter().find(|f| {
                (flavour == Flavour::DataCenter || !f.dc_only)
                    && (f.name.eq_ignore_ascii_case(name)
                        || lower
                            == format!("cf[{}]", f.id(flavour).trim_start_matches("customfield_")))
            });
            match def {
                Some(d) if d.kind == FieldKind::Sprint => Field::Sprint,
                Some(d) if d.kind == FieldKind::EpicLink => Field::EpicLink,
                Some(d) => Field::Custom(d),
                None => return Err(no_field(name)),
            }
        }
    })
}

/// The fields `ORDER BY` sorts on.
const SORTABLE: &[&str] = &[
    "key",
    "issuekey",
    "id",
    "created",
    "updated",
    "resolved",
    "resolutiondate",
    "summary",
    "status",
    "issuetype",
    "type",
    "assignee",
    "reporter",
];

/// Functions the sandbox knows, and for which fields.
const FUNCTIONS: &[(&str, Field)] = &[
    ("currentuser", Field::Assignee),
    ("currentuser", Field::Reporter),
    ("opensprints", Field::Sprint),
    ("closedsprints", Field::Sprint),
    ("futuresprints", Field::Sprint),
];

/// How deep clauses may nest (parentheses and `NOT`s inside each other): a query is parsed and
/// matched by recursion, and a deeper one is refused rather than allowed to exhaust the stack
/// (as a fuzzed WIQL query of 1,500 opening parentheses did in the Azure DevOps sandbox).
pub const MAX_NESTING: usize = 100;

struct Parser<'a> {
    toks: &'a [Tok],
    i: usize,
    flavour: Flavour,
    now: i64,
    /// Parentheses and `NOT`s open around the clause being read.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }
    fn word_is(&self, at: usize, w: &str) -> bool {
        matches!(self.toks.get(at), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    fn at_order(&self) -> bool {
        self.word_is(self.i, "order") && self.word_is(self.i + 1, "by")
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.and()?];
        while self.word_is(self.i, "or") {
            self.i += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.factor()?];
        while self.word_is(self.i, "and") {
            self.i += 1;
            parts.push(self.factor()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Expr::And(parts)
        })
    }

    /// One level deeper into the query, or its error past [`MAX_NESTING`].
    fn nest(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!(
                "Error in the JQL Query: clauses are nested more than {MAX_NESTING} deep."
            ));
        }
        Ok(())
    }

    fn factor(&mut self) -> Result<Expr, String> {
        if self.word_is(self.i, "not") {
            self.i += 1;
            self.nest()?;
            let inner = self.factor()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.i += 1;
            self.nest()?;
            let inner = self.or()?;
            if self.peek() != Some(&Tok::Close) {
                return Err(format!(
                    "Error in the JQL Query: Expecting ')' but got '{}'.",
                    describe(self.peek())
                ));
            }
            self.i += 1;
            self.depth -= 1;
            return Ok(inner);
        }
        self.clause().map(Expr::Clause)
    }

    /// A value, or a function call `name(...)`.
    fn operand(&mut self) -> Result<Operand, String> {
        let v = match self.peek().cloned() {
            Some(Tok::Word(w)) => {
                if self.toks.get(self.i + 1) == Some(&Tok::Open) {
                    let name = w.to_ascii_lowercase();
                    self.i += 2;
                    // Arguments are not used by the functions the sandbox knows.
                    while !matches!(self.peek(), Some(Tok::Close) | None) {
                        self.i += 1;
                    }
                    if self.peek() != Some(&Tok::Close) {
                        return Err(format!(
                            "Error in the JQL Query: Expecting ')' after the arguments of '{w}'."
                        ));
                    }
                    self.i += 1;
                    if !FUNCTIONS.iter().any(|(f, _)| *f == name) {
                        return Err(format!("Unable to find JQL function '{w}()'."));
                    }
                    return Ok(Operand::Func(name));
                }
                Operand::Text(w)
            }
            Some(Tok::Str(w)) => Operand::Text(w),
            other => {
                return Err(format!(
                    "Error in the JQL Query: Expecting either a value, list or function but got '{}'.",
                    describe(other.as_ref())
                ));
            }
        };
        self.i += 1;
        Ok(v)
    }

    fn clause(&mut self) -> Result<Clause, String> {
        let name = match self.peek() {
            Some(Tok::Word(w)) | Some(Tok::Str(w)) => w.clone(),
            other => {
                return Err(format!(
                    "Error in the JQL Query: Expecting a field name but got '{}'.",
                    describe(other)
                ));
            }
        };
        let field = field_of(&name, self.flavour)?;
        self.i += 1;
        let op = match self.peek() {
            Some(Tok::Op(o)) => match o.as_str() {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                "~" => Op::Contains,
                "!~" => Op::NotContains,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                other => {
                    return Err(format!(
                        "Error in the JQL Query: The operator '{other}' is not valid."
                    ));
                }
            },
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(Tok::Word(w))
                if w.eq_ignore_ascii_case("not") && self.word_is(self.i + 1, "in") =>
            {
                self.i += 1;
                Op::NotIn
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("is") => {
                let not = self.word_is(self.i + 1, "not");
                let at = self.i + 1 + usize::from(not);
                if !(self.word_is(at, "empty") || self.word_is(at, "null")) {
                    return Err(
                        "Error in the JQL Query: Expecting 'EMPTY' or 'NULL' after 'IS'.".into(),
                    );
                }
                self.i = at;
                if not { Op::IsNotEmpty } else { Op::IsEmpty }
            }
            other => {
                return Err(format!(
                    "Error in the JQL Query: Expecting an operator after '{name}' but got '{}'.",
                    describe(other)
                ));
            }
        };
        self.i += 1;
        let mut values = Vec::new();
        match op {
            Op::IsEmpty | Op::IsNotEmpty => {}
            Op::In | Op::NotIn => {
                if self.peek() != Some(&Tok::Open) {
                    // `sprint in openSprints()`: a function that gives a list.
                    values.push(self.operand()?);
                } else {
                    self.i += 1;
                    loop {
                        values.push(self.operand()?);
                        match self.peek() {
                            Some(Tok::Comma) => self.i += 1,
                            Some(Tok::Close) => {
                                self.i += 1;
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
                }
            }
            _ => values.push(self.operand()?),
        }
        // Which operators each field takes, in Jira's words when it refuses one.
        let fits = match op {
            Op::Contains | Op::NotContains => field.is_text(),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                field.is_date() || field.is_number() || field == Field::Id
            }
            Op::Eq | Op::Ne | Op::In | Op::NotIn => !field.is_text(),
            Op::IsEmpty | Op::IsNotEmpty => matches!(
                field,
                Field::Assignee
                    | Field::Reporter
                    | Field::Sprint
                    | Field::Labels
                    | Field::Resolved
                    | Field::Parent
                    | Field::EpicLink
                    | Field::Custom(_)
            ),
        };
        if !fits {
            return Err(format!(
                "The operator '{}' is not supported by the '{name}' field.",
                op_text(op)
            ));
        }
        for v in &values {
            if let Operand::Func(f) = v
                && !FUNCTIONS.iter().any(|(n, fld)| n == f && *fld == field)
            {
                return Err(format!(
                    "The function '{f}' is not supported by the '{name}' field."
                ));
            }
        }
        let mut instants = Vec::new();
        if field.is_date() {
            for v in &values {
                let Operand::Text(t) = v else {
                    unreachable!("checked above")
                };
                instants.push(date_value(t, self.now).ok_or_else(|| {
                    format!(
                        "Date value '{t}' for field '{name}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
                    )
                })?);
            }
        }
        Ok(Clause {
            field,
            op,
            values,
            instants,
            wanted: Default::default(),
            ids: Default::default(),
        })
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::In => "in",
        Op::NotIn => "not in",
        Op::Contains => "~",
        Op::NotContains => "!~",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::IsEmpty => "is",
        Op::IsNotEmpty => "is not",
    }
}

/// An absolute local date (`yyyy-MM-dd [HH:mm]`) or a period from now (`-30d`, `-4w 2d`,
/// `1h`; units w, d, h, m).
fn date_value(text: &str, now: i64) -> Option<i64> {
    if let Some(at) = parse_jql_local(text) {
        return Some(at);
    }
    let t = text.trim();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut total: i64 = 0;
    let mut any = false;
    for part in rest.split_whitespace() {
        let unit = part.chars().last()?;
        let n: i64 = part[..part.len() - unit.len_utf8()].parse().ok()?;
        let ms = match unit.to_ascii_lowercase() {
            'w' => 7 * 86_400_000,
            'd' => 86_400_000,
            'h' => 3_600_000,
            'm' => 60_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(ms)?)?;
        any = true;
    }
    if !any {
        return None;
    }
    now.checked_add(sign * total)
}

/// Parse a JQL string; errors carry Jira's wording where it is known. `now` (ms) anchors
/// relative dates.
pub fn parse(jql: &str, flavour: Flavour, now: i64) -> Result<Query, String> {
    let toks = tokens(jql)?;
    let mut p = Parser {
        toks: &toks,
        i: 0,
        flavour,
        now,
        depth: 0,
    };
    let filter = if p.peek().is_none() || p.at_order() {
        None
    } else {
        Some(p.or()?)
    };
    let mut order = Vec::new();
    if p.at_order() {
        p.i += 2;
        loop {
            let name = match p.peek() {
                Some(Tok::Word(w)) | Some(Tok::Str(w)) => w.clone(),
                _ => {
                    return Err(
                        "Error in the JQL Query: Expecting a field name after 'order by'.".into(),
                    );
                }
            };
            let lower = name.to_ascii_lowercase();
            if !SORTABLE.contains(&lower.as_str()) {
                return Err(no_field(&name));
            }
            p.i += 1;
            let mut desc = false;
            if p.word_is(p.i, "desc") {
                desc = true;
                p.i += 1;
            } else if p.word_is(p.i, "asc") {
                p.i += 1;
            }
            order.push((lower, desc));
            if p.peek() == Some(&Tok::Comma) {
                p.i += 1;
                continue;
            }
            break;
        }
    }
    if p.i < toks.len() {
        return Err(format!(
            "Error in the JQL Query: Expecting either 'OR', 'AND' or 'ORDER BY' but got '{}'.",
            describe(p.peek())
        ));
    }
    // Cloud's enhanced search refuses unbounded queries; Data Center runs them.
    if filter.is_none() && flavour == Flavour::Cloud {
        return Err("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.".into());
    }
    Ok(Query {
        filter,
        order,
        flavour,
    })
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

/// Every word of `needle` appears in `hay`, case-insensitive.
fn words_in(hay: &str, needle: &str) -> bool {
    let hay = hay.to_lowercase();
    needle
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .all(|w| hay.contains(&w))
}

impl Clause {
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter_map(|v| match v {
            Operand::Text(t) => Some(t.as_str()),
            Operand::Func(_) => None,
        })
    }

    fn matches(&self, issue: &Issue, data: &Dataset, flavour: Flavour) -> bool {
        let f = self.field;
        if f.is_date() {
            let at = match f {
                Field::Created => Some(issue.created),
                Field::Updated => Some(issue.updated),
                // A date field's day, read in the user's zone as the query's dates are.
                Field::Custom(d) => match issue.custom.get(d.name) {
                    Some(v) => parse_jql_local(&v.display()),
                    None => None,
                },
                _ => issue.resolved,
            };
            return match (self.op, at) {
                (Op::IsEmpty, at) => at.is_none(),
                (Op::IsNotEmpty, at) => at.is_some(),
                (_, None) => false,
                (op, Some(at)) => {
                    // JQL compares at minute precision.
                    let at = at - at.rem_euclid(60_000);
                    self.instants.iter().any(|&v| match op {
                        Op::Ge => at >= v,
                        Op::Gt => at > v,
                        Op::Lt => at < v,
                        Op::Le => at <= v,
                        Op::Eq | Op::In => at == v,
                        _ => at != v,
                    })
                }
            };
        }
        if let Field::Custom(d) = f
            && d.kind == FieldKind::Text
        {
            let value = issue.custom.get(d.name).map(|v| v.display());
            return match self.op {
                Op::IsEmpty => value.is_none(),
                Op::IsNotEmpty => value.is_some(),
                op => {
                    let hit = value
                        .as_deref()
                        .is_some_and(|v| self.texts().any(|t| words_in(v, t)));
                    hit == (op == Op::Contains)
                }
            };
        }
        if let Field::Custom(d) = f
            && d.kind == FieldKind::Number
        {
            let value = match issue.custom.get(d.name) {
                Some(FieldValue::Number(n)) => Some(*n),
                _ => None,
            };
            let wanted: Vec<f64> = self.texts().filter_map(|t| t.parse().ok()).collect();
            return match (self.op, value) {
                (Op::IsEmpty, v) => v.is_none(),
                (Op::IsNotEmpty, v) => v.is_some(),
                (_, None) => false,
                (op, Some(n)) => {
                    let any = wanted.iter().any(|&w| match op {
                        Op::Lt => n < w,
                        Op::Le => n <= w,
                        Op::Gt => n > w,
                        Op::Ge => n >= w,
                        _ => n == w,
                    });
                    if matches!(op, Op::Ne | Op::NotIn) {
                        !any
                    } else {
                        any
                    }
                }
            };
        }
        if f.is_text() {
            let mut hay = issue.summary.clone();
            if f == Field::Text {
                for c in &issue.comments {
                    hay.push('\n');
                    match c.body.as_str() {
                        Some(t) => hay.push_str(t),
                        None => hay.push_str(&super::adf_text(&c.body)),
                    }
                }
            }
            let hit = self.texts().any(|t| words_in(&hay, t));
            return hit == (self.op == Op::Contains);
        }
        // `id in (...)` with hundreds of ids: a set look-up per issue.
        if f == Field::Id && matches!(self.op, Op::Eq | Op::In | Op::Ne | Op::NotIn) {
            let (ids, keys) = self.ids.get_or_init(|| {
                let mut ids = std::collections::HashSet::new();
                let mut keys = std::collections::HashSet::new();
                for t in self.texts() {
                    match t.parse::<u64>() {
                        Ok(id) => {
                            ids.insert(id);
                        }
                        Err(_) => {
                            keys.insert(t.to_ascii_uppercase());
                        }
                    }
                }
                (ids, keys)
            });
            let any = ids.contains(&issue.id)
                || (!keys.is_empty() && keys.contains(&issue.key.to_ascii_uppercase()));
            return any == matches!(self.op, Op::Eq | Op::In);
        }
        // The issue's values for the field; a clause matches when any value fits. Borrowed
        // where the issue or the site holds them: a search evaluates each clause on every
        // issue of the site once, and a copy of each value was a fifth of the sandbox's time
        // in a sync's searches.
        use std::borrow::Cow::{self, Borrowed, Owned};
        let values: Vec<Cow<'_, str>> = match f {
            Field::Project => {
                let p = data.project_of(&issue.key);
                vec![Borrowed(p.key), Borrowed(p.id)]
            }
            Field::IssueType => {
                let t = &ISSUE_TYPES[issue.issue_type];
                vec![Borrowed(t.id), Borrowed(t.name)]
            }
            Field::Status => vec![Borrowed(issue.status)],
            Field::StatusCategory => {
                let (id, name) = match issue.status_category {
                    "new" => ("2", "To Do"),
                    "indeterminate" => ("4", "In Progress"),
                    _ => ("3", "Done"),
                };
                vec![
                    Borrowed(issue.status_category),
                    Borrowed(id),
                    Borrowed(name),
                ]
            }
            Field::Assignee => match issue.assignee {
                Some(a) => {
                    let u = &data.users[a];
                    vec![Borrowed(&u.account_id), Borrowed(&u.name)]
                }
                None => vec![],
            },
            // An issue without a reporter was created by the API user.
            Field::Reporter => match issue.reporter {
                Some(a) => {
                    let u = &data.users[a];
                    vec![Borrowed(&u.account_id), Borrowed(&u.name)]
                }
                None => vec![Borrowed(super::BOT_ACCOUNT_ID)],
            },
            // A select is matched by its option's value.
            Field::Custom(d) => issue
                .custom
                .get(d.name)
                .map(|v| Owned(v.display()))
                .into_iter()
                .collect(),
            Field::Sprint => issue.sprints.iter().map(|s| Owned(s.to_string())).collect(),
            Field::Labels => issue.labels.iter().map(|l| Borrowed(l.as_str())).collect(),
            // On Data Center `parent` is a sub-task's; epics' children come by Epic Link.
            Field::Parent
                if flavour == Flavour::DataCenter
                    && ISSUE_TYPES[issue.issue_type].hierarchy_level >= 0 =>
            {
                vec![]
            }
            // Data Center's Epic Link is a standard issue's, never a sub-task's.
            Field::EpicLink if ISSUE_TYPES[issue.issue_type].hierarchy_level < 0 => vec![],
            Field::Parent | Field::EpicLink => {
                issue.parent.as_deref().map(Borrowed).into_iter().collect()
            }
            Field::Id => vec![Owned(issue.id.to_string())],
            Field::Key => vec![Borrowed(&issue.key)],
            // A link reads from each end: "blocks" from the blocker, "is blocked by" from
            // the other.
            Field::IssueLinkType => data
                .links
                .iter()
                .filter_map(|l| {
                    let t = super::data::LINK_TYPES.iter().find(|t| t.0 == l.kind)?;
                    if l.outward == issue.key {
                        Some(Borrowed(t.1))
                    } else if l.inward == issue.key {
                        Some(Borrowed(t.2))
                    } else {
                        None
                    }
                })
                .collect(),
            _ => vec![],
        };
        let wanted = self.wanted.get_or_init(|| {
            self.values
                .iter()
                .flat_map(|v| match v {
                    Operand::Text(t) => {
                        // A sprint may be named instead of numbered.
                        if f == Field::Sprint
                            && let Some(s) =
                                data.sprints.iter().find(|s| s.name.eq_ignore_ascii_case(t))
                        {
                            vec![s.id.to_string()]
                        } else {
                            vec![t.clone()]
                        }
                    }
                    Operand::Func(name) => match name.as_str() {
                        "currentuser" => vec![super::BOT_ACCOUNT_ID.to_string()],
                        "opensprints" | "closedsprints" | "futuresprints" => {
                            let state = match name.as_str() {
                                "opensprints" => "active",
                                "closedsprints" => "closed",
                                _ => "future",
                            };
                            data.sprints
                                .iter()
                                .filter(|s| s.state == state)
                                .map(|s| s.id.to_string())
                                .collect()
                        }
                        _ => vec![],
                    },
                })
                .collect()
        });
        let any = values
            .iter()
            .any(|have| wanted.iter().any(|w| w.eq_ignore_ascii_case(have)));
        match self.op {
            Op::Eq | Op::In => any,
            Op::Ne | Op::NotIn => !values.is_empty() && !any,
            Op::IsEmpty => values.is_empty(),
            Op::IsNotEmpty => !values.is_empty(),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                // Ids compare as numbers.
                let id = issue.id as i64;
                self.texts()
                    .filter_map(|t| t.parse::<i64>().ok())
                    .any(|v| match self.op {
                        Op::Lt => id < v,
                        Op::Le => id <= v,
                        Op::Gt => id > v,
                        _ => id >= v,
                    })
            }
            Op::Contains | Op::NotContains => false,
        }
    }
}

impl Expr {
    fn matches(&self, issue: &Issue, data: &Dataset, flavour: Flavour) -> bool {
        match self {
            Expr::And(parts) => parts.iter().all(|p| p.matches(issue, data, flavour)),
            Expr::Or(parts) => parts.iter().any(|p| p.matches(issue, data, flavour)),
            Expr::Not(inner) => !inner.matches(issue, data, flavour),
            Expr::Clause(c) => c.matches(issue, data, flavour),
        }
    }
}

impl Query {
    /// Does the issue match?
    pub fn matches(&self, issue: &Issue, data: &Dataset) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.matches(issue, data, self.flavour))
    }

    /// The keys (upper case) of the parents a query's hits must be children of: those of a
    /// `parent` or `"Epic Link"` clause with `=` or `in` among the conditions at its top, so
    /// that the hits are looked for among those parents' children instead of on every issue
    /// of the site. None when it names no such clause (or names a function there).
    pub fn parents(&self) -> Option<Vec<String>> {
        let top: &[Expr] = match self.filter.as_ref()? {
            Expr::And(parts) => parts,
            one => std::slice::from_ref(one),
        };
        top.iter().find_map(|e| match e {
            Expr::Clause(c)
                if matches!(c.field, Field::Parent | Field::EpicLink)
                    && matches!(c.op, Op::Eq | Op::In) =>
            {
                c.values
                    .iter()
                    .map(|v| match v {
                        Operand::Text(t) => Some(t.to_ascii_uppercase()),
                        Operand::Func(_) => None,
                    })
                    .collect()
            }
            _ => None,
        })
    }

    /// Sort issues by the ORDER BY clause (Jira's default: by key, newest first).
    pub fn sort(&self, issues: &mut [&Issue], data: &Dataset) {
        self.sort_by_issue(issues, |i| i, data)
    }

    /// Sort anything that names an issue by the ORDER BY clause.
    pub fn sort_by_issue<T>(&self, items: &mut [T], issue: impl Fn(&T) -> &Issue, data: &Dataset) {
        let order = if self.order.is_empty() {
            vec![("key".to_string(), true)]
        } else {
            self.order.clone()
        };
        items.sort_by(|a, b| {
            let (a, b) = (issue(a), issue(b));
            for (field, desc) in &order {
                let ord = match field.as_str() {
                    "updated" => a.updated.cmp(&b.updated),
                    "created" => a.created.cmp(&b.created),
                    "resolved" | "resolutiondate" => a.resolved.cmp(&b.resolved),
                    "summary" => a.summary.to_lowercase().cmp(&b.summary.to_lowercase()),
                    "status" => a.status.cmp(b.status),
                    "issuetype" | "type" => ISSUE_TYPES[a.issue_type]
                        .name
                        .cmp(ISSUE_TYPES[b.issue_type].name),
                    "assignee" => {
                        let name =
                            |i: &Issue| i.assignee.map(|u| data.users[u].display_name.clone());
                        name(a).cmp(&name(b))
                    }
                    "reporter" => {
                        let name =
                            |i: &Issue| i.reporter.map(|u| data.users[u].display_name.clone());
                        name(a).cmp(&name(b))
                    }
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

    const NOW: i64 = 1_795_775_400_000;

    fn count(jql: &str, flavour: Flavour) -> usize {
        let d = Dataset::demo();
        let q = parse(jql, flavour, NOW).unwrap_or_else(|e| panic!("{jql}: {e}"));
        d.issues.iter().filter(|i| q.matches(i, &d)).count()
    }

    #[test]
    fn a_search_naming_parents_finds_their_children_as_a_scan_of_the_site_finds_them() {
        for d in [Dataset::demo(), Dataset::synthetic(40)] {
            let level = |i: &Issue| ISSUE_TYPES[i.issue_type].hierarchy_level;
            let epics: Vec<&str> = d
                .issues
                .iter()
                .filter(|i| level(i) == 1)
                .map(|i| i.key.as_str())
                .take(3)
                .collect();
            let (e1, e2, e3) = (epics[0], epics[1].to_ascii_lowercase(), epics[2]);
            // A story with sub-tasks where the site has one (the demo), else one without.
            let with_subtasks = d
                .issues
                .iter()
                .find(|i| level(i) < 0)
                .and_then(|i| i.parent.clone())
                .or_else(|| {
                    d.issues
                        .iter()
                        .find(|i| level(i) == 0)
                        .map(|i| i.key.clone())
                })
                .expect("a story");
            let p = &d.project;
            let planned = [
                format!("parent = {e1}"),
                format!("parent in ({e1}, {e2}) ORDER BY updated DESC"),
                format!(
                    "project = {p} AND issuetype in (10005) AND parent in ({e1}, {e2}, {e3}) ORDER BY key ASC"
                ),
                format!("parent in (NOPE-1, {e1}, {e1}) AND status != Done ORDER BY summary ASC"),
                format!("parent = {with_subtasks}"),
                format!("\"Epic Link\" in ({e1}, {e3}) AND project = {p}"),
                "parent = 10001".to_string(),
            ];
            let scanned = [
                format!("parent in ({e1}) OR parent = {e3}"),
                format!("parent != {e1} AND project = {p}"),
                format!("not parent = {e1}"),
                format!("parent is not EMPTY AND project = {p} ORDER BY key DESC"),
            ];
            for flavour in [Flavour::Cloud, Flavour::DataCenter] {
                let mut found = 0;
                for (jql, plan) in planned
                    .iter()
                    .map(|q| (q, true))
                    .chain(scanned.iter().map(|q| (q, false)))
                {
                    if jql.contains("Epic Link") && flavour == Flavour::Cloud {
                        continue;
                    }
                    let q = parse(jql, flavour, NOW).unwrap_or_else(|e| panic!("{jql}: {e}"));
                    assert_eq!(q.parents().is_some(), plan, "{jql}");
                    let mut scan: Vec<&Issue> =
                        d.issues.iter().filter(|i| q.matches(i, &d)).collect();
                    q.sort(&mut scan, &d);
                    let index = d.index();
                    let hits = super::super::search::hits(&q, &d, &index);
                    let hits: Vec<&Issue> = hits.iter().map(|&at| &d.issues[at]).collect();
                    assert_eq!(
                        hits.iter().map(|i| &i.key).collect::<Vec<_>>(),
                        scan.iter().map(|i| &i.key).collect::<Vec<_>>(),
                        "{flavour:?}: {jql}"
                    );
                    found += usize::from(plan) * hits.len();
                }
                // The children are there to be found, in either flavour.
                assert!(found > 3, "{flavour:?}: {found}");
            }
        }
    }

    #[test]
    fn deep_queries_are_refused_without_exhausting_the_stack() {
        for deep in [
            format!("{}project = BIZ{}", "(".repeat(50_000), ")".repeat(50_000)),
            format!("{}project = BIZ", "not ".repeat(20_000)),
            format!(
                "{}project = BIZ{}",
                "(".repeat(MAX_NESTING + 1),
                ")".repeat(MAX_NESTING + 1)
            ),
        ] {
            let e = parse(&deep, Flavour::Cloud, NOW).expect_err("refused");
            assert!(e.contains("nested more than 100 deep"), "{e}");
        }
        let at_limit = format!(
            "{}project = BIZ{}",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert_eq!(
            count(&at_limit, Flavour::Cloud),
            count("project = BIZ", Flavour::Cloud)
        );
        // Long chains are lists, read in a loop: a thousand clauses run.
        let chain = vec!["project = BIZ"; 1_000].join(" AND ");
        assert_eq!(
            count(&chain, Flavour::Cloud),
            count("project = BIZ", Flavour::Cloud)
        );
    }

    #[test]
    fn parses_what_a_connector_sends() {
        assert_eq!(
            count(
                "project = BIZ AND issuetype in (10000) ORDER BY key ASC",
                Flavour::Cloud
            ),
            25
        );
        assert_eq!(
            count(
                "parent in (BIZ-9, BIZ-10) AND issuetype not in (10005)",
                Flavour::Cloud
            ),
            22
        );
        assert_eq!(count("\"Epic Link\" = BIZ-9", Flavour::DataCenter), 12);
        assert!(
            parse("\"Epic Link\" = BIZ-9", Flavour::Cloud, NOW).is_err(),
            "deprecated on Cloud"
        );
        // On Data Center `parent` is a sub-task's parent: an epic's stories are not its.
        assert_eq!(count("parent = BIZ-9", Flavour::DataCenter), 0);
    }

    #[test]
    fn reads_what_people_write() {
        let d = Dataset::demo();
        let all = d.issues.len();
        let done = d
            .issues
            .iter()
            .filter(|i| i.status_category == "done")
            .count();
        // The site's other project (OPS) has four issues, none done.
        let elsewhere = d
            .issues
            .iter()
            .filter(|i| i.key.starts_with("OPS-"))
            .count();
        assert_eq!(elsewhere, 4);
        assert_eq!(count("statusCategory = Done", Flavour::Cloud), done);
        assert_eq!(
            count(
                "project = BIZ AND NOT statusCategory = Done",
                Flavour::Cloud
            ),
            all - elsewhere - done
        );
        assert_eq!(count("project = OPS", Flavour::Cloud), elsewhere);
        assert_eq!(count("project in (10001)", Flavour::DataCenter), elsewhere);
        assert_eq!(count("project != BIZ", Flavour::Cloud), elsewhere);
        assert_eq!(
            count(
                "statusCategory = Done OR statusCategory != Done",
                Flavour::Cloud
            ),
            all
        );
        let s = &d.issues[8].summary;
        let word = s.split_whitespace().next().unwrap();
        assert!(count(&format!("summary ~ \"{word}\""), Flavour::Cloud) >= 1);
        assert_eq!(count("summary ~ \"zzzz-nothing\"", Flavour::Cloud), 0);
        let open = d.sprints.iter().find(|s| s.state == "active").unwrap().id;
        assert_eq!(
            count("sprint in openSprints()", Flavour::Cloud),
            d.issues
                .iter()
                .filter(|i| i
                    .sprints
                    .iter()
                    .any(|s| d.sprints.iter().any(|x| x.id == *s && x.state == "active")))
                .count()
        );
        assert_eq!(
            count(&format!("sprint = {open}"), Flavour::Cloud),
            d.issues
                .iter()
                .filter(|i| i.sprints.contains(&open))
                .count()
        );
        assert_eq!(count("assignee = currentUser()", Flavour::Cloud), 0);
        assert_eq!(count("issueLinkType = blocks", Flavour::Cloud), 3);
        assert_eq!(
            count("issueLinkType = \"is blocked by\"", Flavour::Cloud),
            3
        );
        assert_eq!(
            count("issueLinkType in (\"relates to\")", Flavour::Cloud),
            2
        );
        assert_eq!(
            count("assignee is EMPTY", Flavour::Cloud),
            d.issues.iter().filter(|i| i.assignee.is_none()).count()
        );
        assert_eq!(
            count(
                "project = BIZ AND (issuetype = 10000 OR issuetype = 10001)",
                Flavour::Cloud
            ),
            d.issues
                .iter()
                .filter(|i| i.issue_type <= 1 && !i.key.starts_with("OPS-"))
                .count()
        );
        assert_eq!(count("created >= -36500d", Flavour::Cloud), all);
        assert_eq!(
            count("created > \"-4w 2d\" AND created < -4w", Flavour::Cloud),
            {
                let (a, b) = (NOW - 30 * 86_400_000, NOW - 28 * 86_400_000);
                d.issues
                    .iter()
                    .filter(|i| {
                        let c = i.created - i.created.rem_euclid(60_000);
                        c > a && c < b
                    })
                    .count()
            }
        );
        // Data Center runs an unbounded query.
        assert_eq!(count("ORDER BY key", Flavour::DataCenter), all);
    }

    #[test]
    fn sorts_by_what_it_is_asked() {
        let d = Dataset::demo();
        let q = parse("project = BIZ ORDER BY summary ASC", Flavour::Cloud, NOW).unwrap();
        let mut hits: Vec<&Issue> = d.issues.iter().filter(|i| q.matches(i, &d)).collect();
        q.sort(&mut hits, &d);
        assert!(
            hits.windows(2)
                .all(|w| w[0].summary.to_lowercase() <= w[1].summary.to_lowercase())
        );
    }

    #[test]
    fn refuses_unbounded_unknown_and_malformed() {
        let err = |jql: &str| parse(jql, Flavour::Cloud, NOW).unwrap_err();
        assert!(err("order by key desc").contains("Unbounded"));
        assert!(err("").contains("Unbounded"));
        assert!(err("nosuchfield = x").contains("Field 'nosuchfield' does not exist"));
        assert!(
            err("project = BIZ ORDER BY nosuchfield")
                .contains("Field 'nosuchfield' does not exist")
        );
        assert!(
            err("sprint in nosuchSprints()")
                .contains("Unable to find JQL function 'nosuchSprints()'")
        );
        assert!(
            err("status ~ Done")
                .contains("The operator '~' is not supported by the 'status' field")
        );
        assert!(err("summary = x").contains("is not supported by the 'summary' field"));
        assert!(err("updated >= \"yesterday\"").contains("invalid"));
        assert!(err("(project = BIZ").contains("Expecting ')'"));
        assert!(err("project = BIZ project = BIZ").contains("Expecting either 'OR', 'AND'"));
        assert!(err("assignee = openSprints()").contains("not supported by the 'assignee' field"));
    }
}
