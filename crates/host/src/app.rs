//! The application context: the config, the plugin runtime and the plugins, loaded once and
//! shared by every pipeline step, whichever face (the command line, the daemon, the demo)
//! asked for it.

use crate::config::Config;
use crate::error::Error;
use std::path::Path;
use tollgate_runtime::{PluginRegistry, Runtime};

/// The config, the runtime and the plugins, loaded as every pipeline command needs them.
pub struct Session {
    /// The config.
    pub config: Config,
    /// The plugin runtime.
    pub runtime: Runtime,
    /// The plugins the config may run: those its connections name, and any in its
    /// `plugin_dir` (`plugins::load_for`).
    pub registry: PluginRegistry,
}

impl Session {
    /// Load the config at `path`, start the runtime and load the plugins.
    pub async fn open(path: &Path) -> Result<Session, Error> {
        let config = Config::load(path)?;
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        Session::with(config).await
    }

    /// Start the runtime and load the plugins for a loaded config.
    pub async fn with(config: Config) -> Result<Session, Error> {
        let runtime = Runtime::new(&config.cache_dir())?;
        let plugin_dir = config
            .runtime
            .plugin_dir
            .as_ref()
            .map(|d| config.resolve(d));
        let registry = crate::plugins::load_for(&runtime, &config, plugin_dir.as_deref()).await?;
        Ok(Session {
            config,
            runtime,
            registry,
        })
    }

    /// Open the configured store.
    pub fn store(&self) -> Result<Box<dyn tollgate_store::Store>, Error> {
        Ok(tollgate_store::open(
            &self.config.store.url,
            &self.config.base_dir,
        )?)
    }
}
