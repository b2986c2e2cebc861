//! The `tollgate` binary's library, in three layers; every import points down.
//!
//! - **The faces**: [`cli`] (arguments, printing, exit codes, the demo) and [`daemon`] (the
//!   service: schedules, the HTTP API, pages, metrics). Nothing below imports them.
//! - **The pipeline**: [`sync`], [`check`], [`publish`], [`report`]: each step written once
//!   and called by both faces.
//! - **The bottom**: [`app`] (the loaded config, runtime and plugins), [`config`], [`error`]
//!   (an error with a kind, mapped to an exit code or a status only by the faces),
//!   [`schedule`], [`clock`], [`memory`], [`plugins`] (binding a connection to its plugin), [`schema`],
//!   [`logging`].
//!
//! Below all of them are the library crates: `tollgate-runtime` (the one crate with
//! wasmtime), `tollgate-store` (the one crate with SQL) and `tollgate-dmo` (the model, the
//! rules and the maths). docs/architecture.md follows one record through the layers. The
//! binary is a thin `main` over this library, so end-to-end tests drive the same code
//! in-process.

#![warn(missing_docs)]

pub mod app;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod lease;
pub mod logging;
pub mod memory;
pub mod plugins;
pub mod publish;
pub mod report;
pub mod schedule;
pub mod schema;
pub mod sync;

#[cfg(test)]
mod tests {
    /// The modules of the faces; everything else is below them.
    const FACES: &[&str] = &["cli", "daemon"];

    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Every import points down: no module below the faces names `cli` or `daemon`.
    #[test]
    fn nothing_below_the_faces_imports_them() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut offenders = Vec::new();
        for file in &files {
            let rel = file.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let top = top.trim_end_matches(".rs");
            if FACES.contains(&top) || matches!(top, "main" | "lib") {
                continue;
            }
            let text = std::fs::read_to_string(file).unwrap();
            for face in FACES {
                for spelling in [
                    format!("crate::{face}::"),
                    format!("crate::{face};"),
                    format!("crate::{{{face}"),
                ] {
                    if text.contains(&spelling) {
                        offenders.push(format!("{} uses {spelling}", rel.display()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "imports that point up: {offenders:#?}"
        );
        assert!(files.len() > 10, "found the sources");
    }
}
