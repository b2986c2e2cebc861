//! The Jira sandbox's data: one site, rendered as Cloud or Data Center by the handlers.
//!
//! Two datasets: `demo`, a small bank's portfolio with seeded gaps (its expected findings are
//! in `config/demo/expected-findings.txt`), and `synthetic:N`, N epics of regular shape for
//! benchmarks. Both are generated deterministically from code, so every fresh machine serves
//! the same bytes.

use crate::time::{date, days_from_civil};
use serde_json::Value;
use std::collections::BTreeMap;

/// Which face of Jira a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Jira Cloud: REST v3 and v2, `parent` links, account ids.
    Cloud,
    /// Jira Data Center: REST v2, `Epic Link`, user names.
    DataCenter,
}

/// A custom field type, as `schema.custom` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `float`: a JSON number.
    Number,
    /// `select`: an option object.
    Select,
    /// `datepicker`: `YYYY-MM-DD`.
    Date,
    /// `textfield`: a string.
    Text,
    /// `userpicker`: a user object.
    User,
    /// The Sprint field (`gh-sprint`).
    Sprint,
    /// Data Center's `Epic Link` (`gh-epic-link`), a key.
    EpicLink,
}

/// A custom field of the site.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    /// Display name; not unique in general.
    pub name: &'static str,
    /// Type.
    pub kind: FieldKind,
    /// Numeric id on Cloud (`customfield_<id>`).
    pub cloud_id: u32,
    /// Numeric id on Data Center.
    pub dc_id: u32,
    /// Only on Data Center (Epic Link, Epic Name).
    pub dc_only: bool,
}

impl FieldDef {
    /// `customfield_NNNNN` for a flavour.
    pub fn id(&self, flavour: Flavour) -> String {
        match flavour {
            Flavour::Cloud => format!("customfield_{}", self.cloud_id),
            Flavour::DataCenter => format!("customfield_{}", self.dc_id),
        }
    }

    /// The `schema.custom` plugin type URI.
    pub fn custom_type(&self) -> &'static str {
        match self.kind {
            FieldKind::Number => "com.atlassian.jira.plugin.system.customfieldtypes:float",
            FieldKind::Select => "com.atlassian.jira.plugin.system.customfieldtypes:select",
            FieldKind::Date => "com.atlassian.jira.plugin.system.customfieldtypes:datepicker",
            FieldKind::Text => "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
            FieldKind::User => "com.atlassian.jira.plugin.system.customfieldtypes:userpicker",
            FieldKind::Sprint => "com.pyxis.greenhopper.jira:gh-sprint",
            FieldKind::EpicLink => "com.pyxis.greenhopper.jira:gh-epic-link",
        }
    }

    /// The `schema.type`.
    pub fn schema_type(&self) -> &'static str {
        match self.kind {
            FieldKind::Number => "number",
            FieldKind::Select => "option",
            FieldKind::Date => "date",
            FieldKind::Text => "string",
            FieldKind::User => "user",
            FieldKind::Sprint => "array",
            FieldKind::EpicLink => "any",
        }
    }
}

/// The site's custom fields. Ids differ between the two flavours, as between any two sites.
pub const FIELDS: &[FieldDef] = &[
    field("Demand Type", FieldKind::Select, 10031, 12100),
    field("Development Type", FieldKind::Select, 10032, 12101),
    field("Value Stream", FieldKind::Select, 10033, 12102),
    field("Strategic Theme", FieldKind::Select, 10034, 12103),
    field("Gate", FieldKind::Select, 10035, 12104),
    field("Gate Decision", FieldKind::Select, 10036, 12105),
    field("Gate Decision Date", FieldKind::Date, 10037, 12106),
    field("Gate Decider", FieldKind::Text, 10053, 12122),
    field("Next Gate Due", FieldKind::Date, 10038, 12107),
    field("Cost of Delay", FieldKind::Number, 10039, 12108),
    field("Business Value", FieldKind::Number, 10040, 12109),
    field("Time Criticality", FieldKind::Number, 10041, 12110),
    field("Risk Reduction", FieldKind::Number, 10042, 12111),
    // A select on this site, as happens: values like "XL" are not numbers.
    field("Job Size", FieldKind::Select, 10043, 12112),
    field("Target start", FieldKind::Date, 10044, 12113),
    field("Target end", FieldKind::Date, 10045, 12114),
    field("Business Owner", FieldKind::Text, 10046, 12115),
    field("KPI", FieldKind::Text, 10047, 12116),
    field("KPI Baseline", FieldKind::Number, 10048, 12117),
    field("KPI Target", FieldKind::Number, 10049, 12118),
    field("KPI Actual", FieldKind::Number, 10054, 12123),
    field("KPI Measured On", FieldKind::Date, 10055, 12124),
    field("Probability", FieldKind::Number, 10050, 12119),
    field("Impact", FieldKind::Number, 10051, 12120),
    field("Mitigation", FieldKind::Text, 10052, 12121),
    field("Story Points", FieldKind::Number, 10016, 10106),
    field("Sprint", FieldKind::Sprint, 10020, 10104),
    FieldDef {
        name: "Epic Link",
        kind: FieldKind::EpicLink,
        cloud_id: 10014,
        dc_id: 10101,
        dc_only: true,
    },
];

const fn field(name: &'static str, kind: FieldKind, cloud_id: u32, dc_id: u32) -> FieldDef {
    FieldDef {
        name,
        kind,
        cloud_id,
        dc_id,
        dc_only: false,
    }
}

/// The definition of a field by name.
pub fn field_def(name: &str) -> &'static FieldDef {
    FIELDS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

/// An issue type. Level 1 is the epic level, whatever the type is called.
#[derive(Debug, Clone)]
pub struct IssueType {
    /// Id.
    pub id: &'static str,
    /// Name; the demo's epic type is not called "Epic".
    pub name: &'static str,
    /// 1 epic, 0 standard, -1 sub-task.
    pub hierarchy_level: i32,
}

/// The site's issue types.
pub const ISSUE_TYPES: &[IssueType] = &[
    IssueType {
        id: "10000",
        name: "Portfolio Epic",
        hierarchy_level: 1,
    },
    IssueType {
        id: "10001",
        name: "Story",
        hierarchy_level: 0,
    },
    IssueType {
        id: "10002",
        name: "Task",
        hierarchy_level: 0,
    },
    IssueType {
        id: "10004",
        name: "Bug",
        hierarchy_level: 0,
    },
    IssueType {
        id: "10005",
        name: "Risk",
        hierarchy_level: 0,
    },
    IssueType {
        id: "10003",
        name: "Sub-task",
        hierarchy_level: -1,
    },
];

/// The index of the sub-task type in [`ISSUE_TYPES`]: its `parent` is a story, task or bug,
/// and its epic is its parent's.
pub const SUB_TASK: usize = 5;

/// A project of the site other than the portfolio's: a team's or another department's, whose
/// issues may sit under the portfolio's epics or have nothing to do with them.
#[derive(Debug, Clone)]
pub struct OtherProject {
    /// Numeric id (the portfolio's is 10000).
    pub id: String,
    /// Key, the prefix of its issues' keys.
    pub key: String,
    /// Name.
    pub name: String,
}

/// A project as an issue or `/project/{key}` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectRef<'a> {
    /// Numeric id.
    pub id: &'a str,
    /// Key.
    pub key: &'a str,
    /// Name.
    pub name: &'a str,
}

/// The portfolio project's id.
pub const PORTFOLIO_PROJECT_ID: &str = "10000";

/// A user. Cloud knows them by account id, Data Center by name.
#[derive(Debug, Clone)]
pub struct User {
    /// Cloud account id.
    pub account_id: String,
    /// Data Center user name.
    pub name: String,
    /// Display name.
    pub display_name: String,
}

/// A logical custom-field value; the handlers render it per flavour.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A number.
    Number(f64),
    /// A select option by its value.
    Option(String),
    /// A date, `YYYY-MM-DD`.
    Date(String),
    /// Text.
    Text(String),
}

impl FieldValue {
    /// As the changelog writes it (`fromString`, `toString`).
    pub fn display(&self) -> String {
        match self {
            FieldValue::Number(n) => n.to_string(),
            FieldValue::Option(v) | FieldValue::Date(v) | FieldValue::Text(v) => v.clone(),
        }
    }
}

/// One entry in an issue's history, as its changelog tells it: one edit by one person, which
/// may change several fields at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Id of the history entry.
    pub id: u64,
    /// Who (index into `users`), or `None` for the API user.
    pub author: Option<usize>,
    /// When, ms.
    pub at: i64,
    /// The fields it changed.
    pub items: Vec<ChangeItem>,
}

/// One field changed by a history entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeItem {
    /// The field's name (`status`, `summary`, a custom field's name).
    pub field: String,
    /// The value before, as text.
    pub from: Option<String>,
    /// The value after, as text.
    pub to: Option<String>,
}

/// The history item of a move under another epic: its `from` and `to` are the epics' keys.
/// The changelog writes it as each flavour does ([`super::render`]).
pub const PARENT_ITEM: &str = "parent";

/// The history item of a move to another project: the issue's key before and after.
pub const KEY_ITEM: &str = "Key";

/// The history item of a move to another project: the projects' names (their ids in the
/// changelog's `from` and `to`, [`super::render`]).
pub const PROJECT_ITEM: &str = "project";

impl ChangeItem {
    fn new(field: &str, from: Option<String>, to: Option<String>) -> ChangeItem {
        ChangeItem {
            field: field.to_string(),
            from,
            to,
        }
    }
}

/// A comment with its properties.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Id.
    pub id: u64,
    /// Author index into `users`, or `None` for the API user (the DMO bot).
    pub author: Option<usize>,
    /// The body as stored: ADF (from v3) or wiki text (from v2), kept as sent.
    pub body: Value,
    /// Created, ms.
    pub created: i64,
    /// Updated, ms.
    pub updated: i64,
    /// Comment properties.
    pub properties: BTreeMap<String, Value>,
}

/// An issue.
#[derive(Debug, Clone)]
pub struct Issue {
    /// Numeric id.
    pub id: u64,
    /// Key, `BIZ-7`.
    pub key: String,
    /// Index into [`ISSUE_TYPES`].
    pub issue_type: usize,
    /// Summary.
    pub summary: String,
    /// Status name.
    pub status: &'static str,
    /// Status category key: `new`, `indeterminate`, `done`.
    pub status_category: &'static str,
    /// Parent epic key.
    pub parent: Option<String>,
    /// Assignee index.
    pub assignee: Option<usize>,
    /// Reporter index (who created it).
    pub reporter: Option<usize>,
    /// Created, ms.
    pub created: i64,
    /// Updated, ms.
    pub updated: i64,
    /// Resolved, ms.
    pub resolved: Option<i64>,
    /// Custom field values by field name.
    pub custom: BTreeMap<&'static str, FieldValue>,
    /// Sprint ids.
    pub sprints: Vec<u64>,
    /// Labels.
    pub labels: Vec<String>,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its history, oldest first.
    pub history: Vec<Change>,
}

impl Issue {
    /// The keys it had before moves to other projects, as its changelog records them.
    pub fn old_keys(&self) -> impl Iterator<Item = &String> {
        self.history
            .iter()
            .flat_map(|c| &c.items)
            .filter(|item| item.field == KEY_ITEM)
            .filter_map(|item| item.from.as_ref())
    }
}

/// A worklog.
#[derive(Debug, Clone)]
pub struct Worklog {
    /// Id.
    pub id: u64,
    /// Issue id.
    pub issue_id: u64,
    /// Author index.
    pub author: usize,
    /// When the work started, ms.
    pub started: i64,
    /// Seconds spent.
    pub seconds: u64,
    /// Created, ms.
    pub created: i64,
    /// Updated, ms.
    pub updated: i64,
    /// Comment text.
    pub comment: Option<String>,
}

/// A board.
#[derive(Debug, Clone)]
pub struct Board {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// `scrum` or `kanban`.
    pub kind: &'static str,
}

/// A sprint.
#[derive(Debug, Clone)]
pub struct Sprint {
    /// Id.
    pub id: u64,
    /// Board id.
    pub board: u64,
    /// Name.
    pub name: String,
    /// `closed`, `active`, `future`.
    pub state: &'static str,
    /// Start, ms (future sprints have none).
    pub start: Option<i64>,
    /// End, ms.
    pub end: Option<i64>,
    /// Completed, ms (closed sprints only).
    pub complete: Option<i64>,
    /// Goal.
    pub goal: Option<String>,
}

/// A link between two issues, as Jira keeps it: a type, an outward and an inward issue
/// ("BIZ-4 blocks BIZ-2": type Blocks, outward BIZ-4, inward BIZ-2).
#[derive(Debug, Clone)]
pub struct IssueLink {
    /// Id.
    pub id: u64,
    /// The link type's name (`Blocks`, `Relates`).
    pub kind: &'static str,
    /// The issue the outward description applies to (the one that blocks).
    pub outward: String,
    /// The other one (the one that is blocked).
    pub inward: String,
}

/// Link types: name, outward and inward descriptions, id.
pub const LINK_TYPES: &[(&str, &str, &str, &str)] = &[
    ("Blocks", "blocks", "is blocked by", "10000"),
    ("Relates", "relates to", "relates to", "10003"),
];

/// The whole site.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// The portfolio's project key (id 10000).
    pub project: String,
    /// The site's other projects: their issues come back from searches without a project
    /// clause and their worklogs from `/worklog/updated`, as on any real site.
    pub other_projects: Vec<OtherProject>,
    /// Users.
    pub users: Vec<User>,
    /// Issues by key order of creation.
    pub issues: Vec<Issue>,
    /// Worklogs, in id order.
    pub worklogs: Vec<Worklog>,
    /// Deleted worklogs: (id, deletion time ms).
    pub deleted_worklogs: Vec<(u64, i64)>,
    /// Boards.
    pub boards: Vec<Board>,
    /// Sprints.
    pub sprints: Vec<Sprint>,
    /// Issue links.
    pub links: Vec<IssueLink>,
    next_comment: u64,
    next_worklog: u64,
    /// Look-ups built on first read of this version of the data.
    index: super::index::IndexSlot,
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

/// A KPI: name, baseline, target, and the latest measurement (value, date).
type KpiSpec = (&'static str, f64, f64, Option<(f64, &'static str)>);

/// One epic of the demo, as the DMO would describe it.
struct EpicSpec {
    title: &'static str,
    status: &'static str,
    demand: Option<&'static str>,
    development: &'static str,
    stream: &'static str,
    theme: Option<&'static str>,
    gate: Option<&'static str>,
    /// Decision recorded in the epic itself: decision, date, decider. Most epics keep their
    /// decision log in the DMO's gate-decisions.csv instead.
    decision: Option<(&'static str, &'static str, &'static str)>,
    next_gate_due: Option<&'static str>,
    cost_of_delay: Option<f64>,
    /// Business value, time criticality, risk reduction, job size (a select value).
    wsjf: Option<(f64, f64, f64, &'static str)>,
    start: &'static str,
    end: &'static str,
    owner: &'static str,
    created: &'static str,
    /// Name, baseline, target, and the latest measurement (value, date).
    kpi: Option<KpiSpec>,
    /// Earlier measurements of the KPI, as its history in the epic tells them: (date, share
    /// of the way from baseline to target). Those before the epic was created are left out.
    kpi_earlier: &'static [(&'static str, f64)],
    /// The gates the epic's Gate field moved to, with the day (oldest first): it was created
    /// at G0 and the last move is to `gate`. Empty: the field was set when it was created.
    gates: &'static [(&'static str, &'static str)],
    /// Risk filed under the epic: title, owned (by the team's first member), mitigation.
    risk: (&'static str, bool, Option<&'static str>),
    /// Team: 0 payments, 1 onboarding, 2 data platform, 3 service desk (its board).
    team: usize,
    /// Days the team worked on it (first, last), logging time in Jira every working day; none
    /// for epics whose time is kept in the HR timesheets (BIZ-1..8) or not started.
    work: Option<(&'static str, &'static str)>,
}

const CAP: Option<&str> = Some("Capability planning");
const IDEA: Option<&str> = Some("Ideas and concepts");
const INC: Option<&str> = Some("Increments and improvements");
const SVC: Option<&str> = Some("Service changes");
const RETAIL: &str = "Retail banking";
const DATA: &str = "Enterprise data";
const SERVICE: &str = "Customer service";
const MEASURED: Option<(f64, &str)> = Some((0.0, "2026-11-02"));
/// The generated history ends here (2026-11-20 16:00 UTC).
const DATA_END: i64 = 1_795_190_400_000;

/// The demo portfolio; what each epic was seeded for is written next to it, and the findings
/// the whole demo must give are in config/demo/expected-findings.txt. BIZ-1..8 are the
/// initiatives the HR and finance files talk about. Most epics keep their gate decisions in
/// the DMO's log (gate-decisions.csv); BIZ-14, BIZ-22 and BIZ-24 record theirs in the epic.
fn demo_epics() -> Vec<EpicSpec> {
    let e = |title, status, demand, development, stream, team| EpicSpec {
        title,
        status,
        demand,
        development,
        stream,
        theme: Some("Everyday banking"),
        gate: Some("G2"),
        decision: None,
        next_gate_due: None,
        cost_of_delay: Some(20_000.0),
        wsjf: Some((5.0, 3.0, 2.0, "5")),
        start: "2026-05-04",
        end: "2027-03-31",
        owner: "Leena Koskinen",
        created: "2026-01-12",
        kpi: Some(("Customers using it", 0.0, 50.0, MEASURED)),
        kpi_earlier: &[("2026-08-03", 0.1), ("2026-10-01", 0.2)],
        gates: &[],
        risk: (
            "Key people leave mid-way",
            true,
            Some("Pair on every change"),
        ),
        team,
        work: None,
    };
    vec![
        // BIZ-1: seeded clean.
        EpicSpec {
            gates: &[("G1", "2026-01-15"), ("G2", "2026-02-12")],
            theme: Some("Real-time payments"),
            cost_of_delay: Some(40_000.0),
            wsjf: Some((8.0, 8.0, 5.0, "8")),
            start: "2026-01-01",
            end: "2026-12-31",
            created: "2025-11-03",
            kpi: Some((
                "Instant share of payments",
                0.0,
                60.0,
                Some((22.0, "2026-11-02")),
            )),
            ..e(
                "Instant payments",
                "In Progress",
                CAP,
                "Sequential",
                RETAIL,
                0,
            )
        },
        // BIZ-2: conditional go at G1; its condition, the cost of delay, is still missing.
        EpicSpec {
            gates: &[("G1", "2026-01-15")],
            gate: Some("G1"),
            cost_of_delay: None,
            wsjf: None,
            start: "2026-01-01",
            end: "2026-12-31",
            created: "2025-11-03",
            kpi: Some(("Card controls used", 0.0, 40.0, Some((12.0, "2026-11-02")))),
            ..e(
                "Card controls in the app",
                "In Progress",
                INC,
                "Incremental",
                RETAIL,
                0,
            )
        },
        // BIZ-3: go at G1 on a stale business case with no benefit in it.
        EpicSpec {
            gates: &[("G1", "2026-02-26")],
            gate: Some("G1"),
            start: "2026-03-02",
            end: "2027-06-30",
            created: "2025-11-03",
            kpi: Some(("Self-service mortgage renewals", 10.0, 45.0, None)),
            ..e(
                "Mortgage self-service",
                "In Progress",
                CAP,
                "Sequential",
                RETAIL,
                1,
            )
        },
        // BIZ-4: put on hold at G1, so still at G0; time was logged anyway.
        EpicSpec {
            gate: Some("G0"),
            start: "2026-04-01",
            end: "2026-12-31",
            created: "2025-11-03",
            ..e(
                "Identity check at onboarding",
                "To Do",
                INC,
                "Sequential",
                RETAIL,
                1,
            )
        },
        // BIZ-5: business case without a discount rate.
        EpicSpec {
            gate: Some("G0"),
            created: "2026-10-01",
            start: "2027-01-04",
            end: "2027-09-30",
            ..e("Customer data hub", "To Do", IDEA, "Sequential", DATA, 2)
        },
        // BIZ-6: its budget row is broken (period 2026-Q5).
        EpicSpec {
            gate: Some("G0"),
            created: "2026-10-12",
            start: "2027-01-11",
            end: "2027-06-25",
            ..e("Data catalogue", "To Do", IDEA, "Continual", DATA, 2)
        },
        // BIZ-7: stopped at G1, time logged after the stop.
        EpicSpec {
            gate: Some("G0"),
            start: "2026-02-02",
            end: "2026-10-30",
            created: "2025-11-03",
            ..e(
                "Card controls on the web",
                "Done",
                INC,
                "Sequential",
                RETAIL,
                0,
            )
        },
        // BIZ-8: its decision row is broken (gate G9).
        EpicSpec {
            gate: Some("G0"),
            created: "2026-10-20",
            start: "2027-01-04",
            end: "2027-06-18",
            ..e(
                "Branch queue tickets",
                "To Do",
                SVC,
                "Continual",
                SERVICE,
                3,
            )
        },
        // BIZ-9 .. BIZ-25: initiatives whose record lives in Jira, their business cases and
        // decision log in the DMO's files. Seeded clean unless said otherwise.
        EpicSpec {
            gates: &[
                ("G1", "2026-02-20"),
                ("G2", "2026-05-20"),
                ("G3", "2026-09-16"),
            ],
            gate: Some("G3"),
            start: "2026-06-01",
            end: "2027-02-26",
            work: Some(("2026-06-01", "2026-11-20")),
            ..e(
                "Savings goals",
                "In Progress",
                INC,
                "Incremental",
                RETAIL,
                0,
            )
        },
        // BIZ-10: its first six work items were resolved in June and July, five are left and
        // its planned end is three weeks away: the forecast gives it little chance (GATE-009).
        EpicSpec {
            gates: &[("G1", "2026-06-03"), ("G2", "2026-07-01")],
            created: "2026-05-25",
            start: "2026-07-06",
            end: "2026-12-18",
            work: Some(("2026-07-06", "2026-11-20")),
            ..e(
                "Account switching service",
                "In Progress",
                SVC,
                "Continual",
                SERVICE,
                3,
            )
        },
        EpicSpec {
            gates: &[("G1", "2026-02-25"), ("G2", "2026-04-28")],
            kpi: Some(("Data products in use", 2.0, 12.0, Some((5.0, "2026-11-02")))),
            work: Some(("2026-05-04", "2026-11-20")),
            ..e(
                "Event streaming platform",
                "In Progress",
                CAP,
                "Incremental",
                DATA,
                2,
            )
        },
        // BIZ-12: nobody said which kind of demand it is.
        EpicSpec {
            demand: None,
            gate: Some("G0"),
            created: "2026-11-02",
            start: "2027-02-01",
            end: "2027-08-31",
            ..e(
                "Chat with an advisor",
                "To Do",
                INC,
                "Incremental",
                SERVICE,
                3,
            )
        },
        EpicSpec {
            // BIZ-13: moved to G2 in Jira on 22 April, before steering decided G2 (6 May).
            gates: &[("G1", "2026-03-04"), ("G2", "2026-04-22")],
            start: "2026-05-11",
            work: Some(("2026-05-11", "2026-11-20")),
            ..e(
                "Fraud scoring v2",
                "In Progress",
                INC,
                "Incremental",
                DATA,
                2,
            )
        },
        // BIZ-14: passed G1 without a strategic theme.
        EpicSpec {
            gates: &[("G1", "2026-10-28")],
            theme: None,
            gate: Some("G1"),
            decision: Some(("Go", "2026-10-28", "Portfolio steering")),
            next_gate_due: Some("2026-12-16"),
            created: "2026-09-01",
            start: "2027-01-04",
            end: "2027-10-29",
            ..e(
                "Paperless statements",
                "To Do",
                INC,
                "Sequential",
                SERVICE,
                3,
            )
        },
        EpicSpec {
            gates: &[
                ("G1", "2026-01-21"),
                ("G2", "2026-03-04"),
                ("G3", "2026-07-01"),
                ("G4", "2026-09-07"),
            ],
            gate: Some("G4"),
            start: "2026-03-09",
            end: "2026-08-28",
            created: "2025-12-01",
            work: Some(("2026-03-09", "2026-08-28")),
            ..e("Complaint tracking", "Done", SVC, "Continual", SERVICE, 3)
        },
        EpicSpec {
            gates: &[("G1", "2026-10-14")],
            gate: Some("G1"),
            next_gate_due: Some("2027-01-13"),
            created: "2026-08-03",
            start: "2027-01-11",
            end: "2027-09-30",
            ..e(
                "Merchant onboarding portal",
                "To Do",
                INC,
                "Incremental",
                RETAIL,
                1,
            )
        },
        EpicSpec {
            gates: &[("G1", "2026-04-01"), ("G2", "2026-06-03")],
            start: "2026-06-08",
            work: Some(("2026-06-08", "2026-11-20")),
            ..e(
                "Reporting warehouse migration",
                "In Progress",
                INC,
                "Sequential",
                DATA,
                2,
            )
        },
        // BIZ-18: the G1 decision was due in October and has not been taken.
        EpicSpec {
            gate: Some("G0"),
            next_gate_due: Some("2026-10-15"),
            created: "2026-09-10",
            start: "2027-01-04",
            end: "2027-06-30",
            ..e("Robo-advice pilot", "To Do", IDEA, "Sequential", RETAIL, 0)
        },
        EpicSpec {
            gates: &[("G1", "2026-05-06"), ("G2", "2026-05-27")],
            start: "2026-06-01",
            end: "2026-11-20",
            work: Some(("2026-06-01", "2026-11-20")),
            ..e(
                "Self-service card replacement",
                "In Progress",
                SVC,
                "Continual",
                SERVICE,
                3,
            )
        },
        // BIZ-20: job size written as "XL" in a select that should hold numbers.
        EpicSpec {
            gates: &[("G1", "2026-05-13"), ("G2", "2026-06-10")],
            wsjf: Some((3.0, 2.0, 1.0, "XL")),
            start: "2026-06-15",
            end: "2026-12-04",
            work: Some(("2026-06-15", "2026-11-20")),
            ..e(
                "Master data clean-up",
                "In Progress",
                INC,
                "Continual",
                DATA,
                2,
            )
        },
        EpicSpec {
            gates: &[
                ("G1", "2026-02-11"),
                ("G2", "2026-04-14"),
                ("G3", "2026-09-02"),
            ],
            gate: Some("G3"),
            start: "2026-04-20",
            work: Some(("2026-04-20", "2026-11-20")),
            ..e(
                "Mobile onboarding",
                "In Progress",
                INC,
                "Incremental",
                RETAIL,
                1,
            )
        },
        // BIZ-22: 56 hours logged while only the G1 go is on record.
        EpicSpec {
            gates: &[("G1", "2026-11-02")],
            gate: Some("G1"),
            decision: Some(("Go", "2026-11-02", "Portfolio steering")),
            next_gate_due: Some("2026-12-09"),
            created: "2026-08-03",
            start: "2027-01-04",
            end: "2027-12-17",
            work: Some(("2026-10-05", "2026-10-13")),
            ..e(
                "Open banking API",
                "In Progress",
                INC,
                "Incremental",
                RETAIL,
                1,
            )
        },
        EpicSpec {
            gates: &[
                ("G1", "2026-01-14"),
                ("G2", "2026-02-18"),
                ("G3", "2026-06-03"),
                ("G4", "2026-07-01"),
                ("G5", "2026-08-10"),
            ],
            gate: Some("G5"),
            start: "2026-02-23",
            end: "2026-07-31",
            created: "2025-12-01",
            work: Some(("2026-02-23", "2026-07-31")),
            ..e(
                "Contact centre routing",
                "Done",
                SVC,
                "Continual",
                SERVICE,
                3,
            )
        },
        // BIZ-24: its only risk has no owner and no mitigation.
        EpicSpec {
            gates: &[("G1", "2026-11-04")],
            gate: Some("G1"),
            decision: Some(("Go", "2026-11-04", "Portfolio steering")),
            next_gate_due: Some("2027-01-20"),
            created: "2026-08-17",
            start: "2027-02-01",
            end: "2027-11-30",
            risk: ("Regulator changes the reporting format", false, None),
            ..e(
                "Regulatory reporting automation",
                "To Do",
                INC,
                "Sequential",
                DATA,
                2,
            )
        },
        EpicSpec {
            gates: &[("G1", "2026-06-10"), ("G2", "2026-07-01")],
            start: "2026-07-06",
            end: "2026-12-18",
            work: Some(("2026-07-06", "2026-11-20")),
            ..e(
                "Customer feedback loop",
                "In Progress",
                IDEA,
                "Continual",
                SERVICE,
                3,
            )
        },
    ]
}

const FIRST_NAMES: &[&str] = &[
    "Aada", "Ben", "Chloe", "Daniel", "Elsa", "Farid", "Greta", "Hugo", "Ines", "Joel", "Kirsi",
    "Leo", "Maria", "Niko", "Oona", "Pavel", "Reetta", "Sami", "Tiina", "Umar", "Veera", "Wille",
    "Ximena", "Yusuf", "Zara", "Anton", "Bea", "Cyril", "Dora", "Emil",
];
const LAST_NAMES: &[&str] = &[
    "Laine",
    "Berg",
    "Heikkinen",
    "Koivisto",
    "Lind",
    "Rahimi",
    "Sundqvist",
    "Nurmi",
    "Ortega",
    "Halme",
    "Rantanen",
    "Vuori",
    "Santos",
    "Aalto",
    "Peltola",
    "Novak",
    "Salmi",
    "Jokinen",
    "Lehto",
    "Farouk",
    "Kallio",
    "Holm",
    "Reyes",
    "Demir",
    "Ahmed",
    "Mattila",
    "Grön",
    "Dubois",
    "Kiss",
    "Wikström",
];

fn day_ms(text: &str) -> i64 {
    let d = crate::time::parse_date(text).expect("a valid date in the dataset");
    d * 86_400_000
}

impl Dataset {
    /// Change a share (0 < share <= 1) of the issues and of the worklogs as people would, at
    /// `now_ms`: every k-th issue's summary is edited (with its changelog entry), every k-th
    /// worklog gains 15 minutes; both get `updated` = now. Deterministic. Returns how many
    /// issues and worklogs changed. For incremental benchmarks and tests (`POST
    /// /_sandbox/change?share=0.01`).
    pub fn change_share(&mut self, share: f64, now_ms: i64) -> (usize, usize) {
        let step = (1.0 / share.clamp(1e-9, 1.0)).round().max(1.0) as usize;
        let mut issues = 0;
        for issue in self.issues.iter_mut().skip(step - 1).step_by(step) {
            let before = issue.summary.clone();
            issue.summary = match before.strip_suffix(" (edited)") {
                Some(original) => original.to_string(),
                None => format!("{before} (edited)"),
            };
            issue.updated = now_ms.max(issue.updated);
            let after = issue.summary.clone();
            record_change(
                issue,
                vec![ChangeItem::new("summary", Some(before), Some(after))],
                now_ms,
            );
            issues += 1;
        }
        let mut worklogs = 0;
        for w in self.worklogs.iter_mut().skip(step - 1).step_by(step) {
            w.seconds += 900;
            w.updated = now_ms.max(w.updated);
            worklogs += 1;
        }
        (issues, worklogs)
    }

    /// Parse `demo` or `synthetic:N`.
    pub fn named(name: &str) -> Result<Dataset, String> {
        Ok(match crate::dataset_size(name)? {
            None => Dataset::demo(),
            Some(n) => Dataset::synthetic(n),
        })
    }

    fn base(project: &str, users: usize) -> Dataset {
        let users = (0..users)
            .map(|i| {
                let first = FIRST_NAMES[i % FIRST_NAMES.len()];
                let last = LAST_NAMES[(i * 7) % LAST_NAMES.len()];
                User {
                    account_id: format!("712020:{:08x}-{:04x}", 0x5c1b_0000u32 + i as u32, i),
                    name: format!("{}.{}", first.to_lowercase(), ascii(last).to_lowercase()),
                    display_name: format!("{first} {last}"),
                }
            })
            .collect();
        let boards = vec![
            board(12, "Payments", "scrum"),
            board(13, "Onboarding", "scrum"),
            board(14, "Data platform", "scrum"),
            board(15, "Service desk", "kanban"),
        ];
        let mut sprints = Vec::new();
        let first_monday = days_from_civil(2026, 6, 1);
        for (b, board) in boards.iter().enumerate().filter(|(_, b)| b.kind == "scrum") {
            for n in 0..14u64 {
                let start = (first_monday + n as i64 * 14) * 86_400_000 + 6 * 3_600_000;
                let end = start + 14 * 86_400_000;
                let state = match n {
                    0..=11 => "closed",
                    12 => "active",
                    _ => "future",
                };
                sprints.push(Sprint {
                    id: 300 + b as u64 * 20 + n,
                    board: board.id,
                    name: format!("{} 26.{}", board.name, n + 12),
                    state,
                    start: (state != "future").then_some(start),
                    end: (state != "future").then_some(end),
                    complete: (state == "closed").then_some(end + 2 * 3_600_000),
                    goal: (n % 3 == 0).then(|| format!("Sprint goal {}", n + 12)),
                });
            }
        }
        Dataset {
            project: project.to_string(),
            users,
            boards,
            sprints,
            next_comment: 50_000,
            next_worklog: 90_000,
            ..Dataset::default()
        }
    }

    /// The demo portfolio: 25 epics, 300 child issues, ~4,600 worklogs by 30 people; and the
    /// operations project beside it (see `add_operations_project`).
    pub fn demo() -> Dataset {
        let mut d = Dataset::base("BIZ", 30);
        let mut rng = Rng(0x7011_6a7e);
        let specs = demo_epics();
        for spec in &specs {
            d.add_epic(spec);
        }
        let mut children = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            children.push(d.add_children(i, spec, 12, &mut rng));
        }
        d.add_daily_worklogs(&specs, &children, &mut rng);
        // Dependencies between epics as teams record them in Jira: BIZ-1 blocks BIZ-9 (also in
        // the DMO's register, accepted there); BIZ-4 blocks BIZ-2, never accepted; BIZ-6
        // blocks BIZ-3, and BIZ-6's team accepts what depends on it (its label).
        for (n, (kind, outward, inward)) in [
            ("Blocks", "BIZ-1", "BIZ-9"),
            ("Blocks", "BIZ-4", "BIZ-2"),
            ("Blocks", "BIZ-6", "BIZ-3"),
            ("Relates", "BIZ-2", "BIZ-10"),
        ]
        .into_iter()
        .enumerate()
        {
            d.links.push(IssueLink {
                id: 10_100 + n as u64,
                kind,
                outward: outward.into(),
                inward: inward.into(),
            });
        }
        if let Some(i) = d.issue_mut("BIZ-6") {
            i.labels.push("dependency-accepted".into());
        }
        d.add_operations_project();
        d.add_sub_tasks();
        d.settle(DATA_END);
        d.number_worklogs_by_creation();
        d.derive_history();
        d
    }

    /// Two sub-tasks of BIZ-2's first story, with their own worklogs, as teams split a story
    /// and log time on the parts: their hours are BIZ-2's, though a sub-task's parent is the
    /// story, not the epic.
    fn add_sub_tasks(&mut self) {
        let day = |date: &str| crate::time::parse_date(date).unwrap() * 86_400_000;
        let story = self
            .issues
            .iter()
            .find(|i| i.parent.as_deref() == Some("BIZ-2") && i.issue_type == 1)
            .map(|i| i.key.clone())
            .expect("BIZ-2 has a story");
        let created = day("2026-11-02") + 9 * 3_600_000;
        let team = self.team(1).start;
        for (n, summary) in ["Write the migration script", "Review the migration script"]
            .into_iter()
            .enumerate()
        {
            let key = self
                .add_issue("BIZ", SUB_TASK, summary, Some(&story), created)
                .expect("a sub-task of a story");
            for date in ["2026-11-03", "2026-11-05", "2026-11-10", "2026-11-12"] {
                let started = day(date) + 10 * 3_600_000;
                let saved = started + 4 * 3_600_000;
                self.add_worklog(&key, team + n, started, 2 * 3600, saved)
                    .expect("a worklog on a sub-task");
            }
        }
    }

    /// Another project on the demo's site, as real sites have: the operations team's epic and
    /// work, none of it the portfolio's (its hours are not the portfolio's either), and one
    /// story of theirs under a portfolio epic, whose hours are.
    fn add_operations_project(&mut self) {
        let day = |date: &str| crate::time::parse_date(date).unwrap() * 86_400_000;
        let created = day("2026-10-26") + 9 * 3_600_000;
        self.add_project("OPS", "Operations")
            .expect("the demo's first other project");
        let mut add = |issue_type, summary, parent: Option<&str>| {
            self.add_issue("OPS", issue_type, summary, parent, created)
                .expect("an issue of the operations project")
        };
        let epic = add(0, "Datacentre exit", None);
        let theirs = add(1, "Move the batch servers to the cloud", Some(&epic));
        let ours = add(1, "Harden the payment gateway's hosts", Some("BIZ-1"));
        let loose = add(2, "Renew the TLS certificates", None);
        // Team 0's first three people, on the weekdays of 2026-11-02 to 2026-11-13.
        let team = self.team(0).start;
        for (n, date) in [
            "2026-11-02",
            "2026-11-03",
            "2026-11-04",
            "2026-11-05",
            "2026-11-06",
            "2026-11-09",
            "2026-11-10",
            "2026-11-11",
            "2026-11-12",
            "2026-11-13",
        ]
        .into_iter()
        .enumerate()
        {
            let started = day(date) + 13 * 3_600_000;
            for (issue, author, hours) in [
                (&theirs, team, 4),
                (&loose, team + 1, 2),
                (&ours, team + 2, 3),
            ] {
                if issue == &loose && n % 2 == 1 {
                    continue;
                }
                let saved = started + (hours + 2) * 3_600_000;
                self.add_worklog(issue, author, started, hours as u64 * 3600, saved)
                    .expect("a worklog on the operations project");
            }
        }
    }

    /// The status history the dataset implies: every issue is created in To Do; one in
    /// progress moved there when work on it began (its first worklog, else a day after it was
    /// created); one done moved on to its status when it was resolved.
    fn derive_history(&mut self) {
        let mut first_work: BTreeMap<u64, i64> = BTreeMap::new();
        for w in &self.worklogs {
            let at = first_work.entry(w.issue_id).or_insert(w.started);
            *at = (*at).min(w.started);
        }
        for issue in &mut self.issues {
            if issue.status_category == "new" {
                continue;
            }
            let latest = issue.resolved.unwrap_or(issue.updated).max(issue.created);
            let began = first_work
                .get(&issue.id)
                .copied()
                .unwrap_or(issue.created + 86_400_000)
                .clamp(issue.created, latest);
            let mut change = |at: i64, from: &str, to: &str| {
                issue.history.push(Change {
                    id: 0,
                    author: issue.assignee,
                    at,
                    items: vec![ChangeItem::new(
                        "status",
                        Some(from.into()),
                        Some(to.into()),
                    )],
                });
            };
            let status = issue.status;
            if issue.status_category == "done" {
                change(began, "To Do", "In Progress");
                change(latest, "In Progress", status);
            } else {
                change(began, "To Do", status);
            }
        }
        // Oldest first, numbered in that order.
        for issue in &mut self.issues {
            issue.history.sort_by_key(|c| c.at);
            for (n, c) in issue.history.iter_mut().enumerate() {
                c.id = history_id(issue.id, n);
            }
        }
    }

    /// `synthetic:N`: N epics of 10 children each, 10 worklogs per child, regular shapes.
    pub fn synthetic(n: usize) -> Dataset {
        let mut d = Dataset::base("SYN", 30);
        let mut rng = Rng(n as u64);
        let streams = [RETAIL, DATA, SERVICE];
        let demands = [CAP, IDEA, INC, SVC];
        for i in 0..n {
            let title: &'static str =
                Box::leak(format!("Synthetic initiative {}", i + 1).into_boxed_str());
            let spec = EpicSpec {
                title,
                status: "In Progress",
                demand: demands[i % 4],
                development: ["Sequential", "Incremental", "Continual"][i % 3],
                stream: streams[i % 3],
                theme: Some("Everyday banking"),
                gate: Some("G2"),
                decision: Some(("Go", "2026-03-02", "Portfolio steering")),
                next_gate_due: None,
                cost_of_delay: Some(10_000.0 + (i % 50) as f64 * 1000.0),
                wsjf: Some((5.0, 3.0, 2.0, "5")),
                start: "2026-03-01",
                end: "2026-12-31",
                owner: "Synthetic owner",
                created: "2026-01-05",
                kpi: None,
                kpi_earlier: &[],
                gates: &[],
                risk: ("Synthetic risk", true, Some("Watch it")),
                team: i % 3,
                work: None,
            };
            d.add_epic(&spec);
        }
        for i in 0..n {
            d.add_children_synthetic(i, &mut rng);
        }
        d.settle(DATA_END);
        d.number_worklogs_by_creation();
        d
    }

    /// Number the worklogs in the order they were created, as Jira's database does. Both
    /// datasets make them issue by issue (or person by person), saved on days all over the
    /// year; numbered as made, their ids would fall in no order against `/worklog/updated`'s,
    /// as on no real site, and a client's store would write each page's rows all over its
    /// index.
    fn number_worklogs_by_creation(&mut self) {
        let Some(first) = self.worklogs.iter().map(|w| w.id).min() else {
            return;
        };
        self.worklogs.sort_by_key(|w| (w.created, w.id));
        for (n, w) in self.worklogs.iter_mut().enumerate() {
            w.id = first + n as u64;
        }
    }

    /// No change is later than `end`: the generated history stops there, so what a test
    /// changes "now" is always the newest.
    fn settle(&mut self, end: i64) {
        for i in &mut self.issues {
            i.created = i.created.min(end);
            i.updated = i.updated.min(end).max(i.created);
            i.resolved = i.resolved.map(|r| r.min(end));
        }
        for w in &mut self.worklogs {
            w.created = w.created.min(end);
            w.updated = w.updated.min(end);
        }
    }

    fn add_epic(&mut self, s: &EpicSpec) {
        let n = self.issues.len() + 1;
        let created = day_ms(s.created) + 9 * 3_600_000 + (n as i64 * 7 % 50) * 60_000;
        let mut custom = BTreeMap::new();
        let mut put = |name: &'static str, v: Option<FieldValue>| {
            if let Some(v) = v {
                custom.insert(name, v);
            }
        };
        put(
            "Demand Type",
            s.demand.map(|v| FieldValue::Option(v.into())),
        );
        put(
            "Development Type",
            Some(FieldValue::Option(s.development.into())),
        );
        put("Value Stream", Some(FieldValue::Option(s.stream.into())));
        put(
            "Strategic Theme",
            s.theme.map(|v| FieldValue::Option(v.into())),
        );
        put("Gate", s.gate.map(|v| FieldValue::Option(v.into())));
        if let Some((decision, date, decider)) = s.decision {
            put("Gate Decision", Some(FieldValue::Option(decision.into())));
            put("Gate Decision Date", Some(FieldValue::Date(date.into())));
            put("Gate Decider", Some(FieldValue::Text(decider.into())));
        }
        put(
            "Next Gate Due",
            s.next_gate_due.map(|d| FieldValue::Date(d.into())),
        );
        put("Cost of Delay", s.cost_of_delay.map(FieldValue::Number));
        if let Some((bv, tc, rr, size)) = s.wsjf {
            put("Business Value", Some(FieldValue::Number(bv)));
            put("Time Criticality", Some(FieldValue::Number(tc)));
            put("Risk Reduction", Some(FieldValue::Number(rr)));
            put("Job Size", Some(FieldValue::Option(size.into())));
        }
        put("Target start", Some(FieldValue::Date(s.start.into())));
        put("Target end", Some(FieldValue::Date(s.end.into())));
        put("Business Owner", Some(FieldValue::Text(s.owner.into())));
        if let Some((name, baseline, target, measured)) = s.kpi {
            put("KPI", Some(FieldValue::Text(name.into())));
            put("KPI Baseline", Some(FieldValue::Number(baseline)));
            put("KPI Target", Some(FieldValue::Number(target)));
            if let Some((value, date)) = measured {
                // A measurement of 0.0 in the template means "a third of the way".
                let value = if value == 0.0 {
                    baseline + (target - baseline) / 3.0
                } else {
                    value
                };
                put("KPI Actual", Some(FieldValue::Number(value.round())));
                put("KPI Measured On", Some(FieldValue::Date(date.into())));
            }
        }
        let reporter = self.team(s.team).next();
        let history = epic_history(s, &custom, created, reporter);
        let (status_category, resolved) = category(s.status, created);
        let updated = history
            .iter()
            .map(|c| c.at)
            .fold(created + 86_400_000 * 3, i64::max);
        self.issues.push(Issue {
            id: 10_000 + n as u64,
            key: format!("{}-{n}", self.project),
            issue_type: 0,
            summary: s.title.to_string(),
            status: s.status,
            status_category,
            parent: None,
            assignee: None,
            reporter,
            created,
            updated,
            resolved,
            custom,
            sprints: Vec::new(),
            labels: Vec::new(),
            comments: Vec::new(),
            history,
        });
    }

    #[allow(clippy::too_many_arguments)] // one call site per kind of child; a struct adds nothing
    fn push_child(
        &mut self,
        epic: usize,
        issue_type: usize,
        summary: String,
        status: &'static str,
        assignee: Option<usize>,
        custom: BTreeMap<&'static str, FieldValue>,
        sprints: Vec<u64>,
    ) -> usize {
        let n = self.issues.len() + 1;
        let epic_issue = &self.issues[epic];
        let created = epic_issue.created + 86_400_000 * (2 + n as i64 % 20);
        let (status_category, resolved) = category(status, created);
        self.issues.push(Issue {
            id: 10_000 + n as u64,
            key: format!("{}-{n}", self.project),
            issue_type,
            summary,
            status,
            status_category,
            parent: Some(epic_issue.key.clone()),
            assignee,
            reporter: epic_issue.reporter,
            created,
            updated: created + 86_400_000 * (1 + n as i64 % 9),
            resolved,
            custom,
            sprints,
            labels: Vec::new(),
            comments: Vec::new(),
            history: Vec::new(),
        });
        self.issues.len() - 1
    }

    /// The users of a team: 8, 8, 7 and 7 people.
    fn team(&self, team: usize) -> std::ops::Range<usize> {
        const BOUNDS: [usize; 5] = [0, 8, 16, 23, 30];
        let t = team.min(3);
        BOUNDS[t]..BOUNDS[t + 1].min(self.users.len())
    }

    fn team_sprints(&self, team: usize) -> Vec<u64> {
        let id = self.boards[team.min(3)].id;
        self.sprints
            .iter()
            .filter(|s| s.board == id && s.state != "future")
            .map(|s| s.id)
            .collect()
    }

    /// Children of an epic: stories, a task, a bug, and one risk. Returns the indexes of the
    /// children time can be logged on.
    fn add_children(
        &mut self,
        epic: usize,
        s: &EpicSpec,
        count: usize,
        rng: &mut Rng,
    ) -> Vec<usize> {
        let team = self.team(s.team);
        let sprints = self.team_sprints(s.team);
        let mut out = Vec::new();
        for c in 0..count {
            if c == count - 1 {
                let (title, owned, mitigation) = s.risk;
                let mut custom = BTreeMap::new();
                custom.insert("Probability", FieldValue::Number(0.3));
                custom.insert("Impact", FieldValue::Number(0.5));
                if let Some(m) = mitigation {
                    custom.insert("Mitigation", FieldValue::Text(m.into()));
                }
                let owner = owned.then_some(team.start);
                self.push_child(
                    epic,
                    4,
                    title.to_string(),
                    "Open",
                    owner,
                    custom,
                    Vec::new(),
                );
                continue;
            }
            let kind = match c {
                3 => 2,
                7 => 3,
                _ => 1,
            };
            let status = if s.status == "Done" || (s.work.is_some() && c < 6) {
                "Done"
            } else if s.work.is_some() && c < 9 {
                "In Progress"
            } else {
                "To Do"
            };
            let assignee = Some(team.start + rng.below(team.len() as u64) as usize);
            let mut custom = BTreeMap::new();
            custom.insert(
                "Story Points",
                FieldValue::Number([1.0, 2.0, 3.0, 5.0, 8.0][rng.below(5) as usize]),
            );
            let in_sprints = if s.work.is_some() && !sprints.is_empty() {
                vec![sprints[rng.below(sprints.len() as u64) as usize]]
            } else {
                Vec::new()
            };
            let kind_name = ["", "Story", "Task", "Bug"][kind];
            let idx = self.push_child(
                epic,
                kind,
                format!("{}: {kind_name} {}", s.title, c + 1),
                status,
                assignee,
                custom,
                in_sprints,
            );
            out.push(idx);
        }
        out
    }

    fn add_children_synthetic(&mut self, epic: usize, rng: &mut Rng) {
        let team = self.team(epic % 3);
        let title = self.issues[epic].summary.clone();
        for c in 0..10 {
            let mut custom = BTreeMap::new();
            custom.insert("Story Points", FieldValue::Number(3.0));
            let idx = self.push_child(
                epic,
                1,
                format!("{title}: Story {}", c + 1),
                "In Progress",
                Some(team.start + c % team.len()),
                custom,
                Vec::new(),
            );
            let issue_id = self.issues[idx].id;
            for w in 0..10 {
                let author = team.start + rng.below(team.len() as u64) as usize;
                let day = days_from_civil(2026, 3, 9) + (c as i64 * 13 + w * 7) % 250;
                let started = day * 86_400_000 + 7 * 3_600_000;
                let seconds = 3600 * (1 + w as u64 % 4);
                let id = self.push_worklog(issue_id, author, started, seconds, None);
                // Saved within the hour after, to the millisecond: thousands of epics share
                // a day, and more than a page of worklogs saved in the same millisecond would
                // be more than `/worklog/updated` can page through (as on the real service).
                let log = self.worklogs.last_mut().expect("just pushed");
                log.created = started + seconds as i64 * 1000 + (id % 3_600_000) as i64;
                log.updated = log.created;
            }
        }
    }

    /// Every member of a team logs a day's work (6 to 8 hours) on every working day on which
    /// one of the team's epics is in its work window, on a child issue of such an epic.
    /// BIZ-22's window is different: one person's prototype, 8 hours a day on 7 days.
    fn add_daily_worklogs(&mut self, specs: &[EpicSpec], children: &[Vec<usize>], rng: &mut Rng) {
        let first = specs
            .iter()
            .filter_map(|s| s.work.map(|w| crate::time::parse_date(w.0).unwrap()))
            .min()
            .unwrap_or(0);
        let last = specs
            .iter()
            .filter_map(|s| s.work.map(|w| crate::time::parse_date(w.1).unwrap()))
            .max()
            .unwrap_or(0);
        for day in first..=last {
            let weekday = (day + 3).rem_euclid(7); // 0 = Monday
            if weekday >= 5 {
                continue;
            }
            for team in 0..4 {
                let active: Vec<usize> = specs
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.team == team && s.title != "Open banking API")
                    .filter(|(_, s)| {
                        s.work.is_some_and(|(a, b)| {
                            let (a, b) = (
                                crate::time::parse_date(a).unwrap(),
                                crate::time::parse_date(b).unwrap(),
                            );
                            (a..=b).contains(&day)
                        })
                    })
                    .map(|(i, _)| i)
                    .collect();
                if active.is_empty() {
                    continue;
                }
                for author in self.team(team) {
                    let epic = active[rng.below(active.len() as u64) as usize];
                    let pool = &children[epic];
                    let issue = pool[rng.below(pool.len() as u64) as usize];
                    let issue_id = self.issues[issue].id;
                    let quarters = 24 + rng.below(9);
                    let started = day * 86_400_000 + (5 + rng.below(3) as i64) * 3_600_000;
                    let comment = (rng.below(5) == 0).then_some("Pairing session");
                    self.push_worklog(issue_id, author, started, quarters * 900, comment);
                }
            }
        }
        // BIZ-22: the prototype, logged before any G2 decision.
        if let Some(i) = specs.iter().position(|s| s.title == "Open banking API") {
            let (a, _) = specs[i].work.unwrap();
            let start = crate::time::parse_date(a).unwrap();
            let issue_id = self.issues[children[i][0]].id;
            let author = self.team(1).start + 2;
            let mut day = start;
            let mut logged = 0;
            while logged < 7 {
                if (day + 3).rem_euclid(7) < 5 {
                    self.push_worklog(
                        issue_id,
                        author,
                        day * 86_400_000 + 13 * 3_600_000,
                        8 * 3600,
                        Some("Prototype of the consent flow"),
                    );
                    logged += 1;
                }
                day += 1;
            }
        }
    }

    fn push_worklog(
        &mut self,
        issue_id: u64,
        author: usize,
        started: i64,
        seconds: u64,
        comment: Option<&str>,
    ) -> u64 {
        let id = self.next_worklog;
        self.next_worklog += 1;
        // Logged the same evening; ids grow with creation time, as Jira's do.
        let created = started + seconds as i64 * 1000 + 3_600_000 + (id % 600) as i64 * 1000;
        self.worklogs.push(Worklog {
            id,
            issue_id,
            author,
            started,
            seconds,
            created,
            updated: created,
            comment: comment.map(str::to_string),
        });
        id
    }

    /// The issue with this key or id.
    ///
    /// As Jira looks an issue up when the identifier matches none as given, a key is also
    /// compared without regard to case (`biz-7` finds BIZ-7; project keys are upper case), and
    /// an issue moved to another project is found by the key it had (the issue comes under its
    /// new key); a current key comes before a key an issue had.
    pub fn issue(&self, key_or_id: &str) -> Option<&Issue> {
        self.issue_as_named(key_or_id).or_else(|| {
            let upper = key_or_id.to_ascii_uppercase();
            let upper = upper.as_str();
            if upper != key_or_id
                && let Some(issue) = self.issue_as_named(upper)
            {
                return Some(issue);
            }
            self.index()
                .issue_by_old_key(upper)
                .and_then(|at| self.issues.get(at))
                .filter(|i| i.old_keys().any(|k| k == upper))
        })
    }

    /// The issue with exactly this key (its current one) or numeric id.
    fn issue_as_named(&self, key_or_id: &str) -> Option<&Issue> {
        let id = key_or_id.parse::<u64>().ok();
        let is = |i: &&Issue| i.key == key_or_id || Some(i.id) == id;
        // The index is checked against the data: an issue added since it was built is found
        // by looking through them all.
        self.index()
            .issue(key_or_id)
            .and_then(|at| self.issues.get(at))
            .filter(is)
            .or_else(|| self.issues.iter().find(is))
    }

    /// The project an issue with this key is in (by its key's prefix, as Jira names keys).
    pub fn project_of(&self, key: &str) -> ProjectRef<'_> {
        let prefix = key.rsplit_once('-').map_or(key, |(p, _)| p);
        self.other_projects
            .iter()
            .find(|p| p.key.eq_ignore_ascii_case(prefix))
            .map(|p| ProjectRef {
                id: &p.id,
                key: &p.key,
                name: &p.name,
            })
            .unwrap_or(ProjectRef {
                id: PORTFOLIO_PROJECT_ID,
                key: &self.project,
                name: "Portfolio",
            })
    }

    /// The project with this key or id, if the site has it.
    pub fn project_named(&self, key_or_id: &str) -> Option<ProjectRef<'_>> {
        if key_or_id.eq_ignore_ascii_case(&self.project) || key_or_id == PORTFOLIO_PROJECT_ID {
            return Some(self.project_of(&self.project));
        }
        self.other_projects
            .iter()
            .find(|p| p.key.eq_ignore_ascii_case(key_or_id) || p.id == key_or_id)
            .map(|p| self.project_of(&p.key))
    }

    /// The project with this name, if the site has it (the portfolio's is "Portfolio").
    pub fn project_by_name(&self, name: &str) -> Option<ProjectRef<'_>> {
        if name == "Portfolio" {
            return self.project_named(&self.project);
        }
        self.other_projects
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| self.project_named(&p.key))
    }

    /// Whether an issue's worklogs are the portfolio's: it is in the portfolio's project, or
    /// its epic is (a team project's story under a portfolio epic).
    pub fn in_portfolio(&self, issue: &Issue) -> bool {
        let portfolio = |key: &str| self.project_of(key).id == PORTFOLIO_PROJECT_ID;
        portfolio(&issue.key) || self.epic_of(issue).is_some_and(|e| portfolio(&e))
    }

    /// The worklogs a sync of the portfolio's connection imports (see [`Dataset::in_portfolio`]).
    pub fn portfolio_worklogs(&self) -> usize {
        let ids: std::collections::HashSet<u64> = self
            .issues
            .iter()
            .filter(|i| self.in_portfolio(i))
            .map(|i| i.id)
            .collect();
        self.worklogs
            .iter()
            .filter(|w| ids.contains(&w.issue_id))
            .count()
    }

    /// Add a project to the site (no issues yet): its id is the next after the portfolio's
    /// and the other projects'.
    pub fn add_project(&mut self, key: &str, name: &str) -> Result<(), String> {
        if self.project_named(key).is_some() {
            return Err(format!("the site has a project {key} already"));
        }
        let id = (10_001 + self.other_projects.len() as u64).to_string();
        self.other_projects.push(OtherProject {
            id,
            key: key.to_string(),
            name: name.to_string(),
        });
        self.forget_index();
        Ok(())
    }

    /// Add an issue of type `issue_type` (an index into [`ISSUE_TYPES`]) to project
    /// `project` (added with [`Dataset::add_project`], or the portfolio's), under the epic
    /// `parent` of any project, created and updated at `now`; returns its key.
    pub fn add_issue(
        &mut self,
        project: &str,
        issue_type: usize,
        summary: &str,
        parent: Option<&str>,
        now: i64,
    ) -> Result<String, String> {
        let Some(project) = self.project_named(project).map(|p| p.key.to_string()) else {
            return Err(format!("the site has no project {project}"));
        };
        if issue_type >= ISSUE_TYPES.len() {
            return Err(format!("no issue type {issue_type}"));
        }
        // A sub-task's parent is a standard issue; anything else's is an epic.
        let level = ISSUE_TYPES[issue_type].hierarchy_level;
        let parent_level = if level < 0 { 0 } else { 1 };
        if level < 0 && parent.is_none() {
            return Err("a sub-task needs a parent".to_string());
        }
        if let Some(parent) = parent
            && self
                .issue(parent)
                .is_none_or(|e| ISSUE_TYPES[e.issue_type].hierarchy_level != parent_level)
        {
            return Err(format!(
                "{parent} cannot be the parent of a {}",
                ISSUE_TYPES[issue_type].name
            ));
        }
        let id = self.issues.iter().map(|i| i.id).max().unwrap_or(10_000) + 1;
        let key = self.next_key(&project);
        self.issues.push(Issue {
            id,
            key: key.clone(),
            issue_type,
            summary: summary.to_string(),
            status: "In Progress",
            status_category: "indeterminate",
            parent: parent.map(str::to_string),
            assignee: None,
            reporter: Some(0),
            created: now,
            updated: now,
            resolved: None,
            custom: BTreeMap::new(),
            sprints: Vec::new(),
            labels: Vec::new(),
            comments: Vec::new(),
            history: Vec::new(),
        });
        self.forget_index();
        Ok(key)
    }

    /// The key the project's next issue gets: one past the greatest number its keys have had
    /// (Jira never gives a key again, not even one an issue took along to another project).
    fn next_key(&self, project: &str) -> String {
        let prefix = format!("{project}-");
        let last = self
            .issues
            .iter()
            .flat_map(|i| std::iter::once(&i.key).chain(i.old_keys()))
            .filter_map(|k| k.strip_prefix(&prefix)?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        format!("{project}-{}", last + 1)
    }

    /// Move an issue (not an epic, not one with sub-tasks) to another project at `now`, as
    /// Jira's move does: it takes the project's next key, keeps its id, its epic and its
    /// worklogs, and its changelog records the key and the project changed. Returns the new key.
    pub fn move_to_project(
        &mut self,
        key: &str,
        project: &str,
        now: i64,
    ) -> Result<String, String> {
        let to = self
            .project_named(project)
            .map(|p| (p.key.to_string(), p.id.to_string(), p.name.to_string()))
            .ok_or_else(|| format!("the site has no project {project}"))?;
        let issue = self.issue(key).ok_or_else(|| format!("no issue {key}"))?;
        let from = self.project_of(&issue.key);
        let from = (
            from.key.to_string(),
            from.id.to_string(),
            from.name.to_string(),
        );
        if from.0 == to.0 {
            return Err(format!("{key} is in {} already", to.0));
        }
        if ISSUE_TYPES[issue.issue_type].hierarchy_level == 1 {
            return Err(format!(
                "{} is an epic; the sandbox moves its children only",
                issue.key
            ));
        }
        let old_key = issue.key.clone();
        if self.issues.iter().any(|i| {
            i.parent.as_deref() == Some(old_key.as_str())
                && ISSUE_TYPES[i.issue_type].hierarchy_level < 0
        }) {
            return Err(format!(
                "{old_key} has sub-tasks; the sandbox does not move them along"
            ));
        }
        let new_key = self.next_key(&to.0);
        let issue = self.issue_mut(&old_key).expect("found above");
        issue.key = new_key.clone();
        issue.updated = now;
        record_change(
            issue,
            vec![
                ChangeItem::new(KEY_ITEM, Some(old_key), Some(new_key.clone())),
                ChangeItem {
                    field: PROJECT_ITEM.to_string(),
                    from: Some(from.2),
                    to: Some(to.2),
                },
            ],
            now,
        );
        self.forget_index();
        Ok(new_key)
    }

    /// Log `seconds` on the issue with this key, by user `author` (an index into `users`),
    /// started at `started` and saved at `now`; returns the worklog's id.
    pub fn add_worklog(
        &mut self,
        key: &str,
        author: usize,
        started: i64,
        seconds: u64,
        now: i64,
    ) -> Result<u64, String> {
        let issue_id = self.issue(key).ok_or(format!("no issue {key}"))?.id;
        if author >= self.users.len() {
            return Err(format!("no user {author}"));
        }
        let id = self.push_worklog(issue_id, author, started, seconds, None);
        if let Some(w) = self.worklogs.last_mut() {
            w.created = now;
            w.updated = now;
        }
        if let Some(i) = self.issues.iter_mut().find(|i| i.id == issue_id) {
            i.updated = i.updated.max(now);
        }
        self.forget_index();
        Ok(id)
    }

    /// The look-ups of this version of the data, built on first use.
    pub(crate) fn index(&self) -> std::sync::Arc<super::index::Index> {
        self.index.get(self)
    }

    /// Whether the look-ups of this version of the data are built already, so that the next
    /// request does not build them.
    pub fn index_built(&self) -> bool {
        self.index.is_built()
    }

    /// Drop the look-up index (the data changed, or may have).
    pub fn forget_index(&mut self) {
        self.index = super::index::IndexSlot::default();
    }

    /// The issue with this key or id, mutable; found as [`Dataset::issue`] finds it (a key in
    /// another case or one it had is looked up only when no issue has it as given, so that a
    /// change does not build the index the last change dropped).
    pub fn issue_mut(&mut self, key_or_id: &str) -> Option<&mut Issue> {
        let id = key_or_id.parse::<u64>().ok();
        let at = match self
            .issues
            .iter()
            .position(|i| i.key == key_or_id || Some(i.id) == id)
        {
            Some(at) => at,
            None => {
                let id = self.issue(key_or_id)?.id;
                self.issues.iter().position(|i| i.id == id)?
            }
        };
        self.issues.get_mut(at)
    }

    /// A new comment id.
    pub fn next_comment_id(&mut self) -> u64 {
        self.next_comment += 1;
        self.next_comment
    }

    // Mutations, for tests that change the site between two syncs.

    /// Change an issue's summary, as a person would; `updated` becomes `now`.
    pub fn edit_summary(&mut self, key: &str, summary: &str, now: i64) -> bool {
        match self.issue_mut(key) {
            Some(issue) => {
                let before = std::mem::replace(&mut issue.summary, summary.to_string());
                issue.updated = now;
                record_change(
                    issue,
                    vec![ChangeItem::new(
                        "summary",
                        Some(before),
                        Some(summary.to_string()),
                    )],
                    now,
                );
                true
            }
            None => false,
        }
    }

    /// Set (or clear) a custom field of an issue by the field's name; `updated` becomes `now`.
    pub fn set_field(
        &mut self,
        key: &str,
        field: &'static str,
        value: Option<FieldValue>,
        now: i64,
    ) -> bool {
        self.set_fields(key, &[(field, value)], now)
    }

    /// Set (or clear) several custom fields in one edit: one history entry names them all.
    pub fn set_fields(
        &mut self,
        key: &str,
        fields: &[(&'static str, Option<FieldValue>)],
        now: i64,
    ) -> bool {
        let Some(issue) = self.issue_mut(key) else {
            return false;
        };
        let mut items = Vec::new();
        for (field, value) in fields {
            let to = value.as_ref().map(FieldValue::display);
            let before = match value {
                Some(v) => issue.custom.insert(field, v.clone()),
                None => issue.custom.remove(field),
            };
            items.push(ChangeItem::new(field, before.map(|b| b.display()), to));
        }
        issue.updated = now;
        record_change(issue, items, now);
        true
    }

    /// An epic other than `than`: where a test moves an issue to.
    pub fn another_epic(&self, than: &str) -> Option<&Issue> {
        self.issues
            .iter()
            .find(|i| ISSUE_TYPES[i.issue_type].hierarchy_level == 1 && i.key != than)
    }

    /// Move an issue under another epic (or out of any with `None`), as a person would;
    /// `updated` becomes `now` and the history gains a `parent` item, which the changelog
    /// writes as each flavour does (`IssueParentAssociation` on Cloud, `Epic Link` on Data
    /// Center). An error names what is wrong: no such issue, no such epic, not an epic, or an
    /// epic itself (epics have no epic).
    pub fn move_to_epic(&mut self, key: &str, epic: Option<&str>, now: i64) -> Result<(), String> {
        let epic = match epic {
            Some(e) => {
                let found = self.issue(e).ok_or_else(|| format!("no issue {e}"))?;
                if ISSUE_TYPES[found.issue_type].hierarchy_level != 1 {
                    return Err(format!("{} is not an epic", found.key));
                }
                Some(found.key.clone())
            }
            None => None,
        };
        let issue = self
            .issue_mut(key)
            .ok_or_else(|| format!("no issue {key}"))?;
        if ISSUE_TYPES[issue.issue_type].hierarchy_level == 1 {
            return Err(format!("{} is an epic; an epic has no epic", issue.key));
        }
        if issue.parent == epic {
            return Ok(());
        }
        let before = std::mem::replace(&mut issue.parent, epic.clone());
        issue.updated = now;
        record_change(issue, vec![ChangeItem::new(PARENT_ITEM, before, epic)], now);
        self.forget_index();
        Ok(())
    }

    /// Change a worklog's time spent; its `updated` becomes `now`.
    pub fn edit_worklog(&mut self, id: u64, seconds: u64, now: i64) -> bool {
        match self.worklogs.iter_mut().find(|w| w.id == id) {
            Some(w) => {
                w.seconds = seconds;
                w.updated = now;
                true
            }
            None => false,
        }
    }

    /// Delete a worklog at `now`.
    pub fn delete_worklog(&mut self, id: u64, now: i64) -> bool {
        let before = self.worklogs.len();
        self.worklogs.retain(|w| w.id != id);
        if self.worklogs.len() < before {
            self.deleted_worklogs.push((id, now));
            true
        } else {
            false
        }
    }

    /// The epic an issue belongs to (itself for an epic).
    pub fn epic_of(&self, issue: &Issue) -> Option<String> {
        match ISSUE_TYPES[issue.issue_type].hierarchy_level {
            1 => Some(issue.key.clone()),
            // A sub-task's epic is its parent's.
            l if l < 0 => issue
                .parent
                .as_deref()
                .and_then(|p| self.issue(p))
                .and_then(|p| p.parent.clone()),
            _ => issue.parent.clone(),
        }
    }

    /// Logged seconds per (person, epic key), the ground truth a sync must reproduce: the
    /// portfolio's worklogs ([`Dataset::in_portfolio`]) under an epic.
    pub fn seconds_by_person_and_epic(&self, flavour: Flavour) -> BTreeMap<(String, String), u64> {
        let mut out = BTreeMap::new();
        for w in &self.worklogs {
            let issue = self
                .issues
                .iter()
                .find(|i| i.id == w.issue_id)
                .expect("worklog on a known issue");
            if !self.in_portfolio(issue) {
                continue;
            }
            let Some(epic) = self.epic_of(issue) else {
                continue;
            };
            let user = &self.users[w.author];
            let person = match flavour {
                Flavour::Cloud => user.account_id.clone(),
                Flavour::DataCenter => user.name.clone(),
            };
            *out.entry((person, epic)).or_default() += w.seconds;
        }
        out
    }

    /// The dates of the demo's first and last worklog, for the record.
    pub fn worklog_span(&self) -> Option<(String, String)> {
        let min = self.worklogs.iter().map(|w| w.started).min()?;
        let max = self.worklogs.iter().map(|w| w.started).max()?;
        Some((
            date(min.div_euclid(86_400_000)),
            date(max.div_euclid(86_400_000)),
        ))
    }
}

fn category(status: &str, created: i64) -> (&'static str, Option<i64>) {
    match status {
        "Done" => ("done", Some(created + 86_400_000 * 30)),
        "In Progress" => ("indeterminate", None),
        _ => ("new", None),
    }
}

fn board(id: u64, name: &str, kind: &'static str) -> Board {
    Board {
        id,
        name: name.to_string(),
        kind,
    }
}

fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'ä' | 'å' => 'a',
            'ö' => 'o',
            c => c,
        })
        .collect()
}

/// An epic's history before the statuses are added: its Gate field's moves and its KPI's
/// measurements, each entry by the epic's reporter (the ids are given once the history is
/// whole, see `derive_history`).
fn epic_history(
    s: &EpicSpec,
    custom: &BTreeMap<&'static str, FieldValue>,
    created: i64,
    reporter: Option<usize>,
) -> Vec<Change> {
    let mut history = Vec::new();
    let mut change = |day: &str, hour: i64, items: Vec<ChangeItem>| {
        history.push(Change {
            id: 0,
            author: reporter,
            at: (day_ms(day) + hour * 3_600_000).max(created + 60_000),
            items,
        });
    };
    let mut at_gate = "G0".to_string();
    for (gate, day) in s.gates {
        change(
            day,
            10,
            vec![ChangeItem::new(
                "Gate",
                Some(at_gate.clone()),
                Some(gate.to_string()),
            )],
        );
        at_gate = gate.to_string();
    }
    debug_assert!(s.gates.is_empty() || s.gate == Some(at_gate.as_str()));
    if let (Some((_, baseline, target, Some(_))), Some(last), Some(on)) = (
        s.kpi,
        custom.get("KPI Actual"),
        custom.get("KPI Measured On"),
    ) {
        let earlier = s
            .kpi_earlier
            .iter()
            .filter(|(day, _)| day_ms(day) > created && day_ms(day) < day_ms(&on.display()))
            .map(|(day, share)| {
                let value = (baseline + (target - baseline) * share).round();
                (FieldValue::Number(value).display(), day.to_string())
            });
        let mut before: (Option<String>, Option<String>) = (None, None);
        for (value, day) in earlier.chain(std::iter::once((last.display(), on.display()))) {
            change(
                &day,
                11,
                vec![
                    ChangeItem::new("KPI Actual", before.0.take(), Some(value.clone())),
                    ChangeItem::new("KPI Measured On", before.1.take(), Some(day.clone())),
                ],
            );
            before = (Some(value), Some(day));
        }
    }
    history
}

/// Append an edit by the API user to an issue's history.
fn record_change(issue: &mut Issue, items: Vec<ChangeItem>, at: i64) {
    issue.history.push(Change {
        id: history_id(issue.id, issue.history.len()),
        author: None,
        at,
        items,
    });
}

/// A history entry's id, unique on the site: the issue's id and the entry's place.
fn history_id(issue: u64, n: usize) -> u64 {
    issue * 1000 + n as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_has_the_advertised_shape() {
        let d = Dataset::demo();
        let (portfolio, elsewhere): (Vec<&Issue>, Vec<&Issue>) = d
            .issues
            .iter()
            .partition(|i| d.project_of(&i.key).key == "BIZ");
        let epics = portfolio.iter().filter(|i| i.issue_type == 0).count();
        assert_eq!(epics, 25);
        // Two of the children are sub-tasks of a story of BIZ-2, with 8 worklogs.
        let sub_tasks: Vec<&&Issue> = portfolio
            .iter()
            .filter(|i| i.issue_type == SUB_TASK)
            .collect();
        assert_eq!(portfolio.len() - epics - sub_tasks.len(), 300);
        assert_eq!(sub_tasks.len(), 2);
        for t in &sub_tasks {
            let story = d.issue(t.parent.as_deref().unwrap()).unwrap();
            assert_eq!(story.parent.as_deref(), Some("BIZ-2"));
            assert_eq!(d.epic_of(t).as_deref(), Some("BIZ-2"));
        }
        let on_sub_tasks = d
            .worklogs
            .iter()
            .filter(|w| sub_tasks.iter().any(|t| t.id == w.issue_id))
            .count();
        assert_eq!(on_sub_tasks, 8);
        // The operations project: its epic, a story under it, a task, and a story under a
        // portfolio epic; only the last one's worklogs are the portfolio's.
        let keys: Vec<(&str, Option<&str>)> = elsewhere
            .iter()
            .map(|i| (i.key.as_str(), i.parent.as_deref()))
            .collect();
        assert_eq!(
            keys,
            [
                ("OPS-1", None),
                ("OPS-2", Some("OPS-1")),
                ("OPS-3", Some("BIZ-1")),
                ("OPS-4", None)
            ]
        );
        let on = |key: &str| {
            let id = d.issue(key).unwrap().id;
            d.worklogs.iter().filter(|w| w.issue_id == id).count()
        };
        assert_eq!((on("OPS-2"), on("OPS-3"), on("OPS-4")), (10, 10, 5));
        assert_eq!(d.portfolio_worklogs(), d.worklogs.len() - 15);
        // Worklog ids rise with the moment each was created, as Jira's do.
        assert!(
            d.worklogs
                .windows(2)
                .all(|p| p[0].created <= p[1].created && p[0].id < p[1].id)
        );
        assert_eq!(d.project_of("OPS-3").id, "10001");
        assert_eq!(d.project_named("10001").unwrap().key, "OPS");
        assert_eq!(d.project_named("biz").unwrap().id, PORTFOLIO_PROJECT_ID);
        assert!(d.project_named("NOPE").is_none());
        assert!(
            (3_000..5_000).contains(&d.worklogs.len()),
            "{} worklogs",
            d.worklogs.len()
        );
        let authors: std::collections::BTreeSet<_> = d.worklogs.iter().map(|w| w.author).collect();
        assert_eq!(authors.len(), 30);
        // Some issue has more worklogs than the 20 a search embeds.
        let mut per_issue = BTreeMap::<u64, usize>::new();
        for w in &d.worklogs {
            *per_issue.entry(w.issue_id).or_default() += 1;
        }
        assert!(per_issue.values().any(|&n| n > 20));
    }

    #[test]
    fn synthetic_scales_and_is_deterministic() {
        let a = Dataset::synthetic(3);
        let b = Dataset::synthetic(3);
        assert_eq!(a.issues.len(), 33);
        assert_eq!(a.worklogs.len(), 300);
        assert_eq!(
            a.worklogs.iter().map(|w| w.seconds).sum::<u64>(),
            b.worklogs.iter().map(|w| w.seconds).sum::<u64>()
        );
        // Worklogs are saved at distinct moments, so `/worklog/updated` can page through
        // them at any size (1,000 a page; the next page starts after the last moment).
        let big = Dataset::synthetic(300);
        let mut per_ms = std::collections::HashMap::new();
        for w in &big.worklogs {
            *per_ms.entry(w.updated).or_insert(0) += 1;
        }
        assert!(
            per_ms.values().all(|&n| n <= 3),
            "{:?}",
            per_ms.values().max()
        );
        // Their ids rise with their creation, as on a real site (so with `/worklog/updated`'s
        // order too: nothing edited them).
        assert!(
            big.worklogs
                .windows(2)
                .all(|p| p[0].created <= p[1].created && p[0].id < p[1].id),
            "worklog ids in creation order"
        );
        assert!(Dataset::named("synthetic:0").is_err());
        // A size that would take the machine's memory is refused before anything is made.
        let too_big = format!("synthetic:{}", crate::MAX_SYNTHETIC_EPICS + 1);
        assert!(Dataset::named(&too_big).unwrap_err().contains("N <= 20000"));
        assert!(Dataset::named("nope").is_err());
    }
}
