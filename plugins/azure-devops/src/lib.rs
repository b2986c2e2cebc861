//! The Azure DevOps plugin: Azure Boards on Azure DevOps Services (REST 7.1).
//!
//! Streams, in order: `initiatives` (epics, with the risks filed under them, the gate decision
//! kept in the epic and their predecessor links as dependencies), `work-items` (everything
//! below the epics, with the epic above each), `sprints` (the teams' iterations) and
//! `time-entries` (effort derived from `CompletedWork` changes, as Azure Boards has no
//! worklogs). Every id stream pages by id through WIQL, so projects above the 20,000-result cap
//! sync completely; an incremental pass reads what changed since the last one began and the
//! recycle bin. DMO fields are mapped by reference name, the estimate field is the process's
//! (StoryPoints, Effort or Size), area paths map to value streams. `push` keeps one Tollgate
//! comment per initiative up to date, and optionally a tag. See docs/azure-devops.md.

#![warn(missing_docs)]

pub mod api;
pub mod fields;
pub mod pull;
pub mod push;

use api::{Ado, CONNECTION};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use tollgate_plugin_api::{
    Capability, Page, Plugin, PluginError, PluginInfo, PullRequest, PushOutcome, PushRequest,
};

/// The streams, in the order the host pulls them.
pub const STREAMS: &[&str] = &["initiatives", "work-items", "sprints", "time-entries"];

/// The connection's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// The organisation, as in `dev.azure.com/{organization}`.
    pub organization: String,
    /// The project (name or id).
    pub project: String,
    /// Teams whose iterations are the sprints; empty: every team of the project.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Work item types that are initiatives.
    #[serde(default = "default_epic_types")]
    pub epic_types: Vec<String>,
    /// The work item type of risks filed under an epic; empty: none.
    #[serde(default = "default_risk_type")]
    pub risk_type: String,
    /// Reference name (or display name) per attribute; see `fields::DEFAULT_FIELDS`. An
    /// empty name switches an attribute off.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Area path -> value stream; the longest matching prefix wins.
    #[serde(default)]
    pub value_streams: BTreeMap<String, String>,
    /// Sign-in name (or identity id) -> the person id used in HR files.
    #[serde(default)]
    pub people: BTreeMap<String, String>,
    /// Prefix of the keys: `ADO-` makes work item 4101 `ADO-4101`; empty: the id itself.
    #[serde(default)]
    pub key_prefix: String,
    /// A tag to put on work items while they have open findings; none: no tag.
    #[serde(default)]
    pub tag: Option<String>,
}

fn default_epic_types() -> Vec<String> {
    vec!["Epic".to_string()]
}

fn default_risk_type() -> String {
    "Risk".to_string()
}

impl Settings {
    /// The key of a work item.
    pub fn key(&self, id: u64) -> String {
        format!("{}{id}", self.key_prefix)
    }

    /// The work item id of a key, if it is one of this connection's.
    pub fn id_of(&self, key: &str) -> Option<u64> {
        key.strip_prefix(self.key_prefix.as_str())?.parse().ok()
    }

    fn check(&self) -> Result<(), PluginError> {
        let bad = |what: &str| Err(PluginError::Config(what.to_string()));
        if self.organization.trim().is_empty() {
            return bad("organization must not be empty");
        }
        if self.project.trim().is_empty() {
            return bad("project must not be empty");
        }
        if self.epic_types.iter().all(|t| t.trim().is_empty()) {
            return bad("epic-types must name at least one work item type");
        }
        if self
            .tag
            .as_deref()
            .is_some_and(|t| t.trim().is_empty() || t.contains(';'))
        {
            return bad("tag must be a word or phrase without `;`");
        }
        if self.key_prefix.chars().any(|c| c.is_ascii_digit()) {
            return bad("key-prefix must not contain digits (keys end with the id)");
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct Project {
    name: String,
    id: String,
}

struct AzureDevOps;

fn settings(json: &str) -> Result<(Settings, Ado), PluginError> {
    let s: Settings = tollgate_plugin_api::settings(json)?;
    s.check()?;
    let ado = Ado::new(&s.organization, &s.project);
    Ok((s, ado))
}

impl Plugin for AzureDevOps {
    fn describe() -> PluginInfo {
        let field_props: serde_json::Map<String, serde_json::Value> = fields::DEFAULT_FIELDS
            .iter()
            .map(|(attribute, default)| {
                (
                    attribute.to_string(),
                    json!({"type": "string", "default": default}),
                )
            })
            .collect();
        tollgate_plugin_api::info(
            "azure-devops",
            env!("CARGO_PKG_VERSION"),
            "Azure DevOps Services: epics, work items, iterations, effort from Completed Work; findings as comments",
        )
        .capabilities(&[Capability::Pull, Capability::Push])
        .connections(&[CONNECTION])
        .streams(STREAMS)
        .settings_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "required": ["organization", "project"],
            "properties": {
                "organization": {"type": "string", "description": "Organisation name in dev.azure.com/{organization}"},
                "project": {"type": "string", "description": "Project name or id"},
                "teams": {"type": "array", "items": {"type": "string"}, "description": "Teams whose iterations are the sprints; default: every team"},
                "epic-types": {"type": "array", "items": {"type": "string"}, "default": ["Epic"]},
                "risk-type": {"type": "string", "default": "Risk", "description": "Work item type of risks under an epic; empty: none"},
                "fields": {"type": "object", "additionalProperties": false, "properties": field_props,
                           "description": "Reference name per attribute"},
                "value-streams": {"type": "object", "additionalProperties": {"type": "string"},
                                  "description": "Area path -> value stream (longest prefix wins)"},
                "people": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Sign-in name or identity id -> person id"},
                "key-prefix": {"type": "string", "default": "", "description": "Prefix of initiative and work item keys"},
                "tag": {"type": "string", "description": "Tag put on work items with open findings"}
            }
        }))
        .build()
    }

    fn check(settings_json: String) -> Result<String, PluginError> {
        let (s, ado) = settings(&settings_json)?;
        let project: Project = ado.get(&ado.org_path(&format!(
            "projects/{}",
            tollgate_plugin_api::http::encode(&s.project)
        )))?;
        Ok(format!(
            "found project {} ({}) in organisation {}",
            project.name, project.id, s.organization
        ))
    }

    fn pull(request: PullRequest) -> Result<Page, PluginError> {
        let (s, ado) = settings(&request.settings)?;
        let cursor = request.cursor.as_deref();
        let checkpoint = request.checkpoint.as_deref();
        match request.stream.as_str() {
            "initiatives" => pull::initiatives(&ado, &s, cursor, checkpoint, request.page_size),
            "work-items" => pull::work_items(&ado, &s, cursor, checkpoint, request.page_size),
            "sprints" => pull::sprints(&ado, &s),
            "time-entries" => pull::time_entries(&ado, &s, cursor, checkpoint),
            other => Err(tollgate_plugin_api::unknown_stream(
                other,
                &Self::describe().streams,
            )),
        }
    }

    fn push(request: PushRequest) -> Result<Vec<PushOutcome>, PluginError> {
        let (s, ado) = settings(&request.settings)?;
        push::push(&ado, &s, &request.findings, request.dry_run)
    }
}

tollgate_plugin_api::export_plugin!(AzureDevOps);
