//! Worklogs: an issue's, the changed and deleted ones since a moment, and a list by id.

#[allow(unused_imports)]
use super::*;

pub(super) async fn issue_worklogs(
    State(ctx): State<Ctx>,
    Path((version, key)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let ps = params(&q);
    // Non-numeric paging parameters give 404 here, as on the real service.
    let (Ok(start), Ok(max)) = (number(&ps, "startAt", 0), number(&ps, "maxResults", 5000)) else {
        return no_issue();
    };
    let data = ctx.shared.jira.read().unwrap();
    let Some(issue) = data.issue(&key) else {
        return no_issue();
    };
    let base = base_url(&headers, &ctx);
    let index = data.index();
    let logs = index.worklogs_of(issue.id);
    let total = logs.len();
    let written = WorklogsWritten::new(&ctx, &base, &version, &data);
    // Members by name, as the sandbox has always written them.
    let max = max.clamp(0, 5000);
    let mut out = Vec::new();
    out.extend_from_slice(
        format!("{{\"maxResults\":{max},\"startAt\":{start},\"total\":{total},\"worklogs\":")
            .as_bytes(),
    );
    written.write_all(
        &mut out,
        logs.iter()
            .skip(start.max(0) as usize)
            .take(max as usize)
            .copied(),
    );
    out.push(b'}');
    crate::json_written(StatusCode::OK, out)
}

/// One page of `/worklog/updated` or `/worklog/deleted`: `items` are (time, worklog id) in
/// ascending order, so the page is found by binary search, whatever the site's size.
pub(super) fn changed_page(
    ctx: &Ctx,
    headers: &HeaderMap,
    version: &str,
    what: &str,
    since: i64,
    items: &[(i64, u64)],
) -> Response {
    // The last minute is left out: a worklog saved just now shows up on a later call.
    let horizon = now(ctx) - 60_000;
    let from = items.partition_point(|(t, _)| *t <= since);
    let to = items.partition_point(|(t, _)| *t <= horizon).max(from);
    let items = &items[from..to];
    let last_page = items.len() <= CHANGED_PAGE;
    let items = &items[..items.len().min(CHANGED_PAGE)];
    let until = items.last().map(|(t, _)| *t).unwrap_or(since);
    let base = base_url(headers, ctx);
    // Written by hand, members by name as the sandbox has always written them: a full sync
    // reads a thousand pages of a thousand, and serde escaped each entry's three names.
    let mut out = Vec::with_capacity(items.len() * 64 + 512);
    out.extend_from_slice(b"{\"lastPage\":");
    out.extend_from_slice(if last_page { b"true" } else { b"false" });
    if !last_page {
        out.extend_from_slice(b",\"nextPage\":");
        json_text(
            &mut out,
            &format!("{base}/rest/api/{version}/worklog/{what}?since={until}"),
        );
    }
    out.extend_from_slice(b",\"self\":");
    json_text(
        &mut out,
        &format!("{base}/rest/api/{version}/worklog/{what}?since={since}"),
    );
    out.extend_from_slice(b",\"since\":");
    decimal(&mut out, since);
    out.extend_from_slice(b",\"until\":");
    decimal(&mut out, until);
    out.extend_from_slice(b",\"values\":[");
    for (n, &(updated_time, worklog_id)) in items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"properties\":[],\"updatedTime\":");
        decimal(&mut out, updated_time);
        out.extend_from_slice(b",\"worklogId\":");
        decimal(&mut out, worklog_id);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    crate::json_written(StatusCode::OK, out)
}

pub(super) async fn worklogs_updated(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let since = match number(&params(&q), "since", 0) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // The index is shared, so the lock is not held while the page is rendered.
    let index = ctx.shared.jira.read().unwrap().index();
    changed_page(&ctx, &headers, &version, "updated", since, &index.updated)
}

pub(super) async fn worklogs_deleted(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let since = match number(&params(&q), "since", 0) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let index = ctx.shared.jira.read().unwrap().index();
    changed_page(&ctx, &headers, &version, "deleted", since, &index.deleted)
}

pub(super) async fn worklog_list(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, Some(&version)) {
        return r;
    }
    let ids: Vec<u64> = match serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("ids").cloned())
        .and_then(|ids| serde_json::from_value::<Vec<u64>>(ids).ok())
    {
        Some(ids) => ids,
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                "Request body must contain a list of worklog ids: {\"ids\": [...]}.",
            );
        }
    };
    if ids.is_empty() || ids.len() > 1000 {
        return field_error(
            StatusCode::BAD_REQUEST,
            "ids",
            "The number of worklog ids must be between 1 and 1000.",
        );
    }
    let data = ctx.shared.jira.read().unwrap();
    let index = data.index();
    // Found by id, answered in the site's order (by id), each once, unknown ids left out.
    let mut found: Vec<usize> = ids.iter().filter_map(|&id| index.worklog(id)).collect();
    found.sort_unstable();
    found.dedup();
    let base = base_url(&headers, &ctx);
    let written = WorklogsWritten::new(&ctx, &base, &version, &data);
    let mut out = Vec::new();
    written.write_all(&mut out, found);
    crate::json_written(StatusCode::OK, out)
}
