//! The one `bindgen!` of the plugin world (`tollgate:plugin`, the version in the WIT file). A future
//! breaking contract version gets its own module next to this one, and the host adapts both.

wasmtime::component::bindgen!({
    path: "../plugin-api/wit",
    world: "plugin",
    imports: { default: async },
    exports: { default: async },
});

pub use exports::tollgate::plugin::connector;
pub use tollgate::plugin::types;

/// The contract these bindings are generated from.
const WIT: &str = include_str!("../../plugin-api/wit/plugin.wit");

/// The contract version these bindings implement: the WIT package's version, read from the
/// file the bindings are generated from, so it is written in one place.
pub fn contract_version() -> &'static str {
    WIT.lines()
        .find_map(|l| l.trim().strip_prefix("package tollgate:plugin@"))
        .map(|v| v.trim_end_matches(';').trim())
        .expect("the WIT file names its package and version")
}
/// Name of the export every plugin must have, without the version.
pub const CONNECTOR_EXPORT: &str = "tollgate:plugin/connector";
