//! `myself`, `field` and `issuetype`: who the caller is and what the site has.

#[allow(unused_imports)]
use super::*;

pub(super) async fn myself(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let base = base_url(&headers, &ctx);
    let mut me = bot_json(ctx.flavour, &base);
    me["emailAddress"] = json!(CLOUD_USER);
    me["locale"] = json!("en_GB");
    crate::json_response(StatusCode::OK, me)
}

pub(super) async fn fields(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let system = [
        ("summary", "Summary", "string"),
        ("issuetype", "Issue Type", "issuetype"),
        ("status", "Status", "status"),
        ("parent", "Parent", "issuelink"),
        ("assignee", "Assignee", "user"),
        ("created", "Created", "datetime"),
        ("updated", "Updated", "datetime"),
        ("labels", "Labels", "array"),
        ("worklog", "Log Work", "array"),
    ];
    let mut out: Vec<Value> = system
        .iter()
        .filter(|(id, _, _)| !(*id == "parent" && ctx.flavour == Flavour::DataCenter))
        .map(|(id, name, t)| {
            json!({"id": id, "key": id, "name": name, "custom": false, "orderable": true, "navigable": true,
                   "searchable": true, "clauseNames": [id], "schema": {"type": t, "system": id}})
        })
        .collect();
    for def in FIELDS
        .iter()
        .filter(|d| !(d.dc_only && ctx.flavour == Flavour::Cloud))
    {
        let id = def.id(ctx.flavour);
        let custom_id = id.trim_start_matches("customfield_").to_string();
        out.push(json!({
            "id": id, "key": id, "name": def.name, "custom": true, "orderable": true, "navigable": true,
            "searchable": true, "clauseNames": [format!("cf[{custom_id}]"), def.name],
            "schema": field_schema(&ctx, def)
        }));
    }
    crate::json_response(StatusCode::OK, Value::Array(out))
}

pub(super) async fn issue_types(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let base = base_url(&headers, &ctx);
    crate::json_response(
        StatusCode::OK,
        Value::Array(
            ISSUE_TYPES
                .iter()
                .map(|t| issue_type_json(&base, t))
                .collect(),
        ),
    )
}
