//! Reading one page of a CSV file from a byte position, without holding the file in memory.

use crate::files::{FileSpec, Row, Settings};
use crate::values::text;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use tollgate_plugin_api::Entity;

/// Where the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Byte offset in the file.
    pub byte: u64,
    /// Line number (1-based) of that byte.
    pub line: u64,
    /// Records read so far.
    pub record: u64,
}

/// A rejected row or file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// `file:line:column` or `file:line`.
    pub location: String,
    /// Why.
    pub reason: String,
}

/// What a page read gave.
#[derive(Debug, Default)]
pub struct PageRead {
    /// (external id, entity) of the good rows.
    pub records: Vec<(String, Entity)>,
    /// Rejected rows.
    pub rejected: Vec<Rejection>,
    /// Rows kept, with something worth knowing (an unknown person).
    pub warnings: Vec<Rejection>,
    /// Where to go on; `None` at the end of the file.
    pub next: Option<Position>,
}

fn normalise(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '.')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// The delimiter of the header line: the most frequent of `,` `;` and tab outside quotes.
pub fn detect_delimiter(first_line: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in first_line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
            c.1 += 1;
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map_or(b',', |(d, _)| *d)
}

/// Map header cells to canonical columns; an error lists what was expected and found.
pub fn map_header(
    spec: &FileSpec,
    settings: &Settings,
    header: &[String],
) -> Result<BTreeMap<&'static str, usize>, String> {
    let custom = settings.columns.get(spec.file);
    let found: Vec<String> = header.iter().map(|h| normalise(h)).collect();
    let mut map = BTreeMap::new();
    for column in spec.columns {
        let mut names: Vec<String> = vec![column.name.to_string()];
        names.extend(column.aliases.iter().map(|a| a.to_string()));
        if let Some(custom_name) = custom.and_then(|c| c.get(column.name)) {
            names.insert(0, normalise(custom_name));
        }
        if let Some(i) = found.iter().position(|f| names.contains(f)) {
            map.insert(column.name, i);
        }
    }
    let mut missing: Vec<String> = spec
        .columns
        .iter()
        .filter(|c| c.required && !map.contains_key(c.name))
        .map(|c| c.name.to_string())
        .collect();
    for group in spec.one_of {
        if !group.iter().any(|g| map.contains_key(g)) {
            missing.push(group.join(" or "));
        }
    }
    if missing.is_empty() {
        return Ok(map);
    }
    let expected: Vec<String> = spec
        .columns
        .iter()
        .map(|c| format!("{}{}", c.name, if c.required { " (required)" } else { "" }))
        .collect();
    Err(format!(
        "the header lacks {}; expected columns: {}; found: {} (map other names under settings.columns.\"{}\")",
        missing.join(", "),
        expected.join(", "),
        if header.is_empty() {
            "nothing".to_string()
        } else {
            header.join(", ")
        },
        spec.file
    ))
}

/// Read up to `page_size` rows starting at `start` (`None`: the first data row).
/// `Err` means the file as a whole is rejected (unreadable, or a header not understood).
/// Rows whose person is not in `known_people` (when given) are kept with a warning.
pub fn read_page<R: Read + Seek>(
    spec: &FileSpec,
    settings: &Settings,
    mut file: R,
    start: Option<Position>,
    page_size: usize,
    known_people: Option<&BTreeSet<String>>,
) -> Result<PageRead, String> {
    let mut first = [0u8; 4096];
    let n = file.read(&mut first).map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("the file is empty: no header, no rows".to_string());
    }
    let first_line = first[..n].split(|b| *b == b'\n').next().unwrap_or(&[]);
    let delimiter = detect_delimiter(first_line);
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(file);
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|e| format!("cannot read the header: {e}"))?
        .iter()
        .map(text)
        .collect();
    let map = map_header(spec, settings, &header)?;
    if let Some(pos) = start {
        let mut p = csv::Position::new();
        p.set_byte(pos.byte)
            .set_line(pos.line)
            .set_record(pos.record);
        reader.seek(p).map_err(|e| e.to_string())?;
    }
    let mut out = PageRead::default();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while rows < page_size {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(out),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.rejected.push(Rejection {
                    location: format!("{}:{line}", spec.file),
                    reason: format!("unreadable row: {e}"),
                });
                rows += 1;
                continue;
            }
        }
        rows += 1;
        let line = record.position().map_or(0, |p| p.line());
        // The line this record ends on; more than `line` when a quoted field holds line breaks.
        let last_line = reader.position().line().saturating_sub(1).max(line);
        if last_line > line {
            let start = record.position().map_or(0, |p| p.byte());
            let end = reader.position().byte();
            if quotes_unbalanced(reader.get_mut(), start, end).map_err(|e| e.to_string())? {
                out.rejected.push(Rejection {
                    location: format!("{}:{line}", spec.file),
                    reason: format!(
                        "a quote opened on line {line} is never closed, so lines {line} to {last_line} read as one field; close the quote. The rows after line {line} were not read, and nothing stored from them is deleted"
                    ),
                });
                out.next = None;
                return Ok(out);
            }
        }
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if record.len() != header.len() {
            let hint = if last_line > line {
                format!(
                    "; the row runs from line {line} to line {last_line}, so a quote may be misplaced"
                )
            } else {
                " (a stray delimiter or a missing one?)".to_string()
            };
            out.rejected.push(Rejection {
                location: format!(
                    "{}:{line}:{}",
                    spec.file,
                    record.len().min(header.len()) + 1
                ),
                reason: format!(
                    "the row has {} fields but the header has {}{hint}",
                    record.len(),
                    header.len()
                ),
            });
            continue;
        }
        let fields: Vec<String> = record.iter().map(text).collect();
        let row = Row {
            fields: &fields,
            map: &map,
            file: spec.file,
            line,
        };
        match (spec.build)(&row, settings) {
            Ok(built) => {
                if let Some(known) = known_people {
                    for (_, entity) in &built {
                        let person = match entity {
                            Entity::TimeEntry(t) => &t.person,
                            Entity::Allocation(a) => &a.person,
                            _ => continue,
                        };
                        if !known.contains(person) {
                            out.warnings.push(Rejection {
                                location: format!(
                                    "{}:{line}:{}",
                                    spec.file,
                                    map.get("person").map_or(0, |i| i + 1)
                                ),
                                reason: format!(
                                    "person `{person}` is not in people.csv (kept; add the person or a person_aliases entry)"
                                ),
                            });
                        }
                    }
                }
                out.records.extend(built)
            }
            Err(e) => out.rejected.push(Rejection {
                location: if e.column > 0 {
                    format!("{}:{line}:{}", spec.file, e.column)
                } else {
                    format!("{}:{line}", spec.file)
                },
                reason: e.message,
            }),
        }
    }
    let p = reader.position();
    out.next = Some(Position {
        byte: p.byte(),
        line: p.line(),
        record: p.record(),
    });
    Ok(out)
}

/// Whether the bytes `start..end` of `file` hold an odd number of `"`: a quoted field that
/// never closed (well-formed CSV quotes come in pairs, `""` escapes included). The file's
/// position is restored, so a CSV reader over it carries on undisturbed.
fn quotes_unbalanced<R: Read + Seek>(file: &mut R, start: u64, end: u64) -> std::io::Result<bool> {
    let here = file.stream_position()?;
    file.seek(SeekFrom::Start(start))?;
    let mut quotes = 0u64;
    let mut left = end.saturating_sub(start);
    let mut buf = [0u8; 8192];
    while left > 0 {
        let n = file.read(&mut buf[..left.min(8192) as usize])?;
        if n == 0 {
            break;
        }
        quotes += buf[..n].iter().filter(|b| **b == b'"').count() as u64;
        left -= n as u64;
    }
    file.seek(SeekFrom::Start(here))?;
    Ok(quotes % 2 == 1)
}

/// The person ids of a people file (after aliases); rows that do not parse are left out.
pub fn person_ids<R: Read + Seek>(settings: &Settings, file: R) -> BTreeSet<String> {
    let spec = crate::files::by_stream("people").expect("people is a stream");
    match read_page(spec, settings, file, None, usize::MAX, None) {
        Ok(read) => read
            .records
            .into_iter()
            .filter_map(|(_, e)| match e {
                Entity::Person(p) => Some(p.id),
                _ => None,
            })
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::by_stream;
    use std::io::Cursor;

    struct Case {
        name: &'static str,
        stream: &'static str,
        bytes: &'static [u8],
        settings: &'static str,
        /// Debug text of each record, in order.
        records: &'static [&'static str],
        /// (location, part of the reason) of each rejected row.
        rejected: &'static [(&'static str, &'static str)],
        warnings: &'static [(&'static str, &'static str)],
    }

    fn summary(e: &Entity) -> String {
        match e {
            Entity::Person(p) => format!("person {} {} fte={:?}", p.id, p.name, p.fte),
            Entity::CostRate(c) => format!("rate {:?} {} {}", c.person, c.hourly_rate, c.currency),
            Entity::Team(t) => format!("team {} {}", t.id, t.name),
            Entity::TimeEntry(t) => format!(
                "time {} {} {:?}/{:?} {}s",
                t.person, t.date, t.initiative_key, t.work_item_key, t.seconds
            ),
            Entity::Allocation(a) => {
                format!("alloc {} {:?} {}%", a.person, a.initiative_key, a.percent)
            }
            Entity::FinanceEntry(f) => format!(
                "finance {} {} {} {:?} {} {}",
                f.initiative_key, f.period, f.kind, f.expense_type, f.amount, f.currency
            ),
            Entity::GateDecision(g) => format!(
                "gate {} {} {} {:?}",
                g.initiative_key, g.gate, g.decision, g.date
            ),
            Entity::BusinessCase(b) => format!("case {} {:?}", b.initiative_key, b.discount_rate),
            other => format!("{other:?}"),
        }
    }

    const PEOPLE: &[u8] = b"id,name\np1,Dana Roe\np2,Eero M\xc3\xa4kinen\n";

    const CASES: &[Case] = &[
        Case {
            name: "UTF-8 with BOM, commas",
            stream: "people",
            bytes: b"\xef\xbb\xbfID,Name,FTE,Cost rate,Currency\np1,Dana Roe,1,85,eur\np2,Eero M\xc3\xa4kinen,\"0,8\",,\n",
            settings: "{}",
            records: &[
                "person p1 Dana Roe fte=Some(1.0)",
                "rate Some(\"p1\") 85 EUR",
                "person p2 Eero Mäkinen fte=Some(0.8)",
            ],
            rejected: &[],
            warnings: &[],
        },
        Case {
            name: "semicolons, decimal commas, Finnish dates, an unknown person",
            stream: "timesheets",
            bytes: b"Person;Date;Initiative;Hours;Description\np1;9.3.2026;biz-7;7,5;Design\np2;10.03.2026;BIZ-8;1 234,5;typo\np9;2026-03-11;7;2;who?\n",
            settings: r#"{"initiative_key_prefix": "BIZ-"}"#,
            records: &[
                "time p1 2026-03-09 Some(\"BIZ-7\")/None 27000s",
                "time p9 2026-03-11 Some(\"BIZ-7\")/None 7200s",
            ],
            rejected: &[("timesheets.csv:3:4", "hours: 1234.5 is outside 0..24")],
            warnings: &[("timesheets.csv:4:1", "person `p9` is not in people.csv")],
        },
        Case {
            name: "Windows-1252, tabs",
            stream: "teams",
            bytes: b"id\tname\tvalue stream\nt1\tM\xe4yr\xe4t\tRetail\n",
            settings: "{}",
            records: &["team t1 Mäyrät"],
            rejected: &[],
            warnings: &[],
        },
        Case {
            name: "a wrong type and a stray delimiter",
            stream: "allocations",
            bytes: b"person,initiative,percent,from,to\np1,BIZ-7,60,2026-01-01,2026-06-30\np2,BIZ-7,lots,,\np1,BIZ-8,30,,,extra\np2,,40,,\n",
            settings: "{}",
            records: &["alloc p1 Some(\"BIZ-7\") 60%"],
            rejected: &[
                ("allocations.csv:3:3", "percent: `lots` is not a number"),
                ("allocations.csv:4:6", "the row has 6 fields but the header has 5"),
                ("allocations.csv:5:2", "needs initiative or team"),
            ],
            warnings: &[],
        },
        Case {
            name: "finance with thousands separators and a mapped column",
            stream: "finance",
            bytes: b"Epic;Kausi;Type;Capex/Opex;Amount;Currency\nBIZ-7;2026-Q1;Budget;CAPEX;1.234.567,89;EUR\nBIZ-7;2026-03;Realized benefit;;12 000;EUR\nBIZ-7;2026-13;actual;opex;5;EUR\n",
            settings: r#"{"columns": {"finance.csv": {"period": "Kausi", "expense_type": "Capex/Opex"}}}"#,
            records: &[
                "finance BIZ-7 2026-Q1 budget Some(\"capex\") 1234567.89 EUR",
                "finance BIZ-7 2026-03 realised-benefit None 12000 EUR",
            ],
            rejected: &[("finance.csv:4:2", "period: `2026-13` is not a period")],
            warnings: &[],
        },
        Case {
            name: "gate decisions with aliases",
            stream: "gate-decisions",
            bytes: b"initiative,gate,decision,decider,date\nBIZ-7,g1,Conditional go,Steering,1.2.2026\nBIZ-9,G7,go,,\n",
            settings: "{}",
            records: &["gate BIZ-7 G1 conditional-go Some(\"2026-02-01\")"],
            rejected: &[("gate-decisions.csv:3:2", "gate: `G7` is not a gate")],
            warnings: &[],
        },
    ];

    #[test]
    fn messy_files_import_the_good_rows_and_report_the_bad_ones() {
        let people = person_ids(&Settings::default(), Cursor::new(PEOPLE));
        for case in CASES {
            let spec = by_stream(case.stream).unwrap();
            let settings: Settings = serde_json::from_str(case.settings).unwrap();
            let read = read_page(
                spec,
                &settings,
                Cursor::new(case.bytes),
                None,
                100,
                Some(&people),
            )
            .unwrap_or_else(|e| panic!("{}: file rejected: {e}", case.name));
            let got: Vec<String> = read.records.iter().map(|(_, e)| summary(e)).collect();
            assert_eq!(got, case.records, "{}: records", case.name);
            assert_eq!(
                read.rejected.len(),
                case.rejected.len(),
                "{}: {:?}",
                case.name,
                read.rejected
            );
            for (r, (location, reason)) in read.rejected.iter().zip(case.rejected) {
                assert_eq!(&r.location, location, "{}", case.name);
                assert!(
                    r.reason.contains(reason),
                    "{}: {} lacks {reason}",
                    case.name,
                    r.reason
                );
            }
            assert_eq!(
                read.warnings.len(),
                case.warnings.len(),
                "{}: {:?}",
                case.name,
                read.warnings
            );
            for (w, (location, reason)) in read.warnings.iter().zip(case.warnings) {
                assert_eq!(&w.location, location, "{}", case.name);
                assert!(w.reason.contains(reason), "{}: {}", case.name, w.reason);
            }
        }
    }

    #[test]
    fn a_header_without_a_required_column_rejects_the_file_and_lists_the_columns() {
        let spec = by_stream("timesheets").unwrap();
        let bytes: &[u8] = b"person;date;initiative;comment\np1;2026-03-09;BIZ-7;x\n";
        let err = read_page(
            spec,
            &Settings::default(),
            Cursor::new(bytes),
            None,
            10,
            None,
        )
        .unwrap_err();
        assert!(err.contains("the header lacks hours"), "{err}");
        assert!(
            err.contains("expected columns: person (required), date (required)"),
            "{err}"
        );
        assert!(
            err.contains("found: person, date, initiative, comment"),
            "{err}"
        );
        assert!(err.contains("settings.columns.\"timesheets.csv\""), "{err}");
    }

    #[test]
    fn an_empty_file_is_rejected_and_a_header_only_file_is_empty() {
        let spec = by_stream("people").unwrap();
        let err =
            read_page(spec, &Settings::default(), Cursor::new(b""), None, 10, None).unwrap_err();
        assert!(err.contains("the file is empty"), "{err}");
        let read = read_page(
            spec,
            &Settings::default(),
            Cursor::new(b"id,name\n"),
            None,
            10,
            None,
        )
        .unwrap();
        assert!(read.records.is_empty() && read.rejected.is_empty() && read.next.is_none());
    }

    #[test]
    fn an_unclosed_quote_is_an_error_at_its_line_and_the_rows_before_it_stay() {
        let spec = by_stream("teams").unwrap();
        let mut text = String::from("id,name\nt1,One\nt2,\"Two\nt3,Three\n");
        for i in 4..30 {
            text.push_str(&format!("t{i},Team {i}\n"));
        }
        for page_size in [1, 2, 100] {
            let mut all = Vec::new();
            let mut rejected = Vec::new();
            let mut start = None;
            loop {
                let read = read_page(
                    spec,
                    &Settings::default(),
                    Cursor::new(text.as_bytes()),
                    start,
                    page_size,
                    None,
                )
                .unwrap();
                all.extend(read.records.into_iter().map(|(id, _)| id));
                rejected.extend(read.rejected);
                match read.next {
                    Some(p) => start = Some(p),
                    None => break,
                }
            }
            assert_eq!(all, ["t1"], "page size {page_size}");
            assert_eq!(rejected.len(), 1, "{rejected:?}");
            assert_eq!(rejected[0].location, "teams.csv:3");
            assert!(
                rejected[0]
                    .reason
                    .contains("a quote opened on line 3 is never closed"),
                "{}",
                rejected[0].reason
            );
        }
    }

    #[test]
    fn a_closed_quote_over_several_lines_is_a_field_not_an_error() {
        let spec = by_stream("teams").unwrap();
        let text = "id,name,manager\nt1,\"Two\nlines\",\"Dana \"\"D\"\" Roe\"\nt2,Next,\n";
        let read = read_page(
            spec,
            &Settings::default(),
            Cursor::new(text.as_bytes()),
            None,
            100,
            None,
        )
        .unwrap();
        assert!(read.rejected.is_empty(), "{:?}", read.rejected);
        let ids: Vec<&str> = read.records.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["t1", "t2"]);
    }

    #[test]
    fn pages_continue_from_the_byte_position() {
        let spec = by_stream("teams").unwrap();
        let mut text = String::from("id;name\n");
        for i in 0..25 {
            text.push_str(&format!("t{i};Team \"{i}\"\n"));
        }
        let bytes = text.into_bytes();
        let mut all = Vec::new();
        let mut start = None;
        let mut pages = 0;
        loop {
            let read = read_page(
                spec,
                &Settings::default(),
                Cursor::new(&bytes),
                start,
                10,
                None,
            )
            .unwrap();
            pages += 1;
            all.extend(read.records.into_iter().map(|(id, _)| id));
            match read.next {
                Some(p) => start = Some(p),
                None => break,
            }
        }
        assert_eq!(all.len(), 25);
        assert_eq!(all.first().unwrap(), "t0");
        assert_eq!(all.last().unwrap(), "t24");
        assert_eq!(
            pages, 3,
            "10 + 10 + 5 rows; the partial page meets the end of the file"
        );
        let lines: Vec<u64> = {
            let read = read_page(
                spec,
                &Settings::default(),
                Cursor::new(&bytes),
                None,
                2,
                None,
            )
            .unwrap();
            vec![read.next.unwrap().line]
        };
        assert_eq!(lines, [4], "after two rows the next row is on line 4");
    }
}
