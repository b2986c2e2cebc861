//! Rich text both ways: the text of a comment in either of Jira's formats (an ADF document on
//! Cloud, wiki markup on Data Center), and Tollgate's comment rendered in each.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use std::fmt;
use tollgate_plugin_api::comment::Line;

/// A visitor's methods for the scalars it passes over (`str` too unless it reads text): each
/// answers `$value`.
macro_rules! passes_over {
    ($ty:ty, $value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$ty, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$ty, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$ty, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$ty, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<$ty, E> {
            Ok($value)
        }
    };
}

/// Text of a comment: a wiki string as it is, an ADF document's text nodes joined.
pub fn comment_text(v: &Value) -> String {
    CommentText::deserialize(v).map(|t| t.0).unwrap_or_default()
}

/// Text of a comment read straight from an answer, as [`comment_text`] reads it from a tree: a
/// worklog page holds thousands of comments, each an ADF document of a few nested objects on
/// Cloud, which need not be built to be read. Text (wiki markup) is taken as it is; an
/// object's `text` members are joined, depth first, with a line break after each paragraph,
/// heading and list item; anything else reads as no text. A member given twice is read each
/// time.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentText(pub String);

impl<'de> Deserialize<'de> for CommentText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CommentText, D::Error> {
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a comment")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
                Ok(v)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
                let mut out = String::new();
                Node(&mut out).visit_map(map)?;
                out.truncate(out.trim_end().len());
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(String::new())
            }
            passes_over!(String, String::new());
        }
        d.deserialize_any(Top).map(CommentText)
    }
}

/// One node of an ADF document, its text appended to the buffer.
struct Node<'a>(&'a mut String);

/// The node types after whose content a line ends.
fn ends_a_line(kind: &str) -> bool {
    matches!(kind, "paragraph" | "heading" | "listItem")
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a node of a document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        let (mut has_content, mut line) = (false, false);
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                // Text is what these two members hold; another value (read whole, as the tree
                // was) holds none.
                Member::Text => {
                    if let Value::String(t) = map.next_value::<Value>()? {
                        out.push_str(&t);
                    }
                }
                Member::Type => {
                    line =
                        matches!(map.next_value::<Value>()?, Value::String(t) if ends_a_line(&t));
                }
                Member::Content => has_content |= map.next_value_seed(Content(&mut *out))?,
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if has_content && line && !out.ends_with('\n') {
            out.push('\n');
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    passes_over!((), ());
}

/// The members of a node that matter to its text.
enum Member {
    Text,
    Type,
    Content,
    Other,
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Member, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Member;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member's name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Member, E> {
                Ok(match v {
                    "text" => Member::Text,
                    "type" => Member::Type,
                    "content" => Member::Content,
                    _ => Member::Other,
                })
            }
        }
        d.deserialize_str(Name)
    }
}

/// A node's `content`: when it is a list, each of its nodes in turn (`true`); else passed over.
struct Content<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for Content<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Content<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a node's content")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element_seed(Node(&mut *self.0))?.is_some() {}
        Ok(true)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    passes_over!(bool, false);
}

/// A Jira Cloud comment body (Atlassian Document Format): a heading, a bullet list (each
/// line's lead word in a strong mark), a footer.
pub fn adf_body(heading: &str, items: &[Line], footer: &str) -> Value {
    let para = |t: &str| json!({"type": "paragraph", "content": [{"type": "text", "text": t}]});
    let item = |l: &Line| {
        let content = match &l.emphasis {
            Some(e) => json!([
                {"type": "text", "text": e, "marks": [{"type": "strong"}]},
                {"type": "text", "text": format!(" {}", l.text)}
            ]),
            None => json!([{"type": "text", "text": l.text}]),
        };
        json!({"type": "listItem", "content": [{"type": "paragraph", "content": content}]})
    };
    let mut content = vec![
        json!({"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": heading}]}),
    ];
    if !items.is_empty() {
        content.push(
            json!({"type": "bulletList", "content": items.iter().map(item).collect::<Vec<_>>()}),
        );
    }
    content.push(para(footer));
    json!({"type": "doc", "version": 1, "content": content})
}

/// The characters wiki markup gives a meaning (links, macros, emphasis, lists, tables).
const WIKI_SPECIAL: &[char] = &[
    '\\', '{', '}', '[', ']', '|', '*', '_', '+', '^', '~', '?', '!', '#', '-',
];

/// Text as wiki markup shows it, letter for letter: every character the markup gives a meaning
/// is escaped with a backslash, so a finding that quotes source data (a title, a CSV cell
/// such as `[click|https://evil.example]` or `{html}`) cannot add a link, a macro or
/// formatting to the comment.
/// A web address (which wiki markup links by itself) is kept as it is when it holds only the
/// characters of an address and none that could open markup (`[`, `]`, `{`, `}`, `|`, `!`,
/// `*`, `^`, `\`).
pub fn wiki_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(start);
        let plain_url = (word.starts_with("https://") || word.starts_with("http://"))
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#@%&=+,;$'()".contains(c));
        if plain_url {
            out.push_str(word);
        } else {
            for c in word.chars() {
                if WIKI_SPECIAL.contains(&c) {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        let spaces = after.len() - after.trim_start().len();
        out.push_str(&after[..spaces]);
        rest = &after[spaces..];
    }
    out
}

/// The text escaped with [`wiki_escape`] reads as.
fn wiki_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// A Jira Data Center comment body (wiki markup): a heading, a bullet list (each line's lead
/// word in `*bold*`), a footer. The heading's and the lines' text is escaped
/// ([`wiki_escape`]); the lead word and the footer are Tollgate's own.
pub fn wiki_body(heading: &str, items: &[Line], footer: &str) -> Value {
    let mut text = format!("h3. {}\n", wiki_escape(heading));
    for l in items {
        let line = wiki_escape(&l.text.replace('\n', " "));
        match &l.emphasis {
            Some(e) => text.push_str(&format!("* *{e}* {line}\n")),
            None => text.push_str(&format!("* {line}\n")),
        }
    }
    text.push_str(footer);
    Value::String(text)
}

/// The text a comment shows, for comparing an existing comment with the wanted one whatever
/// format each is in.
pub fn shown(body: &Value) -> String {
    let wiki = body.is_string();
    comment_text(body)
        .lines()
        .map(|l| {
            let l = l
                .trim()
                .trim_start_matches("h3. ")
                .trim_start_matches("* ")
                .trim();
            // Wiki markup's bold lead word reads as the word, escaped text as its letters.
            let l = match l.strip_prefix('*').and_then(|rest| rest.split_once("* ")) {
                Some((word, rest)) if !word.contains(' ') => format!("{word} {rest}"),
                _ => l.to_string(),
            };
            if wiki { wiki_unescape(&l) } else { l }
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_text_from_both_shapes() {
        assert_eq!(comment_text(&json!("wiki *text*")), "wiki *text*");
        let adf = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "c"}]}
        ]});
        assert_eq!(comment_text(&adf), "ab\nc");
    }

    /// A comment read from an answer's text, as a worklog's is.
    fn read(text: &str) -> String {
        serde_json::from_str::<CommentText>(text).unwrap().0
    }

    #[test]
    fn a_comment_is_read_from_its_text_without_a_tree() {
        assert_eq!(read(r#""wiki *text* \u00e9""#), "wiki *text* é");
        let adf = r#"{"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Review"}]},
            {"content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "fixed ", "marks": [{"type": "strong"}]},
                {"type": "mention", "attrs": {"id": "5b10", "text": "@Ana"}},
                {"type": "text", "text": "the gate"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "and its date"}]}]}], "type": "bulletList"},
            {"type": "paragraph", "content": []},
            {"type": "paragraph", "content": [{"type": "hardBreak"}, {"type": "text", "text": "end"}]}
        ]}"#;
        // Each paragraph, heading and list item ends a line; members in any order; a node
        // without text (a mention's text is an attribute) adds none.
        assert_eq!(read(adf), "Review\nfixed the gate\nand its date\nend");
        // The same as the tree is read.
        let tree: Value = serde_json::from_str(adf).unwrap();
        assert_eq!(comment_text(&tree), read(adf));
        // Shapes that hold no text read as none, not as an error.
        for none in [
            "7",
            "true",
            "null",
            "[1, {\"text\": \"x\"}]",
            r#"{"text": 5, "content": "x"}"#,
        ] {
            assert_eq!(read(none), "", "{none}");
        }
        assert_eq!(read(r#"{"content": {"text": "x"}, "text": "y"}"#), "y");
        // Broken JSON stays an error.
        assert!(serde_json::from_str::<CommentText>(r#"{"content": [}"#).is_err());
    }

    #[test]
    fn both_formats_show_the_same_text() {
        let items = vec![
            Line {
                emphasis: Some("blocker".into()),
                text: "one".into(),
            },
            Line {
                emphasis: None,
                text: "two".into(),
            },
        ];
        let adf = adf_body("Heading", &items, "footer");
        let wiki = wiki_body("Heading", &items, "footer");
        assert_eq!(shown(&adf), shown(&wiki));
        assert_eq!(shown(&wiki), "Heading\nblocker one\ntwo\nfooter");
        assert_eq!(
            adf["content"][1]["content"][0]["content"][0]["content"][0]["marks"][0]["type"],
            "strong"
        );
        assert!(wiki.as_str().unwrap().contains("* *blocker* one"));
    }

    #[test]
    fn source_data_cannot_add_markup_to_a_data_center_comment() {
        let items = [Line {
            emphasis: Some("warning".into()),
            text: "people.csv:13:7: fte: `[click|https://evil.example]` {html}<b>x</b>{html} *bold* 2026-11-27".into(),
        }];
        let wiki = wiki_body("Findings on BIZ-7", &items, "footer");
        let raw = wiki.as_str().unwrap();
        assert!(raw.contains(r"\[click\|https://evil.example\]"), "{raw}");
        assert!(raw.contains(r"\{html\}"), "{raw}");
        assert!(raw.contains(r"\*bold\*"), "{raw}");
        assert!(!raw.contains("[click|"), "{raw}");
        // It still reads as the same text as the Cloud comment, letter for letter.
        let adf = adf_body("Findings on BIZ-7", &items, "footer");
        assert_eq!(shown(&adf), shown(&wiki));
        assert!(shown(&wiki).contains("`[click|https://evil.example]` {html}"));
        assert_eq!(wiki_unescape(&wiki_escape(r"a\b-c{d}")), r"a\b-c{d}");
        // Our own links stay links; an address carrying markup does not.
        assert_eq!(
            wiki_escape("Details: https://dmo.example/initiatives/BIZ-22 now"),
            "Details: https://dmo.example/initiatives/BIZ-22 now"
        );
        assert_eq!(
            wiki_escape("https://x.example/a|[b]"),
            r"https://x.example/a\|\[b\]"
        );
    }
}
