//! Pieces of JSON written by hand onto an answer's bytes, for the pages both sandboxes write
//! most (Jira's worklogs, Azure DevOps' work items and updates): serde escapes every member
//! name and number byte by byte and walks a tree or a struct a member at a time, where most of
//! such a page is text that needs no escaping or was escaped once already.

/// `text` as a JSON string (quoted and escaped), onto `out`.
pub(crate) fn json_text(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(&mut *out, text).expect("writing to memory");
}

/// `n` in decimal, onto `out`.
pub(crate) fn decimal(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `text` escaped as in a JSON string, without its quotes: the start of many strings of an
/// answer (a URL made from the request's `Host`), escaped once and copied into each. JSON
/// escapes a text character by character, so the start escaped and then what follows it
/// (digits, slashes, ASCII words) is the whole text escaped.
pub(crate) fn escaped(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    json_text(&mut out, text);
    out.pop();
    out.remove(0);
    out
}

/// `value` as serde_json writes it, onto `out` (a part of a hand-written answer that is rare
/// or a tree already).
pub(crate) fn json_value(out: &mut Vec<u8>, value: &impl serde::Serialize) {
    serde_json::to_writer(&mut *out, value).expect("a value serialises to memory");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_escaped_once_and_a_rest_written_after_it_read_as_the_whole_text() {
        let start = "http://we\"ird\\host\u{1}:1/\u{2028}é/";
        let mut out = b"\"".to_vec();
        out.extend_from_slice(&escaped(start));
        decimal(&mut out, 4103u64);
        out.push(b'"');
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, format!("{start}4103"));
    }
}
