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
/// The members' names lie one after another in one text, each member holding where its name
/// is: a name of its own for each member was an allocation (and a free) for each of an item's
/// thirty fields.
#[derive(Clone, Default)]
pub struct Fields {
    names: String,
    /// Each member's [`tag`], in the members' order.
    tags: Vec<u32>,
    members: Vec<Member>,
}

/// One member of [`Fields`]: where its name lies in [`Fields::names`], and its value.
#[derive(Clone)]
struct Member {
    name: std::ops::Range<usize>,
    field: Field,
}

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.members
                    .iter()
                    .map(|m| (&self.names[m.name.clone()], m.field.text.get())),
            )
            .finish()
    }
}

/// Reads a member's name onto the end of [`Fields::names`].
struct NameOnto<'a>(&'a mut String);

impl<'de> serde::de::DeserializeSeed<'de> for NameOnto<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for NameOnto<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a member's name")
    }
    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<(), E> {
        self.0.push_str(name);
        Ok(())
    }
    fn visit_bytes<E: serde::de::Error>(self, name: &[u8]) -> Result<(), E> {
        // What a `String` accepts: bytes that are UTF-8.
        match std::str::from_utf8(name) {
            Ok(name) => self.visit_str(name),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(name), &self)),
        }
    }
}

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

/// How many lists and objects JSON text opens (its bytes `[` and `{`, in strings too): at
/// least as many as it nests deep ([`nesting`]), and counted eight bytes at a time, where
/// [`nesting`] follows strings and escapes a byte at a time (it was the Azure DevOps plugin's
/// largest function, over every field of 120,000 items).
fn openings(json: &str) -> usize {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let bytes = json.as_bytes();
    let words = bytes.chunks_exact(8);
    let rest = words.remainder();
    let mut n = 0;
    for word in words {
        // `[` (0x5b) and `{` (0x7b) are the bytes that are 0x7b with bit 0x20 set: each such
        // byte becomes zero, and a zero byte is one whose low seven bits, plus 0x7f, do not
        // carry into its high bit and whose high bit is clear.
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let y = (w | 0x2020_2020_2020_2020) ^ 0x7b7b_7b7b_7b7b_7b7b;
        let nonzero = ((y & LOW7).wrapping_add(LOW7) | y) & !LOW7;
        n += (!nonzero & !LOW7).count_ones() as usize;
    }
    n + rest.iter().filter(|b| matches!(b, b'[' | b'{')).count()
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

/// What a name is first compared by: its length and its last byte, in a word. A tracker's field
/// names share long starts (`System.`, `Microsoft.VSTS.Scheduling.`), and a plugin's look-ups
/// compare a name with most of an item's thirty: a list of these words is read in a line or two
/// of the cache, and names are compared only where their words are equal.
fn tag(name: &str) -> u32 {
    let len = u32::try_from(name.len()).unwrap_or(u32::MAX).min(0xff_ffff);
    len << 8 | u32::from(name.as_bytes().last().copied().unwrap_or(0))
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
        let mut names = String::new();
        let mut members = Vec::with_capacity(m.size_hint().unwrap_or(32));
        let mut tags = Vec::with_capacity(members.capacity());
        loop {
            let start = names.len();
            if m.next_key_seed(NameOnto(&mut names))?.is_none() {
                break;
            }
            let text = m.next_value::<Box<serde_json::value::RawValue>>()?;
            // Each level takes a byte at least: a short text cannot nest too deep, nor one
            // that opens few lists and objects.
            let text_of = text.get();
            if text_of.len() > MAX_NESTING
                && openings(text_of) > MAX_NESTING
                && nesting(text_of) > MAX_NESTING
            {
                return Err(serde::de::Error::custom(format!(
                    "field {} nests deeper than {MAX_NESTING} levels",
                    &names[start..]
                )));
            }
            let value = std::cell::OnceCell::new();
            tags.push(tag(&names[start..]));
            members.push(Member {
                name: start..names.len(),
                field: Field { text, value },
            });
        }
        Ok(Fields {
            names,
            tags,
            members,
        })
    }

    /// The members' names, in the answer's order (a name given twice, twice).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| &self.names[m.name.clone()])
    }

    fn find(&self, name: &str) -> Option<(&str, &Field)> {
        let tag = tag(name);
        let mut from = self.tags.len();
        while let Some(at) = self.tags[..from].iter().rposition(|&t| t == tag) {
            let m = &self.members[at];
            let n = &self.names[m.name.clone()];
            if n == name {
                return Some((n, &m.field));
            }
            from = at;
        }
        None
    }

    /// A member's value, whatever it is (`null` too).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).map(|(_, f)| f.value())
    }

    /// A member's name as the object spells it, and its value.
    pub fn get_key_value(&self, name: &str) -> Option<(&str, &Value)> {
        self.find(name).map(|(n, f)| (n, f.value()))
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
        let start = self.names.len();
        self.names.push_str(&name);
        self.tags.push(tag(&name));
        self.members.push(Member {
            name: start..self.names.len(),
            field: Field { text, value },
        });
    }

    /// Take a member away (its name stays in the text of names, unread).
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let mut taken = None;
        while let Some(at) = self
            .members
            .iter()
            .rposition(|m| &self.names[m.name.clone()] == name)
        {
            self.tags.remove(at);
            let m = self.members.remove(at);
            taken = taken.or_else(|| Some(m.field.value().clone()));
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openings_count_every_bracket_and_bound_the_nesting() {
        let texts = [
            String::new(),
            "[".to_string(),
            r#"{"a": [1, {"b": "[{[{"}], "c": "\"{"}"#.to_string(),
            format!("{}1{}", "[".repeat(130), "]".repeat(130)),
            format!(r#"{{"x": "{}", "y": [[[]]]}}"#, "{[".repeat(77)),
            "é{漢[𝄞{\u{7b}\u{5b}\u{fb}\u{db}".to_string(),
        ];
        for text in &texts {
            let counted = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
            assert_eq!(openings(text), counted, "{text}");
            assert!(openings(text) >= nesting(text), "{text}");
        }
        // Every byte at every place of a word, and its neighbours either side of the brackets.
        for at in 0..17 {
            for b in 0..=255u8 {
                let mut bytes = vec![b' '; 17];
                bytes[at] = b;
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    continue;
                };
                assert_eq!(
                    openings(text),
                    usize::from(matches!(b, b'[' | b'{')),
                    "{b:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn names_read_in_one_text_answer_as_the_object_spells_them() {
        let text = r#"{"System.Title": "A", "a\"b\\c": 1, "\u00e9t\u00e9": {"x": [2]},
            "": null, "System.Title": "B", "日本": true, "ab": 5, "cb": 6}"#;
        let from_text: Fields = serde_json::from_str(text).unwrap();
        let from_bytes: Fields = serde_json::from_slice(text.as_bytes()).unwrap();
        let tree: Value = serde_json::from_str(text).unwrap();
        let from_tree: Fields = serde_json::from_value(tree.clone()).unwrap();
        for fields in [&from_text, &from_bytes] {
            assert_eq!(
                fields.keys().collect::<Vec<_>>(),
                [
                    "System.Title",
                    "a\"b\\c",
                    "été",
                    "",
                    "System.Title",
                    "日本",
                    "ab",
                    "cb"
                ]
            );
        }
        // A tree keeps a name given twice once, with its last value, in its map's order.
        assert_eq!(
            from_tree.keys().collect::<Vec<_>>(),
            ["", "System.Title", "a\"b\\c", "ab", "cb", "été", "日本"]
        );
        for fields in [&from_text, &from_bytes, &from_tree] {
            assert_eq!(fields.get("System.Title"), Some(&Value::from("B")));
            assert_eq!(fields.get("a\"b\\c"), Some(&Value::from(1)));
            assert_eq!(fields.get_key_value("été"), Some(("été", &tree["été"])));
            assert_eq!(fields.get(""), Some(&Value::Null));
            assert_eq!(fields.get("日本"), Some(&Value::Bool(true)));
            assert!(!fields.contains_key("System.Titl") && fields.get("ét").is_none());
            // Names of one length and last byte told apart.
            assert_eq!(fields.get("ab"), Some(&Value::from(5)));
            assert_eq!(fields.get("cb"), Some(&Value::from(6)));
            assert!(fields.get("db").is_none() && fields.get("b").is_none());
        }
        let mut fields = from_text.clone();
        assert_eq!(fields.remove("System.Title"), Some(Value::from("B")));
        fields.insert("New".into(), Value::from(3));
        fields.insert("日本".into(), Value::from(4));
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["a\"b\\c", "été", "", "ab", "cb", "New", "日本"]
        );
        assert_eq!(fields.get("日本"), Some(&Value::from(4)));
        assert_eq!(fields.get("cb"), Some(&Value::from(6)));
        assert_eq!(
            format!("{:?}", from_text.clone()).replace(char::is_whitespace, ""),
            r#"{"System.Title":"\"A\"","a\"b\\c":"1","été":"{\"x\":[2]}","":"null","System.Title":"\"B\"","日本":"true","ab":"5","cb":"6"}"#
        );
    }

    #[test]
    fn a_field_opening_many_lists_in_its_text_but_nesting_few_is_read() {
        let text = format!(
            r#"{{"shallow": "{}", "deep": {}1{}}}"#,
            "[".repeat(500),
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        let fields: Fields = serde_json::from_str(&text).unwrap();
        assert_eq!(fields.get("shallow"), Some(&Value::String("[".repeat(500))));
        let deeper = text.replace("1]", "[1]]");
        let e = serde_json::from_str::<Fields>(&deeper).unwrap_err();
        assert!(
            e.to_string().contains("field deep nests deeper than 120"),
            "{e}"
        );
    }
}
