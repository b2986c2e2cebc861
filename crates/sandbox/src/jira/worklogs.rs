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
    let worklogs: Vec<WorklogJson<'_>> = logs
        .iter()
        .skip(start.max(0) as usize)
        .take(max.clamp(0, 5000) as usize)
        .map(|&at| written.worklog(at))
        .collect();
    /// Members by name, as the sandbox has always written them.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct IssueWorklogs<'a> {
        max_results: i64,
        start_at: i64,
        total: usize,
        worklogs: Vec<WorklogJson<'a>>,
    }
    crate::json_body(
        StatusCode::OK,
        &IssueWorklogs {
            max_results: max.clamp(0, 5000),
            start_at: start,
            total,
            worklogs,
        },
    )
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
    /// One changed worklog; members by name, as the sandbox has always written them.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Changed {
        properties: [u8; 0],
        updated_time: i64,
        worklog_id: u64,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ChangedPage {
        last_page: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_page: Option<String>,
        #[serde(rename = "self")]
        self_url: String,
        since: i64,
        until: i64,
        values: Vec<Changed>,
    }
    let values = items
        .iter()
        .map(|&(updated_time, worklog_id)| Changed {
            properties: [],
            updated_time,
            worklog_id,
        })
        .collect();
    crate::json_body(
        StatusCode::OK,
        &ChangedPage {
            last_page,
            next_page: (!last_page)
                .then(|| format!("{base}/rest/api/{version}/worklog/{what}?since={until}")),
            self_url: format!("{base}/rest/api/{version}/worklog/{what}?since={since}"),
            since,
            until,
            values,
        },
    )
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
    let out = Each(|| found.iter().map(|&at| written.worklog(at)));
    crate::json_body(StatusCode::OK, &out)
}
