// Shared by crates/host/build.rs (the built-in plugins) and tests/build.rs (test fixtures),
// through `include!`. Builds workspace packages for wasm32-wasip2 with the `plugin` profile
// into `<target>/plugins`, one nested cargo for all of them, and returns the .wasm paths.
// A separate target directory keeps the nested cargo off the outer build's lock; sharing it
// between both build scripts means each plugin is compiled once.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's target directory, found from OUT_DIR (`<target>[/<triple>]/<profile>/build/<pkg>/out`).
fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let build = out
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .expect("OUT_DIR lies under <target>/<profile>/build");
    build
        .parent()
        .and_then(Path::parent)
        .expect("the build directory has a profile directory above it")
        .to_path_buf()
}

/// Build `packages` (package names) for wasm32-wasip2 and return their .wasm files in order.
fn build_wasm_packages(workspace: &Path, packages: &[&str]) -> Vec<PathBuf> {
    let target = target_dir().join("plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--target", "wasm32-wasip2", "--profile", "plugin"])
        .arg("--target-dir")
        .arg(&target);
    for p in packages {
        cmd.args(["-p", p]);
    }
    // Flags meant for the outer (native) build must not leak into the wasm build; clippy's
    // wrapper would lint the plugins twice.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the wasm plugins: {e}"));
    assert!(
        status.success(),
        "building the wasm plugins {packages:?} failed (see the cargo output above); \
         is the wasm32-wasip2 target installed? rust-toolchain.toml asks rustup for it"
    );
    for dir in ["crates/plugin-api", "plugins", "tests/fixtures", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }
    packages
        .iter()
        .map(|p| {
            let file = target
                .join("wasm32-wasip2/plugin")
                .join(format!("{}.wasm", p.replace('-', "_")));
            assert!(file.exists(), "cargo built {p} but {} is missing", file.display());
            file
        })
        .collect()
}
