//! Helpers for the end-to-end tests: a small upstream server that records what reaches it,
//! and a log capture to prove what never reaches the logs.

pub mod openapi;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

/// The compiled hostile fixture plugin (built by build.rs).
pub const HOSTILE_PLUGIN: &str = env!("FIXTURE_HOSTILE_WASM");
/// The compiled paged-dataset fixture plugin (built by build.rs).
pub const PAGED_PLUGIN: &str = env!("FIXTURE_PAGED_WASM");
/// A plugin built against contract 0.1.0 as released (tests/fixtures/contract-0.1).
pub const CONTRACT_0_1_PLUGIN: &str = env!("FIXTURE_CONTRACT_0_1_WASM");
/// A plugin built against contract 0.2.0 as released, before 0.2.1 added `http.send-all`
/// (tests/fixtures/contract-0.2.0).
pub const CONTRACT_0_2_0_PLUGIN: &str = env!("FIXTURE_CONTRACT_0_2_0_WASM");
/// The example plugin examples/rest-json.
pub const REST_JSON_PLUGIN: &str = env!("EXAMPLE_REST_JSON_WASM");

/// What an [`Upstream`] saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Request path.
    pub path: String,
    /// The Authorization header, if any.
    pub authorization: Option<String>,
    /// Every header name and value.
    pub headers: Vec<(String, String)>,
}

#[derive(Clone)]
struct UpstreamState {
    seen: Arc<Mutex<Vec<Seen>>>,
    slow: Arc<InFlight>,
    expected_auth: String,
    redirect_to: String,
}

/// A loopback HTTP server standing in for a remote: `/echo` answers whether the expected
/// credentials arrived (and sets a cookie the plugin must not see), `/big` answers 8 MiB,
/// `/redirect-away` redirects to `redirect_to`, `/redirect-here` to `/echo` on itself, `/slow`
/// answers after 50 ms.
pub struct Upstream {
    /// Bound address.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    slow: Arc<InFlight>,
}

/// Requests of `/slow` being answered now, and the most at one time.
#[derive(Default)]
struct InFlight {
    now: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

impl Upstream {
    /// Start on a free loopback port. `expected_auth` is the full Authorization header value
    /// the host should inject.
    pub async fn start(expected_auth: &str, redirect_to: &str) -> Upstream {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let slow = Arc::new(InFlight::default());
        let state = UpstreamState {
            seen: seen.clone(),
            slow: slow.clone(),
            expected_auth: expected_auth.to_string(),
            redirect_to: redirect_to.to_string(),
        };
        let app = Router::new()
            .route("/echo", get(echo))
            .route("/big", get(big))
            .route("/redirect-away", get(redirect_away))
            .route("/redirect-here", get(redirect_here))
            .route("/reflect", get(reflect))
            .route("/throttle-huge", get(throttle_huge))
            .route("/slow", get(slow_answer))
            .fallback(fallback)
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Upstream { addr, seen, slow }
    }

    /// The most `/slow` requests (each answered after 50 ms) that were in flight at once.
    pub fn slow_peak_in_flight(&self) -> usize {
        self.slow.peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn note(state: &UpstreamState, path: &str, headers: &HeaderMap) {
    state.seen.lock().unwrap().push(Seen {
        path: path.to_string(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    });
}

async fn echo(State(state): State<UpstreamState>, headers: HeaderMap) -> Response {
    note(&state, "/echo", &headers);
    let authenticated = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == state.expected_auth.as_bytes());
    let probe = headers.get("x-probe").is_some();
    (
        StatusCode::OK,
        [
            (
                header::SET_COOKIE,
                "session=upstream-session-secret; HttpOnly".to_string(),
            ),
            (
                header::WWW_AUTHENTICATE,
                "Basic realm=\"upstream\"".to_string(),
            ),
            (header::CONTENT_TYPE, "application/json".to_string()),
        ],
        format!("{{\"authenticated\":{authenticated},\"probe\":{probe}}}"),
    )
        .into_response()
}

async fn big(State(state): State<UpstreamState>, headers: HeaderMap) -> Response {
    note(&state, "/big", &headers);
    // No Content-Length shortcut for the host: stream it in chunks.
    let chunk = vec![b'x'; 64 * 1024];
    let stream =
        futures_util::stream::iter((0..128).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    Response::builder()
        .status(StatusCode::OK)
        .body(axum::body::Body::from_stream(stream))
        .unwrap()
}

async fn redirect_away(State(state): State<UpstreamState>, headers: HeaderMap) -> Response {
    note(&state, "/redirect-away", &headers);
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{}/echo", state.redirect_to))],
    )
        .into_response()
}

async fn redirect_here(State(state): State<UpstreamState>, headers: HeaderMap) -> Response {
    note(&state, "/redirect-here", &headers);
    (StatusCode::FOUND, [(header::LOCATION, "/echo".to_string())]).into_response()
}

/// Reflects the request's headers, credentials included, in the body and in a header, as a
/// debugging endpoint or a misconfigured proxy does.
async fn reflect(State(state): State<UpstreamState>, headers: HeaderMap) -> Response {
    note(&state, "/reflect", &headers);
    let all: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into()),
            )
        })
        .collect();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::HeaderName::from_static("x-you-sent"), auth.clone()),
        ],
        serde_json::json!({"headers": all, "escaped": auth.replace('/', "\\/")}).to_string(),
    )
        .into_response()
}

/// An answer after 50 ms, counting how many are being answered at once.
async fn slow_answer(State(state): State<UpstreamState>, headers: HeaderMap) -> Response {
    use std::sync::atomic::Ordering;
    note(&state, "/slow", &headers);
    let now = state.slow.now.fetch_add(1, Ordering::SeqCst) + 1;
    state.slow.peak.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    state.slow.now.fetch_sub(1, Ordering::SeqCst);
    (StatusCode::OK, "{}").into_response()
}

/// A 429 asking for a wait no duration can hold.
async fn throttle_huge(State(state): State<UpstreamState>, headers: HeaderMap) -> Response {
    note(&state, "/throttle-huge", &headers);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "1e20")],
        "slow down",
    )
        .into_response()
}

async fn fallback(
    State(state): State<UpstreamState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    note(&state, uri.path(), &headers);
    StatusCode::NOT_FOUND.into_response()
}

/// The demo's HR and finance files.
pub const DEMO_HR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo/hr");

/// Copy the demo's HR files to `dir/hr` and write `dir/tollgate.toml` with one `hr`
/// connection reading them (and the shared plugin cache).
pub fn demo_hr_config(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("hr")).unwrap();
    for entry in std::fs::read_dir(DEMO_HR).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("hr").join(entry.file_name())).unwrap();
    }
    std::fs::write(
        dir.join("tollgate.toml"),
        format!(
            "{}[runtime]\ncache_dir = \"{}\"\n[connections.hr]\nplugin = \"hr-csv\"\ndata_dir = \"hr\"\n",
            store_table(dir),
            shared_cache_dir().display()
        ),
    )
    .unwrap();
}

/// The `[store]` table of the configs these helpers write: none (SQLite, `tollgate.db` beside
/// the config), or with `TOLLGATE_TEST_STORE=postgres` a fresh database on the server
/// `TOLLGATE_TEST_POSTGRES` names, so the end-to-end tests run on PostgreSQL.
pub fn store_table(dir: &std::path::Path) -> String {
    match std::env::var("TOLLGATE_TEST_STORE").as_deref() {
        Ok("postgres") => {
            let url = tollgate_store::testing::postgres_database(
                &dir.file_name().unwrap_or_default().to_string_lossy(),
            )
            .expect("TOLLGATE_TEST_STORE=postgres needs TOLLGATE_TEST_POSTGRES");
            format!("[store]\nurl = \"{url}\"\n\n")
        }
        Ok("sqlite") | Err(_) => String::new(),
        Ok(other) => panic!("TOLLGATE_TEST_STORE={other}: expected postgres or sqlite"),
    }
}

/// Which face of the sandbox's Jira a test config points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JiraFace {
    /// Jira Cloud: basic auth with e-mail and API token, REST v3.
    Cloud,
    /// Jira Data Center: bearer personal access token, REST v2.
    DataCenter,
}

/// The demo's HR files plus a `jira` connection to the sandbox's demo Jira, as the demo
/// configures them; tokens in secret files. `extra` is appended to the config.
pub fn demo_config(
    dir: &std::path::Path,
    sandbox: &tollgate_sandbox::Sandbox,
    face: JiraFace,
    extra: &str,
) {
    demo_hr_config(dir);
    let mut config = std::fs::read_to_string(dir.join("tollgate.toml")).unwrap();
    config.push_str(&ado_connection(dir, sandbox, ""));
    config.push_str(&jira_connection(dir, sandbox, face, extra));
    std::fs::write(dir.join("tollgate.toml"), config).unwrap();
}

/// The demo's sources (a fresh sandbox's Jira Cloud face and the HR files) synced into a new
/// store in `dir`; `extra` is appended to the config. Keep the sandbox while the session is
/// used.
pub async fn demo_synced(
    dir: &std::path::Path,
    extra: &str,
) -> (tollgate_host::app::Session, tollgate_sandbox::Sandbox) {
    let sandbox = tollgate_sandbox::Sandbox::start("127.0.0.1:0")
        .await
        .unwrap();
    demo_config(dir, &sandbox, JiraFace::Cloud, extra);
    let session = tollgate_host::app::Session::open(&dir.join("tollgate.toml"))
        .await
        .unwrap();
    tollgate_host::cli::sync_all(&session, None, tollgate_host::cli::SyncFlags::default())
        .await
        .unwrap();
    (session, sandbox)
}

/// A sandbox serving `synthetic:EPICS` (each answer after `latency_ms`, ±25 %), and in `dir` a
/// config with only the `jira` connection (Cloud) to its project SYN; `extra` as for
/// [`jira_config`].
pub async fn synthetic_jira(
    dir: &std::path::Path,
    epics: usize,
    latency_ms: u64,
    extra: &str,
) -> tollgate_sandbox::Sandbox {
    let sandbox = tollgate_sandbox::Sandbox::start_with(
        "127.0.0.1:0",
        tollgate_sandbox::Options {
            dataset: format!("synthetic:{epics}"),
            faults: None,
            latency_ms,
            ..tollgate_sandbox::Options::default()
        },
    )
    .await
    .unwrap();
    jira_config(dir, &sandbox, JiraFace::Cloud, extra);
    let config = dir.join("tollgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("project = \"BIZ\"", "project = \"SYN\""),
    )
    .unwrap();
    sandbox
}

/// A config with only the `jira` connection to the sandbox (and the shared plugin cache).
pub fn jira_config(
    dir: &std::path::Path,
    sandbox: &tollgate_sandbox::Sandbox,
    face: JiraFace,
    extra: &str,
) {
    let mut config = format!(
        "{}[runtime]\ncache_dir = \"{}\"\n",
        store_table(dir),
        shared_cache_dir().display()
    );
    config.push_str(&jira_connection(dir, sandbox, face, extra));
    std::fs::write(dir.join("tollgate.toml"), config).unwrap();
}

fn jira_connection(
    dir: &std::path::Path,
    sandbox: &tollgate_sandbox::Sandbox,
    face: JiraFace,
    extra: &str,
) -> String {
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    let (url, auth, deployment, token) = match face {
        JiraFace::Cloud => (
            sandbox.jira_cloud_url(),
            format!(
                "{{ kind = \"basic\", user = \"{}\", token_file = \"secrets/jira.token\" }}",
                tollgate_sandbox::JIRA_CLOUD_USER
            ),
            "cloud",
            tollgate_sandbox::JIRA_CLOUD_TOKEN,
        ),
        JiraFace::DataCenter => (
            sandbox.jira_dc_url(),
            "{ kind = \"bearer\", token_file = \"secrets/jira.token\" }".to_string(),
            "data-center",
            tollgate_sandbox::JIRA_DC_TOKEN,
        ),
    };
    std::fs::write(dir.join("secrets/jira.token"), token).unwrap();
    format!(
        "\n[connections.jira]\nplugin = \"jira\"\nbase_url = \"{url}\"\nauth = {auth}\nsettings = {{ deployment = \"{deployment}\", project = \"BIZ\" }}\n{extra}"
    )
}

/// A config with only the `azure-devops` connection to the sandbox (and the shared plugin
/// cache); `settings` are extra lines of its settings table.
pub fn ado_config(dir: &std::path::Path, sandbox: &tollgate_sandbox::Sandbox, settings: &str) {
    let mut config = format!(
        "[runtime]\ncache_dir = \"{}\"\n",
        shared_cache_dir().display()
    );
    config.push_str(&ado_connection(dir, sandbox, settings));
    std::fs::write(dir.join("tollgate.toml"), config).unwrap();
}

/// The demo's Azure DevOps connection, as `tollgate demo` writes it; `settings` are extra lines
/// of its settings table.
pub fn ado_connection(
    dir: &std::path::Path,
    sandbox: &tollgate_sandbox::Sandbox,
    settings: &str,
) -> String {
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/ado.token"), tollgate_sandbox::ADO_TOKEN).unwrap();
    format!(
        r#"
[connections.azure-devops]
plugin = "azure-devops"
base_url = "{url}"
auth = {{ kind = "basic", user = "", token_file = "secrets/ado.token" }}

[connections.azure-devops.settings]
organization = "{org}"
project = "{project}"
value-streams = {{ "Portfolio\\Mobile" = "Digital channels", "Portfolio\\Web" = "Digital channels", "Portfolio\\Platform" = "Core platforms" }}
tag = "dmo-findings"
{settings}
"#,
        url = sandbox.ado_url(),
        org = tollgate_sandbox::ADO_ORGANIZATION,
        project = tollgate_sandbox::ADO_PROJECT,
    )
}

/// The store's export with fetch times removed and the sandbox's address made neutral, for
/// comparing two syncs.
pub fn export(
    session: &tollgate_host::app::Session,
    sandbox: &tollgate_sandbox::Sandbox,
) -> serde_json::Value {
    let store = session.store().unwrap();
    let text = tollgate_host::cli::export_document(store.as_ref())
        .unwrap()
        .to_string()
        .replace(&sandbox.addr().to_string(), "sandbox");
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for r in doc["records"].as_array_mut().unwrap() {
        r["provenance"]
            .as_object_mut()
            .unwrap()
            .remove("fetched_at");
    }
    doc
}

/// The exported records of one kind (`initiative`, `work-item`, `time-entry`, ...).
pub fn records<'a>(doc: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["entity"]["kind"] == kind)
        .collect()
}

/// How many of the export's initiatives and work items carry a title the sandbox's change
/// control edited (`POST /_sandbox/change`: " (edited)" at its end).
pub fn edited_titles(doc: &serde_json::Value) -> usize {
    records(doc, "work-item")
        .into_iter()
        .chain(records(doc, "initiative"))
        .filter(|r| {
            r["entity"]["data"]["title"]
                .as_str()
                .is_some_and(|t| t.ends_with(" (edited)"))
        })
        .count()
}

/// The exported initiative with this key.
pub fn initiative<'a>(doc: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    records(doc, "initiative")
        .into_iter()
        .find(|r| r["entity"]["data"]["key"] == key)
        .unwrap_or_else(|| panic!("{key} exported"))
}

/// A sandbox on a free port with this dataset (`demo`, `synthetic:N`), recording request and
/// answer bodies for the fidelity checks.
pub async fn recording_sandbox(dataset: &str) -> tollgate_sandbox::Sandbox {
    let s = tollgate_sandbox::Sandbox::start_with(
        "127.0.0.1:0",
        tollgate_sandbox::Options {
            dataset: dataset.into(),
            faults: None,
            latency_ms: 0,
            ..tollgate_sandbox::Options::default()
        },
    )
    .await
    .unwrap();
    s.record_bodies(true);
    s
}

/// The session of the config in `dir/tollgate.toml`.
pub async fn open_session(dir: &std::path::Path) -> tollgate_host::app::Session {
    tollgate_host::app::Session::open(&dir.join("tollgate.toml"))
        .await
        .unwrap()
}

/// Every Jira exchange the sandbox recorded fits Atlassian's documents.
pub fn assert_faithful_to_jira(sandbox: &tollgate_sandbox::Sandbox) {
    let problems = openapi::check_recorded(&sandbox.requests());
    assert!(
        problems.is_empty(),
        "exchanges the Jira documents do not allow:\n{}",
        problems.join("\n")
    );
}

/// Every Azure DevOps exchange the sandbox recorded fits Microsoft's specifications.
pub fn assert_faithful_to_ado(sandbox: &tollgate_sandbox::Sandbox) {
    let problems = openapi::check_recorded_ado(&sandbox.requests());
    assert!(
        problems.is_empty(),
        "exchanges Microsoft's specifications do not allow:\n{}",
        problems.join("\n")
    );
}

/// A plugin artefact cache shared by the tests of this process.
pub fn shared_cache_dir() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// Every log line of this test process, captured at TRACE level.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

#[derive(Clone)]
struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Install the capturing subscriber (once per process).
pub fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let buffer = log_buffer().clone();
        // Everything at TRACE (the HTTP stack included) except the compiler, whose traces
        // describe machine code, not requests, and run to gigabytes.
        let filter = tracing_subscriber::EnvFilter::new(
            "trace,cranelift_codegen=warn,cranelift_frontend=warn,regalloc2=warn,\
             wasmtime=info,wasmtime_internal_cranelift=warn,wasmtime_internal_environ=warn,\
             wasmtime_cranelift=warn,wasmtime_environ=warn,wasmparser=warn,wit_parser=warn",
        );
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || BufferWriter(buffer.clone()))
            .init();
    });
}

/// Point the config in `dir` at the store `url` (its `[store]` table replaced or added).
pub fn use_store(dir: &std::path::Path, url: &str) {
    let path = dir.join("tollgate.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    let mut in_store = false;
    for line in text.lines() {
        if line.trim_start().starts_with('[') {
            in_store = line.trim() == "[store]";
        }
        if !in_store {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(path, format!("[store]\nurl = \"{url}\"\n\n{out}")).unwrap();
}

/// A process a test started (a daemon, a sync to kill): killed and reaped when the test lets
/// it go, so that a test that fails half-way leaves nothing running behind it. Use it as the
/// [`std::process::Child`] it holds.
pub struct Running(pub std::process::Child);

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_running_process_let_go_is_killed_and_reaped() {
        let running = super::Running(
            std::process::Command::new("sleep")
                .arg("60")
                .spawn()
                .unwrap(),
        );
        let pid = running.id().to_string();
        drop(running);
        let alive = std::process::Command::new("kill")
            .args(["-0", &pid])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!alive.success(), "process {pid} still runs");
    }
}
