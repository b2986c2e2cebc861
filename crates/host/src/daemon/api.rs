//! The JSON API: lists with filters and paging, readiness, and the authenticated triggers.

#[allow(unused_imports)]
use super::*;

/// 200 with this instance's name and the work each instance on the store holds, when the
/// store answers and the service is not stopping.
pub(super) async fn readyz(State(d): State<Arc<Daemon>>) -> Response {
    blocking(move || {
        let store = match store_of(&d) {
            Ok(store) => store,
            Err(r) => return r,
        };
        if d.stopping() {
            return json_error(StatusCode::SERVICE_UNAVAILABLE, "stopping");
        }
        let claims = match store.claims() {
            Ok(claims) => claims,
            Err(e) => return json_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        };
        let now = tollgate_store::now();
        let held: Vec<Value> = claims
            .iter()
            .filter(|c| live(c, &now))
            .map(|c| json!({"work": c.key, "instance": c.instance, "since": c.claimed_at, "lease_until": c.lease_until}))
            .collect();
        (
            StatusCode::OK,
            axum::Json(json!({"status": "ready", "instance": d.instance, "held": held})),
        )
            .into_response()
    })
    .await
}

/// `?limit=&offset=` and filters.
pub(super) type Params = Query<BTreeMap<String, String>>;

/// A page of a list, with the data's freshness per connection (as every answer states it):
/// the items (filtered) counted, and only those on the page made JSON with `value` (at 10,000
/// initiatives a page of 100 findings made all 44,196 into JSON first: 164 MB for 48 KB).
pub(super) fn page<T>(
    d: &Daemon,
    items: impl IntoIterator<Item = T>,
    q: &BTreeMap<String, String>,
    value: impl Fn(T) -> Value,
) -> Response {
    let mut pager = Pager::new(q);
    for item in items {
        pager.push(item, &value);
    }
    pager.answer(d)
}

/// A page of a list being made from items handed over one at a time ([`page`] for a list
/// that is read, not held: the findings, streamed from the store).
pub(super) struct Pager {
    limit: usize,
    offset: usize,
    total: usize,
    on_page: Vec<Value>,
}

impl Pager {
    /// `?limit=` (100 unless given, 1 to 1,000) items from `?offset=` (0 unless given).
    pub(super) fn new(q: &BTreeMap<String, String>) -> Pager {
        let limit = q
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(100)
            .clamp(1, 1000);
        let offset = q
            .get("offset")
            .and_then(|o| o.parse::<usize>().ok())
            .unwrap_or(0);
        Pager {
            limit,
            offset,
            total: 0,
            on_page: Vec::new(),
        }
    }

    /// Count `item`, and keep it as `value` makes it if it is on the page.
    pub(super) fn push<T>(&mut self, item: T, value: impl FnOnce(T) -> Value) {
        if self.total >= self.offset && self.on_page.len() < self.limit {
            self.on_page.push(value(item));
        }
        self.total += 1;
    }

    /// The answer: the page, the count, and the data's freshness.
    pub(super) fn answer(self, d: &Daemon) -> Response {
        let freshness: Vec<Value> = store_of(d)
            .ok()
            .and_then(|store| {
                crate::report::freshness::freshness(store.as_ref(), &d.session.config).ok()
            })
            .unwrap_or_default()
            .iter()
            .map(|f| {
                json!({
                    "connection": f.connection,
                    "last_successful_sync": f.last_success,
                    "latest_run": f.last_run.as_ref().map(|r| json!({"started_at": r.0, "status": r.1})),
                    "stale": f.is_stale(),
                })
            })
            .collect();
        axum::Json(json!({
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "items": self.on_page,
            "freshness": freshness,
        }))
        .into_response()
    }
}

pub(super) fn matches(q: &BTreeMap<String, String>, key: &str, value: Option<&str>) -> bool {
    q.get(key)
        .is_none_or(|want| value.is_some_and(|v| v.eq_ignore_ascii_case(want)))
}

#[allow(clippy::result_large_err)]
pub(super) fn records_of(
    d: &Daemon,
    kind: EntityKind,
) -> Result<Vec<tollgate_dmo::model::Record>, Response> {
    store_of(d)?
        .records(kind)
        .map_err(|e| json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

pub(super) async fn initiatives(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    building(d.builds.clone(), move || initiatives_now(&d, &q)).await
}

pub(super) fn initiatives_now(d: &Daemon, q: &BTreeMap<String, String>) -> Response {
    let q = q.clone();
    let records = match records_of(d, EntityKind::Initiative) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let items = records.iter().filter_map(|r| match &r.entity {
        Entity::Initiative(i) => {
            let keep = matches(&q, "connection", Some(&r.provenance.connection))
                && matches(&q, "value_stream", i.value_stream.as_deref())
                && matches(&q, "status_category", i.status_category.as_deref())
                && matches(&q, "gate", i.current_gate.as_deref())
                && matches(&q, "demand_type", i.demand_type.as_deref());
            keep.then_some((r, i))
        }
        _ => None,
    });
    page(d, items, &q, |(r, i)| {
        let mut v = serde_json::to_value(i.as_ref()).unwrap_or(Value::Null);
        v["connection"] = json!(r.provenance.connection);
        v["url"] = json!(r.provenance.url);
        v
    })
}

pub(super) async fn findings(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    building(d.builds.clone(), move || findings_now(&d, &q)).await
}

pub(super) fn findings_now(d: &Daemon, q: &BTreeMap<String, String>) -> Response {
    let q = q.clone();
    let store = match store_of(d) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let status = q.get("status").map(String::as_str).unwrap_or("open");
    if !matches!(status, "open" | "resolved" | "all") {
        return json_error(StatusCode::BAD_REQUEST, "status is open, resolved or all");
    }
    let min = match q
        .get("severity")
        .map(|s| s.parse::<tollgate_dmo::Severity>())
    {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => return json_error(StatusCode::BAD_REQUEST, &format!("severity: {e}")),
    };
    // Read one at a time, only the page's kept: at 10,000 initiatives the 44,196 open
    // findings read whole were most of a page's 58 MB.
    let persons = persons_visible(d);
    let mut pager = Pager::new(&q);
    let read = store.each_finding(status != "open", &mut |f| {
        let keep = (status != "resolved" || f.resolved_at.is_some())
            && min.is_none_or(|m| f.finding.severity >= m)
            && matches(&q, "rule", Some(&f.finding.rule_id))
            && matches(&q, "subject", Some(&f.finding.subject.key))
            && (persons || f.finding.subject.kind != tollgate_dmo::rules::SubjectKind::Person);
        if keep {
            pager.push(f, |f| serde_json::to_value(f).unwrap_or(Value::Null));
        }
    });
    if let Err(e) = read {
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    pager.answer(d)
}

pub(super) async fn runs(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    blocking(move || runs_now(&d, &q)).await
}

pub(super) fn runs_now(d: &Daemon, q: &BTreeMap<String, String>) -> Response {
    let q = q.clone();
    let store = match store_of(d) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match store.runs(q.get("connection").map(String::as_str), 10_000) {
        Ok(runs) => page(d, runs.iter(), &q, |r| {
            serde_json::to_value(r).unwrap_or(Value::Null)
        }),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

pub(super) fn entities(d: &Daemon, kind: EntityKind, q: &BTreeMap<String, String>) -> Response {
    match records_of(d, kind) {
        Ok(records) => page(
            d,
            records
                .iter()
                .filter(|r| matches(q, "connection", Some(&r.provenance.connection)))
                .filter(|r| match &r.entity {
                    Entity::Person(p) => matches(q, "team", p.team.as_deref()),
                    Entity::Team(t) => matches(q, "value_stream", t.value_stream.as_deref()),
                    _ => true,
                }),
            q,
            |r| {
                let mut v = serde_json::to_value(&r.entity).unwrap_or(Value::Null)["data"].take();
                v["connection"] = json!(r.provenance.connection);
                v
            },
        ),
        Err(r) => r,
    }
}

pub(super) async fn people(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    if !persons_visible(&d) {
        return persons_withheld();
    }
    blocking(move || entities(&d, EntityKind::Person, &q)).await
}

pub(super) async fn teams(State(d): State<Arc<Daemon>>, Query(q): Params) -> Response {
    blocking(move || entities(&d, EntityKind::Team, &q)).await
}

pub(super) async fn trigger_sync(
    State(d): State<Arc<Daemon>>,
    Path(connection): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorise(&d, &headers) {
        return r;
    }
    if !d.session.config.connections.contains_key(&connection) {
        return json_error(
            StatusCode::NOT_FOUND,
            &format!("no connection `{connection}`"),
        );
    }
    if d.stopping() {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "stopping");
    }
    if d.syncing.lock().unwrap().contains(&connection) {
        return json_error(
            StatusCode::CONFLICT,
            &format!("`{connection}` is being synced right now"),
        );
    }
    // Another instance on the same store syncing it: the same answer, naming the instance.
    let (me, conn) = (d.clone(), connection.clone());
    let elsewhere = tokio::task::spawn_blocking(move || {
        let now = tollgate_store::now();
        me.session
            .store()
            .ok()
            .and_then(|s| s.claims().ok())
            .and_then(|claims| {
                claims.into_iter().find(|c| {
                    c.key == sync_key(&conn) && c.instance != me.instance && live(c, &now)
                })
            })
    })
    .await
    .ok()
    .flatten();
    if let Some(claim) = elsewhere {
        return json_error(
            StatusCode::CONFLICT,
            &format!(
                "`{connection}` is being synced right now by instance `{}`",
                claim.instance
            ),
        );
    }
    let me = d.clone();
    let conn = connection.clone();
    tokio::spawn(async move {
        me.run_guarded(
            "api".to_string(),
            vec![JobStep::Sync, JobStep::Check],
            Some(conn),
        )
        .await;
    });
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"accepted": "sync", "connection": connection, "then": ["check"]})),
    )
        .into_response()
}

/// Build a report now; with `[reports] folder`, write it there too. Answers the report as
/// JSON (with the files written).
pub(super) async fn trigger_report(
    State(d): State<Arc<Daemon>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorise(&d, &headers) {
        return r;
    }
    let kind = match kind.as_str() {
        "steering" => ReportKind::Steering,
        "quarterly" => ReportKind::Quarterly,
        "capitalisation" => ReportKind::Capitalisation,
        other => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("no report `{other}`: `steering`, `quarterly` or `capitalisation`"),
            );
        }
    };
    // A report reads the whole store, as the dashboard does: it takes its turn with the pages
    // and a job's check and report steps (`server::building`).
    let me = d.clone();
    building(d.builds.clone(), move || match report_now(&me, kind) {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(f) => error_response(&f),
    })
    .await
}

/// The report built and filed, as the JSON answer's bytes: written straight from the
/// report's tables (a `serde_json::Value` of the steering pack at 10,000 initiatives would
/// be a second copy of its 370,000 cells).
fn report_now(d: &Daemon, kind: ReportKind) -> Result<Vec<u8>, Error> {
    #[derive(serde::Serialize)]
    struct Filed<'a> {
        #[serde(flatten)]
        report: &'a crate::report::Report,
        written: Vec<String>,
    }
    let mut store = d.session.store()?;
    let (report, written) = crate::report::file_report(
        store.as_mut(),
        &d.session.config,
        kind,
        &crate::clock::today(),
    )?;
    let written = written.iter().map(|p| p.display().to_string()).collect();
    serde_json::to_vec(&Filed {
        report: &report,
        written,
    })
    .map_err(|e| Error::runtime(anyhow::anyhow!("the {} report as JSON: {e}", kind.as_str())))
}
