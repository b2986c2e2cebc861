//! The agile API: boards, their sprints, a sprint's issues.

#[allow(unused_imports)]
use super::*;

pub(super) async fn boards(
    State(ctx): State<Ctx>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, None) {
        return r;
    }
    let ps = params(&q);
    let (start, max) = match page_args(&ps, 50, 1, 50) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = ctx.shared.jira.read().unwrap();
    // Every board is the portfolio project's; another project of the site has none.
    let mut of_portfolio = true;
    if let Some(p) = param(&ps, "projectKeyOrId") {
        match data.project_named(p) {
            Some(project) => of_portfolio = project.id == data::PORTFOLIO_PROJECT_ID,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("No project could be found with key '{p}'."),
                );
            }
        }
    }
    let base = base_url(&headers, &ctx);
    let kinds: Option<Vec<&str>> = param(&ps, "type").map(|t| t.split(',').collect());
    let all: Vec<&data::Board> = data
        .boards
        .iter()
        .filter(|b| of_portfolio && kinds.as_ref().is_none_or(|k| k.contains(&b.kind)))
        .collect();
    let values: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|b| {
            json!({"id": b.id, "self": format!("{base}/rest/agile/1.0/board/{}", b.id), "name": format!("{} board", b.name), "type": b.kind,
                   "location": {"projectId": 10000, "projectKey": data.project, "projectName": "Portfolio", "displayName": format!("Portfolio ({})", data.project), "name": format!("Portfolio ({})", data.project)}})
        })
        .collect();
    let is_last = start + values.len() >= all.len();
    crate::json_response(
        StatusCode::OK,
        json!({"maxResults": max, "startAt": start, "total": all.len(), "isLast": is_last, "values": values}),
    )
}

/// A sprint as the agile API writes it (dates only once it has started).
pub(super) fn sprint_json(base: &str, s: &data::Sprint) -> Value {
    let mut v = json!({"id": s.id, "self": format!("{base}/rest/agile/1.0/sprint/{}", s.id), "state": s.state, "name": s.name, "originBoardId": s.board});
    if let (Some(a), Some(b)) = (s.start, s.end) {
        v["startDate"] = json!(agile_timestamp(a));
        v["endDate"] = json!(agile_timestamp(b));
    }
    if let Some(c) = s.complete {
        v["completeDate"] = json!(agile_timestamp(c));
    }
    if let Some(g) = &s.goal {
        v["goal"] = json!(g);
    }
    v
}

/// `GET /rest/agile/1.0/sprint/{id}`: one sprint, or 404.
pub(super) async fn sprint(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, None) {
        return r;
    }
    let data = ctx.shared.jira.read().unwrap();
    match data.sprints.iter().find(|s| s.id.to_string() == id) {
        Some(s) => crate::json_response(StatusCode::OK, sprint_json(&base_url(&headers, &ctx), s)),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("Sprint with id {id} does not exist or you do not have permission to see it."),
        ),
    }
}

pub(super) async fn board_sprints(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, None) {
        return r;
    }
    let ps = params(&q);
    let (start, max) = match page_args(&ps, 50, 1, 50) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = ctx.shared.jira.read().unwrap();
    let Some(board) = data.boards.iter().find(|b| b.id.to_string() == id) else {
        return error(
            StatusCode::NOT_FOUND,
            "Board does not exist or you do not have permission to see it.",
        );
    };
    if board.kind != "scrum" {
        return error(
            StatusCode::BAD_REQUEST,
            "The board does not support sprints",
        );
    }
    let states: Option<Vec<&str>> = param(&ps, "state").map(|s| s.split(',').collect());
    let rank = |s: &str| match s {
        "closed" => 0,
        "active" => 1,
        _ => 2,
    };
    let mut all: Vec<&data::Sprint> = data
        .sprints
        .iter()
        .filter(|s| s.board == board.id && states.as_ref().is_none_or(|st| st.contains(&s.state)))
        .collect();
    all.sort_by_key(|s| (rank(s.state), s.id));
    let base = base_url(&headers, &ctx);
    let values: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|s| sprint_json(&base, s))
        .collect();
    // Real sprint pages carry no `total`.
    let is_last = start + values.len() >= all.len();
    crate::json_response(
        StatusCode::OK,
        json!({"maxResults": max, "startAt": start, "isLast": is_last, "values": values}),
    )
}

pub(super) async fn sprint_issues(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&ctx, &headers, None) {
        return r;
    }
    let ps = params(&q);
    let (start, max) = match page_args(&ps, 50, 1, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = ctx.shared.jira.read().unwrap();
    let Ok(sprint) = id.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, "Sprint does not exist.");
    };
    if !data.sprints.iter().any(|s| s.id == sprint) {
        return error(StatusCode::NOT_FOUND, "Sprint does not exist.");
    }
    let fields: Vec<String> = ps
        .iter()
        .filter(|(k, _)| k == "fields")
        .map(|(_, v)| v.clone())
        .collect();
    let wanted = Wanted::parse(&fields, true);
    let base = base_url(&headers, &ctx);
    let hits: Vec<&Issue> = data
        .issues
        .iter()
        .filter(|i| i.sprints.contains(&sprint))
        .collect();
    let plan = FieldPlan::new(&ctx, &wanted);
    let issues: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| {
            let mut v = issue_value(&ctx, &base, "2", &data, i, &wanted, &plan);
            agile_fields(&base, &data, i, &wanted, &mut v);
            v
        })
        .collect();
    crate::json_response(
        StatusCode::OK,
        json!({"expand": "schema,names", "startAt": start, "maxResults": max, "total": hits.len(), "issues": issues}),
    )
}

/// The fields the agile API adds to an issue: its open sprint (`sprint`), the closed ones
/// (`closedSprints`), `flagged` and its `epic`.
fn agile_fields(base: &str, data: &Dataset, issue: &Issue, wanted: &Wanted, v: &mut Value) {
    let Some(fields) = v["fields"].as_object_mut() else {
        return;
    };
    let sprints: Vec<&data::Sprint> = issue
        .sprints
        .iter()
        .filter_map(|id| data.sprints.iter().find(|s| s.id == *id))
        .collect();
    if wanted.wants("sprint") {
        let open = sprints.iter().find(|s| s.state != "closed");
        fields.insert(
            "sprint".into(),
            open.map_or(Value::Null, |s| sprint_json(base, s)),
        );
    }
    if wanted.wants("closedSprints") {
        let closed: Vec<Value> = sprints
            .iter()
            .filter(|s| s.state == "closed")
            .map(|s| sprint_json(base, s))
            .collect();
        fields.insert("closedSprints".into(), json!(closed));
    }
    if wanted.wants("flagged") {
        fields.insert("flagged".into(), json!(false));
    }
    if wanted.wants("epic") {
        // A story's epic, or a sub-task's parent's; none for an epic.
        let epic = (ISSUE_TYPES[issue.issue_type].hierarchy_level < 1)
            .then(|| data.epic_of(issue))
            .flatten()
            .and_then(|k| data.issue(&k).cloned());
        let epic = epic.map(|e| {
            json!({
                "id": e.id, "key": e.key, "self": format!("{base}/rest/agile/1.0/epic/{}", e.id),
                "name": e.summary, "summary": e.summary, "color": {"key": "color_4"},
                "done": e.status_category == "done"
            })
        });
        fields.insert("epic".into(), epic.unwrap_or(Value::Null));
    }
}
