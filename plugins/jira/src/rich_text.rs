//! Rich text both ways: the text of a comment in either of Jira's formats (an ADF document on
//! Cloud, wiki markup on Data Center), and Tollgate's comment rendered in each.

use serde_json::{Value, json};
use tollgate_plugin_api::comment::Line;

/// Text of a comment: a wiki string as it is, an ADF document's text nodes joined.
pub fn comment_text(v: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        if let Some(t) = v.get("text").and_then(Value::as_str) {
            out.push_str(t);
        }
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            for c in children {
                walk(c, out);
            }
            if matches!(
                v.get("type").and_then(Value::as_str),
                Some("paragraph" | "heading" | "listItem")
            ) && !out.ends_with('\n')
            {
                out.push('\n');
            }
        }
    }
    match v {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            walk(other, &mut out);
            out.trim_end().to_string()
        }
    }
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
