//! What Microsoft's client libraries ask before their first real call: the resource locations
//! (`OPTIONS {org}/_apis`, or `OPTIONS {org}/_apis/{area}`), the resource areas
//! (`GET {org}/_apis/resourceAreas`), and who they are (`GET {org}/_apis/connectionData`);
//! and the core area's projects and teams.
//!
//! The location ids are the ones the clients have compiled in for each operation (for
//! example `72c7ddf8-2cdc-4f60-90cd-ab71c14a399b` for work items), so an unmodified client
//! finds every route the sandbox serves.

use super::{Call, check_version, collection, error, ok};
use crate::Shared;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

/// (id, area, resource name, route template, resource version, released version).
type Location = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u32,
    &'static str,
);

/// The operations the sandbox serves, with the location ids Microsoft's clients look for.
pub const LOCATIONS: &[Location] = &[
    (
        "00d9565f-ed9c-4a06-9a50-00e7896ccab4",
        "Location",
        "ConnectionData",
        "_apis/{resource}",
        1,
        "0.0",
    ),
    (
        "e81700f7-3be2-46de-8624-2eb35882fcaa",
        "Location",
        "ResourceAreas",
        "_apis/{resource}/{areaId}",
        1,
        "0.0",
    ),
    (
        "603fe2ac-9723-48b9-88ad-09305aa6c6e1",
        "core",
        "projects",
        "_apis/{resource}/{*projectId}",
        4,
        "7.1",
    ),
    (
        "d30a3dd1-f8ba-442a-b86a-bd0c0c383e59",
        "core",
        "teams",
        "_apis/projects/{projectId}/{resource}/{*teamId}",
        3,
        "7.1",
    ),
    (
        "1a9c53f7-f243-4447-b110-35ef023636e4",
        "wit",
        "wiql",
        "{project}/{team}/_apis/{area}/{resource}",
        2,
        "7.1",
    ),
    (
        "a02355f5-5f8a-4671-8e32-369d23aac83d",
        "wit",
        "wiql",
        "{project}/{team}/_apis/{area}/{resource}/{id}",
        2,
        "7.1",
    ),
    (
        "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b",
        "wit",
        "workItems",
        "{project}/_apis/{area}/{resource}/{id}",
        3,
        "7.1",
    ),
    (
        "62d3d110-0047-428c-ad3c-4fe872c91c74",
        "wit",
        "workItems",
        "{project}/_apis/{area}/{resource}/${type}",
        3,
        "7.1",
    ),
    (
        "908509b6-4248-4475-a1cd-829139ba419f",
        "wit",
        "workItemsBatch",
        "{project}/_apis/{area}/{resource}",
        1,
        "7.1",
    ),
    (
        "6570bf97-d02c-4a91-8d93-3abe9895b1a9",
        "wit",
        "updates",
        "{project}/_apis/{area}/workItems/{id}/{resource}/{updateNumber}",
        3,
        "7.1",
    ),
    (
        "a00c85a5-80fa-4565-99c3-bcd2181434bb",
        "wit",
        "revisions",
        "{project}/_apis/{area}/workItems/{id}/{resource}/{revisionNumber}",
        3,
        "7.1",
    ),
    (
        "608aac0a-32e1-4493-a863-b9cf4566d257",
        "wit",
        "comments",
        "{project}/_apis/{area}/workItems/{workItemId}/{resource}/{commentId}",
        4,
        "0.0",
    ),
    (
        "b51fd764-e5c2-4b9b-aaf7-3395cf4bdd94",
        "wit",
        "fields",
        "{project}/_apis/{area}/{resource}/{fieldNameOrRefName}",
        3,
        "7.1",
    ),
    (
        "7c8d7a76-4a09-43e8-b5df-bd792f4ac6aa",
        "wit",
        "workItemTypes",
        "{project}/_apis/{area}/{resource}/{type}",
        2,
        "7.1",
    ),
    (
        "7c9d7a76-4a09-43e8-b5df-bd792f4ac6aa",
        "wit",
        "states",
        "{project}/_apis/{area}/workitemtypes/{type}/{resource}",
        1,
        "7.1",
    ),
    (
        "a70579d1-f53a-48ee-a5be-7be8659023b9",
        "wit",
        "classificationNodes",
        "{project}/_apis/{area}/{resource}",
        2,
        "7.1",
    ),
    (
        "5a172953-1b41-49d3-840a-33f79c3ce89f",
        "wit",
        "classificationNodes",
        "{project}/_apis/{area}/{resource}/{structureGroup}/{*path}",
        2,
        "7.1",
    ),
    (
        "b70d8d39-926c-465e-b927-b1bf0e5ca0e0",
        "wit",
        "recycleBin",
        "{project}/_apis/{area}/{resource}/{id}",
        2,
        "7.1",
    ),
    (
        "f5d33bc9-5b49-4a3c-a9bd-f3cd46dd2165",
        "wit",
        "workItemRelationTypes",
        "_apis/{area}/{resource}/{relation}",
        2,
        "7.1",
    ),
    (
        "c9175577-28a1-4b06-9197-8636af9f64ad",
        "work",
        "iterations",
        "{project}/{team}/_apis/{area}/teamsettings/{resource}/{id}",
        1,
        "7.1",
    ),
    (
        "5b3ef1a6-d3ab-44cd-bafd-c7f45db850fa",
        "work",
        "workItems",
        "{project}/{team}/_apis/{area}/teamsettings/iterations/{iterationId}/{resource}",
        1,
        "7.1",
    ),
    (
        "74412d15-8c1a-4352-a48d-ef1ed5587d57",
        "work",
        "capacities",
        "{project}/{team}/_apis/{area}/teamsettings/iterations/{iterationId}/{resource}/{teamMemberId}",
        3,
        "7.1",
    ),
    (
        "2d4faa2e-9150-4cbf-a47a-932b1b4a0773",
        "work",
        "teamdaysoff",
        "{project}/{team}/_apis/{area}/teamsettings/iterations/{iterationId}/{resource}",
        1,
        "7.1",
    ),
];

/// The resource areas: (id, name).
pub const AREAS: &[(&str, &str)] = &[
    ("79134c72-4a58-4b42-976c-04e7115f32bf", "core"),
    ("5264459e-e5e0-4bd8-b118-0985e68a4ec5", "wit"),
    ("1d4f49f9-02b9-4e26-b826-2cdb6195f2a9", "work"),
];

fn location(l: &Location) -> Value {
    let (id, area, resource, template, resource_version, released) = *l;
    json!({
        "id": id,
        "area": area,
        "resourceName": resource,
        "routeTemplate": template,
        "resourceVersion": resource_version,
        "minVersion": 1.0,
        "maxVersion": super::LATEST_VERSION,
        "releasedVersion": released,
    })
}

/// `OPTIONS {org}/_apis` (every location) or `OPTIONS {org}/_apis/{area}` (that area's).
pub(super) fn options(call: &Call, area: &str) -> Response {
    let wanted: Vec<Value> = LOCATIONS
        .iter()
        .filter(|l| area.is_empty() || l.1.eq_ignore_ascii_case(area))
        .map(location)
        .collect();
    if wanted.is_empty() {
        return super::no_route(call);
    }
    collection(wanted)
}

fn area_value(call: &Call, id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "locationUrl": format!("{}/", call.base)})
}

/// Resource areas, connection data, projects and teams.
pub(super) fn handle(shared: &Shared, call: &Call) -> Result<Response, Response> {
    if call.method != Method::GET {
        return Err(super::bad_method(call));
    }
    let d = shared.ado.read().unwrap();
    match call.seg(0).as_deref() {
        Some("resourceareas") => {
            check_version(call, false)?;
            match call.rest.get(1) {
                None => Ok(collection(
                    AREAS
                        .iter()
                        .map(|(id, name)| area_value(call, id, name))
                        .collect(),
                )),
                Some(id) => AREAS
                    .iter()
                    .find(|(a, n)| a.eq_ignore_ascii_case(id) || n.eq_ignore_ascii_case(id))
                    .map(|(a, n)| ok(area_value(call, a, n)))
                    .ok_or_else(|| {
                        error(
                            StatusCode::NOT_FOUND,
                            &format!("VS800074: The resource area {id} was not found."),
                            "ResourceAreaNotFoundException",
                        )
                    }),
            }
        }
        Some("connectiondata") => {
            let me = &d.identities[d.bot()];
            let user = json!({
                "id": me.id,
                "descriptor": me.descriptor,
                "subjectDescriptor": me.descriptor,
                "providerDisplayName": me.display_name,
                "isActive": true,
                "properties": {"Account": {"$type": "System.String", "$value": me.unique_name}},
                "resourceVersion": 2,
                "metaTypeId": 0
            });
            Ok(ok(json!({
                "authenticatedUser": user,
                "authorizedUser": user,
                "instanceId": "2d6f0c3a-4b10-4a6c-9f36-0d4c1a6e2f11",
                "deploymentId": "e2a4d1b0-7f3c-4e61-8a15-3c9b6f2d4e70",
                "deploymentType": "hosted",
                "locationServiceData": {
                    "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                    "defaultAccessMappingMoniker": "PublicAccessMapping",
                    "lastChangeId": 1,
                    "lastChangeId64": 1
                }
            })))
        }
        Some("projects") => {
            check_version(call, false)?;
            let project = json!({
                "id": d.project_id,
                "name": d.project,
                "url": format!("{}/_apis/projects/{}", call.base, d.project_id),
                "state": "wellFormed",
                "revision": 411,
                "visibility": "private",
                "lastUpdateTime": "2026-10-02T09:15:31.377Z"
            });
            match (call.rest.get(1), call.seg(2).as_deref()) {
                (None, _) => Ok(collection(vec![project])),
                (Some(p), None) => {
                    if !p.eq_ignore_ascii_case(&d.project) && !p.eq_ignore_ascii_case(&d.project_id)
                    {
                        return Err(error(
                            StatusCode::NOT_FOUND,
                            &format!(
                                "TF200016: The following project does not exist: {p}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."
                            ),
                            "ProjectDoesNotExistWithNameException",
                        ));
                    }
                    let mut project = project;
                    if call.flag("includeCapabilities") {
                        project["capabilities"] = json!({
                            "versioncontrol": {"sourceControlType": "Git"},
                            "processTemplate": {"templateName": d.process.0, "templateTypeId": d.process.1}
                        });
                        project["defaultTeam"] =
                            json!({"id": d.teams[0].id, "name": d.teams[0].name});
                    }
                    Ok(ok(project))
                }
                (Some(_), Some("teams")) => {
                    let teams: Vec<Value> = d
                        .teams
                        .iter()
                        .map(|t| {
                            json!({
                                "id": t.id,
                                "name": t.name,
                                "url": format!("{}/_apis/projects/{}/teams/{}", call.base, d.project_id, t.id),
                                "description": format!("The {} team.", t.name),
                                "identityUrl": format!("https://spsprodweu5.vssps.visualstudio.com/_apis/Identities/{}", t.id),
                                "projectName": d.project,
                                "projectId": d.project_id
                            })
                        })
                        .collect();
                    Ok(collection(teams))
                }
                _ => Err(super::no_route(call)),
            }
        }
        _ => Err(super::no_route(call)),
    }
}
