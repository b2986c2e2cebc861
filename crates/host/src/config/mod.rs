//! The configuration file (`tollgate.toml`) and its environment overrides.
//!
//! The doc comments of these structs are the reference for users; docs/configuration.md
//! shows a complete example. Paths in the file are relative to the file's directory.
//! Environment variables override keys as `TOLLGATE_SECTION__KEY`, e.g.
//! `TOLLGATE_RUNTIME__LIMITS__TIMEOUT_SECS=30`.

mod connection;
mod daemon;
pub mod reference;
mod reports;
mod runtime;
mod sync;

pub use connection::{AuthConfig, AuthKind, ConnectionConfig, EndpointConfig};
pub use daemon::{DaemonConfig, JobConfig, JobStep, host_name};
pub use reports::{ReportKind, ReportsConfig, Scoring, WhenStale};
pub use runtime::{LimitsConfig, RuntimeConfig};
pub use sync::SyncConfig;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;
use tollgate_runtime::Limits;

/// A configuration problem: what, where, and what to do.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read or parsed.
    #[error("cannot load config {path}: {message}")]
    Load {
        /// The config file.
        path: PathBuf,
        /// What the parser said (with the key).
        message: String,
    },
    /// A value is present but wrong.
    #[error("config {path}: `{key}`: {message}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// The key, e.g. `connections.acme.auth.token_env`.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The WebAssembly runtime: plugin directory, artefact cache, default limits.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// Where the normalised model, sync progress and run history are kept.
    #[serde(default)]
    pub store: StoreConfig,
    /// The checks: which rule pack.
    #[serde(default)]
    pub checks: ChecksConfig,
    /// Named connections: one configured use of a plugin (a Jira site, a CSV folder).
    #[serde(default)]
    pub connections: BTreeMap<String, ConnectionConfig>,
    /// `tollgate run`: the HTTP server and the scheduled jobs.
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// Reports: where `publish` writes them, how the demand is ranked.
    #[serde(default)]
    pub reports: ReportsConfig,
    /// Publishing the findings back to the trackers.
    #[serde(default)]
    pub publish: PublishConfig,
    /// How far one sync may go: deletions, pages, time.
    #[serde(default)]
    pub sync: SyncConfig,
    /// Directory of the config file; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file this was loaded from, for messages.
    #[serde(skip)]
    pub path: PathBuf,
}

/// Publishing the findings back to the trackers: one comment per initiative.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    /// The dashboard's address as people open it (e.g. `https://dmo.acme.example`): each
    /// comment links to its initiative's page there (`/initiatives/KEY`). None: no link.
    pub dashboard_url: Option<String>,
}

/// The checks: which rule pack.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecksConfig {
    /// A rule pack file (TOML); default: the built-in pack, `config/rules.toml`.
    pub rule_pack: Option<PathBuf>,
}

/// Where the normalised model, sync progress and run history are kept.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` (relative to the config file) or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (several instances share it; give the
    /// password with `TOLLGATE_STORE__URL`). Default `sqlite://tollgate.db`.
    #[serde(default = "default_store_url")]
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: default_store_url(),
        }
    }
}

fn default_store_url() -> String {
    "sqlite://tollgate.db".to_string()
}

/// The line (1-based) of `key` (`connections.acme.auth.token_env`) in the TOML `text`: the
/// line of the key itself, of the inline table or table holding it, whichever is found first
/// from the most specific. For pointing a person at a problem, not for parsing.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let segments: Vec<&str> = key.split('.').collect();
    let lines: Vec<&str> = text.lines().collect();
    let header = |name: &str| {
        lines
            .iter()
            .position(|l| l.trim() == format!("[{name}]") || l.trim() == format!("[[{name}]]"))
    };
    for cut in (0..segments.len()).rev() {
        let table = segments[..cut].join(".");
        let start = if cut == 0 {
            Some(0)
        } else {
            header(&table).map(|i| i + 1)
        };
        let Some(start) = start else { continue };
        let end = lines[start..]
            .iter()
            .position(|l| l.trim_start().starts_with('['))
            .map_or(lines.len(), |n| start + n);
        // The rest of the key, as `a.b = ` dotted keys or as the first key of an inline table.
        for take in (1..=segments.len() - cut).rev() {
            let dotted = segments[cut..cut + take].join(".");
            if let Some(i) = lines[start..end].iter().position(|l| {
                let t = l.trim_start();
                t.strip_prefix(dotted.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            }) {
                return Some(start + i + 1);
            }
        }
        if cut > 0 {
            return Some(start);
        }
    }
    None
}

impl Config {
    /// Load `path` and apply `TOLLGATE_SECTION__KEY` environment overrides.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with_env(path, std::env::vars())
    }

    /// Load `path` with overrides from `vars`. Only names of the form
    /// `TOLLGATE_SECTION__KEY` (with a double underscore) are overrides; other `TOLLGATE_`
    /// variables (`TOLLGATE_CONFIG`, `TOLLGATE_LOG_FORMAT`) are settings of the program.
    pub fn load_with_env(
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let cfg = Config::load_unchecked_with_env(path, vars)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Load and parse without the checks of [`Config::problems`], so that every problem can
    /// be listed (`tollgate config validate`).
    pub fn load_unchecked(path: &Path) -> Result<Config, ConfigError> {
        Config::load_unchecked_with_env(path, std::env::vars())
    }

    fn load_unchecked_with_env(
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let overrides: config::Map<String, String> = vars
            .into_iter()
            .filter(|(k, _)| {
                k.strip_prefix("TOLLGATE_")
                    .is_some_and(|rest| rest.contains("__") && !rest.starts_with('_'))
            })
            .collect();
        let err = |message: String| ConfigError::Load {
            path: path.to_path_buf(),
            message,
        };
        if !path.exists() {
            return Err(err(
                "no such file; pass --config FILE, or run `tollgate demo` to get an example".into(),
            ));
        }
        let overrides = match std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
        {
            Some(file) => hyphenated_keys(overrides, &file),
            None => overrides, // the builder below says what is wrong with the file
        };
        let raw = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix("TOLLGATE")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(overrides)),
            )
            .build()
            .map_err(|e| loading_error(path, &e.to_string()))?;
        let mut cfg: Config = raw
            .try_deserialize()
            .map_err(|e| loading_error(path, &e.to_string()))?;
        cfg.path = path.to_path_buf();
        cfg.base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(cfg)
    }

    /// Parse TOML text (no environment overrides); for tests and the demo.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Load {
            path: base_dir.join("<inline>"),
            message: e.to_string(),
        })?;
        cfg.base_dir = base_dir.to_path_buf();
        cfg.path = base_dir.join("<inline>");
        cfg.validate()?;
        Ok(cfg)
    }

    /// A relative path from the file, made absolute against the file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    fn invalid(&self, key: String, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            key,
            message: message.into(),
        }
    }

    /// Checks that need no plugin: URLs parse, auth is complete, the daemon's schedules and
    /// zones read. The first problem, if any.
    fn validate(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every problem the checks that need no plugin find, in the order of the file's sections.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        let mut keep = |r: Result<(), ConfigError>| {
            if let Err(e) = r {
                out.push(e);
            }
        };
        for (name, conn) in &self.connections {
            if let Some(url) = &conn.base_url {
                keep(self.check_url(&format!("connections.{name}.base_url"), url));
            }
            keep(self.check_auth(&format!("connections.{name}.auth"), &conn.auth));
            for (ep, endpoint) in &conn.endpoints {
                let key = format!("connections.{name}.endpoints.{ep}");
                keep(self.check_url(&format!("{key}.base_url"), &endpoint.base_url));
                keep(self.check_auth(&format!("{key}.auth"), &endpoint.auth));
            }
            if !conn.settings.is_table() {
                keep(Err(self.invalid(
                    format!("connections.{name}.settings"),
                    "expected a table of the plugin's settings",
                )));
            }
        }
        out.extend(self.limit_problems());
        out.extend(self.sync_problems());
        if let Some(c) = self.reports.capacity_fte
            && !(c.is_finite() && c > 0.0 && c <= 1e6)
        {
            out.push(self.invalid(
                "reports.capacity_fte".into(),
                format!(
                    "{c} is out of range: expected a number of full-time equivalents more than 0"
                ),
            ));
        }
        if let Some(date) = &self.reports.steering_date
            && tollgate_dmo::calendar::day_number(date).is_none_or(|_| date.len() != 10)
        {
            out.push(self.invalid(
                "reports.steering_date".into(),
                format!("`{date}` is not a date like 2026-12-10"),
            ));
        }
        if !(1..=366).contains(&self.reports.steering_interval_days) {
            out.push(self.invalid(
                "reports.steering_interval_days".into(),
                format!(
                    "{} is out of range: expected days between two steering meetings, 1 to 366",
                    self.reports.steering_interval_days
                ),
            ));
        }
        if let Err(message) = tollgate_store::check_url(&self.store.url) {
            out.push(self.invalid("store.url".into(), message));
        }
        if let Some(url) = &self.publish.dashboard_url
            && reqwest::Url::parse(url)
                .ok()
                .is_none_or(|u| !matches!(u.scheme(), "http" | "https") || u.host().is_none())
        {
            out.push(self.invalid(
                "publish.dashboard_url".into(),
                format!("`{url}` is not an http(s) address like https://dmo.acme.example"),
            ));
        }
        out.extend(self.daemon_problems());
        out
    }

    /// Warnings that do not stop Tollgate: secrets written inline.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.daemon.api_token.is_some() {
            out.push(format!(
                "{}: `daemon.api_token` holds a secret inline; use api_token_env = \"VAR\" or api_token_file = \"path\" so the secret stays out of the config file",
                self.path.display()
            ));
        }
        for (name, conn) in &self.connections {
            let mut auths = vec![(format!("connections.{name}.auth"), &conn.auth)];
            for (ep, e) in &conn.endpoints {
                auths.push((format!("connections.{name}.endpoints.{ep}.auth"), &e.auth));
            }
            for (key, auth) in auths {
                if auth.token.is_some() {
                    out.push(format!(
                        "{}: `{key}.token` holds a secret inline; use token_env = \"VAR\" or token_file = \"path\" so the secret stays out of the config file",
                        self.path.display()
                    ));
                }
            }
        }
        out
    }

    /// The effective limits of a connection.
    pub fn limits(&self, connection: &ConnectionConfig) -> Limits {
        connection
            .limits
            .apply(self.runtime.limits.apply(Limits::default()))
    }

    /// The artefact cache directory.
    pub fn cache_dir(&self) -> PathBuf {
        match &self.runtime.cache_dir {
            Some(dir) => self.resolve(dir),
            None => default_cache_dir(),
        }
    }
}

/// The values of each enum of the config, as the file spells them, for messages.
const ENUM_VALUES: &[(&str, &[&str])] = &[
    ("JobStep", &["sync", "check", "publish", "report"]),
    ("Scoring", &["wsjf", "cd3"]),
    ("AuthKind", &["none", "basic", "bearer"]),
    ("ReportKind", &["steering", "quarterly", "capitalisation"]),
];

/// A parse error of the config file in plain words, with its key when the parser named one:
/// "enum JobStep does not have variant constructor nope for key `daemon.jobs.n.steps[0]`"
/// becomes "`nope` is not one of: sync, check, publish, report" at that key.
fn loading_error(path: &Path, message: &str) -> ConfigError {
    let (text, key) = match message.rsplit_once(" for key `") {
        Some((text, rest)) => {
            let key = rest.split('`').next().unwrap_or("").to_string();
            (text.to_string(), Some(key))
        }
        None => (message.to_string(), None),
    };
    let text = match text
        .strip_prefix("enum ")
        .and_then(|t| t.split_once(" does not have variant constructor "))
    {
        Some((name, value)) => match ENUM_VALUES.iter().find(|(n, _)| *n == name) {
            Some((_, values)) => format!("`{value}` is not one of: {}", values.join(", ")),
            None => format!("`{value}` is not an allowed value"),
        },
        None => text,
    };
    let text = text.replace("invalid type: ", "wrong type: found ");
    match key {
        // `steps[0]` points at the list; the line of `steps` is what a person looks for.
        Some(key) if !key.is_empty() => ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.split('[').next().unwrap_or(&key).to_string(),
            message: text,
        },
        _ => ConfigError::Load {
            path: path.to_path_buf(),
            message: text,
        },
    }
}

/// `$XDG_CACHE_HOME/tollgate`, else `~/.cache/tollgate`, else a folder in the temp dir.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("tollgate");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache/tollgate");
    }
    std::env::temp_dir().join("tollgate-cache")
}

/// Environment variables cannot hold a hyphen, so a key with one (a connection named
/// `azure-devops`, a plugin setting `dependency-link-types`) is written with underscores
/// (`TOLLGATE_CONNECTIONS__AZURE_DEVOPS__BASE_URL`). Each level of an override's name is
/// matched against the keys the file has at that level: a key whose hyphens read as
/// underscores is the one meant.
fn hyphenated_keys(
    overrides: config::Map<String, String>,
    file: &toml::Table,
) -> config::Map<String, String> {
    overrides
        .into_iter()
        .map(|(name, value)| {
            let Some(rest) = name.strip_prefix("TOLLGATE_") else {
                return (name, value);
            };
            let mut level = Some(file);
            let mut parts = Vec::new();
            for part in rest.split("__") {
                let lower = part.to_ascii_lowercase();
                let key = level
                    .and_then(|t| {
                        t.keys().find(|k| {
                            k.contains('-') && k.to_ascii_lowercase().replace('-', "_") == lower
                        })
                    })
                    .cloned()
                    .unwrap_or(lower);
                level = level
                    .and_then(|t| t.get(&key))
                    .and_then(toml::Value::as_table);
                parts.push(key);
            }
            (format!("TOLLGATE_{}", parts.join("__")), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/etc/tollgate"))
    }

    #[test]
    fn lines_of_keys_for_messages() {
        let text = "[store]\nurl = \"x\"\n\n[connections.acme]\nplugin = \"jira\"\nauth = { kind = \"basic\", token_env = \"T\" }\n\n[daemon.jobs.nightly]\nschedule = \"nope\"\n";
        assert_eq!(line_of(text, "store.url"), Some(2));
        assert_eq!(line_of(text, "connections.acme.plugin"), Some(5));
        assert_eq!(line_of(text, "connections.acme.auth.token_env"), Some(6));
        assert_eq!(
            line_of(text, "connections.acme.base_url"),
            Some(4),
            "the table, when the key is absent"
        );
        assert_eq!(line_of(text, "daemon.jobs.nightly.schedule"), Some(9));
        assert_eq!(line_of(text, "nowhere.at.all"), None);
    }

    #[test]
    fn every_problem_is_listed_with_its_key() {
        let text = "[connections.a]\nplugin = \"jira\"\nbase_url = \"ftp://x\"\n[connections.b]\nplugin = \"jira\"\nbase_url = \"https://ok.example\"\nauth = { kind = \"basic\" }\n[daemon]\nlisten = \"everywhere\"\n[daemon.jobs.n]\nschedule = \"daily\"\nconnection = \"zzz\"\n";
        let cfg: Config = toml::from_str(text).unwrap();
        let keys: Vec<String> = cfg
            .problems()
            .into_iter()
            .map(|e| match e {
                ConfigError::Invalid { key, .. } => key,
                other => other.to_string(),
            })
            .collect();
        assert_eq!(
            keys,
            [
                "connections.a.base_url",
                "connections.b.auth",
                "daemon.listen",
                "daemon.jobs.n.schedule",
                "daemon.jobs.n.connection"
            ]
        );
    }

    #[test]
    fn connection_limits_override_runtime_defaults() {
        let cfg = parse(
            r#"
            [runtime.limits]
            timeout_secs = 10
            memory_mib = 64
            [connections.a]
            plugin = "jira"
            base_url = "https://acme.atlassian.net"
            limits = { timeout_secs = 3 }
            "#,
        )
        .unwrap();
        let l = cfg.limits(&cfg.connections["a"]);
        assert_eq!(l.timeout, Duration::from_secs(3));
        assert_eq!(l.memory_bytes, 64 << 20);
        assert_eq!(l.cpu, Limits::default().cpu);
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = parse("[connections.a]\nplugin = \"jira\"\nbase_url = \"acme\"\n").unwrap_err();
        assert!(e.to_string().contains("connections.a.base_url"), "{e}");
        let e = parse(
            "[connections.a]\nplugin = \"jira\"\nauth = { kind = \"basic\", user = \"x\" }\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("token_env"), "{e}");
        let e = parse("[connections.a]\nplugin = \"jira\"\nbogus = 1\n").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn inline_secret_warns_but_never_shows_the_secret() {
        let cfg = parse(
            "[connections.a]\nplugin = \"jira\"\nauth = { kind = \"bearer\", token = \"s3cr3t-value\" }\n",
        )
        .unwrap();
        let w = cfg.warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("token_env") && !w[0].contains("s3cr3t-value"));
        let creds = cfg
            .credentials("connections.a.auth", &cfg.connections["a"].auth)
            .unwrap();
        assert!(!format!("{creds:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn environment_overrides_only_section_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tollgate.toml");
        std::fs::write(&path, "[runtime.limits]\ntimeout_secs = 10\n").unwrap();
        let vars = [
            ("TOLLGATE_RUNTIME__LIMITS__TIMEOUT_SECS", "3"),
            ("TOLLGATE_LOG_FORMAT", "json"),
            ("TOLLGATE_CONFIG", "/elsewhere.toml"),
            ("OTHER__THING", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let cfg = Config::load_with_env(&path, vars).unwrap();
        assert_eq!(cfg.runtime.limits.timeout_secs, Some(3.0));
        // A connection named with a hyphen, and a plugin setting with one, are reached with
        // underscores (variables cannot hold hyphens).
        std::fs::write(
            &path,
            "[connections.azure-devops]\nplugin = \"azure-devops\"\nbase_url = \"https://dev.azure.com/a\"\n[connections.azure-devops.settings]\nwork-item-types = \"x\"\n",
        )
        .unwrap();
        let vars = [
            (
                "TOLLGATE_CONNECTIONS__AZURE_DEVOPS__BASE_URL",
                "https://dev.azure.com/b",
            ),
            (
                "TOLLGATE_CONNECTIONS__AZURE_DEVOPS__SETTINGS__WORK_ITEM_TYPES",
                "y",
            ),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let cfg = Config::load_unchecked_with_env(&path, vars).unwrap();
        let c = &cfg.connections["azure-devops"];
        assert_eq!(c.base_url.as_deref(), Some("https://dev.azure.com/b"));
        assert_eq!(c.settings["work-item-types"].as_str(), Some("y"));
        assert_eq!(
            cfg.connections.len(),
            1,
            "no second connection `azure_devops`"
        );
        std::fs::write(&path, "[runtime.limits]\ntimeout_secs = 10\n").unwrap();
        let bad = [("TOLLGATE_RUNTIME__LIMITS__TIMEOUT", "3".to_string())]
            .map(|(k, v)| (k.to_string(), v));
        let e = Config::load_with_env(&path, bad).unwrap_err();
        assert!(e.to_string().contains("timeout"), "{e}");
    }

    #[test]
    fn parse_errors_read_as_plain_words_with_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tollgate.toml");
        for (text, key, says) in [
            (
                "[daemon.jobs.n]\nschedule = \"0 0 2 * * *\"\nsteps = [\"nope\"]\n",
                "daemon.jobs.n.steps",
                "`nope` is not one of: sync, check, publish, report",
            ),
            (
                "[reports]\nscoring = \"magic\"\n",
                "reports.scoring",
                "`magic` is not one of: wsjf, cd3",
            ),
            (
                "[connections.a]\nplugin = \"jira\"\nauth = { kind = \"basics\" }\n",
                "connections.a.auth.kind",
                "`basics` is not one of: none, basic, bearer",
            ),
            (
                "[runtime.limits]\nmemory_mib = \"lots\"\n",
                "runtime.limits.memory_mib",
                "wrong type: found string \"lots\", expected an integer",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            match Config::load_with_env(&path, []).unwrap_err() {
                ConfigError::Invalid {
                    key: k, message, ..
                } => {
                    assert_eq!(k, key);
                    assert!(message.contains(says), "{message}");
                }
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn every_enum_value_in_messages_is_one_the_file_may_use() {
        fn parses<T: serde::de::DeserializeOwned>(v: &str) -> bool {
            serde_json::from_value::<T>(serde_json::Value::String(v.into())).is_ok()
        }
        for (name, values) in ENUM_VALUES {
            for v in *values {
                let ok = match *name {
                    "JobStep" => parses::<JobStep>(v),
                    "Scoring" => parses::<Scoring>(v),
                    "AuthKind" => parses::<AuthKind>(v),
                    "ReportKind" => parses::<ReportKind>(v),
                    other => panic!("no check for {other}"),
                };
                assert!(ok, "{name}: {v}");
            }
        }
    }

    #[test]
    fn limits_out_of_range_are_problems_not_panics() {
        for (text, key) in [
            (
                "[runtime.limits]\ntimeout_secs = -1\n",
                "runtime.limits.timeout_secs",
            ),
            (
                "[runtime.limits]\ncpu_secs = nan\n",
                "runtime.limits.cpu_secs",
            ),
            (
                "[runtime.limits]\nhttp_timeout_secs = 1e30\n",
                "runtime.limits.http_timeout_secs",
            ),
            (
                "[runtime.limits]\nmax_retry_wait_secs = inf\n",
                "runtime.limits.max_retry_wait_secs",
            ),
            (
                "[runtime.limits]\nmemory_mib = 0\n",
                "runtime.limits.memory_mib",
            ),
            (
                "[connections.a]\nplugin = \"jira\"\nlimits = { timeout_secs = 0 }\n",
                "connections.a.limits.timeout_secs",
            ),
            ("[sync]\nmax_delete_share = 1.5\n", "sync.max_delete_share"),
            (
                "[sync]\nstream_timeout_secs = -3\n",
                "sync.stream_timeout_secs",
            ),
            (
                "[daemon]\nshutdown_grace_secs = inf\n",
                "daemon.shutdown_grace_secs",
            ),
            ("[daemon]\ncatch_up_hours = -1\n", "daemon.catch_up_hours"),
            ("[daemon]\nlease_secs = 1\n", "daemon.lease_secs"),
            ("[daemon]\nlease_secs = nan\n", "daemon.lease_secs"),
            ("[daemon]\ninstance = \"two words\"\n", "daemon.instance"),
            ("[store]\nurl = \"postgres://u:secret@db/\"\n", "store.url"),
            ("[reports]\ncapacity_fte = -3\n", "reports.capacity_fte"),
            (
                "[reports]\nsteering_date = \"2026-02-30\"\n",
                "reports.steering_date",
            ),
            (
                "[reports]\nsteering_interval_days = 0\n",
                "reports.steering_interval_days",
            ),
            ("[store]\nurl = \"tollgate.db\"\n", "store.url"),
        ] {
            let cfg: Config = toml::from_str(text).unwrap();
            let keys: Vec<String> = cfg
                .problems()
                .into_iter()
                .map(|e| match e {
                    ConfigError::Invalid { key, .. } => key,
                    other => other.to_string(),
                })
                .collect();
            assert_eq!(keys, [key], "{text}");
            // And nothing panics on the way to the effective limits.
            for conn in cfg.connections.values() {
                let _ = cfg.limits(conn);
            }
            let _ = cfg.runtime.limits.apply(Limits::default());
        }
    }

    #[test]
    fn missing_env_token_is_named_without_value() {
        let cfg = parse(
            "[connections.a]\nplugin = \"jira\"\nauth = { kind = \"bearer\", token_env = \"TOLLGATE_TEST_UNSET_VAR\" }\n",
        )
        .unwrap();
        let e = cfg
            .credentials("connections.a.auth", &cfg.connections["a"].auth)
            .unwrap_err();
        assert!(e.to_string().contains("TOLLGATE_TEST_UNSET_VAR"), "{e}");
    }
}
