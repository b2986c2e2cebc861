//! Checks a plugin's settings against the JSON Schema the plugin declares, so `config
//! validate` catches a misspelt or mistyped setting before a run does.
//!
//! The subset plugins use: `type`, `properties`, `required`, `additionalProperties` (a boolean
//! or a schema), `items`, `uniqueItems`, `enum`, `minimum`, `maximum`, `minLength`, `pattern`.
//! Other keywords are not checked here, nor a `pattern` this engine cannot read or that would
//! take more than a bounded size to build (the schema is the plugin's, so it is not trusted);
//! the plugin still checks its settings itself when it runs.

use serde_json::Value;

/// Every place `value` breaks `schema`: (path like `fields.gate`, what is wrong).
pub fn check(schema: &Value, value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(schema, value, "", &mut out);
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

fn fits_type(expected: &str, v: &Value) -> bool {
    match expected {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        _ => true,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(schema: &Value, value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    let Some(schema) = schema.as_object() else {
        return;
    };
    if let Some(expected) = schema.get("type") {
        let names: Vec<&str> = match expected {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !names.is_empty() && !names.iter().any(|t| fits_type(t, value)) {
            let wanted: Vec<&str> = names
                .iter()
                .map(|t| match *t {
                    "object" => "a table",
                    "array" => "a list",
                    "string" => "text",
                    "integer" => "an integer",
                    "number" => "a number",
                    "boolean" => "true or false",
                    other => other,
                })
                .collect();
            out.push((
                path.to_string(),
                format!(
                    "expected {}, found {}",
                    wanted.join(" or "),
                    type_name(value)
                ),
            ));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        out.push((
            path.to_string(),
            format!("{value} is not one of: {}", list.join(", ")),
        ));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            out.push((
                path.to_string(),
                format!("{n} is less than the minimum {min}"),
            ));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            out.push((
                path.to_string(),
                format!("{n} is more than the maximum {max}"),
            ));
        }
    }
    if let (Some(s), Some(min)) = (
        value.as_str(),
        schema.get("minLength").and_then(Value::as_u64),
    ) && (s.chars().count() as u64) < min
    {
        out.push((
            path.to_string(),
            format!("expected at least {min} characters"),
        ));
    }
    if let (Some(s), Some(pattern)) = (
        value.as_str(),
        schema.get("pattern").and_then(Value::as_str),
    ) && matches(pattern, s) == Some(false)
    {
        out.push((
            path.to_string(),
            format!("{value} does not match the pattern {pattern}"),
        ));
    }
    if let Some(items) = value.as_array() {
        if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    out.push((
                        format!("{path}[{i}]"),
                        format!("{item} is in the list twice"),
                    ));
                }
            }
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                walk(item_schema, item, &format!("{path}[{i}]"), out);
            }
        }
        return;
    }
    let Some(object) = value.as_object() else {
        return;
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(Value::Array(required)) = schema.get("required") {
        for key in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(key) {
                out.push((join(path, key), "is required".to_string()));
            }
        }
    }
    for (key, v) in object {
        match properties.and_then(|p| p.get(key)) {
            Some(sub) => walk(sub, v, &join(path, key), out),
            None => match schema.get("additionalProperties") {
                Some(Value::Bool(false)) => {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    out.push((
                        join(path, key),
                        if known.is_empty() {
                            "is not a setting of this plugin".to_string()
                        } else {
                            format!(
                                "is not a setting of this plugin; known: {}",
                                known.join(", ")
                            )
                        },
                    ));
                }
                Some(sub @ Value::Object(_)) => walk(sub, v, &join(path, key), out),
                _ => {}
            },
        }
    }
}

/// Whether `text` matches the JSON Schema `pattern` (found anywhere in it, as JSON Schema
/// reads a pattern; anchors say otherwise); `None` when the pattern cannot be built within a
/// bounded size or the search cannot answer.
fn matches(pattern: &str, text: &str) -> Option<bool> {
    use regex_automata::dfa::{dense, regex::Regex};
    use regex_automata::nfa::thompson;
    const LIMIT: usize = 1 << 20;
    // Each step bounded: a repetition of repetitions expands into the NFA before any DFA.
    let dfa = dense::Config::new()
        .dfa_size_limit(Some(LIMIT))
        .determinize_size_limit(Some(LIMIT));
    let nfa = thompson::Config::new().nfa_size_limit(Some(LIMIT));
    let regex = Regex::builder()
        .thompson(nfa)
        .dense(dfa)
        .build(pattern)
        .ok()?;
    regex
        .try_search(&regex_automata::Input::new(text))
        .ok()
        .map(|m| m.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_that_break_the_schema_are_named_by_path() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["project"],
            "properties": {
                "deployment": {"enum": ["cloud", "data-center"]},
                "project": {"type": "string"},
                "boards": {"type": "array", "items": {"type": "integer"}},
                "people": {"type": "object", "additionalProperties": {"type": "string"}},
                "page": {"type": "integer", "minimum": 1, "maximum": 100}
            }
        });
        let problems = check(
            &schema,
            &json!({
                "deployment": "server",
                "boards": [1, "two"],
                "people": {"a": 1},
                "page": 0,
                "projcet": "BIZ"
            }),
        );
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "project",
                "boards[1]",
                "deployment",
                "page",
                "people.a",
                "projcet"
            ]
        );
        assert!(
            problems[2].1.contains("\"cloud\", \"data-center\""),
            "{problems:?}"
        );
        assert!(
            problems[5].1.contains("known: boards, deployment, page"),
            "{problems:?}"
        );
        assert!(check(&schema, &json!({"project": "BIZ", "boards": [3]})).is_empty());
    }

    #[test]
    fn patterns_and_unique_items_are_checked_and_a_pattern_that_cannot_be_built_is_not() {
        let key = json!({"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"});
        let schema = json!({
            "type": "object",
            "properties": {
                "project": key,
                "teams": {"type": "array", "items": key, "uniqueItems": true},
                "code": {"type": "string", "pattern": "[0-9]"},
                // A plugin's patterns that cannot be read, or would take too much to build (a
                // DFA of 2^41 states; an NFA of 10^9; Unicode classes 500 times over): not
                // checked, in bounded time and memory (the second took the test's process down
                // before the NFA was bounded).
                "wild": {"type": "string", "pattern": "(unclosed"},
                "huge": {"type": "string", "pattern": "(a|b)*a(a|b){40}"},
                "wide": {"type": "string", "pattern": "((a{1000}){1000}){1000}"},
                "deep": {"type": "string", "pattern": "[\\w\\p{L}]{500}"}
            }
        });
        let problems = check(
            &schema,
            &json!({
                "project": "10000",
                "teams": ["OPS", "Ops Team", "OPS"],
                "code": "no digits",
                "wild": "anything",
                "huge": "abab",
                "wide": "a",
                "deep": "b"
            }),
        );
        assert_eq!(
            problems,
            [
                ("code", "\"no digits\" does not match the pattern [0-9]"),
                (
                    "project",
                    "\"10000\" does not match the pattern ^[A-Za-z][A-Za-z0-9_]*$"
                ),
                ("teams[2]", "\"OPS\" is in the list twice"),
                (
                    "teams[1]",
                    "\"Ops Team\" does not match the pattern ^[A-Za-z][A-Za-z0-9_]*$"
                ),
            ]
            .map(|(p, m)| (p.to_string(), m.to_string()))
        );
        // Found anywhere unless anchored; text that is not ASCII is read.
        assert!(
            check(
                &schema,
                &json!({"project": "B2B_OPS", "teams": ["OPS", "PAY"], "code": "v2 ü"})
            )
            .is_empty()
        );
    }
}
