//! The Tollgate plugin contract and the guest SDK.
//!
//! A plugin is a WebAssembly component (`wasm32-wasip2`) that implements the `tollgate:plugin`
//! world in `wit/plugin.wit`. With this crate a plugin author implements the [`Plugin`] trait
//! and calls [`export_plugin!`]; the raw bindings stay out of plugin code.
//!
//! ```no_run
//! use tollgate_plugin_api::{Plugin, PluginInfo, PullRequest, Page, PluginError, Capability};
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     fn describe() -> PluginInfo {
//!         tollgate_plugin_api::info("hello", env!("CARGO_PKG_VERSION"), "Says hello")
//!             .capabilities(&[Capability::Pull])
//!             .streams(&["greetings"])
//!             .build()
//!     }
//!     fn pull(req: PullRequest) -> Result<Page, PluginError> {
//!         Ok(Page::default())
//!     }
//! }
//!
//! tollgate_plugin_api::export_plugin!(Hello);
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2`. See docs/plugin-authoring.md.

#![warn(missing_docs)]

pub mod comment;
pub mod http;
pub mod json;
pub mod log;
pub mod paging;
mod records;

#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_raw",
        default_bindings_module: "tollgate_plugin_api::bindings",
    });
}

use bindings::exports::tollgate::plugin::connector as guest;
pub use bindings::tollgate::plugin::types::{
    Allocation, BusinessCase, Capability, CashFlow, CostRate, Deletion, Dependency, Diagnostic,
    DmoRecord, Entity, EntityKind, FinanceEntry, Finding, FindingStatus, GateDecision, Initiative,
    Kpi, KpiMeasurement, Page, Person, PluginError, PluginInfo, PullRequest, PushOutcome,
    PushRequest, PushResult, RetryAfter, Risk, Severity, Sprint, Team, TimeEntry, WorkItem,
};

/// The contract version this SDK implements: the WIT package's version, read from the WIT
/// file the bindings are generated from, so it is written in one place.
pub fn contract_version() -> &'static str {
    include_str!("../wit/plugin.wit")
        .lines()
        .find_map(|l| l.trim().strip_prefix("package tollgate:plugin@"))
        .map(|v| v.trim_end_matches(';').trim())
        .unwrap_or("unknown")
}

/// The key of a record's `extra` that lists model fields (as the export spells them:
/// `title`, `source_updated`, `cost_of_delay`) the plugin could not read this time because the
/// source sent a value of an unexpected type. The host keeps each one's last stored value
/// instead of the empty one in the record, and drops the key. Report the drift as a
/// diagnostic too, so people see it.
pub const UNREAD_KEY: &str = "_unread";

/// What a plugin implements. Every call is independent: a plugin keeps no state between calls
/// (the host may use a fresh instance for each), and carries what it needs in cursors and
/// checkpoints.
pub trait Plugin {
    /// Static facts about the plugin; no IO.
    fn describe() -> PluginInfo;

    /// Check the settings and, for a remote source, authenticate against it. The default
    /// accepts any settings.
    fn check(settings: String) -> Result<String, PluginError> {
        let _ = settings;
        Ok("no check implemented; settings accepted".to_string())
    }

    /// Pull one page of one stream.
    fn pull(request: PullRequest) -> Result<Page, PluginError>;

    /// Publish findings. The default says the plugin does not push.
    fn push(request: PushRequest) -> Result<Vec<PushOutcome>, PluginError> {
        let _ = request;
        Err(PluginError::Unsupported(
            "this plugin does not publish findings".to_string(),
        ))
    }
}

impl<T: Plugin> guest::Guest for T {
    fn describe() -> PluginInfo {
        T::describe()
    }
    fn check(settings: String) -> Result<String, PluginError> {
        T::check(settings)
    }
    fn pull(request: PullRequest) -> Result<Page, PluginError> {
        T::pull(request)
    }
    fn push(request: PushRequest) -> Result<Vec<PushOutcome>, PluginError> {
        T::push(request)
    }
}

/// Export a [`Plugin`] implementation as the component's `connector` interface.
///
/// Only when compiling to WebAssembly: natively the crate stays a plain library (its unit
/// tests run with `cargo test`, and a `cdylib` crate type links), since the component's
/// export names are not valid symbols for a native linker.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::__export_raw!($ty with_types_in $crate::bindings);

        /// Natively, the calls the component would export (so they count as used).
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub const __TOLLGATE_EXPORTS: (
            fn() -> $crate::PluginInfo,
            fn(String) -> Result<String, $crate::PluginError>,
            fn($crate::PullRequest) -> Result<$crate::Page, $crate::PluginError>,
            fn($crate::PushRequest) -> Result<Vec<$crate::PushOutcome>, $crate::PluginError>,
        ) = (
            <$ty as $crate::Plugin>::describe,
            <$ty as $crate::Plugin>::check,
            <$ty as $crate::Plugin>::pull,
            <$ty as $crate::Plugin>::push,
        );
    };
}

// `Page` is generated by wit-bindgen, so it cannot carry a derive.
#[allow(clippy::derivable_impls)]
impl Default for Page {
    fn default() -> Self {
        Page {
            records: Vec::new(),
            deletions: Vec::new(),
            diagnostics: Vec::new(),
            next_cursor: None,
            checkpoint: None,
            snapshot: false,
        }
    }
}

/// Parse the settings JSON into the plugin's own settings type; a mistake is a
/// [`PluginError::Config`] that says what was wrong.
pub fn settings<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, PluginError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| PluginError::Config(format!("settings: {e}")))
}

pub use bindings::tollgate::plugin::records::Stored;
pub use records::diagnostic;

/// Build a record with provenance; `extra` is an empty object. `entity` is an [`Entity`] or
/// any record (`Initiative`, `WorkItem`, ...); add the rest with
/// [`DmoRecord::with_url`], [`DmoRecord::with_source_updated`] and [`DmoRecord::with_extra`].
pub fn record(external_id: impl Into<String>, entity: impl Into<Entity>) -> DmoRecord {
    DmoRecord {
        external_id: external_id.into(),
        url: None,
        source_updated: None,
        entity: entity.into(),
        extra: "{}".to_string(),
    }
}

/// Start a [`PluginInfo`] with the required fields; the rest have safe defaults (no
/// capabilities, no connections, no streams, no data directory, settings: any object).
pub fn info(id: &str, version: &str, description: &str) -> InfoBuilder {
    InfoBuilder(PluginInfo {
        id: id.to_string(),
        version: version.to_string(),
        description: description.to_string(),
        capabilities: Vec::new(),
        connections: Vec::new(),
        streams: Vec::new(),
        data_dir: false,
        settings_schema: r#"{"type":"object"}"#.to_string(),
    })
}

/// Builder returned by [`info`].
pub struct InfoBuilder(PluginInfo);

impl InfoBuilder {
    /// What the plugin can do.
    pub fn capabilities(mut self, caps: &[Capability]) -> Self {
        self.0.capabilities = caps.to_vec();
        self
    }
    /// Logical connection names the plugin sends HTTP requests to.
    pub fn connections(mut self, names: &[&str]) -> Self {
        self.0.connections = names.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Streams served by `pull`, in pull order.
    pub fn streams(mut self, names: &[&str]) -> Self {
        self.0.streams = names.iter().map(|s| s.to_string()).collect();
        self
    }
    /// The plugin reads files from one read-only directory mounted at `/data`.
    pub fn data_dir(mut self) -> Self {
        self.0.data_dir = true;
        self
    }
    /// JSON Schema of the settings block.
    pub fn settings_schema(mut self, schema: serde_json::Value) -> Self {
        self.0.settings_schema = schema.to_string();
        self
    }
    /// Finish.
    pub fn build(self) -> PluginInfo {
        self.0
    }
}

/// What this connection's store already holds of the records of `kind` with these external
/// ids, in order (the contract's `records.lookup`): each one's key and initiative; none where
/// the store has no such record, for kinds without a key (only initiatives and work items have
/// one), past 10,000 ids in one call, for every id when a stream listed before the current one
/// failed in this run (the store may be out of date), and always natively and under
/// `tollgate plugins run` (no store). A plugin uses it to skip fetching a record again just to
/// learn its key, and fetches what it is not told.
pub fn stored(kind: EntityKind, external_ids: &[String]) -> Vec<Option<Stored>> {
    #[cfg(target_arch = "wasm32")]
    {
        bindings::tollgate::plugin::records::lookup(kind, external_ids)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = kind;
        vec![None; external_ids.len()]
    }
}

/// One short, located error: `LOCATION: MESSAGE`, of the kind `kind` says (a
/// [`PluginError`] case that carries text, e.g. `PluginError::Remote`), where the location is
/// a file and line, a record's key or a request: `error_at(PluginError::Remote, "GET /items",
/// "the answer has no list at /values")`. The host shows it as the call's error, once.
pub fn error_at(
    kind: fn(String) -> PluginError,
    location: &str,
    message: impl std::fmt::Display,
) -> PluginError {
    kind(format!("{location}: {message}"))
}

/// The error for a stream the plugin does not serve.
pub fn unknown_stream(stream: &str, known: &[String]) -> PluginError {
    PluginError::Unsupported(format!(
        "unknown stream `{stream}`; this plugin serves: {}",
        if known.is_empty() {
            "no streams yet".to_string()
        } else {
            known.join(", ")
        }
    ))
}
