//! Builds the test-fixture plugins to wasm32-wasip2 so `cargo test` alone builds and runs them.

include!("../crates/host/build_wasm.rs");

fn main() {
    let workspace = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("..")
        .canonicalize()
        .unwrap();
    let files = build_wasm_packages(
        &workspace,
        &[
            "tollgate-fixture-hostile",
            "tollgate-fixture-paged",
            "tollgate-fixture-contract-0-1",
            "tollgate-fixture-contract-0-2-0",
            "tollgate-example-rest-json",
        ],
    );
    println!(
        "cargo:rustc-env=FIXTURE_HOSTILE_WASM={}",
        files[0].display()
    );
    println!("cargo:rustc-env=FIXTURE_PAGED_WASM={}", files[1].display());
    println!(
        "cargo:rustc-env=FIXTURE_CONTRACT_0_1_WASM={}",
        files[2].display()
    );
    println!(
        "cargo:rustc-env=FIXTURE_CONTRACT_0_2_0_WASM={}",
        files[3].display()
    );
    println!(
        "cargo:rustc-env=EXAMPLE_REST_JSON_WASM={}",
        files[4].display()
    );
    println!("cargo:rerun-if-changed=build.rs");
}
