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
        "/// (id, component bytes, SHA-256 of the bytes in hex) of the plugins built into this binary.\npub static BUILTIN_PLUGINS: &[(&str, &[u8], &str)] = &[\n",
    );
    for ((id, _), file) in BUILTIN.iter().zip(files) {
        // Hashed here, so that a process finds a plugin's compiled code in its cache without
        // reading the 2 MB of components, which would then stay resident all its life.
        use sha2::Digest;
        let bytes = std::fs::read(&file).unwrap();
        let sha256: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        src.push_str(&format!(
            "    ({id:?}, include_bytes!({:?}), {sha256:?}),\n",
            file.display().to_string()
        ));
    }
    src.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin_plugins.rs");
    std::fs::write(out, src).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build_wasm.rs");
}
