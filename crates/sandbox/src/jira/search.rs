//! Search: the enhanced `search/jql` (Cloud, token paging) and the classic `search`
//! (Data Center, offset paging; removed on Cloud).

#[allow(unused_imports)]
use super::*;

/// Parameters of a search, from the query string or a POST body.
pub(super) struct SearchArgs {
    jql: String,
    token: Option<String>,
    start_at: i64,
    max_results: i64,
    fields: Vec<String>,
    expand: String,
}

pub(super) fn search_args_from_query(ps: &[(String, String)]) -> Result<SearchArgs, Response> {
    Ok(SearchArgs {
        jql: param(ps, "jql").unwrap_or("").to_string(),
        token: param(ps, "nextPageToken").map(str::to_string),
        start_at: number(ps, "startAt", 0)?,
        max_results: number(ps, "maxResults", 50)?,
        fields: ps
            .iter()
            .filter(|(k, _)| k == "fields")
            .map(|(_, v)| v.clone())
            .collect(),
        expand: ps
            .iter()
            .filter(|(k, _)| k == "expand")
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
            .join(","),
    })
}

/// The body of a search. The enhanced search (`search/jql`) takes `expand` as one
/// comma-separated string and refuses an array; the classic search (`search`, Data Center)
/// takes a list (`SearchRequestBean`), and a single string too.
pub(super) fn search_args_from_body(body: &Bytes, classic: bool) -> Result<SearchArgs, Response> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("Unrecognized token in the request body: {e}"),
        )
    })?;
    let expand = match v.get("expand") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(e)) => e.clone(),
        Some(Value::Array(list)) if classic && list.iter().all(Value::is_string) => list
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        Some(_) if classic => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Can not deserialize instance of java.util.List out of the request's `expand`",
            ));
        }
        Some(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Cannot deserialize value of type `java.lang.String` from Array value (token `JsonToken.START_ARRAY`)",
            ));
        }
    };
    Ok(SearchArgs {
        jql: v
            .get("jql")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        token: v
            .get("nextPageToken")
            .and_then(Value::as_str)
            .map(str::to_string),
        start_at: v.get("startAt").and_then(Value::as_i64).unwrap_or(0),
        max_results: v.get("maxResults").and_then(Value::as_i64).unwrap_or(50),
        fields: v
            .get("fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        expand,
    })
}

pub(super) fn matching(ctx: &Ctx, data: &Dataset, jql: &str) -> Result<Arc<Vec<usize>>, Response> {
    let at = now(ctx);
    // Paging through one query evaluates and sorts it once (the index remembers the hits
    // until the data changes), so a page costs the page, not the site.
    let index = data.index();
    let positions = index
        .search(ctx.flavour, at, jql, || {
            let query = jql::parse(jql, ctx.flavour, at)?;
            Ok(hits(&query, data, &index))
        })
        .map_err(|m| error(StatusCode::BAD_REQUEST, &m))?;
    // The positions, not the issues: a page takes its own from them (a list of the site's
    // 110,000 issues made for each page of 1,500 was a twentieth of the sandbox's time).
    Ok(positions)
}

/// The positions of a query's hits, in its order: looked for among the children of the
/// parents it names at its top ([`jql::Query::parents`]), else on every issue of the site. A
/// sync asks for the risks of its epics 100 epics a search: at 110,000 issues each such
/// search evaluated every issue, 12-33 ms, over a third of the sandbox's time in a full sync.
pub(super) fn hits(query: &jql::Query, data: &Dataset, index: &super::index::Index) -> Vec<usize> {
    let candidates: Box<dyn Iterator<Item = usize>> = match query.parents() {
        Some(parents) => {
            let mut children: Vec<usize> = parents
                .iter()
                .flat_map(|p| index.children_of(p))
                .copied()
                .collect();
            children.sort_unstable();
            children.dedup();
            Box::new(children.into_iter())
        }
        None => Box::new(0..data.issues.len()),
    };
    let mut hits: Vec<(usize, &Issue)> = candidates
        .map(|at| (at, &data.issues[at]))
        .filter(|(_, i)| query.matches(i, data))
        .collect();
    query.sort_by_issue(&mut hits, |h| h.1, data);
    hits.into_iter().map(|(at, _)| at).collect()
}

pub(super) fn encode_token(offset: usize, jql: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}|{jql}"))
}

pub(super) fn decode_token(token: &str, jql: &str) -> Option<usize> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (offset, q) = text.split_once('|')?;
    (q == jql).then(|| offset.parse().ok()).flatten()
}

pub(super) fn search_jql(
    ctx: &Ctx,
    headers: &HeaderMap,
    version: &str,
    args: SearchArgs,
) -> Response {
    if ctx.flavour == Flavour::DataCenter {
        return error(StatusCode::NOT_FOUND, "null for uri");
    }
    let data = ctx.shared.jira.read().unwrap();
    let hits = match matching(ctx, &data, &args.jql) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let offset = match &args.token {
        None => 0,
        Some(t) => match decode_token(t, &args.jql) {
            Some(o) => o,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "The provided next page token is invalid or expired.",
                );
            }
        },
    };
    let wanted = Wanted::parse(&args.fields, false);
    let per_page = (args.max_results.max(1) as usize).min(wanted.cap());
    let base = base_url(headers, ctx);
    let plan = FieldPlan::new(ctx, &wanted);
    let changelog = wants_changelog(&args.expand);
    let page: Vec<IssueJson<'_>> = hits
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|&at| {
            let i = &data.issues[at];
            let mut v = issue_doc(ctx, &base, version, &data, i, &wanted, &plan, true);
            if changelog {
                v.changelog = Some(changelog_json(ctx, &base, &data, i, SEARCH_CHANGELOG_LIMIT));
            }
            v
        })
        .collect();
    let end = offset + page.len();
    // On the last page the key is absent, not null (JRACLOUD-92184).
    let next_page_token = (end < hits.len()).then(|| encode_token(end, &args.jql));
    let (mut names, mut schema) = (None, None);
    if args.expand.split(',').any(|e| e.trim() == "names")
        || args.expand.split(',').any(|e| e.trim() == "schema")
    {
        let (n, s) = names_and_schema(ctx);
        if args.expand.contains("names") {
            names = Some(n);
        }
        if args.expand.contains("schema") {
            schema = Some(s);
        }
    }
    /// A page of `/search/jql`. Members by name, as the sandbox has always written them.
    #[derive(serde::Serialize)]
    struct Page<'a> {
        #[serde(rename = "isLast")]
        is_last: bool,
        issues: Vec<IssueJson<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        names: Option<Value>,
        #[serde(rename = "nextPageToken", skip_serializing_if = "Option::is_none")]
        next_page_token: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema: Option<Value>,
    }
    let out = Page {
        is_last: end >= hits.len(),
        issues: page,
        names,
        next_page_token,
        schema,
    };
    crate::json_body(StatusCode::OK, &out)
}

/// Runs a search after the credentials check, with its arguments from the query string (GET)
/// or the body (POST).
pub(super) fn searching(
    ctx: &Ctx,
    headers: &HeaderMap,
    version: &str,
    args: impl FnOnce() -> Result<SearchArgs, Response>,
    search: fn(&Ctx, &HeaderMap, &str, SearchArgs) -> Response,
) -> Response {
    if let Err(r) = gate(ctx, headers, Some(version)) {
        return r;
    }
    match args() {
        Ok(args) if ctx.shared.search_fails(&args.jql) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        }
        Ok(args) => search(ctx, headers, version, args),
        Err(r) => r,
    }
}

pub(super) async fn search_jql_get(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let args = || search_args_from_query(&params(&q));
    searching(&ctx, &headers, &version, args, search_jql)
}

pub(super) async fn search_jql_post(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = || search_args_from_body(&body, false);
    searching(&ctx, &headers, &version, args, search_jql)
}

pub(super) const REMOVED_SEARCH: &str = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";

pub(super) fn search_old(
    ctx: &Ctx,
    headers: &HeaderMap,
    version: &str,
    args: SearchArgs,
) -> Response {
    if ctx.flavour == Flavour::Cloud {
        return error(StatusCode::GONE, REMOVED_SEARCH);
    }
    let data = ctx.shared.jira.read().unwrap();
    let hits = match matching(ctx, &data, &args.jql) {
        Ok(h) => h,
        Err(r) => return r,
    };
    // Data Center: offset paging with a total; the server cap applies silently.
    let max = (args.max_results.max(0) as usize).min(DC_SEARCH_CAP);
    let start = args.start_at.max(0) as usize;
    let wanted = Wanted::parse(&args.fields, true);
    let base = base_url(headers, ctx);
    let plan = FieldPlan::new(ctx, &wanted);
    let changelog = wants_changelog(&args.expand);
    let issues: Vec<IssueJson<'_>> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|&at| {
            let i = &data.issues[at];
            let mut v = issue_doc(ctx, &base, version, &data, i, &wanted, &plan, false);
            if changelog {
                v.changelog = Some(changelog_json(ctx, &base, &data, i, SEARCH_CHANGELOG_LIMIT));
            }
            v
        })
        .collect();
    let (mut names, mut schema) = (None, None);
    if args.expand.contains("names") || args.expand.contains("schema") {
        let (n, s) = names_and_schema(ctx);
        names = Some(n);
        schema = Some(s);
    }
    /// A page of Data Center's `/search`. Members by name, as the sandbox has always written
    /// them.
    #[derive(serde::Serialize)]
    struct Page<'a> {
        expand: &'static str,
        issues: Vec<IssueJson<'a>>,
        #[serde(rename = "maxResults")]
        max_results: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        names: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema: Option<Value>,
        #[serde(rename = "startAt")]
        start_at: usize,
        total: usize,
    }
    let out = Page {
        expand: "schema,names",
        issues,
        max_results: max,
        names,
        schema,
        start_at: start,
        total: hits.len(),
    };
    crate::json_body(StatusCode::OK, &out)
}

pub(super) async fn search_old_get(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let args = || search_args_from_query(&params(&q));
    searching(&ctx, &headers, &version, args, search_old)
}

pub(super) async fn search_old_post(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = || search_args_from_body(&body, true);
    searching(&ctx, &headers, &version, args, search_old)
}

/// How many history entries Cloud embeds per issue in a search (newest first).
const SEARCH_CHANGELOG_LIMIT: usize = 20;

/// `expand=changelog` among a search's expansions.
fn wants_changelog(expand: &str) -> bool {
    expand.split(',').any(|e| e.trim() == "changelog")
}
