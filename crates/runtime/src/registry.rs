//! The plugins a process knows: the ones built into the binary and those in a plugin
//! directory, each loaded once, by id.

use crate::{LoadError, LoadedPlugin, PluginSource, Runtime};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

/// A problem assembling the set of plugins.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// A plugin did not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The plugin directory could not be read.
    #[error("cannot read the plugin directory {path} (runtime.plugin_dir): {error}")]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// Two plugins share an id.
    #[error(
        "plugin id `{id}` is used twice: by {first} and by {second}; plugin ids must be unique"
    )]
    Duplicate {
        /// The id.
        id: String,
        /// Where the first came from.
        first: String,
        /// Where the second came from.
        second: String,
    },
}

/// Loaded plugins by id.
#[derive(Debug, Default)]
pub struct PluginRegistry {
    plugins: BTreeMap<String, LoadedPlugin>,
}

impl PluginRegistry {
    /// Load the `builtin` plugins (id, component bytes, their SHA-256 in hex) and every
    /// `*.wasm` in `plugin_dir`.
    pub async fn load(
        runtime: &Runtime,
        builtin: &[(&str, &[u8], &str)],
        plugin_dir: Option<&Path>,
    ) -> Result<PluginRegistry, RegistryError> {
        let mut registry = PluginRegistry::default();
        for (_, bytes, sha256) in builtin {
            registry.add(
                runtime
                    .load_hashed(bytes, sha256, PluginSource::BuiltIn)
                    .await?,
            )?;
        }
        if let Some(dir) = plugin_dir {
            let entries = std::fs::read_dir(dir).map_err(|error| RegistryError::Directory {
                path: dir.display().to_string(),
                error,
            })?;
            let mut files: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
                .collect();
            files.sort();
            for file in files {
                let bytes = std::fs::read(&file).map_err(|error| RegistryError::Directory {
                    path: file.display().to_string(),
                    error,
                })?;
                registry.add(runtime.load(&bytes, PluginSource::File(file)).await?)?;
            }
        }
        Ok(registry)
    }

    /// Add a loaded plugin.
    pub fn add(&mut self, plugin: LoadedPlugin) -> Result<(), RegistryError> {
        if let Some(existing) = self.plugins.get(&plugin.info.id) {
            return Err(RegistryError::Duplicate {
                id: plugin.info.id.clone(),
                first: existing.source.to_string(),
                second: plugin.source.to_string(),
            });
        }
        self.plugins.insert(plugin.info.id.clone(), plugin);
        Ok(())
    }

    /// The plugin with this id.
    pub fn get(&self, id: &str) -> Option<&LoadedPlugin> {
        self.plugins.get(id)
    }

    /// All plugins, by id.
    pub fn iter(&self) -> impl Iterator<Item = &LoadedPlugin> {
        self.plugins.values()
    }
}
