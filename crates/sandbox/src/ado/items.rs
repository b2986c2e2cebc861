//! The work item tracking area (`_apis/wit/...`): WIQL, work items (one, a list, a batch),
//! their updates, revisions and comments, JSON Patch writes, the recycle bin, and the
//! metadata clients read (fields, types, states, classification nodes, relation types).

use super::data::{
    AdoDataset, DEPENDENCY_FORWARD, DEPENDENCY_REVERSE, FIELDS, HIERARCHY_FORWARD,
    HIERARCHY_REVERSE, RELATED, Relation, TYPES, WorkItem, field_def, field_place, reverse_of,
    type_def,
};
use super::wiql;
use super::{Call, check_version, collection, error, ok};
use crate::Shared;
use crate::time::{ado_timestamp, parse_ado_instant};
use crate::written::{decimal, escaped, json_text, json_value};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The most work items one call may ask for.
pub const MAX_IDS: usize = 200;

/// `$expand` of work item reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expand {
    None,
    Relations,
    Fields,
    Links,
    All,
}

fn expand_of(text: Option<&str>) -> Result<Expand, Response> {
    Ok(match text.map(str::to_ascii_lowercase).as_deref() {
        None | Some("none") => Expand::None,
        Some("relations") => Expand::Relations,
        Some("fields") => Expand::Fields,
        Some("links") => Expand::Links,
        Some("all") => Expand::All,
        Some(other) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "VS403454: The value '{other}' of $expand is not valid: use None, Relations, Fields, Links or All."
                ),
                "ArgumentException",
            ));
        }
    })
}

fn not_found_item(id: impl std::fmt::Display) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "TF401232: Work item {id} does not exist, or you do not have permissions to read it."
        ),
        "WorkItemUnauthorizedAccessException",
    )
}

/// Where a work item is, after the organisation's URL.
const ITEM_PATH: &str = "/_apis/wit/workItems/";

fn item_url(call: &Call, id: u64) -> String {
    format!("{}{ITEM_PATH}{id}", call.base)
}

/// `{base}/_apis/wit/workItems/` ([`item_url`]'s start) escaped as in a JSON string, without
/// its quotes: made once an answer and copied into each of its URLs of work items (a page of
/// 200 items with their links names several hundred).
struct ItemUrls(Vec<u8>);

impl ItemUrls {
    fn of(call: &Call) -> ItemUrls {
        ItemUrls(escaped(&format!("{}{ITEM_PATH}", call.base)))
    }

    /// The URL of work item `id` as a JSON string, onto `out`.
    fn write(&self, out: &mut Vec<u8>, id: u64) {
        self.open(out, id);
        out.push(b'"');
    }

    /// [`ItemUrls::write`] without the closing quote, for a URL below the item's.
    fn open(&self, out: &mut Vec<u8>, id: u64) {
        out.push(b'"');
        out.extend_from_slice(&self.0);
        decimal(out, id);
    }
}

/// [`collection`]'s shape of `n` values each written onto the answer by `write`, as an
/// answer.
fn listed_written(n: usize, room: usize, mut write: impl FnMut(&mut Vec<u8>, usize)) -> Response {
    let mut out = Vec::with_capacity(room + 32);
    out.extend_from_slice(b"{\"count\":");
    decimal(&mut out, n);
    out.extend_from_slice(b",\"value\":[");
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        write(&mut out, i);
    }
    out.extend_from_slice(b"]}");
    super::ok_text(out)
}

/// How to render a work item.
struct View<'a> {
    fields: Option<Wanted<'a>>,
    expand: Expand,
    as_of: Option<i64>,
}

/// The fields a read names (reference names), worked out once a request, not once an item.
struct Wanted<'a> {
    /// The names, in the order a map of them writes them, each once.
    names: Vec<&'a str>,
    /// Their places in [`FIELDS`], for copying them from an item's text ([`Written`]); None
    /// if one is not a field the service defines.
    places: Option<Vec<u16>>,
}

impl<'a> Wanted<'a> {
    fn of(fields: Option<&'a [String]>) -> Option<Wanted<'a>> {
        let mut names: Vec<&str> = fields?.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        let places = names
            .iter()
            .map(|name| field_place(name).map(|p| p as u16))
            .collect();
        Some(Wanted { names, places })
    }
}

/// A work item as the API shows it, or None if it did not exist at `as_of`: as a tree, for the
/// answers that add to it or hold one item ([`ItemJson::write`] writes the pages).
fn render(d: &AdoDataset, call: &Call, w: &WorkItem, view: &View) -> Option<Value> {
    let item = item_json(d, call, w, view)?;
    let mut out = Vec::new();
    item.write(&mut out, &ItemUrls::of(call));
    Some(serde_json::from_slice(&out).expect("a work item written reads back"))
}

/// A work item as the API shows it ([`render`]): its fields borrowed from the dataset where it
/// is as it is now, written by hand onto the answer ([`ItemJson::write`]). A page of
/// `workitemsbatch` is 200 items with their links; serde wrote each link's URL made afresh and
/// escaped it and every member name byte by byte, the largest part of the sandbox's time
/// serving a full sync after the items' fields were written once ([`Written`]).
struct ItemJson<'a> {
    links: Option<Value>,
    comment_version: Option<Value>,
    fields: FieldsJson<'a>,
    id: u64,
    relations: std::borrow::Cow<'a, [Relation]>,
    rev: u32,
}

impl ItemJson<'_> {
    /// The item as JSON onto `out`: members by name, as a tree of them is written (so that a
    /// page reads as it always has, byte for byte).
    fn write(&self, out: &mut Vec<u8>, urls: &ItemUrls) {
        out.push(b'{');
        if let Some(links) = &self.links {
            out.extend_from_slice(b"\"_links\":");
            json_value(out, links);
            out.push(b',');
        }
        if let Some(version) = &self.comment_version {
            out.extend_from_slice(b"\"commentVersionRef\":");
            json_value(out, version);
            out.push(b',');
        }
        out.extend_from_slice(b"\"fields\":");
        self.fields.write(out);
        out.extend_from_slice(b",\"id\":");
        decimal(out, self.id);
        if !self.relations.is_empty() {
            out.extend_from_slice(b",\"relations\":");
            write_relations(out, urls, &self.relations);
        }
        out.extend_from_slice(b",\"rev\":");
        decimal(out, self.rev);
        out.extend_from_slice(b",\"url\":");
        urls.write(out, self.id);
        out.push(b'}');
    }
}

/// An item's fields and each of its updates' changed fields ([`ChangesJson`]) as JSON text,
/// written once for the revision they are of and copied into every answer after. Escaping
/// strings and walking the values' trees was half of the sandbox's time in a full sync of
/// `synthetic:10000` (each item's fields, identities and all, written once by the floor and
/// once by the sync); a real service's cost is not the client's to measure. Written for every
/// item when the sandbox starts and after `_sandbox/change` ([`write_all`]), and on the first
/// read of an item changed since.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    rev: u32,
    /// The fields as a JSON object.
    fields: Box<str>,
    /// Where each field the service defines is in `fields`: for a read naming its fields
    /// (`fields=`), copied from there instead of looked up in the item's map by name and
    /// written afresh. None if one could not be placed (past 4 GiB of text).
    members: Option<Vec<Member>>,
    /// By update, `None` where it changed no field.
    changes: Vec<Option<Box<serde_json::value::RawValue>>>,
}

/// A field's `"name":value` in [`Written::fields`].
#[derive(Debug, Clone, Copy)]
struct Member {
    /// The field's place in [`FIELDS`].
    place: u16,
    start: u32,
    end: u32,
}

impl Written {
    /// An item's fields as the service writes them (members by name), and where each is (none
    /// past 4 GiB of text, which no item holds).
    fn fields(
        fields: &std::collections::BTreeMap<String, Value>,
    ) -> (Box<str>, Option<Vec<Member>>) {
        let mut out = Vec::with_capacity(fields.len() * 48 + 2);
        let mut members = Vec::with_capacity(fields.len());
        out.push(b'{');
        for (n, (name, value)) in fields.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let start = out.len();
            json_text(&mut out, name);
            out.push(b':');
            json_value(&mut out, value);
            if let Some(place) = field_place(name) {
                let (start, end) = (start as u32, out.len() as u32);
                let place = place as u16;
                members.push(Member { place, start, end });
            }
        }
        out.push(b'}');
        let members = u32::try_from(out.len()).is_ok().then_some(members);
        let text = String::from_utf8(out).expect("JSON written from text is UTF-8");
        (text.into_boxed_str(), members)
    }

    /// The fields at these places of [`FIELDS`] that the item has, in that order, as a JSON
    /// object onto `out` (none if its fields could not be placed: see [`Written::fields`]).
    fn write_picked(&self, out: &mut Vec<u8>, places: &[u16]) {
        let members = self.members.as_deref().unwrap_or_default();
        out.push(b'{');
        let mut first = true;
        for place in places {
            if let Some(m) = members.iter().find(|m| m.place == *place) {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(&self.fields.as_bytes()[m.start as usize..m.end as usize]);
            }
        }
        out.push(b'}');
    }
}

/// The item's [`Written`] text, if it is of the item's revision now (an item changed without a
/// new revision, which [`AdoDataset::apply`] never does, is written afresh every time).
fn written(w: &WorkItem) -> Option<&Written> {
    let text = w.written.get_or_init(|| {
        use serde_json::value::to_raw_value;
        let (fields, members) = Written::fields(&w.fields);
        Written {
            rev: w.rev(),
            fields,
            members,
            changes: w
                .updates
                .iter()
                .map(|u| {
                    (!u.fields.is_empty()).then(|| {
                        to_raw_value(&ChangesJson::Of(&u.fields))
                            .expect("an update's changes serialise")
                    })
                })
                .collect(),
        }
    });
    (text.rev == w.rev()).then_some(text)
}

/// Writes every item's [`Written`] text not written yet, side by side on every core (the
/// 110,000 items of `synthetic:10000` take about 1.4 s on one): when the sandbox starts and
/// after a change, so that no client's request pays for it.
pub(crate) fn write_all(d: &AdoDataset) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = d.items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for items in d.items.chunks(share) {
            s.spawn(move || {
                for w in items {
                    written(w);
                }
            });
        }
    });
}

/// An item's fields: all, or those asked for (by name, each once), of the item now or of an
/// older revision.
enum FieldsJson<'a> {
    /// All of them now, as written before ([`Written`]).
    Written(&'a str),
    /// Those at these places of [`FIELDS`] (the names asked for, in name order), copied from
    /// the text written before.
    Picked(&'a Written, &'a [u16]),
    /// All, or those named (in name order), of the item now or of an older revision.
    Tree(
        std::borrow::Cow<'a, std::collections::BTreeMap<String, Value>>,
        Option<&'a [&'a str]>,
    ),
}

impl FieldsJson<'_> {
    /// The fields as a JSON object onto `out`.
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            FieldsJson::Written(text) => out.extend_from_slice(text.as_bytes()),
            FieldsJson::Picked(text, places) => text.write_picked(out, places),
            FieldsJson::Tree(all, wanted) => json_value(out, &FieldsTree(all, *wanted)),
        }
    }
}

/// [`FieldsJson::Tree`]'s fields, to serialise.
struct FieldsTree<'a>(
    &'a std::collections::BTreeMap<String, Value>,
    Option<&'a [&'a str]>,
);

impl serde::Serialize for FieldsTree<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(None)?;
        match self.1 {
            None => {
                for (k, v) in self.0 {
                    map.serialize_entry(k, v)?;
                }
            }
            Some(names) => {
                for name in names {
                    if let Some(v) = self.0.get(*name) {
                        map.serialize_entry(name, v)?;
                    }
                }
            }
        }
        map.end()
    }
}

/// An item's links (or an update's added or removed ones) as a JSON array onto `out`, each as
/// the service writes one: its `attributes` (`isLocked`, `name`), `rel` and the other item's
/// `url` (members by name).
fn write_relations(out: &mut Vec<u8>, urls: &ItemUrls, relations: &[Relation]) {
    out.push(b'[');
    for (n, r) in relations.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"attributes\":{\"isLocked\":false,\"name\":");
        json_text(out, r.name());
        out.extend_from_slice(b"},\"rel\":");
        json_text(out, r.rel);
        out.extend_from_slice(b",\"url\":");
        urls.write(out, r.target);
        out.push(b'}');
    }
    out.push(b']');
}

/// [`render`]'s work item, to write as it is.
fn item_json<'a>(
    d: &AdoDataset,
    call: &Call,
    w: &'a WorkItem,
    view: &'a View<'a>,
) -> Option<ItemJson<'a>> {
    let rev = match view.as_of {
        Some(t) => w.rev_at(t)?,
        None => w.rev(),
    };
    let now = rev == w.rev();
    let names = view.fields.as_ref().map(|f| &f.names[..]);
    let places = view.fields.as_ref().and_then(|f| f.places.as_deref());
    let fields = match (now, written(w)) {
        (true, Some(text)) => match (&view.fields, places) {
            (None, _) => FieldsJson::Written(&text.fields),
            (Some(_), Some(places)) if text.members.is_some() => FieldsJson::Picked(text, places),
            (Some(_), _) => FieldsJson::Tree(std::borrow::Cow::Borrowed(&w.fields), names),
        },
        (true, None) => FieldsJson::Tree(std::borrow::Cow::Borrowed(&w.fields), names),
        (false, _) => FieldsJson::Tree(std::borrow::Cow::Owned(w.fields_at(rev)), names),
    };
    let relations = match (view.expand, now) {
        (Expand::Relations | Expand::All, true) => std::borrow::Cow::Borrowed(&w.relations[..]),
        (Expand::Relations | Expand::All, false) => std::borrow::Cow::Owned(w.relations_at(rev)),
        _ => std::borrow::Cow::Borrowed(&[][..]),
    };
    let comment_version = w.comments.iter().rfind(|c| !c.deleted).map(|c| {
        json!({
            "commentId": c.id,
            "version": c.version,
            "url": format!("{}/_apis/wit/workItems/{}/comments/{}/versions/{}", call.project_base(d), w.id, c.id, c.version)
        })
    });
    let links = matches!(view.expand, Expand::Links | Expand::All).then(|| {
        let kind = w.kind().replace(' ', "%20");
        json!({
            "self": {"href": item_url(call, w.id)},
            "workItemUpdates": {"href": format!("{}/updates", item_url(call, w.id))},
            "workItemRevisions": {"href": format!("{}/revisions", item_url(call, w.id))},
            "workItemComments": {"href": format!("{}/comments", item_url(call, w.id))},
            "html": {"href": format!("{}/{}/_workitems/edit/{}", call.base, d.project, w.id)},
            "workItemType": {"href": format!("{}/_apis/wit/workItemTypes/{kind}", call.project_base(d))},
            "fields": {"href": format!("{}/_apis/wit/fields", call.base)}
        })
    });
    Some(ItemJson {
        links,
        comment_version,
        fields,
        id: w.id,
        relations,
        rev,
    })
}

/// Field names as a client gave them (reference or display names) -> reference names.
fn field_names(list: &[String]) -> Result<Vec<String>, Response> {
    list.iter()
        .map(|f| {
            field_def(f.trim())
                .map(|d| d.reference.to_string())
                .ok_or_else(|| {
                    error(
                        StatusCode::BAD_REQUEST,
                        &format!("TF51535: Cannot find field {}.", f.trim()),
                        "WorkItemTrackingFieldDefinitionNotFoundException",
                    )
                })
        })
        .collect()
}

fn as_of_of(text: Option<&str>) -> Result<Option<i64>, Response> {
    match text {
        None => Ok(None),
        Some(t) => parse_ado_instant(t).map(|(ms, _)| Some(ms)).ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                &format!("VS403454: asOf '{t}' is not a date and time."),
                "ArgumentException",
            )
        }),
    }
}

/// A list of work items, as `GET workitems?ids=` and `POST workitemsbatch` answer it.
#[allow(clippy::too_many_arguments)] // the parameters of the two calls, passed through
fn read_many(
    d: &AdoDataset,
    call: &Call,
    ids: &[String],
    fields: Option<Vec<String>>,
    expand: Option<&str>,
    as_of: Option<&str>,
    omit: bool,
) -> Result<Response, Response> {
    if ids.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "VS403467: At least one work item id is required.",
            "ArgumentException",
        ));
    }
    if ids.len() > MAX_IDS {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!(
                "VS403474: You requested {} work items which exceeds the limit of {MAX_IDS}",
                ids.len()
            ),
            "VssServiceException",
        ));
    }
    if fields.is_some() && expand.is_some_and(|e| !e.eq_ignore_ascii_case("none")) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "The expand parameter can not be used with the fields parameter.",
            "ConflictingParametersException",
        ));
    }
    let expand = expand_of(expand)?;
    let fields = fields.map(|f| field_names(&f)).transpose()?;
    let view = View {
        fields: Wanted::of(fields.as_deref()),
        expand,
        as_of: as_of_of(as_of)?,
    };
    let mut items = Vec::with_capacity(ids.len());
    for raw in ids {
        let item = raw
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|id| d.item(id))
            .and_then(|w| item_json(d, call, w, &view));
        match item {
            Some(v) => items.push(Some(v)),
            None if omit => items.push(None),
            None => return Err(not_found_item(raw.trim())),
        }
    }
    let urls = ItemUrls::of(call);
    // Room for the page at once: an item's fields as written, and its URL and links (each
    // some 90 bytes besides its URL).
    let room: usize = items
        .iter()
        .flatten()
        .map(|item| {
            let fields = match &item.fields {
                FieldsJson::Written(text) => text.len(),
                _ => 512,
            };
            fields + (urls.0.len() + 112) * (item.relations.len() + 1)
        })
        .sum();
    Ok(listed_written(items.len(), room, |out, i| {
        match &items[i] {
            Some(item) => item.write(out, &urls),
            None => out.extend_from_slice(b"null"),
        }
    }))
}

/// Everything below `_apis/wit`.
pub(super) fn handle(shared: &Shared, call: &Call) -> Result<Response, Response> {
    let resource = call.seg(1).unwrap_or_default();
    match resource.as_str() {
        "wiql" => wiql_call(shared, call),
        "workitems" => work_items(shared, call),
        "workitemsbatch" => {
            check_version(call, false)?;
            if call.method != Method::POST {
                return Err(super::bad_method(call));
            }
            let body = call.json()?;
            let ids: Vec<String> = match body.get("ids").and_then(Value::as_array) {
                Some(a) => a.iter().map(|v| v.to_string()).collect(),
                None => Vec::new(),
            };
            let fields = body.get("fields").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            });
            let omit = body
                .get("errorPolicy")
                .and_then(Value::as_str)
                .is_some_and(|p| p.eq_ignore_ascii_case("omit"));
            let d = shared.ado.read().unwrap();
            read_many(
                &d,
                call,
                &ids,
                fields,
                body.get("$expand").and_then(Value::as_str),
                body.get("asOf").and_then(Value::as_str),
                omit,
            )
        }
        "fields" => {
            check_version(call, false)?;
            let one = |f: &super::data::FieldDef| {
                json!({
                    "name": f.name,
                    "referenceName": f.reference,
                    "description": "",
                    "type": f.kind.api_name(),
                    "usage": "workItem",
                    "readOnly": f.read_only,
                    "canSortBy": f.kind != super::data::FieldType::Html,
                    "isQueryable": true,
                    "supportedOperations": [{"referenceName": "SupportedOperations.Equals", "name": "="}],
                    "isIdentity": f.kind == super::data::FieldType::Identity,
                    "isPicklist": f.kind == super::data::FieldType::Picklist,
                    "isPicklistSuggested": false,
                    "url": format!("{}/_apis/wit/fields/{}", call.base, f.reference)
                })
            };
            match call.rest.get(2) {
                None => Ok(collection(FIELDS.iter().map(one).collect())),
                Some(name) => field_def(name).map(|f| ok(one(f))).ok_or_else(|| {
                    error(
                        StatusCode::NOT_FOUND,
                        &format!("TF51535: Cannot find field {name}."),
                        "WorkItemTrackingFieldDefinitionNotFoundException",
                    )
                }),
            }
        }
        "workitemtypes" => {
            check_version(call, false)?;
            let d = shared.ado.read().unwrap();
            let one = |t: &super::data::TypeDef| {
                json!({
                    "name": t.name,
                    "referenceName": t.reference,
                    "description": format!("{} work item type", t.name),
                    "color": "009CCC",
                    "icon": {"id": "icon_list", "url": format!("{}/_apis/wit/workItemIcons/icon_list?color=009CCC&v=2", call.base)},
                    "isDisabled": false,
                    "states": t.states.iter().map(|(n, c, col)| json!({"name": n, "color": col, "category": c})).collect::<Vec<_>>(),
                    "url": format!("{}/_apis/wit/workItemTypes/{}", call.project_base(&d), t.name.replace(' ', "%20"))
                })
            };
            match (call.rest.get(2), call.seg(3).as_deref()) {
                (None, _) => Ok(collection(TYPES.iter().map(one).collect())),
                (Some(name), rest) => {
                    let t = type_def(name).ok_or_else(|| {
                        error(
                            StatusCode::NOT_FOUND,
                            &format!("VS402323: Work item type {name} does not exist."),
                            "WorkItemTypeNotFoundException",
                        )
                    })?;
                    match rest {
                        None => Ok(ok(one(t))),
                        Some("states") => Ok(collection(
                            t.states
                                .iter()
                                .map(|(n, c, col)| json!({"name": n, "color": col, "category": c}))
                                .collect(),
                        )),
                        Some(_) => Err(super::no_route(call)),
                    }
                }
            }
        }
        "classificationnodes" => {
            check_version(call, false)?;
            let d = shared.ado.read().unwrap();
            classification(&d, call)
        }
        "recyclebin" => {
            check_version(call, false)?;
            let d = shared.ado.read().unwrap();
            let deleted = |w: &WorkItem| -> Value {
                let (at, by) = w.deleted.unwrap_or((0, 0));
                json!({
                    "id": w.id,
                    "code": 200,
                    "type": w.kind(),
                    "name": w.text("System.Title").unwrap_or(""),
                    "project": d.project,
                    "deletedDate": ado_timestamp(at),
                    "deletedBy": d.identities[by].display_name.clone() + " <" + &d.identities[by].unique_name + ">",
                    "url": format!("{}/_apis/wit/recycleBin/{}", call.project_base(&d), w.id)
                })
            };
            match (call.rest.get(2), call.param("ids")) {
                (None, None) => Ok(collection(
                    d.items
                        .iter()
                        .filter(|w| w.deleted.is_some())
                        .map(|w| json!({"id": w.id, "url": format!("{}/_apis/wit/recycleBin/{}", call.project_base(&d), w.id)}))
                        .collect(),
                )),
                (None, Some(ids)) => Ok(collection(
                    ids.split(',')
                        .filter_map(|i| i.trim().parse::<u64>().ok())
                        .filter_map(|i| d.index(i).map(|x| &d.items[x]))
                        .filter(|w| w.deleted.is_some())
                        .map(deleted)
                        .collect(),
                )),
                (Some(id), _) => {
                    let w = id
                        .parse::<u64>()
                        .ok()
                        .and_then(|i| d.index(i).map(|x| &d.items[x]))
                        .filter(|w| w.deleted.is_some())
                        .ok_or_else(|| not_found_item(id))?;
                    let mut v = deleted(w);
                    v["resource"] = render(&d, call, w, &View { fields: None, expand: Expand::None, as_of: None }).unwrap_or(Value::Null);
                    Ok(ok(v))
                }
            }
        }
        "workitemrelationtypes" => {
            check_version(call, false)?;
            let types = [
                (HIERARCHY_FORWARD, "Child", "tree"),
                (HIERARCHY_REVERSE, "Parent", "tree"),
                (DEPENDENCY_FORWARD, "Successor", "dependency"),
                (DEPENDENCY_REVERSE, "Predecessor", "dependency"),
                (RELATED, "Related", "network"),
            ];
            Ok(collection(
                types
                    .iter()
                    .map(|(r, n, topology)| {
                        json!({
                            "attributes": {"usage": "workItemLink", "editable": false, "enabled": true,
                                           "acyclic": *topology != "network", "directional": *topology != "network",
                                           "singleTarget": *r == HIERARCHY_REVERSE, "topology": topology},
                            "referenceName": r,
                            "name": n,
                            "url": format!("{}/_apis/wit/workItemRelationTypes/{r}", call.base)
                        })
                    })
                    .collect(),
            ))
        }
        _ => Err(super::no_route(call)),
    }
}

/// `POST .../_apis/wit/wiql` and `GET .../_apis/wit/wiql/{id}` (a stored query).
fn wiql_call(shared: &Shared, call: &Call) -> Result<Response, Response> {
    check_version(call, false)?;
    let text = match (&call.method, call.rest.get(2)) {
        (&Method::POST, None) => {
            let body = call.json()?;
            body.get("query")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    error(
                        StatusCode::BAD_REQUEST,
                        "VS402323: The request body must hold the query as {\"query\": \"SELECT ...\"}.",
                        "ArgumentNullException",
                    )
                })?
        }
        (&Method::GET | &Method::HEAD, Some(id)) => {
            let d = shared.ado.read().unwrap();
            stored_query(&d, id).ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    &format!("TF401243: The query {id} does not exist, or you do not have permission to read it."),
                    "QueryItemNotFoundException",
                )
            })?
        }
        _ => return Err(super::bad_method(call)),
    };
    let d = shared.ado.read().unwrap();
    let bad = |m: String| {
        error(
            StatusCode::BAD_REQUEST,
            &m,
            "WorkItemTrackingQueryException",
        )
    };
    let q = wiql::parse(&text).map_err(|e| bad(e.0))?;
    let top = match call.param("$top") {
        None => None,
        Some(t) => Some(
            t.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("VS403454: $top '{t}' is not a whole number.")))?,
        ),
    };
    let ctx = wiql::Context {
        project: call.project.as_deref(),
        me: d.bot(),
        now: call.now,
        time_precision: call.flag("timePrecision"),
    };
    let outcome = wiql::run(&q, &d, &ctx, top).map_err(|e| bad(e.0))?;
    let column = |f: &str| {
        let def = field_def(f);
        json!({
            "referenceName": def.map_or(f, |d| d.reference),
            "name": def.map_or(f, |d| d.name),
            "url": format!("{}/_apis/wit/fields/{}", call.base, def.map_or(f, |d| d.reference))
        })
    };
    let mut body = json!({
        "queryType": if q.links { if q.mode.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("recursive")) { "tree" } else { "oneHop" } } else { "flat" },
        "queryResultType": if q.links { "workItemLink" } else { "workItem" },
        "asOf": wiql::as_of_text(&q, call.now),
        "columns": q.select.iter().map(|f| column(f)).collect::<Vec<_>>(),
        "sortColumns": q.order.iter().map(|(f, desc)| json!({"field": column(f), "descending": desc})).collect::<Vec<_>>(),
    });
    let reference = |id: u64| json!({"id": id, "url": item_url(call, id)});
    match outcome {
        wiql::Outcome::Items(ids) => {
            if call.method == Method::HEAD {
                return Ok(
                    (StatusCode::OK, [("x-total-count", ids.len().to_string())]).into_response()
                );
            }
            // The head as a tree, the references (a page of 200 for each a paged client
            // asks) by hand after it: `workItems` is the last member by name.
            let urls = ItemUrls::of(call);
            let mut out = Vec::with_capacity(512 + ids.len() * (urls.0.len() + 24));
            json_value(&mut out, &body);
            out.pop();
            out.extend_from_slice(b",\"workItems\":[");
            for (n, id) in ids.into_iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"id\":");
                decimal(&mut out, id);
                out.extend_from_slice(b",\"url\":");
                urls.write(&mut out, id);
                out.push(b'}');
            }
            out.extend_from_slice(b"]}");
            return Ok(super::ok_text(out));
        }
        wiql::Outcome::Links(rows) => {
            body["workItemRelations"] = Value::Array(
                rows.into_iter()
                    .map(|(rel, source, target)| {
                        json!({"rel": rel, "source": source.map(reference), "target": reference(target)})
                    })
                    .collect(),
            );
        }
    }
    Ok(ok(body))
}

/// The project's stored queries: (id, WIQL).
pub const STORED_QUERIES: &[(&str, &str)] = &[(
    "1e4e5b17-f212-4ba2-9c2f-a95600ef50a5",
    "SELECT [System.Id], [System.Title], [System.State] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] = 'Epic' ORDER BY [System.Id]",
)];

fn stored_query(_: &AdoDataset, id: &str) -> Option<String> {
    STORED_QUERIES
        .iter()
        .find(|(q, _)| q.eq_ignore_ascii_case(id))
        .map(|(_, text)| text.to_string())
}

/// `_apis/wit/workitems[...]`.
fn work_items(shared: &Shared, call: &Call) -> Result<Response, Response> {
    let id_seg = call.rest.get(2).cloned();
    let sub = call.seg(3);
    // `workitems/$Task`: create.
    if let Some(kind) = id_seg.as_deref().and_then(|s| s.strip_prefix('$')) {
        check_version(call, false)?;
        if call.method != Method::POST {
            return Err(super::bad_method(call));
        }
        return create(shared, call, kind);
    }
    match (id_seg.as_deref(), sub.as_deref()) {
        (None, _) => {
            check_version(call, false)?;
            match call.method {
                Method::GET => {
                    let ids: Vec<String> = call
                        .param("ids")
                        .map(|s| {
                            s.split(',')
                                .filter(|x| !x.trim().is_empty())
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    let fields = call
                        .param("fields")
                        .map(|s| s.split(',').map(str::to_string).collect::<Vec<_>>());
                    let omit = call
                        .param("errorPolicy")
                        .is_some_and(|p| p.eq_ignore_ascii_case("omit"));
                    let d = shared.ado.read().unwrap();
                    read_many(
                        &d,
                        call,
                        &ids,
                        fields,
                        call.param("$expand"),
                        call.param("asOf"),
                        omit,
                    )
                }
                _ => Err(super::bad_method(call)),
            }
        }
        (Some(id), None) => {
            check_version(call, false)?;
            let id: u64 = id.parse().map_err(|_| not_found_item(id))?;
            match call.method {
                Method::GET => {
                    let fields = call
                        .param("fields")
                        .map(|s| s.split(',').map(str::to_string).collect::<Vec<_>>());
                    if fields.is_some()
                        && call
                            .param("$expand")
                            .is_some_and(|e| !e.eq_ignore_ascii_case("none"))
                    {
                        return Err(error(
                            StatusCode::BAD_REQUEST,
                            "The expand parameter can not be used with the fields parameter.",
                            "ConflictingParametersException",
                        ));
                    }
                    let fields = fields.map(|f| field_names(&f)).transpose()?;
                    // One item, read whole, comes with its `_links` (a list does not).
                    let expand = match (call.param("$expand"), &fields) {
                        (None, None) => Expand::Links,
                        (given, _) => expand_of(given)?,
                    };
                    let view = View {
                        fields: Wanted::of(fields.as_deref()),
                        expand,
                        as_of: as_of_of(call.param("asOf"))?,
                    };
                    let d = shared.ado.read().unwrap();
                    let w = d.item(id).ok_or_else(|| not_found_item(id))?;
                    render(&d, call, w, &view)
                        .map(ok)
                        .ok_or_else(|| not_found_item(id))
                }
                Method::PATCH => patch(shared, call, id),
                Method::DELETE => {
                    let mut d = shared.ado.write().unwrap();
                    let w = d.item(id).ok_or_else(|| not_found_item(id))?.clone();
                    if call.flag("destroy") {
                        if let Some(i) = d.index(id) {
                            d.items.remove(i);
                        }
                        return Ok(StatusCode::NO_CONTENT.into_response());
                    }
                    let by = d.bot();
                    d.delete(id, by, call.now);
                    Ok(ok(json!({
                        "id": id,
                        "code": 200,
                        "type": w.kind(),
                        "name": w.text("System.Title").unwrap_or(""),
                        "project": d.project,
                        "deletedDate": ado_timestamp(call.now),
                        "deletedBy": format!("{} <{}>", d.identities[by].display_name, d.identities[by].unique_name),
                        "url": format!("{}/_apis/wit/recycleBin/{id}", call.project_base(&d)),
                        "resource": null
                    })))
                }
                _ => Err(super::bad_method(call)),
            }
        }
        (Some(id), Some("updates")) => {
            check_version(call, false)?;
            let id: u64 = id.parse().map_err(|_| not_found_item(id))?;
            let d = shared.ado.read().unwrap();
            let w = d.item(id).ok_or_else(|| not_found_item(id))?;
            let (skip, top) = skip_top(call)?;
            let mut updates = UpdatesWritten::new(&d, call, w);
            match call.rest.get(4) {
                None => {
                    let first = skip.min(w.updates.len());
                    let n = w.updates.len().saturating_sub(skip).min(top);
                    Ok(listed_written(n, n * 1024, |out, i| {
                        updates.write(out, first + i)
                    }))
                }
                Some(n) => n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=w.updates.len()).contains(n))
                    .map(|n| {
                        let mut out = Vec::with_capacity(1024);
                        updates.write(&mut out, n - 1);
                        super::ok_text(out)
                    })
                    .ok_or_else(|| {
                        error(
                            StatusCode::NOT_FOUND,
                            &format!("VS402322: Update {n} of work item {id} does not exist."),
                            "WorkItemUpdateNotFoundException",
                        )
                    }),
            }
        }
        (Some(id), Some("revisions")) => {
            check_version(call, false)?;
            let id: u64 = id.parse().map_err(|_| not_found_item(id))?;
            let d = shared.ado.read().unwrap();
            let w = d.item(id).ok_or_else(|| not_found_item(id))?;
            let expand = expand_of(call.param("$expand"))?;
            let revision = |rev: u32| {
                let at = w.updates[rev as usize - 1].at;
                render(
                    &d,
                    call,
                    w,
                    &View {
                        fields: None,
                        expand,
                        as_of: Some(at),
                    },
                )
                .map(|mut v| {
                    v["rev"] = json!(rev);
                    v["fields"] = Value::Object(w.fields_at(rev).into_iter().collect());
                    v
                })
            };
            let (skip, top) = skip_top(call)?;
            match call.rest.get(4) {
                None => Ok(collection(
                    (1..=w.rev())
                        .skip(skip)
                        .take(top)
                        .filter_map(revision)
                        .collect(),
                )),
                Some(n) => n
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=w.rev()).contains(n))
                    .and_then(revision)
                    .map(ok)
                    .ok_or_else(|| {
                        error(
                            StatusCode::NOT_FOUND,
                            &format!("VS402322: Revision {n} of work item {id} does not exist."),
                            "WorkItemRevisionNotFoundException",
                        )
                    }),
            }
        }
        (Some(id), Some("comments")) => {
            check_version(call, true)?;
            let id: u64 = id.parse().map_err(|_| not_found_item(id))?;
            comments(shared, call, id)
        }
        _ => Err(super::no_route(call)),
    }
}

fn skip_top(call: &Call) -> Result<(usize, usize), Response> {
    let n = |name: &str, default: usize| -> Result<usize, Response> {
        match call.param(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!("VS403454: {name} '{v}' is not a whole number."),
                    "ArgumentException",
                )
            }),
        }
    };
    Ok((n("$skip", 0)?, n("$top", 200)?.min(200)))
}

/// An identity as an update's `revisedBy` names it (the identity and its `name`, "Display
/// Name <sign-in>"), written without a tree: members by name, as a tree of them is written.
#[derive(serde::Serialize)]
struct IdentityRefJson<'a> {
    #[serde(rename = "_links")]
    links: AvatarLinks<'a>,
    descriptor: &'a str,
    #[serde(rename = "displayName")]
    display_name: &'a str,
    id: &'a str,
    #[serde(rename = "imageUrl")]
    image_url: Avatar<'a>,
    name: NameAndSignIn<'a>,
    #[serde(rename = "uniqueName")]
    unique_name: &'a str,
    url: IdentityUrl<'a>,
}

impl<'a> IdentityRefJson<'a> {
    fn of(d: &'a AdoDataset, i: usize) -> IdentityRefJson<'a> {
        let p = &d.identities[i.min(d.identities.len() - 1)];
        let avatar = Avatar {
            organization: &d.organization,
            descriptor: &p.descriptor,
        };
        IdentityRefJson {
            links: AvatarLinks {
                avatar: Href { href: avatar },
            },
            descriptor: &p.descriptor,
            display_name: &p.display_name,
            id: &p.id,
            image_url: avatar,
            name: NameAndSignIn(p),
            unique_name: &p.unique_name,
            url: IdentityUrl {
                project_id: &d.project_id,
                id: &p.id,
            },
        }
    }
}

#[derive(serde::Serialize)]
struct AvatarLinks<'a> {
    avatar: Href<'a>,
}

#[derive(serde::Serialize)]
struct Href<'a> {
    href: Avatar<'a>,
}

/// Text made as it is written (a string of the page, escaped as any).
macro_rules! written_as_text {
    ($t:ty, $self:ident, $f:ident, $body:expr) => {
        impl std::fmt::Display for $t {
            fn fmt(&$self, $f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                $body
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

/// An identity's picture: `https://dev.azure.com/{organisation}/_apis/GraphProfile/MemberAvatars/{descriptor}`.
#[derive(Clone, Copy)]
struct Avatar<'a> {
    organization: &'a str,
    descriptor: &'a str,
}
written_as_text!(Avatar<'_>, self, f, {
    write!(
        f,
        "https://dev.azure.com/{}/_apis/GraphProfile/MemberAvatars/{}",
        self.organization, self.descriptor
    )
});

/// An identity's REST address.
struct IdentityUrl<'a> {
    project_id: &'a str,
    id: &'a str,
}
written_as_text!(IdentityUrl<'_>, self, f, {
    write!(
        f,
        "https://spsprodweu5.vssps.visualstudio.com/A{}/_apis/Identities/{}",
        self.project_id, self.id
    )
});

/// "Display Name <sign-in>".
struct NameAndSignIn<'a>(&'a super::data::Identity);
written_as_text!(NameAndSignIn<'_>, self, f, {
    write!(f, "{} <{}>", self.0.display_name, self.0.unique_name)
});

/// A work item's updates, written by hand onto one answer ([`UpdatesWritten::write`]): what
/// changed, by whom. `revisedDate` is when the revision it made was superseded (9999-01-01 for
/// the latest), as the service reports it; when the change was made is `System.ChangedDate`'s
/// new value. A full sync reads the updates of every item with hours, a request each; serde
/// wrote each update's member names, URLs and identity byte by byte. Members by name, as a tree
/// of them is written, so the bytes are the same.
struct UpdatesWritten<'a> {
    d: &'a AdoDataset,
    w: &'a WorkItem,
    urls: ItemUrls,
    /// Where in the answer each identity it names was first written, to copy it from.
    identities: Vec<(usize, std::ops::Range<usize>)>,
}

impl<'a> UpdatesWritten<'a> {
    fn new(d: &'a AdoDataset, call: &Call, w: &'a WorkItem) -> UpdatesWritten<'a> {
        UpdatesWritten {
            d,
            w,
            urls: ItemUrls::of(call),
            identities: Vec::new(),
        }
    }

    /// The item's update at `i` (from 0) onto `out`.
    fn write(&mut self, out: &mut Vec<u8>, i: usize) {
        let w = self.w;
        let u = &w.updates[i];
        out.push(b'{');
        if !u.fields.is_empty() {
            out.extend_from_slice(b"\"fields\":");
            match written(w).and_then(|text| text.changes.get(i)?.as_deref()) {
                Some(text) => json_value(out, &ChangesJson::Written(text)),
                None => json_value(out, &ChangesJson::Of(&u.fields)),
            }
            out.push(b',');
        }
        out.extend_from_slice(b"\"id\":");
        decimal(out, i + 1);
        if !u.added.is_empty() || !u.removed.is_empty() {
            out.extend_from_slice(b",\"relations\":{");
            if !u.added.is_empty() {
                out.extend_from_slice(b"\"added\":");
                write_relations(out, &self.urls, &u.added);
            }
            if !u.removed.is_empty() {
                if !u.added.is_empty() {
                    out.push(b',');
                }
                out.extend_from_slice(b"\"removed\":");
                write_relations(out, &self.urls, &u.removed);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b",\"rev\":");
        decimal(out, u.rev);
        out.extend_from_slice(b",\"revisedBy\":");
        self.identity(out, u.by);
        // A timestamp is ASCII digits and signs: nothing in it is escaped.
        out.extend_from_slice(b",\"revisedDate\":\"");
        match w.updates.get(i + 1) {
            Some(next) => out.extend_from_slice(ado_timestamp(next.at).as_bytes()),
            None => out.extend_from_slice(b"9999-01-01T00:00:00Z"),
        }
        out.extend_from_slice(b"\",\"url\":");
        self.urls.open(out, w.id);
        out.extend_from_slice(b"/updates/");
        decimal(out, i + 1);
        out.extend_from_slice(b"\",\"workItemId\":");
        decimal(out, w.id);
        out.push(b'}');
    }

    /// The identity at `at` ([`IdentityRefJson`]) onto `out`: written once an answer, copied
    /// after (an item's updates are mostly by one or two people).
    fn identity(&mut self, out: &mut Vec<u8>, at: usize) {
        match self.identities.iter().find(|(i, _)| *i == at) {
            Some((_, range)) => out.extend_from_within(range.clone()),
            None => {
                let start = out.len();
                json_value(out, &IdentityRefJson::of(self.d, at));
                self.identities.push((at, start..out.len()));
            }
        }
    }
}

/// An update's changed fields: each its old value and its new one, the empty side left out;
/// or as written before ([`Written`]).
enum ChangesJson<'a> {
    Of(&'a std::collections::BTreeMap<String, (Option<Value>, Option<Value>)>),
    Written(&'a serde_json::value::RawValue),
}

impl serde::Serialize for ChangesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let changes = match self {
            ChangesJson::Of(changes) => *changes,
            ChangesJson::Written(text) => return text.serialize(s),
        };
        #[derive(serde::Serialize)]
        struct Change<'a> {
            #[serde(rename = "newValue", skip_serializing_if = "Option::is_none")]
            new: Option<&'a Value>,
            #[serde(rename = "oldValue", skip_serializing_if = "Option::is_none")]
            old: Option<&'a Value>,
        }
        let mut map = s.serialize_map(Some(changes.len()))?;
        for (k, (old, new)) in changes {
            let change = Change {
                new: new.as_ref(),
                old: old.as_ref(),
            };
            map.serialize_entry(k, &change)?;
        }
        map.end()
    }
}

/// A JSON Patch document of work item writes, checked and turned into changes.
struct Changes {
    fields: Vec<(String, Option<Value>)>,
    added: Vec<Relation>,
    removed: Vec<Relation>,
}

fn json_patch(
    d: &AdoDataset,
    call: &Call,
    current: Option<&WorkItem>,
) -> Result<Changes, Response> {
    let content_type = call
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json-patch+json")
    {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!(
                "VS403438: The request indicated a Content-Type of \"{content_type}\" for method type \"{}\" which is not supported. Valid content types for this method are: application/json-patch+json.",
                call.method
            ),
            "VssRequestContentTypeNotSupportedException",
        ));
    }
    let ops = call.json()?;
    let Some(ops) = ops.as_array() else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "VS403472: The request body must be a JSON Patch document (a list of operations).",
            "VssPropertyValidationException",
        ));
    };
    let bad = |m: String| {
        error(
            StatusCode::BAD_REQUEST,
            &m,
            "VssPropertyValidationException",
        )
    };
    let mut out = Changes {
        fields: Vec::new(),
        added: Vec::new(),
        removed: Vec::new(),
    };
    for op in ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        let value = op.get("value").cloned();
        let lower = path.to_ascii_lowercase();
        match kind.as_str() {
            "test" => {
                let Some(w) = current else { continue };
                let actual = if lower == "/rev" {
                    Some(json!(w.rev()))
                } else if let Some(f) = path.strip_prefix("/fields/") {
                    w.fields
                        .get(field_def(f).map_or(f, |d| d.reference))
                        .cloned()
                } else {
                    None
                };
                let same = match (&actual, &value) {
                    (Some(a), Some(b)) => {
                        a == b || (a.as_f64().is_some() && a.as_f64() == b.as_f64())
                    }
                    (None, None) => true,
                    _ => false,
                };
                if !same {
                    return Err(error(
                        StatusCode::PRECONDITION_FAILED,
                        &format!(
                            "TF26071: This work item has been changed by someone else since you opened it. You will need to refresh it and discard your changes. The test of {path} failed."
                        ),
                        "WorkItemRevisionMismatchException",
                    ));
                }
            }
            "add" | "replace" | "remove" => {
                if let Some(f) = path.strip_prefix("/fields/") {
                    let def = field_def(f)
                        .ok_or_else(|| bad(format!("TF51535: Cannot find field {f}.")))?;
                    if def.read_only && !call.flag("bypassRules") {
                        return Err(bad(format!(
                            "TF401320: Rule Error for field {}. Error code: ReadOnly, InvalidEmpty, HasValues, InvalidTooLong.",
                            def.name
                        )));
                    }
                    let v = if kind == "remove" { None } else { value };
                    out.fields.push((def.reference.to_string(), v));
                } else if lower == "/relations/-" && kind == "add" {
                    let v = value.unwrap_or(Value::Null);
                    let rel = v.get("rel").and_then(Value::as_str).unwrap_or("");
                    let rel = [
                        HIERARCHY_FORWARD,
                        HIERARCHY_REVERSE,
                        DEPENDENCY_FORWARD,
                        DEPENDENCY_REVERSE,
                        RELATED,
                    ]
                    .into_iter()
                    .find(|r| r.eq_ignore_ascii_case(rel))
                    .ok_or_else(|| {
                        bad(format!("TF201036: You cannot add a link of type '{rel}'."))
                    })?;
                    let target = v
                        .get("url")
                        .and_then(Value::as_str)
                        .and_then(|u| u.rsplit('/').next())
                        .and_then(|s| s.parse::<u64>().ok())
                        .filter(|t| d.item(*t).is_some())
                        .ok_or_else(|| {
                            bad(
                                "TF201063: The link's url does not name a work item that exists."
                                    .into(),
                            )
                        })?;
                    out.added.push(Relation { rel, target });
                } else if let (Some(index), "remove") =
                    (lower.strip_prefix("/relations/"), kind.as_str())
                {
                    let w =
                        current.ok_or_else(|| bad("VS403473: Nothing to remove from.".into()))?;
                    let r = index
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| w.relations.get(i))
                        .ok_or_else(|| {
                            bad(format!("VS403473: {path} is not a link of the work item."))
                        })?;
                    out.removed.push(r.clone());
                } else {
                    return Err(bad(format!(
                        "VS403473: The path {path} is not valid for a work item."
                    )));
                }
            }
            other => {
                return Err(bad(format!(
                    "VS403473: The operation '{other}' is not supported."
                )));
            }
        }
    }
    Ok(out)
}

/// Check the new values: types, states of the type, the title required.
fn validate(
    kind: &str,
    fields: &[(String, Option<Value>)],
    current: Option<&WorkItem>,
) -> Result<(), Response> {
    let bad = |m: String| error(StatusCode::BAD_REQUEST, &m, "RuleValidationException");
    for (f, v) in fields {
        let Some(v) = v else {
            if f == "System.Title" {
                return Err(bad(
                    "TF401320: Rule Error for field Title. Error code: Required, InvalidEmpty."
                        .into(),
                ));
            }
            continue;
        };
        let def = field_def(f).expect("checked by json_patch");
        use super::data::FieldType::*;
        let fits = match def.kind {
            Integer => {
                v.as_i64().is_some() || v.as_str().is_some_and(|s| s.trim().parse::<i64>().is_ok())
            }
            Double => {
                v.as_f64().is_some() || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok())
            }
            DateTime => v.as_str().and_then(parse_ado_instant).is_some(),
            Identity => v.is_string() || v.is_object(),
            _ => v.is_string() || v.is_number(),
        };
        if !fits {
            return Err(bad(format!(
                "TF401320: Rule Error for field {}. Error code: InvalidType. The value {v} is not a valid {}.",
                def.name,
                def.kind.api_name()
            )));
        }
        if f == "System.State" {
            let state = v.as_str().unwrap_or("");
            let t = type_def(kind);
            if t.is_some_and(|t| {
                !t.states
                    .iter()
                    .any(|(n, _, _)| n.eq_ignore_ascii_case(state))
            }) {
                return Err(bad(format!(
                    "TF401320: Rule Error for field State. Error code: InvalidListValue. '{state}' is not a state of {kind}."
                )));
            }
        }
    }
    if current.is_none()
        && !fields
            .iter()
            .any(|(f, v)| f == "System.Title" && v.is_some())
    {
        return Err(bad(
            "TF401320: Rule Error for field Title. Error code: Required, InvalidEmpty.".into(),
        ));
    }
    Ok(())
}

/// Normalise numbers given as text and identities given by name.
fn normalise(d: &AdoDataset, fields: Vec<(String, Option<Value>)>) -> Vec<(String, Option<Value>)> {
    fields
        .into_iter()
        .map(|(f, v)| {
            let kind = field_def(&f).map(|d| d.kind);
            let v = v.map(|v| match (kind, &v) {
                (Some(super::data::FieldType::Double), Value::String(s)) => {
                    s.trim().parse::<f64>().map(|n| json!(n)).unwrap_or(v)
                }
                (Some(super::data::FieldType::Integer), Value::String(s)) => {
                    s.trim().parse::<i64>().map(|n| json!(n)).unwrap_or(v)
                }
                (Some(super::data::FieldType::Identity), Value::String(s)) => d
                    .identities
                    .iter()
                    .position(|p| {
                        // `name`, `sign-in` or `Name <sign-in>`, as the web form writes it.
                        let (name, mail) = match s.split_once('<') {
                            Some((n, m)) => (n.trim(), m.trim_end_matches('>').trim()),
                            None => (s.trim(), s.trim()),
                        };
                        p.unique_name.eq_ignore_ascii_case(mail)
                            || p.display_name.eq_ignore_ascii_case(name)
                    })
                    .map(|i| d.identity_value(i))
                    .unwrap_or(v),
                (Some(super::data::FieldType::DateTime), Value::String(s)) => parse_ado_instant(s)
                    .map(|(ms, _)| json!(ado_timestamp(ms)))
                    .unwrap_or(v),
                _ => v,
            });
            (f, v)
        })
        .collect()
}

fn patch(shared: &Shared, call: &Call, id: u64) -> Result<Response, Response> {
    let mut d = shared.ado.write().unwrap();
    let current = d.item(id).ok_or_else(|| not_found_item(id))?.clone();
    let changes = json_patch(&d, call, Some(&current))?;
    validate(current.kind(), &changes.fields, Some(&current))?;
    let fields = normalise(&d, changes.fields);
    // The answer to an update carries the item's links and relations unless asked otherwise,
    // as the service's does.
    let expand = match call.param("$expand") {
        None => Expand::All,
        given => expand_of(given)?,
    };
    let mut copy = d.clone_for_validation(call.flag("validateOnly"));
    let work: &mut AdoDataset = match copy.as_mut() {
        Some(c) => c,
        None => &mut d,
    };
    let by = work.bot();
    let view = View {
        fields: None,
        expand,
        as_of: None,
    };
    work.apply(
        id,
        by,
        call.now,
        fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect(),
        changes.added.clone(),
        changes.removed.clone(),
    );
    for r in &changes.added {
        if let Some(back) = reverse_of(r.rel) {
            work.apply(
                r.target,
                by,
                call.now,
                Vec::new(),
                vec![Relation {
                    rel: back,
                    target: id,
                }],
                Vec::new(),
            );
        }
    }
    for r in &changes.removed {
        if let Some(back) = reverse_of(r.rel) {
            work.apply(
                r.target,
                by,
                call.now,
                Vec::new(),
                Vec::new(),
                vec![Relation {
                    rel: back,
                    target: id,
                }],
            );
        }
    }
    let w = work.item(id).expect("just changed").clone();
    let body = render(work, call, &w, &view).expect("exists now");
    Ok(ok(body))
}

fn create(shared: &Shared, call: &Call, kind: &str) -> Result<Response, Response> {
    let mut d = shared.ado.write().unwrap();
    let t = type_def(kind).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            &format!("VS402323: Work item type {kind} does not exist."),
            "WorkItemTypeNotFoundException",
        )
    })?;
    let changes = json_patch(&d, call, None)?;
    validate(t.name, &changes.fields, None)?;
    let fields = normalise(&d, changes.fields);
    let title = fields
        .iter()
        .find(|(f, _)| f == "System.Title")
        .and_then(|(_, v)| v.as_ref())
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let area = fields
        .iter()
        .find(|(f, _)| f == "System.AreaPath")
        .and_then(|(_, v)| v.as_ref())
        .and_then(Value::as_str)
        .unwrap_or(&d.project)
        .to_string();
    let parent = changes
        .added
        .iter()
        .find(|r| r.rel == HIERARCHY_REVERSE)
        .map(|r| r.target);
    let rest: Vec<(&str, Value)> = fields
        .iter()
        .filter(|(f, _)| f != "System.Title" && f != "System.AreaPath")
        .filter_map(|(f, v)| v.clone().map(|v| (f.as_str(), v)))
        .collect();
    let by = d.bot();
    let id = d.create(t.name, &title, &area, None, rest, parent, by, call.now);
    for r in changes.added.iter().filter(|r| r.rel != HIERARCHY_REVERSE) {
        d.link(id, r.rel, r.target, by, call.now);
    }
    let w = d.item(id).expect("just made").clone();
    let body = render(
        &d,
        call,
        &w,
        &View {
            fields: None,
            // A new item comes back with its `_links`, as one read whole does.
            expand: match call.param("$expand") {
                None => Expand::Links,
                given => expand_of(given)?,
            },
            as_of: None,
        },
    )
    .expect("exists");
    Ok(ok(body))
}

/// Comments of a work item: list, read, create, edit, delete.
fn comments(shared: &Shared, call: &Call, id: u64) -> Result<Response, Response> {
    let mut d = shared.ado.write().unwrap();
    if d.item(id).is_none() {
        return Err(not_found_item(id));
    }
    let comment_id = call.rest.get(4).cloned();
    let format = match call.param("format").map(str::to_ascii_lowercase).as_deref() {
        None | Some("html") => "html",
        Some("markdown") => "markdown",
        Some(other) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                &format!("VS403454: format '{other}' is not valid: use markdown or html."),
                "ArgumentException",
            ));
        }
    };
    let text_of = |call: &Call| -> Result<String, Response> {
        let body = call.json()?;
        body.get("text")
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    "VS403654: The comment text must not be empty.",
                    "ArgumentException",
                )
            })
    };
    match (&call.method, comment_id) {
        (&Method::GET, None) => {
            let include_deleted = call.flag("includeDeleted");
            let rendered = call.param("$expand").is_some_and(|e| {
                e.eq_ignore_ascii_case("renderedText") || e.eq_ignore_ascii_case("all")
            });
            let w = d.item(id).unwrap();
            let mut list: Vec<&super::data::Comment> = w
                .comments
                .iter()
                .filter(|c| include_deleted || !c.deleted)
                .collect();
            if let Some(ids) = call.param("ids") {
                let wanted: Vec<u64> = ids
                    .split(',')
                    .filter_map(|s| s.trim().parse().ok())
                    .collect();
                list.retain(|c| wanted.contains(&c.id));
            }
            let asc = call
                .param("order")
                .is_some_and(|o| o.eq_ignore_ascii_case("asc"));
            if !asc {
                list.reverse();
            }
            let total = list.len();
            let start: usize = match call.param("continuationToken") {
                None => 0,
                Some(t) => decode_token(t).ok_or_else(|| {
                    error(
                        StatusCode::BAD_REQUEST,
                        &format!("VS403454: continuationToken '{t}' is not valid."),
                        "ArgumentException",
                    )
                })?,
            };
            let top = call
                .param("$top")
                .and_then(|t| t.trim().parse::<usize>().ok())
                .unwrap_or(200)
                .clamp(1, 200);
            let page: Vec<Value> = list
                .iter()
                .skip(start)
                .take(top)
                .map(|c| comment_value(&d, call, id, c, rendered))
                .collect();
            let mut body = json!({"totalCount": total, "count": page.len(), "comments": page});
            if start + top < total {
                let token = encode_token(start + top);
                body["continuationToken"] = json!(token);
                body["nextPage"] = json!(format!(
                    "{}/_apis/wit/workItems/{id}/comments?continuationToken={token}&$top={top}&order={}",
                    call.project_base(&d),
                    if asc { "asc" } else { "desc" }
                ));
            }
            Ok(ok(body))
        }
        (&Method::GET, Some(cid)) => {
            let w = d.item(id).unwrap();
            let c = find_comment(w, &cid, call.flag("includeDeleted"))?;
            Ok(ok(comment_value(&d, call, id, c, true)))
        }
        (&Method::POST, None) => {
            let text = text_of(call)?;
            let cid = d.next_comment_id();
            let by = d.bot();
            let count = d.item(id).unwrap().comments.len() + 1;
            let i = d.index(id).unwrap();
            d.items[i].comments.push(super::data::Comment {
                id: cid,
                version: 1,
                text: text.clone(),
                format,
                created_by: by,
                created: call.now,
                modified_by: by,
                modified: call.now,
                deleted: false,
            });
            // A comment is a revision of the work item, as the discussion's history.
            d.apply(
                id,
                by,
                call.now,
                vec![
                    ("System.CommentCount", Some(json!(count))),
                    ("System.History", Some(json!(text))),
                ],
                Vec::new(),
                Vec::new(),
            );
            let w = d.item(id).unwrap();
            let c = w.comments.last().unwrap();
            Ok(ok(comment_value(&d, call, id, c, true)))
        }
        (&Method::PATCH, Some(cid)) => {
            let text = text_of(call)?;
            let by = d.bot();
            let i = d.index(id).unwrap();
            let c = d.items[i]
                .comments
                .iter_mut()
                .find(|c| c.id.to_string() == cid && !c.deleted)
                .ok_or_else(|| comment_not_found(&cid))?;
            c.text = text;
            c.format = format;
            c.version += 1;
            c.modified = call.now;
            c.modified_by = by;
            let c = c.clone();
            Ok(ok(comment_value(&d, call, id, &c, true)))
        }
        (&Method::DELETE, Some(cid)) => {
            let i = d.index(id).unwrap();
            let c = d.items[i]
                .comments
                .iter_mut()
                .find(|c| c.id.to_string() == cid && !c.deleted)
                .ok_or_else(|| comment_not_found(&cid))?;
            c.deleted = true;
            Ok(StatusCode::OK.into_response())
        }
        _ => Err(super::bad_method(call)),
    }
}

fn comment_not_found(cid: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "VS402614: Comment {cid} does not exist, or you do not have permission to read it."
        ),
        "CommentNotFoundException",
    )
}

fn find_comment<'a>(
    w: &'a WorkItem,
    cid: &str,
    include_deleted: bool,
) -> Result<&'a super::data::Comment, Response> {
    w.comments
        .iter()
        .find(|c| c.id.to_string() == cid && (include_deleted || !c.deleted))
        .ok_or_else(|| comment_not_found(cid))
}

fn encode_token(n: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("c:{n}"))
}

fn decode_token(t: &str) -> Option<usize> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t.trim())
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("c:")?
        .parse()
        .ok()
}

fn comment_value(
    d: &AdoDataset,
    call: &Call,
    id: u64,
    c: &super::data::Comment,
    rendered: bool,
) -> Value {
    let mut v = json!({
        "workItemId": id,
        "id": c.id,
        "version": c.version,
        "text": c.text,
        "createdBy": d.identity_value(c.created_by),
        "createdDate": ado_timestamp(c.created),
        "modifiedBy": d.identity_value(c.modified_by),
        "modifiedDate": ado_timestamp(c.modified),
        "isDeleted": c.deleted,
        "format": c.format,
        "mentions": [],
        "reactions": [],
        "url": format!("{}/_apis/wit/workItems/{id}/comments/{}", call.project_base(d), c.id)
    });
    if rendered {
        v["renderedText"] = json!(if c.format == "markdown" {
            render_markdown(&c.text)
        } else {
            c.text.clone()
        });
    }
    v
}

/// The HTML the service renders a markdown comment to (paragraphs, bold, list items); enough
/// for a person to read in the sandbox.
fn render_markdown(text: &str) -> String {
    let mut out = String::new();
    let mut in_list = false;
    for line in text.lines() {
        let escaped = crate::html_escape(line.trim());
        let bold = bold_spans(&escaped);
        if let Some(item) = bold.strip_prefix("- ").or_else(|| bold.strip_prefix("* ")) {
            if !in_list {
                out.push_str("<ul>");
                in_list = true;
            }
            out.push_str(&format!("<li>{item}</li>"));
            continue;
        }
        if in_list {
            out.push_str("</ul>");
            in_list = false;
        }
        if !bold.is_empty() {
            out.push_str(&format!("<p>{bold}</p>"));
        }
    }
    if in_list {
        out.push_str("</ul>");
    }
    out
}

fn bold_spans(s: &str) -> String {
    let parts: Vec<&str> = s.split("**").collect();
    if parts.len() < 3 {
        return s.to_string();
    }
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(if i % 2 == 1 { "<strong>" } else { "</strong>" });
        }
        out.push_str(p);
    }
    if parts.len().is_multiple_of(2) {
        out.push_str("</strong>");
    }
    out
}

/// Classification nodes: `classificationnodes` (the roots, or `?ids=`) and
/// `classificationnodes/{Areas|Iterations}/{path}` with `$depth`.
fn classification(d: &AdoDataset, call: &Call) -> Result<Response, Response> {
    let depth = call
        .param("$depth")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let group = call.seg(2);
    // Each tree made when first needed.
    let trees = [std::cell::OnceCell::new(), std::cell::OnceCell::new()];
    let node_value = |area: bool, i: usize, depth: usize| -> Value {
        let nodes = if area { &d.areas } else { &d.iterations };
        let tree = trees[usize::from(area)].get_or_init(|| Tree::of(nodes));
        node_json(d, call, tree, area, i, depth)
    };
    match group.as_deref() {
        None => {
            if let Some(ids) = call.param("ids") {
                let omit = call
                    .param("errorPolicy")
                    .is_some_and(|p| p.eq_ignore_ascii_case("omit"));
                let mut out = Vec::new();
                for raw in ids.split(',') {
                    let id = raw.trim().parse::<i64>().unwrap_or(-1);
                    let hit = d
                        .areas
                        .iter()
                        .position(|n| n.id == id)
                        .map(|i| node_value(true, i, depth))
                        .or_else(|| {
                            d.iterations
                                .iter()
                                .position(|n| n.id == id)
                                .map(|i| node_value(false, i, depth))
                        });
                    match hit {
                        Some(v) => out.push(v),
                        None if omit => out.push(Value::Null),
                        None => {
                            return Err(error(
                                StatusCode::NOT_FOUND,
                                &format!("VS402485: The classification node {raw} does not exist."),
                                "ClassificationNodeDoesNotExistException",
                            ));
                        }
                    }
                }
                return Ok(collection(out));
            }
            Ok(collection(vec![
                node_value(true, 0, depth),
                node_value(false, 0, depth),
            ]))
        }
        Some(g) if g == "areas" || g == "iterations" => {
            if call.method != Method::GET {
                return Err(super::bad_method(call));
            }
            let area = g == "areas";
            let nodes = if area { &d.areas } else { &d.iterations };
            let sub: Vec<&str> = call.rest[3..].iter().map(String::as_str).collect();
            let path = if sub.is_empty() {
                d.project.clone()
            } else {
                format!("{}\\{}", d.project, sub.join("\\"))
            };
            let i = nodes
                .iter()
                .position(|n| n.path.eq_ignore_ascii_case(&path))
                .ok_or_else(|| {
                    error(
                        StatusCode::NOT_FOUND,
                        &format!("VS402485: The node {} does not exist.", sub.join("/")),
                        "ClassificationNodeDoesNotExistException",
                    )
                })?;
            Ok(ok(node_value(area, i, depth)))
        }
        _ => Err(super::no_route(call)),
    }
}

/// Classification nodes with each one's children (by place, in the nodes' order), found once
/// an answer: a client pages its work items reading the iterations' tree beside each page, and
/// looking for each node's children among all nodes made each tree cost the square of them.
struct Tree<'a> {
    nodes: &'a [super::data::Node],
    children: Vec<Vec<usize>>,
}

impl<'a> Tree<'a> {
    fn of(nodes: &'a [super::data::Node]) -> Tree<'a> {
        let at: std::collections::HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .rev()
            .map(|(i, n)| (n.path.as_str(), i))
            .collect();
        let mut children = vec![Vec::new(); nodes.len()];
        for (j, c) in nodes.iter().enumerate() {
            if let Some(&parent) = c.path.rsplit_once('\\').and_then(|(p, _)| at.get(p)) {
                children[parent].push(j);
            }
        }
        Tree { nodes, children }
    }
}

fn node_json(
    d: &AdoDataset,
    call: &Call,
    tree: &Tree<'_>,
    area: bool,
    i: usize,
    depth: usize,
) -> Value {
    let n = &tree.nodes[i];
    let children = &tree.children[i];
    let structure = if area { "Area" } else { "Iteration" };
    let inner = n.path.strip_prefix(&d.project).unwrap_or("");
    let url_path = inner
        .trim_start_matches('\\')
        .replace('\\', "/")
        .replace(' ', "%20");
    let mut v = json!({
        "id": n.id,
        "identifier": n.identifier,
        "name": n.name,
        "structureType": structure.to_lowercase(),
        "hasChildren": !children.is_empty(),
        "path": format!("\\{}\\{structure}{}", d.project, inner),
        "url": format!("{}/_apis/wit/classificationNodes/{}s{}{}", call.project_base(d), structure, if url_path.is_empty() { "" } else { "/" }, url_path),
    });
    if let Some((start, finish)) = n.dates {
        v["attributes"] = json!({
            "startDate": ado_timestamp(start * 86_400_000),
            "finishDate": ado_timestamp(finish * 86_400_000)
        });
    }
    if depth > 0 && !children.is_empty() {
        v["children"] = Value::Array(
            children
                .iter()
                .map(|&j| node_json(d, call, tree, area, j, depth - 1))
                .collect(),
        );
    }
    v
}

impl AdoDataset {
    /// A copy to try a write on (`validateOnly`), or None to write for real.
    fn clone_for_validation(&self, validate_only: bool) -> Option<AdoDataset> {
        validate_only.then(|| self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts of every item of `d`, checked against its fields and updates as trees.
    fn assert_written_as_trees(d: &AdoDataset) {
        for w in &d.items {
            let text = written(w).expect("written for the revision now");
            assert_eq!(
                &*text.fields,
                serde_json::to_string(&w.fields).unwrap(),
                "item {}",
                w.id
            );
            // The fields a read names, copied from the text, read as those picked from the tree.
            let mut every: Vec<&str> = FIELDS.iter().map(|f| f.reference).collect();
            every.sort_unstable();
            let few = [
                "Microsoft.VSTS.Scheduling.CompletedWork",
                "System.Id",
                "System.Parent",
            ];
            for names in [&every[..], &few[..], &["System.Title"][..], &[][..]] {
                let mut picked = Vec::new();
                assert!(text.members.is_some(), "item {}", w.id);
                let places: Vec<u16> = names
                    .iter()
                    .map(|name| field_place(name).expect("a defined field") as u16)
                    .collect();
                text.write_picked(&mut picked, &places);
                let tree = serde_json::to_string(&FieldsTree(&w.fields, Some(names))).unwrap();
                assert_eq!(String::from_utf8(picked).unwrap(), tree, "item {}", w.id);
            }
            assert_eq!(text.changes.len(), w.updates.len(), "item {}", w.id);
            for (u, change) in w.updates.iter().zip(&text.changes) {
                let tree: serde_json::Map<String, Value> = u
                    .fields
                    .iter()
                    .map(|(k, (old, new))| {
                        let mut c = serde_json::Map::new();
                        if let Some(new) = new {
                            c.insert("newValue".into(), new.clone());
                        }
                        if let Some(old) = old {
                            c.insert("oldValue".into(), old.clone());
                        }
                        (k.clone(), Value::Object(c))
                    })
                    .collect();
                let expected = (!tree.is_empty()).then(|| Value::Object(tree).to_string());
                assert_eq!(
                    change.as_deref().map(|t| t.get().to_string()),
                    expected,
                    "item {} rev {}",
                    w.id,
                    u.rev
                );
            }
        }
    }

    #[test]
    fn an_items_written_text_is_its_fields_and_changes_and_follows_its_next_update() {
        let mut d = AdoDataset::named("demo").unwrap();
        d.write_texts();
        assert_written_as_trees(&d);
        let id = d.items[0].id;
        let before = written(&d.items[0]).unwrap().fields.to_string();
        let at = d.items[0].updates.last().unwrap().at + 60_000;
        d.apply(
            id,
            0,
            at,
            vec![("System.Title", Some(json!("Renamed \"in\" place")))],
            Vec::new(),
            Vec::new(),
        )
        .unwrap();
        let w = d.item(id).unwrap();
        let after = written(w).unwrap();
        assert_ne!(&*after.fields, before);
        assert!(
            after
                .fields
                .contains(r#""System.Title":"Renamed \"in\" place""#),
            "{}",
            after.fields
        );
        assert_written_as_trees(&d);
    }
}
