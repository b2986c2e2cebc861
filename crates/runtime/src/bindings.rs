//! The one `bindgen!` of the plugin world, for contract `tollgate:plugin@0.1.0`. A future
//! breaking contract version gets its own module next to this one, and the host adapts both.

wasmtime::component::bindgen!({
    path: "../plugin-api/wit",
    world: "plugin",
    imports: { default: async },
    exports: { default: async },
});

pub use exports::tollgate::plugin::connector;
pub use tollgate::plugin::types;

/// The contract version these bindings implement.
pub const CONTRACT_VERSION: &str = "0.1.0";
/// Name of the export every plugin must have, without the version.
pub const CONNECTOR_EXPORT: &str = "tollgate:plugin/connector";
