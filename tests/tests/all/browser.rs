//! The dashboard in a real browser: headless Chromium (Debian's `chromium`), driven through
//! ChromeDriver's WebDriver protocol. `tollgate run` serves the demo portfolio on loopback; the
//! test opens the portfolio (the decision page first), checks every chart was drawn and nothing
//! errored, follows a link to an initiative (its delivery progress and burn-up), filters the
//! portfolio with its form, and saves screenshots of each page in `target/tmp/browser/` (kept
//! as the run's artefacts: portfolio.png opens with the decision page, initiative.png,
//! filtered.png, quarterly-resources.png).
//!
//! `.ci/run` installs `chromium` and `chromium-driver`. Elsewhere, install them the same way,
//! point `CHROMEDRIVER` / `CHROMIUM` at other binaries, or set `TOLLGATE_SKIP_BROWSER=1` to
//! leave this one test out knowingly (it then says so on stderr).

use super::daemon::{free_port, get, start, terminate, wait_exit, wait_until};
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tollgate_host::check::run_checks;

/// The daemon's read token in this test; the browser sends it with every request.
const READ_TOKEN: &str = "browser-read-token-24680";

fn binary(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    path.exists().then_some(path)
}

/// ChromeDriver on a free port, killed on drop.
struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v["value"].clone()
    }
}

/// A WebDriver session of headless Chromium.
struct Browser<'a> {
    driver: &'a Driver,
    session: String,
}

impl Browser<'_> {
    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "url", Some(json!({ "url": url })))
            .await;
        // Navigation returns once the page has loaded, but on a loaded machine ChromeDriver
        // has been seen to answer while a long page was still being parsed (the figures after
        // the first three missing): wait until the document says it is complete.
        let started = std::time::Instant::now();
        while self.script("return document.readyState;").await != "complete" {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "{url} did not finish loading within 60 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}/{path}", self.session), body)
            .await
    }

    async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// The texts of column `column` of the rows of the table `table` (a CSS selector).
    async fn column(&self, table: &str, column: usize) -> Vec<String> {
        self.script(&format!(
            "return [...document.querySelectorAll('{table} tbody tr')].map(r => r.cells[{column}].textContent);"
        ))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
    }

    /// Severe browser console entries (failed loads, script errors) since the last call.
    async fn severe_logs(&self) -> Vec<String> {
        self.call(
            reqwest::Method::POST,
            "se/log",
            Some(json!({ "type": "browser" })),
        )
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
    }

    /// Save a screenshot as PNG; returns its size in bytes.
    async fn screenshot(&self, path: &Path) -> usize {
        let b64 = self.call(reqwest::Method::GET, "screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        std::fs::write(path, &png).unwrap();
        png.len()
    }

    /// What the page says about itself: status, title, charts, broken charts.
    async fn inspect(&self) -> Value {
        self.script(
            r#"
            const nav = performance.getEntriesByType('navigation')[0];
            const charts = [...document.querySelectorAll('figure.chart')].map(f => {
              const svg = f.querySelector('svg');
              const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
              const marks = svg ? svg.querySelectorAll('rect, path, circle, polyline, line').length : 0;
              return {id: f.id, width: box.width, height: box.height, marks: marks};
            });
            return {
              status: nav ? nav.responseStatus : 0,
              title: document.title,
              h1: (document.querySelector('h1') || {}).textContent || '',
              url: location.href,
              charts: charts,
            };
            "#,
        )
        .await
    }
}

/// Every chart drawn: an `<svg>` with a size and something in it.
fn assert_charts(page: &Value, expected: &[&str]) {
    let charts = page["charts"].as_array().unwrap();
    for id in expected {
        let chart = charts
            .iter()
            .find(|c| c["id"] == format!("chart-{id}"))
            .unwrap_or_else(|| panic!("chart {id} missing from {}: {page}", page["url"]));
        assert!(
            chart["width"].as_f64().unwrap() > 100.0 && chart["height"].as_f64().unwrap() > 100.0,
            "chart {id} has no size: {chart}"
        );
        assert!(
            chart["marks"].as_u64().unwrap() > 3,
            "chart {id} is empty: {chart}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_headless_chromium() {
    let (Some(chromedriver), Some(chromium)) = (
        binary("CHROMEDRIVER", "/usr/bin/chromedriver"),
        binary("CHROMIUM", "/usr/bin/chromium"),
    ) else {
        if std::env::var_os("TOLLGATE_SKIP_BROWSER").is_some() {
            eprintln!("TOLLGATE_SKIP_BROWSER is set: the browser test did not run");
            return;
        }
        panic!(
            "the browser test needs Chromium and ChromeDriver: `apt-get install chromium chromium-driver` \
             (as .ci/run does), CHROMIUM/CHROMEDRIVER for other paths, or TOLLGATE_SKIP_BROWSER=1"
        );
    };

    // The demo portfolio, synced and checked, served by `tollgate run`.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (session, _sandbox) = tollgate_tests::demo_synced(
        dir.path(),
        &format!("\n[daemon]\nlisten = \"127.0.0.1:{port}\"\nread_token_file = \"secrets/read.token\"\n\n[reports]\ncapacity_fte = 30.0\n"),
    )
    .await;
    std::fs::write(dir.path().join("secrets/read.token"), READ_TOKEN).unwrap();
    {
        let mut store = session.store().unwrap();
        let today = tollgate_host::clock::today();
        run_checks(&session.config, store.as_mut(), &today).unwrap();
    }
    let base = format!("http://127.0.0.1:{port}");
    let mut daemon = start(dir.path(), false);
    wait_until("the daemon to serve", Duration::from_secs(60), async || {
        get(&format!("{base}/healthz")).await.0 == 200
    })
    .await;

    let driver_port = free_port();
    let driver = Driver {
        child: Command::new(&chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
        base: format!("http://127.0.0.1:{driver_port}"),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap(),
    };
    wait_until("chromedriver", Duration::from_secs(30), async || {
        get(&format!("{}/status", driver.base))
            .await
            .1
            .contains("\"ready\":true")
    })
    .await;
    let profile = tempfile::tempdir().unwrap();
    let created = driver
        .call(
            reqwest::Method::POST,
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    // Root on CI needs --no-sandbox; the closed network needs Chromium to
                    // leave its background connections alone.
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--disable-quic", "--no-first-run",
                        format!("--user-data-dir={}", profile.path().display()),
                        "--window-size=1280,1800",
                    ],
                },
                "goog:loggingPrefs": {"browser": "ALL"},
            }}})),
        )
        .await;
    let browser = Browser {
        driver: &driver,
        session: created["sessionId"].as_str().unwrap().to_string(),
    };
    // Every request of this browser carries the read token (as a reverse proxy would add it).
    browser
        .call(
            reqwest::Method::POST,
            "goog/cdp/execute",
            Some(json!({"cmd": "Network.enable", "params": {}})),
        )
        .await;
    browser
        .call(
            reqwest::Method::POST,
            "goog/cdp/execute",
            Some(json!({"cmd": "Network.setExtraHTTPHeaders", "params": {
                "headers": {"Authorization": format!("Bearer {READ_TOKEN}")}
            }})),
        )
        .await;
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).unwrap();

    // The portfolio: today's steering pack, every chart drawn, nothing errored.
    browser.go(&format!("{base}/")).await;
    let page = browser.inspect().await;
    assert_eq!(page["status"], 200, "{page}");
    assert!(
        page["h1"].as_str().unwrap().starts_with("Steering pack"),
        "{page}"
    );
    assert_charts(
        &page,
        &[
            "value-streams",
            "decision-proposals",
            "resource-heat-map",
            "findings-by-rule",
            "roadmap",
        ],
    );
    // The decision page comes first, as a reader sees it: the first section after the title
    // lists the decisions asked, with blockers; then every initiative's colour.
    let order = browser
        .script(
            r#"return [...document.querySelectorAll('section')].slice(0, 3).map(s => s.id).concat(
                 [...document.querySelectorAll('#decisions tbody tr td:first-child')].map(td => td.textContent));"#,
        )
        .await;
    let order: Vec<&str> = order
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(order[..2], ["decisions", "rag-status"], "{order:?}");
    assert!(
        order.contains(&"gate decision") && order.contains(&"blocker"),
        "{order:?}"
    );
    assert_eq!(browser.severe_logs().await, Vec::<String>::new());
    let size = browser.screenshot(&shots.join("portfolio.png")).await;
    assert!(
        size > 20_000,
        "a screenshot with something on it: {size} bytes"
    );

    // Follow the first link of the decision proposals to its initiative.
    let link = browser
        .call(
            reqwest::Method::POST,
            "element",
            Some(json!({
                "using": "css selector",
                "value": "#decision-proposals a[href^='/initiatives/']",
            })),
        )
        .await;
    let element = link
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .unwrap()
        .to_string();
    let key = browser
        .call(
            reqwest::Method::GET,
            &format!("element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        key, "4106",
        "the highest ranked first: an Azure DevOps epic (WSJF 3.67)"
    );
    browser
        .call(
            reqwest::Method::POST,
            &format!("element/{element}/click"),
            Some(json!({})),
        )
        .await;
    wait_until("the initiative page", Duration::from_secs(30), async || {
        browser.inspect().await["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/initiatives/{key}")))
    })
    .await;
    let page = browser.inspect().await;
    assert_eq!(page["status"], 200, "{page}");
    assert!(page["h1"].as_str().unwrap().starts_with(&key), "{page}");
    let tracker = browser
        .script("return document.querySelector('#tracker-link').href")
        .await;
    assert!(
        tracker
            .as_str()
            .unwrap()
            .ends_with(&format!("/Portfolio/_workitems/edit/{key}")),
        "a link back to the work item in Azure DevOps: {tracker}"
    );
    // Its delivery progress: work items by status, and a burn-up over its sprints.
    let progress = browser.column("#progress", 0).await;
    assert_eq!(progress, ["done", "in progress", "to do"], "{progress:?}");
    assert_charts(&page, &["burn-up"]);
    // Its forecast, or why there is none (no work item of its value stream resolved lately).
    let forecast = browser
        .script("return document.querySelector('#forecast').textContent")
        .await;
    assert!(
        forecast
            .as_str()
            .unwrap()
            .starts_with("No forecast: too little history"),
        "{forecast}"
    );
    assert_eq!(browser.severe_logs().await, Vec::<String>::new());
    let size = browser.screenshot(&shots.join("initiative.png")).await;
    assert!(size > 10_000, "{size} bytes");

    // The filters: one value stream, chosen in the form as a user would.
    browser.go(&format!("{base}/")).await;
    let all_rows = browser
        .script("return document.querySelectorAll('#roadmap tbody tr').length")
        .await
        .as_u64()
        .unwrap();
    browser
        .script("document.querySelector('#filter-value_stream').value = 'Retail banking'")
        .await;
    let button = browser
        .call(
            reqwest::Method::POST,
            "element",
            Some(json!({"using": "css selector", "value": "#filters button"})),
        )
        .await;
    let button = button
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .unwrap()
        .to_string();
    browser
        .call(
            reqwest::Method::POST,
            &format!("element/{button}/click"),
            Some(json!({})),
        )
        .await;
    wait_until("the filtered page", Duration::from_secs(30), async || {
        browser.inspect().await["url"]
            .as_str()
            .is_some_and(|u| u.contains("value_stream=Retail+banking"))
    })
    .await;
    let page = browser.inspect().await;
    assert_eq!(page["status"], 200, "{page}");
    let streams = browser.column("#roadmap", 2).await;
    assert!(
        !streams.is_empty() && (streams.len() as u64) < all_rows,
        "{streams:?} of {all_rows}"
    );
    assert!(streams.iter().all(|s| s == "Retail banking"), "{streams:?}");
    let banner = browser
        .script("return document.querySelector('#filtered').textContent")
        .await;
    assert!(
        banner
            .as_str()
            .unwrap()
            .contains("value stream Retail banking"),
        "{banner}"
    );
    assert_charts(&page, &["roadmap", "decision-proposals"]);
    assert_eq!(browser.severe_logs().await, Vec::<String>::new());
    browser.screenshot(&shots.join("filtered.png")).await;
    // Gate, severity and owner the same way, by address: blockers only leaves red rows.
    browser.go(&format!("{base}/?severity=blocker")).await;
    let colours = browser.column("#rag-status", 2).await;
    assert!(
        !colours.is_empty() && colours.iter().all(|c| c == "red"),
        "{colours:?}"
    );

    // The other views draw their charts too.
    for (path, charts) in [
        (
            "/quarterly",
            &[
                "value-realised",
                "kpi-trends",
                "capacity-demand",
                "investment-mix",
            ][..],
        ),
        ("/resources", &["resource-heat-map", "capacity-demand"][..]),
    ] {
        browser.go(&format!("{base}{path}")).await;
        let page = browser.inspect().await;
        assert_eq!(page["status"], 200, "{path}: {page}");
        assert_charts(&page, charts);
        assert_eq!(browser.severe_logs().await, Vec::<String>::new(), "{path}");
    }
    browser
        .screenshot(&shots.join("quarterly-resources.png"))
        .await;
    // A page that does not exist is an error the browser sees.
    browser.go(&format!("{base}/initiatives/NOPE-1")).await;
    assert_eq!(browser.inspect().await["status"], 404);
    // So is a filter that is not one.
    browser.go(&format!("{base}/?severity=urgent")).await;
    assert_eq!(
        browser.inspect().await["status"],
        400,
        "a bad filter says so"
    );

    driver
        .call(
            reqwest::Method::DELETE,
            &format!("/session/{}", browser.session),
            None,
        )
        .await;
    eprintln!("screenshots in {}", shots.display());
    terminate(&daemon);
    assert!(
        wait_exit(&mut daemon, Duration::from_secs(20))
            .await
            .success()
    );
}
