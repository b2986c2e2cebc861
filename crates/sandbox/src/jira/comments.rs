//! Comments and their properties: list, add, update, in ADF (v3) or wiki text (v2).

#[allow(unused_imports)]
use super::*;

pub(super) fn comment_json(
    ctx: &Ctx,
    base: &str,
    version: &str,
    issue: &Issue,
    c: &data::Comment,
    data: &Dataset,
) -> Value {
    let author = match c.author {
        Some(a) => user_json(ctx.flavour, base, &data.users[a]),
        None => bot_json(ctx.flavour, base),
    };
    // A body stored from v2 text is served to v3 as a paragraph, and the other way round.
    let body = match (&c.body, adf(version)) {
        (Value::String(s), true) => text_body(true, s),
        (Value::Object(_), false) => Value::String(adf_text(&c.body)),
        (b, _) => b.clone(),
    };
    json!({
        "self": format!("{base}/rest/api/{version}/issue/{}/comment/{}", issue.id, c.id),
        "id": c.id.to_string(),
        "author": author,
        "updateAuthor": author,
        "body": body,
        "created": jira_timestamp(c.created),
        "updated": jira_timestamp(c.updated),
        "jsdPublic": true,
    })
}

/// Wiki markup with its backslash escapes resolved (`\[` reads `[`): the letters a Data
/// Center comment shows, its markup (`h3.`, `*bold*`, bullets) kept as written.
pub fn wiki_text(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    let mut chars = markup.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// The plain text of an ADF document, paragraphs on their own lines.
pub fn adf_text(doc: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        if let Some(t) = v.get("text").and_then(Value::as_str) {
            out.push_str(t);
        }
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            for c in children {
                walk(c, out);
            }
            if matches!(
                v.get("type").and_then(Value::as_str),
                Some("paragraph" | "heading" | "listItem")
            ) && !out.ends_with('\n')
            {
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    walk(doc, &mut out);
    out.trim_end().to_string()
}

/// Checks an ADF document the way the v3 API does (the parts that commonly go wrong).
pub(super) fn check_adf(doc: &Value) -> Result<(), String> {
    if doc.get("type").and_then(Value::as_str) != Some("doc")
        || doc.get("version").and_then(Value::as_i64) != Some(1)
        || !doc.get("content").is_some_and(Value::is_array)
    {
        return Err(
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                .into(),
        );
    }
    fn walk(v: &Value) -> Result<(), String> {
        match v.get("type").and_then(Value::as_str) {
            None => return Err("ADF node without a type".into()),
            Some("text") => {
                if v.get("text")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err("ADF text nodes must not be empty".into());
                }
            }
            Some(_) => {}
        }
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            for c in children {
                walk(c)?;
            }
        }
        Ok(())
    }
    for c in doc["content"].as_array().unwrap() {
        if c.get("type").and_then(Value::as_str) == Some("text") {
            return Err("ADF text must sit inside a block node".into());
        }
        walk(c)?;
    }
    Ok(())
}

/// Credentials, then the JSON request and its comment body: (request, body).
pub(super) fn comment_request(
    ctx: &Ctx,
    headers: &HeaderMap,
    version: &str,
    body: &Bytes,
) -> Result<(Value, Value), Response> {
    gate(ctx, headers, Some(version))?;
    let v = serde_json::from_slice::<Value>(body).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "Unexpected character in the request body.",
        )
    })?;
    let body = comment_body(version, &v)?;
    Ok((v, body))
}

pub(super) fn comment_body(version: &str, v: &Value) -> Result<Value, Response> {
    let Some(body) = v.get("body") else {
        return Err(field_error(
            StatusCode::BAD_REQUEST,
            "comment",
            "Comment body can not be empty!",
        ));
    };
    if adf(version) {
        check_adf(body).map_err(|m| error(StatusCode::BAD_REQUEST, &m))?;
        Ok(body.clone())
    } else {
        match body.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(body.clone()),
            _ => Err(field_error(
                StatusCode::BAD_REQUEST,
                "comment",
                "Comment body can not be empty!",
            )),
        }
    }
}

pub(super) async fn list_comments(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let ps = params(&q);
    let (start, max) = match page_args(&ps, 100, 0, 100) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = ctx.shared.jira.read().unwrap();
    let Some(issue) = data.issue(&key) else {
        return no_issue();
    };
    let base = base_url(&headers, &ctx);
    let mut comments: Vec<&data::Comment> = issue.comments.iter().collect();
    if param(&ps, "orderBy") == Some("-created") {
        comments.reverse();
    }
    let page: Vec<Value> = comments
        .iter()
        .skip(start)
        .take(max)
        .map(|c| comment_json(&ctx, &base, &version, issue, c, &data))
        .collect();
    crate::json_response(
        StatusCode::OK,
        json!({"startAt": start, "maxResults": max, "total": issue.comments.len(), "comments": page}),
    )
}

pub(super) async fn add_comment(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (v, body) = match comment_request(&ctx, &headers, &version, &body) {
        Ok(parsed) => parsed,
        Err(r) => return r,
    };
    let now = now(&ctx);
    let mut data = ctx.shared.jira_write();
    let id = data.next_comment_id();
    let Some(issue) = data.issue_mut(&key) else {
        return no_issue();
    };
    let mut properties = std::collections::BTreeMap::new();
    for p in v
        .get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(k), Some(val)) = (p.get("key").and_then(Value::as_str), p.get("value")) {
            properties.insert(k.to_string(), val.clone());
        }
    }
    issue.comments.push(data::Comment {
        id,
        author: None,
        body,
        created: now,
        updated: now,
        properties,
    });
    issue.updated = now;
    let issue = data.issue(&key).unwrap();
    let base = base_url(&headers, &ctx);
    let c = issue.comments.last().unwrap();
    crate::json_response(
        StatusCode::CREATED,
        comment_json(&ctx, &base, &version, issue, c, &data),
    )
}

pub(super) async fn update_comment(
    State(ctx): State<Ctx>,
    Path((version, key, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, body) = match comment_request(&ctx, &headers, &version, &body) {
        Ok(parsed) => parsed,
        Err(r) => return r,
    };
    let now = now(&ctx);
    let mut data = ctx.shared.jira_write();
    let Some(issue) = data.issue_mut(&key) else {
        return no_issue();
    };
    let Some(c) = issue.comments.iter_mut().find(|c| c.id.to_string() == id) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Can not find a comment for the id: {id}."),
        );
    };
    if c.author.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            "You do not have the permission to edit this comment.",
        );
    }
    c.body = body;
    c.updated = now;
    let issue = data.issue(&key).unwrap();
    let c = issue
        .comments
        .iter()
        .find(|c| c.id.to_string() == id)
        .unwrap();
    let base = base_url(&headers, &ctx);
    crate::json_response(
        StatusCode::OK,
        comment_json(&ctx, &base, &version, issue, c, &data),
    )
}

pub(super) fn find_comment_mut<'a>(
    data: &'a mut Dataset,
    id: &str,
) -> Option<&'a mut data::Comment> {
    data.issues
        .iter_mut()
        .flat_map(|i| i.comments.iter_mut())
        .find(|c| c.id.to_string() == id)
}

pub(super) async fn comment_property_keys(
    State(ctx): State<Ctx>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let base = base_url(&headers, &ctx);
    let mut data = ctx.shared.jira_write();
    let Some(c) = find_comment_mut(&mut data, &id) else {
        return error(StatusCode::NOT_FOUND, "The comment does not exist.");
    };
    let keys: Vec<Value> = c
        .properties
        .keys()
        .map(|k| json!({"key": k, "self": format!("{base}/rest/api/{version}/comment/{id}/properties/{k}")}))
        .collect();
    crate::json_response(StatusCode::OK, json!({"keys": keys}))
}

pub(super) async fn get_comment_property(
    State(ctx): State<Ctx>,
    Path((version, id, property)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let mut data = ctx.shared.jira_write();
    let Some(c) = find_comment_mut(&mut data, &id) else {
        return error(StatusCode::NOT_FOUND, "The comment does not exist.");
    };
    match c.properties.get(&property) {
        Some(v) => crate::json_response(StatusCode::OK, json!({"key": property, "value": v})),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("The property with key '{property}' was not found."),
        ),
    }
}

pub(super) async fn put_comment_property(
    State(ctx): State<Ctx>,
    Path((version, id, property)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    if property.len() > 255 || body.len() > 32_768 {
        return error(
            StatusCode::BAD_REQUEST,
            "The property key is longer than 255 characters or the value is longer than 32768 characters.",
        );
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "The property value is not valid JSON.",
        );
    };
    let mut data = ctx.shared.jira_write();
    let Some(c) = find_comment_mut(&mut data, &id) else {
        return error(StatusCode::NOT_FOUND, "The comment does not exist.");
    };
    let status = if c.properties.insert(property, value).is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    crate::json_response(status, json!({}))
}
