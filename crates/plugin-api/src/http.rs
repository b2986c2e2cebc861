//! HTTP through the host. A [`Client`] names a connection; the host adds the base URL and the
//! credentials, so a plugin never handles a token. Non-2xx statuses become [`PluginError`]s
//! of the right kind, so `?` does the sensible thing.

use crate::PluginError;
use crate::bindings::tollgate::plugin::http as raw;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use raw::Method;

/// A response from the remote, status already known to be successful unless you used
/// [`Client::send`].
#[derive(Debug, Clone)]
pub struct Response {
    /// The method of the request this answers, for messages.
    pub method: Method,
    /// The path (without the query) of the request this answers, for messages.
    pub path: String,
    /// HTTP status.
    pub status: u16,
    /// Response headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parse the body as JSON of the shape `T`. A body that is not JSON, or JSON of another
    /// shape (`{}` where a list of issues was expected, a number where text was), is a
    /// [`PluginError::Transient`] naming the request: the host retries the page, and if the
    /// answer stays wrong the sync fails loudly instead of reading it as "no data".
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        // Text checked as UTF-8 once, a word at a time, rather than each string and each
        // member kept as text checked on its own as the parser of bytes does (a sixth of the
        // Azure DevOps plugin's parsing); bytes that are not UTF-8 are read as bytes, so that
        // the parser's error says where.
        let parsed = match std::str::from_utf8(&self.body) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(&self.body),
        };
        parsed.map_err(|e| {
            let content_type = self.header("content-type").unwrap_or("no content type");
            PluginError::Transient(format!(
                "{} {} answered {} ({content_type}) with a body that is not the JSON expected: {e}; body starts: {}",
                method_name(self.method),
                self.path,
                self.status,
                excerpt(&self.body)
            ))
        })
    }
}

/// A client for one named connection.
#[derive(Debug, Clone)]
pub struct Client {
    connection: String,
    headers: Vec<(String, String)>,
}

impl Client {
    /// A client for the connection `name` (one of the plugin's declared connections).
    pub fn new(name: &str) -> Self {
        Client {
            connection: name.to_string(),
            headers: vec![("accept".to_string(), "application/json".to_string())],
        }
    }

    /// Add a header to every request (not Authorization, Cookie or Host: the host refuses
    /// those).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A request to this connection, not yet sent: for [`send_all`], which sends several side
    /// by side.
    pub fn prepare(
        &self,
        method: Method,
        path: &str,
        extra_headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Request {
        let mut headers = self.headers.clone();
        headers.extend(
            extra_headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        Request(raw::Request {
            connection: self.connection.clone(),
            method,
            path: path.to_string(),
            headers,
            body,
        })
    }

    /// A GET of `path`, not yet sent ([`send_all`]).
    pub fn get_request(&self, path: &str) -> Request {
        self.prepare(Method::Get, path, &[], None)
    }

    /// A read sent as a POST with a JSON body, not yet sent ([`send_all`]); marked with an
    /// `Idempotency-Key` like [`Client::query_json`].
    pub fn query_request<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Request, PluginError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| PluginError::Internal(format!("cannot encode request body: {e}")))?;
        let key = idempotency_key(path, &bytes);
        Ok(self.prepare(
            Method::Post,
            path,
            &[
                ("content-type", "application/json"),
                ("idempotency-key", &key),
            ],
            Some(bytes),
        ))
    }

    /// Send a request and return the response whatever its status; transport failures and
    /// host refusals are errors.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        extra_headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Response, PluginError> {
        let request = self.prepare(method, path, extra_headers, body);
        request.answered(raw::send(&request.0))
    }

    /// Send and turn a non-2xx status into the matching [`PluginError`].
    pub fn request(
        &self,
        method: Method,
        path: &str,
        extra_headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Response, PluginError> {
        let response = self.send(method, path, extra_headers, body)?;
        check_status(method, path, response)
    }

    /// GET a path and parse the JSON body.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, PluginError> {
        self.request(Method::Get, path, &[], None)?.json()
    }

    /// POST a JSON body and parse the JSON answer.
    pub fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, PluginError> {
        self.with_json(Method::Post, path, body)?.json()
    }

    /// PUT a JSON body and parse the JSON answer.
    pub fn put_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, PluginError> {
        self.with_json(Method::Put, path, body)?.json()
    }

    /// POST a JSON body that only reads (a search, a batch read); the response is returned
    /// unparsed. It carries an `Idempotency-Key` ([`idempotency_key`]), so the host may send
    /// it again after a 503 or a lost answer, as it does a GET. Never for a POST that creates
    /// something.
    pub fn query_json<B: Serialize>(&self, path: &str, body: &B) -> Result<Response, PluginError> {
        let request = self.query_request(path, body)?;
        let response = request.answered(raw::send(&request.0))?;
        check_status(Method::Post, path, response)
    }

    /// Send a JSON body with any method; the response is returned unparsed.
    pub fn with_json<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<Response, PluginError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| PluginError::Internal(format!("cannot encode request body: {e}")))?;
        self.request(
            method,
            path,
            &[("content-type", "application/json")],
            Some(bytes),
        )
    }
}

/// A request prepared by [`Client::prepare`] (or [`Client::get_request`],
/// [`Client::query_request`]) to be sent with others by [`send_all`].
#[derive(Debug, Clone)]
pub struct Request(raw::Request);

impl Request {
    /// The path without its query, as messages name it.
    fn path(&self) -> &str {
        self.0.path.split('?').next().unwrap_or(&self.0.path)
    }

    /// The host's answer to this request as the SDK hands it out.
    fn answered(
        &self,
        answer: Result<raw::Response, raw::HttpError>,
    ) -> Result<Response, PluginError> {
        let path = self.path();
        match answer {
            Ok(r) => Ok(Response {
                method: self.0.method,
                path: path.to_string(),
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(raw::HttpError::Denied(m)) => Err(PluginError::Internal(format!(
                "the host refused {} {path}: {m}",
                self.0.connection
            ))),
            Err(raw::HttpError::Timeout(m)) => {
                Err(PluginError::Transient(format!("timeout on {path}: {m}")))
            }
            Err(raw::HttpError::TooLarge(cap)) => Err(PluginError::Remote(format!(
                "response to {path} is larger than the host's cap of {cap} bytes"
            ))),
            Err(raw::HttpError::Transport(m)) => Err(PluginError::Transient(format!(
                "transport error on {path}: {m}"
            ))),
        }
    }
}

/// The most requests [`send_all`] sends in one call; the host answers those past it with a
/// refusal.
pub const MAX_REQUESTS_PER_BATCH: usize = 16;

/// Send requests that do not depend on each other side by side, and check each answer's
/// status as [`Client::request`] does; the answers come in the requests' order. The host keeps
/// the connection's limits (requests in flight, requests per second), so this is polite: it
/// only stops a plugin from waiting for one answer before asking the next question when it
/// already knows both. At most [`MAX_REQUESTS_PER_BATCH`] requests.
pub fn send_all(requests: &[Request]) -> Vec<Result<Response, PluginError>> {
    let raw_requests: Vec<raw::Request> = requests.iter().map(|r| r.0.clone()).collect();
    let answers = raw::send_all(&raw_requests);
    requests
        .iter()
        .zip(
            answers
                .into_iter()
                .map(Some)
                .chain(std::iter::repeat_with(|| None)),
        )
        .map(|(request, answer)| {
            let answer = answer.unwrap_or_else(|| {
                Err(raw::HttpError::Transport(
                    "the host returned fewer answers than requests".to_string(),
                ))
            });
            let response = request.answered(answer)?;
            check_status(request.0.method, &request.0.path, response)
        })
        .collect()
}

/// The `Idempotency-Key` of a read sent as a POST (FNV-1a of the path and the body, in hex):
/// the same read, the same key. The host retries a POST that carries one like a GET.
pub fn idempotency_key(path: &str, body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_bytes().iter().chain(body) {
        h ^= u64::from(*byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
    }
}

/// Map a response status onto the error kinds of the contract.
pub fn check_status(
    method: Method,
    path: &str,
    response: Response,
) -> Result<Response, PluginError> {
    let status = response.status;
    if (200..300).contains(&status) {
        return Ok(response);
    }
    let what = format!(
        "{} {path} answered {status}: {}",
        method_name(method),
        excerpt(&response.body)
    );
    Err(match status {
        401 | 403 => PluginError::Unauthorized(what),
        429 => PluginError::RateLimited(crate::RetryAfter {
            seconds: response
                .header("retry-after")
                .and_then(|v| v.trim().parse().ok()),
            message: what,
        }),
        500..=599 => PluginError::Transient(what),
        _ => PluginError::Remote(what),
    })
}

/// The status of the answer an error of [`check_status`] (so of [`send_all`]) stands for, read
/// back from the words it wrote: for a plugin that treats one status otherwise (a 404 of an
/// issue deleted since it was listed). `None` for an error that was no answer.
pub fn status_of(error: &PluginError) -> Option<u16> {
    let message = match error {
        PluginError::Remote(m) | PluginError::Unauthorized(m) | PluginError::Transient(m) => m,
        PluginError::RateLimited(r) => &r.message,
        _ => return None,
    };
    // `{METHOD} {path} answered {status}: …`: neither the method nor the path holds a space.
    let (head, rest) = message.split_once(" answered ")?;
    let (method, path) = head.split_once(' ')?;
    let methods = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];
    let known = methods.into_iter().any(|m| method_name(m) == method);
    if !known || !path.starts_with('/') || path.contains(' ') {
        return None;
    }
    rest.split_once(':')?.0.parse().ok()
}

/// The first 300 characters of a body, for error messages, with control characters (terminal
/// escape sequences, line breaks) shown escaped.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(300)
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// Percent-encode a query component (RFC 3986 unreserved characters stay as they are).
pub fn encode(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for b in component.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `path?k=v&k2=v2` with every key and value percent-encoded.
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return path.to_string();
    }
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{}", query.join("&"))
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_same_read_has_the_same_key() {
        let a = super::idempotency_key("/search/jql", b"{\"jql\":\"project = BIZ\"}");
        assert_eq!(
            a,
            super::idempotency_key("/search/jql", b"{\"jql\":\"project = BIZ\"}")
        );
        assert_ne!(
            a,
            super::idempotency_key("/search/jql", b"{\"jql\":\"project = OPS\"}")
        );
        assert_ne!(
            a,
            super::idempotency_key("/search", b"{\"jql\":\"project = BIZ\"}")
        );
        assert_eq!(a.len(), 16);
    }
    use super::*;

    #[test]
    fn query_is_encoded() {
        assert_eq!(
            with_query(
                "/rest/api/3/search/jql",
                &[("jql", "project = BIZ"), ("maxResults", "50")]
            ),
            "/rest/api/3/search/jql?jql=project%20%3D%20BIZ&maxResults=50"
        );
        assert_eq!(with_query("/a?x=1", &[("y", "ä")]), "/a?x=1&y=%C3%A4");
    }

    #[test]
    fn statuses_map_to_error_kinds() {
        let resp = |status: u16, headers: Vec<(String, String)>| Response {
            method: Method::Get,
            path: "/x".into(),
            status,
            headers,
            body: b"{\"errorMessages\":[\"nope\"]}".to_vec(),
        };
        assert!(matches!(
            check_status(Method::Get, "/x", resp(401, vec![])),
            Err(PluginError::Unauthorized(m)) if m.contains("GET /x answered 401") && m.contains("nope")
        ));
        assert!(matches!(
            check_status(Method::Get, "/x", resp(429, vec![("Retry-After".into(), "7".into())])),
            Err(PluginError::RateLimited(r)) if r.seconds == Some(7)
        ));
        assert!(matches!(
            check_status(Method::Get, "/x", resp(503, vec![])),
            Err(PluginError::Transient(_))
        ));
        assert!(matches!(
            check_status(Method::Get, "/x", resp(404, vec![])),
            Err(PluginError::Remote(_))
        ));
        assert!(check_status(Method::Get, "/x", resp(204, vec![])).is_ok());
        // The status reads back from each kind of error.
        for status in [401, 403, 404, 409, 429, 503] {
            let e = check_status(
                Method::Get,
                "/rest/api/3/issue/1/worklog?startAt=0",
                resp(status, vec![]),
            )
            .unwrap_err();
            assert_eq!(status_of(&e), Some(status), "{e:?}");
        }
        assert_eq!(
            status_of(&PluginError::Remote("refused: it answered 404: no".into())),
            None
        );
        assert_eq!(
            status_of(&PluginError::Internal("x answered 404: y".into())),
            None
        );
    }

    #[test]
    fn a_body_of_the_wrong_shape_is_a_transient_error_naming_the_request() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Page {
            issues: Vec<serde_json::Value>,
        }
        let r = |body: &[u8], ct: &str| Response {
            method: Method::Post,
            path: "/rest/api/3/search/jql".into(),
            status: 200,
            headers: vec![("content-type".into(), ct.into())],
            body: body.to_vec(),
        };
        for (body, ct, says) in [
            (&b"{}"[..], "application/json", "missing field `issues`"),
            (b"<html>Sign in</html>", "text/html", "text/html"),
            (b"{\"issues\": 7}", "application/json", "invalid type"),
        ] {
            match r(body, ct).json::<Page>() {
                Err(PluginError::Transient(m)) => {
                    assert!(
                        m.contains("POST /rest/api/3/search/jql answered 200"),
                        "{m}"
                    );
                    assert!(m.contains(says), "{m}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(
            r(b"{\"issues\": []}", "application/json")
                .json::<Page>()
                .is_ok()
        );
    }

    #[test]
    fn excerpts_escape_terminal_control_characters() {
        let e = excerpt(b"\x1b[2J\x1b]0;owned\x07 hi\r\n");
        assert!(!e.chars().any(char::is_control), "{e}");
        assert!(e.contains("\\u{1b}[2J"), "{e}");
    }
}
