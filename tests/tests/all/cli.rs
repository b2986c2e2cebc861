//! Running the `tollgate` binary (this package's `tollgate-e2e`) as a user does, for the tests
//! that walk a plugin from its file to a store.

use std::path::Path;
use std::process::{Command, Output};
use tollgate_tests::shared_cache_dir;

/// Run `tollgate ARGS` in `dir` with the shared plugin cache and `env` set.
pub fn tollgate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate-e2e"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env("XDG_CACHE_HOME", shared_cache_dir())
        .envs(env.iter().copied())
        .env_remove("TOLLGATE_STORE__URL")
        .output()
        .unwrap()
}

/// Its stdout, after asserting it succeeded (`what` and both outputs say what did not).
pub fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A directory with `plugin` copied into `plugins/` as `NAME.wasm` and a `tollgate.toml` of a
/// SQLite store, that plugin directory and `connections` (TOML).
pub fn plugin_home(dir: &Path, plugin: &Path, name: &str, connections: &str) {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::copy(plugin, dir.join(format!("plugins/{name}.wasm"))).unwrap();
    std::fs::write(
        dir.join("tollgate.toml"),
        format!(
            "[store]\nurl = \"sqlite://store.db\"\n\n[runtime]\nplugin_dir = \"plugins\"\n\n{connections}"
        ),
    )
    .unwrap();
}
