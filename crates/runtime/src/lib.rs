//! The WebAssembly runtime: loads plugin components and calls them under limits.
//!
//! - One [`wasmtime::Engine`] and one [`Linker`] per process; each plugin is compiled once
//!   (cached on disk, see [`cache`]) and type-checked once against the linker
//!   ([`bindings::PluginPre`]).
//! - Every call gets a fresh [`Store`]: nothing survives a call, so a trapped or exhausted
//!   instance is simply dropped and the next call starts clean.
//! - Limits per call: wall-clock timeout (tokio), CPU budget (epochs of 10 ms spent in wasm),
//!   memory cap ([`ResourceLimiter`]), HTTP response cap ([`http`]).
//! - WASI is closed: no sockets, no environment, no files; a plugin that declares a data
//!   directory gets exactly one read-only preopen at `/data`.

#![warn(missing_docs)]

#[allow(missing_docs)]
pub mod bindings;
pub mod cache;
pub mod conversions;
pub mod http;
mod legacy;
pub mod limiter;
pub mod limits;
pub mod registry;
pub mod secret;
pub mod stats;

use bindings::types::{Page, PluginError, PluginInfo, PullRequest, PushOutcome, PushRequest};
use cache::{ArtifactCache, CacheOutcome};
pub use limits::Limits;
pub use registry::{PluginRegistry, RegistryError};
pub use secret::{Credentials, Secret};
use serde::Serialize;
use stats::RuntimeStats;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;
use tollgate_dmo::rules::portfolio::Names;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Length of one epoch tick; the CPU budget is counted in these.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// How much of a plugin's stdout/stderr is kept per call.
const PIPE_CAPACITY: usize = 64 * 1024;
/// Log lines a plugin may emit per call before the host drops the rest.
const MAX_LOG_LINES: u32 = 10_000;
/// Longest log message kept, in bytes.
const MAX_LOG_MESSAGE: usize = 4096;
/// Log bytes (messages and fields) a plugin may emit per call before the host drops the rest.
const MAX_LOG_BYTES: usize = 1 << 20;

/// Caps on what one call may return. A page past one of them is refused whole (nothing of it
/// is stored), so a runaway or hostile plugin cannot fill the host's memory, log or store.
pub mod caps {
    /// Records in one page.
    pub const RECORDS: usize = 50_000;
    /// Deletions in one page.
    pub const DELETIONS: usize = 50_000;
    /// Diagnostics in one page.
    pub const DIAGNOSTICS: usize = 10_000;
    /// Bytes of a cursor or a checkpoint.
    pub const CURSOR_BYTES: usize = 64 * 1024;
    /// Bytes of one text in a diagnostic (message, code, location); longer ones are cut.
    pub const DIAGNOSTIC_TEXT: usize = 4096;
    /// Bytes of a plugin error message; longer ones are cut.
    pub const ERROR_TEXT: usize = 16 * 1024;
}

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "path")]
pub enum PluginSource {
    /// Embedded in the `tollgate` binary.
    BuiltIn,
    /// Loaded from a file.
    File(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::BuiltIn => f.write_str("built-in"),
            PluginSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Why a component could not be loaded as a plugin.
#[derive(Debug, Error)]
pub enum LoadError {
    /// Not WebAssembly at all.
    #[error(
        "{source_name}: not a WebAssembly file (it does not start with the `\\0asm` magic number)"
    )]
    NotWasm {
        /// The file.
        source_name: String,
    },
    /// A core module, not a component.
    #[error(
        "{source_name}: a core WebAssembly module, not a component; build plugins with `cargo build --target wasm32-wasip2` against the tollgate:plugin WIT"
    )]
    CoreModule {
        /// The file.
        source_name: String,
    },
    /// The component does not compile or validate.
    #[error("{source_name}: invalid component: {message}")]
    Invalid {
        /// The file.
        source_name: String,
        /// What wasmtime said.
        message: String,
    },
    /// A component of another world.
    #[error(
        "{source_name}: not a Tollgate plugin: it does not export `{expected}@{supported}` (its exports: {exports})"
    )]
    WrongWorld {
        /// The file.
        source_name: String,
        /// The export looked for.
        expected: String,
        /// The contract version of this host.
        supported: String,
        /// What it exports instead.
        exports: String,
    },
    /// Built against a contract version this host does not speak.
    #[error(
        "{source_name}: built for contract tollgate:plugin@{found}, but this Tollgate supports tollgate:plugin {supported}; rebuild the plugin against crates/plugin-api (contract {current})"
    )]
    WrongContract {
        /// The file.
        source_name: String,
        /// Version the plugin was built for.
        found: String,
        /// The versions this host supports, as people read them (`0.1.x and 0.2.x`).
        supported: String,
        /// The current contract version.
        current: String,
    },
    /// It imports something the host does not provide (e.g. sockets).
    #[error(
        "{source_name}: needs imports Tollgate does not provide (plugins get HTTP only through tollgate:plugin/http): {message}"
    )]
    UnsupportedImport {
        /// The file.
        source_name: String,
        /// What the linker said.
        message: String,
    },
    /// `describe` failed.
    #[error("{source_name}: describe failed: {error}")]
    Describe {
        /// The file.
        source_name: String,
        /// The call error.
        error: Box<CallError>,
    },
}

/// Why a plugin call did not return a value.
#[derive(Debug, Error)]
pub enum CallError {
    /// The plugin returned an error value.
    #[error("{}", plugin_error_text(.0))]
    Plugin(PluginError),
    /// The host refused one or more of the plugin's HTTP requests, and the call failed.
    #[error("the sandbox refused the plugin's request: {}; the call then failed: {cause}", reasons.join("; "))]
    Denied {
        /// Why each request was refused.
        reasons: Vec<String>,
        /// How the call ended.
        cause: Box<CallError>,
    },
    /// The call ran past its wall-clock limit.
    #[error(
        "the plugin call exceeded its time limit of {limit:?} (runtime.limits.timeout_secs) and was stopped"
    )]
    Timeout {
        /// The limit.
        limit: Duration,
    },
    /// The plugin's own code used up its CPU budget.
    #[error(
        "the plugin used up its CPU budget of {limit:?} (runtime.limits.cpu_secs) and was stopped"
    )]
    CpuLimit {
        /// The limit.
        limit: Duration,
    },
    /// The plugin tried to grow its memory past the cap.
    #[error("the plugin exceeded its memory cap of {} MiB (runtime.limits.memory_mib) and was stopped", limit_bytes >> 20)]
    MemoryLimit {
        /// The cap in bytes.
        limit_bytes: usize,
    },
    /// The plugin returned more than the host accepts from one call (see [`caps`]).
    #[error("the plugin's answer was refused: {what}; nothing of it was kept")]
    Output {
        /// Which cap, and by how much.
        what: String,
    },
    /// The plugin trapped: a panic, an `unreachable`, a bug.
    #[error("the plugin crashed: {message}")]
    Trap {
        /// What happened, in one paragraph: the panic message and where, the trap, the
        /// plugin's function (see `describe_trap`).
        message: String,
        /// The tail of what the plugin wrote to stderr (a panic message).
        stderr: String,
    },
}

/// A plugin error value as a sentence.
pub fn plugin_error_text(e: &PluginError) -> String {
    match e {
        PluginError::Config(m) => format!("configuration error: {m}"),
        PluginError::Unauthorized(m) => format!("unauthorized: {m}"),
        PluginError::RateLimited(r) => match r.seconds {
            Some(s) => format!("rate limited (retry after {s} s): {}", r.message),
            None => format!("rate limited: {}", r.message),
        },
        PluginError::Transient(m) => format!("transient error: {m}"),
        PluginError::Remote(m) => format!("remote error: {m}"),
        PluginError::Unsupported(m) => format!("unsupported: {m}"),
        PluginError::Internal(m) => format!("internal plugin error: {m}"),
    }
}

/// What a plugin can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Pull records (`pull`).
    Pull,
    /// Publish findings (`push`).
    Push,
}

impl Capability {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Pull => "pull",
            Capability::Push => "push",
        }
    }
}

/// What `describe` said, in host terms (serialisable for `plugins list --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct PluginDescription {
    /// Stable id.
    pub id: String,
    /// The plugin's own version.
    pub version: String,
    /// One line.
    pub description: String,
    /// What it can do.
    pub capabilities: Vec<Capability>,
    /// Logical connection names it sends HTTP to.
    pub connections: Vec<String>,
    /// Streams it pulls.
    pub streams: Vec<String>,
    /// Whether it reads files from one read-only directory.
    pub data_dir: bool,
    /// JSON Schema of its settings.
    pub settings_schema: serde_json::Value,
}

impl From<PluginInfo> for PluginDescription {
    fn from(i: PluginInfo) -> Self {
        PluginDescription {
            id: i.id,
            version: i.version,
            description: i.description,
            capabilities: i.capabilities.iter().map(|c| (*c).into()).collect(),
            connections: i.connections,
            streams: i.streams,
            data_dir: i.data_dir,
            settings_schema: serde_json::from_str(&i.settings_schema)
                .unwrap_or(serde_json::Value::String(i.settings_schema)),
        }
    }
}

/// A compiled, type-checked plugin, ready to be instantiated for each call. A clone shares the
/// compiled code.
#[derive(Clone)]
pub struct LoadedPlugin {
    /// What it said about itself.
    pub info: PluginDescription,
    /// Where it came from.
    pub source: PluginSource,
    /// The contract version it was built for.
    pub contract: String,
    /// SHA-256 of the component.
    pub sha256: String,
    /// Whether the compiled code came from the cache.
    pub cache: CacheOutcome,
    /// How long loading took (compile or cache read, link, describe).
    pub load_time: Duration,
    /// Whether it imports `records` (asks for the keys of stored records): the host then
    /// gathers them before each stream's pass.
    pub reads_records: bool,
    pre: Pre,
}

/// A plugin type-checked against the bindings of the contract version it was built for.
#[derive(Clone)]
enum Pre {
    Current(bindings::PluginPre<JobState>),
    V0_1(bindings::v0_1::PluginPre<JobState>),
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.info.id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// What a call may reach: the connection it runs for, its endpoints, its directory, limits.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The configured connection name (for logs).
    pub connection: String,
    /// Logical connection name -> endpoint.
    pub endpoints: BTreeMap<String, http::Endpoint>,
    /// The directory mounted read-only at `/data`, for plugins that declare one.
    pub data_dir: Option<PathBuf>,
    /// Limits of each call.
    pub limits: Limits,
    /// What the store holds of the connection, for the plugin's `records` import.
    pub known: KnownView,
    /// Told (set to true) when one of the call's requests is answered with success: the sync
    /// starts a connection's other streams once the site has shown it accepts the credentials
    /// and is not throttling, so that a refusing site is asked once, not once per stream.
    pub answered: Option<Arc<tokio::sync::watch::Sender<bool>>>,
}

impl JobContext {
    /// A context with no network, no files, no stored records and default limits (for
    /// `describe`).
    pub fn isolated(connection: &str) -> JobContext {
        JobContext {
            connection: connection.to_string(),
            endpoints: BTreeMap::new(),
            data_dir: None,
            limits: Limits::default(),
            known: KnownView::default(),
            answered: None,
        }
    }
}

/// Ids past this many in one `records.lookup` call are answered none.
pub const MAX_KEYS_PER_CALL: usize = 10_000;

/// A connection's stored initiatives and work items by kind and external id, with their key
/// and initiative: what a plugin's `records.lookup` import answers from (built by the host
/// before a stream's pass).
///
/// Held for a whole sync run, beside everything else the run holds: at 10,000 epics 110,000
/// records. Their texts lie once each in one buffer ([`Names`]: an initiative's key, which its
/// work items repeat, once) and a record is three numbers, about 60 bytes a record where a
/// map of strings took about 170 (an allocation per string).
#[derive(Debug, Default, Clone)]
pub struct KnownKeys {
    names: Names,
    /// Per kind: (external id, key, initiative) as numbers of `names`.
    by_kind: BTreeMap<tollgate_dmo::model::EntityKind, Known>,
}

/// One kind's records: the numbers of their key and initiative by their external id's.
type Known = std::collections::HashMap<u32, (u32, u32), foldhash::fast::RandomState>;

impl KnownKeys {
    /// From what the store holds.
    pub fn new(entries: impl IntoIterator<Item = tollgate_dmo::model::StoredKey>) -> KnownKeys {
        let mut known = KnownKeys::default();
        for k in entries {
            known.insert(k);
        }
        known
    }

    /// Know `entry` (replacing what was known of its record).
    pub fn insert(&mut self, entry: tollgate_dmo::model::StoredKey) {
        self.insert_ref(entry.as_key_ref());
    }

    /// Know `entry`, borrowed (replacing what was known of its record): as the store reads
    /// its rows (the store's `each_key`).
    pub fn insert_ref(&mut self, entry: tollgate_dmo::model::StoredKeyRef<'_>) {
        let id = self.names.intern(entry.external_id);
        let key = self.names.intern(entry.key);
        let initiative = self.names.intern_opt(entry.initiative_key);
        self.by_kind
            .entry(entry.kind)
            .or_default()
            .insert(id, (key, initiative));
    }

    /// Forget the record of `kind` with `external_id`.
    pub fn remove(&mut self, kind: tollgate_dmo::model::EntityKind, external_id: &str) {
        if let (Some(of_kind), Some(id)) = (self.by_kind.get_mut(&kind), self.names.id(external_id))
        {
            of_kind.remove(&id);
        }
    }

    /// The key and initiative of the record of `kind` with `external_id`, if known.
    pub fn get(
        &self,
        kind: tollgate_dmo::model::EntityKind,
        external_id: &str,
    ) -> Option<(&str, Option<&str>)> {
        let &(key, initiative) = self.by_kind.get(&kind)?.get(&self.names.id(external_id)?)?;
        Some((self.names.text(key), self.names.text_opt(initiative)))
    }

    /// How many records are known.
    pub fn len(&self) -> usize {
        self.by_kind.values().map(|m| m.len()).sum()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How far the streams of a sync run have got, in the plugin's order: what a [`KnownView`]
/// made to wait ([`KnownView::after`]) waits on. The host sends it as streams finish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunProgress {
    /// How many streams, from the first, have finished (drained, failed or stopped) before
    /// the first still running.
    pub finished: usize,
    /// The first stream, in the plugin's order, that failed or was stopped in this run.
    pub first_incomplete: Option<usize>,
}

/// What a plugin's `records.lookup` answers from: the connection's keys as the store holds
/// them, kept up to date by the host as pages commit, shared by the streams of one sync run.
///
/// A stream's view may be made to wait (see [`KnownView::after`]): the host pulls a plugin's
/// streams side by side, and a stream that looks records up first waits until the streams
/// listed before it, which hold the records it refers to, have finished. That wait does not
/// count against the call's time limit. Should one of them have failed or been stopped in
/// this run, what the store holds of its records may be out of date (a story moved to another
/// epic since the store last read it): the view then answers none, and the plugin fetches
/// from the source what it needs (the contract allows a plugin to be told none of any record).
#[derive(Debug, Clone, Default)]
pub struct KnownView {
    keys: Arc<std::sync::Mutex<Arc<KnownKeys>>>,
    /// (the run's progress, how many streams must have finished) before an answer.
    ready: Option<(tokio::sync::watch::Receiver<RunProgress>, usize)>,
}

impl KnownView {
    /// A view of `keys` that never waits.
    pub fn new(keys: KnownKeys) -> KnownView {
        KnownView {
            keys: Arc::new(std::sync::Mutex::new(Arc::new(keys))),
            ready: None,
        }
    }

    /// The same keys, answered once `progress` has counted at least `before` streams
    /// finished in order; answered none if one of those did not complete.
    pub fn after(
        &self,
        progress: tokio::sync::watch::Receiver<RunProgress>,
        before: usize,
    ) -> KnownView {
        KnownView {
            keys: self.keys.clone(),
            ready: (before > 0).then_some((progress, before)),
        }
    }

    /// Change the keys (as the store applied a page); every view sees the change.
    pub fn update(&self, change: impl FnOnce(&mut KnownKeys)) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        change(Arc::make_mut(&mut keys));
    }

    /// The keys now, once this view is ready; none (`None`) if a stream it waited for failed
    /// or was stopped in this run. A sender gone (the run ended) counts as ready.
    async fn current(&self) -> Option<Arc<KnownKeys>> {
        if let Some((progress, before)) = &self.ready {
            let mut progress = progress.clone();
            let _ = progress.wait_for(|p| p.finished >= *before).await;
            let incomplete = progress.borrow().first_incomplete;
            if incomplete.is_some_and(|i| i < *before) {
                return None;
            }
        }
        Some(self.keys.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// Store data of one call.
pub struct JobState {
    known: KnownView,
    /// Where a `pull` tells the next page's cursor before it returns (`paging.next-cursor`):
    /// taken by the first telling, so later ones are ignored; none outside a pull that asked.
    next_cursor: Option<tokio::sync::oneshot::Sender<String>>,
    /// Time the call spent waiting for its `known` view: added to its time limit.
    waited: Arc<WaitClock>,
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryLimiter,
    http: http::HttpCapability,
    cpu_ticks_used: u64,
    cpu_ticks_budget: u64,
    cpu_exhausted: bool,
    log_lines: u32,
    log_bytes: usize,
}

impl WasiView for JobState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and remembers that the cap was hit, so the trap can be named.
struct MemoryLimiter {
    max_bytes: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Err(wasmtime::Error::msg(format!(
                "memory cap of {} MiB reached (asked for {} MiB)",
                self.max_bytes >> 20,
                desired >> 20
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

impl bindings::tollgate::plugin::types::Host for JobState {}

impl bindings::tollgate::plugin::records::Host for JobState {
    async fn lookup(
        &mut self,
        kind: bindings::types::EntityKind,
        external_ids: Vec<String>,
    ) -> Vec<Option<bindings::tollgate::plugin::records::Stored>> {
        let kind = conversions::kind(kind);
        self.waited.start();
        let known = self.known.current().await;
        self.waited.stop();
        external_ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let (key, initiative) = known
                    .as_ref()?
                    .get(kind, id)
                    .filter(|_| i < MAX_KEYS_PER_CALL)?;
                Some(bindings::tollgate::plugin::records::Stored {
                    key: key.to_string(),
                    initiative_key: initiative.map(str::to_string),
                })
            })
            .collect()
    }
}

impl bindings::tollgate::plugin::paging::Host for JobState {
    async fn next_cursor(&mut self, cursor: String) {
        // A cursor past the cap would be refused with its page: not worth a call.
        if cursor.len() <= caps::CURSOR_BYTES
            && let Some(tell) = self.next_cursor.take()
        {
            let _ = tell.send(cursor);
        }
    }
}

impl bindings::tollgate::plugin::http::Host for JobState {
    async fn send(
        &mut self,
        request: bindings::tollgate::plugin::http::Request,
    ) -> Result<
        bindings::tollgate::plugin::http::Response,
        bindings::tollgate::plugin::http::HttpError,
    > {
        self.http.send(request).await
    }

    async fn send_all(
        &mut self,
        requests: Vec<bindings::tollgate::plugin::http::Request>,
    ) -> Vec<
        Result<
            bindings::tollgate::plugin::http::Response,
            bindings::tollgate::plugin::http::HttpError,
        >,
    > {
        self.http.send_all(requests).await
    }
}

impl bindings::tollgate::plugin::log::Host for JobState {
    async fn log(
        &mut self,
        level: bindings::tollgate::plugin::log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) {
        use bindings::tollgate::plugin::log::Level;
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES || self.log_bytes > MAX_LOG_BYTES {
            return;
        }
        let message = cut(&http::printable(&message), MAX_LOG_MESSAGE);
        let fields = fields
            .iter()
            .take(32)
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    cut(&http::printable(k), 128),
                    cut(&http::printable(v), 1024)
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        self.log_bytes += message.len() + fields.len();
        if self.log_lines == MAX_LOG_LINES || self.log_bytes > MAX_LOG_BYTES {
            tracing::warn!(plugin = %self.http.plugin, connection = %self.http.connection, "the plugin logs too much; the rest of this call's log lines are dropped");
        }
        let (plugin, connection) = (&self.http.plugin, &self.http.connection);
        match level {
            Level::Trace => {
                tracing::trace!(plugin = %plugin, connection = %connection, fields = %fields, "{message}")
            }
            Level::Debug => {
                tracing::debug!(plugin = %plugin, connection = %connection, fields = %fields, "{message}")
            }
            Level::Info => {
                tracing::info!(plugin = %plugin, connection = %connection, fields = %fields, "{message}")
            }
            Level::Warn => {
                tracing::warn!(plugin = %plugin, connection = %connection, fields = %fields, "{message}")
            }
            Level::Error => {
                tracing::error!(plugin = %plugin, connection = %connection, fields = %fields, "{message}")
            }
        }
    }
}

/// Increments the engine's epoch every [`EPOCH_TICK`] on a background thread.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("tollgate-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch thread");
        EpochTicker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One call of the connector interface.
enum Call {
    Describe,
    Check(String),
    /// With where to tell the next cursor, if the caller listens.
    Pull(PullRequest, Option<tokio::sync::oneshot::Sender<String>>),
    Push(PushRequest),
}

enum Returned {
    Describe(PluginInfo),
    Check(String),
    Pull(Page),
    Push(Vec<PushOutcome>),
}

/// The plugin runtime of a process. A clone is the same runtime (engine, cache, statistics,
/// the connections' limiters), for a task of its own.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: Arc<Linker<JobState>>,
    cache: Arc<ArtifactCache>,
    client: reqwest::Client,
    stats: Arc<RuntimeStats>,
    limiters: Arc<limiter::Limiters>,
    _ticker: Arc<EpochTicker>,
}

impl Runtime {
    /// A runtime caching compiled plugins in `cache_dir`.
    pub fn new(cache_dir: &Path) -> anyhow::Result<Runtime> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        // `TOLLGATE_WASM_PROFILER=perfmap`: write /tmp/perf-PID.map, so `perf report` names
        // the plugins' functions (with the names their build kept: docs/plugin-authoring.md).
        if std::env::var("TOLLGATE_WASM_PROFILER").is_ok_and(|v| v == "perfmap") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        bindings::v0_1::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        let cache = ArtifactCache::new(cache_dir, &engine).map_err(|e| {
            anyhow::anyhow!(
                "cannot use {} as the plugin cache (runtime.cache_dir): {e}",
                cache_dir.display()
            )
        })?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let ticker = EpochTicker::start(&engine);
        Ok(Runtime {
            engine,
            linker: Arc::new(linker),
            cache: Arc::new(cache),
            client,
            stats: Arc::new(RuntimeStats::default()),
            limiters: Arc::default(),
            _ticker: Arc::new(ticker),
        })
    }

    /// What the runtime has done so far.
    pub fn stats(&self) -> &RuntimeStats {
        &self.stats
    }

    /// Load a component: check it is a plugin of a contract version we speak, compile it (or
    /// take it from the cache), link it, and ask it to describe itself.
    pub async fn load(&self, wasm: &[u8], source: PluginSource) -> Result<LoadedPlugin, LoadError> {
        let sha256 = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(wasm))
        };
        self.load_hashed(wasm, &sha256, source).await
    }

    /// [`Runtime::load`] of a component whose SHA-256 (`sha256`, hex) is known: the bytes are
    /// read only if its compiled code is not in the cache. The built-in plugins' are hashed
    /// when the binary is built; hashing them at each start kept their 2 MB resident for the
    /// life of the process. A wrong hash would name another component's compiled code: give
    /// only a hash made of these bytes.
    pub async fn load_hashed(
        &self,
        wasm: &[u8],
        sha256: &str,
        source: PluginSource,
    ) -> Result<LoadedPlugin, LoadError> {
        let started = Instant::now();
        let source_name = source.to_string();
        // It names a file in the cache: 64 hex digits and nothing else.
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(LoadError::Invalid {
                source_name,
                message: format!("{sha256:?} is not a SHA-256 in hex"),
            });
        }
        if !wasm.starts_with(b"\0asm") || wasm.len() < 8 {
            return Err(LoadError::NotWasm { source_name });
        }
        // Bytes 4..8: version 1 for core modules, 0x0d 0x00 0x01 0x00 for components.
        if wasm[4..8] == [1, 0, 0, 0] {
            return Err(LoadError::CoreModule { source_name });
        }
        let (component, cache) =
            self.cache
                .load(&self.engine, wasm, sha256)
                .map_err(|e| LoadError::Invalid {
                    source_name: source_name.clone(),
                    message: format!("{e:#}"),
                })?;
        let exports: Vec<String> = component
            .component_type()
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let reads_records = component
            .component_type()
            .imports(&self.engine)
            .any(|(name, _)| name.starts_with("tollgate:plugin/records@"));
        let connector = exports
            .iter()
            .find_map(|e| e.strip_prefix(&format!("{}@", bindings::CONNECTOR_EXPORT)));
        let Some(found) = connector else {
            return Err(LoadError::WrongWorld {
                source_name,
                expected: bindings::CONNECTOR_EXPORT.to_string(),
                supported: bindings::contract_version().to_string(),
                exports: if exports.is_empty() {
                    "none".to_string()
                } else {
                    exports.join(", ")
                },
            });
        };
        let Some(version) = bindings::supported_versions()
            .into_iter()
            .find(|v| compatible(found, v))
        else {
            return Err(LoadError::WrongContract {
                source_name,
                found: found.to_string(),
                supported: bindings::supported_versions_text(),
                current: bindings::contract_version().to_string(),
            });
        };
        let contract = found.to_string();
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| LoadError::UnsupportedImport {
                    source_name: source_name.clone(),
                    message: format!("{e:#}"),
                })?;
        let wrong_shape = |e: wasmtime::Error| LoadError::WrongWorld {
            source_name: source_name.clone(),
            expected: bindings::CONNECTOR_EXPORT.to_string(),
            supported: version.to_string(),
            exports: format!("{} ({e:#})", exports.join(", ")),
        };
        let pre = if version == bindings::contract_version() {
            Pre::Current(bindings::PluginPre::new(instance_pre).map_err(wrong_shape)?)
        } else {
            Pre::V0_1(bindings::v0_1::PluginPre::new(instance_pre).map_err(wrong_shape)?)
        };
        let sha256 = sha256.to_string();
        let mut plugin = LoadedPlugin {
            info: PluginDescription {
                id: String::new(),
                version: String::new(),
                description: String::new(),
                capabilities: Vec::new(),
                connections: Vec::new(),
                streams: Vec::new(),
                data_dir: false,
                settings_schema: serde_json::Value::Null,
            },
            source,
            contract,
            sha256,
            cache,
            load_time: Duration::ZERO,
            reads_records,
            pre,
        };
        let info = match self
            .invoke(&plugin, &JobContext::isolated("describe"), Call::Describe)
            .await
        {
            Ok(Returned::Describe(info)) => info,
            Ok(_) => unreachable!("describe returns a description"),
            Err(error) => {
                return Err(LoadError::Describe {
                    source_name,
                    error: Box::new(error),
                });
            }
        };
        plugin.info = info.into();
        plugin.load_time = started.elapsed();
        tracing::debug!(
            plugin = %plugin.info.id,
            source = %plugin.source,
            cache = ?plugin.cache,
            elapsed_ms = plugin.load_time.as_millis() as u64,
            "plugin loaded"
        );
        Ok(plugin)
    }

    /// Check the plugin's settings and reachability.
    pub async fn check(
        &self,
        plugin: &LoadedPlugin,
        ctx: &JobContext,
        settings: &serde_json::Value,
    ) -> Result<String, CallError> {
        match self
            .invoke(plugin, ctx, Call::Check(settings.to_string()))
            .await?
        {
            Returned::Check(r) => Ok(r),
            _ => unreachable!("check returns a check result"),
        }
    }

    /// Pull one page.
    pub async fn pull(
        &self,
        plugin: &LoadedPlugin,
        ctx: &JobContext,
        request: PullRequest,
    ) -> Result<Page, CallError> {
        self.pull_telling(plugin, ctx, request, None).await
    }

    /// Pull one page; `next` is told the page's next cursor if the plugin says it before it
    /// returns (`paging.next-cursor`, contract 0.2.2), so the caller may start the next
    /// page's pull beside the rest of this one. Only a hint: the page's own cursor decides.
    pub async fn pull_telling(
        &self,
        plugin: &LoadedPlugin,
        ctx: &JobContext,
        request: PullRequest,
        next: Option<tokio::sync::oneshot::Sender<String>>,
    ) -> Result<Page, CallError> {
        match self.invoke(plugin, ctx, Call::Pull(request, next)).await? {
            Returned::Pull(r) => Ok(r),
            _ => unreachable!("pull returns a page"),
        }
    }

    /// Publish findings.
    pub async fn push(
        &self,
        plugin: &LoadedPlugin,
        ctx: &JobContext,
        request: PushRequest,
    ) -> Result<Vec<PushOutcome>, CallError> {
        match self.invoke(plugin, ctx, Call::Push(request)).await? {
            Returned::Push(r) => Ok(r),
            _ => unreachable!("push returns outcomes"),
        }
    }

    fn new_store(
        &self,
        plugin: &LoadedPlugin,
        ctx: &JobContext,
    ) -> Result<(Store<JobState>, MemoryOutputPipe, MemoryOutputPipe), CallError> {
        let stdout = MemoryOutputPipe::new(PIPE_CAPACITY);
        let stderr = MemoryOutputPipe::new(PIPE_CAPACITY);
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(stdout.clone()).stderr(stderr.clone());
        if plugin.info.data_dir
            && let Some(dir) = &ctx.data_dir
        {
            wasi.preopened_dir(dir, "/data", FsPerms::ReadOnly)
                .map_err(|e| {
                    CallError::Plugin(PluginError::Config(format!(
                        "cannot open the data directory {}: {e}",
                        dir.display()
                    )))
                })?;
        }
        let limits = ctx.limits;
        let state = JobState {
            known: ctx.known.clone(),
            next_cursor: None,
            waited: Arc::default(),
            wasi: wasi.build(),
            table: ResourceTable::new(),
            memory: MemoryLimiter {
                max_bytes: limits.memory_bytes,
                hit: false,
            },
            http: http::HttpCapability {
                client: self.client.clone(),
                endpoints: ctx.endpoints.clone(),
                response_max_bytes: limits.response_max_bytes,
                request_timeout: limits.http_timeout,
                stats: self.stats.clone(),
                plugin: plugin.info.id.clone(),
                connection: ctx.connection.clone(),
                denials: Default::default(),
                limiter: self.limiters.get(
                    &ctx.connection,
                    limits.max_concurrent_requests,
                    limits.requests_per_second,
                ),
                retries: limits.http_retries,
                max_retry_wait: limits.max_retry_wait,
                answered: ctx.answered.clone(),
            },
            cpu_ticks_used: 0,
            cpu_ticks_budget: (limits.cpu.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64,
            cpu_exhausted: false,
            log_lines: 0,
            log_bytes: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            state.cpu_ticks_used += 1;
            if state.cpu_ticks_used > state.cpu_ticks_budget {
                state.cpu_exhausted = true;
                return Err(wasmtime::Error::msg("CPU budget exhausted"));
            }
            // Yield to tokio at every tick so a busy plugin never starves other tasks and the
            // wall-clock timeout can fire.
            Ok(UpdateDeadline::Yield(1))
        });
        Ok((store, stdout, stderr))
    }

    async fn invoke(
        &self,
        plugin: &LoadedPlugin,
        ctx: &JobContext,
        call: Call,
    ) -> Result<Returned, CallError> {
        let (mut store, stdout, stderr) = self.new_store(plugin, ctx)?;
        let limit = ctx.limits.timeout;
        let waited = store.data().waited.clone();
        let outcome = {
            let store = &mut store;
            let fut = async move {
                Ok::<_, wasmtime::Error>(match &plugin.pre {
                    Pre::Current(pre) => {
                        let instance = pre.instantiate_async(&mut *store).await?;
                        let connector = instance.tollgate_plugin_connector();
                        match call {
                            Call::Describe => Ok(Returned::Describe(
                                connector.call_describe(&mut *store).await?,
                            )),
                            Call::Check(s) => connector
                                .call_check(&mut *store, &s)
                                .await?
                                .map(Returned::Check),
                            Call::Pull(r, next) => {
                                store.data_mut().next_cursor = next;
                                connector
                                    .call_pull(&mut *store, &r)
                                    .await?
                                    .map(Returned::Pull)
                            }
                            Call::Push(r) => connector
                                .call_push(&mut *store, &r)
                                .await?
                                .map(Returned::Push),
                        }
                    }
                    // An older contract: the same calls, their values adapted both ways.
                    Pre::V0_1(pre) => {
                        use legacy::Adapt;
                        let instance = pre.instantiate_async(&mut *store).await?;
                        let connector = instance.tollgate_plugin_connector();
                        match call {
                            Call::Describe => Ok(Returned::Describe(
                                connector.call_describe(&mut *store).await?.adapt(),
                            )),
                            Call::Check(s) => connector
                                .call_check(&mut *store, &s)
                                .await?
                                .map(Returned::Check)
                                .map_err(Adapt::adapt),
                            Call::Pull(r, _) => connector
                                .call_pull(&mut *store, &r.adapt())
                                .await?
                                .map(|p| Returned::Pull(p.adapt()))
                                .map_err(Adapt::adapt),
                            Call::Push(r) => connector
                                .call_push(&mut *store, &r.adapt())
                                .await?
                                .map(|o| Returned::Push(o.adapt()))
                                .map_err(Adapt::adapt),
                        }
                    }
                })
            };
            within(limit, &waited, fut).await
        };
        let state = store.data();
        // A trap's stderr (a panic) goes into the one paragraph that reports it, not the log
        // line by line as well.
        let trapped = matches!(outcome, Ok(Err(_)));
        forward_output(
            &plugin.info.id,
            &ctx.connection,
            &stdout,
            (!trapped).then_some(&stderr),
        );
        let result = match outcome {
            Err(_elapsed) => {
                self.stats.timeouts.inc();
                Err(CallError::Timeout { limit })
            }
            Ok(Err(trap)) => {
                self.stats.traps.inc();
                if state.cpu_exhausted {
                    self.stats.cpu_exhausted.inc();
                    Err(CallError::CpuLimit {
                        limit: ctx.limits.cpu,
                    })
                } else if state.memory.hit {
                    self.stats.memory_exhausted.inc();
                    Err(CallError::MemoryLimit {
                        limit_bytes: ctx.limits.memory_bytes,
                    })
                } else {
                    let raw = tail(&stderr.contents(), 2000);
                    let message = http::printable(&describe_trap(&trap, &raw)).into_owned();
                    Err(CallError::Trap {
                        message,
                        stderr: http::printable(&raw).into_owned(),
                    })
                }
            }
            Ok(Ok(value)) => {
                self.stats.calls.inc();
                match value {
                    Ok(mut returned) => match bound_output(&mut returned) {
                        Ok(()) => Ok(returned),
                        Err(what) => {
                            self.stats.output_refused.inc();
                            Err(CallError::Output { what })
                        }
                    },
                    Err(e) => Err(CallError::Plugin(bound_error(e))),
                }
            }
        };
        // A call that failed after the host refused one of its requests is reported as a
        // refusal: that is the cause a person needs to see.
        let denials = state
            .http
            .denials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let result = match result {
            Err(cause) if !denials.is_empty() => Err(CallError::Denied {
                reasons: denials,
                cause: Box::new(cause),
            }),
            other => other,
        };
        // Every caller reports a failed call itself, with what it was doing (the sync's
        // "stream failed", the command's error, the publish's summary): a warning here too
        // printed each failure twice. Kept at debug, for `-v`.
        if let Err(e) = &result {
            tracing::debug!(plugin = %plugin.info.id, connection = %ctx.connection, error = %e, "plugin call failed");
        }
        result
    }
}

/// The time a call spends waiting for the host rather than working (a look-up waiting for the
/// streams before its own), which its time limit does not count.
#[derive(Debug, Default)]
struct WaitClock(std::sync::Mutex<(Duration, Option<tokio::time::Instant>)>);

impl WaitClock {
    fn lock(&self) -> std::sync::MutexGuard<'_, (Duration, Option<tokio::time::Instant>)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn start(&self) {
        self.lock().1 = Some(tokio::time::Instant::now());
    }

    fn stop(&self) {
        let mut clock = self.lock();
        if let Some(since) = clock.1.take() {
            clock.0 += since.elapsed();
        }
    }

    /// Waited so far, a wait under way included.
    fn waited(&self) -> Duration {
        let clock = self.lock();
        clock.0 + clock.1.map_or(Duration::ZERO, |since| since.elapsed())
    }
}

/// `fut`'s output if it ends within `limit` plus the time it spent waiting for the host
/// (`waits`); `Err(())` if not.
async fn within<T>(
    limit: Duration,
    waits: &WaitClock,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ()> {
    let started = tokio::time::Instant::now();
    let deadline = || started + limit.saturating_add(waits.waited());
    let mut fut = std::pin::pin!(fut);
    let mut at = deadline();
    loop {
        match tokio::time::timeout_at(at, &mut fut).await {
            Ok(out) => return Ok(out),
            Err(_) => {
                let moved = deadline();
                if moved <= at {
                    return Err(());
                }
                // The call waited meanwhile (or waits still): its limit moved on, by at least
                // a tick so that a wait under way is not polled in a busy loop.
                at = moved.max(at + Duration::from_millis(10));
            }
        }
    }
}

/// `text` cut to at most `max` bytes (at a character boundary), marked with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Check a call's answer against [`caps`]: too many records, deletions or diagnostics, or an
/// oversized cursor refuse the answer; long texts in diagnostics are cut and control
/// characters in them escaped, since they end up on terminals and in logs.
fn bound_output(returned: &mut Returned) -> Result<(), String> {
    let page = match returned {
        Returned::Pull(page) => page,
        Returned::Check(line) => {
            *line = cut(&http::printable(line), caps::DIAGNOSTIC_TEXT);
            return Ok(());
        }
        Returned::Describe(_) | Returned::Push(_) => return Ok(()),
    };
    let over = |what: &str, n: usize, cap: usize| {
        (n > cap).then(|| format!("{n} {what} in one page, more than the cap of {cap}"))
    };
    if let Some(e) = over("records", page.records.len(), caps::RECORDS)
        .or_else(|| over("deletions", page.deletions.len(), caps::DELETIONS))
        .or_else(|| over("diagnostics", page.diagnostics.len(), caps::DIAGNOSTICS))
    {
        return Err(e);
    }
    for (what, value) in [
        ("cursor", &page.next_cursor),
        ("checkpoint", &page.checkpoint),
    ] {
        if let Some(v) = value
            && v.len() > caps::CURSOR_BYTES
        {
            return Err(format!(
                "a {what} of {} bytes, more than the cap of {} bytes",
                v.len(),
                caps::CURSOR_BYTES
            ));
        }
    }
    for d in &mut page.diagnostics {
        for text in [&mut d.code, &mut d.message] {
            *text = cut(&http::printable(text), caps::DIAGNOSTIC_TEXT);
        }
        if let Some(l) = &mut d.location {
            *l = cut(&http::printable(l), caps::DIAGNOSTIC_TEXT);
        }
    }
    Ok(())
}

/// A plugin error with its message cut to [`caps::ERROR_TEXT`] and control characters escaped.
fn bound_error(e: PluginError) -> PluginError {
    let b = |m: String| cut(&http::printable(&m), caps::ERROR_TEXT);
    match e {
        PluginError::Config(m) => PluginError::Config(b(m)),
        PluginError::Unauthorized(m) => PluginError::Unauthorized(b(m)),
        PluginError::RateLimited(r) => PluginError::RateLimited(bindings::types::RetryAfter {
            seconds: r.seconds,
            message: b(r.message),
        }),
        PluginError::Transient(m) => PluginError::Transient(b(m)),
        PluginError::Remote(m) => PluginError::Remote(b(m)),
        PluginError::Unsupported(m) => PluginError::Unsupported(b(m)),
        PluginError::Internal(m) => PluginError::Internal(b(m)),
    }
}

/// Whether a plugin built for contract `found` runs on a host of contract `ours`: same major,
/// and while on 0.x the same minor.
pub fn compatible(found: &str, ours: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split(['.', '-', '+']);
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    match (parse(found), parse(ours)) {
        (Some((fmaj, fmin)), Some((omaj, omin))) => fmaj == omaj && (omaj > 0 || fmin == omin),
        _ => false,
    }
}

fn tail(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

/// The plugin's stdout and stderr go to the host log, line by line, control characters
/// escaped.
/// A trap in one paragraph: the panic message and where it was raised (from the plugin's
/// stderr, as Rust's panic handler writes it), else the trap itself; and the plugin's own
/// function, with its file and line when the component carries names and debug information.
/// No host backtrace: it says nothing about the plugin.
fn describe_trap(trap: &wasmtime::Error, stderr: &str) -> String {
    let kind = trap
        .downcast_ref::<wasmtime::Trap>()
        .map(|t| t.to_string())
        .unwrap_or_else(|| trap.root_cause().to_string());
    let kind = kind.lines().next().unwrap_or_default().trim().to_string();
    // "thread '<unnamed>' panicked at src/lib.rs:42:9:\nthe message\nnote: run with ..."
    let mut panic = None;
    let mut lines = stderr.lines();
    while let Some(line) = lines.next() {
        if let Some(at) = line.split(" panicked at ").nth(1) {
            let message: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("note: "))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            panic = Some((at.trim_end_matches(':').to_string(), message.join(" ")));
            break;
        }
    }
    // The first frame of the plugin's own code: not the panic machinery of its standard library.
    let frame = trap
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .and_then(|bt| {
            bt.frames().iter().find_map(|f| {
                let name = f.func_name()?;
                let machinery = [
                    "core::panicking",
                    "std::",
                    "core::",
                    "rust_panic",
                    "__rust",
                    "abort",
                    "panic",
                ]
                .iter()
                .any(|m| name.contains(m));
                if machinery {
                    return None;
                }
                let place = f
                    .symbols()
                    .first()
                    .and_then(|s| Some(format!(" ({}:{})", s.file()?, s.line()?)))
                    .unwrap_or_default();
                Some(format!("{name}{place}"))
            })
        });
    let mut text = match panic {
        Some((at, message)) if !message.is_empty() => format!("{message} (panicked at {at})"),
        Some((at, _)) => format!("a panic at {at}"),
        None => kind.clone(),
    };
    if let Some(f) = frame {
        text.push_str(&format!(", in {f}"));
    }
    if !text.contains(&kind) {
        text.push_str(&format!("; {kind}"));
    }
    text
}

fn forward_output(
    plugin: &str,
    connection: &str,
    stdout: &MemoryOutputPipe,
    stderr: Option<&MemoryOutputPipe>,
) {
    for line in String::from_utf8_lossy(&stdout.contents())
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let line = http::printable(line);
        tracing::info!(plugin = %plugin, connection = %connection, stream = "stdout", "{line}");
    }
    let Some(stderr) = stderr else {
        return;
    };
    for line in String::from_utf8_lossy(&stderr.contents())
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let line = http::printable(line);
        tracing::warn!(plugin = %plugin, connection = %connection, stream = "stderr", "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_answer_what_was_stored_last_by_kind_and_forget_what_was_removed() {
        use tollgate_dmo::model::{EntityKind, StoredKey};
        let key = |kind, id: &str, key: &str, initiative: Option<&str>| StoredKey {
            kind,
            external_id: id.into(),
            key: key.into(),
            initiative_key: initiative.map(Into::into),
        };
        let mut known = KnownKeys::new([
            key(EntityKind::Initiative, "1", "BIZ-1", Some("BIZ-1")),
            key(EntityKind::WorkItem, "2", "BIZ-2", Some("BIZ-1")),
            key(EntityKind::WorkItem, "3", "BIZ-3", None),
            // The same external id under another kind is another record.
            key(EntityKind::WorkItem, "1", "Zoë \"1\"", None),
        ]);
        assert_eq!(known.len(), 4);
        assert_eq!(
            known.get(EntityKind::Initiative, "1"),
            Some(("BIZ-1", Some("BIZ-1")))
        );
        assert_eq!(
            known.get(EntityKind::WorkItem, "1"),
            Some(("Zoë \"1\"", None))
        );
        assert_eq!(
            known.get(EntityKind::WorkItem, "2"),
            Some(("BIZ-2", Some("BIZ-1")))
        );
        assert_eq!(known.get(EntityKind::WorkItem, "9"), None);
        // A key that is some record's external id is not an external id of this kind.
        assert_eq!(known.get(EntityKind::Initiative, "BIZ-1"), None);
        assert_eq!(known.get(EntityKind::Sprint, "1"), None);
        // Stored again: the last one counts; removed: gone, the others stay.
        known.insert(key(EntityKind::WorkItem, "3", "BIZ-3", Some("BIZ-7")));
        known.remove(EntityKind::WorkItem, "2");
        known.remove(EntityKind::WorkItem, "never-known");
        assert_eq!(
            known.get(EntityKind::WorkItem, "3"),
            Some(("BIZ-3", Some("BIZ-7")))
        );
        assert_eq!(known.get(EntityKind::WorkItem, "2"), None);
        assert_eq!(known.len(), 3);
        // Known again after removal.
        known.insert(key(EntityKind::WorkItem, "2", "BIZ-2b", None));
        assert_eq!(known.get(EntityKind::WorkItem, "2"), Some(("BIZ-2b", None)));
        assert!(!known.is_empty() && KnownKeys::default().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_waiting_for_the_host_is_not_timed_out_for_it_but_one_working_is() {
        let limit = Duration::from_millis(100);
        // Works 60 ms, waits 1 s for earlier streams, then works `after`.
        async fn call(waits: &WaitClock, after: Duration) -> &'static str {
            tokio::time::sleep(Duration::from_millis(60)).await;
            waits.start();
            tokio::time::sleep(Duration::from_secs(1)).await;
            waits.stop();
            tokio::time::sleep(after).await;
            "done"
        }
        // 90 ms of work: within its limit.
        let waits = WaitClock::default();
        let patient = call(&waits, Duration::from_millis(30));
        assert_eq!(within(limit, &waits, patient).await, Ok("done"));
        // 150 ms of work: cut off.
        let waits = WaitClock::default();
        let tired = call(&waits, Duration::from_millis(90));
        assert_eq!(within(limit, &waits, tired).await, Err(()));
        // Works 1 s: cut off.
        let slow = tokio::time::sleep(Duration::from_secs(1));
        assert_eq!(within(limit, &WaitClock::default(), slow).await, Err(()));
    }

    #[tokio::test]
    async fn a_view_of_the_known_keys_answers_once_the_streams_before_it_finished_and_none_if_one_failed()
     {
        let view = KnownView::new(KnownKeys::default());
        let (finished, rx) = tokio::sync::watch::channel(RunProgress::default());
        let third = view.after(rx, 2);
        let answer = tokio::spawn(async move { third.current().await.map(|k| k.len()) });
        tokio::task::yield_now().await;
        view.update(|k| {
            k.insert(tollgate_dmo::model::StoredKey {
                kind: tollgate_dmo::model::EntityKind::WorkItem,
                external_id: "10001".into(),
                key: "SYN-1".into(),
                initiative_key: None,
            })
        });
        let progress = |finished, first_incomplete| RunProgress {
            finished,
            first_incomplete,
        };
        finished.send_replace(progress(1, None));
        tokio::task::yield_now().await;
        assert!(
            !answer.is_finished(),
            "answered before the second stream finished"
        );
        finished.send_replace(progress(2, None));
        // Sees what the streams before it stored.
        assert_eq!(answer.await.unwrap(), Some(1));

        // One of the streams before it failed: what the store holds of its records may be
        // out of date, so the view knows none of them; a stream after it that failed does
        // not matter.
        for (first_incomplete, answered) in [(Some(0), None), (Some(1), None), (Some(2), Some(1))] {
            let (finished, rx) = tokio::sync::watch::channel(RunProgress::default());
            finished.send_replace(progress(2, first_incomplete));
            assert_eq!(
                view.after(rx, 2).current().await.map(|k| k.len()),
                answered,
                "{first_incomplete:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_component_hash_that_is_not_one_names_no_cache_file() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = Runtime::new(dir.path()).unwrap();
        let wasm = wat::parse_str("(component)").unwrap();
        for hash in ["../../../etc/passwd", "", &"g".repeat(64), &"a".repeat(63)] {
            let Err(e) = runtime
                .load_hashed(&wasm, hash, PluginSource::BuiltIn)
                .await
            else {
                panic!("{hash:?} accepted");
            };
            assert!(
                e.to_string().contains("is not a SHA-256 in hex"),
                "{hash}: {e}"
            );
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_contract_version_is_the_wit_packages() {
        let v = bindings::contract_version();
        assert_eq!(v.split('.').count(), 3, "{v}");
        assert!(compatible(v, v));
    }

    #[test]
    fn contract_compatibility() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("1.0.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("garbage", "0.1.0"));
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail(b"  short  ", 10), "short");
        assert_eq!(tail(b"0123456789abc", 3), "…abc");
    }
}
