//! Checks what the sandbox served, and what the plugin sent, against the vendors' own API
//! documents: Atlassian's OpenAPI 3 documents for Jira (the subset in tests/specs, cut by
//! tests/specs/extract.py) and Microsoft's Swagger 2.0 specifications for Azure DevOps 7.1
//! (cut by tests/specs/extract_ado.py).
//!
//! - The path (with the tracker prefix removed, REST v2 and `latest` read as their v3 twins,
//!   which share resources and shapes) must match a documented path template, the method an
//!   operation of it, and every query parameter a documented parameter of that operation.
//! - A JSON request body must fit the operation's request schema.
//! - A response whose status the operation documents with a schema must fit that schema; one
//!   documented only by an example must have the example's shape (no field the example lacks,
//!   the same JSON types); a status the operation does not document (410, 429, 503) must be
//!   Jira's `ErrorCollection` when it is JSON.
//!
//! Schemas are checked for type, properties, `additionalProperties`, `required`, items, `$ref`,
//! `allOf`/`anyOf`/`oneOf`, `enum` and `nullable`. `format` is not checked: Atlassian's own
//! timestamps (`2026-11-27T10:30:00.000+0200`) do not satisfy the `date-time` the documents
//! declare, so a fake that satisfied it would be the unfaithful one.
//!
//! Azure DevOps, read as the service and Microsoft's own clients read its specifications:
//! - paths are case-insensitive, `{project}` and `{team}` may be left out (the specifications
//!   mark them `x-ms-required: false`), a classification node's `{path}` spans segments or is
//!   absent, and `${type}` is any `$`-prefixed type name;
//! - a list documented as an array comes wrapped as `{"count": n, "value": [...]}`;
//! - `{"type": "object"}` alone is .NET's `object`: any value (a field's value is one);
//! - JSON has no nulls in the documents' type system, and the service sends them: null passes;
//! - an object schema with properties is closed: a field documented nowhere in it or its
//!   `allOf` bases is a problem (Microsoft's documents never say `additionalProperties: false`,
//!   but what they leave out a client cannot rely on);
//! - a status the operation does not document (400, 404, 412, 429) must carry the service's
//!   error JSON (`message` and `typeKey`) when it is JSON.

use serde_json::Value;

/// Which vendor's documents, and so which reading of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Atlassian's OpenAPI 3.
    Jira,
    /// Microsoft's Swagger 2.0.
    Ado,
}

/// The spec subset.
pub struct Spec {
    doc: Value,
    dialect: Dialect,
}

/// One recorded exchange, as the validator needs it.
pub struct Exchange<'a> {
    /// Method, upper case.
    pub method: &'a str,
    /// Path without the tracker prefix, e.g. `/rest/api/2/search`.
    pub path: &'a str,
    /// Raw query string.
    pub query: Option<&'a str>,
    /// Request body.
    pub request_body: Option<&'a [u8]>,
    /// Status.
    pub status: u16,
    /// Response body (None if it was cut by a fault).
    pub response_body: Option<&'a [u8]>,
}

impl Spec {
    /// Load the subset shipped with the tests.
    pub fn jira() -> Spec {
        let text = include_str!("../specs/jira-openapi-subset.json");
        Spec {
            doc: serde_json::from_str(text).expect("the spec subset is JSON"),
            dialect: Dialect::Jira,
        }
    }

    /// Load the Azure DevOps subset shipped with the tests.
    pub fn ado() -> Spec {
        let text = include_str!("../specs/ado-openapi-subset.json");
        Spec {
            doc: serde_json::from_str(text).expect("the spec subset is JSON"),
            dialect: Dialect::Ado,
        }
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let mut at = &self.doc;
                for part in r.trim_start_matches("#/").split('/') {
                    at = &at[part];
                }
                self.resolve(at)
            }
            None => schema,
        }
    }

    /// Find the documented path template and operation.
    fn operation(&self, path: &str, method: &str) -> Result<(String, &Value), String> {
        if self.dialect == Dialect::Ado {
            return self.ado_operation(path, None, method);
        }
        let path = path.replacen("/rest/api/2/", "/rest/api/3/", 1).replacen(
            "/rest/api/latest/",
            "/rest/api/3/",
            1,
        );
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let paths = self.doc["paths"].as_object().unwrap();
        // The most specific template that fits: `issue/bulkfetch` before `issue/{issueIdOrKey}`.
        let template = paths
            .keys()
            .filter(|t| {
                let ts: Vec<&str> = t.split('/').collect();
                ts.len() == segments.len()
                    && ts
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| (t.starts_with('{') && t.ends_with('}')) || t == s)
            })
            .min_by_key(|t| t.matches('{').count())
            .ok_or_else(|| format!("{method} {path}: no such path in the Jira documents"))?;
        let op = paths[template]
            .get(method.to_ascii_lowercase())
            .ok_or_else(|| {
                format!("{method} {template}: the documents define no such operation")
            })?;
        Ok((template.clone(), op))
    }

    /// Azure DevOps: the template that fits the path (and the query, for Microsoft's variants
    /// of a path that a query parameter selects, `recyclebin?ids={ids}`), read as the service
    /// reads it.
    fn ado_operation(
        &self,
        path: &str,
        query: Option<&str>,
        method: &str,
    ) -> Result<(String, &Value), String> {
        let names: Vec<String> = query
            .unwrap_or("")
            .split('&')
            .map(|kv| kv.split('=').next().unwrap_or("").replace("%24", "$"))
            .collect();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let paths = self.doc["paths"].as_object().unwrap();
        let fits = |template: &str| -> bool {
            let ts: Vec<&str> = template.trim_matches('/').split('/').collect();
            // `{project}` and `{team}` may be absent; `{path}` spans the rest.
            fn walk(ts: &[&str], ss: &[&str]) -> bool {
                match (ts.first(), ss.first()) {
                    (None, None) => true,
                    (Some(&"{path}"), _) => ts.len() == 1,
                    (Some(&t), s) if t == "{project}" || t == "{team}" => {
                        walk(&ts[1..], ss)
                            || s.is_some_and(|s| !s.starts_with('_') && walk(&ts[1..], &ss[1..]))
                    }
                    (Some(&t), Some(&s)) => {
                        let same = if t.starts_with("${") {
                            s.starts_with('$')
                        } else if t.starts_with('{') {
                            !s.starts_with('_')
                        } else {
                            t.eq_ignore_ascii_case(s)
                        };
                        same && walk(&ts[1..], &ss[1..])
                    }
                    _ => false,
                }
            }
            walk(&ts, &segments)
        };
        let variant_fits = |key: &str| match key.split_once('?') {
            None => true,
            Some((_, q)) => q
                .split('&')
                .filter_map(|kv| kv.split('=').next())
                .filter(|n| !n.is_empty())
                .all(|n| names.iter().any(|have| have.eq_ignore_ascii_case(n))),
        };
        let mut found: Vec<&String> = paths
            .keys()
            .filter(|t| {
                let bare = t.split('?').next().unwrap_or(t);
                fits(bare)
                    && variant_fits(t)
                    && paths[*t].get(method.to_ascii_lowercase()).is_some()
            })
            .collect();
        if found.is_empty() {
            // The path without this method, to say so.
            found = paths
                .keys()
                .filter(|t| !t.contains('?') && fits(t))
                .collect();
        }
        // A variant selected by the query first, then the most literal template
        // (`workitems/$Epic` over `workitems/{id}`).
        found.sort_by_key(|t| (!t.contains('?'), t.matches('{').count()));
        let template = found.first().ok_or_else(|| {
            format!("{method} {path}: no such path in the Azure DevOps documents")
        })?;
        let op = paths[*template]
            .get(method.to_ascii_lowercase())
            .ok_or_else(|| {
                format!("{method} {template}: the documents define no such operation")
            })?;
        Ok(((*template).clone(), op))
    }

    /// Every operation the exchange could be (a path and its variants), best guess first.
    fn ado_candidates(&self, x: &Exchange<'_>) -> Result<Vec<(String, &Value)>, String> {
        let first = self.ado_operation(x.path, x.query, x.method)?;
        let bare = first.0.split('?').next().unwrap_or("").to_string();
        let mut out = vec![first.clone()];
        for (key, ops) in self.doc["paths"].as_object().unwrap() {
            if key != &first.0
                && key.split('?').next() == Some(bare.as_str())
                && let Some(op) = ops.get(x.method.to_ascii_lowercase())
            {
                out.push((key.clone(), op));
            }
        }
        Ok(out)
    }

    /// Every problem with one exchange; empty when it fits the documents.
    pub fn check(&self, x: &Exchange<'_>) -> Vec<String> {
        if self.dialect == Dialect::Ado {
            return self.check_ado(x);
        }
        let mut problems = Vec::new();
        let (template, op) = match self.operation(x.path, x.method) {
            Ok(found) => found,
            Err(e) => return vec![e],
        };
        let what = format!("{} {template}", x.method);
        // Query parameters.
        let mut documented: Vec<&str> = Vec::new();
        for holder in [op, &self.doc["paths"][&template]] {
            for p in holder["parameters"].as_array().into_iter().flatten() {
                let p = self.resolve(p);
                if p["in"] == "query" {
                    documented.push(p["name"].as_str().unwrap_or(""));
                }
            }
        }
        for kv in x.query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            let name = kv.split('=').next().unwrap_or("");
            if !documented.contains(&name) {
                problems.push(format!(
                    "{what}: query parameter `{name}` is not documented (documented: {})",
                    documented.join(", ")
                ));
            }
        }
        // Request body.
        if let Some(body) = x.request_body.filter(|b| !b.is_empty()) {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            match serde_json::from_slice::<Value>(body) {
                Ok(v) if !schema.is_null() => {
                    self.validate(schema, &v, "request", &mut problems);
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("{what}: request body is not JSON: {e}")),
            }
        }
        // Response.
        let Some(body) = x.response_body else {
            return problems;
        };
        let response = &op["responses"][x.status.to_string()];
        let json = serde_json::from_slice::<Value>(body);
        if response.is_null() {
            if let Ok(v) = &json {
                let schema = serde_json::json!({"$ref": "#/components/schemas/ErrorCollection"});
                self.validate(
                    &schema,
                    v,
                    &format!("undocumented {} answer", x.status),
                    &mut problems,
                );
            }
        } else {
            let content = &response["content"]["application/json"];
            let schema = &content["schema"];
            let mut example = content["example"]
                .as_str()
                .and_then(|e| serde_json::from_str::<Value>(e).ok());
            // Atlassian documents a sprint's issues with one issue as the example, while the
            // operation (as it says itself) answers a page of them: the example is an item.
            if template == "/rest/agile/1.0/sprint/{sprintId}/issue"
                && let Some(issue) = example.take()
            {
                example = Some(serde_json::json!({
                    "expand": "", "startAt": 0, "maxResults": 50, "total": 1, "issues": [issue]
                }));
            }
            match json {
                Err(_) if body.is_empty() => {}
                Err(e) if !content.is_null() => {
                    problems.push(format!("{what} {}: response is not JSON: {e}", x.status))
                }
                Err(_) => {}
                Ok(v) => {
                    if schema.as_object().is_some_and(|o| !o.is_empty()) {
                        self.validate(schema, &v, "response", &mut problems);
                    } else if let Some(example) = example {
                        shape("response", &example, &v, &mut problems);
                    }
                }
            }
        }
        problems
            .into_iter()
            .map(|p| format!("{what} {}: {p}", x.status))
            .collect()
    }

    /// Azure DevOps: parameters, body and answer against Microsoft's specifications.
    fn check_ado(&self, x: &Exchange<'_>) -> Vec<String> {
        let candidates = match self.ado_candidates(x) {
            Ok(found) => found,
            Err(e) => return vec![e],
        };
        // The operation it fits, if any; else the problems with the best guess.
        let mut first = None;
        for (template, op) in candidates {
            let problems = self.check_ado_operation(x, &template, op);
            if problems.is_empty() {
                return problems;
            }
            first.get_or_insert(problems);
        }
        first.unwrap_or_default()
    }

    fn check_ado_operation(&self, x: &Exchange<'_>, template: &str, op: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let what = format!("{} {template}", x.method);
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
            .collect();
        let documented: Vec<&str> = params
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap_or(""))
            .collect();
        for kv in x.query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            let name = kv.split('=').next().unwrap_or("").replace("%24", "$");
            if !documented.iter().any(|d| d.eq_ignore_ascii_case(&name)) {
                problems.push(format!(
                    "query parameter `{name}` is not documented (documented: {})",
                    documented.join(", ")
                ));
            }
        }
        if let Some(body) = x.request_body.filter(|b| !b.is_empty()) {
            let schema = params
                .iter()
                .find(|p| p["in"] == "body")
                .map(|p| &p["schema"]);
            match (serde_json::from_slice::<Value>(body), schema) {
                (Ok(v), Some(schema)) => self.validate(schema, &v, "request", &mut problems),
                (Ok(_), None) => problems.push("a body where the documents take none".into()),
                (Err(e), _) => problems.push(format!("request body is not JSON: {e}")),
            }
        }
        if let Some(body) = x.response_body.filter(|b| !b.is_empty()) {
            // A creation answered 201 where the document says 200 (Microsoft's own examples
            // record the 201 of a team's new iteration): the 200's schema holds.
            let mut response = &op["responses"][x.status.to_string()];
            if response.is_null() && x.status == 201 {
                response = &op["responses"]["200"];
            }
            match serde_json::from_slice::<Value>(body) {
                // A sign-in page (203) or a proxy's page: not the documents' business.
                Err(_) if !(200..300).contains(&x.status) || x.status == 203 => {}
                Err(e) => problems.push(format!("response is not JSON: {e}")),
                Ok(v) if response.is_null() => {
                    let error = serde_json::json!({
                        "type": "object",
                        "required": ["message", "typeKey"],
                        "properties": {
                            "$id": {"type": "string"}, "innerException": {"type": "object"},
                            "message": {"type": "string"}, "typeName": {"type": "string"},
                            "typeKey": {"type": "string"}, "errorCode": {"type": "integer"},
                            "eventId": {"type": "integer"}, "customProperties": {"type": "object"}
                        }
                    });
                    let at = format!("undocumented {} answer", x.status);
                    self.validate(&error, &v, &at, &mut problems);
                }
                Ok(v) => {
                    let schema = self.resolve(&response["schema"]);
                    if schema["type"] == "array" && v.is_object() {
                        // A documented array, wrapped as the service wraps every list.
                        let wrapper = serde_json::json!({
                            "type": "object",
                            "required": ["count", "value"],
                            "properties": {"count": {"type": "integer"}, "value": schema}
                        });
                        self.validate(&wrapper, &v, "response", &mut problems);
                    } else if !schema.is_null() {
                        self.validate(schema, &v, "response", &mut problems);
                    }
                }
            }
        }
        problems
            .into_iter()
            .map(|p| format!("{what} {}: {p}", x.status))
            .collect()
    }

    /// Every property an object schema documents, its `allOf` bases' included.
    fn properties<'a>(&'a self, schema: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
        let schema = self.resolve(schema);
        for base in schema["allOf"].as_array().into_iter().flatten() {
            self.properties(base, out);
        }
        for (k, v) in schema["properties"].as_object().into_iter().flatten() {
            out.push((k.as_str(), v));
        }
    }

    /// Azure DevOps's reading of a schema (see the module's notes).
    fn validate_ado(&self, schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
        if v.is_null() {
            return;
        }
        // `ReferenceLinks` is documented as an object holding `links`; on the wire (and in
        // every example) it is the map itself: `{"self": {"href": ...}, "avatar": ...}`.
        if schema["$ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("/ReferenceLinks"))
        {
            let links = serde_json::json!({
                "type": "object",
                "additionalProperties": {
                    "type": "object", "required": ["href"],
                    "properties": {"href": {"type": "string"}}
                }
            });
            return self.validate_ado(&links, v, at, problems);
        }
        let schema = self.resolve(schema);
        let mut props = Vec::new();
        self.properties(schema, &mut props);
        let additional = &schema["additionalProperties"];
        let any_object = props.is_empty() && additional.is_null() && schema["items"].is_null();
        if let Some(options) = schema["enum"].as_array() {
            // Enumerations travel in camelCase, documented in any case.
            let fits = v.as_str().is_some_and(|text| {
                options
                    .iter()
                    .any(|o| o.as_str().is_some_and(|o| o.eq_ignore_ascii_case(text)))
            });
            if !fits && !options.contains(v) {
                problems.push(format!(
                    "{at}: {v} is not one of {}",
                    Value::Array(options.clone())
                ));
            }
        }
        // `{"type": "object"}` alone is .NET's `object`: any value.
        let any_value = any_object && schema["type"] == "object";
        if !(any_value || fits_type(schema, v, at, problems)) {
            return;
        }
        if let Some(obj) = v.as_object() {
            check_required(schema, obj, at, problems);
            for (k, val) in obj {
                match props.iter().find(|(name, _)| name == k) {
                    Some((_, s)) => self.validate_ado(s, val, &format!("{at}.{k}"), problems),
                    None if additional.is_object() => {
                        self.validate_ado(additional, val, &format!("{at}.{k}"), problems)
                    }
                    None if !props.is_empty() => {
                        problems.push(format!("{at}: `{k}` is not a documented field"))
                    }
                    None => {}
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, item) in arr.iter().enumerate() {
                self.validate_ado(items, item, &format!("{at}[{i}]"), problems);
            }
        }
    }

    fn validate(&self, schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
        if self.dialect == Dialect::Ado {
            return self.validate_ado(schema, v, at, problems);
        }
        let schema = self.resolve(schema);
        if v.is_null()
            && (schema["nullable"] == true || schema.as_object().is_some_and(|o| o.is_empty()))
        {
            return;
        }
        if let Some(all) = schema["allOf"].as_array() {
            for s in all {
                self.validate(s, v, at, problems);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = schema[key].as_array() {
                let fits = alts.iter().any(|s| {
                    let mut p = Vec::new();
                    self.validate(s, v, at, &mut p);
                    p.is_empty()
                });
                if !fits {
                    problems.push(format!("{at}: fits none of the {key} alternatives"));
                }
            }
        }
        if let Some(options) = schema["enum"].as_array()
            && !options.contains(v)
        {
            problems.push(format!(
                "{at}: {v} is not one of {}",
                Value::Array(options.clone())
            ));
        }
        if !fits_type(schema, v, at, problems) {
            return;
        }
        if let Some(obj) = v.as_object() {
            let props = schema["properties"].as_object();
            check_required(schema, obj, at, problems);
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => self.validate(s, val, &format!("{at}.{k}"), problems),
                    None => match &schema["additionalProperties"] {
                        // Only where the schema says what is allowed.
                        Value::Bool(false) if props.is_some() || schema["allOf"].is_null() => {
                            problems.push(format!("{at}: `{k}` is not a documented field"));
                        }
                        Value::Object(s) if !s.is_empty() => self.validate(
                            &schema["additionalProperties"],
                            val,
                            &format!("{at}.{k}"),
                            problems,
                        ),
                        _ => {}
                    },
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, item) in arr.iter().enumerate() {
                self.validate(items, item, &format!("{at}[{i}]"), problems);
            }
        }
    }
}

/// Whether `v` is of the schema's JSON type; a problem when not.
fn fits_type(schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) -> bool {
    let ty = schema["type"].as_str();
    let fits = match ty {
        None => true,
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        Some(_) => true,
    };
    if !fits {
        problems.push(format!("{at}: {} is not of type {}", short(v), ty.unwrap()));
    }
    fits
}

/// Every `required` field of an answer is there (a request may leave them to defaults).
fn check_required(
    schema: &Value,
    obj: &serde_json::Map<String, Value>,
    at: &str,
    problems: &mut Vec<String>,
) {
    for req in schema["required"].as_array().into_iter().flatten() {
        if let Some(name) = req.as_str()
            && !obj.contains_key(name)
            && at != "request"
        {
            problems.push(format!("{at}: required `{name}` is missing"));
        }
    }
}

/// The example's shape: every field present in the example (recursively; arrays by their
/// first item), with the same JSON type; nulls pass.
fn shape(at: &str, example: &Value, v: &Value, problems: &mut Vec<String>) {
    match (example, v) {
        (_, Value::Null) | (Value::Null, _) => {}
        // An issue's `fields` hold whichever fields were asked for, each as the platform API
        // writes it: a map the documents leave open (the agile API's 2015 example even gives
        // `updated` as 1 and `worklog` as a list, against the platform's own formats).
        (Value::Object(_), Value::Object(_)) if at.ends_with(".fields") => {}
        (Value::Object(e), Value::Object(o)) => {
            for (k, val) in o {
                match e.get(k) {
                    Some(ev) => shape(&format!("{at}.{k}"), ev, val, problems),
                    None => problems.push(format!("{at}: `{k}` is not in the documented example")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let Some(first) = e.first() {
                for (i, item) in a.iter().enumerate() {
                    shape(&format!("{at}[{i}]"), first, item, problems);
                }
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (e, v) => problems.push(format!(
            "{at}: {} where the example has {}",
            short(v),
            short(e)
        )),
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 80 {
        format!("{}…", &text[..80])
    } else {
        text
    }
}

/// Check every Jira exchange a sandbox recorded; returns the problems.
pub fn check_recorded(requests: &[tollgate_sandbox::RecordedRequest]) -> Vec<String> {
    check_all(&Spec::jira(), requests, |r| {
        r.path
            .strip_prefix("/jira-cloud")
            .or_else(|| r.path.strip_prefix("/jira-dc"))
    })
}

/// Check every Azure DevOps exchange a sandbox recorded; returns the problems, one line per
/// kind (array indices read `[*]`). Requests outside the two documented areas (wit and work)
/// are left out by name: discovery (`OPTIONS` on `_apis`, `connectionData`, `resourceAreas`),
/// projects and teams (the core area), and the work item's web page.
pub fn check_recorded_ado(requests: &[tollgate_sandbox::RecordedRequest]) -> Vec<String> {
    let problems = check_all(&Spec::ado(), requests, |r| {
        r.path
            .strip_prefix("/ado")
            .filter(|path| is_documented_area(&r.method, path))
    });
    let mut problems: Vec<String> = problems.iter().map(|p| without_indices(p)).collect();
    problems.dedup();
    problems
}

/// The problems of every recorded exchange whose path `path_of` maps into the documents,
/// sorted, each once.
fn check_all(
    spec: &Spec,
    requests: &[tollgate_sandbox::RecordedRequest],
    path_of: impl Fn(&tollgate_sandbox::RecordedRequest) -> Option<&str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for r in requests {
        let Some(path) = path_of(r) else {
            continue;
        };
        problems.extend(spec.check(&Exchange {
            method: &r.method,
            path,
            query: r.query.as_deref(),
            request_body: r.request_body.as_deref(),
            status: r.status,
            response_body: r.response_body.as_deref(),
        }));
    }
    problems.sort();
    problems.dedup();
    problems
}

/// `response.value[12].fields` -> `response.value[*].fields`.
fn without_indices(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_index = false;
    for c in text.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' if in_index => {
                in_index = false;
                out.push_str("*]");
            }
            c if in_index && c.is_ascii_digit() => {}
            c => {
                if in_index {
                    // Not an index after all (`[tollgate:findings]`).
                    in_index = false;
                }
                out.push(c);
            }
        }
    }
    out
}

/// Whether an Azure DevOps request belongs to the areas the specifications in tests/specs
/// cover (wit and work); the rest is named here, so nothing else slips past.
pub fn is_documented_area(method: &str, path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let api = lower.split("/_apis/").nth(1).unwrap_or("");
    let outside = method == "OPTIONS"
        || lower.contains("/_workitems/")
        || matches!(
            api.split('/').next(),
            Some("projects" | "teams" | "connectiondata" | "resourceareas")
        )
        || lower.ends_with("/_apis");
    !outside
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn the_validator_catches_what_it_should() {
        let spec = Spec::jira();
        let ok = body(json!({"issues": [{"id": "1"}], "isLast": true}));
        let x = |path, query, status, resp: &[u8]| -> Vec<String> {
            spec.check(&Exchange {
                method: "GET",
                path,
                query,
                request_body: None,
                status,
                response_body: Some(resp),
            })
        };
        assert!(
            x(
                "/rest/api/3/search/jql",
                Some("jql=x&maxResults=5"),
                200,
                &ok
            )
            .is_empty()
        );
        // An undocumented parameter, path, field and type.
        assert!(!x("/rest/api/3/search/jql", Some("startAt=5"), 200, &ok).is_empty());
        assert!(!x("/rest/api/3/nope", None, 200, &ok).is_empty());
        let extra = body(json!({"issues": [], "isLast": true, "total": 3}));
        assert!(
            x("/rest/api/3/search/jql", None, 200, &extra)[0]
                .contains("`total` is not a documented field")
        );
        let wrong = body(json!({"issues": [], "isLast": "yes"}));
        assert!(!x("/rest/api/3/search/jql", None, 200, &wrong).is_empty());
        // An undocumented status must carry an ErrorCollection.
        let error = body(json!({"errorMessages": ["gone"], "errors": {}}));
        assert!(x("/rest/api/2/search", None, 410, &error).is_empty());
        assert!(
            !x(
                "/rest/api/2/search",
                None,
                410,
                &body(json!({"message": "gone"}))
            )
            .is_empty()
        );
        // An example-only response: the sprint page.
        let sprints = body(
            json!({"maxResults": 50, "startAt": 0, "isLast": true, "values": [{"id": 1, "state": "closed", "name": "S"}]}),
        );
        assert!(x("/rest/agile/1.0/board/12/sprint", None, 200, &sprints).is_empty());
        let odd = body(json!({"maxResults": 50, "values": [{"id": "1", "colour": "red"}]}));
        assert_eq!(
            x("/rest/agile/1.0/board/12/sprint", None, 200, &odd).len(),
            2
        );
    }
}
