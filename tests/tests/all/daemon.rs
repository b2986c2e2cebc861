//! `tollgate run` as a real process against the sandbox: schedules, no overlap, SIGTERM and
//! resume, the API's token, metrics.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tollgate_sandbox::Sandbox;
use tollgate_store::RunStatus;
use tollgate_tests::{JiraFace, jira_config};

pub(crate) const TOKEN: &str = "test-api-token-0123456789";

/// A local port free now and never handed out before in this test process: the kernel may
/// give a port just released to the next `bind(0)`, and the tests run side by side, so two of
/// them (or two instances of one) could otherwise be told the same port before either binds
/// it.
pub(crate) fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A config with the sandbox's Jira and a `[daemon]` section; returns the base URL.
fn daemon_config(dir: &Path, sandbox: &Sandbox, jobs: &str) -> String {
    let port = free_port();
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/api.token"), TOKEN).unwrap();
    let extra = format!(
        "\n[daemon]\nlisten = \"127.0.0.1:{port}\"\napi_token_file = \"secrets/api.token\"\ncatch_up_hours = 0\nshutdown_grace_secs = 20\n{jobs}"
    );
    jira_config(dir, sandbox, JiraFace::Cloud, &extra);
    format!("http://127.0.0.1:{port}")
}

pub(crate) fn start(dir: &Path, json_logs: bool) -> tollgate_tests::Running {
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"))
        .arg("run")
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env(
            "TOLLGATE_LOG_FORMAT",
            if json_logs { "json" } else { "text" },
        )
        .env_remove("TOLLGATE_STORE__URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    tollgate_tests::Running(child)
}

/// The command line in `dir`, off the test's runtime threads.
async fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"))
            .args(&args)
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .env_remove("TOLLGATE_STORE__URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

pub(crate) async fn get(url: &str) -> (u16, String) {
    get_within(url, Duration::from_secs(120)).await
}

/// [`get`], given up after `limit` (status 0): a request the server never answers must not
/// hold up a [`wait_until`] loop past its own limit.
pub(crate) async fn get_within(url: &str, limit: Duration) -> (u16, String) {
    let client = reqwest::Client::builder().timeout(limit).build().unwrap();
    match client.get(url).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

async fn post(url: &str, token: Option<&str>) -> u16 {
    post_text(url, token).await.0
}

pub(crate) async fn post_text(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().post(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

pub(crate) async fn wait_until<F: AsyncFnMut() -> bool>(what: &str, limit: Duration, mut f: F) {
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits without blocking the runtime: the sandbox in this process must keep answering.
pub(crate) async fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the daemon did not stop within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The runs of `jira` in the store the config names (none before the store exists).
fn runs(dir: &Path) -> Vec<tollgate_store::RunRecord> {
    let Ok(config) = tollgate_host::config::Config::load(&dir.join("tollgate.toml")) else {
        return Vec::new();
    };
    if config.store.url == "sqlite://tollgate.db" && !dir.join("tollgate.db").exists() {
        return Vec::new();
    }
    match tollgate_store::open(&config.store.url, &config.base_dir) {
        Ok(store) => store.runs(Some("jira"), 1000).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_syncs_never_overlap_and_sigterm_leaves_a_store_that_resumes() {
    let sandbox = Sandbox::start("127.0.0.1:0").await.unwrap();
    // Every answer takes 400 ms: a sync takes seconds, longer than its 2 s interval, and is
    // still going when it is stopped below. (At 120 ms it took 2.4 s once the plugins sent
    // independent requests together, and could end before the signal.)
    sandbox.set_faults(Some("slow=1,slow-ms=400".parse().unwrap()));
    let dir = tempfile::tempdir().unwrap();
    let base = daemon_config(
        dir.path(),
        &sandbox,
        "[daemon.jobs.sync-jira]\nschedule = \"*/2 * * * * *\"\nsteps = [\"sync\", \"check\"]\nconnection = \"jira\"\n\n[daemon.jobs.also-jira]\nschedule = \"1/2 * * * * *\"\nsteps = [\"sync\"]\nconnection = \"jira\"\n",
    );
    let mut child = start(dir.path(), false);
    wait_until("the daemon to serve", Duration::from_secs(60), async || {
        get(&format!("{base}/healthz")).await.0 == 200
    })
    .await;
    // A run starts on schedule; while it works, the next ones are skipped.
    wait_until("a scheduled run", Duration::from_secs(10), async || {
        !runs(dir.path()).is_empty()
    })
    .await;
    // (Whichever of the two jobs holds the connection is the one whose ticks overlap.)
    wait_until("a skipped run", Duration::from_secs(15), async || {
        let (_, text) = get(&format!("{base}/metrics")).await;
        ["sync-jira", "also-jira"].iter().any(|job| {
            metric(
                &text,
                &format!("tollgate_jobs_skipped_total{{job=\"{job}\"}}"),
            )
            .is_some_and(|n| n >= 1.0)
        })
    })
    .await;
    // Two jobs want the same connection: one syncs; the other counts it, waits for that
    // sync to end and takes its outcome, so it never goes on with half the data.
    wait_until(
        "a sync left to the other job",
        Duration::from_secs(15),
        async || {
            let (_, text) = get(&format!("{base}/metrics")).await;
            metric(&text, "tollgate_sync_skipped_total{connection=\"jira\"}")
                .is_some_and(|n| n >= 1.0)
        },
    )
    .await;

    let all = runs(dir.path());
    assert!(
        all.iter()
            .filter(|r| r.status == RunStatus::Running)
            .count()
            <= 1,
        "never two syncs at once: {all:?}"
    );
    // SIGTERM in the middle of a sync: it commits the pages in hand, stops, and the process
    // exits. The signal must find a run with pages still to read: every issue and worklog is
    // changed (and the clock moved past the minute Jira hides) while no run is going, and the
    // signal waits for a run begun after that, under way with a page committed. (Changed
    // while a run was going, the change could be read by that run, leaving the next one a
    // page per stream, over before the signal: seen once in a parallel run.)
    let mut after = None;
    // Under way with a page committed: a signal in the run's first milliseconds, before any
    // page is in hand, rightly commits none (CI saw one 6 ms after the run began).
    wait_until(
        "a sync begun after the change under way with a page committed",
        Duration::from_secs(30),
        async || {
            let all = runs(dir.path());
            if let (Some(after), Some(r)) = (after, all.first())
                && r.id > after
                && r.status == RunStatus::Running
                && r.pages > 0
            {
                return true;
            }
            if after.is_none() && all.iter().all(|r| r.status != RunStatus::Running) {
                let now = sandbox.now_ms();
                sandbox.jira().change_share(1.0, now);
                sandbox.advance_clock(Duration::from_secs(90));
                // A run begun since the look above is among these, and so not waited for.
                after = Some(runs(dir.path()).first().map_or(0, |r| r.id));
            }
            false
        },
    )
    .await;
    let asked = Instant::now();
    terminate(&child);
    let status = wait_exit(&mut child, Duration::from_secs(20)).await;
    assert!(status.success(), "clean exit: {status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "bounded stop: {:?}",
        asked.elapsed()
    );
    let last = runs(dir.path()).remove(0);
    assert_eq!(last.status, RunStatus::Interrupted, "{last:?}");
    assert!(last.pages > 0, "the pages in hand were committed: {last:?}");
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap();
    assert!(
        log.contains("skipped: the previous run is still going"),
        "{log}"
    );
    assert!(
        log.contains("waiting for another job's sync of this connection to end"),
        "{log}"
    );
    assert!(
        log.contains("job{id=job-1"),
        "job lines carry the job id: {log}"
    );
    assert!(!log.contains(TOKEN) && !log.contains(tollgate_sandbox::JIRA_CLOUD_TOKEN));

    // The next run resumes where the stopped one committed its last page.
    sandbox.set_faults(None);
    let out = cli(dir.path(), &["sync", "--connection", "jira"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("(resumed)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_files_no_pack_and_every_answer_says_the_data_is_stale() {
    let sandbox = Sandbox::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = daemon_config(
        dir.path(),
        &sandbox,
        "[sync]\npage_retries = 0\n\n[reports]\nfolder = \"reports\"\n\n[daemon.jobs.nightly]\nschedule = \"*/2 * * * * *\"\nsteps = [\"sync\", \"check\", \"report\"]\n",
    );
    // A healthy sync first, by hand; then every answer of the tracker is `{}`.
    let out = cli(dir.path(), &["sync"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let synced_at = runs(dir.path())[0].finished_at.clone().unwrap();
    sandbox.set_faults(Some("empty=1,max-in-row=1000000".parse().unwrap()));
    let mut child = start(dir.path(), false);
    wait_until("the daemon to serve", Duration::from_secs(60), async || {
        get(&format!("{base}/healthz")).await.0 == 200
    })
    .await;
    let started = Instant::now();
    loop {
        let (_, text) = get(&format!("{base}/metrics")).await;
        if metric(
            &text,
            "tollgate_jobs_total{job=\"nightly\",outcome=\"failed\"}",
        )
        .is_some_and(|n| n >= 1.0)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no failed job: {text}\n{}",
            std::fs::read_to_string(dir.path().join("daemon.log")).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // No pack was filed from it.
    let filed: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(filed.is_empty(), "{filed:?}");
    // The metrics, the API and a report asked for say the data is stale, and since when.
    let (_, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(
        metric(&text, "tollgate_sync_stale{connection=\"jira\"}"),
        Some(1.0)
    );
    let at = chrono::DateTime::parse_from_rfc3339(&synced_at)
        .unwrap()
        .timestamp() as f64;
    assert_eq!(
        metric(
            &text,
            "tollgate_last_successful_sync_timestamp_seconds{connection=\"jira\"}"
        ),
        Some(at)
    );
    let (_, text) = get(&format!("{base}/api/v1/initiatives?limit=1")).await;
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["total"], 25, "nothing stored was lost");
    assert_eq!(doc["freshness"][0]["connection"], "jira");
    assert_eq!(doc["freshness"][0]["stale"], true);
    assert_eq!(
        doc["freshness"][0]["last_successful_sync"],
        synced_at.as_str()
    );
    let (status, text) = post_text(&format!("{base}/api/v1/report/steering"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let banner = doc["stale"].as_str().unwrap_or_else(|| panic!("{doc}"));
    assert!(
        banner.starts_with("Stale data: jira's last sync (")
            && banner.contains(&format!("failed; its data is as of {synced_at}")),
        "{banner}"
    );
    let html = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".html"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .unwrap();
    assert!(html.contains("<p class=\"banner stale\" role=\"alert\">Stale data: jira"));
    assert!(html.contains("<section id=\"data-freshness\">"));
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap();
    assert!(log.contains("step left out: the sync failed"), "{log}");
    // `status` lists the job, how it last ended and when it runs next.
    let out = cli(dir.path(), &["status", "--format", "json"]).await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = &doc["jobs"][0];
    assert_eq!(job["job"], "nightly");
    assert_eq!(job["last_outcome"], "failed", "{doc}");
    let next = chrono::DateTime::parse_from_rfc3339(job["next_run"].as_str().unwrap()).unwrap();
    let last = chrono::DateTime::parse_from_rfc3339(job["last_due"].as_str().unwrap()).unwrap();
    assert!(next > last, "{doc}");
    terminate(&child);
    wait_exit(&mut child, Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_wants_its_token_and_metrics_move_after_a_run() {
    let sandbox = Sandbox::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = daemon_config(
        dir.path(),
        &sandbox,
        "[reports]\nfolder = \"reports\"\nkinds = [\"steering\", \"quarterly\"]\n",
    );
    let mut child = start(dir.path(), true);
    wait_until("the daemon to serve", Duration::from_secs(60), async || {
        get(&format!("{base}/healthz")).await.0 == 200
    })
    .await;
    assert_eq!(get(&format!("{base}/readyz")).await.0, 200);

    // No token, a wrong token: 401, and nothing runs.
    assert_eq!(post(&format!("{base}/api/v1/sync/jira"), None).await, 401);
    assert_eq!(
        post(&format!("{base}/api/v1/sync/jira"), Some("wrong")).await,
        401
    );
    assert_eq!(
        post(&format!("{base}/api/v1/report/steering"), None).await,
        401
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(runs(dir.path()).is_empty());
    assert!(sandbox.requests().is_empty(), "nothing reached the tracker");
    assert_eq!(
        post(&format!("{base}/api/v1/sync/nope"), Some(TOKEN)).await,
        404
    );

    // The right token: the sync runs, then the checks.
    assert_eq!(
        post(&format!("{base}/api/v1/sync/jira"), Some(TOKEN)).await,
        202
    );
    wait_until(
        "the API's sync and checks",
        Duration::from_secs(60),
        async || {
            let (_, text) = get(&format!("{base}/api/v1/findings")).await;
            serde_json::from_str::<serde_json::Value>(&text)
                .is_ok_and(|v| v["total"].as_u64().unwrap_or(0) > 0)
        },
    )
    .await;
    let (status, text) = get(&format!("{base}/api/v1/runs")).await;
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["items"][0]["status"], "ok");
    // The check step's log line (written once the findings are in) counts the open findings
    // the API lists.
    let checks_done = || {
        std::fs::read_to_string(dir.path().join("daemon.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["fields"]["message"] == "checks done")
    };
    wait_until(
        "the check step's log line",
        Duration::from_secs(10),
        async || checks_done().is_some(),
    )
    .await;
    let (_, text) = get(&format!("{base}/api/v1/findings")).await;
    let listed = serde_json::from_str::<serde_json::Value>(&text).unwrap()["total"].as_u64();
    let counted = checks_done().unwrap();
    assert_eq!(counted["fields"]["open"].as_u64(), listed, "{counted}");
    assert!(listed.is_some_and(|n| n > 0));

    let (_, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(
        metric(
            &text,
            "tollgate_sync_runs_total{connection=\"jira\",status=\"ok\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        metric(
            &text,
            "tollgate_upstream_requests_total{connection=\"jira\",status=\"200\"}"
        )
        .unwrap()
            > 10.0
    );
    assert!(metric(&text, "tollgate_records_written_total{connection=\"jira\"}").unwrap() > 4000.0);
    assert!(text.contains("# TYPE tollgate_plugin_traps_total counter"));

    // Paging and filters.
    let (_, text) = get(&format!("{base}/api/v1/initiatives?limit=10&offset=20")).await;
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (
            doc["total"].as_u64(),
            doc["items"].as_array().unwrap().len()
        ),
        (Some(25), 5)
    );
    let (_, text) = get(&format!(
        "{base}/api/v1/initiatives?value_stream=Retail%20banking"
    ))
    .await;
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["total"], 10);
    assert!(
        doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["value_stream"] == "Retail banking")
    );
    let (_, text) = get(&format!("{base}/api/v1/findings?severity=blocker")).await;
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "blocker")
    );
    assert_eq!(
        get(&format!("{base}/api/v1/findings?status=maybe")).await.0,
        400
    );

    // The dashboard: the portfolio links to each initiative, which links back to its epic.
    let (status, page) = get(&format!("{base}/")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Steering pack") && page.contains("href=\"/initiatives/BIZ-12\""),
        "{page}"
    );
    // A browser that takes gzip gets the same page compressed (written so, never held whole).
    for (path, plain) in [
        ("/", page.clone()),
        ("/quarterly", get(&format!("{base}/quarterly")).await.1),
    ] {
        let answer = reqwest::Client::new()
            .get(format!("{base}{path}"))
            .header("accept-encoding", "br;q=1.0, gzip;q=0.8")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(answer.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(answer.headers()["vary"], "accept-encoding", "{path}");
        let packed = answer.bytes().await.unwrap();
        let mut unpacked = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&packed[..]),
            &mut unpacked,
        )
        .unwrap();
        assert!(packed.len() * 3 < unpacked.len(), "{path}: compressed");
        assert_eq!(unpacked, plain, "{path}: the page, byte for byte");
    }
    let refused = reqwest::Client::new()
        .get(format!("{base}/"))
        .header("accept-encoding", "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
    let (status, page) = get(&format!("{base}/initiatives/BIZ-12")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("DEM-001") && page.contains("/jira-cloud/browse/BIZ-12"),
        "{page}"
    );
    assert_eq!(get(&format!("{base}/initiatives/NOPE-1")).await.0, 404);

    // The other dashboard pages answer, with their charts.
    for (path, needle) in [
        ("/quarterly", "id=\"chart-investment-mix\"><svg"),
        (
            "/capitalisation",
            "id=\"chart-capitalisation-by-quarter\"><svg",
        ),
        ("/runs", "<table id=\"runs\">"),
    ] {
        let (status, page) = get(&format!("{base}{path}")).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains(needle), "{path}: {page}");
    }
    // Without a read token, per-person data stays in: the people API and the resources page
    // say why, the portfolio's heat map is left empty, and no finding is about a person.
    for path in ["/resources", "/api/v1/people"] {
        let (status, text) = get(&format!("{base}{path}")).await;
        assert_eq!(status, 403, "{path}");
        assert!(text.contains("daemon.read_token_env"), "{path}: {text}");
    }
    let (_, page) = get(&format!("{base}/")).await;
    assert!(
        !page.contains("id=\"chart-resource-heat-map\"")
            && page.contains("Per-person data is shown only with the daemon's read token"),
        "{page}"
    );
    let (_, text) = get(&format!("{base}/api/v1/findings?limit=1000")).await;
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["subject"]["kind"] != "person"),
        "{doc}"
    );

    // A report on demand: built now, answered as JSON, and written into [reports] folder.
    let (status, text) = post_text(&format!("{base}/api/v1/report/quarterly"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["kind"], "quarterly");
    let written: Vec<String> = doc["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let html = written.iter().find(|p| p.ends_with(".html")).unwrap();
    assert!(
        std::fs::read_to_string(dir.path().join(html))
            .unwrap()
            .contains("Portfolio increment review")
    );
    assert_eq!(
        post(&format!("{base}/api/v1/report/weekly"), Some(TOKEN)).await,
        404
    );

    terminate(&child);
    assert!(
        wait_exit(&mut child, Duration::from_secs(20))
            .await
            .success()
    );
}

/// Headers of a GET, with the read token as a bearer token if given.
async fn get_with(url: &str, auth: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_token_guards_every_page_and_opens_per_person_data() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (session, _sandbox) = tollgate_tests::demo_synced(
        dir.path(),
        &format!(
            "\n[daemon]\nlisten = \"127.0.0.1:{port}\"\nread_token_file = \"secrets/read.token\"\napi_token_file = \"secrets/api.token\"\n"
        ),
    )
    .await;
    std::fs::write(
        dir.path().join("secrets/read.token"),
        "read-token-987654321\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("secrets/api.token"), TOKEN).unwrap();
    {
        let mut store = session.store().unwrap();
        tollgate_host::check::run_checks(&session.config, store.as_mut(), "2026-11-27").unwrap();
    }
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(dir.path(), false);
    wait_until("the daemon to serve", Duration::from_secs(60), async || {
        get(&format!("{base}/healthz")).await.0 == 200
    })
    .await;
    let bearer = "Bearer read-token-987654321";
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("anyone:read-token-987654321")
    );
    for path in [
        "/",
        "/quarterly",
        "/resources",
        "/runs",
        "/initiatives/BIZ-1",
        "/api/v1/initiatives",
        "/api/v1/findings",
        "/api/v1/runs",
        "/api/v1/people",
        "/api/v1/teams",
    ] {
        let r = get_with(&format!("{base}{path}"), None).await;
        assert_eq!(r.status(), 401, "{path} without the token");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic"),
            "a browser can prompt for it"
        );
        assert_eq!(
            get_with(&format!("{base}{path}"), Some("Bearer wrong"))
                .await
                .status(),
            401,
            "{path}"
        );
        assert_eq!(
            get_with(&format!("{base}{path}"), Some(TOKEN))
                .await
                .status(),
            401,
            "{path}: the API token is not the read token"
        );
        let r = get_with(&format!("{base}{path}"), Some(bearer)).await;
        assert_eq!(r.status(), 200, "{path} with the token");
        for h in [
            "content-security-policy",
            "x-content-type-options",
            "x-frame-options",
        ] {
            assert!(r.headers().contains_key(h), "{path}: {h}");
        }
        assert_eq!(
            get_with(&format!("{base}{path}"), Some(&basic))
                .await
                .status(),
            200,
            "{path} by basic auth"
        );
    }
    // Health, readiness and metrics stay open for probes and scrapers.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            get_with(&format!("{base}{path}"), None).await.status(),
            200,
            "{path}"
        );
    }
    // With the token, per-person data is there.
    let text = get_with(&format!("{base}/api/v1/people"), Some(bearer))
        .await
        .text()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["total"], 11, "{doc}");
    let page = get_with(&format!("{base}/"), Some(bearer))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"chart-resource-heat-map\"><svg"),
        "{page}"
    );
    terminate(&child);
    assert!(
        wait_exit(&mut child, Duration::from_secs(20))
            .await
            .success()
    );
}

/// The daemon's open file descriptors (Linux).
fn open_fds(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_and_a_crowd_of_readers_leave_health_answering() {
    use tokio::io::AsyncWriteExt as _;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (_session, _sandbox) = tollgate_tests::demo_synced(
        dir.path(),
        &format!("\n[daemon]\nlisten = \"127.0.0.1:{port}\"\nmax_connections = 32\n"),
    )
    .await;
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(dir.path(), false);
    wait_until("the daemon to serve", Duration::from_secs(60), async || {
        get(&format!("{base}/healthz")).await.0 == 200
    })
    .await;
    let baseline = open_fds(child.id());

    // 500 clients that send half a request and wait (each given up after 5 s: a connection
    // the loaded machine never completes is not what this test is about).
    let mut slow = Vec::new();
    for _ in 0..500 {
        let half_sent = tokio::time::timeout(Duration::from_secs(5), async {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
            Ok::<_, std::io::Error>(s)
        })
        .await;
        if let Ok(Ok(s)) = half_sent {
            slow.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let (Some(before), Some(now)) = (baseline, open_fds(child.id())) {
        assert!(
            now <= before + 40,
            "the server holds at most max_connections: {now} descriptors, {before} before"
        );
    }
    // Health answers again once the header timeout (10 s) has closed the half-sent ones.
    wait_until(
        "/healthz despite half-sent requests",
        Duration::from_secs(30),
        async || {
            get_within(&format!("{base}/healthz"), Duration::from_secs(5))
                .await
                .0
                == 200
        },
    )
    .await;
    drop(slow);

    // A crowd rendering the dashboard does not hold up the health check.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let crowd: Vec<_> = (0..24)
        .map(|_| {
            let c = client.clone();
            let url = format!("{base}/");
            tokio::spawn(async move { c.get(url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("/healthz answers while the dashboard renders");
    assert_eq!(health.status(), 200);
    for r in crowd {
        assert_eq!(r.await.unwrap().unwrap(), 200);
    }
    terminate(&child);
    assert!(
        wait_exit(&mut child, Duration::from_secs(20))
            .await
            .success()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_missed_while_down_runs_once_on_start() {
    // Keep clear of the top of the hour, when the schedule itself would fire.
    let into_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 3600;
    if into_hour > 3540 {
        tokio::time::sleep(Duration::from_secs(3600 - into_hour + 5)).await;
    }
    let sandbox = Sandbox::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Hourly on the hour: the last one was missed (the daemon was not running then).
    let base = daemon_config(
        dir.path(),
        &sandbox,
        "[daemon.jobs.hourly]\nschedule = \"0 0 * * * *\"\nsteps = [\"sync\"]\nconnection = \"jira\"\n",
    );
    let config = dir.path().join("tollgate.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("catch_up_hours = 0", "catch_up_hours = 2");
    std::fs::write(&config, text).unwrap();

    let mut child = start(dir.path(), false);
    wait_until("the caught-up run", Duration::from_secs(60), async || {
        runs(dir.path())
            .first()
            .is_some_and(|r| r.status == RunStatus::Ok)
    })
    .await;
    terminate(&child);
    assert!(
        wait_exit(&mut child, Duration::from_secs(20))
            .await
            .success()
    );
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap();
    assert!(
        log.contains("a run was missed while Tollgate was down"),
        "{log}"
    );

    // Started again within the same hour: that run is done, nothing runs twice.
    let mut child = start(dir.path(), false);
    wait_until("the daemon to serve", Duration::from_secs(60), async || {
        get(&format!("{base}/healthz")).await.0 == 200
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    terminate(&child);
    assert!(
        wait_exit(&mut child, Duration::from_secs(20))
            .await
            .success()
    );
    assert_eq!(runs(dir.path()).len(), 1, "the missed run ran once");
}
