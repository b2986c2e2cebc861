//! Compiles the built-in plugins to wasm32-wasip2 and embeds them in the `tollgate` binary, so
//! `cargo run` and `cargo install` need no extra step.

include!("build_wasm.rs");

/// (plugin id, package) of every built-in plugin.
const BUILTIN: &[(&str, &str)] = &[
    ("jira", "tollgate-plugin-jira"),
    ("azure-devops", "tollgate-plugin-azure-devops"),
    ("hr-csv", "tollgate-plugin-hr-csv"),
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest.join("../..").canonicalize().unwrap();
    let packages: Vec<&str> = BUILTIN.iter().map(|(_, p)| *p).collect();
    let files = build_wasm_packages(&workspace, &packages);
    let mut src = String::from(
        "/// (id, component bytes) of the plugins built into this binary.\npub static BUILTIN_PLUGINS: &[(&str, &[u8])] = &[\n",
    );
    for ((id, _), file) in BUILTIN.iter().zip(files) {
        src.push_str(&format!(
            "    ({id:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    src.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin_plugins.rs");
    std::fs::write(out, src).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build_wasm.rs");
}
