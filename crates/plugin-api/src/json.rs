//! JSON read lazily: [`Fields`], an object whose members are parsed when first asked for.

use serde::Deserialize;
use serde_json::Value;

/// An object's members (a work item's or an issue's fields), each kept as the text the service
/// sent and read into a tree the first time it is asked for. A tracker's item comes with many
/// fields, users and their avatars and links included, of which a plugin reads a few: building
/// a tree of each (and dropping it) was most of the Azure DevOps plugin's time, and half of a
/// full sync's, on a large project. Held in the answer's order and looked up from the end, so a
/// name given twice is its last value, as a tree of the object keeps it (an item has some
/// thirty fields: a map's inserts cost more than the dozen look-ups a plugin makes). Worth it
/// where a plugin reads few of the members it is sent; where it asked for the fields it reads
/// (Jira's searches name theirs), a tree is as fast and holds one copy, not two.
///
/// ```
/// let fields: tollgate_plugin_api::json::Fields =
///     serde_json::from_str(r#"{"title": "A", "owner": {"name": "Ann"}, "title": "B"}"#).unwrap();
/// assert_eq!(fields.get("title"), Some(&serde_json::json!("B")));
/// assert_eq!(fields.get("owner").and_then(|o| o["name"].as_str()), Some("Ann"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, Field)>);

/// One member of [`Fields`].
#[derive(Debug, Clone)]
struct Field {
    text: Box<serde_json::value::RawValue>,
    value: std::cell::OnceCell<Value>,
}

/// The deepest a member's value may nest: what the parser of a whole answer allows (128), less
/// some levels of the answer around the object (a list, an item, its fields).
pub const MAX_NESTING: usize = 120;

impl Field {
    fn value(&self) -> &Value {
        // The text is JSON (the parser checked it) nested at most MAX_NESTING levels (checked
        // when the fields were read), so it reads; `Null` is only there to need no panic.
        self.value
            .get_or_init(|| serde_json::from_str(self.text.get()).unwrap_or(Value::Null))
    }
}

/// How deep JSON text nests: its deepest list or object inside lists and objects.
fn nesting(json: &str) -> usize {
    let (mut depth, mut deepest, mut in_text, mut escaped) = (0usize, 0usize, false, false);
    for b in json.bytes() {
        if in_text {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_text = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_text = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of fields")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, m: M) -> Result<Fields, M::Error> {
                Fields::read_map(m)
            }
        }
        d.deserialize_map(Visitor)
    }
}

impl Fields {
    /// The members of a map being read (for a type's own `Deserialize` that holds them).
    pub fn read_map<'de, M: serde::de::MapAccess<'de>>(mut m: M) -> Result<Fields, M::Error> {
        let mut fields = Vec::with_capacity(m.size_hint().unwrap_or(32));
        while let Some((name, text)) = m.next_entry::<String, Box<serde_json::value::RawValue>>()? {
            // Each level takes a byte at least: a short text cannot nest too deep.
            if text.get().len() > MAX_NESTING && nesting(text.get()) > MAX_NESTING {
                return Err(serde::de::Error::custom(format!(
                    "field {name} nests deeper than {MAX_NESTING} levels"
                )));
            }
            let value = std::cell::OnceCell::new();
            fields.push((name, Field { text, value }));
        }
        Ok(Fields(fields))
    }

    /// The members' names, in the answer's order (a name given twice, twice).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    fn find(&self, name: &str) -> Option<&(String, Field)> {
        self.0.iter().rev().find(|(n, _)| n == name)
    }

    /// A member's value, whatever it is (`null` too).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).map(|(_, f)| f.value())
    }

    /// A member's name as the object spells it, and its value.
    pub fn get_key_value(&self, name: &str) -> Option<(&str, &Value)> {
        self.find(name).map(|(n, f)| (n.as_str(), f.value()))
    }

    /// Whether the object has this member.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Set a member (tests make objects so).
    pub fn insert(&mut self, name: String, value: Value) {
        self.remove(&name);
        let text = serde_json::value::to_raw_value(&value).unwrap_or_else(|_| {
            serde_json::value::RawValue::from_string("null".into()).expect("null is JSON")
        });
        let value = std::cell::OnceCell::from(value);
        self.0.push((name, Field { text, value }));
    }

    /// Take a member away.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let mut taken = None;
        while let Some(at) = self.0.iter().rposition(|(n, _)| n == name) {
            let (_, f) = self.0.remove(at);
            taken = taken.or_else(|| Some(f.value().clone()));
        }
        taken
    }
}
