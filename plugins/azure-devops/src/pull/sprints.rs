//! The sprints stream: the iterations of the configured teams (or of every team of the
//! project), read whole each time (they are few), so the host sweeps deleted ones.

use crate::Settings;
use crate::api::{Ado, Wrapped};
use crate::fields::date_part;
use serde::Deserialize;
use std::collections::BTreeSet;
use tollgate_plugin_api::{DmoRecord, Entity, Page, PluginError, Sprint, record};

#[derive(Deserialize)]
struct Team {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Iteration {
    id: String,
    name: String,
    path: String,
    attributes: Attributes,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attributes {
    start_date: Option<String>,
    finish_date: Option<String>,
    time_frame: Option<String>,
}

/// Every iteration of the teams, as sprints: past ones closed, the current one active, later
/// and unscheduled ones in the future. An iteration two teams share is one sprint, of the
/// first team.
pub fn sprints(ado: &Ado, settings: &Settings) -> Result<Page, PluginError> {
    let mut page = Page {
        snapshot: true,
        ..Page::default()
    };
    let teams: Vec<String> = if settings.teams.is_empty() {
        let all: Wrapped<Team> = ado.get(&ado.org_path(&format!(
            "projects/{}/teams",
            tollgate_plugin_api::http::encode(&ado.project)
        )))?;
        all.value.into_iter().map(|t| t.name).collect()
    } else {
        settings.teams.clone()
    };
    let mut seen = BTreeSet::new();
    for team in &teams {
        let list: Wrapped<Iteration> =
            ado.get(&ado.team_path(team, "work/teamsettings/iterations"))?;
        for it in list.value {
            if !seen.insert(it.id.clone()) {
                continue;
            }
            let state = match it.attributes.time_frame.as_deref() {
                Some("past") => "closed",
                Some("current") => "active",
                _ => "future",
            };
            let start = it.attributes.start_date.as_deref().and_then(date_part);
            let end = it.attributes.finish_date.as_deref().and_then(date_part);
            page.records.push(DmoRecord {
                extra: serde_json::json!({"iteration_path": it.path}).to_string(),
                ..record(
                    it.id.clone(),
                    Entity::Sprint(Sprint {
                        id: it.id,
                        name: it.name,
                        state: state.to_string(),
                        team: Some(team.clone()),
                        start,
                        end,
                        completed: None,
                        goal: None,
                    }),
                )
            });
        }
    }
    Ok(page)
}
