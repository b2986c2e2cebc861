//! `tollgate bench`: the pipeline against the sandbox's synthetic Jira site (or Azure DevOps
//! organisation, `--tracker`) at two sizes, each step beside the true download floor (#20).
//! The sandbox and every step run as child processes of this binary, so each step's wall
//! clock, CPU and peak memory are its own (CPU from `wait4`; the peak memory the step writes
//! itself as it ends, `VmHWM` through `TOLLGATE_PEAK_MEMORY_FILE`, since `wait4`'s counts the
//! bench's own as the child's start), and the sandbox's CPU is read from /proc apart from the
//! client's.

use crate::error::Error;
use anyhow::{Context as _, anyhow};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `tollgate bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Sizes of the sandbox's synthetic site, in epics. On Jira each epic has 10 issues with
    /// 10 worklogs each, so 10000 is 110,000 issues and 1,000,000 worklogs; on Azure DevOps
    /// each epic has a feature, four user stories and five tasks, one of them with two days of
    /// Completed Work, so 10000 is 110,000 work items and 20,000 time entries.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub sizes: Vec<usize>,
    /// Round trips to measure at, in milliseconds each request waits (±25 %): 0 is the
    /// loopback, 150 a tracker across the internet.
    #[arg(long, value_delimiter = ',', default_value = "0,150")]
    pub latency: Vec<u64>,
    /// Where the stores, configs and logs go (kept afterwards); default a new directory
    /// under the system's temporary directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Also write the results (Markdown) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Requests kept in flight: by the floor client, and by the steps' connection (its
    /// `max_concurrent_requests`); the default is the runtime's.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,
    /// The store the steps write to, e.g. `postgres://tollgate@localhost/bench` (its rows are
    /// deleted before each size); default a new SQLite file per size in `--dir`. `env:NAME`
    /// reads the URL from the environment variable NAME.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The tracker the steps sync from: the sandbox's Jira Cloud site (the jira plugin) or its
    /// Azure DevOps organisation (the azure-devops plugin).
    #[arg(long, value_enum, default_value_t = Tracker::Jira)]
    pub tracker: Tracker,
}

/// The sandbox's tracker a bench syncs from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tracker {
    /// Jira Cloud, through the jira plugin.
    Jira,
    /// Azure DevOps Services, through the azure-devops plugin.
    AzureDevops,
}

impl Tracker {
    /// What a size holds, as a row names it.
    fn size_label(self, epics: usize) -> String {
        let epics = epics as u64;
        match self {
            Tracker::Jira => format!(
                "{} issues, {} worklogs",
                thousands(epics * 11),
                thousands(epics * 100)
            ),
            Tracker::AzureDevops => format!(
                "{} work items, {} time entries",
                thousands(epics * 11),
                thousands(epics * 2)
            ),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tracker::Jira => "Jira Cloud",
            Tracker::AzureDevops => "Azure DevOps",
        }
    }
}

/// What every size of a run shares.
#[derive(Clone, Copy)]
struct Setup<'a> {
    concurrency: u64,
    store: Option<&'a str>,
    tracker: Tracker,
}

/// What the sandbox had served at a moment: requests, and seconds in flight in all.
#[derive(Debug, Clone, Copy)]
struct Served {
    requests: u64,
    busy: f64,
}

impl std::ops::Sub for Served {
    type Output = Served;
    fn sub(self, before: Served) -> Served {
        Served {
            requests: self.requests.saturating_sub(before.requests),
            busy: (self.busy - before.busy).max(0.0),
        }
    }
}

/// One measured step.
#[derive(Debug, Clone)]
struct Row {
    size: usize,
    latency: u64,
    step: &'static str,
    wall: Duration,
    cpu: Duration,
    rss_kib: Option<u64>,
    requests: u64,
    /// Seconds the step's requests were in flight in all, latency included.
    busy: f64,
    records: Option<u64>,
    sandbox_cpu: Duration,
    /// Why the step failed (it is measured all the same, and the run goes on).
    failure: Option<String>,
}

/// Run the benchmark and print the table.
pub async fn run(args: BenchArgs) -> Result<(), Error> {
    if !cfg!(target_os = "linux") {
        return Err(Error::usage(anyhow!(
            "tollgate bench reads each step's CPU and memory from Linux (wait4, /proc)"
        )));
    }
    let max = tollgate_sandbox::MAX_SYNTHETIC_EPICS;
    if args.sizes.is_empty() || args.sizes.iter().any(|&n| n == 0 || n > max) {
        return Err(Error::usage(anyhow!(
            "--sizes: give epic counts from 1 to {max}, e.g. 1000,10000"
        )));
    }
    if args.latency.is_empty() || args.latency.iter().any(|&ms| ms > 60_000) {
        return Err(Error::usage(anyhow!(
            "--latency: give milliseconds from 0 to 60000, e.g. 0,150"
        )));
    }
    let exe = std::env::current_exe().context("cannot find the tollgate executable")?;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("tollgate-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // The steps run inside it, so every path handed to them is absolute.
    let dir = std::path::absolute(&dir)?;
    eprintln!("bench: working in {}", dir.display());
    let store = match &args.store {
        Some(url) => Some(super::migrate::resolve("store", url)?),
        None => None,
    };
    if let Some(url) = &store {
        tollgate_store::check_url(url).map_err(|e| Error::usage(anyhow!("--store: {e}")))?;
    }
    let setup = Setup {
        concurrency: args.concurrency,
        store: store.as_deref(),
        tracker: args.tracker,
    };
    let mut rows = Vec::new();
    for &latency in &args.latency {
        for &size in &args.sizes {
            let work = dir.join(format!("n{size}-l{latency}"));
            rows.extend(one_size(&exe, &work, size, latency, setup).await?);
        }
    }
    let label = store
        .as_deref()
        .map_or_else(|| "SQLite".to_string(), tollgate_store::redact_url);
    let table = format!(
        "\nTracker: the sandbox's {}\nStore: {label}\n{}",
        args.tracker.name(),
        markdown(&rows, setup)
    );
    print!("{table}");
    if let Some(out) = &args.out {
        std::fs::write(out, &table).with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}

async fn one_size(
    exe: &Path,
    work: &Path,
    size: usize,
    latency: u64,
    setup: Setup<'_>,
) -> Result<Vec<Row>, Error> {
    if work.exists() {
        std::fs::remove_dir_all(work)
            .with_context(|| format!("cannot clear {}", work.display()))?;
    }
    std::fs::create_dir_all(work.join("secrets"))?;
    let started = Instant::now();
    let mut sandbox = Sandbox::start(exe, work, size, latency)?;
    eprintln!(
        "bench: synthetic:{size} at {latency} ms: sandbox ready in {:.1} s ({} MiB)",
        started.elapsed().as_secs_f64(),
        sandbox.rss_kib().unwrap_or(0) / 1024
    );
    let result = steps(exe, work, size, latency, setup, &mut sandbox).await;
    sandbox.stop();
    result
}

async fn steps(
    exe: &Path,
    work: &Path,
    size: usize,
    latency: u64,
    setup: Setup<'_>,
    sandbox: &mut Sandbox,
) -> Result<Vec<Row>, Error> {
    let Setup {
        concurrency,
        store,
        tracker,
    } = setup;
    // A shared store starts each size empty, as a new SQLite file does. The steps get its
    // URL in their environment (`TOLLGATE_STORE__URL`), so no password is written to a file.
    if let Some(url) = store {
        tokio::task::block_in_place(|| tollgate_store::open(url, work)?.clear())?;
    }
    let base = match tracker {
        Tracker::Jira => format!("http://{}/jira-cloud", sandbox.addr),
        Tracker::AzureDevops => format!("http://{}/ado", sandbox.addr),
    };
    let (token, connection) = match tracker {
        Tracker::Jira => (
            tollgate_sandbox::JIRA_CLOUD_TOKEN,
            format!(
                "[connections.jira]\nplugin = \"jira\"\nbase_url = \"{base}\"\nauth = {{ kind = \"basic\", user = \"{}\", token_file = \"secrets/token\" }}\nsettings = {{ deployment = \"cloud\", project = \"SYN\" }}\n\n[connections.jira.limits]\nmax_concurrent_requests = {concurrency}\n",
                tollgate_sandbox::JIRA_CLOUD_USER
            ),
        ),
        Tracker::AzureDevops => (
            tollgate_sandbox::ADO_TOKEN,
            format!(
                "[connections.azure-devops]\nplugin = \"azure-devops\"\nbase_url = \"{base}\"\nauth = {{ kind = \"basic\", user = \"\", token_file = \"secrets/token\" }}\nsettings = {{ organization = \"{}\", project = \"{}\" }}\n\n[connections.azure-devops.limits]\nmax_concurrent_requests = {concurrency}\n",
                tollgate_sandbox::ADO_ORGANIZATION,
                tollgate_sandbox::ADO_PROJECT
            ),
        ),
    };
    std::fs::write(work.join("secrets/token"), token)?;
    let config = work.join("tollgate.toml");
    std::fs::write(&config, connection)?;
    // Compile (or load from the cache) the plugin once, outside the measurements.
    let warm = tokio::task::block_in_place(|| {
        child(exe, &config, &["plugins", "list"], work, "warm-up", store)
    })?;
    if let Some(failure) = warm.failure {
        return Err(anyhow!("{failure}").into());
    }
    let client = reqwest::Client::new();
    let mut rows = Vec::new();
    let mut push = |r: Row| {
        eprintln!(
            "bench: synthetic:{size} at {latency} ms: {}: {:.2} s, {} requests",
            r.step,
            r.wall.as_secs_f64(),
            r.requests
        );
        rows.push(r);
    };

    // The floor: every record fetched once, nothing parsed but the cursors.
    let (before, cpu_before, self_before) =
        (sandbox.requests(&client).await?, sandbox.cpu(), own_cpu());
    let started = Instant::now();
    let records = match tracker {
        Tracker::Jira => jira_floor(&client, &base, concurrency as usize).await?,
        Tracker::AzureDevops => ado_floor(&client, &base, concurrency as usize).await?,
    };
    let wall = started.elapsed();
    let served = sandbox.requests(&client).await? - before;
    push(Row {
        size,
        latency,
        step: "floor (download only)",
        wall,
        cpu: own_cpu().saturating_sub(self_before),
        rss_kib: None,
        requests: served.requests,
        busy: served.busy,
        records: Some(records),
        sandbox_cpu: sandbox.cpu().saturating_sub(cpu_before),
        failure: None,
    });

    for (step, args) in [
        ("full sync", vec!["sync", "--full"]),
        ("incremental sync, 1 % changed", vec!["sync"]),
        ("check", vec!["check", "--format", "json"]),
        (
            "report (steering, HTML)",
            vec!["report", "--format", "html", "--out", "steering.html"],
        ),
        ("publish --dry-run", vec!["publish", "--dry-run"]),
    ] {
        if step.starts_with("incremental") {
            sandbox.change(&client, 0.01).await?;
        }
        let before = sandbox.requests(&client).await?;
        let cpu_before = sandbox.cpu();
        let m = tokio::task::block_in_place(|| child(exe, &config, &args, work, step, store))?;
        let served = sandbox.requests(&client).await? - before;
        push(Row {
            size,
            latency,
            step,
            wall: m.wall,
            cpu: m.cpu,
            rss_kib: Some(m.rss_kib),
            requests: served.requests,
            busy: served.busy,
            records: step
                .contains("sync")
                .then(|| synced_records(&m.stdout))
                .flatten(),
            sandbox_cpu: sandbox.cpu().saturating_sub(cpu_before),
            failure: m.failure,
        });
    }
    Ok(rows)
}

/// The records a `sync` printed (its table's records column, summed).
fn synced_records(stdout: &str) -> Option<u64> {
    let mut total = None;
    for line in stdout.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // connection  stream  mode  pages  records  ...
        if cols.len() >= 5
            && matches!(cols[2], "full" | "incremental")
            && let Ok(n) = cols[4].parse::<u64>()
        {
            total = Some(total.unwrap_or(0) + n);
        }
    }
    total
}

/// The floor's requests: `concurrency` in flight in all, first come first served, each with
/// the tracker's credentials; an answer that is not a success is an error.
#[derive(Clone)]
struct FloorClient {
    client: reqwest::Client,
    auth: String,
    permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl FloorClient {
    fn new(client: &reqwest::Client, user: &str, token: &str, concurrency: usize) -> FloorClient {
        use base64::Engine as _;
        FloorClient {
            client: client.clone(),
            auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
            ),
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
        }
    }

    /// GET `url`, or POST `body` (JSON) to it; the answer's bytes.
    fn send(
        &self,
        url: String,
        body: Option<String>,
    ) -> impl std::future::Future<Output = anyhow::Result<axum::body::Bytes>> + Send + 'static {
        let this = self.clone();
        async move {
            let _permit = this.permits.acquire().await.map_err(|e| anyhow!("{e}"))?;
            let request = match body {
                None => this.client.get(&url),
                Some(b) => this
                    .client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(b),
            };
            let response = request
                .header("authorization", &this.auth)
                .send()
                .await
                .with_context(|| format!("floor: {url}"))?;
            let status = response.status();
            let bytes = response.bytes().await?;
            if !status.is_success() {
                return Err(anyhow!("floor: {url} answered {status}"));
            }
            Ok(bytes)
        }
    }
}

/// Fetch every issue (the ids in search pages of 5,000, the issues with the fields the plugin
/// reads through bulk fetches of 100) and every worklog (`/worklog/updated`, then
/// `/worklog/list` per 1,000 ids) once. The id pages are one chain (each page names the next);
/// the worklog pages are eight, one a stretch of time, as the plugin reads them; the bulk
/// fetches and the worklog lists run beside them, `concurrency` requests in flight in all.
/// Returns issues + worklogs fetched.
async fn jira_floor(
    client: &reqwest::Client,
    base: &str,
    concurrency: usize,
) -> Result<u64, Error> {
    let floor = FloorClient::new(
        client,
        tollgate_sandbox::JIRA_CLOUD_USER,
        tollgate_sandbox::JIRA_CLOUD_TOKEN,
        concurrency,
    );
    #[derive(serde::Deserialize)]
    struct SearchPage {
        issues: Vec<serde::de::IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    struct Changed {
        values: Vec<ChangedValue>,
        until: i64,
        #[serde(rename = "lastPage")]
        last_page: bool,
    }
    #[derive(serde::Deserialize)]
    struct ChangedValue {
        #[serde(rename = "worklogId")]
        id: u64,
        #[serde(rename = "updatedTime")]
        updated: i64,
    }
    #[derive(serde::Deserialize)]
    struct IdPage {
        #[serde(rename = "nextPageToken")]
        next: Option<String>,
        issues: Vec<IssueId>,
    }
    #[derive(serde::Deserialize)]
    struct IssueId {
        id: String,
    }
    // Issues the way Atlassian advises for throughput: the ids in pages of 5,000 (one chain),
    // the issues themselves 100 a bulk fetch, side by side.
    let issues = async {
        let mut fetches = tokio::task::JoinSet::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = serde_json::json!({
                "jql": "project = SYN ORDER BY key",
                "fields": ["id"],
                "maxResults": 5000,
            });
            if let Some(t) = &token {
                body["nextPageToken"] = serde_json::json!(t);
            }
            let url = format!("{base}/rest/api/3/search/jql");
            let page: IdPage =
                serde_json::from_slice(&floor.send(url, Some(body.to_string())).await?)?;
            for chunk in page.issues.chunks(100) {
                let ids: Vec<&str> = chunk.iter().map(|i| i.id.as_str()).collect();
                let body = serde_json::json!({
                    "issueIdsOrKeys": ids,
                    "fields": ["summary", "status", "issuetype", "parent", "created", "updated", "assignee", "labels"],
                });
                let fetch = floor.send(
                    format!("{base}/rest/api/3/issue/bulkfetch"),
                    Some(body.to_string()),
                );
                fetches.spawn(async move {
                    let page: SearchPage = serde_json::from_slice(&fetch.await?)?;
                    Ok::<u64, anyhow::Error>(page.issues.len() as u64)
                });
            }
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let mut count = 0;
        while let Some(done) = fetches.join_next().await {
            count += done??;
        }
        Ok::<u64, anyhow::Error>(count)
    };
    // Worklogs the way the plugin reads them: the first `/worklog/updated` page, then the
    // time from there to now in 8 stretches, each a chain of pages, side by side; each page's
    // worklogs listed beside the next pages.
    let lists = std::sync::Mutex::new(tokio::task::JoinSet::new());
    let list = |ids: Vec<u64>| {
        if ids.is_empty() {
            return;
        }
        let body = serde_json::json!({ "ids": ids }).to_string();
        let n = ids.len() as u64;
        let list = floor.send(format!("{base}/rest/api/3/worklog/list"), Some(body));
        lists
            .lock()
            .unwrap()
            .spawn(async move { list.await.map(|_| n) });
    };
    // One stretch: the worklogs saved after `since` and, with `to`, at or before it.
    let stretch = |mut since: i64, to: Option<i64>| {
        let (floor, list) = (&floor, &list);
        async move {
            loop {
                let url = format!("{base}/rest/api/3/worklog/updated?since={since}");
                let page: Changed = serde_json::from_slice(&floor.send(url, None).await?)?;
                let until = page.until.max(since);
                let ids = page
                    .values
                    .iter()
                    .filter(|v| to.is_none_or(|to| v.updated <= to))
                    .map(|v| v.id)
                    .collect::<Vec<_>>();
                let past_end = ids.len() < page.values.len();
                list(ids);
                if page.last_page || until <= since || past_end || to.is_some_and(|to| until >= to)
                {
                    return Ok::<i64, anyhow::Error>(until);
                }
                since = until;
            }
        }
    };
    let worklogs = async {
        let first: Changed = serde_json::from_slice(
            &floor
                .send(format!("{base}/rest/api/3/worklog/updated?since=0"), None)
                .await?,
        )?;
        list(first.values.iter().map(|v| v.id).collect());
        if !first.last_page {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as i64;
            let from = first.until;
            let width = (now - from).max(8) / 8;
            let bounds: Vec<i64> = (0..8).map(|i| from + i * width).collect();
            futures_util::future::try_join_all(
                bounds
                    .iter()
                    .enumerate()
                    .map(|(i, &since)| stretch(since, bounds.get(i + 1).copied())),
            )
            .await?;
        }
        let mut lists = std::mem::take(&mut *lists.lock().unwrap());
        let mut count = 0;
        while let Some(done) = lists.join_next().await {
            count += done??;
        }
        Ok::<u64, anyhow::Error>(count)
    };
    let (issues, worklogs) = tokio::try_join!(issues, worklogs)?;
    Ok(issues + worklogs)
}

/// The fields the azure-devops plugin's work-items stream names in its reads of the items
/// below the epics: its list (plugins/azure-devops/src/work-item-fields.txt) and the Agile
/// process's estimate.
fn ado_item_fields() -> Vec<&'static str> {
    include_str!("../../../../plugins/azure-devops/src/work-item-fields.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .chain(["Microsoft.VSTS.Scheduling.StoryPoints"])
        .collect()
}

/// Fetch every work item (its id from WIQL in pages of 20,000 by id, the service's cap; the
/// items 200 a `workitemsbatch`, as the plugin reads them: epics and risks with their links,
/// the items below them naming the fields the plugin reads, [`ado_item_fields`]) once, and every
/// update of the items with Completed Work (their ids from WIQL the same way; each item's
/// updates 200 a read), which is where Azure Boards keeps the hours spent: there is no other
/// way to read who entered them when. The two id chains run side by side, the batches and
/// update reads beside them as ids come in, `concurrency` requests in flight in all. Returns
/// the work items and the updates fetched.
async fn ado_floor(client: &reqwest::Client, base: &str, concurrency: usize) -> Result<u64, Error> {
    /// WIQL's most results.
    const TOP: usize = 20_000;
    const PER_BATCH: usize = 200;
    const UPDATES_PER_READ: usize = 200;
    let floor = FloorClient::new(client, "", tollgate_sandbox::ADO_TOKEN, concurrency);
    let api = format!(
        "{base}/{}/{}/_apis/wit",
        tollgate_sandbox::ADO_ORGANIZATION,
        tollgate_sandbox::ADO_PROJECT
    );
    #[derive(serde::Deserialize)]
    struct Wiql {
        #[serde(rename = "workItems")]
        work_items: Vec<Ref>,
    }
    #[derive(serde::Deserialize)]
    struct Ref {
        id: u64,
    }
    #[derive(serde::Deserialize)]
    struct Values {
        value: Vec<serde::de::IgnoredAny>,
    }
    // The ids a condition finds, page by page, each page handed to `each` as it comes.
    async fn wiql_ids(
        floor: &FloorClient,
        api: &str,
        condition: &str,
        each: &mut (dyn FnMut(Vec<u64>) + Send),
    ) -> anyhow::Result<()> {
        let mut after = 0;
        loop {
            let query = format!(
                "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND {condition} AND [System.Id] > {after} ORDER BY [System.Id]"
            );
            let body = serde_json::json!({ "query": query }).to_string();
            let url = format!("{api}/wiql?$top={TOP}&timePrecision=true&api-version=7.1");
            let page: Wiql = serde_json::from_slice(&floor.send(url, Some(body)).await?)?;
            let ids: Vec<u64> = page.work_items.iter().map(|r| r.id).collect();
            let full = ids.len() == TOP;
            after = ids.last().copied().unwrap_or(after);
            each(ids);
            if !full {
                return Ok(());
            }
        }
    }
    let reads = std::sync::Mutex::new(tokio::task::JoinSet::new());
    let fields = ado_item_fields();
    let read_items = |ids: Vec<u64>, with_links: bool| {
        for chunk in ids.chunks(PER_BATCH) {
            let mut body = serde_json::json!({ "ids": chunk, "errorPolicy": "omit" });
            if with_links {
                body["$expand"] = "relations".into();
            } else {
                body["fields"] = fields.clone().into();
            }
            let read = floor.send(
                format!("{api}/workitemsbatch?api-version=7.1"),
                Some(body.to_string()),
            );
            reads.lock().unwrap().spawn(async move {
                let page: Values = serde_json::from_slice(&read.await?)?;
                Ok::<u64, anyhow::Error>(page.value.len() as u64)
            });
        }
    };
    let mut read_epics = |ids: Vec<u64>| read_items(ids, true);
    let mut read_below = |ids: Vec<u64>| read_items(ids, false);
    let mut read_updates = |ids: Vec<u64>| {
        for id in ids {
            let (floor, updates) = (floor.clone(), format!("{api}/workItems/{id}/updates"));
            reads.lock().unwrap().spawn(async move {
                let mut count = 0;
                for skip in (0..).step_by(UPDATES_PER_READ) {
                    let url =
                        format!("{updates}?$top={UPDATES_PER_READ}&$skip={skip}&api-version=7.1");
                    let page: Values = serde_json::from_slice(&floor.send(url, None).await?)?;
                    count += page.value.len() as u64;
                    if page.value.len() < UPDATES_PER_READ {
                        break;
                    }
                }
                Ok::<u64, anyhow::Error>(count)
            });
        }
    };
    const EPICS: &str = "[System.WorkItemType] IN ('Epic', 'Risk')";
    let below = EPICS.replace(" IN ", " NOT IN ");
    tokio::try_join!(
        wiql_ids(&floor, &api, EPICS, &mut read_epics),
        wiql_ids(&floor, &api, &below, &mut read_below),
        wiql_ids(
            &floor,
            &api,
            "[Microsoft.VSTS.Scheduling.CompletedWork] > 0",
            &mut read_updates
        ),
    )?;
    let mut reads = std::mem::take(&mut *reads.lock().unwrap());
    let mut count = 0;
    while let Some(done) = reads.join_next().await {
        count += done??;
    }
    Ok(count)
}

/// The sandbox, running as a child process.
struct Sandbox {
    child: Child,
    addr: String,
}

impl Sandbox {
    fn start(exe: &Path, work: &Path, size: usize, latency: u64) -> Result<Sandbox, Error> {
        let mut child = Command::new(exe)
            .args([
                "sandbox",
                "--addr",
                "127.0.0.1:0",
                "--dataset",
                &format!("synthetic:{size}"),
                "--latency",
                &latency.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(work.join("sandbox.log"))?)
            .spawn()
            .context("cannot start the sandbox")?;
        let stdout = child.stdout.take().expect("piped");
        // Read its banner for the address, then keep draining what it prints (a closed pipe
        // would end it at its next line).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("Sandbox trackers on http://") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(600)) {
            Ok(addr) => Ok(Sandbox { child, addr }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(anyhow!(
                    "the sandbox did not listen (see {})",
                    work.join("sandbox.log").display()
                )
                .into())
            }
        }
    }

    /// Tracker requests answered so far, and the seconds they were in flight in all.
    async fn requests(&self, client: &reqwest::Client) -> Result<Served, Error> {
        let body = client
            .get(format!("http://{}/_sandbox/stats", self.addr))
            .send()
            .await
            .context("cannot read the sandbox's stats")?
            .bytes()
            .await?;
        let stats: serde_json::Value = serde_json::from_slice(&body)?;
        match (stats["requests"].as_u64(), stats["busy_seconds"].as_f64()) {
            (Some(requests), Some(busy)) => Ok(Served { requests, busy }),
            _ => Err(
                anyhow!("the sandbox's stats lack the request count or busy time: {stats}").into(),
            ),
        }
    }

    /// Change 1 % of the issues and worklogs, then move the clock past Jira's one-minute
    /// worklog horizon.
    async fn change(&self, client: &reqwest::Client, share: f64) -> Result<(), Error> {
        for url in [
            format!("http://{}/_sandbox/change?share={share}", self.addr),
            format!("http://{}/_sandbox/clock?advance_seconds=120", self.addr),
        ] {
            let response = client.post(&url).send().await?;
            if !response.status().is_success() {
                return Err(anyhow!("{url} answered {}", response.status()).into());
            }
        }
        Ok(())
    }

    /// CPU the sandbox used so far.
    fn cpu(&self) -> Duration {
        proc_cpu(&format!("/proc/{}/stat", self.child.id())).unwrap_or_default()
    }

    fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User + system CPU of a process, from its /proc stat file.
fn proc_cpu(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_millis(ticks * 1000 / hz))
}

/// CPU this process used so far (the floor client runs in it).
fn own_cpu() -> Duration {
    proc_cpu("/proc/self/stat").unwrap_or_default()
}

/// What a child process cost.
struct Measured {
    wall: Duration,
    cpu: Duration,
    rss_kib: u64,
    stdout: String,
    /// The command failed: how, with the last lines it wrote to stderr.
    failure: Option<String>,
}

/// Run `tollgate --config CONFIG ARGS` in `work`, its output in files named after the step,
/// and measure it; a failure of the command is in the result, not an error.
fn child(
    exe: &Path,
    config: &Path,
    args: &[&str],
    work: &Path,
    step: &str,
    store: Option<&str>,
) -> Result<Measured, Error> {
    let name: String = step
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let out_path = work.join(format!("{name}.out"));
    let err_path = work.join(format!("{name}.err"));
    // The step's own peak memory, written by it as it ends (`crate::memory::record_peak`):
    // `wait4`'s counts the bench's own as the child's start.
    let peak_path = work.join(format!("{name}.peak"));
    match std::fs::remove_file(&peak_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(anyhow!("cannot remove {}: {e}", peak_path.display()).into());
        }
        _ => {}
    }
    let started = Instant::now();
    let mut command = Command::new(exe);
    command.env(crate::memory::PEAK_FILE_VAR, &peak_path);
    if let Some(url) = store {
        command.env("TOLLGATE_STORE__URL", url);
    }
    let child = command
        .arg("--config")
        .arg(config)
        .args(args)
        .current_dir(work)
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?)
        .spawn()
        .with_context(|| format!("cannot start `tollgate {}`", args.join(" ")))?;
    let (code, cpu, waited_rss_kib) = wait_with_usage(child)?;
    let wall = started.elapsed();
    let rss_kib = match std::fs::read_to_string(&peak_path)
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
    {
        Some(kib) => kib,
        // A step that failed may have ended before it could tell; its row says it failed.
        None if code != 0 => waited_rss_kib,
        None => {
            return Err(anyhow!(
                "`tollgate {}` ended without writing its peak memory to {}",
                args.join(" "),
                peak_path.display()
            )
            .into());
        }
    };
    let failure = (code != 0).then(|| {
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        let last: Vec<&str> = stderr.lines().rev().take(3).collect();
        format!(
            "`tollgate {}` exited with {code}: {} (all of it in {})",
            args.join(" "),
            last.into_iter().rev().collect::<Vec<_>>().join(" / "),
            err_path.display()
        )
    });
    Ok(Measured {
        wall,
        cpu,
        rss_kib,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        failure,
    })
}

/// Wait for a child and read what it used: exit code, user + system CPU, peak resident KiB
/// (the larger of its own and that of the process that started it, as it was then).
fn wait_with_usage(child: Child) -> Result<(i32, Duration, u64), Error> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data, zero is a valid value of it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own child, not yet reaped; the pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(anyhow!("cannot wait for the child process: {e}").into());
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok((
        code,
        time(usage.ru_utime) + time(usage.ru_stime),
        usage.ru_maxrss as u64,
    ))
}

/// The results as Markdown: one table per latency, the sizes beside each other.
fn markdown(rows: &[Row], setup: Setup<'_>) -> String {
    let concurrency = setup.concurrency;
    let mut out = String::new();
    let mut latencies: Vec<u64> = rows.iter().map(|r| r.latency).collect();
    latencies.dedup();
    for latency in latencies {
        out.push_str(&format!(
            "\n### Latency {latency} ms (±25 %)\n\n| size | step | wall | CPU | peak RSS | requests | records | records/s | against | sandbox CPU / wall | request slots busy |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
        ));
        for r in rows.iter().filter(|r| r.latency == latency) {
            let floor = rows
                .iter()
                .find(|f| f.size == r.size && f.latency == latency && f.step.starts_with("floor"));
            let full = rows
                .iter()
                .find(|f| f.size == r.size && f.latency == latency && f.step == "full sync");
            let share = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
            // The sync against the floor; the incremental sync against the full one.
            let ratio = match (r.step, floor, full) {
                ("full sync", Some(f), _) | ("floor (download only)", Some(f), _) => format!(
                    "{:.2} × floor",
                    share(r.wall.as_secs_f64(), f.wall.as_secs_f64())
                ),
                (step, _, Some(f)) if step.starts_with("incremental") => format!(
                    "{:.1} % of full (requests {:.1} %)",
                    100.0 * share(r.wall.as_secs_f64(), f.wall.as_secs_f64()),
                    100.0 * share(r.requests as f64, f.requests as f64)
                ),
                _ => "—".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {:.2} s | {:.2} s | {} | {} | {} | {} | {} | {:.0} % | {} |\n",
                setup.tracker.size_label(r.size),
                if r.failure.is_some() {
                    format!("{} — **failed**", r.step)
                } else {
                    r.step.to_string()
                },
                r.wall.as_secs_f64(),
                r.cpu.as_secs_f64(),
                r.rss_kib
                    .map(|k| format!("{} MiB", k / 1024))
                    .unwrap_or_else(|| "—".into()),
                thousands(r.requests),
                r.records.map(thousands).unwrap_or_else(|| "—".into()),
                r.records
                    .filter(|_| r.wall.as_secs_f64() > 0.0)
                    .map(|n| thousands((n as f64 / r.wall.as_secs_f64()) as u64))
                    .unwrap_or_else(|| "—".into()),
                ratio,
                100.0 * r.sandbox_cpu.as_secs_f64() / r.wall.as_secs_f64().max(1e-9),
                if r.requests == 0 {
                    "—".to_string()
                } else {
                    format!(
                        "{:.0} %",
                        100.0 * r.busy / (r.wall.as_secs_f64() * concurrency as f64).max(1e-9)
                    )
                },
            ));
        }
    }
    for r in rows.iter().filter(|r| r.failure.is_some()) {
        out.push_str(&format!(
            "\nFailed at synthetic:{} and {} ms: {}\n",
            r.size,
            r.latency,
            r.failure.as_deref().unwrap_or_default()
        ));
    }
    out.push_str(&format!(
        "\nThe floor fetches every {} once with {concurrency} requests in flight and parses only the cursors; CPU of the floor is this process's. Each other step is a `tollgate` child process: its own wall clock, CPU (user + system) and peak resident memory; its connection may keep {concurrency} requests in flight too (`max_concurrent_requests`). \"Request slots busy\" is the time the step's requests were in flight (the sandbox's count, latency included) against its wall clock times {concurrency}: how full the client kept its slots.\n",
        match setup.tracker {
            Tracker::Jira => "issue and worklog",
            Tracker::AzureDevops =>
                "work item, and the updates of each with Completed Work (its time entries' history),",
        }
    ));
    out
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
