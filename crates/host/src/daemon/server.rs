//! The HTTP server: connection limits, security headers, tokens, and the routes.

#[allow(unused_imports)]
use super::*;

/// How long a client may take to send a request's headers.
pub(super) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one connection may stay open, keep-alive included.
pub(super) const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);
/// Largest request body accepted (the API takes none; this only bounds what is read).
pub(super) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Serve `app` on `listener` until `stop`: at most `daemon.max_connections` connections at
/// once (more are closed on arrival), each with a header-read timeout and a bounded lifetime,
/// so half-sent requests cannot use up the process's file descriptors.
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    daemon: Arc<Daemon>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let cap = daemon.session.config.daemon.max_connections as usize;
    let slots = Arc::new(tokio::sync::Semaphore::new(cap));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, _peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, say: wait a moment instead of spinning.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            daemon.metrics.lock().unwrap().connections_refused += 1;
            drop(stream);
            continue;
        };
        while connections.try_join_next().is_some() {}
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = stop.clone();
        connections.spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let lifetime = tokio::time::sleep(CONNECTION_LIFETIME);
            tokio::pin!(lifetime);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = &mut lifetime => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

pub(super) fn router(daemon: Arc<Daemon>) -> Router {
    // Pages and GET API: the read token when one is configured.
    let reading = Router::new()
        .route("/", get(dashboard))
        .route("/initiatives/{key}", get(initiative_page))
        .route("/quarterly", get(quarterly_page))
        .route("/capitalisation", get(capitalisation_page))
        .route("/resources", get(resources_page))
        .route("/runs", get(runs_page))
        .route("/api/v1/initiatives", get(initiatives))
        .route("/api/v1/findings", get(findings))
        .route("/api/v1/runs", get(runs))
        .route("/api/v1/people", get(people))
        .route("/api/v1/teams", get(teams))
        .route_layer(axum::middleware::from_fn_with_state(
            daemon.clone(),
            require_read_token,
        ));
    Router::new()
        .merge(reading)
        .route("/favicon.ico", get(favicon))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/sync/{connection}", post(trigger_sync))
        .route("/api/v1/report/{kind}", post(trigger_report))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(guard_every_response))
        .with_state(daemon)
}

/// Every answer: security headers; every request: a bounded body.
pub(super) async fn guard_every_response(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let too_big = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES as u64);
    let mut response = if too_big {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        )
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        if !(name == "cache-control" && h.contains_key(header::CACHE_CONTROL)) {
            h.insert(name, header::HeaderValue::from_static(value));
        }
    }
    response
}

/// Whether two secrets are equal, in time independent of where they differ.
pub(super) fn same_secret(given: &str, token: &Secret) -> bool {
    let (a, b) = (given.as_bytes(), token.expose().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries: `Authorization: Bearer T`, or T as the password of HTTP basic
/// auth (what a browser sends after its prompt).
pub(super) fn presented_token(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(t) = value.strip_prefix("Bearer ") {
        return Some(t.trim().to_string());
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_string())
}

/// With a read token configured, pages and the GET API answer only requests that carry it.
pub(super) async fn require_read_token(
    State(d): State<Arc<Daemon>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(token) = &d.read_token
        && !presented_token(request.headers()).is_some_and(|t| same_secret(&t, token))
    {
        let mut r = json_error(
            StatusCode::UNAUTHORIZED,
            "this Tollgate asks for its read token: Authorization: Bearer TOKEN, or the token as the password when the browser asks",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"Tollgate\", charset=\"UTF-8\""),
        );
        return r;
    }
    next.run(request).await
}

/// Whether per-person data may be shown: only to holders of the read token.
pub(super) fn persons_visible(d: &Daemon) -> bool {
    d.read_token.is_some()
}

/// The answer to a request for per-person data when no read token is configured.
pub(super) fn persons_withheld() -> Response {
    json_error(
        StatusCode::FORBIDDEN,
        "per-person data (names, e-mails, allocations) is shown only with a read token: set daemon.read_token_env or daemon.read_token_file",
    )
}

/// Run `work` (store reads, HTML rendering) on the blocking pool, off the async workers that
/// answer /healthz.
pub(super) async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(r) => r,
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// [`blocking`] for work that reads the whole store (the portfolio, every finding): one such
/// build runs at a time (a job's check and report steps included) and the others wait their
/// turn. With no bound, four dashboards built side by side at 10,000 initiatives took
/// 780-860 MiB, and the daemon's `max_connections` requests at once could take all the
/// machine's memory; one at a time they peak at ~200 MiB and each page still takes the
/// 3 s it takes alone (BENCHMARKS.md, "The daemon's memory").
pub(super) async fn building(
    turns: Arc<tokio::sync::Semaphore>,
    work: impl FnOnce() -> Response + Send + 'static,
) -> Response {
    let Ok(_turn) = turns.acquire_owned().await else {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "stopping");
    };
    blocking(move || {
        let response = work();
        // The portfolio and the findings it read are freed: hand their pages back (not
        // after the light answers, /readyz say, which free next to nothing).
        crate::memory::give_back_freed();
        response
    })
    .await
}

/// The answer to a failed request: a usage error is the asker's (400), anything else the
/// service's (500). The only place an error's kind becomes an HTTP status.
pub(super) fn error_response(e: &crate::error::Error) -> Response {
    let status = match e.kind {
        crate::error::ErrorKind::Usage => StatusCode::BAD_REQUEST,
        crate::error::ErrorKind::Runtime => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_error(status, &e.to_string())
}

pub(super) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

#[allow(clippy::result_large_err)]
pub(super) fn store_of(d: &Daemon) -> Result<Box<dyn Store>, Response> {
    d.session
        .store()
        .map_err(|f| json_error(StatusCode::SERVICE_UNAVAILABLE, &f.error.to_string()))
}

/// `Authorization: Bearer <daemon api token>`, or the response to send.
#[allow(clippy::result_large_err)]
pub(super) fn authorise(d: &Daemon, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = &d.api_token else {
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "the API's POST endpoints are off: set daemon.api_token_env or daemon.api_token_file",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let ok = given.is_some_and(|g| same_secret(g, token));
    if ok {
        Ok(())
    } else {
        let mut r = json_error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        Err(r)
    }
}
