//! `/metrics` in the Prometheus text format.

#[allow(unused_imports)]
use super::*;

pub(super) fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(super) async fn metrics(State(d): State<Arc<Daemon>>) -> Response {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    // Freshness per connection, from the store (what the reports and pages state too).
    let fresh = d
        .session
        .store()
        .ok()
        .and_then(|store| {
            crate::report::freshness::freshness(store.as_ref(), &d.session.config).ok()
        })
        .unwrap_or_default();
    family(
        "tollgate_last_successful_sync_timestamp_seconds",
        "gauge",
        "When each connection last synced successfully (Unix time); absent: never.",
        fresh
            .iter()
            .filter_map(|f| {
                let at = chrono::DateTime::parse_from_rfc3339(f.last_success.as_deref()?).ok()?;
                Some((
                    format!("{{connection=\"{}\"}}", escape(&f.connection)),
                    at.timestamp().to_string(),
                ))
            })
            .collect(),
    );
    family(
        "tollgate_sync_stale",
        "gauge",
        "1 when a connection's latest sync failed or it never synced: its data may be old or partial.",
        fresh
            .iter()
            .map(|f| {
                (
                    format!("{{connection=\"{}\"}}", escape(&f.connection)),
                    u8::from(f.is_stale()).to_string(),
                )
            })
            .collect(),
    );
    let m = d.metrics.lock().unwrap();
    family(
        "tollgate_sync_runs_total",
        "counter",
        "Sync runs by connection and outcome.",
        m.runs
            .iter()
            .map(|((c, s), n)| {
                (
                    format!("{{connection=\"{}\",status=\"{}\"}}", escape(c), s),
                    n.to_string(),
                )
            })
            .collect(),
    );
    family(
        "tollgate_sync_run_seconds",
        "summary",
        "Duration of sync runs by connection.",
        m.run_seconds
            .iter()
            .flat_map(|(c, (sum, n))| {
                [
                    (
                        format!("_sum{{connection=\"{}\"}}", escape(c)),
                        format!("{sum:.3}"),
                    ),
                    (
                        format!("_count{{connection=\"{}\"}}", escape(c)),
                        n.to_string(),
                    ),
                ]
            })
            .collect(),
    );
    family(
        "tollgate_records_written_total",
        "counter",
        "Records written by syncs, by connection.",
        m.records
            .iter()
            .map(|(c, n)| (format!("{{connection=\"{}\"}}", escape(c)), n.to_string()))
            .collect(),
    );
    family(
        "tollgate_jobs_total",
        "counter",
        "Job runs by job and outcome.",
        m.jobs
            .iter()
            .map(|((j, o), n)| {
                (
                    format!("{{job=\"{}\",outcome=\"{o}\"}}", escape(j)),
                    n.to_string(),
                )
            })
            .collect(),
    );
    family(
        "tollgate_jobs_skipped_total",
        "counter",
        "Scheduled runs skipped because the previous run of the job was still going.",
        d.jobs
            .iter()
            .map(|j| {
                (
                    format!("{{job=\"{}\"}}", escape(&j.name)),
                    m.skipped.get(&j.name).copied().unwrap_or(0).to_string(),
                )
            })
            .collect(),
    );
    family(
        "tollgate_jobs_claimed_elsewhere_total",
        "counter",
        "Scheduled runs another instance on the same store claimed, so this one did not run them.",
        d.jobs
            .iter()
            .map(|j| {
                (
                    format!("{{job=\"{}\"}}", escape(&j.name)),
                    m.elsewhere.get(&j.name).copied().unwrap_or(0).to_string(),
                )
            })
            .collect(),
    );
    family(
        "tollgate_sync_skipped_total",
        "counter",
        "Syncs a job left to another job that was syncing the connection; it waited for that sync to end and took its outcome.",
        m.sync_skipped
            .iter()
            .map(|(c, n)| (format!("{{connection=\"{}\"}}", escape(c)), n.to_string()))
            .collect(),
    );
    family(
        "tollgate_job_panics_total",
        "counter",
        "Jobs whose code panicked (also counted as failed).",
        vec![(String::new(), m.panics.to_string())],
    );
    family(
        "tollgate_http_connections_refused_total",
        "counter",
        "HTTP connections closed on arrival because daemon.max_connections were open.",
        vec![(String::new(), m.connections_refused.to_string())],
    );
    drop(m);
    let s = d.session.runtime.stats();
    for (name, help, value) in [
        (
            "tollgate_plugin_calls_total",
            "Plugin calls that returned.",
            s.calls.get(),
        ),
        (
            "tollgate_plugin_traps_total",
            "Plugin calls that trapped.",
            s.traps.get(),
        ),
        (
            "tollgate_plugin_timeouts_total",
            "Plugin calls stopped by the wall clock.",
            s.timeouts.get(),
        ),
        (
            "tollgate_upstream_retries_total",
            "Upstream requests sent again after 429, 503 or a dropped connection.",
            s.http_retries.get(),
        ),
        (
            "tollgate_rate_limit_waits_total",
            "Waits because an upstream answered 429.",
            s.rate_limit_waits.get(),
        ),
        (
            "tollgate_upstream_shared_total",
            "GETs answered with the answer of the same GET in flight on the connection, not sent again.",
            s.http_shared.get(),
        ),
        (
            "tollgate_upstream_denied_total",
            "Plugin requests the host refused.",
            s.http_denied.get(),
        ),
        (
            "tollgate_credential_echoes_total",
            "Upstream answers that contained a connection's credential, redacted before the plugin saw them.",
            s.credential_echoes.get(),
        ),
        (
            "tollgate_plugin_output_refused_total",
            "Plugin answers refused for breaking a cap (records, diagnostics, cursor size).",
            s.output_refused.get(),
        ),
    ] {
        family(
            name,
            "counter",
            help,
            vec![(String::new(), value.to_string())],
        );
    }
    family(
        "tollgate_upstream_requests_total",
        "counter",
        "Upstream HTTP requests by connection and status (0: no answer).",
        s.upstream_by_status()
            .into_iter()
            .map(|((c, st), n)| {
                (
                    format!("{{connection=\"{}\",status=\"{st}\"}}", escape(&c)),
                    n.to_string(),
                )
            })
            .collect(),
    );
    family(
        "tollgate_uptime_seconds",
        "gauge",
        "Seconds since tollgate run started.",
        vec![(
            String::new(),
            format!("{:.0}", d.started.elapsed().as_secs_f64()),
        )],
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
