//! Checks what the sandbox served, and what the plugin sent, against Atlassian's own OpenAPI
//! documents (the subset in tests/specs, cut by tests/specs/extract.py).
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

use serde_json::Value;

/// The spec subset.
pub struct Spec {
    doc: Value,
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
        }
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap();
                self.resolve(&self.doc["components"]["schemas"][name])
            }
            None => schema,
        }
    }

    /// Find the documented path template and operation.
    fn operation(&self, path: &str, method: &str) -> Result<(String, &Value), String> {
        let path = path.replacen("/rest/api/2/", "/rest/api/3/", 1).replacen(
            "/rest/api/latest/",
            "/rest/api/3/",
            1,
        );
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let paths = self.doc["paths"].as_object().unwrap();
        let template = paths
            .keys()
            .find(|t| {
                let ts: Vec<&str> = t.split('/').collect();
                ts.len() == segments.len()
                    && ts
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| (t.starts_with('{') && t.ends_with('}')) || t == s)
            })
            .ok_or_else(|| format!("{method} {path}: no such path in the Jira documents"))?;
        let op = paths[template]
            .get(method.to_ascii_lowercase())
            .ok_or_else(|| {
                format!("{method} {template}: the documents define no such operation")
            })?;
        Ok((template.clone(), op))
    }

    /// Every problem with one exchange; empty when it fits the documents.
    pub fn check(&self, x: &Exchange<'_>) -> Vec<String> {
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
            let example = content["example"]
                .as_str()
                .and_then(|e| serde_json::from_str::<Value>(e).ok());
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

    fn validate(&self, schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
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
        let ty = schema["type"].as_str();
        let type_ok = match ty {
            None => true,
            Some("object") => v.is_object(),
            Some("array") => v.is_array(),
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            Some("number") => v.is_number(),
            Some("boolean") => v.is_boolean(),
            Some(_) => true,
        };
        if !type_ok {
            problems.push(format!("{at}: {} is not of type {}", short(v), ty.unwrap()));
            return;
        }
        if let Some(obj) = v.as_object() {
            let props = schema["properties"].as_object();
            for req in schema["required"].as_array().into_iter().flatten() {
                if let Some(name) = req.as_str()
                    && !obj.contains_key(name)
                    && at != "request"
                {
                    problems.push(format!("{at}: required `{name}` is missing"));
                }
            }
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

/// The example's shape: every field present in the example (recursively; arrays by their
/// first item), with the same JSON type; nulls pass.
fn shape(at: &str, example: &Value, v: &Value, problems: &mut Vec<String>) {
    match (example, v) {
        (_, Value::Null) | (Value::Null, _) => {}
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
    let spec = Spec::jira();
    let mut problems = Vec::new();
    for r in requests {
        let Some(path) = r
            .path
            .strip_prefix("/jira-cloud")
            .or_else(|| r.path.strip_prefix("/jira-dc"))
        else {
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
