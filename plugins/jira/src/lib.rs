//! The Jira plugin: Jira Cloud and Data Center.
//!
//! This version implements `describe` and `check` (authenticate and name the user). Pulling
//! epics, child issues, sprints and worklogs, and writing comments back, land with the Jira
//! issue; until then `pull` answers `unsupported` for every stream.

use serde::Deserialize;
use serde_json::json;
use tollgate_plugin_api::http::Client;
use tollgate_plugin_api::{Capability, Page, Plugin, PluginError, PluginInfo, PullRequest};

/// The logical connection name this plugin sends requests to.
const CONNECTION: &str = "jira";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Settings {
    /// `cloud` (REST v3, basic email:token) or `data-center` (REST v2, bearer token).
    #[serde(default)]
    deployment: Deployment,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum Deployment {
    #[default]
    Cloud,
    DataCenter,
}

impl Deployment {
    fn api(self) -> &'static str {
        match self {
            Deployment::Cloud => "/rest/api/3",
            Deployment::DataCenter => "/rest/api/2",
        }
    }
}

/// The parts of Jira's `User` we read: Cloud has `accountId`, Data Center `name`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Myself {
    display_name: Option<String>,
    account_id: Option<String>,
    name: Option<String>,
}

struct Jira;

impl Plugin for Jira {
    fn describe() -> PluginInfo {
        tollgate_plugin_api::info(
            "jira",
            env!("CARGO_PKG_VERSION"),
            "Jira Cloud and Data Center: epics, child issues, sprints, worklogs; findings as comments",
        )
        .capabilities(&[Capability::Pull, Capability::Push])
        .connections(&[CONNECTION])
        .settings_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "deployment": {
                    "enum": ["cloud", "data-center"],
                    "default": "cloud",
                    "description": "Jira Cloud (REST v3) or Data Center (REST v2)"
                }
            }
        }))
        .build()
    }

    fn check(settings: String) -> Result<String, PluginError> {
        let settings: Settings = tollgate_plugin_api::settings(&settings)?;
        let me: Myself =
            Client::new(CONNECTION).get_json(&format!("{}/myself", settings.deployment.api()))?;
        let who = me
            .display_name
            .or(me.name)
            .or(me.account_id)
            .unwrap_or_else(|| "an unnamed user".to_string());
        let flavour = match settings.deployment {
            Deployment::Cloud => "Jira Cloud",
            Deployment::DataCenter => "Jira Data Center",
        };
        Ok(format!("authenticated to {flavour} as {who}"))
    }

    fn pull(request: PullRequest) -> Result<Page, PluginError> {
        let _: Settings = tollgate_plugin_api::settings(&request.settings)?;
        Err(tollgate_plugin_api::unknown_stream(
            &request.stream,
            &Self::describe().streams,
        ))
    }
}

tollgate_plugin_api::export_plugin!(Jira);
