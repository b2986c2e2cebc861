//! The Azure DevOps sandbox's data: one organisation with one project, kept as Azure Boards
//! keeps it: every work item is the sum of its updates (revisions), so the updates, the
//! revisions and `asOf` reads all come from the same history.
//!
//! Two datasets, chosen with the Jira ones by the same name: `demo`, the digital unit of the
//! bank (three teams on an inherited Agile process, epics > features > user stories > tasks,
//! effort as `CompletedWork` on tasks, area paths per team, team iterations, a dependency
//! link, a deleted epic in the recycle bin), with its ground truth ([`AdoDataset::logged`]);
//! and `synthetic:N`, N epics of eleven work items each, for scale.

use crate::time::{ado_timestamp, date, days_from_civil, parse_date};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// A user of the organisation.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Identity id (a GUID).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Sign-in name (an e-mail address).
    pub unique_name: String,
    /// Graph descriptor.
    pub descriptor: String,
}

/// A field's type, as `_apis/wit/fields` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `string` (up to 255 characters).
    String,
    /// `integer`.
    Integer,
    /// `double`.
    Double,
    /// `dateTime`.
    DateTime,
    /// `plainText`.
    PlainText,
    /// `html`.
    Html,
    /// `treePath` (area and iteration paths).
    TreePath,
    /// An identity: `string` with `isIdentity`.
    Identity,
    /// `picklistString`.
    Picklist,
    /// `history` (the discussion).
    History,
}

impl FieldType {
    /// The name the fields API gives the type.
    pub fn api_name(self) -> &'static str {
        match self {
            FieldType::String | FieldType::Identity => "string",
            FieldType::Integer => "integer",
            FieldType::Double => "double",
            FieldType::DateTime => "dateTime",
            FieldType::PlainText => "plainText",
            FieldType::Html => "html",
            FieldType::TreePath => "treePath",
            FieldType::Picklist => "picklistString",
            FieldType::History => "history",
        }
    }
}

/// A field of the organisation.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// Reference name, `Microsoft.VSTS.Scheduling.CompletedWork`.
    pub reference: &'static str,
    /// Display name, `Completed Work`.
    pub name: &'static str,
    /// Type.
    pub kind: FieldType,
    /// Set by the service, not by clients.
    pub read_only: bool,
}

const fn f(reference: &'static str, name: &'static str, kind: FieldType) -> FieldDef {
    FieldDef {
        reference,
        name,
        kind,
        read_only: false,
    }
}

const fn ro(reference: &'static str, name: &'static str, kind: FieldType) -> FieldDef {
    FieldDef {
        reference,
        name,
        kind,
        read_only: true,
    }
}

/// The fields of the organisation: system fields, the Agile process's scheduling fields, and
/// the DMO's custom fields of the inherited process.
pub const FIELDS: &[FieldDef] = &[
    ro("System.Id", "ID", FieldType::Integer),
    f("System.Title", "Title", FieldType::String),
    f("System.State", "State", FieldType::String),
    f("System.Reason", "Reason", FieldType::String),
    ro("System.WorkItemType", "Work Item Type", FieldType::String),
    ro("System.TeamProject", "Team Project", FieldType::String),
    f("System.AreaPath", "Area Path", FieldType::TreePath),
    ro("System.AreaId", "Area ID", FieldType::Integer),
    f(
        "System.IterationPath",
        "Iteration Path",
        FieldType::TreePath,
    ),
    ro("System.IterationId", "Iteration ID", FieldType::Integer),
    f("System.AssignedTo", "Assigned To", FieldType::Identity),
    ro("System.CreatedDate", "Created Date", FieldType::DateTime),
    ro("System.CreatedBy", "Created By", FieldType::Identity),
    ro("System.ChangedDate", "Changed Date", FieldType::DateTime),
    ro("System.ChangedBy", "Changed By", FieldType::Identity),
    // A field of link query results; items themselves hold no value in it.
    ro("System.Links.LinkType", "Link Type", FieldType::String),
    ro(
        "System.AuthorizedDate",
        "Authorized Date",
        FieldType::DateTime,
    ),
    ro("System.Rev", "Rev", FieldType::Integer),
    ro("System.Watermark", "Watermark", FieldType::Integer),
    ro("System.Parent", "Parent", FieldType::Integer),
    f("System.Tags", "Tags", FieldType::PlainText),
    f("System.Description", "Description", FieldType::Html),
    f("System.History", "History", FieldType::History),
    ro("System.CommentCount", "Comment Count", FieldType::Integer),
    ro(
        "Microsoft.VSTS.Common.StateChangeDate",
        "State Change Date",
        FieldType::DateTime,
    ),
    ro(
        "Microsoft.VSTS.Common.ActivatedDate",
        "Activated Date",
        FieldType::DateTime,
    ),
    ro(
        "Microsoft.VSTS.Common.ClosedDate",
        "Closed Date",
        FieldType::DateTime,
    ),
    f(
        "Microsoft.VSTS.Common.Priority",
        "Priority",
        FieldType::Integer,
    ),
    f(
        "Microsoft.VSTS.Common.BusinessValue",
        "Business Value",
        FieldType::Integer,
    ),
    f(
        "Microsoft.VSTS.Common.TimeCriticality",
        "Time Criticality",
        FieldType::Double,
    ),
    f(
        "Microsoft.VSTS.Common.ValueArea",
        "Value Area",
        FieldType::String,
    ),
    f(
        "Microsoft.VSTS.Scheduling.StoryPoints",
        "Story Points",
        FieldType::Double,
    ),
    f(
        "Microsoft.VSTS.Scheduling.Effort",
        "Effort",
        FieldType::Double,
    ),
    f("Microsoft.VSTS.Scheduling.Size", "Size", FieldType::Double),
    f(
        "Microsoft.VSTS.Scheduling.OriginalEstimate",
        "Original Estimate",
        FieldType::Double,
    ),
    f(
        "Microsoft.VSTS.Scheduling.RemainingWork",
        "Remaining Work",
        FieldType::Double,
    ),
    f(
        "Microsoft.VSTS.Scheduling.CompletedWork",
        "Completed Work",
        FieldType::Double,
    ),
    f(
        "Microsoft.VSTS.Scheduling.StartDate",
        "Start Date",
        FieldType::DateTime,
    ),
    f(
        "Microsoft.VSTS.Scheduling.TargetDate",
        "Target Date",
        FieldType::DateTime,
    ),
    f("Custom.DemandType", "Demand Type", FieldType::Picklist),
    f(
        "Custom.DevelopmentType",
        "Development Type",
        FieldType::Picklist,
    ),
    f(
        "Custom.StrategicTheme",
        "Strategic Theme",
        FieldType::Picklist,
    ),
    f("Custom.Gate", "Gate", FieldType::Picklist),
    f("Custom.GateDecision", "Gate Decision", FieldType::Picklist),
    f(
        "Custom.GateDecisionDate",
        "Gate Decision Date",
        FieldType::DateTime,
    ),
    f("Custom.GateDecider", "Gate Decider", FieldType::String),
    f("Custom.NextGateDue", "Next Gate Due", FieldType::DateTime),
    f("Custom.CostOfDelay", "Cost of Delay", FieldType::Double),
    f("Custom.RiskReduction", "Risk Reduction", FieldType::Double),
    f("Custom.JobSize", "Job Size", FieldType::Double),
    f("Custom.BusinessOwner", "Business Owner", FieldType::String),
    f("Custom.Kpi", "KPI", FieldType::String),
    f("Custom.KpiBaseline", "KPI Baseline", FieldType::Double),
    f("Custom.KpiTarget", "KPI Target", FieldType::Double),
    f("Custom.KpiActual", "KPI Actual", FieldType::Double),
    f(
        "Custom.KpiMeasuredOn",
        "KPI Measured On",
        FieldType::DateTime,
    ),
    f("Custom.Probability", "Probability", FieldType::Double),
    f("Custom.Impact", "Impact", FieldType::Double),
    f("Custom.Mitigation", "Mitigation", FieldType::PlainText),
];

/// The definition of a field by reference name or display name (case-insensitive, as WIQL
/// reads them).
pub fn field_def(name: &str) -> Option<&'static FieldDef> {
    // A name as the service spells it, looked up; another spelling found by comparing it with
    // each. A query's condition asks for its field's type once an item: for 110,000 items a
    // page, comparing with each of the 59 twice was a fifth of the sandbox's time in a sync.
    SPELLED.get(name).map(|&at| &FIELDS[at]).or_else(|| {
        FIELDS
            .iter()
            .find(|f| f.reference.eq_ignore_ascii_case(name) || f.name.eq_ignore_ascii_case(name))
    })
}

/// The place in [`FIELDS`] of the field of this reference name, spelled as the service spells
/// it (an item's fields are named so).
pub fn field_place(reference: &str) -> Option<usize> {
    SPELLED
        .get(reference)
        .copied()
        .filter(|&at| FIELDS[at].reference == reference)
}

/// Each field's place in [`FIELDS`] by its reference name and by its display name, as the
/// service spells them (the first field of a name where two share one).
static SPELLED: std::sync::LazyLock<std::collections::HashMap<&'static str, usize>> =
    std::sync::LazyLock::new(|| {
        FIELDS
            .iter()
            .enumerate()
            .rev()
            .flat_map(|(at, f)| [(f.name, at), (f.reference, at)])
            .collect()
    });

/// A state of a work item type and its category.
pub type StateDef = (&'static str, &'static str, &'static str);

/// A work item type of the process: name, reference name, states (name, category, colour).
pub struct TypeDef {
    /// Name.
    pub name: &'static str,
    /// Reference name.
    pub reference: &'static str,
    /// States with their categories (`Proposed`, `InProgress`, `Resolved`, `Completed`,
    /// `Removed`).
    pub states: &'static [StateDef],
}

const REQUIREMENT_STATES: &[StateDef] = &[
    ("New", "Proposed", "b2b2b2"),
    ("Active", "InProgress", "007acc"),
    ("Resolved", "Resolved", "ff9d00"),
    ("Closed", "Completed", "339933"),
    ("Removed", "Removed", "ffffff"),
];

/// The work item types of the demo's process ("Tollgate Agile", inherited from Agile).
pub const TYPES: &[TypeDef] = &[
    TypeDef {
        name: "Epic",
        reference: "Microsoft.VSTS.WorkItemTypes.Epic",
        states: REQUIREMENT_STATES,
    },
    TypeDef {
        name: "Feature",
        reference: "Microsoft.VSTS.WorkItemTypes.Feature",
        states: REQUIREMENT_STATES,
    },
    TypeDef {
        name: "User Story",
        reference: "Microsoft.VSTS.WorkItemTypes.UserStory",
        states: REQUIREMENT_STATES,
    },
    TypeDef {
        name: "Task",
        reference: "Microsoft.VSTS.WorkItemTypes.Task",
        states: &[
            ("New", "Proposed", "b2b2b2"),
            ("Active", "InProgress", "007acc"),
            ("Closed", "Completed", "339933"),
            ("Removed", "Removed", "ffffff"),
        ],
    },
    TypeDef {
        name: "Bug",
        reference: "Microsoft.VSTS.WorkItemTypes.Bug",
        states: &[
            ("New", "Proposed", "b2b2b2"),
            ("Active", "InProgress", "007acc"),
            ("Resolved", "Resolved", "ff9d00"),
            ("Closed", "Completed", "339933"),
        ],
    },
    TypeDef {
        name: "Risk",
        reference: "TollgateAgile.Risk",
        states: &[
            ("Open", "Proposed", "b2b2b2"),
            ("Mitigating", "InProgress", "007acc"),
            ("Closed", "Completed", "339933"),
        ],
    },
];

/// The type named `name` (case-insensitive).
pub fn type_def(name: &str) -> Option<&'static TypeDef> {
    TYPES.iter().find(|t| t.name.eq_ignore_ascii_case(name))
}

/// A link to another work item, as one of its ends sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// `System.LinkTypes.Hierarchy-Forward` (child), `...Hierarchy-Reverse` (parent),
    /// `System.LinkTypes.Dependency-Forward` (successor), `...Dependency-Reverse`
    /// (predecessor), `System.LinkTypes.Related`.
    pub rel: &'static str,
    /// The other work item.
    pub target: u64,
}

impl Relation {
    /// The link's name as the API's `attributes.name` gives it.
    pub fn name(&self) -> &'static str {
        match self.rel {
            HIERARCHY_FORWARD => "Child",
            HIERARCHY_REVERSE => "Parent",
            DEPENDENCY_FORWARD => "Successor",
            DEPENDENCY_REVERSE => "Predecessor",
            _ => "Related",
        }
    }
}

/// Child link.
pub const HIERARCHY_FORWARD: &str = "System.LinkTypes.Hierarchy-Forward";
/// Parent link.
pub const HIERARCHY_REVERSE: &str = "System.LinkTypes.Hierarchy-Reverse";
/// Successor link.
pub const DEPENDENCY_FORWARD: &str = "System.LinkTypes.Dependency-Forward";
/// Predecessor link.
pub const DEPENDENCY_REVERSE: &str = "System.LinkTypes.Dependency-Reverse";
/// Related link.
pub const RELATED: &str = "System.LinkTypes.Related";

/// The other end of a work item link type.
pub fn reverse_of(rel: &str) -> Option<&'static str> {
    Some(match rel {
        HIERARCHY_FORWARD => HIERARCHY_REVERSE,
        HIERARCHY_REVERSE => HIERARCHY_FORWARD,
        DEPENDENCY_FORWARD => DEPENDENCY_REVERSE,
        DEPENDENCY_REVERSE => DEPENDENCY_FORWARD,
        RELATED => RELATED,
        _ => return None,
    })
}

/// One update (revision) of a work item.
#[derive(Debug, Clone)]
pub struct Update {
    /// The revision this update made.
    pub rev: u32,
    /// Who made it (index into the identities).
    pub by: usize,
    /// When, ms.
    pub at: i64,
    /// Changed fields: reference name -> (old value, new value); absent = empty.
    pub fields: BTreeMap<String, (Option<Value>, Option<Value>)>,
    /// Links added.
    pub added: Vec<Relation>,
    /// Links removed.
    pub removed: Vec<Relation>,
}

/// A comment on a work item.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Id.
    pub id: u64,
    /// Version, from 1; each edit adds one.
    pub version: u32,
    /// The text as sent.
    pub text: String,
    /// `markdown` or `html`.
    pub format: &'static str,
    /// Author.
    pub created_by: usize,
    /// Created, ms.
    pub created: i64,
    /// Last editor.
    pub modified_by: usize,
    /// Last edited, ms.
    pub modified: i64,
    /// Deleted (kept, as the service keeps it).
    pub deleted: bool,
}

/// A work item with its history.
#[derive(Debug, Clone)]
pub struct WorkItem {
    /// Id, unique in the organisation.
    pub id: u64,
    /// The fields now (absent = empty).
    pub fields: BTreeMap<String, Value>,
    /// Links now.
    pub relations: Vec<Relation>,
    /// Every update, oldest first; the first creates the item.
    pub updates: Vec<Update>,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
    /// In the recycle bin since (ms, by whom).
    pub deleted: Option<(i64, usize)>,
    /// Its fields and its updates' changes as JSON text, written once for the revision they
    /// are of ([`super::items::Written`]); [`AdoDataset::apply`] drops them.
    pub(crate) written: std::sync::OnceLock<super::items::Written>,
    /// The position in [`TYPES`] of the type its `System.WorkItemType` names (exactly), or
    /// [`NO_TYPE`]: kept by [`AdoDataset::apply`] beside the fields, so that a query paged by
    /// id tells the items of another type without looking through their fields.
    type_at: u8,
    /// Whether its `System.TeamProject` is the dataset's project (exactly): kept by
    /// [`AdoDataset::apply`] as [`WorkItem::type_at`] is, for the project every paged query
    /// names.
    in_project: bool,
}

/// [`WorkItem::type_at`] of an item whose type is none of [`TYPES`] (or that has none).
const NO_TYPE: u8 = u8::MAX;

impl WorkItem {
    /// The position in [`TYPES`] of its type, if it is one of them by that exact name.
    pub fn type_position(&self) -> Option<usize> {
        (self.type_at != NO_TYPE).then_some(self.type_at as usize)
    }

    /// Whether it is in the dataset's project, by that exact name.
    pub fn in_the_project(&self) -> bool {
        self.in_project
    }

    /// The revision now.
    pub fn rev(&self) -> u32 {
        self.updates.len() as u32
    }

    /// A text field now.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }

    /// The work item type.
    pub fn kind(&self) -> &str {
        self.text("System.WorkItemType").unwrap_or("")
    }

    /// The parent's id.
    pub fn parent(&self) -> Option<u64> {
        self.fields.get("System.Parent").and_then(Value::as_u64)
    }

    /// The fields as they were after revision `rev`.
    pub fn fields_at(&self, rev: u32) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for u in self.updates.iter().take(rev as usize) {
            for (k, (_, new)) in &u.fields {
                if k == "System.History" {
                    continue;
                }
                match new {
                    Some(v) => out.insert(k.clone(), v.clone()),
                    None => out.remove(k),
                };
            }
        }
        out
    }

    /// The links as they were after revision `rev`.
    pub fn relations_at(&self, rev: u32) -> Vec<Relation> {
        let mut out: Vec<Relation> = Vec::new();
        for u in self.updates.iter().take(rev as usize) {
            out.retain(|r| !u.removed.contains(r));
            out.extend(u.added.iter().cloned());
        }
        out
    }

    /// The last revision made at or before `at` (ms), if the item existed then.
    pub fn rev_at(&self, at: i64) -> Option<u32> {
        let n = self.updates.iter().take_while(|u| u.at <= at).count();
        (n > 0).then_some(n as u32)
    }
}

/// A team: its own area and its own iterations.
#[derive(Debug, Clone)]
pub struct Team {
    /// Id (a GUID).
    pub id: String,
    /// Name.
    pub name: String,
    /// Its area path.
    pub area: String,
    /// Its members (indexes into the identities).
    pub members: std::ops::Range<usize>,
}

/// A classification node: an area or an iteration.
#[derive(Debug, Clone)]
pub struct Node {
    /// Numeric id.
    pub id: i64,
    /// Identifier (a GUID); for iterations, the id team settings use.
    pub identifier: String,
    /// Name.
    pub name: String,
    /// Path, `Portfolio\Mobile\Sprint 26.12` (without the structure's name).
    pub path: String,
    /// Start and finish days (iterations only, when scheduled).
    pub dates: Option<(i64, i64)>,
    /// The team that subscribes to it (iterations below a team's node).
    pub team: Option<usize>,
}

/// Hours a person logged on a task on a day, as the sandbox generated them: the ground truth
/// of effort derived from `CompletedWork`.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// Who (index into the identities).
    pub person: usize,
    /// The task.
    pub task: u64,
    /// The epic above it.
    pub epic: u64,
    /// Day number.
    pub day: i64,
    /// Hours.
    pub hours: f64,
}

/// The whole organisation.
#[derive(Debug, Clone)]
pub struct AdoDataset {
    /// Organisation name.
    pub organization: String,
    /// Project name.
    pub project: String,
    /// Project id.
    pub project_id: String,
    /// Process name and type id.
    pub process: (&'static str, &'static str),
    /// Users; the last one is the service account whose PAT Tollgate uses.
    pub identities: Vec<Identity>,
    /// Teams.
    pub teams: Vec<Team>,
    /// Area nodes (the project's root first).
    pub areas: Vec<Node>,
    /// Iteration nodes (the project's root first).
    pub iterations: Vec<Node>,
    /// Work items, in id order.
    pub items: Vec<WorkItem>,
    /// What was logged, for tests.
    pub logged: Vec<Logged>,
    next_id: u64,
    next_comment: u64,
    watermark: u64,
}

/// The Agile process's type id; inherited processes name it as their parent.
pub const AGILE_PROCESS_ID: &str = "adcc42ab-9882-485e-a3ed-7678f01f66bc";

/// A deterministic GUID from a namespace and a number.
pub fn guid(namespace: u32, n: u64) -> String {
    let a = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(namespace) << 17;
    format!(
        "{namespace:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n >> 16) as u16,
        (a >> 52) & 0xfff,
        (a >> 40) & 0xfff,
        a & 0xffff_ffff_ffff
    )
}

const NAMES: &[(&str, &str)] = &[
    ("Sanna", "Laine"),
    ("Oskar", "Lind"),
    ("Maria", "Santos"),
    ("Teemu", "Heikkinen"),
    ("Ida", "Berg"),
    ("Jonas", "Weber"),
    ("Helmi", "Korhonen"),
    ("Arjun", "Mehta"),
    ("Lotta", "Aalto"),
    ("Pekka", "Ranta"),
    ("Nora", "Falk"),
    ("Samuel", "Okafor"),
    ("Kaisa", "Niemi"),
    ("Viktor", "Novak"),
    ("Emilia", "Rossi"),
    ("Anton", "Lehto"),
    ("Sofia", "Ek"),
    ("Ville", "Hakala"),
];

/// The service account that owns Tollgate's PAT.
pub const BOT_NAME: &str = "Tollgate DMO";
/// Its sign-in name.
pub const BOT_UNIQUE_NAME: &str = "dmo-bot@tollgate.example";

/// A KPI: name, baseline, target, and the latest measurement (value, date).
type KpiSpec = (&'static str, f64, f64, Option<(f64, &'static str)>);

/// One epic of the demo organisation.
struct EpicSpec {
    title: &'static str,
    state: &'static str,
    team: usize,
    demand: Option<&'static str>,
    development: &'static str,
    theme: Option<&'static str>,
    gate: Option<&'static str>,
    /// Decision recorded in the epic: decision, date, decider.
    decision: Option<(&'static str, &'static str, &'static str)>,
    cost_of_delay: Option<f64>,
    /// Business value, time criticality, risk reduction, job size.
    wsjf: Option<(i64, f64, f64, f64)>,
    start: &'static str,
    target: &'static str,
    owner: &'static str,
    created: &'static str,
    /// Name, baseline, target, and the latest measurement (value, date).
    kpi: Option<KpiSpec>,
    /// Title, owned (by the team's first member), mitigation.
    risk: (&'static str, bool, Option<&'static str>),
    /// Days on which the team logs its time on the epic's tasks.
    work: Option<(&'static str, &'static str)>,
    /// Index of the epic this one depends on (a predecessor link).
    depends_on: Option<usize>,
    /// Deleted (to the recycle bin) on this day.
    deleted: Option<&'static str>,
}

const CHANNELS: [&str; 3] = ["Mobile", "Web", "Platform"];

/// The demo organisation's epics; ids 4101.. in this order. What each was seeded for is next
/// to it; the findings they give are in config/demo/expected-findings.txt.
fn demo_epics() -> Vec<EpicSpec> {
    let e = |title, state, team, demand, development| EpicSpec {
        title,
        state,
        team,
        demand,
        development,
        theme: Some("Everyday banking"),
        gate: Some("G2"),
        decision: None,
        cost_of_delay: Some(20_000.0),
        wsjf: Some((5, 3.0, 2.0, 5.0)),
        start: "2026-05-11",
        target: "2027-02-26",
        owner: "Sanna Laine",
        created: "2026-02-02",
        kpi: Some(("Customers using it", 0.0, 40.0, Some((13.0, "2026-11-02")))),
        risk: ("Vendor API limits", true, Some("Batch the calls")),
        work: None,
        depends_on: None,
        deleted: None,
    };
    vec![
        // 4101: clean; G1 and G2 in the DMO's log before the first hour, business case.
        EpicSpec {
            cost_of_delay: Some(30_000.0),
            wsjf: Some((8, 5.0, 3.0, 5.0)),
            kpi: Some((
                "Cards managed in the app",
                0.0,
                40.0,
                Some((13.0, "2026-11-02")),
            )),
            work: Some(("2026-06-01", "2026-11-20")),
            ..e(
                "Card controls in the app",
                "Active",
                0,
                Some("Increments and improvements"),
                "Incremental",
            )
        },
        // 4102: clean but for its dependency on 4103, which its provider never accepted.
        EpicSpec {
            cost_of_delay: Some(12_000.0),
            wsjf: Some((5, 3.0, 2.0, 3.0)),
            start: "2026-06-01",
            target: "2026-12-18",
            created: "2026-03-02",
            kpi: Some((
                "Address changes by self-service",
                0.0,
                60.0,
                Some((22.0, "2026-11-02")),
            )),
            work: Some(("2026-06-15", "2026-11-20")),
            depends_on: Some(2),
            ..e(
                "Self-service address change",
                "Active",
                1,
                Some("Service changes"),
                "Incremental",
            )
        },
        // 4103: only a G1 go, yet the platform team has logged its time since September.
        EpicSpec {
            gate: Some("G1"),
            cost_of_delay: Some(25_000.0),
            wsjf: Some((5, 3.0, 8.0, 7.0)),
            start: "2026-09-01",
            target: "2027-06-30",
            created: "2026-04-06",
            kpi: Some((
                "Events published per second",
                0.0,
                5000.0,
                Some((800.0, "2026-11-16")),
            )),
            risk: (
                "Message ordering across regions",
                true,
                Some("Partition by customer"),
            ),
            work: Some(("2026-09-07", "2026-11-20")),
            ..e(
                "Event streaming platform",
                "Active",
                2,
                Some("Ideas and concepts"),
                "Sequential",
            )
        },
        // 4104: passed G1 without a cost of delay or a WSJF; not started.
        EpicSpec {
            gate: Some("G1"),
            cost_of_delay: None,
            wsjf: None,
            start: "2027-01-04",
            target: "2027-06-30",
            created: "2026-09-14",
            kpi: None,
            risk: (
                "Screen reader coverage",
                true,
                Some("Audit with users early"),
            ),
            ..e(
                "Accessible web checkout",
                "New",
                1,
                Some("Increments and improvements"),
                "Incremental",
            )
        },
        // 4105: no demand type; waiting for G1.
        EpicSpec {
            gate: None,
            start: "2027-02-01",
            target: "2027-09-30",
            created: "2026-10-05",
            kpi: None,
            ..e("Partner API gateway", "New", 2, None, "Sequential")
        },
        // 4106: its G2 go is recorded in the epic itself; work began after it.
        EpicSpec {
            decision: Some(("Go", "2026-11-10", "Portfolio steering")),
            cost_of_delay: Some(18_000.0),
            wsjf: Some((5, 5.0, 1.0, 3.0)),
            start: "2026-11-16",
            target: "2027-04-30",
            created: "2026-08-03",
            kpi: Some((
                "Onboarding completed on mobile",
                0.0,
                70.0,
                Some((4.0, "2026-11-20")),
            )),
            work: Some(("2026-11-16", "2026-11-20")),
            ..e(
                "Mobile onboarding redesign",
                "Active",
                0,
                Some("Ideas and concepts"),
                "Incremental",
            )
        },
        // 4107: removed and deleted to the recycle bin; a sync must not keep it.
        EpicSpec {
            gate: None,
            created: "2026-01-12",
            kpi: None,
            deleted: Some("2026-11-18"),
            ..e(
                "Legacy SMS banking",
                "Removed",
                1,
                Some("Service changes"),
                "Continual",
            )
        },
    ]
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn day_of(text: &str) -> i64 {
    parse_date(text).expect("a valid date in the dataset")
}

/// A date field's value: midnight UTC, as Azure Boards stores date-only input.
fn date_value(text: &str) -> Value {
    Value::String(ado_timestamp(day_of(text) * DAY_MS))
}

impl AdoDataset {
    /// `demo` or `synthetic:N`.
    pub fn named(name: &str) -> Result<AdoDataset, String> {
        Ok(match crate::dataset_size(name)? {
            None => AdoDataset::demo(),
            Some(n) => AdoDataset::synthetic(n),
        })
    }

    fn base(organization: &str, project: &str) -> AdoDataset {
        let mut identities: Vec<Identity> = NAMES
            .iter()
            .enumerate()
            .map(|(i, (first, last))| Identity {
                id: guid(0x1d0000, i as u64),
                display_name: format!("{first} {last}"),
                unique_name: format!(
                    "{}.{}@tollgate.example",
                    first.to_lowercase(),
                    last.to_lowercase()
                ),
                descriptor: format!("aad.{}", guid(0x1d0001, i as u64).replace('-', "")),
            })
            .collect();
        identities.push(Identity {
            id: guid(0x1d0000, 999),
            display_name: BOT_NAME.to_string(),
            unique_name: BOT_UNIQUE_NAME.to_string(),
            descriptor: format!("aad.{}", guid(0x1d0001, 999).replace('-', "")),
        });
        let teams: Vec<Team> = CHANNELS
            .iter()
            .enumerate()
            .map(|(i, name)| Team {
                id: guid(0x7ea0, i as u64),
                name: name.to_string(),
                area: format!("{project}\\{name}"),
                members: i * 6..i * 6 + 6,
            })
            .collect();
        let mut areas = vec![Node {
            id: 1000,
            identifier: guid(0xa4ea, 0),
            name: project.to_string(),
            path: project.to_string(),
            dates: None,
            team: None,
        }];
        let mut iterations = vec![Node {
            id: 2000,
            identifier: guid(0x17e4, 0),
            name: project.to_string(),
            path: project.to_string(),
            dates: None,
            team: None,
        }];
        let first_monday = days_from_civil(2026, 6, 1);
        for (t, team) in teams.iter().enumerate() {
            areas.push(Node {
                id: 1001 + t as i64,
                identifier: guid(0xa4ea, 1 + t as u64),
                name: team.name.clone(),
                path: team.area.clone(),
                dates: None,
                team: Some(t),
            });
            iterations.push(Node {
                id: 2001 + t as i64 * 20,
                identifier: guid(0x17e4, 1 + t as u64 * 20),
                name: team.name.clone(),
                path: format!("{project}\\{}", team.name),
                dates: None,
                team: None,
            });
            for n in 0..14i64 {
                let start = first_monday + n * 14;
                iterations.push(Node {
                    id: 2002 + t as i64 * 20 + n,
                    identifier: guid(0x17e4, 2 + t as u64 * 20 + n as u64),
                    name: format!("Sprint 26.{}", n + 12),
                    path: format!("{project}\\{}\\Sprint 26.{}", team.name, n + 12),
                    dates: Some((start, start + 11)),
                    team: Some(t),
                });
            }
            // A sprint the team has named but not scheduled yet.
            iterations.push(Node {
                id: 2016 + t as i64 * 20,
                identifier: guid(0x17e4, 16 + t as u64 * 20),
                name: "Backlog grooming".to_string(),
                path: format!("{project}\\{}\\Backlog grooming", team.name),
                dates: None,
                team: Some(t),
            });
        }
        AdoDataset {
            organization: organization.to_string(),
            project: project.to_string(),
            project_id: "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c".to_string(),
            process: ("Tollgate Agile", AGILE_PROCESS_ID),
            identities,
            teams,
            areas,
            iterations,
            items: Vec::new(),
            logged: Vec::new(),
            next_id: 4101,
            next_comment: 7_000_001,
            watermark: 50_000,
        }
    }

    /// The service account (the PAT's owner).
    pub fn bot(&self) -> usize {
        self.identities.len() - 1
    }

    /// The demo organisation: 7 epics (one deleted), ~150 work items, ~2,000 updates.
    pub fn demo() -> AdoDataset {
        let mut d = AdoDataset::base(crate::ADO_ORGANIZATION, crate::ADO_PROJECT);
        let mut rng = Rng(0xad0_de70);
        let specs = demo_epics();
        let epics: Vec<u64> = specs.iter().map(|s| d.add_epic(s)).collect();
        for (i, s) in specs.iter().enumerate() {
            if let Some(j) = s.depends_on {
                let at = day_of(s.created) * DAY_MS + 30 * DAY_MS + 10 * 3_600_000;
                let by = d.teams[s.team].members.start;
                d.link(epics[i], DEPENDENCY_REVERSE, epics[j], by, at);
            }
        }
        let mut tasks: Vec<Vec<u64>> = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            tasks.push(d.add_children(epics[i], s, &mut rng));
        }
        d.log_daily_work(&specs, &epics, &tasks, &mut rng);
        for (i, s) in specs.iter().enumerate() {
            if let Some(day) = s.deleted {
                let by = d.teams[s.team].members.start;
                d.delete(epics[i], by, day_of(day) * DAY_MS + 9 * 3_600_000);
            }
        }
        d
    }

    /// `synthetic:N`: N epics, each with a feature, four user stories and five tasks; the
    /// first task of each epic carries two days of `CompletedWork`.
    pub fn synthetic(n: usize) -> AdoDataset {
        let mut d = AdoDataset::base(crate::ADO_ORGANIZATION, crate::ADO_PROJECT);
        let demands = [
            "Capability planning",
            "Ideas and concepts",
            "Increments and improvements",
            "Service changes",
        ];
        let created = day_of("2026-01-05") * DAY_MS + 9 * 3_600_000;
        for i in 0..n {
            let team = i % 3;
            let area = d.teams[team].area.clone();
            let by = d.teams[team].members.start;
            let at = created + (i as i64 % 200) * 60_000;
            let mut fields = vec![
                ("Custom.DemandType", json!(demands[i % 4])),
                ("Custom.DevelopmentType", json!("Incremental")),
                ("Custom.StrategicTheme", json!("Everyday banking")),
                ("Custom.Gate", json!("G2")),
                ("Custom.GateDecision", json!("Go")),
                ("Custom.GateDecisionDate", date_value("2026-03-02")),
                ("Custom.GateDecider", json!("Portfolio steering")),
                (
                    "Custom.CostOfDelay",
                    json!(10_000.0 + (i % 50) as f64 * 1000.0),
                ),
                ("Microsoft.VSTS.Common.BusinessValue", json!(5)),
                ("Microsoft.VSTS.Common.TimeCriticality", json!(3.0)),
                ("Custom.RiskReduction", json!(2.0)),
                ("Custom.JobSize", json!(5.0)),
            ];
            fields.push(("System.State", json!("Active")));
            let epic = d.create(
                "Epic",
                &format!("Synthetic initiative {}", i + 1),
                &area,
                None,
                fields,
                None,
                by,
                at,
            );
            let feature = d.create(
                "Feature",
                &format!("Synthetic initiative {}: feature", i + 1),
                &area,
                None,
                vec![("System.State", json!("Active"))],
                Some(epic),
                by,
                at + 60_000,
            );
            let mut stories = Vec::new();
            for s in 0..4 {
                stories.push(d.create(
                    "User Story",
                    &format!("Synthetic initiative {}: story {}", i + 1, s + 1),
                    &area,
                    None,
                    vec![("Microsoft.VSTS.Scheduling.StoryPoints", json!(3.0))],
                    Some(feature),
                    by,
                    at + 120_000,
                ));
            }
            for t in 0..5 {
                let task = d.create(
                    "Task",
                    &format!("Synthetic initiative {}: task {}", i + 1, t + 1),
                    &area,
                    None,
                    vec![
                        ("Microsoft.VSTS.Scheduling.OriginalEstimate", json!(16.0)),
                        ("Microsoft.VSTS.Scheduling.RemainingWork", json!(16.0)),
                    ],
                    Some(stories[t % 4]),
                    by,
                    at + 180_000,
                );
                if t == 0 {
                    for (k, day) in ["2026-03-09", "2026-03-10"].iter().enumerate() {
                        let person = d.teams[team].members.start + k;
                        d.log(task, epic, person, day_of(day), 4.0 + k as f64);
                    }
                }
            }
        }
        d
    }

    /// Create a work item; returns its id.
    #[allow(clippy::too_many_arguments)] // mirrors the fields of a create request
    pub fn create(
        &mut self,
        kind: &str,
        title: &str,
        area: &str,
        iteration: Option<&str>,
        fields: Vec<(&str, Value)>,
        parent: Option<u64>,
        by: usize,
        at: i64,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let state = type_def(kind).map_or("New", |t| t.states[0].0);
        let iteration = iteration.unwrap_or(&self.project).to_string();
        let area_id = self
            .areas
            .iter()
            .find(|n| n.path == area)
            .map_or(1000, |n| n.id);
        let iteration_id = self
            .iterations
            .iter()
            .find(|n| n.path == iteration)
            .map_or(2000, |n| n.id);
        let mut values: Vec<(&str, Value)> = vec![
            ("System.Id", json!(id)),
            ("System.AreaId", json!(area_id)),
            ("System.AreaPath", json!(area)),
            ("System.TeamProject", json!(self.project)),
            ("System.IterationId", json!(iteration_id)),
            ("System.IterationPath", json!(iteration)),
            ("System.WorkItemType", json!(kind)),
            ("System.State", json!(state)),
            (
                "System.Reason",
                json!(format!("New {}", kind.to_lowercase())),
            ),
            ("System.CreatedDate", json!(ado_timestamp(at))),
            ("System.CreatedBy", self.identity_value(by)),
            ("System.Title", json!(title)),
            ("System.CommentCount", json!(0)),
            (
                "Microsoft.VSTS.Common.StateChangeDate",
                json!(ado_timestamp(at)),
            ),
            ("Microsoft.VSTS.Common.Priority", json!(2)),
        ];
        if let Some(p) = parent {
            values.push(("System.Parent", json!(p)));
        }
        let mut later = Vec::new();
        for (k, v) in fields {
            if k == "System.State" {
                later.push((k, v));
            } else if let Some(slot) = values.iter_mut().find(|(n, _)| *n == k) {
                slot.1 = v;
            } else {
                values.push((k, v));
            }
        }
        self.items.push(WorkItem {
            id,
            fields: BTreeMap::new(),
            relations: Vec::new(),
            updates: Vec::new(),
            comments: Vec::new(),
            deleted: None,
            written: std::sync::OnceLock::new(),
            type_at: NO_TYPE,
            in_project: false,
        });
        let added = parent
            .map(|p| {
                vec![Relation {
                    rel: HIERARCHY_REVERSE,
                    target: p,
                }]
            })
            .unwrap_or_default();
        self.apply(
            id,
            by,
            at,
            values.into_iter().map(|(k, v)| (k, Some(v))).collect(),
            added,
            Vec::new(),
        );
        if let Some(p) = parent {
            self.apply(
                p,
                by,
                at,
                Vec::new(),
                vec![Relation {
                    rel: HIERARCHY_FORWARD,
                    target: id,
                }],
                Vec::new(),
            );
        }
        if !later.is_empty() {
            self.apply(
                id,
                by,
                at + 60_000,
                later.into_iter().map(|(k, v)| (k, Some(v))).collect(),
                Vec::new(),
                Vec::new(),
            );
        }
        id
    }

    /// Apply one update to a work item: changed fields (None clears), links added and removed.
    /// Keeps the system fields (`System.Rev`, `ChangedDate`, `ChangedBy`, `Watermark`, state
    /// dates, `System.Parent`) as the service does. Returns the new revision, or `None` for an
    /// unknown id.
    pub fn apply(
        &mut self,
        id: u64,
        by: usize,
        at: i64,
        changes: Vec<(&str, Option<Value>)>,
        added: Vec<Relation>,
        removed: Vec<Relation>,
    ) -> Option<u32> {
        self.watermark += 1;
        let watermark = self.watermark;
        let who = self.identity_value(by);
        let idx = self.index(id)?;
        let item = &mut self.items[idx];
        let rev = item.rev() + 1;
        let stamp = json!(ado_timestamp(at));
        let mut changes: Vec<(String, Option<Value>)> = changes
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.filter(|v| !is_empty(v))))
            .collect();
        let old_state = item.text("System.State").map(str::to_string);
        if let Some((_, Some(state))) = changes.iter().find(|(k, _)| k == "System.State") {
            let state = state.as_str().unwrap_or("").to_string();
            if old_state.as_deref() != Some(state.as_str()) && rev > 1 {
                changes.push((
                    "Microsoft.VSTS.Common.StateChangeDate".into(),
                    Some(stamp.clone()),
                ));
                let reason = match state.as_str() {
                    "Active" | "Mitigating" => "Implementation started",
                    "Resolved" => "Code complete and unit tests pass",
                    "Closed" => "Acceptance tests pass",
                    "Removed" => "Removed from the backlog",
                    _ => "Moved to the backlog",
                };
                changes.push(("System.Reason".into(), Some(json!(reason))));
                if state == "Active"
                    && !item
                        .fields
                        .contains_key("Microsoft.VSTS.Common.ActivatedDate")
                {
                    changes.push((
                        "Microsoft.VSTS.Common.ActivatedDate".into(),
                        Some(stamp.clone()),
                    ));
                }
                if state == "Closed" {
                    changes.push((
                        "Microsoft.VSTS.Common.ClosedDate".into(),
                        Some(stamp.clone()),
                    ));
                }
            }
        }
        for r in &added {
            if r.rel == HIERARCHY_REVERSE {
                changes.push(("System.Parent".into(), Some(json!(r.target))));
            }
        }
        for r in &removed {
            if r.rel == HIERARCHY_REVERSE && !added.iter().any(|a| a.rel == HIERARCHY_REVERSE) {
                changes.push(("System.Parent".into(), None));
            }
        }
        changes.push(("System.Rev".into(), Some(json!(rev))));
        changes.push(("System.AuthorizedDate".into(), Some(stamp.clone())));
        changes.push(("System.ChangedDate".into(), Some(stamp.clone())));
        changes.push(("System.ChangedBy".into(), Some(who.clone())));
        changes.push(("System.Watermark".into(), Some(json!(watermark))));
        let mut fields = BTreeMap::new();
        for (k, new) in changes {
            if k == "System.History" {
                // The discussion is kept in the updates, not in the fields of now.
                fields.insert(k, (None, new));
                continue;
            }
            let old = item.fields.get(&k).cloned();
            if old == new && k != "System.Rev" {
                continue;
            }
            match &new {
                Some(v) => {
                    item.fields.insert(k.clone(), v.clone());
                }
                None => {
                    item.fields.remove(&k);
                }
            }
            fields.insert(k, (old, new));
        }
        item.relations.retain(|r| !removed.contains(r));
        item.relations.extend(added.iter().cloned());
        item.written = std::sync::OnceLock::new();
        item.type_at = item
            .text("System.WorkItemType")
            .and_then(|name| TYPES.iter().position(|t| t.name == name))
            .map_or(NO_TYPE, |at| at as u8);
        item.in_project = item.text("System.TeamProject") == Some(self.project.as_str());
        item.updates.push(Update {
            rev,
            by,
            at,
            fields,
            added,
            removed,
        });
        Some(rev)
    }

    /// Link `from` to `to` with `rel` (and the reverse link on `to`), as one update of each.
    pub fn link(&mut self, from: u64, rel: &'static str, to: u64, by: usize, at: i64) {
        self.apply(
            from,
            by,
            at,
            Vec::new(),
            vec![Relation { rel, target: to }],
            Vec::new(),
        );
        if let Some(back) = reverse_of(rel) {
            self.apply(
                to,
                by,
                at,
                Vec::new(),
                vec![Relation {
                    rel: back,
                    target: from,
                }],
                Vec::new(),
            );
        }
    }

    /// Move a work item to the recycle bin.
    pub fn delete(&mut self, id: u64, by: usize, at: i64) -> bool {
        match self.index(id) {
            Some(i) if self.items[i].deleted.is_none() => {
                self.items[i].deleted = Some((at, by));
                true
            }
            _ => false,
        }
    }

    /// The index of a work item (deleted ones too).
    pub fn index(&self, id: u64) -> Option<usize> {
        self.items.binary_search_by_key(&id, |w| w.id).ok()
    }

    /// A live (not deleted) work item.
    pub fn item(&self, id: u64) -> Option<&WorkItem> {
        self.index(id)
            .map(|i| &self.items[i])
            .filter(|w| w.deleted.is_none())
    }

    /// An identity as work item fields and comments show it (an `IdentityRef`).
    pub fn identity_value(&self, i: usize) -> Value {
        let p = &self.identities[i.min(self.identities.len() - 1)];
        json!({
            "displayName": p.display_name,
            "url": format!("https://spsprodweu5.vssps.visualstudio.com/A{}/_apis/Identities/{}", self.project_id, p.id),
            "_links": {"avatar": {"href": format!("https://dev.azure.com/{}/_apis/GraphProfile/MemberAvatars/{}", self.organization, p.descriptor)}},
            "id": p.id,
            "uniqueName": p.unique_name,
            "imageUrl": format!("https://dev.azure.com/{}/_apis/GraphProfile/MemberAvatars/{}", self.organization, p.descriptor),
            "descriptor": p.descriptor,
        })
    }

    /// The next comment id.
    pub fn next_comment_id(&mut self) -> u64 {
        let id = self.next_comment;
        self.next_comment += 1;
        id
    }

    fn add_epic(&mut self, s: &EpicSpec) -> u64 {
        let team = &self.teams[s.team];
        let area = team.area.clone();
        let by = team.members.start;
        let at = day_of(s.created) * DAY_MS + 9 * 3_600_000 + (self.next_id as i64 % 40) * 60_000;
        let mut fields: Vec<(&str, Value)> = vec![
            ("Custom.DevelopmentType", json!(s.development)),
            ("Microsoft.VSTS.Scheduling.StartDate", date_value(s.start)),
            ("Microsoft.VSTS.Scheduling.TargetDate", date_value(s.target)),
            ("Custom.BusinessOwner", json!(s.owner)),
            ("Microsoft.VSTS.Common.ValueArea", json!("Business")),
            (
                "System.Description",
                json!(format!(
                    "<div>{}: the business case is in the DMO's register.</div>",
                    s.title
                )),
            ),
        ];
        let mut put = |k: &'static str, v: Option<Value>| {
            if let Some(v) = v {
                fields.push((k, v));
            }
        };
        put("Custom.DemandType", s.demand.map(|v| json!(v)));
        put("Custom.StrategicTheme", s.theme.map(|v| json!(v)));
        put("Custom.Gate", s.gate.map(|v| json!(v)));
        if let Some((decision, day, decider)) = s.decision {
            put("Custom.GateDecision", Some(json!(decision)));
            put("Custom.GateDecisionDate", Some(date_value(day)));
            put("Custom.GateDecider", Some(json!(decider)));
        }
        put("Custom.CostOfDelay", s.cost_of_delay.map(|v| json!(v)));
        if let Some((bv, tc, rr, size)) = s.wsjf {
            put("Microsoft.VSTS.Common.BusinessValue", Some(json!(bv)));
            put("Microsoft.VSTS.Common.TimeCriticality", Some(json!(tc)));
            put("Custom.RiskReduction", Some(json!(rr)));
            put("Custom.JobSize", Some(json!(size)));
        }
        if let Some((name, baseline, target, measured)) = s.kpi {
            put("Custom.Kpi", Some(json!(name)));
            put("Custom.KpiBaseline", Some(json!(baseline)));
            put("Custom.KpiTarget", Some(json!(target)));
            if let Some((value, day)) = measured {
                put("Custom.KpiActual", Some(json!(value)));
                put("Custom.KpiMeasuredOn", Some(date_value(day)));
            }
        }
        if s.state != "New" {
            put("System.State", Some(json!(s.state)));
        }
        self.create("Epic", s.title, &area, None, fields, None, by, at)
    }

    /// Two features, three user stories each, two tasks per story, a bug, and the risk.
    /// Returns the tasks time is logged on.
    fn add_children(&mut self, epic: u64, s: &EpicSpec, rng: &mut Rng) -> Vec<u64> {
        let team = self.teams[s.team].clone();
        let created = day_of(s.created) * DAY_MS + 10 * 3_600_000;
        let working = s.work.is_some();
        let mut tasks = Vec::new();
        let sprints: Vec<String> = self
            .iterations
            .iter()
            .filter(|n| n.team == Some(s.team) && n.dates.is_some())
            .filter(|n| {
                s.work.is_some_and(|(a, b)| {
                    let (from, to) = n.dates.unwrap();
                    from <= day_of(b) && to >= day_of(a)
                })
            })
            .map(|n| n.path.clone())
            .collect();
        for feature_no in 0..2 {
            let feature = self.create(
                "Feature",
                &format!("{}: feature {}", s.title, feature_no + 1),
                &team.area,
                None,
                vec![(
                    "System.State",
                    json!(if working { "Active" } else { "New" }),
                )],
                Some(epic),
                team.members.start,
                created + feature_no * 60_000,
            );
            for story_no in 0..3 {
                let iteration = (!sprints.is_empty())
                    .then(|| sprints[rng.below(sprints.len() as u64) as usize].clone());
                let assignee = team.members.start + rng.below(team.members.len() as u64) as usize;
                let points = [1.0, 2.0, 3.0, 5.0, 8.0][rng.below(5) as usize];
                let mut fields = vec![
                    ("Microsoft.VSTS.Scheduling.StoryPoints", json!(points)),
                    ("System.AssignedTo", self.identity_value(assignee)),
                ];
                if working {
                    fields.push(("System.State", json!("Active")));
                }
                let story = self.create(
                    "User Story",
                    &format!("{}: story {}.{}", s.title, feature_no + 1, story_no + 1),
                    &team.area,
                    iteration.as_deref(),
                    fields,
                    Some(feature),
                    team.members.start,
                    created + DAY_MS + story_no * 60_000,
                );
                for task_no in 0..2 {
                    let estimate = [8.0, 12.0, 16.0, 24.0][rng.below(4) as usize];
                    let task = self.create(
                        "Task",
                        &format!(
                            "{}: task {}.{}.{}",
                            s.title,
                            feature_no + 1,
                            story_no + 1,
                            task_no + 1
                        ),
                        &team.area,
                        iteration.as_deref(),
                        vec![
                            (
                                "Microsoft.VSTS.Scheduling.OriginalEstimate",
                                json!(estimate),
                            ),
                            ("Microsoft.VSTS.Scheduling.RemainingWork", json!(estimate)),
                            ("System.AssignedTo", self.identity_value(assignee)),
                        ],
                        Some(story),
                        team.members.start,
                        created + 2 * DAY_MS + task_no * 60_000,
                    );
                    tasks.push(task);
                }
            }
        }
        let bug_parent = self.items[self.index(epic).unwrap()]
            .relations
            .iter()
            .find(|r| r.rel == HIERARCHY_FORWARD)
            .map(|r| r.target);
        self.create(
            "Bug",
            &format!("{}: regression found in review", s.title),
            &team.area,
            None,
            vec![("Microsoft.VSTS.Common.Priority", json!(1))],
            bug_parent,
            team.members.start + 1,
            created + 3 * DAY_MS,
        );
        let (title, owned, mitigation) = s.risk;
        let mut fields = vec![
            ("Custom.Probability", json!(0.3)),
            ("Custom.Impact", json!(0.5)),
        ];
        if owned {
            fields.push(("System.AssignedTo", self.identity_value(team.members.start)));
        }
        if let Some(m) = mitigation {
            fields.push(("Custom.Mitigation", json!(m)));
        }
        self.create(
            "Risk",
            title,
            &team.area,
            None,
            fields,
            Some(epic),
            team.members.start,
            created + 3 * DAY_MS + 60_000,
        );
        tasks
    }

    /// Record `hours` of work: `CompletedWork` up, `RemainingWork` down, by the person.
    fn log(&mut self, task: u64, epic: u64, person: usize, day: i64, hours: f64) {
        let Some(item) = self.item(task) else {
            return;
        };
        let done = item
            .fields
            .get("Microsoft.VSTS.Scheduling.CompletedWork")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let left = item
            .fields
            .get("Microsoft.VSTS.Scheduling.RemainingWork")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let mut changes = vec![
            (
                "Microsoft.VSTS.Scheduling.CompletedWork",
                Some(json!(done + hours)),
            ),
            (
                "Microsoft.VSTS.Scheduling.RemainingWork",
                Some(json!((left - hours).max(0.0))),
            ),
        ];
        if item.text("System.State") == Some("New") {
            changes.push(("System.State", Some(json!("Active"))));
        }
        let at = day * DAY_MS + 15 * 3_600_000 + (person as i64 * 7 % 60) * 60_000;
        self.apply(task, person, at, changes, Vec::new(), Vec::new());
        self.logged.push(Logged {
            person,
            task,
            epic,
            day,
            hours,
        });
    }

    /// Every member of a team works 6 to 8 hours on every working day on which one of the
    /// team's epics is in its work window, on a task of such an epic, and records it as
    /// `CompletedWork`. One entry is corrected the same day (8 hours, then 6).
    fn log_daily_work(
        &mut self,
        specs: &[EpicSpec],
        epics: &[u64],
        tasks: &[Vec<u64>],
        rng: &mut Rng,
    ) {
        let windows: Vec<Option<(i64, i64)>> = specs
            .iter()
            .map(|s| s.work.map(|(a, b)| (day_of(a), day_of(b))))
            .collect();
        let first = windows.iter().flatten().map(|w| w.0).min().unwrap_or(0);
        let last = windows.iter().flatten().map(|w| w.1).max().unwrap_or(-1);
        let mut corrected = false;
        for day in first..=last {
            if (day + 3).rem_euclid(7) >= 5 {
                continue; // weekend
            }
            for team in 0..self.teams.len() {
                let active: Vec<usize> = (0..specs.len())
                    .filter(|&i| specs[i].team == team)
                    .filter(|&i| windows[i].is_some_and(|(a, b)| (a..=b).contains(&day)))
                    .collect();
                if active.is_empty() {
                    continue;
                }
                for person in self.teams[team].members.clone() {
                    let e = active[rng.below(active.len() as u64) as usize];
                    let pool = &tasks[e];
                    let task = pool[rng.below(pool.len() as u64) as usize];
                    let hours = [6.0, 6.5, 7.0, 7.5, 8.0][rng.below(5) as usize];
                    if !corrected && hours == 8.0 && day > first + 20 {
                        // Logged 8, corrected to 6 an hour later.
                        self.log(task, epics[e], person, day, 8.0);
                        let logged = self.logged.pop().unwrap();
                        let item = self.item(task).unwrap();
                        let done = item.fields["Microsoft.VSTS.Scheduling.CompletedWork"]
                            .as_f64()
                            .unwrap();
                        let left = item.fields["Microsoft.VSTS.Scheduling.RemainingWork"]
                            .as_f64()
                            .unwrap();
                        let at = item.updates.last().unwrap().at + 3_600_000;
                        self.apply(
                            task,
                            person,
                            at,
                            vec![
                                (
                                    "Microsoft.VSTS.Scheduling.CompletedWork",
                                    Some(json!(done - 2.0)),
                                ),
                                (
                                    "Microsoft.VSTS.Scheduling.RemainingWork",
                                    Some(json!(left + 2.0)),
                                ),
                            ],
                            Vec::new(),
                            Vec::new(),
                        );
                        self.logged.push(Logged {
                            hours: 6.0,
                            ..logged
                        });
                        corrected = true;
                        continue;
                    }
                    self.log(task, epics[e], person, day, hours);
                }
            }
        }
    }

    /// Hours logged per (person's sign-in name, epic id), the truth a sync must reproduce.
    pub fn hours_by_person_and_epic(&self) -> BTreeMap<(String, u64), f64> {
        let mut out = BTreeMap::new();
        for l in &self.logged {
            *out.entry((self.identities[l.person].unique_name.clone(), l.epic))
                .or_insert(0.0) += l.hours;
        }
        out
    }

    /// Live work items of a type.
    pub fn live_of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a WorkItem> + 'a {
        self.items
            .iter()
            .filter(move |w| w.deleted.is_none() && w.kind() == kind)
    }

    /// The epic above a work item (itself for an epic).
    pub fn epic_of(&self, id: u64) -> Option<u64> {
        let mut at = self.item(id)?;
        for _ in 0..16 {
            if at.kind() == "Epic" {
                return Some(at.id);
            }
            at = self.item(at.parent()?)?;
        }
        None
    }

    /// Writes the JSON text of every item not written since it last changed (each item's
    /// fields and its updates' changes, copied into answers after): when the sandbox starts
    /// and after a change, so that no client's request pays for it.
    pub fn write_texts(&self) {
        super::items::write_all(self);
    }

    /// Edit `share` of the live work items at `now_ms` (a title marked " (edited)", or the mark
    /// taken off again: one update each) and add a quarter of an hour to `share` of the live
    /// items with Completed Work (one update each, by whoever saved the item last: a time
    /// entry of theirs): what `POST /_sandbox/change` does to the organisation, for
    /// incremental benchmarks. Every `1/share`th item of each list, so runs repeat. Returns
    /// the items edited and the entries added.
    pub fn change_share(&mut self, share: f64, now_ms: i64) -> (usize, usize) {
        const COMPLETED: &str = "Microsoft.VSTS.Scheduling.CompletedWork";
        let step = (1.0 / share.clamp(1e-9, 1.0)).round().max(1.0) as usize;
        let every = |ids: Vec<(u64, usize)>| -> Vec<(u64, usize)> {
            ids.into_iter().skip(step - 1).step_by(step).collect()
        };
        let last_by = |w: &WorkItem| w.updates.last().map_or(0, |u| u.by);
        let titled = every(
            self.items
                .iter()
                .filter(|w| w.deleted.is_none())
                .map(|w| (w.id, last_by(w)))
                .collect(),
        );
        let logged = every(
            self.items
                .iter()
                .filter(|w| w.deleted.is_none())
                .filter(|w| {
                    w.fields
                        .get(COMPLETED)
                        .and_then(Value::as_f64)
                        .is_some_and(|h| h > 0.0)
                })
                .map(|w| (w.id, last_by(w)))
                .collect(),
        );
        let mut edited = 0;
        for (id, by) in titled {
            let title = self
                .item(id)
                .and_then(|w| w.text("System.Title"))
                .unwrap_or_default();
            let title = match title.strip_suffix(" (edited)") {
                Some(original) => original.to_string(),
                None => format!("{title} (edited)"),
            };
            let change = vec![("System.Title", Some(json!(title)))];
            edited += usize::from(self.apply(id, by, now_ms, change, vec![], vec![]).is_some());
        }
        let mut entries = 0;
        for (id, by) in logged {
            let done = self
                .item(id)
                .and_then(|w| w.fields.get(COMPLETED))
                .and_then(Value::as_f64);
            let change = vec![(COMPLETED, Some(json!(done.unwrap_or(0.0) + 0.25)))];
            entries += usize::from(self.apply(id, by, now_ms, change, vec![], vec![]).is_some());
        }
        (edited, entries)
    }

    /// Change a field of a work item now, as a user would (for tests).
    pub fn set_field(&mut self, id: u64, field: &str, value: Option<Value>, at: i64) -> bool {
        let by = 0;
        self.item(id).is_some()
            && self
                .apply(id, by, at, vec![(field, value)], Vec::new(), Vec::new())
                .is_some()
    }

    /// The day of an iteration's start, for tests.
    pub fn iteration_dates(&self, path: &str) -> Option<(String, String)> {
        let n = self.iterations.iter().find(|n| n.path == path)?;
        n.dates.map(|(a, b)| (date(a), date(b)))
    }
}

/// Azure Boards stores no empty values: an empty string or null clears the field.
fn is_empty(v: &Value) -> bool {
    v.is_null() || v.as_str().is_some_and(str::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field named as the service spells it, in another case, or not at all: the definition
    /// comparing the name with each field's finds.
    #[test]
    fn a_field_is_found_by_either_name_in_any_case() {
        let compared = |name: &str| {
            FIELDS.iter().find(|f| {
                f.reference.eq_ignore_ascii_case(name) || f.name.eq_ignore_ascii_case(name)
            })
        };
        for f in FIELDS {
            for name in [
                f.reference.to_string(),
                f.name.to_string(),
                f.reference.to_ascii_lowercase(),
                f.name.to_ascii_uppercase(),
            ] {
                let found = field_def(&name).map(|d| d.reference);
                assert_eq!(found, compared(&name).map(|d| d.reference), "{name}");
                assert!(found.is_some(), "{name}");
            }
        }
        assert!(field_def("Custom.Nothing").is_none());
        assert_eq!(
            field_def("completed work").map(|d| d.reference),
            Some("Microsoft.VSTS.Scheduling.CompletedWork")
        );
    }

    #[test]
    fn demo_has_the_advertised_shape() {
        let d = AdoDataset::demo();
        assert_eq!(d.live_of_type("Epic").count(), 6);
        assert!(d.item(4107).is_none(), "4107 is in the recycle bin");
        let all = d.items.len();
        assert!((140..170).contains(&all), "{all} work items");
        let updates: usize = d.items.iter().map(|w| w.updates.len()).sum();
        assert!(updates > 1500, "{updates} updates");
        // Every task's CompletedWork is the sum of what was logged on it.
        for t in d.live_of_type("Task") {
            let logged: f64 = d
                .logged
                .iter()
                .filter(|l| l.task == t.id)
                .map(|l| l.hours)
                .sum();
            let field = t
                .fields
                .get("Microsoft.VSTS.Scheduling.CompletedWork")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            assert_eq!(field, logged, "task {}", t.id);
        }
        // The history replays to the fields of now.
        for w in &d.items {
            assert_eq!(w.fields_at(w.rev()), w.fields, "item {}", w.id);
            assert_eq!(w.relations_at(w.rev()), w.relations, "item {}", w.id);
        }
        // Empty fields are absent.
        let epic = d.item(4104).unwrap();
        assert!(!epic.fields.contains_key("Custom.CostOfDelay"));
        assert_eq!(
            d.epic_of(d.live_of_type("Task").next().unwrap().id),
            Some(4101)
        );
    }

    #[test]
    fn synthetic_scales_and_is_deterministic() {
        let a = AdoDataset::synthetic(3);
        assert_eq!(a.items.len(), 33);
        assert_eq!(a.logged.len(), 6);
        let b = AdoDataset::synthetic(3);
        assert_eq!(
            a.items.last().unwrap().fields,
            b.items.last().unwrap().fields
        );
        assert!(AdoDataset::named("synthetic:0").is_err());
        assert!(AdoDataset::named("synthetic:1000000000").is_err());
    }

    #[test]
    fn guids_are_distinct_and_well_formed() {
        let a = guid(7, 1);
        assert_eq!(a.len(), 36);
        assert_ne!(a, guid(7, 2));
        assert_eq!(
            a.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
    }
}
