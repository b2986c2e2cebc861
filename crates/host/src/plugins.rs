//! The plugins a process knows: the built-in ones (embedded by build.rs) and those in the
//! configured plugin directory; and the binding of a configured connection to a plugin.

use crate::config::{Config, ConfigError};
use std::collections::BTreeMap;
use std::path::Path;
use tollgate_runtime::http::Endpoint;
use tollgate_runtime::{JobContext, LoadedPlugin, PluginRegistry, RegistryError, Runtime};

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// The built-in plugins and those in `plugin_dir`.
pub async fn load(
    runtime: &Runtime,
    plugin_dir: Option<&Path>,
) -> Result<PluginRegistry, RegistryError> {
    PluginRegistry::load(runtime, BUILTIN_PLUGINS, plugin_dir).await
}

/// The plugins `config` may run: the built-in plugins its connections name, and those in
/// `plugin_dir` (each read to learn its id). A built-in plugin loaded maps its compiled code
/// for the life of the process (~1 MiB each, resident once it has run): the daemon need not
/// hold the code of plugins no connection uses.
pub async fn load_for(
    runtime: &Runtime,
    config: &Config,
    plugin_dir: Option<&Path>,
) -> Result<PluginRegistry, RegistryError> {
    let named: std::collections::BTreeSet<&str> = config
        .connections
        .values()
        .map(|c| c.plugin.as_str())
        .collect();
    let builtin: Vec<(&str, &[u8], &str)> = BUILTIN_PLUGINS
        .iter()
        .filter(|(id, _, _)| named.contains(id))
        .copied()
        .collect();
    PluginRegistry::load(runtime, &builtin, plugin_dir).await
}

/// The configured connection `name`, or an error naming the ones configured.
pub fn connection<'a>(
    config: &'a Config,
    name: &str,
) -> Result<&'a crate::config::ConnectionConfig, ConfigError> {
    config
        .connections
        .get(name)
        .ok_or_else(|| ConfigError::Invalid {
            path: config.path.clone(),
            key: format!("connections.{name}"),
            message: format!(
                "no such connection; configured: {}",
                config
                    .connections
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

/// Bind the configured connection `name` to its plugin: check the config fits what the
/// plugin declares, read the credentials, and build the job context.
pub fn bind<'a>(
    registry: &'a PluginRegistry,
    config: &Config,
    name: &str,
) -> Result<(&'a LoadedPlugin, JobContext), ConfigError> {
    let invalid = |key: String, message: String| ConfigError::Invalid {
        path: config.path.clone(),
        key,
        message,
    };
    let conn = connection(config, name)?;
    let plugin = registry.get(&conn.plugin).ok_or_else(|| {
        invalid(
            format!("connections.{name}.plugin"),
            format!(
                "no plugin `{}`; available: {}",
                conn.plugin,
                // The built-in ones too where a session loaded only those it uses.
                registry
                    .iter()
                    .map(|p| p.info.id.as_str())
                    .chain(BUILTIN_PLUGINS.iter().map(|(id, _, _)| *id))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let declared = &plugin.info.connections;
    let mut endpoints = BTreeMap::new();
    if let Some(url) = &conn.base_url {
        let Some(first) = declared.first() else {
            return Err(invalid(
                format!("connections.{name}.base_url"),
                format!(
                    "plugin `{}` makes no HTTP requests; remove base_url",
                    conn.plugin
                ),
            ));
        };
        endpoints.insert(
            first.clone(),
            Endpoint::new(
                reqwest::Url::parse(url).expect("validated at load"),
                &config.credentials(&format!("connections.{name}.auth"), &conn.auth)?,
            ),
        );
    }
    for (ep, e) in &conn.endpoints {
        if !declared.contains(ep) {
            return Err(invalid(
                format!("connections.{name}.endpoints.{ep}"),
                format!(
                    "plugin `{}` does not use a connection named `{ep}` (it uses: {})",
                    conn.plugin,
                    declared.join(", ")
                ),
            ));
        }
        endpoints.insert(
            ep.clone(),
            Endpoint::new(
                reqwest::Url::parse(&e.base_url).expect("validated at load"),
                &config.credentials(&format!("connections.{name}.endpoints.{ep}.auth"), &e.auth)?,
            ),
        );
    }
    if let Some(missing) = declared.iter().find(|d| !endpoints.contains_key(*d)) {
        return Err(invalid(
            format!("connections.{name}"),
            format!(
                "plugin `{}` needs an endpoint `{missing}`: set base_url{}",
                conn.plugin,
                if declared.len() > 1 {
                    format!(" or [connections.{name}.endpoints.{missing}]")
                } else {
                    String::new()
                }
            ),
        ));
    }
    let data_dir = match (&conn.data_dir, plugin.info.data_dir) {
        (Some(dir), true) => {
            let dir = config.resolve(dir);
            if !dir.is_dir() {
                return Err(invalid(
                    format!("connections.{name}.data_dir"),
                    format!("{} is not a directory", dir.display()),
                ));
            }
            if let Some(odd) = special_file(&dir) {
                return Err(invalid(
                    format!("connections.{name}.data_dir"),
                    format!(
                        "{} is not a regular file (a FIFO, socket or device); a plugin reading it could wait forever. Move it out of the data directory",
                        odd.display()
                    ),
                ));
            }
            Some(dir)
        }
        (None, true) => {
            return Err(invalid(
                format!("connections.{name}.data_dir"),
                format!(
                    "plugin `{}` reads files: set data_dir to their directory",
                    conn.plugin
                ),
            ));
        }
        (Some(_), false) => {
            return Err(invalid(
                format!("connections.{name}.data_dir"),
                format!("plugin `{}` reads no files; remove data_dir", conn.plugin),
            ));
        }
        (None, false) => None,
    };
    Ok((
        plugin,
        JobContext {
            connection: name.to_string(),
            endpoints,
            data_dir,
            limits: config.limits(conn),
            known: Default::default(),
            answered: None,
        },
    ))
}

/// The first entry under `dir` (two levels deep) that is neither a regular file nor a
/// directory once symbolic links are followed: a FIFO, a socket or a device.
fn special_file(dir: &Path) -> Option<std::path::PathBuf> {
    let mut pending = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue; // a dangling link: the plugin cannot open it either
            };
            if meta.is_dir() {
                if depth < 1 {
                    pending.push((path, depth + 1));
                }
            } else if !meta.is_file() {
                return Some(path);
            }
        }
    }
    None
}

/// The settings block of a connection as JSON, for the plugin.
pub fn settings_json(config: &Config, name: &str) -> serde_json::Value {
    config
        .connections
        .get(name)
        .map(|c| serde_json::to_value(&c.settings).unwrap_or(serde_json::Value::Null))
        .unwrap_or(serde_json::Value::Null)
}
