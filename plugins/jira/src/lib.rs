//! The Jira plugin: Jira Cloud and Data Center.
//!
//! Streams, in order: `initiatives` (epics, found by hierarchy level, with their risks and the
//! gate decision on record), `work-items` (children: `parent` on Cloud, Epic Link on Data
//! Center), `sprints` (of the project's scrum boards) and `time-entries` (worklogs through
//! `/worklog/updated` + `/worklog/list` + `/worklog/deleted`). Business-case and governance
//! values come from custom fields named in the settings and resolved to this site's ids.
//! `push` keeps one Tollgate comment per initiative up to date. See docs/jira.md.

#![warn(missing_docs)]

pub mod api;
pub mod fields;
#[doc(hidden)]
pub mod fuzzing;
pub mod kept;
pub mod pull;
pub mod push;
pub mod rich_text;

use api::{CONNECTION, Jira};
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
    /// `cloud` (REST v3, basic email:token) or `data-center` (REST v2, bearer token).
    #[serde(default)]
    pub deployment: Deployment,
    /// The project key the portfolio lives in (its epics and their issues; worklogs count
    /// when their issue is in it or under one of its epics).
    #[serde(default = "default_project", deserialize_with = "project_key")]
    pub project: String,
    /// Keys of the teams' projects whose stories, tasks and bugs (and their sub-tasks) may sit
    /// under the portfolio's epics: those that do are work items of their epic, the others are
    /// left out. Risks filed there under a portfolio epic are read too. Empty (the default):
    /// work items and risks are read from `project` alone.
    #[serde(default, deserialize_with = "project_keys")]
    pub team_projects: Vec<String>,
    /// Board ids to read sprints from; empty: every scrum board of the project.
    #[serde(default)]
    pub boards: Vec<u64>,
    /// Field names (or `customfield_NNNNN` ids) per attribute; see `fields::DEFAULT_FIELDS`.
    /// An empty name switches an attribute off.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The issue type of risks filed under an epic.
    #[serde(default = "default_risk_type")]
    pub risk_issue_type: String,
    /// Epic type names, used only when the server reports no hierarchy levels.
    #[serde(default = "default_epic_types")]
    pub epic_issue_types: Vec<String>,
    /// Jira account id (Cloud) or user name (Data Center) -> the person id used in HR files.
    #[serde(default)]
    pub people: BTreeMap<String, String>,
    /// Issue link types between epics that are dependencies: "A blocks B" (the type's outward
    /// description) means B depends on A. Empty: links are not read.
    #[serde(default = "default_dependency_links")]
    pub dependency_link_types: Vec<String>,
    /// A label on the providing epic saying its team accepts what depends on it; without it a
    /// linked dependency is unaccepted. Empty: Jira says nothing about acceptance (unknown).
    #[serde(default = "default_accepted_label")]
    pub dependency_accepted_label: String,
}

fn default_dependency_links() -> Vec<String> {
    vec!["Blocks".to_string()]
}

fn default_accepted_label() -> String {
    "dependency-accepted".to_string()
}

fn default_project() -> String {
    "BIZ".to_string()
}

/// A project key as Jira makes them: a letter, then letters, digits or underscores. A project
/// id (all digits) is refused: the issues' keys, which say what is the portfolio's, carry the
/// key.
fn project_key<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let key = String::deserialize(d)?;
    well_formed_key("project", &key).map_err(serde::de::Error::custom)?;
    Ok(key)
}

/// `team-projects`: project keys as [`project_key`] reads one, each once.
fn project_keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let keys = Vec::<String>::deserialize(d)?;
    for (n, key) in keys.iter().enumerate() {
        well_formed_key("team-projects", key).map_err(serde::de::Error::custom)?;
        if keys[..n].iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return Err(serde::de::Error::custom(format!(
                "team-projects names `{key}` twice"
            )));
        }
    }
    Ok(keys)
}

/// Whether `key` is a Jira project key: a letter, then letters, digits or underscores.
fn well_formed_key(setting: &str, key: &str) -> Result<(), String> {
    let mut chars = key.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "{setting}: `{key}` is not a Jira project key (a letter, then letters, digits or underscores, e.g. BIZ); give the project's key, not its id or name"
        ))
    }
}

impl Settings {
    /// Whether an issue with this key is in the portfolio's project (its key's prefix; Jira
    /// gives an issue moved to another project a key of that project).
    pub fn in_project(&self, issue_key: &str) -> bool {
        issue_key
            .rsplit_once('-')
            .is_some_and(|(project, _)| project.eq_ignore_ascii_case(&self.project))
    }

    /// Whether an issue is the portfolio's: in its project, or under one of its epics (`epic`,
    /// the key of the issue's epic, a sub-task's by its parent's). Jira's searches over team
    /// projects and its worklog lists return others too; they are left out.
    pub fn is_portfolios(&self, issue_key: &str, epic: Option<&str>) -> bool {
        self.in_project(issue_key) || epic.is_some_and(|e| self.in_project(e))
    }

    /// The settings as read, checked for what one value cannot say alone: `team-projects`
    /// must not name the portfolio's own project.
    pub fn read(text: &str) -> Result<Settings, PluginError> {
        let settings: Settings = tollgate_plugin_api::settings(text)?;
        if let Some(own) = settings
            .team_projects
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&settings.project))
        {
            return Err(PluginError::Config(format!(
                "team-projects names `{own}`, the portfolio's own project (`project`); list only the teams' other projects"
            )));
        }
        Ok(settings)
    }

    /// The JQL clause of the portfolio's project alone (its epics'; the projects' clause of
    /// checkpoints written before `team-projects`).
    pub fn project_clause(&self) -> String {
        format!("project = {}", api::jql_list(&[&self.project]))
    }

    /// The JQL clause of the projects whose issues may be work items and risks: `project` and
    /// the `team-projects`.
    pub fn work_projects_clause(&self) -> String {
        if self.team_projects.is_empty() {
            return self.project_clause();
        }
        let mut keys = vec![self.project.as_str()];
        keys.extend(self.team_projects.iter().map(String::as_str));
        format!("project in ({})", api::jql_list(&keys))
    }
}

fn default_risk_type() -> String {
    "Risk".to_string()
}

fn default_epic_types() -> Vec<String> {
    vec!["Epic".to_string()]
}

/// Jira Cloud or Data Center.
#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum Deployment {
    /// Jira Cloud.
    #[default]
    Cloud,
    /// Jira Data Center (or Server).
    DataCenter,
}

/// The parts of Jira's `User` we read: Cloud has `accountId`, Data Center `name`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Myself {
    display_name: Option<String>,
    account_id: Option<String>,
    name: Option<String>,
}

struct JiraPlugin;

impl Plugin for JiraPlugin {
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
            "jira",
            env!("CARGO_PKG_VERSION"),
            "Jira Cloud and Data Center: epics, child issues, sprints, worklogs; findings as comments",
        )
        .capabilities(&[Capability::Pull, Capability::Push])
        .connections(&[CONNECTION])
        .streams(STREAMS)
        .settings_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "deployment": {
                    "enum": ["cloud", "data-center"],
                    "default": "cloud",
                    "description": "Jira Cloud (REST v3) or Data Center (REST v2)"
                },
                "project": {"type": "string", "default": "BIZ", "pattern": "^[A-Za-z][A-Za-z0-9_]*$",
                            "description": "Project key of the portfolio: its epics, their issues, and the worklogs on them (an issue of another project counts when it is under one of its epics)"},
                "team-projects": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"}, "uniqueItems": true, "default": [],
                            "description": "Keys of the teams' projects whose issues may sit under the portfolio's epics: those that do are work items (and risks) of their epic"},
                "boards": {"type": "array", "items": {"type": "integer"}, "description": "Boards to read sprints from; default: every scrum board of the project"},
                "fields": {"type": "object", "additionalProperties": false, "properties": field_props,
                           "description": "Custom field name or id per attribute"},
                "risk-issue-type": {"type": "string", "default": "Risk"},
                "epic-issue-types": {"type": "array", "items": {"type": "string"}, "default": ["Epic"]},
                "people": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Jira account id or user name -> person id"},
                "dependency-link-types": {"type": "array", "items": {"type": "string"}, "default": ["Blocks"],
                           "description": "Link types between epics that are dependencies (A blocks B: B depends on A)"},
                "dependency-accepted-label": {"type": "string", "default": "dependency-accepted",
                           "description": "Label on the providing epic that accepts its dependencies; empty: acceptance unknown"}
            }
        }))
        .build()
    }

    fn check(settings: String) -> Result<String, PluginError> {
        let settings = Settings::read(&settings)?;
        let jira = Jira::new(settings.deployment);
        let me: Myself = jira.get(&format!("{}/myself", jira.api()))?;
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
        let settings = Settings::read(&request.settings)?;
        let jira = Jira::new(settings.deployment);
        let cursor = request.cursor.as_deref();
        let checkpoint = request.checkpoint.as_deref();
        match request.stream.as_str() {
            "initiatives" => {
                pull::initiatives(&jira, &settings, cursor, checkpoint, request.page_size)
            }
            "work-items" => {
                pull::work_items(&jira, &settings, cursor, checkpoint, request.page_size)
            }
            "sprints" => pull::sprints(&jira, &settings, cursor),
            "time-entries" => pull::time_entries(&jira, &settings, cursor, checkpoint),
            other => Err(tollgate_plugin_api::unknown_stream(
                other,
                &Self::describe().streams,
            )),
        }
    }

    fn push(request: PushRequest) -> Result<Vec<PushOutcome>, PluginError> {
        let settings = Settings::read(&request.settings)?;
        push::push(
            &Jira::new(settings.deployment),
            &request.findings,
            request.dry_run,
        )
    }
}

tollgate_plugin_api::export_plugin!(JiraPlugin);
