//! WIQL, the Work Item Query Language, as far as clients of a portfolio tool use it:
//!
//! ```text
//! SELECT [f], ... FROM WorkItems [WHERE cond] [ORDER BY [f] [ASC|DESC], ...] [ASOF 'instant']
//! SELECT [f], ... FROM WorkItemLinks WHERE [Source].[f] ... AND [System.Links.LinkType] = '...'
//!        AND [Target].[f] ... [ORDER BY ...] MODE (Recursive | MustContain | MayContain)
//! ```
//!
//! Conditions: `=`, `<>`, `!=`, `<`, `<=`, `>`, `>=`, `IN (...)`, `NOT IN (...)`, `UNDER`,
//! `NOT UNDER`, `CONTAINS`, `NOT CONTAINS`, with `AND`, `OR`, `NOT` and parentheses; values are
//! `'text'` (with `''` for a quote), numbers, `@project`, `@me`, `@today` (± days) or another
//! `[field]`. Fields by reference name or display name. As the service does: a field it does
//! not know is TF51005; a time in a date literal without `timePrecision=true` is an error
//! (dates compare by day); more than 20,000 results without `$top` is VS402337.

use super::data::{AdoDataset, FieldType, WorkItem, field_def, reverse_of};
use crate::time::{ado_timestamp, parse_ado_instant};
use serde_json::Value;
use std::collections::BTreeMap;

/// The most results a query may have (without `$top`).
pub const MAX_RESULTS: usize = 20_000;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Selected fields (reference names).
    pub select: Vec<String>,
    /// `WorkItems` or `WorkItemLinks`.
    pub links: bool,
    /// The condition (for link queries: on the source).
    pub condition: Option<Expr>,
    /// Link queries: the link type wanted.
    pub link_type: Option<String>,
    /// Link queries: the condition on the target.
    pub target: Option<Expr>,
    /// Sort order: (reference name, descending).
    pub order: Vec<(String, bool)>,
    /// `ASOF` instant (ms).
    pub as_of: Option<i64>,
    /// Link queries: `Recursive`, `MustContain` or `MayContain`.
    pub mode: Option<String>,
}

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// Not.
    Not(Box<Expr>),
    /// A comparison of a field (reference name) with values.
    Cmp(String, Op, Vec<Operand>),
}

/// An operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `IN (...)`
    In,
    /// `UNDER`
    Under,
    /// `CONTAINS`
    Contains,
}

/// A right-hand side.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// A macro with an offset: `@today - 7`.
    Macro(String, f64),
    /// Another field.
    Field(String),
}

/// What a query needs from its request.
pub struct Context<'a> {
    /// The project of the URL, if any.
    pub project: Option<&'a str>,
    /// The caller.
    pub me: usize,
    /// Now, ms.
    pub now: i64,
    /// `timePrecision=true`.
    pub time_precision: bool,
}

/// A query error: the message the service gives.
#[derive(Debug, Clone, PartialEq)]
pub struct WiqlError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Field(String),
    Text(String),
    Number(f64),
    Macro(String),
    Sym(String),
}

fn tokens(text: &str) -> Result<Vec<Tok>, WiqlError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '[' {
            let end = chars[i..]
                .iter()
                .position(|&c| c == ']')
                .ok_or_else(|| syntax("a field name is not closed with ]"))?;
            out.push(Tok::Field(chars[i + 1..i + end].iter().collect()));
            i += end + 1;
        } else if c == '\'' || c == '"' {
            let quote = c;
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(syntax("a text value is not closed")),
                    Some(&q) if q == quote && chars.get(i + 1) == Some(&quote) => {
                        s.push(quote);
                        i += 2;
                    }
                    Some(&q) if q == quote => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Text(s));
        } else if c == '@' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Macro(
                chars[start..i].iter().collect::<String>().to_lowercase(),
            ));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Tok::Number(
                s.parse().map_err(|_| syntax("a number is malformed"))?,
            ));
        } else if "<>=!".contains(c) {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["<>", "<=", ">=", "!="].contains(&two.as_str()) {
                out.push(Tok::Sym(two));
                i += 2;
            } else {
                out.push(Tok::Sym(c.to_string()));
                i += 1;
            }
        } else if "(),.+-".contains(c) {
            out.push(Tok::Sym(c.to_string()));
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else {
            return Err(syntax(&format!("unexpected character `{c}`")));
        }
    }
    Ok(out)
}

fn syntax(what: &str) -> WiqlError {
    WiqlError(format!(
        "TF51006: The query statement is not valid: {what}."
    ))
}

/// The longest query text the service runs (WIQL's documented limit of 32K characters).
pub const MAX_QUERY_CHARS: usize = 32 * 1024;

/// How deep conditions may nest (parentheses and `NOT`s inside each other): a query is parsed
/// and evaluated by recursion, and a deeper one is refused rather than allowed to exhaust the
/// stack (a fuzzed query of 1,500 opening parentheses did).
pub const MAX_NESTING: usize = 100;

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    links: bool,
    /// Parentheses and `NOT`s open around the condition being read.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    fn word_at(&self, offset: usize, w: &str) -> bool {
        matches!(self.toks.get(self.at + offset), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    fn sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if x == s)
    }
    fn expect_word(&mut self, w: &str) -> Result<(), WiqlError> {
        if self.word(w) {
            self.at += 1;
            Ok(())
        } else {
            Err(syntax(&format!("expected {w}")))
        }
    }
    fn expect_sym(&mut self, s: &str) -> Result<(), WiqlError> {
        if self.sym(s) {
            self.at += 1;
            Ok(())
        } else {
            Err(syntax(&format!("expected `{s}`")))
        }
    }

    /// A field reference, `[System.Id]`, `System.Id`, `[Source].[System.Id]`; returns the
    /// prefix (source/target, lower case) and the reference name.
    fn field(&mut self) -> Result<(Option<String>, String), WiqlError> {
        const KEYWORDS: &[&str] = &[
            "SELECT", "FROM", "WHERE", "ORDER", "BY", "AND", "OR", "NOT", "ASOF", "MODE",
        ];
        let first = match self.peek() {
            Some(Tok::Field(f)) => f.clone(),
            Some(Tok::Word(w)) if !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(w)) => w.clone(),
            _ => return Err(syntax("expected a field")),
        };
        self.at += 1;
        let lower = first.to_ascii_lowercase();
        if (lower == "source" || lower == "target") && self.sym(".") {
            self.at += 1;
            let (_, name) = self.field()?;
            return Ok((Some(lower), name));
        }
        if lower == "system.links.linktype" {
            return Ok((None, "System.Links.LinkType".to_string()));
        }
        let def = field_def(&first).ok_or_else(|| {
            WiqlError(format!(
                "TF51005: The query references a field that does not exist. The error is caused by «[{first}]»."
            ))
        })?;
        Ok((None, def.reference.to_string()))
    }

    fn operand(&mut self) -> Result<Operand, WiqlError> {
        let t = self
            .peek()
            .cloned()
            .ok_or_else(|| syntax("expected a value"))?;
        self.at += 1;
        Ok(match t {
            Tok::Text(s) => Operand::Text(s),
            Tok::Number(n) => Operand::Number(n),
            Tok::Sym(s) if s == "-" => match self.peek().cloned() {
                Some(Tok::Number(n)) => {
                    self.at += 1;
                    Operand::Number(-n)
                }
                _ => return Err(syntax("expected a number after -")),
            },
            Tok::Macro(m) => {
                let mut offset = 0.0;
                if self.sym("+") || self.sym("-") {
                    let sign = if self.sym("-") { -1.0 } else { 1.0 };
                    self.at += 1;
                    match self.peek().cloned() {
                        Some(Tok::Number(n)) => {
                            self.at += 1;
                            offset = sign * n;
                        }
                        _ => return Err(syntax("expected a number after the macro's sign")),
                    }
                }
                Operand::Macro(m, offset)
            }
            Tok::Field(f) => {
                self.at -= 1;
                let (_, name) = self.field()?;
                let _ = f;
                Operand::Field(name)
            }
            _ => return Err(syntax("expected a value")),
        })
    }

    fn comparison(&mut self) -> Result<(Option<String>, Expr), WiqlError> {
        let (prefix, field) = self.field()?;
        let mut negate = false;
        if self.word("NOT") {
            negate = true;
            self.at += 1;
        }
        let op = match self.peek().cloned() {
            Some(Tok::Sym(s)) => {
                self.at += 1;
                match s.as_str() {
                    "=" => Op::Eq,
                    "<>" | "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    _ => return Err(syntax(&format!("unknown operator `{s}`"))),
                }
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IN") => {
                self.at += 1;
                Op::In
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("UNDER") => {
                self.at += 1;
                Op::Under
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("CONTAINS") => {
                self.at += 1;
                if self.word("WORDS") {
                    self.at += 1;
                }
                Op::Contains
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("EVER") => {
                self.at += 1;
                Op::Eq
            }
            _ => return Err(syntax(&format!("expected an operator after [{field}]"))),
        };
        let values = if op == Op::In {
            self.expect_sym("(")?;
            let mut v = vec![self.operand()?];
            while self.sym(",") {
                self.at += 1;
                v.push(self.operand()?);
            }
            self.expect_sym(")")?;
            v
        } else {
            vec![self.operand()?]
        };
        let cmp = Expr::Cmp(field, op, values);
        Ok((
            prefix,
            if negate {
                Expr::Not(Box::new(cmp))
            } else {
                cmp
            },
        ))
    }

    /// A condition; for link queries, parts are sorted into source, link type and target.
    fn or(&mut self, parts: &mut LinkParts) -> Result<Option<Expr>, WiqlError> {
        let mut terms = vec![self.and(parts)?];
        while self.word("OR") {
            self.at += 1;
            terms.push(self.and(parts)?);
        }
        Ok(chain(terms.into_iter().flatten().collect(), Expr::Or))
    }

    fn and(&mut self, parts: &mut LinkParts) -> Result<Option<Expr>, WiqlError> {
        let mut terms = vec![self.unary(parts)?];
        while self.word("AND") {
            self.at += 1;
            terms.push(self.unary(parts)?);
        }
        Ok(chain(terms.into_iter().flatten().collect(), Expr::And))
    }

    /// One level deeper into the condition, or the query's error past [`MAX_NESTING`].
    fn nest(&mut self) -> Result<(), WiqlError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(syntax(&format!(
                "conditions are nested more than {MAX_NESTING} deep"
            )));
        }
        Ok(())
    }

    fn unary(&mut self, parts: &mut LinkParts) -> Result<Option<Expr>, WiqlError> {
        if self.word("NOT") && !self.word_at(1, "IN") {
            self.at += 1;
            self.nest()?;
            let e = self.unary(parts)?.map(|e| Expr::Not(Box::new(e)));
            self.depth -= 1;
            return Ok(e);
        }
        if self.sym("(") {
            self.at += 1;
            self.nest()?;
            let e = self.or(parts)?;
            self.expect_sym(")")?;
            self.depth -= 1;
            return Ok(e);
        }
        let (prefix, cmp) = self.comparison()?;
        if !self.links {
            if prefix.is_some() {
                return Err(syntax(
                    "[Source] and [Target] belong in a query FROM WorkItemLinks",
                ));
            }
            return Ok(Some(cmp));
        }
        match (prefix.as_deref(), &cmp) {
            (None, Expr::Cmp(f, Op::Eq, v)) if f == "System.Links.LinkType" => {
                if let Some(Operand::Text(t)) = v.first() {
                    parts.link_type = Some(t.clone());
                }
                Ok(None)
            }
            (Some("target"), _) => {
                parts.target.push(cmp);
                Ok(None)
            }
            _ => Ok(Some(cmp)),
        }
    }
}

#[derive(Default)]
struct LinkParts {
    link_type: Option<String>,
    /// The conditions on the target, in the order written (ANDed).
    target: Vec<Expr>,
}

/// `terms` joined by `join` (AND, OR) in the order written, leaning right: `a AND (b AND c)`.
/// [`eval`] walks down the right of a chain in a loop, so a chain of as many conditions as a
/// query may hold (some 1,700) takes no deeper a stack than one of two.
fn chain(terms: Vec<Expr>, join: fn(Box<Expr>, Box<Expr>) -> Expr) -> Option<Expr> {
    terms
        .into_iter()
        .rev()
        .reduce(|right, left| join(Box::new(left), Box::new(right)))
}

/// Parse a query.
pub fn parse(text: &str) -> Result<Query, WiqlError> {
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(syntax(&format!(
            "the query is {chars} characters long, more than the {MAX_QUERY_CHARS} a query may have"
        )));
    }
    let mut p = Parser {
        toks: tokens(text)?,
        at: 0,
        links: false,
        depth: 0,
    };
    p.expect_word("SELECT")?;
    let mut select = Vec::new();
    loop {
        if p.sym("*") {
            return Err(syntax("SELECT * is not supported; name the fields"));
        }
        let (_, f) = p.field()?;
        select.push(f);
        if p.sym(",") {
            p.at += 1;
        } else {
            break;
        }
    }
    p.expect_word("FROM")?;
    let links = if p.word("WorkItems") {
        false
    } else if p.word("WorkItemLinks") {
        true
    } else {
        return Err(syntax("FROM must name WorkItems or WorkItemLinks"));
    };
    p.at += 1;
    p.links = links;
    let mut parts = LinkParts::default();
    let condition = if p.word("WHERE") {
        p.at += 1;
        p.or(&mut parts)?
    } else {
        None
    };
    let mut order = Vec::new();
    if p.word("ORDER") {
        p.at += 1;
        p.expect_word("BY")?;
        loop {
            let (_, f) = p.field()?;
            let mut desc = false;
            if p.word("DESC") {
                desc = true;
                p.at += 1;
            } else if p.word("ASC") {
                p.at += 1;
            }
            order.push((f, desc));
            if p.sym(",") {
                p.at += 1;
            } else {
                break;
            }
        }
    }
    let mut as_of = None;
    if p.word("ASOF") {
        p.at += 1;
        match p.peek().cloned() {
            Some(Tok::Text(t)) => {
                p.at += 1;
                as_of = Some(
                    parse_ado_instant(&t)
                        .ok_or_else(|| syntax("ASOF needs a date"))?
                        .0,
                );
            }
            _ => return Err(syntax("ASOF needs a date")),
        }
    }
    let mut mode = None;
    if p.word("MODE") {
        p.at += 1;
        p.expect_sym("(")?;
        match p.peek().cloned() {
            Some(Tok::Word(w)) => {
                p.at += 1;
                mode = Some(w);
            }
            _ => return Err(syntax("MODE needs Recursive, MustContain or MayContain")),
        }
        p.expect_sym(")")?;
    }
    if p.at < p.toks.len() {
        return Err(syntax("unexpected words after the query"));
    }
    if links && mode.is_none() {
        mode = Some("MustContain".to_string());
    }
    Ok(Query {
        select,
        links,
        condition,
        link_type: parts.link_type,
        target: chain(parts.target, Expr::And),
        order,
        as_of,
        mode,
    })
}

/// The fields of an item as the query sees them (at `as_of`, if given).
pub fn fields_of(
    item: &WorkItem,
    as_of: Option<i64>,
) -> Option<std::borrow::Cow<'_, BTreeMap<String, Value>>> {
    match as_of {
        None => Some(std::borrow::Cow::Borrowed(&item.fields)),
        Some(t) => item
            .rev_at(t)
            .map(|r| std::borrow::Cow::Owned(item.fields_at(r))),
    }
}

fn macro_value(
    name: &str,
    offset: f64,
    d: &AdoDataset,
    ctx: &Context<'_>,
) -> Result<Value, WiqlError> {
    match name {
        "project" => ctx
            .project
            .map(|p| Value::String(p.to_string()))
            .ok_or_else(|| {
                WiqlError(
                    "TF51011: The @project macro can only be used in the context of a project."
                        .into(),
                )
            }),
        "me" => Ok(Value::String(d.identities[ctx.me].unique_name.clone())),
        "today" => {
            let day = ctx.now.div_euclid(86_400_000) + offset as i64;
            Ok(Value::String(crate::time::date(day)))
        }
        other => Err(WiqlError(format!(
            "TF51008: The macro @{other} is not supported in this query."
        ))),
    }
}

/// What a field holds, as text for comparisons of names (identities by name or sign-in name).
fn texts_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.to_lowercase()],
        Value::Object(o) => {
            let mut out = Vec::new();
            for k in ["displayName", "uniqueName"] {
                if let Some(s) = o.get(k).and_then(Value::as_str) {
                    out.push(s.to_lowercase());
                }
            }
            if let (Some(n), Some(u)) = (
                o.get("displayName").and_then(Value::as_str),
                o.get("uniqueName").and_then(Value::as_str),
            ) {
                out.push(format!("{n} <{u}>").to_lowercase());
            }
            out
        }
        other => vec![other.to_string().to_lowercase()],
    }
}

/// What a query knows of an item now without looking through its fields: its id, the name
/// of its type where that is one of [`TYPES`](super::data::TYPES) by that exact name
/// ([`WorkItem::type_position`]), and its project's where it is the dataset's
/// ([`WorkItem::in_the_project`]). Only for the fields of now: as of another time an item may
/// have been of another type.
#[derive(Clone, Copy)]
struct Known<'a> {
    id: u64,
    type_name: Option<&'static str>,
    project: Option<&'a str>,
}

impl<'a> Known<'a> {
    fn of(w: &WorkItem, d: &'a AdoDataset) -> Known<'a> {
        Known {
            id: w.id,
            type_name: w.type_position().map(|at| super::data::TYPES[at].name),
            project: w.in_the_project().then_some(d.project.as_str()),
        }
    }
}

/// Evaluate a condition on an item's fields (`known`: what is known of them without looking,
/// when they are the item's fields of now).
fn eval(
    e: &Expr,
    fields: &BTreeMap<String, Value>,
    known: Option<Known<'_>>,
    d: &AdoDataset,
    ctx: &Context<'_>,
) -> Result<bool, WiqlError> {
    // Down the right of a chain in a loop (the parser leans chains right, [`chain`]), left to
    // right as written, stopping where the answer is known; deeper only into parentheses and
    // NOTs, at most [`MAX_NESTING`].
    let mut e = e;
    loop {
        match e {
            Expr::And(a, b) => {
                if !eval(a, fields, known, d, ctx)? {
                    return Ok(false);
                }
                e = b;
            }
            Expr::Or(a, b) => {
                if eval(a, fields, known, d, ctx)? {
                    return Ok(true);
                }
                e = b;
            }
            Expr::Not(a) => return Ok(!eval(a, fields, known, d, ctx)?),
            Expr::Cmp(field, op, values) => {
                return eval_cmp(field, *op, values, fields, known, d, ctx);
            }
        }
    }
}

/// [`eval`] of one comparison.
#[inline(never)]
fn eval_cmp(
    field: &str,
    op: Op,
    values: &[Operand],
    fields: &BTreeMap<String, Value>,
    known: Option<Known<'_>>,
    d: &AdoDataset,
    ctx: &Context<'_>,
) -> Result<bool, WiqlError> {
    // The id, the type and the project, the conditions of every paged query, without a walk of
    // the item's map of fields each (string comparisons of keys, reads of memory scattered over
    // the site: most of the time of a pass over 110,000 items). The type's and project's names
    // as the words' shortcut reads them, where it answers; else as always.
    let id;
    let (kind, have) = match (known, field) {
        (Some(k), "System.Id") => {
            id = Value::from(k.id);
            (FieldType::Integer, Some(&id))
        }
        (Some(k), name @ ("System.WorkItemType" | "System.TeamProject")) => {
            let text = match name {
                "System.WorkItemType" => k.type_name,
                _ => k.project,
            };
            let quick = text
                .and_then(|text| ascii_words_match(FieldType::String, Some(text), op, values, ctx));
            if let Some(hit) = quick {
                return Ok(hit);
            }
            (FieldType::String, fields.get(field))
        }
        _ => (
            field_def(field).map_or(FieldType::String, |f| f.kind),
            fields.get(field),
        ),
    };
    if let Some(hit) = ascii_words_match(kind, have.and_then(Value::as_str), op, values, ctx) {
        return Ok(hit);
    }
    let mut any = false;
    for v in values {
        let want = match v {
            Operand::Text(t) => Value::String(t.clone()),
            Operand::Number(n) => serde_json::json!(n),
            Operand::Macro(m, off) => macro_value(m, *off, d, ctx)?,
            Operand::Field(f) => fields.get(f).cloned().unwrap_or(Value::Null),
        };
        if compare(kind, have, op, &want, ctx)? {
            any = true;
        }
    }
    Ok(any)
}

/// [`eval`] of `=`, `<>` and `IN` on a text field against words, when the field's text
/// (`have`; `None` where the field is absent or not a text) is ASCII and not empty and every
/// word ASCII (the work item types and projects every client's query names, and `''`): what
/// [`compare`] answers, without a copy of each word and a lower-case copy of the field for every
/// item (a query of `synthetic:10000` spent a fifth of the sandbox's time in them). `None` where
/// [`compare`] is to answer.
fn ascii_words_match(
    kind: FieldType,
    have: Option<&str>,
    op: Op,
    values: &[Operand],
    ctx: &Context<'_>,
) -> Option<bool> {
    if matches!(
        kind,
        FieldType::Integer | FieldType::Double | FieldType::DateTime
    ) || !matches!(op, Op::Eq | Op::In | Op::Ne)
    {
        return None;
    }
    let have = have.filter(|h| !h.is_empty() && h.is_ascii())?;
    let mut any = false;
    for v in values {
        let word = match v {
            Operand::Text(t) => t.as_str(),
            Operand::Macro(m, _) if m == "project" => ctx.project?,
            _ => return None,
        };
        if !word.is_ascii() {
            return None;
        }
        // An empty word as `compare` reads it against a text that is not empty: unequal (the
        // `<> ''` a client writes for "any").
        any |= have.eq_ignore_ascii_case(word) != matches!(op, Op::Ne);
    }
    Some(any)
}

fn compare(
    kind: FieldType,
    have: Option<&Value>,
    op: Op,
    want: &Value,
    ctx: &Context<'_>,
) -> Result<bool, WiqlError> {
    let want_empty = want.as_str().is_some_and(str::is_empty);
    let Some(have) = have else {
        return Ok(match op {
            Op::Eq | Op::In => want_empty,
            Op::Ne => !want_empty,
            _ => false,
        });
    };
    if want_empty {
        return Ok(matches!(op, Op::Ne));
    }
    let ord = match kind {
        FieldType::Integer | FieldType::Double => {
            let a = have.as_f64();
            let b = want
                .as_f64()
                .or_else(|| want.as_str().and_then(|s| s.trim().parse().ok()));
            match (a, b) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => {
                    return Err(WiqlError(format!(
                        "TF51003: The value {want} is not a number."
                    )));
                }
            }
        }
        FieldType::DateTime => {
            let text = want.as_str().unwrap_or("");
            let (b, has_time) = parse_ado_instant(text)
                .ok_or_else(|| WiqlError(format!("TF51003: The value '{text}' is not a date.")))?;
            let a = have
                .as_str()
                .and_then(parse_ado_instant)
                .map(|(ms, _)| ms)
                .unwrap_or(0);
            if ctx.time_precision {
                Some(a.cmp(&b))
            } else {
                if has_time {
                    return Err(WiqlError(format!(
                        "You cannot supply a time with the date when running a query using date precision. The error is caused by «'{text}'»."
                    )));
                }
                Some(a.div_euclid(86_400_000).cmp(&b.div_euclid(86_400_000)))
            }
        }
        _ => {
            let wanted = texts_of(want).into_iter().next().unwrap_or_default();
            let had = texts_of(have);
            return Ok(match op {
                Op::Eq | Op::In => had.contains(&wanted),
                Op::Ne => !had.contains(&wanted),
                Op::Under => had
                    .iter()
                    .any(|h| h == &wanted || h.starts_with(&format!("{wanted}\\"))),
                Op::Contains => {
                    if kind == FieldType::PlainText {
                        // Tags and text: a whole tag, or a substring of the text.
                        had.iter().any(|h| {
                            h.split(';').any(|t| t.trim() == wanted) || h.contains(&wanted)
                        })
                    } else {
                        had.iter().any(|h| h.contains(&wanted))
                    }
                }
                Op::Lt => had.iter().any(|h| h < &wanted),
                Op::Le => had.iter().any(|h| h <= &wanted),
                Op::Gt => had.iter().any(|h| h > &wanted),
                Op::Ge => had.iter().any(|h| h >= &wanted),
            });
        }
    };
    let Some(ord) = ord else {
        return Ok(false);
    };
    use std::cmp::Ordering::*;
    Ok(match op {
        Op::Eq | Op::In => ord == Equal,
        Op::Ne => ord != Equal,
        Op::Lt => ord == Less,
        Op::Le => ord != Greater,
        Op::Gt => ord == Greater,
        Op::Ge => ord != Less,
        Op::Under | Op::Contains => {
            return Err(WiqlError(
                "TF51007: The operator is not valid for a field of this type.".into(),
            ));
        }
    })
}

fn sort_key(fields: &BTreeMap<String, Value>, f: &str) -> (u8, f64, String) {
    match fields.get(f) {
        None => (0, 0.0, String::new()),
        Some(Value::Number(n)) => (1, n.as_f64().unwrap_or(0.0), String::new()),
        Some(v) => (1, 0.0, texts_of(v).into_iter().next().unwrap_or_default()),
    }
}

/// The result of a query.
pub enum Outcome {
    /// Ids of a flat query.
    Items(Vec<u64>),
    /// Rows of a link query: (link type, source, target).
    Links(Vec<(Option<String>, Option<u64>, u64)>),
}

/// Run a query over the live work items of the project.
pub fn run(
    q: &Query,
    d: &AdoDataset,
    ctx: &Context<'_>,
    top: Option<usize>,
) -> Result<Outcome, WiqlError> {
    if let Some(top) = top
        && let Some(plan) = pages_by_id(q)
    {
        return first_by_id(q, d, ctx, &plan, top);
    }
    scan(q, d, ctx, top)
}

/// [`run`] by evaluating every live item and sorting those that match.
fn scan(
    q: &Query,
    d: &AdoDataset,
    ctx: &Context<'_>,
    top: Option<usize>,
) -> Result<Outcome, WiqlError> {
    let live: Vec<(&WorkItem, std::borrow::Cow<'_, BTreeMap<String, Value>>)> = d
        .items
        .iter()
        .filter(|w| w.deleted.is_none())
        .filter_map(|w| fields_of(w, q.as_of).map(|f| (w, f)))
        .collect();
    let mut hits: Vec<(&WorkItem, &BTreeMap<String, Value>)> = Vec::new();
    for (w, f) in &live {
        let ok = match &q.condition {
            Some(c) => eval(c, f.as_ref(), None, d, ctx)?,
            None => true,
        };
        if ok {
            hits.push((w, f.as_ref()));
        }
    }
    let order: Vec<(String, bool)> = if q.order.is_empty() {
        vec![("System.Id".to_string(), false)]
    } else {
        q.order.clone()
    };
    hits.sort_by(|a, b| {
        for (f, desc) in &order {
            let (x, y) = (sort_key(a.1, f), sort_key(b.1, f));
            let o = x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        a.0.id.cmp(&b.0.id)
    });
    if !q.links {
        if top.is_none() && hits.len() > MAX_RESULTS {
            return Err(too_many());
        }
        let limit = top.unwrap_or(MAX_RESULTS).min(MAX_RESULTS);
        return Ok(Outcome::Items(
            hits.iter().take(limit).map(|(w, _)| w.id).collect(),
        ));
    }
    // Link queries.
    let link_type = q
        .link_type
        .clone()
        .unwrap_or_else(|| super::data::HIERARCHY_FORWARD.to_string());
    let by_id: BTreeMap<u64, &BTreeMap<String, Value>> =
        live.iter().map(|(w, f)| (w.id, f.as_ref())).collect();
    let target_ok = |id: u64| -> Result<bool, WiqlError> {
        let Some(f) = by_id.get(&id) else {
            return Ok(false);
        };
        match &q.target {
            Some(t) => eval(t, f, None, d, ctx),
            None => Ok(true),
        }
    };
    let links_of = |id: u64| -> Vec<u64> {
        d.item(id)
            .map(|w| {
                w.relations
                    .iter()
                    .filter(|r| r.rel.eq_ignore_ascii_case(&link_type))
                    .map(|r| r.target)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    let mode = q.mode.clone().unwrap_or_default().to_ascii_lowercase();
    if reverse_of(&link_type).is_none() {
        return Err(WiqlError(format!(
            "TF51005: The query references a link type that does not exist: '{link_type}'."
        )));
    }
    for (w, _) in &hits {
        let children: Vec<u64> = links_of(w.id);
        if mode == "recursive" {
            rows.push((None, None, w.id));
            let mut stack: Vec<(u64, u64)> = children.iter().rev().map(|c| (w.id, *c)).collect();
            let mut seen = std::collections::BTreeSet::from([w.id]);
            while let Some((from, to)) = stack.pop() {
                if !seen.insert(to) || !target_ok(to)? {
                    continue;
                }
                rows.push((Some(link_type.clone()), Some(from), to));
                for c in links_of(to).into_iter().rev() {
                    stack.push((to, c));
                }
            }
        } else {
            let mut matched = Vec::new();
            for c in children {
                if target_ok(c)? {
                    matched.push(c);
                }
            }
            if !matched.is_empty() || mode == "maycontain" {
                rows.push((None, None, w.id));
            }
            for c in matched {
                rows.push((Some(link_type.clone()), Some(w.id), c));
            }
        }
        if top.is_none() && rows.len() > MAX_RESULTS {
            return Err(too_many());
        }
    }
    if let Some(t) = top {
        rows.truncate(t.min(MAX_RESULTS));
    }
    Ok(Outcome::Links(rows))
}

/// Where [`first_by_id`] looks for the first results of a query paged by id.
#[derive(Debug, PartialEq)]
struct ById {
    /// The ids are above this.
    after: u64,
    /// The results are children of these work items (a `[System.Parent] IN (...)` or `=`
    /// among the conditions at the top), when the query says so.
    parents: Option<Vec<u64>>,
    /// `[System.ChangedDate] >= 'instant'` or `>` among the conditions at the top (an
    /// incremental pass's): the operator, the instant (ms) and whether the text has a time.
    /// An item changed before is no result, told from its date alone.
    changed: Vec<(Op, i64, bool)>,
    /// `[System.WorkItemType]` conditions among those at the top (the initiatives' pass names
    /// its epics' types): an item of a type one of them rules out is no result, told from the
    /// type's position the item keeps ([`WorkItem::type_position`]).
    types: Vec<(Op, Vec<Operand>)>,
}

/// A flat query in ascending id order, as a client pages one (`... AND [System.Id] > N ORDER BY
/// [System.Id]` with `$top`), of the items as they are now: where its results can be (above
/// N, 0 if it names none; among the children of the parents it names, if it names some). Its
/// first `$top` results are then the first items by id, from those, that match: found by
/// reading them in order until there are enough ([`first_by_id`]), where [`scan`] evaluates and
/// sorts every item of the project for each page (a 110,000-item project paged 500 at a time
/// spent the sandbox's time, not the client's, on that).
fn pages_by_id(q: &Query) -> Option<ById> {
    let is = |f: &str, name: &str| f.eq_ignore_ascii_case(name);
    let ascending_by_id = match q.order.as_slice() {
        [] => true,
        [(f, false)] => is(f, "System.Id"),
        _ => false,
    };
    if q.links || q.as_of.is_some() || !ascending_by_id {
        return None;
    }
    let mut plan = ById {
        after: 0,
        parents: None,
        changed: Vec::new(),
        types: Vec::new(),
    };
    // The conditions at the top: each one narrows where a result can be.
    let mut conjuncts: Vec<&Expr> = q.condition.iter().collect();
    while let Some(e) = conjuncts.pop() {
        let Expr::Cmp(f, op, values) = e else {
            if let Expr::And(a, b) = e {
                conjuncts.extend([a.as_ref(), b.as_ref()]);
            }
            continue;
        };
        if is(f, "System.Id") {
            let after = match (op, values.as_slice()) {
                (Op::Gt, [Operand::Number(n)]) if *n >= 0.0 => n.floor() as u64,
                (Op::Ge, [Operand::Number(n)]) if *n >= 1.0 => (n.ceil() as u64) - 1,
                _ => 0,
            };
            plan.after = plan.after.max(after);
        } else if is(f, "System.Parent") && matches!(op, Op::Eq | Op::In) {
            let ids: Option<Vec<u64>> = values
                .iter()
                .map(|v| match v {
                    Operand::Number(n) if *n >= 0.0 && n.fract() == 0.0 => Some(*n as u64),
                    _ => None,
                })
                .collect();
            if let Some(ids) = ids
                && plan.parents.is_none()
            {
                plan.parents = Some(ids);
            }
        } else if is(f, "System.ChangedDate")
            && matches!(op, Op::Ge | Op::Gt)
            && let [Operand::Text(t)] = values.as_slice()
            && let Some((ms, has_time)) = parse_ado_instant(t)
        {
            plan.changed.push((*op, ms, has_time));
        } else if is(f, "System.WorkItemType") {
            plan.types.push((*op, values.clone()));
        }
    }
    Some(plan)
}

/// [`run`] of a query [`pages_by_id`] found paging by id: the items are held in id order (and
/// a parent holds a link to each of its children), so the first `top` of those `plan` names
/// that match are the answer.
fn first_by_id(
    q: &Query,
    d: &AdoDataset,
    ctx: &Context<'_>,
    plan: &ById,
    top: usize,
) -> Result<Outcome, WiqlError> {
    let limit = top.min(MAX_RESULTS);
    let candidates: Box<dyn Iterator<Item = &WorkItem>> = match &plan.parents {
        None => Box::new(d.items[d.items.partition_point(|w| w.id <= plan.after)..].iter()),
        Some(parents) => {
            let mut children: Vec<u64> = parents
                .iter()
                .filter_map(|&p| d.index(p))
                .flat_map(|at| d.items[at].relations.iter())
                .filter(|r| r.rel == super::data::HIERARCHY_FORWARD && r.target > plan.after)
                .map(|r| r.target)
                .collect();
            children.sort_unstable();
            children.dedup();
            Box::new(
                children
                    .into_iter()
                    .filter_map(|id| d.index(id).map(|at| &d.items[at])),
            )
        }
    };
    // The change dates the results must have, as `compare` judges them: by the millisecond
    // with `timePrecision=true`, else by the day (a time in the text is then the condition's
    // error, left to `eval` to give).
    const DAY_MS: i64 = 86_400_000;
    let changed: Vec<(Op, i64, i64)> = plan
        .changed
        .iter()
        .filter(|(_, _, has_time)| ctx.time_precision || !has_time)
        .map(|&(op, ms, _)| match ctx.time_precision {
            true => (op, ms, 1),
            false => (op, ms.div_euclid(DAY_MS), DAY_MS),
        })
        .collect();
    // An item's change date is its last update's moment: every change is an update that sets
    // `System.ChangedDate` to it (`AdoDataset::apply`), so the millisecond is read without
    // parsing the field's text.
    let changed_in_time = |w: &WorkItem| {
        let Some(at) = w.updates.last().map(|u| u.at) else {
            return false;
        };
        changed.iter().all(|&(op, bound, unit)| match op {
            Op::Gt => at.div_euclid(unit) > bound,
            _ => at.div_euclid(unit) >= bound,
        })
    };
    // The types the results cannot be of: where a condition on the type at the top answers
    // false for the type's name, as `eval` judges it ([`ascii_words_match`]; a condition it
    // leaves to `compare` rules nothing out). An item of such a type is passed over without
    // reading its fields: at 110,000 items, most of an initiatives' pass was reading three
    // fields of each item that was not an epic. (As with the change dates, an item passed
    // over does not give an error a later condition would have given on it.)
    let type_kind = field_def("System.WorkItemType").map_or(FieldType::String, |f| f.kind);
    let ruled_out: Vec<bool> = super::data::TYPES
        .iter()
        .map(|t| {
            plan.types.iter().any(|(op, values)| {
                ascii_words_match(type_kind, Some(t.name), *op, values, ctx) == Some(false)
            })
        })
        .collect();
    let mut ids = Vec::new();
    for w in candidates.filter(|w| w.deleted.is_none()) {
        if ids.len() == limit {
            break;
        }
        if w.type_position().is_some_and(|at| ruled_out[at]) {
            continue;
        }
        if !changed.is_empty() && !changed_in_time(w) {
            continue;
        }
        let Some(fields) = fields_of(w, None) else {
            continue;
        };
        let hit = match &q.condition {
            Some(c) => eval(c, fields.as_ref(), Some(Known::of(w, d)), d, ctx)?,
            None => true,
        };
        if hit {
            ids.push(w.id);
        }
    }
    Ok(Outcome::Items(ids))
}

fn too_many() -> WiqlError {
    WiqlError(format!(
        "VS402337: The number of work items returned exceeds the size limit of {MAX_RESULTS}. Change the query to return fewer items."
    ))
}

/// The instant a result is as of.
pub fn as_of_text(q: &Query, now: i64) -> String {
    ado_timestamp(q.as_of.unwrap_or(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(d: &AdoDataset) -> Context<'_> {
        Context {
            project: Some("Portfolio"),
            me: d.bot(),
            now: crate::time::utc_ms(2026, 11, 27, 10, 0),
            time_precision: false,
        }
    }

    fn ids(q: &str, d: &AdoDataset, c: &Context<'_>, top: Option<usize>) -> Vec<u64> {
        match run(&parse(q).unwrap(), d, c, top).unwrap() {
            Outcome::Items(v) => v,
            Outcome::Links(_) => panic!("a flat query"),
        }
    }

    /// The words' shortcut answers as [`compare`] does, wherever it answers: texts in other
    /// cases, with and without the project macro, `<>` of several words, and the texts it
    /// leaves to [`compare`] (empty, not ASCII, an identity, a number).
    #[test]
    fn words_compared_without_copies_match_as_compare_matches() {
        use serde_json::json;
        let d = AdoDataset::demo();
        let c = ctx(&d);
        let haves = [
            json!("Epic"),
            json!("EPIC"),
            json!("User Story"),
            json!("Portfolio"),
            json!(""),
            json!("Épica"),
            json!({"displayName": "Epic", "uniqueName": "e@x"}),
            json!(3),
        ];
        let words = [
            vec![Operand::Text("epic".into())],
            vec![Operand::Text("Epic".into()), Operand::Text("Risk".into())],
            vec![Operand::Text("user story".into())],
            vec![Operand::Macro("project".into(), 0.0)],
            vec![Operand::Text("".into())],
            vec![Operand::Text("épica".into())],
            vec![Operand::Number(3.0)],
        ];
        let mut answered = 0;
        for kind in [FieldType::String, FieldType::TreePath, FieldType::PlainText] {
            for have in &haves {
                for op in [Op::Eq, Op::In, Op::Ne] {
                    for values in &words {
                        let Some(quick) = ascii_words_match(kind, have.as_str(), op, values, &c)
                        else {
                            continue;
                        };
                        answered += 1;
                        let mut slow = false;
                        for v in values {
                            let want = match v {
                                Operand::Text(t) => Value::String(t.clone()),
                                Operand::Macro(m, o) => macro_value(m, *o, &d, &c).unwrap(),
                                _ => unreachable!("the shortcut answers words alone"),
                            };
                            slow |= compare(kind, Some(have), op, &want, &c).unwrap();
                        }
                        assert_eq!(quick, slow, "{kind:?} {have} {op:?} {values:?}");
                    }
                }
            }
        }
        // ASCII texts against the five lists of ASCII words (the empty word one of them),
        // three operators, three kinds.
        assert_eq!(answered, 4 * 5 * 3 * 3);
        // What it leaves: no field, a number's field, other operators.
        assert_eq!(
            ascii_words_match(FieldType::String, None, Op::Eq, &words[0], &c),
            None
        );
        let n = FieldType::Integer;
        assert_eq!(ascii_words_match(n, Some("3"), Op::Eq, &words[0], &c), None);
        let under = Op::Under;
        assert_eq!(
            ascii_words_match(FieldType::TreePath, Some("A"), under, &words[0], &c),
            None
        );
    }

    /// A page by id read from the items in order is what evaluating and sorting every item
    /// gives: on the demo organisation (deleted items, an epic in the recycle bin, links) and a
    /// synthetic one, for the conditions the plugin pages with and others, every page.
    #[test]
    fn paging_by_id_reads_the_same_pages_as_a_scan_of_every_item() {
        for mut d in [AdoDataset::demo(), AdoDataset::synthetic(30)] {
            // Types the service would not spell so (or not have), for the conditions on types
            // to pass over by their position only the items of the types they name.
            let spelt: Vec<u64> = d.items.iter().skip(3).step_by(7).map(|w| w.id).collect();
            let now = d
                .items
                .iter()
                .filter_map(|w| w.updates.last())
                .map(|u| u.at)
                .max()
                .unwrap();
            for (n, id) in spelt.into_iter().enumerate() {
                let kind = ["epic", "Custom Kind", "TASK", "Épopée"][n % 4];
                // And projects other than the dataset's, or spelt otherwise, for the conditions
                // on the project to read those from the fields.
                let project = [
                    None,
                    Some("Elsewhere"),
                    Some("PORTFOLIO"),
                    None,
                    Some("Ünïcode"),
                ][n % 5];
                let mut changes = vec![("System.WorkItemType", Some(serde_json::json!(kind)))];
                if let Some(project) = project {
                    changes.push(("System.TeamProject", Some(serde_json::json!(project))));
                }
                d.apply(id, 0, now, changes, vec![], vec![]);
            }
            let last = d.items.last().unwrap().id;
            // An instant some items were changed at (the middle one's), and the day after it,
            // for an incremental pass's conditions.
            let mut changes: Vec<i64> = d
                .items
                .iter()
                .filter_map(|w| w.updates.last().map(|u| u.at))
                .collect();
            changes.sort_unstable();
            let middle = changes[changes.len() / 2];
            let (instant, day) = (
                ado_timestamp(middle),
                crate::time::date(middle.div_euclid(86_400_000)),
            );
            // Parents of every kind, a deleted one among them in the demo (4107), and an id
            // that is no item.
            let parents: Vec<String> = d
                .items
                .iter()
                .filter(|w| w.kind() != "Task")
                .step_by(3)
                .map(|w| w.id.to_string())
                .chain(["4107".to_string(), "999999".to_string()])
                .collect();
            let some_parents = parents.join(", ");
            let one_parent = &parents[1];
            for condition in [
                "[System.TeamProject] = @project".to_string(),
                "[System.TeamProject] = @project AND [System.WorkItemType] NOT IN ('Epic', 'Risk')"
                    .to_string(),
                "[Microsoft.VSTS.Scheduling.CompletedWork] > 0".to_string(),
                "[System.WorkItemType] = 'Epic' OR [System.WorkItemType] = 'Task'".to_string(),
                "[System.ChangedDate] >= '2026-03-01'".to_string(),
                format!("[System.WorkItemType] = 'Risk' AND [System.Parent] IN ({some_parents})"),
                format!("[System.Parent] IN ({some_parents})"),
                format!("[System.Parent] = {one_parent} AND [System.WorkItemType] <> ''"),
                format!("[System.Parent] IN ({some_parents}) OR [System.WorkItemType] = 'Epic'"),
                format!("[System.WorkItemType] <> '' AND [System.ChangedDate] >= '{instant}'"),
                format!("[System.ChangedDate] > '{instant}' AND [System.WorkItemType] = 'Task'"),
                format!("[System.ChangedDate] >= '{day}' AND [Changed Date] > '{day}'"),
                format!("[System.ChangedDate] >= '{instant}' OR [System.WorkItemType] = 'Epic'"),
                "[System.WorkItemType] IN ('epic', 'TASK', 'Épopée') AND [System.TeamProject] = @project".to_string(),
                "[System.TeamProject] = @project AND [System.WorkItemType] <> 'Epic'".to_string(),
                "[System.WorkItemType] = 'Feature' AND [System.WorkItemType] <> 'Task'".to_string(),
                "[System.WorkItemType] = @project".to_string(),
                "[System.WorkItemType] = 'Custom Kind'".to_string(),
                "[System.WorkItemType] IN ('', 'Task') OR [System.WorkItemType] = ''".to_string(),
                "[System.TeamProject] <> '' AND [System.TeamProject] <> 'elsewhere'".to_string(),
                "[System.TeamProject] IN ('portfolio', 'Elsewhere', 'Ünïcode')".to_string(),
                "[System.TeamProject] = 'Portfolio' OR [System.TeamProject] = @project".to_string(),
                format!("[System.Id] <> {one_parent} AND [System.Id] <= {last}"),
                format!("[System.Id] IN ({some_parents}) OR [System.Id] < 4110"),
            ] {
                // Dates by the day, and by the millisecond (`timePrecision=true`).
                for precise in [false, true] {
                    let c = Context {
                        time_precision: precise,
                        ..ctx(&d)
                    };
                    for (top, op) in [(1, ">"), (7, ">"), (50, ">="), (20_000, ">")] {
                        let mut after = 0u64;
                        let mut pages = 0;
                        loop {
                            let text = format!(
                                "SELECT [System.Id] FROM WorkItems WHERE ({condition}) AND [System.Id] {op} {} ORDER BY [System.Id]",
                                if op == ">" { after } else { after + 1 }
                            );
                            let q = parse(&text).unwrap();
                            let plan = pages_by_id(&q).unwrap();
                            let narrowed = condition.contains("[System.Parent]")
                                && !condition.contains(" OR ");
                            assert_eq!(plan.parents.is_some(), narrowed, "{text}");
                            let typed = condition.contains("[System.WorkItemType] ")
                                && !condition.contains(" OR ")
                                && !condition.contains("NOT IN");
                            assert_eq!(!plan.types.is_empty(), typed, "{text}");
                            let (fast, slow) =
                                match (run(&q, &d, &c, Some(top)), scan(&q, &d, &c, Some(top))) {
                                    (Ok(Outcome::Items(fast)), Ok(Outcome::Items(slow))) => {
                                        (fast, slow)
                                    }
                                    (Err(fast), Err(slow)) => {
                                        // A time without timePrecision: the same error either way.
                                        assert!(
                                            !precise && condition.contains(&instant),
                                            "{text}: {fast:?}"
                                        );
                                        assert_eq!(fast, slow, "{text}");
                                        pages += 1;
                                        break;
                                    }
                                    (fast, slow) => panic!(
                                        "{text} $top={top}: {:?} against {:?}",
                                        fast.map(|_| ()),
                                        slow.map(|_| ())
                                    ),
                                };
                            assert_eq!(fast, slow, "{text} $top={top} precise={precise}");
                            pages += 1;
                            assert!(fast.iter().all(|&id| id > after), "{text}");
                            match fast.last() {
                                Some(&id) if fast.len() == top && id < last => after = id,
                                _ => break,
                            }
                        }
                        assert!(pages >= 1);
                    }
                }
            }
            // Orders and queries it leaves to the scan.
            for text in [
                "SELECT [System.Id] FROM WorkItems WHERE [System.Id] > 5 ORDER BY [System.Id] DESC",
                "SELECT [System.Id] FROM WorkItems WHERE [System.Id] > 5 ORDER BY [System.Title]",
            ] {
                assert!(pages_by_id(&parse(text).unwrap()).is_none(), "{text}");
            }
        }
    }

    #[test]
    fn flat_queries_filter_sort_and_page_by_id() {
        let d = AdoDataset::demo();
        let c = ctx(&d);
        let epics = ids(
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] = 'Epic' ORDER BY [System.Id]",
            &d,
            &c,
            None,
        );
        assert_eq!(
            epics,
            [4101, 4102, 4103, 4104, 4105, 4106],
            "the deleted epic is not found"
        );
        let after = ids(
            "SELECT [System.Id] FROM WorkItems WHERE [Work Item Type] IN ('Epic', 'Feature') AND [System.Id] > 4104 ORDER BY [System.Id]",
            &d,
            &c,
            Some(3),
        );
        assert_eq!(after.len(), 3);
        assert!(after.iter().all(|&i| i > 4104));
        let under = ids(
            "SELECT [System.Id] FROM WorkItems WHERE [System.AreaPath] UNDER 'Portfolio\\Platform' AND [System.WorkItemType] = 'Epic'",
            &d,
            &c,
            None,
        );
        assert_eq!(under, [4103, 4105]);
        let no_cod = ids(
            "SELECT [System.Id] FROM WorkItems WHERE [System.WorkItemType] = 'Epic' AND [Custom.CostOfDelay] = ''",
            &d,
            &c,
            None,
        );
        assert_eq!(
            no_cod,
            [4104],
            "empty fields are absent, and = '' finds them"
        );
        let worked = ids(
            "SELECT [System.Id] FROM WorkItems WHERE [Microsoft.VSTS.Scheduling.CompletedWork] > 0",
            &d,
            &c,
            None,
        );
        assert!(!worked.is_empty());
        assert!(worked.iter().all(|&i| d.item(i).unwrap().kind() == "Task"));
    }

    #[test]
    fn deep_or_long_queries_are_refused_or_run_without_exhausting_the_stack() {
        let d = AdoDataset::demo();
        let c = ctx(&d);
        let select = "SELECT [System.Id] FROM WorkItems WHERE ";
        // Parentheses or NOTs inside each other past the limit: refused, whatever the length.
        for deep in [
            format!(
                "{select}{}[System.Id] = 1{}",
                "(".repeat(30_000),
                ")".repeat(30_000)
            ),
            format!("{select}{}[System.Id] = 1", "NOT ".repeat(8_000)),
            format!(
                "{select}{}[System.Id] = 1{}",
                "(".repeat(MAX_NESTING + 1),
                ")".repeat(MAX_NESTING + 1)
            ),
        ] {
            let e = parse(&deep).expect_err("refused");
            assert!(
                e.0.contains("nested more than 100 deep") || e.0.contains("characters long"),
                "{}",
                e.0
            );
        }
        // At the limit: run.
        let at_limit = format!(
            "{select}{}[System.Id] = 4101{}",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert_eq!(ids(&at_limit, &d, &c, None), [4101]);
        // Longer than the service takes: refused, naming the limit.
        let long = format!("{select}[System.Title] = '{}'", "x".repeat(MAX_QUERY_CHARS));
        let e = parse(&long).expect_err("refused");
        assert!(e.0.contains("more than the 32768"), "{}", e.0);
        // As many conditions as fit, in a row: run (AND and OR chains are read in a loop, and
        // evaluated down their length).
        for join in [" AND ", " OR "] {
            let one = "[System.Id] > 0";
            let n = (MAX_QUERY_CHARS - select.len()) / (one.len() + join.len());
            let chain = format!("{select}{}", vec![one; n].join(join));
            assert!(chain.len() <= MAX_QUERY_CHARS);
            let found = ids(&chain, &d, &c, None);
            assert_eq!(
                found.len(),
                d.items.iter().filter(|w| w.deleted.is_none()).count()
            );
        }
    }

    #[test]
    fn texts_compare_without_regard_to_case() {
        let mut d = AdoDataset::demo();
        let epics = |q: &str, d: &AdoDataset| ids(q, d, &ctx(d), None);
        let exact = epics(
            "SELECT [System.Id] FROM WorkItems WHERE [System.WorkItemType] = 'Epic'",
            &d,
        );
        assert_eq!(exact.len(), 6);
        for q in [
            "SELECT [System.Id] FROM WorkItems WHERE [System.WorkItemType] = 'EPIC'",
            "SELECT [System.Id] FROM WorkItems WHERE [System.WorkItemType] IN ('epic', 'Nothing')",
            "SELECT [System.Id] FROM WorkItems WHERE [System.WorkItemType] = 'epic' AND [System.State] <> 'NO SUCH STATE'",
        ] {
            assert_eq!(epics(q, &d), exact, "{q}");
        }
        let not_epics = epics(
            "SELECT [System.Id] FROM WorkItems WHERE [System.WorkItemType] <> 'ePiC'",
            &d,
        );
        assert!(not_epics.iter().all(|id| !exact.contains(id)));
        let live = d.items.iter().filter(|w| w.deleted.is_none()).count();
        assert_eq!(not_epics.len() + exact.len(), live);
        // Beyond ASCII too: a title with letters that have cases of their own.
        let epic = exact[0];
        let now = ctx(&d).now;
        let title = Some(serde_json::json!("Ärende ÖVER Ålands Ödla"));
        assert!(d.set_field(epic, "System.Title", title, now));
        for q in [
            "SELECT [System.Id] FROM WorkItems WHERE [System.Title] = 'ärende över ålands ödla'",
            "SELECT [System.Id] FROM WorkItems WHERE [System.Title] = 'ÄRENDE ÖVER ÅLANDS ÖDLA'",
        ] {
            assert_eq!(epics(q, &d), [epic], "{q}");
        }
        assert!(
            !epics(
                "SELECT [System.Id] FROM WorkItems WHERE [System.Title] <> 'ärende över ålands ödla'",
                &d
            )
            .contains(&epic)
        );
    }

    #[test]
    fn dates_compare_by_day_unless_time_precision_is_asked_for() {
        let d = AdoDataset::demo();
        let mut c = ctx(&d);
        let q = "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= '2026-11-20T10:00:00Z'";
        let e = run(&parse(q).unwrap(), &d, &c, None).err().unwrap();
        assert!(e.0.contains("cannot supply a time"), "{}", e.0);
        let by_day = ids(
            "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= '2026-11-20'",
            &d,
            &c,
            None,
        );
        c.time_precision = true;
        let by_time = ids(q, &d, &c, None);
        assert!(!by_time.is_empty() && by_time.len() <= by_day.len());
    }

    #[test]
    fn errors_are_the_services() {
        let d = AdoDataset::demo();
        let c = ctx(&d);
        let e = parse("SELECT [System.Id] FROM WorkItems WHERE [Cost Of Nothing] = 1").unwrap_err();
        assert!(e.0.starts_with("TF51005"), "{}", e.0);
        assert!(parse("SELECT FROM").unwrap_err().0.starts_with("TF51006"));
        let big = AdoDataset::synthetic(1900);
        let q = parse("SELECT [System.Id] FROM WorkItems").unwrap();
        let e = run(&q, &big, &c, None).err().unwrap();
        assert!(e.0.starts_with("VS402337"), "{}", e.0);
        match run(&q, &big, &c, Some(200)).ok().unwrap() {
            Outcome::Items(v) => assert_eq!(v.len(), 200),
            Outcome::Links(_) => unreachable!(),
        }
    }

    #[test]
    fn tree_queries_walk_the_hierarchy() {
        let d = AdoDataset::demo();
        let c = ctx(&d);
        let q = parse(
            "SELECT [System.Id] FROM WorkItemLinks WHERE ([Source].[System.Id] = 4101) AND ([System.Links.LinkType] = 'System.LinkTypes.Hierarchy-Forward') AND ([Target].[System.WorkItemType] <> '') MODE (Recursive)",
        )
        .unwrap();
        let Outcome::Links(rows) = run(&q, &d, &c, None).ok().unwrap() else {
            panic!()
        };
        assert_eq!(rows[0], (None, None, 4101));
        let below: Vec<u64> = rows[1..].iter().map(|r| r.2).collect();
        assert!(below.iter().all(|&i| d.epic_of(i) == Some(4101)));
        assert_eq!(
            below.len(),
            d.items
                .iter()
                .filter(|w| w.id != 4101 && d.epic_of(w.id) == Some(4101))
                .count()
        );
    }
}
