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
        self_url: Joined<'a, 3>,
        #[serde(rename = "timeZone")]
        time_zone: &'static str,
    },
    DataCenter {
        active: bool,
        #[serde(rename = "displayName")]
        display_name: &'a str,
        key: Joined<'a, 2>,
        name: &'a str,
        #[serde(rename = "self")]
        self_url: Joined<'a, 3>,
        #[serde(rename = "timeZone")]
        time_zone: &'static str,
    },
}

impl<'a> UserJson<'a> {
    pub(super) fn of(flavour: Flavour, base: &'a str, user: &'a User) -> UserJson<'a> {
        match flavour {
            Flavour::Cloud => UserJson::Cloud {
                account_id: &user.account_id,
                account_type: "atlassian",
                active: true,
                display_name: &user.display_name,
                self_url: Joined([
                    Part::Text(base),
                    Part::Text("/rest/api/3/user?accountId="),
                    Part::Text(&user.account_id),
                ]),
                time_zone: "Europe/Helsinki",
            },
            Flavour::DataCenter => UserJson::DataCenter {
                active: true,
                display_name: &user.display_name,
                key: Joined([
                    Part::Text("JIRAUSER"),
                    Part::Number(10_200 + user.account_id.len() as u64),
                ]),
                name: &user.name,
                self_url: Joined([
                    Part::Text(base),
                    Part::Text("/rest/api/2/user?username="),
                    Part::Text(&user.name),
                ]),
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
    serde_json::to_value(TextBody { v3, text }).expect("a text body serialises")
}

/// The worklogs of one answer (a page of `/worklog/list`, an issue's worklogs, those an issue
/// embeds), written straight into the answer's bytes. A page of `/worklog/list` holds a
/// thousand; serialised by serde, each worklog's dozen member names, three timestamps and the
/// numbers written as text went through JSON escaping byte by byte, most of the sandbox's time
/// serving a full sync. Here only what may need it is escaped: the base URL (from the request's
/// `Host`, escaped once an answer), comments and users. A worklog names its user twice (author
/// and update author), two thirds of its bytes, and a page names a few dozen users: each is
/// written once, as the answer first names it, and copied in after. Held for one answer only,
/// so it costs nothing between requests.
pub(super) struct WorklogsWritten<'a> {
    ctx: &'a Ctx,
    base: &'a str,
    data: &'a Dataset,
    /// Whether comments are ADF documents (REST v3) rather than text.
    v3: bool,
    /// `{base}/rest/api/{version}/issue/`, escaped as in a JSON string, without its quotes.
    self_prefix: Vec<u8>,
    users: Vec<std::cell::OnceCell<Box<serde_json::value::RawValue>>>,
}

impl<'a> WorklogsWritten<'a> {
    pub(super) fn new(
        ctx: &'a Ctx,
        base: &'a str,
        version: &str,
        data: &'a Dataset,
    ) -> WorklogsWritten<'a> {
        let self_prefix = crate::written::escaped(&format!("{base}/rest/api/{version}/issue/"));
        WorklogsWritten {
            ctx,
            base,
            data,
            v3: adf(version),
            self_prefix,
            users: (0..data.users.len())
                .map(|_| std::cell::OnceCell::new())
                .collect(),
        }
    }

    /// The dataset's worklogs at `at` as a JSON array, onto `out`.
    pub(super) fn write_all(
        &self,
        out: &mut Vec<u8>,
        at: impl IntoIterator<Item = usize, IntoIter: ExactSizeIterator>,
    ) {
        let at = at.into_iter();
        // Room for the page at once (a worklog is some 700-800 bytes, most of them its users),
        // not a buffer doubled from 64 KiB to a MiB for each page of a thousand.
        out.reserve(at.len() * 800 + 2);
        out.push(b'[');
        for (n, at) in at.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            self.write(out, at);
        }
        out.push(b']');
    }

    /// The dataset's worklog at `at` as Jira writes it (members by name, as the sandbox has
    /// always written them), onto `out`.
    pub(super) fn write(&self, out: &mut Vec<u8>, at: usize) {
        let w = &self.data.worklogs[at];
        let user = self.user(w.author).get().as_bytes();
        out.extend_from_slice(b"{\"author\":");
        out.extend_from_slice(user);
        if let Some(text) = w.comment.as_deref() {
            out.extend_from_slice(b",\"comment\":");
            if self.v3 {
                // As `TextBody` writes one: an ADF document of one paragraph.
                out.extend_from_slice(b"{\"content\":[{\"content\":[{\"text\":");
                json_text(out, text);
                out.extend_from_slice(
                    b",\"type\":\"text\"}],\"type\":\"paragraph\"}],\"type\":\"doc\",\"version\":1}",
                );
            } else {
                json_text(out, text);
            }
        }
        // Timestamps, numbers and `timeSpent` are ASCII digits, signs and letters: nothing in
        // them is escaped in JSON.
        // A worklog never edited was updated when it was created: its stamp is written once.
        let created = Stamp::jira(w.created);
        out.extend_from_slice(b",\"created\":\"");
        out.extend_from_slice(created.as_bytes());
        out.extend_from_slice(b"\",\"id\":\"");
        decimal(out, w.id);
        out.extend_from_slice(b"\",\"issueId\":\"");
        decimal(out, w.issue_id);
        out.extend_from_slice(b"\",\"self\":\"");
        out.extend_from_slice(&self.self_prefix);
        decimal(out, w.issue_id);
        out.extend_from_slice(b"/worklog/");
        decimal(out, w.id);
        out.extend_from_slice(b"\",\"started\":\"");
        out.extend_from_slice(Stamp::jira(w.started).as_bytes());
        out.extend_from_slice(b"\",\"timeSpent\":\"");
        TimeSpent(w.seconds).write_to(out);
        out.extend_from_slice(b"\",\"timeSpentSeconds\":");
        decimal(out, w.seconds);
        out.extend_from_slice(b",\"updateAuthor\":");
        out.extend_from_slice(user);
        out.extend_from_slice(b",\"updated\":\"");
        match w.updated == w.created {
            true => out.extend_from_slice(created.as_bytes()),
            false => out.extend_from_slice(Stamp::jira(w.updated).as_bytes()),
        }
        out.extend_from_slice(b"\"}");
    }

    /// The dataset's user at `at`, as [`UserJson`] writes it.
    fn user(&self, at: usize) -> &serde_json::value::RawValue {
        self.users[at].get_or_init(|| {
            let user = UserJson::of(self.ctx.flavour, self.base, &self.data.users[at]);
            serde_json::value::to_raw_value(&user).expect("a user serialises")
        })
    }
}

/// A select field's option. Members by name, as the sandbox has always written them.
#[derive(serde::Serialize)]
struct OptionJson<'a> {
    #[serde(serialize_with = "as_text")]
    id: u64,
    #[serde(rename = "self")]
    self_url: Joined<'a, 3>,
    value: &'a str,
}

impl<'a> OptionJson<'a> {
    fn of(base: &'a str, field: &data::FieldDef, value: &'a str) -> OptionJson<'a> {
        let id = 10_300 + field.cloud_id as u64 % 100 * 10 + (value.len() as u64 % 10);
        OptionJson {
            id,
            self_url: Joined([
                Part::Text(base),
                Part::Text("/rest/api/2/customFieldOption/"),
                Part::Number(id),
            ]),
            value,
        }
    }
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

fn custom_field<'a>(
    ctx: &Ctx,
    base: &'a str,
    data: &Dataset,
    issue: &'a Issue,
    f: &data::FieldDef,
) -> FieldJson<'a> {
    match f.kind {
        FieldKind::Sprint => FieldJson::Tree(sprint_field(ctx, data, &issue.sprints)),
        FieldKind::EpicLink => match (&issue.parent, ISSUE_TYPES[issue.issue_type].hierarchy_level)
        {
            (Some(p), 0) => FieldJson::Text(p),
            _ => FieldJson::Null,
        },
        _ => match issue.custom.get(f.name) {
            None => FieldJson::Null,
            Some(FieldValue::Number(n)) => FieldJson::Tree(json!(n)),
            Some(FieldValue::Date(d)) => FieldJson::Text(d),
            Some(FieldValue::Text(t)) => FieldJson::Text(t),
            Some(FieldValue::Option(o)) => FieldJson::Option(OptionJson::of(base, f, o)),
        },
    }
}

pub(super) fn issue_type_json(base: &str, t: &data::IssueType) -> Value {
    serde_json::to_value(IssueTypeJson::of(base, t)).expect("an issue type serialises")
}

/// An issue type as an issue names it. Members by name, as the sandbox has always written them.
#[derive(serde::Serialize)]
struct IssueTypeJson<'a> {
    description: &'static str,
    #[serde(rename = "hierarchyLevel")]
    hierarchy_level: i32,
    #[serde(rename = "iconUrl")]
    icon_url: Joined<'a, 4>,
    id: &'static str,
    name: &'static str,
    #[serde(rename = "self")]
    self_url: Joined<'a, 3>,
    subtask: bool,
}

impl<'a> IssueTypeJson<'a> {
    fn of(base: &'a str, t: &data::IssueType) -> IssueTypeJson<'a> {
        IssueTypeJson {
            description: "",
            hierarchy_level: t.hierarchy_level,
            icon_url: Joined([
                Part::Text(base),
                Part::Text("/images/icons/issuetypes/"),
                Part::Text(t.id),
                Part::Text(".png"),
            ]),
            id: t.id,
            name: t.name,
            self_url: Joined([
                Part::Text(base),
                Part::Text("/rest/api/2/issuetype/"),
                Part::Text(t.id),
            ]),
            subtask: t.hierarchy_level < 0,
        }
    }
}

/// An issue's status. Members by name, as the sandbox has always written them.
#[derive(serde::Serialize)]
struct StatusJson<'a> {
    id: &'static str,
    name: &'static str,
    #[serde(rename = "self")]
    self_url: Joined<'a, 3>,
    #[serde(rename = "statusCategory")]
    category: CategoryJson<'a>,
}

#[derive(serde::Serialize)]
struct CategoryJson<'a> {
    #[serde(rename = "colorName")]
    color_name: &'static str,
    id: u32,
    key: &'static str,
    name: &'static str,
    #[serde(rename = "self")]
    self_url: Joined<'a, 3>,
}

impl<'a> StatusJson<'a> {
    fn of(base: &'a str, issue: &Issue) -> StatusJson<'a> {
        let (id, text_id, name) = match issue.status_category {
            "new" => (2, "2", "To Do"),
            "indeterminate" => (4, "4", "In Progress"),
            _ => (3, "3", "Done"),
        };
        StatusJson {
            id: text_id,
            name: issue.status,
            self_url: Joined([
                Part::Text(base),
                Part::Text("/rest/api/2/status/"),
                Part::Text(text_id),
            ]),
            category: CategoryJson {
                color_name: "blue-gray",
                id,
                key: issue.status_category,
                name,
                self_url: Joined([
                    Part::Text(base),
                    Part::Text("/rest/api/2/statuscategory/"),
                    Part::Text(text_id),
                ]),
            },
        }
    }
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

/// An issue as a tree, for the answers that add to it (an issue's comments, the Agile API's
/// fields); the pages of issues write [`IssueJson`] straight.
pub(super) fn issue_value(
    ctx: &Ctx,
    base: &str,
    version: &str,
    data: &Dataset,
    issue: &Issue,
    wanted: &Wanted,
    plan: &FieldPlan,
) -> Value {
    serde_json::to_value(issue_doc(
        ctx, base, version, data, issue, wanted, plan, false,
    ))
    .expect("an issue serialises")
}

/// An issue of an answer, written without building a tree first (a page of a search holds
/// hundreds): `plan` is the request's fields, worked out once for the page.
#[allow(clippy::too_many_arguments)]
pub(super) fn issue_doc<'a>(
    ctx: &'a Ctx,
    base: &'a str,
    version: &'a str,
    data: &'a Dataset,
    issue: &'a Issue,
    wanted: &Wanted,
    plan: &'a FieldPlan,
    id_only_default: bool,
) -> IssueJson<'a> {
    let mut out = IssueJson {
        changelog: None,
        expand: None,
        fields: None,
        id: issue.id,
        key: None,
        self_url: None,
    };
    if id_only_default && matches!(wanted, Wanted::Some(l) if l.is_empty()) {
        return out;
    }
    out.expand = Some("operations,versionedRepresentations,editmeta,changelog,renderedFields");
    out.self_url = Some(issue_url(base, version, issue.id));
    out.key = Some(&issue.key);
    out.fields = Some(FieldsJson {
        plan,
        ctx,
        base,
        version,
        data,
        issue,
    });
    out
}

fn issue_url<'a>(base: &'a str, version: &'a str, id: u64) -> Joined<'a, 5> {
    Joined([
        Part::Text(base),
        Part::Text("/rest/api/"),
        Part::Text(version),
        Part::Text("/issue/"),
        Part::Number(id),
    ])
}

/// An issue in an answer. Members by name, as the sandbox has always written them.
#[derive(serde::Serialize)]
pub(super) struct IssueJson<'a> {
    /// `expand=changelog`: set by the answer that asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) changelog: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expand: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<FieldsJson<'a>>,
    #[serde(serialize_with = "as_text")]
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(rename = "self", skip_serializing_if = "Option::is_none")]
    self_url: Option<Joined<'a, 5>>,
}

/// Where a field of an issue comes from.
#[derive(Clone, Copy)]
enum Source {
    Summary,
    IssueType,
    Status,
    Project,
    Created,
    Updated,
    ResolutionDate,
    Labels,
    Assignee,
    Reporter,
    Parent,
    IssueLinks,
    Worklog,
    Custom(&'static data::FieldDef),
}

/// The fields a request asked for, by id in the order an answer writes them (by name), worked
/// out once a request rather than once an issue.
pub(super) struct FieldPlan {
    fields: Vec<(String, Source)>,
}

impl FieldPlan {
    pub(super) fn new(ctx: &Ctx, wanted: &Wanted) -> FieldPlan {
        let mut fields: Vec<(String, Source)> = [
            ("summary", Source::Summary),
            ("issuetype", Source::IssueType),
            ("status", Source::Status),
            ("project", Source::Project),
            ("created", Source::Created),
            ("updated", Source::Updated),
            ("resolutiondate", Source::ResolutionDate),
            ("labels", Source::Labels),
            ("assignee", Source::Assignee),
            ("reporter", Source::Reporter),
            // Cloud links children to epics with `parent`; Data Center uses it for sub-tasks
            // only.
            ("parent", Source::Parent),
            ("issuelinks", Source::IssueLinks),
            ("worklog", Source::Worklog),
        ]
        .into_iter()
        .filter(|(id, _)| {
            // (Data Center's parent, of sub-tasks only, is decided per issue below.)
            wanted.wants(id)
        })
        .map(|(id, source)| (id.to_string(), source))
        .collect();
        for def in FIELDS {
            if def.dc_only && ctx.flavour == Flavour::Cloud {
                continue;
            }
            let id = def.id(ctx.flavour);
            if wanted.wants(&id) {
                fields.push((id, Source::Custom(def)));
            }
        }
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        FieldPlan { fields }
    }
}

/// An issue's `fields`, each made as it is written.
pub(super) struct FieldsJson<'a> {
    plan: &'a FieldPlan,
    ctx: &'a Ctx,
    base: &'a str,
    version: &'a str,
    data: &'a Dataset,
    issue: &'a Issue,
}

impl serde::Serialize for FieldsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for (id, source) in &self.plan.fields {
            if let Some(value) = self.field(*source) {
                map.serialize_entry(id, &value)?;
            }
        }
        map.end()
    }
}

impl<'a> FieldsJson<'a> {
    /// A field's value; `None`: the issue has no such field (a Cloud issue without a parent).
    fn field(&self, source: Source) -> Option<FieldJson<'a>> {
        let (ctx, base, data, issue) = (self.ctx, self.base, self.data, self.issue);
        let user = |u: Option<usize>| match u {
            Some(a) => FieldJson::User(UserJson::of(ctx.flavour, base, &data.users[a])),
            None => FieldJson::Null,
        };
        Some(match source {
            Source::Summary => FieldJson::Text(&issue.summary),
            Source::IssueType => {
                FieldJson::IssueType(IssueTypeJson::of(base, &ISSUE_TYPES[issue.issue_type]))
            }
            Source::Status => FieldJson::Status(StatusJson::of(base, issue)),
            Source::Project => {
                let p = data.project_of(&issue.key);
                FieldJson::Project(ProjectJson {
                    id: p.id,
                    key: p.key,
                    name: p.name,
                    self_url: Joined([
                        Part::Text(base),
                        Part::Text("/rest/api/2/project/"),
                        Part::Text(p.id),
                    ]),
                })
            }
            Source::Created => FieldJson::Stamp(Stamp::jira(issue.created)),
            Source::Updated => FieldJson::Stamp(Stamp::jira(issue.updated)),
            Source::ResolutionDate => match issue.resolved {
                Some(ms) => FieldJson::Stamp(Stamp::jira(ms)),
                None => FieldJson::Null,
            },
            Source::Labels => FieldJson::Labels(&issue.labels),
            Source::Assignee => user(issue.assignee),
            Source::Reporter => match issue.reporter {
                Some(_) => user(issue.reporter),
                None => FieldJson::Tree(bot_json(ctx.flavour, base)),
            },
            Source::Parent => {
                if self.ctx.flavour != Flavour::Cloud
                    && ISSUE_TYPES[issue.issue_type].hierarchy_level >= 0
                {
                    return None;
                }
                let p = issue.parent.as_ref().and_then(|p| data.issue(p))?;
                FieldJson::Linked(Box::new(LinkedIssueJson::of(base, self.version, p)))
            }
            Source::IssueLinks => FieldJson::Tree(issue_links(base, self.version, data, issue)),
            Source::Worklog => {
                let index = data.index();
                let logs = index.worklogs_of(issue.id);
                let written = WorklogsWritten::new(ctx, base, self.version, data);
                let mut worklogs = Vec::new();
                written.write_all(&mut worklogs, logs.iter().take(EMBEDDED_WORKLOGS).copied());
                let worklogs = String::from_utf8(worklogs)
                    .ok()
                    .and_then(|text| serde_json::value::RawValue::from_string(text).ok())
                    .expect("worklogs are written as JSON");
                FieldJson::Worklogs(EmbeddedWorklogs {
                    max_results: EMBEDDED_WORKLOGS,
                    start_at: 0,
                    total: logs.len(),
                    worklogs,
                })
            }
            Source::Custom(def) => custom_field(ctx, base, data, issue, def),
        })
    }
}

/// One field's value as an issue's answer writes it.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum FieldJson<'a> {
    Null,
    Text(&'a str),
    Stamp(Stamp),
    Labels(&'a [String]),
    User(UserJson<'a>),
    IssueType(IssueTypeJson<'a>),
    Status(StatusJson<'a>),
    Project(ProjectJson<'a>),
    Linked(Box<LinkedIssueJson<'a>>),
    Option(OptionJson<'a>),
    Worklogs(EmbeddedWorklogs),
    Tree(Value),
}

#[derive(serde::Serialize)]
struct ProjectJson<'a> {
    id: &'a str,
    key: &'a str,
    name: &'a str,
    #[serde(rename = "self")]
    self_url: Joined<'a, 3>,
}

/// The worklogs an issue embeds (the first 20) and how many it has.
#[derive(serde::Serialize)]
struct EmbeddedWorklogs {
    #[serde(rename = "maxResults")]
    max_results: usize,
    #[serde(rename = "startAt")]
    start_at: usize,
    total: usize,
    worklogs: Box<serde_json::value::RawValue>,
}

/// Another issue as an issue names it (its parent, a linked issue): id, key, summary, status
/// and type.
#[derive(serde::Serialize)]
struct LinkedIssueJson<'a> {
    fields: LinkedFields<'a>,
    #[serde(serialize_with = "as_text")]
    id: u64,
    key: &'a str,
    #[serde(rename = "self")]
    self_url: Joined<'a, 5>,
}

#[derive(serde::Serialize)]
struct LinkedFields<'a> {
    issuetype: IssueTypeJson<'a>,
    status: StatusJson<'a>,
    summary: &'a str,
}

impl<'a> LinkedIssueJson<'a> {
    fn of(base: &'a str, version: &'a str, other: &'a Issue) -> LinkedIssueJson<'a> {
        LinkedIssueJson {
            fields: LinkedFields {
                issuetype: IssueTypeJson::of(base, &ISSUE_TYPES[other.issue_type]),
                status: StatusJson::of(base, other),
                summary: &other.summary,
            },
            id: other.id,
            key: &other.key,
            self_url: issue_url(base, version, other.id),
        }
    }
}

/// An issue's links, seen from it.
fn issue_links(base: &str, version: &str, data: &Dataset, issue: &Issue) -> Value {
    let other = |key: &str| {
        data.issue(key).map(|o| {
            serde_json::to_value(LinkedIssueJson::of(base, version, o))
                .expect("an issue serialises")
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
    Value::Array(links)
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
    let items: Vec<Value> = c.items.iter().map(|i| item_json(ctx, data, i)).collect();
    json!({
        "id": c.id.to_string(),
        "author": author,
        "created": jira_timestamp(c.at),
        "items": items
    })
}

/// One changed field of a history entry.
fn item_json(ctx: &Ctx, data: &Dataset, i: &data::ChangeItem) -> Value {
    if i.field == data::PARENT_ITEM {
        return parent_item_json(ctx, data, i);
    }
    let custom = data::FIELDS.iter().find(|f| f.name == i.field);
    let (fieldtype, field_id) = match custom {
        Some(def) => ("custom", def.id(ctx.flavour)),
        // A move's new key: the field is `Key`, its id `issuekey`.
        None if i.field == data::KEY_ITEM => ("jira", "issuekey".to_string()),
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
    // A move to another project names the projects' ids too.
    if i.field == data::PROJECT_ITEM {
        for (side, name) in [("from", &i.from), ("to", &i.to)] {
            if let Some(p) = name.as_deref().and_then(|n| data.project_by_name(n)) {
                item[side] = json!(p.id);
            }
        }
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

/// A move under another epic, as each flavour's changelog writes it: Cloud's
/// `IssueParentAssociation` (no `fieldId`), Data Center's `Epic Link` custom field; the epics'
/// ids in `from` and `to`, their keys in the strings.
fn parent_item_json(ctx: &Ctx, data: &Dataset, i: &data::ChangeItem) -> Value {
    let mut item = match ctx.flavour {
        Flavour::Cloud => json!({"field": "IssueParentAssociation", "fieldtype": "jira"}),
        Flavour::DataCenter => json!({"field": "Epic Link", "fieldtype": "custom"}),
    };
    for (side, key) in [("from", &i.from), ("to", &i.to)] {
        if let Some(key) = key {
            if let Some(epic) = data.issue(key) {
                item[side] = json!(epic.id.to_string());
            }
            item[format!("{side}String")] = json!(key);
        }
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
