//! Jira's JSON as the real site writes it: users, issues with their fields, worklogs, options,
//! sprints, statuses, and the names and schema of fields.

#[allow(unused_imports)]
use super::*;

pub(super) fn user_json(flavour: Flavour, base: &str, user: &User) -> Value {
    serde_json::to_value(UserJson::of(flavour, base, user)).expect("a user serialises")
}

/// A user as Jira writes one in an answer, written without building a tree first (a page of
/// worklogs names two users a worklog). Members in the order the sandbox has always written
/// them (by name), for answers that read the same byte for byte.
#[derive(serde::Serialize)]
#[serde(untagged)]
pub(super) enum UserJson<'a> {
    Cloud {
        #[serde(rename = "accountId")]
        account_id: &'a str,
        #[serde(rename = "accountType")]
        account_type: &'static str,
        active: bool,
        #[serde(rename = "displayName")]
        display_name: &'a str,
        #[serde(rename = "self")]
        self_url: String,
        #[serde(rename = "timeZone")]
        time_zone: &'static str,
    },
    DataCenter {
        active: bool,
        #[serde(rename = "displayName")]
        display_name: &'a str,
        key: String,
        name: &'a str,
        #[serde(rename = "self")]
        self_url: String,
        #[serde(rename = "timeZone")]
        time_zone: &'static str,
    },
}

impl<'a> UserJson<'a> {
    pub(super) fn of(flavour: Flavour, base: &str, user: &'a User) -> UserJson<'a> {
        match flavour {
            Flavour::Cloud => UserJson::Cloud {
                account_id: &user.account_id,
                account_type: "atlassian",
                active: true,
                display_name: &user.display_name,
                self_url: format!("{base}/rest/api/3/user?accountId={}", user.account_id),
                time_zone: "Europe/Helsinki",
            },
            Flavour::DataCenter => UserJson::DataCenter {
                active: true,
                display_name: &user.display_name,
                key: format!("JIRAUSER{}", 10_200 + user.account_id.len()),
                name: &user.name,
                self_url: format!("{base}/rest/api/2/user?username={}", user.name),
                time_zone: "Europe/Helsinki",
            },
        }
    }
}

pub(super) fn bot_json(flavour: Flavour, base: &str) -> Value {
    match flavour {
        Flavour::Cloud => json!({
            "self": format!("{base}/rest/api/3/user?accountId={BOT_ACCOUNT_ID}"),
            "accountId": BOT_ACCOUNT_ID,
            "accountType": "atlassian",
            "displayName": "DMO Bot",
            "active": true,
            "timeZone": "Europe/Helsinki",
        }),
        Flavour::DataCenter => json!({
            "self": format!("{base}/rest/api/2/user?username=dmo-bot"),
            "name": "dmo-bot",
            "key": "JIRAUSER10100",
            "displayName": "DMO Bot",
            "active": true,
            "timeZone": "Europe/Helsinki",
        }),
    }
}

pub(super) fn text_body(v3: bool, text: &str) -> Value {
    if v3 {
        json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
        ]})
    } else {
        Value::String(text.to_string())
    }
}

pub(super) fn time_spent(seconds: u64) -> String {
    let (h, m) = (seconds / 3600, seconds % 3600 / 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    }
}

pub(super) fn worklog_json<'a>(
    ctx: &Ctx,
    base: &str,
    version: &str,
    data: &'a Dataset,
    w: &'a Worklog,
) -> WorklogJson<'a> {
    let author = &data.users[w.author];
    WorklogJson {
        author: UserJson::of(ctx.flavour, base, author),
        comment: w.comment.as_deref().map(|c| text_body(adf(version), c)),
        created: jira_timestamp(w.created),
        id: w.id,
        issue_id: w.issue_id,
        self_url: format!(
            "{base}/rest/api/{version}/issue/{}/worklog/{}",
            w.issue_id, w.id
        ),
        started: jira_timestamp(w.started),
        time_spent: time_spent(w.seconds),
        time_spent_seconds: w.seconds,
        update_author: UserJson::of(ctx.flavour, base, author),
        updated: jira_timestamp(w.updated),
    }
}

/// A worklog as Jira writes one, written without building a tree first: a page of
/// `/worklog/list` holds a thousand. Members by name, as the sandbox has always written them.
#[derive(serde::Serialize)]
pub(super) struct WorklogJson<'a> {
    author: UserJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<Value>,
    created: String,
    #[serde(serialize_with = "as_text")]
    id: u64,
    #[serde(rename = "issueId", serialize_with = "as_text")]
    issue_id: u64,
    #[serde(rename = "self")]
    self_url: String,
    started: String,
    #[serde(rename = "timeSpent")]
    time_spent: String,
    #[serde(rename = "timeSpentSeconds")]
    time_spent_seconds: u64,
    #[serde(rename = "updateAuthor")]
    update_author: UserJson<'a>,
    updated: String,
}

/// A number written as JSON text (`"10001"`), as Jira writes its ids.
pub(super) fn as_text<S: serde::Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(n)
}

pub(super) fn option_json(base: &str, field: &data::FieldDef, value: &str) -> Value {
    let id = 10_300 + field.cloud_id as u64 % 100 * 10 + (value.len() as u64 % 10);
    json!({"self": format!("{base}/rest/api/2/customFieldOption/{id}"), "value": value, "id": id.to_string()})
}

pub(super) fn sprint_field(ctx: &Ctx, data: &Dataset, ids: &[u64]) -> Value {
    let sprints: Vec<Value> = ids
        .iter()
        .filter_map(|id| data.sprints.iter().find(|s| s.id == *id))
        .map(|s| match ctx.flavour {
            Flavour::Cloud => {
                let mut v = json!({"id": s.id, "name": s.name, "state": s.state, "boardId": s.board});
                if let Some(g) = &s.goal {
                    v["goal"] = json!(g);
                }
                if let (Some(a), Some(b)) = (s.start, s.end) {
                    v["startDate"] = json!(agile_timestamp(a));
                    v["endDate"] = json!(agile_timestamp(b));
                }
                if let Some(c) = s.complete {
                    v["completeDate"] = json!(agile_timestamp(c));
                }
                v
            }
            // Data Center's older string form of the Sprint field.
            Flavour::DataCenter => Value::String(format!(
                "com.atlassian.greenhopper.service.sprint.Sprint@{:x}[id={},rapidViewId={},state={},name={},startDate={},endDate={},completeDate={},sequence={},goal={}]",
                s.id * 7919,
                s.id,
                s.board,
                s.state.to_ascii_uppercase(),
                s.name,
                s.start.map(agile_timestamp).unwrap_or_else(|| "<null>".into()),
                s.end.map(agile_timestamp).unwrap_or_else(|| "<null>".into()),
                s.complete.map(agile_timestamp).unwrap_or_else(|| "<null>".into()),
                s.id,
                s.goal.clone().unwrap_or_default()
            )),
        })
        .collect();
    if sprints.is_empty() {
        Value::Null
    } else {
        Value::Array(sprints)
    }
}

pub(super) fn custom_value(
    ctx: &Ctx,
    base: &str,
    data: &Dataset,
    issue: &Issue,
    f: &data::FieldDef,
) -> Value {
    match f.kind {
        FieldKind::Sprint => sprint_field(ctx, data, &issue.sprints),
        FieldKind::EpicLink => match (&issue.parent, ISSUE_TYPES[issue.issue_type].hierarchy_level)
        {
            (Some(p), 0) => json!(p),
            _ => Value::Null,
        },
        _ => match issue.custom.get(f.name) {
            None => Value::Null,
            Some(FieldValue::Number(n)) => json!(n),
            Some(FieldValue::Date(d)) => json!(d),
            Some(FieldValue::Text(t)) => json!(t),
            Some(FieldValue::Option(o)) => option_json(base, f, o),
        },
    }
}

pub(super) fn issue_type_json(base: &str, t: &data::IssueType) -> Value {
    json!({
        "self": format!("{base}/rest/api/2/issuetype/{}", t.id),
        "id": t.id,
        "name": t.name,
        "description": "",
        "iconUrl": format!("{base}/images/icons/issuetypes/{}.png", t.id),
        "subtask": t.hierarchy_level < 0,
        "hierarchyLevel": t.hierarchy_level,
    })
}

pub(super) fn status_json(base: &str, issue: &Issue) -> Value {
    let (id, name) = match issue.status_category {
        "new" => (2, "To Do"),
        "indeterminate" => (4, "In Progress"),
        _ => (3, "Done"),
    };
    json!({
        "self": format!("{base}/rest/api/2/status/{id}"),
        "name": issue.status,
        "id": id.to_string(),
        "statusCategory": {"self": format!("{base}/rest/api/2/statuscategory/{id}"), "id": id, "key": issue.status_category, "name": name, "colorName": "blue-gray"}
    })
}

/// Which fields a request asked for.
#[derive(Debug, Clone)]
pub(super) enum Wanted {
    All,
    Some(Vec<String>),
}

impl Wanted {
    pub(super) fn parse(values: &[String], default_all: bool) -> Wanted {
        let list: Vec<String> = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if list.iter().any(|f| f == "*all" || f == "*navigable") || (list.is_empty() && default_all)
        {
            Wanted::All
        } else {
            Wanted::Some(list.into_iter().filter(|f| !f.starts_with('-')).collect())
        }
    }

    pub(super) fn wants(&self, id: &str) -> bool {
        match self {
            Wanted::All => true,
            Wanted::Some(list) => list.iter().any(|f| f == id),
        }
    }

    pub(super) fn only_ids(&self) -> bool {
        match self {
            Wanted::All => false,
            Wanted::Some(list) => list.iter().all(|f| f == "id" || f == "key"),
        }
    }

    pub(super) fn cap(&self) -> usize {
        match self {
            Wanted::All => ALL_FIELDS_PAGE_CAP,
            _ if self.only_ids() => ID_PAGE_CAP,
            _ => FIELD_PAGE_CAP,
        }
    }
}

pub(super) fn issue_json(
    ctx: &Ctx,
    base: &str,
    version: &str,
    data: &Dataset,
    issue: &Issue,
    wanted: &Wanted,
    id_only_default: bool,
) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(issue.id.to_string()));
    if id_only_default && matches!(wanted, Wanted::Some(l) if l.is_empty()) {
        return Value::Object(out);
    }
    out.insert(
        "expand".into(),
        json!("operations,versionedRepresentations,editmeta,changelog,renderedFields"),
    );
    out.insert(
        "self".into(),
        json!(format!("{base}/rest/api/{version}/issue/{}", issue.id)),
    );
    out.insert("key".into(), json!(issue.key));
    let mut f = Map::new();
    let itype = &ISSUE_TYPES[issue.issue_type];
    // A field's value is made only when it is asked for.
    let mut put = |id: &str, v: &dyn Fn() -> Value| {
        if wanted.wants(id) {
            f.insert(id.to_string(), v());
        }
    };
    put("summary", &|| json!(issue.summary));
    put("issuetype", &|| issue_type_json(base, itype));
    put("status", &|| status_json(base, issue));
    put(
        "project",
        &|| json!({"self": format!("{base}/rest/api/2/project/10000"), "id": "10000", "key": data.project, "name": "Portfolio"}),
    );
    put("created", &|| json!(jira_timestamp(issue.created)));
    put("updated", &|| json!(jira_timestamp(issue.updated)));
    put("resolutiondate", &|| {
        issue
            .resolved
            .map(jira_timestamp)
            .map(Value::String)
            .unwrap_or(Value::Null)
    });
    put("labels", &|| json!(issue.labels));
    put("assignee", &|| {
        issue
            .assignee
            .map(|a| user_json(ctx.flavour, base, &data.users[a]))
            .unwrap_or(Value::Null)
    });
    put("reporter", &|| {
        issue
            .reporter
            .map(|a| user_json(ctx.flavour, base, &data.users[a]))
            .unwrap_or_else(|| bot_json(ctx.flavour, base))
    });
    // Cloud links children to epics with `parent`; Data Center uses it for sub-tasks only.
    if ctx.flavour == Flavour::Cloud
        && let Some(p) = issue.parent.as_ref().and_then(|p| data.issue(p))
    {
        put("parent", &|| {
            json!({
                "id": p.id.to_string(), "key": p.key, "self": format!("{base}/rest/api/{version}/issue/{}", p.id),
                "fields": {"summary": p.summary, "status": status_json(base, p), "issuetype": issue_type_json(base, &ISSUE_TYPES[p.issue_type])}
            })
        });
    }
    if wanted.wants("issuelinks") {
        let other = |key: &str| {
            data.issue(key).map(|o| {
                json!({
                    "id": o.id.to_string(), "key": o.key,
                    "self": format!("{base}/rest/api/{version}/issue/{}", o.id),
                    "fields": {"summary": o.summary, "status": status_json(base, o),
                               "issuetype": issue_type_json(base, &ISSUE_TYPES[o.issue_type])}
                })
            })
        };
        let links: Vec<Value> = data
            .links
            .iter()
            .filter(|l| l.outward == issue.key || l.inward == issue.key)
            .filter_map(|l| {
                let (name, outward, inward, type_id) =
                    data::LINK_TYPES.iter().find(|t| t.0 == l.kind)?;
                let mut v = json!({
                    "id": l.id.to_string(),
                    "self": format!("{base}/rest/api/{version}/issueLink/{}", l.id),
                    "type": {"id": type_id, "name": name, "inward": inward, "outward": outward,
                             "self": format!("{base}/rest/api/{version}/issueLinkType/{type_id}")}
                });
                // Seen from the blocker, the other is the inward issue; and the other way.
                if l.outward == issue.key {
                    v["inwardIssue"] = other(&l.inward)?;
                } else {
                    v["outwardIssue"] = other(&l.outward)?;
                }
                Some(v)
            })
            .collect();
        put("issuelinks", &|| Value::Array(links.clone()));
    }
    if wanted.wants("worklog") {
        let index = data.index();
        let logs = index.worklogs_of(issue.id);
        let embedded: Vec<WorklogJson<'_>> = logs
            .iter()
            .take(EMBEDDED_WORKLOGS)
            .map(|&at| worklog_json(ctx, base, version, data, &data.worklogs[at]))
            .collect();
        put(
            "worklog",
            &|| json!({"startAt": 0, "maxResults": EMBEDDED_WORKLOGS, "total": logs.len(), "worklogs": embedded}),
        );
    }
    for def in FIELDS {
        if def.dc_only && ctx.flavour == Flavour::Cloud {
            continue;
        }
        let id = def.id(ctx.flavour);
        if wanted.wants(&id) {
            f.insert(id, custom_value(ctx, base, data, issue, def));
        }
    }
    out.insert("fields".into(), Value::Object(f));
    Value::Object(out)
}

pub(super) fn names_and_schema(ctx: &Ctx) -> (Value, Value) {
    let mut names = Map::new();
    let mut schema = Map::new();
    for def in FIELDS
        .iter()
        .filter(|d| !(d.dc_only && ctx.flavour == Flavour::Cloud))
    {
        let id = def.id(ctx.flavour);
        names.insert(id.clone(), json!(def.name));
        schema.insert(id, field_schema(ctx, def));
    }
    (Value::Object(names), Value::Object(schema))
}

pub(super) fn field_schema(ctx: &Ctx, def: &data::FieldDef) -> Value {
    let custom_id = match ctx.flavour {
        Flavour::Cloud => def.cloud_id,
        Flavour::DataCenter => def.dc_id,
    };
    let mut s =
        json!({"type": def.schema_type(), "custom": def.custom_type(), "customId": custom_id});
    if def.kind == FieldKind::Sprint {
        s["items"] = json!("json");
    }
    s
}

/// One history entry as the changelog writes it.
pub(super) fn history_json(ctx: &Ctx, base: &str, data: &Dataset, c: &data::Change) -> Value {
    let author = match c.author {
        Some(a) => user_json(ctx.flavour, base, &data.users[a]),
        None => bot_json(ctx.flavour, base),
    };
    let items: Vec<Value> = c.items.iter().map(|i| item_json(ctx, i)).collect();
    json!({
        "id": c.id.to_string(),
        "author": author,
        "created": jira_timestamp(c.at),
        "items": items
    })
}

/// One changed field of a history entry.
fn item_json(ctx: &Ctx, i: &data::ChangeItem) -> Value {
    let custom = data::FIELDS.iter().find(|f| f.name == i.field);
    let (fieldtype, field_id) = match custom {
        Some(def) => ("custom", def.id(ctx.flavour)),
        None => ("jira", i.field.clone()),
    };
    // An empty side is left out, as the documents have no null for it.
    let mut item = json!({"field": i.field, "fieldtype": fieldtype});
    if let Some(from) = &i.from {
        item["fromString"] = json!(from);
    }
    if let Some(to) = &i.to {
        item["toString"] = json!(to);
    }
    // Cloud names the field's id too; Data Center only its name.
    if ctx.flavour == Flavour::Cloud {
        item["fieldId"] = json!(field_id);
    }
    // A status change also names the statuses' ids; other fields carry no raw value here.
    if i.field == "status" {
        let id = |name: &Option<String>| match name.as_deref() {
            Some("To Do") => "2",
            Some("In Progress") => "4",
            _ => "3",
        };
        item["from"] = json!(id(&i.from));
        item["to"] = json!(id(&i.to));
    }
    item
}

/// An issue's `changelog` (`expand=changelog`). Data Center embeds the whole history, oldest
/// first. Cloud embeds only recent updates, newest first, and at most `cloud_limit` of them
/// (100 on an issue, 20 in a search): `total` says how many there are, and the rest is read
/// from `/issue/{key}/changelog`.
pub(super) fn changelog_json(
    ctx: &Ctx,
    base: &str,
    data: &Dataset,
    issue: &Issue,
    cloud_limit: usize,
) -> Value {
    let total = issue.history.len();
    let histories: Vec<Value> = match ctx.flavour {
        Flavour::DataCenter => issue
            .history
            .iter()
            .map(|c| history_json(ctx, base, data, c))
            .collect(),
        Flavour::Cloud => issue
            .history
            .iter()
            .rev()
            .take(cloud_limit)
            .map(|c| history_json(ctx, base, data, c))
            .collect(),
    };
    json!({"startAt": 0, "maxResults": histories.len(), "total": total, "histories": histories})
}
