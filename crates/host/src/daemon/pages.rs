//! The dashboard's HTML pages, rendered off the async workers.

#[allow(unused_imports)]
use super::*;

pub(super) const NAV: &str = "<nav><a href=\"/\">Portfolio</a><a href=\"/quarterly\">Quarterly review</a><a href=\"/resources\">Resources</a><a href=\"/capitalisation\">Capitalisation</a><a href=\"/runs\">Runs</a><a href=\"/metrics\">Metrics</a></nav>\n";

pub(super) fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Whether the client takes a gzip-compressed answer: `Accept-Encoding` names `gzip` (or
/// `*`) without `q=0`.
pub(super) fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// A report as a dashboard page: with `gzip`, compressed as it is written, so that the page
/// (~25 MB of HTML at 10,000 initiatives, ~2.5 MB compressed) is never held whole; else as
/// text. `nav` goes first in the body.
pub(super) fn report_page(gzip: bool, report: &crate::report::Report, nav: &str) -> Response {
    if !gzip {
        return html_response(
            StatusCode::OK,
            crate::report::html_page(report, Some("/initiatives/"), nav),
        );
    }
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let written = crate::report::write_html_to(report, Some("/initiatives/"), nav, &mut out)
        .and_then(|()| out.finish());
    match written {
        Ok(body) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_ENCODING, "gzip"),
                (header::VARY, "accept-encoding"),
            ],
            body,
        )
            .into_response(),
        Err(e) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the page could not be written: {e}"),
        ),
    }
}

/// A report of today, live, with initiatives linked to their pages; built and rendered on
/// the blocking pool. Without a read token, tables about single people are left out.
pub(super) async fn live_report(
    d: Arc<Daemon>,
    gzip: bool,
    make: impl FnOnce(&Daemon, &dyn Store, &str) -> Result<crate::report::Report, Error>
    + Send
    + 'static,
) -> Response {
    building(d.builds.clone(), move || {
        let store = match store_of(&d) {
            Ok(s) => s,
            Err(r) => return r,
        };
        match make(&d, store.as_ref(), &crate::clock::today()) {
            Ok(mut report) => {
                if !persons_visible(&d) {
                    crate::report::withhold_per_person(&mut report);
                }
                report_page(gzip, &report, NAV)
            }
            Err(f) => error_response(&f),
        }
    })
    .await
}

/// The portfolio, live: the steering pack of today, filtered by the query's value stream,
/// gate, severity and owner (`report::filter`), with the filter form on top.
pub(super) async fn dashboard(
    State(d): State<Arc<Daemon>>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let gzip = takes_gzip(&headers);
    let filter = match crate::report::filter::Filter::from_query(&q) {
        Ok(f) => f,
        Err(e) => {
            return html_response(
                StatusCode::BAD_REQUEST,
                format!(
                    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bad filter</title></head><body>{NAV}<h1>Bad filter</h1><p>{}</p><p><a href=\"/\">All initiatives</a></p></body></html>",
                    crate::report::esc(&e)
                ),
            );
        }
    };
    building(d.builds.clone(), move || {
        let store = match store_of(&d) {
            Ok(s) => s,
            Err(r) => return r,
        };
        let today = crate::clock::today();
        // The portfolio read once, for the pack and for the filter.
        let built = crate::report::steering_portfolio(store.as_ref(), &today).and_then(|p| {
            let report =
                crate::report::build_steering(store.as_ref(), &p, &today, &d.session.config)?;
            // The open findings again only for a filter by severity (the pack read its own);
            // every other filter ignores them.
            let open = match filter.severity {
                Some(_) => crate::report::OpenFindings::read(store.as_ref(), None)?,
                None => crate::report::OpenFindings::default(),
            };
            Ok((report, p, open))
        });
        match built {
            Ok((mut report, p, open)) => {
                if !persons_visible(&d) {
                    crate::report::withhold_per_person(&mut report);
                }
                let keys = filter.select(&p, &open);
                filter.apply(&mut report, &keys);
                let top = format!("{NAV}{}", filter.form(&p, keys.len()));
                // Not held while the page's ~25 MB are written (10,000 initiatives).
                drop((p, open, keys));
                report_page(gzip, &report, &top)
            }
            Err(f) => error_response(&f),
        }
    })
    .await
}

/// The quarterly review of today.
pub(super) async fn quarterly_page(State(d): State<Arc<Daemon>>, headers: HeaderMap) -> Response {
    live_report(d, takes_gzip(&headers), |d, store, today| {
        crate::report::build(store, ReportKind::Quarterly, today, &d.session.config)
    })
    .await
}

/// Capitalisation of today: effort per initiative and quarter, capitalisable or expensed.
pub(super) async fn capitalisation_page(
    State(d): State<Arc<Daemon>>,
    headers: HeaderMap,
) -> Response {
    live_report(d, takes_gzip(&headers), |d, store, today| {
        crate::report::build(store, ReportKind::Capitalisation, today, &d.session.config)
    })
    .await
}

/// Resources: the heat map and capacity against demand (per person: with the read token).
pub(super) async fn resources_page(State(d): State<Arc<Daemon>>, headers: HeaderMap) -> Response {
    if !persons_visible(&d) {
        return persons_withheld();
    }
    live_report(d, takes_gzip(&headers), |d, store, today| {
        let mut report = crate::report::resources(store, today, &d.session.config.reports)?;
        crate::report::with_freshness(&mut report, store, &d.session.config)?;
        Ok(report)
    })
    .await
}

/// The tab icon browsers ask for: a small gate, as SVG.
pub(super) async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect x=\"2\" y=\"2\" width=\"3\" height=\"13\" fill=\"#1d2733\"/><rect x=\"11\" y=\"2\" width=\"3\" height=\"13\" fill=\"#1d2733\"/><rect x=\"5\" y=\"6\" width=\"6\" height=\"2\" fill=\"#c83c32\"/></svg>",
    )
        .into_response()
}

/// The sync runs, newest first.
pub(super) async fn runs_page(State(d): State<Arc<Daemon>>) -> Response {
    blocking(move || runs_page_now(&d)).await
}

pub(super) fn runs_page_now(d: &Daemon) -> Response {
    let store = match store_of(d) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let runs = match store.runs(None, 200) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Runs</title><style>{}</style></head>\n<body>\n{NAV}<h1>Runs</h1>\n<p class=\"note\">The last 200 sync runs, newest first; /api/v1/runs has them as JSON.</p>\n",
        crate::report::STYLE
    );
    if runs.is_empty() {
        out.push_str("<p id=\"runs\">No runs yet.</p>\n");
    } else {
        out.push_str("<table id=\"runs\"><thead><tr><th>run</th><th>connection</th><th>full</th><th>started</th><th>finished</th><th>status</th><th>pages</th><th>records</th></tr></thead><tbody>\n");
        for r in &runs {
            let v = serde_json::to_value(r).unwrap_or(Value::Null);
            let cell = |k: &str| match &v[k] {
                Value::String(s) => crate::report::esc(s),
                Value::Null => "–".into(),
                other => crate::report::esc(&other.to_string()),
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                cell("id"),
                cell("connection"),
                cell("full"),
                cell("started_at"),
                cell("finished_at"),
                cell("status"),
                cell("pages"),
                cell("records_written"),
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</body></html>\n");
    html_response(StatusCode::OK, out)
}

/// One initiative: what the tracker says, its open findings, its business case, its
/// decisions, and a link back to the epic.
pub(super) async fn initiative_page(
    State(d): State<Arc<Daemon>>,
    Path(key): Path<String>,
) -> Response {
    building(d.builds.clone(), move || initiative_page_now(&d, &key)).await
}

pub(super) fn initiative_page_now(d: &Daemon, key: &str) -> Response {
    let key = key.to_string();
    let store = match store_of(d) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let portfolio = match crate::check::portfolio(store.as_ref()) {
        Ok(p) => p,
        Err(f) => return error_response(&f),
    };
    let Some((i, url)) = portfolio.initiatives.get(&key) else {
        return html_response(
            StatusCode::NOT_FOUND,
            format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head><body>{NAV}<h1>No initiative {}</h1></body></html>",
                crate::report::esc(&key)
            ),
        );
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{key} {title}</title><style>{style}</style></head>\n<body>\n{NAV}<h1>{key} {title}</h1>\n",
        key = crate::report::esc(&i.key),
        title = crate::report::esc(&i.title),
        style = crate::report::STYLE
    );
    if let Some(url) = url {
        out.push_str(&format!(
            "<p><a id=\"tracker-link\" href=\"{0}\">Open in the tracker</a></p>\n",
            crate::report::esc(url)
        ));
    }
    out.push_str("<table><tbody>\n");
    for (label, value) in [
        ("status", Some(i.status.clone())),
        ("value stream", i.value_stream.clone()),
        ("demand type", i.demand_type.clone()),
        ("development type", i.development_type.clone()),
        ("current gate", i.current_gate.clone()),
        ("next gate due", i.next_gate_due.clone()),
        ("business owner", i.business_owner.clone()),
        (
            "cost of delay",
            i.cost_of_delay
                .map(|c| crate::report::money_in(c, portfolio.currency(&key))),
        ),
        (
            "planned",
            i.planned_start
                .clone()
                .zip(i.planned_end.clone())
                .map(|(a, b)| format!("{a} to {b}")),
        ),
    ] {
        out.push_str(&format!(
            "<tr><th>{label}</th><td>{}</td></tr>\n",
            crate::report::esc(&value.unwrap_or_else(|| "–".into()))
        ));
    }
    out.push_str("</tbody></table>\n");
    let seed = crate::report::forecast_seed(Some(&d.session.config));
    out.push_str(&delivery_section(&portfolio, &key, seed));
    out.push_str("<h2>Open findings</h2>\n");
    // This initiative's only, kept as they are read: not every open finding of the store.
    // A store that cannot give them is the page's error, never "None".
    let mut findings: Vec<tollgate_store::StoredFinding> = Vec::new();
    if let Err(e) = store.each_open_finding(&mut |f| {
        if f.finding.subject.kind == tollgate_dmo::rules::SubjectKind::Initiative
            && f.finding.subject.key == key
        {
            findings.push(f);
        }
    }) {
        return error_response(&e.into());
    }
    if findings.is_empty() {
        out.push_str("<p id=\"findings\">None.</p>\n");
    } else {
        out.push_str("<table id=\"findings\"><thead><tr><th>severity</th><th>rule</th><th>finding</th><th>since</th></tr></thead><tbody>\n");
        for f in &findings {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                f.finding.severity.as_str(),
                crate::report::esc(&f.finding.rule_id),
                crate::report::esc(&f.finding.message),
                // The day; the whole text if it is not a time as the store writes them.
                crate::report::esc(f.first_seen.get(..10).unwrap_or(&f.first_seen))
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    if let Some((row, convention)) = crate::report::business_case_row(&portfolio, &key) {
        out.push_str("<h2>Business case</h2>\n<table><thead><tr>");
        for c in &crate::report::BUSINESS_CASE_COLUMNS[1..] {
            out.push_str(&format!("<th>{}</th>", crate::report::esc(c)));
        }
        out.push_str("</tr></thead><tbody><tr>");
        for cell in &row[1..] {
            out.push_str(&format!("<td>{}</td>", crate::report::esc(cell)));
        }
        let note = crate::report::business_case_note(&convention.into_iter().collect());
        out.push_str(&format!(
            "</tr></tbody></table>\n<p class=\"note\">{}</p>\n",
            crate::report::esc(&note)
        ));
    }
    // The decisions on record and the gates the tracker's history says it entered, by date.
    let mut gates: Vec<_> = portfolio
        .decisions(&key)
        .chain(portfolio.gate_entries(&key))
        .collect();
    gates.sort_by(|a, b| a.date.cmp(&b.date));
    if !gates.is_empty() {
        out.push_str("<h2>Gate decisions</h2>\n<table><thead><tr><th>gate</th><th>decision</th><th>date</th><th>decider</th></tr></thead><tbody>\n");
        for g in gates {
            let decision = if g.decision == tollgate_dmo::model::ENTERED {
                "entered in the tracker (its history)"
            } else {
                g.decision.as_str()
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                crate::report::esc(&g.gate),
                crate::report::esc(decision),
                crate::report::esc(g.date.as_deref().unwrap_or("–")),
                crate::report::esc(g.decider.as_deref().unwrap_or("–"))
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    // The data's freshness, as every page states it.
    if let Ok(fresh) = crate::report::freshness::freshness(store.as_ref(), &d.session.config) {
        if let Some(banner) = crate::report::freshness::stale_banner(&fresh) {
            out.push_str(&format!(
                "<p class=\"banner stale\" role=\"alert\">{}</p>\n",
                crate::report::esc(&banner)
            ));
        }
        let synced: Vec<String> = fresh
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f.connection,
                    f.last_success.as_deref().unwrap_or("never")
                )
            })
            .collect();
        out.push_str(&format!(
            "<p class=\"note\" id=\"freshness\">Last successful sync: {}.</p>\n",
            crate::report::esc(&synced.join(", "))
        ));
    }
    out.push_str("</body></html>\n");
    html_response(StatusCode::OK, out)
}

/// An initiative's delivery progress: its work items by status (with their estimates) and a
/// burn-up over the sprints they were in.
fn delivery_section(p: &tollgate_dmo::rules::Portfolio, key: &str, seed: u64) -> String {
    use crate::report::esc;
    let d = tollgate_dmo::delivery::delivery(p, key);
    let mut out = String::from("<section id=\"delivery\">\n<h2>Delivery progress</h2>\n");
    if d.total() == 0 {
        out.push_str("<p>No work items name this initiative yet.</p>\n</section>\n");
        return out;
    }
    let share = |n: usize| format!("{:.0} %", 100.0 * n as f64 / d.total() as f64);
    out.push_str(&format!(
        "<p class=\"note\">{} of {} work items done ({}); estimates as the tracker keeps them (story points, effort or hours). The burn-up counts, at each sprint's end, the work items created by then (scope) and those resolved by then (done).</p>\n<table id=\"progress\"><thead><tr><th>status</th><th>work items</th><th>share</th><th>estimate</th></tr></thead><tbody>\n",
        d.done.items,
        d.total(),
        share(d.done.items)
    ));
    for (label, c) in [
        ("done", d.done),
        ("in progress", d.in_progress),
        ("to do", d.to_do),
        ("status unknown", d.unknown),
    ] {
        if label == "status unknown" && c.items == 0 {
            continue;
        }
        out.push_str(&format!(
            "<tr><td>{label}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            c.items,
            share(c.items),
            c.estimate + 0.0
        ));
    }
    out.push_str("</tbody></table>\n");
    let today = tollgate_dmo::calendar::day_number(&crate::clock::today()).unwrap_or_default();
    if let Some(f) = tollgate_dmo::forecast::forecast_of(p, key, today, seed) {
        let text = match (&f.p50, &f.p85, &f.no_forecast) {
            (Some(a), Some(b), _) => format!(
                "Forecast: half the simulated runs finish by {a}, 85 % by {b}{}; throughput: {}.",
                match (f.probability_by_planned_end, &f.planned_end) {
                    (Some(c), Some(end)) =>
                        format!("; {:.0} % finish by the planned end ({end})", 100.0 * c),
                    _ => String::new(),
                },
                f.basis
            ),
            (_, _, Some(reason)) => format!("No forecast: {reason}."),
            _ => "No forecast.".into(),
        };
        out.push_str(&format!("<p id=\"forecast\">{}</p>\n", esc(&text)));
    }
    if d.burn_up.is_empty() {
        out.push_str("<p class=\"note\" id=\"burn-up\">No burn-up: none of its work items is in a sprint with an end date.</p>\n");
    } else {
        let chart = crate::report::Chart::Lines {
            title: "Sprint burn-up (work items)".into(),
            categories: d.burn_up.iter().map(|b| b.sprint.clone()).collect(),
            series: vec![
                (
                    "scope".into(),
                    d.burn_up.iter().map(|b| Some(b.scope as f64)).collect(),
                ),
                (
                    "done".into(),
                    d.burn_up.iter().map(|b| Some(b.done as f64)).collect(),
                ),
            ],
        };
        out.push_str(&format!(
            "<figure class=\"chart\" id=\"chart-burn-up\">{}<figcaption>{}</figcaption></figure>\n<table id=\"burn-up\"><thead><tr><th>sprint</th><th>ends</th><th>scope</th><th>done</th></tr></thead><tbody>\n",
            chart.svg(),
            esc(chart.title())
        ));
        for b in &d.burn_up {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                esc(&b.sprint),
                esc(&b.end),
                b.scope,
                b.done
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
    out
}
