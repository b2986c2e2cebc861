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

/// Make sure the toolchain has the wasm32-wasip2 standard library. rust-toolchain.toml names
/// the target, but rustup 1.28+ only installs it on `rustup toolchain install`; do that here so
/// `cargo run` and `cargo test` work on a fresh machine.
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot
        .as_ref()
        .is_some_and(|s| s.join("lib/rustlib/wasm32-wasip2").is_dir());
    if installed {
        return;
    }
    println!("cargo:warning=installing the wasm32-wasip2 target with rustup (named in rust-toolchain.toml)");
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "the wasm32-wasip2 target is missing and `rustup target add wasm32-wasip2` failed; \
         install it by hand (rustup toolchain install, in the workspace)"
    );
}

/// Where the plugins are built: `<target>/plugins`, or `TOLLGATE_PLUGIN_TARGET_DIR`, which
/// lets another build (the fuzz targets in `fuzz/`) reuse the plugins the main one built.
fn plugin_target_dir() -> PathBuf {
    println!("cargo:rerun-if-env-changed=TOLLGATE_PLUGIN_TARGET_DIR");
    match std::env::var_os("TOLLGATE_PLUGIN_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => target_dir().join("plugins"),
    }
}

/// The cargo profile plugins are built with: `plugin`, or `TOLLGATE_PLUGIN_PROFILE` (e.g.
/// `plugin-profiling`, which keeps the functions' names for `perf`).
fn plugin_profile() -> String {
    println!("cargo:rerun-if-env-changed=TOLLGATE_PLUGIN_PROFILE");
    match std::env::var("TOLLGATE_PLUGIN_PROFILE") {
        Ok(p) if !p.is_empty() => p,
        _ => "plugin".to_string(),
    }
}

/// Build `packages` (package names) for wasm32-wasip2 and return their .wasm files in order.
fn build_wasm_packages(workspace: &Path, packages: &[&str]) -> Vec<PathBuf> {
    ensure_wasm_target();
    let target = plugin_target_dir();
    let profile = plugin_profile();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    for p in packages {
        // `cargo rustc` builds one package; `--crate-type cdylib` turns the library into a
        // component on wasm32-wasip2 without making it a cdylib natively, where the
        // component's export names cannot be linked.
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(workspace)
            .args(["rustc", "--lib", "--crate-type", "cdylib", "-p", p])
            .args(["--target", "wasm32-wasip2", "--profile", &profile])
            .arg("--target-dir")
            .arg(&target);
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
            .unwrap_or_else(|e| panic!("cannot run cargo to build the wasm plugin {p}: {e}"));
        assert!(
            status.success(),
            "building the wasm plugin {p} failed (see the cargo output above)"
        );
    }
    for dir in [
        "crates/plugin-api",
        "plugins",
        "tests/fixtures",
        "examples",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }
    packages
        .iter()
        .map(|p| {
            let file = target
                .join("wasm32-wasip2")
                .join(&profile)
                .join(format!("{}.wasm", p.replace('-', "_")));
            assert!(file.exists(), "cargo built {p} but {} is missing", file.display());
            file
        })
        .collect()
}
