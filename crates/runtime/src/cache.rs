//! The on-disk cache of compiled plugins. Keys are the SHA-256 of the component and a hash of
//! the engine's compatibility settings, so an upgraded Tollgate never loads stale machine
//! code. Only files this process wrote are deserialised (the directory is created 0700).

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a component's compiled form is kept.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    engine_key: String,
}

/// Feeds `Hash` output into SHA-256, so the key is stable across processes.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        0
    }
}

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded compiled code from the cache.
    Hit,
    /// Compiled now and stored.
    Compiled,
}

impl ArtifactCache {
    /// A cache in `dir` for components compiled by `engine`.
    pub fn new(dir: &Path, engine: &Engine) -> std::io::Result<ArtifactCache> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        Ok(ArtifactCache {
            dir: dir.to_path_buf(),
            engine_key,
        })
    }

    /// The cache file of the component whose SHA-256 is `sha256` (hex).
    fn path_for(&self, sha256: &str) -> PathBuf {
        let name = sha256.get(..32).unwrap_or(sha256);
        self.dir.join(format!("{name}-{}.cwasm", self.engine_key))
    }

    /// The compiled component for `wasm`, whose SHA-256 is `sha256` (hex), from the cache or
    /// compiled (and then cached). `wasm` is read only to compile it.
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.path_for(sha256);
        if path.exists() {
            // SAFETY: the file is in our own 0700 cache directory, written by `store` below
            // from `Engine::precompile_component`, and its name includes the engine's
            // compatibility hash; wasmtime also checks the header before using it.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "cached plugin artefact is unusable; compiling again"
                ),
            }
        }
        let compiled = engine.precompile_component(wasm)?;
        if let Err(e) = self.store(&path, &compiled) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the plugin cache; continuing without it");
        }
        // SAFETY: these bytes were produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, CacheOutcome::Compiled))
    }

    fn store(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}
