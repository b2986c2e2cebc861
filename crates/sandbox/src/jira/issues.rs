//! Issues: editing one.

#[allow(unused_imports)]
use super::*;

pub(super) fn no_issue() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "Issue does not exist or you do not have permission to see it.",
    )
}

pub(super) async fn edit_issue(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Unexpected character in the request body.",
        );
    };
    let now = now(&ctx);
    let mut data = ctx.shared.jira_write();
    let Some(issue) = data.issue_mut(&key) else {
        return no_issue();
    };
    let mut labels = issue.labels.clone();
    if let Some(set) = v.pointer("/fields/labels").and_then(Value::as_array) {
        labels = set
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    if let Some(ops) = v.pointer("/update/labels").and_then(Value::as_array) {
        for op in ops {
            if let Some(l) = op.get("add").and_then(Value::as_str) {
                if !labels.iter().any(|x| x == l) {
                    labels.push(l.to_string());
                }
            } else if let Some(l) = op.get("remove").and_then(Value::as_str) {
                labels.retain(|x| x != l);
            } else if let Some(set) = op.get("set").and_then(Value::as_array) {
                labels = set
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
            }
        }
    }
    if let Some(bad) = labels.iter().find(|l| l.contains(' ')) {
        return field_error(
            StatusCode::BAD_REQUEST,
            "labels",
            &format!("The label '{bad}' contains spaces which is invalid."),
        );
    }
    if labels != issue.labels {
        issue.labels = labels;
        issue.updated = now;
    }
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(axum::body::Body::empty())
        .unwrap()
}
