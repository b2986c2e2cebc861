//! `[connections.NAME]`: one configured use of a plugin, its endpoints and credentials.

use super::{Config, ConfigError, LimitsConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tollgate_runtime::{Credentials, Secret};

/// One configured use of a plugin: a Jira site, an Azure DevOps organisation, a CSV folder.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Plugin id, as `tollgate plugins list` shows it: `jira`, `azure-devops`, `hr-csv`.
    pub plugin: String,
    /// Base URL of the remote, e.g. `https://acme.atlassian.net`. Bound to the plugin's
    /// (first) declared connection name.
    pub base_url: Option<String>,
    /// Credentials for `base_url`.
    #[serde(default)]
    pub auth: AuthConfig,
    /// More endpoints, for plugins that declare several connection names.
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointConfig>,
    /// The one directory a file-reading plugin may read (mounted read-only).
    pub data_dir: Option<PathBuf>,
    /// The plugin's own settings, passed to it as JSON.
    #[serde(default = "empty_table")]
    #[schemars(with = "serde_json::Value")]
    pub settings: toml::Value,
    /// Limits for this connection's calls (override `[runtime.limits]`).
    #[serde(default)]
    pub limits: LimitsConfig,
}

fn empty_table() -> toml::Value {
    toml::Value::Table(Default::default())
}

/// Another endpoint of a connection, for plugins that send requests to several names.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Base URL of this endpoint.
    pub base_url: String,
    /// Credentials for it.
    #[serde(default)]
    pub auth: AuthConfig,
}

/// How the host authenticates a connection's requests. The plugin never sees any of it.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `none` (default), `basic` (user + token: Jira Cloud email + API token, Azure DevOps
    /// empty user + PAT) or `bearer` (token: Jira Data Center PAT).
    #[serde(default)]
    pub kind: AuthKind,
    /// User name for `basic`.
    pub user: Option<String>,
    /// Environment variable holding the token.
    pub token_env: Option<String>,
    /// File holding the token (whitespace around it is ignored).
    pub token_file: Option<PathBuf>,
    /// The token written inline. Works, with a warning: prefer `token_env` or `token_file`.
    pub token: Option<String>,
}

/// Authentication scheme.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic: `user:token`.
    Basic,
    /// `Authorization: Bearer token`.
    Bearer,
}

impl Config {
    pub(super) fn check_url(&self, key: &str, url: &str) -> Result<(), ConfigError> {
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if u.query().is_some() || !u.username().is_empty() || u.password().is_some() {
                    return Err(self.invalid(
                        key.to_string(),
                        "a base URL has no query and no credentials; put credentials under `auth`",
                    ));
                }
                Ok(())
            }
            _ => Err(self.invalid(
                key.to_string(),
                format!("`{url}` is not an http(s) URL like https://acme.atlassian.net"),
            )),
        }
    }

    pub(super) fn check_auth(&self, key: &str, auth: &AuthConfig) -> Result<(), ConfigError> {
        let sources = [
            auth.token_env.is_some(),
            auth.token_file.is_some(),
            auth.token.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        match auth.kind {
            AuthKind::None if sources > 0 || auth.user.is_some() => Err(self.invalid(
                format!("{key}.kind"),
                "credentials are given but kind is `none`; set kind = \"basic\" or \"bearer\"",
            )),
            AuthKind::Basic | AuthKind::Bearer if sources != 1 => Err(self.invalid(
                key.to_string(),
                "give exactly one of token_env (an environment variable) or token_file (a file)",
            )),
            AuthKind::Bearer if auth.user.is_some() => Err(self.invalid(
                format!("{key}.user"),
                "bearer auth takes no user; did you mean kind = \"basic\"?",
            )),
            _ => Ok(()),
        }
    }

    /// Read the credentials of `auth` (from the environment or a file). `key` names the
    /// config key in errors; the secret itself never appears in one.
    pub fn credentials(&self, key: &str, auth: &AuthConfig) -> Result<Credentials, ConfigError> {
        let token = || -> Result<Secret, ConfigError> {
            if let Some(var) = &auth.token_env {
                return match std::env::var(var) {
                    Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
                    _ => Err(self.invalid(
                        format!("{key}.token_env"),
                        format!("environment variable {var} is not set or empty"),
                    )),
                };
            }
            if let Some(file) = &auth.token_file {
                let path = self.resolve(file);
                return match std::fs::read_to_string(&path) {
                    Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
                    Ok(_) => Err(self.invalid(
                        format!("{key}.token_file"),
                        format!("{} is empty", path.display()),
                    )),
                    Err(e) => Err(self.invalid(
                        format!("{key}.token_file"),
                        format!("cannot read {}: {e}", path.display()),
                    )),
                };
            }
            match &auth.token {
                Some(t) => Ok(Secret::new(t.clone())),
                None => Err(self.invalid(key.to_string(), "no token configured")),
            }
        };
        Ok(match auth.kind {
            AuthKind::None => Credentials::None,
            AuthKind::Basic => Credentials::Basic {
                user: auth.user.clone().unwrap_or_default(),
                token: token()?,
            },
            AuthKind::Bearer => Credentials::Bearer(token()?),
        })
    }
}
