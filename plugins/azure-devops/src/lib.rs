//! The Azure DevOps plugin (Azure DevOps Services, REST 7.1).
//!
//! This version implements `describe` and `check` (find the configured project). Pulling
//! epics, work items and iterations, and writing comments back, land with the Azure DevOps
//! issue; until then `pull` answers `unsupported` for every stream.

#![warn(missing_docs)]

use serde::Deserialize;
use serde_json::json;
use tollgate_plugin_api::http::{Client, encode};
use tollgate_plugin_api::{Capability, Page, Plugin, PluginError, PluginInfo, PullRequest};

const CONNECTION: &str = "azure-devops";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Settings {
    organization: String,
    project: String,
}

#[derive(Debug, Deserialize)]
struct Project {
    name: String,
    id: String,
}

struct AzureDevOps;

impl Plugin for AzureDevOps {
    fn describe() -> PluginInfo {
        tollgate_plugin_api::info(
            "azure-devops",
            env!("CARGO_PKG_VERSION"),
            "Azure DevOps Services: epics, work items, iterations; findings as comments",
        )
        .capabilities(&[Capability::Pull, Capability::Push])
        .connections(&[CONNECTION])
        .settings_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "required": ["organization", "project"],
            "properties": {
                "organization": {"type": "string", "description": "Organisation name in dev.azure.com/{organization}"},
                "project": {"type": "string", "description": "Project name or id"}
            }
        }))
        .build()
    }

    fn check(settings: String) -> Result<String, PluginError> {
        let settings: Settings = tollgate_plugin_api::settings(&settings)?;
        let path = format!(
            "/{}/_apis/projects/{}?api-version=7.1",
            encode(&settings.organization),
            encode(&settings.project)
        );
        let response = Client::new(CONNECTION).request(
            tollgate_plugin_api::http::Method::Get,
            &path,
            &[],
            None,
        )?;
        // Azure DevOps answers bad credentials with 203 and an HTML sign-in page.
        let is_json = response
            .header("content-type")
            .is_some_and(|c| c.contains("application/json"));
        if response.status == 203 || !is_json {
            return Err(PluginError::Unauthorized(format!(
                "GET {path} answered {} with a sign-in page: the personal access token is wrong or expired",
                response.status
            )));
        }
        let project: Project = response.json()?;
        Ok(format!(
            "found project {} ({}) in organisation {}",
            project.name, project.id, settings.organization
        ))
    }

    fn pull(request: PullRequest) -> Result<Page, PluginError> {
        let _: Settings = tollgate_plugin_api::settings(&request.settings)?;
        Err(tollgate_plugin_api::unknown_stream(
            &request.stream,
            &Self::describe().streams,
        ))
    }
}

tollgate_plugin_api::export_plugin!(AzureDevOps);
