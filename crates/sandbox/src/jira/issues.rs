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
    // Everything the edit asks is checked before anything changes.
    let Some(is_epic) = data
        .issue(&key)
        .map(|i| ISSUE_TYPES[i.issue_type].hierarchy_level == 1)
    else {
        return no_issue();
    };
    let moved = match parent_asked(&v, ctx.flavour, &data, is_epic) {
        Ok(moved) => moved,
        Err(r) => return r,
    };
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
    if let Some(epic) = moved {
        let key = issue.key.clone();
        if let Err(e) = data.move_to_epic(&key, epic.as_deref(), now) {
            return field_error(
                StatusCode::BAD_REQUEST,
                &parent_field(ctx.flavour),
                &format!("Given parent work item does not belong to appropriate hierarchy. ({e})"),
            );
        }
    }
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(axum::body::Body::empty())
        .unwrap()
}

/// The field that names an issue's epic in an edit: Cloud's `parent`, Data Center's Epic Link
/// custom field (`customfield_…`).
fn parent_field(flavour: Flavour) -> String {
    match flavour {
        Flavour::Cloud => "parent".to_string(),
        Flavour::DataCenter => data::field_def("Epic Link").id(Flavour::DataCenter),
    }
}

/// The epic an edit moves the issue under, as Jira reads it: Cloud's `fields.parent`
/// (`{"key": …}` or `{"id": …}`, `null` to take it out) or `update.parent` (`[{"set": …}]`),
/// Data Center's Epic Link field (a key, or `null`). `None` when the edit does not touch it;
/// `Some(None)` to take the issue out of its epic. An epic the site does not have, an issue
/// that is not an epic, or an epic (`is_epic`) edited to have one is a 400 naming the field,
/// as Jira answers.
fn parent_asked(
    v: &Value,
    flavour: Flavour,
    data: &Dataset,
    is_epic: bool,
) -> Result<Option<Option<String>>, Response> {
    let field = parent_field(flavour);
    let asked = match flavour {
        Flavour::Cloud => v
            .pointer("/fields/parent")
            .or_else(|| v.pointer("/update/parent/0/set")),
        Flavour::DataCenter => v.get("fields").and_then(|f| f.get(&field)),
    };
    let bad = |message: &str| field_error(StatusCode::BAD_REQUEST, &field, message);
    let named = match (flavour, asked) {
        (_, None) => return Ok(None),
        (_, Some(Value::Null)) => return Ok(Some(None)),
        (Flavour::Cloud, Some(Value::Object(o))) => match (o.get("key"), o.get("id")) {
            (Some(Value::String(k)), _) | (None, Some(Value::String(k))) => k.clone(),
            _ => return Err(bad("Could not find issue by id or key.")),
        },
        (Flavour::DataCenter, Some(Value::String(k))) => k.clone(),
        _ => return Err(bad("Could not find issue by id or key.")),
    };
    match data.issue(&named) {
        Some(epic) if ISSUE_TYPES[epic.issue_type].hierarchy_level == 1 && !is_epic => {
            Ok(Some(Some(epic.key.clone())))
        }
        Some(_) => Err(bad(
            "Given parent work item does not belong to appropriate hierarchy.",
        )),
        None => Err(bad("Could not find issue by id or key.")),
    }
}
