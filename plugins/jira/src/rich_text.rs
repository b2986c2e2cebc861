//! Rich text both ways: the text of a comment in either of Jira's formats (an ADF document on
//! Cloud, wiki markup on Data Center), and Tollgate's comment rendered in each.

use serde_json::{Value, json};

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

/// A Jira Cloud comment body (Atlassian Document Format): a heading, a bullet list, a footer.
pub fn adf_body(heading: &str, items: &[String], footer: &str) -> Value {
    let para = |t: &str| json!({"type": "paragraph", "content": [{"type": "text", "text": t}]});
    let mut content = vec![
        json!({"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": heading}]}),
    ];
    if !items.is_empty() {
        content.push(json!({"type": "bulletList", "content": items.iter().map(|i| json!({"type": "listItem", "content": [para(i)]})).collect::<Vec<_>>()}));
    }
    content.push(para(footer));
    json!({"type": "doc", "version": 1, "content": content})
}

/// A Jira Data Center comment body (wiki markup): a heading, a bullet list, a footer.
pub fn wiki_body(heading: &str, items: &[String], footer: &str) -> Value {
    let mut text = format!("h3. {heading}\n");
    for i in items {
        text.push_str(&format!("* {}\n", i.replace('\n', " ")));
    }
    text.push_str(footer);
    Value::String(text)
}

/// The text a comment shows, for comparing an existing comment with the wanted one whatever
/// format each is in.
pub fn shown(body: &Value) -> String {
    comment_text(body)
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("h3. ")
                .trim_start_matches("* ")
                .trim()
                .to_string()
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
        let items = vec!["one".to_string(), "two".to_string()];
        let adf = adf_body("Heading", &items, "footer");
        let wiki = wiki_body("Heading", &items, "footer");
        assert_eq!(shown(&adf), shown(&wiki));
        assert_eq!(shown(&wiki), "Heading\none\ntwo\nfooter");
    }
}
