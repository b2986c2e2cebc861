//! The work items stream: every work item below the epics (features, user stories, tasks,
//! bugs, ...), with the epic above it, its iteration and its estimate.

use super::{
    condition, epics_of, finish, open_cursor, person_of, read_changed, status_category, tell_next,
    timestamp, wiql_list,
};
use crate::Settings;
use crate::api::{Ado, MAX_PAGE};
use crate::fields::Reader;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_plugin_api::http::Response;
use tollgate_plugin_api::{DmoRecord, Entity, EntityKind, Page, PluginError, WorkItem, record};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    identifier: String,
    path: String,
    #[serde(default)]
    children: Vec<Node>,
}

/// Iteration path (as work items hold it) -> iteration id, from an answer of the iterations
/// tree (`classificationnodes/Iterations`). The tree writes paths as
/// `\Project\Iteration\Team\Sprint`; work items as `Project\Team\Sprint`.
fn iteration_ids(
    answer: Result<Response, PluginError>,
) -> Result<BTreeMap<String, String>, PluginError> {
    let root: Node = answer?.json()?;
    let mut out = BTreeMap::new();
    let mut stack = vec![&root];
    while let Some(n) = stack.pop() {
        let mut parts: Vec<&str> = n.path.trim_start_matches('\\').split('\\').collect();
        if parts.len() >= 2 && parts[1].eq_ignore_ascii_case("Iteration") {
            parts.remove(1);
        }
        out.insert(parts.join("\\").to_lowercase(), n.identifier.clone());
        stack.extend(n.children.iter());
    }
    Ok(out)
}

/// One page of work items below the epics.
pub fn work_items(
    ado: &Ado,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
    page_size: u32,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let cursor = open_cursor(ado, settings, cursor, checkpoint, &mut page)?;
    // A page is the sync's page size (500 by default) of ids, read 200 a batch, the batches
    // side by side ([`Ado::read`]).
    let top = page_size.clamp(1, MAX_PAGE) as usize;
    let mut skip = settings.epic_types.clone();
    if !settings.risk_type.is_empty() {
        skip.push(settings.risk_type.clone());
    }
    let base = format!("[System.WorkItemType] NOT IN {}", wiql_list(&skip));
    // The page's ids and the iterations tree, asked for together.
    let answers = ado.call_all(&[
        ado.ids_after_request(&condition(&base, &cursor), cursor.after, top)?,
        ado.get_request(ado.project_path("wit/classificationnodes/Iterations?$depth=20")),
    ]);
    let [found, tree] = <[_; 2]>::try_from(answers).map_err(|a| {
        PluginError::Internal(format!("the host answered {} of 2 requests", a.len()))
    })?;
    let found = ado.ids_answered(found, cursor.after, top)?;
    tell_next(&cursor, &found, top);
    let now = cursor.fields.work_item_reading();
    let items = match &cursor.since {
        None => ado.read(&found.ids, now.fields, now.relations)?,
        Some(since) => {
            // The items, and the items below one moved under another parent since the last
            // pass began: they count for another epic now.
            let changed = read_changed(ado, &found.ids, now, since, &[])?;
            let mut items = changed.now;
            items.extend(changed.below.into_iter().filter(|w| {
                let kind = w.kind();
                !skip.iter().any(|s| s.eq_ignore_ascii_case(&kind))
            }));
            items
        }
    };
    let epics = epics_of(ado, settings, &items)?;
    let iterations = if items.is_empty() {
        BTreeMap::new()
    } else {
        iteration_ids(tree)?
    };
    for w in &items {
        let kind = w.kind();
        let state = w.text("System.State").unwrap_or_default();
        let mut r = Reader::new(&cursor.fields, w.id, &w.fields);
        let iteration = w.text("System.IterationPath").unwrap_or_default();
        let sprint_ids = iterations
            .get(&iteration.to_lowercase())
            .filter(|_| !iteration.eq_ignore_ascii_case(&settings.project))
            .map(|id| vec![id.clone()])
            .unwrap_or_default();
        let item = WorkItem {
            key: settings.key(w.id),
            kind: kind.clone(),
            title: w.text("System.Title").unwrap_or_default(),
            status: state.clone(),
            status_category: status_category(&cursor, &kind, &state),
            initiative_key: epics.get(&w.id).map(|&e| settings.key(e)),
            parent_key: w.parent().map(|p| settings.key(p)),
            assignee: w
                .field("System.AssignedTo")
                .and_then(|a| person_of(settings, a)),
            sprint_ids,
            estimate: r.number("estimate"),
            created: timestamp(w.field("System.CreatedDate")),
            started: timestamp(w.field("Microsoft.VSTS.Common.ActivatedDate")),
            resolved: timestamp(w.field("Microsoft.VSTS.Common.ClosedDate")),
        };
        let mut extra = std::mem::take(&mut r.extra);
        if !r.unread.is_empty() {
            extra.insert(tollgate_plugin_api::UNREAD_KEY.to_string(), json!(r.unread));
        }
        for (name, key) in [
            (
                "Microsoft.VSTS.Scheduling.CompletedWork",
                "completed_work_hours",
            ),
            (
                "Microsoft.VSTS.Scheduling.RemainingWork",
                "remaining_work_hours",
            ),
            (
                "Microsoft.VSTS.Scheduling.OriginalEstimate",
                "original_estimate_hours",
            ),
        ] {
            if let Some(v) = w.field(name).filter(|v| v.is_number()) {
                extra.insert(key.into(), v.clone());
            }
        }
        extra.insert("iteration_path".into(), Value::String(iteration));
        page.diagnostics.append(&mut r.diagnostics);
        page.records.push(DmoRecord {
            url: w.web_url(&settings.project),
            source_updated: timestamp(w.field("System.ChangedDate")),
            extra: Value::Object(extra).to_string(),
            ..record(w.id.to_string(), Entity::WorkItem(item))
        });
    }
    finish(ado, page, cursor, &found, top, Some(EntityKind::WorkItem))
}
