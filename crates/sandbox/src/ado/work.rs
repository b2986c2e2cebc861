//! The work area (`{project}/{team}/_apis/work/...`): a team's iterations (date-only values at
//! midnight UTC, a time frame computed from today, `$timeframe=current`), the work items of an
//! iteration, capacities, days off and the team's settings.

use super::data::{AdoDataset, HIERARCHY_FORWARD, Node};
use super::{Call, check_version, collection, error, ok, team_index};
use crate::Shared;
use crate::time::ado_timestamp;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;

fn time_frame(n: &Node, today: i64) -> &'static str {
    match n.dates {
        Some((_, finish)) if finish < today => "past",
        Some((start, _)) if start <= today => "current",
        _ => "future",
    }
}

fn iteration_value(d: &AdoDataset, call: &Call, team: usize, n: &Node) -> Value {
    let today = call.now.div_euclid(DAY_MS);
    let (start, finish) = match n.dates {
        Some((s, f)) => (
            json!(ado_timestamp(s * DAY_MS)),
            json!(ado_timestamp(f * DAY_MS)),
        ),
        None => (Value::Null, Value::Null),
    };
    json!({
        "id": n.identifier,
        "name": n.name,
        "path": n.path,
        "attributes": {"startDate": start, "finishDate": finish, "timeFrame": time_frame(n, today)},
        "url": format!("{}/{}/_apis/work/teamsettings/iterations/{}", call.project_base(d), d.teams[team].id, n.identifier)
    })
}

/// One iteration as a team's single read (and its addition) answers it: with `_links`.
fn iteration_with_links(d: &AdoDataset, call: &Call, team: usize, n: &Node) -> Value {
    let mut v = iteration_value(d, call, team, n);
    let team_base = format!("{}/{}", call.project_base(d), d.teams[team].id);
    let me = format!(
        "{team_base}/_apis/work/teamsettings/iterations/{}",
        n.identifier
    );
    let node_path = n
        .path
        .split('\\')
        .skip(1)
        .collect::<Vec<_>>()
        .join("/")
        .replace(' ', "%20");
    v["_links"] = json!({
        "self": {"href": me},
        "project": {"href": format!("{}/_apis/projects/{}", call.base, d.project_id)},
        "team": {"href": format!("{}/_apis/projects/{}/teams/{}", call.base, d.project_id, d.teams[team].id)},
        "teamSettings": {"href": format!("{team_base}/_apis/work/teamsettings")},
        "teamDaysOff": {"href": format!("{me}/teamdaysoff")},
        "capacity": {"href": format!("{me}/capacities")},
        "teamIterations": {"href": format!("{team_base}/_apis/work/teamsettings/iterations")},
        "classificationNode": {"href": format!("{}/_apis/wit/classificationNodes/Iterations/{node_path}", call.project_base(d))}
    });
    v
}

/// The iterations a team subscribes to: those below its own node.
fn team_iterations(d: &AdoDataset, team: usize) -> impl Iterator<Item = &Node> {
    d.iterations.iter().filter(move |n| n.team == Some(team))
}

/// Everything below `_apis/work`.
pub(super) fn handle(shared: &Shared, call: &Call) -> Result<Response, Response> {
    check_version(call, false)?;
    let mut d = shared.ado.write().unwrap();
    if call.project.is_none() {
        return Err(super::no_route(call));
    }
    let team = team_index(&d, call)?;
    match (call.seg(1).as_deref(), call.seg(2).as_deref()) {
        (Some("teamsettings"), None) => {
            let t = &d.teams[team];
            let backlog = team_iterations(&d, team)
                .find(|n| n.dates.is_none())
                .map(|n| json!({"id": n.identifier, "name": n.name, "path": n.path}));
            Ok(ok(json!({
                "backlogIteration": backlog,
                "bugsBehavior": "asTasks",
                "backlogVisibilities": {"Microsoft.EpicCategory": true, "Microsoft.FeatureCategory": true, "Microsoft.RequirementCategory": true},
                "workingDays": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "defaultIteration": null,
                "defaultIterationMacro": "@currentIteration",
                "url": format!("{}/{}/_apis/work/teamsettings", call.project_base(&d), t.id)
            })))
        }
        (Some("teamsettings"), Some("iterations")) => iterations(&mut d, call, team),
        _ => Err(super::no_route(call)),
    }
}

fn iterations(d: &mut AdoDataset, call: &Call, team: usize) -> Result<Response, Response> {
    let today = call.now.div_euclid(DAY_MS);
    let id = call.rest.get(3).cloned();
    let sub = call.seg(4);
    let not_found = |id: &str| {
        error(
            StatusCode::NOT_FOUND,
            &format!("VS402329: The iteration {id} is not one of the team's iterations."),
            "TeamSettingsIterationNotFoundException",
        )
    };
    match (&call.method, id.as_deref(), sub.as_deref()) {
        (&Method::GET, None, _) => {
            let frame = call.param("$timeframe").map(str::to_ascii_lowercase);
            if frame.as_deref().is_some_and(|f| f != "current") {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "VS403454: $timeframe only supports the value 'current'.",
                    "ArgumentException",
                ));
            }
            let list: Vec<Value> = team_iterations(d, team)
                .filter(|n| frame.is_none() || time_frame(n, today) == "current")
                .map(|n| iteration_value(d, call, team, n))
                .collect();
            Ok(collection(list))
        }
        (&Method::POST, None, _) => {
            let body = call.json()?;
            let wanted = body
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let i = d
                .iterations
                .iter()
                .position(|n| n.identifier.eq_ignore_ascii_case(&wanted))
                .ok_or_else(|| not_found(&wanted))?;
            d.iterations[i].team = Some(team);
            let n = d.iterations[i].clone();
            let v = iteration_with_links(d, call, team, &n);
            Ok(super::with_status(StatusCode::CREATED, v))
        }
        (method, Some(id), sub) => {
            let i = d
                .iterations
                .iter()
                .position(|n| n.team == Some(team) && n.identifier.eq_ignore_ascii_case(id))
                .ok_or_else(|| not_found(id))?;
            let n = d.iterations[i].clone();
            match (method, sub) {
                (&Method::GET, None) => Ok(ok(iteration_with_links(d, call, team, &n))),
                (&Method::DELETE, None) => {
                    d.iterations[i].team = None;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                (&Method::GET, Some("workitems")) => {
                    let reference = |id: u64| json!({"id": id, "url": format!("{}/_apis/wit/workItems/{id}", call.base)});
                    let here: Vec<u64> = d
                        .items
                        .iter()
                        .filter(|w| {
                            w.deleted.is_none()
                                && w.text("System.IterationPath") == Some(n.path.as_str())
                        })
                        .map(|w| w.id)
                        .collect();
                    let mut rows = Vec::new();
                    for &id in &here {
                        let w = d.item(id).unwrap();
                        if w.parent().is_some_and(|p| here.contains(&p)) {
                            continue;
                        }
                        rows.push(json!({"rel": null, "source": null, "target": reference(id)}));
                        for r in w
                            .relations
                            .iter()
                            .filter(|r| r.rel == HIERARCHY_FORWARD && here.contains(&r.target))
                        {
                            rows.push(json!({"rel": HIERARCHY_FORWARD, "source": reference(id), "target": reference(r.target)}));
                        }
                    }
                    Ok(ok(json!({
                        "workItemRelations": rows,
                        "url": format!("{}/{}/_apis/work/teamsettings/iterations/{}/workitems", call.project_base(d), d.teams[team].id, n.identifier),
                        "_links": {
                            "self": {"href": format!("{}/{}/_apis/work/teamsettings/iterations/{}/workitems", call.project_base(d), d.teams[team].id, n.identifier)},
                            "iteration": {"href": format!("{}/{}/_apis/work/teamsettings/iterations/{}", call.project_base(d), d.teams[team].id, n.identifier)}
                        }
                    })))
                }
                (&Method::GET, Some("capacities")) => {
                    let member = call.seg(5);
                    let members: Vec<Value> = d.teams[team]
                        .members
                        .clone()
                        .filter(|m| {
                            member
                                .as_deref()
                                .is_none_or(|id| d.identities[*m].id.eq_ignore_ascii_case(id))
                        })
                        .map(|m| {
                            json!({
                                "teamMember": d.identity_value(m),
                                "activities": [{"capacityPerDay": 6.0, "name": "Development"}],
                                "daysOff": [],
                                "url": format!("{}/{}/_apis/work/teamsettings/iterations/{}/capacities/{}", call.project_base(d), d.teams[team].id, n.identifier, d.identities[m].id)
                            })
                        })
                        .collect();
                    if let Some(id) = member {
                        // One member's capacity.
                        return match members.into_iter().next() {
                            Some(mut one) => {
                                one["_links"] = json!({
                                    "self": {"href": one["url"].clone()},
                                    "capacities": {"href": format!("{}/{}/_apis/work/teamsettings/iterations/{}/capacities", call.project_base(d), d.teams[team].id, n.identifier)},
                                    "iteration": {"href": format!("{}/{}/_apis/work/teamsettings/iterations/{}", call.project_base(d), d.teams[team].id, n.identifier)}
                                });
                                Ok(ok(one))
                            }
                            None => Err(not_found(&id)),
                        };
                    }
                    let total = 6.0 * members.len() as f64;
                    Ok(ok(
                        json!({"teamMembers": members, "totalCapacityPerDay": total, "totalDaysOff": 0}),
                    ))
                }
                (&Method::GET, Some("teamdaysoff")) => Ok(ok(json!({
                    "daysOff": [],
                    "url": format!("{}/{}/_apis/work/teamsettings/iterations/{}/teamdaysoff", call.project_base(d), d.teams[team].id, n.identifier),
                    "_links": {
                        "self": {"href": format!("{}/{}/_apis/work/teamsettings/iterations/{}/teamdaysoff", call.project_base(d), d.teams[team].id, n.identifier)},
                        "project": {"href": format!("{}/_apis/projects/{}", call.base, d.project_id)},
                        "team": {"href": format!("{}/_apis/projects/{}/teams/{}", call.base, d.project_id, d.teams[team].id)},
                        "teamIteration": {"href": format!("{}/{}/_apis/work/teamsettings/iterations/{}", call.project_base(d), d.teams[team].id, n.identifier)},
                        "teamIterations": {"href": format!("{}/{}/_apis/work/teamsettings/iterations", call.project_base(d), d.teams[team].id)},
                        "teamSettings": {"href": format!("{}/{}/_apis/work/teamsettings", call.project_base(d), d.teams[team].id)}
                    }
                }))),
                _ => Err(super::bad_method(call)),
            }
        }
        _ => Err(super::bad_method(call)),
    }
}
