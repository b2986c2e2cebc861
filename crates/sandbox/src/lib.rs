//! Faithful fakes of Jira (Cloud and Data Center) and Azure DevOps, on one loopback port.
//!
//! Each tracker lives under its own prefix, like a context path:
//! - `/jira-cloud`: Jira Cloud, REST v3 and v2, basic auth with email + API token;
//! - `/jira-dc`: Jira Data Center, REST v2 only, bearer personal access token;
//! - `/ado`: Azure DevOps Services, `/{organization}/...`, basic auth with an empty user and a PAT.
//!
//! They answer as the vendors do, quirks included (see shared/reference/tracker-apis.md): Jira's
//! `ErrorCollection` bodies and 401s, Azure DevOps' 203 sign-in page for bad credentials and
//! its `api-version` demand. Every request is recorded, so tests can count what a plugin asked.
//! This first version serves what the Foundation needs (identity and project look-ups); the
//! datasets, search, worklogs, comments and fault injection grow with the tracker issues.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Jira Cloud user e-mail of the sandbox's service account.
pub const JIRA_CLOUD_USER: &str = "dmo-bot@tollgate.example";
/// Jira Cloud API token accepted by the sandbox.
pub const JIRA_CLOUD_TOKEN: &str = "sandbox-jira-cloud-api-token";
/// Jira Data Center personal access token accepted by the sandbox.
pub const JIRA_DC_TOKEN: &str = "sandbox-jira-dc-pat";
/// Azure DevOps personal access token accepted by the sandbox.
pub const ADO_TOKEN: &str = "sandbox-ado-pat";
/// The Azure DevOps organisation of the demo dataset.
pub const ADO_ORGANIZATION: &str = "tollgate-demo";
/// The Azure DevOps project of the demo dataset.
pub const ADO_PROJECT: &str = "Portfolio";

/// One request the sandbox answered.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, with the tracker prefix.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Request headers (names lower-case), as received.
    pub headers: Vec<(String, String)>,
    /// Status answered.
    pub status: u16,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<RecordedRequest>>,
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Sandbox {
    /// Serve on `addr` (use `127.0.0.1:0` for a free port) in the current tokio runtime.
    pub async fn start(addr: &str) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let app = router(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Sandbox {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the Jira Cloud fake.
    pub fn jira_cloud_url(&self) -> String {
        format!("http://{}/jira-cloud", self.addr)
    }

    /// Base URL of the Jira Data Center fake.
    pub fn jira_dc_url(&self) -> String {
        format!("http://{}/jira-dc", self.addr)
    }

    /// Base URL of the Azure DevOps fake (organisations below it).
    pub fn ado_url(&self) -> String {
        format!("http://{}/ado", self.addr)
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/jira-cloud/rest/api/{version}/myself",
            get(jira_cloud_myself),
        )
        .route("/jira-dc/rest/api/{version}/myself", get(jira_dc_myself))
        .route(
            "/ado/{organization}/_apis/projects/{project}",
            get(ado_project),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// Records every request with the status it got.
async fn record(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(str::to_string);
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let response = next.run(request).await;
    shared.requests.lock().unwrap().push(RecordedRequest {
        method,
        path,
        query,
        headers,
        status: response.status().as_u16(),
    });
    response
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// Jira's `ErrorCollection`.
fn jira_error(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({"errorMessages": [message], "errors": {}}))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, token) = text.split_once(':')?;
    Some((user.to_string(), token.to_string()))
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_string)
}

async fn jira_cloud_myself(Path(version): Path<String>, headers: HeaderMap) -> Response {
    if !matches!(version.as_str(), "2" | "3" | "latest") {
        return jira_error(StatusCode::NOT_FOUND, "null for uri");
    }
    match basic_credentials(&headers) {
        Some((user, token)) if user == JIRA_CLOUD_USER && token == JIRA_CLOUD_TOKEN => {
            json_response(
                StatusCode::OK,
                json!({
                    "self": "https://tollgate-demo.atlassian.net/rest/api/3/user?accountId=712020:5c1b0a3e-dmo-bot",
                    "accountId": "712020:5c1b0a3e-dmo-bot",
                    "accountType": "atlassian",
                    "emailAddress": JIRA_CLOUD_USER,
                    "displayName": "DMO Bot",
                    "active": true,
                    "timeZone": "Europe/Helsinki",
                    "locale": "en_GB"
                }),
            )
        }
        _ => jira_error(
            StatusCode::UNAUTHORIZED,
            "You are not authenticated. Authentication required to perform this operation.",
        ),
    }
}

async fn jira_dc_myself(Path(version): Path<String>, headers: HeaderMap) -> Response {
    // Data Center has no REST v3.
    if !matches!(version.as_str(), "2" | "latest") {
        return jira_error(StatusCode::NOT_FOUND, "null for uri");
    }
    match bearer_token(&headers) {
        Some(token) if token == JIRA_DC_TOKEN => json_response(
            StatusCode::OK,
            json!({
                "self": "https://jira.tollgate.example/rest/api/2/user?username=dmo-bot",
                "key": "JIRAUSER10100",
                "name": "dmo-bot",
                "emailAddress": "dmo-bot@tollgate.example",
                "displayName": "DMO Bot",
                "active": true,
                "timeZone": "Europe/Helsinki",
                "locale": "en_GB"
            }),
        ),
        _ => jira_error(
            StatusCode::UNAUTHORIZED,
            "You are not authenticated. Authentication required to perform this operation.",
        ),
    }
}

/// Azure DevOps answers bad credentials on GET with 203 and an HTML sign-in page.
fn ado_sign_in_page() -> Response {
    Response::builder()
        .status(StatusCode::NON_AUTHORITATIVE_INFORMATION)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(
            "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>Sign in to continue</body></html>",
        ))
        .unwrap()
}

fn ado_error(status: StatusCode, message: &str, type_key: &str) -> Response {
    json_response(
        status,
        json!({
            "$id": "1",
            "innerException": null,
            "message": message,
            "typeName": format!("Microsoft.VisualStudio.Services.WebApi.{type_key}, Microsoft.VisualStudio.Services.WebApi"),
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000
        }),
    )
}

fn ado_authorised(headers: &HeaderMap) -> bool {
    matches!(basic_credentials(headers), Some((_, token)) if token == ADO_TOKEN)
}

async fn ado_project(
    Path((organization, project)): Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    if !ado_authorised(&headers) {
        return ado_sign_in_page();
    }
    let has_version = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .any(|kv| kv.starts_with("api-version="));
    if !has_version {
        return ado_error(
            StatusCode::BAD_REQUEST,
            "VSS0005: The api-version query parameter is required for this request.",
            "VssVersionNotSpecifiedException",
        );
    }
    if organization != ADO_ORGANIZATION || project != ADO_PROJECT {
        return ado_error(
            StatusCode::NOT_FOUND,
            &format!(
                "TF200016: The following project does not exist: {project}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."
            ),
            "ProjectDoesNotExistWithNameException",
        );
    }
    json_response(
        StatusCode::OK,
        json!({
            "id": "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c",
            "name": ADO_PROJECT,
            "url": format!("https://dev.azure.com/{ADO_ORGANIZATION}/_apis/projects/6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"),
            "state": "wellFormed",
            "revision": 411,
            "visibility": "private",
            "lastUpdateTime": "2026-10-02T09:15:31.377Z"
        }),
    )
}

async fn not_found(request: Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/ado/") {
        return ado_error(
            StatusCode::NOT_FOUND,
            "The controller for path was not found or does not implement IController.",
            "NotFoundException",
        );
    }
    jira_error(StatusCode::NOT_FOUND, "null for uri")
}
