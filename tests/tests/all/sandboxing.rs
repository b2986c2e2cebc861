//! Hostile plugins: every attack ends in a clear typed error, is logged and counted, the host
//! keeps running, and the next call on a fresh Store succeeds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tollgate_runtime::bindings::types::{Page, PluginError, PullRequest};
use tollgate_runtime::http::{Endpoint, Url};
use tollgate_runtime::{CallError, JobContext, LoadedPlugin, PluginSource, Runtime};
use tollgate_runtime::{Credentials, Limits, Secret};
use tollgate_tests::{HOSTILE_PLUGIN, Upstream, capture_logs, captured_logs, shared_cache_dir};

const TOKEN: &str = "tok-7f3a9c1e-never-show-me";
const USER: &str = "dmo-bot@acme.test";

struct Harness {
    runtime: Runtime,
    plugin: LoadedPlugin,
    upstream: Upstream,
    elsewhere: Upstream,
    data: tempfile::TempDir,
}

fn expected_auth() -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{TOKEN}"));
    format!("Basic {encoded}")
}

async fn harness() -> Harness {
    capture_logs();
    let runtime = Runtime::new(shared_cache_dir()).unwrap();
    let bytes = std::fs::read(HOSTILE_PLUGIN).unwrap();
    let plugin = runtime
        .load(&bytes, PluginSource::File(HOSTILE_PLUGIN.into()))
        .await
        .unwrap();
    let elsewhere = Upstream::start("none", "http://127.0.0.1:9").await;
    let upstream = Upstream::start(&expected_auth(), &elsewhere.url()).await;
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("inside.txt"), "inside the data directory").unwrap();
    // A file next to the data directory, which the plugin must not reach.
    std::fs::write(
        data.path().parent().unwrap().join("outside.txt"),
        "outside secret",
    )
    .ok();
    Harness {
        runtime,
        plugin,
        upstream,
        elsewhere,
        data,
    }
}

impl Harness {
    fn context(&self, limits: Limits) -> JobContext {
        self.context_at(&self.upstream.url(), limits)
    }

    /// [`Harness::context`] with the connection's base URL at `base`.
    fn context_at(&self, base: &str, limits: Limits) -> JobContext {
        let mut endpoints = BTreeMap::new();
        endpoints.insert(
            "target".to_string(),
            Endpoint::new(
                Url::parse(base).unwrap(),
                &Credentials::Basic {
                    user: USER.to_string(),
                    token: Secret::new(TOKEN),
                },
            ),
        );
        JobContext {
            connection: "hostile-test".to_string(),
            endpoints,
            data_dir: Some(self.data.path().to_path_buf()),
            limits,
            known: Default::default(),
            answered: None,
        }
    }

    async fn attack(&self, attack: &str, limits: Limits) -> Result<Page, CallError> {
        self.attack_in(attack, self.context(limits)).await
    }

    /// An attack with the connection's base URL at a context path (`/ctx/`), as a Jira Data
    /// Center at `https://host/jira` is.
    async fn attack_below_ctx(&self, attack: &str) -> Result<Page, CallError> {
        let ctx = self.context_at(&format!("{}/ctx/", self.upstream.url()), Limits::default());
        self.attack_in(attack, ctx).await
    }

    async fn attack_in(&self, attack: &str, ctx: JobContext) -> Result<Page, CallError> {
        let request = PullRequest {
            stream: "attack".to_string(),
            settings: serde_json::json!({ "attack": attack }).to_string(),
            cursor: None,
            checkpoint: None,
            page_size: 100,
        };
        self.runtime.pull(&self.plugin, &ctx, request).await
    }

    /// The host is unharmed: a well-behaved call right after succeeds.
    async fn assert_recovers(&self) {
        let page = self
            .attack("none", Limits::default())
            .await
            .expect("a call after the attack succeeds on a fresh store");
        assert_eq!(page.records.len(), 1);
    }
}

fn limits(timeout: f64, cpu: f64, memory_mib: usize) -> Limits {
    Limits {
        timeout: Duration::from_secs_f64(timeout),
        cpu: Duration::from_secs_f64(cpu),
        memory_bytes: memory_mib << 20,
        ..Limits::default()
    }
}

#[tokio::test]
async fn infinite_loop_is_stopped_by_the_cpu_budget() {
    let h = harness().await;
    let started = Instant::now();
    let err = h
        .attack("infinite-loop", limits(60.0, 1.0, 64))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, CallError::CpuLimit { .. }), "{err:?}");
    assert!(err.to_string().contains("CPU budget"), "{err}");
    assert!(
        elapsed < Duration::from_secs(2),
        "stopped after {elapsed:?}, limit 1 s"
    );
    assert!(h.runtime.stats().cpu_exhausted.get() >= 1);
    h.assert_recovers().await;
}

#[tokio::test]
async fn infinite_loop_is_stopped_by_the_wall_clock() {
    let h = harness().await;
    let started = Instant::now();
    let err = h
        .attack("infinite-loop", limits(1.0, 60.0, 64))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("time limit"), "{err}");
    assert!(
        elapsed < Duration::from_secs(2),
        "stopped after {elapsed:?}, limit 1 s"
    );
    assert!(h.runtime.stats().timeouts.get() >= 1);
    h.assert_recovers().await;
}

#[tokio::test]
async fn memory_bomb_hits_the_cap() {
    let h = harness().await;
    let started = Instant::now();
    let err = h
        .attack("memory-bomb", limits(10.0, 10.0, 32))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::MemoryLimit { limit_bytes } if limit_bytes == 32 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("32 MiB"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(h.runtime.stats().memory_exhausted.get() >= 1);
    assert!(captured_logs().contains("memory cap of 32 MiB"));
    h.assert_recovers().await;
}

#[tokio::test]
async fn panic_is_a_trap_with_the_panic_message() {
    let h = harness().await;
    let err = h.attack("panic", Limits::default()).await.unwrap_err();
    match &err {
        CallError::Trap { stderr, .. } => {
            assert!(
                stderr.contains("hostile plugin panicked on purpose"),
                "{stderr}"
            )
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    // One paragraph: the panic message, where the plugin raised it, the trap; no host
    // backtrace, nothing twice.
    let text = err.to_string();
    assert_eq!(
        text,
        "the plugin crashed: hostile plugin panicked on purpose (panicked at tests/fixtures/hostile/src/lib.rs:67:24); wasm trap: wasm `unreachable` instruction executed"
    );
    // The log has it in the call's one line, not the plugin's stderr line by line as well.
    let logs = captured_logs();
    assert!(
        logs.lines().any(|l| l.contains("plugin call failed")
            && l.contains("hostile plugin panicked on purpose (panicked at")),
        "{logs}"
    );
    assert!(
        !logs.contains("wasm backtrace") && !logs.contains("RUST_BACKTRACE"),
        "{logs}"
    );
    h.assert_recovers().await;
}

fn assert_denied(err: &CallError, reason: &str) {
    match err {
        CallError::Denied { reasons, .. } => assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "expected a refusal mentioning {reason:?}, got {reasons:?}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn unconfigured_connection_is_refused() {
    let h = harness().await;
    let err = h
        .attack("unconfigured-connection", Limits::default())
        .await
        .unwrap_err();
    assert_denied(&err, "connection `elsewhere` is not configured");
    assert!(h.upstream.seen().is_empty());
    assert!(h.runtime.stats().http_denied.get() >= 1);
    assert!(captured_logs().contains("plugin HTTP request refused"));
    h.assert_recovers().await;
}

#[tokio::test]
async fn absolute_url_is_refused() {
    let h = harness().await;
    let err = h
        .attack("absolute-url", Limits::default())
        .await
        .unwrap_err();
    assert_denied(&err, "never URLs");
    assert!(h.upstream.seen().is_empty());
    h.assert_recovers().await;
}

#[tokio::test]
async fn authorization_header_from_the_plugin_is_refused() {
    let h = harness().await;
    let err = h
        .attack("authorization-header", Limits::default())
        .await
        .unwrap_err();
    assert_denied(&err, "header `Authorization` may not be set");
    assert!(h.upstream.seen().is_empty(), "nothing was sent");
    h.assert_recovers().await;
}

#[tokio::test]
async fn files_outside_the_data_directory_are_out_of_reach() {
    let h = harness().await;
    let err = h
        .attack("read-outside", Limits::default())
        .await
        .unwrap_err();
    match &err {
        CallError::Plugin(PluginError::Internal(m)) => {
            assert!(m.contains("could not read outside"), "{m}");
            assert!(!m.contains("outside secret"));
        }
        other => panic!("expected the plugin to fail reading, got {other:?}"),
    }
    // Inside: readable, but read-only.
    let page = h.attack("read-inside", Limits::default()).await.unwrap();
    let read = page.diagnostics.iter().find(|d| d.code == "read").unwrap();
    assert_eq!(read.message, "inside the data directory");
    let write = page
        .diagnostics
        .iter()
        .find(|d| d.code == "write-allowed")
        .unwrap();
    assert_eq!(write.message, "false");
    assert!(!h.data.path().join("written.txt").exists());
    h.assert_recovers().await;
}

#[tokio::test]
async fn response_larger_than_the_cap_is_refused() {
    let h = harness().await;
    let small = Limits {
        response_max_bytes: 1 << 20,
        ..Limits::default()
    };
    let err = h.attack("large-response", small).await.unwrap_err();
    match &err {
        CallError::Plugin(PluginError::Remote(m)) => {
            assert!(
                m.contains("larger than the host's cap of 1048576 bytes"),
                "{m}"
            )
        }
        other => panic!("expected a too-large error, got {other:?}"),
    }
    assert!(h.runtime.stats().http_too_large.get() >= 1);
    h.assert_recovers().await;
}

#[tokio::test]
async fn a_batch_of_requests_is_capped_and_kept_within_the_connections_limits() {
    let h = harness().await;
    let two_at_a_time = Limits {
        max_concurrent_requests: 2,
        ..Limits::default()
    };
    let page = h.attack("send-all-flood", two_at_a_time).await.unwrap();
    let codes: Vec<&str> = page.diagnostics.iter().map(|d| d.code.as_str()).collect();
    // The first 16 are sent and answered in order; the other 24 are refused unsent.
    assert_eq!(codes[..16], ["answered"; 16]);
    assert_eq!(codes[16..], ["refused"; 24]);
    assert!(
        page.diagnostics[16]
            .message
            .contains("send-all takes at most 16 requests; 40 were given"),
        "{}",
        page.diagnostics[16].message
    );
    assert_eq!(h.upstream.seen().len(), 16);
    // Side by side, but never more than the connection allows.
    assert_eq!(h.upstream.slow_peak_in_flight(), 2);
    h.assert_recovers().await;
}

#[tokio::test]
async fn redirect_to_another_origin_is_refused() {
    let h = harness().await;
    let err = h.attack("redirect", Limits::default()).await.unwrap_err();
    assert_denied(&err, "to another origin");
    assert!(
        h.elsewhere.seen().is_empty(),
        "the other origin got nothing"
    );
    h.assert_recovers().await;
}

#[tokio::test]
async fn the_token_reaches_the_remote_but_never_the_plugin_or_the_logs() {
    let h = harness().await;
    let page = h.attack("echo", Limits::default()).await.unwrap();
    // The remote got exactly the credentials configured.
    let seen = h.upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(expected_auth().as_str())
    );
    // The plugin saw a successful, authenticated answer...
    let body = page.diagnostics.iter().find(|d| d.code == "body").unwrap();
    assert_eq!(body.message, r#"{"authenticated":true,"probe":true}"#);
    // ...and nothing of the credentials, the cookie or the auth challenge.
    let view = format!("{:?}", page.diagnostics);
    let encoded = expected_auth();
    for secret in [
        TOKEN,
        encoded.as_str(),
        "upstream-session-secret",
        "www-authenticate",
    ] {
        assert!(!view.contains(secret), "the plugin saw {secret:?}: {view}");
    }
    let env = page.diagnostics.iter().find(|d| d.code == "env").unwrap();
    assert_eq!(env.message, "", "the plugin sees no environment");
    // Nothing in the logs either, whatever the level.
    let logs = captured_logs();
    assert!(logs.contains("upstream request"), "requests are logged");
    assert!(!logs.contains(TOKEN) && !logs.contains(&encoded));
}

#[tokio::test]
async fn a_trap_does_not_disturb_other_plugins_calls() {
    let h = harness().await;
    let (bad, good) = tokio::join!(
        h.attack("panic", Limits::default()),
        h.attack("none", Limits::default())
    );
    assert!(matches!(bad, Err(CallError::Trap { .. })));
    assert_eq!(good.unwrap().records.len(), 1);
}

#[tokio::test]
async fn no_spelling_of_a_dot_segment_leaves_the_base_path() {
    let h = harness().await;
    let page = h.attack_below_ctx("dot-segments").await.unwrap();
    let reached: Vec<&str> = page
        .diagnostics
        .iter()
        .filter(|d| d.code == "reached")
        .map(|d| d.message.as_str())
        .collect();
    assert!(reached.is_empty(), "got through: {reached:?}");
    assert_eq!(
        page.diagnostics
            .iter()
            .filter(|d| d.code == "refused")
            .count(),
        12
    );
    // Not one request reached the upstream, inside the base path or outside it.
    assert!(h.upstream.seen().is_empty(), "{:?}", h.upstream.seen());
    assert!(h.runtime.stats().http_denied.get() >= 12);
    h.assert_recovers().await;
}

#[tokio::test]
async fn an_upstream_that_reflects_the_credential_hands_the_plugin_none_of_it() {
    let h = harness().await;
    let page = h.attack("reflect", Limits::default()).await.unwrap();
    let seen = format!("{:?}", page.diagnostics);
    let encoded = expected_auth();
    let base64 = encoded.trim_start_matches("Basic ");
    for secret in [TOKEN, encoded.as_str(), base64] {
        assert!(!seen.contains(secret), "the plugin saw {secret:?}: {seen}");
    }
    assert!(seen.contains("[REDACTED]"), "{seen}");
    // The upstream did get the credential: the host sent it, then kept its echo away.
    assert_eq!(
        h.upstream.seen()[0].authorization.as_deref(),
        Some(encoded.as_str())
    );
    assert!(h.runtime.stats().credential_echoes.get() >= 1);
    assert!(captured_logs().contains("contained the connection's credential"));
    h.assert_recovers().await;
}

#[tokio::test]
async fn a_retry_after_no_duration_can_hold_is_not_waited_for() {
    let h = harness().await;
    let started = Instant::now();
    let page = h
        .attack("retry-after-huge", Limits::default())
        .await
        .expect("no panic: the 429 reaches the plugin");
    let status = page
        .diagnostics
        .iter()
        .find(|d| d.code == "status")
        .unwrap();
    assert_eq!(status.message, "429");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        h.upstream.seen().len(),
        1,
        "not retried: the wait is too long"
    );
    h.assert_recovers().await;
}

#[tokio::test]
async fn plugin_output_is_capped() {
    let h = harness().await;
    // A 10 MiB diagnostic is cut to a few KiB, its escape sequence defused.
    let page = h.attack("big-diagnostic", Limits::default()).await.unwrap();
    let big = &page.diagnostics[0].message;
    assert!(big.len() <= 4100, "{} bytes", big.len());
    assert!(
        !big.contains('\u{1b}') && big.starts_with("\\u{1b}[2J"),
        "{}",
        &big[..20]
    );
    // Too many diagnostics, or a huge cursor: the page is refused whole.
    for (attack, says) in [
        ("many-diagnostics", "20000 diagnostics in one page"),
        ("big-cursor", "a cursor of 1048576 bytes"),
    ] {
        match h.attack(attack, Limits::default()).await {
            Err(CallError::Output { what }) => assert!(what.contains(says), "{what}"),
            other => panic!("{attack}: {other:?}"),
        }
    }
    assert!(h.runtime.stats().output_refused.get() >= 2);
    // A log flood is cut at 1 MiB per call.
    let flood_lines = |logs: &str| logs.lines().filter(|l| l.contains("flood flood")).count();
    let before = flood_lines(&captured_logs());
    h.attack("log-flood", Limits::default()).await.unwrap();
    let logs = captured_logs();
    let lines = flood_lines(&logs) - before;
    assert!(
        (100..=400).contains(&lines),
        "{lines} flood lines kept of 50000"
    );
    assert!(logs.contains("the plugin logs too much"));
    h.assert_recovers().await;
}
