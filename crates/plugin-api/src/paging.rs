//! Opaque cursors and checkpoints, and the three common ways a REST API pages.
//!
//! The host stores cursors and checkpoints as strings and hands them back; a plugin keeps
//! whatever it needs in them (a page token, an offset, a watermark) as JSON ([`encode`],
//! [`decode`]). For the pages themselves:
//! - **offsets** (`startAt`/`maxResults`, `offset`/`limit`, `$skip`/`$top`): [`Offset`];
//! - **tokens** (`nextPageToken`, a continuation header): [`next_token`];
//! - **links** (an absolute `next` URL in the body, or a `Link: <...>; rel="next"` header):
//!   [`next_link`] and [`link_path`].

use crate::PluginError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encode a cursor or checkpoint value.
pub fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("cursor values serialise to JSON")
}

/// Decode a cursor or checkpoint given by the host; `None` stays `None`. A value that does not
/// parse (e.g. written by an older plugin version) is an internal error that says so.
pub fn decode<T: DeserializeOwned>(value: Option<&str>) -> Result<Option<T>, PluginError> {
    match value {
        None => Ok(None),
        Some(text) => serde_json::from_str(text).map(Some).map_err(|e| {
            PluginError::Internal(format!(
                "cursor or checkpoint `{text}` was not written by this plugin version: {e}; run a full sync"
            ))
        }),
    }
}

/// Tell the host the cursor this `pull` will return as its page's `next_cursor`, as soon as
/// it is known (contract 0.2.2, `paging.next-cursor`): the host may start the next page's call
/// then, beside the rest of this one (the records still to build), so a stream whose pages
/// are a chain of calls keeps its requests going. Pass exactly what the page will return
/// (`encode` the same value); if the page ends up with another cursor the host drops the call
/// it started and asks again, at the cost of its requests. Only the first telling of a call
/// counts. Natively (tests) it does nothing.
pub fn tell_next_cursor(cursor: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::tollgate::plugin::paging::next_cursor(cursor);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = cursor;
}

/// Offset paging: where the next page starts. Keep it in the cursor
/// (`paging::encode(&offset)`); the first page is `Offset::default()`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Offset {
    /// Index of the first item of the page.
    pub start: u64,
}

impl Offset {
    /// The offset after a page of `returned` items; `None` when the stream is done: the page
    /// was empty, or `total` (when the API says it) is reached. Without a total the stream
    /// ends at the first empty page, since APIs may cap a page below the size asked for.
    pub fn next(self, returned: usize, total: Option<u64>) -> Option<Offset> {
        let start = self.start + returned as u64;
        if returned == 0 || total.is_some_and(|t| start >= t) {
            None
        } else {
            Some(Offset { start })
        }
    }
}

/// Token paging: the next cursor from the token an answer carries. An absent or empty token
/// ends the stream; a token equal to the one just used is an error (the API would serve the
/// same page forever).
pub fn next_token(used: Option<&str>, next: Option<&str>) -> Result<Option<String>, PluginError> {
    match next.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) if Some(t) == used => Err(PluginError::Remote(format!(
            "the API answered the page token `{t}` it was given: paging would never end"
        ))),
        Some(t) => Ok(Some(t.to_string())),
    }
}

/// Link paging: the `rel="next"` target of an RFC 8288 `Link` header
/// (`<https://api.example/items?page=2>; rel="next", <...>; rel="last"`), if any.
pub fn next_link(link_header: Option<&str>) -> Option<String> {
    link_header?.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .any(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r == "next")
            })
            .then(|| target.to_string())
    })
}

/// The path (and query) to request for a `next` link, relative to the connection's base URL:
/// the host owns the scheme and host, so an absolute link is cut to its path. `context` is the
/// path the connection's base URL already has (`""` for `https://api.example`, `/jira` for
/// `https://host/jira`), which the link repeats. A link that is not `http(s)://...` or `/...`,
/// or lies outside `context`, is an error.
pub fn link_path(link: &str, context: &str) -> Result<String, PluginError> {
    let link = link.trim();
    let path = match link.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            match rest.find(['/', '?']) {
                Some(i) if rest[i..].starts_with('/') => &rest[i..],
                Some(i) => return Ok(format!("/{}", &rest[i..])),
                None => "/",
            }
        }
        Some(_) => {
            return Err(PluginError::Remote(format!(
                "the next link `{link}` is not an http(s) URL"
            )));
        }
        None if link.starts_with('/') => link,
        None => {
            return Err(PluginError::Remote(format!(
                "the next link `{link}` is neither absolute nor a path"
            )));
        }
    };
    let context = context.trim_end_matches('/');
    match path.strip_prefix(context) {
        Some(rest) if rest.starts_with('/') || rest.starts_with('?') || rest.is_empty() => {
            Ok(if rest.starts_with('/') {
                rest.to_string()
            } else {
                format!("/{rest}")
            })
        }
        _ => Err(PluginError::Remote(format!(
            "the next link `{link}` lies outside the connection's path `{context}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Cursor {
        token: String,
        seen: u32,
    }

    #[test]
    fn cursor_round_trips_and_garbage_is_an_error() {
        let c = Cursor {
            token: "CAEa".into(),
            seen: 50,
        };
        let text = encode(&c);
        assert_eq!(decode::<Cursor>(Some(&text)).unwrap(), Some(c));
        assert_eq!(decode::<Cursor>(None).unwrap(), None);
        let err = decode::<Cursor>(Some("not json")).unwrap_err();
        assert!(format!("{err:?}").contains("run a full sync"), "{err:?}");
    }

    #[test]
    fn errors_are_one_located_line() {
        let e = crate::error_at(PluginError::Remote, "GET /items", "no list at /values");
        assert!(matches!(&e, PluginError::Remote(m) if m == "GET /items: no list at /values"));
        let e = crate::error_at(PluginError::Config, "settings.path", 7);
        assert!(matches!(&e, PluginError::Config(m) if m == "settings.path: 7"));
    }

    #[test]
    fn offsets_stop_at_the_total_or_an_empty_page() {
        let first = Offset::default();
        assert_eq!(first.next(50, Some(120)), Some(Offset { start: 50 }));
        assert_eq!(Offset { start: 100 }.next(20, Some(120)), None);
        // No total: on until an empty page, even after a short one (a capped page size).
        assert_eq!(first.next(30, None), Some(Offset { start: 30 }));
        assert_eq!(Offset { start: 30 }.next(0, None), None);
    }

    #[test]
    fn tokens_end_when_absent_and_may_not_repeat() {
        assert_eq!(
            next_token(None, Some("abc")).unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(next_token(Some("abc"), Some("")).unwrap(), None);
        assert_eq!(next_token(Some("abc"), None).unwrap(), None);
        let err = next_token(Some("abc"), Some("abc")).unwrap_err();
        assert!(format!("{err:?}").contains("never end"), "{err:?}");
    }

    #[test]
    fn links_from_headers_and_bodies() {
        let header = r#"<https://api.example/repos/x/issues?page=2>; rel="next", <https://api.example/repos/x/issues?page=9>; rel="last""#;
        let next = next_link(Some(header)).unwrap();
        assert_eq!(next, "https://api.example/repos/x/issues?page=2");
        assert_eq!(link_path(&next, "").unwrap(), "/repos/x/issues?page=2");
        assert_eq!(next_link(Some(r#"<https://a/x?page=9>; rel="last""#)), None);
        assert_eq!(next_link(None), None);
        assert_eq!(
            link_path("https://host/jira/rest/api/2/search?startAt=50", "/jira").unwrap(),
            "/rest/api/2/search?startAt=50"
        );
        assert_eq!(link_path("/items?page=3", "").unwrap(), "/items?page=3");
        assert_eq!(
            link_path("https://api.example?page=2", "").unwrap(),
            "/?page=2"
        );
        for bad in ["ftp://x/y", "items?page=2", "https://host/other/x"] {
            assert!(link_path(bad, "/jira").is_err(), "{bad}");
        }
    }
}
