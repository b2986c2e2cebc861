//! Pieces of Jira's answers written straight into the page as it is serialised, without a
//! `String` or a JSON tree each: URLs of several parts, `timeSpent`, text bodies, numbers and
//! escaped text onto bytes. A page of a thousand worklogs names four thousand URLs; made one by
//! one, they and the issues' trees kept the sandbox's allocator busy a third of its time.

#[allow(unused_imports)]
use super::*;

/// Jira's `timeSpent` text of a number of seconds: `1h 30m`, `2h`, `45m`.
#[derive(Clone, Copy)]
pub(super) struct TimeSpent(pub(super) u64);

impl TimeSpent {
    /// The text, onto `out` (ASCII: nothing in it is escaped in a JSON string).
    pub(super) fn write_to(self, out: &mut Vec<u8>) {
        let (h, m) = (self.0 / 3600, self.0 % 3600 / 60);
        if h > 0 {
            decimal(out, h);
            out.push(b'h');
        }
        if m > 0 || h == 0 {
            if h > 0 {
                out.push(b' ');
            }
            decimal(out, m);
            out.push(b'm');
        }
    }
}

pub(super) use crate::written::{decimal, json_text};

/// A piece of a text made of pieces (`Joined`).
#[derive(Clone, Copy)]
pub(super) enum Part<'a> {
    /// Text as it is.
    Text(&'a str),
    /// A number in decimal.
    Number(u64),
}

/// A text of `N` pieces (a URL: the site's base, the path, ids), written straight into the
/// answer as it is serialised rather than made into a `String` first.
#[derive(Clone, Copy)]
pub(super) struct Joined<'a, const N: usize>(pub(super) [Part<'a>; N]);

impl<const N: usize> std::fmt::Display for Joined<'_, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for part in &self.0 {
            match part {
                Part::Text(t) => f.write_str(t)?,
                Part::Number(n) => write!(f, "{n}")?,
            }
        }
        Ok(())
    }
}

impl<const N: usize> serde::Serialize for Joined<'_, N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A text as a body field carries it: an ADF document of one paragraph (REST v3) or the text
/// itself (v2), written without a tree.
#[derive(Clone, Copy)]
pub(super) struct TextBody<'a> {
    pub(super) v3: bool,
    pub(super) text: &'a str,
}

impl serde::Serialize for TextBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Members by name, as `text_body`'s tree writes them.
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            content: [Paragraph<'a>; 1],
            #[serde(rename = "type")]
            kind: &'static str,
            version: u8,
        }
        #[derive(serde::Serialize)]
        struct Paragraph<'a> {
            content: [Leaf<'a>; 1],
            #[serde(rename = "type")]
            kind: &'static str,
        }
        #[derive(serde::Serialize)]
        struct Leaf<'a> {
            text: &'a str,
            #[serde(rename = "type")]
            kind: &'static str,
        }
        if self.v3 {
            Doc {
                content: [Paragraph {
                    content: [Leaf {
                        text: self.text,
                        kind: "text",
                    }],
                    kind: "paragraph",
                }],
                kind: "doc",
                version: 1,
            }
            .serialize(s)
        } else {
            s.serialize_str(self.text)
        }
    }
}

/// A number written as JSON text (`"10001"`), as Jira writes its ids.
pub(super) fn as_text<S: serde::Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spent_reads_as_jira_writes_it() {
        for (seconds, text) in [
            (0, "0m"),
            (59, "0m"),
            (60, "1m"),
            (2700, "45m"),
            (3600, "1h"),
            (5400, "1h 30m"),
            (7260, "2h 1m"),
            (90_000, "25h"),
        ] {
            let mut out = Vec::new();
            TimeSpent(seconds).write_to(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), text, "{seconds} s");
        }
    }
}
