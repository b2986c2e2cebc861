//! The configuration reference of docs/configuration.md, written from the config types' doc
//! comments (through their JSON Schema), so the two cannot drift: `tollgate config reference`
//! prints it, and a test compares it with the file.

use serde_json::Value;

/// The reference as Markdown: one table per section, in the order of the file.
pub fn markdown() -> String {
    let schema = schemars::schema_for!(super::Config);
    let root = schema.as_value();
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    let mut out = String::new();
    let mut queue: Vec<(String, Value)> = Vec::new();
    for (key, prop) in properties(root) {
        let (title, def) = match table_of(&prop, &defs) {
            Some(Table::Plain(def)) => (format!("[{key}]"), def),
            Some(Table::Map(def)) => (format!("[{key}.NAME]"), def),
            None => continue,
        };
        queue.push((title, def));
    }
    while !queue.is_empty() {
        let (title, def) = queue.remove(0);
        let mut nested = Vec::new();
        out.push_str(&format!("### `{title}`\n\n"));
        if let Some(d) = def.get("description").and_then(Value::as_str) {
            out.push_str(&format!("{}\n\n", paragraph(d)));
        }
        out.push_str("| key | meaning | default |\n|---|---|---|\n");
        let base = title
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        for (key, prop) in properties(&def) {
            let (kind, sub) = match table_of(&prop, &defs) {
                Some(Table::Plain(d)) => {
                    let t = format!("[{base}.{key}]");
                    (format!("table, see `{t}`"), Some((t, d)))
                }
                Some(Table::Map(d)) => {
                    let t = format!("[{base}.{key}.NAME]");
                    (format!("tables by name, see `{t}`"), Some((t, d)))
                }
                None => (type_of(&prop, &defs), None),
            };
            if let Some(s) = sub {
                nested.push(s);
            }
            let meaning = prop
                .get("description")
                .and_then(Value::as_str)
                .map(paragraph)
                .unwrap_or_default();
            let allowed = if base.ends_with("limits") {
                super::runtime::allowed(&key)
                    .map(|a| format!("; allowed: {a}"))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            out.push_str(&format!(
                "| `{key}` | {} ({kind}{allowed}) | {} |\n",
                meaning.replace('|', "\\|"),
                default_of(&prop)
            ));
        }
        out.push('\n');
        // Sub-tables right after their parent.
        for (i, s) in nested.into_iter().enumerate() {
            queue.insert(i, s);
        }
    }
    out
}

enum Table {
    /// A table of keys.
    Plain(Value),
    /// Tables by name (`[connections.NAME]`).
    Map(Value),
}

/// The properties of an object schema, in order.
fn properties(def: &Value) -> Vec<(String, Value)> {
    def.get("properties")
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The schema a `$ref` (or a nullable `anyOf` around one) points to.
fn resolve(prop: &Value, defs: &Value) -> Value {
    if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or("");
        return defs.get(name).cloned().unwrap_or(Value::Null);
    }
    if let Some(any) = prop.get("anyOf").and_then(Value::as_array)
        && let Some(inner) = any
            .iter()
            .find(|v| v.get("type") != Some(&Value::from("null")))
    {
        return resolve(inner, defs);
    }
    prop.clone()
}

/// Whether a property is a table of its own (or tables by name), and its schema.
fn table_of(prop: &Value, defs: &Value) -> Option<Table> {
    let def = resolve(prop, defs);
    if def.get("properties").is_some() {
        return Some(Table::Plain(def));
    }
    let inner = def.get("additionalProperties").map(|a| resolve(a, defs));
    match inner {
        Some(d) if d.get("properties").is_some() => Some(Table::Map(d)),
        _ => None,
    }
}

/// A value's type in words.
fn type_of(prop: &Value, defs: &Value) -> String {
    let def = resolve(prop, defs);
    let values: Vec<String> = def
        .get("enum")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|v| format!("`{}`", v.as_str().unwrap_or("?")))
                .collect()
        })
        .or_else(|| {
            def.get("oneOf").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.get("const").and_then(Value::as_str))
                    .map(|v| format!("`{v}`"))
                    .collect()
            })
        })
        .unwrap_or_default();
    if !values.is_empty() {
        return format!("one of {}", values.join(", "));
    }
    let types: Vec<&str> = match def.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    match types.as_slice() {
        ["array"] => {
            let items = def
                .get("items")
                .map(|i| type_of(i, defs))
                .unwrap_or_else(|| "values".into());
            format!("a list of {items}")
        }
        ["object"] => "a table".into(),
        ["string"] => "text".into(),
        ["number"] => "a number".into(),
        ["integer"] => "a whole number".into(),
        ["boolean"] => "true or false".into(),
        [] => "any value".into(),
        other => other.join(" or "),
    }
}

/// The default, as written in the file; `–` when there is none.
fn default_of(prop: &Value) -> String {
    match prop.get("default") {
        None | Some(Value::Null) => "–".into(),
        Some(Value::String(s)) => format!("`\"{s}\"`"),
        Some(v @ Value::Array(_)) => format!("`{}`", v.to_string().replace(',', ", ")),
        Some(Value::Object(o)) if o.is_empty() => "–".into(),
        Some(Value::Object(_)) => "see the table".into(),
        Some(v) => format!("`{v}`"),
    }
}

/// A doc comment as one paragraph.
fn paragraph(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
