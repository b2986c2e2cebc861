//! The plugin world's bindings, one `bindgen!` per contract version this host supports: the
//! current contract (`crates/plugin-api/wit`, at the top of this module) and each released
//! minor still loaded (`crates/plugin-api/contracts/<version>`, in a module of its own,
//! adapted to the current types in [`crate::legacy`]). The rest of the host speaks only the
//! current types.

wasmtime::component::bindgen!({
    path: "../plugin-api/wit",
    world: "plugin",
    imports: { default: async },
    exports: { default: async },
});

pub use exports::tollgate::plugin::connector;
pub use tollgate::plugin::types;

/// Contract 0.1, as released: plugins built against it keep loading.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../plugin-api/contracts/0.1.0",
        world: "plugin",
        imports: { default: async },
        exports: { default: async },
    });

    /// The version these bindings implement, from the WIT file they are generated from.
    pub fn contract_version() -> &'static str {
        super::package_version(include_str!("../../plugin-api/contracts/0.1.0/plugin.wit"))
    }
}

/// The version of the `tollgate:plugin` package a WIT file declares.
fn package_version(wit: &'static str) -> &'static str {
    wit.lines()
        .find_map(|l| l.trim().strip_prefix("package tollgate:plugin@"))
        .map(|v| v.trim_end_matches(';').trim())
        .expect("the WIT file names its package and version")
}

/// The current contract version: the WIT package's version, read from the file the bindings
/// are generated from, so it is written in one place.
pub fn contract_version() -> &'static str {
    package_version(include_str!("../../plugin-api/wit/plugin.wit"))
}

/// Every contract version this host loads plugins of, oldest first (the current one last).
pub fn supported_versions() -> [&'static str; 2] {
    [v0_1::contract_version(), contract_version()]
}

/// The supported versions as people read them: `0.1.x and 0.2.x`.
pub fn supported_versions_text() -> String {
    let minors: Vec<String> = supported_versions()
        .iter()
        .map(|v| {
            let mut parts = v.split('.');
            format!(
                "{}.{}.x",
                parts.next().unwrap_or("?"),
                parts.next().unwrap_or("?")
            )
        })
        .collect();
    match minors.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => minors.join(""),
    }
}

/// Name of the export every plugin must have, without the version.
pub const CONNECTOR_EXPORT: &str = "tollgate:plugin/connector";
