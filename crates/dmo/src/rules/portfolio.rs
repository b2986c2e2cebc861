//! The model as the rules read it: records indexed by key, joined across sources.

use crate::model::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Something a sync reported about the data (a rejected row, an invalid value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataIssue {
    /// Connection.
    pub connection: String,
    /// How bad the source said it was.
    pub severity: crate::Severity,
    /// Stable code.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// Where.
    pub location: Option<String>,
}

/// Where an initiative came from: what a finding about it needs to find it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The connection it was synced from.
    pub connection: String,
    /// Its id there.
    pub external_id: String,
}

/// Indexed portfolio data.
#[derive(Debug, Default, Clone)]
pub struct Portfolio {
    /// Initiatives by key, with their links. Boxed as the records bring them: a map's node
    /// holds eleven entries and is about half full, so a 500-byte initiative held in place
    /// took twice its size.
    pub initiatives: BTreeMap<String, (Box<Initiative>, Option<String>)>,
    /// Where each initiative came from, by key: its connection and its id there.
    pub sources: BTreeMap<String, Source>,
    /// Work items by key, compact ([`WorkItems`]).
    pub work_items: WorkItems,
    /// Sprints and iterations by id.
    pub sprints: BTreeMap<String, Sprint>,
    /// Time entries, compact ([`TimeEntries`]).
    pub time_entries: TimeEntries,
    /// People by id.
    pub people: BTreeMap<String, Person>,
    /// Teams by id.
    pub teams: BTreeMap<String, Team>,
    /// Allocations.
    pub allocations: Vec<Allocation>,
    /// Cost rates.
    pub cost_rates: Vec<CostRate>,
    /// Finance entries.
    pub finance: Vec<FinanceEntry>,
    /// Business cases by initiative key.
    pub business_cases: BTreeMap<String, BusinessCase>,
    /// Gate decisions, by date within an initiative.
    pub gate_decisions: Vec<GateDecision>,
    /// The gates initiatives entered, as their trackers' histories tell (decision
    /// [`ENTERED`]), by date within an initiative: facts of the tracker, not decisions.
    pub gate_entries: Vec<GateDecision>,
    /// Dependencies.
    pub dependencies: Vec<Dependency>,
    /// What syncs reported about the data.
    pub issues: Vec<DataIssue>,
    /// Per initiative: where its entries lie in `time_entries`, which [`Portfolio::finish`]
    /// groups by the initiative they count for.
    hours_by_initiative: BTreeMap<String, std::ops::Range<usize>>,
    /// Per initiative: indexes into `gate_decisions`.
    decisions_by_initiative: BTreeMap<String, Vec<usize>>,
    /// Per person: indexes into `cost_rates`.
    rates_by_person: BTreeMap<String, Vec<usize>>,
    /// Per initiative: indexes into `finance`.
    finance_by_initiative: BTreeMap<String, Vec<usize>>,
    /// Per person: indexes into `allocations`.
    allocations_by_person: BTreeMap<String, Vec<usize>>,
    /// KPI measurements added, folded into their initiatives by [`Portfolio::finish`].
    pending_kpis: Vec<(crate::model::KpiMeasurement, crate::model::Provenance)>,
}

pub use super::items::{Item, WorkItems};
pub use super::logged::{
    ByNumber, Logged, Names, NumberedEntry, NumberedTimeEntries, StoredTimeEntryParts, TimeEntries,
    stored_time_entry, time_entry_array, time_entry_from_array,
};
use crate::calendar::day_number;
use crate::model::ENTERED;

/// The number of a gate (`G2` -> 2).
pub fn gate_number(gate: &str) -> Option<u32> {
    gate.strip_prefix('G')
        .or_else(|| gate.strip_prefix('g'))?
        .parse()
        .ok()
}

impl Portfolio {
    /// Index `records` (live ones) and the sync's data issues.
    pub fn new(records: impl IntoIterator<Item = Record>, issues: Vec<DataIssue>) -> Portfolio {
        let mut p = Portfolio::start(issues);
        for r in records {
            p.add(r);
        }
        p.finish()
    }

    /// An empty portfolio with the sync's data issues, to [`add`](Portfolio::add) records to
    /// one at a time (as a store hands them out) and then [`finish`](Portfolio::finish).
    pub fn start(issues: Vec<DataIssue>) -> Portfolio {
        Portfolio {
            issues,
            ..Portfolio::default()
        }
    }

    /// Take in one live record.
    pub fn add(&mut self, r: Record) {
        let p = self;
        {
            match r.entity {
                Entity::Initiative(i) => {
                    let Provenance {
                        connection,
                        external_id,
                        url,
                        ..
                    } = r.provenance;
                    p.sources.insert(
                        i.key.clone(),
                        Source {
                            connection,
                            external_id,
                        },
                    );
                    p.initiatives.insert(i.key.clone(), (i, url));
                }
                Entity::WorkItem(w) => p.work_items.push(w),
                Entity::TimeEntry(t) => p.time_entries.push(t),
                Entity::Person(x) => {
                    p.people.insert(x.id.clone(), x);
                }
                Entity::Team(t) => {
                    p.teams.insert(t.id.clone(), t);
                }
                Entity::Allocation(a) => p.allocations.push(a),
                Entity::CostRate(c) => p.cost_rates.push(c),
                Entity::FinanceEntry(f) => p.finance.push(f),
                Entity::BusinessCase(b) => {
                    p.business_cases.insert(b.initiative_key.clone(), b);
                }
                Entity::GateDecision(g) if g.decision == ENTERED => p.gate_entries.push(g),
                Entity::GateDecision(g) => p.gate_decisions.push(g),
                // One dependency recorded in two places (the DMO's register and a tracker's
                // link) is one dependency: accepted if either says so.
                Entity::Dependency(d) => match p
                    .dependencies
                    .iter_mut()
                    .find(|x| x.from_key == d.from_key && x.to_key == d.to_key)
                {
                    Some(x) => {
                        x.accepted = match (x.accepted, d.accepted) {
                            (Some(true), _) | (_, Some(true)) => Some(true),
                            (Some(false), _) | (_, Some(false)) => Some(false),
                            _ => None,
                        }
                    }
                    None => p.dependencies.push(d),
                },
                Entity::Sprint(x) => {
                    p.sprints.insert(x.id.clone(), x);
                }
                Entity::KpiMeasurement(k) => p.pending_kpis.push((k, r.provenance)),
            }
        }
    }

    /// Add a record of `kind` as the store holds it (the record as JSON, which may leave out
    /// its connection and external id, given beside it): the same as [`Portfolio::add`] of
    /// the parsed record. A time entry or a work item (a million and a
    /// hundred thousand of them in a large portfolio) is read only for what the portfolio
    /// keeps of it.
    pub fn add_stored(
        &mut self,
        kind: EntityKind,
        connection: &str,
        external_id: &str,
        text: &str,
    ) -> Result<(), serde_json::Error> {
        if kind == EntityKind::TimeEntry {
            self.time_entries.push_stored(text)
        } else if kind == EntityKind::WorkItem {
            self.work_items.push_stored(text)
        } else {
            self.add(Record::from_stored(connection, external_id, text)?);
            Ok(())
        }
    }

    /// Build the indexes over what was added.
    pub fn finish(mut self) -> Portfolio {
        let p = &mut self;
        let measurements = std::mem::take(&mut p.pending_kpis);
        p.add_kpi_measurements(measurements);
        for list in [&mut p.gate_decisions, &mut p.gate_entries] {
            list.sort_by(|a, b| {
                (a.initiative_key.as_str(), a.date.as_deref())
                    .cmp(&(b.initiative_key.as_str(), b.date.as_deref()))
            });
        }
        p.time_entries.shrink_to_fit();
        p.work_items.finish();
        p.index_hours();
        for (i, a) in p.allocations.iter().enumerate() {
            p.allocations_by_person
                .entry(a.person.clone())
                .or_default()
                .push(i);
        }
        for (i, f) in p.finance.iter().enumerate() {
            p.finance_by_initiative
                .entry(f.initiative_key.clone())
                .or_default()
                .push(i);
        }
        for (i, r) in p.cost_rates.iter().enumerate() {
            if let Some(person) = &r.person {
                p.rates_by_person.entry(person.clone()).or_default().push(i);
            }
        }
        for (i, g) in p.gate_decisions.iter().enumerate() {
            p.decisions_by_initiative
                .entry(g.initiative_key.clone())
                .or_default()
                .push(i);
        }
        self
    }

    /// Keep only the time entries `keep` is true of; what counts their hours follows.
    pub fn retain_time_entries(&mut self, keep: impl FnMut(Logged<'_>) -> bool) {
        self.time_entries.retain(keep);
        self.index_hours();
    }

    /// Group the time entries by the initiative they count for: each initiative's together,
    /// in key order and each in the order added, those that count for none after them all.
    /// A list of the entries' positions in that order was 4 bytes an entry, 4 MB of `check`'s
    /// peak memory at a million entries. What adds up entries across initiatives adds whole
    /// seconds, which no order changes.
    fn index_hours(&mut self) {
        // The initiative of each pair of work item and initiative the entries were logged
        // on, looked up once a pair (a hundred thousand) rather than twice an entry (a
        // million), and the initiatives numbered in key order.
        let keys: Vec<Option<&str>> = self
            .time_entries
            .places()
            .map(|(item, initiative)| self.initiative_of_pair(item, initiative))
            .collect();
        let mut numbers: BTreeMap<&str, u32> = keys.iter().flatten().map(|k| (*k, 0)).collect();
        for (n, number) in numbers.values_mut().enumerate() {
            // No more initiatives than pairs, nor pairs than entries: fewer than 2^32.
            *number = u32::try_from(n).expect("fewer than 2^32 initiatives");
        }
        let group_of: Vec<u32> = keys
            .iter()
            .map(|k| k.map_or(super::logged::NONE, |k| numbers[k]))
            .collect();
        let names: Vec<String> = numbers.into_keys().map(str::to_string).collect();
        drop(keys);
        let ranges = self.time_entries.group(&group_of, names.len());
        self.hours_by_initiative = names
            .into_iter()
            .zip(ranges)
            .filter(|(_, range)| !range.is_empty())
            .collect();
    }

    /// Add measurements from other sources to their initiatives' KPIs: to the KPI of the same
    /// name (without case), or to a new one. A measurement's day is its date or the last day
    /// of its period; where the initiative already has a value for that day (from its
    /// tracker's history), the measurement's value replaces it. Baseline, target and unit fill
    /// only what the KPI lacks. A measurement for an initiative no source knows is a data
    /// issue (DQ-001), not silently dropped.
    fn add_kpi_measurements(&mut self, measurements: Vec<(KpiMeasurement, Provenance)>) {
        let mut touched = std::collections::BTreeSet::new();
        for (m, provenance) in measurements {
            let Some(day) = m.day() else {
                continue; // Invalid: reported by validation when it was stored.
            };
            let Some((initiative, _)) = self.initiatives.get_mut(&m.initiative_key) else {
                if !self.initiatives.is_empty() {
                    self.issues.push(DataIssue {
                        connection: provenance.connection,
                        severity: crate::Severity::Error,
                        code: "kpi-without-initiative".to_string(),
                        message: format!(
                            "a measurement of KPI `{}` for {}, which no tracker knows; it counts for no initiative",
                            m.kpi, m.initiative_key
                        ),
                        location: Some(provenance.external_id),
                    });
                }
                continue;
            };
            let name = m.kpi.trim();
            let index = match initiative
                .kpis
                .iter()
                .position(|k| k.name.trim().eq_ignore_ascii_case(name))
            {
                Some(i) => i,
                None => {
                    initiative.kpis.push(Kpi {
                        name: name.to_string(),
                        unit: None,
                        baseline: None,
                        target: None,
                        measurements: Vec::new(),
                    });
                    initiative.kpis.len() - 1
                }
            };
            let kpi = &mut initiative.kpis[index];
            kpi.unit = kpi.unit.take().or(m.unit);
            kpi.baseline = kpi.baseline.or(m.baseline);
            kpi.target = kpi.target.or(m.target);
            match kpi.measurements.iter_mut().find(|(d, _)| *d == day) {
                Some(existing) => existing.1 = m.value,
                None => kpi.measurements.push((day, m.value)),
            }
            touched.insert(m.initiative_key);
        }
        for key in touched {
            if let Some((initiative, _)) = self.initiatives.get_mut(&key) {
                for kpi in &mut initiative.kpis {
                    kpi.measurements.sort_by(|a, b| a.0.cmp(&b.0));
                }
            }
        }
    }

    /// The initiative a time entry counts for: its own key, or its work item's initiative.
    pub fn initiative_of<'a>(&'a self, t: Logged<'a>) -> Option<&'a str> {
        self.initiative_of_pair(t.work_item_key, t.initiative_key)
    }

    /// The initiative time logged on `work_item` and `initiative` counts for (see
    /// [`Portfolio::initiative_of`]).
    fn initiative_of_pair<'a>(
        &'a self,
        work_item: Option<&'a str>,
        initiative: Option<&'a str>,
    ) -> Option<&'a str> {
        initiative.or_else(|| work_item.and_then(|k| self.work_items.initiative_of(k)))
    }

    /// Every initiative key that is named anywhere: by an initiative record, or by time,
    /// finance, allocations, business cases and decisions (for sources without epics).
    pub fn initiative_keys(&self) -> std::collections::BTreeSet<String> {
        let mut keys: std::collections::BTreeSet<String> =
            self.initiatives.keys().cloned().collect();
        keys.extend(self.finance.iter().map(|f| f.initiative_key.clone()));
        keys.extend(self.business_cases.keys().cloned());
        keys.extend(self.gate_decisions.iter().map(|g| g.initiative_key.clone()));
        keys.extend(
            self.allocations
                .iter()
                .filter_map(|a| a.initiative_key.clone()),
        );
        keys.extend(self.hours_by_initiative.keys().cloned());
        keys
    }

    /// Decisions on an initiative, oldest first.
    pub fn decisions<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a GateDecision> {
        self.decisions_by_initiative
            .get(key)
            .into_iter()
            .flatten()
            .map(|i| &self.gate_decisions[*i])
    }

    /// The gates an initiative entered in its tracker, oldest first.
    pub fn gate_entries<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a GateDecision> {
        self.gate_entries
            .iter()
            .filter(move |g| g.initiative_key == key)
    }

    /// The seconds logged that count for each initiative with time logged (in key order), and
    /// those that count for none (none when no entry does): each a sum over the initiative's
    /// stretch of entries, with no look-up per entry.
    pub(crate) fn seconds_by_initiative(
        &self,
    ) -> (impl Iterator<Item = (&str, u64)> + '_, Option<u64>) {
        // The entries that count for no initiative lie after all the others.
        let grouped = self
            .hours_by_initiative
            .values()
            .map(|r| r.end)
            .max()
            .unwrap_or(0);
        let none = (grouped < self.time_entries.len()).then(|| {
            self.time_entries
                .seconds_in(grouped..self.time_entries.len())
        });
        let each = self
            .hours_by_initiative
            .iter()
            .map(|(key, range)| (key.as_str(), self.time_entries.seconds_in(range.clone())));
        (each, none)
    }

    /// Hours logged on an initiative, optionally only on days before `before` (exclusive) or
    /// after `after` (exclusive).
    pub fn hours(&self, key: &str, before: Option<i64>, after: Option<i64>) -> f64 {
        let Some(range) = self.hours_by_initiative.get(key) else {
            return 0.0;
        };
        range
            .clone()
            .map(|i| self.time_entries.day_and_seconds(i))
            .filter(|(day, _)| {
                before.is_none_or(|b| day.is_some_and(|d| d < b))
                    && after.is_none_or(|a| day.is_some_and(|d| d > a))
            })
            .map(|(_, seconds)| seconds as f64 / 3600.0)
            .sum()
    }

    /// The hourly rate of a person on a date (the latest rate valid then).
    pub fn hourly_rate(&self, person: &str, date: &str) -> Option<(f64, &str)> {
        let day = day_number(date);
        self.rates_by_person
            .get(person)
            .into_iter()
            .flatten()
            .map(|i| &self.cost_rates[*i])
            .filter(|r| {
                let from = r.valid_from.as_deref().and_then(day_number);
                let to = r.valid_to.as_deref().and_then(day_number);
                match day {
                    Some(d) => from.is_none_or(|f| f <= d) && to.is_none_or(|t| d <= t),
                    None => true,
                }
            })
            .max_by(|a, b| a.valid_from.cmp(&b.valid_from))
            .map(|r| (r.hourly_rate, r.currency.as_str()))
    }

    /// A person's allocations.
    pub fn allocations_of<'a>(&'a self, person: &str) -> impl Iterator<Item = &'a Allocation> {
        self.allocations_by_person
            .get(person)
            .into_iter()
            .flatten()
            .map(|i| &self.allocations[*i])
    }

    /// The currency an initiative's amounts are in: its business case's, else that of its
    /// first finance entry; `None` when neither says.
    pub fn currency(&self, key: &str) -> Option<&str> {
        self.business_cases
            .get(key)
            .and_then(|c| c.currency.as_deref())
            .or_else(|| {
                self.finance_by_initiative
                    .get(key)
                    .into_iter()
                    .flatten()
                    .map(|i| self.finance[*i].currency.as_str())
                    .next()
            })
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }

    /// An initiative's finance entries.
    pub fn finance_of<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a FinanceEntry> {
        self.finance_by_initiative
            .get(key)
            .into_iter()
            .flatten()
            .map(|i| &self.finance[*i])
    }

    /// Sum of finance entries of a kind for an initiative.
    pub fn finance_total(&self, key: &str, kind: &str) -> f64 {
        self.finance_by_initiative
            .get(key)
            .into_iter()
            .flatten()
            .map(|i| &self.finance[*i])
            .filter(|f| f.kind == kind)
            .map(|f| f.amount)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpi_measurements_join_their_initiatives_kpis() {
        use crate::rules::test_support::{bare_initiative, record_with_id};
        let mut epic = bare_initiative("BIZ-1");
        epic.kpis.push(Kpi {
            name: "Churn".into(),
            unit: Some("%".into()),
            baseline: Some(9.0),
            target: None,
            measurements: vec![("2026-03-31".into(), 8.5), ("2026-06-30".into(), 8.0)],
        });
        let m = |key: &str, kpi: &str, date: &str, value: f64| KpiMeasurement {
            initiative_key: key.into(),
            kpi: kpi.into(),
            date: date.into(),
            value,
            unit: Some("pts".into()),
            baseline: Some(1.0),
            target: Some(5.0),
        };
        let records = vec![
            record_with_id("10001".into(), Entity::Initiative(Box::new(epic))),
            // Same KPI without case; a quarter counts as its last day and replaces the
            // tracker's value of that day.
            record_with_id(
                "kpis.csv:2".into(),
                Entity::KpiMeasurement(m("BIZ-1", "churn", "2026-Q2", 7.5)),
            ),
            record_with_id(
                "kpis.csv:3".into(),
                Entity::KpiMeasurement(m("BIZ-1", "CHURN", "2026-01", 8.9)),
            ),
            // A KPI the tracker does not have starts a series of its own.
            record_with_id(
                "kpis.csv:4".into(),
                Entity::KpiMeasurement(m("BIZ-1", "NPS", "2026-09-15", 3.0)),
            ),
            // No tracker knows BIZ-99: said, not dropped in silence.
            record_with_id(
                "kpis.csv:5".into(),
                Entity::KpiMeasurement(m("BIZ-99", "NPS", "2026", 1.0)),
            ),
        ];
        let p = Portfolio::new(records, vec![]);
        let kpis = &p.initiatives["BIZ-1"].0.kpis;
        assert_eq!(kpis.len(), 2);
        let churn = &kpis[0];
        assert_eq!(
            churn.measurements,
            [
                ("2026-01-31".to_string(), 8.9),
                ("2026-03-31".to_string(), 8.5),
                ("2026-06-30".to_string(), 7.5)
            ]
        );
        // What the KPI has stays; what it lacks comes from the file.
        assert_eq!(
            (churn.unit.as_deref(), churn.baseline, churn.target),
            (Some("%"), Some(9.0), Some(5.0))
        );
        assert_eq!(kpis[1].name, "NPS");
        assert_eq!(kpis[1].measurements, [("2026-09-15".to_string(), 3.0)]);
        assert_eq!(p.issues.len(), 1);
        assert_eq!(p.issues[0].code, "kpi-without-initiative");
        assert_eq!(p.issues[0].location.as_deref(), Some("kpis.csv:5"));
        assert!(
            p.issues[0].message.contains("BIZ-99"),
            "{}",
            p.issues[0].message
        );
    }

    #[test]
    fn hours_count_an_initiatives_entries_directly_and_through_its_items_and_follow_a_retain() {
        use crate::rules::test_support::{bare_initiative, record_with_id};
        let entry = |item: Option<&str>, initiative: Option<&str>, date: &str, seconds| {
            Entity::TimeEntry(TimeEntry {
                person: "p1".into(),
                work_item_key: item.map(Into::into),
                initiative_key: initiative.map(Into::into),
                date: date.into(),
                started: None,
                seconds,
                description: None,
            })
        };
        let story = crate::rules::test_support::bare_work_item("BIZ-2", "BIZ-1");
        let records = vec![
            record_with_id(
                "1".into(),
                Entity::Initiative(Box::new(bare_initiative("BIZ-1"))),
            ),
            record_with_id("2".into(), Entity::WorkItem(story)),
            record_with_id("t1".into(), entry(Some("BIZ-2"), None, "2026-03-01", 3600)),
            record_with_id("t2".into(), entry(None, Some("OPS-9"), "2026-03-02", 7200)),
            record_with_id("t3".into(), entry(None, Some("BIZ-1"), "2026-03-05", 1800)),
            record_with_id("t4".into(), entry(Some("BIZ-2"), None, "not a date", 3600)),
            // Past what 32 bits hold: counted exactly.
            record_with_id(
                "t5".into(),
                entry(None, Some("OPS-9"), "2026-03-09", 1 << 40),
            ),
        ];
        let mut p = Portfolio::new(records, vec![]);
        let day = |d: &str| day_number(d).unwrap();
        assert_eq!(p.hours("BIZ-1", None, None), 2.5);
        assert_eq!(p.hours("BIZ-1", Some(day("2026-03-05")), None), 1.0);
        assert_eq!(p.hours("BIZ-1", None, Some(day("2026-03-01"))), 0.5);
        assert_eq!(
            p.hours("OPS-9", None, None),
            2.0 + (1u64 << 40) as f64 / 3600.0
        );
        assert_eq!(p.hours("NONE-1", None, None), 0.0);
        assert!(p.initiative_keys().contains("OPS-9"));
        p.retain_time_entries(|t| t.day.is_some_and(|d| d < day("2026-03-03")));
        assert_eq!(p.hours("BIZ-1", None, None), 1.0);
        assert_eq!(p.hours("OPS-9", None, None), 2.0);
        p.retain_time_entries(|t| t.initiative_key.is_none());
        assert_eq!(p.hours("OPS-9", None, None), 0.0);
        assert!(!p.initiative_keys().contains("OPS-9"));
    }

    #[test]
    fn time_entries_are_grouped_by_their_initiative_each_in_the_order_added() {
        use crate::model::*;
        use crate::rules::test_support::record_with_id;
        let entry = |item: Option<&str>, initiative: Option<&str>, person: &str| {
            Entity::TimeEntry(TimeEntry {
                person: person.into(),
                work_item_key: item.map(Into::into),
                initiative_key: initiative.map(Into::into),
                date: "2026-03-02".into(),
                started: None,
                seconds: 3600,
                description: None,
            })
        };
        let entries = [
            entry(None, Some("OPS-9"), "1"),
            entry(Some("BIZ-2"), None, "2"),
            entry(None, None, "3"),
            entry(Some("LOOSE-1"), None, "4"),
            entry(None, Some("BIZ-1"), "5"),
            entry(None, Some("OPS-9"), "6"),
            entry(Some("BIZ-2"), None, "7"),
            entry(None, None, "8"),
        ];
        let records = [Entity::WorkItem(
            crate::rules::test_support::bare_work_item("BIZ-2", "BIZ-1"),
        )]
        .into_iter()
        .chain(entries)
        .enumerate()
        .map(|(n, e)| record_with_id(n.to_string(), e));
        let mut p = Portfolio::new(records, vec![]);
        let order = |p: &Portfolio| p.time_entries.iter().map(|t| t.person).collect::<String>();
        // BIZ-1 (through BIZ-2 and directly), then OPS-9, then those of no initiative (a
        // work item the portfolio does not know counts for none), each as added.
        assert_eq!(order(&p), "25716348");
        assert_eq!(p.hours("BIZ-1", None, None), 3.0);
        assert_eq!(p.hours("OPS-9", None, None), 2.0);
        p.retain_time_entries(|t| t.person != "5" && t.person != "1");
        assert_eq!(order(&p), "276348");
        assert_eq!(p.hours("BIZ-1", None, None), 2.0);
        assert_eq!(p.hours("OPS-9", None, None), 1.0);
    }

    #[test]
    fn gate_numbers() {
        assert_eq!(gate_number("G2"), Some(2));
        assert_eq!(gate_number("g5"), Some(5));
        assert_eq!(gate_number("Gate 2"), None);
    }
}
